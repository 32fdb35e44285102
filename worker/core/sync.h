/* One event's way through the target API: look up, create, update or
 * delete, with the API's conflict rules (409 → read and patch, 412/428 →
 * re-read and recompute). Pure: it decides the next request and reads
 * responses; the caller sends them, so unit tests drive it directly. */
#ifndef CUSTSYNC_SYNC_H
#define CUSTSYNC_SYNC_H

#include "core/request.h"

#include <stdbool.h>

struct cJSON;
struct cache;
struct change;
struct keyindex;
struct config;
struct profile_ops;

enum sync_status {
	SYNC_APPLIED,
	SYNC_UNCHANGED,
	SYNC_SKIPPED,
	SYNC_FAILED,
	SYNC_STATUS_MAX
};

enum sync_action {
	SYNC_ACTION_NONE,
	SYNC_ACTION_CREATE,
	SYNC_ACTION_UPDATE,
	SYNC_ACTION_DELETE,
	SYNC_ACTION_MAX
};

/* What the caller does next with job->req. */
enum sync_next {
	SYNC_SEND,   /* send job->req now */
	SYNC_RETRY,  /* transient failure: resend after backoff */
	SYNC_HOLD,   /* endpoint asked to wait job->retry_after_s: resend
	                after the endpoint-wide hold */
	SYNC_REAUTH, /* 401: get a new token, then resend (once) */
	SYNC_WAIT,   /* waits for the key index another job is building:
	                call sync_resume once it is no longer SCANNING */
	SYNC_DONE,   /* outcome ready in status/action/... */
	SYNC_NEXT_MAX
};

/* Why the request after a response does work again (metrics): each is
 * a rule of sync_on_response, so the set is fixed. */
enum sync_retry_reason {
	SYNC_RETRY_REASON_NONE,
	SYNC_RETRY_REASON_CONNECTION,   /* no response: connect, TLS, reset */
	SYNC_RETRY_REASON_TIMEOUT,      /* no response in time, or a 408 */
	SYNC_RETRY_REASON_HTTP_5XX,     /* 5xx, 503 without Retry-After */
	SYNC_RETRY_REASON_HTTP_429,     /* 429 without Retry-After */
	SYNC_RETRY_REASON_RETRY_AFTER,  /* 429/503 with it: endpoint hold */
	SYNC_RETRY_REASON_UNAUTHORIZED, /* 401: new token, sent once more */
	SYNC_RETRY_REASON_CONFLICT,     /* 409 to a create: find it, update */
	SYNC_RETRY_REASON_PRECONDITION, /* 412/428: re-read, recompute */
	SYNC_RETRY_REASON_LOCAL,        /* the request could not be started */
	SYNC_RETRY_REASON_MAX
};

enum sync_step {
	SYNC_STEP_NONE,
	SYNC_STEP_LOOKUP,
	SYNC_STEP_GET,
	SYNC_STEP_CREATE,
	SYNC_STEP_UPDATE,
	SYNC_STEP_DELETE,
	SYNC_STEP_SCAN, /* a page of the whole list, for the key index */
	SYNC_STEP_MAX
};

#define SYNC_MAX_CONFLICTS 4
/* 412s in a row before giving up: a record edited faster than we can
 * read it is a problem for a person, not for a tight loop. */
#define SYNC_MAX_STALE 8

struct sync_conflict {
	long status;
	char *field;
	char *target_id;
};

struct sync_job {
	/* borrowed, set by sync_init */
	const struct change *change;
	const struct profile_ops *profile;
	const struct config *cfg;
	struct cache *cache;
	struct keyindex *index; /* NULL unless the profile is indexed */
	long max_attempts; /* transient failures before failing; 0 = never */

	struct api_request req; /* valid after SEND/RETRY/HOLD/REAUTH */
	long retry_after_s;     /* with SYNC_HOLD */
	/* Set by each sync_on_response: NONE unless the next request
	 * repeats work because of this response. */
	enum sync_retry_reason retry_reason;
	int failures; /* consecutive transient failures */

	/* outcome */
	enum sync_status status;
	enum sync_action action;
	char *target_id;
	char *etag;
	long http_status; /* last response's, 0 if none */
	int attempts;     /* requests sent; the caller counts */
	struct sync_conflict conflicts[SYNC_MAX_CONFLICTS];
	int n_conflicts;
	const char *err_code;
	char err_msg[512];
	long err_http_status; /* 0 for local errors */

	/* private */
	enum sync_step step;
	struct cJSON *desired; /* target-shape merge patch */
	struct cJSON *current; /* comparable record last read */
	struct cJSON *raw;     /* the record as read; NULL from the cache */
	int stale;
	bool reauthed;
	bool verify;         /* GET confirms a no-op decided from cache */
	bool after_conflict; /* the GET follows a 409 */
	bool scanning;       /* this job claimed the key index's scan */
	long scan_page;
};

/* cfg: the profile's settings and retry.max_attempts. index: the shared
 * key index for a PROFILE_INDEXED profile (NULL: look up per key). */
void sync_init(struct sync_job *j, const struct change *ch,
               const struct profile_ops *p, const struct config *cfg,
               struct cache *cache, struct keyindex *index);

/* Ends a job that never reaches the API (e.g. unparsable input). */
void sync_fail(struct sync_job *j, const char *code, const char *msg);

enum sync_next sync_start(struct sync_job *j);
/* After SYNC_WAIT: looks the key up again. */
enum sync_next sync_resume(struct sync_job *j);
enum sync_next sync_on_response(struct sync_job *j,
                                const struct api_response *r);

/* Ends a job as skipped for a reason worth naming in the outcome's error
 * (replay's "stale"); no request is made. */
void sync_skip(struct sync_job *j, const char *code, const char *msg);

void sync_done(struct sync_job *j);

const char *sync_status_str(enum sync_status s);
const char *sync_action_str(enum sync_action a);
const char *sync_step_str(enum sync_step s);
/* "connection", "timeout", "http_5xx"...; "none" for NONE. */
const char *sync_retry_reason_str(enum sync_retry_reason r);

#endif
