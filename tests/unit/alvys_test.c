/* profiles/alvys.c driven through sync.c (seed 000): what sync_test.c,
 * which walks the flow with alvys, leaves out. Every canonical field's
 * mapping, the field rules checked before any call, the search request,
 * the record kept in the cache, a 409 without customerId, a 412 on
 * delete, is_deleted, the problem-document messages, and the owner check
 * on a record a 409 or a look-up names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync_fixture.h"

static int setup(void **state)
{
	return fx_setup(state, "alvys");
}

/* A CustomerResponse of the document, read-only fields included. */
#define RECORD(ext)                                                           \
	"{\"Id\":\"c-1\",\"Name\":\"Acme\",\"Type\":\"Customer\","            \
	"\"CompanyNumber\":\"A-1\",\"Status\":\"Active\","                    \
	"\"Email\":[\"a@x.test\"],\"Phone\":[],\"Fax\":null,"                 \
	"\"ExternalId\":" ext ",\"BillingAddress\":{\"Street\":\"1 Main\","   \
	"\"City\":\"Town\",\"State\":\"NY\",\"Zip\":\"10001\","               \
	"\"Country\":\"US\"},\"SalesAgentId\":\"s-1\",\"Contacts\":[],"       \
	"\"Notes\":\"n\",\"DateCreated\":\"2024-01-01\"}"

static void expect_json(const cJSON *got, const char *want)
{
	cJSON *w = cJSON_Parse(want);
	char *g;

	assert_non_null(w);
	if (!cJSON_Compare(got, w, 1)) {
		g = cJSON_PrintUnformatted(got);
		fail_msg("got %s\nwant %s", g ? g : "(null)", want);
	}
	cJSON_Delete(w);
}

static void expect_body(struct fx *f, const char *want)
{
	cJSON *b = req_body(f);

	expect_json(b, want);
	cJSON_Delete(b);
}

static void expect_request(struct fx *f, enum http_method m, const char *path,
                           const char *if_match)
{
	assert_int_equal(f->job.req.method, m);
	assert_string_equal(f->job.req.path, path);
	if (if_match)
		assert_string_equal(f->job.req.if_match, if_match);
	else
		assert_null(f->job.req.if_match);
}

static void cache_record(struct fx *f, const char *key, const char *etag,
                         const char *record)
{
	cJSON *r = cJSON_Parse(record);

	assert_non_null(r);
	assert_int_equal(cache_put(f->cache, key, "c-1", etag, r), 0);
}

/* ---- mapping ---- */

/* Every canonical field on create: enums to the API's words, lists kept,
 * street lines joined, the state code before the name, and the ERP's own
 * external id instead of the key. */
static void test_map_every_field(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"customer\","
	           "\"number\":\"A-1\",\"status\":\"inactive\","
	           "\"email\":[\"a@x.test\",\"b@x.test\"],"
	           "\"phone\":[\"555-1\",\"555-2\"],\"fax\":\"555-9\","
	           "\"external_id\":\"ERP-7\",\"billing_address\":{"
	           "\"street\":[\"1 Main\",\"Suite 2\",\"Floor 3\"],"
	           "\"city\":\"Town\",\"state\":\"New York\","
	           "\"state_code\":\"NY\",\"postal_code\":\"10001\","
	           "\"country\":\"US\"}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_request(f, HTTP_POST, "/customers", NULL);
	assert_string_equal(f->job.req.scope, "customer:create");
	expect_body(f, "{\"Name\":\"Acme\",\"Type\":\"Customer\","
	               "\"CompanyNumber\":\"A-1\",\"Status\":\"Inactive\","
	               "\"Email\":[\"a@x.test\",\"b@x.test\"],"
	               "\"Phone\":[\"555-1\",\"555-2\"],\"Fax\":\"555-9\","
	               "\"ExternalId\":\"ERP-7\",\"BillingAddress\":{"
	               "\"Street\":\"1 Main, Suite 2, Floor 3\","
	               "\"City\":\"Town\",\"State\":\"NY\","
	               "\"Zip\":\"10001\"}}");
}

/* Only what the event names is sent; the key stands in for a missing or
 * null external id. */
