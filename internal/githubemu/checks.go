package githubemu

import (
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// CheckRun is a snapshot of a check run.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string // queued, in_progress, completed (or waiting, requested, pending)
	Conclusion  string
	ExternalID  string
	DetailsURL  string
	StartedAt   time.Time
	CompletedAt time.Time
	Output      CheckOutput
	Actions     []CheckAction
	SuiteID     int64
	// Updates counts PATCH requests, to assert a run was created once and then updated.
	Updates int
	// AppID is the app that created the run; 0 is the emulated app itself.
	AppID int64
}

// CheckOutput is a check run's output; Annotations accumulate across updates.
type CheckOutput struct {
	Title, Summary, Text string
	Annotations          []Annotation
}

// Annotation is a check run annotation.
type Annotation struct {
	Path        string `json:"path"`
	StartLine   int    `json:"start_line"`
	EndLine     int    `json:"end_line"`
	StartColumn *int   `json:"start_column,omitempty"`
	EndColumn   *int   `json:"end_column,omitempty"`
	Level       string `json:"annotation_level"`
	Message     string `json:"message"`
	Title       string `json:"title,omitempty"`
	RawDetails  string `json:"raw_details,omitempty"`
}

// CheckAction is a button offered on a check run (requested_action).
type CheckAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// CheckSuite is a snapshot of a check suite; status and conclusion follow its runs.
type CheckSuite struct {
	ID         int64
	HeadSHA    string
	HeadBranch string
	Status     string
	Conclusion string
	created    time.Time
	updated    time.Time
}

// Limits GitHub enforces on check runs.
const (
	maxAnnotationsPerRequest = 50
	maxOutputChars           = 65535
	maxActions               = 3
)

var (
	checkStatuses    = []string{"queued", "in_progress", "completed", "waiting", "requested", "pending"}
	checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
	annotationLevels = []string{"notice", "warning", "failure"}
)

// CheckRuns lists the check runs on a commit, oldest first.
func (r *Repo) CheckRuns(sha string) []CheckRun {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	var out []CheckRun
	for _, cr := range r.runsFor(sha) {
		out = append(out, cr.snapshot())
	}
	return out
}

// CheckRun returns a check run by ID.
func (r *Repo) CheckRun(id int64) (CheckRun, bool) {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	cr, ok := r.checkRuns[id]
	if !ok {
		return CheckRun{}, false
	}
	return cr.snapshot(), true
}

// CheckSuites lists the check suites on a commit.
func (r *Repo) CheckSuites(sha string) []CheckSuite {
	r.emu.mu.Lock()
	defer r.emu.mu.Unlock()
	var out []CheckSuite
	for _, s := range r.suitesFor(sha) {
		out = append(out, r.suiteState(s))
	}
	return out
}

func (cr *CheckRun) snapshot() CheckRun {
	c := *cr
	c.Output.Annotations = slices.Clone(cr.Output.Annotations)
	c.Actions = slices.Clone(cr.Actions)
	return c
}

func (r *Repo) runsFor(sha string) []*CheckRun {
	var out []*CheckRun
	for _, cr := range r.checkRuns {
		if cr.HeadSHA == sha {
			out = append(out, cr)
		}
	}
	slices.SortFunc(out, func(a, b *CheckRun) int { return int(a.ID - b.ID) })
	return out
}

func (r *Repo) suitesFor(sha string) []*CheckSuite {
	var out []*CheckSuite
	for _, s := range r.checkSuites {
		if s.HeadSHA == sha {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *CheckSuite) int { return int(a.ID - b.ID) })
	return out
}

// suiteFor is the app's suite on sha, created on first use as GitHub does. Callers hold e.mu.
func (r *Repo) suiteFor(sha string) *CheckSuite {
	if s := r.suitesFor(sha); len(s) > 0 {
		return s[0]
	}
	branch := ""
	if r.branches[r.DefaultBranch] == sha {
		branch = r.DefaultBranch
	} else {
		for b, tip := range r.branches {
			if tip == sha && (branch == "" || b < branch) {
				branch = b
			}
		}
	}
	now := r.emu.now()
	s := &CheckSuite{ID: r.emu.newID(), HeadSHA: sha, HeadBranch: branch, Status: "queued", created: now, updated: now}
	r.checkSuites[s.ID] = s
	return s
}

