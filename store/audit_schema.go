package store

// auditMigrations are the schema steps of the audit tables (see migrate.go).
//
// Each row is one policy.Event. Its time is Unix nanoseconds in a BIGINT so the
// hashed value survives the round trip exactly on SQLite and PostgreSQL;
// reasons and membership are JSON text. seq is the primary key, so two
// writers can never both extend the chain from the same event.
var auditMigrations = []migration{
	{ID: "audit-001-events", SQL: `
CREATE TABLE audit_events (
	seq         BIGINT PRIMARY KEY,
	at_ns       BIGINT NOT NULL,
	repo        TEXT NOT NULL DEFAULT '',
	pr          INTEGER NOT NULL DEFAULT 0,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	env         TEXT NOT NULL DEFAULT '',
	delivery    TEXT NOT NULL DEFAULT '',
	inputs_hash TEXT NOT NULL DEFAULT '',
	decision    TEXT NOT NULL,
	reasons     TEXT NOT NULL DEFAULT '[]',
	break_glass INTEGER NOT NULL DEFAULT 0,
	membership  TEXT NOT NULL DEFAULT '{}',
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_events_repo_pr ON audit_events (repo, pr, seq);
`},
}
