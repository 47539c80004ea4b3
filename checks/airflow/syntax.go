package airflow

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// syntaxError returns the syntax error CPython (Python 3.py) would report
// for the file: tree-sitter's ERROR and MISSING nodes, plus what its grammar
// accepts but CPython does not (print statements, `<>`, `0777`, return
// outside a function, repeated keyword arguments …).
func syntaxError(file string, t *ptree, py int) (Finding, bool) {
	mk := func(n int32, msg string) (Finding, bool) {
		x := &t.nodes[n]
		return Finding{Rule: RuleSyntax, Level: rule(RuleSyntax).level, File: file, Line: int(x.line), Column: int(x.col),
			EndLine: int(x.eline), EndColumn: int(x.ecol), Message: "SyntaxError: " + msg + "; Airflow cannot import this file, so none of its DAGs load"}, true
	}
	if j := bytes.IndexByte(t.src, 0); j >= 0 {
		line := bytes.Count(t.src[:j], []byte("\n")) + 1
		return Finding{Rule: RuleSyntax, Level: rule(RuleSyntax).level, File: file, Line: line, Column: 1, Message: "SyntaxError: source code cannot contain null bytes"}, true
	}
	if line, msg := encodingError(t.src); msg != "" {
		return Finding{Rule: RuleSyntax, Level: rule(RuleSyntax).level, File: file, Line: line, Column: 1, Message: "SyntaxError: " + msg}, true
	}
	// CPython parses the whole file before its symbol table and compiler
	// run, so a parse error anywhere wins over an earlier "late" error.
	// The tokenizer's indentation errors come before any parser error on
	// their line or after it, and before every late error. A block check
	// or an ERROR node that reaches that line is most likely the same
	// mistake seen through tree-sitter's recovery.
	indentMsg, indentAt := indentationError(t)
	indentLine := int32(1 << 30)
	if indentAt >= 0 {
		indentLine = t.nodes[indentAt].line
	}
	lateMsg, lateAt := "", int32(-1)
	// Some checks report at a node after the one they run on (a block's
	// misindented statement), so the earliest parse-time error found so far
	// waits until the walk passes it; the indentation error starts there.
	pendMsg, pendAt := indentMsg, indentAt
	earlier := func(at int32) bool {
		if pendAt < 0 {
			return true
		}
		a, p := &t.nodes[at], &t.nodes[pendAt]
		if pendAt == indentAt {
			return a.line < p.line
		}
		return a.start < p.start
	}
	for n := int32(0); int(n) < len(t.nodes); n++ {
		x := &t.nodes[n]
		if (x.kind == "ERROR" || x.miss) && x.eline >= indentLine {
			return mk(indentAt, indentMsg)
		}
		if pendAt >= 0 && x.start >= t.nodes[pendAt].start {
			return mk(pendAt, pendMsg)
		}
		if x.kind == "named_expression" && t.kind(x.parent) == "interpolation" {
			// f"{a:=^10}" is a with the format spec "=^10" to CPython;
			// tree-sitter reads a := and then stumbles on the spec.
			for root := n; int(n)+1 < len(t.nodes) && descends(t, n+1, root); {
				n++
			}
			continue
		}
		switch {
		case x.kind == "ERROR":
			if s := enclosingFString(t, n); s >= 0 {
				// CPython 3.11 parses a replacement field when it decodes
				// the literal, so its errors come where decoding ones do.
				return mk(decodeErrorAt(t, s, n), "f-string: invalid syntax near "+quoteSnippet(t.text(n)))
			}
			return mk(n, "invalid syntax near "+quoteSnippet(t.text(n)))
		case x.miss:
			return mk(n, fmt.Sprintf("expected %q", x.kind))
		}
		msg, at, late := semanticError(t, n, py)
		switch {
		case msg == "":
		case !late:
			if earlier(at) {
				pendMsg, pendAt = msg, at
			}
		case lateAt < 0:
			lateMsg, lateAt = msg, at
		}
	}
	if pendAt >= 0 {
		return mk(pendAt, pendMsg)
	}
	if lateAt >= 0 {
		return mk(lateAt, lateMsg)
	}
	return Finding{}, false
}

// descends reports whether node d is inside node a's subtree; parents
// come before their children in the flattened tree.
func descends(t *ptree, d, a int32) bool {
	for p := t.nodes[d].parent; p >= a; p = t.nodes[p].parent {
		if p == a {
			return true
		}
	}
	return false
}

// indentationError returns the first indentation error CPython's tokenizer
// raises, and the node of the line it is on (-1 when none).
func indentationError(t *ptree) (string, int32) {
	var cols, alts [32]int32
	ind := indenter{cols: cols[:1], alts: alts[:1]}
	for n := int32(1); int(n) < len(t.nodes); n++ {
		if t.nodes[n].named && startsLogicalLine(t, n) {
			if msg := ind.line(t, n); msg != "" {
				return msg, n
			}
		}
	}
	return "", -1
}

// indenter follows CPython's tokenizer through the indentation of each
// logical line, which tree-sitter's grammar checks only loosely: it lets a
// line dedent to a column no enclosing block uses, and does not compare
// tabs with spaces.
type indenter struct {
	cols []int32 // indentation stack, tabs to multiples of 8
	alts []int32 // the same with tabs as one column, to catch tab/space mixes
}

// line takes the logical line that node n starts and returns CPython's
// complaint about its indentation, if any.
func (d *indenter) line(t *ptree, n int32) string {
	x := &t.nodes[n]
	var col, alt int32
	for _, b := range t.src[x.start-uint32(x.col-1) : x.start] {
		switch b {
		case ' ':
			col, alt = col+1, alt+1
		case '\t':
			col, alt = (col/8+1)*8, alt+1
		case '\f':
			col, alt = 0, 0
		}
	}
	const tabs = "inconsistent use of tabs and spaces in indentation"
	top := len(d.cols) - 1
	switch {
	case col == d.cols[top]:
		if alt != d.alts[top] {
			return tabs
		}
	case col > d.cols[top]:
		// Whether a block may open here is the grammar's business
		// ("unexpected indent"); the tokenizer only records the level.
		if alt <= d.alts[top] {
			return tabs
		}
		d.cols, d.alts = append(d.cols, col), append(d.alts, alt)
	default:
		for top > 0 && col < d.cols[top] {
			top--
		}
		d.cols, d.alts = d.cols[:top+1], d.alts[:top+1]
		if col != d.cols[top] {
			return "unindent does not match any outer indentation level"
		}
		if alt != d.alts[top] {
			return tabs
		}
	}
	return ""
}

// startsLogicalLine reports whether node n begins a logical line: a
// statement, clause (else:, except: …) or decorator that is the first thing
// on its physical line, which does not continue the one before it.
func startsLogicalLine(t *ptree, n int32) bool {
	x := &t.nodes[n]
	if x.kind == "comment" {
		return false // a comment's indentation means nothing to the tokenizer
	}
	switch t.nodes[x.parent].kind {
	case "module", "block", "decorated_definition":
	default:
		switch x.kind {
		case "else_clause", "elif_clause", "except_clause", "except_group_clause", "finally_clause":
		default:
			return false
		}
	}
	if x.col < 1 || uint32(x.col-1) > x.start || int(x.start) > len(t.src) {
		return false
	}
	ls := x.start - uint32(x.col-1)
	for _, b := range t.src[ls:x.start] {
		if b != ' ' && b != '\t' && b != '\f' {
			return false
		}
	}
	// After a backslash continuation the line's indentation means nothing.
	prev := t.src[:ls]
	prev = bytes.TrimSuffix(prev, []byte("\n"))
	prev = bytes.TrimSuffix(prev, []byte("\r"))
	return !bytes.HasSuffix(prev, []byte("\\"))
}

