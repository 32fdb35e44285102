/* The document as a small tree of our own, built from libyaml's events,
 * so that nesting depth is bounded while parsing and every node keeps
 * its line:col. Nodes live in one array and refer to each other by
 * index. */
#ifndef CUSTSYNC_CONFIG_YAMLTREE_H
#define CUSTSYNC_CONFIG_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diag;
struct yanchor;

#define YTREE_MAX_DEPTH 32
#define YNODE_NONE      SIZE_MAX /* no node: an absent key */

enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
	enum ynode_kind kind;
	int line; /* 1-based */
	int col;  /* 1-based */
	bool plain;
	/* An alias: value and kids belong to the anchored node; the copy
	 * exists only so that errors point at the alias. */
	bool borrowed;
	char *value; /* scalar, NUL-terminated (may hold NULs: see len) */
	size_t len;
	size_t *kids; /* map: key, value, key, value...; seq: items */
	size_t n_kids;
	size_t cap_kids;
};

struct ytree {
	struct ynode *nodes;
	size_t n_nodes;
	size_t cap_nodes;
	struct yanchor *anchors;
	size_t n_anchors;
	size_t cap_anchors;
	struct diag *diag; /* borrowed: where problems go */
};

/* Parses buf (one YAML document) into t. Returns 0 with *root set
 * (YNODE_NONE for an empty stream), or -1 after reporting to d. t is to
 * be freed either way. */
int ytree_build(struct ytree *t, struct diag *d, const char *buf, size_t len,
                size_t *root);
void ytree_free(struct ytree *t);

/* A plain empty, "~" or "null" value: YAML's null, i.e. no value. */
bool ynode_is_null(const struct ynode *n);

/* A scalar key spelled exactly name. */
bool ynode_key_is(const struct ynode *k, const char *name);

/* A problem at node's place. */
__attribute__((format(printf, 3, 4))) void
ytree_err(struct ytree *t, size_t node, const char *fmt, ...);

#endif
