/* worker/core/mapping.c: RFC 6901 lookups (escapes, array indexes, what finds
 * nothing) and canonical customers from ERP rows: every value type, list
 * collection, nested paths and each error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/mapping.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *json(const char *text)
{
	cJSON *v = cJSON_Parse(text);

	if (!v)
		fail_msg("bad test JSON: %s", text);
	return v;
}

static void assert_json(const cJSON *got, const char *want_text)
{
	cJSON *want = json(want_text);
	char *g;

	assert_non_null(got);
	if (!cJSON_Compare(got, want, 1)) {
		g = cJSON_PrintUnformatted(got);
		fail_msg("got %s, want %s", g, want_text);
	}
	cJSON_Delete(want);
}

/* One mapping entry; list as the config sets it. */
#define ENTRY(f, l, ...)                                                      \
	{                                                                     \
		(char *)(f), (char *[]){__VA_ARGS__},                         \
		    sizeof((char *[]){__VA_ARGS__}) / sizeof(char *), (l)     \
	}

/* Applies m to row_text and compares with want_text. */
static void expect_mapped(const struct config_mapping *m, size_t n,
                          const char *row_text, const char *want_text)
{
	cJSON *row = json(row_text), *out = NULL;
	char err[256] = "";
	int rc = mapping_apply(m, n, row, &out, err, sizeof(err));

	if (rc)
		fail_msg("%s: %d %s", row_text, rc, err);
	assert_json(out, want_text);
	cJSON_Delete(out);
	cJSON_Delete(row);
}

static void expect_error(const struct config_mapping *m, size_t n,
                         const char *row_text, const char *want)
{
	cJSON *row = json(row_text), *out = (cJSON *)row;
	char err[256] = "";
	int rc = mapping_apply(m, n, row, &out, err, sizeof(err));

	if (rc != -EINVAL || strcmp(err, want))
		fail_msg("%s: got %d '%s', want '%s'", row_text, rc, err,
		         want);
	/* Nothing is handed out on failure. */
	assert_null(out);
	cJSON_Delete(row);
}

/* ---- mapping_pointer ---- */

/* RFC 6901 §5's document and its examples, then what finds nothing. */
static void pointer_rfc_examples(void **state)
{
	static const char doc_text[] =
	    "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, "
	    "\"e^f\": 3, \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, "
	    "\"m~n\": 8, \"~1\": 9}";
	static const struct {
		const char *ptr;
		int want;
	} ints[] = {
	    {"/", 0},
	    {"/a~1b", 1},
	    {"/c%d", 2},
	    {"/e^f", 3},
	    {"/g|h", 4},
	    {"/i\\j", 5},
	    {"/k\"l", 6},
	    {"/ ", 7},
	    {"/m~0n", 8},
	    /* "~01" is "~1", not "/": escapes are undone once, in order. */
	    {"/~01", 9},
	};
	static const char *const absent[] = {
	    "/foo/2",  "/foo/-",  "/foo/01",
	    "/foo/+1", "/foo/ 0", "/foo/-1",
	    "/foo/",   "/foo/0x", "/a~2b",
	    "/m~",     "/m~n",    "/a/b",
	    "foo",     "#/foo",   "/foo/0/x",
	    "/nope",   "/FOO",    "/foo/99999999999999999999",
	};
	cJSON *doc = json(doc_text);
	const cJSON *v;

	(void)state;
	assert_ptr_equal(mapping_pointer(doc, ""), doc);
	v = mapping_pointer(doc, "/foo");
	assert_json(v, "[\"bar\", \"baz\"]");
	v = mapping_pointer(doc, "/foo/0");
	assert_true(cJSON_IsString(v));
	assert_string_equal(v->valuestring, "bar");
	v = mapping_pointer(doc, "/foo/1");
	assert_string_equal(v->valuestring, "baz");
	for (size_t i = 0; i < sizeof(ints) / sizeof(*ints); i++) {
		v = mapping_pointer(doc, ints[i].ptr);
		if (!cJSON_IsNumber(v) || v->valueint != ints[i].want)
			fail_msg("%s: want %d", ints[i].ptr, ints[i].want);
	}
	for (size_t i = 0; i < sizeof(absent) / sizeof(*absent); i++)
		if (mapping_pointer(doc, absent[i]))
			fail_msg("%s: found something", absent[i]);
	assert_null(mapping_pointer(NULL, "/foo"));
	assert_null(mapping_pointer(doc, NULL));
	cJSON_Delete(doc);
}

