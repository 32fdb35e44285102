#include "daemon/avroinput.h"

#include "config/config.h"
#include "core/avro.h"
#include "core/event.h"
#include "core/event_avro.h"
#include "daemon/schemagate.h"
#include "edge/registry.h"

#include <errno.h>
#include <stdlib.h>

struct avroinput {
	struct registry *registry;
	struct schemagate *gate;
	struct event_options opt; /* which keys are Avro */
	avroinput_pass_fn *pass;
	void *arg;
};

static bool id_ready(void *arg, uint32_t id)
{
	struct avroinput *a = arg;

	return registry_want(a->registry, id) != REGISTRY_WAITING;
}

static void pass(void *arg, void *rec)
{
	struct avroinput *a = arg;

	a->pass(a->arg, rec);
}

static void drop(void *arg, void *rec)
{
	(void)arg;
	rd_kafka_message_destroy(rec);
}

static void resolved(void *arg)
{
	struct avroinput *a = arg;

	schemagate_drain(a->gate);
}

struct avroinput *avroinput_new(const struct config *cfg, struct http *h,
                                avroinput_pass_fn *pass_fn, void *arg)
{
	struct avroinput *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->pass = pass_fn;
	a->arg = arg;
	a->opt = event_options_of(cfg);
	a->registry = registry_new(cfg, h, resolved, a);
	a->gate = schemagate_new(id_ready, pass, drop, a);
	if (!a->registry || !a->gate) {
		avroinput_free(a);
		return NULL;
	}
	return a;
}

void avroinput_free(struct avroinput *a)
{
	if (!a)
		return;
	/* The gate first: dropping needs nothing of the registry. */
	schemagate_free(a->gate);
	registry_free(a->registry);
	free(a);
}

void avroinput_options(struct avroinput *a, struct event_options *opt)
{
	opt->schema_of = registry_schema_of;
	opt->schema_arg = a->registry;
}

/* The schema id a payload names, when it has the wire format's header;
 * one without is left to the parser, which fails it as invalid_avro. */
static size_t add_id(const void *buf, size_t len, uint32_t *ids, size_t n)
{
	struct avrodec_err err;
	size_t body;

	if (buf && avrodec_header(buf, len, &ids[n], &body, &err) == 0)
		return n + 1;
	return n;
}

int avroinput_offer(struct avroinput *a, rd_kafka_message_t *m)
{
	uint32_t ids[SCHEMAGATE_MAX_IDS];
	size_t n = add_id(m->payload, m->len, ids, 0);

	if (event_avro_key_is_avro(&a->opt, m->key, m->key_len))
		n = add_id(m->key, m->key_len, ids, n);
	if (schemagate_offer(a->gate, rd_kafka_topic_name(m->rkt),
	                     m->partition, ids, n, m)) {
		rd_kafka_message_destroy(m);
		return -ENOMEM;
	}
	return 0;
}

void avroinput_run(struct avroinput *a, int64_t now_ms)
{
	registry_run(a->registry, now_ms);
	if (schemagate_waiting(a->gate))
		schemagate_drain(a->gate);
}

int64_t avroinput_next_ms(const struct avroinput *a)
{
	return registry_next_ms(a->registry);
}

bool avroinput_blocked(const struct avroinput *a)
{
	return schemagate_waiting(a->gate) && registry_failing(a->registry);
}

void avroinput_revoked(struct avroinput *a, const char *topic,
                       int32_t partition)
{
	schemagate_drop_partition(a->gate, topic, partition);
}

void avroinput_stop(struct avroinput *a)
{
	registry_stop(a->registry);
	schemagate_drop_all(a->gate);
}
