/* Input events -> struct change (event.h): the native envelope, the
 * Debezium envelope (with or without Kafka Connect's schema wrapper) and
 * the tombstone. schemas/customer-change-event.schema.json is the
 * contract this file enforces. */
#include "core/event.h"

#include "core/connect.h"
#include "core/event_avro.h"
#include "core/fields.h"
#include "core/mapping.h"
#include "lib/num.h"
#include "lib/utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fits the deepest path we name,
 * payload.after.delivery_addresses[2147483647].country_code */
#define PATH_LEN 96

struct input {
	const void *kkey;
	size_t kkey_len;
	const char *default_id;
	const struct config_mapping *mapping; /* n_mapping == 0: canonical */
	size_t n_mapping;
	enum input_format format;
	enum key_format key_format;
};

static int fail(struct event_error *err, const char *code, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static int fail(struct event_error *err, const char *code, const char *fmt,
                ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int oom(struct event_error *err)
{
	err->code = EVENT_ERR_INTERNAL;
	snprintf(err->message, sizeof(err->message), "out of memory");
	return -ENOMEM;
}

static int dup_str(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* path.name, for messages. Paths are made of our own member names and
 * fit; were one cut short, only a message would suffer. */
static const char *join(char *buf, const char *path, const char *name)
{
	/* Without printf: a path is joined on every event, error or not. */
	size_t n = 0;

	for (const char *q = path; *q && n + 1 < PATH_LEN; q++)
		buf[n++] = *q;
	if (path[0] && n + 1 < PATH_LEN)
		buf[n++] = '.';
	for (const char *q = name; *q && n + 1 < PATH_LEN; q++)
		buf[n++] = *q;
	buf[n] = '\0';
	return buf;
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	return "null";
}

/* Only integers below 2^53 count: from there on a double no longer
 * holds every integer, and 2^53 + 1 would already read as 2^53. */
#define INTEGRAL_MAX 9007199254740991LL

static bool integral(const cJSON *v, long long *out)
{
	int64_t n;

	if (num_json_int(v, -INTEGRAL_MAX, INTEGRAL_MAX, &n))
		return false;
	*out = n;
	return true;
}

/* ---- bytes ---- */

/* A printable copy: NUL and bytes that are not UTF-8 become '?'. */
static char *sanitized(const unsigned char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i = 0, len;

	if (!out)
		return NULL;
	while (i < n) {
		len = s[i] ? utf8_char(s + i, n - i) : 0;
		if (!len) {
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, s + i, len);
		i += len;
	}
	out[n] = '\0';
	return out;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---- JSON ---- */

enum json_result { JSON_OK, JSON_BAD, JSON_TRAILING, JSON_NOMEM };

/* Parses exactly buf[0, len). cJSON reads a NUL-terminated copy so that
 * nothing it does can stray past a Kafka payload, which has no
 * terminator. Only whitespace may follow the value. *at is the offset of
 * the error. cJSON does not tell a syntax error from running out of
 * memory; both are JSON_BAD. */
static enum json_result json_parse(const void *buf, size_t len, cJSON **out,
                                   size_t *at)
{
	char *copy = malloc(len + 1);
	const char *end = NULL;
	size_t pos;
	cJSON *root;

	*out = NULL;
	if (!copy)
		return JSON_NOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len, &end, false);
	pos = end ? (size_t)(end - copy) : 0;
	free(copy);
	if (!root) {
		*at = pos;
		return JSON_BAD;
	}
	while (pos < len && is_ws(((const char *)buf)[pos]))
		pos++;
	if (pos < len) {
		cJSON_Delete(root);
		*at = pos;
		return JSON_TRAILING;
	}
	*out = root;
	return JSON_OK;
}

/* cJSON decodes \u0000 into a NUL that silently cuts the string short:
 * the key "ERP-1\u00002" would become "ERP-1", another customer. Such
 * text is refused instead. Runs on text cJSON accepted, so strings and
 * escapes are well formed. */
static bool has_nul_escape(const char *s, size_t n)
{
	bool in_string = false;

	for (size_t i = 0; i < n; i++) {
		if (!in_string) {
			in_string = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in_string = false;
		} else if (s[i] == '\\') {
			if (n - i > 5 && s[i + 1] == 'u' &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return true;
			i++; /* the escaped character */
		}
	}
	return false;
}

/* A Kafka value -> a JSON document. An empty value is not a tombstone
 * (that is a NULL value), just bad input. A JSON value that is not an
 * object is left for the caller: the JSON is fine, the event is not. */
static int parse_value(const void *value, size_t len, cJSON **out,
                       struct event_error *err)
{
	const unsigned char *v = value;
	const unsigned char *nul;
	size_t at;

	*out = NULL;
	if (len == 0)
		return fail(err, EVENT_ERR_INVALID_JSON, "value is empty");
	nul = memchr(v, 0, len);
	if (nul)
		return fail(err, EVENT_ERR_INVALID_JSON,
		            "value contains a NUL byte at offset %zu",
		            (size_t)(nul - v));
	/* cJSON copies string bytes as they come; the check is ours. */
	at = utf8_check(v, len);
	if (at < len)
		return fail(err, EVENT_ERR_INVALID_JSON,
		            "value is not valid UTF-8 (byte %zu)", at);
	switch (json_parse(v, len, out, &at)) {
	case JSON_OK:
		break;
	case JSON_NOMEM:
		return oom(err);
	case JSON_TRAILING:
		return fail(err, EVENT_ERR_INVALID_JSON,
		            "value has data after the JSON text at offset "
		            "%zu",
		            at);
	default:
		return fail(err, EVENT_ERR_INVALID_JSON,
		            "value is not valid JSON (error at offset %zu of "
		            "%zu)",
		            at, len);
	}
	if (has_nul_escape(value, len)) {
		cJSON_Delete(*out);
		*out = NULL;
		return fail(err, EVENT_ERR_INVALID_JSON,
		            "value contains \\u0000, which a string cannot "
		            "hold");
	}
	return 0;
}

/* Members are looked up by exact name. cJSON keeps duplicate names and
 * finds the first where most JSON readers keep the last, so a duplicate
 * of a member we read is refused rather than resolved silently. */
static int member(const cJSON *obj, const char *path, const char *name,
                  cJSON **out, struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *m;

	*out = NULL;
	cJSON_ArrayForEach(m, obj)
	{
		/* Every member is compared (for duplicates): the first byte
		 * settles most without a call. */
		if (!m->string || m->string[0] != name[0] ||
		    strcmp(m->string, name) != 0)
			continue;
		if (*out) {
			*out = NULL;
			return fail(err, EVENT_ERR_INVALID_EVENT,
			            "%s appears more than once",
			            join(p, path, name));
		}
		*out = m;
	}
	return 0;
}

/* ---- the canonical customer ---- */

/* Every known field may be null: in an update null clears the field,
 * elsewhere it is the same as leaving it out. */
static int check_string(const cJSON *obj, const char *path, const char *name,
                        struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(obj, path, name, &v, err);

	if (rc || !v || cJSON_IsNull(v) || cJSON_IsString(v))
		return rc;
	return fail(err, EVENT_ERR_INVALID_EVENT,
	            "%s must be a string or null, not %s", join(p, path, name),
	            type_name(v));
}

static int check_enum(const cJSON *obj, const char *path, const char *name,
                      const char *a, const char *b, struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(obj, path, name, &v, err);

	if (rc || !v || cJSON_IsNull(v))
		return rc;
	if (cJSON_IsString(v) &&
	    (strcmp(v->valuestring, a) == 0 || strcmp(v->valuestring, b) == 0))
		return 0;
	return fail(err, EVENT_ERR_INVALID_EVENT,
	            "%s must be \"%s\" or \"%s\"", join(p, path, name), a, b);
}

/* A list of strings. One string alone becomes a list of one: ERPs with a
 * single e-mail or street column send it that way, and later stages then
 * see one shape only. */
static int check_list(cJSON *obj, const char *path, const char *name,
                      struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v, *e, *list;
	int i = 0;
	int rc = member(obj, path, name, &v, err);

	if (rc || !v || cJSON_IsNull(v))
		return rc;
	join(p, path, name);
	if (cJSON_IsString(v)) {
		const char *one[1] = {v->valuestring};

		list = cJSON_CreateStringArray(one, 1);
		if (!list)
			return oom(err);
		/* v is freed here; the name is copied from the old item. */
		if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, name, list)) {
			cJSON_Delete(list);
			return oom(err);
		}
		return 0;
	}
	if (!cJSON_IsArray(v))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be an array of strings, a string or "
		            "null, not %s",
		            p, type_name(v));
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e))
			return fail(err, EVENT_ERR_INVALID_EVENT,
			            "%s[%d] must be a string, not %s", p, i,
			            type_name(e));
		i++;
	}
	return 0;
}

