package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/parcelflow/conveyor/config"
)

// PolicyCheckName is the check run that reports the ownership decision.
const PolicyCheckName = "conveyor/policy"

// CheckPrefix starts the name of every check run Conveyor creates. A run so
// named counts in a gate only when Conveyor itself created it.
const CheckPrefix = "conveyor/"

// ReviewState is a pull request review's state, in GitHub's words.
type ReviewState string

// Review states.
const (
	ReviewApproved         ReviewState = "APPROVED"
	ReviewChangesRequested ReviewState = "CHANGES_REQUESTED"
	ReviewDismissed        ReviewState = "DISMISSED"
	ReviewCommented        ReviewState = "COMMENTED"
	ReviewPending          ReviewState = "PENDING"
)

// Review is one submitted pull request review.
type Review struct {
	User        string      `json:"user"`
	State       ReviewState `json:"state"`
	CommitSHA   string      `json:"commit_sha"`
	SubmittedAt time.Time   `json:"submitted_at"`
	IsBot       bool        `json:"is_bot,omitempty"`
	// Body may bind the approval to a subject with a line "/approve <subject>".
	Body string `json:"body,omitempty"`
}

// Membership is the team membership a decision relies on, as resolved
// through GitHub's API (usually from the cache).
type Membership struct {
	// Teams maps a team slug (lower case; "org/slug" for another
	// organization's team) to its members' logins. A team absent from the map
	// was not resolved, and its members cannot approve.
	Teams map[string][]string `json:"teams"`
	// Emails maps an email address named in CODEOWNERS to its user's login.
	Emails map[string]string `json:"emails,omitempty"`
	// AsOf is when the membership was read from GitHub.
	AsOf time.Time `json:"as_of"`
}

// ApprovalInput is everything the ownership decision looks at.
type ApprovalInput struct {
	// Files are the changed paths (for a rename, both old and new path).
	Files []string
	// Codeowners is the base branch's CODEOWNERS; nil when there is none.
	Codeowners *Codeowners
	// Ownership is the base branch's `ownership` section.
	Ownership config.Ownership
	// Org is the GitHub organization whose teams are named by bare slug.
	Org string
	// Requirements are approvals the checks demand (contract consumers, plans).
	Requirements []ApprovalRequirement
	// Contracts are the teams each changed data contract names. With
	// `ownership.contract_consumers` on (the default), the producing team and
	// every consumer team of each one must approve.
	Contracts  []ContractTeams
	Author     string
	HeadSHA    string
	Reviews    []Review
	Membership Membership
}

// ContractTeams is who one changed data contract names. The handler reads
// them from the base branch's version of the file, so a PR cannot drop a
// consumer to avoid that consumer's approval; only a contract the base
// branch does not have yet is read from the PR's head.
type ContractTeams struct {
	// Path is the changed contract file.
	Path string `json:"path"`
	// Name identifies the contract in summaries; the path when empty.
	Name string `json:"name,omitempty"`
	// Owner is the producing team; Consumers are the teams that read the data.
	Owner     string   `json:"owner,omitempty"`
	Consumers []string `json:"consumers,omitempty"`
	// FromHead is true when the teams come from the PR (a new contract).
	FromHead bool `json:"from_head,omitempty"`
}

// Group sources.
const (
	SourceOwnership  = "ownership"
	SourceCodeowners = "codeowners"
	SourceContract   = "contract"
	SourceCheck      = "check"
)

// Decision states, shared by the approval and promotion decisions.
const (
	StateSuccess = "success"
	StatePending = "pending"
	StateFailure = "failure"
)

