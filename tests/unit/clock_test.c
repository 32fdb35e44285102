/* clock.c: the monotonic and the wall clock in milliseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/clock.h"

#include <time.h>

static void test_mono_never_goes_back(void **state)
{
	int64_t a, b;

	(void)state;
	a = clock_mono_ms();
	for (int i = 0; i < 1000; i++) {
		b = clock_mono_ms();
		assert_true(b >= a);
		a = b;
	}
}

/* The wall clock agrees with time(2) to the second. */
static void test_wall_is_epoch_ms(void **state)
{
	time_t before = time(NULL);
	int64_t ms = clock_wall_ms();
	time_t after = time(NULL);

	(void)state;
	assert_true(ms / 1000 >= (int64_t)before);
	assert_true(ms / 1000 <= (int64_t)after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mono_never_goes_back),
	    cmocka_unit_test(test_wall_is_epoch_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
