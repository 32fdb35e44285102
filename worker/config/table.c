/* The walk over the rows (table.h): defaults, reading a document's keys,
 * the validators, the defaults that follow other keys, and freeing. */
#include "config/table.h"

#include "config/config.h"
#include "config/diag.h"
#include "config/fieldmap.h"
#include "config/values.h"
#include "config/yamltree.h"
#include "profiles/profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Enum members are stored through an int. */
_Static_assert(sizeof(enum auth_type) == sizeof(int), "enum is an int");

/* ---- the rows ------------------------------------------------------- */

const struct config_row *config_row_at(size_t i)
{
	const struct profile_ops *ops;

	if (i < config_n_rows)
		return &config_rows[i];
	i -= config_n_rows;
	for (size_t k = 0; (ops = profile_at(k)) != NULL; k++) {
		if (i < ops->n_settings)
			return &ops->settings[i];
		i -= ops->n_settings;
	}
	return NULL;
}

static void *at(struct config *c, size_t offset)
{
	return (char *)c + offset;
}

/* The key's name inside its section ("timeout_ms"). */
static const char *row_name(const struct config_row *r)
{
	const char *dot = strrchr(r->path, '.');

	return dot ? dot + 1 : r->path;
}

/* Is r a key of the section called sec ("" for the root)? */
static bool row_in(const struct config_row *r, const char *sec)
{
	size_t n = strlen(sec);
	const char *rest;

	if (n == 0)
		return !strchr(r->path, '.');
	if (strncmp(r->path, sec, n) != 0 || r->path[n] != '.')
		return false;
	rest = r->path + n + 1;
	return !strchr(rest, '.');
}

/* ---- reading -------------------------------------------------------- */

struct cpos {
	int line;
	int col;
};

/* Where each row's key was found, and how reading it went. */
struct row_state {
	bool set; /* the key was written */
	size_t key, val;
	bool file_set; /* its *_file form was */
	size_t file_key, file_val;
	int rc; /* 1 read, 0 absent, -1 a problem or not read */
};

struct config_load {
	struct ytree *t;
	struct config *cfg;
	const struct config_row **rows;
	struct row_state *st;
	size_t n;
};

static size_t row_index(const struct config_load *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->rows[i]->path, path) == 0)
			return i;
	return SIZE_MAX;
}

struct config *config_load_config(struct config_load *l)
{
	return l->cfg;
}

bool config_load_is_set(const struct config_load *l, const char *path)
{
	size_t i = row_index(l, path);

	return i != SIZE_MAX && l->st[i].rc > 0;
}

bool config_load_failed(const struct config_load *l, const char *path)
{
	size_t i = row_index(l, path);

	return i == SIZE_MAX || l->st[i].rc < 0;
}

void config_load_err(struct config_load *l, const char *path, const char *fmt,
                     ...)
{
	size_t i = row_index(l, path);
	const struct row_state *s;
	const struct ynode *n;
	va_list ap;

	if (i == SIZE_MAX)
		return;
	s = &l->st[i];
	if (!s->set && !s->file_set)
		return;
	n = &l->t->nodes[s->file_set ? s->file_val : s->val];
	va_start(ap, fmt);
	diag_vat(l->t->diag, n->line, n->col, fmt, ap);
	va_end(ap);
}

void config_load_err_item(struct config_load *l, const char *path, size_t i,
                          const char *fmt, ...)
{
	size_t r = row_index(l, path);
	const struct ynode *list, *n;
	va_list ap;

	if (r == SIZE_MAX || !l->st[r].set)
		return;
	list = &l->t->nodes[l->st[r].val];
	n = i < list->n_kids ? &l->t->nodes[list->kids[i]] : list;
	va_start(ap, fmt);
	diag_vat(l->t->diag, n->line, n->col, fmt, ap);
	va_end(ap);
}

static struct cpos node_pos(const struct ytree *t, size_t node)
{
	struct cpos pos = {t->nodes[node].line, t->nodes[node].col};

	return pos;
}

/* "PATH_file" of a row with a file form. */
static const char *file_path(const struct config_row *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s_file", r->path);
	return buf;
}

/* The row whose key k is in section sec, or l->n; *file: k is the row's
 * *_file form. */
