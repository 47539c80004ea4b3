package terraform

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// secretNameRE matches attribute and variable names that hold secrets.
var secretNameRE = regexp.MustCompile(`(?i)(^|[._-])(password|passwd|secret|token|private_key|secret_key|access_key|api_key|client_secret)(_wo)?$`)

// secretValueRE matches values that are secrets whatever they are called.
var secretValueRE = regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----|\bghp_[A-Za-z0-9]{36}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}`)

// secretRules finds secrets written into .tf and .tfvars files. Messages name
// where the secret is, never its value.
func secretRules(files []*source) []Finding {
	var out []Finding
	for _, f := range files {
		for i, line := range bytes.Split(f.src, []byte("\n")) {
			if secretValueRE.Match(line) {
				out = append(out, atLine(RuleSecret, f.path, i+1, "this line carries a credential (an access key, private key or token); revoke it, then read it from a secret store or a variable marked sensitive"))
			}
		}
		if f.body == nil {
			continue
		}
		out = append(out, secretsInBody(f.body, "")...)
		for _, b := range blocksOf(f.body, "variable") {
			if len(b.Labels) == 1 && secretNameRE.MatchString(b.Labels[0]) {
				if a, ok := b.Body.Attributes["default"]; ok {
					if s, ok := exprLiteralString(a.Expr); ok && s != "" {
						out = append(out, at(RuleSecret, a.SrcRange, fmt.Sprintf("variable %q has a hard-coded default; give it no default, mark it sensitive and pass it from a secret store", b.Labels[0])))
					}
				}
			}
		}
	}
	return out
}

func secretsInBody(b *hclsyntax.Body, where string) []Finding {
	var out []Finding
	for _, name := range sortedAttrNames(b) {
		a := b.Attributes[name]
		if secretNameRE.MatchString(name) {
			if s, ok := exprLiteralString(a.Expr); ok && s != "" {
				out = append(out, at(RuleSecret, a.SrcRange, fmt.Sprintf("%s%q is a hard-coded secret; read it from AWS Secrets Manager or SSM (or a sensitive variable fed by the executor)", where, name)))
				continue
			}
		}
		out = append(out, secretsInExpr(a.Expr, where)...)
	}
	for _, blk := range b.Blocks {
		w := where
		if blk.Type == "resource" || blk.Type == "data" || blk.Type == "provider" || blk.Type == "module" {
			w = strings.TrimPrefix(strings.Join(append([]string{blk.Type}, blk.Labels...), "."), "resource.") + ": "
		}
		out = append(out, secretsInBody(blk.Body, w)...)
	}
	return out
}

func secretsInExpr(e hclsyntax.Expression, where string) []Finding {
	var out []Finding
	switch x := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		for _, item := range x.Items {
			if k, ok := objectKey(item.KeyExpr); ok && secretNameRE.MatchString(k) {
				if s, ok := exprLiteralString(item.ValueExpr); ok && s != "" {
					out = append(out, at(RuleSecret, item.ValueExpr.Range(), fmt.Sprintf("%s%q is a hard-coded secret; read it from a secret store", where, k)))
					continue
				}
			}
			out = append(out, secretsInExpr(item.ValueExpr, where)...)
		}
	case *hclsyntax.TupleConsExpr:
		for _, v := range x.Exprs {
			out = append(out, secretsInExpr(v, where)...)
		}
	case *hclsyntax.FunctionCallExpr:
		for _, v := range x.Args {
			out = append(out, secretsInExpr(v, where)...)
		}
	}
	return out
}

var arnAccountRE = regexp.MustCompile(`arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):`)
var accountIDRE = regexp.MustCompile(`"(\d{12})"`)

// stackEnv is what the account rule knows about a stack's environments.
type stackEnv struct {
	// served are the environments the stack serves.
	served []string
	// accounts maps account ID → environment names using it.
	accounts map[string][]string
}

// accountRules finds other environments' account IDs in a stack: provider
// allowed_account_ids, assume_role and backend role ARNs, ARN literals. In a
// stack shared by several environments, any one environment's account in the
// .tf files is a finding too: it belongs in that environment's var file.
// forbidden_account_ids is the opposite guard and may name any account.
func accountRules(files []*source, varFileEnv map[string]string, se stackEnv) []Finding {
	if len(se.served) == 0 || len(se.accounts) == 0 {
		return nil
	}
	var out []Finding
	for _, f := range files {
		fileEnv, isVarFile := varFileEnv[f.path]
		for i, line := range strings.Split(string(f.src), "\n") {
			t := strings.TrimSpace(line)
			if strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") || strings.HasPrefix(strings.TrimPrefix(t, `"`), "forbidden_account_ids") {
				continue
			}
			ids := map[string]bool{}
			for _, m := range arnAccountRE.FindAllStringSubmatch(line, -1) {
				ids[m[1]] = true
			}
			for _, m := range accountIDRE.FindAllStringSubmatch(line, -1) {
				ids[m[1]] = true
			}
			for _, id := range sortedSet(ids) {
				envs, known := se.accounts[id]
				if !known {
					continue // a tooling or partner account, not an environment's
				}
				var msg string
				switch {
				case isVarFile && !containsAny(envs, fileEnv):
					msg = fmt.Sprintf("account %s belongs to %s, but this is %s's var file", id, strings.Join(envs, "/"), fileEnv)
				case isVarFile:
					continue
				case !containsAll(se.served, envs):
					msg = fmt.Sprintf("account %s belongs to %s, but this stack serves %s", id, strings.Join(envs, "/"), strings.Join(se.served, ", "))
				case len(se.served) > 1:
					msg = fmt.Sprintf("account %s (%s) is written into a stack shared by %s; the other environments would point at it too. Move it into the var files", id, strings.Join(envs, "/"), strings.Join(se.served, ", "))
				default:
					continue
				}
				out = append(out, atLine(RuleAccount, f.path, i+1, msg))
			}
		}
	}
	return out
}

