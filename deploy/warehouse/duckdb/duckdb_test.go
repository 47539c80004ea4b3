package duckdb_test

// These tests are the only ones that link DuckDB: the warehouse itself, and
// the checks that take a warehouse.Inspector (contract live comparison, dbt
// smoke tests) run against real rows here.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/contracts"
	"github.com/parcelflow/conveyor/checks/dbt"
	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/deploy/warehouse/duckdb"
)

func open(t *testing.T, stmts ...string) *warehouse.DB {
	t.Helper()
	wh, err := duckdb.Open(filepath.Join(t.TempDir(), "dev.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	ctx := context.Background()
	for _, s := range stmts {
		if err := wh.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return wh
}

const martsDDL = `CREATE SCHEMA marts;
CREATE TABLE marts.fct_orders (
  order_id VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, order_status VARCHAR NOT NULL,
  ordered_at TIMESTAMP NOT NULL, order_total DECIMAL(18,2), item_count INTEGER, last_scan_status VARCHAR);
CREATE TABLE marts.fct_daily_revenue (revenue_date DATE NOT NULL, orders INTEGER, revenue DECIMAL(18,2));
CREATE TABLE marts.dim_customers (customer_id VARCHAR NOT NULL, email VARCHAR, country_code VARCHAR,
  signed_up_at TIMESTAMP, first_ordered_at TIMESTAMP, lifetime_orders INTEGER);
CREATE VIEW marts.open_orders AS SELECT * FROM marts.fct_orders WHERE order_status = 'pending';`

// TestSplitRelation: qualified names split; a bare name is in the session's
// current schema, which is asked of the warehouse, not assumed.
func TestSplitRelation(t *testing.T) {
	wh := open(t, "CREATE SCHEMA marts", "SET schema = 'marts'")
	tests := []struct{ rel, schema, table string }{
		{"marts.fct_orders", "marts", "fct_orders"},
		{`"analytics"."marts"."fct_orders"`, "marts", "fct_orders"},
		{"fct_orders", "marts", "fct_orders"},
	}
	for _, tt := range tests {
		schema, table, err := warehouse.SplitRelation(context.Background(), wh, tt.rel)
		if err != nil || schema != tt.schema || table != tt.table {
			t.Errorf("SplitRelation(%q) = %q, %q, %v; want %q, %q", tt.rel, schema, table, err, tt.schema, tt.table)
		}
	}
}

func TestInspector(t *testing.T) {
	wh := open(t, martsDDL)
	ctx := context.Background()
	tables, err := wh.Tables(ctx, "marts")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name+":"+tb.Kind)
	}
	if got := strings.Join(names, ","); got != "dim_customers:table,fct_daily_revenue:table,fct_orders:table,open_orders:view" {
		t.Errorf("tables = %s", got)
	}
	cols, err := wh.Columns(ctx, "MARTS", "FCT_ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 7 || cols[0].Name != "order_id" || cols[0].Nullable || cols[0].Type != "VARCHAR" || cols[4].Type != "DECIMAL(18,2)" || !cols[4].Nullable || cols[4].Position != 5 {
		t.Errorf("columns = %+v", cols)
	}
	if _, err := wh.Columns(ctx, "marts", "nope"); !warehouse.IsNotFound(err) {
		t.Errorf("missing table: %v", err)
	}
	if _, err := wh.Tables(ctx, "nope"); !warehouse.IsNotFound(err) {
		t.Errorf("missing schema: %v", err)
	}
	rows, err := wh.Query(ctx, "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY a")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Values) != 2 || rows.Columns[1] != "b" || rows.Values[1][1] != "y" {
		t.Errorf("rows = %+v", rows)
	}
}

