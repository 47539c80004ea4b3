package checks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"sort"
	"sync"

	"github.com/rs/zerolog"

	"github.com/parcelflow/conveyor/config"
)

// Registry holds the checks Conveyor runs, in a stable order.
type Registry struct {
	checks []Check
}

// NewRegistry returns a registry of checks.
func NewRegistry(cs ...Check) *Registry { return &Registry{checks: cs} }

// All returns every registered check.
func (r *Registry) All() []Check { return append([]Check{}, r.checks...) }

// Get returns the check named name.
func (r *Registry) Get(name string) (Check, bool) {
	for _, c := range r.checks {
		if c.Name() == name {
			return c, true
		}
	}
	return nil, false
}

// Applicable returns the checks that have something to look at in this input.
func (r *Registry) Applicable(in *Input) []Check {
	var out []Check
	for _, c := range r.checks {
		if safeApplies(c, in) {
			out = append(out, c)
		}
	}
	return out
}

func safeApplies(c Check, in *Input) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = true // let Run report the panic as a failure
		}
	}()
	return c.Applies(in)
}

// Run runs one check and never panics: a check that errors or panics yields a
// failure whose summary carries the error, so a check run never stays open.
func Run(ctx context.Context, c Check, in *Input) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			// The stack names the server's files: it goes to the log, never
			// to the PR.
			zerolog.Ctx(ctx).Error().Str("check", c.Name()).Interface("panic", p).Str("stack", string(debug.Stack())).Msg("check crashed")
			res = Result{
				Name:       c.Name(),
				Conclusion: Failure,
				Title:      "Check crashed",
				Summary:    fmt.Sprintf("The check crashed while running: `%v`.\n\nThis is a bug in Conveyor, not in your change. The stack is in the server log.", p),
			}
		}
	}()
	res, err := c.Run(ctx, in)
	if err != nil {
		return Result{
			Name:       c.Name(),
			Conclusion: Failure,
			Title:      "Check could not run",
			Summary:    fmt.Sprintf("The check could not run: `%v`.", err),
		}
	}
	if res.Name == "" {
		res.Name = c.Name()
	}
	if res.Conclusion == "" {
		res.Conclusion = ConclusionFor(res.Annotations)
	}
	sortAnnotations(res.Annotations)
	return res
}

// RunAll runs checks concurrently and returns their results in input order.
func RunAll(ctx context.Context, cs []Check, in *Input) []Result {
	out := make([]Result, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = Run(ctx, c, in)
		}()
	}
	wg.Wait()
	return out
}

func sortAnnotations(anns []Annotation) {
	sort.SliceStable(anns, func(i, j int) bool {
		if anns[i].Path != anns[j].Path {
			return anns[i].Path < anns[j].Path
		}
		return anns[i].StartLine < anns[j].StartLine
	})
}

// NewInput prepares a check input from two trees: the config comes from base
// (or is detected from head when base has none), and the changes are base→head.
func NewInput(base, head Tree) *Input {
	in := &Input{Base: base, Head: head, Changes: Diff(base, head)}
	in.Config, in.ConfigErr = LoadRepoConfig(base, head)
	return in
}

// LoadRepoConfig reads `.conveyor.yml` from base. Without one, the components
// are detected from head. When base's config is invalid, the error is returned
// along with a detected config so the other checks can still run.
func LoadRepoConfig(base, head Tree) (*config.RepoConfig, error) {
	data, err := base.ReadFile(config.RepoConfigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return config.Detect(head.Files(), head.ReadFile), nil
	}
	if err != nil {
		return config.Detect(head.Files(), head.ReadFile), fmt.Errorf("reading %s: %w", config.RepoConfigPath, err)
	}
	cfg, err := config.ParseRepo(config.RepoConfigPath, data)
	if err != nil {
		return config.Detect(head.Files(), head.ReadFile), err
	}
	return cfg, nil
}
