package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcelflow/conveyor/observe"
)

// runHealth prints the delivery health of each repository's environments:
// deployment frequency, lead time, change failure rate, time to restore,
// state, last success and what is in flight.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := addStateFlags(fs)
	repo := fs.String("repo", "", "show only this repository (`OWNER/NAME`); all by default")
	format := fs.String("format", "text", "output format: text or json")
	windowText := fs.String("window", "30d", "the `WINDOW` rates and medians cover, e.g. 30d, 7d or 12h")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "conveyor health: --format must be text or json, got %q\n", *format)
		return exitUsage
	}
	window, err := parseWindow(*windowText)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor health: --window: %v\n", err)
		return exitUsage
	}
	db, err := state.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor health: %v\n", err)
		return exitFailed
	}
	defer db.Close()
	now := time.Now().UTC()
	hs, err := observe.ReadHealth(ctx, observe.StoreHistory(db), *repo, now, window)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor health: %v\n", err)
		return exitFailed
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if hs == nil {
			hs = []observe.EnvHealth{}
		}
		if err := enc.Encode(hs); err != nil {
			fmt.Fprintf(stderr, "conveyor health: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	writeHealth(stdout, hs, now, window)
	return exitOK
}

// parseWindow reads a Go duration, or a whole number of days ("30d").
func parseWindow(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("want a positive number of days or a duration, got %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	w, err := time.ParseDuration(s)
	if err != nil || w <= 0 {
		return 0, fmt.Errorf("want a positive number of days or a duration, got %q", s)
	}
	return w, nil
}

func writeHealth(w io.Writer, hs []observe.EnvHealth, now time.Time, window time.Duration) {
	if len(hs) == 0 {
		fmt.Fprintln(w, "no deployments recorded")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "REPO\tENV\tSTATE\tDEPLOYS/DAY\tLEAD TIME\tFAILED CHANGES\tTIME TO RESTORE\tLAST SUCCESS\tNOTES\n")
	releaseBasis := false
	for _, h := range hs {
		cfr := "-"
		if h.ChangeFailureRate != nil {
			cfr = fmt.Sprintf("%d/%d (%.0f%%)", h.Failures, h.Changes, 100**h.ChangeFailureRate)
		}
		lead := "-"
		if h.LeadTimeSamples > 0 {
			lead = humanDuration(h.LeadTime)
			if h.LeadTimeBasis == observe.BasisRelease {
				lead += "*"
				releaseBasis = true
			}
		}
		restore := "-"
		if h.Restores > 0 {
			restore = fmt.Sprintf("%s (%d)", humanDuration(h.TimeToRestore), h.Restores)
		}
		last := "-"
		if h.LastSuccess != nil {
			last = fmt.Sprintf("%s %s ago", shortID(h.LastSuccess.Release), humanDuration(now.Sub(h.LastSuccess.At)))
		}
		state := h.State
		if state == "" {
			state = "-"
		}
		var notes []string
		if !h.FailingSince.IsZero() {
			notes = append(notes, "failing for "+humanDuration(now.Sub(h.FailingSince)))
		}
		if f := h.InFlight; f != nil {
			notes = append(notes, fmt.Sprintf("%s %s in flight (%s, %s)", f.Kind, shortID(f.Release), f.State, humanDuration(now.Sub(f.At))))
		}
		if h.Rollbacks > 0 {
			notes = append(notes, fmt.Sprintf("%d rollback(s)", h.Rollbacks))
		}
		repo := h.Repo
		if repo == "" {
			repo = "(unscoped)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\n", repo, h.Env, state, h.DeploysPerDay, lead, cfr, restore, last, strings.Join(notes, "; "))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nover the %s ending %s; lead time and time to restore are medians\n", humanDuration(window), now.Format("2006-01-02 15:04Z"))
	if releaseBasis {
		fmt.Fprintln(w, "* lead time counts from when the release was built: no commit time is recorded, so the time from commit to merge is not in it")
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// humanDuration rounds d to the two largest units people read (3d4h, 2h5m, 40s).
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d >= 24*time.Hour:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	case d >= time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	case d >= time.Minute:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s)
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}
