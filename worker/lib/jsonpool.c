#include "lib/jsonpool.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define JSONPOOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSONPOOL_ASAN 1
#endif
#endif

#ifdef JSONPOOL_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct block {
	struct block *next;
};

/* Per thread: cJSON runs on the loop thread, but nothing here may
 * assume so. */
static __thread struct block *lists[JSONPOOL_CLASSES];
static __thread unsigned counts[JSONPOOL_CLASSES];

void *jsonpool_malloc(size_t n)
{
	/* Class k (0-based) serves requests up to 16 (k + 1) bytes. */
	size_t k = n ? (n - 1) / 16 : 0;
	struct block *b;

	if (k >= JSONPOOL_CLASSES)
		return malloc(n);
	b = lists[k];
	if (!b)
		return malloc((k + 1) * 16);
	UNPOISON(b, sizeof(*b));
	lists[k] = b->next;
	counts[k]--;
	UNPOISON(b, malloc_usable_size(b));
	return b;
}

void jsonpool_free(void *p)
{
	size_t u, k;
	struct block *b = p;

	if (!p)
		return;
	/* A block of usable size u serves any request up to u: its class
	 * is the largest whose requests all fit. */
	u = malloc_usable_size(p);
	if (u < 16 || u / 16 > JSONPOOL_CLASSES) {
		free(p);
		return;
	}
	k = u / 16 - 1;
	if (counts[k] >= JSONPOOL_KEEP) {
		free(p);
		return;
	}
	b->next = lists[k];
	lists[k] = b;
	counts[k]++;
	POISON(b, u);
}

void jsonpool_install(void)
{
	cJSON_Hooks h = {.malloc_fn = jsonpool_malloc,
	                 .free_fn = jsonpool_free};

	cJSON_InitHooks(&h);
}

void jsonpool_drain(void)
{
	for (size_t k = 0; k < JSONPOOL_CLASSES; k++) {
		while (lists[k]) {
			struct block *b = lists[k];

			UNPOISON(b, sizeof(*b));
			lists[k] = b->next;
			UNPOISON(b, malloc_usable_size(b));
			free(b);
		}
		counts[k] = 0;
	}
}

size_t jsonpool_pooled(void)
{
	size_t n = 0;

	for (size_t k = 0; k < JSONPOOL_CLASSES; k++)
		n += counts[k];
	return n;
}
