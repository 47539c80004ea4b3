// Package contracts is the conveyor/contracts check: every data contract is
// valid ODCS v3, agrees with the dbt model or source it describes, and a
// change that breaks its consumers carries their approval. Given a warehouse
// Inspector per environment, it also compares each contract with the live
// table.
package contracts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/contracts/odcs"
	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/policy"
)

// Name is the check run's name.
const Name = "conveyor/contracts"

// Rules.
const (
	RuleInvalid      = "CONTRACT-INVALID"
	RuleUnbound      = "CONTRACT-UNBOUND"
	RuleMissing      = "CONTRACT-COLUMN-MISSING"
	RuleType         = "CONTRACT-TYPE"
	RuleNullable     = "CONTRACT-NULLABLE"
	RuleBreaking     = "CONTRACT-BREAKING"
	RuleLiveMissing  = "CONTRACT-LIVE-MISSING"
	RuleLiveDrift    = "CONTRACT-LIVE-DRIFT"
	RuleLiveNullable = "CONTRACT-LIVE-NULLABLE"
	RuleQuality      = "CONTRACT-QUALITY"
)

// Check is the conveyor/contracts check.
type Check struct {
	envs []envInspector
}

type envInspector struct {
	name string
	wh   warehouse.Inspector
}

// Option configures the check.
type Option func(*Check)

// WithWarehouse compares contracts with the live tables of environment env.
func WithWarehouse(env string, wh warehouse.Inspector) Option {
	return func(c *Check) { c.envs = append(c.envs, envInspector{env, wh}) }
}

