package handlers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/configcheck"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/timeline"
)

// completeTimeout bounds writing a result once a check is done. It is counted
// from a context detached from the event's, so a run is completed even when
// the event's deadline has passed.
const completeTimeout = 2 * time.Minute

// Base is the evaluation every handler shares.
type Base struct {
	deps  Deps
	trees *treeCache
	// policyLocks serialise policy decisions per commit (see policyLock).
	policyLocks [64]syncMutex
}

type syncMutex = sync.Mutex

func newBase(deps Deps) *Base {
	if deps.Concurrency <= 0 {
		deps.Concurrency = 4
	}
	if deps.CheckTimeout <= 0 {
		deps.CheckTimeout = 10 * time.Minute
	}
	if deps.TreeCache <= 0 {
		deps.TreeCache = 16
	}
	if deps.MembershipTTL <= 0 {
		deps.MembershipTTL = time.Hour
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Base{deps: deps, trees: newTreeCache(deps.TreeCache)}
}

// Target is one evaluation: which commits of which repository, and why.
type Target struct {
	InstallationID int64
	Owner, Repo    string
	// HeadSHA is the exact commit the check runs are created on.
	HeadSHA string
	// BaseRef is the tip of the base branch (a SHA, or a branch name when no
	// pull request is known). The repo config is read there, and the change is
	// the diff from the merge base of BaseRef and HeadSHA to HeadSHA.
	BaseRef string
	// DeliveryID is the webhook delivery, recorded in each run's external_id.
	DeliveryID string
	// Only, when set, runs just the check of that name (a re-run).
	Only string
	// PR is the pull request the commit belongs to, when known; the
	// conveyor/policy check is decided for it.
	PR *PRContext
}

// PRContext is what the policy check needs to know about a target's pull request.
type PRContext struct {
	Number int
	Author string
	// Head is the PR's head commit (for a merge group, the commit that was queued).
	Head string
	// BaseRef is the base branch, whose config and CODEOWNERS govern.
	BaseRef string
	// Sender caused the evaluation.
	Sender string
}

// Evaluate runs the checks for t and writes them to GitHub. Every check run it
// creates is completed, whatever happens. It returns an error only for what
// could not be written to the pull request; a failure that was reported as a
// failed check run is logged, not returned, so the delivery is not retried
// into a pile of identical failures.
func (b *Base) Evaluate(ctx context.Context, t Target) (err error) {
	logger := zerolog.Ctx(ctx)
	if t.HeadSHA == "" || t.Owner == "" || t.Repo == "" {
		return fmt.Errorf("evaluating delivery %s: the event names no repository or head commit", t.DeliveryID)
	}
	w, err := b.writer(t.InstallationID, t.Owner, t.Repo)
	if err != nil {
		return err
	}
	var policyRun int64
	if b.policyEnabled() && t.PR != nil {
		policyRun = b.startPolicyRun(ctx, w, t)
		// Whatever happens below, the policy run is decided: never left waiting, never green by default.
		defer func() {
			pt := policyTarget{InstallationID: t.InstallationID, Owner: t.Owner, Repo: t.Repo, Number: t.PR.Number, SHA: t.HeadSHA,
				PRHead: t.PR.Head, BaseRef: orDefault(t.PR.BaseRef, t.BaseRef), Author: t.PR.Author, Sender: t.PR.Sender, DeliveryID: t.DeliveryID, RunID: policyRun}
			if perr := b.evaluatePolicy(ctx, w, pt); perr != nil {
				logger.Error().Err(perr).Msg("policy check could not be written")
				err = errors.Join(err, perr)
			}
		}()
	}
	in, err := b.input(ctx, w.Client(), t)
	if err != nil {
		logger.Error().Err(err).Str("sha", t.HeadSHA).Msg("could not load the change")
		return b.reportLoadFailure(ctx, w, t, err)
	}
	selected, err := b.selectChecks(in, t)
	if err != nil {
		return err
	}
	if b.deps.Executor != nil && len(selected) > 0 {
		dir, err := os.MkdirTemp("", "conveyor-head-*")
		if err != nil {
			return b.reportLoadFailure(ctx, w, t, fmt.Errorf("preparing a working tree: %w", err))
		}
		defer os.RemoveAll(dir)
		if err := checks.Materialize(in.Head, dir); err != nil {
			return b.reportLoadFailure(ctx, w, t, fmt.Errorf("writing the working tree: %w", err))
		}
		in.HeadDir = dir
	}
	results, err := b.run(ctx, w, t, in, selected)
	if b.policyEnabled() {
		if rerr := b.recordResults(ctx, t.Owner+"/"+t.Repo, t.HeadSHA, results); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// input loads the change: the head tree, the merge-base tree and the repo
// config as it stands on the base branch (never the head's).
func (b *Base) input(ctx context.Context, gh *github.Client, t Target) (*checks.Input, error) {
	r := &repoReader{gh: gh, owner: t.Owner, repo: t.Repo, retry: b.deps.Retry, cache: b.trees}
	baseRef := t.BaseRef
	if baseRef == "" {
		baseRef = "HEAD"
	}
	baseSHA, mergeBase, err := r.compare(ctx, baseRef, t.HeadSHA)
	if err != nil {
		return nil, err
	}
	head, err := r.tree(ctx, t.HeadSHA)
	if err != nil {
		return nil, err
	}
	base, err := r.tree(ctx, mergeBase)
	if err != nil {
		return nil, err
	}
	var cfgTree checks.Tree = base
	if baseSHA != mergeBase {
		// The base branch moved on since the PR branched; its config today governs.
		data, err := r.configFile(ctx, baseSHA)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			cfgTree = checks.EmptyTree
		case err != nil:
			return nil, err
		default:
			cfgTree = checks.MapTree{config.RepoConfigPath: data}
		}
	}
	in := &checks.Input{Base: base, Head: head, Changes: checks.Diff(base, head), Executor: b.deps.Executor}
	in.Config, in.ConfigErr = checks.LoadRepoConfig(cfgTree, head)
	zerolog.Ctx(ctx).Debug().Str("head", t.HeadSHA).Str("base", baseSHA).Str("merge_base", mergeBase).
		Int("changes", len(in.Changes)).Bool("config_detected", in.Config.Detected).Msg("loaded change")
	return in, nil
}

func (b *Base) selectChecks(in *checks.Input, t Target) ([]checks.Check, error) {
	if b.deps.Registry == nil {
		return nil, errors.New("handlers: no check registry configured")
	}
	if t.Only == "" {
		return b.deps.Registry.Applicable(in), nil
	}
	c, ok := b.deps.Registry.Get(t.Only)
	if !ok {
		return nil, nil
	}
	return []checks.Check{c}, nil
}

type createdRun struct {
	check checks.Check
	id    int64
}

// run creates every run as queued first, so the PR lists them at once, then
// runs the checks with bounded concurrency.
func (b *Base) run(ctx context.Context, w *timeline.Writer, t Target, in *checks.Input, selected []checks.Check) ([]checks.Result, error) {
	var (
		mu      sync.Mutex
		errs    []error
		runs    []createdRun
		results []checks.Result
	)
	for _, c := range selected {
		id, err := w.CreateCheckRun(ctx, t.HeadSHA, c.Name(), timeline.ExternalID(c.Name()+"@"+t.DeliveryID), timeline.DetailsURL(b.detailsURL(t, c.Name())))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		runs = append(runs, createdRun{check: c, id: id})
	}
	sem := make(chan struct{}, b.deps.Concurrency)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := b.runOne(ctx, w, in, r)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if res.Name != "" {
				results = append(results, res)
			}
		}()
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	return results, errors.Join(errs...)
}

// runOne takes one created run from queued to completed. If anything stops
// it before the result is written, the run is completed as a failure saying why.
func (b *Base) runOne(ctx context.Context, w *timeline.Writer, in *checks.Input, r createdRun) (written checks.Result, err error) {
	name := r.check.Name()
	logger := zerolog.Ctx(ctx).With().Str("check", name).Int64("check_run_id", r.id).Logger()
	completed := false
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("running check %s: panic: %v", name, p)
		}
		if completed {
			return
		}
		cause := err
		if cause == nil {
			cause = errors.New("stopped before writing a result")
		}
		if ferr := w.FailCheckRun(ctx, r.id, name, cause); ferr != nil {
			err = errors.Join(cause, ferr)
			logger.Error().Err(err).Msg("check run could not be completed")
			return
		}
		// The failure and its cause are on the PR; a redelivery would only repeat them.
		logger.Error().Err(cause).Msg("check run completed as failure")
		err = nil
	}()
	if err := w.StartCheckRun(ctx, r.id); err != nil {
		logger.Warn().Err(err).Msg("could not mark check run in progress; running it anyway")
	}
	// A run that did not complete with its result is written as a failure
	// (above); the policy sees it as such, with no signals or approvals.
	written = checks.Result{Name: name, Conclusion: checks.Failure}
	started := time.Now()
	res := b.runCheck(ctx, r.check, in)
	res.Name = name
	var actions []timeline.Action
	if b.deps.Actions != nil {
		actions = b.deps.Actions.Actions(res)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	if err := w.CompleteCheckRun(wctx, r.id, res, actions...); err != nil {
		return written, err
	}
	completed = true
	logger.Info().Str("conclusion", string(res.Conclusion)).Int("annotations", len(res.Annotations)).
		Dur("elapsed", time.Since(started)).Msg("check run completed")
	return res, nil
}

