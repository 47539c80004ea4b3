package config

import (
	"strings"
	"testing"
)

func TestTerraformSettingsErrorsAreLocated(t *testing.T) {
	envs := "environments:\n  - {name: dev, aws_account_id: \"111111111111\"}\n  - {name: prod, aws_account_id: \"333333333333\"}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown stack env", "components:\n  - name: infra\n    kind: terraform\n    paths: [infra/**]\n    stacks:\n      - path: infra/dev\n        environment: qa\n" + envs,
			".conveyor.yml:6:9: components[0].stacks[0].environment: unknown environment \"qa\""},
		{"unknown var file env", "components:\n  - name: infra\n    kind: terraform\n    paths: [infra/**]\n    stacks:\n      - path: infra/platform\n        var_files: {qa: infra/platform/env/qa.tfvars}\n" + envs,
			".conveyor.yml:6:9: components[0].stacks[0].var_files.qa: unknown environment"},
		{"var file not tfvars", "components:\n  - name: infra\n    kind: terraform\n    paths: [infra/**]\n    stacks:\n      - path: infra/platform\n        var_files: {dev: infra/platform/env/dev.yaml}\n" + envs,
			"expected a .tfvars file"},
		{"both env and var files", "components:\n  - name: infra\n    kind: terraform\n    paths: [infra/**]\n    stacks:\n      - path: infra/platform\n        environment: dev\n        var_files: {dev: infra/platform/env/dev.tfvars}\n" + envs,
			"not both"},
		{"stack outside repo", "components:\n  - name: infra\n    kind: terraform\n    paths: [infra/**]\n    stacks:\n      - path: ../elsewhere\n" + envs,
			"must be relative to the repo root and inside it"},
		{"empty stack path", "components:\n  - name: infra\n    kind: terraform\n    paths: [infra/**]\n    stacks:\n      - environment: dev\n" + envs,
			"components[0].stacks[0].path: a stack needs the path"},
		{"duplicate stack", "components:\n  - name: infra\n    kind: terraform\n    paths: [infra/**]\n    stacks:\n      - {path: infra/dev, environment: dev}\n      - {path: infra/dev/, environment: prod}\n" + envs,
			"components[0].stacks[1].path: stack \"infra/dev/\" is already declared"},
		{"bad stateful type", "checks:\n  terraform:\n    stateful_types: [aws_s3_bucket, S3 Bucket]\n",
			".conveyor.yml:3:5: checks.terraform.stateful_types[1]: expected a Terraform resource type"},
		{"bad tag", "checks:\n  terraform:\n    required_tags: [owner, \"\"]\n",
			"checks.terraform.required_tags[1]"},
		{"unknown key", "checks:\n  terraform:\n    required_tag: [owner]\n",
			".conveyor.yml:3:5: checks.terraform.required_tag: unknown key"},
		{"misspelt rule switch", "checks:\n  terraform:\n    rules:\n      TF-KMS-01: off\n",
			`.conveyor.yml:3:5: checks.terraform.rules.TF-KMS-01: unknown rule "TF-KMS-01" (known: TF-SYNTAX, TF-IAM-001,`},
		{"known list names every rule", "checks:\n  terraform:\n    rules: {tf-tags-001: warning}\n",
			"TF-MODULE-001, TF-TAGS-001)"},
		{"misspelt ignore", "checks:\n  terraform:\n    required_tags: [owner]\n    ignore:\n      - {rule: TF-S3-02, paths: [infra/legacy/**], reason: retiring}\n",
			`.conveyor.yml:3:5: checks.terraform.ignore[0].rule: unknown rule "TF-S3-02"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRepo(".conveyor.yml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestTerraformRuleSettingsAccepted: every known rule may be switched,
// and "*" may be ignored.
func TestTerraformRuleSettingsAccepted(t *testing.T) {
	var b strings.Builder
	b.WriteString("checks:\n  terraform:\n    rules:\n")
	for _, id := range TerraformRuleIDs() {
		b.WriteString("      " + id + ": warning\n")
	}
	b.WriteString("    ignore:\n      - {rule: \"*\", paths: [infra/legacy/**], reason: retiring}\n      - {rule: TF-KMS-001, paths: [infra/keys/**], reason: imported keys}\n")
	if _, err := ParseRepo(".conveyor.yml", []byte(b.String())); err != nil {
		t.Fatal(err)
	}
}

func TestTerraformSettingsDefaults(t *testing.T) {
	cfg, err := ParseRepo(".conveyor.yml", []byte("checks:\n  terraform:\n    stateful_types: [aws_glue_catalog_database, \"!snowflake_table\"]\n    approvers: [devops, dba]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Checks.Terraform.Tags(), ","); got != "owner,env,cost-center" {
		t.Errorf("default tags = %s", got)
	}
	st := TerraformStack{VarFiles: map[string]string{"prod": "p.tfvars", "dev": "d.tfvars"}}
	if got := strings.Join(st.Environments(cfg), ","); got != "dev,prod" {
		t.Errorf("environments in chain order = %s", got)
	}
}