static int check_bool(const cJSON *obj, const char *path, const char *name,
                      struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(obj, path, name, &v, err);

	if (rc || !v || cJSON_IsNull(v) || cJSON_IsBool(v))
		return rc;
	return fail(err, EVENT_ERR_INVALID_EVENT,
	            "%s must be a boolean or null, not %s",
	            join(p, path, name), type_name(v));
}

/* The member name of obj as an object or null; *out is NULL for both
 * null and absent. */
static int sub_object(cJSON *obj, const char *path, const char *name,
                      cJSON **out, struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(obj, path, name, &v, err);

	*out = NULL;
	if (rc || !v || cJSON_IsNull(v))
		return rc;
	if (!cJSON_IsObject(v))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be an object or null, not %s",
		            join(p, path, name), type_name(v));
	*out = v;
	return 0;
}

/* The known members of group g in obj (which is at path), in the fields
 * table's order. */
static int check_group(cJSON *obj, const char *path, enum field_group g,
                       struct event_error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < field_count; i++) {
		const struct field *f = &field_table[i];
		const char *name = field_member(f);

		if (f->group != g)
			continue;
		if (f->kind == FIELD_ENUM)
			rc = check_enum(obj, path, name, f->values[0],
			                f->values[1], err);
		else if (f->kind == FIELD_LIST)
			rc = check_list(obj, path, name, err);
		else
			rc = check_string(obj, path, name, err);
	}
	return rc;
}

