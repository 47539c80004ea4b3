package githubemu

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

type userRec struct {
	login string
	id    int64
	typ   string // User, Bot or Organization
}

// user returns the record for login, creating it on first mention so tests need not
// declare every user. Logins ending in "[bot]" are bots, as on GitHub. Callers hold e.mu.
func (e *Emulator) user(login string) *userRec {
	k := strings.ToLower(login)
	if u, ok := e.users[k]; ok {
		return u
	}
	u := &userRec{login: login, id: e.newID(), typ: "User"}
	if strings.HasSuffix(login, "[bot]") {
		u.typ = "Bot"
	}
	e.users[k] = u
	return u
}

// SetBot marks login as a bot account (type "Bot"), for bots whose login has no "[bot]"
// suffix, such as machine users.
func (e *Emulator) SetBot(login string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.user(login).typ = "Bot"
}

// userJSON is GitHub's "simple user". Callers hold e.mu.
func (e *Emulator) userJSON(login string) map[string]any {
	u := e.user(login)
	return map[string]any{
		"login":      u.login,
		"id":         u.id,
		"node_id":    fmt.Sprintf("MDQ6VXNlcj%d", u.id),
		"avatar_url": e.htmlURL("/avatars/u/%d", u.id),
		"url":        e.apiURL("/users/%s", u.login),
		"html_url":   e.htmlURL("/%s", u.login),
		"type":       u.typ,
		"site_admin": false,
	}
}

// Team is an organization team. Read it through its methods; change it through the
// Emulator so the matching webhooks are sent.
type Team struct {
	emu     *Emulator
	ID      int64
	Org     string
	Slug    string
	Name    string
	members map[string]string // lower(login) -> role (member|maintainer)
	logins  map[string]string // lower(login) -> login as given
}

// Members lists the team's logins, sorted.
func (t *Team) Members() []string {
	t.emu.mu.Lock()
	defer t.emu.mu.Unlock()
	return t.memberLogins()
}

