package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/parcelflow/conveyor/internal/demo"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", "testdata/sample-repo", "the sample data repo to start from")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for each answer from Conveyor")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if err := demo.Run(ctx, stdout, demo.Options{SampleRepo: *repo, Timeout: *timeout}); err != nil {
		fmt.Fprintf(stderr, "conveyor demo: %v\n", err)
		return 1
	}
	return 0
}
