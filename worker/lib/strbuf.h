/* Text written piece by piece into one growing allocation: records that
 * have a fixed shape (the outcome) are written directly instead of built
 * as a tree and printed. A failed allocation is sticky, so a writer
 * checks once, at strbuf_take. Pure. */
#ifndef CUSTSYNC_STRBUF_H
#define CUSTSYNC_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *s; /* NUL-terminated while not failed */
	size_t len, cap;
	bool failed;
};

/* Reserves hint bytes up front (0: on the first write). */
void strbuf_init(struct strbuf *b, size_t hint);
void strbuf_done(struct strbuf *b);

void strbuf_put(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putc(struct strbuf *b, char c);
/* v in decimal, exactly (no double on the way). */
void strbuf_i64(struct strbuf *b, int64_t v);
/* s as a JSON string, quotes included, escaped as cJSON escapes it:
 * '"', '\\' and the bytes below 0x20 (\b \f \n \r \t, else \u00xx); all
 * other bytes as they are. NULL is written as null. */
void strbuf_json(struct strbuf *b, const char *s);

/* The text (caller frees) and an empty buffer; NULL when an allocation
 * failed. */
char *strbuf_take(struct strbuf *b);

#endif
