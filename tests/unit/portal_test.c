/* The portal profile (worker/profiles/portal.c): mapping, validation,
 * requests and responses of the manufacturer portal's admin customers
 * API (seed 002), and sync.c driven through it with the answers the
 * reference server gives. */
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
	return fx_setup(state, "portal");
}

static const cJSON *item(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* Every canonical field the profile maps, and some it cannot. */
#define FULL                                                                  \
	"{\"name\":\"John Doe Kitchens\","                                    \
	"\"email\":[\"John@Example.com\",\"cc@example.com\"],"                \
	"\"phone\":[\"52 1234 1234\"],"                                       \
	"\"mobile\":[\"0480123456\",\"0480999999\"],"                         \
	"\"status\":\"active\",\"type\":\"customer\",\"number\":\"N1\","      \
	"\"fax\":\"55\",\"company\":\"JDK\",\"notes\":\"n\","                 \
	"\"time_zone\":\"Australia/Melbourne\","                              \
	"\"contact\":{\"first_name\":\"John\"},"                              \
	"\"billing_address\":{\"street\":[\"123 Summer St\",\"\"],"           \
	"\"city\":\"Boggy Creek\",\"state\":\"Victoria\","                    \
	"\"state_code\":\"vic\",\"postal_code\":\"3268\"},"                   \
	"\"delivery_addresses\":[{\"name\":\"Shop\","                         \
	"\"external_id\":\"Id-123\",\"street\":[\"123 Summer St\"],"          \
	"\"city\":\"Boggy Creek\",\"state_code\":\"VIC\","                    \
	"\"postal_code\":\"3268\"},"                                          \
	"{\"name\":\"Warehouse\",\"street\":[\"123 Back Road\"],"             \
	"\"city\":\"Boggy Creek\",\"state_code\":\"VIC\","                    \
	"\"postal_code\":\"3268\",\"default\":true}]}"

#define ADDR_TAIL                                                             \
	"\"suburb\":\"Boggy Creek\",\"state\":\"Victoria\","                  \
	"\"state_code\":\"VIC\",\"postcode\":\"3268\","                       \
	"\"country\":\"Australia\",\"country_code\":\"AU\""

/* FULL as the reference server renders it: ids, normalised addresses,
 * server-owned fields. EXT and PHONE vary per test. */
#define SERVER_REC(EXT, PHONE, SUSPENDED)                                     \
	"{\"id\":1234,\"manufacturer_id\":7891,"                              \
	"\"name\":\"John Doe Kitchens\",\"email\":\"john@example.com\","      \
	"\"phone\":\"" PHONE "\",\"mobile\":\"0480123456\","                  \
	"\"cc_email\":\"harry@example.com\",\"price_adjustment\":5,"          \
	"\"minimum_charge_amount\":30,\"minimum_freight_amount\":0,"          \
	"\"contact_address\":{\"street\":[\"123 Summer St\"]," ADDR_TAIL      \
	"},\"delivery_address\":[{\"external_id\":\"Id-123\","                \
	"\"name\":\"Shop\",\"street\":[\"123 Summer St\"]," ADDR_TAIL         \
	",\"default\":false},{\"external_id\":null,\"name\":\"Warehouse\","   \
	"\"street\":[\"123 Back Road\"]," ADDR_TAIL ",\"default\":true}],"    \
	"\"default_depot_id\":null,\"external_id\":\"" EXT "\","              \
	"\"settings\":{\"is_beta\":true,\"is_assembly_enabled\":false,"       \
	"\"is_suspended\":" SUSPENDED "}}"

#define SERVER SERVER_REC("K1", "52 1234 1234", "false")

static char *wrap(const char *rec)
{
	size_t n = strlen(rec) + 64;
	char *b = malloc(n);

	assert_non_null(b);
	snprintf(b, n, "{\"success\":1,\"customer\":%s}", rec);
	return b;
}

static char *page(const char *items, int cur, int count, int total)
{
	size_t n = strlen(items) + 200;
	char *b = malloc(n);

	assert_non_null(b);
	snprintf(b, n,
	         "{\"success\":1,\"items\":[%s],\"pagination\":{"
	         "\"current_page\":%d,\"page_count\":%d,\"page_size\":100,"
	         "\"total_count\":%d}}",
	         items, cur, count, total);
	return b;
}

#define OTHER                                                                 \
	"{\"id\":77,\"manufacturerId\":7891,\"name\":\"Other\","              \
	"\"email\":\"o@x.test\",\"external_id\":\"K77\"}"

/* ---- mapping and requests -------------------------------------------- */

static void test_create_maps_every_field(void **state)
{
	struct fx *f = *state;
	const cJSON *a, *d, *s;
	cJSON *b;
	char *ok;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_POST);
	assert_string_equal(f->job.req.path, "/customers");
	assert_string_equal(f->job.req.content_type, "application/json");
	assert_null(f->job.req.if_match);
	assert_string_equal(f->job.req.scope, "customer:create");
	b = req_body(f);
	assert_string_equal(str_of(b, "name"), "John Doe Kitchens");
	assert_string_equal(str_of(b, "email"), "John@Example.com");
	assert_string_equal(str_of(b, "phone"), "52 1234 1234");
	assert_string_equal(str_of(b, "mobile"), "0480123456");
	assert_string_equal(str_of(b, "external_id"), "K1");
	assert_false(cJSON_IsTrue(item(item(b, "settings"), "is_suspended")));
	assert_int_equal(cJSON_GetArraySize(item(b, "settings")), 1);
	/* No field for these: not sent. */
	assert_null(item(b, "type"));
	assert_null(item(b, "number"));
	assert_null(item(b, "fax"));
	assert_null(item(b, "company"));
	assert_null(item(b, "notes"));
	assert_null(item(b, "time_zone"));
	assert_null(item(b, "cc_email"));
	assert_null(item(b, "id"));
	a = item(b, "contact_address");
	assert_int_equal(cJSON_GetArraySize(item(a, "street")), 1);
	assert_string_equal(
	    cJSON_GetArrayItem(item(a, "street"), 0)->valuestring,
	    "123 Summer St");
	assert_string_equal(str_of(a, "suburb"), "Boggy Creek");
	assert_string_equal(str_of(a, "state"), "Victoria");
	assert_string_equal(str_of(a, "state_code"), "vic");
	assert_string_equal(str_of(a, "postcode"), "3268");
	assert_null(item(a, "country"));
	d = item(b, "delivery_address");
	assert_true(cJSON_IsArray(d));
	assert_int_equal(cJSON_GetArraySize(d), 2);
	s = cJSON_GetArrayItem(d, 0);
	assert_string_equal(str_of(s, "name"), "Shop");
	assert_string_equal(str_of(s, "external_id"), "Id-123");
	assert_string_equal(str_of(s, "suburb"), "Boggy Creek");
	assert_string_equal(str_of(s, "state_code"), "VIC");
	assert_string_equal(str_of(s, "postcode"), "3268");
	assert_true(cJSON_IsFalse(item(s, "default")));
	s = cJSON_GetArrayItem(d, 1);
	assert_string_equal(str_of(s, "name"), "Warehouse");
	assert_null(item(s, "external_id"));
	assert_true(cJSON_IsTrue(item(s, "default")));
	cJSON_Delete(b);

	ok = wrap(SERVER);
	assert_int_equal(answer(f, 200, ok), SYNC_DONE);
	free(ok);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_CREATE);
	assert_string_equal(f->job.target_id, "1234");
	assert_null(f->job.etag);
	assert_int_equal(cache_size(f->cache), 1);
}

