package terraform

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// policyKind is how a policy document is used.
type policyKind int

const (
	// identityPolicy is attached to a role, user or group: least privilege applies.
	identityPolicy policyKind = iota
	// trustPolicy says who may assume a role.
	trustPolicy
	// resourcePolicy is a bucket, key or queue policy naming principals.
	resourcePolicy
)

// identityPolicyType reports types that hold identity policies in their `policy` attribute.
func identityPolicyType(t string) bool {
	switch t {
	case "aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy":
		return true
	}
	return false
}

// statement is one IAM policy statement, reduced to what the rules need.
type statement struct {
	sid          string
	allow        bool
	actions      []string
	notAction    bool
	resources    []string
	anyPrincipal bool
	// githubOIDC: the principal is GitHub Actions' OIDC provider, which
	// every repository on GitHub can get tokens from.
	githubOIDC bool
	// principalType is how the open principal was written: "*", "AWS" or "Federated".
	principalType string
	conditions    []condition
	rng           hcl.Range
	actionsRng    hcl.Range
	resourcesRng  hcl.Range
	principalRng  hcl.Range
}

// condition is one key test of a statement's Condition block.
type condition struct {
	op, key string
	values  []string
	// unknown is set when the operator, key or a value is not known
	// statically; such a condition is given the benefit of the doubt.
	unknown bool
}

// principalKeys are condition keys that name who is calling: a statement open
// to "*" that tests one of them is open only to the caller it names.
var principalKeys = map[string]bool{
	"aws:principalorgid": true, "aws:principalorgpaths": true, "aws:principalaccount": true,
	"aws:principalarn": true, "aws:sourceaccount": true, "aws:sourcearn": true,
	"aws:sourceorgid": true, "aws:sourceorgpaths": true, "sts:externalid": true,
}

// networkKeys confine a resource policy to the platform's own network; they
// say nothing about who may assume a role, so trust policies do not count them.
var networkKeys = map[string]bool{"aws:sourcevpc": true, "aws:sourcevpce": true}

// restricts reports whether c narrows an open principal down to callers the
// policy names. aws:SecureTransport, aws:SourceIp, tag tests and the like
// do not: anyone can meet them.
func (c condition) restricts(kind policyKind, principalType string) bool {
	if c.unknown {
		return true
	}
	op := strings.ToLower(strings.TrimPrefix(c.op, "ForAnyValue:"))
	if strings.HasSuffix(op, "ifexists") {
		return false // a request without the key passes
	}
	switch op {
	case "stringequals", "stringlike", "stringequalsignorecase", "arnequals", "arnlike":
	default:
		return false
	}
	key := strings.ToLower(c.key)
	named := principalKeys[key] || (kind == resourcePolicy && networkKeys[key])
	if !named && principalType != "AWS" {
		// Web identity: the token's subject names the caller. Its audience
		// does too (a Cognito identity pool), except for GitHub's OIDC
		// provider, whose audience is the same for every repository on
		// GitHub.
		provider, claim, ok := strings.Cut(key, ":")
		named = ok && (claim == "sub" || (claim == "aud" && provider != "token.actions.githubusercontent.com"))
	}
	if !named {
		return false
	}
	if len(c.values) == 0 {
		return false
	}
	// Values are alternatives: one that any caller meets opens the policy.
	for _, v := range c.values {
		if !namesSomeone(v) {
			return false
		}
	}
	return true
}

// genericParts are the words of ARNs and token subjects that name no one:
// "arn:aws:iam::*:role/*" or "repo:*" match any account or repository.
var genericParts = map[string]bool{"arn": true, "aws": true, "aws-us-gov": true, "aws-cn": true, "iam": true, "sts": true,
	"role": true, "user": true, "root": true, "assumed-role": true, "repo": true, "ref": true, "refs": true, "heads": true,
	"tags": true, "environment": true, "pull_request": true}

// namesSomeone reports whether a condition value, wildcards aside, still
// names an account, organization, repository or principal.
func namesSomeone(v string) bool {
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == '/' || r == '*' || r == '?' }) {
		if !genericParts[strings.ToLower(part)] {
			return true
		}
	}
	return false
}

