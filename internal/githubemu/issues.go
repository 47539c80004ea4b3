package githubemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"strings"
	"time"
)

// Comment is an issue (conversation) comment on a pull request.
type Comment struct {
	ID          int64
	IssueNumber int
	User        string
	Body        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Reactions   []Reaction
	deleted     bool
}

// Reaction is an emoji reaction on a comment.
type Reaction struct {
	ID        int64
	Content   string // +1, -1, laugh, confused, heart, hooray, rocket, eyes
	User      string
	CreatedAt time.Time
}

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

type labelRec struct {
	id          int64
	name, color string
}

// Comments lists the pull request's live comments with their reactions, oldest first.
func (pr *PullRequest) Comments() []Comment {
	e := pr.repo.emu
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Comment
	for _, c := range e.issueComments(pr.repo, pr.Number) {
		cc := *c
		cc.Reactions = slices.Clone(c.Reactions)
		out = append(out, cc)
	}
	return out
}

func (e *Emulator) issueComments(r *Repo, number int) []*Comment {
	var out []*Comment
	for id, c := range e.comments {
		if e.commentRepo[id] == r && c.IssueNumber == number && !c.deleted {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Comment) int { return int(a.ID - b.ID) })
	return out
}

// Comment posts a comment as user (issue_comment "created") and returns it.
func (pr *PullRequest) Comment(user, body string) Comment {
	e := pr.repo.emu
	e.mu.Lock()
	c := e.addCommentLocked(pr.repo, pr.Number, user, body)
	ev := pendingEvent{"issue_comment", e.commentPayload(pr, c, "created", user, nil)}
	out := *c
	e.mu.Unlock()
	e.dispatch(ev)
	return out
}

func (e *Emulator) addCommentLocked(r *Repo, number int, user, body string) *Comment {
	now := e.now()
	c := &Comment{ID: e.newID(), IssueNumber: number, User: user, Body: body, CreatedAt: now, UpdatedAt: now}
	e.user(user)
	e.comments[c.ID] = c
	e.commentRepo[c.ID] = r
	return c
}

// EditComment changes a comment's body as user (issue_comment "edited" with changes.body.from).
func (e *Emulator) EditComment(id int64, user, body string) {
	e.mu.Lock()
	c, r := e.comments[id], e.commentRepo[id]
	if c == nil || c.deleted {
		e.mu.Unlock()
		return
	}
	old := c.Body
	c.Body, c.UpdatedAt = body, e.now()
	ev := pendingEvent{"issue_comment", e.commentPayload(r.pulls[c.IssueNumber], c, "edited", user, map[string]any{"body": map[string]any{"from": old}})}
	e.mu.Unlock()
	e.dispatch(ev)
}

// DeleteComment deletes a comment as user (issue_comment "deleted").
func (e *Emulator) DeleteComment(id int64, user string) {
	e.mu.Lock()
	c, r := e.comments[id], e.commentRepo[id]
	if c == nil || c.deleted {
		e.mu.Unlock()
		return
	}
	c.deleted = true
	ev := pendingEvent{"issue_comment", e.commentPayload(r.pulls[c.IssueNumber], c, "deleted", user, nil)}
	e.mu.Unlock()
	e.dispatch(ev)
}

// React adds a reaction as user to a comment. GitHub sends no webhook for reactions.
func (e *Emulator) React(commentID int64, user, content string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.comments[commentID]; c != nil {
		c.Reactions = append(c.Reactions, Reaction{ID: e.newID(), Content: content, User: user, CreatedAt: e.now()})
	}
}

// Comment returns a snapshot of any comment by ID, deleted or not.
func (e *Emulator) Comment(id int64) (Comment, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.comments[id]
	if c == nil {
		return Comment{}, false
	}
	cc := *c
	cc.Reactions = slices.Clone(c.Reactions)
	return cc, true
}