/* A nested group (contact, billing_address): an object or null. */
static int check_nested(cJSON *cust, const char *path, enum field_group g,
                        struct event_error *err)
{
	const char *name = field_group_member(g);
	char p[PATH_LEN];
	cJSON *o;
	int rc = sub_object(cust, path, name, &o, err);

	if (rc || !o)
		return rc;
	return check_group(o, join(p, path, name), g, err);
}

/* delivery_addresses: an array of addresses, each with its own name,
 * external_id and default flag. In an update the array is replaced
 * whole (RFC 7396 has no array patches), so each item is checked as a
 * complete address. */
static int check_deliveries(cJSON *cust, const char *path,
                            struct event_error *err)
{
	char p[PATH_LEN], ip[PATH_LEN + 16]; /* p and "[i]" */
	cJSON *v, *e;
	int i = 0;
	int rc = member(cust, path, "delivery_addresses", &v, err);

	if (rc || !v || cJSON_IsNull(v))
		return rc;
	join(p, path, "delivery_addresses");
	if (!cJSON_IsArray(v))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be an array of objects or null, not %s",
		            p, type_name(v));
	cJSON_ArrayForEach(e, v)
	{
		snprintf(ip, sizeof(ip), "%s[%d]", p, i);
		if (!cJSON_IsObject(e))
			return fail(err, EVENT_ERR_INVALID_EVENT,
			            "%s must be an object, not %s", ip,
			            type_name(e));
		rc = check_group(e, ip, FIELD_ADDRESS, err);
		if (!rc)
			rc = check_string(e, ip, "name", err);
		if (!rc)
			rc = check_string(e, ip, "external_id", err);
		if (!rc)
			rc = check_bool(e, ip, "default", err);
		if (rc)
			return rc;
		i++;
	}
	return 0;
}

/* Checks the known fields' types and normalises the single-string lists
 * in place. Unknown members are kept unchecked: fields added to the
 * contract later pass through an older parser. */
static int check_customer(cJSON *cust, const char *path,
                          struct event_error *err)
{
	int rc = check_group(cust, path, FIELD_CUSTOMER, err);

	if (!rc)
		rc = check_nested(cust, path, FIELD_CONTACT, err);
	if (!rc)
		rc = check_nested(cust, path, FIELD_ADDRESS, err);
	if (!rc)
		rc = check_deliveries(cust, path, err);
	return rc;
}

/* The canonical customer of a row through the config's mapping. The
 * row's own members are not kept: only what the mapping names is the
 * customer. */
static int map_customer(const struct input *in, const cJSON *row, cJSON **out,
                        struct event_error *err)
{
	int rc = mapping_apply(in->mapping, in->n_mapping, row, out,
	                       err->message, sizeof(err->message));

	if (rc == -ENOMEM)
		return oom(err);
	if (rc) {
		/* The message names config text, which vsnprintf may have
		 * cut inside a character; headers need whole ones. */
		err->message[utf8_check((const unsigned char *)err->message,
		                        strlen(err->message))] = '\0';
		err->code = EVENT_ERR_INVALID_EVENT;
		return -EINVAL;
	}
	return 0;
}

/* Checks the row v (at path p) as the customer and takes it out of
 * parent, or copies it when it has none; with a mapping, the customer
 * mapped from it instead, checked the same way. */
static int take_row(cJSON *parent, cJSON *v, const char *p,
                    const struct input *in, cJSON **out,
                    struct event_error *err)
{
	cJSON *mapped = NULL;
	int rc;

	if (in->n_mapping > 0) {
		rc = map_customer(in, v, &mapped, err);
		if (!rc)
			rc = check_customer(mapped, p, err);
		if (rc) {
			cJSON_Delete(mapped);
			return rc;
		}
		*out = mapped;
		return 0;
	}
	rc = check_customer(v, p, err);
	if (rc)
		return rc;
	*out = parent ? cJSON_DetachItemViaPointer(parent, v)
	              : cJSON_Duplicate(v, 1);
	return *out ? 0 : oom(err);
}

