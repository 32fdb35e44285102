/* Kafka Connect logical types in JsonConverter output -> canonical text
 * (connect.h). */
#include "core/connect.h"

#include "lib/convert.h"
#include "lib/num.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deep enough for any path a message names; a longer one is only cut. */
#define PATH_LEN 128
/* Beyond this scale a "decimal" is a producer bug, and the text would be
 * mostly zeros. */
#define SCALE_MAX 1000
/* A JSON number is a double: past 2^53 it no longer holds every integer,
 * so a time read from one could be off by some units. */
#define EXACT_MAX 9007199254740991LL

/* ---- decimals ---- */

static int b64_digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Java's Base64 encoder, which JsonConverter uses, always pads: anything
 * else is not its output, and guessing could turn it into another
 * number. *n is the byte count; out holds len / 4 * 3. */
static int b64_decode(const char *s, unsigned char *out, size_t *n)
{
	size_t len = strlen(s), pad = 0, o = 0;

	*n = 0;
	if (len == 0 || len % 4)
		return -EINVAL;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len; i += 4) {
		unsigned v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = b64_digit((unsigned char)s[i + j]);

			if (d < 0 && !(i + j >= len - pad && s[i + j] == '='))
				return -EINVAL;
			v = v << 6 | (unsigned)(d < 0 ? 0 : d);
		}
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	*n = o - pad;
	return 0;
}

/* The digits themselves come from conv_decimal, shared with the Avro
 * input; here only Connect's text form (base64) and its scale, which
 * BigDecimal allows to be negative. */
int connect_decimal_text(const char *b64, long scale, char **out)
{
	size_t len = strlen(b64), n, nd;
	unsigned char *m;
	char *text, *grown;
	int rc;

	*out = NULL;
	if (scale < -SCALE_MAX || scale > SCALE_MAX || len == 0 ||
	    len / 4 * 3 > CONNECT_DECIMAL_MAX_BYTES + 2)
		return -EINVAL;
	m = malloc(len / 4 * 3 + 1);
	if (!m)
		return -ENOMEM;
	if (b64_decode(b64, m, &n) || n == 0 ||
	    n > CONNECT_DECIMAL_MAX_BYTES) {
		free(m);
		return -EINVAL;
	}
	rc = conv_decimal(m, n, scale > 0 ? (int)scale : 0, &text);
	free(m);
	if (rc)
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	/* BigDecimal.toPlainString: 12E+2 is "1200", zero stays "0". */
	if (scale < 0 && strcmp(text, "0") != 0) {
		nd = strlen(text);
		grown = realloc(text, nd + (size_t)-scale + 1);
		if (!grown) {
			free(text);
			return -ENOMEM;
		}
		memset(grown + nd, '0', (size_t)-scale);
		grown[nd + (size_t)-scale] = '\0';
		text = grown;
	}
	*out = text;
	return 0;
}

/* ---- times ---- */

static enum conv_unit unit_of(int64_t per_second)
{
	return per_second == 1000000000 ? CONV_NS
	       : per_second == 1000000  ? CONV_US
	                                : CONV_MS;
}

int connect_date_text(int64_t days, char *buf)
{
	return conv_date(days, buf, CONV_DATE_LEN) ? -ERANGE : 0;
}

int connect_time_text(int64_t v, int64_t per_second, char *buf)
{
	return conv_timestamp(v, unit_of(per_second), buf, CONNECT_TIME_LEN)
	           ? -ERANGE
	           : 0;
}

int connect_clock_text(int64_t v, int64_t per_second, char *buf)
{
	return conv_time_of_day(v, unit_of(per_second), buf, CONNECT_TIME_LEN)
	           ? -ERANGE
	           : 0;
}

/* ---- walking a schema ---- */

enum logical {
	L_NONE,
	L_DECIMAL,
	L_VARIABLE_DECIMAL,
	L_TIMESTAMP,
	L_DATE,
	L_TIME,
};

struct logical_name {
	const char *name;
	enum logical kind;
	int64_t per_second; /* L_TIMESTAMP, L_TIME */
};

