#include "ops/metrics.h"

#include "ops/log.h"
#include "lib/clock.h"
#include "lib/num.h"
#include "core/request.h"
#include "core/sync.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* The loop waits at most 1 s per iteration; five missed iterations mean
 * it is stuck, not idle. */
#define HEALTH_LOOP_STALL_MS 5000
/* librdkafka reconnects within its backoff (at most
 * reconnect.backoff.max.ms, 10 s by default, but the first retries come
 * sooner); a connection gone longer than this is lost, not blinking. */
#define HEALTH_KAFKA_GRACE_MS 5000

/* Input-controlled resources, each with a cap. */
#define METRICS_MAX_PARTITIONS       10000 /* lag series kept */
#define METRICS_MAX_TEXT             (8 * 1024 * 1024)
#define METRICS_MAX_CONNECTIONS      16
#define METRICS_CONNECTION_TIMEOUT_S 10

/* Prometheus' default buckets: API calls take milliseconds to seconds. */
static const double duration_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define N_BOUNDS (sizeof(duration_bounds) / sizeof(duration_bounds[0]))

enum http_class {
	CLASS_1XX,
	CLASS_2XX,
	CLASS_3XX,
	CLASS_4XX,
	CLASS_5XX,
	CLASS_ERROR, /* no response: connect, timeout, TLS... */
	CLASS_MAX
};

static const char *const class_names[CLASS_MAX] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "error",
};

struct lag {
	const char *topic; /* points into kstats.topics */
	int32_t partition;
	int64_t lag;
};

/* What the last librdkafka statistics report said. */
struct kstats {
	bool seen;
	bool has_cgrp;
	char cgrp_state[32];
	char join_state[48];
	long assignment;
	int brokers; /* configured, learned and logical */
	int brokers_up;
	bool has_coord; /* the logical GroupCoordinator broker */
	bool coord_up;
	/* Last report in which it was up (or the first report). */
	int64_t broker_up_ms;
	int64_t coord_up_ms;
	char **topics;
	size_t n_topics;
	struct lag *lags;
	size_t n_lags;
};

struct metrics {
	char *profile;
	struct MHD_Daemon *mhd;

	_Atomic uint64_t events[SYNC_STATUS_MAX][SYNC_ACTION_MAX];
	_Atomic uint64_t http[HTTP_METHOD_MAX][CLASS_MAX];
	_Atomic uint64_t duration[N_BOUNDS + 1]; /* last: above every bound */
	_Atomic uint64_t duration_sum_us;
	_Atomic uint64_t dead_letters;
	_Atomic uint64_t token[2]; /* [0] failure, [1] success */
	_Atomic uint64_t in_flight;
	_Atomic uint64_t paused;
	_Atomic int64_t retry_after_ms;
	_Atomic int64_t heartbeat_ms;

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

/* ---- listen address -------------------------------------------------- */

static const char *parse_port(const char *s, in_port_t *port)
{
	unsigned long v = 0;

	if (!*s)
		return "has no port, e.g. 127.0.0.1:9464";
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 65535)
			return "port must be a number between 1 and 65535";
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return "port must be a number between 1 and 65535";
	*port = htons((in_port_t)v);
	return NULL;
}

const char *metrics_listen_problem(const char *listen,
                                   struct sockaddr_storage *addr)
{
	struct sockaddr_storage ss;
	const char *end, *colon, *why;
	char host[INET6_ADDRSTRLEN + 1];
	bool v6 = listen[0] == '[';
	size_t n;
	in_port_t port = 0;

	memset(&ss, 0, sizeof(ss));
	end = v6 ? strchr(listen, ']') : strrchr(listen, ':');
	if (!end || (v6 && end[1] != ':'))
		return "must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464";
	colon = v6 ? end + 1 : end;
	n = (size_t)(end - listen) - (v6 ? 1 : 0);
	if (n == 0)
		return "has no host (0.0.0.0 listens on every IPv4 address)";
	if (n >= sizeof(host))
		return "host must be an IPv4 address or an IPv6 address in "
		       "brackets";
	memcpy(host, listen + (v6 ? 1 : 0), n);
	host[n] = '\0';
	why = parse_port(colon + 1, &port);
	if (why)
		return why;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = port;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return "host must be an IPv6 address inside the "
			       "brackets";
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = port;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return "host must be an IPv4 address or an IPv6 "
			       "address in brackets (names are not looked up)";
	}
	if (addr)
		*addr = ss;
	return NULL;
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

