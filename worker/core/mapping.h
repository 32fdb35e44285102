/* The config's mapping: a canonical customer from an ERP row that is not
 * in the canonical shape, read through RFC 6901 JSON pointers.
 *
 * Pure: no I/O. event.c runs it on a row before the canonical checks, so
 * a mapped row is held to the same contract as a canonical one. */
#ifndef CUSTSYNC_MAPPING_H
#define CUSTSYNC_MAPPING_H

#include <stddef.h>

struct cJSON;
struct config_mapping;

/* Builds a canonical customer from row using cfg's mapping. Absent
 * pointer targets leave the field absent; JSON null -> null (clear);
 * strings as is; numbers -> their decimal text (integers without ".0");
 * booleans -> "true"/"false" for string fields. A list field collects the
 * non-null, non-empty values of its pointers in order (absent when all
 * are absent, null when all are null). Non-scalar values where a scalar
 * is expected -> -EINVAL with err naming the field and pointer. Returns 0
 * and a new object in *out (caller frees); -ENOMEM when memory runs out.
 * err may be NULL. */
int mapping_apply(const struct config_mapping *m, size_t n,
                  const struct cJSON *row, struct cJSON **out, char *err,
                  size_t errlen);

/* RFC 6901 lookup; NULL when absent. "" is doc itself; a token with a
 * bad escape, an array index with a leading zero or "-" finds nothing.
 * Of members with the same name, the first (as cJSON finds them). */
const struct cJSON *mapping_pointer(const struct cJSON *doc, const char *ptr);

#endif
