/* sync.c through the alvys profile: every decision of the flow, driven
 * with the responses the partner documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/cache.h"
#include "config/config.h"
#include "core/event.h"
#include "profiles/profile.h"
#include "core/sync.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_fixture.h"

static int setup(void **state)
{
	return fx_setup(state, "alvys");
}

#define FULL                                                                  \
	"{\"name\":\"Acme\",\"type\":\"broker\",\"number\":\"A-1\","          \
	"\"status\":\"active\",\"email\":[\"a@x.test\"],"                     \
	"\"billing_address\":{\"street\":[\"1 Main\",\"Suite 2\"],"           \
	"\"city\":\"Town\",\"state\":\"New York\",\"state_code\":\"NY\","     \
	"\"postal_code\":\"10001\"}}"

#define EXISTING                                                              \
	"{\"Id\":\"c-1\",\"Name\":\"Acme\",\"Type\":\"Broker/3PL\","          \
	"\"CompanyNumber\":\"A-1\",\"Status\":\"Active\","                    \
	"\"Email\":[\"a@x.test\"],\"Phone\":[],\"ExternalId\":\"K1\","        \
	"\"BillingAddress\":{\"Street\":\"1 Main, Suite 2\",\"City\":"        \
	"\"Town\",\"State\":\"NY\",\"Zip\":\"10001\",\"Country\":\"US\"},"    \
	"\"SalesAgentId\":null,\"Contacts\":[],\"DateCreated\":\"x\"}"

static void test_create_maps_and_posts(void **state)
{
	struct fx *f = *state;
	cJSON *b, *addr;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_POST);
	assert_string_equal(f->job.req.path, "/customers");
	assert_string_equal(f->job.req.content_type, "application/json");
	assert_null(f->job.req.if_match);
	b = req_body(f);
	assert_string_equal(str_of(b, "Name"), "Acme");
	assert_string_equal(str_of(b, "Type"), "Broker/3PL");
	assert_string_equal(str_of(b, "CompanyNumber"), "A-1");
	assert_string_equal(str_of(b, "Status"), "Active");
	assert_string_equal(str_of(b, "ExternalId"), "K1");
	addr = cJSON_GetObjectItemCaseSensitive(b, "BillingAddress");
	assert_string_equal(str_of(addr, "Street"), "1 Main, Suite 2");
	assert_string_equal(str_of(addr, "State"), "NY");
	assert_string_equal(str_of(addr, "Zip"), "10001");
	assert_null(cJSON_GetObjectItemCaseSensitive(addr, "Country"));
	cJSON_Delete(b);

	assert_int_equal(answer_etag(f, 201, EXISTING, "\"e1\""), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_CREATE);
	assert_string_equal(f->job.target_id, "c-1");
	assert_string_equal(f->job.etag, "\"e1\"");
	assert_int_equal(cache_size(f->cache), 1);
}

static void test_create_conflict_matching_sends_no_patch(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(
	    answer_etag(f, 409,
	                "{\"status\":409,\"field\":\"CompanyNumber\","
	                "\"customerId\":\"c-1\"}",
	                NULL),
	    SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_string_equal(f->job.req.path, "/customers/c-1");
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e1\""), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	assert_int_equal(f->job.action, SYNC_ACTION_NONE);
	assert_int_equal(f->job.n_conflicts, 1);
	assert_string_equal(f->job.conflicts[0].field, "CompanyNumber");
	assert_string_equal(f->job.conflicts[0].target_id, "c-1");
}

static void test_create_conflict_patches_only_difference(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"broker\",\"fax\":\"555\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer_etag(f, 409,
	                             "{\"field\":\"ExternalId\","
	                             "\"customerId\":\"c-1\"}",
	                             NULL),
	                 SYNC_SEND);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e1\""), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PATCH);
	assert_string_equal(f->job.req.content_type,
	                    "application/merge-patch+json");
	assert_string_equal(f->job.req.if_match, "\"e1\"");
	b = req_body(f);
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(str_of(b, "Fax"), "555");
	cJSON_Delete(b);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e2\""), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_UPDATE);
}

/* Cache hit: one PATCH; a 412 re-reads and re-diffs, keeping the
 * external edit of a field the event does not touch. */