static void test_create_without_contact_uses_delivery(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_CREATE, "K2",
	           "{\"name\":\"N\",\"email\":\"n@x.test\",\"phone\":\"1\","
	           "\"delivery_addresses\":[{\"state\":\"New York\"}]}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	b = req_body(f);
	/* The API copies the first delivery address itself. */
	assert_null(item(b, "contact_address"));
	assert_null(item(b, "settings"));
	assert_null(item(b, "mobile"));
	assert_true(cJSON_IsTrue(item(
	    cJSON_GetArrayItem(item(b, "delivery_address"), 0), "default")));
	cJSON_Delete(b);

	/* billing_address null: the first delivery address stands in. */
	set_change(f, CHANGE_UPSERT, "K2",
	           "{\"billing_address\":null,\"delivery_addresses\":["
	           "{\"state_code\":\"NY\",\"city\":\"Albany\"}]}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_string_equal(
	    str_of(item(f->job.desired, "contact_address"), "suburb"),
	    "Albany");
}

static void test_validation_refuses_locally(void **state)
{
	static const struct {
		enum change_op op;
		const char *customer, *msg;
	} cases[] = {
	    {CHANGE_CREATE,
	     "{\"name\":\"N\",\"email\":\"a@x.test\","
	     "\"billing_address\":{\"state\":\"NY\"}}",
	     "phone is mandatory on create"},
	    {CHANGE_CREATE,
	     "{\"name\":\" \",\"email\":\"a@x.test\",\"phone\":\"1\","
	     "\"billing_address\":{\"state\":\"NY\"}}",
	     "name must not be blank"},
	    {CHANGE_CREATE,
	     "{\"name\":\"N\",\"email\":\"a@x.test\",\"phone\":\"1\"}",
	     "contact_address is mandatory on create"},
	    {CHANGE_CREATE,
	     "{\"name\":\"N\",\"email\":\"a@x.test\",\"phone\":\"1\","
	     "\"billing_address\":{\"city\":\"X\"}}",
	     "contact_address must have a state"},
	    {CHANGE_CREATE,
	     "{\"name\":\"N\",\"email\":\"a@x.test\",\"phone\":\"1\","
	     "\"billing_address\":{\"state\":\"NY\"},"
	     "\"delivery_addresses\":[{\"city\":\"X\"}]}",
	     "delivery address 0 must have a state"},
	    {CHANGE_UPDATE, "{\"email\":null}",
	     "email is mandatory and cannot be cleared"},
	    {CHANGE_UPDATE, "{\"phone\":[]}",
	     "phone is mandatory and cannot be cleared"},
	    {CHANGE_UPSERT, "{\"billing_address\":null}",
	     "contact_address is mandatory and cannot be cleared"},
	    {CHANGE_UPDATE,
	     "{\"billing_address\":{\"state\":null,\"state_code\":null}}",
	     "contact_address: the state cannot be cleared"},
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_change(f, cases[i].op, "K1", cases[i].customer);
		assert_int_equal(sync_start(&f->job), SYNC_DONE);
		assert_int_equal(f->job.status, SYNC_FAILED);
		assert_string_equal(f->job.err_code, "validation");
		assert_int_equal(f->job.err_http_status, 0);
		if (!strstr(f->job.err_msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i,
			         f->job.err_msg, cases[i].msg);
	}
}

static void test_requests(void **state)
{
	struct fx *f = *state;
	struct api_request r;
	cJSON *rec;

	assert_int_equal(f->p->get_request(&f->cfg, "12 34", &r), 0);
	assert_int_equal(r.method, HTTP_GET);
	assert_string_equal(r.path, "/customers/12%2034");
	assert_null(r.body);
	assert_string_equal(r.scope, "customer:read");
	api_request_done(&r);

	set_change(f, CHANGE_UPDATE, "K1", "{\"phone\":\"1\"}");
	assert_int_equal(f->p->lookup_request(&f->cfg, &f->ch, &r), 0);
	assert_string_equal(r.path, "/customers?current_page=1&page_size=100");
	api_request_done(&r);

	rec = cJSON_Parse("{\"email\":\"a+b@x.test\"}");
	assert_int_equal(f->p->conflict_lookup(&f->cfg, &f->ch, rec, &r), 0);
	assert_int_equal(r.method, HTTP_GET);
	assert_string_equal(r.path,
	                    "/customers?email=a%2Bb%40x.test&current_page=1&"
	                    "page_size=100");
	api_request_done(&r);
	cJSON_Delete(rec);
}

/* ---- responses -------------------------------------------------------- */

static void test_project_normalises(void **state)
{
	struct fx *f = *state;
	cJSON *raw = cJSON_Parse(SERVER), *p, *again;
	const cJSON *d;
	char *a, *b;

	p = f->p->project(raw);
	assert_non_null(p);
	/* Server-owned fields are not compared. */
	assert_null(item(p, "id"));
	assert_null(item(p, "manufacturer_id"));
	assert_null(item(p, "cc_email"));
	assert_null(item(p, "default_depot_id"));
	assert_null(item(p, "price_adjustment"));
	assert_int_equal(cJSON_GetArraySize(item(p, "settings")), 1);
	d = item(p, "delivery_address");
	assert_int_equal(item(d, "count")->valueint, 2);
	assert_null(item(item(d, "1"), "external_id"));
	assert_true(cJSON_IsTrue(item(item(d, "1"), "default")));
	assert_true(cJSON_IsFalse(item(item(d, "0"), "default")));
	/* Idempotent: sync projects its own projections. */
	again = f->p->project(p);
	a = cJSON_PrintUnformatted(p);
	b = cJSON_PrintUnformatted(again);
	assert_string_equal(a, b);
	free(a);
	free(b);
	cJSON_Delete(again);
	cJSON_Delete(p);
	cJSON_Delete(raw);

	/* No default flagged: the first is; [] equals none; codes and
	 * email compared normalised. */
	raw = cJSON_Parse(
	    "{\"email\":\"A@X.test\",\"delivery_address\":[{\"state_code\":"
	    "\"vic\"},{\"state\":\"NSW\",\"default\":false}],"
	    "\"contact_address\":{\"street\":[\"\"],\"state\":\"\"}}");
	p = f->p->project(raw);
	assert_string_equal(str_of(p, "email"), "a@x.test");
	d = item(p, "delivery_address");
	assert_true(cJSON_IsTrue(item(item(d, "0"), "default")));
	assert_string_equal(str_of(item(d, "0"), "state_code"), "VIC");
	assert_null(item(p, "contact_address"));
	cJSON_Delete(p);
	cJSON_Delete(raw);
	raw = cJSON_Parse("{\"delivery_address\":[]}");
	p = f->p->project(raw);
	assert_null(item(p, "delivery_address"));
	cJSON_Delete(p);
	cJSON_Delete(raw);
}

static void test_record_of_and_write_result(void **state)
{
	struct fx *f = *state;
	char *body = wrap(SERVER), *id, *etag;
	cJSON *doc = cJSON_Parse(body), *rec;
	struct api_response r = resp(200, body);

	assert_int_equal(item(f->p->record_of(doc), "id")->valueint, 1234);
	cJSON_Delete(doc);
	doc = cJSON_Parse("{\"success\":0,\"error\":{\"messages\":[]}}");
	assert_null(f->p->record_of(doc));
	cJSON_Delete(doc);

	assert_int_equal(f->p->write_result(&r, &id, &etag, &rec), 0);
	assert_string_equal(id, "1234");
	assert_null(etag);
	assert_string_equal(str_of(rec, "external_id"), "K1");
	assert_null(item(rec, "id"));
	free(id);
	cJSON_Delete(rec);
	free(body);

	r = resp(200, "{\"success\":1}");
	assert_int_equal(f->p->write_result(&r, &id, &etag, &rec), -EINVAL);
	assert_null(id);
	assert_null(rec);
}

static void test_error_message_and_conflict(void **state)
{
	struct fx *f = *state;
	const char *code = "rejected";
	char buf[256], *field, *id;
	struct api_response r = resp(
	    400, "{\"success\":0,\"error\":{\"messages\":[\"Invalid email "
	         "address\",\"A delivery address must be specified\"]}}");

	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(buf, "Invalid email address; A delivery address "
	                         "must be specified");
	assert_string_equal(code, "rejected");
	assert_int_equal(f->p->conflict(&r, &field, &id), 0);

	r = resp(409, "{\"success\":0,\"error\":{\"messages\":[\"A customer "
	              "with this email address already exists\"]}}");
	assert_int_equal(f->p->conflict(&r, &field, &id), 1);
	assert_string_equal(field, "email");
	assert_null(id);
	free(field);
	/* The wording decides when the status does not. */
	r = resp(400, "{\"success\":0,\"error\":{\"messages\":[\"Name is "
	              "required\",\"Email address is already in use\"]}}");
	assert_int_equal(f->p->conflict(&r, &field, &id), 1);
	free(field);
	r = resp(500, "{\"success\":0,\"error\":{\"messages\":[\"email "
	              "already exists\"]}}");
	assert_int_equal(f->p->conflict(&r, &field, &id), 0);

	r = resp(502, "<html>bad gateway</html>");
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(buf, "<html>bad gateway</html>");
}

static void test_lookup_parse_prefers_key(void **state)
{
	struct fx *f = *state;
	char *items = page(SERVER_REC("OTHER", "1", "false") "," SERVER_REC(
	                       "K1", "2", "false"),
	                   1, 1, 2);
	struct api_response r = resp(200, items);
	cJSON *rec = NULL;
	char *id = NULL;

	set_change(f, CHANGE_UPSERT, "K1", "{\"email\":\"john@example.com\"}");
	assert_int_equal(f->p->lookup_parse(&f->cfg, &f->ch, &r, &id, &rec),
	                 1);
	assert_string_equal(str_of(rec, "phone"), "2");
	free(id);
	cJSON_Delete(rec);
	free(items);

	/* An update never takes a record by email alone. */
	items = page(SERVER_REC("OTHER", "1", "false"), 1, 1, 1);
	r = resp(200, items);
	set_change(f, CHANGE_UPDATE, "K1", "{\"email\":\"john@example.com\"}");
	assert_int_equal(f->p->lookup_parse(&f->cfg, &f->ch, &r, &id, &rec),
	                 0);
	set_change(f, CHANGE_CREATE, "K1", "{\"email\":\"JOHN@example.com\"}");
	assert_int_equal(f->p->lookup_parse(&f->cfg, &f->ch, &r, &id, &rec),
	                 1);
	assert_string_equal(id, "1234");
	free(id);
	cJSON_Delete(rec);
	free(items);

	r = resp(200, "{\"success\":1}");
	assert_int_equal(f->p->lookup_parse(&f->cfg, &f->ch, &r, &id, &rec),
	                 -EINVAL);
}

/* ---- sync.c through the profile -------------------------------------- */

static void test_upsert_of_server_record_is_unchanged(void **state)
{
	struct fx *f = *state;
	char *p1 = page(SERVER, 1, 1, 1);

	set_change(f, CHANGE_UPSERT, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_int_equal(answer(f, 200, p1), SYNC_DONE);
	free(p1);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	assert_string_equal(f->job.target_id, "1234");
	assert_int_equal(cache_size(f->cache), 1);

	/* Cached: no look-up, but a read (no ETags to trust). */
	set_change(f, CHANGE_UPSERT, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_string_equal(f->job.req.path, "/customers/1234");
	p1 = wrap(SERVER);
	assert_int_equal(answer(f, 200, p1), SYNC_DONE);
	free(p1);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

static void test_update_pages_then_puts_whole_record(void **state)
{
	struct fx *f = *state;
	char *p1 = page(OTHER, 1, 2, 2), *p2 = page(SERVER, 2, 2, 2), *ok;
	const cJSON *d;
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"phone\":\"999\",\"mobile\":null}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	assert_string_equal(f->job.req.path,
	                    "/customers?current_page=2&page_size=100");
	assert_int_equal(answer(f, 200, p2), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PUT);
	assert_string_equal(f->job.req.path, "/customers/1234");
	assert_string_equal(f->job.req.content_type, "application/json");
	assert_string_equal(f->job.req.scope, "customer:update");
	assert_null(f->job.req.if_match);
	b = req_body(f);
	assert_string_equal(str_of(b, "phone"), "999");
	assert_null(item(b, "mobile"));
	/* The rest of the record as read, ids left out. */
	assert_null(item(b, "id"));
	assert_null(item(b, "manufacturer_id"));
	assert_string_equal(str_of(b, "email"), "john@example.com");
	assert_string_equal(str_of(b, "cc_email"), "harry@example.com");
	assert_int_equal(item(b, "price_adjustment")->valueint, 5);
	assert_int_equal(item(b, "minimum_charge_amount")->valueint, 30);
	assert_true(cJSON_IsNull(item(b, "default_depot_id")));
	assert_true(cJSON_IsTrue(item(item(b, "settings"), "is_beta")));
	assert_true(cJSON_IsFalse(item(item(b, "settings"), "is_suspended")));
	assert_string_equal(str_of(item(b, "contact_address"), "country"),
	                    "Australia");
	d = item(b, "delivery_address");
	assert_int_equal(cJSON_GetArraySize(d), 2);
	assert_string_equal(str_of(cJSON_GetArrayItem(d, 0), "external_id"),
	                    "Id-123");
	assert_true(cJSON_IsTrue(item(cJSON_GetArrayItem(d, 1), "default")));
	cJSON_Delete(b);
	free(p1);
	free(p2);

	ok = wrap(SERVER_REC("K1", "999", "false"));
	assert_int_equal(answer(f, 200, ok), SYNC_DONE);
	free(ok);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_UPDATE);
	assert_string_equal(f->job.target_id, "1234");
}

/* A new state_code: the old state name and country are not sent, the
 * API derives them from the new code. */
static void test_update_state_drops_stale_derived(void **state)
{
	struct fx *f = *state;
	char *p1 = page(SERVER, 1, 1, 1);
	const cJSON *a;
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"billing_address\":{\"state_code\":\"NSW\","
	           "\"city\":\"Sydney\"}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	free(p1);
	b = req_body(f);
	a = item(b, "contact_address");
	assert_string_equal(str_of(a, "state_code"), "NSW");
	assert_string_equal(str_of(a, "suburb"), "Sydney");
	assert_string_equal(str_of(a, "postcode"), "3268");
	assert_null(item(a, "state"));
	assert_null(item(a, "country"));
	assert_null(item(a, "country_code"));
	/* Untouched delivery addresses keep everything. */
	assert_string_equal(
	    str_of(cJSON_GetArrayItem(item(b, "delivery_address"), 0),
	           "country"),
	    "Australia");
	cJSON_Delete(b);
}

static void test_update_clears_delivery_list(void **state)
{
	struct fx *f = *state;
	char *p1 = page(SERVER, 1, 1, 1);
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K1", "{\"delivery_addresses\":[]}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	free(p1);
	b = req_body(f);
	/* Never [] (the API refuses it): no member at all. */
	assert_null(item(b, "delivery_address"));
	assert_non_null(item(b, "contact_address"));
	cJSON_Delete(b);
}

static void test_update_unknown_key_fails_not_found(void **state)
{
	struct fx *f = *state;
	char *p1 = page(OTHER, 1, 1, 1);

	set_change(f, CHANGE_UPDATE, "K9", "{\"phone\":\"1\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, p1), SYNC_DONE);
	free(p1);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "not_found");
}

static void test_delete_suspends_by_default(void **state)
{
	struct fx *f = *state;
	char *p1 = page(SERVER, 1, 1, 1), *ok;
	cJSON *b;

	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	free(p1);
	assert_int_equal(f->job.req.method, HTTP_PUT);
	assert_string_equal(f->job.req.path, "/customers/1234");
	b = req_body(f);
	assert_true(cJSON_IsTrue(item(item(b, "settings"), "is_suspended")));
	assert_true(cJSON_IsTrue(item(item(b, "settings"), "is_beta")));
	assert_string_equal(str_of(b, "name"), "John Doe Kitchens");
	assert_null(item(b, "id"));
	cJSON_Delete(b);
	ok = wrap(SERVER_REC("K1", "1", "true"));
	assert_int_equal(answer(f, 200, ok), SYNC_DONE);
	free(ok);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_DELETE);

	/* Already suspended: nothing to do. */
	p1 = page(SERVER_REC("K1", "1", "true"), 1, 1, 1);
	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, p1), SYNC_DONE);
	free(p1);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);

	/* status active on a suspended customer lifts the suspension
	 * (the key is cached now: a read by id, no look-up). */
	p1 = wrap(SERVER_REC("K1", "1", "true"));
	set_change(f, CHANGE_UPDATE, "K1", "{\"status\":\"active\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_string_equal(f->job.req.path, "/customers/1234");
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	free(p1);
	b = req_body(f);
	assert_true(cJSON_IsFalse(item(item(b, "settings"), "is_suspended")));
	cJSON_Delete(b);
}

