package airflow

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
)

// genDAGFile writes a DAG file of realistic size and shape: a docstring,
// provider imports, default_args, SQL constants, 10–40 tasks in TaskGroups
// with multi-line arguments, and fan-out/fan-in dependencies. Every fourth
// file is TaskFlow, every fifth is generated in a loop.
func genDAGFile(i int) []byte {
	var b strings.Builder
	tasks := 10 + (i*7)%31
	fmt.Fprintf(&b, "\"\"\"Load domain %d from the source database into the warehouse.\n\nOwned by data-eng; pages the on-call on failure.\n\"\"\"\n", i)
	b.WriteString("from datetime import timedelta\n\nimport pendulum\nfrom airflow import DAG\n")
	b.WriteString("from airflow.operators.empty import EmptyOperator\nfrom airflow.operators.bash import BashOperator\n")
	b.WriteString("from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator\n")
	b.WriteString("from airflow.utils.task_group import TaskGroup\nfrom airflow.decorators import task\n\n")
	b.WriteString("DEFAULT_ARGS = {\n    \"owner\": \"data-eng\",\n    \"retries\": 2,\n    \"retry_delay\": timedelta(minutes=5),\n    \"pool\": \"snowflake\",\n}\n\n")
	fmt.Fprintf(&b, "MERGE_SQL = \"\"\"\nMERGE INTO MARTS.DOMAIN_%d t\nUSING STAGING.DOMAIN_%d_RAW s ON t.id = s.id\nWHEN MATCHED THEN UPDATE SET t.value = s.value, t.updated_at = s.updated_at\nWHEN NOT MATCHED THEN INSERT (id, value, updated_at) VALUES (s.id, s.value, s.updated_at)\n\"\"\"\n\n", i, i)
	sched := []string{"@daily", "0 3 * * *", "30 */2 * * *", "@hourly", "15 6 * * 1-5"}[i%5]
	indent := "    "
	if i%5 == 4 {
		fmt.Fprintf(&b, "for region in [\"eu\", \"us\"]:\n")
		fmt.Fprintf(&b, "    with DAG(\n        dag_id=f\"domain_%d_{region}\",\n", i)
		indent = "        "
	} else {
		fmt.Fprintf(&b, "with DAG(\n    dag_id=\"domain_%d\",\n", i)
	}
	p := indent
	fmt.Fprintf(&b, "%sschedule=%q,\n%sstart_date=pendulum.datetime(2025, 1, 1, tz=\"UTC\"),\n%scatchup=False,\n%smax_active_runs=1,\n%sdefault_args=DEFAULT_ARGS,\n%stags=[\"domain\", \"tier-%d\"],\n%s) as dag:\n", p, sched, p, p, p, p, p, i%3, p[:len(p)-4])
	body := p
	fmt.Fprintf(&b, "%sstart = EmptyOperator(task_id=\"start\")\n%send = EmptyOperator(task_id=\"end\")\n", body, body)
	groups := 1 + tasks/10
	per := tasks / groups
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&b, "\n%swith TaskGroup(group_id=\"stage_%d\") as stage_%d:\n", body, g, g)
		in := body + "    "
		prev := ""
		for k := 0; k < per; k++ {
			name := fmt.Sprintf("t_%d_%d", g, k)
			switch {
			case i%4 == 3 && k%3 == 0:
				fmt.Fprintf(&b, "%s@task(task_id=%q)\n%sdef %s_fn(ds=None):\n%s    return ds\n\n%s%s = %s_fn()\n", in, name, in, name, in, in, name, name)
			case k%2 == 0:
				fmt.Fprintf(&b, "%s%s = SQLExecuteQueryOperator(\n%s    task_id=%q,\n%s    conn_id=\"snowflake_default\",\n%s    sql=MERGE_SQL,\n%s)\n", in, name, in, name, in, in, in)
			default:
				fmt.Fprintf(&b, "%s%s = BashOperator(\n%s    task_id=%q,\n%s    bash_command=\"dbt build --select tag:domain_%d --vars '{ds: {{ ds }}}'\",\n%s)\n", in, name, in, name, in, i, in)
			}
			if prev != "" {
				fmt.Fprintf(&b, "%s%s >> %s\n", in, prev, name)
			}
			prev = name
		}
	}
	b.WriteString("\n")
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&b, "%sstart >> stage_%d >> end\n", body, g)
	}
	return []byte(b.String())
}

func TestGenDAGFileShape(t *testing.T) {
	total := 0
	a := NewAnalyzer(nil)
	defer a.Close()
	for i := 0; i < 500; i++ {
		src := genDAGFile(i)
		total += strings.Count(string(src), "\n")
		res := a.File("dags/x.py", src)
		if !res.SyntaxOK || len(res.DAGs) == 0 {
			t.Fatalf("file %d: syntax ok=%v, %d DAGs:\n%s", i, res.SyntaxOK, len(res.DAGs), src)
		}
		for _, d := range res.DAGs {
			if n := len(d.Tasks); n < 10 || n > 45 {
				t.Fatalf("file %d: %d tasks", i, n)
			}
		}
	}
	if avg := total / 500; avg < 100 || avg > 220 {
		t.Errorf("average file is %d lines, want about 150", avg)
	}
}

// BenchmarkAnalyze500 runs the whole rule set over a generated repo of 500
// DAG files on one core, and CPython's py_compile over the same files in the
// same run: the floor any Python-based tool starts from.
func BenchmarkAnalyze500(b *testing.B) {
	dir := b.TempDir()
	var paths []string
	tree := checks.MapTree{}
	for i := 0; i < 500; i++ {
		p := filepath.Join(dir, "dags", fmt.Sprintf("domain_%03d.py", i))
		src := genDAGFile(i)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, src, 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
		tree[fmt.Sprintf("dags/domain_%03d.py", i)] = src
	}
	cfg, err := config.ParseRepo(".conveyor.yml", []byte("version: 1\ncomponents: [{name: dags, kind: airflow, paths: [\"dags/**/*.py\"]}]\nchecks:\n  airflow: {require: [owner, retries, tags], max_catchup_runs: 60}\n"))
	if err != nil {
		b.Fatal(err)
	}
	in := &checks.Input{Config: cfg, Base: checks.EmptyTree, Head: tree, Changes: checks.Diff(checks.EmptyTree, tree)}
	c := &Check{Now: func() time.Time { return fixedNow }}

	var pyDur time.Duration
	if py, err := exec.LookPath("python3"); err == nil {
		cmd := exec.Command(py, append([]string{"-m", "py_compile"}, paths...)...)
		cmd.Env = append(os.Environ(), "PYTHONPYCACHEPREFIX="+filepath.Join(dir, "pycache"))
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("py_compile: %v\n%s", err, out)
		}
		pyDur = time.Since(start)
	}

	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	b.ResetTimer()
	for b.Loop() {
		res := checks.Run(b.Context(), c, in)
		if res.Conclusion == checks.Failure {
			b.Fatalf("generated repo fails the check: %s", res.Summary)
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(500/perOp.Seconds(), "files/s")
	b.ReportMetric(float64(perOp.Milliseconds())*180/500, "ms_per_180_dags")
	if pyDur > 0 {
		b.ReportMetric(pyDur.Seconds()/perOp.Seconds(), "ratio_vs_py_compile")
		b.ReportMetric(float64(pyDur.Milliseconds()), "py_compile_ms")
	}
}
