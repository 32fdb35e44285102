/* mapping.h: canonical customers from non-canonical rows. The config
 * (config/fieldmap.c) has already checked the field names and the pointers'
 * syntax; what is left is reading the row, which can hold anything. */
#include "core/mapping.h"

#include "config/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest segment of a canonical path ("billing_address"); the config
 * allows no longer one. */
#define MAPPING_SEGMENT_MAX 64

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int oom(char *err, size_t errlen)
{
	return fail(err, errlen, -ENOMEM, "out of memory");
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	return "a scalar";
}

/* ---- RFC 6901 ---- */

/* Whether the escaped token tok[0, len) names name: "~0" is '~' and
 * "~1" is '/'; any other '~' matches nothing. */
static bool token_is(const char *tok, size_t len, const char *name)
{
	for (size_t i = 0; i < len; i++, name++) {
		char c = tok[i];

		if (c == '~') {
			if (i + 1 == len ||
			    (tok[i + 1] != '0' && tok[i + 1] != '1'))
				return false;
			c = tok[++i] == '0' ? '~' : '/';
		}
		if (*name != c)
			return false;
	}
	return *name == '\0';
}

/* An array index token: "0" or digits without a leading zero (RFC 6901
 * §4), below size. "-" (past the end) and anything else find nothing. */
static const cJSON *array_item(const cJSON *arr, const char *tok, size_t len)
{
	int size = cJSON_GetArraySize(arr);
	long idx = 0;

	if (len == 0 || (len > 1 && tok[0] == '0'))
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return NULL;
		idx = idx * 10 + (tok[i] - '0');
		if (idx >= size)
			return NULL;
	}
	return cJSON_GetArrayItem(arr, (int)idx);
}

/* The lookup, telling whether a member on the way appears more than once
 * (*dup, when dup is given: the value is then NULL). */
static const cJSON *lookup(const cJSON *doc, const char *ptr, bool *dup)
{
	const char *p = ptr;

	if (dup)
		*dup = false;
	if (!doc || !ptr)
		return NULL;
	if (*p && *p != '/')
		return NULL;
	while (doc && *p == '/') {
		const char *tok = p + 1;
		size_t len = strcspn(tok, "/");
		const cJSON *m, *found = NULL;

		p = tok + len;
		if (cJSON_IsArray(doc)) {
			doc = array_item(doc, tok, len);
			continue;
		}
		if (!cJSON_IsObject(doc))
			return NULL;
		cJSON_ArrayForEach(m, doc)
		{
			if (!m->string || !token_is(tok, len, m->string))
				continue;
			if (!found) {
				found = m;
				if (!dup)
					break;
			} else {
				*dup = true;
				return NULL;
			}
		}
		doc = found;
	}
	return doc;
}

const cJSON *mapping_pointer(const cJSON *doc, const char *ptr)
{
	return lookup(doc, ptr, NULL);
}

/* ---- values ---- */

/* A number as text for a string field: an integral value in plain digits
 * (1e20 as 100000000000000000000, never "1e+20" or "5.0"), others in the
 * shortest of %.15g and %.17g that reads back the same, as cJSON prints
 * them. -0 is "0". */
static void number_text(double d, char *buf, size_t size)
{
	if (d == 0) {
		snprintf(buf, size, "0");
	} else if (d == floor(d) && fabs(d) < 1e21) {
		snprintf(buf, size, "%.0f", d);
	} else {
		snprintf(buf, size, "%.15g", d);
		if (strtod(buf, NULL) != d)
			snprintf(buf, size, "%.17g", d);
	}
}

/* The string a scalar row value stands for: *out NULL for JSON null.
 * Returns 0, or -EINVAL for an object, an array or a number that is not
 * finite (1e400 parses to infinity). */
static int scalar(const cJSON *v, const struct config_mapping *m,
                  const char *ptr, char *num, size_t numlen, const char **out,
                  char *err, size_t errlen)
{
	*out = NULL;
	if (cJSON_IsNull(v))
		return 0;
	if (cJSON_IsString(v)) {
		*out = v->valuestring;
		return 0;
	}
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v) ? "true" : "false";
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		if (!isfinite(v->valuedouble))
			return fail(err, errlen, -EINVAL,
			            "mapping %s: %s is not a finite number",
			            m->field, ptr);
		number_text(v->valuedouble, num, numlen);
		*out = num;
		return 0;
	}
	return fail(err, errlen, -EINVAL,
	            "mapping %s: %s is %s, not a string, number, boolean or "
	            "null",
	            m->field, ptr, type_name(v));
}

static const cJSON *find(const cJSON *row, const struct config_mapping *m,
                         const char *ptr, int *rc, char *err, size_t errlen)
{
	bool dup;
	const cJSON *v = lookup(row, ptr, &dup);

	*rc = 0;
	if (dup)
		*rc = fail(err, errlen, -EINVAL,
		           "mapping %s: %s is ambiguous: a member on the way "
		           "appears more than once",
		           m->field, ptr);
	return v;
}

/* A scalar field: the first pointer whose target is present (the config
 * gives a scalar field one pointer; more are a fallback chain). *out
 * stays NULL when none is. */
