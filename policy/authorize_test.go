package policy

import (
	"strings"
	"testing"
)

func TestAuthorize(t *testing.T) {
	cfg := sampleConfig(t)
	dataEng := Actor{Login: "bob", Teams: []string{"data-eng"}, Permission: "write"}
	lead := Actor{Login: "carol", Teams: []string{"@parcelflow/data-eng", "data-eng-leads"}, Permission: "write"}
	devops := Actor{Login: "dave", Teams: []string{"devops", "oncall"}, Permission: "maintain"}
	analyst := Actor{Login: "gina", Teams: []string{"analytics"}, Permission: "write"}
	tests := []struct {
		name    string
		actor   Actor
		cmd     string
		env     string
		allowed bool
		reason  string
	}{
		{"data-eng promotes to staging", dataEng, "promote", "staging", true, "as data-eng"},
		{"data-eng cannot promote to prod", dataEng, "promote", "prod", false, "only @parcelflow/data-eng-leads, @parcelflow/devops may run /promote in prod"},
		{"a lead promotes to prod", lead, "promote", "prod", true, "as data-eng-leads"},
		{"devops promotes to prod", devops, "promote", "prod", true, ""},
		{"oncall rolls back anywhere", devops, "rollback", "staging", true, "as oncall"},
		{"data-eng cannot roll back", dataEng, "rollback", "dev", false, "only @parcelflow/oncall"},
		{"backfill prod needs a lead", dataEng, "backfill", "prod", false, "data-eng-leads"},
		{"backfill without env goes to the first env", dataEng, "backfill", "", true, "in dev"},
		{"plan everywhere", dataEng, "plan", "", true, "every environment"},
		{"plan everywhere refused", analyst, "plan", "", false, "acts on all of them"},
		{"lock is devops", dataEng, "lock", "prod", false, "only @parcelflow/devops"},
		{"freeze by devops", devops, "freeze", "prod", true, ""},
		{"status is public", analyst, "status", "", true, "only reads"},
		{"help is public", analyst, "help", "", true, ""},
		{"unknown env", devops, "promote", "qa", false, "unknown environment \"qa\""},
		{"unknown command", devops, "deploy", "prod", false, "not a command"},
		{"promote without env", devops, "promote", "", false, "needs an environment"},
		{"bots never", Actor{Login: "renovate[bot]", Teams: []string{"devops"}, Permission: "write"}, "promote", "dev", false, "bots"},
		{"bot flag", Actor{Login: "helper", IsBot: true, Teams: []string{"devops"}, Permission: "admin"}, "promote", "dev", false, "bots"},
		{"read access", Actor{Login: "eve", Teams: []string{"devops"}, Permission: "read"}, "promote", "dev", false, "read access"},
		{"unknown permission", Actor{Login: "eve", Teams: []string{"devops"}}, "promote", "dev", false, "unknown"},
		{"a user principal", Actor{Login: "Zed", Permission: "write"}, "unlock", "dev", false, "only @parcelflow/devops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Authorize(cfg, tt.actor, tt.cmd, tt.env)
			if a.Allowed != tt.allowed {
				t.Errorf("allowed = %v, want %v (%s)", a.Allowed, tt.allowed, a.Reason)
			}
			if !strings.Contains(a.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", a.Reason, tt.reason)
			}
			if a.BreakGlass {
				t.Error("plain authorization must never be break-glass")
			}
		})
	}
}

