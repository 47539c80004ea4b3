package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
)

// PullRequestRef names the pull request a command came from, as the handler
// read it from GitHub when the command arrived.
type PullRequestRef struct {
	InstallationID int64  `json:"installation_id"`
	Owner          string `json:"owner"`
	Repo           string `json:"repo"`
	Number         int    `json:"number"`
	Author         string `json:"author"`
	// HeadSHA is the PR's head commit: the release a /promote ships is built from it.
	HeadSHA string `json:"head_sha"`
	// BaseRef is the base branch's name; BaseSHA its tip when the command arrived.
	BaseRef string `json:"base_ref"`
	BaseSHA string `json:"base_sha"`
	Merged  bool   `json:"merged"`
	// MergeCommitSHA is set once the PR is merged.
	MergeCommitSHA string `json:"merge_commit_sha,omitempty"`
}

// OpRequest is one command that was parsed, authorized and (for /promote)
// passed its gates. Operations only carries it out.
type OpRequest struct {
	PR    PullRequestRef
	Actor policy.Actor
	// Command is the parsed command: Env, Release, Reason, DagID/Start/End, BreakGlass.
	Command policy.Command
	// Config is the base branch's `.conveyor.yml` the command was authorized under.
	Config *config.RepoConfig
	// Gates is the promotion decision that let a /promote through; nil for
	// other commands. Gates.BreakGlass means a person's lock or a gate was
	// bypassed by someone allowed to, with Gates.BreakGlassReason.
	Gates *policy.GateDecision
	// Risk is the release's risk from the checks' signals at PR.HeadSHA.
	Risk policy.Risk
	// DeliveryID is the webhook delivery that carried the command, for the
	// deploy side's own records.
	DeliveryID string
	// Progress, when set, replaces the command's reply comment with a
	// progress note (markdown); the final result is what the method returns.
	Progress func(ctx context.Context, markdown string)
}

// PromotionState is what the promotion gates need that only the deploy side
// knows.
type PromotionState struct {
	// Release is the release built from the PR's head (ID and SHA; the
	// handler fills Risk from the checks).
	Release policy.Release
	// Previous is what the environment before env in the chain runs; nil when nothing.
	Previous *policy.EnvState
	// Lock is env's lock when a person holds it (/lock); nil when free.
	Lock *policy.Lock
}

// Operations carries out the commands that read or change environments:
// /promote, /rollback, /backfill, /plan, /status, /lock and /unlock. The
// handlers parse each command, authorize it against the base branch's
// permissions, evaluate the promotion gates (with PromotionState), react,
// reply and audit; an Operations implementation (the deploy engine) only
// does the work and says how it went.
//
// Each method returns the markdown that becomes the command's reply, or an
// error. A *Refusal error is a decision not to act (locked, nothing to roll
// back to, unknown DAG): the reply says why and the comment gets 😕. Any
// other error is a failure to act and is reported the same way, marked as
// an error. Methods must be safe for concurrent use.
type Operations interface {
	// PromotionState returns the release built from pr's head and the state
	// of env and the environment before it, for the promotion gates.
	PromotionState(ctx context.Context, pr PullRequestRef, env string) (PromotionState, error)
	// Promote deploys the PR's release to req.Command.Env; the gates passed.
	Promote(ctx context.Context, req OpRequest) (string, error)
	// Rollback puts req.Command.Env back on the previous release, or on req.Command.Release.
	Rollback(ctx context.Context, req OpRequest) (string, error)
	// Backfill runs req.Command.DagID from Start to End in req.Command.Env
	// (the first environment when the command named none).
	Backfill(ctx context.Context, req OpRequest) (string, error)
	// Plan shows what deploying the PR's release would change in
	// req.Command.Env, or in every environment when it is empty.
	Plan(ctx context.Context, req OpRequest) (string, error)
	// Status shows where the PR's release runs and what each environment runs.
	Status(ctx context.Context, req OpRequest) (string, error)
	// Lock holds req.Command.Env for req.Actor.Login (with req.Command.Reason)
	// until Unlock; deploys by anyone else stop at the lock gate.
	Lock(ctx context.Context, req OpRequest) (string, error)
	// Unlock frees a person's lock on req.Command.Env.
	Unlock(ctx context.Context, req OpRequest) (string, error)
}

// Refusal is an Operations decision not to act, with the reason shown in the
// reply. Gate names the gate or rule that refused, when there is one.
type Refusal struct {
	Gate   string
	Reason string
}

func (r *Refusal) Error() string {
	if r.Gate != "" {
		return fmt.Sprintf("%s: %s", r.Gate, r.Reason)
	}
	return r.Reason
}

// Refuse returns a *Refusal for an Operations method to return.
func Refuse(gate, format string, args ...any) error {
	return &Refusal{Gate: gate, Reason: fmt.Sprintf(format, args...)}
}

// asRefusal reports whether err is a refusal and returns it.
func asRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// noOperations answers environment commands on a server without deploys.
func noOperations() error {
	return &Refusal{Gate: "deploys", Reason: "deploys are not configured on this server"}
}
