#include "edge/registry.h"

#include "config/config.h"
#include "core/avro.h"
#include "core/request.h"
#include "core/schemacache.h"
#include "daemon/backoff.h"
#include "edge/auth.h"
#include "edge/http.h"
#include "lib/clock.h"
#include "ops/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids the registry said it has no usable schema for, remembered so their
 * records fail at once; the oldest goes first when full (it is only
 * asked again). */
#define UNKNOWN_MAX 256
/* A registry is infrastructure beside the broker: once it answers again,
 * records should go on within seconds, whatever retry.max_backoff_ms
 * says for the partner API. */
#define RETRY_MAX_MS 10000

struct fetch {
	struct registry *r;
	uint32_t id;
	struct http_call *call; /* NULL while waiting for due */
	int failures;
	int64_t due; /* next attempt; 0 while in flight */
};

struct unknown {
	uint32_t id;
	char why[160];
};

struct registry {
	const struct config *cfg;
	struct http *http;
	struct http_route route;
	char *authorization; /* NULL without username */
	struct schema_cache *cache;
	registry_resolved_fn *resolved;
	void *arg;

	struct fetch **fetch; /* running or waiting for a retry */
	size_t n_fetch, cap_fetch;
	struct unknown unknown[UNKNOWN_MAX];
	size_t n_unknown, next_unknown;
	size_t in_flight;
	bool stopped;
	bool warned; /* since the last answer that resolved something */
};

static void start(struct registry *r, struct fetch *f);

struct registry *registry_new(const struct config *cfg, struct http *h,
                              registry_resolved_fn *resolved, void *arg)
{
	const typeof(cfg->input.schema_registry) *c =
	    &cfg->input.schema_registry;
	struct registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = cfg;
	r->http = h;
	r->resolved = resolved;
	r->arg = arg;
	r->route = (struct http_route){&c->tls, &c->proxy, c->timeout_ms};
	r->cache = schema_cache_new((size_t)c->cache_size);
	if (c->username &&
	    !(r->authorization = auth_basic_line(c->username, c->password)))
		goto fail;
	if (!r->cache)
		goto fail;
	return r;
fail:
	registry_free(r);
	return NULL;
}

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void registry_stop(struct registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_fetch; i++) {
		if (r->fetch[i]->call)
			http_cancel(r->http, r->fetch[i]->call);
		free(r->fetch[i]);
	}
	r->n_fetch = 0;
	r->in_flight = 0;
	r->stopped = true;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	registry_stop(r);
	free(r->fetch);
	schema_cache_free(r->cache);
	wipe(r->authorization);
	free(r);
}

static const struct unknown *find_unknown(const struct registry *r,
                                          uint32_t id)
{
	for (size_t i = 0; i < r->n_unknown; i++)
		if (r->unknown[i].id == id)
			return &r->unknown[i];
	return NULL;
}

static struct fetch *find_fetch(const struct registry *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_fetch; i++)
		if (r->fetch[i]->id == id)
			return r->fetch[i];
	return NULL;
}

static void drop_fetch(struct registry *r, struct fetch *f)
{
	for (size_t i = 0; i < r->n_fetch; i++)
		if (r->fetch[i] == f) {
			r->fetch[i] = r->fetch[--r->n_fetch];
			break;
		}
	free(f);
}

static void remember_unknown(struct registry *r, uint32_t id, const char *why)
{
	struct unknown *u;

	if (r->n_unknown < UNKNOWN_MAX) {
		u = &r->unknown[r->n_unknown++];
	} else {
		u = &r->unknown[r->next_unknown];
		r->next_unknown = (r->next_unknown + 1) % UNKNOWN_MAX;
	}
	u->id = id;
	snprintf(u->why, sizeof(u->why), "%s", why);
}

/* Confluent's error body: {"error_code": 40403, "message": ...}. */
static bool schema_not_found(const char *body, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *code =
	    cJSON_GetObjectItemCaseSensitive(root, "error_code");
	bool found = cJSON_IsNumber(code) && code->valuedouble == 40403;

	cJSON_Delete(root);
	return found;
}

enum registry_answer registry_read_answer(const struct api_response *resp,
                                          struct avrodec_schema **out,
                                          char *why, size_t size)
{
	struct avrodec_err err = {0};
	const cJSON *schema, *type;
	cJSON *root;

	*out = NULL;
	if (resp->status == 0) {
		snprintf(why, size, "%s",
		         resp->error ? resp->error : "no answer");
		return REGISTRY_ANSWER_RETRY;
	}
	if (resp->status == 404 && !resp->truncated &&
	    schema_not_found(resp->body, resp->body_len)) {
		snprintf(why, size, "the registry does not know it (40403)");
		return REGISTRY_ANSWER_UNKNOWN;
	}
	if (resp->status != 200) {
		snprintf(why, size, "the registry answered %ld%s",
		         resp->status,
		         resp->status == 404 ? " without error_code 40403 "
		                               "(is the url right?)"
		                             : "");
		return REGISTRY_ANSWER_RETRY;
	}
	if (resp->truncated) {
		snprintf(why, size,
		         "the schema is longer than "
		         "target.max_response_bytes");
		return REGISTRY_ANSWER_UNKNOWN;
	}
	root = cJSON_ParseWithLength(resp->body, resp->body_len);
	schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	type = cJSON_GetObjectItemCaseSensitive(root, "schemaType");
	if (!cJSON_IsString(schema)) {
		/* A proxy's error page, a half-written answer: ask again. */
		snprintf(why, size, "the registry's answer has no schema");
		cJSON_Delete(root);
		return REGISTRY_ANSWER_RETRY;
	}
	/* Absent means AVRO, the registry's default type. */
	if (type && !(cJSON_IsString(type) &&
	              strcmp(type->valuestring, "AVRO") == 0)) {
		snprintf(why, size, "it is a %.32s schema, not Avro",
		         cJSON_IsString(type) ? type->valuestring : "?");
		cJSON_Delete(root);
		return REGISTRY_ANSWER_UNKNOWN;
	}
	*out = avrodec_schema_parse(schema->valuestring,
	                            strlen(schema->valuestring), &err);
	cJSON_Delete(root);
	if (!*out) {
		snprintf(why, size, "its schema does not parse: %.100s",
		         err.message);
		return REGISTRY_ANSWER_UNKNOWN;
	}
	return REGISTRY_ANSWER_KNOWN;
}

