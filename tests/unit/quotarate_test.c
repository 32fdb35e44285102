/* quotarate.c: the rate learnt from a quota's 429s, against a model of a
 * fixed-window quota (N requests per window, the window starting with
 * the first request after the last one ended, a 429 with Retry-After
 * rounded up to whole seconds beyond it: the reference API's model and
 * the common one), on a clock of our own, millisecond by millisecond. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/quotarate.h"

#define LAT_MS 20
#define SLOTS  64 /* requests in flight at most */

struct model {
	long quota, window_ms; /* quota 0: none */
	int64_t win_start;
	long used;

	int64_t due[SLOTS]; /* answer times; 0: free slot */
	long status[SLOTS];
	int64_t hold_until;

	long sent, n429, accepted;
	double max_rate;
};

static long serve(struct model *m, int64_t now, long *retry_after_s)
{
	if (!m->quota)
		return 200;
	if (!m->win_start || now - m->win_start >= m->window_ms) {
		m->win_start = now;
		m->used = 0;
	}
	if (m->used >= m->quota) {
		*retry_after_s =
		    (m->win_start + m->window_ms - now + 999) / 1000;
		return 429;
	}
	m->used++;
	return 200;
}

/* ms of a client with a backlog: 64 in flight at most, paced by the
 * bucket, held by a 429's Retry-After. */
static int64_t run(struct quotarate *q, struct model *m, int64_t now,
                   int64_t ms)
{
	int64_t end = now + ms;
	long ra = 0;

	for (; now < end; now++) {

		for (int i = 0; i < SLOTS; i++) {
			if (!m->due[i] || m->due[i] != now)
				continue;
			m->due[i] = 0;
			quotarate_answered(q, now, m->status[i]);
			if (m->status[i] == 429) {
				m->n429++;
				if (!m->hold_until) {
					m->hold_until = now + ra * 1000;
					quotarate_held(q, now, ra);
				}
			} else {
				m->accepted++;
			}
		}
		if (m->hold_until && now >= m->hold_until) {
			m->hold_until = 0;
			quotarate_hold_ended(q, now);
		}
		for (int i = 0; i < SLOTS && !m->hold_until; i++) {
			if (m->due[i])
				continue;
			if (!ratelimit_take(quotarate_bucket(q), now)) {
				quotarate_waited(q);
				break;
			}
			quotarate_sent(q, now);
			m->status[i] = serve(m, now, &ra);
			m->due[i] = now + LAT_MS;
			m->sent++;
		}
		quotarate_tick(q, now);
		if (quotarate_rate(q) > m->max_rate)
			m->max_rate = quotarate_rate(q);
	}
	return now;
}

static void test_learns_a_quota_from_its_holds(void **state)
{
	struct model m = {.quota = 200, .window_ms = 1000};
	struct quotarate q;
	int64_t now;
	long sent, n429, accepted;

	(void)state;
	quotarate_init(&q, 1, 1);
	/* The first window goes unpaced: the requests in flight when the
	 * quota ran out get their 429s, then the hold teaches the rate. */
	now = run(&q, &m, 1, 3000);
	assert_true(m.n429 > 0);
	assert_true(quotarate_rate(&q) > 0.8 * 200);
	/* From then on: a minute at most of 0.5 % 429s and at least 0.85 of
	 * the quota. */
	sent = m.sent, n429 = m.n429, accepted = m.accepted;
	run(&q, &m, now, 60000);
	sent = m.sent - sent, n429 = m.n429 - n429;
	accepted = m.accepted - accepted;
	print_message("sent %ld, 429 %ld, accepted %ld/s, rate %.1f\n", sent,
	              n429, accepted / 60, quotarate_rate(&q));
	assert_true(n429 * 200 <= sent);
	assert_true(accepted >= 0.85 * 200 * 60);
	assert_true(quotarate_rate(&q) < 1.1 * 200);
}

static void test_a_longer_window(void **state)
{
	/* 100 requests a minute: all of them go in the first second, then
	 * the hold lasts the rest of the minute. */
	struct model m = {.quota = 100, .window_ms = 60000};
	struct quotarate q;
	int64_t now;
	long accepted;

	(void)state;
	quotarate_init(&q, 1, 1);
	now = run(&q, &m, 1, 61000);
	assert_true(quotarate_rate(&q) > 1.4 && quotarate_rate(&q) < 1.9);
	accepted = m.accepted;
	m.n429 = 0;
	run(&q, &m, now, 600000);
	accepted = m.accepted - accepted;
	assert_true(accepted >= 0.85 * 1000);
	assert_true(m.n429 <= 10);
}

