// Package deploy owns every side effect on an environment. A release (built
// once per commit, see deploy/release) is applied to an environment by a
// Deployment: a persisted state machine — queued, locked, restore point,
// applying per component (infra → warehouse → DAGs → streaming), verifying,
// then succeeded, failed or rolled back — under a per-environment lock whose
// fencing token every state write checks. A deployment interrupted by a
// crash is resumed from its last completed step or rolled back to its
// restore point; it is never left half-applied without saying so.
package deploy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/streaming"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/store"
)

// Deployment states.
const (
	StateQueued       = "queued"
	StateLocked       = "locked"
	StateRestorePoint = "restore_point"
	StateApplying     = "applying"
	StateVerifying    = "verifying"
	StateRollingBack  = "rolling_back"
	StateSucceeded    = "succeeded"
	StateFailed       = "failed"
	// StateRolledBack: the deployment failed and the environment was put
	// back to the release it ran before.
	StateRolledBack = "rolled_back"
)

// Deployment kinds.
const (
	KindDeploy   = "deploy"
	KindRollback = "rollback"
)

// Terminal reports whether a deployment in state is finished.
func Terminal(state string) bool {
	return state == StateSucceeded || state == StateFailed || state == StateRolledBack
}

var inFlightStates = []string{StateQueued, StateLocked, StateRestorePoint, StateApplying, StateVerifying, StateRollingBack}

// Step names. Component steps are "apply:<component>".
const (
	StepRestorePoint     = "restore_point"
	StepRestoreWarehouse = "restore_warehouse"
	StepMigrations       = "apply:" + "_migrations"
	StepVerify           = "verify"
	StepSmoke            = "smoke"
)

// Deployment is one release applied to one environment.
type Deployment struct {
	ID string `json:"id"`
	// Repo is the repository ("owner/name"); empty for deployments recorded
	// before they were scoped by repository.
	Repo       string    `json:"repo,omitempty"`
	ReleaseID  string    `json:"release_id"`
	Env        string    `json:"env"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	Actor      string    `json:"actor"`
	Reason     string    `json:"reason,omitempty"`
	BreakGlass bool      `json:"break_glass,omitempty"`
	GitHubID   int64     `json:"github_id,omitempty"`
	Error      string    `json:"error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Details    Details   `json:"details"`
	// Step is how many of Details.Plan are done.
	Step  int   `json:"step"`
	token int64 // fencing token of the last writer
}

// Details is the JSON kept in deployments.details: the plan, what each step
// did, and everything a rollback or an auditor needs later.
type Details struct {
	SHA string `json:"sha"`
	PR  int    `json:"pr,omitempty"`
	// CommittedAt is when the deployed change was first committed, when known.
	CommittedAt time.Time `json:"committed_at,omitzero"`
	// Previous is the release the environment ran before this deployment.
	Previous string `json:"previous_release,omitempty"`
	// Plan is the ordered list of steps; Steps records the ones started.
	Plan  []string     `json:"plan"`
	Steps []StepRecord `json:"steps,omitempty"`
	// RestorePoints are the warehouse copies taken before applying. A restore
	// point with no snapshot means the schema did not exist.
	RestorePoints []warehouse.RestorePoint `json:"restore_points,omitempty"`
	// Objects are the bucket objects this deployment left in place, with the
	// S3 version ID of each.
	Objects map[string]airflow.Object `json:"objects,omitempty"`
	Airflow *AirflowSummary           `json:"airflow,omitempty"`
	// BucketState says what the DAG bucket holds: "release:<id>", or
	// "mixed:<from>→<to>" while a sync is in flight or after one failed
	// with no way back.
	BucketState string        `json:"bucket_state,omitempty"`
	Smoke       []SmokeResult `json:"smoke,omitempty"`
	// WarehouseShape is a digest of the warehouse schemas' tables and
	// columns (names and types) once the deployment verified; a rollback
	// checks the schemas it restored come back to the target's shape.
	WarehouseShape string `json:"warehouse_shape,omitempty"`
	// Streaming holds, per streaming component, its consumer group's offsets
	// checkpointed before the component was applied.
	Streaming map[string]*streaming.Checkpoint `json:"streaming,omitempty"`
	// RolledBackRelease is the bad release a rollback replaced.
	RolledBackRelease string `json:"rolled_back_release,omitempty"`
	// DagRunsToReview lists the DAGs whose code went back and the window in
	// which their runs ran the bad code; a rollback never triggers catch-up.
	DagRunsToReview *DagRunWindow `json:"dag_runs_to_review,omitempty"`
	// Rollback says why and how a failed deployment was rolled back.
	Rollback *RollbackRecord `json:"rollback,omitempty"`
	Holder   string          `json:"holder,omitempty"`
	LogURL   string          `json:"log_url,omitempty"`
	Log      []LogLine       `json:"log,omitempty"`
}