static size_t key_row(const struct config_load *l, const char *sec,
                      const struct ynode *k, bool *file)
{
	char fb[80];

	*file = false;
	for (size_t d = 0; d < l->n; d++) {
		const struct config_row *r = l->rows[d];

		if (!row_in(r, sec))
			continue;
		if (ynode_key_is(k, row_name(r)))
			return d;
		if (!(r->flags & CONFIG_FILE))
			continue;
		snprintf(fb, sizeof(fb), "%s_file", row_name(r));
		if (ynode_key_is(k, fb)) {
			*file = true;
			return d;
		}
	}
	return l->n;
}

/* A required key that is missing whatever else was written. */
static bool always_required(const struct config_row *r)
{
	return (r->flags & CONFIG_REQUIRED) && !r->when &&
	       !(r->flags & CONFIG_FILE);
}

/* Sorts a section's keys into the rows' states: unknown and duplicate
 * keys are reported, then missing required ones (at where) that do not
 * depend on another key. node is YNODE_NONE or YAML's null for an absent
 * or empty mapping. Returns false when node is something else
 * (reported), and then nothing else is. */
static bool section_open(struct config_load *l, const char *sec, size_t node,
                         struct cpos where)
{
	struct ytree *t = l->t;
	const struct ynode *n = node == YNODE_NONE ? NULL : &t->nodes[node];
	char b[80];

	if (n && n->kind != YNODE_MAP && !ynode_is_null(n)) {
		ytree_err(t, node, "'%s' must be a mapping", sec);
		return false;
	}
	for (size_t i = 0; n && i + 1 < n->n_kids; i += 2) {
		size_t key = n->kids[i];
		const struct ynode *k = &t->nodes[key];
		bool file;
		size_t d = key_row(l, sec, k, &file);
		struct row_state *s = &l->st[d];

		if (d == l->n && k->kind != YNODE_SCALAR) {
			ytree_err(t, key, "keys of '%s' must be strings",
			          *sec ? sec : "the configuration");
			continue;
		}
		if (d == l->n) {
			ytree_err(t, key, "unknown key '%s%s%s'", sec,
			          *sec ? "." : "",
			          diag_shown(k->value, b, sizeof(b)));
			continue;
		}
		if (file ? s->file_set : s->set) {
			ytree_err(t, key, "duplicate key '%s'",
			          file ? file_path(l->rows[d], b, sizeof(b))
			               : l->rows[d]->path);
			continue;
		}
		if (file) {
			s->file_set = true;
			s->file_key = key;
			s->file_val = n->kids[i + 1];
		} else {
			s->set = true;
			s->key = key;
			s->val = n->kids[i + 1];
		}
	}
	for (size_t d = 0; d < l->n; d++)
		if (row_in(l->rows[d], sec) && always_required(l->rows[d]) &&
		    !l->st[d].set)
			diag_at(t->diag, where.line, where.col,
			        "missing required key '%s'", l->rows[d]->path);
	return true;
}

/* The value of an ENUM row, as stored. */
static int enum_value(const struct config *c, const struct config_row *r)
{
	int v;

	memcpy(&v, (const char *)c + r->offset, sizeof(v));
	return v;
}

/* Does r apply, given the row it depends on (w, NULL for none)? */
static bool applies(const struct config *c, const struct config_row *r,
                    const struct config_row *w)
{
	int v;

	if (!r->when)
		return true;
	if (!w)
		return false;
	v = enum_value(c, w);
	return v >= 0 && v < 32 && (r->when_mask & 1u << v);
}

/* A key of a row that does not apply, where it was written. */
static void not_applying(struct config_load *l, size_t i, size_t w)
{
	const struct config_row *r = l->rows[i], *wr = l->rows[w];
	const struct row_state *s = &l->st[i];
	int v = enum_value(l->cfg, wr);
	const char *name = (size_t)v < wr->n_names ? wr->names[v] : "?";
	char b[80];

	if (s->set)
		ytree_err(l->t, s->key, "'%s' does not apply to %s '%s'",
		          r->path, wr->label, name);
	if (s->file_set)
		ytree_err(l->t, s->file_key, "'%s' does not apply to %s '%s'",
		          file_path(r, b, sizeof(b)), wr->label, name);
}

