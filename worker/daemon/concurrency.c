#include "daemon/concurrency.h"

/* The constants, with why, are in the README ("Adaptive concurrency"). */

/* A window lasts one baseline RTT (so the limit moves at most once per
 * round trip, as TCP's window does), but never less than this: a
 * decision on a millisecond of loopback answers would follow noise. */
#define WINDOW_MIN_US 10000
/* Grow while the window's mean RTT is at most GROW_RTT x the baseline;
 * shrink above SHRINK_RTT x; hold between, so jitter does not make the
 * limit swing. On a server of capacity C that queues the rest (RTT =
 * latency x in flight / C) the limit then stays between 0.75 x 1.5 C
 * and 1.5 C, and no answer waits more than half a latency in its queue
 * (the targets of benchmark G). */
#define GROW_RTT   1.25
#define SHRINK_RTT 1.5
/* Differences below this are never load: a few milliseconds of
 * scheduling noise on a sub-millisecond baseline are not a queue. */
#define RTT_SLACK_US 2000
/* Multiplicative decrease: halved on an explicit overload answer (the
 * partner is already shedding, as a TCP loss), by a quarter when only
 * the RTT rose (an earlier, softer signal). */
#define DECREASE_OVERLOAD 0.5
#define DECREASE_RTT      0.75
/* The baseline is the fastest RTT seen. It follows a rise only while the
 * limit is at its minimum, where our own queue is the smallest it can
 * be, by 1/16 per window: a partner that became slower for good is
 * learnt in a few seconds, and a queue we keep in the partner is never
 * taken for its speed (the drift that makes plain Vegas creep up). */
#define BASELINE_FOLLOW 16
/* A window in which custsync's own loop waited for a CPU for more than
 * this share of the baseline RTT is not judged by its RTT: every answer
 * that came during the wait was read late, which looks like a queue in
 * the partner but is one in our own machine (benchmark Aad with busy
 * loops beside it). Refusals and timeouts still count. */
#define STALL_SHARE 0.25

enum conc_signal concurrency_signal(long status, long retry_after_s,
                                    int64_t rtt_us)
{
	if (rtt_us < 0)
		return CONC_IGNORE;
	if (status == 429 || status == 503)
		return retry_after_s >= 0 ? CONC_IGNORE : CONC_OVERLOAD;
	return status == 0 ? CONC_OVERLOAD : CONC_ANSWER;
}

void concurrency_init(struct concurrency *c, long min, long max, int64_t now)
{
	*c = (struct concurrency){
	    .min = min < 1 ? 1 : min,
	    .max = max < min ? min : max,
	    .slow_start = 1,
	    .win_start = now,
	    .win_rtt_min_us = -1,
	};
	c->limit = (double)c->min;
}

long concurrency_limit(const struct concurrency *c)
{
	long l = (long)c->limit;

	if (l < c->min)
		return c->min;
	return l > c->max ? c->max : l;
}

uint64_t concurrency_stalled_windows(const struct concurrency *c)
{
	return c->stalled_windows;
}

int64_t concurrency_baseline_us(const struct concurrency *c)
{
	return c->base_us;
}

static int64_t window_us(const struct concurrency *c)
{
	return c->base_us > WINDOW_MIN_US ? c->base_us : WINDOW_MIN_US;
}

static void set_limit(struct concurrency *c, double l)
{
	if (l < (double)c->min)
		l = (double)c->min;
	if (l > (double)c->max)
		l = (double)c->max;
	c->limit = l;
}

static void follow_baseline(struct concurrency *c)
{
	int64_t m = c->win_rtt_min_us;

	if (m < 0)
		return;
	if (!c->base_us || m < c->base_us)
		c->base_us = m > 0 ? m : 1;
	else if (concurrency_limit(c) <= c->min)
		c->base_us += (m - c->base_us) / BASELINE_FOLLOW;
}

