package airflow

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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
	// start and end count among the tasks; the rest fill the TaskGroups.
	inner := tasks - 2
	groups := 1 + inner/10
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&b, "\n%swith TaskGroup(group_id=\"stage_%d\") as stage_%d:\n", body, g, g)
		in := body + "    "
		prev := ""
		per := inner / groups
		if g < inner%groups {
			per++
		}
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

// TestGenDAGFileShape: the generated repo is what the benchmark claims,
// files of about 150 lines whose DAGs have 10 to 40 tasks, spanning the range.
func TestGenDAGFileShape(t *testing.T) {
	total, low, high := 0, 1000, 0
	a := NewAnalyzer(nil)
	defer a.Close()
	for i := 0; i < 500; i++ {
		src := genDAGFile(i)
		total += strings.Count(string(src), "\n")
		res := a.File("dags/x.py", src)
		if !res.SyntaxOK || len(res.DAGs) == 0 {
			t.Fatalf("file %d: syntax ok=%v, %d DAGs:\n%s", i, res.SyntaxOK, len(res.DAGs), src)
		}
		// A loop file builds the same DAG once per region: each has the
		// file's task count.
		for _, d := range res.DAGs {
			n := len(d.Tasks)
			if n < 10 || n > 40 {
				t.Fatalf("file %d: DAG %s has %d tasks, want 10–40", i, dagName(d), n)
			}
			low, high = min(low, n), max(high, n)
		}
	}
	if low != 10 || high != 40 {
		t.Errorf("tasks per DAG span %d–%d, want the whole 10–40", low, high)
	}
	if avg := total / 500; avg < 100 || avg > 220 {
		t.Errorf("average file is %d lines, want about 150", avg)
	}
}

// writeBenchRepo writes n generated DAG files under dir/dags and returns their paths.
func writeBenchRepo(b *testing.B, n int) (string, []string) {
	b.Helper()
	dir := b.TempDir()
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "dags", fmt.Sprintf("domain_%03d.py", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, genDAGFile(i), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	return dir, paths
}

// compileFloorScript times CPython's compile() over the files, each read
// from disk, in one process, and prints the time in ms. It leaves out what
// `python3 -m py_compile` adds on top (interpreter start, marshal, writing
// .pyc files), so it is the strictest floor for a Python tool that must at
// least read and compile every file.
const compileFloorScript = `
import sys, time
t = time.perf_counter()
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        compile(f.read(), p, "exec", dont_inherit=True)
print((time.perf_counter() - t) * 1000)
`

// pythonBaselines measures `python3 -m py_compile` over paths as a user runs
// it (a fresh interpreter that compiles every file and writes its .pyc, here
// into a throwaway prefix), and the compile() floor above.
func pythonBaselines(b *testing.B, py, dir string, paths []string) (pyCompile, floor time.Duration) {
	b.Helper()
	cmd := exec.Command(py, append([]string{"-m", "py_compile"}, paths...)...)
	cmd.Env = append(os.Environ(), "PYTHONPYCACHEPREFIX="+filepath.Join(dir, "pycache"))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("py_compile: %v\n%s", err, out)
	}
	pyCompile = time.Since(start)
	out, err := exec.Command(py, append([]string{"-c", compileFloorScript}, paths...)...).Output()
	if err != nil {
		b.Fatalf("compile floor: %v", err)
	}
	ms, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		b.Fatalf("compile floor printed %q", out)
	}
	return pyCompile, time.Duration(ms * float64(time.Millisecond))
}

// benchAnalyze runs the whole check on one core over n generated DAG files,
// reading them from disk as `conveyor validate --repo` does, and CPython over
// the same files in the same run: after each timed iteration, with the timer
// stopped, so both sides see the same load on a shared machine. Custom
// metrics take the best iteration of each side, the measurement least
// disturbed by other work.
func benchAnalyze(b *testing.B, n int) {
	dir, paths := writeBenchRepo(b, n)
	cfg, err := config.ParseRepo(".conveyor.yml", []byte("version: 1\ncomponents: [{name: dags, kind: airflow, paths: [\"dags/**/*.py\"]}]\nchecks:\n  airflow: {require: [owner, retries, tags], max_catchup_runs: 60}\n"))
	if err != nil {
		b.Fatal(err)
	}
	c := &Check{Now: func() time.Time { return fixedNow }}
	py, err := exec.LookPath("python3")
	if err != nil {
		b.Log("python3 is not on PATH: no py_compile comparison")
	}

	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	best := func(cur *time.Duration, d time.Duration) {
		if *cur == 0 || d < *cur {
			*cur = d
		}
	}
	var ours, pyCompile, floor time.Duration
	dags := 0
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		tree, err := checks.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		in := &checks.Input{Config: cfg, Base: checks.EmptyTree, Head: tree, Changes: checks.Diff(checks.EmptyTree, tree)}
		res := checks.Run(b.Context(), c, in)
		best(&ours, time.Since(start))
		if res.Conclusion == checks.Failure {
			b.Fatalf("generated repo fails the check: %s", res.Summary)
		}
		dags = len(res.Details.(Details).DAGs)
		if py != "" {
			b.StopTimer()
			p, f := pythonBaselines(b, py, dir, paths)
			best(&pyCompile, p)
			best(&floor, f)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(n)/ours.Seconds(), "files/s")
	b.ReportMetric(float64(ours.Microseconds())/1000, fmt.Sprintf("ms_per_%d_files", n))
	b.ReportMetric(float64(dags), "dags")
	if pyCompile > 0 {
		b.ReportMetric(float64(pyCompile.Microseconds())/1000, "py_compile_ms")
		b.ReportMetric(pyCompile.Seconds()/ours.Seconds(), "ratio_vs_py_compile")
		b.ReportMetric(float64(floor.Microseconds())/1000, "compile_floor_ms")
		b.ReportMetric(floor.Seconds()/ours.Seconds(), "ratio_vs_compile_floor")
	}
}

// BenchmarkAnalyze500 times the whole rule set over a generated repo of 500
// DAG files on one core, against py_compile over the same files.
func BenchmarkAnalyze500(b *testing.B) { benchAnalyze(b, 500) }

// BenchmarkAnalyze180 times 180 DAG files directly, for the target of under
// 300 ms on one core (every fifth file builds two DAGs, so 216 DAGs).
func BenchmarkAnalyze180(b *testing.B) { benchAnalyze(b, 180) }
