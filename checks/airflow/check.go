// Package airflow is the conveyor/airflow check: what a senior Airflow
// engineer would catch in review, without Airflow installed. DAG files are
// parsed with tree-sitter and their parse-time code is evaluated abstractly
// to find every DAG (with, assignment, @dag, loops, factories, helpers from
// sibling modules), its schedule, tasks and edges; rules then run over the
// DAGs of the change and over the whole repo for invariants such as unique
// dag_ids. An optional import command (the repo's DagBag test, a local MWAA
// runner) confirms the static result with Airflow's own import errors.
package airflow

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/policy"
)

// Name is the check run's name.
const Name = "conveyor/airflow"

// DefaultMaxCatchupRuns is the backfill-storm threshold when the repo sets none.
const DefaultMaxCatchupRuns = 50

// Check is the conveyor/airflow check.
type Check struct {
	// Now is the clock used to estimate catch-up runs; nil means time.Now.
	Now func() time.Time
}

var _ checks.Check = (*Check)(nil)

// New returns the conveyor/airflow check.
func New() checks.Check { return &Check{} }

// Name returns the check run name.
func (*Check) Name() string { return Name }

// Applies when the repo has an airflow component.
func (*Check) Applies(in *checks.Input) bool {
	return in.Config != nil && len(in.Config.ComponentsOfKind(config.KindAirflow)) > 0
}

// Details is the check's machine-readable result.
type Details struct {
	TargetVersion string `json:"target_version"`
	// PythonVersion is the Python whose grammar the syntax check followed.
	PythonVersion string `json:"python_version"`
	// Files is the number of Python files analyzed in the head tree.
	Files int `json:"files"`
	// DAGs lists every DAG of the head tree.
	DAGs []DAGInfo `json:"dags"`
	// Deleted lists DAGs of the base tree that the change removes.
	Deleted []DAGInfo `json:"deleted"`
	// Findings holds every finding of the head tree, including those of
	// files the change does not touch (which get no annotation).
	Findings    []Finding    `json:"findings"`
	ImportCheck ImportReport `json:"import_check"`
	AnalysisMS  float64      `json:"analysis_ms"`
}

// DAGInfo is one DAG in the check's details and summary.
type DAGInfo struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// DagID is null when the dag_id is only known at runtime.
	DagID     *string `json:"dag_id"`
	IDPattern string  `json:"id_pattern,omitempty"`
	Dynamic   bool    `json:"dynamic"`
	Generated string  `json:"generated,omitempty"`
	Schedule  string  `json:"schedule"`
	StartDate string  `json:"start_date,omitempty"`
	Catchup   *bool   `json:"catchup"`
	// CatchupEffective is catchup after Airflow's default for the target version.
	CatchupEffective bool     `json:"catchup_effective"`
	MaxActiveRuns    *int     `json:"max_active_runs,omitempty"`
	Owner            string   `json:"owner"`
	Retries          *int     `json:"retries,omitempty"`
	Tags             []string `json:"tags"`
	Tasks            int      `json:"tasks"`
	Edges            int      `json:"edges"`
	// EstimatedRuns is how many runs land on deploy; null when not estimable.
	EstimatedRuns *int64 `json:"estimated_runs"`
	// Change is added, changed, deleted or unchanged relative to base.
	Change   string    `json:"change"`
	Findings []Finding `json:"findings"`
}

// settings are the resolved check settings.
type settings struct {
	config.AirflowSettings
	airflow3 bool
	maxRuns  int
	known    map[string]bool
	envPools []envList
	envQueue []envList
}

type envList struct {
	env  string
	list map[string]bool
}

