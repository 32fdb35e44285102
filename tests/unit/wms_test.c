/* The wms profile (worker/profiles/wms.c): mapping, validation, requests
 * and responses of the WMS Customer API, and sync.c driven through it
 * with the answers the reference server gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/cache.h"
#include "config/config.h"
#include "core/event.h"
#include "profiles/profile.h"
#include "core/request.h"
#include "core/sync.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_fixture.h"

static int setup(void **state)
{
	return fx_setup(state, "wms");
}

static void expect_req(struct fx *f, enum http_method m, const char *path)
{
	assert_int_equal(f->job.req.method, m);
	assert_string_equal(f->job.req.path, path);
	assert_null(f->job.req.if_match);
}

#define FULL                                                                  \
	"{\"name\":\"Acme\",\"type\":\"customer\",\"number\":\"N-1\","        \
	"\"status\":\"active\",\"email\":[\"a@x.test\",\"b@x.test\"],"        \
	"\"phone\":[\"555-1\",\"555-2\"],\"fax\":\"555-9\","                  \
	"\"contact\":{\"first_name\":\"Jane\",\"last_name\":\"Smith\"},"      \
	"\"billing_address\":{\"street\":[\"1 Main\",\"Suite 2\","            \
	"\"Floor 3\"],\"city\":\"Town\",\"state\":\"Illinois\","              \
	"\"state_code\":\"IL\",\"postal_code\":\"62701\","                    \
	"\"country\":\"United States\",\"country_code\":\"US\"}}"

/* What the API answers for FULL under shortID K1. */
#define RECORD(active)                                                        \
	"{\"shortID\":\"K1\",\"name\":\"Acme\",\"address1\":\"1 Main\","      \
	"\"address2\":\"Suite 2, Floor 3\",\"city\":\"Town\","                \
	"\"state\":\"IL\",\"zip\":\"62701\",\"country\":\"US\","              \
	"\"phone\":\"555-1\",\"fax\":\"555-9\",\"email\":\"a@x.test\","       \
	"\"contact\":\"Jane Smith\",\"active\":" active ","                   \
	"\"created\":\"2023-04-15T08:30:00\","                                \
	"\"modified\":\"2024-11-02T14:22:00\"}"

/* ---- mapping ------------------------------------------------------------ */

