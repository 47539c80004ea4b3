package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy"
	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/artifacts"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/handlers"
	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

// DeployOptions are the deploy side's parts: where releases are stored and
// how environments are reached. The engine is built per repository from
// its base branch's config, so the environments always follow the repo.
type DeployOptions struct {
	Artifacts artifacts.Store
	Targets   deploy.Opener
	// WorkDir holds materialized releases for the executor.
	WorkDir string
	// Lease is how long an environment lock lives without renewal (default 2 min).
	Lease time.Duration
	// LockTTL is how long a person's /lock holds (default 24 h).
	LockTTL time.Duration
	// LogURL returns a deployment's log link (nil: none).
	LogURL func(deploymentID string) string
}

// Deploys carries out merges and environment commands over deploy.Engine:
// it implements handlers.Operations and handlers.Releases.
type Deploys struct {
	opts     DeployOptions
	db       *store.DB
	clients  githubapp.ClientCreator
	redactor *timeline.Redactor
	// trees loads a PR's head tree to build its release before the merge.
	trees  *handlers.TreeLoader
	holder string
	log    zerolog.Logger
}

var (
	_ handlers.Operations = (*Deploys)(nil)
	_ handlers.Releases   = (*Deploys)(nil)
)

func newDeploys(opts DeployOptions, db *store.DB, clients githubapp.ClientCreator, red *timeline.Redactor, log zerolog.Logger) *Deploys {
	if opts.LockTTL <= 0 {
		opts.LockTTL = 24 * time.Hour
	}
	return &Deploys{opts: opts, db: db, clients: clients, redactor: red, trees: handlers.NewTreeLoader(8, timeline.Retry{}), holder: fmt.Sprintf("conveyor-%d", time.Now().UnixNano()), log: log}
}

// engine builds the engine for one repository and config; its reporter
// mirrors deployments to that repository's GitHub deployments.
func (d *Deploys) engine(cfg *config.RepoConfig, inst int64, owner, repo string) (*deploy.Engine, error) {
	return d.engineWithHold(cfg, inst, owner, repo, nil)
}

// engineWithHold is engine with the merge flow's hold.
func (d *Deploys) engineWithHold(cfg *config.RepoConfig, inst int64, owner, repo string, hold func(context.Context, deploy.FlowStep) (string, error)) (*deploy.Engine, error) {
	gh, err := d.clients.NewInstallationClient(inst)
	if err != nil {
		return nil, fmt.Errorf("making a client for installation %d: %w", inst, err)
	}
	w := timeline.New(gh, owner, repo, d.redactor)
	return deploy.New(deploy.Options{
		DB: d.db, Repo: owner + "/" + repo, Config: cfg, Artifacts: d.opts.Artifacts, Targets: d.opts.Targets,
		Reporter: &deploy.TimelineReporter{W: w, Config: cfg}, WorkDir: d.opts.WorkDir,
		Lease: d.opts.Lease, LogURL: d.opts.LogURL, Holder: d.holder, Log: d.log, Hold: hold,
	})
}

// Publish builds the release of the merge commit's tree, stores its bytes
// and registers it. The same tree is the same release, so a retry is a no-op.
func (d *Deploys) Publish(ctx context.Context, m handlers.Merge) (string, error) {
	e, err := d.engine(m.Config, m.InstallationID, m.Owner, m.Repo)
	if err != nil {
		return "", err
	}
	var cs []release.Check
	for _, c := range m.Checks {
		cs = append(cs, release.Check{Name: c.Name, Conclusion: c.Conclusion})
	}
	rel, err := release.Build(m.Tree, m.Config, release.Meta{SHA: m.SHA, PR: m.PR, Checks: cs, Risk: string(m.Risk.Level)}, time.Now())
	if err != nil {
		return "", err
	}
	if err := release.Publish(ctx, d.opts.Artifacts, rel, m.Tree); err != nil {
		return "", err
	}
	if err := e.Register(ctx, rel); err != nil {
		return "", err
	}
	return rel.ID, nil
}

