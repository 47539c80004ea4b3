package githubemu

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-github/v74/github"
)

func TestListPullRequestsWithCommit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	numbers := func(sha string) []int {
		t.Helper()
		prs := must[[]*github.PullRequest](t)(f.gh.PullRequests.ListPullRequestsWithCommit(ctx, "parcelflow", "data-platform", sha, nil))
		var out []int
		for _, pr := range prs {
			out = append(out, pr.GetNumber())
		}
		return out
	}
	f.repo.CreateBranch("feature", "main")
	first := f.repo.Commit("feature", map[string]string{"dags/daily.py": "x = 1\n"}, "one", "alice")
	f.repo.Commit("feature", map[string]string{"dags/daily.py": "x = 2\n"}, "two", "alice")
	pr := f.repo.OpenPullRequest(PROptions{Head: "feature", Author: "alice"})
	f.repo.CreateBranch("contrib", "main")
	forkHead := f.repo.Commit("contrib", map[string]string{"models/orders.sql": "select 2\n"}, "fork", "bob")
	fork := f.repo.OpenPullRequest(PROptions{Head: "contrib", Author: "bob", Fork: true})
	f.repo.CreateBranch("lonely", "main")
	lonely := f.repo.Commit("lonely", map[string]string{"README.md": "hi\n"}, "no PR", "alice")

	if got := numbers(pr.HeadSHA()); !slices.Equal(got, []int{pr.Number}) {
		t.Errorf("PRs with the head commit = %v, want [%d]", got, pr.Number)
	}
	if got := numbers(first); !slices.Equal(got, []int{pr.Number}) {
		t.Errorf("PRs with an earlier commit of the branch = %v, want [%d]", got, pr.Number)
	}
	if got := numbers(forkHead); !slices.Equal(got, []int{fork.Number}) {
		t.Errorf("PRs with a fork's head commit = %v, want [%d]: forks are listed here though not in check suites", got, fork.Number)
	}
	if got := numbers(lonely); len(got) != 0 {
		t.Errorf("PRs with a commit no PR holds = %v, want none", got)
	}
	merge := pr.Merge("alice")
	if got := numbers(merge); !slices.Equal(got, []int{pr.Number}) {
		t.Errorf("PRs with the merge commit = %v, want the merged PR [%d]", got, pr.Number)
	}
	if got := numbers(first); !slices.Equal(got, []int{pr.Number}) {
		t.Errorf("PRs with a merged commit = %v, want the merged PR [%d]", got, pr.Number)
	}
	if u := f.emu.UnmatchedCalls(); len(u) > 0 {
		t.Errorf("unrouted calls: %+v", u)
	}
}

func TestMergeQueueRequestsTheSuiteWhenPushesDo(t *testing.T) {
	emu := New(Options{CheckSuiteOnPush: true})
	repo := emu.CreateRepo("parcelflow", "data-platform", "main")
	repo.Commit("main", map[string]string{"README.md": "hello\n"}, "initial", "alice")
	repo.CreateBranch("feature", "main")
	repo.Commit("feature", map[string]string{"README.md": "hello again\n"}, "edit", "alice")
	pr := repo.OpenPullRequest(PROptions{Head: "feature", Author: "alice"})
	emu.ResetDeliveries()
	mg := pr.EnqueueMergeGroup("alice")
	var events []string
	for _, d := range emu.Deliveries() {
		events = append(events, d.Event+"/"+d.Action)
	}
	if !slices.Equal(events, []string{"merge_group/checks_requested", "check_suite/requested"}) {
		t.Fatalf("webhooks for a queued PR = %v", events)
	}
	d, _ := emu.LastDelivery("check_suite")
	var ev github.CheckSuiteEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if s := ev.GetCheckSuite(); s.GetHeadSHA() != mg.HeadSHA || s.GetHeadBranch() != mg.HeadRef[len("refs/heads/"):] {
		t.Fatalf("suite at %s on %q, want the queue commit %s on %s", s.GetHeadSHA(), s.GetHeadBranch(), mg.HeadSHA, mg.HeadRef)
	}
}
