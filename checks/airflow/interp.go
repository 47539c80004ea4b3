package airflow

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parcelflow/conveyor/checks"
)

// Limits that keep hostile or generated input cheap: the analyzer gives up
// on a file (keeping what it found) rather than spend more than this.
const (
	maxSteps     = 400_000 // statements and expressions evaluated per file
	maxUnroll    = 256     // items of a loop unrolled with known values
	maxCallDepth = 12      // nested calls into Python functions
)

// funcDef is a function defined in Python source.
type funcDef struct {
	mod      *module
	node     int32
	name     string
	closure  *env
	defaults map[string]val
	dagDeco  *deco
	taskDeco *deco
	grpDeco  *deco
	called   bool
	// override and partial carry `.override(task_id=…)` on a @task function.
	override string
}

// deco is an Airflow decorator applied to a function: @dag(...), @task.bash(...).
type deco struct {
	name string // "dag", "task", "task.bash", "task_group"
	kw   map[string]val
	pos  map[string]argPos
	node int32
}

// group is a TaskGroup.
type group struct {
	parent *group
	id     string
	prefix string
	dag    *DAG
	tasks  []*Task
}

// module is one Python file being evaluated.
type module struct {
	name    string
	path    string
	t       *ptree
	globals *env
}

// env is one Python scope.
type env struct {
	vars   map[string]val
	parent *env
}

func newEnv(parent *env) *env { return &env{vars: map[string]val{}, parent: parent} }

func (e *env) get(name string) (val, bool) {
	for s := e; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return unknown, false
}

// rebind updates name where it is defined (for list.append, dict.update).
func (e *env) rebind(name string, v val) {
	for s := e; s != nil; s = s.parent {
		if _, ok := s.vars[name]; ok {
			s.vars[name] = v
			return
		}
	}
	e.vars[name] = v
}

// branch marks code under one arm of an `if` whose condition is unknown.
type branch struct {
	ifNode int32
	arm    int
}

// ctx is where code runs: which DAG and TaskGroup collect new tasks, and
// whether we are inside a loop or a factory function.
type ctx struct {
	dag      *DAG
	grp      *group
	gen      string // "", "loop", "factory"
	branches []branch
	// site is the node in the file being analyzed where evaluation entered
	// another module, so findings point at a line of this file; -1 when none.
	site   int32
	inFunc bool
}

// interp evaluates one DAG file.
type interp struct {
	an      *Analyzer
	main    *module
	cur     *module
	res     *FileResult
	steps   int
	depth   int
	aborted bool
	dags    []*dagRec
	dagFns  []*funcDef
	seen    map[string]int // finding dedupe: rule|line|col|message to its index in res.Findings
	loading map[string]bool
	recs    map[*DAG]*dagRec
	owner   map[*Task]*dagRec
}

// dagRec is a DAG with the bookkeeping needed to finish it.
type dagRec struct {
	d        *DAG
	branches []branch
	edgeSet  map[Edge]bool
	taskBr   map[*Task][]branch
	flowSeq  map[string]int
	dargs    val // default_args
}

func (i *interp) tick() bool {
	i.steps++
	if i.steps > maxSteps {
		i.aborted = true
	}
	return !i.aborted
}

// pos returns where node n of the current module should be reported in the
// analyzed file.
func (i *interp) pos(n int32, c *ctx) argPos {
	t := i.cur.t
	if i.cur != i.main {
		if c == nil || c.site < 0 {
			return argPos{1, 1, 1, 1}
		}
		t, n = i.main.t, c.site
	}
	if n < 0 || int(n) >= len(t.nodes) {
		return argPos{1, 1, 1, 1}
	}
	x := &t.nodes[n]
	return argPos{int(x.line), int(x.col), int(x.eline), int(x.ecol)}
}

// entryPos returns where a dict entry (node n) was written, when it was
// written in the analyzed file. An entry of another module has no place of
// its own here; the finding then goes where the dict is passed.
func (i *interp) entryPos(n int32, c *ctx) argPos {
	if i.cur != i.main {
		return argPos{}
	}
	return i.pos(n, c)
}

func (i *interp) addFinding(rule string, p argPos, dagID, msg string) {
	i.addDagFinding(nil, rule, p, dagID, msg)
}

// addDagFinding records a finding about DAG d (nil: about the file).
func (i *interp) addDagFinding(d *DAG, rule string, p argPos, dagID, msg string) {
	key := fmt.Sprintf("%s|%d|%d|%s", rule, p.line, p.col, msg)
	if j, ok := i.seen[key]; ok {
		// The same place found again for another DAG (a default_args dict
		// two DAGs share, a loop building several): one finding, about both.
		if f := &i.res.Findings[j]; d != nil && !slices.Contains(f.dags, d) {
			f.dags = append(f.dags, d)
		}
		return
	}
	i.seen[key] = len(i.res.Findings)
	f := Finding{Rule: rule, Level: rule2level(rule), File: i.main.path,
		Line: p.line, Column: p.col, EndLine: p.eline, EndColumn: p.ecol, DagID: dagID, Message: msg}
	if d != nil {
		f.dags = []*DAG{d}
	}
	i.res.Findings = append(i.res.Findings, f)
}

func rule2level(id string) checks.Level { return rule(id).level }

// via describes where code of another module ran, for messages.
func (i *interp) via(n int32) string {
	if i.cur == i.main {
		return ""
	}
	return fmt.Sprintf(" (in %s:%d)", i.cur.path, i.cur.t.nodes[n].line)
}

// ---- statements ----

func (i *interp) execBlock(blk int32, e *env, c *ctx) (val, bool) {
	t := i.cur.t
	if blk < 0 {
		return none, false
	}
	for s := t.nodes[blk].first; s >= 0; s = t.nodes[s].next {
		if !t.nodes[s].named || t.nodes[s].kind == "comment" {
			continue
		}
		if v, ret := i.exec(s, e, c); ret || i.aborted {
			return v, ret
		}
	}
	return none, false
}

func (i *interp) exec(s int32, e *env, c *ctx) (val, bool) {
	if !i.tick() {
		return none, false
	}
	t := i.cur.t
	switch t.kind(s) {
	case "expression_statement":
		for _, x := range t.namedChildren(s) {
			switch t.kind(x) {
			case "assignment":
				i.assign(x, e, c)
			case "augmented_assignment":
				i.augAssign(x, e, c)
			default:
				i.eval(x, e, c)
			}
		}
	case "import_statement", "import_from_statement", "future_import_statement":
		i.doImport(s, e, c)
	case "with_statement":
		return i.doWith(s, e, c)
	case "for_statement":
		return i.doFor(s, e, c)
	case "while_statement":
		// The interpreter only follows parse-time code, so this loop runs on every parse.
		i.addFinding(RuleTopLevelCode, i.pos(s, c), "", "a while loop runs at parse time"+i.via(s)+"; the scheduler re-parses this file every 30 s, so the loop runs each time")
		inner := *c
		inner.gen = "loop"
		return i.execBlock(t.field(s, "body"), e, &inner)
	case "if_statement":
		return i.doIf(s, e, c)
	case "try_statement":
		if v, ret := i.execBlock(t.field(s, "body"), e, c); ret {
			return v, ret
		}
		for _, ch := range t.namedChildren(s) {
			if k := t.kind(ch); k == "else_clause" || k == "finally_clause" {
				blk := t.field(ch, "body")
				if blk < 0 {
					blk = lastNamed(t, ch)
				}
				if v, ret := i.execBlock(blk, e, c); ret {
					return v, ret
				}
			}
		}
	case "function_definition":
		i.define(s, nil, e, c)
	case "decorated_definition":
		def := t.field(s, "definition")
		if t.kind(def) == "function_definition" {
			i.define(def, t.fields(s, ""), e, c)
		} else if def >= 0 {
			if name := t.field(def, "name"); name >= 0 {
				e.vars[t.text(name)] = unknown
			}
		}
	case "class_definition":
		if name := t.field(s, "name"); name >= 0 {
			e.vars[t.text(name)] = refVal(t.text(name))
		}
	case "return_statement":
		if c.inFunc {
			kids := t.namedChildren(s)
			if len(kids) == 0 {
				return none, true
			}
			return i.eval(kids[0], e, c), true
		}
	}
	return none, false
}

func lastNamed(t *ptree, n int32) int32 {
	kids := t.namedChildren(n)
	if len(kids) == 0 {
		return -1
	}
	return kids[len(kids)-1]
}

func (i *interp) assign(n int32, e *env, c *ctx) val {
	t := i.cur.t
	right := t.field(n, "right")
	if right < 0 {
		return unknown // a bare annotation: `x: int`
	}
	var v val
	if t.kind(right) == "assignment" {
		v = i.assign(right, e, c)
	} else {
		v = i.eval(right, e, c)
	}
	i.bind(t.field(n, "left"), v, e, c)
	return v
}

