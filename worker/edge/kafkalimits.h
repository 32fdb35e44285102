/* librdkafka's memory bounds, derived from worker.max_buffered_events so
 * that one number bounds what custsync holds: its own buffered events,
 * the consumer's pre-fetch queue and one fetch, and the producer's queue
 * of outcomes and dead letters (README "Kafka properties" has the
 * arithmetic). Pure; kafka.c applies each row that kafka.properties
 * does not set. */
#ifndef CUSTSYNC_KAFKALIMITS_H
#define CUSTSYNC_KAFKALIMITS_H

#include <stdbool.h>
#include <stddef.h>

struct config_kv;

enum kafkalimits_client { KAFKALIMITS_CONSUMER, KAFKALIMITS_PRODUCER };

struct kafkalimit {
	const char *name;
	const char *alias; /* librdkafka's other name for it, or NULL */
	enum kafkalimits_client client;
	long value;
};

#define KAFKALIMITS_N 6

/* The rows for max_buffered events. message_max_bytes is the
 * consumer's message.max.bytes, which fetch.max.bytes may not be below
 * (librdkafka refuses the configuration otherwise). */
void kafkalimits_derive(long max_buffered, long message_max_bytes,
                        struct kafkalimit out[KAFKALIMITS_N]);

/* Whether kafka.properties (props, n) set l, by its name or alias. */
bool kafkalimits_user_set(const struct kafkalimit *l,
                          const struct config_kv *props, size_t n);

#endif
