package project

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/parcelflow/conveyor/checks/yamlnode"
)

var snapshotRe = regexp.MustCompile(`{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%}`)

// Tree is the read side of a repo snapshot (checks.Tree satisfies it).
type Tree interface {
	Files() []string
	ReadFile(path string) ([]byte, error)
}

// ErrNoProject is returned when the folder holds no dbt_project.yml.
var ErrNoProject = errors.New("no dbt_project.yml")

// Parser parses dbt projects. It remembers what each file parsed to, so
// parsing head after base re-reads only the files the change touched (as
// dbt's partial parsing does). A Parser is not safe for concurrent use.
type Parser struct {
	sql   map[string]sqlMemo
	props map[string]propsMemo
}

type sqlMemo struct {
	data  []byte
	facts *SQLFacts
	sum   string
}

type propsMemo struct {
	data []byte
	pf   *propsFile
}

// NewParser returns a Parser with an empty memo.
func NewParser() *Parser {
	return &Parser{sql: map[string]sqlMemo{}, props: map[string]propsMemo{}}
}

func (ps *Parser) scanSQL(p string, data []byte) sqlMemo {
	if m, ok := ps.sql[p]; ok && bytes.Equal(m.data, data) {
		return m
	}
	f := ScanSQL(p, string(data))
	sum := sha256.Sum256(data)
	m := sqlMemo{data: data, facts: &f, sum: hex.EncodeToString(sum[:])}
	ps.sql[p] = m
	return m
}

// ScanSQL returns the scan of one .sql file, from the memo when the parser
// has already read the same bytes of it.
func (ps *Parser) ScanSQL(path string, data []byte) *SQLFacts { return ps.scanSQL(path, data).facts }

func (ps *Parser) parseProps(p string, data []byte) *propsFile {
	if m, ok := ps.props[p]; ok && bytes.Equal(m.data, data) {
		return m.pf
	}
	pf := ParseProperties(p, data)
	ps.props[p] = propsMemo{data: data, pf: pf}
	return pf
}

// Parse reads the dbt project in folder dir of tree.
func Parse(tree Tree, dir string) (*Project, error) { return NewParser().Parse(tree, dir) }

