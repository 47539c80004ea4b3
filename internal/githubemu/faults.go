package githubemu

import (
	"net/http"
	"path"
	"strings"
)

// Fault is a canned failure answered instead of the real response, for retry tests.
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path is a path.Match pattern over the path without "/api/v3" ("*" stays within one
	// segment), or a plain prefix when it has no pattern characters.
	Path string
	// Status is the HTTP status to answer.
	Status int
	// Times is how many matching requests fail; then the fault is spent.
	Times int
	// Headers are added to the response, e.g. Retry-After.
	Headers map[string]string
	// Body is the JSON body; when nil, GitHub's usual body for the status is sent.
	Body []byte
	// AfterHandling lets the request take effect and answers the fault in place of the
	// real response, as when GitHub writes but its answer is lost (a 502 from a proxy, a
	// timeout): the case where a client's retry of a create makes a duplicate.
	AfterHandling bool
}

type fault struct {
	Fault
	left int
}

// FailNext makes the next n requests matching method and pathPattern fail with status and
// headers. A 403 carrying Retry-After gets GitHub's "secondary rate limit" body, so go-github
// returns an AbuseRateLimitError; a 403 carrying X-RateLimit-Remaining: 0 becomes a
// RateLimitError.
func (e *Emulator) FailNext(method, pathPattern string, status, n int, headers map[string]string) {
	e.AddFault(Fault{Method: method, Path: pathPattern, Status: status, Times: n, Headers: headers})
}

// AddFault registers a fault; faults are consulted in the order added.
func (e *Emulator) AddFault(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &fault{Fault: f, left: f.Times})
}

// ClearFaults drops faults not yet spent.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

func faultMatches(f *fault, r *http.Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if ok, err := path.Match(f.Path, r.URL.Path); err == nil && ok {
		return true
	}
	return !strings.ContainsAny(f.Path, "*?[") && strings.HasPrefix(r.URL.Path, f.Path)
}

// injectFault answers a fault registered to replace the request, if one matches.
func (e *Emulator) injectFault(w http.ResponseWriter, r *http.Request) bool {
	hit := e.takeFault(w, r, false)
	if hit == nil {
		return false
	}
	writeFault(w, hit)
	return true
}

// takeFault spends the first matching fault of the given kind (before or after
// handling) and sets the rate headers its answer carries.
func (e *Emulator) takeFault(w http.ResponseWriter, r *http.Request, after bool) *fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	var hit *fault
	for i, f := range e.faults {
		if f.left > 0 && f.AfterHandling == after && faultMatches(f, r) {
			f.left--
			hit = f
			if f.left == 0 {
				e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
			}
			break
		}
	}
	if hit != nil {
		e.setRateHeaders(w)
	}
	return hit
}

func writeFault(w http.ResponseWriter, hit *fault) {
	for k, v := range hit.Headers {
		w.Header().Set(k, v)
	}
	if hit.Body != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(hit.Status)
		_, _ = w.Write(hit.Body)
		return
	}
	switch {
	case hit.Status == http.StatusForbidden && w.Header().Get("X-RateLimit-Remaining") == "0":
		writeJSON(w, hit.Status, map[string]any{
			"message":           "API rate limit exceeded for installation.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
		})
	case hit.Status == http.StatusForbidden || hit.Status == http.StatusTooManyRequests:
		writeJSON(w, hit.Status, map[string]any{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
			"documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	case hit.Status >= 500:
		writeJSON(w, hit.Status, map[string]any{"message": "Server Error"})
	default:
		writeError(w, hit.Status, http.StatusText(hit.Status))
	}
}
