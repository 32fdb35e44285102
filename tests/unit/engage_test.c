/* The engage profile (worker/profiles/engage.c): mapping, validation,
 * requests and responses of the Pexip Engage customers API, and sync.c
 * driven through it with the answers the reference server gives. */
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
	return fx_setup(state, "engage");
}

static const cJSON *item(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* Asserts that body equals the JSON text want (key order ignored). */
static void assert_json(const cJSON *body, const char *want)
{
	cJSON *w = cJSON_Parse(want);

	assert_non_null(w);
	if (!cJSON_Compare(body, w, true)) {
		char *got = cJSON_PrintUnformatted(body);

		print_error("got  %s\nwant %s\n", got, want);
		free(got);
		cJSON_Delete(w);
		fail();
	}
	cJSON_Delete(w);
}

/* Every request: Accept-Language, JSON, no If-Match. */
static void assert_request(struct fx *f, enum http_method m, const char *path)
{
	assert_int_equal(f->job.req.method, m);
	assert_string_equal(f->job.req.path, path);
	assert_string_equal(f->job.req.extra_header, "Accept-Language: en");
	assert_null(f->job.req.if_match);
	if (f->job.req.body)
		assert_string_equal(f->job.req.content_type,
		                    "application/json");
}

#define FULL                                                                  \
	"{\"name\":\"Acme NV\",\"contact\":{\"first_name\":\"Ann\","          \
	"\"last_name\":\"Lee\",\"name\":\"Ann Lee\"},\"company\":\"Acme\","   \
	"\"number\":\"N-1\",\"email\":[\"a@x.test\",\"b@x.test\"],"           \
	"\"phone\":[\"+3212\"],\"mobile\":[\"+3247\"],\"language\":\"nl\","   \
	"\"notes\":\"vip\",\"fax\":\"1\",\"billing_address\":{\"street\":"    \
	"[\"1 Main\",\"Unit 4\",\"Floor 2\"],\"city\":\"Ghent\","             \
	"\"state\":\"East Flanders\",\"state_code\":\"VOV\","                 \
	"\"postal_code\":\"9000\",\"country\":\"Belgium\","                   \
	"\"country_code\":\"BE\"}}"

/* What the API sends back for FULL: everything it derives filled in, a
 * Dutch city translation someone added, and the single city/street
 * objects in the Accept-Language language. */
#define LOCATION                                                              \
	"{\"city\":{\"language\":\"en\",\"value\":\"Ghent\"},"                \
	"\"state\":{\"language\":\"en\",\"value\":\"East Flanders\"},"        \
	"\"street1\":{\"language\":\"en\",\"value\":\"1 Main\"},"             \
	"\"street2\":{\"language\":\"en\",\"value\":\"Unit 4, Floor 2\"},"    \
	"\"postalCode\":\"9000\",\"countryCode\":\"BE\","                     \
	"\"formattedAddress\":\"1 Main, 9000 Ghent, BE\","                    \
	"\"geolocation\":{\"latitude\":51.05,\"longitude\":3.69},"            \
	"\"translations\":{\"city\":[{\"language\":\"en\",\"value\":"         \
	"\"Ghent\"},{\"language\":\"nl\",\"value\":\"Gent\"}],"               \
	"\"state\":[{\"language\":\"en\",\"value\":\"East Flanders\"}],"      \
	"\"street1\":[{\"language\":\"en\",\"value\":\"1 Main\"}],"           \
	"\"street2\":[{\"language\":\"en\",\"value\":\"Unit 4, Floor 2\"}]}}"

#define RECORD                                                                \
	"{\"id\":\"c-1\",\"externalId\":\"K1\",\"customerNumber\":\"N-1\","   \
	"\"email\":\"a@x.test\",\"firstName\":\"Ann\",\"lastName\":\"Lee\","  \
	"\"company\":\"Acme\",\"language\":\"nl\",\"notes\":\"vip\","         \
	"\"phoneNumber\":\"+3212\",\"existing\":false,"                       \
	"\"timeZone\":\"Europe/Brussels\",\"createdAt\":"                     \
	"\"2026-01-01T00:00:00.000Z\",\"updatedAt\":"                         \
	"\"2026-01-01T00:00:00.000Z\",\"deletedAt\":null,"                    \
	"\"location\":" LOCATION "}"

#define NOT_FOUND                                                             \
	"{\"errors\":[{\"message\":\"Customer not found\",\"code\":"          \
	"\"CUSTOMER_NOT_FOUND\",\"type\":\"NotFound\",\"statusCode\":"        \
	"\"404\"}]}"

#define DATA(rec) "{\"data\":" rec "}"
#define LIST(rec) "{\"data\":[" rec "]}"

#define DELETED_RECORD                                                        \
	"{\"id\":\"c-0\",\"externalId\":\"K1\",\"existing\":false,"           \
	"\"timeZone\":\"UTC\",\"createdAt\":\"x\",\"updatedAt\":\"x\","       \
	"\"deletedAt\":\"2026-01-01T00:00:00.000Z\",\"email\":\"old@x\"}"

/* The deleted customer above under another key's externalId. */
#define DELETED_RECORD_K7                                                     \
	"{\"id\":\"c-0\",\"externalId\":\"K7\",\"existing\":false,"           \
	"\"timeZone\":\"UTC\",\"createdAt\":\"x\",\"updatedAt\":\"x\","       \
	"\"deletedAt\":\"2026-01-01T00:00:00.000Z\",\"email\":\"old@x\"}"

/* ---- mapping and create ------------------------------------------------ */

static void test_create_looks_up_then_posts_every_field(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers?externalId=K1");
	assert_null(f->job.req.body);
	assert_string_equal(f->job.req.scope, "customer:read");
	assert_int_equal(answer(f, 200, "{\"data\":[]}"), SYNC_SEND);
	assert_request(f, HTTP_POST, "/customers");
	assert_string_equal(f->job.req.scope, "customer:create");
	b = req_body(f);
	assert_json(
	    b, "{\"externalId\":\"K1\",\"customerNumber\":\"N-1\","
	       "\"company\":\"Acme\",\"notes\":\"vip\","
	       "\"firstName\":\"Ann\",\"lastName\":\"Lee\","
	       "\"email\":\"a@x.test\",\"phoneNumber\":\"+3212\","
	       "\"language\":\"nl\",\"location\":{\"postalCode\":\"9000\","
	       "\"countryCode\":\"BE\",\"translations\":{"
	       "\"city\":[{\"language\":\"en\",\"value\":\"Ghent\"}],"
	       "\"state\":[{\"language\":\"en\",\"value\":"
	       "\"East Flanders\"}],"
	       "\"street1\":[{\"language\":\"en\",\"value\":\"1 Main\"}],"
	       "\"street2\":[{\"language\":\"en\",\"value\":"
	       "\"Unit 4, Floor 2\"}]}}}");
	cJSON_Delete(b);
	assert_int_equal(answer(f, 201, DATA(RECORD)), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_CREATE);
	assert_string_equal(f->job.target_id, "c-1");
	assert_null(f->job.etag);
}

/* Blank values go out as null (omitted on create), never "". */
static void test_blank_values_are_not_sent(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_UPSERT, "K2",
	           "{\"company\":\"  \",\"notes\":\"\",\"email\":[\"\",\" \","
	           "\"c@x.test\"],\"phone\":[],\"external_id\":\"\","
	           "\"time_zone\":\" \",\"contact\":{\"first_name\":\"\","
	           "\"last_name\":\"Lee\"},\"billing_address\":{\"street\":[],"
	           "\"city\":\"\",\"postal_code\":null}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers?externalId=K2");
	assert_int_equal(answer(f, 200, "{\"data\":[]}"), SYNC_SEND);
	assert_request(f, HTTP_POST, "/customers");
	b = req_body(f);
	assert_json(b, "{\"externalId\":\"K2\",\"email\":\"c@x.test\","
	               "\"lastName\":\"Lee\"}");
	cJSON_Delete(b);
}

