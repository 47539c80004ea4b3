package terraform

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// isJSONFile reports Terraform's JSON syntax: .tf.json and .tfvars.json.
func isJSONFile(p string) bool { return strings.HasSuffix(p, ".json") }

// parseJSONBody parses a file in Terraform's JSON syntax with HCL's JSON
// parser and rebuilds it as native syntax nodes that keep the JSON's source
// ranges, so every rule reads .tf.json as it reads .tf and points at the
// JSON's own lines. Var files hold attributes only.
//
// JSON cannot say whether an object is a nested block or an attribute of
// object type; Terraform decides with the provider's schema, which Conveyor
// does not load. An object (or a list of objects) becomes a block unless its
// key is one of the map-typed attributes in mapAttributes, which covers the
// attributes the rules read (tags, above all).
func parseJSONBody(p string, src []byte, varFile bool) (*hclsyntax.Body, hcl.Diagnostics) {
	f, diags := hcljson.Parse(src, p)
	if diags.HasErrors() || f == nil {
		return nil, firstCause(diags)
	}
	c := &jsonConverter{file: p, src: src}
	root := rootOf(f.Body)
	pairs, _ := c.object(root)
	body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: root.Range(), EndRange: root.Range()}
	for _, kv := range pairs {
		name := c.key(kv)
		if varFile {
			c.addAttr(body, name, kv)
			continue
		}
		switch name {
		case "resource", "data":
			for _, typ := range c.members(kv.Value) {
				for _, nm := range c.members(typ.Value) {
					for _, obj := range c.objects(nm.Value) {
						body.Blocks = append(body.Blocks, c.block(name, []hcl.KeyValuePair{typ, nm}, obj, blockBody))
					}
				}
			}
		case "provider", "module", "variable", "output":
			mode := attrsOnly
			if name == "provider" {
				mode = blockBody
			}
			for _, nm := range c.members(kv.Value) {
				for _, obj := range c.objects(nm.Value) {
					body.Blocks = append(body.Blocks, c.block(name, []hcl.KeyValuePair{nm}, obj, mode))
				}
			}
		case "locals":
			for _, obj := range c.objects(kv.Value) {
				body.Blocks = append(body.Blocks, c.block(name, nil, obj, attrsOnly))
			}
		case "terraform":
			for _, obj := range c.objects(kv.Value) {
				body.Blocks = append(body.Blocks, c.block(name, nil, obj, terraformBody))
			}
		case "moved", "removed", "import", "check":
			for _, obj := range c.objects(kv.Value) {
				body.Blocks = append(body.Blocks, c.block(name, nil, obj, referenceBody))
			}
		}
	}
	return body, append(diags, c.diags...)
}

// firstCause drops the "root value must be object" error that HCL's JSON
// parser adds after any syntax error: the file has one problem, not two.
func firstCause(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Summary == "Root value must be object" && len(diags) > 1 {
			continue
		}
		out = append(out, d)
	}
	return out
}

// rootObject presents a JSON file's root object as an object expression:
// HCL's JSON body gives its properties, with ranges, as attributes.
type rootObject struct {
	attrs hcl.Attributes
	rng   hcl.Range
}

func rootOf(body hcl.Body) *rootObject {
	attrs, _ := body.JustAttributes() // a root that is not an object fails in Parse
	return &rootObject{attrs: attrs, rng: body.MissingItemRange()}
}

func (r *rootObject) Value(*hcl.EvalContext) (cty.Value, hcl.Diagnostics) { return cty.DynamicVal, nil }
func (r *rootObject) Variables() []hcl.Traversal                          { return nil }
func (r *rootObject) Range() hcl.Range                                    { return r.rng }
func (r *rootObject) StartRange() hcl.Range                               { return r.rng }

