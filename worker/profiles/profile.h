/* Target profiles: the one place that knows a partner API.
 *
 * A profile maps the canonical customer into the API's shape, builds the
 * API's requests and reads its responses. sync.c owns the flow (look up,
 * create, conflict, stale, retry) and asks the profile for every detail,
 * so a new API is one file under profiles/ and one entry in profile.c,
 * the way librdkafka's assignors fill one ops struct each. */
#ifndef CUSTSYNC_PROFILE_H
#define CUSTSYNC_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct change;
struct config;
struct config_row;
struct api_request;
struct api_response;

/* A local refusal: the event fails without a call. */
struct profile_error {
	const char *code; /* NULL: "validation" */
	char message[256];
};

enum profile_flags {
	/* Reads carry an ETag and writes send it as If-Match: the cache
	 * may then skip the read before a write (a 412 corrects it). */
	PROFILE_ETAGS = 1u << 0,
	/* The look-up answer holds the whole record: no read after it. */
	PROFILE_LOOKUP_HAS_RECORD = 1u << 1,
	/* A create looks the key up first (an upsert API that reports no
	 * conflicts: a POST must never clobber a record it did not read). */
	PROFILE_CREATE_LOOKS_UP = 1u << 2,
	/* The API cannot find a record by its external id: the key's record
	 * is found in a keyindex built from the whole list (index_request,
	 * index_page) instead of one look-up per key. */
	PROFILE_INDEXED = 1u << 3,
};

/* Called by index_page for each record of a page. */
typedef int profile_index_add_fn(void *arg, const char *external_id,
                                 const char *id);

struct profile_ops {
	const char *name;
	unsigned flags; /* enum profile_flags */

	/* The profile's own settings: config rows (config/table.h) under
	 * target., declared in the profile's file. config reads them
	 * whatever the profile, so that a config is valid or not on its
	 * own and switching profiles surfaces no old mistakes. */
	const struct config_row *settings;
	size_t n_settings;

	/* Whose record is it? The member that carries the ERP key on the
	 * target (owner_field, for messages), as this event would write it
	 * (event_owner: NULL when the event does not say) and as a record
	 * read from the API holds it (record_owner: NULL or "" when it
	 * holds none). sync adopts a record found by a look-up or a
	 * conflict only when the two agree or the record holds none. */
	const char *owner_field;
	const char *(*event_owner)(const struct config *cfg,
	                           const struct change *ch);
	const char *(*record_owner)(const struct cJSON *record);

	/* The change as a merge patch in the API's writable shape: absent =
	 * leave alone, null = clear. For create and upsert the defaults the
	 * profile documents are filled in (e.g. ExternalId = key). */
	int (*map)(const struct config *cfg, const struct change *ch,
	           struct cJSON **out, struct profile_error *err);

	/* Checks the documented field rules on a patch or whole record;
	 * creating additionally requires what a create requires. */
	int (*validate)(const struct cJSON *doc, bool creating,
	                struct profile_error *err);

	/* The record inside a read or write response body (borrowed), e.g.
	 * body.customer or body.data; NULL when there is none. */
	const struct cJSON *(*record_of)(const struct cJSON *body);

	/* The comparable record: only the mapped, writable fields of a
	 * record, normalised (empty lists and objects dropped, server-owned
	 * values left out) so "unchanged" means what a user would mean. */
	struct cJSON *(*project)(const struct cJSON *record);

	/* True when the record is already deleted (delete is a no-op). */
	bool (*is_deleted)(const struct config *cfg,
	                   const struct cJSON *record);

	int (*lookup_request)(const struct config *cfg,
	                      const struct change *ch,
	                      struct api_request *out);
	/* 1 with *id when found (and *record, the record, with
	 * PROFILE_LOOKUP_HAS_RECORD), 0 when none, -EINVAL unreadable. A 404
	 * answer never reaches it: that is "none". */
	int (*lookup_parse)(const struct config *cfg, const struct change *ch,
	                    const struct api_response *r, char **id,
	                    struct cJSON **record);
	/* Optional, for look-ups that page: after lookup_parse found nothing
	 * in r, 0 with the request for the next page, -ENOENT when r was
	 * the last page. */
	int (*lookup_next)(const struct config *cfg, const struct change *ch,
	                   const struct api_response *r,
	                   struct api_request *out);
	int (*get_request)(const struct config *cfg, const char *id,
	                   struct api_request *out);
	/* record: the desired record, nulls removed. */
	int (*create_request)(const struct config *cfg,
	                      const struct change *ch,
	                      const struct cJSON *record,
	                      struct api_request *out);
	/* patch: what differs (merge patch); current: the record as read
	 * (NULL when decided from the cache). Whole-record APIs send
	 * merge_patch_apply(current, patch). */
	/* -EINVAL with err filled refuses the write (e.g. an API that
	 * cannot do what the event asks); -ENOMEM otherwise. */
	int (*update_request)(const struct config *cfg,
	                      const struct change *ch, const char *id,
	                      const char *etag, const struct cJSON *patch,
	                      const struct cJSON *current,
	                      struct api_request *out,
	                      struct profile_error *err);
	int (*delete_request)(const struct config *cfg, const char *id,
	                      const char *etag, const struct cJSON *current,
	                      struct api_request *out,
	                      struct profile_error *err);

	/* Id, ETag (may come back NULL) and record of a successful create
	 * or update response. */
	int (*write_result)(const struct api_response *r, char **id,
	                    char **etag, struct cJSON **record);

	/* Does this failed create mean "exists already"? 1 with the
	 * conflicting field and the existing id (either may be NULL; no id:
	 * conflict_lookup finds it), 0 when it is a plain failure. */
	int (*conflict)(const struct api_response *r, char **field, char **id);
	/* Optional: the look-up after a conflict without an id (e.g. by
	 * email); answered through lookup_parse. */
	int (*conflict_lookup)(const struct config *cfg,
	                       const struct change *ch,
	                       const struct cJSON *record,
	                       struct api_request *out);

	/* PROFILE_INDEXED: the request for page (from 1) of the whole
	 * list. */
	int (*index_request)(const struct config *cfg, long page,
	                     struct api_request *out);
	/* PROFILE_INDEXED: calls add for every record of a list page
	 * (external id and id; either may be NULL) and sets *next_page to
	 * the page to ask for next, or 0 after the last page. -EINVAL when
	 * the answer is unreadable, add's error otherwise. */
	int (*index_page)(const struct api_response *r, long page,
	                  profile_index_add_fn *add, void *arg,
	                  long *next_page);
	/* Optional: true when a 2xx answer is an error envelope all the same
	 * (an API that says "success": 0 with HTTP 200). sync asks it before
	 * it reads any 2xx, and then fails the step "rejected" with
	 * error_message's words. */
	bool (*refused)(const struct api_response *r);

	/* The API's own words for an error response; *code may be set to a
	 * code of the API's (e.g. a business code) to report instead of
	 * custsync's. */
	void (*error_message)(const struct api_response *r, const char **code,
	                      char *buf, size_t len);
};

/* The profile called name, or NULL. */
const struct profile_ops *profile_find(const char *name);

/* The i-th profile (from 0), NULL past the last. */
const struct profile_ops *profile_at(size_t i);

/* Known profile names, comma separated, for error messages. */
const char *profile_names(void);

/* What profiles share beyond this seam is in profiles/kit.h. */

#endif
