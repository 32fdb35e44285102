/* Avro input for the worker loop: the registry client (edge/registry.h)
 * and the gate that holds records until their schemas are resolved
 * (daemon/schemagate.h), behind one small interface so the loop only
 * offers records and drives timers. Created only for input.format avro.
 *
 * While a schema fetch fails and records wait for it, the loop pauses
 * consumption (avroinput_blocked): the next records would most likely
 * need the same schema, and the prefetch queue is what the gate may hold
 * meanwhile. Nothing fails; records whose schemas are known keep
 * flowing to the pipeline in offset order per partition. */
#ifndef CUSTSYNC_AVROINPUT_H
#define CUSTSYNC_AVROINPUT_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct event_options;
struct http;
struct avroinput;

/* A record goes on to the worker (it owns m then). */
typedef void avroinput_pass_fn(void *arg, rd_kafka_message_t *m);

struct avroinput *avroinput_new(const struct config *cfg, struct http *h,
                                avroinput_pass_fn *pass, void *arg);
/* Destroys the records that still wait. */
void avroinput_free(struct avroinput *a);

/* opt's schema lookup becomes the registry's. */
void avroinput_options(struct avroinput *a, struct event_options *opt);

/* Takes m: passed now, or once its schemas are resolved. -ENOMEM: m
 * was destroyed. */
int avroinput_offer(struct avroinput *a, rd_kafka_message_t *m);

/* After every loop turn: retries due fetches, passes what is ready.
 * The loop's wait ends by avroinput_next_ms (0: nothing due). */
void avroinput_run(struct avroinput *a, int64_t now_ms);
int64_t avroinput_next_ms(const struct avroinput *a);

/* Records wait for a registry that does not answer: pause. */
bool avroinput_blocked(const struct avroinput *a);

/* Waiting records of a revoked partition are destroyed: their offsets
 * were never stored, the next owner reads them again. */
void avroinput_revoked(struct avroinput *a, const char *topic,
                       int32_t partition);
/* Shutdown: no more fetches, waiting records destroyed. */
void avroinput_stop(struct avroinput *a);

#endif
