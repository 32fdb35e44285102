/* worker/core/event.c: native envelopes (every op), Debezium envelopes (every
 * op, with and without the schema wrapper), tombstones, Kafka key
 * reduction, defaults, and every kind of malformed input with its error
 * code and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/event.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ID "erp.customers-0-7"

/* Kafka payloads and keys have no terminator: the parser gets exact-size
 * heap copies, so ASan catches any read past the end. */
static void *exact_copy(const char *s, size_t len)
{
	char *p;

	if (!s)
		return NULL;
	p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static int parse_n(const char *value, size_t len, const char *key,
                   size_t key_len, struct change *c, struct event_error *e)
{
	void *v = exact_copy(value, len);
	void *k = exact_copy(key, key_len);
	int rc = event_parse(v, len, k, key_len, DEFAULT_ID, NULL, 0, c, e);

	free(v);
	free(k);
	return rc;
}

static int parse(const char *value, const char *key, struct change *c,
                 struct event_error *e)
{
	return parse_n(value, value ? strlen(value) : 0, key,
	               key ? strlen(key) : 0, c, e);
}

static void expect_ok(const char *value, const char *key, struct change *c)
{
	struct event_error e;

	if (parse(value, key, c, &e))
		fail_msg("%s: %s: %s", value, e.code, e.message);
}

static void assert_json(const cJSON *got, const char *want_text)
{
	cJSON *want = cJSON_Parse(want_text);
	char *g;

	assert_non_null(want);
	assert_non_null(got);
	if (!cJSON_Compare(got, want, 1)) {
		g = cJSON_PrintUnformatted(got);
		fail_msg("got %s, want %s", g, want_text);
	}
	cJSON_Delete(want);
}

static void assert_zeroed(const struct change *c)
{
	assert_int_equal(c->op, 0);
	assert_int_equal(c->format, 0);
	assert_null(c->event_id);
	assert_null(c->key);
	assert_null(c->occurred_at);
	assert_null(c->customer);
}

/* One failing input: len 0 means strlen(value); key NULL is no key. */
struct err_case {
	const char *value;
	size_t len;
	const char *key;
	const char *code;
	const char *message;
};

static void check_errors(const struct err_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct err_case *t = &cases[i];
		size_t len = t->len ? t->len : strlen(t->value);
		struct change c;
		struct event_error e;
		int rc;

		/* Junk that must be gone after a failure. */
		memset(&c, 0, sizeof(c));
		c.op = CHANGE_DELETE;
		c.format = EVENT_DEBEZIUM;
		rc = parse_n(t->value, len, t->key,
		             t->key ? strlen(t->key) : 0, &c, &e);
		if (rc != -EINVAL || !e.code || strcmp(e.code, t->code) ||
		    strcmp(e.message, t->message))
			fail_msg("case %zu %.60s: got %d %s '%s', want %s "
			         "'%s'",
			         i, t->value, rc, e.code ? e.code : "(null)",
			         e.message, t->code, t->message);
		assert_zeroed(&c);
	}
}

/* ---- native envelopes ---- */

#define FULL_CUSTOMER                                                         \
	"{\"name\": \"Acme\", \"type\": \"customer\", \"number\": \"N-1\","   \
	"\"external_id\": \"X-1\", \"status\": \"active\","                   \
	"\"email\": [\"a@x.test\", \"b@x.test\"], \"phone\": [\"555\"],"      \
	"\"fax\": \"556\", \"billing_address\": {\"street\": [\"1 Main\","    \
	"\"Unit 4\"], \"city\": \"Town\", \"state\": \"New York\","           \
	"\"state_code\": \"NY\", \"postal_code\": \"10001\","                 \
	"\"country\": \"United States\", \"country_code\": \"US\"}}"

static void native_create(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"event_id\": \"e-1\", \"op\": \"create\", \"key\": "
	          "\"ERP-1\", \"occurred_at\": \"2026-11-22T10:00:00Z\", "
	          "\"customer\": " FULL_CUSTOMER "}",
	          "ERP-1", &c);
	assert_int_equal(c.op, CHANGE_CREATE);
	assert_int_equal(c.format, EVENT_NATIVE);
	assert_string_equal(c.event_id, "e-1");
	assert_string_equal(c.key, "ERP-1");
	assert_string_equal(c.occurred_at, "2026-11-22T10:00:00Z");
	assert_json(c.customer, FULL_CUSTOMER);
	change_done(&c);
	assert_zeroed(&c);
}

/* An update is a merge patch: nulls are kept (they clear fields), absent
 * members stay absent. */
static void native_update(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"event_id\": \"e-2\", \"op\": \"update\", \"key\": "
	          "\"ERP-1\", \"customer\": {\"fax\": null, \"email\": null, "
	          "\"type\": null, \"billing_address\": {\"city\": null, "
	          "\"postal_code\": \"10002\"}}}",
	          "ERP-1", &c);
	assert_int_equal(c.op, CHANGE_UPDATE);
	assert_int_equal(c.format, EVENT_NATIVE);
	assert_string_equal(c.event_id, "e-2");
	assert_null(c.occurred_at);
	assert_json(c.customer,
	            "{\"fax\": null, \"email\": null, \"type\": null, "
	            "\"billing_address\": {\"city\": null, "
	            "\"postal_code\": \"10002\"}}");
	change_done(&c);
}

static void native_upsert(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"event_id\": \"e-3\", \"op\": \"upsert\", \"key\": "
	          "\"ERP-3\", \"customer\": {\"name\": \"Gamma\", "
	          "\"type\": \"broker\", \"status\": \"inactive\"}}",
	          "ERP-3", &c);
	assert_int_equal(c.op, CHANGE_UPSERT);
	assert_string_equal(c.key, "ERP-3");
	assert_json(c.customer, "{\"name\": \"Gamma\", \"type\": \"broker\", "
	                        "\"status\": \"inactive\"}");
	change_done(&c);
}

/* A delete needs no customer; one sent along is dropped unchecked. */
static void native_delete(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"event_id\": \"e-4\", \"op\": \"delete\", \"key\": "
	          "\"ERP-1\"}",
	          "ERP-1", &c);
	assert_int_equal(c.op, CHANGE_DELETE);
	assert_int_equal(c.format, EVENT_NATIVE);
	assert_string_equal(c.event_id, "e-4");
	assert_string_equal(c.key, "ERP-1");
	assert_null(c.customer);
	change_done(&c);

	expect_ok("{\"op\": \"delete\", \"key\": \"ERP-1\", "
	          "\"customer\": {\"type\": 5}}",
	          NULL, &c);
	assert_int_equal(c.op, CHANGE_DELETE);
	assert_null(c.customer);
	change_done(&c);
}

static void native_key_defaults(void **state)
{
	struct change c;

	(void)state;
	/* no key in the envelope: the Kafka key */
	expect_ok("{\"op\": \"delete\"}", "ERP-9", &c);
	assert_string_equal(c.key, "ERP-9");
	change_done(&c);
	/* null and "" are no key either */
	expect_ok("{\"op\": \"delete\", \"key\": null}", "ERP-9", &c);
	assert_string_equal(c.key, "ERP-9");
	change_done(&c);
	expect_ok("{\"op\": \"delete\", \"key\": \"\"}", "ERP-9", &c);
	assert_string_equal(c.key, "ERP-9");
	change_done(&c);
	/* a JSON Kafka key is reduced */
	expect_ok("{\"op\": \"delete\"}", "{\"id\": \"ERP-10\"}", &c);
	assert_string_equal(c.key, "ERP-10");
	change_done(&c);
	/* the envelope's key wins */
	expect_ok("{\"op\": \"delete\", \"key\": \"ERP-1\"}", "other", &c);
	assert_string_equal(c.key, "ERP-1");
	change_done(&c);
	/* and then a binary Kafka key does not matter */
	expect_ok("{\"op\": \"delete\", \"key\": \"ERP-1\"}", "\xff\xfe", &c);
	assert_string_equal(c.key, "ERP-1");
	change_done(&c);
}

static void native_event_id_default(void **state)
{
	static const char *const values[] = {
	    "{\"op\": \"delete\", \"key\": \"K\"}",
	    "{\"op\": \"delete\", \"key\": \"K\", \"event_id\": null}",
	    "{\"op\": \"delete\", \"key\": \"K\", \"event_id\": \"\"}",
	};
	struct change c;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
		expect_ok(values[i], NULL, &c);
		assert_string_equal(c.event_id, DEFAULT_ID);
		change_done(&c);
	}
}

/* Unknown envelope members are ignored; unknown customer members are
 * kept, unchecked, for fields a later contract adds, and so are unknown
 * members of known objects. Names are case-sensitive. */
static void native_unknown_members(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"op\": \"create\", \"key\": \"K\", \"version\": 3, "
	          "\"source\": {\"system\": \"sap\"}, \"customer\": {"
	          "\"name\": \"A\", \"loyalty\": 5, \"Notes\": 5, "
	          "\"contact\": {\"title\": [1]}, \"Name\": 7, "
	          "\"delivery_addresses\": [{\"gate\": 4}]}}",
	          NULL, &c);
	assert_json(c.customer, "{\"name\": \"A\", \"loyalty\": 5, "
	                        "\"Notes\": 5, \"contact\": {\"title\": [1]}, "
	                        "\"Name\": 7, \"delivery_addresses\": "
	                        "[{\"gate\": 4}]}");
	change_done(&c);
}