static void render_events(struct metrics *m, struct text *t)
{
	put_head(t, "custsync_events_total", "counter",
	         "Events finished, by outcome status and action.");
	for (unsigned s = 0; s < SYNC_STATUS_MAX; s++)
		for (unsigned a = 0; a < SYNC_ACTION_MAX; a++) {
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
}

static void render_http(struct metrics *m, struct text *t)
{
	uint64_t cum = 0;

	put_head(t, "custsync_http_requests_total", "counter",
	         "API and token requests finished, by method and status "
	         "class (error: no response).");
	for (unsigned i = 0; i < HTTP_METHOD_MAX; i++)
		for (unsigned c = 0; c < CLASS_MAX; c++)
			put(t,
			    "custsync_http_requests_total{method=\"%s\","
			    "class=\"%s\"} %llu\n",
			    http_method_str(i), class_names[c],
			    (unsigned long long)get(&m->http[i][c]));
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

static void render_loop(struct metrics *m, struct text *t, int64_t now)
{
	int64_t hb =
	    atomic_load_explicit(&m->heartbeat_ms, memory_order_relaxed);

	put_head(t, "custsync_http_in_flight", "gauge",
	         "API requests in flight.");
	put(t, "custsync_http_in_flight %llu\n",
	    (unsigned long long)get(&m->in_flight));
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
	put_head(t, "custsync_loop_heartbeat_age_seconds", "gauge",
	         "Time since the event loop last went round.");
	put(t, "custsync_loop_heartbeat_age_seconds %.3f\n",
	    (double)(now > hb ? now - hb : 0) / 1000.0);
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
	if (t.bad) {
		free(t.p);
		return NULL;
	}
	*len = t.n;
	return t.p;
}

/* ---- health ------------------------------------------------------------ */

/* Under m->lock. */
static int kafka_health(const struct kstats *ks, int64_t now, char *why,
                        size_t whylen)
{
	if (!ks->seen)
		return 1;
	if (!ks->brokers_up &&
	    now - ks->broker_up_ms >= HEALTH_KAFKA_GRACE_MS) {
		snprintf(why, whylen,
		         "no connection to any Kafka broker for %.1f s "
		         "(0 of %d up)",
		         (double)(now - ks->broker_up_ms) / 1000.0,
		         ks->brokers);
		return 0;
	}
	if (ks->has_coord && !ks->coord_up &&
	    now - ks->coord_up_ms >= HEALTH_KAFKA_GRACE_MS) {
		snprintf(why, whylen,
		         "group coordinator unreachable for %.1f s",
		         (double)(now - ks->coord_up_ms) / 1000.0);
		return 0;
	}
	if (!ks->has_cgrp)
		return 1;
	if (strcmp(ks->cgrp_state, "term") == 0) {
		snprintf(why, whylen, "consumer has left the group");
		return 0;
	}
	/* Anything short of up+steady is finding the coordinator, joining
	 * or rebalancing: on its way to an assignment. */
	if (strcmp(ks->cgrp_state, "up") == 0 &&
	    strcmp(ks->join_state, "steady") == 0 && ks->assignment <= 0) {
		snprintf(why, whylen,
		         "consumer is in the group but has no partitions");
		return 0;
	}
	return 1;
}

int metrics_health(struct metrics *m, int64_t now_ms, char *why, size_t whylen)
{
	int64_t hb =
	    atomic_load_explicit(&m->heartbeat_ms, memory_order_relaxed);
	int ok;

	if (now_ms - hb > HEALTH_LOOP_STALL_MS) {
		snprintf(why, whylen,
		         "event loop stalled: last iteration %.1f s ago",
		         (double)(now_ms - hb) / 1000.0);
		return 0;
	}
	pthread_mutex_lock(&m->lock);
	ok = kafka_health(&m->ks, now_ms, why, whylen);
	pthread_mutex_unlock(&m->lock);
	if (ok)
		snprintf(why, whylen, "ok");
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
	if (status >= 100 && status < 600)
		c = (unsigned)(status / 100 - 1);
	add(&m->http[method][c], 1);
	if (seconds < 0)
		seconds = 0;
	while (b < N_BOUNDS && seconds > duration_bounds[b])
		b++;
	add(&m->duration[b], 1);
	add(&m->duration_sum_us, (uint64_t)(seconds * 1e6 + 0.5));
}

void metrics_token_refresh(struct metrics *m, int ok)
{
	if (m)
		add(&m->token[ok ? 1 : 0], 1);
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

/* ---- librdkafka statistics -------------------------------------------- */

static void kstats_clear(struct kstats *ks)
{
	for (size_t i = 0; i < ks->n_topics; i++)
		free(ks->topics[i]);
	free(ks->topics);
	free(ks->lags);
	ks->topics = NULL;
	ks->lags = NULL;
	ks->n_topics = ks->n_lags = 0;
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A whole number member in [min, max], else dflt: librdkafka's stats
 * are JSON, and a double is only cast once it is known to fit. */
static int64_t int_of(const cJSON *o, const char *name, int64_t min,
                      int64_t max, int64_t dflt)
{
	int64_t n;

	if (num_json_int(cJSON_GetObjectItemCaseSensitive(o, name), min, max,
	                 &n))
		return dflt;
	return n;
}

static void parse_brokers(const cJSON *brokers, struct kstats *ks)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, brokers)
	{
		const char *state = str_of(b, "state");
		const char *source = str_of(b, "source");
		bool up = state && (strcmp(state, "UP") == 0 ||
		                    strcmp(state, "UPDATE") == 0);

		/* The internal broker is no connection. */
		if (!state || (source && strcmp(source, "internal") == 0))
			continue;
		ks->brokers++;
		if (up)
			ks->brokers_up++;
		if (source && strcmp(source, "logical") == 0 && b->string &&
		    strcmp(b->string, "GroupCoordinator") == 0) {
			ks->has_coord = true;
			ks->coord_up = up;
		}
	}
}

/* The partitions of one topic that are ours (desired) with a known lag;
 * -1 (the topic's UA partition) and a lag of -1 (no committed offset or
 * no high watermark yet) are left out. Returns -ENOMEM or 0. */
static int parse_partitions(const cJSON *parts, const char *topic,
                            struct kstats *ks, size_t *cap)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, parts)
	{
		const cJSON *desired =
		    cJSON_GetObjectItemCaseSensitive(p, "desired");
		int64_t id = int_of(p, "partition", 0, INT32_MAX, -1);
		int64_t lag = int_of(p, "consumer_lag", 0, INT64_MAX, -1);

		if (id < 0 || lag < 0 || cJSON_IsFalse(desired))
			continue;
		if (ks->n_lags == METRICS_MAX_PARTITIONS)
			return 0;
		if (ks->n_lags == *cap) {
			size_t c = *cap ? *cap * 2 : 64;
			struct lag *l = realloc(ks->lags, c * sizeof(*l));

			if (!l)
				return -ENOMEM;
			ks->lags = l;
			*cap = c;
		}
		ks->lags[ks->n_lags].topic = topic;
		ks->lags[ks->n_lags].partition = (int32_t)id;
		ks->lags[ks->n_lags].lag = lag;
		ks->n_lags++;
	}
	return 0;
}