static void test_map_partial_create(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"broker\","
	           "\"external_id\":null,\"billing_address\":{"
	           "\"city\":\"Town\"}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_body(f, "{\"Name\":\"Acme\",\"Type\":\"Broker/3PL\","
	               "\"ExternalId\":\"K1\","
	               "\"BillingAddress\":{\"City\":\"Town\"}}");
}

/* On update, null and empty lists clear the field (null in the merge
 * patch); the key does not become an ExternalId. */
static void test_map_update_clears(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"type\":\"broker\",\"number\":null,\"fax\":null,"
	           "\"email\":[],\"phone\":null,\"billing_address\":null}");
	cache_record(f, "K1", "\"e1\"",
	             "{\"Name\":\"A\",\"Type\":\"Customer\","
	             "\"CompanyNumber\":\"N-1\",\"Fax\":\"1\","
	             "\"Email\":[\"a@x.test\"],\"Phone\":[\"2\"],"
	             "\"BillingAddress\":{\"City\":\"X\"}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_request(f, HTTP_PATCH, "/customers/c-1", "\"e1\"");
	assert_string_equal(f->job.req.scope, "customer:update");
	expect_body(f, "{\"Type\":\"Broker/3PL\",\"CompanyNumber\":null,"
	               "\"Fax\":null,\"Email\":null,\"Phone\":null,"
	               "\"BillingAddress\":null}");
}

/* ---- validation, before any call ---- */

static void expect_invalid(struct fx *f, enum change_op op,
                           const char *customer, const char *msg)
{
	set_change(f, op, "K1", customer);
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "validation");
	assert_null(f->job.req.path);
	if (!strstr(f->job.err_msg, msg))
		fail_msg("'%s' does not say '%s'", f->job.err_msg, msg);
}

static void expect_valid(struct fx *f, enum change_op op, const char *customer)
{
	set_change(f, op, "K1", customer);
	if (sync_start(&f->job) != SYNC_SEND)
		fail_msg("%s refused: %s", customer, f->job.err_msg);
}

/* s repeated n times, as a JSON string member named name. */
static void member_of(char *out, size_t len, const char *name, const char *s,
                      int n, const char *rest)
{
	size_t used = (size_t)snprintf(out, len, "{\"%s\":\"", name);

	for (int i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s", s);
	snprintf(out + used, len - used, "\"%s}", rest);
}

static void test_validation_required(void **state)
{
	struct fx *f = *state;

	expect_invalid(f, CHANGE_CREATE, "{\"type\":\"customer\"}",
	               "Name is required on create");
	expect_invalid(f, CHANGE_CREATE, "{\"name\":\"A\"}",
	               "Type is required on create");
	expect_invalid(f, CHANGE_UPDATE, "{\"type\":null}",
	               "Type is required and cannot be cleared");
	expect_invalid(f, CHANGE_UPDATE, "{\"status\":null}",
	               "Status is required and cannot be cleared");
	expect_invalid(f, CHANGE_CREATE,
	               "{\"name\":\" \\t\\r\\n\",\"type\":\"customer\"}",
	               "Name must not be blank");
	/* A partial update needs neither Name nor Type. */
	expect_valid(f, CHANGE_UPDATE, "{\"fax\":\"1\"}");
	/* Status may be absent on create. */
	expect_valid(f, CHANGE_CREATE, "{\"name\":\"A\",\"type\":\"broker\"}");
}

/* The API counts characters, not bytes: 200 two-byte characters are a
 * valid Name. */
static void test_validation_lengths(void **state)
{
	static const struct {
		const char *member, *field;
		int max;
	} limits[] = {
	    {"name", "Name", 200},
	    {"number", "CompanyNumber", 32},
	    {"external_id", "ExternalId", 100},
	};
	const char *rest = ",\"name\":\"A\",\"type\":\"customer\"";
	struct fx *f = *state;
	char cust[2048], msg[128];

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		const char *r = i == 0 ? ",\"type\":\"customer\"" : rest;

		member_of(cust, sizeof(cust), limits[i].member, "\xc3\xa9",
		          limits[i].max, r);
		expect_valid(f, CHANGE_CREATE, cust);
		member_of(cust, sizeof(cust), limits[i].member, "x",
		          limits[i].max + 1, r);
		snprintf(msg, sizeof(msg),
		         "%s is %d characters; the API allows at most %d",
		         limits[i].field, limits[i].max + 1, limits[i].max);
		expect_invalid(f, CHANGE_CREATE, cust, msg);
	}
}