func (i *interp) augAssign(n int32, e *env, c *ctx) {
	t := i.cur.t
	left, right := t.field(n, "left"), t.field(n, "right")
	rv := i.eval(right, e, c)
	if t.kind(left) != "identifier" {
		return
	}
	name := t.text(left)
	lv, _ := e.get(name)
	op := t.field(n, "operator")
	switch {
	case t.text(op) == "+=" && lv.k == vList && rv.k == vList:
		e.rebind(name, listVal(append(append([]val{}, lv.items...), rv.items...)))
	case t.text(op) == "+=" && lv.k == vStr && rv.k == vStr:
		e.rebind(name, strVal(lv.s+rv.s))
	case t.text(op) == "+=" && lv.k == vNum && rv.k == vNum:
		e.rebind(name, numVal(lv.n+rv.n))
	case t.text(op) == "|=" && lv.k == vDict && rv.k == vDict:
		e.rebind(name, mergeDict(lv, rv))
	default:
		e.rebind(name, unknown)
	}
}

// bind assigns v to a target pattern.
func (i *interp) bind(target int32, v val, e *env, c *ctx) {
	t := i.cur.t
	switch t.kind(target) {
	case "identifier":
		e.vars[t.text(target)] = v
	case "pattern_list", "tuple_pattern", "list_pattern", "tuple", "list":
		kids := t.namedChildren(target)
		for j, k := range kids {
			if v.k == vList && len(v.items) == len(kids) {
				i.bind(k, v.items[j], e, c)
			} else {
				i.bind(k, patternVal("{"+t.text(k)+"}"), e, c)
			}
		}
	case "subscript":
		obj := t.field(target, "value")
		if t.kind(obj) == "identifier" {
			cur, ok := e.get(t.text(obj))
			key := i.eval(t.field(target, "subscript"), e, c)
			if ok && cur.k == vDict && key.k == vStr {
				e.rebind(t.text(obj), cur.dictSetAt(key.s, v, i.entryPos(target, c)))
			}
		}
	}
}

func (i *interp) doIf(s int32, e *env, c *ctx) (val, bool) {
	t := i.cur.t
	arms := []struct{ cond, body int32 }{{t.field(s, "condition"), t.field(s, "consequence")}}
	for _, alt := range t.fields(s, "alternative") {
		switch t.kind(alt) {
		case "elif_clause":
			arms = append(arms, struct{ cond, body int32 }{t.field(alt, "condition"), t.field(alt, "consequence")})
		case "else_clause":
			arms = append(arms, struct{ cond, body int32 }{-1, t.field(alt, "body")})
		}
	}
	var unsure []int
	for j, a := range arms {
		if a.cond < 0 {
			unsure = append(unsure, j)
			break
		}
		cv := i.eval(a.cond, e, c)
		b, ok := cv.truthy()
		if ok && len(unsure) == 0 {
			if b {
				return i.execBlock(a.body, e, c)
			}
			continue
		}
		if !ok || b {
			unsure = append(unsure, j)
		}
		if ok && b {
			break
		}
	}
	if len(unsure) == 1 && arms[unsure[0]].cond < 0 {
		return i.execBlock(arms[unsure[0]].body, e, c)
	}
	// Which arm runs depends on the environment: follow each, marking what
	// they create as alternatives so they are not reported as duplicates.
	for _, j := range unsure {
		inner := *c
		inner.branches = append(append([]branch{}, c.branches...), branch{s, j})
		if v, ret := i.execBlock(arms[j].body, e, &inner); ret {
			return v, ret
		}
	}
	return none, false
}

func (i *interp) doFor(s int32, e *env, c *ctx) (val, bool) {
	t := i.cur.t
	left, right, body := t.field(s, "left"), t.field(s, "right"), t.field(s, "body")
	if n, ok := i.rangeSize(right, e, c); ok && n >= 1000 {
		i.addFinding(RuleTopLevelCode, i.pos(s, c), "", fmt.Sprintf("a loop of %d iterations runs at parse time%s; the scheduler re-parses this file every 30 s", n, i.via(s)))
	}
	iter := i.eval(right, e, c)
	inner := *c
	inner.gen = "loop"
	items, ok := iterItems(iter)
	if !ok || len(items) > maxUnroll {
		i.bind(left, patternVal("{"+t.text(left)+"}"), e, c)
		return i.execBlock(body, e, &inner)
	}
	for _, it := range items {
		if i.aborted {
			break
		}
		i.bind(left, it, e, c)
		if v, ret := i.execBlock(body, e, &inner); ret {
			return v, ret
		}
	}
	return none, false
}

// rangeSize returns N for a `range(N)` expression with a known N.
func (i *interp) rangeSize(n int32, e *env, c *ctx) (int, bool) {
	t := i.cur.t
	if t.kind(n) != "call" || t.text(t.field(n, "function")) != "range" {
		return 0, false
	}
	args := t.namedChildren(t.field(n, "arguments"))
	if len(args) == 0 {
		return 0, false
	}
	lo, hi := 0, 0
	v := i.eval(args[len(args)-1], e, c)
	if len(args) >= 2 {
		v = i.eval(args[1], e, c)
		if a, ok := i.eval(args[0], e, c).asInt(); ok {
			lo = a
		}
	}
	hi, ok := v.asInt()
	if !ok {
		return 0, false
	}
	return hi - lo, true
}

func iterItems(v val) ([]val, bool) {
	switch v.k {
	case vList:
		return v.items, true
	case vDict:
		out := make([]val, len(v.keys))
		for j, k := range v.keys {
			out[j] = strVal(k)
		}
		return out, true
	case vStr:
		return nil, false
	}
	return nil, false
}

func (i *interp) doWith(s int32, e *env, c *ctx) (val, bool) {
	t := i.cur.t
	inner := *c
	var clause int32 = -1
	for _, ch := range t.namedChildren(s) {
		if t.kind(ch) == "with_clause" {
			clause = ch
		}
	}
	if clause >= 0 {
		for _, item := range t.namedChildren(clause) {
			value := t.field(item, "value")
			var alias int32 = -1
			if t.kind(value) == "as_pattern" {
				kids := t.namedChildren(value)
				if len(kids) > 0 {
					value = kids[0]
				}
				alias = t.field(t.field(item, "value"), "alias")
			}
			v := i.evalWith(value, e, &inner, "with")
			switch v.k {
			case vDAG:
				inner.dag = v.dag
				inner.grp = nil
			case vGroup:
				inner.grp = v.group
				if v.group.dag != nil {
					inner.dag = v.group.dag
				}
			}
			if alias >= 0 {
				tgt := alias
				if t.kind(tgt) == "as_pattern_target" {
					if k := t.namedChildren(tgt); len(k) > 0 {
						tgt = k[0]
					}
				}
				i.bind(tgt, v, e, c)
			}
		}
	}
	return i.execBlock(t.field(s, "body"), e, &inner)
}

// evalWith evaluates an expression that may construct a DAG, passing the
// declaration style along.
func (i *interp) evalWith(n int32, e *env, c *ctx, style string) val {
	t := i.cur.t
	if t.kind(n) == "call" {
		return i.call(n, e, c, style)
	}
	return i.eval(n, e, c)
}

// define handles a function definition, with its decorators.
func (i *interp) define(n int32, decos []int32, e *env, c *ctx) {
	t := i.cur.t
	name := t.text(t.field(n, "name"))
	fd := &funcDef{mod: i.cur, node: n, name: name, closure: e, defaults: map[string]val{}}
	// Defaults are evaluated when the def runs, as Python does.
	params := t.field(n, "parameters")
	for _, p := range t.namedChildren(params) {
		if k := t.kind(p); k == "default_parameter" || k == "typed_default_parameter" {
			fd.defaults[t.text(t.field(p, "name"))] = i.eval(t.field(p, "value"), e, c)
		}
	}
	for _, d := range decos {
		kids := t.namedChildren(d)
		if len(kids) == 0 {
			continue
		}
		expr := kids[0]
		fnExpr := expr
		var kw map[string]val
		var pos map[string]argPos
		if t.kind(expr) == "call" {
			fnExpr = t.field(expr, "function")
			_, kw, pos, _ = i.args(t.field(expr, "arguments"), e, c)
		}
		q := i.qual(fnExpr, e, c)
		dc := &deco{kw: kw, pos: pos, node: expr}
		switch {
		case isAirflowName(q, "dag"):
			dc.name = "dag"
			fd.dagDeco = dc
		case isAirflowName(q, "task_group"):
			dc.name = "task_group"
			fd.grpDeco = dc
		case isTaskDecorator(q):
			dc.name = taskDecoName(q)
			fd.taskDeco = dc
		}
	}
	e.vars[name] = val{k: vFunc, fn: fd}
	if fd.taskDeco != nil {
		e.vars[name] = val{k: vTaskFn, fn: fd}
	}
	if fd.dagDeco != nil && i.cur == i.main && !c.inFunc {
		i.dagFns = append(i.dagFns, fd)
	}
}

