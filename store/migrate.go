package store

import (
	"context"
	"fmt"
	"strings"
)

// migration is one schema step. Each concern (inbox, audit, deploy…) keeps its
// own steps in its own file; IDs are applied once, in the order listed here.
type migration struct {
	ID  string
	SQL string
}

// migrations lists every schema step in order. Append new steps; never edit
// an applied one. SQL must run on both SQLite and PostgreSQL.
func migrations() []migration {
	var all []migration
	all = append(all, inboxMigrations...)
	all = append(all, auditMigrations...)
	all = append(all, deployMigrations...)
	all = append(all, policyMigrations...)
	return all
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return fmt.Errorf("store: creating schema_migrations: %w", err)
	}
	for _, m := range migrations() {
		err := db.Tx(ctx, func(tx *Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE id = ?`, m.ID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitStatements(m.SQL) {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (id) VALUES (?)`, m.ID)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.ID, err)
		}
	}
	return nil
}

func splitStatements(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) != "" {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return out
}

func firstLine(s string) string {
	if i := strings.Index(s, "\n"); i > 0 {
		return s[:i]
	}
	return s
}