// New returns the conveyor/contracts check.
func New(opts ...Option) checks.Check {
	c := &Check{}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ checks.Check = (*Check)(nil)

// Name returns the check run name.
func (c *Check) Name() string { return Name }

// Applies when the repo has a contracts component or any ODCS file, on head
// or on base: deleting the last contract is a change to check.
func (c *Check) Applies(in *checks.Input) bool {
	return len(in.Config.ComponentsOfKind(config.KindContracts)) > 0 || len(contractFiles(in.Config, in.Head)) > 0 ||
		len(contractFiles(in.Config, in.Base)) > 0
}

// Finding is one problem, located in a contract file.
type Finding struct {
	Rule     string `json:"rule"`
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Column   int    `json:"column,omitempty"`
	Contract string `json:"contract,omitempty"`
	Env      string `json:"env,omitempty"`
	Message  string `json:"message"`
	Breaking bool   `json:"breaking,omitempty"`
}

// Details is the check's machine-readable result.
type Details struct {
	Contracts []ContractInfo `json:"contracts"`
	Findings  []Finding      `json:"findings"`
	// Live lists the live comparisons made; LiveSkipped says why there were none.
	Live        []LiveResult `json:"live"`
	LiveSkipped string       `json:"live_skipped,omitempty"`
}

// ContractInfo summarizes one contract, including the SLA that freshness
// monitoring reads.
type ContractInfo struct {
	Path      string       `json:"path"`
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Version   string       `json:"version"`
	OwnerTeam string       `json:"owner_team"`
	Consumers []string     `json:"consumers"`
	Objects   []ObjectInfo `json:"objects"`
	SLA       []odcs.SLA   `json:"sla"`
	Valid     bool         `json:"valid"`
}

// ObjectInfo is one dataset of a contract and what it is bound to.
type ObjectInfo struct {
	Name string `json:"name"`
	// BoundTo is the dbt unique ID the object describes, if found.
	BoundTo  string `json:"bound_to,omitempty"`
	Relation string `json:"relation,omitempty"`
	Columns  int    `json:"columns"`
}

// LiveResult is one object compared with one environment's table.
type LiveResult struct {
	Env      string `json:"env"`
	Contract string `json:"contract"`
	Object   string `json:"object"`
	Relation string `json:"relation"`
	// Status is match, drift or missing.
	Status string   `json:"status"`
	Drift  []string `json:"drift,omitempty"`
	// Quality holds the contract's quality rules measured on the table.
	Quality []QualityResult `json:"quality,omitempty"`
}

// binding is what a schema object describes: a model or a source, with columns.
type binding struct {
	id       string
	relation string
	path     string
	columns  []project.Column
	tests    []project.GenericTest
	enforced bool
}

// Run validates the contracts.
func (c *Check) Run(ctx context.Context, in *checks.Input) (checks.Result, error) {
	settings := in.Config.Checks.Contracts
	res := checks.Result{Name: Name}
	if !settings.On() {
		res.Conclusion, res.Title, res.Summary = checks.Skipped, "contracts check disabled", "`checks.contracts.enabled` is false in `.conveyor.yml`."
		return res, nil
	}
	d := Details{Contracts: []ContractInfo{}, Findings: []Finding{}, Live: []LiveResult{}}
	projects := dbtProjects(in)
	baseContracts := map[string]*odcs.Contract{}
	var baseList []*odcs.Contract
	baseData := map[string][]byte{}
	for _, f := range contractFiles(in.Config, in.Base) {
		data, _ := in.Base.ReadFile(f)
		if bc, probs := odcs.Parse(f, data); len(probs) == 0 {
			baseContracts[bc.ID] = bc
			baseContracts["path:"+f] = bc
			baseList = append(baseList, bc)
			baseData[f] = data
		}
	}
	// What head still holds, valid or not: a contract that is invalid on
	// head is a finding of its own, not a removal.
	inHead := map[string]bool{}
	for _, f := range contractFiles(in.Config, in.Head) {
		data, err := in.Head.ReadFile(f)
		if err != nil {
			return res, fmt.Errorf("reading %s: %w", f, err)
		}
		ct, probs := odcs.Parse(f, data)
		inHead["path:"+f] = true
		if ct.ID != "" {
			inHead[ct.ID] = true
		}
		info := ContractInfo{Path: f, ID: ct.ID, Name: ct.Name, Version: ct.Version, OwnerTeam: ct.OwnerTeam, Consumers: nonNil(ct.ConsumerTeams()), SLA: ct.SLA, Valid: len(probs) == 0, Objects: []ObjectInfo{}}
		if info.SLA == nil {
			info.SLA = []odcs.SLA{}
		}
		for _, p := range probs {
			d.Findings = append(d.Findings, Finding{Rule: RuleInvalid, Path: p.Path, Line: p.Line, Column: p.Column, Contract: ct.ID, Message: "not valid ODCS v3: " + p.Msg})
		}
		if len(probs) > 0 {
			d.Contracts = append(d.Contracts, info)
			continue
		}
		for _, o := range ct.Schema {
			oi := ObjectInfo{Name: o.Name, Columns: len(o.Properties)}
			b, ok := bind(o, projects)
			if ok {
				oi.BoundTo, oi.Relation = b.id, b.relation
				d.Findings = append(d.Findings, agree(ct, o, b)...)
			} else {
				d.Findings = append(d.Findings, Finding{Rule: RuleUnbound, Path: f, Line: o.Line, Contract: ct.ID,
					Message: fmt.Sprintf("schema object %s describes no dbt model or source (match by physicalName, or add customProperties dbtModel)", o.Name)})
			}
			info.Objects = append(info.Objects, oi)
		}
		d.Contracts = append(d.Contracts, info)
		base := baseContracts[ct.ID]
		if base == nil {
			base = baseContracts["path:"+f]
		}
		if base != nil {
			br := breaking(base, ct)
			d.Findings = append(d.Findings, br...)
			if len(br) > 0 {
				sum := sha256.Sum256(data)
				teams := dedupe(append(append([]string{ct.OwnerTeam}, base.ConsumerTeams()...), ct.ConsumerTeams()...))
				res.Approvals = append(res.Approvals, policy.ApprovalRequirement{
					Name:    "breaking change to contract " + contractName(ct),
					Reason:  fmt.Sprintf("%s changes the contract in ways that break its consumers (%d findings); the owner and every consumer must approve this version", f, len(br)),
					Teams:   teams,
					Subject: contractName(ct) + "@" + hex.EncodeToString(sum[:]),
					Check:   Name,
				})
				res.Signals = append(res.Signals, policy.Signal{Kind: policy.SignalBreakingSchema, Check: Name, Path: f, Reason: br[0].Message, High: true})
			}
		}
		if len(c.envs) > 0 {
			for _, env := range c.envs {
				for _, o := range ct.Schema {
					lr, fs, err := live(ctx, env, ct, o, projects)
					if err != nil {
						return res, err
					}
					d.Live = append(d.Live, lr)
					d.Findings = append(d.Findings, fs...)
				}
			}
		}
	}
	for _, bc := range baseList {
		if inHead[bc.ID] || inHead["path:"+bc.Path] {
			continue
		}
		f := removed(bc)
		d.Findings = append(d.Findings, f)
		sum := sha256.Sum256(baseData[bc.Path])
		res.Approvals = append(res.Approvals, policy.ApprovalRequirement{
			Name:    "removal of contract " + contractName(bc),
			Reason:  fmt.Sprintf("%s is deleted, so its consumers lose what it guarantees; the owner and every consumer must approve the removal", bc.Path),
			Teams:   dedupe(append([]string{bc.OwnerTeam}, bc.ConsumerTeams()...)),
			Subject: contractName(bc) + " removed@" + hex.EncodeToString(sum[:]),
			Check:   Name,
		})
		res.Signals = append(res.Signals, policy.Signal{Kind: policy.SignalBreakingSchema, Check: Name, Path: bc.Path, Reason: f.Message, High: true})
	}
	if len(c.envs) == 0 {
		d.LiveSkipped = "no warehouse connection was given, so contracts were not compared with live tables"
	}
	sort.SliceStable(d.Findings, func(i, j int) bool {
		if d.Findings[i].Path != d.Findings[j].Path {
			return d.Findings[i].Path < d.Findings[j].Path
		}
		return d.Findings[i].Line < d.Findings[j].Line
	})
	res.Annotations = annotate(settings.RuleSettings, d.Findings)
	res.Details = d
	res.Conclusion = conclude(res.Annotations)
	res.Title, res.Summary = summarize(d, res)
	return res, nil
}

func contractName(c *odcs.Contract) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// contractFiles lists the tree's contract files: those of contracts
// components, or every YAML that declares kind DataContract.
func contractFiles(cfg *config.RepoConfig, tree checks.Tree) []string {
	if tree == nil {
		return nil
	}
	var out []string
	if len(cfg.ComponentsOfKind(config.KindContracts)) > 0 {
		for _, f := range checks.FilesOfKind(cfg, tree, config.KindContracts) {
			if strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml") {
				out = append(out, f)
			}
		}
		return out
	}
	for _, f := range tree.Files() {
		if !strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, ".yml") {
			continue
		}
		if data, err := tree.ReadFile(f); err == nil && odcs.IsContract(data) {
			out = append(out, f)
		}
	}
	return out
}

