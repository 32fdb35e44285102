/* num.c: JSON numbers to integers and epoch ms to text, checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/num.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int int_of(const char *json, int64_t min, int64_t max, int64_t *out)
{
	cJSON *v = cJSON_Parse(json);
	int rc;

	assert_non_null(v);
	rc = num_json_int(v, min, max, out);
	cJSON_Delete(v);
	return rc;
}

static void test_json_int(void **state)
{
	int64_t n = 0;

	(void)state;
	assert_int_equal(int_of("7", 0, 10, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(int_of("-3", -5, 5, &n), 0);
	assert_int_equal(n, -3);
	assert_int_equal(int_of("1e3", 0, 1000, &n), 0);
	assert_int_equal(n, 1000);
	assert_int_equal(int_of("-0", 0, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(int_of("9007199254740991", 0, INT64_MAX, &n), 0);
	assert_int_equal(n, 9007199254740991LL);
	/* The largest double below 2^63, exactly. */
	assert_int_equal(int_of("9223372036854774784", 0, INT64_MAX, &n), 0);
	assert_int_equal(n, 9223372036854774784LL);
	assert_int_equal(int_of("-9223372036854775808", INT64_MIN, 0, &n), 0);
	assert_true(n == INT64_MIN);
}

static void test_json_int_refused(void **state)
{
	static const struct {
		const char *json;
		int rc;
	} bad[] = {
	    {"9e97", -ERANGE},
	    {"-9e97", -ERANGE},
	    {"1e999", -ERANGE},
	    {"-1e999", -ERANGE},
	    {"11", -ERANGE},
	    {"-1", -ERANGE},
	    /* 2^63: one past INT64_MAX, what (double)INT64_MAX is. */
	    {"9223372036854775807", -ERANGE},
	    {"1.5", -EINVAL},
	    {"1e-300", -EINVAL},
	    {"\"5\"", -EINVAL},
	    {"true", -EINVAL},
	    {"null", -EINVAL},
	    {"[5]", -EINVAL},
	};
	int64_t n = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int max = strcmp(bad[i].json, "9223372036854775807") == 0;

		assert_int_equal(
		    int_of(bad[i].json, 0, max ? INT64_MAX : 10, &n),
		    bad[i].rc);
		assert_int_equal(n, 42);
	}
	assert_int_equal(num_json_int(NULL, 0, 10, &n), -EINVAL);
}

static void test_time(void **state)
{
	char buf[NUM_TIME_LEN];

	(void)state;
	assert_int_equal(num_time(1795341600123LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-22T10:00:00.123Z");
	assert_int_equal(num_time(NUM_TIME_MAX_MS, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
	assert_int_equal(num_time(-1, buf, sizeof(buf)), -ERANGE);
	assert_string_equal(buf, "");
	assert_int_equal(num_time(NUM_TIME_MAX_MS + 1, buf, sizeof(buf)),
	                 -ERANGE);
	assert_string_equal(buf, "");
	assert_int_equal(num_time(0, buf, sizeof(buf) - 1), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(num_time(0, NULL, 0), -ENOSPC);
}

/* Day boundaries from 1970 to 9999 agree with gmtime_r. */
static void test_time_calendar(void **state)
{
	char buf[NUM_TIME_LEN], want[64];

	(void)state;
	for (int64_t day = 0; day <= 2932896; day += 97) {
		time_t t = (time_t)(day * 86400);
		struct tm tm;

		assert_non_null(gmtime_r(&t, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT00:00:00.000Z",
		         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		assert_int_equal(num_time(day * 86400000, buf, sizeof(buf)),
		                 0);
		assert_string_equal(buf, want);
	}
}

/* What printf's %lld prints, at the edges and around each power of
 * ten. */
static void test_i64(void **state)
{
	char buf[NUM_I64_LEN], want[32];
	int64_t v[64];
	size_t n = 0;

	(void)state;
	v[n++] = 0;
	v[n++] = INT64_MIN;
	v[n++] = INT64_MAX;
	for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10) {
		v[n++] = p - 1;
		v[n++] = p;
		v[n++] = -p;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%lld", (long long)v[i]);
		assert_int_equal(num_i64(v[i], buf), strlen(want));
		assert_string_equal(buf, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_int),
	    cmocka_unit_test(test_json_int_refused),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_time_calendar),
	    cmocka_unit_test(test_i64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