// Parse reads the dbt project in folder dir of tree.
func (ps *Parser) Parse(tree Tree, dir string) (*Project, error) {
	dir = strings.Trim(dir, "/")
	if dir == "." {
		dir = ""
	}
	projFile := join(dir, "dbt_project.yml")
	data, err := tree.ReadFile(projFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", projFile, ErrNoProject)
		}
		return nil, fmt.Errorf("reading %s: %w", projFile, err)
	}
	p := &Project{Dir: dir, Origin: "files", ProjectFile: projFile, Models: map[string]*Model{}, Sources: map[string]*Source{},
		Exposures: map[string]*Exposure{}, Macros: map[string]*Macro{}, Seeds: map[string]*Model{}, Groups: map[string]string{}}
	folderCfg := p.readProjectFile(projFile, data)

	under := func(f string, roots []string) (string, bool) {
		for _, r := range roots {
			prefix := join(dir, r) + "/"
			if strings.HasPrefix(f, prefix) {
				return strings.TrimPrefix(f, prefix), true
			}
		}
		return "", false
	}
	type sqlFile struct {
		path, rel string
		memo      sqlMemo
	}
	var modelFiles []sqlFile
	var propFiles []*propsFile
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	for _, f := range tree.Files() {
		if !strings.HasPrefix(f, prefix) || strings.Contains(f, "/target/") || strings.Contains(f, "/dbt_packages/") {
			continue
		}
		isSQL := strings.HasSuffix(f, ".sql")
		isYAML := strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml")
		if !isSQL && !isYAML && !strings.HasSuffix(f, ".csv") {
			continue
		}
		if rel, ok := under(f, p.ModelPaths); ok {
			data, err := tree.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f, err)
			}
			if isSQL {
				modelFiles = append(modelFiles, sqlFile{f, rel, ps.scanSQL(f, data)})
			} else if isYAML {
				propFiles = append(propFiles, ps.parseProps(f, data))
			}
			continue
		}
		if _, ok := under(f, p.MacroPaths); ok {
			data, err := tree.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f, err)
			}
			if isSQL {
				m := ps.scanSQL(f, data)
				p.Unknowns = append(p.Unknowns, m.facts.Unknowns...)
				for _, def := range m.facts.Macros {
					id := "macro." + p.Name + "." + def.Name
					p.Macros[id] = &Macro{UniqueID: id, MacroDef: def, Path: f, Checksum: m.sum}
				}
			} else if isYAML {
				propFiles = append(propFiles, ps.parseProps(f, data))
			}
			continue
		}
		if rel, ok := under(f, p.SeedPaths); ok {
			if strings.HasSuffix(f, ".csv") {
				name := strings.TrimSuffix(path.Base(rel), ".csv")
				id := "seed." + p.Name + "." + name
				// The checksum is what makes a seed modified, as for dbt's state:modified.
				data, err := tree.ReadFile(f)
				if err != nil {
					return nil, fmt.Errorf("reading %s: %w", f, err)
				}
				sum := sha256.Sum256(data)
				p.Seeds[id] = &Model{UniqueID: id, Name: name, Path: f, Checksum: hex.EncodeToString(sum[:]), Config: Config{Materialized: "seed", Enabled: true}}
			} else if isYAML {
				data, _ := tree.ReadFile(f)
				propFiles = append(propFiles, ps.parseProps(f, data))
			}
			continue
		}
		if _, ok := under(f, p.SnapPaths); ok {
			data, err := tree.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", f, err)
			}
			if isYAML {
				propFiles = append(propFiles, ps.parseProps(f, data))
			} else if isSQL {
				memo := ps.scanSQL(f, data)
				for _, m := range snapshotRe.FindAllStringSubmatch(string(data), -1) {
					id := "snapshot." + p.Name + "." + m[1]
					s := &Model{UniqueID: id, Name: m[1], Path: f, Checksum: memo.sum, Config: Config{Materialized: "snapshot", Enabled: true}}
					s.Refs = memo.facts.Refs
					s.SourceRefs = memo.facts.Sources
					p.Seeds[id] = s
				}
			}
		}
	}

	// Index properties by model name; sources, exposures and groups go straight in.
	props := map[string]*modelProps{}
	byFile := map[string]*modelProps{} // versioned model file name → props
	for _, pf := range propFiles {
		p.Problems = append(p.Problems, pf.Problems...)
		for i := range pf.Models {
			mp := &pf.Models[i]
			if prev, dup := props[mp.Name]; dup {
				p.Problems = append(p.Problems, Problem{Path: mp.Path, Line: mp.Line, Msg: fmt.Sprintf("model %s is already described in %s:%d", mp.Name, prev.Path, prev.Line)})
				continue
			}
			props[mp.Name] = mp
			for _, v := range mp.Versions {
				file := v.DefinedIn
				if file == "" {
					file = mp.Name + "_v" + v.V
				}
				byFile[file] = mp
			}
		}
		for _, s := range pf.Sources {
			c := *s
			c.UniqueID = "source." + p.Name + "." + s.SourceName + "." + s.Name
			p.Sources[c.UniqueID] = &c
		}
		for _, e := range pf.Exposures {
			c := *e
			c.UniqueID = "exposure." + p.Name + "." + e.Name
			p.Exposures[c.UniqueID] = &c
		}
		for g, o := range pf.Groups {
			p.Groups[g] = o
		}
	}

	seenName := map[string]string{}
	var cfgUnknowns []Unknown
	for _, mf := range modelFiles {
		base := strings.TrimSuffix(path.Base(mf.rel), ".sql")
		folders := strings.Split(path.Dir(mf.rel), "/")
		if folders[0] == "." {
			folders = nil
		}
		if prev, dup := seenName[base]; dup {
			p.Problems = append(p.Problems, Problem{Path: mf.path, Line: 1, Msg: fmt.Sprintf("two models are named %s (also %s); dbt refuses duplicate model names", base, prev)})
			continue
		}
		seenName[base] = mf.path
		p.Unknowns = append(p.Unknowns, mf.memo.facts.Unknowns...)
		if mp, ok := byFile[base]; ok {
			for _, v := range mp.Versions {
				file := v.DefinedIn
				if file == "" {
					file = mp.Name + "_v" + v.V
				}
				if file == base {
					m := p.newModel(mf.path, mf.memo, mp.Name, folders, folderCfg)
					m.UniqueID = "model." + p.Name + "." + mp.Name + ".v" + v.V
					m.Version, m.LatestVersion = v.V, mp.LatestVersion
					m.FQN = append(m.FQN, "v"+v.V) // as dbt names a version's node
					applyProps(m, mp)
					applyVersion(m, mp, v)
					applySQLConfig(m, mf.memo.facts)
					cfgUnknowns = append(cfgUnknowns, m.configUnknowns()...)
					p.Models[m.UniqueID] = m
				}
			}
			continue
		}
		m := p.newModel(mf.path, mf.memo, base, folders, folderCfg)
		m.UniqueID = "model." + p.Name + "." + base
		if mp, ok := props[base]; ok {
			if len(mp.Versions) > 0 {
				p.Problems = append(p.Problems, Problem{Path: mp.Path, Line: mp.Line, Msg: fmt.Sprintf("model %s declares versions, but %s is none of their files (%s_v<v>.sql or defined_in)", base, mf.path, base)})
			}
			applyProps(m, mp)
		}
		applySQLConfig(m, mf.memo.facts)
		cfgUnknowns = append(cfgUnknowns, m.configUnknowns()...)
		p.Models[m.UniqueID] = m
	}
	// A folder config is applied to every model under it; report it once.
	seenUnknown := map[Unknown]bool{}
	for _, u := range cfgUnknowns {
		if !seenUnknown[u] {
			seenUnknown[u] = true
			p.Unknowns = append(p.Unknowns, u)
		}
	}
	for id, m := range p.Models {
		if !m.Enabled {
			delete(p.Models, id)
		}
	}
	p.index()
	for name, mp := range props {
		if len(p.ModelsByName(name)) == 0 && len(mp.Versions) == 0 {
			p.Problems = append(p.Problems, Problem{Path: mp.Path, Line: mp.Line, Msg: fmt.Sprintf("model %s is described here but has no .sql file under %s", name, strings.Join(p.ModelPaths, ", "))})
		}
		for _, v := range mp.Versions {
			if _, ok := p.Models["model."+p.Name+"."+name+".v"+v.V]; !ok {
				file := v.DefinedIn
				if file == "" {
					file = name + "_v" + v.V
				}
				p.Problems = append(p.Problems, Problem{Path: mp.Path, Line: v.Line, Msg: fmt.Sprintf("version %s of model %s has no file %s.sql", v.V, name, file)})
			}
		}
	}
	p.resolve()
	p.normalize()
	return p, nil
}

