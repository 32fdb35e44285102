/* auth.c: the header lines it builds from config and from the token
 * endpoint, the token answer's expires_in as the refresh time, the token
 * request itself, the backoff after a failed one, and a 401 throwing
 * away only the token it names. */
#include "edge/auth.h"
#include "config/config.h"
#include "core/request.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct config cfg_of(enum auth_type type)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.target.auth.type = type;
	c.retry.initial_backoff_ms = 200;
	c.retry.max_backoff_ms = 1000;
	return c;
}

static void expect_header(const struct config *c, const char *want)
{
	struct auth *a = auth_new(c);
	bool ready = false;

	assert_non_null(a);
	assert_string_equal(auth_header(a, 0, &ready), want);
	assert_true(ready);
	auth_free(a);
}

static void static_schemes(void **state)
{
	struct config c;

	(void)state;
	c = cfg_of(AUTH_BEARER);
	c.target.auth.token = "tok-1";
	expect_header(&c, "Authorization: Bearer tok-1");
	c = cfg_of(AUTH_API_KEY);
	c.target.auth.header = "Ocp-Apim-Subscription-Key";
	c.target.auth.key = "k 1";
	expect_header(&c, "Ocp-Apim-Subscription-Key: k 1");
	/* base64 of "u:p\xc3\xa4": UTF-8 is fine once encoded. */
	c = cfg_of(AUTH_BASIC);
	c.target.auth.username = "u";
	c.target.auth.password = "p\xc3\xa4";
	expect_header(&c, "Authorization: Basic dTpww6Q=");
}

/* config.c refuses these at load; should one get here all the same, no
 * header is built and auth cannot start. */
static void unchecked_secrets_refused(void **state)
{
	struct config c;

	(void)state;
	c = cfg_of(AUTH_BEARER);
	c.target.auth.token = "tok\r\nX-Injected: 1";
	assert_null(auth_new(&c));
	c = cfg_of(AUTH_API_KEY);
	c.target.auth.header = "X-API-Key";
	c.target.auth.key = "k\n";
	assert_null(auth_new(&c));
	c.target.auth.header = "X-API-Key: x\r\nX-Injected";
	c.target.auth.key = "k";
	assert_null(auth_new(&c));
}

static bool token_answer(struct auth *a, int64_t now, const char *body)
{
	struct api_response r = {.status = 200,
	                         .body = body,
	                         .body_len = strlen(body),
	                         .retry_after_s = -1};
	struct api_request req;
	const char *url;

	assert_true(auth_want_request(a, now, &url, &req));
	api_request_done(&req);
	return auth_on_response(a, &r, now);
}

static void token_from_endpoint_checked(void **state)
{
	struct config c = cfg_of(AUTH_OAUTH2_CC);
	struct auth *a;
	bool ready = true;
	int64_t t;

	(void)state;
	c.target.auth.token_url = "http://127.0.0.1:9/token";
	c.target.auth.client_id = "c";
	c.target.auth.client_secret = "s";
	a = auth_new(&c);
	assert_non_null(a);
	/* The partner's answer is data too: a token that would end the
	 * header line is a failed token request, never a header. */
	assert_false(
	    token_answer(a, 0,
	                 "{\"access_token\": \"t\\r\\nX-Injected: 1\", "
	                 "\"expires_in\": 60}"));
	assert_null(auth_header(a, 0, &ready));
	assert_false(ready);
	assert_int_equal(auth_refreshes(a), 0);

	/* Retried later like any failed token request; a good one is
	 * used. */
	t = auth_next_ms(a);
	assert_true(t > 0 && t < INT64_MAX);
	assert_true(token_answer(
	    a, t, "{\"access_token\": \"t-2\", \"expires_in\": 60}"));
	assert_string_equal(auth_header(a, t, &ready),
	                    "Authorization: Bearer t-2");
	assert_true(ready);
	auth_free(a);
}

#define NOW 1000000LL

static bool token_from(const char *body, struct config *cfg, struct auth **out)
{
	struct api_response r = {
	    .status = 200,
	    .body = body,
	    .body_len = strlen(body),
	    .retry_after_s = -1,
	};

	memset(cfg, 0, sizeof(*cfg));
	cfg->target.auth.type = AUTH_OAUTH2_CC;
	cfg->target.auth.token_url = "http://127.0.0.1:1/token";
	cfg->retry.initial_backoff_ms = 100;
	cfg->retry.max_backoff_ms = 1000;
	*out = auth_new(cfg);
	assert_non_null(*out);
	return auth_on_response(*out, &r, NOW);
}

