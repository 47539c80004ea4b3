package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/store"
)

// fail ends a deployment that could not complete. When it changed nothing
// it simply fails; otherwise it rolls the environment back.
func (e *Engine) fail(ctx context.Context, f store.Fence, d *Deployment, _ *Targets, rel, _ *release.Release, cause error) (*Deployment, error) {
	d.Error = cause.Error()
	d.logf(e.now(), "", "failed: %v", cause)
	changed := len(d.Details.RestorePoints) > 0 || d.Details.BucketState != ""
	for _, s := range d.Details.Steps {
		if s.State == "done" {
			changed = true
		}
	}
	if !changed || d.Kind == KindRollback {
		d.State, d.FinishedAt = StateFailed, e.now()
		if err := e.save(ctx, f, d); err != nil {
			return d, err
		}
		e.report(ctx, f, d, "failure", fmt.Sprintf("%s to %s failed: %v", rel.Short(), d.Env, cause))
		_ = e.opts.DB.ReleaseLock(context.WithoutCancel(ctx), f)
		return d, &FailedError{Deployment: d, Cause: cause}
	}
	d.State = StateRollingBack
	if err := e.save(ctx, f, d); err != nil {
		return d, err
	}
	return e.finishRollback(ctx, f, d, cause)
}

// finishRollback puts the environment back to the release it ran before d:
// warehouse schemas from d's restore points, DAGs from the previous
// release's manifest. Each part is recorded as it completes, so a crash in
// the middle resumes without repeating it.
func (e *Engine) finishRollback(ctx context.Context, f store.Fence, d *Deployment, cause error) (*Deployment, error) {
	env, _ := e.opts.Config.Environment(d.Env)
	if d.Details.Rollback == nil {
		d.Details.Rollback = &RollbackRecord{Cause: cause.Error(), ToRelease: d.Details.Previous}
	}
	rb := d.Details.Rollback
	t, err := e.opts.Targets.Open(ctx, env, e.session(d))
	if err != nil {
		return e.rollbackFailed(ctx, f, d, fmt.Errorf("opening %s to roll back: %w", d.Env, err))
	}
	defer t.Close()
	if err := e.restoreSchemas(ctx, f, d, t.Warehouse, d.Details.RestorePoints, &rb.Restored); err != nil {
		return e.rollbackFailed(ctx, f, d, err)
	}
	if d.Details.BucketState != "" && !rb.DAGsSynced {
		if d.Details.Previous == "" {
			d.Details.BucketState = strings.Replace(d.Details.BucketState, "mixed:", "mixed (no earlier release to return to):", 1)
			d.logf(e.now(), "", "no earlier release in %s: the DAG bucket is left as %s", d.Env, d.Details.BucketState)
		} else {
			prev, err := e.Release(ctx, d.Details.Previous)
			if err != nil {
				return e.rollbackFailed(ctx, f, d, err)
			}
			r := &runner{e: e, f: f, d: d, env: env, rel: prev, t: t}
			for _, c := range prev.ComponentsOfKind(config.KindAirflow) {
				comp, ok := e.opts.Config.Component(c)
				if !ok {
					continue
				}
				if _, _, err := r.airflow(ctx, comp, prev, ""); err != nil {
					return e.rollbackFailed(ctx, f, d, fmt.Errorf("syncing DAGs back to %s: %w", prev.Short(), err))
				}
			}
			rb.DAGsSynced = true
			if err := e.save(ctx, f, d); err != nil {
				return d, err
			}
		}
	}
	d.State, d.FinishedAt = StateRolledBack, e.now()
	if d.Details.Previous == "" {
		d.State = StateFailed
	}
	d.logf(e.now(), "", "%s: environment back at %s", d.State, orNone(d.Details.Previous))
	if err := e.save(ctx, f, d); err != nil {
		return d, err
	}
	e.report(ctx, f, d, "failure", fmt.Sprintf("%s failed in %s and was rolled back to %s: %s", release.Short(d.ReleaseID), d.Env, release.Short(orNone(d.Details.Previous)), cause))
	_ = e.opts.DB.ReleaseLock(context.WithoutCancel(ctx), f)
	return d, &FailedError{Deployment: d, Cause: cause}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (e *Engine) rollbackFailed(ctx context.Context, f store.Fence, d *Deployment, err error) (*Deployment, error) {
	if ctx.Err() != nil {
		return d, fmt.Errorf("deploy: rollback of %s stopped: %w", d.ID, context.Cause(ctx))
	}
	d.State, d.FinishedAt = StateFailed, e.now()
	d.Error += "; rollback failed: " + err.Error()
	d.logf(e.now(), "", "rollback failed: %v; bucket state %s", err, d.Details.BucketState)
	if serr := e.save(ctx, f, d); serr != nil {
		return d, serr
	}
	e.report(ctx, f, d, "failure", "rollback failed: "+err.Error())
	_ = e.opts.DB.ReleaseLock(context.WithoutCancel(ctx), f)
	return d, &FailedError{Deployment: d, Cause: err}
}

// restoreSchemas restores each restore point not yet in done, recording
// each at once (a Snowflake swap run twice would undo itself).
func (e *Engine) restoreSchemas(ctx context.Context, f store.Fence, d *Deployment, w warehouse.Deployer, rps []warehouse.RestorePoint, done *[]string) error {
	for _, rp := range rps {
		if slices.Contains(*done, rp.Schema) {
			continue
		}
		if w == nil {
			return fmt.Errorf("restore point of %s recorded but %s has no warehouse", rp.Schema, d.Env)
		}
		var err error
		if rp.Snapshot == "" {
			err = w.Exec(ctx, warehouse.DropSchemaSQL(rp.Schema))
		} else {
			err = w.Restore(ctx, rp)
		}
		if err != nil {
			return fmt.Errorf("restoring %s: %w", rp.Schema, err)
		}
		*done = append(*done, rp.Schema)
		d.logf(e.now(), "", "restored schema %s from %s", rp.Schema, orNew(rp.Snapshot))
		if err := e.save(ctx, f, d); err != nil {
			return err
		}
	}
	return nil
}

// Rollback redeploys an earlier release of req.Env byte for byte: req.ReleaseID
// (an ID or a unique prefix of one deployed there), or when empty the last
// good release before the current one. Warehouse schemas the rolled-back
// releases changed are restored from their restore points, and the
// deployment lists the DAGs whose runs used the bad code. Nothing is
// re-triggered: DAGs that go back are not caught up.
func (e *Engine) Rollback(ctx context.Context, req Request) (*Deployment, error) {
	if _, ok := e.opts.Config.Environment(req.Env); !ok {
		return nil, fmt.Errorf("deploy: unknown environment %q", req.Env)
	}
	cur, err := e.Current(ctx, req.Env)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, fmt.Errorf("deploy: nothing has been deployed to %s, so there is nothing to roll back", req.Env)
	}
	hist, err := e.History(ctx, req.Env, 0)
	if err != nil {
		return nil, err
	}
	target, err := rollbackTarget(hist, cur, req.ReleaseID)
	if err != nil {
		return nil, err
	}
	if req.Reason == "" {
		req.Reason = "rollback"
	}
	req.ReleaseID = target
	// Refused before a deployment is recorded: nothing was tried, so
	// nothing failed.
	if err := e.refuseDropped(restorePointsLeftBy(hist, target, ""), target); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	if req.SHA == "" {
		// The commit that last brought the target here is the one going back.
		for _, h := range hist {
			if h.ReleaseID == target && h.State == StateSucceeded {
				req.SHA, req.PR = h.Details.SHA, h.Details.PR
				break
			}
		}
	}
	return e.start(ctx, req, KindRollback, cur.ReleaseID)
}

