package airflow

/*
#include <stdbool.h>
#include <stdint.h>

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
*/
import "C"

import (
	"unsafe"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// maxDepth bounds the nesting the flattener follows; deeper subtrees (only
// seen in generated or hostile input) are cut off rather than risk the stack.
const maxDepth = 4096

// flatten copies the tree under root into nodes, in one call into C.
func flatten(root *sitter.Node, sizeHint int) []C.afnode {
	stack := make([]C.int32_t, 2*maxDepth)
	buf := make([]C.afnode, max(sizeHint, 64))
	for {
		// sitter.Node is documented as a C-compatible TSNode.
		n := C.af_flatten((*C.TSNode)(unsafe.Pointer(root)), &buf[0], C.int32_t(len(buf)), &stack[0], C.int32_t(maxDepth))
		if int(n) <= len(buf) {
			return buf[:n]
		}
		buf = make([]C.afnode, n)
	}
}