func (p *Project) newModel(file string, memo sqlMemo, name string, folders []string, folderCfg *yaml.Node) *Model {
	f := memo.facts
	m := &Model{Name: name, Path: file, Checksum: memo.sum, SQL: f.SQL, RawSQL: string(memo.data), Config: Config{Enabled: true, Materialized: "view"},
		FQN: append(append([]string{p.Name}, folders...), name), ConfigLines: map[string]int{}}
	m.Refs = append([]Ref(nil), f.Refs...)
	m.SourceRefs = append([]SourceRef(nil), f.Sources...)
	for _, c := range f.MacroCalls {
		m.MacroCalls = appendUnique(m.MacroCalls, c.Name)
	}
	applyFolderConfig(m, p.ProjectFile, folderCfg, folders)
	return m
}

// setUnknown records that config key of m was set to something the scanner
// cannot know; the value m holds for it stays what was known before. Every
// such place is kept (both branches of an {% if %}, say) until a literal
// settles the key.
func (m *Model) setUnknown(key, raw string, u Unknown) {
	key = strings.TrimPrefix(key, "+")
	if m.UnknownConfig == nil {
		m.UnknownConfig = map[string]string{}
	}
	if m.pending == nil {
		m.pending = map[string][]Unknown{}
	}
	if prev, ok := m.UnknownConfig[key]; ok && prev != raw {
		raw = prev + " | " + raw
	}
	m.UnknownConfig[key] = raw
	m.pending[key] = append(m.pending[key], u)
}

