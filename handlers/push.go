package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
)

// Merge is one commit the merge queue put on the default branch, as the push
// handler read it: its tree, the config that governs it and its risk.
type Merge struct {
	InstallationID int64
	Owner, Repo    string
	// SHA is the merge commit; the release is built from its tree.
	SHA string
	// PR is the merged pull request's number; 0 for a push from no PR.
	PR int
	// Actor is who merged (the pusher).
	Actor  string
	Tree   checks.Tree
	Config *config.RepoConfig
	Risk   policy.Risk
	// Checks are the latest check runs at the PR's head (what the release passed).
	Checks []policy.CheckStatus
	// CommittedAt is when the change was first committed: the merged PR's
	// first commit, else the pushed commit. Lead time is measured from it.
	CommittedAt time.Time
}

// FlowOutcome is what the merge flow did.
type FlowOutcome struct {
	// Deployed names the environments the release reached, in order.
	Deployed []string
	// StoppedAt is the environment the flow did not enter, and why.
	StoppedAt, Reason string
	// Failed says the deployment to StoppedAt ran and failed (Reason says
	// how, and whether it was rolled back). That is the flow's outcome, to
	// report on the PR, not an error: running the flow again would deploy
	// the same bad release again.
	Failed bool
}

// FlowGate is what the merge flow knows of an environment it is about to
// enter: what the environment before it runs, and who holds its lock.
type FlowGate struct {
	Env       string
	ReleaseID string
	// Previous is the previous environment's run of the release; nil for the
	// first environment of the chain.
	Previous *policy.EnvState
	// Lock is a person's /lock on Env, if one is held.
	Lock *policy.Lock
}

// GateFunc answers why the merge flow must not enter an environment; ""
// lets it in.
type GateFunc func(ctx context.Context, g FlowGate) (string, error)

// Releases builds releases of merged commits and ships them through the
// environment chain. Both methods must be idempotent per commit: the inbox
// redelivers a push whose handler failed.
type Releases interface {
	// Publish builds, stores and registers the release of m.Tree and returns its ID.
	Publish(ctx context.Context, m Merge) (string, error)
	// Flow takes the release through the chain as far as its risk allows,
	// asking gate before it enters each environment. A deployment that ran
	// and failed is an outcome (FlowOutcome.Failed), not an error; an error
	// means the flow could not be carried out (the store or GitHub could
	// not be reached, an environment is held) and is worth retrying.
	Flow(ctx context.Context, m Merge, releaseID string, gate GateFunc) (FlowOutcome, error)
}

// Push ships what lands on the default branch: it builds the release of the
// merge commit, says on the merged PR how far it will go, and runs the flow.
type Push struct {
	*Base
}

var _ githubapp.EventHandler = &Push{}

// Handles names the event.
func (h *Push) Handles() []string { return []string{"push"} }