func (b *Base) now() time.Time { return b.deps.Now() }

// runCheck runs a check within CheckTimeout. checks.Run turns errors and
// panics into failures; a check that ignores its context and overruns is
// abandoned and reported as timed out, so its run still completes.
func (b *Base) runCheck(ctx context.Context, c checks.Check, in *checks.Input) checks.Result {
	ctx, cancel := context.WithTimeout(ctx, b.deps.CheckTimeout)
	defer cancel()
	done := make(chan checks.Result, 1)
	go func() { done <- checks.Run(ctx, c, in) }()
	select {
	case res := <-done:
		return res
	case <-ctx.Done():
		why := fmt.Sprintf("The check did not finish within %s and was stopped.", b.deps.CheckTimeout)
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = fmt.Sprintf("The check was stopped before it finished: `%v`.", ctx.Err())
		}
		return checks.Result{Name: c.Name(), Conclusion: checks.Failure, Title: "Check did not finish", Summary: why + "\n\nRe-run the check to try again."}
	}
}

// reportLoadFailure completes a failed run that says the change could not be
// loaded: the re-run check's, or conveyor/config's.
func (b *Base) reportLoadFailure(ctx context.Context, w *timeline.Writer, t Target, cause error) error {
	name := configcheck.Name
	if t.Only != "" {
		name = t.Only
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	id, err := w.CreateCheckRun(wctx, t.HeadSHA, name, timeline.ExternalID(name+"@"+t.DeliveryID), timeline.DetailsURL(b.detailsURL(t, name)))
	if err != nil {
		return errors.Join(cause, err)
	}
	err = w.CompleteCheckRun(wctx, id, checks.Result{
		Name:       name,
		Conclusion: checks.Failure,
		Title:      "Conveyor could not load this change",
		Summary:    fmt.Sprintf("Conveyor could not read this change from GitHub, so no check ran:\n\n`%v`\n\nRe-run this check to try again.", cause),
	})
	if err != nil {
		return errors.Join(cause, err)
	}
	return nil
}

func (b *Base) writer(installationID int64, owner, repo string) (*timeline.Writer, error) {
	gh, err := b.deps.Clients.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("making a client for installation %d: %w", installationID, err)
	}
	return timeline.New(gh, owner, repo, b.deps.Redactor, timeline.WithRetry(b.deps.Retry)), nil
}

func (b *Base) detailsURL(t Target, check string) string {
	if b.deps.DetailsURL == nil {
		return ""
	}
	return b.deps.DetailsURL(t.Owner, t.Repo, t.HeadSHA, check)
}

// withLogger gives ctx the configured logger when the caller attached none.
func (b *Base) withLogger(ctx context.Context, eventType, deliveryID string) context.Context {
	if zerolog.Ctx(ctx).GetLevel() != zerolog.Disabled {
		return ctx
	}
	l := b.deps.Logger.With().Str(githubapp.LogKeyEventType, eventType).Str(githubapp.LogKeyDeliveryID, deliveryID).Logger()
	return l.WithContext(ctx)
}

// ours reports whether a suite or run belongs to this app (always, when AppID is unset).
func (b *Base) ours(app *github.App) bool {
	return b.deps.AppID == 0 || app == nil || app.GetID() == b.deps.AppID
}
