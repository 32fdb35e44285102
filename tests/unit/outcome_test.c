/* outcome.c: the results record; deadletter.c: the dead-letter headers
 * the daemon writes with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/deadletter.h"
#include "core/outcome.h"
#include "core/sync.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct outcome_source src = {
    .topic = "erp.customers",
    .partition = 2,
    .offset = 12,
    .event_id = "e-1",
    .key = "ERP-1",
    .op = "create",
    .finished_at_ms = 1795860001123LL,
    .duration_ms = 12,
};

/* An update after a 409 that named the customer. */
static void applied(struct sync_job *j)
{
	memset(j, 0, sizeof(*j));
	j->status = SYNC_APPLIED;
	j->action = SYNC_ACTION_UPDATE;
	j->target_id = "c-1";
	j->etag = "\"e1\"";
	j->http_status = 200;
	j->attempts = 3;
	j->n_conflicts = 1;
	j->conflicts[0].status = 409;
	j->conflicts[0].field = "CompanyNumber";
	j->conflicts[0].target_id = "c-1";
}

static void test_applied(void **state)
{
	struct sync_job j;
	cJSON *o, *s;
	char *text;

	(void)state;
	applied(&j);
	text = outcome_json(&j, &src);
	o = cJSON_Parse(text);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring,
	                    "applied");
	assert_string_equal(cJSON_GetObjectItem(o, "action")->valuestring,
	                    "update");
	assert_string_equal(cJSON_GetObjectItem(o, "etag")->valuestring,
	                    "\"e1\"");
	assert_int_equal(cJSON_GetObjectItem(o, "http_status")->valueint, 200);
	assert_int_equal(cJSON_GetObjectItem(o, "attempts")->valueint, 3);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
	assert_string_equal(
	    cJSON_GetObjectItem(
	        cJSON_GetArrayItem(cJSON_GetObjectItem(o, "conflicts"), 0),
	        "field")
	        ->valuestring,
	    "CompanyNumber");
	s = cJSON_GetObjectItem(o, "source");
	assert_int_equal(cJSON_GetObjectItem(s, "partition")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(s, "offset")->valueint, 12);
	assert_string_equal(cJSON_GetObjectItem(o, "finished_at")->valuestring,
	                    "2026-11-28T10:00:01.123Z");
	cJSON_Delete(o);
	free(text);
}

static void test_failed_local(void **state)
{
	struct sync_job j;
	struct outcome_source s2 = src;
	struct dead_letter_header h[DEAD_LETTER_HEADER_MAX];
	cJSON *o, *e;
	char *text;

	(void)state;
	memset(&j, 0, sizeof(j));
	sync_fail(&j, "invalid_json", "value is not JSON");
	s2.event_id = NULL;
	s2.op = NULL;
	text = outcome_json(&j, &s2);
	o = cJSON_Parse(text);
	assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring,
	                    "failed");
	assert_string_equal(cJSON_GetObjectItem(o, "action")->valuestring,
	                    "none");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "op")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "http_status")));
	e = cJSON_GetObjectItem(o, "error");
	assert_string_equal(cJSON_GetObjectItem(e, "code")->valuestring,
	                    "invalid_json");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "http_status")));
	cJSON_Delete(o);
	free(text);

	dead_letter_headers(&j, &s2, h);
	assert_string_equal(h[0].name, "custsync.error.code");
	assert_string_equal(h[0].value, "invalid_json");
	assert_string_equal(h[1].value, "value is not JSON");
	assert_string_equal(h[2].name, "custsync.error.http_status");
	assert_string_equal(h[2].value, ""); /* present, empty */
	assert_string_equal(h[3].value, "erp.customers");
	assert_string_equal(h[4].value, "2");
	assert_string_equal(h[5].value, "12");
	assert_string_equal(h[6].name, "custsync.attempts");
	assert_string_equal(h[6].value, "0");
	sync_done(&j);
}

/* The record's bytes, member order included, are those cJSON wrote
 * before the record was written by hand. */