static void test_update_stale_etag_rereads(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	answer_etag(f, 201, EXISTING, "\"e1\"");

	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"Acme 2\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PATCH);
	assert_string_equal(f->job.req.if_match, "\"e1\"");
	assert_int_equal(answer_etag(f, 412, "{\"status\":412}", NULL),
	                 SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_int_equal(
	    answer_etag(f, 200,
	                "{\"Id\":\"c-1\",\"Name\":\"Acme\","
	                "\"Type\":\"Broker/3PL\",\"Fax\":\"999\"}",
	                "\"e7\""),
	    SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PATCH);
	assert_string_equal(f->job.req.if_match, "\"e7\"");
	b = req_body(f);
	assert_int_equal(cJSON_GetArraySize(b), 1);
	assert_string_equal(str_of(b, "Name"), "Acme 2");
	cJSON_Delete(b);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e8\""), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.n_conflicts, 1);
	assert_int_equal(f->job.conflicts[0].status, 412);
	assert_null(f->job.conflicts[0].field);
	assert_string_equal(f->job.conflicts[0].target_id, "c-1");
	assert_int_equal(f->job.attempts, 0); /* the caller counts sends */
}

static void test_update_missing_if_match_rereads(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	cache_put(f->cache, "K1", "c-1", "\"e1\"",
	          cJSON_Parse("{\"Name\":\"A\",\"Type\":\"Customer\"}"));
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer_etag(f, 428, "{}", NULL), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
}

static void test_update_unknown_key_fails_not_found(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K9", "{\"name\":\"X\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_POST);
	assert_string_equal(f->job.req.path, "/customers/search");
	b = req_body(f);
	assert_string_equal(str_of(b, "ExternalId"), "K9");
	cJSON_Delete(b);
	assert_int_equal(
	    answer_etag(f, 200, "{\"Items\":[],\"Total\":0}", NULL),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "not_found");
}

static void test_upsert_unknown_key_creates(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K2", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(
	    answer_etag(f, 200, "{\"Items\":[],\"Total\":0}", NULL),
	    SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_POST);
	assert_string_equal(f->job.req.path, "/customers");
}

static void test_upsert_found_unchanged(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K1", FULL);
	sync_start(&f->job);
	assert_int_equal(answer_etag(f, 200,
	                             "{\"Items\":[" EXISTING "],\"Total\":1}",
	                             NULL),
	                 SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e1\""), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

/* An empty list equals an absent one on either side. */
static void test_empty_list_equals_absent(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"phone\":[]}");
	sync_start(&f->job);
	answer_etag(f, 200, "{\"Items\":[{\"Id\":\"c-1\"}],\"Total\":1}",
	            NULL);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e1\""), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

static void test_cached_noop_is_confirmed_by_read(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"A\"}");
	cache_put(f->cache, "K1", "c-1", "\"e1\"",
	          cJSON_Parse("{\"Name\":\"A\",\"Type\":\"Customer\"}"));
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_int_equal(answer_etag(f, 200,
	                             "{\"Name\":\"B\",\"Type\":\"Customer\"}",
	                             "\"e2\""),
	                 SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PATCH);
	assert_string_equal(f->job.req.if_match, "\"e2\"");
}

/* An ETag that a header could not carry is never sent back as If-Match:
 * the event fails at once instead of retrying a request that cannot be
 * sent. */