// Handle runs the merge flow for a push to the default branch. It returns an
// error (so the delivery is retried) only when the release or the flow could
// not be carried out; Publish and Flow are idempotent, so a retry resumes. A
// deployment that ran and failed is said on the PR and not retried.
func (h *Push) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	if h.deps.Releases == nil {
		return nil
	}
	var ev github.PushEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding push event %s: %w", deliveryID, err)
	}
	branch := strings.TrimPrefix(ev.GetRef(), "refs/heads/")
	if ev.GetDeleted() || branch == ev.GetRef() || branch != ev.GetRepo().GetDefaultBranch() {
		return nil
	}
	if ev.GetCreated() || strings.Trim(ev.GetBefore(), "0") == "" {
		// A new branch merged nothing: there is no change to ship.
		return nil
	}
	ctx = h.withLogger(ctx, eventType, deliveryID)
	log := zerolog.Ctx(ctx)
	owner, repo := ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName()
	if owner == "" {
		owner = ev.GetRepo().GetOwner().GetName()
	}
	inst, sha, before := ev.GetInstallation().GetID(), ev.GetAfter(), ev.GetBefore()
	w, err := h.writer(inst, owner, repo)
	if err != nil {
		return err
	}
	gh := w.Client()
	in, err := h.input(ctx, gh, Target{InstallationID: inst, Owner: owner, Repo: repo, HeadSHA: sha, BaseRef: before})
	if err != nil {
		return fmt.Errorf("loading %s: %w", sha, err)
	}
	if in.ConfigErr != nil || in.Config == nil || len(in.Config.Environments) == 0 {
		log.Info().Str("sha", sha).AnErr("config_error", in.ConfigErr).Msg("no environments configured; nothing to deploy")
		return nil
	}
	m := Merge{InstallationID: inst, Owner: owner, Repo: repo, SHA: sha, Actor: ev.GetPusher().GetName(), Tree: in.Head, Config: in.Config}
	if m.Actor == "" {
		m.Actor = ev.GetSender().GetLogin()
	}
	m.CommittedAt = ev.GetHeadCommit().GetTimestamp().Time
	pr, err := h.mergedPR(ctx, gh, owner, repo, branch, sha)
	if err != nil {
		return err
	}
	if pr != nil {
		m.PR = pr.GetNumber()
		if by := pr.GetMergedBy().GetLogin(); by != "" {
			m.Actor = by
		}
		ref := PullRequestRef{InstallationID: inst, Owner: owner, Repo: repo, Number: m.PR, HeadSHA: pr.GetHead().GetSHA(), BaseRef: branch, BaseSHA: before}
		if m.Risk, err = h.releaseRisk(ctx, gh, ref); err != nil {
			return fmt.Errorf("deciding the risk of %s: %w", sha, err)
		}
		if m.Checks, err = h.checkStatuses(ctx, gh, owner, repo, ref.HeadSHA); err != nil {
			return err
		}
		if first := h.firstCommitTime(ctx, gh, owner, repo, m.PR); !first.IsZero() {
			m.CommittedAt = first
		}
	} else {
		// A direct push: no checks ran on a PR, so only the kinds it changes
		// count, and only the checks run at the commit itself gate it.
		m.Risk = policy.ClassifyRisk(nil, changedKinds(in))
		if m.Checks, err = h.checkStatuses(ctx, gh, owner, repo, sha); err != nil {
			return err
		}
	}
	id, err := h.deps.Releases.Publish(ctx, m)
	if err != nil {
		return fmt.Errorf("publishing the release of %s: %w", sha, err)
	}
	var commentID int64
	if m.PR != 0 {
		if commentID, err = w.Comment(ctx, m.PR, flowPlan(m, id)); err != nil {
			log.Warn().Err(err).Msg("could not comment on the merged pull request")
		}
	}
	out, err := h.deps.Releases.Flow(ctx, m, id, h.gate(m, deliveryID))
	if commentID != 0 {
		if cerr := w.UpdateComment(ctx, commentID, flowPlan(m, id)+"\n\n"+flowResult(out, err)); cerr != nil {
			log.Warn().Err(cerr).Msg("could not update the deploy comment")
		}
	}
	if err != nil {
		return fmt.Errorf("deploying release %s: %w", id, err)
	}
	if pr != nil && len(out.Deployed) > 0 {
		// The on-call person gets the same Roll back button a /promote offers.
		ref := PullRequestRef{InstallationID: inst, Owner: owner, Repo: repo, Number: m.PR, HeadSHA: pr.GetHead().GetSHA(), BaseRef: branch, Merged: true, MergeCommitSHA: sha}
		if err := h.offerRollback(ctx, w, ref, m.Config, out.Deployed[len(out.Deployed)-1]); err != nil {
			log.Warn().Err(err).Msg("could not offer the Roll back button")
		}
	}
	return nil
}

// gate decides, before the merge flow enters an environment, the same gates
// a /promote meets, as an automatic promotion: the checks the merged head
// passed (they are the release's: the merge commit's tree is what they
// approved), the previous environment, soak, a person's lock and freezes,
// the calendar's included. Every decision is appended to the audit log
// before anything deploys; a decision that cannot be recorded deploys nothing.
func (h *Push) gate(m Merge, delivery string) GateFunc {
	return func(ctx context.Context, g FlowGate) (string, error) {
		checks := make([]policy.CheckStatus, len(m.Checks))
		for i, c := range m.Checks {
			c.SHA = m.SHA
			checks[i] = c
		}
		gd, err := h.decideGates(ctx, policy.PromotionInput{Config: m.Config, Env: g.Env, Release: policy.Release{ID: g.ReleaseID, SHA: m.SHA, Risk: m.Risk},
			Checks: checks, Previous: g.Previous, Lock: g.Lock, Now: h.now()},
			policy.Event{Repo: m.Owner + "/" + m.Repo, PR: m.PR, Actor: m.Actor, Action: "auto-promote", Delivery: delivery})
		if err != nil {
			return "", err
		}
		if gd.Allowed {
			return "", nil
		}
		return strings.Join(gd.Reasons, "; "), nil
	}
}

