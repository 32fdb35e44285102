#include "edge/auth.h"

#include "daemon/backoff.h"
#include "config/config.h"
#include "edge/http.h"
#include "ops/log.h"
#include "lib/convert.h"
#include "lib/num.h"
#include "core/request.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ten years: a longer lifetime is no lifetime (used until a 401). */
#define AUTH_TTL_MAX_S (10LL * 366 * 86400)

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

struct auth {
	const struct config *cfg;
	char *header;       /* current "Authorization: Bearer …" */
	int64_t refresh_at; /* when to fetch the next token */
	int64_t retry_at;   /* after a failed token request */
	int failures;
	bool in_flight;
	unsigned long refreshes; /* also the token's generation */
};

/* "name: prefix value" through http's one header builder, which refuses
 * what a header cannot carry (config/values.c has refused it already; a token
 * from the token endpoint is checked only here). NULL when refused or
 * out of memory. */
static char *header_line(const char *name, const char *prefix,
                         const char *value)
{
	size_t n = strlen(prefix) + strlen(value) + 1;
	char *v = malloc(n), *h = NULL;

	if (!v)
		return NULL;
	snprintf(v, n, "%s%s", prefix, value);
	if (http_header_line(name, v, HTTP_VALUE_CHECKED, &h))
		h = NULL;
	wipe(v);
	return h;
}

char *auth_basic_line(const char *user, const char *pass)
{
	char *plain, *b64, *h = NULL;
	size_t n = strlen(user) + strlen(pass) + 2;

	plain = malloc(n);
	if (!plain)
		return NULL;
	snprintf(plain, n, "%s:%s", user, pass);
	b64 = conv_base64((const uint8_t *)plain, strlen(plain));
	explicit_bzero(plain, strlen(plain));
	free(plain);
	if (b64)
		h = header_line("Authorization", "Basic ", b64);
	wipe(b64);
	return h;
}

/* The header of the schemes that need no token request. */
static char *static_header(const struct config *cfg)
{
	switch (cfg->target.auth.type) {
	case AUTH_BEARER:
		return header_line("Authorization", "Bearer ",
		                   cfg->target.auth.token);
	case AUTH_API_KEY:
		return header_line(cfg->target.auth.header
		                       ? cfg->target.auth.header
		                       : "X-API-Key",
		                   "", cfg->target.auth.key);
	case AUTH_BASIC:
		return auth_basic_line(cfg->target.auth.username,
		                       cfg->target.auth.password);
	default:
		return NULL;
	}
}

struct auth *auth_new(const struct config *cfg)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->cfg = cfg;
	a->refresh_at = INT64_MAX;
	a->header = static_header(cfg);
	if (cfg->target.auth.type != AUTH_NONE &&
	    cfg->target.auth.type != AUTH_OAUTH2_CC && !a->header) {
		free(a);
		return NULL;
	}
	return a;
}

struct auth *auth_free(struct auth *a)
{
	if (!a)
		return NULL;
	wipe(a->header);
	free(a);
	return NULL;
}

const char *auth_header(struct auth *a, int64_t now_ms, bool *ready)
{
	if (a->cfg->target.auth.type != AUTH_OAUTH2_CC) {
		*ready = true;
		return a->header;
	}
	*ready = a->header && now_ms < a->refresh_at;
	return *ready ? a->header : NULL;
}

static char *form_escape(CURL *e, const char *s)
{
	return curl_easy_escape(e, s ? s : "", 0);
}

/* grant_type, client credentials and scopes in the form body (RFC 6749
 * §2.3.1 allows the body as well as HTTP Basic). */
static char *token_body(const struct config *cfg)
{
	CURL *e = curl_easy_init();
	char scope[1024] = "", *id, *secret, *sc, *out = NULL;
	size_t n;

	if (!e)
		return NULL;
	for (size_t i = 0; i < cfg->target.auth.n_scopes; i++) {
		size_t used = strlen(scope);

		snprintf(scope + used, sizeof(scope) - used, "%s%s",
		         used ? " " : "", cfg->target.auth.scopes[i]);
	}
	id = form_escape(e, cfg->target.auth.client_id);
	secret = form_escape(e, cfg->target.auth.client_secret);
	sc = form_escape(e, scope);
	if (id && secret && sc) {
		n = strlen(id) + strlen(secret) + strlen(sc) + 96;
		out = malloc(n);
		if (out)
			snprintf(out, n,
			         "grant_type=client_credentials&client_id=%s"
			         "&client_secret=%s%s%s",
			         id, secret, sc[0] ? "&scope=" : "", sc);
	}
	if (secret)
		explicit_bzero(secret, strlen(secret));
	curl_free(id);
	curl_free(secret);
	curl_free(sc);
	curl_easy_cleanup(e);
	return out;
}