func dbtProjects(in *checks.Input) []*project.Project {
	var out []*project.Project
	parser := project.NewParser()
	for _, comp := range in.Config.ComponentsOfKind(config.KindDbt) {
		p, err := parser.Parse(in.Head, comp.Project)
		if err == nil {
			out = append(out, p)
		}
	}
	return out
}

// bind finds the model (its latest version) or source a schema object describes.
func bind(o odcs.Object, projects []*project.Project) (binding, bool) {
	for _, p := range projects {
		var cands []*project.Model
		for _, id := range p.ModelIDs() {
			m := p.Models[id]
			if o.Describes(m.Name, m.Relation()) {
				cands = append(cands, m)
			}
		}
		if len(cands) > 0 {
			m := cands[0]
			for _, c := range cands {
				if c.Version != "" && c.Version == c.LatestVersion {
					m = c
				}
			}
			return binding{id: m.UniqueID, relation: m.Relation(), path: m.PatchPath, columns: m.Columns, tests: m.AllTests(), enforced: m.ContractEnforced}, true
		}
		for _, id := range sortedSourceIDs(p) {
			s := p.Sources[id]
			if o.DbtSource != "" && o.DbtSource == s.SourceName+"."+s.Name || o.DbtSource == "" && o.Describes("", s.Relation()) {
				var tests []project.GenericTest
				for _, c := range s.Columns {
					tests = append(tests, c.Tests...)
				}
				return binding{id: id, relation: s.Relation(), path: s.Path, columns: s.Columns, tests: tests}, true
			}
		}
	}
	return binding{}, false
}

