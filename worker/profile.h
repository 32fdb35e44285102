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
struct api_request;
struct api_response;

/* A local refusal: the event fails without a call. */
struct profile_error {
	char message[256];
};

struct profile_ops {
	const char *name;

	/* The change as a merge patch in the API's writable shape: absent =
	 * leave alone, null = clear. For create and upsert the defaults the
	 * profile documents are filled in (e.g. ExternalId = key). */
	int (*map)(const struct change *ch, struct cJSON **out,
		   struct profile_error *err);

	/* Checks the documented field rules on a patch or whole record;
	 * creating additionally requires what a create requires. */
	int (*validate)(const struct cJSON *doc, bool creating,
			struct profile_error *err);

	/* The comparable record: only the mapped, writable fields of a read
	 * or write response body, normalised (empty lists and objects
	 * dropped) so that "unchanged" means what a user would mean. */
	struct cJSON *(*project)(const struct cJSON *body);

	/* True when the record is already deleted (soft delete). */
	bool (*is_deleted)(const struct cJSON *record);

	int (*lookup_request)(const struct change *ch,
			      struct api_request *out);
	/* 1 and *id when found, 0 when none, -EINVAL when unreadable. */
	int (*lookup_parse)(const struct api_response *r, char **id);
	int (*get_request)(const char *id, struct api_request *out);
	int (*create_request)(const struct cJSON *record,
			      struct api_request *out);
	int (*update_request)(const char *id, const char *etag,
			      const struct cJSON *patch,
			      struct api_request *out);
	int (*delete_request)(const char *id, const char *etag,
			      struct api_request *out);

	/* Id, ETag and comparable record of a successful create or update
	 * response; *etag may come back NULL (then re-read before the next
	 * write). */
	int (*write_result)(const struct api_response *r, char **id,
			    char **etag, struct cJSON **record);
	/* A 409's conflicting field and existing id (either may be NULL). */
	void (*conflict)(const struct api_response *r, char **field,
			 char **id);
	/* The API's own words for an error response. */
	void (*error_message)(const struct api_response *r, char *buf,
			      size_t len);
};

/* The profile called name, or NULL. */
const struct profile_ops *profile_find(const char *name);

/* Known profile names, comma separated, for error messages. */
const char *profile_names(void);

/* Shared by profiles: a JSON string member or NULL. */
const char *profile_str(const struct cJSON *obj, const char *name);

/* Shared by profiles: a percent-encoded path segment (caller frees). */
char *profile_path_escape(const char *s);

#endif