static int64_t threshold_us(int64_t base, double factor)
{
	int64_t t = (int64_t)((double)base * factor);

	return t > base + RTT_SLACK_US ? t : base + RTT_SLACK_US;
}

static int stalled(const struct concurrency *c)
{
	return c->base_us && (double)(c->cpu_wait_us - c->win_cpu_wait_us) >
	                         STALL_SHARE * (double)c->base_us;
}

/* The decision at the end of a window: one step at most. */
static void decide(struct concurrency *c)
{
	int64_t mean;
	int used;

	if (c->win_overload) {
		c->slow_start = 0;
		set_limit(c, c->limit * DECREASE_OVERLOAD);
		return;
	}
	if (!c->win_samples)
		return;
	if (stalled(c)) {
		c->stalled_windows++;
		return;
	}
	/* Doubling stops at the first answer that waited (HyStart's
	 * delay test): the window's mean lags a queue that is building. */
	if (c->win_rtt_max_us > threshold_us(c->base_us, GROW_RTT))
		c->slow_start = 0;
	mean = c->win_rtt_sum_us / (int64_t)c->win_samples;
	if (mean > threshold_us(c->base_us, SHRINK_RTT)) {
		c->slow_start = 0;
		set_limit(c, c->limit * DECREASE_RTT);
		return;
	}
	if (mean > threshold_us(c->base_us, GROW_RTT)) {
		c->slow_start = 0;
		return;
	}
	/* A limit that was not used says nothing about whether more would
	 * be served as fast (TCP's congestion window validation). */
	used = (double)c->win_peak * 2.0 >= c->limit;
	if (used)
		set_limit(c, c->slow_start ? c->limit * 2.0 : c->limit + 1.0);
}

static void new_window(struct concurrency *c, int64_t now)
{
	c->win_start = now;
	c->win_samples = 0;
	c->win_rtt_sum_us = 0;
	c->win_rtt_min_us = -1;
	c->win_rtt_max_us = 0;
	c->win_peak = 0;
	c->win_overload = 0;
	c->win_cpu_wait_us = c->cpu_wait_us;
}

int concurrency_tick(struct concurrency *c, int64_t now)
{
	long before = concurrency_limit(c);

	if (!concurrency_window_due(c, now))
		return 0;
	if (!stalled(c))
		follow_baseline(c);
	decide(c);
	new_window(c, now);
	return concurrency_limit(c) != before;
}

int concurrency_window_due(const struct concurrency *c, int64_t now)
{
	return (now - c->win_start) * 1000 >= window_us(c);
}

void concurrency_cpu_wait(struct concurrency *c, int64_t total_us)
{
	if (total_us > c->cpu_wait_us) {
		if (!c->cpu_wait_us)
			c->win_cpu_wait_us = total_us;
		c->cpu_wait_us = total_us;
	}
}

int concurrency_sample(struct concurrency *c, int64_t now, int64_t rtt_us,
                       enum conc_signal s, size_t in_flight)
{
	if (s == CONC_IGNORE)
		return 0;
	if (in_flight > c->win_peak)
		c->win_peak = in_flight;
	if (s == CONC_OVERLOAD)
		c->win_overload = 1;
	if (rtt_us >= 0 && s != CONC_OVERLOAD) {
		c->win_samples++;
		c->win_rtt_sum_us += rtt_us;
		if (c->win_rtt_min_us < 0 || rtt_us < c->win_rtt_min_us)
			c->win_rtt_min_us = rtt_us;
		if (rtt_us > c->win_rtt_max_us)
			c->win_rtt_max_us = rtt_us;
	}
	return concurrency_tick(c, now);
}

int concurrency_should_log(struct concurrency *c)
{
	long l = concurrency_limit(c);
	long d = l > c->logged ? l - c->logged : c->logged - l;

	if (c->logged && d * 2 <= c->logged)
		return 0;
	c->logged = l;
	return 1;
}
