/* The event parser (worker/core/event.c) on one Kafka record: native and
 * Debezium envelopes, tombstones, JSON keys, with and without a mapping.
 *
 * Input: a flags byte, then the key when flags has FLAG_KEY (a length
 * byte and that many bytes), then the value (the rest).
 *   FLAG_MAPPING   rows go through the mapping of MAPPING below
 *   FLAG_KEY       the record has a Kafka key
 *   FLAG_TOMBSTONE the value is NULL (the rest of the input is unused)
 *   FLAG_KEY_STRING input.key_format string
 *   bits 3-4       input.format (0 auto, 1 native, 2 debezium, 3
 *                  debezium_flat); with the schema wrapper a value's
 *                  decimals and times are decoded (core/connect.c)
 *   FLAG_AVRO      input.format avro instead (input.flat when bits 3-4
 *                  are 3), the registry a fixed table: id 1 a Debezium
 *                  envelope, 2 a flattened row, 3 a one-field key, 4 a
 *                  string; others unknown
 *   FLAG_KEY_AVRO  input.key_format avro */
#include "fuzz.h"

#include "config/config.h"
#include "core/avro.h"
#include "core/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	FLAG_MAPPING = 1,
	FLAG_KEY = 2,
	FLAG_TOMBSTONE = 4,
	FORMAT_SHIFT = 3,
	FLAG_KEY_STRING = 32,
	FLAG_AVRO = 64,
	FLAG_KEY_AVRO = 128
};

#define AVRO_ROW                                                              \
	"{\"type\":\"record\",\"name\":\"Value\",\"fields\":["                \
	"{\"name\":\"CUSTNO\",\"type\":\"string\"},"                          \
	"{\"name\":\"CUSTNAME\",\"type\":[\"null\",\"string\"]},"             \
	"{\"name\":\"NO\",\"type\":[\"null\",{\"type\":\"bytes\","            \
	"\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}]},"        \
	"{\"name\":\"EMAIL1\",\"type\":[\"null\",\"string\"]},"               \
	"{\"name\":\"TEL\",\"type\":{\"type\":\"array\",\"items\":"           \
	"\"string\"}},"                                                       \
	"{\"name\":\"FAX\",\"type\":[\"null\",{\"type\":\"long\","            \
	"\"logicalType\":\"timestamp-millis\"}]}"

static const char *const avro_schemas[] = {
    NULL,
    "{\"type\":\"record\",\"name\":\"Envelope\",\"fields\":["
    "{\"name\":\"before\",\"type\":[\"null\"," AVRO_ROW "]}]},"
    "{\"name\":\"after\",\"type\":[\"null\",\"Value\"]},"
    "{\"name\":\"op\",\"type\":\"string\"},"
    "{\"name\":\"key\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"]}]}",
    AVRO_ROW ",{\"name\":\"__op\",\"type\":[\"null\",\"string\"]},"
             "{\"name\":\"__deleted\",\"type\":[\"null\",\"string\"]}]}",
    "{\"type\":\"record\",\"name\":\"Key\",\"fields\":["
    "{\"name\":\"CUSTNO\",\"type\":\"string\"}]}",
    "\"string\"",
};
#define N_AVRO (sizeof(avro_schemas) / sizeof(avro_schemas[0]))
static struct avrodec_schema *avro_parsed[N_AVRO];

static const struct avrodec_schema *schema_of(void *arg, uint32_t id,
                                              char *why, size_t size)
{
	(void)arg;
	if (id < N_AVRO && avro_parsed[id])
		return avro_parsed[id];
	snprintf(why, size, "unknown");
	return NULL;
}

#define MAPPING                                                               \
	"mapping:\n"                                                          \
	"  external_id: /CUSTNO\n"                                            \
	"  name: /CUSTNAME\n"                                                 \
	"  number: /NO\n"                                                     \
	"  status: /STATUS\n"                                                 \
	"  type: /TYPE\n"                                                     \
	"  email: [/EMAIL1, /EMAIL2]\n"                                       \
	"  phone: [/PHONE, /TEL/0]\n"                                         \
	"  mobile: /MOBILE\n"                                                 \
	"  fax: /FAX\n"                                                       \
	"  language: /LANG\n"                                                 \
	"  notes: /a~1b/~0c\n"                                                \
	"  contact.name: /CONTACT\n"                                          \
	"  billing_address.street: [/STREET1, /STREET2]\n"                    \
	"  billing_address.postal_code: /ZIPCODE\n"                           \
	"  billing_address.country_code: /ADDR/CC\n"

