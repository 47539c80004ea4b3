package githubemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const docsURL = "https://docs.github.com/rest"

// routes registers every endpoint on a ServeMux. Unknown routes fall to notFound, which
// answers GitHub's JSON 404 and is recorded like any call so tests notice the typo.
func (e *Emulator) routes() {
	m := http.NewServeMux()
	h := func(pattern string, fn http.HandlerFunc) { m.HandleFunc(pattern, fn) }

	// App and installations.
	h("GET /app", e.getApp)
	h("GET /app/installations", e.listInstallations)
	h("GET /app/installations/{id}", e.getInstallation)
	h("POST /app/installations/{id}/access_tokens", e.createAccessToken)
	h("GET /repos/{owner}/{repo}/installation", e.getRepoInstallation)
	h("GET /installation/repositories", e.listInstallationRepos)
	h("GET /rate_limit", e.getRateLimit)

	// Repos and git data.
	h("GET /repos/{owner}/{repo}", e.getRepo)
	h("GET /repos/{owner}/{repo}/commits", e.listCommits)
	h("GET /repos/{owner}/{repo}/commits/{ref...}", e.getCommit)
	h("GET /repos/{owner}/{repo}/git/commits/{sha}", e.getGitCommit)
	h("GET /repos/{owner}/{repo}/git/trees/{sha}", e.getTree)
	h("GET /repos/{owner}/{repo}/git/blobs/{sha}", e.getBlob)
	h("GET /repos/{owner}/{repo}/git/ref/{ref...}", e.getRef)
	h("GET /repos/{owner}/{repo}/git/refs/{ref...}", e.getRef)
	h("GET /repos/{owner}/{repo}/contents/{path...}", e.getContents)
	h("GET /repos/{owner}/{repo}/contents", e.getContents)
	h("GET /repos/{owner}/{repo}/tarball/{ref...}", e.getTarball)
	h("GET /repos/{owner}/{repo}/tarball", e.getTarball)
	h("GET /repos/{owner}/{repo}/compare/{basehead...}", e.getCompare)
	h("GET /repos/{owner}/{repo}/branches", e.listBranches)
	h("GET /repos/{owner}/{repo}/branches/{branch...}", e.getBranch)
	h("GET /_codeload/{owner}/{repo}/legacy.tar.gz/{sha}", e.downloadTarball)
	h("GET /_raw/{owner}/{repo}/{sha}/{path...}", e.downloadRaw)

	// Pulls.
	h("GET /repos/{owner}/{repo}/pulls", e.listPulls)
	h("GET /repos/{owner}/{repo}/pulls/{number}", e.getPull)
	h("GET /repos/{owner}/{repo}/commits/{sha}/pulls", e.listPullsForCommit)
	h("GET /repos/{owner}/{repo}/pulls/{number}/files", e.listPullFiles)
	h("GET /repos/{owner}/{repo}/pulls/{number}/commits", e.listPullCommits)
	h("GET /repos/{owner}/{repo}/pulls/{number}/reviews", e.listReviews)
	h("POST /repos/{owner}/{repo}/pulls/{number}/reviews", e.createReview)
	h("GET /repos/{owner}/{repo}/collaborators/{user}/permission", e.getPermission)

	// Issues: comments, reactions, labels.
	h("GET /repos/{owner}/{repo}/issues/{number}", e.getIssue)
	h("GET /repos/{owner}/{repo}/issues/{number}/comments", e.listComments)
	h("POST /repos/{owner}/{repo}/issues/{number}/comments", e.createComment)
	h("GET /repos/{owner}/{repo}/issue-comments/{id}", e.getComment)
	h("PATCH /repos/{owner}/{repo}/issue-comments/{id}", e.editComment)
	h("DELETE /repos/{owner}/{repo}/issue-comments/{id}", e.deleteComment)
	h("GET /repos/{owner}/{repo}/issue-comments/{id}/reactions", e.listReactions)
	h("POST /repos/{owner}/{repo}/issue-comments/{id}/reactions", e.createReaction)
	h("GET /repos/{owner}/{repo}/issues/{number}/labels", e.listLabels)
	h("POST /repos/{owner}/{repo}/issues/{number}/labels", e.addLabels)
	h("PUT /repos/{owner}/{repo}/issues/{number}/labels", e.setLabels)
	h("DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}", e.removeLabel)

	// Checks.
	h("POST /repos/{owner}/{repo}/check-runs", e.createCheckRun)
	h("GET /repos/{owner}/{repo}/check-runs/{id}", e.getCheckRun)
	h("PATCH /repos/{owner}/{repo}/check-runs/{id}", e.updateCheckRun)
	h("GET /repos/{owner}/{repo}/check-runs/{id}/annotations", e.listAnnotations)
	h("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", e.listCheckRunsForRef)
	h("GET /repos/{owner}/{repo}/check-suites/{id}", e.getCheckSuite)
	h("GET /repos/{owner}/{repo}/check-suites/{id}/check-runs", e.listCheckRunsInSuite)
	h("GET /repos/{owner}/{repo}/commits/{ref}/check-suites", e.listCheckSuitesForRef)

	// Deployments.
	h("POST /repos/{owner}/{repo}/deployments", e.createDeployment)
	h("GET /repos/{owner}/{repo}/deployments", e.listDeployments)
	h("GET /repos/{owner}/{repo}/deployments/{id}", e.getDeployment)
	h("POST /repos/{owner}/{repo}/deployments/{id}/statuses", e.createDeploymentStatus)
	h("GET /repos/{owner}/{repo}/deployments/{id}/statuses", e.listDeploymentStatuses)
	h("GET /repos/{owner}/{repo}/environments", e.listEnvironments)
	h("GET /repos/{owner}/{repo}/environments/{name}", e.getEnvironment)

	// Teams.
	h("GET /orgs/{org}/teams", e.listTeams)
	h("GET /orgs/{org}/teams/{slug}", e.getTeam)
	h("GET /orgs/{org}/teams/{slug}/members", e.listTeamMembers)
	h("GET /orgs/{org}/teams/{slug}/memberships/{user}", e.getTeamMembership)
	h("GET /orgs/{org}/members/{user}", e.checkOrgMember)

	h("/", e.notFound)
	e.mux = m
}

