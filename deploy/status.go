package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/store"
)

// EnvStatus is what runs in one environment.
type EnvStatus struct {
	Env string `json:"env"`
	// Current is the last successful deployment (nil: nothing deployed yet).
	Current *DeploymentSummary `json:"current,omitempty"`
	// InFlight is a deployment under way, if any.
	InFlight *DeploymentSummary `json:"in_flight,omitempty"`
	// LastFailure is the newest failed deployment after Current, if any.
	LastFailure *DeploymentSummary `json:"last_failure,omitempty"`
	Lock        *LockStatus        `json:"lock,omitempty"`
	// Pending are releases waiting for a /promote into this environment.
	Pending []PendingPromotion `json:"pending,omitempty"`
}

// DeploymentSummary is a deployment as status shows it.
type DeploymentSummary struct {
	ID        string          `json:"id"`
	Release   string          `json:"release"`
	SHA       string          `json:"sha"`
	PR        int             `json:"pr,omitempty"`
	Kind      string          `json:"kind"`
	State     string          `json:"state"`
	Actor     string          `json:"actor"`
	At        time.Time       `json:"at"`
	Checks    []release.Check `json:"checks,omitempty"`
	Risk      string          `json:"risk,omitempty"`
	Smoke     []SmokeResult   `json:"smoke,omitempty"`
	Error     string          `json:"error,omitempty"`
	GitHubID  int64           `json:"github_id,omitempty"`
	LogURL    string          `json:"log_url,omitempty"`
	RolledOff string          `json:"rolled_back_release,omitempty"`
}