/* Checks the customer in env's member name and takes it out of env. */
static int take_customer(cJSON *env, const char *path, const char *name,
                         const char *op, const struct input *in, cJSON **out,
                         struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(env, path, name, &v, err);

	if (rc)
		return rc;
	join(p, path, name);
	if (!v)
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s is required for op '%s'", p, op);
	if (!cJSON_IsObject(v))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be an object for op '%s', not %s", p, op,
		            type_name(v));
	return take_row(env, v, p, in, out, err);
}

/* ---- keys ---- */

/* Kafka Connect's JsonConverter writes a record key {"id": "ERP-1"} as
 * that object without schemas and as {"schema": {...}, "payload":
 * {"id": "ERP-1"}} with them, and a plain string key as "ERP-1", quotes
 * included. Each is reduced to the value inside: a string as is, an
 * integer in decimal. *out stays NULL for any other shape (the caller
 * then keeps the key's bytes). */
static int key_from_json(const cJSON *v, char **out)
{
	const cJSON *schema, *payload;
	char num[24];
	long long n;

	*out = NULL;
	if (cJSON_IsString(v))
		return dup_str(v->valuestring, out);
	if (!cJSON_IsObject(v))
		return 0;
	schema = cJSON_GetObjectItemCaseSensitive(v, "schema");
	payload = cJSON_GetObjectItemCaseSensitive(v, "payload");
	if (schema && payload && cJSON_GetArraySize(v) == 2)
		v = payload;
	if (cJSON_IsObject(v)) {
		if (cJSON_GetArraySize(v) != 1)
			return 0;
		v = v->child;
	}
	if (cJSON_IsString(v))
		return dup_str(v->valuestring, out);
	if (integral(v, &n)) {
		snprintf(num, sizeof(num), "%lld", n);
		return dup_str(num, out);
	}
	return 0;
}

/* The customer key of a Kafka key (event_key_from_kafka). *bad names
 * what is wrong with a key that is not clean text; its copy then has
 * '?' for the bad bytes and no JSON reading is tried. */
static int key_reduce(const void *key, size_t len, bool raw, char **out,
                      const char **bad)
{
	const unsigned char *k = key;
	cJSON *root;
	size_t i = 0, at;
	int rc = 0;

	*out = NULL;
	*bad = NULL;
	if (!key || len == 0)
		return 0;
	if (memchr(k, 0, len))
		*bad = "contains a NUL byte";
	else if (utf8_check(k, len) < len)
		*bad = "is not valid UTF-8";
	if (*bad) {
		*out = sanitized(k, len);
		return *out ? 0 : -ENOMEM;
	}
	while (i < len && is_ws((char)k[i]))
		i++;
	/* Only an object or a string literal can reduce; a JSON number or
	 * anything else is kept as the bytes it is. */
	if (!raw && i < len && (k[i] == '{' || k[i] == '"')) {
		switch (json_parse(k, len, &root, &at)) {
		case JSON_NOMEM:
			return -ENOMEM;
		case JSON_OK:
			if (!has_nul_escape(key, len))
				rc = key_from_json(root, out);
			cJSON_Delete(root);
			if (rc || *out)
				return rc;
			break;
		default:
			break;
		}
	}
	*out = malloc(len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, k, len);
	(*out)[len] = '\0';
	return 0;
}

/* An Avro key reduced as a JSON key is (key_from_json); a key of
 * another shape is its JSON text, and a null key is none. */
static int avro_key(const struct event_options *opt, const void *key,
                    size_t len, char **out, struct event_error *err)
{
	cJSON *v;
	int rc = event_avro_decode(opt, key, len, "key", &v, err);

	*out = NULL;
	if (rc)
		return rc;
	if (!cJSON_IsNull(v)) {
		rc = key_from_json(v, out);
		if (!rc && !*out && !(*out = cJSON_PrintUnformatted(v)))
			rc = -ENOMEM;
	}
	cJSON_Delete(v);
	if (!rc && !*out)
		rc = dup_str("", out);
	return rc == -ENOMEM ? oom(err) : rc;
}

/* The Kafka key as the customer key; it must be clean text. */
static int kafka_key(const struct input *in, bool debezium, char **out,
                     struct event_error *err)
{
	const char *bad;
	char *k;

	if (key_reduce(in->kkey, in->kkey_len,
	               in->key_format == KEY_FORMAT_STRING, &k, &bad))
		return oom(err);
	if (!k || !k[0]) {
		free(k);
		return fail(err, EVENT_ERR_MISSING_KEY, "%s",
		            debezium ? "no customer key: a Debezium event is "
		                       "keyed by its Kafka key, which is "
		                       "empty"
		                     : "no customer key: the envelope has no "
		                       "key and the Kafka key is empty");
	}
	if (bad) {
		free(k);
		return fail(err, EVENT_ERR_INVALID_EVENT, "key %s", bad);
	}
	if (strlen(k) > EVENT_KEY_MAX) {
		free(k);
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "key is longer than %d bytes", EVENT_KEY_MAX);
	}
	*out = k;
	return 0;
}