// OwnerGroup is one set of owners who must approve, and how far they are.
type OwnerGroup struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// Reason says why the group is in play (a check's requirement).
	Reason string `json:"reason,omitempty"`
	// Files are the changed files that put the group in play.
	Files []string `json:"files,omitempty"`
	// Teams and Users may approve; Teams are slugs, Users logins.
	Teams []string `json:"teams,omitempty"`
	Users []string `json:"users,omitempty"`
	// Required approvals; Missing is how many are still needed.
	Required int `json:"required"`
	Missing  int `json:"missing"`
	// InvalidateOnPush: only approvals of the head commit count.
	InvalidateOnPush bool `json:"invalidate_on_push"`
	// Subject binds approvals to a content hash (a plan, a contract version).
	Subject string `json:"subject,omitempty"`
	// SubjectSince is when Subject came into force at the head commit; zero
	// when unknown.
	SubjectSince time.Time `json:"subject_since,omitzero"`
	ApprovedBy   []string  `json:"approved_by"`
	// BlockedBy are owners whose latest review requests changes.
	BlockedBy []string `json:"blocked_by,omitempty"`
	// Stale are owners whose approval no longer counts (older commit, other subject).
	Stale []string `json:"stale,omitempty"`
	// Unresolved are teams or emails whose members are unknown.
	Unresolved []string `json:"unresolved,omitempty"`
	State      string   `json:"state"`
	Notes      []string `json:"notes,omitempty"`
}

// ApprovalDecision is the outcome of the `conveyor/policy` check.
type ApprovalDecision struct {
	State   string       `json:"state"`
	HeadSHA string       `json:"head_sha"`
	Groups  []OwnerGroup `json:"groups"`
	Reasons []string     `json:"reasons"`
	// Membership is the team membership the decision relied on, recorded so
	// an audit can show who was on each team at that moment.
	Membership Membership `json:"membership"`
}

// EvaluateApprovals decides whether every owner group has approved the head
// of a pull request. Each ownership rule matching a changed file is a group;
// CODEOWNERS adds one group per distinct owner set; each team of a check's
// ApprovalRequirement is a group of its own (every consumer team must
// approve). The author's approval never counts, bots never count, and a
// "changes requested" review from an owner blocks.
func EvaluateApprovals(in ApprovalInput) ApprovalDecision {
	latest := latestReviews(in.Reviews)
	groups := ownerGroups(in)
	d := ApprovalDecision{State: StateSuccess, HeadSHA: in.HeadSHA, Groups: groups}
	relied := map[string]bool{}
	for i := range d.Groups {
		g := &d.Groups[i]
		evaluateGroup(g, in, latest)
		for _, t := range g.Teams {
			relied[t] = true
		}
		switch g.State {
		case StateFailure:
			d.State = StateFailure
			d.Reasons = append(d.Reasons, fmt.Sprintf("%s: changes requested by %s", g.Name, mentionAll(g.BlockedBy)))
		case StatePending:
			if d.State == StateSuccess {
				d.State = StatePending
			}
			d.Reasons = append(d.Reasons, fmt.Sprintf("%s: needs %d more approval(s) from %s", g.Name, g.Missing, whoMay(*g, in.Org)))
		}
	}
	if len(d.Groups) == 0 {
		d.Reasons = append(d.Reasons, "no owner group covers the changed files")
	} else if d.State == StateSuccess {
		d.Reasons = append(d.Reasons, fmt.Sprintf("all %d owner group(s) approved %s", len(d.Groups), shortSHA(in.HeadSHA)))
	}
	d.Membership = Membership{Teams: map[string][]string{}, AsOf: in.Membership.AsOf}
	for t := range relied {
		if members, ok := in.Membership.Teams[t]; ok {
			d.Membership.Teams[t] = uniqueSorted(lowerAll(members))
		}
	}
	for email, login := range in.Membership.Emails {
		if d.Membership.Emails == nil {
			d.Membership.Emails = map[string]string{}
		}
		d.Membership.Emails[strings.ToLower(email)] = strings.ToLower(login)
	}
	return d
}

