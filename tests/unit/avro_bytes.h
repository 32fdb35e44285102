/* Avro's binary encoding, byte by byte, for tests that build the payloads
 * they feed (avro_test.c, event_avro_test.c). */
#ifndef CUSTSYNC_TESTS_AVRO_BYTES_H
#define CUSTSYNC_TESTS_AVRO_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	uint8_t b[512];
	size_t n;
};

/* A long: zig-zag, then 7 bits per byte. */
static inline void put_long(struct buf *w, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	do {
		uint8_t c = z & 0x7f;
		z >>= 7;
		w->b[w->n++] = (uint8_t)(c | (z ? 0x80 : 0));
	} while (z);
}

static inline void put_raw(struct buf *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static inline void put_str(struct buf *w, const char *s)
{
	put_long(w, (int64_t)strlen(s));
	put_raw(w, s, strlen(s));
}

#endif
