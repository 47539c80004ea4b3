package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/parcelflow/conveyor/deploy/airflow"
)

// runFailures lists the DAG runs that failed in an environment's MWAA
// since a while ago, with their failed tasks, as the person running it
// (their AWS credentials, so the calls are theirs in CloudTrail). Exit 0
// when nothing failed, 1 when a run failed, 2 on a usage or config error.
func runFailures(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("failures", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "the data repo, for .conveyor.yml")
	envName := fs.String("env", "", "the environment (required)")
	since := fs.Duration("since", 24*time.Hour, "how far back to look")
	format := fs.String("format", "text", "output format: text or json")
	endpoint := fs.String("mwaa-endpoint", "", "an MWAA API endpoint to use instead of AWS's (a VPC endpoint)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "conveyor failures: "+format+"\n", args...)
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		return fail("--format must be text or json, got %q", *format)
	}
	if *envName == "" {
		return fail("--env is required")
	}
	cfg, err := repoConfigIn(*repo, "failures needs the environment's airflow.mwaa_environment")
	if err != nil {
		return fail("%v", err)
	}
	env, ok := cfg.Environment(*envName)
	if !ok {
		return fail("unknown environment %q (known: %s)", *envName, strings.Join(cfg.EnvironmentNames(), ", "))
	}
	if env.Airflow.MWAAEnvironment == "" {
		return fail("environment %s names no airflow.mwaa_environment", env.Name)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(env.Region))
	if err != nil {
		return fail("loading your AWS credentials: %v", err)
	}
	cutoff := time.Now().Add(-*since)
	runs, err := airflow.FailedRuns(ctx, airflow.NewMWAAClient(awsCfg, *endpoint), env.Airflow.MWAAEnvironment, cutoff)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor failures: %v\n", err)
		return exitFailed
	}
	code := exitOK
	if len(runs) > 0 {
		code = exitFailed
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"env": env.Name, "since": cutoff.UTC(), "failed_runs": runs}); err != nil {
			return fail("%v", err)
		}
		return code
	}
	if len(runs) == 0 {
		fmt.Fprintf(stdout, "%s: no DAG run failed in the last %s\n", env.Name, *since)
		return code
	}
	fmt.Fprintf(stdout, "%s: %d DAG run(s) failed in the last %s\n", env.Name, len(runs), *since)
	for _, r := range runs {
		fmt.Fprintf(stdout, "  %-40s %s  started %s  failed tasks: %s\n", r.DagID, r.RunID, r.StartDate.UTC().Format(time.RFC3339), strings.Join(r.Tasks, ", "))
	}
	return code
}
