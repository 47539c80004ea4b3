package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/parcelflow/conveyor/config"
)

// BreakGlassPermission is the `permissions` entry naming who may bypass a gate.
const BreakGlassPermission = "break_glass"

// Actor is who sent a command, as the handler resolved them.
type Actor struct {
	Login string `json:"login"`
	// Teams are the actor's team slugs in the config's organization.
	Teams []string `json:"teams"`
	IsBot bool     `json:"is_bot,omitempty"`
	// Permission is the actor's repository permission: admin, maintain,
	// write, triage, read or none.
	Permission string `json:"permission"`
}

// RepoPermission is the repository permission that decides what a user may
// do, from GitHub's "get repository permissions for a user" answer: its
// role_name when that is one of GitHub's standard roles (admin, maintain,
// write, triage, read), else its permission field. A custom repository role
// has its own name in role_name ("data-writer"), and permission then says
// which standard access it was built on, so a custom role made from write
// access counts as write rather than as no access at all.
func RepoPermission(roleName, permission string) string {
	role := strings.ToLower(strings.TrimSpace(roleName))
	switch role {
	case "admin", "maintain", "write", "triage", "read":
		return role
	}
	if p := strings.ToLower(strings.TrimSpace(permission)); p != "" {
		return p
	}
	return "none"
}

