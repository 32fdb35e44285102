/* The decoder walks the schema's JSON rather than avro-c's value API:
 * avro-c 1.11 drops logicalType and connect.* attributes, and its reader
 * allocates whatever length a payload claims before reading it. avro-c
 * still parses every schema, so a schema it rejects is rejected here too,
 * and its avro_schema_t is kept beside the JSON for schema resolution. */
#include "core/avro.h"

#include <avro.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/convert.h"
#include "lib/utf8.h"

struct named {
	char *fullname;
	char *ns; /* namespace names inside the type resolve against */
	const cJSON *node;
};

struct avrodec_schema {
	cJSON *root;
	avro_schema_t avro;
	struct named *names;
	size_t n_names, cap_names;
};

static void fail(struct avrodec_err *err, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));

static void fail(struct avrodec_err *err, const char *code, const char *fmt,
                 ...)
{
	va_list ap;

	if (!err || err->code)
		return; /* the first error is the one that explains */
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

int avrodec_header(const uint8_t *buf, size_t len, uint32_t *id, size_t *body,
                   struct avrodec_err *err)
{
	if (len < 5) {
		fail(err, AVRODEC_INVALID,
		     "%zu bytes: shorter than the 5-byte wire-format header",
		     len);
		return -1;
	}
	if (buf[0] != 0) {
		fail(err, AVRODEC_INVALID, "magic byte is 0x%02x, not 0x00",
		     buf[0]);
		return -1;
	}
	*id = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 |
	      (uint32_t)buf[3] << 8 | buf[4];
	*body = 5;
	return 0;
}

/* ---- schema ---- */

static const char *const PRIMITIVES[] = {"null",  "boolean", "int",
                                         "long",  "float",   "double",
                                         "bytes", "string",  NULL};

static int is_primitive(const char *t)
{
	for (size_t i = 0; PRIMITIVES[i]; i++)
		if (!strcmp(t, PRIMITIVES[i]))
			return 1;
	return 0;
}

static const char *str_member(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int add_name(struct avrodec_schema *s, const cJSON *node,
                    const char *name, const char *ns)
{
	const char *dot = strrchr(name, '.');
	char *full, *own_ns;

	if (dot) {
		full = strdup(name);
		own_ns = strndup(name, (size_t)(dot - name));
	} else {
		size_t n = (ns ? strlen(ns) + 1 : 0) + strlen(name) + 1;
		full = malloc(n);
		if (full)
			snprintf(full, n, "%s%s%s", ns ? ns : "",
			         ns ? "." : "", name);
		own_ns = ns ? strdup(ns) : NULL;
	}
	if (s->n_names == s->cap_names) {
		size_t cap = s->cap_names ? s->cap_names * 2 : 8;
		struct named *nn = realloc(s->names, cap * sizeof *nn);
		if (!nn) {
			free(full);
			free(own_ns);
			return -1;
		}
		s->names = nn;
		s->cap_names = cap;
	}
	if (!full || (ns && !own_ns) || (dot && !own_ns)) {
		free(full);
		free(own_ns);
		return -1;
	}
	s->names[s->n_names++] = (struct named){full, own_ns, node};
	return 0;
}

static const struct named *by_node(const struct avrodec_schema *s,
                                   const cJSON *node)
{
	for (size_t i = 0; i < s->n_names; i++)
		if (s->names[i].node == node)
			return &s->names[i];
	return NULL;
}

static const struct named *resolve(const struct avrodec_schema *s,
                                   const char *ref, const char *ns)
{
	for (size_t i = 0; ns && !strchr(ref, '.') && i < s->n_names; i++) {
		const char *f = s->names[i].fullname;
		size_t nl = strlen(ns);
		if (!strncmp(f, ns, nl) && f[nl] == '.' &&
		    !strcmp(f + nl + 1, ref))
			return &s->names[i];
	}
	for (size_t i = 0; i < s->n_names; i++)
		if (!strcmp(s->names[i].fullname, ref))
			return &s->names[i];
	return NULL;
}

/* Records every named type with its namespace, so references to it
 * resolve while decoding. */
static int collect(struct avrodec_schema *s, const cJSON *node, const char *ns,
                   int depth)
{
	if (depth > AVRODEC_MAX_DEPTH)
		return -1;
	if (cJSON_IsArray(node)) {
		const cJSON *b;
		cJSON_ArrayForEach(
		    b, node) if (collect(s, b, ns, depth + 1)) return -1;
		return 0;
	}
	if (!cJSON_IsObject(node))
		return 0;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(node, "type");
	if (!cJSON_IsString(type))
		return collect(s, type, ns, depth + 1);
	const char *t = type->valuestring;
	if (!strcmp(t, "array"))
		return collect(s,
		               cJSON_GetObjectItemCaseSensitive(node, "items"),
		               ns, depth + 1);
	if (!strcmp(t, "map"))
		return collect(
		    s, cJSON_GetObjectItemCaseSensitive(node, "values"), ns,
		    depth + 1);
	if (strcmp(t, "record") && strcmp(t, "error") && strcmp(t, "enum") &&
	    strcmp(t, "fixed"))
		return 0;
	const char *name = str_member(node, "name");
	const char *own = str_member(node, "namespace");
	if (!name || add_name(s, node, name, own ? own : ns))
		return -1;
	const struct named *me = &s->names[s->n_names - 1];
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(node, "fields"))
	{
		if (collect(s, cJSON_GetObjectItemCaseSensitive(f, "type"),
		            me->ns, depth + 1))
			return -1;
		me = by_node(s, node); /* add_name may have moved the table */
	}
	return 0;
}

void avrodec_schema_free(struct avrodec_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_names; i++) {
		free(s->names[i].fullname);
		free(s->names[i].ns);
	}
	free(s->names);
	if (s->avro)
		avro_schema_decref(s->avro);
	cJSON_Delete(s->root);
	free(s);
}

