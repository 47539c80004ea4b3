package deploy

import (
	"fmt"
	"strings"
	"testing"
)

func TestSplitSQL(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"CREATE SCHEMA a;\nCREATE TABLE a.t AS SELECT 1;\n", []string{"CREATE SCHEMA a", "CREATE TABLE a.t AS SELECT 1"}},
		{"SELECT 'a;b'\nFROM t;", []string{"SELECT 'a;b'\nFROM t"}},
		{"-- only a comment\n", nil},
		{"SELECT 1", []string{"SELECT 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := splitSQL(tc.in); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzSplitSQL(f *testing.F) {
	f.Add("CREATE SCHEMA a;\nSELECT 1;\n")
	f.Add("-- c\nSELECT ';'\n;")
	f.Fuzz(func(t *testing.T, s string) {
		for _, st := range splitSQL(s) {
			if strings.TrimSpace(st) == "" || strings.HasSuffix(strings.TrimSpace(st), ";") && !strings.Contains(st, "\n") {
				t.Fatalf("empty or unsplit statement %q from %q", st, s)
			}
		}
	})
}
