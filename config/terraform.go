package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// TerraformSettings configures the conveyor/terraform check.
type TerraformSettings struct {
	Pos          Pos `yaml:"-"`
	RuleSettings `yaml:",inline"`
	// RequiredTags must be set on every taggable resource, directly or through
	// the provider's default_tags. Empty means owner, env and cost-center.
	RequiredTags []string `yaml:"required_tags"`
	// StatefulTypes adjusts the resource types whose delete or replace is high
	// risk: a type is added to Conveyor's defaults, and "!type" removes one.
	StatefulTypes []string `yaml:"stateful_types"`
	// Approvers are the teams that approve a plan destroying stateful
	// resources; empty means the terraform component's owner, else devops.
	Approvers []string `yaml:"approvers"`
}

// TerraformRuleIDs returns the rule IDs of the conveyor/terraform check, in
// the order its docs list them. The check defines the rules; the IDs are
// repeated here because the config is validated before any check runs (and
// config cannot import checks). checks/terraform tests that the two agree.
func TerraformRuleIDs() []string {
	return []string{
		"TF-SYNTAX", "TF-IAM-001", "TF-IAM-002", "TF-IAM-003", "TF-IAM-004", "TF-IAM-005",
		"TF-NET-001", "TF-NET-002", "TF-S3-001", "TF-S3-002", "TF-S3-003", "TF-DB-001", "TF-DB-002",
		"TF-KMS-001", "TF-SECRET-001", "TF-ACCOUNT-001", "TF-MODULE-001", "TF-TAGS-001",
	}
}

// Tags returns the required tags, defaulted.
func (s TerraformSettings) Tags() []string {
	if len(s.RequiredTags) == 0 {
		return []string{"owner", "env", "cost-center"}
	}
	return s.RequiredTags
}

// TerraformStack is one Terraform root module of a terraform component.
type TerraformStack struct {
	Pos  Pos    `yaml:"-"`
	Path string `yaml:"path"`
	// Environment pins the stack to one environment (a stack per env folder).
	Environment string `yaml:"environment"`
	// VarFiles maps environment → tfvars file for stacks shared by environments.
	VarFiles map[string]string `yaml:"var_files"`
}

// Environments returns the environments the stack serves, sorted by the
// promotion chain; nil when the stack names none.
func (s TerraformStack) Environments(cfg *RepoConfig) []string {
	if s.Environment != "" {
		return []string{s.Environment}
	}
	var out []string
	for _, e := range cfg.Environments {
		if _, ok := s.VarFiles[e.Name]; ok {
			out = append(out, e.Name)
		}
	}
	return out
}

var resourceTypeRE = regexp.MustCompile(`^!?[a-z][a-z0-9]*_[a-z0-9_]+$`)
var tagNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:/=+@ -]{1,128}$`)

func (s TerraformSettings) validate(cfg *RepoConfig) Errors {
	var errs Errors
	add := func(p Pos, key, format string, args ...any) {
		errs = append(errs, &Error{File: cfg.File, Line: p.Line, Column: p.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for i, t := range s.RequiredTags {
		if !tagNameRE.MatchString(t) {
			add(s.Pos, fmt.Sprintf("checks.terraform.required_tags[%d]", i), "%q is not a valid AWS tag key", t)
		}
	}
	for i, t := range s.StatefulTypes {
		if !resourceTypeRE.MatchString(t) {
			add(s.Pos, fmt.Sprintf("checks.terraform.stateful_types[%d]", i), "expected a Terraform resource type like aws_s3_bucket (or !aws_s3_bucket to drop a default), got %q", t)
		}
	}
	// A rule switch or ignore that names no rule would do nothing, silently:
	// "TF-KMS-01: off" must not leave TF-KMS-001 on without a word.
	known := map[string]bool{}
	for _, id := range TerraformRuleIDs() {
		known[id] = true
	}
	knownList := strings.Join(TerraformRuleIDs(), ", ")
	for _, id := range sortedKeys(s.Rules) {
		if !known[id] {
			add(s.Pos, "checks.terraform.rules."+id, "unknown rule %q (known: %s)", id, knownList)
		}
	}
	for i, ig := range s.Ignore {
		if ig.Rule != "*" && !known[ig.Rule] {
			add(s.Pos, fmt.Sprintf("checks.terraform.ignore[%d].rule", i), "unknown rule %q (known: %s, or * for every rule)", ig.Rule, knownList)
		}
	}
	for i, t := range s.Approvers {
		if strings.TrimSpace(t) == "" {
			add(s.Pos, fmt.Sprintf("checks.terraform.approvers[%d]", i), "an approver team cannot be empty")
		}
	}
	envs := map[string]bool{}
	for _, e := range cfg.Environments {
		envs[e.Name] = true
	}
	seen := map[string]string{}
	for ci, c := range cfg.Components {
		for si, st := range c.Stacks {
			key := fmt.Sprintf("components[%d].stacks[%d]", ci, si)
			p := st.Pos
			if p.Line == 0 {
				p = c.Pos
			}
			clean := path.Clean(st.Path)
			switch {
			case strings.TrimSpace(st.Path) == "":
				add(p, key+".path", "a stack needs the path of its Terraform root module")
			case path.IsAbs(st.Path) || clean == ".." || strings.HasPrefix(clean, "../"):
				add(p, key+".path", "stack path %q must be relative to the repo root and inside it", st.Path)
			case seen[clean] != "":
				add(p, key+".path", "stack %q is already declared by component %q", st.Path, seen[clean])
			}
			seen[clean] = c.Name
			if st.Environment != "" && len(st.VarFiles) > 0 {
				add(p, key, "a stack is pinned to one environment or has var_files per environment, not both")
			}
			if st.Environment != "" && !envs[st.Environment] {
				add(p, key+".environment", "unknown environment %q", st.Environment)
			}
			for _, env := range sortedKeys(st.VarFiles) {
				if !envs[env] {
					add(p, key+".var_files."+env, "unknown environment %q", env)
				}
				if f := st.VarFiles[env]; !strings.HasSuffix(f, ".tfvars") && !strings.HasSuffix(f, ".tfvars.json") {
					add(p, key+".var_files."+env, "expected a .tfvars file, got %q", f)
				}
			}
		}
	}
	return errs
}