static void test_create_looks_up_then_posts_every_field(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_req(f, HTTP_GET, "/Customer/K1");
	assert_null(f->job.req.body);
	assert_string_equal(f->job.req.scope,
	                    "SecurityID 130 (Customers List)");

	assert_int_equal(answer(f, 404, "{\"message\":\"no\"}"), SYNC_SEND);
	expect_req(f, HTTP_POST, "/Customer");
	assert_string_equal(f->job.req.content_type, "application/json");
	assert_string_equal(f->job.req.scope,
	                    "SecurityID 131 (Create/Modify Customer)");
	b = req_body(f);
	/* shortID comes first, as in the document's example. */
	assert_string_equal(b->child->string, "shortID");
	assert_string_equal(str_of(b, "shortID"), "K1");
	assert_string_equal(str_of(b, "name"), "Acme");
	assert_string_equal(str_of(b, "address1"), "1 Main");
	assert_string_equal(str_of(b, "address2"), "Suite 2, Floor 3");
	assert_string_equal(str_of(b, "city"), "Town");
	assert_string_equal(str_of(b, "state"), "IL");
	assert_string_equal(str_of(b, "zip"), "62701");
	assert_string_equal(str_of(b, "country"), "US");
	assert_string_equal(str_of(b, "phone"), "555-1");
	assert_string_equal(str_of(b, "fax"), "555-9");
	assert_string_equal(str_of(b, "email"), "a@x.test");
	assert_string_equal(str_of(b, "contact"), "Jane Smith");
	assert_int_equal(cJSON_GetArraySize(b), 12);
	assert_false(cJSON_HasObjectItem(b, "active"));
	assert_false(cJSON_HasObjectItem(b, "type"));
	assert_false(cJSON_HasObjectItem(b, "number"));
	cJSON_Delete(b);

	assert_int_equal(answer(f, 200, RECORD("true")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_CREATE);
	assert_string_equal(f->job.target_id, "K1");
	assert_null(f->job.etag);
}

static void test_map_fallbacks(void **state)
{
	struct fx *f = *state;
	cJSON *out = NULL, *b;
	struct profile_error err;

	/* contact.name wins; a lone last name; state name without a code;
	 * country without a code is left out; one street line. */
	set_change(f, CHANGE_UPSERT, "K1",
	           "{\"contact\":{\"name\":\"Boss\",\"first_name\":\"X\"},"
	           "\"email\":\"one@x.test\",\"phone\":[],"
	           "\"billing_address\":{\"street\":[\"Only\"],"
	           "\"state\":\"Illinois\",\"country\":\"France\"}}");
	assert_int_equal(f->p->map(&f->cfg, &f->ch, &out, &err), 0);
	assert_string_equal(str_of(out, "contact"), "Boss");
	assert_string_equal(str_of(out, "email"), "one@x.test");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(out, "phone")));
	assert_string_equal(str_of(out, "address1"), "Only");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(out, "address2")));
	assert_string_equal(str_of(out, "state"), "Illinois");
	assert_false(cJSON_HasObjectItem(out, "country"));
	assert_false(cJSON_HasObjectItem(out, "city"));
	assert_false(cJSON_HasObjectItem(out, "active"));
	cJSON_Delete(out);

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"contact\":{\"last_name\":\"Smith\"},"
	           "\"billing_address\":null,\"status\":\"inactive\"}");
	assert_int_equal(f->p->map(&f->cfg, &f->ch, &out, &err), 0);
	assert_string_equal(str_of(out, "contact"), "Smith");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(out, "address1")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(out, "zip")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(out, "country")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(out, "active")));
	cJSON_Delete(out);

	/* contact null clears; name only, nothing else touched. */
	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"contact\":null,\"name\":\"N\"}");
	assert_int_equal(f->p->map(&f->cfg, &f->ch, &out, &err), 0);
	b = out;
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "contact")));
	assert_int_equal(cJSON_GetArraySize(b), 2);
	cJSON_Delete(b);
}

