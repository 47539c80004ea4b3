// Package builtin assembles the checks Conveyor ships, in the order their
// check runs appear on a PR. The server, the CLI and the demo all use it, so
// a PR and `conveyor validate` always run the same checks.
package builtin

import (
	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/airflow"
	"github.com/parcelflow/conveyor/checks/configcheck"
	"github.com/parcelflow/conveyor/checks/contracts"
	"github.com/parcelflow/conveyor/checks/dbt"
	"github.com/parcelflow/conveyor/checks/terraform"
)

// Registry returns the built-in checks.
func Registry() *checks.Registry {
	return checks.NewRegistry(
		configcheck.Check{},
		airflow.New(),
		dbt.New(),
		contracts.New(),
		terraform.New(),
	)
}
