/* quota.c: the quota headers' forms, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/quota.h"

#include <strings.h>

#define NOW 1700000000

/* Headers as "Name", "value" pairs, NULL-terminated. */
static const char *get(void *arg, const char *name)
{
	const char *const *h = arg;

	for (; h[0]; h += 2)
		if (strcasecmp(h[0], name) == 0)
			return h[1];
	return NULL;
}

static enum quota_result read_h(const char *const *h, long *wait)
{
	long left;

	return quota_read(get, (void *)h, NOW, wait, &left);
}

static long left_of(const char *const *h)
{
	long wait, left = -7;

	quota_read(get, (void *)h, NOW, &wait, &left);
	return left;
}

#define LEFT(want, ...)                                                       \
	do {                                                                  \
		const char *const h_[] = {__VA_ARGS__, NULL};                 \
		assert_int_equal(left_of(h_), want);                          \
	} while (0)

#define EXPECT(want, want_wait, ...)                                          \
	do {                                                                  \
		const char *const h_[] = {__VA_ARGS__, NULL};                 \
		long w_ = -7;                                                 \
		assert_string_equal(quota_result_str(read_h(h_, &w_)),        \
		                    quota_result_str(want));                  \
		if ((want) == QUOTA_EXHAUSTED)                                \
			assert_int_equal(w_, want_wait);                      \
	} while (0)

static void test_structured(void **state)
{
	(void)state;
	EXPECT(QUOTA_EXHAUSTED, 30, "RateLimit", "\"default\";r=0;t=30");
	EXPECT(QUOTA_LEFT, 0, "RateLimit", "\"default\";r=5;t=30");
	EXPECT(QUOTA_EXHAUSTED, 0, "ratelimit", "default;r=0;t=0");
	/* Several policies: any used up holds until its reset, the
	 * latest of those. */
	EXPECT(QUOTA_EXHAUSTED, 60, "RateLimit",
	       "\"a\";r=3;t=1, \"b\";r=0;t=60, c;r=0;t=5");
	/* Unknown parameters and a partition key are fine. */
	EXPECT(QUOTA_EXHAUSTED, 9, "RateLimit",
	       "\"day\";r=0;t=9;pk=:dXNlcjEyMw==:;x=?1");
	EXPECT(QUOTA_EXHAUSTED, 9, "RateLimit", "\"day\"; r=0; t=9");
	/* RateLimit wins over the other forms. */
	EXPECT(QUOTA_LEFT, 0, "RateLimit", "\"q\";r=1;t=3",
	       "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "99");
	/* Used up, but no reset: nothing to wait for. */
	EXPECT(QUOTA_LEFT, 0, "RateLimit", "\"q\";r=0");
}

static void test_structured_bad(void **state)
{
	(void)state;
	EXPECT(QUOTA_BAD, 0, "RateLimit", "");
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q\";t=30"); /* no r */
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q\";r=-1;t=30");
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q\";r=0;t=abc");
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q\";r=0;t=99999999999");
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q\";r=0;t=1234567890123456");
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q;r=0;t=3");
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q\";r=0;t=3 junk");
	EXPECT(QUOTA_BAD, 0, "RateLimit", "\"q\";r=0;t=3,");
	/* The dictionary of draft 05/06 is not read. */
	EXPECT(QUOTA_BAD, 0, "RateLimit", "limit=10, remaining=0, reset=5");
}

static void test_ietf_trio(void **state)
{
	(void)state;
	EXPECT(QUOTA_EXHAUSTED, 20, "RateLimit-Limit", "100",
	       "RateLimit-Remaining", "0", "RateLimit-Reset", "20");
	EXPECT(QUOTA_LEFT, 0, "RateLimit-Remaining", "4", "RateLimit-Reset",
	       "20");
	/* Delta-seconds only: a large reset is absurd, not a date. */
	EXPECT(QUOTA_BAD, 0, "RateLimit-Remaining", "0", "RateLimit-Reset",
	       "1700000020");
	EXPECT(QUOTA_BAD, 0, "RateLimit-Remaining", "-1", "RateLimit-Reset",
	       "20");
	EXPECT(QUOTA_BAD, 0, "RateLimit-Remaining", "0", "RateLimit-Reset",
	       "2.5");
	EXPECT(QUOTA_LEFT, 0, "RateLimit-Remaining", " 0 ");
}

