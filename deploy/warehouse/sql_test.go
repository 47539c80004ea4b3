package warehouse

import (
	"database/sql"
	"strings"
	"testing"
	"time"
)

// Snowflake has no account here, so its statements are checked as text.
func TestSnowflakeStatements(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	snap := SnapshotName("MARTS", at)
	tests := []struct {
		name, got, want string
	}{
		{"snapshot name", snap, "MARTS__conveyor_rp_20260314t092653000"},
		{"clone", CloneSchemaSQL("MARTS", snap), "CREATE SCHEMA MARTS__conveyor_rp_20260314t092653000 CLONE MARTS"},
		{"swap", SwapSchemaSQL("MARTS", snap), "ALTER SCHEMA MARTS SWAP WITH MARTS__conveyor_rp_20260314t092653000"},
		{"drop", DropSchemaSQL(snap), "DROP SCHEMA IF EXISTS MARTS__conveyor_rp_20260314t092653000 CASCADE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got  %q\nwant %q", tc.got, tc.want)
			}
		})
	}
	cols := ColumnsSQL(Snowflake)
	for _, want := range []string{"information_schema.columns", "upper(table_schema) = upper(?)", "upper(table_name) = upper(?)", "ORDER BY ordinal_position", "is_nullable", "numeric_precision"} {
		if !strings.Contains(cols, want) {
			t.Errorf("columns SQL lacks %q:\n%s", want, cols)
		}
	}
	if !strings.Contains(TablesSQL(Snowflake), "information_schema.tables") {
		t.Errorf("tables SQL = %s", TablesSQL(Snowflake))
	}
}

func TestSnowflakeTypes(t *testing.T) {
	n := func(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: true} }
	none := sql.NullInt64{}
	tests := []struct {
		typ                      string
		precision, scale, length sql.NullInt64
		want                     string
	}{
		{"NUMBER", n(38), n(0), none, "NUMBER(38,0)"},
		{"NUMBER", n(18), n(2), none, "NUMBER(18,2)"},
		{"TEXT", none, none, n(16777216), "VARCHAR"},
		{"TEXT", none, none, n(64), "VARCHAR(64)"},
		{"TIMESTAMP_NTZ", none, none, none, "TIMESTAMP_NTZ"},
	}
	for _, tc := range tests {
		if got := fullType(Snowflake, tc.typ, tc.precision, tc.scale, tc.length); got != tc.want {
			t.Errorf("%s → %s, want %s", tc.typ, got, tc.want)
		}
	}
	if got := fullType(DuckDB, "DECIMAL(18,2)", n(18), n(2), none); got != "DECIMAL(18,2)" {
		t.Errorf("duckdb type rewritten: %s", got)
	}
}

func TestRestorePointRefusesOddNames(t *testing.T) {
	for _, s := range []string{"", "marts; drop schema x", "my-schema", `"quoted"`} {
		if err := checkIdent(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	for _, s := range []string{"marts", "PARCELFLOW_PROD", "s$1"} {
		if err := checkIdent(s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
}

func TestDuckCopySchemaSQL(t *testing.T) {
	objs := []DuckObject{
		{Name: "orders", SQL: "CREATE TABLE marts.orders(id INTEGER NOT NULL, amount DECIMAL(18,2));"},
		{Name: "big_orders", View: true, SQL: "CREATE VIEW marts.big_orders AS SELECT * FROM marts.orders WHERE (amount > 100);"},
	}
	got := DuckCopySchemaSQL("marts", "snap", objs)
	want := []string{
		"CREATE SCHEMA snap",
		"CREATE TABLE snap.orders(id INTEGER NOT NULL, amount DECIMAL(18,2));",
		`INSERT INTO snap."orders" SELECT * FROM marts."orders"`,
		"CREATE VIEW snap.big_orders AS SELECT * FROM snap.orders WHERE (amount > 100);",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestIdentAndLiteral(t *testing.T) {
	tests := []struct{ in, ident, literal string }{
		{"order_id", "order_id", "'order_id'"},
		{"Order Total", `"Order Total"`, "'Order Total'"},
		{`say "hi"`, `"say ""hi"""`, `'say "hi"'`},
		{"o'brien", `"o'brien"`, "'o''brien'"},
		{"1st", `"1st"`, "'1st'"},
	}
	for _, tt := range tests {
		if got := Ident(tt.in); got != tt.ident {
			t.Errorf("Ident(%q) = %s, want %s", tt.in, got, tt.ident)
		}
		if got := Literal(tt.in); got != tt.literal {
			t.Errorf("Literal(%q) = %s, want %s", tt.in, got, tt.literal)
		}
	}
}
