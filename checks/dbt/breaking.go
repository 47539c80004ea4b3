package dbt

import (
	"fmt"
	"sort"
	"strings"

	"github.com/parcelflow/conveyor/checks/dbt/project"
)

// Rules of the conveyor/dbt check.
const (
	RuleContractRemoved   = "DBT-CONTRACT-REMOVED"
	RuleColumnRemoved     = "DBT-COLUMN-REMOVED"
	RuleTypeChanged       = "DBT-TYPE-CHANGED"
	RuleConstraintRemoved = "DBT-CONSTRAINT-REMOVED"
	RuleMaterialization   = "DBT-MATERIALIZATION"
	RuleRemovedReferenced = "DBT-REMOVED-REFERENCED"
	RuleUnknownRef        = "DBT-UNKNOWN-REF"
	RuleLatestMoved       = "DBT-LATEST-VERSION-MOVED"
	RuleFullRefresh       = "DBT-FULL-REFRESH"
	RuleLoadHistory       = "DBT-LOAD-HISTORY"
	RuleCopyForce         = "DBT-COPY-FORCE"
	RuleLoadUncertain     = "DBT-LOAD-UNCERTAIN"
	RuleMergeNotDeduped   = "DBT-MERGE-DEDUP"
	RuleIncrementalAppend = "DBT-INCREMENTAL-APPEND"
	RuleProject           = "DBT-PROJECT"
	RuleStatic            = "DBT-STATIC"
	RuleRunResults        = "DBT-RUN"
	RuleManifestStale     = "DBT-MANIFEST"
)

// Finding is one problem the check found, located in a file.
type Finding struct {
	Rule     string `json:"rule"`
	UniqueID string `json:"unique_id,omitempty"`
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Message  string `json:"message"`
	// Breaking is true for contract-breaking changes: they pass with a new
	// model version or an approval from the owner and every consumer team.
	Breaking bool `json:"breaking,omitempty"`
}

// Adapter decides which constraints the warehouse enforces.
type Adapter string

// Adapters.
const (
	AdapterSnowflake Adapter = "snowflake"
	AdapterDuckDB    Adapter = "duckdb"
)

func (a Adapter) enforces(c project.Constraint) bool {
	if a == AdapterDuckDB {
		return c.Type == "not_null" || c.Type == "unique" || c.Type == "primary_key" || c.Type == "check" || c.Type == "foreign_key"
	}
	return c.EnforcedOnSnowflake()
}

// canEnforce reports whether a materialization can enforce constraints.
func canEnforce(materialized string) bool {
	return materialized == "table" || materialized == "incremental"
}

// counterpart finds the head node that continues base model b: the same
// unique ID, or, when an unversioned model became versioned, the version
// defined in the same file (else the oldest version).
func counterpart(b *project.Model, head *project.Project) *project.Model {
	if h, ok := head.Models[b.UniqueID]; ok {
		return h
	}
	if b.Version != "" {
		return nil
	}
	versions := head.ModelsByName(b.Name)
	if len(versions) == 0 {
		return nil
	}
	for _, v := range versions {
		if v.Path == b.Path {
			return v
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i].Version, versions[j].Version) })
	return versions[0]
}

func versionLess(a, b string) bool {
	var fa, fb float64
	_, ea := fmt.Sscan(a, &fa)
	_, eb := fmt.Sscan(b, &fb)
	if ea == nil && eb == nil {
		return fa < fb
	}
	return a < b
}

