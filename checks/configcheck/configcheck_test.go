package configcheck

import (
	"context"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
)

func TestConfigCheck(t *testing.T) {
	good := "components:\n  - name: dags\n    kind: airflow\n    paths: ['dags/**']\n"
	typo := "components:\n  - name: dags\n    kind: airflow\n    paths: ['dag/**']\n"
	invalid := "components:\n  - name: dags\n    kind: airflow\n    pathz: ['dags/**']\n"
	tests := []struct {
		name       string
		base, head map[string]string
		want       checks.Conclusion
		wantRule   string
		wantLine   int
		wantSource string
	}{
		{"valid", map[string]string{".conveyor.yml": good, "dags/a.py": ""}, map[string]string{".conveyor.yml": good, "dags/a.py": ""}, checks.Success, "", 0, "file"},
		{"this change writes a glob that matches nothing", map[string]string{".conveyor.yml": good, "dags/a.py": ""}, map[string]string{".conveyor.yml": typo, "dags/a.py": ""}, checks.Failure, "CONFIG-PATH", 2, "file"},
		{"base glob matches nothing here: a warning", map[string]string{".conveyor.yml": typo, "dags/a.py": ""}, map[string]string{".conveyor.yml": typo, "dags/a.py": ""}, checks.Success, "CONFIG-PATH", 2, "file"},
		{"head breaks the config", map[string]string{".conveyor.yml": good, "dags/a.py": ""}, map[string]string{".conveyor.yml": invalid, "dags/a.py": ""}, checks.Failure, "CONFIG", 4, "file"},
		{"base config broken", map[string]string{".conveyor.yml": invalid}, map[string]string{".conveyor.yml": invalid}, checks.Failure, "CONFIG", 4, "detected"},
		{"no config", map[string]string{}, map[string]string{"dags/a.py": "from airflow import DAG\nDAG('a')\n"}, checks.Success, "", 0, "detected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := checks.NewInput(tree(tt.base), tree(tt.head))
			res := checks.Run(context.Background(), Check{}, in)
			if res.Conclusion != tt.want {
				t.Fatalf("conclusion = %s, want %s; annotations %+v", res.Conclusion, tt.want, res.Annotations)
			}
			d := res.Details.(Details)
			if d.Source != tt.wantSource {
				t.Errorf("source = %s, want %s", d.Source, tt.wantSource)
			}
			if tt.wantRule == "" {
				if len(res.Annotations) != 0 {
					t.Fatalf("unexpected annotations %+v", res.Annotations)
				}
				return
			}
			a := res.Annotations[0]
			wantLevel := checks.Fail
			if tt.want == checks.Success {
				wantLevel = checks.Warning
			}
			if a.Rule != tt.wantRule || a.StartLine != tt.wantLine || a.Path != ".conveyor.yml" || a.Level != wantLevel {
				t.Fatalf("annotation = %+v, want %s %s at .conveyor.yml:%d", a, wantLevel, tt.wantRule, tt.wantLine)
			}
			if tt.wantSource == "detected" && !strings.Contains(res.Summary, "detected") {
				t.Errorf("summary does not say the components were detected: %s", res.Summary)
			}
		})
	}
}

func tree(files map[string]string) checks.MapTree {
	t := checks.MapTree{}
	for k, v := range files {
		t[k] = []byte(v)
	}
	return t
}