func sortedSourceIDs(p *project.Project) []string {
	out := make([]string, 0, len(p.Sources))
	for id := range p.Sources {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// agree checks that every contracted column exists in the model with a
// compatible type and nullability.
func agree(ct *odcs.Contract, o odcs.Object, b binding) []Finding {
	var out []Finding
	cols := map[string]project.Column{}
	for _, c := range b.columns {
		cols[strings.ToLower(c.Name)] = c
	}
	notNullTest := map[string]bool{}
	for _, t := range b.tests {
		if t.Name == "not_null" {
			notNullTest[strings.ToLower(t.Column)] = true
		}
	}
	if len(cols) == 0 {
		return []Finding{{Rule: RuleMissing, Path: ct.Path, Line: o.Line, Contract: ct.ID,
			Message: fmt.Sprintf("%s is bound to %s, which declares no columns; declare them in its properties YAML so the contract can be checked", o.Name, project.ShortName(b.id))}}
	}
	for _, p := range o.Properties {
		col, ok := cols[strings.ToLower(p.Name)]
		if !ok {
			out = append(out, Finding{Rule: RuleMissing, Path: ct.Path, Line: p.Line, Contract: ct.ID,
				Message: fmt.Sprintf("%s.%s is in the contract but %s has no such column", o.Name, p.Name, project.ShortName(b.id))})
			continue
		}
		if col.DataType != "" {
			if !odcs.Compatible(p.LogicalType, col.DataType) || p.PhysicalType != "" && !odcs.Compatible(odcs.Family(p.PhysicalType), col.DataType) {
				out = append(out, Finding{Rule: RuleType, Path: ct.Path, Line: p.Line, Contract: ct.ID,
					Message: fmt.Sprintf("%s.%s is %s in the contract but %s in %s", o.Name, p.Name, typeOf(p), col.DataType, project.ShortName(b.id))})
			}
		}
		if p.Required && !col.HasConstraint("not_null") && !notNullTest[strings.ToLower(p.Name)] {
			out = append(out, Finding{Rule: RuleNullable, Path: ct.Path, Line: p.Line, Contract: ct.ID,
				Message: fmt.Sprintf("%s.%s is required in the contract, but %s neither constrains nor tests it not_null", o.Name, p.Name, project.ShortName(b.id))})
		}
	}
	return out
}

func typeOf(p odcs.Property) string {
	switch {
	case p.PhysicalType != "" && p.LogicalType != "":
		return p.LogicalType + " (" + p.PhysicalType + ")"
	case p.PhysicalType != "":
		return p.PhysicalType
	}
	return p.LogicalType
}

// breaking compares a contract with its base version from the consumers'
// side: a removed dataset or column, a narrowed type, a newly required
// column, or a tightened SLA the producer may not meet.
func breaking(base, head *odcs.Contract) []Finding {
	var out []Finding
	f := func(line int, format string, args ...any) {
		out = append(out, Finding{Rule: RuleBreaking, Path: head.Path, Line: max(line, 1), Contract: head.ID, Breaking: true, Message: fmt.Sprintf(format, args...)})
	}
	objs := map[string]odcs.Object{}
	for _, o := range head.Schema {
		objs[strings.ToLower(o.Name)] = o
	}
	for _, bo := range base.Schema {
		ho, ok := objs[strings.ToLower(bo.Name)]
		if !ok {
			f(head.SchemaLine, "dataset %s was removed from the contract's schema (it was at line %d)", bo.Name, bo.Line)
			continue
		}
		props := map[string]odcs.Property{}
		for _, p := range ho.Properties {
			props[strings.ToLower(p.Name)] = p
		}
		for _, bp := range bo.Properties {
			hp, ok := props[strings.ToLower(bp.Name)]
			if !ok {
				f(ho.Line, "%s.%s was removed (a rename is a removal plus an addition)", bo.Name, bp.Name)
				continue
			}
			if !odcs.Widens(bp.LogicalType, bp.PhysicalType, hp.LogicalType, hp.PhysicalType) {
				f(hp.Line, "%s.%s narrowed from %s to %s", bo.Name, bp.Name, typeOf(bp), typeOf(hp))
			}
			if hp.Required && !bp.Required {
				f(hp.Line, "%s.%s became required", bo.Name, bp.Name)
			}
		}
	}
	baseSLA := map[string]odcs.SLA{}
	for _, s := range base.SLA {
		baseSLA[s.Property+"|"+s.Element] = s
	}
	for _, s := range head.SLA {
		bs, ok := baseSLA[s.Property+"|"+s.Element]
		if !ok {
			continue
		}
		ob, ok1 := bs.Duration()
		nb, ok2 := s.Duration()
		if ok1 && ok2 && nb < ob {
			f(s.Line, "SLA %s tightened from %s %s to %s %s; the producer must be able to meet it", s.Property, bs.Value, bs.Unit, s.Value, s.Unit)
		}
	}
	return out
}

// removed is the finding for a contract deleted on head. The file is gone,
// so it sits at the top of the deleted file and names what consumers lose.
func removed(c *odcs.Contract) Finding {
	var datasets []string
	for _, o := range c.Schema {
		datasets = append(datasets, o.Name)
	}
	who := "its consumers"
	if teams := c.ConsumerTeams(); len(teams) > 0 {
		who = strings.Join(teams, ", ")
	}
	return Finding{Rule: RuleBreaking, Path: c.Path, Line: 1, Contract: c.ID, Breaking: true,
		Message: fmt.Sprintf("contract %s was deleted: %s lose the guarantees on %s", contractName(c), who, strings.Join(datasets, ", "))}
}

// live compares one schema object with its table in an environment.
func live(ctx context.Context, env envInspector, ct *odcs.Contract, o odcs.Object, projects []*project.Project) (LiveResult, []Finding, error) {
	rel := o.PhysicalName
	if b, ok := bind(o, projects); ok && rel == "" {
		rel = b.relation
	}
	if rel == "" {
		rel = o.Name
	}
	schema, table, err := warehouse.SplitRelation(ctx, env.wh, rel)
	if err != nil {
		return LiveResult{}, nil, err
	}
	lr := LiveResult{Env: env.name, Contract: ct.ID, Object: o.Name, Relation: rel, Status: "match"}
	var fs []Finding
	cols, err := env.wh.Columns(ctx, schema, table)
	if errors.Is(err, warehouse.ErrNotFound) {
		lr.Status = "missing"
		fs = append(fs, Finding{Rule: RuleLiveMissing, Path: ct.Path, Line: o.Line, Contract: ct.ID, Env: env.name,
			Message: fmt.Sprintf("%s: table %s does not exist in %s", o.Name, rel, env.name)})
		return lr, fs, nil
	}
	if err != nil {
		return lr, nil, fmt.Errorf("comparing %s with %s in %s: %w", o.Name, rel, env.name, err)
	}
	byName := map[string]warehouse.Column{}
	for _, c := range cols {
		byName[strings.ToLower(c.Name)] = c
	}
	for _, p := range o.Properties {
		c, ok := byName[strings.ToLower(p.Name)]
		var msg, rule string
		switch {
		case !ok:
			rule, msg = RuleLiveDrift, fmt.Sprintf("%s.%s is missing from %s in %s", o.Name, p.Name, rel, env.name)
		case !odcs.Compatible(p.LogicalType, c.Type) || p.PhysicalType != "" && !odcs.Compatible(odcs.Family(p.PhysicalType), c.Type):
			rule, msg = RuleLiveDrift, fmt.Sprintf("%s.%s is %s in the contract but %s in %s (%s)", o.Name, p.Name, typeOf(p), c.Type, rel, env.name)
		case p.Required && c.Nullable:
			rule, msg = RuleLiveNullable, fmt.Sprintf("%s.%s is required in the contract but nullable in %s (%s)", o.Name, p.Name, rel, env.name)
		default:
			continue
		}
		lr.Status = "drift"
		lr.Drift = append(lr.Drift, msg)
		fs = append(fs, Finding{Rule: rule, Path: ct.Path, Line: p.Line, Contract: ct.ID, Env: env.name, Message: msg})
	}
	qr, qfs := measureQuality(ctx, env, ct, o, rel)
	lr.Quality = qr
	fs = append(fs, qfs...)
	return lr, fs, nil
}

func dedupe(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func defaultLevel(rule string) string {
	switch rule {
	case RuleUnbound, RuleLiveNullable:
		return "warning"
	}
	return "failure"
}

func annotate(rs config.RuleSettings, fs []Finding) []checks.Annotation {
	var out []checks.Annotation
	for _, f := range fs {
		if !rs.RuleOn(f.Rule, f.Path) {
			continue
		}
		title := map[string]string{RuleInvalid: "Invalid data contract", RuleUnbound: "Contract describes nothing known", RuleMissing: "Contracted column missing from the model",
			RuleType: "Contract and model disagree on a type", RuleNullable: "Required column not guaranteed", RuleBreaking: "Contract change breaks consumers",
			RuleLiveMissing: "Contracted table missing", RuleLiveDrift: "Live table drifted from the contract", RuleLiveNullable: "Live column nullable",
			RuleQuality: "Contract quality rule failed"}[f.Rule]
		if f.Env != "" {
			title += " (" + f.Env + ")"
		}
		out = append(out, checks.Annotation{Path: f.Path, StartLine: f.Line, EndLine: f.Line, StartColumn: f.Column, EndColumn: f.Column,
			Level: checks.Level(rs.Severity(f.Rule, defaultLevel(f.Rule))), Rule: f.Rule, Title: title, Message: f.Message})
	}
	return out
}

// conclude fails on failing annotations; contract-breaking changes alone ask
// for action (the approval that clears them is the policy check's).
func conclude(anns []checks.Annotation) checks.Conclusion {
	any, onlyBreaking := false, true
	for _, a := range anns {
		if a.Level == checks.Fail {
			any = true
			if a.Rule != RuleBreaking {
				onlyBreaking = false
			}
		}
	}
	switch {
	case !any:
		return checks.Success
	case onlyBreaking:
		return checks.ActionRequired
	}
	return checks.Failure
}

func summarize(d Details, res checks.Result) (string, string) {
	var b strings.Builder
	problems := 0
	for _, a := range res.Annotations {
		if a.Level == checks.Fail {
			problems++
		}
	}
	title := fmt.Sprintf("%d contracts valid and in agreement", len(d.Contracts))
	if problems > 0 {
		title = fmt.Sprintf("%d contracts; %d problems", len(d.Contracts), problems)
	}
	b.WriteString("| contract | version | owner | consumers | datasets |\n|---|---|---|---|---|\n")
	for _, c := range d.Contracts {
		var objs []string
		for _, o := range c.Objects {
			if o.BoundTo != "" {
				objs = append(objs, fmt.Sprintf("%s → `%s`", o.Name, project.ShortName(o.BoundTo)))
			} else {
				objs = append(objs, o.Name)
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Path, c.Version, c.OwnerTeam, strings.Join(c.Consumers, ", "), strings.Join(objs, "; "))
	}
	if d.LiveSkipped != "" {
		b.WriteString("\nLive comparison skipped: " + d.LiveSkipped + ".\n")
	} else {
		b.WriteString("\n**Live tables**\n\n")
		for _, l := range d.Live {
			passed, failed := 0, 0
			for _, q := range l.Quality {
				switch q.Status {
				case "pass":
					passed++
				case "fail", "error":
					failed++
				}
			}
			quality := ""
			if len(l.Quality) > 0 {
				quality = fmt.Sprintf("; quality rules: %d passed, %d failed", passed, failed)
			}
			fmt.Fprintf(&b, "- %s `%s` (%s): %s%s\n", l.Env, l.Relation, l.Object, l.Status, quality)
		}
	}
	if len(res.Approvals) > 0 {
		b.WriteString("\n**Consumer approval required**\n\n")
		for _, a := range res.Approvals {
			fmt.Fprintf(&b, "- %s: %s\n", a.Name, strings.Join(a.Teams, ", "))
		}
	}
	if len(res.Annotations) > 0 {
		b.WriteString("\n**Findings**\n\n")
		for _, a := range res.Annotations {
			fmt.Fprintf(&b, "- %s `%s:%d` %s\n", a.Level, a.Path, a.StartLine, a.Message)
		}
	}
	return title, b.String()
}
