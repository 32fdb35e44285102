#include "config/config.h"

#include "core/fields.h"
#include "edge/http.h"
#include "ops/metrics.h"
#include "profiles/profile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

/* Input-controlled resources, each with a cap. */
#define CONFIG_MAX_FILE       (1024 * 1024)
#define CONFIG_MAX_SECRET     (64 * 1024)
#define CONFIG_MAX_VALUE      (64 * 1024) /* one scalar after ${VAR} */
#define CONFIG_MAX_DEPTH      32
#define CONFIG_MAX_PROPERTIES 1024
#define CONFIG_MAX_ERRORS     100 /* reported; the rest are counted */
#define CONFIG_MAX_VARNAME    255
#define CONFIG_MAX_POINTERS   32 /* JSON pointers of one mapped field */
/* target.max_response_bytes: a record or a page fits in 4 KiB at
 * least; past 256 MiB a body is a runaway, not an answer. */
#define CONFIG_MIN_RESPONSE 4096L
#define CONFIG_MAX_RESPONSE (256L * 1024 * 1024)
#define CONFIG_DEF_RESPONSE (1024L * 1024)

#define NO_NODE SIZE_MAX

/* The document as a small tree of our own, built from libyaml's events,
 * so that nesting depth is bounded while parsing and every node keeps
 * its mark. Nodes live in one array and refer to each other by index. */
enum cnode_kind { CNODE_SCALAR, CNODE_MAP, CNODE_SEQ };

struct cnode {
	enum cnode_kind kind;
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

struct anchor {
	char *name;
	size_t node;
};

struct cpos {
	int line;
	int col;
};

struct cparse {
	struct cnode *nodes;
	size_t n_nodes;
	size_t cap_nodes;
	struct anchor *anchors;
	size_t n_anchors;
	size_t cap_anchors;
	struct config cfg;
	struct config_errors errs;
	size_t cap_errs;
	size_t dropped; /* errors past what we keep in memory */
	bool oom;
};

static const char *const auth_names[AUTH_TYPE_MAX] = {
    [AUTH_NONE] = "none",
    [AUTH_BEARER] = "bearer",
    [AUTH_OAUTH2_CC] = "oauth2_client_credentials",
    [AUTH_BASIC] = "basic",
    [AUTH_API_KEY] = "api_key",
};

static const char *const short_id_names[SHORT_ID_MAX] = {
    [SHORT_ID_KEY] = "key",
    [SHORT_ID_NUMBER] = "number",
};

static const char *const delete_mode_names[DELETE_MODE_MAX] = {
    [DELETE_SUSPEND] = "suspend",
    [DELETE_HARD] = "hard",
};

/* The engage API's documented content languages, spelled as it spells
 * them; "no" is Norwegian, which is why scalars are never read as YAML
 * 1.1 booleans. */
static const char *const language_names[] = {
    "da", "de", "el", "en", "es", "fr", "ja", "nl", "no", "pl",
};

static const char *const format_names[LOG_FORMAT_MAX] = {
    [LOG_FORMAT_TEXT] = "text",
    [LOG_FORMAT_JSON] = "json",
};

static const char *const level_names[] = {
    "debug", "info", "notice", "warning", "error",
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *auth_type_str(enum auth_type t)
{
	if ((unsigned)t >= AUTH_TYPE_MAX)
		return "unknown";
	return auth_names[t];
}

const char *log_format_str(enum log_format f)
{
	if ((unsigned)f >= LOG_FORMAT_MAX)
		return "unknown";
	return format_names[f];
}

/* ---- errors ---------------------------------------------------------- */

/* Errors kept in memory before they are only counted: far more than we
 * report, so that sorting by position still finds the first ones. */
#define CONFIG_KEEP_ERRORS (CONFIG_MAX_ERRORS * 10)

static void verr(struct cparse *p, int line, int col, const char *fmt,
                 va_list ap)
{
	struct config_error *e;
	va_list aq;
	char *msg;
	int n;

	if (p->errs.n >= CONFIG_KEEP_ERRORS) {
		p->dropped++;
		return;
	}
	if (p->errs.n == p->cap_errs) {
		size_t cap = p->cap_errs ? p->cap_errs * 2 : 16;

		e = realloc(p->errs.v, cap * sizeof(*e));
		if (!e) {
			p->oom = true;
			return;
		}
		p->errs.v = e;
		p->cap_errs = cap;
	}
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		p->oom = true;
		return;
	}
	msg = malloc((size_t)n + 1);
	if (!msg) {
		p->oom = true;
		return;
	}
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	e = &p->errs.v[p->errs.n++];
	e->line = line;
	e->col = col;
	e->msg = msg;
}

__attribute__((format(printf, 4, 5))) static void
err_at(struct cparse *p, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(p, line, col, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void
err_node(struct cparse *p, size_t node, const char *fmt, ...)
{
	const struct cnode *n = &p->nodes[node];
	va_list ap;

	va_start(ap, fmt);
	verr(p, n->line, n->col, fmt, ap);
	va_end(ap);
}

static bool pos_before(const struct config_error *a,
                       const struct config_error *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* Checks report in the order that is easiest to write (a missing key
 * only once its mapping has been read, cross-field checks last), so the
 * list is sorted by position afterwards. Insertion sort: it is stable,
 * which keeps two errors at one place in the order they were found, and
 * the list is short. */
static void errs_finish(struct cparse *p)
{
	struct config_errors *errs = &p->errs;
	size_t total = errs->n + p->dropped;

	for (size_t i = 1; i < errs->n; i++) {
		struct config_error e = errs->v[i];
		size_t j = i;

		while (j > 0 && pos_before(&e, &errs->v[j - 1])) {
			errs->v[j] = errs->v[j - 1];
			j--;
		}
		errs->v[j] = e;
	}
	if (total <= CONFIG_MAX_ERRORS)
		return;
	while (errs->n > CONFIG_MAX_ERRORS - 1)
		free(errs->v[--errs->n].msg);
	p->dropped = 0;
	err_at(p, 0, 0, "too many errors (%zu in all); fix these first",
	       total);
}

void config_errors_done(struct config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i].msg);
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

/* User text quoted in a message: control bytes become '?' so that
 * check-config output cannot carry terminal escapes, and long text is
 * cut. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	for (; *s && i + 1 < size; s++, i++) {
		unsigned char c = (unsigned char)*s;

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (*s && size > 4) {
		memcpy(buf + size - 4, "...", 3);
		i = size - 1;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- tree ------------------------------------------------------------ */

static size_t node_new(struct cparse *p, enum cnode_kind kind,
                       const yaml_mark_t *m)
{
	struct cnode *n;

	if (p->n_nodes == p->cap_nodes) {
		size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 64;

		n = realloc(p->nodes, cap * sizeof(*n));
		if (!n) {
			p->oom = true;
			return NO_NODE;
		}
		p->nodes = n;
		p->cap_nodes = cap;
	}
	n = &p->nodes[p->n_nodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	/* libyaml counts from 0; a 1 MiB file keeps these within int. */
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return p->n_nodes++;
}

static int node_add_kid(struct cparse *p, size_t parent, size_t kid)
{
	struct cnode *n = &p->nodes[parent];

	if (n->n_kids == n->cap_kids) {
		size_t cap = n->cap_kids ? n->cap_kids * 2 : 8;
		size_t *k = realloc(n->kids, cap * sizeof(*k));

		if (!k) {
			p->oom = true;
			return -ENOMEM;
		}
		n->kids = k;
		n->cap_kids = cap;
	}
	n->kids[n->n_kids++] = kid;
	return 0;
}

static int anchor_add(struct cparse *p, const unsigned char *name, size_t node)
{
	struct anchor *a;

	if (p->n_anchors == p->cap_anchors) {
		size_t cap = p->cap_anchors ? p->cap_anchors * 2 : 8;

		a = realloc(p->anchors, cap * sizeof(*a));
		if (!a) {
			p->oom = true;
			return -ENOMEM;
		}
		p->anchors = a;
		p->cap_anchors = cap;
	}
	a = &p->anchors[p->n_anchors];
	a->name = strdup((const char *)name);
	if (!a->name) {
		p->oom = true;
		return -ENOMEM;
	}
	a->node = node;
	p->n_anchors++;
	return 0;
}

/* A later anchor of the same name wins, as YAML says. */
static size_t anchor_find(const struct cparse *p, const unsigned char *name)
{
	for (size_t i = p->n_anchors; i > 0; i--)
		if (strcmp(p->anchors[i - 1].name, (const char *)name) == 0)
			return p->anchors[i - 1].node;
	return NO_NODE;
}

static void tree_free(struct cparse *p)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		if (p->nodes[i].borrowed)
			continue;
		free(p->nodes[i].value);
		free(p->nodes[i].kids);
	}
	free(p->nodes);
	for (size_t i = 0; i < p->n_anchors; i++)
		free(p->anchors[i].name);
	free(p->anchors);
}

static void syntax_error(struct cparse *p, const yaml_parser_t *y,
                         const char *buf, size_t len)
{
	int line, col;

	if (y->error == YAML_MEMORY_ERROR) {
		p->oom = true;
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
		err_at(p, line, col, "%s (%s)",
		       y->problem ? y->problem : "syntax error", y->context);
	else
		err_at(p, line, col, "%s",
		       y->problem ? y->problem : "syntax error");
}

static bool is_start(yaml_event_type_t t)
{
	return t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT;
}

/* One event into the tree. Returns 1 at the end of the stream, 0 to go
 * on, -1 to stop (reported). */
static int tree_event(struct cparse *p, const yaml_event_t *ev, size_t *stack,
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
			err_at(p, (int)m->line + 1, (int)m->column + 1,
			       "only one YAML document is allowed");
			return -1;
		}
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		node = stack[--*depth];
		if (stack_anchor[*depth]) {
			int rc = anchor_add(
			    p, (unsigned char *)stack_anchor[*depth], node);

			free(stack_anchor[*depth]);
			stack_anchor[*depth] = NULL;
			if (rc)
				return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		node = node_new(p, CNODE_SCALAR, m);
		if (node == NO_NODE)
			return -1;
		p->nodes[node].value = malloc(ev->data.scalar.length + 1);
		if (!p->nodes[node].value) {
			p->oom = true;
			return -1;
		}
		memcpy(p->nodes[node].value, ev->data.scalar.value,
		       ev->data.scalar.length);
		p->nodes[node].value[ev->data.scalar.length] = '\0';
		p->nodes[node].len = ev->data.scalar.length;
		p->nodes[node].plain =
		    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		anchor = ev->data.scalar.anchor;
		break;
	case YAML_ALIAS_EVENT: {
		size_t target = anchor_find(p, ev->data.alias.anchor);
		char b[72];

		if (target == NO_NODE) {
			err_at(p, (int)m->line + 1, (int)m->column + 1,
			       "undefined alias '%s'",
			       shown((const char *)ev->data.alias.anchor, b,
			             sizeof(b)));
			return -1;
		}
		node = node_new(p, CNODE_SCALAR, m);
		if (node == NO_NODE)
			return -1;
		{
			struct cnode *n = &p->nodes[node];
			int line = n->line, col = n->col;

			*n = p->nodes[target];
			n->line = line;
			n->col = col;
			n->borrowed = true;
		}
		break;
	}
	case YAML_MAPPING_START_EVENT:
		node = node_new(p, CNODE_MAP, m);
		anchor = ev->data.mapping_start.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		node = node_new(p, CNODE_SEQ, m);
		anchor = ev->data.sequence_start.anchor;
		break;
	default:
		return 0;
	}
	if (node == NO_NODE)
		return -1;
	if (*depth > 0) {
		if (node_add_kid(p, stack[*depth - 1], node))
			return -1;
	} else {
		*root = node;
	}
	if (is_start(ev->type)) {
		if (*depth == CONFIG_MAX_DEPTH) {
			err_at(p, (int)m->line + 1, (int)m->column + 1,
			       "nesting is deeper than %d levels",
			       CONFIG_MAX_DEPTH);
			return -1;
		}
		stack_anchor[*depth] = NULL;
		if (anchor) {
			/* Registered once complete, so that an alias
			 * inside its own anchor is undefined, not a
			 * cycle. */
			stack_anchor[*depth] = strdup((const char *)anchor);
			if (!stack_anchor[*depth]) {
				p->oom = true;
				return -1;
			}
		}
		stack[(*depth)++] = node;
	} else if (anchor && anchor_add(p, anchor, node)) {
		return -1;
	}
	return 0;
}

/* Returns 0 with *root set (NO_NODE for an empty stream), or -1 after
 * reporting. */
static int tree_build(struct cparse *p, const char *buf, size_t len,
                      size_t *root)
{
	size_t stack[CONFIG_MAX_DEPTH];
	char *stack_anchor[CONFIG_MAX_DEPTH];
	size_t depth = 0;
	yaml_parser_t y;
	int docs = 0, rc = 0;

	*root = NO_NODE;
	if (!yaml_parser_initialize(&y)) {
		p->oom = true;
		return -1;
	}
	yaml_parser_set_input_string(&y, (const unsigned char *)buf, len);
	while (rc == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&y, &ev)) {
			syntax_error(p, &y, buf, len);
			rc = -1;
			break;
		}
		rc = tree_event(p, &ev, stack, stack_anchor, &depth, root,
		                &docs);
		yaml_event_delete(&ev);
	}
	while (depth > 0)
		free(stack_anchor[--depth]);
	yaml_parser_delete(&y);
	return rc < 0 ? -1 : 0;
}