func resolveSettings(cfg *config.RepoConfig) settings {
	s := settings{AirflowSettings: cfg.Checks.Airflow}
	if s.TargetVersion == "" {
		s.TargetVersion = "2.10"
	}
	s.airflow3 = majorVersion(s.TargetVersion) >= 3
	if s.PythonVersion == "" {
		// MWAA runs Airflow 2.x on Python 3.11 and Airflow 3 on 3.12; a repo
		// on another runtime says so in python_version.
		s.PythonVersion = DefaultPythonVersion
		if s.airflow3 {
			s.PythonVersion = "3.12"
		}
	}
	s.maxRuns = s.MaxCatchupRuns
	if s.maxRuns <= 0 {
		s.maxRuns = DefaultMaxCatchupRuns
	}
	if len(cfg.Teams.Known) > 0 {
		s.known = map[string]bool{}
		for _, t := range cfg.Teams.Known {
			s.known[strings.ToLower(t)] = true
		}
	}
	for _, e := range cfg.Environments {
		if len(e.Airflow.Pools) > 0 {
			s.envPools = append(s.envPools, envList{e.Name, setOf(e.Airflow.Pools)})
		}
		if len(e.Airflow.Queues) > 0 {
			s.envQueue = append(s.envQueue, envList{e.Name, setOf(e.Airflow.Queues)})
		}
	}
	return s
}

func setOf(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func majorVersion(v string) int {
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func (s settings) requires(attr string) bool {
	for _, r := range s.Require {
		if strings.EqualFold(r, attr) {
			return true
		}
	}
	return false
}

// Run analyzes every DAG file of head, compares the changed ones with base,
// and runs the import command when the repo names one.
func (c *Check) Run(ctx context.Context, in *checks.Input) (checks.Result, error) {
	cfg := in.Config
	s := resolveSettings(cfg)
	if !s.On() {
		return checks.Result{Name: Name, Conclusion: checks.Skipped, Title: "Disabled in .conveyor.yml", Summary: "`checks.airflow.enabled` is false in `.conveyor.yml` on the base branch.", Details: Details{}}, nil
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	began := time.Now()
	headFiles := pyFiles(checks.FilesOfKind(cfg, in.Head, config.KindAirflow))
	head := AnalyzeTree(in.Head, headFiles, s.PythonVersion)
	for j := range head {
		if !head[j].SyntaxOK {
			// Airflow loads nothing from a file that does not compile; the
			// syntax finding stands for it, not the DAGs recovered around it.
			head[j].DAGs = nil
		}
	}

	changed := map[string]checks.Change{}
	for _, ch := range in.Changes {
		changed[ch.Path] = ch
		if ch.PreviousPath != "" {
			changed[ch.PreviousPath] = ch
		}
	}
	affected := func(r *FileResult) bool {
		if _, ok := changed[r.Path]; ok {
			return true
		}
		for _, d := range r.Deps {
			if _, ok := changed[d]; ok {
				return true
			}
		}
		return false
	}
	// Base results: unaffected files are identical on both sides.
	var baseFiles []string
	if in.Base != nil {
		baseFiles = pyFiles(checks.FilesOfKind(cfg, in.Base, config.KindAirflow))
	}
	headByPath := map[string]*FileResult{}
	for j := range head {
		headByPath[head[j].Path] = &head[j]
	}
	var reparse []string
	base := map[string]*FileResult{}
	for _, p := range baseFiles {
		if h, ok := headByPath[p]; ok && !affected(h) {
			base[p] = h
			continue
		}
		reparse = append(reparse, p)
	}
	for _, r := range AnalyzeTree(in.Base, reparse, s.PythonVersion) {
		if !r.SyntaxOK {
			r.DAGs = nil
		}
		base[r.Path] = &r
	}

	st := &state{in: in, s: s, now: now(), changed: changed, head: head, base: base, headByPath: headByPath}
	for j := range head {
		st.isAffected = append(st.isAffected, affected(&head[j]))
	}
	st.run()
	st.importCheck(ctx)
	st.details.AnalysisMS = float64(time.Since(began).Microseconds()) / 1000
	return st.result(), nil
}

func pyFiles(files []string) []string {
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, ".py") {
			out = append(out, f)
		}
	}
	return out
}

// AnalyzeTree analyzes files of tree in parallel, one analyzer per worker,
// and returns the results in the order of files. python is the Python
// version whose syntax applies ("3.11"); empty or malformed means
// DefaultPythonVersion.
func AnalyzeTree(tree checks.Tree, files []string, python string) []FileResult {
	out := make([]FileResult, len(files))
	if len(files) == 0 || tree == nil {
		return out
	}
	workers := min(runtime.GOMAXPROCS(0), len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := NewAnalyzer(tree.ReadFile)
			defer a.Close()
			_ = a.SetPythonVersion(python) // the config was validated; the default stands otherwise
			for j := range next {
				src, err := tree.ReadFile(files[j])
				if err != nil {
					out[j] = FileResult{Path: files[j], SyntaxOK: true, DAGs: []*DAG{}, Findings: []Finding{}}
					continue
				}
				out[j] = a.File(files[j], src)
			}
		}()
	}
	for j := range files {
		next <- j
	}
	close(next)
	wg.Wait()
	return out
}

