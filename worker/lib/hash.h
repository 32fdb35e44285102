/* FNV-1a, for strmap only: every string-keyed table is a strmap
 * (replay.c keeps its own until its rework moves it over). */
#ifndef CUSTSYNC_HASH_H
#define CUSTSYNC_HASH_H

#include <stdint.h>

static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

#endif