static void test_etag_with_control_characters(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"A\"}");
	cache_put(f->cache, "K1", "c-1", NULL, NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(
	    answer_etag(f, 200, "{\"Name\":\"B\"}", "\"e2\"\r\nX-Injected: 1"),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_non_null(strstr(f->job.err_msg, "ETag"));
}

static void test_delete_soft(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	answer_etag(f, 200, "{\"Items\":[{\"Id\":\"c-1\"}],\"Total\":1}",
	            NULL);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e1\""), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_DELETE);
	assert_string_equal(f->job.req.if_match, "\"e1\"");
	assert_null(f->job.req.body);
	assert_int_equal(answer_etag(f, 204, NULL, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_DELETE);
}

static void test_delete_inactive_or_unknown_unchanged(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_DELETE, "K1", NULL);
	sync_start(&f->job);
	answer_etag(f, 200, "{\"Items\":[{\"Id\":\"c-1\"}],\"Total\":1}",
	            NULL);
	assert_int_equal(
	    answer_etag(f, 200, "{\"Name\":\"A\",\"Status\":\"Inactive\"}",
	                "\"e1\""),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);

	set_change(f, CHANGE_DELETE, "K404", NULL);
	sync_start(&f->job);
	assert_int_equal(
	    answer_etag(f, 200, "{\"Items\":[],\"Total\":0}", NULL),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	assert_int_equal(f->job.action, SYNC_ACTION_NONE);
}

static void test_retry_classes(void **state)
{
	struct fx *f = *state;
	struct api_response r;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	r = resp_etag(503, "{}", NULL);
	r.retry_after_s = 3600;
	assert_int_equal(sync_on_response(&f->job, &r), SYNC_HOLD);
	assert_int_equal(f->job.retry_after_s, 3600);
	r.status = 429;
	r.retry_after_s = 2;
	assert_int_equal(sync_on_response(&f->job, &r), SYNC_HOLD);
	assert_int_equal(answer_etag(f, 503, "{}", NULL), SYNC_RETRY);
	assert_int_equal(answer_etag(f, 500, "{}", NULL), SYNC_RETRY);
	r = resp_etag(0, NULL, NULL);
	r.error = "Connection refused";
	assert_int_equal(sync_on_response(&f->job, &r), SYNC_RETRY);
	assert_int_equal(f->job.failures, 3);
	/* the request is kept for the resend */
	assert_int_equal(f->job.req.method, HTTP_POST);
}

/* Each rule that sends work again names its reason; an answer that ends
 * or moves the event on names none. */
static void test_retry_reasons(void **state)
{
	struct fx *f = *state;
	struct api_response r;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_NONE);
	r = resp_etag(0, NULL, NULL);
	r.error = "Connection refused";
	assert_int_equal(sync_on_response(&f->job, &r), SYNC_RETRY);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_CONNECTION);
	r.error = "Operation timed out";
	r.timed_out = 1;
	assert_int_equal(sync_on_response(&f->job, &r), SYNC_RETRY);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_TIMEOUT);
	assert_int_equal(answer_etag(f, 408, "{}", NULL), SYNC_RETRY);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_TIMEOUT);
	assert_int_equal(answer_etag(f, 502, "{}", NULL), SYNC_RETRY);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_HTTP_5XX);
	assert_int_equal(answer_etag(f, 503, "{}", NULL), SYNC_RETRY);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_HTTP_5XX);
	assert_int_equal(answer_etag(f, 429, "{}", NULL), SYNC_RETRY);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_HTTP_429);
	r = resp_etag(429, "{}", NULL);
	r.retry_after_s = 2;
	assert_int_equal(sync_on_response(&f->job, &r), SYNC_HOLD);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_RETRY_AFTER);
	assert_int_equal(answer_etag(f, 401, "{}", NULL), SYNC_REAUTH);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_UNAUTHORIZED);
	/* A duplicate: the record is read, then updated. */
	assert_int_equal(answer_etag(f, 409,
	                             "{\"field\":\"ExternalId\","
	                             "\"customerId\":\"c-1\"}",
	                             NULL),
	                 SYNC_SEND);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_CONFLICT);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e1\""), SYNC_DONE);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_NONE);

	/* A stale ETag re-reads; the read that follows is no retry. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"Acme 2\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer_etag(f, 412, "{\"status\":412}", NULL),
	                 SYNC_SEND);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_PRECONDITION);
	assert_int_equal(answer_etag(f, 200, EXISTING, "\"e2\""), SYNC_SEND);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_NONE);

	/* Giving up is a failure, not a retry. */
	set_change(f, CHANGE_CREATE, "K2", FULL);
	f->job.max_attempts = 1;
	sync_start(&f->job);
	assert_int_equal(answer_etag(f, 500, "{}", NULL), SYNC_DONE);
	assert_int_equal(f->job.retry_reason, SYNC_RETRY_REASON_NONE);
	assert_string_equal(sync_retry_reason_str(SYNC_RETRY_REASON_HTTP_5XX),
	                    "http_5xx");
	assert_string_equal(sync_retry_reason_str(SYNC_RETRY_REASON_MAX), "?");
}

