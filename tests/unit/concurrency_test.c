/* concurrency.c: the adaptive limit's decisions, on a clock of our own
 * against a model server (C at once at latency L, FIFO queue). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/concurrency.h"

/* The RTT a FIFO server of capacity cap at lat_ms gives n in flight. */
static int64_t model_rtt_us(long n, long cap, int64_t lat_ms)
{
	int64_t us = lat_ms * 1000;

	return n <= cap ? us : us * n / cap;
}

/* Runs ms of traffic at the limit, one window's answers per RTT. */
static int64_t run(struct concurrency *c, int64_t now, int64_t ms, long cap,
                   int64_t lat_ms)
{
	int64_t end = now + ms;

	while (now < end) {
		long n = concurrency_limit(c);
		int64_t rtt = model_rtt_us(n, cap, lat_ms);

		now += rtt / 1000;
		for (long i = 0; i < n; i++)
			concurrency_sample(c, now, rtt, CONC_ANSWER,
			                   (size_t)n);
	}
	return now;
}

/* A limit that has grown to its max of 64 on a fast, roomy partner. */
static void warm(struct concurrency *c)
{
	concurrency_init(c, 2, 64, 0);
	run(c, 0, 2000, 1000, 20);
	assert_int_equal(concurrency_limit(c), 64);
}

static void test_starts_at_min_and_grows_to_max(void **state)
{
	struct concurrency c;

	(void)state;
	concurrency_init(&c, 2, 64, 0);
	assert_int_equal(concurrency_limit(&c), 2);
	run(&c, 0, 5000, 1000, 20);
	assert_int_equal(concurrency_limit(&c), 64);
	assert_int_equal(concurrency_baseline_us(&c), 20000);
}

static void test_settles_near_capacity(void **state)
{
	struct concurrency c;
	int64_t now;
	long lo = 1000, hi = 0;

	(void)state;
	concurrency_init(&c, 1, 64, 0);
	now = run(&c, 0, 5000, 4, 50);
	/* From then on it stays between 0.7 C and 1.5 C (benchmark G's
	 * target): shrunk by a quarter from above 1.5 C, grown to 1.25 C. */
	for (int i = 0; i < 100; i++) {
		long l = concurrency_limit(&c);

		lo = l < lo ? l : lo;
		hi = l > hi ? l : hi;
		now = run(&c, now, 60, 4, 50);
	}
	assert_true(lo >= 3);
	assert_true(hi <= 6);
	/* Capacity lifted: it grows back, one step per window. */
	run(&c, now, 3000, 1000, 50);
	assert_int_equal(concurrency_limit(&c), 64);
}

static void test_overload_halves_once_per_window(void **state)
{
	struct concurrency c;

	(void)state;
	warm(&c);
	/* Many 503s within one window are one decrease. */
	for (int i = 0; i < 50; i++)
		concurrency_sample(&c, 2010, -1, CONC_OVERLOAD, 64);
	assert_int_equal(concurrency_limit(&c), 64);
	assert_true(concurrency_tick(&c, 2030));
	assert_int_equal(concurrency_limit(&c), 32);
	/* Never below min. */
	for (int64_t t = 2040; t < 3000; t += 25) {
		concurrency_sample(&c, t, -1, CONC_OVERLOAD, 2);
		concurrency_tick(&c, t);
	}
	assert_int_equal(concurrency_limit(&c), 2);
}

static void test_rtt_rise_shrinks(void **state)
{
	struct concurrency c;
	int64_t t = 2000;

	(void)state;
	warm(&c);
	/* Three times the baseline: a queue, down by a quarter. */
	for (int i = 0; i < 64; i++)
		concurrency_sample(&c, t, 60000, CONC_ANSWER, 64);
	assert_true(concurrency_tick(&c, t + 25));
	assert_int_equal(concurrency_limit(&c), 48);
	/* Between the thresholds: held. */
	for (int i = 0; i < 48; i++)
		concurrency_sample(&c, t + 30, 27000, CONC_ANSWER, 48);
	assert_false(concurrency_tick(&c, t + 60));
	assert_int_equal(concurrency_limit(&c), 48);
}

/* A window in which custsync's own loop waited for a CPU for a quarter
 * of the baseline or more is not judged by its RTT; one with less is. */
static void test_own_cpu_wait_is_not_a_queue(void **state)
{
	struct concurrency c;
	int64_t t = 2025;

	(void)state;
	warm(&c);
	concurrency_cpu_wait(&c, 1000000);
	/* The first total is taken as the window's start. */
	assert_true(concurrency_window_due(&c, t));
	concurrency_tick(&c, t);
	assert_false(concurrency_window_due(&c, t + 5));
	concurrency_cpu_wait(&c, 1000000 + 6000); /* 6 ms of 20 */
	for (int i = 0; i < 64; i++)
		concurrency_sample(&c, t + 10, 60000, CONC_ANSWER, 64);
	assert_false(concurrency_tick(&c, t + 25));
	assert_int_equal(concurrency_limit(&c), 64);
	assert_int_equal(concurrency_stalled_windows(&c), 1);
	/* A refusal counts whatever the stall. */
	concurrency_cpu_wait(&c, 1000000 + 20000);
	concurrency_sample(&c, t + 30, 20000, CONC_OVERLOAD, 64);
	assert_true(concurrency_tick(&c, t + 50));
	assert_int_equal(concurrency_limit(&c), 32);
	/* 4 ms of 20 is not enough to excuse an RTT of 3 x. */
	concurrency_cpu_wait(&c, 1000000 + 24000);
	for (int i = 0; i < 32; i++)
		concurrency_sample(&c, t + 60, 60000, CONC_ANSWER, 32);
	assert_true(concurrency_tick(&c, t + 75));
	assert_int_equal(concurrency_limit(&c), 24);
}

