package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrFenced is returned when a write carries a fencing token that is no
// longer the environment's current one: its holder lost the lock.
var ErrFenced = errors.New("fencing token is stale: the environment lock was lost")

// LockedError says an environment is held by someone else.
type LockedError struct {
	Env    string
	Holder string
	Person string
	Reason string
	Until  time.Time
}

func (e *LockedError) Error() string {
	who := e.Holder
	if e.Person != "" {
		who = "@" + e.Person
	}
	msg := fmt.Sprintf("environment %s is locked by %s until %s", e.Env, who, e.Until.UTC().Format(time.RFC3339))
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Fence identifies one holding of an environment lock. Every write made under
// the lock names it, and the store refuses it once the token has moved on.
type Fence struct {
	Env    string
	Holder string
	Token  int64
}

// Lock is the state of an environment's lock. A free lock has no Holder.
type Lock struct {
	Env       string
	Holder    string
	Token     int64
	ExpiresAt time.Time
	// Person is set when a person holds the lock with /lock.
	Person string
	Reason string
}

// Held reports whether the lock is held at now.
func (l Lock) Held(now time.Time) bool { return l.Holder != "" && now.Before(l.ExpiresAt) }

// AcquireLock takes env's lock for holder for ttl, with a new fencing token.
// It fails with *LockedError while another holder's lease runs. A lock held
// by a person (/lock) is taken over only when overridePerson is set.
func (db *DB) AcquireLock(ctx context.Context, env, holder, person, reason string, ttl time.Duration, now time.Time, overridePerson bool) (Lock, error) {
	var out Lock
	err := db.Tx(ctx, func(tx *Tx) error {
		// Insert-if-absent before locking the row: two first-time acquirers
		// on PostgreSQL would otherwise both see no row and collide on insert;
		// ON CONFLICT makes the second wait for the first and then lock its row.
		if _, err := tx.Exec(ctx, `INSERT INTO deploy_locks (env) VALUES (?) ON CONFLICT (env) DO NOTHING`, env); err != nil {
			return fmt.Errorf("store: creating lock of %s: %w", env, err)
		}
		cur, err := tx.lockRow(ctx, env, true)
		if err != nil {
			return err
		}
		if cur.Held(now) && cur.Holder != holder && !(overridePerson && cur.Person != "") {
			return &LockedError{Env: env, Holder: cur.Holder, Person: cur.Person, Reason: cur.Reason, Until: cur.ExpiresAt}
		}
		out = Lock{Env: env, Holder: holder, Token: cur.Token + 1, ExpiresAt: now.Add(ttl), Person: person, Reason: reason}
		_, err = tx.Exec(ctx, `UPDATE deploy_locks SET holder = ?, token = ?, expires_at = ?, person = ?, reason = ? WHERE env = ?`,
			out.Holder, out.Token, depMS(out.ExpiresAt), out.Person, out.Reason, env)
		return err
	})
	return out, err
}

// RenewLock extends the lease of f to now+ttl.
func (db *DB) RenewLock(ctx context.Context, f Fence, ttl time.Duration, now time.Time) error {
	return db.Fenced(ctx, f, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE deploy_locks SET expires_at = ? WHERE env = ?`, depMS(now.Add(ttl)), f.Env)
		return err
	})
}

// ReleaseLock frees the lock f holds. Releasing a lock already lost is ErrFenced.
func (db *DB) ReleaseLock(ctx context.Context, f Fence) error {
	return db.Fenced(ctx, f, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE deploy_locks SET holder = '', expires_at = 0, person = '', reason = '' WHERE env = ?`, f.Env)
		return err
	})
}

// CurrentLock returns env's lock (free when never taken).
func (db *DB) CurrentLock(ctx context.Context, env string) (Lock, error) {
	var l Lock
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		l, err = tx.lockRow(ctx, env, false)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Lock{Env: env}, nil
	}
	return l, err
}

// Fenced runs fn in a transaction after checking that f still holds its
// environment's lock, so a holder that lost the lock can never write.
func (db *DB) Fenced(ctx context.Context, f Fence, fn func(tx *Tx) error) error {
	return db.Tx(ctx, func(tx *Tx) error {
		cur, err := tx.lockRow(ctx, f.Env, true)
		if errors.Is(err, ErrNotFound) {
			return ErrFenced
		}
		if err != nil {
			return err
		}
		if cur.Token != f.Token || cur.Holder != f.Holder {
			return ErrFenced
		}
		return fn(tx)
	})
}

