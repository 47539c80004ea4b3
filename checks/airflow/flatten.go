package airflow

/*
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

// Declarations of the tree-sitter C API (tree_sitter/api.h, v0.25) that the
// flattener uses. The definitions are compiled and linked by
// github.com/tree-sitter/go-tree-sitter, which this package imports.
typedef struct TSNode { uint32_t context[4]; const void *id; const void *tree; } TSNode;
typedef struct TSTreeCursor { const void *tree; const void *id; uint32_t context[3]; } TSTreeCursor;
typedef struct TSPoint { uint32_t row; uint32_t column; } TSPoint;
extern uint16_t ts_node_symbol(TSNode self);
extern uint32_t ts_node_start_byte(TSNode self);
extern uint32_t ts_node_end_byte(TSNode self);
extern TSPoint ts_node_start_point(TSNode self);
extern TSPoint ts_node_end_point(TSNode self);
extern bool ts_node_is_named(TSNode self);
extern bool ts_node_is_missing(TSNode self);
extern TSTreeCursor ts_tree_cursor_new(TSNode node);
extern void ts_tree_cursor_delete(TSTreeCursor *self);
extern TSNode ts_tree_cursor_current_node(const TSTreeCursor *self);
extern uint16_t ts_tree_cursor_current_field_id(const TSTreeCursor *self);
extern bool ts_tree_cursor_goto_parent(TSTreeCursor *self);
extern bool ts_tree_cursor_goto_next_sibling(TSTreeCursor *self);
extern bool ts_tree_cursor_goto_first_child(TSTreeCursor *self);
typedef struct TSParser TSParser;
typedef struct TSTree TSTree;
typedef struct TSLanguage TSLanguage;
extern TSParser *ts_parser_new(void);
extern void ts_parser_delete(TSParser *self);
extern bool ts_parser_set_language(TSParser *self, const TSLanguage *language);
extern TSTree *ts_parser_parse_string(TSParser *self, const TSTree *old_tree, const char *string, uint32_t length);
extern void ts_tree_delete(TSTree *self);
extern TSNode ts_tree_root_node(const TSTree *self);

typedef struct afnode {
	uint32_t start, end;
	int32_t line, col, eline, ecol;
	int32_t parent, first, next;
	uint16_t sym, field;
	uint8_t named, missing;
} afnode;

// af_flatten writes the tree under root in pre-order into out and returns the
// node count. When the count exceeds cap, nothing past cap is written and the
// caller retries with a buffer of the returned size. stack holds one slot per
// depth level (parent index, last child index) and must have room for depth.
static int32_t af_flatten(const TSNode *root, afnode *out, int32_t cap, int32_t *stack, int32_t stack_cap) {
	TSTreeCursor cur = ts_tree_cursor_new(*root);
	int32_t n = 0, depth = 0;
	stack[0] = -1; stack[1] = -1;
	for (;;) {
		TSNode node = ts_tree_cursor_current_node(&cur);
		int32_t idx = n++;
		int32_t parent = stack[2 * depth];
		if (idx < cap) {
			afnode *a = &out[idx];
			TSPoint sp = ts_node_start_point(node), ep = ts_node_end_point(node);
			a->start = ts_node_start_byte(node);
			a->end = ts_node_end_byte(node);
			a->line = (int32_t)sp.row + 1; a->col = (int32_t)sp.column + 1;
			a->eline = (int32_t)ep.row + 1; a->ecol = (int32_t)ep.column + 1;
			a->parent = parent; a->first = -1; a->next = -1;
			a->sym = ts_node_symbol(node);
			a->field = ts_tree_cursor_current_field_id(&cur);
			a->named = ts_node_is_named(node);
			a->missing = ts_node_is_missing(node);
			int32_t prev = stack[2 * depth + 1];
			if (prev >= 0) out[prev].next = idx;
			else if (parent >= 0) out[parent].first = idx;
		}
		stack[2 * depth + 1] = idx;
		if (depth + 1 < stack_cap && ts_tree_cursor_goto_first_child(&cur)) {
			depth++;
			stack[2 * depth] = idx;
			stack[2 * depth + 1] = -1;
			continue;
		}
		while (!ts_tree_cursor_goto_next_sibling(&cur)) {
			if (depth == 0 || !ts_tree_cursor_goto_parent(&cur)) {
				ts_tree_cursor_delete(&cur);
				return n;
			}
			depth--;
		}
	}
}

// af_parse parses src with parser and flattens the tree into out, as
// af_flatten does. Parsing from a C buffer avoids a Go callback per chunk.
static int32_t af_parse(TSParser *parser, const char *src, uint32_t len, afnode *out, int32_t cap, int32_t *stack, int32_t stack_cap) {
	TSTree *tree = ts_parser_parse_string(parser, NULL, src, len);
	if (tree == NULL) return -1;
	TSNode root = ts_tree_root_node(tree);
	int32_t n = af_flatten(&root, out, cap, stack, stack_cap);
	ts_tree_delete(tree);
	return n;
}

extern void ts_set_allocator(void *(*new_malloc)(size_t), void *(*new_calloc)(size_t, size_t),
	void *(*new_realloc)(void *, size_t), void (*new_free)(void *));

// af_use_libc_allocator points tree-sitter's allocator straight at libc.
// go-tree-sitter routes every allocation through an exported Go function
// that calls C.malloc again: two crossings of the cgo boundary per node,
// about a tenth of the parse time. Memory from either path comes from the
// same libc heap, so the switch is safe while trees are alive.
static void af_use_libc_allocator(void) {
	ts_set_allocator(malloc, calloc, realloc, free);
}

static TSParser *af_new_parser(const void *lang) {
	TSParser *p = ts_parser_new();
	if (!ts_parser_set_language(p, (const TSLanguage *)lang)) {
		ts_parser_delete(p);
		return NULL;
	}
	return p;
}
*/
import "C"

