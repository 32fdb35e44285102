#include "lib/strmap.h"

#include "lib/hash.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STRMAP_MIN_BUCKETS 64

struct strmap_entry {
	struct strmap_entry *next;
	uint64_t hash;
	void *value;
	char key[]; /* NUL-terminated copy */
};

struct strmap {
	struct strmap_entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t n;
};

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->n_buckets = STRMAP_MIN_BUCKETS;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	return m;
}

struct strmap *strmap_free(struct strmap *m, strmap_free_fn *free_value)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct strmap_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (free_value)
				free_value(e->value);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
	return NULL;
}

static struct strmap_entry **slot(const struct strmap *m, const char *key,
                                  uint64_t h)
{
	struct strmap_entry **p = &m->buckets[h & (m->n_buckets - 1)];

	while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
		p = &(*p)->next;
	return p;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry *e = *slot(m, key, hash_str(key));

	return e ? e->value : NULL;
}

/* Doubles the buckets once the table holds more entries than buckets;
 * a failed growth only makes chains longer. */
static void grow(struct strmap *m)
{
	size_t n = m->n_buckets * 2;
	struct strmap_entry **b;

	if (m->n < m->n_buckets || n > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct strmap_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

int strmap_put(struct strmap *m, const char *key, void *value, void **old)
{
	uint64_t h = hash_str(key);
	struct strmap_entry **p = slot(m, key, h), *e;
	size_t len;

	if (old)
		*old = NULL;
	if (*p) {
		if (old)
			*old = (*p)->value;
		(*p)->value = value;
		return 0;
	}
	len = strlen(key);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->value = value;
	e->next = NULL;
	*p = e;
	m->n++;
	grow(m);
	return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	struct strmap_entry **p = slot(m, key, hash_str(key)), *e = *p;
	void *v;

	if (!e)
		return NULL;
	*p = e->next;
	v = e->value;
	free(e);
	m->n--;
	return v;
}

size_t strmap_size(const struct strmap *m)
{
	return m->n;
}
