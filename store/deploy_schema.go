package store

// deployMigrations are the schema steps of the deploy tables (see migrate.go).
//
// Times are Unix milliseconds (BIGINT) so SQLite and PostgreSQL compare them
// the same way. The deploy engine owns the JSON in deployments.details.
var deployMigrations = []migration{
	{ID: "deploy-0001-releases-deployments-locks", SQL: `
CREATE TABLE releases (
	id         TEXT PRIMARY KEY,
	sha        TEXT NOT NULL,
	pr         INTEGER NOT NULL DEFAULT 0,
	risk       TEXT NOT NULL,
	manifest   TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX releases_sha ON releases (sha);

CREATE TABLE deployments (
	id          TEXT PRIMARY KEY,
	release_id  TEXT NOT NULL REFERENCES releases (id),
	env         TEXT NOT NULL,
	kind        TEXT NOT NULL,
	state       TEXT NOT NULL,
	step        INTEGER NOT NULL DEFAULT 0,
	actor       TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	break_glass INTEGER NOT NULL DEFAULT 0,
	github_id   BIGINT NOT NULL DEFAULT 0,
	token       BIGINT NOT NULL DEFAULT 0,
	details     TEXT NOT NULL DEFAULT '{}',
	error       TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	finished_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deployments_env ON deployments (env, created_at);
CREATE INDEX deployments_state ON deployments (state);

CREATE TABLE deploy_locks (
	env        TEXT PRIMARY KEY,
	holder     TEXT NOT NULL DEFAULT '',
	token      BIGINT NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL DEFAULT 0,
	person     TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE deploy_promotions (
	release_id TEXT NOT NULL,
	env        TEXT NOT NULL,
	state      TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (release_id, env)
)`},
}
