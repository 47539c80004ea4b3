package handlers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

// commandRun answers the commands of one comment (or one button press).
type commandRun struct {
	*Base
	w          *timeline.Writer
	pr         PullRequestRef
	cfg        *config.RepoConfig
	cfgProblem string
	actor      policy.Actor
	// membership is the team membership the actor's teams were read from.
	membership map[string][]string
	// commentID is the comment the commands came from; 0 for a button press.
	commentID int64
	// recordKey is where each command's once-only record is kept: the
	// comment's ID, or buttonRecordKey of a button press's delivery.
	recordKey int64
	delivery  string
}

// outcome is how one command ended.
type outcome struct {
	state      string // store.CommandDone, CommandRefused or CommandFailed
	body       string
	reasons    []string
	breakGlass bool
}

func done(body string, reasons ...string) outcome {
	return outcome{state: store.CommandDone, body: body, reasons: reasons}
}

func refused(body string, reasons ...string) outcome {
	return outcome{state: store.CommandRefused, body: body, reasons: reasons}
}

// item is what one reply answers: a parsed command, or every line of the
// comment that could not be understood.
type item struct {
	line  int
	cmd   *policy.Command
	perrs []policy.ParseError
}

// all runs the comment's commands in line order, each answered in its own
// reply, then reacts 🚀 when any command was done and 😕 when any was refused.
// Lines that could not be understood share one reply, placed at the first of
// them: a comment full of unknown "/x" lines gets one answer, not hundreds.
func (r *commandRun) all(ctx context.Context, cmds []policy.Command, perrs []policy.ParseError) error {
	var items []item
	for i := range cmds {
		items = append(items, item{line: cmds[i].Line, cmd: &cmds[i]})
	}
	if len(perrs) > 0 {
		items = append(items, item{line: perrs[0].Line, perrs: perrs})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].line < items[j].line })
	var anyDone, anyRefused bool
	var errs []error
	for _, it := range items {
		state, err := r.one(ctx, it)
		if err != nil {
			errs = append(errs, err)
		}
		switch state {
		case store.CommandDone:
			anyDone = true
		case store.CommandRefused, store.CommandFailed:
			anyRefused = true
		}
	}
	if r.commentID != 0 {
		if anyDone {
			errs = append(errs, r.w.React(ctx, r.commentID, "rocket"))
		}
		if anyRefused {
			errs = append(errs, r.w.React(ctx, r.commentID, "confused"))
		}
	}
	return errors.Join(errs...)
}

// one runs a single command line: once, even when the delivery is retried.
func (r *commandRun) one(ctx context.Context, it item) (string, error) {
	name, raw := "", ""
	if it.cmd != nil {
		name, raw = it.cmd.Name, it.cmd.Raw
	} else {
		name, raw = it.perrs[0].Command, "/"+it.perrs[0].Command
		if n := notUnderstood(it.perrs); n > 1 {
			raw += fmt.Sprintf(" and %d more line(s)", n-1)
		}
	}
	repo := r.pr.Owner + "/" + r.pr.Repo
	rec := store.CommandRecord{Repo: repo, CommentID: r.recordKey, Line: it.line, Name: name, Delivery: r.delivery, State: store.CommandRunning}
	if r.recordKey != 0 {
		prev, err := r.deps.Policy.Command(ctx, repo, r.recordKey, it.line)
		switch {
		case err == nil && prev.State != store.CommandRunning:
			return prev.State, nil // answered by an earlier attempt of this delivery
		case err == nil:
			rec.ReplyID = prev.ReplyID
			out := outcome{state: store.CommandFailed, body: errInterrupted.Error(), reasons: []string{errInterrupted.Error()}}
			return out.state, r.finish(ctx, it, rec, raw, out)
		case !errors.Is(err, store.ErrNotFound):
			return "", err
		}
	}
	id, err := r.w.Comment(ctx, r.pr.Number, r.header(raw, "⏳ working on it…"))
	if err != nil {
		return "", err
	}
	rec.ReplyID = id
	if r.recordKey != 0 {
		if err := r.deps.Policy.PutCommand(ctx, rec); err != nil {
			return "", err
		}
	}
	var out outcome
	if it.perrs != nil {
		out = parseErrors(it.perrs)
	} else {
		out = r.execute(ctx, *it.cmd, id)
	}
	return out.state, r.finish(ctx, it, rec, raw, out)
}

