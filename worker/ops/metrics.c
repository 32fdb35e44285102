#include "ops/metrics.h"

#include "lib/clock.h"
#include "ops/health.h"
#include "ops/kstats.h"
#include "ops/procstat.h"
#include "ops/status_server.h"
#include "core/request.h"
#include "core/sync.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An input-controlled resource with a cap. */
#define METRICS_MAX_TEXT (8 * 1024 * 1024)

/* Prometheus' default buckets: API calls take milliseconds to seconds. */
static const double duration_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define N_BOUNDS (sizeof(duration_bounds) / sizeof(duration_bounds[0]))

/* No 1xx: libcurl hands informational answers over only as the final
 * one's prelude, so a finished request never ends on one. */
enum http_class {
	CLASS_2XX,
	CLASS_3XX,
	CLASS_4XX,
	CLASS_5XX,
	CLASS_ERROR, /* no valid response: connect, timeout, TLS... */
	CLASS_MAX
};

static const char *const class_names[CLASS_MAX] = {
    "2xx", "3xx", "4xx", "5xx", "error",
};

/* The outcome's error codes (schemas/dead-letter.md, "Error codes"),
 * a fixed label set: a code outside it (a profile's own, from the API's
 * answer) counts as "other", the last entry. */
static const char *const failure_codes[] = {
    "invalid_json",       "invalid_event",
    "unknown_op",         "missing_key",
    "invalid_decimal",    "invalid_time",
    "unknown_schema",     "invalid_avro",
    "validation",         "not_found",
    "forbidden",          "unauthorized",
    "conflict",           "rejected",
    "precondition_loop",  "max_attempts",
    "proxy_unauthorized", "invalid_response",
    "internal",           "other",
};
#define N_FAILURE_CODES (sizeof(failure_codes) / sizeof(failure_codes[0]))

struct metrics {
	char *profile;
	struct status_server *server;

	_Atomic uint64_t events[SYNC_STATUS_MAX][SYNC_ACTION_MAX];
	_Atomic uint64_t failures[N_FAILURE_CODES];
	_Atomic uint64_t retries[SYNC_RETRY_REASON_MAX];
	_Atomic uint64_t http[HTTP_METHOD_MAX][CLASS_MAX];
	/* A method's series appear once the profile has used it: each
	 * profile sends only some of the five. */
	_Atomic bool method_used[HTTP_METHOD_MAX];
	_Atomic uint64_t duration[N_BOUNDS + 1]; /* last: above every bound */
	_Atomic uint64_t duration_sum_us;
	_Atomic uint64_t dead_letters;
	_Atomic uint64_t token[2]; /* [0] failure, [1] success */
	_Atomic uint64_t in_flight;
	_Atomic uint64_t concurrency_limit, events_active;
	_Atomic uint64_t quota_pace_milli; /* requests/s x 1000 */
	_Atomic uint64_t cache_entries, cache_bytes;
	_Atomic uint64_t stalled_windows;
	_Atomic uint64_t paused;
	_Atomic int64_t retry_after_ms;
	_Atomic int64_t heartbeat_ms;
	_Atomic uint64_t http_429;
	_Atomic uint64_t wait_ms[METRICS_WAIT_MAX];
	_Atomic int64_t tokens[2]; /* target.rate_limit, write_rate_limit */

	pthread_mutex_t lock; /* ks */
	struct kstats ks;
};

static void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The server parses it; config/schema.c checks metrics.listen through here. */
const char *metrics_listen_problem(const char *listen,
                                   struct sockaddr_storage *addr)
{
	return status_server_listen_problem(listen, addr);
}

/* ---- exposition text -------------------------------------------------- */

