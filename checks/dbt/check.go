// Package dbt is the conveyor/dbt check. It reads the dbt project of base and
// head without Python or dbt (or from dbt's manifest.json when one is at
// hand), lists what a change modifies and everything downstream of it, and
// finds contract-breaking changes, dangling references, full-refresh needs and
// SQL that can load the same data twice.
package dbt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/contracts/odcs"
	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/policy"
)

// Name is the check run's name.
const Name = "conveyor/dbt"

// ManifestSource supplies the manifest.json of the last production deploy of
// a project folder, used as the base state; nil data means none is known.
type ManifestSource func(ctx context.Context, projectDir string) ([]byte, error)

// Check is the conveyor/dbt check.
type Check struct {
	baseManifest ManifestSource
}

// Option configures the check.
type Option func(*Check)

// WithBaseManifest makes the check read base state from the last production
// deployment's manifest.json when the source has one.
func WithBaseManifest(src ManifestSource) Option { return func(c *Check) { c.baseManifest = src } }

// New returns the conveyor/dbt check.
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

// Applies when the repo has a dbt component.
func (c *Check) Applies(in *checks.Input) bool {
	return len(in.Config.ComponentsOfKind(config.KindDbt)) > 0
}

// Details is the check's machine-readable result.
type Details struct {
	Projects []ProjectInfo `json:"projects"`
	Models   []ModelInfo   `json:"models"`
	Impact   Impact        `json:"impact"`
	Findings []Finding     `json:"findings"`
	// Unknowns are what static parsing could not resolve.
	Unknowns   []project.Unknown `json:"unknowns"`
	RunResults []RunResult       `json:"run_results,omitempty"`
}

// ProjectInfo says where a project was read from.
type ProjectInfo struct {
	Dir        string `json:"dir"`
	Name       string `json:"name"`
	Component  string `json:"component"`
	HeadOrigin string `json:"head_origin"`
	BaseOrigin string `json:"base_origin"`
	Models     int    `json:"models"`
	Sources    int    `json:"sources"`
	Exposures  int    `json:"exposures"`
}

// ModelInfo is one model of head.
type ModelInfo struct {
	UniqueID         string   `json:"unique_id"`
	Path             string   `json:"path"`
	Materialized     string   `json:"materialized"`
	ContractEnforced bool     `json:"contract_enforced"`
	DependsOn        []string `json:"depends_on"`
	Version          string   `json:"version,omitempty"`
	LatestVersion    string   `json:"latest_version,omitempty"`
	Relation         string   `json:"relation"`
	Tags             []string `json:"tags,omitempty"`
}

// RunResult is one node's outcome from the repo's own dbt command.
type RunResult struct {
	UniqueID string  `json:"unique_id"`
	Status   string  `json:"status"`
	Message  string  `json:"message,omitempty"`
	Seconds  float64 `json:"execution_time"`
}

