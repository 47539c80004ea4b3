package dbt

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/parcelflow/conveyor/checks/dbt/project"
	"github.com/parcelflow/conveyor/deploy/warehouse"
)

// SmokeResult is the outcome of one generic test run against an environment.
type SmokeResult struct {
	UniqueID string `json:"unique_id"`
	Test     string `json:"test"`
	Column   string `json:"column,omitempty"`
	// Status is pass, fail, error or skipped.
	Status string `json:"status"`
	// Failures is the number of rows that break the test.
	Failures int64  `json:"failures"`
	SQL      string `json:"sql,omitempty"`
	Message  string `json:"message,omitempty"`
}

// Smoke test statuses.
const (
	SmokePass    = "pass"
	SmokeFail    = "fail"
	SmokeError   = "error"
	SmokeSkipped = "skipped"
)

// SmokeOptions say where models live in the environment.
type SmokeOptions struct {
	// Relation maps a model to its table in the environment; nil uses
	// schema.alias as the project declares it.
	Relation func(m *project.Model) string
	// SourceRelation maps a source table; nil uses schema.identifier.
	SourceRelation func(s *project.Source) string
}

// SmokeTests compiles the generic tests (not_null, unique, accepted_values,
// relationships) of models into SQL, runs each through wh, and reports pass
// or fail per test. The deploy engine runs it after every deploy on the
// models the release touched.
func SmokeTests(ctx context.Context, p *project.Project, models []string, wh warehouse.Inspector, opts SmokeOptions) ([]SmokeResult, error) {
	if opts.Relation == nil {
		opts.Relation = func(m *project.Model) string { return m.Relation() }
	}
	if opts.SourceRelation == nil {
		opts.SourceRelation = func(s *project.Source) string { return s.Relation() }
	}
	ids := append([]string(nil), models...)
	sort.Strings(ids)
	var out []SmokeResult
	for _, id := range ids {
		m, ok := p.Models[id]
		if !ok {
			return nil, fmt.Errorf("smoke tests: %s is not a model of %s", id, p.Name)
		}
		for _, t := range m.AllTests() {
			r := SmokeResult{UniqueID: id, Test: t.Name, Column: t.Column}
			sql, err := CompileTest(p, m, t, opts)
			if err != nil {
				r.Status, r.Message = SmokeSkipped, err.Error()
				out = append(out, r)
				continue
			}
			r.SQL = sql
			rows, err := wh.Query(ctx, "SELECT count(*) FROM ("+sql+") AS dbt_test")
			switch {
			case err != nil:
				r.Status, r.Message = SmokeError, err.Error()
			case len(rows.Values) != 1 || len(rows.Values[0]) != 1:
				r.Status, r.Message = SmokeError, "the count query returned no single value"
			default:
				r.Failures = toInt(rows.Values[0][0])
				r.Status = SmokePass
				if r.Failures > 0 {
					r.Status = SmokeFail
					r.Message = fmt.Sprintf("%d rows fail %s", r.Failures, describeTest(t))
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func describeTest(t project.GenericTest) string {
	if t.Column != "" {
		return t.Name + " on " + t.Column
	}
	return t.Name
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	case string:
		var n int64
		fmt.Sscan(x, &n)
		return n
	case []byte:
		var n int64
		fmt.Sscan(string(x), &n)
		return n
	}
	var n int64
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

// CompileTest compiles one generic test into a query returning its failing rows.
func CompileTest(p *project.Project, m *project.Model, t project.GenericTest, opts SmokeOptions) (string, error) {
	rel := opts.Relation(m)
	if rel == "" {
		return "", fmt.Errorf("%s has no relation in this environment", m.Name)
	}
	from := rel
	if t.Where != "" {
		from = "(SELECT * FROM " + rel + " WHERE " + t.Where + ") AS model"
	}
	col := warehouse.Ident(t.Column)
	switch t.Name {
	case "not_null":
		if t.Column == "" {
			return "", fmt.Errorf("not_null needs a column")
		}
		return fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NULL", col, from, col), nil
	case "unique":
		if t.Column == "" {
			return "", fmt.Errorf("unique needs a column")
		}
		return fmt.Sprintf("SELECT %s AS unique_field, count(*) AS n_records FROM %s WHERE %s IS NOT NULL GROUP BY %s HAVING count(*) > 1", col, from, col, col), nil
	case "accepted_values":
		if t.Column == "" || len(t.Values) == 0 {
			return "", fmt.Errorf("accepted_values needs a column and values")
		}
		vals := make([]string, len(t.Values))
		for i, v := range t.Values {
			vals[i] = warehouse.Literal(v)
		}
		return fmt.Sprintf("SELECT %s AS value_field, count(*) AS n_records FROM %s WHERE %s NOT IN (%s) GROUP BY %s", col, from, col, strings.Join(vals, ", "), col), nil
	case "relationships":
		if t.Column == "" || t.To == "" || t.Field == "" {
			return "", fmt.Errorf("relationships needs a column, to and field")
		}
		parent, err := resolveTo(p, t.To, opts)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("SELECT child.%s AS from_field FROM %s AS child LEFT JOIN %s AS parent ON child.%s = parent.%s WHERE child.%s IS NOT NULL AND parent.%s IS NULL",
			col, from, parent, col, warehouse.Ident(t.Field), col, warehouse.Ident(t.Field)), nil
	}
	return "", fmt.Errorf("%s is not a generic test Conveyor compiles (not_null, unique, accepted_values, relationships)", t.Name)
}

// resolveTo turns a relationships test's "ref('x')" or "source('a','b')" into a relation.
func resolveTo(p *project.Project, to string, opts SmokeOptions) (string, error) {
	f := project.ScanSQL("", "{{ "+to+" }}")
	if len(f.Refs) == 1 {
		id := p.ResolveRef(f.Refs[0])
		if m, ok := p.Models[id]; ok {
			return opts.Relation(m), nil
		}
		if s, ok := p.Seeds[id]; ok {
			return s.Name, nil
		}
		return "", fmt.Errorf("relationships: %s is no model of %s", to, p.Name)
	}
	if len(f.Sources) == 1 {
		if s, ok := p.Sources[p.SourceID(f.Sources[0])]; ok {
			return opts.SourceRelation(s), nil
		}
		return "", fmt.Errorf("relationships: %s is no declared source", to)
	}
	return "", fmt.Errorf("relationships: to must be ref('model') or source('name', 'table'), got %q", to)
}