import (
	"sync"
	"unsafe"
)

// maxDepth bounds the nesting the flattener follows; deeper subtrees (only
// seen in generated or hostile input) are cut off rather than risk the stack.
const maxDepth = 4096

// cParser is a tree-sitter parser used from C. It is not safe for concurrent use.
type cParser struct {
	p *C.TSParser
	// The flattening buffers are kept between parses: clearing fresh ones
	// for every file cost more than copying the result out.
	stack []C.int32_t
	buf   []C.afnode
}

// useLibcAllocator makes the allocator switch once per process; the setting
// is tree-sitter's own global.
var useLibcAllocator = sync.OnceFunc(func() { C.af_use_libc_allocator() })

func newCParser(lang unsafe.Pointer) (*cParser, bool) {
	useLibcAllocator()
	p := C.af_new_parser(lang)
	return &cParser{p: p}, p != nil
}

func (c *cParser) close() {
	if c.p != nil {
		C.ts_parser_delete(c.p)
		c.p = nil
	}
}

// parse parses src and returns its flattened tree, in one call into C. The
// result is valid until the next parse.
func (c *cParser) parse(src []byte, sizeHint int) []C.afnode {
	if c.stack == nil {
		c.stack = make([]C.int32_t, 2*maxDepth)
	}
	if len(c.buf) < sizeHint {
		c.buf = make([]C.afnode, max(sizeHint, 64))
	}
	var text *C.char
	if len(src) > 0 {
		text = (*C.char)(unsafe.Pointer(&src[0]))
	}
	for {
		n := C.af_parse(c.p, text, C.uint32_t(len(src)), &c.buf[0], C.int32_t(len(c.buf)), &c.stack[0], C.int32_t(maxDepth))
		if n < 0 {
			return nil
		}
		if int(n) <= len(c.buf) {
			return c.buf[:n]
		}
		c.buf = make([]C.afnode, n)
	}
}
