package dbt

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/parcelflow/conveyor/checks/dbt/project"
)

// SQLFile is SQL text to scan for duplicate-load hazards, with Jinja blanked
// out (newlines kept, so lines still match the file).
type SQLFile struct {
	Path string
	SQL  string
}

var (
	copyIntoRe      = regexp.MustCompile(`(?is)\bcopy\s+into\s+([A-Za-z0-9_$."]+)`)
	copyStmtRe      = regexp.MustCompile(`(?is)\bcopy\s+into\b[^;]*`)
	forceRe         = regexp.MustCompile(`(?i)\bforce\s*=\s*true\b`)
	loadUncertainRe = regexp.MustCompile(`(?i)\bload_uncertain_files\s*=\s*true\b`)
	createReplaceRe = regexp.MustCompile(`(?is)\bcreate\s+or\s+replace\s+(?:transient\s+|temporary\s+|temp\s+)?table\s+(?:if\s+not\s+exists\s+)?([A-Za-z0-9_$."]+)`)
	dropTableRe     = regexp.MustCompile(`(?is)\bdrop\s+table\s+(?:if\s+exists\s+)?([A-Za-z0-9_$."]+)`)
	createTableRe   = regexp.MustCompile(`(?is)\bcreate\s+(?:transient\s+)?table\s+(?:if\s+not\s+exists\s+)?([A-Za-z0-9_$."]+)`)
	mergeRe         = regexp.MustCompile(`(?is)\bmerge\s+into\s+([A-Za-z0-9_$."]+)(?:\s+(?:as\s+)?([A-Za-z_][A-Za-z0-9_]*))?\s+using\s+`)
	onEqRe          = regexp.MustCompile(`(?i)([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)`)
	rowNumberRe     = regexp.MustCompile(`(?is)row_number\s*\(\s*\)\s*over\s*\(\s*partition\s+by\s+([^)]*?)\s+order\s+by`)
	groupByRe       = regexp.MustCompile(`(?is)\bgroup\s+by\s+([^)]*)`)
)

// normName reduces a table name to schema.table (or table) in lower case, so
// RAW.ORDERS_DB.ORDERS and orders_db.orders compare equal.
func normName(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, `"`, ""))
	parts := strings.Split(s, ".")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, ".")
}

func sameTable(a, b string) bool {
	a, b = normName(a), normName(b)
	if a == b {
		return true
	}
	ta, tb := a[strings.LastIndexByte(a, '.')+1:], b[strings.LastIndexByte(b, '.')+1:]
	if !strings.Contains(a, ".") || !strings.Contains(b, ".") {
		return ta == tb
	}
	return false
}

func lineOf(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }

// hasWord reports whether s holds word (lower case ASCII) in any case. The
// hazard patterns are case-insensitive regexps, which cannot skip ahead to a
// literal; most model SQL holds none of their keywords, and this check lets
// the scan skip it.
func hasWord(s, word string) bool {
	first, n := word[0], len(word)
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == first && strings.EqualFold(s[i:i+n], word) {
			return true
		}
	}
	return false
}

// LoadTargets are the tables something loads into: every COPY INTO target
// in files, and every declared source (loaders land sources).
func LoadTargets(p *project.Project, files []SQLFile) []string {
	var out []string
	for _, f := range files {
		if !hasWord(f.SQL, "copy") {
			continue
		}
		for _, m := range copyIntoRe.FindAllStringSubmatch(f.SQL, -1) {
			if !strings.HasPrefix(m[1], "@") {
				out = append(out, m[1])
			}
		}
	}
	for _, id := range sortedKeys(p.Sources) {
		s := p.Sources[id]
		out = append(out, s.Relation())
	}
	return out
}

