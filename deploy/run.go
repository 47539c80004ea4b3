package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/deploy/streaming"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/store"
)

// warehouseKinds are the kinds whose changes touch the warehouse and so
// need a restore point first.
var warehouseKinds = map[string]bool{config.KindDbt: true, config.KindContracts: true}

// plan lists a deployment's steps: a restore point when the warehouse
// changes, one apply step per component in config.Kinds order (infra →
// warehouse → DAGs → streaming), then verification and smoke tests.
func (e *Engine) plan(rel, prev *release.Release) []string {
	var steps []string
	if e.warehouseChanged(rel, prev) {
		steps = append(steps, StepRestorePoint)
	}
	for _, kind := range config.Kinds {
		for _, c := range rel.ComponentsOfKind(kind) {
			steps = append(steps, "apply:"+c)
		}
		if kind == config.KindDbt && len(e.opts.Config.Deploy.Migrations) > 0 {
			steps = append(steps, StepMigrations)
		}
	}
	return append(steps, StepVerify, StepSmoke)
}

// rollbackPlan puts the warehouse back from restore points, then the DAGs,
// then verifies; infra and streaming are not rolled back automatically.
func (e *Engine) rollbackPlan(rel *release.Release) []string {
	steps := []string{StepRestoreWarehouse}
	for _, c := range rel.ComponentsOfKind(config.KindAirflow) {
		steps = append(steps, "apply:"+c)
	}
	return append(steps, StepVerify, StepSmoke)
}

func (e *Engine) warehouseChanged(rel, prev *release.Release) bool {
	for c, k := range rel.Kinds {
		if warehouseKinds[k] && rel.Changed(prev, c) {
			return true
		}
	}
	return migrationsChanged(e.opts.Config.Deploy.Migrations, rel, prev)
}

func migrationsChanged(paths []string, rel, prev *release.Release) bool {
	for _, p := range paths {
		a := rel.File(p)
		if a == nil {
			continue
		}
		if prev == nil {
			return true
		}
		if b := prev.File(p); b == nil || b.SHA256 != a.SHA256 {
			return true
		}
	}
	return false
}

// run drives d from its recorded step to the end of its plan.
func (e *Engine) run(ctx context.Context, f store.Fence, d *Deployment) (*Deployment, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := e.heartbeat(ctx, f, cancel)
	defer stop()

	env, _ := e.opts.Config.Environment(d.Env)
	rel, err := e.Release(ctx, d.ReleaseID)
	if err != nil {
		return d, err
	}
	var prev *release.Release
	if d.Details.Previous != "" {
		if prev, err = e.Release(ctx, d.Details.Previous); err != nil {
			return d, err
		}
	}
	t, err := e.opts.Targets.Open(ctx, env, e.session(d))
	if err != nil {
		return e.fail(ctx, f, d, nil, rel, prev, err)
	}
	defer t.Close()
	r := &runner{e: e, f: f, d: d, env: env, rel: rel, prev: prev, t: t, stop: cancel}
	for d.Step < len(d.Details.Plan) {
		step := d.Details.Plan[d.Step]
		if err := r.begin(ctx, step); err != nil {
			return d, err
		}
		msg, skipped, err := r.do(ctx, step)
		if err != nil {
			if ctx.Err() != nil {
				// Killed or lost the lock: stop touching the environment;
				// Resume (ours or another engine's) takes it from the record.
				return d, fmt.Errorf("deploy: %s stopped in step %s: %w", d.ID, step, context.Cause(ctx))
			}
			return e.fail(ctx, f, d, t, rel, prev, fmt.Errorf("step %s: %w", step, err))
		}
		if err := r.end(ctx, step, msg, skipped); err != nil {
			return d, err
		}
		if e.afterStep != nil {
			if err := e.afterStep(d, step); err != nil {
				return d, err
			}
		}
	}
	d.State, d.FinishedAt = StateSucceeded, e.now()
	d.logf(e.now(), "", "succeeded")
	if err := e.save(ctx, f, d); err != nil {
		return d, err
	}
	desc := fmt.Sprintf("%s deployed to %s", rel.Short(), d.Env)
	if d.Kind == KindRollback {
		desc = fmt.Sprintf("rolled back %s to %s", d.Env, rel.Short())
	}
	e.inactivate(ctx, d)
	// Reported while the lock is held, so only the holder speaks for the deployment.
	e.report(ctx, f, d, "success", desc)
	e.pruneRestorePoints(ctx, f, d.Env, t.Warehouse)
	_ = e.opts.DB.ReleaseLock(context.WithoutCancel(ctx), f)
	return d, nil
}