/* A plain empty, "~" or "null" value: YAML's null, i.e. no value. */
static bool is_null(const struct cnode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->kind != CNODE_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < N_ELEM(nulls); i++)
		if (strcmp(n->value, nulls[i]) == 0)
			return true;
	return false;
}

/* ---- scalar values --------------------------------------------------- */

struct sbuf {
	char *p;
	size_t n;
	size_t cap;
	bool oom;
	bool toobig;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom || b->toobig)
		return;
	if (n > CONFIG_MAX_VALUE - b->n) {
		b->toobig = true;
		return;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *q;

		while (cap < b->n + n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static bool is_var_char(char c, bool first)
{
	if (c == '_' || isalpha((unsigned char)c))
		return true;
	return !first && isdigit((unsigned char)c);
}

/* Expands one ${...} at s (which points at '$'); returns the position
 * after it, or NULL after reporting a malformed reference. */
static const char *expand_ref(struct cparse *p, size_t node, const char *path,
                              const char *s, const char *end, struct sbuf *b,
                              bool *bad)
{
	const char *name = s + 2, *name_end = name, *close, *val;
	char var[CONFIG_MAX_VARNAME + 1], shown_ref[72];
	bool has_default;
	size_t n;

	close = memchr(name, '}', (size_t)(end - name));
	if (!close) {
		err_node(p, node, "unterminated '${' in '%s'", path);
		*bad = true;
		return NULL;
	}
	while (name_end < close && is_var_char(*name_end, name_end == name))
		name_end++;
	n = (size_t)(name_end - name);
	has_default =
	    close - name_end >= 2 && name_end[0] == ':' && name_end[1] == '-';
	if (n == 0 || n > CONFIG_MAX_VARNAME ||
	    (name_end != close && !has_default)) {
		n = (size_t)(close - s + 1);
		memcpy(var, s, n < sizeof(var) ? n : sizeof(var) - 1);
		var[n < sizeof(var) ? n : sizeof(var) - 1] = '\0';
		err_node(p, node, "invalid variable reference '%s' in '%s'",
		         shown(var, shown_ref, sizeof(shown_ref)), path);
		*bad = true;
		return close + 1;
	}
	memcpy(var, name, n);
	var[n] = '\0';
	val = getenv(var);
	if (val && *val) {
		sbuf_add(b, val, strlen(val));
	} else if (has_default) {
		sbuf_add(b, name_end + 2, (size_t)(close - name_end - 2));
	} else if (!val) {
		err_node(p, node, "environment variable '%s' is not set", var);
		*bad = true;
	}
	return close + 1;
}

/* The scalar's text with ${VAR}, ${VAR:-default} and $$ expanded; any
 * other '$' is kept, so that most values need no escaping. Every
 * problem in the scalar is reported. Returns 0 with *out allocated, or
 * -1. */
static int expand(struct cparse *p, size_t node, const char *path, char **out)
{
	const struct cnode *n = &p->nodes[node];
	const char *s = n->value, *end = n->value + n->len;
	struct sbuf b = {0};
	bool bad = false;

	sbuf_add(&b, "", 0);
	while (s && s < end) {
		const char *d = memchr(s, '$', (size_t)(end - s));

		if (!d) {
			sbuf_add(&b, s, (size_t)(end - s));
			break;
		}
		sbuf_add(&b, s, (size_t)(d - s));
		if (d + 1 < end && d[1] == '$') {
			sbuf_add(&b, "$", 1);
			s = d + 2;
		} else if (d + 1 < end && d[1] == '{') {
			s = expand_ref(p, node, path, d, end, &b, &bad);
		} else {
			sbuf_add(&b, "$", 1);
			s = d + 1;
		}
	}
	if (b.oom)
		p->oom = true;
	if (!bad && !b.oom && b.toobig) {
		err_node(p, node, "'%s' is longer than %d bytes", path,
		         CONFIG_MAX_VALUE);
		bad = true;
	}
	if (bad || b.oom) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	return 0;
}

/* The expanded text of a scalar value; *out NULL for YAML's null.
 * Returns 0, or -1 after reporting that the value is not what. */
static int value_text(struct cparse *p, size_t node, const char *path,
                      const char *what, char **out)
{
	const struct cnode *n = &p->nodes[node];

	*out = NULL;
	if (n->kind != CNODE_SCALAR) {
		err_node(p, node, "'%s' must be %s", path, what);
		return -1;
	}
	if (is_null(n))
		return 0;
	/* "\0" in a double-quoted scalar would silently cut the value. */
	if (strlen(n->value) != n->len) {
		err_node(p, node, "'%s' must not contain a NUL character",
		         path);
		return -1;
	}
	return expand(p, node, path, out);
}

/* Wipes a value that may be a secret before it is freed. */
static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int get_string(struct cparse *p, size_t node, const char *path,
                      char **dst)
{
	char *s;

	if (value_text(p, node, path, "a string", &s))
		return -1;
	if (!s || !*s) {
		err_node(p, node, "'%s' must not be empty", path);
		free(s);
		return -1;
	}
	free_secret(*dst);
	*dst = s;
	return 0;
}

/* Decimal digits with an optional sign, nothing else: no hex, octal,
 * floats, "1_000", units or blanks (strtol alone would take leading
 * blanks and stop at junk). Returns 0, -EINVAL or -ERANGE. */
static int parse_long(const char *s, long *out)
{
	const char *d = s;
	char *end;
	long v;

	if (*d == '+' || *d == '-')
		d++;
	if (!*d)
		return -EINVAL;
	for (; *d; d++)
		if (!isdigit((unsigned char)*d))
			return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Quoted digits are accepted as well: people quote numbers in YAML, and
 * a ${VAR} is text until expanded, so the style cannot mean the type. */
static int get_long(struct cparse *p, size_t node, const char *path, long min,
                    long max, long *dst)
{
	char *s;
	long v = 0;
	int rc;

	if (value_text(p, node, path, "an integer", &s))
		return -1;
	rc = s ? parse_long(s, &v) : -EINVAL;
	free(s);
	if (rc == -EINVAL) {
		err_node(p, node, "'%s' must be an integer", path);
		return -1;
	}
	if (rc == -ERANGE || v < min || v > max) {
		if (max == LONG_MAX)
			err_node(p, node, "'%s' must be at least %ld", path,
			         min);
		else
			err_node(p, node, "'%s' must be between %ld and %ld",
			         path, min, max);
		return -1;
	}
	*dst = v;
	return 0;
}

static int get_bool(struct cparse *p, size_t node, const char *path, int *dst)
{
	char *s;
	int v = -1;

	if (value_text(p, node, path, "true or false", &s))
		return -1;
	if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0))
		v = 1;
	else if (s &&
	         (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0))
		v = 0;
	free(s);
	if (v < 0) {
		err_node(p, node, "'%s' must be true or false", path);
		return -1;
	}
	*dst = v;
	return 0;
}

static int get_choice(struct cparse *p, size_t node, const char *path,
                      const char *const *names, size_t n, size_t *dst)
{
	char list[128] = "";
	size_t used = 0;
	char *s;

	if (value_text(p, node, path, "a string", &s))
		return -1;
	for (size_t i = 0; s && i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			free(s);
			*dst = i;
			return 0;
		}
	}
	free(s);
	for (size_t i = 0; i < n && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s",
		                 i ? ", " : "", names[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	err_node(p, node, "'%s' must be one of %s", path, list);
	return -1;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A list of non-empty strings, NULL-terminated; YAML's null is an empty
 * list. */
static int get_strlist(struct cparse *p, size_t node, const char *path,
                       bool nonempty, char ***dst, size_t *n_dst)
{
	const struct cnode *n = &p->nodes[node];
	size_t count = 0;
	bool bad = false;
	char **v;

	if (n->kind != CNODE_SEQ && !is_null(n)) {
		err_node(p, node, "'%s' must be a list of strings", path);
		return -1;
	}
	v = calloc(n->n_kids + 1, sizeof(*v));
	if (!v) {
		p->oom = true;
		return -1;
	}
	for (size_t i = 0; i < n->n_kids; i++) {
		size_t item = n->kids[i];
		char *s = NULL;

		if (p->nodes[item].kind != CNODE_SCALAR ||
		    is_null(&p->nodes[item])) {
			err_node(p, item, "'%s' must be a list of strings",
			         path);
			bad = true;
			continue;
		}
		if (value_text(p, item, path, "a string", &s)) {
			bad = true;
			continue;
		}
		if (!*s) {
			err_node(p, item,
			         "'%s' must not contain an empty string",
			         path);
			free(s);
			bad = true;
			continue;
		}
		v[count++] = s;
	}
	if (!bad && nonempty && count == 0) {
		err_node(p, node, "'%s' must not be empty", path);
		bad = true;
	}
	if (bad) {
		strv_free(v);
		return -1;
	}
	strv_free(*dst);
	*dst = v;
	*n_dst = count;
	return 0;
}

/* Reads at most max bytes of path into a NUL-terminated buffer. Returns
 * 0, -EFBIG when the file is longer, or -errno. */
static int read_all(const char *path, size_t max, char **out, size_t *len)
{
	size_t n = 0;
	char *buf;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* One byte more than allowed tells "too long" from "exactly max". */
	buf = malloc(max + 2);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n <= max) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc == 0 && n > max)
		rc = -EFBIG;
	if (rc) {
		explicit_bzero(buf, n);
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* A secret from the file named by the value at node: one trailing
 * newline stripped, since editors add one and no token ends in one. */
static int get_secret_file(struct cparse *p, size_t node, const char *path,
                           char **dst)
{
	char *file = NULL, *buf, *s, b[512];
	size_t len, n_read;
	int rc;

	if (get_string(p, node, path, &file))
		return -1;
	rc = read_all(file, CONFIG_MAX_SECRET, &buf, &len);
	if (rc == -ENOMEM) {
		p->oom = true;
	} else if (rc) {
		err_node(p, node, "cannot read '%s' (%s): %s", path,
		         shown(file, b, sizeof(b)), strerror(-rc));
	} else {
		n_read = len;
		if (len > 0 && buf[len - 1] == '\n')
			len--;
		if (len > 0 && buf[len - 1] == '\r' && buf[len] == '\n')
			len--;
		if (memchr(buf, '\0', len)) {
			err_node(p, node, "'%s' (%s) contains a NUL byte",
			         path, shown(file, b, sizeof(b)));
			rc = -EINVAL;
		} else if (len == 0) {
			err_node(p, node, "'%s' (%s) is empty", path,
			         shown(file, b, sizeof(b)));
			rc = -EINVAL;
		} else {
			s = strndup(buf, len);
			if (!s) {
				p->oom = true;
				rc = -ENOMEM;
			} else {
				free_secret(*dst);
				*dst = s;
			}
		}
		explicit_bzero(buf, n_read);
		free(buf);
	}
	free(file);
	return rc ? -1 : 0;
}

/* ---- sections -------------------------------------------------------- */

#define SECTION_MAX_KEYS 16

struct key_def {
	const char *name;
	bool required;
};

struct slot {
	bool set;
	size_t key;
	size_t val;
};

/* One mapping of the schema: its known keys by index into defs. */
struct section {
	struct cparse *p;
	const char *path; /* dotted; "" for the root */
	const struct key_def *defs;
	size_t n_defs;
	struct slot slot[SECTION_MAX_KEYS];
	struct cpos where; /* its key, where a missing key is reported */
	char buf[SECTION_MAX_KEYS][64];
};

static const char *sec_path(struct section *s, size_t i)
{
	if (!*s->path)
		return s->defs[i].name;
	snprintf(s->buf[i], sizeof(s->buf[i]), "%s.%s", s->path,
	         s->defs[i].name);
	return s->buf[i];
}

static bool key_is(const struct cnode *k, const char *name)
{
	return k->kind == CNODE_SCALAR && k->len == strlen(name) &&
	       memcmp(k->value, name, k->len) == 0;
}

/* Sorts a mapping's keys into slots: unknown and duplicate keys are
 * reported, then missing required ones (at where). node is NO_NODE or
 * YAML's null for an absent or empty mapping. Returns false when node
 * is something else (reported), and then nothing else is. */
static bool section_open(struct section *s, struct cparse *p, size_t node,
                         const char *path, const struct key_def *defs,
                         size_t n_defs, struct cpos where)
{
	const struct cnode *n;

	memset(s, 0, sizeof(*s));
	s->p = p;
	s->path = path;
	s->defs = defs;
	s->n_defs = n_defs;
	s->where = where;
	n = node == NO_NODE ? NULL : &p->nodes[node];
	if (n && n->kind != CNODE_MAP && !is_null(n)) {
		err_node(p, node, "'%s' must be a mapping", path);
		return false;
	}
	for (size_t i = 0; n && i + 1 < n->n_kids; i += 2) {
		size_t key = n->kids[i];
		const struct cnode *k = &p->nodes[key];
		char b[72];
		size_t d;

		for (d = 0; d < n_defs; d++)
			if (key_is(k, defs[d].name))
				break;
		if (d == n_defs && k->kind != CNODE_SCALAR) {
			err_node(p, key, "keys of '%s' must be strings",
			         *path ? path : "the configuration");
			continue;
		}
		if (d == n_defs) {
			err_node(p, key, "unknown key '%s%s%s'", path,
			         *path ? "." : "",
			         shown(k->value, b, sizeof(b)));
			continue;
		}
		if (s->slot[d].set) {
			err_node(p, key, "duplicate key '%s'", sec_path(s, d));
			continue;
		}
		s->slot[d].set = true;
		s->slot[d].key = key;
		s->slot[d].val = n->kids[i + 1];
	}
	for (size_t d = 0; d < n_defs; d++)
		if (defs[d].required && !s->slot[d].set)
			err_at(p, where.line, where.col,
			       "missing required key '%s'", sec_path(s, d));
	return true;
}

static struct cpos node_pos(const struct cparse *p, size_t node)
{
	struct cpos pos = {p->nodes[node].line, p->nodes[node].col};

	return pos;
}

/* The child section at key i, absent or not. Returns false when the
 * value is not a mapping (reported). */
static bool section_sub(struct section *s, size_t i, struct section *sub,
                        const char *path, const struct key_def *defs,
                        size_t n_defs)
{
	const struct slot *sl = &s->slot[i];

	return section_open(sub, s->p, sl->set ? sl->val : NO_NODE, path, defs,
	                    n_defs,
	                    sl->set ? node_pos(s->p, sl->key) : s->where);
}

/* Each getter leaves *dst alone (the default) when the key is absent and
 * returns 1 when it was set, 0 when absent, -1 when invalid. */
static int sec_str(struct section *s, size_t i, char **dst)
{
	if (!s->slot[i].set)
		return 0;
	return get_string(s->p, s->slot[i].val, sec_path(s, i), dst) ? -1 : 1;
}

static int sec_long(struct section *s, size_t i, long min, long max, long *dst)
{
	if (!s->slot[i].set)
		return 0;
	return get_long(s->p, s->slot[i].val, sec_path(s, i), min, max, dst)
	           ? -1
	           : 1;
}

static int sec_bool(struct section *s, size_t i, int *dst)
{
	if (!s->slot[i].set)
		return 0;
	return get_bool(s->p, s->slot[i].val, sec_path(s, i), dst) ? -1 : 1;
}

static int sec_choice(struct section *s, size_t i, const char *const *names,
                      size_t n, size_t *dst)
{
	if (!s->slot[i].set)
		return 0;
	return get_choice(s->p, s->slot[i].val, sec_path(s, i), names, n, dst)
	           ? -1
	           : 1;
}

static int sec_strlist(struct section *s, size_t i, bool nonempty, char ***dst,
                       size_t *n)
{
	if (!s->slot[i].set)
		return 0;
	return get_strlist(s->p, s->slot[i].val, sec_path(s, i), nonempty, dst,
	                   n)
	           ? -1
	           : 1;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* http:// or https:// and a host; the one trailing '/' is dropped since
 * request paths start with '/'. */
static int sec_url(struct section *s, size_t i, char **dst)
{
	size_t len, skip;
	char *u;
	int rc = sec_str(s, i, dst);

	if (rc <= 0)
		return rc;
	u = *dst;
	if (strncasecmp(u, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		skip = 8;
	else
		skip = 0;
	if (!skip) {
		err_node(s->p, s->slot[i].val,
		         "'%s' must start with http:// or https://",
		         sec_path(s, i));
		return -1;
	}
	if (!u[skip] || u[skip] == '/') {
		err_node(s->p, s->slot[i].val, "'%s' has no host",
		         sec_path(s, i));
		return -1;
	}
	/* libcurl refuses such a URL on every request; say so once. */
	if (strchr(u, ' ') || has_control(u)) {
		err_node(s->p, s->slot[i].val,
		         "'%s' must not contain spaces or control characters",
		         sec_path(s, i));
		return -1;
	}
	len = strlen(u);
	if (u[len - 1] == '/')
		u[len - 1] = '\0';
	return 1;
}

/* ---- the schema ------------------------------------------------------ */

enum {
	R_KAFKA,
	R_TARGET,
	R_RETRY,
	R_WORKER,
	R_LOG,
	R_MAPPING,
	R_METRICS,
	R_N
};
static const struct key_def root_keys[R_N] = {
    [R_KAFKA] = {"kafka", true},      [R_TARGET] = {"target", true},
    [R_RETRY] = {"retry", false},     [R_WORKER] = {"worker", false},
    [R_LOG] = {"log", false},         [R_MAPPING] = {"mapping", false},
    [R_METRICS] = {"metrics", false},
};

enum { K_BROKERS, K_GROUP, K_TOPICS, K_RESULTS, K_DEAD, K_PROPS, K_N };
static const struct key_def kafka_keys[K_N] = {
    [K_BROKERS] = {"brokers", true},
    [K_GROUP] = {"group_id", true},
    [K_TOPICS] = {"topics", true},
    [K_RESULTS] = {"results_topic", true},
    [K_DEAD] = {"dead_letter_topic", true},
    [K_PROPS] = {"properties", false},
};

enum {
	T_PROFILE,
	T_URL,
	T_AUTH,
	T_TIMEOUT,
	T_CONNECT,
	T_IN_FLIGHT,
	T_CONNS,
	T_PER_PARTITION,
	T_TLS,
	T_MAX_RESPONSE,
	T_SHORT_ID,
	T_DELETE_MODE,
	T_LANGUAGE,
	T_ACCEPT_LANGUAGE,
	T_N
};
static const struct key_def target_keys[T_N] = {
    [T_PROFILE] = {"profile", true},
    [T_URL] = {"base_url", true},
    [T_AUTH] = {"auth", false},
    [T_TIMEOUT] = {"timeout_ms", false},
    [T_CONNECT] = {"connect_timeout_ms", false},
    [T_IN_FLIGHT] = {"max_in_flight", false},
    [T_CONNS] = {"max_connections", false},
    [T_PER_PARTITION] = {"max_in_flight_per_partition", false},
    [T_TLS] = {"tls_verify", false},
    [T_MAX_RESPONSE] = {"max_response_bytes", false},
    [T_SHORT_ID] = {"short_id", false},
    [T_DELETE_MODE] = {"delete_mode", false},
    [T_LANGUAGE] = {"language", false},
    [T_ACCEPT_LANGUAGE] = {"accept_language", false},
};

/* Required keys of auth depend on its type, so none is marked here. */
enum {
	A_TYPE,
	A_TOKEN,
	A_TOKEN_FILE,
	A_TOKEN_URL,
	A_CLIENT_ID,
	A_SECRET,
	A_SECRET_FILE,
	A_SCOPES,
	A_USERNAME,
	A_PASSWORD,
	A_PASSWORD_FILE,
	A_HEADER,
	A_KEY,
	A_KEY_FILE,
	A_N
};
static const struct key_def auth_keys[A_N] = {
    [A_TYPE] = {"type", false},
    [A_TOKEN] = {"token", false},
    [A_TOKEN_FILE] = {"token_file", false},
    [A_TOKEN_URL] = {"token_url", false},
    [A_CLIENT_ID] = {"client_id", false},
    [A_SECRET] = {"client_secret", false},
    [A_SECRET_FILE] = {"client_secret_file", false},
    [A_SCOPES] = {"scopes", false},
    [A_USERNAME] = {"username", false},
    [A_PASSWORD] = {"password", false},
    [A_PASSWORD_FILE] = {"password_file", false},
    [A_HEADER] = {"header", false},
    [A_KEY] = {"key", false},
    [A_KEY_FILE] = {"key_file", false},
};

/* Which auth keys each type uses; any other is a mistake worth saying
 * (a token under type none would silently send no credentials). */
static const unsigned auth_uses[AUTH_TYPE_MAX] = {
    [AUTH_NONE] = 1u << A_TYPE,
    [AUTH_BEARER] = 1u << A_TYPE | 1u << A_TOKEN | 1u << A_TOKEN_FILE,
    [AUTH_OAUTH2_CC] = 1u << A_TYPE | 1u << A_TOKEN_URL | 1u << A_CLIENT_ID |
                       1u << A_SECRET | 1u << A_SECRET_FILE | 1u << A_SCOPES,
    [AUTH_BASIC] = 1u << A_TYPE | 1u << A_USERNAME | 1u << A_PASSWORD |
                   1u << A_PASSWORD_FILE,
    [AUTH_API_KEY] =
        1u << A_TYPE | 1u << A_HEADER | 1u << A_KEY | 1u << A_KEY_FILE,
};

enum { RT_INITIAL, RT_MAX, RT_RETRY_AFTER, RT_ATTEMPTS, RT_N };
static const struct key_def retry_keys[RT_N] = {
    [RT_INITIAL] = {"initial_backoff_ms", false},
    [RT_MAX] = {"max_backoff_ms", false},
    [RT_RETRY_AFTER] = {"max_retry_after_s", false},
    [RT_ATTEMPTS] = {"max_attempts", false},
};

enum { W_SHUTDOWN, W_BUFFERED, W_N };
static const struct key_def worker_keys[W_N] = {
    [W_SHUTDOWN] = {"shutdown_timeout_ms", false},
    [W_BUFFERED] = {"max_buffered_events", false},
};

enum { M_LISTEN, M_N };
static const struct key_def metrics_keys[M_N] = {
    [M_LISTEN] = {"listen", true},
};

enum { L_LEVEL, L_FORMAT, L_N };
static const struct key_def log_keys[L_N] = {
    [L_LEVEL] = {"level", false},
    [L_FORMAT] = {"format", false},
};

/* librdkafka properties, in order, as text: librdkafka parses them. */
static void load_properties(struct section *s, size_t i)
{
	struct cparse *p = s->p;
	struct config *c = &p->cfg;
	const struct cnode *n;
	char path[128], b[72];

	if (!s->slot[i].set)
		return;
	n = &p->nodes[s->slot[i].val];
	if (is_null(n))
		return;
	if (n->kind != CNODE_MAP) {
		err_node(p, s->slot[i].val, "'%s' must be a mapping",
		         sec_path(s, i));
		return;
	}
	if (n->n_kids / 2 > CONFIG_MAX_PROPERTIES) {
		err_node(p, s->slot[i].val, "'%s' has more than %d entries",
		         sec_path(s, i), CONFIG_MAX_PROPERTIES);
		return;
	}
	c->kafka.properties =
	    calloc(n->n_kids / 2 + 1, sizeof(*c->kafka.properties));
	if (!c->kafka.properties) {
		p->oom = true;
		return;
	}
	for (size_t k = 0; k + 1 < n->n_kids; k += 2) {
		const struct cnode *key = &p->nodes[n->kids[k]];
		struct config_kv *kv;
		char *v;
		bool dup = false;

		if (key->kind != CNODE_SCALAR || is_null(key) ||
		    strlen(key->value) != key->len) {
			err_node(p, n->kids[k],
			         "keys of 'kafka.properties' must be "
			         "non-empty strings");
			continue;
		}
		snprintf(path, sizeof(path), "kafka.properties.%s",
		         shown(key->value, b, sizeof(b)));
		/* Against every earlier key, valid or not. */
		for (size_t j = 0; j < k && !dup; j += 2)
			dup = key_is(&p->nodes[n->kids[j]], key->value);
		if (dup) {
			err_node(p, n->kids[k], "duplicate key '%s'", path);
			continue;
		}
		/* An empty value has to be written as '' on purpose. */
		if (is_null(&p->nodes[n->kids[k + 1]])) {
			err_node(p, n->kids[k + 1], "'%s' must have a value",
			         path);
			continue;
		}
		if (value_text(p, n->kids[k + 1], path, "a scalar", &v))
			continue;
		kv = &c->kafka.properties[c->kafka.n_properties];
		kv->key = strdup(key->value);
		kv->value = v;
		if (!kv->key) {
			free(v);
			kv->value = NULL;
			p->oom = true;
			return;
		}
		c->kafka.n_properties++;
	}
}

static void load_kafka(struct section *root)
{
	struct config *c = &root->p->cfg;
	struct section s;

	if (!root->slot[R_KAFKA].set ||
	    !section_sub(root, R_KAFKA, &s, "kafka", kafka_keys, K_N))
		return;
	sec_str(&s, K_BROKERS, &c->kafka.brokers);
	sec_str(&s, K_GROUP, &c->kafka.group_id);
	sec_strlist(&s, K_TOPICS, true, &c->kafka.topics, &c->kafka.n_topics);
	sec_str(&s, K_RESULTS, &c->kafka.results_topic);
	sec_str(&s, K_DEAD, &c->kafka.dead_letter_topic);
	load_properties(&s, K_PROPS);
}

/* How a credential reaches the partner decides what it may hold. */
enum sent_as {
	/* As is, in a header line (bearer token, API key): visible ASCII
	 * and spaces only, as http_header_line requires. */
	SENT_IN_HEADER,
	/* Encoded first (basic's base64, OAuth2's form body): no control
	 * characters (RFC 7617 section 2, RFC 6749 appendix A). */
	SENT_ENCODED,
};

/* A value bound for the partner is checked here, so a CR LF in a token
 * is a config error with its place instead of an extra header line on
 * every request. The value itself is never shown. Returns 0 or -1. */
static int check_sent_value(struct cparse *p, size_t node, const char *path,
                            const char *value, enum sent_as how)
{
	char b[64];
	const char *why =
	    http_value_problem(value, how == SENT_ENCODED, b, sizeof(b));

	if (!why)
		return 0;
	if (how == SENT_IN_HEADER)
		err_node(p, node,
		         "'%s' contains %s; an HTTP header value may hold "
		         "only visible ASCII and spaces",
		         path, why);
	else
		err_node(p, node,
		         "'%s' contains %s; credentials must not contain "
		         "control characters",
		         path, why);
	return -1;
}

/* RFC 9110 Accept-Language: language ranges ("da", "en-GB", "*"), commas,
 * ";q=0.5" weights and blanks. Checked by characters only: the value is a
 * header line, and anything else in it (a newline first of all) would
 * end the line. */
static bool is_accept_language(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-*,;=. \t", *s))
			return false;
	return true;
}

/* Exactly one of an inline secret (key a) and its file form (key b),
 * checked for how it is sent (after ${VAR} expansion or reading the
 * file, whichever gave the value). */
static void load_one_of(struct section *s, size_t a, size_t b, char **dst,
                        enum sent_as how)
{
	const struct slot *sa = &s->slot[a], *sb = &s->slot[b];

	if (sa->set && !sb->set) {
		if (sec_str(s, a, dst) > 0)
			check_sent_value(s->p, sa->val, sec_path(s, a), *dst,
			                 how);
	} else if (sb->set && !sa->set) {
		if (get_secret_file(s->p, sb->val, sec_path(s, b), dst) == 0)
			check_sent_value(s->p, sb->val, sec_path(s, b), *dst,
			                 how);
	} else {
		/* Both: the second one is the offending key. */
		struct cpos at = s->where;

		if (sa->set)
			at = node_pos(s->p,
			              sa->key < sb->key ? sb->key : sa->key);
		err_at(s->p, at.line, at.col,
		       "'%s' needs exactly one of '%s' and '%s'", s->path,
		       s->defs[a].name, s->defs[b].name);
	}
}

static void load_auth(struct section *target)
{
	struct config *c = &target->p->cfg;
	struct section s;
	size_t type = AUTH_NONE;

	if (!section_sub(target, T_AUTH, &s, "target.auth", auth_keys, A_N))
		return;
	if (sec_choice(&s, A_TYPE, auth_names, AUTH_TYPE_MAX, &type) < 0)
		return;
	c->target.auth.type = (enum auth_type)type;
	for (size_t i = 0; i < A_N; i++)
		if (s.slot[i].set && !(auth_uses[type] & 1u << i))
			err_node(s.p, s.slot[i].key,
			         "'%s' does not apply to auth type '%s'",
			         sec_path(&s, i), auth_names[type]);
	switch (type) {
	case AUTH_BEARER:
		load_one_of(&s, A_TOKEN, A_TOKEN_FILE, &c->target.auth.token,
		            SENT_IN_HEADER);
		break;
	case AUTH_OAUTH2_CC:
		if (!s.slot[A_TOKEN_URL].set)
			err_at(s.p, s.where.line, s.where.col,
			       "missing required key '%s'",
			       sec_path(&s, A_TOKEN_URL));
		if (!s.slot[A_CLIENT_ID].set)
			err_at(s.p, s.where.line, s.where.col,
			       "missing required key '%s'",
			       sec_path(&s, A_CLIENT_ID));
		sec_url(&s, A_TOKEN_URL, &c->target.auth.token_url);
		if (sec_str(&s, A_CLIENT_ID, &c->target.auth.client_id) > 0)
			check_sent_value(s.p, s.slot[A_CLIENT_ID].val,
			                 sec_path(&s, A_CLIENT_ID),
			                 c->target.auth.client_id,
			                 SENT_ENCODED);
		load_one_of(&s, A_SECRET, A_SECRET_FILE,
		            &c->target.auth.client_secret, SENT_ENCODED);
		sec_strlist(&s, A_SCOPES, false, &c->target.auth.scopes,
		            &c->target.auth.n_scopes);
		break;
	case AUTH_BASIC:
		if (!s.slot[A_USERNAME].set)
			err_at(s.p, s.where.line, s.where.col,
			       "missing required key '%s'",
			       sec_path(&s, A_USERNAME));
		/* RFC 7617: the user-id ends at the first colon, so one in
		 * the name would silently send other credentials. */
		if (sec_str(&s, A_USERNAME, &c->target.auth.username) > 0) {
			const char *u = c->target.auth.username;

			if (strchr(u, ':'))
				err_node(s.p, s.slot[A_USERNAME].val,
				         "'%s' must not contain ':'",
				         sec_path(&s, A_USERNAME));
			else
				check_sent_value(s.p, s.slot[A_USERNAME].val,
				                 sec_path(&s, A_USERNAME), u,
				                 SENT_ENCODED);
		}
		load_one_of(&s, A_PASSWORD, A_PASSWORD_FILE,
		            &c->target.auth.password, SENT_ENCODED);
		break;
	case AUTH_API_KEY:
		/* The name goes into the request as is: anything but an
		 * HTTP token would break the header block. */
		if (sec_str(&s, A_HEADER, &c->target.auth.header) > 0 &&
		    !http_header_name_ok(c->target.auth.header))
			err_node(s.p, s.slot[A_HEADER].val,
			         "'%s' must be an HTTP header name (letters, "
			         "digits and !#$%%&'*+-.^_`|~)",
			         sec_path(&s, A_HEADER));
		load_one_of(&s, A_KEY, A_KEY_FILE, &c->target.auth.key,
		            SENT_IN_HEADER);
		break;
	default:
		break;
	}
}

/* Settings of one profile each, checked whatever the profile: a config
 * is then valid or not on its own, and switching profiles does not
 * surface old mistakes. */
static void load_profile_settings(struct section *s)
{
	struct config *c = &s->p->cfg;
	size_t i;

	if (sec_choice(s, T_SHORT_ID, short_id_names, SHORT_ID_MAX, &i) > 0)
		c->target.short_id = (enum short_id_source)i;
	if (sec_choice(s, T_DELETE_MODE, delete_mode_names, DELETE_MODE_MAX,
	               &i) > 0)
		c->target.delete_mode = (enum delete_mode)i;
	if (sec_choice(s, T_LANGUAGE, language_names, N_ELEM(language_names),
	               &i) > 0) {
		free(c->target.language);
		c->target.language = strdup(language_names[i]);
		if (!c->target.language)
			s->p->oom = true;
	}
	if (sec_str(s, T_ACCEPT_LANGUAGE, &c->target.accept_language) > 0 &&
	    !is_accept_language(c->target.accept_language))
		err_node(s->p, s->slot[T_ACCEPT_LANGUAGE].val,
		         "'%s' must be an Accept-Language value such as "
		         "'da, en;q=0.5'",
		         sec_path(s, T_ACCEPT_LANGUAGE));
}

static void load_target(struct section *root)
{
	struct config *c = &root->p->cfg;
	struct section s;
	char b[72];

	if (!root->slot[R_TARGET].set ||
	    !section_sub(root, R_TARGET, &s, "target", target_keys, T_N))
		return;
	if (sec_str(&s, T_PROFILE, &c->target.profile) > 0 &&
	    !profile_find(c->target.profile))
		err_node(s.p, s.slot[T_PROFILE].val,
		         "unknown profile '%s' (known: %s)",
		         shown(c->target.profile, b, sizeof(b)),
		         profile_names());
	sec_url(&s, T_URL, &c->target.base_url);
	load_auth(&s);
	sec_long(&s, T_TIMEOUT, 1, 3600000, &c->target.timeout_ms);
	sec_long(&s, T_CONNECT, 1, 600000, &c->target.connect_timeout_ms);
	sec_long(&s, T_IN_FLIGHT, 1, 4096, &c->target.max_in_flight);
	sec_long(&s, T_CONNS, 0, 4096, &c->target.max_connections);
	sec_long(&s, T_PER_PARTITION, 0, 4096,
		 &c->target.max_in_flight_per_partition);
	sec_bool(&s, T_TLS, &c->target.tls_verify);
	sec_long(&s, T_MAX_RESPONSE, CONFIG_MIN_RESPONSE, CONFIG_MAX_RESPONSE,
	         &c->target.max_response_bytes);
	load_profile_settings(&s);
}

static void load_retry(struct section *root)
{
	struct config *c = &root->p->cfg;
	struct section s;
	int ri, rm;

	if (!section_sub(root, R_RETRY, &s, "retry", retry_keys, RT_N))
		return;
	ri =
	    sec_long(&s, RT_INITIAL, 1, 3600000, &c->retry.initial_backoff_ms);
	rm = sec_long(&s, RT_MAX, 1, 86400000, &c->retry.max_backoff_ms);
	sec_long(&s, RT_RETRY_AFTER, 0, 604800, &c->retry.max_retry_after_s);
	sec_long(&s, RT_ATTEMPTS, 0, LONG_MAX, &c->retry.max_attempts);
	if (ri < 0 || rm < 0 ||
	    c->retry.max_backoff_ms >= c->retry.initial_backoff_ms)
		return;
	/* Blame the key that was written; both may have been. */
	if (rm > 0)
		err_node(s.p, s.slot[RT_MAX].val,
		         "'retry.max_backoff_ms' must be at least "
		         "'retry.initial_backoff_ms' (%ld)",
		         c->retry.initial_backoff_ms);
	else
		err_node(s.p, s.slot[RT_INITIAL].val,
		         "'retry.initial_backoff_ms' must be at most "
		         "'retry.max_backoff_ms' (%ld)",
		         c->retry.max_backoff_ms);
}

static void load_worker(struct section *root)
{
	struct config *c = &root->p->cfg;
	struct section s;

	if (!section_sub(root, R_WORKER, &s, "worker", worker_keys, W_N))
		return;
	sec_long(&s, W_SHUTDOWN, 0, 600000, &c->worker.shutdown_timeout_ms);
	sec_long(&s, W_BUFFERED, 1, 10000000, &c->worker.max_buffered_events);
}

static void load_log(struct section *root)
{
	struct config *c = &root->p->cfg;
	struct section s;
	size_t i;

	if (!section_sub(root, R_LOG, &s, "log", log_keys, L_N))
		return;
	if (sec_choice(&s, L_LEVEL, level_names, N_ELEM(level_names), &i) >
	    0) {
		free(c->log.level);
		c->log.level = strdup(level_names[i]);
		if (!c->log.level)
			root->p->oom = true;
	}
	if (sec_choice(&s, L_FORMAT, format_names, LOG_FORMAT_MAX, &i) > 0)
		c->log.format = (enum log_format)i;
}

/* Present or not, as a whole: an empty 'metrics:' is a mistake, since
 * leaving the section out is how metrics are turned off. */
static void load_metrics(struct section *root)
{
	struct config *c = &root->p->cfg;
	struct section s;
	const char *why;

	if (!root->slot[R_METRICS].set ||
	    !section_sub(root, R_METRICS, &s, "metrics", metrics_keys, M_N))
		return;
	if (sec_str(&s, M_LISTEN, &c->metrics.listen) <= 0)
		return;
	why = metrics_listen_problem(c->metrics.listen, NULL);
	if (why)
		err_node(s.p, s.slot[M_LISTEN].val, "'metrics.listen' %s",
		         why);
}

/* ---- mapping ---- */

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
static int get_pointer(struct cparse *p, size_t node, const char *path,
                       char **dst)
{
	const char *why;
	char b[72], *s;

	if (is_null(&p->nodes[node])) {
		err_node(p, node, "'%s' must be a JSON pointer", path);
		return -1;
	}
	if (value_text(p, node, path, "a JSON pointer", &s))
		return -1;
	why = pointer_problem(s);
	if (why) {
		err_node(p, node, "bad JSON pointer '%s': %s",
		         shown(s, b, sizeof(b)), why);
		free(s);
		return -1;
	}
	*dst = s;
	return 0;
}

static void mapping_entry_free(struct config_mapping *m)
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
		             k == 1 ? "" : k == n ? " and " : ", ",
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
static int get_mapping_entry(struct cparse *p, const struct field *f,
                             size_t node, const char *path,
                             struct config_mapping *m)
{
	const struct cnode *n = &p->nodes[node];
	size_t count = n->kind == CNODE_SEQ ? n->n_kids : 1;
	bool bad = false;
	char b[128];

	if (n->kind == CNODE_MAP) {
		err_node(p, node, "'%s' must be a JSON pointer%s", path,
		         f->multi ? " or a list of them" : "");
		return -1;
	}
	if (n->kind == CNODE_SEQ && !f->multi) {
		err_node(p, node,
		         "'%s' must be one JSON pointer (only %s take a list)",
		         path, multi_fields(b, sizeof(b)));
		return -1;
	}
	if (count == 0) {
		err_node(p, node, "'%s' must not be empty", path);
		return -1;
	}
	if (count > CONFIG_MAX_POINTERS) {
		err_node(p, node, "'%s' has more than %d pointers", path,
		         CONFIG_MAX_POINTERS);
		return -1;
	}
	memset(m, 0, sizeof(*m));
	m->field = strdup(f->path);
	m->pointers = calloc(count + 1, sizeof(*m->pointers));
	if (!m->field || !m->pointers) {
		p->oom = true;
		mapping_entry_free(m);
		return -1;
	}
	m->list = f->kind == FIELD_LIST;
	for (size_t i = 0; i < count; i++) {
		size_t item = n->kind == CNODE_SEQ ? n->kids[i] : node;

		if (p->nodes[item].kind != CNODE_SCALAR) {
			err_node(p, item,
			         "'%s' must be a list of JSON pointers", path);
			bad = true;
		} else if (get_pointer(p, item, path,
		                       &m->pointers[m->n_pointers]) == 0) {
			m->n_pointers++;
		} else {
			bad = true;
		}
	}
	if (bad) {
		mapping_entry_free(m);
		return -1;
	}
	return 0;
}

/* mapping: canonical field -> JSON pointer(s) into the row, in file
 * order. An unknown field is blamed on its key, a bad pointer on its
 * value. */
static void load_mapping(struct section *root)
{
	struct cparse *p = root->p;
	struct config *c = &p->cfg;
	const struct slot *sl = &root->slot[R_MAPPING];
	const struct cnode *n;
	char path[128], b[72];

	if (!sl->set)
		return;
	n = &p->nodes[sl->val];
	if (is_null(n))
		return;
	if (n->kind != CNODE_MAP) {
		err_node(p, sl->val, "'mapping' must be a mapping");
		return;
	}
	c->mapping = calloc(n->n_kids / 2 + 1, sizeof(*c->mapping));
	if (!c->mapping) {
		p->oom = true;
		return;
	}
	for (size_t k = 0; k + 1 < n->n_kids; k += 2) {
		const struct cnode *key = &p->nodes[n->kids[k]];
		const struct field *f;
		bool dup = false;

		if (key->kind != CNODE_SCALAR) {
			err_node(p, n->kids[k],
			         "keys of 'mapping' must be strings");
			continue;
		}
		f = field_find(key->value, key->len);
		if (!f) {
			err_node(p, n->kids[k],
			         "unknown canonical field '%s' in mapping",
			         shown(key->value, b, sizeof(b)));
			continue;
		}
		snprintf(path, sizeof(path), "mapping.%s", f->path);
		for (size_t j = 0; j < k && !dup; j += 2)
			dup = key_is(&p->nodes[n->kids[j]], key->value);
		if (dup) {
			err_node(p, n->kids[k], "duplicate key '%s'", path);
			continue;
		}
		if (get_mapping_entry(p, f, n->kids[k + 1], path,
		                      &c->mapping[c->n_mapping]) == 0)
			c->n_mapping++;
	}
}

static void set_defaults(struct config *c)
{
	c->target.auth.type = AUTH_NONE;
	c->target.timeout_ms = 10000;
	c->target.connect_timeout_ms = 5000;
	c->target.max_in_flight = 64;
	c->target.max_connections = 0;
	c->target.tls_verify = 1;
	c->target.max_response_bytes = CONFIG_DEF_RESPONSE;
	c->target.short_id = SHORT_ID_KEY;
	c->target.delete_mode = DELETE_SUSPEND;
	c->retry.initial_backoff_ms = 200;
	c->retry.max_backoff_ms = 60000;
	c->retry.max_retry_after_s = 3600;
	c->retry.max_attempts = 0;
	c->worker.shutdown_timeout_ms = 10000;
	c->worker.max_buffered_events = 10000;
	c->log.format = LOG_FORMAT_TEXT;
}

static void load_root(struct cparse *p, size_t root)
{
	static const struct cpos top = {1, 1};
	struct section s;

	if (root == NO_NODE || is_null(&p->nodes[root])) {
		err_at(p, 1, 1, "empty configuration");
		return;
	}
	if (p->nodes[root].kind != CNODE_MAP) {
		err_node(p, root, "the configuration must be a mapping");
		return;
	}
	section_open(&s, p, root, "", root_keys, R_N, top);
	load_kafka(&s);
	load_target(&s);
	load_retry(&s);
	load_worker(&s);
	load_log(&s);
	load_metrics(&s);
	load_mapping(&s);
}

/* What callers may rely on even where the file said nothing. */
static void fill_in(struct cparse *p)
{
	struct config *c = &p->cfg;

	if (!c->log.level)
		c->log.level = strdup("info");
	if (!c->target.auth.scopes)
		c->target.auth.scopes = calloc(1, sizeof(char *));
	if (!c->log.level || !c->target.auth.scopes)
		p->oom = true;
	if (c->target.auth.type == AUTH_API_KEY && !c->target.auth.header) {
		c->target.auth.header = strdup("X-API-Key");
		if (!c->target.auth.header)
			p->oom = true;
	}
	if (!c->target.language) {
		c->target.language = strdup("en");
		if (!c->target.language)
			p->oom = true;
	}
	/* Only the language that was written ends up as the default. */
	if (!c->target.accept_language && c->target.language) {
		c->target.accept_language = strdup(c->target.language);
		if (!c->target.accept_language)
			p->oom = true;
	}
}

int config_load_buffer(const char *name, const char *buf, size_t len,
                       struct config *cfg, struct config_errors *errs)
{
	struct cparse p;
	size_t root;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(cfg, 0, sizeof(*cfg));
	if (errs)
		memset(errs, 0, sizeof(*errs));
	set_defaults(&p.cfg);
	if (!buf)
		buf = ""; /* libyaml asserts on NULL even for len 0 */
	if (len > CONFIG_MAX_FILE) {
		err_at(&p, 0, 0, "cannot read '%s': %s",
		       name ? name : "(buffer)", strerror(EFBIG));
		rc = -EFBIG;
	} else {
		if (tree_build(&p, buf, len, &root) == 0)
			load_root(&p, root);
		if (p.errs.n == 0 && !p.oom)
			fill_in(&p);
		rc = p.oom ? -ENOMEM : p.errs.n ? -EINVAL : 0;
	}
	errs_finish(&p);
	tree_free(&p);
	if (rc == 0)
		*cfg = p.cfg;
	else
		config_done(&p.cfg);
	if (errs)
		*errs = p.errs;
	else
		config_errors_done(&p.errs);
	return rc;
}

int config_load(const char *path, struct config *cfg,
                struct config_errors *errs)
{
	struct cparse p;
	char *buf;
	size_t len;
	int rc;

	rc = read_all(path, CONFIG_MAX_FILE, &buf, &len);
	if (rc == 0) {
		rc = config_load_buffer(path, buf, len, cfg, errs);
		free(buf);
		return rc;
	}
	/* The same shape of result as a parse: one error, no place. */
	memset(&p, 0, sizeof(p));
	memset(cfg, 0, sizeof(*cfg));
	err_at(&p, 0, 0, "cannot read '%s': %s", path, strerror(-rc));
	if (errs)
		*errs = p.errs;
	else
		config_errors_done(&p.errs);
	return rc;
}

void config_done(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->kafka.brokers);
	free(cfg->kafka.group_id);
	strv_free(cfg->kafka.topics);
	free(cfg->kafka.results_topic);
	free(cfg->kafka.dead_letter_topic);
	for (size_t i = 0; i < cfg->kafka.n_properties; i++) {
		free(cfg->kafka.properties[i].key);
		/* sasl.password and the like live here too. */
		free_secret(cfg->kafka.properties[i].value);
	}
	free(cfg->kafka.properties);
	free(cfg->target.profile);
	free(cfg->target.base_url);
	free_secret(cfg->target.auth.token);
	free(cfg->target.auth.token_url);
	free(cfg->target.auth.client_id);
	free_secret(cfg->target.auth.client_secret);
	strv_free(cfg->target.auth.scopes);
	free(cfg->target.auth.username);
	free_secret(cfg->target.auth.password);
	free(cfg->target.auth.header);
	free_secret(cfg->target.auth.key);
	free(cfg->target.language);
	free(cfg->target.accept_language);
	for (size_t i = 0; i < cfg->n_mapping; i++)
		mapping_entry_free(&cfg->mapping[i]);
	free(cfg->mapping);
	free(cfg->log.level);
	free(cfg->metrics.listen);
	memset(cfg, 0, sizeof(*cfg));
}

int config_load_report(const char *path, struct config *cfg)
{
	struct config_errors errs = {0};
	int rc = config_load(path, cfg, &errs);

	for (size_t i = 0; i < errs.n; i++) {
		if (errs.v[i].line > 0)
			fprintf(stderr, "%s:%d:%d: %s\n", path, errs.v[i].line,
				errs.v[i].col, errs.v[i].msg);
		else
			fprintf(stderr, "%s: %s\n", path, errs.v[i].msg);
	}
	config_errors_done(&errs);
	return rc;
}