// Run validates the change.
func (c *Check) Run(ctx context.Context, in *checks.Input) (checks.Result, error) {
	settings := in.Config.Checks.Dbt
	res := checks.Result{Name: Name}
	if !settings.On() {
		res.Conclusion, res.Title, res.Summary = checks.Skipped, "dbt check disabled", "`checks.dbt.enabled` is false in `.conveyor.yml`."
		return res, nil
	}
	d := Details{Projects: []ProjectInfo{}, Models: []ModelInfo{}, Findings: []Finding{}, Unknowns: []project.Unknown{},
		Impact: Impact{Modified: []string{}, Downstream: []string{}, Order: []string{}, Changes: []NodeChange{}, Sources: []string{}, Seeds: []string{}, Exposures: []string{}, DAGs: []DAGImpact{}}}
	contracts := readContracts(in)
	adapter := Adapter(settings.Adapter)
	if adapter == "" {
		adapter = AdapterSnowflake
	}
	var notes []string
	dagCmds := scanDAGs(in)
	for _, comp := range in.Config.ComponentsOfKind(config.KindDbt) {
		parser := project.NewParser()
		head, headNote, err := c.load(ctx, parser, in.Head, comp.Project, settings.Manifest, nil)
		if errors.Is(err, project.ErrNoProject) {
			notes = append(notes, fmt.Sprintf("Component %s names project folder `%s`, which has no dbt_project.yml.", comp.Name, orRoot(comp.Project)))
			continue
		}
		if err != nil {
			return res, err
		}
		base, baseNote, err := c.load(ctx, parser, in.Base, comp.Project, settings.Manifest, c.baseManifest)
		if errors.Is(err, project.ErrNoProject) {
			base = emptyProject(head)
		} else if err != nil {
			return res, err
		}
		for _, n := range []string{headNote, baseNote} {
			if n != "" {
				notes = append(notes, n)
			}
		}
		d.Projects = append(d.Projects, ProjectInfo{Dir: head.Dir, Name: head.Name, Component: comp.Name, HeadOrigin: head.Origin, BaseOrigin: base.Origin,
			Models: len(head.Models), Sources: len(head.Sources), Exposures: len(head.Exposures)})
		for _, id := range head.ModelIDs() {
			m := head.Models[id]
			d.Models = append(d.Models, ModelInfo{UniqueID: id, Path: m.Path, Materialized: m.Materialized, ContractEnforced: m.ContractEnforced,
				DependsOn: nonNil(m.DependsOn), Version: m.Version, LatestVersion: m.LatestVersion, Relation: m.Relation(), Tags: m.Tags})
		}
		d.Unknowns = append(d.Unknowns, head.Unknowns...)

		imp := Diff(base, head)
		impacted := map[string]bool{}
		for _, id := range imp.Modified {
			impacted[id] = true
		}
		for _, id := range imp.Downstream {
			impacted[id] = true
		}
		sel := NewSelection(head, NewGraph(head), impacted)
		imp.DAGs = DAGsFor(dagCmds, sel, impacted)
		mergeImpact(&d.Impact, imp)

		var fs []Finding
		for _, p := range head.Problems {
			fs = append(fs, Finding{Rule: RuleProject, Path: p.Path, Line: max(p.Line, 1), Message: p.Msg})
		}
		fs = append(fs, BreakingChanges(base, head, adapter)...)
		fs = append(fs, Dangling(base, head)...)
		fs = append(fs, RemovedSelected(dagCmds, base, head)...)
		fs = append(fs, LatestMoved(base, head)...)
		fs = append(fs, FullRefresh(base, head)...)
		files := sqlFiles(in, parser, comp)
		fs = append(fs, Hazards(files, LoadTargets(head, files))...)
		fs = append(fs, IncrementalAppends(head, nil)...)
		d.Findings = append(d.Findings, fs...)

		res.Approvals = append(res.Approvals, approvals(base, head, fs, contracts, comp)...)
		if comp.Commands.Build != "" && in.Executor != nil && in.HeadDir != "" {
			rr, f, err := runBuild(ctx, in, comp, head)
			if err != nil {
				return res, err
			}
			d.RunResults = append(d.RunResults, rr...)
			d.Findings = append(d.Findings, f...)
		}
	}
	sortFindings(d.Findings)
	res.Annotations = annotate(in, settings.RuleSettings, d.Findings)
	res.Signals = signals(d.Findings)
	res.Details = d
	res.Conclusion = conclude(res.Annotations, d.Findings)
	res.Title, res.Summary = summarize(d, res, notes)
	return res, nil
}

func orRoot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func emptyProject(like *project.Project) *project.Project {
	return &project.Project{Dir: like.Dir, Name: like.Name, Origin: "none", Models: map[string]*project.Model{}, Sources: map[string]*project.Source{},
		Exposures: map[string]*project.Exposure{}, Macros: map[string]*project.Macro{}, Seeds: map[string]*project.Model{}, Groups: map[string]string{}}
}