// LockStatus is a held environment lock.
type LockStatus struct {
	Holder string    `json:"holder"`
	Person string    `json:"person,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Until  time.Time `json:"until"`
}

// PendingPromotion is a release waiting for a command.
type PendingPromotion struct {
	Release string    `json:"release"`
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
}

// Status reports every environment of the chain, in order.
func (e *Engine) Status(ctx context.Context) ([]EnvStatus, error) {
	return ReadRepoStatus(ctx, e.opts.DB, e.opts.Repo, e.opts.Config, e.now())
}

// ReadStatus is ReadRepoStatus for the one repository the store has
// deployments of (for the CLI, which is given a repo's config but not its
// name). It fails when the store holds several: then the repository must
// be named.
func ReadStatus(ctx context.Context, db *store.DB, cfg *config.RepoConfig, now time.Time) ([]EnvStatus, error) {
	repos, err := db.DeployRepos(ctx)
	if err != nil {
		return nil, err
	}
	// Rows recorded before deployments were scoped by repository have none;
	// they are only shown when no repository is named anywhere.
	var named []string
	for _, r := range repos {
		if r != "" {
			named = append(named, r)
		}
	}
	repo := ""
	switch len(named) {
	case 0:
	case 1:
		repo = named[0]
	default:
		return nil, fmt.Errorf("deploy: the store holds deployments of %d repositories (%s): name the one to show with --repo", len(named), strings.Join(named, ", "))
	}
	return ReadRepoStatus(ctx, db, repo, cfg, now)
}

// ReadRepoStatus reports every environment of repo from the store alone
// (it opens no targets).
func ReadRepoStatus(ctx context.Context, db *store.DB, repo string, cfg *config.RepoConfig, now time.Time) ([]EnvStatus, error) {
	proms, err := db.Promotions(ctx, repo, PromotionWaiting)
	if err != nil {
		return nil, err
	}
	var out []EnvStatus
	for _, env := range cfg.EnvironmentNames() {
		st := EnvStatus{Env: env}
		hist, err := history(ctx, db, repo, env, 50)
		if err != nil {
			return nil, err
		}
		for _, h := range hist {
			switch {
			case !Terminal(h.State) && st.InFlight == nil:
				st.InFlight = summarize(ctx, db, h)
			case h.State == StateSucceeded:
				st.Current = summarize(ctx, db, h)
			case st.LastFailure == nil && Terminal(h.State):
				st.LastFailure = summarize(ctx, db, h)
			}
			if st.Current != nil {
				break
			}
		}
		l, err := db.RepoLock(ctx, repo, env)
		if err != nil {
			return nil, err
		}
		if l.Held(now) {
			st.Lock = &LockStatus{Holder: l.Holder, Person: l.Person, Reason: l.Reason, Until: l.ExpiresAt}
		}
		for _, p := range proms {
			if p.Env != env {
				continue
			}
			if st.Current != nil && st.Current.Release == p.ReleaseID {
				continue
			}
			st.Pending = append(st.Pending, PendingPromotion{Release: p.ReleaseID, Reason: p.Reason, Since: p.CreatedAt})
		}
		out = append(out, st)
	}
	return out, nil
}

func summarize(ctx context.Context, db *store.DB, d *Deployment) *DeploymentSummary {
	s := &DeploymentSummary{
		ID: d.ID, Release: d.ReleaseID, SHA: d.Details.SHA, PR: d.Details.PR, Kind: d.Kind, State: d.State, Actor: d.Actor,
		At: d.FinishedAt, Smoke: d.Details.Smoke, Error: d.Error, GitHubID: d.GitHubID, LogURL: d.Details.LogURL, RolledOff: d.Details.RolledBackRelease,
	}
	if s.At.IsZero() {
		s.At = d.UpdatedAt
	}
	if rec, err := db.GetRelease(ctx, d.ReleaseID); err == nil {
		if r, err := release.Parse(rec.Manifest); err == nil {
			s.Checks, s.Risk = r.Checks, r.Risk
		}
	}
	return s
}

// WriteStatus prints statuses as a table for people.
func WriteStatus(w io.Writer, sts []EnvStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tRELEASE\tSHA\tPR\tWHEN\tBY\tCHECKS\tSMOKE\tNOTES")
	for _, st := range sts {
		c := st.Current
		row := []string{st.Env, "-", "-", "-", "-", "-", "-", "-"}
		if c != nil {
			row = []string{st.Env, release.Short(c.Release), short(c.SHA, 7), prText(c.PR), c.At.Format("2006-01-02 15:04:05Z"), "@" + c.Actor, checksText(c.Checks), smokeText(c.Smoke)}
		}
		var notes []string
		if c != nil && c.Kind == KindRollback {
			notes = append(notes, "rolled back from "+release.Short(c.RolledOff))
		}
		if st.InFlight != nil {
			notes = append(notes, fmt.Sprintf("deploying %s (%s)", release.Short(st.InFlight.Release), st.InFlight.State))
		}
		if f := st.LastFailure; f != nil {
			notes = append(notes, fmt.Sprintf("last %s: %s %s", f.Kind, release.Short(f.Release), f.State))
		}
		if st.Lock != nil && st.Lock.Person != "" {
			notes = append(notes, fmt.Sprintf("locked by @%s: %s", st.Lock.Person, st.Lock.Reason))
		}
		for _, p := range st.Pending {
			notes = append(notes, fmt.Sprintf("pending %s: %s", release.Short(p.Release), p.Reason))
		}
		fmt.Fprintf(tw, "%s\t%s\n", strings.Join(row, "\t"), strings.Join(notes, "; "))
	}
	return tw.Flush()
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	if s == "" {
		return "-"
	}
	return s
}

func prText(pr int) string {
	if pr == 0 {
		return "-"
	}
	return fmt.Sprintf("#%d", pr)
}

func checksText(cs []release.Check) string {
	if len(cs) == 0 {
		return "-"
	}
	ok := 0
	for _, c := range cs {
		if c.Conclusion == "success" || c.Conclusion == "neutral" || c.Conclusion == "skipped" {
			ok++
		}
	}
	return fmt.Sprintf("%d/%d green", ok, len(cs))
}

func smokeText(ss []SmokeResult) string {
	if len(ss) == 0 {
		return "-"
	}
	ok := 0
	for _, s := range ss {
		if s.Passed {
			ok++
		}
	}
	return fmt.Sprintf("%d/%d passed", ok, len(ss))
}
