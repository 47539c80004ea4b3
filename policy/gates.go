package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/config"
)

// Gate names, in the order a promotion decision lists them.
const (
	GateAuthorized     = "authorized"
	GateAutoPromote    = "auto-promote"
	GateRequiredChecks = "required-checks"
	GatePolicy         = "policy"
	GatePreviousEnv    = "previous-environment"
	GateSoak           = "soak"
	GateLock           = "lock"
	GateFreeze         = "freeze"
)

// Gate statuses.
const (
	GatePass     = "pass"
	GateFail     = "fail"
	GateBypassed = "bypassed"
)

// bypassable reports whether break-glass may bypass a gate. It may bypass
// when and in what order a release ships (freeze, lock, soak, the previous
// environment), never what the release is (its checks and approvals) or
// who is asking.
func bypassable(gate string) bool {
	switch gate {
	case GateFreeze, GateLock, GateSoak, GatePreviousEnv:
		return true
	}
	return false
}

// CheckStatus is one check run's state at a commit.
type CheckStatus struct {
	Name       string `json:"name"`
	SHA        string `json:"sha"`
	Status     string `json:"status"`               // queued | in_progress | completed
	Conclusion string `json:"conclusion,omitempty"` // success, neutral, skipped, failure…
}

// EnvState is what an environment runs now.
type EnvState struct {
	Env       string `json:"env"`
	ReleaseID string `json:"release_id"`
	SHA       string `json:"sha"`
	// SmokeGreen is true when the smoke tests passed after the deploy.
	SmokeGreen bool `json:"smoke_green"`
	// GreenSince is when the release started running green there; soak
	// time is measured from it.
	GreenSince time.Time `json:"green_since"`
}

