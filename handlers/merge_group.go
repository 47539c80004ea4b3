package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// MergeGroup runs the checks on a merge queue entry. The queue's head commit
// holds the PR merged onto the base with every entry ahead of it, so the real
// checks run there; nothing passes without running.
type MergeGroup struct {
	*Base
}

var _ githubapp.EventHandler = &MergeGroup{}

// Handles names the event.
func (h *MergeGroup) Handles() []string { return []string{"merge_group"} }

// Handle runs every applicable check at the merge group's head SHA against its base SHA.
func (h *MergeGroup) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.MergeGroupEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding merge_group event %s: %w", deliveryID, err)
	}
	if ev.GetAction() != "checks_requested" {
		return nil
	}
	mg := ev.GetMergeGroup()
	ctx, _ = githubapp.PrepareRepoContext(h.withLogger(ctx, eventType, deliveryID), ev.GetInstallation().GetID(), ev.GetRepo())
	// The policy is decided again for the queued commit, from the PR's
	// reviews; a queue branch naming no PR is decided as a failure.
	number, head := queuedPR(mg.GetHeadRef())
	return h.Evaluate(ctx, Target{
		InstallationID: ev.GetInstallation().GetID(),
		Owner:          ev.GetRepo().GetOwner().GetLogin(),
		Repo:           ev.GetRepo().GetName(),
		HeadSHA:        mg.GetHeadSHA(),
		BaseRef:        mg.GetBaseSHA(),
		DeliveryID:     deliveryID,
		PR:             &PRContext{Number: number, Head: head, BaseRef: mg.GetBaseSHA(), Sender: ev.GetSender().GetLogin()},
	})
}

// queuedPR reads the PR number and its queued head commit from a merge
// queue branch, "refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>".
func queuedPR(ref string) (int, string) {
	i := strings.LastIndex(ref, "/pr-")
	if i < 0 {
		return 0, ""
	}
	num, sha, ok := strings.Cut(ref[i+len("/pr-"):], "-")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 {
		return 0, ""
	}
	return n, sha
}
