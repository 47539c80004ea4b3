package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/identity"
	"github.com/parcelflow/conveyor/store"
)

func TestMergeToProdAndRollback(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 30)
	e := h.engine("engine-a", time.Minute)

	v1 := h.build(e, version{gen: 1}, "low", 11)
	res, err := e.Flow(ctx, FlowRequest{ReleaseID: v1.ID, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deployments) != 3 || res.StoppedAt != "" {
		t.Fatalf("low-risk release: %d deployments, stopped at %q (%s)", len(res.Deployments), res.StoppedAt, res.Reason)
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		h.assertBucket(env, v1)
		if got := h.orders(env); got != "1:10 2:20" {
			t.Fatalf("%s orders = %q", env, got)
		}
	}

	// v2 changes one DAG and the orders table: a bad release.
	v2 := h.build(e, version{gen: 2, changed: map[int]string{7: "from airflow import DAG\n# broken\n"}, orders: `SELECT * FROM (VALUES (1, 10), (2, 20), (3, 30)) t(id, amount)`}, "low", 12)
	before := h.faults.PutBytes.Load()
	res, err = e.Flow(ctx, FlowRequest{ReleaseID: v2.ID, Actor: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Deployments {
		if d.Details.Airflow == nil || d.Details.Airflow.Uploaded != 1 {
			t.Fatalf("%s: want exactly one DAG uploaded, got %+v", d.Env, d.Details.Airflow)
		}
		if len(d.Details.RestorePoints) != 1 || d.Details.RestorePoints[0].Snapshot == "" {
			t.Fatalf("%s: want a restore point of marts, got %+v", d.Env, d.Details.RestorePoints)
		}
		if len(d.Details.Smoke) != 1 || !d.Details.Smoke[0].Passed {
			t.Fatalf("%s: smoke %+v", d.Env, d.Details.Smoke)
		}
	}
	if moved := h.faults.PutBytes.Load() - before; moved != 3*int64(v2.File("dags/pipeline_007.py").Size) {
		t.Fatalf("v2 moved %d bytes to the buckets, want 3 × one DAG", moved)
	}
	h.assertBucket("prod", v2)

	rb, err := e.Rollback(ctx, Request{Env: "prod", Actor: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Kind != KindRollback || rb.State != StateSucceeded || rb.ReleaseID != v1.ID || rb.Details.RolledBackRelease != v2.ID {
		t.Fatalf("rollback = %s %s to %s from %s", rb.Kind, rb.State, rb.ReleaseID, rb.Details.RolledBackRelease)
	}
	h.assertBucket("prod", v1)
	if got := h.orders("prod"); got != "1:10 2:20" {
		t.Fatalf("prod orders after rollback = %q, want v1's", got)
	}
	if got := h.orders("staging"); got != "1:10 2:20 3:30" {
		t.Fatalf("staging must be untouched, orders = %q", got)
	}
	if w := rb.Details.DagRunsToReview; w == nil || fmt.Sprint(w.DAGs) != "[dags/pipeline_007.py]" || w.From.IsZero() {
		t.Fatalf("DAG runs to review = %+v", w)
	}

	t.Run("github deployments", func(t *testing.T) {
		deps := h.repo.Deployments()
		if len(deps) != 7 {
			t.Fatalf("%d GitHub deployments, want 7 (2 × 3 environments + 1 rollback)", len(deps))
		}
		byEnv := map[string][]string{}
		for _, d := range deps {
			if !strings.Contains(string(d.Payload), `"release":"`) {
				t.Errorf("payload %s has no release", d.Payload)
			}
			byEnv[d.Environment] = append(byEnv[d.Environment], d.State())
			if d.Statuses[0].State != "in_progress" || d.Statuses[0].LogURL == "" {
				t.Errorf("%s: first status %+v, want in_progress with a log link", d.Environment, d.Statuses[0])
			}
		}
		// GitHub does not mark replaced production deployments inactive by
		// itself: Conveyor does, so prod shows one live deployment.
		if fmt.Sprint(byEnv["prod"]) != "[inactive inactive success]" {
			t.Fatalf("prod deployment states = %v, want v1 inactive (replaced by v2), v2 inactive after rollback, rollback success", byEnv["prod"])
		}
		if got := deps[len(deps)-1]; got.SHA != v1.SHA || !got.Production {
			t.Fatalf("rollback deployment ref %s (production %v), want v1's SHA %s", got.SHA, got.Production, v1.SHA)
		}
	})

	t.Run("rollback to a named release", func(t *testing.T) {
		d, err := e.Rollback(ctx, Request{Env: "staging", Actor: "carol", ReleaseID: v1.ID[:10]})
		if err != nil {
			t.Fatal(err)
		}
		if d.ReleaseID != v1.ID {
			t.Fatalf("rolled staging to %s", d.ReleaseID)
		}
		h.assertBucket("staging", v1)
		if _, err := e.Rollback(ctx, Request{Env: "staging", Actor: "carol", ReleaseID: "ffff"}); err == nil {
			t.Fatal("a release never deployed there cannot be a rollback target")
		}
	})

	t.Run("status", func(t *testing.T) {
		sts, err := e.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(sts) != 3 || sts[2].Current == nil || sts[2].Current.Release != v1.ID || sts[2].Current.Actor != "carol" || sts[2].Current.Kind != KindRollback {
			t.Fatalf("prod status = %+v", sts[2].Current)
		}
		var b strings.Builder
		if err := WriteStatus(&b, sts); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "rolled back from "+v2.Short()) {
			t.Fatalf("status table:\n%s", b.String())
		}
	})
}

func TestHighRiskStopsBeforeProd(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 5)
	e := h.engine("engine-a", time.Minute)
	v1 := h.build(e, version{gen: 1}, "high", 21)
	res, err := e.Flow(ctx, FlowRequest{ReleaseID: v1.ID, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedAt != "prod" || len(res.Deployments) != 2 || !strings.Contains(res.Reason, "/promote prod") {
		t.Fatalf("flow = %+v", res)
	}
	if got := h.bucket("prod"); len(got) != 0 {
		t.Fatalf("prod bucket must be untouched, holds %d objects", len(got))
	}
	sts, err := e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := sts[2].Pending; len(p) != 1 || p[0].Release != v1.ID {
		t.Fatalf("prod pending = %+v", p)
	}
	t.Run("promote needs the previous environment green", func(t *testing.T) {
		v2 := h.build(e, version{gen: 2, changed: map[int]string{1: "x = 1\n"}}, "high", 22)
		if _, err := e.Promote(ctx, Request{ReleaseID: v2.ID, Env: "prod", Actor: "lead"}); !errors.Is(err, ErrGate) {
			t.Fatalf("want ErrGate, got %v", err)
		}
	})
	d, err := e.Promote(ctx, Request{ReleaseID: v1.ID, Env: "prod", Actor: "lead"})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != StateSucceeded || d.Actor != "lead" {
		t.Fatalf("promote = %s by %s", d.State, d.Actor)
	}
	h.assertBucket("prod", v1)
	sts, _ = e.Status(ctx)
	if len(sts[2].Pending) != 0 {
		t.Fatalf("promotion still pending: %+v", sts[2].Pending)
	}
}

func TestSmokeFailureInStagingStopsProd(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 5)
	e := h.engine("engine-a", time.Minute)
	v1 := h.build(e, version{gen: 1}, "low", 1)
	if _, err := e.Flow(ctx, FlowRequest{ReleaseID: v1.ID, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	// Negative orders appear only where ops.env says staging.
	bad := h.build(e, version{gen: 2, changed: map[int]string{2: "y = 2\n"}, orders: `SELECT * FROM (VALUES (1, 10), (2, -5)) t(id, amount) WHERE amount > 0 OR (SELECT name FROM ops.env) = 'staging'`}, "low", 2)
	res, err := e.Flow(ctx, FlowRequest{ReleaseID: bad.ID, Actor: "bob"})
	if !errors.Is(err, ErrSmokeFailed) {
		t.Fatalf("want ErrSmokeFailed, got %v", err)
	}
	if res.StoppedAt != "staging" || len(res.Deployments) != 2 {
		t.Fatalf("flow = %+v", res)
	}
	st := res.Deployments[1]
	if st.State != StateRolledBack || st.Details.Rollback == nil || fmt.Sprint(st.Details.Rollback.Restored) != "[marts]" || !st.Details.Rollback.DAGsSynced {
		t.Fatalf("staging deployment = %s, rollback %+v", st.State, st.Details.Rollback)
	}
	h.assertBucket("staging", v1)
	if got := h.orders("staging"); got != "1:10 2:20" {
		t.Fatalf("staging orders = %q, want v1's after the rollback", got)
	}
	if hist, _ := e.History(ctx, "prod", 0); len(hist) != 1 || hist[0].ReleaseID != v1.ID {
		t.Fatalf("prod must never have started the bad release: %d deployments", len(hist))
	}
	h.assertBucket("dev", bad)
	deps := h.repo.Deployments()
	if last := deps[len(deps)-1]; last.Environment != "staging" || last.State() != "failure" {
		t.Fatalf("last GitHub deployment %s %s, want staging failure", last.Environment, last.State())
	}
}

func TestS3FailingMidSync(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 40)
	e := h.engine("engine-a", time.Minute)
	v1 := h.build(e, version{gen: 1}, "low", 1)
	if _, err := e.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "dev", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	changed := map[int]string{}
	for i := 0; i < 20; i++ {
		changed[i] = fmt.Sprintf("v2 %d\n", i)
	}
	v2 := h.build(e, version{gen: 2, changed: changed, removed: map[int]bool{39: true}}, "low", 2)
	// S3 fails every PUT after five more: the sync cannot complete and the
	// deployment must roll back, which also needs PUTs — so it fails, and
	// must say what the bucket holds.
	h.faults.FailPutAfter.Store(h.faults.Puts.Load() + 5)
	d, err := e.Deploy(ctx, Request{ReleaseID: v2.ID, Env: "dev", Actor: "bob"})
	if err == nil || d.State != StateFailed || !strings.HasPrefix(d.Details.BucketState, "mixed:") {
		t.Fatalf("want a failed deployment that says the bucket is mixed; got %v, %s, %q", err, d.State, d.Details.BucketState)
	}
	h.faults.FailPutAfter.Store(-1)

	// With S3 healthy again the same deployment, asked again, converges.
	d2, err := e.Deploy(ctx, Request{ReleaseID: v2.ID, Env: "dev", Actor: "bob"})
	if err != nil {
		t.Fatalf("with S3 healthy the deployment converges: %v", err)
	}
	if d2.Details.BucketState != "release:"+v2.ID {
		t.Fatalf("bucket state %q", d2.Details.BucketState)
	}
	h.assertBucket("dev", v2)

	t.Run("fails once, rolls back cleanly", func(t *testing.T) {
		v3 := h.build(e, version{gen: 3, changed: map[int]string{25: "v3\n", 26: "v3\n", 27: "v3\n", 28: "v3\n", 29: "v3\n"}}, "low", 3)
		// One object of the new release can never be written: the sync
		// fails, and the rollback (which writes the v2 bytes) succeeds.
		bad := v3.File("dags/pipeline_027.py").SHA256
		pred := func(r *http.Request) bool { return r.Header.Get("X-Amz-Meta-Conveyor-Sha256") == bad }
		h.faults.FailIf.Store(&pred)
		d, err := e.Deploy(ctx, Request{ReleaseID: v3.ID, Env: "dev", Actor: "bob"})
		h.faults.FailIf.Store(nil)
		if err == nil || d.State != StateRolledBack || d.Details.BucketState != "release:"+v2.ID {
			t.Fatalf("want rolled_back with the bucket at v2; got %v %s %q", err, d.State, d.Details.BucketState)
		}
		h.assertBucket("dev", v2)
	})
}

func TestKilledMidDeploymentResumes(t *testing.T) {
	ctx := context.Background()
	steps := []string{StepRestorePoint, "apply:warehouse", StepMigrations, "during apply:dags", "apply:dags", StepVerify}
	for _, killAfter := range steps {
		t.Run("killed after "+killAfter, func(t *testing.T) {
			h := newHarness(t, 12)
			a := h.engine("engine-a", 300*time.Millisecond)
			v1 := h.build(a, version{gen: 1}, "low", 1)
			if _, err := a.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "prod", Actor: "alice"}); err != nil {
				t.Fatal(err)
			}
			v2 := h.build(a, version{gen: 2, changed: map[int]string{3: "v2\n"}, removed: map[int]bool{11: true}, orders: `SELECT 9 AS id, 90 AS amount`}, "low", 2)
			runCtx, kill := context.WithCancel(ctx)
			if killAfter == "during apply:dags" {
				// Die on the first object PUT of the sync.
				hook := func() { kill(); time.Sleep(20 * time.Millisecond) }
				h.faults.OnPut.Store(&hook)
				defer h.faults.OnPut.Store(nil)
			}
			a.afterStep = func(d *Deployment, step string) error {
				if step == killAfter {
					kill()
					return errors.New("killed")
				}
				return nil
			}
			d, err := a.Deploy(runCtx, Request{ReleaseID: v2.ID, Env: "prod", Actor: "bob"})
			h.faults.OnPut.Store(nil)
			if err == nil || Terminal(d.State) {
				t.Fatalf("the killed deployment must stay in flight: %v %s", err, d.State)
			}
			// Another deployment cannot start over a half-applied environment.
			b := h.engine("engine-b", 300*time.Millisecond)
			if _, err := b.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "prod", Actor: "carol"}); !errors.Is(err, ErrInFlight) {
				t.Fatalf("want ErrInFlight, got %v", err)
			}
			// A new engine on the same database resumes once the lease lapses.
			time.Sleep(350 * time.Millisecond)
			done, err := b.Resume(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(done) != 1 || done[0].ID != d.ID || done[0].State != StateSucceeded {
				t.Fatalf("resume finished %d deployments: %+v", len(done), done)
			}
			got, err := b.Get(ctx, d.ID)
			if err != nil || got.Details.BucketState != "release:"+v2.ID {
				t.Fatalf("record says bucket %q (%v)", got.Details.BucketState, err)
			}
			h.assertBucket("prod", v2)
			if o := h.orders("prod"); o != "9:90" {
				t.Fatalf("orders %q", o)
			}
		})
	}
}

func TestKilledMidRollbackConverges(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 8)
	a := h.engine("engine-a", 300*time.Millisecond)
	v1 := h.build(a, version{gen: 1}, "low", 1)
	if _, err := a.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "dev", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	bad := h.build(a, version{gen: 2, changed: map[int]string{1: "bad\n"}, orders: `SELECT 1 AS id, -1 AS amount`}, "low", 2)
	// The smoke test fails and the rollback starts: it restores the
	// warehouse, then dies on its first PUT putting the DAGs back.
	runCtx, kill := context.WithCancel(ctx)
	a.afterStep = func(d *Deployment, step string) error {
		if step == StepSmoke {
			t.Fatal("smoke must fail")
		}
		if step == StepVerify {
			hook := func() { kill(); time.Sleep(50 * time.Millisecond) }
			h.faults.OnPut.Store(&hook)
		}
		return nil
	}
	d, err := a.Deploy(runCtx, Request{ReleaseID: bad.ID, Env: "dev", Actor: "bob"})
	h.faults.OnPut.Store(nil)
	if err == nil || d.State != StateRollingBack {
		t.Fatalf("want the rollback stopped in flight, got %v %s", err, d.State)
	}
	rec, _ := a.Get(ctx, d.ID)
	if rec.State != StateRollingBack || rec.Details.Rollback == nil || fmt.Sprint(rec.Details.Rollback.Restored) != "[marts]" || rec.Details.Rollback.DAGsSynced {
		t.Fatalf("record = %s %+v", rec.State, rec.Details.Rollback)
	}
	b := h.engine("engine-b", 300*time.Millisecond)
	time.Sleep(350 * time.Millisecond)
	done, err := b.Resume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].State != StateRolledBack || !done[0].Details.Rollback.DAGsSynced {
		t.Fatalf("resumed %+v", done)
	}
	h.assertBucket("dev", v1)
	if o := h.orders("dev"); o != "1:10 2:20" {
		t.Fatalf("orders %q", o)
	}
	if c, _ := b.Current(ctx, "dev"); c == nil || c.ReleaseID != v1.ID {
		t.Fatalf("dev must run v1 again")
	}
}