func (tx *Tx) lockRow(ctx context.Context, env string, forUpdate bool) (Lock, error) {
	q := `SELECT env, holder, token, expires_at, person, reason FROM deploy_locks WHERE env = ?`
	if forUpdate && tx.db.Dialect == Postgres {
		// SQLite transactions here begin IMMEDIATE and already serialize writers.
		q += ` FOR UPDATE`
	}
	var l Lock
	var exp int64
	err := tx.QueryRow(ctx, q, env).Scan(&l.Env, &l.Holder, &l.Token, &exp, &l.Person, &l.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return Lock{}, ErrNotFound
	}
	if err != nil {
		return Lock{}, fmt.Errorf("store: reading lock of %s: %w", env, err)
	}
	l.ExpiresAt = depTime(exp)
	return l, nil
}

// Release is a stored release: its identity and its manifest (JSON, owned by
// the deploy engine).
type Release struct {
	ID        string
	SHA       string
	PR        int
	Risk      string
	Manifest  []byte
	CreatedAt time.Time
}

// PutRelease stores r unless a release with its ID exists (same content, same release).
func (db *DB) PutRelease(ctx context.Context, r Release) error {
	_, err := db.Exec(ctx, `INSERT INTO releases (id, sha, pr, risk, manifest, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.SHA, r.PR, r.Risk, string(r.Manifest), depMS(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: saving release %s: %w", r.ID, err)
	}
	return nil
}

// GetRelease returns the release with id, or ErrNotFound.
func (db *DB) GetRelease(ctx context.Context, id string) (Release, error) {
	var r Release
	var manifest string
	var created int64
	err := db.QueryRow(ctx, `SELECT id, sha, pr, risk, manifest, created_at FROM releases WHERE id = ?`, id).
		Scan(&r.ID, &r.SHA, &r.PR, &r.Risk, &manifest, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Release{}, fmt.Errorf("release %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Release{}, fmt.Errorf("store: reading release %s: %w", id, err)
	}
	r.Manifest, r.CreatedAt = []byte(manifest), depTime(created)
	return r, nil
}

// Deployment is one release applied to one environment.
type Deployment struct {
	ID         string
	ReleaseID  string
	Env        string
	Kind       string
	State      string
	Step       int
	Actor      string
	Reason     string
	BreakGlass bool
	GitHubID   int64
	// Token is the fencing token of the holder that last wrote the record.
	Token      int64
	Details    []byte
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

const deploymentCols = `id, release_id, env, kind, state, step, actor, reason, break_glass, github_id, token, details, error, created_at, updated_at, finished_at`

// InsertDeployment records a new deployment (not fenced: nothing is applied yet).
func (db *DB) InsertDeployment(ctx context.Context, d Deployment) error {
	_, err := db.Exec(ctx, `INSERT INTO deployments (`+deploymentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.ReleaseID, d.Env, d.Kind, d.State, d.Step, d.Actor, d.Reason, boolInt(d.BreakGlass), d.GitHubID, d.Token,
		detailsOrEmpty(d.Details), d.Error, depMS(d.CreatedAt), depMS(d.UpdatedAt), depMS(d.FinishedAt))
	if err != nil {
		return fmt.Errorf("store: recording deployment %s: %w", d.ID, err)
	}
	return nil
}

// UpdateDeployment writes d's mutable fields under fence f, in the same
// transaction that checks the fence.
func (db *DB) UpdateDeployment(ctx context.Context, f Fence, d Deployment) error {
	return db.Fenced(ctx, f, func(tx *Tx) error {
		return updateDeployment(ctx, tx, f.Token, d)
	})
}

// UpdateDeploymentUnfenced writes d without a lock; only for records that no
// holder owns (a deployment that never got its lock, or a GitHub ID added later).
func (db *DB) UpdateDeploymentUnfenced(ctx context.Context, d Deployment) error {
	return db.Tx(ctx, func(tx *Tx) error { return updateDeployment(ctx, tx, d.Token, d) })
}

func updateDeployment(ctx context.Context, tx *Tx, token int64, d Deployment) error {
	res, err := tx.Exec(ctx, `UPDATE deployments SET state = ?, step = ?, github_id = ?, token = ?, details = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
		d.State, d.Step, d.GitHubID, token, detailsOrEmpty(d.Details), d.Error, depMS(d.UpdatedAt), depMS(d.FinishedAt), d.ID)
	if err != nil {
		return fmt.Errorf("store: updating deployment %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("deployment %s: %w", d.ID, ErrNotFound)
	}
	return nil
}

// GetDeployment returns the deployment with id, or ErrNotFound.
func (db *DB) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	ds, err := db.queryDeployments(ctx, `WHERE id = ?`, id)
	if err != nil {
		return Deployment{}, err
	}
	if len(ds) == 0 {
		return Deployment{}, fmt.Errorf("deployment %s: %w", id, ErrNotFound)
	}
	return ds[0], nil
}

// Deployments lists env's deployments, newest first, at most limit (0: all).
func (db *DB) Deployments(ctx context.Context, env string, limit int) ([]Deployment, error) {
	q := `WHERE env = ? ORDER BY created_at DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return db.queryDeployments(ctx, q, env)
}

// DeploymentsInState lists deployments in any of states, oldest first.
func (db *DB) DeploymentsInState(ctx context.Context, states ...string) ([]Deployment, error) {
	if len(states) == 0 {
		return nil, nil
	}
	q := `WHERE state IN (?` + repeat(", ?", len(states)-1) + `) ORDER BY created_at, id`
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = s
	}
	return db.queryDeployments(ctx, q, args...)
}

// DeploymentsOfRelease lists a release's deployments, oldest first.
func (db *DB) DeploymentsOfRelease(ctx context.Context, releaseID string) ([]Deployment, error) {
	return db.queryDeployments(ctx, `WHERE release_id = ? ORDER BY created_at, id`, releaseID)
}

func (db *DB) queryDeployments(ctx context.Context, where string, args ...any) ([]Deployment, error) {
	rows, err := db.Query(ctx, `SELECT `+deploymentCols+` FROM deployments `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing deployments: %w", err)
	}
	defer rows.Close()
	var out []Deployment
	for rows.Next() {
		var d Deployment
		var bg int
		var details string
		var created, updated, finished int64
		if err := rows.Scan(&d.ID, &d.ReleaseID, &d.Env, &d.Kind, &d.State, &d.Step, &d.Actor, &d.Reason, &bg, &d.GitHubID, &d.Token,
			&details, &d.Error, &created, &updated, &finished); err != nil {
			return nil, fmt.Errorf("store: reading deployment: %w", err)
		}
		d.BreakGlass, d.Details = bg != 0, []byte(details)
		d.CreatedAt, d.UpdatedAt, d.FinishedAt = depTime(created), depTime(updated), depTime(finished)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Promotion is a release waiting for (or done with) a promotion into an environment.
type Promotion struct {
	ReleaseID string
	Env       string
	// State is "waiting" (needs a command), "done" or "cancelled".
	State     string
	Reason    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PutPromotion records or updates the promotion of a release into an environment.
func (db *DB) PutPromotion(ctx context.Context, p Promotion) error {
	_, err := db.Exec(ctx, `INSERT INTO deploy_promotions (release_id, env, state, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (release_id, env) DO UPDATE SET state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at`,
		p.ReleaseID, p.Env, p.State, p.Reason, depMS(p.CreatedAt), depMS(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: recording promotion of %s to %s: %w", p.ReleaseID, p.Env, err)
	}
	return nil
}

// Promotions lists promotions in state (all states when empty), oldest first.
func (db *DB) Promotions(ctx context.Context, state string) ([]Promotion, error) {
	q, args := `SELECT release_id, env, state, reason, created_at, updated_at FROM deploy_promotions`, []any{}
	if state != "" {
		q, args = q+` WHERE state = ?`, append(args, state)
	}
	rows, err := db.Query(ctx, q+` ORDER BY created_at, release_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing promotions: %w", err)
	}
	defer rows.Close()
	var out []Promotion
	for rows.Next() {
		var p Promotion
		var c, u int64
		if err := rows.Scan(&p.ReleaseID, &p.Env, &p.State, &p.Reason, &c, &u); err != nil {
			return nil, fmt.Errorf("store: reading promotion: %w", err)
		}
		p.CreatedAt, p.UpdatedAt = depTime(c), depTime(u)
		out = append(out, p)
	}
	return out, rows.Err()
}

func depMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func depTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func detailsOrEmpty(b []byte) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}