// suiteState derives status and conclusion from the suite's runs.
func (r *Repo) suiteState(s *CheckSuite) CheckSuite {
	out := *s
	var runs []*CheckRun
	for _, cr := range r.checkRuns {
		if cr.SuiteID == s.ID {
			runs = append(runs, cr)
		}
	}
	if len(runs) == 0 {
		return out
	}
	out.Status = "completed"
	for _, cr := range runs {
		if cr.Status != "completed" {
			out.Status = "in_progress"
		}
	}
	if out.Status != "completed" {
		return out
	}
	for _, c := range []string{"action_required", "cancelled", "timed_out", "failure", "stale", "success", "neutral", "skipped"} {
		for _, cr := range runs {
			if cr.Conclusion == c {
				out.Conclusion = c
				return out
			}
		}
	}
	return out
}

type checkRunInput struct {
	Name        *string    `json:"name"`
	HeadSHA     *string    `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Text        *string      `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
	Actions *[]CheckAction `json:"actions"`
}

// validate applies GitHub's 422 rules for check run writes.
func (in *checkRunInput) validate() []fieldError {
	var errs []fieldError
	bad := func(field, code, msg string) {
		errs = append(errs, fieldError{Resource: "CheckRun", Field: field, Code: code, Message: msg})
	}
	if in.Status != nil && !slices.Contains(checkStatuses, *in.Status) {
		bad("status", "invalid", "status is not included in the list")
	}
	if in.Conclusion != nil && *in.Conclusion != "" && !slices.Contains(checkConclusions, *in.Conclusion) {
		bad("conclusion", "invalid", "conclusion is not included in the list")
	}
	if in.Status != nil && *in.Status == "completed" && (in.Conclusion == nil || *in.Conclusion == "") {
		bad("conclusion", "missing_field", "Conclusion is required when status is completed")
	}
	if o := in.Output; o != nil {
		if o.Title == nil || *o.Title == "" {
			bad("output.title", "missing_field", "Title can't be blank")
		}
		if o.Summary == nil || *o.Summary == "" {
			bad("output.summary", "missing_field", "Summary can't be blank")
		}
		if o.Summary != nil && utf8.RuneCountInString(*o.Summary) > maxOutputChars {
			bad("output.summary", "invalid", fmt.Sprintf("Only %d characters are allowed; %d were supplied.", maxOutputChars, utf8.RuneCountInString(*o.Summary)))
		}
		if o.Text != nil && utf8.RuneCountInString(*o.Text) > maxOutputChars {
			bad("output.text", "invalid", fmt.Sprintf("Only %d characters are allowed; %d were supplied.", maxOutputChars, utf8.RuneCountInString(*o.Text)))
		}
		if len(o.Annotations) > maxAnnotationsPerRequest {
			bad("output.annotations", "invalid", fmt.Sprintf("Only %d annotations are allowed per request; %d were supplied.", maxAnnotationsPerRequest, len(o.Annotations)))
		}
		for i, a := range o.Annotations {
			f := fmt.Sprintf("output.annotations[%d]", i)
			switch {
			case a.Path == "" || a.Message == "" || a.StartLine <= 0 || a.EndLine <= 0:
				bad(f, "missing_field", "path, start_line, end_line, annotation_level and message are required")
			case !slices.Contains(annotationLevels, a.Level):
				bad(f+".annotation_level", "invalid", "annotation_level is not included in the list")
			case a.EndLine < a.StartLine:
				bad(f+".end_line", "invalid", "end_line must not be before start_line")
			case (a.StartColumn != nil || a.EndColumn != nil) && a.StartLine != a.EndLine:
				bad(f+".start_column", "invalid", "start_column and end_column are only allowed when start_line equals end_line")
			}
		}
	}
	if in.Actions != nil {
		if len(*in.Actions) > maxActions {
			bad("actions", "invalid", "Only 3 actions are allowed")
		}
		for i, a := range *in.Actions {
			if a.Label == "" || a.Identifier == "" || a.Description == "" ||
				utf8.RuneCountInString(a.Label) > 20 || utf8.RuneCountInString(a.Identifier) > 20 || utf8.RuneCountInString(a.Description) > 40 {
				bad(fmt.Sprintf("actions[%d]", i), "invalid", "label and identifier must be 1-20 characters, description 1-40")
			}
		}
	}
	return errs
}