/* A single string for a list becomes a list of one. */
static void native_single_strings(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"op\": \"update\", \"key\": \"K\", \"customer\": {"
	          "\"email\": \"a@x.test\", \"phone\": \"555\", "
	          "\"billing_address\": {\"street\": \"1 Main\"}}}",
	          NULL, &c);
	assert_json(c.customer, "{\"email\": [\"a@x.test\"], "
	                        "\"phone\": [\"555\"], \"billing_address\": "
	                        "{\"street\": [\"1 Main\"]}}");
	change_done(&c);
}

static void native_all_null_and_empty(void **state)
{
	static const char *const cust =
	    "{\"name\": null, \"type\": null, \"number\": null, "
	    "\"external_id\": null, \"status\": null, \"email\": [], "
	    "\"phone\": null, \"fax\": null, \"billing_address\": null}";
	char value[512];
	struct change c;

	(void)state;
	snprintf(value, sizeof(value),
	         "{\"op\": \"upsert\", \"key\": \"K\", \"customer\": %s}",
	         cust);
	expect_ok(value, NULL, &c);
	assert_json(c.customer, cust);
	change_done(&c);
	expect_ok("{\"op\": \"create\", \"key\": \"K\", \"customer\": {}}",
	          NULL, &c);
	assert_json(c.customer, "{}");
	change_done(&c);
	/* text beyond ASCII, escapes and trailing whitespace are fine */
	expect_ok("{\"op\": \"create\", \"key\": \"K\", \"customer\": {"
	          "\"name\": \"M\xc3\xbcller \xf0\x9f\x98\x80 caf\\u00e9 "
	          "a\\\\u0000b\"}} \r\n\t",
	          NULL, &c);
	assert_string_equal(
	    cJSON_GetObjectItem(c.customer, "name")->valuestring,
	    "M\xc3\xbcller \xf0\x9f\x98\x80 caf\xc3\xa9 a\\u0000b");
	change_done(&c);
}

static void native_limits(void **state)
{
	char value[2048], key[EVENT_KEY_MAX + 2], id[258];
	struct change c;

	(void)state;
	memset(key, 'k', EVENT_KEY_MAX);
	key[EVENT_KEY_MAX] = '\0';
	memset(id, 'i', 256);
	id[256] = '\0';
	snprintf(value, sizeof(value),
	         "{\"op\": \"delete\", \"key\": \"%s\", \"event_id\": \"%s\"}",
	         key, id);
	expect_ok(value, NULL, &c);
	assert_int_equal(strlen(c.key), EVENT_KEY_MAX);
	assert_int_equal(strlen(c.event_id), 256);
	change_done(&c);
	expect_ok("{\"op\": \"delete\"}", key, &c);
	assert_int_equal(strlen(c.key), EVENT_KEY_MAX);
	change_done(&c);
}

#define EURO4  "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
#define EURO16 EURO4 EURO4 EURO4 EURO4

static void native_errors(void **state)
{
	static const struct err_case cases[] = {
	    {"{\"event_id\": \"op-1\", \"op\": \"merge\", \"key\": \"KU\", "
	     "\"customer\": {\"name\": \"x\"}}",
	     0, "KU", EVENT_ERR_UNKNOWN_OP, "unknown op 'merge'"},
	    {"{\"op\": \"\", \"key\": \"K\"}", 0, NULL, EVENT_ERR_UNKNOWN_OP,
	     "unknown op ''"},
	    {"{\"op\": \"CREATE\", \"key\": \"K\"}", 0, NULL,
	     EVENT_ERR_UNKNOWN_OP, "unknown op 'CREATE'"},
	    /* a long op is cut at 64 bytes, not inside a character */
	    {"{\"op\": \"xy" EURO16 EURO16 "\", \"key\": \"K\"}", 0, NULL,
	     EVENT_ERR_UNKNOWN_OP, "unknown op 'xy" EURO16 EURO4 "'"},
	    {"{\"key\": \"K\", \"customer\": {}}", 0, NULL,
	     EVENT_ERR_INVALID_EVENT, "op is missing"},
	    {"{\"op\": 5, \"key\": \"K\"}", 0, NULL, EVENT_ERR_INVALID_EVENT,
	     "op must be a string, not a number"},
	    {"{\"op\": null, \"key\": \"K\"}", 0, NULL,
	     EVENT_ERR_INVALID_EVENT, "op must be a string, not null"},
	    {"{\"op\": \"create\", \"op\": \"delete\", \"key\": \"K\"}", 0,
	     NULL, EVENT_ERR_INVALID_EVENT, "op appears more than once"},
	    {"{\"op\": \"create\", \"key\": \"K\"}", 0, NULL,
	     EVENT_ERR_INVALID_EVENT, "customer is required for op 'create'"},
	    {"{\"op\": \"update\", \"key\": \"K\"}", 0, NULL,
	     EVENT_ERR_INVALID_EVENT, "customer is required for op 'update'"},
	    {"{\"op\": \"upsert\", \"key\": \"K\", \"customer\": [{}]}", 0,
	     NULL, EVENT_ERR_INVALID_EVENT,
	     "customer must be an object for op 'upsert', not an array"},
	    {"{\"op\": \"update\", \"key\": \"K\", \"customer\": null}", 0,
	     NULL, EVENT_ERR_INVALID_EVENT,
	     "customer must be an object for op 'update', not null"},
	    {"{\"op\": \"delete\", \"key\": \"K\", \"event_id\": 7}", 0, NULL,
	     EVENT_ERR_INVALID_EVENT,
	     "event_id must be a string or null, not a number"},
	    {"{\"op\": \"delete\", \"key\": 12}", 0, "K",
	     EVENT_ERR_INVALID_EVENT,
	     "key must be a string or null, not a number"},
	    {"{\"op\": \"delete\", \"key\": \"K\", \"occurred_at\": 5}", 0,
	     NULL, EVENT_ERR_INVALID_EVENT,
	     "occurred_at must be a string or null, not a number"},
	    {"{\"op\": \"delete\", \"key\": \"K\", \"key\": \"L\"}", 0, NULL,
	     EVENT_ERR_INVALID_EVENT, "key appears more than once"},
	    {"{\"op\": \"delete\"}", 0, NULL, EVENT_ERR_MISSING_KEY,
	     "no customer key: the envelope has no key and the Kafka key "
	     "is empty"},
	    {"{\"op\": \"delete\", \"key\": \"\"}", 0, "",
	     EVENT_ERR_MISSING_KEY,
	     "no customer key: the envelope has no key and the Kafka key "
	     "is empty"},
	    {"{\"op\": \"delete\"}", 0, "{\"id\": \"\"}",
	     EVENT_ERR_MISSING_KEY,
	     "no customer key: the envelope has no key and the Kafka key "
	     "is empty"},
	    {"{\"op\": \"delete\"}", 0, "K\xff", EVENT_ERR_INVALID_EVENT,
	     "key is not valid UTF-8"},
	    {"{\"op\": \"delete\"}", 0, "K\xc0\xaf", EVENT_ERR_INVALID_EVENT,
	     "key is not valid UTF-8"},
	};

	(void)state;
	check_errors(cases, sizeof(cases) / sizeof(*cases));
}