static int parse_topics(const cJSON *topics, struct kstats *ks)
{
	size_t n = (size_t)cJSON_GetArraySize(topics), cap = 0;
	const cJSON *t;

	if (!n)
		return 0;
	ks->topics = calloc(n, sizeof(*ks->topics));
	if (!ks->topics)
		return -ENOMEM;
	cJSON_ArrayForEach(t, topics)
	{
		const cJSON *parts =
		    cJSON_GetObjectItemCaseSensitive(t, "partitions");
		char *name;

		if (!t->string || !cJSON_IsObject(parts) || ks->n_topics == n)
			continue;
		name = strdup(t->string);
		if (!name)
			return -ENOMEM;
		ks->topics[ks->n_topics++] = name;
		if (parse_partitions(parts, name, ks, &cap))
			return -ENOMEM;
	}
	return 0;
}

static void parse_cgrp(const cJSON *cgrp, struct kstats *ks)
{
	const char *s;

	if (!cJSON_IsObject(cgrp))
		return;
	ks->has_cgrp = true;
	s = str_of(cgrp, "state");
	snprintf(ks->cgrp_state, sizeof(ks->cgrp_state), "%s", s ? s : "");
	s = str_of(cgrp, "join_state");
	snprintf(ks->join_state, sizeof(ks->join_state), "%s", s ? s : "");
	ks->assignment =
	    (long)int_of(cgrp, "assignment_size", 0, INT32_MAX, 0);
}

/* The timestamps that give a lost connection its grace carry over from
 * the previous report. */
