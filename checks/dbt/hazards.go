package dbt

import (
	"fmt"
	"strings"

	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/checks/loadhazard"
)

// SQLFile is SQL text to scan for duplicate-load hazards, with Jinja blanked
// out (newlines kept, so lines still match the file).
type SQLFile = loadhazard.File

// hazardRules names each hazard kind's dbt rule.
var hazardRules = map[string]string{
	loadhazard.CopyForce:       RuleCopyForce,
	loadhazard.LoadUncertain:   RuleLoadUncertain,
	loadhazard.RecreatesTarget: RuleLoadHistory,
	loadhazard.MergeNotDeduped: RuleMergeNotDeduped,
}

// LoadTargets are the tables something loads into: every COPY INTO target
// in files, and every declared source (loaders land sources).
func LoadTargets(p *project.Project, files []SQLFile) []string {
	out := loadhazard.CopyTargets(files)
	for _, id := range sortedKeys(p.Sources) {
		out = append(out, p.Sources[id].Relation())
	}
	return out
}

// Hazards scans SQL for ways to load the same data twice.
func Hazards(files []SQLFile, loadTargets []string) []Finding {
	var out []Finding
	for _, h := range loadhazard.Scan(files, loadTargets) {
		out = append(out, Finding{Rule: hazardRules[h.Kind], Path: h.Path, Line: h.Line, Message: h.Message})
	}
	return out
}

// appendingStrategies are the incremental strategies that add rows without a
// unique_key to match on (merge without unique_key inserts only on Snowflake).
var appendingStrategies = map[string]bool{"": true, "append": true, "merge": true}

// IncrementalAppends reports incremental models without unique_key whose
// strategy appends: every re-run of a window loads its rows again.
func IncrementalAppends(p *project.Project, only map[string]bool) []Finding {
	var out []Finding
	for _, id := range p.ModelIDs() {
		m := p.Models[id]
		if only != nil && !only[id] {
			continue
		}
		if m.Materialized != "incremental" || len(m.UniqueKey) > 0 || !appendingStrategies[m.IncrementalStrategy] {
			continue
		}
		// A unique_key or strategy set by an expression is there, only not
		// known statically; it is listed among the unknowns, not flagged.
		if _, ok := m.UnknownConfig["unique_key"]; ok {
			continue
		}
		if _, ok := m.UnknownConfig["incremental_strategy"]; ok {
			continue
		}
		strategy := m.IncrementalStrategy
		if strategy == "" {
			strategy = "the default (merge)"
		}
		line := m.ConfigLines["materialized"]
		out = append(out, Finding{Rule: RuleIncrementalAppend, UniqueID: id, Path: m.Path, Line: max(line, 1),
			Message: fmt.Sprintf("%s is incremental with strategy %s and no unique_key: rows are appended, so a retried or overlapping run loads them twice. Set unique_key", m.Name, strategy)})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func lineOf(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }
