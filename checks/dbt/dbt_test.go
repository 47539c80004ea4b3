package dbt

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/policy"
)

const sample = "../../testdata/sample-repo"

func sampleTree(t *testing.T) checks.MapTree {
	t.Helper()
	tr, err := checks.ReadDir(sample)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// edit returns a copy of tree with files replaced (nil removes a file).
func edit(tree checks.MapTree, files map[string]string) checks.MapTree {
	out := checks.MapTree{}
	for k, v := range tree {
		out[k] = v
	}
	for k, v := range files {
		if v == "\x00" {
			delete(out, k)
			continue
		}
		out[k] = []byte(v)
	}
	return out
}

// replace edits one file of tree by string replacement, failing when old is absent.
func replace(t *testing.T, tree checks.MapTree, path, old, new string) string {
	t.Helper()
	s := string(tree[path])
	if !strings.Contains(s, old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	return strings.Replace(s, old, new, 1)
}

func parse(t *testing.T, tree checks.Tree) *project.Project {
	t.Helper()
	p, err := project.Parse(tree, "dbt")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, base, head checks.Tree) (checks.Result, Details) {
	t.Helper()
	res := checks.Run(context.Background(), New(), checks.NewInput(base, head))
	d, ok := res.Details.(Details)
	if !ok {
		t.Fatalf("no details: %s %s", res.Title, res.Summary)
	}
	return res, d
}

func TestSampleIsClean(t *testing.T) {
	tr := sampleTree(t)
	res, d := run(t, tr, tr)
	if res.Conclusion != checks.Success || len(res.Annotations) > 0 {
		t.Fatalf("sample repo not clean: %s\n%s", res.Conclusion, res.Summary)
	}
	if len(d.Impact.Modified) != 0 || len(d.Models) != 10 {
		t.Errorf("impact %v, models %d", d.Impact.Modified, len(d.Models))
	}
}

func TestImpactInDependencyOrder(t *testing.T) {
	tr := sampleTree(t)
	stg := "dbt/models/staging/orders_db/stg_orders.sql"
	tests := []struct {
		name       string
		head       map[string]string
		modified   []string
		reasons    []string
		downstream []string
		order      []string
		exposures  []string
		seeds      []string
	}{
		{
			name:       "staging body",
			head:       map[string]string{stg: replace(t, tr, stg, "lower(status)", "upper(status)")},
			modified:   []string{"model.parcelflow.stg_orders"},
			reasons:    []string{"body"},
			downstream: []string{"model.parcelflow.dim_customers", "model.parcelflow.fct_daily_revenue", "model.parcelflow.fct_orders.v1", "model.parcelflow.fct_orders.v2"},
			order:      []string{"model.parcelflow.stg_orders", "model.parcelflow.fct_orders.v1", "model.parcelflow.fct_orders.v2", "model.parcelflow.dim_customers", "model.parcelflow.fct_daily_revenue"},
			exposures:  []string{"exposure.parcelflow.finance_revenue_report", "exposure.parcelflow.ops_orders_dashboard"},
		},
		{
			name:      "whitespace only is no change",
			head:      map[string]string{stg: string(tr[stg]) + "\n\n"},
			modified:  []string{},
			exposures: []string{},
		},
		{
			name:       "macro change modifies callers",
			head:       map[string]string{"dbt/macros/cents_to_dollars.sql": replace(t, tr, "dbt/macros/cents_to_dollars.sql", "100.0", "100")},
			modified:   []string{"model.parcelflow.stg_order_items", "model.parcelflow.stg_orders"},
			reasons:    []string{"macro:cents_to_dollars"},
			downstream: []string{"model.parcelflow.dim_customers", "model.parcelflow.fct_daily_revenue", "model.parcelflow.fct_orders.v1", "model.parcelflow.fct_orders.v2", "model.parcelflow.int_order_items_summed"},
			exposures:  []string{"exposure.parcelflow.finance_revenue_report", "exposure.parcelflow.ops_orders_dashboard"},
		},
		{
			name: "config change",
			head: map[string]string{"dbt/models/marts/finance/fct_daily_revenue.sql": replace(t, tr, "dbt/models/marts/finance/fct_daily_revenue.sql",
				"on_schema_change='append_new_columns'", "on_schema_change='sync_all_columns'")},
			modified:  []string{"model.parcelflow.fct_daily_revenue"},
			reasons:   []string{"config"},
			exposures: []string{"exposure.parcelflow.finance_revenue_report"},
		},
		{
			name:      "new model",
			head:      map[string]string{"dbt/models/marts/core/fct_returns.sql": "select * from {{ ref('fct_orders') }} where order_status = 'refunded'"},
			modified:  []string{"model.parcelflow.fct_returns"},
			exposures: []string{},
		},
		{
			// A seed is what its rows are: the models that ref it (here
			// through the is_test_customer macro) are downstream.
			name:       "seed rows change",
			head:       map[string]string{"dbt/seeds/test_customers.csv": string(tr["dbt/seeds/test_customers.csv"]) + "c_9999,qa\n"},
			modified:   []string{},
			seeds:      []string{"seed.parcelflow.test_customers"},
			downstream: []string{"model.parcelflow.dim_customers", "model.parcelflow.fct_daily_revenue", "model.parcelflow.fct_orders.v1", "model.parcelflow.fct_orders.v2", "model.parcelflow.stg_orders"},
			exposures:  []string{"exposure.parcelflow.finance_revenue_report", "exposure.parcelflow.ops_orders_dashboard"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d := run(t, tr, edit(tr, tc.head))
			if !reflect.DeepEqual(d.Impact.Modified, tc.modified) {
				t.Errorf("modified = %v, want %v", d.Impact.Modified, tc.modified)
			}
			if tc.reasons != nil && (len(d.Impact.Changes) == 0 || !reflect.DeepEqual(d.Impact.Changes[0].Reasons, tc.reasons)) {
				t.Errorf("changes = %+v, want reasons %v", d.Impact.Changes, tc.reasons)
			}
			if tc.downstream == nil {
				tc.downstream = []string{}
			}
			if !reflect.DeepEqual(d.Impact.Downstream, tc.downstream) {
				t.Errorf("downstream = %v, want %v", d.Impact.Downstream, tc.downstream)
			}
			if tc.order != nil && !reflect.DeepEqual(d.Impact.Order, tc.order) {
				t.Errorf("order = %v, want %v", d.Impact.Order, tc.order)
			}
			if !reflect.DeepEqual(d.Impact.Exposures, tc.exposures) {
				t.Errorf("exposures = %v, want %v", d.Impact.Exposures, tc.exposures)
			}
			if tc.seeds == nil {
				tc.seeds = []string{}
			}
			if !reflect.DeepEqual(d.Impact.Seeds, tc.seeds) {
				t.Errorf("seeds = %v, want %v", d.Impact.Seeds, tc.seeds)
			}
			pos := map[string]int{}
			for i, id := range d.Impact.Order {
				pos[id] = i
			}
			head := parse(t, edit(tr, tc.head))
			for _, id := range d.Impact.Order {
				for _, dep := range head.Models[id].DependsOn {
					if p, ok := pos[dep]; ok && p > pos[id] {
						t.Errorf("%s listed before its parent %s", id, dep)
					}
				}
			}
		})
	}
}

// TestBreakingRules flips each of dbt's contract rules on, and checks the
// same edit is accepted when it ships as a new version or does not break.
func TestBreakingRules(t *testing.T) {
	tr := sampleTree(t)
	core := "dbt/models/marts/core/_core__models.yml"
	dimSQL := "dbt/models/marts/core/dim_customers.sql"
	// dim_customers with a model-level constraint on base, for the
	// model-level cases: their head is the sample, which has none.
	modelLevel := func(constraints string) map[string]string {
		return map[string]string{core: replace(t, tr, core, "      materialized: table\n      contract: {enforced: true}\n",
			"      materialized: table\n      contract: {enforced: true}\n    constraints:\n"+constraints)}
	}
	sample := map[string]string{core: string(tr[core])}
	type breakingCase struct {
		name    string
		head    map[string]string
		adapter Adapter
		rule    string // "" means no breaking finding
		message string
		base    map[string]string // edits of the sample on base; nil means the sample
	}
	tests := []breakingCase{
		{"contract enforcement removed", map[string]string{core: replace(t, tr, core, "      materialized: table\n      contract: {enforced: true}", "      materialized: table\n      contract: {enforced: false}")},
			"", RuleContractRemoved, "dim_customers: contract enforcement was removed", nil},
		{"contract kept", map[string]string{core: replace(t, tr, core, "description: One row per customer with order history.", "description: Customers.")}, "", "", "", nil},
		{"column removed", map[string]string{core: replace(t, tr, core, "      - name: country_code\n        data_type: varchar\n", "")},
			"", RuleColumnRemoved, "column country_code was removed", nil},
		{"column renamed", map[string]string{core: replace(t, tr, core, "      - name: country_code\n", "      - name: country\n")},
			"", RuleColumnRemoved, "a rename to country is a removal plus an addition", nil},
		{"column added is fine", map[string]string{core: replace(t, tr, core, "      - name: lifetime_orders\n        data_type: integer\n", "      - name: lifetime_orders\n        data_type: integer\n      - name: segment\n        data_type: varchar\n")},
			"", "", "", nil},
		{"data_type changed", map[string]string{core: replace(t, tr, core, "      - name: lifetime_orders\n        data_type: integer", "      - name: lifetime_orders\n        data_type: varchar")},
			"", RuleTypeChanged, "column lifetime_orders changed type from integer to varchar", nil},
		{"type spelled differently is the same", map[string]string{core: replace(t, tr, core, "      - name: lifetime_orders\n        data_type: integer", "      - name: lifetime_orders\n        data_type: INTEGER")},
			"", "", "", nil},
		{"not_null removed", map[string]string{core: replace(t, tr, core, "      - name: customer_id\n        data_type: varchar\n        constraints:\n          - type: not_null\n        data_tests: [unique]\n", "      - name: customer_id\n        data_type: varchar\n        data_tests: [unique]\n")},
			"", RuleConstraintRemoved, "the enforced not_null constraint on column customer_id was removed", nil},
		{"primary_key removed on snowflake is not enforced", map[string]string{core: replace(t, tr, core, "          - type: not_null\n          - type: primary_key\n", "          - type: not_null\n")},
			"", "", "", nil},
		{"primary_key removed on duckdb is enforced", map[string]string{core: replace(t, tr, core, "          - type: not_null\n          - type: primary_key\n", "          - type: not_null\n")},
			AdapterDuckDB, RuleConstraintRemoved, "the enforced primary_key constraint on column order_id was removed", nil},
		{"materialized to view", map[string]string{dimSQL: "{{ config(materialized='view') }}\n" + string(tr[dimSQL])},
			"", RuleMaterialization, "materialization moved from table to view", nil},
		{"materialized to incremental is fine", map[string]string{dimSQL: "{{ config(materialized='incremental', unique_key='customer_id') }}\n" + string(tr[dimSQL])},
			"", "", "", nil},
		{"v2 changes with v1 kept ship as a new version", map[string]string{core: replace(t, tr, core, "      - name: last_scan_status\n        data_type: varchar\n", "      - name: last_scan_status\n        data_type: integer\n")},
			"", RuleTypeChanged, "fct_orders v2: column last_scan_status changed type", nil},
		{name: "model-level not_null removed", base: modelLevel("      - type: not_null\n        columns: [email]\n"), head: sample,
			rule: RuleConstraintRemoved, message: "dim_customers: the enforced model-level not_null constraint on (email) was removed"},
		{name: "model-level not_null kept", base: modelLevel("      - type: not_null\n        columns: [email]\n"), head: modelLevel("      - type: not_null\n        columns: [email]\n")},
		{name: "model-level not_null moved to another column", base: modelLevel("      - type: not_null\n        columns: [email]\n"), head: modelLevel("      - type: not_null\n        columns: [country_code]\n"),
			rule: RuleConstraintRemoved, message: "model-level not_null constraint on (email) was removed"},
		{name: "model-level primary_key removed on snowflake is not enforced", base: modelLevel("      - type: primary_key\n        columns: [customer_id]\n"), head: map[string]string{}},
		{name: "model-level primary_key removed on duckdb is enforced", base: modelLevel("      - type: primary_key\n        columns: [customer_id]\n"), head: sample,
			adapter: AdapterDuckDB, rule: RuleConstraintRemoved, message: "the enforced model-level primary_key constraint on (customer_id) was removed"},
		{name: "model-level check removed on duckdb", base: modelLevel("      - type: check\n        expression: \"lifetime_orders >= 0\"\n"), head: sample,
			adapter: AdapterDuckDB, rule: RuleConstraintRemoved, message: "the enforced model-level check constraint was removed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			adapter := tc.adapter
			if adapter == "" {
				adapter = AdapterSnowflake
			}
			base := edit(tr, tc.base)
			fs := BreakingChanges(parse(t, base), parse(t, edit(base, tc.head)), adapter)
			if tc.rule == "" {
				if len(fs) > 0 {
					t.Fatalf("unexpected findings: %+v", fs)
				}
				return
			}
			// a column inherited by both versions of fct_orders breaks both
			if len(fs) == 0 || !strings.Contains(fs[0].Message, tc.message) {
				t.Fatalf("findings = %+v, want %s containing %q", fs, tc.rule, tc.message)
			}
			for _, f := range fs {
				if f.Rule != tc.rule || !f.Breaking {
					t.Fatalf("findings = %+v, want only %s", fs, tc.rule)
				}
			}
		})
	}
}

// TestNewVersionIsNotBreaking: removing a column in a new version, with the
// old version kept, passes; the same edit made in place fails.
func TestNewVersionIsNotBreaking(t *testing.T) {
	base := checks.MapTree{
		"dbt/dbt_project.yml":   []byte("name: shop\n"),
		"dbt/models/orders.sql": []byte("select 1 as id, 2 as amount"),
		"dbt/models/orders.yml": []byte("models:\n  - name: orders\n    config:\n      materialized: table\n      contract: {enforced: true}\n" +
			"    columns:\n      - name: id\n        data_type: int\n      - name: amount\n        data_type: int\n"),
	}
	inPlace := edit(base, map[string]string{"dbt/models/orders.yml": "models:\n  - name: orders\n    config:\n      materialized: table\n      contract: {enforced: true}\n" +
		"    columns:\n      - name: id\n        data_type: int\n"})
	versioned := edit(base, map[string]string{
		"dbt/models/orders_v2.sql": "select 1 as id",
		"dbt/models/orders.yml": "models:\n  - name: orders\n    latest_version: 2\n    config:\n      materialized: table\n      contract: {enforced: true}\n" +
			"    columns:\n      - name: id\n        data_type: int\n      - name: amount\n        data_type: int\n" +
			"    versions:\n      - v: 1\n        defined_in: orders\n      - v: 2\n        columns:\n          - include: all\n            exclude: [amount]\n",
	})
	if fs := BreakingChanges(parse(t, base), parse(t, inPlace), AdapterSnowflake); len(fs) != 1 || fs[0].Rule != RuleColumnRemoved {
		t.Errorf("in place: %+v", fs)
	}
	if fs := BreakingChanges(parse(t, base), parse(t, versioned), AdapterSnowflake); len(fs) != 0 {
		t.Errorf("as a new version: %+v", fs)
	}
}

func TestBreakingNeedsOwnerAndConsumers(t *testing.T) {
	tr := sampleTree(t)
	core := "dbt/models/marts/core/_core__models.yml"
	head := edit(tr, map[string]string{core: replace(t, tr, core, "      - name: item_count\n        data_type: integer\n", "")})
	res, d := run(t, tr, head)
	if res.Conclusion != checks.ActionRequired {
		t.Errorf("conclusion = %s, want action_required", res.Conclusion)
	}
	got := append([]policy.ApprovalRequirement(nil), res.Approvals...)
	// item_count is declared once and inherited by both versions of fct_orders.
	if len(got) != 2 {
		t.Fatalf("approvals = %+v", got)
	}
	v2 := got[1]
	if v2.Name != "breaking change to fct_orders v2" || !reflect.DeepEqual(v2.Teams, []string{"data-eng", "analytics", "finance-analytics"}) ||
		!strings.HasPrefix(v2.Subject, "fct_orders v2@") || len(v2.Subject) != len("fct_orders v2@")+64 {
		t.Errorf("approval = %+v", v2)
	}
	var high bool
	for _, s := range res.Signals {
		high = high || s.Kind == policy.SignalBreakingSchema && s.High
	}
	if !high {
		t.Errorf("signals = %+v", res.Signals)
	}
	if len(d.Findings) != 2 {
		t.Errorf("findings = %+v", d.Findings)
	}
}

func TestDanglingAndRemoved(t *testing.T) {
	tr := sampleTree(t)
	tests := []struct {
		name string
		head map[string]string
		rule string
		path string
	}{
		{"removed model still referenced", map[string]string{"dbt/models/intermediate/int_order_items_summed.sql": "\x00"}, RuleRemovedReferenced, "dbt/models/marts/core/fct_orders.sql"},
		{"renamed model still referenced", map[string]string{"dbt/models/staging/orders_db/stg_customers.sql": "\x00",
			"dbt/models/staging/orders_db/stg_shop_customers.sql": string(tr["dbt/models/staging/orders_db/stg_customers.sql"]),
			"dbt/models/staging/orders_db/_orders_db__models.yml": replace(t, tr, "dbt/models/staging/orders_db/_orders_db__models.yml", "name: stg_customers", "name: stg_shop_customers")},
			RuleRemovedReferenced, "dbt/models/marts/core/dim_customers.sql"},
		{"exposure refs a removed model", map[string]string{"dbt/models/marts/finance/fct_daily_revenue.sql": "\x00",
			"dbt/models/marts/finance/_finance__models.yml": "version: 2\n"}, RuleRemovedReferenced, "dbt/models/exposures.yml"},
		{"ref to a model that never existed", map[string]string{"dbt/models/marts/core/fct_refunds.sql": "select * from {{ ref('fct_nothing') }}"}, RuleUnknownRef, "dbt/models/marts/core/fct_refunds.sql"},
		{"removed model nobody uses", map[string]string{"dbt/models/marts/finance/fct_daily_revenue.sql": "\x00", "dbt/models/marts/finance/_finance__models.yml": "version: 2\n",
			"dbt/models/exposures.yml": replace(t, tr, "dbt/models/exposures.yml", "      - ref('fct_daily_revenue')", "      - ref('fct_orders')")}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := Dangling(parse(t, tr), parse(t, edit(tr, tc.head)))
			if tc.rule == "" {
				if len(fs) > 0 {
					t.Fatalf("findings: %+v", fs)
				}
				return
			}
			for _, f := range fs {
				if f.Rule == tc.rule && f.Path == tc.path && f.Line > 0 {
					return
				}
			}
			t.Fatalf("findings = %+v, want %s at %s", fs, tc.rule, tc.path)
		})
	}
}

