package airflow

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

func dumpTree(t *ptree, i int32, depth int, b *strings.Builder) {
	n := &t.nodes[i]
	fmt.Fprintf(b, "%s%s%s", strings.Repeat("  ", depth), map[bool]string{true: n.field + ": ", false: ""}[n.field != ""], t.kind(i))
	if n.first < 0 {
		fmt.Fprintf(b, " %q", t.text(i))
	}
	if n.miss {
		b.WriteString(" MISSING")
	}
	b.WriteString("\n")
	for c := n.first; c >= 0; c = t.nodes[c].next {
		dumpTree(t, c, depth+1, b)
	}
}

func TestDump(t *testing.T) {
	src, err := os.ReadFile(os.Getenv("DUMP"))
	if err != nil {
		t.Skip()
	}
	pp := newPyParser()
	defer pp.close()
	tr := pp.parse(src)
	var b strings.Builder
	dumpTree(tr, 0, 0, &b)
	fmt.Println(b.String())
}

func TestDumpParse(t *testing.T) {
	p := os.Getenv("DUMPPARSE")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Skip()
	}
	a := NewAnalyzer(func(q string) ([]byte, error) { return os.ReadFile(q) })
	defer a.Close()
	r := a.File(p, src)
	b, _ := json.MarshalIndent(r, "", " ")
	fmt.Println(string(b))
}
