/* The /proc parsers (worker/ops/procstat.c) on text the kernel did not
 * write: /proc/PID/stat is read without a NUL at its end, a /proc/stat
 * line as the NUL-terminated piece fgets gives.
 *
 * Input: the text, given to all three parsers. A parsed stat must have come
 * from the last ')' of the input: checked by parsing again from there. */
#include "fuzz.h"

#include "ops/procstat.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct procstat_stat st, again;
	const char *close = NULL;
	uint64_t btime, wait_ns;
	char *line;

	if (procstat_parse_stat(text, size, &st) == 0) {
		for (size_t i = 0; i < size; i++)
			if (text[i] == ')')
				close = text + i;
		if (!close ||
		    procstat_parse_stat(close, size - (size_t)(close - text),
		                        &again) != 0 ||
		    memcmp(&st, &again, sizeof(st)) != 0)
			abort();
	}
	/* schedstat: a wait is only ever read from the text's own digits. */
	if (procstat_parse_schedstat(text, size, &wait_ns) == 0 &&
	    (size < 3 || text[0] < '0' || text[0] > '9'))
		abort();
	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (procstat_parse_btime(line, &btime) == 0 && btime == 0)
		abort();
	free(line);
	return 0;
}