static struct config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] = FUZZ_CONFIG("alvys", MAPPING);
	struct config_errors errs = {0};

	(void)argc;
	(void)argv;
	if (config_load_buffer("fuzz.yaml", text, sizeof(text) - 1, &cfg,
	                       &errs)) {
		fprintf(stderr, "fuzz_event: the built-in config is bad\n");
		abort();
	}
	config_errors_done(&errs);
	for (size_t i = 1; i < N_AVRO; i++) {
		struct avrodec_err e = {0};

		avro_parsed[i] = avrodec_schema_parse(
		    avro_schemas[i], strlen(avro_schemas[i]), &e);
		if (!avro_parsed[i]) {
			fprintf(stderr, "fuzz_event: schema %zu: %s\n", i,
			        e.message);
			abort();
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t flags = fuzz_byte(&in);
	const uint8_t *key = NULL, *value;
	size_t key_len = 0, value_len;
	struct event_options opt = {0};
	struct event_error err;
	struct change ch;
	char *s, *okey = NULL;
	int rc, o;

	if (flags & FLAG_KEY)
		key = fuzz_bytes(&in, fuzz_byte(&in), &key_len);
	value = fuzz_bytes(&in, in.n, &value_len);
	if (flags & FLAG_TOMBSTONE) {
		value = NULL;
		value_len = 0;
	}
	memset(&err, 0, sizeof(err));
	opt.format = (enum input_format)((flags >> FORMAT_SHIFT) & 3);
	opt.key_format =
	    (flags & FLAG_KEY_STRING) ? KEY_FORMAT_STRING : KEY_FORMAT_JSON;
	if (flags & FLAG_AVRO) {
		opt.flat = opt.format == INPUT_DEBEZIUM_FLAT;
		opt.format = INPUT_AVRO;
		opt.schema_of = schema_of;
	}
	if (flags & FLAG_KEY_AVRO)
		opt.key_format = KEY_FORMAT_AVRO;
	if (flags & FLAG_MAPPING) {
		opt.mapping = cfg.mapping;
		opt.n_mapping = cfg.n_mapping;
	}
	rc = event_parse_with(value, value_len, key, key_len,
	                      "erp.customers-0-1", &opt, &ch, &err);
	if (rc == 0) {
		/* A parsed event names its customer and its event. */
		if (!ch.event_id || !ch.key || !change_op_str(ch.op))
			abort();
		if (ch.op != CHANGE_DELETE && ch.op != CHANGE_SKIP &&
		    !ch.customer)
			abort();
	} else if (!err.code ||
	           memchr(err.message, '\0', sizeof(err.message)) == NULL) {
		abort();
	}
	/* The quick look at the ordering key agrees with the whole parse:
	 * the change's key when it parsed; when it did not, only a Kafka
	 * key or, from the envelope, a value that was at least JSON. */
	o = event_order_key(value, value_len, key, key_len, &opt, &okey);
	if (o == 1) {
		char *fallback = event_key_with(key, key_len, &opt);
		const char *fb = fallback ? fallback : "";

		if (!okey)
			abort();
		if (rc == 0 && strcmp(okey, ch.key) != 0)
			abort();
		if (rc != 0 && strcmp(okey, fb) != 0 &&
		    strcmp(err.code, EVENT_ERR_INVALID_JSON) == 0)
			abort();
		free(fallback);
	} else if (o != 0 || okey) {
		abort();
	}
	free(okey);
	change_done(&ch);
	s = event_key_from_kafka(key, key_len);
	free(s);
	s = event_key_with(key, key_len, &opt);
	free(s);
	if (value) {
		s = event_peek_id(value, value_len);
		free(s);
	}
	return 0;
}
