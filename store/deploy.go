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
	Repo   string
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
	// Repo is the repository ("owner/name") whose environment Env is.
	Repo   string
	Env    string
	Holder string
	Token  int64
}

// Lock is the state of an environment's lock. A free lock has no Holder.
type Lock struct {
	Repo      string
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

// AcquireRepoLock takes the lock of repo's environment env for holder for
// ttl, with a new fencing token. It fails with *LockedError while another
// holder's lease runs. A lock held by a person (/lock) is taken over only
// when overridePerson is set. A holder whose own lease still runs gets the
// lock again with a new token, so a holder name must belong to one run.
func (db *DB) AcquireRepoLock(ctx context.Context, repo, env, holder, person, reason string, ttl time.Duration, now time.Time, overridePerson bool) (Lock, error) {
	var out Lock
	err := db.Tx(ctx, func(tx *Tx) error {
		// Insert-if-absent before locking the row: two first-time acquirers
		// on PostgreSQL would otherwise both see no row and collide on insert;
		// ON CONFLICT makes the second wait for the first and then lock its row.
		if _, err := tx.Exec(ctx, `INSERT INTO deploy_locks (repo, env) VALUES (?, ?) ON CONFLICT (repo, env) DO NOTHING`, repo, env); err != nil {
			return fmt.Errorf("store: creating lock of %s: %w", scoped(repo, env), err)
		}
		cur, err := tx.lockRow(ctx, repo, env, true)
		if err != nil {
			return err
		}
		if cur.Held(now) && cur.Holder != holder && !(overridePerson && cur.Person != "") {
			return &LockedError{Repo: repo, Env: env, Holder: cur.Holder, Person: cur.Person, Reason: cur.Reason, Until: cur.ExpiresAt}
		}
		out = Lock{Repo: repo, Env: env, Holder: holder, Token: cur.Token + 1, ExpiresAt: now.Add(ttl), Person: person, Reason: reason}
		_, err = tx.Exec(ctx, `UPDATE deploy_locks SET holder = ?, token = ?, expires_at = ?, person = ?, reason = ? WHERE repo = ? AND env = ?`,
			out.Holder, out.Token, depMS(out.ExpiresAt), out.Person, out.Reason, repo, env)
		return err
	})
	return out, err
}

// AcquireLock is AcquireRepoLock for the lock of env that belongs to no
// repository (repo ""): locks taken before they were scoped, and tools
// that know a single repository.
func (db *DB) AcquireLock(ctx context.Context, env, holder, person, reason string, ttl time.Duration, now time.Time, overridePerson bool) (Lock, error) {
	return db.AcquireRepoLock(ctx, "", env, holder, person, reason, ttl, now, overridePerson)
}

// RenewLock extends the lease of f to now+ttl.
func (db *DB) RenewLock(ctx context.Context, f Fence, ttl time.Duration, now time.Time) error {
	return db.Fenced(ctx, f, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE deploy_locks SET expires_at = ? WHERE repo = ? AND env = ?`, depMS(now.Add(ttl)), f.Repo, f.Env)
		return err
	})
}

// ReleaseLock frees the lock f holds. Releasing a lock already lost is ErrFenced.
func (db *DB) ReleaseLock(ctx context.Context, f Fence) error {
	return db.Fenced(ctx, f, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE deploy_locks SET holder = '', expires_at = 0, person = '', reason = '' WHERE repo = ? AND env = ?`, f.Repo, f.Env)
		return err
	})
}

// RepoLock returns the lock of repo's environment env (free when never taken).
func (db *DB) RepoLock(ctx context.Context, repo, env string) (Lock, error) {
	var l Lock
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		l, err = tx.lockRow(ctx, repo, env, false)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Lock{Repo: repo, Env: env}, nil
	}
	return l, err
}

// CurrentLock is RepoLock for the lock of env that belongs to no repository
// (see AcquireLock).
func (db *DB) CurrentLock(ctx context.Context, env string) (Lock, error) {
	return db.RepoLock(ctx, "", env)
}

// CheckFence reports whether f still holds its lock: nil, or ErrFenced. A
// holder asks before each phase of a side effect it cannot take back (an
// S3 upload, a deletion), so one that lost the lock stops at the next phase
// rather than at its next lease renewal.
func (db *DB) CheckFence(ctx context.Context, f Fence) error {
	return db.Fenced(ctx, f, func(*Tx) error { return nil })
}

