package deploy

import (
	"context"
	"fmt"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/timeline"
)

// TimelineReporter mirrors deployments to GitHub through the timeline
// writer (the only writer to GitHub): environment = env name, ref = SHA,
// payload = release ID, so each shows on the PR and in the Environments.
type TimelineReporter struct {
	W      *timeline.Writer
	Config *config.RepoConfig
}

var _ Reporter = (*TimelineReporter)(nil)

// Payload is the JSON payload of a GitHub deployment Conveyor creates.
type Payload struct {
	Release    string `json:"release"`
	Deployment string `json:"deployment"`
	Kind       string `json:"kind"`
	PR         int    `json:"pr,omitempty"`
	RolledBack string `json:"rolled_back_release,omitempty"`
}

// Created creates the GitHub deployment.
func (r *TimelineReporter) Created(ctx context.Context, d *Deployment) (int64, error) {
	prod := r.Config.IsLast(d.Env)
	desc := fmt.Sprintf("%s %s by @%s", d.Kind, release.Short(d.ReleaseID), d.Actor)
	return r.W.CreateDeployment(ctx, timeline.DeploymentRequest{
		Ref: d.Details.SHA, Environment: d.Env, ProductionEnvironment: prod, Description: desc,
		Payload: Payload{Release: d.ReleaseID, Deployment: d.ID, Kind: d.Kind, PR: d.Details.PR, RolledBack: d.Details.RolledBackRelease},
	})
}

// Status adds a deployment status.
func (r *TimelineReporter) Status(ctx context.Context, ghID int64, state, desc, logURL string) error {
	return r.W.SetDeploymentStatus(ctx, ghID, state, logURL, desc, "")
}