// setKnown records that a later, statically known value of key settles it.
func (m *Model) setKnown(key string) {
	key = strings.TrimPrefix(key, "+")
	delete(m.UnknownConfig, key)
	delete(m.pending, key)
	if len(m.UnknownConfig) == 0 {
		m.UnknownConfig = nil
	}
}

// configUnknowns are the config keys of m still unknown once every source
// of configuration has been applied, in line order.
func (m *Model) configUnknowns() []Unknown {
	var out []Unknown
	for _, k := range sortedKeys(m.pending) {
		out = append(out, m.pending[k]...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Path < out[j].Path || out[i].Path == out[j].Path && out[i].Line < out[j].Line
	})
	m.pending = nil
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applyKV applies one YAML-declared config key, recording what is not static.
func applyKV(m *Model, path string, c kv) {
	if applyConfig(&m.Config, m, c.Key, c.Value) {
		m.setKnown(c.Key)
		return
	}
	key, what := strings.TrimPrefix(c.Key, "+"), "a value that is not static"
	if c.Value.Raw != "" {
		what = fmt.Sprintf("%q, which dbt renders at run time", c.Value.Raw)
	}
	m.setUnknown(c.Key, c.Value.Raw, Unknown{Path: path, Line: c.Line, Reason: fmt.Sprintf("config %s is %s; its value is not known statically", key, what)})
}

func applyProps(m *Model, mp *modelProps) {
	m.PatchPath, m.PatchLine = mp.Path, mp.Line
	for _, c := range mp.Config {
		applyKV(m, mp.Path, c)
	}
	m.Columns = append([]Column(nil), mp.Columns...)
	m.Constraints = append([]Constraint(nil), mp.Constraints...)
	m.Tests = append([]GenericTest(nil), mp.Tests...)
}

func applyVersion(m *Model, mp *modelProps, v versionProps) {
	m.PatchLine = v.Line
	for _, c := range v.Config {
		applyKV(m, mp.Path, c)
	}
	if v.HasColumns {
		all := len(v.Include) == 0 || len(v.Include) == 1 && (v.Include[0] == "all" || v.Include[0] == "*")
		keep := map[string]bool{}
		for _, n := range v.Include {
			keep[n] = true
		}
		drop := map[string]bool{}
		for _, n := range v.Exclude {
			drop[n] = true
		}
		var cols []Column
		for _, c := range mp.Columns {
			if (all || keep[c.Name]) && !drop[c.Name] {
				cols = append(cols, c)
			}
		}
		for _, vc := range v.Columns {
			replaced := false
			for i := range cols {
				if cols[i].Name == vc.Name {
					cols[i] = vc
					replaced = true
				}
			}
			if !replaced {
				cols = append(cols, vc)
			}
		}
		m.Columns = cols
	}
	if v.Constraints != nil {
		m.Constraints = append([]Constraint(nil), v.Constraints...)
	}
	m.Tests = append(m.Tests, v.Tests...)
}

// applySQLConfig applies the model's config() calls in order, as dbt merges
// them. A value the scanner cannot know (an expression such as var('m'), or
// any value of a call inside {% if %} or {% for %}, where which branch runs
// is decided when dbt renders the model) is not applied: it is recorded as an
// Unknown and in m.UnknownConfig, unless a later literal settles the key.
func applySQLConfig(m *Model, f *SQLFacts) {
	for _, c := range f.Configs {
		for _, k := range sortedValueKeys(c.Kwargs) {
			v := c.Kwargs[k]
			if c.Conditional {
				m.setUnknown(k, v.Raw, Unknown{Path: m.Path, Line: c.Line,
					Reason: fmt.Sprintf("config(%s=%s) sits inside {%% if %%} or {%% for %%}: which value applies is decided when dbt renders the model, so %s is not known statically", k, v.Raw, k)})
				continue
			}
			if !applyConfig(&m.Config, m, k, v) {
				m.setUnknown(k, v.Raw, Unknown{Path: m.Path, Line: c.Line,
					Reason: fmt.Sprintf("config(%s=%s) is not a literal, so %s is not known statically", k, v.Raw, k)})
				continue
			}
			m.setKnown(k)
			m.ConfigLines[k] = c.Line
		}
	}
}

func sortedValueKeys(m map[string]Value) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applyConfig sets one config key, wherever it was declared. It reports
// false, and leaves c alone, when the value is not static: an expression, or
// a YAML string holding Jinja, which dbt renders at run time.
func applyConfig(c *Config, m *Model, key string, v Value) bool {
	if v.Kind == "expr" || v.Kind == "string" && hasJinja(v.Str) {
		switch strings.TrimPrefix(key, "+") {
		case "materialized", "unique_key", "incremental_strategy", "on_schema_change", "contract", "tags", "database",
			"schema", "alias", "access", "group", "enabled", "meta":
			return false
		}
		return true // a key the checks do not read
	}
	str := func() (string, bool) {
		switch v.Kind {
		case "string", "number":
			return v.Str, true
		case "none":
			return "", true
		}
		return "", false
	}
	set := func(dst *string) bool {
		s, ok := str()
		if ok {
			*dst = s
		}
		return ok
	}
	switch strings.TrimPrefix(key, "+") {
	case "materialized":
		s, ok := str()
		if ok && s != "" {
			c.Materialized = s
		}
		return ok
	case "unique_key":
		if s, ok := v.Strings(); ok {
			c.UniqueKey = s
			return true
		}
		if v.Kind == "none" {
			c.UniqueKey = nil
			return true
		}
		return false
	case "incremental_strategy":
		return set(&c.IncrementalStrategy)
	case "on_schema_change":
		return set(&c.OnSchemaChange)
	case "contract":
		if v.Kind != "dict" {
			return false
		}
		if e, ok := v.Dict["enforced"]; ok {
			if e.Kind != "bool" {
				return false
			}
			c.ContractEnforced = e.Bool
		}
	case "tags":
		s, ok := v.Strings()
		if !ok {
			return false
		}
		for _, t := range s {
			c.Tags = appendUnique(c.Tags, t)
		}
	case "database":
		return set(&c.Database)
	case "schema":
		return set(&c.Schema)
	case "alias":
		return set(&c.Alias)
	case "access":
		return set(&c.Access)
	case "group":
		return set(&c.Group)
	case "enabled":
		if v.Kind != "bool" {
			return false
		}
		c.Enabled = v.Bool
	case "meta":
		if v.Kind != "dict" {
			return false
		}
		if o, ok := v.Dict["owner"]; ok && o.Kind == "string" {
			c.Owner = o.Str
		}
		if m != nil {
			if m.Meta == nil {
				m.Meta = map[string]any{}
			}
			for k, x := range v.Dict {
				m.Meta[k] = x.Raw
			}
		}
	}
	return true
}

func hasJinja(s string) bool { return strings.Contains(s, "{{") || strings.Contains(s, "{%") }

// configKeys are the keys of a dbt_project.yml folder block that are configs
// even without a leading "+"; any other key is a subfolder.
var configKeys = map[string]bool{
	"materialized": true, "schema": true, "database": true, "alias": true, "tags": true, "unique_key": true,
	"incremental_strategy": true, "on_schema_change": true, "contract": true, "access": true, "group": true,
	"enabled": true, "meta": true, "docs": true, "persist_docs": true, "post-hook": true, "pre-hook": true,
	"full_refresh": true, "cluster_by": true, "transient": true, "grants": true, "quoting": true, "copy_grants": true,
}

// applyFolderConfig applies the folder configs of dbt_project.yml from the
// project level down to m's folder.
func applyFolderConfig(m *Model, projectFile string, root *yaml.Node, folders []string) {
	n := root
	for level := 0; n != nil; level++ {
		for k := 0; k+1 < len(n.Content); k += 2 {
			key := n.Content[k].Value
			if strings.HasPrefix(key, "+") || configKeys[key] {
				applyKV(m, projectFile, kv{Key: key, Value: nodeValue(n.Content[k+1]), Line: n.Content[k].Line})
			}
		}
		if level >= len(folders) {
			return
		}
		next := yamlnode.Get(n, folders[level])
		if next == nil || next.Kind != yaml.MappingNode {
			return
		}
		n = next
	}
}

// readProjectFile reads dbt_project.yml and returns the models: block of this
// project (the folder configs).
func (p *Project) readProjectFile(file string, data []byte) *yaml.Node {
	p.ModelPaths, p.MacroPaths, p.SeedPaths, p.SnapPaths = []string{"models"}, []string{"macros"}, []string{"seeds"}, []string{"snapshots"}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.Problems = append(p.Problems, Problem{Path: file, Line: yamlErrLine(err), Msg: "invalid YAML: " + yamlErrMsg(err)})
		p.Name = path.Base(p.Dir)
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		p.Problems = append(p.Problems, Problem{Path: file, Line: 1, Msg: "dbt_project.yml must be a mapping with at least a name"})
		return nil
	}
	if n, why := checkAliases(data, &doc); n != nil {
		p.Problems = append(p.Problems, Problem{Path: file, Line: n.Line, Msg: "invalid YAML: " + why})
		p.Name = path.Base(p.Dir)
		return nil
	}
	root := doc.Content[0]
	p.Name = yamlnode.Scalar(yamlnode.Get(root, "name"))
	if p.Name == "" {
		p.Problems = append(p.Problems, Problem{Path: file, Line: root.Line, Msg: "dbt_project.yml needs a name"})
		p.Name = "project"
	}
	paths := func(key string, dst *[]string) {
		if n := yamlnode.Get(root, key); n != nil {
			if s, ok := nodeValue(n).Strings(); ok {
				*dst = s
			} else {
				p.Problems = append(p.Problems, Problem{Path: file, Line: n.Line, Msg: key + " must be a list of folders"})
			}
		}
	}
	paths("model-paths", &p.ModelPaths)
	paths("source-paths", &p.ModelPaths) // the pre-1.0 name
	paths("macro-paths", &p.MacroPaths)
	paths("seed-paths", &p.SeedPaths)
	paths("data-paths", &p.SeedPaths)
	paths("snapshot-paths", &p.SnapPaths)
	for _, list := range [][]string{p.ModelPaths, p.MacroPaths, p.SeedPaths, p.SnapPaths} {
		for i := range list {
			list[i] = strings.Trim(list[i], "/")
		}
	}
	if v := yamlnode.Get(root, "vars"); v != nil {
		p.Vars = map[string]any{}
		for k := 0; k+1 < len(v.Content); k += 2 {
			p.Vars[v.Content[k].Value] = nodeValue(v.Content[k+1]).Raw
		}
	}
	return yamlnode.Get(yamlnode.Get(root, "models"), p.Name)
}

