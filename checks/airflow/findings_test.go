package airflow

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
)

// findingKeys renders the findings of rules as "line:rule", in file order.
func findingKeys(fs []Finding, rules ...string) []string {
	out := []string{}
	for _, f := range fs {
		for _, r := range rules {
			if f.Rule == r {
				out = append(out, itoa(f.Line)+":"+f.Rule)
			}
		}
	}
	return out
}

// A start_date set in default_args is reported where the entry is written,
// not where the dict is passed to DAG(): that is the line to change.
func TestDefaultArgsFindingLine(t *testing.T) {
	const head = "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.utils.dates import days_ago\n"
	cases := []struct {
		name string
		body string // starts at line 4
		want []string
		// startLine is DAG.ArgLine("start_date"), which start-date-moved and
		// backfill-storm report at.
		startLine int
	}{
		{"dict defined above the DAG",
			"args = {\n    \"owner\": \"x\",\n    \"start_date\": days_ago(2),\n}\n\ndag = DAG(\"a\",\n    default_args=args,\n)\n",
			[]string{"6:dynamic-start-date"}, 6},
		{"dict() call",
			"args = dict(\n    owner=\"x\",\n    start_date=datetime.now(),\n)\ndag = DAG(\"a\", default_args=args)\n",
			[]string{"6:dynamic-start-date"}, 6},
		{"entry assigned after the dict",
			"args = {\"owner\": \"x\"}\nargs[\"start_date\"] = days_ago(1)\ndag = DAG(\"a\", default_args=args)\n",
			[]string{"5:dynamic-start-date"}, 5},
		{"entry merged from a base dict",
			"base = {\n    \"start_date\": days_ago(1),\n}\nargs = {**base, \"owner\": \"x\"}\ndag = DAG(\"a\", default_args=args)\n",
			[]string{"5:dynamic-start-date"}, 5},
		{"dict written in the call",
			"dag = DAG(\n    \"a\",\n    default_args={\n        \"start_date\": days_ago(1),\n    },\n)\n",
			[]string{"7:dynamic-start-date"}, 7},
		{"other entries vary at runtime too",
			"args = {\n    \"start_date\": datetime(2024, 1, 1),\n    \"owner\": f\"x{datetime.now()}\",\n}\ndag = DAG(\"a\",\n    default_args=args)\n",
			[]string{"6:runtime-varying-value"}, 5},
		{"start_date passed to DAG() itself",
			"args = {\"start_date\": datetime(2024, 1, 1)}\ndag = DAG(\"a\",\n    default_args=args,\n    start_date=days_ago(1),\n)\n",
			[]string{"7:dynamic-start-date"}, 7},
		{"entry set by update(): no place known, so the keyword passing the dict",
			"args = {}\nargs.update(start_date=days_ago(1))\ndag = DAG(\"a\",\n    default_args=args)\n",
			[]string{"7:dynamic-start-date"}, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ParseFile("dags/a.py", []byte(head+tc.body))
			if !res.SyntaxOK || len(res.DAGs) != 1 {
				t.Fatalf("syntax ok %v, %d DAGs: %+v", res.SyntaxOK, len(res.DAGs), res.Findings)
			}
			got := findingKeys(res.Findings, RuleDynamicStartDate, RuleRuntimeValue)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("findings = %v, want %v", got, tc.want)
			}
			if l := res.DAGs[0].ArgLine("start_date"); l != tc.startLine {
				t.Errorf("ArgLine(start_date) = %d, want %d", l, tc.startLine)
			}
		})
	}
}

// A default_args dict in a helper module has no line in the DAG file: the
// finding goes to the keyword passing it, never to line 1 or the import.
func TestDefaultArgsFromHelperFindingLine(t *testing.T) {
	files := map[string]string{
		"dags/common.py": "from airflow.utils.dates import days_ago\n\nARGS = {\n    \"owner\": \"x\",\n    \"start_date\": days_ago(1),\n}\n",
		"dags/a.py":      "from airflow import DAG\nfrom common import ARGS\n\ndag = DAG(\n    \"a\",\n    default_args=ARGS,\n)\n",
	}
	a := NewAnalyzer(func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	})
	defer a.Close()
	res := a.File("dags/a.py", []byte(files["dags/a.py"]))
	if got := findingKeys(res.Findings, RuleDynamicStartDate); strings.Join(got, " ") != "6:dynamic-start-date" {
		t.Errorf("findings = %v, want [6:dynamic-start-date]", got)
	}
}

