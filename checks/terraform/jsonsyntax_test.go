package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
)

// lineOf returns the 1-based line of the only line of src containing s.
func lineOf(t *testing.T, src []byte, s string) int {
	t.Helper()
	n := 0
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, s) {
			if n != 0 {
				t.Fatalf("%q is on lines %d and %d; make the marker unique", s, n, i+1)
			}
			n = i + 1
		}
	}
	if n == 0 {
		t.Fatalf("%q is on no line", s)
	}
	return n
}

func jsonStackConfig(t *testing.T, varFile string) *config.RepoConfig {
	t.Helper()
	yml := `components:
  - {name: infra, kind: terraform, owner: devops, paths: ["stack/**"], stacks: [{path: stack, var_files: {dev: ` + varFile + `}}]}
environments:
  - {name: dev, aws_account_id: "111111111111"}
  - {name: prod, aws_account_id: "333333333333"}
`
	cfg, err := config.ParseRepo(".conveyor.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestJSONSyntax: a stack written in Terraform's JSON syntax, with a JSON
// var file, is held to every rule, with findings on the JSON's own lines.
func TestJSONSyntax(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "terraform", "json")
	tree := checks.MapTree{}
	for _, name := range []string{"main.tf.json", "dev.tfvars.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		tree["stack/"+name] = data
	}
	cfg := jsonStackConfig(t, "stack/dev.tfvars.json")
	a := Analyze(tree, cfg, Stacks(cfg, tree))

	main, vars := tree["stack/main.tf.json"], tree["stack/dev.tfvars.json"]
	want := []struct {
		rule, file string
		src        []byte
		on         string
	}{
		{RuleAccount, "main.tf.json", main, `"allowed_account_ids"`},
		{RuleS3Encryption, "main.tf.json", main, `"mwaa": { "bucket"`},
		{RuleS3PublicBlock, "main.tf.json", main, `"mwaa": { "bucket"`},
		{RuleS3Versioning, "main.tf.json", main, `"Suspended"`},
		{RuleIAMWildcard, "main.tf.json", main, `"s3:*`},
		{RuleIAMStarWrite, "main.tf.json", main, `"s3:*`},
		{RuleIAMOpenTrust, "main.tf.json", main, `AWS = \"*\"`},
		{RuleDBEncryption, "main.tf.json", main, `"storage_encrypted": false`},
		{RuleSecret, "main.tf.json", main, `"password": "Orders`},
		// publicly_accessible is var.public, which only the JSON var file sets.
		{RuleDBPublic, "main.tf.json", main, `"publicly_accessible"`},
		{RuleNetOpen, "main.tf.json", main, `"from_port": 22`},
		// The replica provider has no default tags.
		{RuleTags, "main.tf.json", main, `"dlq": {`},
		{RuleKMSRotation, "main.tf.json", main, `"MWAA environment key"`},
		{RuleModulePin, "main.tf.json", main, `"~> 5.0"`},
		{RuleSecret, "dev.tfvars.json", vars, `"snowflake_password"`},
	}
	var exp []string
	for _, w := range want {
		exp = append(exp, fmt.Sprintf("stack/%s:%d:%s", w.file, lineOf(t, w.src, w.on), w.rule))
	}
	sort.Strings(exp)
	if g := got(a.Findings); strings.Join(g, "\n") != strings.Join(exp, "\n") {
		t.Errorf("findings differ\n got: %s\nwant: %s\n%s", g, exp, messages(a.Findings))
	}
	for _, f := range a.Findings {
		for _, secret := range []string{"Orders-Dev-Pw-2024", "Sn0wfl4ke-From-Json!"} {
			if strings.Contains(f.Message, secret) {
				t.Errorf("finding prints a secret: %s", f.Message)
			}
		}
	}
	if r := a.Stacks[0].Resources; r != 8 {
		t.Errorf("resources = %d, want the 8 resource blocks of main.tf.json", r)
	}
	// JSON's moved blocks name addresses as bare strings.
	if !movedAway(tree, ResourceChange{Address: "aws_s3_bucket.dags", Stack: "stack"}) {
		t.Error("the moved block of main.tf.json is not read")
	}
	if movedAway(tree, ResourceChange{Address: "aws_s3_bucket.mwaa", Stack: "stack"}) {
		t.Error("a resource no moved block names counts as moved")
	}
}

// TestJSONBlockBodyMustBeObject: a block whose body is not a JSON object is
// a syntax finding at that value, as Terraform makes it, not a resource that
// no rule sees.
func TestJSONBlockBodyMustBeObject(t *testing.T) {
	src := "{\n  \"resource\": {\n    \"aws_s3_bucket\": {\n      \"ok\": {\"bucket\": \"a\"},\n      \"bad\": \"oops\"\n    }\n  }\n}\n"
	tree := checks.MapTree{"stack/main.tf.json": []byte(src), "stack/dev.tfvars.json": []byte("{}")}
	cfg := jsonStackConfig(t, "stack/dev.tfvars.json")
	a := Analyze(tree, cfg, Stacks(cfg, tree))
	want := "stack/main.tf.json:5:" + RuleSyntax
	if g := got(a.Findings); !slices.Contains(g, want) {
		t.Fatalf("findings = %v, want %s\n%s", g, want, messages(a.Findings))
	}
	for _, f := range a.Findings {
		if f.Rule == RuleSyntax && !strings.Contains(f.Message, "JSON object is required") {
			t.Errorf("the finding does not say an object is required: %s", f.Message)
		}
	}
}

// FuzzJSONPolicy runs the static policy on arbitrary JSON-syntax files: it
// must never panic, and every finding must be located.
func FuzzJSONPolicy(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "terraform", "json", "main.tf.json")); err == nil {
		f.Add(data, []byte(`{"public": true}`))
	}
	f.Add([]byte(`{"resource": {"aws_s3_bucket": {"b": [{"bucket": "x"}, {"bucket": "${var.y}"}]}}}`), []byte(`[]`))
	f.Add([]byte(`{"resource": {"aws_iam_policy": {"p": {"policy": "${jsonencode({Statement = {Effect = \"Allow\", Action = \"*\"}})}"}}}}`), []byte(`{"a": {"password": "x"}}`))
	f.Add([]byte(`{"module": {"m": {"source": "./m", "providers": {"aws": "aws.x"}}}, "moved": {"from": "a.b", "to": "%{ if"}}`), []byte(`{"x": "${"}`))
	fuzzStack(f, "main.tf.json", "dev.tfvars.json")
}