static void carry_times(const struct kstats *prev, struct kstats *ks,
                        int64_t now)
{
	ks->broker_up_ms = prev->seen ? prev->broker_up_ms : now;
	ks->coord_up_ms = prev->seen ? prev->coord_up_ms : now;
	if (ks->brokers_up)
		ks->broker_up_ms = now;
	if (!ks->has_coord || ks->coord_up)
		ks->coord_up_ms = now;
}

int metrics_kafka_stats(struct metrics *m, const char *json, size_t len,
                        int64_t now_ms)
{
	struct kstats ks;
	cJSON *doc;
	int rc = 0;

	if (!m)
		return 0;
	memset(&ks, 0, sizeof(ks));
	doc = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(doc) ||
	    !cJSON_IsObject(
	        cJSON_GetObjectItemCaseSensitive(doc, "brokers"))) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	ks.seen = true;
	parse_brokers(cJSON_GetObjectItemCaseSensitive(doc, "brokers"), &ks);
	parse_cgrp(cJSON_GetObjectItemCaseSensitive(doc, "cgrp"), &ks);
	if (parse_topics(cJSON_GetObjectItemCaseSensitive(doc, "topics"), &ks))
		rc = -ENOMEM;
	cJSON_Delete(doc);
	if (rc) {
		kstats_clear(&ks);
		return rc;
	}
	pthread_mutex_lock(&m->lock);
	carry_times(&m->ks, &ks, now_ms);
	{
		struct kstats old = m->ks;

		m->ks = ks;
		ks = old;
	}
	pthread_mutex_unlock(&m->lock);
	kstats_clear(&ks);
	return 0;
}

/* ---- the server ----------------------------------------------------------
 */

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_warn("metrics server: %s", buf);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             char *body, size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* takes ownership of body */
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code,
                                  const char *line)
{
	size_t n = strlen(line);
	char *body = malloc(n + 2);

	if (!body)
		return MHD_NO;
	memcpy(body, line, n);
	memcpy(body + n, "\n", 2);
	return reply(c, code, body, n + 1, "text/plain; charset=utf-8");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
	struct metrics *m = cls;
	int64_t now = clock_mono_ms();
	char why[160];
	size_t len;
	char *text;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		                  "method not allowed");
	if (strcmp(url, "/healthz") == 0) {
		int ok = metrics_health(m, now, why, sizeof(why));

		return reply_text(
		    c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	if (strcmp(url, "/metrics") != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND,
		                  "not found: try /metrics or /healthz");
	text = metrics_render(m, now, &len);
	if (!text)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                  "out of memory");
	return reply(c, MHD_HTTP_OK, text, len,
	             "text/plain; version=0.0.4; charset=utf-8");
}

static int start_server(struct metrics *m, const char *listen, char *err,
                        size_t errlen)
{
	struct sockaddr_storage ss;
	sigset_t all, old;
	const char *why = metrics_listen_problem(listen, &ss);

	if (why) {
		snprintf(err, errlen, "metrics.listen '%s' %s", listen, why);
		return -EINVAL;
	}
	/* The server's thread inherits this mask: SIGTERM must reach the
	 * loop's thread, whose wait it interrupts. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = 0;
	/* Only the configured address is bound (SO_REUSEADDR, and
	 * IPV6_V6ONLY for an IPv6 one, are libmicrohttpd's defaults). */
	m->mhd = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	        (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
	    (const struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)METRICS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)METRICS_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->mhd) {
		/* errno is bind's, as libmicrohttpd leaves it. */
		snprintf(err, errlen, "metrics: cannot listen on %s: %s",
		         listen, errno ? strerror(errno) : "failed");
		return -EIO;
	}
	log_info("metrics listening on %s (/metrics, /healthz)", listen);
	return 0;
}

struct metrics *metrics_new(const char *profile, const char *listen, char *err,
                            size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m || pthread_mutex_init(&m->lock, NULL)) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->profile = strdup(profile ? profile : "");
	atomic_store(&m->heartbeat_ms, clock_mono_ms());
	if (!m->profile) {
		snprintf(err, errlen, "out of memory");
		return metrics_free(m);
	}
	if (listen && start_server(m, listen, err, errlen))
		return metrics_free(m);
	return m;
}

struct metrics *metrics_free(struct metrics *m)
{
	if (!m)
		return NULL;
	/* Joins the server's thread: no scrape reads m after this. */
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	kstats_clear(&m->ks);
	pthread_mutex_destroy(&m->lock);
	free(m->profile);
	free(m);
	return NULL;
}
