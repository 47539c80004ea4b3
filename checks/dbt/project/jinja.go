package project

import (
	"fmt"
	"regexp"
	"strings"
)

// Jinja is scanned, never executed: the scanner finds every call to ref(),
// source(), config() and macros inside {{ }} and {% %} blocks, wherever they
// sit (inside {% if %}, {% for %}, {% set %}, macro bodies), and records what
// it cannot know statically (a ref whose argument is a variable) as an
// Unknown rather than guessing.

// Ref is one ref() call.
type Ref struct {
	Package string `json:"package,omitempty"`
	Name    string `json:"name"`
	// Version is the pinned version (v= or version=), empty when unpinned.
	Version string `json:"version,omitempty"`
	Line    int    `json:"line"`
	// Conditional is true when the call sits inside {% if %} or {% for %}.
	Conditional bool `json:"conditional,omitempty"`
}

// SourceRef is one source() call.
type SourceRef struct {
	Source      string `json:"source"`
	Table       string `json:"table"`
	Line        int    `json:"line"`
	Conditional bool   `json:"conditional,omitempty"`
}

// Unknown is something the scanner found but cannot resolve without running
// Jinja, reported so a reviewer knows the graph may be incomplete there.
type Unknown struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Value is a call argument as far as it is statically known.
type Value struct {
	// Kind is "string", "bool", "number", "list", "dict", "none" or "expr" (not static).
	Kind string
	Str  string
	Bool bool
	List []Value
	Dict map[string]Value
	Raw  string
}

// Strings returns a string or a list of strings; ok is false for anything else.
func (v Value) Strings() ([]string, bool) {
	switch v.Kind {
	case "string":
		return []string{v.Str}, true
	case "list":
		out := make([]string, 0, len(v.List))
		for _, e := range v.List {
			if e.Kind != "string" {
				return nil, false
			}
			out = append(out, e.Str)
		}
		return out, true
	}
	return nil, false
}

// Call is one function call found in a Jinja block.
type Call struct {
	Name        string
	Args        []Value
	Kwargs      map[string]Value
	Line        int
	Conditional bool
}

// SQLFacts is what a scan of one .sql file finds.
type SQLFacts struct {
	Refs    []Ref
	Sources []SourceRef
	// Configs are the config() calls, in order.
	Configs []Call
	// MacroCalls are calls to anything else (candidate macros), by name.
	MacroCalls []Call
	Macros     []MacroDef
	Unknowns   []Unknown
	// SQL is the text with Jinja blocks blanked out (newlines kept), for the
	// SQL-level scans.
	SQL string
}

// MacroDef is a {% macro %} definition.
type MacroDef struct {
	Name    string      `json:"name"`
	Line    int         `json:"line"`
	Refs    []Ref       `json:"refs,omitempty"`
	Sources []SourceRef `json:"sources,omitempty"`
	Calls   []string    `json:"calls,omitempty"`
}

// endRawRe is the tag that closes a {% raw %} block.
var endRawRe = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)

// jinjaBuiltins are names the scanner never treats as macro calls.
var jinjaBuiltins = map[string]bool{
	"ref": true, "source": true, "config": true, "var": true, "env_var": true, "is_incremental": true,
	"range": true, "loop": true, "return": true, "log": true, "print": true, "exceptions": true,
	"adapter": true, "run_query": true, "statement": true, "caller": true, "super": true, "this": true,
	"dict": true, "list": true, "zip": true, "modules": true, "fromjson": true, "tojson": true, "fromyaml": true,
	"toyaml": true, "set": true, "namespace": true, "lower": true, "upper": true, "join": true, "replace": true,
	"format": true, "items": true, "keys": true, "values": true, "get": true, "append": true, "split": true,
	"strip": true, "startswith": true, "endswith": true, "length": true, "string": true, "int": true, "float": true,
	"render": true, "api": true, "load_result": true, "execute": true, "graph": true, "target": true, "trim": true,
	"debug": true, "local_md5": true, "zip_strict": true, "set_strict": true, "selected_resources": true,
}

