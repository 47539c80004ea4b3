package policy

import (
	"sort"
	"strings"
)

// principal is one entry of an owner or permission list: a team, a user or
// (in CODEOWNERS only) an email address.
type principal struct {
	Team  string
	User  string
	Email string
}

// parsePrincipal reads "@org/team", "team", "@user" or "someone@example.com".
// Teams of org are named by their bare slug (the form `.conveyor.yml` uses);
// a team of another organization keeps its "org/slug" form so it never
// collides with a local team of the same name.
func parsePrincipal(s, org string) principal {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "@"):
		name := s[1:]
		if o, team, ok := strings.Cut(name, "/"); ok {
			if org == "" || strings.EqualFold(o, org) {
				return principal{Team: strings.ToLower(team)}
			}
			return principal{Team: strings.ToLower(o + "/" + team)}
		}
		return principal{User: strings.ToLower(name)}
	case strings.Contains(s, "@"):
		return principal{Email: strings.ToLower(s)}
	}
	return principal{Team: strings.ToLower(s)}
}

// String renders the principal the way a PR comment mentions it.
func (p principal) String(org string) string {
	switch {
	case p.User != "":
		return "@" + p.User
	case p.Email != "":
		return p.Email
	case strings.Contains(p.Team, "/") || org == "":
		return "@" + strings.TrimPrefix(p.Team, "@")
	}
	return "@" + org + "/" + p.Team
}

// normalizeTeams lower-cases team names and strips the org, the form
// Membership and Actor.Teams use.
func normalizeTeams(teams []string, org string) []string {
	out := make([]string, 0, len(teams))
	for _, t := range teams {
		p := parsePrincipal(t, org)
		if p.Team == "" && p.User != "" {
			p.Team = p.User // a bare "@devops" in a team list means the team
		}
		if p.Team != "" {
			out = append(out, p.Team)
		}
	}
	return uniqueSorted(out)
}

// isBotLogin reports whether login is a GitHub App or bot account.
func isBotLogin(login string) bool { return strings.HasSuffix(strings.ToLower(login), "[bot]") }

func uniqueSorted(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := append([]string(nil), in...)
	sort.Strings(out)
	j := 0
	for i := range out {
		if i == 0 || out[i] != out[j-1] {
			out[j] = out[i]
			j++
		}
	}
	return out[:j]
}
