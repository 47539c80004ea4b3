// Package checks defines the Check interface, the inputs a check sees (the
// base and head trees of a change, the base branch's config) and the result it
// returns. The same engine serves Check Runs on a PR, the merge queue and
// `conveyor validate` on a laptop. Validators live in sub-packages.
package checks

import (
	"context"
	"sort"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/policy"
)

// Conclusion is a check's outcome, in GitHub's words.
type Conclusion string

// Conclusions, ordered from best to worst by Severity.
const (
	Success        Conclusion = "success"
	Neutral        Conclusion = "neutral"
	Skipped        Conclusion = "skipped"
	ActionRequired Conclusion = "action_required"
	Failure        Conclusion = "failure"
)

// Level is an annotation's severity, in GitHub's words.
type Level string

// Annotation levels.
const (
	Notice  Level = "notice"
	Warning Level = "warning"
	Fail    Level = "failure"
)

// Annotation points at a line range of a file with a rule and a message.
type Annotation struct {
	Path        string `json:"path"`
	StartLine   int    `json:"start_line"`
	EndLine     int    `json:"end_line"`
	StartColumn int    `json:"start_column,omitempty"`
	EndColumn   int    `json:"end_column,omitempty"`
	Level       Level  `json:"level"`
	Rule        string `json:"rule"`
	Title       string `json:"title,omitempty"`
	Message     string `json:"message"`
}

// Result is what a check found.
type Result struct {
	Name        string       `json:"name"`
	Conclusion  Conclusion   `json:"conclusion"`
	Title       string       `json:"title"`
	Summary     string       `json:"summary"`
	Text        string       `json:"text,omitempty"`
	Annotations []Annotation `json:"annotations"`
	// Details is the check's own machine-readable result, documented per check.
	Details any `json:"details"`
	// Signals feed the risk classifier; Approvals feed the policy check.
	Signals   []policy.Signal              `json:"signals,omitempty"`
	Approvals []policy.ApprovalRequirement `json:"approvals,omitempty"`
}

// Check validates a change. Implementations must be safe to run concurrently
// with other checks on the same Input and must not modify it.
type Check interface {
	// Name is the check run's name, e.g. "conveyor/airflow".
	Name() string
	// Applies reports whether the check has anything to look at in this repo.
	Applies(in *Input) bool
	// Run validates the change. An error completes the check run as a failure.
	Run(ctx context.Context, in *Input) (Result, error)
}

// Input is everything a check may look at. Config always comes from the base
// branch, so a change can never loosen its own rules.
type Input struct {
	Config *config.RepoConfig
	// ConfigErr is set when the base branch's config could not be read; the
	// conveyor/config check reports it and the others run on detected components.
	ConfigErr error
	Base      Tree
	Head      Tree
	Changes   []Change
	// Plans maps environment → `terraform show -json` output, when available.
	Plans map[string][]byte
	// Executor runs the repo's own commands (import checks, dbt, terraform).
	// Nil means commands are not run and static checks stand alone.
	Executor executor.Executor
	// HeadDir is the head tree on disk, for commands; empty when not materialized.
	HeadDir string
}

// Changed reports whether path was added, modified or renamed into place.
func (in *Input) Changed(path string) bool {
	for _, c := range in.Changes {
		if c.Path == path && c.Status != Removed {
			return true
		}
	}
	return false
}

// ChangedIn returns the changes that belong to components of kind.
func (in *Input) ChangedIn(kind string) []Change {
	var out []Change
	for _, c := range in.Changes {
		for _, comp := range in.Config.ComponentsFor(c.Path) {
			if comp.Kind == kind {
				out = append(out, c)
				break
			}
		}
		if c.Status == Renamed && c.PreviousPath != "" {
			for _, comp := range in.Config.ComponentsFor(c.PreviousPath) {
				if comp.Kind == kind {
					out = append(out, c)
					break
				}
			}
		}
	}
	return out
}

// FilesOf returns the head files of components of kind, sorted.
func (in *Input) FilesOf(kind string) []string {
	return FilesOfKind(in.Config, in.Head, kind)
}

// FilesOfKind returns tree's files owned by components of kind, sorted.
func FilesOfKind(cfg *config.RepoConfig, tree Tree, kind string) []string {
	if tree == nil {
		return nil
	}
	comps := cfg.ComponentsOfKind(kind)
	var out []string
	for _, f := range tree.Files() {
		for _, c := range comps {
			if c.Matches(f) {
				out = append(out, f)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Severity orders conclusions so the worst of several can be picked.
func Severity(c Conclusion) int {
	switch c {
	case Success:
		return 0
	case Skipped:
		return 1
	case Neutral:
		return 2
	case ActionRequired:
		return 3
	case Failure:
		return 4
	}
	return 4
}

// ConclusionFor returns failure when any annotation fails, else success.
func ConclusionFor(anns []Annotation) Conclusion {
	for _, a := range anns {
		if a.Level == Fail {
			return Failure
		}
	}
	return Success
}
