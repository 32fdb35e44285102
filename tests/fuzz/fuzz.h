/* What the fuzz targets share. Each tests/fuzz/fuzz_NAME.c defines
 * LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize); it is
 * linked with libFuzzer under clang (CUSTSYNC_FUZZ) and with
 * corpus_main.c in the regular build, where ctest feeds it every file
 * of tests/fuzz/corpus/NAME. */
#ifndef CUSTSYNC_FUZZ_H
#define CUSTSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A cursor over the input, for targets that split it into fields. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* The next byte, 0 once the input is used up. */
static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
	uint8_t b = 0;

	if (in->n) {
		b = in->p[0];
		in->p++;
		in->n--;
	}
	return b;
}

/* The next len bytes (fewer at the end), borrowed; *got says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t len,
                                        size_t *got)
{
	const uint8_t *p = in->p;

	if (len > in->n)
		len = in->n;
	in->p += len;
	in->n -= len;
	*got = len;
	return p;
}

/* A config for the targets that need one: valid, connected to nothing.
 * extra is YAML appended at the top level (e.g. a mapping), may be "". */
#define FUZZ_CONFIG(profile, extra)                                           \
	"kafka:\n"                                                            \
	"  brokers: 127.0.0.1:1\n"                                            \
	"  group_id: g\n"                                                     \
	"  topics: [erp.customers]\n"                                         \
	"  results_topic: r\n"                                                \
	"  dead_letter_topic: d\n"                                            \
	"target:\n"                                                           \
	"  profile: " profile "\n"                                            \
	"  base_url: http://127.0.0.1:1/api\n" extra

#endif
