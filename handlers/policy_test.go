package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/configcheck"
	"github.com/parcelflow/conveyor/handlers"
	"github.com/parcelflow/conveyor/internal/githubemu"
	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
	"github.com/parcelflow/conveyor/timeline"
)

// The sample platform's people: dana and dmitri run infrastructure (devops),
// erin and eve build pipelines (data-eng), lena leads them (data-eng-leads).
const (
	org     = "parcelflow"
	devops1 = "dana"
	devops2 = "dmitri"
	de1     = "erin"
	de2     = "eve"
	lead    = "lena"
	outside = "mallory"
)

// policyNow is a Wednesday, outside the sample config's weekend freeze.
var policyNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// signals raises the signal the terraform check would for any infra change.
type signals struct{}

func (signals) Name() string               { return "test/signals" }
func (signals) Applies(*checks.Input) bool { return true }
func (signals) Run(_ context.Context, in *checks.Input) (checks.Result, error) {
	res := checks.Result{Conclusion: checks.Success, Title: "signals", Summary: "signals"}
	for _, c := range in.Changes {
		if strings.HasPrefix(c.Path, "infra/") {
			res.Signals = append(res.Signals, policy.Signal{Kind: policy.SignalInfrastructure, Path: c.Path, Reason: "terraform changes"})
		}
		if strings.HasPrefix(c.Path, "contracts/") {
			res.Approvals = append(res.Approvals, policy.ApprovalRequirement{Name: "contract orders: consumers", Reason: "a consumer-breaking change", Teams: []string{"analytics"}})
		}
	}
	return res, nil
}

// fakeOps is the deploy side as far as the commands see it, keeping person
// locks in the real store.
type fakeOps struct {
	db  *store.DB
	now time.Time

	mu        sync.Mutex
	promoted  []string
	rollbacks []string
}

func (o *fakeOps) PromotionState(ctx context.Context, pr handlers.PullRequestRef, env string) (handlers.PromotionState, error) {
	sha := pr.HeadSHA
	if pr.Merged {
		sha = pr.MergeCommitSHA // releases are built from the merge commit
	}
	st := handlers.PromotionState{Release: policy.Release{ID: "rel-" + sha[:7], SHA: sha}}
	st.Previous = &policy.EnvState{ReleaseID: st.Release.ID, SHA: sha, SmokeGreen: true, GreenSince: o.now.Add(-48 * time.Hour)}
	l, err := o.db.CurrentLock(ctx, env)
	if err != nil {
		return st, err
	}
	if l.Person != "" && l.Held(o.now) {
		st.Lock = &policy.Lock{Env: env, Holder: l.Person, Reason: l.Reason}
	}
	return st, nil
}

func (o *fakeOps) Promote(_ context.Context, req handlers.OpRequest) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.promoted = append(o.promoted, req.Actor.Login+"→"+req.Command.Env)
	return "Deployed to " + req.Command.Env + ".", nil
}

func (o *fakeOps) Lock(ctx context.Context, req handlers.OpRequest) (string, error) {
	_, err := o.db.AcquireLock(ctx, req.Command.Env, "person:"+req.Actor.Login, req.Actor.Login, req.Command.Reason, 24*time.Hour, o.now, false)
	var locked *store.LockedError
	if errors.As(err, &locked) {
		return "", handlers.Refuse("lock", "%s", locked.Error())
	}
	return "🔒 " + req.Command.Env + " is locked.", err
}

func (o *fakeOps) Unlock(context.Context, handlers.OpRequest) (string, error) { return "unlocked", nil }

// Rollback undoes a promotion this fake carried out; anything else has
// nothing to roll back to.
func (o *fakeOps) Rollback(_ context.Context, req handlers.OpRequest) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.promoted {
		if strings.HasSuffix(p, "→"+req.Command.Env) {
			o.rollbacks = append(o.rollbacks, req.Actor.Login+"→"+req.Command.Env)
			return "Rolled " + req.Command.Env + " back.", nil
		}
	}
	return "", handlers.Refuse("rollback", "nothing to roll back to")
}
func (o *fakeOps) Backfill(context.Context, handlers.OpRequest) (string, error) {
	return "backfill queued", nil
}
func (o *fakeOps) Plan(context.Context, handlers.OpRequest) (string, error) { return "no changes", nil }
func (o *fakeOps) Status(context.Context, handlers.OpRequest) (string, error) {
	return "dev runs rel-1", nil
}

type policyHarness struct {
	emu      *githubemu.Emulator
	repo     *githubemu.Repo
	db       *store.DB
	audit    *store.AuditLog
	ops      *fakeOps
	handlers map[string]githubapp.EventHandler
}