// Call is one API request as the emulator saw it.
type Call struct {
	Method string
	// Path is without any "/api/v3" prefix, so assertions need not care how the client was built.
	Path   string
	Query  url.Values
	Body   []byte
	Status int
	Time   time.Time
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

type ctxKey int

const origPathKey ctxKey = iota

// serve is the front door: prefix stripping, request IDs, recording, faults, auth and the
// rate limit, in the order GitHub applies them as far as a client can tell.
func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	origPath := r.URL.Path
	if p, ok := strings.CutPrefix(r.URL.Path, "/api/v3"); ok && (p == "" || p[0] == '/') {
		if p == "" {
			p = "/"
		}
		r.URL.Path = p
		r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, "/api/v3")
	}
	recPath := r.URL.Path
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r = r.WithContext(context.WithValue(r.Context(), origPathKey, origPath))

	e.mu.Lock()
	e.reqSeq++
	reqID := fmt.Sprintf("%04X:%04X:%06X:%06X:%08X", e.opts.AppID%0xFFFF, e.reqSeq%0xFFFF, e.reqSeq, e.reqSeq*7, e.now().Unix())
	e.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	rec.Header().Set("X-GitHub-Request-Id", reqID)
	rec.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	rec.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	defer func() {
		e.mu.Lock()
		e.calls = append(e.calls, Call{
			Method: r.Method, Path: recPath, Query: r.URL.Query(), Body: body,
			Status: rec.status, Time: e.now(),
		})
		e.mu.Unlock()
	}()

	download := strings.HasPrefix(recPath, "/_codeload/") || strings.HasPrefix(recPath, "/_raw/")
	if !download {
		if e.injectFault(rec, r) {
			return
		}
		if !e.authorize(rec, r) {
			return
		}
		if r.URL.Path != "/rate_limit" && !e.spendRate(rec) {
			return
		}
	}
	if p, raw := internalPath(r.URL.Path); p != r.URL.Path || raw != "" {
		r.URL.Path, r.URL.RawPath = p, raw
	}
	if !download {
		if hit := e.takeFault(rec, r, true); hit != nil {
			// The request takes effect; its answer is lost and the fault sent instead.
			e.mux.ServeHTTP(httptest.NewRecorder(), r)
			writeFault(rec, hit)
			return
		}
	}
	e.mux.ServeHTTP(rec, r)
}

// internalPath adapts two GitHub paths ServeMux cannot express; calls record the real
// path. /issues/comments/{id} overlaps /issues/{number}/..., so it is routed under an
// internal name. A ref with slashes before /check-runs or /check-suites (go-github does not
// escape it) is escaped into one segment, returned as the raw path.
func internalPath(p string) (path, raw string) {
	parts := strings.SplitN(p, "/", 7)
	if len(parts) >= 7 && parts[1] == "repos" && parts[4] == "issues" && parts[5] == "comments" {
		return strings.Join(parts[:4], "/") + "/issue-comments/" + parts[6], ""
	}
	if len(parts) >= 7 && parts[1] == "repos" && parts[4] == "commits" {
		for _, suffix := range []string{"/check-runs", "/check-suites"} {
			ref, ok := strings.CutSuffix(parts[5]+"/"+parts[6], suffix)
			if ok && strings.Contains(ref, "/") {
				prefix := strings.Join(parts[:5], "/") + "/"
				return prefix + ref + suffix, prefix + url.PathEscape(ref) + suffix
			}
		}
	}
	return p, ""
}

