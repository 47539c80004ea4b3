package terraform

import (
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// source is one parsed .tf, .tf.json, .tfvars or .tfvars.json file.
type source struct {
	path   string
	src    []byte
	body   *hclsyntax.Body // nil when the file does not parse
	tfvars bool
}

// resource is a `resource` or `data` block.
type resource struct {
	data  bool
	typ   string
	name  string
	block *hclsyntax.Block
	file  string
}

func (r *resource) addr() string {
	if r.data {
		return "data." + r.typ + "." + r.name
	}
	return r.typ + "." + r.name
}

// module is one folder of .tf files: a stack's root module or a local module.
type module struct {
	dir       string
	files     []*source
	resources []*resource
	// byAddr indexes resources by address ("aws_s3_bucket.mwaa", "data.x.y").
	byAddr    map[string]*resource
	providers []*located
	modules   []*located
	variables []*located
	locals    []*hclsyntax.Attribute
	backends  []*located
	// diags are syntax errors, reported as findings.
	diags hcl.Diagnostics
}

type located struct {
	block *hclsyntax.Block
	file  string
}

// parseFile parses a .tf, .tf.json, .tfvars or .tfvars.json file, each in
// its own syntax. Syntax errors are returned as diagnostics and the body is
// nil when nothing usable was parsed.
func parseFile(p string, src []byte) (*source, hcl.Diagnostics) {
	s := &source{path: p, src: src, tfvars: strings.HasSuffix(p, ".tfvars") || strings.HasSuffix(p, ".tfvars.json")}
	if isJSONFile(p) {
		body, diags := parseJSONBody(p, src, s.tfvars)
		s.body = body
		return s, diags
	}
	f, diags := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
	if f != nil {
		if b, ok := f.Body.(*hclsyntax.Body); ok {
			s.body = b
		}
	}
	return s, diags
}

// loadModule parses every .tf file directly inside dir.
func loadModule(dir string, files map[string][]byte) *module {
	m := &module{dir: dir, byAddr: map[string]*resource{}}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		s, diags := parseFile(p, files[p])
		m.diags = append(m.diags, diags...)
		m.files = append(m.files, s)
		if s.body == nil {
			continue
		}
		for _, b := range s.body.Blocks {
			switch b.Type {
			case "resource", "data":
				if len(b.Labels) != 2 {
					continue
				}
				r := &resource{data: b.Type == "data", typ: b.Labels[0], name: b.Labels[1], block: b, file: p}
				m.resources = append(m.resources, r)
				m.byAddr[r.addr()] = r
			case "provider":
				m.providers = append(m.providers, &located{b, p})
			case "module":
				m.modules = append(m.modules, &located{b, p})
			case "variable":
				m.variables = append(m.variables, &located{b, p})
			case "locals":
				for _, name := range sortedAttrNames(b.Body) {
					m.locals = append(m.locals, b.Body.Attributes[name])
				}
			case "terraform":
				for _, inner := range b.Body.Blocks {
					if inner.Type == "backend" || inner.Type == "cloud" {
						m.backends = append(m.backends, &located{inner, p})
					}
				}
			}
		}
	}
	return m
}

// isConfigFile reports Terraform configuration files, native or JSON.
func isConfigFile(p string) bool {
	return strings.HasSuffix(p, ".tf") || strings.HasSuffix(p, ".tf.json")
}

// moduleFiles returns the .tf and .tf.json files directly inside dir.
func moduleFiles(tree interface{ Files() []string }, dir string) []string {
	var out []string
	for _, f := range tree.Files() {
		if isConfigFile(f) && path.Dir(f) == dir {
			out = append(out, f)
		}
	}
	return out
}

// moduleCall is a call of a local module.
type moduleCall struct {
	dir string
	// providers maps the module's provider names to the caller's ("aws" →
	// "aws.replica"), from the call's `providers` argument; nil when the call
	// has none and the module inherits the caller's default providers.
	providers map[string]string
}

