package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// PullRequestReview decides the conveyor/policy check again when a review is
// submitted, edited or dismissed. The other checks do not run again: their
// approval requirements at the head commit come from the store.
type PullRequestReview struct {
	*Base
}

var _ githubapp.EventHandler = &PullRequestReview{}

// Handles names the event.
func (h *PullRequestReview) Handles() []string { return []string{"pull_request_review"} }

// Handle re-decides the policy at the PR's head.
func (h *PullRequestReview) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.PullRequestReviewEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding pull_request_review event %s: %w", deliveryID, err)
	}
	switch ev.GetAction() {
	case "submitted", "dismissed", "edited":
	default:
		return nil
	}
	pr := ev.GetPullRequest()
	ctx, logger := githubapp.PreparePRContext(h.withLogger(ctx, eventType, deliveryID), ev.GetInstallation().GetID(), ev.GetRepo(), pr.GetNumber())
	if !h.policyEnabled() {
		logger.Debug().Msg("review ignored: no policy store configured")
		return nil
	}
	if pr.GetState() != "" && pr.GetState() != "open" {
		return nil
	}
	owner, repo := ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName()
	w, err := h.writer(ev.GetInstallation().GetID(), owner, repo)
	if err != nil {
		return err
	}
	return h.evaluatePolicy(ctx, w, policyTarget{InstallationID: ev.GetInstallation().GetID(), Owner: owner, Repo: repo, Number: pr.GetNumber(),
		SHA: pr.GetHead().GetSHA(), PRHead: pr.GetHead().GetSHA(), BaseRef: pr.GetBase().GetRef(), Author: pr.GetUser().GetLogin(),
		Sender: ev.GetSender().GetLogin(), DeliveryID: deliveryID})
}
