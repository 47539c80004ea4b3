package release

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/artifacts"
)

type mapTree map[string][]byte

func (t mapTree) Files() []string {
	var out []string
	for p := range t {
		out = append(out, p)
	}
	return out
}

func (t mapTree) ReadFile(p string) ([]byte, error) { return t[p], nil }

func testConfig() *config.RepoConfig {
	return &config.RepoConfig{
		Components: []config.Component{
			{Name: "dags", Kind: config.KindAirflow, Paths: []string{"dags/**"}},
			{Name: "warehouse", Kind: config.KindDbt, Paths: []string{"dbt/**"}},
		},
		Deploy: config.Deploy{SmokeSQL: []string{"smoke/orders.sql"}},
	}
}

func TestBuild(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tree := mapTree{
		"dags/a.py":        []byte("a"),
		"dags/b.py":        []byte("b"),
		"dbt/m.sql":        []byte("select 1"),
		"README.md":        []byte("not part of any component"),
		"smoke/orders.sql": []byte("select 1 where false"),
	}
	r, err := Build(tree, testConfig(), Meta{SHA: "abc", Risk: "low"}, now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(mapTree)
		meta Meta
		same bool
	}{
		{"same content, other commit", func(mapTree) {}, Meta{SHA: "def", Risk: "high"}, true},
		{"unowned file changes", func(m mapTree) { m["README.md"] = []byte("x") }, Meta{SHA: "abc"}, true},
		{"one DAG changes", func(m mapTree) { m["dags/a.py"] = []byte("a2") }, Meta{SHA: "abc"}, false},
		{"a DAG is added", func(m mapTree) { m["dags/c.py"] = []byte("c") }, Meta{SHA: "abc"}, false},
		{"a DAG is removed", func(m mapTree) { delete(m, "dags/b.py") }, Meta{SHA: "abc"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mapTree{}
			for k, v := range tree {
				m[k] = v
			}
			tc.edit(m)
			r2, err := Build(m, testConfig(), tc.meta, now)
			if err != nil {
				t.Fatal(err)
			}
			if (r2.ID == r.ID) != tc.same {
				t.Fatalf("same=%v, want %v", r2.ID == r.ID, tc.same)
			}
		})
	}
	if r.File("README.md") != nil {
		t.Error("unowned file must not be in the release")
	}
	if f := r.File("smoke/orders.sql"); f == nil || f.Components[0] != DeployComponent {
		t.Errorf("smoke SQL must be in the release under %s: %+v", DeployComponent, f)
	}
	if got := len(r.FilesOf("dags")); got != 2 {
		t.Errorf("dags files = %d, want 2", got)
	}
	if !r.Changed(nil, "dags") || r.Changed(r, "dags") {
		t.Error("Changed is wrong")
	}
	if _, err := Build(mapTree{}, testConfig(), Meta{}, now); err == nil || !strings.Contains(err.Error(), "smoke/orders.sql") {
		t.Errorf("a missing declared smoke file must be an error naming it, got %v", err)
	}
}

func TestPublishLoad(t *testing.T) {
	ctx := context.Background()
	srv, err := artifacts.StartLocalS3(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client := srv.Client(nil)
	if err := artifacts.EnsureBucket(ctx, client, "releases", false); err != nil {
		t.Fatal(err)
	}
	stores := map[string]artifacts.Store{
		"dir": artifacts.Dir{Root: t.TempDir()},
		"s3":  &artifacts.S3{Client: client, Bucket: "releases", Prefix: "conveyor"},
	}
	tree := mapTree{"dags/a.py": []byte("print('a')"), "dags/b.py": []byte("print('a')"), "dbt/m.sql": []byte("select 1"), "smoke/orders.sql": []byte("select 1 where false")}
	r, err := Build(tree, testConfig(), Meta{SHA: "abc", PR: 3, Risk: "low", Checks: []Check{{"conveyor/airflow", "success"}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			if err := Publish(ctx, st, r, tree); err != nil {
				t.Fatal(err)
			}
			got, err := Load(ctx, st, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != r.ID || got.PR != 3 || len(got.Files) != 4 || got.Checks[0].Name != "conveyor/airflow" {
				t.Fatalf("loaded %+v", got)
			}
			dir := t.TempDir()
			if err := Materialize(ctx, st, got, dir); err != nil {
				t.Fatal(err)
			}
			if err := st.Put(ctx, BlobKey(r.File("dbt/m.sql").SHA256), []byte("tampered")); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadBlob(ctx, st, *r.File("dbt/m.sql")); err == nil || !strings.Contains(err.Error(), "do not match") {
				t.Fatalf("tampered blob must be refused, got %v", err)
			}
			if _, err := Load(ctx, st, "0000"); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Fatalf("missing release: got %v", err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	r, _ := Build(mapTree{"dags/a.py": []byte("a")}, &config.RepoConfig{Components: []config.Component{{Name: "d", Kind: "airflow", Paths: []string{"dags/**"}}}}, Meta{SHA: "x"}, time.Now())
	good, _ := r.Marshal()
	if _, err := Parse(good); err != nil {
		t.Fatalf("good manifest: %v", err)
	}
	tests := map[string]func(*Release){
		"id does not match":  func(r *Release) { r.Files[0].Size = 99 },
		"bad sha":            func(r *Release) { r.Files[0].SHA256 = "xyz" },
		"escaping path":      func(r *Release) { r.Files[0].Path = "../etc/passwd"; r.ID = ComputeID(r.Files) },
		"unknown version":    func(r *Release) { r.Version = 9 },
		"duplicate or order": func(r *Release) { r.Files = append(r.Files, r.Files[0]); r.ID = ComputeID(r.Files) },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			var c Release
			_ = json.Unmarshal(good, &c)
			edit(&c)
			b, _ := json.Marshal(&c)
			if _, err := Parse(b); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	r, _ := Build(mapTree{"dags/a.py": []byte("a")}, &config.RepoConfig{Components: []config.Component{{Name: "d", Kind: "airflow", Paths: []string{"dags/**"}}}}, Meta{SHA: "x"}, time.Now())
	good, _ := r.Marshal()
	f.Add(good)
	f.Add([]byte(`{"version":1,"id":"","files":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if ComputeID(r.Files) != r.ID {
			t.Fatal("accepted a manifest whose ID does not match")
		}
	})
}