func containsAny(xs []string, x string) bool { return contains(xs, x) }

func containsAll(set, xs []string) bool {
	for _, x := range xs {
		if !contains(set, x) {
			return false
		}
	}
	return true
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var registrySourceRE = regexp.MustCompile(`^([a-z0-9.-]+\.[a-z]{2,}/)?[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+(//.*)?$`)
var exactVersionRE = regexp.MustCompile(`^=?\s*v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$`)
var pinnedRefRE = regexp.MustCompile(`^(v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?|[0-9a-f]{40})$`)

// moduleRules finds module calls not pinned to one version.
func moduleRules(m *module) []Finding {
	var out []Finding
	for _, mc := range m.modules {
		name := "module." + strings.Join(mc.block.Labels, ".")
		srcAttr := mc.block.Body.Attributes["source"]
		src, ok := literalString(srcAttr)
		if !ok || strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") {
			continue
		}
		switch {
		case registrySourceRE.MatchString(src):
			va, has := mc.block.Body.Attributes["version"]
			v, lit := literalString(va)
			switch {
			case !has:
				out = append(out, at(RuleModulePin, srcAttr.SrcRange, fmt.Sprintf("%s takes %s from the registry without a version; the next release would apply unreviewed", name, src)))
			case lit && !exactVersionRE.MatchString(strings.TrimSpace(v)):
				out = append(out, at(RuleModulePin, va.SrcRange, fmt.Sprintf("%s accepts a version range %q; pin one version (\"5.8.1\") so a plan is reproducible", name, v)))
			}
		case strings.HasPrefix(src, "git::") || strings.HasPrefix(src, "github.com/") || strings.HasPrefix(src, "bitbucket.org/") || strings.HasPrefix(src, "hg::"):
			ref := ""
			if i := strings.Index(src, "ref="); i >= 0 {
				ref = src[i+len("ref="):]
				if j := strings.IndexAny(ref, "&/"); j >= 0 {
					ref = ref[:j]
				}
			}
			if !pinnedRefRE.MatchString(ref) {
				why := "no ?ref="
				if ref != "" {
					why = fmt.Sprintf("ref %q, a branch", ref)
				}
				out = append(out, at(RuleModulePin, srcAttr.SrcRange, fmt.Sprintf("%s takes its source from git with %s; pin a tag or commit", name, why)))
			}
		}
	}
	return out
}

