package webhook

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
	"github.com/rs/zerolog"
)

func TestSignatureCheck(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		signer  string // secret the sender signs with; "" sends no signature
		tamper  bool   // change the body after signing
		want    int
	}{
		{"signed with the secret", []string{testSecret}, testSecret, false, http.StatusAccepted},
		{"unsigned", []string{testSecret}, "", false, http.StatusUnauthorized},
		{"wrong secret", []string{testSecret}, "not-the-secret", false, http.StatusUnauthorized},
		{"body changed after signing", []string{testSecret}, testSecret, true, http.StatusUnauthorized},
		{"old secret during rotation", []string{"new-secret", testSecret}, testSecret, false, http.StatusAccepted},
		{"new secret during rotation", []string{"new-secret", testSecret}, "new-secret", false, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fastOptions(newTestHandler(nil))
			opts.Secrets = tt.secrets
			h := newHarness(t, t.TempDir(), opts)
			body := h.prPayload()
			hdr := http.Header{
				"Content-Type":      {"application/json"},
				"X-Github-Event":    {"pull_request"},
				"X-Github-Delivery": {"d-1"},
			}
			if tt.signer != "" {
				hdr.Set(SignatureHeader, Sign(tt.signer, body))
			}
			if tt.tamper {
				body = append([]byte(nil), body...)
				body[len(body)-2] = ' '
			}
			if got := h.post(http.MethodPost, hdr, body); got != tt.want {
				t.Fatalf("status = %d, want %d", got, tt.want)
			}
			stored := h.stored()
			if tt.want == http.StatusUnauthorized && len(stored) != 0 {
				t.Fatalf("a refused delivery was stored: %+v", stored)
			}
			if tt.want == http.StatusAccepted && (len(stored) != 1 || stored[0].Repository != "parcelflow/data" || stored[0].Action != "opened") {
				t.Fatalf("stored = %+v", stored)
			}
		})
	}
}

func TestUnsignedDeliveriesAreNeverProcessed(t *testing.T) {
	handler := newTestHandler(nil)
	h := newHarness(t, t.TempDir(), fastOptions(handler))
	h.start()
	payload := h.prPayload()
	for i, secret := range []string{"", "wrong", "sha256"} {
		code, _ := h.deliver(secret, "pull_request", githubemu.NewDeliveryID(), payload)
		if code != http.StatusUnauthorized {
			t.Fatalf("delivery %d: status %d, want 401", i, code)
		}
	}
	time.Sleep(150 * time.Millisecond) // three poll intervals: time enough to process anything stored
	if n := handler.total(); n != 0 {
		t.Fatalf("handler called %d times for unsigned deliveries", n)
	}
	if len(h.stored()) != 0 {
		t.Fatal("unsigned deliveries were stored")
	}
	if !strings.Contains(h.logs.String(), "missing or wrong signature") {
		t.Fatal("refusals are not logged")
	}
	if strings.Contains(h.logs.String(), testSecret) {
		t.Fatal("the log contains the secret")
	}
}

func TestRequestValidation(t *testing.T) {
	h := newHarness(t, t.TempDir(), fastOptions(newTestHandler(nil)))
	payload := h.prPayload()
	signed := func(body []byte, mod func(http.Header)) http.Header {
		hdr := http.Header{
			"Content-Type":      {"application/json"},
			"X-Github-Event":    {"pull_request"},
			"X-Github-Delivery": {"d-ok"},
		}
		hdr.Set(SignatureHeader, Sign(testSecret, body))
		if mod != nil {
			mod(hdr)
		}
		return hdr
	}
	form := []byte("payload=" + url.QueryEscape(string(payload)))
	huge := make([]byte, MaxBodyBytes+1)
	tests := []struct {
		name   string
		method string
		hdr    http.Header
		body   []byte
		want   int
		stored bool
	}{
		{"GET", http.MethodGet, nil, nil, http.StatusMethodNotAllowed, false},
		{"too large, even if signed", http.MethodPost, signed(huge, nil), huge, http.StatusRequestEntityTooLarge, false},
		{"missing event header", http.MethodPost, signed(payload, func(h http.Header) { h.Del("X-Github-Event") }), payload, http.StatusBadRequest, false},
		{"missing delivery header", http.MethodPost, signed(payload, func(h http.Header) { h.Del("X-Github-Delivery") }), payload, http.StatusBadRequest, false},
		{"odd delivery id", http.MethodPost, signed(payload, func(h http.Header) { h.Set("X-Github-Delivery", "a b") }), payload, http.StatusBadRequest, false},
		{"not JSON", http.MethodPost, signed([]byte("hello"), nil), []byte("hello"), http.StatusBadRequest, false},
		{"JSON array", http.MethodPost, signed([]byte("[1]"), nil), []byte("[1]"), http.StatusBadRequest, false},
		{"unsupported type", http.MethodPost, signed(payload, func(h http.Header) { h.Set("Content-Type", "text/xml") }), payload, http.StatusUnsupportedMediaType, false},
		{"unhandled event", http.MethodPost, signed(payload, func(h http.Header) { h.Set("X-Github-Event", "star") }), payload, http.StatusAccepted, false},
		{"form encoded", http.MethodPost, signed(form, func(h http.Header) {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			h.Set("X-Github-Delivery", "d-form")
		}), form, http.StatusAccepted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.stored())
			if got := h.post(tt.method, tt.hdr, tt.body); got != tt.want {
				t.Fatalf("status = %d, want %d", got, tt.want)
			}
			if grew := len(h.stored()) > before; grew != tt.stored {
				t.Fatalf("stored = %v, want %v", grew, tt.stored)
			}
		})
	}
	if d := h.delivery("d-form"); string(d.Payload) != string(payload) {
		t.Fatal("form-encoded delivery stored without unwrapping its payload")
	}
}

