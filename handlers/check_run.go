package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/policy"
)

// CheckRun re-runs one check when a user clicks its "Re-run" (for
// conveyor/policy, decides it again), runs the command behind a button on
// the conveyor/policy run, and passes other button presses
// (requested_action) to the configured ActionHandler.
type CheckRun struct {
	*Base
}

var _ githubapp.EventHandler = &CheckRun{}

// Handles names the event.
func (h *CheckRun) Handles() []string { return []string{"check_run"} }

// Handle re-runs only the named check at the run's SHA.
func (h *CheckRun) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.CheckRunEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding check_run event %s: %w", deliveryID, err)
	}
	run := ev.GetCheckRun()
	if run == nil || !h.ours(run.GetApp()) {
		return nil
	}
	prs := run.PullRequests
	if suite := run.GetCheckSuite(); len(prs) == 0 && suite != nil {
		prs = suite.PullRequests
	}
	ctx, logger := githubapp.PreparePRContext(h.withLogger(ctx, eventType, deliveryID), ev.GetInstallation().GetID(), ev.GetRepo(), firstPRNumber(prs))
	switch ev.GetAction() {
	case "rerequested":
		if run.GetName() == policy.PolicyCheckName && h.policyEnabled() && len(prs) > 0 {
			return h.reevaluatePR(ctx, ev.GetInstallation().GetID(), ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName(),
				prs[0].GetNumber(), ev.GetSender().GetLogin(), deliveryID)
		}
		if _, ok := h.deps.Registry.Get(run.GetName()); !ok {
			logger.Info().Str("check", run.GetName()).Msg("re-run asked for a check this server does not have; ignored")
			return nil
		}
		err := h.Evaluate(ctx, Target{
			InstallationID: ev.GetInstallation().GetID(),
			Owner:          ev.GetRepo().GetOwner().GetLogin(),
			Repo:           ev.GetRepo().GetName(),
			HeadSHA:        run.GetHeadSHA(),
			BaseRef:        baseFor(prs, ev.GetRepo()),
			DeliveryID:     deliveryID,
			Only:           run.GetName(),
		})
		if h.policyEnabled() && len(prs) > 0 && prs[0].GetHead().GetSHA() == run.GetHeadSHA() {
			// The re-run may raise or drop an approval requirement.
			err = errors.Join(err, h.reevaluatePR(ctx, ev.GetInstallation().GetID(), ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName(),
				prs[0].GetNumber(), ev.GetSender().GetLogin(), deliveryID))
		}
		return err
	case "requested_action":
		if handled, err := h.commandPress(ctx, logger, &ev, deliveryID); handled {
			return err
		}
		return h.requestedAction(ctx, logger, &ev)
	}
	return nil
}

func (h *CheckRun) requestedAction(ctx context.Context, logger zerolog.Logger, ev *github.CheckRunEvent) error {
	if h.deps.Actions == nil {
		logger.Info().Str("action", ev.GetRequestedAction().Identifier).Msg("check run action pressed but no action handler is configured; ignored")
		return nil
	}
	w, err := h.writer(ev.GetInstallation().GetID(), ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName())
	if err != nil {
		return err
	}
	return h.deps.Actions.HandleAction(ctx, w, ev)
}