// encodingError checks the file's bytes against its source encoding, as
// CPython's tokenizer does before it reads a token: UTF-8 unless a PEP 263
// declaration names another, which must be a text codec CPython knows.
func encodingError(src []byte) (line int, msg string) {
	enc, at, ok := codingCookie(src)
	if !ok {
		enc = "utf-8"
	}
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) && enc != "utf-8" {
		return at, fmt.Sprintf("encoding problem: %s with BOM", enc)
	}
	norm := normalizeEncoding(enc)
	switch {
	case hasName(utf8Encodings, norm):
		if utf8.Valid(src) {
			return 0, ""
		}
		bad := 0
		for bad < len(src) {
			r, size := utf8.DecodeRune(src[bad:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		what := "the file is not valid UTF-8 and declares no encoding"
		if ok {
			what = "the file is not valid UTF-8, the encoding it declares"
		}
		return bytes.Count(src[:bad], []byte("\n")) + 1, fmt.Sprintf("(unicode error) 'utf-8' codec can't decode byte 0x%02x: %s", src[bad], what)
	case hasName(asciiEncodings, norm):
		// CPython says line 0; the bad byte's line is where to look.
		for i, b := range src {
			if b >= 0x80 {
				return bytes.Count(src[:i], []byte("\n")) + 1, fmt.Sprintf("'ascii' codec can't decode byte 0x%02x: the file declares %s", b, enc)
			}
		}
	case hasName(nonTextEncodings, norm):
		return at, fmt.Sprintf("'%s' is not a text encoding", enc)
	case !hasName(textEncodings, norm) && !hasName(textEncodings, strings.ReplaceAll(norm, ".", "_")):
		return at, "unknown encoding: " + enc
	}
	return 0, ""
}

// codingCookie finds a PEP 263 declaration the way CPython's tokenizer does:
// `coding[:=]` then a name of letters, digits, `-`, `_` and `.`, in a line
// holding only a comment, on line 1, or on line 2 when line 1 is a comment
// or blank. It returns the name (utf-8 and latin-1 spellings made
// canonical, as the tokenizer does) and its line.
func codingCookie(src []byte) (enc string, line int, ok bool) {
	rest := src[:min(len(src), 1024)]
	rest = bytes.TrimPrefix(rest, []byte("\xef\xbb\xbf"))
	for line = 1; line <= 2; line++ {
		end := bytes.IndexAny(rest, "\r\n")
		if end < 0 {
			end = len(rest)
		}
		l := rest[:end]
		body := bytes.TrimLeft(l, " \t\f")
		if len(body) > 0 && body[0] != '#' {
			return "", 0, false // code: no declaration here or on line 2
		}
		for k := bytes.Index(body, []byte("coding")); k >= 0; {
			v := body[k+6:]
			if len(v) > 0 && (v[0] == ':' || v[0] == '=') {
				v = bytes.TrimLeft(v[1:], " \t")
				n := 0
				for n < len(v) && (isAlnum(v[n]) || v[n] == '-' || v[n] == '_' || v[n] == '.') {
					n++
				}
				if n > 0 {
					return normalName(string(v[:n])), line, true
				}
			}
			next := bytes.Index(v, []byte("coding"))
			if next < 0 {
				break
			}
			k += 6 + next
		}
		if end == len(rest) {
			break
		}
		if rest[end] == '\r' && end+1 < len(rest) && rest[end+1] == '\n' {
			end++
		}
		rest = rest[end+1:]
	}
	return "", 0, false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// normalName is the tokenizer's get_normal_name: the spellings of utf-8
// and latin-1 it recognizes itself, judged on the first 12 characters.
func normalName(s string) string {
	b := []byte(strings.ToLower(s[:min(len(s), 12)]))
	for i := range b {
		if b[i] == '_' {
			b[i] = '-'
		}
	}
	h := string(b)
	switch {
	case h == "utf-8" || strings.HasPrefix(h, "utf-8-"):
		return "utf-8"
	case h == "latin-1" || h == "iso-8859-1" || h == "iso-latin-1" ||
		strings.HasPrefix(h, "latin-1-") || strings.HasPrefix(h, "iso-8859-1-") || strings.HasPrefix(h, "iso-latin-1-"):
		return "iso-8859-1"
	}
	return s
}

// normalizeEncoding is encodings.normalize_encoding after the codec
// registry's lower-casing: runs of other characters than letters, digits
// and '.' become one '_', none at either end.
func normalizeEncoding(s string) string {
	var b strings.Builder
	punct := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || c == '.' {
			if punct && b.Len() > 0 {
				b.WriteByte('_')
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
			punct = false
		} else {
			punct = true
		}
	}
	return b.String()
}

func hasName(sorted []string, name string) bool {
	i := sort.SearchStrings(sorted, name)
	return i < len(sorted) && sorted[i] == name
}

func quoteSnippet(s string) string {
	s = strings.TrimSpace(s)
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		s = s[:j]
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// semanticError checks node n for what tree-sitter's grammar accepts but
// CPython (of Python 3.py) rejects. late marks errors CPython raises only
// after the whole file parsed (symbol table and compiler), which therefore
// lose to any parse error elsewhere in the file.
func semanticError(t *ptree, n int32, py int) (msg string, at int32, late bool) {
	x := &t.nodes[n]
	if x.line != x.eline {
		switch x.kind {
		case "expression_statement", "return_statement", "delete_statement", "raise_statement", "import_statement",
			"import_from_statement", "future_import_statement", "global_statement", "nonlocal_statement", "assert_statement",
			"type_alias_statement":
			// tree-sitter lets a simple statement run on past a line end
			// outside brackets (`x =`, then a value on the next line);
			// CPython ends the statement there.
			if at := lineJoinError(t, n); at >= 0 {
				return "invalid syntax (the statement ends at the line end; continue it inside brackets or after a backslash)", at, false
			}
		}
	}
	switch x.kind {
	case "identifier":
		// tree-sitter falls back to reading a keyword as a name where the
		// keyword cannot go: a stray `else:` becomes the annotated
		// assignment `else: pass`. CPython never takes a keyword as a name.
		if isKeyword(t.src[x.start:min(int(x.end), len(t.src))]) {
			return fmt.Sprintf("invalid syntax ('%s' is a keyword and cannot start a statement or name a value here)", t.text(n)), n, false
		}
	case "try_statement":
		// A bare except catches everything, so CPython's compiler refuses a
		// handler after it.
		var bare int32 = -1
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind != "except_clause" {
				continue
			}
			if bare >= 0 {
				return "default 'except:' must be last", bare, true
			}
			if k := firstNamed(t, c); k >= 0 && t.nodes[k].kind == "block" {
				bare = c
			}
		}
	case "type_parameter":
		if py < 12 && x.field == "type_parameters" {
			return "invalid syntax (type parameter lists like [T] need Python 3.12)", n, false
		}
	case "type_alias_statement":
		// tree-sitter also reads `type(obj).attr = v` as a type alias; only
		// a plain name (or a generic one, `X[T]`) makes it one for CPython.
		if py < 12 && isTypeAliasName(t, t.field(n, "left")) {
			return "invalid syntax (the type statement needs Python 3.12)", n, false
		}
	case "list_comprehension", "set_comprehension", "generator_expression":
		if b := t.field(n, "body"); t.kind(b) == "list_splat" {
			return "iterable unpacking cannot be used in comprehension", b, false
		}
	case "named_expression":
		// CPython takes an unparenthesized := only where a lone expression
		// stands: a condition, a call's positional argument, an index, an
		// element, a comprehension's value or a match subject.
		switch p := x.parent; t.kind(p) {
		case "parenthesized_expression", "argument_list", "subscript", "list", "set", "tuple", "match_statement",
			"expression_statement", // reported there, with its own message
			"interpolation":        // f"{a:=1}" is a with the format spec "=1", which tree-sitter misreads
		case "if_statement", "elif_clause", "while_statement":
			if x.field != "condition" {
				return "invalid syntax (':=' needs parentheses here)", n, false
			}
		case "list_comprehension", "set_comprehension", "generator_expression":
			if x.field != "body" {
				return "invalid syntax (':=' needs parentheses here)", n, false
			}
		default:
			return "invalid syntax (':=' needs parentheses here)", n, false
		}
	case "match_statement":
		return unreachableCase(t, n)
	case "as_pattern":
		// `case p as x as y`: CPython's grammar takes `as` only after an
		// or-pattern, so a second one needs parentheses around the first.
		if t.kind(x.parent) == "case_pattern" {
			if inner := firstNamed(t, n); t.kind(inner) == "case_pattern" && t.kind(firstNamed(t, inner)) == "as_pattern" {
				for c := x.first; c >= 0; c = t.nodes[c].next {
					if t.nodes[c].kind == "as" {
						return "invalid syntax (a second 'as' in a pattern needs parentheses around the first)", c, false
					}
				}
			}
		}
	case "decorated_definition":
		// tree-sitter lets the def under a decorator sit deeper; the
		// tokenizer sees an indent no block opened.
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if cn := &t.nodes[c]; cn.named && cn.col > x.col && startsLogicalLine(t, c) {
				return "unexpected indent", c, false
			}
		}
	case "print_statement":
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind == "chevron" {
				return "", n, false // `print >>f, x` is the expression (print >> f), x to Python 3
			}
		}
		return "Missing parentheses in call to 'print'", n, false
	case "raise_statement":
		if k := x.first; k >= 0 && t.nodes[k].next >= 0 && t.nodes[t.nodes[k].next].kind == "from" {
			return "invalid syntax (raise … from needs an exception before from)", t.nodes[k].next, false
		}
	case "for_statement", "with_statement":
		if k := x.first; k >= 0 && t.nodes[k].kind == "async" && !inAsyncFunc(t, n) {
			return fmt.Sprintf("'async %s' outside async function", strings.TrimSuffix(x.kind, "_statement")), n, true
		}
	case "list_pattern", "tuple_pattern", "dict_pattern", "class_pattern":
		if inside(t, n, "case_clause") {
			if msg, at, late := patternShapeError(t, n); msg != "" {
				return msg, at, late
			}
		}
		if x.kind == "dict_pattern" || x.kind == "class_pattern" {
			break
		}
		// tree-sitter shares these kinds with assignment targets, which
		// the case below checks.
		fallthrough
	case "pattern_list":
		stars := 0
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind == "list_splat_pattern" {
				stars++
			}
		}
		if stars > 1 {
			return "multiple starred expressions in assignment", n, true
		}
	case "exec_statement":
		return "Missing parentheses in call to 'exec'", n, false
	case "<>":
		return "invalid syntax ('<>' is Python 2; use '!=')", n, false
	case "except_clause":
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind == "," {
				return "multiple exception types must be parenthesized", n, false
			}
		}
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind == "as_pattern" {
				for cc := t.nodes[c].first; cc >= 0; cc = t.nodes[cc].next {
					if t.nodes[cc].kind == "," {
						return "multiple exception types must be parenthesized", n, false
					}
				}
			}
		}
	case "return_statement":
		if !inside(t, n, "function_definition") {
			return "'return' outside function", n, true
		}
		if k := firstNamed(t, n); k >= 0 && t.nodes[k].kind == "list_splat" {
			return "can't use starred expression here", k, true
		}
	case "yield":
		if x.named && !inside(t, n, "function_definition", "lambda") {
			return "'yield' outside function", n, true
		}
	case "await":
		if x.named && !inAsyncFunc(t, n) {
			return "'await' outside async function", n, true
		}
	case "break_statement", "continue_statement":
		if !inLoop(t, n) {
			if x.kind == "continue_statement" {
				return "'continue' not properly in loop", n, true
			}
			return "'break' outside loop", n, true
		}
	case "nonlocal_statement":
		if !inside(t, n, "function_definition") {
			return "nonlocal declaration not allowed at module level", n, true
		}
		if msg := declaredAfterUse(t, n, "nonlocal"); msg != "" {
			return msg, n, true
		}
	case "global_statement":
		if msg := declaredAfterUse(t, n, "global"); msg != "" {
			return msg, n, true
		}
	case "future_import_statement":
		msg, late := futureImportError(t, n)
		return msg, n, late
	case "argument_list":
		return argumentsError(t, n)
	case "parameters", "lambda_parameters":
		return parametersError(t, n)
	case "assignment":
		left, right := t.field(n, "left"), t.field(n, "right")
		if t.field(n, "type") >= 0 {
			switch t.kind(unparen(t, left)) {
			case "list_pattern", "list":
				return "only single target (not list) can be annotated", left, false
			case "pattern_list", "tuple_pattern", "tuple", "expression_list":
				return "only single target (not tuple) can be annotated", left, false
			}
		}
		switch t.kind(left) {
		case "true", "false", "none", "integer", "float", "string", "concatenated_string", "call", "binary_operator", "comparison_operator", "boolean_operator", "lambda", "await":
			return "cannot assign to " + t.text(left), n, false
		case "list_splat_pattern", "list_splat":
			return "starred assignment target must be in a list or tuple", left, true
		}
		if t.kind(right) == "list_splat" {
			return "can't use starred expression here", right, true
		}
	case "augmented_assignment":
		left := t.field(n, "left")
		switch t.kind(unparen(t, left)) {
		case "true", "false", "none", "integer", "float", "string", "concatenated_string", "call", "binary_operator", "comparison_operator", "boolean_operator", "lambda", "await":
			return "cannot assign to " + t.text(left), n, false
		case "pattern_list", "tuple_pattern", "tuple", "expression_list":
			return "'tuple' is an illegal expression for augmented assignment", left, false
		case "list_pattern", "list":
			return "'list' is an illegal expression for augmented assignment", left, false
		}
		if r := t.field(n, "right"); t.kind(r) == "list_splat" {
			return "can't use starred expression here", r, true
		}
	case "tuple":
		// tree-sitter reads `(*a)` as a one-element tuple; without the comma
		// it is a parenthesized starred expression, which Python rejects.
		var only int32 = -1
		for c := x.first; c >= 0; c = t.nodes[c].next {
			switch {
			case t.nodes[c].kind == ",":
				return "", n, false
			case t.nodes[c].named && t.nodes[c].kind != "comment":
				if only >= 0 {
					return "", n, false
				}
				only = c
			}
		}
		if only >= 0 && t.nodes[only].kind == "list_splat" {
			return "cannot use starred expression here", only, false
		}
	case "delete_statement":
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].named && t.nodes[c].kind != "comment" {
				if bad, what := badDeleteTarget(t, c); bad >= 0 {
					return "cannot delete " + what, bad, false
				}
			}
		}
	case "for_in_clause":
		if k := x.first; k >= 0 && t.nodes[k].kind == "async" && t.kind(x.parent) != "generator_expression" && !inAsyncFunc(t, n) {
			return "asynchronous comprehension outside of an asynchronous function", x.parent, true
		}
		// `x for x in a, b`: tree-sitter takes the bare tuple as the
		// iterable; Python requires it parenthesized.
		afterIn := false
		for c := x.first; c >= 0; c = t.nodes[c].next {
			switch t.nodes[c].kind {
			case "in":
				afterIn = true
			case ",":
				if !afterIn {
					continue
				}
				if g := x.parent; g >= 0 && t.nodes[g].kind == "generator_expression" && t.nodes[g].field == "arguments" {
					return "Generator expression must be parenthesized", t.field(g, "body"), false
				}
				return "invalid syntax (the iterable of a comprehension must be parenthesized when it is a tuple)", c, false
			}
		}
	case "integer":
		if msg := integerError(t.text(n)); msg != "" {
			return msg, n, false
		}
	case "string":
		msg, at, late := stringError(t, n, py)
		if msg != "" && !strings.HasPrefix(msg, "bytes can only") && !strings.HasPrefix(msg, "invalid syntax") {
			at = decodeErrorAt(t, n, at)
		}
		return msg, at, late
	case "concatenated_string":
		firstBytes, seen := false, false
		for c := x.first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].kind != "string" {
				continue
			}
			prefix, _ := stringDelims(t, c)
			if !validPrefix(prefix) {
				return "", n, false // the literal's own check reports the prefix
			}
			b := strings.ContainsAny(prefix, "bB")
			if seen && b != firstBytes {
				return "cannot mix bytes and nonbytes literals", decodeErrorAt(t, n, c), false
			}
			firstBytes, seen = b, true
		}
	case "block", "module":
		// tree-sitter accepts a statement indented deeper than its siblings;
		// CPython rejects it ("unexpected indent").
		col, prevEnd := int32(-1), int32(-1)
		semi := false
		for c := x.first; c >= 0; c = t.nodes[c].next {
			cn := &t.nodes[c]
			if cn.kind == ";" {
				semi = true
			}
			if !cn.named || cn.kind == "comment" {
				continue
			}
			if cn.line == prevEnd && !semi {
				// tree-sitter also takes two statements on one line with
				// nothing between them (`global x p.close()`).
				return "invalid syntax (statements on one line need a ';' between them)", c, false
			}
			semi = false
			if cn.line != prevEnd {
				if col < 0 {
					col = cn.col
				} else if cn.col > col {
					return "unexpected indent", c, false
				} else if cn.col < col {
					// tree-sitter keeps a line in the block when it dedents
					// to no enclosing block's column.
					return "unindent does not match any outer indentation level", c, false
				}
			}
			prevEnd = cn.eline
		}
		if x.kind == "block" && col < 0 && x.parent >= 0 {
			// tree-sitter accepts a clause with no body (`elif y:` then
			// `else:`); CPython wants an indented block, and fails at the
			// token after the colon.
			at := n
			if x.first < 0 {
				for next := n + 1; int(next) < len(t.nodes); next++ {
					if t.nodes[next].kind != "comment" {
						at = next
						break
					}
				}
			}
			return fmt.Sprintf("expected an indented block after line %d", t.nodes[x.parent].line), at, false
		}
	case "expression_statement":
		k := firstNamed(t, n)
		switch t.kind(k) {
		case "named_expression":
			return "invalid syntax (an assignment expression needs parentheses as a statement)", n, false
		case "list_splat":
			return "can't use starred expression here", k, true
		}
	}
	return "", n, false
}

