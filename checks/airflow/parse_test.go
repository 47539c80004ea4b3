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
	edges   string // upstream>downstream, comma-separated
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
				{id: "legacy_inventory_sync", line: 19, gen: "", sched: "0 */6 * * *", catchup: nil, owner: "data-eng", tasks: "start,pull_inventory,count_rows,report", edges: "start>pull_inventory,pull_inventory>count_rows,count_rows>report"},
			},
			findings: []string{"4:airflow3-removed", "5:airflow1-import", "6:airflow1-import", "7:airflow1-import", "7:airflow3-removed", "8:airflow1-import", "9:airflow3-removed", "9:airflow3-removed", "21:dynamic-start-date", "22:airflow3-removed", "23:airflow3-removed", "33:airflow3-removed", "34:airflow3-removed"},
		},
		{file: "modern_af2.py",
			dags: []wantDAG{
				{id: "warehouse_maintenance", line: 10, gen: "", sched: "@weekly", catchup: ptrB(false), owner: "analytics", tasks: "begin,vacuum_sales,vacuum_finance,analyze_sales,analyze_finance,notify,end", edges: "begin>vacuum_sales,begin>vacuum_finance,vacuum_sales>analyze_sales,vacuum_sales>analyze_finance,vacuum_finance>analyze_sales,vacuum_finance>analyze_finance,analyze_sales>notify,analyze_finance>notify,notify>end"},
				{id: "ad_hoc_exports", line: 34, gen: "", sched: "None", catchup: ptrB(false), owner: "", tasks: "", edges: ""},
			},
			findings: []string{"3:airflow3-removed", "4:airflow3-removed", "5:airflow3-removed"},
		},
		{file: "sdk_af3.py",
			dags: []wantDAG{
				{id: "orders_asset_consumer", line: 8, gen: "", sched: "dataset: [Asset(\"s3://parcelflow-landing/orders/\")]", catchup: ptrB(false), owner: "data-eng", tasks: "load,validate", edges: "validate>load"},
			},
			findings: []string{},
		},
		{file: "taskflow_dag.py",
			dags: []wantDAG{
				{id: "finance_rollup", line: 8, gen: "", sched: "0 4 * * *", catchup: ptrB(false), owner: "finance-analytics", tasks: "extract,extract_invoices,extract__1,merge,merge__1,publish.to_snowflake,publish.to_s3", edges: "extract>merge,extract_invoices>merge,merge>merge__1,extract__1>merge__1,merge__1>publish.to_snowflake,merge__1>publish.to_s3"},
			},
			findings: []string{"5:airflow3-removed"},
		},
		{file: "dynamic_loop.py",
			dags: []wantDAG{
				{id: "ingest_stripe", line: 13, gen: "loop", sched: "@hourly", catchup: ptrB(false), owner: "data-eng", tasks: "pull,check", edges: "pull>check"},
				{id: "ingest_zendesk", line: 13, gen: "loop", sched: "@daily", catchup: ptrB(false), owner: "data-eng", tasks: "pull,check", edges: "pull>check"},
				{id: "~feed_{feed['name']}", line: 28, gen: "loop", sched: "dynamic", catchup: ptrB(false), owner: "data-eng", tasks: "load", edges: ""},
			},
			findings: []string{"7:airflow3-removed", "8:airflow3-removed"},
		},
		{file: "factory_sources.py",
			dags: []wantDAG{
				{id: "marketing_google_ads", line: 4, gen: "factory", sched: "@daily", catchup: ptrB(false), owner: "analytics", tasks: "fetch,load", edges: "fetch>load"},
				{id: "marketing_meta_ads", line: 5, gen: "factory", sched: "30 5 * * *", catchup: ptrB(false), owner: "analytics", tasks: "fetch,load", edges: "fetch>load"},
			},
			findings: []string{},
		},
		{file: "problems.py",
			dags: []wantDAG{
				{id: "payments_reconcile", line: 27, gen: "", sched: "@hourly", catchup: nil, owner: "payments-team", tasks: "extract,load,extract,stamp", edges: "extract>load,load>stamp,stamp>extract"},
				{id: "payments_drift", line: 40, gen: "", sched: "@daily", catchup: ptrB(false), owner: "data-eng", tasks: "noop", edges: ""},
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
				var tasks, edges []string
				for _, tk := range d.Tasks {
					tasks = append(tasks, taskKey(tk))
				}
				for _, e := range d.Edges {
					edges = append(edges, e.Upstream+">"+e.Downstream)
				}
				got := wantDAG{id: id, line: d.Line, gen: d.Generated, sched: d.Schedule, catchup: d.Catchup, owner: d.Owner,
					tasks: strings.Join(tasks, ","), edges: strings.Join(edges, ",")}
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
	return strings.ReplaceAll(strings.TrimSpace(strings.Join([]string{w.id, itoa(w.line), w.gen, w.sched, c, w.owner, w.tasks, w.edges}, " | ")), "  ", " ")
}

func itoa(n int) string { return strconv.Itoa(n) }
