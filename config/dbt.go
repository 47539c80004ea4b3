package config

import "fmt"

// DbtSettings configures the conveyor/dbt check.
type DbtSettings struct {
	RuleSettings `yaml:",inline"`
	// Manifest is a dbt manifest.json to read instead of parsing the project
	// (default: <project>/target/manifest.json when present and not stale).
	Manifest string `yaml:"manifest"`
	// Adapter decides which constraints count as enforced when judging a
	// contract change: snowflake (NOT NULL only, the default) or duckdb (all).
	Adapter string `yaml:"adapter"`
}

func (s DbtSettings) validate(cfg *RepoConfig) Errors {
	var errs Errors
	if s.Adapter != "" && s.Adapter != "snowflake" && s.Adapter != "duckdb" {
		errs = append(errs, &Error{File: cfg.File, Key: "checks.dbt.adapter", Msg: fmt.Sprintf("expected snowflake or duckdb, got %q", s.Adapter)})
	}
	return errs
}
