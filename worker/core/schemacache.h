/* Parsed writer schemas by registry id, bounded: the least recently
 * used one goes when a new one does not fit. Schema ids are immutable in
 * a registry, so an entry never goes stale; the bound only protects
 * memory from a topic that names very many ids. Single-threaded (the
 * worker loop's). */
#ifndef CUSTSYNC_CORE_SCHEMACACHE_H
#define CUSTSYNC_CORE_SCHEMACACHE_H

#include <stddef.h>
#include <stdint.h>

struct avrodec_schema;
struct schema_cache;

/* A cache of at most cap schemas (cap >= 1), or NULL. */
struct schema_cache *schema_cache_new(size_t cap);
void schema_cache_free(struct schema_cache *c);

/* The schema of id, now the most recently used, or NULL. The pointer
 * stays valid until the next schema_cache_put or schema_cache_free. */
const struct avrodec_schema *schema_cache_get(struct schema_cache *c,
                                              uint32_t id);

/* Takes s (freed now or later) as the schema of id, replacing one held
 * for it and evicting the least recently used when full. */
void schema_cache_put(struct schema_cache *c, uint32_t id,
                      struct avrodec_schema *s);

size_t schema_cache_size(const struct schema_cache *c);

#endif