// Flow resumes any deployment of the repository a crash left behind, then
// runs the merge flow. Environments already running the release are
// skipped, so a redelivered push picks up where the last attempt stopped.
// A deployment that cannot be resumed now (another replica holds it, or it
// fails again) does not stop the flow: the resume loop keeps at it, and an
// environment it leaves in flight refuses its deployment on its own.
func (d *Deploys) Flow(ctx context.Context, m handlers.Merge, releaseID string, gate handlers.GateFunc) (handlers.FlowOutcome, error) {
	hold := func(ctx context.Context, step deploy.FlowStep) (string, error) {
		g := handlers.FlowGate{Env: step.Env, ReleaseID: step.Release.ID}
		if p := step.Previous; p != nil {
			g.Previous = &policy.EnvState{Env: p.Env, ReleaseID: p.ReleaseID, SHA: p.Details.SHA, SmokeGreen: smokeGreen(p), GreenSince: p.FinishedAt}
		}
		lock, err := d.personLock(ctx, m.Owner+"/"+m.Repo, step.Env)
		if err != nil {
			return "", err
		}
		g.Lock = lock
		return gate(ctx, g)
	}
	e, err := d.engineWithHold(m.Config, m.InstallationID, m.Owner, m.Repo, hold)
	if err != nil {
		return handlers.FlowOutcome{}, err
	}
	if _, err := e.Resume(ctx); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("repo", m.Owner+"/"+m.Repo).Msg("resuming unfinished deployments before the merge flow")
	}
	res, err := e.Flow(ctx, deploy.FlowRequest{ReleaseID: releaseID, Actor: m.Actor, SHA: m.SHA, PR: m.PR, CommittedAt: m.CommittedAt, Risk: string(m.Risk.Level)})
	var out handlers.FlowOutcome
	if res != nil {
		for _, dep := range res.Deployments {
			if dep.State == deploy.StateSucceeded {
				out.Deployed = append(out.Deployed, dep.Env)
			}
		}
		out.StoppedAt, out.Reason = res.StoppedAt, res.Reason
	}
	if fe, ok := errors.AsType[*deploy.FailedError](err); ok {
		// It ran and failed (and was rolled back, or says what it left):
		// running the flow again would only deploy the bad release again.
		out.StoppedAt, out.Reason, out.Failed = fe.Deployment.Env, fe.Error(), true
		return out, nil
	}
	return out, err
}

// StartResuming resumes, now and then every half lease until ctx ends, the
// deployments a crash or a restart left in flight in any repository, once
// their lease has lapsed. Without it an environment whose deployment died
// would refuse /promote and /rollback until the next merge. The returned
// channel closes when the loop has stopped. A nil Deploys (a server
// without deploys) does nothing.
func (d *Deploys) StartResuming(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if d == nil {
		close(done)
		return done
	}
	every := d.lease() / 2
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, err := d.ResumeUnfinished(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn().Err(err).Msg("resuming unfinished deployments")
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return done
}

func (d *Deploys) lease() time.Duration {
	if d.opts.Lease > 0 {
		return d.opts.Lease
	}
	return deploy.DefaultLease
}

// ResumeUnfinished takes over the deployments left in flight whose lease
// has lapsed, repository by repository: it finds the repository's
// installation, reads its config from the default branch and resumes with
// an engine built from it (so the GitHub deployment is finished too). It
// returns the deployments it finished.
func (d *Deploys) ResumeUnfinished(ctx context.Context) ([]*deploy.Deployment, error) {
	repos, err := deploy.Unfinished(ctx, d.db, d.lease(), time.Now())
	if err != nil && len(repos) == 0 {
		return nil, err
	}
	var out []*deploy.Deployment
	errs := []error{err}
	for _, full := range repos {
		owner, name, _ := strings.Cut(full, "/")
		done, err := d.resumeRepo(ctx, owner, name)
		out = append(out, done...)
		if err != nil {
			errs = append(errs, fmt.Errorf("resuming the deployments of %s: %w", full, err))
		}
	}
	return out, errors.Join(errs...)
}

func (d *Deploys) resumeRepo(ctx context.Context, owner, repo string) ([]*deploy.Deployment, error) {
	appClient, err := d.clients.NewAppClient()
	if err != nil {
		return nil, err
	}
	inst, _, err := appClient.Apps.FindRepositoryInstallation(ctx, owner, repo)
	if err != nil {
		return nil, fmt.Errorf("finding the installation: %w", err)
	}
	cfg, err := d.repoConfig(ctx, handlers.PullRequestRef{InstallationID: inst.GetID(), Owner: owner, Repo: repo})
	if err != nil {
		return nil, fmt.Errorf("reading the default branch's config: %w", err)
	}
	e, err := d.engine(cfg, inst.GetID(), owner, repo)
	if err != nil {
		return nil, err
	}
	return e.Resume(ctx)
}

// repoConfig reads the base branch's config when a method is not given one
// (the default branch's when pr names no base).
func (d *Deploys) repoConfig(ctx context.Context, pr handlers.PullRequestRef) (*config.RepoConfig, error) {
	gh, err := d.clients.NewInstallationClient(pr.InstallationID)
	if err != nil {
		return nil, err
	}
	ref := pr.BaseRef
	file, _, resp, err := gh.Repositories.GetContents(ctx, pr.Owner, pr.Repo, config.RepoConfigPath, &github.RepositoryContentGetOptions{Ref: ref})
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil, handlers.Refuse("config", "%s has no %s", ref, config.RepoConfigPath)
	}
	if err != nil {
		return nil, err
	}
	s, err := file.GetContent()
	if err != nil {
		return nil, err
	}
	return config.ParseRepo(config.RepoConfigPath, []byte(s))
}

