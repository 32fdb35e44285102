/* The daemon's one thread: Kafka records in, API requests out, outcomes
 * back to Kafka. Owns the pipeline, the jobs and the endpoint-wide hold. */
#ifndef CUSTSYNC_WORKER_H
#define CUSTSYNC_WORKER_H

#include <signal.h>

#include <stdint.h>

struct config;
struct kafka_assignment;
struct rd_kafka_message_s;
struct sync_job;
struct worker;

/* Exit codes of worker_run, sysexits-style. */
#define WORKER_EXIT_OK       0
#define WORKER_EXIT_SOFTWARE 70 /* a produce failed for good */
#define WORKER_EXIT_TEMPFAIL 75 /* fatal Kafka client error */
#define WORKER_EXIT_CONFIG   78 /* fenced: group.instance.id in use */

/* What the loop does with a consumed record (struct worker_hooks). */
enum worker_take {
	WORKER_TAKE_SYNC,   /* the sync path, like a live event */
	WORKER_TAKE_SKIP,   /* an outcome "skipped" (skip_code, skip_reason)
	                       with no request */
	WORKER_TAKE_SETTLE, /* done in its key's order, with neither a
	                       request nor an outcome */
	WORKER_TAKE_IGNORE, /* not this run's: never queued */
	WORKER_TAKE_MAX
};

/* The classify hook's answer about one record. The strings are borrowed
 * from user until the release hook frees it. */
struct worker_record {
	enum worker_take take;
	/* The event's own position when the record carries an event read
	 * elsewhere before (a dead letter): its outcome and its name speak
	 * of that position, and say where the record was read and how
	 * often it was delivered again (redeliveries). origin_topic NULL:
	 * the record is the event. */
	const char *origin_topic;
	int32_t origin_partition;
	int64_t origin_offset;
	int redeliveries;
	const char *skip_code, *skip_reason; /* WORKER_TAKE_SKIP */
	void *user; /* the hooks', handed back with the event */
};

/* How a run that is not the live daemon (replay, a dry run) uses the
 * loop. A NULL hook is the live daemon's behaviour. */
struct worker_hooks {
	void *arg;
	/* Where messages come from: which records to take, and as what.
	 * NULL: every record is WORKER_TAKE_SYNC. 0, or -1 when memory
	 * ran out. */
	int (*classify)(void *arg, const struct rd_kafka_message_s *m,
	                struct worker_record *out);
	/* Before a create, update or delete is sent (s->req): non-zero
	 * stops the event there, with no request and no outcome (a dry
	 * run); on_done then has stopped set. */
	int (*before_write)(void *arg, void *user, const struct sync_job *s);
	/* An event is done: s NULL when settled without sync
	 * (WORKER_TAKE_SETTLE). */
	void (*on_done)(void *arg, void *user, int32_t partition,
	                int64_t offset, const char *key,
	                const struct sync_job *s, int stopped);
	/* A partition is finished up to next (exclusive): the offset to
	 * store, at most next; -1 stores nothing. */
	int64_t (*progress)(void *arg, int32_t partition, int64_t next);
	/* Non-zero: the run is complete, stop as on a signal. */
	int (*finished)(void *arg);
	void (*release)(void *arg, void *user);
	int read_only;  /* produce, store and commit nothing */
	int no_metrics; /* no metrics server, even if configured */
};

/* hooks (copied) and as: a run with its own assignment (replay.c), else
 * both NULL: the live daemon. */
struct worker *worker_new(const struct config *cfg,
                          const struct worker_hooks *hooks,
                          const struct kafka_assignment *as, char *err,
                          size_t errlen);
struct worker *worker_free(struct worker *w);

/* Runs until *stop becomes non-zero (then drains within
 * worker.shutdown_timeout_ms) or a fatal error. Returns an exit code. */
int worker_run(struct worker *w, const volatile sig_atomic_t *stop);

#endif
