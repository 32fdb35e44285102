/* auth.c: the token answer's expires_in becomes the refresh time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "config.h"
#include "request.h"

#include <string.h>

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
		cmocka_unit_test(test_expires_in),
		cmocka_unit_test(test_expires_in_unusable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
