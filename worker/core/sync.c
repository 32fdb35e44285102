#include "core/sync.h"

#include "core/cache.h"
#include "config/config.h"
#include "core/event.h"
#include "core/keyindex.h"
#include "core/merge_patch.h"
#include "lib/utf8.h"
#include "profiles/kit.h"
#include "profiles/profile.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sync_init(struct sync_job *j, const struct change *ch,
               const struct profile_ops *p, const struct config *cfg,
               struct cache *cache, struct keyindex *index)
{
	memset(j, 0, sizeof(*j));
	j->change = ch;
	j->profile = p;
	j->cfg = cfg;
	j->cache = cache;
	j->index = (p->flags & PROFILE_INDEXED) ? index : NULL;
	j->max_attempts = cfg->retry.max_attempts;
	j->retry_after_s = -1;
}

static bool has(const struct sync_job *j, unsigned flag)
{
	return (j->profile->flags & flag) != 0;
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
}

/* An id that names nothing: in a path it would become the collection
 * ("/customers/"), in an outcome an empty target_id. */
static bool no_id(const char *id)
{
	if (!id)
		return true;
	for (; *id; id++)
		if (!isspace((unsigned char)*id))
			return false;
	return true;
}

static enum sync_next finish(struct sync_job *j, enum sync_status st,
                             enum sync_action a)
{
	if (j->target_id && no_id(j->target_id)) {
		free(j->target_id);
		j->target_id = NULL;
	}
	j->status = st;
	j->action = st == SYNC_APPLIED ? a : SYNC_ACTION_NONE;
	j->step = SYNC_STEP_NONE;
	api_request_done(&j->req);
	return SYNC_DONE;
}

static enum sync_next fail(struct sync_job *j, const char *code,
                           long http_status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum sync_next fail(struct sync_job *j, const char *code,
                           long http_status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->err_msg, sizeof(j->err_msg), fmt, ap);
	va_end(ap);
	/* A message cut to fit must not end inside a UTF-8 sequence: it
	 * goes into JSON and Kafka headers, which promise UTF-8. */
	utf8_trim(j->err_msg);
	j->err_code = code;
	j->err_http_status = http_status;
	return finish(j, SYNC_FAILED, SYNC_ACTION_NONE);
}

void sync_fail(struct sync_job *j, const char *code, const char *msg)
{
	fail(j, code, 0, "%s", msg);
}

void sync_skip(struct sync_job *j, const char *code, const char *msg)
{
	fail(j, code, 0, "%s", msg);
	j->status = SYNC_SKIPPED;
}

static enum sync_next oom(struct sync_job *j)
{
	return fail(j, "internal", 0, "out of memory");
}

/* The API's words, for a failure the API decided. */
static enum sync_next api_fail(struct sync_job *j, const char *code,
                               const struct api_response *r)
{
	char msg[400];

	/* The API's own code, when it has one, says more than ours. */
	j->profile->error_message(r, &code, msg, sizeof(msg));
	return fail(j, code, r->status, "%s %s: HTTP %ld%s%s",
	            http_method_str(j->req.method), sync_step_str(j->step),
	            r->status, msg[0] ? ": " : "", msg);
}

static enum sync_next refused(struct sync_job *j,
                              const struct profile_error *perr)
{
	return fail(j, perr->code ? perr->code : "validation", 0, "%s",
	            perr->message);
}

static enum sync_next send(struct sync_job *j, enum sync_step step, int rc)
{
	if (rc)
		return oom(j);
	j->step = step;
	return SYNC_SEND;
}

/* An answer that named an empty id: nothing can be read or written by
 * it, and the cache must not keep it. */
static enum sync_next empty_id(struct sync_job *j)
{
	cache_drop(j->cache, j->change->key);
	return fail(j, "invalid_response", j->http_status,
	            "%s %s: HTTP %ld named an empty customer id for key '%s'",
	            http_method_str(j->req.method), sync_step_str(j->step),
	            j->http_status, j->change->key);
}

static enum sync_next send_get(struct sync_job *j)
{
	if (no_id(j->target_id))
		return empty_id(j);
	api_request_done(&j->req);
	return send(j, SYNC_STEP_GET,
	            j->profile->get_request(j->cfg, j->target_id, &j->req));
}

static enum sync_next send_create(struct sync_job *j)
{
	struct profile_error perr;
	cJSON *record = profile_strip_nulls(j->desired);
	int rc;

