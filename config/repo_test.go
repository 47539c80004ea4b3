package config

import (
	"os"
	"strings"
	"testing"
)

func TestSampleRepoConfigParses(t *testing.T) {
	data, err := os.ReadFile("../testdata/sample-repo/.conveyor.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseRepo(".conveyor.yml", data)
	if err != nil {
		t.Fatalf("sample config: %v", err)
	}
	if got := strings.Join(cfg.EnvironmentNames(), ","); got != "dev,staging,prod" {
		t.Errorf("environments = %s", got)
	}
	if c, ok := cfg.Component("dags"); !ok || !c.Matches("dags/orders/load.py") || c.Matches("dags/tests/test_x.py") {
		t.Errorf("dags component does not match as configured: %+v", c)
	}
	if cfg.Checks.Airflow.MaxCatchupRuns != 60 {
		t.Errorf("max_catchup_runs = %d", cfg.Checks.Airflow.MaxCatchupRuns)
	}
	if got := cfg.Permissions["promote"]["prod"]; strings.Join(got, ",") != "data-eng-leads,devops" {
		t.Errorf("promote prod = %v", got)
	}
}

func TestRepoConfigErrorsAreLocated(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error, including file:line:col
	}{
		{"unknown top key", "version: 1\ncomponentz: []\n", ".conveyor.yml:2:1: componentz: unknown key"},
		{"unknown nested key", "components:\n  - name: d\n    kind: airflow\n    paths: [x]\n    pathz: [y]\n", ".conveyor.yml:5:5: components[0].pathz: unknown key"},
		{"bad kind", "components:\n  - name: d\n    kind: spark\n    paths: [x]\n", ".conveyor.yml:2:5: components[0].kind: kind \"spark\""},
		{"wrong type", "checks:\n  airflow:\n    max_catchup_runs: lots\n", ".conveyor.yml:3:23: checks.airflow.max_catchup_runs: expected a int"},
		{"duplicate key", "version: 1\nversion: 1\n", ".conveyor.yml:2:1: version: duplicate key"},
		{"duplicate component", "components:\n  - {name: d, kind: dbt, paths: [a]}\n  - {name: d, kind: dbt, paths: [b]}\n", ".conveyor.yml:3:5: components[1].name: component \"d\" is defined twice"},
		{"bad duration", "environments:\n  - name: dev\n    soak: {low: soon}\n", ".conveyor.yml:3:17: environments[0].soak.low: expected a duration"},
		{"unknown env in permissions", "permissions:\n  promote:\n    qa: [devops]\n", "permissions.promote.qa: unknown environment"},
		{"unknown command", "permissions:\n  deploy:\n    prod: [devops]\n", "permissions.deploy: unknown command"},
		{"rule toggle", "checks:\n  airflow:\n    rules:\n      AF001: maybe\n", ".conveyor.yml:4:14: checks.airflow.rules.AF001: expected off, on"},
		{"ignore without reason", "checks:\n  airflow:\n    ignore:\n      - {rule: AF001, paths: [x]}\n", "needs a reason"},
		{"bad freeze", "freeze:\n  - environments: [prod]\n    from: Friday at four\n    to: Mon 08:00\n", ".conveyor.yml:2:5: freeze[0]"},
		{"syntax", "components: [\n", ".conveyor.yml:"},
		{"account id", "environments:\n  - name: dev\n    aws_account_id: \"12\"\n", "12 digits"},
		{"restore points kept", "deploy:\n  keep_restore_points: -1\n", ".conveyor.yml:2:3: deploy.keep_restore_points: must be at least 1"},
		{"kafka iam", "environments:\n  - name: dev\n    kafka: {brokers: [b:9098], iam: sometimes}\n", ".conveyor.yml:3:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRepo(".conveyor.yml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("want error containing %q, got none", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestRuleSettings(t *testing.T) {
	cfg, err := ParseRepo("c.yml", []byte("checks:\n  airflow:\n    rules:\n      AF001: off\n      AF002: warning\n    ignore:\n      - {rule: AF003, paths: [\"dags/legacy/**\"], reason: migrating}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Checks.Airflow.RuleSettings
	if s.RuleOn("AF001", "dags/a.py") {
		t.Error("AF001 should be off")
	}
	if !s.RuleOn("AF002", "dags/a.py") || s.Severity("AF002", "failure") != "warning" {
		t.Error("AF002 should be on at warning")
	}
	if s.RuleOn("AF003", "dags/legacy/x.py") || !s.RuleOn("AF003", "dags/new/x.py") {
		t.Error("AF003 ignore should apply to dags/legacy only")
	}
}

func TestDetect(t *testing.T) {
	files := map[string]string{
		"dags/orders.py":                "from airflow import DAG\nwith DAG('orders') as dag:\n    pass\n",
		"dags/helpers.py":               "def x(): pass\n",
		"analytics/dbt_project.yml":     "name: analytics\n",
		"analytics/models/a.sql":        "select 1",
		"infra/main.tf":                 "",
		"infra/modules/bucket/main.tf":  "",
		"contracts/orders.yaml":         "apiVersion: v3.0.0\nkind: DataContract\n",
		"contracts/not-a-contract.yaml": "foo: bar\n",
	}
	names := make([]string, 0, len(files))
	for k := range files {
		names = append(names, k)
	}
	cfg := Detect(names, func(p string) ([]byte, error) { return []byte(files[p]), nil })
	if !cfg.Detected {
		t.Fatal("not marked detected")
	}
	got := map[string]string{}
	for _, c := range cfg.Components {
		got[c.Name] = c.Kind + ":" + strings.Join(c.Paths, ",")
	}
	want := map[string]string{
		"airflow":       "airflow:dags/**/*.py",
		"dbt-analytics": "dbt:analytics/**",
		"contracts":     "contracts:contracts/orders.yaml",
		"terraform":     "terraform:infra/**",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("component %s = %q, want %q", k, got[k], v)
		}
	}
	tf, _ := cfg.Component("terraform")
	if len(tf.Stacks) != 1 || tf.Stacks[0].Path != "infra" {
		t.Errorf("stacks = %+v, want only infra (modules are not stacks)", tf.Stacks)
	}
}

func FuzzParseRepo(f *testing.F) {
	seed, _ := os.ReadFile("../testdata/sample-repo/.conveyor.yml")
	f.Add(seed)
	f.Add([]byte("components: [{name: a, kind: dbt, paths: ['**']}]"))
	f.Add([]byte("version: 1\nfreeze: [{from: 'Fri 16:00', to: 'Mon 08:00'}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseRepo(".conveyor.yml", data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil {
			if es := AsErrors(err); len(es) == 0 {
				t.Fatalf("error without location: %v", err)
			}
		}
	})
}