struct avrodec_schema *avrodec_schema_parse(const char *json, size_t len,
                                            struct avrodec_err *err)
{
	struct avrodec_schema *s = calloc(1, sizeof *s);

	if (!s) {
		fail(err, AVRODEC_BAD_SCHEMA, "out of memory");
		return NULL;
	}
	s->root = cJSON_ParseWithLength(json, len);
	if (!s->root) {
		fail(err, AVRODEC_BAD_SCHEMA, "schema is not JSON");
		goto bad;
	}
	if (avro_schema_from_json_length(json, len, &s->avro)) {
		s->avro = NULL;
		fail(err, AVRODEC_BAD_SCHEMA, "schema rejected: %s",
		     avro_strerror());
		goto bad;
	}
	if (collect(s, s->root, NULL, 0)) {
		fail(err, AVRODEC_BAD_SCHEMA,
		     "schema nests deeper than %d or a named type has no name",
		     AVRODEC_MAX_DEPTH);
		goto bad;
	}
	return s;
bad:
	avrodec_schema_free(s);
	return NULL;
}

/* ---- decoding ---- */

struct rd {
	const struct avrodec_schema *s;
	const uint8_t *p;
	size_t n, off;
	/* Values still allowed: nearly every value takes a byte, so this
	 * stops zero-byte items (null, empty records) from turning a short
	 * payload into an unbounded tree. */
	size_t budget;
	struct avrodec_err *err;
};

static int bad(struct rd *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad(struct rd *r, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fail(r->err, AVRODEC_INVALID, "at byte %zu: %s", r->off, msg);
	return -1;
}

static int read_long(struct rd *r, int64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		if (r->off >= r->n)
			return bad(r, "payload ends inside a number");
		uint8_t b = r->p[r->off++];
		if (shift == 63 && (b & 0x7e))
			return bad(r, "number longer than 64 bits");
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return 0;
		}
	}
	return bad(r, "number longer than 10 bytes");
}

