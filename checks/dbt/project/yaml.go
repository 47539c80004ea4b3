package project

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// kv is one config key with its value, in declaration order.
type kv struct {
	Key   string
	Value Value
	Line  int
}

type modelProps struct {
	Name          string
	Path          string
	Line          int
	Config        []kv
	Columns       []Column
	Constraints   []Constraint
	Tests         []GenericTest
	LatestVersion string
	Versions      []versionProps
}

type versionProps struct {
	V           string
	DefinedIn   string
	Line        int
	Config      []kv
	HasColumns  bool
	Include     []string // nil or ["all"] means all
	Exclude     []string
	Columns     []Column
	Constraints []Constraint
	Tests       []GenericTest
}

type propsFile struct {
	Models    []modelProps
	Sources   []*Source
	Exposures []*Exposure
	Groups    map[string]string
	Problems  []Problem
}

// ParseProperties reads one properties YAML file (models, sources, exposures,
// groups). Problems are returned with the file and line, never as a panic or
// a silent skip.
func ParseProperties(path string, data []byte) *propsFile {
	pf := &propsFile{Groups: map[string]string{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pf.Problems = append(pf.Problems, Problem{Path: path, Line: yamlErrLine(err), Msg: "invalid YAML: " + yamlErrMsg(err)})
		return pf
	}
	if len(doc.Content) == 0 {
		return pf
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		pf.Problems = append(pf.Problems, Problem{Path: path, Line: root.Line, Msg: "a properties file is a mapping with models, sources or exposures"})
		return pf
	}
	bad := func(n *yaml.Node, format string, args ...any) {
		pf.Problems = append(pf.Problems, Problem{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
	}
	for k := 0; k+1 < len(root.Content); k += 2 {
		key, val := root.Content[k].Value, root.Content[k+1]
		switch key {
		case "models":
			for _, item := range seqItems(val, bad, "models") {
				if m, ok := parseModelProps(path, item, bad); ok {
					pf.Models = append(pf.Models, m)
				}
			}
		case "sources":
			for _, item := range seqItems(val, bad, "sources") {
				pf.Sources = append(pf.Sources, parseSource(path, item, bad)...)
			}
		case "exposures":
			for _, item := range seqItems(val, bad, "exposures") {
				if e, ok := parseExposure(path, item, bad); ok {
					pf.Exposures = append(pf.Exposures, e)
				}
			}
		case "groups":
			for _, item := range seqItems(val, bad, "groups") {
				name := scalar(get(item, "name"))
				if name == "" {
					bad(item, "a group needs a name")
					continue
				}
				pf.Groups[name] = scalar(get(get(item, "owner"), "name"))
			}
		}
	}
	return pf
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 1
}

func yamlErrMsg(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func seqItems(n *yaml.Node, bad func(*yaml.Node, string, ...any), what string) []*yaml.Node {
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad(n, "%s must be a list", what)
		return nil
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			bad(item, "each entry of %s must be a mapping", what)
			continue
		}
		out = append(out, item)
	}
	return out
}

// get returns the value of key in a mapping node, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value == key {
			return n.Content[k+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// nodeValue converts YAML into the same Value the Jinja scanner yields, so
// config from either place is applied by one function.
func nodeValue(n *yaml.Node) Value {
	if n == nil {
		return Value{Kind: "none"}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!bool":
			return Value{Kind: "bool", Bool: strings.EqualFold(n.Value, "true") || n.Value == "yes" || n.Value == "on", Raw: n.Value}
		case "!!int", "!!float":
			return Value{Kind: "number", Str: n.Value, Raw: n.Value}
		case "!!null":
			return Value{Kind: "none", Raw: n.Value}
		}
		return Value{Kind: "string", Str: n.Value, Raw: n.Value}
	case yaml.SequenceNode:
		v := Value{Kind: "list"}
		for _, c := range n.Content {
			v.List = append(v.List, nodeValue(c))
		}
		return v
	case yaml.MappingNode:
		v := Value{Kind: "dict", Dict: map[string]Value{}}
		for k := 0; k+1 < len(n.Content); k += 2 {
			v.Dict[n.Content[k].Value] = nodeValue(n.Content[k+1])
		}
		return v
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	}
	return Value{Kind: "expr"}
}

func configKVs(n *yaml.Node) []kv {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []kv
	for k := 0; k+1 < len(n.Content); k += 2 {
		out = append(out, kv{Key: strings.TrimPrefix(n.Content[k].Value, "+"), Value: nodeValue(n.Content[k+1]), Line: n.Content[k].Line})
	}
	return out
}

func parseModelProps(path string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) (modelProps, bool) {
	m := modelProps{Name: scalar(get(n, "name")), Path: path, Line: n.Line}
	if m.Name == "" {
		bad(n, "a model entry needs a name")
		return m, false
	}
	m.Config = configKVs(get(n, "config"))
	for _, k := range []string{"access", "group"} {
		if v := get(n, k); v != nil {
			m.Config = append([]kv{{Key: k, Value: nodeValue(v), Line: v.Line}}, m.Config...)
		}
	}
	if meta := get(n, "meta"); meta != nil {
		m.Config = append([]kv{{Key: "meta", Value: nodeValue(meta), Line: meta.Line}}, m.Config...)
	}
	m.Columns = parseColumns(path, get(n, "columns"), bad)
	m.Constraints = parseConstraints(get(n, "constraints"), bad)
	m.Tests = parseTests(path, "", testsNode(n), bad)
	m.LatestVersion = scalar(get(n, "latest_version"))
	if vs := get(n, "versions"); vs != nil {
		for _, item := range seqItems(vs, bad, "versions") {
			v := versionProps{V: scalar(get(item, "v")), DefinedIn: scalar(get(item, "defined_in")), Line: item.Line}
			if v.V == "" {
				bad(item, "model %s: each version needs v", m.Name)
				continue
			}
			v.Config = configKVs(get(item, "config"))
			if cols := get(item, "columns"); cols != nil {
				v.HasColumns = true
				for _, c := range cols.Content {
					if inc := get(c, "include"); inc != nil {
						if s, ok := nodeValue(inc).Strings(); ok {
							v.Include = s
						}
						if ex := get(c, "exclude"); ex != nil {
							v.Exclude, _ = nodeValue(ex).Strings()
						}
					}
				}
				v.Columns = parseColumns(path, cols, bad)
			}
			v.Constraints = parseConstraints(get(item, "constraints"), bad)
			v.Tests = parseTests(path, "", testsNode(item), bad)
			m.Versions = append(m.Versions, v)
		}
		if m.LatestVersion == "" {
			for _, v := range m.Versions {
				if m.LatestVersion == "" || versionLess(m.LatestVersion, v.V) {
					m.LatestVersion = v.V
				}
			}
		}
	}
	return m, true
}

// versionLess orders versions numerically when both are numbers.
func versionLess(a, b string) bool {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		return fa < fb
	}
	return a < b
}

func testsNode(n *yaml.Node) *yaml.Node {
	if t := get(n, "data_tests"); t != nil {
		return t
	}
	return get(n, "tests")
}

func parseColumns(path string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) []Column {
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad(n, "columns must be a list")
		return nil
	}
	var out []Column
	for _, c := range n.Content {
		if get(c, "include") != nil || get(c, "exclude") != nil {
			continue
		}
		name := scalar(get(c, "name"))
		if name == "" {
			bad(c, "a column needs a name")
			continue
		}
		col := Column{Name: name, DataType: scalar(get(c, "data_type")), Line: c.Line}
		col.Constraints = parseConstraints(get(c, "constraints"), bad)
		col.Tests = parseTests(path, name, testsNode(c), bad)
		out = append(out, col)
	}
	return out
}