// pruneRestorePoints drops the restore points of env's deployments older
// than the newest deploy.keep_restore_points that hold any, once a
// deployment has succeeded there: every clone keeps storage the warehouse
// bills. A drop that fails is logged and tried again after the next
// success; it costs storage, never correctness. Each drop is recorded
// before it is made, so the history never points a rollback at a clone
// that is gone.
func (e *Engine) pruneRestorePoints(ctx context.Context, f store.Fence, env string, w warehouse.Deployer) {
	if w == nil {
		return
	}
	hist, err := e.History(ctx, env, 0)
	if err != nil {
		e.opts.Log.Warn().Err(err).Str("env", env).Msg("could not read the history to prune restore points")
		return
	}
	keep, seen := e.opts.Config.Deploy.RestorePointsKept(), 0
	for _, h := range hist { // newest first
		if !hasLiveRestorePoint(h) {
			continue
		}
		if seen++; seen <= keep {
			continue
		}
		for i := range h.Details.RestorePoints {
			rp := &h.Details.RestorePoints[i]
			if rp.Snapshot == "" || !rp.Dropped.IsZero() {
				continue
			}
			// Recorded before the drop: a crash in between leaves a clone
			// that costs storage, never a rollback that counts on a clone
			// already gone.
			rp.Dropped = e.now()
			if err := e.save(ctx, f, h); err != nil {
				e.opts.Log.Warn().Err(err).Str("deployment", h.ID).Msg("could not record a restore point as dropped; keeping it")
				rp.Dropped = time.Time{}
				return
			}
			if err := w.DropRestorePoint(ctx, *rp); err != nil {
				e.opts.Log.Warn().Err(err).Str("env", env).Str("snapshot", rp.Snapshot).Msg("could not drop a restore point")
				rp.Dropped = time.Time{}
				if err := e.save(ctx, f, h); err != nil {
					e.opts.Log.Warn().Err(err).Str("deployment", h.ID).Msg("could not record that a restore point is still there")
				}
			}
		}
	}
}

func hasLiveRestorePoint(d *Deployment) bool {
	for _, rp := range d.Details.RestorePoints {
		if rp.Snapshot != "" && rp.Dropped.IsZero() {
			return true
		}
	}
	return false
}

// inactivate marks the GitHub deployment of the release a rollback replaced
// as inactive, so the Environments page shows the live release only.
//
// GitHub marks a replaced deployment inactive by itself, except in the
// production environment; there Conveyor marks the one a new deployment
// replaced, so the Environments page shows one live prod release.
func (e *Engine) inactivate(ctx context.Context, d *Deployment) {
	if e.opts.Reporter == nil {
		return
	}
	replaced, why := d.Details.RolledBackRelease, "rolled back to "+release.Short(d.ReleaseID)
	if replaced == "" {
		if !e.opts.Config.IsLast(d.Env) {
			return
		}
		replaced, why = d.Details.Previous, "replaced by "+release.Short(d.ReleaseID)
	}
	if replaced == "" || replaced == d.ReleaseID {
		return
	}
	hist, err := e.History(ctx, d.Env, 0)
	if err != nil {
		return
	}
	for _, h := range hist {
		if h.ID != d.ID && h.ReleaseID == replaced && h.State == StateSucceeded && h.GitHubID != 0 {
			_ = e.opts.Reporter.Status(context.WithoutCancel(ctx), h.GitHubID, "inactive", why, h.Details.LogURL)
			return
		}
	}
}

type runner struct {
	e    *Engine
	f    store.Fence
	d    *Deployment
	env  *config.Environment
	rel  *release.Release
	prev *release.Release
	t    *Targets
	// stop cancels the run when the lock turns out lost (nil: the caller
	// sees the error and stops).
	stop context.CancelCauseFunc
}

// guard checks, before a phase of a side effect, that the run still holds
// its lock; a run that lost it stops there and leaves the deployment to
// the new holder.
func (r *runner) guard(ctx context.Context, phase string) error {
	err := r.e.opts.DB.CheckFence(ctx, r.f)
	if errors.Is(err, store.ErrFenced) && r.stop != nil {
		r.stop(err)
	}
	return err
}