// Fenced runs fn in a transaction after checking that f still holds its
// environment's lock, so a holder that lost the lock can never write.
func (db *DB) Fenced(ctx context.Context, f Fence, fn func(tx *Tx) error) error {
	return db.Tx(ctx, func(tx *Tx) error {
		cur, err := tx.lockRow(ctx, f.Repo, f.Env, true)
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

func (tx *Tx) lockRow(ctx context.Context, repo, env string, forUpdate bool) (Lock, error) {
	q := `SELECT repo, env, holder, token, expires_at, person, reason FROM deploy_locks WHERE repo = ? AND env = ?`
	if forUpdate && tx.db.Dialect == Postgres {
		// SQLite transactions here begin IMMEDIATE and already serialize writers.
		q += ` FOR UPDATE`
	}
	var l Lock
	var exp int64
	err := tx.QueryRow(ctx, q, repo, env).Scan(&l.Repo, &l.Env, &l.Holder, &l.Token, &exp, &l.Person, &l.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return Lock{}, ErrNotFound
	}
	if err != nil {
		return Lock{}, fmt.Errorf("store: reading lock of %s: %w", scoped(repo, env), err)
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

// Deployment is one release applied to one environment of one repository.
type Deployment struct {
	ID string
	// Repo is the repository ("owner/name"); '' for rows recorded before
	// deployments were scoped.
	Repo       string
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

const deploymentCols = `id, repo, release_id, env, kind, state, step, actor, reason, break_glass, github_id, token, details, error, created_at, updated_at, finished_at`

// InsertDeployment records a new deployment (not fenced: nothing is applied yet).
func (db *DB) InsertDeployment(ctx context.Context, d Deployment) error {
	_, err := db.Exec(ctx, `INSERT INTO deployments (`+deploymentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Repo, d.ReleaseID, d.Env, d.Kind, d.State, d.Step, d.Actor, d.Reason, boolInt(d.BreakGlass), d.GitHubID, d.Token,
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

// SetDeploymentGitHubID records the GitHub deployment of deployment id under
// fence f, touching nothing else of the record.
func (db *DB) SetDeploymentGitHubID(ctx context.Context, f Fence, id string, githubID int64) error {
	return db.Fenced(ctx, f, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE deployments SET github_id = ? WHERE id = ?`, githubID, id)
		if err != nil {
			return fmt.Errorf("store: recording the GitHub deployment of %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("deployment %s: %w", id, ErrNotFound)
		}
		return nil
	})
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

// Deployments lists the deployments of repo's environment env, newest
// first, at most limit (0: all).
func (db *DB) Deployments(ctx context.Context, repo, env string, limit int) ([]Deployment, error) {
	q := `WHERE repo = ? AND env = ? ORDER BY created_at DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return db.queryDeployments(ctx, q, repo, env)
}

// DeploymentsInState lists repo's deployments in any of states, oldest first.
func (db *DB) DeploymentsInState(ctx context.Context, repo string, states ...string) ([]Deployment, error) {
	if len(states) == 0 {
		return nil, nil
	}
	return db.queryDeployments(ctx, `WHERE repo = ? AND state IN (?`+repeat(", ?", len(states)-1)+`) ORDER BY created_at, id`, append([]any{repo}, strArgs(states)...)...)
}

// DeploymentsInStateAnyRepo lists the deployments of every repository in
// any of states, oldest first: what a process resumes after a restart.
func (db *DB) DeploymentsInStateAnyRepo(ctx context.Context, states ...string) ([]Deployment, error) {
	if len(states) == 0 {
		return nil, nil
	}
	return db.queryDeployments(ctx, `WHERE state IN (?`+repeat(", ?", len(states)-1)+`) ORDER BY created_at, id`, strArgs(states)...)
}

// DeploymentsOfRelease lists the deployments of a release in repo, oldest first.
func (db *DB) DeploymentsOfRelease(ctx context.Context, repo, releaseID string) ([]Deployment, error) {
	return db.queryDeployments(ctx, `WHERE repo = ? AND release_id = ? ORDER BY created_at, id`, repo, releaseID)
}

// DeployRepos lists the repositories that have deployments or promotions
// recorded, sorted ("" for rows recorded before they were scoped).
func (db *DB) DeployRepos(ctx context.Context) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT repo FROM deployments UNION SELECT repo FROM deploy_promotions ORDER BY repo`)
	if err != nil {
		return nil, fmt.Errorf("store: listing repositories with deployments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("store: reading repositories with deployments: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func strArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// scoped names an environment of a repository for errors.
func scoped(repo, env string) string {
	if repo == "" {
		return env
	}
	return repo + ":" + env
}

func (db *DB) queryDeployments(ctx context.Context, where string, args ...any) ([]Deployment, error) {
	rows, err := db.Query(ctx, `SELECT `+deploymentCols+` FROM deployments `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing deployments: %w", err)
	}
	defer rows.Close()
	var out []Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: reading deployment: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// scanDeployment reads one row's deploymentCols, then extra.
func scanDeployment(rows interface{ Scan(...any) error }, extra ...any) (Deployment, error) {
	var d Deployment
	var bg int
	var details string
	var created, updated, finished int64
	dest := append([]any{&d.ID, &d.Repo, &d.ReleaseID, &d.Env, &d.Kind, &d.State, &d.Step, &d.Actor, &d.Reason, &bg, &d.GitHubID, &d.Token,
		&details, &d.Error, &created, &updated, &finished}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return Deployment{}, err
	}
	d.BreakGlass, d.Details = bg != 0, []byte(details)
	d.CreatedAt, d.UpdatedAt, d.FinishedAt = depTime(created), depTime(updated), depTime(finished)
	return d, nil
}

// Promotion is a release waiting for (or done with) a promotion into an
// environment of a repository.
type Promotion struct {
	// Repo is the repository ("owner/name"); '' for rows recorded before
	// promotions were scoped.
	Repo      string
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
	_, err := db.Exec(ctx, `INSERT INTO deploy_promotions (repo, release_id, env, state, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (repo, release_id, env) DO UPDATE SET state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at`,
		p.Repo, p.ReleaseID, p.Env, p.State, p.Reason, depMS(p.CreatedAt), depMS(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: recording promotion of %s to %s: %w", p.ReleaseID, p.Env, err)
	}
	return nil
}

// Promotions lists repo's promotions in state (all states when empty), oldest first.
func (db *DB) Promotions(ctx context.Context, repo, state string) ([]Promotion, error) {
	q, args := `SELECT repo, release_id, env, state, reason, created_at, updated_at FROM deploy_promotions WHERE repo = ?`, []any{repo}
	if state != "" {
		q, args = q+` AND state = ?`, append(args, state)
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
		if err := rows.Scan(&p.Repo, &p.ReleaseID, &p.Env, &p.State, &p.Reason, &c, &u); err != nil {
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