func TestLatestVersionMoved(t *testing.T) {
	tr := sampleTree(t)
	core := "dbt/models/marts/core/_core__models.yml"
	v3 := map[string]string{
		"dbt/models/marts/core/fct_orders_v3.sql": string(tr["dbt/models/marts/core/fct_orders.sql"]),
		core: replace(t, tr, core, "    latest_version: 2\n", "    latest_version: 3\n") + "      - v: 3\n",
	}
	moved := edit(tr, map[string]string{})
	for k, v := range v3 {
		moved[k] = []byte(v)
	}
	moved[core] = []byte(strings.Replace(string(moved[core]), "      - v: 2\n        defined_in: fct_orders\n      - v: 3\n", "      - v: 2\n        defined_in: fct_orders\n      - v: 3\n        defined_in: fct_orders_v3\n", 1))
	fs := LatestMoved(parse(t, tr), parse(t, moved))
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "dim_customers, exposure ops_orders_dashboard still pin v2") || !strings.Contains(fs[0].Message, "fct_daily_revenue now read v3") {
		t.Fatalf("findings = %+v", fs)
	}
	// Adding v3 without moving latest_version is not flagged.
	kept := edit(moved, map[string]string{core: strings.Replace(string(moved[core]), "latest_version: 3", "latest_version: 2", 1)})
	if fs := LatestMoved(parse(t, tr), parse(t, kept)); len(fs) != 0 {
		t.Fatalf("findings = %+v", fs)
	}
}

