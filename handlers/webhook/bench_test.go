package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
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

// BenchmarkWebhookIntake times real HTTP deliveries over loopback into a
// SQLite inbox in a temp dir, from 32 concurrent senders, and reports p50
// and p99 latency and p99 against the 20 ms target. "with_workers" also runs
// the worker pool (no-op handler), so claims and completions compete with
// the intake for the database as they do in production.
func BenchmarkWebhookIntake(b *testing.B) {
	for _, withWorkers := range []bool{false, true} {
		name := "intake_only"
		if withWorkers {
			name = "with_workers"
		}
		b.Run(name, func(b *testing.B) { benchIntake(b, withWorkers) })
	}
}

func benchIntake(b *testing.B, withWorkers bool) {
	const senders = 32
	h := newBenchHarness(b)
	if withWorkers {
		h.start()
	}
	payload := h.prPayload()
	sig := Sign(testSecret, payload)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders}}
	defer client.CloseIdleConnections()

	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		failures  atomic.Int64
		wg        sync.WaitGroup
	)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, b.N/senders+1)
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				req, _ := http.NewRequest(http.MethodPost, h.hookURL(), bytes.NewReader(payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(EventHeader, "pull_request")
				req.Header.Set(DeliveryHeader, fmt.Sprintf("bench-%d-%d", b.N, i))
				req.Header.Set(SignatureHeader, sig)
				start := time.Now()
				res, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, res.Body)
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
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d deliveries were not accepted", n, b.N)
	}
	slices.Sort(latencies)
	p50, p99 := percentile(latencies, 0.50), percentile(latencies, 0.99)
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50_ms")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99_ms")
	b.ReportMetric(float64(p99)/float64(p99Target), "ratio_p99_vs_target")
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * q)
	return sorted[i]
}

// newBenchHarness builds the test harness for a benchmark.
func newBenchHarness(b *testing.B) *harness {
	b.Helper()
	// Production defaults, except that a delivery never waits for a retry.
	return newHarness(b, b.TempDir(), Options{Secrets: []string{testSecret}, Handlers: []githubapp.EventHandler{newTestHandler(nil)}})
}
