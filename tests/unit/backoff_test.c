/* backoff.c: the arithmetic of waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/backoff.h"

static void test_doubles_and_caps(void **state)
{
	(void)state;
	/* rnd 0 gives the lower bound: half the nominal delay */
	assert_int_equal(backoff_delay_ms(1, 200, 60000, 0), 100);
	assert_int_equal(backoff_delay_ms(2, 200, 60000, 0), 200);
	assert_int_equal(backoff_delay_ms(3, 200, 60000, 0), 400);
	assert_int_equal(backoff_delay_ms(20, 200, 60000, 0), 30000);
	assert_int_equal(backoff_delay_ms(1000, 200, 60000, 0), 30000);
	/* the largest jitter reaches the nominal delay, never more */
	assert_int_equal(backoff_delay_ms(3, 200, 60000, 200), 600);
	assert_int_equal(backoff_delay_ms(3, 200, 60000, 400), 800);
	assert_int_equal(backoff_delay_ms(3, 200, 60000, 401), 400);
	assert_int_equal(backoff_delay_ms(0, 200, 60000, 0), 100);
}

static void test_jitter_bounds(void **state)
{
	(void)state;
	for (uint32_t r = 0; r < 5000; r += 7) {
		int64_t d = backoff_delay_ms(4, 100, 60000, r * 2654435761u);

		assert_true(d >= 400 && d <= 800);
	}
	assert_int_equal(backoff_delay_ms(1, 1, 10, 12345), 1);
}

static void test_retry_after(void **state)
{
	(void)state;
	assert_int_equal(backoff_retry_after_ms(3600, 3600, 200), 3600000);
	assert_int_equal(backoff_retry_after_ms(7200, 3600, 200), 3600000);
	assert_int_equal(backoff_retry_after_ms(2, 3600, 200), 2000);
	/* "now" or a date in the past still waits a little */
	assert_int_equal(backoff_retry_after_ms(0, 3600, 200), 200);
	assert_int_equal(backoff_retry_after_ms(-5, 3600, 200), 200);
	assert_int_equal(backoff_retry_after_ms(10, 0, 200), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doubles_and_caps),
	    cmocka_unit_test(test_jitter_bounds),
	    cmocka_unit_test(test_retry_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
