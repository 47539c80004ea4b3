package dbt

import (
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/parcelflow/conveyor/checks/dbt/project"
)

// DAGImpact is an Airflow DAG that runs impacted models.
type DAGImpact struct {
	DagID   string `json:"dag_id"`
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Command string `json:"command"`
	// Models are the impacted models the command selects.
	Models []string `json:"models"`
}

// DbtCommand is a dbt invocation found in a DAG file.
type DbtCommand struct {
	DagID   string
	Path    string
	Line    int
	Command string
	Select  []string
	Exclude []string
}

var (
	// dbt, its global flags (--no-use-colors, --log-format json), then the
	// subcommand: prose that mentions dbt is no command.
	dbtCmdRe   = regexp.MustCompile(`\bdbt(?:\s+--?[A-Za-z][\w-]*(?:[= ][\w./-]+)??)*\s+(?:run|build|test|seed|snapshot|compile|ls|list)\b[^"'\n]*`)
	constRe    = regexp.MustCompile(`(?m)^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*f?["']([^"'\n]*)["']\s*$`)
	interpRe   = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	dagIDRe    = regexp.MustCompile(`(?:dag_id\s*=\s*|\bDAG\(\s*)["']([A-Za-z0-9_.\-]+)["']`)
	dagDecoRe  = regexp.MustCompile(`@dag\([^)]*\)\s*\n\s*def\s+([A-Za-z_][A-Za-z0-9_]*)`)
	cosmosSel  = regexp.MustCompile(`\bselect\s*=\s*\[([^\]]*)\]`)
	cosmosExcl = regexp.MustCompile(`\bexclude\s*=\s*\[([^\]]*)\]`)
	quotedRe   = regexp.MustCompile(`["']([^"']+)["']`)
)

// ScanDAG finds the dbt commands in one Python file: shell commands in
// strings (BashOperator, KubernetesPodOperator arguments) and Cosmos
// RenderConfig select/exclude lists.
func ScanDAG(file string, src []byte) []DbtCommand {
	text := string(src)
	dagID := strings.TrimSuffix(path.Base(file), ".py")
	if m := dagIDRe.FindStringSubmatch(text); m != nil {
		dagID = m[1]
	} else if m := dagDecoRe.FindStringSubmatch(text); m != nil {
		dagID = m[1]
	}
	text = expandConstants(text)
	var out []DbtCommand
	for _, loc := range dbtCmdRe.FindAllStringIndex(text, -1) {
		cmd := strings.TrimSpace(text[loc[0]:loc[1]])
		c := DbtCommand{DagID: dagID, Path: file, Line: lineOf(text, loc[0]), Command: cmd}
		c.Select, c.Exclude = selectorsOf(strings.Fields(cmd))
		out = append(out, c)
	}
	for _, loc := range cosmosSel.FindAllStringSubmatchIndex(text, -1) {
		c := DbtCommand{DagID: dagID, Path: file, Line: lineOf(text, loc[0]), Command: text[loc[0]:loc[1]]}
		for _, q := range quotedRe.FindAllStringSubmatch(text[loc[2]:loc[3]], -1) {
			c.Select = append(c.Select, q[1])
		}
		if ex := cosmosExcl.FindStringSubmatch(text[loc[1]:min(len(text), loc[1]+400)]); ex != nil {
			for _, q := range quotedRe.FindAllStringSubmatch(ex[1], -1) {
				c.Exclude = append(c.Exclude, q[1])
			}
		}
		out = append(out, c)
	}
	return out
}