func TestFullRefresh(t *testing.T) {
	tr := sampleTree(t)
	rev := "dbt/models/marts/finance/fct_daily_revenue.sql"
	yml := "dbt/models/marts/finance/_finance__models.yml"
	tests := []struct {
		name string
		head map[string]string
		want string
	}{
		{"unique_key changed", map[string]string{rev: replace(t, tr, rev, "unique_key='revenue_date'", "unique_key=['revenue_date', 'orders']")}, "unique_key changed"},
		{"unique_key moved to an expression", map[string]string{rev: replace(t, tr, rev, "unique_key='revenue_date'", "unique_key=var('revenue_key')")}, "unique_key changed from revenue_date to var ( 'revenue_key' )"},
		{"logic changed", map[string]string{rev: replace(t, tr, rev, "'cancelled', 'refunded'", "'cancelled'")}, "its SQL changed"},
		{"columns changed with on_schema_change ignore", map[string]string{
			rev: replace(t, tr, rev, "on_schema_change='append_new_columns'", "on_schema_change='ignore'"),
			yml: string(tr[yml]) + "      - name: refunds\n        data_type: integer\n"}, "on_schema_change is ignore"},
		{"columns added with append_new_columns", map[string]string{yml: string(tr[yml]) + "      - name: refunds\n        data_type: integer\n"}, ""},
		{"comment only", map[string]string{rev: "-- revenue per day\n" + string(tr[rev])}, "its SQL changed"},
		{"table model", map[string]string{"dbt/models/marts/core/dim_customers.sql": string(tr["dbt/models/marts/core/dim_customers.sql"]) + "-- x\n"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := FullRefresh(parse(t, tr), parse(t, edit(tr, tc.head)))
			if tc.want == "" {
				if len(fs) > 0 {
					t.Fatalf("findings = %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Rule != RuleFullRefresh || !strings.Contains(fs[0].Message, tc.want) {
				t.Fatalf("findings = %+v, want %q", fs, tc.want)
			}
		})
	}
}

func TestHazards(t *testing.T) {
	targets := []string{"raw.orders_db.orders", "raw.events.landing"}
	tests := []struct {
		name, sql, rule string
		line            int
	}{
		{"create or replace load target", "select 1;\ncreate or replace table RAW.ORDERS_DB.ORDERS as select * from x", RuleLoadHistory, 2},
		{"create or replace other table", "create or replace table analytics.scratch as select 1", "", 0},
		{"drop and recreate", "drop table if exists events.landing;\n\ncreate table events.landing (v variant)", RuleLoadHistory, 1},
		{"drop only", "drop table if exists events.landing", "", 0},
		{"copy force", "copy into raw.events.landing\nfrom @stage\nfile_format = (type = json)\nforce = true;", RuleCopyForce, 4},
		{"copy uncertain", "copy into raw.events.landing from @stage LOAD_UNCERTAIN_FILES = TRUE", RuleLoadUncertain, 1},
		{"copy plain", "copy into raw.events.landing from @stage file_format = (type = json)", "", 0},
		{"merge table source", "merge into marts.orders t using staging.orders s on t.order_id = s.order_id when matched then update set amount = s.amount", RuleMergeNotDeduped, 1},
		{"merge dedup source", "merge into marts.orders t using (select * from staging.orders qualify row_number() over (partition by order_id order by updated_at desc) = 1) s on t.order_id = s.order_id when matched then update set amount = s.amount", "", 0},
		{"merge dedup on other key", "merge into marts.orders t using (select * from staging.orders qualify row_number() over (partition by customer_id order by updated_at desc) = 1) s on t.order_id = s.order_id when matched then update set amount = s.amount", RuleMergeNotDeduped, 1},
		{"merge group by key", "merge into marts.orders as t using (select order_id, max(amount) as amount from staging.orders group by order_id) as s on t.order_id = s.order_id when matched then update set amount = s.amount", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := Hazards([]SQLFile{{Path: "x.sql", SQL: tc.sql}}, targets)
			if tc.rule == "" {
				if len(fs) > 0 {
					t.Fatalf("findings = %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Rule != tc.rule || fs[0].Line != tc.line {
				t.Fatalf("findings = %+v, want %s at line %d", fs, tc.rule, tc.line)
			}
		})
	}
	// COPY INTO targets are load targets too.
	files := []SQLFile{{Path: "a.sql", SQL: "copy into raw.web.clicks from @s"}, {Path: "b.sql", SQL: "create or replace table raw.web.clicks (v variant)"}}
	if fs := Hazards(files, LoadTargets(&project.Project{Sources: map[string]*project.Source{}}, files)); len(fs) != 1 || fs[0].Path != "b.sql" {
		t.Fatalf("findings = %+v", fs)
	}
}

func TestIncrementalAppends(t *testing.T) {
	tests := []struct {
		config string
		flag   bool
	}{
		{"materialized='incremental'", true},
		{"materialized='incremental', incremental_strategy='append'", true},
		{"materialized='incremental', incremental_strategy='merge'", true},
		{"materialized='incremental', unique_key='id'", false},
		{"materialized='incremental', incremental_strategy='microbatch', event_time='ts'", false},
		{"materialized='table'", false},
		// set, only not known statically: an unknown, not a finding
		{"materialized='incremental', unique_key=var('key')", false},
		{"materialized='incremental', incremental_strategy=var('strategy')", false},
	}
	for _, tc := range tests {
		t.Run(tc.config, func(t *testing.T) {
			tr := checks.MapTree{"dbt_project.yml": []byte("name: shop\n"), "models/m.sql": []byte("\n{{ config(" + tc.config + ") }}\nselect 1")}
			p, err := project.Parse(tr, "")
			if err != nil {
				t.Fatal(err)
			}
			fs := IncrementalAppends(p, nil)
			if tc.flag != (len(fs) == 1) || tc.flag && fs[0].Line != 2 {
				t.Fatalf("findings = %+v", fs)
			}
		})
	}
}

func TestDAGImpact(t *testing.T) {
	tr := sampleTree(t)
	dags := map[string]string{
		"dags/dbt_finance.py": `from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG(dag_id="dbt_finance", schedule="@hourly") as dag:
    BashOperator(task_id="build", bash_command="cd /dbt && dbt build --select tag:finance --target prod")
`,
		"dags/dbt_core.py": `from airflow import DAG
with DAG("dbt_core") as dag:
    BashOperator(task_id="run", bash_command="dbt run -s path:models/marts/core --exclude dim_customers")
`,
		"dags/dbt_staging.py": `from airflow.decorators import dag
@dag(schedule="@daily")
def dbt_staging():
    BashOperator(task_id="run", bash_command="dbt run --models +stg_parcel_scans")
`,
		"dags/cosmos_orders.py": `from airflow import DAG
from cosmos import DbtTaskGroup, RenderConfig
with DAG(dag_id="cosmos_orders") as dag:
    DbtTaskGroup(render_config=RenderConfig(select=["stg_orders+"], exclude=["fct_daily_revenue"]))
`,
	}
	head := edit(tr, dags)
	stg := "dbt/models/staging/orders_db/stg_orders.sql"
	head[stg] = []byte(replace(t, tr, stg, "lower(status)", "upper(status)"))
	base := edit(tr, dags)
	_, d := run(t, base, head)
	got := map[string][]string{}
	for _, dag := range d.Impact.DAGs {
		got[dag.DagID] = dag.Models
	}
	want := map[string][]string{
		// The sample's own DAG builds its commands from a constant:
		// f"{DBT} run --select marts.finance", DBT = "cd … && dbt --no-use-colors".
		"dbt_orders_build": {"model.parcelflow.fct_daily_revenue"},
		"dbt_finance":      {"model.parcelflow.fct_daily_revenue"},
		"dbt_core":         {"model.parcelflow.fct_orders.v1", "model.parcelflow.fct_orders.v2"},
		"cosmos_orders":    {"model.parcelflow.dim_customers", "model.parcelflow.fct_orders.v1", "model.parcelflow.fct_orders.v2", "model.parcelflow.stg_orders"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("dags = %v\nwant %v", got, want)
	}
	// A DAG selecting a removed model by name is flagged.
	gone := edit(head, map[string]string{"dbt/models/staging/events/stg_parcel_scans.sql": "\x00"})
	fs := RemovedSelected(ScanDAG("dags/dbt_staging.py", []byte(dags["dags/dbt_staging.py"])), parse(t, tr), parse(t, gone))
	if len(fs) != 1 || fs[0].Path != "dags/dbt_staging.py" || fs[0].Line != 4 {
		t.Fatalf("findings = %+v", fs)
	}
}

func TestSelectorSyntax(t *testing.T) {
	p := parse(t, sampleTree(t))
	sel := NewSelection(p, NewGraph(p), map[string]bool{"model.parcelflow.stg_customers": true})
	tests := []struct {
		sel, excl []string
		want      []string
	}{
		{[]string{"stg_customers+"}, nil, []string{"dim_customers", "stg_customers"}},
		{[]string{"+dim_customers"}, nil, []string{"dim_customers", "fct_orders.v2", "int_order_items_summed", "int_parcel_latest_scan", "stg_customers", "stg_order_items", "stg_orders", "stg_parcel_scans"}},
		{[]string{"1+dim_customers"}, nil, []string{"dim_customers", "fct_orders.v2", "stg_customers"}},
		{[]string{"tag:finance"}, nil, []string{"fct_daily_revenue"}},
		{[]string{"tag:staging,config.materialized:view"}, []string{"stg_order*"}, []string{"stg_customers", "stg_parcel_scans"}},
		{[]string{"state:modified+"}, nil, []string{"dim_customers", "stg_customers"}},
		{[]string{"source:events+"}, nil, []string{"dim_customers", "fct_daily_revenue", "fct_orders.v2", "int_parcel_latest_scan", "stg_parcel_scans"}},
		{[]string{"marts.finance"}, nil, []string{"fct_daily_revenue"}},
		{[]string{"models/intermediate"}, nil, []string{"int_order_items_summed", "int_parcel_latest_scan"}},
		{[]string{"version:latest"}, nil, []string{"fct_orders.v2"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.sel, " "), func(t *testing.T) {
			var got []string
			for id := range sel.Select(tc.sel, tc.excl) {
				got = append(got, project.ShortName(id))
			}
			sortStrings(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestValidateJSONOnPlainDirectory: the details a `conveyor validate
// --format json` prints for a plain directory holding a dbt project list
// every model file, and the impact of a first commit is every model.
func TestValidateJSONOnPlainDirectory(t *testing.T) {
	tr, err := checks.ReadDir(sample + "/dbt")
	if err != nil {
		t.Fatal(err)
	}
	res := checks.Run(context.Background(), New(), checks.NewInput(checks.EmptyTree, tr))
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Details struct {
			Models []struct {
				UniqueID         string   `json:"unique_id"`
				Path             string   `json:"path"`
				Materialized     string   `json:"materialized"`
				ContractEnforced bool     `json:"contract_enforced"`
				DependsOn        []string `json:"depends_on"`
			} `json:"models"`
			Impact struct {
				Modified   []string `json:"modified"`
				Downstream []string `json:"downstream"`
			} `json:"impact"`
		} `json:"details"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	var sqlFiles []string
	for _, f := range tr.Files() {
		if strings.HasPrefix(f, "models/") && strings.HasSuffix(f, ".sql") {
			sqlFiles = append(sqlFiles, f)
		}
	}
	var paths []string
	for _, m := range out.Details.Models {
		paths = append(paths, m.Path)
		if m.Materialized == "" || m.DependsOn == nil {
			t.Errorf("model %+v incomplete", m)
		}
	}
	sortStrings(paths)
	if !reflect.DeepEqual(paths, sqlFiles) {
		t.Errorf("paths = %v\nwant %v", paths, sqlFiles)
	}
	if len(out.Details.Impact.Modified) != len(sqlFiles) || out.Details.Impact.Downstream == nil {
		t.Errorf("impact = %+v", out.Details.Impact)
	}
	if res.Conclusion != checks.Success {
		t.Errorf("conclusion %s: %s", res.Conclusion, res.Summary)
	}
}

func TestRunResults(t *testing.T) {
	rr, err := ParseRunResults([]byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
	  "results": [{"unique_id": "model.p.a", "status": "success", "message": "SUCCESS 1", "execution_time": 1.5},
	              {"unique_id": "test.p.not_null_a_id", "status": "fail", "message": null, "execution_time": 0.2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rr) != 2 || rr[1].Status != "fail" || rr[0].Seconds != 1.5 {
		t.Fatalf("results = %+v", rr)
	}
	if _, err := ParseRunResults([]byte("{")); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}