// isTypeAliasName reports whether the left side of tree-sitter's
// type_alias_statement is a name, which makes it a PEP 695 `type` statement
// rather than an assignment to an expression that starts with type(…).
func isTypeAliasName(t *ptree, left int32) bool {
	if left < 0 {
		return false
	}
	k := firstNamed(t, left)
	if t.kind(k) == "generic_type" {
		k = firstNamed(t, k)
	}
	return t.kind(k) == "identifier" && t.nodes[k].start == t.nodes[left].start
}

// isKeyword reports whether a name is one of Python 3's hard keywords
// (True, False and None tree-sitter already reads as literals; the soft
// keywords match, case, type and _ are names elsewhere).
func isKeyword(b []byte) bool {
	if len(b) < 2 || len(b) > 8 || b[0] < 'a' || b[0] > 'y' {
		return false // the common short-circuit: identifiers are the commonest node
	}
	switch string(b) {
	case "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
		"elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is",
		"lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield":
		return true
	}
	return false
}

// unreachableCase finds a case that matches everything (`case _:` or a bare
// capture, without a guard) before the last case: CPython's compiler
// refuses the cases it would hide.
func unreachableCase(t *ptree, n int32) (string, int32, bool) {
	body := t.field(n, "body")
	if body < 0 {
		return "", n, false
	}
	var cases []int32
	for c := t.nodes[body].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].kind == "case_clause" {
			cases = append(cases, c)
		}
	}
	for i, c := range cases {
		var pats []int32
		guard := false
		for k := t.nodes[c].first; k >= 0; k = t.nodes[k].next {
			switch t.nodes[k].kind {
			case "case_pattern":
				pats = append(pats, k)
			case ",":
				pats = append(pats, -1) // `case a, b:` is a sequence pattern
			}
			if t.nodes[k].field == "guard" {
				guard = true
			}
		}
		// An or-pattern anywhere in the case may not have an irrefutable
		// alternative before its last: that alternative hides the rest.
		for _, p := range pats {
			if p < 0 {
				continue
			}
			if msg, at := hiddenAlternative(t, p); msg != "" {
				return msg, at, true
			}
		}
		var names []string
		for _, p := range pats {
			if p < 0 {
				continue
			}
			if msg, at := patternNames(t, p, &names); msg != "" {
				return msg, at, true
			}
		}
		if len(pats) != 1 || pats[0] < 0 {
			continue
		}
		if msg, at := irrefutable(t, pats[0], !guard && i < len(cases)-1); msg != "" {
			return msg, at, true
		}
	}
	return "", n, false
}

