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

// TestHighRiskMergeWaitsForPromoteProd merges an infrastructure change: the
// merge flow takes it to dev and staging and stops before prod, saying so
// on the PR; a data engineer's /promote prod is refused, and a DevOps
// member's is carried out, through the same webhooks a person would send.
func TestHighRiskMergeWaitsForPromoteProd(t *testing.T) {
	ctx := context.Background()
	s, files := sampleStack(t, StackOptions{})
	// No soak in staging, so the test needs no clock: the gates are the
	// risk and who asks.
	cfg := strings.Replace(files[".conveyor.yml"], "soak: {low: 0m, high: 30m}", "soak: {low: 0m, high: 0m}", 1)
	if cfg == files[".conveyor.yml"] {
		t.Fatal("the sample config changed shape: no staging soak")
	}
	s.Repo.Commit("main", map[string]string{".conveyor.yml": cfg}, "No soak in staging", "dave")
	const tfvars = "infra/platform/env/prod.tfvars"
	s.Repo.CreateBranch("more-workers", "main")
	s.Repo.Commit("more-workers", map[string]string{tfvars: strings.Replace(files[tfvars], "mwaa_max_workers         = 20", "mwaa_max_workers         = 25", 1)}, "More MWAA workers in prod", "dave")
	pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: "more-workers", Base: "main", Title: "More MWAA workers in prod", Author: "dave"})
	if _, err := s.WaitChecks(ctx, pr.HeadSHA(), 6, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	pr.Review("erin", "APPROVED", "")
	if _, err := s.WaitCheck(ctx, pr.HeadSHA(), "conveyor/policy", 30*time.Second, func(r githubemu.CheckRun) bool {
		return r.Status == "completed" && r.Conclusion == "success"
	}); err != nil {
		t.Fatal(err)
	}
	sha := pr.Merge("dave")
	defer func() {
		if t.Failed() {
			for _, c := range pr.Comments() {
				t.Logf("comment by %s: %s", c.User, c.Body)
			}
		}
	}()
	waitFor(t, "the flow to stop before prod", 30*time.Second, func() bool {
		for _, c := range pr.Comments() {
			if strings.Contains(c.Body, "Waiting before prod") && strings.Contains(c.Body, "/promote prod") {
				return true
			}
		}
		return false
	})
	if len(deploymentsAt(s, "staging", sha)) != 1 || len(deploymentsAt(s, "prod", sha)) != 0 {
		t.Fatal("a high-risk release must reach staging and stop before prod")
	}

	_, replies, err := s.Command(ctx, pr, "alice", "/promote prod", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) == 0 || !strings.Contains(replies[len(replies)-1].Body, "may run /promote in prod") || len(deploymentsAt(s, "prod", sha)) != 0 {
		t.Fatalf("a data engineer's /promote prod was not refused: %v", replies)
	}
	_, replies, err = s.Command(ctx, pr, "erin", "/promote prod", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) == 0 || !strings.Contains(replies[len(replies)-1].Body, "to **prod**: succeeded") {
		t.Fatalf("a DevOps member's /promote prod was not carried out: %v", replies)
	}
	if deps := deploymentsAt(s, "prod", sha); len(deps) != 1 || deps[0].State() != "success" {
		t.Fatalf("prod deployments at the merge commit: %+v", deps)
	}
}
