package airflow

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Analyzer parses DAG files and the helper modules they import from the same
// repo. It keeps one tree-sitter parser and a cache of helper modules, so it
// is not safe for concurrent use: give each goroutine its own and Close it.
type Analyzer struct {
	pp    *pyParser
	read  func(path string) ([]byte, error)
	trees map[string]*ptree
	miss  map[string]bool
	py    int // minor version of the Python 3 the files must compile under
	// nodes is the node array of the file being analyzed, reused from file
	// to file: nothing in a FileResult points into a tree. Imported modules
	// are cached in trees and get arrays of their own.
	nodes []pnode
}

// DefaultPythonVersion is the Python whose syntax rules apply when none is
// configured: the runtime of MWAA's Airflow 2 environments, and the stricter
// side of the 3.12 change to f-strings.
const DefaultPythonVersion = "3.11"

// NewAnalyzer returns an analyzer that reads imported sibling modules with
// read (nil: imports of repo modules stay unresolved). Its syntax check
// follows DefaultPythonVersion until SetPythonVersion says otherwise.
func NewAnalyzer(read func(path string) ([]byte, error)) *Analyzer {
	py, _ := pythonMinor(DefaultPythonVersion)
	return &Analyzer{pp: newPyParser(), read: read, trees: map[string]*ptree{}, miss: map[string]bool{}, py: py}
}

// SetPythonVersion sets the Python 3 release ("3.12") the files run under.
// Syntax differs between releases (3.12 accepts `f"{"a"}"`, which 3.11
// rejects), so the syntax check follows the runtime the DAGs really get.
func (a *Analyzer) SetPythonVersion(v string) error {
	py, err := pythonMinor(v)
	if err != nil {
		return err
	}
	a.py = py
	return nil
}

// pythonMinor parses "3.11" (or "3.11.7") into 11.
func pythonMinor(v string) (int, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "3.")
	if !ok {
		return 0, fmt.Errorf("python version %q: expected a Python 3 release like \"3.11\"", v)
	}
	minor, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(minor)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("python version %q: expected a Python 3 release like \"3.11\"", v)
	}
	return n, nil
}

// Close frees the parser.
func (a *Analyzer) Close() { a.pp.close() }

// ParseFile analyzes one Python file on its own: the DAGs it defines and the
// findings that need only this file. Names imported from other modules of the
// repo stay unknown; use an Analyzer with a reader to follow them.
func ParseFile(path string, src []byte) FileResult {
	a := NewAnalyzer(nil)
	defer a.Close()
	return a.File(path, src)
}

// File analyzes one Python file.
func (a *Analyzer) File(file string, src []byte) FileResult {
	res := FileResult{Path: file, SyntaxOK: true, DAGs: []*DAG{}, Findings: []Finding{}}
	t := a.pp.parse(src, a.nodes)
	a.nodes = t.nodes
	if f, ok := syntaxError(file, t, a.py); ok {
		res.SyntaxOK = false
		res.Findings = append(res.Findings, f)
	}
	m := &module{name: strings.TrimSuffix(path.Base(file), ".py"), path: file, t: t, globals: newEnv(nil)}
	in := &interp{an: a, main: m, cur: m, res: &res, seen: map[string]int{}, loading: map[string]bool{file: true},
		recs: map[*DAG]*dagRec{}, owner: map[*Task]*dagRec{}}
	in.execBlock(0, m.globals, &ctx{site: -1})
	in.finish()
	fileRules(in, t)
	sort.SliceStable(res.Findings, func(x, y int) bool {
		fx, fy := res.Findings[x], res.Findings[y]
		if fx.Line != fy.Line {
			return fx.Line < fy.Line
		}
		return fx.Column < fy.Column
	})
	return res
}

// resolve finds the file of a module imported by importer: relative imports
// from the importer's package, absolute ones from each folder above it (the
// DAGs folder and the repo root are both on sys.path in MWAA).
func (a *Analyzer) resolve(importer, mod string, level int) (string, *ptree) {
	rel := strings.ReplaceAll(mod, ".", "/")
	var bases []string
	dir := path.Dir(importer)
	if level > 0 {
		for j := 1; j < level; j++ {
			dir = path.Dir(dir)
		}
		bases = []string{dir}
	} else {
		for d := dir; ; d = path.Dir(d) {
			bases = append(bases, d)
			if d == "." || d == "/" || d == "" {
				break
			}
		}
	}
	for _, b := range bases {
		for _, cand := range []string{rel + ".py", rel + "/__init__.py"} {
			p := path.Clean(path.Join(b, cand))
			if rel == "" {
				p = path.Clean(path.Join(b, "__init__.py"))
			}
			if t := a.tree(p); t != nil {
				return p, t
			}
		}
	}
	return "", nil
}

