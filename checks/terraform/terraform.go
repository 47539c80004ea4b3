// Package terraform is the conveyor/terraform check. It applies static
// policy to the Terraform stacks the repo declares (IAM least privilege,
// network exposure, data store safety, secrets, account boundaries, pinned
// modules, tags), classifies the plan of every environment when one is
// available, and tells the policy layer what it found: that infrastructure
// changes, which stateful resources a plan destroys, and the plan's hash so a
// DevOps approval binds to that exact plan.
package terraform

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/terraform/plan"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/policy"
)

// Name is the check run's name.
const Name = "conveyor/terraform"

// Check is the conveyor/terraform check.
type Check struct{}

var _ checks.Check = Check{}

// New returns the conveyor/terraform check.
func New() checks.Check { return Check{} }

// Name returns the check run name.
func (Check) Name() string { return Name }

// Applies when the repo has a terraform component.
func (Check) Applies(in *checks.Input) bool {
	return in.Config != nil && len(in.Config.ComponentsOfKind(config.KindTerraform)) > 0
}

// Details is the check's machine-readable result.
type Details struct {
	// InfrastructureChanged is true when the change touches files of a
	// terraform component: DevOps review is required.
	InfrastructureChanged bool `json:"infrastructure_changed"`
	// Stacks are the stacks the change touches, checked by the static policy.
	Stacks   []Stack   `json:"stacks"`
	Findings []Finding `json:"findings"`
	// ResourceChanges are resource blocks the change adds, edits or removes.
	ResourceChanges []ResourceChange `json:"resource_changes"`
	// Plans holds each environment's classified plan.
	Plans map[string]*PlanDetails `json:"plans"`
	// PlanNote says why there is no plan, when there is none.
	PlanNote string `json:"plan_note,omitempty"`
	// ApplyOrder lists the component kinds this change touches in the order
	// deploy applies them (config.Kinds): infrastructure first.
	ApplyOrder []string `json:"apply_order"`
}

// PlanDetails is one environment's classified plan.
type PlanDetails struct {
	// Source is "file" (supplied with the change, e.g. --plan) or "executor".
	Source           string              `json:"source"`
	Hash             string              `json:"hash,omitempty"`
	FormatVersion    string              `json:"format_version,omitempty"`
	TerraformVersion string              `json:"terraform_version,omitempty"`
	Counts           map[plan.Action]int `json:"counts"`
	// Changes lists every resource change of the plan exactly once, as the
	// five fields tools build on; what else the plan says of each change
	// feeds the summary and the signals.
	Changes          []PlanChange `json:"changes"`
	StatefulDestroys []string     `json:"stateful_destroys"`
	IAMChanges       []string     `json:"iam_changes"`
	NetworkChanges   []string     `json:"network_changes"`
	Incomplete       bool         `json:"incomplete,omitempty"`
	// Error says why the plan could not be read or produced.
	Error string `json:"error,omitempty"`
	// classified is the full classification of each change, in the order of Changes.
	classified []plan.Change
}

// PlanChange is one resource change of a plan as details.plans.<env>.changes
// lists it. Like everything the plan package returns, it holds no value.
type PlanChange struct {
	Address      string      `json:"address"`
	Type         string      `json:"type"`
	Action       plan.Action `json:"action"`
	ActionReason string      `json:"action_reason"`
	Stateful     bool        `json:"stateful"`
}

// listedChange is c as details.plans.<env>.changes lists it: one entry per
// resource change, with the action one of create, update, delete, replace,
// read, no-op, move or import. A deposed object names its deposed key in
// its address, so it stays apart from the current object at the same
// address; a forget (a removed block that keeps the object) changes no
// infrastructure and is listed as a no-op whose reason says so.
func listedChange(c plan.Change) PlanChange {
	pc := PlanChange{Address: c.Address, Type: c.Type, Action: c.Action, ActionReason: c.ActionReason, Stateful: c.Stateful}
	if c.Deposed != "" {
		pc.Address += " (deposed " + c.Deposed + ")"
	}
	if c.Action == plan.Forget {
		pc.Action = plan.NoOp
		pc.ActionReason = strings.TrimSpace("forget: removed from state, the object stays " + c.ActionReason)
	}
	return pc
}

