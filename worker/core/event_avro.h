/* Avro records for the event parser (event.c): the Confluent wire
 * format resolved with event_options' schema lookup and decoded into the
 * JSON value the parser reads. Internal to core/event*.c. */
#ifndef CUSTSYNC_CORE_EVENT_AVRO_H
#define CUSTSYNC_CORE_EVENT_AVRO_H

#include "core/event.h"

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* Whether key is to be read as Avro under opt: always with
 * KEY_FORMAT_AVRO, and with KEY_FORMAT_JSON under INPUT_AVRO when it
 * carries the wire format's magic byte (no JSON or text key starts with
 * a NUL byte). */
bool event_avro_key_is_avro(const struct event_options *opt, const void *key,
                            size_t len);

/* buf[0..len) decoded: 0 with *out (a new cJSON value), or -EINVAL with
 * err filled (unknown_schema, invalid_avro) or -ENOMEM (internal). what
 * ("key", "value") starts the message. */
int event_avro_decode(const struct event_options *opt, const void *buf,
                      size_t len, const char *what, struct cJSON **out,
                      struct event_error *err);

#endif
