/* Records that wait for their Avro schemas, per partition and in offset
 * order: a record goes on to the pipeline only when every schema id it
 * names (value and key) is resolved, known or unknown to the registry,
 * and nothing of its partition waits before it. So the pipeline still
 * sees each partition's offsets in order, and a record is parsed only
 * once the parser can look up its schema. The registry (edge/registry.h)
 * answers the ids; this module only queues and releases. Pure: records
 * are opaque (the worker's rd_kafka_message_t). */
#ifndef CUSTSYNC_SCHEMAGATE_H
#define CUSTSYNC_SCHEMAGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct schemagate;

/* Whether id is resolved (the registry answered it); asking may start
 * its fetch. */
typedef bool schemagate_ready_fn(void *arg, uint32_t id);
/* A record goes on (pass) or is given up (drop: revoked, shutdown). */
typedef void schemagate_rec_fn(void *arg, void *rec);

#define SCHEMAGATE_MAX_IDS 2

struct schemagate *schemagate_new(schemagate_ready_fn *ready,
                                  schemagate_rec_fn *pass,
                                  schemagate_rec_fn *drop, void *arg);
/* Drops what still waits. */
void schemagate_free(struct schemagate *g);

/* rec of (topic, partition) needing ids[0..n) (n <= SCHEMAGATE_MAX_IDS):
 * passed now when nothing of its partition waits and each id is ready,
 * else queued. 0, or -ENOMEM (rec is then neither passed nor kept). */
int schemagate_offer(struct schemagate *g, const char *topic,
                     int32_t partition, const uint32_t *ids, size_t n,
                     void *rec);

/* Passes, per partition, the waiting records at the front whose ids are
 * ready now; after the registry resolved an id. */
void schemagate_drain(struct schemagate *g);

/* Drops what waits of one partition (revoked) or of all (shutdown). */
void schemagate_drop_partition(struct schemagate *g, const char *topic,
                               int32_t partition);
void schemagate_drop_all(struct schemagate *g);

size_t schemagate_waiting(const struct schemagate *g);

#endif