func TestAuthorizeUsersAndUnlisted(t *testing.T) {
	cfg := sampleConfig(t)
	cfg.Permissions["unlock"] = map[string][]string{"prod": {"@Zed"}}
	delete(cfg.Permissions, "freeze")
	cfg.Permissions["status"] = map[string][]string{"*": {"devops"}}
	zed := Actor{Login: "zed", Permission: "write"}
	if a := Authorize(cfg, zed, "unlock", "prod"); !a.Allowed || a.MatchedBy != "@Zed" {
		t.Errorf("user principal: %+v", a)
	}
	if a := Authorize(cfg, zed, "unlock", "dev"); a.Allowed || !strings.Contains(a.Reason, "nobody may run /unlock in dev") {
		t.Errorf("unlisted env: %+v", a)
	}
	if a := Authorize(cfg, Actor{Login: "dave", Teams: []string{"devops"}, Permission: "admin"}, "freeze", "prod"); a.Allowed || !strings.Contains(a.Reason, "does not list it") {
		t.Errorf("unlisted command: %+v", a)
	}
	if a := Authorize(cfg, zed, "status", ""); a.Allowed {
		t.Errorf("a listed public command follows the table: %+v", a)
	}
	if a := Authorize(nil, zed, "status", ""); a.Allowed {
		t.Errorf("no config denies: %+v", a)
	}
}

func TestAuthorizeBreakGlass(t *testing.T) {
	cfg := sampleConfig(t)
	devops := Actor{Login: "dave", Teams: []string{"devops"}, Permission: "write"}
	lead := Actor{Login: "carol", Teams: []string{"data-eng-leads"}, Permission: "write"}
	tests := []struct {
		name    string
		actor   Actor
		env     string
		reason  string
		allowed bool
		why     string
	}{
		{"devops with a reason", devops, "prod", "orders pipeline down", true, "break_glass in prod"},
		{"no reason", devops, "prod", "  ", false, "needs a reason"},
		{"not listed for the team", lead, "prod", "urgent", false, "only @parcelflow/devops"},
		{"not listed for the env", devops, "staging", "urgent", false, "nobody may run /break_glass in staging"},
		{"bot", Actor{Login: "x[bot]", Teams: []string{"devops"}, Permission: "write"}, "prod", "urgent", false, "bots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := AuthorizeBreakGlass(cfg, tt.actor, tt.env, tt.reason)
			if a.Allowed != tt.allowed || a.BreakGlass != tt.allowed || !strings.Contains(a.Reason, tt.why) {
				t.Errorf("got %+v; want allowed %v, reason containing %q", a, tt.allowed, tt.why)
			}
		})
	}
}

func TestHelpTable(t *testing.T) {
	h := HelpTable(sampleConfig(t))
	for _, want := range []string{
		"| `/promote <env> [--break-glass <reason…>]` |",
		"prod: @parcelflow/data-eng-leads, @parcelflow/devops",
		"| `/status` | Show where this PR's release runs and which gates stand in its way. | anyone with write access |",
		"any env: @parcelflow/oncall",
		"`--break-glass <reason…>`",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("help lacks %q:\n%s", want, h)
		}
	}
	if n := strings.Count(h, "\n"); n != len(CommandSpecs())+3 {
		t.Errorf("help has %d lines:\n%s", n, h)
	}
}

func TestRepoPermission(t *testing.T) {
	tests := []struct {
		name, roleName, permission string
		want                       string
		canWrite                   bool
	}{
		{"standard write", "write", "write", "write", true},
		{"maintain is reported as write by the legacy field", "maintain", "write", "maintain", true},
		{"triage is reported as read by the legacy field", "triage", "read", "triage", false},
		{"admin", "Admin", "admin", "admin", true},
		{"a custom role built on write", "data-writer", "write", "write", true},
		{"a custom role built on maintain", "release-manager", "write", "write", true},
		{"a custom role built on read", "auditor", "read", "read", false},
		{"no role name", "", "write", "write", true},
		{"nothing known", "", "", "none", false},
		{"no access", "", "none", "none", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RepoPermission(tt.roleName, tt.permission)
			if got != tt.want || CanWrite(got) != tt.canWrite {
				t.Errorf("RepoPermission(%q, %q) = %q (write %v), want %q (write %v)", tt.roleName, tt.permission, got, CanWrite(got), tt.want, tt.canWrite)
			}
		})
	}
}