/* The value at node into the row's storage. Returns 0 or -1. */
static int read_value(struct config_load *l, const struct config_row *r,
                      size_t node, const char *path, bool file)
{
	struct ytree *t = l->t;
	void *dst = at(l->cfg, r->offset);
	size_t *count = at(l->cfg, r->count);
	size_t idx;
	char **s;
	int v;

	switch (r->type) {
	case CONFIG_STRING:
		return file ? value_secret_file(t, node, path, dst)
		            : value_string(t, node, path, dst);
	case CONFIG_URL:
		return value_url(t, node, path, dst);
	case CONFIG_INT:
		return value_long_or(t, node, path, r->min, r->max, r->word,
		                     r->word_value, dst);
	case CONFIG_BOOL:
		return value_bool(t, node, path, dst);
	case CONFIG_ENUM:
		if (value_choice(t, node, path, r->names, r->n_names, &idx))
			return -1;
		v = (int)idx;
		memcpy(dst, &v, sizeof(v));
		return 0;
	case CONFIG_CHOICE:
		if (value_choice(t, node, path, r->names, r->n_names, &idx))
			return -1;
		s = dst;
		free(*s);
		*s = strdup(r->names[idx]);
		if (!*s) {
			t->diag->oom = true;
			return -1;
		}
		return 0;
	case CONFIG_LIST:
		return value_strlist(t, node, path, r->flags & CONFIG_REQUIRED,
		                     dst, count);
	case CONFIG_PROPERTIES:
		return value_properties(t, node, path, dst, count);
	case CONFIG_MAPPING:
		return fieldmap_read(t, node, dst, count);
	case CONFIG_HEADERS:
		return value_headers(t, node, path, dst, count);
	default:
		return -1;
	}
}

/* The checks of a string that was read: the row's own, then how it is
 * sent. Returns 0 or -1. */
static int check_value(struct config_load *l, const struct config_row *r,
                       size_t node, const char *path)
{
	const char *value, *msg;
	char buf[256];

	if (r->type != CONFIG_STRING && r->type != CONFIG_URL)
		return 0;
	value = *(char **)at(l->cfg, r->offset);
	if (r->check) {
		msg = r->check(path, value, buf, sizeof(buf));
		if (msg) {
			ytree_err(l->t, node, "%s", msg);
			return -1;
		}
	}
	if (r->flags & CONFIG_SENT_HEADER)
		return value_check_sent(l->t, node, path, value,
		                        SENT_IN_HEADER);
	if (r->flags & CONFIG_SENT_ENCODED)
		return value_check_sent(l->t, node, path, value, SENT_ENCODED);
	return 0;
}

/* Row i of section sec (at where), once its section is open. */
static void read_row(struct config_load *l, size_t i, const char *sec,
                     struct cpos where)
{
	const struct config_row *r = l->rows[i];
	struct row_state *s = &l->st[i];
	bool file = s->file_set;
	size_t node = file ? s->file_val : s->val;
	char fb[80];
	const char *path = file ? file_path(r, fb, sizeof(fb)) : r->path;

	s->rc = -1;
	if (r->when) {
		size_t w = row_index(l, r->when);

		/* Nothing to say while what it depends on is unreadable. */
		if (w == SIZE_MAX || l->st[w].rc < 0)
			return;
		if (!applies(l->cfg, r, l->rows[w])) {
			not_applying(l, i, w);
			if (!s->set && !s->file_set)
				s->rc = 0;
			return;
		}
		if (!s->set && (r->flags & CONFIG_REQUIRED) &&
		    !(r->flags & CONFIG_FILE)) {
			diag_at(l->t->diag, where.line, where.col,
			        "missing required key '%s'", r->path);
			return;
		}
	}
	if ((r->flags & CONFIG_FILE) &&
	    ((s->set && s->file_set) ||
	     (!s->set && !s->file_set && (r->flags & CONFIG_REQUIRED)))) {
		/* Both: the second one is the offending key. */
		struct cpos pos = where;

		if (s->set)
			pos = node_pos(l->t, s->key < s->file_key ? s->file_key
			                                          : s->key);
		diag_at(l->t->diag, pos.line, pos.col,
		        "'%s' needs exactly one of '%s' and '%s_file'", sec,
		        row_name(r), row_name(r));
		return;
	}
	if (!s->set && !s->file_set) {
		s->rc = 0;
		return;
	}
	if (read_value(l, r, node, path, file) ||
	    check_value(l, r, node, path))
		return;
	s->rc = 1;
}

