package odcs

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestWidens(t *testing.T) {
	tests := []struct {
		ol, op, nl, np string
		want           bool
	}{
		{"string", "varchar(64)", "string", "varchar(32)", false},
		{"string", "varchar(32)", "string", "varchar(64)", true},
		{"string", "varchar(32)", "string", "varchar", true},
		{"number", "number(18,2)", "number", "number(20,2)", true},
		{"number", "number(18,2)", "number", "number(18,1)", false},
		{"integer", "", "number", "", true},
		{"number", "", "integer", "", false},
		{"date", "", "timestamp", "", true},
		{"timestamp", "", "date", "", false},
		{"integer", "", "string", "", true},
	}
	for _, tc := range tests {
		if got := Widens(tc.ol, tc.op, tc.nl, tc.np); got != tc.want {
			t.Errorf("%s/%s → %s/%s: %v, want %v", tc.ol, tc.op, tc.nl, tc.np, got, tc.want)
		}
	}
}

func FuzzParseContract(f *testing.F) {
	sample, err := os.ReadFile("../../../testdata/sample-repo/contracts/orders.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("apiVersion: v3.1.0\nkind: DataContract\nschema:\n  - name: t\n    properties: [{name: a}]\n"))
	f.Add([]byte("team: [1, 2]\ncustomProperties: [{property: consumers, value: 3}]\n"))
	f.Add([]byte("slaProperties:\n  - property: latency\n    value: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, probs := Parse("c.yaml", data)
		if c == nil {
			t.Fatal("nil contract")
		}
		lines := strings.Count(string(data), "\n") + 2
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines || p.Msg == "" {
				t.Fatalf("bad problem %+v in %d lines", p, lines)
			}
		}
	})
}

func TestQualityRules(t *testing.T) {
	const doc = `apiVersion: v3.1.0
kind: DataContract
id: urn:datacontract:test
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: status
        logicalType: string
        quality:
          - metric: invalidValues
            arguments:
              validValues: [open, closed]
            mustBeLessOrEqualTo: 2
    quality:
      - type: sql
        query: SELECT count(*) FROM ${object} WHERE amount < 0
        mustBe: 0
      - metric: rowCount
        mustBeBetween: [10, 1000]
      - metric: rowCount
        mustBeGreaterThan: many
      - type: sql
        mustBe: 0
      - type: sql
        query: SELECT 1
      - metric: rowCout
        mustBe: 1
      - metric: invalidValues
        mustBe: 0
      - type: regex
`
	c, probs := Parse("contracts/test.yaml", []byte(doc))
	var got []string
	for _, p := range probs {
		got = append(got, fmt.Sprintf("%d %s", p.Line, p.Msg))
	}
	want := []string{"23 mustBeGreaterThan must be a number", "24 a sql quality rule needs a query",
		"26 a sql quality rule needs a comparison (mustBe, mustBeGreaterThan …)",
		`28 unknown quality metric "rowCout" (rowCount, nullValues, missingValues, duplicateValues, invalidValues)`,
		"30 invalidValues needs validValues",
		`32 unknown quality rule type "regex" (library, sql, text, custom)`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("problems = %v, want %v", got, want)
	}
	prop := c.Schema[0].Properties[0].Quality[0]
	if prop.Metric != "invalidValues" || strings.Join(prop.ValidValues, ",") != "open,closed" || prop.Ops["mustBeLessOrEqualTo"][0] != 2 || prop.Line != 12 {
		t.Errorf("property rule = %+v", prop)
	}
	obj := c.Schema[0].Quality
	if obj[0].Type != "sql" || !strings.Contains(obj[0].Query, "${object}") || obj[0].Ops["mustBe"][0] != 0 {
		t.Errorf("sql rule = %+v", obj[0])
	}
	if b := obj[1].Ops["mustBeBetween"]; len(b) != 2 || b[0] != 10 || b[1] != 1000 {
		t.Errorf("between = %v", b)
	}
}
