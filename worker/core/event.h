/* Input events: native envelope | Debezium envelope | tombstone -> change.
 *
 * Pure: no I/O. The parser checks the envelope and the canonical customer's
 * shape (types, enum values) so that bad input becomes a clear error code
 * instead of a surprise later in the pipeline. */
#ifndef CUSTSYNC_EVENT_H
#define CUSTSYNC_EVENT_H

#include "config/config.h"

#include <stddef.h>
#include <stdint.h>

struct avrodec_schema;
struct cJSON;

enum change_op {
	CHANGE_CREATE, /* create; 409 turns it into an update */
	CHANGE_UPDATE, /* merge patch of an existing customer */
	CHANGE_UPSERT, /* whole record; creates an unknown key */
	CHANGE_DELETE,
	CHANGE_SKIP, /* tombstone: nothing to do */
	CHANGE_OP_MAX
};

enum event_format {
	EVENT_NATIVE,
	EVENT_DEBEZIUM,
	EVENT_TOMBSTONE,
	EVENT_DEBEZIUM_FLAT, /* a row of Debezium's ExtractNewRecordState */
	EVENT_FORMAT_MAX
};

struct change {
	enum change_op op;
	enum event_format format;
	char *event_id;    /* envelope's, else the caller's default */
	char *key;         /* customer key: envelope's "key", else Kafka's */
	char *occurred_at; /* ISO-8601 or NULL */
	/* Canonical customer; NULL for delete and skip. For CHANGE_UPDATE it
	 * is a merge patch (absent = unchanged, null = clear). Owned. */
	struct cJSON *customer;
};

/* Error codes (stable; they reach outcomes and dead-letter headers). */
#define EVENT_ERR_INVALID_JSON  "invalid_json"
#define EVENT_ERR_INVALID_EVENT "invalid_event"
#define EVENT_ERR_UNKNOWN_OP    "unknown_op"
#define EVENT_ERR_MISSING_KEY   "missing_key"
/* A Kafka Connect Decimal / time value that does not decode (connect.h). */
#define EVENT_ERR_INVALID_DECIMAL "invalid_decimal"
#define EVENT_ERR_INVALID_TIME    "invalid_time"
/* Avro input: a schema id the registry does not know (or a schema that
 * does not parse), and a record that is not Confluent wire-format Avro
 * or does not decode with its schema. */
#define EVENT_ERR_UNKNOWN_SCHEMA "unknown_schema"
#define EVENT_ERR_INVALID_AVRO   "invalid_avro"
/* Out of memory while parsing (event_parse returns -ENOMEM); the same
 * code sync uses for its own internal failures. */
#define EVENT_ERR_INTERNAL "internal"

/* Longest customer key, in bytes; a longer one is invalid_event. */
#define EVENT_KEY_MAX 1024
/* An event_id travels into outcomes, dead-letter headers and logs; one
 * longer than this is a producer bug, not an identifier. */
#define EVENT_ID_MAX 256

struct event_error {
	const char *code; /* one of EVENT_ERR_* */
	char message[256];
};

/* Parses one Kafka record. value == NULL is a tombstone (op CHANGE_SKIP).
 * kafka_key may be NULL. default_event_id is used when the envelope has
 * no event_id (Debezium never has one). With n_mapping > 0 the row (the
 * native customer or Debezium's after) is not canonical: mapping_apply
 * builds the customer from it, and that is what is checked and kept (a
 * mapping failure is EVENT_ERR_INVALID_EVENT with its message). mapping
 * is borrowed for the call; NULL, 0 reads rows as canonical. Returns 0
 * and fills out, or -EINVAL and fills err (out is then zeroed); -ENOMEM
 * with code EVENT_ERR_INTERNAL when memory runs out. Reads the value as
 * INPUT_AUTO and the key as KEY_FORMAT_JSON. */
int event_parse(const void *value, size_t value_len, const void *kafka_key,
                size_t kafka_key_len, const char *default_event_id,
                const struct config_mapping *mapping, size_t n_mapping,
                struct change *out, struct event_error *err);

/* What event_parse_with reads a record as (config's input and mapping). */
struct event_options {
	enum input_format format;
	enum key_format key_format;
	const struct config_mapping
	    *mapping; /* borrowed; NULL, 0: canonical */
	size_t n_mapping;
	/* INPUT_AVRO: values are ExtractNewRecordState rows. */
	int flat;
	/* INPUT_AVRO (and Avro keys): the writer schema of id, or NULL
	 * with why (size bytes) saying what is known of it. The worker
	 * parses a record only once its ids are resolved (daemon/
	 * schemagate.h). NULL: every Avro record is unknown_schema. */
	const struct avrodec_schema *(*schema_of)(void *arg, uint32_t id,
	                                          char *why, size_t size);
	void *schema_arg;
};

/* The options a config names. */
struct event_options event_options_of(const struct config *cfg);

/* event_parse in the format and key format opt names. With
 * INPUT_DEBEZIUM_FLAT the value is the row itself (see README "Input
 * formats"). With the JsonConverter's schema wrapper, Decimal and time
 * values the schema names become canonical text first; one that does not
 * decode is EVENT_ERR_INVALID_DECIMAL / EVENT_ERR_INVALID_TIME. */
int event_parse_with(const void *value, size_t value_len,
                     const void *kafka_key, size_t kafka_key_len,
                     const char *default_event_id,
                     const struct event_options *opt, struct change *out,
                     struct event_error *err);

/* The customer key carried by a Kafka key: a plain string as is; a JSON
 * object (with or without the {"schema","payload"} wrapper) with exactly
 * one field reduced to that field's value. NULL when key is NULL/empty.
 * Caller frees. */
char *event_key_from_kafka(const void *kafka_key, size_t len);
/* The same, read as opt's key_format says (NULL: json), so that the
 * outcome of a record that does not parse names the key a parsed one
 * would have. */
char *event_key_with(const void *kafka_key, size_t len,
                     const struct event_options *opt);

/* The ordering key of a record as event_parse_with would give it (its
 * change's key, else event_key_with's), found without parsing the
 * record whole where a quick look settles it (core/event_key.c).
 * Returns 1 with *out (caller frees), 0 when only a whole parse can
 * tell, -ENOMEM. */
int event_order_key(const void *value, size_t value_len, const void *kafka_key,
                    size_t kafka_key_len, const struct event_options *opt,
                    char **out);

/* The envelope's own event_id, for the outcome of a value event_parse
 * rejected (e.g. unknown_op): a JSON object with a usable string
 * "event_id" member. NULL when there is none or the value is not a JSON
 * object. Caller frees. */
char *event_peek_id(const void *value, size_t value_len);

void change_done(struct change *c);

const char *change_op_str(enum change_op op);
const char *event_format_str(enum event_format f);

#endif