// rollbackTarget picks the release a rollback of cur's environment returns
// to: want (an ID or a unique prefix) or, when empty, the release right
// below the current one in the environment's lineage.
func rollbackTarget(hist []*Deployment, cur *Deployment, want string) (string, error) {
	line := lineage(hist)
	below := map[string]bool{}
	for _, id := range line {
		if id != cur.ReleaseID {
			below[id] = true
		}
	}
	if want == "" {
		for i := len(line) - 1; i >= 0; i-- {
			if line[i] != cur.ReleaseID {
				return line[i], nil
			}
		}
		return "", fmt.Errorf("deploy: %s has no earlier good release to roll back to", cur.Env)
	}
	var found []string
	for _, h := range hist {
		if h.State == StateSucceeded && strings.HasPrefix(h.ReleaseID, want) && !slices.Contains(found, h.ReleaseID) {
			found = append(found, h.ReleaseID)
		}
	}
	switch {
	case len(found) == 0:
		return "", fmt.Errorf("deploy: release %s never ran successfully in %s", want, cur.Env)
	case len(found) > 1:
		return "", fmt.Errorf("deploy: %s matches %d releases in %s; give more of the ID", want, len(found), cur.Env)
	case found[0] == cur.ReleaseID:
		return "", fmt.Errorf("deploy: %s already runs release %s", cur.Env, release.Short(want))
	case !below[found[0]]:
		// Its warehouse changes were undone by a rollback since (or it came
		// after what runs now): going to it re-applies them, which only a
		// deployment does; restore points can only take the warehouse back.
		return "", fmt.Errorf("deploy: release %s is newer than what %s runs (%s): it was rolled back from %s since; a rollback only goes back — /promote %s deploys it again",
			release.Short(found[0]), cur.Env, release.Short(cur.ReleaseID), cur.Env, cur.Env)
	}
	return found[0], nil
}

