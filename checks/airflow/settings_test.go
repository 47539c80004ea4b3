package airflow

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
)

func TestEveryRuleDocumented(t *testing.T) {
	docs := readDoc(t)
	for _, id := range RuleIDs() {
		if !strings.Contains(docs, "### `"+id+"`") {
			t.Errorf("docs/checks/airflow.md has no section for rule %s", id)
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	cases := []struct {
		name, yml string
		want      []string // "line:key"
	}{
		{"valid", "target_version: \"3.0\"\n    require: [owner, tags]\n    rules: {top-level-code: off}", nil},
		{"bad version", "target_version: three", []string{"6:checks.airflow.target_version"}},
		{"unknown requirement", "require: [owner, sla]", []string{"6:checks.airflow.require"}},
		{"negative runs", "max_catchup_runs: -1", []string{"6:checks.airflow.max_catchup_runs"}},
		{"python version", "python_version: \"3.12\"", nil},
		{"python 2", "python_version: \"2.7\"", []string{"6:checks.airflow.python_version"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "version: 1\ncomponents: [{name: dags, kind: airflow, paths: [\"dags/**\"]}]\nchecks:\n  airflow:\n\n    " + tc.yml + "\n"
			src = strings.Replace(src, "  airflow:\n\n", "  airflow:\n", 1)
			_, err := config.ParseRepo(".conveyor.yml", []byte("# settings\n"+src))
			var got []string
			for _, e := range config.AsErrors(err) {
				got = append(got, itoa(e.Line)+":"+e.Key)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("errors = %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/checks/airflow.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUnknownRulesInSummary(t *testing.T) {
	head, cfg := sampleRepo(t)
	c := *cfg
	c.Checks.Airflow.Rules = map[string]config.RuleToggle{"top-level": {Severity: "notice"}}
	res := runCheck(t, &checks.Input{Config: &c, Base: checks.EmptyTree, Head: head, Changes: checks.Diff(checks.EmptyTree, head)})
	if !strings.Contains(res.Summary, "names rules this check does not have, so those settings do nothing: `top-level`") {
		t.Errorf("summary does not name the unknown rule:\n%s", res.Summary)
	}
}

// TestPythonVersionSetting: the syntax check follows the configured Python,
// and without one MWAA's Python for the target Airflow version.
func TestPythonVersionSetting(t *testing.T) {
	const nested = "from airflow import DAG\n\nTABLE = \"orders\"\nSQL = f\"select * from {\"raw.\" + TABLE}\"\n"
	cases := []struct {
		settings   string
		wantPython string
		wantSyntax bool
	}{
		{"{}", "3.11", true},
		{"{target_version: \"3.0\"}", "3.12", false},
		{"{target_version: \"3.0\", python_version: \"3.11\"}", "3.11", true},
		{"{python_version: \"3.13\"}", "3.13", false},
	}
	for _, tc := range cases {
		t.Run(tc.settings, func(t *testing.T) {
			cfg, err := config.ParseRepo(".conveyor.yml", []byte("version: 1\ncomponents: [{name: dags, kind: airflow, paths: [\"dags/**\"]}]\nchecks:\n  airflow: "+tc.settings+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			head := checks.MapTree{"dags/sql.py": []byte(nested)}
			res := runCheck(t, &checks.Input{Config: cfg, Base: checks.EmptyTree, Head: head, Changes: checks.Diff(checks.EmptyTree, head)})
			d := res.Details.(Details)
			if d.PythonVersion != tc.wantPython {
				t.Errorf("python_version = %q, want %q", d.PythonVersion, tc.wantPython)
			}
			syntax := false
			for _, f := range d.Findings {
				syntax = syntax || f.Rule == RuleSyntax
			}
			if syntax != tc.wantSyntax {
				t.Errorf("syntax finding = %v, want %v: %+v", syntax, tc.wantSyntax, d.Findings)
			}
		})
	}
}

// TestDetailsDocExample keeps the JSON example in docs/checks/airflow.md to
// the keys the check really writes: a static DAG, a DAG with a runtime
// dag_id, and the top level.
func TestDetailsDocExample(t *testing.T) {
	doc := readDoc(t)
	start := strings.Index(doc, "```json\n{\n  \"target_version\"")
	if start < 0 {
		t.Fatal("docs/checks/airflow.md has no details example")
	}
	block := doc[start+len("```json\n"):]
	block = block[:strings.Index(block, "```")]
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if j := strings.Index(l, "  // "); j >= 0 {
			l = l[:j]
		}
		lines = append(lines, l)
	}
	var example map[string]any
	if err := json.Unmarshal([]byte(strings.Join(lines, "\n")), &example); err != nil {
		t.Fatalf("the example is not JSON once comments are stripped: %v", err)
	}

	sample, cfg := sampleRepo(t)
	static := runCheck(t, &checks.Input{Config: cfg, Base: checks.EmptyTree, Head: sample, Changes: checks.Diff(checks.EmptyTree, sample)})
	fixtures, err := checks.ReadDir("../../testdata/airflow")
	if err != nil {
		t.Fatal(err)
	}
	dynamic := runCheck(t, checks.NewInput(checks.EmptyTree, fixtures))
	real := func(res checks.Result, pick func(DAGInfo) bool) map[string]any {
		t.Helper()
		for _, d := range res.Details.(Details).DAGs {
			if pick(d) {
				return jsonKeys(t, d)
			}
		}
		t.Fatal("no such DAG")
		return nil
	}
	dags := example["dags"].([]any)
	cases := []struct {
		name    string
		example map[string]any
		real    map[string]any
	}{
		{"top level", example, jsonKeys(t, static.Details)},
		{"static DAG", dags[0].(map[string]any), real(static, func(d DAGInfo) bool {
			return d.DagID != nil && *d.DagID == "orders_postgres_to_snowflake"
		})},
		{"runtime dag_id", dags[1].(map[string]any), real(dynamic, func(d DAGInfo) bool { return d.DagID == nil })},
	}
	for _, tc := range cases {
		if got, want := sortedKeys(tc.example), sortedKeys(tc.real); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: the docs show keys %v, the check writes %v", tc.name, got, want)
		}
	}
}

func jsonKeys(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