// ScanSQL scans one .sql file (a model, a snapshot or a macro file). path is
// used in Unknowns only.
func ScanSQL(path, src string) SQLFacts {
	var f SQLFacts
	plain := []byte(src)
	lineAt := newLineIndex(src)
	depth := 0 // nesting of if/for blocks
	var macro *MacroDef
	i := 0
	for i < len(src) {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			break
		}
		start := i + j
		open := src[start+1]
		var closeTok string
		switch open {
		case '{':
			closeTok = "}}"
		case '%':
			closeTok = "%}"
		case '#':
			closeTok = "#}"
		default:
			i = start + 1
			continue
		}
		end := findClose(src, start+2, closeTok)
		if end < 0 {
			f.Unknowns = append(f.Unknowns, Unknown{Path: path, Line: lineAt(start), Reason: fmt.Sprintf("unclosed %s block", src[start:start+2])})
			blank(plain, start, len(src))
			break
		}
		blank(plain, start, end+2)
		body := src[start+2 : end]
		i = end + 2
		if open == '#' {
			continue
		}
		body = strings.Trim(body, "-+")
		if open == '%' {
			kw := firstWord(body)
			switch kw {
			case "if", "for":
				depth++
			case "endif", "endfor":
				if depth > 0 {
					depth--
				}
			case "macro":
				name := firstWord(strings.TrimSpace(body)[len("macro"):])
				if k := strings.IndexByte(name, '('); k >= 0 {
					name = name[:k]
				}
				f.Macros = append(f.Macros, MacroDef{Name: name, Line: lineAt(start)})
				macro = &f.Macros[len(f.Macros)-1]
				continue
			case "endmacro":
				macro = nil
				continue
			case "raw":
				// Everything up to {% endraw %} is literal text that dbt
				// copies into the SQL as it is: nothing in it is Jinja.
				loc := endRawRe.FindStringIndex(src[i:])
				if loc == nil {
					f.Unknowns = append(f.Unknowns, Unknown{Path: path, Line: lineAt(start), Reason: "unclosed {% raw %} block"})
					i = len(src)
					continue
				}
				blank(plain, i+loc[0], i+loc[1])
				i += loc[1]
				continue
			case "call", "materialization", "test", "snapshot", "docs", "enddocs":
			}
		}
		calls, unknowns := scanCalls(body, start+2, lineAt)
		for _, u := range unknowns {
			u.Path = path
			f.Unknowns = append(f.Unknowns, u)
		}
		for _, c := range calls {
			c.Conditional = depth > 0
			f.addCall(path, c, macro)
		}
	}
	f.SQL = string(plain)
	return f
}

func (f *SQLFacts) addCall(path string, c Call, macro *MacroDef) {
	switch c.Name {
	case "ref":
		r, ok := refFromCall(c)
		if !ok {
			f.Unknowns = append(f.Unknowns, Unknown{Path: path, Line: c.Line, Reason: "ref() with an argument that is not a literal string cannot be resolved statically"})
			return
		}
		if macro != nil {
			macro.Refs = append(macro.Refs, r)
		} else {
			f.Refs = append(f.Refs, r)
		}
	case "source":
		if len(c.Args) != 2 || c.Args[0].Kind != "string" || c.Args[1].Kind != "string" {
			f.Unknowns = append(f.Unknowns, Unknown{Path: path, Line: c.Line, Reason: "source() needs two literal strings to be resolved statically"})
			return
		}
		s := SourceRef{Source: c.Args[0].Str, Table: c.Args[1].Str, Line: c.Line, Conditional: c.Conditional}
		if macro != nil {
			macro.Sources = append(macro.Sources, s)
		} else {
			f.Sources = append(f.Sources, s)
		}
	case "config":
		if macro == nil {
			f.Configs = append(f.Configs, c)
		}
	default:
		if jinjaBuiltins[c.Name] || strings.HasPrefix(c.Name, "adapter.") || strings.HasPrefix(c.Name, "exceptions.") || strings.HasPrefix(c.Name, "modules.") || strings.Contains(c.Name, "..") {
			return
		}
		if macro != nil {
			macro.Calls = appendUnique(macro.Calls, c.Name)
		} else {
			f.MacroCalls = append(f.MacroCalls, c)
		}
	}
}