func (e *Emulator) reactionsSummary(r *Repo, c *Comment) map[string]any {
	s := map[string]any{"url": e.apiURL("/repos/%s/issues/comments/%d/reactions", r.FullName(), c.ID), "total_count": len(c.Reactions)}
	for _, k := range reactionContents {
		s[k] = 0
	}
	for _, re := range c.Reactions {
		s[re.Content] = s[re.Content].(int) + 1
	}
	return s
}

func (e *Emulator) commentJSON(r *Repo, c *Comment) map[string]any {
	return map[string]any{
		"id": c.ID, "node_id": fmt.Sprintf("IC_%d", c.ID), "body": c.Body, "user": e.userJSON(c.User),
		"url":                e.apiURL("/repos/%s/issues/comments/%d", r.FullName(), c.ID),
		"html_url":           e.htmlURL("/%s/pull/%d#issuecomment-%d", r.FullName(), c.IssueNumber, c.ID),
		"issue_url":          e.apiURL("/repos/%s/issues/%d", r.FullName(), c.IssueNumber),
		"created_at":         ts(c.CreatedAt),
		"updated_at":         ts(c.UpdatedAt),
		"author_association": r.authorAssociation(c.User),
		"reactions":          e.reactionsSummary(r, c),
	}
}

// issueJSON is the issue view of a pull request, as issue_comment webhooks carry it.
func (e *Emulator) issueJSON(pr *PullRequest) map[string]any {
	r := pr.repo
	labels := []any{}
	for _, l := range pr.labels {
		labels = append(labels, r.labelJSON(l))
	}
	return map[string]any{
		"id": pr.ID + 500_000_000, "node_id": fmt.Sprintf("I_%d", pr.ID), "number": pr.Number, "title": pr.title,
		"body": pr.body, "user": e.userJSON(pr.Author), "state": pr.state, "locked": false, "labels": labels,
		"comments":           len(e.issueComments(r, pr.Number)),
		"created_at":         ts(pr.createdAt),
		"updated_at":         ts(pr.updatedAt),
		"closed_at":          tsOrNil(pr.closedAt),
		"author_association": r.authorAssociation(pr.Author),
		"url":                e.apiURL("/repos/%s/issues/%d", r.FullName(), pr.Number),
		"html_url":           e.htmlURL("/%s/pull/%d", r.FullName(), pr.Number),
		"repository_url":     e.apiURL("/repos/%s", r.FullName()),
		"pull_request": map[string]any{
			"url":       e.apiURL("/repos/%s/pulls/%d", r.FullName(), pr.Number),
			"html_url":  e.htmlURL("/%s/pull/%d", r.FullName(), pr.Number),
			"diff_url":  e.htmlURL("/%s/pull/%d.diff", r.FullName(), pr.Number),
			"patch_url": e.htmlURL("/%s/pull/%d.patch", r.FullName(), pr.Number),
			"merged_at": map[bool]any{true: tsOrNil(pr.closedAt), false: nil}[pr.merged],
		},
	}
}

func (e *Emulator) commentPayload(pr *PullRequest, c *Comment, action, sender string, changes map[string]any) map[string]any {
	p := e.repoEventBase(pr.repo, action, sender)
	p["issue"] = e.issueJSON(pr)
	p["comment"] = e.commentJSON(pr.repo, c)
	if changes != nil {
		p["changes"] = changes
	}
	return p
}

func (e *Emulator) getIssue(w http.ResponseWriter, r *http.Request) {
	_, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, e.issueJSON(pr))
}

func (e *Emulator) listComments(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := e.issueComments(rp, pr.Number)
	if since, err := time.Parse(time.RFC3339, r.URL.Query().Get("since")); err == nil {
		cs = slices.DeleteFunc(cs, func(c *Comment) bool { return c.UpdatedAt.Before(since) })
	}
	start, end := paginate(w, r, len(cs))
	out := []any{}
	for _, c := range cs[start:end] {
		out = append(out, e.commentJSON(rp, c))
	}
	writeJSON(w, http.StatusOK, out)
}

// maxCommentBody is GitHub's limit on a comment body.
const maxCommentBody = 65536

