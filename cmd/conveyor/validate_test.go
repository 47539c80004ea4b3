package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
