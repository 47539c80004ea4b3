package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
)

func TestPolicyStoreFreezes(t *testing.T) {
	store.EachDialect(t, "policystorefreezes", testPolicyStoreFreezes)
}

func testPolicyStoreFreezes(t *testing.T, open func(*testing.T) *store.DB) {
	ctx := context.Background()
	s := store.NewPolicyStore(open(t))
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	repo := "parcelflow/data-platform"
	for _, f := range []policy.Freeze{
		{Env: "prod", By: "dana", Reason: "release train", Since: now, Until: now.Add(2 * time.Hour)},
		{Env: "prod", By: "dana", Since: now.Add(-3 * time.Hour), Until: now.Add(-time.Hour)},
		{Env: "staging", By: "dmitri", Since: now, Until: now.Add(time.Hour)},
	} {
		if _, err := s.AddFreeze(ctx, repo, f); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		env  string
		at   time.Time
		want []string // "env by"
	}{
		{"prod now: only the freeze in force", "prod", now, []string{"prod dana"}},
		{"every env", "", now, []string{"staging dmitri", "prod dana"}},
		{"after they end", "", now.Add(3 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := s.Freezes(ctx, repo, tt.env, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.Env+" "+f.By)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("freezes %v, want %v", got, tt.want)
			}
		})
	}
	n, err := s.LiftFreezes(ctx, repo, "prod", "dmitri", now)
	if err != nil || n != 1 {
		t.Fatalf("lifted %d, %v; want 1", n, err)
	}
	if fs, _ := s.Freezes(ctx, repo, "prod", now); len(fs) != 0 {
		t.Errorf("prod still frozen after /unfreeze: %v", fs)
	}
	if fs, _ := s.Freezes(ctx, "parcelflow/other", "", now); len(fs) != 0 {
		t.Errorf("another repo sees the freezes: %v", fs)
	}
}

func TestPolicyStoreMembershipDecisionsAndCommands(t *testing.T) {
	store.EachDialect(t, "policystoremembershi", testPolicyStoreMembershipDecisionsAndCommands)
}

func testPolicyStoreMembershipDecisionsAndCommands(t *testing.T, open func(*testing.T) *store.DB) {
	ctx := context.Background()
	s := store.NewPolicyStore(open(t))
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

	if _, err := s.TeamMembers(ctx, "parcelflow", "devops"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("uncached team: %v, want ErrNotFound", err)
	}
	if err := s.PutTeamMembers(ctx, "ParcelFlow", "DevOps", []string{"Dmitri", "dana"}, at); err != nil {
		t.Fatal(err)
	}
	tm, err := s.TeamMembers(ctx, "parcelflow", "devops")
	if err != nil || !slices.Equal(tm.Members, []string{"dana", "dmitri"}) || !tm.FetchedAt.Equal(at) {
		t.Fatalf("cached %+v, %v", tm, err)
	}
	if err := s.ForgetTeam(ctx, "parcelflow", "devops"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TeamMembers(ctx, "parcelflow", "devops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("forgotten team still cached: %v", err)
	}

	for _, d := range []store.DecisionRecord{
		{Repo: "parcelflow/a", PR: 1, SHA: "s1", State: "pending", Teams: []string{"parcelflow/devops"}, At: at},
		{Repo: "parcelflow/a", PR: 2, SHA: "s2", State: "success", Teams: []string{"parcelflow/data-eng"}, At: at},
		{Repo: "parcelflow/a", PR: 1, SHA: "s3", State: "success", Teams: []string{"parcelflow/devops", "parcelflow/data-eng"}, At: at.Add(time.Minute)},
	} {
		if err := s.PutDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.DecisionsRelyingOn(ctx, "parcelflow/devops", 0)
	if err != nil || len(ds) != 1 || ds[0].SHA != "s3" {
		t.Errorf("decisions relying on devops: %+v, %v; want only PR 1's latest", ds, err)
	}
	if ds, _ := s.DecisionsRelyingOn(ctx, "parcelflow/data-eng", 0); len(ds) != 2 {
		t.Errorf("%d decisions rely on data-eng, want 2", len(ds))
	}

	rec := store.CommandRecord{Repo: "parcelflow/a", CommentID: 9, Line: 2, Name: "lock", Delivery: "d1", State: store.CommandRunning, ReplyID: 11}
	if err := s.PutCommand(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.State = store.CommandDone
	if err := s.PutCommand(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Command(ctx, "parcelflow/a", 9, 2)
	if err != nil || got.State != store.CommandDone || got.ReplyID != 11 {
		t.Errorf("command record %+v, %v", got, err)
	}
	if _, err := s.Command(ctx, "parcelflow/a", 9, 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another line: %v, want ErrNotFound", err)
	}

	sig := []policy.Signal{{Kind: policy.SignalInfrastructure, Reason: "terraform"}}
	if err := s.PutCheckResult(ctx, "parcelflow/a", "s3", store.CheckRecord{Check: "conveyor/terraform", Conclusion: "success", Signals: sig}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCheckResult(ctx, "parcelflow/a", "s3", store.CheckRecord{Check: "conveyor/terraform", Conclusion: "failure"}); err != nil {
		t.Fatal(err)
	}
	rs, err := s.CheckResults(ctx, "parcelflow/a", "s3")
	if err != nil || len(rs) != 1 || rs[0].Conclusion != "failure" || len(rs[0].Signals) != 0 {
		t.Errorf("check results %+v, %v; want the latest result only", rs, err)
	}
}