// latestReviews keeps each user's latest review that states a position:
// approvals, change requests and dismissals; comments do not change a position.
func latestReviews(reviews []Review) map[string]Review {
	sorted := append([]Review(nil), reviews...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].SubmittedAt.Before(sorted[j].SubmittedAt) })
	out := map[string]Review{}
	for _, r := range sorted {
		switch r.State {
		case ReviewApproved, ReviewChangesRequested, ReviewDismissed:
			out[strings.ToLower(r.User)] = r
		}
	}
	return out
}

// Push invalidation of one file, as the ownership rules covering it decide.
const (
	fileUncovered  = iota // no rule covers the file: the repo default applies
	fileKeeps             // every rule covering it keeps approvals across pushes
	fileInvalidate        // some rule covering it drops approvals on a push
)

func ownerGroups(in ApprovalInput) []OwnerGroup {
	defaultInvalidate := boolOr(in.Ownership.InvalidateOnPush, true)
	// byFile records, per changed file, whether the rules covering it keep
	// approvals across pushes, so that a CODEOWNERS or contract group over the
	// same files follows the rules rather than the repo default.
	byFile := make(map[string]int, len(in.Files))
	var groups []OwnerGroup
	for _, rule := range in.Ownership.Rules {
		invalidate := boolOr(rule.InvalidateOnPush, defaultInvalidate)
		var files []string
		for _, f := range in.Files {
			for _, p := range rule.Paths {
				if ok, _ := doublestar.Match(p, f); ok {
					files = append(files, f)
					if invalidate {
						byFile[f] = fileInvalidate
					} else if byFile[f] == fileUncovered {
						byFile[f] = fileKeeps
					}
					break
				}
			}
		}
		if len(files) == 0 {
			continue
		}
		var users []string
		for _, u := range rule.Users {
			users = append(users, strings.ToLower(strings.TrimPrefix(u, "@")))
		}
		groups = append(groups, OwnerGroup{
			Name:             ruleName(rule),
			Source:           SourceOwnership,
			Files:            files,
			Teams:            normalizeTeams(rule.Teams, in.Org),
			Users:            uniqueSorted(users),
			Required:         max(rule.Approvals, 1),
			InvalidateOnPush: invalidate,
		})
	}
	// invalidates decides a group over files: a push drops its approvals when
	// it drops them for any of its files.
	invalidates := func(files []string) bool {
		for _, f := range files {
			switch byFile[f] {
			case fileInvalidate:
				return true
			case fileUncovered:
				if defaultInvalidate {
					return true
				}
			}
		}
		return false
	}
	if in.Codeowners != nil && boolOr(in.Ownership.CodeOwners, true) {
		byOwners := map[string]*OwnerGroup{}
		var order []string
		for _, f := range in.Files {
			owners := in.Codeowners.Owners(f)
			if len(owners) == 0 {
				continue
			}
			key := strings.Join(owners, " ")
			g, ok := byOwners[key]
			if !ok {
				g = &OwnerGroup{Name: "CODEOWNERS " + key, Source: SourceCodeowners, Required: 1}
				var teams []string
				for _, o := range owners {
					p := parsePrincipal(o, in.Org)
					switch {
					case p.Team != "":
						teams = append(teams, p.Team)
					case p.User != "":
						g.Users = append(g.Users, p.User)
					case p.Email != "":
						if login, ok := lookupEmail(in.Membership.Emails, p.Email); ok {
							g.Users = append(g.Users, login)
						} else {
							g.Unresolved = append(g.Unresolved, p.Email)
						}
					}
				}
				g.Teams = uniqueSorted(teams)
				g.Users = uniqueSorted(g.Users)
				byOwners[key] = g
				order = append(order, key)
			}
			g.Files = append(g.Files, f)
		}
		for _, k := range order {
			g := byOwners[k]
			g.InvalidateOnPush = invalidates(g.Files)
			groups = append(groups, *g)
		}
	}
	if boolOr(in.Ownership.ContractConsumers, true) {
		groups = append(groups, contractGroups(in, invalidates)...)
	}
	for _, req := range in.Requirements {
		teams := normalizeTeams(req.Teams, in.Org)
		if len(teams) == 0 {
			groups = append(groups, OwnerGroup{Name: req.Name, Source: SourceCheck, Reason: req.Reason, Required: 1, Subject: req.Subject,
				SubjectSince: req.Since, InvalidateOnPush: defaultInvalidate, Unresolved: []string{"(no team named)"}})
			continue
		}
		for _, t := range teams {
			name := req.Name
			if len(teams) > 1 {
				name = fmt.Sprintf("%s (%s)", req.Name, t)
			}
			groups = append(groups, OwnerGroup{Name: name, Source: SourceCheck, Reason: req.Reason, Teams: []string{t}, Required: 1,
				Subject: req.Subject, SubjectSince: req.Since, InvalidateOnPush: defaultInvalidate})
		}
	}
	return groups
}

