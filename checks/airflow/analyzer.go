package airflow

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// Analyzer parses DAG files and the helper modules they import from the same
// repo. It keeps one tree-sitter parser and a cache of helper modules, so it
// is not safe for concurrent use: give each goroutine its own and Close it.
type Analyzer struct {
	pp    *pyParser
	read  func(path string) ([]byte, error)
	trees map[string]*ptree
	miss  map[string]bool
}

// NewAnalyzer returns an analyzer that reads imported sibling modules with
// read (nil: imports of repo modules stay unresolved).
func NewAnalyzer(read func(path string) ([]byte, error)) *Analyzer {
	return &Analyzer{pp: newPyParser(), read: read, trees: map[string]*ptree{}, miss: map[string]bool{}}
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
	t := a.pp.parse(src)
	if f, ok := syntaxError(file, t); ok {
		res.SyntaxOK = false
		res.Findings = append(res.Findings, f)
	}
	m := &module{name: strings.TrimSuffix(path.Base(file), ".py"), path: file, t: t, globals: newEnv(nil)}
	in := &interp{an: a, main: m, cur: m, res: &res, seen: map[string]bool{}, loading: map[string]bool{file: true},
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
	t := a.pp.parse(src)
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
				in.addFinding(RuleDuplicateTaskID, argPos{tk.Line, tk.col, tk.Line, tk.col}, d.DagID,
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
			in.addFinding(RuleCycle, argPos{line, 1, line, 1}, d.DagID,
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

// syntaxError returns the first syntax error of the file, as CPython would
// reject it: tree-sitter's ERROR and MISSING nodes, plus what its grammar
// accepts but Python 3 does not (print statements, `<>`, return outside a
// function, repeated keyword arguments …).
func syntaxError(file string, t *ptree) (Finding, bool) {
	mk := func(n int32, msg string) (Finding, bool) {
		x := &t.nodes[n]
		return Finding{Rule: RuleSyntax, Level: rule(RuleSyntax).level, File: file, Line: int(x.line), Column: int(x.col),
			EndLine: int(x.eline), EndColumn: int(x.ecol), Message: "SyntaxError: " + msg + "; Airflow cannot import this file, so none of its DAGs load"}, true
	}
	if j := strings.IndexByte(string(t.src), 0); j >= 0 {
		line := strings.Count(string(t.src[:j]), "\n") + 1
		return Finding{Rule: RuleSyntax, Level: rule(RuleSyntax).level, File: file, Line: line, Column: 1, Message: "SyntaxError: source code cannot contain null bytes"}, true
	}
	if !utf8.Valid(t.src) && !hasCodingCookie(t.src) {
		return Finding{Rule: RuleSyntax, Level: rule(RuleSyntax).level, File: file, Line: 1, Column: 1, Message: "SyntaxError: the file is not valid UTF-8 and declares no encoding"}, true
	}
	for n := int32(0); int(n) < len(t.nodes); n++ {
		x := &t.nodes[n]
		switch {
		case x.kind == "ERROR":
			return mk(n, "invalid syntax near "+quoteSnippet(t.text(n)))
		case x.miss:
			return mk(n, fmt.Sprintf("expected %q", x.kind))
		}
		if msg, at := semanticError(t, n); msg != "" {
			return mk(at, msg)
		}
	}
	return Finding{}, false
}

func hasCodingCookie(src []byte) bool {
	lines := strings.SplitN(string(src[:min(len(src), 400)]), "\n", 3)
	for _, l := range lines[:min(2, len(lines))] {
		if strings.HasPrefix(strings.TrimSpace(l), "#") && strings.Contains(l, "coding") {
			return true
		}
	}
	return false
}

func quoteSnippet(s string) string {
	s = strings.TrimSpace(s)
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		s = s[:j]
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// semanticError checks node n for what CPython's compiler rejects after parsing.
func semanticError(t *ptree, n int32) (string, int32) {
	x := &t.nodes[n]
	switch x.kind {
	case "print_statement":
		return "Missing parentheses in call to 'print'", n
	case "exec_statement":
		return "Missing parentheses in call to 'exec'", n
	case "<>":
		return "invalid syntax ('<>' is Python 2; use '!=')", n
	case "except_clause":
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind == "," {
				return "multiple exception types must be parenthesized", n
			}
		}
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind == "as_pattern" {
				for cc := t.nodes[c].first; cc >= 0; cc = t.nodes[cc].next {
					if t.nodes[cc].kind == "," {
						return "multiple exception types must be parenthesized", n
					}
				}
			}
		}
	case "return_statement":
		if !inside(t, n, "function_definition") {
			return "'return' outside function", n
		}
	case "yield":
		if x.named && !inside(t, n, "function_definition", "lambda") {
			return "'yield' outside function", n
		}
	case "await":
		if x.named && !inAsyncFunc(t, n) {
			return "'await' outside async function", n
		}
	case "break_statement", "continue_statement":
		if !inLoop(t, n) {
			word := strings.TrimSuffix(x.kind, "_statement")
			if word == "continue" {
				return "'continue' not properly in loop", n
			}
			return "'break' outside loop", n
		}
	case "nonlocal_statement":
		if !inside(t, n, "function_definition") {
			return "nonlocal declaration not allowed at module level", n
		}
	case "argument_list":
		seenKw := map[string]bool{}
		kwSeen, kwSplat := false, false
		for c := x.first; c >= 0; c = t.nodes[c].next {
			switch t.nodes[c].kind {
			case "keyword_argument":
				name := t.text(t.field(c, "name"))
				if seenKw[name] {
					return fmt.Sprintf("keyword argument repeated: %s", name), n
				}
				seenKw[name] = true
				kwSeen = true
			case "dictionary_splat":
				kwSplat = true
			case "list_splat":
				if kwSplat {
					return "iterable argument unpacking follows keyword argument unpacking", n
				}
			case "(", ")", ",", "comment":
			default:
				if !t.nodes[c].named {
					continue
				}
				if kwSplat {
					return "positional argument follows keyword argument unpacking", n
				}
				if kwSeen {
					return "positional argument follows keyword argument", n
				}
			}
		}
	case "parameters":
		names := map[string]bool{}
		sawDefault, star := false, false
		for c := x.first; c >= 0; c = t.nodes[c].next {
			var name string
			switch t.nodes[c].kind {
			case "identifier":
				name = t.text(c)
				if sawDefault && !star {
					return "non-default argument follows default argument", n
				}
			case "typed_parameter":
				name = t.text(firstNamed(t, c))
				if sawDefault && !star {
					return "non-default argument follows default argument", n
				}
			case "default_parameter", "typed_default_parameter":
				name = t.text(t.field(c, "name"))
				sawDefault = true
			case "list_splat_pattern", "keyword_separator":
				star = true
				if k := firstNamed(t, c); k >= 0 {
					name = t.text(k)
				}
			case "dictionary_splat_pattern":
				if k := firstNamed(t, c); k >= 0 {
					name = t.text(k)
				}
			}
			if name != "" {
				if names[name] {
					return fmt.Sprintf("duplicate argument '%s' in function definition", name), n
				}
				names[name] = true
			}
		}
	case "assignment", "augmented_assignment":
		switch t.kind(t.field(n, "left")) {
		case "true", "false", "none", "integer", "float", "string", "concatenated_string", "call", "binary_operator", "comparison_operator", "boolean_operator", "lambda", "await":
			return "cannot assign to " + t.text(t.field(n, "left")), n
		}
	case "block", "module":
		// tree-sitter accepts a statement indented deeper than its siblings;
		// CPython rejects it ("unexpected indent").
		col, prevEnd := int32(-1), int32(-1)
		for c := x.first; c >= 0; c = t.nodes[c].next {
			cn := &t.nodes[c]
			if !cn.named || cn.kind == "comment" {
				continue
			}
			if cn.line != prevEnd {
				if col < 0 {
					col = cn.col
				} else if cn.col != col {
					return "unexpected indent", c
				}
			}
			prevEnd = cn.eline
		}
	case "expression_statement":
		if k := firstNamed(t, n); k >= 0 && t.kind(k) == "named_expression" {
			return "invalid syntax (an assignment expression needs parentheses as a statement)", n
		}
	}
	return "", n
}

func inside(t *ptree, n int32, kinds ...string) bool {
	for p := t.nodes[n].parent; p >= 0; p = t.nodes[p].parent {
		k := t.nodes[p].kind
		for _, want := range kinds {
			if k == want {
				return true
			}
		}
		if k == "class_definition" && !oneOf("class_definition", kinds...) {
			// A class body is not a function body.
			for q := t.nodes[p].parent; q >= 0; q = t.nodes[q].parent {
				if t.nodes[q].kind == "function_definition" {
					return oneOf("function_definition", kinds...)
				}
			}
			return false
		}
	}
	return false
}

func inAsyncFunc(t *ptree, n int32) bool {
	for p := t.nodes[n].parent; p >= 0; p = t.nodes[p].parent {
		switch t.nodes[p].kind {
		case "function_definition":
			for c := t.nodes[p].first; c >= 0; c = t.nodes[c].next {
				if t.nodes[c].kind == "async" {
					return true
				}
			}
			return false
		case "lambda":
			return false
		}
	}
	return false
}

func inLoop(t *ptree, n int32) bool {
	child := n
	for p := t.nodes[n].parent; p >= 0; child, p = p, t.nodes[p].parent {
		switch t.nodes[p].kind {
		case "for_statement", "while_statement":
			// Only the loop body counts; an else clause is outside the loop.
			return t.nodes[child].field == "body"
		case "function_definition", "class_definition", "lambda":
			return false
		}
	}
	return false
}
