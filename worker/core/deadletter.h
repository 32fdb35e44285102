/* The dead-letter record (schemas/dead-letter.md): its custsync.*
 * headers written (for the daemon) and read back (for `custsync dlq` and
 * `custsync replay`) from one table of names, and the filters dlq and
 * replay share. */
#ifndef CUSTSYNC_DEADLETTER_H
#define CUSTSYNC_DEADLETTER_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct outcome_source;
struct rd_kafka_message_s;
struct rd_kafka_headers_s;
struct sync_job;

/* The custsync.* headers a dead letter carries besides the original
 * ones, in the order they are written. */
enum dead_letter_header_id {
	DL_HDR_ERROR_CODE,
	DL_HDR_ERROR_MESSAGE,
	DL_HDR_ERROR_HTTP_STATUS,
	DL_HDR_SOURCE_TOPIC,
	DL_HDR_SOURCE_PARTITION,
	DL_HDR_SOURCE_OFFSET,
	DL_HDR_ATTEMPTS,
	DL_HDR_EVENT_ID,
	DL_HDR_FAILED_AT,
	DL_HDR_REPLAY_COUNT, /* only on a replayed event's dead letter */
	DEAD_LETTER_HEADER_MAX
};

/* "custsync.error.code", ...; NULL out of range. */
#define DLQ_HEADER_REPLAY_COUNT "custsync.replay.count" /* the table's */
const char *dead_letter_header_name(enum dead_letter_header_id id);

/* One header of a dead letter being written. */
struct dead_letter_header {
	const char *name;
	char value[600];
};

/* Fills out with the custsync.* headers of the dead letter of a failed
 * job j whose outcome is s: every DL_HDR_* in order, the replay count
 * only when s->redeliveries > 0. Returns how many were filled. */
int dead_letter_headers(const struct sync_job *j,
                        const struct outcome_source *s,
                        struct dead_letter_header out[DEAD_LETTER_HEADER_MAX]);

/* dead_letter_headers, appended to hs (after the original headers). */
void dead_letter_add_headers(struct rd_kafka_headers_s *hs,
                             const struct sync_job *j,
                             const struct outcome_source *s);

struct dead_letter {
	/* where the dead letter itself is */
	int32_t partition;
	int64_t offset;
	int64_t timestamp_ms;
	/* the customer key as the event's outcome names it */
	char *key;
	char *event_id; /* "" when the value carried none */
	char *code;
	char *message;
	long http_status; /* 0 for local errors */
	/* NULL, -1, -1 unless all three custsync.source.* headers are
	 * there and well-formed */
	char *source_topic;
	int32_t source_partition;
	int64_t source_offset;
	int attempts;
	int replay_count; /* custsync.replay.count, 0 when never replayed */
	char *failed_at;
};

/* 0, or -1 when m is not a custsync dead letter (no custsync.error.code
 * header) or memory ran out. The last occurrence of each custsync.*
 * header counts. */
int dead_letter_parse(const struct config *cfg,
                      const struct rd_kafka_message_s *m,
                      struct dead_letter *dl);
void dead_letter_done(struct dead_letter *dl);

/* What dead_letter_parse reads of a record, for callers that hold no
 * rd_kafka_message_t (a record with headers cannot be built by hand).
 * Everything is borrowed for the call. */
struct dead_letter_record {
	struct rd_kafka_headers_s *headers; /* NULL: none */
	int32_t partition;
	int64_t offset;
	int64_t timestamp_ms; /* -1: not available */
	const void *value;    /* NULL: a tombstone */
	size_t value_len;
	const void *key; /* NULL: none */
	size_t key_len;
};

/* dead_letter_parse on the parts of a record. */
int dead_letter_parse_record(const struct config *cfg,
                             const struct dead_letter_record *r,
                             struct dead_letter *dl);

struct dlq_filter {
	const char *code; /* NULL: any */
	const char *key;  /* NULL: any */
	int64_t since_ms; /* 0: any; compared with the dead letter's time */
};

int dlq_filter_match(const struct dlq_filter *f, const struct dead_letter *dl);

/* --since TIME: "2026-11-23T10:00:00Z" (optionally .mmm), "2026-11-23"
 * (UTC midnight), or a duration back from now_ms: "90s", "15m", "2h",
 * "7d". 0, or -1 for anything else or a time before 1970. */
int dlq_parse_since(const char *s, int64_t now_ms, int64_t *out_ms);

/* The options dlq and replay share, for their getopt_long tables. */
enum { DLQ_OPT_CODE = 900, DLQ_OPT_KEY, DLQ_OPT_SINCE };
#define DLQ_FILTER_OPTIONS                                                    \
	{"config", required_argument, NULL, 'c'},                             \
	    {"code", required_argument, NULL, DLQ_OPT_CODE},                  \
	    {"key", required_argument, NULL, DLQ_OPT_KEY},                    \
	{                                                                     \
		"since", required_argument, NULL, DLQ_OPT_SINCE               \
	}

/* Takes option c if it is one of DLQ_FILTER_OPTIONS: 1; not one: 0; a bad
 * value (message printed): -1. */
int dlq_filter_option(int c, const char *arg, const char **config,
                      struct dlq_filter *f);

#endif
