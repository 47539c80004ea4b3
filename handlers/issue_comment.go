package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
)

// IssueComment runs the commands in a new PR comment (see docs/commands.md).
// Only "created" counts: editing or deleting a comment never runs a command
// again. Comments from bots and from people without write access (a fork's
// author, a passer-by) are ignored without a reply.
type IssueComment struct {
	*Base
}

var _ githubapp.EventHandler = &IssueComment{}

// Handles names the event.
func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// Handle parses the comment and runs its commands in order.
func (h *IssueComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.IssueCommentEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decoding issue_comment event %s: %w", deliveryID, err)
	}
	issue, comment := ev.GetIssue(), ev.GetComment()
	ctx, logger := githubapp.PreparePRContext(h.withLogger(ctx, eventType, deliveryID), ev.GetInstallation().GetID(), ev.GetRepo(), issue.GetNumber())
	if ev.GetAction() != "created" {
		if ev.GetAction() == "edited" {
			logger.Debug().Int64("comment", comment.GetID()).Msg("edited comment ignored: an edit never runs a command again")
		}
		return nil
	}
	if !issue.IsPullRequest() || comment == nil {
		return nil
	}
	cmds, perrs := policy.ParseCommands(comment.GetBody())
	if len(cmds) == 0 && len(perrs) == 0 {
		return nil
	}
	login := comment.GetUser().GetLogin()
	if comment.GetUser().GetType() == "Bot" || strings.HasSuffix(strings.ToLower(login), "[bot]") {
		logger.Debug().Str("user", login).Msg("comment from a bot ignored")
		return nil
	}
	if !h.policyEnabled() {
		logger.Info().Msg("commands ignored: no policy store configured")
		return nil
	}
	owner, repo := ev.GetRepo().GetOwner().GetLogin(), ev.GetRepo().GetName()
	w, err := h.writer(ev.GetInstallation().GetID(), owner, repo)
	if err != nil {
		return err
	}
	gh := w.Client()
	permission, err := h.permission(ctx, gh, owner, repo, login)
	if err != nil {
		return err
	}
	if !policy.CanWrite(permission) {
		// Answering everyone who can comment would let anyone make the app post.
		logger.Info().Str("user", login).Str("permission", permission).Int("commands", len(cmds)+len(perrs)).
			Msg("commands ignored: the commenter has no write access")
		return nil
	}
	pr, err := h.pullRequest(ctx, gh, owner, repo, issue.GetNumber())
	if err != nil {
		return err
	}
	ref := PullRequestRef{InstallationID: ev.GetInstallation().GetID(), Owner: owner, Repo: repo, Number: pr.GetNumber(), Author: pr.GetUser().GetLogin(),
		HeadSHA: pr.GetHead().GetSHA(), BaseRef: pr.GetBase().GetRef(), BaseSHA: pr.GetBase().GetSHA(), Merged: pr.GetMerged(), MergeCommitSHA: pr.GetMergeCommitSHA()}
	cfg, cfgProblem := h.baseConfig(ctx, gh, ref)
	if err := w.React(ctx, comment.GetID(), "eyes"); err != nil {
		logger.Warn().Err(err).Msg("could not react to the command")
	}
	actor, relied, err := h.actor(ctx, gh, cfg, owner, login, permission)
	if err != nil {
		return err
	}
	run := &commandRun{Base: h.Base, w: w, pr: ref, cfg: cfg, cfgProblem: cfgProblem, actor: actor, membership: relied,
		commentID: comment.GetID(), recordKey: comment.GetID(), delivery: deliveryID}
	return run.all(ctx, cmds, perrs)
}

// permission returns user's role on the repository: admin, maintain,
// write, triage, read or none. A custom role counts as the standard access
// it was built on (see policy.RepoPermission).
func (b *Base) permission(ctx context.Context, gh *github.Client, owner, repo, user string) (string, error) {
	var lvl *github.RepositoryPermissionLevel
	err := b.deps.Retry.Do(ctx, "reading @"+user+"'s permission", func(ctx context.Context) (resp *github.Response, err error) {
		lvl, resp, err = gh.Repositories.GetPermissionLevel(ctx, owner, repo, user)
		return resp, err
	})
	if err != nil {
		return "", err
	}
	return policy.RepoPermission(lvl.GetRoleName(), lvl.GetPermission()), nil
}

// baseConfig reads `.conveyor.yml` from the tip of the PR's base branch: a
// PR that edits the config to grant itself more is judged by the base. nil
// with a problem when there is none or it is invalid; every command is then
// denied.
func (b *Base) baseConfig(ctx context.Context, gh *github.Client, pr PullRequestRef) (*config.RepoConfig, string) {
	ref := orDefault(pr.BaseRef, pr.BaseSHA)
	data, found, err := b.readFile(ctx, gh, pr.Owner, pr.Repo, config.RepoConfigPath, ref)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("the base branch's %s could not be read: %v", config.RepoConfigPath, err)
	case !found:
		return nil, fmt.Sprintf("the base branch %s has no %s, so no command is allowed", ref, config.RepoConfigPath)
	}
	cfg, err := config.ParseRepo(config.RepoConfigPath, data)
	if err != nil {
		return nil, fmt.Sprintf("the base branch's %s is invalid, so no command is allowed:\n\n```\n%v\n```", config.RepoConfigPath, err)
	}
	return cfg, ""
}

// actor resolves who sent a command: their permission and the teams, among
// those the config names, they belong to. The membership it relied on is
// returned for the audit log.
func (b *Base) actor(ctx context.Context, gh *github.Client, cfg *config.RepoConfig, owner, login, permission string) (policy.Actor, map[string][]string, error) {
	a := policy.Actor{Login: login, Permission: permission}
	if cfg == nil {
		return a, nil, nil
	}
	org := orDefault(cfg.Teams.Org, owner)
	var teams []string
	teams = append(teams, cfg.Teams.Known...)
	for _, byEnv := range cfg.Permissions {
		for _, who := range byEnv {
			for _, p := range who {
				if !strings.HasPrefix(p, "@") || strings.Contains(p, "/") {
					teams = append(teams, strings.TrimPrefix(p, "@"))
				}
			}
		}
	}
	var slugs []string
	for _, t := range uniqueStrings(teams) {
		ref := teamFor(t, org)
		if ref.Org == strings.ToLower(org) {
			slugs = append(slugs, ref.Slug)
		} else {
			slugs = append(slugs, ref.String())
		}
	}
	m, err := b.membership(ctx, gh, org, uniqueStrings(slugs))
	if err != nil {
		return a, nil, fmt.Errorf("reading @%s's teams: %w", login, err)
	}
	relied := map[string][]string{}
	for slug, members := range m.Teams {
		relied[teamFor(slug, org).String()] = members
		for _, u := range members {
			if strings.EqualFold(u, login) {
				a.Teams = append(a.Teams, slug)
			}
		}
	}
	a.Teams = uniqueStrings(a.Teams)
	return a, relied, nil
}

var errInterrupted = errors.New("the command was interrupted before it finished; comment it again to retry")