func (r *runner) begin(ctx context.Context, step string) error {
	switch {
	case step == StepRestorePoint:
		r.d.State = StateRestorePoint
	case step == StepVerify || step == StepSmoke:
		r.d.State = StateVerifying
	default:
		r.d.State = StateApplying
	}
	if rec := r.d.stepRecord(step); rec != nil {
		rec.State, rec.Message = "running", "again after a restart"
	} else {
		r.d.Details.Steps = append(r.d.Details.Steps, StepRecord{Name: step, State: "running", StartedAt: r.e.now()})
	}
	return r.e.save(ctx, r.f, r.d)
}

func (r *runner) end(ctx context.Context, step, msg string, skipped bool) error {
	rec := r.d.stepRecord(step)
	rec.State, rec.FinishedAt, rec.Message = "done", r.e.now(), msg
	if skipped {
		rec.State = "skipped"
	}
	r.d.Step++
	r.d.logf(r.e.now(), step, "%s: %s", rec.State, msg)
	return r.e.save(ctx, r.f, r.d)
}

// do runs one step. Every step is idempotent: run again after a crash it
// converges to the same result.
func (r *runner) do(ctx context.Context, step string) (msg string, skipped bool, err error) {
	switch step {
	case StepRestorePoint:
		return r.restorePoint(ctx)
	case StepRestoreWarehouse:
		return r.restoreWarehouse(ctx)
	case StepMigrations:
		return r.migrations(ctx)
	case StepVerify:
		return r.verify(ctx)
	case StepSmoke:
		return r.smoke(ctx)
	}
	name, ok := strings.CutPrefix(step, "apply:")
	if !ok {
		return "", false, fmt.Errorf("unknown step %q", step)
	}
	comp, ok := r.e.opts.Config.Component(name)
	if !ok {
		return fmt.Sprintf("component %s is no longer configured", name), true, nil
	}
	if comp.Kind == config.KindAirflow {
		msg, skipped, err := r.airflow(ctx, comp, r.rel, "")
		if err == nil && r.d.Kind == KindRollback && r.d.Details.DagRunsToReview == nil {
			w, werr := r.e.dagRunWindow(ctx, r.d, r.rel)
			if werr != nil {
				return "", false, werr
			}
			r.d.Details.DagRunsToReview = w
			if w != nil && len(w.DAGs) > 0 {
				msg += fmt.Sprintf("; runs of %d DAGs between %s and %s used the bad code: clear them deliberately, nothing is re-run", len(w.DAGs), w.From.Format("15:04:05"), w.Until.Format("15:04:05"))
			}
		}
		return msg, skipped, err
	}
	if !r.rel.Changed(r.prev, name) {
		return "unchanged since " + release.Short(r.d.Details.Previous), true, nil
	}
	if comp.Commands.Apply == "" {
		return "no apply command configured", true, nil
	}
	if comp.Kind == config.KindStreaming && comp.Streaming != nil {
		if r.t.Kafka != nil {
			return r.streaming(ctx, comp)
		}
		msg, skipped, err := r.command(ctx, comp, "apply", comp.Commands.Apply)
		if err == nil {
			msg += fmt.Sprintf("; consumer group %s's offsets were not checked: %s names no kafka.brokers", comp.Streaming.ConsumerGroup, r.d.Env)
		}
		return msg, skipped, err
	}
	return r.command(ctx, comp, "apply", comp.Commands.Apply)
}

// streaming applies a streaming component between a checkpoint of its
// consumer group's offsets and a comparison with it: a consumer that comes
// up behind where the old one committed, or without its commits, would
// load records twice or skip them, and fails the deployment. The
// checkpoint is kept in the deployment, so a step resumed after a crash
// compares with the position from before the first attempt.
func (r *runner) streaming(ctx context.Context, comp *config.Component) (string, bool, error) {
	s := comp.Streaming
	cp := r.d.Details.Streaming[comp.Name]
	if cp == nil {
		var err error
		if cp, err = streaming.Take(ctx, r.t.Kafka, s.ConsumerGroup, s.Topics, r.e.now()); err != nil {
			return "", false, err
		}
		if r.d.Details.Streaming == nil {
			r.d.Details.Streaming = map[string]*streaming.Checkpoint{}
		}
		r.d.Details.Streaming[comp.Name] = cp
		if err := r.e.save(ctx, r.f, r.d); err != nil {
			return "", false, err
		}
	}
	msg, _, err := r.command(ctx, comp, "apply", comp.Commands.Apply)
	if err != nil {
		return "", false, err
	}
	findings, err := streaming.Compare(ctx, r.t.Kafka, cp)
	if err != nil {
		return "", false, err
	}
	if len(findings) > 0 {
		var why []string
		for _, f := range findings {
			why = append(why, f.String())
		}
		return "", false, fmt.Errorf("%w: consumer group %s: %s", ErrOffsetsMoved, s.ConsumerGroup, strings.Join(why, "; "))
	}
	return fmt.Sprintf("%s; consumer group %s kept its offsets on %s (lag %d at the checkpoint)", msg, s.ConsumerGroup, strings.Join(s.Topics, ", "), cp.Lag()), false, nil
}

