/* worker/core/forward.c: the W3C traceparent and tracestate checks, the
 * names input.forward_headers may hold, and what a record's headers
 * hand on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/forward.h"
#include "edge/http.h"

#include <librdkafka/rdkafka.h>
#include <string.h>

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static const char *tp_problem(const char *v)
{
	return forward_traceparent_problem(v, strlen(v));
}

static const char *ts_problem(const char *v)
{
	return forward_tracestate_problem(v, strlen(v));
}

static void traceparent_valid(void **state)
{
	(void)state;
	assert_null(tp_problem(TP));
	assert_null(tp_problem(
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
	/* Unknown flags are kept, not refused. */
	assert_null(tp_problem(
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff"));
	/* A later version is read as 00 and may add fields after '-'. */
	assert_null(tp_problem(
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
	assert_null(tp_problem("cc-4bf92f3577b34da6a3ce929d0e0e4736-"
	                       "00f067aa0ba902b7-01-what-the-future-holds"));
}

static void traceparent_invalid(void **state)
{
	static const char *const bad[] = {
	    "",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
	    /* version ff, upper case, not hex */
	    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	    "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0X",
	    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
	    /* all-zero ids */
	    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	    /* wrong separators and field lengths */
	    "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7001",
	    /* version 00 has exactly four fields */
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
	    /* a later version: more only after '-' */
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
	    " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = tp_problem(bad[i]);

		if (!why)
			fail_msg("accepted: '%s'", bad[i]);
	}
	assert_string_equal(
	    tp_problem(
	        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
	    "version ff is invalid");
	assert_string_equal(
	    tp_problem(
	        "00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
	    "the trace-id is all zeros");
	/* A NUL inside: the length counts, not the string. */
	assert_non_null(forward_traceparent_problem(TP, 20));
}

static void tracestate(void **state)
{
	char many[33 * 5 + 1] = "", big[300];

	(void)state;
	assert_null(ts_problem("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
	assert_null(ts_problem("a=1 , b=2,,\tc=3"));
	assert_null(ts_problem("fw529a3039@dt=b-1,t0@a=x y"));
	assert_null(ts_problem(""));
	assert_non_null(ts_problem("Upper=1"));
	assert_non_null(ts_problem("a"));
	assert_non_null(ts_problem("a=1=2"));
	assert_non_null(ts_problem("a=x\x01y"));
	assert_non_null(ts_problem("1a=x"));
	assert_non_null(ts_problem("t@toolongsystemid=x"));
	for (int i = 0; i < 33; i++)
		strcat(many, i ? ",k=v" : "k=v");
	assert_string_equal(ts_problem(many), "more than 32 list members");
	many[strlen(many) - 4] = '\0';
	assert_null(ts_problem(many));
	memset(big, 'v', sizeof(big));
	memcpy(big, "k=", 2);
	big[2 + 256] = '\0';
	assert_null(ts_problem(big));
	big[2 + 256] = 'v';
	big[2 + 257] = '\0';
	assert_non_null(ts_problem(big));
}

static void names(void **state)
{
	(void)state;
	assert_null(forward_name_problem("X-Tenant"));
	assert_null(forward_name_problem("baggage"));
	assert_non_null(forward_name_problem("X Tenant"));
	assert_non_null(forward_name_problem("X-Tenant:"));
	assert_non_null(forward_name_problem("authorization"));
	assert_non_null(forward_name_problem("Content-Type"));
	assert_non_null(forward_name_problem("if-match"));
	assert_non_null(forward_name_problem("X-Correlation-ID"));
	assert_non_null(forward_name_problem("Accept-Language"));
	assert_non_null(forward_name_problem("Host"));
	assert_non_null(forward_name_problem("Traceparent"));
	assert_non_null(forward_name_problem("tracestate"));
	assert_non_null(forward_name_problem("custsync.error.code"));
}

static rd_kafka_headers_t *headers(const char *const *kv)
{
	rd_kafka_headers_t *hs = rd_kafka_headers_new(8);

	for (; kv[0]; kv += 2)
		assert_int_equal(rd_kafka_header_add(hs, kv[0], -1, kv[1], -1),
		                 0);
	return hs;
}

static const char *value_of(const struct forward *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	return NULL;
}

static void collect(const char *const *kv, char *const *fwd, size_t n_fwd,
                    struct forward *f)
{
	rd_kafka_headers_t *hs = headers(kv);

	assert_int_equal(forward_collect(f, hs, fwd, n_fwd), 0);
	rd_kafka_headers_destroy(hs);
}

static void collect_valid(void **state)
{
	static const char *const kv[] = {
	    "x-tenant", "t-old",    "tracestate", "a=1",        "TraceParent",
	    TP,         "x-tenant", "t-7",        "tracestate", "b=2",
	    "other",    "o",        "X-Empty",    "",           NULL};
	char *fwd[] = {"X-Tenant", "X-Missing", "X-Empty"};
	struct forward f;
	rd_kafka_headers_t *out;
	const void *v;
	size_t len;

	(void)state;
	collect(kv, fwd, 3, &f);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.v[0].name, "traceparent");
	assert_string_equal(f.v[0].value, TP);
	/* Several tracestate headers are one list; the last value of a
	 * forwarded header counts, under the configured name. */
	assert_string_equal(value_of(&f, "tracestate"), "a=1,b=2");
	assert_string_equal(value_of(&f, "X-Tenant"), "t-7");
	assert_int_equal(f.n_dropped, 1);
	assert_string_equal(f.dropped[0].name, "X-Empty");
	out = forward_kafka_headers(&f);
	assert_non_null(out);
	assert_int_equal(rd_kafka_header_cnt(out), 3);
	assert_int_equal(rd_kafka_header_get_last(out, "tracestate", &v, &len),
	                 0);
	assert_int_equal(len, 7);
	assert_memory_equal(v, "a=1,b=2", 7);
	rd_kafka_headers_destroy(out);
	forward_done(&f);
	assert_null(forward_kafka_headers(&f));
}

static void collect_invalid(void **state)
{
	static const char *const bad_tp[] = {
	    "traceparent",
	    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	    "tracestate",
	    "a=1",
	    "X-Tenant",
	    "t\r\nX-Injected: 1",
	    NULL};
	static const char *const twice[] = {"traceparent", TP, "traceparent",
	                                    TP, NULL};
	static const char *const bad_ts[] = {"traceparent", TP, "tracestate",
	                                     "A=1", NULL};
	static const char *const only_ts[] = {"tracestate", "a=1", NULL};
	char *fwd[] = {"X-Tenant"};
	struct forward f;

	(void)state;
	/* An invalid traceparent takes its tracestate along; a value a
	 * header cannot carry is not forwarded at all. */
	collect(bad_tp, fwd, 1, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.n_dropped, 3);
	assert_string_equal(f.dropped[0].name, "traceparent");
	assert_string_equal(f.dropped[0].why, "the trace-id is all zeros");
	assert_string_equal(f.dropped[1].name, "tracestate");
	assert_string_equal(f.dropped[2].name, "X-Tenant");
	assert_non_null(strstr(f.dropped[2].why, "control character (CR)"));
	forward_done(&f);

	collect(twice, NULL, 0, &f);
	assert_int_equal(f.n, 0);
	assert_string_equal(f.dropped[0].why, "it occurs more than once");
	forward_done(&f);

	/* A bad tracestate alone is dropped: its traceparent goes on. */
	collect(bad_ts, NULL, 0, &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].name, "traceparent");
	assert_int_equal(f.n_dropped, 1);
	forward_done(&f);

	collect(only_ts, NULL, 0, &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.n_dropped, 1);
	forward_done(&f);

	assert_int_equal(forward_collect(&f, NULL, fwd, 1), 0);
	assert_int_equal(f.n, 0);
	forward_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(traceparent_valid),
	    cmocka_unit_test(traceparent_invalid),
	    cmocka_unit_test(tracestate),
	    cmocka_unit_test(names),
	    cmocka_unit_test(collect_valid),
	    cmocka_unit_test(collect_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