// qual evaluates an expression naming a callable and returns its qualified name.
func (i *interp) qual(n int32, e *env, c *ctx) string {
	v := i.eval(n, e, c)
	switch v.k {
	case vRef, vCall:
		return v.s
	case vFunc, vTaskFn:
		return v.fn.name
	}
	return i.cur.t.text(n)
}

// isAirflowName reports whether q is the Airflow name short (dag, task_group,
// chain …) imported from any Airflow 1.10–3.x location.
func isAirflowName(q, short string) bool {
	return q == short || strings.HasPrefix(q, "airflow.") && lastSeg(q) == short
}

func isTaskDecorator(q string) bool {
	if q == "task" || strings.HasPrefix(q, "task.") {
		return true
	}
	if !strings.HasPrefix(q, "airflow.") {
		return false
	}
	return strings.HasSuffix(q, ".task") || strings.Contains(q, ".task.")
}

func taskDecoName(q string) string {
	if j := strings.Index(q, "task."); j >= 0 && (j == 0 || q[j-1] == '.') {
		return "@" + q[j:]
	}
	return "@task"
}

// doImport binds imported names to qualified references, or to the values
// of a sibling module found in the repo.
func (i *interp) doImport(s int32, e *env, c *ctx) {
	t := i.cur.t
	switch t.kind(s) {
	case "import_statement":
		for _, nm := range t.fields(s, "name") {
			modName, alias := t.text(nm), ""
			if t.kind(nm) == "aliased_import" {
				modName, alias = t.text(t.field(nm, "name")), t.text(t.field(nm, "alias"))
			}
			i.noteImport(modName)
			if alias != "" {
				if m := i.load(modName, 0, s, c); m != nil {
					e.vars[alias] = val{k: vModule, mod: m}
				} else {
					e.vars[alias] = refVal(modName)
				}
				continue
			}
			top := modName
			if j := strings.IndexByte(top, '.'); j >= 0 {
				top = top[:j]
			}
			if m := i.load(top, 0, s, c); m != nil && top == modName {
				e.vars[top] = val{k: vModule, mod: m}
			} else {
				e.vars[top] = refVal(top)
			}
		}
	case "import_from_statement":
		mn := t.field(s, "module_name")
		modName, level := t.text(mn), 0
		if t.kind(mn) == "relative_import" {
			level = strings.Count(modName, ".")
			modName = strings.TrimLeft(modName, ".")
		}
		i.noteImport(strings.Repeat(".", level) + modName)
		m := i.load(modName, level, s, c)
		names := t.fields(s, "name")
		for _, ch := range t.namedChildren(s) {
			if t.kind(ch) == "wildcard_import" && m != nil {
				for k, v := range m.globals.vars {
					e.vars[k] = v
				}
			}
		}
		for _, nm := range names {
			name, alias := t.text(nm), ""
			if t.kind(nm) == "aliased_import" {
				name, alias = t.text(t.field(nm, "name")), t.text(t.field(nm, "alias"))
			}
			if alias == "" {
				alias = name
			}
			switch {
			case m != nil:
				if v, ok := m.globals.vars[name]; ok {
					e.vars[alias] = v
				} else if sub := i.load(joinMod(modName, name), level, s, c); sub != nil {
					e.vars[alias] = val{k: vModule, mod: sub}
				} else {
					e.vars[alias] = unknown
				}
			case level > 0:
				if sub := i.load(joinMod(modName, name), level, s, c); sub != nil {
					e.vars[alias] = val{k: vModule, mod: sub}
				} else {
					e.vars[alias] = unknown
				}
			default:
				e.vars[alias] = refVal(joinMod(modName, name))
			}
		}
	}
}

func joinMod(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (i *interp) noteImport(m string) {
	if i.cur != i.main {
		return
	}
	i.res.Imports = append(i.res.Imports, m)
	if m == "airflow" || strings.HasPrefix(m, "airflow.") {
		i.res.DefinesAirflow = true
	}
}

// load finds and evaluates a module of the repo imported by the current one.
func (i *interp) load(modName string, level int, site int32, c *ctx) *module {
	if i.an == nil || i.an.read == nil || modName == "" && level == 0 {
		return nil
	}
	if strings.HasPrefix(modName, "airflow") || stdlibOrThirdParty(modName) {
		return nil
	}
	path, tree := i.an.resolve(i.cur.path, modName, level)
	if tree == nil || i.loading[path] || path == i.main.path {
		return nil
	}
	i.loading[path] = true
	defer delete(i.loading, path)
	if !oneOf(path, i.res.Deps...) {
		i.res.Deps = append(i.res.Deps, path)
	}
	m := &module{name: modName, path: path, t: tree, globals: newEnv(nil)}
	prev := i.cur
	inner := ctx{site: c.site}
	if prev == i.main {
		inner.site = site
	}
	inner.gen = "import"
	i.cur = m
	i.execBlock(0, m.globals, &inner)
	i.cur = prev
	return m
}

// stdlibOrThirdParty lists top-level packages a DAG repo never vendors, so
// the analyzer does not look for them among the repo's files.
func stdlibOrThirdParty(m string) bool {
	top := m
	if j := strings.IndexByte(m, '.'); j >= 0 {
		top = m[:j]
	}
	switch top {
	case "datetime", "os", "sys", "json", "re", "time", "pendulum", "logging", "typing", "pathlib",
		"collections", "functools", "itertools", "random", "uuid", "boto3", "botocore", "requests",
		"pandas", "numpy", "yaml", "dateutil", "__future__", "textwrap", "subprocess", "socket",
		"urllib", "http", "hashlib", "base64", "dataclasses", "enum", "contextlib", "tempfile", "shutil", "math":
		return true
	}
	return false
}

// ---- expressions ----

func (i *interp) eval(n int32, e *env, c *ctx) val {
	if n < 0 || !i.tick() {
		return unknown
	}
	t := i.cur.t
	switch t.kind(n) {
	case "string":
		return i.str(n, e, c)
	case "concatenated_string":
		out := strVal("")
		for _, p := range t.namedChildren(n) {
			out = addVals(out, i.str(p, e, c))
		}
		return out
	case "integer":
		s := strings.ReplaceAll(strings.ToLower(t.text(n)), "_", "")
		if v, err := strconv.ParseInt(s, 0, 64); err == nil {
			return numVal(float64(v))
		}
		return unknown
	case "float":
		if v, err := strconv.ParseFloat(strings.ReplaceAll(t.text(n), "_", ""), 64); err == nil {
			return numVal(v)
		}
		return unknown
	case "true":
		return boolVal(true)
	case "false":
		return boolVal(false)
	case "none":
		return none
	case "identifier":
		name := t.text(n)
		if v, ok := e.get(name); ok {
			return v
		}
		if name == "__name__" {
			// Airflow imports DAG files under a generated module name.
			return strVal("unusual_prefix_dag_module")
		}
		return refVal(name)
	case "attribute":
		return i.attrOf(i.eval(t.field(n, "object"), e, c), t.text(t.field(n, "attribute")))
	case "call":
		return i.call(n, e, c, "call")
	case "list", "tuple", "set", "expression_list", "pattern_list":
		var items []val
		defer func() { i.charge(len(items)) }()
		for _, k := range t.namedChildren(n) {
			if t.kind(k) == "list_splat" {
				inner := i.eval(firstNamed(t, k), e, c)
				if inner.k == vList {
					items = append(items, inner.items...)
					continue
				}
				return unknown
			}
			items = append(items, i.eval(k, e, c))
		}
		return listVal(items)
	case "parenthesized_expression":
		return i.eval(firstNamed(t, n), e, c)
	case "dictionary":
		d := val{k: vDict}
		for _, p := range t.namedChildren(n) {
			switch t.kind(p) {
			case "pair":
				k := i.eval(t.field(p, "key"), e, c)
				v := i.eval(t.field(p, "value"), e, c)
				if k.k == vStr {
					d = d.dictSetAt(k.s, v, i.entryPos(p, c))
				} else if r := v.runtimeReason(); r != "" {
					d.rt = r
				}
			case "dictionary_splat":
				d = mergeDict(d, i.eval(firstNamed(t, p), e, c))
			}
		}
		return d
	case "binary_operator":
		return i.binop(n, e, c)
	case "unary_operator":
		v := i.eval(t.field(n, "argument"), e, c)
		if v.k == vNum && t.text(t.field(n, "operator")) == "-" {
			return numVal(-v.n)
		}
		return v
	case "boolean_operator":
		l := i.eval(t.field(n, "left"), e, c)
		lb, ok := l.truthy()
		op := t.text(t.field(n, "operator"))
		if !ok {
			i.eval(t.field(n, "right"), e, c)
			return unknown
		}
		if (op == "and") == lb {
			return i.eval(t.field(n, "right"), e, c)
		}
		return l
	case "not_operator":
		v := i.eval(t.field(n, "argument"), e, c)
		if b, ok := v.truthy(); ok {
			return boolVal(!b)
		}
		return unknown
	case "comparison_operator":
		return i.compare(n, e, c)
	case "conditional_expression":
		kids := t.namedChildren(n)
		if len(kids) != 3 {
			return unknown
		}
		cond := i.eval(kids[1], e, c)
		if b, ok := cond.truthy(); ok {
			if b {
				return i.eval(kids[0], e, c)
			}
			return i.eval(kids[2], e, c)
		}
		a, b := i.eval(kids[0], e, c), i.eval(kids[2], e, c)
		if a.rt != "" {
			return a
		}
		if b.rt != "" {
			return b
		}
		return unknown
	case "subscript":
		obj := i.eval(t.field(n, "value"), e, c)
		key := i.eval(t.field(n, "subscript"), e, c)
		switch {
		case obj.k == vDict && key.k == vStr:
			if v, ok := obj.dictGet(key.s); ok {
				return v
			}
		case obj.k == vList:
			if k, ok := key.asInt(); ok {
				if k < 0 {
					k += len(obj.items)
				}
				if k >= 0 && k < len(obj.items) {
					return obj.items[k]
				}
			}
		}
		return val{k: vUnknown, rt: obj.rt}
	case "list_comprehension", "generator_expression", "set_comprehension":
		return i.comprehension(n, e, c)
	case "named_expression":
		v := i.eval(t.field(n, "value"), e, c)
		i.bind(t.field(n, "name"), v, e, c)
		return v
	case "keyword_argument":
		return i.eval(t.field(n, "value"), e, c)
	}
	return unknown
}

func firstNamed(t *ptree, n int32) int32 {
	for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].named && t.nodes[c].kind != "comment" {
			return c
		}
	}
	return -1
}

