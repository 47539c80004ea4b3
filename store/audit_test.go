package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/policy"
)

func TestAuditSQLite(t *testing.T) {
	runAuditSuite(t, func(t *testing.T) *DB {
		db, err := Open(context.Background(), "sqlite://"+t.TempDir()+"/c.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestAuditPostgres(t *testing.T) {
	runAuditSuite(t, postgresDatabases(t, "audit"))
}

func auditEvent(i int) policy.Event {
	return policy.Event{
		Time: time.Date(2026, 3, 2, 10, 0, 0, 123456789+i, time.UTC), Repo: "parcelflow/data", PR: 7 + i%2,
		Actor: "dave", Action: "promote", Env: "prod", Delivery: fmt.Sprintf("d-%d", i), InputsHash: "sha256:ab",
		Decision: "refused", Reasons: []string{"soak: 10m of 1h", "freeze: weekend"},
		Membership: map[string][]string{"devops": {"dave", "erin"}},
	}
}

func runAuditSuite(t *testing.T, open func(t *testing.T) *DB) {
	ctx := context.Background()
	t.Run("append list verify", func(t *testing.T) {
		log := NewAuditLog(open(t))
		var stored []policy.Event
		for i := 0; i < 4; i++ {
			ev, err := log.Append(ctx, auditEvent(i))
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, ev)
		}
		if stored[0].Seq != 1 || stored[0].PrevHash != policy.GenesisHash || stored[3].PrevHash != stored[2].Hash {
			t.Fatalf("bad chain: %+v", stored)
		}
		got, err := log.List(ctx, AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[2].Hash != stored[2].Hash || !got[2].Time.Equal(stored[2].Time) || got[2].Membership["devops"][1] != "erin" {
			t.Fatalf("list = %+v", got)
		}
		if err := policy.VerifyChain(got); err != nil {
			t.Fatalf("a stored chain must verify: %v", err)
		}
		pr8, err := log.List(ctx, AuditFilter{Repo: "parcelflow/data", PR: 8})
		if err != nil || len(pr8) != 2 || pr8[0].Seq != 2 || pr8[1].Seq != 4 {
			t.Fatalf("filter by PR = %+v, %v", pr8, err)
		}
		after, err := log.List(ctx, AuditFilter{AfterSeq: 3})
		if err != nil || len(after) != 1 || after[0].Seq != 4 {
			t.Fatalf("after 3 = %+v, %v", after, err)
		}
		n, last, err := log.Verify(ctx)
		if err != nil || n != 4 || last != stored[3].Hash {
			t.Fatalf("verify = %d %s %v", n, last, err)
		}
	})
	t.Run("empty chain verifies", func(t *testing.T) {
		n, last, err := NewAuditLog(open(t)).Verify(ctx)
		if err != nil || n != 0 || last != "" {
			t.Fatalf("verify = %d %q %v", n, last, err)
		}
	})
	t.Run("an incomplete event is refused", func(t *testing.T) {
		if _, err := NewAuditLog(open(t)).Append(ctx, policy.Event{Actor: "x"}); err == nil {
			t.Fatal("want an error")
		}
	})
	tampers := []struct {
		name string
		sql  string
		seq  int64
	}{
		{"a changed decision", `UPDATE audit_events SET decision = 'allowed' WHERE seq = 2`, 2},
		{"a changed time", `UPDATE audit_events SET at_ns = at_ns + 1 WHERE seq = 3`, 3},
		{"hidden membership", `UPDATE audit_events SET membership = '{}' WHERE seq = 1`, 1},
		{"a deleted event", `DELETE FROM audit_events WHERE seq = 2`, 3},
		{"a forged hash", `UPDATE audit_events SET hash = 'f00d' WHERE seq = 2`, 2},
	}
	for _, tt := range tampers {
		t.Run("detects "+tt.name, func(t *testing.T) {
			db := open(t)
			log := NewAuditLog(db)
			for i := 0; i < 4; i++ {
				if _, err := log.Append(ctx, auditEvent(i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Exec(ctx, tt.sql); err != nil {
				t.Fatal(err)
			}
			_, _, err := log.Verify(ctx)
			var ce *policy.ChainError
			if !errors.As(err, &ce) || ce.Seq != tt.seq {
				t.Fatalf("verify = %v, want a break at %d", err, tt.seq)
			}
		})
	}
	t.Run("concurrent appends form one chain", func(t *testing.T) {
		db := open(t)
		// Two AuditLogs on one database stand for two replicas.
		logs := []*AuditLog{NewAuditLog(db), NewAuditLog(db)}
		const writers, each = 8, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := logs[w%2].Append(ctx, auditEvent(w*each+i)); err != nil {
						errs <- err
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		n, _, err := logs[0].Verify(ctx)
		if err != nil || n != writers*each {
			t.Fatalf("verify = %d, %v; want %d events", n, err, writers*each)
		}
	})
}
