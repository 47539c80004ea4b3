package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/policy"
)

// PolicyStore keeps what the policy check and the commands need between
// deliveries: the team membership cache, the checks' signals and approval
// requirements per commit, the latest decision per pull request, freezes set
// with /freeze, and a record of every command run.
type PolicyStore struct {
	db *DB
}

// NewPolicyStore returns the policy tables kept in db.
func NewPolicyStore(db *DB) *PolicyStore { return &PolicyStore{db: db} }

// TeamMembers is one team's cached membership.
type TeamMembers struct {
	Org       string
	Slug      string
	Members   []string
	FetchedAt time.Time
}

// TeamMembers returns the cached members of org's team slug, or ErrNotFound.
func (s *PolicyStore) TeamMembers(ctx context.Context, org, slug string) (TeamMembers, error) {
	t := TeamMembers{Org: strings.ToLower(org), Slug: strings.ToLower(slug)}
	var members string
	var at int64
	err := s.db.QueryRow(ctx, `SELECT members, fetched_ns FROM policy_team_members WHERE org = ? AND slug = ?`, t.Org, t.Slug).Scan(&members, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: reading members of %s/%s: %w", t.Org, t.Slug, err)
	}
	if err := json.Unmarshal([]byte(members), &t.Members); err != nil {
		return t, fmt.Errorf("store: members of %s/%s: %w", t.Org, t.Slug, err)
	}
	t.FetchedAt = time.Unix(0, at).UTC()
	return t, nil
}

// PutTeamMembers caches the members of org's team slug as read at at.
func (s *PolicyStore) PutTeamMembers(ctx context.Context, org, slug string, members []string, at time.Time) error {
	lower := make([]string, 0, len(members))
	for _, m := range members {
		lower = append(lower, strings.ToLower(m))
	}
	sort.Strings(lower)
	data, err := json.Marshal(lower)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO policy_team_members (org, slug, members, fetched_ns) VALUES (?, ?, ?, ?)
ON CONFLICT (org, slug) DO UPDATE SET members = excluded.members, fetched_ns = excluded.fetched_ns`,
		strings.ToLower(org), strings.ToLower(slug), string(data), at.UnixNano())
	if err != nil {
		return fmt.Errorf("store: caching members of %s/%s: %w", org, slug, err)
	}
	return nil
}

// ForgetTeam drops the cached membership of org's team slug, so the next
// decision reads it from GitHub again.
func (s *PolicyStore) ForgetTeam(ctx context.Context, org, slug string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM policy_team_members WHERE org = ? AND slug = ?`, strings.ToLower(org), strings.ToLower(slug))
	if err != nil {
		return fmt.Errorf("store: forgetting members of %s/%s: %w", org, slug, err)
	}
	return nil
}

// CheckRecord is what the policy needs from one check's result at a commit.
type CheckRecord struct {
	Check      string
	Conclusion string
	Signals    []policy.Signal
	Approvals  []policy.ApprovalRequirement
	At         time.Time
}

// PutCheckResult records check r's result at repo@sha, replacing an older one.
func (s *PolicyStore) PutCheckResult(ctx context.Context, repo, sha string, r CheckRecord) error {
	sig, err := json.Marshal(nonNilSlice(r.Signals))
	if err != nil {
		return err
	}
	apr, err := json.Marshal(nonNilSlice(r.Approvals))
	if err != nil {
		return err
	}
	if r.At.IsZero() {
		r.At = time.Now()
	}
	_, err = s.db.Exec(ctx, `INSERT INTO policy_check_results (repo, sha, check_name, conclusion, signals, approvals, at_ns) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (repo, sha, check_name) DO UPDATE SET conclusion = excluded.conclusion, signals = excluded.signals, approvals = excluded.approvals, at_ns = excluded.at_ns`,
		repo, sha, r.Check, r.Conclusion, string(sig), string(apr), r.At.UnixNano())
	if err != nil {
		return fmt.Errorf("store: recording %s at %s@%.7s: %w", r.Check, repo, sha, err)
	}
	return nil
}

// CheckResults returns the recorded results at repo@sha, by check name.
func (s *PolicyStore) CheckResults(ctx context.Context, repo, sha string) ([]CheckRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT check_name, conclusion, signals, approvals, at_ns FROM policy_check_results WHERE repo = ? AND sha = ? ORDER BY check_name`, repo, sha)
	if err != nil {
		return nil, fmt.Errorf("store: reading check results at %s@%.7s: %w", repo, sha, err)
	}
	defer rows.Close()
	var out []CheckRecord
	for rows.Next() {
		var r CheckRecord
		var sig, apr string
		var at int64
		if err := rows.Scan(&r.Check, &r.Conclusion, &sig, &apr, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(sig), &r.Signals); err != nil {
			return nil, fmt.Errorf("store: signals of %s: %w", r.Check, err)
		}
		if err := json.Unmarshal([]byte(apr), &r.Approvals); err != nil {
			return nil, fmt.Errorf("store: approvals of %s: %w", r.Check, err)
		}
		r.At = time.Unix(0, at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// DecisionRecord is the latest policy decision on a pull request.
type DecisionRecord struct {
	Repo           string
	PR             int
	InstallationID int64
	SHA            string
	State          string
	// Teams are the teams whose membership the decision relied on.
	Teams []string
	At    time.Time
}

// PutDecision records d as the latest decision on its pull request.
func (s *PolicyStore) PutDecision(ctx context.Context, d DecisionRecord) error {
	teams, err := json.Marshal(nonNilSlice(d.Teams))
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO policy_decisions (repo, pr, installation_id, sha, state, teams, at_ns) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (repo, pr) DO UPDATE SET installation_id = excluded.installation_id, sha = excluded.sha, state = excluded.state, teams = excluded.teams, at_ns = excluded.at_ns`,
		d.Repo, d.PR, d.InstallationID, d.SHA, d.State, string(teams), d.At.UnixNano())
	if err != nil {
		return fmt.Errorf("store: recording the decision on %s#%d: %w", d.Repo, d.PR, err)
	}
	return nil
}