func mergeDict(a, b val) val {
	if b.k != vDict {
		if a.k == vDict {
			a.rt = b.runtimeReason()
			return val{k: vUnknown, rt: a.rt}
		}
		return unknown
	}
	if a.k != vDict {
		return unknown
	}
	out := a
	for j, k := range b.keys {
		out = out.dictSetAt(k, b.items[j], b.dictPosAt(j))
	}
	return out
}

// str evaluates a string literal, interpolating f-strings where the values are known.
func (i *interp) str(n int32, e *env, c *ctx) val {
	t := i.cur.t
	if t.kind(n) != "string" {
		return i.eval(n, e, c)
	}
	var b strings.Builder
	known := true
	rt := ""
	for ch := t.nodes[n].first; ch >= 0; ch = t.nodes[ch].next {
		switch t.kind(ch) {
		case "string_content":
			writeContent(&b, t, ch)
		case "escape_sequence":
			b.WriteString(unescape(t.text(ch)))
		case "interpolation":
			x := i.eval(t.field(ch, "expression"), e, c)
			if x.rt != "" {
				rt = x.rt
			}
			if x.k == vStr || x.k == vNum || x.k == vBool {
				b.WriteString(x.display())
			} else {
				known = false
				b.WriteString("{" + t.text(t.field(ch, "expression")) + "}")
			}
		}
	}
	if !known {
		return val{k: vUnknown, s: b.String(), rt: rt}
	}
	return val{k: vStr, s: b.String(), rt: rt}
}

// writeContent writes string content, decoding escapes tree-sitter left inline.
func writeContent(b *strings.Builder, t *ptree, n int32) {
	// string_content may hold escape_sequence children; copy the gaps.
	pos := t.nodes[n].start
	for ch := t.nodes[n].first; ch >= 0; ch = t.nodes[ch].next {
		x := &t.nodes[ch]
		b.Write(t.src[pos:x.start])
		if x.kind == "escape_sequence" {
			b.WriteString(unescape(t.text(ch)))
		} else {
			b.Write(t.src[x.start:x.end])
		}
		pos = x.end
	}
	if pos <= t.nodes[n].end && int(t.nodes[n].end) <= len(t.src) {
		b.Write(t.src[pos:t.nodes[n].end])
	}
}

func unescape(s string) string {
	switch s {
	case `\n`:
		return "\n"
	case `\t`:
		return "\t"
	case `\\`:
		return `\`
	case `\'`:
		return "'"
	case `\"`:
		return `"`
	case "{{":
		return "{"
	case "}}":
		return "}"
	}
	return s
}

func addVals(a, b val) val {
	rt := a.rt
	if rt == "" {
		rt = b.rt
	}
	switch {
	case a.k == vStr && b.k == vStr:
		return val{k: vStr, s: a.s + b.s, rt: rt}
	case a.k == vNum && b.k == vNum:
		return val{k: vNum, n: a.n + b.n, rt: rt}
	case a.k == vList && b.k == vList:
		return val{k: vList, items: append(append([]val{}, a.items...), b.items...), rt: rt}
	case a.k == vTime && b.k == vDur:
		return val{k: vTime, t: a.t.Add(b.d).AddDate(0, b.months, 0), rt: rt}
	case a.k == vDur && b.k == vDur:
		return val{k: vDur, d: a.d + b.d, months: a.months + b.months, rt: rt}
	case (a.k == vStr || a.k == vUnknown) && (b.k == vStr || b.k == vUnknown) && (a.s != "" || b.s != ""):
		return val{k: vUnknown, s: a.s + b.s, rt: rt}
	}
	return val{k: vUnknown, rt: rt}
}

func (i *interp) binop(n int32, e *env, c *ctx) val {
	t := i.cur.t
	op := t.text(t.field(n, "operator"))
	l := i.eval(t.field(n, "left"), e, c)
	r := i.eval(t.field(n, "right"), e, c)
	rt := l.rt
	if rt == "" {
		rt = r.rt
	}
	switch op {
	case ">>":
		i.link(l, r, c)
		return r
	case "<<":
		i.link(r, l, c)
		return r
	case "+":
		return addVals(l, r)
	case "-":
		switch {
		case l.k == vTime && r.k == vDur && rt != "":
			// `datetime.now() - timedelta(days=1)`: shown as written, since the
			// value is different on every parse.
			return val{k: vTime, t: l.t.Add(-r.d).AddDate(0, -r.months, 0), rt: rt, expr: t.text(n)}
		case l.k == vTime && r.k == vDur:
			return val{k: vTime, t: l.t.Add(-r.d).AddDate(0, -r.months, 0), rt: rt}
		case l.k == vNum && r.k == vNum:
			return val{k: vNum, n: l.n - r.n, rt: rt}
		}
	case "*":
		switch {
		case l.k == vNum && r.k == vNum:
			return val{k: vNum, n: l.n * r.n, rt: rt}
		case l.k == vDur && r.k == vNum:
			return val{k: vDur, d: time.Duration(float64(l.d) * r.n), rt: rt}
		case l.k == vNum && r.k == vDur:
			return val{k: vDur, d: time.Duration(float64(r.d) * l.n), rt: rt}
		}
	case "|":
		if l.k == vDict && r.k == vDict {
			return mergeDict(l, r)
		}
	case "%":
		if l.k == vStr && r.k != vStr && r.k != vNum && r.k != vList {
			return val{k: vUnknown, s: l.s, rt: rt}
		}
	}
	// Unknown statically: keep the source text for what reviewers are shown.
	return val{k: vUnknown, rt: rt, expr: t.text(n)}
}

func (i *interp) compare(n int32, e *env, c *ctx) val {
	t := i.cur.t
	kids := t.namedChildren(n)
	ops := t.fields(n, "operators")
	if len(kids) != 2 || len(ops) != 1 {
		for _, k := range kids {
			i.eval(k, e, c)
		}
		return unknown
	}
	a, b := i.eval(kids[0], e, c), i.eval(kids[1], e, c)
	op := t.text(ops[0])
	if !a.known() || !b.known() || a.k != b.k || (a.k != vStr && a.k != vNum && a.k != vNone && a.k != vBool) {
		return unknown
	}
	eq := a.s == b.s && a.n == b.n && a.b == b.b
	switch op {
	case "==", "is":
		return boolVal(eq)
	case "!=", "is not":
		return boolVal(!eq)
	}
	if a.k == vNum {
		switch op {
		case "<":
			return boolVal(a.n < b.n)
		case ">":
			return boolVal(a.n > b.n)
		case "<=":
			return boolVal(a.n <= b.n)
		case ">=":
			return boolVal(a.n >= b.n)
		}
	}
	return unknown
}