func TestRacingDeploymentsAndFencing(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 6)
	a := h.engine("engine-a", time.Minute)
	b := h.engine("engine-b", time.Minute)
	v1 := h.build(a, version{gen: 1}, "low", 1)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, e := range []*Engine{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "dev", Actor: "alice"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var le *store.LockedError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &le), errors.Is(err, ErrInFlight):
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d deployments proceeded, want exactly 1 (%v)", ok, errs)
	}
	h.assertBucket("dev", v1)

	t.Run("a stale holder cannot write after losing the lock", func(t *testing.T) {
		slow := h.engine("engine-slow", 200*time.Millisecond)
		v2 := h.build(slow, version{gen: 2, changed: map[int]string{0: "v2\n"}}, "low", 2)
		paused, resume := pauseAfter(slow, "apply:warehouse")
		var d *Deployment
		var derr error
		done := make(chan struct{})
		// The heartbeat would keep the lease alive; stop it from renewing by
		// giving the slow engine a context whose heartbeat cannot write.
		go func() {
			defer close(done)
			d, derr = slow.Deploy(ctx, Request{ReleaseID: v2.ID, Env: "staging", Actor: "bob"})
		}()
		<-paused
		// Someone takes the lock (as a person's break-glass /lock would):
		// the token moves on.
		l, err := h.db.AcquireRepoLock(ctx, "parcelflow/data-platform", "staging", "person:oncall", "oncall", "incident", time.Hour, time.Now().Add(time.Hour), true)
		if err != nil {
			t.Fatal(err)
		}
		close(resume)
		<-done
		if !errors.Is(derr, store.ErrFenced) {
			t.Fatalf("the stale writer must be fenced off, got %v", derr)
		}
		rec, _ := h.db.GetDeployment(ctx, d.ID)
		if rec.Token == l.Token || rec.Step > 2 {
			t.Fatalf("the stale holder wrote after losing the lock: token %d step %d", rec.Token, rec.Step)
		}
	})
}