static void on_answer(void *arg, const struct api_response *resp)
{
	struct fetch *f = arg;
	struct registry *r = f->r;
	struct avrodec_schema *s;
	char why[160];
	int64_t wait;

	f->call = NULL;
	r->in_flight--;
	switch (registry_read_answer(resp, &s, why, sizeof(why))) {
	case REGISTRY_ANSWER_KNOWN:
		schema_cache_put(r->cache, f->id, s);
		log_kv(LOG_INFO, "schema fetched", LOG_N("schema_id", f->id),
		       LOG_N("attempts", f->failures + 1));
		break;
	case REGISTRY_ANSWER_UNKNOWN:
		remember_unknown(r, f->id, why);
		log_kv(LOG_WARNING, "schema unusable; its records fail",
		       LOG_N("schema_id", f->id), LOG_S("reason", why));
		break;
	case REGISTRY_ANSWER_RETRY:
		f->failures++;
		wait = backoff_delay_ms(
		    f->failures, r->cfg->retry.initial_backoff_ms,
		    r->cfg->retry.max_backoff_ms < RETRY_MAX_MS
		        ? r->cfg->retry.max_backoff_ms
		        : RETRY_MAX_MS,
		    (uint32_t)rand());
		f->due = clock_mono_ms() + wait;
		/* Once per outage, then debug: the pause says the rest. */
		log_kv(r->warned ? LOG_DEBUG : LOG_WARNING,
		       "schema registry unavailable; consumption waits",
		       LOG_N("schema_id", f->id), LOG_S("reason", why),
		       LOG_N("retry_in_ms", wait));
		r->warned = true;
		return;
	}
	r->warned = false;
	drop_fetch(r, f);
	r->resolved(r->arg);
}

static void start(struct registry *r, struct fetch *f)
{
	struct api_request req = {.method = HTTP_GET,
	                          .scope = "schema registry",
	                          .route = &r->route};
	char url[2048];

	snprintf(url, sizeof(url), "%s/schemas/ids/%u",
	         r->cfg->input.schema_registry.url, (unsigned)f->id);
	f->due = 0;
	f->call = http_submit(r->http, url, &req, r->authorization, NULL,
	                      on_answer, f);
	if (!f->call) {
		/* Out of memory or handles: as a failed fetch. */
		f->failures++;
		f->due = clock_mono_ms() + r->cfg->retry.initial_backoff_ms;
		return;
	}
	r->in_flight++;
}

enum registry_state registry_want(struct registry *r, uint32_t id)
{
	struct fetch *f, **grown;

	if (schema_cache_get(r->cache, id))
		return REGISTRY_KNOWN;
	if (find_unknown(r, id))
		return REGISTRY_UNKNOWN;
	if (r->stopped || find_fetch(r, id))
		return REGISTRY_WAITING;
	if (r->n_fetch == r->cap_fetch) {
		size_t cap = r->cap_fetch ? r->cap_fetch * 2 : 8;

		grown = realloc(r->fetch, cap * sizeof(*grown));
		if (!grown)
			return REGISTRY_WAITING;
		r->fetch = grown;
		r->cap_fetch = cap;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return REGISTRY_WAITING;
	f->r = r;
	f->id = id;
	r->fetch[r->n_fetch++] = f;
	start(r, f);
	return REGISTRY_WAITING;
}

const struct avrodec_schema *registry_schema_of(void *arg, uint32_t id,
                                                char *why, size_t size)
{
	struct registry *r = arg;
	const struct avrodec_schema *s = schema_cache_get(r->cache, id);
	const struct unknown *u;

	if (s)
		return s;
	u = find_unknown(r, id);
	/* The gate let the record in once its id was answered: gone
	 * now, it was evicted by cache_size other ids since. */
	snprintf(why, size, "%s",
	         u ? u->why
	           : "evicted from the schema cache since the record "
	             "arrived (raise input.schema_registry.cache_size)");
	return NULL;
}

int64_t registry_next_ms(const struct registry *r)
{
	int64_t next = 0;

	for (size_t i = 0; i < r->n_fetch; i++) {
		int64_t due = r->fetch[i]->due;

		if (due && (!next || due < next))
			next = due;
	}
	return next;
}

void registry_run(struct registry *r, int64_t now_ms)
{
	for (size_t i = 0; i < r->n_fetch; i++) {
		struct fetch *f = r->fetch[i];

		if (!f->call && f->due && f->due <= now_ms)
			start(r, f);
	}
}

bool registry_failing(const struct registry *r)
{
	for (size_t i = 0; i < r->n_fetch; i++)
		if (r->fetch[i]->failures > 0)
			return true;
	return false;
}

size_t registry_in_flight(const struct registry *r)
{
	return r->in_flight;
}
