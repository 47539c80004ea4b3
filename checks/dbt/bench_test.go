package dbt

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/dbt/project"
)

// generateProject builds a layered project: sources feed staging models,
// which feed intermediate and mart layers, each model reading two models of
// the layer below and calling a macro that holds a ref. Every model has two
// YAML-declared columns with tests; every tenth is incremental and every
// twentieth contracted.
func generateProject(models int) checks.MapTree {
	tr := checks.MapTree{}
	tr["dbt/dbt_project.yml"] = []byte("name: gen\nmodels:\n  gen:\n    staging:\n      +materialized: view\n    marts:\n      +materialized: table\n")
	layers := []string{"staging", "intermediate", "marts", "reporting"}
	per := models / len(layers)
	var srcYAML strings.Builder
	srcYAML.WriteString("version: 2\nsources:\n  - name: raw\n    loaded_at_field: _loaded_at\n    freshness:\n      warn_after: {count: 1, period: hour}\n    tables:\n")
	for i := 0; i < per/10; i++ {
		fmt.Fprintf(&srcYAML, "      - name: t%d\n", i)
	}
	tr["dbt/models/staging/_sources.yml"] = []byte(srcYAML.String())
	for m := 0; m < 20; m++ {
		tr[fmt.Sprintf("dbt/macros/m%d.sql", m)] = []byte(fmt.Sprintf("{%% macro helper_%d(col) %%}\n  {{ col }} in (select id from {{ ref('staging_%d') }})\n{%% endmacro %%}\n", m, m))
	}
	for l, layer := range layers {
		var yml strings.Builder
		yml.WriteString("version: 2\nmodels:\n")
		for i := 0; i < per; i++ {
			name := fmt.Sprintf("%s_%d", layer, i)
			var sql strings.Builder
			if i%10 == 0 && l > 0 {
				sql.WriteString("{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\n")
			}
			if l == 0 {
				fmt.Fprintf(&sql, "select id, value from {{ source('raw', 't%d') }}\n", i%(per/10))
			} else {
				prev := layers[l-1]
				fmt.Fprintf(&sql, "select a.id, a.value + b.value as value\nfrom {{ ref('%s_%d') }} as a\njoin {{ ref('%s_%d') }} as b using (id)\nwhere {{ helper_%d('a.id') }}\n",
					prev, i, prev, (i*7+1)%per, i%20)
			}
			tr[fmt.Sprintf("dbt/models/%s/g%d/%s.sql", layer, i/100, name)] = []byte(sql.String())
			fmt.Fprintf(&yml, "  - name: %s\n", name)
			if i%20 == 0 && l > 1 {
				yml.WriteString("    config:\n      contract: {enforced: true}\n")
			}
			yml.WriteString("    columns:\n      - name: id\n        data_type: integer\n        constraints:\n          - type: not_null\n        data_tests: [unique]\n      - name: value\n        data_type: number(18,2)\n")
		}
		tr[fmt.Sprintf("dbt/models/%s/_%s.yml", layer, layer)] = []byte(yml.String())
	}
	return tr
}

// changeOnePercent edits the body of 1% of the models.
func changeOnePercent(base checks.MapTree, models int) checks.MapTree {
	head := checks.MapTree{}
	for k, v := range base {
		head[k] = v
	}
	changed := 0
	for _, f := range base.Files() {
		if changed >= models/100 {
			break
		}
		if strings.HasSuffix(f, ".sql") && strings.Contains(f, "/models/") && strings.HasSuffix(strings.TrimSuffix(f, ".sql"), "7") {
			head[f] = append([]byte("-- reviewed\n"), base[f]...)
			head[f] = []byte(strings.Replace(string(head[f]), "select", "select distinct", 1))
			changed++
		}
	}
	return head
}

func TestGeneratedProjectShape(t *testing.T) {
	base := generateProject(400)
	head := changeOnePercent(base, 400)
	parser := project.NewParser()
	b, err := parser.Parse(base, "dbt")
	if err != nil {
		t.Fatal(err)
	}
	h, err := parser.Parse(head, "dbt")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Models) != 400 || len(b.Problems) != 0 {
		t.Fatalf("models %d, problems %+v", len(b.Models), b.Problems)
	}
	imp := Diff(b, h)
	if len(imp.Modified) != 4 || len(imp.Downstream) == 0 {
		t.Fatalf("impact modified %d downstream %d", len(imp.Modified), len(imp.Downstream))
	}
	cols := 0
	for _, m := range b.Models {
		cols += len(m.Columns)
	}
	if cols != 800 {
		t.Fatalf("columns = %d", cols)
	}
}

// report adds the per-model and against-target metrics. The wall clock is
// what a reviewer waits; the process CPU time is what the work costs on its
// one core, and stays honest when other jobs share the machine.
func report(b *testing.B, models int, cpu time.Duration) {
	ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(ms, "ms_per_op")
	b.ReportMetric(ms/float64(models), "ms_per_model")
	b.ReportMetric(ms/1000, "ratio_vs_target")
	if cpu > 0 {
		cms := float64(cpu.Microseconds()) / 1000 / float64(b.N)
		b.ReportMetric(cms, "cpu_ms_per_op")
		b.ReportMetric(cms/float64(models), "cpu_ms_per_model")
		b.ReportMetric(cms/1000, "cpu_ratio_vs_target")
	}
}

// BenchmarkCheck10k runs the whole conveyor/dbt check (Check.Run: parse
// base and head, diff, every rule, the hazard scans, the summary) on a
// generated 10,000-model project (20,000 YAML columns, sources, macros with
// refs, a layered DAG) whose head changes 1% of the models. The target is
// one second on one core, so the benchmark pins GOMAXPROCS to 1 while it
// runs; ratio_vs_target is the time per run over that second.
func BenchmarkCheck10k(b *testing.B) {
	const models = 10000
	base := generateProject(models)
	head := changeOnePercent(base, models)
	in := checks.NewInput(base, head)
	if in.ConfigErr != nil {
		b.Fatal(in.ConfigErr)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := New()
	b.ReportAllocs()
	runtime.GC()
	cpu0, _ := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Run(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		d := res.Details.(Details)
		if len(d.Models) != models || len(d.Impact.Modified) != models/100 || len(d.Impact.Downstream) == 0 {
			b.Fatalf("models %d, modified %d, downstream %d", len(d.Models), len(d.Impact.Modified), len(d.Impact.Downstream))
		}
	}
	b.StopTimer()
	cpu1, ok := processCPU()
	if !ok {
		cpu1 = cpu0
	}
	report(b, models, cpu1-cpu0)
}

// BenchmarkParseDiff10k times the parse and diff alone, on one core, to
// tell the project reader's share of BenchmarkCheck10k from the rules'.
func BenchmarkParseDiff10k(b *testing.B) {
	const models = 10000
	base := generateProject(models)
	head := changeOnePercent(base, models)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b.ReportAllocs()
	runtime.GC()
	cpu0, _ := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		parser := project.NewParser()
		bp, err := parser.Parse(base, "dbt")
		if err != nil {
			b.Fatal(err)
		}
		hp, err := parser.Parse(head, "dbt")
		if err != nil {
			b.Fatal(err)
		}
		if imp := Diff(bp, hp); len(imp.Modified) != models/100 {
			b.Fatalf("modified = %d", len(imp.Modified))
		}
	}
	b.StopTimer()
	cpu1, ok := processCPU()
	if !ok {
		cpu1 = cpu0
	}
	report(b, models, cpu1-cpu0)
}
