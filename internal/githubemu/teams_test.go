package githubemu

import (
	"context"
	"testing"

	"github.com/google/go-github/v74/github"
)

func TestTeams(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emu.AddTeam("parcelflow", "data-eng", "alice", "bob")
	f.emu.AddTeam("parcelflow", "devops", "dora")
	f.emu.SetMembers("parcelflow", "data-eng", "alice", "erin")
	f.emu.SetMaintainer("parcelflow", "data-eng", "alice")

	tests := []struct {
		team, user string
		want       int
		role       string
	}{
		{"data-eng", "alice", 200, "maintainer"},
		{"data-eng", "erin", 200, "member"},
		{"data-eng", "bob", 404, ""},
		{"devops", "alice", 404, ""},
		{"nope", "alice", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.team+"/"+tc.user, func(t *testing.T) {
			m, resp, _ := f.gh.Teams.GetTeamMembershipBySlug(ctx, "parcelflow", tc.team, tc.user)
			if resp.StatusCode != tc.want || (tc.want == 200 && m.GetRole() != tc.role) {
				t.Errorf("status %d role %s, want %d %s", resp.StatusCode, m.GetRole(), tc.want, tc.role)
			}
		})
	}
	members := must[[]*github.User](t)(f.gh.Teams.ListTeamMembersBySlug(ctx, "parcelflow", "data-eng", nil))
	if len(members) != 2 || members[0].GetLogin() != "alice" {
		t.Errorf("members = %v", members)
	}
	teams := must[[]*github.Team](t)(f.gh.Teams.ListTeams(ctx, "parcelflow", nil))
	if len(teams) != 2 || teams[0].GetSlug() != "data-eng" {
		t.Errorf("teams = %v", teams)
	}
}
