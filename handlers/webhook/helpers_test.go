package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
	"github.com/rs/zerolog"
)

const testSecret = "s3cret-for-tests"

// testHandler records every call and answers with fn (nil: success).
type testHandler struct {
	events []string
	fn     func(ctx context.Context, deliveryID string, call int) error

	mu    sync.Mutex
	calls map[string][]time.Time
}

func newTestHandler(fn func(ctx context.Context, deliveryID string, call int) error, events ...string) *testHandler {
	if len(events) == 0 {
		events = []string{"pull_request", "issue_comment", "push"}
	}
	return &testHandler{events: events, fn: fn, calls: map[string][]time.Time{}}
}

func (h *testHandler) Handles() []string { return h.events }

func (h *testHandler) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	h.mu.Lock()
	h.calls[deliveryID] = append(h.calls[deliveryID], time.Now())
	n := len(h.calls[deliveryID])
	h.mu.Unlock()
	if h.fn != nil {
		return h.fn(ctx, deliveryID, n)
	}
	return nil
}

func (h *testHandler) callTimes(id string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.calls[id]...)
}

func (h *testHandler) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		n += len(c)
	}
	return n
}

// harness is a real server over loopback HTTP with a SQLite inbox in dir.
type harness struct {
	t     testing.TB
	db    *store.DB
	inbox *store.Inbox
	srv   *Server
	http  *httptest.Server
	logs  *syncBuffer
	emu   *githubemu.Emulator
	done  bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func fastOptions(handlers ...*testHandler) Options {
	o := Options{
		Secrets:      []string{testSecret},
		Workers:      2,
		MaxAttempts:  3,
		BackoffBase:  20 * time.Millisecond,
		BackoffMax:   80 * time.Millisecond,
		PollInterval: 50 * time.Millisecond,
		Lease:        3 * time.Second,
	}
	for _, h := range handlers {
		o.Handlers = append(o.Handlers, h)
	}
	return o
}

func newHarness(t testing.TB, dir string, opts Options) *harness {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "conveyor.db"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: db, inbox: store.NewInbox(db), logs: &syncBuffer{}, emu: githubemu.New(githubemu.Options{})}
	opts.Inbox = h.inbox
	opts.Logger = zerolog.New(h.logs)
	h.srv, err = NewServer(opts)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	h.http = httptest.NewServer(h.srv.Handler())
	t.Cleanup(h.close)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.srv.Start(zerolog.New(h.logs).WithContext(context.Background())); err != nil {
		h.t.Fatal(err)
	}
}

// close stops accepting, shuts the workers down and closes the store, as a
// process exit would.
func (h *harness) close() {
	if h.done {
		return
	}
	h.done = true
	h.http.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	h.db.Close()
}

func (h *harness) hookURL() string { return h.http.URL + HookPath }

// deliver sends a GitHub-shaped delivery through the emulator's client;
// secret "" sends it unsigned.
func (h *harness) deliver(secret, event, id string, payload []byte) (int, string) {
	h.t.Helper()
	res, err := h.emu.Deliver(context.Background(), h.hookURL(), secret, event, id, payload)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// post sends a hand-made request for the malformed cases.
func (h *harness) post(method string, header http.Header, body []byte) int {
	h.t.Helper()
	req, err := http.NewRequest(method, h.hookURL(), bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	res, err := http.Get(h.http.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (h *harness) stored() []store.Delivery {
	h.t.Helper()
	all, err := h.inbox.List(context.Background(), store.InboxFilter{})
	if err != nil {
		h.t.Fatal(err)
	}
	return all
}

func (h *harness) delivery(id string) *store.Delivery {
	h.t.Helper()
	d, err := h.inbox.Get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// prPayload is a real pull_request "opened" body from the emulator.
func (h *harness) prPayload() []byte {
	r := h.emu.CreateRepo("parcelflow", "data", "main")
	r.Commit("main", map[string]string{"dags/a.py": "a = 1\n"}, "init", "octocat")
	r.CreateBranch("feature", "main")
	r.Commit("feature", map[string]string{"dags/a.py": "a = 2\n"}, "change", "octocat")
	pr := r.OpenPullRequest(githubemu.PROptions{Head: "feature"})
	return h.emu.PullRequestPayload(pr, "opened", "octocat")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
