// Package loadhazard finds, in SQL text, the ways a load runs twice: COPY
// INTO … FORCE = TRUE, LOAD_UNCERTAIN_FILES = TRUE, recreating a table that
// COPY loads (Snowflake forgets its load history), and a MERGE whose source
// is not de-duplicated on the merge key. The dbt check scans models and
// macros with it, the Airflow check the SQL in DAG files.
package loadhazard

import (
	"fmt"
	"regexp"
	"strings"
)

// File is SQL text to scan, with templating blanked out where it could
// read as SQL (newlines kept, so lines still match the file).
type File struct {
	Path string
	SQL  string
}

// Kinds of hazard.
const (
	CopyForce       = "copy-force"
	LoadUncertain   = "load-uncertain-files"
	RecreatesTarget = "recreates-load-target"
	MergeNotDeduped = "merge-not-deduplicated"
)

// Hazard is one place a load can run twice.
type Hazard struct {
	Kind    string
	Path    string
	Line    int
	Message string
}

var (
	copyIntoRe       = regexp.MustCompile(`(?is)\bcopy\s+into\s+([A-Za-z0-9_$."]+)`)
	copyStmtRe       = regexp.MustCompile(`(?is)\bcopy\s+into\b[^;]*`)
	forceRe          = regexp.MustCompile(`(?i)\bforce\s*=\s*true\b`)
	loadUncertainRe  = regexp.MustCompile(`(?i)\bload_uncertain_files\s*=\s*true\b`)
	createReplaceRe  = regexp.MustCompile(`(?is)\bcreate\s+or\s+replace\s+(?:transient\s+|temporary\s+|temp\s+)?table\s+(?:if\s+not\s+exists\s+)?([A-Za-z0-9_$."]+)`)
	dropTableRe      = regexp.MustCompile(`(?is)\bdrop\s+table\s+(?:if\s+exists\s+)?([A-Za-z0-9_$."]+)`)
	createTableRe    = regexp.MustCompile(`(?is)\bcreate\s+(?:transient\s+)?table\s+(?:if\s+not\s+exists\s+)?([A-Za-z0-9_$."]+)`)
	mergeRe          = regexp.MustCompile(`(?is)\bmerge\s+into\s+([A-Za-z0-9_$."]+)(?:\s+(?:as\s+)?([A-Za-z_][A-Za-z0-9_]*))?\s+using\s+`)
	onEqRe           = regexp.MustCompile(`(?i)([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)`)
	rowNumberRe      = regexp.MustCompile(`(?is)row_number\s*\(\s*\)\s*over\s*\(\s*partition\s+by\s+([^)]*?)\s+order\s+by`)
	groupByRe        = regexp.MustCompile(`(?is)\bgroup\s+by\s+([^)]*)`)
	selectDistinctRe = regexp.MustCompile(`(?is)^\s*select\s+distinct\b`)
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
func hasWord(s, word string) bool { return indexFold(s, word, false) >= 0 }

// CopyTargets are the tables the files COPY INTO.
func CopyTargets(files []File) []string {
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
	return out
}

// Scan looks for ways to load the same data twice; loadTargets are the
// tables something loads into (CopyTargets, and a dbt project's sources).
func Scan(files []File, loadTargets []string) []Hazard {
	var out []Hazard
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
				out = append(out, Hazard{Kind: CopyForce, Path: f.Path, Line: lineOf(f.SQL, loc[0]+m[0]),
					Message: "COPY INTO … FORCE = TRUE loads files again even when the load history says they were loaded: every re-run duplicates rows"})
			}
			if m := loadUncertainRe.FindStringIndex(stmt); m != nil {
				out = append(out, Hazard{Kind: LoadUncertain, Path: f.Path, Line: lineOf(f.SQL, loc[0]+m[0]),
					Message: "LOAD_UNCERTAIN_FILES = TRUE loads files whose load status is unknown (older than 64 days), which may load them twice"})
			}
		}
		for _, m := range createReplaceRe.FindAllStringSubmatchIndex(in(hasCreate), -1) {
			name := f.SQL[m[2]:m[3]]
			if isTarget(name) {
				out = append(out, Hazard{Kind: RecreatesTarget, Path: f.Path, Line: lineOf(f.SQL, m[0]),
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
					out = append(out, Hazard{Kind: RecreatesTarget, Path: f.Path, Line: lineOf(f.SQL, m[0]),
						Message: fmt.Sprintf("DROP TABLE then CREATE TABLE %s recreates a load target: Snowflake forgets its load history, so the next COPY loads every staged file again", name)})
					break
				}
			}
		}
		for _, m := range mergeRe.FindAllStringSubmatchIndex(in(hasMerge), -1) {
			if msg := mergeProblem(f.SQL, m); msg != "" {
				out = append(out, Hazard{Kind: MergeNotDeduped, Path: f.Path, Line: lineOf(f.SQL, m[0]), Message: msg})
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
	if i := indexFold(after, "on", true); i >= 0 {
		on = after[i+2:]
	}
	if i := indexFold(on, "when", true); i >= 0 {
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
			if indexFold(list, k, true) < 0 {
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
	if selectDistinctRe.MatchString(low) {
		return true
	}
	for _, m := range groupByRe.FindAllStringSubmatch(low, -1) {
		if covers(m[1]) {
			return true
		}
	}
	return false
}

// indexFold is strings.Index of sub (lower case ASCII) ignoring case, with
// offsets into s itself: lowering s first would move them wherever lowering
// changes a character's length (invalid UTF-8, some non-ASCII letters).
// With whole, sub must stand as a word: "when" is not found in whenever_id.
func indexFold(s, sub string, whole bool) int {
	first, n := sub[0], len(sub)
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 != first || !strings.EqualFold(s[i:i+n], sub) {
			continue
		}
		if whole && (i > 0 && isWordByte(s[i-1]) || i+n < len(s) && isWordByte(s[i+n])) {
			continue
		}
		return i
	}
	return -1
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
