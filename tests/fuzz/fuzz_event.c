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
 *                  decimals and times are decoded (core/connect.c) */
#include "fuzz.h"

#include "config/config.h"
#include "core/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	FLAG_MAPPING = 1,
	FLAG_KEY = 2,
	FLAG_TOMBSTONE = 4,
	FORMAT_SHIFT = 3,
	FLAG_KEY_STRING = 32
};

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
	char *s;
	int rc;

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
	change_done(&ch);
	s = event_key_from_kafka(key, key_len);
	free(s);
	if (value) {
		s = event_peek_id(value, value_len);
		free(s);
	}
	return 0;
}