// finish writes the outcome to the reply, the command record and the audit log.
func (r *commandRun) finish(ctx context.Context, it item, rec store.CommandRecord, raw string, out outcome) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	status := map[string]string{store.CommandDone: "🚀 done", store.CommandRefused: "😕 refused", store.CommandFailed: "⚠️ failed"}[out.state]
	var errs []error
	if rec.ReplyID != 0 {
		errs = append(errs, r.w.UpdateComment(wctx, rec.ReplyID, r.header(raw, status)+"\n\n"+out.body))
	}
	rec.State = out.state
	if r.recordKey != 0 {
		errs = append(errs, r.deps.Policy.PutCommand(wctx, rec))
	}
	ev := policy.Event{Repo: rec.Repo, PR: r.pr.Number, Actor: r.actor.Login, Action: rec.Name, Delivery: r.delivery,
		Decision: out.state, BreakGlass: out.breakGlass, Membership: r.membership}
	if it.cmd != nil {
		ev.Env = it.cmd.TargetEnv(r.cfg)
		// The first reason is what was asked, argument by argument, so the
		// audit log reads without the inputs the hash stands for.
		asked := "asked: " + truncateRunes(it.cmd.Raw, maxAskedRunes)
		if args := it.cmd.Arguments(); args != "" {
			asked += " (" + truncateRunes(args, maxAskedRunes) + ")"
		}
		ev.Reasons = append(ev.Reasons, asked)
	}
	ev.Reasons = append(ev.Reasons, out.reasons...)
	var err error
	ev.InputsHash, err = policy.HashInputs(struct {
		Command   any          `json:"command"`
		Actor     policy.Actor `json:"actor"`
		PR        string       `json:"pr"`
		Head      string       `json:"head"`
		CommentID int64        `json:"comment_id"`
	}{commandOrError(it), r.actor, rec.Repo + fmt.Sprintf("#%d", r.pr.Number), r.pr.HeadSHA, r.commentID})
	errs = append(errs, err, r.audit(wctx, ev))
	zerolog.Ctx(ctx).Info().Str("command", rec.Name).Str("actor", r.actor.Login).Str("outcome", out.state).Strs("reasons", out.reasons).Msg("command answered")
	return errors.Join(errs...)
}

// maxAskedRunes bounds the command text an audit event keeps; a comment
// line can be long, and the event is read by people.
const maxAskedRunes = 500

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func commandOrError(it item) any {
	if it.cmd != nil {
		return it.cmd
	}
	return it.perrs
}

// notUnderstood counts the lines behind perrs, those left unlisted included.
func notUnderstood(perrs []policy.ParseError) int {
	n := len(perrs)
	for _, e := range perrs {
		n += e.More
	}
	return n
}

// parseErrors answers every line that could not be understood in one reply:
// one line alone with its usage, several as a list.
func parseErrors(perrs []policy.ParseError) outcome {
	if len(perrs) == 1 && perrs[0].More == 0 {
		e := perrs[0]
		return refused(fmt.Sprintf("%s\n\nUsage: `%s`", e.Msg, e.Usage), e.Msg)
	}
	var b strings.Builder
	reasons := make([]string, 0, len(perrs)+1)
	fmt.Fprintf(&b, "%d line(s) of this comment were not understood, so nothing on them ran:\n\n", notUnderstood(perrs))
	for _, e := range perrs {
		fmt.Fprintf(&b, "- line %d, `/%s`: %s (usage: `%s`)\n", e.Line, e.Command, e.Msg, e.Usage)
		reasons = append(reasons, fmt.Sprintf("line %d: /%s: %s", e.Line, e.Command, e.Msg))
		if e.More > 0 {
			fmt.Fprintf(&b, "- … and %d more line(s), not listed\n", e.More)
			reasons = append(reasons, fmt.Sprintf("and %d more line(s) not understood", e.More))
		}
	}
	b.WriteString("\n`/help` lists the commands.")
	return refused(b.String(), reasons...)
}

