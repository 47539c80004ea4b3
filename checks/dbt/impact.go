package dbt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/parcelflow/conveyor/checks/dbt/project"
)

// Change statuses of a node between base and head.
const (
	StatusNew      = "new"
	StatusRemoved  = "removed"
	StatusModified = "modified"
)

// NodeChange is one model or source that differs between base and head.
type NodeChange struct {
	UniqueID string `json:"unique_id"`
	Status   string `json:"status"`
	// Reasons say what changed: body, config, contract, relation, columns, macro:<name>.
	Reasons []string `json:"reasons,omitempty"`
	Path    string   `json:"path"`
}

// Impact is the blast radius of a change, like dbt's state:modified+.
type Impact struct {
	// Modified holds the IDs of models that are new, removed or modified.
	Modified []string `json:"modified"`
	// Downstream holds the IDs of models downstream of a change that did not change themselves.
	Downstream []string `json:"downstream"`
	// Order lists every impacted model that exists in head, parents before children.
	Order   []string     `json:"order"`
	Changes []NodeChange `json:"changes"`
	// Sources holds the IDs of changed sources.
	Sources []string `json:"sources"`
	// Seeds holds the IDs of new, changed or removed seeds and snapshots:
	// the models that ref them are downstream, as with dbt's state:modified+.
	Seeds     []string    `json:"seeds"`
	Exposures []string    `json:"exposures"`
	DAGs      []DAGImpact `json:"dags"`
}

// Graph is a project's parent and child maps over models, sources, seeds and exposures.
type Graph struct {
	Parents  map[string][]string
	Children map[string][]string
}

// NewGraph builds the graph of p.
func NewGraph(p *project.Project) *Graph {
	g := &Graph{Parents: map[string][]string{}, Children: map[string][]string{}}
	add := func(child string, parents []string) {
		g.Parents[child] = parents
		for _, par := range parents {
			g.Children[par] = append(g.Children[par], child)
		}
	}
	for _, id := range p.ModelIDs() {
		add(id, p.Models[id].DependsOn)
	}
	for _, s := range p.Seeds {
		var deps []string
		for _, r := range s.Refs {
			if id := p.ResolveRef(r); id != "" {
				deps = append(deps, id)
			}
		}
		add(s.UniqueID, deps)
	}
	for _, e := range p.Exposures {
		add(e.UniqueID, e.DependsOn)
	}
	for k := range g.Children {
		sort.Strings(g.Children[k])
	}
	return g
}

// Descendants returns every node reachable from ids through children (ids excluded).
func (g *Graph) Descendants(ids ...string) map[string]bool { return walk(g.Children, ids) }

// Ancestors returns every node reachable from ids through parents (ids excluded).
func (g *Graph) Ancestors(ids ...string) map[string]bool { return walk(g.Parents, ids) }

