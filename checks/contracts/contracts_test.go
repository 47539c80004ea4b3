package contracts

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/contracts/odcs"
	"github.com/parcelflow/conveyor/policy"
)

const contractPath = "contracts/orders.yaml"

func sampleTree(t *testing.T) checks.MapTree {
	t.Helper()
	tr, err := checks.ReadDir("../../testdata/sample-repo")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func with(tree checks.MapTree, path, content string) checks.MapTree {
	out := checks.MapTree{}
	for k, v := range tree {
		out[k] = v
	}
	out[path] = []byte(content)
	return out
}

func replace(t *testing.T, tree checks.MapTree, path, old, new string) checks.MapTree {
	t.Helper()
	s := string(tree[path])
	if !strings.Contains(s, old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	return with(tree, path, strings.Replace(s, old, new, 1))
}

func run(t *testing.T, base, head checks.Tree) (checks.Result, Details) {
	t.Helper()
	res := checks.Run(context.Background(), New(), checks.NewInput(base, head))
	d, ok := res.Details.(Details)
	if !ok {
		t.Fatalf("no details: %s", res.Summary)
	}
	return res, d
}

func TestSampleIsClean(t *testing.T) {
	tr := sampleTree(t)
	res, d := run(t, tr, tr)
	if res.Conclusion != checks.Success || len(res.Annotations) > 0 {
		t.Fatalf("%s: %+v", res.Conclusion, res.Annotations)
	}
	c := d.Contracts[0]
	if c.OwnerTeam != "data-eng" || !reflect.DeepEqual(c.Consumers, []string{"analytics", "finance-analytics"}) || len(c.SLA) != 3 {
		t.Errorf("contract = %+v", c)
	}
	if c.Objects[0].BoundTo != "model.parcelflow.fct_orders.v2" || c.Objects[1].BoundTo != "model.parcelflow.fct_daily_revenue" {
		t.Errorf("objects = %+v", c.Objects)
	}
	if !strings.Contains(res.Summary, "Live comparison skipped") || d.LiveSkipped == "" {
		t.Errorf("summary should say live comparison was skipped: %s", res.Summary)
	}
}

func TestInvalidContractsAreLocated(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		msg        string
	}{
		{"bad yaml", "apiVersion: v3.1.0\nkind: DataContract\nschema: [\n", 3, "invalid YAML"},
		{"missing id", "apiVersion: v3.1.0\nkind: DataContract\nversion: 1.0.0\nstatus: active\nschema: []\n", 1, "id is required"},
		{"wrong api version", "apiVersion: v9\nkind: DataContract\nid: x\nversion: 1\nstatus: active\nschema: []\n", 1, "not an ODCS v3 version"},
		{"unknown field", "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1\nstatus: active\nowner: me\nschema: []\n", 6, `no field "owner"`},
		{"bad logical type", "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1\nstatus: active\nschema:\n  - name: t\n    properties:\n      - name: a\n        logicalType: varchar\n", 10, "logicalType \"varchar\" is not one of"},
		{"required not a bool", "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1\nstatus: active\nschema:\n  - name: t\n    properties:\n      - name: a\n        logicalType: string\n        required: yes please\n", 11, "required must be true or false"},
		{"sla without unit", "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1\nstatus: active\nschema: []\nslaProperties:\n  - property: freshness\n    value: 2\n", 8, "needs a numeric value and a time unit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := odcs.Parse("c.yaml", []byte(tc.data))
			for _, p := range probs {
				if p.Line == tc.line && strings.Contains(p.Msg, tc.msg) {
					return
				}
			}
			t.Fatalf("problems = %+v, want line %d %q", probs, tc.line, tc.msg)
		})
	}
	// Through the check, each problem is a failing annotation on its line.
	tr := sampleTree(t)
	head := replace(t, tr, contractPath, "        logicalType: integer\n        physicalType: integer\n", "        logicalType: int\n        physicalType: integer\n")
	res, _ := run(t, tr, head)
	if res.Conclusion != checks.Failure || len(res.Annotations) != 1 || res.Annotations[0].Rule != RuleInvalid || res.Annotations[0].StartLine != 56 {
		t.Fatalf("%s %+v", res.Conclusion, res.Annotations)
	}
}

