/* The request rate learnt from a partner's quota (with target.max_in_flight:
 * adaptive). A quota that shows only as 429 + Retry-After, without quota
 * headers, leaves no trace in the round-trip time, so the concurrency
 * limit cannot see it; what the partner accepted between two such holds
 * can: a 429's Retry-After is about the rest of the quota's window, and
 * what was accepted in that long before the 429 is about the quota. From
 * the first such hold on, requests are paced by a token bucket just below
 * it, and the pace then grows as TCP CUBIC's window does: slowly near the
 * quota, quickly well past it (the quota was raised or lifted); a pace
 * four times the learnt quota is forgotten. The rule and its constants are in
 * the README ("A quota learnt from its 429s").
 *
 * Decisions only, on a clock the caller passes (pure). */
#ifndef CUSTSYNC_QUOTARATE_H
#define CUSTSYNC_QUOTARATE_H

#include <stdint.h>

#include "daemon/ratelimit.h"

/* Accepted answers per 100 ms over the last minute: a quota's windows
 * are counted against it. */
#define QUOTARATE_SLOT_MS 100
#define QUOTARATE_SLOTS   600

struct quotarate {
	int on; /* learning at all (adaptive) */

	uint32_t slots[QUOTARATE_SLOTS];
	int64_t slot_at; /* the slot number (ms / SLOT_MS) written last */

	/* For windows longer than the ring: the answers since the last hold
	 * ended, or since work started after a quiet spell. */
	int64_t cycle_start; /* monotonic ms; 0: no cycle yet */
	int64_t last_seen;   /* the last request sent or answered */
	uint64_t accepted;   /* answers other than 429 in the cycle */

	int held;          /* a 429 holds the endpoint: learn at its end */
	double quota;      /* requests/s the partner took, judged at the 429 */
	int64_t resumed;   /* when the last hold ended; 0: none yet */
	int64_t window_ms; /* the quota's window: the longest first wait */

	double rate;    /* requests/s paced at; 0: not learnt, no pacing */
	double ceiling; /* where the partner's quota is believed to be */
	int64_t grown;  /* the last growth step */
	int limited;    /* a request waited for a token since then */
	double logged;  /* the rate the last log line showed */

	struct ratelimit bucket;
};

void quotarate_init(struct quotarate *q, int on, int64_t now);

/* A request to the partner goes at now. */
void quotarate_sent(struct quotarate *q, int64_t now);

/* An answer came (status 0: none did). */
void quotarate_answered(struct quotarate *q, int64_t now, long status);

/* A 429 with Retry-After holds the endpoint at now. */
void quotarate_held(struct quotarate *q, int64_t now, long retry_after_s);

/* The endpoint hold ended at now: the rate is learnt when it was a
 * quota's. Non-zero when the rate changed. */
int quotarate_hold_ended(struct quotarate *q, int64_t now);

/* A request had to wait for this bucket's token. */
void quotarate_waited(struct quotarate *q);

/* Grows the rate while it is what holds requests back. Non-zero when the
 * rate changed (or was forgotten). */
int quotarate_tick(struct quotarate *q, int64_t now);

/* The pacing bucket; off (every take succeeds) while nothing is learnt. */
struct ratelimit *quotarate_bucket(struct quotarate *q);

/* Requests per second paced at; 0 when none. */
double quotarate_rate(const struct quotarate *q);

/* Non-zero once the rate is more than half away from the one last
 * logged (or was learnt or forgotten since): the caller logs. */
int quotarate_should_log(struct quotarate *q);

#endif
