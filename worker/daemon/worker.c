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
 * parsed change is made again when the event starts (job_start). */
struct job {
	struct worker *w;
	struct pl_event *ev;
	struct job_run *run; /* NULL until the event starts */
	const char *topic;
	const char *key;              /* ordering and outcome key */
	const void *kkey;             /* NULL: the record has no key */
	const void *value;            /* NULL: a tombstone */
	const unsigned char *headers; /* job_headers' form; NULL: none */
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

/* ---- wait lists ---- */

static void list_add(struct worker *w, struct job *j, enum job_wait wait)
{
	struct job_list *l = &w->lists[wait];

	j->run->wait = wait;
	j->run->next = NULL;
	j->run->prev = l->tail;
	if (l->tail)
		l->tail->run->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
}

static void list_remove(struct worker *w, struct job *j)
{
	struct job_list *l;

	if (j->run->wait == WAIT_NONE)
		return;
	l = &w->lists[j->run->wait];
	if (j->run->prev)
		j->run->prev->run->next = j->run->next;
	else
		l->head = j->run->next;
	if (j->run->next)
		j->run->next->run->prev = j->run->prev;
	else
		l->tail = j->run->prev;
	j->run->prev = j->run->next = NULL;
	l->n--;
	j->run->wait = WAIT_NONE;
}

/* ---- pause reasons ---- */

static void pause_set(struct worker *w, int reason, int on)
{
	int before = w->paused;

	w->paused = on ? (w->paused | reason) : (w->paused & ~reason);
	if (!before == !w->paused)
		return;
	kafka_pause_all(w->kafka, w->paused != 0);
	if (!w->paused)
		backpressure_repause(&w->bp);
	/* Only a change from none to some or back gets here, so the reason
	 * set or cleared is the only one. */
	log_kv(LOG_INFO,
	       w->paused ? "consumption paused" : "consumption resumed",
	       LOG_S("reason", reason == PAUSE_HOLD     ? "retry-after"
	                       : reason == PAUSE_RATE   ? "rate-limit"
	                       : reason == PAUSE_SCHEMA ? "schema-registry"
	                                                : "shutdown"));
}

/* ---- jobs ---- */

static void job_run_free(struct job_run *r)
{
	if (!r)
		return;
	sync_done(&r->sync);
	change_done(&r->change);
	forward_done(&r->fwd);
	free(r);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	job_run_free(j->run);
	if (j->rec.user && j->w->hooks.release)
		j->w->hooks.release(j->w->hooks.arg, j->rec.user);
	free(j);
}

/* Stops whatever the job waits for; the job is then the caller's. A job
 * that has not started waits for nothing. */
static void job_detach(struct worker *w, struct job *j)
{
	if (!j->run)
		return;
	if (j->run->call) {
		http_cancel(w->http, j->run->call);
		j->run->call = NULL;
	}
	hold_forget(&w->hold, j);
	list_remove(w, j);
}

/* A record's headers in its job's bytes, each as name length, value
 * length (HDR_NULL for a header without a value), name, value. */
#define HDR_NULL UINT32_MAX

static size_t headers_size(const rd_kafka_headers_t *hs)
{
	const char *name;
	const void *value;
	size_t size, n = 0;

	for (size_t i = 0;
	     hs && !rd_kafka_header_get_all(hs, i, &name, &value, &size); i++)
		n += 2 * sizeof(uint32_t) + strlen(name) + (value ? size : 0);
	return n;
}

static void headers_write(const rd_kafka_headers_t *hs, unsigned char *out)
{
	const char *name;
	const void *value;
	size_t size;
	uint32_t len[2];

	for (size_t i = 0;
	     hs && !rd_kafka_header_get_all(hs, i, &name, &value, &size);
	     i++) {
		len[0] = (uint32_t)strlen(name);
		len[1] = value ? (uint32_t)size : HDR_NULL;
		memcpy(out, len, sizeof(len));
		out += sizeof(len);
		memcpy(out, name, len[0]);
		out += len[0];
		if (value && size)
			memcpy(out, value, size);
		out += value ? size : 0;
	}
}

/* The record's headers as librdkafka headers, with room for extra more;
 * NULL when it has none and extra is 0, or when memory ran out. */
static rd_kafka_headers_t *job_headers(const struct job *j, size_t extra)
{
	const unsigned char *p = j->headers, *end = p + j->headers_len;
	rd_kafka_headers_t *hs;
	uint32_t len[2];

	if (!p && !extra)
		return NULL;
	hs = rd_kafka_headers_new(8 + extra);
	while (hs && p && p < end) {
		memcpy(len, p, sizeof(len));
		p += sizeof(len);
		if (rd_kafka_header_add(hs, (const char *)p, len[0],
		                        len[1] == HDR_NULL ? NULL : p + len[0],
		                        len[1] == HDR_NULL ? 0 : len[1])) {
			rd_kafka_headers_destroy(hs);
			return NULL;
		}
		p += len[0] + (len[1] == HDR_NULL ? 0 : len[1]);
	}
	return hs;
}

static void release_job(void *user, void *arg)
{
	struct worker *w = arg;
	struct job *j = user;

	job_detach(w, j);
	job_free(j);
}

static void handle_next(struct worker *w, struct job *j, enum sync_next n);

static void on_http_done(void *arg, const struct api_response *r);

/* A create, update or delete: what target.write_rate_limit meters and
 * where the before_write hook may stop an event. By the step, not the
 * method: a look-up may be a POST (alvys searches with one). */
static int is_write(const struct job *j)
{
	enum sync_step st = j->run->sync.step;

	return st == SYNC_STEP_CREATE || st == SYNC_STEP_UPDATE ||
	       st == SYNC_STEP_DELETE;
}

/* When j's request may go by the rate limits it is under: the
 * configured ones and the pace learnt from a quota. */
static int64_t rate_due(struct worker *w, const struct job *j, int64_t now)
{
	int64_t due = ratelimit_due(&w->rate, now), d;

	d = ratelimit_due(quotarate_bucket(&w->qrate), now);
	due = d > due ? d : due;
	if (is_write(j)) {
		d = ratelimit_due(&w->write_rate, now);
		due = d > due ? d : due;
	}
	return due;
}

/* Non-zero when j must wait for a rate-limit token: it then joins
 * WAIT_RATE behind the others, so no event overtakes one that waits
 * (run_rate sends them in order, on the loop's timer). Otherwise its
 * tokens are taken. A wait longer than a loop turn pauses consumption,
 * as a hold does; poll goes on, so the group keeps the consumer. */
static int rate_wait(struct worker *w, struct job *j, int64_t now)
{
	if ((w->lists[WAIT_RATE].n && w->rate_next != j) ||
	    rate_due(w, j, now) > now) {
		if (ratelimit_due(quotarate_bucket(&w->qrate), now) > now)
			quotarate_waited(&w->qrate);
		if (!w->lists[WAIT_RATE].n)
			w->rate_since = now;
		list_add(w, j, WAIT_RATE);
		if (rate_due(w, w->lists[WAIT_RATE].head, now) - now >
		    LOOP_MAX_WAIT_MS)
			pause_set(w, PAUSE_RATE, 1);
		return 1;
	}
	ratelimit_take(&w->rate, now);
	ratelimit_take(quotarate_bucket(&w->qrate), now);
	if (is_write(j))
		ratelimit_take(&w->write_rate, now);
	return 0;
}

static void submit(struct worker *w, struct job *j);

/* The partner's quota headers say how many requests it still takes. The
 * requests in flight were sent after the one whose answer said so, so
 * the partner counts them before any new one: a request goes only while
 * fewer than that are in flight, and waits in WAIT_QUOTA (FIFO, as in
 * WAIT_RATE) for answers otherwise. Without requests in flight one goes
 * whatever was said, so that a stale count never stops everything (a 0
 * with a reset holds the endpoint instead, quota_hold). */
static int quota_allows(const struct worker *w)
{
	size_t n = http_in_flight(w->http);

	return n == 0 || w->quota_left < 0 || n < (size_t)w->quota_left;
}

static int quota_wait(struct worker *w, struct job *j)
{
	if ((w->lists[WAIT_QUOTA].n && w->quota_next != j) ||
	    !quota_allows(w)) {
		list_add(w, j, WAIT_QUOTA);
		return 1;
	}
	return 0;
}

static void run_quota(struct worker *w)
{
	struct job *j;

	while ((j = w->lists[WAIT_QUOTA].head) && quota_allows(w)) {
		list_remove(w, j);
		w->quota_next = j;
		submit(w, j);
		w->quota_next = NULL;
	}
}

static void run_rate(struct worker *w, int64_t now)
{
	struct job *j;

	while ((j = w->lists[WAIT_RATE].head) && rate_due(w, j, now) <= now) {
		list_remove(w, j);
		w->rate_next = j;
		submit(w, j);
		w->rate_next = NULL;
	}
	if (w->lists[WAIT_RATE].n)
		return;
	if (w->rate_since)
		metrics_wait(w->metrics, METRICS_WAIT_RATE_LIMIT,
		             now - w->rate_since);
	w->rate_since = 0;
	pause_set(w, PAUSE_RATE, 0);
}

static void submit(struct worker *w, struct job *j)
{
	const struct api_request *req = &j->run->sync.req;
	const char *authz;
	char url[2048];
	bool ready;

	if (hold_blocks(&w->hold, j)) {
		list_add(w, j, WAIT_HOLD);
		return;
	}
	authz = auth_header(w->auth, clock_mono_ms(), &ready);
	if (!ready) {
		list_add(w, j, WAIT_TOKEN);
		return;
	}
	if (quota_wait(w, j) || rate_wait(w, j, clock_mono_ms()))
		return;
	j->run->auth_gen = auth_generation(w->auth);
	snprintf(url, sizeof(url), "%s%s", w->cfg->target.base_url, req->path);
	j->run->call =
	    http_submit_with(w->http, url, req, authz, j->run->change.event_id,
	                     j->run->fwd.v, j->run->fwd.n, on_http_done, j);
	if (!j->run->call) {
		/* Out of memory or handles: try again shortly. */
		j->run->sync.failures++;
		metrics_retry(w->metrics, SYNC_RETRY_REASON_LOCAL);
		handle_next(w, j, SYNC_RETRY);
		return;
	}
	list_add(w, j, WAIT_HTTP);
	quotarate_sent(&w->qrate, clock_mono_ms());
	j->run->sync.attempts++;
	log_kv(LOG_DEBUG, "request sent",
	       LOG_S("method", http_method_str(req->method)),
	       LOG_S("path", req->path), LOG_S("key", j->key),
	       LOG_N("attempt", j->run->sync.attempts));
}

static void log_quotarate(struct worker *w)
{
	if (!quotarate_should_log(&w->qrate))
		return;
	if (quotarate_rate(&w->qrate) > 0)
		log_kv(LOG_INFO,
		       "pacing requests to the quota learnt from 429s",
		       LOG_N("per_minute",
		             lround(quotarate_rate(&w->qrate) * 60.0)));
	else
		log_info("quota no longer seen: pacing ended");
}

static void start_hold(struct worker *w, long retry_after_s)
{
	int64_t wait_ms = backoff_retry_after_ms(
	    retry_after_s, w->cfg->retry.max_retry_after_s,
	    w->cfg->retry.initial_backoff_ms);
	enum hold_change c = hold_start(&w->hold, clock_mono_ms(), wait_ms);

	if (c == HOLD_KEPT)
		return;
	if (c == HOLD_STARTED)
		log_kv(
		    LOG_WARNING,
		    "endpoint asked to wait: writes wait, partitions paused",
		    LOG_N("retry_after_s", retry_after_s),
		    LOG_N("hold_ms", hold_left_ms(&w->hold, clock_mono_ms())));
	pause_set(w, PAUSE_HOLD, 1);
}

static void end_hold(struct worker *w)
{
	struct job *j;

	if (!hold_end(&w->hold))
		return;
	if (w->quota_since)
		metrics_wait(w->metrics, METRICS_WAIT_QUOTA,
		             clock_mono_ms() - w->quota_since);
	w->quota_since = 0;
	log_kv(LOG_NOTICE, "endpoint available again: resuming",
	       LOG_N("held", w->lists[WAIT_HOLD].n));
	if (quotarate_hold_ended(&w->qrate, clock_mono_ms()))
		log_quotarate(w);
	while ((j = w->lists[WAIT_HOLD].head)) {
		list_remove(w, j);
		submit(w, j);
	}
	pause_set(w, PAUSE_HOLD, 0);
}

static void complete(struct worker *w, struct job *j);
static void complete_quietly(struct worker *w, struct job *j,
                             const struct sync_job *s, int stopped);

/* A dry run reads but never writes. */
static int stop_before_write(const struct worker *w, const struct job *j)
{
	return w->hooks.before_write && is_write(j) &&
	       w->hooks.before_write(w->hooks.arg, j->rec.user, &j->run->sync);
}

static void handle_next(struct worker *w, struct job *j, enum sync_next n)
{
	int64_t d;

	switch (n) {
	case SYNC_SEND:
		if (stop_before_write(w, j)) {
			complete_quietly(w, j, &j->run->sync, 1);
			break;
		}
		submit(w, j);
		break;
	case SYNC_RETRY:
		d = backoff_delay_ms(
		    j->run->sync.failures, w->cfg->retry.initial_backoff_ms,
		    w->cfg->retry.max_backoff_ms, (uint32_t)rand());
		log_kv(
		    LOG_WARNING, "transient failure, retrying",
		    LOG_S("key", j->key),
		    LOG_S("method", http_method_str(j->run->sync.req.method)),
		    LOG_S("path", j->run->sync.req.path),
		    LOG_N("http_status", j->run->sync.http_status),
		    LOG_N("failures", j->run->sync.failures),
		    LOG_N("retry_in_ms", d));
		j->run->due_ms = clock_mono_ms() + d;
		list_add(w, j, WAIT_TIMER);
		break;
	case SYNC_HOLD:
		/* A 429's Retry-After is a quota's reset (a 503's is not):
		 * what was accepted until then teaches a pace. */
		if (j->run->sync.http_status == 429)
			quotarate_held(&w->qrate, clock_mono_ms(),
			               j->run->sync.retry_after_s);
		start_hold(w, j->run->sync.retry_after_s);
		list_add(w, j, WAIT_HOLD);
		break;
	case SYNC_REAUTH:
		auth_invalidate(w->auth, j->run->auth_gen);
		list_add(w, j, WAIT_TOKEN);
		break;
	case SYNC_WAIT:
		list_add(w, j, WAIT_INDEX);
		break;
	default:
		complete(w, j);
		break;
	}
}

/* A response that says the quota is used up holds the endpoint until the
 * reset, as a Retry-After does (then one request probes), instead of
 * sending into a 429. So does one that leaves no more than the requests
 * in flight will use (quota_allows): waiting for the last of their
 * answers to say 0 would only start the same wait a round trip later.
 * A quota answer to a request sent before the hold began tells nothing
 * new and does not lengthen it; the probe's answer does. Non-zero when
 * it holds. Unreadable quota headers are ignored, with a warning at
 * most once a minute. */
static int quota_hold(struct worker *w, const struct api_response *r,
                      const struct job *j)
{
	int64_t now = clock_mono_ms();
	size_t n = http_in_flight(w->http);
	int used_up;

	if (r->quota == QUOTA_BAD) {
		w->quota_bad++;
		if (!w->quota_warned_ms || now - w->quota_warned_ms >= 60000) {
			log_kv(LOG_WARNING, "quota headers ignored",
			       LOG_N("count", (long)w->quota_bad));
			w->quota_warned_ms = now;
			w->quota_bad = 0;
		}
		return 0;
	}
	used_up =
	    r->quota == QUOTA_EXHAUSTED ||
	    (r->quota == QUOTA_LEFT && n > 0 && r->quota_left <= (long)n);
	if (!used_up || r->quota_wait_s <= 0)
		return 0;
	if (w->quota_since && hold_blocks(&w->hold, j))
		return 1;
	if (!w->quota_since)
		w->quota_since = now;
	log_kv(LOG_INFO, "quota used up: holding until its reset",
	       LOG_N("reset_s", r->quota_wait_s));
	start_hold(w, r->quota_wait_s);
	return 1;
}

/* The admission cap: fixed, or the adaptive limit (at most its max). */
static long in_flight_cap(const struct worker *w)
{
	return w->adaptive ? concurrency_limit(&w->conc)
	                   : w->cfg->target.max_in_flight;
}

/* An answer moves the adaptive limit. A lower cap only stops new
 * admissions: events already active finish, in their key's order. */
static void adapt(struct worker *w, const struct api_response *r)
{
	enum conc_signal s =
	    concurrency_signal(r->status, r->retry_after_s, r->rtt_us);
	int64_t now = clock_mono_ms(), waited;

	if (!w->adaptive)
		return;
	/* Once per window, not per answer: a pread of a small file. */
	if (concurrency_window_due(&w->conc, now) &&
	    procstat_cpu_wait_us(w->schedstat_fd, &waited) == 0)
		concurrency_cpu_wait(&w->conc, waited);
	if (!concurrency_sample(&w->conc, now, r->rtt_us, s,
	                        pipeline_active(w->pl)))
		return;
	pipeline_set_max_active(w->pl, (size_t)in_flight_cap(w));
	if (concurrency_should_log(&w->conc))
		log_kv(LOG_INFO, "concurrency limit changed",
		       LOG_N("limit", in_flight_cap(w)),
		       LOG_N("active", pipeline_active(w->pl)),
		       LOG_N("baseline_rtt_ms",
		             concurrency_baseline_us(&w->conc) / 1000));
}

static void on_http_done(void *arg, const struct api_response *r)
{
	struct job *j = arg;
	struct worker *w = j->w;
	enum sync_next n;

	j->run->call = NULL;
	adapt(w, r);
	quotarate_answered(&w->qrate, clock_mono_ms(), r->status);
	w->quota_left = r->quota == QUOTA_LEFT ? r->quota_left : -1;
	list_remove(w, j);
	if (r->status == 0)
		log_kv(
		    LOG_WARNING, "request failed", LOG_S("key", j->key),
		    LOG_S("method", http_method_str(j->run->sync.req.method)),
		    LOG_S("path", j->run->sync.req.path),
		    LOG_S("error", r->error));
	n = sync_on_response(&j->run->sync, r);
	metrics_retry(w->metrics, j->run->sync.retry_reason);
	/* The probe's answer decides for everyone held. */
	if (hold_answered(&w->hold, j, quota_hold(w, r, j) || n == SYNC_HOLD))
		end_hold(w);
	handle_next(w, j, n);
	run_quota(w);
}

/* ---- token ---- */

static void release_token_waiters(struct worker *w)
{
	struct job *j;

	while ((j = w->lists[WAIT_TOKEN].head)) {
		list_remove(w, j);
		submit(w, j);
	}
}

static void on_token_done(void *arg, const struct api_response *r)
{
	struct worker *w = arg;
	bool ok;

	w->token_in_flight = 0;
	ok = auth_on_response(w->auth, r, clock_mono_ms());
	metrics_token_refresh(w->metrics, ok);
	if (ok)
		release_token_waiters(w);
}

static void maybe_fetch_token(struct worker *w)
{
	struct api_request req;
	const char *url;
	bool ready;

	if (!w->lists[WAIT_TOKEN].n || w->token_in_flight)
		return;
	/* A 401 for an older token: the current one is fine. */
	auth_header(w->auth, clock_mono_ms(), &ready);
	if (ready) {
		release_token_waiters(w);
		return;
	}
	if (!auth_want_request(w->auth, clock_mono_ms(), &url, &req))
		return;
	if (http_submit(w->http, url, &req, NULL, NULL, on_token_done, w))
		w->token_in_flight = 1;
	else if (!auth_on_response(w->auth,
	                           &(struct api_response){
	                               .status = 0,
	                               .error = "cannot start the request",
	                               .retry_after_s = -1},
	                           clock_mono_ms()))
		metrics_token_refresh(w->metrics, 0);
	api_request_done(&req);
}

/* ---- outcomes ---- */

static void fill_source(const struct job *j, struct outcome_source *s)
{
	memset(s, 0, sizeof(*s));
	s->topic = j->topic;
	s->partition = j->partition;
	s->offset = j->offset;
	if (j->rec.origin_topic) {
		/* A replayed dead letter speaks of its event's own position;
		 * where the dead letter was is in the replay member. */
		s->topic = j->rec.origin_topic;
		s->partition = j->rec.origin_partition;
		s->offset = j->rec.origin_offset;
		s->dead_letter_partition = j->partition;
		s->dead_letter_offset = j->offset;
		s->redeliveries = j->rec.redeliveries;
	}
	s->event_id = j->run->change.event_id;
	s->key = j->key;
	s->op = j->run->parsed ? change_op_str(j->run->change.op) : NULL;
	s->finished_at_ms = clock_wall_ms();
	s->duration_ms = clock_mono_ms() - j->received_ms;
}

static rd_kafka_headers_t *dlq_headers(const struct job *j,
                                       const struct outcome_source *s)
{
	rd_kafka_headers_t *hs = job_headers(j, 16);

	if (hs)
		dead_letter_add_headers(hs, &j->run->sync, s);
	return hs;
}

static void fatal(struct worker *w, int code, const char *why)
{
	if (!w->exit_code)
		log_err("stopping: %s", why);
	w->exit_code = code;
	w->stopping = 1;
}

static void log_outcome(const struct job *j)
{
	const struct sync_job *s = &j->run->sync;
	char msg[32];

	snprintf(msg, sizeof(msg), "event %s", sync_status_str(s->status));
	if (s->status == SYNC_FAILED)
		log_kv(LOG_WARNING, "event failed", LOG_S("topic", j->topic),
		       LOG_S("event_id", j->run->change.event_id),
		       LOG_N("partition", j->partition),
		       LOG_N("offset", j->offset), LOG_S("key", j->key),
		       LOG_S("code", s->err_code),
		       LOG_N("http_status", s->err_http_status),
		       LOG_N("attempts", s->attempts),
		       LOG_S("message", s->err_msg));
	else
		log_kv(s->status == SYNC_APPLIED ? LOG_INFO : LOG_DEBUG, msg,
		       LOG_S("topic", j->topic),
		       LOG_S("event_id", j->run->change.event_id),
		       LOG_N("partition", j->partition),
		       LOG_N("offset", j->offset), LOG_S("key", j->key),
		       LOG_S("action", sync_action_str(s->action)),
		       LOG_S("target_id", s->target_id ? s->target_id : "-"),
		       LOG_N("attempts", s->attempts));
}

static void finish_event(struct worker *w, struct job *j);

static void report_done(struct worker *w, struct job *j,
                        const struct sync_job *s, int stopped)
{
	if (w->hooks.on_done)
		w->hooks.on_done(w->hooks.arg, j->rec.user, j->partition,
		                 j->offset, j->key, s, stopped);
}

/* Done without a word on the results topic: settled without sync (s
 * NULL), stopped before a write, or any event of a read-only run. */
static void complete_quietly(struct worker *w, struct job *j,
                             const struct sync_job *s, int stopped)
{
	pipeline_output(w->pl, j->ev);
	report_done(w, j, s, stopped);
	finish_event(w, j);
}

static void complete(struct worker *w, struct job *j)
{
	struct outcome_source src;
	rd_kafka_headers_t *hs;
	char *json;

	if (w->hooks.read_only) {
		complete_quietly(w, j, &j->run->sync, 0);
		return;
	}
	pipeline_output(w->pl, j->ev);
	fill_source(j, &src);
	log_outcome(j);
	w->counts[j->run->sync.status]++;
	w->events_done++;
	metrics_event(w->metrics, j->run->sync.status, j->run->sync.action);
	if (j->run->sync.status == SYNC_FAILED)
		metrics_failure(w->metrics, j->run->sync.err_code);
	report_done(w, j, &j->run->sync, 0);
	json = outcome_json(&j->run->sync, &src);
	if (!json) {
		fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
		return;
	}
	j->dr_pending = 1;
	hs = forward_kafka_headers(&j->run->fwd);
	if ((j->run->fwd.n && !hs) ||
	    kafka_produce(w->kafka, w->cfg->kafka.results_topic, j->key,
	                  strlen(j->key), json, strlen(json), hs, j)) {
		if (hs)
			rd_kafka_headers_destroy(hs);
		j->dr_pending = 0;
		fatal(w, WORKER_EXIT_SOFTWARE, "cannot produce an outcome");
	}
	free(json);
	if (j->run->sync.status != SYNC_FAILED || !j->dr_pending)
		return;
	j->dr_pending++;
	hs = dlq_headers(j, &src);
	if (!hs ||
	    kafka_produce(w->kafka, w->cfg->kafka.dead_letter_topic, j->kkey,
	                  j->kkey_len, j->value, j->value_len, hs, j)) {
		/* Taken over only on success (kafka.h). */
		if (hs)
			rd_kafka_headers_destroy(hs);
		j->dr_pending--;
		fatal(w, WORKER_EXIT_SOFTWARE, "cannot produce a dead letter");
	} else {
		/* Counted when produced: a dead letter that is then not
		 * delivered stops the daemon (exit 70). */
		metrics_dead_letter(w->metrics);
	}
}

static void on_delivered(void *arg, void *opaque, int err, const char *errstr)
{
	struct worker *w = arg;
	struct job *j = opaque;

	if (err) {
		/* The offset stays unstored: after a restart the event is
		 * processed again, so nothing is lost. */
		if (!w->stopping || err != RD_KAFKA_RESP_ERR__PURGE_QUEUE) {
			log_kv(LOG_ERR, "delivery failed",
			       LOG_S("topic", j->topic),
			       LOG_N("partition", j->partition),
			       LOG_N("offset", j->offset),
			       LOG_S("error", errstr));
			fatal(w, WORKER_EXIT_SOFTWARE,
			      "an outcome was not delivered");
		}
		if (--j->dr_pending == 0) {
			j->ev->user = NULL;
			pipeline_forget(w->pl, j->ev);
			job_free(j);
		}
		return;
	}
	if (--j->dr_pending > 0)
		return;
	finish_event(w, j);
}

/* The event's outputs are acknowledged (or it had none): it is DONE, and
 * the partition's offset may move. */
static void finish_event(struct worker *w, struct job *j)
{
	struct pl_partition *part = j->ev->part;
	int64_t next;

	j->ev->user = NULL;
	if (pipeline_done(w->pl, j->ev)) {
		job_free(j);
		return;
	}
	job_free(j);
	next = pipeline_advance(w->pl, part);
	if (next >= 0 && w->hooks.progress)
		next = w->hooks.progress(w->hooks.arg, pl_partition_id(part),
		                         next);
	if (next >= 0 && !w->hooks.read_only)
		kafka_store(w->kafka, pl_partition_topic(part),
		            pl_partition_id(part), next);
}

/* ---- consumer side ---- */

#define FWD_WARN_EVERY_MS 60000

/* A header not forwarded is the producer's mistake and does not fail
 * the event. Each is logged at debug; a warning says so at most once a
 * minute, so a producer that gets every record wrong cannot flood the
 * log. */
static void report_dropped(struct worker *w, const struct job *j)
{
	const struct forward *f = &j->run->fwd;
	size_t kept = f->n_dropped < FORWARD_DROPS_KEPT ? f->n_dropped
	                                                : FORWARD_DROPS_KEPT;
	int64_t now = clock_mono_ms();

	if (!f->n_dropped)
		return;
	for (size_t i = 0; i < kept; i++)
		log_kv(LOG_DEBUG, "header not forwarded",
		       LOG_S("topic", j->topic),
		       LOG_N("partition", j->partition),
		       LOG_N("offset", j->offset),
		       LOG_S("header", f->dropped[i].name),
		       LOG_S("reason", f->dropped[i].why));
	w->fwd_dropped += f->n_dropped;
	if (w->fwd_warned_ms && now - w->fwd_warned_ms < FWD_WARN_EVERY_MS)
		return;
	log_kv(LOG_WARNING, "input headers not forwarded",
	       LOG_S("topic", j->topic), LOG_N("partition", j->partition),
	       LOG_N("offset", j->offset), LOG_S("header", f->dropped[0].name),
	       LOG_S("reason", f->dropped[0].why),
	       LOG_N("count", (long long)w->fwd_dropped));
	w->fwd_dropped = 0;
	w->fwd_warned_ms = now;
}

/* A record's bytes: the consumed message's, or a job's own copy. */
struct record {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const void *kkey;
	size_t kkey_len;
	const void *value; /* NULL: a tombstone */
	size_t value_len;
};

/* The one place a record becomes a change: when it arrives, for its
 * ordering key, and when it starts, again from the same bytes, so that
 * a waiting event holds no parsed form. Returns 1 when it parsed, 0
 * when it did not (c then holds only the event_id a readable envelope
 * names, err why), -ENOMEM. */
static int record_parse(const struct worker *w, const struct record *r,
                        const struct worker_record *rec, struct change *c,
                        struct event_error *err)
{
	const struct event_options opt = w->event_opt;
	char default_id[512];
	int rc;