static const struct logical_name logical_names[] = {
    {"org.apache.kafka.connect.data.Decimal", L_DECIMAL, 0},
    {"io.debezium.data.VariableScaleDecimal", L_VARIABLE_DECIMAL, 0},
    {"org.apache.kafka.connect.data.Timestamp", L_TIMESTAMP, 1000},
    {"io.debezium.time.Timestamp", L_TIMESTAMP, 1000},
    {"io.debezium.time.MicroTimestamp", L_TIMESTAMP, 1000000},
    {"io.debezium.time.NanoTimestamp", L_TIMESTAMP, 1000000000},
    {"org.apache.kafka.connect.data.Date", L_DATE, 0},
    {"io.debezium.time.Date", L_DATE, 0},
    {"org.apache.kafka.connect.data.Time", L_TIME, 1000},
    {"io.debezium.time.Time", L_TIME, 1000},
    {"io.debezium.time.MicroTime", L_TIME, 1000000},
    {"io.debezium.time.NanoTime", L_TIME, 1000000000},
};

struct walk {
	const char **code;
	char *err;
	size_t errlen;
};

static int bad(const struct walk *w, const char *code, const char *path,
               const char *what)
{
	*w->code = code;
	snprintf(w->err, w->errlen, "%s %s", path[0] ? path : "value", what);
	return -EINVAL;
}

/* A scale as JsonConverter writes it (parameters.scale, a string) or as
 * Debezium's VariableScaleDecimal carries it (a number). */
static bool read_scale(const cJSON *v, long *out)
{
	int64_t n;
	char *end;

	if (cJSON_IsString(v) && v->valuestring[0]) {
		errno = 0;
		*out = strtol(v->valuestring, &end, 10);
		return !errno && !*end;
	}
	if (num_json_int(v, -SCALE_MAX, SCALE_MAX, &n))
		return false;
	*out = (long)n;
	return true;
}

static int decimal_of(const struct walk *w, const char *b64,
                      const cJSON *scale, const char *path, char **out)
{
	long s;
	int rc;

	if (!read_scale(scale, &s))
		return bad(w, CONNECT_ERR_INVALID_DECIMAL, path,
		           "is a decimal without a usable scale");
	rc = connect_decimal_text(b64, s, out);
	if (rc == -EINVAL)
		return bad(w, CONNECT_ERR_INVALID_DECIMAL, path,
		           "is not a base64 decimal value");
	return rc;
}

/* The canonical text of v (not null) as logical type l, in *out. */
static int logical_text(const struct walk *w, const struct logical_name *l,
                        const cJSON *schema, const cJSON *v, const char *path,
                        char **out)
{
	char buf[CONNECT_TIME_LEN];
	int64_t n;
	int rc;

	*out = NULL;
	switch (l->kind) {
	case L_DECIMAL:
		if (!cJSON_IsString(v))
			return bad(w, CONNECT_ERR_INVALID_DECIMAL, path,
			           "is a decimal but not a base64 string");
		return decimal_of(
		    w, v->valuestring,
		    cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(schema, "parameters"),
		        "scale"),
		    path, out);
	case L_VARIABLE_DECIMAL: {
		const cJSON *value =
		    cJSON_GetObjectItemCaseSensitive(v, "value");

		if (!cJSON_IsObject(v) || !cJSON_IsString(value))
			return bad(w, CONNECT_ERR_INVALID_DECIMAL, path,
			           "is a VariableScaleDecimal without a "
			           "base64 value");
		return decimal_of(w, value->valuestring,
		                  cJSON_GetObjectItemCaseSensitive(v, "scale"),
		                  path, out);
	}
	case L_DATE:
		if (num_json_int(v, -EXACT_MAX, EXACT_MAX, &n) ||
		    connect_date_text(n, buf))
			return bad(w, CONNECT_ERR_INVALID_TIME, path,
			           "is a date but not a day count of years "
			           "0000..9999");
		break;
	case L_TIMESTAMP:
		rc = num_json_int(v, -EXACT_MAX, EXACT_MAX, &n);
		if (rc == -ERANGE)
			return bad(w, CONNECT_ERR_INVALID_TIME, path,
			           "is a timestamp beyond 2^53 units, which a "
			           "JSON number cannot hold exactly");
		if (rc || connect_time_text(n, l->per_second, buf))
			return bad(
			    w, CONNECT_ERR_INVALID_TIME, path,
			    "is a timestamp but not an integer of years "
			    "0000..9999");
		break;
	case L_TIME:
		if (num_json_int(v, -EXACT_MAX, EXACT_MAX, &n) ||
		    connect_clock_text(n, l->per_second, buf))
			return bad(w, CONNECT_ERR_INVALID_TIME, path,
			           "is a time of day but not an integer "
			           "within one day");
		break;
	default:
		return 0;
	}
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static const struct logical_name *logical_of(const cJSON *schema)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(schema, "name");

	if (!cJSON_IsString(name))
		return NULL;
	for (size_t i = 0; i < sizeof(logical_names) / sizeof(*logical_names);
	     i++)
		if (strcmp(name->valuestring, logical_names[i].name) == 0)
			return &logical_names[i];
	return NULL;
}

