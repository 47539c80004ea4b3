package timeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v74/github"
)

// DeploymentRequest is a GitHub deployment of one release to one environment.
type DeploymentRequest struct {
	// Ref is the exact commit SHA deployed.
	Ref         string
	Environment string
	// Payload is JSON-encoded into the deployment (release ID, manifest digest …).
	Payload               any
	Description           string
	ProductionEnvironment bool
	TransientEnvironment  bool
}

// Deployment status states, in GitHub's words.
var deploymentStates = map[string]bool{"error": true, "failure": true, "inactive": true, "in_progress": true, "queued": true, "pending": true, "success": true}

// CreateDeployment records a deployment on GitHub and returns its ID. Conveyor
// gates deployments itself, so GitHub is asked neither to merge the default
// branch in (auto_merge false) nor to check statuses (no required contexts).
func (w *Writer) CreateDeployment(ctx context.Context, d DeploymentRequest) (int64, error) {
	if d.Ref == "" || d.Environment == "" {
		return 0, fmt.Errorf("creating deployment on %s: ref and environment are required", w.where())
	}
	req := &github.DeploymentRequest{
		Ref:                   github.Ptr(d.Ref),
		Environment:           github.Ptr(d.Environment),
		AutoMerge:             github.Ptr(false),
		RequiredContexts:      &[]string{},
		ProductionEnvironment: github.Ptr(d.ProductionEnvironment),
		TransientEnvironment:  github.Ptr(d.TransientEnvironment),
	}
	if d.Description != "" {
		req.Description = github.Ptr(TruncateLine(w.red(d.Description), MaxDeploymentDescription))
	}
	if d.Payload != nil {
		raw, err := json.Marshal(d.Payload)
		if err != nil {
			return 0, fmt.Errorf("creating deployment on %s: encoding payload: %w", w.where(), err)
		}
		req.Payload = json.RawMessage(w.red(string(raw)))
	}
	var dep *github.Deployment
	err := w.do(ctx, fmt.Sprintf("creating deployment of %s to %s", d.Ref, d.Environment), func(ctx context.Context) (resp *github.Response, err error) {
		dep, resp, err = w.gh.Repositories.CreateDeployment(ctx, w.owner, w.repo, req)
		return resp, err
	})
	if err != nil {
		return 0, err
	}
	return dep.GetID(), nil
}

// SetDeploymentStatus adds a status to a deployment: state is one of queued,
// pending, in_progress, success, failure, error, inactive. Empty URLs are left out.
func (w *Writer) SetDeploymentStatus(ctx context.Context, id int64, state, logURL, description, environmentURL string) error {
	if !deploymentStates[state] {
		return fmt.Errorf("setting status of deployment %d: %q is not a deployment state", id, state)
	}
	req := &github.DeploymentStatusRequest{State: github.Ptr(state)}
	if logURL != "" {
		req.LogURL = w.redp(logURL)
	}
	if environmentURL != "" {
		req.EnvironmentURL = w.redp(environmentURL)
	}
	if description != "" {
		req.Description = github.Ptr(TruncateLine(w.red(description), MaxDeploymentDescription))
	}
	return w.do(ctx, fmt.Sprintf("setting deployment %d to %s", id, state), func(ctx context.Context) (resp *github.Response, err error) {
		_, resp, err = w.gh.Repositories.CreateDeploymentStatus(ctx, w.owner, w.repo, id, req)
		return resp, err
	})
}