static void test_language_and_accept_language_from_config(void **state)
{
	struct fx *f = *state;
	cJSON *b;
	const cJSON *tr;

	f->cfg.target.language = (char *)"fr";
	set_change(f, CHANGE_CREATE, "K3",
	           "{\"email\":\"x@y\",\"billing_address\":{\"street\":"
	           "[\"1 rue\"],\"city\":\"Paris\",\"country_code\":\"FR\"}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_string_equal(f->job.req.extra_header, "Accept-Language: fr");
	answer(f, 200, "{\"data\":[]}");
	assert_string_equal(f->job.req.extra_header, "Accept-Language: fr");
	b = req_body(f);
	tr = item(item(b, "location"), "translations");
	assert_json(item(tr, "city"),
	            "[{\"language\":\"fr\",\"value\":\"Paris\"}]");
	assert_json(item(tr, "street2"), "[]");
	cJSON_Delete(b);

	f->cfg.target.accept_language = (char *)"de";
	set_change(f, CHANGE_DELETE, "K3", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_string_equal(f->job.req.extra_header, "Accept-Language: de");
	f->cfg.target.accept_language = (char *)"nl-BE, en;q=0.5";
	set_change(f, CHANGE_DELETE, "K3", NULL);
	sync_start(&f->job);
	assert_string_equal(f->job.req.extra_header, "Accept-Language: nl");
	f->cfg.target.accept_language = (char *)"*";
	set_change(f, CHANGE_DELETE, "K3", NULL);
	sync_start(&f->job);
	assert_string_equal(f->job.req.extra_header, "Accept-Language: fr");
	f->cfg.target.language = NULL;
	f->cfg.target.accept_language = NULL;
}

static void test_validation_refuses_locally(void **state)
{
	static const struct {
		enum change_op op;
		const char *customer, *words;
	} bad[] = {
	    {CHANGE_CREATE, "{\"language\":\"pt\"}", "language 'pt'"},
	    {CHANGE_UPDATE, "{\"language\":\"EN\"}", "language 'EN'"},
	    {CHANGE_CREATE,
	     "{\"billing_address\":{\"street\":[\"1 Main\"],"
	     "\"city\":\"Ghent\",\"country_code\":\"BEL\"}}",
	     "exactly 2"},
	    {CHANGE_CREATE,
	     "{\"billing_address\":{\"city\":\"Ghent\","
	     "\"country_code\":\"BE\"}}",
	     "needs a street"},
	    {CHANGE_CREATE,
	     "{\"billing_address\":{\"street\":[\"1 Main\"],"
	     "\"country_code\":\"BE\"}}",
	     "needs a city"},
	    {CHANGE_CREATE,
	     "{\"billing_address\":{\"street\":[\"1 Main\"],"
	     "\"city\":\"Ghent\"}}",
	     "needs a country code"},
	    {CHANGE_UPDATE, "{\"billing_address\":{\"country_code\":null}}",
	     "cannot be cleared"},
	    {CHANGE_CREATE, "{\"notes\":5}", "notes must be a string"},
	    {CHANGE_CREATE, "{\"contact\":\"Ann\"}", "contact must be"},
	    {CHANGE_CREATE, "{\"email\":[1]}", "list of strings"},
	};
	struct fx *f = *state;
	char key[8];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(key, sizeof(key), "V%zu", i);
		set_change(f, bad[i].op, key, bad[i].customer);
		assert_int_equal(sync_start(&f->job), SYNC_DONE);
		assert_int_equal(f->job.status, SYNC_FAILED);
		assert_string_equal(f->job.err_code, "validation");
		if (!strstr(f->job.err_msg, bad[i].words))
			fail_msg("case %zu: '%s' lacks '%s'", i,
			         f->job.err_msg, bad[i].words);
		assert_int_equal(f->job.err_http_status, 0);
	}
}

static void test_validate_direct(void **state)
{
	struct fx *f = *state;
	struct profile_error err;
	char ext[400];
	cJSON *doc;

	memset(ext, 'x', 256);
	ext[256] = '\0';
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "externalId", ext);
	assert_int_equal(f->p->validate(doc, false, &err), -EINVAL);
	assert_non_null(strstr(err.message, "255"));
	cJSON_Delete(doc);

	/* 255 characters of two bytes each are fine. */
	doc = cJSON_CreateObject();
	ext[0] = '\0';
	for (int i = 0; i < 255 - 110; i++)
		strcat(ext, "e");
	for (int i = 0; i < 110; i++)
		strcat(ext, "\xc3\xa9");
	cJSON_AddStringToObject(doc, "externalId", ext);
	cJSON_AddStringToObject(doc, "email", "");
	assert_int_equal(f->p->validate(doc, false, &err), -EINVAL);
	assert_non_null(strstr(err.message, "email must not be empty"));
	cJSON_DeleteItemFromObject(doc, "email");
	assert_int_equal(f->p->validate(doc, true, &err), 0);
	cJSON_Delete(doc);
}