static void test_max_attempts(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	f->job.max_attempts = 2;
	sync_start(&f->job);
	assert_int_equal(answer_etag(f, 502, "{}", NULL), SYNC_RETRY);
	assert_int_equal(answer_etag(f, 502, "{}", NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "max_attempts");
}

static void test_auth_errors(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	assert_int_equal(answer_etag(f, 401, "{}", NULL), SYNC_REAUTH);
	assert_int_equal(answer_etag(f, 401, "{}", NULL), SYNC_DONE);
	assert_string_equal(f->job.err_code, "unauthorized");

	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	cache_put(f->cache, "K1", "c-1", "\"e1\"",
	          cJSON_Parse("{\"Name\":\"A\",\"Type\":\"Customer\"}"));
	sync_start(&f->job);
	assert_int_equal(
	    answer_etag(f, 403, "{\"title\":\"Forbidden\"}", NULL), SYNC_DONE);
	assert_string_equal(f->job.err_code, "forbidden");
	assert_int_equal(f->job.err_http_status, 403);
	assert_non_null(strstr(f->job.err_msg, "customer:update"));

	/* The proxy's refusal is the operator's to fix: not retried. */
	set_change(f, CHANGE_CREATE, "K2", FULL);
	sync_start(&f->job);
	assert_int_equal(answer_etag(f, 407, "", NULL), SYNC_DONE);
	assert_string_equal(f->job.err_code, "proxy_unauthorized");
	assert_int_equal(f->job.err_http_status, 407);
	assert_non_null(strstr(f->job.err_msg, "target.proxy_user"));
}

static void test_api_rejection_keeps_message(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	assert_int_equal(
	    answer_etag(f, 400,
	                "{\"title\":\"Validation failed\","
	                "\"errors\":{\"CompanyNumber\":"
	                "[\"Placeholder values are not accepted\"]}}",
	                NULL),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "rejected");
	assert_int_equal(f->job.err_http_status, 400);
	assert_non_null(strstr(f->job.err_msg, "CompanyNumber: Placeholder"));
}

static void test_local_validation_makes_no_call(void **state)
{
	struct fx *f = *state;
	char name[260], cust[400];

	memset(name, 'n', 201);
	name[201] = '\0';
	snprintf(cust, sizeof(cust), "{\"name\":\"%s\",\"type\":\"customer\"}",
	         name);
	set_change(f, CHANGE_CREATE, "K1", cust);
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_string_equal(f->job.err_code, "validation");
	assert_int_equal(f->job.err_http_status, 0);
	assert_null(f->job.req.path);
	assert_non_null(strstr(f->job.err_msg, "Name"));

	set_change(f, CHANGE_CREATE, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_non_null(strstr(f->job.err_msg, "Type is required"));

	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":null}");
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_string_equal(f->job.err_code, "validation");

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"number\":\"123456789012345678901234567890123\"}");
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_non_null(strstr(f->job.err_msg, "CompanyNumber"));
}

static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : 1;

		if (*p >= 0x80 && *p < 0xC0)
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