/* A NUL inside a Kafka key and keys past the limit. */
static void native_key_errors(void **state)
{
	char value[1200], key[EVENT_KEY_MAX + 2], id[258];
	struct change c;
	struct event_error e;

	(void)state;
	assert_int_equal(
	    parse_n("{\"op\": \"delete\"}", 16, "A\0B", 3, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_EVENT);
	assert_string_equal(e.message, "key contains a NUL byte");
	assert_zeroed(&c);

	memset(key, 'k', EVENT_KEY_MAX + 1);
	key[EVENT_KEY_MAX + 1] = '\0';
	assert_int_equal(parse("{\"op\": \"delete\"}", key, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_EVENT);
	assert_string_equal(e.message, "key is longer than 1024 bytes");

	snprintf(value, sizeof(value), "{\"op\": \"delete\", \"key\": \"%s\"}",
	         key);
	assert_int_equal(parse(value, NULL, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_EVENT);
	assert_string_equal(e.message, "key is longer than 1024 bytes");

	memset(id, 'i', 257);
	id[257] = '\0';
	snprintf(value, sizeof(value),
	         "{\"op\": \"delete\", \"key\": \"K\", \"event_id\": \"%s\"}",
	         id);
	assert_int_equal(parse(value, NULL, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_EVENT);
	assert_string_equal(e.message, "event_id is longer than 256 bytes");
	assert_zeroed(&c);
}

/* Each customer type violation, named by its JSON path. */
static void customer_errors(void **state)
{
	static const struct {
		const char *customer, *message;
	} cases[] = {
	    {"{\"name\": 1}",
	     "customer.name must be a string or null, not a number"},
	    {"{\"number\": 42}",
	     "customer.number must be a string or null, not a number"},
	    {"{\"external_id\": true}", "customer.external_id must be a "
	                                "string or null, not a boolean"},
	    {"{\"fax\": []}",
	     "customer.fax must be a string or null, not an array"},
	    {"{\"type\": \"vip\"}",
	     "customer.type must be \"customer\" or \"broker\""},
	    {"{\"type\": \"Customer\"}",
	     "customer.type must be \"customer\" or \"broker\""},
	    {"{\"type\": 1}",
	     "customer.type must be \"customer\" or \"broker\""},
	    {"{\"status\": \"closed\"}",
	     "customer.status must be \"active\" or \"inactive\""},
	    {"{\"email\": [\"a@x.test\", 2]}",
	     "customer.email[1] must be a string, not a number"},
	    {"{\"email\": {\"a\": 1}}",
	     "customer.email must be an array of strings, a string or "
	     "null, not an object"},
	    {"{\"phone\": 5551234}",
	     "customer.phone must be an array of strings, a string or "
	     "null, not a number"},
	    {"{\"phone\": [null]}",
	     "customer.phone[0] must be a string, not null"},
	    {"{\"billing_address\": \"1 Main\"}",
	     "customer.billing_address must be an object or null, not a "
	     "string"},
	    {"{\"billing_address\": {\"street\": [\"1 Main\", 2]}}",
	     "customer.billing_address.street[1] must be a string, not a "
	     "number"},
	    {"{\"billing_address\": {\"street\": 7}}",
	     "customer.billing_address.street must be an array of "
	     "strings, a string or null, not a number"},
	    {"{\"billing_address\": {\"city\": 1}}",
	     "customer.billing_address.city must be a string or null, not "
	     "a number"},
	    {"{\"billing_address\": {\"state\": {}}}",
	     "customer.billing_address.state must be a string or null, "
	     "not an object"},
	    {"{\"billing_address\": {\"state_code\": false}}",
	     "customer.billing_address.state_code must be a string or "
	     "null, not a boolean"},
	    {"{\"billing_address\": {\"postal_code\": 10001}}",
	     "customer.billing_address.postal_code must be a string or "
	     "null, not a number"},
	    {"{\"billing_address\": {\"country\": [\"US\"]}}",
	     "customer.billing_address.country must be a string or null, "
	     "not an array"},
	    {"{\"billing_address\": {\"country_code\": 1}}",
	     "customer.billing_address.country_code must be a string or "
	     "null, not a number"},
	    {"{\"name\": \"a\", \"name\": \"b\"}",
	     "customer.name appears more than once"},
	};
	static const char *const ops[] = {"create", "update", "upsert"};
	char value[512];

	(void)state;
	for (size_t o = 0; o < 3; o++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
			struct err_case ec = {value, 0, "K",
			                      EVENT_ERR_INVALID_EVENT,
			                      cases[i].message};

			snprintf(value, sizeof(value),
			         "{\"op\": \"%s\", \"customer\": %s}", ops[o],
			         cases[i].customer);
			check_errors(&ec, 1);
		}
	}
}

/* The fields the contract grew: contact, mobile, company, language,
 * time_zone, notes, delivery_addresses. */
#define GROWN_CUSTOMER                                                        \
	"{\"name\": \"Acme\", \"contact\": {\"first_name\": \"Ada\", "        \
	"\"last_name\": \"Lovelace\", \"name\": \"Ada Lovelace\"}, "          \
	"\"mobile\": [\"+45 1\", \"+45 2\"], \"company\": \"Acme A/S\", "     \
	"\"language\": \"da\", \"time_zone\": \"Europe/Copenhagen\", "        \
	"\"notes\": \"gate 4\", \"delivery_addresses\": [{\"name\": "         \
	"\"Dock\", \"external_id\": \"D-1\", \"default\": true, "             \
	"\"street\": [\"1 Pier\"], \"city\": \"Aarhus\", \"state\": null, "   \
	"\"state_code\": null, \"postal_code\": \"8000\", \"country\": "      \
	"\"Denmark\", \"country_code\": \"DK\"}, {\"name\": \"Shop\", "       \
	"\"default\": false, \"city\": \"Odense\"}]}"

static void native_grown_customer(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"op\": \"upsert\", \"key\": \"K\", "
	          "\"customer\": " GROWN_CUSTOMER "}",
	          NULL, &c);
	assert_json(c.customer, GROWN_CUSTOMER);
	change_done(&c);

	/* Single strings become lists of one, inside delivery addresses
	 * too; every new member may be null, and so may default. */
	expect_ok("{\"op\": \"update\", \"key\": \"K\", \"customer\": {"
	          "\"mobile\": \"+45 1\", \"delivery_addresses\": [{"
	          "\"street\": \"1 Pier\", \"default\": null}, {}]}}",
	          NULL, &c);
	assert_json(c.customer, "{\"mobile\": [\"+45 1\"], "
	                        "\"delivery_addresses\": [{\"street\": "
	                        "[\"1 Pier\"], \"default\": null}, {}]}");
	change_done(&c);
	expect_ok("{\"op\": \"update\", \"key\": \"K\", \"customer\": {"
	          "\"contact\": null, \"mobile\": null, \"company\": null, "
	          "\"language\": null, \"time_zone\": null, \"notes\": null, "
	          "\"delivery_addresses\": null}}",
	          NULL, &c);
	assert_json(
	    c.customer,
	    "{\"contact\": null, \"mobile\": null, \"company\": null, "
	    "\"language\": null, \"time_zone\": null, \"notes\": null, "
	    "\"delivery_addresses\": null}");
	change_done(&c);
	/* Any language at this level: profiles check their own lists. */
	expect_ok("{\"op\": \"update\", \"key\": \"K\", \"customer\": {"
	          "\"language\": \"tlh\", \"contact\": {\"name\": null}, "
	          "\"delivery_addresses\": []}}",
	          NULL, &c);
	assert_json(c.customer,
	            "{\"language\": \"tlh\", \"contact\": "
	            "{\"name\": null}, \"delivery_addresses\": []}");
	change_done(&c);
}

static void grown_customer_errors(void **state)
{
	static const struct {
		const char *customer, *message;
	} cases[] = {
	    {"{\"contact\": \"Ada\"}",
	     "customer.contact must be an object or null, not a string"},
	    {"{\"contact\": [{}]}",
	     "customer.contact must be an object or null, not an array"},
	    {"{\"contact\": {\"first_name\": 1}}",
	     "customer.contact.first_name must be a string or null, not a "
	     "number"},
	    {"{\"contact\": {\"last_name\": {}}}",
	     "customer.contact.last_name must be a string or null, not an "
	     "object"},
	    {"{\"contact\": {\"name\": [\"A\"]}}",
	     "customer.contact.name must be a string or null, not an "
	     "array"},
	    {"{\"contact\": {\"name\": \"a\", \"name\": \"b\"}}",
	     "customer.contact.name appears more than once"},
	    {"{\"mobile\": 5551234}",
	     "customer.mobile must be an array of strings, a string or "
	     "null, not a number"},
	    {"{\"mobile\": [\"1\", false]}",
	     "customer.mobile[1] must be a string, not a boolean"},
	    {"{\"company\": 7}",
	     "customer.company must be a string or null, not a number"},
	    {"{\"language\": true}",
	     "customer.language must be a string or null, not a boolean"},
	    {"{\"time_zone\": 1}",
	     "customer.time_zone must be a string or null, not a number"},
	    {"{\"notes\": [\"a\"]}",
	     "customer.notes must be a string or null, not an array"},
	    {"{\"delivery_addresses\": {\"city\": \"x\"}}",
	     "customer.delivery_addresses must be an array of objects or "
	     "null, not an object"},
	    {"{\"delivery_addresses\": \"1 Pier\"}",
	     "customer.delivery_addresses must be an array of objects or "
	     "null, not a string"},
	    {"{\"delivery_addresses\": [{}, null]}",
	     "customer.delivery_addresses[1] must be an object, not null"},
	    {"{\"delivery_addresses\": [\"1 Pier\"]}",
	     "customer.delivery_addresses[0] must be an object, not a "
	     "string"},
	    {"{\"delivery_addresses\": [{}, {\"default\": \"yes\"}]}",
	     "customer.delivery_addresses[1].default must be a boolean or "
	     "null, not a string"},
	    {"{\"delivery_addresses\": [{\"default\": 1}]}",
	     "customer.delivery_addresses[0].default must be a boolean or "
	     "null, not a number"},
	    {"{\"delivery_addresses\": [{\"name\": 1}]}",
	     "customer.delivery_addresses[0].name must be a string or "
	     "null, not a number"},
	    {"{\"delivery_addresses\": [{\"external_id\": 1}]}",
	     "customer.delivery_addresses[0].external_id must be a string "
	     "or null, not a number"},
	    {"{\"delivery_addresses\": [{\"street\": [\"a\", 1]}]}",
	     "customer.delivery_addresses[0].street[1] must be a string, "
	     "not a number"},
	    {"{\"delivery_addresses\": [{\"street\": {}}]}",
	     "customer.delivery_addresses[0].street must be an array of "
	     "strings, a string or null, not an object"},
	    {"{\"delivery_addresses\": [{}, {}, {\"city\": 1}]}",
	     "customer.delivery_addresses[2].city must be a string or null, "
	     "not a number"},
	    {"{\"delivery_addresses\": [{\"state\": 1}]}",
	     "customer.delivery_addresses[0].state must be a string or "
	     "null, not a number"},
	    {"{\"delivery_addresses\": [{\"state_code\": 1}]}",
	     "customer.delivery_addresses[0].state_code must be a string "
	     "or null, not a number"},
	    {"{\"delivery_addresses\": [{\"postal_code\": 8000}]}",
	     "customer.delivery_addresses[0].postal_code must be a string "
	     "or null, not a number"},
	    {"{\"delivery_addresses\": [{\"country\": []}]}",
	     "customer.delivery_addresses[0].country must be a string or "
	     "null, not an array"},
	    {"{\"delivery_addresses\": [{\"country_code\": false}]}",
	     "customer.delivery_addresses[0].country_code must be a string "
	     "or null, not a boolean"},
	    {"{\"delivery_addresses\": [{\"default\": true, "
	     "\"default\": false}]}",
	     "customer.delivery_addresses[0].default appears more than "
	     "once"},
	};
	char value[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct err_case ec = {value, 0, "K", EVENT_ERR_INVALID_EVENT,
		                      cases[i].message};

		snprintf(value, sizeof(value),
		         "{\"op\": \"upsert\", \"customer\": %s}",
		         cases[i].customer);
		check_errors(&ec, 1);
	}
	/* The same checks on a Debezium row, named from the top. */
	{
		static const struct err_case dbz[] = {
		    {"{\"schema\": {}, \"payload\": {\"op\": \"c\", "
		     "\"after\": {\"delivery_addresses\": [{}, "
		     "{\"default\": \"y\"}]}}}",
		     0, "K", EVENT_ERR_INVALID_EVENT,
		     "payload.after.delivery_addresses[1].default must be a "
		     "boolean or null, not a string"},
		    {"{\"op\": \"u\", \"after\": {\"contact\": 1}}", 0, "K",
		     EVENT_ERR_INVALID_EVENT,
		     "after.contact must be an object or null, not a number"},
		};

		check_errors(dbz, sizeof(dbz) / sizeof(*dbz));
	}
}

/* ---- mapping ---- */

/* The README's example, plus a list field fed by a single pointer. */
static char *m_custno[] = {"/CUSTNO"};
static char *m_custname[] = {"/CUSTNAME"};
static char *m_emails[] = {"/EMAIL1", "/EMAIL2"};
static char *m_zip[] = {"/ZIPCODE"};
static char *m_status[] = {"/STATE"};
static char *m_phone[] = {"/TEL"};
static const struct config_mapping erp_mapping[] = {
    {"external_id", m_custno, 1, 0},
    {"name", m_custname, 1, 0},
    {"email", m_emails, 2, 1},
    {"billing_address.postal_code", m_zip, 1, 0},
    {"status", m_status, 1, 0},
    {"phone", m_phone, 1, 1},
};
#define N_ERP (sizeof(erp_mapping) / sizeof(*erp_mapping))

static int parse_mapped(const char *value, const char *key, struct change *c,
                        struct event_error *e)
{
	size_t len = strlen(value), klen = strlen(key);
	void *v = exact_copy(value, len);
	void *k = exact_copy(key, klen);
	int rc =
	    event_parse(v, len, k, klen, DEFAULT_ID, erp_mapping, N_ERP, c, e);

	free(v);
	free(k);
	return rc;
}

static void mapped_rows(void **state)
{
	struct change c;
	struct event_error e;

	(void)state;
	/* Native: only mapped fields are kept; numbers become text; a
	 * single list pointer gives a list of one. */
	assert_int_equal(
	    parse_mapped("{\"op\": \"upsert\", \"key\": \"K1\", \"customer\": "
	                 "{\"CUSTNO\": 1042, \"CUSTNAME\": \"Acme\", "
	                 "\"EMAIL1\": \"a@x.test\", \"EMAIL2\": \"\", "
	                 "\"ZIPCODE\": \"8000\", \"STATE\": \"active\", "
	                 "\"TEL\": 4512345678, \"BALANCE\": 12.5}}",
	                 "K1", &c, &e),
	    0);
	assert_int_equal(c.op, CHANGE_UPSERT);
	assert_json(c.customer,
	            "{\"external_id\": \"1042\", \"name\": \"Acme\", "
	            "\"email\": [\"a@x.test\"], \"billing_address\": "
	            "{\"postal_code\": \"8000\"}, \"status\": \"active\", "
	            "\"phone\": [\"4512345678\"]}");
	change_done(&c);

	/* An update: absent columns stay absent, nulls clear. */
	assert_int_equal(
	    parse_mapped("{\"op\": \"update\", \"key\": \"K1\", \"customer\": "
	                 "{\"CUSTNAME\": null, \"EMAIL1\": null}}",
	                 "K1", &c, &e),
	    0);
	assert_json(c.customer, "{\"name\": null, \"email\": null}");
	change_done(&c);

	/* Debezium, wrapped: after is the row. */
	assert_int_equal(
	    parse_mapped("{\"schema\": {}, \"payload\": {\"op\": \"c\", "
	                 "\"before\": null, \"after\": {\"CUSTNO\": \"C-7\", "
	                 "\"EMAIL2\": \"b@x.test\"}}}",
	                 "{\"CUSTNO\": \"C-7\"}", &c, &e),
	    0);
	assert_int_equal(c.format, EVENT_DEBEZIUM);
	assert_string_equal(c.key, "C-7");
	assert_json(c.customer,
	            "{\"external_id\": \"C-7\", \"email\": [\"b@x.test\"]}");
	change_done(&c);

	/* A delete needs no row, mapped or not. */
	assert_int_equal(parse_mapped("{\"op\": \"d\", \"before\": {\"X\": "
	                              "[1]}, \"after\": null}",
	                              "K2", &c, &e),
	                 0);
	assert_int_equal(c.op, CHANGE_DELETE);
	assert_null(c.customer);
	change_done(&c);
}

static void mapped_row_errors(void **state)
{
	static const struct err_case cases[] = {
	    /* A mapping failure is invalid_event with mapping's message. */
	    {"{\"op\": \"upsert\", \"customer\": {\"CUSTNAME\": {\"a\": 1}}}",
	     0, "K", EVENT_ERR_INVALID_EVENT,
	     "mapping name: /CUSTNAME is an object, not a string, number, "
	     "boolean or null"},
	    {"{\"op\": \"c\", \"after\": {\"EMAIL1\": [[\"a\"]]}}", 0, "K",
	     EVENT_ERR_INVALID_EVENT,
	     "mapping email: /EMAIL1 holds an array, not a string, number, "
	     "boolean or null"},
	    /* The mapped customer is checked like a canonical one. */
	    {"{\"op\": \"upsert\", \"customer\": {\"STATE\": \"closed\"}}", 0,
	     "K", EVENT_ERR_INVALID_EVENT,
	     "customer.status must be \"active\" or \"inactive\""},
	    {"{\"schema\": {}, \"payload\": {\"op\": \"r\", \"after\": "
	     "{\"STATE\": true}}}",
	     0, "K", EVENT_ERR_INVALID_EVENT,
	     "payload.after.status must be \"active\" or \"inactive\""},
	    /* The row must still be an object. */
	    {"{\"op\": \"upsert\", \"customer\": [1]}", 0, "K",
	     EVENT_ERR_INVALID_EVENT,
	     "customer must be an object for op 'upsert', not an array"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct change c;
		struct event_error e;
		int rc;

		memset(&c, 0, sizeof(c));
		rc = parse_mapped(cases[i].value, cases[i].key, &c, &e);
		if (rc != -EINVAL || strcmp(e.code, cases[i].code) ||
		    strcmp(e.message, cases[i].message))
			fail_msg("case %zu: got %d %s '%s', want '%s'", i, rc,
			         e.code ? e.code : "(null)", e.message,
			         cases[i].message);
		assert_zeroed(&c);
	}
}

/* A long pointer in a mapping message is cut between characters. */
static void mapped_error_utf8(void **state)
{
	char ptr[2 + 3 * 120 + 1], *ptrs[1] = {ptr};
	const struct config_mapping m[] = {{"name", ptrs, 1, 0}};
	char value[1024];
	struct change c;
	struct event_error e;
	size_t n;

	(void)state;
	/* "/a" puts the 255-byte cut inside a euro sign. */
	ptr[0] = '/';
	ptr[1] = 'a';
	for (int i = 0; i < 120; i++)
		memcpy(ptr + 2 + 3 * i, "\xe2\x82\xac", 3);
	ptr[sizeof(ptr) - 1] = '\0';
	snprintf(value, sizeof(value),
	         "{\"op\": \"upsert\", \"key\": \"K\", \"customer\": "
	         "{\"%s\": []}}",
	         ptr + 1);
	assert_int_equal(
	    event_parse(value, strlen(value), NULL, 0, "id", m, 1, &c, &e),
	    -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_EVENT);
	n = strlen(e.message);
	/* "mapping name: /a" is 16 bytes; then whole euro signs only. */
	assert_int_equal(n, 16 + 3 * 79);
	assert_memory_equal(e.message, "mapping name: /a\xe2\x82\xac", 19);
	assert_zeroed(&c);
}

/* n_mapping 0 (or a NULL mapping) reads rows as canonical. */
static void mapping_off(void **state)
{
	static const char value[] = "{\"op\": \"upsert\", \"key\": \"K\", "
	                            "\"customer\": {\"CUSTNAME\": \"x\"}}";
	struct change c;
	struct event_error e;

	(void)state;
	assert_int_equal(event_parse(value, strlen(value), NULL, 0, "id",
	                             erp_mapping, 0, &c, &e),
	                 0);
	assert_json(c.customer, "{\"CUSTNAME\": \"x\"}");
	change_done(&c);
	assert_int_equal(
	    event_parse(value, strlen(value), NULL, 0, "id", NULL, 3, &c, &e),
	    0);
	assert_json(c.customer, "{\"CUSTNAME\": \"x\"}");
	change_done(&c);
}

/* ---- Debezium ---- */

#define ROW_D1                                                                \
	"{\"name\": \"d1\", \"type\": \"customer\", \"number\": \"D-1\", "    \
	"\"email\": \"d1@x.test\"}"
#define ROW_D1_NORMALISED                                                     \
	"{\"name\": \"d1\", \"type\": \"customer\", \"number\": \"D-1\", "    \
	"\"email\": [\"d1@x.test\"]}"
#define SOURCE                                                                \
	"\"source\": {\"connector\": \"postgresql\", \"table\": "             \
	"\"customers\", \"ts_ms\": 1795341599000}"
#define WRAPPED_KEY(k)                                                        \
	"{\"schema\": {\"type\": \"struct\", \"fields\": [{\"field\": "       \
	"\"id\", \"type\": \"string\"}]}, \"payload\": {\"id\": \"" k "\"}}"

/* 2026-11-22T10:00:00.123Z */
#define TS "1795341600123"

static void debezium_create_wrapped(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"schema\": {\"type\": \"struct\"}, \"payload\": {"
	          "\"before\": null, \"after\": " ROW_D1 ", \"op\": \"c\", "
	          "\"ts_ms\": " TS ", " SOURCE "}}",
	          WRAPPED_KEY("D1"), &c);
	assert_int_equal(c.op, CHANGE_CREATE);
	assert_int_equal(c.format, EVENT_DEBEZIUM);
	assert_string_equal(c.event_id, DEFAULT_ID);
	assert_string_equal(c.key, "D1");
	assert_string_equal(c.occurred_at, "2026-11-22T10:00:00.123Z");
	assert_json(c.customer, ROW_D1_NORMALISED);
	change_done(&c);
}

static void debezium_create_plain(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"before\": null, \"after\": " ROW_D1 ", \"op\": \"c\", "
	          "\"ts_ms\": " TS "}",
	          "D3", &c);
	assert_int_equal(c.op, CHANGE_CREATE);
	assert_int_equal(c.format, EVENT_DEBEZIUM);
	assert_string_equal(c.key, "D3");
	assert_string_equal(c.occurred_at, "2026-11-22T10:00:00.123Z");
	assert_json(c.customer, ROW_D1_NORMALISED);
	change_done(&c);
}

/* An update's "after" is the whole row: an upsert. */
static void debezium_update(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"before\": {\"name\": \"old\", \"type\": 7}, \"after\": "
	          "{\"name\": \"d1 v2\", \"number\": \"D-1\"}, \"op\": \"u\", "
	          "\"ts_ms\": " TS "}",
	          "{\"id\": \"D1\"}", &c);
	assert_int_equal(c.op, CHANGE_UPSERT);
	assert_int_equal(c.format, EVENT_DEBEZIUM);
	assert_string_equal(c.key, "D1");
	assert_json(c.customer, "{\"name\": \"d1 v2\", \"number\": \"D-1\"}");
	change_done(&c);

	expect_ok("{\"schema\": null, \"payload\": {\"after\": {\"name\": "
	          "\"x\"}, \"op\": \"u\"}}",
	          WRAPPED_KEY("D1"), &c);
	assert_int_equal(c.op, CHANGE_UPSERT);
	assert_null(c.occurred_at);
	assert_json(c.customer, "{\"name\": \"x\"}");
	change_done(&c);
}