/* ---- look-up, read and write ---- */

/* POST /customers/search with the one filter, JSON, read scope; the
 * ERP's external id when it has one. */
static void test_lookup_request(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K9", "{\"fax\":\"1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_request(f, HTTP_POST, "/customers/search", NULL);
	assert_string_equal(f->job.req.content_type, "application/json");
	assert_string_equal(f->job.req.scope, "customer:read");
	expect_body(f, "{\"ExternalId\":\"K9\"}");

	set_change(f, CHANGE_UPDATE, "K9",
	           "{\"fax\":\"1\",\"external_id\":\"ERP-9\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_body(f, "{\"ExternalId\":\"ERP-9\"}");

	/* Found: the first item's Id is read. */
	assert_int_equal(answer(f, 200,
	                        "{\"Items\":[{\"Id\":\"c-5\"},{\"Id\":"
	                        "\"c-6\"}],\"Total\":2}"),
	                 SYNC_SEND);
	expect_request(f, HTTP_GET, "/customers/c-5", NULL);
	assert_string_equal(f->job.req.scope, "customer:read");
	assert_null(f->job.req.body);
}

/* A search answer without an Items list is unreadable, not "none". */
static void test_lookup_unreadable(void **state)
{
	static const char *const bodies[] = {
	    "{\"Total\":0}",
	    "{\"Items\":{}}",
	    "not json",
	    "",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
		assert_int_equal(sync_start(&f->job), SYNC_SEND);
		assert_int_equal(answer(f, 200, bodies[i]), SYNC_DONE);
		assert_string_equal(f->job.err_code, "invalid_response");
		assert_non_null(strstr(f->job.err_msg, "unreadable"));
	}
}

/* Alvys answers every read with an ETag (PROFILE_ETAGS): a GET without
 * one cannot lead to a write. */
static void test_get_without_etag(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, "{\"Items\":[{\"Id\":\"c-1\"}]}"),
	                 SYNC_SEND);
	assert_int_equal(answer(f, 200, RECORD("\"K1\"")), SYNC_DONE);
	assert_string_equal(f->job.err_code, "invalid_response");
	assert_non_null(strstr(f->job.err_msg, "without an ETag"));
}

/* The cache keeps the writable fields only (no Id, read-only fields,
 * Country or empty lists), and the body's ETag when no header has one. */
static void test_write_result_and_projection(void **state)
{
	struct fx *f = *state;
	struct cache_entry e;
	char body[1024];

	snprintf(body, sizeof(body), "%.*s,\"ETag\":\"\\\"b1\\\"\"}",
	         (int)strlen(RECORD("\"K1\"")) - 1, RECORD("\"K1\""));
	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"customer\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 201, body), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_string_equal(f->job.target_id, "c-1");
	assert_string_equal(f->job.etag, "\"b1\"");
	assert_int_equal(cache_get(f->cache, "K1", &e), 0);
	assert_string_equal(e.id, "c-1");
	assert_string_equal(e.etag, "\"b1\"");
	expect_json(e.record,
	            "{\"Name\":\"Acme\",\"Type\":\"Customer\","
	            "\"CompanyNumber\":\"A-1\",\"Status\":\"Active\","
	            "\"Email\":[\"a@x.test\"],\"ExternalId\":\"K1\","
	            "\"BillingAddress\":{\"Street\":\"1 Main\","
	            "\"City\":\"Town\",\"State\":\"NY\",\"Zip\":\"10001\"}}");

	/* The header wins over the body. */
	set_change(f, CHANGE_CREATE, "K2",
	           "{\"name\":\"Acme\",\"type\":\"customer\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer_etag(f, 201, body, "\"h1\""), SYNC_DONE);
	assert_string_equal(f->job.etag, "\"h1\"");
}

/* ---- conflicts ---- */

/* A 409 that names no customer leaves nothing to read: alvys has no
 * second look-up, so the event fails as a conflict. */
static void test_conflict_without_customer_id(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"customer\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 409,
	                        "{\"status\":409,\"field\":\"CompanyNumber\","
	                        "\"detail\":\"CompanyNumber is taken\"}"),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "conflict");
	assert_int_equal(f->job.err_http_status, 409);
	assert_non_null(strstr(f->job.err_msg, "CompanyNumber is taken"));
	assert_int_equal(f->job.n_conflicts, 1);
	assert_string_equal(f->job.conflicts[0].field, "CompanyNumber");
	assert_null(f->job.conflicts[0].target_id);
}

