package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/warehouse"
	"github.com/parcelflow/conveyor/deploy/warehouse/duckdb"
	"github.com/parcelflow/conveyor/deploy/warehouse/snowflake"
	"github.com/parcelflow/conveyor/observe"
)

// runFreshness measures, for every dataset a data contract of the repo
// gives a freshness SLA, the age of its newest row in one environment's
// warehouse. It exits 1 when a dataset is stale.
func runFreshness(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("freshness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("repo", ".", "the data repo's checkout (`DIR`): its .conveyor.yml and contracts")
	envName := fs.String("env", "", "the `ENV`ironment whose warehouse to measure")
	duckPath := fs.String("duckdb", "", "the DuckDB `FILE` to read (default: the environment's warehouse.path)")
	sfUser := fs.String("snowflake-user", "", "the Snowflake `USER` to read as, for an environment on Snowflake")
	sfPasswordEnv := fs.String("snowflake-password-env", "SNOWFLAKE_PASSWORD", "the environment `VARIABLE` holding that user's password")
	format := fs.String("format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "conveyor freshness: "+format+"\n", args...)
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		return usageErr("--format must be text or json, got %q", *format)
	}
	if *envName == "" {
		return usageErr("--env is required")
	}
	cfg, err := repoConfigIn(*dir, "freshness needs the environment's warehouse")
	if err != nil {
		return usageErr("%v", err)
	}
	tree, err := checks.ReadDir(*dir)
	if err != nil {
		return usageErr("%v", err)
	}
	env, ok := cfg.Environment(*envName)
	if !ok {
		return usageErr("the repo config has no environment %q (it has: %s)", *envName, strings.Join(cfg.EnvironmentNames(), ", "))
	}
	wh, err := openWarehouse(env, *duckPath, *sfUser, os.Getenv(*sfPasswordEnv), *sfPasswordEnv)
	if err != nil {
		return usageErr("%v", err)
	}
	defer wh.Close()

	now := time.Now().UTC()
	results := observe.CheckFreshness(ctx, wh, observe.FreshnessTargets(observe.LoadContracts(cfg, tree)), now)
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if results == nil {
			results = []observe.Freshness{}
		}
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(stderr, "conveyor freshness: %v\n", err)
			return exitFailed
		}
	} else {
		writeFreshness(stdout, *envName, results)
	}
	for _, r := range results {
		if r.Status == observe.Stale {
			return exitFailed
		}
	}
	return exitOK
}

// openWarehouse opens env's warehouse read-only: a DuckDB file (which must
// exist: opening a missing one would create it), or Snowflake as user.
func openWarehouse(env *config.Environment, duckPath, sfUser, sfPassword, sfPasswordEnv string) (*warehouse.DB, error) {
	typ := env.Warehouse.Type
	if duckPath != "" {
		typ = "duckdb"
	}
	switch typ {
	case "duckdb":
		path := duckPath
		if path == "" {
			path = env.Warehouse.Path
		}
		if path == "" {
			return nil, fmt.Errorf("environment %s names no DuckDB file (warehouse.path): pass --duckdb FILE", env.Name)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("the DuckDB file of %s: %w", env.Name, err)
		}
		return duckdb.Open(path + "?access_mode=read_only")
	case "snowflake":
		if sfUser == "" {
			return nil, fmt.Errorf("environment %s is on Snowflake: pass --snowflake-user", env.Name)
		}
		if sfPassword == "" {
			return nil, fmt.Errorf("environment variable %s holds no password for %s", sfPasswordEnv, sfUser)
		}
		w := env.Warehouse
		return snowflake.Open(snowflake.Config{Account: w.Account, User: sfUser, Password: sfPassword, Database: w.Database, Warehouse: w.Warehouse, Role: w.Role})
	case "":
		return nil, errors.New("environment " + env.Name + " has no warehouse: pass --duckdb FILE")
	}
	return nil, fmt.Errorf("warehouse type %q is not supported", typ)
}

func writeFreshness(w io.Writer, env string, rs []observe.Freshness) {
	if len(rs) == 0 {
		fmt.Fprintln(w, "no data contract gives a dataset a freshness SLA")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tDATASET\tCOLUMN\tLATEST\tAGE\tSLA\tCONTRACT\tNOTES")
	counts := map[string]int{}
	for _, r := range rs {
		counts[r.Status]++
		latest, age := "-", "-"
		if !r.Latest.IsZero() {
			latest, age = r.Latest.Format("2006-01-02 15:04:05Z"), humanDuration(r.Age)
		}
		col := r.Column
		if col == "" {
			col = "-"
		}
		sla := "-"
		if r.SLA > 0 {
			sla = humanDuration(r.SLA)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Status, r.Relation, col, latest, age, sla,
			fmt.Sprintf("%s:%d", r.Path, r.Line), r.Reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s: %d fresh, %d stale, %d unknown\n", env, counts[observe.Fresh], counts[observe.Stale], counts[observe.Unknown])
}