func parseConstraints(n *yaml.Node, bad func(*yaml.Node, string, ...any)) []Constraint {
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad(n, "constraints must be a list")
		return nil
	}
	var out []Constraint
	for _, c := range n.Content {
		t := scalar(get(c, "type"))
		if t == "" {
			bad(c, "a constraint needs a type (not_null, unique, primary_key, foreign_key, check)")
			continue
		}
		k := Constraint{Type: t, Expression: scalar(get(c, "expression"))}
		if cols := get(c, "columns"); cols != nil {
			k.Columns, _ = nodeValue(cols).Strings()
		}
		out = append(out, k)
	}
	return out
}

func parseTests(path, column string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) []GenericTest {
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		bad(n, "data_tests must be a list")
		return nil
	}
	var out []GenericTest
	for _, t := range n.Content {
		gt := GenericTest{Column: column, Path: path, Line: t.Line}
		var args *yaml.Node
		switch t.Kind {
		case yaml.ScalarNode:
			gt.Name = t.Value
		case yaml.MappingNode:
			if tn := scalar(get(t, "test_name")); tn != "" {
				gt.Name, args = tn, t
			} else if len(t.Content) >= 2 {
				gt.Name, args = t.Content[0].Value, t.Content[1]
			}
		}
		if gt.Name == "" {
			bad(t, "a data test is a name or a mapping of one name to its arguments")
			continue
		}
		if a := get(args, "arguments"); a != nil {
			if cfg := get(args, "config"); cfg != nil {
				gt.Where = scalar(get(cfg, "where"))
			}
			args = a
		}
		if vals := get(args, "values"); vals != nil {
			gt.Values, _ = nodeValue(vals).Strings()
		}
		gt.To = scalar(get(args, "to"))
		gt.Field = scalar(get(args, "field"))
		if cn := scalar(get(args, "column_name")); cn != "" {
			gt.Column = cn
		}
		if gt.Where == "" {
			gt.Where = scalar(get(get(args, "config"), "where"))
		}
		out = append(out, gt)
	}
	return out
}

