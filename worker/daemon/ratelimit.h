/* A token bucket: at most `requests` every `per_ms` on average, and at
 * most `burst` at once. The decisions only, on a clock the caller passes
 * (pure).
 *
 * Integer arithmetic on a scaled level: one token is per_ms units, and
 * every millisecond adds `requests` units, so the rate is exact and
 * nothing drifts however long the daemon runs. After a quiet spell the
 * bucket lets burst go at once, plus less than what one millisecond
 * refills (more than one token only when requests > per_ms). */
#ifndef CUSTSYNC_RATELIMIT_H
#define CUSTSYNC_RATELIMIT_H

#include <stdint.h>

/* The bounds config/schema.c enforces; with them no product below
 * overflows int64_t. */
#define RATELIMIT_MAX_REQUESTS 1000000L
#define RATELIMIT_MAX_PER_MS   86400000L /* one day */
#define RATELIMIT_MAX_BURST    1000000L

struct ratelimit {
	int64_t requests; /* 0: no limit, every take succeeds */
	int64_t per_ms;
	int64_t cap;   /* burst * per_ms */
	int64_t level; /* units; a token is per_ms of them */
	int64_t last;  /* monotonic ms the level was computed at */
};

/* Starts full: the first burst goes at once. requests == 0 turns the
 * limit off. The arguments must be within the bounds above. */
void ratelimit_init(struct ratelimit *r, long requests, long per_ms,
                    long burst, int64_t now);

/* A new rate and burst from now on, per_ms kept: what is in the bucket
 * stays, up to the new burst. Turned off (requests 0), the next one
 * starts full. */
void ratelimit_set(struct ratelimit *r, long requests, long burst,
                   int64_t now);

/* Non-zero when the limit is on. */
int ratelimit_on(const struct ratelimit *r);

/* Takes one token at now when there is one: non-zero when taken. */
int ratelimit_take(struct ratelimit *r, int64_t now);

/* When the next token is there: now when there is one already. */
int64_t ratelimit_due(struct ratelimit *r, int64_t now);

/* Whole tokens available at now (the gauge, at most burst); 0 when
 * off. */
int64_t ratelimit_tokens(struct ratelimit *r, int64_t now);

#endif
