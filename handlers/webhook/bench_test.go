package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
)

// p99Target is the goal for the webhook path (verify + store + ack)
// on two cores.
const p99Target = 20 * time.Millisecond

// The load is fixed, not scaled by b.N: `make bench` runs each benchmark
// once (-benchtime 1x), and a percentile needs many samples.
const (
	benchRequests = 2000
	benchSenders  = 32
	benchWarmup   = 200
)

// BenchmarkWebhookIntake sends benchRequests real HTTP deliveries over
// loopback from benchSenders concurrent senders into a server whose SQLite
// inbox lives in a temp dir and whose worker pool runs (a no-op handler), so
// claims and completions compete with the intake for the database as in
// production. GOMAXPROCS is 2, the two cores.
//
// It reports p50 and p99 in ms, p99 against the 20 ms target, and p99 against
// a baseline measured in the same process: the same requests to a handler
// that only verifies the signature and answers, which is what loopback HTTP
// and the HMAC cost on this machine before any storing.
func BenchmarkWebhookIntake(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	h := newBenchHarness(b)
	h.start()
	payload := h.prPayload()
	baseline := httptest.NewServer(verifyOnly([]byte(testSecret)))
	defer baseline.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchSenders, MaxConnsPerHost: benchSenders}}
	defer client.CloseIdleConnections()

	// Warm both paths: connections, the SQLite page cache, the Go heap.
	sendLoad(b, client, baseline.URL, payload, "warm-base", benchWarmup)
	sendLoad(b, client, h.hookURL(), payload, "warm-intake", benchWarmup)

	var base, intake []time.Duration
	b.SetBytes(int64(len(payload)) * benchRequests)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		base = append(base, sendLoad(b, client, baseline.URL, payload, fmt.Sprintf("base-%d", i), benchRequests)...)
		b.StartTimer()
		intake = append(intake, sendLoad(b, client, h.hookURL(), payload, fmt.Sprintf("bench-%d", i), benchRequests)...)
	}
	b.StopTimer()

	// Every 202 must mean stored: count the rows behind the answers.
	var stored int
	if err := h.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM inbox_deliveries`).Scan(&stored); err != nil {
		b.Fatal(err)
	}
	if want := b.N*benchRequests + benchWarmup; stored != want {
		b.Fatalf("%d deliveries stored, want %d", stored, want)
	}

	slices.Sort(base)
	slices.Sort(intake)
	p50, p99 := percentile(intake, 0.50), percentile(intake, 0.99)
	b.ReportMetric(ms(p50), "p50_ms")
	b.ReportMetric(ms(p99), "p99_ms")
	b.ReportMetric(float64(p99)/float64(p99Target), "ratio_p99_vs_target")
	b.ReportMetric(ms(percentile(base, 0.99)), "baseline_p99_ms")
	b.ReportMetric(float64(p99)/float64(percentile(base, 0.99)), "ratio_p99_vs_baseline")
	b.ReportMetric(0, "ns/op") // one op is a whole load; its time says nothing on its own
}

// sendLoad POSTs n signed deliveries to url from benchSenders goroutines and
// returns each request's latency. Every delivery must be accepted.
func sendLoad(b *testing.B, client *http.Client, url string, payload []byte, prefix string, n int) []time.Duration {
	b.Helper()
	sig := Sign(testSecret, payload)
	var (
		next      atomic.Int64
		failures  atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		wg        sync.WaitGroup
	)
	for range benchSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, n/benchSenders+1)
			for {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(EventHeader, "pull_request")
				req.Header.Set(DeliveryHeader, fmt.Sprintf("%s-%d", prefix, i))
				req.Header.Set(SignatureHeader, sig)
				start := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				mine = append(mine, time.Since(start))
				if err != nil || res.StatusCode != http.StatusAccepted {
					failures.Add(1)
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%s: %d of %d deliveries were not accepted", prefix, f, n)
	}
	return latencies
}

// verifyOnly is the baseline: read the body, check the signature, answer as
// the intake does, store nothing.
func verifyOnly(secret []byte) http.Handler {
	secrets := [][]byte{secret}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil || !validSignature(secrets, r.Header.Get(SignatureHeader), body) {
			writeJSON(w, http.StatusUnauthorized, hookResponse{Status: "rejected"})
			return
		}
		writeJSON(w, http.StatusAccepted, hookResponse{Delivery: r.Header.Get(DeliveryHeader), Status: "stored"})
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * q)
	return sorted[i]
}

// newBenchHarness builds the test harness for a benchmark: production
// defaults for the inbox and worker pool.
func newBenchHarness(b *testing.B) *harness {
	b.Helper()
	return newHarness(b, b.TempDir(), Options{Secrets: []string{testSecret}, Handlers: []githubapp.EventHandler{newTestHandler(nil)}})
}
