package githubemu

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PROptions describes a pull request to open. Head must be an existing branch; Base
// defaults to the default branch.
type PROptions struct {
	Head, Base, Title, Body, Author string
	// Fork makes the head repository "<Author>/<name>", a fork, as GitHub reports for
	// contributors without push access. The commits still live in this Repo.
	Fork  bool
	Draft bool
}

// PullRequest is an emulated pull request. Fields are fixed at opening; methods read the
// rest and perform user actions that send webhooks.
type PullRequest struct {
	repo    *Repo
	ID      int64
	Number  int
	HeadRef string
	BaseRef string
	Author  string
	Fork    bool

	title, body      string
	headSHA, baseSHA string
	state            string
	draft, merged    bool
	mergeSHA         string
	mergedBy         string
	labels           []string
	reviews          []*Review
	createdAt        time.Time
	updatedAt        time.Time
	closedAt         time.Time
}

// Review is a pull request review as GitHub stores it.
type Review struct {
	ID          int64
	User        string
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
	Body        string
	CommitID    string
	SubmittedAt time.Time
}

// OpenPullRequest opens a pull request and sends pull_request "opened".
func (r *Repo) OpenPullRequest(o PROptions) *PullRequest {
	e := r.emu
	e.mu.Lock()
	if o.Base == "" {
		o.Base = r.DefaultBranch
	}
	if o.Title == "" {
		o.Title = "Update " + o.Head
	}
	if o.Author == "" {
		o.Author = "octocat"
	}
	head, ok := r.branches[o.Head]
	if !ok {
		e.mu.Unlock()
		panic(fmt.Sprintf("githubemu: OpenPullRequest: no branch %q in %s", o.Head, r.FullName()))
	}
	r.issueSeq++
	now := e.now()
	pr := &PullRequest{
		repo: r, ID: e.newID(), Number: r.issueSeq, HeadRef: o.Head, BaseRef: o.Base, Author: o.Author, Fork: o.Fork,
		title: o.Title, body: o.Body, headSHA: head, baseSHA: r.branches[o.Base], state: "open", draft: o.Draft,
		createdAt: now, updatedAt: now,
	}
	e.user(o.Author)
	r.pulls[pr.Number] = pr
	ev := pendingEvent{"pull_request", e.pullRequestPayload(pr, "opened", o.Author)}
	e.mu.Unlock()
	e.dispatch(ev)
	return pr
}

// PullRequest finds a pull request by number, or nil.
func (r *Repo) PullRequest(number int) *PullRequest {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	return r.pulls[number]
}

// Repo is the base repository.
func (pr *PullRequest) Repo() *Repo { return pr.repo }

func (pr *PullRequest) locked(f func()) {
	pr.repo.emu.mu.Lock()
	defer pr.repo.emu.mu.Unlock()
	f()
}

// HeadSHA is the current head commit; it follows pushes to the head branch.
func (pr *PullRequest) HeadSHA() (s string) { pr.locked(func() { s = pr.headSHA }); return }

// BaseSHA is the current tip of the base branch.
func (pr *PullRequest) BaseSHA() (s string) { pr.locked(func() { s = pr.baseSHA }); return }

// State is "open" or "closed".
func (pr *PullRequest) State() (s string) { pr.locked(func() { s = pr.state }); return }

// Merged reports whether the pull request was merged.
func (pr *PullRequest) Merged() (b bool) { pr.locked(func() { b = pr.merged }); return }

// MergeCommitSHA is the merge commit after Merge.
func (pr *PullRequest) MergeCommitSHA() (s string) { pr.locked(func() { s = pr.mergeSHA }); return }

// Labels lists label names in the order they were added.
func (pr *PullRequest) Labels() (l []string) {
	pr.locked(func() { l = slices.Clone(pr.labels) })
	return
}

// Reviews lists reviews, oldest first.
func (pr *PullRequest) Reviews() (out []Review) {
	pr.locked(func() {
		for _, rv := range pr.reviews {
			out = append(out, *rv)
		}
	})
	return
}

// action changes state under the lock, then sends the pull_request webhook.
func (pr *PullRequest) action(name, sender string, change func() []pendingEvent) {
	e := pr.repo.emu
	e.mu.Lock()
	evs := change()
	pr.updatedAt = e.now()
	evs = append([]pendingEvent{{"pull_request", e.pullRequestPayload(pr, name, sender)}}, evs...)
	e.mu.Unlock()
	e.dispatch(evs...)
}

// Close closes without merging (pull_request "closed", merged false).
func (pr *PullRequest) Close(user string) {
	pr.action("closed", user, func() []pendingEvent {
		pr.state, pr.closedAt = "closed", pr.repo.emu.now()
		return nil
	})
}