static void test_a_lifted_quota_is_forgotten(void **state)
{
	struct model m = {.quota = 200, .window_ms = 1000};
	struct quotarate q;
	int64_t now;
	double r;

	(void)state;
	quotarate_init(&q, 1, 1);
	now = run(&q, &m, 1, 5000);
	r = quotarate_rate(&q);
	assert_true(r > 0);
	m.quota = 0;
	now = run(&q, &m, now, 30000);
	/* Near the old ceiling it grows slowly, but it grows. */
	assert_true(quotarate_rate(&q) > r);
	now = run(&q, &m, now, 240000);
	assert_true(quotarate_rate(&q) == 0);
	assert_true(ratelimit_take(quotarate_bucket(&q), now));
}

static void test_quiet_spells_do_not_read_as_a_low_rate(void **state)
{
	struct model m = {.quota = 200, .window_ms = 1000};
	struct quotarate q;

	(void)state;
	quotarate_init(&q, 1, 1);
	/* A few requests, a quiet minute, then a burst: the cycle starts
	 * with the burst, not with the few. */
	for (int i = 0; i < 10; i++) {
		quotarate_sent(&q, 1);
		quotarate_answered(&q, 21, 200);
	}
	run(&q, &m, 60001, 3000);
	assert_true(quotarate_rate(&q) > 0.8 * 200);
}

static void test_the_quota_is_judged_over_the_retry_after(void **state)
{
	struct quotarate q;
	int64_t now = 100000;

	(void)state;
	quotarate_init(&q, 1, now - 5000);
	/* 300 accepted in the last second, 100 before that: unpaced, a
	 * Retry-After of 1 says the quota took 300 a second. */
	for (int i = 0; i < 100; i++)
		quotarate_answered(&q, now - 1500, 200);
	for (int i = 0; i < 300; i++)
		quotarate_answered(&q, now - 500, 200);
	quotarate_answered(&q, now, 429);
	quotarate_held(&q, now, 1);
	assert_true(quotarate_hold_ended(&q, now + 1000));
	assert_true(quotarate_rate(&q) > 284 && quotarate_rate(&q) < 286);
	/* Paced: judged over 10 s at least (and not over the last hold),
	 * here the 20 s since it ended: 4000 / 20 s. */
	now += 21000;
	for (int i = 0; i < 4000; i++)
		quotarate_answered(&q, now - 20000 + i * 5, 200);
	quotarate_held(&q, now, 1);
	/* Held again before the hold ended: the first 429 judged. */
	quotarate_held(&q, now + 100, 5);
	assert_true(quotarate_hold_ended(&q, now + 2000));
	assert_true(quotarate_rate(&q) > 186 && quotarate_rate(&q) < 191);
}

static void test_an_hourly_quota(void **state)
{
	/* Past the ring's minute: the cycle's count over the wait. */
	struct model m = {.quota = 360, .window_ms = 3600000};
	struct quotarate q;

	(void)state;
	quotarate_init(&q, 1, 1);
	run(&q, &m, 1, 3601000);
	assert_true(quotarate_rate(&q) > 0.09 && quotarate_rate(&q) < 0.11);
}

static void test_holds_that_are_not_a_quotas_teach_nothing(void **state)
{
	struct quotarate q, off;

	(void)state;
	quotarate_init(&q, 1, 1);
	quotarate_sent(&q, 1);
	quotarate_answered(&q, 20, 200);
	/* A 503's hold ends without a 429 having held. */
	assert_false(quotarate_hold_ended(&q, 2000));
	assert_true(quotarate_rate(&q) == 0);
	/* Off (a fixed max_in_flight): nothing is ever learnt. */
	quotarate_init(&off, 0, 1);
	quotarate_sent(&off, 1);
	quotarate_answered(&off, 20, 200);
	quotarate_held(&off, 1, 1);
	assert_false(quotarate_hold_ended(&off, 2000));
	assert_true(ratelimit_take(quotarate_bucket(&off), 2000));
}

static void test_logs_big_changes_only(void **state)
{
	struct quotarate q;

	(void)state;
	quotarate_init(&q, 1, 1);
	assert_false(quotarate_should_log(&q));
	quotarate_sent(&q, 1);
	for (int i = 0; i < 100; i++)
		quotarate_answered(&q, 10, 200);
	quotarate_held(&q, 500, 1);
	quotarate_hold_ended(&q, 1001);
	assert_true(quotarate_should_log(&q));
	assert_false(quotarate_should_log(&q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_learns_a_quota_from_its_holds),
	    cmocka_unit_test(test_a_longer_window),
	    cmocka_unit_test(test_a_lifted_quota_is_forgotten),
	    cmocka_unit_test(test_quiet_spells_do_not_read_as_a_low_rate),
	    cmocka_unit_test(test_the_quota_is_judged_over_the_retry_after),
	    cmocka_unit_test(test_an_hourly_quota),
	    cmocka_unit_test(test_holds_that_are_not_a_quotas_teach_nothing),
	    cmocka_unit_test(test_logs_big_changes_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