static void test_unused_limit_does_not_grow(void **state)
{
	struct concurrency c;
	int64_t t = 0;

	(void)state;
	concurrency_init(&c, 2, 64, 0);
	run(&c, 0, 200, 1000, 20);
	{
		long l = concurrency_limit(&c);

		/* One request at a time, fast: nothing proves more would
		 * be served as fast. */
		for (t = 300; t < 2000; t += 20)
			concurrency_sample(&c, t, 20000, CONC_ANSWER, 1);
		assert_int_equal(concurrency_limit(&c), l);
	}
}

static void test_learns_a_slower_partner(void **state)
{
	struct concurrency c;
	int64_t now;

	(void)state;
	warm(&c);
	now = 2000;
	/* Three times slower for good, with room for everyone: down to
	 * the minimum, where the baseline is learnt again, then up. */
	run(&c, now, 30000, 1000, 60);
	assert_true(concurrency_baseline_us(&c) >= 30000);
	assert_int_equal(concurrency_limit(&c), 64);
}

static void test_slow_start_ends_at_first_wait(void **state)
{
	struct concurrency c;

	(void)state;
	concurrency_init(&c, 2, 64, 0);
	concurrency_sample(&c, 5, 20000, CONC_ANSWER, 2);
	concurrency_sample(&c, 5, 20000, CONC_ANSWER, 2);
	assert_true(concurrency_tick(&c, 12)); /* 10 ms: the first window */
	assert_int_equal(concurrency_limit(&c), 4);
	/* Three fast, one that waited: the mean is fine, doubling ends. */
	for (int i = 0; i < 3; i++)
		concurrency_sample(&c, 20, 20000, CONC_ANSWER, 4);
	concurrency_sample(&c, 25, 30000, CONC_ANSWER, 4);
	assert_true(concurrency_tick(&c, 32));
	assert_int_equal(concurrency_limit(&c), 5);
	for (int i = 0; i < 5; i++)
		concurrency_sample(&c, 40, 20000, CONC_ANSWER, 5);
	assert_true(concurrency_tick(&c, 52));
	assert_int_equal(concurrency_limit(&c), 6);
}

static void test_signals(void **state)
{
	struct concurrency c;

	(void)state;
	assert_int_equal(concurrency_signal(200, -1, 5000), CONC_ANSWER);
	assert_int_equal(concurrency_signal(404, -1, 5000), CONC_ANSWER);
	assert_int_equal(concurrency_signal(500, -1, 5000), CONC_ANSWER);
	assert_int_equal(concurrency_signal(429, -1, 5000), CONC_OVERLOAD);
	assert_int_equal(concurrency_signal(503, -1, 5000), CONC_OVERLOAD);
	assert_int_equal(concurrency_signal(0, -1, 10000000), CONC_OVERLOAD);
	/* The hold's, and never sent. */
	assert_int_equal(concurrency_signal(429, 3, 5000), CONC_IGNORE);
	assert_int_equal(concurrency_signal(503, 0, 5000), CONC_IGNORE);
	assert_int_equal(concurrency_signal(0, -1, -1), CONC_IGNORE);
	warm(&c);
	for (int i = 0; i < 50; i++)
		concurrency_sample(&c, 2100, 5000, CONC_IGNORE, 64);
	assert_false(concurrency_tick(&c, 2200));
	assert_int_equal(concurrency_limit(&c), 64);
}

static void test_should_log_on_half(void **state)
{
	struct concurrency c;

	(void)state;
	concurrency_init(&c, 2, 64, 0);
	assert_true(concurrency_should_log(&c)); /* the first */
	assert_false(concurrency_should_log(&c));
	c.limit = 3;
	assert_false(concurrency_should_log(&c)); /* +1/2: not more */
	c.limit = 4;
	assert_true(concurrency_should_log(&c));
	c.limit = 2;
	assert_false(concurrency_should_log(&c));
	c.limit = 1.5; /* clamped to min 2 */
	assert_false(concurrency_should_log(&c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starts_at_min_and_grows_to_max),
	    cmocka_unit_test(test_settles_near_capacity),
	    cmocka_unit_test(test_overload_halves_once_per_window),
	    cmocka_unit_test(test_rtt_rise_shrinks),
	    cmocka_unit_test(test_own_cpu_wait_is_not_a_queue),
	    cmocka_unit_test(test_unused_limit_does_not_grow),
	    cmocka_unit_test(test_learns_a_slower_partner),
	    cmocka_unit_test(test_slow_start_ends_at_first_wait),
	    cmocka_unit_test(test_signals),
	    cmocka_unit_test(test_should_log_on_half),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
