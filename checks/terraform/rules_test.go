package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
)

// wantRE marks the line a finding is expected on: `# want: RULE [RULE…]`, or
// `# want-next: RULE` for the line below (heredoc openers take no comment).
var wantRE = regexp.MustCompile(`#\s*want(-next)?:\s*(.+)$`)

// providerTF gives fixture stacks the required tags through default_tags,
// unless the fixture declares its own aws provider.
const providerTF = `provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = { owner = "devops", env = "dev", "cost-center" = "data-platform" }
  }
}
`

// loadFixture reads testdata/terraform/rules/<name>/<variant> into a tree
// under stack/, with a config declaring it as a dev stack (or a stack with
// var files, when the fixture has them).
func loadFixture(t *testing.T, dir string) (checks.MapTree, *config.RepoConfig) {
	t.Helper()
	tree := checks.MapTree{}
	hasProvider := false
	var varFiles []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		tree["stack/"+filepath.ToSlash(rel)] = data
		if strings.Contains(string(data), `provider "aws"`) {
			hasProvider = true
		}
		if strings.HasSuffix(p, ".tfvars") {
			varFiles = append(varFiles, strings.TrimSuffix(filepath.Base(p), ".tfvars"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !hasProvider {
		tree["stack/_provider.tf"] = []byte(providerTF)
	}
	stack := "      - path: stack\n        environment: dev\n"
	if len(varFiles) > 0 {
		sort.Strings(varFiles)
		stack = "      - path: stack\n        var_files:\n"
		for _, env := range varFiles {
			stack += fmt.Sprintf("          %s: stack/%s.tfvars\n", env, env)
		}
	}
	yml := `version: 1
components:
  - name: infra
    kind: terraform
    owner: devops
    paths: ["stack/**"]
    stacks:
` + stack + `environments:
  - {name: dev, aws_account_id: "111111111111"}
  - {name: staging, aws_account_id: "222222222222"}
  - {name: prod, aws_account_id: "333333333333"}
`
	cfg, err := config.ParseRepo(".conveyor.yml", []byte(yml))
	if err != nil {
		t.Fatalf("fixture config: %v", err)
	}
	return tree, cfg
}

// wants collects the `# want:` markers of a tree as "path:line:RULE".
func wants(tree checks.MapTree) []string {
	var out []string
	for _, p := range tree.Files() {
		for i, line := range strings.Split(string(tree[p]), "\n") {
			m := wantRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			n := i + 1
			if m[1] != "" {
				n++
			}
			for _, r := range strings.Fields(m[2]) {
				out = append(out, fmt.Sprintf("%s:%d:%s", p, n, r))
			}
		}
	}
	sort.Strings(out)
	return out
}

func got(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d:%s", f.Path, f.Line, f.Rule))
	}
	sort.Strings(out)
	return out
}

// TestRules runs every rule on the shapes of real AWS stacks: each fixture's
// bad variant fires exactly on its marked lines, and its fixed variant is
// clean under every rule.
func TestRules(t *testing.T) {
	tests := []struct {
		fixture string
		rules   []string // the rules the fixture exercises
	}{
		{"iam-wildcard", []string{RuleIAMWildcard}},
		{"iam-star-write", []string{RuleIAMStarWrite}},
		{"iam-passrole", []string{RuleIAMPassRole}},
		{"iam-open-trust", []string{RuleIAMOpenTrust}},
		{"iam-managed", []string{RuleIAMManaged}},
		{"net-open", []string{RuleNetOpen}},
		{"net-public-data", []string{RuleNetPublicData}},
		{"s3", []string{RuleS3Versioning, RuleS3Encryption, RuleS3PublicBlock}},
		{"db-encryption", []string{RuleDBEncryption}},
		{"db-public", []string{RuleDBPublic}},
		{"kms", []string{RuleKMSRotation}},
		{"secret", []string{RuleSecret}},
		{"account", []string{RuleAccount}},
		{"module", []string{RuleModulePin}},
		// Local modules are judged in the calling stack's environment and
		// take their default tags from the provider the caller hands them.
		{"local-module", []string{RuleAccount, RuleTags}},
		{"tags", []string{RuleTags}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		for _, r := range tt.rules {
			covered[r] = true
		}
		t.Run(tt.fixture+"/fires", func(t *testing.T) {
			tree, cfg := loadFixture(t, filepath.Join("..", "..", "testdata", "terraform", "rules", tt.fixture, "bad"))
			want := wants(tree)
			if len(want) == 0 {
				t.Fatal("fixture has no # want: markers")
			}
			for _, w := range want {
				if !containsAny(tt.rules, w[strings.LastIndex(w, ":")+1:]) {
					t.Fatalf("marker %s names a rule this case does not exercise", w)
				}
			}
			a := Analyze(tree, cfg, Stacks(cfg, tree))
			if g := got(a.Findings); strings.Join(g, "\n") != strings.Join(want, "\n") {
				t.Errorf("findings differ\n got: %s\nwant: %s\n%s", g, want, messages(a.Findings))
			}
			for _, f := range a.Findings {
				if f.Message == "" || f.Severity == "" || f.Stack != "stack" {
					t.Errorf("finding without message, severity or stack: %+v", f)
				}
			}
		})
		t.Run(tt.fixture+"/quiet when fixed", func(t *testing.T) {
			tree, cfg := loadFixture(t, filepath.Join("..", "..", "testdata", "terraform", "rules", tt.fixture, "fixed"))
			a := Analyze(tree, cfg, Stacks(cfg, tree))
			if len(a.Findings) > 0 {
				t.Errorf("fixed variant still has findings:\n%s", messages(a.Findings))
			}
		})
	}
	for _, r := range Rules() {
		if r.ID != RuleSyntax && !covered[r.ID] {
			t.Errorf("rule %s has no fixture", r.ID)
		}
	}
}

func messages(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s:%d %s %s\n", f.Path, f.Line, f.Rule, f.Message)
	}
	return b.String()
}

// TestSecretsNeverPrinted: the secret rule says where a secret is, never what.
func TestSecretsNeverPrinted(t *testing.T) {
	tree, cfg := loadFixture(t, filepath.Join("..", "..", "testdata", "terraform", "rules", "secret", "bad"))
	a := Analyze(tree, cfg, Stacks(cfg, tree))
	if len(a.Findings) == 0 {
		t.Fatal("no findings")
	}
	for _, secret := range []string{"Sn0wfl4ke-Terraform-Dev!", "hunter2-orders-dev", "Orders-Master-Pw-2024", "sf-api-9f8e7d6c5b4a", "AKIAIOSFODNN7EXAMPLE", "Sn0wfl4ke-From-Tfvars!"} {
		for _, f := range a.Findings {
			if strings.Contains(f.Message, secret) {
				t.Errorf("finding prints the secret %q: %s", secret, f.Message)
			}
		}
	}
}

// TestStackTouchedThroughNestedModules: a change inside a module that the
// stack reaches only through another local module still runs the stack's
// checks, and the analysis lists each module once.
func TestStackTouchedThroughNestedModules(t *testing.T) {
	tree := checks.MapTree{
		"stack/main.tf":           []byte(providerTF + "module \"a\" {\n  source = \"./modules/a\"\n}\nmodule \"b\" {\n  source = \"../shared/b\"\n}\n"),
		"stack/modules/a/main.tf": []byte("module \"c\" {\n  source = \"../../../shared/c\"\n}\n"),
		"shared/b/main.tf":        []byte("module \"c\" {\n  source = \"../c\"\n}\n"),
		"shared/c/main.tf":        []byte("resource \"aws_sqs_queue\" \"q\" {\n  name = \"q\"\n}\n"),
		"shared/unused/main.tf":   []byte("resource \"aws_sqs_queue\" \"u\" {\n  name = \"u\"\n}\n"),
	}
	st := Stack{Path: "stack", Envs: []string{"dev"}}
	tests := []struct {
		changed string
		want    bool
	}{
		{"stack/main.tf", true},
		{"stack/modules/a/main.tf", true},
		{"shared/c/main.tf", true}, // only through a and b
		{"shared/unused/main.tf", false},
		{"other/main.tf", false},
	}
	for _, tt := range tests {
		t.Run(tt.changed, func(t *testing.T) {
			if got := stackTouched(st, tree, []checks.Change{{Path: tt.changed, Status: checks.Modified}}); got != tt.want {
				t.Errorf("stackTouched = %v, want %v", got, tt.want)
			}
		})
	}
	cfg, err := config.ParseRepo(".conveyor.yml", []byte("components:\n  - {name: infra, kind: terraform, paths: [\"**\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(tree, cfg, []Stack{st})
	if got := strings.Join(a.Stacks[0].Modules, ","); got != "stack/modules/a,shared/b,shared/c" {
		t.Errorf("modules = %s", got)
	}
	if a.Stacks[0].Resources != 1 {
		t.Errorf("resources = %d, want shared/c's queue counted once", a.Stacks[0].Resources)
	}
}

// TestDeepDiamondModulesAreAllChecked: modules that each call the next
// twice make more call paths than are followed; the innermost module is
// still loaded and judged, not dropped with the repeats.
func TestDeepDiamondModulesAreAllChecked(t *testing.T) {
	tree := checks.MapTree{"stack/main.tf": []byte(providerTF + "module \"a\" {\n  source = \"../m/l1\"\n}\nmodule \"b\" {\n  source = \"../m/l1\"\n}\n")}
	const depth = 10 // 2+4+…+2^10 call paths, far past maxModuleCalls
	for i := 1; i < depth; i++ {
		tree[fmt.Sprintf("m/l%d/main.tf", i)] = fmt.Appendf(nil, "module \"a\" {\n  source = \"../l%d\"\n}\nmodule \"b\" {\n  source = \"../l%d\"\n}\n", i+1, i+1)
	}
	tree[fmt.Sprintf("m/l%d/main.tf", depth)] = []byte("resource \"aws_iam_policy\" \"p\" {\n  policy = jsonencode({Statement = [{Effect = \"Allow\", Action = \"*\", Resource = \"*\"}]})\n}\n")
	cfg, err := config.ParseRepo(".conveyor.yml", []byte("components:\n  - {name: infra, kind: terraform, paths: [\"**\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(tree, cfg, []Stack{{Path: "stack", Envs: []string{"dev"}}})
	if n := len(a.Stacks[0].Modules); n != depth {
		t.Errorf("modules = %d (%v), want all %d", n, a.Stacks[0].Modules, depth)
	}
	want := fmt.Sprintf("m/l%d/main.tf:2:%s", depth, RuleIAMWildcard)
	if g := got(a.Findings); !slices.Contains(g, want) {
		t.Errorf("findings = %v, want %s", g, want)
	}
}
