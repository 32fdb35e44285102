/* Adaptive concurrency (target.max_in_flight: adaptive): how many events
 * may be active at once, learnt from the partner's answers. An AIMD loop
 * on round-trip time and back-pressure answers, after TCP Vegas, Netflix
 * concurrency-limits and Vector's ARC; the rule and its constants are in
 * the README ("Adaptive concurrency").
 *
 * Decisions only, on a clock the caller passes (pure): the caller feeds
 * each answer of the API and applies concurrency_limit() to admission. */
#ifndef CUSTSYNC_CONCURRENCY_H
#define CUSTSYNC_CONCURRENCY_H

#include <stddef.h>
#include <stdint.h>

/* CONC_OVERLOAD: a 429 or 503 without Retry-After, a timeout, no
 * connection. */
enum conc_signal {
	CONC_IGNORE,   /* not for the controller: never sent, or Retry-After */
	CONC_ANSWER,   /* an answer: its RTT counts */
	CONC_OVERLOAD, /* the partner is overloaded */
	CONC_SIGNAL_MAX
};

struct concurrency {
	long min, max;
	double limit;
	int slow_start; /* doubling until the first sign of load */

	int64_t base_us; /* the baseline RTT; 0 until the first sample */

	/* The current window: one baseline RTT long. */
	int64_t win_start;
	uint64_t win_samples;
	int64_t win_rtt_sum_us;
	int64_t win_rtt_min_us;
	int64_t win_rtt_max_us;
	size_t win_peak; /* most events in flight seen in it */
	int win_overload;

	/* The time the loop waited for a CPU (the caller's running total,
	 * 0 when unknown) now and when the window began. */
	int64_t cpu_wait_us, win_cpu_wait_us;
	uint64_t stalled_windows; /* windows not judged for a stall */

	long logged; /* the limit the last log line showed */
};

/* What an API answer (status 0: none came) tells the controller. A
 * Retry-After is the partner naming its own wait: the endpoint hold
 * (hold.h) keeps it, and shrinking as well would punish twice. */
enum conc_signal concurrency_signal(long status, long retry_after_s,
                                    int64_t rtt_us);

void concurrency_init(struct concurrency *c, long min, long max, int64_t now);

/* One answer of the API at now (monotonic ms): its round-trip time (-1:
 * none, as for a timeout), the kind, and how many events were in flight
 * when it came. Returns non-zero when the limit changed. */
int concurrency_sample(struct concurrency *c, int64_t now, int64_t rtt_us,
                       enum conc_signal s, size_t in_flight);

/* Non-zero when the current window's time is up: the caller then feeds
 * concurrency_cpu_wait before the sample that ends it. */
int concurrency_window_due(const struct concurrency *c, int64_t now);

/* The caller's loop has waited total_us for a CPU in all (a running
 * total, as /proc/thread-self/schedstat's second field): a window with
 * much of it is not judged by its RTT (STALL_SHARE in concurrency.c). */
void concurrency_cpu_wait(struct concurrency *c, int64_t total_us);

/* Ends the current window if its time is up, even without answers (a
 * timeout may be all there was). Returns non-zero when the limit
 * changed. */
int concurrency_tick(struct concurrency *c, int64_t now);

long concurrency_limit(const struct concurrency *c);
/* Windows not judged for the caller's CPU wait, since init. */
uint64_t concurrency_stalled_windows(const struct concurrency *c);
int64_t concurrency_baseline_us(const struct concurrency *c);

/* Non-zero once the limit is more than half away from the one last
 * logged (or never logged): the caller logs, and it counts as logged. */
int concurrency_should_log(struct concurrency *c);

#endif
