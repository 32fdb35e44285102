/* ratelimit.c: the token bucket's decisions, on a clock of our own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/ratelimit.h"

static void test_off(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 0, 1000, 1, 0);
	assert_false(ratelimit_on(&r));
	for (int i = 0; i < 1000; i++)
		assert_true(ratelimit_take(&r, 0));
	assert_int_equal(ratelimit_due(&r, 5), 5);
	assert_int_equal(ratelimit_tokens(&r, 5), 0);
}

static void test_burst_then_rate(void **state)
{
	struct ratelimit r;

	(void)state;
	/* 10 per second, 3 at once: starts full. */
	ratelimit_init(&r, 10, 1000, 3, 1000);
	assert_int_equal(ratelimit_tokens(&r, 1000), 3);
	assert_true(ratelimit_take(&r, 1000));
	assert_true(ratelimit_take(&r, 1000));
	assert_true(ratelimit_take(&r, 1000));
	assert_false(ratelimit_take(&r, 1000));
	assert_int_equal(ratelimit_tokens(&r, 1000), 0);
	assert_int_equal(ratelimit_due(&r, 1000), 1100);
	assert_false(ratelimit_take(&r, 1099));
	assert_int_equal(ratelimit_due(&r, 1099), 1100);
	assert_true(ratelimit_take(&r, 1100));
	assert_false(ratelimit_take(&r, 1100));
	/* A quiet spell fills the bucket to burst, never beyond. */
	assert_int_equal(ratelimit_tokens(&r, 100000), 3);
}

/* per_ms not a multiple of requests: 3 every 1000 ms is a token every
 * 333.33 ms; the remainders are kept, so after a long run the count is
 * exact to the request. */
static void test_no_drift(void **state)
{
	struct ratelimit r;
	int64_t now = 0, taken = 0;
	const int64_t days = 90, end = days * 86400000;

	(void)state;
	ratelimit_init(&r, 3, 1000, 1, 0);
	assert_true(ratelimit_take(&r, 0));
	taken = 1;
	while (now < end) {
		now = ratelimit_due(&r, now);
		if (now > end)
			break;
		assert_true(ratelimit_take(&r, now));
		taken++;
	}
	/* One at 0, then exactly 3 per 1000 ms. */
	assert_int_equal(taken, 1 + end * 3 / 1000);
}

/* A pace changed every few tokens keeps what was earned: changing the
 * rate every 100 ms to the same value loses nothing over a minute, and a
 * new burst caps the level. */
static void test_set_keeps_the_level(void **state)
{
	struct ratelimit r;
	int64_t now = 0, taken = 0;

	(void)state;
	ratelimit_init(&r, 0, 60000, 1, 0);
	ratelimit_set(&r, 11700, 3, 0); /* 195 a second */
	assert_true(ratelimit_on(&r));
	while (now < 60000) {
		int64_t next = ratelimit_due(&r, now);

		if (next / 100 != now / 100)
			ratelimit_set(&r, 11700, 3, (now / 100 + 1) * 100);
		now = next;
		if (now >= 60000)
			break;
		if (ratelimit_take(&r, now))
			taken++;
	}
	/* 3 at once, then 195 a second. */
	assert_true(taken >= 3 + 11700 - 2 && taken <= 3 + 11700);
	/* A quiet spell fills it; a smaller burst then caps it. */
	assert_int_equal(ratelimit_tokens(&r, 200000), 3);
	ratelimit_set(&r, 11700, 1, 200000);
	assert_int_equal(ratelimit_tokens(&r, 200000), 1);
	ratelimit_set(&r, 0, 1, 200000);
	assert_false(ratelimit_on(&r));
}

/* Any window of per_ms holds at most burst - 1 + requests takes, the
 * property that keeps a matching fixed-window quota from answering 429
 * when burst is 1. */
static void test_window_bound(void **state)
{
	struct ratelimit r;
	int64_t t[400];
	int n = 0, now = 0;

	(void)state;
	ratelimit_init(&r, 7, 1000, 1, 0);
	while (n < 400) {
		now = (int)ratelimit_due(&r, now);
		assert_true(ratelimit_take(&r, now));
		t[n++] = now;
	}
	for (int i = 0; i + 7 < n; i++)
		assert_true(t[i + 7] - t[i] >= 1000);
}

static void test_clock_back_and_extremes(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 1, 1000, 1, 5000);
	assert_true(ratelimit_take(&r, 5000));
	/* Going back adds nothing and the due time stays real. */
	assert_false(ratelimit_take(&r, 4000));
	assert_int_equal(ratelimit_due(&r, 4000), 6000);
	assert_true(ratelimit_take(&r, 6000));

	/* The largest bounds, after the longest quiet spell: no overflow. */
	ratelimit_init(&r, RATELIMIT_MAX_REQUESTS, RATELIMIT_MAX_PER_MS,
	               RATELIMIT_MAX_BURST, 0);
	for (int i = 0; i < 10; i++)
		assert_true(ratelimit_take(&r, 0));
	assert_int_equal(ratelimit_tokens(&r, INT64_MAX / 2),
	                 RATELIMIT_MAX_BURST);
	ratelimit_init(&r, RATELIMIT_MAX_REQUESTS, 1, RATELIMIT_MAX_BURST, 0);
	assert_int_equal(ratelimit_tokens(&r, INT64_MAX / 2),
	                 RATELIMIT_MAX_BURST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off),
	    cmocka_unit_test(test_burst_then_rate),
	    cmocka_unit_test(test_no_drift),
	    cmocka_unit_test(test_window_bound),
	    cmocka_unit_test(test_set_keeps_the_level),
	    cmocka_unit_test(test_clock_back_and_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
