package project

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// mapTree is a minimal in-memory Tree.
type mapTree map[string][]byte

func (t mapTree) Files() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (t mapTree) ReadFile(p string) ([]byte, error) {
	b, ok := t[p]
	if !ok {
		return nil, os.ErrNotExist
	}
	return b, nil
}

func readDir(t *testing.T, root string) mapTree {
	t.Helper()
	tr := mapTree{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		tr[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func sampleProject(t *testing.T) *Project {
	t.Helper()
	p, err := Parse(readDir(t, "../../../testdata/sample-repo"), "dbt")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) > 0 {
		t.Fatalf("sample project has problems: %+v", p.Problems)
	}
	return p
}

func TestParseSampleGraph(t *testing.T) {
	p := sampleProject(t)
	if p.Name != "parcelflow" {
		t.Fatalf("name = %q", p.Name)
	}
	tests := []struct {
		id, path, materialized string
		contract               bool
		deps                   []string
		relation               string
	}{
		{"model.parcelflow.stg_orders", "dbt/models/staging/orders_db/stg_orders.sql", "view", false,
			[]string{"seed.parcelflow.test_customers", "source.parcelflow.orders_db.orders"}, "staging.stg_orders"},
		{"model.parcelflow.int_order_items_summed", "dbt/models/intermediate/int_order_items_summed.sql", "ephemeral", false,
			[]string{"model.parcelflow.stg_order_items"}, "intermediate.int_order_items_summed"},
		{"model.parcelflow.int_parcel_latest_scan", "dbt/models/intermediate/int_parcel_latest_scan.sql", "incremental", false,
			[]string{"model.parcelflow.stg_parcel_scans"}, "intermediate.int_parcel_latest_scan"},
		{"model.parcelflow.fct_orders.v1", "dbt/models/marts/core/fct_orders_v1.sql", "table", true,
			[]string{"model.parcelflow.int_order_items_summed", "model.parcelflow.stg_orders"}, "marts.fct_orders_v1"},
		{"model.parcelflow.fct_orders.v2", "dbt/models/marts/core/fct_orders.sql", "table", true,
			[]string{"model.parcelflow.int_order_items_summed", "model.parcelflow.int_parcel_latest_scan", "model.parcelflow.stg_orders"}, "marts.fct_orders"},
		{"model.parcelflow.dim_customers", "dbt/models/marts/core/dim_customers.sql", "table", true,
			[]string{"model.parcelflow.fct_orders.v2", "model.parcelflow.stg_customers"}, "marts.dim_customers"},
		{"model.parcelflow.fct_daily_revenue", "dbt/models/marts/finance/fct_daily_revenue.sql", "incremental", false,
			[]string{"model.parcelflow.fct_orders.v2"}, "marts.fct_daily_revenue"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			m, ok := p.Models[tc.id]
			if !ok {
				t.Fatalf("missing; have %v", p.ModelIDs())
			}
			if m.Path != tc.path || m.Materialized != tc.materialized || m.ContractEnforced != tc.contract || m.Relation() != tc.relation {
				t.Errorf("got path=%s materialized=%s contract=%v relation=%s", m.Path, m.Materialized, m.ContractEnforced, m.Relation())
			}
			if !reflect.DeepEqual(m.DependsOn, tc.deps) {
				t.Errorf("depends_on = %v, want %v", m.DependsOn, tc.deps)
			}
		})
	}
	if n := len(p.Models); n != 10 {
		t.Errorf("models = %d, want 10", n)
	}
	v1, v2 := p.Models["model.parcelflow.fct_orders.v1"], p.Models["model.parcelflow.fct_orders.v2"]
	if len(v1.Columns) != 6 || len(v2.Columns) != 7 || v2.LatestVersion != "2" {
		t.Errorf("versions: v1 %d cols, v2 %d cols, latest %s", len(v1.Columns), len(v2.Columns), v2.LatestVersion)
	}
	rev := p.Models["model.parcelflow.fct_daily_revenue"]
	if !reflect.DeepEqual(rev.UniqueKey, []string{"revenue_date"}) || rev.IncrementalStrategy != "merge" || rev.OnSchemaChange != "append_new_columns" ||
		!reflect.DeepEqual(rev.Tags, []string{"finance"}) || rev.Owner != "data-eng" {
		t.Errorf("fct_daily_revenue config = %+v", rev.Config)
	}
	src := p.Sources["source.parcelflow.events.parcel_scans"]
	if src == nil || src.Relation() != "kafka_events.PARCEL_SCANS_RAW" || src.Freshness == nil || src.Freshness.ErrorAfter != "1h" || src.LoadedAtField == "" {
		t.Errorf("events source = %+v", src)
	}
	if c := p.Sources["source.parcelflow.orders_db.customers"]; c.Freshness.WarnAfter != "24h" {
		t.Errorf("table freshness should override the source's: %+v", c.Freshness)
	}
	ex := p.Exposures["exposure.parcelflow.ops_orders_dashboard"]
	if ex == nil || !reflect.DeepEqual(ex.DependsOn, []string{"model.parcelflow.dim_customers", "model.parcelflow.fct_orders.v2"}) || ex.Team != "analytics" {
		t.Errorf("exposure = %+v", ex)
	}
	if p.Groups["core"] != "data-eng" {
		t.Errorf("groups = %v", p.Groups)
	}
	if _, ok := p.Seeds["snapshot.parcelflow.orders_snapshot"]; !ok {
		t.Errorf("snapshot not found: %v", p.Seeds)
	}
}

func TestRefForms(t *testing.T) {
	tests := []struct {
		name, src string
		want      []Ref
		unknowns  int
	}{
		{"one arg", "select * from {{ ref('a') }}", []Ref{{Name: "a", Line: 1}}, 0},
		{"two args", "{{ ref(\"pkg\", 'a') }}", []Ref{{Package: "pkg", Name: "a", Line: 1}}, 0},
		{"v=", "{{ ref('a', v=2) }}", []Ref{{Name: "a", Version: "2", Line: 1}}, 0},
		{"version=", "{{ ref('a', version='3') }}", []Ref{{Name: "a", Version: "3", Line: 1}}, 0},
		{"in if", "{% if target.name == 'prod' %}\n{{ ref('p') }}\n{% endif %}", []Ref{{Name: "p", Line: 2, Conditional: true}}, 0},
		{"in set", "{% set rel = ref('s') %}", []Ref{{Name: "s", Line: 1}}, 0},
		{"nested in macro call", "{{ dbt_utils.star(from=ref('n')) }}", []Ref{{Name: "n", Line: 1}}, 0},
		{"variable", "{{ ref(model_name) }}", nil, 1},
		{"comment ignored", "{# {{ ref('x') }} #} select 1", nil, 0},
		{"close in string", "{{ ref('we}}ird') }}", []Ref{{Name: "we}}ird", Line: 1}}, 0},
		{"whitespace control", "{{- ref('w') -}}", []Ref{{Name: "w", Line: 1}}, 0},
		{"raw block is literal text", "{% raw %}{{ ref('x') }}{% endraw %}\nselect * from {{ ref('y') }}", []Ref{{Name: "y", Line: 2}}, 0},
		{"raw with whitespace control", "{%- raw -%}\n{{ ref('x') }} {% if %}\n{%- endraw -%}{{ ref('y') }}", []Ref{{Name: "y", Line: 3}}, 0},
		{"two raw blocks", "{% raw %}{{ ref('a') }}{% endraw %}{{ ref('b') }}{% raw %}{{ ref('c') }}{% endraw %}", []Ref{{Name: "b", Line: 1}}, 0},
		{"unclosed raw", "{{ ref('a') }}\n{% raw %}{{ ref('b') }}", []Ref{{Name: "a", Line: 1}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ScanSQL("m.sql", tc.src)
			if !reflect.DeepEqual(f.Refs, tc.want) {
				t.Errorf("refs = %+v, want %+v", f.Refs, tc.want)
			}
			if len(f.Unknowns) != tc.unknowns {
				t.Errorf("unknowns = %+v, want %d", f.Unknowns, tc.unknowns)
			}
		})
	}
}

func TestConfigCall(t *testing.T) {
	src := `{{ config(materialized='incremental', unique_key=['a', 'b'], incremental_strategy='delete+insert',
  on_schema_change='fail', contract={'enforced': true}, tags=['x', 'y']) }}
select 1`
	m := &Model{ConfigLines: map[string]int{}, Config: Config{Materialized: "view", Enabled: true}}
	f := ScanSQL("m.sql", src)
	applySQLConfig(m, &f)
	want := Config{Materialized: "incremental", UniqueKey: []string{"a", "b"}, IncrementalStrategy: "delete+insert", OnSchemaChange: "fail",
		ContractEnforced: true, Tags: []string{"x", "y"}, Enabled: true}
	if !reflect.DeepEqual(m.Config, want) {
		t.Errorf("config = %+v, want %+v", m.Config, want)
	}
	if m.ConfigLines["materialized"] != 1 {
		t.Errorf("config line = %d", m.ConfigLines["materialized"])
	}
	if strings.Contains(f.SQL, "config") || !strings.Contains(f.SQL, "select 1") {
		t.Errorf("blanked SQL = %q", f.SQL)
	}
}

// TestRawKeepsItsText: the inside of {% raw %} stays in the SQL the
// SQL-level scans read, as dbt copies it there; only the tags are blanked.
func TestRawKeepsItsText(t *testing.T) {
	src := "select '{% raw %}{{ not jinja }}{% endraw %}' as s"
	f := ScanSQL("m.sql", src)
	if want := "select '" + strings.Repeat(" ", len("{% raw %}")) + "{{ not jinja }}" + strings.Repeat(" ", len("{% endraw %}")) + "' as s"; f.SQL != want {
		t.Errorf("SQL = %q, want %q", f.SQL, want)
	}
	if len(f.Configs)+len(f.MacroCalls)+len(f.Unknowns) != 0 {
		t.Errorf("raw text scanned as code: %+v", f)
	}
}

// TestConfigUnknowns: what config() or YAML sets to something the scanner
// cannot know is reported as an Unknown at its line, and the model keeps the
// value known before it rather than a guess.
func TestConfigUnknowns(t *testing.T) {
	project := "name: shop\nmodels:\n  shop:\n    +materialized: ephemeral\n"
	tests := []struct {
		name    string
		sql     string
		yml     string // models/m.yml, when set
		project string // dbt_project.yml, when not the default
		check   func(t *testing.T, m *Model)
		unknown []Unknown // Reason is matched as a substring
	}{
		{name: "materialized from var", sql: "{{ config(materialized=var('m')) }}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "ephemeral" || m.UnknownConfig["materialized"] != "var ( 'm' )" {
					t.Errorf("materialized %q, unknown %v", m.Materialized, m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "models/m.sql", Line: 1, Reason: "config(materialized=var ( 'm' )) is not a literal"}}},
		{name: "unique_key from var is not stored as text", sql: "\n{{ config(materialized='incremental', unique_key=var('k')) }}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "incremental" || m.UniqueKey != nil || m.UnknownConfig["unique_key"] != "var ( 'k' )" {
					t.Errorf("config %+v, unknown %v", m.Config, m.UnknownConfig)
				}
				if _, ok := m.UnknownConfig["materialized"]; ok {
					t.Errorf("materialized is a literal: %v", m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "models/m.sql", Line: 2, Reason: "unique_key is not known statically"}}},
		{name: "if/else branches", sql: "{% if target.name == 'prod' %}\n{{ config(materialized='table') }}\n{% else %}\n{{ config(materialized='view') }}\n{% endif %}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "ephemeral" || m.UnknownConfig["materialized"] != "'table' | 'view'" {
					t.Errorf("materialized %q (the last branch must not win), unknown %v", m.Materialized, m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "models/m.sql", Line: 2, Reason: "inside {% if %}"}, {Path: "models/m.sql", Line: 4, Reason: "inside {% if %}"}}},
		{name: "for loop", sql: "{% for x in [1] %}{{ config(tags=['t']) }}{% endfor %}select 1",
			check: func(t *testing.T, m *Model) {
				if m.Tags != nil {
					t.Errorf("tags %v", m.Tags)
				}
			},
			unknown: []Unknown{{Path: "models/m.sql", Line: 1, Reason: "config(tags=[ 't' ])"}}},
		{name: "a later literal settles a conditional", sql: "{% if x %}{{ config(materialized='view') }}{% endif %}\n{{ config(materialized='table') }}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "table" || m.UnknownConfig != nil || m.ConfigLines["materialized"] != 2 {
					t.Errorf("materialized %q, unknown %v, line %d", m.Materialized, m.UnknownConfig, m.ConfigLines["materialized"])
				}
			}},
		{name: "a conditional after a literal may override it", sql: "{{ config(materialized='table') }}\n{% if x %}{{ config(materialized='view') }}{% endif %}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "table" || m.UnknownConfig["materialized"] != "'view'" {
					t.Errorf("materialized %q, unknown %v", m.Materialized, m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "models/m.sql", Line: 2, Reason: "inside {% if %}"}}},
		{name: "contract from var", sql: "{{ config(materialized='table', contract={'enforced': var('c')}) }}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.ContractEnforced || m.UnknownConfig["contract"] == "" {
					t.Errorf("contract %v, unknown %v", m.ContractEnforced, m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "models/m.sql", Line: 1, Reason: "config(contract="}}},
		{name: "enabled from var keeps the model", sql: "{{ config(enabled=var('on')) }}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if !m.Enabled || m.UnknownConfig["enabled"] == "" {
					t.Errorf("enabled %v, unknown %v", m.Enabled, m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "models/m.sql", Line: 1, Reason: "enabled is not known statically"}}},
		{name: "Jinja in YAML config", sql: "select 1", yml: "models:\n  - name: m\n    config:\n      materialized: \"{{ var('m') }}\"\n",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "ephemeral" || m.UnknownConfig["materialized"] != "{{ var('m') }}" {
					t.Errorf("materialized %q, unknown %v", m.Materialized, m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "models/m.yml", Line: 4, Reason: "config materialized is \"{{ var('m') }}\", which dbt renders at run time"}}},
		{name: "Jinja in a folder config is reported once", sql: "select 1", project: "name: shop\nmodels:\n  shop:\n    +schema: \"{{ env_var('S') }}\"\n",
			check: func(t *testing.T, m *Model) {
				if m.Schema != "" || m.UnknownConfig["schema"] == "" {
					t.Errorf("schema %q, unknown %v", m.Schema, m.UnknownConfig)
				}
			},
			unknown: []Unknown{{Path: "dbt_project.yml", Line: 4, Reason: "config schema is"}}},
		{name: "literals are known", sql: "{{ config(materialized='table', unique_key=['a', 'b'], alias=none) }}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "table" || len(m.UniqueKey) != 2 || m.UnknownConfig != nil {
					t.Errorf("config %+v, unknown %v", m.Config, m.UnknownConfig)
				}
			}},
		{name: "config in raw is text", sql: "{% raw %}{{ config(materialized=var('m')) }}{% endraw %}\nselect 1",
			check: func(t *testing.T, m *Model) {
				if m.Materialized != "ephemeral" || m.UnknownConfig != nil {
					t.Errorf("materialized %q, unknown %v", m.Materialized, m.UnknownConfig)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mapTree{"dbt_project.yml": []byte(project), "models/m.sql": []byte(tc.sql), "models/other.sql": []byte("select 2")}
			if tc.project != "" {
				tr["dbt_project.yml"] = []byte(tc.project)
			}
			if tc.yml != "" {
				tr["models/m.yml"] = []byte(tc.yml)
			}
			p, err := Parse(tr, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Problems) > 0 {
				t.Fatalf("problems: %+v", p.Problems)
			}
			m := p.Models["model.shop.m"]
			if m == nil {
				t.Fatalf("model m missing: %v", p.ModelIDs())
			}
			tc.check(t, m)
			if len(p.Unknowns) != len(tc.unknown) {
				t.Fatalf("unknowns = %+v, want %d", p.Unknowns, len(tc.unknown))
			}
			for i, want := range tc.unknown {
				got := p.Unknowns[i]
				if got.Path != want.Path || got.Line != want.Line || !strings.Contains(got.Reason, want.Reason) {
					t.Errorf("unknown %d = %+v, want %s:%d %q", i, got, want.Path, want.Line, want.Reason)
				}
			}
		})
	}
}