// expandConstants puts the value of the module's one-line string constants
// in place of their f-string interpolations, so a command built as
// f"{DBT} build --select …" from DBT = "cd … && dbt --no-use-colors" reads
// as the command it runs. Values hold no newline, so lines keep their numbers.
func expandConstants(text string) string {
	if !strings.Contains(text, "{") {
		return text
	}
	consts := map[string]string{}
	for _, m := range constRe.FindAllStringSubmatch(text, -1) {
		consts[m[1]] = m[2]
	}
	if len(consts) == 0 {
		return text
	}
	expand := func(s string) string {
		return interpRe.ReplaceAllStringFunc(s, func(ref string) string {
			if v, ok := consts[ref[1:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
	}
	// Constants may be built from constants (DBT from DBT_DIR): expand
	// until nothing changes, a bounded number of rounds.
	for range len(consts) {
		changed := false
		for name, v := range consts {
			if e := expand(v); e != v {
				consts[name], changed = e, true
			}
		}
		if !changed {
			break
		}
	}
	return expand(text)
}

// selectorsOf reads --select/-s/--models/-m and --exclude arguments.
func selectorsOf(args []string) (sel, excl []string) {
	var cur *[]string
	for _, a := range args {
		switch {
		case a == "--select" || a == "-s" || a == "--models" || a == "-m":
			cur = &sel
		case a == "--exclude":
			cur = &excl
		case strings.HasPrefix(a, "--select=") || strings.HasPrefix(a, "--models="):
			sel = append(sel, a[strings.IndexByte(a, '=')+1:])
			cur = &sel
		case strings.HasPrefix(a, "-"):
			cur = nil
		case cur != nil:
			*cur = append(*cur, a)
		}
	}
	return sel, excl
}

// Selection evaluates dbt node selection syntax against a project.
type Selection struct {
	p        *project.Project
	g        *Graph
	modified map[string]bool
}

// NewSelection prepares selection over p; modified is what state:modified selects.
func NewSelection(p *project.Project, g *Graph, modified map[string]bool) *Selection {
	return &Selection{p: p, g: g, modified: modified}
}

// Select returns the model IDs a command selects. No --select means every model.
func (s *Selection) Select(sel, excl []string) map[string]bool {
	out := map[string]bool{}
	if len(sel) == 0 {
		for id := range s.p.Models {
			out[id] = true
		}
	}
	for _, union := range sel {
		for id := range s.intersection(union) {
			out[id] = true
		}
	}
	for _, union := range excl {
		for id := range s.intersection(union) {
			delete(out, id)
		}
	}
	return out
}

func (s *Selection) intersection(expr string) map[string]bool {
	var acc map[string]bool
	for _, part := range strings.Split(expr, ",") {
		set := s.one(part)
		if acc == nil {
			acc = set
			continue
		}
		for id := range acc {
			if !set[id] {
				delete(acc, id)
			}
		}
	}
	return acc
}

var graphOpRe = regexp.MustCompile(`^(@)?(\d*\+)?(.*?)(\+\d*)?$`)

// one evaluates one selector with its graph operators.
func (s *Selection) one(sel string) map[string]bool {
	m := graphOpRe.FindStringSubmatch(strings.TrimSpace(sel))
	at, up, method, down := m[1] != "", m[2], m[3], m[4]
	base := s.method(method)
	out := map[string]bool{}
	for id := range base {
		out[id] = true
	}
	depth := func(op string) int {
		n, err := strconv.Atoi(strings.Trim(op, "+"))
		if err != nil {
			return -1
		}
		return n
	}
	if up != "" {
		for id := range base {
			for a := range s.walkDepth(s.g.Parents, id, depth(up)) {
				out[a] = true
			}
		}
	}
	if down != "" || at {
		for id := range base {
			for d := range s.walkDepth(s.g.Children, id, depth(down)) {
				out[d] = true
				if at {
					for a := range s.g.Ancestors(d) {
						out[a] = true
					}
				}
			}
		}
	}
	for id := range out {
		if !strings.HasPrefix(id, "model.") {
			delete(out, id)
		}
	}
	return out
}

func (s *Selection) walkDepth(edges map[string][]string, from string, limit int) map[string]bool {
	seen := map[string]bool{}
	frontier := []string{from}
	for d := 0; len(frontier) > 0 && (limit < 0 || d < limit); d++ {
		var next []string
		for _, n := range frontier {
			for _, c := range edges[n] {
				if !seen[c] {
					seen[c] = true
					next = append(next, c)
				}
			}
		}
		frontier = next
	}
	return seen
}

// method evaluates a selector without graph operators.
func (s *Selection) method(sel string) map[string]bool {
	out := map[string]bool{}
	kind, val, hasMethod := strings.Cut(sel, ":")
	if !hasMethod {
		kind, val = "", sel
		if strings.Contains(sel, "/") || strings.HasSuffix(sel, ".sql") {
			kind = "path"
		}
	}
	for id, m := range s.p.Models {
		var ok bool
		switch kind {
		case "", "fqn":
			ok = globMatch(val, m.Name) || globMatch(val, strings.Join(m.FQN, ".")) || len(m.FQN) > 1 && globMatch(val, strings.Join(m.FQN[1:], ".")) ||
				fqnPrefix(m.FQN, val)
		case "path", "file":
			rel := strings.TrimPrefix(m.Path, s.p.Dir+"/")
			val = strings.TrimSuffix(strings.TrimPrefix(val, "./"), "/")
			ok = rel == val || strings.HasPrefix(rel, val+"/") || globMatch(val, rel) || path.Base(rel) == val
		case "tag":
			for _, t := range m.Tags {
				ok = ok || globMatch(val, t)
			}
		case "config.materialized":
			ok = m.Materialized == val
		case "group":
			ok = m.Group == val
		case "access":
			ok = m.Access == val
		case "version":
			ok = val == "latest" && m.Version != "" && m.Version == m.LatestVersion || m.Version == val
		case "state":
			ok = (val == "modified" || strings.HasPrefix(val, "modified.") || val == "new") && s.modified[id]
		case "source":
			src, tbl, _ := strings.Cut(val, ".")
			for _, r := range m.SourceRefs {
				ok = ok || globMatch(src, r.Source) && (tbl == "" || globMatch(tbl, r.Table))
			}
		case "resource_type":
			ok = val == "model"
		}
		if ok {
			out[id] = true
		}
	}
	if kind == "source" {
		// source:x+ selects the models downstream of the source's tables
		for id, src := range s.p.Sources {
			name, tbl, _ := strings.Cut(val, ".")
			if globMatch(name, src.SourceName) && (tbl == "" || globMatch(tbl, src.Name)) {
				out[id] = true
			}
		}
	}
	return out
}

// fqnPrefix matches "staging" or "marts.finance" against a model's folders.
func fqnPrefix(fqn []string, val string) bool {
	parts := strings.Split(val, ".")
	if len(fqn) < 2 || len(parts) >= len(fqn) {
		return false
	}
	for i, p := range parts {
		if fqn[i+1] != p && !(i == 0 && fqn[0] == p) {
			return false
		}
	}
	return true
}

func globMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return pattern == s
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// DAGsFor returns the DAGs whose dbt commands select impacted models.
func DAGsFor(cmds []DbtCommand, sel *Selection, impacted map[string]bool) []DAGImpact {
	var out []DAGImpact
	for _, c := range cmds {
		var hit []string
		for id := range sel.Select(c.Select, c.Exclude) {
			if impacted[id] {
				hit = append(hit, id)
			}
		}
		if len(hit) == 0 {
			continue
		}
		sort.Strings(hit)
		out = append(out, DAGImpact{DagID: c.DagID, Path: c.Path, Line: c.Line, Command: c.Command, Models: hit})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DagID < out[j].DagID })
	return out
}

// RemovedSelected reports DAG commands that select a removed model by name.
func RemovedSelected(cmds []DbtCommand, base, head *project.Project) []Finding {
	var out []Finding
	for _, c := range cmds {
		for _, s := range append(append([]string(nil), c.Select...), c.Exclude...) {
			for _, part := range strings.Split(s, ",") {
				m := graphOpRe.FindStringSubmatch(strings.TrimSpace(part))
				name := m[3]
				if strings.Contains(name, ":") || strings.Contains(name, "/") || strings.ContainsAny(name, "*?") {
					continue
				}
				if len(base.ModelsByName(name)) > 0 && len(head.ModelsByName(name)) == 0 {
					out = append(out, Finding{Rule: RuleRemovedReferenced, Path: c.Path, Line: c.Line,
						Message: "DAG " + c.DagID + " selects " + name + " (`" + c.Command + "`), which this change removes or renames; the task would select nothing"})
				}
			}
		}
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
