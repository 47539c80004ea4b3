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
	// Deployments, locks and promotions belong to one repository
	// ("owner/name"): two repos that both name an environment prod hold
	// separate locks and keep separate histories. Rows written before this
	// step belong to no repository (repo ""): the engine of a repository
	// never sees them, so an in-flight deployment left from then is not
	// resumed and must be finished by hand (see docs/deploy.md). Releases
	// stay shared: a release is its content, whichever repository built it.
	// SQLite cannot change a primary key in place, so the lock and
	// promotion tables are copied into new ones.
	{ID: "deploy-0002-scope-by-repository", SQL: `
ALTER TABLE deployments ADD COLUMN repo TEXT NOT NULL DEFAULT '';
DROP INDEX deployments_env;
CREATE INDEX deployments_repo_env ON deployments (repo, env, created_at);

CREATE TABLE deploy_locks_by_repo (
	repo       TEXT NOT NULL DEFAULT '',
	env        TEXT NOT NULL,
	holder     TEXT NOT NULL DEFAULT '',
	token      BIGINT NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL DEFAULT 0,
	person     TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (repo, env)
);
INSERT INTO deploy_locks_by_repo (repo, env, holder, token, expires_at, person, reason)
	SELECT '', env, holder, token, expires_at, person, reason FROM deploy_locks;
DROP TABLE deploy_locks;
ALTER TABLE deploy_locks_by_repo RENAME TO deploy_locks;

CREATE TABLE deploy_promotions_by_repo (
	repo       TEXT NOT NULL DEFAULT '',
	release_id TEXT NOT NULL,
	env        TEXT NOT NULL,
	state      TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (repo, release_id, env)
);
INSERT INTO deploy_promotions_by_repo (repo, release_id, env, state, reason, created_at, updated_at)
	SELECT '', release_id, env, state, reason, created_at, updated_at FROM deploy_promotions;
DROP TABLE deploy_promotions;
ALTER TABLE deploy_promotions_by_repo RENAME TO deploy_promotions`},
}
