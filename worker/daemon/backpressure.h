/* Backpressure per partition. Once max buffered events are reached, the
 * partitions holding more than their share (max ÷ assigned partitions)
 * are paused; the others keep flowing up to their share. So a hot key's
 * backlog stops only its own partition, a backlog that fits in the total
 * stops nothing, and memory stays below twice the total. The held flag
 * lives on the pipeline's partition. */
#ifndef CUSTSYNC_BACKPRESSURE_H
#define CUSTSYNC_BACKPRESSURE_H

#include <stddef.h>
#include <stdint.h>

struct kafka;
struct pipeline;
struct pl_partition;

struct backpressure {
	struct pipeline *pl;
	struct kafka *kafka;
	long max_buffered; /* worker.max_buffered_events */
	/* Pauses (pause 1) or resumes one partition. NULL: kafka_pause_one
	 * on kafka; the tests count the calls instead. */
	void (*set_pause)(void *arg, const char *topic, int32_t partition,
	                  int pause);
	void *set_pause_arg; /* borrowed */
};

/* After an event of p was buffered. all_paused: every partition is
 * paused anyway (Retry-After, shutdown); p is then only marked. */
void backpressure_check(const struct backpressure *bp, struct pl_partition *p,
                        int all_paused);

/* Resumes held partitions that drained to half their share, or all of
 * them once half the total is left. starving: what is buffered cannot
 * fill the cap on active events (the rest waits behind its keys, as
 * behind a hot key); held partitions then resume as soon as fewer than
 * the total are held, since only reading further finds work. */
void backpressure_release(const struct backpressure *bp, int all_paused,
                          int starving);

/* Pauses the held partitions again: after every partition was resumed,
 * or after a new assignment (librdkafka forgets pauses). */
void backpressure_repause(const struct backpressure *bp);

/* Paused partitions of *assigned. */
size_t backpressure_paused(const struct backpressure *bp, int all_paused,
                           size_t *assigned);

#endif
