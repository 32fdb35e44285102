/* Whole-string decimal parsing for the test tools' arguments. */
#ifndef CUSTSYNC_TEST_PARSE_LONG_H
#define CUSTSYNC_TEST_PARSE_LONG_H

#include <errno.h>
#include <stdlib.h>

/* Parses a whole decimal string into [min, max]; 0 or -EINVAL. */
static inline int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

#endif
