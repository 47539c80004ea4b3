package terraform

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/parcelflow/conveyor/checks"
)

// Rule IDs of the static policy. They are stable: configs turn them off or
// change their severity by ID, and docs/checks/terraform.md explains each.
const (
	RuleSyntax        = "TF-SYNTAX"
	RuleIAMWildcard   = "TF-IAM-001"
	RuleIAMStarWrite  = "TF-IAM-002"
	RuleIAMPassRole   = "TF-IAM-003"
	RuleIAMOpenTrust  = "TF-IAM-004"
	RuleIAMManaged    = "TF-IAM-005"
	RuleNetOpen       = "TF-NET-001"
	RuleNetPublicData = "TF-NET-002"
	RuleS3Versioning  = "TF-S3-001"
	RuleS3Encryption  = "TF-S3-002"
	RuleS3PublicBlock = "TF-S3-003"
	RuleDBEncryption  = "TF-DB-001"
	RuleDBPublic      = "TF-DB-002"
	RuleKMSRotation   = "TF-KMS-001"
	RuleSecret        = "TF-SECRET-001"
	RuleAccount       = "TF-ACCOUNT-001"
	RuleModulePin     = "TF-MODULE-001"
	RuleTags          = "TF-TAGS-001"
)

// Rule describes one static policy rule.
type Rule struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
}

// Rules lists every rule with its default severity.
func Rules() []Rule {
	return []Rule{
		{RuleSyntax, "failure", "Terraform file does not parse"},
		{RuleIAMWildcard, "failure", "IAM policy grants every action, or every action of a service"},
		{RuleIAMStarWrite, "failure", "IAM policy allows write actions on every resource"},
		{RuleIAMPassRole, "failure", "IAM policy allows iam:PassRole on every role"},
		{RuleIAMOpenTrust, "failure", "Policy trusts any principal"},
		{RuleIAMManaged, "failure", "AWS-managed admin or full-access policy attached"},
		{RuleNetOpen, "failure", "Security group open to the internet"},
		{RuleNetPublicData, "failure", "Data store in a public subnet"},
		{RuleS3Versioning, "failure", "S3 bucket without versioning"},
		{RuleS3Encryption, "failure", "S3 bucket without default encryption"},
		{RuleS3PublicBlock, "failure", "S3 bucket without a full public access block"},
		{RuleDBEncryption, "failure", "Data store without encryption"},
		{RuleDBPublic, "failure", "Data store publicly accessible"},
		{RuleKMSRotation, "warning", "KMS key without rotation"},
		{RuleSecret, "failure", "Hard-coded secret"},
		{RuleAccount, "failure", "Another environment's AWS account"},
		{RuleModulePin, "warning", "Module not pinned to a version"},
		{RuleTags, "warning", "Missing required tags"},
	}
}

func defaultSeverity(id string) string {
	for _, r := range Rules() {
		if r.ID == id {
			return r.Severity
		}
	}
	return "failure"
}

func ruleTitle(id string) string {
	for _, r := range Rules() {
		if r.ID == id {
			return r.Title
		}
	}
	return id
}

// Finding is one static policy violation.
type Finding struct {
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Path      string `json:"path"`
	Line      int    `json:"line"`
	EndLine   int    `json:"end_line"`
	Column    int    `json:"column,omitempty"`
	EndColumn int    `json:"end_column,omitempty"`
	Message   string `json:"message"`
	// Stack is the root module the finding was found through.
	Stack string `json:"stack"`
}

func (f Finding) annotation() checks.Annotation {
	a := checks.Annotation{Path: f.Path, StartLine: max(f.Line, 1), EndLine: max(f.EndLine, f.Line, 1), Level: checks.Level(f.Severity), Rule: f.Rule, Title: f.Rule + " " + ruleTitle(f.Rule), Message: f.Message}
	if a.StartLine == a.EndLine {
		a.StartColumn, a.EndColumn = f.Column, f.EndColumn
	}
	return a
}

// at builds a finding located at rng.
func at(rule string, rng hcl.Range, msg string) Finding {
	return Finding{Rule: rule, Path: rng.Filename, Line: rng.Start.Line, EndLine: rng.End.Line, Column: rng.Start.Column, EndColumn: rng.End.Column, Message: msg}
}

// atLine builds a finding on one line of a file.
func atLine(rule, file string, line int, msg string) Finding {
	return Finding{Rule: rule, Path: file, Line: line, EndLine: line, Message: msg}
}