func TestMacroRefsAreFollowed(t *testing.T) {
	tr := mapTree{
		"dbt_project.yml":    []byte("name: shop\n"),
		"macros/m.sql":       []byte("{% macro outer() %}{{ inner() }}{% endmacro %}\n{% macro inner() %}select * from {{ ref('lookup') }}{% endmacro %}"),
		"models/lookup.sql":  []byte("select 1 as id"),
		"models/uses.sql":    []byte("select * from x where id in ({{ outer() }})"),
		"models/plain.sql":   []byte("select 1"),
		"models/unknown.sql": []byte("select * from {{ ref(var('which')) }}"),
	}
	p, err := Parse(tr, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Models["model.shop.uses"].DependsOn; !reflect.DeepEqual(got, []string{"model.shop.lookup"}) {
		t.Errorf("uses depends_on = %v", got)
	}
	if len(p.Models["model.shop.plain"].DependsOn) != 0 {
		t.Errorf("plain depends on %v", p.Models["model.shop.plain"].DependsOn)
	}
	if len(p.Unknowns) != 1 || p.Unknowns[0].Path != "models/unknown.sql" {
		t.Errorf("unknowns = %+v", p.Unknowns)
	}
}

func TestProblemsAreLocated(t *testing.T) {
	tests := []struct {
		name, file, data string
		line             int
		msg              string
	}{
		{"bad yaml", "models/a.yml", "models:\n  - name: a\n    columns: [\n", 3, "invalid YAML"},
		{"models not a list", "models/a.yml", "version: 2\nmodels:\n  name: a\n", 3, "models must be a list"},
		{"column without name", "models/a.yml", "models:\n  - name: a\n    columns:\n      - data_type: int\n", 4, "a column needs a name"},
		{"described but missing", "models/a.yml", "models:\n  - name: ghost\n", 2, "has no .sql file"},
		{"constraint without type", "models/a.yml", "models:\n  - name: a\n    constraints:\n      - columns: [id]\n", 4, "needs a type"},
		{"self-referring alias", "models/a.yml", "models:\n  - name: a\n    config: &x\n      meta: *x\n", 4, "refers to a value that contains it"},
		{"alias bomb", "models/a.yml", aliasBomb(), 10, "past the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mapTree{"dbt_project.yml": []byte("name: shop\n"), "models/a.sql": []byte("select 1 as id"), tc.file: []byte(tc.data)}
			p, err := Parse(tr, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range p.Problems {
				if pr.Path == tc.file && pr.Line == tc.line && strings.Contains(pr.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("problems = %+v, want %s:%d %q", p.Problems, tc.file, tc.line, tc.msg)
		})
	}
}

func TestFolderConfigAndPrecedence(t *testing.T) {
	tr := mapTree{
		"dbt_project.yml": []byte(`name: shop
model-paths: [transform]
models:
  shop:
    +materialized: view
    marts:
      materialized: table
      +tags: [marts]
      finance:
        +tags: [finance]
        +schema: fin
`),
		"transform/marts/finance/rev.sql": []byte("{{ config(materialized='incremental', unique_key='d') }} select 1"),
		"transform/marts/finance/rev.yml": []byte("models:\n  - name: rev\n    config:\n      materialized: table\n      tags: [yaml]\n"),
		"transform/marts/dim.sql":         []byte("select 1"),
		"transform/stg.sql":               []byte("select 1"),
	}
	p, err := Parse(tr, "")
	if err != nil {
		t.Fatal(err)
	}
	rev := p.Models["model.shop.rev"]
	if rev.Materialized != "incremental" || rev.Schema != "fin" || !reflect.DeepEqual(rev.Tags, []string{"marts", "finance", "yaml"}) {
		t.Errorf("rev = %+v", rev.Config)
	}
	if p.Models["model.shop.dim"].Materialized != "table" || p.Models["model.shop.stg"].Materialized != "view" {
		t.Errorf("dim=%s stg=%s", p.Models["model.shop.dim"].Materialized, p.Models["model.shop.stg"].Materialized)
	}
}

// TestManifestMatchesParse reads the hand-written v12 manifest of the shop
// fixture and parses the same project's files: both give the same project,
// model for model, field for field (dbt's defaults and its "[]" for an empty
// list included), once the manifest's lines are located in the YAML.
func TestManifestMatchesParse(t *testing.T) {
	tr := readDir(t, "../../../testdata/dbt/shop")
	parsed, err := Parse(tr, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(parsed.Problems) > 0 {
		t.Fatalf("problems: %+v", parsed.Problems)
	}
	fromManifest, err := ReadManifest("", tr["target/manifest.json"])
	if err != nil {
		t.Fatal(err)
	}
	fromManifest.Locate(tr)
	if !reflect.DeepEqual(parsed.ModelIDs(), fromManifest.ModelIDs()) {
		t.Fatalf("model IDs: parsed %v, manifest %v", parsed.ModelIDs(), fromManifest.ModelIDs())
	}
	for _, id := range parsed.ModelIDs() {
		a, b := parsed.Models[id], fromManifest.Models[id]
		t.Run(id, func(t *testing.T) {
			if a.Access != DefaultAccess || a.OnSchemaChange != DefaultOnSchemaChange {
				t.Errorf("parsed defaults: access %q, on_schema_change %q", a.Access, a.OnSchemaChange)
			}
			if !reflect.DeepEqual(a.Config, b.Config) {
				t.Errorf("config parsed %+v\nmanifest %+v", a.Config, b.Config)
			}
			if a.Relation() != b.Relation() {
				t.Errorf("relation parsed %s, manifest %s", a.Relation(), b.Relation())
			}
			if !reflect.DeepEqual(a.DependsOn, b.DependsOn) {
				t.Errorf("depends_on parsed %v, manifest %v", a.DependsOn, b.DependsOn)
			}
			if colKey(a) != colKey(b) {
				t.Errorf("columns parsed %s, manifest %s", colKey(a), colKey(b))
			}
			if testKey(a) != testKey(b) {
				t.Errorf("tests parsed %s, manifest %s", testKey(a), testKey(b))
			}
			// Everything else too, lines included; a manifest may list
			// columns in any order, and the raw SQL is compared by checksum.
			ca, cb := comparable(a), comparable(b)
			va, vb := reflect.ValueOf(ca), reflect.ValueOf(cb)
			for i := 0; i < va.NumField(); i++ {
				if !va.Type().Field(i).IsExported() {
					continue
				}
				if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
					t.Errorf("%s: parsed %+v, manifest %+v", va.Type().Field(i).Name, va.Field(i).Interface(), vb.Field(i).Interface())
				}
			}
		})
	}
	if !reflect.DeepEqual(sortedKeys(parsed.Sources), sortedKeys(fromManifest.Sources)) || !reflect.DeepEqual(sortedKeys(parsed.Exposures), sortedKeys(fromManifest.Exposures)) {
		t.Errorf("sources/exposures differ")
	}
	for id, s := range parsed.Sources {
		if !reflect.DeepEqual(s, fromManifest.Sources[id]) {
			t.Errorf("%s: parsed %+v, manifest %+v", id, s, fromManifest.Sources[id])
		}
	}
	for id, e := range parsed.Exposures {
		if !reflect.DeepEqual(e, fromManifest.Exposures[id]) {
			t.Errorf("%s: parsed %+v, manifest %+v", id, e, fromManifest.Exposures[id])
		}
	}
}

// comparable is m without what only one reading has (the SQL text; the
// manifest's raw_code is checked by the checksum) and with columns in name
// order.
func comparable(m *Model) Model {
	c := *m
	c.SQL, c.RawSQL = "", ""
	c.Columns = append([]Column(nil), m.Columns...)
	sort.Slice(c.Columns, func(i, j int) bool { return c.Columns[i].Name < c.Columns[j].Name })
	return c
}

func colKey(m *Model) string {
	var parts []string
	for _, c := range m.Columns {
		var cs []string
		for _, k := range c.Constraints {
			cs = append(cs, k.Type)
		}
		parts = append(parts, c.Name+":"+strings.ToLower(c.DataType)+":"+strings.Join(cs, "+"))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func testKey(m *Model) string {
	var parts []string
	for _, t := range m.AllTests() {
		parts = append(parts, t.Name+"("+t.Column+","+strings.Join(t.Values, "|")+","+t.To+","+t.Field+")")
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func TestManifestRejectsOtherSchemas(t *testing.T) {
	_, err := ReadManifest("", []byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v11.json"}}`))
	if err == nil || !strings.Contains(err.Error(), "v11") {
		t.Fatalf("err = %v", err)
	}
	if _, err := ReadManifest("", []byte(`{`)); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func FuzzScanSQL(f *testing.F) {
	for _, s := range []string{
		"select * from {{ ref('a') }}",
		"{% if x %}{{ ref('a', v=1) }}{% endif %}",
		"{% macro m(a) %}{{ source('s', 't') }}{% endmacro %}",
		"{{ config(materialized='incremental', unique_key=['a','b'], contract={'enforced': true}) }}",
		"{{ ref(", "{% if", "{# unterminated", "{{ 'a' ~ \"}}\" }}", "{{ f(a=[1,{'b': (2,)}]) }}",
		"{% raw %}{{ ref('a') }}{% endraw %}", "{%- raw -%}\n{% if %}", "{% if x %}{{ config(materialized=var('m')) }}{% else %}{% endif %}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		facts := ScanSQL("m.sql", src)
		if len(facts.SQL) != len(src) {
			t.Fatalf("blanked SQL changed length: %d vs %d", len(facts.SQL), len(src))
		}
		if strings.Count(facts.SQL, "\n") != strings.Count(src, "\n") {
			t.Fatalf("blanking lost lines")
		}
		lines := strings.Count(src, "\n") + 1
		for _, r := range facts.Refs {
			if r.Line < 1 || r.Line > lines || r.Name == "" && r.Package == "" {
				t.Fatalf("bad ref %+v", r)
			}
		}
	})
}

func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{
		"models:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [not_null]\n",
		"sources:\n  - name: s\n    tables:\n      - name: t\n        freshness: {warn_after: {count: 1, period: hour}}\n",
		"models:\n  - name: v\n    versions:\n      - v: 1\n        columns:\n          - include: all\n            exclude: [x]\n",
		"exposures:\n  - name: e\n    depends_on: [\"ref('a')\"]\n", "models: [", "- 1\n- 2", "models:\n  - name: [",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf := ParseProperties("p.yml", data)
		for _, p := range pf.Problems {
			if p.Path != "p.yml" || p.Line < 0 || p.Msg == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

// aliasBomb is a small properties file whose aliases expand to ~10^7 nodes;
// the limit is crossed at l5, on line 10.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("models:\n  - name: a\n    config:\n      meta:\n        l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&b, "        l%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestProjectFileWithSelfReferringAlias(t *testing.T) {
	tr := mapTree{"dbt_project.yml": []byte("name: shop\nmodels:\n  shop: &x\n    sub: *x\n"), "models/a.sql": []byte("select 1 as id")}
	p, err := Parse(tr, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range p.Problems {
		if pr.Path == "dbt_project.yml" && pr.Line == 4 && strings.Contains(pr.Msg, "contains it") {
			return
		}
	}
	t.Fatalf("problems = %+v, want dbt_project.yml:4 about the alias", p.Problems)
}
