package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy"
)

// runStatus prints, per environment, the release deployed, when, by whom,
// its checks and smoke results, and the pending promotions.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := addStateFlags(fs)
	cfgPath := fs.String("repo-config", config.RepoConfigPath, "the data repo's .conveyor.yml (names the environments and their order)")
	format := fs.String("format", "text", "output format: text or json")
	repo := fs.String("repo", "", "the repository (OWNER/NAME) to show, when the store holds deployments of several")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "conveyor status: --format must be text or json, got %q\n", *format)
		return exitUsage
	}
	data, err := os.ReadFile(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor status: reading the repo config: %v\n", err)
		return exitUsage
	}
	cfg, err := config.ParseRepo(*cfgPath, data)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor status: %v\n", err)
		return exitUsage
	}
	db, err := state.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor status: %v\n", err)
		return exitFailed
	}
	defer db.Close()
	var sts []deploy.EnvStatus
	if *repo != "" {
		sts, err = deploy.ReadRepoStatus(ctx, db, *repo, cfg, time.Now())
	} else {
		sts, err = deploy.ReadStatus(ctx, db, cfg, time.Now())
	}
	if err != nil {
		fmt.Fprintf(stderr, "conveyor status: %v\n", err)
		return exitFailed
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sts); err != nil {
			fmt.Fprintf(stderr, "conveyor status: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	if err := deploy.WriteStatus(stdout, sts); err != nil {
		fmt.Fprintf(stderr, "conveyor status: %v\n", err)
		return exitFailed
	}
	return exitOK
}
