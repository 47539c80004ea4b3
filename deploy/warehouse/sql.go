package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DB is a warehouse reached through database/sql. The driver sub-packages
// open one; its behaviour differs by dialect only in the SQL it sends.
type DB struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
}

var (
	_ Inspector = (*DB)(nil)
	_ Deployer  = (*DB)(nil)
)

// NewDB wraps an open database handle speaking dialect.
func NewDB(db *sql.DB, dialect Dialect) *DB {
	return &DB{db: db, dialect: dialect, now: time.Now}
}

// Close closes the underlying handle.
func (w *DB) Close() error { return w.db.Close() }

// SQL returns the underlying handle, for drivers' own setup.
func (w *DB) SQL() *sql.DB { return w.db }

// Dialect returns the warehouse's dialect.
func (w *DB) Dialect() Dialect { return w.dialect }

// Tables lists schema's tables and views.
func (w *DB) Tables(ctx context.Context, schema string) ([]Table, error) {
	rows, err := w.db.QueryContext(ctx, TablesSQL(w.dialect), schema)
	if err != nil {
		return nil, fmt.Errorf("listing tables of %s: %w", schema, err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		var kind string
		if err := rows.Scan(&t.Schema, &t.Name, &kind); err != nil {
			return nil, fmt.Errorf("listing tables of %s: %w", schema, err)
		}
		t.Kind = "table"
		if strings.Contains(strings.ToUpper(kind), "VIEW") {
			t.Kind = "view"
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tables of %s: %w", schema, err)
	}
	if len(out) == 0 {
		ok, err := w.schemaExists(ctx, schema)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("schema %s: %w", schema, ErrNotFound)
		}
	}
	return out, nil
}

func (w *DB) schemaExists(ctx context.Context, schema string) (bool, error) {
	var n int
	if err := w.db.QueryRowContext(ctx, SchemaExistsSQL(w.dialect), schema).Scan(&n); err != nil {
		return false, fmt.Errorf("looking up schema %s: %w", schema, err)
	}
	return n > 0, nil
}

// Columns lists a table's columns in ordinal order.
func (w *DB) Columns(ctx context.Context, schema, table string) ([]Column, error) {
	rows, err := w.db.QueryContext(ctx, ColumnsSQL(w.dialect), schema, table)
	if err != nil {
		return nil, fmt.Errorf("reading columns of %s.%s: %w", schema, table, err)
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var c Column
		var nullable string
		var precision, scale, length sql.NullInt64
		if err := rows.Scan(&c.Name, &c.Type, &nullable, &c.Position, &precision, &scale, &length); err != nil {
			return nil, fmt.Errorf("reading columns of %s.%s: %w", schema, table, err)
		}
		c.Nullable = strings.EqualFold(nullable, "YES")
		c.Type = fullType(w.dialect, c.Type, precision, scale, length)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading columns of %s.%s: %w", schema, table, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("table %s.%s: %w", schema, table, ErrNotFound)
	}
	return out, nil
}

// fullType adds precision to Snowflake's bare NUMBER, which INFORMATION_SCHEMA
// reports separately; DuckDB's data_type already carries it.
func fullType(d Dialect, t string, precision, scale, length sql.NullInt64) string {
	if d != Snowflake {
		return t
	}
	switch strings.ToUpper(t) {
	case "NUMBER", "DECIMAL", "NUMERIC":
		if precision.Valid {
			return fmt.Sprintf("NUMBER(%d,%d)", precision.Int64, scale.Int64)
		}
	case "TEXT", "VARCHAR":
		if length.Valid && length.Int64 > 0 && length.Int64 < 16777216 {
			return fmt.Sprintf("VARCHAR(%d)", length.Int64)
		}
		return "VARCHAR"
	}
	return t
}

// Query runs a read-only query and returns every row.
func (w *DB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := w.db.QueryContext(ctx, query, args...)
	if err != nil {
		return Rows{}, fmt.Errorf("running query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Rows{}, fmt.Errorf("running query: %w", err)
	}
	out := Rows{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Rows{}, fmt.Errorf("reading query rows: %w", err)
		}
		out.Values = append(out.Values, vals)
	}
	if err := rows.Err(); err != nil {
		return Rows{}, fmt.Errorf("reading query rows: %w", err)
	}
	return out, nil
}

// Exec runs a statement that changes the warehouse.
func (w *DB) Exec(ctx context.Context, statement string, args ...any) error {
	if _, err := w.db.ExecContext(ctx, statement, args...); err != nil {
		return fmt.Errorf("executing statement: %w", err)
	}
	return nil
}

// CreateRestorePoint copies schema into a snapshot schema named after it and
// the current time.
func (w *DB) CreateRestorePoint(ctx context.Context, schema string) (RestorePoint, error) {
	if err := checkIdent(schema); err != nil {
		return RestorePoint{}, err
	}
	now := w.now().UTC()
	rp := RestorePoint{Schema: schema, Snapshot: SnapshotName(schema, now), CreatedAt: now}
	var stmts []string
	switch w.dialect {
	case Snowflake:
		stmts = []string{CloneSchemaSQL(schema, rp.Snapshot)}
	default:
		tables, err := w.duckTables(ctx, schema)
		if err != nil {
			return RestorePoint{}, err
		}
		stmts = DuckCopySchemaSQL(schema, rp.Snapshot, tables)
	}
	if err := w.inTx(ctx, stmts); err != nil {
		return RestorePoint{}, fmt.Errorf("creating restore point of %s: %w", schema, err)
	}
	return rp, nil
}

// Restore puts the snapshot back in place of the schema.
func (w *DB) Restore(ctx context.Context, rp RestorePoint) error {
	if err := checkIdent(rp.Schema); err != nil {
		return err
	}
	if err := checkIdent(rp.Snapshot); err != nil {
		return err
	}
	var stmts []string
	switch w.dialect {
	case Snowflake:
		stmts = []string{SwapSchemaSQL(rp.Schema, rp.Snapshot)}
	default:
		tables, err := w.duckTables(ctx, rp.Snapshot)
		if err != nil {
			return err
		}
		stmts = append([]string{"DROP SCHEMA IF EXISTS " + rp.Schema + " CASCADE"}, DuckCopySchemaSQL(rp.Snapshot, rp.Schema, tables)...)
	}
	if err := w.inTx(ctx, stmts); err != nil {
		return fmt.Errorf("restoring %s from %s: %w", rp.Schema, rp.Snapshot, err)
	}
	return nil
}

// DropRestorePoint removes the snapshot schema.
func (w *DB) DropRestorePoint(ctx context.Context, rp RestorePoint) error {
	if err := checkIdent(rp.Snapshot); err != nil {
		return err
	}
	if err := w.Exec(ctx, DropSchemaSQL(rp.Snapshot)); err != nil {
		return fmt.Errorf("dropping restore point %s: %w", rp.Snapshot, err)
	}
	return nil
}

func (w *DB) inTx(ctx context.Context, stmts []string) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("%s: %w", firstLine(s), err)
		}
	}
	return tx.Commit()
}