// newPolicyHarness starts the emulator with the sample repo and the handlers;
// each option may change the handlers' dependencies before they are built.
func newPolicyHarness(t testing.TB, withOps bool, options ...func(*policyHarness, *handlers.Deps)) *policyHarness {
	t.Helper()
	emu := githubemu.New(githubemu.Options{Account: org})
	base, stop := emu.Start()
	t.Cleanup(stop)
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "conveyor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg, err := os.ReadFile("../testdata/sample-repo/.conveyor.yml")
	if err != nil {
		t.Fatal(err)
	}
	owners, err := os.ReadFile("../testdata/sample-repo/.github/CODEOWNERS")
	if err != nil {
		t.Fatal(err)
	}
	repo := emu.CreateRepo(org, "data-platform", "main")
	repo.Commit("main", map[string]string{
		".conveyor.yml":         string(cfg),
		".github/CODEOWNERS":    string(owners),
		"infra/main.tf":         "resource \"aws_s3_bucket\" \"raw\" {}\n",
		"dags/orders.py":        "from airflow import DAG\n",
		"contracts/orders.yaml": contractYAML("orders", "data-eng", "analytics"),
	}, "initial", devops1)
	emu.AddTeam(org, "devops", devops1, devops2)
	emu.AddTeam(org, "data-eng", de1, de2)
	emu.AddTeam(org, "data-eng-leads", lead)
	emu.AddTeam(org, "analytics", "ana")
	emu.AddTeam(org, "finance-analytics", "fin")
	emu.AddTeam(org, "oncall", devops1)
	for _, u := range []string{devops1, devops2, de1, de2, lead, "ana", "fin"} {
		repo.SetPermission(u, "write")
	}
	h := &policyHarness{emu: emu, repo: repo, db: db, audit: store.NewAuditLog(db), handlers: map[string]githubapp.EventHandler{}}
	deps := handlers.Deps{
		Clients:  githubapp.NewClientCreator(base+"/", base+"/api/graphql", emu.AppID(), emu.AppPrivateKeyPEM()),
		Registry: checks.NewRegistry(configcheck.Check{}, signals{}),
		Logger:   zerolog.Nop(),
		AppID:    emu.AppID(),
		Retry:    timeline.Retry{Sleep: func(context.Context, time.Duration) error { return nil }},
		Policy:   store.NewPolicyStore(db),
		Audit:    h.audit,
		Now:      func() time.Time { return policyNow },
	}
	if withOps {
		h.ops = &fakeOps{db: db, now: policyNow}
		deps.Operations = h.ops
	}
	for _, o := range options {
		o(h, &deps)
	}
	for _, eh := range handlers.New(deps) {
		for _, ev := range eh.Handles() {
			h.handlers[ev] = eh
		}
	}
	return h
}

// deliver hands the emulator's latest webhook of event to its handler.
func (h *policyHarness) deliver(t testing.TB, event string) {
	t.Helper()
	d, ok := h.emu.LastDelivery(event)
	if !ok {
		t.Fatalf("the emulator sent no %s webhook", event)
	}
	eh, ok := h.handlers[event]
	if !ok {
		t.Fatalf("no handler for %s", event)
	}
	if err := eh.Handle(context.Background(), event, d.ID, d.Payload); err != nil {
		t.Fatalf("handling %s: %v", event, err)
	}
}

func (h *policyHarness) openPR(t testing.TB, branch, author string, files map[string]string, fork bool) *githubemu.PullRequest {
	t.Helper()
	h.repo.CreateBranch(branch, "main")
	h.repo.Commit(branch, files, "change", author)
	pr := h.repo.OpenPullRequest(githubemu.PROptions{Head: branch, Author: author, Fork: fork})
	h.deliver(t, "pull_request")
	return pr
}

// policyRun is the latest conveyor/policy run at sha. Every run of it there
// must be completed: none is left waiting.
func (h *policyHarness) policyRun(t testing.TB, sha string) githubemu.CheckRun {
	t.Helper()
	var latest githubemu.CheckRun
	for _, r := range h.repo.CheckRuns(sha) {
		if r.Name != policy.PolicyCheckName {
			continue
		}
		if r.Status != "completed" {
			t.Errorf("conveyor/policy run %d at %.7s left %s", r.ID, sha, r.Status)
		}
		if r.ID > latest.ID {
			latest = r
		}
	}
	if latest.ID == 0 {
		t.Fatalf("no conveyor/policy run at %.7s", sha)
	}
	return latest
}