/* ---- responses -------------------------------------------------------- */

static void test_project_keeps_only_what_custsync_sends(void **state)
{
	struct fx *f = *state;
	cJSON *doc = cJSON_Parse(DATA(RECORD)), *p;

	assert_non_null(doc);
	assert_null(f->p->record_of(cJSON_GetObjectItem(doc, "data")));
	p = f->p->project(f->p->record_of(doc));
	assert_json(p, "{\"externalId\":\"K1\",\"customerNumber\":\"N-1\","
	               "\"email\":\"a@x.test\",\"firstName\":\"Ann\","
	               "\"lastName\":\"Lee\",\"company\":\"Acme\","
	               "\"language\":\"nl\",\"notes\":\"vip\","
	               "\"phoneNumber\":\"+3212\","
	               "\"timeZone\":\"Europe/Brussels\",\"location\":{"
	               "\"postalCode\":\"9000\",\"countryCode\":\"BE\","
	               "\"translations\":{\"city\":{\"en\":\"Ghent\","
	               "\"nl\":\"Gent\"},\"state\":{\"en\":\"East Flanders\"},"
	               "\"street1\":{\"en\":\"1 Main\"},"
	               "\"street2\":{\"en\":\"Unit 4, Floor 2\"}}}}");
	assert_false(f->p->is_deleted(&f->cfg, f->p->record_of(doc)));
	cJSON_Delete(p);
	cJSON_Delete(doc);
	doc = cJSON_Parse(DELETED_RECORD);
	assert_true(f->p->is_deleted(&f->cfg, doc));
	cJSON_Delete(doc);
}