// load reads one side's project: a production manifest when given, else the
// tree's target/manifest.json when it agrees with the files, else the files.
func (c *Check) load(ctx context.Context, parser *project.Parser, tree checks.Tree, dir, manifestPath string, src ManifestSource) (*project.Project, string, error) {
	if _, err := tree.ReadFile(path.Join(orRoot(dir), "dbt_project.yml")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", project.ErrNoProject
		}
		return nil, "", err
	}
	if src != nil {
		data, err := src(ctx, dir)
		if err != nil {
			return nil, "", fmt.Errorf("reading the production manifest of %s: %w", orRoot(dir), err)
		}
		if data != nil {
			p, err := project.ReadManifest(dir, data)
			if err == nil {
				return p, "", nil
			}
			parsed, perr := parser.Parse(tree, dir)
			return parsed, fmt.Sprintf("The production manifest of `%s` could not be read (%v); the base project was parsed instead.", orRoot(dir), err), perr
		}
	}
	if manifestPath == "" {
		manifestPath = path.Join(orRoot(dir), "target", "manifest.json")
	}
	data, err := tree.ReadFile(manifestPath)
	if err != nil {
		p, err := parser.Parse(tree, dir)
		return p, "", err
	}
	// The files are parsed even with a manifest at hand: a committed
	// manifest is only as good as its agreement with them.
	parsed, err := parser.Parse(tree, dir)
	if err != nil {
		return nil, "", err
	}
	p, err := project.ReadManifest(dir, data)
	if err != nil {
		return parsed, fmt.Sprintf("`%s` could not be used (%v); the project was parsed instead.", manifestPath, err), nil
	}
	if stale := staleFiles(tree, p, parsed); len(stale) > 0 {
		return parsed, fmt.Sprintf("`%s` is stale (%d files differ from it, e.g. `%s`); the project was parsed instead.", manifestPath, len(stale), stale[0]), nil
	}
	p.Locate(tree)
	// The files are the same either way, and so are their problems.
	p.Problems = parsed.Problems
	return p, "", nil
}

// staleFiles lists the files a manifest no longer describes, compared with
// the project parsed from the same tree: model SQL whose checksum moved,
// models added or removed since, properties YAML whose columns, types,
// constraints, tests, versions or contract differ, configs that moved (where
// the scanner can know them), sources, exposures and macros. The manifest has
// checksums for model SQL only, so the rest is compared by content.
func staleFiles(tree checks.Tree, m, parsed *project.Project) []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, id := range m.ModelIDs() {
		mm, pm := m.Models[id], parsed.Models[id]
		if pm == nil {
			add(mm.Path)
			continue
		}
		if mm.Checksum != pm.Checksum {
			add(pm.Path)
		}
		if yamlKey(mm) != yamlKey(pm) {
			add(orFile(pm.PatchPath, mm.PatchPath, pm.Path))
		}
		if len(pm.UnknownConfig) == 0 && (configKey(mm) != configKey(pm) || mm.Relation() != pm.Relation() || mm.Database != pm.Database) {
			add(orFile(pm.PatchPath, mm.PatchPath, parsed.ProjectFile))
		}
	}
	for _, id := range parsed.ModelIDs() {
		if _, ok := m.Models[id]; !ok {
			add(parsed.Models[id].Path)
		}
	}
	for id, ps := range parsed.Sources {
		if ms, ok := m.Sources[id]; !ok || !sameSource(ms, ps) {
			add(ps.Path)
		}
	}
	for id, ms := range m.Sources {
		if _, ok := parsed.Sources[id]; !ok {
			add(ms.Path)
		}
	}
	for id, pe := range parsed.Exposures {
		if me, ok := m.Exposures[id]; !ok || strings.Join(me.DependsOn, ",") != strings.Join(pe.DependsOn, ",") {
			add(pe.Path)
		}
	}
	for id, me := range m.Exposures {
		if _, ok := parsed.Exposures[id]; !ok {
			add(me.Path)
		}
	}
	for id, mm := range m.Macros {
		pm, ok := parsed.Macros[id]
		if !ok {
			add(mm.Path)
			continue
		}
		if mm.Body == "" {
			continue
		}
		if data, err := tree.ReadFile(pm.Path); err != nil || !strings.Contains(string(data), mm.Body) {
			add(pm.Path)
		}
	}
	for id, pm := range parsed.Macros {
		if _, ok := m.Macros[id]; !ok {
			add(pm.Path)
		}
	}
	sort.Strings(out)
	return out
}

// yamlKey is what a model's properties YAML declares: its contract, columns
// with their types and constraints, data tests, versions and where it is
// described.
func yamlKey(m *project.Model) string {
	var tests []string
	for _, t := range m.AllTests() {
		tests = append(tests, t.Name+"("+t.Column+","+strings.Join(t.Values, "|")+","+t.To+","+t.Field+")")
	}
	sort.Strings(tests)
	return contractKey(m) + "|" + strings.Join(tests, ";") + "|" + m.Version + "|" + m.LatestVersion + "|" + m.PatchPath
}

func orFile(paths ...string) string {
	for _, p := range paths {
		if p != "" {
			return p
		}
	}
	return ""
}

