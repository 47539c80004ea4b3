package terraform

import (
	"fmt"
	"strings"

	"github.com/parcelflow/conveyor/checks/terraform/plan"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
)

// maxChangeRows bounds the per-environment change table; details keep all.
const maxChangeRows = 40

// summarize writes the check run's title and summary: per environment a
// compact table of what the plan changes with the risky items first, then
// the static findings. It prints addresses and attribute names, never values.
func summarize(cfg *config.RepoConfig, d *Details, apps []policy.ApprovalRequirement) (string, string) {
	var b strings.Builder
	fails, warns := 0, 0
	for _, f := range d.Findings {
		if f.Severity == "failure" {
			fails++
		} else {
			warns++
		}
	}
	destroys := 0
	for _, p := range d.Plans {
		destroys += len(p.StatefulDestroys)
	}
	var title []string
	switch {
	case len(d.Stacks) == 0 && len(d.Plans) == 0:
		title = append(title, "No Terraform change")
	case fails+warns == 0:
		title = append(title, "Static policy clean")
	default:
		title = append(title, fmt.Sprintf("%d policy failures, %d warnings", fails, warns))
	}
	if destroys > 0 {
		title = append(title, fmt.Sprintf("plan destroys %d stateful resources: DevOps approval of the plan required", destroys))
	} else if d.InfrastructureChanged {
		title = append(title, "DevOps review required")
	}

	if d.InfrastructureChanged {
		b.WriteString("This change touches **infrastructure**: DevOps reviews it.\n\n")
	}
	if len(d.ApplyOrder) > 1 {
		fmt.Fprintf(&b, "It changes infrastructure and pipelines together; deploy applies them in order: **%s**.\n\n", strings.Join(d.ApplyOrder, " → "))
	}
	if len(d.Plans) == 0 {
		b.WriteString(d.PlanNote + "\n\n")
	}
	for _, env := range cfg.EnvironmentNames() {
		if p, ok := d.Plans[env]; ok {
			writePlan(&b, env, p)
		}
	}
	for _, env := range sortedKeys(d.Plans) {
		if _, known := cfg.Environment(env); !known {
			writePlan(&b, env, d.Plans[env])
		}
	}
	for _, a := range apps {
		fmt.Fprintf(&b, "**Approval needed:** %s by %s for `%s`: %s.\n\n", a.Name, strings.Join(a.Teams, ", "), a.Subject, a.Reason)
	}
	if len(d.ResourceChanges) > 0 {
		fmt.Fprintf(&b, "### Resource blocks this change edits\n\n| resource | change | review |\n|---|---|---|\n")
		for i, rc := range d.ResourceChanges {
			if i == maxChangeRows {
				fmt.Fprintf(&b, "| … %d more | | |\n", len(d.ResourceChanges)-i)
				break
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", rc.Address, rc.Status, rc.Category)
		}
		b.WriteString("\n")
	}
	if len(d.Stacks) > 0 {
		b.WriteString("### Static policy\n\n| stack | environments | resources | findings |\n|---|---|---:|---:|\n")
		for _, st := range d.Stacks {
			envs := strings.Join(st.Envs, ", ")
			if envs == "" {
				envs = "—"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %d | %d |\n", st.Path, envs, st.Resources, st.Findings)
		}
		b.WriteString("\n")
		for _, f := range d.Findings {
			fmt.Fprintf(&b, "- **%s** (%s) `%s:%d` %s\n", f.Rule, f.Severity, f.Path, f.Line, f.Message)
		}
		if len(d.Findings) > 0 {
			b.WriteString("\nEach rule is explained in docs/checks/terraform.md; turn one off for a path under `checks.terraform.ignore` with a reason.\n")
		}
	}
	return strings.Join(title, "; "), b.String()
}

func writePlan(b *strings.Builder, env string, p *PlanDetails) {
	if p.Error != "" {
		fmt.Fprintf(b, "### %s: plan could not be read\n\n%s\n\n", env, p.Error)
		return
	}
	fmt.Fprintf(b, "### %s plan `%s`\n\n", env, short(p.Hash))
	acts := sortedActions(p.Counts)
	if len(acts) == 0 {
		b.WriteString("No resource changes.\n\n")
		return
	}
	var head, sep, row []string
	for _, a := range acts {
		head = append(head, string(a))
		sep = append(sep, "---:")
		row = append(row, fmt.Sprint(p.Counts[a]))
	}
	fmt.Fprintf(b, "| %s |\n|%s|\n| %s |\n\n", strings.Join(head, " | "), strings.Join(sep, "|"), strings.Join(row, " | "))
	if p.Incomplete {
		b.WriteString("Terraform reported this plan as incomplete: more changes may follow on the next plan.\n\n")
	}
	shown := 0
	var rows []string
	add := func(c plan.Change, tag string) {
		if shown == maxChangeRows {
			return
		}
		shown++
		detail := c.ActionReason
		if len(c.ForcesReplacement) > 0 {
			detail = strings.TrimPrefix(detail+"; forced by "+strings.Join(c.ForcesReplacement, ", "), "; ")
		} else if len(c.Attributes) > 0 {
			detail = strings.TrimPrefix(detail+"; changes "+strings.Join(c.Attributes, ", "), "; ")
		}
		if len(c.SensitiveAttributes) > 0 {
			detail += " (" + strings.Join(c.SensitiveAttributes, ", ") + ": sensitive, not shown)"
		}
		if c.PreviousAddress != "" && c.PreviousAddress != c.Address {
			detail = strings.TrimPrefix(detail+"; from "+c.PreviousAddress, "; ")
		}
		rows = append(rows, fmt.Sprintf("| %s | `%s` | %s | %s |", tag, c.Address, c.Action, detail))
	}
	for _, c := range p.classified {
		if c.Risk == plan.High {
			add(c, "🔴 stateful")
		}
	}
	for _, c := range p.classified {
		if c.Risk == plan.Review {
			add(c, string(c.Category))
		}
	}
	for _, c := range p.classified {
		if c.Risk == plan.Low && c.Action != plan.NoOp && c.Action != plan.Read {
			add(c, "")
		}
	}
	if len(rows) > 0 {
		b.WriteString("| risk | resource | action | detail |\n|---|---|---|---|\n")
		b.WriteString(strings.Join(rows, "\n"))
		b.WriteString("\n")
		if n := countActing(p) - shown; n > 0 {
			fmt.Fprintf(b, "| | … %d more in the details | | |\n", n)
		}
		b.WriteString("\n")
	}
}

func countActing(p *PlanDetails) int {
	n := 0
	for _, c := range p.classified {
		if c.Action != plan.NoOp && c.Action != plan.Read {
			n++
		}
	}
	return n
}

func short(hash string) string {
	if len(hash) > len("plan:")+12 {
		return hash[:len("plan:")+12]
	}
	return hash
}
