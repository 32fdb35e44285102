/* What the parts of the worker share: its state, a job's, the wait lists
 * and the functions one part calls in another. Private to worker/daemon:
 * jobs.c (wait lists, pauses, jobs), worker.c (the loop, new and free),
 * send.c (the gates before a request, sending, answers), finish.c
 * (outcomes, dead letters, offsets) and intake.c (records in from
 * Kafka). */
#ifndef CUSTSYNC_WORKER_INT_H
#define CUSTSYNC_WORKER_INT_H

#include "daemon/worker.h"

#include "edge/auth.h"
#include "daemon/avroinput.h"
#include "daemon/backoff.h"
#include "daemon/backpressure.h"
#include "daemon/concurrency.h"
#include "daemon/hold.h"
#include "daemon/quotarate.h"
#include "daemon/ratelimit.h"
#include "core/quota.h"
#include "core/cache.h"
#include "config/config.h"
#include "core/deadletter.h"
#include "core/event.h"
#include "core/forward.h"
#include "edge/http.h"
#include "edge/kafka.h"
#include "lib/clock.h"
#include "core/keyindex.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "ops/procstat.h"
#include "core/outcome.h"
#include "core/pipeline.h"
#include "profiles/profile.h"
#include "core/request.h"
#include "core/sync.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define CACHE_MAX_ENTRIES 200000
#define STATUS_EVERY_MS   2000
/* Longest single wait of the loop: signals and the watchdog are seen at
 * least this often even when nothing happens. */
#define LOOP_MAX_WAIT_MS 1000
/* Finished events' run state kept for the next ones: at 1.6 KiB it is
 * past glibc's per-thread cache, and a calloc and free of it cost about
 * 2,000 instructions an event. */
#define RUN_SPARE_MAX 256
/* With metrics on, librdkafka's statistics (every second by default)
 * wake the loop anyway; a wait of its own as long as theirs would
 * mostly end just before theirs do, two wake-ups a second when idle.
 * Twice as long keeps an idle loop at one. */
#define LOOP_MAX_WAIT_STATS_MS (2 * LOOP_MAX_WAIT_MS)

/* Why every partition is paused. Backpressure is per partition instead
 * (backpressure.h), so one partition's backlog never stops the others. */
enum pause_reason {
	PAUSE_HOLD = 1,
	PAUSE_SHUTDOWN = 2,
	PAUSE_RATE = 4,   /* the next rate-limit token is far away */
	PAUSE_SCHEMA = 8, /* records wait for a registry that fails */
};

enum job_wait {
	WAIT_NONE,  /* running sync code or finished */
	WAIT_HTTP,  /* request in flight */
	WAIT_TOKEN, /* needs a token first */
	WAIT_HOLD,  /* endpoint-wide Retry-After */
	WAIT_TIMER, /* backoff */
	WAIT_INDEX, /* another job scans the key index */
	WAIT_RATE,  /* target.rate_limit: no token yet (FIFO) */
	WAIT_QUOTA, /* the partner's quota has no more left (FIFO) */
	WAIT_MAX
};

/* What an event needs while it runs; made when it starts, from the
 * record's bytes. */
struct job_run {
	struct change change;
	int parsed;
	struct event_error perr;
	struct forward fwd; /* what the record hands on (forward.h) */

	struct sync_job sync;
	struct http_call *call;
	unsigned long auth_gen;
	enum job_wait wait;
	int64_t due_ms;
	struct job *prev, *next; /* in the list of its wait */
};

/* An event waiting behind its key costs its record's bytes and this
 * header: the record (a dead letter carries it byte for byte) and its
 * ordering key live in the same allocation, after the struct, and the
 * parsed change is made again when the event starts (wk_job_start). */
struct job {
	struct worker *w;
	struct pl_event *ev;
	struct job_run *run; /* NULL until the event starts */
	const char *topic;
	const char *key;              /* ordering and outcome key */
	const void *kkey;             /* NULL: the record has no key */
	const void *value;            /* NULL: a tombstone */
	const unsigned char *headers; /* wk_job_headers' form; NULL: none */
	uint32_t kkey_len, value_len, headers_len;
	int32_t partition;
	int64_t offset;
	int64_t received_ms;
	int dr_pending;
	struct worker_record rec; /* from the classify hook */
	char bytes[];
};

struct job_list {
	struct job *head, *tail;
	size_t n;
};