// ErrOffsetsMoved is wrapped by a deployment's error when a streaming
// consumer's committed offsets went back or were lost during its deploy.
var ErrOffsetsMoved = errors.New("streaming offsets moved back")

func (r *runner) restorePoint(ctx context.Context) (string, bool, error) {
	if r.t.Warehouse == nil {
		return "no warehouse configured", true, nil
	}
	if len(r.d.Details.RestorePoints) > 0 {
		return "restore points taken before a restart", false, nil
	}
	var names []string
	for _, schema := range r.env.Warehouse.Schemas {
		rp, err := r.t.Warehouse.CreateRestorePoint(ctx, schema)
		if errors.Is(err, warehouse.ErrNotFound) {
			rp = warehouse.RestorePoint{Schema: schema, CreatedAt: r.e.now()}
		} else if err != nil {
			return "", false, err
		}
		r.d.Details.RestorePoints = append(r.d.Details.RestorePoints, rp)
		names = append(names, schema+"→"+orNew(rp.Snapshot))
		// Record each at once: a crash must not lose a restore point already taken.
		if err := r.e.save(ctx, r.f, r.d); err != nil {
			return "", false, err
		}
	}
	return strings.Join(names, ", "), false, nil
}

func orNew(s string) string {
	if s == "" {
		return "(did not exist)"
	}
	return s
}

func (r *runner) migrations(ctx context.Context) (string, bool, error) {
	if !migrationsChanged(r.e.opts.Config.Deploy.Migrations, r.rel, r.prev) {
		return "unchanged", true, nil
	}
	if r.t.Warehouse == nil {
		return "", false, errors.New("the release has warehouse migrations but the environment has no warehouse")
	}
	n := 0
	for _, p := range r.e.opts.Config.Deploy.Migrations {
		f := r.rel.File(p)
		if f == nil {
			return "", false, fmt.Errorf("%s: migration %s is not in release %s", r.e.opts.Config.File, p, r.rel.Short())
		}
		b, err := release.ReadBlob(ctx, r.e.opts.Artifacts, *f)
		if err != nil {
			return "", false, err
		}
		for i, stmt := range splitSQL(string(b)) {
			if err := r.t.Warehouse.Exec(ctx, stmt); err != nil {
				return "", false, fmt.Errorf("%s statement %d: %w", p, i+1, err)
			}
			n++
		}
	}
	return fmt.Sprintf("%d statements from %d migration files", n, len(r.e.opts.Config.Deploy.Migrations)), false, nil
}

// splitSQL splits a migration file on semicolons that end a line.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		cur.WriteString(line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if st := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); strings.TrimSpace(st) != "" {
				out = append(out, st)
			}
			cur.Reset()
		}
	}
	if st := strings.TrimSpace(cur.String()); st != "" && !isComment(st) {
		out = append(out, st)
	}
	return out
}