// Run checks the stacks the change touches and classifies the plans.
func (Check) Run(ctx context.Context, in *checks.Input) (checks.Result, error) {
	cfg := in.Config
	res := checks.Result{Name: Name}
	settings := cfg.Checks.Terraform
	d := Details{Stacks: []Stack{}, Findings: []Finding{}, ResourceChanges: []ResourceChange{}, Plans: map[string]*PlanDetails{}, ApplyOrder: applyOrder(in)}
	if !settings.On() {
		res.Conclusion, res.Title, res.Summary, res.Details = checks.Skipped, "Turned off", "`checks.terraform.enabled` is false in `.conveyor.yml`.", d
		return res, nil
	}
	tfChanges := in.ChangedIn(config.KindTerraform)
	d.InfrastructureChanged = len(tfChanges) > 0

	all := Stacks(cfg, in.Head)
	var touched []Stack
	for _, st := range all {
		if stackTouched(st, in.Head, tfChanges) {
			touched = append(touched, st)
		}
	}
	an := Analyze(in.Head, cfg, touched)
	d.Stacks = append(d.Stacks, an.Stacks...)
	d.Findings = append(d.Findings, an.Findings...)
	for _, st := range an.Stacks {
		d.ResourceChanges = append(d.ResourceChanges, DiffResources(in.Base, in.Head, st)...)
	}
	for _, f := range an.Findings {
		res.Annotations = append(res.Annotations, f.annotation())
	}

	stateful := plan.NewStatefulSet(settings.StatefulTypes)
	for _, env := range sortedKeys(in.Plans) {
		d.Plans[env] = classify(env, "file", in.Plans[env], stateful)
	}
	runPlans(ctx, in, d.Plans, stateful)
	if len(d.Plans) == 0 {
		d.PlanNote = noPlanReason(in)
	}

	owners := approvers(cfg)
	res.Signals, res.Approvals = signals(in, &d, tfChanges, owners)
	res.Details = d
	res.Conclusion = checks.ConclusionFor(res.Annotations)
	for _, p := range d.Plans {
		if p.Error != "" {
			res.Conclusion = checks.Failure
		}
	}
	res.Title, res.Summary = summarize(cfg, &d, res.Approvals)
	return res, nil
}

// stackTouched reports whether a change edits the stack's folder, its var
// files, or the folder of a local module it calls, directly or through
// another local module.
func stackTouched(st Stack, head checks.Tree, changes []checks.Change) bool {
	dirs := []string{st.Path + "/"}
	m := loadModule(st.Path, readAll(head, moduleFiles(head, st.Path)))
	// A direct call counts even when the change removed the module's files.
	for _, d := range m.localModuleDirs() {
		dirs = append(dirs, d+"/")
	}
	for _, lm := range localModules(head, m) {
		if lm.first {
			dirs = append(dirs, lm.dir+"/")
		}
	}
	for _, c := range changes {
		for _, p := range []string{c.Path, c.PreviousPath} {
			if p == "" {
				continue
			}
			for _, d := range dirs {
				if strings.HasPrefix(p, d) {
					return true
				}
			}
			for _, vf := range st.VarFiles {
				if p == vf {
					return true
				}
			}
		}
	}
	return false
}

func classify(env, source string, data []byte, stateful plan.StatefulSet) *PlanDetails {
	pd := &PlanDetails{Source: source, Counts: map[plan.Action]int{}, Changes: []PlanChange{}, StatefulDestroys: []string{}, IAMChanges: []string{}, NetworkChanges: []string{}}
	p, err := plan.Parse("plan for "+env, data, stateful)
	if err != nil {
		pd.Error = err.Error()
		return pd
	}
	pd.Hash, pd.FormatVersion, pd.TerraformVersion, pd.Counts, pd.classified, pd.Incomplete = p.Hash, p.FormatVersion, p.TerraformVersion, p.Counts, p.Changes, p.Incomplete
	for _, c := range p.Changes {
		pd.Changes = append(pd.Changes, listedChange(c))
	}
	for _, c := range p.StatefulDestroys() {
		pd.StatefulDestroys = append(pd.StatefulDestroys, c.Address)
	}
	for _, c := range p.Of(plan.CategoryIAM) {
		pd.IAMChanges = append(pd.IAMChanges, c.Address)
	}
	for _, c := range p.Of(plan.CategoryNetwork) {
		pd.NetworkChanges = append(pd.NetworkChanges, c.Address)
	}
	return pd
}

