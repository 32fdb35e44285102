#include "core/schemacache.h"

#include <stdlib.h>

#include "core/avro.h"

/* A linear scan of at most a few hundred entries costs less than a
 * registry round trip by orders of magnitude; no hash table needed. */
struct entry {
	uint32_t id;
	uint64_t used; /* tick of the last get or put */
	struct avrodec_schema *s;
};

struct schema_cache {
	struct entry *e;
	size_t n, cap;
	uint64_t tick;
};

struct schema_cache *schema_cache_new(size_t cap)
{
	struct schema_cache *c = cap ? calloc(1, sizeof *c) : NULL;

	if (c && !(c->e = calloc(cap, sizeof *c->e))) {
		free(c);
		return NULL;
	}
	if (c)
		c->cap = cap;
	return c;
}

void schema_cache_free(struct schema_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		avrodec_schema_free(c->e[i].s);
	free(c->e);
	free(c);
}

static struct entry *find(struct schema_cache *c, uint32_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].id == id)
			return &c->e[i];
	return NULL;
}

const struct avrodec_schema *schema_cache_get(struct schema_cache *c,
                                              uint32_t id)
{
	struct entry *e = find(c, id);

	if (!e)
		return NULL;
	e->used = ++c->tick;
	return e->s;
}

void schema_cache_put(struct schema_cache *c, uint32_t id,
                      struct avrodec_schema *s)
{
	struct entry *e = find(c, id);

	if (!e && c->n < c->cap)
		e = &c->e[c->n++];
	if (!e) {
		e = &c->e[0];
		for (size_t i = 1; i < c->n; i++)
			if (c->e[i].used < e->used)
				e = &c->e[i];
	}
	if (e->s != s)
		avrodec_schema_free(e->s);
	*e = (struct entry){id, ++c->tick, s};
}

size_t schema_cache_size(const struct schema_cache *c)
{
	return c->n;
}