	if (!record)
		return oom(j);
	memset(&perr, 0, sizeof(perr));
	if (j->profile->validate(record, true, &perr)) {
		cJSON_Delete(record);
		return refused(j, &perr);
	}
	api_request_done(&j->req);
	rc = j->profile->create_request(j->cfg, j->change, record, &j->req);
	cJSON_Delete(record);
	return send(j, SYNC_STEP_CREATE, rc);
}

static enum sync_next not_found(struct sync_job *j)
{
	cache_drop(j->cache, j->change->key);
	switch (j->change->op) {
	case CHANGE_UPDATE:
		/* A search that finds nothing is not an HTTP error. */
		return fail(j, "not_found", j->http_status == 404 ? 404 : 0,
		            "no customer with key '%s' on the target; an "
		            "update cannot create it",
		            j->change->key);
	case CHANGE_DELETE:
		return finish(j, SYNC_UNCHANGED, SYNC_ACTION_NONE);
	default:
		return send_create(j);
	}
}

/* With id, ETag and the current record in hand: the one write the event
 * still needs, or none. A no-op concluded from the cache is confirmed by
 * a read first, since the target may have changed behind our back. */
static enum sync_next decide(struct sync_job *j, bool from_cache)
{
	const struct profile_ops *p = j->profile;
	cJSON *merged, *wanted, *diff;
	struct profile_error perr;
	int rc;

	if (no_id(j->target_id))
		return empty_id(j);
	if (j->change->op == CHANGE_DELETE) {
		if (!p->is_deleted(j->cfg, j->raw ? j->raw : j->current)) {
			memset(&perr, 0, sizeof(perr));
			api_request_done(&j->req);
			rc = p->delete_request(j->cfg, j->target_id, j->etag,
			                       j->raw, &j->req, &perr);
			if (rc == -EINVAL)
				return refused(j, &perr);
			return send(j, SYNC_STEP_DELETE, rc);
		}
		return from_cache
		           ? send_get(j)
		           : finish(j, SYNC_UNCHANGED, SYNC_ACTION_NONE);
	}
	merged = merge_patch_apply(j->current, j->desired);
	wanted = merged ? p->project(merged) : NULL;
	diff = wanted ? merge_patch_diff(j->current, wanted) : NULL;
	cJSON_Delete(merged);
	cJSON_Delete(wanted);
	if (!diff)
		return oom(j);
	if (merge_patch_is_empty(diff)) {
		cJSON_Delete(diff);
		return from_cache
		           ? send_get(j)
		           : finish(j, SYNC_UNCHANGED, SYNC_ACTION_NONE);
	}
	memset(&perr, 0, sizeof(perr));
	if (p->validate(diff, false, &perr)) {
		cJSON_Delete(diff);
		return refused(j, &perr);
	}
	api_request_done(&j->req);
	memset(&perr, 0, sizeof(perr));
	rc = p->update_request(j->cfg, j->change, j->target_id, j->etag, diff,
	                       j->raw, &j->req, &perr);
	cJSON_Delete(diff);
	if (rc == -EINVAL)
		return refused(j, &perr);
	return send(j, SYNC_STEP_UPDATE, rc);
}

/* The external id this event's record carries on the target: what the
 * key index is keyed by and what a found record's owner must be. */
static const char *event_owner(const struct sync_job *j)
{
	const char *o = j->profile->event_owner
	                    ? j->profile->event_owner(j->cfg, j->change)
	                    : NULL;

	return o && *o ? o : NULL;
}

static const char *index_key(const struct sync_job *j)
{
	const char *o = event_owner(j);

	return o ? o : j->change->key;
}

static enum sync_next send_scan(struct sync_job *j, long page)
{
	api_request_done(&j->req);
	j->scan_page = page;
	return send(j, SYNC_STEP_SCAN,
	            j->profile->index_request(j->cfg, page, &j->req));
}

/* With the key index: SYNC_NEXT_MAX when it cannot answer (it failed:
 * look up per key instead), else the next step. */
static enum sync_next use_index(struct sync_job *j)
{
	const char *id;

