package project

import (
	"sort"
	"strings"
)

// The config defaults dbt writes into every model node of manifest.json. The
// parser fills them in too, so a project read from its files and dbt's
// manifest of the same files compare equal, and selectors such as
// access:protected match a model that never spelled its access out.
const (
	DefaultAccess         = "protected"
	DefaultOnSchemaChange = "ignore"
)

// normalize gives a parsed and a manifest-read project one shape: dbt's
// defaults filled in and empty lists nil. The manifest writes "[]" and
// defaults where the YAML says nothing, and neither may read as a change.
func (p *Project) normalize() {
	for _, m := range p.Models {
		if m.Access == "" {
			m.Access = DefaultAccess
		}
		if m.OnSchemaChange == "" {
			m.OnSchemaChange = DefaultOnSchemaChange
		}
		m.Constraints = nilIfEmpty(m.Constraints)
		m.Columns = normalizeColumns(m.Columns)
		m.Tags = nilIfEmpty(m.Tags)
		m.UniqueKey = nilIfEmpty(m.UniqueKey)
		m.Tests = nilIfEmpty(m.Tests)
	}
	for _, s := range p.Sources {
		s.Columns = normalizeColumns(s.Columns)
	}
}

func normalizeColumns(cols []Column) []Column {
	if len(cols) == 0 {
		return nil
	}
	for i := range cols {
		cols[i].Constraints = nilIfEmpty(cols[i].Constraints)
		cols[i].Tests = nilIfEmpty(cols[i].Tests)
	}
	return cols
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Locate fills in the lines a manifest does not carry (where a model,
// version, column, source or exposure is declared in its YAML) by reading the
// files the manifest names from tree, so findings on a manifest-read project
// point at the same lines as on a parsed one. Files that are missing or do
// not parse are left alone: the lines then default to the top of the file.
func (p *Project) Locate(tree Tree) {
	if p.Origin != "manifest" {
		return
	}
	files := map[string]*propsFile{}
	props := func(path string) *propsFile {
		if path == "" {
			return nil
		}
		if pf, ok := files[path]; ok {
			return pf
		}
		var pf *propsFile
		if data, err := tree.ReadFile(path); err == nil {
			pf = ParseProperties(path, data)
		}
		files[path] = pf
		return pf
	}
	for _, m := range p.Models {
		pf := props(m.PatchPath)
		if pf == nil {
			continue
		}
		for i := range pf.Models {
			mp := &pf.Models[i]
			if mp.Name != m.Name {
				continue
			}
			m.PatchLine = mp.Line
			cols := map[string]Column{}
			for _, c := range mp.Columns {
				cols[strings.ToLower(c.Name)] = c
			}
			tests := mp.Tests
			for _, v := range mp.Versions {
				if v.V != m.Version {
					continue
				}
				m.PatchLine = v.Line
				for _, c := range v.Columns {
					cols[strings.ToLower(c.Name)] = c
				}
				tests = append(append([]GenericTest(nil), tests...), v.Tests...)
			}
			for j := range m.Columns {
				c := &m.Columns[j]
				yc := cols[strings.ToLower(c.Name)]
				c.Line = yc.Line
				locateTests(c.Tests, yc.Tests)
			}
			locateTests(m.Tests, tests)
		}
	}
	for _, s := range p.Sources {
		if pf := props(s.Path); pf != nil {
			for _, ys := range pf.Sources {
				if ys.SourceName == s.SourceName && ys.Name == s.Name {
					s.Line = ys.Line
				}
			}
		}
	}
	for _, e := range p.Exposures {
		if pf := props(e.Path); pf != nil {
			for _, ye := range pf.Exposures {
				if ye.Name != e.Name {
					continue
				}
				e.Line = ye.Line
				// The manifest's refs carry no line; take each from the YAML.
				for i := range e.Refs {
					for _, yr := range ye.Refs {
						if sameRef(e.Refs[i], yr) {
							e.Refs[i].Line = yr.Line
							break
						}
					}
				}
			}
		}
	}
}

// locateTests gives each test the line of the YAML test of the same name and
// column, and puts them back in the YAML's order.
func locateTests(tests, yaml []GenericTest) {
	pos := make([]int, len(tests))
	for i := range tests {
		pos[i] = len(yaml)
		for k, y := range yaml {
			if y.Name == tests[i].Name && y.Column == tests[i].Column {
				tests[i].Line, pos[i] = y.Line, k
				break
			}
		}
	}
	sort.Stable(byPos{tests, pos})
}

type byPos struct {
	tests []GenericTest
	pos   []int
}

func (b byPos) Len() int           { return len(b.tests) }
func (b byPos) Less(i, j int) bool { return b.pos[i] < b.pos[j] }
func (b byPos) Swap(i, j int) {
	b.tests[i], b.tests[j] = b.tests[j], b.tests[i]
	b.pos[i], b.pos[j] = b.pos[j], b.pos[i]
}

func sameRef(a, b Ref) bool {
	return a.Name == b.Name && a.Version == b.Version && (a.Package == b.Package || a.Package == "" || b.Package == "")
}