static bool ready_at(struct auth *a, int64_t now_ms)
{
	bool ready;

	return auth_header(a, now_ms, &ready) != NULL && ready;
}

static void test_expires_in(void **state)
{
	struct config cfg;
	struct auth *a;

	(void)state;
	assert_true(token_from("{\"access_token\":\"t\",\"expires_in\":3600}",
	                       &cfg, &a));
	/* Refreshed at 90% of the lifetime. */
	assert_true(ready_at(a, NOW + 3240000 - 1));
	assert_false(ready_at(a, NOW + 3240000));
	auth_free(a);
}

/* An expires_in that is no lifetime in seconds was once multiplied and
 * cast (1e300: undefined behaviour); now the token is used until a 401,
 * as one without expires_in is. */
static void test_expires_in_unusable(void **state)
{
	static const char *const bodies[] = {
	    "{\"access_token\":\"t\",\"expires_in\":1e300}",
	    "{\"access_token\":\"t\",\"expires_in\":1e999}",
	    "{\"access_token\":\"t\",\"expires_in\":9.3e18}",
	    "{\"access_token\":\"t\",\"expires_in\":-1e300}",
	    "{\"access_token\":\"t\",\"expires_in\":0}",
	    "{\"access_token\":\"t\",\"expires_in\":-5}",
	    "{\"access_token\":\"t\",\"expires_in\":\"3600\"}",
	    "{\"access_token\":\"t\"}",
	};
	struct config cfg;
	struct auth *a;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_true(token_from(bodies[i], &cfg, &a));
		assert_true(ready_at(a, NOW + 1));
		assert_true(ready_at(a, INT64_MAX - 1));
		auth_free(a);
	}
}

/* ---- the static schemes ---- */

