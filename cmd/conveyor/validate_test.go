package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const goodDAG = `from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="orders", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
         default_args={"owner": "data-eng", "retries": 2}, tags=["orders"]) as dag:
    EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
`

const stormDAG = `from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="storm", schedule="@hourly", start_date=datetime(2020, 1, 1), catchup=True,
         default_args={"owner": "data-eng", "retries": 2}, tags=["x"]) as dag:
    EmptyOperator(task_id="only")
`

func validate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"validate", "--no-commands"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidateExitCodesAndJSON(t *testing.T) {
	clean := t.TempDir()
	writeFiles(t, clean, map[string]string{"dags/orders.py": goodDAG})
	failing := t.TempDir()
	writeFiles(t, failing, map[string]string{"dags/storm.py": stormDAG})
	badConfig := t.TempDir()
	writeFiles(t, badConfig, map[string]string{"dags/orders.py": goodDAG, ".conveyor.yml": "components:\n  - name: d\n    kind: spark\n    paths: ['dags/**']\n"})

	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantCheck string // a check that must be present with this conclusion, "name=conclusion"
	}{
		{"clean plain dir", []string{"--repo", clean, "--format", "json"}, 0, "conveyor/airflow=success"},
		{"failing check", []string{"--repo", failing, "--format", "json"}, 1, "conveyor/airflow=failure"},
		{"config error", []string{"--repo", badConfig, "--format", "json"}, 2, "conveyor/config=failure"},
		{"bad format", []string{"--repo", clean, "--format", "xml"}, 2, ""},
		{"missing dir", []string{"--repo", filepath.Join(clean, "nope")}, 2, ""},
		{"refs on a plain dir", []string{"--repo", clean, "--base", "main"}, 2, ""},
		{"truncated plan", []string{"--repo", clean, "--plan", "prod=" + truncatedPlan(t)}, 2, ""},
		{"plan without env", []string{"--repo", clean, "--plan", "plan.json"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := validate(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if tt.wantCheck == "" {
				return
			}
			var doc struct {
				Checks []struct {
					Name        string            `json:"name"`
					Conclusion  string            `json:"conclusion"`
					Summary     string            `json:"summary"`
					Annotations []json.RawMessage `json:"annotations"`
					Details     json.RawMessage   `json:"details"`
				} `json:"checks"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			name, conclusion, _ := strings.Cut(tt.wantCheck, "=")
			for _, c := range doc.Checks {
				if c.Annotations == nil || len(c.Details) == 0 {
					t.Errorf("%s: annotations and details must always be present", c.Name)
				}
				if c.Name == name {
					if c.Conclusion != conclusion {
						t.Fatalf("%s = %s, want %s", name, c.Conclusion, conclusion)
					}
					return
				}
			}
			t.Fatalf("no %s in %s", name, out)
		})
	}
}

func TestValidateGitRepoComparesBaseAndHead(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{"dags/orders.py": goodDAG})
	git("add", ".")
	git("commit", "-qm", "base")
	git("checkout", "-qb", "feature")
	writeFiles(t, dir, map[string]string{"dags/storm.py": stormDAG})
	git("add", ".")
	git("commit", "-qm", "storm")

	code, out, errOut := validate(t, "--repo", dir, "--base", "main", "--head", "feature")
	if code != 1 || !strings.Contains(out, "dags/storm.py") || !strings.Contains(out, "1 changed files") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// The working tree of main compared with itself changes nothing.
	git("checkout", "-q", "main")
	code, out, _ = validate(t, "--repo", dir)
	if code != 0 || !strings.Contains(out, "0 changed files") {
		t.Fatalf("working tree of main: exit %d\n%s", code, out)
	}
}

func truncatedPlan(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "plan.json")
	writeFiles(t, filepath.Dir(p), map[string]string{"plan.json": "{\"format_version\": \"1.2\",\n \"resource_changes\": ["})
	return p
}

func TestCheckJSONLocatesTheError(t *testing.T) {
	err := checkJSON("plan.json", []byte("{\n  \"a\": 1,\n  \"b\": ]\n}"))
	if err == nil || !strings.Contains(err.Error(), "plan.json:3:8:") {
		t.Fatalf("error = %v, want plan.json:3:8", err)
	}
	if err := checkJSON("plan.json", []byte(`{"ok": true}`)); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies src into a new temporary directory, outside any git
// repository, so validate treats it as a plain folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// sensitiveValues returns the string values a plan marks sensitive (through
// before_sensitive and after_sensitive masks, on resources and outputs) and
// the values of secret-named variables, which a plan does not mark.
func sensitiveValues(t *testing.T, planJSON []byte) []string {
	t.Helper()
	var p struct {
		Variables       map[string]struct{ Value any } `json:"variables"`
		ResourceChanges []struct {
			Change map[string]any `json:"change"`
		} `json:"resource_changes"`
		OutputChanges map[string]map[string]any `json:"output_changes"`
	}
	if err := json.Unmarshal(planJSON, &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	var leaves func(v any)
	leaves = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				leaves(e)
			}
		case map[string]any:
			for _, e := range x {
				leaves(e)
			}
		}
	}
	var masked func(v, mask any)
	masked = func(v, mask any) {
		switch m := mask.(type) {
		case bool:
			if m {
				leaves(v)
			}
		case map[string]any:
			obj, _ := v.(map[string]any)
			for k, sub := range m {
				masked(obj[k], sub)
			}
		case []any:
			list, _ := v.([]any)
			for i, sub := range m {
				if i < len(list) {
					masked(list[i], sub)
				}
			}
		}
	}
	for _, rc := range p.ResourceChanges {
		masked(rc.Change["before"], rc.Change["before_sensitive"])
		masked(rc.Change["after"], rc.Change["after_sensitive"])
	}
	for _, oc := range p.OutputChanges {
		masked(oc["before"], oc["before_sensitive"])
		masked(oc["after"], oc["after_sensitive"])
	}
	secretName := regexp.MustCompile(`(?i)key|secret|password|token`)
	for name, v := range p.Variables {
		if secretName.MatchString(name) {
			leaves(v.Value)
		}
	}
	return out
}

// TestValidatePlanJSON runs the CLI on the sample repo with a prod plan:
// details.plans.prod.changes lists each resource change of the plan exactly
// once, with exactly the five documented fields, and no sensitive value of
// the plan appears anywhere in the output.
func TestValidatePlanJSON(t *testing.T) {
	repo := copyDir(t, filepath.Join("..", "..", "testdata", "sample-repo"))
	planFile := filepath.Join("..", "..", "testdata", "terraform", "plans", "prod.json")
	planJSON, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := validate(t, "--repo", repo, "--plan", "prod="+planFile, "--format", "json")
	if code == exitUsage {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	var doc struct {
		Checks []struct {
			Name    string `json:"name"`
			Details struct {
				Plans map[string]struct {
					Changes []map[string]any `json:"changes"`
				} `json:"plans"`
			} `json:"details"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	var changes []map[string]any
	found := false
	for _, c := range doc.Checks {
		if c.Name == "conveyor/terraform" {
			prod, ok := c.Details.Plans["prod"]
			if !ok {
				t.Fatalf("no details.plans.prod in %s", out)
			}
			changes, found = prod.Changes, true
		}
	}
	if !found {
		t.Fatalf("no conveyor/terraform check in %s", out)
	}

	want := map[string]bool{"address": true, "type": true, "action": true, "action_reason": true, "stateful": true}
	actions := map[string]bool{"create": true, "update": true, "delete": true, "replace": true, "read": true, "no-op": true, "move": true, "import": true}
	seen := map[string]int{}
	for _, c := range changes {
		if len(c) != len(want) {
			t.Errorf("change %v has fields %v, want exactly address, type, action, action_reason, stateful", c["address"], keysOf(c))
		}
		for k := range c {
			if !want[k] {
				t.Errorf("change %v has unexpected field %q", c["address"], k)
			}
		}
		if a, _ := c["action"].(string); !actions[a] {
			t.Errorf("change %v: action %v", c["address"], c["action"])
		}
		addr, _ := c["address"].(string)
		seen[addr]++
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(planJSON, &plan); err != nil {
		t.Fatal(err)
	}
	if len(changes) != len(plan.ResourceChanges) {
		t.Errorf("%d changes for %d resource changes in the plan", len(changes), len(plan.ResourceChanges))
	}
	for _, rc := range plan.ResourceChanges {
		if seen[rc.Address] != 1 {
			t.Errorf("%s appears %d times, want once", rc.Address, seen[rc.Address])
		}
	}

	secrets := sensitiveValues(t, planJSON)
	if len(secrets) < 4 {
		t.Fatalf("found only %d sensitive values in the plan fixture; the test would prove nothing", len(secrets))
	}
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(out+errOut, s) {
			t.Errorf("output carries the sensitive value %q", s)
		}
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestValidatePlanForUnknownEnvironment: --plan or --warehouse for an
// environment the config does not have (a typo) is a usage error naming the
// known ones.
func TestValidatePlanForUnknownEnvironment(t *testing.T) {
	repo := copyDir(t, filepath.Join("..", "..", "testdata", "sample-repo"))
	planFile := filepath.Join("..", "..", "testdata", "terraform", "plans", "prod.json")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"typo", []string{"--plan", "prd=" + planFile}, exitUsage, `--plan prd=` + planFile + `: unknown environment "prd" (known: dev, staging, prod)`},
		{"one good, one unknown", []string{"--plan", "prod=" + planFile, "--plan", "qa=" + planFile}, exitUsage, `unknown environment "qa"`},
		{"known", []string{"--plan", "prod=" + planFile}, -1, ""},
		{"warehouse typo", []string{"--warehouse", "prd=" + planFile}, exitUsage, `--warehouse prd=` + planFile + `: unknown environment "prd" (known: dev, staging, prod)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := validate(t, append([]string{"--repo", repo, "--format", "json"}, tt.args...)...)
			if tt.wantCode >= 0 && code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.wantCode, errOut)
			}
			if tt.wantCode < 0 && code == exitUsage {
				t.Fatalf("a plan for a known environment is refused: %s", errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q does not say %q", errOut, tt.wantErr)
			}
			if tt.wantCode == exitUsage && out != "" {
				t.Errorf("a usage error printed results:\n%s", out)
			}
		})
	}
}

// TestValidatePlainFolderWithInvalidConfig: a plain folder whose own
// .conveyor.yml is invalid reports each error once, at file:line:column,
// and does not claim the file is missing.
func TestValidatePlainFolderWithInvalidConfig(t *testing.T) {
	tests := []struct {
		name, config string
		want         []string // each must appear exactly once in the text output
	}{
		{"unknown kind", "components:\n  - name: d\n    kind: spark\n    paths: ['dags/**']\n",
			[]string{`.conveyor.yml:2:5: failure [CONFIG] components[0].kind: kind "spark" is not one of`}},
		{"two unknown kinds", "components:\n  - name: d\n    kind: spark\n    paths: ['dags/**']\n  - name: e\n    kind: flink\n    paths: ['dags/**']\n",
			[]string{`.conveyor.yml:2:5: failure [CONFIG] components[0].kind: kind "spark"`, `.conveyor.yml:5:5: failure [CONFIG] components[1].kind: kind "flink"`}},
		{"unknown key", "components:\n  - name: d\n    kind: airflow\n    pathz: ['dags/**']\n",
			[]string{".conveyor.yml:4:5: failure [CONFIG] components[0].pathz: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"dags/orders.py": goodDAG, ".conveyor.yml": tt.config})
			code, out, errOut := validate(t, "--repo", dir)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitUsage, out, errOut)
			}
			if strings.Contains(out, "No .conveyor.yml") {
				t.Errorf("claims there is no .conveyor.yml:\n%s", out)
			}
			if !strings.Contains(out, ".conveyor.yml is invalid") {
				t.Errorf("does not say the config is invalid:\n%s", out)
			}
			for _, want := range tt.want {
				if n := strings.Count(out, want); n != 1 {
					t.Errorf("%q appears %d times, want once:\n%s", want, n, out)
				}
			}
			if n := strings.Count(out, "[CONFIG]"); n != len(tt.want) {
				t.Errorf("%d config errors reported, want the %d in the file, once each:\n%s", n, len(tt.want), out)
			}

			code, out, _ = validate(t, "--repo", dir, "--format", "json")
			if code != exitUsage {
				t.Fatalf("json: exit %d", code)
			}
			var doc struct {
				Config string `json:"config"`
				Checks []struct {
					Name        string            `json:"name"`
					Annotations []json.RawMessage `json:"annotations"`
					Details     struct {
						Errors []json.RawMessage `json:"errors"`
					} `json:"details"`
				} `json:"checks"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Config != "invalid" {
				t.Errorf("config = %q, want invalid", doc.Config)
			}
			for _, c := range doc.Checks {
				if c.Name != "conveyor/config" {
					continue
				}
				if len(c.Details.Errors) != len(tt.want) || len(c.Annotations) != len(tt.want) {
					t.Errorf("details.errors = %d, annotations = %d; want each of the %d errors once", len(c.Details.Errors), len(c.Annotations), len(tt.want))
				}
				return
			}
			t.Fatalf("no conveyor/config check in %s", out)
		})
	}
}

// TestValidateComparesContractsWithLiveTables runs conveyor/contracts on
// the sample repo against a DuckDB warehouse: in agreement, then with a
// contracted column dropped from the live table.
func TestValidateComparesContractsWithLiveTables(t *testing.T) {
	sample := copyDir(t, filepath.Join("..", "..", "testdata", "sample-repo"))
	const ddl = `CREATE TABLE marts.fct_orders (order_id VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, order_status VARCHAR NOT NULL,
  ordered_at TIMESTAMP NOT NULL, order_total DECIMAL(18,2), item_count INTEGER, last_scan_status VARCHAR)`
	const revenue = `CREATE TABLE marts.fct_daily_revenue (revenue_date DATE NOT NULL, orders INTEGER, revenue DECIMAL(18,2))`
	const rows = `INSERT INTO marts.fct_orders VALUES ('o1', 'c1', 'paid', TIMESTAMP '2026-01-01 10:00:00', 12.50, 1, NULL); INSERT INTO marts.fct_daily_revenue VALUES (DATE '2026-01-01', 1, 12.50)`
	tests := []struct {
		name     string
		stmts    []string
		code     int
		status   string
		contains string
	}{
		{"in agreement", []string{"CREATE SCHEMA marts", ddl, revenue, rows}, exitOK, "match", ""},
		{"a contracted column dropped", []string{"CREATE SCHEMA marts", ddl, revenue, rows, "ALTER TABLE marts.fct_orders DROP COLUMN order_total"}, exitFailed, "drift", "order_total is missing"},
		{"a row breaks a quality rule", []string{"CREATE SCHEMA marts", ddl, revenue, rows, "INSERT INTO marts.fct_orders VALUES ('o2', 'c1', 'lost', TIMESTAMP '2026-01-01 11:00:00', 3.00, 1, NULL)"}, exitFailed, "match", "invalidValues on order_status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wh := duckFile(t, tc.stmts...)
			var out, errb bytes.Buffer
			code := runValidate(context.Background(), []string{"--repo", sample, "--check", "conveyor/contracts", "--warehouse", "prod=" + wh, "--no-commands", "--format", "json"}, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s\n%s", code, tc.code, errb.String(), out.String())
			}
			var v struct {
				Checks []struct {
					Details struct {
						Live []struct{ Env, Object, Status string } `json:"live"`
					} `json:"details"`
					Annotations []struct{ Message string } `json:"annotations"`
				} `json:"checks"`
			}
			if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v.Checks) != 1 {
				t.Fatalf("json: %v\n%s", err, out.String())
			}
			live := v.Checks[0].Details.Live
			if len(live) == 0 || live[0].Status != tc.status {
				t.Fatalf("live comparison = %+v, want %s", live, tc.status)
			}
			if tc.contains != "" && !strings.Contains(out.String(), tc.contains) {
				t.Errorf("output lacks %q", tc.contains)
			}
		})
	}
	var errb bytes.Buffer
	if code := runValidate(context.Background(), []string{"--repo", sample, "--warehouse", "prod=" + filepath.Join(t.TempDir(), "none.duckdb")}, io.Discard, &errb); code != exitUsage {
		t.Fatalf("a missing warehouse file: exit %d, want %d", code, exitUsage)
	}
}