// ExprMap lists the root properties in source order.
func (r *rootObject) ExprMap() []hcl.KeyValuePair {
	out := make([]hcl.KeyValuePair, 0, len(r.attrs))
	for _, a := range r.attrs {
		out = append(out, hcl.KeyValuePair{Key: &nameExpr{name: a.Name, rng: a.NameRange}, Value: a.Expr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.Range().Start.Byte < out[j].Key.Range().Start.Byte })
	return out
}

// nameExpr is an object key whose text is already known.
type nameExpr struct {
	name string
	rng  hcl.Range
}

func (n *nameExpr) Value(*hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	return cty.StringVal(n.name), nil
}
func (n *nameExpr) Variables() []hcl.Traversal { return nil }
func (n *nameExpr) Range() hcl.Range           { return n.rng }
func (n *nameExpr) StartRange() hcl.Range      { return n.rng }

// bodyMode says how a JSON object's properties map to attributes and blocks.
type bodyMode int

const (
	// blockBody: objects and lists of objects are nested blocks.
	blockBody bodyMode = iota
	// attrsOnly: every property is an attribute (locals, module arguments,
	// variable and output settings, var files).
	attrsOnly
	// terraformBody: the terraform block, whose backend is labelled.
	terraformBody
	// referenceBody: moved, removed and import blocks, whose from, to and
	// id name addresses as bare strings.
	referenceBody
)

// mapAttributes are attributes of map or object type that JSON would
// otherwise make look like blocks.
var mapAttributes = map[string]bool{
	"tags": true, "tags_all": true, "variables": true, "airflow_configuration_options": true,
	"parameters": true, "labels": true, "triggers": true, "triggers_replace": true,
	"environment_variables": true, "default_arguments": true, "providers": true,
	"required_providers": true, "options": true, "metadata": true, "input": true,
}

type jsonConverter struct {
	file  string
	src   []byte
	diags hcl.Diagnostics
}

func (c *jsonConverter) object(e hcl.Expression) ([]hcl.KeyValuePair, *hcl.Diagnostic) {
	type exprMap interface{ ExprMap() []hcl.KeyValuePair }
	if m, ok := e.(exprMap); ok {
		if pairs := m.ExprMap(); pairs != nil {
			return pairs, nil
		}
	}
	return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect JSON value type", Detail: "A JSON object is required here.", Subject: e.StartRange().Ptr()}
}

func (c *jsonConverter) list(e hcl.Expression) ([]hcl.Expression, bool) {
	type exprList interface{ ExprList() []hcl.Expression }
	if l, ok := e.(exprList); ok {
		if items := l.ExprList(); items != nil {
			return items, true
		}
	}
	return nil, false
}

func (c *jsonConverter) isObject(e hcl.Expression) bool {
	_, d := c.object(e)
	return d == nil
}

// members returns an object's properties, reporting a value of another type.
func (c *jsonConverter) members(e hcl.Expression) []hcl.KeyValuePair {
	pairs, d := c.object(e)
	if d != nil {
		c.diags = append(c.diags, d)
	}
	var out []hcl.KeyValuePair
	for _, kv := range pairs {
		if c.key(kv) != "//" { // "//" is JSON syntax's comment
			out = append(out, kv)
		}
	}
	return out
}

// objects returns an object, or each object of a list: JSON writes several
// blocks of one type and labels as a list. Anything else where a block's
// body belongs is an error, as Terraform makes it, not a block that
// silently vanishes from every rule.
func (c *jsonConverter) objects(e hcl.Expression) []hcl.Expression {
	items, ok := c.list(e)
	if !ok {
		items = []hcl.Expression{e}
	}
	var out []hcl.Expression
	for _, it := range items {
		if _, d := c.object(it); d != nil {
			c.diags = append(c.diags, d)
			continue
		}
		out = append(out, it)
	}
	return out
}

// key returns an object key's text.
func (c *jsonConverter) key(kv hcl.KeyValuePair) string {
	if n, ok := kv.Key.(*nameExpr); ok {
		return n.name
	}
	if s, ok := c.raw(kv.Key).(string); ok {
		return s
	}
	return ""
}

// raw decodes the JSON text of a primitive value.
func (c *jsonConverter) raw(e hcl.Expression) any {
	rng := e.Range()
	if rng.Start.Byte < 0 || rng.End.Byte > len(c.src) || rng.Start.Byte >= rng.End.Byte {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c.src[rng.Start.Byte:rng.End.Byte]))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	return v
}

func (c *jsonConverter) block(typ string, labels []hcl.KeyValuePair, obj hcl.Expression, mode bodyMode) *hclsyntax.Block {
	rng := obj.Range()
	b := &hclsyntax.Block{Type: typ, OpenBraceRange: obj.StartRange(), CloseBraceRange: hcl.Range{Filename: c.file, Start: rng.End, End: rng.End}}
	// The header is where the innermost label is written ("mwaa": { … });
	// callers of an unlabelled block set it to where its type is written.
	b.TypeRange = obj.StartRange()
	for _, l := range labels {
		b.Labels = append(b.Labels, c.key(l))
		b.LabelRanges = append(b.LabelRanges, l.Key.Range())
	}
	if len(labels) > 0 {
		b.TypeRange = labels[len(labels)-1].Key.Range()
	}
	b.Body = c.body(obj, mode)
	return b
}