/* A long API message is cut on a character boundary. */
static void test_long_message_stays_utf8(void **state)
{
	struct fx *f = *state;
	char body[2048] = "{\"detail\":\"";

	for (int i = 0; i < 400; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}");
	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	assert_int_equal(answer_etag(f, 422, body, NULL), SYNC_DONE);
	assert_true(strlen(f->job.err_msg) > 300);
	assert_true(valid_utf8(f->job.err_msg));
}

static void test_skip(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_SKIP, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_SKIPPED);
	assert_int_equal(f->job.action, SYNC_ACTION_NONE);
}

static void test_state_name_fallback_and_clear(void **state)
{
	struct fx *f = *state;
	cJSON *b, *addr;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"billing_address\":{\"state\":\"Ohio\","
	           "\"city\":null}}");
	cache_put(f->cache, "K1", "c-1", "\"e1\"",
	          cJSON_Parse("{\"Name\":\"A\",\"Type\":\"Customer\","
	                      "\"BillingAddress\":{\"City\":\"X\","
	                      "\"Zip\":\"1\"}}"));
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	b = req_body(f);
	addr = cJSON_GetObjectItemCaseSensitive(b, "BillingAddress");
	assert_string_equal(str_of(addr, "State"), "Ohio");
	assert_true(
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(addr, "City")));
	assert_null(cJSON_GetObjectItemCaseSensitive(addr, "Zip"));
	cJSON_Delete(b);
}

/* A 2xx create must name the new customer: an empty or blank id is no
 * id, and the outcome says the create may have happened. */
static void test_create_without_id_is_invalid_response(void **state)
{
	static const char *const bodies[] = {
	    "{\"Id\":\"\",\"Name\":\"Acme\",\"Type\":\"Customer\"}",
	    "{\"Id\":\"  \",\"Name\":\"Acme\",\"Type\":\"Customer\"}",
	    "{\"Name\":\"Acme\",\"Type\":\"Customer\"}",
	    "{\"Id\":null}",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		set_change(f, CHANGE_CREATE, "K1", FULL);
		assert_int_equal(sync_start(&f->job), SYNC_SEND);
		assert_int_equal(
		    answer_etag(f, i % 2 ? 200 : 201, bodies[i], "\"e1\""),
		    SYNC_DONE);
		assert_int_equal(f->job.status, SYNC_FAILED);
		assert_string_equal(f->job.err_code, "invalid_response");
		assert_int_equal(f->job.err_http_status, i % 2 ? 200 : 201);
		assert_null(f->job.target_id);
		assert_non_null(
		    strstr(f->job.err_msg, "POST create: HTTP 20"));
		assert_non_null(strstr(f->job.err_msg,
		                       "the create may have been applied: "
		                       "check the target for key 'K1'"));
		assert_int_equal(cache_size(f->cache), 0);
	}
}

/* An update's answer without an id still wrote the record we know. */
static void test_update_empty_id_keeps_known_id(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	cache_put(f->cache, "K1", "c-1", "\"e1\"",
	          cJSON_Parse("{\"Name\":\"A\",\"Type\":\"Customer\"}"));
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PATCH);
	assert_int_equal(answer_etag(f, 200,
	                             "{\"Id\":\"\",\"Name\":\"A\","
	                             "\"Type\":\"Customer\",\"Fax\":\"1\"}",
	                             "\"e2\""),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_string_equal(f->job.target_id, "c-1");
}

/* A look-up that names an empty id is not a customer to read or write:
 * "/customers/" would be the collection. */
static void test_lookup_empty_id_is_invalid_response(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200,
	                        "{\"Items\":[{\"Id\":\"\"}],"
	                        "\"Total\":1}"),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_null(f->job.target_id);
	assert_non_null(strstr(f->job.err_msg, "empty customer id"));
}

