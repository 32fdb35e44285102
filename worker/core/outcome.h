/* The results-topic record of an event (schemas/outcome.schema.json).
 * Pure. A dead letter's headers are deadletter.h's. */
#ifndef CUSTSYNC_OUTCOME_H
#define CUSTSYNC_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

struct sync_job;

struct outcome_source {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const char *event_id; /* NULL when the value could not be parsed */
	const char *key;
	const char *op;         /* NULL when the value could not be parsed */
	int64_t finished_at_ms; /* wall clock, ms since the epoch */
	int64_t duration_ms;
	/* A dead letter delivered again (redeliveries > 0, the outcome's
	 * "replay" member): where it was read. */
	int32_t dead_letter_partition;
	int64_t dead_letter_offset;
	int redeliveries;
};

/* The outcome record as JSON text (caller frees), or NULL on OOM. */
char *outcome_json(const struct sync_job *j, const struct outcome_source *s);

/* ISO-8601 UTC with milliseconds, 2026-11-22T10:00:01.123Z (buf >= 25
 * bytes). 0, or -ERANGE with buf "" for a time that has none: negative
 * (a Kafka record's -1, "not available") or past year 9999. */
int outcome_time(int64_t epoch_ms, char *buf, size_t len);

#endif