/* The owner check: a 409 naming a record of another key fails with
 * `conflict` and writes nothing to it. */
static void test_conflict_other_owner(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"customer\","
	           "\"fax\":\"555\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 409,
	                        "{\"field\":\"CompanyNumber\","
	                        "\"customerId\":\"c-1\"}"),
	                 SYNC_SEND);
	expect_request(f, HTTP_GET, "/customers/c-1", NULL);
	assert_int_equal(answer_etag(f, 200, RECORD("\"K2\""), "\"e1\""),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_int_equal(f->job.action, SYNC_ACTION_NONE);
	assert_string_equal(f->job.err_code, "conflict");
	assert_int_equal(f->job.err_http_status, 409);
	assert_string_equal(f->job.err_msg,
	                    "create conflicts on CompanyNumber with customer "
	                    "'c-1', whose ExternalId is 'K2', not 'K1': it "
	                    "belongs to another key; nothing was written to "
	                    "it");
	assert_int_equal(cache_size(f->cache), 0);
}

/* The owner is the ERP's external id when the event has one: the key
 * itself on the record is then another owner. */
static void test_conflict_owner_is_erp_external_id(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"customer\","
	           "\"external_id\":\"ERP-1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	answer(f, 409, "{\"field\":\"ExternalId\",\"customerId\":\"c-1\"}");
	assert_int_equal(answer_etag(f, 200, RECORD("\"K1\""), "\"e1\""),
	                 SYNC_DONE);
	assert_string_equal(f->job.err_code, "conflict");
	assert_non_null(strstr(f->job.err_msg, "ExternalId is 'K1', not "
	                                       "'ERP-1'"));

	/* The same record carrying ERP-1 is ours: a patch follows. */
	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme 2\",\"type\":\"customer\","
	           "\"external_id\":\"ERP-1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	answer(f, 409, "{\"field\":\"ExternalId\",\"customerId\":\"c-1\"}");
	assert_int_equal(answer_etag(f, 200, RECORD("\"ERP-1\""), "\"e1\""),
	                 SYNC_SEND);
	expect_request(f, HTTP_PATCH, "/customers/c-1", "\"e1\"");
	expect_body(f, "{\"Name\":\"Acme 2\"}");
}

/* A record without an ExternalId is adopted, and the patch claims it. */
static void test_conflict_unowned_is_claimed(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"customer\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	answer(f, 409, "{\"field\":\"CompanyNumber\",\"customerId\":\"c-1\"}");
	assert_int_equal(answer_etag(f, 200, RECORD("null"), "\"e1\""),
	                 SYNC_SEND);
	expect_request(f, HTTP_PATCH, "/customers/c-1", "\"e1\"");
	assert_string_equal(f->job.req.content_type,
	                    "application/merge-patch+json");
	expect_body(f, "{\"ExternalId\":\"K1\"}");
	assert_int_equal(answer_etag(f, 200, RECORD("\"K1\""), "\"e2\""),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_UPDATE);
}

/* A look-up that finds another key's record (the search should not, but
 * the record decides) fails the same way. */
static void test_lookup_other_owner(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"fax\":\"1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	answer(f, 200, "{\"Items\":[{\"Id\":\"c-1\"}],\"Total\":1}");
	assert_int_equal(answer_etag(f, 200, RECORD("\"K2\""), "\"e1\""),
	                 SYNC_DONE);
	assert_string_equal(f->job.err_code, "conflict");
	assert_int_equal(f->job.err_http_status, 0);
	assert_string_equal(f->job.err_msg,
	                    "the customer found for key 'K1', 'c-1', has "
	                    "ExternalId 'K2', not 'K1': it belongs to another "
	                    "key; nothing was written to it");
}

/* ---- delete and is_deleted ---- */

/* A cached key is deleted at once with its ETag; a 412 re-reads and
 * deletes with the new one. */
