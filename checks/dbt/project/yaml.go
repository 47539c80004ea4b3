package project

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/parcelflow/conveyor/checks/yamlnode"
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
	if n, why := checkAliases(data, &doc); n != nil {
		pf.Problems = append(pf.Problems, Problem{Path: path, Line: n.Line, Msg: "invalid YAML: " + why})
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
			for _, item := range yamlnode.Mappings(val, "models", bad) {
				if m, ok := parseModelProps(path, item, bad); ok {
					pf.Models = append(pf.Models, m)
				}
			}
		case "sources":
			for _, item := range yamlnode.Mappings(val, "sources", bad) {
				pf.Sources = append(pf.Sources, parseSource(path, item, bad)...)
			}
		case "exposures":
			for _, item := range yamlnode.Mappings(val, "exposures", bad) {
				if e, ok := parseExposure(path, item, bad); ok {
					pf.Exposures = append(pf.Exposures, e)
				}
			}
		case "groups":
			for _, item := range yamlnode.Mappings(val, "groups", bad) {
				name := yamlnode.Scalar(yamlnode.Get(item, "name"))
				if name == "" {
					bad(item, "a group needs a name")
					continue
				}
				pf.Groups[name] = yamlnode.Scalar(yamlnode.Get(yamlnode.Get(item, "owner"), "name"))
			}
		}
	}
	return pf
}

