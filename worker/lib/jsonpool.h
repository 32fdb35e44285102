#ifndef CUSTSYNC_LIB_JSONPOOL_H
#define CUSTSYNC_LIB_JSONPOOL_H

#include <stddef.h>

/* cJSON allocates every node, name and string on its own; an event's
 * trees (the event, mapping, merge patch, answer, cache record) are a
 * few hundred small allocations, freed in bursts that overflow glibc's
 * per-size caches. jsonpool keeps freed small blocks per size class for
 * the next tree instead.
 *
 * The blocks are ordinary malloc blocks and a freed block's class is
 * read from malloc_usable_size, not from a header, so a string cJSON
 * printed may still be released with free() and a malloc'd string
 * handed to cJSON may be released by it. Lists are per thread and
 * bounded (JSONPOOL_KEEP blocks a class). Under AddressSanitizer a
 * pooled block is poisoned, so a use after cJSON_Delete is still
 * reported. */

#define JSONPOOL_CLASSES 16 /* 16-byte classes, blocks up to 256 bytes */
#define JSONPOOL_KEEP    512

void *jsonpool_malloc(size_t n);
void jsonpool_free(void *p);

/* Makes cJSON allocate through the pool. */
void jsonpool_install(void);

/* Frees the calling thread's pooled blocks (at exit, and in tests). */
void jsonpool_drain(void);

/* Blocks pooled in the calling thread, for tests. */
size_t jsonpool_pooled(void);

#endif