// PlanFileEnv names the variable holding the path a plan command writes its
// `terraform show -json` output to. A command that cannot write there (a
// remote executor) prints the JSON as one line on stdout instead.
const PlanFileEnv = "CONVEYOR_PLAN_FILE"

// runPlans runs each terraform component's plan command per environment in
// the head tree, for environments that have no plan yet. The command runs with
// CONVEYOR_ENV set, e.g.:
//
//	terraform -chdir=infra/platform init -input=false &&
//	terraform -chdir=infra/platform plan -input=false -var-file=env/$CONVEYOR_ENV.tfvars -out=plan.bin &&
//	terraform -chdir=infra/platform show -json plan.bin > "$CONVEYOR_PLAN_FILE"
func runPlans(ctx context.Context, in *checks.Input, plans map[string]*PlanDetails, stateful plan.StatefulSet) {
	if in.Executor == nil || in.HeadDir == "" {
		return
	}
	for _, c := range in.Config.ComponentsOfKind(config.KindTerraform) {
		if strings.TrimSpace(c.Commands.Plan) == "" {
			continue
		}
		for _, env := range componentEnvs(in.Config, c) {
			if _, ok := plans[env]; ok {
				continue
			}
			plans[env] = runPlan(ctx, in, c, env, stateful)
		}
	}
}

func runPlan(ctx context.Context, in *checks.Input, c *config.Component, env string, stateful plan.StatefulSet) *PlanDetails {
	failed := func(format string, args ...any) *PlanDetails {
		return &PlanDetails{Source: "executor", Counts: map[plan.Action]int{}, Changes: []PlanChange{}, StatefulDestroys: []string{}, IAMChanges: []string{}, NetworkChanges: []string{}, Error: fmt.Sprintf(format, args...)}
	}
	dir, err := os.MkdirTemp("", "conveyor-plan-")
	if err != nil {
		return failed("preparing the plan output: %v", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "plan.json")
	// The environment and output path are not secrets; setting them in the
	// script keeps the executor from masking them out of the output.
	script := fmt.Sprintf("CONVEYOR_ENV=%s; %s=%s; export CONVEYOR_ENV %s\n%s", shellQuote(env), PlanFileEnv, shellQuote(out), PlanFileEnv, c.Commands.Plan)
	r, err := in.Executor.Run(ctx, executor.Command{Name: "terraform plan " + env, Script: script, Dir: in.HeadDir, Timeout: c.Commands.Timeout.D(), Environment: env})
	if err != nil {
		return failed("running the plan command: %v", err)
	}
	if r.ExitCode != 0 {
		return failed("the plan command exited with %d%s: %s", r.ExitCode, timedOut(r.TimedOut), lastLines(r.Output, 5))
	}
	data, err := os.ReadFile(out)
	if err != nil || len(strings.TrimSpace(string(data))) == 0 {
		data = planFromOutput(r.Output)
	}
	if data == nil {
		return failed("the plan command wrote no plan to $%s and printed no `terraform show -json` output", PlanFileEnv)
	}
	pd := classify(env, "executor", data, stateful)
	return pd
}

func timedOut(t bool) string {
	if t {
		return " (timed out)"
	}
	return ""
}

// planFromOutput finds the one-line JSON `terraform show -json` prints.
func planFromOutput(out string) []byte {
	var found []byte
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), executor.MaxOutput+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "{") && strings.Contains(line, `"format_version"`) {
			found = []byte(line)
		}
	}
	return found
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// componentEnvs returns the environments a component's stacks serve, or
// every environment when its stacks name none.
func componentEnvs(cfg *config.RepoConfig, c *config.Component) []string {
	set := map[string]bool{}
	for _, st := range c.Stacks {
		for _, e := range st.Environments(cfg) {
			set[e] = true
		}
	}
	if len(set) == 0 {
		return cfg.EnvironmentNames()
	}
	var out []string
	for _, e := range cfg.EnvironmentNames() {
		if set[e] {
			out = append(out, e)
		}
	}
	return out
}