// patternNames adds the names pattern p captures to names, and returns
// CPython's complaint when p binds a name twice or an or-pattern's
// alternatives bind different names.
func patternNames(t *ptree, p int32, names *[]string) (string, int32) {
	x := &t.nodes[p]
	switch x.kind {
	case "identifier":
		// An `as` target or a `*rest` / `**rest` name.
		name := t.text(p)
		if name == "_" {
			return "", p
		}
		for _, n := range *names {
			if n == name {
				return fmt.Sprintf("multiple assignments to name '%s' in pattern", name), p
			}
		}
		*names = append(*names, name)
		return "", p
	case "dotted_name":
		// One name captures; a dotted one is a value to compare with.
		if id := firstNamed(t, p); id >= 0 && t.nodes[id].next < 0 {
			return patternNames(t, id, names)
		}
		return "", p
	case "union_pattern":
		// tree-sitter lays the alternatives out flat (`-1` is two
		// children), so they are split at the `|` separators.
		var first, alt []string
		seen := false
		for c := x.first; ; c = t.nodes[c].next {
			if c < 0 || t.nodes[c].kind == "|" {
				if !seen {
					first, seen = alt, true
				} else if !sameNames(first, alt) {
					return "alternative patterns bind different names", p
				}
				alt = nil
				if c < 0 {
					break
				}
				continue
			}
			if msg, at := patternNames(t, c, &alt); msg != "" {
				return msg, at
			}
		}
		for _, n := range first {
			for _, m := range *names {
				if n == m {
					return fmt.Sprintf("multiple assignments to name '%s' in pattern", n), p
				}
			}
			*names = append(*names, n)
		}
		return "", p
	}
	skip := int32(-1)
	if x.kind == "class_pattern" || x.kind == "keyword_pattern" {
		skip = firstNamed(t, p) // the class, or the keyword: not captures
	}
	for c := x.first; c >= 0; c = t.nodes[c].next {
		if c == skip || !t.nodes[c].named || t.nodes[c].field == "key" {
			continue
		}
		if msg, at := patternNames(t, c, names); msg != "" {
			return msg, at
		}
	}
	return "", p
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

// patternShapeError checks one sequence, mapping or class pattern: one
// star in a sequence, `**rest` last in a mapping with no key twice, and a
// class pattern's keywords after its positional patterns, each named once.
func patternShapeError(t *ptree, n int32) (string, int32, bool) {
	var seen []int32
	stars, keyword, rest := 0, false, false
	for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
		k := c
		if t.nodes[c].kind == "case_pattern" {
			k = firstNamed(t, c)
		}
		if k < 0 {
			continue
		}
		switch t.nodes[n].kind {
		case "list_pattern", "tuple_pattern":
			if t.nodes[k].kind == "splat_pattern" {
				if stars++; stars > 1 {
					return "multiple starred names in sequence pattern", n, true
				}
			}
		case "dict_pattern":
			if rest && t.nodes[c].named {
				return "invalid syntax (**rest must be the last part of a mapping pattern)", c, false
			}
			switch {
			case t.nodes[c].kind == "splat_pattern":
				rest = true
			case t.nodes[c].field == "key" && t.nodes[c].kind != "dotted_name":
				// Literal keys only: a value pattern (a.b) may repeat.
				for _, p := range seen {
					if t.sameText(p, c) {
						return fmt.Sprintf("mapping pattern checks duplicate key (%s)", t.text(c)), n, true
					}
				}
				seen = append(seen, c)
			}
		case "class_pattern":
			if t.nodes[c].kind != "case_pattern" {
				continue
			}
			// tree-sitter reads `y=p as w` as (y=p) as w: look through.
			for t.kind(k) == "as_pattern" || t.kind(k) == "case_pattern" {
				k = firstNamed(t, k)
			}
			if k < 0 || t.nodes[k].kind != "keyword_pattern" {
				if keyword {
					return "positional patterns follow keyword patterns", c, false
				}
				continue
			}
			keyword = true
			name := firstNamed(t, k)
			for _, p := range seen {
				if t.sameText(p, name) {
					return fmt.Sprintf("attribute name repeated in class pattern: %s", t.text(name)), name, true
				}
			}
			seen = append(seen, name)
		}
	}
	return "", n, false
}

