/* What a replay run knows and decides, apart from reading Kafka (pure).
 *
 * Filled by replay.c's two reading passes (replay_plan_select for each
 * dead letter, replay_plan_note_outcome for each outcome of a selected
 * key), then asked about each dead letter as the loop meets it
 * (replay_plan_judge) and told how far each partition is finished
 * (replay_plan_progress). */
#ifndef CUSTSYNC_REPLAY_PLAN_H
#define CUSTSYNC_REPLAY_PLAN_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct dead_letter;
struct dlq_filter;
struct replay_plan;
struct scan_range;

enum replay_verdict {
	REPLAY_SYNC,   /* run it */
	REPLAY_STALE,  /* a later change of its key was applied: skip */
	REPLAY_PASS,   /* not selected: leave it for a later replay */
	REPLAY_DONE,   /* already replayed (its outcome is on the results
	                  topic), or not a dead letter: nothing to do */
	REPLAY_BEYOND, /* past the end seen at start: not this run's */
	REPLAY_VERDICT_MAX
};

const char *replay_verdict_str(enum replay_verdict v);

/* What one dead letter is. Strings are owned. */
struct replay_item {
	enum replay_verdict verdict;
	char *source_topic; /* the event's own position, from the headers */
	int32_t source_partition;
	int64_t source_offset;
	int count;          /* replays of this event, this one included */
	char *stale_reason; /* REPLAY_STALE */
};

void replay_item_done(struct replay_item *it);

/* f is copied (its strings are borrowed for the plan's life). force:
 * stale dead letters are replayed too. NULL when out of memory. */
struct replay_plan *replay_plan_new(const struct dlq_filter *f, int force);
struct replay_plan *replay_plan_free(struct replay_plan *p);

/* The dead-letter partitions to read, [start, end) each. 0 or -ENOMEM. */
int replay_plan_ranges(struct replay_plan *p, const struct scan_range *r,
                       size_t n);

/* Pass 1: a dead letter in the reading range. Selected by the filters,
 * its key is remembered. 0 or -ENOMEM. */
int replay_plan_select(struct replay_plan *p, const struct dead_letter *dl);

/* How many were selected, and the time of the oldest (0 when none). */
size_t replay_plan_selected(const struct replay_plan *p, int64_t *earliest);

/* Pass 2: whether outcomes of this key matter, and one of them (the
 * outcome record, parsed). 0 or -ENOMEM. */
int replay_plan_wants_key(const struct replay_plan *p, const char *key);
int replay_plan_note_outcome(struct replay_plan *plan, const char *key,
                             const struct cJSON *outcome);

/* Whether a record at partition:offset is in this run's range. */
int replay_plan_in_range(const struct replay_plan *p, int32_t partition,
                         int64_t offset);

/* The run: what the dead letter dl (NULL: the record in range at
 * partition:offset is not a dead letter) is. A dead letter passed over
 * or stale holds its partition's stored offset back
 * (replay_plan_progress). Fills out (replay_item_done frees it) and
 * returns out->verdict. */
enum replay_verdict replay_plan_judge(struct replay_plan *p, int32_t partition,
                                      int64_t offset,
                                      const struct dead_letter *dl,
                                      struct replay_item *out);

/* A partition is finished up to next (exclusive): what may be stored,
 * never past a dead letter passed over or stale; -1 for a partition not
 * in the plan. */
int64_t replay_plan_progress(struct replay_plan *p, int32_t partition,
                             int64_t next);

/* Every partition is finished up to its end. */
int replay_plan_finished(const struct replay_plan *p);

/* The partitions with something to read, and where to start: fills
 * partitions[] and offsets[] (room for every range) and returns how
 * many. */
size_t replay_plan_assignment(const struct replay_plan *p, int32_t *partitions,
                              int64_t *offsets);

/* How many ranges there are (the room replay_plan_assignment needs). */
size_t replay_plan_n_ranges(const struct replay_plan *p);

#endif