// DecisionsRelyingOn returns the latest decisions (newest first, at most
// limit) that relied on team's membership; team is a slug as the policy
// names it (lower case, "org/slug" for another organization's team).
func (s *PolicyStore) DecisionsRelyingOn(ctx context.Context, team string, limit int) ([]DecisionRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT repo, pr, installation_id, sha, state, teams, at_ns FROM policy_decisions ORDER BY at_ns DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: reading decisions: %w", err)
	}
	defer rows.Close()
	team = strings.ToLower(team)
	var out []DecisionRecord
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var d DecisionRecord
		var teams string
		var at int64
		if err := rows.Scan(&d.Repo, &d.PR, &d.InstallationID, &d.SHA, &d.State, &teams, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(teams), &d.Teams); err != nil {
			return nil, fmt.Errorf("store: teams of %s#%d: %w", d.Repo, d.PR, err)
		}
		d.At = time.Unix(0, at).UTC()
		for _, t := range d.Teams {
			if strings.ToLower(t) == team {
				out = append(out, d)
				break
			}
		}
	}
	return out, rows.Err()
}

// AddFreeze records a /freeze on repo and returns its ID.
func (s *PolicyStore) AddFreeze(ctx context.Context, repo string, f policy.Freeze) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	_, err := s.db.Exec(ctx, `INSERT INTO policy_freezes (id, repo, env, by_login, reason, since_ns, until_ns) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, repo, f.Env, f.By, f.Reason, f.Since.UnixNano(), f.Until.UnixNano())
	if err != nil {
		return "", fmt.Errorf("store: recording a freeze of %s in %s: %w", f.Env, repo, err)
	}
	return id, nil
}

// Freezes returns repo's /freezes on env (every env when empty) that are not
// lifted and not over at now, soonest end first.
func (s *PolicyStore) Freezes(ctx context.Context, repo, env string, now time.Time) ([]policy.Freeze, error) {
	q := `SELECT env, by_login, reason, since_ns, until_ns FROM policy_freezes WHERE repo = ? AND lifted_ns = 0 AND until_ns > ?`
	args := []any{repo, now.UnixNano()}
	if env != "" {
		q += ` AND env = ?`
		args = append(args, env)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY until_ns, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: reading freezes of %s: %w", repo, err)
	}
	defer rows.Close()
	var out []policy.Freeze
	for rows.Next() {
		var f policy.Freeze
		var since, until int64
		if err := rows.Scan(&f.Env, &f.By, &f.Reason, &since, &until); err != nil {
			return nil, err
		}
		f.Since, f.Until = time.Unix(0, since).UTC(), time.Unix(0, until).UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

// LiftFreezes lifts every /freeze on repo's env in force at now and returns
// how many it lifted.
func (s *PolicyStore) LiftFreezes(ctx context.Context, repo, env, by string, now time.Time) (int, error) {
	res, err := s.db.Exec(ctx, `UPDATE policy_freezes SET lifted_by = ?, lifted_ns = ? WHERE repo = ? AND env = ? AND lifted_ns = 0 AND until_ns > ?`,
		by, now.UnixNano(), repo, env, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("store: lifting freezes of %s in %s: %w", env, repo, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Command states.
const (
	CommandRunning = "running"
	CommandDone    = "done"
	CommandRefused = "refused"
	CommandFailed  = "failed"
)

// CommandRecord is one command run from one line of a comment.
type CommandRecord struct {
	Repo      string
	CommentID int64
	Line      int
	Name      string
	Delivery  string
	State     string
	// ReplyID is the comment that answers the command.
	ReplyID int64
	At      time.Time
}

// Command returns the record of the command on line of comment commentID, or ErrNotFound.
func (s *PolicyStore) Command(ctx context.Context, repo string, commentID int64, line int) (CommandRecord, error) {
	r := CommandRecord{Repo: repo, CommentID: commentID, Line: line}
	var at int64
	err := s.db.QueryRow(ctx, `SELECT name, delivery, state, reply_id, at_ns FROM policy_commands WHERE repo = ? AND comment_id = ? AND line = ?`,
		repo, commentID, line).Scan(&r.Name, &r.Delivery, &r.State, &r.ReplyID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: reading command %d:%d: %w", commentID, line, err)
	}
	r.At = time.Unix(0, at).UTC()
	return r, nil
}

// PutCommand records r, replacing the record of the same comment line.
func (s *PolicyStore) PutCommand(ctx context.Context, r CommandRecord) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	_, err := s.db.Exec(ctx, `INSERT INTO policy_commands (repo, comment_id, line, name, delivery, state, reply_id, at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (repo, comment_id, line) DO UPDATE SET name = excluded.name, delivery = excluded.delivery, state = excluded.state, reply_id = excluded.reply_id, at_ns = excluded.at_ns`,
		r.Repo, r.CommentID, r.Line, r.Name, r.Delivery, r.State, r.ReplyID, r.At.UnixNano())
	if err != nil {
		return fmt.Errorf("store: recording command %d:%d: %w", r.CommentID, r.Line, err)
	}
	return nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
