/* auth.c: the header lines it builds from config and from the token
 * endpoint, and the token answer's expires_in as the refresh time. */
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

static bool token_from(const char *body, struct config *cfg,
		       struct auth **out)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(static_schemes),
	    cmocka_unit_test(unchecked_secrets_refused),
	    cmocka_unit_test(token_from_endpoint_checked),
	    cmocka_unit_test(test_expires_in),
	    cmocka_unit_test(test_expires_in_unusable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
