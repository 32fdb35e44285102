/* The mapping: section: canonical customer fields (core/fields.h) ->
 * JSON pointers into rows that are not canonical (core/mapping.c reads
 * the rows with them). */
#include "config/fieldmap.h"

#include "config/config.h"
#include "config/diag.h"
#include "config/values.h"
#include "config/yamltree.h"
#include "core/fields.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_POINTERS 32 /* JSON pointers of one mapped field */

/* Why text is not a JSON pointer as mapping takes it (RFC 6901), or
 * NULL. "" (the whole document) is refused with the rest: a row is never
 * one field. */
static const char *pointer_problem(const char *s)
{
	if (s[0] != '/')
		return "must start with '/'";
	for (; *s; s++)
		if (*s == '~' && s[1] != '0' && s[1] != '1')
			return "'~' must be followed by '0' or '1'";
	return NULL;
}

/* One pointer at node into *dst. Returns 0, or -1 after reporting. */
static int get_pointer(struct ytree *t, size_t node, const char *path,
                       char **dst)
{
	const char *why;
	char b[72], *s;

	if (ynode_is_null(&t->nodes[node])) {
		ytree_err(t, node, "'%s' must be a JSON pointer", path);
		return -1;
	}
	if (value_text(t, node, path, "a JSON pointer", &s))
		return -1;
	why = pointer_problem(s);
	if (why) {
		ytree_err(t, node, "bad JSON pointer '%s': %s",
		          diag_shown(s, b, sizeof(b)), why);
		free(s);
		return -1;
	}
	*dst = s;
	return 0;
}

static void entry_free(struct config_mapping *m)
{
	for (size_t i = 0; i < m->n_pointers; i++)
		free(m->pointers[i]);
	free(m->pointers);
	free(m->field);
	memset(m, 0, sizeof(*m));
}

/* The fields that take a list of pointers, for the message that says
 * which ones do: "email, phone and billing_address.street". */
static const char *multi_fields(char *buf, size_t size)
{
	size_t n = 0, k = 0, used = 0;

	for (size_t i = 0; i < field_count; i++)
		n += field_table[i].multi;
	buf[0] = '\0';
	for (size_t i = 0; i < field_count && used < size; i++) {
		int w;

		if (!field_table[i].multi)
			continue;
		k++;
		w = snprintf(buf + used, size - used, "%s%s",
		             k == 1   ? ""
		             : k == n ? " and "
		                      : ", ",
		             field_table[i].path);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

/* The pointers of field f at node: one scalar, or a list for the fields
 * that take several. Every bad pointer is reported. Returns 0 with m
 * filled, or -1. */
static int get_mapping_entry(struct ytree *t, const struct field *f,
                             size_t node, const char *path,
                             struct config_mapping *m)
{
	const struct ynode *n = &t->nodes[node];
	size_t count = n->kind == YNODE_SEQ ? n->n_kids : 1;
	bool bad = false;
	char b[128];

	if (n->kind == YNODE_MAP) {
		ytree_err(t, node, "'%s' must be a JSON pointer%s", path,
		          f->multi ? " or a list of them" : "");
		return -1;
	}
	if (n->kind == YNODE_SEQ && !f->multi) {
		ytree_err(
		    t, node,
		    "'%s' must be one JSON pointer (only %s take a list)",
		    path, multi_fields(b, sizeof(b)));
		return -1;
	}
	if (count == 0) {
		ytree_err(t, node, "'%s' must not be empty", path);
		return -1;
	}
	if (count > CONFIG_MAX_POINTERS) {
		ytree_err(t, node, "'%s' has more than %d pointers", path,
		          CONFIG_MAX_POINTERS);
		return -1;
	}
	memset(m, 0, sizeof(*m));
	m->field = strdup(f->path);
	m->pointers = calloc(count + 1, sizeof(*m->pointers));
	if (!m->field || !m->pointers) {
		t->diag->oom = true;
		entry_free(m);
		return -1;
	}
	m->list = f->kind == FIELD_LIST;
	for (size_t i = 0; i < count; i++) {
		size_t item = n->kind == YNODE_SEQ ? n->kids[i] : node;

		if (t->nodes[item].kind != YNODE_SCALAR) {
			ytree_err(t, item,
			          "'%s' must be a list of JSON pointers",
			          path);
			bad = true;
		} else if (get_pointer(t, item, path,
		                       &m->pointers[m->n_pointers]) == 0) {
			m->n_pointers++;
		} else {
			bad = true;
		}
	}
	if (bad) {
		entry_free(m);
		return -1;
	}
	return 0;
}

/* mapping: canonical field -> JSON pointer(s) into the row, in file
 * order. An unknown field is blamed on its key, a bad pointer on its
 * value. */
int fieldmap_read(struct ytree *t, size_t node, struct config_mapping **dst,
                  size_t *n_dst)
{
	const struct ynode *n = &t->nodes[node];
	struct config_mapping *v;
	char path[128], b[72];

	if (ynode_is_null(n))
		return 0;
	if (n->kind != YNODE_MAP) {
		ytree_err(t, node, "'mapping' must be a mapping");
		return -1;
	}
	v = calloc(n->n_kids / 2 + 1, sizeof(*v));
	if (!v) {
		t->diag->oom = true;
		return -1;
	}
	*dst = v;
	for (size_t k = 0; k + 1 < n->n_kids; k += 2) {
		const struct ynode *key = &t->nodes[n->kids[k]];
		const struct field *f;
		bool dup = false;

		if (key->kind != YNODE_SCALAR) {
			ytree_err(t, n->kids[k],
			          "keys of 'mapping' must be strings");
			continue;
		}
		f = field_find(key->value, key->len);
		if (!f) {
			ytree_err(t, n->kids[k],
			          "unknown canonical field '%s' in mapping",
			          diag_shown(key->value, b, sizeof(b)));
			continue;
		}
		snprintf(path, sizeof(path), "mapping.%s", f->path);
		for (size_t j = 0; j < k && !dup; j += 2)
			dup = ynode_key_is(&t->nodes[n->kids[j]], key->value);
		if (dup) {
			ytree_err(t, n->kids[k], "duplicate key '%s'", path);
			continue;
		}
		if (get_mapping_entry(t, f, n->kids[k + 1], path,
		                      &v[*n_dst]) == 0)
			(*n_dst)++;
	}
	return 0;
}

void fieldmap_free(struct config_mapping *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		entry_free(&v[i]);
	free(v);
}