// restricted reports whether any of the statement's conditions restricts its
// open principal.
func (s statement) restricted(kind policyKind) bool {
	for _, c := range s.conditions {
		if c.restricts(kind, s.principalType) {
			return true
		}
	}
	return false
}

func (s statement) label() string {
	if s.sid != "" {
		return fmt.Sprintf("statement %q", s.sid)
	}
	return "a statement"
}

type policyDoc struct {
	kind  policyKind
	owner string // resource address, for messages
	stmts []statement
}

// policies collects every policy document of the module: data sources, and
// policy attributes written with jsonencode or as JSON strings and heredocs.
func policies(m *module, ev *evaluator) []policyDoc {
	dataKinds := map[string]policyKind{}
	var docs []policyDoc
	for _, r := range m.resources {
		if r.data {
			continue
		}
		body := r.block.Body
		type use struct {
			attr *hclsyntax.Attribute
			kind policyKind
		}
		var uses []use
		if a, ok := body.Attributes["assume_role_policy"]; ok {
			uses = append(uses, use{a, trustPolicy})
		}
		if a, ok := body.Attributes["policy"]; ok {
			k := resourcePolicy
			if identityPolicyType(r.typ) {
				k = identityPolicy
			}
			uses = append(uses, use{a, k})
		}
		for _, ip := range blocksOf(body, "inline_policy") {
			if a, ok := ip.Body.Attributes["policy"]; ok {
				uses = append(uses, use{a, identityPolicy})
			}
		}
		if a, ok := body.Attributes["inline_policy"]; ok {
			uses = append(uses, use{a, identityPolicy})
		}
		for _, u := range uses {
			for _, t := range refs(u.attr.Expr) {
				if addr := refAddr(t); strings.HasPrefix(addr, "data.aws_iam_policy_document.") {
					if prev, seen := dataKinds[addr]; !seen || prev == identityPolicy {
						dataKinds[addr] = u.kind
					}
				}
			}
			if stmts := inlinePolicy(u.attr, ev); len(stmts) > 0 {
				docs = append(docs, policyDoc{kind: u.kind, owner: r.addr(), stmts: stmts})
			}
		}
	}
	for _, r := range m.resources {
		if !r.data || r.typ != "aws_iam_policy_document" {
			continue
		}
		kind, ok := dataKinds[r.addr()]
		if !ok {
			kind = identityPolicy // unused here: judge it by the strictest standard
		}
		docs = append(docs, policyDoc{kind: kind, owner: r.addr(), stmts: documentStatements(r.block.Body, ev)})
	}
	return docs
}

// documentStatements reads the statement blocks of an aws_iam_policy_document.
func documentStatements(b *hclsyntax.Body, ev *evaluator) []statement {
	var out []statement
	for _, sb := range blocksOf(b, "statement") {
		s := statement{allow: true, rng: sb.DefRange()}
		s.actionsRng, s.resourcesRng, s.principalRng = s.rng, s.rng, s.rng
		if sid, ok := ev.attr(sb.Body, "sid").(string); ok {
			s.sid = sid
		}
		if eff, ok := ev.attr(sb.Body, "effect").(string); ok && !strings.EqualFold(eff, "Allow") {
			s.allow = false
		}
		if a, ok := sb.Body.Attributes["actions"]; ok {
			s.actions, _ = stringList(ev.value(a.Expr))
			s.actionsRng = a.SrcRange
		}
		if a, ok := sb.Body.Attributes["not_actions"]; ok {
			s.notAction = true
			s.actionsRng = a.SrcRange
		}
		if a, ok := sb.Body.Attributes["resources"]; ok {
			s.resources, _ = stringList(ev.value(a.Expr))
			s.resourcesRng = a.SrcRange
		}
		for _, pb := range blocksOf(sb.Body, "principals") {
			typ, _ := ev.attr(pb.Body, "type").(string)
			ids, _ := stringList(ev.attr(pb.Body, "identifiers"))
			if openPrincipalType(typ) && contains(ids, "*") && !s.anyPrincipal {
				s.anyPrincipal, s.principalType = true, typ
				s.principalRng = pb.DefRange()
			}
			if typ == "Federated" && anyGitHubOIDC(ids) && !s.anyPrincipal {
				s.anyPrincipal, s.githubOIDC, s.principalType = true, true, typ
				s.principalRng = pb.DefRange()
			}
		}
		for _, cb := range blocksOf(sb.Body, "condition") {
			c := condition{}
			op, opOK := ev.attr(cb.Body, "test").(string)
			key, keyOK := ev.attr(cb.Body, "variable").(string)
			c.op, c.key = op, key
			c.values, c.unknown = stringList(ev.attr(cb.Body, "values"))
			c.unknown = c.unknown || !opOK || !keyOK
			s.conditions = append(s.conditions, c)
		}
		out = append(out, s)
	}
	return out
}

