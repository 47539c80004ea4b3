package handlers

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/timeline"
)

// commandAction prefixes the identifiers of buttons that run a command:
// "c:p:<env>" promotes, "c:r:<env>" rolls back, "c:s" is /status. GitHub
// allows 20 characters, so the verbs are one letter, leaving 16 for the
// environment's name ("production" fits).
const commandAction = "c:"

// legacyCommandAction prefixed the identifiers of buttons offered before
// they were shortened; a press on such a button still runs.
const legacyCommandAction = "cmd:"

// buttonVerbs maps an identifier's verb to its command.
var buttonVerbs = map[string]string{"p": "promote", "r": "rollback", "s": "status"}

// buttonCommand is the command text (without "/") a button identifier
// stands for, or "" when id is not a command button.
func buttonCommand(id string) string {
	if text, ok := strings.CutPrefix(id, legacyCommandAction); ok {
		return text
	}
	rest, ok := strings.CutPrefix(id, commandAction)
	if !ok {
		return ""
	}
	verb, env, _ := strings.Cut(rest, ":")
	cmd, ok := buttonVerbs[verb]
	if !ok {
		return ""
	}
	return strings.TrimSpace(cmd + " " + env)
}

// commandButtons offers the common commands as buttons on an approved PR's
// conveyor/policy run: promote to the first two environments of the chain
// (prod stays a deliberate `/promote prod`), and status. Once the PR's
// release runs in deployed (after a promote), the run offers "Roll back
// <deployed>" first and promotes only further along the chain. A press runs
// the command exactly as a comment would, authorized for whoever pressed it.
// GitHub shows at most three buttons, which this never exceeds.
func (b *Base) commandButtons(envs []string, deployed string) []timeline.Action {
	if b.deps.Operations == nil {
		return nil
	}
	var out []timeline.Action
	if deployed != "" {
		label := fitLabel("Roll back "+deployed, "Roll back")
		if a := (timeline.Action{Label: label, Description: "Run /rollback " + deployed, Identifier: commandAction + "r:" + deployed}); a.Validate() == nil {
			out = append(out, a)
		}
	}
	past := deployed == ""
	for _, env := range envs[:min(2, len(envs))] {
		if !past {
			past = env == deployed
			continue
		}
		a := timeline.Action{Label: fitLabel("Promote to "+env, "Promote "+env, "Promote"), Description: "Run /promote " + env, Identifier: commandAction + "p:" + env}
		if a.Validate() == nil {
			out = append(out, a)
		}
	}
	return append(out, timeline.Action{Label: "Status", Description: "Run /status", Identifier: commandAction + "s"})
}

// fitLabel is the first of labels within GitHub's 20 characters for a
// button; the description names the environment in full.
func fitLabel(labels ...string) string {
	for _, l := range labels {
		if len(l) <= 20 {
			return l
		}
	}
	return labels[len(labels)-1]
}

// offerRollback puts "Roll back <env>" on the PR's approved conveyor/policy
// run once the PR's release runs in env, keeping the decision the run shows.
// The run is not decided again: after a merge the PR's change is already on
// the base branch, and deciding it afresh would find nothing to approve.
func (b *Base) offerRollback(ctx context.Context, w *timeline.Writer, pr PullRequestRef, cfg *config.RepoConfig, env string) error {
	if cfg == nil {
		return nil
	}
	mu := b.policyLock(pr.Owner + "/" + pr.Repo + "@" + pr.HeadSHA)
	mu.Lock()
	defer mu.Unlock()
	id, status, err := b.findPolicyRun(ctx, w, policyTarget{Owner: pr.Owner, Repo: pr.Repo, SHA: pr.HeadSHA})
	if err != nil || id == 0 || status != timeline.StatusCompleted {
		return err
	}
	var run *github.CheckRun
	err = b.deps.Retry.Do(ctx, fmt.Sprintf("reading check run %d", id), func(ctx context.Context) (resp *github.Response, err error) {
		run, resp, err = w.Client().Checks.GetCheckRun(ctx, pr.Owner, pr.Repo, id)
		return resp, err
	})
	if err != nil {
		return err
	}
	if run.GetConclusion() != string(checks.Success) {
		return nil // buttons are only ever offered on an approved PR
	}
	out := run.GetOutput()
	res := checks.Result{Name: policy.PolicyCheckName, Conclusion: checks.Success, Title: out.GetTitle(), Summary: out.GetSummary(), Text: out.GetText()}
	return w.CompleteCheckRun(ctx, id, res, b.commandButtons(cfg.EnvironmentNames(), env)...)
}

