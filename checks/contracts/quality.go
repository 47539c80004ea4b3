package contracts

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/parcelflow/conveyor/checks/contracts/odcs"
	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// QualityResult is one quality rule measured on a live table.
type QualityResult struct {
	// Rule names the rule: its name, else its metric ("nullValues on
	// order_id"); required and unique properties are rules too.
	Rule string `json:"rule"`
	// Value is what the table measured; absent when the rule could not run.
	Value  *float64 `json:"value,omitempty"`
	Expect string   `json:"expect"`
	// Status is pass, fail, error or skipped (text and custom rules).
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	SQL     string `json:"sql,omitempty"`
	Line    int    `json:"line"`
}

// qualityRule is one rule to measure: declared, or implied by a property's
// required or unique.
type qualityRule struct {
	name   string
	q      odcs.Quality
	column string
}

// qualityRules lists what to measure on o: each declared rule of the object
// and its properties, then required (no nulls) and unique (no duplicates)
// properties.
func qualityRules(o odcs.Object) []qualityRule {
	var out []qualityRule
	name := func(q odcs.Quality, col string) string {
		n := q.Name
		if n == "" {
			n = q.MetricName()
			if q.Type == "sql" {
				n = "sql"
			}
			if col != "" {
				n += " on " + col
			}
		}
		return n
	}
	for _, q := range o.Quality {
		out = append(out, qualityRule{name: name(q, ""), q: q})
	}
	for _, p := range o.Properties {
		for _, q := range p.Quality {
			out = append(out, qualityRule{name: name(q, p.Name), q: q, column: p.Name})
		}
		if p.Required {
			out = append(out, qualityRule{name: "required " + p.Name, q: odcs.Quality{Metric: "nullValues", Line: p.Line}, column: p.Name})
		}
		if p.Unique || p.PrimaryKey {
			out = append(out, qualityRule{name: "unique " + p.Name, q: odcs.Quality{Metric: "duplicateValues", Line: p.Line}, column: p.Name})
		}
	}
	return out
}

// measureQuality runs o's quality rules on its live table rel and returns
// the results and a finding per failed rule.
func measureQuality(ctx context.Context, env envInspector, ct *odcs.Contract, o odcs.Object, rel string) ([]QualityResult, []Finding) {
	var out []QualityResult
	var fs []Finding
	for _, r := range qualityRules(o) {
		res := QualityResult{Rule: r.name, Line: r.q.Line}
		sql, ops, why := compileQuality(r, rel)
		res.Expect = describeOps(ops)
		switch {
		case why != "":
			res.Status, res.Message = "skipped", why
		default:
			res.SQL = sql
			v, err := scalar(ctx, env.wh, sql)
			if err != nil {
				res.Status, res.Message = "error", err.Error()
				fs = append(fs, Finding{Rule: RuleQuality, Path: ct.Path, Line: r.q.Line, Contract: ct.ID, Env: env.name,
					Message: fmt.Sprintf("%s: %s in %s (%s) could not be measured: %v", o.Name, r.name, env.name, rel, err)})
				break
			}
			res.Value = &v
			if ok, failed := passes(v, ops); ok {
				res.Status = "pass"
			} else {
				res.Status, res.Message = "fail", fmt.Sprintf("measured %s, but it %s", formatNum(v), failed)
				fs = append(fs, Finding{Rule: RuleQuality, Path: ct.Path, Line: r.q.Line, Contract: ct.ID, Env: env.name,
					Message: fmt.Sprintf("%s: %s in %s (%s): measured %s, but it %s", o.Name, r.name, env.name, rel, formatNum(v), failed)})
			}
		}
		out = append(out, res)
	}
	return out, fs
}

// compileQuality turns a rule into a query returning one number, with the
// comparisons the number must pass; why says why a rule does not run.
func compileQuality(r qualityRule, rel string) (sql string, ops map[string][]float64, why string) {
	q := r.q
	ops = q.Ops
	for _, part := range strings.Split(rel, ".") {
		if !warehouse.IsPlainIdent(part) {
			return "", ops, fmt.Sprintf("the table name %q is not a plain identifier", rel)
		}
	}
	if r.column != "" && !warehouse.IsPlainIdent(r.column) {
		return "", ops, fmt.Sprintf("the column name %q is not a plain identifier", r.column)
	}
	switch q.Type {
	case "text":
		return "", ops, "a text rule is for people to read"
	case "custom":
		return "", ops, "a custom rule runs in its own engine"
	case "sql":
		if len(ops) == 0 {
			return "", ops, "the rule names no comparison (mustBe, mustBeGreaterThan …)"
		}
		s := strings.NewReplacer("${object}", rel, "{object}", rel, "${property}", r.column, "{property}", r.column).Replace(q.Query)
		return strings.TrimSuffix(strings.TrimSpace(s), ";"), ops, ""
	}
	metric := q.MetricName()
	needsColumn := map[string]bool{"nullValues": true, "missingValues": true, "duplicateValues": true, "invalidValues": true}
	if needsColumn[metric] && r.column == "" {
		return "", ops, metric + " needs a property"
	}
	if len(ops) == 0 {
		// A library metric without a comparison means none are allowed,
		// except rowCount, which means the table has rows.
		ops = map[string][]float64{"mustBe": {0}}
		if metric == "rowCount" {
			ops = map[string][]float64{"mustBeGreaterThan": {0}}
		}
	}
	switch metric {
	case "rowCount":
		return "SELECT count(*) FROM " + rel, ops, ""
	case "nullValues":
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NULL", rel, r.column), ops, ""
	case "missingValues":
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NULL OR CAST(%s AS VARCHAR) = ''", rel, r.column, r.column), ops, ""
	case "duplicateValues":
		return fmt.Sprintf("SELECT count(*) FROM (SELECT %s FROM %s WHERE %s IS NOT NULL GROUP BY %s HAVING count(*) > 1) AS duplicated", r.column, rel, r.column, r.column), ops, ""
	case "invalidValues":
		if len(q.ValidValues) == 0 {
			return "", ops, "invalidValues needs validValues"
		}
		quoted := make([]string, len(q.ValidValues))
		for i, v := range q.ValidValues {
			quoted[i] = warehouse.Literal(v)
		}
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NOT NULL AND CAST(%s AS VARCHAR) NOT IN (%s)", rel, r.column, r.column, strings.Join(quoted, ", ")), ops, ""
	}
	return "", ops, fmt.Sprintf("the metric %q is not one Conveyor measures (rowCount, nullValues, missingValues, duplicateValues, invalidValues, or a sql rule)", metric)
}

