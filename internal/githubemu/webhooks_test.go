package githubemu

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v74/github"
)

// receiver verifies and decodes webhooks the way a go-github based server does.
type receiver struct {
	mu     sync.Mutex
	secret string
	got    []any
	ids    []string
	agents []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := github.ValidatePayload(r, []byte(rc.secret))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	ev, err := github.ParseWebHook(github.WebHookType(r), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, ev)
	rc.ids = append(rc.ids, github.DeliveryID(r))
	rc.agents = append(rc.agents, r.UserAgent())
	rc.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func TestUserActionsDeliverSignedWebhooks(t *testing.T) {
	f := newFixture(t)
	rc := &receiver{secret: "s3cret"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	f.emu.SetWebhookTarget(hook.URL, "s3cret")

	f.repo.Commit("feature", map[string]string{"dags/daily.py": "v2\n"}, "edit", "bob")
	pr := f.repo.OpenPullRequest(PROptions{Head: "feature", Author: "bob", Fork: true, Draft: true})
	head2 := f.repo.Commit("feature", map[string]string{"dags/daily.py": "v3\n"}, "edit again", "bob")
	c := pr.Comment("carol", "/deploy staging")
	f.emu.EditComment(c.ID, "carol", "/deploy prod")
	pr.Review("dave", "APPROVED", "")
	f.repo.RequestCheckSuite(head2, "bob")
	mg := pr.EnqueueMergeGroup("dave")
	merge := pr.Merge("dave")
	f.emu.AddTeam("parcelflow", "sre", "sam")

	for _, d := range f.emu.Deliveries() {
		if d.URL != "" && d.Status != http.StatusAccepted {
			t.Errorf("delivery %s %s/%s answered %d: %v", d.ID, d.Event, d.Action, d.Status, d.Err)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	type seen struct{ kind, action string }
	var order []seen
	for _, ev := range rc.got {
		switch e := ev.(type) {
		case *github.PushEvent:
			order = append(order, seen{"push", e.GetRef()})
		case *github.PullRequestEvent:
			order = append(order, seen{"pull_request", e.GetAction()})
			if e.GetInstallation().GetID() != f.emu.InstallationID() || e.GetRepo().GetFullName() != "parcelflow/data-platform" {
				t.Errorf("pull_request envelope = %+v", e)
			}
			if e.GetAction() == "opened" {
				p := e.GetPullRequest()
				if !p.GetDraft() || p.GetHead().GetRepo().GetFullName() != "bob/data-platform" || !p.GetHead().GetRepo().GetFork() || p.GetBase().GetRef() != "main" || p.GetUser().GetLogin() != "bob" {
					t.Errorf("opened PR = head %s fork %v draft %v", p.GetHead().GetRepo().GetFullName(), p.GetHead().GetRepo().GetFork(), p.GetDraft())
				}
			}
			if e.GetAction() == "synchronize" && (e.GetPullRequest().GetHead().GetSHA() != head2 || e.GetAfter() != head2) {
				t.Errorf("synchronize head = %s, want %s", e.GetPullRequest().GetHead().GetSHA(), head2)
			}
			if e.GetAction() == "closed" && (!e.GetPullRequest().GetMerged() || e.GetPullRequest().GetMergeCommitSHA() != merge) {
				t.Errorf("closed PR not merged")
			}
		case *github.IssueCommentEvent:
			order = append(order, seen{"issue_comment", e.GetAction()})
			if e.GetComment().GetUser().GetLogin() != "carol" || !e.GetIssue().IsPullRequest() || e.GetSender().GetType() != "User" {
				t.Errorf("issue_comment = %+v", e.GetComment())
			}
			if e.GetAction() == "edited" && e.GetChanges().GetBody().GetFrom() != "/deploy staging" {
				t.Errorf("edited changes.body.from = %q", e.GetChanges().GetBody().GetFrom())
			}
		case *github.PullRequestReviewEvent:
			order = append(order, seen{"pull_request_review", e.GetReview().GetState()})
		case *github.CheckSuiteEvent:
			order = append(order, seen{"check_suite", e.GetAction()})
			if e.GetCheckSuite().GetHeadSHA() != head2 || len(e.GetCheckSuite().PullRequests) != 0 {
				// Fork PRs are not listed in check suites, as on GitHub.
				t.Errorf("check_suite = %s, %d PRs", e.GetCheckSuite().GetHeadSHA(), len(e.GetCheckSuite().PullRequests))
			}
		case *github.MergeGroupEvent:
			order = append(order, seen{"merge_group", e.GetAction()})
			if e.GetMergeGroup().GetHeadSHA() != mg.HeadSHA || !strings.HasPrefix(e.GetMergeGroup().GetHeadRef(), "refs/heads/gh-readonly-queue/main/pr-1-") {
				t.Errorf("merge_group = %+v", e.GetMergeGroup())
			}
		case *github.TeamEvent:
			order = append(order, seen{"team", e.GetAction()})
		case *github.MembershipEvent:
			order = append(order, seen{"membership", e.GetAction() + ":" + e.GetMember().GetLogin()})
		default:
			t.Errorf("unexpected event %T", ev)
		}
	}
	want := []seen{
		{"push", "refs/heads/feature"}, {"pull_request", "opened"}, {"push", "refs/heads/feature"}, {"pull_request", "synchronize"},
		{"issue_comment", "created"}, {"issue_comment", "edited"}, {"pull_request_review", "APPROVED"}, {"check_suite", "requested"},
		{"merge_group", "checks_requested"}, {"pull_request", "closed"}, {"push", "refs/heads/main"}, {"team", "created"}, {"membership", "added:sam"},
	}
	if len(order) != len(want) {
		t.Fatalf("events = %v\nwant     %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Errorf("event %d = %v, want %v", i, order[i], want[i])
		}
	}
	if !strings.HasPrefix(rc.agents[0], "GitHub-Hookshot/") {
		t.Errorf("user agent = %q", rc.agents[0])
	}
	if files := f.repo.Files("main"); files["dags/daily.py"] != "v3\n" {
		t.Errorf("merged main has %q", files["dags/daily.py"])
	}
}

func TestDeliverSignaturesAndRedelivery(t *testing.T) {
	f := newFixture(t)
	rc := &receiver{secret: "s3cret"}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	f.repo.Commit("feature", map[string]string{"x": "y"}, "x", "bob")
	pr := f.repo.OpenPullRequest(PROptions{Head: "feature", Author: "bob"})
	payload := f.emu.PullRequestPayload(pr, "opened", "bob")

	tests := []struct {
		name, secret string
		want         int
	}{
		{"right secret", "s3cret", http.StatusAccepted},
		{"wrong secret", "guess", http.StatusUnauthorized},
		{"no signature", "", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.emu.Deliver(context.Background(), hook.URL, tc.secret, "pull_request", NewDeliveryID(), payload)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}

	// Deliveries made before a target was set are recorded and can be redelivered later.
	orig, ok := f.emu.LastDelivery("pull_request")
	if !ok || orig.Status != 0 {
		t.Fatalf("recorded delivery = %+v", orig)
	}
	f.emu.SetWebhookTarget(hook.URL, "s3cret")
	d, err := f.emu.Redeliver(orig.ID)
	if err != nil || d.Status != http.StatusAccepted || !d.Redelivery {
		t.Fatalf("redeliver = %+v, %v", d, err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.ids[len(rc.ids)-1] != orig.ID {
		t.Errorf("redelivery id = %s, want %s", rc.ids[len(rc.ids)-1], orig.ID)
	}
	// RFC 4231-style known vector for HMAC-SHA256.
	if got := Sign("key", []byte("The quick brown fox jumps over the lazy dog")); got != "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8" {
		t.Errorf("Sign = %s", got)
	}
}
