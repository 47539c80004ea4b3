package plan

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "terraform", "plans", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fixtureSecrets are the sensitive values in prod.json.
var fixtureSecrets = []string{"Repl1ca-S3cret", "f3rn3t-k3y", "L0ader-Pa55", "MIIEsnowflake"}

func TestParseClassifiesEveryChange(t *testing.T) {
	p, err := Parse("prod.json", readFixture(t, "prod.json"), NewStatefulSet(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		address  string
		action   Action
		reason   string
		stateful bool
		risk     Risk
		attrs    string
	}{
		{"aws_s3_bucket.mwaa", Replace, "replace_because_cannot_update", true, High, "arn,bucket,id"},
		{"aws_db_instance.orders_replica", Replace, "replace_because_tainted", true, High, "password"},
		{"aws_msk_cluster.legacy", Delete, "delete_because_no_resource_config", true, High, ""},
		{"snowflake_schema.scratch", Delete, "delete_because_no_resource_config", true, High, ""},
		{"aws_mwaa_environment.this", Update, "", true, Low, "airflow_configuration_options,max_workers"},
		{"aws_iam_role_policy.mwaa_execution", Update, "", false, Review, "policy"},
		{"aws_iam_role.conveyor_deploy", Create, "", true, Review, ""},
		{"aws_vpc_security_group_ingress_rule.orders_source_from_mwaa", Create, "", false, Review, ""},
		{"aws_cloudwatch_log_group.msk", Move, "", false, Low, ""},
		{"aws_kms_key.platform", Import, "", true, Low, ""},
		{"aws_s3_bucket_versioning.mwaa", NoOp, "", false, Low, ""},
		{"data.aws_iam_policy_document.conveyor_deploy", Read, "read_because_config_unknown", false, Low, ""},
		{"snowflake_user.loader", Update, "", false, Low, "comment,password"},
		{`aws_s3_object.dags["orders.py"]`, Create, "", false, Low, ""},
	}
	if len(p.Changes) != len(tests) {
		t.Fatalf("got %d changes, want %d: every resource change exactly once", len(p.Changes), len(tests))
	}
	byAddr := map[string]Change{}
	for _, c := range p.Changes {
		if _, dup := byAddr[c.Address]; dup {
			t.Fatalf("%s appears twice", c.Address)
		}
		byAddr[c.Address] = c
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			c, ok := byAddr[tt.address]
			if !ok {
				t.Fatalf("missing")
			}
			if c.Action != tt.action || c.ActionReason != tt.reason || c.Stateful != tt.stateful || c.Risk != tt.risk {
				t.Errorf("got action=%s reason=%q stateful=%v risk=%s, want %s %q %v %s", c.Action, c.ActionReason, c.Stateful, c.Risk, tt.action, tt.reason, tt.stateful, tt.risk)
			}
			if got := strings.Join(c.Attributes, ","); got != tt.attrs {
				t.Errorf("attributes = %q, want %q", got, tt.attrs)
			}
		})
	}
	if c := byAddr["aws_s3_bucket.mwaa"]; strings.Join(c.Actions, ",") != "delete,create" || strings.Join(c.ForcesReplacement, ",") != "bucket" {
		t.Errorf("bucket replace: actions %v, forced by %v", c.Actions, c.ForcesReplacement)
	}
	if c := byAddr["aws_db_instance.orders_replica"]; strings.Join(c.Actions, ",") != "create,delete" || strings.Join(c.SensitiveAttributes, ",") != "password" {
		t.Errorf("replica replace: actions %v, sensitive %v", c.Actions, c.SensitiveAttributes)
	}
	if c := byAddr["aws_cloudwatch_log_group.msk"]; c.PreviousAddress != "aws_cloudwatch_log_group.kafka" {
		t.Errorf("move: previous address %q", c.PreviousAddress)
	}
	if !byAddr["aws_kms_key.platform"].Importing {
		t.Error("import not flagged")
	}
	wantCounts := map[Action]int{Replace: 2, Delete: 2, Update: 3, Create: 3, Move: 1, Import: 1, NoOp: 1, Read: 1}
	for a, n := range wantCounts {
		if p.Counts[a] != n {
			t.Errorf("count %s = %d, want %d", a, p.Counts[a], n)
		}
	}
	if got := len(p.StatefulDestroys()); got != 4 {
		t.Errorf("stateful destroys = %d, want 4", got)
	}
	if risky := p.Risky(); len(risky) != 7 || risky[0].Risk != High || risky[len(risky)-1].Risk != Review {
		t.Errorf("risky items not high first: %+v", risky)
	}
	if p.FormatVersion != "1.2" || !strings.HasPrefix(p.Hash, "plan:") || len(p.Hash) != len("plan:")+64 {
		t.Errorf("format %q hash %q", p.FormatVersion, p.Hash)
	}
	out, _ := json.Marshal(p)
	for _, s := range fixtureSecrets {
		if strings.Contains(string(out), s) {
			t.Errorf("classified plan carries sensitive value %q", s)
		}
	}
}