static void test_delete_hard(void **state)
{
	struct fx *f = *state;
	char *p1 = page(SERVER_REC("K1", "1", "true"), 1, 1, 1);

	f->cfg.target.delete_mode = DELETE_HARD;
	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	/* Even a suspended customer is deleted. */
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	free(p1);
	assert_int_equal(f->job.req.method, HTTP_DELETE);
	assert_string_equal(f->job.req.path, "/customers/1234");
	assert_null(f->job.req.body);
	assert_string_equal(f->job.req.scope, "customer:delete");
	assert_int_equal(answer(f, 200, "{\"success\":1}"), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_DELETE);

	/* Gone already (cached id, 404 on the read): unchanged. */
	set_change(f, CHANGE_DELETE, "K1", NULL);
	cache_put(f->cache, "K1", "1234", NULL, NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_int_equal(answer(f, 404,
	                        "{\"success\":0,\"error\":{\"messages\":["
	                        "\"Customer not found\"]}}"),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

/* The email's holder carries no external_id: it is adopted, and the PUT
 * gives it the key. */
static void test_create_duplicate_email_updates_holder(void **state)
{
	struct fx *f = *state;
	char *p1 = page(SERVER_REC("", "52 1234 1234", "false"), 1, 1, 1), *ok;
	cJSON *b;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 409,
	                        "{\"success\":0,\"error\":{\"messages\":[\"A "
	                        "customer with this email address already "
	                        "exists\"]}}"),
	                 SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_string_equal(f->job.req.path,
	                    "/customers?email=John%40Example.com&"
	                    "current_page=1&page_size=100");
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	free(p1);
	assert_int_equal(f->job.req.method, HTTP_PUT);
	b = req_body(f);
	/* Only the key differs: external_id now carries it. */
	assert_string_equal(str_of(b, "external_id"), "K1");
	assert_string_equal(str_of(b, "email"), "John@Example.com");
	cJSON_Delete(b);
	ok = wrap(SERVER);
	assert_int_equal(answer(f, 200, ok), SYNC_DONE);
	free(ok);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_UPDATE);
	assert_int_equal(f->job.n_conflicts, 1);
	assert_int_equal(f->job.conflicts[0].status, 409);
	assert_string_equal(f->job.conflicts[0].field, "email");
	/* the look-up by email found the holder */
	assert_string_equal(f->job.conflicts[0].target_id, f->job.target_id);
}

/* The email belongs to another ERP key's customer: the login is never
 * taken over; the event fails and nothing is sent to that customer. */
static void test_duplicate_email_of_another_key_fails(void **state)
{
	struct fx *f = *state;
	char *p1 =
	    page(SERVER_REC("ERP-OTHER-9", "52 1234 1234", "false"), 1, 1, 1);

	set_change(f, CHANGE_CREATE, "POR-NEW-1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 409,
	                        "{\"success\":0,\"error\":{\"messages\":[\"A "
	                        "customer with this email address already "
	                        "exists\"]}}"),
	                 SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_int_equal(answer(f, 200, p1), SYNC_DONE);
	free(p1);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "conflict");
	assert_int_equal(f->job.err_http_status, 409);
	assert_non_null(strstr(f->job.err_msg, "email"));
	assert_non_null(strstr(f->job.err_msg, "'1234'"));
	assert_non_null(strstr(f->job.err_msg, "'ERP-OTHER-9'"));
	assert_int_equal(f->job.n_conflicts, 1);
	assert_string_equal(f->job.conflicts[0].target_id, "1234");
	/* Not cached as the key's record either. */
	set_change(f, CHANGE_UPDATE, "POR-NEW-1", "{\"name\":\"x\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_string_equal(f->job.req.path,
	                    "/customers?current_page=1&page_size=100");
}

