package deploy

import (
	"context"
	"testing"
	"time"
)

// targetMS is the embedded-defaults target for merge-to-prod and for a
// verified rollback: 60 seconds.
const targetMS = 60_000

// BenchmarkMergeToProd times the demo scenario's low-risk release going
// dev → staging → prod (180 DAGs, a warehouse migration, smoke tests).
func BenchmarkMergeToProd(b *testing.B) {
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b, 180)
		e := h.engine("bench", time.Minute)
		v1 := h.build(e, version{gen: 1}, "low", 1)
		if _, err := e.Flow(ctx, FlowRequest{ReleaseID: v1.ID, Actor: "alice"}); err != nil {
			b.Fatal(err)
		}
		v2 := h.build(e, version{gen: 2, changed: map[int]string{90: "from airflow import DAG\n# v2\n"}, orders: `SELECT * FROM (VALUES (1, 10), (2, 25)) t(id, amount)`}, "low", 2)
		b.StartTimer()
		start := time.Now()
		res, err := e.Flow(ctx, FlowRequest{ReleaseID: v2.ID, Actor: "bob"})
		total += time.Since(start)
		if err != nil || len(res.Deployments) != 3 {
			b.Fatalf("flow: %v (%d deployments)", err, len(res.Deployments))
		}
	}
	ms := float64(total.Milliseconds()) / float64(b.N)
	b.ReportMetric(ms, "ms_per_op")
	b.ReportMetric(ms/targetMS, "ratio_vs_target")
}

// BenchmarkRollback times /rollback prod after a bad release, until verified.
func BenchmarkRollback(b *testing.B) {
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b, 180)
		e := h.engine("bench", time.Minute)
		v1 := h.build(e, version{gen: 1}, "low", 1)
		if _, err := e.Flow(ctx, FlowRequest{ReleaseID: v1.ID, Actor: "alice"}); err != nil {
			b.Fatal(err)
		}
		bad := h.build(e, version{gen: 2, changed: map[int]string{3: "bad\n", 4: "bad\n"}, orders: `SELECT 1 AS id, 11 AS amount`}, "low", 2)
		if _, err := e.Flow(ctx, FlowRequest{ReleaseID: bad.ID, Actor: "bob"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		d, err := e.Rollback(ctx, Request{Env: "prod", Actor: "oncall"})
		total += time.Since(start)
		if err != nil || d.State != StateSucceeded {
			b.Fatalf("rollback: %v", err)
		}
	}
	ms := float64(total.Milliseconds()) / float64(b.N)
	b.ReportMetric(ms, "ms_per_op")
	b.ReportMetric(ms/targetMS, "ratio_vs_target")
}
