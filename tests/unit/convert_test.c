/* lib/convert.c: decimals of any length and sign, timestamps before and
 * after the epoch, dates and times of day, and the range limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/convert.h"

static void dec(const uint8_t *be, size_t n, int scale, const char *want)
{
	char *s = NULL;
	assert_int_equal(conv_decimal(be, n, scale, &s), 0);
	assert_string_equal(s, want);
	free(s);
}

static void test_decimal(void **state)
{
	(void)state;
	dec((const uint8_t[]){0x04, 0xd2}, 2, 2, "12.34");
	dec((const uint8_t[]){0xfb, 0x2e}, 2, 2, "-12.34");
	dec((const uint8_t[]){0x00}, 1, 3, "0.000");
	dec((const uint8_t[]){0x01}, 1, 3, "0.001");
	dec((const uint8_t[]){0xff}, 1, 3, "-0.001");
	dec((const uint8_t[]){0x2a}, 1, 0, "42");
	dec((const uint8_t[]){0x80}, 1, 0, "-128");
	/* 2^72 and -2^72: beyond 64 bits. */
	dec((const uint8_t[]){0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10, 4,
	    "472236648286964521.3696");
	dec((const uint8_t[]){0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10, 0,
	    "-4722366482869645213696");
	char *s = (char *)1;
	assert_int_equal(conv_decimal((const uint8_t[]){1}, 0, 0, &s),
	                 -EINVAL);
	assert_null(s);
	assert_int_equal(conv_decimal((const uint8_t[]){1}, 1, -1, &s),
	                 -EINVAL);
	uint8_t big[CONV_DECIMAL_MAX_BYTES + 1] = {0};
	assert_int_equal(conv_decimal(big, sizeof big, 0, &s), -ERANGE);
	assert_int_equal(conv_decimal(big, sizeof big - 1, 2, &s), 0);
	assert_string_equal(s, "0.00");
	free(s);
}

static void ts(int64_t c, enum conv_unit u, const char *want)
{
	char b[CONV_TIME_LEN];
	assert_int_equal(conv_timestamp(c, u, b, sizeof b), 0);
	assert_string_equal(b, want);
}

static void test_timestamp(void **state)
{
	(void)state;
	ts(1709294400123LL, CONV_MS, "2024-03-01T12:00:00.123Z");
	ts(1709294400123456LL, CONV_US, "2024-03-01T12:00:00.123456Z");
	ts(1709294400123456789LL, CONV_NS, "2024-03-01T12:00:00.123456789Z");
	ts(0, CONV_MS, "1970-01-01T00:00:00.000Z");
	ts(-1, CONV_MS, "1969-12-31T23:59:59.999Z");
	ts(-1, CONV_US, "1969-12-31T23:59:59.999999Z");
	ts(-2208988800000LL, CONV_MS, "1900-01-01T00:00:00.000Z");
	ts(951782400000LL, CONV_MS, "2000-02-29T00:00:00.000Z");
	ts(253402300799999LL, CONV_MS, "9999-12-31T23:59:59.999Z");
	ts(-62167219200000LL, CONV_MS, "0000-01-01T00:00:00.000Z");
	char b[CONV_TIME_LEN];
	assert_int_equal(
	    conv_timestamp(253402300800000LL, CONV_MS, b, sizeof b), -ERANGE);
	assert_int_equal(
	    conv_timestamp(-62167219200001LL, CONV_MS, b, sizeof b), -ERANGE);
	assert_int_equal(conv_timestamp(INT64_MIN, CONV_MS, b, sizeof b),
	                 -ERANGE);
	assert_int_equal(conv_timestamp(INT64_MAX, CONV_NS, b, sizeof b), 0);
	assert_string_equal(b, "2262-04-11T23:47:16.854775807Z");
	assert_int_equal(conv_timestamp(0, CONV_MS, b, 10), -ENOSPC);
}

static void test_date_and_time(void **state)
{
	(void)state;
	char b[CONV_TIME_LEN];
	assert_int_equal(conv_date(0, b, sizeof b), 0);
	assert_string_equal(b, "1970-01-01");
	assert_int_equal(conv_date(19783, b, sizeof b), 0);
	assert_string_equal(b, "2024-03-01");
	assert_int_equal(conv_date(-1, b, sizeof b), 0);
	assert_string_equal(b, "1969-12-31");
	assert_int_equal(conv_date(INT64_MAX, b, sizeof b), -ERANGE);
	assert_int_equal(conv_time_of_day(45296789, CONV_MS, b, sizeof b), 0);
	assert_string_equal(b, "12:34:56.789");
	assert_int_equal(conv_time_of_day(45296789012LL, CONV_US, b, sizeof b),
	                 0);
	assert_string_equal(b, "12:34:56.789012");
	assert_int_equal(conv_time_of_day(86399999, CONV_MS, b, sizeof b), 0);
	assert_string_equal(b, "23:59:59.999");
	assert_int_equal(conv_time_of_day(86400000, CONV_MS, b, sizeof b),
	                 -ERANGE);
	assert_int_equal(conv_time_of_day(-1, CONV_MS, b, sizeof b), -ERANGE);
}

static void b64(const char *in, const char *want)
{
	char *s = conv_base64((const uint8_t *)in, strlen(in));
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* RFC 4648's test vectors, all three padding cases. */
static void test_base64(void **state)
{
	(void)state;
	b64("", "");
	b64("f", "Zg==");
	b64("fo", "Zm8=");
	b64("foo", "Zm9v");
	b64("foob", "Zm9vYg==");
	b64("fooba", "Zm9vYmE=");
	b64("foobar", "Zm9vYmFy");
	char *s = conv_base64((const uint8_t[]){0xfb, 0xff}, 2);
	assert_string_equal(s, "+/8=");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decimal),
	    cmocka_unit_test(test_timestamp),
	    cmocka_unit_test(test_date_and_time),
	    cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
