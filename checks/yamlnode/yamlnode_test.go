package yamlnode

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestMappingsReportsShapeErrorsAtTheirLine(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("models:\n  - name: a\n  - b\nsources: x\nnone: null\n"), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	var errs []string
	bad := func(n *yaml.Node, f string, args ...any) {
		errs = append(errs, fmt.Sprintf("%d: %s", n.Line, fmt.Sprintf(f, args...)))
	}
	models := Mappings(Get(root, "models"), "models", bad)
	if len(models) != 1 || Scalar(Get(models[0], "name")) != "a" {
		t.Fatalf("models = %v", models)
	}
	if got := Mappings(Get(root, "sources"), "sources", bad); got != nil {
		t.Fatalf("sources = %v, want nil", got)
	}
	if got := Mappings(Get(root, "none"), "none", bad); got != nil || Scalar(Get(root, "none")) != "" {
		t.Fatal("null must read as empty")
	}
	want := []string{"3: each entry of models must be a mapping", "4: sources must be a list"}
	if fmt.Sprint(errs) != fmt.Sprint(want) {
		t.Fatalf("errors = %v, want %v", errs, want)
	}
}

func TestCheckAliases(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantLine int // 0: safe
		wantWhy  string
	}{
		{"no aliases", "a: 1\nb: [x, y]\n", 0, ""},
		{"shared anchor", "a: &x {k: 1}\nb: *x\nc: *x\n", 0, ""},
		{"self-referring", "a: &x\n  b: *x\n", 2, "contains it"},
		{"nested self-reference", "a: &x\n  - b:\n      - *x\n", 3, "contains it"},
		{"expansion past the limit", bomb(7), 6, "past the limit"},
		{"expansion under the limit", bomb(4), 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.doc), &doc); err != nil {
				t.Fatal(err)
			}
			n, why := CheckAliases(&doc)
			if tc.wantLine == 0 {
				if n != nil {
					t.Fatalf("CheckAliases = line %d %q, want safe", n.Line, why)
				}
				return
			}
			if n == nil || n.Line != tc.wantLine || !strings.Contains(why, tc.wantWhy) {
				line := 0
				if n != nil {
					line = n.Line
				}
				t.Fatalf("CheckAliases = line %d %q, want line %d %q", line, why, tc.wantLine, tc.wantWhy)
			}
		})
	}
}

// bomb nests levels of ten aliases each, level i on line i+1; level 5
// (10^6 leaves) is the first past MaxExpandedNodes.
func bomb(levels int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	return b.String()
}