// state is one run of the check.
type state struct {
	in         *checks.Input
	s          settings
	now        time.Time
	changed    map[string]checks.Change
	head       []FileResult
	isAffected []bool
	base       map[string]*FileResult
	headByPath map[string]*FileResult

	findings []Finding
	annotate []bool
	// renamed holds the base dag_ids whose DAG the change renamed; they are
	// not deletions.
	renamed map[string]bool
	signals []policy.Signal
	details Details
	rows    []summaryRow
	// dagIdx finds a head DAG's entry in details.DAGs, to list its findings there.
	dagIdx map[*DAG]int
}

type summaryRow struct {
	info  DAGInfo
	dag   int // index in details.DAGs; -1 for a deleted DAG
	risks []string
}

// add records a finding after the repo's switches and severities.
func (st *state) add(f Finding, annotate bool) {
	if !st.s.RuleOn(f.Rule, f.File) {
		return
	}
	if f.Rule == RuleAirflow3Removed && strings.HasSuffix(f.Message, movedMarker) && !st.s.airflow3 {
		return
	}
	def := string(rule(f.Rule).level)
	if st.s.airflow3 && (f.Rule == RuleAirflow3Removed || f.Rule == RuleAirflow1Import) {
		def = string(checks.Fail)
	}
	if f.Level == "" || string(f.Level) == string(rule(f.Rule).level) {
		f.Level = checks.Level(st.s.Severity(f.Rule, def))
	}
	st.findings = append(st.findings, f)
	st.annotate = append(st.annotate, annotate)
}

func (st *state) run() {
	// Repo-wide: every dag_id once.
	byID := map[string][]*DAG{}
	for j := range st.head {
		for _, d := range st.head[j].DAGs {
			if d.DagID != "" {
				byID[d.DagID] = append(byID[d.DagID], d)
			}
		}
	}
	affectedFile := map[string]bool{}
	for j := range st.head {
		affectedFile[st.head[j].Path] = st.isAffected[j]
	}
	for _, id := range sortedKeys(byID) {
		ds := byID[id]
		if len(ds) < 2 {
			continue
		}
		// Checked on every run; annotated when the change touches one of the
		// files, so an old duplicate does not land on an unrelated PR's diff.
		touched := false
		for _, d := range ds {
			touched = touched || affectedFile[d.File]
		}
		for _, d := range ds {
			var others []string
			for _, o := range ds {
				if o != d {
					others = append(others, fmt.Sprintf("%s:%d", o.File, o.Line))
				}
			}
			st.add(Finding{Rule: RuleDuplicateDagID, File: d.File, Line: d.ArgLine("dag_id"), DagID: id, dags: []*DAG{d},
				Message: fmt.Sprintf("dag_id %q is also defined at %s; Airflow loads both and the one it shows flips between parses", id, strings.Join(others, ", "))}, touched)
		}
	}
	baseIDs := map[string][]*DAG{}
	for _, r := range st.base {
		for _, d := range r.DAGs {
			if d.DagID != "" {
				baseIDs[d.DagID] = append(baseIDs[d.DagID], d)
			}
		}
	}
	headIDs := byID

	for j := range st.head {
		r := &st.head[j]
		aff := st.isAffected[j]
		for _, f := range r.Findings {
			st.add(f, aff)
		}
		prevPath := r.Path
		if ch, ok := st.changed[r.Path]; ok && ch.Status == checks.Renamed && ch.PreviousPath != "" {
			prevPath = ch.PreviousPath
		}
		baseRes := st.base[prevPath]
		for _, d := range r.DAGs {
			st.dagRules(d, aff)
			change := "unchanged"
			if aff {
				change = st.compare(d, r, baseRes, baseIDs, headIDs)
			}
			info := st.info(d, change)
			if st.dagIdx == nil {
				st.dagIdx = map[*DAG]int{}
			}
			st.dagIdx[d] = len(st.details.DAGs)
			if change != "unchanged" {
				st.rows = append(st.rows, summaryRow{info: info, dag: len(st.details.DAGs)})
			}
			st.details.DAGs = append(st.details.DAGs, info)
		}
	}
	st.deletions(baseIDs, headIDs)
	st.details.Files = len(st.head)
	st.details.TargetVersion, st.details.PythonVersion = st.s.TargetVersion, st.s.PythonVersion
}