// contractGroups puts the producing team and each consumer team of every
// changed contract in play, one group per team, so each team must approve on
// its own. A contract that names no producing team gets a group nobody can
// satisfy: a contract without an owner is not approved by default.
func contractGroups(in ApprovalInput, invalidates func([]string) bool) []OwnerGroup {
	changed := make(map[string]bool, len(in.Files))
	for _, f := range in.Files {
		changed[f] = true
	}
	var groups []OwnerGroup
	seen := map[string]bool{}
	for _, c := range in.Contracts {
		if !changed[c.Path] || seen[c.Path] {
			continue
		}
		seen[c.Path] = true
		name := c.Name
		if name == "" {
			name = c.Path
		}
		version := "the base branch's version of " + c.Path
		if c.FromHead {
			version = c.Path + " (a new contract)"
		}
		invalidate := invalidates([]string{c.Path})
		owner := normalizeTeams([]string{c.Owner}, in.Org)
		producer := OwnerGroup{Name: fmt.Sprintf("contract %s: producer", name), Source: SourceContract, Files: []string{c.Path},
			Required: 1, InvalidateOnPush: invalidate}
		if len(owner) == 0 {
			producer.Reason = version + " names no producing team"
			producer.Unresolved = []string{"(no producing team named in the contract)"}
		} else {
			producer.Name += fmt.Sprintf(" (%s)", owner[0])
			producer.Teams = owner
			producer.Reason = fmt.Sprintf("%s names %s as the producing team", version, principal{Team: owner[0]}.String(in.Org))
		}
		groups = append(groups, producer)
		for _, t := range normalizeTeams(c.Consumers, in.Org) {
			if len(owner) > 0 && t == owner[0] {
				continue // the producer's own approval already stands for it
			}
			groups = append(groups, OwnerGroup{Name: fmt.Sprintf("contract %s: consumer (%s)", name, t), Source: SourceContract,
				Files: []string{c.Path}, Teams: []string{t}, Required: 1, InvalidateOnPush: invalidate,
				Reason: fmt.Sprintf("%s names %s as a consumer", version, principal{Team: t}.String(in.Org))})
		}
	}
	return groups
}

