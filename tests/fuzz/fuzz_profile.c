/* Each profile's response parsers (worker/profiles/, through struct
 * profile_ops): whatever a partner API answers, custsync reads it or
 * calls it unreadable, and never crashes or leaks.
 *
 * Input:
 *   1 byte    the profile: profiles[byte % N_PROFILES]
 *   1 byte    the HTTP status: statuses[byte % N_STATUSES]
 *   1 byte    flags: FLAG_ETAG (the answer has an ETag header),
 *             FLAG_ALL (the event's key is "All", wms' list look-up),
 *             FLAG_NUMBER (target.short_id: number)
 *   the rest  the body */
#include "fuzz.h"

#include "config/config.h"
#include "core/event.h"
#include "profiles/profile.h"
#include "core/request.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

enum { FLAG_ETAG = 1, FLAG_ALL = 2, FLAG_NUMBER = 4 };

static const char *const profiles[] = {"alvys", "wms", "portal", "engage"};
#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

static const long statuses[] = {
    200, 201, 204, 400, 401, 403, 404, 405, 409,
    412, 415, 422, 428, 429, 500, 503, 0,   302,
};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

#define CUSTOMER                                                              \
	"{\"name\":\"Acme\",\"number\":\"N-1\",\"external_id\":\"K1\","       \
	"\"email\":[\"a@x.test\"],\"phone\":[\"555-1\"],"                     \
	"\"status\":\"active\"}"

static void terminated(const char *buf, size_t len)
{
	if (!memchr(buf, '\0', len))
		abort();
}

static void responses(const struct profile_ops *p, const struct config *cfg,
                      const struct change *ch, const struct api_response *r)
{
	struct api_request req;
	const char *code = NULL;
	char *id = NULL, *etag = NULL, *field = NULL, msg[400];
	cJSON *record = NULL;
	int rc;

	rc = p->lookup_parse(cfg, ch, r, &id, &record);
	if (rc == 1 && !id)
		abort();
	free(id);
	cJSON_Delete(record);
	id = NULL;
	record = NULL;
	if (rc == 0 && p->lookup_next &&
	    p->lookup_next(cfg, ch, r, &req) == 0) {
		if (!req.path)
			abort();
		api_request_done(&req);
	}
	/* A 204 may leave all three NULL: only what is set is freed. */
	p->write_result(r, &id, &etag, &record);
	free(id);
	free(etag);
	cJSON_Delete(record);
	id = NULL;
	p->conflict(r, &field, &id);
	free(field);
	free(id);
	memset(msg, 'X', sizeof(msg));
	p->error_message(r, &code, msg, sizeof(msg));
	terminated(msg, sizeof(msg));
}

/* The record inside a body, its comparable form, and whether it is a
 * deleted one. */
static void records(const struct profile_ops *p, const struct config *cfg,
                    const struct api_response *r)
{
	cJSON *body = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *rec = body ? p->record_of(body) : NULL;

	if (rec) {
		cJSON_Delete(p->project(rec));
		p->is_deleted(cfg, rec);
	}
	if (cJSON_IsObject(body)) {
		cJSON_Delete(p->project(body));
		p->is_deleted(cfg, body);
	}
	cJSON_Delete(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	const struct profile_ops *p;
	struct api_response r;
	struct config cfg;
	struct change ch;
	uint8_t flags;
	const uint8_t *b;
	size_t n;
	char *body;

	p = profile_find(profiles[fuzz_byte(&in) % N_PROFILES]);
	if (!p)
		abort();
	memset(&r, 0, sizeof(r));
	r.status = statuses[fuzz_byte(&in) % N_STATUSES];
	flags = fuzz_byte(&in);
	b = fuzz_bytes(&in, in.n, &n);
	body = malloc(n + 1);
	if (!body)
		return 0;
	memcpy(body, b, n);
	body[n] = '\0';
	r.body = body;
	r.body_len = n;
	r.etag = (flags & FLAG_ETAG) ? "\"e-1\"" : NULL;
	r.retry_after_s = -1;
	r.error = r.status ? NULL : "Connection refused";
	memset(&cfg, 0, sizeof(cfg));
	if (flags & FLAG_NUMBER)
		cfg.target.short_id = SHORT_ID_NUMBER;
	memset(&ch, 0, sizeof(ch));
	ch.op = CHANGE_UPSERT;
	ch.event_id = "e-1";
	ch.key = (flags & FLAG_ALL) ? "All" : "K1";
	ch.customer = cJSON_Parse(CUSTOMER);
	if (ch.customer) {
		responses(p, &cfg, &ch, &r);
		records(p, &cfg, &r);
	}
	cJSON_Delete(ch.customer);
	free(body);
	return 0;
}
