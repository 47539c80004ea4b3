package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestClaimReadsTheQueueInOrder pins the claim's query plan on SQLite: a
// claim must walk the queue index from its front, not sort every pending
// delivery (which cost milliseconds per claim with a backlog of thousands,
// while the webhook intake waited for the database).
func TestClaimReadsTheQueueInOrder(t *testing.T) {
	db := openSQLiteForTest(t)
	ctx := context.Background()
	in := NewInbox(db)
	for i := range 300 {
		if _, err := in.Put(ctx, delivery(fmt.Sprintf("d-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UnixMilli()
	rows, err := db.Query(ctx, "EXPLAIN QUERY PLAN "+nextReady, string(StatusPending), now, now)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "inbox_deliveries_queue") || strings.Contains(got, "TEMP B-TREE") {
		t.Fatalf("claim plan %q: want a walk of inbox_deliveries_queue with no sort", got)
	}
	d, err := in.Claim(ctx, "w1", time.Minute)
	if err != nil || d == nil || d.ID != "d-000" {
		t.Fatalf("claimed %+v (%v), want the oldest delivery d-000", d, err)
	}
}
