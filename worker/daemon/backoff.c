#include "daemon/backoff.h"

int64_t backoff_delay_ms(int failures, int64_t initial_ms, int64_t max_ms,
                         uint32_t rnd)
{
	int64_t d = initial_ms;
	int64_t half;

	if (failures < 1)
		failures = 1;
	for (int i = 1; i < failures && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (d < 1)
		d = 1;
	half = d / 2;
	return d - half +
	       (half > 0 ? (int64_t)(rnd % (uint64_t)(half + 1)) : 0);
}

int64_t backoff_retry_after_ms(long ra_s, long max_s, int64_t min_ms)
{
	int64_t ms;

	if (ra_s < 0)
		ra_s = 0;
	if (ra_s > max_s)
		ra_s = max_s;
	ms = (int64_t)ra_s * 1000;
	return ms < min_ms ? min_ms : ms;
}
