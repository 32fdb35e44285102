/* The Avro side of event parsing: the header, the schema lookup the
 * caller supplies (event_options.schema_of, which the worker feeds from
 * the registry), and avrodec_decode. What comes out is read as the JSON
 * converter's rows are, so mapping, keys and ops behave the same. */
#include "core/event_avro.h"

#include "core/avro.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool event_avro_key_is_avro(const struct event_options *opt, const void *key,
                            size_t len)
{
	const unsigned char *k = key;

	if (!opt || !key || len == 0)
		return false;
	if (opt->key_format == KEY_FORMAT_AVRO)
		return true;
	return opt->format == INPUT_AVRO &&
	       opt->key_format == KEY_FORMAT_JSON && len >= 5 && k[0] == 0;
}

int event_avro_decode(const struct event_options *opt, const void *buf,
                      size_t len, const char *what, struct cJSON **out,
                      struct event_error *err)
{
	const struct avrodec_schema *s = NULL;
	struct avrodec_err ae = {0};
	size_t body;
	uint32_t id;

	*out = NULL;
	if (avrodec_header(buf, len, &id, &body, &ae)) {
		err->code = EVENT_ERR_INVALID_AVRO;
		snprintf(err->message, sizeof(err->message), "%s: %s", what,
		         ae.message);
		return -EINVAL;
	}
	if (opt->schema_of)
		s = opt->schema_of(opt->schema_arg, id, err->message,
		                   sizeof(err->message));
	else
		snprintf(err->message, sizeof(err->message),
		         "no schema registry to resolve it");
	if (!s) {
		char why[sizeof(err->message)];

		memcpy(why, err->message, sizeof(why));
		err->code = EVENT_ERR_UNKNOWN_SCHEMA;
		snprintf(err->message, sizeof(err->message),
		         "%s: schema id %u: %.200s", what, (unsigned)id, why);
		return -EINVAL;
	}
	*out = avrodec_decode(s, (const uint8_t *)buf + body, len - body, &ae);
	if (!*out) {
		err->code = EVENT_ERR_INVALID_AVRO;
		snprintf(err->message, sizeof(err->message),
		         "%s (schema id %u): %.200s", what, (unsigned)id,
		         ae.message);
		return -EINVAL;
	}
	return 0;
}
