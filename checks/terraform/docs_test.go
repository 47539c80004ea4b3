package terraform

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/config"
)

// ruleSectionRE matches a rule's section in docs/checks/terraform.md:
// a paragraph opening with **RULE-ID** (severity).
var ruleSectionRE = regexp.MustCompile(`(?m)^\*\*(TF-[A-Z0-9-]+)\*\* \((notice|warning|failure)\)`)

// TestDocsDescribeEveryRule: every rule has a section in the docs, with its
// default severity, and every section describes a rule that exists.
func TestDocsDescribeEveryRule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "checks", "terraform.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, m := range ruleSectionRE.FindAllStringSubmatch(string(data), -1) {
		if _, dup := documented[m[1]]; dup {
			t.Errorf("%s has two sections", m[1])
		}
		documented[m[1]] = m[2]
	}
	rules := map[string]bool{}
	for _, r := range Rules() {
		rules[r.ID] = true
		sev, ok := documented[r.ID]
		switch {
		case !ok:
			t.Errorf("rule %s (%s) has no section in docs/checks/terraform.md", r.ID, r.Title)
		case sev != r.Severity:
			t.Errorf("docs give %s severity %s, the rule's default is %s", r.ID, sev, r.Severity)
		}
	}
	for id := range documented {
		if !rules[id] {
			t.Errorf("docs/checks/terraform.md describes %s, which is not a rule", id)
		}
	}
	if len(documented) == 0 {
		t.Fatal("no rule sections found; has the docs' format changed?")
	}
}

// TestConfigKnowsEveryRule: the config validates rule switches against its
// own list of IDs; it must be exactly this check's rules.
func TestConfigKnowsEveryRule(t *testing.T) {
	var ids []string
	for _, r := range Rules() {
		ids = append(ids, r.ID)
	}
	if got, want := strings.Join(config.TerraformRuleIDs(), " "), strings.Join(ids, " "); got != want {
		t.Errorf("config.TerraformRuleIDs() = %s\nRules()                  = %s", got, want)
	}
}
