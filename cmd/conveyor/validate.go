package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/builtin"
	"github.com/parcelflow/conveyor/checks/configcheck"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/deploy/warehouse/duckdb"
)

// Exit codes of `conveyor validate`.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

type planFlags map[string]string

func (p planFlags) String() string { return fmt.Sprint(map[string]string(p)) }

func (p planFlags) Set(v string) error {
	env, file, ok := strings.Cut(v, "=")
	if !ok || env == "" || file == "" {
		return fmt.Errorf("want ENV=FILE, got %q", v)
	}
	p[env] = file
	return nil
}

// validateOutput is the JSON shape of `conveyor validate --format json`.
type validateOutput struct {
	Repo   string          `json:"repo"`
	Base   string          `json:"base,omitempty"`
	Head   string          `json:"head,omitempty"`
	Config string          `json:"config"`
	Checks []checks.Result `json:"checks"`
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "the repo checkout or plain directory to validate")
	base := fs.String("base", "", "base ref (git repos; default: merge base with main/master, else none)")
	head := fs.String("head", "", "head ref (git repos; default: the working tree)")
	format := fs.String("format", "text", "output format: text or json")
	only := fs.String("check", "", "run only the named checks (comma-separated)")
	noCommands := fs.Bool("no-commands", false, "do not run the repo's own commands (import checks, dbt, terraform plan)")
	verbose := fs.Bool("v", false, "print each check's summary too")
	plans := planFlags{}
	fs.Var(plans, "plan", "a terraform plan as `ENV=FILE` (terraform show -json output); repeatable")
	live := planFlags{}
	fs.Var(live, "warehouse", "compare contracts with the live tables of `ENV=FILE.duckdb` (opened read only); repeatable")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "conveyor validate: --format must be text or json, got %q\n", *format)
		return exitUsage
	}
	info, err := os.Stat(*repo)
	if err != nil || !info.IsDir() {
		fmt.Fprintf(stderr, "conveyor validate: --repo %s is not a directory\n", *repo)
		return exitUsage
	}
	in, cfgState, baseName, headName, err := loadTrees(ctx, *repo, *base, *head)
	if err != nil {
		fmt.Fprintf(stderr, "conveyor validate: %v\n", err)
		return exitUsage
	}
	// A plan or warehouse for an environment the config does not have would
	// be checked and then gated by nothing: most likely a typo (prd=).
	for _, f := range []struct {
		flag  string
		given planFlags
	}{{"plan", plans}, {"warehouse", live}} {
		if err := knownEnvs(f.flag, f.given, in.Config.Environments); err != nil {
			fmt.Fprintf(stderr, "conveyor validate: %v\n", err)
			return exitUsage
		}
	}
	if len(plans) > 0 {
		in.Plans = map[string][]byte{}
		for _, env := range sortedPlanEnvs(plans) {
			file := plans[env]
			data, err := os.ReadFile(file)
			if err != nil {
				fmt.Fprintf(stderr, "conveyor validate: --plan %s=%s: %v\n", env, file, err)
				return exitUsage
			}
			if err := checkJSON(file, data); err != nil {
				fmt.Fprintf(stderr, "conveyor validate: --plan %s=%v\n", env, err)
				return exitUsage
			}
			in.Plans[env] = data
		}
	}
	if !*noCommands {
		in.Executor = &executor.Local{}
		if in.HeadDir == "" {
			dir, err := os.MkdirTemp("", "conveyor-validate-")
			if err != nil {
				fmt.Fprintf(stderr, "conveyor validate: %v\n", err)
				return exitUsage
			}
			defer os.RemoveAll(dir)
			if err := checks.Materialize(in.Head, dir); err != nil {
				fmt.Fprintf(stderr, "conveyor validate: %v\n", err)
				return exitUsage
			}
			in.HeadDir = dir
		}
	}
	var opts []builtin.Option
	for _, env := range sortedPlanEnvs(live) {
		path := live[env]
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(stderr, "conveyor validate: --warehouse %s=%s: %v\n", env, path, err)
			return exitUsage
		}
		wh, err := duckdb.Open(path + "?access_mode=read_only")
		if err != nil {
			fmt.Fprintf(stderr, "conveyor validate: --warehouse %s=%s: %v\n", env, path, err)
			return exitUsage
		}
		defer wh.Close()
		opts = append(opts, builtin.WithLiveWarehouse(env, wh))
	}
	reg := builtin.Registry(opts...)
	cs := reg.Applicable(in)
	if *only != "" {
		cs = nil
		for _, name := range strings.Split(*only, ",") {
			c, ok := reg.Get(strings.TrimSpace(name))
			if !ok {
				fmt.Fprintf(stderr, "conveyor validate: unknown check %q\n", name)
				return exitUsage
			}
			cs = append(cs, c)
		}
	}
	results := checks.RunAll(ctx, cs, in)

	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		for i := range results {
			if results[i].Annotations == nil {
				results[i].Annotations = []checks.Annotation{}
			}
		}
		if err := enc.Encode(validateOutput{Repo: *repo, Base: baseName, Head: headName, Config: string(cfgState), Checks: results}); err != nil {
			fmt.Fprintf(stderr, "conveyor validate: %v\n", err)
			return exitUsage
		}
	default:
		printText(stdout, in, cfgState, baseName, headName, results, *verbose)
	}
	return exitCode(results)
}