func refFromCall(c Call) (Ref, bool) {
	r := Ref{Line: c.Line, Conditional: c.Conditional}
	switch len(c.Args) {
	case 1:
		if c.Args[0].Kind != "string" {
			return r, false
		}
		r.Name = c.Args[0].Str
	case 2:
		if c.Args[0].Kind != "string" || c.Args[1].Kind != "string" {
			return r, false
		}
		r.Package, r.Name = c.Args[0].Str, c.Args[1].Str
	default:
		return r, false
	}
	if r.Name == "" {
		return r, false
	}
	for _, k := range []string{"v", "version"} {
		if v, ok := c.Kwargs[k]; ok {
			switch v.Kind {
			case "string", "number":
				r.Version = v.Str
			default:
				return r, false
			}
		}
	}
	return r, true
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// findClose finds closeTok after from, skipping quoted strings.
func findClose(src string, from int, closeTok string) int {
	var quote byte
	for k := from; k < len(src)-1; k++ {
		ch := src[k]
		if quote != 0 {
			if ch == '\\' {
				k++
			} else if ch == quote {
				quote = 0
			}
			continue
		}
		if ch == '\'' || ch == '"' {
			quote = ch
			continue
		}
		if ch == closeTok[0] && src[k+1] == closeTok[1] {
			// "-}}" and "+%}" whitespace control are part of the body
			return k
		}
	}
	return -1
}

func blank(b []byte, from, to int) {
	for k := from; k < to && k < len(b); k++ {
		if b[k] != '\n' {
			b[k] = ' '
		}
	}
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	for k := 0; k < len(s); k++ {
		if !isIdent(s[k]) {
			return s[:k]
		}
	}
	return s
}

func newLineIndex(src string) func(off int) int {
	var starts []int
	starts = append(starts, 0)
	for k := 0; k < len(src); k++ {
		if src[k] == '\n' {
			starts = append(starts, k+1)
		}
	}
	return func(off int) int {
		lo, hi := 0, len(starts)-1
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if starts[mid] <= off {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		return lo + 1
	}
}

// token is a lexeme of a Jinja expression.
type token struct {
	kind byte // 'i' ident (dotted), 's' string, 'n' number, 'p' punctuation
	text string
	off  int
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func lex(s string, base int) []token {
	var toks []token
	for k := 0; k < len(s); {
		c := s[k]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			k++
		case c == '\'' || c == '"':
			q := c
			var b strings.Builder
			m := k + 1
			for m < len(s) && s[m] != q {
				if s[m] == '\\' && m+1 < len(s) {
					m++
				}
				b.WriteByte(s[m])
				m++
			}
			toks = append(toks, token{'s', b.String(), base + k})
			k = m + 1
		case c >= '0' && c <= '9':
			m := k
			for m < len(s) && (s[m] >= '0' && s[m] <= '9' || s[m] == '.') {
				m++
			}
			toks = append(toks, token{'n', s[k:m], base + k})
			k = m
		case isIdent(c):
			m := k
			for m < len(s) && (isIdent(s[m]) || s[m] == '.' && m+1 < len(s) && isIdent(s[m+1])) {
				m++
			}
			toks = append(toks, token{'i', s[k:m], base + k})
			k = m
		default:
			toks = append(toks, token{'p', string(c), base + k})
			k++
		}
	}
	return toks
}

// scanCalls finds every call in a block, nested ones included.
func scanCalls(body string, base int, lineAt func(int) int) ([]Call, []Unknown) {
	toks := lex(body, base)
	var calls []Call
	var unknowns []Unknown
	for k := 0; k+1 < len(toks); k++ {
		if toks[k].kind != 'i' || toks[k+1].text != "(" || toks[k+1].kind != 'p' {
			continue
		}
		// a method call on a value ("x.items()") is not a macro; keep dotted
		// package macros ("dbt_utils.star").
		if k > 0 && toks[k-1].kind == 'p' && (toks[k-1].text == "." || toks[k-1].text == "|") {
			continue
		}
		c := Call{Name: toks[k].text, Line: lineAt(toks[k].off), Kwargs: map[string]Value{}}
		args, ok := splitArgs(toks, k+2)
		if !ok {
			unknowns = append(unknowns, Unknown{Line: c.Line, Reason: fmt.Sprintf("%s( is not closed", c.Name)})
			continue
		}
		for _, a := range args {
			if len(a) >= 2 && a[0].kind == 'i' && a[1].kind == 'p' && a[1].text == "=" {
				c.Kwargs[a[0].text] = parseValue(a[2:])
				continue
			}
			c.Args = append(c.Args, parseValue(a))
		}
		calls = append(calls, c)
	}
	return calls, unknowns
}

// splitArgs splits the tokens after "(" at top-level commas up to the matching ")".
func splitArgs(toks []token, from int) ([][]token, bool) {
	var args [][]token
	var cur []token
	depth := 0
	for k := from; k < len(toks); k++ {
		t := toks[k]
		if t.kind == 'p' {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth == 0 {
					if t.text != ")" {
						return nil, false
					}
					if len(cur) > 0 {
						args = append(args, cur)
					}
					return args, true
				}
				depth--
			case ",":
				if depth == 0 {
					args = append(args, cur)
					cur = nil
					continue
				}
			}
		}
		cur = append(cur, t)
	}
	return nil, false
}

func parseValue(ts []token) Value {
	raw := joinTokens(ts)
	if len(ts) == 1 {
		t := ts[0]
		switch t.kind {
		case 's':
			return Value{Kind: "string", Str: t.text, Raw: raw}
		case 'n':
			return Value{Kind: "number", Str: t.text, Raw: raw}
		case 'i':
			switch t.text {
			case "true", "True":
				return Value{Kind: "bool", Bool: true, Raw: raw}
			case "false", "False":
				return Value{Kind: "bool", Raw: raw}
			case "none", "None":
				return Value{Kind: "none", Raw: raw}
			}
		}
		return Value{Kind: "expr", Raw: raw}
	}
	// adjacent string literals concatenate in Jinja's Python-like syntax only with ~; keep as expr
	if len(ts) >= 2 && ts[0].kind == 'p' {
		inner, ok := enclosed(ts)
		if !ok {
			return Value{Kind: "expr", Raw: raw}
		}
		switch ts[0].text {
		case "[", "(":
			v := Value{Kind: "list", Raw: raw}
			for _, part := range splitTop(inner) {
				v.List = append(v.List, parseValue(part))
			}
			return v
		case "{":
			v := Value{Kind: "dict", Dict: map[string]Value{}, Raw: raw}
			for _, part := range splitTop(inner) {
				if len(part) >= 3 && part[0].kind == 's' && part[1].text == ":" {
					v.Dict[part[0].text] = parseValue(part[2:])
				} else {
					return Value{Kind: "expr", Raw: raw}
				}
			}
			return v
		}
	}
	return Value{Kind: "expr", Raw: raw}
}

// enclosed returns the tokens between a bracket pair that spans all of ts.
func enclosed(ts []token) ([]token, bool) {
	depth := 0
	for k, t := range ts {
		if t.kind != 'p' {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 && k != len(ts)-1 {
				return nil, false
			}
		}
	}
	if depth != 0 {
		return nil, false
	}
	return ts[1 : len(ts)-1], true
}

func splitTop(ts []token) [][]token {
	var out [][]token
	var cur []token
	depth := 0
	for _, t := range ts {
		if t.kind == 'p' {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			case ",":
				if depth == 0 {
					if len(cur) > 0 {
						out = append(out, cur)
					}
					cur = nil
					continue
				}
			}
		}
		cur = append(cur, t)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func joinTokens(ts []token) string {
	var b strings.Builder
	for k, t := range ts {
		if k > 0 {
			b.WriteByte(' ')
		}
		if t.kind == 's' {
			b.WriteString("'" + t.text + "'")
		} else {
			b.WriteString(t.text)
		}
	}
	return b.String()
}