func (i *interp) comprehension(n int32, e *env, c *ctx) val {
	t := i.cur.t
	body := t.field(n, "body")
	var forIn int32 = -1
	var conds []int32
	for _, k := range t.namedChildren(n) {
		switch t.kind(k) {
		case "for_in_clause":
			if forIn < 0 {
				forIn = k
			}
		case "if_clause":
			conds = append(conds, firstNamed(t, k))
		}
	}
	if forIn < 0 {
		return unknown
	}
	inner := newEnv(e)
	left := t.field(forIn, "left")
	iter := i.eval(t.field(forIn, "right"), e, c)
	lc := *c
	lc.gen = "loop"
	items, ok := iterItems(iter)
	if !ok || len(items) > maxUnroll {
		i.bind(left, patternVal("{"+t.text(left)+"}"), inner, c)
		i.eval(body, inner, &lc)
		return unknown
	}
	var out []val
	for _, it := range items {
		if i.aborted {
			break
		}
		i.bind(left, it, inner, c)
		keep := true
		for _, cd := range conds {
			if b, ok := i.eval(cd, inner, c).truthy(); ok && !b {
				keep = false
			}
		}
		if keep {
			out = append(out, i.eval(body, inner, &lc))
		}
	}
	return listVal(out)
}

// args evaluates an argument list.
func (i *interp) args(n int32, e *env, c *ctx) (pos []val, kw map[string]val, kwPos map[string]argPos, splat bool) {
	t := i.cur.t
	if n < 0 {
		return
	}
	if t.kind(n) == "generator_expression" {
		return []val{i.eval(n, e, c)}, kw, kwPos, false
	}
	// Most calls in a DAG file pass keywords; sizing the maps once avoids
	// growing them, and calls without keywords get none (reading a nil map
	// is fine, and only this function writes to these).
	nkw := 0
	for a := t.nodes[n].first; a >= 0; a = t.nodes[a].next {
		if k := t.nodes[a].kind; k == "keyword_argument" || k == "dictionary_splat" {
			nkw++
		}
	}
	if nkw > 0 {
		kw, kwPos = make(map[string]val, nkw), make(map[string]argPos, nkw)
	}
	for a := t.nodes[n].first; a >= 0; a = t.nodes[a].next {
		if !t.nodes[a].named || t.nodes[a].kind == "comment" {
			continue
		}
		switch t.kind(a) {
		case "keyword_argument":
			name := t.text(t.field(a, "name"))
			kw[name] = i.eval(t.field(a, "value"), e, c)
			kwPos[name] = i.pos(a, c)
		case "list_splat":
			v := i.eval(firstNamed(t, a), e, c)
			if v.k == vList {
				pos = append(pos, v.items...)
			} else {
				splat = true
			}
		case "dictionary_splat":
			v := i.eval(firstNamed(t, a), e, c)
			if v.k == vDict {
				for j, k := range v.keys {
					kw[k] = v.items[j]
					kwPos[k] = i.pos(a, c)
				}
			} else {
				splat = true
			}
		default:
			pos = append(pos, i.eval(a, e, c))
		}
	}
	return
}

// ---- calls ----

func (i *interp) call(n int32, e *env, c *ctx, style string) val {
	t := i.cur.t
	fnNode := t.field(n, "function")
	argNode := t.field(n, "arguments")
	var fv, ov val
	var objNode int32 = -1
	meth := ""
	if t.kind(fnNode) == "attribute" {
		objNode = t.field(fnNode, "object")
		meth = t.text(t.field(fnNode, "attribute"))
		ov = i.eval(objNode, e, c)
		fv = i.attrOf(ov, meth)
	} else {
		fv = i.eval(fnNode, e, c)
	}
	pos, kw, kwPos, _ := i.args(argNode, e, c)
	if meth != "" {
		if v, ok := i.method(n, objNode, ov, meth, pos, kw, e, c); ok {
			return v
		}
	}
	switch fv.k {
	case vFunc:
		if fv.fn.dagDeco != nil {
			return i.callDagFn(fv.fn, n, c)
		}
		if fv.fn.grpDeco != nil {
			return i.callGroupFn(fv.fn, pos, kw, n, e, c)
		}
		return i.callFunc(fv.fn, pos, kw, n, c)
	case vTaskFn:
		return i.callTaskFn(fv.fn, pos, kw, n, c, false)
	case vRef, vCall:
		return i.callRef(fv.s, fv, pos, kw, kwPos, n, c, style)
	}
	if _, ok := kw["task_id"]; ok {
		return i.makeTask(lastSeg(t.text(fnNode)), kw, kwPos, n, c, false)
	}
	return val{k: vUnknown, rt: fv.rt}
}

// attrOf returns obj.attr for the values the analyzer tracks.
func (i *interp) attrOf(obj val, attr string) val {
	switch obj.k {
	case vRef, vCall:
		return val{k: obj.k, s: obj.s + "." + attr, rt: obj.rt}
	case vModule:
		if v, ok := obj.mod.globals.vars[attr]; ok {
			return v
		}
		return refVal(obj.mod.name + "." + attr)
	case vDAG:
		if attr == "dag_id" && obj.dag.DagID != "" {
			return strVal(obj.dag.DagID)
		}
		return val{k: vCall, s: "dag." + attr}
	case vTask:
		if attr == "output" {
			return obj
		}
		if attr == "task_id" && obj.task.TaskID != "" {
			return strVal(obj.task.TaskID)
		}
	case vTime:
		return val{k: vCall, s: "datetime." + attr, rt: obj.rt}
	}
	return val{k: vUnknown, rt: obj.rt}
}

// method handles calls on values the analyzer tracks; ok is false when the
// call should be treated as a plain call.
func (i *interp) method(n, objNode int32, ov val, meth string, pos []val, kw map[string]val, e *env, c *ctx) (val, bool) {
	t := i.cur.t
	switch ov.k {
	case vTask, vGroup, vList:
		switch meth {
		case "set_downstream", "set_upstream":
			for _, p := range pos {
				if meth == "set_downstream" {
					i.link(ov, p, c)
				} else {
					i.link(p, ov, c)
				}
			}
			return none, true
		case "expand", "expand_kwargs":
			if ov.task != nil {
				ov.task.Mapped = true
				for _, v := range append(pos, kwVals(kw)...) {
					i.link(v, ov, c)
				}
			}
			return ov, true
		case "as_setup", "as_teardown", "with_retries":
			return ov, true
		case "append", "extend":
			if ov.k == vList && t.kind(objNode) == "identifier" {
				if !i.charge(len(ov.items)) {
					return none, true
				}
				items := append([]val{}, ov.items...)
				if len(pos) == 1 {
					if meth == "append" {
						items = append(items, pos[0])
					} else if pos[0].k == vList {
						items = append(items, pos[0].items...)
					}
				}
				e.rebind(t.text(objNode), listVal(items))
				return none, true
			}
		}
	case vTaskFn:
		switch meth {
		case "override":
			fd := *ov.fn
			if v, ok := kw["task_id"]; ok && v.k == vStr {
				fd.override = v.s
			}
			return val{k: vTaskFn, fn: &fd}, true
		case "partial":
			return ov, true
		case "expand", "expand_kwargs":
			return i.callTaskFn(ov.fn, pos, kw, n, c, true), true
		}
	case vDict:
		switch meth {
		case "copy":
			return ov, true
		case "get":
			if len(pos) >= 1 && pos[0].k == vStr {
				if v, ok := ov.dictGet(pos[0].s); ok {
					return v, true
				}
				if len(pos) >= 2 {
					return pos[1], true
				}
				return none, true
			}
		case "update":
			if t.kind(objNode) == "identifier" {
				merged := ov
				if len(pos) == 1 {
					merged = mergeDict(merged, pos[0])
				}
				for k, v := range kw {
					merged = merged.dictSet(k, v)
				}
				e.rebind(t.text(objNode), merged)
				return none, true
			}
		case "items":
			out := make([]val, len(ov.keys))
			for j, k := range ov.keys {
				out[j] = listVal([]val{strVal(k), ov.items[j]})
			}
			return listVal(out), true
		case "keys":
			v, _ := iterItems(ov)
			return listVal(v), true
		case "values":
			return listVal(ov.items), true
		}
	case vStr:
		switch meth {
		case "upper":
			return strVal(strings.ToUpper(ov.s)), true
		case "lower":
			return strVal(strings.ToLower(ov.s)), true
		case "strip":
			return strVal(strings.TrimSpace(ov.s)), true
		case "replace":
			if len(pos) == 2 && pos[0].k == vStr && pos[1].k == vStr {
				return strVal(strings.ReplaceAll(ov.s, pos[0].s, pos[1].s)), true
			}
		case "join":
			if len(pos) == 1 && pos[0].k == vList {
				parts := make([]string, 0, len(pos[0].items))
				for _, it := range pos[0].items {
					if it.k != vStr {
						return unknown, true
					}
					parts = append(parts, it.s)
				}
				return strVal(strings.Join(parts, ov.s)), true
			}
		case "format":
			return patternVal(ov.s), true
		}
		return unknown, true
	case vTime:
		if meth == "add" || meth == "subtract" || meth == "replace" || meth == "in_timezone" || meth == "start_of" {
			out := ov
			if meth == "add" || meth == "subtract" {
				d, months := durationOf(kw)
				if meth == "subtract" {
					d, months = -d, -months
				}
				out.t = out.t.Add(d).AddDate(0, months, 0)
			}
			return out, true
		}
	}
	return unknown, false
}

