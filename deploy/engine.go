package deploy

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/identity"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/store"
)

// Reporter mirrors deployments to GitHub's Deployments API (see
// TimelineReporter). Failures to report never fail a deployment.
type Reporter interface {
	// Created records a new deployment and returns GitHub's ID for it.
	Created(ctx context.Context, d *Deployment) (int64, error)
	// Status adds a status: in_progress, success, failure or inactive.
	Status(ctx context.Context, ghID int64, state, description, logURL string) error
}

// Request asks for a release to be deployed to an environment.
type Request struct {
	ReleaseID string
	Env       string
	// Actor is the GitHub login behind the deployment (the merger, for auto-deploys).
	Actor string
	// Reason is why: "promote", "merge", "rollback"…
	Reason string
	// BreakGlass deploys through a person's /lock and past promotion gates;
	// policy decides who may ask for it.
	BreakGlass bool
	// SHA and PR are the commit and pull request behind this deployment:
	// the merge commit of a push, the PR's head for a /promote before the
	// merge. A release is its content, so one release can come from several
	// commits (a revert brings an old one back); the deployment names the
	// one that asked, in its GitHub deployment (the ref) and its AWS session
	// tags. Empty: the commit the release was first built from.
	SHA string
	PR  int
	// CommittedAt is when the change was first committed (the merged PR's
	// first commit); lead time for changes is measured from it.
	CommittedAt time.Time
}

// Options configure an Engine.
type Options struct {
	DB *store.DB
	// Repo is the repository ("owner/name") the engine deploys: locks,
	// history and promotions are kept per repository, so two repositories
	// that both name an environment prod never share its lock.
	Repo      string
	Config    *config.RepoConfig
	Artifacts artifacts.Store
	Targets   Opener
	// Reporter may be nil (no GitHub mirror).
	Reporter Reporter
	// WorkDir holds materialized releases for the executor.
	WorkDir string
	// Lease is how long a lock is held without renewal (default DefaultLease).
	Lease time.Duration
	// LogURL returns a deployment's log link (nil: none).
	LogURL func(deploymentID string) string
	// Now replaces the clock.
	Now func() time.Time
	// Holder names this engine (default a random ID per engine). Each run
	// of a deployment holds its lock under its own name built from it.
	Holder string
	Log    zerolog.Logger
	// Hold, when set, is asked before the merge flow enters an environment;
	// a non-empty answer stops the flow there, waiting for /promote. It is
	// where the gates the engine does not own are decided: required checks,
	// freezes, a person's /lock.
	Hold func(ctx context.Context, step FlowStep) (string, error)
}

// FlowStep is what the merge flow knows of the environment it is about to
// enter.
type FlowStep struct {
	Env     string
	Release *release.Release
	// Previous is the previous environment's successful deployment of this
	// release; nil for the first environment of the chain.
	Previous *Deployment
}

// Engine runs deployments. It is safe for concurrent use across environments;
// within one environment the store lock admits one deployment at a time.
type Engine struct {
	opts Options
	// afterStep, when set (tests), runs after each completed step; an error
	// stops the deployment there as if the process had died.
	afterStep func(d *Deployment, step string) error
}

// ErrInFlight is returned when an environment has a deployment in flight
// that must be resumed before another starts.
var ErrInFlight = errors.New("a deployment is in flight in this environment")

// DefaultLease is how long an environment lock lives without renewal
// unless Options.Lease says otherwise.
const DefaultLease = 2 * time.Minute