// TestRepositoriesDoNotShareEnvironments: two repositories that both name
// an environment prod deploy it under separate locks and keep separate
// histories, promotions and status.
func TestRepositoriesDoNotShareEnvironments(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 4)
	a := h.repoEngine("parcelflow/data-platform", "engine-a", time.Minute)
	b := h.repoEngine("parcelflow/events", "engine-b", time.Minute)
	v1 := h.build(a, version{gen: 1}, "high", 1)
	if _, err := a.Lock(ctx, "prod", "dave", "scheduler upgrade", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "prod", Actor: "alice"}); err == nil {
		t.Fatal("dave's /lock on parcelflow/data-platform prod must stop its deployments")
	}
	d, err := b.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "prod", Actor: "erin"})
	if err != nil || d.State != StateSucceeded {
		t.Fatalf("parcelflow/events prod is not locked by a lock on another repository: %v", err)
	}
	if cur, _ := a.Current(ctx, "prod"); cur != nil {
		t.Fatalf("parcelflow/data-platform's prod runs %s, deployed to another repository's prod", cur.ReleaseID)
	}
	if _, err := a.Rollback(ctx, Request{Env: "prod", Actor: "bob"}); err == nil || !strings.Contains(err.Error(), "nothing has been deployed to prod") {
		t.Fatalf("rollback must see only its repository's history, got %v", err)
	}
	if res, err := b.Flow(ctx, FlowRequest{ReleaseID: v1.ID, Actor: "erin"}); err != nil || res.StoppedAt != "prod" {
		t.Fatalf("flow = %+v, %v", res, err)
	}
	sa, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sa[2].Lock == nil || sa[2].Lock.Person != "dave" || len(sa[2].Pending) != 0 || sa[2].Current != nil {
		t.Fatalf("parcelflow/data-platform prod status = %+v", sa[2])
	}
	sb, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sb[2].Lock != nil || sb[2].Current == nil || sb[2].Current.Actor != "erin" {
		t.Fatalf("parcelflow/events prod status = %+v", sb[2])
	}
	if _, err := ReadStatus(ctx, h.db, h.cfg, time.Now()); err == nil || !strings.Contains(err.Error(), "2 repositories") {
		t.Fatalf("status without a repository over a store of two must ask for one, got %v", err)
	}
}