// Hazards scans SQL for ways to load the same data twice.
func Hazards(files []SQLFile, loadTargets []string) []Finding {
	var out []Finding
	isTarget := func(name string) bool {
		for _, t := range loadTargets {
			if sameTable(t, name) {
				return true
			}
		}
		return false
	}
	for _, f := range files {
		hasCopy, hasCreate, hasDrop, hasMerge := hasWord(f.SQL, "copy"), hasWord(f.SQL, "create"), hasWord(f.SQL, "drop"), hasWord(f.SQL, "merge")
		if !hasCopy && !hasCreate && !hasDrop && !hasMerge {
			continue
		}
		// each pattern runs only where its keyword is
		in := func(has bool) string {
			if has {
				return f.SQL
			}
			return ""
		}
		for _, loc := range copyStmtRe.FindAllStringIndex(in(hasCopy), -1) {
			stmt := f.SQL[loc[0]:loc[1]]
			if m := forceRe.FindStringIndex(stmt); m != nil {
				out = append(out, Finding{Rule: RuleCopyForce, Path: f.Path, Line: lineOf(f.SQL, loc[0]+m[0]),
					Message: "COPY INTO … FORCE = TRUE loads files again even when the load history says they were loaded: every re-run duplicates rows"})
			}
			if m := loadUncertainRe.FindStringIndex(stmt); m != nil {
				out = append(out, Finding{Rule: RuleLoadUncertain, Path: f.Path, Line: lineOf(f.SQL, loc[0]+m[0]),
					Message: "LOAD_UNCERTAIN_FILES = TRUE loads files whose load status is unknown (older than 64 days), which may load them twice"})
			}
		}
		for _, m := range createReplaceRe.FindAllStringSubmatchIndex(in(hasCreate), -1) {
			name := f.SQL[m[2]:m[3]]
			if isTarget(name) {
				out = append(out, Finding{Rule: RuleLoadHistory, Path: f.Path, Line: lineOf(f.SQL, m[0]),
					Message: fmt.Sprintf("CREATE OR REPLACE TABLE %s recreates a load target: Snowflake forgets its load history, so the next COPY loads every staged file again", name)})
			}
		}
		for _, m := range dropTableRe.FindAllStringSubmatchIndex(in(hasDrop && hasCreate), -1) {
			name := f.SQL[m[2]:m[3]]
			if !isTarget(name) {
				continue
			}
			for _, c := range createTableRe.FindAllStringSubmatchIndex(f.SQL[m[1]:], -1) {
				if sameTable(f.SQL[m[1]+c[2]:m[1]+c[3]], name) {
					out = append(out, Finding{Rule: RuleLoadHistory, Path: f.Path, Line: lineOf(f.SQL, m[0]),
						Message: fmt.Sprintf("DROP TABLE then CREATE TABLE %s recreates a load target: Snowflake forgets its load history, so the next COPY loads every staged file again", name)})
					break
				}
			}
		}
		for _, m := range mergeRe.FindAllStringSubmatchIndex(in(hasMerge), -1) {
			if msg := mergeProblem(f.SQL, m); msg != "" {
				out = append(out, Finding{Rule: RuleMergeNotDeduped, Path: f.Path, Line: lineOf(f.SQL, m[0]), Message: msg})
			}
		}
	}
	return out
}

// mergeProblem checks that a MERGE's source has one row per merge key; a
// source with two rows for one key updates (or inserts) twice.
func mergeProblem(sql string, m []int) string {
	target := sql[m[2]:m[3]]
	targetAlias := ""
	if m[4] >= 0 {
		targetAlias = sql[m[4]:m[5]]
	}
	rest := sql[m[1]:]
	var source string
	var after string
	if strings.HasPrefix(rest, "(") {
		depth := 0
		end := -1
		for i, ch := range rest {
			if ch == '(' {
				depth++
			} else if ch == ')' {
				depth--
				if depth == 0 {
					end = i
					break
				}
			}
		}
		if end < 0 {
			return ""
		}
		source, after = rest[1:end], rest[end+1:]
	} else {
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return ""
		}
		source = ""
		after = rest[strings.Index(rest, fields[0])+len(fields[0]):]
	}
	on := after
	if i := strings.Index(strings.ToLower(after), " on "); i >= 0 {
		on = after[i+4:]
	}
	if i := strings.Index(strings.ToLower(on), "when"); i >= 0 {
		on = on[:i]
	}
	var keys []string
	for _, eq := range onEqRe.FindAllStringSubmatch(on, -1) {
		if strings.EqualFold(eq[1], targetAlias) || strings.EqualFold(eq[1], target) {
			keys = append(keys, strings.ToLower(eq[2]))
		} else {
			keys = append(keys, strings.ToLower(eq[4]))
		}
	}
	if len(keys) == 0 {
		return ""
	}
	if source != "" && dedupedOn(source, keys) {
		return ""
	}
	return fmt.Sprintf("MERGE INTO %s: the source is not de-duplicated on the merge key (%s); two source rows for one key update or insert twice. Add QUALIFY row_number() OVER (PARTITION BY %s ORDER BY …) = 1", target, strings.Join(keys, ", "), strings.Join(keys, ", "))
}

func dedupedOn(source string, keys []string) bool {
	low := strings.ToLower(source)
	covers := func(list string) bool {
		for _, k := range keys {
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(k) + `\b`).MatchString(list) {
				return false
			}
		}
		return true
	}
	for _, m := range rowNumberRe.FindAllStringSubmatch(low, -1) {
		if covers(m[1]) && (strings.Contains(low, "qualify") || strings.Contains(low, "= 1") || strings.Contains(low, "=1")) {
			return true
		}
	}
	if regexp.MustCompile(`(?is)^\s*select\s+distinct\b`).MatchString(low) {
		return true
	}
	for _, m := range groupByRe.FindAllStringSubmatch(low, -1) {
		if covers(m[1]) {
			return true
		}
	}
	return false
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