static int read_len(struct rd *r, int64_t *len)
{
	if (read_long(r, len))
		return -1;
	if (*len < 0 || (uint64_t)*len > r->n - r->off)
		return bad(r, "length %lld but %zu bytes left",
		           (long long)*len, r->n - r->off);
	return 0;
}

static int take(struct rd *r, size_t n, const uint8_t **out)
{
	if (n > r->n - r->off)
		return bad(r, "payload ends inside a value");
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

enum lkind { L_NONE, L_TS, L_DATE, L_TOD };

static const struct {
	const char *name;
	enum lkind kind;
	enum conv_unit unit;
} LOGICAL[] = {
    {"timestamp-millis", L_TS, CONV_MS},
    {"timestamp-micros", L_TS, CONV_US},
    {"timestamp-nanos", L_TS, CONV_NS},
    {"date", L_DATE, CONV_MS},
    {"time-millis", L_TOD, CONV_MS},
    {"time-micros", L_TOD, CONV_US},
    {"io.debezium.time.Timestamp", L_TS, CONV_MS},
    {"io.debezium.time.MicroTimestamp", L_TS, CONV_US},
    {"io.debezium.time.NanoTimestamp", L_TS, CONV_NS},
    {"io.debezium.time.Date", L_DATE, CONV_MS},
    {"io.debezium.time.Time", L_TOD, CONV_MS},
    {"io.debezium.time.MicroTime", L_TOD, CONV_US},
    {"io.debezium.time.NanoTime", L_TOD, CONV_NS},
    {"org.apache.kafka.connect.data.Timestamp", L_TS, CONV_MS},
    {"org.apache.kafka.connect.data.Date", L_DATE, CONV_MS},
    {"org.apache.kafka.connect.data.Time", L_TOD, CONV_MS},
};

/* An Avro logicalType wins over a Connect name: the AvroConverter writes
 * both, and they agree. */
static enum lkind logical(const cJSON *node, enum conv_unit *unit)
{
	const char *names[2] = {str_member(node, "logicalType"),
	                        str_member(node, "connect.name")};

	for (int k = 0; k < 2; k++)
		for (size_t i = 0;
		     names[k] && i < sizeof LOGICAL / sizeof *LOGICAL; i++)
			if (!strcmp(names[k], LOGICAL[i].name)) {
				*unit = LOGICAL[i].unit;
				return LOGICAL[i].kind;
			}
	return L_NONE;
}

static cJSON *text(struct rd *r, const char *s)
{
	cJSON *v = cJSON_CreateString(s);
	if (!v)
		bad(r, "out of memory");
	return v;
}

static cJSON *integer(struct rd *r, int64_t v, const cJSON *node)
{
	enum conv_unit unit = CONV_MS;
	char buf[CONV_TIME_LEN];
	int rc = 0;

	switch (node ? logical(node, &unit) : L_NONE) {
	case L_NONE:
		/* A double, as cJSON holds every number: exact up to 2^53,
		 * the same limit a JSON input has. */
		return cJSON_CreateNumber((double)v);
	case L_TS:
		rc = conv_timestamp(v, unit, buf, sizeof buf);
		break;
	case L_DATE:
		rc = conv_date(v, buf, sizeof buf);
		break;
	case L_TOD:
		rc = conv_time_of_day(v, unit, buf, sizeof buf);
		break;
	}
	if (rc) {
		bad(r, "%lld is out of range for its logical type",
		    (long long)v);
		return NULL;
	}
	return text(r, buf);
}

/* The scale of a decimal node, or -1 when the node is not a decimal. */
static long decimal_scale(const cJSON *node)
{
	if (!node)
		return -1;
	const char *lt = str_member(node, "logicalType");
	const char *cn = str_member(node, "connect.name");
	if (lt && !strcmp(lt, "decimal")) {
		const cJSON *sc =
		    cJSON_GetObjectItemCaseSensitive(node, "scale");
		if (!cJSON_IsNumber(sc))
			return 0;
		/* Casting a double beyond long is undefined; anything above
		 * the limit is refused by decimal() anyway. */
		if (!(sc->valuedouble >= 0))
			return LONG_MAX;
		return sc->valuedouble > CONV_DECIMAL_MAX_SCALE
		           ? LONG_MAX
		           : (long)sc->valuedouble;
	}
	if (cn && !strcmp(cn, "org.apache.kafka.connect.data.Decimal")) {
		const char *sc = str_member(cJSON_GetObjectItemCaseSensitive(
		                                node, "connect.parameters"),
		                            "scale");
		long v = sc ? strtol(sc, NULL, 10) : 0;
		return v < 0 ? LONG_MAX : v;
	}
	return -1;
}

static cJSON *decimal(struct rd *r, const uint8_t *b, size_t n, long scale)
{
	char *s;

	if (scale > CONV_DECIMAL_MAX_SCALE ||
	    conv_decimal(b, n, (int)scale, &s)) {
		bad(r, "decimal of %zu bytes, scale %ld: not convertible", n,
		    scale);
		return NULL;
	}
	cJSON *v = text(r, s);
	free(s);
	return v;
}

static cJSON *blob(struct rd *r, const uint8_t *b, size_t n, const cJSON *node)
{
	long scale = decimal_scale(node);

	if (scale >= 0 && n > 0)
		return decimal(r, b, n, scale);
	char *s = conv_base64(b, n);
	if (!s) {
		bad(r, "out of memory");
		return NULL;
	}
	cJSON *v = text(r, s);
	free(s);
	return v;
}

static cJSON *real(double d)
{
	/* JSON has no NaN or infinity; Connect's JSON converter writes them
	 * as these strings. */
	if (isnan(d))
		return cJSON_CreateString("NaN");
	if (isinf(d))
		return cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity");
	return cJSON_CreateNumber(d);
}

static cJSON *primitive(struct rd *r, const char *t, const cJSON *node)
{
	const uint8_t *b = NULL;
	int64_t v;

	if (!strcmp(t, "null"))
		return cJSON_CreateNull();
	if (!strcmp(t, "boolean")) {
		if (take(r, 1, &b))
			return NULL;
		if (*b > 1) {
			bad(r, "boolean byte 0x%02x", *b);
			return NULL;
		}
		return cJSON_CreateBool(*b);
	}
	if (!strcmp(t, "int") || !strcmp(t, "long")) {
		if (read_long(r, &v))
			return NULL;
		if (t[0] == 'i' && (v < INT32_MIN || v > INT32_MAX)) {
			bad(r, "int %lld out of range", (long long)v);
			return NULL;
		}
		return integer(r, v, node);
	}
	if (!strcmp(t, "float") || !strcmp(t, "double")) {
		size_t n = t[0] == 'f' ? 4 : 8;
		uint64_t u = 0;
		if (take(r, n, &b))
			return NULL;
		for (size_t i = n; i-- > 0;)
			u = u << 8 | b[i];
		if (n == 4) {
			uint32_t u32 = (uint32_t)u;
			float f;
			memcpy(&f, &u32, 4);
			return real(f);
		}
		double d;
		memcpy(&d, &u, 8);
		return real(d);
	}
	if (read_len(r, &v) || take(r, (size_t)v, &b))
		return NULL;
	if (!strcmp(t, "bytes"))
		return blob(r, b, (size_t)v, node);
	/* string (uuid included): JSON text must be well-formed UTF-8
	 * without NUL, which cJSON cannot hold. */
	if (utf8_check(b, (size_t)v) != (size_t)v || memchr(b, 0, (size_t)v)) {
		bad(r, "string is not valid UTF-8");
		return NULL;
	}
	char *s = strndup((const char *)b, (size_t)v);
	cJSON *out = s ? text(r, s) : NULL;
	if (!s)
		bad(r, "out of memory");
	free(s);
	return out;
}

static cJSON *value(struct rd *r, const cJSON *node, const char *ns,
                    int depth);

/* Debezium's VariableScaleDecimal: a record {scale: int, value: bytes}
 * that stands for one decimal. */
static int is_vsd(const cJSON *node)
{
	const char *cn = str_member(node, "connect.name");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(node, "fields");
	if (!cn || strcmp(cn, "io.debezium.data.VariableScaleDecimal") ||
	    cJSON_GetArraySize(f) != 2)
		return 0;
	const cJSON *f0 = cJSON_GetArrayItem(f, 0),
	            *f1 = cJSON_GetArrayItem(f, 1);
	const char *n0 = str_member(f0, "name"), *t0 = str_member(f0, "type");
	const char *n1 = str_member(f1, "name"), *t1 = str_member(f1, "type");
	return n0 && t0 && n1 && t1 && !strcmp(n0, "scale") &&
	       !strcmp(t0, "int") && !strcmp(n1, "value") &&
	       !strcmp(t1, "bytes");
}

static cJSON *vsd(struct rd *r)
{
	int64_t scale, n;
	const uint8_t *b = NULL;

	if (read_long(r, &scale) || read_len(r, &n) || take(r, (size_t)n, &b))
		return NULL;
	if (scale < 0 || n == 0) {
		bad(r, "variable-scale decimal with scale %lld, %lld bytes",
		    (long long)scale, (long long)n);
		return NULL;
	}
	return decimal(r, b, (size_t)n, (long)scale);
}

static cJSON *record(struct rd *r, const cJSON *node, int depth)
{
	const struct named *me = by_node(r->s, node);
	const char *ns = me ? me->ns : NULL;

	if (is_vsd(node))
		return vsd(r);
	cJSON *obj = cJSON_CreateObject();
	const cJSON *f;
	if (!obj) {
		bad(r, "out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(node, "fields"))
	{
		const char *name = str_member(f, "name");
		cJSON *v =
		    name
		        ? value(r, cJSON_GetObjectItemCaseSensitive(f, "type"),
		                ns, depth + 1)
		        : NULL;
		if (!name)
			bad(r, "record field without a name");
		if (!v || !cJSON_AddItemToObject(obj, name, v)) {
			cJSON_Delete(v);
			cJSON_Delete(obj);
			return NULL;
		}
	}
	return obj;
}

/* Arrays and maps: blocks of items, a negative count followed by the
 * block's byte size, a zero count at the end. */
static cJSON *blocks(struct rd *r, const cJSON *items, int is_map,
                     const char *ns, int depth)
{
	cJSON *out = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
	int64_t count, size;

	if (!out) {
		bad(r, "out of memory");
		return NULL;
	}
	for (;;) {
		if (read_long(r, &count))
			goto err;
		if (count == 0)
			return out;
		if (count < 0) {
			if (count == INT64_MIN || read_long(r, &size) ||
			    size < 0) {
				bad(r, "bad block header");
				goto err;
			}
			count = -count;
		}
		if ((uint64_t)count > r->budget) {
			bad(r, "block of %lld items in a %zu-byte payload",
			    (long long)count, r->n);
			goto err;
		}
		for (int64_t i = 0; i < count; i++) {
			char *key = NULL;
			if (is_map) {
				int64_t kl;
				const uint8_t *kb = NULL;
				if (read_len(r, &kl) ||
				    take(r, (size_t)kl, &kb))
					goto err;
				if (utf8_check(kb, (size_t)kl) != (size_t)kl ||
				    memchr(kb, 0, (size_t)kl) ||
				    !(key = strndup((const char *)kb,
				                    (size_t)kl))) {
					bad(r, "map key is not valid UTF-8");
					goto err;
				}
			}
			cJSON *v = value(r, items, ns, depth + 1);
			int ok =
			    v && (is_map ? cJSON_AddItemToObject(out, key, v)
			                 : cJSON_AddItemToArray(out, v));
			free(key);
			if (!ok) {
				cJSON_Delete(v);
				goto err;
			}
		}
	}
err:
	cJSON_Delete(out);
	return NULL;
}

static cJSON *named_value(struct rd *r, const cJSON *node, const char *t,
                          int depth)
{
	if (!strcmp(t, "record") || !strcmp(t, "error"))
		return record(r, node, depth);
	if (!strcmp(t, "enum")) {
		const cJSON *syms =
		    cJSON_GetObjectItemCaseSensitive(node, "symbols");
		int64_t i;
		if (read_long(r, &i))
			return NULL;
		const cJSON *sym = i >= 0 && i < cJSON_GetArraySize(syms)
		                       ? cJSON_GetArrayItem(syms, (int)i)
		                       : NULL;
		if (!cJSON_IsString(sym)) {
			bad(r, "enum index %lld out of range", (long long)i);
			return NULL;
		}
		return text(r, sym->valuestring);
	}
	/* fixed */
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(node, "size");
	const uint8_t *b = NULL;
	if (!cJSON_IsNumber(size) || !(size->valuedouble >= 0) ||
	    size->valuedouble > (double)(r->n - r->off) ||
	    take(r, (size_t)size->valuedouble, &b)) {
		bad(r, "fixed value does not fit");
		return NULL;
	}
	return blob(r, b, (size_t)size->valuedouble, node);
}

static cJSON *value(struct rd *r, const cJSON *node, const char *ns, int depth)
{
	if (depth > AVRODEC_MAX_DEPTH) {
		bad(r, "value nests deeper than %d", AVRODEC_MAX_DEPTH);
		return NULL;
	}
	if (r->budget == 0) {
		bad(r, "more values than the payload can hold");
		return NULL;
	}
	r->budget--;
	if (cJSON_IsArray(node)) {
		int64_t i;
		if (read_long(r, &i))
			return NULL;
		if (i < 0 || i >= cJSON_GetArraySize(node)) {
			bad(r, "union branch %lld out of range", (long long)i);
			return NULL;
		}
		return value(r, cJSON_GetArrayItem(node, (int)i), ns,
		             depth + 1);
	}
	const cJSON *type =
	    cJSON_IsObject(node)
	        ? cJSON_GetObjectItemCaseSensitive(node, "type")
	        : node;
	if (cJSON_IsObject(node) && !cJSON_IsString(type))
		return value(r, type, ns, depth + 1);
	if (!cJSON_IsString(type)) {
		bad(r, "schema node is not a type");
		return NULL;
	}
	const char *t = type->valuestring;
	const cJSON *attrs = cJSON_IsObject(node) ? node : NULL;
	if (is_primitive(t))
		return primitive(r, t, attrs);
	if (attrs && !strcmp(t, "array"))
		return blocks(r,
		              cJSON_GetObjectItemCaseSensitive(node, "items"),
		              0, ns, depth);
	if (attrs && !strcmp(t, "map"))
		return blocks(r,
		              cJSON_GetObjectItemCaseSensitive(node, "values"),
		              1, ns, depth);
	if (attrs && (!strcmp(t, "record") || !strcmp(t, "error") ||
	              !strcmp(t, "enum") || !strcmp(t, "fixed")))
		return named_value(r, node, t, depth);
	const struct named *ref = resolve(r->s, t, ns);
	if (!ref) {
		bad(r, "schema names unknown type \"%s\"", t);
		return NULL;
	}
	return value(r, ref->node, ref->ns, depth + 1);
}

cJSON *avrodec_decode(const struct avrodec_schema *s, const uint8_t *buf,
                      size_t len, struct avrodec_err *err)
{
	struct rd r = {s, buf, len, 0, len + 1024, err};
	cJSON *v = value(&r, s->root, NULL, 0);

	if (v && r.off != len) {
		bad(&r, "%zu bytes left over after the value", len - r.off);
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}