func kwVals(kw map[string]val) []val {
	out := make([]val, 0, len(kw))
	for _, k := range sortedKeys(kw) {
		out = append(out, kw[k])
	}
	return out
}

// callFunc runs a Python function the parse-time code calls: DAG factories,
// helpers building default_args.
func (i *interp) callFunc(fd *funcDef, pos []val, kw map[string]val, n int32, c *ctx) val {
	if i.depth >= maxCallDepth {
		return unknown
	}
	i.depth++
	defer func() { i.depth-- }()
	prev := i.cur
	fe := newEnv(fd.closure)
	i.cur = fd.mod
	t := i.cur.t
	i.bindParams(fd, pos, kw, fe)
	inner := ctx{dag: c.dag, grp: c.grp, gen: "factory", branches: c.branches, site: c.site, inFunc: true}
	if prev == i.main && fd.mod != i.main {
		inner.site = n
	}
	v, _ := i.execBlock(t.field(fd.node, "body"), fe, &inner)
	i.cur = prev
	return v
}

func (i *interp) bindParams(fd *funcDef, pos []val, kw map[string]val, fe *env) {
	t := fd.mod.t
	j := 0
	for _, p := range t.namedChildren(t.field(fd.node, "parameters")) {
		var name string
		switch t.kind(p) {
		case "identifier":
			name = t.text(p)
		case "typed_parameter":
			name = t.text(firstNamed(t, p))
		case "default_parameter", "typed_default_parameter":
			name = t.text(t.field(p, "name"))
		case "list_splat_pattern", "dictionary_splat_pattern":
			fe.vars[t.text(firstNamed(t, p))] = unknown
			continue
		default:
			continue
		}
		switch {
		case j < len(pos):
			fe.vars[name] = pos[j]
			j++
		case kw[name].k != vUnknown || hasKey(kw, name):
			fe.vars[name] = kw[name]
		default:
			if d, ok := fd.defaults[name]; ok {
				fe.vars[name] = d
			} else {
				fe.vars[name] = patternVal("{" + name + "}")
			}
		}
	}
}

func hasKey(m map[string]val, k string) bool { _, ok := m[k]; return ok }

// callDagFn calls a @dag-decorated function: it builds the DAG and runs the
// body, whose TaskFlow calls become the DAG's tasks.
func (i *interp) callDagFn(fd *funcDef, n int32, c *ctx) val {
	fd.called = true
	if i.depth >= maxCallDepth {
		return unknown
	}
	kw := map[string]val{}
	for k, v := range fd.dagDeco.kw {
		kw[k] = v
	}
	pos := fd.dagDeco.pos
	if _, ok := kw["dag_id"]; !ok {
		kw["dag_id"] = strVal(fd.name)
	}
	inner := *c
	if i.cur != i.main || fd.mod != i.main {
		inner.site = n
	}
	d := i.makeDAG(nil, kw, pos, i.declNode(fd, n), &inner, "decorator")
	if d.dag == nil {
		return unknown
	}
	if c.gen != "" {
		d.dag.Generated = c.gen
	}
	i.depth++
	prev := i.cur
	i.cur = fd.mod
	fe := newEnv(fd.closure)
	i.bindParams(fd, nil, nil, fe)
	body := ctx{dag: d.dag, gen: c.gen, branches: c.branches, site: inner.site, inFunc: true}
	i.execBlock(fd.mod.t.field(fd.node, "body"), fe, &body)
	i.cur = prev
	i.depth--
	return d
}

// declNode is where a decorated DAG is reported: its function's name line.
func (i *interp) declNode(fd *funcDef, callNode int32) int32 {
	if fd.mod == i.main {
		return fd.dagDeco.node
	}
	return callNode
}

func (i *interp) callGroupFn(fd *funcDef, pos []val, kw map[string]val, n int32, e *env, c *ctx) val {
	gid := fd.name
	if v, ok := fd.grpDeco.kw["group_id"]; ok && v.k == vStr {
		gid = v.s
	}
	g := i.newGroup(gid, fd.grpDeco.kw, c)
	inner := *c
	inner.grp = g
	i.callFunc(fd, pos, kw, n, &inner)
	return val{k: vGroup, group: g}
}

func (i *interp) newGroup(id string, kw map[string]val, c *ctx) *group {
	g := &group{id: id, dag: c.dag, parent: c.grp}
	prefix := true
	if v, ok := kw["prefix_group_id"]; ok {
		if b, ok := v.truthy(); ok {
			prefix = b
		}
	}
	if c.grp != nil {
		g.prefix = c.grp.prefix
		if g.dag == nil {
			g.dag = c.grp.dag
		}
	}
	if prefix {
		g.prefix += id + "."
	}
	if d, ok := kw["dag"]; ok && d.k == vDAG {
		g.dag = d.dag
	}
	return g
}

// callTaskFn calls a @task function inside a DAG: a new task whose upstreams
// are the tasks whose results it takes.
func (i *interp) callTaskFn(fd *funcDef, pos []val, kw map[string]val, n int32, c *ctx, mapped bool) val {
	fd.called = true
	id := fd.name
	if v, ok := fd.taskDeco.kw["task_id"]; ok && v.k == vStr {
		id = v.s
	}
	if fd.override != "" {
		id = fd.override
	}
	tkw := map[string]val{"task_id": strVal(id)}
	for _, k := range []string{"pool", "queue", "owner", "retries"} {
		if v, ok := fd.taskDeco.kw[k]; ok {
			tkw[k] = v
		}
	}
	tv := i.makeTask(fd.taskDeco.name, tkw, fd.taskDeco.pos, n, c, true)
	if tv.task != nil {
		tv.task.Mapped = mapped
	}
	for _, a := range append(pos, kwVals(kw)...) {
		i.link(a, tv, c)
	}
	return tv
}

// callRef handles a call to something known only by name: Airflow's own
// constructors, datetime helpers, and everything that reaches outside.
func (i *interp) callRef(q string, fv val, pos []val, kw map[string]val, kwPos map[string]argPos, n int32, c *ctx, style string) val {
	t := i.cur.t
	if msg := hazard(q, pos); msg != "" {
		var d *DAG
		if c != nil {
			d = c.dag
		}
		i.addDagFinding(d, RuleTopLevelCode, i.pos(n, c), i.ctxDagID(c), msg+i.via(n))
	}
	last := lastSeg(q)
	switch {
	case last == "DAG" && (q == "DAG" || strings.HasPrefix(q, "airflow.")):
		if style == "call" {
			style = "assign"
			if p := t.nodes[n].parent; p >= 0 && t.kind(p) == "expression_statement" {
				style = "call"
			}
		}
		return i.makeDAG(pos, kw, kwPos, n, c, style)
	case last == "TaskGroup":
		id := ""
		if v, ok := kw["group_id"]; ok && v.k == vStr {
			id = v.s
		} else if len(pos) > 0 && pos[0].k == vStr {
			id = pos[0].s
		}
		return val{k: vGroup, group: i.newGroup(id, kw, c)}
	case isAirflowName(q, "chain") || isAirflowName(q, "chain_linear"):
		for j := 0; j+1 < len(pos); j++ {
			a, b := pos[j], pos[j+1]
			if a.k == vList && b.k == vList && len(a.items) == len(b.items) {
				for k := range a.items {
					i.link(a.items[k], b.items[k], c)
				}
				continue
			}
			i.link(a, b, c)
		}
		return none
	case isAirflowName(q, "cross_downstream"):
		if len(pos) == 2 {
			i.link(pos[0], pos[1], c)
		}
		return none
	case last == "partial" && strings.HasSuffix(strings.TrimSuffix(q, ".partial"), "Operator") || last == "partial" && strings.HasSuffix(strings.TrimSuffix(q, ".partial"), "Sensor"):
		return i.makeTask(lastSeg(strings.TrimSuffix(q, ".partial")), kw, kwPos, n, c, false)
	}
	if v, ok := timeCall(q, pos, kw); ok {
		v.expr = t.text(n)
		return v
	}
	if r := runtimeCall(q); r != "" {
		return val{k: vCall, s: q, rt: r + "()", expr: t.text(n)}
	}
	switch last {
	case "range":
		if q == "range" {
			return rangeVal(pos)
		}
	case "dict":
		if q == "dict" {
			d := val{k: vDict}
			if len(pos) == 1 {
				d = mergeDict(d, pos[0])
			}
			for _, k := range sortedKeys(kw) {
				at := argPos{}
				if i.cur == i.main {
					at = kwPos[k]
				}
				d = d.dictSetAt(k, kw[k], at)
			}
			return d
		}
	case "list", "sorted", "tuple":
		if q == last && len(pos) == 1 {
			if items, ok := iterItems(pos[0]); ok {
				return listVal(items)
			}
		}
	case "enumerate":
		if q == last && len(pos) == 1 {
			if items, ok := iterItems(pos[0]); ok {
				out := make([]val, len(items))
				for j, it := range items {
					out[j] = listVal([]val{numVal(float64(j)), it})
				}
				return listVal(out)
			}
		}
	case "str":
		if q == "str" && len(pos) == 1 && pos[0].known() {
			return strVal(pos[0].display())
		}
	case "CronTriggerTimetable", "CronDataIntervalTimetable", "CronPartitionTimetable":
		if len(pos) > 0 && pos[0].k == vStr {
			return val{k: vStr, s: pos[0].s, expr: t.text(n)}
		}
		if v, ok := kw["cron"]; ok && v.k == vStr {
			return val{k: vStr, s: v.s, expr: t.text(n)}
		}
	case "DeltaDataIntervalTimetable", "DeltaTriggerTimetable":
		if len(pos) > 0 && pos[0].k == vDur {
			v := pos[0]
			v.expr = t.text(n)
			return v
		}
	}
	if _, ok := kw["task_id"]; ok {
		return i.makeTask(last, kw, kwPos, n, c, false)
	}
	return val{k: vCall, s: q, expr: t.text(n)}
}

