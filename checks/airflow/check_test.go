package airflow

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/policy"
)

var fixedNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func runCheck(t *testing.T, in *checks.Input) checks.Result {
	t.Helper()
	c := &Check{Now: func() time.Time { return fixedNow }}
	if !c.Applies(in) {
		t.Fatalf("check does not apply")
	}
	return checks.Run(context.Background(), c, in)
}

func sampleRepo(t *testing.T) (checks.MapTree, *config.RepoConfig) {
	t.Helper()
	tree, err := checks.ReadDir("../../testdata/sample-repo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseRepo(config.RepoConfigPath, tree[config.RepoConfigPath])
	if err != nil {
		t.Fatal(err)
	}
	return tree, cfg
}

func clone(t checks.MapTree) checks.MapTree {
	out := checks.MapTree{}
	for k, v := range t {
		out[k] = v
	}
	return out
}

// edit replaces old with new in one file of tree, failing when old is absent.
func edit(t *testing.T, tree checks.MapTree, path, old, new string) {
	t.Helper()
	src := string(tree[path])
	if !strings.Contains(src, old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	tree[path] = []byte(strings.Replace(src, old, new, 1))
}

func annKeys(res checks.Result) []string {
	var out []string
	for _, a := range res.Annotations {
		out = append(out, fmt.Sprintf("%s:%d %s", a.Path, a.StartLine, a.Rule))
	}
	sort.Strings(out)
	return out
}

func signalKeys(res checks.Result) []string {
	var out []string
	for _, s := range res.Signals {
		out = append(out, fmt.Sprintf("%s %s high=%v", s.Kind, s.Path, s.High))
		if s.Component != "dags" || s.Check != Name || s.Reason == "" {
			out = append(out, fmt.Sprintf("incomplete signal %+v", s))
		}
	}
	sort.Strings(out)
	return out
}

// TestSampleRepo: the sample platform is clean except for the one finding
// the demo shows.
func TestSampleRepo(t *testing.T) {
	head, cfg := sampleRepo(t)
	in := &checks.Input{Config: cfg, Base: checks.EmptyTree, Head: head, Changes: checks.Diff(checks.EmptyTree, head)}
	res := runCheck(t, in)
	want := []string{"dags/kafka_s3_compaction.py:17 top-level-code"}
	if got := annKeys(res); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("annotations = %v, want %v", got, want)
	}
	if res.Conclusion != checks.Success {
		t.Errorf("conclusion = %s", res.Conclusion)
	}
	d := res.Details.(Details)
	var ids []string
	for _, x := range d.DAGs {
		ids = append(ids, *x.DagID)
		if x.Change != "added" {
			t.Errorf("%s: change = %s, want added", *x.DagID, x.Change)
		}
	}
	sort.Strings(ids)
	wantIDs := "customer_metrics dbt_orders_build export_carriers export_customers export_shipments kafka_s3_compaction orders_postgres_to_snowflake"
	if strings.Join(ids, " ") != wantIDs {
		t.Errorf("dag_ids = %v", ids)
	}
	if d.ImportCheck.Status != "not-configured" || !strings.Contains(res.Summary, "static analysis alone") {
		t.Errorf("import check = %+v; summary must say the analysis stands alone", d.ImportCheck)
	}
	if !strings.Contains(res.Summary, "| `kafka_s3_compaction` `dags/kafka_s3_compaction.py:30` | added | `5 * * * *` | data-eng | false | 0 | ⚠️ top-level-code |") {
		t.Errorf("summary table lacks the kafka row:\n%s", res.Summary)
	}
}

// TestChanges: base-vs-head semantics, repo-wide invariants and the signals
// the risk classifier reads.
func TestChanges(t *testing.T) {
	base, cfg := sampleRepo(t)
	cases := []struct {
		name    string
		change  func(t *testing.T, head checks.MapTree)
		anns    []string
		signals []string
		concl   checks.Conclusion
	}{
		{
			name:   "no change",
			change: func(*testing.T, checks.MapTree) {},
			concl:  checks.Success,
		},
		{
			name: "catchup turned on with an old start date",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/orders_postgres_to_snowflake.py", "    start_date=START_DATE,\n    catchup=False,", "    start_date=pendulum.datetime(2021, 1, 1, tz=\"UTC\"),\n    catchup=True,")
				edit(t, h, "dags/orders_postgres_to_snowflake.py", "from airflow import DAG", "import pendulum\nfrom airflow import DAG")
			},
			anns: []string{
				"dags/orders_postgres_to_snowflake.py:45 backfill-storm",
				"dags/orders_postgres_to_snowflake.py:45 start-date-moved",
				"dags/orders_postgres_to_snowflake.py:46 catchup-enabled",
			},
			signals: []string{
				"catchup-storm dags/orders_postgres_to_snowflake.py high=true",
				"dag-semantics dags/orders_postgres_to_snowflake.py high=true",
				"dag-semantics dags/orders_postgres_to_snowflake.py high=true",
			},
			concl: checks.Failure,
		},
		{
			name: "schedule changed",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/kafka_s3_compaction.py", `schedule="5 * * * *"`, `schedule="*/30 * * * *"`)
			},
			anns:    []string{"dags/kafka_s3_compaction.py:17 top-level-code", "dags/kafka_s3_compaction.py:32 schedule-changed"},
			signals: []string{"dag-semantics dags/kafka_s3_compaction.py high=false"},
			concl:   checks.Success,
		},
		{
			name: "dag_id renamed",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/dbt_orders_build.py", `dag_id="dbt_orders_build"`, `dag_id="dbt_orders_daily"`)
			},
			anns:    []string{"dags/dbt_orders_build.py:19 dag-id-renamed"},
			signals: []string{"dag-semantics dags/dbt_orders_build.py high=true"},
			concl:   checks.Success,
		},
		{
			name:    "DAG file deleted",
			change:  func(_ *testing.T, h checks.MapTree) { delete(h, "dags/customer_metrics_taskflow.py") },
			signals: []string{"dag-semantics dags/customer_metrics_taskflow.py high=true"},
			concl:   checks.Success,
		},
		{
			name: "helper change reaches the factory DAGs",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/common/defaults.py", `"carriers": "30 2 * * 0",`, `"carriers": "30 2 * * 0",`+"\n    \"returns\": \"45 2 * * *\",")
			},
			// Every DAG file importing the helper is re-checked.
			anns:  []string{"dags/kafka_s3_compaction.py:17 top-level-code"},
			concl: checks.Success,
		},
		{
			name: "duplicate dag_id in a new file",
			change: func(_ *testing.T, h checks.MapTree) {
				h["dags/kafka_s3_compaction_v2.py"] = h["dags/kafka_s3_compaction.py"]
			},
			anns: []string{
				"dags/kafka_s3_compaction.py:30 duplicate-dag-id",
				"dags/kafka_s3_compaction_v2.py:17 top-level-code",
				"dags/kafka_s3_compaction_v2.py:30 duplicate-dag-id",
			},
			concl: checks.Failure,
		},
		{
			name: "the MERGE loses its de-duplication",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/orders_postgres_to_snowflake.py",
					"USING (SELECT * FROM STAGING.ORDERS_RAW QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1) s",
					"USING STAGING.ORDERS_RAW s")
			},
			anns:  []string{"dags/orders_postgres_to_snowflake.py:31 sql-merge-not-deduplicated"},
			concl: checks.Success,
		},
		{
			name: "a COPY that forces and a load target recreated",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/orders_postgres_to_snowflake.py", `MERGE_SQL = """`,
					"LOAD_SQL = [\n    \"CREATE OR REPLACE TABLE STAGING.ORDERS_RAW (order_id VARCHAR)\",\n    \"\"\"COPY INTO STAGING.ORDERS_RAW\n    FROM @RAW.ORDERS_STAGE\n    FORCE = TRUE\"\"\",\n]\n\nMERGE_SQL = \"\"\"")
			},
			anns:  []string{"dags/orders_postgres_to_snowflake.py:31 sql-recreates-load-target", "dags/orders_postgres_to_snowflake.py:34 sql-copy-force"},
			concl: checks.Failure,
		},
		{
			name: "a one-line COPY with escaped newlines, in mixed case",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/orders_postgres_to_snowflake.py", `MERGE_SQL = """`,
					"RELOAD_SQL = \"Copy Into STAGING.ORDERS_RAW\\nFrom @RAW.ORDERS_STAGE\\nForce = True\"\n\nMERGE_SQL = \"\"\"")
			},
			anns:  []string{"dags/orders_postgres_to_snowflake.py:30 sql-copy-force"},
			concl: checks.Failure,
		},
		{
			name: "syntax error",
			change: func(t *testing.T, h checks.MapTree) {
				edit(t, h, "dags/dbt_orders_build.py", `    done = EmptyOperator(task_id="done")`, `    done = EmptyOperator(task_id="done"`)
			},
			anns:  []string{"dags/dbt_orders_build.py:59 syntax-error"},
			concl: checks.Failure,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := clone(base)
			tc.change(t, head)
			in := &checks.Input{Config: cfg, Base: base, Head: head, Changes: checks.Diff(base, head)}
			res := runCheck(t, in)
			if got := annKeys(res); strings.Join(got, "|") != strings.Join(tc.anns, "|") {
				t.Errorf("annotations:\n got %v\nwant %v", got, tc.anns)
				for _, a := range res.Annotations {
					t.Logf("  %s:%d %s %s", a.Path, a.StartLine, a.Rule, a.Message)
				}
			}
			if got := signalKeys(res); strings.Join(got, "|") != strings.Join(tc.signals, "|") {
				t.Errorf("signals:\n got %v\nwant %v", got, tc.signals)
			}
			if res.Conclusion != tc.concl {
				t.Errorf("conclusion = %s, want %s", res.Conclusion, tc.concl)
			}
		})
	}
}

func TestChangesDetails(t *testing.T) {
	base, cfg := sampleRepo(t)
	head := clone(base)
	delete(head, "dags/customer_metrics_taskflow.py")
	edit(t, head, "dags/common/defaults.py", `"carriers": "30 2 * * 0",`, `"carriers": "30 2 * * 0",`+"\n    \"returns\": \"45 2 * * *\",")
	res := runCheck(t, &checks.Input{Config: cfg, Base: base, Head: head, Changes: checks.Diff(base, head)})
	d := res.Details.(Details)
	if len(d.Deleted) != 1 || *d.Deleted[0].DagID != "customer_metrics" {
		t.Errorf("deleted = %+v", d.Deleted)
	}
	changes := map[string]string{}
	for _, x := range d.DAGs {
		changes[*x.DagID] = x.Change
	}
	// Files importing the changed helper are re-evaluated, but only DAGs whose
	// definition differs count as changed.
	want := map[string]string{"export_returns": "added", "export_customers": "unchanged", "orders_postgres_to_snowflake": "unchanged", "kafka_s3_compaction": "unchanged"}
	for id, c := range want {
		if changes[id] != c {
			t.Errorf("%s: change = %q, want %q (all: %v)", id, changes[id], c, changes)
		}
	}
	if !strings.Contains(res.Summary, "`customer_metrics` `dags/customer_metrics_taskflow.py:14` | deleted") {
		t.Errorf("summary lacks the deleted DAG:\n%s", res.Summary)
	}
}

// TestBaseCollision: the base branch gained a DAG after the change branched
// off; the change's new DAG takes the same dag_id.
func TestBaseCollision(t *testing.T) {
	base, cfg := sampleRepo(t)
	base = clone(base)
	base["dags/returns_load.py"] = []byte("import pendulum\nfrom airflow import DAG\nwith DAG(\"returns_load\", schedule=\"@daily\", start_date=pendulum.datetime(2025, 1, 1), catchup=False, default_args={\"owner\": \"data-eng\", \"retries\": 1}, tags=[\"returns\"]):\n    pass\n")
	head := clone(base)
	delete(head, "dags/returns_load.py")
	head["dags/returns_v2.py"] = []byte(strings.ReplaceAll(string(base["dags/returns_load.py"]), "@daily", "@hourly"))
	changes := []checks.Change{{Path: "dags/returns_v2.py", Status: checks.Added}} // as the PR's own files list reports it
	res := runCheck(t, &checks.Input{Config: cfg, Base: base, Head: head, Changes: changes})
	want := []string{"dags/returns_v2.py:3 dag-id-collision"}
	if got := annKeys(res); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("annotations = %v, want %v", got, want)
	}
}

func TestPolicyRules(t *testing.T) {
	tree, err := checks.ReadDir("../../testdata/airflow")
	if err != nil {
		t.Fatal(err)
	}
	yml := `
version: 1
teams: {org: parcelflow, known: [data-eng, analytics]}
components:
  - {name: dags, kind: airflow, paths: ["dags/**/*.py"]}
environments:
  - {name: dev, airflow: {pools: [default_pool, snowflake], queues: [default]}}
  - {name: prod, airflow: {pools: [default_pool], queues: [default]}}
checks:
  airflow:
    require: [owner, retries, tags]
    max_catchup_runs: 100
    RULES
`
	cases := []struct {
		name  string
		rules string
		file  string
		want  []string
	}{
		{"problems", "", "dags/problems.py", []string{
			"dags/problems.py:12 top-level-code", "dags/problems.py:13 top-level-code", "dags/problems.py:14 top-level-code", "dags/problems.py:15 top-level-code",
			"dags/problems.py:16 hardcoded-secret", "dags/problems.py:17 hardcoded-secret", "dags/problems.py:19 top-level-code",
			"dags/problems.py:27 catchup-not-set", "dags/problems.py:27 max-active-runs-missing",
			"dags/problems.py:27 missing-retries", "dags/problems.py:27 missing-tags", "dags/problems.py:30 backfill-storm", "dags/problems.py:31 unknown-owner",
			"dags/problems.py:34 dag-cycle", "dags/problems.py:34 unknown-pool", "dags/problems.py:35 unknown-queue",
			"dags/problems.py:36 duplicate-task-id", "dags/problems.py:37 runtime-varying-value", "dags/problems.py:43 dynamic-start-date",
		}},
		{"rules switched off and ignored by path", "rules: {top-level-code: off, backfill-storm: off, missing-tags: off}\n    ignore: [{rule: hardcoded-secret, paths: [\"dags/problems.py\"], reason: fixture}]", "dags/problems.py", []string{
			"dags/problems.py:27 catchup-not-set", "dags/problems.py:27 max-active-runs-missing",
			"dags/problems.py:27 missing-retries", "dags/problems.py:31 unknown-owner",
			"dags/problems.py:34 dag-cycle", "dags/problems.py:34 unknown-pool", "dags/problems.py:35 unknown-queue",
			"dags/problems.py:36 duplicate-task-id", "dags/problems.py:37 runtime-varying-value", "dags/problems.py:43 dynamic-start-date",
		}},
		{"factory pools", "", "dags/factory_sources.py", []string{"dags/factory_sources.py:4 unknown-pool", "dags/factory_sources.py:5 unknown-pool"}},
		{"duplicates across files", "", "dags/dup_a.py", []string{"dags/dup_a.py:5 duplicate-dag-id", "dags/dup_b.py:5 duplicate-dag-id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.ParseRepo(".conveyor.yml", []byte(strings.Replace(yml, "RULES", tc.rules, 1)))
			if err != nil {
				t.Fatal(err)
			}
			in := &checks.Input{Config: cfg, Base: tree, Head: tree, Changes: []checks.Change{{Path: tc.file, Status: checks.Modified}}}
			res := runCheck(t, in)
			if got := annKeys(res); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("annotations:\n got %q\nwant %q", got, tc.want)
				for _, a := range res.Annotations {
					t.Logf("  %s:%d %s %s", a.Path, a.StartLine, a.Rule, a.Message)
				}
			}
		})
	}
}

func TestSeverityAndTargetVersion(t *testing.T) {
	tree, err := checks.ReadDir("../../testdata/airflow")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, rules string
		wantLevel     checks.Level
		wantMoved     bool
	}{
		{"2.10", "", checks.Warning, false},
		{"3.0", "", checks.Fail, true},
		{"3.0", "rules: {airflow1-import: notice}", checks.Notice, true},
	} {
		t.Run(tc.target+" "+tc.rules, func(t *testing.T) {
			cfg, err := config.ParseRepo(".conveyor.yml", []byte(fmt.Sprintf("version: 1\ncomponents: [{name: dags, kind: airflow, paths: [\"dags/**/*.py\"]}]\nchecks:\n  airflow:\n    target_version: %q\n    %s\n", tc.target, tc.rules)))
			if err != nil {
				t.Fatal(err)
			}
			res := runCheck(t, &checks.Input{Config: cfg, Base: tree, Head: tree, Changes: []checks.Change{{Path: "dags/legacy_af1.py", Status: checks.Modified}}})
			moved := false
			for _, a := range res.Annotations {
				if a.Rule == RuleAirflow1Import && a.Level != tc.wantLevel {
					t.Errorf("%s at line %d: level %s, want %s", a.Rule, a.StartLine, a.Level, tc.wantLevel)
				}
				if strings.HasSuffix(a.Message, movedMarker) {
					moved = true
				}
			}
			if moved != tc.wantMoved {
				t.Errorf("deprecated-path findings present = %v, want %v", moved, tc.wantMoved)
			}
		})
	}
}

// TestValidateDirectory: a plain directory of DAG files, as `conveyor
// validate --repo DIR --format json` runs it: every DAG in details.dags with
// its fields, and every file CPython rejects carries a syntax finding.
func TestValidateDirectory(t *testing.T) {
	head, err := checks.ReadDir("../../testdata/airflow")
	if err != nil {
		t.Fatal(err)
	}
	in := checks.NewInput(checks.EmptyTree, head)
	res := runCheck(t, in)
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Details struct {
			DAGs []struct {
				File     string          `json:"file"`
				Line     int             `json:"line"`
				DagID    *string         `json:"dag_id"`
				Schedule string          `json:"schedule"`
				Catchup  *bool           `json:"catchup"`
				Owner    string          `json:"owner"`
				Tasks    int             `json:"tasks"`
				Findings json.RawMessage `json:"findings"`
			} `json:"dags"`
			Findings      []Finding `json:"findings"`
			PythonVersion string    `json:"python_version"`
		} `json:"details"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	// What the fixture code defines: see TestParseFixtures.
	perFile := map[string]int{"dags/legacy_af1.py": 1, "dags/modern_af2.py": 2, "dags/sdk_af3.py": 1, "dags/taskflow_dag.py": 1,
		"dags/dynamic_loop.py": 3, "dags/factory_sources.py": 2, "dags/problems.py": 2, "dags/dup_a.py": 1, "dags/dup_b.py": 1,
		"syntax/valid_cr_line_endings.py": 1} // found only when a lone \r ends a line, as it does for CPython
	got := map[string]int{}
	nullIDs := 0
	for _, d := range out.Details.DAGs {
		got[d.File]++
		if d.DagID == nil {
			nullIDs++
		}
		if d.Line < 1 || d.Schedule == "" || d.Findings == nil {
			t.Errorf("incomplete DAG entry: %+v", d)
		}
	}
	for f, n := range perFile {
		if got[f] != n {
			t.Errorf("%s: %d DAGs in details, the code defines %d", f, got[f], n)
		}
	}
	if len(out.Details.DAGs) != 15 || nullIDs != 1 {
		t.Errorf("%d DAGs (%d dynamic), want 15 (1 dynamic)", len(out.Details.DAGs), nullIDs)
	}
	var files []string
	for _, f := range head.Files() {
		if strings.HasSuffix(f, ".py") {
			files = append(files, "../../testdata/airflow/"+f)
		}
	}
	version, verdicts := pythonVerdicts(t, files)
	checkMinor, err := pythonMinor(out.Details.PythonVersion)
	if err != nil {
		t.Fatalf("details.python_version: %v", err)
	}
	syntax := map[string]bool{}
	for _, f := range out.Details.Findings {
		if f.Rule == RuleSyntax {
			syntax[f.File] = true
		}
	}
	for _, f := range files {
		rel := strings.TrimPrefix(f, "../../testdata/airflow/")
		rejects := verdicts[f] != 0
		if from := acceptedFrom[path.Base(f)]; from > 0 && out.Details.PythonVersion != version {
			// The check follows its configured Python, not the installed one.
			rejects = checkMinor < from
		}
		if rejects != syntax[rel] {
			t.Errorf("%s: CPython %s rejects=%v, syntax finding=%v", rel, out.Details.PythonVersion, rejects, syntax[rel])
		}
	}
}

func TestImportCommand(t *testing.T) {
	head, cfg := sampleRepo(t)
	dir := t.TempDir()
	if err := checks.Materialize(head, dir); err != nil {
		t.Fatal(err)
	}
	report := `[{"filename": "/usr/local/airflow/dags/dbt_orders_build.py", "error": "Traceback (most recent call last):\n  File \"/usr/local/airflow/dags/dbt_orders_build.py\", line 12, in <module>\n    from common.missing import X\nModuleNotFoundError: No module named 'common.missing'"}]`
	cases := []struct {
		name, cmd string
		exec      executor.Executor
		status    string
		anns      []string
		concl     checks.Conclusion
	}{
		{"not configured", "", &executor.Local{}, "not-configured", []string{"dags/kafka_s3_compaction.py:17 top-level-code"}, checks.Success},
		{"no executor", "true", nil, "skipped", []string{"dags/kafka_s3_compaction.py:17 top-level-code"}, checks.Success},
		{"import errors", "echo 'loading dag bag'; cat <<'EOF'\n" + report + "\nEOF\nexit 1", &executor.Local{}, "failed",
			[]string{"dags/dbt_orders_build.py:12 import-error", "dags/kafka_s3_compaction.py:17 top-level-code"}, checks.Failure},
		{"clean import", "echo '[]'", &executor.Local{}, "passed", []string{"dags/kafka_s3_compaction.py:17 top-level-code"}, checks.Success},
		{"command fails without a report", "echo boom >&2; exit 3", &executor.Local{}, "failed", []string{"dags/kafka_s3_compaction.py:17 top-level-code"}, checks.Failure},
		{"timeout", "echo 'filling the dag bag'; sleep 10", &executor.Local{}, "failed", []string{"dags/kafka_s3_compaction.py:17 top-level-code"}, checks.Failure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := 20 * time.Second
			if tc.name == "timeout" {
				timeout = 300 * time.Millisecond
			}
			c := *cfg
			c.Components = append([]config.Component{}, cfg.Components...)
			c.Components[0].Commands.Import = tc.cmd
			c.Components[0].Commands.Timeout = config.Duration(timeout)
			in := &checks.Input{Config: &c, Base: checks.EmptyTree, Head: head, Changes: checks.Diff(checks.EmptyTree, head), Executor: tc.exec, HeadDir: dir}
			res := runCheck(t, in)
			d := res.Details.(Details)
			if d.ImportCheck.Status != tc.status {
				t.Errorf("status = %s, want %s (%s)", d.ImportCheck.Status, tc.status, d.ImportCheck.Summary)
			}
			if got := annKeys(res); strings.Join(got, "|") != strings.Join(tc.anns, "|") {
				t.Errorf("annotations = %v, want %v", got, tc.anns)
			}
			if res.Conclusion != tc.concl {
				t.Errorf("conclusion = %s, want %s", res.Conclusion, tc.concl)
			}
			if tc.name == "timeout" {
				ic := d.ImportCheck
				if !ic.TimedOut || !strings.Contains(ic.Summary, "timed out after 300ms") || !strings.Contains(ic.Output, "filling the dag bag") {
					t.Errorf("timeout not reported: timed_out=%v summary=%q output=%q", ic.TimedOut, ic.Summary, ic.Output)
				}
				if ic.DurationMS >= 5000 {
					t.Errorf("the command ran %d ms; the timeout did not stop it", ic.DurationMS)
				}
			}
		})
	}
}

// TestImportErrorsOutsideTheChange: Airflow's import errors are annotated only
// on files the change touches; errors in other files, and at paths that match
// no file of the repo (GitHub could not place them), go to the summary.
func TestImportErrorsOutsideTheChange(t *testing.T) {
	base, cfg := sampleRepo(t)
	head := clone(base)
	const changed = "dags/kafka_s3_compaction.py"
	head[changed] = append(append([]byte{}, base[changed]...), []byte("\n# compaction window reviewed\n")...)
	dir := t.TempDir()
	if err := checks.Materialize(head, dir); err != nil {
		t.Fatal(err)
	}
	tb := func(path string, line int, msg string) string {
		return fmt.Sprintf(`{"filename": %q, "error": "Traceback (most recent call last):\n  File \"%s\", line %d, in <module>\n%s"}`, path, path, line, msg)
	}
	report := "[" + strings.Join([]string{
		tb("/usr/local/airflow/dags/kafka_s3_compaction.py", 9, "ImportError: cannot import name 'KafkaHook'"),
		tb("/usr/local/airflow/dags/dbt_orders_build.py", 12, "ModuleNotFoundError: No module named 'common.missing'"),
		tb("/usr/local/airflow/plugins/operators/custom.py", 4, "NameError: name 'BaseOperator' is not defined"),
	}, ", ") + "]"
	c := *cfg
	c.Components = append([]config.Component{}, cfg.Components...)
	c.Components[0].Commands.Import = "cat <<'EOF'\n" + report + "\nEOF\nexit 1"
	c.Components[0].Commands.Timeout = config.Duration(20 * time.Second)
	in := &checks.Input{Config: &c, Base: base, Head: head, Changes: checks.Diff(base, head), Executor: &executor.Local{}, HeadDir: dir}
	res := runCheck(t, in)

	want := []string{changed + ":17 top-level-code", changed + ":9 import-error"} // sorted as text
	if got := annKeys(res); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("annotations = %v, want %v", got, want)
	}
	ic := res.Details.(Details).ImportCheck
	type row struct {
		file, airflow string
		line          int
		annotated     bool
	}
	wantErrs := []row{
		{changed, "/usr/local/airflow/dags/kafka_s3_compaction.py", 9, true},
		{"dags/dbt_orders_build.py", "/usr/local/airflow/dags/dbt_orders_build.py", 12, false},
		{"", "/usr/local/airflow/plugins/operators/custom.py", 4, false},
	}
	if len(ic.Errors) != len(wantErrs) {
		t.Fatalf("import errors = %+v", ic.Errors)
	}
	for j, w := range wantErrs {
		e := ic.Errors[j]
		if got := (row{e.File, e.AirflowPath, e.Line, e.Annotated}); got != w {
			t.Errorf("error %d = %+v, want %+v", j, got, w)
		}
	}
	for _, frag := range []string{
		"reported 3 import errors; 1 are annotated",
		"`dags/dbt_orders_build.py:12`: ModuleNotFoundError: No module named 'common.missing'",
		"`/usr/local/airflow/plugins/operators/custom.py` (no file of this repo matches the path): NameError",
	} {
		if !strings.Contains(res.Summary, frag) {
			t.Errorf("summary lacks %q:\n%s", frag, res.Summary)
		}
	}
	for _, f := range res.Details.(Details).Findings {
		if f.Rule == RuleImportError && f.File == "" {
			t.Errorf("a finding without a repo file: %+v", f)
		}
	}
	if res.Conclusion != checks.Failure {
		t.Errorf("conclusion = %s; a broken import fails the check", res.Conclusion)
	}
}

func TestParseImportErrors(t *testing.T) {
	files := []string{"dags/orders.py", "dags/common/defaults.py", "airflow/dags/x.py", "plugins/defaults.py"}
	cases := []struct {
		name, out string
		want      []ImportError
		found     bool
	}{
		{"empty list", "[]", []ImportError{}, true},
		{"no list", "Traceback: boom", []ImportError{}, false},
		{"filepath key and syntax error", `noise [not json] [{"filepath": "/opt/airflow/dags/orders.py", "error": "  File \"/opt/airflow/dags/orders.py\", line 7\n    with DAG(\nSyntaxError: '(' was never closed"}]`,
			[]ImportError{{File: "dags/orders.py", Line: 7}}, true},
		{"error raised in a helper", `[{"filename": "/usr/local/airflow/dags/orders.py", "error": "Traceback (most recent call last):\n  File \"/usr/local/airflow/dags/orders.py\", line 3, in <module>\n    from common.defaults import X\n  File \"/usr/local/airflow/dags/common/defaults.py\", line 9, in <module>\n    raise ValueError\nValueError"}]`,
			[]ImportError{{File: "dags/orders.py", Line: 3}}, true},
		{"deeper repo path", `[{"filename": "/usr/local/airflow/dags/x.py", "error": "SyntaxError: invalid syntax (x.py, line 4)"}]`,
			[]ImportError{{File: "airflow/dags/x.py", Line: 4}}, true},
		{"no repo file matches", `[{"filename": "/usr/local/airflow/plugins/hooks.py", "error": "  File \"/usr/local/airflow/plugins/hooks.py\", line 5\nNameError: x"}]`,
			[]ImportError{{File: "", Line: 5}}, true},
		{"two repo files match as well", `[{"filename": "/opt/elsewhere/defaults.py", "error": "ValueError"}]`,
			[]ImportError{{File: "", Line: 1}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, found := ParseImportErrors(tc.out, files)
			if found != tc.found || len(got) != len(tc.want) {
				t.Fatalf("got %+v (found=%v), want %+v", got, found, tc.want)
			}
			for j := range got {
				if got[j].File != tc.want[j].File || got[j].Line != tc.want[j].Line {
					t.Errorf("entry %d = %s:%d, want %s:%d", j, got[j].File, got[j].Line, tc.want[j].File, tc.want[j].Line)
				}
			}
		})
	}
}

func TestEstimateRuns(t *testing.T) {
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	now := day(2026, 3, 1)
	cases := []struct {
		name     string
		d        DAG
		airflow3 bool
		want     int64
		ok       bool
	}{
		{"daily preset", DAG{Schedule: "@daily", start: day(2026, 1, 1)}, false, 59, true},
		{"hourly cron", DAG{Schedule: "0 * * * *", start: day(2026, 2, 28)}, false, 24, true},
		{"weekly on sunday", DAG{Schedule: "0 0 * * 0", start: day(2025, 3, 1)}, false, 52, true},
		{"timedelta", DAG{Schedule: "timedelta(hours=6)", every: 6 * time.Hour, start: day(2026, 2, 1)}, false, 112, true},
		{"unset schedule before Airflow 3 is daily", DAG{start: day(2026, 2, 1)}, false, 28, true},
		{"unset schedule in Airflow 3 is none", DAG{start: day(2026, 2, 1)}, true, 0, true},
		{"no schedule", DAG{Schedule: "None", start: day(2020, 1, 1)}, false, 0, true},
		{"end date bounds it", DAG{Schedule: "@daily", start: day(2026, 1, 1), end: day(2026, 1, 11)}, false, 10, true},
		{"every minute for years is extrapolated", DAG{Schedule: "* * * * *", start: day(2024, 3, 1)}, false, 1051200, true},
		{"runtime start date", DAG{Schedule: "@daily", start: day(2026, 1, 1), StartDateRuntime: "days_ago()"}, false, 0, false},
		{"bad cron", DAG{Schedule: "0 25 * * *", start: day(2026, 1, 1)}, false, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := EstimateRuns(&tc.d, now, tc.airflow3)
			if ok != tc.ok || got != tc.want {
				t.Errorf("EstimateRuns = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

var _ = policy.SignalCatchupStorm
var _ = os.Getenv

// TestDynamicDAGChanges: a DAG whose dag_id is only known at runtime is
// matched to the base branch by file and dag_id pattern (or line), so a new
// one shows as added, an edited one as changed, and one outside the change
// as unchanged.
func TestDynamicDAGChanges(t *testing.T) {
	cfg, err := config.ParseRepo(".conveyor.yml", []byte("version: 1\ncomponents: [{name: dags, kind: airflow, paths: [\"dags/**\"]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	feeds := func(pattern, schedule string) string {
		return `import json
import pathlib

import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

FEEDS = json.loads(pathlib.Path(__file__).with_name("feeds.json").read_text())

for feed in FEEDS:
    with DAG(
        dag_id=f"` + pattern + `",
        schedule="` + schedule + `",
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        default_args={"owner": "data-eng", "retries": 1},
        tags=["feeds"],
    ):
        EmptyOperator(task_id="load")
`
	}
	const orders = `import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="orders", schedule="@daily", start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False,
         default_args={"owner": "data-eng", "retries": 1}, tags=["orders"]):
    EmptyOperator(task_id="load")
`
	withSecond := feeds("feed_{feed}", "@daily") + "\nfor table in FEEDS:\n    with DAG(dag_id=f\"export_{table}\", schedule=\"@weekly\", start_date=pendulum.datetime(2025, 1, 1, tz=\"UTC\"), catchup=False):\n        EmptyOperator(task_id=\"export\")\n"
	cases := []struct {
		name       string
		base, head checks.MapTree
		want       []string // "pattern=change", in head order
		semantic   []string // rules of the semantic findings
	}{
		{"new file", checks.MapTree{"dags/orders.py": []byte(orders)},
			checks.MapTree{"dags/orders.py": []byte(orders), "dags/feeds.py": []byte(feeds("feed_{feed}", "@daily"))},
			[]string{"orders=unchanged", "feed_{feed}=added"}, nil},
		{"outside the change", checks.MapTree{"dags/orders.py": []byte(orders), "dags/feeds.py": []byte(feeds("feed_{feed}", "@daily"))},
			checks.MapTree{"dags/orders.py": []byte(strings.Replace(orders, "@daily", "@hourly", 1)), "dags/feeds.py": []byte(feeds("feed_{feed}", "@daily"))},
			[]string{"orders=changed", "feed_{feed}=unchanged"}, []string{"schedule-changed"}},
		{"schedule changed", checks.MapTree{"dags/feeds.py": []byte(feeds("feed_{feed}", "@daily"))},
			checks.MapTree{"dags/feeds.py": []byte(feeds("feed_{feed}", "@hourly"))},
			[]string{"feed_{feed}=changed"}, []string{"schedule-changed"}},
		{"second dynamic DAG in the file", checks.MapTree{"dags/feeds.py": []byte(feeds("feed_{feed}", "@daily"))},
			checks.MapTree{"dags/feeds.py": []byte(withSecond)},
			[]string{"feed_{feed}=changed", "export_{table}=added"}, nil},
		{"pattern changed at the same line", checks.MapTree{"dags/feeds.py": []byte(feeds("feed_{feed}", "@daily"))},
			checks.MapTree{"dags/feeds.py": []byte(feeds("load_{feed}", "@daily"))},
			[]string{"load_{feed}=changed"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runCheck(t, &checks.Input{Config: cfg, Base: tc.base, Head: tc.head, Changes: checks.Diff(tc.base, tc.head)})
			d := res.Details.(Details)
			var got []string
			for _, x := range d.DAGs {
				id := x.IDPattern
				if x.DagID != nil {
					id = *x.DagID
				}
				got = append(got, id+"="+x.Change)
			}
			sort.Strings(got)
			want := append([]string{}, tc.want...)
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("changes = %v, want %v", got, want)
			}
			var sem []string
			for _, f := range d.Findings {
				switch f.Rule {
				case RuleScheduleChanged, RuleStartDateMoved, RuleCatchupEnabled, RuleDagRenamed, RuleDagDeleted:
					sem = append(sem, f.Rule)
					if strings.Contains(f.Message, " of  ") {
						t.Errorf("message names no DAG: %s", f.Message)
					}
				}
			}
			if strings.Join(sem, " ") != strings.Join(tc.semantic, " ") {
				t.Errorf("semantic findings = %v, want %v", sem, tc.semantic)
			}
		})
	}
}

// TestRenamesAreNotDeletions: a renamed dag_id is reported once as a rename
// and never as a deletion, also with the rename rule turned off, while a DAG
// that really disappears is still a deletion.
func TestRenamesAreNotDeletions(t *testing.T) {
	dagFile := func(ids ...string) []byte {
		var b strings.Builder
		b.WriteString("import pendulum\nfrom airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n")
		for _, id := range ids {
			fmt.Fprintf(&b, "\nwith DAG(dag_id=%q, schedule=\"@daily\", start_date=pendulum.datetime(2025, 1, 1, tz=\"UTC\"), catchup=False):\n    EmptyOperator(task_id=\"run\")\n", id)
		}
		return []byte(b.String())
	}
	cases := []struct {
		name       string
		rules      string
		base, head []string // dag_ids of dags/etl.py
		renamed    []string // "old>new"
		deleted    []string
	}{
		{"one rename", "", []string{"orders"}, []string{"orders_v2"}, []string{"orders>orders_v2"}, nil},
		{"two renames in one file", "", []string{"orders", "refunds"}, []string{"orders_v2", "refunds_v2"}, []string{"orders>orders_v2", "refunds>refunds_v2"}, nil},
		{"rename and deletion", "", []string{"orders", "refunds"}, []string{"orders_v2"}, []string{"orders>orders_v2"}, []string{"refunds"}},
		{"rename rule off", "rules: {dag-id-renamed: off}", []string{"orders"}, []string{"orders_v2"}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.ParseRepo(".conveyor.yml", []byte("version: 1\ncomponents: [{name: dags, kind: airflow, paths: [\"dags/**\"]}]\nchecks:\n  airflow: {"+tc.rules+"}\n"))
			if err != nil {
				t.Fatal(err)
			}
			base := checks.MapTree{"dags/etl.py": dagFile(tc.base...)}
			head := checks.MapTree{"dags/etl.py": dagFile(tc.head...)}
			res := runCheck(t, &checks.Input{Config: cfg, Base: base, Head: head, Changes: checks.Diff(base, head)})
			d := res.Details.(Details)
			var renamed, deleted []string
			for _, f := range d.Findings {
				switch f.Rule {
				case RuleDagRenamed:
					from, _, _ := strings.Cut(strings.TrimPrefix(f.Message, `dag_id changed from "`), `"`)
					renamed = append(renamed, from+">"+f.DagID)
				case RuleDagDeleted:
					deleted = append(deleted, f.DagID)
				}
			}
			if strings.Join(renamed, " ") != strings.Join(tc.renamed, " ") {
				t.Errorf("renames = %v, want %v", renamed, tc.renamed)
			}
			if strings.Join(deleted, " ") != strings.Join(tc.deleted, " ") {
				t.Errorf("deletions = %v, want %v", deleted, tc.deleted)
			}
			var gone []string
			for _, x := range d.Deleted {
				gone = append(gone, *x.DagID)
			}
			if strings.Join(gone, " ") != strings.Join(tc.deleted, " ") {
				t.Errorf("details.deleted = %v, want %v", gone, tc.deleted)
			}
		})
	}
}