	switch (keyindex_state(j->index)) {
	case KEYINDEX_STALE:
		keyindex_claim(j->index);
		j->scanning = true;
		return send_scan(j, 1);
	case KEYINDEX_SCANNING:
		return SYNC_WAIT;
	case KEYINDEX_READY:
		id = keyindex_get(j->index, index_key(j));
		if (!id)
			return not_found(j);
		set_str(&j->target_id, id);
		return j->target_id ? send_get(j) : oom(j);
	default:
		return SYNC_NEXT_MAX;
	}
}

/* Where the key's record is: the cache, the key index, or a look-up;
 * a create that needs none goes straight to the API. */
static enum sync_next locate(struct sync_job *j)
{
	const struct change *ch = j->change;
	const struct profile_ops *p = j->profile;
	struct cache_entry ce;
	enum sync_next n;
	int rc;

	if (cache_get(j->cache, ch->key, &ce) == 0) {
		set_str(&j->target_id, ce.id);
		if (!j->target_id)
			return oom(j);
		/* Without ETags a write is only as good as the read before
		 * it: the cache then saves the look-up, not the read. */
		if (!has(j, PROFILE_ETAGS) || !ce.etag || !ce.record)
			return send_get(j);
		set_str(&j->etag, ce.etag);
		j->current = cJSON_Duplicate(ce.record, 1);
		if (!j->etag || !j->current)
			return oom(j);
		return decide(j, true);
	}
	if (j->index && (n = use_index(j)) != SYNC_NEXT_MAX)
		return n;
	if (ch->op == CHANGE_CREATE && !has(j, PROFILE_CREATE_LOOKS_UP))
		return send_create(j);
	rc = p->lookup_request(j->cfg, ch, &j->req);
	if (rc == -EINVAL)
		return fail(j, "validation", 0,
		            "key '%s' cannot be looked up: the event carries "
		            "nothing the %s profile finds customers by",
		            ch->key, p->name);
	return send(j, SYNC_STEP_LOOKUP, rc);
}

enum sync_next sync_resume(struct sync_job *j)
{
	return locate(j);
}

enum sync_next sync_start(struct sync_job *j)
{
	const struct change *ch = j->change;
	const struct profile_ops *p = j->profile;
	struct profile_error perr;
	int rc;

	if (ch->op == CHANGE_SKIP)
		return finish(j, SYNC_SKIPPED, SYNC_ACTION_NONE);
	memset(&perr, 0, sizeof(perr));
	if (ch->op != CHANGE_DELETE) {
		if (p->map(j->cfg, ch, &j->desired, &perr))
			return refused(j, &perr);
		if (ch->op == CHANGE_CREATE) {
			cJSON *rec = profile_strip_nulls(j->desired);

			if (!rec)
				return oom(j);
			rc = p->validate(rec, true, &perr);
			cJSON_Delete(rec);
		} else {
			rc = p->validate(j->desired, false, &perr);
		}
		if (rc)
			return refused(j, &perr);
	}
	return locate(j);
}

static enum sync_retry_reason transient_reason(const struct api_response *r)
{
	if (r->status == 0)
		return r->timed_out ? SYNC_RETRY_REASON_TIMEOUT
		                    : SYNC_RETRY_REASON_CONNECTION;
	if (r->status == 408)
		return SYNC_RETRY_REASON_TIMEOUT;
	if (r->status == 429)
		return SYNC_RETRY_REASON_HTTP_429;
	return SYNC_RETRY_REASON_HTTP_5XX;
}

/* Answers that mean the same at every step. Returns SYNC_NEXT_MAX when
 * the step must decide. */
static enum sync_next classify_common(struct sync_job *j,
                                      const struct api_response *r)
{
	long s = r->status;
	bool transient = s == 0 || s == 408 || (s >= 500 && s != 503) ||
	                 ((s == 503 || s == 429) && r->retry_after_s < 0);

	if (transient) {
		j->failures++;
		if (j->max_attempts > 0 && j->failures >= j->max_attempts)
			return fail(j, "max_attempts", s,
			            "%s %s: gave up after %d attempts: %s",
			            http_method_str(j->req.method),
			            sync_step_str(j->step), j->failures,
			            s ? "server error" : r->error);
		j->retry_reason = transient_reason(r);
		return SYNC_RETRY;
	}
	j->failures = 0;
	if (s == 429 || s == 503) {
		j->retry_after_s = r->retry_after_s;
		j->retry_reason = SYNC_RETRY_REASON_RETRY_AFTER;
		return SYNC_HOLD;
	}
	if (s == 401) {
		if (j->reauthed)
			return api_fail(j, "unauthorized", r);
		j->reauthed = true;
		j->retry_reason = SYNC_RETRY_REASON_UNAUTHORIZED;
		return SYNC_REAUTH;
	}
	/* Retrying cannot help: the proxy wants other credentials. */
	if (s == 407)
		return fail(j, "proxy_unauthorized", s,
		            "%s %s: HTTP 407 from the proxy: it refused "
		            "target.proxy_user/proxy_password, or wants them",
		            http_method_str(j->req.method),
		            sync_step_str(j->step));
	if (s == 403)
		return fail(j, "forbidden", s,
		            "%s %s: HTTP 403: the API client lacks scope "
		            "'%s'; grant it to the client credentials",
		            http_method_str(j->req.method),
		            sync_step_str(j->step),
		            j->req.scope ? j->req.scope : "?");
	return SYNC_NEXT_MAX;
}