	/* Events without an id (Debezium) are named by their position: a
	 * replayed one by its own, so it keeps its name. */
	if (rec->origin_topic)
		snprintf(default_id, sizeof(default_id), "%s-%d-%lld",
		         rec->origin_topic, (int)rec->origin_partition,
		         (long long)rec->origin_offset);
	else
		snprintf(default_id, sizeof(default_id), "%s-%d-%lld",
		         r->topic, (int)r->partition, (long long)r->offset);
	rc = event_parse_with(r->value, r->value_len, r->kkey, r->kkey_len,
	                      default_id, &opt, c, err);
	if (rc == -ENOMEM)
		return -ENOMEM;
	if (rc == 0)
		return 1;
	/* A readable event_id still names the event in its outcome. */
	c->event_id = event_peek_id(r->value, r->value_len);
	return 0;
}

/* The ordering and outcome key: the change's, or for a value that
 * cannot be parsed, the Kafka key's. */
static char *record_key(const struct worker *w, const struct record *r,
                        const struct worker_record *rec)
{
	const struct event_options opt = w->event_opt;
	struct event_error err;
	struct change c;
	char *key = NULL;
	int parsed = record_parse(w, r, rec, &c, &err);

	if (parsed == 1)
		key = strdup(c.key ? c.key : "");
	else if (parsed == 0)
		key = event_key_with(r->kkey, r->kkey_len, &opt);
	if (parsed == 0 && !key)
		key = strdup("");
	change_done(&c);
	return key;
}

static void job_record(const struct job *j, struct record *r)
{
	*r = (struct record){j->topic,    j->partition, j->offset,   j->kkey,
	                     j->kkey_len, j->value,     j->value_len};
}

/* The event starts: its change is parsed again from the record's bytes,
 * and what it forwards is collected. 0, or -ENOMEM. */
static int job_start(struct worker *w, struct job *j)
{
	struct job_run *r = calloc(1, sizeof(*r));
	rd_kafka_headers_t *hs;
	struct record rd;
	int rc;

	if (!r)
		return -ENOMEM;
	j->run = r;
	hs = job_headers(j, 0);
	if (j->headers && !hs)
		return -ENOMEM;
	rc = forward_collect(&r->fwd, hs, w->cfg->input.forward_headers,
	                     w->cfg->input.n_forward_headers);
	if (hs)
		rd_kafka_headers_destroy(hs);
	if (rc)
		return -ENOMEM;
	report_dropped(w, j);
	job_record(j, &rd);
	rc = record_parse(w, &rd, &j->rec, &r->change, &r->perr);
	if (rc < 0)
		return rc;
	r->parsed = rc;
	return 0;
}

/* Copies n bytes (none when p is NULL) to *at and moves it on. */
static const void *put(char **at, const void *p, size_t n)
{
	char *q = *at;

	if (!p)
		return NULL;
	if (n)
		memcpy(q, p, n);
	*at += n;
	return q;
}

/* Takes over rec (then rec->user is NULL) unless out of memory. One
 * allocation holds the job and the record's topic, key, value and
 * headers. */
static struct job *job_from_message(struct worker *w, rd_kafka_message_t *m,
                                    struct worker_record *rec)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct record rd = {topic,      m->partition, m->offset, m->key,
	                    m->key_len, m->payload,   m->len};
	rd_kafka_headers_t *hs = NULL;
	size_t topic_len = strlen(topic), key_len, hlen;
	char *key, *at;
	struct job *j;

