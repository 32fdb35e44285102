#include "daemon/ratelimit.h"

void ratelimit_init(struct ratelimit *r, long requests, long per_ms,
                    long burst, int64_t now)
{
	r->requests = requests > 0 ? requests : 0;
	r->per_ms = per_ms > 0 ? per_ms : 1;
	r->cap = (burst > 0 ? burst : 1) * r->per_ms;
	r->level = r->cap;
	r->last = now;
}

int ratelimit_on(const struct ratelimit *r)
{
	return r->requests > 0;
}

/* Brings the level to now. The bucket holds burst tokens plus less than
 * one millisecond's refill: a request served at its due time (rounded
 * up to the millisecond) keeps the fraction it came late by, so a busy
 * limit keeps its exact rate instead of losing up to a millisecond per
 * token. The refill is compared before it is multiplied, so a long
 * quiet spell cannot overflow. A clock that went back adds nothing. */
static void refill(struct ratelimit *r, int64_t now)
{
	int64_t full = r->cap + r->requests - 1, dt;

	if (now <= r->last)
		return;
	dt = now - r->last;
	r->last = now;
	if (dt >= (full - r->level + r->requests - 1) / r->requests)
		r->level = full;
	else
		r->level += dt * r->requests;
}

int ratelimit_take(struct ratelimit *r, int64_t now)
{
	if (!ratelimit_on(r))
		return 1;
	refill(r, now);
	if (r->level < r->per_ms)
		return 0;
	r->level -= r->per_ms;
	return 1;
}

int64_t ratelimit_due(struct ratelimit *r, int64_t now)
{
	int64_t missing;

	if (!ratelimit_on(r))
		return now;
	refill(r, now);
	if (r->level >= r->per_ms)
		return now;
	missing = r->per_ms - r->level;
	/* last, not now: a clock that went back still gets a real time. */
	return r->last + (missing + r->requests - 1) / r->requests;
}

int64_t ratelimit_tokens(struct ratelimit *r, int64_t now)
{
	if (!ratelimit_on(r))
		return 0;
	refill(r, now);
	return r->level >= r->cap ? r->cap / r->per_ms : r->level / r->per_ms;
}

void ratelimit_set(struct ratelimit *r, long requests, long burst, int64_t now)
{
	if (!ratelimit_on(r)) {
		ratelimit_init(r, requests, r->per_ms, burst, now);
		return;
	}
	/* The tokens of the old rate up to now are earned; the level keeps
	 * its fraction of a token, which a change every few tokens would
	 * otherwise lose each time. */
	refill(r, now);
	r->requests = requests > 0 ? requests : 0;
	r->cap = (burst > 0 ? burst : 1) * r->per_ms;
	if (r->level > r->cap)
		r->level = r->cap;
}