// inherit returns the default tags a called module's providers start with,
// given the caller's.
func (c moduleCall) inherit(caller providerTags) providerTags {
	out := providerTags{}
	if c.providers == nil {
		// Terraform hands a module the caller's default (unaliased)
		// provider configurations implicitly, and nothing else.
		if d, ok := caller["aws"]; ok {
			out["aws"] = d
		}
		return out
	}
	for child, parent := range c.providers {
		if d, ok := caller[parent]; ok {
			out[child] = d
		}
	}
	return out
}

// localModuleCalls returns the calls of local modules in m.
func (m *module) localModuleCalls() []moduleCall {
	var out []moduleCall
	for _, mc := range m.modules {
		src, ok := literalString(mc.block.Body.Attributes["source"])
		if !ok || !(strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../")) {
			continue
		}
		d := path.Clean(path.Join(m.dir, src))
		if d == "." || strings.HasPrefix(d, "../") {
			continue
		}
		c := moduleCall{dir: d}
		if a, ok := mc.block.Body.Attributes["providers"]; ok {
			c.providers = map[string]string{}
			if obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
				for _, item := range obj.Items {
					k := item.KeyExpr
					if w, ok := k.(*hclsyntax.ObjectConsKeyExpr); ok {
						k = w.Wrapped
					}
					child, ok := traversalOf(k)
					parent, pok := traversalOf(item.ValueExpr)
					if ok && pok {
						c.providers[strings.Join(traversalNames(child), ".")] = strings.Join(traversalNames(parent), ".")
					}
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// localModuleDirs returns the folders of local modules the module calls.
func (m *module) localModuleDirs() []string {
	var out []string
	for _, c := range m.localModuleCalls() {
		out = append(out, c.dir)
	}
	return out
}

// traversalOf reads a reference written bare (aws.replica) or, as JSON
// syntax writes it, as a string ("aws.replica").
func traversalOf(e hclsyntax.Expression) (hcl.Traversal, bool) {
	if t, diags := hcl.AbsTraversalForExpr(e); !diags.HasErrors() {
		return t, true
	}
	s, ok := exprLiteralString(e)
	if !ok {
		return nil, false
	}
	t, diags := hclsyntax.ParseTraversalAbs([]byte(s), e.Range().Filename, e.Range().Start)
	return t, !diags.HasErrors()
}

func sortedAttrNames(b *hclsyntax.Body) []string {
	names := make([]string, 0, len(b.Attributes))
	for n := range b.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// blocksOf returns the nested blocks of a type.
func blocksOf(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

// literalString returns an attribute's value when it is a plain string with
// no interpolation.
func literalString(a *hclsyntax.Attribute) (string, bool) {
	if a == nil {
		return "", false
	}
	return exprLiteralString(a.Expr)
}

func exprLiteralString(e hclsyntax.Expression) (string, bool) {
	switch x := e.(type) {
	case *hclsyntax.TemplateExpr:
		if !x.IsStringLiteral() {
			return "", false
		}
		v, diags := x.Value(nil)
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() {
			return "", false
		}
		return v.AsString(), true
	case *hclsyntax.LiteralValueExpr:
		if x.Val.Type().FriendlyName() == "string" && !x.Val.IsNull() {
			return x.Val.AsString(), true
		}
	}
	return "", false
}

// refs returns the resources an expression refers to, as "type.name" or
// "data.type.name", plus every traversal for callers that look at attribute names.
func refs(e hcl.Expression) []hcl.Traversal {
	if e == nil {
		return nil
	}
	return e.Variables()
}

// refAddr turns a traversal into the address of the resource it names.
func refAddr(t hcl.Traversal) string {
	names := traversalNames(t)
	if len(names) >= 3 && names[0] == "data" {
		return "data." + names[1] + "." + names[2]
	}
	if len(names) >= 2 {
		return names[0] + "." + names[1]
	}
	return ""
}

// traversalNames lists the attribute names of a traversal, skipping indexes.
func traversalNames(t hcl.Traversal) []string {
	var out []string
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			out = append(out, s.Name)
		case hcl.TraverseAttr:
			out = append(out, s.Name)
		}
	}
	return out
}

// refersTo reports whether e refers to the resource addr.
func refersTo(e hcl.Expression, addr string) bool {
	for _, t := range refs(e) {
		if refAddr(t) == addr {
			return true
		}
	}
	return false
}
