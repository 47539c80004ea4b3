package yamlnode

import (
	"fmt"
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
