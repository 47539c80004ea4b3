package demo

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestScenario plays the demo end to end — signed webhooks into the real
// server, checks, the policy gate, commands — and asserts what the PRs show.
func TestScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo scenario runs the whole server")
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Run(ctx, &out, Options{SampleRepo: "../../testdata/sample-repo", Timeout: 45 * time.Second}); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"✗ conveyor/airflow",      // the catch-up storm fails the DAG check
		"backfill-storm",          // … at the DAG's line
		"sql-copy-force",          // the load would duplicate rows on every re-run
		"CONTRACT-BREAKING",       // the contract change needs its consumers
		"| `fct_daily_revenue` |", // the dbt impact list reaches the finance mart
		"`dbt_orders_build` (`dags/dbt_orders_build.py:54`)", // … and the DAG that builds it
		"Still must approve", // the DevOps gate before approval
		"✓ conveyor/terraform     success   Static policy clean; DevOps review required", // the infra PR's own check
		"✓ conveyor/policy        success   Approved by all 2 owner group(s)",
		"Not allowed: only @parcelflow/data-eng-leads, @parcelflow/devops may run /promote in prod.",
		"prod is locked by @dave",                                   // an accepted command
		"prod's bucket equals the good release byte for byte: true", // rollback restored prod exactly
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`🚀 prod +[0-9a-f]{7} +rollback [0-9a-f]{12} by @bob`).MatchString(got) {
		t.Errorf("the rollback does not show as a GitHub deployment to prod by @bob")
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		if !strings.Contains(got, "🚀 "+env) {
			t.Errorf("no GitHub deployment to %s in the demo output", env)
		}
	}
	if t.Failed() {
		t.Log(got)
	}
}
