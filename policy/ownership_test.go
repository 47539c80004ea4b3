package policy

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/config"
)

const head, old = "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", "oooooooooooooooooooooooooooooooooooooooo"

func sampleConfig(t testing.TB) *config.RepoConfig {
	t.Helper()
	data, err := os.ReadFile("../testdata/sample-repo/.conveyor.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseRepo(".conveyor.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func sampleCodeowners(t testing.TB) *Codeowners {
	t.Helper()
	data, err := os.ReadFile("../testdata/sample-repo/.github/CODEOWNERS")
	if err != nil {
		t.Fatal(err)
	}
	co, errs := ParseCodeowners(".github/CODEOWNERS", data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return co
}

func sampleMembership() Membership {
	return Membership{Teams: map[string][]string{
		"data-eng":          {"alice", "bob", "Carol", "ci-helper[bot]"},
		"devops":            {"dave", "erin"},
		"data-eng-leads":    {"carol", "frank"},
		"analytics":         {"gina"},
		"finance-analytics": {"hank"},
		"oncall":            {"dave", "bob"},
	}, AsOf: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func at(min int) time.Time { return time.Date(2026, 3, 2, 10, min, 0, 0, time.UTC) }

func approve(user, sha string, min int) Review {
	return Review{User: user, State: ReviewApproved, CommitSHA: sha, SubmittedAt: at(min)}
}

func TestEvaluateApprovals(t *testing.T) {
	cfg := sampleConfig(t)
	co := sampleCodeowners(t)
	noInvalidate := false
	keepOnPush := cfg.Ownership
	keepOnPush.Rules = append([]config.OwnershipRule(nil), cfg.Ownership.Rules...)
	for i := range keepOnPush.Rules {
		if keepOnPush.Rules[i].Name == "pipelines" {
			keepOnPush.Rules[i].InvalidateOnPush = &noInvalidate // pipelines keep approvals across pushes
		}
	}
	codeownersOff := cfg.Ownership
	codeownersOff.CodeOwners = &noInvalidate
	keepAll := cfg.Ownership
	keepAll.InvalidateOnPush = &noInvalidate
	consumersOff := cfg.Ownership
	consumersOff.ContractConsumers = &noInvalidate
	orders := ContractTeams{Path: "contracts/orders.yaml", Name: "orders", Owner: "data-eng", Consumers: []string{"analytics", "@parcelflow/finance-analytics"}}

	type groupWant struct {
		state      string
		approvedBy []string
		blockedBy  []string
		missing    int
	}
	tests := []struct {
		name       string
		files      []string
		author     string
		reviews    []Review
		ownership  *config.Ownership
		codeowners *Codeowners
		reqs       []ApprovalRequirement
		contracts  []ContractTeams
		members    *Membership
		want       string
		groups     map[string]groupWant
		absent     []string // groups that must not be in play
		note       string   // a note some group must carry
	}{
		{
			name: "owner approves the head", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("bob", head, 1)}, want: StateSuccess,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}, "CODEOWNERS @parcelflow/data-eng": {StateSuccess, []string{"bob"}, nil, 0}},
		},
		{
			name: "no reviews yet", files: []string{"dags/orders.py"}, author: "alice", want: StatePending,
			groups: map[string]groupWant{"pipelines": {StatePending, nil, nil, 1}},
		},
		{
			name: "the author's own approval never counts", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("Alice", head, 1)}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StatePending, nil, nil, 1}}, note: "author's own approval never counts",
		},
		{
			name: "bots never count", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("ci-helper[bot]", head, 1), {User: "bob", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(2), IsBot: true}}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StatePending, nil, nil, 1}}, note: "bots never count",
		},
		{
			name: "an approval before the latest push is dropped", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("bob", old, 1)}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StatePending, nil, nil, 1}}, note: "before the latest push",
		},
		{
			name: "a rule can keep approvals across pushes", files: []string{"dags/orders.py"}, author: "alice", ownership: &keepOnPush,
			reviews: []Review{approve("bob", old, 1)}, want: StateSuccess,
			// CODEOWNERS' "*" covers the same file and follows the rule, not the repo default.
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}, "CODEOWNERS @parcelflow/data-eng": {StateSuccess, []string{"bob"}, nil, 0}},
		},
		{
			name: "a CODEOWNERS group invalidates when any rule over its files does", files: []string{"dags/requirements.txt"}, author: "alice", ownership: &keepOnPush,
			reviews: []Review{approve("bob", old, 1)}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}, "CODEOWNERS @parcelflow/data-eng": {StatePending, nil, nil, 1}},
			note:   "before the latest push",
		},
		{
			name: "a CODEOWNERS group over files no rule covers takes the repo default", files: []string{"dags/orders.py", "README.md"}, author: "alice", ownership: &keepOnPush,
			reviews: []Review{approve("bob", old, 1)}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}, "CODEOWNERS @parcelflow/data-eng": {StatePending, nil, nil, 1}},
		},
		{
			name: "a CODEOWNERS group keeps approvals when the repo default does", files: []string{"README.md"}, author: "alice", ownership: &keepAll,
			reviews: []Review{approve("bob", old, 1)}, want: StateSuccess,
			groups: map[string]groupWant{"CODEOWNERS @parcelflow/data-eng": {StateSuccess, []string{"bob"}, nil, 0}},
		},
		{
			name: "changes requested by an owner blocks", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("bob", head, 1), {User: "carol", State: ReviewChangesRequested, CommitSHA: old, SubmittedAt: at(2)}}, want: StateFailure,
			groups: map[string]groupWant{"pipelines": {StateFailure, []string{"bob"}, []string{"carol"}, 0}},
		},
		{
			name: "changes requested by a non-owner does not block", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("bob", head, 1), {User: "gina", State: ReviewChangesRequested, CommitSHA: head, SubmittedAt: at(2)}}, want: StateSuccess,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}},
		},
		{
			name: "a later approval lifts a change request", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("carol", head, 5), {User: "carol", State: ReviewChangesRequested, CommitSHA: old, SubmittedAt: at(1)}}, want: StateSuccess,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"carol"}, nil, 0}},
		},
		{
			name: "a dismissed approval no longer counts", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("bob", head, 1), {User: "bob", State: ReviewDismissed, CommitSHA: head, SubmittedAt: at(3)}}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StatePending, nil, nil, 1}},
		},
		{
			name: "a comment does not undo an approval", files: []string{"dags/orders.py"}, author: "alice",
			reviews: []Review{approve("bob", head, 1), {User: "bob", State: ReviewCommented, CommitSHA: head, SubmittedAt: at(3)}}, want: StateSuccess,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}},
		},
		{
			name: "a PR touching both worlds needs both", files: []string{"dags/orders.py", "infra/platform/main.tf"}, author: "alice",
			reviews: []Review{approve("bob", head, 1)}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}, "infrastructure": {StatePending, nil, nil, 1}, "CODEOWNERS @parcelflow/devops": {StatePending, nil, nil, 1}},
		},
		{
			name: "both worlds approved", files: []string{"dags/orders.py", "infra/platform/main.tf"}, author: "alice",
			reviews: []Review{approve("bob", head, 1), approve("erin", head, 2)}, want: StateSuccess,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}, "infrastructure": {StateSuccess, []string{"erin"}, nil, 0}},
		},
		{
			name: "the Airflow runtime needs DevOps as well", files: []string{"dags/requirements.txt"}, author: "alice",
			reviews: []Review{approve("bob", head, 1)}, want: StatePending,
			groups: map[string]groupWant{"pipelines": {StateSuccess, []string{"bob"}, nil, 0}, "airflow-runtime": {StatePending, nil, nil, 1}},
		},
		{
			name: "two approvals for the config", files: []string{".conveyor.yml"}, author: "alice",
			reviews: []Review{approve("dave", head, 1)}, want: StatePending,
			groups: map[string]groupWant{"conveyor-config": {StatePending, []string{"dave"}, nil, 1}},
		},
		{
			name: "two approvals given", files: []string{".conveyor.yml"}, author: "alice",
			reviews: []Review{approve("dave", head, 1), approve("carol", head, 2)}, want: StateSuccess,
			groups: map[string]groupWant{"conveyor-config": {StateSuccess, []string{"carol", "dave"}, nil, 0}},
		},
		{
			name: "every consumer team of a broken contract approves", files: []string{"contracts/orders.yaml"}, author: "alice",
			reqs:    []ApprovalRequirement{{Name: "contract orders: consumers", Teams: []string{"@parcelflow/analytics", "finance-analytics"}, Reason: "orders.amount changes type"}},
			reviews: []Review{approve("bob", head, 1), approve("carol", head, 1), approve("gina", head, 2)}, want: StatePending,
			groups: map[string]groupWant{"contract orders: consumers (analytics)": {StateSuccess, []string{"gina"}, nil, 0}, "contract orders: consumers (finance-analytics)": {StatePending, nil, nil, 1}},
		},
		{
			name: "an approval naming the plan survives a push", files: []string{"infra/platform/main.tf"}, author: "alice", codeowners: &Codeowners{},
			reqs:    []ApprovalRequirement{{Name: "prod plan", Teams: []string{"devops"}, Subject: "plan:abcdef0123456789abcdef", Since: at(0)}},
			reviews: []Review{approve("erin", head, 1), {User: "dave", State: ReviewApproved, CommitSHA: old, SubmittedAt: at(2), Body: "looks right\n/approve plan:abcdef012345"}}, want: StateSuccess,
			groups: map[string]groupWant{"prod plan": {StateSuccess, []string{"dave", "erin"}, nil, 0}},
		},
		{
			name: "an approval naming no plan does not carry over to a plan regenerated at the same commit", files: []string{"infra/platform/main.tf"}, author: "alice", codeowners: &Codeowners{},
			reqs:    []ApprovalRequirement{{Name: "prod plan", Teams: []string{"devops"}, Subject: "plan:bbbbbb0123456789abcdef", Since: at(5)}},
			reviews: []Review{approve("erin", head, 1)}, want: StatePending,
			groups: map[string]groupWant{"prod plan": {StatePending, nil, nil, 1}, "infrastructure": {StateSuccess, []string{"erin"}, nil, 0}},
			note:   "before plan:bbbbbb0123456789abcdef was produced",
		},
		{
			name: "an approval naming no plan counts when given after the plan was produced", files: []string{"infra/platform/main.tf"}, author: "alice", codeowners: &Codeowners{},
			reqs:    []ApprovalRequirement{{Name: "prod plan", Teams: []string{"devops"}, Subject: "plan:bbbbbb0123456789abcdef", Since: at(5)}},
			reviews: []Review{approve("erin", head, 1), approve("erin", head, 6)}, want: StateSuccess,
			groups: map[string]groupWant{"prod plan": {StateSuccess, []string{"erin"}, nil, 0}},
		},
		{
			name: "an approval naming the regenerated plan counts even if given before it was recorded", files: []string{"infra/platform/main.tf"}, author: "alice", codeowners: &Codeowners{},
			reqs:    []ApprovalRequirement{{Name: "prod plan", Teams: []string{"devops"}, Subject: "plan:bbbbbb0123456789abcdef", Since: at(5)}},
			reviews: []Review{{User: "erin", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(4), Body: "/approve plan:bbbbbb012345"}}, want: StateSuccess,
			groups: map[string]groupWant{"prod plan": {StateSuccess, []string{"erin"}, nil, 0}},
		},
		{
			name: "an approval naming no plan does not count when the plan's time is unknown", files: []string{"infra/platform/main.tf"}, author: "alice", codeowners: &Codeowners{},
			reqs:    []ApprovalRequirement{{Name: "prod plan", Teams: []string{"devops"}, Subject: "plan:abcdef0123456789abcdef"}},
			reviews: []Review{approve("erin", head, 9)}, want: StatePending,
			groups: map[string]groupWant{"prod plan": {StatePending, nil, nil, 1}}, note: "when plan:abcdef0123456789abcdef was produced is not known",
		},
		{
			name: "a subject with a space is approved by naming it whole", files: []string{"dbt/models/fct_orders.sql"}, author: "alice", codeowners: &Codeowners{},
			reqs:    []ApprovalRequirement{{Name: "fct_orders v2 contract", Teams: []string{"analytics"}, Subject: "fct_orders v2@0123456789abcdef0123"}},
			reviews: []Review{approve("bob", head, 1), {User: "gina", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(2), Body: "/approve fct_orders v2@0123456789ab  fine by us"}}, want: StateSuccess,
			groups: map[string]groupWant{"fct_orders v2 contract": {StateSuccess, []string{"gina"}, nil, 0}},
		},
		{
			name: "the producer and every consumer of a changed contract approve", files: []string{"contracts/orders.yaml"}, author: "alice", contracts: []ContractTeams{orders},
			reviews: []Review{approve("bob", head, 1), approve("gina", head, 2)}, want: StatePending,
			groups: map[string]groupWant{
				"contract orders: producer (data-eng)":          {StateSuccess, []string{"bob"}, nil, 0},
				"contract orders: consumer (analytics)":         {StateSuccess, []string{"gina"}, nil, 0},
				"contract orders: consumer (finance-analytics)": {StatePending, nil, nil, 1},
			},
		},
		{
			name: "a contract approved by its producer and every consumer", files: []string{"contracts/orders.yaml"}, author: "alice", contracts: []ContractTeams{orders},
			reviews: []Review{approve("bob", head, 1), approve("gina", head, 2), approve("hank", head, 3)}, want: StateSuccess,
			groups: map[string]groupWant{"contract orders: consumer (finance-analytics)": {StateSuccess, []string{"hank"}, nil, 0}},
		},
		{
			name: "a consumer's change request on a contract blocks", files: []string{"contracts/orders.yaml"}, author: "alice", contracts: []ContractTeams{orders},
			reviews: []Review{approve("bob", head, 1), approve("gina", head, 2), {User: "hank", State: ReviewChangesRequested, CommitSHA: head, SubmittedAt: at(3)}}, want: StateFailure,
			groups: map[string]groupWant{"contract orders: consumer (finance-analytics)": {StateFailure, nil, []string{"hank"}, 1}},
		},
		{
			name: "contract_consumers off leaves contracts to the rules", files: []string{"contracts/orders.yaml"}, author: "alice", contracts: []ContractTeams{orders}, ownership: &consumersOff,
			reviews: []Review{approve("bob", head, 1)}, want: StateSuccess,
			groups: map[string]groupWant{"contracts": {StateSuccess, []string{"bob"}, nil, 0}},
			absent: []string{"contract orders: producer (data-eng)", "contract orders: consumer (analytics)"},
		},
		{
			name: "an unchanged contract puts nobody in play", files: []string{"dags/orders.py"}, author: "alice", contracts: []ContractTeams{orders},
			reviews: []Review{approve("bob", head, 1)}, want: StateSuccess,
			absent: []string{"contract orders: producer (data-eng)", "contract orders: consumer (analytics)"},
		},
		{
			name: "a deleted or renamed contract still needs its teams", files: []string{"contracts/orders.yaml", "contracts/orders_v2.yaml"}, author: "alice",
			contracts: []ContractTeams{orders}, reviews: []Review{approve("bob", head, 1)}, want: StatePending,
			groups: map[string]groupWant{"contract orders: consumer (analytics)": {StatePending, nil, nil, 1}},
		},
		{
			name: "a contract naming no producing team cannot be approved", files: []string{"contracts/orphan.yaml"}, author: "alice",
			contracts: []ContractTeams{{Path: "contracts/orphan.yaml", Consumers: []string{"analytics"}, FromHead: true}},
			reviews:   []Review{approve("bob", head, 1), approve("gina", head, 2)}, want: StatePending,
			groups: map[string]groupWant{"contract contracts/orphan.yaml: producer": {StatePending, nil, nil, 1}, "contract contracts/orphan.yaml: consumer (analytics)": {StateSuccess, []string{"gina"}, nil, 0}},
		},
		{
			name: "a producer that also consumes is one group", files: []string{"contracts/orders.yaml"}, author: "alice",
			contracts: []ContractTeams{{Path: "contracts/orders.yaml", Name: "orders", Owner: "@parcelflow/data-eng", Consumers: []string{"data-eng"}}},
			reviews:   []Review{approve("bob", head, 1)}, want: StateSuccess,
			groups: map[string]groupWant{"contract orders: producer (data-eng)": {StateSuccess, []string{"bob"}, nil, 0}},
			absent: []string{"contract orders: consumer (data-eng)"},
		},
		{
			name: "contract groups follow the rule's push invalidation", files: []string{"contracts/orders.yaml"}, author: "alice", ownership: &keepAll,
			contracts: []ContractTeams{orders}, reviews: []Review{approve("bob", old, 1), approve("gina", old, 2), approve("hank", old, 3)}, want: StateSuccess,
			groups: map[string]groupWant{"contract orders: consumer (finance-analytics)": {StateSuccess, []string{"hank"}, nil, 0}},
		},
		{
			name: "an approval naming another plan does not count", files: []string{"infra/platform/main.tf"}, author: "alice", codeowners: &Codeowners{},
			reqs:    []ApprovalRequirement{{Name: "prod plan", Teams: []string{"devops"}, Subject: "plan:abcdef0123456789abcdef"}},
			reviews: []Review{{User: "dave", State: ReviewApproved, CommitSHA: head, SubmittedAt: at(2), Body: "/approve plan:999999999999999"}}, want: StatePending,
			groups: map[string]groupWant{"prod plan": {StatePending, nil, nil, 1}}, note: "it approves plan:999999999999999",
		},
		{
			name: "an approval of an older commit naming no plan does not count for the plan", files: []string{"infra/platform/main.tf"}, author: "alice", codeowners: &Codeowners{}, ownership: &keepOnPush,
			reqs:    []ApprovalRequirement{{Name: "prod plan", Teams: []string{"devops"}, Subject: "plan:abc"}},
			reviews: []Review{approve("dave", old, 1)}, want: StatePending,
			groups: map[string]groupWant{"prod plan": {StatePending, nil, nil, 1}, "infrastructure": {StatePending, nil, nil, 1}},
		},
		{
			name: "an unresolved team cannot approve", files: []string{"infra/x.tf"}, author: "alice",
			members: &Membership{Teams: map[string][]string{"data-eng": {"bob"}}},
			reviews: []Review{approve("dave", head, 1)}, want: StatePending,
			groups: map[string]groupWant{"infrastructure": {StatePending, nil, nil, 1}},
		},
		{
			name: "nothing owned", files: []string{"README.md"}, author: "alice", codeowners: &Codeowners{}, want: StateSuccess,
		},
		{
			name: "CODEOWNERS can be switched off", files: []string{"README.md"}, author: "alice", ownership: &codeownersOff, want: StateSuccess,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ApprovalInput{Files: tt.files, Codeowners: co, Ownership: cfg.Ownership, Org: "parcelflow", Requirements: tt.reqs,
				Contracts: tt.contracts, Author: tt.author, HeadSHA: head, Reviews: tt.reviews, Membership: sampleMembership()}
			if tt.ownership != nil {
				in.Ownership = *tt.ownership
			}
			if tt.codeowners != nil {
				in.Codeowners = tt.codeowners
			}
			if tt.members != nil {
				in.Membership = *tt.members
			}
			d := EvaluateApprovals(in)
			if d.State != tt.want {
				t.Errorf("state = %s, want %s; reasons %v", d.State, tt.want, d.Reasons)
			}
			byName := map[string]OwnerGroup{}
			for _, g := range d.Groups {
				byName[g.Name] = g
			}
			for name, w := range tt.groups {
				g, ok := byName[name]
				if !ok {
					t.Errorf("no group %q; groups %v", name, names(d.Groups))
					continue
				}
				if g.State != w.state || g.Missing != w.missing || !sameStrings(g.ApprovedBy, w.approvedBy) || !sameStrings(g.BlockedBy, w.blockedBy) {
					t.Errorf("group %q = state %s missing %d approved %v blocked %v; want %+v", name, g.State, g.Missing, g.ApprovedBy, g.BlockedBy, w)
				}
			}
			for _, name := range tt.absent {
				if _, ok := byName[name]; ok {
					t.Errorf("group %q is in play; groups %v", name, names(d.Groups))
				}
			}
			if tt.note != "" && !strings.Contains(fmt.Sprint(d.Groups), tt.note) {
				t.Errorf("no group notes %q: %+v", tt.note, d.Groups)
			}
			if len(d.Reasons) == 0 {
				t.Error("a decision must give reasons")
			}
		})
	}
}