// Reopen reopens a closed pull request (pull_request "reopened").
func (pr *PullRequest) Reopen(user string) {
	pr.action("reopened", user, func() []pendingEvent {
		pr.state, pr.closedAt = "open", time.Time{}
		pr.headSHA = pr.repo.branches[pr.HeadRef]
		return nil
	})
}

// ReadyForReview takes the pull request out of draft (pull_request "ready_for_review").
func (pr *PullRequest) ReadyForReview(user string) {
	pr.action("ready_for_review", user, func() []pendingEvent { pr.draft = false; return nil })
}

// Edit changes the title and body (pull_request "edited").
func (pr *PullRequest) Edit(user, title, body string) {
	pr.action("edited", user, func() []pendingEvent { pr.title, pr.body = title, body; return nil })
}

// Merge merges with a merge commit on the base branch: pull_request "closed" with merged
// true, then the push to the base branch. It returns the merge commit SHA.
func (pr *PullRequest) Merge(user string) string {
	r := pr.repo
	var sha string
	pr.action("closed", user, func() []pendingEvent {
		before := r.branches[pr.BaseRef]
		files := r.changesToApply(before, pr.headSHA)
		msg := fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", pr.Number, pr.Author, pr.HeadRef, pr.title)
		sha = r.commitLocked(pr.BaseRef, files, msg, user, pr.headSHA)
		pr.state, pr.merged, pr.mergeSHA, pr.mergedBy, pr.closedAt = "closed", true, sha, user, r.emu.now()
		return r.afterPushLocked(pr.BaseRef, before, sha, user)
	})
	return sha
}

// changesToApply is head's change since its merge base with base, as Commit input.
func (r *Repo) changesToApply(base, head string) map[string]string {
	files := map[string]string{}
	for _, d := range r.diffTrees(r.mergeBase(base, head), head) {
		switch d.status {
		case "removed":
			files[d.filename] = Delete
		case "renamed":
			files[d.previous] = Delete
			files[d.filename] = string(r.blobs[d.sha])
		default:
			files[d.filename] = string(r.blobs[d.sha])
		}
	}
	return files
}

// Review submits a review as user: state APPROVED, CHANGES_REQUESTED or COMMENTED
// (pull_request_review "submitted").
func (pr *PullRequest) Review(user, state, body string) *Review {
	e := pr.repo.emu
	e.mu.Lock()
	rv := &Review{ID: e.newID(), User: user, State: strings.ToUpper(state), Body: body, CommitID: pr.headSHA, SubmittedAt: e.now()}
	e.user(user)
	pr.reviews = append(pr.reviews, rv)
	ev := pendingEvent{"pull_request_review", e.reviewPayload(pr, rv, "submitted", user)}
	out := *rv
	e.mu.Unlock()
	e.dispatch(ev)
	return &out
}

// DismissReview dismisses a review (pull_request_review "dismissed").
func (pr *PullRequest) DismissReview(reviewID int64, user string) {
	e := pr.repo.emu
	e.mu.Lock()
	var evs []pendingEvent
	for _, rv := range pr.reviews {
		if rv.ID == reviewID {
			rv.State = "DISMISSED"
			evs = append(evs, pendingEvent{"pull_request_review", e.reviewPayload(pr, rv, "dismissed", user)})
		}
	}
	e.mu.Unlock()
	e.dispatch(evs...)
}

func (e *Emulator) reviewJSON(pr *PullRequest, rv *Review) map[string]any {
	r := pr.repo
	return map[string]any{
		"id": rv.ID, "node_id": fmt.Sprintf("PRR_%d", rv.ID), "user": e.userJSON(rv.User), "body": rv.Body,
		"state": rv.State, "commit_id": rv.CommitID, "submitted_at": tsOrNil(rv.SubmittedAt),
		"author_association": r.authorAssociation(rv.User),
		"html_url":           e.htmlURL("/%s/pull/%d#pullrequestreview-%d", r.FullName(), pr.Number, rv.ID),
		"pull_request_url":   e.apiURL("/repos/%s/pulls/%d", r.FullName(), pr.Number),
	}
}

func (e *Emulator) reviewPayload(pr *PullRequest, rv *Review, action, sender string) map[string]any {
	p := e.repoEventBase(pr.repo, action, sender)
	p["review"] = e.reviewJSON(pr, rv)
	p["pull_request"] = e.pullRequestJSON(pr)
	return p
}