func mergeImpact(dst *Impact, src Impact) {
	dst.Modified = append(dst.Modified, src.Modified...)
	dst.Downstream = append(dst.Downstream, src.Downstream...)
	dst.Order = append(dst.Order, src.Order...)
	dst.Changes = append(dst.Changes, src.Changes...)
	dst.Sources = append(dst.Sources, src.Sources...)
	dst.Seeds = append(dst.Seeds, src.Seeds...)
	dst.Exposures = append(dst.Exposures, src.Exposures...)
	dst.DAGs = append(dst.DAGs, src.DAGs...)
}

// readContracts reads every ODCS contract in head, for consumer teams.
func readContracts(in *checks.Input) []*odcs.Contract {
	var out []*odcs.Contract
	for _, f := range in.Head.Files() {
		if !strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, ".yml") {
			continue
		}
		data, err := in.Head.ReadFile(f)
		// the substring test spares the line regexp every dbt properties file
		if err != nil || !bytes.Contains(data, []byte("DataContract")) || !odcs.IsContract(data) {
			continue
		}
		if c, _ := odcs.Parse(f, data); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// scanDAGs finds dbt commands in the airflow components' Python files (every
// Python file when the repo has no airflow component).
func scanDAGs(in *checks.Input) []DbtCommand {
	var files []string
	if len(in.Config.ComponentsOfKind(config.KindAirflow)) > 0 {
		files = in.FilesOf(config.KindAirflow)
	} else {
		for _, f := range in.Head.Files() {
			if strings.HasSuffix(f, ".py") {
				files = append(files, f)
			}
		}
	}
	var out []DbtCommand
	for _, f := range files {
		if !strings.HasSuffix(f, ".py") {
			continue
		}
		data, err := in.Head.ReadFile(f)
		if err != nil {
			continue
		}
		out = append(out, ScanDAG(f, data)...)
	}
	return out
}

// sqlFiles returns the project's SQL (models, macros, snapshots, analyses and
// any other .sql of the component) with Jinja blanked out. The parser has
// scanned most of these files already and hands back its scan.
func sqlFiles(in *checks.Input, parser *project.Parser, comp *config.Component) []SQLFile {
	var out []SQLFile
	for _, f := range in.Head.Files() {
		if !strings.HasSuffix(f, ".sql") || !comp.Matches(f) || strings.Contains(f, "/target/") || strings.Contains(f, "dbt_packages/") {
			continue
		}
		data, err := in.Head.ReadFile(f)
		if err != nil {
			continue
		}
		out = append(out, SQLFile{Path: f, SQL: parser.ScanSQL(f, data).SQL})
	}
	return out
}

// approvals turns breaking findings into one requirement per model: the
// owning team and every consumer team must approve this exact contract.
func approvals(base, head *project.Project, fs []Finding, contracts []*odcs.Contract, comp *config.Component) []policy.ApprovalRequirement {
	byModel := map[string][]Finding{}
	for _, f := range fs {
		if f.Breaking {
			byModel[f.UniqueID] = append(byModel[f.UniqueID], f)
		}
	}
	var out []policy.ApprovalRequirement
	for _, id := range sortedKeys(byModel) {
		m := head.Models[id]
		if m == nil {
			continue
		}
		teams := append([]string{ownerTeam(head, m, contracts, comp)}, consumerTeams(head, m, contracts)...)
		teams = dedupe(teams)
		var rules []string
		for _, f := range byModel[id] {
			rules = appendOnce(rules, f.Rule)
		}
		out = append(out, policy.ApprovalRequirement{
			Name:    "breaking change to " + displayName(m),
			Reason:  fmt.Sprintf("%s (%s) changes its enforced contract incompatibly (%s); ship it as a new model version, or have the owner and every consumer approve", displayName(m), m.Path, strings.Join(rules, ", ")),
			Teams:   teams,
			Subject: displayName(m) + "@" + ContractHash(m),
			Check:   Name,
		})
	}
	return out
}

// ownerTeam is meta.owner, else the group's owner, else the contract's
// producer, else the component's owner.
func ownerTeam(p *project.Project, m *project.Model, contracts []*odcs.Contract, comp *config.Component) string {
	if m.Owner != "" {
		return m.Owner
	}
	if o := p.Groups[m.Group]; o != "" {
		return o
	}
	for _, c := range contracts {
		for _, o := range c.Schema {
			if o.Describes(m.Name, m.Relation()) && c.OwnerTeam != "" {
				return c.OwnerTeam
			}
		}
	}
	return comp.Owner
}

// consumerTeams are the consumers of every contract describing m and the
// teams owning exposures downstream of it.
func consumerTeams(p *project.Project, m *project.Model, contracts []*odcs.Contract) []string {
	var out []string
	for _, c := range contracts {
		for _, o := range c.Schema {
			if o.Describes(m.Name, m.Relation()) {
				out = append(out, c.ConsumerTeams()...)
			}
		}
	}
	g := NewGraph(p)
	for _, id := range sortedKeys(g.Descendants(m.UniqueID)) {
		if e, ok := p.Exposures[id]; ok {
			switch {
			case e.Team != "":
				out = append(out, e.Team)
			case isSlug(e.Owner):
				out = append(out, e.Owner)
			}
		}
	}
	return out
}

func isSlug(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = appendOnce(out, s)
		}
	}
	return out
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Path != fs[j].Path {
			return fs[i].Path < fs[j].Path
		}
		return fs[i].Line < fs[j].Line
	})
}

