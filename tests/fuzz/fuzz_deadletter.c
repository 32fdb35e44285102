/* The dead-letter reader (worker/core/deadletter.c, what custsync dlq and
 * replay read) on one record, and the time a dlq row shows for it.
 *
 * Input:
 *   8 bytes    the record's timestamp in ms, little-endian (-1: none)
 *   1 byte     how many headers follow (at most 15 are read)
 *   per header a name byte: below N_NAMES one of names[] below, else a
 *              raw name of (byte - N_NAMES) % 32 bytes; a length byte,
 *              255 for a NULL value, then the value
 *   1 byte     flags: FLAG_KEY (a length byte and the key follow),
 *              FLAG_MAPPING (the value's rows go through a mapping),
 *              FLAG_TOMBSTONE (no value)
 *   the rest   the record's value */
#include "fuzz.h"

#include "config/config.h"
#include "core/deadletter.h"
#include "core/outcome.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FLAG_KEY = 1, FLAG_MAPPING = 2, FLAG_TOMBSTONE = 4 };

static const char *const names[] = {
    "custsync.error.code",        "custsync.error.message",
    "custsync.error.http_status", "custsync.source.topic",
    "custsync.source.partition",  "custsync.source.offset",
    "custsync.attempts",          "custsync.event_id",
    "custsync.failed_at",         DLQ_HEADER_REPLAY_COUNT,
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static struct config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] =
	    FUZZ_CONFIG("alvys", "mapping:\n"
	                         "  name: /N\n"
	                         "  email: [/E1, /E2]\n");
	struct config_errors errs = {0};

	(void)argc;
	(void)argv;
	if (config_load_buffer("fuzz.yaml", text, sizeof(text) - 1, &cfg,
	                       &errs)) {
		fprintf(stderr, "fuzz_deadletter: the built-in config is "
		                "bad\n");
		abort();
	}
	config_errors_done(&errs);
	return 0;
}

static void add_headers(struct fuzz_in *in, rd_kafka_headers_t *hs)
{
	int count = fuzz_byte(in) % 16;

	for (int i = 0; i < count && in->n; i++) {
		uint8_t sel = fuzz_byte(in), vlen;
		const char *name;
		const uint8_t *v;
		size_t nlen, got;
		char raw[32];

		if (sel < N_NAMES) {
			name = names[sel];
			nlen = strlen(name);
		} else {
			v = fuzz_bytes(in, (sel - N_NAMES) % sizeof(raw),
			               &nlen);
			memcpy(raw, v, nlen);
			name = raw;
		}
		vlen = fuzz_byte(in);
		if (vlen == 255) {
			rd_kafka_header_add(hs, name, (ssize_t)nlen, NULL, 0);
			continue;
		}
		v = fuzz_bytes(in, vlen, &got);
		rd_kafka_header_add(hs, name, (ssize_t)nlen, v, (ssize_t)got);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct dead_letter_record r;
	struct dlq_filter filter = {"validation", "K1", 1};
	struct dead_letter dl;
	uint64_t ts = 0;
	uint8_t flags;
	char when[32];
	size_t len;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 8; i++)
		ts |= (uint64_t)fuzz_byte(&in) << (8 * i);
	r.timestamp_ms = (int64_t)ts;
	r.partition = 0;
	r.offset = 42;
	r.headers = rd_kafka_headers_new(8);
	add_headers(&in, r.headers);
	flags = fuzz_byte(&in);
	if (flags & FLAG_KEY)
		r.key = fuzz_bytes(&in, fuzz_byte(&in), &r.key_len);
	r.value = fuzz_bytes(&in, in.n, &r.value_len);
	if (flags & FLAG_TOMBSTONE) {
		r.value = NULL;
		r.value_len = 0;
	}
	if (dead_letter_parse_record((flags & FLAG_MAPPING) ? &cfg : NULL, &r,
	                             &dl) == 0) {
		if (!dl.code || !dl.message || !dl.key || !dl.event_id ||
		    !dl.failed_at)
			abort();
		if (dl.source_topic &&
		    (dl.source_partition < 0 || dl.source_offset < 0))
			abort();
		dlq_filter_match(&filter, &dl);
		/* What a dlq row and --json print: a whole time or none. */
		memset(when, 'X', sizeof(when));
		len = outcome_time(dl.timestamp_ms, when, sizeof(when)) == 0
		          ? 24
		          : 0;
		if (!memchr(when, '\0', sizeof(when)) || strlen(when) != len)
			abort();
		dead_letter_done(&dl);
	}
	rd_kafka_headers_destroy(r.headers);
	return 0;
}