func (e *Emulator) pullRequestJSON(pr *PullRequest) map[string]any {
	r := pr.repo
	headRepo := r.json()
	headOwner := r.Owner
	if pr.Fork {
		headRepo = r.forkJSON(pr.Author)
		headOwner = pr.Author
	}
	labels := []any{}
	for _, l := range pr.labels {
		labels = append(labels, r.labelJSON(l))
	}
	var mergedBy any
	if pr.mergedBy != "" {
		mergedBy = e.userJSON(pr.mergedBy)
	}
	var mergeSHA any
	if pr.mergeSHA != "" {
		mergeSHA = pr.mergeSHA
	}
	return map[string]any{
		"id": pr.ID, "node_id": fmt.Sprintf("PR_%d", pr.ID), "number": pr.Number, "state": pr.state,
		"locked": false, "title": pr.title, "body": pr.body, "user": e.userJSON(pr.Author), "draft": pr.draft,
		"url":                 e.apiURL("/repos/%s/pulls/%d", r.FullName(), pr.Number),
		"html_url":            e.htmlURL("/%s/pull/%d", r.FullName(), pr.Number),
		"diff_url":            e.htmlURL("/%s/pull/%d.diff", r.FullName(), pr.Number),
		"issue_url":           e.apiURL("/repos/%s/issues/%d", r.FullName(), pr.Number),
		"comments_url":        e.apiURL("/repos/%s/issues/%d/comments", r.FullName(), pr.Number),
		"statuses_url":        e.apiURL("/repos/%s/statuses/%s", r.FullName(), pr.headSHA),
		"head":                map[string]any{"label": headOwner + ":" + pr.HeadRef, "ref": pr.HeadRef, "sha": pr.headSHA, "user": e.userJSON(headOwner), "repo": headRepo},
		"base":                map[string]any{"label": r.Owner + ":" + pr.BaseRef, "ref": pr.BaseRef, "sha": pr.baseSHA, "user": e.userJSON(r.Owner), "repo": r.json()},
		"labels":              labels,
		"merged":              pr.merged,
		"mergeable":           true,
		"mergeable_state":     "clean",
		"merged_by":           mergedBy,
		"merge_commit_sha":    mergeSHA,
		"merged_at":           map[bool]any{true: tsOrNil(pr.closedAt), false: nil}[pr.merged],
		"closed_at":           tsOrNil(pr.closedAt),
		"created_at":          ts(pr.createdAt),
		"updated_at":          ts(pr.updatedAt),
		"author_association":  r.authorAssociation(pr.Author),
		"requested_reviewers": []any{},
		"requested_teams":     []any{},
		"assignees":           []any{},
		"commits":             len(r.commitsBetween(pr.baseSHA, pr.headSHA)),
		"changed_files":       len(r.diffTrees(r.mergeBase(pr.baseSHA, pr.headSHA), pr.headSHA)),
	}
}

// repoEventBase holds the fields every repository webhook carries.
func (e *Emulator) repoEventBase(r *Repo, action, sender string) map[string]any {
	p := map[string]any{
		"repository": r.json(), "sender": e.userJSON(sender), "installation": e.installationRef(),
	}
	if action != "" {
		p["action"] = action
	}
	if strings.EqualFold(r.Owner, e.opts.Account) || e.user(r.Owner).typ == "Organization" {
		p["organization"] = e.orgJSON(r.Owner)
	}
	return p
}

func (e *Emulator) installationRef() map[string]any {
	return map[string]any{"id": e.opts.InstallationID, "node_id": fmt.Sprintf("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u%d", e.opts.InstallationID)}
}

func (e *Emulator) pullRequestPayload(pr *PullRequest, action, sender string) map[string]any {
	p := e.repoEventBase(pr.repo, action, sender)
	p["number"] = pr.Number
	p["pull_request"] = e.pullRequestJSON(pr)
	return p
}

func (e *Emulator) lookupPull(w http.ResponseWriter, r *http.Request) (*Repo, *PullRequest, bool) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return nil, nil, false
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	e.mu.Lock()
	pr := rp.pulls[n]
	e.mu.Unlock()
	if pr == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil, nil, false
	}
	return rp, pr, true
}