static enum sync_next answer_truncated(struct fx *f, long status,
                                       const char *body, const char *etag)
{
	struct api_response r = resp_etag(status, body, etag);

	r.truncated = 1;
	return sync_on_response(&f->job, &r);
}

/* A 2xx cut at target.max_response_bytes: a write it answers may have
 * happened, so the outcome says so (and where to look) instead of
 * taking the cut body as done or calling it unreadable. */
static void test_truncated_write_may_have_been_applied(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	/* Even a cut that leaves readable JSON is not read. */
	assert_int_equal(answer_truncated(f, 201, EXISTING, "\"e1\""),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_int_equal(f->job.action, SYNC_ACTION_NONE);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_int_equal(f->job.err_http_status, 201);
	assert_string_equal(f->job.err_msg,
	                    "POST create: HTTP 201: the answer exceeded the "
	                    "response size cap (target.max_response_bytes); "
	                    "the create may have been applied: check the "
	                    "target for key 'K1'");
	assert_int_equal(cache_size(f->cache), 0);

	/* An update names the customer; the cached record is forgotten. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	cache_put(f->cache, "K1", "c-1", "\"e1\"",
	          cJSON_Parse("{\"Name\":\"A\",\"Type\":\"Customer\"}"));
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(
	    answer_truncated(f, 200, "{\"Id\":\"c-1\",\"Na", "\"e2\""),
	    SYNC_DONE);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_non_null(strstr(f->job.err_msg, "PATCH update: HTTP 200: "
	                                       "the answer exceeded the "
	                                       "response size cap"));
	assert_non_null(strstr(f->job.err_msg,
	                       "the update may have been applied: check "
	                       "customer 'c-1'"));
	assert_int_equal(cache_size(f->cache), 0);

	/* A delete too, though it reads no body. */
	set_change(f, CHANGE_DELETE, "K1", NULL);
	cache_put(f->cache, "K1", "c-1", "\"e1\"",
	          cJSON_Parse("{\"Name\":\"A\",\"Type\":\"Customer\"}"));
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_DELETE);
	assert_int_equal(answer_truncated(f, 200, "{\"Id\"", NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_non_null(
	    strstr(f->job.err_msg, "the delete may have been applied"));
}

/* A cut read wrote nothing, and says so. */
static void test_truncated_read_wrote_nothing(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer_truncated(f, 200, "{\"Items\":[", NULL),
	                 SYNC_DONE);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_string_equal(f->job.err_msg,
	                    "POST lookup: HTTP 200: the answer exceeded the "
	                    "response size cap (target.max_response_bytes); "
	                    "nothing was written");
	/* A cut error answer is an error all the same. */
	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer_truncated(f, 400, "{\"detail\":\"x", NULL),
	                 SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
	    T(test_create_maps_and_posts),
	    T(test_etag_with_control_characters),
	    T(test_create_conflict_matching_sends_no_patch),
	    T(test_create_conflict_patches_only_difference),
	    T(test_update_stale_etag_rereads),
	    T(test_update_missing_if_match_rereads),
	    T(test_update_unknown_key_fails_not_found),
	    T(test_upsert_unknown_key_creates),
	    T(test_upsert_found_unchanged),
	    T(test_empty_list_equals_absent),
	    T(test_cached_noop_is_confirmed_by_read),
	    T(test_delete_soft),
	    T(test_delete_inactive_or_unknown_unchanged),
	    T(test_retry_classes),
	    T(test_retry_reasons),
	    T(test_max_attempts),
	    T(test_auth_errors),
	    T(test_api_rejection_keeps_message),
	    T(test_local_validation_makes_no_call),
	    T(test_long_message_stays_utf8),
	    T(test_skip),
	    T(test_state_name_fallback_and_clear),
	    T(test_create_without_id_is_invalid_response),
	    T(test_update_empty_id_keeps_known_id),
	    T(test_lookup_empty_id_is_invalid_response),
	    T(test_truncated_write_may_have_been_applied),
	    T(test_truncated_read_wrote_nothing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
