package checks

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	base := MapTree{"a.py": []byte("a"), "b.py": []byte("b"), "old/name.sql": []byte("select 1"), "gone.tf": []byte("x")}
	head := MapTree{"a.py": []byte("a"), "b.py": []byte("B"), "new/name.sql": []byte("select 1"), "added.yml": []byte("y")}
	want := []Change{
		{Path: "added.yml", Status: Added},
		{Path: "b.py", Status: Modified},
		{Path: "gone.tf", Status: Removed},
		{Path: "new/name.sql", Status: Renamed, PreviousPath: "old/name.sql"},
	}
	if got := Diff(base, head); !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff =\n%+v\nwant\n%+v", got, want)
	}
	if got := Diff(head, head); len(got) != 0 {
		t.Fatalf("Diff of a tree with itself = %+v, want none", got)
	}
}

type fakeCheck struct {
	name string
	run  func() (Result, error)
}

func (f fakeCheck) Name() string                                { return f.name }
func (f fakeCheck) Applies(*Input) bool                         { return true }
func (f fakeCheck) Run(context.Context, *Input) (Result, error) { return f.run() }

func TestRunNeverLeavesACheckOpen(t *testing.T) {
	tests := []struct {
		name        string
		run         func() (Result, error)
		want        Conclusion
		wantSummary string
	}{
		{"panics", func() (Result, error) { panic("index out of range") }, Failure, "crashed"},
		{"errors", func() (Result, error) { return Result{}, errors.New("executor unavailable") }, Failure, "executor unavailable"},
		{"failing annotation decides", func() (Result, error) {
			return Result{Annotations: []Annotation{{Path: "a", StartLine: 1, Level: Fail}}}, nil
		}, Failure, ""},
		{"warnings pass", func() (Result, error) {
			return Result{Annotations: []Annotation{{Path: "a", StartLine: 1, Level: Warning}}}, nil
		}, Success, ""},
		{"explicit conclusion kept", func() (Result, error) { return Result{Conclusion: ActionRequired}, nil }, ActionRequired, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := RunAll(context.Background(), []Check{fakeCheck{name: "x", run: tt.run}}, &Input{})[0]
			if res.Conclusion != tt.want || res.Name != "x" {
				t.Fatalf("got %s/%s, want x/%s", res.Name, res.Conclusion, tt.want)
			}
			if !strings.Contains(res.Summary, tt.wantSummary) {
				t.Fatalf("summary %q does not mention %q", res.Summary, tt.wantSummary)
			}
		})
	}
}

func TestLoadRepoConfigReadsBaseNotHead(t *testing.T) {
	baseCfg := "components:\n  - {name: dags, kind: airflow, paths: ['dags/**']}\n"
	headCfg := "components:\n  - {name: everything, kind: airflow, paths: ['**']}\n"
	base := MapTree{".conveyor.yml": []byte(baseCfg), "dags/a.py": nil}
	head := MapTree{".conveyor.yml": []byte(headCfg), "dags/a.py": nil}
	in := NewInput(base, head)
	if in.ConfigErr != nil {
		t.Fatal(in.ConfigErr)
	}
	if _, ok := in.Config.Component("dags"); !ok || len(in.Config.Components) != 1 {
		t.Fatalf("config not read from base: %+v", in.Config.Components)
	}

	broken := MapTree{".conveyor.yml": []byte("components: {"), "dags/a.py": []byte("from airflow import DAG\nDAG('x')\n")}
	in = NewInput(broken, head)
	if in.ConfigErr == nil || !in.Config.Detected {
		t.Fatalf("a broken base config must be reported and fall back to detection, got err=%v detected=%v", in.ConfigErr, in.Config.Detected)
	}

	in = NewInput(EmptyTree, head)
	if !in.Config.Detected {
		t.Fatal("without a base config the components must be detected")
	}
}

func TestReadTarballStripsGitHubsTopFolder(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range map[string]string{"parcelflow-data-abc1234/dags/a.py": "x", "parcelflow-data-abc1234/.git/config": "secret", "parcelflow-data-abc1234/../../etc/passwd": "no"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	tree, err := ReadTarball(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.Files(); !reflect.DeepEqual(got, []string{"dags/a.py"}) {
		t.Fatalf("files = %v, want only dags/a.py", got)
	}
}
