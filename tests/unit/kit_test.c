/* profiles/kit.c: the helpers every profile shares. The blank tests pin, per
 * profile, what counts as blank, so that moving the profiles onto the
 * kit's one rule changes nothing any of them does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/event.h"
#include "core/request.h"
#include "profiles/kit.h"
#include "profiles/profile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strings only the C locale's isspace() calls blank: \v and \f. */
static const char *const ctype_only[] = {"\v", "\f", " \v\f\t"};
/* Strings every rule calls blank. */
static const char *const json_blank[] = {"", " ", "\t", "\r\n", " \t\r\n"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static cJSON *doc_with(const char *name, const char *value)
{
	cJSON *doc = cJSON_CreateObject();

	assert_non_null(doc);
	assert_non_null(cJSON_AddStringToObject(doc, name, value));
	return doc;
}

static int validate(const char *profile, const char *name, const char *value,
                    struct profile_error *err)
{
	const struct profile_ops *p = profile_find(profile);
	cJSON *doc = doc_with(name, value);
	int rc;

	assert_non_null(p);
	memset(err, 0, sizeof(*err));
	rc = p->validate(doc, false, err);
	cJSON_Delete(doc);
	return rc;
}

/* alvys: Name may not be blank, by JSON's whitespace (\v is text). */
static void test_blank_alvys(void **state)
{
	struct profile_error err;

	(void)state;
	for (size_t i = 0; i < N(json_blank); i++) {
		assert_int_equal(
		    validate("alvys", "Name", json_blank[i], &err), -EINVAL);
		assert_string_equal(err.message, "Name must not be blank");
	}
	for (size_t i = 0; i < N(ctype_only); i++)
		assert_int_equal(
		    validate("alvys", "Name", ctype_only[i], &err), 0);
	assert_int_equal(validate("alvys", "Name", " x ", &err), 0);
}

/* portal: name may not be blank, by isspace() (\v and \f too). */
static void test_blank_portal(void **state)
{
	struct profile_error err;

	(void)state;
	for (size_t i = 0; i < N(json_blank); i++) {
		assert_int_equal(
		    validate("portal", "name", json_blank[i], &err), -EINVAL);
		assert_string_equal(err.message, "name must not be blank");
		assert_null(err.code);
	}
	for (size_t i = 0; i < N(ctype_only); i++) {
		assert_int_equal(
		    validate("portal", "name", ctype_only[i], &err), -EINVAL);
		assert_string_equal(err.message, "name must not be blank");
	}
	assert_int_equal(validate("portal", "name", " x ", &err), 0);
}

/* engage: a blank ERP string goes out as null, by JSON's whitespace. */
static void test_blank_engage(void **state)
{
	const struct profile_ops *p = profile_find("engage");
	struct profile_error err;

	(void)state;
	assert_non_null(p);
	for (size_t k = 0; k < N(json_blank) + N(ctype_only); k++) {
		bool blank = k < N(json_blank);
		const char *s =
		    blank ? json_blank[k] : ctype_only[k - N(json_blank)];
		struct change ch = {.op = CHANGE_UPDATE, .key = "K-1"};
		cJSON *out = NULL;
		const cJSON *notes;

		ch.customer = doc_with("notes", s);
		assert_int_equal(p->map(NULL, &ch, &out, &err), 0);
		notes = cJSON_GetObjectItemCaseSensitive(out, "notes");
		if (blank) {
			assert_true(cJSON_IsNull(notes));
		} else {
			assert_true(cJSON_IsString(notes));
			assert_string_equal(notes->valuestring, s);
		}
		cJSON_Delete(out);
		cJSON_Delete(ch.customer);
	}
}

/* The external id an event carries: blank by isspace() (the key then
 * stands in), for every profile that uses it (alvys, engage). */
static void test_blank_event_external_id(void **state)
{
	const struct profile_ops *p = profile_find("alvys");
	struct change ch = {.op = CHANGE_UPSERT, .key = "K-1"};

	(void)state;
	assert_non_null(p);
	for (size_t k = 0; k < N(json_blank) + N(ctype_only); k++) {
		const char *s = k < N(json_blank)
		                    ? json_blank[k]
		                    : ctype_only[k - N(json_blank)];

		ch.customer = doc_with("external_id", s);
		assert_string_equal(p->event_owner(NULL, &ch), "K-1");
		cJSON_Delete(ch.customer);
	}
	ch.customer = doc_with("external_id", " E-1");
	assert_string_equal(p->event_owner(NULL, &ch), " E-1");
	cJSON_Delete(ch.customer);
}

/* The kit's one rule: JSON's whitespace only. */
static void test_blank_rule(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(json_blank); i++) {
		assert_true(profile_blank(json_blank[i]));
		assert_true(profile_blank_isspace(json_blank[i]));
	}
	for (size_t i = 0; i < N(ctype_only); i++) {
		assert_false(profile_blank(ctype_only[i]));
		assert_true(profile_blank_isspace(ctype_only[i]));
	}
	assert_false(profile_blank(" x"));
	assert_false(profile_blank("\xC2\xA0")); /* U+00A0 is text */
	assert_false(profile_blank_isspace("x "));
	assert_false(profile_blank_isspace("\xC2\xA0"));
}