static void test_error_message_reports_business_code(void **state)
{
	struct fx *f = *state;
	const char *code = "rejected";
	char buf[200];
	struct api_response r =
	    resp(422, "{\"errors\":[{\"message\":\"no email, phone or name\","
	              "\"code\":\"CUSTOMER_NOT_IDENTIFIABLE\",\"type\":"
	              "\"BusinessError\",\"statusCode\":\"422\"},{\"message\":"
	              "\"second\",\"code\":\"X\",\"type\":\"t\","
	              "\"statusCode\":\"422\"}]}");

	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(code, "customer_not_identifiable");
	assert_string_equal(buf, "CUSTOMER_NOT_IDENTIFIABLE: no email, phone "
	                         "or name; X: second");

	r = resp(422,
	         "{\"errors\":[{\"message\":\"m\",\"code\":"
	         "\"LOCATION_TIME_ZONE_RESOLUTION_FAILED\",\"type\":\"t\","
	         "\"statusCode\":\"422\"}]}");
	code = "rejected";
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(code, "location_time_zone_resolution_failed");

	/* Another status or an unknown code keeps custsync's code. */
	r = resp(400,
	         "{\"errors\":[{\"message\":\"bad\",\"code\":"
	         "\"VALIDATION\",\"type\":\"t\",\"statusCode\":\"400\"}]}");
	code = "rejected";
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(code, "rejected");
	assert_string_equal(buf, "VALIDATION: bad");
	r = resp(422, "not json");
	f->p->error_message(&r, &code, buf, sizeof(buf));
	assert_string_equal(code, "rejected");
	assert_string_equal(buf, "not json");
}