	if (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		hs = NULL;
	hlen = headers_size(hs);
	key = record_key(w, &rd, rec);
	if (!key)
		return NULL;
	key_len = strlen(key);
	j = malloc(sizeof(*j) + topic_len + 1 + key_len + 1 + m->key_len +
	           m->len + hlen);
	if (!j) {
		free(key);
		return NULL;
	}
	*j = (struct job){.w = w,
	                  .partition = m->partition,
	                  .offset = m->offset,
	                  .received_ms = clock_mono_ms(),
	                  .rec = *rec};
	rec->user = NULL;
	at = j->bytes;
	j->topic = put(&at, topic, topic_len + 1);
	j->key = put(&at, key, key_len + 1);
	free(key);
	j->kkey = put(&at, m->key, m->key_len);
	j->kkey_len = (uint32_t)m->key_len;
	j->value = put(&at, m->payload, m->len);
	j->value_len = (uint32_t)m->len;
	if (hlen) {
		headers_write(hs, (unsigned char *)at);
		j->headers = (const unsigned char *)at;
		j->headers_len = (uint32_t)hlen;
	}
	return j;
}

static void release_record(struct worker *w, struct worker_record *rec)
{
	if (rec->user && w->hooks.release)
		w->hooks.release(w->hooks.arg, rec->user);
	rec->user = NULL;
}

static void take_message(void *arg, rd_kafka_message_t *m)
{
	struct worker *w = arg;
	struct worker_record rec = {.take = WORKER_TAKE_SYNC};
	struct pl_partition *part;
	struct job *j;

	if (w->stopping) {
		rd_kafka_message_destroy(m);
		return;
	}
	if (w->hooks.classify &&
	    w->hooks.classify(w->hooks.arg, m, &rec) < 0) {
		rd_kafka_message_destroy(m);
		fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
		return;
	}
	if (rec.take == WORKER_TAKE_IGNORE) {
		release_record(w, &rec);
		rd_kafka_message_destroy(m);
		return;
	}
	part = pipeline_partition(w->pl, rd_kafka_topic_name(m->rkt),
	                          m->partition, 1);
	j = part ? job_from_message(w, m, &rec) : NULL;
	release_record(w, &rec);
	rd_kafka_message_destroy(m);
	if (!j ||
	    !(j->ev = pipeline_push(w->pl, part, j->offset, j->key, j))) {
		job_free(j);
		fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
		return;
	}
	backpressure_check(&w->bp, part, w->paused != 0);
}

/* Avro records first wait for their schemas (daemon/avroinput.h). */
static void on_message(void *arg, rd_kafka_message_t *m)
{
	struct worker *w = arg;

	if (!w->avro || w->stopping) {
		take_message(w, m);
		return;
	}
	if (avroinput_offer(w->avro, m))
		fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
}

static void on_assigned(void *arg, const char *topic, int32_t partition)
{
	struct worker *w = arg;

	pipeline_partition(w->pl, topic, partition, 1);
	/* librdkafka forgets pauses across assignments. */
	w->reapply_pause = 1;
	/* Another instance may have created records of these partitions'
	 * keys: the key index is scanned again before it answers. */
	if (w->index)
		keyindex_invalidate(w->index);
}

static int64_t on_revoked(void *arg, const char *topic, int32_t partition,
                          int lost)
{
	struct worker *w = arg;
	struct pl_partition *p =
	    pipeline_partition(w->pl, topic, partition, 0);
	int64_t next;

	if (w->avro)
		avroinput_revoked(w->avro, topic, partition);
	if (!p)
		return -1;
	next = pipeline_revoke(w->pl, p, release_job, w);
	return lost ? -1 : next;
}

static void on_stats(void *arg, const char *json, size_t len)
{
	struct worker *w = arg;

	if (metrics_kafka_stats(w->metrics, json, len, clock_mono_ms()))
		log_debug("kafka statistics unreadable, ignoring");
}

/* Fenced exits 78 like a config error: the unit does not restart it
 * (RestartPreventExitStatus=78), since a restart would fence the other
 * instance in turn. */
static void on_fatal(void *arg, int fenced, const char *reason)
{
	/* The kafka edge has logged the reason already. */
	(void)reason;
	fatal(arg, fenced ? WORKER_EXIT_CONFIG : WORKER_EXIT_TEMPFAIL,
	      "kafka fatal error");
}

/* ---- loop ---- */

static void start_ready(struct worker *w)
{
	struct pl_event *ev;

	while (!w->stopping && (ev = pipeline_next_ready(w->pl))) {
		struct job *j = ev->user;

		if (j->rec.take == WORKER_TAKE_SETTLE) {
			complete_quietly(w, j, NULL, 0);
			continue;
		}
		if (job_start(w, j)) {
			/* Its offset stays unstored: it comes back after a
			 * restart. */
			pipeline_abandon(w->pl, ev);
			job_free(j);
			fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
			break;
		}
		sync_init(&j->run->sync,
		          j->run->parsed ? &j->run->change : NULL, w->profile,
		          w->cfg, w->cache, w->index);
		if (j->rec.take == WORKER_TAKE_SKIP) {
			sync_skip(&j->run->sync, j->rec.skip_code,
			          j->rec.skip_reason);
			complete(w, j);
			continue;
		}
		if (!j->run->parsed) {
			sync_fail(&j->run->sync, j->run->perr.code,
			          j->run->perr.message);
			complete(w, j);
			continue;
		}
		handle_next(w, j, sync_start(&j->run->sync));
	}
}

/* Jobs waiting for the key index go on once nobody scans it: each
 * looks again (one of them may claim the next scan, and the others then
 * wait for that one). */
static void release_index_waiters(struct worker *w)
{
	struct job_list waiting = w->lists[WAIT_INDEX];
	enum keyindex_state st;
	struct job *j;

	if (!w->index)
		return;
	st = keyindex_state(w->index);
	if (st != w->index_seen && st == KEYINDEX_READY)
		log_kv(LOG_INFO, "key index ready",
		       LOG_N("entries", keyindex_size(w->index)),
		       LOG_N("scans", keyindex_scans(w->index)));
	else if (st != w->index_seen && st == KEYINDEX_FAILED)
		log_warn("key index: the list cannot be read; looking up "
		         "each key on its own");
	w->index_seen = st;
	if (st == KEYINDEX_SCANNING || !waiting.n)
		return;
	memset(&w->lists[WAIT_INDEX], 0, sizeof(w->lists[WAIT_INDEX]));
	while ((j = waiting.head)) {
		waiting.head = j->run->next;
		j->run->prev = j->run->next = NULL;
		j->run->wait = WAIT_NONE;
		handle_next(w, j, sync_resume(&j->run->sync));
	}
}

static void run_timers(struct worker *w, int64_t now)
{
	struct job *j = w->lists[WAIT_TIMER].head, *next;

	for (; j; j = next) {
		next = j->run->next;
		if (j->run->due_ms > now)
			continue;
		list_remove(w, j);
		submit(w, j);
	}
	switch (hold_due(&w->hold, now, w->lists[WAIT_HOLD].n)) {
	case HOLD_END:
		end_hold(w);
		break;
	case HOLD_PROBE:
		/* One request probes before the rest resume. */
		j = w->lists[WAIT_HOLD].head;
		list_remove(w, j);
		hold_probe(&w->hold, j);
		log_kv(LOG_INFO, "retry-after elapsed: probing",
		       LOG_S("key", j->key));
		submit(w, j);
		break;
	default:
		break;
	}
	if (quotarate_tick(&w->qrate, now))
		log_quotarate(w);
	run_rate(w, now);
	if (w->avro) {
		avroinput_run(w->avro, now);
		pause_set(w, PAUSE_SCHEMA, avroinput_blocked(w->avro));
	}
}

/* A check that just misses the due time may be followed by a wait of
 * LOOP_MAX_WAIT_MS, so ping that much early: the gap then stays within
 * half of WatchdogSec= (sd_watchdog_enabled(3)'s advice). The floor
 * bounds the rate for very short intervals. */
static int64_t watchdog_ms(const struct worker *w)
{
	int64_t ping_ms =
	    (int64_t)(w->watchdog_usec / 2000) - LOOP_MAX_WAIT_MS;

	return ping_ms < LOOP_MAX_WAIT_MS / 10 ? LOOP_MAX_WAIT_MS / 10
	                                       : ping_ms;
}

static int next_timeout(struct worker *w, int64_t now)
{
	int64_t next = now + w->max_wait_ms;
	const struct job *j;

	/* A longer wait than LOOP_MAX_WAIT_MS still ends for the watchdog
	 * ping. */
	if (w->watchdog_usec && w->last_watchdog + watchdog_ms(w) < next)
		next = w->last_watchdog + watchdog_ms(w);

	for (j = w->lists[WAIT_TIMER].head; j; j = j->run->next)
		if (j->run->due_ms < next)
			next = j->run->due_ms;
	if (hold_wake_ms(&w->hold) < next)
		next = hold_wake_ms(&w->hold);
	if (w->lists[WAIT_TOKEN].n && auth_next_ms(w->auth) < next)
		next = auth_next_ms(w->auth);
	if (w->lists[WAIT_RATE].n &&
	    rate_due(w, w->lists[WAIT_RATE].head, now) < next)
		next = rate_due(w, w->lists[WAIT_RATE].head, now);
	if (w->avro && avroinput_next_ms(w->avro) &&
	    avroinput_next_ms(w->avro) < next)
		next = avroinput_next_ms(w->avro);
	return next <= now ? 0 : (int)(next - now);
}

static void notify_status(struct worker *w, int64_t now)
{
	size_t assigned, paused;
	double secs;
	char pace[64];

	if (w->watchdog_usec && now - w->last_watchdog >= watchdog_ms(w)) {
		sd_notify(0, "WATCHDOG=1");
		w->last_watchdog = now;
	}
	if (now - w->last_status < STATUS_EVERY_MS)
		return;
	secs = (double)(now - w->last_status) / 1000.0;
	paused = backpressure_paused(&w->bp, w->paused != 0, &assigned);
	/* The learnt pace only while there is one: it is rare. */
	snprintf(pace, sizeof(pace), ", paced to %.1f requests/s",
	         quotarate_rate(&w->qrate));
	sd_notifyf(0,
	           "STATUS=%.1f events/s, %zu in flight, %zu buffered, "
	           "%zu/%zu partitions paused, concurrency limit %ld%s",
	           (double)(w->events_done - w->events_at_status) / secs,
	           http_in_flight(w->http), pipeline_buffered(w->pl), paused,
	           assigned, in_flight_cap(w),
	           quotarate_rate(&w->qrate) > 0 ? pace : "");
	w->events_at_status = w->events_done;
	w->last_status = now;
}

static void begin_stop(struct worker *w)
{
	struct job *j;

	log_kv(LOG_NOTICE, "stopping: no new events",
	       LOG_N("in_flight", http_in_flight(w->http)),
	       LOG_N("buffered", pipeline_buffered(w->pl)));
	sd_notify(0, "STOPPING=1");
	w->stopping = 1;
	pause_set(w, PAUSE_SHUTDOWN, 1);
	pipeline_drop_queued(w->pl, release_job, w);
	if (w->avro)
		avroinput_stop(w->avro);
	/* Waits that may last long are abandoned now; requests in flight
	 * get until the shutdown deadline. Abandoned events keep their
	 * offsets unstored and come back after a restart. */
	for (int l = WAIT_TOKEN; l < WAIT_MAX; l++) {
		while ((j = w->lists[l].head)) {
			job_detach(w, j);
			pipeline_abandon(w->pl, j->ev);
			job_free(j);
		}
	}
	hold_cancel(&w->hold);
}

/* Past the shutdown deadline: requests still running are cancelled; their
 * events keep their offsets unstored. */
static void abandon_in_flight(struct worker *w)
{
	struct job *j;

	while ((j = w->lists[WAIT_HTTP].head)) {
		log_kv(
		    LOG_WARNING, "abandoning request", LOG_S("key", j->key),
		    LOG_S("method", http_method_str(j->run->sync.req.method)),
		    LOG_S("path", j->run->sync.req.path));
		job_detach(w, j);
		pipeline_abandon(w->pl, j->ev);
		job_free(j);
	}
}

/* Outcomes produced so far are flushed (bounded), what they acknowledge
 * is stored and committed, then the group is left. */
static void finish_stop(struct worker *w, int64_t deadline)
{
	int64_t left_ms = deadline - clock_mono_ms();
	int undelivered;

	abandon_in_flight(w);
	if (left_ms < 1000)
		left_ms = 1000;
	undelivered = kafka_flush(w->kafka, (int)left_ms);
	if (undelivered > 0)
		log_kv(LOG_WARNING,
		       "outcomes not acknowledged at shutdown: their events "
		       "will be processed again",
		       LOG_N("count", undelivered));
	if (!w->hooks.read_only)
		kafka_commit(w->kafka);
	kafka_close_consumer(w->kafka);
	kafka_purge(w->kafka);
	log_kv(LOG_NOTICE, "stopped", LOG_N("events", w->events_done),
	       LOG_N("applied", w->counts[SYNC_APPLIED]),
	       LOG_N("unchanged", w->counts[SYNC_UNCHANGED]),
	       LOG_N("skipped", w->counts[SYNC_SKIPPED]),
	       LOG_N("failed", w->counts[SYNC_FAILED]));
}

static void update_metrics(struct worker *w, int64_t now)
{
	size_t assigned, paused;

	if (!w->metrics)
		return;
	paused = backpressure_paused(&w->bp, w->paused != 0, &assigned);
	metrics_loop(w->metrics, now, http_in_flight(w->http), paused,
	             hold_left_ms(&w->hold, now));
	metrics_rate_tokens(
	    w->metrics,
	    ratelimit_on(&w->rate) ? ratelimit_tokens(&w->rate, now) : -1,
	    ratelimit_on(&w->write_rate)
	        ? ratelimit_tokens(&w->write_rate, now)
	        : -1);
	metrics_concurrency(w->metrics, in_flight_cap(w),
	                    pipeline_active(w->pl));
	metrics_quota_pace(w->metrics, quotarate_rate(&w->qrate));
	metrics_concurrency_stalled(w->metrics, w->conc.stalled_windows);
}

/* A run with an end of its own (replay) has reached it. */
static int run_finished(struct worker *w)
{
	return w->hooks.finished && w->hooks.finished(w->hooks.arg);
}

int worker_run(struct worker *w, const volatile sig_atomic_t *stop)
{
	int fd = kafka_fd(w->kafka);
	int64_t deadline = 0, now;

	w->last_status = clock_mono_ms();
	if (w->adaptive && w->schedstat_fd < 0)
		w->schedstat_fd = procstat_open_schedstat();
	sd_notify(0, "READY=1\nSTATUS=consuming");
	log_kv(LOG_NOTICE, "custsync running",
	       LOG_S("profile", w->profile->name),
	       LOG_N("topics", w->cfg->kafka.n_topics),
	       LOG_S("group", w->cfg->kafka.group_id),
	       LOG_N("max_in_flight",
	             w->adaptive ? w->conc.max : in_flight_cap(w)),
	       LOG_S("concurrency", w->adaptive ? "adaptive" : "fixed"));
	for (;;) {
		now = clock_mono_ms();
		if ((*stop || w->exit_code || run_finished(w)) && !deadline) {
			begin_stop(w);
			deadline = now + w->cfg->worker.shutdown_timeout_ms;
		}
		if (deadline && (http_in_flight(w->http) == 0 ||
		                 now >= deadline || w->exit_code))
			break;
		start_ready(w);
		maybe_fetch_token(w);
		notify_status(w, now);
		update_metrics(w, now);
		http_wait(w->http, &fd, 1, next_timeout(w, now));
		http_dispatch(w->http);
		kafka_dispatch(w->kafka);
		if (w->reapply_pause) {
			if (w->paused)
				kafka_pause_all(w->kafka, 1);
			else
				backpressure_repause(&w->bp);
		}
		w->reapply_pause = 0;
		backpressure_release(&w->bp, w->paused != 0,
		                     pipeline_active(w->pl) +
		                             pipeline_ready(w->pl) <
		                         (size_t)in_flight_cap(w));
		run_timers(w, clock_mono_ms());
		release_index_waiters(w);
	}
	finish_stop(w, deadline);
	return w->exit_code;
}

struct worker *worker_new(const struct config *cfg,
                          const struct worker_hooks *hooks,
                          const struct kafka_assignment *as, char *err,
                          size_t errlen)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct kafka_callbacks cb = {
	    .assigned = on_assigned,
	    .revoked = on_revoked,
	    .message = on_message,
	    .delivered = on_delivered,
	    .fatal = on_fatal,
	};
	struct http_options ho = {
	    .timeout_ms = cfg->target.timeout_ms,
	    .connect_timeout_ms = cfg->target.connect_timeout_ms,
	    .max_connections = cfg->target.max_connections
	                           ? cfg->target.max_connections
	                       : cfg->target.max_in_flight == CONFIG_ADAPTIVE
	                           ? cfg->target.adaptive.max
	                           : cfg->target.max_in_flight,
	    .tls_verify = cfg->target.tls_verify,
	    .tls = &cfg->target.tls,
	    .proxy = &cfg->target.proxy,
	    .headers = cfg->target.headers,
	    .n_headers = cfg->target.n_headers,
	    .max_response_bytes = (size_t)cfg->target.max_response_bytes,
	};

