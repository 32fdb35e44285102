#include "core/forward.h"

#include "edge/http.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- traceparent ----------------------------------------------------- */

static bool lower_hex(const char *s, size_t n, bool *all_zero)
{
	*all_zero = true;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		if (s[i] != '0')
			*all_zero = false;
	}
	return true;
}

/* version(2) "-" trace-id(32) "-" parent-id(16) "-" trace-flags(2) */
#define TP_LEN 55

const char *forward_traceparent_problem(const char *v, size_t len)
{
	bool zero;

	if (len < TP_LEN)
		return "shorter than 55 characters";
	if (!lower_hex(v, 2, &zero) || v[2] != '-')
		return "the version is not 2 lowercase hex digits and '-'";
	if (v[0] == 'f' && v[1] == 'f')
		return "version ff is invalid";
	if (!lower_hex(v + 3, 32, &zero) || v[35] != '-')
		return "the trace-id is not 32 lowercase hex digits and '-'";
	if (zero)
		return "the trace-id is all zeros";
	if (!lower_hex(v + 36, 16, &zero) || v[52] != '-')
		return "the parent-id is not 16 lowercase hex digits and '-'";
	if (zero)
		return "the parent-id is all zeros";
	if (!lower_hex(v + 53, 2, &zero))
		return "the trace-flags are not 2 lowercase hex digits";
	if (len == TP_LEN)
		return NULL;
	/* Version 00 has these four fields and no more; a later version
	 * may add fields, each after a '-'. */
	if (v[0] == '0' && v[1] == '0')
		return "longer than version 00 allows";
	if (v[TP_LEN] != '-')
		return "the trace-flags are not followed by '-'";
	return NULL;
}

/* ---- tracestate ------------------------------------------------------ */

