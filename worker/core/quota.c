#include "core/quota.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Headers carry whole numbers of at most 15 digits (RFC 8941's
 * sf-integer); more is nonsense, not a bigger number. */
#define MAX_DIGITS 15

static const char *ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A non-negative integer at *p; advances past it. */
static bool number(const char **p, int64_t *v)
{
	const char *s = *p;
	int n = 0;

	*v = 0;
	while (*s >= '0' && *s <= '9') {
		if (++n > MAX_DIGITS)
			return false;
		*v = *v * 10 + (*s++ - '0');
	}
	*p = s;
	return n > 0;
}

/* The whole value is one non-negative integer, blanks around it. */
static bool whole_number(const char *s, int64_t *v)
{
	s = ows(s);
	if (!number(&s, v))
		return false;
	return *ows(s) == '\0';
}

static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~:/", c));
}

/* An sf-string or a token (the item's name), skipped. */
static bool bare_name(const char **p)
{
	const char *s = *p;

	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			else if (*s < 0x20 || *s > 0x7e)
				return false;
		}
		*p = s + 1;
		return true;
	}
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      *s == '*'))
		return false;
	while (tchar(*s))
		s++;
	*p = s;
	return true;
}

/* A parameter's value that is not a number: a token, a string, a
 * boolean or a byte sequence (a partition key), skipped. */
static bool other_value(const char **p)
{
	const char *s = *p;

	if (*s == '?' && (s[1] == '0' || s[1] == '1')) {
		*p += 2;
		return true;
	}
	if (*s == ':') {
		for (s++; *s && *s != ':'; s++)
			if (!((*s >= 'a' && *s <= 'z') ||
			      (*s >= 'A' && *s <= 'Z') ||
			      (*s >= '0' && *s <= '9') || *s == '+' ||
			      *s == '/' || *s == '='))
				return false;
		if (*s != ':')
			return false;
		*p = s + 1;
		return true;
	}
	return bare_name(p);
}

/* The structured-field form: items `NAME;r=R;t=T` separated by commas.
 * Exhausted when an item has r=0: the wait is the largest t of those.
 * What is left is the smallest r (every item's quota must hold), and
 * otherwise the wait is when that item resets. */
static enum quota_result structured(const char *s, long *wait_s, long *left)
{
	bool any_r = false, out = false;
	int64_t wait = 0, least = -1, least_t = 0;

	for (s = ows(s);;) {
		int64_t r = -1, t = -1, v;

		if (!bare_name(&s))
			return QUOTA_BAD;
		while (*s == ';') {
			char key[8];
			size_t n = 0;

			s = ows(s + 1);
			while (*s >= 'a' && *s <= 'z') {
				if (n + 1 >= sizeof(key))
					return QUOTA_BAD;
				key[n++] = *s++;
			}
			key[n] = '\0';
			if (!n)
				return QUOTA_BAD;
			if (*s != '=')
				continue; /* a boolean parameter */
			s++;
			if (*s >= '0' && *s <= '9') {
				if (!number(&s, &v))
					return QUOTA_BAD;
				if (strcmp(key, "r") == 0)
					r = v;
				else if (strcmp(key, "t") == 0)
					t = v;
			} else if (strcmp(key, "r") == 0 ||
			           strcmp(key, "t") == 0 || *s == '-' ||
			           !other_value(&s)) {
				/* r and t are counts: a negative one is as
				 * wrong as text. */
				return QUOTA_BAD;
			}
		}
		if (t > QUOTA_MAX_RESET_S)
			return QUOTA_BAD;
		if (r >= 0) {
			any_r = true;
			if (least < 0 || r < least)
				least_t = t > 0 ? t : 0;
			least = least < 0 || r < least ? r : least;
		}
		if (r == 0 && t >= 0) {
			out = true;
			wait = t > wait ? t : wait;
		}
		s = ows(s);
		if (!*s)
			break;
		if (*s != ',')
			return QUOTA_BAD;
		s = ows(s + 1);
	}
	if (!any_r)
		return QUOTA_BAD;
	*wait_s = (long)(out ? wait : least_t);
	*left = least > LONG_MAX ? LONG_MAX : (long)least;
	return out ? QUOTA_EXHAUSTED : QUOTA_LEFT;
}

/* A Reset value as seconds from now; x: it may be a Unix time. */
static bool reset_in(const char *reset, bool x, int64_t now_s, int64_t *at)
{
	if (!whole_number(reset, at))
		return false;
	if (x && *at > now_s)
		*at -= now_s;
	else if (x && *at >= 1000000000)
		*at = 0;
	return *at <= QUOTA_MAX_RESET_S;
}

/* A Remaining / Reset pair, remaining's value read; x: Reset may be a
 * Unix time. */
static enum quota_result pair(const char *remaining,
                              const char *(*get)(void *arg, const char *name),
                              void *arg, const char *reset_name, bool x,
                              int64_t now_s, long *wait_s, long *left_out)
{
	const char *reset;
	int64_t left, at;

	if (!whole_number(remaining, &left))
		return QUOTA_BAD;
	*left_out = left > LONG_MAX ? LONG_MAX : (long)left;
	/* remaining's value is not used past this look-up. */
	reset = get(arg, reset_name);
	if (left > 0) {
		/* Only a hint while some is left: a bad one is not worth
		 * ignoring the count for. */
		if (reset && reset_in(reset, x, now_s, &at))
			*wait_s = (long)at;
		return QUOTA_LEFT;
	}
	if (!reset)
		return QUOTA_LEFT; /* used up, but no word on when */
	if (!reset_in(reset, x, now_s, &at))
		return QUOTA_BAD;
	*wait_s = (long)at;
	return QUOTA_EXHAUSTED;
}

enum quota_result quota_read(const char *(*get)(void *arg, const char *name),
                             void *arg, int64_t now_s, long *wait_s,
                             long *left)
{
	const char *v;
	enum quota_result r = QUOTA_NONE;

	*wait_s = 0;
	*left = -1;
	if ((v = get(arg, "RateLimit")))
		r = structured(v, wait_s, left);
	else if ((v = get(arg, "RateLimit-Remaining")))
		r = pair(v, get, arg, "RateLimit-Reset", false, now_s, wait_s,
		         left);
	else if ((v = get(arg, "X-RateLimit-Remaining")))
		r = pair(v, get, arg, "X-RateLimit-Reset", true, now_s, wait_s,
		         left);
	if (r == QUOTA_NONE || r == QUOTA_BAD)
		*left = -1;
	return r;
}

const char *quota_result_str(enum quota_result r)
{
	static const char *const names[QUOTA_RESULT_MAX] = {
	    [QUOTA_NONE] = "none",
	    [QUOTA_LEFT] = "left",
	    [QUOTA_EXHAUSTED] = "exhausted",
	    [QUOTA_BAD] = "bad",
	};

	return (unsigned)r < QUOTA_RESULT_MAX ? names[r] : "?";
}
