// Package duckdb opens the embedded DuckDB warehouse: one database file per
// environment, used where no Snowflake account is configured and in tests.
// It is the only package that links the DuckDB driver.
package duckdb

import (
	"database/sql"
	"fmt"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// Open opens (creating if needed) the DuckDB file at path; an empty path opens
// an in-memory database.
func Open(path string) (*warehouse.DB, error) {
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, fmt.Errorf("opening duckdb %s: %w", path, err)
	}
	// One connection: an in-memory database is private to its connection, and
	// a file is written by one process at a time anyway.
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening duckdb %s: %w", path, err)
	}
	return warehouse.NewDB(db, warehouse.DuckDB), nil
}
