/* event_key.c: the ordering key from a quick look, against the key the
 * whole parse gives (the change's, else the Kafka key's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What intake.c's record_key gave before the quick look. */
static char *whole_key(const char *value, const char *kkey,
                       const struct event_options *opt)
{
	struct event_error err;
	struct change c;
	char *key;
	size_t klen = kkey ? strlen(kkey) : 0;

	if (event_parse_with(value, value ? strlen(value) : 0, kkey, klen,
	                     "t-0-1", opt, &c, &err) == 0) {
		key = strdup(c.key ? c.key : "");
	} else {
		key = event_key_with(kkey, klen, opt);
		if (!key)
			key = strdup("");
	}
	change_done(&c);
	assert_non_null(key);
	return key;
}

/* decided: whether the look settles it; either way the key that is
 * used must be the whole parse's. */
static void check(const char *value, const char *kkey,
                  enum input_format format, int decided)
{
	struct event_options opt = {.format = format,
	                            .key_format = KEY_FORMAT_JSON};
	char *want = whole_key(value, kkey, &opt), *got = NULL;
	int rc = event_order_key(value, value ? strlen(value) : 0, kkey,
	                         kkey ? strlen(kkey) : 0, &opt, &got);

	assert_int_equal(rc, decided);
	if (rc == 1)
		assert_string_equal(got, want);
	else
		assert_null(got);
	free(got);
	free(want);
}

#define CUST "\"customer\":{\"name\":\"Acme\",\"tags\":[1,2.5e3,true,null]}"

static void native_key_read_at_a_glance(void **state)
{
	(void)state;
	check("{\"op\":\"upsert\",\"key\":\"K-1\"," CUST "}", NULL, INPUT_AUTO,
	      1);
	check("{\"event_id\":\"e1\",\"op\":\"create\",\"key\":\"K-é\"," CUST
	      ",\"occurred_at\":null}",
	      "{\"id\":\"other\"}", INPUT_NATIVE, 1);
	check(" {\"key\":\"K\",\"op\":\"delete\"} \n", NULL, INPUT_AUTO, 1);
	/* An empty or null envelope key leaves the Kafka key. */
	check("{\"op\":\"upsert\",\"key\":\"\"," CUST "}", "\"K-9\"",
	      INPUT_AUTO, 1);
	check("{\"op\":\"upsert\",\"key\":null," CUST "}", "{\"id\":7}",
	      INPUT_AUTO, 1);
	check("{\"op\":\"upsert\"," CUST "}", "K-raw", INPUT_AUTO, 1);
}

static void debezium_keyed_by_kafka(void **state)
{
	(void)state;
	check("{\"op\":\"c\",\"after\":{\"CUSTNO\":\"1\"},\"key\":\"no\"}",
	      "{\"id\":\"D-1\"}", INPUT_AUTO, 1);
	/* Explicit Debezium formats and tombstones need no look at all,
	 * even at a value that is not JSON. */
	check("not json", "{\"id\":\"D-2\"}", INPUT_DEBEZIUM, 1);
	check("{\"CUSTNO\":\"1\",\"__deleted\":\"true\"}", "\"D-3\"",
	      INPUT_DEBEZIUM_FLAT, 1);
	check(NULL, "{\"id\":\"D-4\"}", INPUT_AUTO, 1);
	check(NULL, NULL, INPUT_AUTO, 1);
	check("{\"op\":\"u\"}", NULL, INPUT_AUTO, 1);
}