	if (!w)
		return NULL;
	w->cfg = cfg;
	w->schedstat_fd = -1;
	w->max_wait_ms = LOOP_MAX_WAIT_MS;
	ratelimit_init(&w->rate, cfg->target.rate_limit.requests,
	               cfg->target.rate_limit.per_ms,
	               cfg->target.rate_limit.burst, clock_mono_ms());
	ratelimit_init(&w->write_rate, cfg->target.write_rate_limit.requests,
	               cfg->target.write_rate_limit.per_ms,
	               cfg->target.write_rate_limit.burst, clock_mono_ms());
	if (hooks)
		w->hooks = *hooks;
	w->profile = profile_find(cfg->target.profile);
	if (!w->profile) {
		snprintf(err, errlen, "unknown profile '%s'",
		         cfg->target.profile);
		return worker_free(w);
	}
	cb.arg = w;
	/* Not for replay, which runs next to the daemon and its port. */
	if (cfg->metrics.listen && !w->hooks.no_metrics) {
		w->metrics = metrics_new(w->profile->name, cfg->metrics.listen,
		                         err, errlen);
		if (!w->metrics)
			return worker_free(w);
		cb.stats = on_stats;
		ho.metrics = w->metrics;
		w->max_wait_ms = LOOP_MAX_WAIT_STATS_MS;
	}
	w->cache = cache_new(CACHE_MAX_ENTRIES);
	if (w->profile->flags & PROFILE_INDEXED) {
		w->index = keyindex_new();
		if (!w->index) {
			snprintf(err, errlen, "out of memory");
			return worker_free(w);
		}
	}
	w->quota_left = -1;
	w->adaptive = cfg->target.max_in_flight == CONFIG_ADAPTIVE;
	if (w->adaptive)
		concurrency_init(&w->conc, cfg->target.adaptive.min,
		                 cfg->target.adaptive.max, clock_mono_ms());
	quotarate_init(&w->qrate, w->adaptive, clock_mono_ms());
	w->pl = pipeline_new((size_t)in_flight_cap(w));
	if (w->pl)
		pipeline_set_partition_cap(
		    w->pl, (size_t)cfg->target.max_in_flight_per_partition);
	w->http = http_new(&ho);
	w->auth = auth_new(cfg);
	w->event_opt = event_options_of(cfg);
	if (w->http && cfg->input.format == INPUT_AVRO) {
		w->avro = avroinput_new(cfg, w->http, take_message, w);
		if (w->avro)
			avroinput_options(w->avro, &w->event_opt);
	}
	if (!w->cache || !w->pl || !w->http || !w->auth ||
	    (cfg->input.format == INPUT_AVRO && !w->avro)) {
		snprintf(err, errlen, "out of memory");
		return worker_free(w);
	}
	w->kafka = kafka_new(cfg, &cb, as, err, errlen);
	if (!w->kafka)
		return worker_free(w);
	w->bp = (struct backpressure){
	    .pl = w->pl,
	    .kafka = w->kafka,
	    .max_buffered = cfg->worker.max_buffered_events,
	};
	if (sd_watchdog_enabled(0, &w->watchdog_usec) <= 0)
		w->watchdog_usec = 0;
	srand((unsigned)(clock_mono_ms() ^ (int64_t)getpid()));
	return w;
}

