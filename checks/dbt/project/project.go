// Package project reads a dbt project without Python or dbt: dbt_project.yml,
// every model's SQL (Jinja scanned, not executed), every properties YAML, and
// dbt's own target/manifest.json (schema v12) when one is at hand. It builds
// the same graph dbt would: nodes, sources, exposures and their depends_on.
package project

import (
	"sort"
	"strings"
)

// Project is a parsed dbt project.
type Project struct {
	// Dir is the project folder in the repo tree ("" for the root).
	Dir  string `json:"dir"`
	Name string `json:"name"`
	// Origin is "files" when parsed from the project, "manifest" when read from manifest.json.
	Origin     string   `json:"origin"`
	ModelPaths []string `json:"model_paths"`
	MacroPaths []string `json:"macro_paths"`
	SeedPaths  []string `json:"seed_paths"`
	SnapPaths  []string `json:"snapshot_paths"`
	Vars       map[string]any
	Models     map[string]*Model    `json:"-"`
	Sources    map[string]*Source   `json:"-"`
	Exposures  map[string]*Exposure `json:"-"`
	Macros     map[string]*Macro    `json:"-"`
	// Seeds holds seeds and snapshots: nodes a ref may point at that the checks do not inspect.
	Seeds       map[string]*Model `json:"-"`
	Groups      map[string]string `json:"-"` // group → owner name
	Unknowns    []Unknown         `json:"unknowns"`
	Problems    []Problem         `json:"problems"`
	ProjectFile string            `json:"-"`
	// byName indexes models by name, and ids holds the sorted model IDs;
	// both are built once the models are final.
	byName map[string][]*Model
	ids    []string
}

// index builds the by-name index and the sorted IDs; call it after the
// models are final.
func (p *Project) index() {
	p.ids = nil
	p.ids = p.ModelIDs()
	p.byName = make(map[string][]*Model, len(p.Models))
	for _, id := range p.ids {
		m := p.Models[id]
		p.byName[m.Name] = append(p.byName[m.Name], m)
	}
}

// Problem is an error in a project file: it says where and why.
type Problem struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Msg  string `json:"message"`
}

// Model is one model node (one version of a versioned model is its own node).
type Model struct {
	UniqueID string `json:"unique_id"`
	Name     string `json:"name"`
	// Version is set on the nodes of a versioned model.
	Version       string `json:"version,omitempty"`
	LatestVersion string `json:"latest_version,omitempty"`
	// Path is the SQL file in the repo tree; PatchPath the YAML that describes it.
	Path      string `json:"path"`
	PatchPath string `json:"patch_path,omitempty"`
	PatchLine int    `json:"-"`
	Checksum  string `json:"checksum"`
	Config
	Columns     []Column      `json:"columns,omitempty"`
	Constraints []Constraint  `json:"constraints,omitempty"`
	Tests       []GenericTest `json:"tests,omitempty"`
	Refs        []Ref         `json:"refs,omitempty"`
	SourceRefs  []SourceRef   `json:"sources,omitempty"`
	MacroCalls  []string      `json:"macro_calls,omitempty"`
	// DependsOn holds the unique IDs of the nodes and sources this model reads, sorted.
	DependsOn []string `json:"depends_on"`
	// DependsOnMacros holds the macro IDs it calls.
	DependsOnMacros []string `json:"-"`
	// SQL is the model body with Jinja blanked out, for SQL-level scans.
	SQL    string `json:"-"`
	RawSQL string `json:"-"`
	// Meta is the model's meta, as declared.
	Meta map[string]any `json:"-"`
	FQN  []string       `json:"-"`
	// ConfigLines maps a config key to the line in Path where config() set it.
	ConfigLines map[string]int `json:"-"`
	// UnknownConfig maps the config keys set to something the scanner cannot
	// know (an expression, a value inside {% if %}, Jinja in YAML) to the
	// expression as written. Such a key keeps the value known before it
	// (folder or YAML config, or dbt's default).
	UnknownConfig map[string]string `json:"-"`
	// pending holds the Unknowns to report for each key of UnknownConfig.
	pending map[string][]Unknown
}

// Config is the part of a model's configuration the checks read.
type Config struct {
	Materialized        string   `json:"materialized"`
	UniqueKey           []string `json:"unique_key,omitempty"`
	IncrementalStrategy string   `json:"incremental_strategy,omitempty"`
	OnSchemaChange      string   `json:"on_schema_change,omitempty"`
	ContractEnforced    bool     `json:"contract_enforced"`
	Tags                []string `json:"tags,omitempty"`
	Database            string   `json:"database,omitempty"`
	Schema              string   `json:"schema,omitempty"`
	Alias               string   `json:"alias,omitempty"`
	Access              string   `json:"access,omitempty"`
	Group               string   `json:"group,omitempty"`
	Enabled             bool     `json:"-"`
	// Owner is meta.owner (a team slug), when declared.
	Owner string `json:"owner,omitempty"`
}

// Relation is where the model lands: schema.alias (the target's schema
// prefix is not known statically and is left out).
func (m *Model) Relation() string {
	alias := m.Alias
	if alias == "" {
		alias = m.Name
		if m.Version != "" {
			alias = m.Name + "_v" + m.Version
		}
	}
	if m.Schema == "" {
		return alias
	}
	return m.Schema + "." + alias
}

// Column is a column declared in YAML (or the manifest).
type Column struct {
	Name        string        `json:"name"`
	DataType    string        `json:"data_type,omitempty"`
	Constraints []Constraint  `json:"constraints,omitempty"`
	Tests       []GenericTest `json:"-"`
	Line        int           `json:"-"`
}