func TestAgreementWithDbt(t *testing.T) {
	tr := sampleTree(t)
	core := "dbt/models/marts/core/_core__models.yml"
	tests := []struct {
		name string
		head checks.MapTree
		rule string
		msg  string
	}{
		{"column missing from model", replace(t, tr, contractPath, "      - name: item_count\n", "      - name: items\n"), RuleMissing, "fct_orders.items is in the contract but fct_orders.v2 has no such column"},
		{"type disagrees", replace(t, tr, contractPath, "      - name: item_count\n        logicalType: integer\n        physicalType: integer\n", "      - name: item_count\n        logicalType: timestamp\n"), RuleType, "item_count is timestamp in the contract but integer"},
		{"model type disagrees", replace(t, tr, core, "      - name: item_count\n        data_type: integer", "      - name: item_count\n        data_type: varchar"), RuleType, "item_count is integer (integer) in the contract but varchar"},
		{"required without not_null", replace(t, tr, contractPath, "      - name: order_total\n        logicalType: number\n", "      - name: order_total\n        required: true\n        logicalType: number\n"), RuleNullable, "order_total is required in the contract"},
		{"integer column satisfies number", replace(t, tr, contractPath, "      - name: item_count\n        logicalType: integer\n        physicalType: integer\n", "      - name: item_count\n        logicalType: number\n"), "", ""},
		{"unbound object", replace(t, tr, contractPath, "    physicalName: marts.fct_daily_revenue\n", "    physicalName: marts.fct_weekly_revenue\n"), RuleUnbound, "describes no dbt model or source"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := run(t, tc.head, tc.head)
			if tc.rule == "" {
				if len(res.Annotations) > 0 {
					t.Fatalf("annotations = %+v", res.Annotations)
				}
				return
			}
			if len(res.Annotations) != 1 || res.Annotations[0].Rule != tc.rule || !strings.Contains(res.Annotations[0].Message, tc.msg) {
				t.Fatalf("annotations = %+v, want %s %q", res.Annotations, tc.rule, tc.msg)
			}
		})
	}
}

// TestBreakingContractChanges flips each consumer-breaking rule on and off.
func TestBreakingContractChanges(t *testing.T) {
	tr := sampleTree(t)
	tests := []struct {
		name string
		old  string
		new  string
		want string // "" means not breaking
	}{
		{"column removed", "      - name: item_count\n        logicalType: integer\n        physicalType: integer\n", "", "fct_orders.item_count was removed"},
		{"type narrowed", "        logicalType: number\n        physicalType: number(18,2)\n      - name: item_count", "        logicalType: integer\n        physicalType: number(18,0)\n      - name: item_count", "fct_orders.order_total narrowed"},
		{"type widened", "      - name: item_count\n        logicalType: integer\n        physicalType: integer\n", "      - name: item_count\n        logicalType: number\n        physicalType: number(38,2)\n", ""},
		{"required added", "      - name: orders\n        logicalType: integer\n", "      - name: orders\n        logicalType: integer\n        required: true\n", "fct_daily_revenue.orders became required"},
		{"required dropped", "        physicalType: date\n        required: true\n", "        physicalType: date\n", ""},
		{"SLA tightened", "    value: 2\n    unit: h\n", "    value: 30\n    unit: m\n", "SLA freshness tightened from 2 h to 30 m"},
		{"SLA relaxed", "    value: 2\n    unit: h\n", "    value: 4\n    unit: h\n", ""},
		{"column added", "      - name: item_count\n", "      - name: last_scan_status\n        logicalType: string\n      - name: item_count\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := replace(t, tr, contractPath, tc.old, tc.new)
			res, d := run(t, tr, head)
			var br []Finding
			for _, f := range d.Findings {
				if f.Rule == RuleBreaking {
					br = append(br, f)
				}
			}
			if tc.want == "" {
				if len(br) > 0 || len(res.Approvals) > 0 {
					t.Fatalf("breaking = %+v", br)
				}
				return
			}
			if len(br) != 1 || !strings.Contains(br[0].Message, tc.want) {
				t.Fatalf("breaking = %+v, want %q", br, tc.want)
			}
			// alone, a breaking change asks for approval; with a disagreement
			// with the dbt model as well, the check fails
			want := checks.ActionRequired
			for _, a := range res.Annotations {
				if a.Rule != RuleBreaking && a.Level == checks.Fail {
					want = checks.Failure
				}
			}
			if res.Conclusion != want {
				t.Errorf("conclusion = %s, want %s", res.Conclusion, want)
			}
			if len(res.Approvals) != 1 || !reflect.DeepEqual(res.Approvals[0].Teams, []string{"data-eng", "analytics", "finance-analytics"}) ||
				!strings.HasPrefix(res.Approvals[0].Subject, "orders@") || res.Approvals[0].Name != "breaking change to contract orders" {
				t.Errorf("approvals = %+v", res.Approvals)
			}
			if len(res.Signals) != 1 || res.Signals[0].Kind != policy.SignalBreakingSchema || !res.Signals[0].High {
				t.Errorf("signals = %+v", res.Signals)
			}
		})
	}
}