// releaseOf finds or builds the release a command on pr works with, and
// returns it with the commit it ships from: the merge commit once merged,
// the head before.
//
// Once merged, it is the release the push of the merge commit registered
// (found among waiting promotions and what the environments run), or when
// none was registered yet, the one built from the merge commit's tree.
// Before the merge it is built from the PR's head tree: the same content is
// the same release, so a merge of the same tree later reuses it. A built
// release is published and registered only when publish is set, with risk:
// the gates ask for the release's ID before its risk is known, and a
// registered release never changes.
func (d *Deploys) releaseOf(ctx context.Context, e *deploy.Engine, cfg *config.RepoConfig, pr handlers.PullRequestRef, risk string, publish bool) (*release.Release, string, error) {
	sha := pr.HeadSHA
	if pr.Merged {
		if pr.MergeCommitSHA == "" {
			return nil, "", handlers.Refuse("release", "PR #%d is merged but GitHub gave no merge commit", pr.Number)
		}
		sha = pr.MergeCommitSHA
		rel, err := d.registeredRelease(ctx, e, cfg, pr)
		if rel != nil || err != nil {
			return rel, sha, err
		}
	}
	if sha == "" {
		return nil, "", handlers.Refuse("release", "PR #%d has no head commit", pr.Number)
	}
	gh, err := d.clients.NewInstallationClient(pr.InstallationID)
	if err != nil {
		return nil, "", fmt.Errorf("making a client for installation %d: %w", pr.InstallationID, err)
	}
	tree, err := d.trees.Tree(ctx, gh, pr.Owner, pr.Repo, sha)
	if err != nil {
		return nil, "", fmt.Errorf("loading %s/%s at %.7s: %w", pr.Owner, pr.Repo, sha, err)
	}
	rel, err := release.Build(tree, cfg, release.Meta{SHA: sha, PR: pr.Number, Risk: risk}, time.Now())
	if err != nil {
		return nil, "", handlers.Refuse("release", "the release of %.7s cannot be built: %v", sha, err)
	}
	if !publish {
		return rel, sha, nil
	}
	if err := release.Publish(ctx, d.opts.Artifacts, rel, tree); err != nil {
		return nil, "", fmt.Errorf("publishing the release of %.7s: %w", sha, err)
	}
	if err := e.Register(ctx, rel); err != nil {
		return nil, "", err
	}
	// Registered before with the same content: that record is the release.
	rel, err = e.Release(ctx, rel.ID)
	return rel, sha, err
}

