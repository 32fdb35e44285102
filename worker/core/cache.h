/* What custsync last saw of each key on the target: id, ETag and the
 * comparable record. Lets the usual update be one request (PATCH with the
 * cached ETag); a stale entry costs one 412 and a re-read, never a wrong
 * write. Bounded: the least recently used entry goes first. */
#ifndef CUSTSYNC_CACHE_H
#define CUSTSYNC_CACHE_H

#include <stddef.h>

struct cJSON;
struct cache;

struct cache_entry {
	const char *id;
	const char *etag;           /* may be NULL: re-read before writing */
	const struct cJSON *record; /* may be NULL */
};

struct cache *cache_new(size_t max_entries);
struct cache *cache_free(struct cache *c);

/* Borrowed until the next cache call. Returns 0 when found. */
int cache_get(struct cache *c, const char *key, struct cache_entry *out);

/* Copies id and etag; takes ownership of record (may be NULL). */
int cache_put(struct cache *c, const char *key, const char *id,
              const char *etag, struct cJSON *record);

void cache_drop(struct cache *c, const char *key);
size_t cache_size(const struct cache *c);

/* Bounds the entries' memory too (0: by count only): the least recently
 * used go until the estimate (keys, ids, ETags, the records' nodes and
 * strings, malloc's overhead) fits. The newest entry always stays. */
void cache_set_max_bytes(struct cache *c, size_t max_bytes);
size_t cache_bytes(const struct cache *c);

#endif
