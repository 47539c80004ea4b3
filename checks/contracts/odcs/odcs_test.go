package odcs

import (
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
