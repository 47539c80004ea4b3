package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLockFencing(t *testing.T) { EachDialect(t, "lockfencing", testLockFencing) }

func testLockFencing(t *testing.T, open func(*testing.T) *DB) {
	ctx := context.Background()
	db := open(t)
	now := time.Unix(1_700_000_000, 0)
	a, err := db.AcquireLock(ctx, "prod", "engine-a", "", "", time.Minute, now, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("second holder is refused while the lease runs", func(t *testing.T) {
		_, err := db.AcquireLock(ctx, "prod", "engine-b", "", "", time.Minute, now.Add(30*time.Second), false)
		var le *LockedError
		if !errors.As(err, &le) || le.Holder != "engine-a" {
			t.Fatalf("want LockedError by engine-a, got %v", err)
		}
	})
	b, err := db.AcquireLock(ctx, "prod", "engine-b", "", "", time.Minute, now.Add(2*time.Minute), false)
	if err != nil {
		t.Fatalf("lease expired, b should take the lock: %v", err)
	}
	if b.Token <= a.Token {
		t.Fatalf("token must grow: a=%d b=%d", a.Token, b.Token)
	}
	t.Run("stale holder cannot write", func(t *testing.T) {
		stale := Fence{Env: "prod", Holder: a.Holder, Token: a.Token}
		err := db.Fenced(ctx, stale, func(tx *Tx) error { return nil })
		if !errors.Is(err, ErrFenced) {
			t.Fatalf("want ErrFenced, got %v", err)
		}
		if err := db.RenewLock(ctx, stale, time.Minute, now); !errors.Is(err, ErrFenced) {
			t.Fatalf("renew: want ErrFenced, got %v", err)
		}
	})
	t.Run("current holder writes and releases", func(t *testing.T) {
		cur := Fence{Env: "prod", Holder: b.Holder, Token: b.Token}
		if err := db.ReleaseLock(ctx, cur); err != nil {
			t.Fatal(err)
		}
		l, err := db.CurrentLock(ctx, "prod")
		if err != nil || l.Held(now) {
			t.Fatalf("lock should be free: %+v %v", l, err)
		}
	})
	t.Run("a person's lock needs an override", func(t *testing.T) {
		if _, err := db.AcquireLock(ctx, "staging", "person:alice", "alice", "investigating", time.Hour, now, false); err != nil {
			t.Fatal(err)
		}
		_, err := db.AcquireLock(ctx, "staging", "engine-a", "", "", time.Minute, now, false)
		var le *LockedError
		if !errors.As(err, &le) || le.Person != "alice" {
			t.Fatalf("want LockedError by alice, got %v", err)
		}
		if _, err := db.AcquireLock(ctx, "staging", "engine-a", "", "", time.Minute, now, true); err != nil {
			t.Fatalf("override: %v", err)
		}
	})
}

func TestLockRaceExactlyOne(t *testing.T) {
	EachDialect(t, "lockraceexactlyone", testLockRaceExactlyOne)
}

func testLockRaceExactlyOne(t *testing.T, open func(*testing.T) *DB) {
	ctx := context.Background()
	db := open(t)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := db.AcquireLock(ctx, "dev", "engine-"+string(rune('a'+i)), "", "", time.Minute, now, false)
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if _, ok := errors.AsType[*LockedError](err); !ok {
				t.Errorf("unexpected error: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d holders got the lock, want exactly 1", won)
	}
}

func TestDeploymentsAndReleases(t *testing.T) {
	EachDialect(t, "deploymentsandreleas", testDeploymentsAndReleases)
}

func testDeploymentsAndReleases(t *testing.T, open func(*testing.T) *DB) {
	ctx := context.Background()
	db := open(t)
	now := time.UnixMilli(1_700_000_000_000).UTC()
	r := Release{ID: "r1", SHA: "abc", PR: 7, Risk: "low", Manifest: []byte(`{"files":[]}`), CreatedAt: now}
	if err := db.PutRelease(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.PutRelease(ctx, r); err != nil {
		t.Fatalf("same release twice must be a no-op: %v", err)
	}
	got, err := db.GetRelease(ctx, "r1")
	if err != nil || got.SHA != "abc" || got.PR != 7 || string(got.Manifest) != `{"files":[]}` || !got.CreatedAt.Equal(now) {
		t.Fatalf("got %+v %v", got, err)
	}
	l, err := db.AcquireLock(ctx, "dev", "e", "", "", time.Minute, now, false)
	if err != nil {
		t.Fatal(err)
	}
	d := Deployment{ID: "d1", ReleaseID: "r1", Env: "dev", Kind: "deploy", State: "queued", Actor: "alice", CreatedAt: now, UpdatedAt: now}
	if err := db.InsertDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.State, d.Step, d.Details = "applying", 3, []byte(`{"x":1}`)
	if err := db.UpdateDeployment(ctx, Fence{Env: "dev", Holder: "e", Token: l.Token}, d); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateDeployment(ctx, Fence{Env: "dev", Holder: "e", Token: l.Token - 1}, d); !errors.Is(err, ErrFenced) {
		t.Fatalf("want ErrFenced, got %v", err)
	}
	if err := db.SetDeploymentGitHubID(ctx, Fence{Env: "dev", Holder: "e", Token: l.Token - 1}, "d1", 99); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale holder recorded a GitHub deployment: %v", err)
	}
	if err := db.SetDeploymentGitHubID(ctx, Fence{Env: "dev", Holder: "e", Token: l.Token}, "d1", 42); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetDeployment(ctx, "d1"); got.GitHubID != 42 || got.State != "applying" || got.Step != 3 {
		t.Fatalf("recording the GitHub ID changed more than it: %+v", got)
	}
	ds, err := db.DeploymentsInState(ctx, "", "applying", "locked")
	if err != nil || len(ds) != 1 || ds[0].Step != 3 || string(ds[0].Details) != `{"x":1}` || ds[0].Token != l.Token {
		t.Fatalf("got %+v %v", ds, err)
	}
	if err := db.PutPromotion(ctx, Promotion{ReleaseID: "r1", Env: "prod", State: "waiting", Reason: "high risk", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPromotion(ctx, Promotion{ReleaseID: "r1", Env: "prod", State: "done", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Promotions(ctx, "", "waiting")
	if err != nil || len(ps) != 0 {
		t.Fatalf("want no waiting promotions, got %+v %v", ps, err)
	}
}

func TestDeploysScopedByRepository(t *testing.T) {
	EachDialect(t, "deploysscopedbyrepo", testDeploysScopedByRepository)
}

// testDeploysScopedByRepository: two repositories that both name an
// environment prod hold separate locks and keep separate histories and
// promotions.
func testDeploysScopedByRepository(t *testing.T, open func(*testing.T) *DB) {
	ctx := context.Background()
	db := open(t)
	now := time.UnixMilli(1_700_000_000_000).UTC()
	a, err := db.AcquireRepoLock(ctx, "acme/data", "prod", "run-a", "", "", time.Minute, now, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.AcquireRepoLock(ctx, "acme/events", "prod", "run-b", "", "", time.Minute, now, false)
	if err != nil {
		t.Fatalf("another repository's prod must be free while acme/data deploys prod: %v", err)
	}
	if _, err := db.AcquireRepoLock(ctx, "acme/data", "prod", "run-c", "", "", time.Minute, now, false); err == nil {
		t.Fatal("acme/data prod is held by run-a: a second holder must be refused")
	}
	fa := Fence{Repo: "acme/data", Env: "prod", Holder: a.Holder, Token: a.Token}
	fb := Fence{Repo: "acme/events", Env: "prod", Holder: b.Holder, Token: b.Token}
	if err := db.CheckFence(ctx, fa); err != nil {
		t.Fatalf("acme/data's holder lost its lock to another repository: %v", err)
	}
	if err := db.CheckFence(ctx, Fence{Repo: "acme/events", Env: "prod", Holder: a.Holder, Token: a.Token}); !errors.Is(err, ErrFenced) {
		t.Fatalf("acme/data's fence must not admit writes to acme/events: %v", err)
	}
	if err := db.ReleaseLock(ctx, fb); err != nil {
		t.Fatal(err)
	}
	if l, _ := db.RepoLock(ctx, "acme/data", "prod"); l.Holder != "run-a" || !l.Held(now) {
		t.Fatalf("releasing acme/events prod freed acme/data prod: %+v", l)
	}
	if l, _ := db.CurrentLock(ctx, "prod"); l.Holder != "" {
		t.Fatalf("the unscoped prod lock must be untouched: %+v", l)
	}

	if err := db.PutRelease(ctx, Release{ID: "r1", SHA: "abc", Risk: "low", Manifest: []byte(`{}`), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i, repo := range []string{"acme/data", "acme/events"} {
		d := Deployment{ID: fmt.Sprintf("d%d", i), Repo: repo, ReleaseID: "r1", Env: "prod", Kind: "deploy", State: "applying", Actor: "alice", CreatedAt: now, UpdatedAt: now}
		if err := db.InsertDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := db.PutPromotion(ctx, Promotion{Repo: repo, ReleaseID: "r1", Env: "prod", State: "waiting", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutPromotion(ctx, Promotion{Repo: "acme/data", ReleaseID: "r1", Env: "prod", State: "done", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	hist, err := db.Deployments(ctx, "acme/data", "prod", 0)
	if err != nil || len(hist) != 1 || hist[0].ID != "d0" || hist[0].Repo != "acme/data" {
		t.Fatalf("acme/data prod history = %+v %v", hist, err)
	}
	if fl, _ := db.DeploymentsInState(ctx, "acme/events", "applying"); len(fl) != 1 || fl[0].ID != "d1" {
		t.Fatalf("acme/events in flight = %+v", fl)
	}
	if all, _ := db.DeploymentsInStateAnyRepo(ctx, "applying"); len(all) != 2 {
		t.Fatalf("in flight in any repository = %d, want 2", len(all))
	}
	if w, _ := db.Promotions(ctx, "acme/events", "waiting"); len(w) != 1 || w[0].Repo != "acme/events" {
		t.Fatalf("closing acme/data's promotion closed acme/events' too: %+v", w)
	}
	if repos, _ := db.DeployRepos(ctx); fmt.Sprint(repos) != "[acme/data acme/events]" {
		t.Fatalf("repositories with deployments = %v", repos)
	}
}

func TestScopeMigrationKeepsRows(t *testing.T) {
	EachDialect(t, "scopemigrationkeeps", testScopeMigrationKeepsRows)
}

// testScopeMigrationKeepsRows rebuilds the deploy tables as they were before
// deployments were scoped by repository, fills them, and migrates: every
// row is kept and belongs to the empty repository name.
func testScopeMigrationKeepsRows(t *testing.T, open func(*testing.T) *DB) {
	ctx := context.Background()
	db := open(t)
	var before []migration
	for _, m := range deployMigrations {
		if m.ID == "deploy-0002-scope-by-repository" {
			break
		}
		before = append(before, m)
	}
	for _, stmt := range []string{`DROP TABLE deploy_promotions`, `DROP TABLE deploy_locks`, `DROP TABLE deployments`, `DROP TABLE releases`} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range deployMigrations {
		if _, err := db.Exec(ctx, `DELETE FROM schema_migrations WHERE id = ?`, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range before {
		for _, stmt := range splitStatements(m.SQL) {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (id) VALUES (?)`, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		`INSERT INTO releases (id, sha, pr, risk, manifest, created_at) VALUES ('r1', 'abc', 1, 'low', '{}', 1)`,
		`INSERT INTO deployments (id, release_id, env, kind, state, actor, created_at, updated_at) VALUES ('d1', 'r1', 'prod', 'deploy', 'succeeded', 'alice', 1, 1)`,
		`INSERT INTO deploy_locks (env, holder, token, expires_at) VALUES ('prod', 'engine-old', 41, 0)`,
		`INSERT INTO deploy_promotions (release_id, env, state, reason, created_at, updated_at) VALUES ('r1', 'prod', 'waiting', 'high risk', 1, 1)`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if hist, err := db.Deployments(ctx, "", "prod", 0); err != nil || len(hist) != 1 || hist[0].ID != "d1" {
		t.Fatalf("old deployments under repository '': %+v %v", hist, err)
	}
	if l, err := db.CurrentLock(ctx, "prod"); err != nil || l.Token != 41 || l.Holder != "engine-old" {
		t.Fatalf("old lock under repository '': %+v %v", l, err)
	}
	if p, err := db.Promotions(ctx, "", "waiting"); err != nil || len(p) != 1 || p[0].Reason != "high risk" {
		t.Fatalf("old promotions under repository '': %+v %v", p, err)
	}
	// The old lock's token keeps growing, so a holder from before cannot write.
	l, err := db.AcquireLock(ctx, "prod", "engine-new", "", "", time.Minute, time.Now(), false)
	if err != nil || l.Token != 42 {
		t.Fatalf("token after the migration = %d (%v), want 42", l.Token, err)
	}
	if l, err := db.AcquireRepoLock(ctx, "acme/data", "prod", "engine-new", "", "", time.Minute, time.Now(), false); err != nil || l.Token != 1 {
		t.Fatalf("a repository's own lock starts afresh: %+v %v", l, err)
	}
}