static void test_str(void **state)
{
	cJSON *o = cJSON_Parse("{\"s\":\"v\",\"n\":1,\"z\":null}");

	(void)state;
	assert_string_equal(profile_str(o, "s"), "v");
	assert_null(profile_str(o, "n"));
	assert_null(profile_str(o, "z"));
	assert_null(profile_str(o, "absent"));
	assert_null(profile_str(NULL, "s"));
	cJSON_Delete(o);
}

static void test_put(void **state)
{
	cJSON *o = cJSON_CreateObject();

	(void)state;
	assert_int_equal(profile_put(o, "a", cJSON_CreateString("x")), 0);
	assert_int_equal(profile_put(o, "b", cJSON_CreateNull()), 0);
	assert_int_equal(profile_put(o, "c", NULL), -ENOMEM);
	assert_string_equal(profile_str(o, "a"), "x");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "b")));
	assert_false(cJSON_HasObjectItem(o, "c"));
	cJSON_Delete(o);
}

/* Prints profile_copy_* of the JSON text in, for comparison. */
static void assert_copy(cJSON *(*copy)(const cJSON *), const char *in,
                        const char *want)
{
	cJSON *v = in ? cJSON_Parse(in) : NULL;
	cJSON *out = copy(v);
	char *got;

	assert_non_null(out);
	got = cJSON_PrintUnformatted(out);
	assert_string_equal(got, want);
	free(got);
	cJSON_Delete(out);
	cJSON_Delete(v);
}

/* Both copies: a string stays, anything else is null; only
 * profile_copy_nonempty also turns "" into null. */
static void test_copy_string(void **state)
{
	(void)state;
	assert_copy(profile_copy_string, "\"a b\"", "\"a b\"");
	assert_copy(profile_copy_string, "\" \"", "\" \"");
	assert_copy(profile_copy_string, "\"\"", "\"\"");
	assert_copy(profile_copy_string, "null", "null");
	assert_copy(profile_copy_string, "7", "null");
	assert_copy(profile_copy_string, "[\"a\"]", "null");
	assert_copy(profile_copy_string, NULL, "null");
	assert_copy(profile_copy_nonempty, "\"a b\"", "\"a b\"");
	assert_copy(profile_copy_nonempty, "\" \"", "\" \"");
	assert_copy(profile_copy_nonempty, "\"\"", "null");
	assert_copy(profile_copy_nonempty, "null", "null");
	assert_copy(profile_copy_nonempty, "7", "null");
	assert_copy(profile_copy_nonempty, NULL, "null");
}

static void test_first(void **state)
{
	cJSON *list = cJSON_Parse("[\"a\",\"b\"]");
	cJSON *empty = cJSON_Parse("[]");
	cJSON *one = cJSON_Parse("\"x\"");
	cJSON *first_empty = cJSON_Parse("[\"\",\"b\"]");
	cJSON *out;

	(void)state;
	assert_string_equal(profile_first(list)->valuestring, "a");
	assert_null(profile_first(empty));
	assert_ptr_equal(profile_first(one), one);
	assert_null(profile_first(NULL));
	/* The first element counts even when it is empty: no skipping. */
	out = profile_copy_nonempty(profile_first(first_empty));
	assert_true(cJSON_IsNull(out));
	cJSON_Delete(out);
	out = profile_copy_string(profile_first(first_empty));
	assert_string_equal(out->valuestring, "");
	cJSON_Delete(out);
	cJSON_Delete(list);
	cJSON_Delete(empty);
	cJSON_Delete(one);
	cJSON_Delete(first_empty);
}

