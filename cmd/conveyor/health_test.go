package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/store"
)

func TestRunHealth(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "c.db")
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ago := func(h float64) time.Time { return now.Add(-time.Duration(h * float64(time.Hour))) }
	for _, r := range []store.Release{
		{ID: strings.Repeat("a", 64), SHA: "c1", Risk: "low", Manifest: []byte(`{}`), CreatedAt: ago(50)},
		{ID: strings.Repeat("b", 64), SHA: "c2", Risk: "low", Manifest: []byte(`{}`), CreatedAt: ago(30)},
	} {
		if err := db.PutRelease(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []store.Deployment{
		// data-platform prod: a deployed at 48h ago (2h after its build),
		// b failed and rolled back 20h ago, redeployed 10h ago.
		{ID: "p1", Repo: "parcelflow/data-platform", ReleaseID: strings.Repeat("a", 64), Env: "prod", State: "succeeded", CreatedAt: ago(49), FinishedAt: ago(48)},
		{ID: "p2", Repo: "parcelflow/data-platform", ReleaseID: strings.Repeat("b", 64), Env: "prod", State: "rolled_back", CreatedAt: ago(21), FinishedAt: ago(20)},
		{ID: "p3", Repo: "parcelflow/data-platform", ReleaseID: strings.Repeat("b", 64), Env: "prod", State: "succeeded", CreatedAt: ago(11), FinishedAt: ago(10)},
		// streaming dev: one deployment failed and nothing since.
		{ID: "s1", Repo: "parcelflow/streaming", ReleaseID: strings.Repeat("a", 64), Env: "dev", State: "failed", CreatedAt: ago(6), FinishedAt: ago(5)},
	} {
		d.Kind, d.Actor, d.UpdatedAt = "deploy", "alice", d.CreatedAt
		if err := db.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	empty := "sqlite://" + filepath.Join(dir, "empty.db")

	tests := []struct {
		name  string
		args  []string
		code  int
		want  []string
		avoid []string
	}{
		{"text", []string{"--db", dsn}, exitOK, []string{
			"parcelflow/data-platform  prod", "1/3 (33%)", "10h (1)", "bbbbbbbbbbbb 10h ago",
			"parcelflow/streaming", "failing for 5h", "counts from when the release was built",
		}, nil},
		{"one repository", []string{"--db", dsn, "--repo", "parcelflow/streaming"}, exitOK, []string{"parcelflow/streaming", "1/1 (100%)"}, []string{"data-platform"}},
		{"a short window", []string{"--db", dsn, "--window", "1d"}, exitOK, []string{"1.00         20h*       1/2 (50%)", "over the 1d ending"}, nil},
		{"nothing recorded", []string{"--db", empty}, exitOK, []string{"no deployments recorded"}, nil},
		{"bad format", []string{"--db", dsn, "--format", "xml"}, exitUsage, nil, nil},
		{"bad window", []string{"--db", dsn, "--window", "-3d"}, exitUsage, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runHealth(ctx, tc.args, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d (%s)", code, tc.code, errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(out.String(), a) {
					t.Errorf("output has %q:\n%s", a, out.String())
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := runHealth(ctx, []string{"--db", dsn, "--format", "json", "--repo", "parcelflow/data-platform"}, &out, &errb); code != exitOK {
			t.Fatalf("exit %d (%s)", code, errb.String())
		}
		var hs []map[string]any
		if err := json.Unmarshal(out.Bytes(), &hs); err != nil || len(hs) != 1 {
			t.Fatalf("json: %v\n%s", err, out.String())
		}
		h := hs[0]
		for k, want := range map[string]any{
			"env": "prod", "deploys": 2.0, "changes": 3.0, "failures": 1.0, "lead_time_seconds": 2 * 3600.0,
			"time_to_restore_seconds": 10 * 3600.0, "lead_time_basis": "release_created", "window_seconds": 30 * 24 * 3600.0, "healthy": true,
		} {
			if h[k] != want {
				t.Errorf("%s = %v, want %v", k, h[k], want)
			}
		}
	})
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"0d", 0, false},
		{"d", 0, false},
		{"-1h", 0, false},
		{"week", 0, false},
	}
	for _, tc := range tests {
		got, err := parseWindow(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseWindow(%q) = %v, %v", tc.in, got, err)
		}
	}
}
