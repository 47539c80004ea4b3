package demo

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/store"
)

// TestServerResumesDeploymentLeftInFlight: a process dies in the middle of
// syncing dev's DAGs. The running server's resume loop leaves it alone while
// its lease runs, takes it over once the lease lapses and finishes it — the
// bucket equals the release and GitHub shows the deployment succeeded —
// without anyone merging or commanding anything. A deployment that cannot
// be resumed (its environment left the config) does not stop the next
// merge's flow.
func TestServerResumesDeploymentLeftInFlight(t *testing.T) {
	ctx := context.Background()
	var kill atomic.Pointer[context.CancelFunc]
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/"+EnvBuckets["dev"]+"/") {
				if c := kill.Swap(nil); c != nil {
					// The process dies while its first DAG is on the wire.
					(*c)()
					time.Sleep(20 * time.Millisecond)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	const lease = time.Second
	s, err := Start(ctx, StackOptions{Dir: t.TempDir(), WrapS3: wrap, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files, err := ReadFiles(filepath.Join("..", "..", "testdata", "sample-repo"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.SeedRepo(filepath.Join("..", "..", "testdata", "sample-repo"))
	if err != nil {
		t.Fatal(err)
	}
	s.AddPeople()
	cfg, err := config.ParseRepo(config.RepoConfigPath, []byte(files[config.RepoConfigPath]))
	if err != nil {
		t.Fatal(err)
	}
	repo := Org + "/" + RepoName
	// The process that dies: another replica's engine on the same store,
	// artifact store and targets as the server.
	dying, err := deploy.New(deploy.Options{DB: s.Store, Repo: repo, Config: cfg, Artifacts: s.Deploy.Artifacts, Targets: s.Deploy.Targets,
		WorkDir: filepath.Join(t.TempDir(), "work"), Lease: lease, Holder: "replica-that-dies"})
	if err != nil {
		t.Fatal(err)
	}
	tree := checks.MapTree{}
	for p, c := range files {
		tree[p] = []byte(c)
	}
	rel, err := release.Build(tree, cfg, release.Meta{SHA: base, Risk: "low"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := release.Publish(ctx, s.Deploy.Artifacts, rel, tree); err != nil {
		t.Fatal(err)
	}
	if err := dying.Register(ctx, rel); err != nil {
		t.Fatal(err)
	}
	// In flight in an environment the config has dropped: Resume cannot
	// finish it and says so, every time it looks.
	if err := s.Store.InsertDeployment(ctx, store.Deployment{ID: "sandbox-left-over", Repo: repo, ReleaseID: rel.ID, Env: "sandbox", Kind: deploy.KindDeploy,
		State: deploy.StateApplying, Actor: "alice", Details: []byte(`{"sha":"` + base + `","plan":["verify"]}`), CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	kill.Store(&cancel)
	d, err := dying.Deploy(runCtx, deploy.Request{ReleaseID: rel.ID, Env: "dev", Actor: "alice", Reason: "promote"})
	if err == nil || deploy.Terminal(d.State) {
		t.Fatalf("the killed deployment must be left in flight: %v (%s)", err, d.State)
	}
	rec, err := s.Store.GetDeployment(ctx, d.ID)
	if err != nil || rec.State != deploy.StateApplying {
		t.Fatalf("left in flight as %q (%v), want applying", rec.State, err)
	}

	var got *deploy.Deployment
	waitFor(t, "the server to resume the deployment", 20*time.Second, func() bool {
		r, err := s.Store.GetDeployment(ctx, d.ID)
		if err != nil || !deploy.Terminal(r.State) {
			return false
		}
		got, _ = dying.Get(ctx, d.ID)
		return true
	})
	if got.State != deploy.StateSucceeded || got.Details.BucketState != "release:"+rel.ID {
		t.Fatalf("resumed deployment ended %s with the bucket %q (%s)", got.State, got.Details.BucketState, got.Error)
	}
	if got.Details.Holder == d.Details.Holder || !strings.Contains(logText(got), "resumed by") {
		t.Fatalf("the record does not say who resumed it: holder %s, log %s", got.Details.Holder, logText(got))
	}
	// The dead run renewed its lease at most a third of a lease before its
	// last write, so a takeover sooner than this took a live lease.
	if resumedAt := resumeTime(got); resumedAt.Before(d.UpdatedAt.Add(lease * 2 / 3)) {
		t.Fatalf("resumed at %s, before the dead run's lease lapsed (last write %s, lease %s)", resumedAt, d.UpdatedAt, lease)
	}
	bucket, err := s.Bucket(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	want := dagFiles(files)
	if len(bucket) != len(want) {
		t.Fatalf("dev bucket holds %d objects, the release %d DAG files", len(bucket), len(want))
	}
	for k, h := range want {
		if bucket[k] != h {
			t.Errorf("dev bucket: %s differs from the release", k)
		}
	}
	if deps := deploymentsAt(s, "dev", base); len(deps) != 1 || deps[0].State() != "success" {
		t.Fatalf("want the resumed deployment on GitHub as a success in dev at %.7s, got %+v", base, deps)
	}

	t.Run("a deployment that cannot be resumed does not stop a merge", func(t *testing.T) {
		const dag = "dags/customer_metrics_taskflow.py"
		s.Repo.Commit("after-resume", map[string]string{dag: files[dag] + "\n# after the restart\n"}, "After the restart", "alice")
		pr := s.Repo.OpenPullRequest(githubemu.PROptions{Head: "after-resume", Base: "main", Title: "After the restart", Author: "alice"})
		approveAndWait(t, s, pr)
		pr.Merge("bob")
		waitFor(t, "the merge to reach prod", 30*time.Second, func() bool { return succeeded(s.Repo.Deployments(), "prod") })
		if r, _ := s.Store.GetDeployment(ctx, "sandbox-left-over"); r.State != deploy.StateApplying {
			t.Fatalf("the unresumable deployment was changed to %s", r.State)
		}
	})
}

func logText(d *deploy.Deployment) string {
	var b strings.Builder
	for _, l := range d.Details.Log {
		b.WriteString(l.Message + "\n")
	}
	return b.String()
}

// resumeTime is when the record says the deployment was resumed.
func resumeTime(d *deploy.Deployment) time.Time {
	for _, l := range d.Details.Log {
		if strings.HasPrefix(l.Message, "resumed by") {
			return l.At
		}
	}
	return time.Time{}
}
