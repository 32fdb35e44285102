#include "daemon/backpressure.h"

#include "edge/kafka.h"
#include "ops/log.h"
#include "core/pipeline.h"

static size_t share(const struct backpressure *bp)
{
	struct pl_partition *p = NULL;
	size_t n = 0, s;

	while ((p = pipeline_partition_next(bp->pl, p)))
		n++;
	s = (size_t)bp->max_buffered / (n ? n : 1);
	return s ? s : 1;
}

static void set_paused(const struct backpressure *bp, struct pl_partition *p,
                       int pause)
{
	if (bp->set_pause)
		bp->set_pause(bp->set_pause_arg, pl_partition_topic(p),
		              pl_partition_id(p), pause);
	else
		kafka_pause_one(bp->kafka, pl_partition_topic(p),
		                pl_partition_id(p), pause);
}

void backpressure_check(const struct backpressure *bp, struct pl_partition *p,
                        int all_paused)
{
	if (pl_partition_held(p) ||
	    (long)pipeline_buffered(bp->pl) < bp->max_buffered ||
	    pl_partition_buffered(p) < share(bp))
		return;
	pl_partition_set_held(p, 1);
	if (!all_paused)
		set_paused(bp, p, 1);
	log_kv(LOG_INFO, "partition paused",
	       LOG_S("topic", pl_partition_topic(p)),
	       LOG_N("partition", pl_partition_id(p)),
	       LOG_S("reason", "backpressure"),
	       LOG_N("buffered", pl_partition_buffered(p)));
}

void backpressure_release(const struct backpressure *bp, int all_paused,
                          int starving)
{
	struct pl_partition *p = NULL;
	long total = (long)pipeline_buffered(bp->pl);
	/* A starving pipeline below the total: the next check pauses at the
	 * total again, so memory stays bounded as before, while holding on
	 * would leave the API idle until a hot key drained. */
	int all = total < bp->max_buffered / 2 ||
	          (starving && total < bp->max_buffered);
	size_t s = 0;

	while ((p = pipeline_partition_next(bp->pl, p))) {
		if (!pl_partition_held(p))
			continue;
		if (!s)
			s = share(bp);
		if (!all && pl_partition_buffered(p) >= s / 2)
			continue;
		pl_partition_set_held(p, 0);
		if (!all_paused)
			set_paused(bp, p, 0);
		log_kv(LOG_INFO, "partition resumed",
		       LOG_S("topic", pl_partition_topic(p)),
		       LOG_N("partition", pl_partition_id(p)),
		       LOG_N("buffered", pl_partition_buffered(p)));
	}
}

void backpressure_repause(const struct backpressure *bp)
{
	struct pl_partition *p = NULL;

	while ((p = pipeline_partition_next(bp->pl, p)))
		if (pl_partition_held(p))
			set_paused(bp, p, 1);
}

size_t backpressure_paused(const struct backpressure *bp, int all_paused,
                           size_t *assigned)
{
	struct pl_partition *p = NULL;
	size_t n = 0, held = 0;

	while ((p = pipeline_partition_next(bp->pl, p))) {
		n++;
		held += pl_partition_held(p) != 0;
	}
	*assigned = n;
	return all_paused ? n : held;
}