// scalar runs a query that returns one number.
func scalar(ctx context.Context, wh warehouse.Inspector, sql string) (float64, error) {
	rows, err := wh.Query(ctx, sql)
	if err != nil {
		return 0, err
	}
	if len(rows.Values) != 1 || len(rows.Values[0]) != 1 {
		return 0, fmt.Errorf("the query returned %d rows, not one number", len(rows.Values))
	}
	switch v := rows.Values[0][0].(type) {
	case int64:
		return float64(v), nil
	case int32:
		return float64(v), nil
	case int:
		return float64(v), nil
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	case string:
		return strconv.ParseFloat(v, 64)
	case []byte:
		return strconv.ParseFloat(string(v), 64)
	case nil:
		return 0, fmt.Errorf("the query returned NULL")
	default:
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return 0, fmt.Errorf("the query returned %v, not a number", v)
		}
		return f, nil
	}
}

// passes checks v against every comparison; failed says the first it breaks.
func passes(v float64, ops map[string][]float64) (ok bool, failed string) {
	for _, op := range sortedOps(ops) {
		n := ops[op]
		var good bool
		switch op {
		case "mustBe":
			good = v == n[0]
		case "mustNotBe":
			good = v != n[0]
		case "mustBeGreaterThan":
			good = v > n[0]
		case "mustBeGreaterOrEqualTo":
			good = v >= n[0]
		case "mustBeLessThan":
			good = v < n[0]
		case "mustBeLessOrEqualTo":
			good = v <= n[0]
		case "mustBeBetween":
			good = v >= n[0] && v <= n[1]
		case "mustNotBeBetween":
			good = v < n[0] || v > n[1]
		}
		if !good {
			return false, "must " + describeOp(op, n)
		}
	}
	return true, ""
}

func describeOps(ops map[string][]float64) string {
	var parts []string
	for _, op := range sortedOps(ops) {
		parts = append(parts, describeOp(op, ops[op]))
	}
	return strings.Join(parts, " and ")
}

func describeOp(op string, n []float64) string {
	switch op {
	case "mustBe":
		return "be " + formatNum(n[0])
	case "mustNotBe":
		return "not be " + formatNum(n[0])
	case "mustBeGreaterThan":
		return "be greater than " + formatNum(n[0])
	case "mustBeGreaterOrEqualTo":
		return "be at least " + formatNum(n[0])
	case "mustBeLessThan":
		return "be less than " + formatNum(n[0])
	case "mustBeLessOrEqualTo":
		return "be at most " + formatNum(n[0])
	case "mustBeBetween":
		return fmt.Sprintf("be between %s and %s", formatNum(n[0]), formatNum(n[1]))
	case "mustNotBeBetween":
		return fmt.Sprintf("not be between %s and %s", formatNum(n[0]), formatNum(n[1]))
	}
	return op
}

func sortedOps(ops map[string][]float64) []string {
	out := make([]string, 0, len(ops))
	for op := range ops {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

func formatNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Measure compares each dataset of contract c with its live table in the
// environment env and measures its quality rules there: the contract's
// smoke test after a deploy. A dataset's table is its physicalName (else
// its name); projects, when given, bind datasets to dbt models for the rest.
func Measure(ctx context.Context, env string, wh warehouse.Inspector, c *odcs.Contract, projects []*project.Project) ([]LiveResult, []Finding, error) {
	var out []LiveResult
	var fs []Finding
	for _, o := range c.Schema {
		lr, f, err := live(ctx, envInspector{name: env, wh: wh}, c, o, projects)
		if err != nil {
			return out, fs, err
		}
		out = append(out, lr)
		fs = append(fs, f...)
	}
	return out, fs, nil
}
