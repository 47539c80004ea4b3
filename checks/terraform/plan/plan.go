// Package plan classifies the resource changes of a Terraform plan, read from
// `terraform show -json`, by action and risk. It never returns attribute
// values: only addresses, types, actions and the names of changed attributes,
// so sensitive values cannot leak into a check run.
package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Action is what a plan does to one resource instance, in Conveyor's words.
type Action string

// Actions, one per resource change.
const (
	Create  Action = "create"
	Update  Action = "update"
	Delete  Action = "delete"
	Replace Action = "replace"
	Read    Action = "read"
	NoOp    Action = "no-op"
	Move    Action = "move"
	Import  Action = "import"
	// Forget removes an object from state without destroying it (a `removed`
	// block with destroy = false, Terraform 1.7+).
	Forget Action = "forget"
)

// AllActions lists the actions in the order summaries show them.
func AllActions() []Action {
	return []Action{Replace, Delete, Create, Update, Move, Import, Forget, Read, NoOp}
}

// Risk ranks a change for review.
type Risk string

// Risks, from most to least urgent.
const (
	// High: a stateful resource is deleted or replaced; DevOps approves the plan.
	High Risk = "high"
	// Review: IAM or network exposure changes; listed separately for DevOps.
	Review Risk = "review"
	Low    Risk = "low"
)

// Category groups resource types DevOps reviews apart from the rest.
type Category string

// Categories.
const (
	CategoryIAM     Category = "iam"
	CategoryNetwork Category = "network"
	CategoryOther   Category = ""
)

// Change is one resource change of a plan. It carries no attribute values.
type Change struct {
	Address      string `json:"address"`
	Type         string `json:"type"`
	Action       Action `json:"action"`
	ActionReason string `json:"action_reason"`
	Stateful     bool   `json:"stateful"`
	// Mode is "managed" or "data".
	Mode string `json:"mode"`
	// Actions are Terraform's own actions, e.g. ["delete","create"].
	Actions         []string `json:"actions"`
	PreviousAddress string   `json:"previous_address,omitempty"`
	Importing       bool     `json:"importing,omitempty"`
	Deposed         string   `json:"deposed,omitempty"`
	// Attributes names the top-level attributes an update or replace changes.
	Attributes []string `json:"attributes,omitempty"`
	// ForcesReplacement names the attributes that force a replace.
	ForcesReplacement []string `json:"forces_replacement,omitempty"`
	// SensitiveAttributes names changed attributes whose values are sensitive.
	SensitiveAttributes []string `json:"sensitive_attributes,omitempty"`
	Category            Category `json:"category,omitempty"`
	Risk                Risk     `json:"risk"`
}

// Destroys reports whether the change destroys the existing object.
func (c Change) Destroys() bool { return c.Action == Delete || c.Action == Replace }

// Plan is a classified plan.
type Plan struct {
	FormatVersion    string `json:"format_version"`
	TerraformVersion string `json:"terraform_version,omitempty"`
	// Hash is "plan:" + the SHA-256 of the canonicalised resource_changes, so
	// an approval given for one plan does not carry over to another.
	Hash string `json:"hash"`
	// Changes lists every resource change of the plan exactly once, in the
	// plan's order.
	Changes []Change `json:"changes"`
	// Counts is the number of changes per action.
	Counts map[Action]int `json:"counts"`
	// Errored is true when Terraform reported the plan as incomplete.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Risky returns the changes that are not low risk, high risk first.
func (p *Plan) Risky() []Change {
	var out []Change
	for _, r := range []Risk{High, Review} {
		for _, c := range p.Changes {
			if c.Risk == r {
				out = append(out, c)
			}
		}
	}
	return out
}

// StatefulDestroys returns the deletes and replaces of stateful resources.
func (p *Plan) StatefulDestroys() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Stateful && c.Destroys() {
			out = append(out, c)
		}
	}
	return out
}

// Of returns the changes of one category that do something.
func (p *Plan) Of(cat Category) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Category == cat && c.Action != NoOp && c.Action != Read {
			out = append(out, c)
		}
	}
	return out
}

// DefaultStatefulTypes are the resource types whose delete or replace loses
// data or breaks running pipelines.
func DefaultStatefulTypes() []string {
	return []string{
		"aws_s3_bucket", "aws_db_instance", "aws_rds_cluster", "aws_rds_cluster_instance",
		"aws_dynamodb_table", "aws_msk_cluster", "aws_msk_serverless_cluster",
		"aws_mwaa_environment", "aws_kms_key", "aws_redshift_cluster",
		"aws_redshiftserverless_namespace", "aws_efs_file_system",
		"aws_secretsmanager_secret", "aws_iam_role",
		"snowflake_database", "snowflake_schema", "snowflake_table",
	}
}

