// Package configcheck is the conveyor/config check: the repo config that will
// govern this change is valid, and every component path matches a file.
package configcheck

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
)

// Name is the check run's name.
const Name = "conveyor/config"

// Check validates the repo config.
type Check struct{}

var _ checks.Check = Check{}

// Name returns the check run name.
func (Check) Name() string { return Name }

// Applies always: every repo has a config, written or detected.
func (Check) Applies(*checks.Input) bool { return true }

// Details is the check's machine-readable result.
type Details struct {
	// Source is "file" when `.conveyor.yml` governs the change, "detected" otherwise.
	Source     string          `json:"source"`
	Components []ComponentInfo `json:"components"`
	// HeadConfigChanged is true when the change edits `.conveyor.yml`; the edit
	// takes effect only after merge.
	HeadConfigChanged bool            `json:"head_config_changed"`
	Errors            []*config.Error `json:"errors"`
}

// ComponentInfo describes one component and how many files it owns.
type ComponentInfo struct {
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	Paths []string `json:"paths"`
	Files int      `json:"files"`
}

// Run validates the base config, the head config when the change edits it,
// and that every component path glob matches at least one file of head.
func (Check) Run(_ context.Context, in *checks.Input) (checks.Result, error) {
	d := Details{Source: "file", Errors: []*config.Error{}, Components: []ComponentInfo{}}
	if in.Config.Detected {
		d.Source = "detected"
	}
	var anns []checks.Annotation
	addErr := func(e *config.Error, note string) {
		d.Errors = append(d.Errors, e)
		line := max(e.Line, 1)
		msg := e.Msg
		if e.Key != "" {
			msg = e.Key + ": " + msg
		}
		anns = append(anns, checks.Annotation{Path: config.RepoConfigPath, StartLine: line, EndLine: line, StartColumn: e.Column, EndColumn: e.Column, Level: checks.Fail, Rule: "CONFIG", Title: "Invalid " + config.RepoConfigPath + note, Message: msg})
	}
	for _, e := range locate(in.ConfigErr) {
		addErr(e, " (base branch)")
	}
	files := in.Head.Files()
	if in.Changed(config.RepoConfigPath) {
		d.HeadConfigChanged = true
		data, err := in.Head.ReadFile(config.RepoConfigPath)
		if err == nil {
			headCfg, err := config.ParseRepo(config.RepoConfigPath, data)
			for _, e := range locate(err) {
				addErr(e, " (this change)")
			}
			// A glob this change writes must match a file of this change:
			// this is where a typo enters, so it fails here.
			if headCfg != nil {
				anns = append(anns, unmatchedPaths(headCfg, files, checks.Fail)...)
			}
		}
	}
	for _, c := range in.Config.Components {
		info := ComponentInfo{Name: c.Name, Kind: c.Kind, Paths: c.Paths}
		for _, f := range files {
			if c.Matches(f) {
				info.Files++
			}
		}
		d.Components = append(d.Components, info)
	}
	// The base branch's globs are only warned about when this change leaves
	// the config alone: a component added on main after the branch was cut
	// matches nothing here until the branch is rebased, through no fault of it.
	if !in.Config.Detected && !d.HeadConfigChanged {
		anns = append(anns, unmatchedPaths(in.Config, files, checks.Warning)...)
	}
	res := checks.Result{Name: Name, Annotations: anns, Details: d}
	res.Conclusion = checks.ConclusionFor(anns)
	res.Title, res.Summary = summarize(in, d, anns)
	return res, nil
}

// unmatchedPaths annotates every component path glob of cfg that matches none of files.
func unmatchedPaths(cfg *config.RepoConfig, files []string, level checks.Level) []checks.Annotation {
	var anns []checks.Annotation
	for _, c := range cfg.Components {
		for _, p := range c.Paths {
			if matchesAny(p, files) {
				continue
			}
			line := max(c.Pos.Line, 1)
			anns = append(anns, checks.Annotation{Path: config.RepoConfigPath, StartLine: line, EndLine: line, Level: level, Rule: "CONFIG-PATH",
				Title: "Component path matches nothing", Message: fmt.Sprintf("component %q: path %q matches no file; a typo here silently skips checks", c.Name, p)})
		}
	}
	return anns
}

func locate(err error) []*config.Error {
	if err == nil {
		return nil
	}
	if es := config.AsErrors(err); len(es) > 0 {
		return es
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return []*config.Error{{File: config.RepoConfigPath, Line: 1, Column: 1, Msg: err.Error()}}
}

func matchesAny(glob string, files []string) bool {
	for _, f := range files {
		if ok, _ := doublestar.Match(glob, f); ok {
			return true
		}
	}
	return false
}

func summarize(in *checks.Input, d Details, anns []checks.Annotation) (string, string) {
	var b strings.Builder
	title := fmt.Sprintf("%d components, config valid", len(d.Components))
	if len(anns) > 0 {
		title = fmt.Sprintf("%d config problems", len(anns))
	}
	if in.Config.Detected {
		b.WriteString("No `.conveyor.yml` on the base branch: Conveyor **detected the components** below and runs the checks that apply with default settings. Commit a `.conveyor.yml` to name owners, environments and permissions.\n\n")
	} else {
		b.WriteString("Config read from `.conveyor.yml` on the **base branch**; a change never loosens its own rules.\n\n")
	}
	if d.HeadConfigChanged {
		b.WriteString("This change edits `.conveyor.yml`. The edit is validated here and takes effect after merge.\n\n")
	}
	b.WriteString("| component | kind | paths | files |\n|---|---|---|---:|\n")
	for _, c := range d.Components {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %d |\n", c.Name, c.Kind, strings.Join(c.Paths, "`, `"), c.Files)
	}
	if len(anns) > 0 {
		b.WriteString("\n**Problems**\n\n")
		for _, a := range anns {
			fmt.Fprintf(&b, "- `%s:%d` %s\n", a.Path, a.StartLine, a.Message)
		}
	}
	return title, b.String()
}
