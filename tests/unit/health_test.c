/* ops/health.c: the /healthz rule on its own, from a struct kstats built
 * by hand (metrics_test.c drives it through librdkafka's reports). */
#include "ops/health.h"
#include "ops/kstats.h"

#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static struct kstats steady(int64_t now)
{
	struct kstats ks;

	memset(&ks, 0, sizeof(ks));
	ks.seen = true;
	ks.has_cgrp = true;
	snprintf(ks.cgrp_state, sizeof(ks.cgrp_state), "up");
	snprintf(ks.join_state, sizeof(ks.join_state), "steady");
	ks.assignment = 3;
	ks.brokers = ks.brokers_up = 2;
	ks.has_coord = ks.coord_up = true;
	ks.broker_up_ms = ks.coord_up_ms = now;
	return ks;
}

static void test_ok_and_no_report(void **state)
{
	struct kstats ks = steady(1000), none;
	char why[160];

	(void)state;
	assert_int_equal(health_check(1000, 1000, &ks, why, sizeof(why)), 1);
	assert_string_equal(why, "ok");
	/* Before the first report Kafka is not judged. */
	memset(&none, 0, sizeof(none));
	assert_int_equal(health_check(1000, 1000, &none, why, sizeof(why)), 1);
	assert_string_equal(why, "ok");
}

static void test_loop_stall(void **state)
{
	struct kstats ks = steady(0);
	char why[160];

	(void)state;
	assert_int_equal(
	    health_check(HEALTH_LOOP_STALL_MS, 0, &ks, why, sizeof(why)), 1);
	assert_int_equal(
	    health_check(HEALTH_LOOP_STALL_MS + 1, 0, &ks, why, sizeof(why)),
	    0);
	assert_string_equal(why, "event loop stalled: last iteration 5.0 s "
	                         "ago");
}

static void test_brokers_and_coordinator(void **state)
{
	struct kstats ks = steady(1000);
	char why[160];

	(void)state;
	ks.brokers_up = 0;
	ks.coord_up = false;
	assert_int_equal(health_check(5999, 5999, &ks, why, sizeof(why)), 1);
	assert_int_equal(health_check(6000, 6000, &ks, why, sizeof(why)), 0);
	assert_string_equal(why, "no connection to any Kafka broker for "
	                         "5.0 s (0 of 2 up)");
	ks.brokers_up = 1;
	assert_int_equal(health_check(6000, 6000, &ks, why, sizeof(why)), 0);
	assert_string_equal(why, "group coordinator unreachable for 5.0 s");
	/* No coordinator in the report: nothing to lose. */
	ks.has_coord = false;
	assert_int_equal(health_check(6000, 6000, &ks, why, sizeof(why)), 1);
}

static void test_group(void **state)
{
	struct kstats ks = steady(1000);
	char why[160];

	(void)state;
	ks.assignment = 0;
	assert_int_equal(health_check(1000, 1000, &ks, why, sizeof(why)), 0);
	assert_string_equal(why,
	                    "consumer is in the group but has no partitions");
	snprintf(ks.join_state, sizeof(ks.join_state), "wait-join");
	assert_int_equal(health_check(1000, 1000, &ks, why, sizeof(why)), 1);
	snprintf(ks.cgrp_state, sizeof(ks.cgrp_state), "term");
	assert_int_equal(health_check(1000, 1000, &ks, why, sizeof(why)), 0);
	assert_string_equal(why, "consumer has left the group");
	/* No group in the report (a consumer without one). */
	ks.has_cgrp = false;
	assert_int_equal(health_check(1000, 1000, &ks, why, sizeof(why)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok_and_no_report),
	    cmocka_unit_test(test_loop_stall),
	    cmocka_unit_test(test_brokers_and_coordinator),
	    cmocka_unit_test(test_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