static void pointer_nested(void **state)
{
	cJSON *doc = json("{\"A\": {\"B\": [{\"C\": \"deep\"}, null]}, "
	                  "\"n\": 5, \"dup\": 1, \"dup\": 2}");
	const cJSON *v;

	(void)state;
	v = mapping_pointer(doc, "/A/B/0/C");
	assert_string_equal(v->valuestring, "deep");
	/* A null is there; past it or past a scalar is nothing. */
	assert_true(cJSON_IsNull(mapping_pointer(doc, "/A/B/1")));
	assert_null(mapping_pointer(doc, "/A/B/1/C"));
	assert_null(mapping_pointer(doc, "/n/0"));
	assert_null(mapping_pointer(doc, "/A/C"));
	/* The first of two equal names, as cJSON finds it. */
	assert_int_equal(mapping_pointer(doc, "/dup")->valueint, 1);
	cJSON_Delete(doc);
}

/* ---- mapping_apply ---- */

static void scalars(void **state)
{
	const struct config_mapping m[] = {
	    ENTRY("name", 0, "/S"),        ENTRY("number", 0, "/N"),
	    ENTRY("external_id", 0, "/B"), ENTRY("fax", 0, "/Z"),
	    ENTRY("notes", 0, "/ABSENT"),  ENTRY("company", 0, "/E"),
	};
	static const struct {
		const char *in, *out;
	} numbers[] = {
	    {"1042", "1042"},
	    {"-7", "-7"},
	    {"5.0", "5"},
	    {"12.5", "12.5"},
	    {"0.1", "0.1"},
	    {"-0", "0"},
	    {"1e3", "1000"},
	    {"1e20", "100000000000000000000"},
	    {"4512345678", "4512345678"},
	    {"9007199254740993", "9007199254740992"},
	    {"1.5e-7", "1.5e-07"},
	    {"0.30000000000000004", "0.30000000000000004"},
	    {"1e300", "1e+300"},
	};
	const struct config_mapping num[] = {ENTRY("number", 0, "/N")};

	(void)state;
	expect_mapped(m, 6,
	              "{\"S\": \"Acme A/S\", \"N\": 1042, \"B\": true, "
	              "\"Z\": null, \"E\": \"\", \"X\": \"unmapped\"}",
	              "{\"name\": \"Acme A/S\", \"number\": \"1042\", "
	              "\"external_id\": \"true\", \"fax\": null, "
	              "\"company\": \"\"}");
	expect_mapped(m, 6, "{\"B\": false}", "{\"external_id\": \"false\"}");
	/* Nothing present: an empty customer, not an error. */
	expect_mapped(m, 6, "{}", "{}");
	expect_mapped(m, 0, "{\"S\": \"x\"}", "{}");
	for (size_t i = 0; i < sizeof(numbers) / sizeof(*numbers); i++) {
		char row[96], want[96];

		snprintf(row, sizeof(row), "{\"N\": %s}", numbers[i].in);
		snprintf(want, sizeof(want), "{\"number\": \"%s\"}",
		         numbers[i].out);
		expect_mapped(num, 1, row, want);
	}
}

/* type and status are strings like the rest; event.c checks values. */
static void enums_as_strings(void **state)
{
	const struct config_mapping m[] = {
	    ENTRY("type", 0, "/KIND"),
	    ENTRY("status", 0, "/ACTIVE"),
	};

	(void)state;
	expect_mapped(m, 2, "{\"KIND\": \"broker\", \"ACTIVE\": \"yes\"}",
	              "{\"type\": \"broker\", \"status\": \"yes\"}");
	expect_mapped(m, 2, "{\"KIND\": 3, \"ACTIVE\": true}",
	              "{\"type\": \"3\", \"status\": \"true\"}");
}

