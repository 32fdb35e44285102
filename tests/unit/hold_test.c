/* hold.c: the Retry-After hold's decisions, on a clock of our own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/hold.h"

#include <string.h>

/* Jobs are only compared by address. */
static const int job_a, job_b;

static void test_start_and_extend(void **state)
{
	struct hold h = {0};

	(void)state;
	assert_false(hold_blocks(&h, &job_a));
	assert_int_equal(hold_left_ms(&h, 1000), 0);
	assert_int_equal(hold_wake_ms(&h), INT64_MAX);

	assert_int_equal(hold_start(&h, 1000, 5000), HOLD_STARTED);
	assert_int_equal(h.until, 6000);
	assert_true(hold_blocks(&h, &job_a));
	assert_int_equal(hold_left_ms(&h, 2000), 4000);
	assert_int_equal(hold_wake_ms(&h), 6000);

	/* A shorter or equal wait changes nothing; a longer one extends. */
	assert_int_equal(hold_start(&h, 2000, 1000), HOLD_KEPT);
	assert_int_equal(hold_start(&h, 2000, 4000), HOLD_KEPT);
	assert_int_equal(h.until, 6000);
	assert_int_equal(hold_start(&h, 2000, 4001), HOLD_EXTENDED);
	assert_int_equal(h.until, 6001);
	/* Past due the time left is negative, as the metric reports it. */
	assert_int_equal(hold_left_ms(&h, 7001), -1000);
}

static void test_due_probe_end(void **state)
{
	struct hold h = {0};

	(void)state;
	assert_int_equal(hold_due(&h, 0, 3), HOLD_WAIT);
	hold_start(&h, 0, 1000);
	assert_int_equal(hold_due(&h, 999, 3), HOLD_WAIT);
	assert_int_equal(hold_due(&h, 1000, 3), HOLD_PROBE);
	/* Nobody waits when it is due: the hold just ends. */
	assert_int_equal(hold_due(&h, 1000, 0), HOLD_END);

	hold_probe(&h, &job_a);
	/* The probe is sent, the others keep waiting; no wake-up needed
	 * and no second probe while it is out. */
	assert_false(hold_blocks(&h, &job_a));
	assert_true(hold_blocks(&h, &job_b));
	assert_int_equal(hold_wake_ms(&h), INT64_MAX);
	assert_int_equal(hold_due(&h, 5000, 3), HOLD_WAIT);

	/* Another job's answer decides nothing. */
	assert_false(hold_answered(&h, &job_b, 0));
	assert_ptr_equal(h.probe, &job_a);
	/* The probe's answer that is no Retry-After ends the hold. */
	assert_true(hold_answered(&h, &job_a, 0));
	assert_null(h.probe);
	assert_true(hold_end(&h));
	assert_false(hold_blocks(&h, &job_b));
	assert_false(hold_end(&h)); /* once */
	assert_int_equal(hold_due(&h, 9000, 3), HOLD_WAIT);
}

static void test_probe_held_again(void **state)
{
	struct hold h = {0};

	(void)state;
	hold_start(&h, 0, 1000);
	hold_probe(&h, &job_a);
	/* Held again: the hold goes on, longer, and the next probe comes
	 * when it is due. */
	assert_false(hold_answered(&h, &job_a, 1));
	assert_null(h.probe);
	assert_int_equal(hold_start(&h, 1200, 2000), HOLD_EXTENDED);
	assert_true(hold_blocks(&h, &job_a));
	assert_int_equal(hold_wake_ms(&h), 3200);
	assert_int_equal(hold_due(&h, 3199, 1), HOLD_WAIT);
	assert_int_equal(hold_due(&h, 3200, 1), HOLD_PROBE);
}

static void test_forget_and_cancel(void **state)
{
	struct hold h = {0};

	(void)state;
	hold_start(&h, 0, 1000);
	hold_probe(&h, &job_a);
	/* A cancelled probe: the next one is picked when due. */
	hold_forget(&h, &job_b);
	assert_ptr_equal(h.probe, &job_a);
	hold_forget(&h, &job_a);
	assert_null(h.probe);
	assert_int_equal(hold_due(&h, 1000, 2), HOLD_PROBE);

	/* Shutdown: nothing waits for the hold any more, but a probe in
	 * flight is still recognised when it is answered. */
	hold_probe(&h, &job_b);
	hold_cancel(&h);
	assert_false(hold_blocks(&h, &job_a));
	assert_int_equal(hold_wake_ms(&h), INT64_MAX);
	assert_int_equal(hold_left_ms(&h, 5000), 0);
	assert_true(hold_answered(&h, &job_b, 0));
	assert_false(hold_end(&h)); /* nothing left to end */
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(hold_change_str(HOLD_STARTED), "started");
	assert_string_equal(hold_change_str(HOLD_CHANGE_MAX), "?");
	assert_string_equal(hold_due_str(HOLD_PROBE), "probe");
	assert_string_equal(hold_due_str(HOLD_DUE_MAX), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_start_and_extend),
	    cmocka_unit_test(test_due_probe_end),
	    cmocka_unit_test(test_probe_held_again),
	    cmocka_unit_test(test_forget_and_cancel),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