// BreakingChanges applies dbt's contract rules to every model whose base
// version has an enforced contract.
func BreakingChanges(base, head *project.Project, adapter Adapter) []Finding {
	var out []Finding
	for _, id := range base.ModelIDs() {
		b := base.Models[id]
		if !b.ContractEnforced {
			continue
		}
		h := counterpart(b, head)
		if h == nil {
			continue // removal is reported by RemovedReferenced when it matters
		}
		yml, line := h.PatchPath, h.PatchLine
		if yml == "" {
			yml, line = h.Path, 1
		}
		f := func(rule string, at int, format string, args ...any) {
			out = append(out, Finding{Rule: rule, UniqueID: h.UniqueID, Path: yml, Line: max(at, 1), Breaking: true,
				Message: fmt.Sprintf("%s: ", displayName(h)) + fmt.Sprintf(format, args...)})
		}
		if !h.ContractEnforced {
			f(RuleContractRemoved, line, "contract enforcement was removed; consumers lose the guarantee of its columns and types")
			continue
		}
		headCols := map[string]*project.Column{}
		for i := range h.Columns {
			headCols[strings.ToLower(h.Columns[i].Name)] = &h.Columns[i]
		}
		baseCols := map[string]bool{}
		for _, c := range b.Columns {
			baseCols[strings.ToLower(c.Name)] = true
		}
		var added []string
		for _, c := range h.Columns {
			if !baseCols[strings.ToLower(c.Name)] {
				added = append(added, c.Name)
			}
		}
		for _, bc := range b.Columns {
			hc, ok := headCols[strings.ToLower(bc.Name)]
			if !ok {
				hint := ""
				if len(added) > 0 {
					hint = fmt.Sprintf(" (a rename to %s is a removal plus an addition)", strings.Join(added, ", "))
				}
				f(RuleColumnRemoved, line, "column %s was removed%s", bc.Name, hint)
				continue
			}
			if bc.DataType != "" && normType(bc.DataType) != normType(hc.DataType) {
				f(RuleTypeChanged, hc.Line, "column %s changed type from %s to %s", bc.Name, bc.DataType, orNone(hc.DataType))
			}
			for _, k := range bc.Constraints {
				if adapter.enforces(k) && !hc.HasConstraint(k.Type) {
					f(RuleConstraintRemoved, hc.Line, "the enforced %s constraint on column %s was removed", k.Type, bc.Name)
				}
			}
		}
		for _, k := range b.Constraints {
			if !adapter.enforces(k) || hasModelConstraint(h, k) {
				continue
			}
			f(RuleConstraintRemoved, line, "the enforced model-level %s constraint%s was removed", k.Type, onColumns(k))
		}
		if canEnforce(b.Materialized) && !canEnforce(h.Materialized) && hasEnforced(b, adapter) {
			p, at := yml, line
			if l := h.ConfigLines["materialized"]; l > 0 {
				p, at = h.Path, l // set by config() in the SQL: point there
			}
			out = append(out, Finding{Rule: RuleMaterialization, UniqueID: h.UniqueID, Path: p, Line: at, Breaking: true,
				Message: fmt.Sprintf("%s: materialization moved from %s to %s, which cannot enforce its constraints", displayName(h), b.Materialized, h.Materialized)})
		}
	}
	return out
}

func hasModelConstraint(m *project.Model, k project.Constraint) bool {
	for _, c := range m.Constraints {
		if c.Type == k.Type && strings.Join(c.Columns, ",") == strings.Join(k.Columns, ",") && c.Expression == k.Expression {
			return true
		}
	}
	return false
}

func hasEnforced(m *project.Model, a Adapter) bool {
	for _, c := range m.Constraints {
		if a.enforces(c) {
			return true
		}
	}
	for _, col := range m.Columns {
		for _, c := range col.Constraints {
			if a.enforces(c) {
				return true
			}
		}
	}
	return false
}

func onColumns(k project.Constraint) string {
	if len(k.Columns) == 0 {
		return ""
	}
	return " on (" + strings.Join(k.Columns, ", ") + ")"
}

func orNone(s string) string {
	if s == "" {
		return "no declared type"
	}
	return s
}

func displayName(m *project.Model) string {
	if m.Version != "" {
		return m.Name + " v" + m.Version
	}
	return m.Name
}

// Dangling reports refs in head that point at no model: removed or renamed
// models that others still use (RuleRemovedReferenced) and refs to models
// that never existed (RuleUnknownRef).
func Dangling(base, head *project.Project) []Finding {
	var out []Finding
	existed := func(r project.Ref) bool { return base.ResolveRef(r) != "" || len(base.ModelsByName(r.Name)) > 0 }
	check := func(path string, r project.Ref, who string) {
		if r.Package != "" && r.Package != head.Name {
			return // a package model; packages are not parsed
		}
		if head.ResolveRef(r) != "" {
			return
		}
		target := r.Name
		if r.Version != "" {
			target += " v" + r.Version
		}
		if existed(r) {
			out = append(out, Finding{Rule: RuleRemovedReferenced, Path: path, Line: r.Line,
				Message: fmt.Sprintf("%s refs %s, which this change removes or renames; keep it (or a version of it) until every reference moves", who, target)})
			return
		}
		out = append(out, Finding{Rule: RuleUnknownRef, Path: path, Line: r.Line, Message: fmt.Sprintf("%s refs %s, which is no model, seed or snapshot of this project", who, target)})
	}
	for _, id := range head.ModelIDs() {
		m := head.Models[id]
		for _, r := range m.Refs {
			check(m.Path, r, m.Name)
		}
	}
	for _, mac := range sortedMacros(head) {
		for _, r := range mac.Refs {
			check(mac.Path, r, "macro "+mac.Name)
		}
	}
	for _, e := range sortedExposures(head) {
		for _, r := range e.Refs {
			check(e.Path, r, "exposure "+e.Name)
		}
	}
	return out
}