// buttonRecordKey is where a button press is recorded among the commands
// run from comments. A press has no comment, so its delivery stands in: a
// redelivered press finds the record and does not run again. Keys are
// negative so they never meet a comment's ID.
func buttonRecordKey(deliveryID string) int64 {
	h := fnv.New64a()
	h.Write([]byte(deliveryID))
	return -int64(h.Sum64()>>1) - 1
}

// commandPress runs the command behind a button on the conveyor/policy run.
// It reports false when the press is not a command button.
func (h *CheckRun) commandPress(ctx context.Context, logger zerolog.Logger, ev *github.CheckRunEvent, deliveryID string) (bool, error) {
	id := ev.GetRequestedAction().Identifier
	text := buttonCommand(id)
	if text == "" || ev.GetCheckRun().GetName() != policy.PolicyCheckName {
		return false, nil
	}
	if !h.policyEnabled() {
		return true, nil
	}
	cmds, perrs := policy.ParseCommands("/" + text)
	if len(cmds) != 1 || len(perrs) > 0 {
		logger.Warn().Str("action", id).Msg("button names no command; ignored")
		return true, nil
	}
	prs := ev.GetCheckRun().PullRequests
	if len(prs) == 0 {
		logger.Info().Str("action", id).Msg("button pressed on a run with no pull request; ignored")
		return true, nil
	}
	owner, repo := ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName()
	login := ev.GetSender().GetLogin()
	if ev.GetSender().GetType() == "Bot" {
		return true, nil
	}
	w, err := h.writer(ev.GetInstallation().GetID(), owner, repo)
	if err != nil {
		return true, err
	}
	gh := w.Client()
	permission, err := h.permission(ctx, gh, owner, repo, login)
	if err != nil {
		return true, err
	}
	if !policy.CanWrite(permission) {
		logger.Info().Str("user", login).Msg("button press ignored: no write access")
		return true, nil
	}
	pr, err := h.pullRequest(ctx, gh, owner, repo, prs[0].GetNumber())
	if err != nil {
		return true, err
	}
	ref := PullRequestRef{InstallationID: ev.GetInstallation().GetID(), Owner: owner, Repo: repo, Number: pr.GetNumber(), Author: pr.GetUser().GetLogin(),
		HeadSHA: pr.GetHead().GetSHA(), BaseRef: pr.GetBase().GetRef(), BaseSHA: pr.GetBase().GetSHA(), Merged: pr.GetMerged(), MergeCommitSHA: pr.GetMergeCommitSHA()}
	if ref.HeadSHA != ev.GetCheckRun().GetHeadSHA() {
		_, err := w.Comment(ctx, ref.Number, fmt.Sprintf("**`/%s`** from @%s (button): 😕 refused\n\nThe button was on `%.7s`, which is no longer the head of this PR; use the button on the latest `%s` run.",
			text, login, ev.GetCheckRun().GetHeadSHA(), policy.PolicyCheckName))
		return true, err
	}
	cfg, problem := h.baseConfig(ctx, gh, ref)
	actor, relied, err := h.actor(ctx, gh, cfg, owner, login, permission)
	if err != nil {
		return true, err
	}
	cmds[0].Raw += " (button)"
	run := &commandRun{Base: h.Base, w: w, pr: ref, cfg: cfg, cfgProblem: problem, actor: actor, membership: relied, delivery: deliveryID,
		recordKey: buttonRecordKey(deliveryID)}
	return true, run.all(ctx, cmds, nil)
}
