/* utf8.c: well-formed sequences, characters and cuts that keep text
 * UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/utf8.h"

#include <string.h>

static size_t char_of(const char *s)
{
	return utf8_char((const unsigned char *)s, strlen(s));
}

static void test_char(void **state)
{
	(void)state;
	assert_int_equal(char_of("a"), 1);
	assert_int_equal(char_of("\xC3\xA9"), 2);         /* é */
	assert_int_equal(char_of("\xE2\x82\xAC"), 3);     /* € */
	assert_int_equal(char_of("\xF0\x9F\x98\x80"), 4); /* 😀 */
	assert_int_equal(char_of("\xC3"), 0);             /* cut short */
	assert_int_equal(char_of("\xC0\xAF"), 0);         /* overlong */
	assert_int_equal(char_of("\xE0\x80\xAF"), 0);     /* overlong */
	assert_int_equal(char_of("\xED\xA0\x80"), 0);     /* surrogate */
	assert_int_equal(char_of("\xF4\x90\x80\x80"), 0); /* > U+10FFFF */
	assert_int_equal(char_of("\x80"), 0);             /* continuation */
	assert_int_equal(char_of("\xE2\x28\xA1"), 0);
}

static void test_check(void **state)
{
	const unsigned char ok[] = "caf\xC3\xA9";
	const unsigned char bad[] = "ab\xFF"
	                            "cd";

	(void)state;
	assert_int_equal(utf8_check(ok, 5), 5);
	assert_int_equal(utf8_check(ok, 4), 3); /* é cut in two */
	assert_int_equal(utf8_check(bad, 5), 2);
	assert_int_equal(utf8_check(ok, 0), 0);
}

static void test_len(void **state)
{
	(void)state;
	assert_int_equal(utf8_len(""), 0);
	assert_int_equal(utf8_len("abc"), 3);
	assert_int_equal(utf8_len("caf\xC3\xA9"), 4);
	assert_int_equal(utf8_len("\xE2\x82\xAC\xF0\x9F\x98\x80"), 2);
}

static void test_prefix(void **state)
{
	(void)state;
	assert_int_equal(utf8_prefix("abc", 5), 3);
	assert_int_equal(utf8_prefix("abc", 2), 2);
	/* "a€b": a cut inside € goes back to before it */
	assert_int_equal(utf8_prefix("a\xE2\x82\xAC"
	                             "b",
	                             2),
	                 1);
	assert_int_equal(utf8_prefix("a\xE2\x82\xAC"
	                             "b",
	                             3),
	                 1);
	assert_int_equal(utf8_prefix("a\xE2\x82\xAC"
	                             "b",
	                             4),
	                 4);
	assert_int_equal(utf8_prefix("abc", 0), 0);
}

static void test_trim(void **state)
{
	char whole[] = "caf\xC3\xA9", cut[] = "caf\xC3", cut3[] = "x\xE2\x82",
	     plain[] = "abc", empty[] = "", lone[] = "\x80\x80";

	(void)state;
	utf8_trim(whole);
	assert_string_equal(whole, "caf\xC3\xA9");
	utf8_trim(cut);
	assert_string_equal(cut, "caf");
	utf8_trim(cut3);
	assert_string_equal(cut3, "x");
	utf8_trim(plain);
	assert_string_equal(plain, "abc");
	utf8_trim(empty);
	assert_string_equal(empty, "");
	utf8_trim(lone); /* no lead byte: left alone */
	assert_string_equal(lone, "\x80\x80");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_char), cmocka_unit_test(test_check),
	    cmocka_unit_test(test_len),  cmocka_unit_test(test_prefix),
	    cmocka_unit_test(test_trim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
