package project

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ManifestSchemaV12 is the manifest schema this reader understands (dbt 1.8+).
const ManifestSchemaV12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"

type manifest struct {
	Metadata struct {
		SchemaVersion string `json:"dbt_schema_version"`
		DbtVersion    string `json:"dbt_version"`
		ProjectName   string `json:"project_name"`
	} `json:"metadata"`
	Nodes   map[string]manifestNode `json:"nodes"`
	Sources map[string]struct {
		UniqueID      string             `json:"unique_id"`
		SourceName    string             `json:"source_name"`
		Name          string             `json:"name"`
		Database      string             `json:"database"`
		Schema        string             `json:"schema"`
		Identifier    string             `json:"identifier"`
		Loader        string             `json:"loader"`
		LoadedAtField string             `json:"loaded_at_field"`
		Freshness     *manifestFreshness `json:"freshness"`
		Columns       manifestColumns    `json:"columns"`
		Path          string             `json:"original_file_path"`
	} `json:"sources"`
	Exposures map[string]struct {
		UniqueID string `json:"unique_id"`
		Name     string `json:"name"`
		Type     string `json:"type"`
		Owner    struct {
			Name string `json:"name"`
		} `json:"owner"`
		Meta      map[string]any `json:"meta"`
		Refs      []manifestRef  `json:"refs"`
		Sources   [][]string     `json:"sources"`
		DependsOn struct {
			Nodes []string `json:"nodes"`
		} `json:"depends_on"`
		Path string `json:"original_file_path"`
	} `json:"exposures"`
	Macros map[string]struct {
		UniqueID    string `json:"unique_id"`
		Name        string `json:"name"`
		PackageName string `json:"package_name"`
		Path        string `json:"original_file_path"`
		MacroSQL    string `json:"macro_sql"`
		DependsOn   struct {
			Macros []string `json:"macros"`
		} `json:"depends_on"`
	} `json:"macros"`
	Groups map[string]struct {
		Name  string `json:"name"`
		Owner struct {
			Name string `json:"name"`
		} `json:"owner"`
	} `json:"groups"`
}

type manifestFreshness struct {
	WarnAfter  manifestPeriod `json:"warn_after"`
	ErrorAfter manifestPeriod `json:"error_after"`
}

type manifestPeriod struct {
	Count  *int   `json:"count"`
	Period string `json:"period"`
}

func (p manifestPeriod) String() string {
	if p.Count == nil || p.Period == "" {
		return ""
	}
	return fmt.Sprintf("%d%c", *p.Count, p.Period[0])
}

type manifestRef struct {
	Name    string `json:"name"`
	Package string `json:"package"`
	Version any    `json:"version"`
}

func (r manifestRef) ref() Ref {
	return Ref{Package: r.Package, Name: r.Name, Version: versionString(r.Version)}
}

type manifestColumn struct {
	Name        string       `json:"name"`
	DataType    *string      `json:"data_type"`
	Constraints []Constraint `json:"constraints"`
}