func evaluateGroup(g *OwnerGroup, in ApprovalInput, latest map[string]Review) {
	eligible := map[string]bool{}
	for _, u := range g.Users {
		eligible[u] = true
	}
	for _, t := range g.Teams {
		members, ok := in.Membership.Teams[t]
		if !ok {
			g.Unresolved = append(g.Unresolved, "@"+t)
			continue
		}
		for _, m := range members {
			eligible[strings.ToLower(m)] = true
		}
	}
	author := strings.ToLower(in.Author)
	users := make([]string, 0, len(latest))
	for u := range latest {
		users = append(users, u)
	}
	sort.Strings(users)
	g.ApprovedBy = []string{}
	for _, u := range users {
		r := latest[u]
		if !eligible[u] {
			continue
		}
		if r.IsBot || isBotLogin(u) {
			g.Notes = append(g.Notes, fmt.Sprintf("@%s is a bot; bots never count", u))
			continue
		}
		if u == author {
			if r.State == ReviewApproved {
				g.Notes = append(g.Notes, fmt.Sprintf("@%s wrote the change; the author's own approval never counts", u))
			}
			continue
		}
		switch r.State {
		case ReviewChangesRequested:
			g.BlockedBy = append(g.BlockedBy, u)
		case ReviewApproved:
			if ok, why := approvalCounts(*g, r, in.HeadSHA); ok {
				g.ApprovedBy = append(g.ApprovedBy, u)
			} else {
				g.Stale = append(g.Stale, u)
				g.Notes = append(g.Notes, fmt.Sprintf("@%s's approval does not count: %s", u, why))
			}
		}
	}
	g.Missing = max(0, g.Required-len(g.ApprovedBy))
	possible := 0
	for u := range eligible {
		if u != author && !isBotLogin(u) {
			possible++
		}
	}
	if len(g.Unresolved) == 0 && possible < g.Required {
		g.Notes = append(g.Notes, fmt.Sprintf("only %d person(s) other than the author can approve, %d required", possible, g.Required))
	}
	switch {
	case len(g.BlockedBy) > 0:
		g.State = StateFailure
	case g.Missing > 0:
		g.State = StatePending
	default:
		g.State = StateSuccess
	}
}

// approvalCounts applies push invalidation and subject binding to one
// approving review. A review names a subject with a line "/approve <subject>"
// (the hash may be abbreviated to 12 characters). An approval that names the
// group's subject counts whatever commit it was given on: the subject is the
// hash of exactly what was approved. An approval that names no subject counts
// for a subject-bound group only when it was given on the head commit after
// the subject came into force there: a plan regenerated at the same commit is
// a different plan, and an approval of the first must not carry over to it.
// An approval that names a different subject never counts.
func approvalCounts(g OwnerGroup, r Review, head string) (bool, string) {
	named := approvedSubjects(r.Body)
	if g.Subject != "" {
		if len(named) > 0 {
			for _, s := range named {
				if subjectMatches(s, g.Subject) {
					return true, ""
				}
			}
			return false, fmt.Sprintf("it approves %s, not %s", strings.Join(named, ", "), g.Subject)
		}
		switch {
		case r.CommitSHA != head:
			return false, fmt.Sprintf("it was given on %s, before the latest push, and names no subject", shortSHA(r.CommitSHA))
		case g.SubjectSince.IsZero():
			return false, fmt.Sprintf("it names no subject, and when %s was produced is not known; approve with `%s`", g.Subject, ApprovalSubject(g.Subject))
		case r.SubmittedAt.Before(g.SubjectSince):
			return false, fmt.Sprintf("it was given at %s, before %s was produced at %s; approve again, or with `%s`",
				r.SubmittedAt.UTC().Format(time.RFC3339), g.Subject, g.SubjectSince.UTC().Format(time.RFC3339), ApprovalSubject(g.Subject))
		}
		return true, ""
	}
	if g.InvalidateOnPush && r.CommitSHA != head {
		return false, fmt.Sprintf("it was given on %s, before the latest push", shortSHA(r.CommitSHA))
	}
	return true, ""
}

// approvedSubjects returns what each "/approve <subject>" line names: the
// rest of the line, since a subject may hold spaces ("fct_orders v2@…").
func approvedSubjects(body string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		if len(f) >= 2 && strings.EqualFold(f[0], "/approve") {
			out = append(out, strings.TrimSpace(line[len(f[0]):]))
		}
	}
	return out
}

