package dbt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/deploy/executor"
)

// fakeDbt is a stand-in for dbt on PATH: it refuses to run outside the
// project folder, as dbt does, then prints what it was asked and does what
// the case's body says.
func fakeDbt(t *testing.T, body string) string {
	t.Helper()
	bin := t.TempDir()
	script := "#!/bin/sh\n[ -f dbt_project.yml ] || { echo 'Runtime Error: not a dbt project (no dbt_project.yml)' >&2; exit 3; }\necho \"dbt $*\"\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(bin, "dbt"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

const (
	runResultsFailing = `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json", "invocation_id": "b"},
  "results": [
    {"unique_id": "model.parcelflow.stg_orders", "status": "success", "message": "SUCCESS 1", "execution_time": 0.4},
    {"unique_id": "model.parcelflow.fct_daily_revenue", "status": "error", "message": "Database Error: invalid identifier 'REFUNDS'", "execution_time": 0.2},
    {"unique_id": "test.parcelflow.not_null_stg_orders_order_id.5e2c1a0b9f", "status": "fail", "message": "Got 3 results, configured to fail if != 0", "execution_time": 0.1}]}`
	runResultsPassing = `{"metadata": {"invocation_id": "c"},
  "results": [
    {"unique_id": "model.parcelflow.stg_orders", "status": "success", "message": "SUCCESS 1", "execution_time": 0.4},
    {"unique_id": "test.parcelflow.not_null_stg_orders_order_id.5e2c1a0b9f", "status": "pass", "message": null, "execution_time": 0.1}]}`
	// an earlier run's results, all green, committed by mistake
	runResultsOld = `{"metadata": {"invocation_id": "a"},
  "results": [{"unique_id": "model.parcelflow.stg_orders", "status": "success", "message": "SUCCESS 1", "execution_time": 0.3}]}`
)

// TestBuildCommandThroughExecutor runs the component's dbt command with the
// local executor and a fake dbt on PATH, and checks how its run_results.json
// (or its absence) becomes the check's result.
func TestBuildCommandThroughExecutor(t *testing.T) {
	const command = "dbt build --select state:modified+ --target ci"
	writeResults := func(doc string) string {
		return "mkdir -p target\ncat > target/run_results.json <<'EOF'\n" + doc + "\nEOF\n"
	}
	tests := []struct {
		name       string
		dbt        string // the fake's body
		committed  string // a run_results.json already in the working tree
		conclusion checks.Conclusion
		results    int
		findings   []Finding // Message is matched as a substring
	}{
		{name: "failures become findings", dbt: writeResults(runResultsFailing) + "echo 'Completed with 2 errors'\nexit 1",
			conclusion: checks.Failure, results: 3, findings: []Finding{
				{Path: "dbt/models/marts/finance/fct_daily_revenue.sql", Line: 1, UniqueID: "model.parcelflow.fct_daily_revenue",
					Message: "model.parcelflow.fct_daily_revenue: error Database Error: invalid identifier 'REFUNDS'"},
				{Path: "dbt/models/staging/orders_db/_orders_db__models.yml", Line: 8, UniqueID: "test.parcelflow.not_null_stg_orders_order_id.5e2c1a0b9f",
					Message: "not_null_stg_orders_order_id.5e2c1a0b9f: fail Got 3 results"},
			}},
		{name: "a passing build", dbt: writeResults(runResultsPassing), conclusion: checks.Success, results: 2},
		{name: "a failing build replaces a committed run_results.json", dbt: writeResults(runResultsFailing) + "exit 1", committed: runResultsOld,
			conclusion: checks.Failure, results: 3, findings: []Finding{
				{Path: "dbt/models/marts/finance/fct_daily_revenue.sql", Line: 1, Message: "error Database Error"},
				{Path: "dbt/models/staging/orders_db/_orders_db__models.yml", Line: 8, Message: "fail Got 3 results"},
			}},
		{name: "a crash before writing does not read the committed one", dbt: "echo \"Runtime Error: Could not find profile named 'parcelflow'\" >&2\nexit 2",
			committed: runResultsOld, conclusion: checks.Failure, results: 0, findings: []Finding{
				{Path: "dbt/dbt_project.yml", Line: 1, Message: "`" + command + "` exited 2 without writing run_results.json (the one in the working tree is from an earlier run and was not read): dbt build --select state:modified+ --target ci\nRuntime Error: Could not find profile named 'parcelflow'"},
			}},
		{name: "a crash with no run_results.json at all", dbt: "echo 'Runtime Error: Could not find profile' >&2\nexit 2",
			conclusion: checks.Failure, findings: []Finding{{Path: "dbt/dbt_project.yml", Line: 1, Message: "exited 2 without run_results.json: dbt build"}}},
		{name: "a non-zero exit whose results show no failure", dbt: writeResults(runResultsPassing) + "exit 1",
			conclusion: checks.Failure, results: 2, findings: []Finding{{Path: "dbt/dbt_project.yml", Line: 1, Message: "`" + command + "` exited 1: dbt build"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := sampleTree(t)
			cfg := replace(t, tr, ".conveyor.yml", "    project: dbt\n    paths: [\"dbt/**\"]\n",
				"    project: dbt\n    paths: [\"dbt/**\"]\n    commands:\n      timeout: 1m\n      build: "+command+"\n")
			base := edit(tr, map[string]string{".conveyor.yml": cfg})
			dir := t.TempDir()
			if err := checks.Materialize(tr, dir); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(dir, "dbt", "target", "run_results.json")
			if tc.committed != "" {
				if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(old, []byte(tc.committed), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			in := checks.NewInput(base, tr)
			if in.ConfigErr != nil {
				t.Fatal(in.ConfigErr)
			}
			bin := fakeDbt(t, tc.dbt)
			in.Executor = &executor.Local{BaseEnv: []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir}}
			in.HeadDir = dir
			res := checks.Run(t.Context(), New(), in)
			d, ok := res.Details.(Details)
			if !ok {
				t.Fatalf("no details: %s %s", res.Title, res.Summary)
			}
			if res.Conclusion != tc.conclusion {
				t.Errorf("conclusion = %s, want %s\n%s", res.Conclusion, tc.conclusion, res.Summary)
			}
			if len(d.RunResults) != tc.results {
				t.Errorf("run results = %+v, want %d", d.RunResults, tc.results)
			}
			var got []Finding
			for _, f := range d.Findings {
				if f.Rule == RuleRunResults {
					got = append(got, f)
				}
			}
			if len(got) != len(tc.findings) {
				t.Fatalf("findings = %+v, want %d", got, len(tc.findings))
			}
			for i, want := range tc.findings {
				f := got[i]
				if f.Path != want.Path || f.Line != want.Line || !strings.Contains(f.Message, want.Message) || want.UniqueID != "" && f.UniqueID != want.UniqueID {
					t.Errorf("finding %d = %+v\nwant %+v", i, f, want)
				}
			}
			for _, a := range res.Annotations {
				if a.Rule == RuleRunResults && a.Level != checks.Fail {
					t.Errorf("annotation %+v is not a failure", a)
				}
			}
			if tc.committed != "" {
				// the working tree may be the user's own: the old file is
				// read around, never deleted
				if data, err := os.ReadFile(old); err != nil || tc.results == 0 && string(data) != tc.committed {
					t.Errorf("the committed run_results.json was lost: %v %q", err, data)
				}
			}
		})
	}
}