struct worker {
	const struct config *cfg;
	const struct profile_ops *profile;
	struct kafka *kafka;
	struct http *http;
	struct auth *auth;
	struct cache *cache;
	struct keyindex *index; /* NULL unless the profile is indexed */
	enum keyindex_state index_seen;
	struct pipeline *pl;
	struct backpressure bp;
	struct worker_hooks hooks; /* all NULL for the live daemon */
	struct metrics *metrics;   /* NULL when off */
	/* How records are read; for Avro the registry's lookup. */
	struct event_options event_opt;
	struct avroinput *avro; /* NULL unless input.format is avro */

	struct job_list lists[WAIT_MAX]; /* all but WAIT_NONE are used */
	int token_in_flight;
	struct job_run *spare_runs[RUN_SPARE_MAX]; /* zeroed, for wk_run_new */
	size_t n_spare_runs;

	struct hold hold; /* the endpoint-wide Retry-After hold */
	struct ratelimit rate, write_rate; /* target.rate_limit etc. */
	const struct job *rate_next; /* leaving WAIT_RATE: it goes first */
	int64_t rate_since;          /* since when WAIT_RATE is not empty */
	int64_t quota_since;         /* a quota reset holds since; 0: none */
	long quota_left; /* what the last answer said is left; -1: unsaid */
	const struct job *quota_next; /* leaving WAIT_QUOTA: it goes first */
	uint64_t quota_bad; /* unreadable quota headers since the warning */
	int64_t quota_warned_ms;
	/* max_in_flight: adaptive; the pipeline's cap on active events
	 * follows it. */
	int adaptive;
	struct concurrency conc;
	/* With adaptive: the pace learnt from a quota's 429s. */
	struct quotarate qrate;
	/* The loop thread's schedstat: time it waited for a CPU, which the
	 * adaptive limit must not take for the partner's; -1: none. */
	int schedstat_fd;

	int paused; /* enum pause_reason bits: all partitions */
	int reapply_pause;

	int stopping;
	int exit_code;

	int64_t max_wait_ms; /* LOOP_MAX_WAIT_MS or _STATS_MS */
	uint64_t watchdog_usec;
	int64_t last_watchdog, last_status;
	uint64_t events_done, events_at_status;
	uint64_t counts[SYNC_STATUS_MAX];

	/* Headers not forwarded since the last warning about them. */
	uint64_t fwd_dropped;
	int64_t fwd_warned_ms;
};

void wk_complete(struct worker *w, struct job *j);
void wk_complete_quietly(struct worker *w, struct job *j,
                         const struct sync_job *s, int stopped);
void wk_fatal(struct worker *w, int code, const char *why);
void wk_on_delivered(void *arg, void *opaque, int err, const char *errstr);
int wk_job_start(struct worker *w, struct job *j);
void wk_on_assigned(void *arg, const char *topic, int32_t partition);
void wk_on_fatal(void *arg, int fenced, const char *reason);
void wk_on_message(void *arg, rd_kafka_message_t *m);
int64_t wk_on_revoked(void *arg, const char *topic, int32_t partition,
                      int lost);
void wk_on_stats(void *arg, const char *json, size_t len);
void wk_take_message(void *arg, rd_kafka_message_t *m);
void wk_end_hold(struct worker *w);
void wk_handle_next(struct worker *w, struct job *j, enum sync_next n);
long wk_in_flight_cap(const struct worker *w);
void wk_log_quotarate(struct worker *w);
void wk_maybe_fetch_token(struct worker *w);
int64_t wk_rate_due(struct worker *w, const struct job *j, int64_t now);
void wk_run_rate(struct worker *w, int64_t now);
void wk_submit(struct worker *w, struct job *j);
size_t wk_headers_size(const rd_kafka_headers_t *hs);
void wk_headers_write(const rd_kafka_headers_t *hs, unsigned char *out);
void wk_job_free(struct job *j);
/* A zeroed run state for an event that starts; wk_job_free keeps it. */
struct job_run *wk_run_new(struct worker *w);
void wk_runs_free(struct worker *w);
void wk_job_detach(struct worker *w, struct job *j);
rd_kafka_headers_t *wk_job_headers(const struct job *j, size_t extra);
void wk_list_add(struct worker *w, struct job *j, enum job_wait wait);
void wk_list_remove(struct worker *w, struct job *j);
void wk_pause_set(struct worker *w, int reason, int on);
void wk_release_job(void *user, void *arg);

#endif
