package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// CheckSuite runs every check when GitHub asks for the app's suite on a
// commit (after a push) or a user clicks "Re-run all checks".
//
// GitHub asks for the suite after every push, including pushes to a pull
// request's branch and to the merge queue's branches, which pull_request and
// merge_group already cover. A "requested" suite is therefore run only for
// commits nothing else checks; "rerequested" is a person asking, and always runs.
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
	ctx, logger := githubapp.PreparePRContext(h.withLogger(ctx, eventType, deliveryID), ev.GetInstallation().GetID(), ev.GetRepo(), firstPRNumber(suite.PullRequests))
	if ev.GetAction() == "requested" {
		if why := h.checkedElsewhere(ctx, &ev); why != "" {
			logger.Debug().Str("sha", suite.GetHeadSHA()).Str("head_branch", suite.GetHeadBranch()).
				Msg("check suite requested for a commit " + why + "; not run twice")
			return nil
		}
	}
	err := h.Evaluate(ctx, Target{
		InstallationID: ev.GetInstallation().GetID(),
		Owner:          ev.GetRepo().GetOwner().GetLogin(),
		Repo:           ev.GetRepo().GetName(),
		HeadSHA:        suite.GetHeadSHA(),
		BaseRef:        baseFor(suite.PullRequests, ev.GetRepo()),
		DeliveryID:     deliveryID,
	})
	if prs := suite.PullRequests; ev.GetAction() == "rerequested" && h.policyEnabled() && len(prs) > 0 && prs[0].GetHead().GetSHA() == suite.GetHeadSHA() {
		// "Re-run all checks" re-runs the policy too: the checks' results may
		// raise or drop an approval requirement.
		err = errors.Join(err, h.reevaluatePR(ctx, ev.GetInstallation().GetID(), ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName(),
			prs[0].GetNumber(), ev.GetSender().GetLogin(), deliveryID))
	}
	return err
}

// mergeQueuePrefix starts the branches GitHub's merge queue builds.
const mergeQueuePrefix = "gh-readonly-queue/"

// checkedElsewhere says why a requested suite's commit is already checked by
// another event, or "" when this suite is the only trigger (a push to a
// branch with no open pull request, the default branch included).
func (h *CheckSuite) checkedElsewhere(ctx context.Context, ev *github.CheckSuiteEvent) string {
	suite := ev.GetCheckSuite()
	if strings.HasPrefix(strings.TrimPrefix(suite.GetHeadBranch(), "refs/heads/"), mergeQueuePrefix) {
		return "on the merge queue (merge_group runs its checks)"
	}
	if len(suite.PullRequests) > 0 {
		return "at the head of an open pull request (pull_request runs its checks)"
	}
	// GitHub leaves pull_requests empty when the head branch lives in a fork,
	// so ask which open pull requests have this commit as their head.
	owner, repo, sha := ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName(), suite.GetHeadSHA()
	gh, err := h.deps.Clients.NewInstallationClient(ev.GetInstallation().GetID())
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not look up pull requests for the suite's commit; running its checks")
		return ""
	}
	opts := &github.ListOptions{PerPage: 100}
	for {
		var prs []*github.PullRequest
		var resp *github.Response
		err := h.deps.Retry.Do(ctx, "listing pull requests with commit "+sha, func(ctx context.Context) (*github.Response, error) {
			var err error
			prs, resp, err = gh.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, opts)
			return resp, err
		})
		if err != nil {
			// Running the checks twice beats not running them.
			zerolog.Ctx(ctx).Warn().Err(err).Msg("could not look up pull requests for the suite's commit; running its checks")
			return ""
		}
		for _, pr := range prs {
			if pr.GetState() == "open" && pr.GetHead().GetSHA() == sha {
				return fmt.Sprintf("at the head of open pull request #%d (pull_request runs its checks)", pr.GetNumber())
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return ""
		}
		opts.Page = resp.NextPage
	}
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
