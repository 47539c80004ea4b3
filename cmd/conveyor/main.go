// Command conveyor is the Conveyor GitHub App: the webhook server and the CLI
// that runs the same checks, inspects the inbox and the audit log, and plays
// the demo on embedded defaults.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // freeze windows name time zones; embed them so every host can read them
)

const usage = `conveyor — safe releases for a data platform repo

Usage:
  conveyor serve --config FILE        run the GitHub App webhook server
  conveyor validate --repo DIR        run the checks on a local checkout
  conveyor config validate FILE       validate a .conveyor.yml
  conveyor inbox list|retry           inspect and replay webhook deliveries
  conveyor status                     what runs in each environment
  conveyor health                     deployment frequency, lead time, failures, restores
  conveyor freshness --env ENV        contracted datasets' age against their SLAs
  conveyor drift --repo DIR           what a plan of the merged Terraform would change per environment
  conveyor failures --env ENV         DAG runs that failed in an environment's MWAA, with their tasks
  conveyor audit verify|list          check and read the hash-chained audit log
  conveyor demo                       the whole flow on embedded defaults

Run 'conveyor COMMAND --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "inbox":
		return runInbox(ctx, rest, stdout, stderr)
	case "validate":
		return runValidate(ctx, rest, stdout, stderr)
	case "config":
		return runConfig(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "status":
		return runStatus(ctx, rest, stdout, stderr)
	case "health":
		return runHealth(ctx, rest, stdout, stderr)
	case "freshness":
		return runFreshness(ctx, rest, stdout, stderr)
	case "drift":
		return runDrift(ctx, rest, stdout, stderr)
	case "failures":
		return runFailures(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "conveyor: unknown command %q\n\n%s", cmd, usage)
	return 2
}
