/* The config loader (worker/config/config.c) on a YAML buffer: every problem
 * must come back as a FILE:LINE:COL error, never as a crash or a leak.
 * Input: the YAML text. */
#include "fuzz.h"

#include "config/config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = {0};
	struct config cfg;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	/* Refused: at least one error, each with its words. */
	if (config_load_buffer("fuzz.yaml", text, size, &cfg, &errs) &&
	    errs.n == 0)
		abort();
	for (size_t i = 0; i < errs.n; i++)
		if (!errs.v[i].msg)
			abort();
	config_done(&cfg);
	config_errors_done(&errs);
	free(text);
	return 0;
}