/* A snapshot read may or may not exist on the target: an upsert. */
static void debezium_read(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"before\": null, \"after\": {\"name\": \"d2\", "
	          "\"status\": \"active\"}, \"op\": \"r\", " SOURCE "}",
	          "{\"id\": \"D2\"}", &c);
	assert_int_equal(c.op, CHANGE_UPSERT);
	assert_int_equal(c.format, EVENT_DEBEZIUM);
	assert_string_equal(c.key, "D2");
	/* no ts_ms of its own: the source's */
	assert_string_equal(c.occurred_at, "2026-11-22T09:59:59.000Z");
	assert_json(c.customer, "{\"name\": \"d2\", \"status\": \"active\"}");
	change_done(&c);
}

static void debezium_delete(void **state)
{
	struct change c;

	(void)state;
	expect_ok("{\"before\": " ROW_D1 ", \"after\": null, \"op\": \"d\", "
	          "\"ts_ms\": " TS "}",
	          "{\"id\": \"D2\"}", &c);
	assert_int_equal(c.op, CHANGE_DELETE);
	assert_int_equal(c.format, EVENT_DEBEZIUM);
	assert_string_equal(c.event_id, DEFAULT_ID);
	assert_string_equal(c.key, "D2");
	assert_string_equal(c.occurred_at, "2026-11-22T10:00:00.123Z");
	assert_null(c.customer);
	change_done(&c);

	expect_ok("{\"schema\": {}, \"payload\": {\"before\": null, "
	          "\"after\": null, \"op\": \"d\", \"ts_ms\": null}}",
	          WRAPPED_KEY("D2"), &c);
	assert_int_equal(c.op, CHANGE_DELETE);
	assert_string_equal(c.key, "D2");
	assert_null(c.occurred_at);
	assert_null(c.customer);
	change_done(&c);
}