// New builds an engine.
func New(opts Options) (*Engine, error) {
	if opts.DB == nil || opts.Config == nil || opts.Artifacts == nil || opts.Targets == nil {
		return nil, errors.New("deploy: DB, Config, Artifacts and Targets are required")
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Holder == "" {
		opts.Holder = "engine-" + randomID(6)
	}
	if opts.WorkDir == "" {
		opts.WorkDir = filepath.Join(os.TempDir(), "conveyor-releases")
	}
	return &Engine{opts: opts}, nil
}

// runHolder names one run of deployment d in its lock. Every run has a name
// of its own: the store lets a holder back into a lock it still holds, so a
// name shared by the runs of a process would let Resume take over a
// deployment that is alive in that same process and fence it mid-run.
func (e *Engine) runHolder(d *Deployment) string {
	return e.opts.Holder + "/" + d.ID + "/" + randomID(3)
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (e *Engine) now() time.Time { return e.opts.Now().UTC() }

// Register stores a built, published release so deployments can name it.
func (e *Engine) Register(ctx context.Context, r *release.Release) error {
	m, err := r.Marshal()
	if err != nil {
		return err
	}
	return e.opts.DB.PutRelease(ctx, store.Release{ID: r.ID, SHA: r.SHA, PR: r.PR, Risk: r.Risk, Manifest: m, CreatedAt: r.CreatedAt})
}

// Release loads a registered release.
func (e *Engine) Release(ctx context.Context, id string) (*release.Release, error) {
	rec, err := e.opts.DB.GetRelease(ctx, id)
	if err != nil {
		return nil, err
	}
	return release.Parse(rec.Manifest)
}

// Current returns the release env runs (its last successful deployment), or nil.
func (e *Engine) Current(ctx context.Context, env string) (*Deployment, error) {
	ds, err := e.opts.DB.Deployments(ctx, e.opts.Repo, env, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range ds {
		if r.State == StateSucceeded {
			return fromRecord(r)
		}
	}
	return nil, nil
}

// Deploy applies req.ReleaseID to req.Env and returns the finished deployment.
// A deployment that fails after changing anything is rolled back to the
// environment's previous release and ends rolled_back (or failed, saying what
// the environment holds, when there is nothing to roll back to).
func (e *Engine) Deploy(ctx context.Context, req Request) (*Deployment, error) {
	return e.start(ctx, req, KindDeploy, "")
}

func (e *Engine) start(ctx context.Context, req Request, kind, rolledBack string) (*Deployment, error) {
	env, ok := e.opts.Config.Environment(req.Env)
	if !ok {
		return nil, fmt.Errorf("deploy: unknown environment %q", req.Env)
	}
	rel, err := e.Release(ctx, req.ReleaseID)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	now := e.now()
	d := &Deployment{
		ID: fmt.Sprintf("%s-%s-%s", env.Name, now.Format("20060102t150405"), randomID(3)), Repo: e.opts.Repo, ReleaseID: rel.ID, Env: env.Name, Kind: kind,
		State: StateQueued, Actor: req.Actor, Reason: req.Reason, BreakGlass: req.BreakGlass, CreatedAt: now, UpdatedAt: now,
		Details: Details{SHA: cmp.Or(req.SHA, rel.SHA), PR: cmp.Or(req.PR, rel.PR), CommittedAt: req.CommittedAt, RolledBackRelease: rolledBack},
	}
	d.Details.Holder = e.runHolder(d)
	if e.opts.LogURL != nil {
		d.Details.LogURL = e.opts.LogURL(d.ID)
	}
	rec, err := d.record()
	if err != nil {
		return nil, err
	}
	if err := e.opts.DB.InsertDeployment(ctx, rec); err != nil {
		return nil, err
	}
	fence, err := e.lock(ctx, env.Name, d.Details.Holder, req.BreakGlass)
	if err != nil {
		d.State, d.Error, d.FinishedAt, d.UpdatedAt = StateFailed, err.Error(), e.now(), e.now()
		if rec, rerr := d.record(); rerr == nil {
			_ = e.opts.DB.UpdateDeploymentUnfenced(context.WithoutCancel(ctx), rec)
		}
		return d, err
	}
	d.token = fence.Token
	prev, err := e.Current(ctx, env.Name)
	if err != nil {
		return d, err
	}
	var prevRel *release.Release
	if prev != nil {
		d.Details.Previous = prev.ReleaseID
		if prevRel, err = e.Release(ctx, prev.ReleaseID); err != nil {
			return d, err
		}
	}
	if kind == KindRollback {
		d.Details.Plan = e.rollbackPlan(rel)
	} else {
		d.Details.Plan = e.plan(rel, prevRel)
	}
	d.State = StateLocked
	d.logf(e.now(), "", "%s of release %s to %s by %s (%s); plan %v", kind, rel.Short(), env.Name, req.Actor, req.Reason, d.Details.Plan)
	if err := e.save(ctx, fence, d); err != nil {
		return d, err
	}
	e.report(ctx, fence, d, "in_progress", fmt.Sprintf("%s %s to %s", kind, rel.Short(), env.Name))
	return e.run(ctx, fence, d)
}

// lock takes env's lock for holder, refusing while a deployment is in
// flight there (it is resumed, by the process running it or, once its
// lease lapses, by Resume).
func (e *Engine) lock(ctx context.Context, env, holder string, breakGlass bool) (store.Fence, error) {
	ds, err := e.opts.DB.DeploymentsInState(ctx, e.opts.Repo, inFlightStates[1:]...)
	if err != nil {
		return store.Fence{}, err
	}
	for _, r := range ds {
		if r.Env == env {
			return store.Fence{}, fmt.Errorf("deploy: %w: %s (%s); it resumes when its lease lapses", ErrInFlight, r.ID, r.State)
		}
	}
	l, err := e.opts.DB.AcquireRepoLock(ctx, e.opts.Repo, env, holder, "", "", e.opts.Lease, e.now(), breakGlass)
	if err != nil {
		return store.Fence{}, err
	}
	return store.Fence{Repo: e.opts.Repo, Env: env, Holder: l.Holder, Token: l.Token}, nil
}

// Lock holds env for a person (/lock) until Unlock or ttl.
func (e *Engine) Lock(ctx context.Context, env, person, reason string, ttl time.Duration) (store.Lock, error) {
	if _, ok := e.opts.Config.Environment(env); !ok {
		return store.Lock{}, fmt.Errorf("deploy: unknown environment %q", env)
	}
	return e.opts.DB.AcquireRepoLock(ctx, e.opts.Repo, env, "person:"+person, person, reason, ttl, e.now(), false)
}

// Unlock frees a person's lock on env.
func (e *Engine) Unlock(ctx context.Context, env string) error {
	l, err := e.opts.DB.RepoLock(ctx, e.opts.Repo, env)
	if err != nil {
		return err
	}
	if l.Person == "" {
		if l.Held(e.now()) {
			return fmt.Errorf("deploy: %s is held by deployment engine %s, not by a person", env, l.Holder)
		}
		return nil
	}
	return e.opts.DB.ReleaseLock(ctx, store.Fence{Repo: e.opts.Repo, Env: env, Holder: l.Holder, Token: l.Token})
}

// save writes d under fence; a lost lock surfaces as store.ErrFenced.
func (e *Engine) save(ctx context.Context, f store.Fence, d *Deployment) error {
	d.UpdatedAt = e.now()
	d.token = f.Token
	rec, err := d.record()
	if err != nil {
		return err
	}
	// Persist even when the caller's context is cancelled mid-shutdown: the
	// record must say what was done.
	return e.opts.DB.UpdateDeployment(context.WithoutCancel(ctx), f, rec)
}

// heartbeat renews the lease until stop; when the lock is lost it cancels
// the deployment's context so no further side effect starts.
func (e *Engine) heartbeat(ctx context.Context, f store.Fence, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(e.opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := e.opts.DB.RenewLock(ctx, f, e.opts.Lease, e.now()); err != nil {
					if errors.Is(err, store.ErrFenced) {
						cancel(err)
						return
					}
					e.opts.Log.Warn().Err(err).Str("env", f.Env).Msg("renewing deploy lock")
				}
			}
		}
	}()
	return func() { close(done) }
}

// report mirrors d to GitHub under fence f: a holder that lost the lock
// says nothing more about the deployment (its new holder does), and writes
// only the GitHub ID to the record, fenced, so it can never put back an
// older view of the deployment over the new holder's.
func (e *Engine) report(ctx context.Context, f store.Fence, d *Deployment, state, desc string) {
	if e.opts.Reporter == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := e.opts.DB.CheckFence(ctx, f); err != nil {
		e.opts.Log.Warn().Err(err).Str("deployment", d.ID).Str("state", state).Msg("not reporting the deployment to GitHub")
		return
	}
	if d.GitHubID == 0 {
		id, err := e.opts.Reporter.Created(ctx, d)
		if err != nil {
			d.logf(e.now(), "", "could not create the GitHub deployment: %v", err)
			return
		}
		if err := e.opts.DB.SetDeploymentGitHubID(ctx, f, d.ID, id); err != nil {
			e.opts.Log.Warn().Err(err).Str("deployment", d.ID).Int64("github_id", id).Msg("the GitHub deployment was created after the lock was lost; leaving it")
			return
		}
		d.GitHubID = id
	}
	if err := e.opts.Reporter.Status(ctx, d.GitHubID, state, desc, d.Details.LogURL); err != nil {
		d.logf(e.now(), "", "could not set GitHub deployment status %s: %v", state, err)
	}
}

// Resume takes over every deployment of the repository left in flight (by
// a crash or a restart) whose lock lease has lapsed, and drives each to a
// terminal state: forward from its last completed step, or back to its
// restore point when going forward fails. It returns the deployments it
// finished. A deployment whose lease still runs is alive — in this process
// or another replica — and is left alone; so is a queued one younger than
// a lease, which may be about to take its lock.
func (e *Engine) Resume(ctx context.Context) ([]*Deployment, error) {
	recs, err := e.opts.DB.DeploymentsInState(ctx, e.opts.Repo, inFlightStates...)
	if err != nil {
		return nil, err
	}
	var out []*Deployment
	var errs []error
	for _, r := range recs {
		d, err := fromRecord(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		now := e.now()
		if d.State == StateQueued {
			if now.Sub(d.CreatedAt) < e.opts.Lease {
				continue
			}
			// Never locked, so nothing was applied.
			d.State, d.Error, d.FinishedAt, d.UpdatedAt = StateFailed, "abandoned before it took the lock", now, now
			if rec, err := d.record(); err == nil {
				errs = append(errs, e.opts.DB.UpdateDeploymentUnfenced(ctx, rec))
			}
			out = append(out, d)
			continue
		}
		if _, ok := e.opts.Config.Environment(d.Env); !ok {
			errs = append(errs, fmt.Errorf("deploy: %s is in flight in %s, which the config no longer names: finish it by hand", d.ID, d.Env))
			continue
		}
		cur, err := e.opts.DB.RepoLock(ctx, e.opts.Repo, d.Env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if liveRunHolds(cur, now) {
			continue
		}
		holder := e.runHolder(d)
		// A person's /lock taken after the lease lapsed does not keep the
		// environment half-applied: the deployment goes on (or back).
		l, err := e.opts.DB.AcquireRepoLock(ctx, e.opts.Repo, d.Env, holder, "", "", e.opts.Lease, now, true)
		if _, ok := errors.AsType[*store.LockedError](err); ok {
			continue // taken since we looked: by a live run
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("deploy: resuming %s: %w", d.ID, err))
			continue
		}
		f := store.Fence{Repo: e.opts.Repo, Env: d.Env, Holder: l.Holder, Token: l.Token}
		prevHolder := d.Details.Holder
		d.Details.Holder = holder
		d.logf(now, "", "resumed by %s (lease of %s lapsed) in state %s after step %d of %d", holder, orNone(prevHolder), d.State, d.Step, len(d.Details.Plan))
		if err := e.save(ctx, f, d); err != nil {
			errs = append(errs, err)
			continue
		}
		var done *Deployment
		if d.State == StateRollingBack {
			done, err = e.finishRollback(ctx, f, d, errors.New(d.Error))
		} else {
			done, err = e.run(ctx, f, d)
		}
		if done != nil {
			out = append(out, done)
		}
		if err != nil && !isDeployFailure(err) {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// Unfinished lists the repositories ("owner/name") that have a deployment
// Resume would take over now: in flight with its lock's lease lapsed, or
// queued for longer than lease. A deployment recorded before deployments
// were scoped by repository has no config to resume it by: it is named in
// the error, with the repositories still listed.
func Unfinished(ctx context.Context, db *store.DB, lease time.Duration, now time.Time) ([]string, error) {
	recs, err := db.DeploymentsInStateAnyRepo(ctx, inFlightStates...)
	if err != nil {
		return nil, err
	}
	var out []string
	var unscoped []error
	for _, r := range recs {
		if r.Repo != "" && slices.Contains(out, r.Repo) {
			continue
		}
		lapsed := now.Sub(r.CreatedAt) >= lease
		if r.State != StateQueued {
			l, err := db.RepoLock(ctx, r.Repo, r.Env)
			if err != nil {
				return nil, err
			}
			lapsed = !liveRunHolds(l, now)
		}
		switch {
		case !lapsed:
		case r.Repo == "":
			unscoped = append(unscoped, fmt.Errorf("deployment %s to %s is %s but was recorded before deployments were scoped by repository: finish it by hand (docs/deploy.md)", r.ID, r.Env, r.State))
		default:
			out = append(out, r.Repo)
		}
	}
	return out, errors.Join(unscoped...)
}

// liveRunHolds reports whether a live run holds an environment's lock, so
// its in-flight deployment is not another's to take over. A person's /lock
// does not count: it must not keep an environment half-applied.
func liveRunHolds(l store.Lock, now time.Time) bool { return l.Held(now) && l.Person == "" }

// FailedError is returned by Deploy when the deployment ran and failed;
// the returned Deployment says whether it was rolled back.
type FailedError struct {
	Deployment *Deployment
	Cause      error
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("deployment %s of %s to %s %s: %v", e.Deployment.ID, release.Short(e.Deployment.ReleaseID), e.Deployment.Env, e.Deployment.State, e.Cause)
}

func (e *FailedError) Unwrap() error { return e.Cause }

func isDeployFailure(err error) bool {
	var fe *FailedError
	return errors.As(err, &fe)
}

// Get returns a deployment by ID.
func (e *Engine) Get(ctx context.Context, id string) (*Deployment, error) {
	r, err := e.opts.DB.GetDeployment(ctx, id)
	if err != nil {
		return nil, err
	}
	return fromRecord(r)
}

// History returns env's deployments, newest first (limit 0: all).
func (e *Engine) History(ctx context.Context, env string, limit int) ([]*Deployment, error) {
	return history(ctx, e.opts.DB, e.opts.Repo, env, limit)
}

func history(ctx context.Context, db *store.DB, repo, env string, limit int) ([]*Deployment, error) {
	recs, err := db.Deployments(ctx, repo, env, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*Deployment, 0, len(recs))
	for _, r := range recs {
		d, err := fromRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (e *Engine) session(d *Deployment) identity.Session {
	return identity.Session{Actor: d.Actor, PR: d.Details.PR, Release: release.Short(d.ReleaseID), Reason: d.Reason}
}
