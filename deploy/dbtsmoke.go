package deploy

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"

	"github.com/parcelflow/conveyor/checks/contracts"
	"github.com/parcelflow/conveyor/checks/contracts/odcs"
	"github.com/parcelflow/conveyor/checks/dbt"
	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// releaseTree reads a release's files from the artifact store, as the dbt
// parser reads a repo.
type releaseTree struct {
	ctx context.Context
	e   *Engine
	rel *release.Release
}

func (t releaseTree) Files() []string {
	out := make([]string, len(t.rel.Files))
	for i, f := range t.rel.Files {
		out[i] = f.Path
	}
	return out
}

func (t releaseTree) ReadFile(p string) ([]byte, error) {
	f := t.rel.File(p)
	if f == nil {
		return nil, fmt.Errorf("%s is not in release %s", p, t.rel.Short())
	}
	return release.ReadBlob(t.ctx, t.e.opts.Artifacts, *f)
}

// dbtSmoke runs the generic tests (not_null, unique, accepted_values,
// relationships) that the release's dbt projects declare on the models the
// release changed, against the environment's warehouse. A model whose table
// the environment does not have is skipped, saying so: what builds it (a
// DAG's dbt run, later) is not this deploy, and a missing table is not a
// failing row.
func (r *runner) dbtSmoke(ctx context.Context) ([]SmokeResult, error) {
	var out []SmokeResult
	for _, comp := range r.e.opts.Config.ComponentsOfKind(config.KindDbt) {
		dir := comp.Project
		if r.rel.File(path.Join(dir, "dbt_project.yml")) == nil || !r.rel.Changed(r.prev, comp.Name) {
			continue
		}
		p, err := project.Parse(releaseTree{ctx: ctx, e: r.e, rel: r.rel}, dir)
		if err != nil {
			return nil, fmt.Errorf("reading the dbt project %s of release %s: %w", dir, r.rel.Short(), err)
		}
		ids := r.changedModels(p)
		var present []string
		for _, id := range ids {
			m := p.Models[id]
			if len(m.AllTests()) == 0 {
				continue
			}
			schema, table, err := warehouse.SplitRelation(ctx, r.t.Warehouse, m.Relation())
			if err != nil {
				return nil, err
			}
			if _, err := r.t.Warehouse.Columns(ctx, schema, table); errors.Is(err, warehouse.ErrNotFound) {
				out = append(out, SmokeResult{Name: "dbt " + id, Passed: true, Skipped: true, Output: m.Relation() + " is not in " + r.d.Env + " yet"})
				continue
			} else if err != nil {
				return nil, err
			}
			present = append(present, id)
		}
		results, err := dbt.SmokeTests(ctx, p, present, r.t.Warehouse, dbt.SmokeOptions{})
		if err != nil {
			return nil, err
		}
		for _, res := range results {
			name := "dbt " + res.Test + " on " + res.UniqueID
			if res.Column != "" {
				name += "." + res.Column
			}
			sr := SmokeResult{Name: name, Passed: res.Status == dbt.SmokePass || res.Status == dbt.SmokeSkipped, Skipped: res.Status == dbt.SmokeSkipped, Rows: int(res.Failures), Output: res.Message}
			if res.Status == dbt.SmokeFail {
				sr.Output = fmt.Sprintf("%d failing rows", res.Failures)
			}
			out = append(out, sr)
		}
	}
	return out, nil
}

// changedModels lists the models whose SQL or properties file differs from
// the previous release (every model on a first deploy), sorted.
func (r *runner) changedModels(p *project.Project) []string {
	differs := func(file string) bool {
		if file == "" {
			return false
		}
		a := r.rel.File(file)
		if r.prev == nil || a == nil {
			return a != nil
		}
		b := r.prev.File(file)
		return b == nil || b.SHA256 != a.SHA256
	}
	var out []string
	for id, m := range p.Models {
		if differs(m.Path) || differs(m.PatchPath) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// contractSmoke measures, on the environment's warehouse, the data
// contracts the release changed: each dataset's table against its schema
// (a deploy that drifts a contracted table breaks its readers) and its
// quality rules. A dataset whose table the environment does not have yet is
// skipped, saying so, as for the dbt tests.
func (r *runner) contractSmoke(ctx context.Context) ([]SmokeResult, error) {
	var out []SmokeResult
	tree := releaseTree{ctx: ctx, e: r.e, rel: r.rel}
	for _, comp := range r.e.opts.Config.ComponentsOfKind(config.KindContracts) {
		for _, f := range r.rel.FilesOf(comp.Name) {
			if prev := r.prevFile(f.Path); prev != nil && prev.SHA256 == f.SHA256 {
				continue
			}
			data, err := tree.ReadFile(f.Path)
			if err != nil {
				return nil, err
			}
			c, probs := odcs.Parse(f.Path, data)
			if c == nil || len(probs) > 0 {
				continue // the contracts check reports an invalid contract
			}
			live, findings, err := contracts.Measure(ctx, r.d.Env, r.t.Warehouse, c, nil)
			if err != nil {
				return nil, err
			}
			for _, l := range live {
				if l.Status == "missing" {
					out = append(out, SmokeResult{Name: "contract " + l.Object, Passed: true, Skipped: true, Output: l.Relation + " is not in " + r.d.Env + " yet"})
					continue
				}
				for _, q := range l.Quality {
					res := SmokeResult{Name: "contract " + l.Object + ": " + q.Rule, Passed: q.Status == "pass" || q.Status == "skipped", Skipped: q.Status == "skipped", Output: q.Message}
					out = append(out, res)
				}
			}
			for _, fd := range findings {
				if fd.Rule == contracts.RuleLiveDrift || fd.Rule == contracts.RuleLiveNullable {
					out = append(out, SmokeResult{Name: "contract " + c.Name + " schema", Passed: fd.Rule == contracts.RuleLiveNullable, Output: fd.Message})
				}
			}
		}
	}
	return out, nil
}

// prevFile is path in the release the environment ran before, if any.
func (r *runner) prevFile(path string) *release.File {
	if r.prev == nil {
		return nil
	}
	return r.prev.File(path)
}
