// Package store keeps what must survive a restart: the webhook inbox, the
// hash-chained audit log, releases, deployments and environment locks. One
// SQL schema serves the embedded SQLite default and PostgreSQL (for replicas);
// each concern lives in its own file with its own migration.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"
)

// Dialect is the SQL flavour of the database behind a DB.
type Dialect int

// Dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// DefaultDSN is the embedded default: a SQLite file under ./data.
const DefaultDSN = "sqlite://./data/conveyor.db"

// DB is Conveyor's state database.
type DB struct {
	SQL     *sql.DB
	Dialect Dialect
}

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// Open connects to dsn ("sqlite://PATH", "sqlite::memory:", "postgres://…")
// and applies pending migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var db *DB
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: opening postgres: %w", err)
		}
		s.SetMaxOpenConns(16)
		db = &DB{SQL: s, Dialect: Postgres}
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return nil, errors.New("store: sqlite DSN needs a path, e.g. sqlite://./data/conveyor.db")
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, fmt.Errorf("store: creating %s: %w", filepath.Dir(path), err)
			}
		}
		// WAL lets readers work while the inbox writes; busy_timeout makes
		// concurrent writers wait instead of failing with SQLITE_BUSY;
		// synchronous(FULL) syncs the log at every commit, so a delivery
		// acknowledged to GitHub survives a power loss, not just a crash of
		// the process (the inbox commits in batches, so it costs little).
		s, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=synchronous(FULL)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("store: opening sqlite: %w", err)
		}
		// One connection: SQLite admits one writer at a time, and writers
		// that meet its lock back off by sleeping (busy_timeout polls in
		// steps of milliseconds), which is where a webhook's tail latency
		// went. Queuing for the one connection in Go wakes the next caller
		// as soon as the last is done. Nothing in the store holds a
		// transaction open while it queries outside it.
		s.SetMaxOpenConns(1)
		db = &DB{SQL: s, Dialect: SQLite}
	default:
		return nil, fmt.Errorf("store: unsupported DSN %q (want sqlite://PATH or postgres://…)", redactDSN(dsn))
	}
	if err := db.SQL.PingContext(ctx); err != nil {
		db.SQL.Close()
		return nil, fmt.Errorf("store: connecting: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.SQL.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.SQL.Close() }

// Ping reports whether the database is reachable (for /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Rebind turns `?` placeholders into the dialect's own ($1, $2… on PostgreSQL).
func (db *DB) Rebind(q string) string {
	if db.Dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Exec runs a statement with `?` placeholders.
func (db *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.SQL.ExecContext(ctx, db.Rebind(q), args...)
}

// Query runs a query with `?` placeholders.
func (db *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.SQL.QueryContext(ctx, db.Rebind(q), args...)
}

// QueryRow runs a single-row query with `?` placeholders.
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.SQL.QueryRowContext(ctx, db.Rebind(q), args...)
}

// Tx runs fn in a transaction, committing when fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: sqlTx, db: db}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Tx is a transaction with `?` placeholders.
type Tx struct {
	tx *sql.Tx
	db *DB
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.db.Rebind(q), args...)
}

// Query runs a query in the transaction.
func (t *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.db.Rebind(q), args...)
}

// QueryRow runs a single-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.Rebind(q), args...)
}

func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j > 0 && j < i {
			return dsn[:j+3] + "***" + dsn[i:]
		}
	}
	return dsn
}