// registeredRelease is the release the push of pr's merge commit
// registered, or nil when there is none yet.
func (d *Deploys) registeredRelease(ctx context.Context, e *deploy.Engine, cfg *config.RepoConfig, pr handlers.PullRequestRef) (*release.Release, error) {
	proms, err := d.db.Promotions(ctx, pr.Owner+"/"+pr.Repo, deploy.PromotionWaiting)
	if err != nil {
		return nil, err
	}
	var ids []string
	for i := len(proms) - 1; i >= 0; i-- {
		ids = append(ids, proms[i].ReleaseID)
	}
	for _, env := range cfg.EnvironmentNames() {
		hist, err := e.History(ctx, env, 100)
		if err != nil {
			return nil, err
		}
		for _, h := range hist {
			if h.Details.SHA == pr.MergeCommitSHA {
				// Deployed from the merge commit: a release built before
				// from the same content (a revert brings one back).
				return e.Release(ctx, h.ReleaseID)
			}
			ids = append(ids, h.ReleaseID)
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		rel, err := e.Release(ctx, id)
		if err != nil {
			return nil, err
		}
		if rel.SHA == pr.MergeCommitSHA {
			return rel, nil
		}
	}
	return nil, nil
}

// beforeMerge refuses to take an open PR's release into the last
// environment of the chain: production runs what the default branch holds.
func beforeMerge(cfg *config.RepoConfig, pr handlers.PullRequestRef, env string) error {
	if !pr.Merged && cfg.IsLast(env) {
		return handlers.Refuse("merge first", "%s takes releases of the default branch; PR #%d is not merged", env, pr.Number)
	}
	return nil
}

// PromotionState implements handlers.Operations.
func (d *Deploys) PromotionState(ctx context.Context, pr handlers.PullRequestRef, env string) (handlers.PromotionState, error) {
	cfg, err := d.repoConfig(ctx, pr)
	if err != nil {
		return handlers.PromotionState{}, err
	}
	e, err := d.engine(cfg, pr.InstallationID, pr.Owner, pr.Repo)
	if err != nil {
		return handlers.PromotionState{}, err
	}
	if err := beforeMerge(cfg, pr, env); err != nil {
		return handlers.PromotionState{}, err
	}
	rel, sha, err := d.releaseOf(ctx, e, cfg, pr, "", false)
	if err != nil {
		return handlers.PromotionState{}, err
	}
	// The handler reads the checks at sha and decides the risk.
	st := handlers.PromotionState{Release: policy.Release{ID: rel.ID, SHA: sha}}
	if prev, ok := cfg.Previous(env); ok {
		hist, err := e.History(ctx, prev, 100)
		if err != nil {
			return st, err
		}
		for _, h := range hist {
			if h.State == deploy.StateSucceeded {
				st.Previous = &policy.EnvState{Env: prev, ReleaseID: h.ReleaseID, SHA: h.Details.SHA, SmokeGreen: smokeGreen(h), GreenSince: h.FinishedAt}
				break
			}
		}
	}
	st.Lock, err = d.personLock(ctx, pr.Owner+"/"+pr.Repo, env)
	return st, err
}

// personLock is a person's /lock held on repo's env now; nil when none.
func (d *Deploys) personLock(ctx context.Context, repo, env string) (*policy.Lock, error) {
	l, err := d.db.RepoLock(ctx, repo, env)
	if err != nil {
		return nil, err
	}
	if l.Person == "" || !l.Held(time.Now()) {
		return nil, nil
	}
	return &policy.Lock{Env: env, Holder: l.Person, Reason: l.Reason}, nil
}

func smokeGreen(d *deploy.Deployment) bool {
	for _, s := range d.Details.Smoke {
		if !s.Passed {
			return false
		}
	}
	return d.State == deploy.StateSucceeded
}

// Promote implements handlers.Operations.
func (d *Deploys) Promote(ctx context.Context, req handlers.OpRequest) (string, error) {
	e, err := d.engine(req.Config, req.PR.InstallationID, req.PR.Owner, req.PR.Repo)
	if err != nil {
		return "", err
	}
	if err := beforeMerge(req.Config, req.PR, req.Command.Env); err != nil {
		return "", err
	}
	rel, sha, err := d.releaseOf(ctx, e, req.Config, req.PR, string(req.Risk.Level), true)
	if err != nil {
		return "", err
	}
	bg := req.Gates != nil && req.Gates.BreakGlass
	report(ctx, req, fmt.Sprintf("Deploying release `%s` to %s…", rel.Short(), req.Command.Env))
	dep, err := e.Promote(ctx, deploy.Request{ReleaseID: rel.ID, Env: req.Command.Env, Actor: req.Actor.Login, Reason: "promote", BreakGlass: bg,
		SHA: sha, PR: req.PR.Number})
	if errors.Is(err, deploy.ErrGate) || errors.Is(err, deploy.ErrInFlight) {
		return "", handlers.Refuse("deploy", "%s", err.Error())
	}
	return deploymentReply(dep, err)
}

// Rollback implements handlers.Operations.
func (d *Deploys) Rollback(ctx context.Context, req handlers.OpRequest) (string, error) {
	e, err := d.engine(req.Config, req.PR.InstallationID, req.PR.Owner, req.PR.Repo)
	if err != nil {
		return "", err
	}
	cur, err := e.Current(ctx, req.Command.Env)
	if err != nil {
		return "", err
	}
	if cur == nil {
		return "", handlers.Refuse("rollback", "nothing has been deployed to %s, so there is nothing to roll back", req.Command.Env)
	}
	report(ctx, req, fmt.Sprintf("Rolling %s back from release `%s`…", req.Command.Env, release.Short(cur.ReleaseID)))
	reason := "rollback"
	if req.Command.Reason != "" {
		reason = "rollback: " + req.Command.Reason
	}
	dep, err := e.Rollback(ctx, deploy.Request{ReleaseID: req.Command.Release, Env: req.Command.Env, Actor: req.Actor.Login, Reason: reason,
		BreakGlass: req.Gates != nil && req.Gates.BreakGlass})
	if dep == nil && err != nil {
		return "", handlers.Refuse("rollback", "%s", err.Error())
	}
	return deploymentReply(dep, err)
}

// Backfill implements handlers.Operations: it starts the backfill in the
// environment's MWAA, as the person who asked.
func (d *Deploys) Backfill(ctx context.Context, req handlers.OpRequest) (string, error) {
	e, err := d.engine(req.Config, req.PR.InstallationID, req.PR.Owner, req.PR.Repo)
	if err != nil {
		return "", err
	}
	env := req.Command.TargetEnv(req.Config)
	report(ctx, req, fmt.Sprintf("Starting the backfill of `%s` in %s…", req.Command.DagID, env))
	res, err := e.Backfill(ctx, deploy.BackfillRequest{Env: env, Actor: req.Actor.Login, PR: req.PR.Number,
		Backfill: airflow.Backfill{DagID: req.Command.DagID, Start: req.Command.Start, End: req.Command.End}})
	var cliErr *airflow.CLIError
	switch {
	case errors.Is(err, deploy.ErrNoScheduler):
		return "", handlers.Refuse("backfill", "%s", err.Error())
	case errors.Is(err, airflow.ErrRunsInFlight):
		return "", handlers.Refuse("backfill", "%s; backfilling them again now would load those intervals twice. Wait for them to finish, or clear them deliberately in Airflow", err.Error())
	case errors.As(err, &cliErr):
		return "", handlers.Refuse("backfill", "Airflow refused it: %s", cliErr.Stderr)
	case err != nil:
		return "", err
	}
	return fmt.Sprintf("▶️ Backfill of `%s` started in %s for %s → %s: `%s`. Intervals that already succeeded are skipped, so nothing loads twice.",
		req.Command.DagID, env, req.Command.Start.Format("2006-01-02"), req.Command.End.Format("2006-01-02"), res.Command), nil
}

// Plan implements handlers.Operations: per environment, which files the
// PR's release changes against what runs there.
func (d *Deploys) Plan(ctx context.Context, req handlers.OpRequest) (string, error) {
	e, err := d.engine(req.Config, req.PR.InstallationID, req.PR.Owner, req.PR.Repo)
	if err != nil {
		return "", err
	}
	rel, _, err := d.releaseOf(ctx, e, req.Config, req.PR, string(req.Risk.Level), false)
	if err != nil {
		return "", err
	}
	envs := req.Config.EnvironmentNames()
	if req.Command.Env != "" {
		envs = []string{req.Command.Env}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for release `%s` (`%.7s`, %s risk)\n\n| env | runs | added | changed | removed |\n|---|---|---|---|---|\n", rel.Short(), rel.SHA, rel.Risk)
	for _, env := range envs {
		cur, err := e.Current(ctx, env)
		if err != nil {
			return "", err
		}
		old := map[string]string{}
		runs := "nothing"
		if cur != nil {
			runs = "`" + release.Short(cur.ReleaseID) + "`"
			prev, err := e.Release(ctx, cur.ReleaseID)
			if err != nil {
				return "", err
			}
			for _, f := range prev.Files {
				old[f.Path] = f.SHA256
			}
		}
		var added, changed int
		for _, f := range rel.Files {
			h, ok := old[f.Path]
			switch {
			case !ok:
				added++
			case h != f.SHA256:
				changed++
			}
			delete(old, f.Path)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d |\n", env, runs, added, changed, len(old))
	}
	return b.String(), nil
}

// Status implements handlers.Operations: the per-environment table.
func (d *Deploys) Status(ctx context.Context, req handlers.OpRequest) (string, error) {
	e, err := d.engine(req.Config, req.PR.InstallationID, req.PR.Owner, req.PR.Repo)
	if err != nil {
		return "", err
	}
	sts, err := e.Status(ctx)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := deploy.WriteStatus(&buf, sts); err != nil {
		return "", err
	}
	return "What runs where:\n\n```\n" + buf.String() + "```", nil
}

// Lock implements handlers.Operations.
func (d *Deploys) Lock(ctx context.Context, req handlers.OpRequest) (string, error) {
	e, err := d.engine(req.Config, req.PR.InstallationID, req.PR.Owner, req.PR.Repo)
	if err != nil {
		return "", err
	}
	l, err := e.Lock(ctx, req.Command.Env, req.Actor.Login, req.Command.Reason, d.opts.LockTTL)
	var locked *store.LockedError
	if errors.As(err, &locked) {
		return "", handlers.Refuse("lock", "%s", err.Error())
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("🔒 %s is locked by @%s until %s: deploys by anyone else stop at the lock gate. `/unlock %s` frees it.",
		req.Command.Env, req.Actor.Login, l.ExpiresAt.UTC().Format(time.RFC3339), req.Command.Env), nil
}

// Unlock implements handlers.Operations.
func (d *Deploys) Unlock(ctx context.Context, req handlers.OpRequest) (string, error) {
	e, err := d.engine(req.Config, req.PR.InstallationID, req.PR.Owner, req.PR.Repo)
	if err != nil {
		return "", err
	}
	if err := e.Unlock(ctx, req.Command.Env); err != nil {
		return "", handlers.Refuse("unlock", "%s", err.Error())
	}
	return fmt.Sprintf("🔓 %s is unlocked.", req.Command.Env), nil
}

func report(ctx context.Context, req handlers.OpRequest, md string) {
	if req.Progress != nil {
		req.Progress(ctx, md)
	}
}

// deploymentReply describes a finished deployment; a failed one is an error.
func deploymentReply(dep *deploy.Deployment, err error) (string, error) {
	if dep == nil {
		if err == nil {
			err = errors.New("the engine returned no deployment")
		}
		return "", err
	}
	var b strings.Builder
	icon := "✅"
	if dep.State != deploy.StateSucceeded {
		icon = "❌"
	}
	fmt.Fprintf(&b, "%s **%s** of release `%s` to **%s**: %s (deployment `%s`)", icon, dep.Kind, release.Short(dep.ReleaseID), dep.Env, dep.State, dep.ID)
	if dep.Details.RolledBackRelease != "" {
		fmt.Fprintf(&b, "\n\nReplaced release `%s`; the bucket now holds %s.", release.Short(dep.Details.RolledBackRelease), dep.Details.BucketState)
	}
	if w := dep.Details.DagRunsToReview; w != nil && len(w.DAGs) > 0 {
		fmt.Fprintf(&b, "\n\nDAG runs to review (they ran the replaced code from %s until %s; nothing was re-triggered): %s",
			w.From.UTC().Format(time.RFC3339), w.Until.UTC().Format(time.RFC3339), strings.Join(w.DAGs, ", "))
	}
	if dep.Details.LogURL != "" {
		fmt.Fprintf(&b, "\n\n[Log](%s)", dep.Details.LogURL)
	}
	if err != nil || dep.State != deploy.StateSucceeded {
		msg := dep.Error
		if err != nil {
			msg = err.Error()
		}
		return "", fmt.Errorf("%s %s to %s ended %s: %s", dep.Kind, release.Short(dep.ReleaseID), dep.Env, dep.State, msg)
	}
	return b.String(), nil
}