// hiddenAlternative finds, in pattern p and everything inside it, an
// or-pattern whose alternative before the last matches everything.
func hiddenAlternative(t *ptree, p int32) (string, int32) {
	if t.nodes[p].kind == "union_pattern" {
		var last int32 = -1
		for c := t.nodes[p].first; c >= 0; c = t.nodes[c].next {
			if k := t.nodes[c].kind; k != "|" && k != "comment" {
				last = c
			}
		}
		for c := t.nodes[p].first; c >= 0 && c != last; c = t.nodes[c].next {
			if k := t.nodes[c].kind; k == "|" || k == "comment" {
				continue
			}
			if msg, at := irrefutable(t, c, true); msg != "" {
				return msg, at
			}
			if msg, at := hiddenAlternative(t, c); msg != "" {
				return msg, at
			}
		}
		if last >= 0 {
			return hiddenAlternative(t, last)
		}
		return "", p
	}
	for c := t.nodes[p].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].first >= 0 {
			if msg, at := hiddenAlternative(t, c); msg != "" {
				return msg, at
			}
		}
	}
	return "", p
}

// irrefutable returns CPython's complaint about an irrefutable part of
// pattern p, when one may not appear there: at the top of a case that is
// not last (hide is set), or in any but the last alternative of an or-pattern.
func irrefutable(t *ptree, p int32, hide bool) (string, int32) {
	switch t.nodes[p].kind {
	case "_":
		if hide {
			return "wildcard makes remaining patterns unreachable", p
		}
	case "dotted_name":
		// One name captures; a dotted name is a value to compare with.
		if id := firstNamed(t, p); hide && id >= 0 && t.nodes[id].next < 0 {
			return fmt.Sprintf("name capture '%s' makes remaining patterns unreachable", t.text(id)), p
		}
	case "case_pattern", "tuple_pattern":
		// A wrapper or parentheses around one pattern; with a comma it is
		// a sequence pattern, which can fail.
		var only int32 = -1
		for c := t.nodes[p].first; c >= 0; c = t.nodes[c].next {
			switch t.nodes[c].kind {
			case "(", ")", "comment":
				continue
			case ",":
				return "", p
			}
			if only >= 0 {
				return "", p
			}
			only = c
		}
		if only >= 0 {
			return irrefutable(t, only, hide)
		}
	case "as_pattern":
		if inner := t.nodes[p].first; inner >= 0 {
			return irrefutable(t, inner, hide)
		}
	case "union_pattern":
		var alts []int32
		for c := t.nodes[p].first; c >= 0; c = t.nodes[c].next {
			if k := t.nodes[c].kind; k != "|" && k != "comment" {
				alts = append(alts, c) // `_` is an anonymous node: keep it
			}
		}
		for j, alt := range alts {
			if msg, at := irrefutable(t, alt, hide || j < len(alts)-1); msg != "" {
				return msg, at
			}
		}
	}
	return "", p
}

// inBrackets reports whether node n is inside (), [] or {} in its statement,
// where CPython's tokenizer ignores line ends.
func inBrackets(t *ptree, n int32) bool {
	for p := t.nodes[n].parent; p >= 0; p = t.nodes[p].parent {
		switch t.nodes[p].kind {
		case "argument_list", "parenthesized_expression", "tuple", "list", "set", "dictionary", "subscript",
			"list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression", "parameters":
			return true
		case "block", "module", "lambda":
			return false
		}
	}
	return false
}

// enclosingFString returns the string literal whose replacement field
// holds node n, or -1.
func enclosingFString(t *ptree, n int32) int32 {
	field := false
	for p := t.nodes[n].parent; p >= 0; p = t.nodes[p].parent {
		switch t.nodes[p].kind {
		case "interpolation":
			field = true
		case "string":
			if field {
				return p
			}
		case "block", "module":
			return -1
		}
	}
	return -1
}

// decodeErrorAt is where CPython 3.11 reports an error in decoding string
// literal s (a bad escape, f-string field or conversion): it decodes the
// whole run of adjacent literals once the parser has read the token after
// them, and reports that token's line. The culprit itself is kept when it is
// on that line, for its column.
func decodeErrorAt(t *ptree, s, culprit int32) int32 {
	cur := s
	if p := t.nodes[s].parent; p >= 0 && t.nodes[p].kind == "concatenated_string" {
		cur = p
	}
	last := cur
	for last >= 0 && t.nodes[last].first >= 0 {
		c := t.nodes[last].first
		for t.nodes[c].next >= 0 {
			c = t.nodes[c].next
		}
		last = c
	}
	at := last // the newline that ends the statement, on the literal's last line
	for cur >= 0 {
		if p := t.nodes[cur].parent; p < 0 || t.nodes[p].kind == "module" || t.nodes[p].kind == "block" {
			break // a statement: what follows it is the next line's
		}
		next := t.nodes[cur].next
		for next >= 0 && t.nodes[next].kind == "comment" {
			next = t.nodes[next].next
		}
		if next >= 0 {
			for t.nodes[next].first >= 0 {
				next = t.nodes[next].first
			}
			at = next
			break
		}
		cur = t.nodes[cur].parent
	}
	if at < 0 || t.nodes[at].line == t.nodes[culprit].line {
		return culprit
	}
	return at
}

