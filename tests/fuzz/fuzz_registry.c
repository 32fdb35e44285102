/* The Schema Registry's answer to GET /schemas/ids/ID
 * (worker/edge/registry.c): any status and body, as a registry, a proxy
 * or a load balancer may send them.
 *
 * Input: a status byte (mapped onto 0, 200, 401, 404, 500, 503, or
 * 100 + the byte), a flags byte (bit 0: the body was truncated), then the
 * body. A known answer carries a schema that is freed; the others a
 * reason that is a terminated string. */
#include "fuzz.h"

#include "core/avro.h"
#include "core/request.h"
#include "edge/registry.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {0, 200, 401, 404, 500, 503};
	struct fuzz_in in = {data, size};
	uint8_t st = fuzz_byte(&in), flags = fuzz_byte(&in);
	struct api_response r = {0};
	struct avrodec_schema *s = NULL;
	char why[160], *body;
	size_t len;
	const uint8_t *b = fuzz_bytes(&in, in.n, &len);
	enum registry_answer a;

	/* The http layer hands bodies NUL-terminated. */
	body = malloc(len + 1);
	if (!body)
		return 0;
	if (len)
		memcpy(body, b, len);
	body[len] = '\0';
	r.status = st < 6 ? statuses[st] : 100 + st;
	r.body = body;
	r.body_len = len;
	r.truncated = flags & 1;
	r.error = r.status ? NULL : "connection refused";
	memset(why, 'x', sizeof(why));
	a = registry_read_answer(&r, &s, why, sizeof(why));
	if (a == REGISTRY_ANSWER_KNOWN) {
		if (!s || r.status != 200)
			abort();
		avrodec_schema_free(s);
	} else if (s || !memchr(why, '\0', sizeof(why))) {
		abort();
	}
	free(body);
	return 0;
}