func (r *commandRun) header(raw, status string) string {
	return fmt.Sprintf("**`%s`** from @%s: %s", strings.ReplaceAll(raw, "`", "'"), r.actor.Login, status)
}

// execute authorizes and runs one parsed command.
func (r *commandRun) execute(ctx context.Context, cmd policy.Command, replyID int64) outcome {
	if r.cfg == nil {
		return refused(r.cfgProblem, r.cfgProblem)
	}
	auth := policy.Authorize(r.cfg, r.actor, cmd.Name, cmd.Env)
	if !auth.Allowed {
		body := "Not allowed: " + auth.Reason + "."
		if len(auth.Who) > 0 {
			body += fmt.Sprintf("\n\nWho may run `/%s` here: %s (from the base branch's `%s`).", cmd.Name, strings.Join(auth.Who, ", "), config.RepoConfigPath)
		}
		return refused(body, auth.Reason)
	}
	now := r.now()
	repo := r.pr.Owner + "/" + r.pr.Repo
	switch cmd.Name {
	case "help":
		return done(policy.HelpTable(r.cfg), auth.Reason)
	case "freeze":
		end, err := cmd.FreezeEnd(now)
		if err != nil {
			return refused(err.Error(), err.Error())
		}
		f := policy.Freeze{Env: cmd.Env, By: r.actor.Login, Reason: cmd.Reason, Since: now, Until: end}
		if _, err := r.deps.Policy.AddFreeze(ctx, repo, f); err != nil {
			return outcome{state: store.CommandFailed, body: "The freeze could not be recorded: " + err.Error(), reasons: []string{err.Error()}}
		}
		body := fmt.Sprintf("❄️ **%s is frozen until %s** by @%s", cmd.Env, end.UTC().Format(time.RFC3339), r.actor.Login)
		if cmd.Reason != "" {
			body += ": " + cmd.Reason
		}
		body += fmt.Sprintf(".\n\nEvery deploy to %s stops at the freeze gate until then; `/unfreeze %s` lifts it.", cmd.Env, cmd.Env)
		return done(body, auth.Reason, fmt.Sprintf("frozen until %s", end.UTC().Format(time.RFC3339)))
	case "unfreeze":
		n, err := r.deps.Policy.LiftFreezes(ctx, repo, cmd.Env, r.actor.Login, now)
		if err != nil {
			return outcome{state: store.CommandFailed, body: "The freeze could not be lifted: " + err.Error(), reasons: []string{err.Error()}}
		}
		var still []string
		for _, w := range policy.ActiveFreezes(r.cfg, nil, cmd.Env, now) {
			still = append(still, fmt.Sprintf("%s until %s", w.Name, w.Until.UTC().Format(time.RFC3339)))
		}
		if n == 0 {
			body := fmt.Sprintf("%s has no `/freeze` in force.", cmd.Env)
			if len(still) > 0 {
				body += " Calendar freezes from the config stay: " + strings.Join(still, "; ") + "."
			}
			return refused(body, "no /freeze in force")
		}
		body := fmt.Sprintf("🌤️ Lifted %d freeze(s) on %s.", n, cmd.Env)
		if len(still) > 0 {
			body += " Calendar freezes from the config stay: " + strings.Join(still, "; ") + "."
		}
		return done(body, auth.Reason, fmt.Sprintf("lifted %d freeze(s)", n))
	}
	if r.deps.Operations == nil {
		why := noOperations().(*Refusal).Reason
		return refused(strings.ToUpper(why[:1])+why[1:]+".", why)
	}
	req := OpRequest{PR: r.pr, Actor: r.actor, Command: cmd, Config: r.cfg, DeliveryID: r.delivery, Progress: r.progress(replyID, cmd.Raw)}
	var bg outcome
	if cmd.BreakGlass != "" && cmd.Name != "promote" {
		// Promotion applies break-glass gate by gate; other commands take it whole.
		a := policy.AuthorizeBreakGlass(r.cfg, r.actor, cmd.TargetEnv(r.cfg), cmd.BreakGlass)
		if !a.Allowed {
			return refused("Break-glass refused: "+a.Reason+".", "break-glass refused: "+a.Reason)
		}
		req.Gates = &policy.GateDecision{Allowed: true, Env: cmd.TargetEnv(r.cfg), BreakGlass: true, BreakGlassBy: r.actor.Login, BreakGlassReason: cmd.BreakGlass}
		bg = outcome{breakGlass: true, body: fmt.Sprintf("> [!CAUTION]\n> **BREAK-GLASS** by @%s: %s\n\n", r.actor.Login, cmd.BreakGlass)}
	}
	var result string
	var err error
	switch cmd.Name {
	case "promote":
		return r.promote(ctx, req)
	case "rollback":
		result, err = r.deps.Operations.Rollback(ctx, req)
	case "backfill":
		result, err = r.deps.Operations.Backfill(ctx, req)
	case "plan":
		result, err = r.deps.Operations.Plan(ctx, req)
	case "status":
		result, err = r.deps.Operations.Status(ctx, req)
	case "lock":
		result, err = r.deps.Operations.Lock(ctx, req)
	case "unlock":
		result, err = r.deps.Operations.Unlock(ctx, req)
	default:
		return refused(fmt.Sprintf("`/%s` is not a command here.", cmd.Name), "unknown command")
	}
	out := opOutcome(result, err, auth.Reason)
	out.body = bg.body + out.body
	out.breakGlass = bg.breakGlass
	return out
}