static void test_write_result_needs_data(void **state)
{
	struct fx *f = *state;
	struct api_response r = resp(200, "{\"id\":\"c-1\"}");
	char *id, *etag;
	cJSON *rec;

	assert_int_equal(f->p->write_result(&r, &id, &etag, &rec), -EINVAL);
	assert_null(id);
	r = resp(200, DATA(RECORD));
	assert_int_equal(f->p->write_result(&r, &id, &etag, &rec), 0);
	assert_string_equal(id, "c-1");
	assert_null(etag);
	assert_null(item(rec, "existing"));
	assert_null(item(item(rec, "location"), "geolocation"));
	free(id);
	cJSON_Delete(rec);
}

/* ---- sync.c through the profile -------------------------------------- */

/* Everything the server derives differs from what was sent, yet
 * nothing custsync sends does: no write. */
static void test_upsert_same_record_is_unchanged(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K1", FULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, LIST(RECORD)), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	assert_int_equal(f->job.action, SYNC_ACTION_NONE);
	assert_string_equal(f->job.target_id, "c-1");
}

/* One location member changes: the whole location is resent, other
 * languages kept, nothing the server derives sent back. */
static void test_update_resends_whole_location(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"billing_address\":{\"postal_code\":\"9050\"},"
	           "\"notes\":null,\"time_zone\":null}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers?externalId=K1");
	assert_int_equal(answer(f, 200, LIST(DELETED_RECORD "," RECORD)),
	                 SYNC_SEND);
	assert_request(f, HTTP_PATCH, "/customers/c-1");
	assert_string_equal(f->job.req.scope, "customer:update");
	b = req_body(f);
	assert_json(b,
	            "{\"notes\":null,\"location\":{\"postalCode\":\"9050\","
	            "\"countryCode\":\"BE\",\"translations\":{"
	            "\"city\":[{\"language\":\"en\",\"value\":\"Ghent\"},"
	            "{\"language\":\"nl\",\"value\":\"Gent\"}],"
	            "\"state\":[{\"language\":\"en\",\"value\":"
	            "\"East Flanders\"}],"
	            "\"street1\":[{\"language\":\"en\",\"value\":\"1 Main\"}],"
	            "\"street2\":[{\"language\":\"en\",\"value\":"
	            "\"Unit 4, Floor 2\"}]}}}");
	cJSON_Delete(b);
	assert_int_equal(answer(f, 200, DATA(RECORD)), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_UPDATE);
}

static void test_update_scalar_only_sends_no_location(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"email\":[\"new@x.test\"],\"contact\":null,"
	           "\"time_zone\":\"Europe/Paris\"}");
	sync_start(&f->job);
	assert_int_equal(answer(f, 200, LIST(RECORD)), SYNC_SEND);
	b = req_body(f);
	assert_json(b, "{\"email\":\"new@x.test\",\"firstName\":null,"
	               "\"lastName\":null,\"timeZone\":\"Europe/Paris\"}");
	cJSON_Delete(b);
}

static void test_update_clears_location(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_UPDATE, "K1", "{\"billing_address\":null}");
	sync_start(&f->job);
	assert_int_equal(answer(f, 200, LIST(RECORD)), SYNC_SEND);
	b = req_body(f);
	assert_json(b, "{\"location\":null}");
	cJSON_Delete(b);
}

/* A record without a location cannot take a city alone. */
static void test_update_incomplete_location_refused(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"billing_address\":{\"city\":\"Ghent\"}}");
	sync_start(&f->job);
	assert_int_equal(answer(f, 200,
	                        LIST("{\"id\":\"c-1\",\"email\":\"a@x\","
	                             "\"deletedAt\":null,\"location\":null}")),
	                 SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "validation");
	assert_non_null(strstr(f->job.err_msg, "country code"));
}

/* An upsert whose address is all empty clears the location. */
static void test_upsert_empty_address_clears(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_UPSERT, "K1",
	           "{\"email\":[\"a@x.test\"],\"billing_address\":{"
	           "\"street\":[],\"city\":null,\"postal_code\":\" \","
	           "\"country_code\":null}}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, LIST(RECORD)), SYNC_SEND);
	b = req_body(f);
	assert_json(b, "{\"location\":null}");
	cJSON_Delete(b);
}