// inlinePolicy reads a policy attribute written with jsonencode or as JSON.
func inlinePolicy(a *hclsyntax.Attribute, ev *evaluator) []statement {
	var doc any
	switch v := ev.value(a.Expr).(type) {
	case map[string]any:
		doc = v
	case string:
		if err := json.Unmarshal([]byte(v), &doc); err != nil {
			return nil
		}
	default:
		return nil
	}
	stmts := jsonStatements(doc, a.SrcRange)
	// With jsonencode, point each statement at its own lines.
	if ranges := statementRanges(a.Expr); len(ranges) == len(stmts) {
		for i := range stmts {
			stmts[i].rng = ranges[i]
			stmts[i].actionsRng, stmts[i].resourcesRng, stmts[i].principalRng = ranges[i], ranges[i], ranges[i]
		}
	}
	return stmts
}

// jsonStatements reads statements from a decoded policy document.
func jsonStatements(doc any, rng hcl.Range) []statement {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	var raw []any
	switch s := m["Statement"].(type) {
	case []any:
		raw = s
	case map[string]any:
		raw = []any{s}
	}
	var out []statement
	for _, r := range raw {
		sm, ok := r.(map[string]any)
		if !ok {
			continue
		}
		s := statement{allow: true, rng: rng, actionsRng: rng, resourcesRng: rng, principalRng: rng}
		s.sid, _ = sm["Sid"].(string)
		if eff, ok := sm["Effect"].(string); ok && !strings.EqualFold(eff, "Allow") {
			s.allow = false
		}
		s.actions, _ = stringList(sm["Action"])
		_, s.notAction = sm["NotAction"]
		s.resources, _ = stringList(sm["Resource"])
		switch p := sm["Principal"].(type) {
		case string:
			s.anyPrincipal, s.principalType = p == "*", "*"
		case map[string]any:
			for _, typ := range []string{"AWS", "Federated"} {
				if ids, _ := stringList(p[typ]); contains(ids, "*") {
					s.anyPrincipal, s.principalType = true, typ
					break
				}
			}
			if ids, _ := stringList(p["Federated"]); !s.anyPrincipal && anyGitHubOIDC(ids) {
				s.anyPrincipal, s.githubOIDC, s.principalType = true, true, "Federated"
			}
		}
		s.conditions = jsonConditions(sm["Condition"])
		out = append(out, s)
	}
	return out
}

// anyGitHubOIDC reports whether ids name GitHub Actions' OIDC provider: a
// role trusting it is open to a workflow of any repository on GitHub unless
// a condition on the token's sub names the repository.
func anyGitHubOIDC(ids []string) bool {
	for _, id := range ids {
		if strings.HasSuffix(id, "oidc-provider/token.actions.githubusercontent.com") {
			return true
		}
	}
	return false
}

// openPrincipalType reports principal types for which "*" means anyone: any
// AWS account, or any identity provider's users.
func openPrincipalType(t string) bool { return t == "*" || t == "AWS" || t == "Federated" }

// jsonConditions reads a Condition object: {operator: {key: value or values}}.
func jsonConditions(v any) []condition {
	var out []condition
	switch ops := v.(type) {
	case map[string]any:
		for _, op := range sortedKeys(ops) {
			keys, ok := ops[op].(map[string]any)
			if !ok {
				out = append(out, condition{op: op, unknown: isUnknown(ops[op])})
				continue
			}
			for _, key := range sortedKeys(keys) {
				c := condition{op: op, key: key}
				c.values, c.unknown = stringList(keys[key])
				out = append(out, c)
			}
		}
	case unknown:
		out = append(out, condition{unknown: true})
	}
	return out
}

