package airflow

import (
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
