// Package handlers turns GitHub webhooks into check runs, the conveyor/policy
// decision and answers to PR commands. There is one thin handler per event
// family, built on go-githubapp's EventHandler: each decodes its event, names
// the commits to look at and calls one shared evaluation (base.go), which
// loads the trees, reads the repo config from the base branch, runs the
// applicable checks, decides ownership (policy.go) and writes the outcome
// through the timeline and the audit log.
package handlers

import (
	"context"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

// Deps are what the handlers need, built once in main.
type Deps struct {
	// Clients makes installation clients (JWT → installation token).
	Clients githubapp.ClientCreator
	// Registry holds the checks to run.
	Registry *checks.Registry
	// Logger is used when the event's context carries no logger.
	Logger zerolog.Logger
	// AppID, when set, makes the handlers ignore check suites and runs of other apps.
	AppID int64
	// Executor runs the repo's commands for checks that need them; nil runs static checks only.
	Executor executor.Executor
	// Redactor masks secret values in everything written to GitHub.
	Redactor *timeline.Redactor
	// Retry bounds retries of GitHub's transient failures; zero means the defaults.
	Retry timeline.Retry
	// DetailsURL, when set, links each check run to a page about it.
	DetailsURL func(owner, repo, sha, check string) string
	// Actions, when set, offers buttons on completed runs and handles their presses.
	Actions ActionHandler
	// Concurrency bounds the checks run at once per event. Default 4.
	Concurrency int
	// CheckTimeout bounds one check's run; a check still running then is
	// completed as a failure. Default 10 minutes.
	CheckTimeout time.Duration
	// TreeCache is how many commit trees to keep in memory. Default 16.
	TreeCache int
	// Policy keeps the membership cache, the checks' results per commit, the
	// latest decision per PR, freezes and command records. Without it the
	// conveyor/policy check and the commands are off.
	Policy *store.PolicyStore
	// Audit is the hash-chained audit log every command and decision is
	// appended to; nil records nothing.
	Audit *store.AuditLog
	// MembershipTTL is how long cached team membership is trusted without a
	// membership or team event. Default 1 hour.
	MembershipTTL time.Duration
	// Now is the clock for freezes, soak and audit times. Default time.Now.
	Now func() time.Time
	// Operations carries out the environment commands (/promote, /rollback,
	// /backfill, /plan, /status, /lock, /unlock); nil answers them "deploys
	// are not configured on this server".
	Operations Operations
	// Releases builds the release of each push to the default branch and
	// runs the merge flow; nil deploys nothing on merge.
	Releases Releases
}

// ActionHandler is the extension point for check run buttons: it offers
// actions on a completed run and acts on a press (check_run "requested_action").
type ActionHandler interface {
	// Actions returns the buttons for a completed result (at most three).
	Actions(res checks.Result) []timeline.Action
	// HandleAction acts on a press of the button identified in ev.RequestedAction.
	HandleAction(ctx context.Context, w *timeline.Writer, ev *github.CheckRunEvent) error
}

// New returns one handler per event family, sharing one evaluator and tree cache.
func New(deps Deps) []githubapp.EventHandler {
	b := newBase(deps)
	return []githubapp.EventHandler{
		&PullRequest{Base: b},
		&MergeGroup{Base: b},
		&CheckSuite{Base: b},
		&CheckRun{Base: b},
		&PullRequestReview{Base: b},
		&IssueComment{Base: b},
		&Membership{Base: b},
		&Push{Base: b},
	}
}
