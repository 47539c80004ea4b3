package airflow

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type wantDAG struct {
	id      string // "~pattern" when the dag_id is only known at runtime
	line    int
	gen     string
	sched   string
	catchup *bool
	owner   string
	tasks   string // task_ids in creation order, comma-separated
	ops     string // each task's operator, in the same order
	edges   string // upstream>downstream, comma-separated
	start   string // start_date: RFC 3339, or the expression when it varies at runtime
	retries string // "-" when not set
	tags    string // comma-separated
	maxRuns string // max_active_runs, "-" when not set
}

func ptrB(b bool) *bool { return &b }

// fixtureReader reads files relative to testdata/airflow, as a repo would.
func fixtureReader(p string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", "testdata", "airflow", filepath.FromSlash(p)))
}

func TestParseFixtures(t *testing.T) {
	cases := []struct {
		file     string
		dags     []wantDAG
		findings []string // "line:rule", in file order
	}{
		{file: "legacy_af1.py",
			dags: []wantDAG{
				{id: "legacy_inventory_sync", line: 19, gen: "", sched: "0 */6 * * *", catchup: nil, owner: "data-eng", tasks: "start,pull_inventory,count_rows,report", ops: "DummyOperator,SSHOperator,PythonOperator,BashOperator", edges: "start>pull_inventory,pull_inventory>count_rows,count_rows>report",
					start: "days_ago(2)", retries: "1", tags: "", maxRuns: "-"},
			},
			findings: []string{"4:airflow3-removed", "5:airflow1-import", "6:airflow1-import", "7:airflow1-import", "7:airflow3-removed", "8:airflow1-import", "9:airflow3-removed", "14:dynamic-start-date", "22:airflow3-removed", "23:airflow3-removed", "33:airflow3-removed", "34:airflow3-removed"},
		},
		{file: "modern_af2.py",
			dags: []wantDAG{
				{id: "warehouse_maintenance", line: 10, gen: "", sched: "@weekly", catchup: ptrB(false), owner: "analytics", tasks: "begin,vacuum_sales,vacuum_finance,analyze_sales,analyze_finance,notify,end", ops: "EmptyOperator,SQLExecuteQueryOperator,SQLExecuteQueryOperator,SQLExecuteQueryOperator,SQLExecuteQueryOperator,EmptyOperator,EmptyOperator", edges: "begin>vacuum_sales,begin>vacuum_finance,vacuum_sales>analyze_sales,vacuum_sales>analyze_finance,vacuum_finance>analyze_sales,vacuum_finance>analyze_finance,analyze_sales>notify,analyze_finance>notify,notify>end",
					start: "2025-01-01T00:00:00Z", retries: "3", tags: "maintenance", maxRuns: "-"},
				{id: "ad_hoc_exports", line: 34, gen: "", sched: "None", catchup: ptrB(false), owner: "", tasks: "", ops: "", edges: "",
					start: "2025-01-01T00:00:00Z", retries: "-", tags: "exports", maxRuns: "-"},
			},
			findings: []string{"3:airflow3-removed", "4:airflow3-removed", "5:airflow3-removed"},
		},
		{file: "sdk_af3.py",
			dags: []wantDAG{
				{id: "orders_asset_consumer", line: 8, gen: "", sched: "dataset: [Asset(\"s3://parcelflow-landing/orders/\")]", catchup: ptrB(false), owner: "data-eng", tasks: "load,validate", ops: "BashOperator,@task", edges: "validate>load",
					start: "2025-06-01T00:00:00Z", retries: "2", tags: "orders,assets", maxRuns: "-"},
			},
			findings: []string{},
		},
		{file: "taskflow_dag.py",
			dags: []wantDAG{
				{id: "finance_rollup", line: 8, gen: "", sched: "0 4 * * *", catchup: ptrB(false), owner: "finance-analytics", tasks: "extract,extract_invoices,extract__1,merge,merge__1,publish.to_snowflake,publish.to_s3", ops: "@task,@task,@task,@task,@task,@task,@task", edges: "extract>merge,extract_invoices>merge,merge>merge__1,extract__1>merge__1,merge__1>publish.to_snowflake,merge__1>publish.to_s3",
					start: "2025-02-01T00:00:00Z", retries: "2", tags: "finance", maxRuns: "-"},
			},
			findings: []string{"5:airflow3-removed"},
		},
		{file: "dynamic_loop.py",
			dags: []wantDAG{
				{id: "ingest_stripe", line: 13, gen: "loop", sched: "@hourly", catchup: ptrB(false), owner: "data-eng", tasks: "pull,check", ops: "BashOperator,BashOperator", edges: "pull>check",
					start: "2025-01-01T00:00:00Z", retries: "1", tags: "ingest,stripe", maxRuns: "-"},
				{id: "ingest_zendesk", line: 13, gen: "loop", sched: "@daily", catchup: ptrB(false), owner: "data-eng", tasks: "pull,check", ops: "BashOperator,BashOperator", edges: "pull>check",
					start: "2025-01-01T00:00:00Z", retries: "1", tags: "ingest,zendesk", maxRuns: "-"},
				{id: "~feed_{feed['name']}", line: 28, gen: "loop", sched: "dynamic", catchup: ptrB(false), owner: "data-eng", tasks: "load", ops: "BashOperator", edges: "",
					start: "2025-01-01T00:00:00Z", retries: "1", tags: "feeds", maxRuns: "-"},
			},
			findings: []string{"7:airflow3-removed", "8:airflow3-removed"},
		},
		{file: "factory_sources.py",
			dags: []wantDAG{
				{id: "marketing_google_ads", line: 4, gen: "factory", sched: "@daily", catchup: ptrB(false), owner: "analytics", tasks: "fetch,load", ops: "BashOperator,BashOperator", edges: "fetch>load",
					start: "2025-01-01T00:00:00Z", retries: "2", tags: "marketing", maxRuns: "-"},
				{id: "marketing_meta_ads", line: 5, gen: "factory", sched: "30 5 * * *", catchup: ptrB(false), owner: "analytics", tasks: "fetch,load", ops: "BashOperator,BashOperator", edges: "fetch>load",
					start: "2025-01-01T00:00:00Z", retries: "2", tags: "marketing", maxRuns: "-"},
			},
			findings: []string{},
		},
		{file: "problems.py",
			dags: []wantDAG{
				{id: "payments_reconcile", line: 27, gen: "", sched: "@hourly", catchup: nil, owner: "payments-team", tasks: "extract,load,extract,stamp", ops: "BashOperator,PythonOperator,BashOperator,BashOperator", edges: "extract>load,load>stamp,stamp>extract",
					start: "2023-01-01T00:00:00Z", retries: "-", tags: "", maxRuns: "-"},
				{id: "payments_drift", line: 40, gen: "", sched: "@daily", catchup: ptrB(false), owner: "data-eng", tasks: "noop", ops: "BashOperator", edges: "",
					start: "datetime.now() - timedelta(days=1)", retries: "1", tags: "payments", maxRuns: "1"},
			},
			findings: []string{"5:airflow3-removed", "7:airflow3-removed", "8:airflow3-removed", "9:airflow3-removed", "12:top-level-code", "13:top-level-code", "14:top-level-code", "15:top-level-code", "16:hardcoded-secret", "17:hardcoded-secret", "19:top-level-code", "34:dag-cycle", "36:duplicate-task-id", "37:runtime-varying-value", "43:dynamic-start-date"},
		},
	}
	a := NewAnalyzer(fixtureReader)
	defer a.Close()
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := "dags/" + tc.file
			src, err := fixtureReader(path)
			if err != nil {
				t.Fatal(err)
			}
			res := a.File(path, src)
			if !res.SyntaxOK {
				t.Fatalf("unexpected syntax error: %+v", res.Findings)
			}
			if len(res.DAGs) != len(tc.dags) {
				t.Fatalf("got %d DAGs, want %d: %+v", len(res.DAGs), len(tc.dags), res.DAGs)
			}
			for j, w := range tc.dags {
				d := res.DAGs[j]
				id := d.DagID
				if id == "" {
					id = "~" + d.IDPattern
				}
				var tasks, ops, edges []string
				for _, tk := range d.Tasks {
					tasks = append(tasks, taskKey(tk))
					ops = append(ops, tk.Operator)
				}
				for _, e := range d.Edges {
					edges = append(edges, e.Upstream+">"+e.Downstream)
				}
				optInt := func(p *int) string {
					if p == nil {
						return "-"
					}
					return itoa(*p)
				}
				got := wantDAG{id: id, line: d.Line, gen: d.Generated, sched: d.Schedule, catchup: d.Catchup, owner: d.Owner,
					tasks: strings.Join(tasks, ","), ops: strings.Join(ops, ","), edges: strings.Join(edges, ","),
					start: d.StartDate, retries: optInt(d.Retries), tags: strings.Join(d.Tags, ","), maxRuns: optInt(d.MaxActiveRuns)}
				if !sameDAG(got, w) {
					t.Errorf("DAG %d:\n got %+v\nwant %+v", j, show(got), show(w))
				}
				if d.File != path {
					t.Errorf("DAG %d file = %q, want %q", j, d.File, path)
				}
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, itoa(f.Line)+":"+f.Rule)
			}
			if strings.Join(got, " ") != strings.Join(tc.findings, " ") {
				t.Errorf("findings:\n got %v\nwant %v", got, tc.findings)
				for _, f := range res.Findings {
					t.Logf("  %d %s %s", f.Line, f.Rule, f.Message)
				}
			}
		})
	}
}

func sameDAG(a, b wantDAG) bool {
	if (a.catchup == nil) != (b.catchup == nil) || a.catchup != nil && *a.catchup != *b.catchup {
		return false
	}
	a.catchup, b.catchup = nil, nil
	return a == b
}

func show(w wantDAG) string {
	c := "unset"
	if w.catchup != nil {
		c = map[bool]string{true: "true", false: "false"}[*w.catchup]
	}
	w.catchup = nil
	return strings.ReplaceAll(strings.TrimSpace(strings.Join([]string{w.id, itoa(w.line), w.gen, w.sched, c, w.owner, w.tasks, w.ops, w.edges,
		"start=" + w.start, "retries=" + w.retries, "tags=" + w.tags, "max_active_runs=" + w.maxRuns}, " | ")), "  ", " ")
}

func itoa(n int) string { return strconv.Itoa(n) }