// statementRanges finds the source range of each statement of a
// jsonencode({Statement = [...]}) expression.
func statementRanges(e hclsyntax.Expression) []hcl.Range {
	fc, ok := e.(*hclsyntax.FunctionCallExpr)
	if !ok || fc.Name != "jsonencode" || len(fc.Args) != 1 {
		return nil
	}
	obj, ok := fc.Args[0].(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	for _, item := range obj.Items {
		k, ok := objectKey(item.KeyExpr)
		if !ok || k != "Statement" {
			continue
		}
		switch v := item.ValueExpr.(type) {
		case *hclsyntax.TupleConsExpr:
			out := make([]hcl.Range, len(v.Exprs))
			for i, x := range v.Exprs {
				out[i] = x.Range()
			}
			return out
		case *hclsyntax.ObjectConsExpr:
			return []hcl.Range{v.Range()}
		}
	}
	return nil
}

func objectKey(e hclsyntax.Expression) (string, bool) {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if name := hcl.ExprAsKeyword(k.Wrapped); name != "" {
			return name, true
		}
		return exprLiteralString(k.Wrapped)
	}
	return exprLiteralString(e)
}

// starOnlyAction reports actions without resource-level permissions: AWS
// requires Resource "*" for them, so a policy cannot do better.
func starOnlyAction(a string) bool {
	switch strings.ToLower(a) {
	case "cloudwatch:putmetricdata", "ec2:createnetworkinterface", "ec2:deletenetworkinterface",
		"ec2:assignprivateipaddresses", "ec2:unassignprivateipaddresses", "logs:createlogdelivery",
		"logs:deletelogdelivery", "logs:updatelogdelivery", "logs:putresourcepolicy",
		"xray:puttracesegments", "xray:puttelemetryrecords", "kms:createkey", "sts:getcalleridentity":
		return true
	}
	return false
}

func isReadAction(a string) bool {
	_, verb, ok := strings.Cut(a, ":")
	if !ok {
		return false
	}
	prefix := verb
	if i := strings.IndexAny(verb, "*?"); i >= 0 {
		prefix = verb[:i]
	}
	// The verbs that begin the names of actions that only read.
	for _, v := range []string{"Get", "List", "Describe", "Head", "Read", "View", "Lookup", "BatchGet", "Query", "Scan", "Select", "Search", "Filter", "Download"} {
		if len(prefix) >= len(v) && strings.EqualFold(prefix[:len(v)], v) {
			return true
		}
	}
	return false
}

// serviceWildcard reports "*" and "svc:*".
func serviceWildcard(a string) bool {
	if a == "*" {
		return true
	}
	svc, verb, ok := strings.Cut(a, ":")
	return ok && svc != "" && verb == "*"
}

// actionMatches reports whether the IAM action pattern p covers action a.
func actionMatches(p, a string) bool {
	ok, _ := path.Match(strings.ToLower(p), strings.ToLower(a))
	return ok
}

func iamRules(m *module, ev *evaluator) []Finding {
	out := managedPolicyRules(m, ev)
	for _, d := range policies(m, ev) {
		for _, s := range d.stmts {
			if !s.allow {
				continue
			}
			switch d.kind {
			case identityPolicy:
				out = append(out, identityRules(d, s)...)
			case trustPolicy, resourcePolicy:
				if s.anyPrincipal && !s.restricted(d.kind) {
					out = append(out, openTrustFinding(d, s))
				}
			}
		}
	}
	return out
}

// broadManagedName is the name part of the broad AWS-managed policies.
const broadManagedName = `(?:AdministratorAccess(?:-[A-Za-z0-9]+)*)|PowerUserAccess|[A-Za-z0-9_]*FullAccess[A-Za-z0-9_]*`

