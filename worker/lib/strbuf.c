#include "lib/strbuf.h"

#include "lib/num.h"

#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *b, size_t hint)
{
	memset(b, 0, sizeof(*b));
	if (hint) {
		b->s = malloc(hint);
		if (!b->s) {
			b->failed = true;
			return;
		}
		b->cap = hint;
		b->s[0] = '\0';
	}
}

void strbuf_done(struct strbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* Room for n more bytes and the NUL. */
static bool reserve(struct strbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (n < b->cap - b->len)
		return true;
	if (n > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return false;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	p = realloc(b->s, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->s = p;
	b->cap = cap;
	return true;
}

void strbuf_put(struct strbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_put(b, s, strlen(s));
}

void strbuf_putc(struct strbuf *b, char c)
{
	strbuf_put(b, &c, 1);
}

void strbuf_i64(struct strbuf *b, int64_t v)
{
	char tmp[NUM_I64_LEN];

	strbuf_put(b, tmp, num_i64(v, tmp));
}

void strbuf_json(struct strbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;

	if (!s) {
		strbuf_put(b, "null", 4);
		return;
	}
	strbuf_putc(b, '"');
	while (*s) {
		unsigned char c;
		char e[6] = {'\\', 'u', '0', '0', 0, 0};

		/* Most of a key or an id needs no escape: copied at once. */
		for (run = s; *s && (unsigned char)*s >= 0x20 && *s != '"' &&
		              *s != '\\';
		     s++)
			;
		strbuf_put(b, run, (size_t)(s - run));
		if (!*s)
			break;
		c = (unsigned char)*s++;
		/* \b \t \n \f \r have short forms; \v (0x0b) has none. */
		if (c == '"' || c == '\\' ||
		    (c >= '\b' && c <= '\r' && c != '\v')) {
			e[1] = c == '"' || c == '\\' ? (char)c
			                             : "btn?fr"[c - '\b'];
			strbuf_put(b, e, 2);
		} else {
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			strbuf_put(b, e, 6);
		}
	}
	strbuf_putc(b, '"');
}

char *strbuf_take(struct strbuf *b)
{
	char *s;

	if (b->failed) {
		strbuf_done(b);
		return NULL;
	}
	if (!reserve(b, 0)) {
		strbuf_done(b);
		return NULL;
	}
	s = b->s;
	s[b->len] = '\0';
	memset(b, 0, sizeof(*b));
	return s;
}
