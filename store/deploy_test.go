package store

import (
	"context"
	"errors"
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
	ds, err := db.DeploymentsInState(ctx, "applying", "locked")
	if err != nil || len(ds) != 1 || ds[0].Step != 3 || string(ds[0].Details) != `{"x":1}` || ds[0].Token != l.Token {
		t.Fatalf("got %+v %v", ds, err)
	}
	if err := db.PutPromotion(ctx, Promotion{ReleaseID: "r1", Env: "prod", State: "waiting", Reason: "high risk", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutPromotion(ctx, Promotion{ReleaseID: "r1", Env: "prod", State: "done", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Promotions(ctx, "waiting")
	if err != nil || len(ps) != 0 {
		t.Fatalf("want no waiting promotions, got %+v %v", ps, err)
	}
}