// broadManagedPolicyRE matches the AWS-managed policies that grant every
// action, or every action of a service, on every resource:
// AdministratorAccess (and its -Amplify, -AWSElasticBeanstalk variants),
// PowerUserAccess, and the *FullAccess family (AmazonS3FullAccess,
// AWSLambda_FullAccess, CloudWatchFullAccessV2 …), under any path and partition.
var broadManagedPolicyRE = regexp.MustCompile(`^arn:[^:]*:iam::aws:policy/(?:[A-Za-z0-9_+=,.@-]+/)*(` + broadManagedName + `)$`)

// broadManagedNameRE is broadManagedPolicyRE for a policy looked up by name
// (data "aws_iam_policy" { name = "AdministratorAccess" }).
var broadManagedNameRE = regexp.MustCompile(`^(` + broadManagedName + `)$`)

// managedAttachments names, per resource type, the attributes that attach
// managed policies by ARN: a single ARN, or a list of them.
var managedAttachments = map[string]struct{ single, list string }{
	"aws_iam_role_policy_attachment":             {single: "policy_arn"},
	"aws_iam_user_policy_attachment":             {single: "policy_arn"},
	"aws_iam_group_policy_attachment":            {single: "policy_arn"},
	"aws_iam_policy_attachment":                  {single: "policy_arn"},
	"aws_iam_role":                               {list: "managed_policy_arns"},
	"aws_iam_role_policy_attachments_exclusive":  {list: "policy_arns"},
	"aws_iam_user_policy_attachments_exclusive":  {list: "policy_arns"},
	"aws_iam_group_policy_attachments_exclusive": {list: "policy_arns"},
}

// managedPolicyRules finds roles, users and groups given an AWS-managed
// policy that grants a whole service or the whole account: least privilege
// holds for the policies a role is attached to, not only those written inline.
func managedPolicyRules(m *module, ev *evaluator) []Finding {
	var out []Finding
	for _, r := range m.resources {
		spec, ok := managedAttachments[r.typ]
		if r.data || !ok {
			continue
		}
		var exprs []hclsyntax.Expression
		if a, ok := r.block.Body.Attributes[spec.single]; ok && spec.single != "" {
			exprs = append(exprs, a.Expr)
		}
		if a, ok := r.block.Body.Attributes[spec.list]; ok && spec.list != "" {
			if tup, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
				exprs = append(exprs, tup.Exprs...) // each ARN at its own line
			} else {
				exprs = append(exprs, a.Expr)
			}
		}
		for _, e := range exprs {
			for _, name := range broadManagedPolicies(m, ev, e) {
				out = append(out, at(RuleIAMManaged, e.Range(), fmt.Sprintf("%s attaches the AWS-managed policy %s, which grants %s; least privilege means a policy listing the actions and resources the pipeline uses", r.addr(), name, managedGrant(name))))
			}
		}
	}
	return out
}

// broadManagedPolicies returns the names of the broad AWS-managed policies an
// ARN expression names: as a literal, through variables and locals, or
// through a data "aws_iam_policy" looked up by ARN or by name.
func broadManagedPolicies(m *module, ev *evaluator, e hclsyntax.Expression) []string {
	var out []string
	arns, _ := stringList(ev.value(e))
	for _, arn := range arns {
		if sm := broadManagedPolicyRE.FindStringSubmatch(arn); sm != nil {
			out = append(out, sm[1])
		}
	}
	for _, t := range refs(e) {
		d, ok := m.byAddr[refAddr(t)]
		if !ok || !d.data || d.typ != "aws_iam_policy" {
			continue
		}
		if arn, ok := ev.attr(d.block.Body, "arn").(string); ok {
			if sm := broadManagedPolicyRE.FindStringSubmatch(arn); sm != nil {
				out = append(out, sm[1])
			}
		} else if name, ok := ev.attr(d.block.Body, "name").(string); ok && broadManagedNameRE.MatchString(name) {
			out = append(out, name)
		}
	}
	return out
}

func managedGrant(name string) string {
	switch {
	case strings.HasPrefix(name, "AdministratorAccess"):
		return "every action on every resource"
	case name == "PowerUserAccess":
		return "every action on every resource except managing IAM and the organization"
	}
	return "every action of a service on every resource"
}