/* The envelope's key wins; the Kafka key is only a default. "" and null
 * count as no key. Only the key that is used is checked: a binary Kafka
 * key does not matter when the envelope names the customer. */
static int envelope_key(const cJSON *env, const char *path,
                        const struct input *in, char **out,
                        struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(env, path, "key", &v, err);

	if (rc)
		return rc;
	join(p, path, "key");
	if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be a string or null, not %s", p,
		            type_name(v));
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return kafka_key(in, false, out, err);
	if (strlen(v->valuestring) > EVENT_KEY_MAX)
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s is longer than %d bytes", p, EVENT_KEY_MAX);
	return dup_str(v->valuestring, out) ? oom(err) : 0;
}

/* ---- envelopes ---- */

/* The envelope's event_id; *out is NULL (no error) for absent, null and
 * "", which all mean "use the default". */
static int envelope_id(const cJSON *env, const char *path, const char **out,
                       struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(env, path, "event_id", &v, err);

	*out = NULL;
	if (rc || !v || cJSON_IsNull(v))
		return rc;
	join(p, path, "event_id");
	if (!cJSON_IsString(v))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be a string or null, not %s", p,
		            type_name(v));
	if (strlen(v->valuestring) > EVENT_ID_MAX)
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s is longer than %d bytes", p, EVENT_ID_MAX);
	if (v->valuestring[0])
		*out = v->valuestring;
	return 0;
}

/* Kafka Connect's JsonConverter with schemas.enable=true sends each value
 * as {"schema": ..., "payload": ...}; the event is then the payload and
 * *schema its schema (else NULL). An envelope with its own op is never
 * unwrapped. A row (flat) has no op, and any column may be called "op"
 * or "schema": it is unwrapped only when those two are all it holds. */
static int unwrap(cJSON *root, bool flat, cJSON **env, const char **path,
                  cJSON **op, cJSON **schema, struct event_error *err)
{
	cJSON *payload;
	int rc = flat ? 0 : member(root, "", "op", op, err);

	*env = root;
	*path = "";
	*schema = NULL;
	if (flat)
		*op = NULL;
	if (rc || *op)
		return rc;
	rc = member(root, "", "schema", schema, err);
	if (!rc)
		rc = member(root, "", "payload", &payload, err);
	if (rc || !*schema || !cJSON_IsObject(payload) ||
	    (flat && cJSON_GetArraySize(root) != 2)) {
		*schema = NULL;
		return rc;
	}
	/* "schema": null carries nothing to decode by. */
	if (!cJSON_IsObject(*schema))
		*schema = NULL;
	*env = payload;
	*path = "payload";
	return flat ? 0 : member(payload, *path, "op", op, err);
}

/* Decimals and times as the schema names them, in place, before anything
 * reads the values: a row is never applied with a base64 amount. */
static int decode_logical(const cJSON *schema, cJSON *env, const char *path,
                          struct event_error *err)
{
	const char *code = EVENT_ERR_INVALID_EVENT;
	int rc = connect_decode(schema, env, path, &code, err->message,
	                        sizeof(err->message));

	if (rc == -ENOMEM)
		return oom(err);
	if (rc) {
		err->message[utf8_check((const unsigned char *)err->message,
		                        strlen(err->message))] = '\0';
		err->code = code;
		return -EINVAL;
	}
	return 0;
}

static int parse_native(cJSON *env, const char *path, const char *op,
                        const struct input *in, struct change *c,
                        struct event_error *err)
{
	static const char *const names[] = {"create", "update", "upsert",
	                                    "delete"};
	static const enum change_op ops[] = {CHANGE_CREATE, CHANGE_UPDATE,
	                                     CHANGE_UPSERT, CHANGE_DELETE};
	char p[PATH_LEN];
	const char *id;
	size_t i = 0;
	cJSON *v = NULL;
	int rc;

	while (i < 4 && strcmp(op, names[i]) != 0)
		i++;
	if (i == 4)
		return fail(err, EVENT_ERR_UNKNOWN_OP, "unknown op '%.*s'",
		            utf8_prefix(op, 64), op);
	c->op = ops[i];
	c->format = EVENT_NATIVE;
	rc = envelope_id(env, path, &id, err);
	if (!rc && dup_str(id ? id : in->default_id, &c->event_id))
		rc = oom(err);
	if (!rc)
		rc = envelope_key(env, path, in, &c->key, err);
	if (!rc)
		rc = member(env, path, "occurred_at", &v, err);
	if (!rc && v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			rc = fail(err, EVENT_ERR_INVALID_EVENT,
			          "%s must be a string or null, not %s",
			          join(p, path, "occurred_at"), type_name(v));
		else if (dup_str(v->valuestring, &c->occurred_at))
			rc = oom(err);
	}
	/* A delete names a customer by key only; a customer sent along
	 * with it is ignored, not checked. */
	if (!rc && c->op != CHANGE_DELETE)
		rc = take_customer(env, path, "customer", op, in, &c->customer,
		                   err);
	return rc;
}

