/* kit.c: the helpers every profile shares. The blank tests pin, per
 * profile, what counts as blank, so that moving the profiles onto the
 * kit's one rule changes nothing any of them does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/event.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blank_alvys),
	    cmocka_unit_test(test_blank_portal),
	    cmocka_unit_test(test_blank_engage),
	    cmocka_unit_test(test_blank_event_external_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