static void test_duplicate_email_of_another_tenant_fails(void **state)
{
	struct fx *f = *state;
	char *p0 = page("", 1, 0, 0);

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 409,
	                        "{\"success\":0,\"error\":{\"messages\":[\"A "
	                        "customer with this email address already "
	                        "exists\"]}}"),
	                 SYNC_SEND);
	assert_int_equal(answer(f, 200, p0), SYNC_DONE);
	free(p0);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "conflict");
	assert_int_equal(f->job.n_conflicts, 1);
}

static void test_error_envelope_fails_with_all_messages(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"name\":\"N\",\"email\":\"bad\",\"phone\":\"1\","
	           "\"billing_address\":{\"state_code\":\"ZZ\"}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 400,
	                        "{\"success\":0,\"error\":{\"messages\":["
	                        "\"Invalid email address\",\"Unknown state "
	                        "'ZZ'\"]}}"),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "rejected");
	assert_int_equal(f->job.err_http_status, 400);
	assert_string_equal(f->job.err_msg,
	                    "POST create: HTTP 400: Invalid email address; "
	                    "Unknown state 'ZZ'");
	assert_int_equal(f->job.n_conflicts, 0);
}

static void test_unreadable_lookup(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, "[]"), SYNC_DONE);
	assert_string_equal(f->job.err_code, "invalid_response");
}