// HasConstraint reports whether the column declares a constraint of type t.
func (c *Column) HasConstraint(t string) bool {
	for _, k := range c.Constraints {
		if k.Type == t {
			return true
		}
	}
	return false
}

// Constraint is a dbt model contract constraint.
type Constraint struct {
	Type       string   `json:"type"`
	Columns    []string `json:"columns,omitempty"`
	Expression string   `json:"expression,omitempty"`
}

// EnforcedOnSnowflake reports whether the warehouse enforces this constraint
// type. Snowflake enforces NOT NULL only; primary_key, unique and foreign_key
// are metadata there, so removing one is not a breaking change.
func (c Constraint) EnforcedOnSnowflake() bool { return c.Type == "not_null" }

// GenericTest is a data test declared in YAML.
type GenericTest struct {
	// Name is the test's name: not_null, unique, accepted_values, relationships, or another.
	Name   string `json:"name"`
	Column string `json:"column,omitempty"`
	// Values are accepted_values' values.
	Values []string `json:"values,omitempty"`
	// To and Field are relationships' target (a ref or source) and its column.
	To    string `json:"to,omitempty"`
	Field string `json:"field,omitempty"`
	Where string `json:"where,omitempty"`
	Path  string `json:"path,omitempty"`
	Line  int    `json:"line,omitempty"`
}

// Source is one table of a dbt source.
type Source struct {
	UniqueID      string     `json:"unique_id"`
	SourceName    string     `json:"source_name"`
	Name          string     `json:"name"`
	Database      string     `json:"database,omitempty"`
	Schema        string     `json:"schema,omitempty"`
	Identifier    string     `json:"identifier,omitempty"`
	Loader        string     `json:"loader,omitempty"`
	LoadedAtField string     `json:"loaded_at_field,omitempty"`
	Freshness     *Freshness `json:"freshness,omitempty"`
	Columns       []Column   `json:"columns,omitempty"`
	Tests         []GenericTest
	Path          string `json:"path"`
	Line          int    `json:"line"`
}

// Relation is schema.identifier.
func (s *Source) Relation() string {
	id := s.Identifier
	if id == "" {
		id = s.Name
	}
	if s.Schema == "" {
		return id
	}
	return s.Schema + "." + id
}

// Freshness is a source's freshness expectation.
type Freshness struct {
	WarnAfter  string `json:"warn_after,omitempty"`
	ErrorAfter string `json:"error_after,omitempty"`
}

// Exposure is a downstream use of the project (a dashboard, an application).
type Exposure struct {
	UniqueID  string      `json:"unique_id"`
	Name      string      `json:"name"`
	Type      string      `json:"type"`
	Owner     string      `json:"owner,omitempty"`
	Team      string      `json:"team,omitempty"`
	Refs      []Ref       `json:"-"`
	SrcRefs   []SourceRef `json:"-"`
	DependsOn []string    `json:"depends_on"`
	Path      string      `json:"path"`
	Line      int         `json:"line"`
}

// Macro is one macro with what its body references.
type Macro struct {
	UniqueID string `json:"unique_id"`
	MacroDef
	Path     string `json:"path"`
	Checksum string `json:"checksum"`
	// Body is the macro's text as dbt recorded it (manifest only), which
	// tells whether the macro file still holds it.
	Body string `json:"-"`
}

// ModelsByName returns every node of model name (several for a versioned model).
func (p *Project) ModelsByName(name string) []*Model {
	if p.byName != nil {
		return p.byName[name]
	}
	var out []*Model
	for _, m := range p.Models {
		if m.Name == name {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UniqueID < out[j].UniqueID })
	return out
}

// ResolveRef returns the unique ID a ref points at, or "" when nothing matches.
// An unpinned ref to a versioned model resolves to its latest version.
func (p *Project) ResolveRef(r Ref) string {
	if r.Package != "" && r.Package != p.Name {
		return ""
	}
	if r.Version == "" {
		id := "model." + p.Name + "." + r.Name
		if _, ok := p.Models[id]; ok {
			return id
		}
		for _, kind := range []string{"seed.", "snapshot."} {
			if _, ok := p.Seeds[kind+p.Name+"."+r.Name]; ok {
				return kind + p.Name + "." + r.Name
			}
		}
		for _, m := range p.ModelsByName(r.Name) {
			if m.Version != "" && m.Version == m.LatestVersion {
				return m.UniqueID
			}
		}
		return ""
	}
	id := "model." + p.Name + "." + r.Name + ".v" + r.Version
	if _, ok := p.Models[id]; ok {
		return id
	}
	return ""
}

// SourceID returns a source() call's unique ID.
func (p *Project) SourceID(s SourceRef) string {
	return "source." + p.Name + "." + s.Source + "." + s.Table
}

// ModelIDs returns every model's unique ID, sorted. The checks ask for it
// many times over; a project read by this package answers from the list built
// when it was read, which callers must not modify.
func (p *Project) ModelIDs() []string {
	if p.ids != nil && len(p.ids) == len(p.Models) {
		return p.ids
	}
	out := make([]string, 0, len(p.Models))
	for id := range p.Models {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// ShortName is a unique ID without its resource type and project.
func ShortName(id string) string {
	parts := strings.SplitN(id, ".", 3)
	if len(parts) < 3 {
		return id
	}
	return parts[2]
}

// AllTests returns the model's generic tests, column tests first.
func (m *Model) AllTests() []GenericTest {
	var out []GenericTest
	for _, c := range m.Columns {
		out = append(out, c.Tests...)
	}
	return append(out, m.Tests...)
}