/* Keeps what a read returned: the record as is (for whole-record
 * writes) and its comparable projection; caches it. */
/* A record found through a look-up or a conflict is adopted only when
 * it carries this event's external id, or none (the write then sets
 * it): a record of another ERP key is never taken over. Returns
 * SYNC_NEXT_MAX when raw may be used. */
static enum sync_next check_owner(struct sync_job *j, const cJSON *raw)
{
	const struct profile_ops *p = j->profile;
	const char *want = event_owner(j);
	const char *have =
	    raw && p->record_owner ? p->record_owner(raw) : NULL;
	const struct sync_conflict *c =
	    j->n_conflicts ? &j->conflicts[j->n_conflicts - 1] : NULL;

	if (!want || !have || !*have || strcmp(want, have) == 0)
		return SYNC_NEXT_MAX;
	if (j->after_conflict && c)
		return fail(j, "conflict", c->status,
		            "create conflicts on %s with customer '%s', whose "
		            "%s is '%s', not '%s': it belongs to another key; "
		            "nothing was written to it",
		            c->field ? c->field : "a unique field",
		            j->target_id, p->owner_field, have, want);
	return fail(j, "conflict", 0,
	            "the customer found for key '%s', '%s', has %s '%s', not "
	            "'%s': it belongs to another key; nothing was written to "
	            "it",
	            j->change->key, j->target_id, p->owner_field, have, want);
}

/* An ETag goes back as If-Match: one the header could not carry (a
 * control character, from a header or a body field) is no ETag. */
static bool etag_ok(const char *etag)
{
	for (const unsigned char *p = (const unsigned char *)etag; p && *p;
	     p++)
		if (*p < 0x20 || *p > 0x7E)
			return false;
	return true;
}

static enum sync_next have_record(struct sync_job *j, cJSON *raw,
                                  const char *etag)
{
	enum sync_next n = check_owner(j, raw);

	if (n != SYNC_NEXT_MAX) {
		cJSON_Delete(raw);
		return n;
	}
	cJSON_Delete(j->raw);
	cJSON_Delete(j->current);
	j->raw = raw;
	j->current = raw ? j->profile->project(raw) : NULL;
	if (!j->current)
		return fail(j, "invalid_response", j->http_status,
		            "the record of '%s' is unreadable", j->target_id);
	if (!etag_ok(etag))
		return fail(j, "invalid_response", j->http_status,
		            "the ETag of '%s' is not a valid header value",
		            j->target_id);
	set_str(&j->etag, etag);
	cache_put(j->cache, j->change->key, j->target_id, j->etag,
	          cJSON_Duplicate(j->current, 1));
	if (j->index && keyindex_put(j->index, index_key(j), j->target_id))
		return oom(j);
	return decide(j, false);
}