// One import line gives at most one airflow3-removed finding per name it
// imports; a removed module is not reported again beside its names.
func TestRemovedImportOnce(t *testing.T) {
	cases := []struct {
		src  string
		want []string // messages up to "; use"
	}{
		{"from airflow.utils.dates import days_ago\n",
			[]string{"days_ago is removed in Airflow 3 with airflow.utils.dates"}},
		{"from airflow.utils.dates import days_ago, cron_presets\n",
			[]string{"days_ago is removed in Airflow 3 with airflow.utils.dates", "cron_presets is removed in Airflow 3 with airflow.utils.dates"}},
		{"from airflow.operators.dummy import DummyOperator\n",
			[]string{"DummyOperator is removed in Airflow 3 with airflow.operators.dummy"}},
		{"from airflow.operators.dummy_operator import DummyOperator\n",
			[]string{"DummyOperator is removed in Airflow 3"}},
		{"from airflow.operators.subdag_operator import SubDagOperator as S\n",
			[]string{"SubDagOperator is removed in Airflow 3"}},
		{"import airflow.utils.dates\n",
			[]string{"airflow.utils.dates is removed in Airflow 3"}},
		{"from airflow.utils.dates import *\n",
			[]string{"airflow.utils.dates is removed in Airflow 3"}},
		{"from airflow.operators.bash import BashOperator\n", []string{}},
	}
	for _, tc := range cases {
		t.Run(strings.TrimSpace(tc.src), func(t *testing.T) {
			res := ParseFile("dags/a.py", []byte(tc.src))
			got := []string{}
			for _, f := range res.Findings {
				if f.Rule == RuleAirflow3Removed && !strings.HasSuffix(f.Message, movedMarker) {
					msg, _, _ := strings.Cut(f.Message, "; use")
					got = append(got, msg)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("airflow3-removed findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// details.dags[].findings are the findings about that DAG. A finding about
// the file (an import, top-level code, a secret) is listed once, in
// details.findings, and in no DAG's list, however many DAGs the file has.
func TestFindingsBelongToTheirDAG(t *testing.T) {
	cases := []struct {
		name string
		src  string
		dags map[string][]string // dag_id, or ~id_pattern, to its findings as "line:rule"
		all  []string            // details.findings
	}{
		{"two DAGs and file-level findings",
			`from datetime import datetime
from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash_operator import BashOperator

BUCKET = Variable.get("bucket")
PASSWORD = "hunter2hunter2"

with DAG("a", start_date=datetime.now(), schedule="@daily", catchup=False) as a:
    BashOperator(task_id="t", bash_command="true")

with DAG("b", start_date=datetime(2025, 1, 1), schedule="@daily") as b:
    BashOperator(task_id="t", bash_command="true")
`,
			map[string][]string{"a": {"9:dynamic-start-date"}, "b": {"12:catchup-not-set", "12:backfill-storm", "12:max-active-runs-missing"}},
			[]string{"4:airflow1-import", "6:top-level-code", "7:hardcoded-secret", "9:dynamic-start-date", "12:catchup-not-set", "12:backfill-storm", "12:max-active-runs-missing"}},
		{"DAGs whose dag_id is only known at runtime",
			`import os
from datetime import datetime
from airflow import DAG

for name in os.listdir("/feeds"):
    with DAG(f"feed_{name}", start_date=datetime.now(), schedule="@daily", catchup=False) as d:
        pass

with DAG(f"load_{os.environ['ENV']}", start_date=datetime(2025, 1, 1), schedule="@daily", catchup=False) as e:
    pass
`,
			map[string][]string{"~feed_{name}": {"6:dynamic-start-date"}, "~load_{os.environ['ENV']}": {}},
			[]string{"6:dynamic-start-date"}},
		{"one default_args entry wrong for two DAGs: one finding, about both",
			`from airflow import DAG
from airflow.utils.dates import days_ago

args = {
    "owner": "x",
    "start_date": days_ago(1),
}

a = DAG("a", default_args=args, schedule="@daily", catchup=False)
b = DAG("b", default_args=args, schedule="@daily", catchup=False)
`,
			map[string][]string{"a": {"6:dynamic-start-date"}, "b": {"6:dynamic-start-date"}},
			[]string{"2:airflow3-removed", "6:dynamic-start-date"}},
		{"parse-time code in a DAG's block is about that DAG",
			`from datetime import datetime
from airflow import DAG
from airflow.models import Variable

with DAG("a", start_date=datetime(2025, 1, 1), schedule="@daily", catchup=False) as a:
    BUCKET = Variable.get("bucket")

with DAG("b", start_date=datetime(2025, 1, 1), schedule="@daily", catchup=False) as b:
    pass
`,
			map[string][]string{"a": {"6:top-level-code"}, "b": {}},
			[]string{"6:top-level-code"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := checks.MapTree{"dags/x.py": []byte(tc.src)}
			res := runCheck(t, checks.NewInput(checks.EmptyTree, head))
			d := res.Details.(Details)
			got := map[string][]string{}
			for _, x := range d.DAGs {
				id := "~" + x.IDPattern
				if x.DagID != nil {
					id = *x.DagID
				}
				got[id] = findingKeys(x.Findings, RuleIDs()...)
			}
			if len(got) != len(tc.dags) {
				t.Errorf("DAGs = %v, want %v", got, tc.dags)
			}
			for id, want := range tc.dags {
				if strings.Join(got[id], " ") != strings.Join(want, " ") {
					t.Errorf("findings of DAG %s = %v, want %v", id, got[id], want)
				}
			}
			if all := findingKeys(d.Findings, RuleIDs()...); strings.Join(all, " ") != strings.Join(tc.all, " ") {
				t.Errorf("details.findings = %v, want %v", all, tc.all)
			}
		})
	}
}
