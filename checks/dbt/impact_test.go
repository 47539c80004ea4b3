package dbt

import (
	"reflect"
	"testing"

	"github.com/parcelflow/conveyor/checks/dbt/project"
)

// TestSameConfigFollowsConfigKey holds Diff's fast config comparison to the
// key it stands for: a Config field changed on one side must make both say
// "different", or both "same", field by field, so a field added to Config
// later cannot be compared by one and missed by the other.
func TestSameConfigFollowsConfigKey(t *testing.T) {
	typ := reflect.TypeOf(project.Config{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			a, b := &project.Model{}, &project.Model{}
			va, vb := reflect.ValueOf(&a.Config).Elem().Field(i), reflect.ValueOf(&b.Config).Elem().Field(i)
			switch f.Type.Kind() {
			case reflect.String:
				va.SetString("x")
				vb.SetString("y")
			case reflect.Bool:
				vb.SetBool(true)
			case reflect.Slice:
				va.Set(reflect.ValueOf([]string{"x"}))
				vb.Set(reflect.ValueOf([]string{"y"}))
			default:
				t.Fatalf("field %s of kind %s: teach sameConfig and this test about it", f.Name, f.Type.Kind())
			}
			if got, want := sameConfig(a, b), configKey(a) == configKey(b); got != want {
				t.Errorf("sameConfig = %v, configKey equal = %v", got, want)
			}
		})
	}
	tests := []struct {
		name string
		a, b project.Model
		same bool
	}{
		{"tags in another order", project.Model{Config: project.Config{Tags: []string{"a", "b"}}}, project.Model{Config: project.Config{Tags: []string{"b", "a"}}}, true},
		{"nil and empty unique_key", project.Model{Config: project.Config{UniqueKey: []string{}}}, project.Model{}, true},
		{"an unknown expression changed", project.Model{UnknownConfig: map[string]string{"materialized": "var('a')"}}, project.Model{UnknownConfig: map[string]string{"materialized": "var('b')"}}, false},
		{"an unknown expression appeared", project.Model{UnknownConfig: map[string]string{"unique_key": "var('k')"}}, project.Model{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, key := sameConfig(&tc.a, &tc.b), configKey(&tc.a) == configKey(&tc.b); got != tc.same || key != tc.same {
				t.Errorf("sameConfig = %v, configKey equal = %v, want %v", got, key, tc.same)
			}
		})
	}
}

// TestSameContractFollowsContractKey: Diff's fast contract comparison agrees
// with the key the approval hash is made of.
func TestSameContractFollowsContractKey(t *testing.T) {
	id := project.Column{Name: "id", DataType: "integer", Constraints: []project.Constraint{{Type: "not_null"}}}
	amount := project.Column{Name: "amount", DataType: "number(18,2)"}
	model := func(enforced bool, cols []project.Column, cons ...project.Constraint) project.Model {
		return project.Model{Config: project.Config{ContractEnforced: enforced}, Columns: cols, Constraints: cons}
	}
	withType := func(c project.Column, typ string) project.Column { c.DataType = typ; return c }
	pk := project.Constraint{Type: "primary_key", Columns: []string{"id"}}
	tests := []struct {
		name string
		a, b project.Model
		same bool
	}{
		{"identical", model(true, []project.Column{id, amount}), model(true, []project.Column{id, amount}), true},
		{"columns in another order", model(true, []project.Column{id, amount}), model(true, []project.Column{amount, id}), true},
		{"type spelled differently", model(true, []project.Column{id}), model(true, []project.Column{withType(id, "INTEGER")}), true},
		{"type changed", model(true, []project.Column{id}), model(true, []project.Column{withType(id, "bigint")}), false},
		{"column removed", model(true, []project.Column{id, amount}), model(true, []project.Column{id}), false},
		{"column renamed", model(true, []project.Column{id, amount}), model(true, []project.Column{id, {Name: "total", DataType: "number(18,2)"}}), false},
		{"column constraint removed", model(true, []project.Column{id}), model(true, []project.Column{{Name: "id", DataType: "integer"}}), false},
		{"enforcement turned off", model(true, []project.Column{id}), model(false, []project.Column{id}), false},
		{"model constraint removed", model(true, []project.Column{id}, pk), model(true, []project.Column{id}), false},
		{"model constraint on other columns", model(true, []project.Column{id}, pk), model(true, []project.Column{id}, project.Constraint{Type: "primary_key", Columns: []string{"amount"}}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, key := sameContract(&tc.a, &tc.b), contractKey(&tc.a) == contractKey(&tc.b); got != tc.same || key != tc.same {
				t.Errorf("sameContract = %v, contractKey equal = %v, want %v", got, key, tc.same)
			}
		})
	}
}

// TestSameSource: a manifest drops a source database equal to its target's,
// so an unset database matches an explicit one; two explicit ones must agree.
func TestSameSource(t *testing.T) {
	src := func(db, schema string) *project.Source {
		return &project.Source{UniqueID: "source.p.raw.orders", SourceName: "raw", Name: "orders", Database: db, Schema: schema}
	}
	tests := []struct {
		name string
		a, b *project.Source
		same bool
	}{
		{"both unset", src("", "raw"), src("", "raw"), true},
		{"manifest dropped the target database", src("", "raw"), src("ANALYTICS", "raw"), true},
		{"two databases", src("RAW_DB", "raw"), src("ANALYTICS", "raw"), false},
		{"schema moved", src("", "raw"), src("ANALYTICS", "landing"), false},
	}
	for _, tt := range tests {
		if got := sameSource(tt.a, tt.b); got != tt.same {
			t.Errorf("%s: sameSource = %v, want %v", tt.name, got, tt.same)
		}
	}
}
