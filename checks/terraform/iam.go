package terraform

import (
	"encoding/json"
	"fmt"
	"path"
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
	hasCondition bool
	rng          hcl.Range
	actionsRng   hcl.Range
	resourcesRng hcl.Range
	principalRng hcl.Range
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
			if (typ == "*" || typ == "AWS") && contains(ids, "*") {
				s.anyPrincipal = true
				s.principalRng = pb.DefRange()
			}
		}
		s.hasCondition = len(blocksOf(sb.Body, "condition")) > 0
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
			s.anyPrincipal = p == "*"
		case map[string]any:
			ids, _ := stringList(p["AWS"])
			s.anyPrincipal = contains(ids, "*")
		}
		_, s.hasCondition = sm["Condition"]
		out = append(out, s)
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
	var out []Finding
	for _, d := range policies(m, ev) {
		for _, s := range d.stmts {
			if !s.allow {
				continue
			}
			switch d.kind {
			case identityPolicy:
				out = append(out, identityRules(d, s)...)
			case trustPolicy, resourcePolicy:
				if s.anyPrincipal && !s.hasCondition {
					what := "lets any AWS principal in the world assume the role"
					if d.kind == resourcePolicy {
						what = "grants access to any principal, which makes the resource public"
					}
					out = append(out, at(RuleIAMOpenTrust, s.principalRng, fmt.Sprintf("%s: %s allows Principal \"*\" with no Condition and %s; name the accounts, roles or services it trusts", d.owner, s.label(), what)))
				}
			}
		}
	}
	return out
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
			if strings.EqualFold(a, "iam:PassRole") {
				continue
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