static int walk(const struct walk *w, const cJSON *schema, cJSON *parent,
                cJSON *v, const char *path);

/* A struct's members by the names its schema lists; members the schema
 * does not list are left as they are. */
static int walk_struct(const struct walk *w, const cJSON *schema, cJSON *v,
                       const char *path)
{
	const cJSON *f;
	char p[PATH_LEN];
	int rc = 0;

	if (!cJSON_IsObject(v))
		return 0;
	cJSON_ArrayForEach(f,
	                   cJSON_GetObjectItemCaseSensitive(schema, "fields"))
	{
		const cJSON *name =
		    cJSON_GetObjectItemCaseSensitive(f, "field");
		cJSON *child;

		if (!cJSON_IsString(name))
			continue;
		child = cJSON_GetObjectItemCaseSensitive(v, name->valuestring);
		snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "",
		         name->valuestring);
		rc = walk(w, f, v, child, p);
		if (rc)
			break;
	}
	return rc;
}

/* Every item of an array, or every value of a map, under one schema. */
static int walk_items(const struct walk *w, const cJSON *item_schema, cJSON *v,
                      const char *path, bool map)
{
	char p[PATH_LEN];
	cJSON *child = v ? v->child : NULL, *next;
	int i = 0, rc = 0;

	for (; child && !rc; child = next, i++) {
		next = child->next;
		if (map && child->string) {
			snprintf(p, sizeof(p), "%s.%s", path, child->string);
			rc = walk(w, item_schema, v, child, p);
		} else if (map) {
			/* A map with keys that are not strings: [[k, v]]. */
			snprintf(p, sizeof(p), "%s[%d]", path, i);
			if (cJSON_GetArraySize(child) == 2)
				rc = walk(w, item_schema, child,
				          child->child->next, p);
		} else {
			snprintf(p, sizeof(p), "%s[%d]", path, i);
			rc = walk(w, item_schema, v, child, p);
		}
	}
	return rc;
}

static int walk(const struct walk *w, const cJSON *schema, cJSON *parent,
                cJSON *v, const char *path)
{
	const struct logical_name *l;
	const cJSON *type;
	cJSON *text;
	char *s;
	int rc;

	if (!v || cJSON_IsNull(v) || !cJSON_IsObject(schema))
		return 0;
	l = logical_of(schema);
	if (l && parent) {
		rc = logical_text(w, l, schema, v, path, &s);
		if (rc)
			return rc;
		text = cJSON_CreateString(s);
		free(s);
		if (!text)
			return -ENOMEM;
		/* ReplaceItemViaPointer keeps the position but not the name.
		 */
		if (v->string && !(text->string = strdup(v->string))) {
			cJSON_Delete(text);
			return -ENOMEM;
		}
		if (!cJSON_ReplaceItemViaPointer(parent, v, text)) {
			cJSON_Delete(text);
			return -ENOMEM;
		}
		return 0;
	}
	type = cJSON_GetObjectItemCaseSensitive(schema, "type");
	if (!cJSON_IsString(type))
		return 0;
	if (strcmp(type->valuestring, "struct") == 0)
		return walk_struct(w, schema, v, path);
	if (strcmp(type->valuestring, "array") == 0 && cJSON_IsArray(v))
		return walk_items(
		    w, cJSON_GetObjectItemCaseSensitive(schema, "items"), v,
		    path, false);
	if (strcmp(type->valuestring, "map") == 0)
		return walk_items(
		    w, cJSON_GetObjectItemCaseSensitive(schema, "values"), v,
		    path, true);
	return 0;
}

int connect_decode(const cJSON *schema, cJSON *value, const char *path,
                   const char **code, char *err, size_t errlen)
{
	const struct walk w = {code, err, errlen};

	return walk(&w, schema, NULL, value, path ? path : "");
}
