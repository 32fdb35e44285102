/* The /healthz rule: is the daemon doing its job? The event loop must go
 * round, a Kafka broker and the group coordinator must be reachable
 * (after a grace), and a consumer in a steady group must have
 * partitions. Pure: the caller passes what it knows. */
#ifndef CUSTSYNC_HEALTH_H
#define CUSTSYNC_HEALTH_H

#include <stddef.h>
#include <stdint.h>

struct kstats;

/* The loop waits at most 1 s per iteration; five missed iterations mean
 * it is stuck, not idle. */
#define HEALTH_LOOP_STALL_MS 5000
/* librdkafka reconnects within its backoff (at most
 * reconnect.backoff.max.ms, 10 s by default, but the first retries come
 * sooner); a connection gone longer than this is lost, not blinking. */
#define HEALTH_KAFKA_GRACE_MS 5000

/* 1 when healthy at now_ms, with "ok" in why; else 0 with a one-line
 * reason. heartbeat_ms: the loop's last iteration; ks: the last
 * statistics report (not yet seen: Kafka is not judged). */
int health_check(int64_t now_ms, int64_t heartbeat_ms, const struct kstats *ks,
                 char *why, size_t whylen);

#endif
