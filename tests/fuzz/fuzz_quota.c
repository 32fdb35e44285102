/* The quota headers of an API response (worker/core/quota.c), as any
 * partner or proxy may have written them.
 *
 * Input: lines (split at '\n'), one header each: the name up to the
 * first ':', the value after it. The first line is also read as the
 * value of each of the three forms alone. A wait is never negative nor
 * past QUOTA_MAX_RESET_S. */
#include "fuzz.h"

#include "core/quota.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 16

struct headers {
	char *name[MAX_HEADERS], *value[MAX_HEADERS];
	size_t n;
};

static const char *get(void *arg, const char *name)
{
	const struct headers *h = arg;

	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

static void check(struct headers *h)
{
	long wait = -1, left = -2;
	enum quota_result r = quota_read(get, h, 1700000000, &wait, &left);

	if (r >= QUOTA_RESULT_MAX ||
	    (r == QUOTA_EXHAUSTED && (wait < 0 || wait > QUOTA_MAX_RESET_S)) ||
	    (r == QUOTA_EXHAUSTED && left != 0) ||
	    ((r == QUOTA_NONE || r == QUOTA_BAD) && left != -1) ||
	    (r == QUOTA_LEFT && left < -1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const forms[] = {"RateLimit", "RateLimit-Remaining",
	                                    "X-RateLimit-Remaining"};
	char *text = malloc(size + 1), *p, *nl, *colon;
	struct headers h = {0}, one;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* a header value ends at a NUL, as libcurl's */
	for (p = text; p && h.n < MAX_HEADERS; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		colon = strchr(p, ':');
		if (!colon)
			continue;
		*colon = '\0';
		h.name[h.n] = p;
		h.value[h.n++] = colon + 1;
	}
	check(&h);
	for (size_t i = 0; h.n && i < sizeof(forms) / sizeof(forms[0]); i++) {
		one.n = 2;
		one.name[0] = (char *)forms[i];
		one.value[0] = h.value[0];
		one.name[1] = i == 1 ? "RateLimit-Reset" : "X-RateLimit-Reset";
		one.value[1] = h.value[h.n - 1];
		check(&one);
	}
	free(text);
	return 0;
}