static bool lcalpha(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool key_char(char c)
{
	return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '*' || c == '/';
}

/* simple-key = lcalpha 0*255(key_char); multi-tenant-key = tenant-id
 * "@" system-id, tenant-id = (lcalpha / DIGIT) 0*240(key_char),
 * system-id = lcalpha 0*13(key_char). */
static bool key_ok(const char *k, size_t n)
{
	const char *at = memchr(k, '@', n);
	size_t tn, sn;

	if (!at) {
		if (n < 1 || n > 256 || !lcalpha(k[0]))
			return false;
		for (size_t i = 1; i < n; i++)
			if (!key_char(k[i]))
				return false;
		return true;
	}
	tn = (size_t)(at - k);
	sn = n - tn - 1;
	if (tn < 1 || tn > 241 || sn < 1 || sn > 14 ||
	    !(lcalpha(k[0]) || (k[0] >= '0' && k[0] <= '9')) ||
	    !lcalpha(at[1]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (k + i != at && k + i != at + 1 && !key_char(k[i]))
			return false;
	return true;
}

/* value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E;
 * chr = %x20 / nblk-chr */
static bool member_value_ok(const char *v, size_t n)
{
	if (n < 1 || n > 256 || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
			return false;
	return true;
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

const char *forward_tracestate_problem(const char *v, size_t len)
{
	size_t members = 0, i = 0;

	while (i <= len) {
		const char *end = memchr(v + i, ',', len - i), *eq;
		size_t s = i, e = end ? (size_t)(end - v) : len;

		i = e + 1;
		while (s < e && ows(v[s]))
			s++;
		while (e > s && ows(v[e - 1]))
			e--;
		if (s == e)
			continue;
		if (++members > 32)
			return "more than 32 list members";
		eq = memchr(v + s, '=', e - s);
		if (!eq || !key_ok(v + s, (size_t)(eq - (v + s))))
			return "a list member's key is not a W3C key";
		if (!member_value_ok(eq + 1, (size_t)(v + e - eq - 1)))
			return "a list member's value is not a W3C value";
	}
	return NULL;
}

/* ---- names ----------------------------------------------------------- */

const char *forward_name_problem(const char *name)
{
	if (!http_header_name_ok(name))
		return "is not an HTTP header name (letters, digits and "
		       "!#$%&'*+-.^_`|~)";
	if (strcasecmp(name, FORWARD_TRACEPARENT) == 0 ||
	    strcasecmp(name, FORWARD_TRACESTATE) == 0)
		return "is forwarded already, checked as W3C Trace Context";
	if (http_header_is_own(name))
		return "is a header custsync sets itself";
	if (strncasecmp(name, "custsync.", 9) == 0)
		return "is a custsync dead-letter header";
	return NULL;
}

/* ---- collecting ------------------------------------------------------ */

static void drop(struct forward *f, const char *name, const char *why)
{
	struct forward_drop *d;

	if (f->n_dropped++ >= FORWARD_DROPS_KEPT)
		return;
	d = &f->dropped[f->n_dropped - 1];
	d->name = name;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* Why a record's header value cannot be forwarded as it is, or NULL;
 * every forwarded value passes the checker of every other header. */
static const char *value_problem(const void *v, size_t len, char *buf,
                                 size_t size)
{
	char *s;
	const char *why;

	if (!v)
		return "no value";
	if (!len)
		return "an empty value";
	if (len > FORWARD_MAX_VALUE)
		return "a value longer than 4096 bytes";
	if (memchr(v, '\0', len))
		return "a NUL byte in its value";
	s = strndup(v, len);
	if (!s)
		return "a value too long for memory";
	why = http_value_problem(s, false, buf, size);
	free(s);
	return why;
}

/* The last value of name in hs and how often it occurs. */
static size_t find(const rd_kafka_headers_t *hs, const char *name,
                   const void **value, size_t *len)
{
	const char *n;
	const void *v;
	size_t sz, count = 0;

	*value = NULL;
	*len = 0;
	for (size_t i = 0; hs && !rd_kafka_header_get_all(hs, i, &n, &v, &sz);
	     i++) {
		if (strcasecmp(n, name) != 0)
			continue;
		*value = v;
		*len = sz;
		count++;
	}
	return count;
}

static int add(struct forward *f, const char *name, const void *v, size_t len)
{
	char *s = strndup(v, len);

	if (!s)
		return -ENOMEM;
	f->v[f->n].name = name;
	f->v[f->n].value = s;
	f->n++;
	return 0;
}

/* Every tracestate value joined with ',' (RFC 9110's list rule) into
 * *out, or NULL when there is none. 0, -E2BIG past FORWARD_MAX_VALUE,
 * or -ENOMEM. */
static int joined_tracestate(const rd_kafka_headers_t *hs, char **out,
                             size_t *len)
{
	const char *n;
	const void *v;
	size_t sz, used = 0, total = 0;
	bool any = false;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; !rd_kafka_header_get_all(hs, i, &n, &v, &sz); i++)
		if (strcasecmp(n, FORWARD_TRACESTATE) == 0 && v) {
			total += sz + any;
			any = true;
		}
	if (!any)
		return 0;
	if (total > FORWARD_MAX_VALUE)
		return -E2BIG;
	*out = malloc(total + 1);
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; !rd_kafka_header_get_all(hs, i, &n, &v, &sz); i++) {
		if (strcasecmp(n, FORWARD_TRACESTATE) != 0 || !v)
			continue;
		if (used)
			(*out)[used++] = ',';
		memcpy(*out + used, v, sz);
		used += sz;
	}
	(*out)[used] = '\0';
	*len = used;
	return 0;
}

/* Only separators: W3C lets such a tracestate be received, and nothing
 * is lost by not sending it on. */
static bool blank_list(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!ows(s[i]) && s[i] != ',')
			return false;
	return true;
}

static int collect_trace(struct forward *f, const rd_kafka_headers_t *hs)
{
	const void *tp;
	size_t tp_len, ts_len, n = find(hs, FORWARD_TRACEPARENT, &tp, &tp_len);
	char buf[64], *ts;
	const char *why = NULL;
	int rc = joined_tracestate(hs, &ts, &ts_len);

	if (rc == -ENOMEM)
		return rc;
	if (n > 1)
		why = "it occurs more than once";
	else if (n == 1)
		why = value_problem(tp, tp_len, buf, sizeof(buf));
	if (n == 1 && !why)
		why = forward_traceparent_problem(tp, tp_len);
	if (n && why)
		drop(f, FORWARD_TRACEPARENT, why);
	if (n && !why && add(f, FORWARD_TRACEPARENT, tp, tp_len)) {
		free(ts);
		return -ENOMEM;
	}
	/* W3C: tracestate belongs to its traceparent; without a valid one
	 * it is not read at all. An empty list is not worth sending. */
	if (rc != -E2BIG && !ts)
		return 0;
	if (!n || why)
		why = "there is no valid traceparent";
	else if (rc == -E2BIG)
		why = "a value longer than 4096 bytes";
	else if (!blank_list(ts, ts_len))
		why = value_problem(ts, ts_len, buf, sizeof(buf));
	if (!why && !blank_list(ts, ts_len))
		why = forward_tracestate_problem(ts, ts_len);
	rc = 0;
	if (why)
		drop(f, FORWARD_TRACESTATE, why);
	else if (!blank_list(ts, ts_len))
		rc = add(f, FORWARD_TRACESTATE, ts, ts_len);
	free(ts);
	return rc;
}

int forward_collect(struct forward *f, const rd_kafka_headers_t *hs,
                    char *const *names, size_t n_names)
{
	char buf[64];
	int rc;

	memset(f, 0, sizeof(*f));
	if (!hs)
		return 0;
	f->v = calloc(n_names + 2, sizeof(*f->v));
	if (!f->v)
		return -ENOMEM;
	rc = collect_trace(f, hs);
	for (size_t i = 0; !rc && i < n_names; i++) {
		const void *v;
		size_t len;
		const char *why;

		if (!find(hs, names[i], &v, &len))
			continue;
		why = value_problem(v, len, buf, sizeof(buf));
		if (why)
			drop(f, names[i], why);
		else
			rc = add(f, names[i], v, len);
	}
	if (rc)
		forward_done(f);
	return rc;
}

void forward_done(struct forward *f)
{
	for (size_t i = 0; i < f->n; i++)
		free((char *)f->v[i].value);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

rd_kafka_headers_t *forward_kafka_headers(const struct forward *f)
{
	rd_kafka_headers_t *hs;

	if (!f->n)
		return NULL;
	hs = rd_kafka_headers_new(f->n);
	for (size_t i = 0; hs && i < f->n; i++)
		if (rd_kafka_header_add(hs, f->v[i].name, -1, f->v[i].value,
		                        -1)) {
			rd_kafka_headers_destroy(hs);
			return NULL;
		}
	return hs;
}
