/* strbuf.c: the writer of hand-made JSON (the outcome record). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/strbuf.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* cJSON's text of s: what the outcome record held when cJSON wrote it. */
static char *cjson_text(const char *s)
{
	cJSON *v = cJSON_CreateString(s);
	char *text = cJSON_PrintUnformatted(v);

	cJSON_Delete(v);
	return text;
}

static char *json_text(const char *s)
{
	struct strbuf b;

	strbuf_init(&b, 0);
	strbuf_json(&b, s);
	return strbuf_take(&b);
}

static void same_as_cjson(const char *s)
{
	char *want = cjson_text(s), *got = json_text(s);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
	free(got);
}

/* Every byte, alone and between other text, comes out as cJSON writes
 * it, so a consumer of the results topic sees no change. */
static void test_escape_every_byte(void **state)
{
	(void)state;
	for (int c = 1; c < 256; c++) {
		char one[2] = {(char)c, 0}, mid[8] = {'a', (char)c, 'b', 0};

		same_as_cjson(one);
		same_as_cjson(mid);
	}
}

static void test_escape_strings(void **state)
{
	static const char *const cases[] = {
	    "",
	    "plain-key_1",
	    "\"quoted\"",
	    "back\\slash\\",
	    "line\nbreak\r\n\ttab\b\f",
	    "\x01\x1f\x7f",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "\xff\xfe not UTF-8",
	    "</script>",
	};
	char *t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same_as_cjson(cases[i]);
	t = json_text("\x01");
	assert_string_equal(t, "\"\\u0001\"");
	free(t);
	t = json_text(NULL);
	assert_string_equal(t, "null");
	free(t);
}

/* Past the first reservation the text grows and stays whole. */
static void test_growth(void **state)
{
	struct strbuf b;
	char *t, *want = malloc(10001);

	(void)state;
	strbuf_init(&b, 16);
	for (int i = 0; i < 10000; i++) {
		strbuf_putc(&b, (char)('a' + i % 26));
		want[i] = (char)('a' + i % 26);
	}
	want[10000] = '\0';
	t = strbuf_take(&b);
	assert_string_equal(t, want);
	assert_null(b.s);
	free(t);
	free(want);
}

static void test_numbers(void **state)
{
	struct strbuf b;
	char *t;

	(void)state;
	strbuf_init(&b, 0);
	strbuf_i64(&b, INT64_MIN);
	strbuf_putc(&b, ' ');
	strbuf_i64(&b, 0);
	strbuf_putc(&b, ' ');
	strbuf_i64(&b, 9007199254740993LL); /* 2^53 + 1: no double */
	t = strbuf_take(&b);
	assert_string_equal(t, "-9223372036854775808 0 9007199254740993");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_every_byte),
	    cmocka_unit_test(test_escape_strings),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
