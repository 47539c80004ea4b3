package airflow

import (
	"os"
	"testing"
)

// FuzzParseFile: arbitrary bytes never crash the analyzer, and a file that
// does not parse always carries a syntax finding.
func FuzzParseFile(f *testing.F) {
	for _, p := range pyFixtures(f) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("with DAG(\n"))
	f.Add([]byte("@dag\ndef f(:\n"))
	f.Add([]byte("for x in range(10**9):\n  DAG(x)\n"))
	f.Add([]byte("def f():\n  return f()\nf()\n"))
	f.Add([]byte("a = [a]\nfor x in a:\n  a.append(x)\n"))
	f.Add([]byte{0xff, 0xfe, 0x00})
	a := NewAnalyzer(func(string) ([]byte, error) { return []byte("from x import *\nX = 1\n"), nil })
	defer a.Close()
	f.Fuzz(func(t *testing.T, src []byte) {
		res := a.File("dags/fuzz.py", src)
		hasSyntax := false
		for _, x := range res.Findings {
			if x.Rule == RuleSyntax {
				hasSyntax = true
			}
			if x.Line < 1 {
				t.Fatalf("finding without a line: %+v", x)
			}
		}
		if res.SyntaxOK == hasSyntax {
			t.Fatalf("SyntaxOK=%v but syntax finding present=%v", res.SyntaxOK, hasSyntax)
		}
		for _, d := range res.DAGs {
			if d.Line < 1 || d.File != "dags/fuzz.py" {
				t.Fatalf("DAG without a place: %+v", d)
			}
		}
	})
}
