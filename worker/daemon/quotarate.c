#include "daemon/quotarate.h"

#include <math.h>
#include <string.h>

#define SPAN_MS ((int64_t)QUOTARATE_SLOTS * QUOTARATE_SLOT_MS)

/* Without requests for this long, the cycle starts afresh: a quiet spell
 * is not time the quota was used in. */
#define QR_IDLE_MS 1000
/* Growth is judged this often. */
#define QR_STEP_MS 100
/* After a 429 the pace goes to this share of the quota judged then. */
#define QR_BELOW 0.95
/* Growth per quota window (the longest Retry-After seen, at least a
 * second: a window's use shows only at its end, so a faster pace is
 * judged no sooner) while limited: 10 % away from the quota, 0.05 % near
 * it (QR_NEAR to QR_PAST times it), so that from QR_BELOW the pace takes
 * about sixty windows to reach the quota again: one short hold in sixty
 * windows at most. */
#define QR_FAST 0.1
#define QR_SLOW 0.0005
/* A paced 429 is judged over at least this long (within the ring), so
 * that a slow pace is judged on enough answers. */
#define QR_JUDGE_MS 10000
#define QR_NEAR     0.97
#define QR_PAST     1.03
/* Past this many times the quota it is taken to be gone. */
#define QR_FORGET 4.0
/* Never slower than one request a minute; the bucket counts per minute. */
#define QR_PER_MS 60000L
#define QR_MIN    (1000.0 / QR_PER_MS)
/* The bucket's burst: a fiftieth of a second's worth. A fixed-window
 * quota sees at most pace x window + burst, so it stays small. */
#define QR_BURST_PER_S 50.0

static void apply(struct quotarate *q, int64_t now)
{
	double per_min = q->rate * (QR_PER_MS / 1000.0);
	long burst = (long)(q->rate / QR_BURST_PER_S);

	if (q->rate <= 0 || per_min > (double)RATELIMIT_MAX_REQUESTS) {
		q->rate = 0;
		q->ceiling = 0;
		ratelimit_init(&q->bucket, 0, QR_PER_MS, 1, now);
		return;
	}
	ratelimit_set(&q->bucket, per_min < 1 ? 1 : lround(per_min),
	              burst < 1 ? 1 : burst, now);
}

void quotarate_init(struct quotarate *q, int on, int64_t now)
{
	memset(q, 0, sizeof(*q));
	q->on = on;
	q->grown = now;
	q->window_ms = 1000;
	q->slot_at = now / QUOTARATE_SLOT_MS;
	ratelimit_init(&q->bucket, 0, QR_PER_MS, 1, now);
}

/* Brings the ring to now's slot, emptying the slots passed over. */
static void ring_to(struct quotarate *q, int64_t now)
{
	int64_t k = now / QUOTARATE_SLOT_MS;

	if (k <= q->slot_at)
		return;
	if (k - q->slot_at >= QUOTARATE_SLOTS)
		memset(q->slots, 0, sizeof(q->slots));
	else
		for (int64_t i = q->slot_at + 1; i <= k; i++)
			q->slots[i % QUOTARATE_SLOTS] = 0;
	q->slot_at = k;
}

/* Accepted answers in the last ms (at most the ring's span) until now. */
static uint64_t ring_sum(struct quotarate *q, int64_t now, int64_t ms)
{
	int64_t n = (ms + QUOTARATE_SLOT_MS - 1) / QUOTARATE_SLOT_MS;
	uint64_t sum = 0;

	ring_to(q, now);
	for (int64_t i = 0; i < n && i < QUOTARATE_SLOTS && i <= q->slot_at;
	     i++)
		sum += q->slots[(q->slot_at - i) % QUOTARATE_SLOTS];
	return sum;
}

void quotarate_sent(struct quotarate *q, int64_t now)
{
	if (!q->on)
		return;
	if (!q->held && (!q->cycle_start || now - q->last_seen > QR_IDLE_MS)) {
		q->cycle_start = now;
		q->accepted = 0;
	}
	q->last_seen = now;
}

