#include "core/cache.h"
#include "lib/hash.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct centry {
	char *key;
	char *id;
	char *etag;
	cJSON *record;
	struct centry *hnext;            /* bucket chain */
	struct centry *lru_prev, *lru_next; /* most recent at head */
};

struct cache {
	struct centry **buckets;
	size_t n_buckets;
	size_t n;
	size_t max;
	struct centry *head, *tail;
};

struct cache *cache_new(size_t max_entries)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max = max_entries ? max_entries : 1;
	c->n_buckets = 1024;
	while (c->n_buckets < c->max && c->n_buckets < (1u << 22))
		c->n_buckets *= 2;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
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
	struct centry *e, *next;

	if (!c)
		return NULL;
	for (e = c->head; e; e = next) {
		next = e->lru_next;
		entry_free(e);
	}
	free(c->buckets);
	free(c);
	return NULL;
}

static struct centry **find_slot(struct cache *c, const char *key)
{
	struct centry **p = &c->buckets[hash_str(key) & (c->n_buckets - 1)];

	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->hnext;
	return p;
}

static void lru_unlink(struct cache *c, struct centry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct cache *c, struct centry *e)
{
	e->lru_next = c->head;
	e->lru_prev = NULL;
	if (c->head)
		c->head->lru_prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void remove_entry(struct cache *c, struct centry **slot)
{
	struct centry *e = *slot;

	*slot = e->hnext;
	lru_unlink(c, e);
	entry_free(e);
	c->n--;
}

int cache_get(struct cache *c, const char *key, struct cache_entry *out)
{
	struct centry *e = *find_slot(c, key);

	if (!e)
		return -ENOENT;
	lru_unlink(c, e);
	lru_push_front(c, e);
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
	struct centry **slot = find_slot(c, key);
	struct centry *e = *slot;
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
		lru_unlink(c, e);
	} else {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->key = strdup(key))) {
			free(e);
			free(nid);
			free(netag);
			cJSON_Delete(record);
			return -ENOMEM;
		}
		*slot = e;
		c->n++;
	}
	e->id = nid;
	e->etag = netag;
	e->record = record;
	lru_push_front(c, e);
	while (c->n > c->max)
		remove_entry(c, find_slot(c, c->tail->key));
	return 0;
}

void cache_drop(struct cache *c, const char *key)
{
	struct centry **slot = find_slot(c, key);

	if (*slot)
		remove_entry(c, slot);
}

size_t cache_size(const struct cache *c)
{
	return c->n;
}