func walk(edges map[string][]string, from []string) map[string]bool {
	seen := map[string]bool{}
	stack := append([]string(nil), from...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range edges[n] {
			if !seen[c] {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	for _, id := range from {
		delete(seen, id)
	}
	return seen
}

// TopoOrder sorts ids parents first; ties are broken by ID so the order is stable.
func (g *Graph) TopoOrder(ids []string) []string {
	in := map[string]bool{}
	for _, id := range ids {
		in[id] = true
	}
	indeg := map[string]int{}
	for id := range in {
		for _, p := range g.Parents[id] {
			if in[p] {
				indeg[id]++
			}
		}
	}
	var ready []string
	for id := range in {
		if indeg[id] == 0 {
			ready = append(ready, id)
		}
	}
	sort.Strings(ready)
	out := make([]string, 0, len(ids))
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		var next []string
		for _, c := range g.Children[n] {
			if !in[c] {
				continue
			}
			indeg[c]--
			if indeg[c] == 0 {
				next = append(next, c)
			}
		}
		if len(next) > 0 {
			ready = append(ready, next...)
			sort.Strings(ready)
		}
	}
	if len(out) < len(in) { // a cycle: dbt refuses it, keep what is left in ID order
		var rest []string
		for id := range in {
			if !slices.Contains(out, id) {
				rest = append(rest, id)
			}
		}
		sort.Strings(rest)
		out = append(out, rest...)
	}
	return out
}

var configCall = regexp.MustCompile(`(?s)\{\{-?\s*config\s*\(.*?\)\s*-?\}\}`)

// bodyKey is the model's SQL without its config() call and with whitespace
// collapsed: an edit to config or to indentation is not a body change.
func bodyKey(m *project.Model) string {
	return strings.Join(strings.Fields(configCall.ReplaceAllString(m.RawSQL, "")), " ")
}

// contractKey is what a model's contract consists of.
func contractKey(m *project.Model) string {
	type col struct {
		Name, Type string
		C          []project.Constraint
	}
	v := struct {
		Enforced bool
		Cols     []col
		C        []project.Constraint
	}{Enforced: m.ContractEnforced, C: m.Constraints}
	cols := append([]project.Column(nil), m.Columns...)
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name < cols[j].Name })
	for _, c := range cols {
		v.Cols = append(v.Cols, col{c.Name, normType(c.DataType), c.Constraints})
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ContractHash identifies a model's contract (enforcement, columns, types,
// constraints), for binding an approval to one version of it.
func ContractHash(m *project.Model) string {
	sum := sha256.Sum256([]byte(contractKey(m)))
	return hex.EncodeToString(sum[:])
}

// configKey is a model's configuration apart from its contract and
// relation, including the expressions the scanner could not resolve: an
// edit of config(materialized=var('a')) to var('b') is a config change too.
func configKey(m *project.Model) string {
	c := m.Config
	c.ContractEnforced = false
	c.Schema, c.Alias, c.Database = "", "", ""
	c.Tags = append([]string(nil), c.Tags...)
	sort.Strings(c.Tags)
	b, _ := json.Marshal(struct {
		project.Config
		Unknown map[string]string `json:"unknown,omitempty"`
	}{c, m.UnknownConfig})
	return string(b)
}

func normType(t string) string { return strings.ToLower(strings.Join(strings.Fields(t), "")) }

// sameContract is contractKey(a) == contractKey(b) without building the
// keys, for the common case of columns listed in the same order; Diff asks it
// of every model on both sides.
func sameContract(a, b *project.Model) bool {
	if a.ContractEnforced != b.ContractEnforced || len(a.Columns) != len(b.Columns) || !sameConstraints(a.Constraints, b.Constraints) {
		return false
	}
	for i := range a.Columns {
		ca, cb := &a.Columns[i], &b.Columns[i]
		if ca.Name != cb.Name {
			return contractKey(a) == contractKey(b) // another order: the keys sort
		}
		if ca.DataType != cb.DataType && normType(ca.DataType) != normType(cb.DataType) || !sameConstraints(ca.Constraints, cb.Constraints) {
			return false
		}
	}
	return true
}

func sameConstraints(a, b []project.Constraint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Expression != b[i].Expression || !slices.Equal(a[i].Columns, b[i].Columns) {
			return false
		}
	}
	return true
}

// sameConfig is configKey(a) == configKey(b) without building the keys.
// TestSameConfigFollowsConfigKey holds the two together field by field.
func sameConfig(a, b *project.Model) bool {
	x, y := &a.Config, &b.Config
	if x.Materialized != y.Materialized || x.IncrementalStrategy != y.IncrementalStrategy || x.OnSchemaChange != y.OnSchemaChange ||
		x.Access != y.Access || x.Group != y.Group || x.Owner != y.Owner || !slices.Equal(x.UniqueKey, y.UniqueKey) ||
		!maps.Equal(a.UnknownConfig, b.UnknownConfig) {
		return false
	}
	if slices.Equal(x.Tags, y.Tags) {
		return true
	}
	tx, ty := slices.Clone(x.Tags), slices.Clone(y.Tags)
	slices.Sort(tx)
	slices.Sort(ty)
	return slices.Equal(tx, ty)
}

// Diff compares base and head like dbt's state:modified+: new, removed and
// modified models, changed sources, and everything downstream of them.
func Diff(base, head *project.Project) Impact {
	imp := Impact{Modified: []string{}, Downstream: []string{}, Order: []string{}, Changes: []NodeChange{}, Sources: []string{}, Seeds: []string{}, Exposures: []string{}, DAGs: []DAGImpact{}}
	changedMacros := map[string]bool{}
	for id, m := range head.Macros {
		if b, ok := base.Macros[id]; !ok || b.Checksum != m.Checksum {
			changedMacros[id] = true
		}
	}
	for id := range base.Macros {
		if _, ok := head.Macros[id]; !ok {
			changedMacros[id] = true
		}
	}
	for _, id := range head.ModelIDs() {
		h := head.Models[id]
		b, ok := base.Models[id]
		if !ok {
			imp.Changes = append(imp.Changes, NodeChange{UniqueID: id, Status: StatusNew, Path: h.Path})
			continue
		}
		var reasons []string
		if b.Checksum != h.Checksum && bodyKey(b) != bodyKey(h) {
			reasons = append(reasons, "body")
		}
		if !sameConfig(b, h) {
			reasons = append(reasons, "config")
		}
		if !sameContract(b, h) {
			if b.ContractEnforced || h.ContractEnforced {
				reasons = append(reasons, "contract")
			} else {
				reasons = append(reasons, "columns")
			}
		}
		if b.Relation() != h.Relation() || b.Database != h.Database {
			reasons = append(reasons, "relation")
		}
		for _, mac := range h.DependsOnMacros {
			if changedMacros[mac] {
				reasons = append(reasons, "macro:"+project.ShortName(mac))
			}
		}
		if len(reasons) > 0 {
			imp.Changes = append(imp.Changes, NodeChange{UniqueID: id, Status: StatusModified, Reasons: reasons, Path: h.Path})
		}
	}
	for _, id := range base.ModelIDs() {
		if _, ok := head.Models[id]; !ok {
			imp.Changes = append(imp.Changes, NodeChange{UniqueID: id, Status: StatusRemoved, Path: base.Models[id].Path})
		}
	}
	var changedSources []string
	for id, h := range head.Sources {
		b, ok := base.Sources[id]
		if !ok || !sameSource(b, h) {
			changedSources = append(changedSources, id)
		}
	}
	sort.Strings(changedSources)
	imp.Sources = append(imp.Sources, changedSources...)
	for id, h := range head.Seeds {
		if b, ok := base.Seeds[id]; !ok || b.Checksum != h.Checksum {
			imp.Seeds = append(imp.Seeds, id)
		}
	}
	for id := range base.Seeds {
		if _, ok := head.Seeds[id]; !ok {
			imp.Seeds = append(imp.Seeds, id)
		}
	}
	sort.Strings(imp.Seeds)

	hg := NewGraph(head)
	direct := map[string]bool{}
	var roots []string
	for _, c := range imp.Changes {
		direct[c.UniqueID] = true
		imp.Modified = append(imp.Modified, c.UniqueID)
		if c.Status != StatusRemoved {
			roots = append(roots, c.UniqueID)
		}
	}
	sort.Strings(imp.Modified)
	down := hg.Descendants(append(append(roots, changedSources...), imp.Seeds...)...)
	// Children of removed models that still exist in head are downstream too:
	// they now point at nothing.
	var bg *Graph // base's graph is needed only when a model was removed
	for _, c := range imp.Changes {
		if c.Status == StatusRemoved {
			if bg == nil {
				bg = NewGraph(base)
			}
			for id := range bg.Descendants(c.UniqueID) {
				if _, ok := head.Models[id]; ok {
					down[id] = true
				}
				if _, ok := head.Exposures[id]; ok {
					down[id] = true
				}
			}
		}
	}
	var order []string
	for id := range direct {
		if _, ok := head.Models[id]; ok {
			order = append(order, id)
		}
	}
	for id := range down {
		switch {
		case strings.HasPrefix(id, "exposure."):
			imp.Exposures = append(imp.Exposures, id)
		case strings.HasPrefix(id, "model."):
			if !direct[id] {
				imp.Downstream = append(imp.Downstream, id)
				order = append(order, id)
			}
		}
	}
	sort.Strings(imp.Exposures)
	sort.Strings(imp.Downstream)
	imp.Order = hg.TopoOrder(order)
	return imp
}

// sameSource compares two sources as dbt resolves them. A manifest leaves
// out a database equal to its target's, which the files cannot name, so an
// unset database matches any: an explicit `database:` naming the target
// is no change.
func sameSource(a, b *project.Source) bool {
	if a.Database == "" || b.Database == "" {
		a2, b2 := *a, *b
		a2.Database, b2.Database = "", ""
		return sourceKey(&a2) == sourceKey(&b2)
	}
	return sourceKey(a) == sourceKey(b)
}

func sourceKey(s *project.Source) string {
	c := *s
	c.Path, c.Line, c.Tests = "", 0, nil
	cols := append([]project.Column(nil), c.Columns...)
	for i := range cols {
		cols[i].Tests, cols[i].Line = nil, 0
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name < cols[j].Name })
	c.Columns = cols
	b, _ := json.Marshal(c)
	return string(b)
}