static void lists(void **state)
{
	const struct config_mapping m[] = {
	    ENTRY("email", 1, "/E1", "/E2", "/E3"),
	};
	const struct config_mapping one[] = {
	    ENTRY("phone", 1, "/TEL"),
	};

	(void)state;
	expect_mapped(m, 1,
	              "{\"E1\": \"a@x.test\", \"E2\": \"b@x.test\", "
	              "\"E3\": \"c@x.test\"}",
	              "{\"email\": [\"a@x.test\", \"b@x.test\", "
	              "\"c@x.test\"]}");
	/* In pointer order, not row order; null, "" and absent skipped. */
	expect_mapped(m, 1,
	              "{\"E3\": \"c@x.test\", \"E2\": null, \"E1\": \"\"}",
	              "{\"email\": [\"c@x.test\"]}");
	expect_mapped(m, 1, "{\"E2\": \"b@x.test\"}",
	              "{\"email\": [\"b@x.test\"]}");
	/* All absent: absent. All null, or only null and "": null. */
	expect_mapped(m, 1, "{\"X\": 1}", "{}");
	expect_mapped(m, 1, "{\"E1\": null, \"E3\": null}",
	              "{\"email\": null}");
	expect_mapped(m, 1, "{\"E1\": null, \"E2\": \"\"}",
	              "{\"email\": null}");
	/* Numbers and booleans as text, a single pointer as a list. */
	expect_mapped(one, 1, "{\"TEL\": 4512345678}",
	              "{\"phone\": [\"4512345678\"]}");
	expect_mapped(m, 1, "{\"E1\": 7, \"E2\": false}",
	              "{\"email\": [\"7\", \"false\"]}");
	/* An array column gives its items, skipping the same values. */
	expect_mapped(one, 1, "{\"TEL\": [\"1\", null, \"\", 2]}",
	              "{\"phone\": [\"1\", \"2\"]}");
	expect_mapped(one, 1, "{\"TEL\": []}", "{\"phone\": null}");
	expect_mapped(m, 1, "{\"E1\": [\"a\", \"b\"], \"E2\": \"c\"}",
	              "{\"email\": [\"a\", \"b\", \"c\"]}");
}

static void array_indexes(void **state)
{
	const struct config_mapping m[] = {
	    ENTRY("email", 1, "/EMAILS/0", "/EMAILS/1"),
	    ENTRY("name", 0, "/NAMES/1"),
	    ENTRY("billing_address.street", 1, "/ADDR/LINES/0",
	          "/ADDR/LINES/2"),
	};

	(void)state;
	expect_mapped(m, 3,
	              "{\"EMAILS\": [\"a@x.test\", \"b@x.test\", \"c\"], "
	              "\"NAMES\": [\"short\", \"Long Name\"], \"ADDR\": "
	              "{\"LINES\": [\"1 Main\", \"skip\", \"Unit 4\"]}}",
	              "{\"email\": [\"a@x.test\", \"b@x.test\"], "
	              "\"name\": \"Long Name\", \"billing_address\": "
	              "{\"street\": [\"1 Main\", \"Unit 4\"]}}");
	/* Past the end is absent. */
	expect_mapped(m, 3, "{\"EMAILS\": [\"a@x.test\"], \"NAMES\": [\"x\"]}",
	              "{\"email\": [\"a@x.test\"]}");
}

static void escapes(void **state)
{
	const struct config_mapping m[] = {
	    ENTRY("name", 0, "/CUST~1NAME"),
	    ENTRY("number", 0, "/NO~0"),
	    ENTRY("notes", 0, "/~01"),
	    ENTRY("fax", 0, "/"),
	};

	(void)state;
	expect_mapped(m, 4,
	              "{\"CUST/NAME\": \"Acme\", \"NO~\": \"N-1\", "
	              "\"~1\": \"tilde one\", \"\": \"empty name\", "
	              "\"CUST\": {\"NAME\": \"wrong\"}}",
	              "{\"name\": \"Acme\", \"number\": \"N-1\", "
	              "\"notes\": \"tilde one\", \"fax\": \"empty name\"}");
}

static void nested_paths(void **state)
{
	const struct config_mapping m[] = {
	    ENTRY("contact.first_name", 0, "/FIRST"),
	    ENTRY("billing_address.postal_code", 0, "/ZIP"),
	    ENTRY("contact.last_name", 0, "/LAST"),
	    ENTRY("billing_address.country_code", 0, "/CC"),
	    ENTRY("name", 0, "/NAME"),
	};

	(void)state;
	expect_mapped(m, 5,
	              "{\"FIRST\": \"Ada\", \"LAST\": \"Lovelace\", "
	              "\"ZIP\": 8000, \"CC\": \"DK\", \"NAME\": \"Acme\"}",
	              "{\"contact\": {\"first_name\": \"Ada\", "
	              "\"last_name\": \"Lovelace\"}, \"billing_address\": "
	              "{\"postal_code\": \"8000\", \"country_code\": \"DK\"}, "
	              "\"name\": \"Acme\"}");
	/* No member present: no object either; null is a member. */
	expect_mapped(m, 5, "{\"NAME\": \"Acme\", \"ZIP\": null}",
	              "{\"billing_address\": {\"postal_code\": null}, "
	              "\"name\": \"Acme\"}");
}

/* A scalar field with several pointers takes the first present one. */
static void scalar_fallback(void **state)
{
	const struct config_mapping m[] = {
	    ENTRY("name", 0, "/A", "/B"),
	};

	(void)state;
	expect_mapped(m, 1, "{\"A\": \"first\", \"B\": \"second\"}",
	              "{\"name\": \"first\"}");
	expect_mapped(m, 1, "{\"B\": \"second\"}", "{\"name\": \"second\"}");
	expect_mapped(m, 1, "{\"A\": null, \"B\": \"second\"}",
	              "{\"name\": null}");
}

