package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// PullRequest runs the checks when a pull request's code or base may have
// changed, and decides the conveyor/policy check once they are done.
type PullRequest struct {
	*Base
}

var _ githubapp.EventHandler = &PullRequest{}

// Handles names the event.
func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle runs every applicable check at the PR's head SHA against its base branch.
func (h *PullRequest) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.PullRequestEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding pull_request event %s: %w", deliveryID, err)
	}
	switch ev.GetAction() {
	case "opened", "synchronize", "reopened", "ready_for_review":
	case "edited":
		// A new base branch brings its own config, owners and diff.
		if ev.GetChanges().GetBase() == nil {
			return nil
		}
	default:
		return nil
	}
	pr := ev.GetPullRequest()
	ctx, _ = githubapp.PreparePRContext(h.withLogger(ctx, eventType, deliveryID), ev.GetInstallation().GetID(), ev.GetRepo(), pr.GetNumber())
	return h.Evaluate(ctx, Target{
		InstallationID: ev.GetInstallation().GetID(),
		Owner:          ev.GetRepo().GetOwner().GetLogin(),
		Repo:           ev.GetRepo().GetName(),
		HeadSHA:        pr.GetHead().GetSHA(),
		BaseRef:        pr.GetBase().GetSHA(),
		DeliveryID:     deliveryID,
		PR: &PRContext{Number: pr.GetNumber(), Author: pr.GetUser().GetLogin(), Head: pr.GetHead().GetSHA(),
			BaseRef: pr.GetBase().GetRef(), Sender: ev.GetSender().GetLogin()},
	})
}