func TestRestorePoint(t *testing.T) {
	wh := open(t, martsDDL, "INSERT INTO marts.fct_orders VALUES ('o1', 'c1', 'pending', TIMESTAMP '2026-01-01 10:00:00', 12.50, 1, NULL)")
	ctx := context.Background()
	rp, err := wh.CreateRestorePoint(ctx, "marts")
	if err != nil {
		t.Fatal(err)
	}
	// A bad deploy: drops a column and rows.
	for _, s := range []string{"DROP VIEW marts.open_orders", "ALTER TABLE marts.fct_orders DROP COLUMN item_count", "DELETE FROM marts.fct_orders"} {
		if err := wh.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := wh.Restore(ctx, rp); err != nil {
		t.Fatal(err)
	}
	cols, err := wh.Columns(ctx, "marts", "fct_orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 7 || cols[0].Nullable {
		t.Errorf("restored columns = %+v (NOT NULL must survive)", cols)
	}
	rows, err := wh.Query(ctx, "SELECT count(*) FROM marts.open_orders")
	if err != nil {
		t.Fatal(err)
	}
	if n := rows.Values[0][0]; n != int64(1) {
		t.Errorf("restored view sees %v rows", n)
	}
	if err := wh.DropRestorePoint(ctx, rp); err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Tables(ctx, rp.Snapshot); !warehouse.IsNotFound(err) {
		t.Errorf("snapshot still there: %v", err)
	}
	if _, err := wh.CreateRestorePoint(ctx, "marts; drop schema marts"); err == nil {
		t.Error("odd schema name accepted")
	}
}

func sampleInput(t *testing.T) *checks.Input {
	t.Helper()
	tr, err := checks.ReadDir("../../../testdata/sample-repo")
	if err != nil {
		t.Fatal(err)
	}
	return checks.NewInput(tr, tr)
}

const (
	ordersRow  = "INSERT INTO marts.fct_orders VALUES ('o1', 'c1', 'paid', TIMESTAMP '2026-01-01 10:00:00', 12.50, 1, NULL)"
	revenueRow = "INSERT INTO marts.fct_daily_revenue VALUES (DATE '2026-01-01', 1, 12.50)"
)

// TestContractQuality measures the sample contract's quality rules on real
// rows: the declared ones (validValues on order_status, rowCount) and the
// ones its properties imply (required: no nulls; unique: no duplicates).
func TestContractQuality(t *testing.T) {
	tests := []struct {
		name string
		rows []string
		// want is the failing rule and where it is declared, or "" for none.
		wantRule string
		wantLine int
		message  string
	}{
		{"rows that keep the contract", []string{ordersRow, revenueRow}, "", 0, ""},
		{"a status the contract does not allow", []string{ordersRow, revenueRow,
			"INSERT INTO marts.fct_orders VALUES ('o2', 'c1', 'lost', TIMESTAMP '2026-01-01 11:00:00', 3.00, 1, NULL)"},
			"invalidValues on order_status", 45, "measured 1, but it must be 0"},
		{"an empty table", []string{revenueRow}, "rowCount", 59, "measured 0, but it must be greater than 0"},
		{"a duplicate revenue day", []string{ordersRow, revenueRow, revenueRow}, "unique revenue_date", 66, "measured 1, but it must be 0"},
		{"a missing required value", []string{ordersRow, "ALTER TABLE marts.fct_daily_revenue ALTER COLUMN revenue_date DROP NOT NULL",
			"INSERT INTO marts.fct_daily_revenue VALUES (NULL, 1, 2.00)"}, "required revenue_date", 66, "measured 1, but it must be 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wh := open(t, append([]string{martsDDL}, tc.rows...)...)
			res := checks.Run(context.Background(), contracts.New(contracts.WithWarehouse("dev", wh)), sampleInput(t))
			d := res.Details.(contracts.Details)
			var failed []contracts.QualityResult
			measured := 0
			for _, l := range d.Live {
				for _, q := range l.Quality {
					switch q.Status {
					case "pass":
						measured++
					case "fail", "error":
						measured++
						failed = append(failed, q)
					}
				}
			}
			if measured < 8 {
				t.Fatalf("only %d quality rules measured: %+v", measured, d.Live)
			}
			if tc.wantRule == "" {
				if len(failed) > 0 || res.Conclusion != checks.Success {
					t.Fatalf("%s, failed rules %+v, annotations %+v", res.Conclusion, failed, res.Annotations)
				}
				return
			}
			if len(failed) != 1 || failed[0].Rule != tc.wantRule || failed[0].Line != tc.wantLine || !strings.Contains(failed[0].Message, tc.message) {
				t.Fatalf("failed rules = %+v, want %q at line %d", failed, tc.wantRule, tc.wantLine)
			}
			var ann []string
			for _, a := range res.Annotations {
				if a.Rule == contracts.RuleQuality {
					ann = append(ann, fmt.Sprintf("%s:%d", a.Path, a.StartLine))
				}
			}
			if want := fmt.Sprintf("contracts/orders.yaml:%d", tc.wantLine); len(ann) != 1 || ann[0] != want || res.Conclusion != checks.Failure {
				t.Fatalf("%s with quality annotations %v, want a failure at %s", res.Conclusion, ann, want)
			}
		})
	}
}