// firstCommitTime is when the PR's first commit was made; zero when it
// cannot be read (lead time then starts at the merge).
func (h *Push) firstCommitTime(ctx context.Context, gh *github.Client, owner, repo string, number int) time.Time {
	var commits []*github.RepositoryCommit
	err := h.deps.Retry.Do(ctx, "listing the commits of the merged pull request", func(ctx context.Context) (*github.Response, error) {
		var resp *github.Response
		var err error
		commits, resp, err = gh.PullRequests.ListCommits(ctx, owner, repo, number, &github.ListOptions{PerPage: 1})
		return resp, err
	})
	if err != nil || len(commits) == 0 {
		zerolog.Ctx(ctx).Debug().Err(err).Int("pr", number).Msg("no first commit time for the merged pull request")
		return time.Time{}
	}
	c := commits[0].GetCommit()
	return c.GetAuthor().GetDate().Time
}

// mergedPR finds the closed pull request whose merge commit is sha; nil when none.
func (h *Push) mergedPR(ctx context.Context, gh *github.Client, owner, repo, base, sha string) (*github.PullRequest, error) {
	var prs []*github.PullRequest
	err := h.deps.Retry.Do(ctx, "listing merged pull requests", func(ctx context.Context) (*github.Response, error) {
		var resp *github.Response
		var err error
		prs, resp, err = gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: "closed", Base: base, Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 50}})
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	for _, pr := range prs {
		if pr.GetMergeCommitSHA() == sha {
			return pr, nil
		}
	}
	return nil, nil
}

func changedKinds(in *checks.Input) []string {
	var kinds []string
	for _, c := range in.Changes {
		for _, p := range []string{c.Path, c.PreviousPath} {
			if p == "" {
				continue
			}
			for _, comp := range in.Config.ComponentsFor(p) {
				kinds = append(kinds, comp.Kind)
			}
		}
	}
	return kinds
}

// flowPlan says how far the release will go on its own: every environment
// for a low-risk release, all but the last for a high-risk one, and never
// past an environment with auto_promote off.
func flowPlan(m Merge, releaseID string) string {
	envs := m.Config.EnvironmentNames()
	short := releaseID
	if len(short) > 12 {
		short = short[:12]
	}
	if ad := m.Config.Deploy.AutoDeploy; ad != nil && !*ad {
		return fmt.Sprintf("📦 Release `%s` built from `%.7s`; auto_deploy is off, so nothing deploys until `/promote %s`.", short, m.SHA, envs[0])
	}
	reach := envs
	stop := ""
	for i := range m.Config.Environments {
		env := &m.Config.Environments[i]
		last := i == len(envs)-1
		if (last && m.Risk.Level != policy.RiskLow) || !env.AutoPromotes() {
			reach, stop = envs[:i], env.Name
			break
		}
	}
	var b strings.Builder
	if stop == "" {
		fmt.Fprintf(&b, "🚀 **auto-deploying %s-risk release `%s`**: %s", m.Risk.Level, short, strings.Join(reach, " → "))
	} else {
		path := strings.Join(reach, " → ")
		if path == "" {
			path = "nothing"
		}
		fmt.Fprintf(&b, "⚠️ **%s risk: release `%s` stops before %s** — deploying %s, then waiting for `/promote %s`", m.Risk.Level, short, stop, path, stop)
	}
	fmt.Fprintf(&b, "\n\nBuilt from `%.7s`, merged by @%s.", m.SHA, m.Actor)
	if len(m.Risk.Reasons) > 0 {
		b.WriteString("\n\nWhy " + string(m.Risk.Level) + " risk:\n")
		for _, r := range m.Risk.Reasons {
			b.WriteString("- " + r + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func flowResult(out FlowOutcome, err error) string {
	var b strings.Builder
	if len(out.Deployed) > 0 {
		fmt.Fprintf(&b, "✅ Deployed to %s.", strings.Join(out.Deployed, ", "))
	}
	if out.Failed {
		fmt.Fprintf(&b, "\n\n❌ **The deployment to %s failed**, so the release goes no further: `%s`\n\nIt is not retried; a fix merged after it ships as a new release.", out.StoppedAt, out.Reason)
	} else if err != nil {
		fmt.Fprintf(&b, "\n\n❌ Stopped at %s: `%s`", out.StoppedAt, err.Error())
	} else if out.StoppedAt != "" {
		fmt.Fprintf(&b, "\n\n⏸️ Waiting before %s: %s.", out.StoppedAt, out.Reason)
	} else if out.Reason != "" {
		fmt.Fprintf(&b, "\n\n%s.", out.Reason)
	}
	return strings.TrimSpace(b.String())
}