func noPlanReason(in *checks.Input) string {
	hasCmd := false
	for _, c := range in.Config.ComponentsOfKind(config.KindTerraform) {
		if strings.TrimSpace(c.Commands.Plan) != "" {
			hasCmd = true
		}
	}
	switch {
	case !hasCmd:
		return "No plan was available: no plan was supplied and the terraform component has no `commands.plan`. The static policy stands alone."
	case in.Executor == nil || in.HeadDir == "":
		return "No plan was available: commands are not run here (pass `--plan ENV=FILE` to supply one). The static policy stands alone."
	}
	return "No plan was available. The static policy stands alone."
}

// approvers are the teams that approve a destructive plan.
func approvers(cfg *config.RepoConfig) []string {
	if len(cfg.Checks.Terraform.Approvers) > 0 {
		return cfg.Checks.Terraform.Approvers
	}
	set := map[string]bool{}
	for _, c := range cfg.ComponentsOfKind(config.KindTerraform) {
		if c.Owner != "" {
			set[c.Owner] = true
		}
	}
	if len(set) == 0 {
		return []string{"devops"}
	}
	return sortedSet(set)
}

// applyOrder lists the kinds this change touches in config.Kinds order.
func applyOrder(in *checks.Input) []string {
	out := []string{}
	for _, k := range config.Kinds {
		if len(in.ChangedIn(k)) > 0 {
			out = append(out, k)
		}
	}
	return out
}