// taggable reports AWS resource types that take tags and that DevOps
// accounts cost and ownership by.
func taggable(t string) bool {
	switch t {
	case "aws_s3_bucket", "aws_mwaa_environment", "aws_msk_cluster", "aws_msk_serverless_cluster",
		"aws_db_instance", "aws_rds_cluster", "aws_db_subnet_group", "aws_iam_role", "aws_iam_policy",
		"aws_kms_key", "aws_security_group", "aws_vpc", "aws_subnet", "aws_dynamodb_table",
		"aws_redshift_cluster", "aws_lambda_function", "aws_sqs_queue", "aws_sns_topic",
		"aws_cloudwatch_log_group", "aws_secretsmanager_secret", "aws_instance", "aws_lb",
		"aws_ecs_cluster", "aws_ecs_service", "aws_ecr_repository", "aws_glue_job", "aws_kinesis_stream",
		"aws_efs_file_system", "aws_elasticache_cluster", "aws_route_table", "aws_internet_gateway",
		"aws_nat_gateway", "aws_eip", "aws_vpc_endpoint", "aws_codebuild_project", "aws_sfn_state_machine":
		return true
	}
	return false
}

// providerTags maps a provider configuration ("aws", "aws.replica") to the
// keys of its default_tags; a nil set means they cannot be known statically.
type providerTags map[string]map[string]bool

// defaultTags returns the default tags of m's aws providers, starting from
// those it inherits from its caller (nil for a root module). A module that
// configures a provider itself overrides what it inherits.
func defaultTags(m *module, ev *evaluator, inherited providerTags) providerTags {
	defaults := providerTags{}
	for k, v := range inherited {
		defaults[k] = v
	}
	for _, p := range m.providers {
		if len(p.block.Labels) != 1 || p.block.Labels[0] != "aws" {
			continue
		}
		alias := "aws"
		if a, ok := ev.attr(p.block.Body, "alias").(string); ok {
			alias = "aws." + a
		}
		keys := map[string]bool{}
		for _, dt := range blocksOf(p.block.Body, "default_tags") {
			switch v := ev.attr(dt.Body, "tags").(type) {
			case map[string]any:
				for k := range v {
					keys[k] = true
				}
			case unknown:
				keys = nil
			}
			if keys == nil {
				break
			}
		}
		defaults[alias] = keys
	}
	return defaults
}

// tagRules finds taggable resources missing required tags, counting the
// provider's default_tags. Unknown tags (a variable without a value) pass.
func tagRules(m *module, ev *evaluator, required []string, defaults providerTags) []Finding {
	var out []Finding
	for _, r := range m.resources {
		if r.data || !taggable(r.typ) {
			continue
		}
		provider := "aws"
		if a, ok := r.block.Body.Attributes["provider"]; ok {
			if ts := refs(a.Expr); len(ts) == 1 {
				provider = strings.Join(traversalNames(ts[0]), ".")
			}
		}
		have := map[string]bool{}
		if d, ok := defaults[provider]; ok {
			if d == nil {
				continue
			}
			for k := range d {
				have[k] = true
			}
		}
		rng := r.block.DefRange()
		if a, ok := r.block.Body.Attributes["tags"]; ok {
			rng = a.SrcRange
			switch v := ev.value(a.Expr).(type) {
			case map[string]any:
				for k := range v {
					have[k] = true
				}
			case unknown:
				continue
			}
		}
		var missing []string
		for _, t := range required {
			if !have[t] {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			out = append(out, at(RuleTags, rng, fmt.Sprintf("%s is missing required tags %s (set them on the resource or in the provider's default_tags)", r.addr(), quoteList(missing))))
		}
	}
	return out
}

// syntaxFindings turns parse errors into findings.
func syntaxFindings(diags hcl.Diagnostics) []Finding {
	var out []Finding
	for _, d := range diags {
		if d.Severity != hcl.DiagError || d.Subject == nil {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		out = append(out, at(RuleSyntax, *d.Subject, msg))
	}
	return out
}