// exitCode is 2 when the config itself is broken, 1 when any check fails.
func exitCode(results []checks.Result) int {
	code := exitOK
	for _, r := range results {
		if r.Name == configcheck.Name {
			if d, ok := r.Details.(configcheck.Details); ok && len(d.Errors) > 0 {
				return exitUsage
			}
		}
		if r.Conclusion == checks.Failure {
			code = exitFailed
		}
	}
	return code
}

func printText(w io.Writer, in *checks.Input, cfg configState, base, head string, results []checks.Result, verbose bool) {
	switch cfg {
	case configDetected:
		fmt.Fprintln(w, "No .conveyor.yml: components detected from the files; checks run with default settings.")
	case configInvalid:
		fmt.Fprintln(w, ".conveyor.yml is invalid (see conveyor/config): the other checks run on components detected from the files, with default settings.")
	}
	if base != "" {
		fmt.Fprintf(w, "Comparing %s → %s: %d changed files\n", base, orDefault(head, "working tree"), len(in.Changes))
	}
	for _, r := range results {
		mark := map[checks.Conclusion]string{checks.Success: "✓", checks.Failure: "✗", checks.Neutral: "•", checks.Skipped: "-", checks.ActionRequired: "!"}[r.Conclusion]
		fmt.Fprintf(w, "\n%s %s  %s — %s\n", mark, r.Name, r.Conclusion, r.Title)
		for _, a := range r.Annotations {
			at := fmt.Sprintf("%s:%d", a.Path, a.StartLine)
			if a.StartColumn > 0 {
				at += fmt.Sprintf(":%d", a.StartColumn)
			}
			fmt.Fprintf(w, "  %s: %s [%s] %s\n", at, a.Level, a.Rule, a.Message)
		}
		if verbose && r.Summary != "" {
			for _, line := range strings.Split(strings.TrimRight(r.Summary, "\n"), "\n") {
				fmt.Fprintf(w, "  | %s\n", line)
			}
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// configState says where the config governing a run came from.
type configState string

const (
	// configFile: a valid .conveyor.yml.
	configFile configState = "file"
	// configDetected: no .conveyor.yml; components detected from the files.
	configDetected configState = "detected"
	// configInvalid: a .conveyor.yml that does not parse or validate;
	// conveyor/config reports why, the other checks run on detected components.
	configInvalid configState = "invalid"
)

func stateOf(in *checks.Input, cfgErr error) configState {
	switch {
	case cfgErr != nil:
		return configInvalid
	case in.Config.Detected:
		return configDetected
	}
	return configFile
}

// knownEnvs says which ENV in --flag ENV=… the config does not name.
func knownEnvs(flag string, given planFlags, envs []config.Environment) error {
	var names []string
	known := map[string]bool{}
	for _, e := range envs {
		names = append(names, e.Name)
		known[e.Name] = true
	}
	for _, env := range sortedPlanEnvs(given) {
		if !known[env] {
			return fmt.Errorf("--%s %s=%s: unknown environment %q (known: %s)", flag, env, given[env], env, strings.Join(names, ", "))
		}
	}
	return nil
}

func sortedPlanEnvs(p planFlags) []string {
	envs := make([]string, 0, len(p))
	for env := range p {
		envs = append(envs, env)
	}
	sort.Strings(envs)
	return envs
}

// loadTrees reads base and head. In a git repo the base is a ref (by default
// the merge base with main or master) and the head a ref or the working tree;
// a plain directory has an empty base, so every file counts as new.
func loadTrees(ctx context.Context, dir, baseRef, headRef string) (*checks.Input, configState, string, string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", "", "", err
	}
	if !checks.IsGitRepo(ctx, abs) {
		if baseRef != "" || headRef != "" {
			return nil, "", "", "", errors.New("--base and --head need a git repository")
		}
		head, err := checks.ReadDir(abs)
		if err != nil {
			return nil, "", "", "", err
		}
		in := checks.NewInput(checks.EmptyTree, head)
		// A plain directory has no base branch: its own config governs it.
		// That config is part of the change (every file is new), so
		// conveyor/config validates it as this change's, once; reporting it
		// again as a base-branch error would say every problem twice.
		cfg, cfgErr := checks.LoadRepoConfig(head, head)
		in.Config, in.ConfigErr = cfg, nil
		in.HeadDir = abs
		return in, stateOf(in, cfgErr), "", "", nil
	}
	var head checks.Tree
	headDir := ""
	if headRef == "" {
		t, err := checks.ReadDir(abs)
		if err != nil {
			return nil, "", "", "", err
		}
		head, headDir = t, abs
	} else {
		t, err := checks.ReadGitRef(ctx, abs, headRef)
		if err != nil {
			return nil, "", "", "", err
		}
		head = t
	}
	if baseRef == "" {
		baseRef = defaultBase(ctx, abs, orDefault(headRef, "HEAD"))
	}
	base := checks.EmptyTree
	if baseRef != "" {
		t, err := checks.ReadGitRef(ctx, abs, baseRef)
		if err != nil {
			return nil, "", "", "", err
		}
		base = t
	}
	in := checks.NewInput(base, head)
	in.HeadDir = headDir
	return in, stateOf(in, in.ConfigErr), baseRef, headRef, nil
}

// defaultBase finds the merge base of head with main or master, if either exists.
func defaultBase(ctx context.Context, dir, head string) string {
	for _, b := range []string{"origin/main", "main", "origin/master", "master"} {
		out, err := exec.CommandContext(ctx, "git", "-C", dir, "merge-base", b, head).Output()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	return ""
}

// checkJSON rejects a file that is not JSON, saying at which line and column,
// so a truncated plan is a usage error rather than an empty plan.
func checkJSON(file string, data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	var syn *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		line, col := lineCol(data, max(syn.Offset-1, 0)) // Offset is just past the bad byte
		return fmt.Errorf("%s:%d:%d: not valid JSON (%v); pass the output of `terraform show -json`", file, line, col, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("%s:%d:%d: not valid JSON: the file ends early; pass the output of `terraform show -json`", file, line, col)
	}
	return fmt.Errorf("%s: not valid JSON: %v", file, err)
}

func lineCol(data []byte, offset int64) (int, int) {
	line, col := 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return line, col
}