func (c *jsonConverter) body(obj hcl.Expression, mode bodyMode) *hclsyntax.Body {
	rng := obj.Range()
	body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: rng, EndRange: hcl.Range{Filename: c.file, Start: rng.End, End: rng.End}}
	for _, kv := range c.members(obj) {
		name := c.key(kv)
		switch {
		case mode == attrsOnly || mapAttributes[name]:
			c.addAttr(body, name, kv)
		case mode == terraformBody && name == "backend":
			for _, typ := range c.members(kv.Value) {
				for _, o := range c.objects(typ.Value) {
					body.Blocks = append(body.Blocks, c.block(name, []hcl.KeyValuePair{typ}, o, attrsOnly))
				}
			}
		case mode == referenceBody && (name == "from" || name == "to" || name == "id"),
			mode == blockBody && name == "provider":
			c.addReference(body, name, kv)
		case name == "dynamic":
			for _, nm := range c.members(kv.Value) {
				for _, o := range c.objects(nm.Value) {
					body.Blocks = append(body.Blocks, c.block(name, []hcl.KeyValuePair{nm}, o, blockBody))
				}
			}
		case c.isObject(kv.Value):
			blk := c.block(name, nil, kv.Value, childMode(mode))
			blk.TypeRange = kv.Key.Range()
			body.Blocks = append(body.Blocks, blk)
		default:
			if items, ok := c.list(kv.Value); ok && len(items) > 0 && c.allObjects(items) {
				// Each block of a list is where its own object starts.
				for _, it := range items {
					body.Blocks = append(body.Blocks, c.block(name, nil, it, childMode(mode)))
				}
				continue
			}
			c.addAttr(body, name, kv)
		}
	}
	return body
}

func childMode(m bodyMode) bodyMode {
	if m == terraformBody {
		return attrsOnly // required_providers, cloud: settings, not blocks
	}
	return blockBody
}

func (c *jsonConverter) allObjects(items []hcl.Expression) bool {
	for _, it := range items {
		if !c.isObject(it) {
			return false
		}
	}
	return true
}

func (c *jsonConverter) addAttr(body *hclsyntax.Body, name string, kv hcl.KeyValuePair) {
	e := c.expr(kv.Value)
	body.Attributes[name] = &hclsyntax.Attribute{Name: name, Expr: e, SrcRange: hcl.RangeBetween(kv.Key.Range(), e.Range()), NameRange: kv.Key.Range(), EqualsRange: kv.Key.Range()}
}

// addReference reads a bare address ("aws_s3_bucket.raw", "aws.replica") as
// the reference it is in JSON syntax: moved, removed and import blocks, and
// a resource's provider.
func (c *jsonConverter) addReference(body *hclsyntax.Body, name string, kv hcl.KeyValuePair) {
	s, ok := c.raw(kv.Value).(string)
	if !ok || strings.Contains(s, "${") {
		c.addAttr(body, name, kv)
		return
	}
	start := kv.Value.Range().Start
	start.Column++
	start.Byte++
	e, diags := hclsyntax.ParseExpression([]byte(s), c.file, start)
	if diags.HasErrors() {
		c.addAttr(body, name, kv)
		return
	}
	body.Attributes[name] = &hclsyntax.Attribute{Name: name, Expr: e, SrcRange: hcl.RangeBetween(kv.Key.Range(), kv.Value.Range()), NameRange: kv.Key.Range(), EqualsRange: kv.Key.Range()}
}

// expr converts a JSON value: objects and arrays to constructors, strings
// with ${…} or %{…} to the templates they are, other values to literals.
func (c *jsonConverter) expr(e hcl.Expression) hclsyntax.Expression {
	rng := e.Range()
	if pairs, d := c.object(e); d == nil {
		obj := &hclsyntax.ObjectConsExpr{SrcRange: rng, OpenRange: e.StartRange()}
		for _, kv := range pairs {
			k := c.key(kv)
			if k == "//" {
				continue
			}
			obj.Items = append(obj.Items, hclsyntax.ObjectConsItem{
				KeyExpr:   &hclsyntax.ObjectConsKeyExpr{Wrapped: &hclsyntax.LiteralValueExpr{Val: cty.StringVal(k), SrcRange: kv.Key.Range()}},
				ValueExpr: c.expr(kv.Value),
			})
		}
		return obj
	}
	if items, ok := c.list(e); ok {
		tup := &hclsyntax.TupleConsExpr{SrcRange: rng, OpenRange: e.StartRange()}
		for _, it := range items {
			tup.Exprs = append(tup.Exprs, c.expr(it))
		}
		return tup
	}
	lit := func(v cty.Value) hclsyntax.Expression { return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: rng} }
	switch v := c.raw(e).(type) {
	case string:
		if !strings.Contains(v, "${") && !strings.Contains(v, "%{") {
			return lit(cty.StringVal(v))
		}
		start := rng.Start
		start.Column++ // past the opening quote
		start.Byte++
		t, diags := hclsyntax.ParseTemplate([]byte(v), c.file, start)
		c.diags = append(c.diags, diags...)
		if diags.HasErrors() || t == nil {
			return lit(cty.DynamicVal)
		}
		return t
	case json.Number:
		if n, err := cty.ParseNumberVal(v.String()); err == nil {
			return lit(n)
		}
	case bool:
		return lit(cty.BoolVal(v))
	case nil:
		return lit(cty.NullVal(cty.DynamicPseudoType))
	}
	return lit(cty.DynamicVal)
}
