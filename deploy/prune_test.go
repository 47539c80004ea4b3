package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// TestRestorePointsAreBounded deploys six warehouse changes to prod with
// deploy.keep_restore_points at 2: only the newest two deployments keep
// their schema copies, the older copies are gone from the warehouse and
// marked dropped, a rollback within them still restores the warehouse,
// and one past them is refused, saying why.
func TestRestorePointsAreBounded(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 1)
	h.cfg.Deploy.KeepRestorePoints = 2
	e := h.engine("a", time.Minute)
	var deps []*Deployment
	for gen := 1; gen <= 6; gen++ {
		rows := make([]string, gen)
		for i := range rows {
			rows[i] = fmt.Sprintf("(%d, %d)", i+1, 10*(i+1))
		}
		rel := h.build(e, version{gen: gen, orders: "SELECT * FROM (VALUES " + strings.Join(rows, ", ") + ") t(id, amount)"}, "low", gen)
		d, err := e.Deploy(ctx, Request{ReleaseID: rel.ID, Env: "prod", Actor: "carol"})
		if err != nil || d.State != StateSucceeded {
			t.Fatalf("deploy %d: %v %+v", gen, err, d)
		}
		deps = append(deps, d)
	}
	hist, err := e.History(ctx, "prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, d := range hist {
		for _, rp := range d.Details.RestorePoints {
			if rp.Snapshot == "" {
				continue
			}
			_, err := h.wh["prod"].Tables(ctx, rp.Snapshot)
			switch {
			case rp.Dropped.IsZero() && err != nil:
				t.Errorf("%s keeps restore point %s, but the warehouse lacks it: %v", d.ID, rp.Snapshot, err)
			case !rp.Dropped.IsZero() && !errors.Is(err, warehouse.ErrNotFound):
				t.Errorf("%s marks %s dropped, but the warehouse still has it (%v)", d.ID, rp.Snapshot, err)
			case rp.Dropped.IsZero():
				live++
			}
		}
	}
	if live != 2 {
		t.Fatalf("%d restore points kept, want 2", live)
	}

	// Back one release: its state is in the newest restore point.
	back, err := e.Rollback(ctx, Request{Env: "prod", Actor: "bob", Reason: "rollback"})
	if err != nil || back.State != StateSucceeded {
		t.Fatalf("rollback within the kept restore points: %v %+v", err, back)
	}
	if got := h.orders("prod"); !strings.HasPrefix(got, "1:10 2:20 3:30 4:40 5:50") || strings.Contains(got, "6:60") {
		t.Fatalf("orders after the rollback = %q, want the five rows of the release before", got)
	}
	// Back to the first release: its restore point was dropped.
	old, err := e.Rollback(ctx, Request{Env: "prod", ReleaseID: deps[0].ReleaseID, Actor: "bob", Reason: "rollback"})
	if err == nil && old.State == StateSucceeded {
		t.Fatal("a rollback past the kept restore points succeeded")
	}
	why := ""
	if err != nil {
		why = err.Error()
	}
	if old != nil {
		why += " " + old.Error
	}
	if !strings.Contains(why, "was dropped") {
		t.Fatalf("the refusal does not say the restore point was dropped: %q", why)
	}
}
