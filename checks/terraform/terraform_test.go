package terraform

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/checks/terraform/plan"
	"github.com/parcelflow/conveyor/deploy/executor"
	"github.com/parcelflow/conveyor/policy"
)

func sampleTree(t *testing.T) checks.MapTree {
	t.Helper()
	tree, err := checks.ReadDir("../../testdata/sample-repo")
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func planFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "terraform", "plans", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func clone(t checks.MapTree) checks.MapTree {
	out := checks.MapTree{}
	for k, v := range t {
		out[k] = append([]byte{}, v...)
	}
	return out
}

// demoChange is the demo PR: it raises MWAA's worker ceiling and adds a DAG.
func demoChange(t *testing.T) (base, head checks.MapTree) {
	base = sampleTree(t)
	head = clone(base)
	head["infra/platform/variables.tf"] = []byte(strings.Replace(string(head["infra/platform/variables.tf"]), "default = 5", "default = 8", 1))
	head["dags/orders_extract.py"] = []byte("from airflow import DAG\n")
	return base, head
}

func run(t *testing.T, in *checks.Input) (checks.Result, Details) {
	t.Helper()
	res := checks.Run(context.Background(), New(), in)
	d, ok := res.Details.(Details)
	if !ok {
		t.Fatalf("details are %T: %s %s", res.Details, res.Title, res.Summary)
	}
	return res, d
}

func TestRunWithPlans(t *testing.T) {
	base, head := demoChange(t)
	in := checks.NewInput(base, head)
	in.Plans = map[string][]byte{"prod": planFixture(t, "prod.json"), "dev": planFixture(t, "dev.json")}
	res, d := run(t, in)

	if !d.InfrastructureChanged || len(d.Stacks) != 1 {
		t.Fatalf("infra changed %v, stacks %+v", d.InfrastructureChanged, d.Stacks)
	}
	if got := strings.Join(d.ApplyOrder, ","); got != "terraform,airflow" {
		t.Errorf("apply order = %s", got)
	}
	if len(d.ResourceChanges) != 0 {
		t.Errorf("a variable default edit changes no resource block: %+v", d.ResourceChanges)
	}

	// The JSON shape conveyor validate --format json exposes.
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Details struct {
			Plans map[string]struct {
				Hash    string           `json:"hash"`
				Changes []map[string]any `json:"changes"`
			} `json:"plans"`
		} `json:"details"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	prod := doc.Details.Plans["prod"]
	if len(prod.Changes) != 14 {
		t.Fatalf("prod changes = %d, want all 14", len(prod.Changes))
	}
	valid := map[string]bool{"create": true, "update": true, "delete": true, "replace": true, "read": true, "no-op": true, "move": true, "import": true}
	seen := map[string]bool{}
	for _, c := range prod.Changes {
		for _, k := range []string{"address", "type", "action", "action_reason", "stateful"} {
			if _, ok := c[k]; !ok {
				t.Errorf("change %v lacks %s", c["address"], k)
			}
		}
		if len(c) != 5 {
			t.Errorf("change %v has %d fields, want exactly address, type, action, action_reason, stateful", c["address"], len(c))
		}
		if !valid[c["action"].(string)] {
			t.Errorf("action %v", c["action"])
		}
		if seen[c["address"].(string)] {
			t.Errorf("%v twice", c["address"])
		}
		seen[c["address"].(string)] = true
	}
	for _, s := range []string{"Repl1ca-S3cret", "f3rn3t-k3y", "L0ader-Pa55", "MIIEsnowflake"} {
		if strings.Contains(string(raw), s) {
			t.Errorf("result carries sensitive value %q", s)
		}
	}

	count := map[policy.SignalKind]int{}
	for _, s := range res.Signals {
		count[s.Kind]++
		if s.Kind == policy.SignalStatefulDestroy && !s.High {
			t.Errorf("stateful destroy not high: %+v", s)
		}
	}
	if count[policy.SignalInfrastructure] != 1 || count[policy.SignalStatefulDestroy] != 4 || count[policy.SignalIAM] != 1 || count[policy.SignalNetwork] != 1 {
		t.Errorf("signals = %v", count)
	}
	if len(res.Approvals) != 1 {
		t.Fatalf("approvals = %+v", res.Approvals)
	}
	a := res.Approvals[0]
	if a.Name != "terraform plan prod" || strings.Join(a.Teams, ",") != "devops" || a.Subject != prod.Hash || !strings.HasPrefix(a.Subject, "plan:") {
		t.Errorf("approval = %+v (plan hash %s)", a, prod.Hash)
	}

	// Per environment, risky items first.
	s := res.Summary
	prodAt := strings.Index(s, "### prod plan")
	if prodAt < 0 || strings.Index(s, "### dev plan") > prodAt {
		t.Fatalf("environments not in promotion order:\n%s", s)
	}
	ps := s[prodAt:]
	if i, j := strings.Index(ps, "aws_s3_bucket.mwaa"), strings.Index(ps, "aws_mwaa_environment.this"); i < 0 || j < 0 || i > j {
		t.Errorf("stateful replace not listed before the plain update:\n%s", ps)
	}
	if !strings.Contains(ps, "| replace | delete | create | update |") {
		t.Errorf("no compact table:\n%s", ps)
	}
	if !strings.Contains(res.Title, "DevOps approval") {
		t.Errorf("title = %q", res.Title)
	}
	if res.Conclusion != checks.Success {
		t.Errorf("conclusion = %s", res.Conclusion)
	}
}

// TestApprovalBindsToPlan: the same plan yields the same subject; another
// plan a different one, so an approval cannot carry over.
func TestApprovalBindsToPlan(t *testing.T) {
	base, head := demoChange(t)
	subject := func(plan []byte) string {
		in := checks.NewInput(base, head)
		in.Plans = map[string][]byte{"prod": plan}
		res, _ := run(t, in)
		if len(res.Approvals) != 1 {
			t.Fatalf("approvals = %+v", res.Approvals)
		}
		return res.Approvals[0].Subject
	}
	p := planFixture(t, "prod.json")
	other := []byte(strings.Replace(string(p), "parcelflow-mwaa-prod-eu", "parcelflow-mwaa-prod-eu2", 1))
	if subject(p) != subject(append([]byte{}, p...)) || subject(p) == subject(other) {
		t.Error("approval subject does not bind to the plan's content")
	}
}

func TestRunWithoutInfraChange(t *testing.T) {
	base := sampleTree(t)
	head := clone(base)
	head["dags/orders_extract.py"] = []byte("from airflow import DAG\n")
	res, d := run(t, checks.NewInput(base, head))
	if d.InfrastructureChanged || len(d.Stacks) != 0 || len(res.Signals) != 0 || len(res.Approvals) != 0 {
		t.Errorf("a DAG-only change raised infrastructure: %+v %+v", d, res.Signals)
	}
	if res.Conclusion != checks.Success || res.Title != "No Terraform change" {
		t.Errorf("%s %q", res.Conclusion, res.Title)
	}
}

func TestBadPlanFailsWithReason(t *testing.T) {
	base, head := demoChange(t)
	in := checks.NewInput(base, head)
	in.Plans = map[string][]byte{"staging": []byte("{\n  \"format_version\": \"1.2\",\n  oops\n}")}
	res, d := run(t, in)
	if res.Conclusion != checks.Failure || !strings.Contains(d.Plans["staging"].Error, "plan for staging:3:") {
		t.Errorf("conclusion %s, error %q", res.Conclusion, d.Plans["staging"].Error)
	}
}

// TestRemovedStatefulBlockWithoutPlan: without a plan, deleting the block of
// a bucket still raises a high-risk signal; a moved block does not.
func TestRemovedStatefulBlockWithoutPlan(t *testing.T) {
	base := sampleTree(t)
	head := clone(base)
	mwaa := string(head["infra/platform/mwaa.tf"])
	head["infra/platform/mwaa.tf"] = []byte(strings.Replace(mwaa, "resource \"aws_s3_bucket\" \"mwaa\" {\n  bucket = local.mwaa_bucket_name\n}\n", "", 1))
	res, d := run(t, checks.NewInput(base, head))
	var high []policy.Signal
	for _, s := range res.Signals {
		if s.Kind == policy.SignalStatefulDestroy && s.High {
			high = append(high, s)
		}
	}
	if len(high) != 1 || !strings.Contains(high[0].Reason, "aws_s3_bucket.mwaa") {
		t.Errorf("signals = %+v, resource changes %+v", res.Signals, d.ResourceChanges)
	}

	head["infra/platform/mwaa.tf"] = []byte(strings.Replace(mwaa, "resource \"aws_s3_bucket\" \"mwaa\" {", "resource \"aws_s3_bucket\" \"dags\" {", 1) + "\nmoved {\n  from = aws_s3_bucket.mwaa\n  to   = aws_s3_bucket.dags\n}\n")
	res, _ = run(t, checks.NewInput(base, head))
	for _, s := range res.Signals {
		if s.Kind == policy.SignalStatefulDestroy {
			t.Errorf("a moved bucket raised %+v", s)
		}
	}
}

func TestIgnoreAndSeverityFromConfig(t *testing.T) {
	base := sampleTree(t)
	cfg := string(base[".conveyor.yml"])
	cfg = strings.Replace(cfg, "    required_tags: [owner, env, cost-center]\n", `    required_tags: [owner, env, cost-center, data-classification]
    rules:
      TF-KMS-001: off
      TF-TAGS-001: failure
    ignore:
      - rule: TF-S3-002
        paths: ["infra/platform/legacy.tf"]
        reason: the legacy bucket is encrypted by the account default and is being retired
`, 1)
	base[".conveyor.yml"] = []byte(cfg)
	head := clone(base)
	head["infra/platform/legacy.tf"] = []byte(`resource "aws_s3_bucket" "legacy" {
  bucket = "parcelflow-legacy-${var.env}"
}

resource "aws_s3_bucket_versioning" "legacy" {
  bucket = aws_s3_bucket.legacy.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "legacy" {
  bucket                  = aws_s3_bucket.legacy.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_kms_key" "legacy" {
  description = "legacy"
}
`)
	in := checks.NewInput(base, head)
	if in.ConfigErr != nil {
		t.Fatal(in.ConfigErr)
	}
	res, d := run(t, in)
	rules := map[string]int{}
	for _, f := range d.Findings {
		rules[f.Rule]++
		if f.Rule == RuleTags && f.Severity != "failure" {
			t.Errorf("severity not applied: %+v", f)
		}
	}
	if rules[RuleKMSRotation] != 0 || rules[RuleS3Encryption] != 0 {
		t.Errorf("turned-off or ignored rules fired: %v", rules)
	}
	if rules[RuleTags] == 0 || res.Conclusion != checks.Failure {
		t.Errorf("the added required tag should fail every taggable resource: %v, %s", rules, res.Conclusion)
	}
	for _, a := range res.Annotations {
		if a.Path == "" || a.StartLine < 1 || a.Rule == "" {
			t.Errorf("annotation not located: %+v", a)
		}
	}
}

// TestExecutorProducesPlans runs the component's plan command per
// environment with the local executor, reading the plan from the file the
// command writes or, failing that, from its output.
func TestExecutorProducesPlans(t *testing.T) {
	tests := []struct {
		name    string
		command string
		wantErr string
	}{
		{"plan file", `cp "plans/$CONVEYOR_ENV.json" "$CONVEYOR_PLAN_FILE"`, ""},
		{"stdout", `echo "planning $CONVEYOR_ENV" >&2; tr -d '\n' < "plans/$CONVEYOR_ENV.json"; echo`, ""},
		{"failing plan", `echo "Error: No valid credential sources found" >&2; exit 1`, "exited with 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, head := demoChange(t)
			cfg := strings.Replace(string(base[".conveyor.yml"]), "    paths: [\"infra/**\"]\n", "    paths: [\"infra/**\"]\n    commands:\n      timeout: 1m\n      plan: |\n        "+tt.command+"\n", 1)
			base[".conveyor.yml"] = []byte(cfg)
			dir := t.TempDir()
			if err := checks.Materialize(head, dir); err != nil {
				t.Fatal(err)
			}
			_ = os.MkdirAll(filepath.Join(dir, "plans"), 0o755)
			for _, env := range []string{"dev", "staging"} {
				_ = os.WriteFile(filepath.Join(dir, "plans", env+".json"), planFixture(t, "dev.json"), 0o644)
			}
			_ = os.WriteFile(filepath.Join(dir, "plans", "prod.json"), planFixture(t, "prod.json"), 0o644)
			in := checks.NewInput(base, head)
			if in.ConfigErr != nil {
				t.Fatal(in.ConfigErr)
			}
			in.Executor, in.HeadDir = &executor.Local{}, dir
			res, d := run(t, in)
			if len(d.Plans) != 3 {
				t.Fatalf("plans for %d environments", len(d.Plans))
			}
			for env, p := range d.Plans {
				if p.Source != "executor" {
					t.Errorf("%s: source %s", env, p.Source)
				}
				if tt.wantErr != "" {
					if !strings.Contains(p.Error, tt.wantErr) || !strings.Contains(p.Error, "No valid credential") {
						t.Errorf("%s: error %q", env, p.Error)
					}
					continue
				}
				if p.Error != "" {
					t.Errorf("%s: %s", env, p.Error)
				}
			}
			if tt.wantErr != "" {
				if res.Conclusion != checks.Failure {
					t.Errorf("conclusion %s", res.Conclusion)
				}
				return
			}
			if len(d.Plans["prod"].StatefulDestroys) != 4 || len(res.Approvals) != 1 {
				t.Errorf("prod destroys %v, approvals %+v", d.Plans["prod"].StatefulDestroys, res.Approvals)
			}
		})
	}
}

// An infrastructure change needs its owners' approval: from the repo's
// ownership rules when they give the files to them, else from the check.
func TestInfrastructureNeedsItsOwners(t *testing.T) {
	base, head := demoChange(t)
	cfg := string(base[".conveyor.yml"])
	start, end := strings.Index(cfg, "  rules:\n"), strings.Index(cfg, "# command → environment")
	if start < 0 || end < start {
		t.Fatal("the sample config changed shape: no ownership rules block")
	}
	withoutRules := cfg[:start] + "\n" + cfg[end:]
	onlyPipelines := strings.Replace(cfg, `paths: ["infra/**", ".github/workflows/**"]`, `paths: [".github/workflows/**"]`, 1)
	tests := []struct {
		name   string
		config string
		want   string // the infrastructure requirement's teams; "" for none
	}{
		{"a rule gives infra/ to devops", cfg, ""},
		{"no ownership rules", withoutRules, "devops"},
		{"the rules leave the stack out", onlyPipelines, "devops"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, h := clone(base), clone(head)
			b[".conveyor.yml"], h[".conveyor.yml"] = []byte(tc.config), []byte(tc.config)
			res, _ := run(t, checks.NewInput(b, h))
			var got []string
			for _, a := range res.Approvals {
				if a.Name == "infrastructure" {
					got = append(got, strings.Join(a.Teams, ","))
					if a.Subject != "" || !strings.Contains(a.Reason, "infra/platform/variables.tf") {
						t.Errorf("requirement = %+v", a)
					}
				}
			}
			if strings.Join(got, ";") != tc.want {
				t.Fatalf("infrastructure requirement teams = %v, want %q", got, tc.want)
			}
		})
	}
}

// A deposed object and a forget still list as one entry each, with an
// address of their own and an action from the documented set.
func TestListedChangesOfDeposedAndForget(t *testing.T) {
	const doc = `{"format_version":"1.2","terraform_version":"1.11.4","resource_changes":[
 {"address":"aws_db_instance.source","mode":"managed","type":"aws_db_instance","name":"source","change":{"actions":["create"],"before":null,"after":{}}},
 {"address":"aws_db_instance.source","mode":"managed","type":"aws_db_instance","name":"source","deposed":"00000001","change":{"actions":["delete"],"before":{},"after":null}},
 {"address":"aws_s3_bucket.legacy","mode":"managed","type":"aws_s3_bucket","name":"legacy","change":{"actions":["forget"],"before":{},"after":null}}
]}`
	pd := classify("prod", "file", []byte(doc), plan.NewStatefulSet(nil))
	if pd.Error != "" {
		t.Fatal(pd.Error)
	}
	valid := map[plan.Action]bool{plan.Create: true, plan.Update: true, plan.Delete: true, plan.Replace: true, plan.Read: true, plan.NoOp: true, plan.Move: true, plan.Import: true}
	got := map[string]PlanChange{}
	for _, c := range pd.Changes {
		if _, dup := got[c.Address]; dup {
			t.Errorf("address %s listed twice", c.Address)
		}
		if !valid[c.Action] {
			t.Errorf("%s: action %q is not in the documented set", c.Address, c.Action)
		}
		got[c.Address] = c
	}
	if len(got) != 3 {
		t.Fatalf("changes = %+v, want 3", pd.Changes)
	}
	if c := got["aws_db_instance.source (deposed 00000001)"]; c.Action != plan.Delete || !c.Stateful {
		t.Errorf("deposed object = %+v, want a stateful delete", c)
	}
	if c := got["aws_s3_bucket.legacy"]; c.Action != plan.NoOp || !strings.Contains(c.ActionReason, "forget") {
		t.Errorf("forget = %+v, want a no-op whose reason says forget", c)
	}
}
