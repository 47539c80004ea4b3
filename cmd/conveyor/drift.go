package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/terraform"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/observe"
)

// runDrift plans the Terraform code of a checkout (the default branch, on a
// schedule) in each environment with the terraform component's plan
// command, and reports what the plans would change: infrastructure drift.
// Exit 0 when every environment is in sync, 1 when one drifted or could not
// be planned, 2 on a usage or config error.
func runDrift(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drift", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "a checkout of the merged code (the default branch)")
	only := fs.String("env", "", "plan only this environment (default: every environment)")
	format := fs.String("format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "conveyor drift: "+format+"\n", args...)
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		return fail("--format must be text or json, got %q", *format)
	}
	tree, err := checks.ReadDir(*repo)
	if err != nil {
		return fail("reading %s: %v", *repo, err)
	}
	cfg, err := repoConfigIn(*repo, "drift needs the terraform component's plan command")
	if err != nil {
		return fail("%v", err)
	}
	envs := cfg.EnvironmentNames()
	if *only != "" {
		if _, ok := cfg.Environment(*only); !ok {
			return fail("unknown environment %q (known: %v)", *only, envs)
		}
		envs = []string{*only}
	}
	planned := false
	for _, c := range cfg.ComponentsOfKind(config.KindTerraform) {
		planned = planned || c.Commands.Plan != ""
	}
	if !planned {
		return fail("no terraform component in %s has commands.plan", config.RepoConfigPath)
	}
	// The merged code against itself: nothing changed, so the plans alone speak.
	in := checks.NewInput(tree, tree)
	in.Executor, in.HeadDir = &executor.Local{}, *repo
	res := checks.Run(ctx, terraform.New(), in)
	d, ok := res.Details.(terraform.Details)
	if !ok {
		fmt.Fprintf(stderr, "conveyor drift: the terraform check did not run: %s\n", res.Summary)
		return exitFailed
	}
	drifts := observe.DriftFrom(d.Plans, envs)
	code := exitOK
	for _, dr := range drifts {
		if !dr.InSync {
			code = exitFailed
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"environments": drifts}); err != nil {
			return fail("%v", err)
		}
		return code
	}
	for _, dr := range drifts {
		switch {
		case dr.Error != "":
			fmt.Fprintf(stdout, "%-8s could not be planned: %s\n", dr.Env, dr.Error)
		case dr.InSync:
			fmt.Fprintf(stdout, "%-8s in sync with the merged code\n", dr.Env)
		default:
			fmt.Fprintf(stdout, "%-8s drifted: a plan of the merged code would change %d resource(s)", dr.Env, len(dr.Changes))
			if dr.Stateful > 0 {
				fmt.Fprintf(stdout, ", %d of them destroying stateful resources", dr.Stateful)
			}
			fmt.Fprintln(stdout)
			for _, c := range dr.Changes {
				fmt.Fprintf(stdout, "           %-8s %s\n", c.Action, c.Address)
			}
		}
	}
	return code
}