struct text {
	char *p;
	size_t n, cap;
	bool bad; /* out of memory or past METRICS_MAX_TEXT */
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t,
                                                      const char *fmt, ...)
{
	va_list ap;
	int w;

	if (t->bad)
		return;
	for (;;) {
		va_start(ap, fmt);
		w = vsnprintf(t->p ? t->p + t->n : NULL,
		              t->p ? t->cap - t->n : 0, fmt, ap);
		va_end(ap);
		if (w < 0) {
			t->bad = true;
			return;
		}
		if (t->p && (size_t)w < t->cap - t->n) {
			t->n += (size_t)w;
			return;
		}
		if (t->n + (size_t)w + 1 > METRICS_MAX_TEXT) {
			t->bad = true;
			return;
		}
		{
			size_t cap = t->cap ? t->cap * 2 : 16384;
			char *q;

			while (cap < t->n + (size_t)w + 1)
				cap *= 2;
			q = realloc(t->p, cap);
			if (!q) {
				t->bad = true;
				return;
			}
			t->p = q;
			t->cap = cap;
		}
	}
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct text *t, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			put(t, "\\\\");
		else if (*v == '"')
			put(t, "\\\"");
		else if (*v == '\n')
			put(t, "\\n");
		else
			put(t, "%c", *v);
	}
}