// StatefulSet is the set of stateful resource types.
type StatefulSet map[string]bool

// NewStatefulSet starts from DefaultStatefulTypes and applies adjustments:
// "type" adds a type, "!type" removes one.
func NewStatefulSet(adjust []string) StatefulSet {
	s := StatefulSet{}
	for _, t := range DefaultStatefulTypes() {
		s[t] = true
	}
	for _, t := range adjust {
		if rest, ok := strings.CutPrefix(t, "!"); ok {
			delete(s, rest)
			continue
		}
		s[t] = true
	}
	return s
}

// CategoryOf says whether a resource type is IAM, network, or neither.
func CategoryOf(typ string) Category {
	switch {
	case strings.HasPrefix(typ, "aws_iam_"):
		return CategoryIAM
	case typ == "aws_s3_bucket_policy", typ == "aws_kms_key_policy", typ == "aws_kms_grant",
		typ == "aws_sqs_queue_policy", typ == "aws_sns_topic_policy", typ == "aws_lambda_permission",
		typ == "aws_msk_cluster_policy", typ == "aws_secretsmanager_secret_policy":
		return CategoryIAM
	case strings.HasPrefix(typ, "aws_security_group"), strings.HasPrefix(typ, "aws_vpc_security_group_"),
		strings.HasPrefix(typ, "aws_network_acl"), strings.HasPrefix(typ, "aws_route"),
		typ == "aws_subnet", typ == "aws_internet_gateway", typ == "aws_nat_gateway",
		typ == "aws_eip", typ == "aws_vpc_endpoint", typ == "aws_vpc_peering_connection",
		typ == "aws_default_security_group", typ == "aws_default_network_acl":
		return CategoryNetwork
	}
	return CategoryOther
}