// resolve fills depends_on for models and exposures, reports refs that point
// nowhere, and follows refs made inside called macros.
func (p *Project) resolve() {
	macroByName := map[string]*Macro{}
	for _, m := range p.Macros {
		macroByName[m.Name] = m
	}
	for _, m := range p.Models {
		deps := map[string]bool{}
		for _, r := range m.Refs {
			if id := p.ResolveRef(r); id != "" {
				deps[id] = true
			}
		}
		for _, s := range m.SourceRefs {
			deps[p.SourceID(s)] = true
		}
		// refs inside macros the model calls, transitively
		seen := map[string]bool{}
		var visit func(name string)
		visit = func(name string) {
			name = strings.TrimPrefix(name, p.Name+".")
			mac, ok := macroByName[name]
			if !ok || seen[name] {
				return
			}
			seen[name] = true
			m.DependsOnMacros = append(m.DependsOnMacros, mac.UniqueID)
			for _, r := range mac.Refs {
				if id := p.ResolveRef(r); id != "" {
					deps[id] = true
				}
			}
			for _, s := range mac.Sources {
				deps[p.SourceID(s)] = true
			}
			for _, c := range mac.Calls {
				visit(c)
			}
		}
		for _, c := range m.MacroCalls {
			visit(c)
		}
		sort.Strings(m.DependsOnMacros)
		delete(deps, m.UniqueID)
		m.DependsOn = sortedSet(deps)
	}
	for _, e := range p.Exposures {
		deps := map[string]bool{}
		for _, r := range e.Refs {
			if id := p.ResolveRef(r); id != "" {
				deps[id] = true
			}
		}
		for _, s := range e.SrcRefs {
			deps[p.SourceID(s)] = true
		}
		e.DependsOn = sortedSet(deps)
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func join(dir, rel string) string {
	if dir == "" {
		return rel
	}
	return dir + "/" + rel
}
