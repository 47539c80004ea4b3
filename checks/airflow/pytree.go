package airflow

import (
	"bytes"

	ts "github.com/tree-sitter/tree-sitter-python/bindings/go"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// A syntax tree is copied out of tree-sitter into a flat Go slice in one
// cursor walk: every later question ("what is this call's callee?") is then
// answered in Go without crossing into C, which keeps the whole rule set
// cheaper than CPython's own compile step.

// pnode is one syntax node of a flattened tree.
type pnode struct {
	kind   string // interned grammar kind: "call", "identifier", "(" …
	field  string // field name in the parent ("function", "arguments"), or ""
	start  uint32 // byte offsets into the source
	end    uint32
	line   int32 // 1-based
	col    int32 // 1-based, in bytes
	eline  int32
	ecol   int32
	parent int32
	first  int32 // first child, -1 when none
	next   int32 // next sibling, -1 when none
	named  bool
	miss   bool // inserted by error recovery
}

// ptree is a flattened parse of one Python file. Node 0 is the module.
type ptree struct {
	src   []byte
	nodes []pnode
}

// pyParser owns one tree-sitter parser and the grammar's name tables. It is
// not safe for concurrent use: make one per goroutine.
type pyParser struct {
	c      *cParser
	kinds  []string
	fields []string
}

func newPyParser() *pyParser {
	lang := sitter.NewLanguage(ts.Language())
	c, ok := newCParser(ts.Language())
	if !ok {
		// The grammar is compiled in; an ABI mismatch is a build bug.
		panic("airflow: tree-sitter rejected the tree-sitter-python grammar (ABI mismatch)")
	}
	kinds := make([]string, lang.NodeKindCount()+1)
	for i := range kinds {
		kinds[i] = lang.NodeKindForId(uint16(i))
	}
	fields := make([]string, lang.FieldCount()+1)
	for i := 1; i < len(fields); i++ {
		fields[i] = lang.FieldNameForId(uint16(i))
	}
	return &pyParser{c: c, kinds: kinds, fields: fields}
}

func (pp *pyParser) close() { pp.c.close() }

// parse parses src and flattens the tree. The nodes go into reuse when it
// has room, so a caller that drops each tree before the next parse (the
// Analyzer with the file it is analyzing) allocates no node array per file.
func (pp *pyParser) parse(src []byte, reuse []pnode) *ptree {
	src = lineEndsToLF(src)
	// Parsing and flattening happen in one call into C; the source is read
	// in place and the tree is freed before returning.
	raw := pp.c.parse(src, len(src)/3+16)
	nodes := reuse[:0]
	if cap(nodes) < len(raw) {
		nodes = make([]pnode, len(raw))
	}
	t := &ptree{src: src, nodes: nodes[:len(raw)]}
	for i := range raw {
		r := &raw[i]
		k, f := "ERROR", ""
		if int(r.sym) < len(pp.kinds) {
			k = pp.kinds[r.sym]
		}
		if r.field != 0 && int(r.field) < len(pp.fields) {
			f = pp.fields[r.field]
		}
		t.nodes[i] = pnode{
			kind: k, field: f, start: uint32(r.start), end: uint32(r.end),
			line: int32(r.line), col: int32(r.col), eline: int32(r.eline), ecol: int32(r.ecol),
			parent: int32(r.parent), first: int32(r.first), next: int32(r.next),
			named: r.named != 0, miss: r.missing != 0,
		}
	}
	return t
}

// lineEndsToLF returns src with each lone carriage return made a line feed.
// CPython reads \r, \r\n and \n alike as line ends; tree-sitter's grammar
// ends lines only at \n (\r\n works because \r is whitespace to it), so a
// file saved with old Mac line ends would read as one line. The length is
// kept, so offsets into the copy are offsets into the file; src itself is
// never written, and is returned as is when it has no lone \r.
func lineEndsToLF(src []byte) []byte {
	i := bytes.IndexByte(src, '\r')
	for i >= 0 && i+1 < len(src) && src[i+1] == '\n' {
		j := bytes.IndexByte(src[i+2:], '\r')
		if j < 0 {
			return src
		}
		i += 2 + j
	}
	if i < 0 {
		return src
	}
	out := append([]byte(nil), src...)
	for ; i < len(out); i++ {
		if out[i] == '\r' && (i+1 == len(out) || out[i+1] != '\n') {
			out[i] = '\n'
		}
	}
	return out
}

// text returns the source text of node i.
func (t *ptree) text(i int32) string {
	n := &t.nodes[i]
	if n.end < n.start || int(n.end) > len(t.src) {
		return ""
	}
	return string(t.src[n.start:n.end])
}

// namedChildren returns the named child indices of i, skipping comments.
func (t *ptree) namedChildren(i int32) []int32 {
	var out []int32
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].named && t.nodes[c].kind != "comment" {
			out = append(out, c)
		}
	}
	return out
}

// field returns the first child of i with the given field name, or -1.
func (t *ptree) field(i int32, name string) int32 {
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].field == name {
			return c
		}
	}
	return -1
}

// fields returns every child of i with the given field name.
func (t *ptree) fields(i int32, name string) []int32 {
	var out []int32
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].field == name {
			out = append(out, c)
		}
	}
	return out
}

func (t *ptree) kind(i int32) string {
	if i < 0 {
		return ""
	}
	return t.nodes[i].kind
}

// sameText reports whether nodes a and b span the same source text.
func (t *ptree) sameText(a, b int32) bool {
	if a < 0 || b < 0 {
		return a == b
	}
	x, y := &t.nodes[a], &t.nodes[b]
	return string(t.src[x.start:x.end]) == string(t.src[y.start:y.end])
}
