#include "core/cache.h"
#include "lib/strmap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct centry {
	char *key; /* the strmap's key too: eviction starts from here */
	char *id;
	char *etag;
	cJSON *record;
	size_t bytes; /* entry_bytes, counted into the cache's total */
	TAILQ_ENTRY(centry) lru; /* most recent first */
};

TAILQ_HEAD(centry_list, centry);

struct cache {
	struct strmap *by_key; /* key -> struct centry */
	struct centry_list lru;
	size_t max;
	size_t max_bytes; /* 0: by entries only */
	size_t bytes;
};

/* What malloc keeps for a block besides its bytes, and the hash
 * table's node for a key: estimates, so the bound holds to within a
 * few percent of the process's own count. */
#define BLOCK_OVERHEAD 16
#define MAP_NODE_BYTES 48

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 + BLOCK_OVERHEAD : 0;
}

/* A record's nodes and strings, as allocated. Records are the
 * profiles' projections of an answer: a few dozen nodes. */
static size_t record_bytes(const cJSON *v)
{
	size_t n = 0;

	for (; v; v = v->next)
		n += sizeof(*v) + BLOCK_OVERHEAD + str_bytes(v->string) +
		     str_bytes(v->valuestring) + record_bytes(v->child);
	return n;
}

static size_t entry_bytes(const struct centry *e)
{
	return sizeof(*e) + BLOCK_OVERHEAD + MAP_NODE_BYTES +
	       str_bytes(e->key) + str_bytes(e->id) + str_bytes(e->etag) +
	       record_bytes(e->record);
}

struct cache *cache_new(size_t max_entries)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max = max_entries ? max_entries : 1;
	c->by_key = strmap_new();
	if (!c->by_key) {
		free(c);
		return NULL;
	}
	TAILQ_INIT(&c->lru);
	return c;
}

static void entry_free(struct centry *e)
{
	free(e->key);
	free(e->id);
	free(e->etag);
	cJSON_Delete(e->record);
	free(e);
}

struct cache *cache_free(struct cache *c)
{
	struct centry *e;

	if (!c)
		return NULL;
	while ((e = TAILQ_FIRST(&c->lru))) {
		TAILQ_REMOVE(&c->lru, e, lru);
		entry_free(e);
	}
	strmap_free(c->by_key, NULL);
	free(c);
	return NULL;
}

static void remove_entry(struct cache *c, struct centry *e)
{
	c->bytes -= e->bytes;
	strmap_remove(c->by_key, e->key);
	TAILQ_REMOVE(&c->lru, e, lru);
	entry_free(e);
}

int cache_get(struct cache *c, const char *key, struct cache_entry *out)
{
	struct centry *e = strmap_get(c->by_key, key);

	if (!e)
		return -ENOENT;
	TAILQ_REMOVE(&c->lru, e, lru);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	out->id = e->id;
	out->etag = e->etag;
	out->record = e->record;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int cache_put(struct cache *c, const char *key, const char *id,
              const char *etag, cJSON *record)
{
	struct centry *e = strmap_get(c->by_key, key);
	char *nid = dup_or_null(id), *netag = dup_or_null(etag);

	if (!nid || (etag && !netag)) {
		free(nid);
		free(netag);
		cJSON_Delete(record);
		return -ENOMEM;
	}
	if (e) {
		free(e->id);
		free(e->etag);
		cJSON_Delete(e->record);
		TAILQ_REMOVE(&c->lru, e, lru);
		c->bytes -= e->bytes;
	} else {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->key = strdup(key)) ||
		    strmap_put(c->by_key, key, e, NULL)) {
			if (e)
				free(e->key);
			free(e);
			free(nid);
			free(netag);
			cJSON_Delete(record);
			return -ENOMEM;
		}
	}
	e->id = nid;
	e->etag = netag;
	e->record = record;
	e->bytes = entry_bytes(e);
	c->bytes += e->bytes;
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	/* The newest entry stays, even one larger than the whole bound. */
	while (strmap_size(c->by_key) > 1 &&
	       (strmap_size(c->by_key) > c->max ||
	        (c->max_bytes && c->bytes > c->max_bytes)))
		remove_entry(c, TAILQ_LAST(&c->lru, centry_list));
	return 0;
}

void cache_set_max_bytes(struct cache *c, size_t max_bytes)
{
	c->max_bytes = max_bytes;
	while (strmap_size(c->by_key) > 1 && c->max_bytes &&
	       c->bytes > c->max_bytes)
		remove_entry(c, TAILQ_LAST(&c->lru, centry_list));
}

size_t cache_bytes(const struct cache *c)
{
	return c->bytes;
}

void cache_drop(struct cache *c, const char *key)
{
	struct centry *e = strmap_get(c->by_key, key);

	if (e)
		remove_entry(c, e);
}

size_t cache_size(const struct cache *c)
{
	return strmap_size(c->by_key);
}