static void put_head(struct text *t, const char *name, const char *type,
                     const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The outcome schema's rule, kept by sync's finish(): only an applied
 * event has an action, and it always has one. */
static bool outcome_possible(unsigned status, unsigned action)
{
	return (status == SYNC_APPLIED) == (action != SYNC_ACTION_NONE);
}

static void render_events(struct metrics *m, struct text *t)
{
	put_head(t, "custsync_events_total", "counter",
	         "Events finished, by outcome status and action.");
	for (unsigned s = 0; s < SYNC_STATUS_MAX; s++)
		for (unsigned a = 0; a < SYNC_ACTION_MAX; a++) {
			if (!outcome_possible(s, a))
				continue;
			put(t, "custsync_events_total{profile=\"");
			put_label(t, m->profile);
			put(t, "\",status=\"%s\",action=\"%s\"} %llu\n",
			    sync_status_str(s), sync_action_str(a),
			    (unsigned long long)get(&m->events[s][a]));
		}
	put_head(t, "custsync_dead_letters_total", "counter",
	         "Dead letters produced to the dead-letter topic.");
	put(t, "custsync_dead_letters_total %llu\n",
	    (unsigned long long)get(&m->dead_letters));
	put_head(t, "custsync_events_failed_total", "counter",
	         "Failed events, by the outcome's error code (other: a "
	         "code of the profile's own).");
	for (size_t i = 0; i < N_FAILURE_CODES; i++)
		put(t, "custsync_events_failed_total{code=\"%s\"} %llu\n",
		    failure_codes[i],
		    (unsigned long long)get(&m->failures[i]));
	put_head(t, "custsync_retries_total", "counter",
	         "API requests that do work again, by the reason the "
	         "answer before gave.");
	for (unsigned r = SYNC_RETRY_REASON_NONE + 1;
	     r < SYNC_RETRY_REASON_MAX; r++)
		put(t, "custsync_retries_total{reason=\"%s\"} %llu\n",
		    sync_retry_reason_str(r),
		    (unsigned long long)get(&m->retries[r]));
}

static void render_http(struct metrics *m, struct text *t)
{
	uint64_t cum = 0;

	put_head(t, "custsync_http_requests_total", "counter",
	         "API and token requests finished, by method and status "
	         "class (error: no valid response).");
	for (unsigned i = 0; i < HTTP_METHOD_MAX; i++) {
		if (!atomic_load_explicit(&m->method_used[i],
		                          memory_order_relaxed))
			continue;
		for (unsigned c = 0; c < CLASS_MAX; c++)
			put(t,
			    "custsync_http_requests_total{method=\"%s\","
			    "class=\"%s\"} %llu\n",
			    http_method_str(i), class_names[c],
			    (unsigned long long)get(&m->http[i][c]));
	}
	put_head(t, "custsync_http_request_duration_seconds", "histogram",
	         "Duration of finished API and token requests.");
	for (size_t i = 0; i <= N_BOUNDS; i++) {
		cum += get(&m->duration[i]);
		if (i < N_BOUNDS)
			put(t,
			    "custsync_http_request_duration_seconds_bucket"
			    "{le=\"%g\"} %llu\n",
			    duration_bounds[i], (unsigned long long)cum);
	}
	/* _count is the +Inf bucket, so the two always agree. */
	put(t,
	    "custsync_http_request_duration_seconds_bucket{le=\"+Inf\"} "
	    "%llu\n"
	    "custsync_http_request_duration_seconds_sum %.6f\n"
	    "custsync_http_request_duration_seconds_count %llu\n",
	    (unsigned long long)cum, (double)get(&m->duration_sum_us) / 1e6,
	    (unsigned long long)cum);
	put_head(t, "custsync_token_refreshes_total", "counter",
	         "OAuth2 token requests, by result.");
	put(t,
	    "custsync_token_refreshes_total{result=\"success\"} %llu\n"
	    "custsync_token_refreshes_total{result=\"failure\"} %llu\n",
	    (unsigned long long)get(&m->token[1]),
	    (unsigned long long)get(&m->token[0]));
}

static void put_number(struct text *t, const char *name, const char *type,
                       const char *help, double v);

static const char *const wait_names[METRICS_WAIT_MAX] = {
    [METRICS_WAIT_RATE_LIMIT] = "rate_limit",
    [METRICS_WAIT_QUOTA] = "quota",
};

static void render_rate(struct metrics *m, struct text *t)
{
	static const char *const limits[2] = {"rate_limit",
	                                      "write_rate_limit"};
	int64_t v[2];

	put_number(t, "custsync_http_429_total", "counter",
	           "API answers 429 Too Many Requests.",
	           (double)get(&m->http_429));
	put_head(t, "custsync_rate_limit_wait_seconds_total", "counter",
	         "Time requests waited before they went, by reason: a "
	         "rate-limit token or a quota reset.");
	for (unsigned r = 0; r < METRICS_WAIT_MAX; r++)
		put(t,
		    "custsync_rate_limit_wait_seconds_total{reason=\"%s\"} "
		    "%.3f\n",
		    wait_names[r], (double)get(&m->wait_ms[r]) / 1000.0);
	for (int i = 0; i < 2; i++)
		v[i] =
		    atomic_load_explicit(&m->tokens[i], memory_order_relaxed);
	if (v[0] < 0 && v[1] < 0)
		return;
	put_head(t, "custsync_rate_limit_tokens", "gauge",
	         "Tokens available now, by configured limit.");
	for (int i = 0; i < 2; i++)
		if (v[i] >= 0)
			put(t,
			    "custsync_rate_limit_tokens{limit=\"%s\"} "
			    "%lld\n",
			    limits[i], (long long)v[i]);
}

static void render_loop(struct metrics *m, struct text *t, int64_t now)
{
	int64_t hb =
	    atomic_load_explicit(&m->heartbeat_ms, memory_order_relaxed);

	put_head(t, "custsync_http_in_flight", "gauge",
	         "API requests in flight.");
	put(t, "custsync_http_in_flight %llu\n",
	    (unsigned long long)get(&m->in_flight));
	put_number(t, "custsync_concurrency_limit", "gauge",
	           "Events that may be active at once: max_in_flight, or the "
	           "adaptive limit.",
	           (double)get(&m->concurrency_limit));
	put_number(t, "custsync_concurrency_cpu_stalled_windows_total",
	           "counter",
	           "Adaptive-limit windows not judged by their RTT because "
	           "custsync waited for a CPU: the host is overloaded.",
	           (double)get(&m->stalled_windows));
	put_number(t, "custsync_quota_pace_requests_per_second", "gauge",
	           "The pace learnt from the partner's 429s (max_in_flight: "
	           "adaptive); 0 when requests are not paced.",
	           (double)get(&m->quota_pace_milli) / 1000.0);
	put_number(t, "custsync_cache_entries", "gauge",
	           "Keys whose record last read from the API is cached.",
	           (double)get(&m->cache_entries));
	put_number(t, "custsync_cache_bytes", "gauge",
	           "Memory those cached records take (estimated), bounded by "
	           "worker.cache_mb.",
	           (double)get(&m->cache_bytes));
	put_number(t, "custsync_events_active", "gauge",
	           "Events admitted and not yet answered (under the limit).",
	           (double)get(&m->events_active));
	put_head(t, "custsync_partitions_paused", "gauge",
	         "Assigned partitions paused (Retry-After hold, "
	         "backpressure or shutdown).");
	put(t, "custsync_partitions_paused %llu\n",
	    (unsigned long long)get(&m->paused));
	put_head(t, "custsync_retry_after_seconds", "gauge",
	         "Time left of the endpoint-wide Retry-After hold; 0 when "
	         "none.");
	put(t, "custsync_retry_after_seconds %.3f\n",
	    (double)atomic_load_explicit(&m->retry_after_ms,
	                                 memory_order_relaxed) /
	        1000.0);
	render_rate(m, t);
	put_head(t, "custsync_loop_heartbeat_age_seconds", "gauge",
	         "Time since the event loop last went round.");
	put(t, "custsync_loop_heartbeat_age_seconds %.3f\n",
	    (double)(now > hb ? now - hb : 0) / 1000.0);
}

static void put_number(struct text *t, const char *name, const char *type,
                       const char *help, double v)
{
	put_head(t, name, type, help);
	if (isinf(v))
		put(t, "%s +Inf\n", name);
	else
		put(t, "%s %.15g\n", name, v);
}

/* The client libraries' process collector: names, types and units as
 * theirs, so dashboards made for any exporter work. Read at scrape time
 * on the server's thread; a part /proc does not give is left out. */
static void render_process(struct text *t)
{
	struct procstat ps;

	procstat_read(&ps);
	if (ps.have_stat) {
		put_number(t, "process_cpu_seconds_total", "counter",
		           "Total user and system CPU time spent in seconds.",
		           ps.cpu_seconds);
		put_number(t, "process_virtual_memory_bytes", "gauge",
		           "Virtual memory size in bytes.",
		           (double)ps.virtual_bytes);
		put_number(t, "process_resident_memory_bytes", "gauge",
		           "Resident memory size in bytes.",
		           (double)ps.resident_bytes);
	}
	if (ps.have_start)
		put_number(t, "process_start_time_seconds", "gauge",
		           "Start time of the process since unix epoch in "
		           "seconds.",
		           ps.start_time_s);
	if (ps.have_open_fds)
		put_number(t, "process_open_fds", "gauge",
		           "Number of open file descriptors.",
		           (double)ps.open_fds);
	if (ps.have_max_fds)
		put_number(t, "process_max_fds", "gauge",
		           "Maximum number of open file descriptors.",
		           ps.max_fds);
}

/* Under m->lock. */
static void render_kafka(const struct kstats *ks, struct text *t)
{
	put_head(t, "custsync_consumer_lag", "gauge",
	         "Messages behind the committed offset, per assigned "
	         "partition (librdkafka statistics).");
	for (size_t i = 0; i < ks->n_lags; i++) {
		put(t, "custsync_consumer_lag{topic=\"");
		put_label(t, ks->lags[i].topic);
		put(t, "\",partition=\"%d\"} %lld\n",
		    (int)ks->lags[i].partition, (long long)ks->lags[i].lag);
	}
	if (!ks->seen)
		return;
	put_head(t, "custsync_kafka_brokers_up", "gauge",
	         "Broker connections up (librdkafka statistics).");
	put(t, "custsync_kafka_brokers_up %d\n", ks->brokers_up);
	if (!ks->has_cgrp)
		return;
	put_head(t, "custsync_consumer_assigned_partitions", "gauge",
	         "Partitions assigned to this consumer.");
	put(t, "custsync_consumer_assigned_partitions %ld\n", ks->assignment);
	put_head(t, "custsync_consumer_group_info", "gauge",
	         "The consumer group's state (librdkafka cgrp.state and "
	         "cgrp.join_state).");
	put(t, "custsync_consumer_group_info{state=\"");
	put_label(t, ks->cgrp_state);
	put(t, "\",join_state=\"");
	put_label(t, ks->join_state);
	put(t, "\"} 1\n");
}

char *metrics_render(struct metrics *m, int64_t now_ms, size_t *len)
{
	struct text t = {0};
	char why[160];

	put_head(&t, "custsync_build_info", "gauge",
	         "Always 1; the version is a label.");
	put(&t, "custsync_build_info{version=\"");
	put_label(&t, CUSTSYNC_VERSION);
	put(&t, "\"} 1\n");
	render_events(m, &t);
	render_http(m, &t);
	render_loop(m, &t, now_ms);
	pthread_mutex_lock(&m->lock);
	render_kafka(&m->ks, &t);
	pthread_mutex_unlock(&m->lock);
	put_head(&t, "custsync_healthy", "gauge",
	         "1 when /healthz answers 200.");
	put(&t, "custsync_healthy %d\n",
	    metrics_health(m, now_ms, why, sizeof(why)));
	render_process(&t);
	if (t.bad) {
		free(t.p);
		return NULL;
	}
	*len = t.n;
	return t.p;
}

/* ---- health ------------------------------------------------------------ */

int metrics_health(struct metrics *m, int64_t now_ms, char *why, size_t whylen)
{
	int64_t hb =
	    atomic_load_explicit(&m->heartbeat_ms, memory_order_relaxed);
	int ok;

	pthread_mutex_lock(&m->lock);
	ok = health_check(now_ms, hb, &m->ks, why, whylen);
	pthread_mutex_unlock(&m->lock);
	return ok;
}

/* ---- updates from the loop -------------------------------------------- */

void metrics_event(struct metrics *m, unsigned status, unsigned action)
{
	if (m && status < SYNC_STATUS_MAX && action < SYNC_ACTION_MAX)
		add(&m->events[status][action], 1);
}

void metrics_dead_letter(struct metrics *m)
{
	if (m)
		add(&m->dead_letters, 1);
}

void metrics_http(struct metrics *m, unsigned method, long status,
                  double seconds)
{
	unsigned c = CLASS_ERROR;
	size_t b = 0;

	if (!m || method >= HTTP_METHOD_MAX)
		return;
	if (status >= 200 && status < 600)
		c = (unsigned)(status / 100 - 2);
	add(&m->http[method][c], 1);
	if (status == 429)
		add(&m->http_429, 1);
	atomic_store_explicit(&m->method_used[method], true,
	                      memory_order_relaxed);
	if (seconds < 0)
		seconds = 0;
	while (b < N_BOUNDS && seconds > duration_bounds[b])
		b++;
	add(&m->duration[b], 1);
	add(&m->duration_sum_us, (uint64_t)(seconds * 1e6 + 0.5));
}

void metrics_failure(struct metrics *m, const char *code)
{
	size_t i = 0;

	if (!m)
		return;
	while (i < N_FAILURE_CODES - 1 &&
	       !(code && strcmp(code, failure_codes[i]) == 0))
		i++;
	add(&m->failures[i], 1);
}

void metrics_retry(struct metrics *m, unsigned reason)
{
	if (m && reason > SYNC_RETRY_REASON_NONE &&
	    reason < SYNC_RETRY_REASON_MAX)
		add(&m->retries[reason], 1);
}

void metrics_token_refresh(struct metrics *m, int ok)
{
	if (m)
		add(&m->token[ok ? 1 : 0], 1);
}

void metrics_wait(struct metrics *m, unsigned reason, int64_t ms)
{
	if (m && reason < METRICS_WAIT_MAX && ms > 0)
		add(&m->wait_ms[reason], (uint64_t)ms);
}

void metrics_rate_tokens(struct metrics *m, int64_t all, int64_t write)
{
	if (!m)
		return;
	atomic_store_explicit(&m->tokens[0], all, memory_order_relaxed);
	atomic_store_explicit(&m->tokens[1], write, memory_order_relaxed);
}

void metrics_loop(struct metrics *m, int64_t now_ms, size_t in_flight,
                  size_t paused_partitions, int64_t retry_after_ms)
{
	if (!m)
		return;
	atomic_store_explicit(&m->in_flight, in_flight, memory_order_relaxed);
	atomic_store_explicit(&m->paused, paused_partitions,
	                      memory_order_relaxed);
	atomic_store_explicit(&m->retry_after_ms,
	                      retry_after_ms > 0 ? retry_after_ms : 0,
	                      memory_order_relaxed);
	atomic_store_explicit(&m->heartbeat_ms, now_ms, memory_order_relaxed);
}

void metrics_concurrency(struct metrics *m, long limit, size_t active)
{
	if (!m)
		return;
	atomic_store_explicit(&m->concurrency_limit,
	                      limit > 0 ? (uint64_t)limit : 0,
	                      memory_order_relaxed);
	atomic_store_explicit(&m->events_active, active, memory_order_relaxed);
}

void metrics_concurrency_stalled(struct metrics *m, uint64_t windows)
{
	if (m)
		atomic_store_explicit(&m->stalled_windows, windows,
		                      memory_order_relaxed);
}

void metrics_quota_pace(struct metrics *m, double per_s)
{
	if (!m)
		return;
	atomic_store_explicit(&m->quota_pace_milli,
	                      per_s > 0 ? (uint64_t)(per_s * 1000.0) : 0,
	                      memory_order_relaxed);
}

void metrics_cache(struct metrics *m, size_t entries, size_t bytes)
{
	if (!m)
		return;
	atomic_store_explicit(&m->cache_entries, entries,
	                      memory_order_relaxed);
	atomic_store_explicit(&m->cache_bytes, bytes, memory_order_relaxed);
}

/* ---- librdkafka statistics -------------------------------------------- */

int metrics_kafka_stats(struct metrics *m, const char *json, size_t len,
                        int64_t now_ms)
{
	struct kstats ks;
	int rc;

	if (!m)
		return 0;
	rc = kstats_parse(json, len, &ks);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	kstats_carry_times(&m->ks, &ks, now_ms);
	{
		struct kstats old = m->ks;

		m->ks = ks;
		ks = old;
	}
	pthread_mutex_unlock(&m->lock);
	kstats_clear(&ks);
	return 0;
}

/* ---- the server's callbacks, on its thread --------------------------- */

static char *serve_metrics(void *arg, size_t *len)
{
	return metrics_render(arg, clock_mono_ms(), len);
}

static int serve_health(void *arg, char *why, size_t whylen)
{
	return metrics_health(arg, clock_mono_ms(), why, whylen);
}

static const struct status_server_ops serve_ops = {
    .metrics = serve_metrics,
    .health = serve_health,
};

struct metrics *metrics_new(const char *profile, const char *listen, char *err,
                            size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m || pthread_mutex_init(&m->lock, NULL)) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->tokens[0] = m->tokens[1] = -1; /* no limit until told */
	m->profile = strdup(profile ? profile : "");
	atomic_store(&m->heartbeat_ms, clock_mono_ms());
	if (!m->profile) {
		snprintf(err, errlen, "out of memory");
		return metrics_free(m);
	}
	if (listen) {
		m->server =
		    status_server_new(listen, &serve_ops, m, err, errlen);
		if (!m->server)
			return metrics_free(m);
	}
	return m;
}

struct metrics *metrics_free(struct metrics *m)
{
	if (!m)
		return NULL;
	/* Joins the server's thread: no scrape reads m after this. */
	m->server = status_server_free(m->server);
	kstats_clear(&m->ks);
	pthread_mutex_destroy(&m->lock);
	free(m->profile);
	free(m);
	return NULL;
}