// subjectMatches accepts the subject itself or an abbreviation of its hash:
// "plan:3f9a…" and "fct_orders@3f9a…" may shorten the part after the last
// ':' or '@' to no fewer than 12 characters, like a git SHA. Words after the
// hash are a reviewer's remark and do not matter.
func subjectMatches(named, subject string) bool {
	if named == subject {
		return true
	}
	i := strings.LastIndexAny(subject, ":@")
	label, hash := subject[:i+1], subject[i+1:]
	rest, ok := strings.CutPrefix(named, label)
	if !ok {
		return false
	}
	f := strings.Fields(rest)
	if len(f) == 0 || rest[0] == ' ' || rest[0] == '\t' {
		return false
	}
	short := f[0]
	return short == hash || (len(short) >= 12 && strings.HasPrefix(hash, short))
}

// ApprovalSubject returns the "/approve" line a reviewer writes in a review
// to approve subject; the check's summary shows it so reviewers can copy it.
func ApprovalSubject(subject string) string { return "/approve " + subject }

func lookupEmail(emails map[string]string, email string) (string, bool) {
	for e, login := range emails {
		if strings.EqualFold(e, email) {
			return strings.ToLower(login), true
		}
	}
	return "", false
}

func ruleName(r config.OwnershipRule) string {
	if r.Name != "" {
		return r.Name
	}
	return strings.Join(r.Paths, ", ")
}

func whoMay(g OwnerGroup, org string) string {
	var who []string
	for _, t := range g.Teams {
		who = append(who, principal{Team: t}.String(org))
	}
	for _, u := range g.Users {
		who = append(who, "@"+u)
	}
	who = append(who, g.Unresolved...)
	if len(who) == 0 {
		return "nobody (no owner named)"
	}
	return strings.Join(uniqueSorted(who), ", ")
}

func mentionAll(users []string) string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = "@" + u
	}
	return strings.Join(out, ", ")
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	if sha == "" {
		return "(unknown commit)"
	}
	return sha
}

// Title is the check run's one-line title.
func (d ApprovalDecision) Title() string {
	waiting, blocked := 0, 0
	for _, g := range d.Groups {
		switch g.State {
		case StatePending:
			waiting++
		case StateFailure:
			blocked++
		}
	}
	switch {
	case blocked > 0:
		return fmt.Sprintf("Changes requested by owners of %d group(s)", blocked)
	case waiting > 0:
		return fmt.Sprintf("Waiting for %d of %d owner group(s)", waiting, len(d.Groups))
	case len(d.Groups) == 0:
		return "No owner approval needed"
	}
	return fmt.Sprintf("Approved by all %d owner group(s)", len(d.Groups))
}

// Summary renders the check run's summary: a table of owner groups, who
// approved and who still must.
func (d ApprovalDecision) Summary(org string) string {
	var b strings.Builder
	if len(d.Groups) == 0 {
		b.WriteString("No ownership rule or CODEOWNERS entry covers the changed files.\n")
		return b.String()
	}
	b.WriteString("| | Owner group | Needs | Approved by | Still must approve |\n|---|---|---|---|---|\n")
	for _, g := range d.Groups {
		icon := map[string]string{StateSuccess: "✅", StatePending: "⏳", StateFailure: "❌"}[g.State]
		approved := "—"
		if len(g.ApprovedBy) > 0 {
			approved = mentionAll(g.ApprovedBy)
		}
		still := "—"
		switch {
		case len(g.BlockedBy) > 0:
			still = "changes requested by " + mentionAll(g.BlockedBy)
		case g.Missing > 0:
			still = fmt.Sprintf("%d more from %s", g.Missing, whoMay(g, org))
		}
		name := g.Name
		if g.Subject != "" {
			name += fmt.Sprintf(" (approve with `%s` in a review)", ApprovalSubject(g.Subject))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |\n", icon, escapeCell(name), g.Required, approved, escapeCell(still))
	}
	var notes []string
	for _, g := range d.Groups {
		if g.Source == SourceContract && g.Reason != "" {
			// Says which version of the contract named the team, so nobody
			// wonders why a consumer the PR removed must still approve.
			notes = append(notes, g.Name+": "+g.Reason)
		}
		for _, n := range g.Notes {
			notes = append(notes, g.Name+": "+n)
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range uniqueSorted(notes) {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
