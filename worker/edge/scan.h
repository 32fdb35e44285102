/* Reading a topic once, from chosen positions up to the end it has when
 * the reading starts: `custsync dlq`, and replay's passes over the
 * dead-letter and results topics. A consumer of its own that never joins
 * a group and never commits. */
#ifndef CUSTSYNC_SCAN_H
#define CUSTSYNC_SCAN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct rd_kafka_message_s;

struct scan_range {
	int32_t partition;
	int64_t start; /* first offset read */
	int64_t end;   /* high watermark when the scan started */
};

struct scan_opts {
	const char *topic;
	/* > 0: start at the first record with a timestamp >= since_ms */
	int64_t since_ms;
	/* non-NULL: start at this group's committed offsets (none: the
	 * beginning); with since_ms, the later of the two */
	const char *committed_group;
	int timeout_ms; /* bound for each query and for a silent fetch */
	const volatile sig_atomic_t *stop; /* may be NULL */
};

/* Returns 0 to go on; anything else stops the scan and is returned. */
typedef int (*scan_cb)(void *arg, const struct rd_kafka_message_s *m);

/* Records come in offset order per partition. ranges (optional; caller
 * frees *ranges) gets one entry per partition. Returns 0, the callback's
 * value, 1 when *stop was set, or -1 with err filled. */
int scan_topic(const struct config *cfg, const struct scan_opts *opts,
               scan_cb cb, void *arg, struct scan_range **ranges,
               size_t *n_ranges, char *err, size_t errlen);

#endif