// promote evaluates every gate and, when they pass, hands the release to Operations.
func (r *commandRun) promote(ctx context.Context, req OpRequest) outcome {
	env := req.Command.Env
	gh := r.w.Client()
	st, err := r.deps.Operations.PromotionState(ctx, r.pr, env)
	if err != nil {
		return opOutcome("", err, "")
	}
	if st.Release.SHA == "" {
		st.Release.SHA = r.pr.HeadSHA
	}
	risk, err := r.releaseRisk(ctx, gh, r.pr)
	if err != nil {
		return outcome{state: store.CommandFailed, body: "The release's risk could not be decided: " + err.Error(), reasons: []string{err.Error()}}
	}
	st.Release.Risk = risk
	statuses, err := r.checkStatuses(ctx, gh, r.pr.Owner, r.pr.Repo, st.Release.SHA)
	if err != nil {
		return outcome{state: store.CommandFailed, body: "The check runs could not be read: " + err.Error(), reasons: []string{err.Error()}}
	}
	var note string
	if st.Release.SHA != r.pr.HeadSHA && r.pr.Merged {
		// A release built from the merge commit carries what the PR's merged
		// head passed — its checks and its owners' approval — as the merge
		// flow's gates do; a check that also ran at the merge commit speaks
		// for itself.
		head, err := r.checkStatuses(ctx, gh, r.pr.Owner, r.pr.Repo, r.pr.HeadSHA)
		if err != nil {
			return outcome{state: store.CommandFailed, body: "The check runs could not be read: " + err.Error(), reasons: []string{err.Error()}}
		}
		var carried []string
		for _, c := range head {
			if hasCheck(statuses, c.Name) {
				continue
			}
			c.SHA = st.Release.SHA
			statuses = append(statuses, c)
			carried = append(carried, "`"+c.Name+"`")
		}
		if len(carried) > 0 {
			note = fmt.Sprintf(" The results of %s are those of the PR's head `%.7s`, which was merged as `%.7s`.", strings.Join(carried, ", "), r.pr.HeadSHA, st.Release.SHA)
		}
	}
	actor := r.actor
	gd, auditErr := r.decideGates(ctx, policy.PromotionInput{Config: r.cfg, Env: env, Release: st.Release, Checks: statuses, Previous: st.Previous,
		Lock: st.Lock, Actor: &actor, BreakGlass: req.Command.BreakGlass, Now: r.now()},
		policy.Event{Repo: r.pr.Owner + "/" + r.pr.Repo, PR: r.pr.Number, Actor: actor.Login, Action: "gate", Delivery: r.delivery, Membership: r.membership})
	riskLine := fmt.Sprintf("Release `%s` at `%.7s` is **%s risk**", orDefault(st.Release.ID, "(not built yet)"), st.Release.SHA, risk.Level)
	if len(risk.Reasons) > 0 {
		riskLine += ": " + strings.Join(risk.Reasons, "; ")
	}
	body := riskLine + "." + note + "\n\n" + gd.Summary()
	if auditErr != nil {
		return outcome{state: store.CommandFailed, body: body + "\n\nThe gate decision could not be made or recorded, so nothing was deployed: " + auditErr.Error(), reasons: []string{auditErr.Error()}}
	}
	if !gd.Allowed {
		return outcome{state: store.CommandRefused, body: "Not promoted: a gate failed.\n\n" + body, reasons: gd.Reasons}
	}
	req.Gates, req.Risk = &gd, risk
	result, err := r.deps.Operations.Promote(ctx, req)
	out := opOutcome(result, err, "every gate passed")
	if out.state == store.CommandDone {
		if err := r.offerRollback(ctx, r.w, r.pr, r.cfg, env); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Str("env", env).Msg("could not offer the Roll back button")
		}
	}
	out.body = body + "\n\n" + out.body
	out.breakGlass = gd.BreakGlass
	if gd.BreakGlass {
		out.reasons = append(out.reasons, gd.Reasons...)
	}
	return out
}

