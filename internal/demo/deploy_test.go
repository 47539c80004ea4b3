package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/internal/githubemu"
)

// dagFiles is the airflow component of files as bucket keys and hashes.
func dagFiles(files map[string]string) map[string]string {
	out := map[string]string{}
	for p, c := range files {
		if strings.HasPrefix(p, "dags/") && strings.HasSuffix(p, ".py") && !strings.HasPrefix(p, "dags/tests/") && c != githubemu.Delete {
			sum := sha256.Sum256([]byte(c))
			out[p] = hex.EncodeToString(sum[:])
		}
	}
	return out
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func succeeded(deps []githubemu.Deployment, env string) bool {
	for _, d := range deps {
		if d.Environment == env && len(d.Statuses) > 0 && d.Statuses[len(d.Statuses)-1].State == "success" {
			return true
		}
	}
	return false
}

func TestMergeDeploysThroughEnvironments(t *testing.T) {
	ctx := context.Background()
	lg := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	s, err := Start(ctx, StackOptions{Dir: t.TempDir(), Logger: &lg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files, err := ReadFiles(filepath.Join("..", "..", "testdata", "sample-repo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SeedRepo(filepath.Join("..", "..", "testdata", "sample-repo")); err != nil {
		t.Fatal(err)
	}
	const dag = "dags/customer_metrics_taskflow.py"
	changed := files[dag] + "\n# tuned the region fan-out\n"
	s.Repo.Commit("tune-metrics", map[string]string{dag: changed}, "Tune customer metrics", "alice")
	pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: "tune-metrics", Base: "main", Title: "Tune customer metrics", Author: "alice"})
	if _, err := s.WaitChecks(ctx, pr.HeadSHA(), 3, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	pr.Merge("bob")
	waitFor(t, "a deployment to prod", 20*time.Second, func() bool { return succeeded(s.Repo.Deployments(), "prod") })
	files[dag] = changed
	want := dagFiles(files)
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) {
			if !succeeded(s.Repo.Deployments(), env) {
				t.Fatalf("no successful GitHub deployment to %s", env)
			}
			got, err := s.Bucket(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("bucket of %s has %d objects, want %d: %v", env, len(got), len(want), got)
			}
			for k, h := range want {
				if got[k] != h {
					t.Errorf("bucket of %s: %s is %q, want %q", env, k, got[k], h)
				}
			}
		})
	}
	waitFor(t, "the deploy comment", 10*time.Second, func() bool {
		for _, c := range pr.Comments() {
			if strings.Contains(c.Body, "auto-deploying low-risk release") && strings.Contains(c.Body, "dev → staging → prod") && strings.Contains(c.Body, "Deployed to dev, staging, prod") {
				return true
			}
		}
		return false
	})
}