// dagRules runs the rules on one DAG of head.
func (st *state) dagRules(d *DAG, annotate bool) {
	s := st.s
	id := d.DagID
	add := func(rule string, line int, msg string) {
		st.add(Finding{Rule: rule, File: d.File, Line: line, DagID: id, Message: msg, dags: []*DAG{d}}, annotate)
	}
	if d.Catchup == nil {
		def := "True (the Airflow 2 default)"
		if s.airflow3 {
			def = "False (the Airflow 3 default)"
		}
		add(RuleCatchupNotSet, d.Line, fmt.Sprintf("DAG %s does not set catchup, so it falls back to %s and changes meaning with the Airflow version or the catchup_by_default setting; set catchup explicitly", dagName(d), def))
	}
	if effectiveCatchup(d, s.airflow3) {
		if runs, ok := EstimateRuns(d, st.now, s.airflow3); ok {
			if runs > int64(s.maxRuns) {
				add(RuleBackfillStorm, d.ArgLine("start_date"), fmt.Sprintf("DAG %s catches up from %s on schedule %s: about %d runs would be scheduled at once on deploy (limit %d). Each run reloads its interval, a duplicate-load hazard; set catchup=False, move start_date forward, or backfill deliberately", dagName(d), d.StartDate, orDefault(d.Schedule, "(default)"), runs, s.maxRuns))
				if annotate && s.RuleOn(RuleBackfillStorm, d.File) {
					st.signals = append(st.signals, policy.Signal{Kind: policy.SignalCatchupStorm, Check: Name, Component: st.component(d.File), Path: d.File, High: true,
						Reason: fmt.Sprintf("DAG %s would schedule about %d catch-up runs on deploy", dagName(d), runs)})
				}
			}
			if runs > 1 && d.MaxActiveRuns == nil {
				add(RuleMaxActiveRuns, d.Line, fmt.Sprintf("DAG %s catches up (%d runs on deploy) without max_active_runs, so up to the environment default (16) run at once against the same sources; set max_active_runs", dagName(d), runs))
			}
		}
	}
	if s.requires("owner") && (d.Owner == "" || d.Owner == "airflow") {
		add(RuleMissingOwner, d.Line, fmt.Sprintf("DAG %s has no owner; set default_args[\"owner\"] to the team that is paged for it", dagName(d)))
	}
	if s.requires("retries") && d.Retries == nil {
		add(RuleMissingRetries, d.Line, fmt.Sprintf("DAG %s sets no retries; set default_args[\"retries\"] so a transient failure does not page anyone", dagName(d)))
	}
	if s.requires("tags") && len(d.Tags) == 0 {
		add(RuleMissingTags, d.Line, fmt.Sprintf("DAG %s has no tags; the repo requires tags to find DAGs by domain", dagName(d)))
	}
	if s.known != nil && d.Owner != "" && d.Owner != "airflow" {
		for _, o := range strings.Split(d.Owner, ",") {
			o = strings.TrimSpace(o)
			if o != "" && !s.known[strings.ToLower(o)] {
				add(RuleUnknownOwner, d.ArgLine("default_args"), fmt.Sprintf("owner %q of DAG %s is not one of the repo's teams (%s)", o, dagName(d), strings.Join(st.in.Config.Teams.Known, ", ")))
			}
		}
	}
	for _, tk := range d.Tasks {
		if tk.Pool != "" {
			if missing := lacking(st.s.envPools, tk.Pool); len(missing) > 0 {
				line := tk.Line
				if tk.poolPos.line > 0 {
					line = tk.poolPos.line
				}
				add(RuleUnknownPool, line, fmt.Sprintf("task %s uses pool %q, which is not declared for %s; the task would queue forever there", taskKey(tk), tk.Pool, strings.Join(missing, ", ")))
			}
		}
		if tk.Queue != "" {
			if missing := lacking(st.s.envQueue, tk.Queue); len(missing) > 0 {
				line := tk.Line
				if tk.quePos.line > 0 {
					line = tk.quePos.line
				}
				add(RuleUnknownQueue, line, fmt.Sprintf("task %s uses queue %q, which is not declared for %s; no worker would pick it up", taskKey(tk), tk.Queue, strings.Join(missing, ", ")))
			}
		}
	}
}