func componentNames(cfg *config.RepoConfig) string {
	var names []string
	for _, c := range cfg.ComponentsOfKind(config.KindTerraform) {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

// signals tells the policy layer what the change does to infrastructure.
func signals(in *checks.Input, d *Details, tfChanges []checks.Change, owners []string) ([]policy.Signal, []policy.ApprovalRequirement) {
	var sigs []policy.Signal
	var apps []policy.ApprovalRequirement
	comp := componentNames(in.Config)
	if len(tfChanges) > 0 {
		paths := make([]string, 0, len(tfChanges))
		for _, c := range tfChanges {
			paths = append(paths, c.Path)
		}
		sigs = append(sigs, policy.Signal{Kind: policy.SignalInfrastructure, Check: Name, Component: comp, Path: paths[0],
			Reason: fmt.Sprintf("the change edits %d Terraform file(s) (%s); DevOps reviews infrastructure", len(paths), abbreviate(paths, 3))})
		if uncovered := unownedPaths(in.Config, paths, owners); len(uncovered) > 0 {
			// The repo's ownership rules do not send these files to the
			// infrastructure's owners, so the check asks for them itself:
			// an infrastructure change never merges without its owners.
			apps = append(apps, policy.ApprovalRequirement{Name: "infrastructure", Teams: owners, Check: Name,
				Reason: fmt.Sprintf("the change edits Terraform (%s) that no ownership rule gives to %s", abbreviate(uncovered, 3), strings.Join(owners, ", "))})
		}
	}
	var iam, network []string
	iamPath, netPath := "", ""
	for _, rc := range d.ResourceChanges {
		switch rc.Category {
		case plan.CategoryIAM:
			iam = append(iam, rc.Address+" ("+rc.Status+")")
			iamPath = firstNonEmpty(iamPath, rc.Path)
		case plan.CategoryNetwork:
			network = append(network, rc.Address+" ("+rc.Status+")")
			netPath = firstNonEmpty(netPath, rc.Path)
		}
	}
	for _, env := range sortedKeys(d.Plans) {
		p := d.Plans[env]
		for _, a := range p.IAMChanges {
			iam = append(iam, a+" in "+env)
		}
		for _, a := range p.NetworkChanges {
			network = append(network, a+" in "+env)
		}
	}
	if len(iam) > 0 {
		sigs = append(sigs, policy.Signal{Kind: policy.SignalIAM, Check: Name, Component: comp, Path: iamPath, Reason: "IAM changes: " + abbreviate(iam, 5)})
	}
	if len(network) > 0 {
		sigs = append(sigs, policy.Signal{Kind: policy.SignalNetwork, Check: Name, Component: comp, Path: netPath, Reason: "network changes: " + abbreviate(network, 5)})
	}
	for _, env := range sortedKeys(d.Plans) {
		p := d.Plans[env]
		if len(p.StatefulDestroys) == 0 {
			continue
		}
		for _, c := range p.classified {
			if c.Stateful && c.Destroys() {
				why := ""
				if c.ActionReason != "" {
					why = " (" + c.ActionReason + ")"
				}
				sigs = append(sigs, policy.Signal{Kind: policy.SignalStatefulDestroy, Check: Name, Component: comp, High: true,
					Reason: fmt.Sprintf("the %s plan will %s %s%s", env, verb(c.Action), c.Address, why)})
			}
		}
		apps = append(apps, policy.ApprovalRequirement{Name: "terraform plan " + env, Teams: owners, Subject: p.Hash, Check: Name,
			Reason: fmt.Sprintf("the %s plan destroys or replaces stateful resources: %s; approval binds to this plan only", env, abbreviate(p.StatefulDestroys, 5))})
	}
	// Without a plan, a removed block of a stateful type still means a destroy.
	if len(d.Plans) == 0 {
		stateful := plan.NewStatefulSet(in.Config.Checks.Terraform.StatefulTypes)
		for _, rc := range d.ResourceChanges {
			if rc.Status == "removed" && stateful[typeOf(rc.Address)] && !movedAway(in.Head, rc) {
				sigs = append(sigs, policy.Signal{Kind: policy.SignalStatefulDestroy, Check: Name, Component: comp, Path: rc.Path, High: true,
					Reason: fmt.Sprintf("the change removes the block of %s, a stateful resource; applying it destroys the resource (no plan was available to confirm)", rc.Address)})
			}
		}
	}
	return sigs, apps
}

// unownedPaths returns the paths no ownership rule of cfg gives to one of
// owners (team slugs, with or without "@org/").
func unownedPaths(cfg *config.RepoConfig, paths, owners []string) []string {
	slug := func(t string) string {
		t = strings.TrimPrefix(t, "@")
		if i := strings.LastIndex(t, "/"); i >= 0 {
			t = t[i+1:]
		}
		return t
	}
	want := map[string]bool{}
	for _, o := range owners {
		want[slug(o)] = true
	}
	var out []string
	for _, p := range paths {
		covered := false
		for _, r := range cfg.Ownership.Rules {
			teamOK := false
			for _, t := range r.Teams {
				teamOK = teamOK || want[slug(t)]
			}
			if !teamOK {
				continue
			}
			for _, g := range r.Paths {
				if ok, _ := doublestar.Match(g, p); ok {
					covered = true
				}
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

// typeOf returns the resource type of an address like module(x).aws_s3_bucket.b.
func typeOf(addr string) string {
	if i := strings.LastIndex(addr, ")."); i >= 0 {
		addr = addr[i+2:]
	}
	parts := strings.Split(addr, ".")
	if len(parts) >= 2 && parts[0] != "data" {
		return parts[0]
	}
	return ""
}

// movedAway reports a `moved` or `removed` block in head naming the address,
// which keeps the object from being destroyed.
func movedAway(head checks.Tree, rc ResourceChange) bool {
	m := loadModule(rc.Stack, readAll(head, moduleFiles(head, rc.Stack)))
	for _, f := range m.files {
		if f.body == nil {
			continue
		}
		for _, b := range f.body.Blocks {
			if b.Type != "moved" && b.Type != "removed" {
				continue
			}
			if a, ok := b.Body.Attributes["from"]; ok {
				for _, t := range refs(a.Expr) {
					if refAddr(t) == rc.Address {
						return true
					}
				}
			}
		}
	}
	return false
}

func verb(a plan.Action) string {
	if a == plan.Replace {
		return "replace"
	}
	return "delete"
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func abbreviate(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

func sortedActions(counts map[plan.Action]int) []plan.Action {
	var out []plan.Action
	for _, a := range plan.AllActions() {
		if counts[a] > 0 {
			out = append(out, a)
		}
	}
	return out
}