func openTrustFinding(d policyDoc, s statement) Finding {
	principal := `Principal "*"`
	what := "lets any AWS principal in the world assume the role"
	if s.principalType == "AWS" || s.principalType == "Federated" {
		principal = fmt.Sprintf(`Principal {%s = "*"}`, s.principalType)
	}
	if s.principalType == "Federated" {
		what = "lets a user of any identity provider assume the role"
	}
	if s.githubOIDC {
		principal = `Principal {Federated = "…oidc-provider/token.actions.githubusercontent.com"}`
		what = "lets a workflow of any repository on GitHub assume the role (name the repository in a condition on token.actions.githubusercontent.com:sub)"
	}
	if d.kind == resourcePolicy {
		what = "grants access to any principal, which makes the resource public"
	}
	cond := "with no Condition"
	if len(s.conditions) > 0 {
		cond = "with no Condition that names the caller (aws:PrincipalOrgID, aws:PrincipalAccount, aws:SourceArn, aws:SourceAccount, sts:ExternalId, or a token's :sub)"
	}
	return at(RuleIAMOpenTrust, s.principalRng, fmt.Sprintf("%s: %s allows %s %s and %s; name the accounts, roles or services it trusts", d.owner, s.label(), principal, cond, what))
}

func identityRules(d policyDoc, s statement) []Finding {
	var out []Finding
	var wild []string
	for _, a := range s.actions {
		if serviceWildcard(a) {
			wild = append(wild, a)
		}
	}
	switch {
	case s.notAction:
		out = append(out, at(RuleIAMWildcard, s.actionsRng, fmt.Sprintf("%s: %s allows NotAction, which grants every action not listed; list the actions the role needs", d.owner, s.label())))
	case len(wild) > 0:
		out = append(out, at(RuleIAMWildcard, s.actionsRng, fmt.Sprintf("%s: %s allows %s; least privilege means listing the actions the pipeline uses", d.owner, s.label(), quoteList(wild))))
	}
	if !contains(s.resources, "*") {
		return out
	}
	passRole := false
	var writes []string
	for _, a := range s.actions {
		if actionMatches(a, "iam:PassRole") {
			passRole = true
			if onlyPassRole(a) {
				continue // TF-IAM-003 says it; once is enough
			}
		}
		if !isReadAction(a) && !starOnlyAction(a) {
			writes = append(writes, a)
		}
	}
	if passRole {
		out = append(out, at(RuleIAMPassRole, s.resourcesRng, fmt.Sprintf("%s: %s allows iam:PassRole on \"*\", so whoever holds it can hand any role (an admin role too) to a service; name the role ARNs it passes", d.owner, s.label())))
	}
	if len(writes) > 0 {
		sort.Strings(writes)
		out = append(out, at(RuleIAMStarWrite, s.resourcesRng, fmt.Sprintf("%s: %s allows write actions %s on Resource \"*\"; scope them to the buckets, clusters or roles the pipeline uses", d.owner, s.label(), quoteList(writes))))
	}
	return out
}

// iamWritesBesidesPassRole are IAM actions a pattern covering iam:PassRole
// might also cover; a pattern that covers none of them grants PassRole alone.
var iamWritesBesidesPassRole = []string{
	"iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:PutRolePermissionsBoundary",
	"iam:PutUserPermissionsBoundary", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole",
	"iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:CreateUser", "iam:CreateAccessKey",
	"iam:CreatePolicyVersion", "iam:TagRole", "iam:CreateServiceLinkedRole",
}

// onlyPassRole reports an action pattern that grants iam:PassRole and no
// other action ("iam:PassRole", "iam:Pass*"), so it is not a write on "*"
// beyond what TF-IAM-003 reports.
func onlyPassRole(p string) bool {
	svc, _, ok := strings.Cut(p, ":")
	if !ok || !strings.EqualFold(svc, "iam") || !actionMatches(p, "iam:PassRole") {
		return false
	}
	for _, a := range iamWritesBesidesPassRole {
		if actionMatches(p, a) {
			return false
		}
	}
	return true
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	if len(q) > 5 {
		q = append(q[:5], fmt.Sprintf("and %d more", len(xs)-5))
	}
	return strings.Join(q, ", ")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
