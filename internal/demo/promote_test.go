package demo

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/internal/githubemu"
)

// deploymentsAt lists the GitHub deployments of env whose ref is sha.
func deploymentsAt(s *Stack, env, sha string) []githubemu.Deployment {
	var out []githubemu.Deployment
	for _, d := range s.Repo.Deployments() {
		if d.Environment == env && d.SHA == sha {
			out = append(out, d)
		}
	}
	return out
}

func payloadRelease(t *testing.T, d githubemu.Deployment) string {
	t.Helper()
	var p struct {
		Release string `json:"release"`
		PR      int    `json:"pr"`
	}
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		t.Fatalf("deployment payload %s: %v", d.Payload, err)
	}
	return p.Release
}

// TestPromoteBeforeMerge: /promote dev on an open, approved PR builds the
// release from the PR's head and deploys it to dev; prod refuses an
// unmerged PR; the merge of the same tree reuses the release, so dev is not
// deployed again and staging and prod take the very release dev ran.
func TestPromoteBeforeMerge(t *testing.T) {
	ctx := context.Background()
	s, files := sampleStack(t, StackOptions{})
	const dag = "dags/customer_metrics_taskflow.py"
	files[dag] += "\n# try the new fan-out in dev first\n"
	s.Repo.Commit("try-in-dev", map[string]string{dag: files[dag]}, "Try the fan-out in dev", "alice")
	pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: "try-in-dev", Base: "main", Title: "Try the fan-out in dev", Author: "alice"})
	approveAndWait(t, s, pr)
	head := pr.HeadSHA()

	_, replies, err := s.Command(ctx, pr, "alice", "/promote dev", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) == 0 || !strings.Contains(replies[len(replies)-1].Body, "to **dev**: succeeded") {
		t.Fatalf("/promote dev was not carried out: %v", replies)
	}
	got, err := s.Bucket(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	want := dagFiles(files)
	if len(got) != len(want) {
		t.Fatalf("dev bucket holds %d objects, the PR head has %d DAG files", len(got), len(want))
	}
	for k, h := range want {
		if got[k] != h {
			t.Errorf("dev bucket: %s is %.12q, the PR head has %.12q", k, got[k], h)
		}
	}
	devDeps := deploymentsAt(s, "dev", head)
	if len(devDeps) != 1 || devDeps[0].State() != "success" {
		t.Fatalf("want one successful GitHub deployment to dev at the PR head %.7s, got %+v", head, devDeps)
	}
	promoted := payloadRelease(t, devDeps[0])

	t.Run("prod refuses an unmerged PR", func(t *testing.T) {
		_, replies, err := s.Command(ctx, pr, "carol", "/promote prod", 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(replies) == 0 || !strings.Contains(replies[len(replies)-1].Body, "merge first: prod takes releases of the default branch") {
			t.Fatalf("want a merge-first refusal, got %v", replies)
		}
		if b, _ := s.Bucket(ctx, "prod"); len(b) != 0 {
			t.Fatalf("prod bucket holds %d objects before any merge", len(b))
		}
	})

	sha := pr.Merge("bob")
	waitFor(t, "a deployment to prod", 30*time.Second, func() bool { return succeeded(s.Repo.Deployments(), "prod") })
	for _, env := range []string{"staging", "prod"} {
		// The release was built from the PR's head; these deployments ship
		// the merge commit, and name it.
		deps := deploymentsAt(s, env, sha)
		if len(deps) != 1 {
			t.Fatalf("want one deployment to %s at the merge commit %.7s, got %d", env, sha, len(deps))
		}
		if r := payloadRelease(t, deps[0]); r != promoted {
			t.Fatalf("%s deployed release %.12s, dev ran %.12s: the same tree must be the same release", env, r, promoted)
		}
	}
	n := 0
	for _, d := range s.Repo.Deployments() {
		if d.Environment == "dev" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("dev was deployed %d times; it already ran the merged release", n)
	}
}