static void read_section(struct config_load *l, const char *sec,
                         struct cpos where)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct config_row *r = l->rows[i];
		struct row_state *s = &l->st[i];
		struct cpos sub;

		if (!row_in(r, sec))
			continue;
		if (r->type != CONFIG_SECTION) {
			read_row(l, i, sec, where);
			continue;
		}
		/* An absent section has nothing to read; one that is
		 * required was reported missing. */
		s->rc = s->set ? -1 : 0;
		if (!s->set)
			continue;
		sub = node_pos(l->t, s->key);
		if (!section_open(l, r->path, s->val, sub))
			continue;
		s->rc = 1;
		read_section(l, r->path, sub);
	}
}

void config_table_load(struct ytree *t, size_t root, struct config *cfg)
{
	static const struct cpos top = {1, 1};
	struct config_load l = {.t = t, .cfg = cfg};

	if (root == YNODE_NONE || ynode_is_null(&t->nodes[root])) {
		diag_at(t->diag, 1, 1, "empty configuration");
		return;
	}
	if (t->nodes[root].kind != YNODE_MAP) {
		ytree_err(t, root, "the configuration must be a mapping");
		return;
	}
	while (config_row_at(l.n))
		l.n++;
	l.rows = calloc(l.n, sizeof(*l.rows));
	l.st = calloc(l.n + 1, sizeof(*l.st));
	if (!l.rows || !l.st) {
		t->diag->oom = true;
	} else {
		for (size_t i = 0; i < l.n; i++) {
			l.rows[i] = config_row_at(i);
			l.st[i].rc = -1;
		}
		section_open(&l, "", root, top);
		read_section(&l, "", top);
		for (size_t i = 0; i < config_n_validators; i++)
			config_validators[i].check(&l);
	}
	free(l.rows);
	free(l.st);
}

/* ---- defaults and freeing ------------------------------------------- */

void config_table_defaults(struct config *cfg)
{
	const struct config_row *r;

	for (size_t i = 0; (r = config_row_at(i)) != NULL; i++) {
		int v = (int)r->def;

		if (r->type == CONFIG_INT)
			*(long *)at(cfg, r->offset) = r->def;
		else if (r->type == CONFIG_BOOL || r->type == CONFIG_ENUM)
			memcpy(at(cfg, r->offset), &v, sizeof(v));
	}
}

static const struct config_row *row_by_path(const char *path)
{
	const struct config_row *r;

	for (size_t i = 0; path && (r = config_row_at(i)) != NULL; i++)
		if (strcmp(r->path, path) == 0)
			return r;
	return NULL;
}

static int copy_default(char **dst, const char *s)
{
	if (*dst || !s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* What callers may rely on even where the file said nothing: string
 * defaults of the keys that apply, an empty list for every list, then
 * the defaults that are another key's value. */
int config_table_finish(struct config *cfg)
{
	const struct config_row *r;
	int rc = 0;

	for (size_t i = 0; (r = config_row_at(i)) != NULL; i++) {
		if (r->type == CONFIG_LIST && !*(char ***)at(cfg, r->offset)) {
			*(char ***)at(cfg, r->offset) =
			    calloc(1, sizeof(char *));
			if (!*(char ***)at(cfg, r->offset))
				rc = -ENOMEM;
		}
		if (r->def_str && applies(cfg, r, row_by_path(r->when)) &&
		    copy_default(at(cfg, r->offset), r->def_str))
			rc = -ENOMEM;
	}
	for (size_t i = 0; (r = config_row_at(i)) != NULL; i++) {
		const struct config_row *from = row_by_path(r->def_from);

		if (from && copy_default(at(cfg, r->offset),
		                         *(char **)at(cfg, from->offset)))
			rc = -ENOMEM;
	}
	return rc;
}

void config_table_free(struct config *cfg)
{
	const struct config_row *r;

	for (size_t i = 0; (r = config_row_at(i)) != NULL; i++) {
		void *p = at(cfg, r->offset);

		switch (r->type) {
		case CONFIG_STRING:
		case CONFIG_URL:
		case CONFIG_CHOICE:
			if (r->flags & CONFIG_SECRET)
				value_free_secret(*(char **)p);
			else
				free(*(char **)p);
			break;
		case CONFIG_LIST:
			value_strv_free(*(char ***)p);
			break;
		case CONFIG_PROPERTIES:
		case CONFIG_HEADERS:
			value_properties_free(*(struct config_kv **)p,
			                      *(size_t *)at(cfg, r->count));
			break;
		case CONFIG_MAPPING:
			fieldmap_free(*(struct config_mapping **)p,
			              *(size_t *)at(cfg, r->count));
			break;
		default:
			break;
		}
	}
}
