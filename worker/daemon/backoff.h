/* Retry arithmetic: exponential backoff with jitter, Retry-After caps. */
#ifndef CUSTSYNC_BACKOFF_H
#define CUSTSYNC_BACKOFF_H

#include <stdint.h>

/* Delay before retry number `failures` (1 = first retry):
 * min(max, initial * 2^(failures-1)), of which the upper half is
 * jittered ("equal jitter"), so retries spread out but never collapse
 * to zero. rnd is a uniform random number. */
int64_t backoff_delay_ms(int failures, int64_t initial_ms, int64_t max_ms,
                         uint32_t rnd);

/* How long an endpoint-wide hold lasts for a Retry-After of ra_s seconds:
 * capped by max_s; a zero wait still holds for min_ms so a server that
 * says "now" is not hammered. */
int64_t backoff_retry_after_ms(long ra_s, long max_s, int64_t min_ms);

#endif
