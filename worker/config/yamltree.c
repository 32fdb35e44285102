#include "config/yamltree.h"

#include "config/diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct yanchor {
	char *name;
	size_t node;
};

static size_t node_new(struct ytree *t, enum ynode_kind kind,
                       const yaml_mark_t *m)
{
	struct ynode *n;

	if (t->n_nodes == t->cap_nodes) {
		size_t cap = t->cap_nodes ? t->cap_nodes * 2 : 64;

		n = realloc(t->nodes, cap * sizeof(*n));
		if (!n) {
			t->diag->oom = true;
			return YNODE_NONE;
		}
		t->nodes = n;
		t->cap_nodes = cap;
	}
	n = &t->nodes[t->n_nodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	/* libyaml counts from 0; a 1 MiB file keeps these within int. */
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return t->n_nodes++;
}

static int node_add_kid(struct ytree *t, size_t parent, size_t kid)
{
	struct ynode *n = &t->nodes[parent];

	if (n->n_kids == n->cap_kids) {
		size_t cap = n->cap_kids ? n->cap_kids * 2 : 8;
		size_t *k = realloc(n->kids, cap * sizeof(*k));

		if (!k) {
			t->diag->oom = true;
			return -ENOMEM;
		}
		n->kids = k;
		n->cap_kids = cap;
	}
	n->kids[n->n_kids++] = kid;
	return 0;
}

static int anchor_add(struct ytree *t, const unsigned char *name, size_t node)
{
	struct yanchor *a;

	if (t->n_anchors == t->cap_anchors) {
		size_t cap = t->cap_anchors ? t->cap_anchors * 2 : 8;

		a = realloc(t->anchors, cap * sizeof(*a));
		if (!a) {
			t->diag->oom = true;
			return -ENOMEM;
		}
		t->anchors = a;
		t->cap_anchors = cap;
	}
	a = &t->anchors[t->n_anchors];
	a->name = strdup((const char *)name);
	if (!a->name) {
		t->diag->oom = true;
		return -ENOMEM;
	}
	a->node = node;
	t->n_anchors++;
	return 0;
}

/* A later anchor of the same name wins, as YAML says. */
static size_t anchor_find(const struct ytree *t, const unsigned char *name)
{
	for (size_t i = t->n_anchors; i > 0; i--)
		if (strcmp(t->anchors[i - 1].name, (const char *)name) == 0)
			return t->anchors[i - 1].node;
	return YNODE_NONE;
}

void ytree_free(struct ytree *t)
{
	for (size_t i = 0; i < t->n_nodes; i++) {
		if (t->nodes[i].borrowed)
			continue;
		free(t->nodes[i].value);
		free(t->nodes[i].kids);
	}
	free(t->nodes);
	for (size_t i = 0; i < t->n_anchors; i++)
		free(t->anchors[i].name);
	free(t->anchors);
}

static void syntax_error(struct ytree *t, const yaml_parser_t *y,
                         const char *buf, size_t len)
{
	int line, col;

	if (y->error == YAML_MEMORY_ERROR) {
		t->diag->oom = true;
		return;
	}
	if (y->error == YAML_READER_ERROR) {
		/* The reader gives a byte offset, not a mark. */
		size_t off = y->problem_offset < len ? y->problem_offset : len;

		line = 1;
		col = 1;
		for (size_t i = 0; i < off; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
				col++;
			}
		}
	} else {
		line = (int)y->problem_mark.line + 1;
		col = (int)y->problem_mark.column + 1;
	}
	if (y->context)
		diag_at(t->diag, line, col, "%s (%s)",
		        y->problem ? y->problem : "syntax error", y->context);
	else
		diag_at(t->diag, line, col, "%s",
		        y->problem ? y->problem : "syntax error");
}

static bool is_start(yaml_event_type_t t)
{
	return t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT;
}

/* One event into the tree. Returns 1 at the end of the stream, 0 to go
 * on, -1 to stop (reported). */
