package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
)

// maxReevaluations bounds how many pull requests one team change re-decides.
const maxReevaluations = 100

// teamRef is one GitHub team: its organization and slug, both lower case.
type teamRef struct{ Org, Slug string }

func (t teamRef) String() string { return t.Org + "/" + t.Slug }

// teamFor resolves a team as the policy names it ("devops", or "other/devops"
// for another organization's team) against the config's organization.
func teamFor(name, org string) teamRef {
	name = strings.ToLower(strings.TrimPrefix(name, "@"))
	if o, slug, ok := strings.Cut(name, "/"); ok {
		return teamRef{Org: o, Slug: slug}
	}
	return teamRef{Org: strings.ToLower(org), Slug: name}
}

// membership resolves team membership through GitHub's API, cached in the
// store. Entries older than MembershipTTL are read again; membership and team
// webhooks refresh them at once.
func (b *Base) membership(ctx context.Context, gh *github.Client, org string, teams []string) (policy.Membership, error) {
	m := policy.Membership{Teams: map[string][]string{}}
	for _, name := range teams {
		ref := teamFor(name, org)
		if ref.Org == "" || ref.Slug == "" {
			continue
		}
		members, at, found, err := b.teamMembers(ctx, gh, ref, false)
		if err != nil {
			return m, err
		}
		if !found {
			continue // an unknown team stays unresolved: its members cannot approve
		}
		m.Teams[strings.ToLower(name)] = members
		if m.AsOf.IsZero() || at.Before(m.AsOf) {
			m.AsOf = at
		}
	}
	if m.AsOf.IsZero() {
		m.AsOf = b.now()
	}
	return m, nil
}

// teamMembers returns a team's members from the cache, or from GitHub when
// the cache has none, they are stale, or refresh is set. found is false when
// GitHub does not know the team.
func (b *Base) teamMembers(ctx context.Context, gh *github.Client, ref teamRef, refresh bool) (members []string, at time.Time, found bool, err error) {
	if b.deps.Policy == nil {
		return nil, time.Time{}, false, errors.New("handlers: no policy store configured")
	}
	if !refresh {
		cached, err := b.deps.Policy.TeamMembers(ctx, ref.Org, ref.Slug)
		switch {
		case err == nil && b.now().Sub(cached.FetchedAt) < b.deps.MembershipTTL:
			return cached.Members, cached.FetchedAt, true, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, time.Time{}, false, err
		}
	}
	now := b.now()
	opts := &github.TeamListTeamMembersOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var page []*github.User
		var resp *github.Response
		notFound := false
		err := b.deps.Retry.Do(ctx, "listing members of team "+ref.String(), func(ctx context.Context) (*github.Response, error) {
			var err error
			page, resp, err = gh.Teams.ListTeamMembersBySlug(ctx, ref.Org, ref.Slug, opts)
			if resp != nil && resp.StatusCode == http.StatusNotFound {
				notFound = true
				return resp, nil
			}
			return resp, err
		})
		if notFound {
			if err := b.deps.Policy.ForgetTeam(ctx, ref.Org, ref.Slug); err != nil {
				return nil, time.Time{}, false, err
			}
			return nil, now, false, nil
		}
		if err != nil {
			return nil, time.Time{}, false, err
		}
		for _, u := range page {
			members = append(members, strings.ToLower(u.GetLogin()))
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	sort.Strings(members)
	if err := b.deps.Policy.PutTeamMembers(ctx, ref.Org, ref.Slug, members, now); err != nil {
		return nil, time.Time{}, false, err
	}
	return members, now, true, nil
}

// Membership refreshes the membership cache on `membership` and `team`
// events and re-decides the policy check of every pull request whose latest
// decision relied on the changed team.
type Membership struct {
	*Base
}

var _ githubapp.EventHandler = &Membership{}

// Handles names the events.
func (h *Membership) Handles() []string { return []string{"membership", "team"} }

// teamEvent is the part of `membership` and `team` payloads the handler reads.
type teamEvent struct {
	Action string `json:"action"`
	Team   struct {
		Slug string `json:"slug"`
	} `json:"team"`
	Organization struct {
		Login string `json:"login"`
	} `json:"organization"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
	Installation struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

// Handle refreshes the team's cached members and re-decides the pull
// requests that relied on them.
func (h *Membership) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev teamEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding %s event %s: %w", eventType, deliveryID, err)
	}
	ctx = h.withLogger(ctx, eventType, deliveryID)
	if h.deps.Policy == nil || ev.Team.Slug == "" || ev.Organization.Login == "" {
		return nil
	}
	ref := teamRef{Org: strings.ToLower(ev.Organization.Login), Slug: strings.ToLower(ev.Team.Slug)}
	logger := zerolog.Ctx(ctx).With().Str("team", ref.String()).Str("action", ev.Action).Logger()
	gh, err := h.deps.Clients.NewInstallationClient(ev.Installation.ID)
	if err != nil {
		return fmt.Errorf("making a client for installation %d: %w", ev.Installation.ID, err)
	}
	if eventType == "team" && ev.Action == "deleted" {
		if err := h.deps.Policy.ForgetTeam(ctx, ref.Org, ref.Slug); err != nil {
			return err
		}
	} else if _, _, _, err := h.teamMembers(ctx, gh, ref, true); err != nil {
		return fmt.Errorf("refreshing members of %s: %w", ref, err)
	}
	decisions, err := h.deps.Policy.DecisionsRelyingOn(ctx, ref.String(), maxReevaluations)
	if err != nil {
		return err
	}
	logger.Info().Int("pull_requests", len(decisions)).Msg("team changed; re-deciding the policy checks that relied on it")
	var errs []error
	for _, d := range decisions {
		owner, repo, ok := strings.Cut(d.Repo, "/")
		if !ok {
			continue
		}
		if err := h.reevaluatePR(ctx, d.InstallationID, owner, repo, d.PR, ev.Sender.Login, deliveryID); err != nil {
			errs = append(errs, fmt.Errorf("%s#%d: %w", d.Repo, d.PR, err))
		}
	}
	return errors.Join(errs...)
}