func rangeVal(pos []val) val {
	lo, hi, step := 0, 0, 1
	ints := make([]int, 0, 3)
	for _, p := range pos {
		x, ok := p.asInt()
		if !ok {
			return unknown
		}
		ints = append(ints, x)
	}
	switch len(ints) {
	case 1:
		hi = ints[0]
	case 2:
		lo, hi = ints[0], ints[1]
	case 3:
		lo, hi, step = ints[0], ints[1], ints[2]
	default:
		return unknown
	}
	if step <= 0 || (hi-lo)/step > maxUnroll {
		return unknown
	}
	var out []val
	for x := lo; x < hi; x += step {
		out = append(out, numVal(float64(x)))
	}
	return listVal(out)
}

// ctxDagID returns the dag_id of the DAG being built, for findings.
func (i *interp) ctxDagID(c *ctx) string {
	if c != nil && c.dag != nil {
		return c.dag.DagID
	}
	return ""
}

// ---- DAGs and tasks ----

// dagKeys are the DAG arguments the analyzer reads.
var scheduleArgs = []string{"schedule", "schedule_interval", "timetable"}

func (i *interp) makeDAG(pos []val, kw map[string]val, kwPos map[string]argPos, n int32, c *ctx, style string) val {
	if c.gen == "import" {
		return unknown // a DAG built while importing a helper belongs to that helper
	}
	p := i.pos(n, c)
	d := &DAG{File: i.main.path, Line: p.line, Style: style, Generated: c.gen, Tags: []string{}, Tasks: []*Task{}, Edges: []Edge{}, args: map[string]argPos{}}
	if c.gen == "" && c.inFunc && style != "decorator" {
		d.Generated = "factory"
	}
	for k, v := range kwPos {
		d.args[k] = v
	}
	idv, ok := kw["dag_id"]
	if !ok && len(pos) > 0 {
		idv = pos[0]
	}
	switch {
	case idv.k == vStr:
		d.DagID = idv.s
	case idv.s != "":
		d.IDPattern = idv.s
	default:
		d.IDPattern = "{dag_id}"
	}
	dargs := kw["default_args"]
	get := func(k string) (val, bool) {
		if v, ok := kw[k]; ok {
			return v, true
		}
		return dargs.dictGet(k)
	}
	for _, k := range scheduleArgs {
		if v, ok := kw[k]; ok {
			d.ScheduleArg = k
			d.Schedule = v.display()
			if v.k == vDur {
				d.every = v.d
				if v.months > 0 {
					d.every = time.Duration(v.months) * 30 * 24 * time.Hour
				}
			}
			if v.k == vList || v.k == vCall && strings.Contains(v.s, "Dataset") || strings.Contains(v.s, "Asset") {
				d.Schedule = "dataset: " + v.display()
			}
			if v.k == vUnknown && v.s == "" {
				d.Schedule = "dynamic"
			}
			break
		}
	}
	if _, ok := kw["start_date"]; !ok {
		// Set through default_args: rules about start_date point at the entry.
		if at := dargs.dictPos("start_date"); at.line > 0 {
			d.args["start_date"] = at
		}
	}
	if v, ok := get("start_date"); ok {
		switch {
		case v.rt != "":
			d.StartDateRuntime = v.rt
			d.StartDate = v.display()
		case v.k == vTime:
			d.start = v.t
			d.StartDate = v.t.Format(time.RFC3339)
		default:
			d.StartDate = v.display()
		}
	}
	if v, ok := kw["catchup"]; ok {
		if b, ok := v.truthy(); ok {
			d.Catchup = &b
		}
	}
	if v, ok := kw["max_active_runs"]; ok {
		if x, ok := v.asInt(); ok {
			d.MaxActiveRuns = &x
		}
	}
	if v, ok := get("owner"); ok && v.k == vStr {
		d.Owner = v.s
	}
	if v, ok := get("retries"); ok {
		if x, ok := v.asInt(); ok {
			d.Retries = &x
		}
	}
	if v, ok := kw["tags"]; ok {
		for _, it := range v.items {
			if it.k == vStr {
				d.Tags = append(d.Tags, it.s)
			}
		}
	}
	if v, ok := get("end_date"); ok && v.k == vTime && v.rt == "" {
		d.end = v.t
	}
	// Values that change on every parse.
	for _, k := range sortedKeys(kw) {
		v := kw[k]
		if k == "default_args" {
			for j, dk := range v.keys {
				at := v.dictPosAt(j)
				if at.line == 0 {
					at = kwPos["default_args"]
				}
				i.runtimeArg(d, "default_args."+dk, v.items[j], at, p, c)
			}
			continue
		}
		i.runtimeArg(d, k, v, kwPos[k], p, c)
	}
	rec := &dagRec{d: d, branches: c.branches, edgeSet: map[Edge]bool{}, taskBr: map[*Task][]branch{}, flowSeq: map[string]int{}, dargs: dargs}
	i.dags = append(i.dags, rec)
	i.recs[d] = rec
	return val{k: vDAG, dag: d}
}

func (i *interp) runtimeArg(d *DAG, key string, v val, at argPos, fallback argPos, c *ctx) {
	r := v.runtimeReason()
	if r == "" {
		return
	}
	if at.line == 0 {
		at = fallback
	}
	id := d.DagID
	if key == "start_date" || key == "default_args.start_date" {
		i.addDagFinding(d, RuleDynamicStartDate, at, id, fmt.Sprintf("%s is %s, which changes on every parse: the scheduler never sees a stable start, so runs are skipped or duplicated; use a fixed date such as pendulum.datetime(2024, 1, 1, tz=\"UTC\")", key, r))
		return
	}
	i.addDagFinding(d, RuleRuntimeValue, at, id, fmt.Sprintf("%s uses %s, which changes on every parse: the DAG is re-serialized every 30 s and its history no longer lines up; compute it inside the task or use a template such as {{ ds }}", key, r))
}

func (i *interp) recFor(d *DAG) *dagRec { return i.recs[d] }

// charge counts work proportional to n against the file's budget, so
// quadratic shapes in hostile input stay bounded.
func (i *interp) charge(n int) bool {
	i.steps += n
	return i.tick()
}

func (i *interp) makeTask(op string, kw map[string]val, kwPos map[string]argPos, n int32, c *ctx, taskflow bool) val {
	dag := c.dag
	if v, ok := kw["dag"]; ok && v.k == vDAG {
		dag = v.dag
	}
	grp := c.grp
	if v, ok := kw["task_group"]; ok && v.k == vGroup {
		grp = v.group
	}
	if grp != nil && grp.dag != nil && dag == nil {
		dag = grp.dag
	}
	p := i.pos(n, c)
	tk := &Task{Operator: op, Line: p.line, col: p.col}
	id := kw["task_id"]
	prefix := ""
	if grp != nil {
		prefix = grp.prefix
	}
	switch {
	case id.k == vStr:
		tk.TaskID = prefix + id.s
	case id.s != "":
		tk.IDPattern = prefix + id.s
	default:
		tk.IDPattern = prefix + "{task_id}"
	}
	if dag == nil {
		return val{k: vTask, task: tk}
	}
	rec := i.recFor(dag)
	if rec == nil {
		return val{k: vTask, task: tk}
	}
	if taskflow && tk.TaskID != "" {
		// Airflow suffixes repeated calls of one @task function: x, x__1, x__2.
		base := tk.TaskID
		if seq, ok := rec.flowSeq[base]; ok {
			rec.flowSeq[base] = seq + 1
			tk.TaskID = fmt.Sprintf("%s__%d", base, seq+1)
		} else {
			rec.flowSeq[base] = 0
		}
	}
	for _, k := range []string{"pool", "queue"} {
		v, ok := kw[k]
		at := kwPos[k]
		if !ok {
			v, ok = rec.dargs.dictGet(k)
			at = rec.dargs.dictPos(k)
			if at.line == 0 {
				at = dag.args["default_args"]
			}
		}
		if ok && v.k == vStr {
			if k == "pool" {
				tk.Pool, tk.poolPos = v.s, at
			} else {
				tk.Queue, tk.quePos = v.s, at
			}
		}
	}
	if dag.Owner == "" {
		if v, ok := kw["owner"]; ok && v.k == vStr {
			dag.Owner = v.s
		}
	}
	// Keywords are visited in sorted order so findings come out stable;
	// most tasks have no runtime-varying value, so look before sorting.
	varying := false
	for k, v := range kw {
		if k != "dag" && k != "task_group" && v.runtimeReason() != "" {
			varying = true
			break
		}
	}
	if varying {
		for _, k := range sortedKeys(kw) {
			if k == "dag" || k == "task_group" {
				continue
			}
			i.runtimeArg(dag, k, kw[k], kwPos[k], p, c)
		}
	}
	dag.Tasks = append(dag.Tasks, tk)
	i.owner[tk] = rec
	rec.taskBr[tk] = c.branches
	if grp != nil {
		for g := grp; g != nil; g = g.parent {
			g.tasks = append(g.tasks, tk)
		}
	}
	return val{k: vTask, task: tk}
}