/* ---- the key index ----------------------------------------------------- */

#define LIST_PAGE(n) "/customers?current_page=" #n "&page_size=100"

static int setup_indexed(void **state)
{
	struct fx *f;

	fx_setup(state, "portal");
	f = *state;
	f->index = keyindex_new();
	assert_non_null(f->index);
	return 0;
}

/* One scan of the whole list, then a miss is a create and a hit a read
 * by id: no look-up per key. */
static void test_index_scans_once(void **state)
{
	struct fx *f = *state;
	char *p1 = page(SERVER, 1, 2, 2), *p2 = page(OTHER, 2, 2, 2), *ok;

	set_change(f, CHANGE_CREATE, "K-NEW", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_string_equal(f->job.req.path, LIST_PAGE(1));
	assert_int_equal(keyindex_state(f->index), KEYINDEX_SCANNING);
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	assert_string_equal(f->job.req.path, LIST_PAGE(2));
	assert_int_equal(answer(f, 200, p2), SYNC_SEND);
	free(p1);
	free(p2);
	assert_int_equal(keyindex_state(f->index), KEYINDEX_READY);
	assert_int_equal(keyindex_scans(f->index), 1);
	assert_string_equal(keyindex_get(f->index, "K1"), "1234");
	/* K-NEW is not in the list: created without a look-up. */
	assert_int_equal(f->job.req.method, HTTP_POST);
	ok = wrap("{\"id\":99,\"name\":\"n\",\"email\":\"n@x\","
	          "\"phone\":\"1\",\"external_id\":\"K-NEW\"}");
	assert_int_equal(answer(f, 200, ok), SYNC_DONE);
	free(ok);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	/* custsync's own create is in the index at once. */
	assert_string_equal(keyindex_get(f->index, "K-NEW"), "99");

	/* A known key: read by id, no list. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"x\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_GET);
	assert_string_equal(f->job.req.path, "/customers/1234");
	/* An unknown key's update: not found, no request. */
	set_change(f, CHANGE_UPDATE, "K-NONE", "{\"name\":\"x\"}");
	assert_int_equal(sync_start(&f->job), SYNC_DONE);
	assert_string_equal(f->job.err_code, "not_found");
	assert_int_equal(keyindex_scans(f->index), 1);
}

/* Jobs that need the index while it is scanned wait for it; a scan
 * whose job goes away is claimed again; an assignment during a scan
 * makes it start over. */
static void test_index_wait_release_and_rescan(void **state)
{
	struct fx *f = *state;
	struct change ch2 = {.op = CHANGE_CREATE};
	struct sync_job j2;
	char *p1 = page(SERVER, 1, 1, 1);

	ch2.key = strdup("K2");
	ch2.event_id = strdup("e-2");
	ch2.customer = cJSON_Parse(FULL);
	set_change(f, CHANGE_CREATE, "K-NEW", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	sync_init(&j2, &ch2, f->p, &f->cfg, f->cache, f->index);
	assert_int_equal(sync_start(&j2), SYNC_WAIT);

	/* The scanning job is revoked: the next one claims the scan. */
	sync_done(&f->job);
	assert_int_equal(keyindex_state(f->index), KEYINDEX_STALE);
	assert_int_equal(sync_resume(&j2), SYNC_SEND);
	assert_string_equal(j2.req.path, LIST_PAGE(1));

	keyindex_invalidate(f->index);
	{
		struct api_response r = resp(200, p1);

		assert_int_equal(sync_on_response(&j2, &r), SYNC_SEND);
		assert_string_equal(j2.req.path, LIST_PAGE(1));
		assert_int_equal(sync_on_response(&j2, &r), SYNC_SEND);
	}
	free(p1);
	assert_int_equal(keyindex_scans(f->index), 2);
	assert_int_equal(keyindex_state(f->index), KEYINDEX_READY);
	assert_int_equal(j2.req.method, HTTP_POST);
	sync_done(&j2);
	change_done(&ch2);
}

/* A list that cannot be read: the index fails and each key is found
 * as without one. */
static void test_index_unreadable_list(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1", "{\"name\":\"x\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 404, "{\"success\":0}"), SYNC_SEND);
	assert_int_equal(keyindex_state(f->index), KEYINDEX_FAILED);
	assert_string_equal(f->job.req.path, LIST_PAGE(1));
	assert_int_equal(f->job.step, SYNC_STEP_LOOKUP);
}

#define REFUSAL                                                               \
	"\"error\":{\"messages\":[\"Invalid email address\","                 \
	"\"A delivery address must be specified\"]}}"

/* A 2xx whose envelope says success 0 is a refusal: failed rejected
 * with every message, in whichever form success comes. */
static void test_2xx_refusal_is_rejected(void **state)
{
	static const char *const flags[] = {"0",         "false",     "\"0\"",
	                                    "\"false\"", "\"FALSE\"", NULL};
	struct fx *f = *state;
	char body[256];

	for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++) {
		if (flags[i])
			snprintf(body, sizeof(body),
			         "{\"success\":%s," REFUSAL, flags[i]);
		else /* no flag at all: the error member decides */
			snprintf(body, sizeof(body), "{" REFUSAL);
		set_change(f, CHANGE_CREATE, "K1", FULL);
		assert_int_equal(sync_start(&f->job), SYNC_SEND);
		assert_int_equal(answer(f, i % 2 ? 201 : 200, body),
		                 SYNC_DONE);
		assert_int_equal(f->job.status, SYNC_FAILED);
		assert_string_equal(f->job.err_code, "rejected");
		assert_int_equal(f->job.err_http_status, i % 2 ? 201 : 200);
		assert_string_equal(f->job.err_msg + 23,
		                    "Invalid email address; A delivery "
		                    "address must be specified");
		assert_null(f->job.target_id);
		assert_int_equal(f->job.n_conflicts, 0);
	}
	assert_string_equal(f->job.err_msg,
	                    "POST create: HTTP 201: Invalid email address; A "
	                    "delivery address must be specified");
}

/* The same at every other step that reads a 2xx: the look-up's list, a
 * read by id, the PUT of an update, the PUT that suspends and a hard
 * DELETE. */
static void test_2xx_refusal_at_every_step(void **state)
{
	struct fx *f = *state;
	const char *no = "{\"success\":0,\"error\":{\"messages\":["
	                 "\"Customer cannot be changed\"]}}";
	char *p1 = page(SERVER, 1, 1, 1), *rec = wrap(SERVER);

	set_change(f, CHANGE_UPDATE, "K1", "{\"phone\":\"999\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, no), SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
	assert_string_equal(f->job.err_msg, "GET lookup: HTTP 200: Customer "
	                                    "cannot be changed");

	set_change(f, CHANGE_UPDATE, "K1", "{\"phone\":\"999\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, p1), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PUT);
	assert_int_equal(answer(f, 200, no), SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
	assert_string_equal(f->job.err_msg, "PUT update: HTTP 200: Customer "
	                                    "cannot be changed");

	/* The key is cached now: a read by id. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"phone\":\"999\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_string_equal(f->job.req.path, "/customers/1234");
	assert_int_equal(answer(f, 200, no), SYNC_DONE);
	assert_string_equal(f->job.err_code, "rejected");
	assert_string_equal(f->job.err_msg, "GET read: HTTP 200: Customer "
	                                    "cannot be changed");

	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, rec), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_PUT);
	assert_int_equal(answer(f, 200, no), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "rejected");

	f->cfg.target.delete_mode = DELETE_HARD;
	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, rec), SYNC_SEND);
	assert_int_equal(f->job.req.method, HTTP_DELETE);
	assert_int_equal(answer(f, 200,
	                        "{\"success\":false,\"error\":{"
	                        "\"messages\":[\"Customer cannot be "
	                        "deleted\"]}}"),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "rejected");
	assert_string_equal(f->job.err_msg, "DELETE delete: HTTP 200: "
	                                    "Customer cannot be deleted");
	free(p1);
	free(rec);
}

/* What is not a refusal, and the words of one without messages. */
static void test_refused_forms(void **state)
{
	static const char *const fine[] = {
	    "",
	    "{}",
	    "[]",
	    "not json",
	    "{\"success\":1}",
	    "{\"success\":true,\"error\":{\"messages\":[\"x\"]}}",
	    "{\"success\":\"1\",\"customer\":{\"id\":1}}",
	    "{\"success\":\"true\"}",
	    "{\"success\":\"yes\"}",
	    "{\"success\":null,\"customer\":{\"id\":1},\"error\":null}",
	    "{\"items\":[],\"error\":{}}"};
	struct fx *f = *state;
	const char *code = "rejected";
	struct api_response r;
	char buf[128];

	assert_non_null(f->p->refused);
	for (size_t i = 0; i < sizeof(fine) / sizeof(*fine); i++) {
		r = resp(200, fine[i]);
		assert_false(f->p->refused(&r));
	}
	r = resp(200, "{\"success\":0}");
	assert_true(f->p->refused(&r));
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(buf, "refused (success 0) without a message");
	r = resp(200, "{\"success\":null,\"error\":\"Not allowed\"}");
	assert_true(f->p->refused(&r));
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(buf, "Not allowed");
	r = resp(200, "{\"success\":0,\"error\":{\"message\":\"Locked\"}}");
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(buf, "Locked");
	assert_string_equal(code, "rejected");
}

#define T(n)  cmocka_unit_test_setup_teardown(n, setup, teardown)
#define TI(n) cmocka_unit_test_setup_teardown(n, setup_indexed, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_create_maps_every_field),
	    T(test_create_without_contact_uses_delivery),
	    T(test_validation_refuses_locally),
	    T(test_requests),
	    T(test_project_normalises),
	    T(test_record_of_and_write_result),
	    T(test_error_message_and_conflict),
	    T(test_lookup_parse_prefers_key),
	    T(test_upsert_of_server_record_is_unchanged),
	    T(test_update_pages_then_puts_whole_record),
	    T(test_update_state_drops_stale_derived),
	    T(test_update_clears_delivery_list),
	    T(test_update_unknown_key_fails_not_found),
	    T(test_delete_suspends_by_default),
	    T(test_delete_hard),
	    T(test_create_duplicate_email_updates_holder),
	    T(test_duplicate_email_of_another_key_fails),
	    T(test_duplicate_email_of_another_tenant_fails),
	    TI(test_index_scans_once),
	    TI(test_index_wait_release_and_rescan),
	    TI(test_index_unreadable_list),
	    T(test_error_envelope_fails_with_all_messages),
	    T(test_unreadable_lookup),
	    T(test_2xx_refusal_is_rejected),
	    T(test_2xx_refusal_at_every_step),
	    T(test_refused_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