static enum sync_next on_lookup(struct sync_job *j,
                                const struct api_response *r)
{
	char *id = NULL;
	cJSON *record = NULL;
	int rc;

	if (r->status == 404) {
		rc = 0;
	} else if (r->status != 200) {
		return api_fail(j, "rejected", r);
	} else {
		rc = j->profile->lookup_parse(j->cfg, j->change, r, &id,
		                              &record);
	}
	if (rc < 0)
		return fail(j, "invalid_response", r->status,
		            "the look-up answered something unreadable");
	if (rc == 0 && r->status == 200 && j->profile->lookup_next) {
		struct api_request next;

		rc = j->profile->lookup_next(j->cfg, j->change, r, &next);
		if (rc == 0) {
			/* Bounded by the API's page count, not by us. */
			api_request_done(&j->req);
			j->req = next;
			return SYNC_SEND;
		}
		if (rc != -ENOENT)
			return oom(j);
		rc = 0;
	}
	if (rc == 0) {
		if (j->after_conflict)
			return fail(j, "conflict", 0,
			            "create was refused as a duplicate, but "
			            "no customer this client can see matches: "
			            "the conflicting record belongs to "
			            "someone else");
		return not_found(j);
	}
	free(j->target_id);
	j->target_id = id;
	/* A conflict found by a second look-up (e.g. by email) now knows
	 * whom it hit. */
	if (j->after_conflict && j->n_conflicts > 0 &&
	    !j->conflicts[j->n_conflicts - 1].target_id)
		j->conflicts[j->n_conflicts - 1].target_id = strdup(id);
	if (has(j, PROFILE_LOOKUP_HAS_RECORD) && record)
		return have_record(j, record, NULL);
	cJSON_Delete(record);
	return send_get(j);
}

static enum sync_next on_get(struct sync_job *j, const struct api_response *r)
{
	const cJSON *rec;
	cJSON *doc, *raw;

	if (r->status == 404) {
		if (j->after_conflict)
			return fail(j, "conflict", r->status,
			            "the duplicate named customer '%s', which "
			            "this client cannot read",
			            j->target_id);
		return not_found(j);
	}
	if (r->status != 200)
		return api_fail(j, "rejected", r);
	if (has(j, PROFILE_ETAGS) && !r->etag)
		return fail(j, "invalid_response", r->status,
		            "GET %s answered without an ETag", j->target_id);
	doc = cJSON_ParseWithLength(r->body, r->body_len);
	rec = doc ? j->profile->record_of(doc) : NULL;
	raw = rec ? cJSON_Duplicate(rec, 1) : NULL;
	cJSON_Delete(doc);
	return have_record(j, raw, r->etag);
}

static bool is_write(enum sync_step s)
{
	return s == SYNC_STEP_CREATE || s == SYNC_STEP_UPDATE ||
	       s == SYNC_STEP_DELETE;
}

/* A 2xx to a write that custsync cannot take as done: the API may well
 * have applied it, so the message says so and where to look. What the
 * record holds now is unknown: the next event of the key re-reads. */
static enum sync_next maybe_applied(struct sync_job *j,
                                    const struct api_response *r,
                                    const char *why)
{
	cache_drop(j->cache, j->change->key);
	if (!no_id(j->target_id))
		return fail(j, "invalid_response", r->status,
		            "%s %s: HTTP %ld: %s; the %s may have been "
		            "applied: check customer '%s'",
		            http_method_str(j->req.method),
		            sync_step_str(j->step), r->status, why,
		            sync_step_str(j->step), j->target_id);
	return fail(j, "invalid_response", r->status,
	            "%s %s: HTTP %ld: %s; the %s may have been applied: "
	            "check the target for key '%s'",
	            http_method_str(j->req.method), sync_step_str(j->step),
	            r->status, why, sync_step_str(j->step), j->change->key);
}

static enum sync_next on_written(struct sync_job *j,
                                 const struct api_response *r,
                                 enum sync_action a)
{
	char *id, *etag;
	cJSON *record;

	if (j->profile->write_result(r, &id, &etag, &record))
		return maybe_applied(j, r, "the answer is unreadable");
	if (no_id(id)) {
		free(id);
		id = NULL;
	}
	/* An answer without a body still wrote the record we know; a
	 * create has no record we know, so its answer must name it. */
	if (id) {
		free(j->target_id);
		j->target_id = id;
	}
	if (a == SYNC_ACTION_CREATE ? !id : no_id(j->target_id)) {
		free(etag);
		cJSON_Delete(record);
		return maybe_applied(j, r, "the answer names no customer id");
	}
	if (!etag_ok(etag)) {
		/* The write happened; the next one of this key reads first. */
		free(etag);
		etag = NULL;
	}
	free(j->etag);
	j->etag = etag;
	cache_put(j->cache, j->change->key, j->target_id, etag, record);
	if (j->index && keyindex_put(j->index, index_key(j), j->target_id))
		return oom(j);
	return finish(j, SYNC_APPLIED, a);
}

/* n is the step's decision: only a request sent again is a retry (a
 * failure to build it is the event's end). */
