/* What an input record's headers hand on (worker/core/forward.c): the
 * traceparent and tracestate checks and the collection, on headers that
 * any producer may have written.
 *
 * Input: lines (split at '\n'), one header each: the name up to the
 * first ':', the value after it, byte for byte; a line without ':' is a
 * header with no value. The whole input is also checked as one
 * traceparent and as one tracestate. */
#include "fuzz.h"

#include "core/forward.h"
#include "edge/http.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void add_lines(const uint8_t *data, size_t size, rd_kafka_headers_t *hs)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *colon = memchr(p, ':', (size_t)(line_end - p));

		if (colon)
			rd_kafka_header_add(hs, p, colon - p, colon + 1,
			                    line_end - colon - 1);
		else
			rd_kafka_header_add(hs, p, line_end - p, NULL, 0);
		p = line_end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *names[] = {"X-Tenant", "baggage"};
	rd_kafka_headers_t *hs = rd_kafka_headers_new(8), *out;
	struct forward f;
	char why[64];
	bool trace = false;

	forward_traceparent_problem((const char *)data, size);
	forward_tracestate_problem((const char *)data, size);
	add_lines(data, size, hs);
	if (forward_collect(&f, hs, names, 2) == 0) {
		for (size_t i = 0; i < f.n; i++) {
			const char *v = f.v[i].value;

			/* What is handed on is what a header can carry. */
			if (!*v ||
			    http_value_problem(v, false, why, sizeof(why)))
				abort();
			if (strcmp(f.v[i].name, FORWARD_TRACEPARENT) == 0) {
				if (forward_traceparent_problem(v, strlen(v)))
					abort();
				trace = true;
			}
			if (strcmp(f.v[i].name, FORWARD_TRACESTATE) == 0 &&
			    (!trace ||
			     forward_tracestate_problem(v, strlen(v))))
				abort();
		}
		out = forward_kafka_headers(&f);
		if (out && rd_kafka_header_cnt(out) != f.n)
			abort();
		if (out)
			rd_kafka_headers_destroy(out);
		forward_done(&f);
	}
	rd_kafka_headers_destroy(hs);
	return 0;
}
