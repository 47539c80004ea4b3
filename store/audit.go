package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parcelflow/conveyor/policy"
)

// auditLockKey is the PostgreSQL advisory lock that serialises appends
// across replicas ("audit" in ASCII).
const auditLockKey = 0x6175646974

// AuditLog is the hash-chained audit log kept in the store.
type AuditLog struct {
	db *DB
	// writeMu queues this process's appends in Go; SQLite has one writer anyway.
	writeMu sync.Mutex
}

// NewAuditLog returns the audit log kept in db.
func NewAuditLog(db *DB) *AuditLog { return &AuditLog{db: db} }

// AuditFilter selects events for List.
type AuditFilter struct {
	Repo     string // empty for every repository
	PR       int    // 0 for every pull request
	AfterSeq int64  // only events after this one
	Limit    int    // 0 for the default of 100
}

// Append links ev to the last stored event and stores it, in one
// transaction serialised against every other append (the PostgreSQL advisory
// lock covers replicas). It returns the event as stored, with Seq, PrevHash
// and Hash set.
func (l *AuditLog) Append(ctx context.Context, ev policy.Event) (policy.Event, error) {
	if ev.Actor == "" || ev.Action == "" || ev.Decision == "" {
		return policy.Event{}, errors.New("audit: an event needs an actor, an action and a decision")
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if l.db.Dialect == SQLite {
		l.writeMu.Lock()
		defer l.writeMu.Unlock()
	}
	var out policy.Event
	err := l.db.Tx(ctx, func(tx *Tx) error {
		if l.db.Dialect == Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(auditLockKey)); err != nil {
				return fmt.Errorf("audit: locking the chain: %w", err)
			}
		}
		last, err := scanEvent(tx.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit_events ORDER BY seq DESC LIMIT 1`))
		var prev *policy.Event
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("audit: reading the last event: %w", err)
		default:
			prev = &last
		}
		out = policy.Chain(prev, ev)
		reasons, membership, err := encodeEventJSON(out)
		if err != nil {
			return err
		}
		bg := 0
		if out.BreakGlass {
			bg = 1
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit_events (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			out.Seq, out.Time.UnixNano(), out.Repo, out.PR, out.Actor, out.Action, out.Env, out.Delivery, out.InputsHash,
			out.Decision, reasons, bg, membership, out.PrevHash, out.Hash)
		if err != nil {
			return fmt.Errorf("audit: appending event %d: %w", out.Seq, err)
		}
		return nil
	})
	if err != nil {
		return policy.Event{}, err
	}
	return out, nil
}

// List returns events in chain order.
func (l *AuditLog) List(ctx context.Context, f AuditFilter) ([]policy.Event, error) {
	var where []string
	var args []any
	if f.Repo != "" {
		where, args = append(where, "repo = ?"), append(args, f.Repo)
	}
	if f.PR != 0 {
		where, args = append(where, "pr = ?"), append(args, f.PR)
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(" ORDER BY seq LIMIT %d", limit)
	rows, err := l.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: listing events: %w", err)
	}
	defer rows.Close()
	var out []policy.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: reading an event: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Verify walks the whole chain in order and returns how many events it
// checked, or a *policy.ChainError naming the first broken link. It proves
// no stored event was changed, removed or reordered; whoever can rewrite
// the whole table from some event on can only be caught by comparing the
// last hash with one kept elsewhere, which Verify returns for that purpose.
func (l *AuditLog) Verify(ctx context.Context) (n int, lastHash string, err error) {
	rows, err := l.db.Query(ctx, `SELECT `+auditColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		return 0, "", fmt.Errorf("audit: reading the chain: %w", err)
	}
	defer rows.Close()
	var prev *policy.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return n, "", fmt.Errorf("audit: reading event after %d: %w", n, err)
		}
		if err := policy.VerifyNext(prev, ev); err != nil {
			return n, "", err
		}
		prev = &ev
		n++
	}
	if err := rows.Err(); err != nil {
		return n, "", err
	}
	if prev != nil {
		lastHash = prev.Hash
	}
	return n, lastHash, nil
}

const auditColumns = `seq, at_ns, repo, pr, actor, action, env, delivery, inputs_hash, decision, reasons, break_glass, membership, prev_hash, hash`

type rowScanner interface{ Scan(dest ...any) error }

func scanEvent(r rowScanner) (policy.Event, error) {
	var ev policy.Event
	var at int64
	var bg int
	var reasons, membership string
	if err := r.Scan(&ev.Seq, &at, &ev.Repo, &ev.PR, &ev.Actor, &ev.Action, &ev.Env, &ev.Delivery, &ev.InputsHash,
		&ev.Decision, &reasons, &bg, &membership, &ev.PrevHash, &ev.Hash); err != nil {
		return ev, err
	}
	ev.Time = time.Unix(0, at).UTC()
	ev.BreakGlass = bg != 0
	if err := json.Unmarshal([]byte(reasons), &ev.Reasons); err != nil {
		return ev, fmt.Errorf("event %d: reasons: %w", ev.Seq, err)
	}
	if err := json.Unmarshal([]byte(membership), &ev.Membership); err != nil {
		return ev, fmt.Errorf("event %d: membership: %w", ev.Seq, err)
	}
	return ev, nil
}

func encodeEventJSON(ev policy.Event) (string, string, error) {
	reasons := ev.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	membership := ev.Membership
	if membership == nil {
		membership = map[string][]string{}
	}
	r, err := json.Marshal(reasons)
	if err != nil {
		return "", "", fmt.Errorf("audit: encoding reasons: %w", err)
	}
	m, err := json.Marshal(membership)
	if err != nil {
		return "", "", fmt.Errorf("audit: encoding membership: %w", err)
	}
	return string(r), string(m), nil
}