static enum sync_next again(struct sync_job *j, enum sync_retry_reason why,
                            enum sync_next n)
{
	if (n == SYNC_SEND)
		j->retry_reason = why;
	return n;
}

static void add_conflict(struct sync_job *j, long status, char *field,
                         char *id)
{
	struct sync_conflict *c;

	if (j->n_conflicts == SYNC_MAX_CONFLICTS) {
		free(field);
		free(id);
		return;
	}
	c = &j->conflicts[j->n_conflicts++];
	c->status = status;
	c->field = field;
	c->target_id = id;
}

static enum sync_next on_create(struct sync_job *j,
                                const struct api_response *r)
{
	char *field = NULL, *id = NULL;
	cJSON *record;
	int rc;

	if (r->status == 200 || r->status == 201)
		return on_written(j, r, SYNC_ACTION_CREATE);
	if (!j->profile->conflict(r, &field, &id))
		return api_fail(j, "rejected", r);
	add_conflict(j, r->status, field, id ? strdup(id) : NULL);
	if (j->after_conflict) {
		free(id);
		return api_fail(j, "conflict", r);
	}
	/* The record exists already (a replay, or created elsewhere): apply
	 * the event to it as a merge patch. */
	j->after_conflict = true;
	if (id) {
		free(j->target_id);
		j->target_id = id;
		return again(j, SYNC_RETRY_REASON_CONFLICT, send_get(j));
	}
	if (!j->profile->conflict_lookup)
		return api_fail(j, "conflict", r);
	record = profile_strip_nulls(j->desired);
	if (!record)
		return oom(j);
	api_request_done(&j->req);
	rc = j->profile->conflict_lookup(j->cfg, j->change, record, &j->req);
	cJSON_Delete(record);
	return again(j, SYNC_RETRY_REASON_CONFLICT,
	             send(j, SYNC_STEP_LOOKUP, rc));
}

static enum sync_next reread(struct sync_job *j, const struct api_response *r)
{
	/* A stale ETag means someone else wrote the record: worth seeing in
	 * the outcome. */
	if (r->status == 412)
		add_conflict(j, r->status, NULL,
		             j->target_id ? strdup(j->target_id) : NULL);
	if (++j->stale > SYNC_MAX_STALE)
		return fail(j, "precondition_loop", r->status,
		            "%s %s: still HTTP %ld after %d re-reads",
		            http_method_str(j->req.method),
		            sync_step_str(j->step), r->status, SYNC_MAX_STALE);
	cache_drop(j->cache, j->change->key);
	return again(j, SYNC_RETRY_REASON_PRECONDITION, send_get(j));
}

static enum sync_next on_update(struct sync_job *j,
                                const struct api_response *r)
{
	char *field = NULL, *id = NULL;

	switch (r->status) {
	case 200:
	case 204:
		return on_written(j, r, SYNC_ACTION_UPDATE);
	case 412:
	case 428:
		return reread(j, r);
	case 404:
		return not_found(j);
	case 409:
		j->profile->conflict(r, &field, &id);
		add_conflict(j, r->status, field, id);
		return api_fail(j, "conflict", r);
	default:
		return api_fail(j, "rejected", r);
	}
}

static enum sync_next on_delete(struct sync_job *j,
                                const struct api_response *r)
{
	switch (r->status) {
	case 200:
	case 202:
	case 204:
		/* No body: the next write of this key re-reads. */
		cache_drop(j->cache, j->change->key);
		/* A DELETE destroys (a suspension is a PUT and keeps it). */
		if (j->index && j->req.method == HTTP_DELETE)
			keyindex_drop(j->index, index_key(j));
		set_str(&j->etag, etag_ok(r->etag) ? r->etag : NULL);
		return finish(j, SYNC_APPLIED, SYNC_ACTION_DELETE);
	case 412:
	case 428:
		return reread(j, r);
	case 404:
		return not_found(j);
	default:
		return api_fail(j, "rejected", r);
	}
}

static int index_add(void *arg, const char *external_id, const char *id)
{
	return keyindex_add(arg, external_id, id);
}

/* Pages only go up and are bounded, so a scan ends even when an API
 * keeps answering "there is more". */
#define SYNC_MAX_SCAN_PAGES 1000000L

/* A page of the key index's scan; after the last one the job goes on
 * as if it had found the index ready. A list that cannot be read makes
 * the index FAILED: every key is then looked up on its own. */
