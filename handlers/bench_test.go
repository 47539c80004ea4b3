package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/configcheck"
	"github.com/parcelflow/conveyor/handlers"
)

// BenchmarkEvaluatePullRequest times one pull_request delivery end to end
// against the emulator, with the tree cache warm (the usual case: a re-run, a
// second event on the same head) and cold (a fresh server), and reports the
// cache's saving as cold/warm.
func BenchmarkEvaluatePullRequest(b *testing.B) {
	h := newHarness(b, func(*witness) *checks.Registry { return checks.NewRegistry(configcheck.Check{}) }, nil)
	files := map[string]string{}
	for i := range 400 {
		files["dags/generated/dag_"+string(rune('a'+i%26))+string(rune('a'+i/26))+".py"] = "from airflow import DAG\n" + strings.Repeat("# task notes\n", 160)
	}
	h.repo.Commit("main", files, "a realistic number of DAGs", "alice")
	pr := h.openPR(b, map[string]string{"dags/daily.py": "x = 1\n"})
	payload := h.emu.PullRequestPayload(pr, "synchronize", "alice")
	ctx := context.Background()
	handle := func(eh interface {
		Handle(context.Context, string, string, []byte) error
	}) time.Duration {
		start := time.Now()
		if err := eh.Handle(ctx, "pull_request", "bench", payload); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var cold, warm time.Duration
	warmHandler := handlers.New(h.deps)[0]
	handle(warmHandler)
	n := 0
	for b.Loop() {
		cold += handle(handlers.New(h.deps)[0])
		warm += handle(warmHandler)
		n++
	}
	b.ReportMetric(float64(warm.Microseconds())/float64(n), "warm-µs/event")
	b.ReportMetric(float64(cold)/float64(warm), "cold/warm")
}