// lineJoinError finds in simple statement n a line end outside brackets
// and not after a backslash, with the statement going on past it, and
// returns the token CPython fails at there; -1 when there is none. Strings are single tokens to the tokenizer, so they are
// not looked into.
func lineJoinError(t *ptree, n int32) int32 {
	depth := 0
	var prev int32 = -1
	c := t.nodes[n].first
	for c >= 0 {
		x := &t.nodes[c]
		leaf := x.first < 0 || x.kind == "string"
		if leaf && x.kind != "comment" {
			if prev >= 0 && depth == 0 && x.line > t.nodes[prev].eline && !continued(t.src[t.nodes[prev].end:x.start]) {
				// CPython fails at the line end when what comes before it
				// cannot end a statement (`x =`), else at the token after.
				switch p := &t.nodes[prev]; {
				case p.named, p.kind == ")", p.kind == "]", p.kind == "}", p.kind == "return", p.kind == "yield", p.kind == "raise":
					return c
				}
				return prev
			}
			switch x.kind {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
			prev = c
		}
		// Next in preorder, without leaving n's subtree.
		if !leaf {
			c = x.first
			continue
		}
		for c >= 0 && t.nodes[c].next < 0 {
			c = t.nodes[c].parent
			if c == n {
				return -1
			}
		}
		if c >= 0 {
			c = t.nodes[c].next
		}
	}
	return -1
}

// continued reports whether the text between two tokens ends a line with
// a backslash.
func continued(gap []byte) bool {
	for i := bytes.IndexByte(gap, '\\'); i >= 0; {
		rest := gap[i+1:]
		if len(rest) > 0 && (rest[0] == '\n' || rest[0] == '\r') {
			return true
		}
		j := bytes.IndexByte(rest, '\\')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// unparen strips the parentheses around a single expression: tree-sitter
// reads a parenthesized target `(a)` as a tuple pattern without a comma.
func unparen(t *ptree, n int32) int32 {
	for n >= 0 {
		switch t.nodes[n].kind {
		case "tuple_pattern", "tuple", "parenthesized_expression":
		default:
			return n
		}
		var only int32 = -1
		for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
			switch {
			case t.nodes[c].kind == ",":
				return n
			case t.nodes[c].named && t.nodes[c].kind != "comment":
				if only >= 0 {
					return n
				}
				only = c
			}
		}
		if only < 0 {
			return n
		}
		n = only
	}
	return n
}

// argumentsError checks the order and uniqueness of a call's arguments.
func argumentsError(t *ptree, n int32) (string, int32, bool) {
	// Calls are the commonest node with children to compare, so keyword names
	// are compared in place rather than collected into a map.
	var kws [16]int32
	seen := kws[:0]
	kwSeen, kwSplat := false, false
	for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
		switch t.nodes[c].kind {
		case "keyword_argument":
			name := t.field(c, "name")
			for _, p := range seen {
				if t.sameText(p, name) {
					return fmt.Sprintf("keyword argument repeated: %s", t.text(name)), n, true
				}
			}
			seen = append(seen, name)
			kwSeen = true
		case "dictionary_splat":
			kwSplat = true
		case "list_splat":
			if kwSplat {
				return "iterable argument unpacking follows keyword argument unpacking", n, false
			}
		case "(", ")", ",", "comment":
		default:
			if !t.nodes[c].named {
				continue
			}
			if kwSplat {
				return "positional argument follows keyword argument unpacking", n, false
			}
			if kwSeen {
				return "positional argument follows keyword argument", n, false
			}
		}
	}
	return "", n, false
}

// parametersError checks a def's or lambda's parameter list the way
// CPython's grammar and symbol table do.
func parametersError(t *ptree, n int32) (string, int32, bool) {
	var buf [16]int32
	names := buf[:0]
	sawDefault, star, kwSplat, slash := false, false, false, false
	var bareStar int32 = -1 // a `*` that still needs a named parameter after it
	for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
		kind := t.nodes[c].kind
		if !t.nodes[c].named || kind == "comment" {
			continue
		}
		if kwSplat {
			return "arguments cannot follow var-keyword argument", c, false
		}
		var name int32 = -1
		switch kind {
		case "identifier":
			name = c
			if sawDefault && !star {
				return "non-default argument follows default argument", n, false
			}
		case "typed_parameter":
			name = firstNamed(t, c)
			if sawDefault && !star && t.kind(name) == "identifier" {
				return "non-default argument follows default argument", n, false
			}
		case "default_parameter", "typed_default_parameter":
			name = t.field(c, "name")
			sawDefault = true
		case "list_splat_pattern", "keyword_separator":
			if star {
				return "* argument may appear only once", c, false
			}
			star = true
			name = firstNamed(t, c)
			if kind == "keyword_separator" {
				bareStar = c
				continue
			}
		case "positional_separator":
			if slash {
				return "/ may appear only once", c, false
			}
			if star {
				return "/ must be ahead of *", c, false
			}
			slash = true
			continue
		case "dictionary_splat_pattern":
			if bareStar >= 0 {
				return "named arguments must follow bare *", bareStar, false
			}
			kwSplat = true
			name = firstNamed(t, c)
		}
		bareStar = -1
		if name >= 0 && t.nodes[name].kind == "identifier" {
			for _, p := range names {
				if t.sameText(p, name) {
					return fmt.Sprintf("duplicate argument '%s' in function definition", t.text(name)), n, true
				}
			}
			names = append(names, name)
		}
	}
	if bareStar >= 0 {
		return "named arguments must follow bare *", bareStar, false
	}
	return "", n, false
}

// badDeleteTarget returns the first part of a del target that cannot be
// deleted, and how CPython names it; -1 when every part is deletable.
func badDeleteTarget(t *ptree, n int32) (int32, string) {
	switch t.nodes[n].kind {
	case "identifier", "attribute", "subscript":
		return -1, ""
	case "expression_list", "tuple", "list", "parenthesized_expression", "pattern_list", "tuple_pattern", "list_pattern":
		for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
			if t.nodes[c].named && t.nodes[c].kind != "comment" {
				if bad, what := badDeleteTarget(t, c); bad >= 0 {
					return bad, what
				}
			}
		}
		return -1, ""
	case "call":
		return n, "function call"
	case "list_splat", "list_splat_pattern":
		return n, "starred"
	case "integer", "float", "string", "concatenated_string", "ellipsis":
		return n, "literal"
	case "true", "false", "none":
		return n, t.text(n)
	case "lambda":
		return n, "lambda"
	case "conditional_expression":
		return n, "conditional expression"
	case "named_expression":
		return n, "named expression"
	case "list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression":
		return n, strings.ReplaceAll(strings.Replace(t.nodes[n].kind, "dictionary", "dict", 1), "_", " ")
	case "dictionary":
		return n, "dict literal"
	case "set":
		return n, "set display"
	}
	return n, "expression"
}