func TestStatefulTypesConfigurable(t *testing.T) {
	s := NewStatefulSet([]string{"aws_glue_catalog_database", "!snowflake_schema"})
	p, err := Parse("prod.json", readFixture(t, "prod.json"), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if c.Address == "snowflake_schema.scratch" && (c.Stateful || c.Risk == High) {
			t.Errorf("removed type still stateful: %+v", c)
		}
	}
	if !s["aws_glue_catalog_database"] || !s["aws_s3_bucket"] {
		t.Error("added type missing or defaults lost")
	}
}

func TestHashBindsToContent(t *testing.T) {
	data := readFixture(t, "prod.json")
	base, err := Parse("prod.json", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	rcs := doc["resource_changes"].([]any)
	// Reordered changes and a new timestamp: the same plan.
	for i, j := 0, len(rcs)-1; i < j; i, j = i+1, j-1 {
		rcs[i], rcs[j] = rcs[j], rcs[i]
	}
	doc["timestamp"] = "2030-01-01T00:00:00Z"
	same, _ := json.MarshalIndent(doc, "", "    ")
	p2, err := Parse("prod.json", same, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Hash != base.Hash {
		t.Errorf("reordering changed the hash: %s vs %s", p2.Hash, base.Hash)
	}
	// A different value in one change: a different plan.
	rcs[0].(map[string]any)["change"].(map[string]any)["after"] = map[string]any{"identifier": "x"}
	diff, _ := json.Marshal(doc)
	p3, err := Parse("prod.json", diff, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p3.Hash == base.Hash {
		t.Error("a different plan has the same hash")
	}
}

func TestParseErrorsSayWhere(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "p.json: the plan is empty"},
		{"syntax", "{\n  \"format_version\": \"1.2\",\n  \"resource_changes\": [\n}", "p.json:4:"},
		{"not a plan", `{"values": {}}`, "p.json:1:1: no format_version"},
		{"future format", `{"format_version": "2.0"}`, "unsupported plan format version"},
		{"bad actions", `{"format_version": "1.2", "resource_changes": [{"address": "a.b", "type": "a", "change": {"actions": ["explode"]}}]}`, "unrecognised actions"},
		{"wrong type", `{"format_version": "1.2", "resource_changes": {"a": 1}}`, "p.json:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.json", []byte(tt.in), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestLiveTerraformPlan plans a local configuration of built-in
// terraform_data resources with the real binary and classifies its output:
// create, update, delete, both replace orders, a move, and a sensitive value.
func TestLiveTerraformPlan(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed here; the fixture plans cover the format")
	}
	dir := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cli := filepath.Join(dir, "cli.tfrc")
		_ = os.WriteFile(cli, nil, 0o644)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TF_IN_AUTOMATION=1", "TF_DATA_DIR=" + filepath.Join(dir, ".tfdata"), "TF_CLI_CONFIG_FILE=" + cli, "CHECKPOINT_DISABLE=1"}
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return out
	}
	write := func(src string) {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`
resource "terraform_data" "keep" { input = "a" }
resource "terraform_data" "update" { input = "v1" }
resource "terraform_data" "gone" { input = "x" }
resource "terraform_data" "replace_dbc" { triggers_replace = "1" }
resource "terraform_data" "replace_cbd" {
  triggers_replace = "1"
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "old_name" { input = "m" }
resource "terraform_data" "secret" { input = sensitive("hunter2-before") }
`)
	run("init", "-input=false", "-no-color")
	run("apply", "-auto-approve", "-input=false", "-no-color")
	write(`
resource "terraform_data" "keep" { input = "a" }
resource "terraform_data" "update" { input = "v2" }
resource "terraform_data" "replace_dbc" { triggers_replace = "2" }
resource "terraform_data" "replace_cbd" {
  triggers_replace = "2"
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "new_name" { input = "m" }
moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}
resource "terraform_data" "secret" { input = sensitive("hunter2-after") }
resource "terraform_data" "fresh" { input = "n" }
`)
	run("plan", "-input=false", "-no-color", "-out=plan.bin")
	out := run("show", "-json", "plan.bin")
	if !strings.Contains(string(out), "hunter2-after") {
		t.Log("terraform no longer writes sensitive values into show -json; the masking test below still applies")
	}
	p, err := Parse("live plan", out, NewStatefulSet([]string{"terraform_data"}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Action{
		"terraform_data.fresh": Create, "terraform_data.gone": Delete, "terraform_data.keep": NoOp,
		"terraform_data.new_name": Move, "terraform_data.replace_cbd": Replace, "terraform_data.replace_dbc": Replace,
		"terraform_data.secret": Update, "terraform_data.update": Update,
	}
	if len(p.Changes) != len(want) {
		t.Fatalf("got %d changes: %+v", len(p.Changes), p.Changes)
	}
	for _, c := range p.Changes {
		if want[c.Address] != c.Action {
			t.Errorf("%s: action %s, want %s", c.Address, c.Action, want[c.Address])
		}
		switch c.Address {
		case "terraform_data.replace_dbc":
			if strings.Join(c.Actions, ",") != "delete,create" || c.ActionReason != "replace_because_cannot_update" || c.Risk != High {
				t.Errorf("replace_dbc: %+v", c)
			}
		case "terraform_data.replace_cbd":
			if strings.Join(c.Actions, ",") != "create,delete" || c.ActionReason != "replace_because_cannot_update" {
				t.Errorf("replace_cbd: %+v", c)
			}
		case "terraform_data.gone":
			if c.ActionReason != "delete_because_no_resource_config" {
				t.Errorf("gone: %+v", c)
			}
		case "terraform_data.new_name":
			if c.PreviousAddress != "terraform_data.old_name" {
				t.Errorf("move: %+v", c)
			}
		case "terraform_data.secret":
			if strings.Join(c.SensitiveAttributes, ",") != "input" {
				t.Errorf("secret: sensitive attributes %v", c.SensitiveAttributes)
			}
		}
	}
	js, _ := json.Marshal(p)
	if strings.Contains(string(js), "hunter2") {
		t.Error("classified plan carries the sensitive value")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","type":"a","change":{"actions":["delete","create"]}}]}`))
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["update"],"before":{"x":1},"after":{"x":2},"after_unknown":{"y":[true]},"before_sensitive":{"x":true},"replace_paths":[["x",0]]}}]}`))
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[null]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.json", data, NewStatefulSet(nil))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		n := 0
		for _, c := range p.Counts {
			n += c
		}
		if n != len(p.Changes) || !strings.HasPrefix(p.Hash, "plan:") {
			t.Fatalf("counts %d vs %d changes, hash %q", n, len(p.Changes), p.Hash)
		}
	})
}
