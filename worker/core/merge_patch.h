/* RFC 7396 JSON Merge Patch on cJSON trees.
 *
 * Debian's cJSON ships without cJSON_Utils, so apply and diff live here.
 * Both functions leave their inputs untouched and return a new tree the
 * caller owns (cJSON_Delete), or NULL when memory runs out. */
#ifndef CUSTSYNC_MERGE_PATCH_H
#define CUSTSYNC_MERGE_PATCH_H

#include <stdbool.h>

struct cJSON;

/* The document that results from applying patch to target (RFC 7396 §2).
 * target may be NULL (treated as absent). */
struct cJSON *merge_patch_apply(const struct cJSON *target,
                                const struct cJSON *patch);

/* The smallest merge patch that turns from into to: members only in from
 * become null, members that differ are copied from to, equal members are
 * left out. Equal objects give an empty object (equal non-objects give a
 * copy of to, the only patch RFC 7396 has for them). to must hold no null
 * members (merge_patch_apply never produces them). */
struct cJSON *merge_patch_diff(const struct cJSON *from,
                               const struct cJSON *to);

/* True for an empty object: the patch that changes nothing. */
bool merge_patch_is_empty(const struct cJSON *patch);

#endif