type manifestNode struct {
	UniqueID     string `json:"unique_id"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	PackageName  string `json:"package_name"`
	Path         string `json:"original_file_path"`
	PatchPath    string `json:"patch_path"`
	Database     string `json:"database"`
	Schema       string `json:"schema"`
	Alias        string `json:"alias"`
	Version      any    `json:"version"`
	Latest       any    `json:"latest_version"`
	Access       string `json:"access"`
	Group        string `json:"group"`
	RawCode      string `json:"raw_code"`
	Checksum     struct {
		Checksum string `json:"checksum"`
	} `json:"checksum"`
	Config struct {
		Materialized        string         `json:"materialized"`
		UniqueKey           any            `json:"unique_key"`
		IncrementalStrategy string         `json:"incremental_strategy"`
		OnSchemaChange      string         `json:"on_schema_change"`
		Tags                any            `json:"tags"`
		Database            string         `json:"database"`
		Schema              string         `json:"schema"`
		Alias               string         `json:"alias"`
		Meta                map[string]any `json:"meta"`
		Contract            struct {
			Enforced bool `json:"enforced"`
		} `json:"contract"`
	} `json:"config"`
	Columns     manifestColumns `json:"columns"`
	Constraints []Constraint    `json:"constraints"`
	Refs        []manifestRef   `json:"refs"`
	Sources     [][]string      `json:"sources"`
	DependsOn   struct {
		Macros []string `json:"macros"`
		Nodes  []string `json:"nodes"`
	} `json:"depends_on"`
	FQN          []string `json:"fqn"`
	ColumnName   string   `json:"column_name"`
	AttachedNode string   `json:"attached_node"`
	TestMetadata *struct {
		Name   string         `json:"name"`
		Kwargs map[string]any `json:"kwargs"`
	} `json:"test_metadata"`
}

// ReadManifest reads dbt's target/manifest.json (schema v12). dir is the
// project folder in the repo, so the paths it reports are repo paths like the
// parser's. Columns keep the manifest's order, which is the YAML's.
func ReadManifest(dir string, data []byte) (*Project, error) {
	var mf manifest
	if err := json.Unmarshal(data, &mf); err != nil {
		return nil, fmt.Errorf("reading manifest.json: %w", err)
	}
	if mf.Metadata.SchemaVersion != ManifestSchemaV12 {
		return nil, fmt.Errorf("manifest.json has schema %q; this Conveyor reads %s (dbt 1.8 and later)", mf.Metadata.SchemaVersion, ManifestSchemaV12)
	}
	dir = strings.Trim(dir, "/")
	p := &Project{Dir: dir, Name: mf.Metadata.ProjectName, Origin: "manifest", ProjectFile: join(dir, "dbt_project.yml"),
		Models: map[string]*Model{}, Sources: map[string]*Source{}, Exposures: map[string]*Exposure{}, Macros: map[string]*Macro{},
		Seeds: map[string]*Model{}, Groups: map[string]string{}}
	repoPath := func(rel string) string {
		if rel == "" {
			return ""
		}
		return join(dir, rel)
	}
	for _, g := range mf.Groups {
		p.Groups[g.Name] = g.Owner.Name
	}
	var tests []manifestNode
	for id, n := range mf.Nodes {
		if p.Name == "" && n.PackageName != "" {
			p.Name = n.PackageName
		}
		switch n.ResourceType {
		case "model":
		case "seed", "snapshot":
			p.Seeds[id] = &Model{UniqueID: id, Name: n.Name, Path: repoPath(n.Path), Checksum: n.Checksum.Checksum, Config: Config{Materialized: n.ResourceType, Enabled: true}}
			continue
		case "test":
			tests = append(tests, n)
			continue
		default:
			continue
		}
		m := &Model{UniqueID: id, Name: n.Name, Version: versionString(n.Version), LatestVersion: versionString(n.Latest), Path: repoPath(n.Path),
			Checksum: n.Checksum.Checksum, RawSQL: n.RawCode, FQN: n.FQN, ConfigLines: map[string]int{}, Constraints: n.Constraints}
		if pp := n.PatchPath; pp != "" {
			if _, rest, ok := strings.Cut(pp, "://"); ok {
				pp = rest
			}
			m.PatchPath = repoPath(pp)
		}
		facts := ScanSQL(m.Path, n.RawCode)
		m.SQL = facts.SQL
		// The manifest keeps no lines; the scan of raw_code gives the same
		// config() lines the parser records.
		for _, call := range facts.Configs {
			for k := range call.Kwargs {
				m.ConfigLines[k] = call.Line
			}
		}
		c := &m.Config
		c.Enabled = true
		c.Materialized = n.Config.Materialized
		c.UniqueKey = anyStrings(n.Config.UniqueKey)
		c.IncrementalStrategy = n.Config.IncrementalStrategy
		c.OnSchemaChange = n.Config.OnSchemaChange
		c.ContractEnforced = n.Config.Contract.Enforced
		c.Tags = anyStrings(n.Config.Tags)
		c.Database = n.Config.Database
		c.Schema = n.Config.Schema
		c.Alias = n.Config.Alias
		c.Access, c.Group = n.Access, n.Group
		if o, ok := n.Config.Meta["owner"].(string); ok {
			c.Owner = o
		}
		m.Columns = toColumns(n.Columns)
		for _, r := range n.Refs {
			ref := r.ref()
			for _, sr := range facts.Refs {
				if sameRef(ref, sr) {
					ref.Line, ref.Conditional = sr.Line, sr.Conditional
					break
				}
			}
			m.Refs = append(m.Refs, ref)
		}
		for _, s := range n.Sources {
			if len(s) == 2 {
				src := SourceRef{Source: s[0], Table: s[1]}
				for _, ss := range facts.Sources {
					if ss.Source == src.Source && ss.Table == src.Table {
						src.Line, src.Conditional = ss.Line, ss.Conditional
						break
					}
				}
				m.SourceRefs = append(m.SourceRefs, src)
			}
		}
		m.DependsOn = append([]string(nil), n.DependsOn.Nodes...)
		sort.Strings(m.DependsOn)
		m.DependsOnMacros = append([]string(nil), n.DependsOn.Macros...)
		p.Models[id] = m
	}
	p.index()
	// nodes is a map: attach tests in ID order so two reads agree.
	sort.Slice(tests, func(i, j int) bool { return tests[i].UniqueID < tests[j].UniqueID })
	for _, t := range tests {
		m, ok := p.Models[t.AttachedNode]
		if !ok || t.TestMetadata == nil {
			continue
		}
		gt := GenericTest{Name: t.TestMetadata.Name, Column: t.ColumnName, Path: m.PatchPath}
		if ns, ok := t.TestMetadata.Kwargs["namespace"].(string); ok && ns != "" {
			gt.Name = ns + "." + gt.Name
		}
		gt.Values = anyStrings(t.TestMetadata.Kwargs["values"])
		gt.To, _ = t.TestMetadata.Kwargs["to"].(string)
		gt.Field, _ = t.TestMetadata.Kwargs["field"].(string)
		attachTest(m, gt)
	}
	targetDB := targetDatabase(mf.Nodes)
	for id, s := range mf.Sources {
		src := &Source{UniqueID: id, SourceName: s.SourceName, Name: s.Name, Database: s.Database, Schema: s.Schema, Identifier: s.Identifier,
			Loader: s.Loader, LoadedAtField: s.LoadedAtField, Columns: toColumns(s.Columns), Path: repoPath(s.Path)}
		if src.Identifier == src.Name {
			src.Identifier = ""
		}
		// dbt resolves an undeclared source database to the target's; the
		// files say nothing there, so neither does this reader.
		if src.Database == targetDB {
			src.Database = ""
		}
		if s.Freshness != nil {
			f := &Freshness{WarnAfter: s.Freshness.WarnAfter.String(), ErrorAfter: s.Freshness.ErrorAfter.String()}
			if f.WarnAfter != "" || f.ErrorAfter != "" {
				src.Freshness = f
			}
		}
		p.Sources[id] = src
	}
	for id, e := range mf.Exposures {
		ex := &Exposure{UniqueID: id, Name: e.Name, Type: e.Type, Owner: e.Owner.Name, DependsOn: append([]string(nil), e.DependsOn.Nodes...), Path: repoPath(e.Path)}
		if t, ok := e.Meta["team"].(string); ok {
			ex.Team = t
		}
		for _, r := range e.Refs {
			ex.Refs = append(ex.Refs, r.ref())
		}
		for _, s := range e.Sources {
			if len(s) == 2 {
				ex.SrcRefs = append(ex.SrcRefs, SourceRef{Source: s[0], Table: s[1]})
			}
		}
		sort.Strings(ex.DependsOn)
		p.Exposures[id] = ex
	}
	for id, m := range mf.Macros {
		if m.PackageName != p.Name {
			continue
		}
		p.Macros[id] = &Macro{UniqueID: id, MacroDef: MacroDef{Name: m.Name}, Path: repoPath(m.Path), Body: m.MacroSQL}
	}
	p.normalize()
	return p, nil
}

// targetDatabase is the database of the target the manifest was built for:
// the one most models without a database config landed in ("" when none
// tells).
func targetDatabase(nodes map[string]manifestNode) string {
	count := map[string]int{}
	for _, n := range nodes {
		if n.ResourceType == "model" && n.Config.Database == "" && n.Database != "" {
			count[n.Database]++
		}
	}
	best := ""
	for db, c := range count {
		if c > count[best] || c == count[best] && db < best {
			best = db
		}
	}
	return best
}

// attachTest puts a manifest test on its model, or on its column.
func attachTest(m *Model, gt GenericTest) {
	if gt.Column != "" {
		for i := range m.Columns {
			if m.Columns[i].Name == gt.Column {
				m.Columns[i].Tests = append(m.Columns[i].Tests, gt)
				return
			}
		}
	}
	m.Tests = append(m.Tests, gt)
}

// manifestColumns is a node's columns object in the order dbt wrote it, which
// is the order of the YAML: a Go map would lose it.
type manifestColumns []manifestColumn

func (mc *manifestColumns) UnmarshalJSON(data []byte) error {
	*mc = nil
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "columns": null
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("columns must be an object, not %v", tok)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		var c manifestColumn
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("column %v: %w", key, err)
		}
		if c.Name == "" {
			c.Name, _ = key.(string)
		}
		*mc = append(*mc, c)
	}
	_, err = dec.Token()
	return err
}

func toColumns(cols manifestColumns) []Column {
	out := make([]Column, 0, len(cols))
	for _, c := range cols {
		col := Column{Name: c.Name, Constraints: c.Constraints}
		if c.DataType != nil {
			col.DataType = *c.DataType
		}
		out = append(out, col)
	}
	return out
}

func versionString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%g", x)
	}
	return fmt.Sprint(v)
}

func anyStrings(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}
