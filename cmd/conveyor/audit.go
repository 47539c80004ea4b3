package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcelflow/conveyor/policy"
	"github.com/parcelflow/conveyor/store"
)

const auditUsage = `Usage:
  conveyor audit verify [--config FILE | --db DSN]
      check the hash chain of every audit event; exit 1 at the first broken link
  conveyor audit list [--config FILE | --db DSN] [--repo OWNER/NAME] [--pr N] [--after SEQ] [--limit N] [--format text|json]
      list audit events in chain order

The state database is the server config's store.dsn, or --db.
`

// runAudit inspects the hash-chained audit log: `verify` proves no stored
// event was changed, removed or reordered; `list` shows the events.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, auditUsage)
		return exitUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("conveyor audit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := addStateFlags(fs)
	repo := fs.String("repo", "", "only events of this repository (list)")
	pr := fs.Int("pr", 0, "only events of this pull request (list)")
	after := fs.Int64("after", 0, "only events after this sequence number (list)")
	limit := fs.Int("limit", 100, "at most this many events (list)")
	format := fs.String("format", "text", "output format: text or json (list)")
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "conveyor audit %s: unexpected argument %q\n%s", sub, rest[0], auditUsage)
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "conveyor audit %s: --format must be text or json, got %q\n", sub, *format)
		return exitUsage
	}
	if sub != "verify" && sub != "list" {
		fmt.Fprintf(stderr, "conveyor audit: unknown subcommand %q\n\n%s", sub, auditUsage)
		return exitUsage
	}
	db, err := state.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor audit: %v\n", err)
		return exitFailed
	}
	defer db.Close()
	log := store.NewAuditLog(db)

	if sub == "verify" {
		n, last, err := log.Verify(ctx)
		var broken *policy.ChainError
		switch {
		case errors.As(err, &broken):
			fmt.Fprintf(stdout, "BROKEN: %v\n%d event(s) before it verified.\n", broken, n)
			return exitFailed
		case err != nil:
			fmt.Fprintf(stderr, "conveyor audit verify: %v\n", err)
			return exitFailed
		case n == 0:
			fmt.Fprintln(stdout, "OK: the audit log is empty.")
		default:
			fmt.Fprintf(stdout, "OK: %d event(s) verified; last hash %s\n", n, last)
			fmt.Fprintln(stdout, "Keep the last hash elsewhere: a later verify that ends on a different hash at this event means the log was rewritten.")
		}
		return exitOK
	}

	events, err := log.List(ctx, store.AuditFilter{Repo: *repo, PR: *pr, AfterSeq: *after, Limit: *limit})
	if err != nil {
		fmt.Fprintf(stderr, "conveyor audit list: %v\n", err)
		return exitFailed
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if events == nil {
			events = []policy.Event{}
		}
		if err := enc.Encode(events); err != nil {
			fmt.Fprintf(stderr, "conveyor audit list: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tREPO\tPR\tACTOR\tACTION\tENV\tDECISION\tREASONS")
	for _, ev := range events {
		action := ev.Action
		if ev.BreakGlass {
			action += " (BREAK-GLASS)"
		}
		prText := "-"
		if ev.PR != 0 {
			prText = fmt.Sprintf("#%d", ev.PR)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.Time.UTC().Format(time.RFC3339), orDash(ev.Repo), prText, ev.Actor,
			action, orDash(ev.Env), ev.Decision, oneLine(strings.Join(strings.Fields(strings.Join(ev.Reasons, "; ")), " "), 100))
	}
	if err := tw.Flush(); err != nil {
		return exitFailed
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