// Lock is an environment lock held by someone (`/lock`).
type Lock struct {
	Env    string    `json:"env"`
	Holder string    `json:"holder"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// Release is the release being promoted.
type Release struct {
	ID   string `json:"id"`
	SHA  string `json:"sha"`
	Risk Risk   `json:"risk"`
}

// PromotionInput is everything a promotion decision looks at.
type PromotionInput struct {
	Config  *config.RepoConfig
	Env     string
	Release Release
	// Checks are the check runs at the release's commit (the latest run per name).
	Checks []CheckStatus
	// Previous is what the previous environment of the chain runs; nil when nothing.
	Previous *EnvState
	// Lock is the target environment's lock, if any.
	Lock *Lock
	// Freezes are the `/freeze`s on record (expired ones are ignored).
	Freezes []Freeze
	// Actor asked for the promotion; nil for an automatic promotion after merge.
	Actor *Actor
	// BreakGlass is the reason given with --break-glass; empty when not asked.
	BreakGlass string
	Now        time.Time
}

// Gate is one gate's verdict.
type Gate struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// GateDecision says whether a release may be promoted, with every gate.
type GateDecision struct {
	Allowed   bool   `json:"allowed"`
	Env       string `json:"env"`
	ReleaseID string `json:"release_id"`
	SHA       string `json:"sha"`
	Auto      bool   `json:"auto"`
	Gates     []Gate `json:"gates"`
	// BreakGlass is true when a failing gate was bypassed; the timeline must
	// say so loudly, naming who and why.
	BreakGlass       bool   `json:"break_glass"`
	BreakGlassBy     string `json:"break_glass_by,omitempty"`
	BreakGlassReason string `json:"break_glass_reason,omitempty"`
	// Reasons are the failing (and bypassed) gates' reasons.
	Reasons []string `json:"reasons"`
}

// EvaluatePromotion decides whether a release may go to an environment. It
// lists every gate with pass or fail and why: the actor is authorized (or, for
// an automatic promotion, the release is low risk and the environment takes
// automatic promotions); every required check is green at the release's exact
// commit; the policy check passed there; the previous environment runs the
// same release with green smoke tests; the release has soaked there for the
// previous environment's soak time for its risk class; the environment is not
// locked by someone else; and no freeze is in force (a calendar window that
// allows low risk lets a low-risk release through). Break-glass, when the
// actor holds it and gave a reason, bypasses the freeze, lock, soak and
// previous-environment gates, and the decision says so.
func EvaluatePromotion(in PromotionInput) GateDecision {
	d := GateDecision{Env: in.Env, ReleaseID: in.Release.ID, SHA: in.Release.SHA, Auto: in.Actor == nil}
	add := func(name string, ok bool, format string, args ...any) {
		st := GateFail
		if ok {
			st = GatePass
		}
		d.Gates = append(d.Gates, Gate{Name: name, Status: st, Reason: fmt.Sprintf(format, args...)})
	}
	cfg := in.Config
	if cfg == nil {
		add(GateAuthorized, false, "the repository has no readable .conveyor.yml")
		return finish(d, in)
	}
	env, ok := cfg.Environment(in.Env)
	if !ok {
		add(GateAuthorized, false, "unknown environment %q (known: %s)", in.Env, strings.Join(cfg.EnvironmentNames(), ", "))
		return finish(d, in)
	}
	risk := in.Release.Risk.Level
	if risk == "" {
		risk = RiskHigh // an unclassified release is treated as risky
	}

	// Who is asking.
	if in.Actor != nil {
		a := Authorize(cfg, *in.Actor, "promote", in.Env)
		add(GateAuthorized, a.Allowed, "%s", a.Reason)
	} else {
		switch {
		case !boolOr(cfg.Deploy.AutoDeploy, true):
			add(GateAutoPromote, false, "automatic deploys are off (deploy.auto_deploy: false); use /promote %s", in.Env)
		case !env.AutoPromotes():
			add(GateAutoPromote, false, "%s takes no automatic promotions (auto_promote: false); use /promote %s", in.Env, in.Env)
		case risk != RiskLow && cfg.IsLast(in.Env):
			add(GateAutoPromote, false, "the release is %s risk (%s); use /promote %s", risk, strings.Join(in.Release.Risk.Reasons, "; "), in.Env)
		case risk != RiskLow:
			add(GateAutoPromote, true, "%s-risk releases flow on their own as far as the environment before the last; %s takes them", risk, in.Env)
		default:
			add(GateAutoPromote, true, "low-risk release, and %s takes automatic promotions", in.Env)
		}
	}

	// What the release is.
	required := uniqueSorted(append(append([]string(nil), cfg.Checks.Required...), env.RequiredChecks...))
	var bad []string
	for _, name := range required {
		if name == PolicyCheckName {
			continue // its own gate below
		}
		if why := checkGreen(in.Checks, name, in.Release.SHA); why != "" {
			bad = append(bad, why)
		}
	}
	switch {
	case len(bad) > 0:
		add(GateRequiredChecks, false, "%s", strings.Join(bad, "; "))
	case len(required) == 0:
		add(GateRequiredChecks, true, "no required checks are configured")
	default:
		add(GateRequiredChecks, true, "every required check is green at %s", shortSHA(in.Release.SHA))
	}
	if why := checkGreen(in.Checks, PolicyCheckName, in.Release.SHA); why != "" {
		add(GatePolicy, false, "%s", why)
	} else {
		add(GatePolicy, true, "%s passed at %s", PolicyCheckName, shortSHA(in.Release.SHA))
	}

	// Where it has been.
	prevName, hasPrev := cfg.Previous(in.Env)
	if !hasPrev {
		add(GatePreviousEnv, true, "%s is the first environment of the chain", in.Env)
		add(GateSoak, true, "no soak before the first environment")
	} else {
		prevEnv, _ := cfg.Environment(prevName)
		soak := prevEnv.Soak.High.D()
		if risk == RiskLow {
			soak = prevEnv.Soak.Low.D()
		}
		p := in.Previous
		switch {
		case p == nil || p.ReleaseID == "":
			add(GatePreviousEnv, false, "%s runs no release yet; promote to %s first", prevName, prevName)
		case p.ReleaseID != in.Release.ID:
			add(GatePreviousEnv, false, "%s runs %s, not %s; promote to %s first", prevName, p.ReleaseID, in.Release.ID, prevName)
		case !p.SmokeGreen:
			add(GatePreviousEnv, false, "%s runs %s but its smoke tests are not green", prevName, p.ReleaseID)
		default:
			add(GatePreviousEnv, true, "%s runs %s with green smoke tests", prevName, p.ReleaseID)
		}
		switch {
		case soak <= 0:
			add(GateSoak, true, "no soak time for %s-risk releases in %s", risk, prevName)
		case p == nil || p.ReleaseID != in.Release.ID || !p.SmokeGreen || p.GreenSince.IsZero():
			add(GateSoak, false, "needs %s green in %s first (%s risk)", soak, prevName, risk)
		default:
			soaked := in.Now.Sub(p.GreenSince)
			if soaked >= soak {
				add(GateSoak, true, "soaked %s in %s (needs %s for %s risk)", roundDur(soaked), prevName, soak, risk)
			} else {
				add(GateSoak, false, "soaked %s of %s in %s (%s risk); ready at %s", roundDur(soaked), soak, prevName, risk, p.GreenSince.Add(soak).UTC().Format(time.RFC3339))
			}
		}
	}

	// When it may ship.
	switch l := in.Lock; {
	case l == nil || (l.Env != "" && l.Env != in.Env):
		add(GateLock, true, "%s is not locked", in.Env)
	case in.Actor != nil && strings.EqualFold(l.Holder, in.Actor.Login):
		add(GateLock, true, "%s is locked by you", in.Env)
	default:
		why := fmt.Sprintf("%s is locked by @%s", in.Env, l.Holder)
		if l.Reason != "" {
			why += ": " + l.Reason
		}
		add(GateLock, false, "%s", why)
	}
	var blocking, waived []string
	for _, w := range ActiveFreezes(cfg, in.Freezes, in.Env, in.Now) {
		if w.AllowLowRisk && risk == RiskLow {
			waived = append(waived, w.describe())
			continue
		}
		blocking = append(blocking, w.describe())
	}
	switch {
	case len(blocking) > 0:
		add(GateFreeze, false, "%s is frozen: %s", in.Env, strings.Join(blocking, "; "))
	case len(waived) > 0:
		add(GateFreeze, true, "low-risk releases may pass %s", strings.Join(waived, "; "))
	default:
		add(GateFreeze, true, "%s is not frozen", in.Env)
	}
	return finish(d, in)
}

// finish applies break-glass and sums the gates up.
func finish(d GateDecision, in PromotionInput) GateDecision {
	var failing []int
	for i, g := range d.Gates {
		if g.Status == GateFail {
			failing = append(failing, i)
		}
	}
	if in.BreakGlass != "" && in.Actor != nil && in.Config != nil && len(failing) > 0 {
		bg := AuthorizeBreakGlass(in.Config, *in.Actor, in.Env, in.BreakGlass)
		if !bg.Allowed {
			d.Reasons = append(d.Reasons, "break-glass refused: "+bg.Reason)
		} else {
			for _, i := range failing {
				g := &d.Gates[i]
				if !bypassable(g.Name) {
					continue
				}
				g.Status = GateBypassed
				g.Reason = fmt.Sprintf("BYPASSED by @%s with break-glass (%s); the gate said: %s", in.Actor.Login, in.BreakGlass, g.Reason)
				d.BreakGlass = true
			}
			if d.BreakGlass {
				d.BreakGlassBy, d.BreakGlassReason = in.Actor.Login, in.BreakGlass
			}
		}
	}
	d.Allowed = true
	for _, g := range d.Gates {
		switch g.Status {
		case GateFail:
			d.Allowed = false
			why := g.Name + ": " + g.Reason
			if in.BreakGlass != "" && !bypassable(g.Name) {
				why += " (break-glass cannot bypass this gate)"
			}
			d.Reasons = append(d.Reasons, why)
		case GateBypassed:
			d.Reasons = append(d.Reasons, g.Name+": "+g.Reason)
		}
	}
	return d
}

// checkGreen returns why check name is not green at sha, or "".
func checkGreen(checks []CheckStatus, name, sha string) string {
	var found *CheckStatus
	var elsewhere bool
	for i := range checks {
		c := &checks[i]
		if c.Name != name {
			continue
		}
		if c.SHA != sha {
			elsewhere = true
			continue
		}
		found = c
	}
	switch {
	case found == nil && elsewhere:
		return fmt.Sprintf("%s has no run at %s (runs at other commits do not count)", name, shortSHA(sha))
	case found == nil:
		return fmt.Sprintf("%s has no run at %s", name, shortSHA(sha))
	case found.Status != "" && found.Status != "completed":
		return fmt.Sprintf("%s is still %s", name, strings.ReplaceAll(found.Status, "_", " "))
	}
	switch found.Conclusion {
	case "success", "neutral", "skipped":
		return ""
	}
	return fmt.Sprintf("%s concluded %s", name, found.Conclusion)
}

func roundDur(d time.Duration) time.Duration { return d.Round(time.Minute) }

// Summary renders the decision as a Markdown table for the PR comment.
func (d GateDecision) Summary() string {
	var b strings.Builder
	if d.BreakGlass {
		fmt.Fprintf(&b, "> [!CAUTION]\n> **BREAK-GLASS** by @%s: %s\n\n", d.BreakGlassBy, d.BreakGlassReason)
	}
	b.WriteString("| | Gate | Why |\n|---|---|---|\n")
	for _, g := range d.Gates {
		icon := map[string]string{GatePass: "✅", GateFail: "❌", GateBypassed: "⚠️"}[g.Status]
		fmt.Fprintf(&b, "| %s | %s | %s |\n", icon, g.Name, escapeCell(g.Reason))
	}
	return b.String()
}