static void static_scheme_details(void **state)
{
	struct config c;
	struct auth *a;
	bool ready = false;
	const char *url = NULL;
	struct api_request req;

	(void)state;
	/* No header named: X-API-Key. */
	c = cfg_of(AUTH_API_KEY);
	c.target.auth.key = "k1";
	expect_header(&c, "X-API-Key: k1");
	/* RFC 7617's example, and each padding length. */
	c = cfg_of(AUTH_BASIC);
	c.target.auth.username = "Aladdin";
	c.target.auth.password = "open sesame";
	expect_header(&c, "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	c.target.auth.username = "u";
	c.target.auth.password = "p";
	expect_header(&c, "Authorization: Basic dTpw");
	c.target.auth.password = "pw";
	expect_header(&c, "Authorization: Basic dTpwdw==");
	c.target.auth.password = "";
	expect_header(&c, "Authorization: Basic dTo=");

	/* No auth: no header, and nothing to wait for. */
	c = cfg_of(AUTH_NONE);
	a = auth_new(&c);
	assert_non_null(a);
	assert_null(auth_header(a, 0, &ready));
	assert_true(ready);
	assert_false(auth_want_request(a, 0, &url, &req));
	assert_int_equal(auth_next_ms(a), INT64_MAX);
	auth_free(a);

	/* A static header needs no token request, and a 401 does not take
	 * it away. */
	c = cfg_of(AUTH_BEARER);
	c.target.auth.token = "tok-1";
	a = auth_new(&c);
	assert_non_null(a);
	assert_false(auth_want_request(a, 0, &url, &req));
	auth_invalidate(a, auth_generation(a));
	assert_string_equal(auth_header(a, 0, &ready),
	                    "Authorization: Bearer tok-1");
	assert_true(ready);
	assert_int_equal(auth_refreshes(a), 0);
	auth_free(a);
}

/* ---- OAuth2 client credentials ---- */

static struct config oauth_cfg(void)
{
	struct config c = cfg_of(AUTH_OAUTH2_CC);

	c.target.auth.token_url = "https://idp.example/oauth2/token";
	c.target.auth.client_id = "client-1";
	c.target.auth.client_secret = "s3cret";
	return c;
}

static struct api_response answer(long status, const char *body)
{
	struct api_response r = {
	    .status = status,
	    .body = body,
	    .body_len = strlen(body),
	    .retry_after_s = -1,
	};

	return r;
}

/* auth_want_request at now, and the body of the request it fills. */
static void expect_token_request(struct auth *a, int64_t now, const char *body)
{
	struct api_request req;
	const char *url = NULL;

	assert_true(auth_want_request(a, now, &url, &req));
	assert_string_equal(url, "https://idp.example/oauth2/token");
	assert_int_equal(req.method, HTTP_POST);
	assert_string_equal(req.content_type,
	                    "application/x-www-form-urlencoded");
	assert_string_equal(req.body, body);
	/* The client authenticates in the form body (RFC 6749 §2.3.1):
	 * no other header, no If-Match. */
	assert_null(req.extra_header);
	assert_null(req.if_match);
	assert_null(req.path);
	api_request_done(&req);
}

static void token_request_shape(void **state)
{
	char *scopes[] = {"customers.read", "customers.write", NULL};
	struct config c = oauth_cfg();
	struct auth *a;
	bool ready = true;

	(void)state;
	a = auth_new(&c);
	assert_non_null(a);
	/* Nothing yet: requests wait. */
	assert_null(auth_header(a, 0, &ready));
	assert_false(ready);
	expect_token_request(a, 0,
	                     "grant_type=client_credentials&client_id=client-1"
	                     "&client_secret=s3cret");
	auth_free(a);

	/* Scopes joined by spaces, everything form-escaped. */
	c.target.auth.client_id = "id with space&more";
	c.target.auth.client_secret = "p=w+d/%";
	c.target.auth.scopes = scopes;
	c.target.auth.n_scopes = 2;
	a = auth_new(&c);
	assert_non_null(a);
	expect_token_request(a, 0,
	                     "grant_type=client_credentials"
	                     "&client_id=id%20with%20space%26more"
	                     "&client_secret=p%3Dw%2Bd%2F%25"
	                     "&scope=customers.read%20customers.write");
	auth_free(a);
}

/* One token request at a time; none while the token is good; the next
 * one at 90% of its lifetime, when requests start waiting for it. */
static void refresh_timing(void **state)
{
	struct config c = oauth_cfg();
	struct api_response r;
	struct api_request req;
	const char *url;
	struct auth *a;
	bool ready;

	(void)state;
	a = auth_new(&c);
	assert_non_null(a);
	assert_true(auth_want_request(a, NOW, &url, &req));
	api_request_done(&req);
	/* In flight: no second request, and no retry timer. */
	assert_false(auth_want_request(a, NOW, &url, &req));
	assert_int_equal(auth_next_ms(a), INT64_MAX);
	r = answer(200, "{\"access_token\":\"t-1\",\"token_type\":\"Bearer\","
	                "\"expires_in\":100}");
	assert_true(auth_on_response(a, &r, NOW + 50));
	assert_int_equal(auth_refreshes(a), 1);
	assert_int_equal(auth_next_ms(a), INT64_MAX);

	/* The lifetime counts from the answer: 90 s after NOW + 50. */
	assert_false(auth_want_request(a, NOW + 50 + 89999, &url, &req));
	assert_string_equal(auth_header(a, NOW + 50 + 89999, &ready),
	                    "Authorization: Bearer t-1");
	assert_true(ready);
	assert_null(auth_header(a, NOW + 50 + 90000, &ready));
	assert_false(ready);
	assert_true(auth_want_request(a, NOW + 50 + 90000, &url, &req));
	api_request_done(&req);
	r = answer(200, "{\"access_token\":\"t-2\",\"expires_in\":100}");
	assert_true(auth_on_response(a, &r, NOW + 90100));
	assert_string_equal(auth_header(a, NOW + 90100, &ready),
	                    "Authorization: Bearer t-2");
	assert_int_equal(auth_refreshes(a), 2);
	auth_free(a);
}

/* A failed token request is retried after a backoff that grows to
 * retry.max_backoff_ms; requests keep waiting, and a success resets
 * it. */
static void failure_backoff(void **state)
{
	static const struct {
		long status;
		const char *body;
		int64_t lo, hi; /* the delay, initial 200 ms, max 1000 ms */
	} fails[] = {
	    {401, "{\"error\":\"invalid_client\"}", 100, 200},
	    {0, "", 200, 400},
	    {200, "{\"token_type\":\"Bearer\"}", 400, 800},
	    {500, "not json", 500, 1000},
	    {503, "", 500, 1000},
	};
	struct config c = oauth_cfg();
	struct api_response r;
	struct api_request req;
	const char *url;
	struct auth *a;
	int64_t now = NOW, next;
	bool ready;

	(void)state;
	a = auth_new(&c);
	assert_non_null(a);
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		assert_true(auth_want_request(a, now, &url, &req));
		api_request_done(&req);
		/* The retry timer is off while the request runs. */
		assert_int_equal(auth_next_ms(a), INT64_MAX);
		r = answer(fails[i].status, fails[i].body);
		r.error = fails[i].status ? NULL : "Connection refused";
		assert_false(auth_on_response(a, &r, now));
		assert_null(auth_header(a, now, &ready));
		assert_false(ready);
		next = auth_next_ms(a);
		if (next - now < fails[i].lo || next - now > fails[i].hi)
			fail_msg("failure %zu: retry in %lld ms", i + 1,
			         (long long)(next - now));
		/* Not before its time. */
		assert_false(auth_want_request(a, next - 1, &url, &req));
		now = next;
	}
	assert_int_equal(auth_refreshes(a), 0);
	assert_true(auth_want_request(a, now, &url, &req));
	api_request_done(&req);
	r = answer(200, "{\"access_token\":\"t\",\"expires_in\":1}");
	assert_true(auth_on_response(a, &r, now));
	assert_int_equal(auth_next_ms(a), INT64_MAX);
	/* Expired (900 ms) and failing again: the backoff starts over. */
	now += 900;
	assert_true(auth_want_request(a, now, &url, &req));
	api_request_done(&req);
	r = answer(400, "{\"error\":\"invalid_grant\"}");
	assert_false(auth_on_response(a, &r, now));
	next = auth_next_ms(a);
	assert_true(next - now >= 100 && next - now <= 200);
	auth_free(a);
}