static void test_update_unknown_key_fails_not_found(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPDATE, "K9", "{\"notes\":\"x\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, "{\"data\":[]}"), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "not_found");

	/* Only a deleted customer: the API refuses the PATCH with 404. */
	set_change(f, CHANGE_UPDATE, "K1", "{\"notes\":\"x\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, LIST(DELETED_RECORD)), SYNC_SEND);
	assert_request(f, HTTP_PATCH, "/customers/c-0");
	assert_int_equal(answer(f, 404, NOT_FOUND), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "not_found");
	assert_int_equal(f->job.err_http_status, 404);
}

/* A replay of the create of a deleted customer: equal, unchanged. One
 * that differs meets 404 and makes a new customer. */
static void test_upsert_of_deleted_customer(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K1", "{\"email\":\"old@x\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_int_equal(answer(f, 200, LIST(DELETED_RECORD)), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);

	/* Not from the cache the first one filled. */
	set_change(f, CHANGE_UPSERT, "K7", "{\"email\":\"a@x.test\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers?externalId=K7");
	assert_int_equal(answer(f, 200, LIST(DELETED_RECORD_K7)), SYNC_SEND);
	assert_request(f, HTTP_PATCH, "/customers/c-0");
	assert_int_equal(answer(f, 404, NOT_FOUND), SYNC_SEND);
	assert_request(f, HTTP_POST, "/customers");
}

/* A cached id is read again (no ETags); a PATCH that meets a record
 * gone since answers 404: an upsert then creates. */
static void test_cached_update_reads_then_404_creates(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	answer(f, 200, "{\"data\":[]}");
	answer(f, 201, DATA(RECORD));
	assert_int_equal(cache_size(f->cache), 1);

	set_change(f, CHANGE_UPSERT, "K1", "{\"notes\":\"new\"}");
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers/c-1");
	assert_int_equal(answer(f, 200, DATA(RECORD)), SYNC_SEND);
	assert_request(f, HTTP_PATCH, "/customers/c-1");
	assert_int_equal(
	    answer(f, 404,
	           "{\"errors\":[{\"message\":\"Customer not found\","
	           "\"code\":\"CUSTOMER_NOT_FOUND\",\"type\":\"NotFound\","
	           "\"statusCode\":\"404\"}]}"),
	    SYNC_SEND);
	assert_request(f, HTTP_POST, "/customers");
}

static void test_delete(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_DELETE, "K1", NULL);
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers?externalId=K1");
	assert_int_equal(answer(f, 200, LIST(RECORD)), SYNC_SEND);
	assert_request(f, HTTP_DELETE, "/customers/c-1");
	assert_string_equal(f->job.req.scope, "customer:delete");
	assert_null(f->job.req.body);
	assert_int_equal(answer(f, 204, NULL), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_APPLIED);
	assert_int_equal(f->job.action, SYNC_ACTION_DELETE);

	/* Deleted already, or never there: unchanged. */
	set_change(f, CHANGE_DELETE, "K1", NULL);
	sync_start(&f->job);
	assert_int_equal(answer(f, 200, LIST(DELETED_RECORD)), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	set_change(f, CHANGE_DELETE, "K1", NULL);
	cache_put(f->cache, "K1", "c-0", NULL, cJSON_CreateObject());
	assert_int_equal(sync_start(&f->job), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers/c-0");
	assert_int_equal(answer(f, 200, DATA(DELETED_RECORD)), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
}

/* A create that loses a race: 409 naming the customer, read, compare. */
static void test_create_conflict_with_id_reads_it(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K1", FULL);
	sync_start(&f->job);
	answer(f, 200, "{\"data\":[]}");
	assert_int_equal(
	    answer(f, 409,
	           "{\"errors\":[{\"message\":\"taken\",\"code\":"
	           "\"CUSTOMER_EXTERNAL_ID_TAKEN\",\"type\":\"Conflict\","
	           "\"statusCode\":\"409\",\"arguments\":{\"customerId\":"
	           "\"c-1\"}}]}"),
	    SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers/c-1");
	assert_int_equal(answer(f, 200, DATA(RECORD)), SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_UNCHANGED);
	assert_int_equal(f->job.n_conflicts, 1);
	assert_string_equal(f->job.conflicts[0].field, "externalId");
	assert_string_equal(f->job.conflicts[0].target_id, "c-1");
}

static void test_create_conflict_without_id_looks_up(void **state)
{
	struct fx *f = *state;
	cJSON *b;

	set_change(f, CHANGE_CREATE, "K1",
	           "{\"external_id\":\"X 1\",\"notes\":\"changed\"}");
	sync_start(&f->job);
	assert_request(f, HTTP_GET, "/customers?externalId=X%201");
	answer(f, 200, "{\"data\":[]}");
	assert_int_equal(answer(f, 409, "{\"errors\":[]}"), SYNC_SEND);
	assert_request(f, HTTP_GET, "/customers?externalId=X%201");
	assert_int_equal(
	    answer(f, 200,
	           "{\"data\":[{\"id\":\"c-1\",\"externalId\":\"X 1\"}]}"),
	    SYNC_SEND);
	assert_request(f, HTTP_PATCH, "/customers/c-1");
	b = req_body(f);
	assert_json(b, "{\"notes\":\"changed\"}");
	cJSON_Delete(b);
}

/* The error envelope: the business code becomes the outcome's, no
 * retry. */
static void test_business_error_fails_with_its_code(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_CREATE, "K5", "{\"notes\":\"no way to reach\"}");
	sync_start(&f->job);
	answer(f, 200, "{\"data\":[]}");
	assert_int_equal(
	    answer(f, 422,
	           "{\"errors\":[{\"message\":\"The customer needs an "
	           "email, a phone number or a full name\",\"code\":"
	           "\"CUSTOMER_NOT_IDENTIFIABLE\",\"type\":"
	           "\"BusinessValidation\",\"statusCode\":\"422\","
	           "\"arguments\":null}]}"),
	    SYNC_DONE);
	assert_int_equal(f->job.status, SYNC_FAILED);
	assert_string_equal(f->job.err_code, "customer_not_identifiable");
	assert_int_equal(f->job.err_http_status, 422);
	assert_non_null(strstr(f->job.err_msg, "POST create: HTTP 422: "
	                                       "CUSTOMER_NOT_IDENTIFIABLE: "
	                                       "The customer needs"));

	set_change(f, CHANGE_UPDATE, "K1",
	           "{\"billing_address\":{\"postal_code\":\"00000\"}}");
	sync_start(&f->job);
	answer(f, 200, LIST(RECORD));
	assert_int_equal(
	    answer(f, 422,
	           "{\"errors\":[{\"message\":\"cannot geocode\","
	           "\"code\":\"LOCATION_GEOCODING_FAILED\",\"type\":\"B\","
	           "\"statusCode\":\"422\"}]}"),
	    SYNC_DONE);
	assert_string_equal(f->job.err_code, "location_geocoding_failed");
}

static void test_unreadable_lookup(void **state)
{
	struct fx *f = *state;

	set_change(f, CHANGE_UPSERT, "K1", "{\"notes\":\"x\"}");
	sync_start(&f->job);
	assert_int_equal(answer(f, 200, "{\"data\":{}}"), SYNC_DONE);
	assert_string_equal(f->job.err_code, "invalid_response");
}

int main(void)
{
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_create_looks_up_then_posts_every_field),
	    T(test_blank_values_are_not_sent),
	    T(test_language_and_accept_language_from_config),
	    T(test_validation_refuses_locally),
	    T(test_validate_direct),
	    T(test_project_keeps_only_what_custsync_sends),
	    T(test_error_message_reports_business_code),
	    T(test_write_result_needs_data),
	    T(test_upsert_same_record_is_unchanged),
	    T(test_update_resends_whole_location),
	    T(test_update_scalar_only_sends_no_location),
	    T(test_update_clears_location),
	    T(test_update_incomplete_location_refused),
	    T(test_upsert_empty_address_clears),
	    T(test_update_unknown_key_fails_not_found),
	    T(test_upsert_of_deleted_customer),
	    T(test_cached_update_reads_then_404_creates),
	    T(test_delete),
	    T(test_create_conflict_with_id_reads_it),
	    T(test_create_conflict_without_id_looks_up),
	    T(test_business_error_fails_with_its_code),
	    T(test_unreadable_lookup),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
