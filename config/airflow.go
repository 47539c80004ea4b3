package config

import (
	"fmt"
	"regexp"
	"strings"
)

// AirflowSettings configures the conveyor/airflow check.
type AirflowSettings struct {
	Pos          Pos `yaml:"-"`
	RuleSettings `yaml:",inline"`
	// TargetVersion is the Airflow version the DAGs must be ready for ("2.10", "3.0").
	TargetVersion string `yaml:"target_version"`
	// PythonVersion is the Python the DAGs run under ("3.11", "3.12"); the
	// syntax check follows its grammar. Empty: MWAA's Python for TargetVersion.
	PythonVersion string `yaml:"python_version"`
	// Require lists DAG attributes every DAG must set: owner, retries, tags.
	Require []string `yaml:"require"`
	// MaxCatchupRuns fails a DAG whose catchup would schedule more runs on deploy.
	MaxCatchupRuns int `yaml:"max_catchup_runs"`
}

var (
	airflowVersion = regexp.MustCompile(`^[123]\.\d+(\.\d+)?$`)
	pythonVersion  = regexp.MustCompile(`^3\.\d+(\.\d+)?$`)
)

func (s AirflowSettings) validate(cfg *RepoConfig) Errors {
	var errs Errors
	add := func(key, format string, args ...any) {
		errs = append(errs, &Error{File: cfg.File, Line: s.Pos.Line, Column: s.Pos.Column, Key: "checks.airflow." + key, Msg: fmt.Sprintf(format, args...)})
	}
	if s.TargetVersion != "" && !airflowVersion.MatchString(s.TargetVersion) {
		add("target_version", "expected an Airflow version like \"2.10\" or \"3.0\", got %q", s.TargetVersion)
	}
	if s.PythonVersion != "" && !pythonVersion.MatchString(s.PythonVersion) {
		add("python_version", "expected a Python 3 version like \"3.11\", got %q", s.PythonVersion)
	}
	for _, r := range s.Require {
		switch strings.ToLower(r) {
		case "owner", "retries", "tags":
		default:
			add("require", "%q cannot be required (known: owner, retries, tags)", r)
		}
	}
	if s.MaxCatchupRuns < 0 {
		add("max_catchup_runs", "cannot be negative, got %d", s.MaxCatchupRuns)
	}
	return errs
}
