package store

// policyMigrations are the schema steps of the policy tables (see migrate.go).
//
// Times are Unix nanoseconds (BIGINT). Lists and maps are JSON text, owned by
// store/policy.go.
//
//   - policy_team_members caches GitHub team membership per organization and
//     team; membership and team webhooks refresh or drop rows.
//   - policy_check_results keeps each check's signals and approval
//     requirements at a commit, so a review can re-decide the policy check
//     without running the checks again.
//   - policy_decisions keeps the latest policy decision per pull request and
//     the teams it relied on, so a team change re-decides those PRs.
//   - policy_freezes are the freezes set with /freeze and lifted with /unfreeze.
//   - policy_commands records each command run from a comment line, so a
//     retried delivery never runs a command twice and reuses its reply.
var policyMigrations = []migration{
	{ID: "policy-0001-membership-results-decisions-freezes-commands", SQL: `
CREATE TABLE policy_team_members (
	org        TEXT NOT NULL,
	slug       TEXT NOT NULL,
	members    TEXT NOT NULL,
	fetched_ns BIGINT NOT NULL,
	PRIMARY KEY (org, slug)
);

CREATE TABLE policy_check_results (
	repo       TEXT NOT NULL,
	sha        TEXT NOT NULL,
	check_name TEXT NOT NULL,
	conclusion TEXT NOT NULL,
	signals    TEXT NOT NULL DEFAULT '[]',
	approvals  TEXT NOT NULL DEFAULT '[]',
	at_ns      BIGINT NOT NULL,
	PRIMARY KEY (repo, sha, check_name)
);

CREATE TABLE policy_decisions (
	repo            TEXT NOT NULL,
	pr              INTEGER NOT NULL,
	installation_id BIGINT NOT NULL,
	sha             TEXT NOT NULL,
	state           TEXT NOT NULL,
	teams           TEXT NOT NULL DEFAULT '[]',
	at_ns           BIGINT NOT NULL,
	PRIMARY KEY (repo, pr)
);

CREATE TABLE policy_freezes (
	id        TEXT PRIMARY KEY,
	repo      TEXT NOT NULL,
	env       TEXT NOT NULL,
	by_login  TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	since_ns  BIGINT NOT NULL,
	until_ns  BIGINT NOT NULL,
	lifted_by TEXT NOT NULL DEFAULT '',
	lifted_ns BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX policy_freezes_repo_env ON policy_freezes (repo, env, until_ns);

CREATE TABLE policy_commands (
	repo       TEXT NOT NULL,
	comment_id BIGINT NOT NULL,
	line       INTEGER NOT NULL,
	name       TEXT NOT NULL,
	delivery   TEXT NOT NULL,
	state      TEXT NOT NULL,
	reply_id   BIGINT NOT NULL DEFAULT 0,
	at_ns      BIGINT NOT NULL,
	PRIMARY KEY (repo, comment_id, line)
);
`},
}