static int map_scalar(const struct config_mapping *m, const cJSON *row,
                      cJSON **out, char *err, size_t errlen)
{
	char num[40];
	const char *text = NULL;
	const cJSON *v = NULL;
	int rc = 0;

	*out = NULL;
	for (size_t i = 0; !v && !rc && i < m->n_pointers; i++) {
		v = find(row, m, m->pointers[i], &rc, err, errlen);
		if (!rc && v)
			rc = scalar(v, m, m->pointers[i], num, sizeof(num),
			            &text, err, errlen);
	}
	if (rc || !v)
		return rc;
	*out = text ? cJSON_CreateString(text) : cJSON_CreateNull();
	return *out ? 0 : oom(err, errlen);
}

/* Adds the text of v to list unless it is null or "". */
static int collect(cJSON *list, const cJSON *v, const struct config_mapping *m,
                   const char *ptr, char *err, size_t errlen)
{
	char num[40];
	const char *text;
	cJSON *s;
	int rc = scalar(v, m, ptr, num, sizeof(num), &text, err, errlen);

	if (rc || !text || !*text)
		return rc;
	s = cJSON_CreateString(text);
	if (!s || !cJSON_AddItemToArray(list, s)) {
		cJSON_Delete(s);
		return oom(err, errlen);
	}
	return 0;
}

/* A list field: the non-null, non-empty values of every pointer, in
 * order. A pointer to an array contributes its items (ERPs that keep
 * e-mails in an array column), one level deep. Absent when every target
 * is; null when targets exist but none gives a value, as ERP rows write
 * "no e-mail" as NULL or ''. */
static int map_list(const struct config_mapping *m, const cJSON *row,
                    cJSON **out, char *err, size_t errlen)
{
	bool present = false;
	cJSON *list = cJSON_CreateArray();
	int rc = 0;

	*out = NULL;
	if (!list)
		return oom(err, errlen);
	for (size_t i = 0; !rc && i < m->n_pointers; i++) {
		const char *ptr = m->pointers[i];
		const cJSON *v = find(row, m, ptr, &rc, err, errlen), *e;

		if (rc || !v)
			continue;
		present = true;
		if (!cJSON_IsArray(v)) {
			rc = collect(list, v, m, ptr, err, errlen);
			continue;
		}
		cJSON_ArrayForEach(e, v)
		{
			if (cJSON_IsObject(e) || cJSON_IsArray(e)) {
				rc = fail(err, errlen, -EINVAL,
				          "mapping %s: %s holds %s, not a "
				          "string, number, boolean or null",
				          m->field, ptr, type_name(e));
				break;
			}
			rc = collect(list, e, m, ptr, err, errlen);
			if (rc)
				break;
		}
	}
	if (rc || !present) {
		cJSON_Delete(list);
		return rc;
	}
	if (cJSON_GetArraySize(list) == 0) {
		cJSON_Delete(list);
		list = cJSON_CreateNull();
		if (!list)
			return oom(err, errlen);
	}
	*out = list;
	return 0;
}

/* Puts v (taken) at the canonical path in cust: "a.b" is member b of
 * object a, made when missing. A later entry for the same path wins. */
static int place(cJSON *cust, const char *field, cJSON *v, char *err,
                 size_t errlen)
{
	char seg[MAPPING_SEGMENT_MAX];
	const char *path = field, *dot;
	cJSON *obj = cust, *sub;

	while ((dot = strchr(path, '.')) != NULL) {
		size_t len = (size_t)(dot - path);

		if (len == 0 || len >= sizeof(seg)) {
			cJSON_Delete(v);
			return fail(err, errlen, -EINVAL,
			            "mapping %s: not a canonical field",
			            field);
		}
		memcpy(seg, path, len);
		seg[len] = '\0';
		sub = cJSON_GetObjectItemCaseSensitive(obj, seg);
		if (!sub) {
			sub = cJSON_AddObjectToObject(obj, seg);
			if (!sub) {
				cJSON_Delete(v);
				return oom(err, errlen);
			}
		} else if (!cJSON_IsObject(sub)) {
			cJSON_Delete(v);
			return fail(err, errlen, -EINVAL,
			            "mapping %s: %s is mapped as a value",
			            field, seg);
		}
		obj = sub;
		path = dot + 1;
	}
	if (cJSON_GetObjectItemCaseSensitive(obj, path)
	        ? !cJSON_ReplaceItemInObjectCaseSensitive(obj, path, v)
	        : !cJSON_AddItemToObject(obj, path, v)) {
		cJSON_Delete(v);
		return oom(err, errlen);
	}
	return 0;
}

int mapping_apply(const struct config_mapping *m, size_t n, const cJSON *row,
                  cJSON **out, char *err, size_t errlen)
{
	cJSON *cust, *v;
	int rc = 0;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!cJSON_IsObject(row))
		return fail(err, errlen, -EINVAL,
		            "mapping: the row must be an object");
	cust = cJSON_CreateObject();
	if (!cust)
		return oom(err, errlen);
	for (size_t i = 0; !rc && i < n; i++) {
		if (m[i].list)
			rc = map_list(&m[i], row, &v, err, errlen);
		else
			rc = map_scalar(&m[i], row, &v, err, errlen);
		if (!rc && v)
			rc = place(cust, m[i].field, v, err, errlen);
	}
	if (rc) {
		cJSON_Delete(cust);
		return rc;
	}
	*out = cust;
	return 0;
}