func (a *Analyzer) tree(p string) *ptree {
	if t, ok := a.trees[p]; ok {
		return t
	}
	if a.miss[p] || a.read == nil {
		return nil
	}
	src, err := a.read(p)
	if err != nil {
		a.miss[p] = true
		return nil
	}
	t := a.pp.parse(src, nil)
	a.trees[p] = t
	return t
}

// finish turns the interpreter's records into the file's DAG list and the
// findings that need a whole DAG: duplicate task_ids and cycles.
func (in *interp) finish() {
	var kept []*dagRec
	byID := map[string][]*dagRec{}
	for _, r := range in.dags {
		dup := false
		for _, k := range byID[r.d.DagID] {
			if r.d.DagID == "" {
				break
			}
			if exclusive(r.branches, k.branches) {
				dup = true // the same DAG declared in two arms of an if
			}
		}
		if !dup {
			kept = append(kept, r)
			byID[r.d.DagID] = append(byID[r.d.DagID], r)
		}
	}
	for _, r := range kept {
		d := r.d
		in.res.DAGs = append(in.res.DAGs, d)
		seen := map[string]*Task{}
		for _, tk := range d.Tasks {
			if tk.TaskID == "" {
				continue
			}
			if prev, ok := seen[tk.TaskID]; ok && !exclusive(r.taskBr[tk], r.taskBr[prev]) {
				in.addDagFinding(d, RuleDuplicateTaskID, argPos{tk.Line, tk.col, tk.Line, tk.col}, d.DagID,
					fmt.Sprintf("task_id %q is already used in DAG %s at line %d; Airflow refuses to load the file (DuplicateTaskIdFound)", tk.TaskID, dagName(d), prev.Line))
				continue
			}
			seen[tk.TaskID] = tk
		}
		if cyc := findCycle(d); len(cyc) > 0 {
			line := d.Line
			if tk := seen[cyc[0]]; tk != nil {
				line = tk.Line
			}
			in.addDagFinding(d, RuleCycle, argPos{line, 1, line, 1}, d.DagID,
				fmt.Sprintf("DAG %s has a dependency cycle: %s; Airflow refuses to load it", dagName(d), strings.Join(cyc, " >> ")))
		}
	}
	for _, fd := range in.dagFns {
		if !fd.called {
			p := in.pos(fd.dagDeco.node, nil)
			in.addFinding(RuleDagDecoratorUnused, p, fd.name,
				fmt.Sprintf("@dag function %s() is never called, so Airflow registers no DAG from it; add `%s()` at module level", fd.name, fd.name))
		}
	}
}

func dagName(d *DAG) string {
	if d.DagID != "" {
		return d.DagID
	}
	return d.IDPattern
}

// exclusive reports whether two places are in different arms of one if.
func exclusive(a, b []branch) bool {
	for _, x := range a {
		for _, y := range b {
			if x.ifNode == y.ifNode && x.arm != y.arm {
				return true
			}
		}
	}
	return false
}

// findCycle returns one dependency cycle of d as a task path, or nil.
func findCycle(d *DAG) []string {
	adj := map[string][]string{}
	for _, e := range d.Edges {
		adj[e.Upstream] = append(adj[e.Upstream], e.Downstream)
	}
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var stack []string
	var cyc []string
	var visit func(n string) bool
	visit = func(n string) bool {
		state[n] = 1
		stack = append(stack, n)
		for _, m := range adj[n] {
			switch state[m] {
			case 1:
				for j, s := range stack {
					if s == m {
						cyc = append(append([]string{}, stack[j:]...), m)
						return true
					}
				}
			case 0:
				if visit(m) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = 2
		return false
	}
	for _, e := range d.Edges {
		if state[e.Upstream] == 0 && visit(e.Upstream) {
			return cyc
		}
	}
	return nil
}
