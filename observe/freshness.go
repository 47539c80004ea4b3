package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcelflow/conveyor/checks/contracts/odcs"
	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// Freshness statuses.
const (
	Fresh   = "fresh"
	Stale   = "stale"
	Unknown = "unknown"
)

// Tree is a repository's files (checks.Tree satisfies it).
type Tree interface {
	Files() []string
	ReadFile(path string) ([]byte, error)
}

// FreshnessContract is a data contract with the one field the ODCS reader
// does not keep: slaDefaultElement, the element an SLA without its own
// element applies to.
type FreshnessContract struct {
	*odcs.Contract
	DefaultElement string
}

// LoadContracts reads the data contracts of tree: the YAML files of its
// contracts components, or, with none configured, every YAML file that
// declares kind DataContract. A file that is not a contract at all is
// skipped; the contracts check reports contracts that are not valid ODCS.
func LoadContracts(cfg *config.RepoConfig, tree Tree) []FreshnessContract {
	comps := cfg.ComponentsOfKind(config.KindContracts)
	files := tree.Files()
	sort.Strings(files)
	var out []FreshnessContract
	for _, f := range files {
		if !strings.HasSuffix(f, ".yaml") && !strings.HasSuffix(f, ".yml") {
			continue
		}
		if len(comps) > 0 && !slices.ContainsFunc(comps, func(c *config.Component) bool { return c.Matches(f) }) {
			continue
		}
		data, err := tree.ReadFile(f)
		if err != nil || !odcs.IsContract(data) {
			continue
		}
		c, _ := odcs.Parse(f, data)
		if c == nil {
			continue
		}
		var top struct {
			DefaultElement string `yaml:"slaDefaultElement"`
		}
		_ = yaml.Unmarshal(data, &top) // Parse has read it; a failure leaves no default
		out = append(out, FreshnessContract{Contract: c, DefaultElement: top.DefaultElement})
	}
	return out
}

// FreshnessTarget is one contracted dataset whose freshness can be asked
// of the warehouse: the newest value of Column in Relation must be younger
// than SLA. Problem says why a dataset with an SLA cannot be measured.
type FreshnessTarget struct {
	Contract string        `json:"contract"`
	Path     string        `json:"path"`
	Line     int           `json:"line"`
	Property string        `json:"sla_property"`
	SLA      time.Duration `json:"-"`
	Object   string        `json:"object"`
	Relation string        `json:"relation,omitempty"`
	Column   string        `json:"column,omitempty"`
	Problem  string        `json:"problem,omitempty"`
}

// loadedAtColumn matches the columns a pipeline stamps with load time
// (loaded_at, _etl_loaded_at, ingested_at, _load_ts …), used when an SLA
// names no column.
var loadedAtColumn = regexp.MustCompile(`(?i)^_*([a-z]+_)?(loaded|ingested|load|ingest)_?(at|ts|time|timestamp)$`)

// FreshnessTargets lists, for every schema object of each contract that a
// freshness SLA covers, what to measure. An SLA is a freshness SLA when its
// property is "freshness" or "latency" (ODCS v3's name for it). The
// column is the SLA's element (object.column; its default,
// slaDefaultElement, when it has none); an element naming only the
// object, or no element at all, takes the object's one load-time column
// (loaded_at and the like). An object several SLAs cover gets the one that
// names it, else the strictest.
func FreshnessTargets(cs []FreshnessContract) []FreshnessTarget {
	var out []FreshnessTarget
	for _, c := range cs {
		name := c.ID
		if name == "" {
			name = c.Name
		}
		type pick struct {
			t     FreshnessTarget
			named bool
		}
		picks := map[string]pick{} // by object name
		var order []string
		for _, s := range c.SLA {
			prop := strings.ToLower(s.Property)
			if prop != "freshness" && prop != "latency" {
				continue
			}
			element := s.Element
			if element == "" {
				element = c.DefaultElement
			}
			d, ok := s.Duration()
			for _, m := range matchElement(c.Schema, element) {
				t := FreshnessTarget{Contract: name, Path: c.Path, Line: s.Line, Property: s.Property, SLA: d, Object: m.obj.Name,
					Relation: relationOf(m.obj), Column: m.column}
				switch {
				case !ok:
					t.Problem = fmt.Sprintf("the %s SLA %q %q is not a duration (units: s, m, h, d)", s.Property, s.Value, s.Unit)
				case t.Column == "":
					t.Column = loadTimeColumn(m.obj)
					if t.Column == "" {
						t.Problem = fmt.Sprintf("no column to measure: name one in the SLA's element (%s.<timestamp column>) or add a loaded_at column", m.obj.Name)
					}
				}
				if t.Problem == "" {
					if bad := plainIdentifiers(t.Relation, t.Column); bad != "" {
						t.Problem = fmt.Sprintf("%q is not a plain SQL identifier", bad)
					}
				}
				prev, seen := picks[m.obj.Name]
				if !seen {
					order = append(order, m.obj.Name)
				}
				named := m.column != "" || element != ""
				if !seen || better(t, named, prev.t, prev.named) {
					picks[m.obj.Name] = pick{t, named}
				}
			}
		}
		for _, o := range order {
			out = append(out, picks[o].t)
		}
	}
	return out
}

// better reports whether target a (from an SLA naming the object when
// aNamed) should replace b: one that can be measured over one that
// cannot, then a named one over a general one, then the stricter.
func better(a FreshnessTarget, aNamed bool, b FreshnessTarget, bNamed bool) bool {
	if (a.Problem == "") != (b.Problem == "") {
		return a.Problem == ""
	}
	if aNamed != bNamed {
		return aNamed
	}
	return a.SLA < b.SLA
}

