package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// inboxClock is a settable clock for lease and backoff tests.
type inboxClock struct{ ms atomic.Int64 }

func newInboxClock() *inboxClock {
	c := &inboxClock{}
	c.ms.Store(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli())
	return c
}
func (c *inboxClock) Now() time.Time          { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *inboxClock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func openSQLiteForTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "conveyor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestInboxSQLite(t *testing.T) {
	runInboxSuite(t, openSQLiteForTest)
}

func delivery(id string) Delivery {
	return Delivery{ID: id, EventType: "pull_request", Action: "opened", InstallationID: 7,
		Repository: "acme/data", Payload: []byte(`{"action":"opened"}`)}
}

// runInboxSuite runs every inbox behaviour against a fresh database from open,
// so SQLite and PostgreSQL are held to the same contract.
func runInboxSuite(t *testing.T, open func(t *testing.T) *DB) {
	ctx := context.Background()

	t.Run("put is idempotent per delivery id", func(t *testing.T) {
		in := NewInbox(open(t))
		ok, err := in.Put(ctx, delivery("d-1"))
		if err != nil || !ok {
			t.Fatalf("first Put = %v, %v; want inserted", ok, err)
		}
		dup := delivery("d-1")
		dup.Payload = []byte(`{"changed":true}`)
		ok, err = in.Put(ctx, dup)
		if err != nil || ok {
			t.Fatalf("second Put = %v, %v; want not inserted", ok, err)
		}
		d, err := in.Get(ctx, "d-1")
		if err != nil {
			t.Fatal(err)
		}
		if string(d.Payload) != `{"action":"opened"}` || d.Status != StatusPending || d.Repository != "acme/data" || d.InstallationID != 7 {
			t.Fatalf("stored delivery = %+v", d)
		}
	})

	t.Run("concurrent puts of one id insert once", func(t *testing.T) {
		in := NewInbox(open(t))
		var inserted atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := in.Put(ctx, delivery("same"))
				if err != nil {
					t.Error(err)
				}
				if ok {
					inserted.Add(1)
				}
			}()
		}
		wg.Wait()
		if got := inserted.Load(); got != 1 {
			t.Fatalf("inserted %d times, want 1", got)
		}
	})

	t.Run("claim takes the oldest ready delivery once", func(t *testing.T) {
		clock := newInboxClock()
		in := NewInbox(open(t)).WithClock(clock.Now)
		for i, id := range []string{"b", "a", "c"} {
			d := delivery(id)
			d.ReceivedAt = clock.Now().Add(time.Duration(i) * time.Second)
			if _, err := in.Put(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(time.Minute)
		var got []string
		for range 3 {
			d, err := in.Claim(ctx, "w1", time.Minute)
			if err != nil || d == nil {
				t.Fatalf("Claim = %v, %v", d, err)
			}
			if d.Attempts != 1 || d.ClaimedBy != "w1" {
				t.Fatalf("claimed %+v", d)
			}
			got = append(got, d.ID)
		}
		if fmt.Sprint(got) != "[b a c]" {
			t.Fatalf("claim order = %v, want [b a c]", got)
		}
		d, err := in.Claim(ctx, "w2", time.Minute)
		if err != nil || d != nil {
			t.Fatalf("Claim with everything leased = %v, %v; want nothing", d, err)
		}
	})

	t.Run("concurrent claims never share a delivery", func(t *testing.T) {
		in := NewInbox(open(t))
		const n = 20
		for i := range n {
			if _, err := in.Put(ctx, delivery(fmt.Sprintf("d-%02d", i))); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					d, err := in.Claim(ctx, fmt.Sprintf("w%d", w), time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if d == nil {
						return
					}
					mu.Lock()
					seen[d.ID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("%s claimed %d times", id, c)
			}
		}
	})

	t.Run("an expired lease is claimed again", func(t *testing.T) {
		clock := newInboxClock()
		in := NewInbox(open(t)).WithClock(clock.Now)
		if _, err := in.Put(ctx, delivery("crash")); err != nil {
			t.Fatal(err)
		}
		if d, err := in.Claim(ctx, "dead-worker", 30*time.Second); err != nil || d == nil {
			t.Fatalf("Claim = %v, %v", d, err)
		}
		clock.Advance(10 * time.Second)
		if d, _ := in.Claim(ctx, "w2", 30*time.Second); d != nil {
			t.Fatalf("claimed %s while the lease was live", d.ID)
		}
		clock.Advance(21 * time.Second)
		d, err := in.Claim(ctx, "w2", 30*time.Second)
		if err != nil || d == nil {
			t.Fatalf("Claim after lease expiry = %v, %v", d, err)
		}
		if d.Attempts != 2 {
			t.Fatalf("attempts = %d, want 2", d.Attempts)
		}
		if err := in.Complete(ctx, "crash", "dead-worker"); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Complete by the old worker = %v, want ErrLeaseLost", err)
		}
		if err := in.Complete(ctx, "crash", "w2"); err != nil {
			t.Fatal(err)
		}
		got, _ := in.Get(ctx, "crash")
		if got.Status != StatusDone || got.FinishedAt.IsZero() {
			t.Fatalf("after Complete: %+v", got)
		}
	})

	t.Run("extend keeps the claim alive", func(t *testing.T) {
		clock := newInboxClock()
		in := NewInbox(open(t)).WithClock(clock.Now)
		in.Put(ctx, delivery("long"))
		if d, _ := in.Claim(ctx, "w1", 30*time.Second); d == nil {
			t.Fatal("nothing claimed")
		}
		clock.Advance(20 * time.Second)
		if err := in.Extend(ctx, "long", "w1", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		clock.Advance(20 * time.Second)
		if d, _ := in.Claim(ctx, "w2", 30*time.Second); d != nil {
			t.Fatal("claimed a delivery whose lease was extended")
		}
		if err := in.Extend(ctx, "long", "w2", time.Second); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Extend by a stranger = %v, want ErrLeaseLost", err)
		}
	})

	t.Run("fail schedules, park stops, retry replays", func(t *testing.T) {
		clock := newInboxClock()
		in := NewInbox(open(t)).WithClock(clock.Now)
		in.Put(ctx, delivery("flaky"))
		d, _ := in.Claim(ctx, "w1", time.Minute)
		if err := in.Fail(ctx, d.ID, "w1", "boom 1", clock.Now().Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if d, _ := in.Claim(ctx, "w1", time.Minute); d != nil {
			t.Fatal("claimed before the next attempt was due")
		}
		clock.Advance(11 * time.Second)
		d, _ = in.Claim(ctx, "w1", time.Minute)
		if d == nil || d.Attempts != 2 || d.LastError != "boom 1" {
			t.Fatalf("second claim = %+v", d)
		}
		if err := in.Park(ctx, d.ID, "w1", "boom 2"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		if d, _ := in.Claim(ctx, "w1", time.Minute); d != nil {
			t.Fatal("claimed a parked delivery")
		}
		failed, err := in.List(ctx, InboxFilter{Status: StatusFailed})
		if err != nil || len(failed) != 1 || failed[0].ID != "flaky" || failed[0].LastError != "boom 2" || failed[0].Attempts != 2 {
			t.Fatalf("List(failed) = %+v, %v", failed, err)
		}
		st, err := in.Stats(ctx)
		if err != nil || st.Failed != 1 || st.Pending != 0 {
			t.Fatalf("Stats = %+v, %v", st, err)
		}
		if err := in.Retry(ctx, "flaky"); err != nil {
			t.Fatal(err)
		}
		d, _ = in.Claim(ctx, "w1", time.Minute)
		if d == nil || d.Attempts != 1 {
			t.Fatalf("claim after retry = %+v", d)
		}
		if err := in.Retry(ctx, "flaky"); !errors.Is(err, ErrNotParked) {
			t.Fatalf("Retry of a pending delivery = %v, want ErrNotParked", err)
		}
		if err := in.Retry(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Retry of an unknown delivery = %v, want ErrNotFound", err)
		}
	})

	t.Run("release gives the attempt back", func(t *testing.T) {
		in := NewInbox(open(t))
		in.Put(ctx, delivery("rel"))
		d, _ := in.Claim(ctx, "w1", time.Hour)
		if err := in.Release(ctx, d.ID, "w1"); err != nil {
			t.Fatal(err)
		}
		d, _ = in.Claim(ctx, "w2", time.Hour)
		if d == nil || d.Attempts != 1 {
			t.Fatalf("claim after release = %+v", d)
		}
	})

	t.Run("stats and prune", func(t *testing.T) {
		clock := newInboxClock()
		in := NewInbox(open(t)).WithClock(clock.Now)
		start := clock.Now()
		for _, id := range []string{"x", "y", "z"} {
			in.Put(ctx, delivery(id))
			clock.Advance(time.Second)
		}
		d, _ := in.Claim(ctx, "w", time.Minute)
		in.Complete(ctx, d.ID, "w")
		st, err := in.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 2 || !st.OldestPending.Equal(start.Add(time.Second)) {
			t.Fatalf("Stats = %+v, want 2 pending, oldest %v", st, start.Add(time.Second))
		}
		n, err := in.Prune(ctx, clock.Now().Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want 1", n, err)
		}
		all, _ := in.List(ctx, InboxFilter{})
		if len(all) != 2 || all[0].ID != "z" {
			t.Fatalf("List after prune = %+v", all)
		}
		if all[0].Payload != nil {
			t.Fatal("List returned payloads")
		}
	})

	t.Run("long errors are truncated", func(t *testing.T) {
		in := NewInbox(open(t))
		in.Put(ctx, delivery("big"))
		d, _ := in.Claim(ctx, "w", time.Minute)
		long := make([]byte, 10000)
		for i := range long {
			long[i] = 'x'
		}
		if err := in.Park(ctx, d.ID, "w", string(long)+"é"); err != nil {
			t.Fatal(err)
		}
		got, _ := in.Get(ctx, "big")
		if len(got.LastError) > maxErrorLen+4 {
			t.Fatalf("stored error of %d bytes", len(got.LastError))
		}
	})
}