func TestRedeliveryIsProcessedOnce(t *testing.T) {
	handler := newTestHandler(nil)
	h := newHarness(t, t.TempDir(), fastOptions(handler))
	h.start()
	h.emu.SetWebhookTarget(h.hookURL(), testSecret)
	payload := h.prPayload() // the emulator delivers pull_request "opened" itself
	first, ok := h.emu.LastDelivery("pull_request")
	if !ok || first.Status != http.StatusAccepted {
		t.Fatalf("first delivery = %+v", first)
	}
	waitFor(t, "the first delivery to be processed", func() bool { return h.delivery(first.ID).Status == store.StatusDone })

	// GitHub's "Redeliver" button, then many concurrent copies of a new one.
	again, err := h.emu.Redeliver(first.ID)
	if err != nil || again.Status != http.StatusOK {
		t.Fatalf("redelivery = %+v, %v; want 200", again, err)
	}
	id := githubemu.NewDeliveryID()
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := h.deliver(testSecret, "pull_request", id, payload)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	accepted := 0
	for c := range codes {
		switch c {
		case http.StatusAccepted:
			accepted++
		case http.StatusOK:
		default:
			t.Fatalf("concurrent redelivery answered %d", c)
		}
	}
	if accepted != 1 {
		t.Fatalf("%d copies were stored as new, want 1", accepted)
	}
	waitFor(t, "the second delivery to be processed", func() bool { return h.delivery(id).Status == store.StatusDone })
	time.Sleep(100 * time.Millisecond)
	for _, d := range []string{first.ID, id} {
		if n := len(handler.callTimes(d)); n != 1 {
			t.Errorf("delivery %s handled %d times, want 1", d, n)
		}
	}
	_, metrics := h.get(MetricsPath)
	if !strings.Contains(metrics, `conveyor_webhook_deliveries_deduplicated_total{event="pull_request"} 8`) {
		t.Errorf("dedup metric wrong:\n%s", grepLines(metrics, "deduplicated"))
	}
}

func TestStoredDeliveryIsProcessedAfterRestart(t *testing.T) {
	dir := t.TempDir()
	// The first process stores and acknowledges, then dies before any worker runs.
	first := newHarness(t, dir, fastOptions(newTestHandler(nil)))
	payload := first.prPayload()
	code, _ := first.deliver(testSecret, "pull_request", "survivor", payload)
	if code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	first.close()

	handler := newTestHandler(nil)
	second := newHarness(t, dir, fastOptions(handler))
	if d := second.delivery("survivor"); d.Status != store.StatusPending || d.Attempts != 0 {
		t.Fatalf("after restart: %+v", d)
	}
	second.start()
	waitFor(t, "the stored delivery to be processed", func() bool { return second.delivery("survivor").Status == store.StatusDone })
	if n := len(handler.callTimes("survivor")); n != 1 {
		t.Fatalf("handled %d times, want 1", n)
	}
}

func TestCrashedWorkersClaimIsTakenOver(t *testing.T) {
	handler := newTestHandler(nil)
	opts := fastOptions(handler)
	h := newHarness(t, t.TempDir(), opts)
	code, _ := h.deliver(testSecret, "pull_request", "orphan", h.prPayload())
	if code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	// A worker of a process that then crashed claimed it with a short lease.
	if d, err := h.inbox.Claim(context.Background(), "crashed-process", 300*time.Millisecond); err != nil || d == nil {
		t.Fatalf("claim = %v, %v", d, err)
	}
	h.start()
	waitFor(t, "the orphaned delivery to be processed", func() bool { return h.delivery("orphan").Status == store.StatusDone })
	if d := h.delivery("orphan"); d.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2 (the crashed one and ours)", d.Attempts)
	}
}