static void test_refuse(void **state)
{
	struct profile_error err = {.code = "stale"};
	char longer[400];

	(void)state;
	assert_int_equal(profile_refuse(&err, NULL, "%s is %d", "x", 7),
	                 -EINVAL);
	assert_null(err.code);
	assert_string_equal(err.message, "x is 7");
	assert_int_equal(profile_refuse(&err, "cannot_reactivate", "no"),
	                 -EINVAL);
	assert_string_equal(err.code, "cannot_reactivate");
	assert_string_equal(err.message, "no");
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	profile_refuse(&err, NULL, "%s", longer);
	assert_int_equal(strlen(err.message), sizeof(err.message) - 1);
}

static void test_paths(void **state)
{
	char *p;

	(void)state;
	p = profile_path_escape("a b/c~d-e_f.g%\xC3\xA9");
	assert_string_equal(p, "a%20b%2Fc~d-e_f.g%25%C3%A9");
	free(p);
	p = profile_id_path("/customers", "7/8");
	assert_string_equal(p, "/customers/7%2F8");
	free(p);
}

static void test_request(void **state)
{
	struct api_request r;
	cJSON *body = cJSON_Parse("{\"a\":1}");

	(void)state;
	assert_int_equal(profile_request(&r, HTTP_PUT, strdup("/c/1"), body,
	                                 "application/json", "\"e1\"",
	                                 "customer:update"),
	                 0);
	assert_int_equal(r.method, HTTP_PUT);
	assert_string_equal(r.path, "/c/1");
	assert_string_equal(r.body, "{\"a\":1}");
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.if_match, "\"e1\"");
	assert_string_equal(r.scope, "customer:update");
	api_request_done(&r);
	assert_int_equal(profile_request(&r, HTTP_GET, strdup("/c/1"), NULL,
	                                 NULL, NULL, NULL),
	                 0);
	assert_null(r.body);
	assert_null(r.content_type);
	assert_null(r.if_match);
	api_request_done(&r);
	assert_int_equal(
	    profile_request(&r, HTTP_GET, NULL, NULL, NULL, NULL, NULL),
	    -ENOMEM);
	cJSON_Delete(body);
}

static void test_strip_nulls(void **state)
{
	cJSON *patch = cJSON_Parse("{\"a\":null,\"b\":{\"c\":null,\"d\":1}}");
	cJSON *out = profile_strip_nulls(patch);
	char *got = cJSON_PrintUnformatted(out);

	(void)state;
	assert_string_equal(got, "{\"b\":{\"d\":1}}");
	free(got);
	cJSON_Delete(out);
	cJSON_Delete(patch);
}

/* A write answer without an id or a record is no answer: everything
 * freed and NULL (LeakSanitizer checks the frees). */
static void test_written(void **state)
{
	char *id = strdup("1"), *etag = strdup("e");
	cJSON *rec = cJSON_CreateObject();

	(void)state;
	assert_int_equal(profile_written(&id, &etag, &rec), 0);
	assert_string_equal(id, "1");
	free(id);
	id = NULL;
	assert_int_equal(profile_written(&id, &etag, &rec), -EINVAL);
	assert_null(id);
	assert_null(etag);
	assert_null(rec);
	id = strdup("2");
	assert_int_equal(profile_written(&id, NULL, &rec), -EINVAL);
	assert_null(id);
}

static void test_mapped(void **state)
{
	struct profile_error err = {0};
	cJSON *out = NULL, *o = cJSON_CreateObject();

	(void)state;
	assert_int_equal(profile_mapped(o, 0, &out, &err), 0);
	assert_ptr_equal(out, o);
	cJSON_Delete(out);
	out = NULL;
	assert_int_equal(
	    profile_mapped(cJSON_CreateObject(), -ENOMEM, &out, &err),
	    -ENOMEM);
	assert_null(out);
	assert_string_equal(err.message, "out of memory");
	assert_int_equal(profile_mapped(NULL, -ENOMEM, &out, &err), -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blank_alvys),
	    cmocka_unit_test(test_blank_portal),
	    cmocka_unit_test(test_blank_engage),
	    cmocka_unit_test(test_blank_event_external_id),
	    cmocka_unit_test(test_blank_rule),
	    cmocka_unit_test(test_str),
	    cmocka_unit_test(test_put),
	    cmocka_unit_test(test_copy_string),
	    cmocka_unit_test(test_first),
	    cmocka_unit_test(test_refuse),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_strip_nulls),
	    cmocka_unit_test(test_written),
	    cmocka_unit_test(test_mapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
