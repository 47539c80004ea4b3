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

	"github.com/parcelflow/conveyor/store"
)

const inboxUsage = `usage:
  conveyor inbox list [--status pending|done|failed] [--format text|json] [--limit N] [--config FILE | --db DSN]
  conveyor inbox retry ID... [--config FILE | --db DSN]
`

// runInbox inspects the webhook inbox and replays parked deliveries. It
// reads the same server config as serve, and needs only its store.
func runInbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, inboxUsage)
		return exitUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("conveyor inbox "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := addStateFlags(fs)
	status := fs.String("status", "", "only deliveries with this status: pending, done or failed")
	format := fs.String("format", "text", "output format: text or json")
	limit := fs.Int("limit", 100, "at most this many deliveries, newest first")
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return exitUsage
	}

	open := func() (*store.Inbox, func(), bool) {
		db, err := state.open(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "conveyor inbox: %v\n", err)
			return nil, nil, false
		}
		return store.NewInbox(db), func() { db.Close() }, true
	}

	switch sub {
	case "list":
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "conveyor inbox list: unexpected argument %q\n%s", rest[0], inboxUsage)
			return exitUsage
		}
		filter := store.InboxFilter{Limit: *limit}
		if *status != "" {
			st, err := store.ParseDeliveryStatus(*status)
			if err != nil {
				fmt.Fprintf(stderr, "conveyor inbox list: --status: %v\n", err)
				return exitUsage
			}
			filter.Status = st
		}
		if *format != "text" && *format != "json" {
			fmt.Fprintf(stderr, "conveyor inbox list: --format must be text or json, got %q\n", *format)
			return exitUsage
		}
		inbox, closeDB, ok := open()
		if !ok {
			return exitFailed
		}
		defer closeDB()
		ds, err := inbox.List(ctx, filter)
		if err != nil {
			fmt.Fprintf(stderr, "conveyor inbox list: %v\n", err)
			return exitFailed
		}
		if *format == "json" {
			if ds == nil {
				ds = []store.Delivery{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(ds)
			return exitOK
		}
		printDeliveries(stdout, ds, time.Now())
		return exitOK

	case "retry":
		if len(rest) == 0 {
			fmt.Fprintf(stderr, "conveyor inbox retry: which delivery? Give its ID (see conveyor inbox list --status failed)\n")
			return exitUsage
		}
		inbox, closeDB, ok := open()
		if !ok {
			return exitFailed
		}
		defer closeDB()
		code := exitOK
		for _, id := range rest {
			if err := inbox.Retry(ctx, id); err != nil {
				switch {
				case errors.Is(err, store.ErrNotFound):
					fmt.Fprintf(stderr, "conveyor inbox retry: no delivery %s\n", id)
				case errors.Is(err, store.ErrNotParked):
					fmt.Fprintf(stderr, "conveyor inbox retry: %v; only failed deliveries are replayed\n", err)
				default:
					fmt.Fprintf(stderr, "conveyor inbox retry: %v\n", err)
				}
				code = exitFailed
				continue
			}
			fmt.Fprintf(stdout, "%s queued for another attempt\n", id)
		}
		return code
	}
	fmt.Fprintf(stderr, "conveyor inbox: unknown subcommand %q\n%s", sub, inboxUsage)
	return exitUsage
}

func printDeliveries(w io.Writer, ds []store.Delivery, now time.Time) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "no deliveries")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DELIVERY\tEVENT\tREPOSITORY\tSTATUS\tATTEMPTS\tRECEIVED\tLAST ERROR")
	for _, d := range ds {
		event := d.EventType
		if d.Action != "" {
			event += "." + d.Action
		}
		status := string(d.Status)
		if d.Status == store.StatusPending && d.LeaseUntil.After(now) {
			status = "running"
		}
		repo := d.Repository
		if repo == "" {
			repo = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, event, repo, status, d.Attempts,
			d.ReceivedAt.Local().Format("2006-01-02 15:04:05"), oneLine(d.LastError, 80))
	}
	tw.Flush()
}

func oneLine(s string, max int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments (`retry ID --config FILE`), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