// DuckObject is a table or view of a DuckDB schema with the statement that
// creates it, as duckdb_tables() and duckdb_views() report it.
type DuckObject struct {
	Name string
	View bool
	SQL  string
}

func (w *DB) duckTables(ctx context.Context, schema string) ([]DuckObject, error) {
	rows, err := w.db.QueryContext(ctx, duckObjectsSQL, schema, schema)
	if err != nil {
		return nil, fmt.Errorf("listing objects of %s: %w", schema, err)
	}
	defer rows.Close()
	var out []DuckObject
	for rows.Next() {
		var o DuckObject
		if err := rows.Scan(&o.Name, &o.View, &o.SQL); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		ok, err := w.schemaExists(ctx, schema)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("schema %s: %w", schema, ErrNotFound)
		}
	}
	return out, nil
}

const duckObjectsSQL = `SELECT table_name, false, sql FROM duckdb_tables() WHERE schema_name = ? AND NOT temporary
UNION ALL
SELECT view_name, true, sql FROM duckdb_views() WHERE schema_name = ? AND NOT internal AND NOT temporary
ORDER BY 2, 1`

// TablesSQL lists a schema's tables; one parameter, the schema.
func TablesSQL(d Dialect) string {
	return `SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE upper(table_schema) = upper(?) ORDER BY table_name`
}