func isComment(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

// airflow syncs the component's files of rel to the bucket. Objects written
// by earlier deployments of the environment are passed on so unchanged
// files are not read again.
func (r *runner) airflow(ctx context.Context, comp *config.Component, rel *release.Release, _ string) (string, bool, error) {
	if r.t.Airflow == nil {
		return "no bucket configured", true, nil
	}
	known, err := r.knownObjects(ctx)
	if err != nil {
		return "", false, err
	}
	dags, envFiles := airflow.Layout(rel.FilesOf(comp.Name), airflow.Root(comp.Paths), r.t.AirflowTarget)
	from := "release:" + r.d.Details.Previous
	if r.d.Details.Previous == "" {
		from = "unmanaged"
	}
	r.d.Details.BucketState = fmt.Sprintf("mixed:%s→release:%s", strings.TrimPrefix(from, "release:"), rel.ID)
	if err := r.e.save(ctx, r.f, r.d); err != nil {
		return "", false, err
	}
	dep := *r.t.Airflow
	dep.Guard = r.guard
	res, err := dep.Deploy(ctx, r.t.AirflowTarget, dags, envFiles, known, func(ctx context.Context, f release.File) ([]byte, error) {
		return release.ReadBlob(ctx, r.e.opts.Artifacts, f)
	})
	if res != nil {
		if r.d.Details.Objects == nil {
			r.d.Details.Objects = map[string]airflow.Object{}
		}
		maps.Copy(r.d.Details.Objects, res.Objects)
	}
	if err != nil {
		return "", false, err
	}
	// Only what this release holds stays recorded.
	r.d.Details.Objects = res.Objects
	r.d.Details.BucketState = "release:" + rel.ID
	r.d.Details.Airflow = &AirflowSummary{
		Uploaded: len(res.Uploaded), Deleted: len(res.Deleted), BytesUploaded: res.BytesUploaded,
		EnvFiles: res.EnvFilesChanged, MWAAUpdated: res.MWAAUpdated, MWAAStatus: res.MWAAStatus, Digest: res.DagsPrefixDigest, Kept: res.Kept,
	}
	msg := fmt.Sprintf("%d uploaded (%d bytes), %d deleted, s3://%s/%s verified equal to the release", len(res.Uploaded), res.BytesUploaded, len(res.Deleted), r.t.AirflowTarget.Bucket, strings.TrimSuffix(firstNonEmpty(r.t.AirflowTarget.DagsPrefix, "dags/"), "/"))
	if len(res.Kept) > 0 {
		msg += fmt.Sprintf("; %d objects no deployment wrote were kept (airflow.keep_unknown_objects): %s", len(res.Kept), strings.Join(head(res.Kept, 5), ", "))
	}
	return msg, false, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// knownObjects gathers what earlier deployments of the environment wrote,
// newest last so it wins, plus what this deployment wrote before a restart.
func (r *runner) knownObjects(ctx context.Context) (map[string]airflow.Object, error) {
	hist, err := r.e.History(ctx, r.d.Env, 20)
	if err != nil {
		return nil, err
	}
	known := map[string]airflow.Object{}
	for _, h := range slices.Backward(hist) {
		if h.ID != r.d.ID {
			maps.Copy(known, h.Details.Objects)
		}
	}
	maps.Copy(known, r.d.Details.Objects)
	return known, nil
}

func (r *runner) verify(ctx context.Context) (string, bool, error) {
	whMsg, err := r.verifyWarehouse(ctx)
	if err != nil {
		return "", false, err
	}
	if r.t.Airflow == nil || len(r.rel.ComponentsOfKind(config.KindAirflow)) == 0 {
		if whMsg != "" {
			return whMsg, false, nil
		}
		return "nothing to verify", true, nil
	}
	msg, skipped, err := r.verifyBucket(ctx)
	if whMsg != "" && err == nil {
		msg += "; " + whMsg
	}
	return msg, skipped, err
}

// verifyWarehouse records the shape of the environment's warehouse schemas
// and, on a rollback that restored them, checks it is the shape the target
// release left: the same tables with the same columns and types.
func (r *runner) verifyWarehouse(ctx context.Context) (string, error) {
	if r.t.Warehouse == nil || len(r.env.Warehouse.Schemas) == 0 {
		return "", nil
	}
	shape, err := warehouseShape(ctx, r.t.Warehouse, r.env.Warehouse.Schemas)
	if err != nil {
		return "", err
	}
	r.d.Details.WarehouseShape = shape
	if r.d.Kind != KindRollback || r.d.Details.Rollback == nil || len(r.d.Details.Rollback.Restored) == 0 {
		return "", nil
	}
	hist, err := r.e.History(ctx, r.d.Env, 0)
	if err != nil {
		return "", err
	}
	for _, h := range hist {
		if h.ID == r.d.ID || h.ReleaseID != r.rel.ID || h.State != StateSucceeded || h.Details.WarehouseShape == "" {
			continue
		}
		if h.Details.WarehouseShape != shape {
			return "", fmt.Errorf("the warehouse schemas %s after the restore are not the shape release %s left (deployment %s)", strings.Join(r.env.Warehouse.Schemas, ", "), r.rel.Short(), h.ID)
		}
		return "warehouse schemas have the shape release " + r.rel.Short() + " left", nil
	}
	return "", nil
}

// warehouseShape digests the tables of schemas, with their columns' names
// and types in order. Nullability is left out: a restore point copies data
// and types, and not every copy keeps NOT NULL.
func warehouseShape(ctx context.Context, w warehouse.Inspector, schemas []string) (string, error) {
	h := sha256.New()
	for _, s := range schemas {
		tables, err := w.Tables(ctx, s)
		if errors.Is(err, warehouse.ErrNotFound) {
			fmt.Fprintf(h, "%s: none\n", s)
			continue
		}
		if err != nil {
			return "", err
		}
		sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
		for _, t := range tables {
			cols, err := w.Columns(ctx, s, t.Name)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s.%s:", strings.ToLower(s), strings.ToLower(t.Name))
			for _, c := range cols {
				fmt.Fprintf(h, " %s %s,", strings.ToLower(c.Name), strings.ToUpper(c.Type))
			}
			fmt.Fprintln(h)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verifyBucket checks the DAG bucket holds the release.
func (r *runner) verifyBucket(ctx context.Context) (string, bool, error) {
	got, err := r.t.Airflow.List(ctx, r.t.AirflowTarget)
	if err != nil {
		return "", false, err
	}
	var want []string
	for _, c := range r.rel.ComponentsOfKind(config.KindAirflow) {
		comp, ok := r.e.opts.Config.Component(c)
		if !ok {
			continue
		}
		dags, _ := airflow.Layout(r.rel.FilesOf(c), airflow.Root(comp.Paths), r.t.AirflowTarget)
		for _, w := range dags {
			want = append(want, w.Key)
			o, ok := got[w.Key]
			rec := r.d.Details.Objects[w.Key]
			if !ok || o.ETag != rec.ETag || rec.SHA256 != w.File.SHA256 {
				return "", false, fmt.Errorf("s3://%s/%s does not hold %s of release %s", r.t.AirflowTarget.Bucket, w.Key, w.File.SHA256[:12], r.rel.Short())
			}
		}
	}
	if r.d.Details.Airflow != nil {
		for _, k := range r.d.Details.Airflow.Kept {
			delete(got, k) // objects no deployment wrote, kept by the environment's choice
		}
	}
	if len(got) != len(want) {
		return "", false, fmt.Errorf("s3://%s holds %d DAG objects, release %s has %d", r.t.AirflowTarget.Bucket, len(got), r.rel.Short(), len(want))
	}
	return fmt.Sprintf("bucket equals release %s (%d objects)", r.rel.Short(), len(want)), false, nil
}

// smoke runs the repo's SQL assertions (each must return no rows) and each
// changed component's smoke command; any failure fails the deployment.
func (r *runner) smoke(ctx context.Context) (string, bool, error) {
	r.d.Details.Smoke = nil
	var failed []string
	for _, p := range r.e.opts.Config.Deploy.SmokeSQL {
		f := r.rel.File(p)
		if f == nil {
			return "", false, fmt.Errorf("%s: smoke test %s is not in release %s", r.e.opts.Config.File, p, r.rel.Short())
		}
		if r.t.Warehouse == nil {
			return "", false, fmt.Errorf("smoke test %s needs a warehouse and %s has none", p, r.d.Env)
		}
		b, err := release.ReadBlob(ctx, r.e.opts.Artifacts, *f)
		if err != nil {
			return "", false, err
		}
		res := SmokeResult{Name: p}
		rows, err := r.t.Warehouse.Query(ctx, strings.TrimSuffix(strings.TrimSpace(string(b)), ";"))
		switch {
		case err != nil:
			res.Output = err.Error()
		case len(rows.Values) > 0:
			res.Rows = len(rows.Values)
			res.Output = fmt.Sprintf("%d failing rows, first: %v", len(rows.Values), rows.Values[0])
		default:
			res.Passed = true
		}
		if !res.Passed {
			failed = append(failed, p)
		}
		r.d.Details.Smoke = append(r.d.Details.Smoke, res)
	}
	if r.t.Warehouse != nil {
		tests, err := r.dbtSmoke(ctx)
		if err != nil {
			return "", false, err
		}
		ctests, err := r.contractSmoke(ctx)
		if err != nil {
			return "", false, err
		}
		tests = append(tests, ctests...)
		for _, res := range tests {
			if !res.Passed {
				failed = append(failed, res.Name)
			}
		}
		r.d.Details.Smoke = append(r.d.Details.Smoke, tests...)
	}
	for _, c := range r.e.opts.Config.Components {
		if c.Commands.Smoke == "" || len(r.rel.FilesOf(c.Name)) == 0 {
			continue
		}
		msg, _, err := r.command(ctx, &c, "smoke", c.Commands.Smoke)
		res := SmokeResult{Name: c.Name + " smoke", Passed: err == nil, Output: msg}
		if err != nil {
			res.Output = err.Error()
			failed = append(failed, res.Name)
		}
		r.d.Details.Smoke = append(r.d.Details.Smoke, res)
	}
	if len(failed) > 0 {
		return "", false, fmt.Errorf("%w: %s", ErrSmokeFailed, strings.Join(failed, ", "))
	}
	if len(r.d.Details.Smoke) == 0 {
		return "no smoke tests declared", true, nil
	}
	skipped := 0
	for _, res := range r.d.Details.Smoke {
		if res.Skipped {
			skipped++
		}
	}
	msg := fmt.Sprintf("%d smoke tests passed", len(r.d.Details.Smoke)-skipped)
	if skipped > 0 {
		msg += fmt.Sprintf(", %d skipped", skipped)
	}
	return msg, false, nil
}

// ErrSmokeFailed is wrapped by a deployment's error when a smoke test failed.
var ErrSmokeFailed = errors.New("smoke tests failed")

// command runs a component command in the materialized release.
func (r *runner) command(ctx context.Context, comp *config.Component, what, script string) (string, bool, error) {
	if r.t.Executor == nil {
		return "", false, fmt.Errorf("component %s has a %s command but %s has no executor", comp.Name, what, r.d.Env)
	}
	dir, err := r.e.materialize(ctx, r.rel)
	if err != nil {
		return "", false, err
	}
	env := map[string]string{}
	maps.Copy(env, r.t.Env)
	res, err := r.t.Executor.Run(ctx, executor.Command{
		Name: comp.Name + " " + what, Script: script, Dir: dir, Env: env, Timeout: comp.Commands.Timeout.D(), Environment: r.d.Env,
		Vars: map[string]string{"CONVEYOR_ENV": r.d.Env, "CONVEYOR_RELEASE": r.rel.ID, "CONVEYOR_SHA": r.d.Details.SHA, "CONVEYOR_COMPONENT": comp.Name},
	})
	if err != nil {
		return "", false, err
	}
	tail := lastLines(res.Output, 20)
	r.d.logf(r.e.now(), "apply:"+comp.Name, "%s %s exited %d in %s%s\n%s", comp.Name, what, res.ExitCode, res.Duration.Round(1e6), logLink(res.LogURL), tail)
	if res.ExitCode != 0 || res.TimedOut {
		return "", false, fmt.Errorf("%s %s exited %d (timed out: %v): %s", comp.Name, what, res.ExitCode, res.TimedOut, lastLines(res.Output, 3))
	}
	return fmt.Sprintf("%s exited 0 in %s", what, res.Duration.Round(1e6)), false, nil
}

func logLink(u string) string {
	if u == "" {
		return ""
	}
	return " (log: " + u + ")"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// materialize writes the release's files once under WorkDir/<id>.
func (e *Engine) materialize(ctx context.Context, rel *release.Release) (string, error) {
	dir := filepath.Join(e.opts.WorkDir, rel.ID)
	if _, err := os.Stat(filepath.Join(dir, ".conveyor-complete")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(e.opts.WorkDir+"", ".tmp-")
	if err != nil {
		if err := os.MkdirAll(e.opts.WorkDir, 0o755); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(e.opts.WorkDir, ".tmp-"); err != nil {
			return "", err
		}
	}
	if err := release.Materialize(ctx, e.opts.Artifacts, rel, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".conveyor-complete"), []byte(rel.ID), 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dir, ".conveyor-complete")); serr == nil {
			return dir, nil // another deployment materialized it first
		}
		return "", err
	}
	return dir, nil
}

// head is at most the first n of s.
func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
