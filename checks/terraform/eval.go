package terraform

import (
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// unknown stands for a value Conveyor cannot know without a plan: a resource
// attribute, a variable without a value, a function it does not evaluate.
type unknown struct{}

// evaluator evaluates expressions of one module for one environment: var.*
// from defaults and the environment's tfvars, local.* from the locals, and
// everything else unknown. Rules stay quiet on unknown values, so a finding
// is always about something written in the code.
type evaluator struct {
	ctx *hcl.EvalContext
}

func functions() map[string]function.Function {
	return map[string]function.Function{
		"jsonencode": stdlib.JSONEncodeFunc,
		"jsondecode": stdlib.JSONDecodeFunc,
		"merge":      stdlib.MergeFunc,
		"concat":     stdlib.ConcatFunc,
		"format":     stdlib.FormatFunc,
		"lower":      stdlib.LowerFunc,
		"upper":      stdlib.UpperFunc,
		"join":       stdlib.JoinFunc,
		"split":      stdlib.SplitFunc,
		"lookup":     stdlib.LookupFunc,
		"coalesce":   stdlib.CoalesceFunc,
		"flatten":    stdlib.FlattenFunc,
		"distinct":   stdlib.DistinctFunc,
		"keys":       stdlib.KeysFunc,
		"values":     stdlib.ValuesFunc,
		"length":     stdlib.LengthFunc,
		"replace":    stdlib.ReplaceFunc,
		"trimspace":  stdlib.TrimSpaceFunc,
		"tolist":     stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset":      stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tomap":      stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tostring":   stdlib.MakeToFunc(cty.String),
		"tonumber":   stdlib.MakeToFunc(cty.Number),
		"tobool":     stdlib.MakeToFunc(cty.Bool),
	}
}

// newEvaluator builds the context for module m with tfvars values.
func newEvaluator(m *module, tfvars map[string]hclsyntax.Expression) *evaluator {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: functions()}
	// Every root a configuration may name is unknown unless set below, so
	// evaluation never fails on a reference; it just yields unknown.
	for _, r := range []string{"data", "module", "each", "count", "path", "terraform", "self"} {
		ctx.Variables[r] = cty.DynamicVal
	}
	for _, r := range m.resources {
		ctx.Variables[r.typ] = cty.DynamicVal
	}
	vars := map[string]cty.Value{}
	for _, v := range m.variables {
		if len(v.block.Labels) != 1 {
			continue
		}
		name := v.block.Labels[0]
		vars[name] = cty.DynamicVal
		if d, ok := v.block.Body.Attributes["default"]; ok {
			if val, diags := d.Expr.Value(nil); !diags.HasErrors() {
				vars[name] = val
			}
		}
	}
	for name, e := range tfvars {
		if val, diags := e.Value(nil); !diags.HasErrors() {
			vars[name] = val
		}
	}
	ctx.Variables["var"] = cty.ObjectVal(vars)
	ctx.Variables["local"] = cty.DynamicVal
	// Locals may refer to each other in any order; a few passes settle the
	// usual chains (tags built from other locals).
	locals := map[string]cty.Value{}
	for pass := 0; pass < 3 && len(m.locals) > 0; pass++ {
		for _, a := range m.locals {
			v, _ := a.Expr.Value(ctx)
			locals[a.Name] = v
		}
		ctx.Variables["local"] = cty.ObjectVal(locals)
	}
	return &evaluator{ctx: ctx}
}

// value evaluates e to a Go value: string, float64, bool, []any,
// map[string]any, nil, or unknown{} (also inside collections).
func (ev *evaluator) value(e hcl.Expression) any {
	if e == nil {
		return nil
	}
	if fc, ok := e.(*hclsyntax.FunctionCallExpr); ok && fc.Name == "jsonencode" && len(fc.Args) == 1 {
		// The policy document itself, with unknown parts kept unknown.
		return ev.value(fc.Args[0])
	}
	if t, ok := e.(*hclsyntax.TemplateExpr); ok && !t.IsStringLiteral() {
		return ev.template(t)
	}
	if w, ok := e.(*hclsyntax.TemplateWrapExpr); ok {
		return ev.value(w.Wrapped)
	}
	if o, ok := e.(*hclsyntax.ObjectConsExpr); ok {
		out := map[string]any{}
		for _, item := range o.Items {
			k, kdiags := item.KeyExpr.Value(ev.ctx)
			if kdiags.HasErrors() || !k.IsKnown() || k.IsNull() || !k.Type().Equals(cty.String) {
				continue
			}
			out[k.AsString()] = ev.value(item.ValueExpr)
		}
		return out
	}
	if tup, ok := e.(*hclsyntax.TupleConsExpr); ok {
		out := make([]any, 0, len(tup.Exprs))
		for _, x := range tup.Exprs {
			out = append(out, ev.value(x))
		}
		return out
	}
	v, diags := e.Value(ev.ctx)
	if diags.HasErrors() {
		return unknown{}
	}
	return toGo(v)
}

// template renders a string template; an unknown part becomes a placeholder
// naming the expression, so JSON in a heredoc still parses and `"${...}/*"`
// is never mistaken for `"*"`.
func (ev *evaluator) template(t *hclsyntax.TemplateExpr) any {
	var b strings.Builder
	for _, p := range t.Parts {
		v := ev.value(p)
		switch x := v.(type) {
		case string:
			b.WriteString(x)
		case float64, bool:
			b.WriteString(toGoString(x))
		default:
			b.WriteString("${?}")
		}
	}
	return b.String()
}

func toGoString(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return big.NewFloat(x).Text('f', -1)
	}
	return ""
}

func toGo(v cty.Value) any {
	if !v.IsKnown() {
		return unknown{}
	}
	if v.IsMarked() {
		v, _ = v.Unmark()
	}
	if v.IsNull() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case t == cty.Bool:
		return v.True()
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, toGo(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = toGo(e)
		}
		return out
	}
	return unknown{}
}

// attr evaluates a block's attribute; missing attributes are nil.
func (ev *evaluator) attr(b *hclsyntax.Body, name string) any {
	a, ok := b.Attributes[name]
	if !ok {
		return nil
	}
	return ev.value(a.Expr)
}

// isTrue reports a known true.
func isTrue(v any) bool { b, ok := v.(bool); return ok && b }

// isUnknown reports a value that cannot be known statically.
func isUnknown(v any) bool { _, ok := v.(unknown); return ok }

// stringList returns the known strings of a string or list value and
// whether any element is unknown.
func stringList(v any) (out []string, hasUnknown bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, false
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if ok {
				out = append(out, s)
			} else if e != nil {
				hasUnknown = true
			}
		}
		return out, hasUnknown
	case unknown:
		return nil, true
	}
	return nil, false
}
