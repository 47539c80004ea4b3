// Package warehouse is Conveyor's view of an environment's data warehouse:
// a read-only Inspector that checks use to compare contracts and run smoke
// tests, and a Deployer that the deploy engine uses to run SQL and to take and
// restore schema-level restore points.
//
// The package itself holds only the interfaces, the database/sql-backed
// implementation they share and the SQL each dialect needs, generated as text
// so it can be tested without an account. The drivers live in sub-packages
// (warehouse/duckdb, warehouse/snowflake) so that code which only needs the
// interfaces never links a cgo driver.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned when a schema or table does not exist.
var ErrNotFound = errors.New("not found in the warehouse")

// Table is one table or view.
type Table struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Kind is "table" or "view".
	Kind string `json:"kind"`
}

// Column is one column of a table, as the warehouse reports it.
type Column struct {
	Name string `json:"name"`
	// Type is the warehouse's data type name, e.g. VARCHAR, NUMBER(38,0), TIMESTAMP_NTZ.
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	Position int    `json:"position"`
}

// Rows is a fully read query result. Queries run through an Inspector are
// expected to be small (smoke tests select failing rows with a limit).
type Rows struct {
	Columns []string `json:"columns"`
	Values  [][]any  `json:"values"`
}

// Inspector reads an environment's warehouse. It never changes anything.
type Inspector interface {
	// Dialect tells callers which SQL the warehouse speaks.
	Dialect() Dialect
	// Tables lists the tables and views of schema; ErrNotFound if the schema does not exist.
	Tables(ctx context.Context, schema string) ([]Table, error)
	// Columns lists a table's columns in ordinal order; ErrNotFound if the table does not exist.
	Columns(ctx context.Context, schema, table string) ([]Column, error)
	// Query runs a read-only query and returns every row.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// RestorePoint is a copy of a schema taken before a deploy changes it.
type RestorePoint struct {
	// Schema is the schema the restore point protects.
	Schema string `json:"schema"`
	// Snapshot is the schema holding the copy.
	Snapshot  string    `json:"snapshot"`
	CreatedAt time.Time `json:"created_at"`
	// Dropped is when the copy was dropped to bound what restore points
	// cost; a rollback cannot go back past it.
	Dropped time.Time `json:"dropped,omitzero"`
}

// Deployer changes an environment's warehouse. It is what the deploy engine
// holds; checks only ever get an Inspector.
type Deployer interface {
	Inspector
	// Exec runs statements that change the warehouse.
	Exec(ctx context.Context, statement string, args ...any) error
	// CreateRestorePoint copies schema (zero-copy CLONE on Snowflake).
	CreateRestorePoint(ctx context.Context, schema string) (RestorePoint, error)
	// Restore puts the restore point's copy back in place of the schema.
	// On Snowflake this swaps the two schemas, so afterwards the snapshot
	// holds the state that was replaced; drop it when no longer needed.
	Restore(ctx context.Context, rp RestorePoint) error
	// DropRestorePoint removes the copy.
	DropRestorePoint(ctx context.Context, rp RestorePoint) error
}

// Dialect names the SQL a warehouse speaks.
type Dialect string

// Dialects.
const (
	Snowflake Dialect = "snowflake"
	DuckDB    Dialect = "duckdb"
)

// SplitRelation returns the schema and table rel names ("schema.table",
// "db.schema.table", quoted or not). A bare table is in the session's
// current schema, which the warehouse is asked for: DuckDB's is main,
// Snowflake's is whatever the connection chose.
func SplitRelation(ctx context.Context, in Inspector, rel string) (schema, table string, err error) {
	parts := strings.Split(strings.ReplaceAll(rel, `"`, ""), ".")
	if len(parts) > 1 {
		return parts[len(parts)-2], parts[len(parts)-1], nil
	}
	rows, err := in.Query(ctx, "SELECT current_schema()")
	if err != nil {
		return "", "", fmt.Errorf("finding the schema of %s: %w", rel, err)
	}
	if len(rows.Values) == 1 && len(rows.Values[0]) == 1 {
		switch s := rows.Values[0][0].(type) {
		case string:
			if s != "" {
				return s, parts[0], nil
			}
		case []byte:
			if len(s) > 0 {
				return string(s), parts[0], nil
			}
		}
	}
	return "", "", fmt.Errorf("%s names no schema and the warehouse session has no current schema", rel)
}
