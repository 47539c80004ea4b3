package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/store"
)

func TestRunStatus(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "c.db")
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	manifest := `{"version":1,"id":"` + strings.Repeat("a", 64) + `","sha":"0123456789abcdef","pr":7,"risk":"high","kinds":{},"files":[],"created_at":"2026-01-01T00:00:00Z"}`
	if err := db.PutRelease(ctx, store.Release{ID: strings.Repeat("a", 64), SHA: "0123456789abcdef", PR: 7, Risk: "high", Manifest: []byte(manifest), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPromotion(ctx, store.Promotion{Repo: "parcelflow/data-platform", ReleaseID: strings.Repeat("a", 64), Env: "prod", State: "waiting", Reason: "high risk: waiting for /promote prod", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A store that also holds a second repository's promotion.
	dsn2 := "sqlite://" + filepath.Join(dir, "two.db")
	db2, err := store.Open(ctx, dsn2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ repo, id, risk string }{{"parcelflow/data-platform", strings.Repeat("a", 64), "high"}, {"parcelflow/streaming", strings.Repeat("b", 64), "low"}} {
		m := `{"version":1,"id":"` + p.id + `","sha":"0123456789abcdef","pr":7,"risk":"` + p.risk + `","kinds":{},"files":[],"created_at":"2026-01-01T00:00:00Z"}`
		if err := db2.PutRelease(ctx, store.Release{ID: p.id, SHA: "0123456789abcdef", PR: 7, Risk: p.risk, Manifest: []byte(m), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := db2.PutPromotion(ctx, store.Promotion{Repo: p.repo, ReleaseID: p.id, Env: "prod", State: "waiting", Reason: p.risk + " risk: waiting for /promote prod", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	db2.Close()
	// A store whose older rows belong to no repository, and newer to one.
	dsn3 := "sqlite://" + filepath.Join(dir, "legacy.db")
	db3, err := store.Open(ctx, dsn3)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ repo, id, risk string }{{"", strings.Repeat("c", 64), "low"}, {"parcelflow/data-platform", strings.Repeat("a", 64), "high"}} {
		m := `{"version":1,"id":"` + p.id + `","sha":"0123456789abcdef","pr":7,"risk":"` + p.risk + `","kinds":{},"files":[],"created_at":"2026-01-01T00:00:00Z"}`
		if err := db3.PutRelease(ctx, store.Release{ID: p.id, SHA: "0123456789abcdef", PR: 7, Risk: p.risk, Manifest: []byte(m), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := db3.PutPromotion(ctx, store.Promotion{Repo: p.repo, ReleaseID: p.id, Env: "prod", State: "waiting", Reason: p.risk + " risk: waiting for /promote prod", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	db3.Close()
	cfg := filepath.Join("..", "..", "testdata", "sample-repo", ".conveyor.yml")
	if _, err := os.Stat(cfg); err != nil {
		t.Skip("sample repo config not present")
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"text", []string{"--db", dsn, "--repo-config", cfg}, 0, "pending aaaaaaaaaaaa: high risk"},
		{"json", []string{"--db", dsn, "--repo-config", cfg, "--format", "json"}, 0, `"env": "prod"`},
		{"bad format", []string{"--db", dsn, "--repo-config", cfg, "--format", "xml"}, 2, ""},
		{"missing config", []string{"--db", dsn, "--repo-config", filepath.Join(dir, "nope.yml")}, 2, ""},
		{"one repository of two", []string{"--db", dsn2, "--repo-config", cfg, "--repo", "parcelflow/data-platform"}, 0, "pending aaaaaaaaaaaa: high risk"},
		{"the other repository", []string{"--db", dsn2, "--repo-config", cfg, "--repo", "parcelflow/streaming"}, 0, "pending bbbbbbbbbbbb: low risk"},
		{"two repositories need --repo", []string{"--db", dsn2, "--repo-config", cfg}, 1, ""},
		{"rows from before repositories were named do not count as one", []string{"--db", dsn3, "--repo-config", cfg}, 0, "pending aaaaaaaaaaaa: high risk"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runStatus(ctx, tc.args, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d (%s)", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out.String())
			}
			if tc.name == "json" {
				var v []map[string]any
				if err := json.Unmarshal(out.Bytes(), &v); err != nil || len(v) != 3 {
					t.Fatalf("json: %v (%d environments)", err, len(v))
				}
			}
		})
	}
}

// Without --db or a server config, status reads the embedded default
// database, as `conveyor serve` writes it out of the box.
func TestStatusDefaultsToTheEmbeddedDatabase(t *testing.T) {
	repoCfg, err := filepath.Abs("../../testdata/sample-repo/.conveyor.yml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	if code := runStatus(context.Background(), []string{"--repo-config", repoCfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join("data", "conveyor.db")); err != nil {
		t.Fatalf("the default database was not used: %v", err)
	}
	if !strings.Contains(out.String(), "staging") {
		t.Fatalf("status lists no environments:\n%s", out.String())
	}
	// An explicit server config that does not exist is an error, not a fallback.
	if code := runStatus(context.Background(), []string{"--repo-config", repoCfg, "--config", "nope.yml"}, &out, &errb); code == 0 {
		t.Fatal("a missing --config file must fail")
	}
}