func TestEvaluateApprovalsRecordsMembership(t *testing.T) {
	cfg := sampleConfig(t)
	d := EvaluateApprovals(ApprovalInput{Files: []string{"infra/main.tf"}, Ownership: cfg.Ownership, Org: "parcelflow", Codeowners: sampleCodeowners(t),
		Author: "alice", HeadSHA: head, Reviews: []Review{approve("dave", head, 1)}, Membership: sampleMembership()})
	want := map[string][]string{"devops": {"dave", "erin"}}
	if !reflect.DeepEqual(d.Membership.Teams, want) {
		t.Errorf("membership relied on = %v, want %v", d.Membership.Teams, want)
	}
	if !d.Membership.AsOf.Equal(sampleMembership().AsOf) {
		t.Errorf("AsOf not kept: %v", d.Membership.AsOf)
	}
	if d.State != StateSuccess {
		t.Errorf("state %s", d.State)
	}
	s := d.Summary("parcelflow")
	for _, want := range []string{"| ✅ | infrastructure | 1 | @dave | — |", "CODEOWNERS @parcelflow/devops"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestEvaluateApprovalsCodeownersEmail(t *testing.T) {
	co, _ := ParseCodeowners("CODEOWNERS", []byte("*.go docs@example.com\n*.md ops@example.com\n"))
	in := ApprovalInput{Files: []string{"main.go", "README.md"}, Codeowners: co, Author: "alice", HeadSHA: head,
		Reviews:    []Review{approve("doc", head, 1)},
		Membership: Membership{Emails: map[string]string{"Docs@Example.com": "Doc"}}}
	d := EvaluateApprovals(in)
	if d.State != StatePending || len(d.Groups) != 2 {
		t.Fatalf("state %s groups %+v", d.State, d.Groups)
	}
	if d.Groups[0].State != StateSuccess || d.Groups[1].State != StatePending || !sameStrings(d.Groups[1].Unresolved, []string{"ops@example.com"}) {
		t.Errorf("groups = %+v", d.Groups)
	}
	if !strings.Contains(d.Summary(""), "ops@example.com") {
		t.Error("summary should name the unresolved owner")
	}
}

func TestPendingSummaryNamesWhoMust(t *testing.T) {
	cfg := sampleConfig(t)
	d := EvaluateApprovals(ApprovalInput{Files: []string{".conveyor.yml"}, Ownership: cfg.Ownership, Org: "parcelflow", Author: "alice", HeadSHA: head,
		Reviews: []Review{approve("dave", head, 1)}, Membership: sampleMembership()})
	s := d.Summary("parcelflow")
	if !strings.Contains(s, "1 more from @parcelflow/data-eng-leads, @parcelflow/devops") {
		t.Errorf("summary:\n%s", s)
	}
	if got := d.Title(); got != "Waiting for 1 of 1 owner group(s)" {
		t.Errorf("title %q", got)
	}
}

func names(gs []OwnerGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func BenchmarkEvaluateApprovals(b *testing.B) {
	var co strings.Builder
	co.WriteString("* @parcelflow/data-eng\n")
	for i := 0; i < 49; i++ {
		fmt.Fprintf(&co, "/area%02d/**/*.sql @parcelflow/team%02d @user%02d\n", i, i%7, i)
	}
	codeowners, errs := ParseCodeowners("CODEOWNERS", []byte(co.String()))
	if len(errs) > 0 || len(codeowners.Rules) != 50 {
		b.Fatalf("rules %d errs %v", len(codeowners.Rules), errs)
	}
	files := make([]string, 500)
	for i := range files {
		files[i] = fmt.Sprintf("area%02d/models/sub%d/model_%03d.sql", i%60, i%5, i)
	}
	members := Membership{Teams: map[string][]string{"data-eng": {"a", "b"}}}
	for i := 0; i < 7; i++ {
		members.Teams[fmt.Sprintf("team%02d", i)] = []string{fmt.Sprintf("m%d", i)}
	}
	cfg := sampleConfig(b)
	in := ApprovalInput{Files: files, Codeowners: codeowners, Ownership: cfg.Ownership, Org: "parcelflow", Author: "x", HeadSHA: head,
		Reviews: []Review{approve("a", head, 1), approve("m1", head, 2), approve("m3", old, 3)}, Membership: members}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d := EvaluateApprovals(in)
		if len(d.Groups) == 0 {
			b.Fatal("no groups")
		}
	}
	b.ReportMetric(float64(len(files)), "files/op")
	b.ReportMetric(float64(len(codeowners.Rules)), "rules")
}

func TestSubjectMatches(t *testing.T) {
	tests := []struct {
		named, subject string
		want           bool
	}{
		{"plan:abcdef0123456789", "plan:abcdef0123456789", true},
		{"plan:abcdef012345", "plan:abcdef0123456789", true},
		{"plan:abcdef01234", "plan:abcdef0123456789", false}, // 11 characters of hash
		{"plan:abcdef012399", "plan:abcdef0123456789", false},
		{"fct_orders@0123456789ab", "fct_orders@0123456789abcdef", true},
		{"fct_orders@0", "fct_orders@0123456789abcdef", false},
		{"dim_orders@0123456789ab", "fct_orders@0123456789abcdef", false},
		{"0123456789abcdef", "0123456789abcdef0000", true}, // a bare hash
		{"plan:abcdef012345 looks right", "plan:abcdef0123456789", true},
		{"plan:abc", "plan:abc", true},
		{"plan:abc lgtm", "plan:abc", true},
		{"plan: abcdef012345", "plan:abcdef0123456789", false},
		{"plan:", "plan:abcdef0123456789", false},
		{"fct_orders v2@0123456789ab", "fct_orders v2@0123456789abcdef", true},
		{"fct_orders@0123456789ab", "fct_orders v2@0123456789abcdef", false},
	}
	for _, tt := range tests {
		t.Run(tt.named, func(t *testing.T) {
			if got := subjectMatches(tt.named, tt.subject); got != tt.want {
				t.Errorf("subjectMatches(%q, %q) = %v, want %v", tt.named, tt.subject, got, tt.want)
			}
		})
	}
}

func TestContractSummaryNamesTheVersionThatGoverns(t *testing.T) {
	cfg := sampleConfig(t)
	d := EvaluateApprovals(ApprovalInput{Files: []string{"contracts/orders.yaml"}, Ownership: cfg.Ownership, Org: "parcelflow", Author: "alice", HeadSHA: head,
		Contracts:  []ContractTeams{{Path: "contracts/orders.yaml", Name: "orders", Owner: "data-eng", Consumers: []string{"analytics"}}},
		Membership: sampleMembership()})
	s := d.Summary("parcelflow")
	for _, want := range []string{
		"| ⏳ | contract orders: consumer (analytics) | 1 | — | 1 more from @parcelflow/analytics |",
		"the base branch's version of contracts/orders.yaml names @parcelflow/analytics as a consumer",
		"the base branch's version of contracts/orders.yaml names @parcelflow/data-eng as the producing team",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if d.Membership.Teams["analytics"] == nil {
		t.Errorf("the decision does not record the consumer team it relied on: %v", d.Membership.Teams)
	}
}