// link records that every task of up runs before every task of down.
func (i *interp) link(up, down val, c *ctx) {
	ups := i.edgeTasks(up, false)
	downs := i.edgeTasks(down, true)
	if !i.charge(len(ups) * len(downs)) {
		return
	}
	for _, u := range ups {
		for _, d := range downs {
			i.addEdge(u, d)
		}
	}
}

// edgeTasks returns the tasks of v that take part in an edge: for a
// TaskGroup, its roots when downstream and its leaves when upstream.
func (i *interp) edgeTasks(v val, asDownstream bool) []*Task {
	if v.k != vGroup || v.group == nil {
		return v.tasksOf()
	}
	g := v.group
	in := map[string]bool{}
	for _, tk := range g.tasks {
		in[taskKey(tk)] = true
	}
	// Tasks with an upstream (for roots) or downstream (for leaves) inside
	// the group are not on its edge.
	linked := map[string]bool{}
	if rec := i.recFor(g.dag); rec != nil && i.charge(len(rec.d.Edges)) {
		for _, e := range rec.d.Edges {
			if asDownstream && in[e.Upstream] {
				linked[e.Downstream] = true
			}
			if !asDownstream && in[e.Downstream] {
				linked[e.Upstream] = true
			}
		}
	}
	var out []*Task
	for _, tk := range g.tasks {
		if !linked[taskKey(tk)] {
			out = append(out, tk)
		}
	}
	return out
}

func taskKey(tk *Task) string {
	if tk.TaskID != "" {
		return tk.TaskID
	}
	return tk.IDPattern
}

func (i *interp) addEdge(u, d *Task) {
	rec := i.owner[d]
	if rec == nil || i.owner[u] != rec {
		return // tasks of different DAGs (or of none) cannot depend on each other
	}
	e := Edge{Upstream: taskKey(u), Downstream: taskKey(d)}
	if !rec.edgeSet[e] {
		rec.edgeSet[e] = true
		rec.d.Edges = append(rec.d.Edges, e)
	}
}

// ---- what the analyzer knows about names ----

// timeCall evaluates date and duration constructors.
func timeCall(q string, pos []val, kw map[string]val) (val, bool) {
	switch q {
	case "datetime.datetime", "pendulum.datetime", "airflow.utils.timezone.datetime", "pendulum.DateTime", "datetime.date":
		var parts [6]int
		parts[1], parts[2] = 1, 1
		names := []string{"year", "month", "day", "hour", "minute", "second"}
		for j := range names {
			v, ok := kw[names[j]]
			if j < len(pos) {
				v, ok = pos[j], true
			}
			if !ok {
				continue
			}
			x, ok := v.asInt()
			if !ok {
				return unknown, true
			}
			parts[j] = x
		}
		if parts[0] < 1 || parts[0] > 9999 || parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31 {
			return unknown, true
		}
		return val{k: vTime, t: time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], 0, time.UTC)}, true
	case "pendulum.parse", "datetime.datetime.fromisoformat", "pendulum.from_format":
		if len(pos) > 0 && pos[0].k == vStr {
			for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
				if tm, err := time.Parse(layout, pos[0].s); err == nil {
					return val{k: vTime, t: tm.UTC()}, true
				}
			}
		}
		return unknown, true
	case "datetime.timedelta", "pendulum.duration", "dateutil.relativedelta.relativedelta", "relativedelta", "timedelta":
		d, months := durationOf(kw)
		if len(pos) > 0 {
			if x, ok := pos[0].asInt(); ok {
				d += time.Duration(x) * 24 * time.Hour
			}
		}
		return val{k: vDur, d: d, months: months}, true
	}
	return val{}, false
}

func durationOf(kw map[string]val) (time.Duration, int) {
	var d time.Duration
	months := 0
	units := map[string]time.Duration{"weeks": 7 * 24 * time.Hour, "days": 24 * time.Hour, "hours": time.Hour, "minutes": time.Minute, "seconds": time.Second}
	for k, v := range kw {
		if v.k != vNum {
			continue
		}
		if u, ok := units[k]; ok {
			d += time.Duration(v.n * float64(u))
		}
		switch k {
		case "months":
			months += int(v.n)
		case "years":
			months += 12 * int(v.n)
		}
	}
	return d, months
}

// runtimeCall names the calls whose result differs on every parse.
func runtimeCall(q string) string {
	switch q {
	case "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
		"pendulum.now", "pendulum.today", "pendulum.yesterday", "pendulum.tomorrow", "pendulum.DateTime.now",
		"airflow.utils.dates.days_ago", "airflow.utils.timezone.utcnow", "airflow.utils.timezone.now",
		"time.time", "time.time_ns", "time.monotonic", "uuid.uuid4", "uuid.uuid1", "datetime.now", "days_ago":
		return q
	}
	if strings.HasPrefix(q, "random.") || strings.HasPrefix(q, "secrets.token") {
		return q
	}
	return ""
}

// hazard returns why calling q at parse time is a problem, or "".
func hazard(q string, pos []val) string {
	last := lastSeg(q)
	switch {
	case strings.HasSuffix(q, "Variable.get") || strings.HasSuffix(q, "Variable.get_variable_from_secrets"):
		return "Variable.get() runs on every scheduler parse and queries the metadata database (or secrets backend) each time; use the template {{ var.value.<key> }} or read it inside the task"
	case last == "Connection" && strings.HasPrefix(q, "airflow"), strings.HasSuffix(q, "get_connection"), strings.HasSuffix(q, "get_connection_from_secrets"):
		return q + "() looks up a connection on every scheduler parse; create connections and hooks inside the task"
	case strings.HasSuffix(last, "Hook") && last != "Hook":
		return "constructing " + last + " at parse time opens connection lookups on every scheduler parse; build hooks inside the task's execute or python_callable"
	case strings.HasPrefix(q, "boto3.") || strings.HasPrefix(q, "botocore."):
		return q + "() calls AWS on every scheduler parse; move it into the task"
	case strings.HasPrefix(q, "requests.") || strings.HasPrefix(q, "httpx.") || strings.HasPrefix(q, "urllib.request.") || strings.HasPrefix(q, "urllib3.") || strings.HasPrefix(q, "socket.") || strings.HasPrefix(q, "http.client."):
		return q + "() makes a network call on every scheduler parse; move it into the task"
	case oneOf(q, "psycopg2.connect", "pymysql.connect", "snowflake.connector.connect", "sqlalchemy.create_engine", "pyodbc.connect", "pymongo.MongoClient", "redis.Redis", "cx_Oracle.connect", "oracledb.connect", "MySQLdb.connect"):
		return q + "() opens a database connection on every scheduler parse; move it into the task"
	case oneOf(q, "subprocess.run", "subprocess.check_output", "subprocess.call", "subprocess.Popen", "os.system", "os.popen"):
		return q + "() starts a process on every scheduler parse; move it into the task"
	case q == "time.sleep":
		return "time.sleep() at parse time slows every scheduler parse of this file"
	case oneOf(last, "open", "read_csv", "read_parquet", "read_json") || strings.HasPrefix(q, "fsspec.") || strings.HasPrefix(q, "smart_open."):
		if len(pos) > 0 && pos[0].k == vStr && isRemotePath(pos[0].s) {
			return fmt.Sprintf("%s(%q) reads a remote object on every scheduler parse; ship the file with the DAGs or read it inside the task", q, pos[0].s)
		}
	}
	return ""
}

func isRemotePath(s string) bool {
	for _, p := range []string{"s3://", "s3a://", "gs://", "gcs://", "http://", "https://", "hdfs://", "abfs://", "abfss://", "wasb://", "ftp://", "sftp://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func oneOf(s string, xs ...string) bool {
	for _, x := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
