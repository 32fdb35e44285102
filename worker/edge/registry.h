/* Avro writer schemas from a Confluent-compatible Schema Registry
 * (input.schema_registry): GET {url}/schemas/ids/{id} on the worker's
 * libcurl multi handle, so a fetch never blocks the loop. Each id is
 * fetched once however many records wait for it; parsed schemas are kept
 * in a bounded cache (core/schemacache.h) for the process lifetime, since
 * an id never changes its schema.
 *
 * What an answer means:
 * - 200 with an Avro schema: known (REGISTRY_KNOWN).
 * - 404 with Confluent's error_code 40403 (Apicurio's ccompat API answers
 *   the same), a schema that does not parse, or one of another type
 *   (PROTOBUF, JSON): the id is unusable (REGISTRY_UNKNOWN); its records
 *   fail as unknown_schema.
 * - Anything else (5xx, 401/403, a 404 without 40403, which is a wrong
 *   url rather than a missing id, a timeout or connection error): the
 *   fetch is retried with backoff and its records wait; nothing fails.
 * Single-threaded: the worker loop's. */
#ifndef CUSTSYNC_EDGE_REGISTRY_H
#define CUSTSYNC_EDGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct avrodec_schema;
struct config;
struct http;
struct registry;

enum registry_state {
	REGISTRY_KNOWN,   /* registry_schema_of has it */
	REGISTRY_UNKNOWN, /* the registry says it has no usable schema */
	REGISTRY_WAITING, /* being fetched, or waiting for a retry */
};

struct api_response;

/* What one answer to GET /schemas/ids/ID means (the rules above); pure,
 * for the fuzz target too. KNOWN sets *out (the caller owns it); the
 * others fill why (size bytes). */
enum registry_answer {
	REGISTRY_ANSWER_KNOWN,
	REGISTRY_ANSWER_UNKNOWN,
	REGISTRY_ANSWER_RETRY
};
enum registry_answer registry_read_answer(const struct api_response *resp,
                                          struct avrodec_schema **out,
                                          char *why, size_t size);

/* Runs after a fetch ended in a known or unknown id: waiting records
 * may go on. */
typedef void registry_resolved_fn(void *arg);

/* cfg->input.schema_registry on h (borrowed, both outlive it). NULL when
 * out of memory. */
struct registry *registry_new(const struct config *cfg, struct http *h,
                              registry_resolved_fn *resolved, void *arg);
/* Cancels fetches in flight. */
void registry_free(struct registry *r);

/* What is known of id; WAITING starts its fetch unless one runs or
 * waits for its retry. */
enum registry_state registry_want(struct registry *r, uint32_t id);

/* event_options.schema_of: the schema of a KNOWN id, else NULL with why
 * saying what the registry answered. arg is the registry. */
const struct avrodec_schema *registry_schema_of(void *arg, uint32_t id,
                                                char *why, size_t size);

/* When the next retry is due (0: none waits), and starts those due. */
int64_t registry_next_ms(const struct registry *r);
void registry_run(struct registry *r, int64_t now_ms);

/* Some fetch failed and waits for its retry: records of new schemas
 * cannot go on until the registry answers. */
bool registry_failing(const struct registry *r);

/* Fetches in flight (shutdown waits for none). */
size_t registry_in_flight(const struct registry *r);

/* Stops every fetch (shutdown): nothing resolves any more. */
void registry_stop(struct registry *r);

#endif