bool auth_want_request(struct auth *a, int64_t now_ms, const char **url,
                       struct api_request *req)
{
	bool ready;

	if (a->cfg->target.auth.type != AUTH_OAUTH2_CC || a->in_flight ||
	    now_ms < a->retry_at)
		return false;
	auth_header(a, now_ms, &ready);
	if (ready)
		return false;
	memset(req, 0, sizeof(*req));
	req->method = HTTP_POST;
	req->body = token_body(a->cfg);
	req->content_type = "application/x-www-form-urlencoded";
	req->token_endpoint = 1;
	if (!req->body)
		return false;
	*url = a->cfg->target.auth.token_url;
	a->in_flight = true;
	return true;
}

static bool failed(struct auth *a, int64_t now_ms, const char *why,
                   long status)
{
	int64_t d;

	a->failures++;
	d = backoff_delay_ms(a->failures, a->cfg->retry.initial_backoff_ms,
	                     a->cfg->retry.max_backoff_ms, (uint32_t)rand());
	a->retry_at = now_ms + d;
	/* Events wait for a token rather than fail: a credentials problem
	 * is fixed by a person, and the events must still be there. */
	log_kv(LOG_ERR, "token request failed", LOG_N("status", status),
	       LOG_S("reason", why), LOG_N("attempt", a->failures),
	       LOG_N("retry_in_ms", d));
	return false;
}

bool auth_on_response(struct auth *a, const struct api_response *r,
                      int64_t now_ms)
{
	cJSON *doc;
	const cJSON *tok, *exp;
	int64_t ttl;
	char *header;

	a->in_flight = false;
	if (r->status == 0)
		return failed(a, now_ms, r->error, 0);
	doc = cJSON_ParseWithLength(r->body, r->body_len);
	tok = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
	exp = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
	if (r->status != 200 || !cJSON_IsString(tok)) {
		const cJSON *e =
		    cJSON_GetObjectItemCaseSensitive(doc, "error");
		char why[128];

		snprintf(why, sizeof(why), "%s",
		         cJSON_IsString(e) ? e->valuestring
		                           : "no access_token in the answer");
		cJSON_Delete(doc);
		return failed(a, now_ms, why, r->status);
	}
	header = header_line("Authorization", "Bearer ", tok->valuestring);
	if (!header) {
		char b[64], why[96];
		const char *p =
		    http_value_problem(tok->valuestring, false, b, sizeof(b));

		/* Named, never shown: it is a credential. */
		if (p)
			snprintf(why, sizeof(why),
			         "access_token has %s, which a header "
			         "cannot carry",
			         p);
		else
			snprintf(why, sizeof(why), "out of memory");
		cJSON_Delete(doc);
		return failed(a, now_ms, why, r->status);
	}
	wipe(a->header);
	a->header = header;
	/* Refresh at 90% of the lifetime so requests rarely meet an expired
	 * token; a token without a usable expires_in (absent, not a whole
	 * number of seconds, below 1 or beyond AUTH_TTL_MAX_S) is used
	 * until a 401. */
	if (num_json_int(exp, 1, AUTH_TTL_MAX_S, &ttl))
		ttl = 0;
	a->refresh_at = ttl > 0 ? now_ms + ttl * 900 : INT64_MAX;
	a->failures = 0;
	a->retry_at = 0;
	a->refreshes++;
	cJSON_Delete(doc);
	log_kv(LOG_INFO, "token acquired", LOG_N("expires_in_s", ttl));
	return true;
}

unsigned long auth_generation(const struct auth *a)
{
	return a->refreshes;
}

void auth_invalidate(struct auth *a, unsigned long generation)
{
	if (a->cfg->target.auth.type == AUTH_OAUTH2_CC &&
	    generation == a->refreshes)
		a->refresh_at = 0;
}

int64_t auth_next_ms(const struct auth *a)
{
	return a->retry_at > 0 && !a->in_flight ? a->retry_at : INT64_MAX;
}

unsigned long auth_refreshes(const struct auth *a)
{
	return a->refreshes;
}