// decideGates decides a promotion — a person's /promote, or the merge
// flow's automatic one (in.Actor nil) — with the freezes on record, and
// appends the decision to the audit log as ev, with what it looked at. The
// decision comes back even when it could not be recorded, with the error:
// nothing may deploy on an unrecorded decision.
func (b *Base) decideGates(ctx context.Context, in policy.PromotionInput, ev policy.Event) (policy.GateDecision, error) {
	if b.deps.Policy != nil {
		fs, err := b.deps.Policy.Freezes(ctx, ev.Repo, in.Env, in.Now)
		if err != nil {
			return policy.GateDecision{Env: in.Env}, fmt.Errorf("reading freezes: %w", err)
		}
		in.Freezes = fs
	}
	gd := policy.EvaluatePromotion(in)
	hash, err := policy.HashInputs(struct {
		Release  policy.Release       `json:"release"`
		Checks   []policy.CheckStatus `json:"checks"`
		Previous *policy.EnvState     `json:"previous"`
		Lock     *policy.Lock         `json:"lock"`
		Freezes  []policy.Freeze      `json:"freezes"`
	}{in.Release, in.Checks, in.Previous, in.Lock, in.Freezes})
	if err != nil {
		return gd, err
	}
	ev.Env, ev.InputsHash, ev.Reasons, ev.BreakGlass = in.Env, hash, gateReasons(gd), gd.BreakGlass
	ev.Decision = "allowed"
	if !gd.Allowed {
		ev.Decision = "refused"
	}
	if err := b.audit(ctx, ev); err != nil {
		return gd, fmt.Errorf("recording the gate decision: %w", err)
	}
	return gd, nil
}

