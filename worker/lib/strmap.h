/* A string-keyed hash table that grows with its contents: keys are
 * copied, values are the caller's. The daemon's one hash table (cache
 * entries, pipeline key queues); lists are <sys/queue.h>. */
#ifndef CUSTSYNC_STRMAP_H
#define CUSTSYNC_STRMAP_H

#include <stddef.h>

struct strmap;

typedef void strmap_free_fn(void *value);

struct strmap *strmap_new(void);
/* free_value (may be NULL) runs on every value still held. */
struct strmap *strmap_free(struct strmap *m, strmap_free_fn *free_value);

/* The value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/* Sets key to value. *old (when old is non-NULL) receives the value it
 * replaced, or NULL; without old a replaced value is simply dropped.
 * Returns 0 or -ENOMEM (then nothing changed). */
int strmap_put(struct strmap *m, const char *key, void *value, void **old);

/* Removes key; returns its value, or NULL when it was not there. */
void *strmap_remove(struct strmap *m, const char *key);

size_t strmap_size(const struct strmap *m);

#endif
