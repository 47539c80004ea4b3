package githubemu

import (
	"context"
	"testing"

	"github.com/google/go-github/v74/github"
)

func TestCommentsReactionsLabelsReviews(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.repo.Commit("feature", map[string]string{"dags/daily.py": "v2\n"}, "edit", "bob")
	pr := f.repo.OpenPullRequest(PROptions{Head: "feature", Title: "Daily DAG v2", Author: "bob"})
	user := pr.Comment("carol", "/deploy staging")

	c := must[*github.IssueComment](t)(f.gh.Issues.CreateComment(ctx, "parcelflow", "data-platform", pr.Number, &github.IssueComment{Body: github.Ptr("Deploying…")}))
	if c.GetUser().GetLogin() != "conveyor[bot]" || c.GetUser().GetType() != "Bot" {
		t.Errorf("comment author = %s (%s)", c.GetUser().GetLogin(), c.GetUser().GetType())
	}
	must[*github.IssueComment](t)(f.gh.Issues.EditComment(ctx, "parcelflow", "data-platform", c.GetID(), &github.IssueComment{Body: github.Ptr("Deployed")}))
	if _, resp, _ := f.gh.Issues.EditComment(ctx, "parcelflow", "data-platform", user.ID, &github.IssueComment{Body: github.Ptr("hijack")}); resp.StatusCode != 403 {
		t.Errorf("editing a user's comment = %d, want 403", resp.StatusCode)
	}

	_, first, err := f.gh.Reactions.CreateIssueCommentReaction(ctx, "parcelflow", "data-platform", user.ID, "eyes")
	if err != nil || first.StatusCode != 201 {
		t.Fatalf("first reaction = %v %v", first.StatusCode, err)
	}
	_, again, err := f.gh.Reactions.CreateIssueCommentReaction(ctx, "parcelflow", "data-platform", user.ID, "eyes")
	if err != nil || again.StatusCode != 200 {
		t.Errorf("repeat reaction = %v %v, want 200", again.StatusCode, err)
	}
	if _, resp, _ := f.gh.Reactions.CreateIssueCommentReaction(ctx, "parcelflow", "data-platform", user.ID, "party"); resp.StatusCode != 422 {
		t.Errorf("bad reaction = %d", resp.StatusCode)
	}

	comments := pr.Comments()
	if len(comments) != 2 || comments[1].Body != "Deployed" || len(comments[0].Reactions) != 1 || comments[0].Reactions[0].Content != "eyes" {
		t.Errorf("comments = %+v", comments)
	}
	listed := must[[]*github.IssueComment](t)(f.gh.Issues.ListComments(ctx, "parcelflow", "data-platform", pr.Number, nil))
	if len(listed) != 2 || listed[0].GetAuthorAssociation() != "NONE" || listed[0].GetReactions().GetTotalCount() != 1 {
		t.Errorf("listed = %d, association %s", len(listed), listed[0].GetAuthorAssociation())
	}

	must[[]*github.Label](t)(f.gh.Issues.AddLabelsToIssue(ctx, "parcelflow", "data-platform", pr.Number, []string{"risk:high", "dbt"}))
	labels := must[[]*github.Label](t)(f.gh.Issues.ListLabelsByIssue(ctx, "parcelflow", "data-platform", pr.Number, nil))
	if len(labels) != 2 || pr.Labels()[0] != "risk:high" {
		t.Errorf("labels = %v", pr.Labels())
	}
	if _, err := f.gh.Issues.RemoveLabelForIssue(ctx, "parcelflow", "data-platform", pr.Number, "dbt"); err != nil || len(pr.Labels()) != 1 {
		t.Errorf("remove label: %v, %v", err, pr.Labels())
	}

	pr.Review("dave", "APPROVED", "lgtm")
	must[*github.PullRequestReview](t)(f.gh.PullRequests.CreateReview(ctx, "parcelflow", "data-platform", pr.Number, &github.PullRequestReviewRequest{Event: github.Ptr("COMMENT"), Body: github.Ptr("risk: low")}))
	reviews := must[[]*github.PullRequestReview](t)(f.gh.PullRequests.ListReviews(ctx, "parcelflow", "data-platform", pr.Number, nil))
	if len(reviews) != 2 || reviews[0].GetState() != "APPROVED" || reviews[0].GetCommitID() != pr.HeadSHA() || reviews[1].GetUser().GetLogin() != "conveyor[bot]" {
		t.Errorf("reviews = %+v", reviews)
	}
	pr.DismissReview(reviews[0].GetID(), "alice")
	if pr.Reviews()[0].State != "DISMISSED" {
		t.Errorf("dismissed review state = %s", pr.Reviews()[0].State)
	}
}

func TestPermissionsAndAssociation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.repo.SetPermission("wendy", "write")
	f.repo.SetPermission("mia", "maintain")
	f.emu.AddTeam("parcelflow", "data-eng", "erin")
	tests := []struct {
		user, perm, role, assoc string
	}{
		{"wendy", "write", "write", "COLLABORATOR"},
		{"mia", "write", "maintain", "COLLABORATOR"},
		{"stranger", "none", "none", "NONE"},
		{"parcelflow", "admin", "admin", "OWNER"},
		{"erin", "none", "none", "MEMBER"},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			p := must[*github.RepositoryPermissionLevel](t)(f.gh.Repositories.GetPermissionLevel(ctx, "parcelflow", "data-platform", tc.user))
			if p.GetPermission() != tc.perm || p.GetRoleName() != tc.role {
				t.Errorf("permission = %s/%s, want %s/%s", p.GetPermission(), p.GetRoleName(), tc.perm, tc.role)
			}
			f.emu.mu.Lock()
			got := f.repo.authorAssociation(tc.user)
			f.emu.mu.Unlock()
			if got != tc.assoc {
				t.Errorf("association = %s, want %s", got, tc.assoc)
			}
		})
	}
}