// CanWrite reports whether a repository permission (see RepoPermission)
// includes write access: only such users' commands are read at all.
func CanWrite(permission string) bool {
	switch strings.ToLower(permission) {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

// Authorization is the answer to "may this actor run this command here?".
type Authorization struct {
	Allowed bool   `json:"allowed"`
	Actor   string `json:"actor"`
	Command string `json:"command"`
	Env     string `json:"env,omitempty"`
	// MatchedBy is the permissions entry that let the actor in.
	MatchedBy string `json:"matched_by,omitempty"`
	// Who lists the principals that may run the command here, for the refusal.
	Who []string `json:"who,omitempty"`
	// BreakGlass marks an authorization to bypass a gate; the timeline says so loudly.
	BreakGlass bool   `json:"break_glass,omitempty"`
	Reason     string `json:"reason"`
}

// Authorize decides whether actor may run cmd in env under cfg's
// `permissions` table. Everything not listed is denied. Entries name teams
// ("devops", "@org/devops") or users ("@alice"); an env key of "*" covers
// every environment. A command that acts on every environment (`/plan`
// without one) needs permission in each. Read-only commands (`/status`,
// `/help`) are open to any human with write access unless the table lists them.
func Authorize(cfg *config.RepoConfig, actor Actor, cmd, env string) Authorization {
	a := Authorization{Actor: actor.Login, Command: cmd, Env: env}
	deny := func(format string, args ...any) Authorization {
		a.Allowed = false
		a.Reason = fmt.Sprintf(format, args...)
		return a
	}
	if why := screenActor(actor); why != "" {
		return deny("%s", why)
	}
	spec, ok := LookupCommand(cmd)
	if !ok {
		return deny("/%s is not a command", cmd)
	}
	if cfg == nil {
		return deny("the repository has no readable .conveyor.yml; every command is denied")
	}
	perms, listed := cfg.Permissions[cmd]
	switch spec.Env {
	case EnvNone:
		if !listed && spec.Public {
			a.Allowed, a.Reason = true, fmt.Sprintf("/%s only reads; anyone with write access may run it", cmd)
			return a
		}
		a.Env = ""
		return match(a, cfg, actor, perms["*"], "*")
	case EnvOptionalFirst:
		if env == "" && len(cfg.Environments) > 0 {
			env = cfg.Environments[0].Name
			a.Env = env
		}
	case EnvOptionalAll:
		if env == "" {
			var who []string
			for _, e := range cfg.EnvironmentNames() {
				sub := match(a, cfg, actor, allowed(perms, e), e)
				who = append(who, sub.Who...)
				if !sub.Allowed {
					sub.Reason = fmt.Sprintf("/%s without an environment acts on all of them, and %s", cmd, sub.Reason)
					return sub
				}
				a.MatchedBy = sub.MatchedBy
			}
			a.Allowed, a.Who = true, uniqueSorted(who)
			a.Reason = fmt.Sprintf("@%s may run /%s in every environment", actor.Login, cmd)
			return a
		}
	}
	if env == "" {
		return deny("/%s needs an environment", cmd)
	}
	if _, ok := cfg.Environment(env); !ok {
		return deny("unknown environment %q (known: %s)", env, strings.Join(cfg.EnvironmentNames(), ", "))
	}
	return match(a, cfg, actor, allowed(perms, env), env)
}

// AuthorizeBreakGlass decides whether actor may bypass a failing gate in env.
// It needs a `permissions.break_glass` entry and a non-empty reason.
func AuthorizeBreakGlass(cfg *config.RepoConfig, actor Actor, env, reason string) Authorization {
	a := Authorization{Actor: actor.Login, Command: BreakGlassPermission, Env: env}
	if why := screenActor(actor); why != "" {
		a.Reason = why
		return a
	}
	if cfg == nil {
		a.Reason = "the repository has no readable .conveyor.yml"
		return a
	}
	if strings.TrimSpace(reason) == "" {
		a.Allowed, a.Reason = false, "break-glass needs a reason"
		return a
	}
	if _, ok := cfg.Environment(env); !ok {
		a.Allowed, a.Reason = false, fmt.Sprintf("unknown environment %q", env)
		return a
	}
	a = match(a, cfg, actor, allowed(cfg.Permissions[BreakGlassPermission], env), env)
	a.BreakGlass = a.Allowed
	return a
}

func allowed(perms map[string][]string, env string) []string {
	out := append([]string(nil), perms[env]...)
	if env != "*" {
		out = append(out, perms["*"]...)
	}
	return out
}

func match(a Authorization, cfg *config.RepoConfig, actor Actor, principals []string, env string) Authorization {
	org := cfg.Teams.Org
	teams := map[string]bool{}
	for _, t := range normalizeTeams(actor.Teams, org) {
		teams[t] = true
	}
	login := strings.ToLower(actor.Login)
	a.Who = nil
	for _, raw := range principals {
		p := parsePrincipal(raw, org)
		a.Who = append(a.Who, p.String(org))
		if a.Allowed {
			continue
		}
		if (p.User != "" && p.User == login) || (p.Team != "" && teams[p.Team]) {
			a.Allowed, a.MatchedBy = true, raw
		}
	}
	a.Who = uniqueSorted(a.Who)
	where := "in " + env
	if env == "*" {
		where = "here"
	}
	switch {
	case a.Allowed:
		a.Reason = fmt.Sprintf("@%s may run /%s %s (as %s)", actor.Login, a.Command, where, a.MatchedBy)
	case len(a.Who) == 0:
		a.Reason = fmt.Sprintf("nobody may run /%s %s: `permissions` does not list it", a.Command, where)
	default:
		a.Reason = fmt.Sprintf("only %s may run /%s %s", strings.Join(a.Who, ", "), a.Command, where)
	}
	return a
}

// screenActor returns why actor may run no command at all, or "".
func screenActor(actor Actor) string {
	switch {
	case actor.IsBot || isBotLogin(actor.Login):
		return "commands from bots are ignored"
	case actor.Permission == "":
		return fmt.Sprintf("@%s's permission on the repository is unknown; commands need write access", actor.Login)
	case !CanWrite(actor.Permission):
		return fmt.Sprintf("@%s has %s access; commands need write access", actor.Login, actor.Permission)
	}
	return ""
}

// HelpTable renders `/help`: every command with its usage, what it does and
// who may run it in each environment, read from cfg's permissions.
func HelpTable(cfg *config.RepoConfig) string {
	var b strings.Builder
	b.WriteString("| Command | What it does | Who may run it |\n|---|---|---|\n")
	org := ""
	var perms config.Permissions
	if cfg != nil {
		org, perms = cfg.Teams.Org, cfg.Permissions
	}
	for _, s := range CommandSpecs() {
		who := whoTable(perms[s.Name], org)
		if who == "" {
			who = "nobody (not in `permissions`)"
			if s.Public {
				who = "anyone with write access"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Usage, s.Help, who)
	}
	if who := whoTable(perms[BreakGlassPermission], org); who != "" {
		fmt.Fprintf(&b, "| `--break-glass <reason…>` | Bypass a failing freeze, lock, soak or previous-environment gate; recorded loudly. | %s |\n", who)
	}
	return b.String()
}

func whoTable(byEnv map[string][]string, org string) string {
	envs := make([]string, 0, len(byEnv))
	for e := range byEnv {
		envs = append(envs, e)
	}
	sort.Strings(envs)
	var parts []string
	for _, e := range envs {
		var who []string
		for _, raw := range byEnv[e] {
			who = append(who, parsePrincipal(raw, org).String(org))
		}
		label := e
		if e == "*" {
			label = "any env"
		}
		parts = append(parts, fmt.Sprintf("%s: %s", label, strings.Join(uniqueSorted(who), ", ")))
	}
	return strings.Join(parts, "; ")
}
