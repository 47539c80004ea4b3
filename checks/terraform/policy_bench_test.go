package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcelflow/conveyor/checks"
	"github.com/parcelflow/conveyor/config"
)

// FuzzPolicy runs the whole static policy on arbitrary .tf and .tfvars
// content: it must never panic, and every finding must be located.
func FuzzPolicy(f *testing.F) {
	_ = filepath.WalkDir(filepath.Join("..", "..", "testdata", "terraform", "rules"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".tf") {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data, []byte(`env = "dev"`))
			}
		}
		return nil
	})
	f.Add([]byte(`resource "aws_iam_policy" "p" { policy = jsonencode({Statement = {Effect = "Allow", Action = "*", Resource = "*"}}) }`), []byte(""))
	f.Add([]byte("resource \"aws_iam_policy\" \"p\" {\n policy = <<EOF\n{\"Statement\": [{\"Action\": \"${x}\"}]}\nEOF\n}\n"), []byte("a = {password = \"x\"}"))
	f.Add([]byte(`locals { a = local.b, b = local.a } resource "aws_s3_bucket" "b" { tags = merge(local.a, var.t) }`), []byte(`t = 1`))
	fuzzStack(f, "main.tf", "dev.tfvars")
}

// fuzzStack analyzes one stack of a main file and a var file, named with
// the syntax's extensions, built from the fuzzer's two inputs: the policy
// must never panic, and every finding must be located.
func fuzzStack(f *testing.F, mainFile, varFile string) {
	cfg, err := config.ParseRepo(".conveyor.yml", []byte(`components:
  - name: infra
    kind: terraform
    paths: ["stack/**"]
    stacks:
      - path: stack
        var_files: {dev: stack/`+varFile+`}
environments:
  - {name: dev, aws_account_id: "111111111111"}
  - {name: prod, aws_account_id: "333333333333"}
`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tf, tfvars []byte) {
		tree := checks.MapTree{"stack/" + mainFile: tf, "stack/" + varFile: tfvars}
		a := Analyze(tree, cfg, Stacks(cfg, tree))
		for _, fd := range a.Findings {
			if fd.Path == "" || fd.Rule == "" || fd.Message == "" || fd.Severity == "" {
				t.Fatalf("unlocated finding %+v", fd)
			}
		}
		_ = DiffResources(checks.MapTree{}, tree, Stack{Path: "stack"})
	})
}

// benchStack writes a stack of n resources in the shapes of the platform
// stack: buckets with companions, IAM roles and policies, security groups,
// KMS keys, MSK clusters.
func benchStack(i, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "provider \"aws\" {\n  region = var.region\n  allowed_account_ids = [var.aws_account_id]\n  default_tags {\n    tags = local.tags\n  }\n}\nvariable \"region\" {\n  default = \"eu-west-1\"\n}\nvariable \"aws_account_id\" {}\nvariable \"env\" {}\nlocals {\n  tags = { owner = \"devops\", env = var.env, \"cost-center\" = \"data-platform\" }\n}\n")
	for r := 0; r < n; {
		k := r
		fmt.Fprintf(&b, `
resource "aws_s3_bucket" "b%[1]d" {
  bucket = "parcelflow-%[2]d-%[1]d-${var.env}"
}
resource "aws_s3_bucket_versioning" "b%[1]d" {
  bucket = aws_s3_bucket.b%[1]d.id
  versioning_configuration {
    status = "Enabled"
  }
}
resource "aws_s3_bucket_server_side_encryption_configuration" "b%[1]d" {
  bucket = aws_s3_bucket.b%[1]d.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}
resource "aws_s3_bucket_public_access_block" "b%[1]d" {
  bucket                  = aws_s3_bucket.b%[1]d.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_iam_role" "r%[1]d" {
  name = "pipeline-%[1]d"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "airflow-env.amazonaws.com" } }]
  })
}
data "aws_iam_policy_document" "p%[1]d" {
  statement {
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.b%[1]d.arn}/dags/*"]
  }
}
resource "aws_iam_role_policy" "p%[1]d" {
  role   = aws_iam_role.r%[1]d.id
  policy = data.aws_iam_policy_document.p%[1]d.json
}
resource "aws_security_group" "s%[1]d" {
  name   = "sg-%[1]d"
  vpc_id = "vpc-0d1e2f3a4b5c6d7e8"
  ingress {
    from_port       = 9098
    to_port         = 9098
    protocol        = "tcp"
    security_groups = ["sg-0123456789abcdef0"]
  }
}
resource "aws_kms_key" "k%[1]d" {
  enable_key_rotation = true
}
resource "aws_msk_cluster" "m%[1]d" {
  cluster_name           = "events-%[1]d"
  kafka_version          = "3.6.0"
  number_of_broker_nodes = 3
  broker_node_group_info {
    instance_type   = "kafka.t3.small"
    client_subnets  = ["subnet-0a1", "subnet-0b2", "subnet-0c3"]
    security_groups = [aws_security_group.s%[1]d.id]
  }
}
`, k, i)
		r += 10
	}
	return b.String()
}

// benchRepo is 50 stacks of 40 resources, each with dev, staging and prod var files.
func benchRepo(b *testing.B) (checks.MapTree, *config.RepoConfig, []Stack) {
	tree := checks.MapTree{}
	var yml strings.Builder
	yml.WriteString("components:\n  - name: infra\n    kind: terraform\n    owner: devops\n    paths: [\"infra/**\"]\n    stacks:\n")
	for i := 0; i < 50; i++ {
		dir := fmt.Sprintf("infra/stack%02d", i)
		tree[dir+"/main.tf"] = []byte(benchStack(i, 40))
		fmt.Fprintf(&yml, "      - path: %s\n        var_files:\n", dir)
		for j, env := range []string{"dev", "staging", "prod"} {
			tree[fmt.Sprintf("%s/env/%s.tfvars", dir, env)] = []byte(fmt.Sprintf("env = %q\naws_account_id = \"%d\"\n", env, 111111111111*(j+1)))
			fmt.Fprintf(&yml, "          %s: %s/env/%s.tfvars\n", env, dir, env)
		}
	}
	yml.WriteString("environments:\n  - {name: dev, aws_account_id: \"111111111111\"}\n  - {name: staging, aws_account_id: \"222222222222\"}\n  - {name: prod, aws_account_id: \"333333333333\"}\n")
	cfg, err := config.ParseRepo(".conveyor.yml", []byte(yml.String()))
	if err != nil {
		b.Fatal(err)
	}
	return tree, cfg, Stacks(cfg, tree)
}

// BenchmarkPolicy50Stacks checks 50 stacks of 40 resources, each in three
// environments; the target is 500 ms per run.
func BenchmarkPolicy50Stacks(b *testing.B) {
	tree, cfg, stacks := benchRepo(b)
	if a := Analyze(tree, cfg, stacks); len(a.Findings) != 0 || len(a.Stacks) != 50 || a.Stacks[0].Resources != 40 {
		b.Fatalf("the bench repo must be clean and full: %d findings, %d stacks, %d resources\n%s", len(a.Findings), len(a.Stacks), a.Stacks[0].Resources, messages(a.Findings[:min(5, len(a.Findings))]))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		Analyze(tree, cfg, stacks)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(ms, "ms_per_run")
	b.ReportMetric(ms/500, "ratio_vs_target")
}