// TestResumeLeavesLiveDeploymentsAlone: Resume, asked while a deployment is
// running — by the engine running it (a push arriving during a /promote in
// the same process) or by another replica — takes nothing over, so the
// running deployment is never fenced mid-run. Once the run dies and its
// lease lapses, Resume finishes it.
func TestResumeLeavesLiveDeploymentsAlone(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 6)
	a := h.engine("engine-a", 300*time.Millisecond)
	b := h.engine("engine-b", 300*time.Millisecond)
	v1 := h.build(a, version{gen: 1}, "low", 1)
	paused, resume := pauseAfter(a, "apply:dags")
	var d *Deployment
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		d, derr = a.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "dev", Actor: "alice"})
	}()
	<-paused
	// Several leases pass while the run is alive: its heartbeat renews it.
	time.Sleep(700 * time.Millisecond)
	for _, e := range []*Engine{a, b} {
		got, err := e.Resume(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("%s resumed %d live deployments (%v); want none and no error", e.opts.Holder, len(got), err)
		}
	}
	close(resume)
	<-done
	if derr != nil || d.State != StateSucceeded {
		t.Fatalf("the live deployment was taken over: %v (%s)", derr, d.State)
	}
	h.assertBucket("dev", v1)

	t.Run("an in-flight row from before repositories were named is reported by ID", func(t *testing.T) {
		old := store.Deployment{ID: "dep-unscoped", ReleaseID: v1.ID, Env: "staging", Kind: KindDeploy, State: StateApplying, Details: []byte("{}"), CreatedAt: time.Now().Add(-time.Hour), UpdatedAt: time.Now().Add(-time.Hour)}
		if err := h.db.InsertDeployment(ctx, old); err != nil {
			t.Fatal(err)
		}
		defer func() {
			old.State, old.FinishedAt = StateFailed, time.Now()
			if err := h.db.UpdateDeploymentUnfenced(ctx, old); err != nil {
				t.Fatal(err)
			}
		}()
		repos, err := Unfinished(ctx, h.db, time.Minute, time.Now())
		if err == nil || !strings.Contains(err.Error(), "dep-unscoped to staging") || len(repos) != 0 {
			t.Fatalf("unfinished = %v, %v; want no repository and an error naming dep-unscoped", repos, err)
		}
	})

	t.Run("a dead run is resumed once its lease lapses", func(t *testing.T) {
		v2 := h.build(a, version{gen: 2, changed: map[int]string{1: "v2\n"}}, "low", 2)
		a.afterStep = func(d *Deployment, step string) error {
			if step == "apply:dags" {
				return errors.New("killed")
			}
			return nil
		}
		d, err := a.Deploy(ctx, Request{ReleaseID: v2.ID, Env: "dev", Actor: "bob"})
		if err == nil || Terminal(d.State) {
			t.Fatalf("the killed run must stay in flight: %v %s", err, d.State)
		}
		a.afterStep = nil
		if repos, err := Unfinished(ctx, h.db, time.Minute, time.Now()); err != nil || len(repos) != 0 {
			t.Fatalf("unfinished before the lease lapsed = %v (%v)", repos, err)
		}
		time.Sleep(350 * time.Millisecond)
		if repos, err := Unfinished(ctx, h.db, time.Minute, time.Now()); err != nil || fmt.Sprint(repos) != "[parcelflow/data-platform]" {
			t.Fatalf("unfinished after the lease lapsed = %v (%v)", repos, err)
		}
		got, err := a.Resume(ctx)
		if err != nil || len(got) != 1 || got[0].ID != d.ID || got[0].State != StateSucceeded {
			t.Fatalf("resume = %+v, %v", got, err)
		}
		if got[0].Details.Holder == d.Details.Holder {
			t.Fatalf("the resumed run holds the lock under the dead run's name %s", d.Details.Holder)
		}
		h.assertBucket("dev", v2)
	})
}

