package observe

import (
	"sort"

	"github.com/parcelflow/conveyor/checks/terraform"
	"github.com/parcelflow/conveyor/checks/terraform/plan"
)

// Drift is how far one environment's infrastructure has moved from the
// Terraform code already merged: what a plan of that code would change.
// A plan of merged code that changes anything means someone changed the
// environment by hand, or a merged change was never applied.
type Drift struct {
	Env    string `json:"env"`
	InSync bool   `json:"in_sync"`
	// Changes are the plan's resource changes other than no-op and read.
	Changes []terraform.PlanChange `json:"changes"`
	// Stateful counts the changes that delete or replace stateful resources.
	Stateful int `json:"stateful_destroys"`
	// Error says why the plan could not be made; the environment is then
	// neither in sync nor drifted.
	Error string `json:"error,omitempty"`
}

// DriftFrom reads the drift of each environment from the terraform check's
// plans of the merged code, in environment order.
func DriftFrom(plans map[string]*terraform.PlanDetails, envs []string) []Drift {
	var out []Drift
	for _, env := range envs {
		p, ok := plans[env]
		if !ok {
			continue
		}
		d := Drift{Env: env, Changes: []terraform.PlanChange{}}
		if p.Error != "" {
			d.Error = p.Error
			out = append(out, d)
			continue
		}
		for _, c := range p.Changes {
			if c.Action == plan.NoOp || c.Action == plan.Read {
				continue
			}
			d.Changes = append(d.Changes, c)
			if c.Stateful && (c.Action == plan.Delete || c.Action == plan.Replace) {
				d.Stateful++
			}
		}
		sort.SliceStable(d.Changes, func(i, j int) bool { return d.Changes[i].Address < d.Changes[j].Address })
		d.InSync = len(d.Changes) == 0 && !p.Incomplete
		out = append(out, d)
	}
	return out
}