func (e *Emulator) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "Not Found")
}

// spendRate takes one request from the budget and sets GitHub's rate headers; at zero it
// answers 403 with X-RateLimit-Remaining: 0, which go-github turns into a RateLimitError.
func (e *Emulator) spendRate(w http.ResponseWriter) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.now().Before(e.rateReset) {
		e.rateUsed = 0
		e.rateReset = e.now().Add(time.Hour)
	}
	over := e.rateUsed >= e.opts.RateLimit
	if !over {
		e.rateUsed++
	}
	e.setRateHeaders(w)
	if over {
		writeJSON(w, http.StatusForbidden, map[string]any{
			"message":           fmt.Sprintf("API rate limit exceeded for installation ID %d.", e.opts.InstallationID),
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
		})
		return false
	}
	return true
}

// setRateHeaders needs e.mu held.
func (e *Emulator) setRateHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(e.opts.RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, e.opts.RateLimit-e.rateUsed)))
	h.Set("X-RateLimit-Used", strconv.Itoa(e.rateUsed))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(e.rateReset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// SetRateRemaining sets how many core requests are left in the current window, for tests
// of rate-limit handling.
func (e *Emulator) SetRateRemaining(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rateUsed = max(0, e.opts.RateLimit-n)
}

func (e *Emulator) getRateLimit(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setRateHeaders(w)
	core := map[string]any{
		"limit": e.opts.RateLimit, "remaining": max(0, e.opts.RateLimit-e.rateUsed),
		"reset": e.rateReset.Unix(), "used": e.rateUsed, "resource": "core",
	}
	other := func(name string, limit int) map[string]any {
		return map[string]any{"limit": limit, "remaining": limit, "reset": e.rateReset.Unix(), "used": 0, "resource": name}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"resources": map[string]any{
			"core": core, "search": other("search", 30), "graphql": other("graphql", 5000),
			"integration_manifest": other("integration_manifest", 5000), "code_search": other("code_search", 10),
		},
		"rate": core,
	})
}

// Calls returns every API request so far, oldest first.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// CallsTo returns the calls with the method (any when "") whose path starts with pathPrefix.
func (e *Emulator) CallsTo(method, pathPrefix string) []Call {
	var out []Call
	for _, c := range e.Calls() {
		if (method == "" || strings.EqualFold(c.Method, method)) && strings.HasPrefix(c.Path, pathPrefix) {
			out = append(out, c)
		}
	}
	return out
}

// UnmatchedCalls returns calls that hit no route, which usually means a wrong path in the
// code under test.
func (e *Emulator) UnmatchedCalls() []Call {
	var out []Call
	for _, c := range e.Calls() {
		if c.Status == http.StatusNotFound && !e.routed(c.Method, c.Path) {
			out = append(out, c)
		}
	}
	return out
}

func (e *Emulator) routed(method, p string) bool {
	ip, raw := internalPath(p)
	if raw != "" {
		ip = raw
	}
	req, err := http.NewRequest(method, "http://emu"+ip, nil)
	if err != nil {
		return false
	}
	_, pattern := e.mux.Handler(req)
	return pattern != "/"
}

// ResetCalls forgets recorded calls.
func (e *Emulator) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": docsURL, "status": strconv.Itoa(status)})
}

// fieldError is one entry of GitHub's 422 "errors" list.
type fieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func writeValidation(w http.ResponseWriter, errs ...fieldError) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed", "errors": errs, "documentation_url": docsURL, "status": "422",
	})
}

// decodeBody reads a JSON body; it answers 400 "Problems parsing JSON" like GitHub on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// paginate cuts total items into the requested page (per_page default 30, max 100) and
// sets the Link header GitHub sends, pointing at the path the client actually used.
func paginate(w http.ResponseWriter, r *http.Request, total int) (start, end int) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	last := max(1, (total+per-1)/per)
	start = min((page-1)*per, total)
	end = min(start+per, total)

	origPath, _ := r.Context().Value(origPathKey).(string)
	link := func(p int, rel string) string {
		q2 := r.URL.Query()
		q2.Set("page", strconv.Itoa(p))
		q2.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, requestBase(r), origPath, q2.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return start, end
}

// requestBase is scheme://host of the request, for absolute URLs the client can follow.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// apiURL is the absolute API URL of a path, for "url" fields. Callers hold e.mu.
func (e *Emulator) apiURL(format string, args ...any) string {
	return e.baseURL + fmt.Sprintf(format, args...)
}

// htmlURL stands in for github.com pages; nothing is served there.
func (e *Emulator) htmlURL(format string, args ...any) string {
	return e.baseURL + "/_html" + fmt.Sprintf(format, args...)
}

func pathInt(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n, err == nil
}