static enum sync_next on_scan(struct sync_job *j, const struct api_response *r)
{
	long next = 0;
	int rc = r->status == 200
	             ? j->profile->index_page(r, j->scan_page, index_add,
	                                      j->index, &next)
	             : -EINVAL;

	if (rc == -ENOMEM)
		return oom(j);
	if (rc == 0 && next > j->scan_page && next <= SYNC_MAX_SCAN_PAGES)
		return send_scan(j, next);
	j->scanning = false;
	if (rc)
		keyindex_fail(j->index);
	else if (keyindex_scanned(j->index)) {
		j->scanning = true;
		return send_scan(j, 1);
	}
	api_request_done(&j->req);
	j->step = SYNC_STEP_NONE;
	return locate(j);
}

/* What every 2xx passes before a step reads it. SYNC_NEXT_MAX when the
 * step may read r. */
static enum sync_next check_2xx(struct sync_job *j,
                                const struct api_response *r)
{
	/* A body cut at the cap cannot be read, not even for an error
	 * envelope. */
	if (r->truncated && is_write(j->step))
		return maybe_applied(j, r,
		                     "the answer exceeded the response size "
		                     "cap (target.max_response_bytes)");
	if (r->truncated)
		return fail(j, "invalid_response", r->status,
		            "%s %s: HTTP %ld: the answer exceeded the "
		            "response size cap (target.max_response_bytes); "
		            "nothing was written",
		            http_method_str(j->req.method),
		            sync_step_str(j->step), r->status);
	/* An API that answers its refusals with a 2xx: its words, as for
	 * any rejection. */
	if (j->profile->refused && j->profile->refused(r))
		return api_fail(j, "rejected", r);
	return SYNC_NEXT_MAX;
}

enum sync_next sync_on_response(struct sync_job *j,
                                const struct api_response *r)
{
	enum sync_next n;

	j->http_status = r->status;
	j->retry_reason = SYNC_RETRY_REASON_NONE;
	n = classify_common(j, r);
	if (n != SYNC_NEXT_MAX)
		return n;
	if (r->status >= 200 && r->status <= 299) {
		n = check_2xx(j, r);
		if (n != SYNC_NEXT_MAX)
			return n;
	}
	switch (j->step) {
	case SYNC_STEP_LOOKUP:
		return on_lookup(j, r);
	case SYNC_STEP_GET:
		return on_get(j, r);
	case SYNC_STEP_CREATE:
		return on_create(j, r);
	case SYNC_STEP_UPDATE:
		return on_update(j, r);
	case SYNC_STEP_DELETE:
		return on_delete(j, r);
	case SYNC_STEP_SCAN:
		return on_scan(j, r);
	default:
		return fail(j, "internal", r->status, "response without step");
	}
}

void sync_done(struct sync_job *j)
{
	if (j->scanning)
		keyindex_release(j->index);
	api_request_done(&j->req);
	free(j->target_id);
	free(j->etag);
	for (int i = 0; i < j->n_conflicts; i++) {
		free(j->conflicts[i].field);
		free(j->conflicts[i].target_id);
	}
	cJSON_Delete(j->desired);
	cJSON_Delete(j->current);
	cJSON_Delete(j->raw);
	memset(j, 0, sizeof(*j));
}

const char *sync_status_str(enum sync_status s)
{
	static const char *const names[] = {"applied", "unchanged", "skipped",
	                                    "failed"};

	return s < SYNC_STATUS_MAX ? names[s] : "?";
}

const char *sync_action_str(enum sync_action a)
{
	static const char *const names[] = {"none", "create", "update",
	                                    "delete"};

	return a < SYNC_ACTION_MAX ? names[a] : "?";
}

const char *sync_step_str(enum sync_step s)
{
	static const char *const names[] = {
	    "-", "lookup", "read", "create", "update", "delete", "list"};

	return s < SYNC_STEP_MAX ? names[s] : "?";
}

const char *sync_retry_reason_str(enum sync_retry_reason r)
{
	static const char *const names[] = {
	    "none",         "connection",  "timeout",      "http_5xx",
	    "http_429",     "retry_after", "unauthorized", "conflict",
	    "precondition", "local"};

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
	                   SYNC_RETRY_REASON_MAX,
	               "a name per reason");
	return r < SYNC_RETRY_REASON_MAX ? names[r] : "?";
}
