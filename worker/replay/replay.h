/* `custsync replay`: dead letters back through the live sync path.
 *
 * replay.c decides what each dead letter in the reading range is
 * (replay_classify), and keeps the tally; the daemon's loop (worker.c)
 * runs the selected ones exactly like live events (same profile,
 * conflict handling, per-key order and concurrency) through the hooks
 * replay.c fills (struct worker_hooks), which report each result back.
 * worker.c knows nothing of replay. */
#ifndef CUSTSYNC_REPLAY_H
#define CUSTSYNC_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct replay;
struct sync_job;
struct rd_kafka_message_s;

enum replay_verdict {
	REPLAY_SYNC,     /* run it */
	REPLAY_STALE,    /* a later change of its key was applied: skip */
	REPLAY_PASS,     /* not selected: leave it for a later replay */
	REPLAY_DONE,     /* already replayed (its outcome is on the results
			    topic), or not a dead letter: nothing to do */
	REPLAY_BEYOND,   /* past the end seen at start: not this run's */
	REPLAY_VERDICT_MAX
};

/* What one dead letter is. Strings are owned. */
struct replay_item {
	enum replay_verdict verdict;
	char *source_topic;  /* the event's own position, from the headers */
	int32_t source_partition;
	int64_t source_offset;
	int count;           /* replays of this event, this one included */
	char *stale_reason;  /* REPLAY_STALE */
};

void replay_item_done(struct replay_item *it);

int replay_classify(struct replay *rp, const struct rd_kafka_message_s *m,
		    struct replay_item *out);

/* Read-through progress of a dead-letter partition (the offset after the
 * last finished dead letter); returns what may be committed: never past a
 * dead letter that was passed over. */
int64_t replay_progress(struct replay *rp, int32_t partition, int64_t next);

/* Every partition is finished up to the end seen at start. */
int replay_finished(const struct replay *rp);

/* One dead letter's result. dry_write: in a dry run, the write the job
 * would send now is s->req (not sent). */
void replay_report(struct replay *rp, int32_t partition, int64_t offset,
		   const char *key, const struct replay_item *it,
		   const struct sync_job *s, int dry_write);

/* The command: custsync replay -c FILE [options]. */
int replay_command(int argc, char **argv);

#endif