// TestRollbackOnlyGoesBack: a rollback returns to a release the environment
// went through on its way to what it runs now, with that release's
// warehouse state from restore points. A release that was rolled back from
// is newer than what runs: restore points cannot take the warehouse
// forward, so a rollback to it is refused and points to /promote, and
// nothing changes.
func TestRollbackOnlyGoesBack(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 4)
	e := h.engine("engine-a", time.Minute)
	rel := func(gen int, amount int) *Deployment {
		t.Helper()
		v := h.build(e, version{gen: gen, changed: map[int]string{0: fmt.Sprintf("v%d\n", gen)}, orders: fmt.Sprintf(`SELECT 1 AS id, %d AS amount`, amount)}, "low", gen)
		d, err := e.Deploy(ctx, Request{ReleaseID: v.ID, Env: "prod", Actor: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	v1, v2, v3 := rel(1, 10), rel(2, 20), rel(3, 30)
	if o := h.orders("prod"); o != "1:30" {
		t.Fatalf("prod orders %q, want v3's", o)
	}

	// Back past v2 to v1: v2's restore point holds v1's warehouse.
	rb, err := e.Rollback(ctx, Request{Env: "prod", Actor: "bob", ReleaseID: v1.ReleaseID[:12]})
	if err != nil || rb.ReleaseID != v1.ReleaseID {
		t.Fatalf("rollback to v1: %v", err)
	}
	if o := h.orders("prod"); o != "1:10" {
		t.Fatalf("prod orders after the rollback to v1 = %q, want v1's", o)
	}

	for name, target := range map[string]string{"v2": v2.ReleaseID, "v3": v3.ReleaseID} {
		_, err := e.Rollback(ctx, Request{Env: "prod", Actor: "bob", ReleaseID: target[:12]})
		if err == nil || !strings.Contains(err.Error(), "newer than what prod runs") || !strings.Contains(err.Error(), "/promote prod") {
			t.Fatalf("rollback to %s, rolled back from, must be refused pointing to /promote; got %v", name, err)
		}
	}
	if o := h.orders("prod"); o != "1:10" {
		t.Fatalf("a refused rollback changed the warehouse: orders %q", o)
	}
	if cur, _ := e.Current(ctx, "prod"); cur.ID != rb.ID {
		t.Fatalf("a refused rollback deployed %s", cur.ID)
	}

	// v2 promoted again goes on top of v1; v4 on top of it. Rolling back
	// from v4 returns to v2 with v2's warehouse, then to v1 with v1's.
	if _, err := e.Deploy(ctx, Request{ReleaseID: v2.ReleaseID, Env: "prod", Actor: "carol", Reason: "promote"}); err != nil {
		t.Fatal(err)
	}
	rel(4, 40)
	back, err := e.Rollback(ctx, Request{Env: "prod", Actor: "bob"})
	if err != nil || back.ReleaseID != v2.ReleaseID {
		t.Fatalf("default rollback from v4 went to %v (%v), want v2", back, err)
	}
	if o := h.orders("prod"); o != "1:20" {
		t.Fatalf("prod orders after the rollback to v2 = %q, want v2's", o)
	}
	back, err = e.Rollback(ctx, Request{Env: "prod", Actor: "bob"})
	if err != nil || back.ReleaseID != v1.ReleaseID {
		t.Fatalf("default rollback from v2 went to %v (%v), want v1", back, err)
	}
	if o := h.orders("prod"); o != "1:10" {
		t.Fatalf("prod orders after the rollback to v1 = %q, want v1's", o)
	}
	if _, err := e.Rollback(ctx, Request{Env: "prod", Actor: "bob"}); err == nil || !strings.Contains(err.Error(), "no earlier good release") {
		t.Fatalf("v1 was the first release of prod: nothing is below it, got %v", err)
	}
}

// TestStaleHolderStopsBetweenSyncPhases: a run that loses its lock while
// its uploads are on the wire does not go on to delete objects or verify:
// it checks its fencing token before each phase of the sync and stops,
// leaving the deployment (in flight, its bucket state saying mixed) to the
// new holder, which finishes it.
func TestStaleHolderStopsBetweenSyncPhases(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 6)
	a := h.engine("engine-a", time.Minute)
	v1 := h.build(a, version{gen: 1}, "low", 1)
	if _, err := a.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "staging", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	// v2 changes one DAG and removes another: its sync uploads, then deletes.
	v2 := h.build(a, version{gen: 2, changed: map[int]string{0: "v2\n"}, removed: map[int]bool{5: true}}, "low", 2)
	var taken store.Lock
	var takeErr error
	hook := func() {
		h.faults.OnPut.Store(nil)
		// An operator breaks the lock while the first upload is in flight.
		taken, takeErr = h.db.AcquireRepoLock(ctx, "parcelflow/data-platform", "staging", "person:oncall", "oncall", "incident", time.Hour, time.Now().Add(2*time.Minute), true)
	}
	h.faults.OnPut.Store(&hook)
	deletes := h.faults.Deletes.Load()
	d, err := a.Deploy(ctx, Request{ReleaseID: v2.ID, Env: "staging", Actor: "bob"})
	h.faults.OnPut.Store(nil)
	if takeErr != nil {
		t.Fatal(takeErr)
	}
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the run that lost its lock must stop, fenced; got %v", err)
	}
	if n := h.faults.Deletes.Load() - deletes; n != 0 {
		t.Fatalf("the stale holder sent %d deletions after losing the lock", n)
	}
	if _, ok := h.bucket("staging")["dags/pipeline_005.py"]; !ok {
		t.Fatal("the stale holder deleted a DAG after losing the lock")
	}
	rec, _ := h.db.GetDeployment(ctx, d.ID)
	if Terminal(rec.State) || rec.Token == taken.Token || !strings.HasPrefix(d.Details.BucketState, "mixed:") {
		t.Fatalf("record after the stale run: %s token %d (new holder's %d), bucket %q", rec.State, rec.Token, taken.Token, d.Details.BucketState)
	}
	deps := h.repo.Deployments()
	if last := deps[len(deps)-1]; last.State() != "in_progress" {
		t.Fatalf("the stale holder reported %q on GitHub after losing the lock", last.State())
	}

	// The operator frees the lock; the deployment is resumed and converges.
	if err := h.db.ReleaseLock(ctx, store.Fence{Repo: "parcelflow/data-platform", Env: "staging", Holder: taken.Holder, Token: taken.Token}); err != nil {
		t.Fatal(err)
	}
	done, err := h.engine("engine-b", time.Minute).Resume(ctx)
	if err != nil || len(done) != 1 || done[0].State != StateSucceeded {
		t.Fatalf("resume = %+v, %v", done, err)
	}
	h.assertBucket("staging", v2)
}