static void test_delete_stale_etag(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_DELETE, "K1", NULL);
	cache_record(f, "K1", "\"e1\"",
	             "{\"Name\":\"A\",\"Type\":\"Customer\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	expect_request(f, HTTP_DELETE, "/customers/c-1", "\"e1\"");
	assert_string_equal(f->job.req.scope, "customer:delete");
	assert_int_equal(answer(f, 412, "{\"status\":412}"), SYNC_SEND);
	expect_request(f, HTTP_GET, "/customers/c-1", NULL);
	assert_int_equal(answer_etag(f, 200, RECORD("\"K1\""), "\"e2\""),
	                 SYNC_SEND);
	expect_request(f, HTTP_DELETE, "/customers/c-1", "\"e2\"");
	assert_int_equal(answer(f, 204, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_DELETE);
	assert_int_equal(f->job.n_conflicts, 1);
	assert_int_equal(f->job.conflicts[0].status, 412);
}

/* Deleted means Status Inactive, exactly: someone else's delete between
 * our read and write leaves nothing to do; a record without a Status,
 * or another one, is deleted. */
static void test_is_deleted(void **state)
{
	static const struct {
		const char *record;
		int deleted;
	} cases[] = {
	    {"{\"Name\":\"A\",\"Status\":\"Inactive\"}", 1},
	    {"{\"Name\":\"A\",\"Status\":\"Active\"}", 0},
	    {"{\"Name\":\"A\"}", 0},
	    {"{\"Name\":\"A\",\"Status\":\"inactive\"}", 0},
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_change(f, CHANGE_DELETE, "K1", NULL);
		cache_record(f, "K1", "\"e1\"", "{\"Name\":\"A\"}");
		assert_int_equal(sync_start(&f->job), SYNC_SEND);
		assert_int_equal(answer(f, 412, "{}"), SYNC_SEND);
		if (cases[i].deleted) {
			assert_int_equal(
			    answer_etag(f, 200, cases[i].record, "\"e2\""),
			    SYNC_DONE);
			assert_int_equal(f->job.status, SYNC_UNCHANGED);
			assert_int_equal(f->job.action, SYNC_ACTION_NONE);
		} else {
			assert_int_equal(
			    answer_etag(f, 200, cases[i].record, "\"e2\""),
			    SYNC_SEND);
			expect_request(f, HTTP_DELETE, "/customers/c-1",
			               "\"e2\"");
		}
	}
}

/* ---- error messages ---- */

static void expect_rejection(struct fx *f, long status, const char *body,
                             const char *want)
{
	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"Acme\",\"type\":\"customer\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, status, body), SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
	assert_int_equal(f->job.err_http_status, status);
	if (!strstr(f->job.err_msg, want))
		fail_msg("'%s' does not say '%s'", f->job.err_msg, want);
}

static void test_error_messages(void **state)
{
	struct fx *f = *state;

	/* detail before title. */
	expect_rejection(f, 400,
	                 "{\"title\":\"Bad Request\",\"detail\":\"Name is "
	                 "too long\"}",
	                 "Name is too long");
	assert_null(strstr(f->job.err_msg, "Bad Request"));
	/* Every per-field error, in order. */
	expect_rejection(f, 400,
	                 "{\"title\":\"Validation failed\",\"errors\":{"
	                 "\"Name\":[\"too long\",\"blank\"],"
	                 "\"Fax\":[\"bad\"]}}",
	                 "Validation failed; Name: too long; Name: blank; "
	                 "Fax: bad");
	/* Field errors alone. */
	expect_rejection(f, 422, "{\"errors\":{\"Status\":[\"unknown\"]}}",
	                 "Status: unknown");
	/* Not a problem document: the body's start. */
	expect_rejection(f, 400, "upstream refused", "upstream refused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
	    T(test_map_every_field),
	    T(test_map_partial_create),
	    T(test_map_update_clears),
	    T(test_validation_required),
	    T(test_validation_lengths),
	    T(test_lookup_request),
	    T(test_lookup_unreadable),
	    T(test_get_without_etag),
	    T(test_write_result_and_projection),
	    T(test_conflict_without_customer_id),
	    T(test_conflict_other_owner),
	    T(test_conflict_owner_is_erp_external_id),
	    T(test_conflict_unowned_is_claimed),
	    T(test_lookup_other_owner),
	    T(test_delete_stale_etag),
	    T(test_is_deleted),
	    T(test_error_messages),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