// checkAliases is yamlnode.CheckAliases, skipped for a document whose text
// holds no '*' and so no alias.
func checkAliases(data []byte, doc *yaml.Node) (*yaml.Node, string) {
	if !bytes.ContainsRune(data, '*') {
		return nil, ""
	}
	return yamlnode.CheckAliases(doc)
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
	m := modelProps{Name: yamlnode.Scalar(yamlnode.Get(n, "name")), Path: path, Line: n.Line}
	if m.Name == "" {
		bad(n, "a model entry needs a name")
		return m, false
	}
	m.Config = configKVs(yamlnode.Get(n, "config"))
	for _, k := range []string{"access", "group"} {
		if v := yamlnode.Get(n, k); v != nil {
			m.Config = append([]kv{{Key: k, Value: nodeValue(v), Line: v.Line}}, m.Config...)
		}
	}
	if meta := yamlnode.Get(n, "meta"); meta != nil {
		m.Config = append([]kv{{Key: "meta", Value: nodeValue(meta), Line: meta.Line}}, m.Config...)
	}
	m.Columns = parseColumns(path, yamlnode.Get(n, "columns"), bad)
	m.Constraints = parseConstraints(yamlnode.Get(n, "constraints"), bad)
	m.Tests = parseTests(path, "", testsNode(n), bad)
	m.LatestVersion = yamlnode.Scalar(yamlnode.Get(n, "latest_version"))
	if vs := yamlnode.Get(n, "versions"); vs != nil {
		for _, item := range yamlnode.Mappings(vs, "versions", bad) {
			v := versionProps{V: yamlnode.Scalar(yamlnode.Get(item, "v")), DefinedIn: yamlnode.Scalar(yamlnode.Get(item, "defined_in")), Line: item.Line}
			if v.V == "" {
				bad(item, "model %s: each version needs v", m.Name)
				continue
			}
			v.Config = configKVs(yamlnode.Get(item, "config"))
			if cols := yamlnode.Get(item, "columns"); cols != nil {
				v.HasColumns = true
				for _, c := range cols.Content {
					if inc := yamlnode.Get(c, "include"); inc != nil {
						if s, ok := nodeValue(inc).Strings(); ok {
							v.Include = s
						}
						if ex := yamlnode.Get(c, "exclude"); ex != nil {
							v.Exclude, _ = nodeValue(ex).Strings()
						}
					}
				}
				v.Columns = parseColumns(path, cols, bad)
			}
			v.Constraints = parseConstraints(yamlnode.Get(item, "constraints"), bad)
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
	if t := yamlnode.Get(n, "data_tests"); t != nil {
		return t
	}
	return yamlnode.Get(n, "tests")
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
		if yamlnode.Get(c, "include") != nil || yamlnode.Get(c, "exclude") != nil {
			continue
		}
		name := yamlnode.Scalar(yamlnode.Get(c, "name"))
		if name == "" {
			bad(c, "a column needs a name")
			continue
		}
		col := Column{Name: name, DataType: yamlnode.Scalar(yamlnode.Get(c, "data_type")), Line: c.Line}
		col.Constraints = parseConstraints(yamlnode.Get(c, "constraints"), bad)
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
		t := yamlnode.Scalar(yamlnode.Get(c, "type"))
		if t == "" {
			bad(c, "a constraint needs a type (not_null, unique, primary_key, foreign_key, check)")
			continue
		}
		k := Constraint{Type: t, Expression: yamlnode.Scalar(yamlnode.Get(c, "expression"))}
		if cols := yamlnode.Get(c, "columns"); cols != nil {
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
			if tn := yamlnode.Scalar(yamlnode.Get(t, "test_name")); tn != "" {
				gt.Name, args = tn, t
			} else if len(t.Content) >= 2 {
				gt.Name, args = t.Content[0].Value, t.Content[1]
			}
		}
		if gt.Name == "" {
			bad(t, "a data test is a name or a mapping of one name to its arguments")
			continue
		}
		if a := yamlnode.Get(args, "arguments"); a != nil {
			if cfg := yamlnode.Get(args, "config"); cfg != nil {
				gt.Where = yamlnode.Scalar(yamlnode.Get(cfg, "where"))
			}
			args = a
		}
		if vals := yamlnode.Get(args, "values"); vals != nil {
			gt.Values, _ = nodeValue(vals).Strings()
		}
		gt.To = yamlnode.Scalar(yamlnode.Get(args, "to"))
		gt.Field = yamlnode.Scalar(yamlnode.Get(args, "field"))
		if cn := yamlnode.Scalar(yamlnode.Get(args, "column_name")); cn != "" {
			gt.Column = cn
		}
		if gt.Where == "" {
			gt.Where = yamlnode.Scalar(yamlnode.Get(yamlnode.Get(args, "config"), "where"))
		}
		out = append(out, gt)
	}
	return out
}

func parseSource(path string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) []*Source {
	name := yamlnode.Scalar(yamlnode.Get(n, "name"))
	if name == "" {
		bad(n, "a source needs a name")
		return nil
	}
	schema := yamlnode.Scalar(yamlnode.Get(n, "schema"))
	if schema == "" {
		schema = name
	}
	loadedAt := yamlnode.Scalar(yamlnode.Get(n, "loaded_at_field"))
	fresh := parseFreshness(yamlnode.Get(n, "freshness"))
	if cfg := yamlnode.Get(n, "config"); cfg != nil {
		if f := yamlnode.Get(cfg, "freshness"); f != nil {
			fresh = parseFreshness(f)
		}
		if l := yamlnode.Scalar(yamlnode.Get(cfg, "loaded_at_field")); l != "" {
			loadedAt = l
		}
	}
	var out []*Source
	tables := yamlnode.Get(n, "tables")
	for _, t := range yamlnode.Mappings(tables, "tables", bad) {
		s := &Source{SourceName: name, Name: yamlnode.Scalar(yamlnode.Get(t, "name")), Database: yamlnode.Scalar(yamlnode.Get(n, "database")), Schema: schema,
			Identifier: yamlnode.Scalar(yamlnode.Get(t, "identifier")), Loader: yamlnode.Scalar(yamlnode.Get(n, "loader")), LoadedAtField: loadedAt, Freshness: fresh, Path: path, Line: t.Line}
		if s.Name == "" {
			bad(t, "source %s: a table needs a name", name)
			continue
		}
		if l := yamlnode.Scalar(yamlnode.Get(t, "loaded_at_field")); l != "" {
			s.LoadedAtField = l
		}
		if f := yamlnode.Get(t, "freshness"); f != nil {
			s.Freshness = parseFreshness(f)
		}
		if cfg := yamlnode.Get(t, "config"); cfg != nil {
			if f := yamlnode.Get(cfg, "freshness"); f != nil {
				s.Freshness = parseFreshness(f)
			}
			if l := yamlnode.Scalar(yamlnode.Get(cfg, "loaded_at_field")); l != "" {
				s.LoadedAtField = l
			}
		}
		s.Columns = parseColumns(path, yamlnode.Get(t, "columns"), bad)
		s.Tests = parseTests(path, "", testsNode(t), bad)
		out = append(out, s)
	}
	return out
}

func parseFreshness(n *yaml.Node) *Freshness {
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	f := &Freshness{WarnAfter: period(yamlnode.Get(n, "warn_after")), ErrorAfter: period(yamlnode.Get(n, "error_after"))}
	if f.WarnAfter == "" && f.ErrorAfter == "" {
		return nil
	}
	return f
}

func period(n *yaml.Node) string {
	count, unit := yamlnode.Scalar(yamlnode.Get(n, "count")), yamlnode.Scalar(yamlnode.Get(n, "period"))
	if count == "" || unit == "" {
		return ""
	}
	return count + string(unit[0])
}

func parseExposure(path string, n *yaml.Node, bad func(*yaml.Node, string, ...any)) (*Exposure, bool) {
	e := &Exposure{Name: yamlnode.Scalar(yamlnode.Get(n, "name")), Type: yamlnode.Scalar(yamlnode.Get(n, "type")), Path: path, Line: n.Line}
	if e.Name == "" {
		bad(n, "an exposure needs a name")
		return nil, false
	}
	owner := yamlnode.Get(n, "owner")
	e.Owner = yamlnode.Scalar(yamlnode.Get(owner, "name"))
	e.Team = yamlnode.Scalar(yamlnode.Get(yamlnode.Get(n, "meta"), "team"))
	if e.Team == "" {
		e.Team = yamlnode.Scalar(yamlnode.Get(yamlnode.Get(yamlnode.Get(n, "config"), "meta"), "team"))
	}
	if deps := yamlnode.Get(n, "depends_on"); deps != nil {
		for _, d := range deps.Content {
			f := ScanSQL(path, "{{ "+yamlnode.Scalar(d)+" }}")
			for _, r := range f.Refs {
				r.Line = d.Line
				e.Refs = append(e.Refs, r)
			}
			for _, s := range f.Sources {
				s.Line = d.Line
				e.SrcRefs = append(e.SrcRefs, s)
			}
			if len(f.Refs)+len(f.Sources) == 0 {
				bad(d, "exposure %s: depends_on entries are ref('model') or source('name', 'table'), got %q", e.Name, yamlnode.Scalar(d))
			}
		}
	}
	return e, true
}