func (e *Emulator) listPulls(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var prs []*PullRequest
	for _, pr := range rp.pulls {
		if (state == "all" || pr.state == state) &&
			(q.Get("base") == "" || pr.BaseRef == q.Get("base")) &&
			(q.Get("head") == "" || strings.HasSuffix(q.Get("head"), ":"+pr.HeadRef)) {
			prs = append(prs, pr)
		}
	}
	slices.SortFunc(prs, func(a, b *PullRequest) int { return b.Number - a.Number })
	start, end := paginate(w, r, len(prs))
	out := []any{}
	for _, pr := range prs[start:end] {
		out = append(out, e.pullRequestJSON(pr))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getPull(w http.ResponseWriter, r *http.Request) {
	_, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, e.pullRequestJSON(pr))
}

// listPullFiles is the diff from the merge base to the head, capped at 3000 files as on GitHub.
func (e *Emulator) listPullFiles(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	files := rp.filesJSON(rp.diffTrees(rp.mergeBase(pr.baseSHA, pr.headSHA), pr.headSHA), pr.headSHA)
	if len(files) > 3000 {
		files = files[:3000]
	}
	start, end := paginate(w, r, len(files))
	writeJSON(w, http.StatusOK, files[start:end])
}

func (e *Emulator) listPullCommits(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := rp.commitsBetween(pr.baseSHA, pr.headSHA)
	start, end := paginate(w, r, len(cs))
	out := []any{}
	for _, c := range cs[start:end] {
		out = append(out, rp.commitJSON(c, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) listReviews(w http.ResponseWriter, r *http.Request) {
	_, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	start, end := paginate(w, r, len(pr.reviews))
	out := []any{}
	for _, rv := range pr.reviews[start:end] {
		out = append(out, e.reviewJSON(pr, rv))
	}
	writeJSON(w, http.StatusOK, out)
}

// createReview posts a review as the app. Without an event it stays PENDING, as on GitHub.
func (e *Emulator) createReview(w http.ResponseWriter, r *http.Request) {
	_, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	var in struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	state := map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", "": "PENDING"}[in.Event]
	if state == "" {
		writeValidation(w, fieldError{Resource: "PullRequestReview", Field: "event", Code: "invalid"})
		return
	}
	if (state == "CHANGES_REQUESTED" || state == "COMMENTED") && in.Body == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message": "Unprocessable Entity", "errors": []string{"Review Can not request changes or comment on a pull request without a body"}, "documentation_url": docsURL,
		})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.CommitID == "" {
		in.CommitID = pr.headSHA
	}
	rv := &Review{ID: e.newID(), User: e.botLogin(), State: state, Body: in.Body, CommitID: in.CommitID}
	if state != "PENDING" {
		rv.SubmittedAt = e.now()
	}
	pr.reviews = append(pr.reviews, rv)
	writeJSON(w, http.StatusOK, e.reviewJSON(pr, rv))
}

func (e *Emulator) getPermission(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	login := r.PathValue("user")
	role := rp.permission(login)
	legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
	if legacy == "" {
		legacy = "none"
	}
	u := e.userJSON(login)
	u["permissions"] = map[string]bool{
		"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
		"push": legacy == "admin" || legacy == "write", "triage": legacy != "none" && role != "read", "pull": legacy != "none",
	}
	u["role_name"] = role
	writeJSON(w, http.StatusOK, map[string]any{"permission": legacy, "role_name": role, "user": u})
}

// listPullsForCommit answers "list pull requests associated with a commit" as GitHub
// does: for a commit on the default branch, the merged pull requests that brought it in;
// otherwise the open pull requests whose commits include it, forks included.
func (e *Emulator) listPullsForCommit(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha, ok := rp.resolveOr422(w, r.PathValue("sha"))
	if !ok {
		return
	}
	tip := rp.branches[rp.DefaultBranch]
	onDefault := rp.reachable(sha, tip)
	contains := func(pr *PullRequest) bool {
		if pr.headSHA == sha || pr.mergeSHA == sha {
			return true
		}
		base := pr.baseSHA
		if m := rp.commits[pr.mergeSHA]; m != nil && len(m.parents) > 0 {
			// A merge moved the base onto the merge commit; the PR's own
			// commits are those its first parent lacked.
			base = m.parents[0]
		}
		return slices.ContainsFunc(rp.commitsBetween(base, pr.headSHA), func(c *commitObj) bool { return c.sha == sha })
	}
	var prs []*PullRequest
	for _, pr := range rp.pulls {
		if ((onDefault && pr.merged) || (!onDefault && pr.state == "open")) && contains(pr) {
			prs = append(prs, pr)
		}
	}
	slices.SortFunc(prs, func(a, b *PullRequest) int { return b.Number - a.Number })
	start, end := paginate(w, r, len(prs))
	out := []any{}
	for _, pr := range prs[start:end] {
		out = append(out, e.pullRequestJSON(pr))
	}
	writeJSON(w, http.StatusOK, out)
}

// reachable reports whether commit sha is from or one of its ancestors. Callers hold e.mu.
func (r *Repo) reachable(sha, from string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c == sha {
			return true
		}
		if seen[c] || r.commits[c] == nil {
			continue
		}
		seen[c] = true
		stack = append(stack, r.commits[c].parents...)
	}
	return false
}