// SchemaExistsSQL counts schemas by name; one parameter.
func SchemaExistsSQL(d Dialect) string {
	return `SELECT count(*) FROM information_schema.schemata WHERE upper(schema_name) = upper(?)`
}

// ColumnsSQL lists a table's columns; parameters schema and table.
func ColumnsSQL(d Dialect) string {
	return `SELECT column_name, data_type, is_nullable, ordinal_position, numeric_precision, numeric_scale, character_maximum_length
FROM information_schema.columns
WHERE upper(table_schema) = upper(?) AND upper(table_name) = upper(?)
ORDER BY ordinal_position`
}

// SnapshotName names a restore point's schema: readable, sortable, and a
// plain identifier in both dialects. Milliseconds keep two deployments to
// one environment within a second from colliding.
func SnapshotName(schema string, at time.Time) string {
	at = at.UTC()
	return schema + "__conveyor_rp_" + at.Format("20060102t150405") + fmt.Sprintf("%03d", at.Nanosecond()/int(time.Millisecond))
}

// CloneSchemaSQL is Snowflake's zero-copy clone of a schema.
func CloneSchemaSQL(schema, snapshot string) string {
	return "CREATE SCHEMA " + snapshot + " CLONE " + schema
}

// SwapSchemaSQL swaps a Snowflake schema with its snapshot atomically.
func SwapSchemaSQL(schema, snapshot string) string {
	return "ALTER SCHEMA " + schema + " SWAP WITH " + snapshot
}

// DropSchemaSQL drops a schema and everything in it.
func DropSchemaSQL(schema string) string {
	return "DROP SCHEMA IF EXISTS " + schema + " CASCADE"
}

// DuckCopySchemaSQL copies a DuckDB schema's tables (with their declared
// constraints, by re-running their CREATE statements) and views into dst.
// DuckDB has no schema clone, so this is the embedded equivalent.
func DuckCopySchemaSQL(src, dst string, objs []DuckObject) []string {
	stmts := []string{"CREATE SCHEMA " + dst}
	for _, o := range objs {
		if !o.View {
			stmts = append(stmts, retarget(o.SQL, src, dst), fmt.Sprintf("INSERT INTO %s.%s SELECT * FROM %s.%s", dst, quote(o.Name), src, quote(o.Name)))
		}
	}
	for _, o := range objs {
		if o.View {
			stmts = append(stmts, retarget(o.SQL, src, dst))
		}
	}
	return stmts
}

var createTarget = regexp.MustCompile(`(?i)^\s*CREATE\s+(TABLE|VIEW)\s+("?[A-Za-z0-9_$]+"?\.)?`)

// retarget rewrites "CREATE TABLE src.t(...)" into "CREATE TABLE dst.t(...)".
// References inside a view body to other objects of src are rewritten as well,
// so a restored view reads its own schema's tables.
func retarget(stmt, src, dst string) string {
	stmt = createTarget.ReplaceAllString(stmt, "CREATE $1 "+dst+".")
	ref := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(src) + `\.`)
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "CREATE VIEW") {
		head, body, ok := strings.Cut(stmt, " AS ")
		if ok {
			stmt = head + " AS " + ref.ReplaceAllString(body, dst+".")
		}
	}
	return stmt
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// plainIdent is a name safe in SQL unquoted.
var plainIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// IsPlainIdent reports whether name can be written in SQL unquoted.
func IsPlainIdent(name string) bool { return plainIdent.MatchString(name) }

// Ident writes a column name for SQL, quoting it only when it needs it:
// unquoted names keep Snowflake's case-insensitive resolution.
func Ident(name string) string {
	if IsPlainIdent(name) {
		return name
	}
	return quote(name)
}

// Literal writes s as a SQL string literal.
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// checkIdent refuses schema names that would need quoting: restore point
// statements are generated as text, so only plain identifiers are accepted.
func checkIdent(s string) error {
	if !identRe.MatchString(s) {
		return fmt.Errorf("schema name %q is not a plain identifier (letters, digits, _ and $)", s)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// IsNotFound reports whether err says a schema or table is missing.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
