/* Confluent wire-format Avro (0x00, 4-byte big-endian schema id, Avro
 * binary) decoded with the writer schema into the value the JSON
 * converter would have produced without its schema wrapper: records as
 * objects, a union as its branch's value (no {"type": value} wrapper),
 * enums as their symbol, bytes and fixed as base64, and logical types
 * (Avro's and Kafka Connect's / Debezium's connect.name ones) as their
 * canonical text. Errors are values: nothing here aborts, recursion and
 * allocation are bounded by the schema depth and the payload length. */
#ifndef CUSTSYNC_CORE_AVRO_H
#define CUSTSYNC_CORE_AVRO_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* Error codes, as the outcome record will carry them. */
#define AVRODEC_INVALID    "invalid_avro"
#define AVRODEC_BAD_SCHEMA "invalid_schema"

/* Deepest nesting of schema types a value may have. */
#define AVRODEC_MAX_DEPTH 64

struct avrodec_err {
	const char *code; /* AVRODEC_*, NULL when there is no error */
	char message[192];
};

/* A writer schema parsed once, to be cached by id. */
struct avrodec_schema;

/* The header of a Confluent wire-format payload: 0 with *id and *body
 * (offset of the Avro binary) set; -1 with err filled (invalid_avro)
 * when it is shorter than 5 bytes or its magic byte is not 0. */
int avrodec_header(const uint8_t *buf, size_t len, uint32_t *id, size_t *body,
                   struct avrodec_err *err);

/* The schema JSON text as a registry returns it (the "schema" member's
 * string): parsed, or NULL with err filled (invalid_schema). */
struct avrodec_schema *avrodec_schema_parse(const char *json, size_t len,
                                            struct avrodec_err *err);
void avrodec_schema_free(struct avrodec_schema *s);

/* The Avro binary buf[0..len) (no header) decoded with s: a new cJSON
 * value, or NULL with err filled (invalid_avro) when it does not decode,
 * has bytes left over or a logical value out of range. */
struct cJSON *avrodec_decode(const struct avrodec_schema *s,
                             const uint8_t *buf, size_t len,
                             struct avrodec_err *err);

#endif