void quotarate_answered(struct quotarate *q, int64_t now, long status)
{
	if (!q->on)
		return;
	q->last_seen = now;
	if (status == 0 || status == 429)
		return;
	q->accepted++;
	ring_to(q, now);
	q->slots[q->slot_at % QUOTARATE_SLOTS]++;
}

/* A Retry-After (whole seconds, at least one) is about the rest of the
 * quota's window: what the partner accepted in that long before the 429
 * came is what its quota took per second. A burst that used up a window
 * early gets a Retry-After of about the whole window (the first hold,
 * unpaced); a pace that ran out late in one a short Retry-After, and is
 * judged over a window or QR_JUDGE_MS, whichever is longer, but not
 * over the last hold (time nothing could be accepted in). Past the
 * ring's minute, the cycle's count over the wait stands in, or its
 * average when the cycle is longer. */
void quotarate_held(struct quotarate *q, int64_t now, long retry_after_s)
{
	int64_t t = (retry_after_s > 1 ? retry_after_s : 1) * 1000, since;

	if (!q->on || q->held)
		return;
	q->held = 1;
	if (q->rate > 0) {
		since = q->resumed ? now - q->resumed : SPAN_MS;
		t = t > q->window_ms ? t : q->window_ms;
		t = t > QR_JUDGE_MS ? t : QR_JUDGE_MS;
		t = t < since ? t : since;
		t = t < SPAN_MS ? t : SPAN_MS;
		t = t > 1000 ? t : 1000;
	} else if (t > q->window_ms) {
		q->window_ms = t;
	}
	if (t <= SPAN_MS)
		q->quota = (double)ring_sum(q, now, t) * 1000.0 / (double)t;
	else if (q->cycle_start && now - q->cycle_start <= t)
		q->quota = (double)q->accepted * 1000.0 / (double)t;
	else if (q->cycle_start && now > q->cycle_start)
		q->quota = (double)q->accepted * 1000.0 /
		           (double)(now - q->cycle_start);
	else
		q->quota = 0;
}

int quotarate_hold_ended(struct quotarate *q, int64_t now)
{
	double before = q->rate;

	if (!q->on || !q->held)
		return 0;
	q->held = 0;
	q->resumed = now;
	q->cycle_start = now;
	q->accepted = 0;
	q->last_seen = now;
	if (q->quota <= 0)
		return 0;
	q->ceiling = q->quota;
	q->rate = fmax(QR_BELOW * q->quota, QR_MIN);
	q->grown = now;
	q->limited = 0;
	apply(q, now);
	return q->rate != before;
}

void quotarate_waited(struct quotarate *q)
{
	q->limited = 1;
}

int quotarate_tick(struct quotarate *q, int64_t now)
{
	double before = q->rate, near = QR_NEAR * q->ceiling, step;

	if (q->rate <= 0 || now - q->grown < QR_STEP_MS)
		return 0;
	q->grown = now;
	if (!q->limited)
		return 0;
	q->limited = 0;
	step = (double)QR_STEP_MS / (double)q->window_ms;
	if (q->rate < near)
		q->rate = fmin(q->rate * pow(1 + QR_FAST, step), near);
	else if (q->rate < QR_PAST * q->ceiling)
		q->rate *= pow(1 + QR_SLOW, step);
	else
		q->rate *= pow(1 + QR_FAST, step);
	if (q->rate > QR_FORGET * q->ceiling)
		q->rate = 0;
	apply(q, now);
	return q->rate != before;
}

struct ratelimit *quotarate_bucket(struct quotarate *q)
{
	return &q->bucket;
}

double quotarate_rate(const struct quotarate *q)
{
	return q->rate;
}

int quotarate_should_log(struct quotarate *q)
{
	double d = q->rate - q->logged;

	if ((q->rate > 0) == (q->logged > 0) &&
	    (q->rate <= 0 || fabs(d) <= q->logged / 2))
		return 0;
	q->logged = q->rate;
	return 1;
}