// defaultLevel is each rule's severity before settings.
func defaultLevel(rule string) string {
	switch rule {
	case RuleLatestMoved, RuleFullRefresh, RuleStatic, RuleManifestStale:
		return "warning"
	}
	return "failure"
}

// annotate turns findings into annotations, honouring the rule settings. A
// finding in a file the change does not touch is shown as a notice: it was
// there before and should not block this change. The dbt command's failures
// are the exception: they are this head's build, wherever they point.
func annotate(in *checks.Input, rs config.RuleSettings, fs []Finding) []checks.Annotation {
	touched := map[string]bool{}
	for _, ch := range in.Changes {
		touched[ch.Path] = true
	}
	var out []checks.Annotation
	for _, f := range fs {
		if !rs.RuleOn(f.Rule, f.Path) {
			continue
		}
		level := checks.Level(rs.Severity(f.Rule, defaultLevel(f.Rule)))
		title := ruleTitle(f.Rule)
		if !touched[f.Path] && !f.Breaking && f.Rule != RuleRemovedReferenced && f.Rule != RuleLatestMoved && f.Rule != RuleFullRefresh && f.Rule != RuleRunResults {
			level, title = checks.Notice, title+" (already on the base branch)"
		}
		out = append(out, checks.Annotation{Path: f.Path, StartLine: f.Line, EndLine: f.Line, Level: level, Rule: f.Rule, Title: title, Message: f.Message})
	}
	return out
}

func ruleTitle(rule string) string {
	switch rule {
	case RuleContractRemoved:
		return "Contract enforcement removed"
	case RuleColumnRemoved:
		return "Contracted column removed"
	case RuleTypeChanged:
		return "Contracted column type changed"
	case RuleConstraintRemoved:
		return "Enforced constraint removed"
	case RuleMaterialization:
		return "Materialization cannot enforce the contract"
	case RuleRemovedReferenced:
		return "Removed model still referenced"
	case RuleUnknownRef:
		return "Ref to an unknown model"
	case RuleLatestMoved:
		return "latest_version moved"
	case RuleFullRefresh:
		return "Incremental model needs a full refresh"
	case RuleLoadHistory:
		return "Load target recreated"
	case RuleCopyForce:
		return "COPY with FORCE"
	case RuleLoadUncertain:
		return "COPY loads uncertain files"
	case RuleMergeNotDeduped:
		return "MERGE source not de-duplicated"
	case RuleIncrementalAppend:
		return "Incremental model appends without unique_key"
	case RuleProject:
		return "Invalid dbt project file"
	case RuleRunResults:
		return "dbt build failed"
	}
	return rule
}

