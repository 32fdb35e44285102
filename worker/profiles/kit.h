/* The profile kit: the small JSON, text and request helpers every
 * profile needs, written once so that they behave alike everywhere.
 *
 * Blank. A string is blank when it is empty or holds only JSON's own
 * whitespace: space, tab, LF and CR (RFC 8259, "ws"), the set event.c
 * skips between tokens. It does not depend on the locale, and a string
 * with any other character, \v and \f included, is text. One exception
 * is named: profile_blank_isspace(), isspace() in the C locale, which
 * also counts \v and \f; portal and the event's external id
 * (profile_event_external_id) have always used it, and keep it so that
 * no outcome changes. */
#ifndef CUSTSYNC_PROFILE_KIT_H
#define CUSTSYNC_PROFILE_KIT_H

#include <stdbool.h>

struct cJSON;
struct change;
struct config;
struct api_request;
struct profile_error;

/* A JSON string member or NULL. */
const char *profile_str(const struct cJSON *obj, const char *name);

/* The kit's blank rule (above); s must not be NULL. */
bool profile_blank(const char *s);

/* Blank by isspace() in the C locale: also \v and \f (portal). */
bool profile_blank_isspace(const char *s);

/* Adds name: value to obj and takes ownership of value; NULL value (a
 * failed cJSON_Create*) or a failed add is -ENOMEM, value freed. */
int profile_put(struct cJSON *obj, const char *name, struct cJSON *value);

/* A copy of a string value, else JSON null (absent, null, not a
 * string: the target's field is cleared). NULL only when out of
 * memory. */
struct cJSON *profile_copy_string(const struct cJSON *v);

/* profile_copy_string, but "" is null too (portal: the API stores no
 * empty strings). */
struct cJSON *profile_copy_nonempty(const struct cJSON *v);

/* The first element of a list, else v itself: a target holding one
 * value where the ERP holds a list. NULL for an empty list. */
const struct cJSON *profile_first(const struct cJSON *v);

/* The end of a write_result: 0 when the answer gave an id and a record,
 * else -EINVAL with all three freed and NULL (etag may be NULL when the
 * profile reads none). */
int profile_written(char **id, char **etag, struct cJSON **record);

/* The end of a map: *out = o when rc is 0; else o freed, "out of
 * memory" in err, -ENOMEM. */
int profile_mapped(struct cJSON *o, int rc, struct cJSON **out,
                   struct profile_error *err);

/* A local refusal: err->code = code (NULL: sync reports "validation"),
 * err->message formatted and cut to fit. Returns -EINVAL. */
int profile_refuse(struct profile_error *err, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A percent-encoded path segment (caller frees). */
char *profile_path_escape(const char *s);

/* "PREFIX/<escaped id>" (caller frees). */
char *profile_id_path(const char *prefix, const char *id);

/* Fills out with method, path (taken over), body (printed), content
 * type, If-Match (copied) and the scope a 403 would name. Returns 0 or
 * -ENOMEM (out is then empty). */
int profile_request(struct api_request *out, int method, char *path,
                    const struct cJSON *body, const char *content_type,
                    const char *etag, const char *scope);

/* The external id an event's record carries, for APIs with an external
 * id field: the event's customer.external_id when it is not blank (by
 * profile_blank_isspace), else the key. */
const char *profile_event_external_id(const struct config *cfg,
                                      const struct change *ch);

/* The record with null members removed (a create body from a merge
 * patch). */
struct cJSON *profile_strip_nulls(const struct cJSON *patch);

#endif
