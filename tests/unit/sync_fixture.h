/* The fixture that drives sync.c through one profile in unit tests: a
 * change, a job, a cache, and answers the way the partner would give
 * them. Include after <cmocka.h>. */
#ifndef CUSTSYNC_TEST_SYNC_FIXTURE_H
#define CUSTSYNC_TEST_SYNC_FIXTURE_H

#include "core/cache.h"
#include "config/config.h"
#include "core/event.h"
#include "core/keyindex.h"
#include "profiles/profile.h"
#include "core/request.h"
#include "core/sync.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

struct fx {
	struct config cfg; /* zero: every profile setting at its default */
	struct cache *cache;
	/* NULL unless a test sets it: an indexed profile then looks every
	 * key up on its own, as when its list cannot be read. */
	struct keyindex *index;
	struct change ch;
	struct sync_job job;
	const struct profile_ops *p;
};

static inline int fx_setup(void **state, const char *profile)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->cache = cache_new(100);
	f->p = profile_find(profile);
	assert_non_null(f->p);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *f = *state;

	sync_done(&f->job);
	change_done(&f->ch);
	cache_free(f->cache);
	keyindex_free(f->index);
	free(f);
	return 0;
}

/* A new event (customer is JSON text or NULL) and a fresh job for it. */
static inline void set_change(struct fx *f, enum change_op op, const char *key,
                              const char *customer)
{
	change_done(&f->ch);
	sync_done(&f->job);
	memset(&f->ch, 0, sizeof(f->ch));
	f->ch.op = op;
	f->ch.key = strdup(key);
	f->ch.event_id = strdup("e-1");
	f->ch.customer = customer ? cJSON_Parse(customer) : NULL;
	if (customer)
		assert_non_null(f->ch.customer);
	sync_init(&f->job, &f->ch, f->p, &f->cfg, f->cache, f->index);
}

static inline struct api_response resp_etag(long status, const char *body,
                                            const char *etag)
{
	struct api_response r = {
	    .status = status,
	    .body = body ? body : "",
	    .body_len = body ? strlen(body) : 0,
	    .etag = etag,
	    .retry_after_s = -1,
	};
	return r;
}

static inline struct api_response resp(long status, const char *body)
{
	return resp_etag(status, body, NULL);
}

static inline enum sync_next answer_etag(struct fx *f, long status,
                                         const char *body, const char *etag)
{
	struct api_response r = resp_etag(status, body, etag);

	return sync_on_response(&f->job, &r);
}

static inline enum sync_next answer(struct fx *f, long status,
                                    const char *body)
{
	return answer_etag(f, status, body, NULL);
}

/* The body of the request the job wants to send, parsed. */
static inline cJSON *req_body(struct fx *f)
{
	cJSON *b;

	assert_non_null(f->job.req.body);
	b = cJSON_Parse(f->job.req.body);
	assert_non_null(b);
	return b;
}

static inline const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#endif