func TestContractLiveComparison(t *testing.T) {
	tests := []struct {
		name    string
		drift   string
		status  map[string]string
		rule    string
		message string
	}{
		{"matches", "", map[string]string{"fct_orders": "match", "fct_daily_revenue": "match"}, "", ""},
		{"type drifted", "ALTER TABLE marts.fct_orders ALTER COLUMN item_count TYPE VARCHAR",
			map[string]string{"fct_orders": "drift", "fct_daily_revenue": "match"}, contracts.RuleLiveDrift, "fct_orders.item_count is integer (integer) in the contract but VARCHAR"},
		{"column dropped", "ALTER TABLE marts.fct_daily_revenue DROP COLUMN revenue",
			map[string]string{"fct_orders": "match", "fct_daily_revenue": "drift"}, contracts.RuleLiveDrift, "fct_daily_revenue.revenue is missing"},
		{"nullable", "ALTER TABLE marts.fct_orders ALTER COLUMN customer_id DROP NOT NULL",
			map[string]string{"fct_orders": "drift", "fct_daily_revenue": "match"}, contracts.RuleLiveNullable, "customer_id is required in the contract but nullable"},
		{"table missing", "DROP TABLE marts.fct_daily_revenue",
			map[string]string{"fct_orders": "match", "fct_daily_revenue": "missing"}, contracts.RuleLiveMissing, "does not exist in dev"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Rows that meet the contract's quality rules: only the
			// schema is under test here (TestContractQuality measures rows).
			stmts := []string{martsDDL, ordersRow, revenueRow}
			if tc.drift != "" {
				stmts = append(stmts, tc.drift)
			}
			wh := open(t, stmts...)
			res := checks.Run(context.Background(), contracts.New(contracts.WithWarehouse("dev", wh)), sampleInput(t))
			d := res.Details.(contracts.Details)
			got := map[string]string{}
			for _, l := range d.Live {
				got[l.Object] = l.Status
			}
			for k, v := range tc.status {
				if got[k] != v {
					t.Errorf("%s = %s, want %s (%+v)", k, got[k], v, d.Live)
				}
			}
			if tc.rule == "" {
				if len(res.Annotations) > 0 || res.Conclusion != checks.Success {
					t.Fatalf("%s: %+v", res.Conclusion, res.Annotations)
				}
				return
			}
			if len(res.Annotations) != 1 || res.Annotations[0].Rule != tc.rule || !strings.Contains(res.Annotations[0].Message, tc.message) {
				t.Fatalf("annotations = %+v", res.Annotations)
			}
			if !strings.Contains(res.Summary, "**Live tables**") {
				t.Errorf("summary = %s", res.Summary)
			}
		})
	}
}

func TestSmokeTests(t *testing.T) {
	in := sampleInput(t)
	p, err := project.Parse(in.Head, "dbt")
	if err != nil {
		t.Fatal(err)
	}
	good := []string{
		"CREATE SCHEMA staging",
		"CREATE TABLE staging.stg_orders (order_id VARCHAR, customer_id VARCHAR, order_status VARCHAR)",
		"CREATE TABLE staging.stg_order_items (order_item_id VARCHAR, order_id VARCHAR)",
		"INSERT INTO staging.stg_orders VALUES ('o1', 'c1', 'paid'), ('o2', 'c1', 'shipped')",
		"INSERT INTO staging.stg_order_items VALUES ('i1', 'o1'), ('i2', 'o2')",
	}
	models := []string{"model.parcelflow.stg_order_items", "model.parcelflow.stg_orders"}
	tests := []struct {
		name string
		bad  string
		// fails maps test@column to the failing row count expected.
		fails map[string]int64
	}{
		{"all pass", "", map[string]int64{}},
		{"not_null fails", "INSERT INTO staging.stg_orders VALUES (NULL, 'c2', 'paid')", map[string]int64{"not_null@order_id": 1}},
		{"unique fails", "INSERT INTO staging.stg_orders VALUES ('o1', 'c2', 'paid')", map[string]int64{"unique@order_id": 1}},
		{"accepted_values fails", "INSERT INTO staging.stg_orders VALUES ('o3', 'c2', 'lost'), ('o4', 'c2', 'stolen')", map[string]int64{"accepted_values@order_status": 2}},
		{"relationships fails", "INSERT INTO staging.stg_order_items VALUES ('i3', 'o9')", map[string]int64{"relationships@order_id": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stmts := append([]string{}, good...)
			if tc.bad != "" {
				stmts = append(stmts, tc.bad)
			}
			wh := open(t, stmts...)
			results, err := dbt.SmokeTests(context.Background(), p, models, wh, dbt.SmokeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 6 {
				t.Fatalf("results = %+v", results)
			}
			for _, r := range results {
				key := r.Test + "@" + r.Column
				want, shouldFail := tc.fails[key]
				switch {
				case shouldFail && (r.Status != dbt.SmokeFail || r.Failures != want):
					t.Errorf("%s: %s with %d failures, want fail with %d (%s)", key, r.Status, r.Failures, want, r.SQL)
				case !shouldFail && r.Status != dbt.SmokePass:
					t.Errorf("%s: %s %s (%s)", key, r.Status, r.Message, r.SQL)
				}
			}
		})
	}
	// A table that is missing errors instead of passing.
	wh := open(t)
	results, err := dbt.SmokeTests(context.Background(), p, []string{"model.parcelflow.stg_customers"}, wh, dbt.SmokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Status != dbt.SmokeError {
		t.Fatalf("results = %+v", results)
	}
}