/* What the look leaves to the whole parse. */
static void left_to_the_whole_parse(void **state)
{
	(void)state;
	/* escapes: cJSON decodes them */
	check("{\"op\":\"upsert\",\"key\":\"K\\u0041\"," CUST "}", NULL,
	      INPUT_AUTO, 0);
	check("{\"op\":\"upsert\",\"key\":\"K\\\"1\"," CUST "}", NULL,
	      INPUT_AUTO, 0);
	check("{\"op\":\"ups\\u0065rt\",\"key\":\"K\"," CUST "}", NULL,
	      INPUT_AUTO, 0);
	/* the schema wrapper: the op is inside */
	check(
	    "{\"schema\":{},\"payload\":{\"op\":\"upsert\",\"key\":\"K\"," CUST
	    "}}",
	    NULL, INPUT_AUTO, 0);
	/* not JSON, or more than one value */
	check("{\"op\":\"upsert\",\"key\":\"K\"," CUST, "\"F\"", INPUT_AUTO,
	      0);
	check("{\"op\":\"upsert\",\"key\":\"K\"," CUST "} {}", "\"F\"",
	      INPUT_AUTO, 0);
	check("{\"op\":\"upsert\",\"key\":\"K\",\"n\":01}", "\"F\"",
	      INPUT_AUTO, 0);
	check("{\"op\":\"upsert\",\"key\":\"K\",\"n\":1.}", "\"F\"",
	      INPUT_AUTO, 0);
	check(
	    "{\"op\":\"upsert\",\"key\":\"K\",\"n\":"
	    "1234567890123456789012345678901234567890123456789012345678901234"
	    "}",
	    "\"F\"", INPUT_AUTO, 0);
	check("{\"op\":\"upsert\",\"key\":\"K\",\"s\":\"a\tb\"}", "\"F\"",
	      INPUT_AUTO, 0);
	check("{\"op\":\"upsert\",\"key\":\"K\xff\"}", "\"F\"", INPUT_AUTO, 0);
	check("[1,2]", "\"F\"", INPUT_AUTO, 0);
	check("{}", "\"F\"", INPUT_AUTO, 0);
	/* duplicates, odd types, unknown ops, lengths */
	check("{\"op\":\"upsert\",\"key\":\"A\",\"key\":\"B\"," CUST "}",
	      "\"F\"", INPUT_AUTO, 0);
	check("{\"op\":\"upsert\",\"key\":7," CUST "}", "\"F\"", INPUT_AUTO,
	      0);
	check("{\"op\":\"upsert\",\"key\":\"K\",\"event_id\":[]," CUST "}",
	      "\"F\"", INPUT_AUTO, 0);
	check("{\"op\":\"merge\",\"key\":\"K\"," CUST "}", "\"F\"", INPUT_AUTO,
	      0);
	check("{\"op\":5,\"key\":\"K\"," CUST "}", "\"F\"", INPUT_AUTO, 0);
	check("{\"op\":\"c\",\"key\":\"K\"}", "\"F\"", INPUT_NATIVE, 0);
}

static void long_members_left_to_the_whole_parse(void **state)
{
	char key[EVENT_KEY_MAX + 2], id[EVENT_ID_MAX + 2], value[4096];

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(value, sizeof(value), "{\"op\":\"delete\",\"key\":\"%s\"}",
	         key);
	check(value, "\"F\"", INPUT_AUTO, 0);
	key[EVENT_KEY_MAX] = '\0'; /* exactly the longest */
	snprintf(value, sizeof(value), "{\"op\":\"delete\",\"key\":\"%s\"}",
	         key);
	check(value, "\"F\"", INPUT_AUTO, 1);
	snprintf(value, sizeof(value),
	         "{\"op\":\"delete\",\"key\":\"K\",\"event_id\":\"%s\"}", id);
	check(value, "\"F\"", INPUT_AUTO, 0);
}

/* Nesting deeper than the look follows is the whole parse's. */
static void deep_values_left_to_the_whole_parse(void **state)
{
	char value[512];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(value, sizeof(value),
	                      "{\"op\":\"delete\",\"key\":\"K\",\"x\":");
	for (int i = 0; i < 40; i++)
		value[n++] = '[';
	for (int i = 0; i < 40; i++)
		value[n++] = ']';
	value[n++] = '}';
	value[n] = '\0';
	check(value, "\"F\"", INPUT_AUTO, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(native_key_read_at_a_glance),
	    cmocka_unit_test(debezium_keyed_by_kafka),
	    cmocka_unit_test(left_to_the_whole_parse),
	    cmocka_unit_test(long_members_left_to_the_whole_parse),
	    cmocka_unit_test(deep_values_left_to_the_whole_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