// integerError reports integer literals Python 3 refuses: the octal `0777`
// and the long suffix `10L` of Python 2.
func integerError(s string) string {
	if strings.Contains(s, "__") || strings.HasSuffix(s, "_") {
		return "invalid decimal literal (an underscore must sit between digits)"
	}
	s = strings.ReplaceAll(s, "_", "")
	if s == "" {
		return ""
	}
	last := s[len(s)-1]
	if last == 'j' || last == 'J' {
		return "" // imaginary: `0777j` is fine
	}
	if len(s) > 1 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			if last == 'l' || last == 'L' {
				return "invalid hexadecimal literal"
			}
			return ""
		case 'o', 'O':
			if last == 'l' || last == 'L' {
				return "invalid octal literal"
			}
			return ""
		case 'b', 'B':
			if last == 'l' || last == 'L' {
				return "invalid binary literal"
			}
			return ""
		}
	}
	if last == 'l' || last == 'L' {
		return "invalid decimal literal (the L suffix is Python 2)"
	}
	if len(s) > 1 && s[0] == '0' && strings.Trim(s, "0") != "" {
		return "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"
	}
	return ""
}

// stringDelims returns the prefix letters ("rb", "f", "") and the quote
// (a single or a triple quote) of string node n.
func stringDelims(t *ptree, n int32) (prefix, quote string) {
	start := t.nodes[n].first
	if start < 0 || t.nodes[start].kind != "string_start" {
		return "", ""
	}
	s := t.text(start)
	j := strings.IndexAny(s, `"'`)
	if j < 0 {
		return s, ""
	}
	return s[:j], s[j:]
}

// validPrefix reports whether Python 3 knows a string prefix.
func validPrefix(prefix string) bool {
	switch strings.ToLower(prefix) {
	case "", "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// stringError checks one string literal: bytes must be ASCII, \N{…} must
// name a character, and before Python 3.12 an f-string's replacement fields
// can hold neither a backslash nor the f-string's own quote.
func stringError(t *ptree, n int32, py int) (string, int32, bool) {
	prefix, quote := stringDelims(t, n)
	if prefix == "" && quote == "" {
		return "", n, false
	}
	if !validPrefix(prefix) {
		// tree-sitter takes any run of prefix letters; `ur''` is Python 2.
		// CPython reads the prefix as a name, which ends the expression
		// before it: inside brackets it blames that expression ("Perhaps
		// you forgot a comma?"), so the error is where the run of adjacent
		// literals starts.
		at := n
		if p := t.nodes[n].parent; p >= 0 && t.nodes[p].kind == "concatenated_string" && t.nodes[p].first != n && inBrackets(t, p) {
			at = t.nodes[p].first
		}
		return "invalid syntax (string prefix " + prefix + " is not Python 3)", at, false
	}
	raw := strings.ContainsAny(prefix, "rR")
	bytesLit := strings.ContainsAny(prefix, "bB")
	if bytesLit {
		x := &t.nodes[n]
		for _, b := range t.src[x.start:min(int(x.end), len(t.src))] {
			if b >= 0x80 {
				return "bytes can only contain ASCII literal characters", n, false
			}
		}
		if !raw {
			for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
				if t.nodes[c].kind == "string_content" {
					if msg := truncatedEscape(t.src[t.nodes[c].start:t.nodes[c].end], true); msg != "" {
						return msg, c, false
					}
				}
			}
		}
		return "", n, false
	}
	fstring := strings.ContainsAny(prefix, "fF")
	for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
		switch t.nodes[c].kind {
		case "string_content":
			if raw {
				continue
			}
			if msg := truncatedEscape(t.src[t.nodes[c].start:t.nodes[c].end], false); msg != "" {
				return msg, c, false
			}
			for e := t.nodes[c].first; e >= 0; e = t.nodes[e].next {
				if t.nodes[e].kind != "escape_sequence" {
					continue
				}
				esc := t.text(e)
				if !strings.HasPrefix(esc, `\N`) {
					continue
				}
				name, ok := strings.CutPrefix(esc, `\N{`)
				name, closed := strings.CutSuffix(name, "}")
				if !ok || !closed || name == "" {
					return "(unicode error) malformed \\N character escape", e, false
				}
				if !knownUnicodeName(name) {
					return fmt.Sprintf("(unicode error) unknown Unicode character name %q in \\N{…}", name), e, false
				}
			}
		case "interpolation":
			switch expr := t.field(c, "expression"); t.kind(expr) {
			case "list_splat":
				return "f-string: cannot use starred expression here", decodeErrorAt(t, n, expr), false
			case "lambda":
				// `{lambda: 1}` reads `lambda` then a format spec ": 1".
				return "f-string: invalid syntax (a lambda in a replacement field needs parentheses)", decodeErrorAt(t, n, expr), false
			}
			if py < 12 {
				// Before 3.12 a format spec may hold fields, but those may
				// not hold fields of their own.
				if spec := t.field(c, "format_specifier"); spec >= 0 {
					for e := t.nodes[spec].first; e >= 0; e = t.nodes[e].next {
						if t.nodes[e].kind == "format_expression" {
							if inner := t.field(e, "format_specifier"); inner >= 0 {
								for g := t.nodes[inner].first; g >= 0; g = t.nodes[g].next {
									if t.nodes[g].kind == "format_expression" {
										return "f-string: expressions nested too deeply", decodeErrorAt(t, n, g), false
									}
								}
							}
						}
					}
				}
			}
			if conv := t.field(c, "type_conversion"); conv >= 0 {
				switch t.text(conv) {
				case "!r", "!s", "!a":
				default:
					return "f-string: invalid conversion character: expected 's', 'r', or 'a'", conv, false
				}
			}
			if !fstring || py >= 12 {
				continue
			}
			// Before 3.12 the tokenizer ends the f-string at its own quote,
			// even inside a replacement field, and forbids backslashes there.
			if expr := t.field(c, "expression"); expr >= 0 && strings.IndexByte(t.text(expr), '\\') >= 0 {
				return "f-string expression part cannot include a backslash (allowed from Python 3.12)", expr, false
			}
			x := &t.nodes[c]
			if x.end < x.start+2 || int(x.end) > len(t.src) {
				continue // error recovery cut the field short; the ERROR node reports it
			}
			if inner := t.src[x.start+1 : x.end-1]; quote != "" && strings.Contains(string(inner), quote) {
				return fmt.Sprintf("f-string: expecting '}' (a replacement field reuses the f-string's quote %s, allowed from Python 3.12)", quote), c, false
			}
		}
	}
	return "", n, false
}

// truncatedEscape checks the \x, \u and \U escapes of a string's
// literal text: tree-sitter accepts them short, CPython's decoder does not.
// Bytes have no \u or \U escapes.
func truncatedEscape(s []byte, bytesLit bool) string {
	for i := bytes.IndexByte(s, '\\'); i >= 0 && i+1 < len(s); {
		var want int
		switch s[i+1] {
		case 'x':
			want = 2
		case 'u':
			want = 4
		case 'U':
			want = 8
		}
		if bytesLit && want > 2 {
			want = 0
		}
		if want > 0 {
			hex := 0
			for hex < want && i+2+hex < len(s) && isHex(s[i+2+hex]) {
				hex++
			}
			if hex < want {
				if bytesLit {
					return fmt.Sprintf("(value error) invalid \\x escape at position %d", i)
				}
				return fmt.Sprintf("(unicode error) 'unicodeescape' codec can't decode bytes: truncated \\%c%s escape", s[i+1], strings.Repeat("X", want))
			}
			if want == 8 {
				var v uint64
				for _, h := range s[i+2 : i+10] {
					v = v<<4 | uint64(hexVal(h))
				}
				if v > 0x10FFFF {
					return "(unicode error) 'unicodeescape' codec can't decode bytes: illegal Unicode character"
				}
			}
		}
		// Skip the escaped character, so `\\x` is a backslash then an x.
		j := bytes.IndexByte(s[i+2:], '\\')
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// futureImportError checks a `from __future__ import`: it must come before
// any other statement but the docstring, and name a feature that exists.
func futureImportError(t *ptree, n int32) (string, bool) {
	for c := t.nodes[n].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].field != "name" {
			continue
		}
		name := c
		if t.nodes[c].kind == "aliased_import" {
			name = t.field(c, "name")
		}
		switch feat := t.text(name); feat {
		case "nested_scopes", "generators", "division", "absolute_import", "with_statement",
			"print_function", "unicode_literals", "barry_as_FLUFL", "generator_stop", "annotations":
		case "braces":
			return "not a chance", true
		default:
			return fmt.Sprintf("future feature %s is not defined", feat), true
		}
	}
	const late = "from __future__ imports must occur at the beginning of the file"
	if p := t.nodes[n].parent; p != 0 {
		return late, true
	}
	first := true
	for c := t.nodes[0].first; c >= 0 && c != n; c = t.nodes[c].next {
		k := t.nodes[c].kind
		if !t.nodes[c].named || k == "comment" {
			continue
		}
		switch {
		case k == "future_import_statement":
		case first && isDocstring(t, c):
		default:
			return late, true
		}
		first = false
	}
	return "", false
}