/* A 401 names the token generation it was sent with: only the current
 * token is thrown away, so a late 401 of an old token does not cost a
 * new one. */
static void invalidate_by_generation(void **state)
{
	struct config c = oauth_cfg();
	struct api_response r;
	struct api_request req;
	const char *url;
	struct auth *a;
	unsigned long g1, g2;
	bool ready;

	(void)state;
	a = auth_new(&c);
	assert_non_null(a);
	assert_int_equal(auth_generation(a), 0);
	assert_true(auth_want_request(a, NOW, &url, &req));
	api_request_done(&req);
	r = answer(200, "{\"access_token\":\"t-1\",\"expires_in\":3600}");
	assert_true(auth_on_response(a, &r, NOW));
	g1 = auth_generation(a);
	assert_int_equal(g1, 1);

	/* A generation that is not the current one: kept. */
	auth_invalidate(a, g1 - 1);
	auth_invalidate(a, g1 + 1);
	assert_string_equal(auth_header(a, NOW + 1, &ready),
	                    "Authorization: Bearer t-1");
	assert_false(auth_want_request(a, NOW + 1, &url, &req));

	/* The current one: requests wait, a new token is asked for at
	 * once. */
	auth_invalidate(a, g1);
	assert_null(auth_header(a, NOW + 1, &ready));
	assert_false(ready);
	assert_true(auth_want_request(a, NOW + 1, &url, &req));
	api_request_done(&req);
	r = answer(200, "{\"access_token\":\"t-2\",\"expires_in\":3600}");
	assert_true(auth_on_response(a, &r, NOW + 2));
	g2 = auth_generation(a);
	assert_int_equal(g2, 2);

	/* The 401 of a request sent with t-1 arrives late. */
	auth_invalidate(a, g1);
	assert_string_equal(auth_header(a, NOW + 3, &ready),
	                    "Authorization: Bearer t-2");
	assert_true(ready);
	assert_false(auth_want_request(a, NOW + 3, &url, &req));
	assert_int_equal(auth_refreshes(a), 2);
	auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(static_schemes),
	    cmocka_unit_test(unchecked_secrets_refused),
	    cmocka_unit_test(token_from_endpoint_checked),
	    cmocka_unit_test(test_expires_in),
	    cmocka_unit_test(test_expires_in_unusable),
	    cmocka_unit_test(static_scheme_details),
	    cmocka_unit_test(token_request_shape),
	    cmocka_unit_test(refresh_timing),
	    cmocka_unit_test(failure_backoff),
	    cmocka_unit_test(invalidate_by_generation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