static void errors(void **state)
{
	const struct config_mapping name[] = {
	    ENTRY("name", 0, "/CUSTNAME"),
	};
	const struct config_mapping street[] = {
	    ENTRY("billing_address.street", 1, "/L1", "/L2"),
	};
	const struct config_mapping bad_path[] = {
	    ENTRY("billing_address", 0, "/A"),
	    ENTRY("billing_address.city", 0, "/C"),
	};
	cJSON *row, *out;
	char err[256];

	(void)state;
	expect_error(name, 1, "{\"CUSTNAME\": {\"first\": \"A\"}}",
	             "mapping name: /CUSTNAME is an object, not a string, "
	             "number, boolean or null");
	expect_error(name, 1, "{\"CUSTNAME\": [\"A\"]}",
	             "mapping name: /CUSTNAME is an array, not a string, "
	             "number, boolean or null");
	expect_error(name, 1, "{\"CUSTNAME\": 1e400}",
	             "mapping name: /CUSTNAME is not a finite number");
	expect_error(street, 1, "{\"L1\": \"x\", \"L2\": {\"a\": 1}}",
	             "mapping billing_address.street: /L2 is an object, not "
	             "a string, number, boolean or null");
	expect_error(street, 1, "{\"L1\": [\"x\", [\"y\"]]}",
	             "mapping billing_address.street: /L1 holds an array, "
	             "not a string, number, boolean or null");
	/* A name the row has twice is not guessed at. */
	expect_error(name, 1, "{\"CUSTNAME\": \"a\", \"CUSTNAME\": \"b\"}",
	             "mapping name: /CUSTNAME is ambiguous: a member on the "
	             "way appears more than once");
	expect_error(street, 1, "{\"L2\": 1, \"L2\": 2}",
	             "mapping billing_address.street: /L2 is ambiguous: a "
	             "member on the way appears more than once");
	/* Two entries that disagree on what billing_address is. */
	expect_error(bad_path, 2, "{\"A\": \"x\", \"C\": \"y\"}",
	             "mapping billing_address.city: billing_address is "
	             "mapped as a value");
	expect_error(name, 1, "[1]", "mapping: the row must be an object");

	/* err may be NULL. */
	row = json("{\"CUSTNAME\": [1]}");
	assert_int_equal(mapping_apply(name, 1, row, &out, NULL, 0), -EINVAL);
	assert_null(out);
	/* A message longer than err is cut, still terminated. */
	assert_int_equal(mapping_apply(name, 1, row, &out, err, 12), -EINVAL);
	assert_string_equal(err, "mapping nam");
	cJSON_Delete(row);
}

/* The README's example, from YAML through config.c to a customer. */
static void from_config(void **state)
{
	static const char yaml[] =
	    "kafka: {brokers: b, group_id: g, topics: [t], results_topic: r, "
	    "dead_letter_topic: d}\n"
	    "target: {profile: alvys, base_url: 'http://api'}\n"
	    "mapping:\n"
	    "  external_id: /CUSTNO\n"
	    "  name: /CUSTNAME\n"
	    "  email: [/EMAIL1, /EMAIL2]\n"
	    "  billing_address.postal_code: /ZIPCODE\n";
	struct config cfg;
	struct config_errors errs;

	(void)state;
	assert_int_equal(
	    config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &errs), 0);
	expect_mapped(cfg.mapping, cfg.n_mapping,
	              "{\"CUSTNO\": 10042, \"CUSTNAME\": \"Acme\", "
	              "\"EMAIL1\": \"\", \"EMAIL2\": \"b@x.test\", "
	              "\"ZIPCODE\": \"8000\", \"CREDIT\": 5}",
	              "{\"external_id\": \"10042\", \"name\": \"Acme\", "
	              "\"email\": [\"b@x.test\"], \"billing_address\": "
	              "{\"postal_code\": \"8000\"}}");
	config_done(&cfg);
	config_errors_done(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pointer_rfc_examples),
	    cmocka_unit_test(pointer_nested),
	    cmocka_unit_test(scalars),
	    cmocka_unit_test(enums_as_strings),
	    cmocka_unit_test(lists),
	    cmocka_unit_test(array_indexes),
	    cmocka_unit_test(escapes),
	    cmocka_unit_test(nested_paths),
	    cmocka_unit_test(scalar_fallback),
	    cmocka_unit_test(errors),
	    cmocka_unit_test(from_config),
	};

	return cmocka_run_group_tests_name("mapping", tests, NULL, NULL);
}
