package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/config"
)

const relSHA = "5555555555555555555555555555555555555555"

func greenChecks(sha string) []CheckStatus {
	var out []CheckStatus
	for _, n := range []string{"conveyor/config", "conveyor/airflow", "conveyor/dbt", "conveyor/contracts", "conveyor/terraform", "conveyor/policy"} {
		out = append(out, CheckStatus{Name: n, SHA: sha, Status: "completed", Conclusion: "success"})
	}
	return out
}

func berlin(t testing.TB, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEvaluatePromotion(t *testing.T) {
	cfg := sampleConfig(t)
	wednesday := berlin(t, "2026-03-04 11:00")
	lead := &Actor{Login: "carol", Teams: []string{"data-eng", "data-eng-leads"}, Permission: "write"}
	devops := &Actor{Login: "dave", Teams: []string{"devops"}, Permission: "write"}
	high := Risk{Level: RiskHigh, Reasons: []string{"infrastructure change"}}
	low := Risk{Level: RiskLow}
	base := func() PromotionInput {
		return PromotionInput{Config: cfg, Env: "prod", Release: Release{ID: "r1", SHA: relSHA, Risk: high}, Checks: greenChecks(relSHA),
			Previous: &EnvState{Env: "staging", ReleaseID: "r1", SHA: relSHA, SmokeGreen: true, GreenSince: wednesday.Add(-2 * time.Hour)},
			Actor:    lead, Now: wednesday}
	}
	noAuto := false
	cfgNoAuto := *cfg
	cfgNoAuto.Environments = append([]config.Environment(nil), cfg.Environments...)
	cfgNoAuto.Environments[2].AutoPromote = &noAuto

	tests := []struct {
		name    string
		mutate  func(in *PromotionInput)
		allowed bool
		gate    string // the gate to look at
		status  string
		reason  string
		glass   bool
	}{
		{"every gate passes", func(in *PromotionInput) {}, true, GateSoak, GatePass, "soaked 2h0m0s in staging (needs 30m0s for high risk)", false},
		{"a required check failed", func(in *PromotionInput) { in.Checks[1].Conclusion = "failure" }, false, GateRequiredChecks, GateFail, "conveyor/airflow concluded failure", false},
		{"a check green only at another commit", func(in *PromotionInput) { in.Checks[2].SHA = "other" }, false, GateRequiredChecks, GateFail, "conveyor/dbt has no run at 5555555 (runs at other commits do not count)", false},
		{"a check still running", func(in *PromotionInput) { in.Checks[0].Status = "in_progress"; in.Checks[0].Conclusion = "" }, false, GateRequiredChecks, GateFail, "conveyor/config is still in progress", false},
		{"a check missing", func(in *PromotionInput) { in.Checks = in.Checks[1:] }, false, GateRequiredChecks, GateFail, "conveyor/config has no run", false},
		{"neutral and skipped are green", func(in *PromotionInput) { in.Checks[3].Conclusion = "neutral"; in.Checks[4].Conclusion = "skipped" }, true, GateRequiredChecks, GatePass, "every required check is green", false},
		{"policy pending", func(in *PromotionInput) { in.Checks[5].Status = "queued"; in.Checks[5].Conclusion = "" }, false, GatePolicy, GateFail, "conveyor/policy is still queued", false},
		{"policy failed", func(in *PromotionInput) { in.Checks[5].Conclusion = "failure" }, false, GatePolicy, GateFail, "conveyor/policy concluded failure", false},
		{"staging runs another release", func(in *PromotionInput) { in.Previous.ReleaseID = "r0" }, false, GatePreviousEnv, GateFail, "staging runs r0, not r1", false},
		{"staging smoke tests red", func(in *PromotionInput) { in.Previous.SmokeGreen = false }, false, GatePreviousEnv, GateFail, "smoke tests are not green", false},
		{"staging runs nothing", func(in *PromotionInput) { in.Previous = nil }, false, GatePreviousEnv, GateFail, "staging runs no release yet", false},
		{"not soaked long enough", func(in *PromotionInput) { in.Previous.GreenSince = wednesday.Add(-10 * time.Minute) }, false, GateSoak, GateFail, "soaked 10m0s of 30m0s in staging (high risk)", false},
		{"low risk needs no soak", func(in *PromotionInput) { in.Release.Risk = low; in.Previous.GreenSince = wednesday }, true, GateSoak, GatePass, "no soak time for low-risk releases in staging", false},
		{"unclassified counts as high", func(in *PromotionInput) { in.Release.Risk = Risk{}; in.Previous.GreenSince = wednesday }, false, GateSoak, GateFail, "high risk", false},
		{"locked by someone else", func(in *PromotionInput) { in.Lock = &Lock{Env: "prod", Holder: "dave", Reason: "migration"} }, false, GateLock, GateFail, "prod is locked by @dave: migration", false},
		{"locked by the actor", func(in *PromotionInput) { in.Lock = &Lock{Env: "prod", Holder: "Carol"} }, true, GateLock, GatePass, "locked by you", false},
		{"a lock elsewhere", func(in *PromotionInput) { in.Lock = &Lock{Env: "staging", Holder: "dave"} }, true, GateLock, GatePass, "not locked", false},
		{"frozen by /freeze", func(in *PromotionInput) {
			in.Freezes = []Freeze{{Env: "prod", By: "dave", Reason: "incident", Since: wednesday.Add(-time.Hour), Until: wednesday.Add(time.Hour)}}
		}, false, GateFreeze, GateFail, "/freeze by @dave until", false},
		{"an expired /freeze", func(in *PromotionInput) {
			in.Freezes = []Freeze{{Env: "prod", By: "dave", Until: wednesday.Add(-time.Minute)}}
		}, true, GateFreeze, GatePass, "not frozen", false},
		{"a /freeze low risk cannot pass", func(in *PromotionInput) {
			in.Release.Risk = low
			in.Freezes = []Freeze{{Env: "prod", By: "dave", Until: wednesday.Add(time.Hour)}}
		}, false, GateFreeze, GateFail, "frozen", false},
		{"weekend window blocks high risk", func(in *PromotionInput) { in.Now = berlin(t, "2026-03-07 12:00") }, false, GateFreeze, GateFail, "weekend until Mon 9 Mar 08:00 CET (nobody wants to be paged", false},
		{"weekend window lets low risk through", func(in *PromotionInput) { in.Now = berlin(t, "2026-03-07 12:00"); in.Release.Risk = low }, true, GateFreeze, GatePass, "low-risk releases may pass weekend", false},
		{"Friday 15:59 is before the window", func(in *PromotionInput) { in.Now = berlin(t, "2026-03-06 15:59") }, true, GateFreeze, GatePass, "not frozen", false},
		{"Friday 16:00 starts the window", func(in *PromotionInput) { in.Now = berlin(t, "2026-03-06 16:00") }, false, GateFreeze, GateFail, "weekend", false},
		{"Monday 07:59 is still frozen", func(in *PromotionInput) { in.Now = berlin(t, "2026-03-09 07:59") }, false, GateFreeze, GateFail, "weekend", false},
		{"Monday 08:00 ends it", func(in *PromotionInput) { in.Now = berlin(t, "2026-03-09 08:00") }, true, GateFreeze, GatePass, "not frozen", false},
		{"the window is only on prod", func(in *PromotionInput) {
			in.Now = berlin(t, "2026-03-07 12:00")
			in.Env = "staging"
			in.Previous = &EnvState{ReleaseID: "r1", SmokeGreen: true, GreenSince: in.Now.Add(-time.Hour)}
		}, true, GateFreeze, GatePass, "not frozen", false},
		{"a data engineer may not promote to prod", func(in *PromotionInput) {
			in.Actor = &Actor{Login: "bob", Teams: []string{"data-eng"}, Permission: "write"}
		}, false, GateAuthorized, GateFail, "only @parcelflow/data-eng-leads, @parcelflow/devops", false},
		{"the first environment has no predecessor", func(in *PromotionInput) { in.Env = "dev"; in.Previous = nil }, true, GatePreviousEnv, GatePass, "first environment", false},
		{"auto-promote a low-risk release", func(in *PromotionInput) { in.Actor = nil; in.Release.Risk = low }, true, GateAutoPromote, GatePass, "low-risk release", false},
		{"auto-promote stops a high-risk release before prod", func(in *PromotionInput) { in.Actor = nil }, false, GateAutoPromote, GateFail, "high risk (infrastructure change); use /promote prod", false},
		{"auto-promote takes a high-risk release to staging", func(in *PromotionInput) {
			in.Actor = nil
			in.Env = "staging"
			in.Previous = &EnvState{Env: "dev", ReleaseID: "r1", SmokeGreen: true, GreenSince: in.Now.Add(-time.Hour)}
		}, true, GateAutoPromote, GatePass, "flow on their own as far as the environment before the last", false},
		{"auto-promote off for the env", func(in *PromotionInput) { in.Actor = nil; in.Release.Risk = low; in.Config = &cfgNoAuto }, false, GateAutoPromote, GateFail, "auto_promote: false", false},
		{"auto-promote stopped by a lock", func(in *PromotionInput) {
			in.Actor = nil
			in.Release.Risk = low
			in.Lock = &Lock{Env: "prod", Holder: "dave"}
		}, false, GateLock, GateFail, "locked by @dave", false},
		{"unknown env", func(in *PromotionInput) { in.Env = "qa" }, false, GateAuthorized, GateFail, "unknown environment", false},
		{"break-glass through the weekend", func(in *PromotionInput) {
			in.Now = berlin(t, "2026-03-07 12:00")
			in.Actor = devops
			in.BreakGlass = "orders pipeline down"
		}, true, GateFreeze, GateBypassed, "BYPASSED by @dave with break-glass (orders pipeline down); the gate said: prod is frozen", true},
		{"break-glass skips soak", func(in *PromotionInput) {
			in.Actor = devops
			in.BreakGlass = "hotfix"
			in.Previous.GreenSince = wednesday
		}, true, GateSoak, GateBypassed, "BYPASSED", true},
		{"break-glass cannot skip a red check", func(in *PromotionInput) {
			in.Actor = devops
			in.BreakGlass = "hotfix"
			in.Checks[0].Conclusion = "failure"
		}, false, GateRequiredChecks, GateFail, "conveyor/config concluded failure", false},
		{"break-glass refused for a lead", func(in *PromotionInput) {
			in.Now = berlin(t, "2026-03-07 12:00")
			in.BreakGlass = "urgent"
		}, false, GateFreeze, GateFail, "weekend", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			in.Checks = greenChecks(relSHA)
			tt.mutate(&in)
			d := EvaluatePromotion(in)
			if d.Allowed != tt.allowed {
				t.Errorf("allowed = %v, want %v; reasons %v", d.Allowed, tt.allowed, d.Reasons)
			}
			if d.BreakGlass != tt.glass {
				t.Errorf("break-glass = %v, want %v", d.BreakGlass, tt.glass)
			}
			var g *Gate
			for i := range d.Gates {
				if d.Gates[i].Name == tt.gate {
					g = &d.Gates[i]
				}
			}
			if g == nil {
				t.Fatalf("no gate %q in %+v", tt.gate, d.Gates)
			}
			if g.Status != tt.status || !strings.Contains(g.Reason, tt.reason) {
				t.Errorf("gate %s = %s %q; want %s containing %q", g.Name, g.Status, g.Reason, tt.status, tt.reason)
			}
			if !d.Allowed && len(d.Reasons) == 0 {
				t.Error("a refusal must give reasons")
			}
			if in.Config != nil && in.Env != "qa" && len(d.Gates) != 7 {
				t.Errorf("every gate must be listed, got %d: %+v", len(d.Gates), d.Gates)
			}
		})
	}
}