// TestJSONVarFiles: a .tfvars.json var file, which the config accepts, is
// read as JSON (never as native syntax, which would fail on every line), and
// a broken one fails at its own line and column.
func TestJSONVarFiles(t *testing.T) {
	mainTF := providerTF + `variable "public" {
  type    = bool
  default = false
}

resource "aws_db_instance" "orders" {
  identifier                  = "orders-dev"
  engine                      = "postgres"
  instance_class              = "db.t4g.medium"
  allocated_storage           = 50
  storage_encrypted           = true
  manage_master_user_password = true
  username                    = "orders"
  publicly_accessible         = var.public
}
`
	tests := []struct {
		name, vars string
		want       []string // path:line:RULE
		wantMsg    string
	}{
		{"private", `{"public": false}`, nil, ""},
		{"public from the var file", "{\n  \"public\": true\n}\n", []string{fmt.Sprintf("stack/main.tf:%d:%s", lineOf(t, []byte(mainTF), "publicly_accessible"), RuleDBPublic)}, ""},
		{"comments are allowed", `{"//": "set by the platform team", "public": false}`, nil, ""},
		{"another env's account", "{\n  \"public\": false,\n  \"replica_role\": \"arn:aws:iam::333333333333:role/replica\"\n}\n", []string{"stack/dev.tfvars.json:3:" + RuleAccount}, ""},
		{"broken", "{\n  \"public\": true,\n}\n", []string{"stack/dev.tfvars.json:2:" + RuleSyntax}, "Trailing comma"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := checks.MapTree{"stack/main.tf": []byte(mainTF), "stack/dev.tfvars.json": []byte(tt.vars)}
			cfg := jsonStackConfig(t, "stack/dev.tfvars.json")
			a := Analyze(tree, cfg, Stacks(cfg, tree))
			if g := got(a.Findings); strings.Join(g, " ") != strings.Join(tt.want, " ") {
				t.Errorf("findings = %v, want %v\n%s", g, tt.want, messages(a.Findings))
			}
			if tt.wantMsg != "" && (len(a.Findings) == 0 || !strings.Contains(a.Findings[0].Message, tt.wantMsg)) {
				t.Errorf("message does not say %q:\n%s", tt.wantMsg, messages(a.Findings))
			}
		})
	}
}