// lineage is the chain of releases an environment went through to reach
// the one it runs, oldest first, from its history (newest first): each
// successful deployment of a different release goes on top, and a
// successful rollback to R takes off everything above R. The releases below
// the top are what a rollback can return to: each one's warehouse state is
// held by the restore points of the deployment that went on top of it.
func lineage(hist []*Deployment) []string {
	var line []string
	for _, h := range slices.Backward(hist) {
		if h.State != StateSucceeded {
			continue
		}
		if h.Kind == KindRollback {
			// The newest entry of the target: the state its latest deployment left.
			if i := lastIndex(line, h.ReleaseID); i >= 0 {
				line = line[:i+1]
			} else {
				// Its target is older than the history read: start from it.
				line = []string{h.ReleaseID}
			}
			continue
		}
		if len(line) == 0 || line[len(line)-1] != h.ReleaseID {
			line = append(line, h.ReleaseID)
		}
	}
	return line
}

func lastIndex(ss []string, s string) int {
	for i := len(ss) - 1; i >= 0; i-- {
		if ss[i] == s {
			return i
		}
	}
	return -1
}

// restoreWarehouse is a rollback's first step: it finds the restore points
// taken by the first deployment that replaced the target release and
// restores them.
func (r *runner) restoreWarehouse(ctx context.Context) (string, bool, error) {
	hist, err := r.e.History(ctx, r.d.Env, 0)
	if err != nil {
		return "", false, err
	}
	rps := restorePointsLeftBy(hist, r.rel.ID, r.d.ID)
	if len(rps) == 0 {
		return "no warehouse change since " + r.rel.Short(), true, nil
	}
	if err := r.e.refuseDropped(rps, r.rel.ID); err != nil {
		return "", false, err
	}
	if r.d.Details.Rollback == nil {
		r.d.Details.Rollback = &RollbackRecord{Cause: "rollback requested", ToRelease: r.rel.ID}
	}
	r.d.Details.RestorePoints = nil // restore points used, not taken: keep them apart
	if err := r.e.restoreSchemas(ctx, r.f, r.d, r.t.Warehouse, rps, &r.d.Details.Rollback.Restored); err != nil {
		return "", false, err
	}
	var names []string
	for _, rp := range rps {
		names = append(names, rp.Schema+"←"+orNew(rp.Snapshot))
	}
	return "restored " + strings.Join(names, ", "), false, nil
}

// restorePointsLeftBy finds, in hist (newest first), the restore points
// holding the warehouse state target left: those of the oldest deployment
// after target's last good one that took any. skip is the rollback itself.
func restorePointsLeftBy(hist []*Deployment, target, skip string) []warehouse.RestorePoint {
	var rps []warehouse.RestorePoint
	for _, h := range hist {
		if h.ID == skip {
			continue
		}
		if h.ReleaseID == target && h.State == StateSucceeded {
			break
		}
		if len(h.Details.RestorePoints) > 0 && (h.State == StateSucceeded || h.State == StateFailed) {
			rps = h.Details.RestorePoints
		}
	}
	return rps
}

// refuseDropped says why the warehouse cannot go back to target when one
// of rps was dropped to bound what restore points cost.
func (e *Engine) refuseDropped(rps []warehouse.RestorePoint, target string) error {
	for _, rp := range rps {
		if !rp.Dropped.IsZero() {
			return fmt.Errorf("%w: the restore point of %s that %s left was dropped at %s (deploy.keep_restore_points keeps the newest %d); the warehouse cannot go back that far",
				ErrRestorePointDropped, rp.Schema, release.Short(target), rp.Dropped.Format(time.RFC3339), e.opts.Config.Deploy.RestorePointsKept())
		}
	}
	return nil
}

// dagRunWindow names the DAG files that differ between the bad release and
// the rollback target, and the window the bad code ran in.
func (e *Engine) dagRunWindow(ctx context.Context, d *Deployment, target *release.Release) (*DagRunWindow, error) {
	if d.Details.RolledBackRelease == "" {
		return nil, nil
	}
	bad, err := e.Release(ctx, d.Details.RolledBackRelease)
	if err != nil {
		return nil, err
	}
	w := &DagRunWindow{Until: e.now()}
	hist, err := e.History(ctx, d.Env, 0)
	if err != nil {
		return nil, err
	}
	for _, h := range hist {
		if h.ReleaseID == bad.ID && h.State == StateSucceeded {
			// The bad DAG files were live from the moment their sync began
			// writing them, not from when the deployment finished verifying.
			w.From = h.CreatedAt
			for _, s := range h.Details.Steps {
				if name, ok := strings.CutPrefix(s.Name, "apply:"); ok && bad.Kinds[name] == config.KindAirflow && !s.StartedAt.IsZero() {
					w.From = s.StartedAt
					break
				}
			}
			break
		}
	}
	for _, c := range bad.ComponentsOfKind(config.KindAirflow) {
		for _, f := range bad.FilesOf(c) {
			if t := target.File(f.Path); t == nil || t.SHA256 != f.SHA256 {
				w.DAGs = append(w.DAGs, f.Path)
			}
		}
		for _, f := range target.FilesOf(c) {
			if bad.File(f.Path) == nil {
				w.DAGs = append(w.DAGs, f.Path)
			}
		}
	}
	slices.Sort(w.DAGs)
	return w, nil
}

// ErrRestorePointDropped refuses a rollback whose warehouse state is older
// than the restore points kept.
var ErrRestorePointDropped = errors.New("restore point dropped")