func TestBreakGlassRefusalIsExplained(t *testing.T) {
	cfg := sampleConfig(t)
	now := berlin(t, "2026-03-07 12:00")
	d := EvaluatePromotion(PromotionInput{Config: cfg, Env: "dev", Release: Release{ID: "r1", SHA: relSHA, Risk: Risk{Level: RiskHigh}}, Checks: greenChecks(relSHA),
		Actor: &Actor{Login: "carol", Teams: []string{"data-eng"}, Permission: "write"}, Lock: &Lock{Env: "dev", Holder: "dave"}, BreakGlass: "urgent", Now: now})
	if d.Allowed || d.BreakGlass || !strings.Contains(strings.Join(d.Reasons, "\n"), "break-glass refused: nobody may run /break_glass in dev") {
		t.Errorf("got %+v", d)
	}
	if s := d.Summary(); !strings.Contains(s, "| ❌ | lock | dev is locked by @dave |") || strings.Contains(s, "BREAK-GLASS") {
		t.Errorf("summary:\n%s", s)
	}
}

func TestBreakGlassIsLoudInSummary(t *testing.T) {
	cfg := sampleConfig(t)
	now := berlin(t, "2026-03-07 12:00")
	d := EvaluatePromotion(PromotionInput{Config: cfg, Env: "prod", Release: Release{ID: "r1", SHA: relSHA, Risk: Risk{Level: RiskHigh}}, Checks: greenChecks(relSHA),
		Previous: &EnvState{ReleaseID: "r1", SmokeGreen: true, GreenSince: now.Add(-3 * time.Hour)},
		Actor:    &Actor{Login: "dave", Teams: []string{"devops"}, Permission: "write"}, BreakGlass: "revenue dashboards empty", Now: now})
	if !d.Allowed || !d.BreakGlass || d.BreakGlassBy != "dave" {
		t.Fatalf("got %+v", d)
	}
	if s := d.Summary(); !strings.Contains(s, "**BREAK-GLASS** by @dave: revenue dashboards empty") || !strings.Contains(s, "| ⚠️ | freeze |") {
		t.Errorf("summary:\n%s", s)
	}
}