static void debezium_time(void **state)
{
	static const struct {
		const char *ts, *want;
	} cases[] = {
	    {"0", "1970-01-01T00:00:00.000Z"},
	    {"1795341600005", "2026-11-22T10:00:00.005Z"},
	    {"1.7953416e12", "2026-11-22T10:00:00.000Z"},
	    {"253402300799999", "9999-12-31T23:59:59.999Z"},
	};
	char value[256];
	struct change c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(value, sizeof(value),
		         "{\"op\": \"d\", \"before\": null, \"ts_ms\": %s}",
		         cases[i].ts);
		expect_ok(value, "K", &c);
		assert_string_equal(c.occurred_at, cases[i].want);
		change_done(&c);
	}
}

static void debezium_errors(void **state)
{
	static const struct err_case cases[] = {
	    {"{\"before\": null, \"after\": null, \"op\": \"t\"}", 0, "K",
	     EVENT_ERR_UNKNOWN_OP,
	     "unknown op 't': a Debezium truncate names no customer"},
	    {"{\"schema\": {}, \"payload\": {\"op\": \"t\"}}", 0, "K",
	     EVENT_ERR_UNKNOWN_OP,
	     "unknown op 't': a Debezium truncate names no customer"},
	    {"{\"before\": null, \"after\": {}, \"op\": \"x\"}", 0, "K",
	     EVENT_ERR_UNKNOWN_OP, "unknown op 'x'"},
	    {"{\"before\": null, \"after\": null, \"op\": \"c\"}", 0, "K",
	     EVENT_ERR_INVALID_EVENT,
	     "after must be an object for op 'c', not null"},
	    {"{\"before\": null, \"op\": \"u\"}", 0, "K",
	     EVENT_ERR_INVALID_EVENT, "after is required for op 'u'"},
	    {"{\"after\": \"row\", \"op\": \"r\"}", 0, "K",
	     EVENT_ERR_INVALID_EVENT,
	     "after must be an object for op 'r', not a string"},
	    {"{\"schema\": {}, \"payload\": {\"after\": null, \"op\": "
	     "\"c\"}}",
	     0, "K", EVENT_ERR_INVALID_EVENT,
	     "payload.after must be an object for op 'c', not null"},
	    {"{\"schema\": {}, \"payload\": {\"after\": {\"type\": "
	     "\"x\"}, \"op\": \"c\"}}",
	     0, "K", EVENT_ERR_INVALID_EVENT,
	     "payload.after.type must be \"customer\" or \"broker\""},
	    {"{\"after\": {\"billing_address\": {\"street\": [1]}}, "
	     "\"op\": \"u\"}",
	     0, "K", EVENT_ERR_INVALID_EVENT,
	     "after.billing_address.street[0] must be a string, not a "
	     "number"},
	    {"{\"after\": {}, \"op\": \"c\", \"ts_ms\": -1}", 0, "K",
	     EVENT_ERR_INVALID_EVENT,
	     "ts_ms must be milliseconds since the epoch"},
	    {"{\"after\": {}, \"op\": \"c\", \"ts_ms\": 1.5}", 0, "K",
	     EVENT_ERR_INVALID_EVENT,
	     "ts_ms must be milliseconds since the epoch"},
	    {"{\"after\": {}, \"op\": \"c\", \"ts_ms\": \"1795341600123\"}", 0,
	     "K", EVENT_ERR_INVALID_EVENT,
	     "ts_ms must be milliseconds since the epoch"},
	    {"{\"after\": {}, \"op\": \"c\", \"ts_ms\": 253402300800000}", 0,
	     "K", EVENT_ERR_INVALID_EVENT,
	     "ts_ms must be milliseconds since the epoch"},
	    {"{\"schema\": {}, \"payload\": {\"after\": {}, \"op\": \"c\", "
	     "\"source\": {\"ts_ms\": true}}}",
	     0, "K", EVENT_ERR_INVALID_EVENT,
	     "payload.source.ts_ms must be milliseconds since the epoch"},
	    {"{\"after\": {}, \"op\": \"c\"}", 0, NULL, EVENT_ERR_MISSING_KEY,
	     "no customer key: a Debezium event is keyed by its Kafka "
	     "key, which is empty"},
	    {"{\"after\": {}, \"op\": \"c\"}", 0, "\xff",
	     EVENT_ERR_INVALID_EVENT, "key is not valid UTF-8"},
	    {"{\"schema\": {}, \"payload\": {\"after\": {}}}", 0, "K",
	     EVENT_ERR_INVALID_EVENT, "payload.op is missing"},
	    {"{\"schema\": {}, \"payload\": {\"op\": \"c\", \"op\": \"d\"}}",
	     0, "K", EVENT_ERR_INVALID_EVENT,
	     "payload.op appears more than once"},
	    /* no "schema": not the wrapper, so no op at all */
	    {"{\"payload\": {\"after\": {}, \"op\": \"c\"}}", 0, "K",
	     EVENT_ERR_INVALID_EVENT, "op is missing"},
	};

	(void)state;
	check_errors(cases, sizeof(cases) / sizeof(*cases));
}

