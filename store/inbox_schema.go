package store

// inboxMigrations are the schema steps of the inbox tables (see migrate.go).
//
// Times are Unix milliseconds in BIGINT columns: they compare and index the
// same way on SQLite and PostgreSQL, with no time-zone or format surprises.
// The payload is BYTEA so the exact signed bytes survive on PostgreSQL (SQLite
// keeps a blob as a blob whatever the declared type).
var inboxMigrations = []migration{
	{ID: "inbox-001-deliveries", SQL: `
CREATE TABLE inbox_deliveries (
	delivery_id     TEXT PRIMARY KEY,
	event_type      TEXT NOT NULL,
	action          TEXT NOT NULL DEFAULT '',
	installation_id BIGINT NOT NULL DEFAULT 0,
	repository      TEXT NOT NULL DEFAULT '',
	payload         BYTEA NOT NULL,
	status          TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	received_at     BIGINT NOT NULL,
	next_attempt_at BIGINT NOT NULL,
	claimed_by      TEXT NOT NULL DEFAULT '',
	lease_until     BIGINT NOT NULL DEFAULT 0,
	finished_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX inbox_deliveries_ready ON inbox_deliveries (status, next_attempt_at, received_at);
`},
	// A claim takes the oldest ready delivery. Ordered by next_attempt_at
	// first, the old index made the database sort every pending delivery on
	// each claim (milliseconds each with a backlog of thousands, while the
	// webhook intake waited for the database); in receipt order, a claim reads
	// from the front and passes over only the few leased or backing off.
	{ID: "inbox-002-claim-in-receipt-order", SQL: `
DROP INDEX inbox_deliveries_ready;
CREATE INDEX inbox_deliveries_queue ON inbox_deliveries (status, received_at, delivery_id);
`},
}