func (e *Emulator) createComment(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	var in struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Body == nil || *in.Body == "" {
		writeValidation(w, fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	if len([]rune(*in.Body)) > maxCommentBody {
		writeValidation(w, fieldError{Resource: "IssueComment", Field: "data", Code: "unprocessable", Message: "Body is too long (maximum is 65536 characters)"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.addCommentLocked(rp, pr.Number, e.botLogin(), *in.Body)
	w.Header().Set("Location", e.apiURL("/repos/%s/issues/comments/%d", rp.FullName(), c.ID))
	writeJSON(w, http.StatusCreated, e.commentJSON(rp, c))
}

func (e *Emulator) lookupComment(w http.ResponseWriter, r *http.Request) (*Repo, *Comment, bool) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return nil, nil, false
	}
	id, _ := pathInt(r, "id")
	e.mu.Lock()
	c := e.comments[id]
	found := c != nil && !c.deleted && e.commentRepo[id] == rp
	e.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil, nil, false
	}
	return rp, c, true
}

func (e *Emulator) getComment(w http.ResponseWriter, r *http.Request) {
	rp, c, ok := e.lookupComment(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, e.commentJSON(rp, c))
}

func (e *Emulator) editComment(w http.ResponseWriter, r *http.Request) {
	rp, c, ok := e.lookupComment(w, r)
	if !ok {
		return
	}
	var in struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Body == nil {
		writeValidation(w, fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	if len([]rune(*in.Body)) > maxCommentBody {
		writeValidation(w, fieldError{Resource: "IssueComment", Field: "data", Code: "unprocessable", Message: "Body is too long (maximum is 65536 characters)"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !strings.EqualFold(c.User, e.botLogin()) {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	c.Body, c.UpdatedAt = *in.Body, e.now()
	writeJSON(w, http.StatusOK, e.commentJSON(rp, c))
}

func (e *Emulator) deleteComment(w http.ResponseWriter, r *http.Request) {
	_, c, ok := e.lookupComment(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c.deleted = true
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) reactionJSON(re Reaction) map[string]any {
	return map[string]any{
		"id": re.ID, "node_id": fmt.Sprintf("REA_%d", re.ID), "user": e.userJSON(re.User), "content": re.Content, "created_at": ts(re.CreatedAt),
	}
}

func (e *Emulator) listReactions(w http.ResponseWriter, r *http.Request) {
	_, c, ok := e.lookupComment(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	content := r.URL.Query().Get("content")
	var rs []Reaction
	for _, re := range c.Reactions {
		if content == "" || re.Content == content {
			rs = append(rs, re)
		}
	}
	start, end := paginate(w, r, len(rs))
	out := []any{}
	for _, re := range rs[start:end] {
		out = append(out, e.reactionJSON(re))
	}
	writeJSON(w, http.StatusOK, out)
}

// createReaction answers 201 for a new reaction and 200 with the existing one when the app
// already reacted with the same content, as GitHub does.
func (e *Emulator) createReaction(w http.ResponseWriter, r *http.Request) {
	_, c, ok := e.lookupComment(w, r)
	if !ok {
		return
	}
	var in struct {
		Content string `json:"content"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if !slices.Contains(reactionContents, in.Content) {
		writeValidation(w, fieldError{Resource: "Reaction", Field: "content", Code: "invalid"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, re := range c.Reactions {
		if re.Content == in.Content && re.User == e.botLogin() {
			writeJSON(w, http.StatusOK, e.reactionJSON(re))
			return
		}
	}
	re := Reaction{ID: e.newID(), Content: in.Content, User: e.botLogin(), CreatedAt: e.now()}
	c.Reactions = append(c.Reactions, re)
	writeJSON(w, http.StatusCreated, e.reactionJSON(re))
}

// labelRecFor returns the repo label, creating it as GitHub does when an issue gets a
// label that does not exist yet. Callers hold e.mu.
func (r *Repo) labelRecFor(name string) *labelRec {
	k := strings.ToLower(name)
	if l, ok := r.labels[k]; ok {
		return l
	}
	l := &labelRec{id: r.emu.newID(), name: name, color: "ededed"}
	r.labels[k] = l
	return l
}

func (r *Repo) labelJSON(name string) map[string]any {
	l := r.labelRecFor(name)
	return map[string]any{
		"id": l.id, "node_id": fmt.Sprintf("LA_%d", l.id), "name": l.name, "color": l.color, "default": false, "description": nil,
		"url": r.emu.apiURL("/repos/%s/labels/%s", r.FullName(), url.PathEscape(l.name)),
	}
}

// AddLabel labels the pull request as user (pull_request "labeled").
func (pr *PullRequest) AddLabel(user, name string) {
	e := pr.repo.emu
	e.mu.Lock()
	if pr.hasLabel(name) {
		e.mu.Unlock()
		return
	}
	pr.labels = append(pr.labels, pr.repo.labelRecFor(name).name)
	p := e.pullRequestPayload(pr, "labeled", user)
	p["label"] = pr.repo.labelJSON(name)
	e.mu.Unlock()
	e.dispatch(pendingEvent{"pull_request", p})
}

// RemoveLabel removes a label as user (pull_request "unlabeled").
func (pr *PullRequest) RemoveLabel(user, name string) {
	e := pr.repo.emu
	e.mu.Lock()
	if !pr.hasLabel(name) {
		e.mu.Unlock()
		return
	}
	pr.labels = slices.DeleteFunc(pr.labels, func(l string) bool { return strings.EqualFold(l, name) })
	p := e.pullRequestPayload(pr, "unlabeled", user)
	p["label"] = pr.repo.labelJSON(name)
	e.mu.Unlock()
	e.dispatch(pendingEvent{"pull_request", p})
}

func (pr *PullRequest) hasLabel(name string) bool {
	return slices.ContainsFunc(pr.labels, func(l string) bool { return strings.EqualFold(l, name) })
}

func (e *Emulator) writeLabels(w http.ResponseWriter, rp *Repo, pr *PullRequest, status int) {
	out := []any{}
	for _, l := range pr.labels {
		out = append(out, rp.labelJSON(l))
	}
	writeJSON(w, status, out)
}

func (e *Emulator) listLabels(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	start, end := paginate(w, r, len(pr.labels))
	out := []any{}
	for _, l := range pr.labels[start:end] {
		out = append(out, rp.labelJSON(l))
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeLabels accepts both shapes GitHub takes: ["a","b"] and {"labels":["a","b"]}.
func decodeLabels(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	var raw json.RawMessage
	if !decodeBody(w, r, &raw) {
		return nil, false
	}
	var names []string
	if json.Unmarshal(raw, &names) == nil {
		return names, true
	}
	var obj struct {
		Labels []string `json:"labels"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return nil, false
	}
	return obj.Labels, true
}

func (e *Emulator) addLabels(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	names, ok := decodeLabels(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range names {
		if !pr.hasLabel(n) {
			pr.labels = append(pr.labels, rp.labelRecFor(n).name)
		}
	}
	e.writeLabels(w, rp, pr, http.StatusOK)
}

func (e *Emulator) setLabels(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	names, ok := decodeLabels(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	pr.labels = nil
	for _, n := range names {
		if !pr.hasLabel(n) {
			pr.labels = append(pr.labels, rp.labelRecFor(n).name)
		}
	}
	e.writeLabels(w, rp, pr, http.StatusOK)
}

func (e *Emulator) removeLabel(w http.ResponseWriter, r *http.Request) {
	rp, pr, ok := e.lookupPull(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	name := r.PathValue("name")
	if !pr.hasLabel(name) {
		writeError(w, http.StatusNotFound, "Label does not exist")
		return
	}
	pr.labels = slices.DeleteFunc(pr.labels, func(l string) bool { return strings.EqualFold(l, name) })
	e.writeLabels(w, rp, pr, http.StatusOK)
}
