/* Prometheus metrics (text format 0.0.4): the counters, histogram and
 * gauges the loop updates, and their exposition text. The rest lives
 * beside it: ops/kstats (librdkafka statistics -> numbers), ops/health
 * (the /healthz rule) and ops/status_server (/metrics and /healthz,
 * served by libmicrohttpd on its own thread).
 *
 * The event loop only bumps atomics, and once per librdkafka statistics
 * report swaps a small table under a mutex: it never waits for a scrape.
 * Every update accepts m == NULL (metrics off) and does nothing. */
#ifndef CUSTSYNC_METRICS_H
#define CUSTSYNC_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct sockaddr_storage;

/* Why listen ("HOST:PORT", HOST an IPv4 address or a bracketed IPv6
 * address) is not usable, or NULL with *addr filled (addr may be NULL).
 * The same as status_server_listen_problem. */
const char *metrics_listen_problem(const char *listen,
                                   struct sockaddr_storage *addr);

/* Counters for profile. listen NULL: no server (tests render directly);
 * else the server is listening when this returns. NULL on failure, with
 * err filled. */
struct metrics *metrics_new(const char *profile, const char *listen, char *err,
                            size_t errlen);
/* Stops the server first. NULL-safe. */
struct metrics *metrics_free(struct metrics *m);

/* status: enum sync_status, action: enum sync_action. */
void metrics_event(struct metrics *m, unsigned status, unsigned action);
void metrics_dead_letter(struct metrics *m);
/* A failed event's error code (the outcome's error.code). */
void metrics_failure(struct metrics *m, const char *code);
/* reason: enum sync_retry_reason; NONE counts nothing. */
void metrics_retry(struct metrics *m, unsigned reason);
/* method: enum http_method; status 0 for a transport failure. */
void metrics_http(struct metrics *m, unsigned method, long status,
                  double seconds);
void metrics_token_refresh(struct metrics *m, int ok);

/* Why requests waited before they were sent. */
enum metrics_wait {
	METRICS_WAIT_RATE_LIMIT, /* target.rate_limit / write_rate_limit */
	METRICS_WAIT_QUOTA,      /* a quota header said none is left */
	METRICS_WAIT_MAX
};

/* A request waited ms for reason before it went. */
void metrics_wait(struct metrics *m, unsigned reason, int64_t ms);

/* The tokens the rate limits have now; -1 for one not configured (its
 * series is then not shown). */
void metrics_rate_tokens(struct metrics *m, int64_t all, int64_t write);

/* Once per loop iteration: the heartbeat and the loop's gauges. */
void metrics_loop(struct metrics *m, int64_t now_ms, size_t in_flight,
                  size_t paused_partitions, int64_t retry_after_ms);

/* The admission limit (fixed or adaptive) and the events under it. */
void metrics_concurrency(struct metrics *m, long limit, size_t active);
/* Windows of the adaptive limit not judged because custsync's loop
 * waited for a CPU (a running total). */
void metrics_concurrency_stalled(struct metrics *m, uint64_t windows);
/* Requests per second paced at, learnt from a quota's 429s; 0: none. */
void metrics_quota_pace(struct metrics *m, double per_s);
/* The response cache: keys held and their estimated memory. */
void metrics_cache(struct metrics *m, size_t entries, size_t bytes);

/* One librdkafka statistics report (the consumer's JSON). Returns 0, or
 * -EINVAL when it is not a statistics object (nothing changes). */
int metrics_kafka_stats(struct metrics *m, const char *json, size_t len,
                        int64_t now_ms);

/* The exposition text at now_ms (monotonic), NUL-terminated; the caller
 * frees it. NULL when out of memory. */
char *metrics_render(struct metrics *m, int64_t now_ms, size_t *len);

/* 1 when healthy; else 0 with a one-line reason in why (health_check
 * on the heartbeat and the last statistics report). */
int metrics_health(struct metrics *m, int64_t now_ms, char *why,
                   size_t whylen);

#endif