func TestFailingHandlerRetriesWithBackoffThenParks(t *testing.T) {
	healthy := false
	var mu sync.Mutex
	handler := newTestHandler(func(ctx context.Context, id string, call int) error {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			return nil
		}
		return errors.New("GitHub said 502")
	})
	h := newHarness(t, t.TempDir(), fastOptions(handler))
	h.start()
	if code, _ := h.deliver(testSecret, "pull_request", "flaky", h.prPayload()); code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	waitFor(t, "the delivery to be parked", func() bool { return h.delivery("flaky").Status == store.StatusFailed })
	d := h.delivery("flaky")
	if d.Attempts != 3 || !strings.Contains(d.LastError, "GitHub said 502") {
		t.Fatalf("parked delivery = %+v", d)
	}
	calls := handler.callTimes("flaky")
	if len(calls) != 3 {
		t.Fatalf("handler called %d times, want 3", len(calls))
	}
	// Backoff is 20ms then 40ms, each at least halved by jitter.
	for i, min := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond} {
		if gap := calls[i+1].Sub(calls[i]); gap < min {
			t.Errorf("attempt %d came %v after the previous one, want at least %v", i+2, gap, min)
		}
	}
	time.Sleep(150 * time.Millisecond)
	if n := len(handler.callTimes("flaky")); n != 3 {
		t.Fatalf("a parked delivery was attempted again (%d calls)", n)
	}
	_, metrics := h.get(MetricsPath)
	for _, want := range []string{
		`conveyor_inbox_attempts_failed_total{event="pull_request"} 3`,
		`conveyor_inbox_deliveries_parked_total{event="pull_request"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// The operator fixes the cause and replays it (`conveyor inbox retry flaky`).
	mu.Lock()
	healthy = true
	mu.Unlock()
	if err := h.inbox.Retry(context.Background(), "flaky"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replayed delivery to finish", func() bool { return h.delivery("flaky").Status == store.StatusDone })
	if n := len(handler.callTimes("flaky")); n != 4 {
		t.Fatalf("handler called %d times in all, want 4", n)
	}
}

func TestHandlerPanicIsAFailedAttempt(t *testing.T) {
	handler := newTestHandler(func(ctx context.Context, id string, call int) error {
		if call == 1 {
			var m map[string]int
			//lint:ignore SA5000 the handler panics on purpose
			m["boom"]++ // a nil-map panic, as a handler bug would cause
		}
		return nil
	})
	h := newHarness(t, t.TempDir(), fastOptions(handler))
	h.start()
	h.deliver(testSecret, "pull_request", "panicky", h.prPayload())
	waitFor(t, "the delivery to finish", func() bool { return h.delivery("panicky").Status == store.StatusDone })
	if d := h.delivery("panicky"); d.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2", d.Attempts)
	}
	if !strings.Contains(h.logs.String(), "handler panicked: assignment to entry in nil map") {
		t.Fatal("the panic was not logged")
	}
}

func TestHandlerContextCarriesDeliveryLogger(t *testing.T) {
	handler := newTestHandler(func(ctx context.Context, id string, call int) error {
		zerolog.Ctx(ctx).Info().Msg("inside the handler")
		return nil
	})
	h := newHarness(t, t.TempDir(), fastOptions(handler))
	h.start()
	h.deliver(testSecret, "pull_request", "logged", h.prPayload())
	waitFor(t, "the delivery to finish", func() bool { return h.delivery("logged").Status == store.StatusDone })
	line := grepLines(h.logs.String(), "inside the handler")
	for _, want := range []string{`"github_delivery_id":"logged"`, `"github_event_type":"pull_request"`,
		`"github_installation_id":`, `"github_repository_owner":"parcelflow"`, `"github_repository_name":"data"`} {
		if !strings.Contains(line, want) {
			t.Errorf("handler log line %q lacks %s", line, want)
		}
	}
}

func TestShutdownLeavesInFlightWorkResumable(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{}, 1)
	stuck := newTestHandler(func(ctx context.Context, id string, call int) error {
		started <- struct{}{}
		<-ctx.Done() // a slow handler that does honour cancellation
		return ctx.Err()
	})
	h := newHarness(t, dir, fastOptions(stuck))
	h.start()
	h.deliver(testSecret, "pull_request", "slow", h.prPayload())
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := h.srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(begin); took > 100*time.Millisecond+releaseGrace {
		t.Fatalf("Shutdown took %v", took)
	}
	if code, _ := h.get(ReadyPath); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while shutting down = %d, want 503", code)
	}
	d := h.delivery("slow")
	if d.Status != store.StatusPending || d.Attempts != 0 || d.ClaimedBy != "" {
		t.Fatalf("after shutdown: %+v; want pending, attempt given back, unclaimed", d)
	}
	h.close()

	done := newTestHandler(nil)
	next := newHarness(t, dir, fastOptions(done))
	next.start()
	waitFor(t, "the interrupted delivery to finish after restart", func() bool { return next.delivery("slow").Status == store.StatusDone })
}

func TestHealthReadyMetrics(t *testing.T) {
	h := newHarness(t, t.TempDir(), fastOptions(newTestHandler(nil)))
	h.start()
	h.deliver(testSecret, "pull_request", "m-1", h.prPayload())
	waitFor(t, "processing", func() bool { return h.delivery("m-1").Status == store.StatusDone })
	tests := []struct {
		path string
		code int
		has  []string
	}{
		{HealthPath, 200, []string{`"ok"`}},
		{ReadyPath, 200, []string{`"ready"`}},
		{MetricsPath, 200, []string{
			`conveyor_webhook_deliveries_received_total{event="pull_request"} 1`,
			`conveyor_inbox_deliveries_processed_total{event="pull_request"} 1`,
			`conveyor_handler_duration_seconds_count{event="pull_request",outcome="ok"} 1`,
			`conveyor_inbox_depth`, `conveyor_inbox_oldest_age_seconds`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := h.get(tt.path)
			if code != tt.code {
				t.Fatalf("status %d, want %d", code, tt.code)
			}
			for _, w := range tt.has {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
		})
	}
	h.db.Close()
	if code, _ := h.get(ReadyPath); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the store closed = %d, want 503", code)
	}
}

func TestNewServerRefusesUnsafeOptions(t *testing.T) {
	inbox := store.NewInbox(nil)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no secret", Options{Inbox: inbox}, "no webhook secret"},
		{"only empty secrets", Options{Inbox: inbox, Secrets: []string{"", ""}}, "no webhook secret"},
		{"no inbox", Options{Secrets: []string{"x"}}, "no inbox"},
		{"two handlers for one event", Options{Inbox: inbox, Secrets: []string{"x"},
			Handlers: []githubapp.EventHandler{newTestHandler(nil, "push"), newTestHandler(nil, "push")}}, "two handlers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServer(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{10, 30 * time.Second, time.Minute},
		{1000, 30 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		t.Run(time.Duration(tt.attempt).String(), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := backoff(tt.attempt, time.Second, time.Minute)
				if d < tt.min || d > tt.max {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.min, tt.max)
				}
				seen[d] = true
			}
			if len(seen) < 10 {
				t.Fatalf("backoff(%d) has no jitter: %d distinct values", tt.attempt, len(seen))
			}
		})
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A handler that deploys runs under its event's own timeout, longer than
// the one every other handler gets.
func TestEventTimeoutsOverrideTheHandlerTimeout(t *testing.T) {
	handler := newTestHandler(func(ctx context.Context, id string, call int) error {
		select {
		case <-time.After(300 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	opts := fastOptions(handler)
	opts.MaxAttempts = 1
	opts.HandlerTimeout = 50 * time.Millisecond
	opts.EventTimeouts = map[string]time.Duration{"push": 5 * time.Second}
	h := newHarness(t, t.TempDir(), opts)
	h.start()
	for id, event := range map[string]string{"slow-push": "push", "slow-pr": "pull_request"} {
		if code, _ := h.deliver(testSecret, event, id, h.prPayload()); code != http.StatusAccepted {
			t.Fatalf("%s: status %d", id, code)
		}
	}
	waitFor(t, "both deliveries to finish", func() bool {
		return h.delivery("slow-push").Status == store.StatusDone && h.delivery("slow-pr").Status == store.StatusFailed
	})
	if d := h.delivery("slow-pr"); !strings.Contains(d.LastError, "deadline") {
		t.Fatalf("the pull_request handler failed with %q, want its 50ms deadline", d.LastError)
	}
}

// An unsigned request is refused from its headers alone: the server does
// not wait for (or hold) a body that could never be GitHub's.
func TestUnsignedBodiesAreNotRead(t *testing.T) {
	h := newHarness(t, t.TempDir(), fastOptions(newTestHandler(nil)))
	h.start()
	u, err := url.Parse(h.hookURL())
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string]string{"no signature": "", "not a signature": "sha256=zz"} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// Announce 20 MB and send none of it.
			req := "POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: big-1\r\n" +
				"Content-Type: application/json\r\nContent-Length: 20000000\r\n"
			if sig != "" {
				req += "X-Hub-Signature-256: " + sig + "\r\n"
			}
			if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer before the body was sent: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
		})
	}
	if got := len(h.stored()); got != 0 {
		t.Fatalf("%d deliveries stored", got)
	}
}