func (t *Team) memberLogins() []string {
	out := make([]string, 0, len(t.logins))
	for _, l := range t.logins {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

func teamKey(org, slug string) string { return strings.ToLower(org + "/" + slug) }

// AddTeam creates a team (sending a "team" created webhook) with the given members, who
// also become organization members. Adding an existing team adds the members to it.
func (e *Emulator) AddTeam(org, slug string, members ...string) *Team {
	e.mu.Lock()
	t, ok := e.teams[teamKey(org, slug)]
	var evs []pendingEvent
	if !ok {
		t = &Team{emu: e, ID: e.newID(), Org: org, Slug: slug, Name: slug, members: map[string]string{}, logins: map[string]string{}}
		e.teams[teamKey(org, slug)] = t
		evs = append(evs, pendingEvent{"team", e.teamPayload(t, "created", e.opts.Account)})
	}
	for _, m := range members {
		if _, in := t.members[strings.ToLower(m)]; !in {
			evs = append(evs, e.addMemberLocked(t, m))
		}
	}
	e.mu.Unlock()
	e.dispatch(evs...)
	return t
}

// SetMembers makes the team's members exactly members, sending membership added/removed
// webhooks for the difference.
func (e *Emulator) SetMembers(org, slug string, members ...string) {
	t := e.AddTeam(org, slug)
	e.mu.Lock()
	want := map[string]bool{}
	var evs []pendingEvent
	for _, m := range members {
		want[strings.ToLower(m)] = true
		if _, in := t.members[strings.ToLower(m)]; !in {
			evs = append(evs, e.addMemberLocked(t, m))
		}
	}
	for k, login := range t.logins {
		if !want[k] {
			delete(t.members, k)
			delete(t.logins, k)
			evs = append(evs, pendingEvent{"membership", e.membershipPayload(t, login, "removed")})
		}
	}
	e.mu.Unlock()
	e.dispatch(evs...)
}

// RemoveMember takes login out of a team, sending membership "removed".
func (e *Emulator) RemoveMember(org, slug, login string) {
	e.mu.Lock()
	t, ok := e.teams[teamKey(org, slug)]
	var evs []pendingEvent
	if ok {
		if _, in := t.members[strings.ToLower(login)]; in {
			delete(t.members, strings.ToLower(login))
			delete(t.logins, strings.ToLower(login))
			evs = append(evs, pendingEvent{"membership", e.membershipPayload(t, login, "removed")})
		}
	}
	e.mu.Unlock()
	e.dispatch(evs...)
}

// SetMaintainer gives login the maintainer role in the team (it must be a member).
func (e *Emulator) SetMaintainer(org, slug, login string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.teams[teamKey(org, slug)]; ok {
		if _, in := t.members[strings.ToLower(login)]; in {
			t.members[strings.ToLower(login)] = "maintainer"
		}
	}
}

func (e *Emulator) addMemberLocked(t *Team, login string) pendingEvent {
	t.members[strings.ToLower(login)] = "member"
	t.logins[strings.ToLower(login)] = login
	e.addOrgMemberLocked(t.Org, login)
	return pendingEvent{"membership", e.membershipPayload(t, login, "added")}
}

// AddOrgMember makes login a member of org, which changes the author_association GitHub
// reports for them to MEMBER.
func (e *Emulator) AddOrgMember(org, login string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addOrgMemberLocked(org, login)
}

func (e *Emulator) addOrgMemberLocked(org, login string) {
	k := strings.ToLower(org)
	if e.orgMembers[k] == nil {
		e.orgMembers[k] = map[string]bool{}
	}
	e.orgMembers[k][strings.ToLower(login)] = true
}

func (e *Emulator) teamJSON(t *Team) map[string]any {
	return map[string]any{
		"id": t.ID, "node_id": fmt.Sprintf("MDQ6VGVhbT%d", t.ID), "name": t.Name, "slug": t.Slug,
		"description": "", "privacy": "closed", "notification_setting": "notifications_enabled",
		"permission": "pull", "url": e.apiURL("/organizations/%d/team/%d", e.user(t.Org).id, t.ID),
		"html_url":         e.htmlURL("/orgs/%s/teams/%s", t.Org, t.Slug),
		"members_url":      e.apiURL("/organizations/%d/team/%d/members{/member}", e.user(t.Org).id, t.ID),
		"repositories_url": e.apiURL("/organizations/%d/team/%d/repos", e.user(t.Org).id, t.ID),
		"parent":           nil,
	}
}

func (e *Emulator) orgJSON(org string) map[string]any {
	u := e.user(org)
	return map[string]any{
		"login": u.login, "id": u.id, "node_id": fmt.Sprintf("MDEyOk9yZ2FuaXphdGlvbj%d", u.id),
		"url": e.apiURL("/orgs/%s", u.login), "description": "",
	}
}

func (e *Emulator) teamPayload(t *Team, action, sender string) map[string]any {
	return map[string]any{
		"action": action, "team": e.teamJSON(t), "organization": e.orgJSON(t.Org),
		"sender": e.userJSON(sender), "installation": e.installationRef(),
	}
}

func (e *Emulator) membershipPayload(t *Team, login, action string) map[string]any {
	return map[string]any{
		"action": action, "scope": "team", "member": e.userJSON(login), "team": e.teamJSON(t),
		"organization": e.orgJSON(t.Org), "sender": e.userJSON(e.opts.Account), "installation": e.installationRef(),
	}
}

func (e *Emulator) lookupTeam(w http.ResponseWriter, r *http.Request) (*Team, bool) {
	t, ok := e.teams[teamKey(r.PathValue("org"), r.PathValue("slug"))]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
	}
	return t, ok
}

func (e *Emulator) listTeams(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	org := strings.ToLower(r.PathValue("org"))
	var ts []*Team
	for _, t := range e.teams {
		if strings.ToLower(t.Org) == org {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b *Team) int { return strings.Compare(a.Slug, b.Slug) })
	start, end := paginate(w, r, len(ts))
	out := []any{}
	for _, t := range ts[start:end] {
		out = append(out, e.teamJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getTeam(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.lookupTeam(w, r); ok {
		writeJSON(w, http.StatusOK, e.teamJSON(t))
	}
}

func (e *Emulator) listTeamMembers(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.lookupTeam(w, r)
	if !ok {
		return
	}
	role := r.URL.Query().Get("role")
	var logins []string
	for _, l := range t.memberLogins() {
		if role == "" || role == "all" || t.members[strings.ToLower(l)] == role {
			logins = append(logins, l)
		}
	}
	start, end := paginate(w, r, len(logins))
	out := []any{}
	for _, l := range logins[start:end] {
		out = append(out, e.userJSON(l))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getTeamMembership(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.lookupTeam(w, r)
	if !ok {
		return
	}
	login := r.PathValue("user")
	role, in := t.members[strings.ToLower(login)]
	if !in {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":   e.apiURL("/organizations/%d/team/%d/memberships/%s", e.user(t.Org).id, t.ID, login),
		"role":  role,
		"state": "active",
	})
}

// checkOrgMember answers 204 for members and 404 otherwise, as GitHub does for an app.
func (e *Emulator) checkOrgMember(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.orgMembers[strings.ToLower(r.PathValue("org"))][strings.ToLower(r.PathValue("user"))] {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, http.StatusNotFound, "Not Found")
}