// without returns a copy of tree minus the given files.
func without(tree checks.MapTree, paths ...string) checks.MapTree {
	out := checks.MapTree{}
	for k, v := range tree {
		out[k] = v
	}
	for _, p := range paths {
		delete(out, p)
	}
	return out
}

// TestContractRemoved: deleting a contract breaks every consumer, so it
// needs the producer's and every consumer's approval like any other breaking
// contract change; moving it, or leaving it invalid, is not a removal.
func TestContractRemoved(t *testing.T) {
	tr := sampleTree(t)
	noConfig := without(tr, ".conveyor.yml")
	tests := []struct {
		name       string
		base, head checks.MapTree
		removed    bool
		rule       string // the failing rule when not a removal, "" for none
	}{
		{"deleted", tr, without(tr, contractPath), true, ""},
		{"deleted, components detected from the tree", noConfig, without(noConfig, contractPath), true, ""},
		{"kept", tr, tr, false, ""},
		{"moved to another path", tr, with(without(tr, contractPath), "contracts/commerce/orders.yaml", string(tr[contractPath])), false, ""},
		{"invalid on head", tr, with(tr, contractPath, strings.Replace(string(tr[contractPath]), "apiVersion: v3.1.0", "apiVersion: v9", 1)), false, RuleInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !New().Applies(checks.NewInput(tc.base, tc.head)) {
				t.Fatal("the check does not apply, so the change would not be checked")
			}
			res, d := run(t, tc.base, tc.head)
			var br []Finding
			for _, f := range d.Findings {
				if f.Rule == RuleBreaking {
					br = append(br, f)
				}
			}
			if !tc.removed {
				if len(br) > 0 || len(res.Approvals) > 0 {
					t.Fatalf("breaking = %+v, approvals = %+v", br, res.Approvals)
				}
				want := checks.Success
				if tc.rule != "" {
					want = checks.Failure
				}
				if res.Conclusion != want {
					t.Errorf("conclusion = %s, want %s: %+v", res.Conclusion, want, res.Annotations)
				}
				return
			}
			if len(br) != 1 || br[0].Path != contractPath || br[0].Line != 1 || !br[0].Breaking ||
				br[0].Message != "contract orders was deleted: analytics, finance-analytics lose the guarantees on fct_orders, fct_daily_revenue" {
				t.Fatalf("breaking = %+v", br)
			}
			if res.Conclusion != checks.ActionRequired {
				t.Errorf("conclusion = %s, want action_required", res.Conclusion)
			}
			if len(res.Approvals) != 1 {
				t.Fatalf("approvals = %+v", res.Approvals)
			}
			a := res.Approvals[0]
			if a.Name != "removal of contract orders" || !reflect.DeepEqual(a.Teams, []string{"data-eng", "analytics", "finance-analytics"}) ||
				!strings.HasPrefix(a.Subject, "orders removed@") || len(a.Subject) != len("orders removed@")+64 || a.Check != Name {
				t.Errorf("approval = %+v", a)
			}
			if len(res.Signals) != 1 || res.Signals[0].Kind != policy.SignalBreakingSchema || !res.Signals[0].High || res.Signals[0].Path != contractPath {
				t.Errorf("signals = %+v", res.Signals)
			}
		})
	}
}

// TestDatasetRemovedIsLocated: a dataset dropped from a contract that stays
// is reported on the head's schema line, and names where it was.
func TestDatasetRemovedIsLocated(t *testing.T) {
	tr := sampleTree(t)
	s := string(tr[contractPath])
	start, end := strings.Index(s, "  - name: fct_daily_revenue\n"), strings.Index(s, "slaProperties:\n")
	if start < 0 || end < start {
		t.Fatalf("the sample contract changed shape")
	}
	head := with(tr, contractPath, "# a comment moves the schema\n"+s[:start]+s[end:])
	baseLine := strings.Count(s[:start], "\n") + 1
	schemaLine := strings.Count("# a comment moves the schema\n"+s[:strings.Index(s, "schema:\n")], "\n") + 1
	_, d := run(t, tr, head)
	var br []Finding
	for _, f := range d.Findings {
		if f.Rule == RuleBreaking {
			br = append(br, f)
		}
	}
	want := fmt.Sprintf("dataset fct_daily_revenue was removed from the contract's schema (it was at line %d)", baseLine)
	if len(br) != 1 || br[0].Line != schemaLine || br[0].Path != contractPath || br[0].Message != want {
		t.Fatalf("breaking = %+v, want %q at line %d", br, want, schemaLine)
	}
}