/* ---- Kafka keys ---- */

static void check_key(const char *key, size_t len, const char *want)
{
	void *k = exact_copy(key, len);
	char *got = event_key_from_kafka(k, len);

	free(k);
	if (!want) {
		assert_null(got);
		return;
	}
	if (!got || strcmp(got, want))
		fail_msg("key %.40s: got %s, want %s", key, got ? got : "NULL",
		         want);
	free(got);
}

static void keys(void **state)
{
	static const struct {
		const char *key, *want;
	} cases[] = {
	    {"ERP-1", "ERP-1"},
	    {" ERP 1 ", " ERP 1 "},
	    {"{\"id\": \"D1\"}", "D1"},
	    {" \n{\"id\":\"D1\"}\t", "D1"},
	    {WRAPPED_KEY("D1"), "D1"},
	    {"{\"id\": 42}", "42"},
	    {"{\"id\": -7}", "-7"},
	    {"{\"id\": 4.2e1}", "42"},
	    {"{\"schema\": {\"type\": \"struct\"}, \"payload\": "
	     "{\"id\": 42}}",
	     "42"},
	    {"{\"schema\": {\"type\": \"int64\"}, \"payload\": 42}", "42"},
	    /* a JSON string literal loses its quotes */
	    {"\"ERP-1\"", "ERP-1"},
	    {"\"caf\\u00e9\"", "caf\xc3\xa9"},
	    {"{\"schema\": {\"type\": \"string\"}, \"payload\": "
	     "\"ERP-1\"}",
	     "ERP-1"},
	    /* anything else is kept as it is */
	    {"{\"tenant\": \"t1\", \"id\": \"D1\"}",
	     "{\"tenant\": \"t1\", \"id\": \"D1\"}"},
	    {"{\"schema\": {}, \"payload\": {\"a\": 1, \"b\": 2}}",
	     "{\"schema\": {}, \"payload\": {\"a\": 1, \"b\": 2}}"},
	    {"{\"id\": 1.5}", "{\"id\": 1.5}"},
	    {"{\"id\": 9007199254740991}", "9007199254740991"},
	    {"{\"id\": 9007199254740992}", "{\"id\": 9007199254740992}"},
	    {"{\"id\": 9007199254740993}", "{\"id\": 9007199254740993}"},
	    {"{\"id\": 1e300}", "{\"id\": 1e300}"},
	    {"{\"id\": null}", "{\"id\": null}"},
	    {"{\"id\": true}", "{\"id\": true}"},
	    {"{\"id\": {\"x\": \"y\"}}", "{\"id\": {\"x\": \"y\"}}"},
	    {"{}", "{}"},
	    {"[\"D1\"]", "[\"D1\"]"},
	    {"42", "42"},
	    {"{\"id\": ", "{\"id\": "},
	    {"{\"id\": \"D1\"} x", "{\"id\": \"D1\"} x"},
	    {"\"", "\""},
	    {"{\"id\": \"A\\u0000B\"}", "{\"id\": \"A\\u0000B\"}"},
	    {"M\xc3\xbcller", "M\xc3\xbcller"},
	    /* bytes that are not UTF-8 become '?' */
	    {"AB\xff\xfe"
	     "C",
	     "AB??C"},
	    {"M\xc3", "M?"},
	    {"\xed\xa0\x80", "???"},
	    {"\xf4\x90\x80\x80", "????"},
	    {"{\"id\": \"\xff\"}", "{\"id\": \"?\"}"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		check_key(cases[i].key, strlen(cases[i].key), cases[i].want);
	check_key(NULL, 0, NULL);
	check_key("", 0, NULL);
	check_key("A\0B", 3, "A?B");
	check_key("{\"id\": \"\"}", 10, "");
}

/* ---- tombstones ---- */

static void tombstone(void **state)
{
	struct change c;
	struct event_error e;

	(void)state;
	assert_int_equal(parse(NULL, "{\"id\": \"D2\"}", &c, &e), 0);
	assert_int_equal(c.op, CHANGE_SKIP);
	assert_int_equal(c.format, EVENT_TOMBSTONE);
	assert_string_equal(c.key, "D2");
	assert_string_equal(c.event_id, DEFAULT_ID);
	assert_null(c.occurred_at);
	assert_null(c.customer);
	change_done(&c);

	assert_int_equal(parse(NULL, WRAPPED_KEY("D2"), &c, &e), 0);
	assert_string_equal(c.key, "D2");
	change_done(&c);

	/* keyless: "" rather than a failure, there is nothing to do */
	assert_int_equal(parse(NULL, NULL, &c, &e), 0);
	assert_int_equal(c.op, CHANGE_SKIP);
	assert_int_equal(c.format, EVENT_TOMBSTONE);
	assert_string_equal(c.key, "");
	change_done(&c);

	/* a binary key is kept readable, not refused */
	assert_int_equal(parse(NULL, "K\xff", &c, &e), 0);
	assert_int_equal(c.op, CHANGE_SKIP);
	assert_string_equal(c.key, "K?");
	change_done(&c);

	/* NULL is what makes a tombstone, whatever the length says */
	assert_int_equal(event_parse(NULL, 5, "K", 1, "id", NULL, 0, &c, &e),
	                 0);
	assert_int_equal(c.format, EVENT_TOMBSTONE);
	assert_string_equal(c.event_id, "id");
	change_done(&c);
}

/* ---- malformed values ---- */

static char *nested(int depth)
{
	static const char head[] = "{\"op\": \"create\", \"key\": \"K\", "
	                           "\"customer\": {\"x_deep\": ";
	size_t hl = strlen(head);
	char *s = malloc(hl + 2 * (size_t)depth + 3);

	assert_non_null(s);
	memcpy(s, head, hl);
	memset(s + hl, '[', (size_t)depth);
	memset(s + hl + depth, ']', (size_t)depth);
	strcpy(s + hl + 2 * (size_t)depth, "}}");
	return s;
}

static void malformed(void **state)
{
	static const char trunc[] =
	    "{\"event_id\": \"bad-1\", \"op\": \"create\", \"key\": \"KB\"";
	static const char nul_after[] =
	    "{\"op\":\"delete\",\"key\":\"A\"}\0{}";
	static const char nul_inside[] =
	    "{\"op\":\"delete\",\"key\":\"A\0B\"}";
	static const struct err_case cases[] = {
	    {"", 0, "K", EVENT_ERR_INVALID_JSON, "value is empty"},
	    {"not json", 0, "K", EVENT_ERR_INVALID_JSON,
	     "value is not valid JSON (error at offset 0 of 8)"},
	    {trunc, 0, "KB", EVENT_ERR_INVALID_JSON,
	     "value is not valid JSON (error at offset 48 of 49)"},
	    {"{\"op\": \"delete\", \"key\": \"K\",}", 0, "K",
	     EVENT_ERR_INVALID_JSON,
	     "value is not valid JSON (error at offset 28 of 29)"},
	    {"   ", 0, "K", EVENT_ERR_INVALID_JSON,
	     "value is not valid JSON (error at offset 2 of 3)"},
	    {"[{\"op\": \"delete\"}]", 0, "K", EVENT_ERR_INVALID_EVENT,
	     "value must be a JSON object, not an array"},
	    {"\"ERP-1\"", 0, "K", EVENT_ERR_INVALID_EVENT,
	     "value must be a JSON object, not a string"},
	    {"42", 0, "K", EVENT_ERR_INVALID_EVENT,
	     "value must be a JSON object, not a number"},
	    {"null", 0, "K", EVENT_ERR_INVALID_EVENT,
	     "value must be a JSON object, not null"},
	    {"true", 0, "K", EVENT_ERR_INVALID_EVENT,
	     "value must be a JSON object, not a boolean"},
	    {"{\"op\": \"delete\", \"key\": \"K\xff\"}", 0, "K",
	     EVENT_ERR_INVALID_JSON, "value is not valid UTF-8 (byte 26)"},
	    /* overlong '/', a surrogate, past U+10FFFF, cut short */
	    {"{\"op\": \"delete\", \"key\": \"\xc0\xaf\"}", 0, "K",
	     EVENT_ERR_INVALID_JSON, "value is not valid UTF-8 (byte 25)"},
	    {"{\"op\": \"delete\", \"key\": \"\xed\xa0\x80\"}", 0, "K",
	     EVENT_ERR_INVALID_JSON, "value is not valid UTF-8 (byte 25)"},
	    {"{\"op\": \"delete\", \"key\": \"\xf4\x90\x80\x80\"}", 0, "K",
	     EVENT_ERR_INVALID_JSON, "value is not valid UTF-8 (byte 25)"},
	    {"{\"op\": \"delete\", \"key\": \"K\"} \xe2\x82", 0, "K",
	     EVENT_ERR_INVALID_JSON, "value is not valid UTF-8 (byte 29)"},
	    {nul_after, sizeof(nul_after) - 1, "K", EVENT_ERR_INVALID_JSON,
	     "value contains a NUL byte at offset 25"},
	    {nul_inside, sizeof(nul_inside) - 1, "K", EVENT_ERR_INVALID_JSON,
	     "value contains a NUL byte at offset 23"},
	    {"{\"op\": \"delete\", \"key\": \"K\"} x", 0, "K",
	     EVENT_ERR_INVALID_JSON,
	     "value has data after the JSON text at offset 29"},
	    {"{\"op\": \"delete\", \"key\": \"K\"}{}", 0, "K",
	     EVENT_ERR_INVALID_JSON,
	     "value has data after the JSON text at offset 28"},
	    {"{\"op\": \"delete\", \"key\": \"A\\u0000B\"}", 0, "K",
	     EVENT_ERR_INVALID_JSON,
	     "value contains \\u0000, which a string cannot hold"},
	    {"{\"op\": \"create\", \"key\": \"K\", \"customer\": "
	     "{\"notes\": \"\\u0000\"}}",
	     0, "K", EVENT_ERR_INVALID_JSON,
	     "value contains \\u0000, which a string cannot hold"},
	};
	char *deep;
	struct change c;
	struct event_error e;

	(void)state;
	check_errors(cases, sizeof(cases) / sizeof(*cases));

	/* cJSON stops at 1000 levels; below that unknown members nest. */
	deep = nested(5000);
	assert_int_equal(parse(deep, "K", &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_JSON);
	assert_non_null(strstr(e.message, "value is not valid JSON"));
	assert_zeroed(&c);
	free(deep);
	deep = nested(500);
	expect_ok(deep, "K", &c);
	assert_non_null(cJSON_GetObjectItem(c.customer, "x_deep"));
	change_done(&c);
	free(deep);

	/* err may be NULL */
	assert_int_equal(parse("[]", "K", &c, NULL), -EINVAL);
	assert_zeroed(&c);
}

/* ---- the rest of the API ---- */

static void peek_id(void **state)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
	    {"{\"event_id\": \"op-1\", \"op\": \"merge\"}", "op-1"},
	    {"{\"schema\": {}, \"payload\": {\"event_id\": \"w-1\"}}", "w-1"},
	    {"{\"event_id\": \"bad-1\", \"op\": \"create\"", NULL},
	    {"{\"op\": \"c\", \"after\": {}}", NULL},
	    {"{\"event_id\": 7}", NULL},
	    {"{\"event_id\": \"\"}", NULL},
	    {"{\"event_id\": \"a\", \"event_id\": \"b\"}", NULL},
	    {"[{\"event_id\": \"e\"}]", NULL},
	    {"", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t len = strlen(cases[i].value);
		void *v = exact_copy(cases[i].value, len);
		char *got = event_peek_id(v, len);

		free(v);
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
		free(got);
	}
	assert_null(event_peek_id(NULL, 0));
}

static void done_and_names(void **state)
{
	struct change c;

	(void)state;
	change_done(NULL);
	expect_ok("{\"op\": \"create\", \"key\": \"K\", \"customer\": {}}",
	          NULL, &c);
	change_done(&c);
	assert_zeroed(&c);
	change_done(&c);

	assert_string_equal(change_op_str(CHANGE_CREATE), "create");
	assert_string_equal(change_op_str(CHANGE_UPDATE), "update");
	assert_string_equal(change_op_str(CHANGE_UPSERT), "upsert");
	assert_string_equal(change_op_str(CHANGE_DELETE), "delete");
	assert_string_equal(change_op_str(CHANGE_SKIP), "skip");
	assert_string_equal(change_op_str(CHANGE_OP_MAX), "?");
	assert_string_equal(event_format_str(EVENT_NATIVE), "native");
	assert_string_equal(event_format_str(EVENT_DEBEZIUM), "debezium");
	assert_string_equal(event_format_str(EVENT_TOMBSTONE), "tombstone");
	assert_string_equal(event_format_str(EVENT_DEBEZIUM_FLAT),
	                    "debezium_flat");
	assert_string_equal(event_format_str(EVENT_FORMAT_MAX), "?");
}

static int parse_as(enum input_format f, enum key_format kf, const char *value,
                    const char *key, struct change *c, struct event_error *e)
{
	const struct event_options opt = {.format = f, .key_format = kf};
	size_t len = value ? strlen(value) : 0, klen = key ? strlen(key) : 0;
	void *v = exact_copy(value, len);
	void *k = exact_copy(key, klen);
	int rc = event_parse_with(v, len, k, klen, DEFAULT_ID, &opt, c, e);

	free(v);
	free(k);
	return rc;
}

static void expect_flat(const char *value, enum change_op op,
                        const char *customer, struct change *c)
{
	struct event_error e;

	if (parse_as(INPUT_DEBEZIUM_FLAT, KEY_FORMAT_JSON, value,
	             "{\"id\":\"C-1\"}", c, &e))
		fail_msg("%s: %s: %s", value, e.code, e.message);
	assert_int_equal(c->op, op);
	assert_int_equal(c->format, EVENT_DEBEZIUM_FLAT);
	assert_string_equal(c->key, "C-1");
	assert_string_equal(c->event_id, DEFAULT_ID);
	if (customer)
		assert_json(c->customer, customer);
	else
		assert_null(c->customer);
	change_done(c);
}

static void flat_rows(void **state)
{
	struct change c;
	struct event_error e;

	(void)state;
	/* No __op: an upsert of the whole row. */
	expect_flat("{\"name\":\"Acme\"}", CHANGE_UPSERT,
	            "{\"name\":\"Acme\"}", &c);
	expect_flat("{\"name\":\"Acme\",\"__op\":\"c\",\"__table\":\"cust\","
	            "\"__lsn\":42,\"__source_ts_ms\":1700000000000}",
	            CHANGE_CREATE, "{\"name\":\"Acme\"}", &c);
	expect_flat("{\"name\":\"Acme\",\"__op\":\"u\"}", CHANGE_UPSERT,
	            "{\"name\":\"Acme\"}", &c);
	expect_flat(
	    "{\"name\":\"Acme\",\"__op\":\"r\",\"__deleted\":\"false\"}",
	    CHANGE_UPSERT, "{\"name\":\"Acme\"}", &c);
	expect_flat("{\"name\":\"Acme\",\"__op\":\"d\"}", CHANGE_DELETE, NULL,
	            &c);
	/* delete.handling.mode=rewrite: the last row with __deleted. */
	expect_flat("{\"name\":\"Acme\",\"__deleted\":\"true\"}",
	            CHANGE_DELETE, NULL, &c);
	expect_flat("{\"name\":\"Acme\",\"__op\":\"u\",\"__deleted\":true}",
	            CHANGE_DELETE, NULL, &c);
	/* A column called op is data, not an envelope's op. */
	expect_flat("{\"name\":\"Acme\",\"op\":\"x\"}", CHANGE_UPSERT,
	            "{\"name\":\"Acme\",\"op\":\"x\"}", &c);
	/* The schema wrapper. */
	expect_flat("{\"schema\":{\"type\":\"struct\",\"fields\":[]},"
	            "\"payload\":{\"name\":\"Acme\",\"__op\":\"c\"}}",
	            CHANGE_CREATE, "{\"name\":\"Acme\"}", &c);
	/* Times: __ts_ms, else __source_ts_ms. */
	assert_int_equal(parse_as(INPUT_DEBEZIUM_FLAT, KEY_FORMAT_JSON,
	                          "{\"name\":\"A\",\"__source_ts_ms\":0}", "K",
	                          &c, &e),
	                 0);
	assert_string_equal(c.occurred_at, "1970-01-01T00:00:00.000Z");
	change_done(&c);
	/* A tombstone after the SMT is a delete. */
	expect_flat(NULL, CHANGE_DELETE, NULL, &c);
	assert_int_equal(
	    parse_as(INPUT_DEBEZIUM_FLAT, KEY_FORMAT_JSON, NULL, NULL, &c, &e),
	    -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_MISSING_KEY);
}

/* value (Kafka key "K") read as f is refused with code; e keeps why. */
static void expect_refused(enum input_format f, const char *value,
                           const char *code, struct event_error *e)
{
	struct change c;

	assert_int_equal(parse_as(f, KEY_FORMAT_JSON, value, "K", &c, e),
	                 -EINVAL);
	assert_string_equal(e->code, code);
	assert_null(c.customer);
}

static void flat_row_errors(void **state)
{
	struct change c;
	struct event_error e;

	(void)state;
	expect_refused(INPUT_DEBEZIUM_FLAT,
	               "{\"name\":\"A\",\"__deleted\":\"yes\"}",
	               EVENT_ERR_INVALID_EVENT, &e);
	assert_string_equal(e.message,
	                    "__deleted must be \"true\" or \"false\", not a "
	                    "string");
	expect_refused(INPUT_DEBEZIUM_FLAT, "{\"name\":\"A\",\"__op\":\"t\"}",
	               EVENT_ERR_UNKNOWN_OP, &e);
	expect_refused(INPUT_DEBEZIUM_FLAT, "{\"name\":\"A\",\"__op\":1}",
	               EVENT_ERR_INVALID_EVENT, &e);
	assert_int_equal(parse_as(INPUT_DEBEZIUM_FLAT, KEY_FORMAT_JSON,
	                          "{\"name\":\"A\"}", NULL, &c, &e),
	                 -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_MISSING_KEY);
	expect_refused(INPUT_DEBEZIUM_FLAT, "{\"name\":7}",
	               EVENT_ERR_INVALID_EVENT, &e);
}

/* The key of a record that does not parse is read as key_format says,
 * so its outcome names the key a parsed record would have. */
static void key_with_format(void **state)
{
	static const char key[] = "{\"id\":\"C-1\"}";
	struct event_options str = {.key_format = KEY_FORMAT_STRING};
	struct event_options json = {.key_format = KEY_FORMAT_JSON};
	char *k;

	(void)state;
	k = event_key_with(key, strlen(key), &str);
	assert_string_equal(k, key);
	free(k);
	k = event_key_with(key, strlen(key), &json);
	assert_string_equal(k, "C-1");
	free(k);
	k = event_key_with(key, strlen(key), NULL);
	assert_string_equal(k, "C-1");
	free(k);
}

static void format_selection(void **state)
{
	struct change c;
	struct event_error e;

	(void)state;
	/* auto never reads a row as one: a row has no op. */
	expect_refused(INPUT_AUTO, "{\"name\":\"A\",\"__op\":\"c\"}",
	               EVENT_ERR_INVALID_EVENT, &e);
	expect_refused(INPUT_NATIVE,
	               "{\"op\":\"c\",\"after\":{\"name\":\"A\"}}",
	               EVENT_ERR_UNKNOWN_OP, &e);
	expect_refused(INPUT_DEBEZIUM,
	               "{\"op\":\"create\",\"customer\":{\"name\":\"A\"}}",
	               EVENT_ERR_UNKNOWN_OP, &e);
	assert_int_equal(parse_as(INPUT_DEBEZIUM, KEY_FORMAT_JSON,
	                          "{\"op\":\"c\",\"after\":{\"name\":\"A\"}}",
	                          "K", &c, &e),
	                 0);
	assert_int_equal(c.format, EVENT_DEBEZIUM);
	change_done(&c);
	assert_int_equal(
	    parse_as(INPUT_NATIVE, KEY_FORMAT_JSON,
	             "{\"op\":\"create\",\"customer\":{\"name\":\"A\"}}", "K",
	             &c, &e),
	    0);
	assert_int_equal(c.format, EVENT_NATIVE);
	change_done(&c);
	/* key_format string keeps a JSON key's bytes. */
	assert_int_equal(parse_as(INPUT_DEBEZIUM_FLAT, KEY_FORMAT_STRING,
	                          "{\"name\":\"A\"}", "{\"id\":\"C-1\"}", &c,
	                          &e),
	                 0);
	assert_string_equal(c.key, "{\"id\":\"C-1\"}");
	change_done(&c);
	assert_int_equal(
	    parse_as(INPUT_AUTO, KEY_FORMAT_STRING, NULL, "\"K\"", &c, &e), 0);
	assert_string_equal(c.key, "\"K\"");
	change_done(&c);
}

#define DECIMAL_SCHEMA                                                        \
	"{\"type\":\"struct\",\"fields\":[{\"field\":\"name\",\"type\":"      \
	"\"string\"},{\"field\":\"credit\",\"type\":\"bytes\",\"name\":"      \
	"\"org.apache.kafka.connect.data.Decimal\",\"parameters\":"           \
	"{\"scale\":\"2\"}},{\"field\":\"since\",\"type\":\"int64\","         \
	"\"name\":\"io.debezium.time.Timestamp\"}]}"

static void logical_values(void **state)
{
	struct change c;
	struct event_error e;

	(void)state;
	expect_flat("{\"schema\":" DECIMAL_SCHEMA
	            ",\"payload\":{\"name\":\"A\","
	            "\"credit\":\"C+o=\",\"since\":-1}}",
	            CHANGE_UPSERT,
	            "{\"name\":\"A\",\"credit\":\"30.50\",\"since\":"
	            "\"1969-12-31T23:59:59.999Z\"}",
	            &c);
	/* The Debezium envelope: after is walked by its schema. */
	assert_int_equal(
	    parse_as(INPUT_AUTO, KEY_FORMAT_JSON,
	             "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"field\":"
	             "\"after\",\"optional\":true,\"type\":\"struct\","
	             "\"fields\":[{\"field\":\"credit\",\"type\":\"bytes\","
	             "\"name\":\"org.apache.kafka.connect.data.Decimal\","
	             "\"parameters\":{\"scale\":\"2\"}}]}]},\"payload\":"
	             "{\"op\":\"c\",\"after\":{\"name\":\"A\",\"credit\":"
	             "\"+w==\"}}}",
	             "K", &c, &e),
	    0);
	assert_json(c.customer, "{\"name\":\"A\",\"credit\":\"-0.05\"}");
	change_done(&c);
	/* Without the schema nothing can be known: values stay as sent. */
	expect_flat("{\"name\":\"A\",\"credit\":\"C+o=\",\"since\":-1}",
	            CHANGE_UPSERT,
	            "{\"name\":\"A\",\"credit\":\"C+o=\",\"since\":-1}", &c);
	expect_refused(INPUT_DEBEZIUM_FLAT,
	               "{\"schema\":" DECIMAL_SCHEMA
	               ",\"payload\":{\"name\":\"A\",\"credit\":\"C+o\"}}",
	               EVENT_ERR_INVALID_DECIMAL, &e);
	assert_string_equal(e.message,
	                    "payload.credit is not a base64 decimal value");
	expect_refused(INPUT_DEBEZIUM_FLAT,
	               "{\"schema\":" DECIMAL_SCHEMA
	               ",\"payload\":{\"name\":\"A\",\"since\":"
	               "\"x\"}}",
	               EVENT_ERR_INVALID_TIME, &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(native_create),
	    cmocka_unit_test(native_update),
	    cmocka_unit_test(native_upsert),
	    cmocka_unit_test(native_delete),
	    cmocka_unit_test(native_key_defaults),
	    cmocka_unit_test(native_event_id_default),
	    cmocka_unit_test(native_unknown_members),
	    cmocka_unit_test(native_single_strings),
	    cmocka_unit_test(native_all_null_and_empty),
	    cmocka_unit_test(native_limits),
	    cmocka_unit_test(native_errors),
	    cmocka_unit_test(native_key_errors),
	    cmocka_unit_test(customer_errors),
	    cmocka_unit_test(native_grown_customer),
	    cmocka_unit_test(grown_customer_errors),
	    cmocka_unit_test(mapped_rows),
	    cmocka_unit_test(mapped_row_errors),
	    cmocka_unit_test(mapped_error_utf8),
	    cmocka_unit_test(mapping_off),
	    cmocka_unit_test(debezium_create_wrapped),
	    cmocka_unit_test(debezium_create_plain),
	    cmocka_unit_test(debezium_update),
	    cmocka_unit_test(debezium_read),
	    cmocka_unit_test(debezium_delete),
	    cmocka_unit_test(debezium_time),
	    cmocka_unit_test(debezium_errors),
	    cmocka_unit_test(keys),
	    cmocka_unit_test(tombstone),
	    cmocka_unit_test(malformed),
	    cmocka_unit_test(peek_id),
	    cmocka_unit_test(done_and_names),
	    cmocka_unit_test(flat_rows),
	    cmocka_unit_test(flat_row_errors),
	    cmocka_unit_test(format_selection),
	    cmocka_unit_test(key_with_format),
	    cmocka_unit_test(logical_values),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