// Error is a plan that cannot be read, located in its file.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parse reads and classifies `terraform show -json` output. file names the
// source in errors.
func Parse(file string, data []byte, stateful StatefulSet) (*Plan, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, &Error{File: file, Msg: "the plan is empty; expected the output of `terraform show -json PLANFILE`"}
	}
	var raw struct {
		FormatVersion   string            `json:"format_version"`
		ResourceChanges []json.RawMessage `json:"resource_changes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, locateJSONError(file, data, err)
	}
	if raw.FormatVersion == "" {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: "no format_version: this is not `terraform show -json` output of a plan"}
	}
	var tp tfjson.Plan
	if err := json.Unmarshal(data, &tp); err != nil {
		return nil, locateJSONError(file, data, err)
	}
	if tp.FormatVersion == "" {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: "no format_version: this is not `terraform show -json` output of a plan"}
	}
	hash, err := hashChanges(raw.ResourceChanges)
	if err != nil {
		return nil, &Error{File: file, Msg: fmt.Sprintf("canonicalising resource_changes: %v", err)}
	}
	p := &Plan{FormatVersion: tp.FormatVersion, TerraformVersion: tp.TerraformVersion, Hash: hash, Changes: []Change{}, Counts: map[Action]int{}}
	if tp.Complete != nil && !*tp.Complete {
		p.Incomplete = true
	}
	for i, rc := range tp.ResourceChanges {
		if rc == nil || rc.Change == nil {
			return nil, &Error{File: file, Msg: fmt.Sprintf("resource_changes[%d] has no change", i)}
		}
		c, err := classify(rc, stateful)
		if err != nil {
			return nil, &Error{File: file, Msg: fmt.Sprintf("resource_changes[%d] (%s): %v", i, rc.Address, err)}
		}
		p.Changes = append(p.Changes, c)
		p.Counts[c.Action]++
	}
	return p, nil
}

func classify(rc *tfjson.ResourceChange, stateful StatefulSet) (Change, error) {
	acts := rc.Change.Actions
	c := Change{
		Address:         rc.Address,
		Type:            rc.Type,
		ActionReason:    string(rc.ActionReason),
		Stateful:        stateful[rc.Type],
		Mode:            string(rc.Mode),
		PreviousAddress: rc.PreviousAddress,
		Importing:       rc.Change.Importing != nil,
		Deposed:         rc.DeposedKey,
		Category:        CategoryOf(rc.Type),
		Actions:         make([]string, len(acts)),
	}
	if c.Mode == "" {
		c.Mode = string(tfjson.ManagedResourceMode)
	}
	for i, a := range acts {
		c.Actions[i] = string(a)
	}
	moved := rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address
	switch {
	case acts.Replace():
		c.Action = Replace
	case acts.Delete():
		c.Action = Delete
	case acts.Create():
		c.Action = Create
	case acts.Read():
		c.Action = Read
	case acts.Forget():
		c.Action = Forget
	case acts.Update() || acts.NoOp():
		// An import or a move may also update in place; the import or move
		// is what the reviewer needs to see, and Actions keeps the update.
		switch {
		case c.Importing:
			c.Action = Import
		case moved:
			c.Action = Move
		case acts.Update():
			c.Action = Update
		default:
			c.Action = NoOp
		}
	default:
		return c, fmt.Errorf("unrecognised actions %v", c.Actions)
	}
	if c.Action == Update || c.Action == Replace || ((c.Action == Move || c.Action == Import) && acts.Update()) {
		c.Attributes, c.SensitiveAttributes = changedAttributes(rc.Change)
		c.ForcesReplacement = replacePaths(rc.Change.ReplacePaths)
	}
	switch {
	case c.Stateful && c.Destroys():
		c.Risk = High
	case c.Category != CategoryOther && c.Action != NoOp && c.Action != Read:
		c.Risk = Review
	default:
		c.Risk = Low
	}
	return c, nil
}

// changedAttributes names the top-level attributes whose value differs or
// becomes unknown, and which of those are sensitive. Values are never kept.
func changedAttributes(ch *tfjson.Change) (changed, sensitive []string) {
	before, _ := ch.Before.(map[string]any)
	after, _ := ch.After.(map[string]any)
	unknown, _ := ch.AfterUnknown.(map[string]any)
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	for k := range unknown {
		keys[k] = true
	}
	for k := range keys {
		if hasTrue(unknown[k]) || !reflect.DeepEqual(before[k], after[k]) {
			changed = append(changed, k)
			if isSensitive(ch.BeforeSensitive, k) || isSensitive(ch.AfterSensitive, k) {
				sensitive = append(sensitive, k)
			}
		}
	}
	sort.Strings(changed)
	sort.Strings(sensitive)
	return changed, sensitive
}

// hasTrue reports whether a nested after_unknown / *_sensitive structure marks
// anything true.
func hasTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case map[string]any:
		for _, e := range x {
			if hasTrue(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasTrue(e) {
				return true
			}
		}
	}
	return false
}

func isSensitive(marks any, key string) bool {
	if b, ok := marks.(bool); ok {
		return b
	}
	m, ok := marks.(map[string]any)
	if !ok {
		return false
	}
	return hasTrue(m[key])
}

func replacePaths(paths []any) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		steps, ok := p.([]any)
		if !ok || len(steps) == 0 {
			continue
		}
		parts := make([]string, 0, len(steps))
		for _, s := range steps {
			switch v := s.(type) {
			case string:
				parts = append(parts, v)
			default:
				parts = append(parts, fmt.Sprint(v))
			}
		}
		name := strings.Join(parts, ".")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// hashChanges canonicalises resource_changes (sorted by address and deposed
// key, object keys sorted, numbers kept as written) and hashes them.
func hashChanges(changes []json.RawMessage) (string, error) {
	type keyed struct {
		key string
		val any
	}
	items := make([]keyed, 0, len(changes))
	for _, rc := range changes {
		dec := json.NewDecoder(bytes.NewReader(rc))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", err
		}
		var k struct {
			Address string `json:"address"`
			Deposed string `json:"deposed"`
		}
		_ = json.Unmarshal(rc, &k)
		items = append(items, keyed{k.Address + "\x00" + k.Deposed, v})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].key < items[j].key })
	vals := make([]any, len(items))
	for i, it := range items {
		vals[i] = it.val
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vals); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return "plan:" + hex.EncodeToString(sum[:]), nil
}

// locateJSONError turns a decoding error into a located Error.
func locateJSONError(file string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64 = -1
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
		msg = "invalid JSON: " + syn.Error()
	case errors.As(err, &typ):
		off = typ.Offset
		msg = fmt.Sprintf("%s should be %s, got %s", typ.Field, typ.Type, typ.Value)
	}
	if off < 0 {
		return &Error{File: file, Msg: msg}
	}
	line, col := 1, 1
	for _, b := range data[:min(int(off), len(data))] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &Error{File: file, Line: line, Column: col, Msg: msg}
}
