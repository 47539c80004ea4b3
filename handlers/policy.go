package handlers

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/contracts/odcs"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

// codeownersPaths are where GitHub looks for CODEOWNERS, in its order.
var codeownersPaths = [...]string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// policyTarget is one decision of the conveyor/policy check.
type policyTarget struct {
	InstallationID int64
	Owner, Repo    string
	Number         int
	// SHA is the commit the run is written on: the PR's head, or a merge group's head.
	SHA string
	// PRHead is the PR's head commit, which approvals are judged against.
	PRHead string
	// BaseRef is the base branch (name or tip SHA) whose config and CODEOWNERS govern.
	BaseRef string
	Author  string
	// Sender is who caused the evaluation (pushed, reviewed, changed a team).
	Sender     string
	DeliveryID string
	// In is the change when the caller has already loaded it (SHA against BaseRef).
	In *checks.Input
	// RunID is the conveyor/policy run already created at SHA, or 0 to find or create one.
	RunID int64
}

func (pt policyTarget) fullName() string { return pt.Owner + "/" + pt.Repo }

// policyEnabled reports whether the server keeps what the policy check needs.
func (b *Base) policyEnabled() bool { return b.deps.Policy != nil }

// startPolicyRun creates the conveyor/policy run at sha in progress, so the
// PR shows it waiting while the other checks run.
func (b *Base) startPolicyRun(ctx context.Context, w *timeline.Writer, t Target) int64 {
	id, err := w.CreateCheckRun(ctx, t.HeadSHA, policy.PolicyCheckName, timeline.ExternalID(policy.PolicyCheckName+"@"+t.DeliveryID), timeline.DetailsURL(b.detailsURL(t, policy.PolicyCheckName)))
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not create the policy check run; it is created when decided")
		return 0
	}
	if err := w.StartCheckRun(ctx, id); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not mark the policy check run in progress")
	}
	return id
}

