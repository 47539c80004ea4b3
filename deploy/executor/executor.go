// Package executor runs a component's commands (dbt, terraform, import checks,
// smoke tests) for an environment: as a local subprocess on embedded defaults,
// or as an AWS CodeBuild build in the environment's account in production.
package executor

import (
	"context"
	"time"
)

// Command is one command to run in a working tree.
type Command struct {
	// Name labels the run in logs ("airflow import check", "dbt build").
	Name string
	// Script is run by `sh -c` in Dir.
	Script string
	Dir    string
	// Env holds extra environment variables; values are secrets and never printed.
	Env map[string]string
	// Vars holds plain environment variables (environment name, release ID),
	// printed freely.
	Vars    map[string]string
	Timeout time.Duration
	// Environment is the target environment (dev, staging, prod), if any.
	Environment string
}

// Result is a finished command.
type Result struct {
	ExitCode int
	// Output is stdout and stderr interleaved, with secret values masked.
	Output   string
	Duration time.Duration
	TimedOut bool
	// LogURL points at the full log where the executor keeps one.
	LogURL string
}

// Executor runs commands. Run returns an error only when the command could not
// be run at all; a command that ran and failed has a non-zero ExitCode.
type Executor interface {
	Run(ctx context.Context, cmd Command) (Result, error)
}