func gateReasons(gd policy.GateDecision) []string {
	if len(gd.Reasons) > 0 {
		return gd.Reasons
	}
	var out []string
	for _, g := range gd.Gates {
		out = append(out, g.Name+": "+g.Reason)
	}
	return out
}

// opOutcome turns an Operations answer into an outcome.
func opOutcome(result string, err error, why string) outcome {
	if err == nil {
		return done(result, why)
	}
	if ref, ok := asRefusal(err); ok {
		return refused("Not done: "+ref.Error()+".", ref.Error())
	}
	return outcome{state: store.CommandFailed, body: "Failed: `" + err.Error() + "`", reasons: []string{err.Error()}}
}

// progress lets Operations replace the reply while it works.
func (r *commandRun) progress(replyID int64, raw string) func(context.Context, string) {
	return func(ctx context.Context, md string) {
		if replyID == 0 {
			return
		}
		if err := r.w.UpdateComment(ctx, replyID, r.header(raw, "⏳ working on it…")+"\n\n"+md); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not update the command's reply")
		}
	}
}

// releaseRisk classifies the PR's change from the checks' signals at its
// head and the kinds of the components it changes.
func (b *Base) releaseRisk(ctx context.Context, gh *github.Client, pr PullRequestRef) (policy.Risk, error) {
	in, err := b.input(ctx, gh, Target{InstallationID: pr.InstallationID, Owner: pr.Owner, Repo: pr.Repo, HeadSHA: pr.HeadSHA, BaseRef: orDefault(pr.BaseSHA, pr.BaseRef)})
	if err != nil {
		return policy.Risk{}, err
	}
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
	results, err := b.deps.Policy.CheckResults(ctx, pr.Owner+"/"+pr.Repo, pr.HeadSHA)
	if err != nil {
		return policy.Risk{}, err
	}
	var signals []policy.Signal
	for _, r := range results {
		signals = append(signals, r.Signals...)
	}
	return policy.ClassifyRisk(signals, kinds), nil
}

// checkStatuses lists the latest check run of each name at sha.
func (b *Base) checkStatuses(ctx context.Context, gh *github.Client, owner, repo, sha string) ([]policy.CheckStatus, error) {
	var out []policy.CheckStatus
	opts := &github.ListCheckRunsOptions{Filter: github.Ptr("latest"), ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var res *github.ListCheckRunsResults
		var resp *github.Response
		err := b.deps.Retry.Do(ctx, "listing check runs at "+sha, func(ctx context.Context) (*github.Response, error) {
			var err error
			res, resp, err = gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, opts)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, cr := range res.CheckRuns {
			if b.impersonates(cr) {
				continue
			}
			out = append(out, policy.CheckStatus{Name: cr.GetName(), SHA: cr.GetHeadSHA(), Status: cr.GetStatus(), Conclusion: cr.GetConclusion()})
		}
		if resp == nil || resp.NextPage == 0 {
			return latestPerName(out), nil
		}
		opts.Page = resp.NextPage
	}
}

// impersonates reports a run named like one of Conveyor's that another app
// created: a workflow with checks: write could otherwise post a green
// conveyor/policy at a PR's head and walk past the owners' approval.
func (b *Base) impersonates(cr *github.CheckRun) bool {
	return b.deps.AppID != 0 && strings.HasPrefix(cr.GetName(), policy.CheckPrefix) && cr.GetApp().GetID() != b.deps.AppID
}

func hasCheck(cs []policy.CheckStatus, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

// latestPerName keeps the first listed run of each name: GitHub lists the
// newest first.
func latestPerName(in []policy.CheckStatus) []policy.CheckStatus {
	seen := map[string]bool{}
	var out []policy.CheckStatus
	for _, c := range in {
		if !seen[c.Name] {
			seen[c.Name] = true
			out = append(out, c)
		}
	}
	return out
}