static int tree_event(struct ytree *t, const yaml_event_t *ev, size_t *stack,
                      char **stack_anchor, size_t *depth, size_t *root,
                      int *docs)
{
	const yaml_mark_t *m = &ev->start_mark;
	const unsigned char *anchor = NULL;
	size_t node;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1) {
			diag_at(t->diag, (int)m->line + 1, (int)m->column + 1,
			        "only one YAML document is allowed");
			return -1;
		}
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		node = stack[--*depth];
		if (stack_anchor[*depth]) {
			int rc = anchor_add(
			    t, (unsigned char *)stack_anchor[*depth], node);

			free(stack_anchor[*depth]);
			stack_anchor[*depth] = NULL;
			if (rc)
				return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		node = node_new(t, YNODE_SCALAR, m);
		if (node == YNODE_NONE)
			return -1;
		t->nodes[node].value = malloc(ev->data.scalar.length + 1);
		if (!t->nodes[node].value) {
			t->diag->oom = true;
			return -1;
		}
		memcpy(t->nodes[node].value, ev->data.scalar.value,
		       ev->data.scalar.length);
		t->nodes[node].value[ev->data.scalar.length] = '\0';
		t->nodes[node].len = ev->data.scalar.length;
		t->nodes[node].plain =
		    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		anchor = ev->data.scalar.anchor;
		break;
	case YAML_ALIAS_EVENT: {
		size_t target = anchor_find(t, ev->data.alias.anchor);
		char b[72];

		if (target == YNODE_NONE) {
			diag_at(t->diag, (int)m->line + 1, (int)m->column + 1,
			        "undefined alias '%s'",
			        diag_shown((const char *)ev->data.alias.anchor,
			                   b, sizeof(b)));
			return -1;
		}
		node = node_new(t, YNODE_SCALAR, m);
		if (node == YNODE_NONE)
			return -1;
		{
			struct ynode *n = &t->nodes[node];
			int line = n->line, col = n->col;

			*n = t->nodes[target];
			n->line = line;
			n->col = col;
			n->borrowed = true;
		}
		break;
	}
	case YAML_MAPPING_START_EVENT:
		node = node_new(t, YNODE_MAP, m);
		anchor = ev->data.mapping_start.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		node = node_new(t, YNODE_SEQ, m);
		anchor = ev->data.sequence_start.anchor;
		break;
	default:
		return 0;
	}
	if (node == YNODE_NONE)
		return -1;
	if (*depth > 0) {
		if (node_add_kid(t, stack[*depth - 1], node))
			return -1;
	} else {
		*root = node;
	}
	if (is_start(ev->type)) {
		if (*depth == YTREE_MAX_DEPTH) {
			diag_at(t->diag, (int)m->line + 1, (int)m->column + 1,
			        "nesting is deeper than %d levels",
			        YTREE_MAX_DEPTH);
			return -1;
		}
		stack_anchor[*depth] = NULL;
		if (anchor) {
			/* Registered once complete, so that an alias
			 * inside its own anchor is undefined, not a
			 * cycle. */
			stack_anchor[*depth] = strdup((const char *)anchor);
			if (!stack_anchor[*depth]) {
				t->diag->oom = true;
				return -1;
			}
		}
		stack[(*depth)++] = node;
	} else if (anchor && anchor_add(t, anchor, node)) {
		return -1;
	}
	return 0;
}

/* Returns 0 with *root set (YNODE_NONE for an empty stream), or -1 after
 * reporting. */
int ytree_build(struct ytree *t, struct diag *d, const char *buf, size_t len,
                size_t *root)
{
	size_t stack[YTREE_MAX_DEPTH];
	char *stack_anchor[YTREE_MAX_DEPTH];
	size_t depth = 0;
	yaml_parser_t y;
	int docs = 0, rc = 0;

	memset(t, 0, sizeof(*t));
	t->diag = d;
	*root = YNODE_NONE;
	if (!yaml_parser_initialize(&y)) {
		t->diag->oom = true;
		return -1;
	}
	yaml_parser_set_input_string(&y, (const unsigned char *)buf, len);
	while (rc == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&y, &ev)) {
			syntax_error(t, &y, buf, len);
			rc = -1;
			break;
		}
		rc = tree_event(t, &ev, stack, stack_anchor, &depth, root,
		                &docs);
		yaml_event_delete(&ev);
	}
	while (depth > 0)
		free(stack_anchor[--depth]);
	yaml_parser_delete(&y);
	return rc < 0 ? -1 : 0;
}

/* A plain empty, "~" or "null" value: YAML's null, i.e. no value. */
bool ynode_is_null(const struct ynode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->kind != YNODE_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->value, nulls[i]) == 0)
			return true;
	return false;
}

bool ynode_key_is(const struct ynode *k, const char *name)
{
	return k->kind == YNODE_SCALAR && k->len == strlen(name) &&
	       memcmp(k->value, name, k->len) == 0;
}

void ytree_err(struct ytree *t, size_t node, const char *fmt, ...)
{
	const struct ynode *n = &t->nodes[node];
	va_list ap;

	va_start(ap, fmt);
	diag_vat(t->diag, n->line, n->col, fmt, ap);
	va_end(ap);
}