/* ts (at path p; absent and null are no time) as ISO-8601 UTC. */
static int ms_text(const cJSON *ts, const char *p, char **out,
                   struct event_error *err)
{
	char text[NUM_TIME_LEN];
	int64_t ms;

	if (!ts || cJSON_IsNull(ts))
		return 0;
	if (num_json_int(ts, 0, NUM_TIME_MAX_MS, &ms) ||
	    num_time(ms, text, sizeof(text)))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be milliseconds since the epoch", p);
	return dup_str(text, out) ? oom(err) : 0;
}

/* Debezium's ts_ms (when the connector processed the change), else the
 * source's ts_ms (when the database made it), as ISO-8601 UTC. */
static int debezium_time(const cJSON *env, const char *path, char **out,
                         struct event_error *err)
{
	char src_path[PATH_LEN], p[PATH_LEN];
	cJSON *ts, *src;
	int rc = member(env, path, "ts_ms", &ts, err);

	if (!rc && (!ts || cJSON_IsNull(ts))) {
		rc = member(env, path, "source", &src, err);
		if (!rc && cJSON_IsObject(src)) {
			path = join(src_path, path, "source");
			rc = member(src, path, "ts_ms", &ts, err);
		}
	}
	if (rc)
		return rc;
	return ms_text(ts, join(p, path, "ts_ms"), out, err);
}

/* Debezium's op letter as a change. */
static int debezium_op(const char *op, struct change *c,
                       struct event_error *err)
{
	switch (op[0] && !op[1] ? op[0] : '?') {
	case 'c':
		c->op = CHANGE_CREATE;
		return 0;
	/* An update's "after" is the whole row, and a snapshot read ('r')
	 * may find the customer on the target or not: both are upserts. */
	case 'u':
	case 'r':
		c->op = CHANGE_UPSERT;
		return 0;
	case 'd':
		c->op = CHANGE_DELETE;
		return 0;
	case 't':
		return fail(err, EVENT_ERR_UNKNOWN_OP,
		            "unknown op 't': a Debezium truncate names no "
		            "customer");
	default:
		return fail(err, EVENT_ERR_UNKNOWN_OP, "unknown op '%.*s'",
		            utf8_prefix(op, 64), op);
	}
}

static int parse_debezium(cJSON *env, const char *path, const char *op,
                          const struct input *in, struct change *c,
                          struct event_error *err)
{
	int rc = debezium_op(op, c, err);

	c->format = EVENT_DEBEZIUM;
	if (!rc)
		rc = dup_str(in->default_id, &c->event_id) ? oom(err) : 0;
	if (!rc)
		rc = kafka_key(in, true, &c->key, err);
	if (!rc)
		rc = debezium_time(env, path, &c->occurred_at, err);
	/* The row before a delete is not needed: the key names it. */
	if (!rc && c->op != CHANGE_DELETE)
		rc = take_customer(env, path, "after", op, in, &c->customer,
		                   err);
	return rc;
}

/* Whether a flattened row deletes: ExtractNewRecordState with
 * delete.handling.mode=rewrite writes "__deleted": "true" | "false" (a
 * boolean is taken too). */
static int flat_deleted(const cJSON *env, const char *path, bool *out,
                        struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *v;
	int rc = member(env, path, "__deleted", &v, err);

	*out = false;
	if (rc || !v || cJSON_IsNull(v))
		return rc;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	if (cJSON_IsString(v) && (strcmp(v->valuestring, "true") == 0 ||
	                          strcmp(v->valuestring, "false") == 0)) {
		*out = v->valuestring[0] == 't';
		return 0;
	}
	return fail(err, EVENT_ERR_INVALID_EVENT,
	            "%s must be \"true\" or \"false\", not %s",
	            join(p, path, "__deleted"), type_name(v));
}

/* A row of Debezium's ExtractNewRecordState: the value is the row. Its
 * "__" members (added.fields: __op, __table, __lsn, __source_ts_ms, ...
 * and __deleted) are metadata, not columns: they are read here and taken
 * out before the row becomes the customer, so a mapping never sees them
 * and a canonical row need not list them. */
static int parse_flat(cJSON *env, const char *path, const struct input *in,
                      struct change *c, struct event_error *err)
{
	char p[PATH_LEN];
	cJSON *op, *ts, *m, *next;
	bool deleted;
	int rc = flat_deleted(env, path, &deleted, err);

