/* The Kafka edge: one consumer (cooperative-sticky group, offsets stored
 * by hand) and one idempotent producer for outcomes and dead letters.
 * Both queues wake the event loop through one fd. */
#ifndef CUSTSYNC_KAFKA_H
#define CUSTSYNC_KAFKA_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct kafka;
struct rd_kafka_message_s;
struct rd_kafka_headers_s;
struct rd_kafka_conf_s;

struct kafka_callbacks {
	/* A partition is now ours. */
	void (*assigned)(void *arg, const char *topic, int32_t partition);
	/* A partition is going: returns the offset to store before the
	 * commit (-1 for none). lost: it is gone already, store nothing. */
	int64_t (*revoked)(void *arg, const char *topic, int32_t partition,
	                   int lost);
	/* A record; the callee destroys msg. */
	void (*message)(void *arg, struct rd_kafka_message_s *msg);
	/* A produced record was acknowledged (err 0) or given up on. */
	void (*delivered)(void *arg, void *opaque, int err,
	                  const char *errstr);
	/* A fatal client error: the daemon must stop. fenced: another
	 * process has this group.instance.id, which a restart cannot fix. */
	void (*fatal)(void *arg, int fenced, const char *reason);
	/* The consumer's statistics (JSON, borrowed for the call), every
	 * statistics.interval.ms (default 1000 when this is set). NULL:
	 * none are collected. */
	void (*stats)(void *arg, const char *json, size_t len);
	void *arg;
};

/* A consumer that reads given partitions from given offsets instead of
 * joining the group (replay): no rebalances, so its reading range is
 * fixed. group_id is where its offsets are committed. */
struct kafka_assignment {
	const char *group_id;
	const char *topic;
	const int32_t *partitions;
	const int64_t *offsets;
	size_t n;
};

/* as: NULL to subscribe to cfg's topics in cfg's group. */
struct kafka *kafka_new(const struct config *cfg,
                        const struct kafka_callbacks *cb,
                        const struct kafka_assignment *as, char *err,
                        size_t errlen);
/* Closes the consumer (the final revoke runs the callbacks), then frees. */
struct kafka *kafka_free(struct kafka *k);

/* A client configuration: bootstrap.servers, then defaults (key, value
 * pairs, NULL-terminated), kafka.properties, then fixed pairs that the
 * properties cannot undo; logging wired to log.c. NULL with err filled. */
struct rd_kafka_conf_s *kafka_base_conf(const struct config *cfg,
                                        const char *const *defaults,
                                        const char *const *fixed, char *err,
                                        size_t errlen);

int kafka_fd(const struct kafka *k);

/* Serves both queues without blocking. */
void kafka_dispatch(struct kafka *k);

/* Produces one record; headers (may be NULL) are taken over on success.
 * opaque comes back in delivered(). */
int kafka_produce(struct kafka *k, const char *topic, const void *key,
                  size_t key_len, const void *value, size_t value_len,
                  struct rd_kafka_headers_s *headers, void *opaque);

int kafka_store(struct kafka *k, const char *topic, int32_t partition,
                int64_t next_offset);

/* Pauses or resumes every assigned partition. */
void kafka_pause_all(struct kafka *k, int pause);

/* Pauses or resumes one partition. */
void kafka_pause_one(struct kafka *k, const char *topic, int32_t partition,
                     int pause);

/* Waits up to timeout_ms for outstanding deliveries; returns how many
 * are still outstanding. */
int kafka_flush(struct kafka *k, int timeout_ms);

/* Synchronous commit of everything stored. */
int kafka_commit(struct kafka *k);

/* Leaves the group; the final revoke runs the callbacks. */
void kafka_close_consumer(struct kafka *k);

/* Gives up on undelivered records: their delivery reports come back
 * with an error now, so every opaque is returned. */
void kafka_purge(struct kafka *k);

#endif