// pausingReporter holds the first Created until released, as a slow GitHub would.
type pausingReporter struct {
	Reporter
	paused, release chan struct{}
	once            sync.Once
}

func (p *pausingReporter) Created(ctx context.Context, d *Deployment) (int64, error) {
	p.once.Do(func() {
		close(p.paused)
		<-p.release
	})
	return p.Reporter.Created(ctx, d)
}

// TestStaleReportDoesNotOverwriteTheRecord: a run stalls while creating its
// GitHub deployment, its lease lapses and another engine resumes and
// finishes the deployment. When the stalled run wakes up it neither writes
// its old view of the record back nor reports on GitHub: the record stays
// the new holder's.
func TestStaleReportDoesNotOverwriteTheRecord(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 4)
	pr := &pausingReporter{Reporter: h.rep, paused: make(chan struct{}), release: make(chan struct{})}
	a := h.engine("engine-a", 300*time.Millisecond)
	a.opts.Reporter = pr
	v1 := h.build(a, version{gen: 1}, "low", 1)
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, derr = a.Deploy(ctx, Request{ReleaseID: v1.ID, Env: "dev", Actor: "alice"})
	}()
	<-pr.paused
	time.Sleep(350 * time.Millisecond) // no heartbeat yet: the lease lapses
	resumed, err := h.engine("engine-b", 300*time.Millisecond).Resume(ctx)
	if err != nil || len(resumed) != 1 || resumed[0].State != StateSucceeded {
		t.Fatalf("resume = %+v, %v", resumed, err)
	}
	want, _ := h.db.GetDeployment(ctx, resumed[0].ID)
	close(pr.release)
	<-done
	if !errors.Is(derr, store.ErrFenced) {
		t.Fatalf("the stalled run must find itself fenced, got %v", derr)
	}
	got, _ := h.db.GetDeployment(ctx, want.ID)
	if got.State != StateSucceeded || got.Token != want.Token || got.Step != want.Step || got.GitHubID != want.GitHubID || string(got.Details) != string(want.Details) {
		t.Fatalf("the stale run overwrote the record: %s step %d token %d github %d, want %s step %d token %d github %d",
			got.State, got.Step, got.Token, got.GitHubID, want.State, want.Step, want.Token, want.GitHubID)
	}
	for _, gd := range h.repo.Deployments() {
		if gd.ID != want.GitHubID && len(gd.Statuses) > 0 {
			t.Fatalf("the stale run reported %q on its own GitHub deployment", gd.State())
		}
	}
}