	c->format = EVENT_DEBEZIUM_FLAT;
	c->op = CHANGE_UPSERT;
	if (!rc)
		rc = member(env, path, "__op", &op, err);
	if (!rc && deleted)
		c->op = CHANGE_DELETE;
	else if (!rc && op && !cJSON_IsNull(op))
		rc = cJSON_IsString(op)
		         ? debezium_op(op->valuestring, c, err)
		         : fail(err, EVENT_ERR_INVALID_EVENT,
		                "%s must be a string, not %s",
		                join(p, path, "__op"), type_name(op));
	if (!rc && dup_str(in->default_id, &c->event_id))
		rc = oom(err);
	if (!rc)
		rc = kafka_key(in, true, &c->key, err);
	/* As in the envelope: when the connector saw it, else the source. */
	if (!rc)
		rc = member(env, path, "__ts_ms", &ts, err);
	if (!rc && (!ts || cJSON_IsNull(ts))) {
		rc = member(env, path, "__source_ts_ms", &ts, err);
		join(p, path, "__source_ts_ms");
	} else {
		join(p, path, "__ts_ms");
	}
	if (!rc)
		rc = ms_text(ts, p, &c->occurred_at, err);
	if (rc || c->op == CHANGE_DELETE)
		return rc;
	for (m = env->child; m; m = next) {
		next = m->next;
		if (m->string && strncmp(m->string, "__", 2) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(env, m));
	}
	return take_row(NULL, env, path, in, &c->customer, err);
}

static int parse_event(cJSON *root, const struct input *in, struct change *c,
                       struct event_error *err)
{
	char p[PATH_LEN];
	const char *path;
	cJSON *env, *op, *schema;
	bool flat = in->format == INPUT_DEBEZIUM_FLAT, one_letter;
	int rc;

	if (!cJSON_IsObject(root))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "value must be a JSON object, not %s",
		            type_name(root));
	rc = unwrap(root, flat, &env, &path, &op, &schema, err);
	if (!rc && schema)
		rc = decode_logical(schema, env, path, err);
	if (rc)
		return rc;
	if (flat)
		return parse_flat(env, path, in, c, err);
	join(p, path, "op");
	if (!op)
		return fail(err, EVENT_ERR_INVALID_EVENT, "%s is missing", p);
	if (!cJSON_IsString(op))
		return fail(err, EVENT_ERR_INVALID_EVENT,
		            "%s must be a string, not %s", p, type_name(op));
	/* Debezium's ops are single letters (c, u, d, r, t) and ours are
	 * words, so the op alone tells the envelopes apart; no guessing
	 * from which other members happen to be there. */
	one_letter = strlen(op->valuestring) == 1;
	if (in->format == INPUT_NATIVE && one_letter)
		return fail(err, EVENT_ERR_UNKNOWN_OP,
		            "unknown op '%s': input.format is native, and a "
		            "one-letter op is Debezium's",
		            op->valuestring);
	if (in->format == INPUT_DEBEZIUM && !one_letter)
		return fail(err, EVENT_ERR_UNKNOWN_OP,
		            "unknown op '%.*s': input.format is debezium, "
		            "whose ops are c, u, d, r",
		            utf8_prefix(op->valuestring, 64), op->valuestring);
	if (one_letter)
		return parse_debezium(env, path, op->valuestring, in, c, err);
	return parse_native(env, path, op->valuestring, in, c, err);
}

/* A tombstone follows a Debezium delete so that compaction can drop the
 * key; there is nothing to apply. Its key is only for the outcome, so a
 * missing one is "" and a binary one keeps '?' for its bad bytes, rather
 * than failing an event that needs no work. */
static int parse_tombstone(const struct input *in, struct change *c,
                           struct event_error *err)
{
	const char *bad;

	/* After ExtractNewRecordState (drop.tombstones=false, or the
	 * tombstone handling modes that keep it) a tombstone may be the only
	 * sign of a delete. A second delete of the same key, after a
	 * rewritten "__deleted" row, finds nothing and is unchanged. */
	if (in->format == INPUT_DEBEZIUM_FLAT) {
		c->op = CHANGE_DELETE;
		c->format = EVENT_DEBEZIUM_FLAT;
		if (dup_str(in->default_id, &c->event_id))
			return oom(err);
		return kafka_key(in, true, &c->key, err);
	}
	c->op = CHANGE_SKIP;
	c->format = EVENT_TOMBSTONE;
	if (key_reduce(in->kkey, in->kkey_len,
	               in->key_format == KEY_FORMAT_STRING, &c->key, &bad))
		return oom(err);
	if (!c->key)
		c->key = strdup("");
	if (!c->key || dup_str(in->default_id, &c->event_id))
		return oom(err);
	return 0;
}