// isDocstring reports whether statement n is a plain string on its own: a
// bytes or f-string is not a docstring to Python.
func isDocstring(t *ptree, n int32) bool {
	if t.nodes[n].kind != "expression_statement" {
		return false
	}
	e := firstNamed(t, n)
	var parts []int32
	switch t.kind(e) {
	case "string":
		parts = []int32{e}
	case "concatenated_string":
		parts = t.namedChildren(e)
	default:
		return false
	}
	for _, s := range parts {
		prefix, _ := stringDelims(t, s)
		if strings.ContainsAny(prefix, "bBfF") {
			return false
		}
	}
	return t.nodes[e].next < 0 || t.nodes[t.nodes[e].next].kind == "comment"
}

// declaredAfterUse checks a global or nonlocal statement against what its
// scope did with the names before it: CPython's symbol table refuses a name
// that is a parameter, or was already used, annotated or assigned.
func declaredAfterUse(t *ptree, stmt int32, word string) string {
	scope := int32(0)
	for p := t.nodes[stmt].parent; p >= 0; p = t.nodes[p].parent {
		if k := t.nodes[p].kind; k == "function_definition" || k == "class_definition" {
			scope = p
			break
		}
	}
	for c := t.nodes[stmt].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].kind != "identifier" {
			continue
		}
		name := t.text(c)
		if t.nodes[scope].kind == "function_definition" && isParameter(t, t.field(scope, "parameters"), name) {
			return fmt.Sprintf("name '%s' is parameter and %s", name, word)
		}
		body := scope
		if scope != 0 {
			body = t.field(scope, "body")
		}
		var u nameUse
		if body >= 0 {
			u.scan(t, body, name, t.nodes[stmt].start, false)
		}
		switch {
		case u.used:
			return fmt.Sprintf("name '%s' is used prior to %s declaration", name, word)
		case u.annotated:
			return fmt.Sprintf("annotated name '%s' can't be %s", name, word)
		case u.assigned:
			return fmt.Sprintf("name '%s' is assigned to before %s declaration", name, word)
		}
	}
	return ""
}

func isParameter(t *ptree, params int32, name string) bool {
	if params < 0 {
		return false
	}
	for c := t.nodes[params].first; c >= 0; c = t.nodes[c].next {
		id := int32(-1)
		switch t.nodes[c].kind {
		case "identifier":
			id = c
		case "default_parameter", "typed_default_parameter":
			id = t.field(c, "name")
		case "typed_parameter", "list_splat_pattern", "dictionary_splat_pattern":
			id = firstNamed(t, c)
		}
		if id >= 0 && t.nodes[id].kind == "identifier" && t.text(id) == name {
			return true
		}
	}
	return false
}

// nameUse is what a scope did with one name before a declaration.
type nameUse struct{ used, annotated, assigned bool }

// scan walks n's subtree up to byte offset before, staying in the scope:
// nested functions, classes, lambdas and comprehensions have their own
// (only a def's or class's name binds here). Imports are left out because
// CPython does not count them against a later global. store is whether n is
// an assignment target.
func (u *nameUse) scan(t *ptree, n int32, name string, before uint32, store bool) {
	parent := t.nodes[n].kind
	for c := t.nodes[n].first; c >= 0 && t.nodes[c].start < before; c = t.nodes[c].next {
		x := &t.nodes[c]
		switch x.kind {
		case "function_definition", "class_definition":
			if id := t.field(c, "name"); id >= 0 && t.text(id) == name {
				u.assigned = true
			}
			if x.kind == "class_definition" {
				if sup := t.field(c, "superclasses"); sup >= 0 {
					u.scan(t, sup, name, before, false)
				}
			}
			continue
		case "lambda", "list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression",
			"global_statement", "nonlocal_statement", "import_statement", "import_from_statement", "future_import_statement":
			continue
		}
		if x.field == "type" || x.field == "return_type" {
			continue // annotations are not evaluated under `from __future__ import annotations`
		}
		target := isTarget(parent, x.field, store)
		if x.kind != "identifier" {
			u.scan(t, c, name, before, target)
			continue
		}
		switch {
		case t.text(c) != name,
			x.field == "attribute" && parent == "attribute",
			x.field == "name" && parent == "keyword_argument":
		case target && parent == "assignment" && t.field(n, "type") >= 0:
			u.annotated = true
		case target:
			u.assigned = true
		default:
			u.used = true
		}
	}
}

// isTarget reports whether a child in field of a parent node is assigned to,
// given whether the parent itself is.
func isTarget(parent, field string, parentIsTarget bool) bool {
	switch {
	case field == "left" && (parent == "assignment" || parent == "augmented_assignment" || parent == "for_statement"),
		field == "alias":
		return true
	}
	switch parent {
	case "pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "parenthesized_expression", "tuple", "list", "as_pattern_target":
		return parentIsTarget
	}
	return false
}

func inside(t *ptree, n int32, kinds ...string) bool {
	for p := t.nodes[n].parent; p >= 0; p = t.nodes[p].parent {
		k := t.nodes[p].kind
		for _, want := range kinds {
			if k == want {
				return true
			}
		}
		if k == "class_definition" && !oneOf("class_definition", kinds...) {
			// A class body is not a function body.
			for q := t.nodes[p].parent; q >= 0; q = t.nodes[q].parent {
				if t.nodes[q].kind == "function_definition" {
					return oneOf("function_definition", kinds...)
				}
			}
			return false
		}
	}
	return false
}

func inAsyncFunc(t *ptree, n int32) bool {
	for p := t.nodes[n].parent; p >= 0; p = t.nodes[p].parent {
		switch t.nodes[p].kind {
		case "function_definition":
			for c := t.nodes[p].first; c >= 0; c = t.nodes[c].next {
				if t.nodes[c].kind == "async" {
					return true
				}
			}
			return false
		case "lambda":
			return false
		}
	}
	return false
}

func inLoop(t *ptree, n int32) bool {
	child := n
	for p := t.nodes[n].parent; p >= 0; child, p = p, t.nodes[p].parent {
		switch t.nodes[p].kind {
		case "for_statement", "while_statement":
			// Only the loop body counts; an else clause (or the loop's
			// header) is outside this loop, though maybe inside another.
			if t.nodes[child].field == "body" {
				return true
			}
		case "function_definition", "class_definition", "lambda":
			return false
		}
	}
	return false
}
