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
	"github.com/parcelflow/conveyor/observe"
	"github.com/parcelflow/conveyor/store"
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
	s, files := sampleStack(t, StackOptions{Logger: &lg})
	const dag = "dags/customer_metrics_taskflow.py"
	changed := files[dag] + "\n# tuned the region fan-out\n"
	s.Repo.Commit("tune-metrics", map[string]string{dag: changed}, "Tune customer metrics", "alice")
	pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: "tune-metrics", Base: "main", Title: "Tune customer metrics", Author: "alice"})
	approveAndWait(t, s, pr)
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
	t.Run("lead time starts at the PR's first commit", func(t *testing.T) {
		records, err := observe.StoreHistory(s.Store)(ctx, Org+"/"+RepoName, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var prod *observe.DeployRecord
		for i := range records {
			if records[i].Env == "prod" {
				prod = &records[i]
			}
		}
		if prod == nil || prod.CommittedAt.IsZero() || prod.CommittedAt.After(prod.CreatedAt) || time.Since(prod.CommittedAt) > time.Minute {
			t.Fatalf("prod's deployment record = %+v, want the commit time of the PR (before the deployment)", prod)
		}
	})
	waitFor(t, "a Roll back prod button on the merged PR", 10*time.Second, func() bool {
		for _, r := range s.Repo.CheckRuns(pr.HeadSHA()) {
			for _, a := range r.Actions {
				if r.Name == "conveyor/policy" && a.Label == "Roll back prod" {
					return true
				}
			}
		}
		return false
	})
	waitFor(t, "the deploy comment", 10*time.Second, func() bool {
		for _, c := range pr.Comments() {
			if strings.Contains(c.Body, "auto-deploying low-risk release") && strings.Contains(c.Body, "dev → staging → prod") && strings.Contains(c.Body, "Deployed to dev, staging, prod") {
				return true
			}
		}
		return false
	})
}

// approveAndWait has bob (data-eng) approve pr and waits for its policy
// check to pass, as branch protection would before a merge.
func approveAndWait(t *testing.T, s *Stack, pr *githubemu.PullRequest) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.WaitChecks(ctx, pr.HeadSHA(), 6, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	pr.Review("bob", "APPROVED", "")
	if _, err := s.WaitCheck(ctx, pr.HeadSHA(), "conveyor/policy", 30*time.Second, func(r githubemu.CheckRun) bool {
		return r.Status == "completed" && r.Conclusion == "success"
	}); err != nil {
		t.Fatal(err)
	}
}

// TestMergeFlowMeetsFreezesAndLocks merges low-risk changes while staging is
// frozen and while prod is locked: the release stops before each, says why
// on the PR, and the audit log records every automatic gate decision.
func TestMergeFlowMeetsFreezesAndLocks(t *testing.T) {
	ctx := context.Background()
	s, files := sampleStack(t, StackOptions{})
	const dag = "dags/customer_metrics_taskflow.py"
	merge := func(branch, line string) *githubemu.PullRequest {
		t.Helper()
		files[dag] += "\n# " + line + "\n"
		s.Repo.Commit(branch, map[string]string{dag: files[dag]}, line, "alice")
		pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: branch, Base: "main", Title: line, Author: "alice"})
		approveAndWait(t, s, pr)
		return pr
	}
	stoppedAt := func(pr *githubemu.PullRequest, env, why string) {
		t.Helper()
		waitFor(t, "the flow to stop at "+env, 30*time.Second, func() bool {
			for _, c := range pr.Comments() {
				if strings.Contains(c.Body, "Waiting before "+env) && strings.Contains(c.Body, why) {
					return true
				}
			}
			return false
		})
	}
	deployedTo := func(sha string) map[string]bool {
		out := map[string]bool{}
		for _, d := range s.Repo.Deployments() {
			if d.SHA == sha {
				out[d.Environment] = true
			}
		}
		return out
	}

	frozen := merge("freeze-1", "first change")
	if _, replies, err := s.Command(ctx, frozen, "erin", "/freeze staging 2h load test", 30*time.Second); err != nil || len(replies) == 0 {
		t.Fatalf("freeze: %v %v", replies, err)
	}
	sha := frozen.Merge("carol")
	stoppedAt(frozen, "staging", "staging is frozen")
	if got := deployedTo(sha); !got["dev"] || got["staging"] || got["prod"] {
		t.Fatalf("a release merged during a staging freeze was deployed to %v; want dev only", got)
	}

	if _, _, err := s.Command(ctx, frozen, "erin", "/unfreeze staging", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Command(ctx, frozen, "dave", "/lock prod scheduler upgrade", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	locked := merge("lock-1", "second change")
	sha = locked.Merge("carol")
	stoppedAt(locked, "prod", "prod is locked by @dave")
	if got := deployedTo(sha); !got["dev"] || !got["staging"] || got["prod"] {
		t.Fatalf("a release merged during a prod lock was deployed to %v; want dev and staging", got)
	}

	events, err := store.NewAuditLog(s.Store).List(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var gates []string
	for _, ev := range events {
		if ev.Action == "auto-promote" {
			gates = append(gates, ev.Env+"="+ev.Decision)
		}
	}
	want := "dev=allowed staging=refused dev=allowed staging=allowed prod=refused"
	if strings.Join(gates, " ") != want {
		t.Fatalf("automatic gate decisions in the audit log = %v, want %s", gates, want)
	}
}

// sampleStack starts a stack whose repo holds the sample data platform and
// whose people are in their teams, and returns it with the sample's files.
func sampleStack(t *testing.T, opts StackOptions) (*Stack, map[string]string) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	sample := filepath.Join("..", "..", "testdata", "sample-repo")
	files, err := ReadFiles(sample)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SeedRepo(sample); err != nil {
		t.Fatal(err)
	}
	s.AddPeople()
	return s, files
}