func TestActiveFreezes(t *testing.T) {
	rule := func(from, to, tz string) *config.RepoConfig {
		return &config.RepoConfig{Freeze: []config.FreezeRule{{Name: "w", From: from, To: to, Timezone: tz}}}
	}
	tests := []struct {
		name      string
		cfg       *config.RepoConfig
		now       time.Time
		active    bool
		wantUntil time.Time
	}{
		{"across the spring DST change", rule("Fri 16:00", "Mon 08:00", "Europe/Berlin"), berlin(t, "2026-03-28 12:00"), true, berlin(t, "2026-03-30 08:00")},
		{"a window inside one week", rule("Tue 09:00", "Tue 17:00", ""), time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), true, time.Date(2026, 3, 3, 17, 0, 0, 0, time.UTC)},
		{"outside a window inside one week", rule("Tue 09:00", "Tue 17:00", ""), time.Date(2026, 3, 3, 17, 0, 0, 0, time.UTC), false, time.Time{}},
		{"Sunday evening wraps to Monday", rule("Sun 20:00", "Mon 06:00", "UTC"), time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC), true, time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)},
		{"a fixed period", &config.RepoConfig{Freeze: []config.FreezeRule{{Name: "xmas", Start: "2026-12-24T00:00:00Z", End: "2026-12-27T00:00:00Z"}}}, time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC), true, time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC)},
		{"after a fixed period", &config.RepoConfig{Freeze: []config.FreezeRule{{Name: "xmas", Start: "2026-12-24T00:00:00Z", End: "2026-12-27T00:00:00Z"}}}, time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC), false, time.Time{}},
		{"a rule for other environments", &config.RepoConfig{Freeze: []config.FreezeRule{{Name: "x", Environments: []string{"staging"}, From: "Mon 00:00", To: "Sun 23:59"}}}, time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ActiveFreezes(tt.cfg, nil, "prod", tt.now)
			if (len(got) > 0) != tt.active {
				t.Fatalf("active = %v, want %v", got, tt.active)
			}
			if tt.active && !got[0].Until.Equal(tt.wantUntil) {
				t.Errorf("until = %v, want %v", got[0].Until, tt.wantUntil)
			}
		})
	}
}
