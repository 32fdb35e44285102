/* The headers an input record hands on to its event's API requests and
 * to its outcome record: W3C Trace Context (traceparent, tracestate)
 * when it is valid, then the headers input.forward_headers names. The
 * dead letter needs nothing from here: it keeps the record's own
 * headers. Pure: librdkafka headers in, name/value pairs out. */
#ifndef CUSTSYNC_FORWARD_H
#define CUSTSYNC_FORWARD_H

#include <stddef.h>

struct http_header;
struct rd_kafka_headers_s;

#define FORWARD_TRACEPARENT "traceparent"
#define FORWARD_TRACESTATE  "tracestate"
/* A longer value is not forwarded: HTTP servers commonly refuse header
 * lines past 4-8 KiB, and the request would then fail for good. */
#define FORWARD_MAX_VALUE 4096
/* How many of a record's dropped headers are kept for the log. */
#define FORWARD_DROPS_KEPT 4

struct forward_drop {
	const char *name; /* borrowed, as the header's name in v */
	char why[96];
};

struct forward {
	/* Names borrowed (static, or the config's, which outlives every
	 * event); values owned. In order: traceparent, tracestate, then
	 * input.forward_headers' order. */
	struct http_header *v;
	size_t n;
	/* Headers the record has that are not forwarded, and why. */
	size_t n_dropped;
	struct forward_drop dropped[FORWARD_DROPS_KEPT];
};

/* Why value (len bytes, not NUL-terminated) is not a traceparent that
 * W3C Trace Context lets a vendor accept, or NULL when it is. Version 00
 * is exactly version-traceid-parentid-flags in lowercase hex; a later
 * version (not ff) is read the same way and may go on after a '-'. */
const char *forward_traceparent_problem(const char *value, size_t len);

/* Why value is not a W3C tracestate list (at most 32 key=value members;
 * empty members are allowed), or NULL. */
const char *forward_tracestate_problem(const char *value, size_t len);

/* Why an input.forward_headers entry cannot be forwarded (not an HTTP
 * token, one of custsync's own headers, the trace context, a custsync.*
 * dead-letter header), or NULL. */
const char *forward_name_problem(const char *name);

/* Fills f (zeroed first) from hs (NULL: no headers). names are matched
 * ignoring case; of a name given more than once the last value counts
 * (traceparent more than once is invalid; tracestate's values are
 * joined with ','). A value a header cannot carry is dropped, as are
 * tracestate without a valid traceparent and an invalid one. Returns 0
 * or -ENOMEM (f then empty). */
int forward_collect(struct forward *f, const struct rd_kafka_headers_s *hs,
                    char *const *names, size_t n_names);
void forward_done(struct forward *f);

/* f's headers as Kafka headers (for the outcome record), caller owns;
 * NULL when there are none or memory ran out. */
struct rd_kafka_headers_s *forward_kafka_headers(const struct forward *f);

#endif