// recordResults keeps each check's signals and approval requirements at sha,
// so a review or a command can decide without running the checks again. A
// requirement bound to a subject (a plan's hash) keeps the time the subject
// came into force at sha while the checks keep producing it; a new subject
// (a plan regenerated at the same commit) starts from now, so approvals that
// name no subject and were given before it do not carry over to it.
func (b *Base) recordResults(ctx context.Context, repo, sha string, results []checks.Result) error {
	var errs []error
	prev, err := b.deps.Policy.CheckResults(ctx, repo, sha)
	if err != nil {
		// Without the earlier record every subject starts now: stricter, never looser.
		errs = append(errs, err)
	}
	known := subjectsSince(prev)
	now := subjectClock(b.now())
	for _, r := range results {
		approvals := make([]policy.ApprovalRequirement, len(r.Approvals))
		for i, a := range r.Approvals {
			if a.Subject != "" {
				a.Since = now
				if t, ok := known[a.Subject]; ok {
					a.Since = t
				}
			}
			approvals[i] = a
		}
		rec := store.CheckRecord{Check: r.Name, Conclusion: string(r.Conclusion), Signals: r.Signals, Approvals: approvals, At: b.now()}
		if err := b.deps.Policy.PutCheckResult(ctx, repo, sha, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// subjectsSince maps each subject recorded in records to when it came into force.
func subjectsSince(records []store.CheckRecord) map[string]time.Time {
	out := map[string]time.Time{}
	for _, r := range records {
		for _, a := range r.Approvals {
			if a.Subject == "" || a.Since.IsZero() {
				continue
			}
			if t, ok := out[a.Subject]; !ok || a.Since.Before(t) {
				out[a.Subject] = a.Since
			}
		}
	}
	return out
}

// subjectClock rounds t up to the whole second. GitHub stamps a review's
// submitted_at in whole seconds, so a review given in the same second a
// subject was recorded, but before it, would otherwise look given after it.
func subjectClock(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// evaluatePolicy decides the conveyor/policy check for pt and writes it: the
// run is completed as success when every owner group approved, as
// action_required while approvals are missing, and as failure when an owner
// requested changes or the decision could not be made. It never reports
// success it did not decide.
func (b *Base) evaluatePolicy(ctx context.Context, w *timeline.Writer, pt policyTarget) error {
	mu := b.policyLock(pt.fullName() + "@" + pt.SHA)
	mu.Lock()
	defer mu.Unlock()
	logger := zerolog.Ctx(ctx).With().Str("check", policy.PolicyCheckName).Str("sha", pt.SHA).Int("pr", pt.Number).Logger()
	if pt.Number > 0 && (pt.Author == "" || pt.PRHead == "") {
		// The author's own approval never counts, so the author must be known.
		if pr, err := b.pullRequest(ctx, w.Client(), pt.Owner, pt.Repo, pt.Number); err == nil {
			pt.Author = pr.GetUser().GetLogin()
			pt.PRHead = orDefault(pt.PRHead, pr.GetHead().GetSHA())
			pt.BaseRef = orDefault(pt.BaseRef, pr.GetBase().GetRef())
		} else {
			logger.Warn().Err(err).Msg("could not read the pull request")
			pt.PRHead = "" // decided as a failure below
		}
	}

	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	runID := pt.RunID
	if runID == 0 {
		id, status, err := b.findPolicyRun(wctx, w, pt)
		if err != nil {
			return err
		}
		if status == timeline.StatusQueued || status == timeline.StatusInProgress {
			// The checks at this commit are still running, and the requirements
			// they raise are not known yet; their evaluation decides the policy
			// when they finish, reading this review too.
			logger.Info().Msg("checks still running at this commit; the policy is decided when they finish")
			return nil
		}
		runID = id
	}
	d, org, inputsHash, envs, cause := b.decideApprovals(ctx, w.Client(), pt)
	res := policyResult(d, org, cause)
	var actions []timeline.Action
	if d.State == policy.StateSuccess && cause == nil {
		actions = b.commandButtons(envs, "")
	}
	if runID == 0 {
		var err error
		runID, err = w.CreateCheckRun(wctx, pt.SHA, policy.PolicyCheckName, timeline.ExternalID(policy.PolicyCheckName+"@"+pt.DeliveryID),
			timeline.DetailsURL(b.detailsURL(Target{Owner: pt.Owner, Repo: pt.Repo, HeadSHA: pt.SHA}, policy.PolicyCheckName)))
		if err != nil {
			return err
		}
	}
	if err := w.CompleteCheckRun(wctx, runID, res, actions...); err != nil {
		return err
	}
	logger.Info().Str("state", d.State).Str("conclusion", string(res.Conclusion)).Msg("policy decided")

	var teams []string
	for _, g := range d.Groups {
		for _, t := range g.Teams {
			teams = append(teams, teamFor(t, org).String())
		}
	}
	var errs []error
	if pt.Number > 0 {
		errs = append(errs, b.deps.Policy.PutDecision(wctx, store.DecisionRecord{Repo: pt.fullName(), PR: pt.Number, InstallationID: pt.InstallationID,
			SHA: pt.SHA, State: d.State, Teams: uniqueStrings(teams), At: b.now()}))
	}
	reasons := d.Reasons
	if cause != nil {
		reasons = append([]string{"could not decide: " + cause.Error()}, reasons...)
	}
	errs = append(errs, b.audit(wctx, policy.Event{Repo: pt.fullName(), PR: pt.Number, Actor: orDefault(pt.Sender, "conveyor"), Action: "policy",
		Delivery: pt.DeliveryID, InputsHash: inputsHash, Decision: d.State, Reasons: reasons, Membership: qualifiedMembership(d.Membership, org)}))
	return errors.Join(errs...)
}

// decideApprovals gathers the inputs and calls policy.EvaluateApprovals. A
// non-nil cause means the decision could not be made; d is then a failure.
func (b *Base) decideApprovals(ctx context.Context, gh *github.Client, pt policyTarget) (d policy.ApprovalDecision, org, inputsHash string, envs []string, cause error) {
	fail := func(err error) (policy.ApprovalDecision, string, string, []string, error) {
		return policy.ApprovalDecision{State: policy.StateFailure, HeadSHA: pt.PRHead, Reasons: []string{err.Error()}}, org, "", nil, err
	}
	org = pt.Owner
	if pt.Number == 0 || pt.PRHead == "" {
		return fail(errors.New("no pull request is known for this commit, so no approvals can be counted"))
	}
	in := pt.In
	if in == nil {
		var err error
		if in, err = b.input(ctx, gh, Target{InstallationID: pt.InstallationID, Owner: pt.Owner, Repo: pt.Repo, HeadSHA: pt.PRHead, BaseRef: pt.BaseRef}); err != nil {
			return fail(fmt.Errorf("loading the change: %w", err))
		}
	}
	if in.ConfigErr != nil {
		return fail(fmt.Errorf("the base branch's %s is invalid, so ownership cannot be decided: %v", config.RepoConfigPath, in.ConfigErr))
	}
	cfg := in.Config
	if cfg.Teams.Org != "" {
		org = cfg.Teams.Org
	}
	var files []string
	for _, c := range in.Changes {
		files = append(files, c.Path)
		if c.PreviousPath != "" {
			files = append(files, c.PreviousPath)
		}
	}
	co, err := b.codeowners(ctx, gh, pt)
	if err != nil {
		return fail(err)
	}
	results, err := b.deps.Policy.CheckResults(ctx, pt.fullName(), pt.SHA)
	if err != nil {
		return fail(err)
	}
	var reqs []policy.ApprovalRequirement
	for _, r := range results {
		reqs = append(reqs, r.Approvals...)
	}
	if pt.SHA != pt.PRHead && len(reqs) > 0 {
		// A queued commit's checks record its subjects after every review. A
		// subject the PR's head already had keeps the time it came into force
		// there, where the reviewers saw it; a different one (the plan changed
		// with the queue) does not take the head's approvals that name no subject.
		headResults, err := b.deps.Policy.CheckResults(ctx, pt.fullName(), pt.PRHead)
		if err != nil {
			return fail(err)
		}
		atHead := subjectsSince(headResults)
		for i := range reqs {
			if t, ok := atHead[reqs[i].Subject]; ok && reqs[i].Subject != "" {
				reqs[i].Since = t
			}
		}
	}
	reviews, err := b.reviews(ctx, gh, pt)
	if err != nil {
		return fail(err)
	}
	contracts, err := b.contractTeams(ctx, gh, pt, in)
	if err != nil {
		return fail(err)
	}
	ai := policy.ApprovalInput{Files: uniqueStrings(files), Codeowners: co, Ownership: cfg.Ownership, Org: org, Requirements: reqs,
		Contracts: contracts, Author: pt.Author, HeadSHA: pt.PRHead, Reviews: reviews}
	// The first pass names the teams in play; only those are resolved.
	var teams []string
	for _, g := range policy.EvaluateApprovals(ai).Groups {
		teams = append(teams, g.Teams...)
	}
	if ai.Membership, err = b.membership(ctx, gh, org, uniqueStrings(teams)); err != nil {
		return fail(fmt.Errorf("reading team membership: %w", err))
	}
	d = policy.EvaluateApprovals(ai)
	inputsHash, err = policy.HashInputs(struct {
		Files        []string                     `json:"files"`
		Author       string                       `json:"author"`
		Head         string                       `json:"head"`
		Reviews      []policy.Review              `json:"reviews"`
		Requirements []policy.ApprovalRequirement `json:"requirements"`
		Contracts    []policy.ContractTeams       `json:"contracts"`
		Ownership    config.Ownership             `json:"ownership"`
		Membership   policy.Membership            `json:"membership"`
	}{ai.Files, ai.Author, ai.HeadSHA, ai.Reviews, ai.Requirements, ai.Contracts, ai.Ownership, ai.Membership})
	if err != nil {
		return fail(err)
	}
	return d, org, inputsHash, cfg.EnvironmentNames(), nil
}

// contractTeams names the teams of every data contract the change touches.
// A file is a contract when its merge-base or head version says
// `kind: DataContract`. The teams come from the version on the base branch,
// read at its tip like CODEOWNERS: a PR that removes a consumer from a
// contract still needs that consumer's approval. Only when the base branch
// has no such contract (or one naming no team) do the PR's teams count.
// Nothing is read when `ownership.contract_consumers` is off.
func (b *Base) contractTeams(ctx context.Context, gh *github.Client, pt policyTarget, in *checks.Input) ([]policy.ContractTeams, error) {
	if on := in.Config.Ownership.ContractConsumers; on != nil && !*on {
		return nil, nil
	}
	var paths []string
	for _, c := range in.Changes {
		paths = append(paths, c.Path, c.PreviousPath)
	}
	var out []policy.ContractTeams
	for _, p := range uniqueStrings(paths) {
		if !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml") {
			continue
		}
		headData, headErr := readTree(in.Head, p)
		if !odcs.IsContract(headData) && !odcs.IsContract(orEmpty(readTree(in.Base, p))) {
			continue
		}
		baseData, found, err := b.readFile(ctx, gh, pt.Owner, pt.Repo, p, pt.BaseRef)
		if err != nil {
			return nil, fmt.Errorf("reading contract %s on the base branch: %w", p, err)
		}
		ct := policy.ContractTeams{Path: p}
		if found {
			ct = contractTeamsOf(p, baseData)
		}
		if ct.Owner == "" && len(ct.Consumers) == 0 && headErr == nil {
			ct = contractTeamsOf(p, headData)
			ct.FromHead = true
		}
		out = append(out, ct)
	}
	return out, nil
}

// contractTeamsOf reads the teams a contract names. A contract with problems
// still names what could be read; the conveyor/contracts check reports the rest.
func contractTeamsOf(path string, data []byte) policy.ContractTeams {
	c, _ := odcs.Parse(path, data)
	name := c.Name
	if name == "" {
		name = c.ID
	}
	return policy.ContractTeams{Path: path, Name: name, Owner: c.OwnerTeam, Consumers: c.ConsumerTeams()}
}

func readTree(t checks.Tree, path string) ([]byte, error) {
	if t == nil {
		return nil, fs.ErrNotExist
	}
	return t.ReadFile(path)
}

func orEmpty(data []byte, _ error) []byte { return data }

// codeowners reads CODEOWNERS from the base branch; nil when there is none.
func (b *Base) codeowners(ctx context.Context, gh *github.Client, pt policyTarget) (*policy.Codeowners, error) {
	ref := pt.BaseRef
	for _, p := range codeownersPaths {
		data, found, err := b.readFile(ctx, gh, pt.Owner, pt.Repo, p, ref)
		if err != nil {
			return nil, fmt.Errorf("reading %s on the base branch: %w", p, err)
		}
		if !found {
			continue
		}
		co, errs := policy.ParseCodeowners(p, data)
		if len(errs) > 0 {
			// GitHub skips lines it cannot read; so does Conveyor, and the config check reports them.
			zerolog.Ctx(ctx).Warn().Err(errs).Str("file", p).Msg("CODEOWNERS has lines that were skipped")
		}
		return co, nil
	}
	return nil, nil
}

// readFile reads one file at ref through the contents API.
func (b *Base) readFile(ctx context.Context, gh *github.Client, owner, repo, path, ref string) ([]byte, bool, error) {
	var data []byte
	notFound := false
	err := b.deps.Retry.Do(ctx, fmt.Sprintf("reading %s at %s", path, ref), func(ctx context.Context) (*github.Response, error) {
		file, _, resp, err := gh.Repositories.GetContents(ctx, owner, repo, path, &github.RepositoryContentGetOptions{Ref: ref})
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			notFound = true
			return resp, nil
		}
		if err != nil {
			return resp, err
		}
		if file == nil {
			notFound = true // a directory
			return resp, nil
		}
		s, err := file.GetContent()
		data = []byte(s)
		return resp, err
	})
	if notFound {
		return nil, false, nil
	}
	return data, err == nil, err
}

// reviews lists the PR's submitted reviews.
func (b *Base) reviews(ctx context.Context, gh *github.Client, pt policyTarget) ([]policy.Review, error) {
	var out []policy.Review
	opts := &github.ListOptions{PerPage: 100}
	for {
		var page []*github.PullRequestReview
		var resp *github.Response
		err := b.deps.Retry.Do(ctx, fmt.Sprintf("listing reviews of #%d", pt.Number), func(ctx context.Context) (*github.Response, error) {
			var err error
			page, resp, err = gh.PullRequests.ListReviews(ctx, pt.Owner, pt.Repo, pt.Number, opts)
			return resp, err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.GetState() == string(policy.ReviewPending) {
				continue
			}
			out = append(out, policy.Review{User: r.GetUser().GetLogin(), State: policy.ReviewState(r.GetState()), CommitSHA: r.GetCommitID(),
				SubmittedAt: r.GetSubmittedAt().Time, IsBot: r.GetUser().GetType() == "Bot", Body: r.GetBody()})
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// findPolicyRun returns this app's latest conveyor/policy run at pt.SHA and
// its status, or 0.
func (b *Base) findPolicyRun(ctx context.Context, w *timeline.Writer, pt policyTarget) (int64, string, error) {
	opts := &github.ListCheckRunsOptions{CheckName: github.Ptr(policy.PolicyCheckName), Filter: github.Ptr("latest")}
	if b.deps.AppID != 0 {
		opts.AppID = github.Ptr(b.deps.AppID)
	}
	var res *github.ListCheckRunsResults
	err := b.deps.Retry.Do(ctx, "finding the policy check run at "+pt.SHA, func(ctx context.Context) (resp *github.Response, err error) {
		res, resp, err = w.Client().Checks.ListCheckRunsForRef(ctx, pt.Owner, pt.Repo, pt.SHA, opts)
		return resp, err
	})
	if err != nil {
		return 0, "", err
	}
	var best *github.CheckRun
	for _, r := range res.CheckRuns {
		if r.GetName() == policy.PolicyCheckName && b.ours(r.GetApp()) && (best == nil || r.GetID() > best.GetID()) {
			best = r
		}
	}
	return best.GetID(), best.GetStatus(), nil
}

// policyResult renders a decision as the check run's result.
func policyResult(d policy.ApprovalDecision, org string, cause error) checks.Result {
	res := checks.Result{Name: policy.PolicyCheckName, Title: d.Title(), Details: d}
	switch d.State {
	case policy.StateSuccess:
		res.Conclusion = checks.Success
	case policy.StatePending:
		res.Conclusion = checks.ActionRequired
	default:
		res.Conclusion = checks.Failure
	}
	var b strings.Builder
	if cause != nil {
		res.Title = "Ownership could not be decided"
		fmt.Fprintf(&b, "Conveyor could not decide who must approve this change, so the check fails until it can:\n\n`%v`\n\nPush, or re-request a review, to try again.\n", cause)
		res.Summary = b.String()
		return res
	}
	b.WriteString(d.Summary(org))
	switch d.State {
	case policy.StatePending:
		b.WriteString("\nThis check stays `action_required` until every owner group has approved the head commit; it is decided again on each review, push and team change.\n")
	case policy.StateFailure:
		b.WriteString("\nAn owner requested changes; their new review (or its dismissal) decides again.\n")
	}
	res.Summary = b.String()
	if len(d.Membership.Teams) > 0 {
		var t strings.Builder
		fmt.Fprintf(&t, "Team membership this decision relied on, as read from GitHub at %s:\n\n", d.Membership.AsOf.UTC().Format("2006-01-02 15:04:05 MST"))
		names := make([]string, 0, len(d.Membership.Teams))
		for n := range d.Membership.Teams {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			members := d.Membership.Teams[n]
			list := "(no members)"
			if len(members) > 0 {
				list = "@" + strings.Join(members, ", @")
			}
			fmt.Fprintf(&t, "- `%s`: %s\n", teamFor(n, org), list)
		}
		res.Text = t.String()
	}
	return res
}

// qualifiedMembership names every team "org/slug" for the audit record.
func qualifiedMembership(m policy.Membership, org string) map[string][]string {
	if len(m.Teams) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m.Teams))
	for t, members := range m.Teams {
		out[teamFor(t, org).String()] = append([]string{}, members...)
	}
	return out
}

// policyLock serialises decisions on one commit, so two reviews arriving
// together cannot both create a run.
func (b *Base) policyLock(key string) *syncMutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &b.policyLocks[h.Sum32()%uint32(len(b.policyLocks))]
}

func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pullRequest reads a pull request.
func (b *Base) pullRequest(ctx context.Context, gh *github.Client, owner, repo string, number int) (*github.PullRequest, error) {
	var pr *github.PullRequest
	err := b.deps.Retry.Do(ctx, fmt.Sprintf("reading %s/%s#%d", owner, repo, number), func(ctx context.Context) (resp *github.Response, err error) {
		pr, resp, err = gh.PullRequests.Get(ctx, owner, repo, number)
		return resp, err
	})
	return pr, err
}

// reevaluatePR decides the policy check of an open pull request again at
// its current head, without running the other checks.
func (b *Base) reevaluatePR(ctx context.Context, installationID int64, owner, repo string, number int, sender, deliveryID string) error {
	w, err := b.writer(installationID, owner, repo)
	if err != nil {
		return err
	}
	pr, err := b.pullRequest(ctx, w.Client(), owner, repo, number)
	if err != nil {
		return err
	}
	if pr.GetState() != "open" {
		return nil
	}
	return b.evaluatePolicy(ctx, w, policyTarget{InstallationID: installationID, Owner: owner, Repo: repo, Number: number,
		SHA: pr.GetHead().GetSHA(), PRHead: pr.GetHead().GetSHA(), BaseRef: pr.GetBase().GetRef(), Author: pr.GetUser().GetLogin(),
		Sender: sender, DeliveryID: deliveryID})
}
