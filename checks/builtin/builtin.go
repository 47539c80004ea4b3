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
	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// Option tunes the built-in checks.
type Option func(*options)

type options struct {
	contracts []contracts.Option
}

// WithLiveWarehouse has conveyor/contracts compare each contract with its
// live table in env's warehouse (read only).
func WithLiveWarehouse(env string, wh warehouse.Inspector) Option {
	return func(o *options) { o.contracts = append(o.contracts, contracts.WithWarehouse(env, wh)) }
}

// Registry returns the built-in checks.
func Registry(opts ...Option) *checks.Registry {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return checks.NewRegistry(
		configcheck.Check{},
		airflow.New(),
		dbt.New(),
		contracts.New(o.contracts...),
		terraform.New(),
	)
}
