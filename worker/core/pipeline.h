/* Ordering and offsets: per-key FIFOs across partitions, a cap on active
 * events, and per-partition tracking of the contiguous completed prefix.
 *
 * An event is QUEUED behind earlier events of its key, ACTIVE while its
 * requests run, OUTPUT while its outcome (and dead letter) await the
 * broker's acknowledgement, and DONE after. The next event of a key starts
 * when the previous one reaches OUTPUT: outcome records of one key are
 * produced in order, so ordering holds without waiting for the broker.
 * Offsets advance only over DONE events. Pure: no Kafka, no sockets. */
#ifndef CUSTSYNC_PIPELINE_H
#define CUSTSYNC_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

struct pipeline;
struct pl_partition;
struct pl_keyq;

enum pl_state { PL_QUEUED, PL_ACTIVE, PL_OUTPUT, PL_DONE, PL_STATE_MAX };

struct pl_event {
	struct pl_partition *part; /* NULL once its partition is revoked */
	int64_t offset;
	enum pl_state state;
	void *user; /* the caller's per-event data */

	/* private */
	TAILQ_ENTRY(pl_event) part_link; /* its partition, in offset order */
	TAILQ_ENTRY(pl_event) key_link;  /* its key queue, in arrival order */
	struct pl_keyq *kq;
	size_t in_ready; /* 0, or 1 + its place in the ready heap */
	uint64_t seq;    /* arrival order */
};

struct pipeline *pipeline_new(size_t max_active);

/* A new cap on ACTIVE events (0 counts as 1). A lower one only stops
 * new starts: events already ACTIVE run to their end. */
void pipeline_set_max_active(struct pipeline *pl, size_t n);

/* At most n ACTIVE events per partition (0: no cap). 1 gives the
 * partition-sequential model of a Kafka Connect HTTP sink, for
 * comparison. */
void pipeline_set_partition_cap(struct pipeline *pl, size_t n);
/* Frees partitions and events; users must have been released first
 * (pipeline_revoke). */
struct pipeline *pipeline_free(struct pipeline *pl);

struct pl_partition *pipeline_partition(struct pipeline *pl, const char *topic,
                                        int32_t partition, int create);
const char *pl_partition_topic(const struct pl_partition *p);
int32_t pl_partition_id(const struct pl_partition *p);

/* Appends an event (offsets must grow within a partition). Copies key. */
struct pl_event *pipeline_push(struct pipeline *pl, struct pl_partition *p,
                               int64_t offset, const char *key, void *user);

/* The next event allowed to start (its key's oldest, under the cap), now
 * ACTIVE; NULL when none. */
struct pl_event *pipeline_next_ready(struct pipeline *pl);

/* ACTIVE -> OUTPUT: the event's key may go on. */
void pipeline_output(struct pipeline *pl, struct pl_event *ev);

/* OUTPUT -> DONE. For an orphaned event (revoked partition) the event is
 * freed here and 1 is returned: the caller frees its user data too. */
int pipeline_done(struct pipeline *pl, struct pl_event *ev);

/* Pops the partition's DONE prefix. Returns the offset to store (last
 * done + 1), or -1 when the prefix did not move. */
int64_t pipeline_advance(struct pipeline *pl, struct pl_partition *p);

/* Removes a partition: QUEUED and ACTIVE events are dropped (release is
 * called for each, ACTIVE ones first so their requests can be cancelled),
 * OUTPUT events are orphaned and freed by pipeline_done. Returns the
 * offset to store for what was DONE (like pipeline_advance). */
int64_t pipeline_revoke(struct pipeline *pl, struct pl_partition *p,
                        void (*release)(void *user, void *arg), void *arg);

/* Shutdown: no QUEUED event may start any more. release is called for
 * each; the events stay as barriers so offsets never pass them. */
void pipeline_drop_queued(struct pipeline *pl,
                          void (*release)(void *user, void *arg), void *arg);

/* Shutdown: an ACTIVE event whose work is abandoned. Like a dropped
 * QUEUED event it stays as a barrier; its user data is the caller's to
 * free. */
void pipeline_abandon(struct pipeline *pl, struct pl_event *ev);

/* An OUTPUT event whose outputs will never be acknowledged: it never
 * becomes DONE, so it stays a barrier; an orphaned one is freed. */
void pipeline_forget(struct pipeline *pl, struct pl_event *ev);

size_t pipeline_active(const struct pipeline *pl);
size_t pipeline_buffered(const struct pipeline *pl); /* not yet DONE */
/* Events that may start now, but for the cap on active events. */
size_t pipeline_ready(const struct pipeline *pl);
size_t pl_partition_buffered(const struct pl_partition *p);

/* A flag the caller keeps per partition (the worker: paused for
 * backpressure); 0 for a new partition. */
int pl_partition_held(const struct pl_partition *p);
void pl_partition_set_held(struct pl_partition *p, int held);

/* Iterates assigned partitions; NULL at the end. */
struct pl_partition *pipeline_partition_next(struct pipeline *pl,
                                             struct pl_partition *prev);

#endif
