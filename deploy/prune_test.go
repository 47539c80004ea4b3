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
	// Back to the first release: its restore point was dropped. It is
	// refused up front: no deployment is recorded, so none failed.
	before, err := e.History(ctx, "prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	old, err := e.Rollback(ctx, Request{Env: "prod", ReleaseID: deps[0].ReleaseID, Actor: "bob", Reason: "rollback"})
	if err == nil || old != nil {
		t.Fatalf("a rollback past the kept restore points was not refused: %v %+v", err, old)
	}
	if !errors.Is(err, ErrRestorePointDropped) || !strings.Contains(err.Error(), "was dropped") {
		t.Fatalf("the refusal does not say the restore point was dropped: %v", err)
	}
	after, err := e.History(ctx, "prod", 0)
	if err != nil || len(after) != len(before) {
		t.Fatalf("the refused rollback recorded a deployment: %d before, %d after (%v)", len(before), len(after), err)
	}
}

// TestRollbackVerifiesTheWarehouseShape rolls prod back over a warehouse
// change: the restored schemas have the shape the target release left, and
// a rollback whose restore leaves another shape (here a column someone adds
// in between) fails its verify step instead of reporting success.
func TestRollbackVerifiesTheWarehouseShape(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 1)
	e := h.engine("a", time.Minute)
	v1 := h.build(e, version{gen: 1}, "low", 1)
	v2 := h.build(e, version{gen: 2, orders: `SELECT *, 'eur' AS currency FROM (VALUES (1, 10), (2, 20)) t(id, amount)`}, "low", 2)
	for _, rel := range []string{v1.ID, v2.ID} {
		if d, err := e.Deploy(ctx, Request{ReleaseID: rel, Env: "prod", Actor: "carol"}); err != nil || d.State != StateSucceeded {
			t.Fatalf("deploy: %v %+v", err, d)
		}
	}
	hist, err := e.History(ctx, "prod", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Details.WarehouseShape == "" || hist[0].Details.WarehouseShape == hist[1].Details.WarehouseShape {
		t.Fatalf("v1 and v2 must record different warehouse shapes: %q, %q", hist[1].Details.WarehouseShape, hist[0].Details.WarehouseShape)
	}

	t.Run("a restore to the target's shape verifies", func(t *testing.T) {
		h2 := newHarness(t, 1)
		e2 := h2.engine("b", time.Minute)
		for _, v := range []version{{gen: 1}, {gen: 2, orders: `SELECT *, 'eur' AS currency FROM (VALUES (1, 10), (2, 20)) t(id, amount)`}} {
			rel := h2.build(e2, v, "low", v.gen)
			if d, err := e2.Deploy(ctx, Request{ReleaseID: rel.ID, Env: "prod", Actor: "carol"}); err != nil || d.State != StateSucceeded {
				t.Fatalf("deploy: %v %+v", err, d)
			}
		}
		d, err := e2.Rollback(ctx, Request{Env: "prod", Actor: "bob", Reason: "rollback"})
		if err != nil || d.State != StateSucceeded {
			t.Fatalf("rollback: %v %+v", err, d)
		}
		verified := false
		for _, s := range d.Details.Steps {
			verified = verified || s.Name == StepVerify && strings.Contains(s.Message, "have the shape release")
		}
		if !verified {
			t.Fatalf("the rollback's verify step does not check the warehouse: %+v", d.Details.Steps)
		}
	})

	t.Run("a restore that leaves another shape fails", func(t *testing.T) {
		e.afterStep = func(d *Deployment, step string) error {
			if d.Kind == KindRollback && step == StepRestoreWarehouse {
				return h.wh["prod"].Exec(ctx, "ALTER TABLE marts.orders ADD COLUMN audit_note VARCHAR")
			}
			return nil
		}
		defer func() { e.afterStep = nil }()
		d, _ := e.Rollback(ctx, Request{Env: "prod", Actor: "bob", Reason: "rollback"})
		if d == nil || d.State == StateSucceeded || !strings.Contains(d.Error, "not the shape release") {
			t.Fatalf("rollback = %+v, want a failed verify naming the shape", d)
		}
	})
}