static void test_x_headers(void **state)
{
	(void)state;
	EXPECT(QUOTA_EXHAUSTED, 15, "X-RateLimit-Remaining", "0",
	       "X-RateLimit-Reset", "15");
	/* A Unix time after now: the seconds until then. */
	EXPECT(QUOTA_EXHAUSTED, 42, "X-RateLimit-Remaining", "0",
	       "X-RateLimit-Reset", "1700000042");
	/* A Unix time just past: the reset has come. */
	EXPECT(QUOTA_EXHAUSTED, 0, "X-RateLimit-Remaining", "0",
	       "X-RateLimit-Reset", "1699999999");
	EXPECT(QUOTA_LEFT, 0, "X-RateLimit-Remaining", "10",
	       "X-RateLimit-Reset", "whenever");
	EXPECT(QUOTA_BAD, 0, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset",
	       "whenever");
	EXPECT(QUOTA_BAD, 0, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset",
	       "1800000000"); /* 3 years away */
	EXPECT(QUOTA_BAD, 0, "X-RateLimit-Remaining", "many");
	EXPECT(QUOTA_NONE, 0, "X-RateLimit-Limit", "10");
	EXPECT(QUOTA_NONE, 0, "Retry-After", "10");
}

/* What is left paces the requests sent before the quota runs out. */
static void test_left(void **state)
{
	(void)state;
	LEFT(5, "RateLimit", "\"default\";r=5;t=30");
	LEFT(0, "RateLimit", "\"default\";r=0;t=30");
	/* Every item must hold: the smallest counts. */
	LEFT(2, "RateLimit", "\"minute\";r=40;t=30, \"second\";r=2;t=1");
	LEFT(4, "RateLimit-Remaining", "4", "RateLimit-Reset", "20");
	LEFT(10, "X-RateLimit-Remaining", "10");
	LEFT(-1, "X-RateLimit-Limit", "10");
	LEFT(-1, "RateLimit", "\"q\";r=-1;t=30");
	LEFT(-1, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "x");
}

/* While some is left, the wait says when what is left resets: the
 * requests in flight may use it up before an answer says 0. */
static void test_left_resets(void **state)
{
	const char *const sf[] = {
	    "RateLimit", "\"minute\";r=40;t=30, \"second\";r=2;t=1", NULL};
	const char *const trio[] = {"RateLimit-Remaining", "4",
	                            "RateLimit-Reset", "20", NULL};
	const char *const x[] = {"X-RateLimit-Remaining", "4",
	                         "X-RateLimit-Reset", "1700000015", NULL};
	const char *const bad[] = {"X-RateLimit-Remaining", "4",
	                           "X-RateLimit-Reset", "soon", NULL};
	long wait = -7;

	(void)state;
	assert_int_equal(read_h(sf, &wait), QUOTA_LEFT);
	assert_int_equal(wait, 1);
	assert_int_equal(read_h(trio, &wait), QUOTA_LEFT);
	assert_int_equal(wait, 20);
	assert_int_equal(read_h(x, &wait), QUOTA_LEFT);
	assert_int_equal(wait, 15);
	/* A bad reset beside a count still leaves the count. */
	assert_int_equal(read_h(bad, &wait), QUOTA_LEFT);
	assert_int_equal(wait, 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(quota_result_str(QUOTA_EXHAUSTED), "exhausted");
	assert_string_equal(quota_result_str(QUOTA_RESULT_MAX), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_structured),
	    cmocka_unit_test(test_structured_bad),
	    cmocka_unit_test(test_ietf_trio),
	    cmocka_unit_test(test_x_headers),
	    cmocka_unit_test(test_left),
	    cmocka_unit_test(test_left_resets),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