// sessions records the AWS session each environment is opened with.
type sessions struct {
	Opener
	mu  sync.Mutex
	got []identity.Session
}

func (s *sessions) Open(ctx context.Context, env *config.Environment, ss identity.Session) (*Targets, error) {
	s.mu.Lock()
	s.got = append(s.got, ss)
	s.mu.Unlock()
	return s.Opener.Open(ctx, env, ss)
}

// TestRepeatedContentNamesTheCommitThatShipsIt: a revert brings back the
// content of an earlier release, so it is that release (same ID, its
// record unchanged). Its deployment still names the revert's commit and PR:
// in the GitHub deployment's ref and payload, in the AWS session tags and in
// the record — not the commit the release was first built from. A rollback
// names the commit that last brought its target.
func TestRepeatedContentNamesTheCommitThatShipsIt(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 3)
	rec := &sessions{Opener: h.opener}
	e := h.engine("engine-a", time.Minute)
	e.opts.Targets = rec
	v1 := h.build(e, version{gen: 1}, "low", 11)
	if _, err := e.Flow(ctx, FlowRequest{ReleaseID: v1.ID, Actor: "alice", SHA: v1.SHA, PR: 11}); err != nil {
		t.Fatal(err)
	}
	v2 := h.build(e, version{gen: 2, changed: map[int]string{0: "v2\n"}}, "low", 12)
	if _, err := e.Flow(ctx, FlowRequest{ReleaseID: v2.ID, Actor: "bob", SHA: v2.SHA, PR: 12}); err != nil {
		t.Fatal(err)
	}
	revert := h.build(e, version{gen: 1}, "low", 13)
	if revert.ID != v1.ID || revert.SHA == v1.SHA {
		t.Fatalf("the revert must be v1's content from another commit: %s@%s vs %s@%s", revert.Short(), revert.SHA, v1.Short(), v1.SHA)
	}
	if stored, _ := e.Release(ctx, v1.ID); stored.SHA != v1.SHA || stored.PR != 11 {
		t.Fatalf("the release record changed: %s #%d", stored.SHA, stored.PR)
	}
	rec.got = nil
	res, err := e.Flow(ctx, FlowRequest{ReleaseID: revert.ID, Actor: "carol", SHA: revert.SHA, PR: 13})
	if err != nil || len(res.Deployments) != 3 {
		t.Fatalf("revert flow: %+v, %v", res, err)
	}
	for _, d := range res.Deployments {
		if d.Details.SHA != revert.SHA || d.Details.PR != 13 {
			t.Fatalf("%s deployment names %s #%d, want the revert %s #13", d.Env, d.Details.SHA, d.Details.PR, revert.SHA)
		}
	}
	deps := h.repo.Deployments()
	for _, gd := range deps[len(deps)-3:] {
		if gd.SHA != revert.SHA || !strings.Contains(string(gd.Payload), `"pr":13`) {
			t.Fatalf("GitHub deployment to %s at %s with payload %s, want the revert's commit and PR", gd.Environment, gd.SHA, gd.Payload)
		}
	}
	if len(rec.got) != 3 {
		t.Fatalf("%d sessions opened, want one per environment", len(rec.got))
	}
	for _, s := range rec.got {
		if s.PR != 13 || s.Actor != "carol" || s.Release != v1.Short() {
			t.Fatalf("AWS session %+v, want carol, PR 13, release %s", s, v1.Short())
		}
	}

	rb, err := e.Rollback(ctx, Request{Env: "prod", Actor: "dave"})
	if err != nil || rb.ReleaseID != v2.ID {
		t.Fatalf("rollback = %v, %v", rb, err)
	}
	if rb.Details.SHA != v2.SHA || rb.Details.PR != 12 {
		t.Fatalf("the rollback to v2 names %s #%d, want v2's %s #12", rb.Details.SHA, rb.Details.PR, v2.SHA)
	}
	if last := h.repo.Deployments(); last[len(last)-1].SHA != v2.SHA {
		t.Fatalf("rollback's GitHub deployment ref %s, want %s", last[len(last)-1].SHA, v2.SHA)
	}
}

// pauseAfter stops e's deployments after step until resume is closed;
// paused is closed when one gets there.
func pauseAfter(e *Engine, step string) (paused, resume chan struct{}) {
	paused, resume = make(chan struct{}), make(chan struct{})
	e.afterStep = func(_ *Deployment, s string) error {
		if s == step {
			close(paused)
			<-resume
		}
		return nil
	}
	return paused, resume
}
