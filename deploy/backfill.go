package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/parcelflow/conveyor/deploy/airflow"
	"github.com/parcelflow/conveyor/deploy/identity"
)

// ErrNoScheduler refuses a backfill in an environment with no MWAA
// scheduler to reach (embedded defaults, or MWAA calls turned off).
var ErrNoScheduler = errors.New("no Airflow scheduler is reachable in this environment")

// BackfillRequest asks for a DAG's runs over a window of logical dates.
type BackfillRequest struct {
	Env string
	airflow.Backfill
	// Actor is the GitHub login behind the backfill; the AWS session carries it.
	Actor string
	PR    int
}

// Backfill starts a backfill in the environment's MWAA as the person who
// asked (their login is the STS SourceIdentity), refusing when runs of the
// window are in flight. It changes no release and takes no lock: deploys
// and backfills of the same environment do not wait for one another.
func (e *Engine) Backfill(ctx context.Context, req BackfillRequest) (*airflow.BackfillResult, error) {
	env, ok := e.opts.Config.Environment(req.Env)
	if !ok {
		return nil, fmt.Errorf("deploy: unknown environment %q", req.Env)
	}
	t, err := e.opts.Targets.Open(ctx, env, identity.Session{Actor: req.Actor, PR: req.PR, Reason: "backfill"})
	if err != nil {
		return nil, err
	}
	if t.Close != nil {
		defer t.Close()
	}
	if t.AirflowCLI == nil || t.AirflowTarget.MWAAEnvironment == "" {
		return nil, fmt.Errorf("deploy: %w: %s has no MWAA environment Conveyor may call", ErrNoScheduler, env.Name)
	}
	return t.AirflowCLI.Backfill(ctx, t.AirflowTarget.MWAAEnvironment, req.Backfill)
}
