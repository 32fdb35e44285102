/* UTF-8 as the daemon meets it: text from events, records and API
 * answers that must stay well formed on its way into JSON, Kafka headers
 * and partner APIs that count characters. */
#ifndef CUSTSYNC_UTF8_H
#define CUSTSYNC_UTF8_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0.
 * RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
size_t utf8_char(const unsigned char *s, size_t n);

/* Offset of the first byte of s[0, n) that is not well-formed UTF-8,
 * or n. */
size_t utf8_check(const unsigned char *s, size_t n);

/* Characters, not bytes, of well-formed s: every byte that is not a
 * continuation byte counts (what partner APIs count). */
size_t utf8_len(const char *s);

/* The length of s cut to at most max bytes without splitting a UTF-8
 * sequence (an int, for "%.*s"). */
int utf8_prefix(const char *s, size_t max);

/* Ends s before a last sequence that is incomplete, as one cut to fit a
 * buffer (snprintf) may be. */
void utf8_trim(char *s);

#endif
