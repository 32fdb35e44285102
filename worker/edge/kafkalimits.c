#include "edge/kafkalimits.h"

#include "config/config.h"

#include <string.h>

/* A message of the pre-fetch queue is counted at 1 KiB: a typical event
 * is 300 bytes, and librdkafka's op around it a few hundred more. */
#define MSG_KIB 1
/* A record on the producer's queue (an outcome, or a dead letter, which
 * is the input record) is counted at 4 KiB: an outcome is under 2 KiB. */
#define RECORD_KIB 4
/* librdkafka's default for one partition's share of a fetch. */
#define PARTITION_FETCH_MAX 1048576L
#define KBYTES_MAX          2097151L /* queued.max.messages.kbytes */
#define INT32_LIMIT         2147483135L

static long clamp(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void kafkalimits_derive(long max_buffered, long message_max_bytes,
                        struct kafkalimit out[KAFKALIMITS_N])
{
	/* The pipeline is the buffer; the pre-fetch queue only refills it,
	 * so a sixteenth of it is enough. */
	long prefetch = clamp(max_buffered / 16, 100, 10000000);
	long kbytes = clamp(prefetch * MSG_KIB, 1, KBYTES_MAX);
	/* librdkafka goes past the queue's bound by at most one fetch. */
	long fetch = clamp(kbytes * 1024, message_max_bytes, INT32_LIMIT);
	/* Backpressure keeps fewer than twice max_buffered events, plus
	 * what was pre-fetched before a pause, and each may wait for its
	 * outcome and its dead letter at once: a full queue would fail the
	 * produce and stop the daemon. */
	long records =
	    clamp(2 * (2 * max_buffered + prefetch), 1000, 2147483647L);
	long rkbytes = clamp(records * RECORD_KIB, 1, 2147483647L);

	out[0] = (struct kafkalimit){"queued.min.messages", NULL,
	                             KAFKALIMITS_CONSUMER, prefetch};
	out[1] = (struct kafkalimit){"queued.max.messages.kbytes", NULL,
	                             KAFKALIMITS_CONSUMER, kbytes};
	out[2] = (struct kafkalimit){"fetch.max.bytes", NULL,
	                             KAFKALIMITS_CONSUMER, fetch};
	out[3] = (struct kafkalimit){
	    "max.partition.fetch.bytes", "fetch.message.max.bytes",
	    KAFKALIMITS_CONSUMER,
	    fetch < PARTITION_FETCH_MAX ? fetch : PARTITION_FETCH_MAX};
	out[4] = (struct kafkalimit){"queue.buffering.max.messages", NULL,
	                             KAFKALIMITS_PRODUCER, records};
	out[5] = (struct kafkalimit){"queue.buffering.max.kbytes", NULL,
	                             KAFKALIMITS_PRODUCER, rkbytes};
}

bool kafkalimits_user_set(const struct kafkalimit *l,
                          const struct config_kv *props, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(props[i].key, l->name) == 0 ||
		    (l->alias && strcmp(props[i].key, l->alias) == 0))
			return true;
	return false;
}
