package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/parcelflow/conveyor/config"
)

func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "validate" {
		fmt.Fprintln(stderr, "usage: conveyor config validate FILE [--format text|json]")
		return exitUsage
	}
	file := args[1]
	asJSON := len(args) > 3 && args[2] == "--format" && args[3] == "json"
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor config validate: %v\n", err)
		return exitUsage
	}
	cfg, err := config.ParseRepo(file, data)
	errs := config.AsErrors(err)
	if err != nil && len(errs) == 0 {
		errs = config.Errors{{File: file, Msg: err.Error()}}
	}
	if asJSON {
		out := struct {
			Valid  bool          `json:"valid"`
			Errors config.Errors `json:"errors"`
		}{Valid: err == nil, Errors: errs}
		if out.Errors == nil {
			out.Errors = config.Errors{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else if err != nil {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
	} else {
		fmt.Fprintf(stdout, "%s: valid (%d components, environments %v)\n", file, len(cfg.Components), cfg.EnvironmentNames())
	}
	if err != nil {
		return exitUsage
	}
	return exitOK
}

// repoConfigIn reads and validates the .conveyor.yml of the checkout dir.
// Commands that act on live environments need one; why says what for.
func repoConfigIn(dir, why string) (*config.RepoConfig, error) {
	data, err := os.ReadFile(filepath.Join(dir, config.RepoConfigPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s: %s", dir, config.RepoConfigPath, why)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", config.RepoConfigPath, err)
	}
	return config.ParseRepo(config.RepoConfigPath, data)
}
