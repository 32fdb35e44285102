#include "config/values.h"

#include "config/diag.h"
#include "config/kprops.h"
#include "config/yamltree.h"
#include "edge/http.h"
#include "ops/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_VARNAME 255

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
static const char *expand_ref(struct ytree *t, size_t node, const char *path,
                              const char *s, const char *end, struct sbuf *b,
                              bool *bad)
{
	const char *name = s + 2, *name_end = name, *close, *val;
	char var[CONFIG_MAX_VARNAME + 1], shown_ref[72];
	bool has_default;
	size_t n;

	close = memchr(name, '}', (size_t)(end - name));
	if (!close) {
		ytree_err(t, node, "unterminated '${' in '%s'", path);
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
		ytree_err(t, node, "invalid variable reference '%s' in '%s'",
		          diag_shown(var, shown_ref, sizeof(shown_ref)), path);
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
		ytree_err(t, node, "environment variable '%s' is not set",
		          var);
		*bad = true;
	}
	return close + 1;
}

/* The scalar's text with ${VAR}, ${VAR:-default} and $$ expanded; any
 * other '$' is kept, so that most values need no escaping. Every
 * problem in the scalar is reported. Returns 0 with *out allocated, or
 * -1. */
static int expand(struct ytree *t, size_t node, const char *path, char **out)
{
	const struct ynode *n = &t->nodes[node];
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
			s = expand_ref(t, node, path, d, end, &b, &bad);
		} else {
			sbuf_add(&b, "$", 1);
			s = d + 1;
		}
	}
	if (b.oom)
		t->diag->oom = true;
	if (!bad && !b.oom && b.toobig) {
		ytree_err(t, node, "'%s' is longer than %d bytes", path,
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
int value_text(struct ytree *t, size_t node, const char *path,
               const char *what, char **out)
{
	const struct ynode *n = &t->nodes[node];

	*out = NULL;
	if (n->kind != YNODE_SCALAR) {
		ytree_err(t, node, "'%s' must be %s", path, what);
		return -1;
	}
	if (ynode_is_null(n))
		return 0;
	/* "\0" in a double-quoted scalar would silently cut the value. */
	if (strlen(n->value) != n->len) {
		ytree_err(t, node, "'%s' must not contain a NUL character",
		          path);
		return -1;
	}
	return expand(t, node, path, out);
}

/* Wipes a value that may be a secret before it is freed. */
void value_free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int value_string(struct ytree *t, size_t node, const char *path, char **dst)
{
	char *s;

	if (value_text(t, node, path, "a string", &s))
		return -1;
	if (!s || !*s) {
		ytree_err(t, node, "'%s' must not be empty", path);
		free(s);
		return -1;
	}
	value_free_secret(*dst);
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
int value_long(struct ytree *t, size_t node, const char *path, long min,
               long max, long *dst)
{
	return value_long_or(t, node, path, min, max, NULL, 0, dst);
}

int value_long_or(struct ytree *t, size_t node, const char *path, long min,
                  long max, const char *word, long word_value, long *dst)
{
	char *s;
	long v = 0;
	int rc;

	if (value_text(t, node, path, "an integer", &s))
		return -1;
	if (s && word && strcmp(s, word) == 0) {
		free(s);
		*dst = word_value;
		return 0;
	}
	rc = s ? parse_long(s, &v) : -EINVAL;
	free(s);
	if (rc == -EINVAL && word) {
		ytree_err(t, node, "'%s' must be an integer or '%s'", path,
		          word);
		return -1;
	}
	if (rc == -EINVAL) {
		ytree_err(t, node, "'%s' must be an integer", path);
		return -1;
	}
	if (rc == -ERANGE || v < min || v > max) {
		if (max == LONG_MAX)
			ytree_err(t, node, "'%s' must be at least %ld", path,
			          min);
		else
			ytree_err(t, node, "'%s' must be between %ld and %ld",
			          path, min, max);
		return -1;
	}
	*dst = v;
	return 0;
}

int value_bool(struct ytree *t, size_t node, const char *path, int *dst)
{
	char *s;
	int v = -1;

	if (value_text(t, node, path, "true or false", &s))
		return -1;
	if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0))
		v = 1;
	else if (s &&
	         (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0))
		v = 0;
	free(s);
	if (v < 0) {
		ytree_err(t, node, "'%s' must be true or false", path);
		return -1;
	}
	*dst = v;
	return 0;
}

int value_choice(struct ytree *t, size_t node, const char *path,
                 const char *const *names, size_t n, size_t *dst)
{
	char list[128] = "";
	size_t used = 0;
	char *s;

	if (value_text(t, node, path, "a string", &s))
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
	ytree_err(t, node, "'%s' must be one of %s", path, list);
	return -1;
}

void value_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A list of non-empty strings, NULL-terminated; YAML's null is an empty
 * list. */
int value_strlist(struct ytree *t, size_t node, const char *path,
                  bool nonempty, char ***dst, size_t *n_dst)
{
	const struct ynode *n = &t->nodes[node];
	size_t count = 0;
	bool bad = false;
	char **v;

	if (n->kind != YNODE_SEQ && !ynode_is_null(n)) {
		ytree_err(t, node, "'%s' must be a list of strings", path);
		return -1;
	}
	v = calloc(n->n_kids + 1, sizeof(*v));
	if (!v) {
		t->diag->oom = true;
		return -1;
	}
	for (size_t i = 0; i < n->n_kids; i++) {
		size_t item = n->kids[i];
		char *s = NULL;

		if (t->nodes[item].kind != YNODE_SCALAR ||
		    ynode_is_null(&t->nodes[item])) {
			ytree_err(t, item, "'%s' must be a list of strings",
			          path);
			bad = true;
			continue;
		}
		if (value_text(t, item, path, "a string", &s)) {
			bad = true;
			continue;
		}
		if (!*s) {
			ytree_err(t, item,
			          "'%s' must not contain an empty string",
			          path);
			free(s);
			bad = true;
			continue;
		}
		v[count++] = s;
	}
	if (!bad && nonempty && count == 0) {
		ytree_err(t, node, "'%s' must not be empty", path);
		bad = true;
	}
	if (bad) {
		value_strv_free(v);
		return -1;
	}
	value_strv_free(*dst);
	*dst = v;
	*n_dst = count;
	return 0;
}

/* Reads at most max bytes of path into a NUL-terminated buffer. Returns
 * 0, -EFBIG when the file is longer, or -errno. */
int value_read_file(const char *path, size_t max, char **out, size_t *len)
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

/* Like OpenBSD's check_file_secrecy, but a warning: any access for
 * group or others (0640 too) is more than a secret needs, while
 * systemd's credentials are 0400 for the service's user. Only the
 * file's name is shown. A warning and not a problem, so that a
 * deployment that works today keeps starting. */
static void warn_secrecy(const char *path, const char *file)
{
	struct stat st;
	char b[512], mode[8];

	if (stat(file, &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return;
	/* Octal as chmod takes it, so a string: a JSON number would be
	 * decimal. */
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	log_kv(LOG_WARNING,
	       "secret file is accessible by group or others; make it 0600 "
	       "or 0400",
	       LOG_S("key", path),
	       LOG_S("file", diag_shown(file, b, sizeof(b))),
	       LOG_S("mode", mode));
}

/* A secret from the file named by the value at node: one trailing
 * newline stripped, since editors add one and no token ends in one. */
int value_secret_file(struct ytree *t, size_t node, const char *path,
                      char **dst)
{
	char *file = NULL, *buf, *s, b[512];
	size_t len, n_read;
	int rc;

	if (value_string(t, node, path, &file))
		return -1;
	rc = value_read_file(file, CONFIG_MAX_SECRET, &buf, &len);
	if (rc == -ENOMEM) {
		t->diag->oom = true;
	} else if (rc) {
		ytree_err(t, node, "cannot read '%s' (%s): %s", path,
		          diag_shown(file, b, sizeof(b)), strerror(-rc));
	} else {
		n_read = len;
		if (len > 0 && buf[len - 1] == '\n')
			len--;
		if (len > 0 && buf[len - 1] == '\r' && buf[len] == '\n')
			len--;
		if (memchr(buf, '\0', len)) {
			ytree_err(t, node, "'%s' (%s) contains a NUL byte",
			          path, diag_shown(file, b, sizeof(b)));
			rc = -EINVAL;
		} else if (len == 0) {
			ytree_err(t, node, "'%s' (%s) is empty", path,
			          diag_shown(file, b, sizeof(b)));
			rc = -EINVAL;
		} else {
			s = strndup(buf, len);
			if (!s) {
				t->diag->oom = true;
				rc = -ENOMEM;
			} else {
				value_free_secret(*dst);
				*dst = s;
				warn_secrecy(path, file);
			}
		}
		explicit_bzero(buf, n_read);
		free(buf);
	}
	free(file);
	return rc ? -1 : 0;
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
int value_url(struct ytree *t, size_t node, const char *path, char **dst)
{
	size_t len, skip;
	char *u;

	if (value_string(t, node, path, dst))
		return -1;
	u = *dst;
	if (strncasecmp(u, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		skip = 8;
	else
		skip = 0;
	if (!skip) {
		ytree_err(t, node, "'%s' must start with http:// or https://",
		          path);
		return -1;
	}
	if (!u[skip] || u[skip] == '/') {
		ytree_err(t, node, "'%s' has no host", path);
		return -1;
	}
	/* libcurl refuses such a URL on every request; say so once. */
	if (strchr(u, ' ') || has_control(u)) {
		ytree_err(t, node,
		          "'%s' must not contain spaces or control characters",
		          path);
		return -1;
	}
	len = strlen(u);
	if (u[len - 1] == '/')
		u[len - 1] = '\0';
	return 0;
}

int value_check_sent(struct ytree *t, size_t node, const char *path,
                     const char *value, enum sent_as how)
{
	char b[64];
	const char *why =
	    http_value_problem(value, how == SENT_ENCODED, b, sizeof(b));

	if (!why)
		return 0;
	if (how == SENT_IN_HEADER)
		ytree_err(t, node,
		          "'%s' contains %s; an HTTP header value may hold "
		          "only visible ASCII and spaces",
		          path, why);
	else
		ytree_err(t, node,
		          "'%s' contains %s; credentials must not contain "
		          "control characters",
		          path, why);
	return -1;
}

/* A map of at most max entries at node, for value_properties and
 * value_headers: *v allocated for them. Returns 1 for YAML's null
 * (nothing to read), 0, or -1 after reporting. */
static int map_open(struct ytree *t, size_t node, const char *path, size_t max,
                    struct config_kv **v)
{
	const struct ynode *n = &t->nodes[node];

	if (ynode_is_null(n))
		return 1;
	if (n->kind != YNODE_MAP) {
		ytree_err(t, node, "'%s' must be a mapping", path);
		return -1;
	}
	if (n->n_kids / 2 > max) {
		ytree_err(t, node, "'%s' has more than %zu entries", path,
		          max);
		return -1;
	}
	*v = calloc(n->n_kids / 2 + 1, sizeof(**v));
	if (!*v) {
		t->diag->oom = true;
		return -1;
	}
	return 0;
}

/* Key k of the map at node: "PATH.KEY" into kpath and the name it
 * stands for (K for "K_file", file_of then set) into name. Returns 0,
 * or -1 after reporting a key that is no string or a duplicate; same()
 * compares names. */
static int map_key(struct ytree *t, size_t node, size_t k, const char *path,
                   bool (*same)(const char *, const char *), char *kpath,
                   size_t kpath_size, char *name, size_t name_size,
                   bool *file_of)
{
	const struct ynode *n = &t->nodes[node];
	const struct ynode *key = &t->nodes[n->kids[k]];
	char b[72], base[128], jbase[128];
	const char *file_base, *nm;
	bool dup = false, exact = false;

	if (key->kind != YNODE_SCALAR || ynode_is_null(key) ||
	    strlen(key->value) != key->len) {
		ytree_err(t, n->kids[k],
		          "keys of '%s' must be non-empty strings", path);
		return -1;
	}
	snprintf(kpath, kpath_size, "%s.%s", path,
	         diag_shown(key->value, b, sizeof(b)));
	file_base = kprops_file_base(key->value, base, sizeof(base));
	nm = file_base ? file_base : key->value;
	*file_of = file_base != NULL;
	snprintf(name, name_size, "%s", nm);
	/* Against every earlier key, valid or not; K and K_file name the
	 * same entry. */
	for (size_t j = 0; j < k && !dup; j += 2) {
		const struct ynode *o = &t->nodes[n->kids[j]];
		const char *ob;

		if (o->kind != YNODE_SCALAR || ynode_is_null(o))
			continue;
		ob = kprops_file_base(o->value, jbase, sizeof(jbase));
		dup = same(ob ? ob : o->value, nm);
		exact = dup && same(o->value, key->value);
	}
	if (!dup)
		return 0;
	if (exact)
		ytree_err(t, n->kids[k], "duplicate key '%s'", kpath);
	else
		ytree_err(t, n->kids[k], "%s: give %s or %s_file, not both",
		          kpath, nm, nm);
	return -1;
}

/* The value of entry k (a key index) as text, from its file for a
 * K_file key. An empty value has to be written as '' on purpose. */
static int map_value(struct ytree *t, size_t node, size_t k, const char *kpath,
                     bool file_of, char **s)
{
	size_t val = t->nodes[node].kids[k + 1];

	if (ynode_is_null(&t->nodes[val])) {
		ytree_err(t, val, "'%s' must have a value", kpath);
		return -1;
	}
	if (file_of)
		return value_secret_file(t, val, kpath, s);
	return value_text(t, val, kpath, "a scalar", s);
}

/* Entry count of v: name (copied) and s (taken). */
static int map_store(struct ytree *t, struct config_kv *v, size_t *count,
                     const char *name, char *s)
{
	struct config_kv *kv = &v[*count];

	kv->key = strdup(name);
	if (!kv->key) {
		value_free_secret(s);
		t->diag->oom = true;
		return -1;
	}
	kv->value = s;
	++*count;
	return 0;
}

static bool same_exact(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static bool same_any_case(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* librdkafka properties, in order, as text, each checked by librdkafka
 * while loading. "K_file: PATH" gives K the content of PATH (read like
 * any *_file secret); K and K_file together is a problem, as a
 * duplicate key is. */
int value_properties(struct ytree *t, size_t node, const char *path,
                     struct config_kv **dst, size_t *n_dst)
{
	const struct ynode *n = &t->nodes[node];
	struct config_kv *v = NULL;
	size_t count = 0;
	char kpath[128], name[128];
	rd_kafka_conf_t *probe;
	int rc = map_open(t, node, path, CONFIG_MAX_PROPERTIES, &v);

	if (rc)
		return rc > 0 ? 0 : -1;
	probe = rd_kafka_conf_new();
	if (!probe) {
		free(v);
		t->diag->oom = true;
		return -1;
	}
	/* Kept even when an entry is bad: the load fails anyway, and what
	 * was read is freed with the rest. */
	*dst = v;
	for (size_t k = 0; k + 1 < n->n_kids; k += 2) {
		char *s = NULL;
		bool file_of;

		if (map_key(t, node, k, path, same_exact, kpath, sizeof(kpath),
		            name, sizeof(name), &file_of) ||
		    map_value(t, node, k, kpath, file_of, &s))
			continue;
		if (kprops_check(t, n->kids[k], kpath, probe, name, s,
		                 file_of)) {
			value_free_secret(s);
			continue;
		}
		if (map_store(t, v, &count, name, s))
			break;
		*n_dst = count;
	}
	rd_kafka_conf_destroy(probe);
	return 0;
}

/* Names compared in any case, as HTTP does: "x-tenant" and "X-Tenant"
 * would be two lines of one header. */
int value_headers(struct ytree *t, size_t node, const char *path,
                  struct config_kv **dst, size_t *n_dst)
{
	const struct ynode *n = &t->nodes[node];
	struct config_kv *v = NULL;
	size_t count = 0;
	char kpath[128], name[128];
	bool bad = false;
	int rc = map_open(t, node, path, CONFIG_MAX_HEADERS, &v);

	if (rc)
		return rc > 0 ? 0 : -1;
	*dst = v;
	for (size_t k = 0; k + 1 < n->n_kids; k += 2) {
		char *s = NULL;
		bool file_of;

		if (map_key(t, node, k, path, same_any_case, kpath,
		            sizeof(kpath), name, sizeof(name), &file_of)) {
			bad = true;
			continue;
		}
		if (!http_header_name_ok(name)) {
			ytree_err(
			    t, n->kids[k],
			    "'%s': an HTTP header name is letters, digits "
			    "and !#$%%&'*+-.^_`|~",
			    kpath);
			bad = true;
			continue;
		}
		if (http_header_is_own(name)) {
			ytree_err(t, n->kids[k],
			          "'%s': custsync sets %s itself; it cannot "
			          "be a static header",
			          kpath, name);
			bad = true;
			continue;
		}
		if (map_value(t, node, k, kpath, file_of, &s)) {
			bad = true;
			continue;
		}
		if (!*s) {
			ytree_err(t, n->kids[k + 1], "'%s' must not be empty",
			          kpath);
			free(s);
			bad = true;
			continue;
		}
		if (value_check_sent(t, n->kids[k + 1], kpath, s,
		                     SENT_IN_HEADER)) {
			value_free_secret(s);
			bad = true;
			continue;
		}
		if (map_store(t, v, &count, name, s))
			return -1;
		*n_dst = count;
	}
	return bad ? -1 : 0;
}

void value_properties_free(struct config_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		/* sasl.password and the like live here too. */
		value_free_secret(v[i].value);
	}
	free(v);
}