static void test_exact_text(void **state)
{
	struct sync_job j;
	struct outcome_source s2 = src;
	char *text;

	(void)state;
	applied(&j);
	/* One that names nothing. */
	j.n_conflicts = 2;
	j.conflicts[1].status = 409;
	text = outcome_json(&j, &src);
	assert_string_equal(
	    text, "{\"event_id\":\"e-1\",\"key\":\"ERP-1\",\"op\":\"create\","
	          "\"status\":\"applied\",\"action\":\"update\","
	          "\"target_id\":\"c-1\",\"etag\":\"\\\"e1\\\"\","
	          "\"http_status\":200,\"attempts\":3,\"conflicts\":["
	          "{\"status\":409,\"field\":\"CompanyNumber\","
	          "\"target_id\":\"c-1\"},{\"status\":409,\"field\":null,"
	          "\"target_id\":null}],\"error\":null,\"source\":{"
	          "\"topic\":\"erp.customers\",\"partition\":2,"
	          "\"offset\":12},\"finished_at\":"
	          "\"2026-11-28T10:00:01.123Z\",\"duration_ms\":12}");
	free(text);

	memset(&j, 0, sizeof(j));
	j.status = SYNC_FAILED;
	j.err_code = "conflict";
	j.err_http_status = 409;
	strcpy(j.err_msg, "a \"quote\", a\\ and\n\x01");
	j.http_status = 409;
	j.attempts = 2;
	s2.key = "k\tey";
	s2.event_id = NULL;
	s2.op = NULL;
	s2.redeliveries = 3;
	s2.dead_letter_offset = 77;
	s2.offset = 2147483648LL;
	s2.finished_at_ms = -1;
	s2.duration_ms = 0;
	text = outcome_json(&j, &s2);
	assert_string_equal(
	    text, "{\"event_id\":null,\"key\":\"k\\tey\",\"op\":null,"
	          "\"status\":\"failed\",\"action\":\"none\","
	          "\"target_id\":null,\"etag\":null,\"http_status\":409,"
	          "\"attempts\":2,\"conflicts\":[],\"error\":{"
	          "\"code\":\"conflict\",\"message\":\"a \\\"quote\\\", "
	          "a\\\\ and\\n\\u0001\",\"http_status\":409},\"source\":{"
	          "\"topic\":\"erp.customers\",\"partition\":2,"
	          "\"offset\":2147483648},\"replay\":{\"dead_letter\":{"
	          "\"partition\":0,\"offset\":77},\"count\":3},"
	          "\"finished_at\":\"\",\"duration_ms\":0}");
	free(text);
}

/* ---- outcome_time: what dlq rows, dlq --json and failed_at print ---- */

static void test_time(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(outcome_time(1795860001123LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-28T10:00:01.123Z");
	assert_int_equal(outcome_time(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(outcome_time(951782400999LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2000-02-29T00:00:00.999Z");
	/* The last instant with a four-digit year, in exactly 25 bytes. */
	assert_int_equal(outcome_time(253402300799999LL, buf, 25), 0);
	assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
}

/* A Kafka record without a timestamp (librdkafka: -1) once printed
 * 1970-01-01T00:00:00.-01Z; one of 3.3e18 ms (a 9-digit year) left
 * strftime's buffer unterminated. Neither is a time: "". */
static void test_time_none(void **state)
{
	static const int64_t bad[] = {
	    -1,
	    -999,
	    -1000,
	    INT64_MIN,
	    253402300800000LL,
	    3300000000000000000LL,
	    INT64_MAX,
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(outcome_time(bad[i], buf, sizeof(buf)),
		                 -ERANGE);
		assert_string_equal(buf, "");
	}
	/* Too small a buffer is never written past, nor left open. */
	memset(buf, 'X', sizeof(buf));
	assert_int_not_equal(outcome_time(0, buf, 24), 0);
	assert_string_equal(buf, "");
}

/* The dead-letter header of a record whose clock is not a date is
 * present and empty, like a local error's HTTP status. */
static void test_dlq_headers_without_time(void **state)
{
	struct dead_letter_header h[DEAD_LETTER_HEADER_MAX];
	struct outcome_source s2 = src;
	struct sync_job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	j.status = SYNC_FAILED;
	j.err_code = "invalid_json";
	s2.finished_at_ms = -1;
	dead_letter_headers(&j, &s2, h);
	assert_string_equal(h[8].name, "custsync.failed_at");
	assert_string_equal(h[8].value, "");
	s2.finished_at_ms = 3300000000000000000LL;
	dead_letter_headers(&j, &s2, h);
	assert_string_equal(h[8].value, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_applied),
	    cmocka_unit_test(test_failed_local),
	    cmocka_unit_test(test_exact_text),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_time_none),
	    cmocka_unit_test(test_dlq_headers_without_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