type elementMatch struct {
	obj    odcs.Object
	column string
}

// matchElement resolves an SLA element ("object", "object.column" or
// "column", tried in that order, or several separated by commas; empty:
// every object) to schema objects and columns. An object is named by its
// name, physical name or the table part of its physical name.
func matchElement(objs []odcs.Object, element string) []elementMatch {
	if strings.TrimSpace(element) == "" {
		out := make([]elementMatch, 0, len(objs))
		for _, o := range objs {
			out = append(out, elementMatch{obj: o})
		}
		return out
	}
	var out []elementMatch
	for _, e := range strings.Split(element, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		matched := false
		for _, o := range objs {
			if names(o, e) {
				out, matched = append(out, elementMatch{obj: o}), true
			}
		}
		if matched {
			continue
		}
		if i := strings.LastIndex(e, "."); i > 0 {
			objName, col := e[:i], e[i+1:]
			for _, o := range objs {
				if names(o, objName) {
					out = append(out, elementMatch{obj: o, column: col})
				}
			}
			continue
		}
		for _, o := range objs {
			for _, p := range o.Properties {
				if strings.EqualFold(p.Name, e) {
					out = append(out, elementMatch{obj: o, column: p.Name})
				}
			}
		}
	}
	return out
}

// names reports whether ref names schema object o: its name, physical name,
// or the table part of its physical name.
func names(o odcs.Object, ref string) bool {
	if strings.EqualFold(o.Name, ref) || strings.EqualFold(o.PhysicalName, ref) {
		return true
	}
	if i := strings.LastIndex(o.PhysicalName, "."); i >= 0 {
		return strings.EqualFold(o.PhysicalName[i+1:], ref)
	}
	return false
}

func relationOf(o odcs.Object) string {
	if o.PhysicalName != "" {
		return o.PhysicalName
	}
	return o.Name
}

// loadTimeColumn is the object's one load-time column; "" when it has none
// or several.
func loadTimeColumn(o odcs.Object) string {
	found := ""
	for _, p := range o.Properties {
		if !loadedAtColumn.MatchString(p.Name) {
			continue
		}
		if found != "" {
			return ""
		}
		found = p.Name
	}
	return found
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// plainIdentifiers returns the first part of a dotted relation or the
// column that is not a plain identifier: the query is built from them, so
// nothing else may reach it.
func plainIdentifiers(relation, column string) string {
	for _, part := range append(strings.Split(relation, "."), column) {
		if !identifier.MatchString(part) {
			return part
		}
	}
	return ""
}

// FreshnessSQL is the query that reads a target's newest timestamp.
// Identifiers are left unquoted so each warehouse folds their case as it
// does for the models that created them (Snowflake to upper case).
func FreshnessSQL(t FreshnessTarget) string {
	return fmt.Sprintf("SELECT MAX(%s) FROM %s", t.Column, t.Relation)
}

// Freshness is one dataset's freshness against its SLA.
type Freshness struct {
	FreshnessTarget
	Status string        `json:"status"`
	Latest time.Time     `json:"latest,omitzero"`
	Age    time.Duration `json:"-"`
	Reason string        `json:"reason,omitempty"`
}

// MarshalJSON writes the SLA and the age in seconds.
func (f Freshness) MarshalJSON() ([]byte, error) {
	type plain Freshness
	out := struct {
		plain
		SLASeconds float64  `json:"sla_seconds"`
		AgeSeconds *float64 `json:"age_seconds,omitempty"`
	}{plain: plain(f), SLASeconds: f.SLA.Seconds()}
	if !f.Latest.IsZero() {
		age := f.Age.Seconds()
		out.AgeSeconds = &age
	}
	return json.Marshal(out)
}

// CheckFreshness asks wh for the newest timestamp of each target and
// compares its age at now with the SLA. A target that cannot be measured,
// a query that fails and an empty table are unknown, with the reason.
// Timestamps without a time zone are read as UTC.
func CheckFreshness(ctx context.Context, wh warehouse.Inspector, targets []FreshnessTarget, now time.Time) []Freshness {
	out := make([]Freshness, 0, len(targets))
	for _, t := range targets {
		f := Freshness{FreshnessTarget: t, Status: Unknown}
		if t.Problem != "" {
			f.Reason = t.Problem
			out = append(out, f)
			continue
		}
		rows, err := wh.Query(ctx, FreshnessSQL(t))
		if err != nil {
			f.Reason = firstLine(err.Error())
			out = append(out, f)
			continue
		}
		latest, reason := latestValue(rows)
		if reason != "" {
			f.Reason = reason
			out = append(out, f)
			continue
		}
		f.Latest, f.Age = latest, now.Sub(latest)
		f.Status = Stale
		if f.Age <= t.SLA {
			f.Status = Fresh
		}
		out = append(out, f)
	}
	return out
}

// latestValue reads MAX(column) from a one-row result.
func latestValue(rows warehouse.Rows) (time.Time, string) {
	if len(rows.Values) != 1 || len(rows.Values[0]) != 1 {
		return time.Time{}, "the query returned no value"
	}
	switch v := rows.Values[0][0].(type) {
	case nil:
		return time.Time{}, "the table has no rows with a value in the column"
	case time.Time:
		return v.UTC(), ""
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), ""
			}
		}
		return time.Time{}, fmt.Sprintf("the column holds %q, not a timestamp", v)
	default:
		return time.Time{}, fmt.Sprintf("the column holds %T values, not timestamps", v)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