func signals(fs []Finding) []policy.Signal {
	var out []policy.Signal
	seen := map[string]bool{}
	add := func(s policy.Signal) {
		key := string(s.Kind) + s.Path + s.Reason
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	for _, f := range fs {
		switch {
		case f.Breaking:
			add(policy.Signal{Kind: policy.SignalBreakingSchema, Check: Name, Path: f.Path, Reason: f.Message, High: true})
		case f.Rule == RuleFullRefresh:
			add(policy.Signal{Kind: policy.SignalFullRefresh, Check: Name, Path: f.Path, Reason: f.Message, High: strings.Contains(f.Message, "unique_key changed") || strings.Contains(f.Message, "on_schema_change is fail")})
		case f.Rule == RuleLoadHistory || f.Rule == RuleCopyForce || f.Rule == RuleLoadUncertain || f.Rule == RuleMergeNotDeduped || f.Rule == RuleIncrementalAppend:
			add(policy.Signal{Kind: policy.SignalDuplicateLoad, Check: Name, Path: f.Path, Reason: f.Message, High: true})
		}
	}
	return out
}

// conclude fails on any failing annotation, except that breaking contract
// changes alone ask for action: the approval by owner and consumers that
// clears them is the policy check's decision.
func conclude(anns []checks.Annotation, fs []Finding) checks.Conclusion {
	breaking := map[string]bool{RuleContractRemoved: true, RuleColumnRemoved: true, RuleTypeChanged: true, RuleConstraintRemoved: true, RuleMaterialization: true}
	onlyBreaking, any := true, false
	for _, a := range anns {
		if a.Level != checks.Fail {
			continue
		}
		any = true
		if !breaking[a.Rule] {
			onlyBreaking = false
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

func summarize(d Details, res checks.Result, notes []string) (string, string) {
	var b strings.Builder
	failures := 0
	for _, a := range res.Annotations {
		if a.Level == checks.Fail {
			failures++
		}
	}
	title := fmt.Sprintf("%d models; %d changed, %d downstream", len(d.Models), len(d.Impact.Modified), len(d.Impact.Downstream))
	if failures > 0 {
		title += fmt.Sprintf("; %d problems", failures)
	}
	for _, p := range d.Projects {
		fmt.Fprintf(&b, "Project **%s** (`%s`): %d models, %d sources, %d exposures; head read from %s, base from %s.\n", p.Name, orRoot(p.Dir), p.Models, p.Sources, p.Exposures, p.HeadOrigin, p.BaseOrigin)
	}
	for _, n := range notes {
		b.WriteString("\n" + n + "\n")
	}
	if len(d.Impact.Order) > 0 || len(d.Impact.Modified) > 0 || len(d.Impact.Seeds) > 0 {
		status := map[string]NodeChange{}
		for _, c := range d.Impact.Changes {
			status[c.UniqueID] = c
		}
		b.WriteString("\n**Impact** (in dependency order, like `state:modified+`)\n\n| # | model | change |\n|---:|---|---|\n")
		for i, id := range d.Impact.Order {
			what := "downstream"
			if c, ok := status[id]; ok {
				what = c.Status
				if len(c.Reasons) > 0 {
					what += ": " + strings.Join(c.Reasons, ", ")
				}
			}
			fmt.Fprintf(&b, "| %d | `%s` | %s |\n", i+1, project.ShortName(id), what)
		}
		for _, c := range d.Impact.Changes {
			if c.Status == StatusRemoved {
				fmt.Fprintf(&b, "| – | `%s` | removed |\n", project.ShortName(c.UniqueID))
			}
		}
		if len(d.Impact.Seeds) > 0 {
			fmt.Fprintf(&b, "\nSeeds and snapshots changed: %s\n", codeList(d.Impact.Seeds))
		}
		if len(d.Impact.Exposures) > 0 {
			fmt.Fprintf(&b, "\nExposures downstream: %s\n", codeList(d.Impact.Exposures))
		}
		if len(d.Impact.DAGs) > 0 {
			b.WriteString("\nAirflow DAGs that run impacted models:\n\n")
			for _, dag := range d.Impact.DAGs {
				fmt.Fprintf(&b, "- `%s` (`%s:%d`): %s\n", dag.DagID, dag.Path, dag.Line, codeList(dag.Models))
			}
		}
	} else {
		b.WriteString("\nNo model changes.\n")
	}
	if len(res.Approvals) > 0 {
		b.WriteString("\n**Breaking contract changes** need a new model version or approval from:\n\n")
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
	if len(d.Unknowns) > 0 {
		fmt.Fprintf(&b, "\n%d Jinja expressions could not be resolved statically, so the graph may miss edges and configs there (see details.unknowns).\n", len(d.Unknowns))
	}
	return title, b.String()
}

func codeList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "`" + project.ShortName(id) + "`"
	}
	return strings.Join(parts, ", ")
}

// runBuild runs the component's dbt command through the executor and turns
// its run_results.json into the check's result. Only a run_results.json this
// run wrote counts: one already in the working tree (committed, or left by an
// earlier run on a laptop) is from another run, and reading it after a
// command that failed before writing its own would report that run instead.
// The old file is compared, not deleted, since the working tree may be the
// user's own checkout.
func runBuild(ctx context.Context, in *checks.Input, comp *config.Component, p *project.Project) ([]RunResult, []Finding, error) {
	dir := filepath.Join(in.HeadDir, filepath.FromSlash(p.Dir))
	resultsFile := filepath.Join(dir, "target", "run_results.json")
	before, err := os.ReadFile(resultsFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("reading the run_results.json already in the working tree: %w", err)
	}
	out, err := in.Executor.Run(ctx, executor.Command{Name: "dbt build", Script: comp.Commands.Build, Dir: dir, Timeout: comp.Commands.Timeout.D()})
	if err != nil {
		return nil, nil, fmt.Errorf("running %q: %w", comp.Commands.Build, err)
	}
	data, rerr := os.ReadFile(resultsFile)
	// dbt stamps every run_results.json with its invocation and time, so a
	// file equal to the one before is the old one.
	fresh := rerr == nil && (before == nil || !bytes.Equal(before, data))
	if !fresh {
		if out.ExitCode != 0 {
			why := "without run_results.json"
			if before != nil {
				why = "without writing run_results.json (the one in the working tree is from an earlier run and was not read)"
			}
			return nil, []Finding{{Rule: RuleRunResults, Path: p.ProjectFile, Line: 1, Message: fmt.Sprintf("`%s` exited %d %s: %s", comp.Commands.Build, out.ExitCode, why, tail(out.Output, 600))}}, nil
		}
		return nil, nil, nil
	}
	rr, err := ParseRunResults(data)
	if err != nil {
		return nil, nil, err
	}
	var fs []Finding
	for _, r := range rr {
		if r.Status != "error" && r.Status != "fail" && r.Status != "runtime error" {
			continue
		}
		at, line := p.ProjectFile, 1
		if m, ok := p.Models[r.UniqueID]; ok {
			at = m.Path
		} else if t, ok := testDeclaration(p, r.UniqueID); ok {
			at, line = t.Path, max(t.Line, 1)
		}
		fs = append(fs, Finding{Rule: RuleRunResults, UniqueID: r.UniqueID, Path: at, Line: line, Message: fmt.Sprintf("%s: %s %s", r.UniqueID, r.Status, r.Message)})
	}
	if out.ExitCode != 0 && len(fs) == 0 {
		fs = append(fs, Finding{Rule: RuleRunResults, Path: p.ProjectFile, Line: 1, Message: fmt.Sprintf("`%s` exited %d: %s", comp.Commands.Build, out.ExitCode, tail(out.Output, 600))})
	}
	return rr, fs, nil
}

// testDeclaration finds the YAML declaration of a generic test from the
// unique ID dbt gave it: test.<project>.<test>_<model>_<column>…, where the
// model of a version is <model>_v<version>. The longest match wins, so
// not_null on orders_v2 is not taken for one on orders.
func testDeclaration(p *project.Project, id string) (project.GenericTest, bool) {
	name, ok := strings.CutPrefix(id, "test."+p.Name+".")
	if !ok {
		return project.GenericTest{}, false
	}
	var best project.GenericTest
	bestLen := 0
	for _, mid := range p.ModelIDs() {
		m := p.Models[mid]
		node := m.Name
		if m.Version != "" {
			node += "_v" + m.Version
		}
		for _, t := range m.AllTests() {
			prefix := strings.ReplaceAll(t.Name, ".", "_") + "_" + node
			if t.Column != "" {
				prefix += "_" + t.Column
			}
			rest, ok := strings.CutPrefix(name, prefix)
			if ok && (rest == "" || rest[0] == '_' || rest[0] == '.') && len(prefix) > bestLen {
				best, bestLen = t, len(prefix)
			}
		}
	}
	return best, bestLen > 0
}

// ParseRunResults reads dbt's target/run_results.json.
func ParseRunResults(data []byte) ([]RunResult, error) {
	var doc struct {
		Results []struct {
			UniqueID      string  `json:"unique_id"`
			Status        string  `json:"status"`
			Message       *string `json:"message"`
			ExecutionTime float64 `json:"execution_time"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading run_results.json: %w", err)
	}
	out := make([]RunResult, 0, len(doc.Results))
	for _, r := range doc.Results {
		rr := RunResult{UniqueID: r.UniqueID, Status: r.Status, Seconds: r.ExecutionTime}
		if r.Message != nil {
			rr.Message = *r.Message
		}
		out = append(out, rr)
	}
	return out, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