static void test_short_id_number(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	f->cfg.target.short_id = SHORT_ID_NUMBER;
	set_change(f, CHANGE_UPSERT, "ERP-9",
	           "{\"number\":\"N 1/2\",\"name\":\"Acme\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	/* Percent-encoded: a slash must not split the path. */
	expect_req(f, HTTP_GET, "/Customer/N%201%2F2");
	assert_int_equal(answer(f, 404, NULL), SYNC_SEND);
	expect_req(f, HTTP_POST, "/Customer");
	b = req_body(f);
	assert_string_equal(str_of(b, "shortID"), "N 1/2");
	assert_false(cJSON_HasObjectItem(b, "number"));
	cJSON_Delete(b);
	assert_int_equal(
	    answer(f, 201,
	           "{\"shortID\":\"N 1/2\",\"name\":\"Acme\",\"active\":"
	           "true}"),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_string_equal(f->job.target_id, "N 1/2");

	/* An update without number cannot name the customer. */
	set_change(f, CHANGE_UPDATE, "ERP-10", "{\"name\":\"X\"}");
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "missing_short_id");
	assert_non_null(strstr(f->job.err_msg, "customer.number"));
	assert_int_equal(f->job.attempts, 0);

	/* A delete finds the shortID in the cache of the earlier event. */
	set_change(f, CHANGE_DELETE, "ERP-9", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_req(f, HTTP_GET, "/Customer/N%201%2F2");
}

static void test_reserved_short_id(void **state)
{
	struct fx *f = *state;
	const char *page1 =
	    "{\"value\":[{\"shortID\":\"ACME\",\"active\":true}],"
	    "\"totalCount\":2,\"page\":1,\"pageSize\":1,\"pageCount\":2,"
	    "\"hasMore\":true}";
	const char *page2 =
	    "{\"value\":[{\"shortID\":\"All\",\"name\":\"A\","
	    "\"active\":true}],\"totalCount\":2,\"page\":2,"
	    "\"pageSize\":1,\"pageCount\":2,\"hasMore\":false}";

	set_change(f, CHANGE_UPSERT, "all", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "reserved_short_id");
	assert_non_null(strstr(f->job.err_msg, "GET /Customer/All"));

	/* A delete pages the list instead of colliding with it. */
	set_change(f, CHANGE_DELETE, "All", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_req(f, HTTP_GET, "/Customer/All?page=1&pageSize=100");
	assert_int_equal(answer(f, 200, page1), SYNC_SEND);
	expect_req(f, HTTP_GET, "/Customer/All?page=2&pageSize=100");
	assert_int_equal(answer(f, 200, page2), SYNC_SEND);
	expect_req(f, HTTP_DELETE, "/Customer/All");
	assert_int_equal(answer(f, 204, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_DELETE);

	/* Not on the last page: nothing to delete. */
	cache_drop(f->cache, "All");
	set_change(f, CHANGE_DELETE, "All", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(
	    answer(f, 200,
	           "{\"value\":[],\"totalCount\":0,\"page\":1,"
	           "\"pageSize\":100,\"pageCount\":0,\"hasMore\":false}"),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

/* A page number that is no page ends the list: 9e97 was once cast to
 * long (undefined; UBSan: outside the range of representable values). */
static void test_list_page_out_of_range(void **state)
{
	static const char *const bodies[] = {
	    "{\"value\":[],\"page\":9e97}",
	    "{\"value\":[],\"page\":9e97,\"hasMore\":true}",
	    "{\"value\":[],\"page\":-9e97,\"hasMore\":true}",
	    "{\"value\":[],\"page\":1e19,\"hasMore\":true}",
	    "{\"value\":[],\"page\":1e999,\"hasMore\":true}",
	    "{\"value\":[],\"page\":-1e999,\"hasMore\":true}",
	    "{\"value\":[],\"page\":1.5,\"hasMore\":true}",
	    "{\"value\":[],\"page\":0,\"hasMore\":true}",
	    "{\"value\":[],\"page\":100000,\"hasMore\":true}",
	    "{\"value\":[],\"page\":\"2\",\"hasMore\":true}",
	    "{\"value\":[],\"hasMore\":true}",
	};
	struct fx *f = *state;
	struct api_request req;
	struct api_response r;

	set_change(f, CHANGE_DELETE, "All", NULL);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		memset(&req, 0, sizeof(req));
		r = resp(200, bodies[i]);
		assert_int_equal(f->p->lookup_next(&f->cfg, &f->ch, &r, &req),
		                 -ENOENT);
		assert_null(req.path);
	}
	/* The last page there is. */
	r = resp(200, "{\"value\":[],\"page\":99999,\"hasMore\":true}");
	assert_int_equal(f->p->lookup_next(&f->cfg, &f->ch, &r, &req), 0);
	assert_string_equal(req.path,
	                    "/Customer/All?page=100000&pageSize=100");
	api_request_done(&req);

	/* Through sync: the look-up ends, the delete finds nothing. */
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(
	    answer(f, 200, "{\"value\":[],\"page\":9e97,\"hasMore\":true}"),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

/* ---- flow --------------------------------------------------------------- */

static void test_update_merges_and_posts_whole_record(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"name\":\"Acme 2\",\"fax\":null}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_req(f, HTTP_GET, "/Customer/K1");
	assert_int_equal(answer(f, 200, RECORD("true")), SYNC_SEND);
	expect_req(f, HTTP_POST, "/Customer");
	b = req_body(f);
	assert_string_equal(str_of(b, "shortID"), "K1");
	assert_string_equal(str_of(b, "name"), "Acme 2");
	/* A clear is sent as "" (omitted might mean "keep"). */
	assert_string_equal(str_of(b, "fax"), "");
	/* Everything else is resent as read. */
	assert_string_equal(str_of(b, "address1"), "1 Main");
	assert_string_equal(str_of(b, "address2"), "Suite 2, Floor 3");
	assert_string_equal(str_of(b, "email"), "a@x.test");
	assert_string_equal(str_of(b, "contact"), "Jane Smith");
	assert_string_equal(str_of(b, "country"), "US");
	assert_false(cJSON_HasObjectItem(b, "active"));
	assert_false(cJSON_HasObjectItem(b, "created"));
	assert_false(cJSON_HasObjectItem(b, "modified"));
	assert_int_equal(cJSON_GetArraySize(b), 12);
	cJSON_Delete(b);
	assert_int_equal(answer(f, 200, RECORD("true")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_UPDATE);
	assert_string_equal(f->job.target_id, "K1");

	/* The key is cached: the next event reads by id at once (no ETag,
	 * so never a write from the cache alone). */
	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"Acme\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_req(f, HTTP_GET, "/Customer/K1");
	assert_int_equal(f->job.step, SYNC_STEP_GET);
}

static void test_unchanged_ignores_server_fields(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("true")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	assert_int_equal(f->job.action, SYNC_ACTION_NONE);

	/* "" on the server equals a cleared (null) field. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":null}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(
	    answer(f, 200,
	           "{\"shortID\":\"K1\",\"fax\":\"\",\"active\":true}"),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

static void test_update_unknown_is_not_found(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "not_found");
	assert_int_equal(f->job.err_http_status, 404);
}

static void test_delete(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_req(f, HTTP_GET, "/Customer/K1");
	assert_int_equal(answer(f, 200, RECORD("true")), SYNC_SEND);
	expect_req(f, HTTP_DELETE, "/Customer/K1");
	assert_null(f->job.req.body);
	assert_string_equal(f->job.req.scope,
	                    "SecurityID 131 (Create/Modify Customer)");
	assert_int_equal(answer(f, 204, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_DELETE);

	/* Discontinued already, or unknown: nothing to do. */
	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("false")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	set_change(f, CHANGE_DELETE, "K2", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

static void test_reactivation_refused(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	/* status active on a discontinued customer, nothing else. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"status\":\"active\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("false")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "cannot_reactivate");
	assert_non_null(strstr(f->job.err_msg, "discontinued"));
	assert_int_equal(f->job.err_http_status, 0);

	/* A create (re-create after a delete) with other fields. */
	set_change(f, CHANGE_CREATE, "K1", "{\"name\":\"New\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("false")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "cannot_reactivate");

	/* ... but with the same fields it is a replay: unchanged. */
	set_change(f, CHANGE_UPSERT, "K1", "{\"name\":\"Acme\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("false")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);

	/* An update of other fields keeps it discontinued: POSTed. */
	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"billing_address\":{\"city\":\"Rome\"}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("false")), SYNC_SEND);
	expect_req(f, HTTP_POST, "/Customer");
	b = req_body(f);
	assert_string_equal(str_of(b, "city"), "Rome");
	assert_false(cJSON_HasObjectItem(b, "active"));
	cJSON_Delete(b);

	/* An upsert that says inactive may edit a discontinued one. */
	set_change(f, CHANGE_UPSERT, "K1",
	           "{\"name\":\"Z\",\"status\":\"inactive\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("false")), SYNC_SEND);
	expect_req(f, HTTP_POST, "/Customer");
}

static void test_status_inactive(void **state)
{
	struct fx *f = *state;

	/* Only the status differs: DELETE discontinues. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"status\":\"inactive\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("true")), SYNC_SEND);
	expect_req(f, HTTP_DELETE, "/Customer/K1");
	assert_int_equal(answer(f, 204, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_UPDATE);

	/* Status and fields: two writes; refused, nothing sent. */
	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"status\":\"inactive\",\"name\":\"B\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("true")), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "discontinue_with_changes");

	/* A new customer cannot be created discontinued. */
	set_change(f, CHANGE_UPSERT, "K9",
	           "{\"name\":\"B\",\"status\":\"inactive\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "cannot_create_discontinued");
	assert_non_null(strstr(f->job.err_msg, "discontinued"));

	/* A create is refused before any call, with the profile's code. */
	set_change(f, CHANGE_CREATE, "K9",
	           "{\"name\":\"B\",\"status\":\"inactive\"}");
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "cannot_create_discontinued");
	assert_non_null(strstr(f->job.err_msg, "discontinued"));
}

static void test_error_envelope(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K1", "{\"email\":[\"nope\"]}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, NULL), SYNC_SEND);
	assert_int_equal(
	    answer(f, 400,
	           "{\"code\":\"invalid_email\",\"message\":\"email "
	           "'nope' is not an email address\"}"),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "invalid_email");
	assert_int_equal(f->job.err_http_status, 400);
	assert_non_null(strstr(f->job.err_msg, "POST create: HTTP 400: "
	                                       "invalid_email: email 'nope'"));

	/* An unknown code or a foreign body: custsync's code, the words. */
	set_change(f, CHANGE_UPSERT, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 422, "{\"Message\":\"locked\"}"),
	                 SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
	assert_non_null(strstr(f->job.err_msg, "HTTP 422: locked"));

	set_change(f, CHANGE_UPSERT, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 400, "plain words"), SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
	assert_non_null(strstr(f->job.err_msg, "plain words"));
}

static void test_forbidden_names_security_id(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, NULL), SYNC_SEND);
	assert_int_equal(answer(f, 403, "{\"message\":\"no\"}"), SYNC_DONE);
	assert_string_equal(f->job.err_code, "forbidden");
	assert_non_null(strstr(f->job.err_msg, "SecurityID 131"));
}

static void test_retry_after_holds(void **state)
{
	struct fx *f = *state;
	struct api_response r = resp(503, "{\"message\":\"busy\"}");

	set_change(f, CHANGE_UPSERT, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	r.retry_after_s = 2;
	assert_int_equal(sync_on_response(&f->job, &r), SYNC_HOLD);
	assert_int_equal(f->job.retry_after_s, 2);
	expect_req(f, HTTP_GET, "/Customer/K1");
}

/* ---- response parsing --------------------------------------------------- */

static void test_responses(void **state)
{
	struct fx *f = *state;
	struct api_response r = resp(200, RECORD("true"));
	cJSON *doc = cJSON_Parse(RECORD("false")), *proj, *rec;
	cJSON *list = cJSON_Parse("{\"value\":[],\"hasMore\":false}");
	char *id, *etag;
	const char *code = "rejected";
	char buf[128];
	struct profile_error err;

	assert_ptr_equal(f->p->record_of(doc), doc);
	assert_null(f->p->record_of(list));
	proj = f->p->project(doc);
	assert_false(cJSON_HasObjectItem(proj, "created"));
	assert_false(cJSON_HasObjectItem(proj, "modified"));
	assert_false(cJSON_HasObjectItem(proj, "shortID"));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(proj, "active")));
	assert_int_equal(cJSON_GetArraySize(proj), 12);
	assert_true(f->p->is_deleted(&f->cfg, doc));
	cJSON_Delete(proj);

	assert_int_equal(f->p->write_result(&r, &id, &etag, &rec), 0);
	assert_string_equal(id, "K1");
	assert_null(etag);
	assert_string_equal(str_of(rec, "name"), "Acme");
	free(id);
	cJSON_Delete(rec);
	r = resp(200, "{\"no\":1}");
	assert_int_equal(f->p->write_result(&r, &id, &etag, &rec), -EINVAL);
	r = resp(200, "");
	assert_int_equal(f->p->write_result(&r, &id, &etag, &rec), -EINVAL);

	r = resp(409, "{\"message\":\"dup\"}");
	assert_int_equal(f->p->conflict(&r, (char **)&id, &etag), 0);

	r = resp(400, "{\"code\":\"short_id_required\",\"message\":\"m\"}");
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(code, "short_id_required");
	assert_string_equal(buf, "short_id_required: m");

	memset(&err, 0, sizeof(err));
	assert_int_equal(f->p->validate(doc, false, &err), 0);
	assert_int_equal(f->p->validate(doc, true, &err), -EINVAL);
	cJSON_Delete(doc);
	cJSON_Delete(list);
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

static void message_of(struct fx *f, long status, const char *body, char *buf,
                       size_t len, const char **code)
{
	struct api_response r = resp(status, body);

	*code = "rejected";
	f->p->error_message(&r, code, buf, len);
}

/* RFC 9457 / 7807 problem documents: title and detail, then the field
 * errors in the shapes APIs use for them. */
static void test_problem_document(void **state)
{
	struct fx *f = *state;
	const char *code;
	char buf[400];

	message_of(f, 405,
	           "{\"type\":\"about:blank\",\"title\":\"Method Not "
	           "Allowed\",\"status\":405,\"detail\":\"POST is not "
	           "allowed on /Customer/K1\",\"instance\":\"/Customer/K1\"}",
	           buf, sizeof(buf), &code);
	assert_string_equal(buf, "Method Not Allowed: POST is not allowed on "
	                         "/Customer/K1");
	assert_string_equal(code, "rejected");

	/* ASP.NET Core's ValidationProblemDetails. */
	message_of(f, 400,
	           "{\"type\":\"https://tools.ietf.org/html/rfc9110#section-"
	           "15.5.1\",\"title\":\"One or more validation errors "
	           "occurred.\",\"status\":400,\"errors\":{\"Email\":[\"The "
	           "Email field is not a valid e-mail address.\",\"Too "
	           "long\"],\"Zip\":[\"Required\"],\"\":[\"Body "
	           "unreadable\"]},"
	           "\"traceId\":\"00-ab-cd-00\"}",
	           buf, sizeof(buf), &code);
	assert_string_equal(buf, "One or more validation errors occurred.; "
	                         "Email: The Email field is not a valid "
	                         "e-mail address., Too long; Zip: Required; "
	                         "Body unreadable");

	/* RFC 9457's errors array, and plain {field, message} items. */
	message_of(f, 422,
	           "{\"title\":\"Invalid\",\"detail\":\"2 problems\","
	           "\"errors\":[{\"detail\":\"must be a positive integer\","
	           "\"pointer\":\"#/zip\"},{\"field\":\"email\",\"message\":"
	           "\"taken\"},\"free text\",{\"code\":7}]}",
	           buf, sizeof(buf), &code);
	assert_string_equal(buf, "Invalid: 2 problems; #/zip: must be a "
	                         "positive integer; email: taken; free text");

	/* RFC 7807's invalid-params; detail alone; detail equal to title. */
	message_of(f, 400,
	           "{\"title\":\"Bad\",\"invalid-params\":[{\"name\":\"zip\","
	           "\"reason\":\"too short\"}]}",
	           buf, sizeof(buf), &code);
	assert_string_equal(buf, "Bad; zip: too short");
	message_of(f, 409, "{\"detail\":\"locked by an import\"}", buf,
	           sizeof(buf), &code);
	assert_string_equal(buf, "locked by an import");
	message_of(f, 400, "{\"title\":\"Bad\",\"detail\":\"Bad\"}", buf,
	           sizeof(buf), &code);
	assert_string_equal(buf, "Bad");

	/* The reference server's envelope, and others', are kept. */
	message_of(f, 400,
	           "{\"code\":\"invalid_field\",\"message\":\"name must be a "
	           "string\"}",
	           buf, sizeof(buf), &code);
	assert_string_equal(buf, "invalid_field: name must be a string");
	assert_string_equal(code, "invalid_field");
	message_of(f, 400,
	           "{\"message\":\"The given data was invalid.\",\"errors\":"
	           "{\"email\":[\"The email must be valid.\"]}}",
	           buf, sizeof(buf), &code);
	assert_string_equal(buf, "The given data was invalid.; email: The "
	                         "email must be valid.");
	message_of(f, 400,
	           "{\"error\":{\"code\":\"BadArgument\","
	           "\"message\":\"zip\"}}",
	           buf, sizeof(buf), &code);
	assert_string_equal(buf, "BadArgument: zip");
	assert_string_equal(code, "rejected");
	message_of(f, 400, "{\"error\":\"nope\"}", buf, sizeof(buf), &code);
	assert_string_equal(buf, "nope");
	message_of(f, 502, "", buf, sizeof(buf), &code);
	assert_string_equal(buf, "");
}

/* Bounded, cut on a character boundary, one line. */
static void test_problem_document_bounded(void **state)
{
	struct fx *f = *state;
	char body[4096] = "{\"title\":\"T\\n1\",\"detail\":\"";
	const char *code;
	char buf[400], small[61];

	for (int i = 0; i < 300; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\",\"errors\":{\"zip\":[\"required\"]}}");
	message_of(f, 400, body, buf, sizeof(buf), &code);
	assert_true(valid_utf8(buf));
	assert_null(strchr(buf, '\n'));
	/* The long detail is cut, so the field errors still show. */
	assert_non_null(strstr(buf, "T 1: \xc3\xa9"));
	assert_non_null(strstr(buf, "\xc3\xa9; zip: required"));
	assert_true(strlen(buf) < 260);

	for (size_t i = 1; i <= sizeof(small); i++) {
		message_of(f, 400, body, small, i, &code);
		assert_true(strlen(small) < i);
		assert_true(valid_utf8(small));
	}
}

/* Through sync: the outcome's message carries detail and errors. */
static void test_problem_document_in_outcome(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, NULL), SYNC_SEND);
	assert_int_equal(
	    answer(f, 400,
	           "{\"title\":\"One or more validation errors occurred.\","
	           "\"status\":400,\"detail\":\"See errors\",\"errors\":{"
	           "\"zip\":[\"Required\",\"Numeric\"]}}"),
	    SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
	assert_string_equal(f->job.err_msg,
	                    "POST create: HTTP 400: One or more validation "
	                    "errors occurred.: See errors; zip: Required, "
	                    "Numeric");
}

/* An empty shortID is no id: a create answered with one may have
 * happened, a look-up answered with one names nothing to write, and
 * neither is kept in the cache. */
static void test_empty_short_id(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", "{\"name\":\"A\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, NULL), SYNC_SEND);
	expect_req(f, HTTP_POST, "/Customer");
	assert_int_equal(answer(f, 200, "{\"shortID\":\"\",\"name\":\"A\"}"),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_null(f->job.target_id);
	assert_non_null(strstr(f->job.err_msg, "may have been applied"));

	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"B\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, "{\"shortID\":\"\",\"name\":\"A\"}"),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_string_equal(f->job.err_msg, "GET lookup: HTTP 200 named an "
	                                    "empty customer id for key 'K1'");
	assert_null(f->job.target_id);
	assert_int_equal(cache_size(f->cache), 0);
}

int main(void)
{
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_create_looks_up_then_posts_every_field),
	    T(test_map_fallbacks),
	    T(test_short_id_number),
	    T(test_reserved_short_id),
	    T(test_list_page_out_of_range),
	    T(test_update_merges_and_posts_whole_record),
	    T(test_unchanged_ignores_server_fields),
	    T(test_update_unknown_is_not_found),
	    T(test_delete),
	    T(test_reactivation_refused),
	    T(test_status_inactive),
	    T(test_error_envelope),
	    T(test_forbidden_names_security_id),
	    T(test_retry_after_holds),
	    T(test_responses),
	    T(test_problem_document),
	    T(test_problem_document_bounded),
	    T(test_problem_document_in_outcome),
	    T(test_empty_short_id),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