int event_parse(const void *value, size_t value_len, const void *kafka_key,
                size_t kafka_key_len, const char *default_event_id,
                const struct config_mapping *mapping, size_t n_mapping,
                struct change *out, struct event_error *err)
{
	const struct event_options opt = {.format = INPUT_AUTO,
	                                  .key_format = KEY_FORMAT_JSON,
	                                  .mapping = mapping,
	                                  .n_mapping = n_mapping};

	return event_parse_with(value, value_len, kafka_key, kafka_key_len,
	                        default_event_id, &opt, out, err);
}

struct event_options event_options_of(const struct config *cfg)
{
	struct event_options o = {.format = INPUT_AUTO,
	                          .key_format = KEY_FORMAT_JSON};

	if (cfg) {
		o.format = cfg->input.format;
		o.key_format = cfg->input.key_format;
		o.mapping = cfg->mapping;
		o.n_mapping = cfg->n_mapping;
		o.flat = cfg->input.flat;
	}
	return o;
}

int event_parse_with(const void *value, size_t value_len,
                     const void *kafka_key, size_t kafka_key_len,
                     const char *default_event_id,
                     const struct event_options *opt, struct change *out,
                     struct event_error *err)
{
	struct input in = {kafka_key,
	                   kafka_key_len,
	                   default_event_id,
	                   opt->mapping,
	                   opt->mapping ? opt->n_mapping : 0,
	                   opt->format,
	                   opt->key_format};
	bool avro = opt->format == INPUT_AVRO;
	struct event_error scratch;
	struct change c;
	cJSON *root = NULL;
	char *akey = NULL;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	if (!err)
		err = &scratch;
	err->code = NULL;
	err->message[0] = '\0';
	/* Decoded, an Avro key is text that needs no further reading. */
	if (event_avro_key_is_avro(opt, kafka_key, kafka_key_len)) {
		rc = avro_key(opt, kafka_key, kafka_key_len, &akey, err);
		in.kkey = akey;
		in.kkey_len = akey ? strlen(akey) : 0;
		in.key_format = KEY_FORMAT_STRING;
	}
	/* Avro rows are read like the JSON converter's: envelopes told
	 * apart by op, or flattened rows when input.flat says so. */
	if (avro)
		in.format = opt->flat ? INPUT_DEBEZIUM_FLAT : INPUT_AUTO;
	if (rc) {
		/* the key's error stands */
	} else if (!value) {
		rc = parse_tombstone(&in, &c, err);
	} else {
		if (avro)
			rc = event_avro_decode(opt, value, value_len, "value",
			                       &root, err);
		else
			rc = parse_value(value, value_len, &root, err);
		if (!rc)
			rc = parse_event(root, &in, &c, err);
		cJSON_Delete(root);
	}
	free(akey);
	if (rc)
		change_done(&c);
	*out = c;
	return rc;
}

char *event_key_with(const void *kafka_key, size_t len,
                     const struct event_options *opt)
{
	struct event_error err;
	const char *bad;
	char *k;

	if (event_avro_key_is_avro(opt, kafka_key, len) &&
	    avro_key(opt, kafka_key, len, &k, &err) == 0)
		return k;
	if (key_reduce(kafka_key, len,
	               opt && opt->key_format == KEY_FORMAT_STRING, &k, &bad))
		return NULL;
	return k;
}

char *event_key_from_kafka(const void *kafka_key, size_t len)
{
	return event_key_with(kafka_key, len, NULL);
}

char *event_peek_id(const void *value, size_t value_len)
{
	struct event_error err;
	const char *path, *id = NULL;
	cJSON *root, *env, *op, *schema;
	char *out = NULL;

	if (!value || parse_value(value, value_len, &root, &err))
		return NULL;
	if (cJSON_IsObject(root) &&
	    !unwrap(root, false, &env, &path, &op, &schema, &err) &&
	    !envelope_id(env, path, &id, &err) && id)
		out = strdup(id);
	cJSON_Delete(root);
	return out;
}

void change_done(struct change *c)
{
	if (!c)
		return;
	free(c->event_id);
	free(c->key);
	free(c->occurred_at);
	cJSON_Delete(c->customer);
	memset(c, 0, sizeof(*c));
}

const char *change_op_str(enum change_op op)
{
	static const char *const names[CHANGE_OP_MAX] = {
	    "create", "update", "upsert", "delete", "skip",
	};

	return (unsigned)op < CHANGE_OP_MAX ? names[op] : "?";
}

const char *event_format_str(enum event_format f)
{
	static const char *const names[EVENT_FORMAT_MAX] = {
	    "native",
	    "debezium",
	    "tombstone",
	    "debezium_flat",
	};

	return (unsigned)f < EVENT_FORMAT_MAX ? names[f] : "?";
}