func lacking(envs []envList, name string) []string {
	var out []string
	for _, e := range envs {
		if !e.list[name] {
			out = append(out, e.env)
		}
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func effectiveCatchup(d *DAG, airflow3 bool) bool {
	if d.Catchup != nil {
		return *d.Catchup
	}
	return !airflow3
}

// compare classifies a DAG of an affected file against base and reports the
// semantic changes reviewers must see.
func (st *state) compare(d *DAG, r *FileResult, baseRes *FileResult, baseIDs, headIDs map[string][]*DAG) string {
	var old *DAG
	if d.DagID == "" {
		// Only known at runtime: the same DAG is the one built in the same
		// file from the same pattern, or failing that at the same line.
		if old = sameDynamicDAG(d, baseRes); old == nil {
			return "added"
		}
	} else if baseRes != nil {
		for _, b := range baseRes.DAGs {
			if b.DagID == d.DagID {
				old = b
			}
		}
	}
	if old == nil {
		for _, b := range baseIDs[d.DagID] {
			if _, inHead := st.headByPath[b.File]; !inHead && !st.isChanged(b.File) {
				st.add(Finding{Rule: RuleBaseCollision, File: d.File, Line: d.ArgLine("dag_id"), DagID: d.DagID, dags: []*DAG{d},
					Message: fmt.Sprintf("dag_id %q is already defined in %s on the base branch; after merge both files define it and Airflow flips between them", d.DagID, b.File)}, true)
			}
			if _, inHead := st.headByPath[b.File]; !inHead && st.isChanged(b.File) {
				old = b // moved to another file: the same DAG
			}
		}
		if old == nil {
			if renamed := st.renamedFrom(d, baseRes, headIDs); renamed != nil {
				if st.renamed == nil {
					st.renamed = map[string]bool{}
				}
				st.renamed[renamed.DagID] = true
				st.semantic(d, RuleDagRenamed, d.ArgLine("dag_id"), true, fmt.Sprintf("dag_id changed from %q to %q: Airflow treats this as a new DAG, the run history of %q is orphaned and the new DAG starts from start_date", renamed.DagID, d.DagID, renamed.DagID))
				return "changed"
			}
			return "added"
		}
	}
	ch := "unchanged"
	if old.Schedule != d.Schedule {
		st.semantic(d, RuleScheduleChanged, d.ArgLine(d.ScheduleArg), false, fmt.Sprintf("schedule of %s changed from %s to %s; intervals already run will not line up with the new ones", dagName(d), orDefault(old.Schedule, "(default)"), orDefault(d.Schedule, "(default)")))
		ch = "changed"
	}
	if old.StartDate != d.StartDate {
		back := !old.start.IsZero() && !d.start.IsZero() && d.start.Before(old.start)
		why := "moved"
		if back {
			why = "moved back"
		}
		st.semantic(d, RuleStartDateMoved, d.ArgLine("start_date"), back, fmt.Sprintf("start_date of %s %s from %s to %s; with catchup the scheduler fills every interval it has not run", dagName(d), why, orDefault(old.StartDate, "(unset)"), orDefault(d.StartDate, "(unset)")))
		ch = "changed"
	}
	if !effectiveCatchup(old, st.s.airflow3) && effectiveCatchup(d, st.s.airflow3) {
		st.semantic(d, RuleCatchupEnabled, d.ArgLine("catchup"), true, fmt.Sprintf("catchup of %s turned on: every missed interval since start_date (%s) is scheduled on deploy", dagName(d), orDefault(d.StartDate, "unset")))
		ch = "changed"
	}
	if ch == "unchanged" && st.isChanged(d.File) {
		ch = "changed"
	}
	return ch
}

// sameDynamicDAG finds, among the base DAGs of the same file, the one a DAG
// whose dag_id is only known at runtime continues: the one with the same
// dag_id pattern ("feed_{…}"), else a dynamic one at the same line.
func sameDynamicDAG(d *DAG, baseRes *FileResult) *DAG {
	if baseRes == nil {
		return nil
	}
	if d.IDPattern != "" {
		for _, b := range baseRes.DAGs {
			if b.DagID == "" && b.IDPattern == d.IDPattern {
				return b
			}
		}
	}
	for _, b := range baseRes.DAGs {
		if b.DagID == "" && b.Line == d.Line {
			return b
		}
	}
	return nil
}

// component names the airflow component owning path, for signals.
func (st *state) component(path string) string {
	for _, c := range st.in.Config.ComponentsFor(path) {
		if c.Kind == config.KindAirflow {
			return c.Name
		}
	}
	return ""
}

func (st *state) isChanged(p string) bool { _, ok := st.changed[p]; return ok }

// renamedFrom finds the base DAG of the same file whose dag_id disappeared
// when d's appeared, and is not already taken by another rename: a rename.
func (st *state) renamedFrom(d *DAG, baseRes *FileResult, headIDs map[string][]*DAG) *DAG {
	if baseRes == nil {
		return nil
	}
	for _, b := range baseRes.DAGs {
		if b.DagID != "" && len(headIDs[b.DagID]) == 0 && !st.renamed[b.DagID] {
			return b
		}
	}
	return nil
}

func (st *state) semantic(d *DAG, ruleID string, line int, high bool, msg string) {
	st.add(Finding{Rule: ruleID, File: d.File, Line: line, DagID: d.DagID, Message: msg, dags: []*DAG{d}}, true)
	if st.s.RuleOn(ruleID, d.File) {
		st.signals = append(st.signals, policy.Signal{Kind: policy.SignalDAGSemantics, Check: Name, Component: st.component(d.File), Path: d.File, High: high, Reason: msg})
	}
}

// deletions reports base DAGs that no longer exist anywhere in head.
func (st *state) deletions(baseIDs, headIDs map[string][]*DAG) {
	for _, id := range sortedKeys(baseIDs) {
		if len(headIDs[id]) > 0 || st.renamed[id] {
			continue
		}
		for _, d := range baseIDs[id] {
			if !st.isChanged(d.File) {
				continue
			}
			if h, ok := st.headByPath[d.File]; ok && !h.SyntaxOK {
				continue // the syntax error is the finding; the DAG is not deleted on purpose
			}
			msg := fmt.Sprintf("DAG %s (%s:%d) is deleted: its schedule stops and its history stays in the metadata database until cleaned up", id, d.File, d.Line)
			// A removed file cannot carry an annotation; the summary and signal carry it.
			_, stillThere := st.headByPath[d.File]
			f := Finding{Rule: RuleDagDeleted, File: d.File, Line: 1, DagID: id, Message: msg}
			st.add(f, stillThere)
			if st.s.RuleOn(RuleDagDeleted, d.File) {
				st.signals = append(st.signals, policy.Signal{Kind: policy.SignalDAGSemantics, Check: Name, Component: st.component(d.File), Path: d.File, High: true, Reason: msg})
			}
			info := st.info(d, "deleted")
			st.details.Deleted = append(st.details.Deleted, info)
			st.rows = append(st.rows, summaryRow{info: info, dag: -1})
		}
	}
}

func (st *state) info(d *DAG, change string) DAGInfo {
	info := DAGInfo{File: d.File, Line: d.Line, IDPattern: d.IDPattern, Dynamic: d.Dynamic(), Generated: d.Generated,
		Schedule: d.Schedule, StartDate: d.StartDate, Catchup: d.Catchup, CatchupEffective: effectiveCatchup(d, st.s.airflow3),
		MaxActiveRuns: d.MaxActiveRuns, Owner: d.Owner, Retries: d.Retries, Tags: d.Tags, Tasks: len(d.Tasks), Edges: len(d.Edges),
		Change: change, Findings: []Finding{}}
	if info.Schedule == "" {
		info.Schedule = "(default)"
	}
	if d.DagID != "" {
		id := d.DagID
		info.DagID = &id
	}
	if info.CatchupEffective {
		if runs, ok := EstimateRuns(d, st.now, st.s.airflow3); ok {
			info.EstimatedRuns = &runs
		}
	} else {
		zero := int64(0)
		info.EstimatedRuns = &zero
	}
	return info
}

// result assembles annotations, details, summary and conclusion.
func (st *state) result() checks.Result {
	var anns []checks.Annotation
	st.details.Findings = []Finding{}
	// details.DAGs[].findings are the findings about that DAG. A finding
	// about the file (an import, top-level code, a secret) is about none of
	// its DAGs: it is listed once, in details.findings, without a dag_id.
	byDag := map[string][]Finding{}  // by file and dag_id, for DAGs not listed (deleted, or dropped as the same DAG in another if arm)
	byFile := map[string][]Finding{} // findings about a file rather than one DAG
	for j, f := range st.findings {
		st.details.Findings = append(st.details.Findings, f)
		listed := false
		for _, d := range f.dags {
			if k, ok := st.dagIdx[d]; ok {
				st.details.DAGs[k].Findings = append(st.details.DAGs[k].Findings, f)
				listed = true
			}
		}
		switch {
		case listed:
		case f.DagID != "":
			byDag[f.File+"\x00"+f.DagID] = append(byDag[f.File+"\x00"+f.DagID], f)
		default:
			byFile[f.File] = append(byFile[f.File], f)
		}
		if !st.annotate[j] {
			continue
		}
		line := max(f.Line, 1)
		end := max(f.EndLine, line)
		a := checks.Annotation{Path: f.File, StartLine: line, EndLine: end, Level: f.Level, Rule: f.Rule, Title: rule(f.Rule).title, Message: f.Message}
		if end == line && f.Column > 0 {
			a.StartColumn, a.EndColumn = f.Column, max(f.EndColumn, f.Column)
		}
		anns = append(anns, a)
	}
	for j := range st.details.DAGs {
		inf := &st.details.DAGs[j]
		if inf.DagID != nil {
			inf.Findings = append(inf.Findings, byDag[inf.File+"\x00"+*inf.DagID]...)
		}
	}
	for j := range st.rows {
		r := &st.rows[j]
		// The summary's risks of a DAG include those of its file: an
		// Airflow 1 import or a secret in the file ships with the DAG.
		fs := append([]Finding{}, byFile[r.info.File]...)
		if r.dag >= 0 {
			fs = append(fs, st.details.DAGs[r.dag].Findings...)
		} else if r.info.DagID != nil {
			fs = append(fs, byDag[r.info.File+"\x00"+*r.info.DagID]...)
		}
		seen := map[string]bool{}
		for _, f := range fs {
			if !seen[f.Rule] {
				seen[f.Rule] = true
				r.risks = append(r.risks, fmt.Sprintf("%s %s", levelIcon(f.Level), f.Rule))
			}
		}
	}
	if st.details.DAGs == nil {
		st.details.DAGs = []DAGInfo{}
	}
	if st.details.Deleted == nil {
		st.details.Deleted = []DAGInfo{}
	}
	res := checks.Result{Name: Name, Annotations: anns, Details: st.details, Signals: st.signals}
	res.Conclusion = checks.ConclusionFor(anns)
	if st.details.ImportCheck.Status == "failed" {
		res.Conclusion = checks.Failure
	}
	res.Title, res.Summary = st.summary(anns)
	return res
}

func levelIcon(l checks.Level) string {
	switch l {
	case checks.Fail:
		return "❌"
	case checks.Warning:
		return "⚠️"
	}
	return "ℹ️"
}

func (st *state) summary(anns []checks.Annotation) (string, string) {
	counts := map[checks.Level]int{}
	for _, a := range anns {
		counts[a.Level]++
	}
	title := fmt.Sprintf("%d DAGs in %d files, no problems in this change", len(st.details.DAGs), st.details.Files)
	if len(anns) > 0 {
		title = fmt.Sprintf("%d failures, %d warnings in %d changed DAGs", counts[checks.Fail], counts[checks.Warning], len(st.rows))
	}
	var b strings.Builder
	if len(st.rows) == 0 {
		b.WriteString("This change adds, changes or deletes no DAG.\n\n")
	} else {
		b.WriteString("| DAG | change | schedule | owner | catchup | runs on deploy | risks |\n|---|---|---|---|---|---:|---|\n")
		sort.SliceStable(st.rows, func(x, y int) bool { return st.rows[x].info.File < st.rows[y].info.File })
		for _, r := range st.rows {
			id := r.info.IDPattern + " (dynamic)"
			if r.info.DagID != nil {
				id = *r.info.DagID
				if r.info.Dynamic {
					id += " (" + r.info.Generated + ")"
				}
			}
			catch := "unset"
			if r.info.Catchup != nil {
				catch = fmt.Sprint(*r.info.Catchup)
			}
			if r.info.Catchup == nil && r.info.CatchupEffective {
				catch = "unset (on)"
			}
			runs := "?"
			if r.info.EstimatedRuns != nil {
				runs = fmt.Sprint(*r.info.EstimatedRuns)
			}
			risks := strings.Join(r.risks, ", ")
			if risks == "" {
				risks = "—"
			}
			fmt.Fprintf(&b, "| `%s` `%s:%d` | %s | `%s` | %s | %s | %s | %s |\n", id, r.info.File, r.info.Line, r.info.Change,
				escapePipe(r.info.Schedule), orDefault(r.info.Owner, "—"), catch, runs, risks)
		}
		b.WriteString("\n")
	}
	var dup, syntax int
	for _, f := range st.findings {
		switch f.Rule {
		case RuleDuplicateDagID:
			dup++
		case RuleSyntax:
			syntax++
		}
	}
	fmt.Fprintf(&b, "Repo-wide: %d DAGs in %d files; %d duplicate dag_id definitions; %d files with syntax errors (Python %s). Target Airflow %s.\n\n",
		len(st.details.DAGs), st.details.Files, dup, syntax, st.s.PythonVersion, st.s.TargetVersion)
	b.WriteString(st.details.ImportCheck.Summary + "\n")
	if unknown := unknownRules(st.s.AirflowSettings); len(unknown) > 0 {
		fmt.Fprintf(&b, "\n`.conveyor.yml` names rules this check does not have, so those settings do nothing: %s. The rules are listed in docs/checks/airflow.md.\n", strings.Join(unknown, ", "))
	}
	return title, b.String()
}

// unknownRules returns rule names in the settings that match no rule.
func unknownRules(s config.AirflowSettings) []string {
	known := map[string]bool{"*": true}
	for _, id := range RuleIDs() {
		known[id] = true
	}
	var out []string
	for _, r := range sortedKeys(s.Rules) {
		if !known[r] {
			out = append(out, "`"+r+"`")
		}
	}
	for _, ig := range s.Ignore {
		if !known[ig.Rule] {
			out = append(out, "`"+ig.Rule+"`")
		}
	}
	return out
}

func escapePipe(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// componentFor returns the first airflow component, whose commands apply.
func componentFor(cfg *config.RepoConfig) *config.Component {
	comps := cfg.ComponentsOfKind(config.KindAirflow)
	if len(comps) == 0 {
		return nil
	}
	for _, c := range comps {
		if c.Commands.Import != "" {
			return c
		}
	}
	return comps[0]
}