func parseSource(path string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) []*Source {
	name := scalar(get(n, "name"))
	if name == "" {
		bad(n, "a source needs a name")
		return nil
	}
	schema := scalar(get(n, "schema"))
	if schema == "" {
		schema = name
	}
	loadedAt := scalar(get(n, "loaded_at_field"))
	fresh := parseFreshness(get(n, "freshness"))
	if cfg := get(n, "config"); cfg != nil {
		if f := get(cfg, "freshness"); f != nil {
			fresh = parseFreshness(f)
		}
		if l := scalar(get(cfg, "loaded_at_field")); l != "" {
			loadedAt = l
		}
	}
	var out []*Source
	tables := get(n, "tables")
	for _, t := range seqItems(tables, bad, "tables") {
		s := &Source{SourceName: name, Name: scalar(get(t, "name")), Database: scalar(get(n, "database")), Schema: schema,
			Identifier: scalar(get(t, "identifier")), Loader: scalar(get(n, "loader")), LoadedAtField: loadedAt, Freshness: fresh, Path: path, Line: t.Line}
		if s.Name == "" {
			bad(t, "source %s: a table needs a name", name)
			continue
		}
		if l := scalar(get(t, "loaded_at_field")); l != "" {
			s.LoadedAtField = l
		}
		if f := get(t, "freshness"); f != nil {
			s.Freshness = parseFreshness(f)
		}
		if cfg := get(t, "config"); cfg != nil {
			if f := get(cfg, "freshness"); f != nil {
				s.Freshness = parseFreshness(f)
			}
			if l := scalar(get(cfg, "loaded_at_field")); l != "" {
				s.LoadedAtField = l
			}
		}
		s.Columns = parseColumns(path, get(t, "columns"), bad)
		s.Tests = parseTests(path, "", testsNode(t), bad)
		out = append(out, s)
	}
	return out
}

func parseFreshness(n *yaml.Node) *Freshness {
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	f := &Freshness{WarnAfter: period(get(n, "warn_after")), ErrorAfter: period(get(n, "error_after"))}
	if f.WarnAfter == "" && f.ErrorAfter == "" {
		return nil
	}
	return f
}

func period(n *yaml.Node) string {
	count, unit := scalar(get(n, "count")), scalar(get(n, "period"))
	if count == "" || unit == "" {
		return ""
	}
	return count + string(unit[0])
}

func parseExposure(path string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) (*Exposure, bool) {
	e := &Exposure{Name: scalar(get(n, "name")), Type: scalar(get(n, "type")), Path: path, Line: n.Line}
	if e.Name == "" {
		bad(n, "an exposure needs a name")
		return nil, false
	}
	owner := get(n, "owner")
	e.Owner = scalar(get(owner, "name"))
	e.Team = scalar(get(get(n, "meta"), "team"))
	if e.Team == "" {
		e.Team = scalar(get(get(get(n, "config"), "meta"), "team"))
	}
	if deps := get(n, "depends_on"); deps != nil {
		for _, d := range deps.Content {
			f := ScanSQL(path, "{{ "+scalar(d)+" }}")
			for _, r := range f.Refs {
				r.Line = d.Line
				e.Refs = append(e.Refs, r)
			}
			for _, s := range f.Sources {
				s.Line = d.Line
				e.SrcRefs = append(e.SrcRefs, s)
			}
			if len(f.Refs)+len(f.Sources) == 0 {
				bad(d, "exposure %s: depends_on entries are ref('model') or source('name', 'table'), got %q", e.Name, scalar(d))
			}
		}
	}
	return e, true
}
