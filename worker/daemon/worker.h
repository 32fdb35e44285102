/* The daemon's one thread: Kafka records in, API requests out, outcomes
 * back to Kafka. Owns the pipeline, the jobs and the endpoint-wide hold. */
#ifndef CUSTSYNC_WORKER_H
#define CUSTSYNC_WORKER_H

#include <signal.h>

struct config;
struct kafka_assignment;
struct replay;
struct worker;

/* Exit codes of worker_run, sysexits-style. */
#define WORKER_EXIT_OK 0
#define WORKER_EXIT_SOFTWARE 70 /* a produce failed for good */
#define WORKER_EXIT_TEMPFAIL 75 /* fatal Kafka client error */

/* rp and as: a replay run (replay.c), else both NULL. */
struct worker *worker_new(const struct config *cfg, struct replay *rp,
			  const struct kafka_assignment *as, char *err,
			  size_t errlen);
struct worker *worker_free(struct worker *w);

/* Runs until *stop becomes non-zero (then drains within
 * worker.shutdown_timeout_ms) or a fatal error. Returns an exit code. */
int worker_run(struct worker *w, const volatile sig_atomic_t *stop);

#endif