func sortedMacros(p *project.Project) []*project.Macro {
	out := make([]*project.Macro, 0, len(p.Macros))
	for _, m := range p.Macros {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UniqueID < out[j].UniqueID })
	return out
}

func sortedExposures(p *project.Project) []*project.Exposure {
	out := make([]*project.Exposure, 0, len(p.Exposures))
	for _, e := range p.Exposures {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UniqueID < out[j].UniqueID })
	return out
}

// LatestMoved reports versioned models whose latest_version moved while
// models or exposures still pin the old latest version.
func LatestMoved(base, head *project.Project) []Finding {
	var out []Finding
	done := map[string]bool{}
	for _, id := range head.ModelIDs() {
		h := head.Models[id]
		if h.Version == "" || done[h.Name] {
			continue
		}
		done[h.Name] = true
		var oldLatest string
		for _, b := range base.ModelsByName(h.Name) {
			oldLatest = b.LatestVersion
		}
		if oldLatest == "" || oldLatest == h.LatestVersion {
			continue
		}
		var pinned, unpinned []string
		for _, cid := range head.ModelIDs() {
			c := head.Models[cid]
			for _, r := range c.Refs {
				if r.Name == h.Name && (r.Package == "" || r.Package == head.Name) {
					if r.Version == oldLatest {
						pinned = append(pinned, c.Name)
					} else if r.Version == "" {
						unpinned = append(unpinned, c.Name)
					}
				}
			}
		}
		for _, e := range sortedExposures(head) {
			for _, r := range e.Refs {
				if r.Name == h.Name && r.Version == oldLatest {
					pinned = append(pinned, "exposure "+e.Name)
				}
			}
		}
		if len(pinned) == 0 {
			continue
		}
		msg := fmt.Sprintf("%s: latest_version moved from %s to %s while %s still pin v%s; plan their move and a deprecation_date for v%s", h.Name, oldLatest, h.LatestVersion, strings.Join(pinned, ", "), oldLatest, oldLatest)
		if len(unpinned) > 0 {
			msg += fmt.Sprintf(" (unpinned refs in %s now read v%s)", strings.Join(unpinned, ", "), h.LatestVersion)
		}
		out = append(out, Finding{Rule: RuleLatestMoved, UniqueID: h.UniqueID, Path: h.PatchPath, Line: max(h.PatchLine, 1), Message: msg})
	}
	return out
}

// FullRefresh reports incremental models whose change means the rows already
// built no longer match what the model would build now.
func FullRefresh(base, head *project.Project) []Finding {
	var out []Finding
	for _, id := range head.ModelIDs() {
		h := head.Models[id]
		b, ok := base.Models[id]
		if !ok || h.Materialized != "incremental" || b.Materialized != "incremental" {
			continue
		}
		var why []string
		if bk, hk := uniqueKey(b), uniqueKey(h); bk != hk {
			why = append(why, fmt.Sprintf("unique_key changed from %s to %s", orNone(bk), orNone(hk)))
		}
		if b.IncrementalStrategy != h.IncrementalStrategy {
			why = append(why, "incremental_strategy changed")
		}
		colsChanged := columnNames(b) != columnNames(h)
		if colsChanged && h.OnSchemaChange != "append_new_columns" && h.OnSchemaChange != "sync_all_columns" {
			osc := h.OnSchemaChange
			if osc == "" {
				osc = "ignore"
			}
			why = append(why, fmt.Sprintf("its columns changed and on_schema_change is %s", osc))
		}
		if bodyKey(b) != bodyKey(h) && len(why) == 0 {
			why = append(why, "its SQL changed, so rows built before this change follow the old logic")
		}
		if len(why) == 0 {
			continue
		}
		out = append(out, Finding{Rule: RuleFullRefresh, UniqueID: id, Path: h.Path, Line: 1,
			Message: fmt.Sprintf("%s is incremental and needs `dbt build --full-refresh --select %s` (or a backfill): %s", h.Name, h.Name, strings.Join(why, "; "))})
	}
	return out
}

// uniqueKey is the model's unique_key as written: its columns, or the
// expression that sets it when that is not known statically.
func uniqueKey(m *project.Model) string {
	if raw, ok := m.UnknownConfig["unique_key"]; ok {
		return raw
	}
	return strings.Join(m.UniqueKey, ",")
}

func columnNames(m *project.Model) string {
	var names []string
	for _, c := range m.Columns {
		names = append(names, strings.ToLower(c.Name))
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}
