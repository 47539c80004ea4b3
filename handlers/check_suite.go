package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// CheckSuite runs every check when GitHub asks for the app's suite on a
// commit (after a push) or a user clicks "Re-run all checks".
type CheckSuite struct {
	*Base
}

var _ githubapp.EventHandler = &CheckSuite{}

// Handles names the event.
func (h *CheckSuite) Handles() []string { return []string{"check_suite"} }

// Handle runs every applicable check at the suite's head SHA.
func (h *CheckSuite) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.CheckSuiteEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding check_suite event %s: %w", deliveryID, err)
	}
	switch ev.GetAction() {
	case "requested", "rerequested":
	default:
		return nil
	}
	suite := ev.GetCheckSuite()
	if suite == nil || !h.ours(suite.GetApp()) {
		return nil
	}
	ctx, _ = githubapp.PreparePRContext(h.withLogger(ctx, eventType, deliveryID), ev.GetInstallation().GetID(), ev.GetRepo(), firstPRNumber(suite.PullRequests))
	return h.Evaluate(ctx, Target{
		InstallationID: ev.GetInstallation().GetID(),
		Owner:          ev.GetRepo().GetOwner().GetLogin(),
		Repo:           ev.GetRepo().GetName(),
		HeadSHA:        suite.GetHeadSHA(),
		BaseRef:        baseFor(suite.PullRequests, ev.GetRepo()),
		DeliveryID:     deliveryID,
	})
}

// baseFor is what a suite's commit is compared with: the base of the first
// pull request whose head it is, else the default branch.
func baseFor(prs []*github.PullRequest, repo *github.Repository) string {
	for _, pr := range prs {
		if sha := pr.GetBase().GetSHA(); sha != "" {
			return sha
		}
	}
	if b := repo.GetDefaultBranch(); b != "" {
		return b
	}
	return "HEAD"
}

func firstPRNumber(prs []*github.PullRequest) int {
	if len(prs) > 0 {
		return prs[0].GetNumber()
	}
	return 0
}
