/* Quota headers: how long until a partner's request quota refills, when
 * a response says none is left. Pure; the headers are outside input.
 *
 * Read, first form found wins:
 *  1. `RateLimit` as a structured-field list (draft-ietf-httpapi-
 *     ratelimit-headers-08 and later): `"default";r=0;t=30`, possibly
 *     several items; the quota is used up when an item has r=0, until
 *     the largest t among those items.
 *  2. `RateLimit-Remaining` and `RateLimit-Reset` (the older drafts):
 *     Reset is delta-seconds.
 *  3. `X-RateLimit-Remaining` and `X-RateLimit-Reset` (GitHub, GitLab
 *     and others): Reset is seconds from now, or a Unix time when it is
 *     larger than now. A value of 10^9 or more that is not larger than
 *     now is a Unix time already past (clocks a second apart), so no
 *     wait, rather than 50 years.
 * Remaining 0 without a reset says nothing about when: no wait (a 429
 * that follows brings its Retry-After). */
#ifndef CUSTSYNC_QUOTA_H
#define CUSTSYNC_QUOTA_H

#include <stdint.h>

/* Longest reset believed; past it the header is nonsense. */
#define QUOTA_MAX_RESET_S 31536000L /* a year */

enum quota_result {
	QUOTA_NONE,      /* no quota headers: nothing to do */
	QUOTA_LEFT,      /* quota left: send on */
	QUOTA_EXHAUSTED, /* none left: wait *wait_s (0: reset is now) */
	QUOTA_BAD,       /* present but unreadable or absurd: ignored */
	QUOTA_RESULT_MAX
};

/* get returns the value of the response's header name (any case), or
 * NULL when absent; a value need live only until the next call of get
 * (as libcurl's curl_easy_header). now_s: the Unix time, for
 * X-RateLimit-Reset. *left: the requests the quota still allows after
 * this one (with QUOTA_LEFT or QUOTA_EXHAUSTED), -1 when not said; with
 * QUOTA_LEFT, *wait_s is when that resets (0: not said). */
enum quota_result quota_read(const char *(*get)(void *arg, const char *name),
                             void *arg, int64_t now_s, long *wait_s,
                             long *left);

const char *quota_result_str(enum quota_result r);

#endif