func TestPolicyCheckFollowsReviewsPushesAndTeams(t *testing.T) {
	h := newPolicyHarness(t, false)
	pr := h.openPR(t, "infra-change", devops1, map[string]string{"infra/main.tf": "resource \"aws_s3_bucket\" \"raw\" { bucket = \"raw\" }\n"}, false)

	steps := []struct {
		name        string
		act         func(t *testing.T)
		conclusion  string
		summaryHas  []string
		summaryLack []string
	}{
		{"opened: waits for devops", func(*testing.T) {}, "action_required",
			[]string{"infrastructure", "1 more from @parcelflow/devops"}, nil},
		{"a data-eng approval does not count for infra", func(t *testing.T) {
			pr.Review(de1, "APPROVED", "")
			h.deliver(t, "pull_request_review")
		}, "action_required", []string{"1 more from @parcelflow/devops"}, []string{"| ✅ | infrastructure"}},
		{"the author's own approval never counts", func(t *testing.T) {
			pr.Review(devops1, "APPROVED", "")
			h.deliver(t, "pull_request_review")
		}, "action_required", []string{"the author's own approval never counts"}, []string{"| ✅ | infrastructure"}},
		{"another devops member approves", func(t *testing.T) {
			pr.Review(devops2, "APPROVED", "")
			h.deliver(t, "pull_request_review")
		}, "success", []string{"| ✅ | infrastructure | 1 | @dmitri"}, nil},
		{"a new push invalidates the approval", func(t *testing.T) {
			h.repo.Commit("infra-change", map[string]string{"infra/main.tf": "resource \"aws_s3_bucket\" \"raw\" { bucket = \"raw2\" }\n"}, "more", devops1)
			h.deliver(t, "pull_request")
		}, "action_required", []string{"before the latest push"}, nil},
		{"approved again at the new head", func(t *testing.T) {
			pr.Review(devops2, "APPROVED", "")
			h.deliver(t, "pull_request_review")
		}, "success", nil, nil},
		{"leaving the team withdraws the approval", func(t *testing.T) {
			h.emu.RemoveMember(org, "devops", devops2)
			h.deliver(t, "membership")
		}, "action_required", []string{"1 more from @parcelflow/devops"}, nil},
		{"an owner's change request blocks", func(t *testing.T) {
			h.emu.AddTeam(org, "devops", devops2)
			h.deliver(t, "membership")
			pr.Review(devops2, "CHANGES_REQUESTED", "no")
			h.deliver(t, "pull_request_review")
		}, "failure", []string{"changes requested by @dmitri"}, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.act(t)
			run := h.policyRun(t, pr.HeadSHA())
			if run.Status != "completed" || run.Conclusion != s.conclusion {
				t.Fatalf("policy run %s/%s, want completed/%s\n%s", run.Status, run.Conclusion, s.conclusion, run.Output.Summary)
			}
			for _, want := range s.summaryHas {
				if !strings.Contains(run.Output.Summary, want) {
					t.Errorf("summary lacks %q:\n%s", want, run.Output.Summary)
				}
			}
			for _, lack := range s.summaryLack {
				if strings.Contains(run.Output.Summary, lack) {
					t.Errorf("summary has %q:\n%s", lack, run.Output.Summary)
				}
			}
		})
	}

	t.Run("re-run all checks decides the policy again", func(t *testing.T) {
		decisions := func() int {
			events, err := h.audit.List(context.Background(), store.AuditFilter{Repo: org + "/data-platform", PR: pr.Number, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, ev := range events {
				if ev.Action == "policy" {
					n++
				}
			}
			return n
		}
		before := decisions()
		h.repo.RerequestCheckSuite(pr.HeadSHA(), devops2)
		h.deliver(t, "check_suite")
		if after := decisions(); after != before+1 {
			t.Fatalf("%d policy decisions after Re-run all checks, want %d", after, before+1)
		}
		if run := h.policyRun(t, pr.HeadSHA()); run.Conclusion != "failure" {
			t.Fatalf("the re-decided policy is %s, want failure (the change request still blocks)", run.Conclusion)
		}
	})

	t.Run("decisions are audited with the membership they relied on", func(t *testing.T) {
		events, err := h.audit.List(context.Background(), store.AuditFilter{Repo: org + "/data-platform", PR: pr.Number, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var sawWithDmitri, sawWithout bool
		for _, ev := range events {
			if ev.Action != "policy" {
				continue
			}
			if ev.Delivery == "" || ev.InputsHash == "" {
				t.Errorf("event %d has no delivery or inputs hash", ev.Seq)
			}
			members, ok := ev.Membership["parcelflow/devops"]
			if !ok {
				t.Errorf("event %d does not record the devops team it relied on: %v", ev.Seq, ev.Membership)
			}
			if slices.Contains(members, devops2) && ev.Decision == policy.StateSuccess {
				sawWithDmitri = true
			}
			if !slices.Contains(members, devops2) && ev.Decision == policy.StatePending {
				sawWithout = true
			}
		}
		if !sawWithDmitri || !sawWithout {
			t.Errorf("want a success that relied on @dmitri in devops and a pending decision after he left; events: %+v", events)
		}
		if n, _, err := h.audit.Verify(context.Background()); err != nil || n == 0 {
			t.Errorf("audit chain: %d events, %v", n, err)
		}
	})
}

func TestPolicyCheckCountsCheckRequirementsAndQueue(t *testing.T) {
	h := newPolicyHarness(t, false)
	pr := h.openPR(t, "contract", de1, map[string]string{"contracts/orders.yaml": "kind: DataContract\nversion: 2\n"}, false)
	run := h.policyRun(t, pr.HeadSHA())
	if run.Conclusion != "action_required" || !strings.Contains(run.Output.Summary, "contract orders: consumers") {
		t.Fatalf("the consumers' requirement raised by a check is not in play: %s\n%s", run.Conclusion, run.Output.Summary)
	}

	t.Run("the merge queue decides again and is not green without approvals", func(t *testing.T) {
		mg := pr.EnqueueMergeGroup(de1)
		h.deliver(t, "merge_group")
		run := h.policyRun(t, mg.HeadSHA)
		if run.Conclusion == "success" {
			t.Fatalf("queued commit's policy is %s without approvals", run.Conclusion)
		}
	})

	// The contract rule wants data-eng; CODEOWNERS wants data-eng or
	// data-eng-leads; the check wants analytics.
	pr.Review(de2, "APPROVED", "")
	h.deliver(t, "pull_request_review")
	if run := h.policyRun(t, pr.HeadSHA()); run.Conclusion != "action_required" {
		t.Fatalf("without the consumers the policy is %s, want action_required\n%s", run.Conclusion, run.Output.Summary)
	}
	pr.Review("ana", "APPROVED", "")
	h.deliver(t, "pull_request_review")
	if run := h.policyRun(t, pr.HeadSHA()); run.Conclusion != "success" {
		t.Fatalf("with every group approved the policy is %s\n%s", run.Conclusion, run.Output.Summary)
	}

	t.Run("the merge queue counts the PR's approvals at the queued commit", func(t *testing.T) {
		mg := pr.EnqueueMergeGroup(de1)
		h.deliver(t, "merge_group")
		if run := h.policyRun(t, mg.HeadSHA); run.Conclusion != "success" {
			t.Fatalf("queued commit's policy is %s\n%s", run.Conclusion, run.Output.Summary)
		}
	})
}

// plans raises a DevOps approval bound to the plan it currently holds, as
// the terraform check does for a plan that destroys a stateful resource.
type plans struct {
	mu   sync.Mutex
	hash string
}

func (p *plans) set(hash string) { p.mu.Lock(); p.hash = hash; p.mu.Unlock() }

func (p *plans) Name() string               { return "test/plans" }
func (p *plans) Applies(*checks.Input) bool { return true }
func (p *plans) Run(_ context.Context, in *checks.Input) (checks.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	res := checks.Result{Conclusion: checks.Success, Title: "plan", Summary: "plan"}
	for _, c := range in.Changes {
		if strings.HasPrefix(c.Path, "infra/") {
			res.Approvals = []policy.ApprovalRequirement{{Name: "terraform plan prod", Teams: []string{"devops"}, Subject: p.hash, Check: "test/plans",
				Reason: "the prod plan destroys a bucket"}}
		}
	}
	return res, nil
}

// clock is a settable clock for the handlers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

func TestPlanApprovalDoesNotCarryOverToARegeneratedPlan(t *testing.T) {
	p := &plans{hash: "plan:aaaaaaaaaaaaaaaaaaaaaaaa"}
	// The emulator stamps reviews with the real time; the handlers' clock
	// starts an hour earlier, when the first plan was produced.
	clk := &clock{t: time.Now().Add(-time.Hour)}
	h := newPolicyHarness(t, false, func(_ *policyHarness, d *handlers.Deps) {
		d.Registry = checks.NewRegistry(configcheck.Check{}, p)
		d.Now = clk.Now
	})
	pr := h.openPR(t, "drop-bucket", de1, map[string]string{"infra/main.tf": "# the raw bucket goes\n"}, false)
	if run := h.policyRun(t, pr.HeadSHA()); run.Conclusion != "action_required" || !strings.Contains(run.Output.Summary, "terraform plan prod") {
		t.Fatalf("the plan's approval is not in play: %s\n%s", run.Conclusion, run.Output.Summary)
	}

	steps := []struct {
		name       string
		act        func(t *testing.T)
		conclusion string
		summaryHas string
	}{
		{"devops approves the head after the plan was produced", func(t *testing.T) {
			pr.Review(devops2, "APPROVED", "")
			h.deliver(t, "pull_request_review")
		}, "success", "| ✅ | terraform plan prod"},
		{"the same plan produced again keeps the approval", func(t *testing.T) {
			clk.Set(time.Now().Add(time.Minute))
			h.deliver(t, "pull_request") // the checks run again at the same commit
		}, "success", "| ✅ | terraform plan prod"},
		{"a plan regenerated at the same commit does not take the approval", func(t *testing.T) {
			p.set("plan:bbbbbbbbbbbbbbbbbbbbbbbb")
			clk.Advance(time.Minute)
			h.deliver(t, "pull_request")
		}, "action_required", "before plan:bbbbbbbbbbbbbbbbbbbbbbbb was produced"},
		{"an approval naming the new plan counts", func(t *testing.T) {
			pr.Review(devops2, "APPROVED", "checked the replacement\n/approve plan:bbbbbbbbbbbb")
			h.deliver(t, "pull_request_review")
		}, "success", "| ✅ | terraform plan prod"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.act(t)
			run := h.policyRun(t, pr.HeadSHA())
			if run.Conclusion != s.conclusion || !strings.Contains(run.Output.Summary, s.summaryHas) {
				t.Fatalf("policy %s, want %s with %q\n%s", run.Conclusion, s.conclusion, s.summaryHas, run.Output.Summary)
			}
		})
	}
}

// passing is a check that is always green, standing in for the checks the
// sample config requires before any deploy.
type passing string

func (p passing) Name() string             { return string(p) }
func (passing) Applies(*checks.Input) bool { return true }
func (passing) Run(context.Context, *checks.Input) (checks.Result, error) {
	return checks.Result{Conclusion: checks.Success, Title: "fine", Summary: "fine"}, nil
}

func buttonLabels(run githubemu.CheckRun) []string {
	var out []string
	for _, a := range run.Actions {
		out = append(out, a.Label)
	}
	return out
}

func TestRollBackButton(t *testing.T) {
	h := newPolicyHarness(t, true, func(_ *policyHarness, d *handlers.Deps) {
		d.Registry = checks.NewRegistry(configcheck.Check{}, passing("conveyor/airflow"), passing("conveyor/dbt"),
			passing("conveyor/contracts"), passing("conveyor/terraform"), signals{})
	})
	pr := h.openPR(t, "hourly", de1, map[string]string{"dags/orders.py": "from airflow import DAG\n# hourly\n"}, false)
	pr.Review(de2, "APPROVED", "")
	h.deliver(t, "pull_request_review")
	run := h.policyRun(t, pr.HeadSHA())
	if want := []string{"Promote to dev", "Promote to staging", "Status"}; !slices.Equal(buttonLabels(run), want) {
		t.Fatalf("approved PR offers %v, want %v", buttonLabels(run), want)
	}
	press := func(t *testing.T, label, user string) []string {
		t.Helper()
		run := h.policyRun(t, pr.HeadSHA())
		for _, a := range run.Actions {
			if a.Label == label {
				before := lastID(pr)
				h.repo.RequestAction(run.ID, a.Identifier, user)
				h.deliver(t, "check_run")
				return h.replies(pr, before)
			}
		}
		t.Fatalf("no %q button; the run offers %v", label, buttonLabels(run))
		return nil
	}

	t.Run("promoting puts Roll back on the run and keeps its decision", func(t *testing.T) {
		got := press(t, "Promote to dev", de2)
		if len(got) != 1 || !strings.Contains(got[0], "Deployed to dev.") {
			t.Fatalf("promote answered %q", got)
		}
		run := h.policyRun(t, pr.HeadSHA())
		if want := []string{"Roll back dev", "Promote to staging", "Status"}; !slices.Equal(buttonLabels(run), want) {
			t.Errorf("after the promote the run offers %v, want %v", buttonLabels(run), want)
		}
		if run.Conclusion != "success" || !strings.Contains(run.Output.Summary, "| ✅ | pipelines | 1 | @eve |") {
			t.Errorf("the run's decision changed: %s\n%s", run.Conclusion, run.Output.Summary)
		}
	})
	t.Run("Roll back is authorized like /rollback", func(t *testing.T) {
		got := press(t, "Roll back dev", de2)
		if len(got) != 1 || !strings.Contains(got[0], "/rollback dev (button)") || !strings.Contains(got[0], "only @parcelflow/oncall may run /rollback in dev") {
			t.Fatalf("a data engineer's press answered %q", got)
		}
		if len(h.ops.rollbacks) != 0 {
			t.Fatalf("rolled back %v for someone not on call", h.ops.rollbacks)
		}
	})
	t.Run("on call rolls back", func(t *testing.T) {
		got := press(t, "Roll back dev", devops1)
		if len(got) != 1 || !strings.Contains(got[0], "Rolled dev back.") {
			t.Fatalf("on call's press answered %q", got)
		}
		if want := []string{devops1 + "→dev"}; !slices.Equal(h.ops.rollbacks, want) {
			t.Fatalf("rollbacks %v, want %v", h.ops.rollbacks, want)
		}
	})
	t.Run("a redelivered press does not run again", func(t *testing.T) {
		before := lastID(pr)
		d, _ := h.emu.LastDelivery("check_run")
		for range 2 {
			if err := h.handlers["check_run"].Handle(context.Background(), "check_run", d.ID, d.Payload); err != nil {
				t.Fatal(err)
			}
		}
		if got := h.replies(pr, before); len(got) != 0 {
			t.Errorf("the redelivery answered again: %q", got)
		}
		if len(h.ops.rollbacks) != 1 {
			t.Errorf("rollbacks %v after a redelivery, want one", h.ops.rollbacks)
		}
	})
	t.Run("a new press with the same button runs", func(t *testing.T) {
		press(t, "Roll back dev", devops1)
		if len(h.ops.rollbacks) != 2 {
			t.Errorf("rollbacks %v, want a second one for a second press", h.ops.rollbacks)
		}
	})
}

// contractYAML is an ODCS contract produced by owner and read by consumers.
func contractYAML(name, owner string, consumers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v3.1.0\nkind: DataContract\nid: urn:datacontract:parcelflow:%s\nname: %s\nversion: 1.0.0\nstatus: active\n", name, name)
	fmt.Fprintf(&b, "team:\n  name: %s\n", owner)
	if len(consumers) > 0 {
		b.WriteString("customProperties:\n  - property: consumers\n    value:\n")
		for _, c := range consumers {
			fmt.Fprintf(&b, "      - team: %s\n        use: reporting\n", c)
		}
	}
	fmt.Fprintf(&b, "schema:\n  - name: fct_%s\n    properties:\n      - name: id\n        logicalType: string\n", name)
	return b.String()
}

func TestContractOwnersComeFromTheBaseBranch(t *testing.T) {
	h := newPolicyHarness(t, false)
	h.repo.Commit("main", map[string]string{"contracts/orders.yaml": contractYAML("orders", "data-eng", "analytics", "finance-analytics")}, "finance reads orders", devops1)
	// The PR drops finance-analytics from the consumers: the base branch's
	// version still governs, so finance must approve the change that drops it.
	pr := h.openPR(t, "drop-finance", de1, map[string]string{"contracts/orders.yaml": contractYAML("orders", "data-eng", "analytics")}, false)

	steps := []struct {
		name       string
		reviewer   string
		conclusion string
		summaryHas []string
	}{
		{"opened: the producer and both consumers must approve", "", "action_required", []string{
			"| ⏳ | contract orders: producer (data-eng) | 1 | — | 1 more from @parcelflow/data-eng |",
			"| ⏳ | contract orders: consumer (finance-analytics) | 1 | — | 1 more from @parcelflow/finance-analytics |",
			"the base branch's version of contracts/orders.yaml names @parcelflow/finance-analytics as a consumer",
		}},
		{"the producer approves", de2, "action_required", []string{"| ✅ | contract orders: producer (data-eng) | 1 | @eve |"}},
		{"one consumer approves", "ana", "action_required", []string{"| ✅ | contract orders: consumer (analytics) | 1 | @ana |",
			"| ⏳ | contract orders: consumer (finance-analytics)"}},
		{"the consumer the PR drops approves", "fin", "success", []string{"| ✅ | contract orders: consumer (finance-analytics) | 1 | @fin |"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.reviewer != "" {
				pr.Review(s.reviewer, "APPROVED", "")
				h.deliver(t, "pull_request_review")
			}
			run := h.policyRun(t, pr.HeadSHA())
			if run.Conclusion != s.conclusion {
				t.Fatalf("policy %s, want %s\n%s", run.Conclusion, s.conclusion, run.Output.Summary)
			}
			for _, want := range s.summaryHas {
				if !strings.Contains(run.Output.Summary, want) {
					t.Errorf("summary lacks %q:\n%s", want, run.Output.Summary)
				}
			}
		})
	}

	t.Run("a new contract names its teams in the PR", func(t *testing.T) {
		pr := h.openPR(t, "new-contract", de1, map[string]string{"contracts/shipments.yaml": contractYAML("shipments", "data-eng", "finance-analytics")}, false)
		run := h.policyRun(t, pr.HeadSHA())
		for _, want := range []string{"contract shipments: consumer (finance-analytics)", "contracts/shipments.yaml (a new contract) names @parcelflow/finance-analytics as a consumer"} {
			if !strings.Contains(run.Output.Summary, want) {
				t.Errorf("summary lacks %q:\n%s", want, run.Output.Summary)
			}
		}
		if run.Conclusion != "action_required" {
			t.Errorf("policy %s, want action_required", run.Conclusion)
		}
	})
}

func (h *policyHarness) replies(pr *githubemu.PullRequest, after int64) []string {
	var out []string
	for _, c := range pr.Comments() {
		if c.ID > after && strings.HasSuffix(c.User, "[bot]") {
			out = append(out, c.Body)
		}
	}
	return out
}

func lastID(pr *githubemu.PullRequest) int64 {
	cs := pr.Comments()
	if len(cs) == 0 {
		return 0
	}
	return cs[len(cs)-1].ID
}

func reactions(c githubemu.Comment) []string {
	var out []string
	for _, r := range c.Reactions {
		out = append(out, r.Content)
	}
	slices.Sort(out)
	return out
}

func (h *policyHarness) comment(t *testing.T, pr *githubemu.PullRequest, user, body string) githubemu.Comment {
	t.Helper()
	c := pr.Comment(user, body)
	h.deliver(t, "issue_comment")
	for _, got := range pr.Comments() {
		if got.ID == c.ID {
			return got
		}
	}
	t.Fatalf("comment %d vanished", c.ID)
	return c
}

func TestCommands(t *testing.T) {
	h := newPolicyHarness(t, true)
	risky := h.openPR(t, "risky", de1, map[string]string{"infra/main.tf": "resource \"aws_s3_bucket\" \"raw\" { bucket = \"x\" }\n"}, false)
	grab := h.openPR(t, "grab", de1, map[string]string{".conveyor.yml": strings.Replace(string(h.repo.Files("main")[".conveyor.yml"]),
		"  freeze:\n    \"*\": [devops]", "  freeze:\n    \"*\": [devops, data-eng]", 1)}, false)
	if !strings.Contains(h.repo.Files(grab.HeadSHA())[".conveyor.yml"], "[devops, data-eng]") {
		t.Fatal("the grabbing PR does not change the freeze permission")
	}
	h.repo.SetPermission(outside, "read")
	fork := h.openPR(t, "fork", outside, map[string]string{"dags/orders.py": "from airflow import DAG\n# x\n"}, true)

	tests := []struct {
		name      string
		pr        *githubemu.PullRequest
		user      string
		body      string
		reactions []string // of the command comment, sorted
		replies   []string // substrings, one per expected reply, in order
	}{
		{"a data-eng member may not promote a risky PR to prod", risky, de1, "/promote prod",
			[]string{"confused", "eyes"}, []string{"only @parcelflow/data-eng-leads, @parcelflow/devops may run /promote in prod"}},
		{"a devops member locks prod", risky, devops1, "/lock prod release train",
			[]string{"eyes", "rocket"}, []string{"prod is locked"}},
		{"the lock stops another person's promote", risky, lead, "/promote prod",
			[]string{"confused", "eyes"}, []string{"| ❌ | lock | prod is locked by @dana: release train |"}},
		{"the risk is named in the gate reply", risky, lead, "/promote prod",
			[]string{"confused", "eyes"}, []string{"infrastructure change in infra/main.tf"}},
		{"the lock holder passes the lock gate", risky, devops1, "/promote prod",
			[]string{"confused", "eyes"}, []string{"| ✅ | lock | prod is locked by you |"}},
		{"a command in a code block is ignored", risky, devops1, "look:\n```\n/freeze prod 2h\n```\n> /unlock prod",
			nil, nil},
		{"a fork author without write access is ignored", fork, outside, "/promote dev",
			nil, nil},
		{"a PR cannot grant itself a permission", grab, de1, "/freeze prod 2h",
			[]string{"confused", "eyes"}, []string{"only @parcelflow/devops may run /freeze"}},
		{"unknown commands and bad arguments share one reply with usage", risky, devops1, "/deploy prod\n/freeze prod",
			[]string{"confused", "eyes"}, []string{"- line 2, `/freeze`: needs an environment and a duration or an end time (usage: `/freeze <env>"}},
		{"one bad line gets its usage", risky, devops1, "/freeze prod",
			[]string{"confused", "eyes"}, []string{"Usage: `/freeze <env>"}},
		{"several commands run in order", risky, devops1, "/freeze staging 2h maintenance\n/help\n/unfreeze staging",
			[]string{"eyes", "rocket"}, []string{"staging is frozen until 2026-11-25T14:00:00Z", "| `/promote <env>", "Lifted 1 freeze(s) on staging"}},
		{"an operations refusal says why", risky, devops1, "/rollback dev",
			[]string{"confused", "eyes"}, []string{"nothing to roll back to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.comment(t, tt.pr, tt.user, tt.body)
			if got := reactions(c); !slices.Equal(got, tt.reactions) {
				t.Errorf("reactions %v, want %v", got, tt.reactions)
			}
			got := h.replies(tt.pr, c.ID)
			if len(got) != len(tt.replies) {
				t.Fatalf("%d replies, want %d:\n%s", len(got), len(tt.replies), strings.Join(got, "\n---\n"))
			}
			for i, want := range tt.replies {
				if !strings.Contains(got[i], want) {
					t.Errorf("reply %d lacks %q:\n%s", i+1, want, got[i])
				}
			}
		})
	}
	if got := h.ops.promoted; len(got) != 0 {
		t.Errorf("promotions carried out %v; every /promote above had a failing gate", got)
	}

	t.Run("a conveyor check forged by another app passes no gate", func(t *testing.T) {
		forged := h.openPR(t, "forged", de1, map[string]string{"dags/orders.py": "from airflow import DAG\n# forged\n"}, false)
		if run := h.policyRun(t, forged.HeadSHA()); run.Conclusion == "success" {
			t.Fatalf("the unapproved PR's policy passed: %+v", run)
		}
		h.repo.PostCheckRunAs(h.emu.AppID()+1, forged.HeadSHA(), policy.PolicyCheckName, "success")
		c := h.comment(t, forged, devops1, "/promote dev")
		got := h.replies(forged, c.ID)
		if len(got) != 1 || !strings.Contains(got[0], "| ❌ | policy |") {
			t.Fatalf("a forged %s let the promote through:\n%s", policy.PolicyCheckName, strings.Join(got, "\n---\n"))
		}
	})

	t.Run("an approved PR offers buttons that run commands", func(t *testing.T) {
		if run := h.policyRun(t, risky.HeadSHA()); len(run.Actions) != 0 {
			t.Fatalf("a PR waiting for approval offers buttons: %+v", run.Actions)
		}
		risky.Review(devops2, "APPROVED", "")
		h.deliver(t, "pull_request_review")
		run := h.policyRun(t, risky.HeadSHA())
		var labels []string
		for _, a := range run.Actions {
			labels = append(labels, a.Label)
		}
		if want := []string{"Promote to dev", "Promote to staging", "Status"}; run.Conclusion != "success" || !slices.Equal(labels, want) {
			t.Fatalf("policy %s with buttons %v, want success with %v", run.Conclusion, labels, want)
		}
		before := lastID(risky)
		h.repo.RequestAction(run.ID, run.Actions[0].Identifier, lead)
		h.deliver(t, "check_run")
		got := h.replies(risky, before)
		if len(got) != 1 || !strings.Contains(got[0], "/promote dev (button)") || !strings.Contains(got[0], "only @parcelflow/data-eng, @parcelflow/devops may run /promote in dev") {
			t.Fatalf("press by a lead answered %q", got)
		}
		before = lastID(risky)
		h.repo.RequestAction(run.ID, run.Actions[0].Identifier, devops1)
		h.deliver(t, "check_run")
		got = h.replies(risky, before)
		if len(got) != 1 || !strings.Contains(got[0], "| ✅ | policy | conveyor/policy passed") {
			t.Fatalf("press by devops answered %q", got)
		}
	})

	t.Run("a merged PR's release carries the approval of its merged head", func(t *testing.T) {
		merge := risky.Merge(devops1)
		c := h.comment(t, risky, devops1, "/promote dev")
		got := h.replies(risky, c.ID)
		want := fmt.Sprintf("| ✅ | policy | conveyor/policy passed at %.7s |", merge)
		if len(got) != 1 || !strings.Contains(got[0], want) || !strings.Contains(got[0], "which was merged as") {
			t.Fatalf("reply lacks %q:\n%s", want, strings.Join(got, "\n---\n"))
		}
	})

	t.Run("an edited comment does not run again", func(t *testing.T) {
		c := h.comment(t, risky, devops1, "/status")
		before := len(risky.Comments())
		h.emu.EditComment(c.ID, devops1, "/freeze prod 2h")
		h.deliver(t, "issue_comment")
		h.emu.DeleteComment(c.ID, devops1)
		h.deliver(t, "issue_comment")
		if after := len(risky.Comments()); after != before-1 {
			t.Errorf("%d comments after the edit and delete, want %d (only the deleted one gone)", after, before-1)
		}
		fs, err := store.NewPolicyStore(h.db).Freezes(context.Background(), org+"/data-platform", "prod", policyNow)
		if err != nil || len(fs) != 0 {
			t.Errorf("the edit froze prod: %v %v", fs, err)
		}
	})

	t.Run("a redelivered comment runs once", func(t *testing.T) {
		c := h.comment(t, risky, devops1, "/freeze dev 1h")
		d, _ := h.emu.LastDelivery("issue_comment")
		if err := h.handlers["issue_comment"].Handle(context.Background(), "issue_comment", d.ID, d.Payload); err != nil {
			t.Fatal(err)
		}
		if got := h.replies(risky, c.ID); len(got) != 1 {
			t.Errorf("%d replies after a redelivery, want 1", len(got))
		}
		fs, _ := store.NewPolicyStore(h.db).Freezes(context.Background(), org+"/data-platform", "dev", policyNow)
		if len(fs) != 1 {
			t.Errorf("%d freezes on dev, want 1", len(fs))
		}
	})

	t.Run("every answered command is audited and the chain holds", func(t *testing.T) {
		events, err := h.audit.List(context.Background(), store.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, ev := range events {
			count[ev.Action+"/"+ev.Decision]++
		}
		for _, want := range []string{"promote/refused", "lock/done", "gate/refused", "freeze/refused", "freeze/done", "deploy/refused", "rollback/refused"} {
			if count[want] == 0 {
				t.Errorf("no %s event in the audit log: %v", want, count)
			}
		}
		if count["unlock/refused"]+count["unlock/done"] != 0 {
			t.Errorf("a quoted /unlock was audited: %v", count)
		}
		// What was asked is in the event itself, not only behind the inputs' hash.
		for key, asked := range map[string]string{
			"freeze/done":      `asked: /freeze staging 2h maintenance (env=staging for=2h0m0s reason="maintenance")`,
			"lock/done":        `asked: /lock prod release train (env=prod reason="release train")`,
			"rollback/refused": "asked: /rollback dev (env=dev)",
			"promote/refused":  "asked: /promote dev (button) (env=dev)",
		} {
			found := false
			for _, ev := range events {
				if ev.Action+"/"+ev.Decision == key && len(ev.Reasons) > 0 && ev.Reasons[0] == asked {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s event whose first reason is %q", key, asked)
			}
		}
		if _, _, err := h.audit.Verify(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

func TestAFloodOfUnknownCommandsGetsOneReply(t *testing.T) {
	h := newPolicyHarness(t, true)
	pr := h.openPR(t, "flood", de1, map[string]string{"dags/orders.py": "from airflow import DAG\n# flood\n"}, false)
	body := strings.Repeat("/x\n", 5000) + "/status"
	c := h.comment(t, pr, devops1, body)
	got := h.replies(pr, c.ID)
	if len(got) != 2 {
		t.Fatalf("%d replies to one comment, want 2 (the unknown lines folded, then /status)", len(got))
	}
	for _, want := range []string{"**`/x and 4999 more line(s)`**", "5000 line(s) of this comment were not understood",
		"- line 1, `/x`: unknown command", "- … and 4990 more line(s), not listed"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("the folded reply lacks %q:\n%s", want, got[0])
		}
	}
	if n := strings.Count(got[0], "\n- "); n != policy.MaxErrorsPerComment+1 {
		t.Errorf("the folded reply lists %d lines, want %d", n, policy.MaxErrorsPerComment+1)
	}
	if !strings.Contains(got[1], "dev runs rel-1") {
		t.Errorf("/status after the flood answered:\n%s", got[1])
	}
	events, err := h.audit.List(context.Background(), store.AuditFilter{Repo: org + "/data-platform", PR: pr.Number, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range events {
		count[ev.Action]++
	}
	if count["x"] != 1 || count["status"] != 1 {
		t.Errorf("audit events by action %v, want one for the folded lines and one for /status", count)
	}
}

func TestCustomRepositoryRoleBuiltOnWriteRunsCommands(t *testing.T) {
	const custom = "carmen"
	// GitHub names a custom role in role_name and reports the access it was
	// built on in permission; the emulator knows only the standard roles, so
	// its answer for carmen is rewritten on the way.
	h := newPolicyHarness(t, true, func(h *policyHarness, d *handlers.Deps) {
		emuHandler := h.emu.Handler()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/collaborators/"+custom+"/permission") {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"permission":"write","role_name":"data-writer","user":{"login":%q,"type":"User"}}`, custom)
				return
			}
			emuHandler.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		d.Clients = githubapp.NewClientCreator(srv.URL+"/", srv.URL+"/api/graphql", h.emu.AppID(), h.emu.AppPrivateKeyPEM())
	})
	h.repo.SetPermission(custom, "write") // so the emulator lets carmen comment
	pr := h.openPR(t, "custom-role", de1, map[string]string{"dags/orders.py": "from airflow import DAG\n# custom\n"}, false)
	c := h.comment(t, pr, custom, "/status")
	if got := reactions(c); !slices.Equal(got, []string{"eyes", "rocket"}) {
		t.Errorf("reactions %v, want eyes and rocket: a custom role built on write was taken for no access", got)
	}
	if got := h.replies(pr, c.ID); len(got) != 1 || !strings.Contains(got[0], "dev runs rel-1") {
		t.Errorf("replies %q", got)
	}
}

func TestCommandsWithoutDeploys(t *testing.T) {
	h := newPolicyHarness(t, false)
	pr := h.openPR(t, "dags", de1, map[string]string{"dags/orders.py": "from airflow import DAG\n# y\n"}, false)
	c := h.comment(t, pr, de1, "/promote dev\n/status")
	got := h.replies(pr, c.ID)
	if len(got) != 2 {
		t.Fatalf("%d replies, want 2", len(got))
	}
	for _, r := range got {
		if !strings.Contains(r, "Deploys are not configured on this server.") {
			t.Errorf("reply does not say deploys are off:\n%s", r)
		}
	}
	if got := reactions(c); !slices.Equal(got, []string{"confused", "eyes"}) {
		t.Errorf("reactions %v", got)
	}
}

func TestReviewWhileChecksRunWaitsForThem(t *testing.T) {
	h := newPolicyHarness(t, false)
	h.repo.CreateBranch("contract", "main")
	h.repo.Commit("contract", map[string]string{"contracts/orders.yaml": "kind: DataContract\nversion: 3\n"}, "change", de1)
	pr := h.repo.OpenPullRequest(githubemu.PROptions{Head: "contract", Author: de1})
	// The pull_request delivery is still running its checks: its policy run is in progress.
	run, _, err := h.emu.Client().Checks.CreateCheckRun(context.Background(), org, "data-platform", githubCreate(policy.PolicyCheckName, pr.HeadSHA()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.emu.Client().Checks.UpdateCheckRun(context.Background(), org, "data-platform", run.GetID(),
		githubUpdateInProgress(policy.PolicyCheckName)); err != nil {
		t.Fatal(err)
	}
	pr.Review(de2, "APPROVED", "")
	h.deliver(t, "pull_request_review")
	if got, _ := h.repo.CheckRun(run.GetID()); got.Status != "in_progress" {
		t.Fatalf("a review decided the policy before the checks raised their requirements: %s/%s\n%s", got.Status, got.Conclusion, got.Output.Summary)
	}
	// That delivery's own evaluation finishes its run; here the delivery runs afresh.
	if _, _, err := h.emu.Client().Checks.UpdateCheckRun(context.Background(), org, "data-platform", run.GetID(),
		github.UpdateCheckRunOptions{Name: policy.PolicyCheckName, Status: github.Ptr("completed"), Conclusion: github.Ptr("neutral")}); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, "pull_request")
	got := h.policyRun(t, pr.HeadSHA())
	if got.Conclusion != "action_required" || !strings.Contains(got.Output.Summary, "contract orders: consumers") {
		t.Fatalf("after the checks: %s\n%s", got.Conclusion, got.Output.Summary)
	}
}