// StepRecord is one step's outcome.
type StepRecord struct {
	Name       string    `json:"name"`
	State      string    `json:"state"` // running | done | skipped | failed
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Message    string    `json:"message,omitempty"`
}

// AirflowSummary is what the DAG sync did.
type AirflowSummary struct {
	Uploaded      int      `json:"uploaded"`
	Deleted       int      `json:"deleted"`
	BytesUploaded int64    `json:"bytes_uploaded"`
	EnvFiles      []string `json:"env_files_changed,omitempty"`
	MWAAUpdated   bool     `json:"mwaa_updated,omitempty"`
	MWAAStatus    string   `json:"mwaa_status,omitempty"`
	Digest        string   `json:"digest"`
	// Kept are the DAG objects no Conveyor deployment wrote, left in place
	// because the environment sets airflow.keep_unknown_objects.
	Kept []string `json:"kept,omitempty"`
}

// SmokeResult is one smoke test's outcome.
type SmokeResult struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Skipped tests could not run here (a table the environment lacks); they
	// count as passed.
	Skipped bool   `json:"skipped,omitempty"`
	Rows    int    `json:"rows,omitempty"`
	Output  string `json:"output,omitempty"`
}

// DagRunWindow names DAGs and the window in which runs used the bad code.
type DagRunWindow struct {
	DAGs  []string  `json:"dags"`
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
}

// RollbackRecord says how a failed deployment was undone.
type RollbackRecord struct {
	Cause      string   `json:"cause"`
	ToRelease  string   `json:"to_release,omitempty"`
	Restored   []string `json:"restored_schemas,omitempty"`
	DAGsSynced bool     `json:"dags_synced"`
}

// LogLine is one line of the deployment log.
type LogLine struct {
	At      time.Time `json:"at"`
	Step    string    `json:"step,omitempty"`
	Message string    `json:"message"`
}

func (d *Deployment) record() (store.Deployment, error) {
	b, err := json.Marshal(d.Details)
	if err != nil {
		return store.Deployment{}, fmt.Errorf("deploy: encoding details of %s: %w", d.ID, err)
	}
	return store.Deployment{
		ID: d.ID, Repo: d.Repo, ReleaseID: d.ReleaseID, Env: d.Env, Kind: d.Kind, State: d.State, Step: d.Step,
		Actor: d.Actor, Reason: d.Reason, BreakGlass: d.BreakGlass, GitHubID: d.GitHubID, Token: d.token,
		Details: b, Error: d.Error, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, FinishedAt: d.FinishedAt,
	}, nil
}

func fromRecord(r store.Deployment) (*Deployment, error) {
	d := &Deployment{
		ID: r.ID, Repo: r.Repo, ReleaseID: r.ReleaseID, Env: r.Env, Kind: r.Kind, State: r.State, Step: r.Step,
		Actor: r.Actor, Reason: r.Reason, BreakGlass: r.BreakGlass, GitHubID: r.GitHubID, token: r.Token,
		Error: r.Error, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt,
	}
	if err := json.Unmarshal(r.Details, &d.Details); err != nil {
		return nil, fmt.Errorf("deploy: reading details of %s: %w", r.ID, err)
	}
	return d, nil
}

func (d *Deployment) logf(now time.Time, step, format string, args ...any) {
	d.Details.Log = append(d.Details.Log, LogLine{At: now, Step: step, Message: fmt.Sprintf(format, args...)})
}

// stepState returns the record of the named step, if started.
func (d *Deployment) stepRecord(name string) *StepRecord {
	for i := range d.Details.Steps {
		if d.Details.Steps[i].Name == name {
			return &d.Details.Steps[i]
		}
	}
	return nil
}