// apply writes the input onto the run: output fields replace, annotations append.
func (in *checkRunInput) apply(cr *CheckRun, now time.Time) {
	if in.Name != nil {
		cr.Name = *in.Name
	}
	if in.DetailsURL != nil {
		cr.DetailsURL = *in.DetailsURL
	}
	if in.ExternalID != nil {
		cr.ExternalID = *in.ExternalID
	}
	if in.Status != nil {
		cr.Status = *in.Status
	}
	if in.StartedAt != nil {
		cr.StartedAt = *in.StartedAt
	}
	if in.Conclusion != nil && *in.Conclusion != "" {
		cr.Conclusion = *in.Conclusion
		cr.Status = "completed"
	}
	if cr.Status == "in_progress" && cr.StartedAt.IsZero() {
		cr.StartedAt = now
	}
	if cr.Status == "completed" {
		if in.CompletedAt != nil {
			cr.CompletedAt = *in.CompletedAt
		} else if cr.CompletedAt.IsZero() {
			cr.CompletedAt = now
		}
	}
	if o := in.Output; o != nil {
		cr.Output.Title = deref(o.Title)
		cr.Output.Summary = deref(o.Summary)
		if o.Text != nil {
			cr.Output.Text = *o.Text
		}
		cr.Output.Annotations = append(cr.Output.Annotations, o.Annotations...)
	}
	if in.Actions != nil {
		cr.Actions = slices.Clone(*in.Actions)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (e *Emulator) appJSON() map[string]any {
	return map[string]any{
		"id": e.opts.AppID, "slug": e.opts.AppSlug, "name": e.opts.AppSlug, "node_id": fmt.Sprintf("A_%d", e.opts.AppID),
		"owner": e.userJSON(e.opts.Account), "html_url": e.htmlURL("/apps/%s", e.opts.AppSlug),
	}
}

// runAppJSON is the app that created cr.
func (e *Emulator) runAppJSON(cr *CheckRun) map[string]any {
	if cr.AppID == 0 || cr.AppID == e.opts.AppID {
		return e.appJSON()
	}
	slug := fmt.Sprintf("other-app-%d", cr.AppID)
	return map[string]any{"id": cr.AppID, "slug": slug, "name": slug, "node_id": fmt.Sprintf("A_%d", cr.AppID),
		"owner": e.userJSON(e.opts.Account), "html_url": e.htmlURL("/apps/%s", slug)}
}

// PostCheckRunAs records a completed check run on sha created by another
// app (another CI, or a workflow with checks: write), as GitHub shows it.
func (r *Repo) PostCheckRunAs(appID int64, sha, name, conclusion string) CheckRun {
	e := r.emu
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	cr := &CheckRun{ID: e.newID(), Name: name, HeadSHA: sha, Status: "completed", Conclusion: conclusion, StartedAt: now, CompletedAt: now, AppID: appID}
	cr.SuiteID = r.suiteFor(sha).ID
	r.checkRuns[cr.ID] = cr
	return cr.snapshot()
}

// prRefsFor is the short pull request list GitHub attaches to checks: open PRs whose head is sha.
func (r *Repo) prRefsFor(sha string) []any {
	out := []any{}
	var nums []int
	for n, pr := range r.pulls {
		if pr.state == "open" && pr.headSHA == sha && !pr.Fork {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	for _, n := range nums {
		pr := r.pulls[n]
		short := map[string]any{"id": r.ID, "url": r.emu.apiURL("/repos/%s", r.FullName()), "name": r.Name}
		out = append(out, map[string]any{
			"id": pr.ID, "number": pr.Number, "url": r.emu.apiURL("/repos/%s/pulls/%d", r.FullName(), pr.Number),
			"head": map[string]any{"ref": pr.HeadRef, "sha": pr.headSHA, "repo": short},
			"base": map[string]any{"ref": pr.BaseRef, "sha": pr.baseSHA, "repo": short},
		})
	}
	return out
}

func (r *Repo) checkRunJSON(cr *CheckRun) map[string]any {
	e := r.emu
	var conclusion any
	if cr.Conclusion != "" {
		conclusion = cr.Conclusion
	}
	return map[string]any{
		"id": cr.ID, "node_id": fmt.Sprintf("CR_%d", cr.ID), "head_sha": cr.HeadSHA, "external_id": cr.ExternalID,
		"url":          e.apiURL("/repos/%s/check-runs/%d", r.FullName(), cr.ID),
		"html_url":     e.htmlURL("/%s/runs/%d", r.FullName(), cr.ID),
		"details_url":  cr.DetailsURL,
		"status":       cr.Status,
		"conclusion":   conclusion,
		"started_at":   tsOrNil(cr.StartedAt),
		"completed_at": tsOrNil(cr.CompletedAt),
		"name":         cr.Name,
		"output": map[string]any{
			"title": nilIfEmpty(cr.Output.Title), "summary": nilIfEmpty(cr.Output.Summary), "text": nilIfEmpty(cr.Output.Text),
			"annotations_count": len(cr.Output.Annotations),
			"annotations_url":   e.apiURL("/repos/%s/check-runs/%d/annotations", r.FullName(), cr.ID),
		},
		"check_suite":   map[string]any{"id": cr.SuiteID},
		"app":           r.emu.runAppJSON(cr),
		"pull_requests": r.prRefsFor(cr.HeadSHA),
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (e *Emulator) createCheckRun(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	var in checkRunInput
	if !decodeBody(w, r, &in) {
		return
	}
	errs := in.validate()
	if in.Name == nil || *in.Name == "" {
		errs = append(errs, fieldError{Resource: "CheckRun", Field: "name", Code: "missing_field"})
	}
	if in.HeadSHA == nil || *in.HeadSHA == "" {
		errs = append(errs, fieldError{Resource: "CheckRun", Field: "head_sha", Code: "missing_field"})
	}
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if rp.commits[*in.HeadSHA] == nil {
		noCommit(w, *in.HeadSHA)
		return
	}
	cr := &CheckRun{ID: e.newID(), HeadSHA: *in.HeadSHA, Status: "queued"}
	in.apply(cr, e.now())
	cr.SuiteID = rp.suiteFor(cr.HeadSHA).ID
	rp.checkRuns[cr.ID] = cr
	writeJSON(w, http.StatusCreated, rp.checkRunJSON(cr))
}

func (e *Emulator) lookupCheckRun(w http.ResponseWriter, r *http.Request) (*Repo, *CheckRun, bool) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return nil, nil, false
	}
	id, _ := pathInt(r, "id")
	e.mu.Lock()
	cr := rp.checkRuns[id]
	e.mu.Unlock()
	if cr == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil, nil, false
	}
	return rp, cr, true
}

func (e *Emulator) getCheckRun(w http.ResponseWriter, r *http.Request) {
	rp, cr, ok := e.lookupCheckRun(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSON(w, http.StatusOK, rp.checkRunJSON(cr))
}

func (e *Emulator) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	rp, cr, ok := e.lookupCheckRun(w, r)
	if !ok {
		return
	}
	var in checkRunInput
	if !decodeBody(w, r, &in) {
		return
	}
	if errs := in.validate(); len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	in.apply(cr, e.now())
	cr.Updates++
	writeJSON(w, http.StatusOK, rp.checkRunJSON(cr))
}

func (e *Emulator) listAnnotations(w http.ResponseWriter, r *http.Request) {
	_, cr, ok := e.lookupCheckRun(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	anns := cr.Output.Annotations
	start, end := paginate(w, r, len(anns))
	out := []any{}
	for _, a := range anns[start:end] {
		out = append(out, map[string]any{
			"path": a.Path, "start_line": a.StartLine, "end_line": a.EndLine, "start_column": a.StartColumn,
			"end_column": a.EndColumn, "annotation_level": a.Level, "message": a.Message,
			"title": nilIfEmpty(a.Title), "raw_details": nilIfEmpty(a.RawDetails), "blob_href": e.htmlURL("/blob/%s/%s", cr.HeadSHA, a.Path),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// filterRuns applies check_name, status and filter=latest (the default: newest run per name).
func filterRuns(runs []*CheckRun, r *http.Request) []*CheckRun {
	q := r.URL.Query()
	var out []*CheckRun
	for _, cr := range runs {
		if (q.Get("check_name") == "" || cr.Name == q.Get("check_name")) && (q.Get("status") == "" || cr.Status == q.Get("status")) {
			out = append(out, cr)
		}
	}
	if q.Get("filter") != "all" {
		latest := map[string]*CheckRun{}
		for _, cr := range out {
			latest[cr.Name] = cr
		}
		out = slices.DeleteFunc(out, func(cr *CheckRun) bool { return latest[cr.Name] != cr })
	}
	slices.SortFunc(out, func(a, b *CheckRun) int { return int(b.ID - a.ID) })
	return out
}

func (e *Emulator) writeRuns(w http.ResponseWriter, r *http.Request, rp *Repo, runs []*CheckRun) {
	runs = filterRuns(runs, r)
	start, end := paginate(w, r, len(runs))
	out := []any{}
	for _, cr := range runs[start:end] {
		out = append(out, rp.checkRunJSON(cr))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(runs), "check_runs": out})
}

func (e *Emulator) listCheckRunsForRef(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha, ok := rp.resolveOr422(w, r.PathValue("ref"))
	if !ok {
		return
	}
	e.writeRuns(w, r, rp, rp.runsFor(sha))
}

func (e *Emulator) listCheckRunsInSuite(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	id, _ := pathInt(r, "id")
	e.mu.Lock()
	defer e.mu.Unlock()
	var runs []*CheckRun
	for _, cr := range rp.checkRuns {
		if cr.SuiteID == id {
			runs = append(runs, cr)
		}
	}
	slices.SortFunc(runs, func(a, b *CheckRun) int { return int(a.ID - b.ID) })
	e.writeRuns(w, r, rp, runs)
}

func (r *Repo) headCommitJSON(sha string) map[string]any {
	c := r.commits[sha]
	if c == nil {
		return nil
	}
	who := map[string]any{"name": c.author, "email": noreplyEmail(c.author), "username": c.author}
	return map[string]any{"id": c.sha, "tree_id": c.tree, "message": c.message, "timestamp": ts(c.time), "author": who, "committer": who}
}

func (r *Repo) checkSuiteJSON(s *CheckSuite) map[string]any {
	e := r.emu
	st := r.suiteState(s)
	var conclusion, branch any
	if st.Conclusion != "" {
		conclusion = st.Conclusion
	}
	if s.HeadBranch != "" {
		branch = s.HeadBranch
	}
	before := ""
	if c := r.commits[s.HeadSHA]; c != nil && len(c.parents) > 0 {
		before = c.parents[0]
	}
	count := 0
	for _, cr := range r.checkRuns {
		if cr.SuiteID == s.ID {
			count++
		}
	}
	return map[string]any{
		"id": s.ID, "node_id": fmt.Sprintf("CS_%d", s.ID), "head_branch": branch, "head_sha": s.HeadSHA,
		"status": st.Status, "conclusion": conclusion, "before": before, "after": s.HeadSHA,
		"url":                     e.apiURL("/repos/%s/check-suites/%d", r.FullName(), s.ID),
		"check_runs_url":          e.apiURL("/repos/%s/check-suites/%d/check-runs", r.FullName(), s.ID),
		"pull_requests":           r.prRefsFor(s.HeadSHA),
		"app":                     e.appJSON(),
		"repository":              r.json(),
		"created_at":              ts(s.created),
		"updated_at":              ts(s.updated),
		"head_commit":             r.headCommitJSON(s.HeadSHA),
		"latest_check_runs_count": count,
		"rerequestable":           true,
		"runs_rerequestable":      true,
	}
}

func (e *Emulator) getCheckSuite(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	id, _ := pathInt(r, "id")
	e.mu.Lock()
	defer e.mu.Unlock()
	s := rp.checkSuites[id]
	if s == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, rp.checkSuiteJSON(s))
}

func (e *Emulator) listCheckSuitesForRef(w http.ResponseWriter, r *http.Request) {
	rp, ok := e.lookupRepo(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sha, ok := rp.resolveOr422(w, r.PathValue("ref"))
	if !ok {
		return
	}
	suites := rp.suitesFor(sha)
	start, end := paginate(w, r, len(suites))
	out := []any{}
	for _, s := range suites[start:end] {
		out = append(out, rp.checkSuiteJSON(s))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(suites), "check_suites": out})
}

func (r *Repo) checkSuitePayload(s *CheckSuite, action, sender string) map[string]any {
	p := r.emu.repoEventBase(r, action, sender)
	p["check_suite"] = r.checkSuiteJSON(s)
	return p
}

func (r *Repo) checkRunPayload(cr *CheckRun, action, sender string) map[string]any {
	p := r.emu.repoEventBase(r, action, sender)
	j := r.checkRunJSON(cr)
	j["check_suite"] = r.checkSuiteJSON(r.checkSuites[cr.SuiteID])
	p["check_run"] = j
	return p
}

// RequestCheckSuite sends check_suite "requested" for sha, as GitHub does after a push.
func (r *Repo) RequestCheckSuite(sha, sender string) CheckSuite {
	return r.suiteEvent(sha, "requested", sender)
}

// RerequestCheckSuite sends check_suite "rerequested", as when a user clicks "Re-run all checks".
func (r *Repo) RerequestCheckSuite(sha, sender string) CheckSuite {
	return r.suiteEvent(sha, "rerequested", sender)
}

func (r *Repo) suiteEvent(sha, action, sender string) CheckSuite {
	e := r.emu
	e.mu.Lock()
	s := r.suiteFor(sha)
	e.user(sender)
	ev := pendingEvent{"check_suite", r.checkSuitePayload(s, action, sender)}
	out := r.suiteState(s)
	e.mu.Unlock()
	e.dispatch(ev)
	return out
}

// RerequestCheckRun sends check_run "rerequested" for a run, as when a user clicks "Re-run".
func (r *Repo) RerequestCheckRun(id int64, sender string) {
	r.runEvent(id, "rerequested", sender, "")
}

// RequestAction sends check_run "requested_action", as when a user clicks the action
// button with identifier.
func (r *Repo) RequestAction(id int64, identifier, sender string) {
	r.runEvent(id, "requested_action", sender, identifier)
}

func (r *Repo) runEvent(id int64, action, sender, identifier string) {
	e := r.emu
	e.mu.Lock()
	cr := r.checkRuns[id]
	if cr == nil {
		e.mu.Unlock()
		panic(fmt.Sprintf("githubemu: no check run %d in %s", id, r.FullName()))
	}
	e.user(sender)
	p := r.checkRunPayload(cr, action, sender)
	if identifier != "" {
		p["requested_action"] = map[string]any{"identifier": identifier}
	}
	e.mu.Unlock()
	e.dispatch(pendingEvent{"check_run", p})
}

// MergeGroup is a merge queue entry: a temporary branch holding the PR merged onto its base.
type MergeGroup struct {
	HeadSHA, HeadRef, BaseSHA, BaseRef string
}

// EnqueueMergeGroup adds the pull request to the merge queue: it builds the
// gh-readonly-queue branch with the PR merged onto the base tip and sends merge_group
// "checks_requested".
func (pr *PullRequest) EnqueueMergeGroup(sender string) MergeGroup {
	r := pr.repo
	e := r.emu
	e.mu.Lock()
	base := r.branches[pr.BaseRef]
	branch := fmt.Sprintf("gh-readonly-queue/%s/pr-%d-%s", pr.BaseRef, pr.Number, pr.headSHA)
	r.branches[branch] = base
	msg := fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", pr.Number, pr.Author, pr.HeadRef, pr.title)
	sha := r.commitLocked(branch, r.changesToApply(base, pr.headSHA), msg, sender, pr.headSHA)
	mg := MergeGroup{HeadSHA: sha, HeadRef: "refs/heads/" + branch, BaseSHA: base, BaseRef: "refs/heads/" + pr.BaseRef}
	p := e.repoEventBase(r, "checks_requested", sender)
	p["merge_group"] = map[string]any{
		"head_sha": mg.HeadSHA, "head_ref": mg.HeadRef, "base_sha": mg.BaseSHA, "base_ref": mg.BaseRef,
		"head_commit": r.headCommitJSON(sha),
	}
	evs := []pendingEvent{{"merge_group", p}}
	if e.opts.CheckSuiteOnPush {
		// GitHub also asks for the app's suite on the queue branch's commit,
		// alongside merge_group.
		evs = append(evs, pendingEvent{"check_suite", r.checkSuitePayload(r.suiteFor(sha), "requested", sender)})
	}
	e.mu.Unlock()
	e.dispatch(evs...)
	return mg
}