struct worker *worker_free(struct worker *w)
{
	if (!w)
		return NULL;
	if (w->schedstat_fd >= 0)
		close(w->schedstat_fd);
	/* The consumer goes first: its last revoke still needs the
	 * pipeline. */
	w->kafka = kafka_free(w->kafka);
	while (w->lists[WAIT_HTTP].head || w->lists[WAIT_TOKEN].head ||
	       w->lists[WAIT_HOLD].head || w->lists[WAIT_TIMER].head ||
	       w->lists[WAIT_INDEX].head || w->lists[WAIT_RATE].head ||
	       w->lists[WAIT_QUOTA].head) {
		for (int l = WAIT_HTTP; l < WAIT_MAX; l++) {
			struct job *j = w->lists[l].head;

			if (!j)
				continue;
			job_detach(w, j);
			if (j->ev)
				pipeline_abandon(w->pl, j->ev);
			job_free(j);
		}
	}
	w->pl = pipeline_free(w->pl);
	/* Before http: it cancels its fetches there. */
	avroinput_free(w->avro);
	w->avro = NULL;
	w->http = http_free(w->http);
	w->auth = auth_free(w->auth);
	w->cache = cache_free(w->cache);
	w->index = keyindex_free(w->index);
	/* Last: the consumer's close still reports statistics. */
	w->metrics = metrics_free(w->metrics);
	free(w);
	return NULL;
}
