/* core/event_avro.c through event_parse_with: Avro records in the
 * Confluent wire format read as the JSON converter's are (Debezium
 * envelopes, flattened rows, tombstones, Avro keys, mapping), and the
 * records that fail: an unknown schema id, a wrong magic byte, a body that
 * does not decode. The schema lookup is a fixed table, as the registry
 * would fill it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_bytes.h"
#include "core/avro.h"
#include "core/event.h"

#define DEFAULT_ID "erp.customers-0-7"

#define ROW                                                                   \
	"{\"type\":\"record\",\"name\":\"Value\",\"fields\":["                \
	"{\"name\":\"name\",\"type\":\"string\"},"                            \
	"{\"name\":\"notes\",\"type\":[\"null\",\"string\"]}"

/* id 1: Debezium's envelope; 2: a one-field key; 3: a flattened row with
 * ExtractNewRecordState's __op and __deleted; 4: a plain string key. */
static const char *const schema_json[] = {
    NULL,
    "{\"type\":\"record\",\"name\":\"Envelope\",\"fields\":["
    "{\"name\":\"before\",\"type\":[\"null\"," ROW "]}]},"
    "{\"name\":\"after\",\"type\":[\"null\",\"Value\"]},"
    "{\"name\":\"op\",\"type\":\"string\"},"
    "{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"]}]}",
    "{\"type\":\"record\",\"name\":\"Key\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"string\"}]}",
    ROW ",{\"name\":\"__op\",\"type\":[\"null\",\"string\"]},"
        "{\"name\":\"__deleted\",\"type\":[\"null\",\"string\"]}]}",
    "\"string\"",
};
#define N_SCHEMAS (sizeof(schema_json) / sizeof(schema_json[0]))

static struct avrodec_schema *schemas[N_SCHEMAS];
static unsigned lookups;

static const struct avrodec_schema *schema_of(void *arg, uint32_t id,
                                              char *why, size_t size)
{
	(void)arg;
	lookups++;
	if (id < N_SCHEMAS && schemas[id])
		return schemas[id];
	snprintf(why, size, "not in the registry");
	return NULL;
}

static int setup(void **state)
{
	struct avrodec_err err = {0};

	(void)state;
	for (size_t i = 1; i < N_SCHEMAS; i++) {
		schemas[i] = avrodec_schema_parse(
		    schema_json[i], strlen(schema_json[i]), &err);
		if (!schemas[i]) {
			fprintf(stderr, "schema %zu: %s\n", i, err.message);
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 1; i < N_SCHEMAS; i++)
		avrodec_schema_free(schemas[i]);
	return 0;
}

/* The wire format's header: magic 0, schema id big-endian. */
static void put_header(struct buf *w, uint32_t id)
{
	w->b[w->n++] = 0;
	w->b[w->n++] = (uint8_t)(id >> 24);
	w->b[w->n++] = (uint8_t)(id >> 16);
	w->b[w->n++] = (uint8_t)(id >> 8);
	w->b[w->n++] = (uint8_t)id;
}

/* A Value row: name, notes (null when NULL). */
static void put_row(struct buf *w, const char *name, const char *notes)
{
	put_str(w, name);
	if (notes) {
		put_long(w, 1);
		put_str(w, notes);
	} else {
		put_long(w, 0);
	}
}

static struct buf envelope(const char *op, const char *name)
{
	struct buf w = {.n = 0};

	put_header(&w, 1);
	put_long(&w, 0); /* before: null */
	if (name) {
		put_long(&w, 1);
		put_row(&w, name, NULL);
	} else {
		put_long(&w, 0);
	}
	put_str(&w, op);
	put_long(&w, 1);
	put_long(&w, 1709294400123LL);
	return w;
}

static struct buf key_record(const char *id)
{
	struct buf w = {.n = 0};

	put_header(&w, 2);
	put_str(&w, id);
	return w;
}

static struct event_options avro_opts(int flat, enum key_format kf)
{
	struct event_options o = {.format = INPUT_AVRO,
	                          .key_format = kf,
	                          .flat = flat,
	                          .schema_of = schema_of};
	return o;
}

static int parse(const struct event_options *o, const struct buf *v,
                 const struct buf *k, struct change *c, struct event_error *e)
{
	return event_parse_with(v ? v->b : NULL, v ? v->n : 0, k ? k->b : NULL,
	                        k ? k->n : 0, DEFAULT_ID, o, c, e);
}

static void expect_customer(const struct change *c, const char *want)
{
	char *got = cJSON_PrintUnformatted(c->customer);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void debezium_envelopes(void **state)
{
	const struct event_options o = avro_opts(0, KEY_FORMAT_JSON);
	const struct buf k = key_record("C-1");
	static const struct {
		const char *op;
		enum change_op want;
	} ops[] = {{"c", CHANGE_CREATE},
	           {"u", CHANGE_UPSERT},
	           {"r", CHANGE_UPSERT},
	           {"d", CHANGE_DELETE}};
	struct event_error e;
	struct change c;

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct buf v = envelope(
		    ops[i].op, ops[i].want == CHANGE_DELETE ? NULL : "Acme");

		if (parse(&o, &v, &k, &c, &e))
			fail_msg("%s: %s: %s", ops[i].op, e.code, e.message);
		assert_int_equal(c.op, ops[i].want);
		assert_int_equal(c.format, EVENT_DEBEZIUM);
		/* The one-field Avro key is reduced as a JSON key is. */
		assert_string_equal(c.key, "C-1");
		assert_string_equal(c.event_id, DEFAULT_ID);
		assert_string_equal(c.occurred_at, "2024-03-01T12:00:00.123Z");
		if (ops[i].want == CHANGE_DELETE)
			assert_null(c.customer);
		else
			expect_customer(&c,
			                "{\"name\":\"Acme\",\"notes\":null}");
		change_done(&c);
	}
	/* The tombstone after a delete: nothing to do. */
	assert_int_equal(parse(&o, NULL, &k, &c, &e), 0);
	assert_int_equal(c.op, CHANGE_SKIP);
	assert_string_equal(c.key, "C-1");
	change_done(&c);
}

static struct buf flat_row(const char *name, const char *op,
                           const char *deleted)
{
	struct buf w = {.n = 0};

	put_header(&w, 3);
	put_row(&w, name, "vip");
	put_long(&w, op ? 1 : 0);
	if (op)
		put_str(&w, op);
	put_long(&w, deleted ? 1 : 0);
	if (deleted)
		put_str(&w, deleted);
	return w;
}

static void flattened_rows(void **state)
{
	const struct event_options o = avro_opts(1, KEY_FORMAT_AVRO);
	const struct buf k = key_record("C-2");
	struct buf v = flat_row("Acme", "c", "false");
	struct event_error e;
	struct change c;

	(void)state;
	assert_int_equal(parse(&o, &v, &k, &c, &e), 0);
	assert_int_equal(c.op, CHANGE_CREATE);
	assert_int_equal(c.format, EVENT_DEBEZIUM_FLAT);
	assert_string_equal(c.key, "C-2");
	/* The "__" metadata is not a column. */
	expect_customer(&c, "{\"name\":\"Acme\",\"notes\":\"vip\"}");
	change_done(&c);
	v = flat_row("Acme", NULL, NULL);
	assert_int_equal(parse(&o, &v, &k, &c, &e), 0);
	assert_int_equal(c.op, CHANGE_UPSERT);
	change_done(&c);
	v = flat_row("Acme", "u", "true");
	assert_int_equal(parse(&o, &v, &k, &c, &e), 0);
	assert_int_equal(c.op, CHANGE_DELETE);
	assert_null(c.customer);
	change_done(&c);
	/* Flattened, a tombstone may be the only sign of a delete. */
	assert_int_equal(parse(&o, NULL, &k, &c, &e), 0);
	assert_int_equal(c.op, CHANGE_DELETE);
	assert_string_equal(c.key, "C-2");
	change_done(&c);
}

static void keys(void **state)
{
	struct event_options o = avro_opts(0, KEY_FORMAT_JSON);
	const struct buf v = envelope("c", "Acme");
	struct buf k = {.n = 0};
	struct event_error e;
	struct change c;
	char *key;

	(void)state;
	/* A primitive Avro string key. */
	put_header(&k, 4);
	put_str(&k, "C-9");
	assert_int_equal(parse(&o, &v, &k, &c, &e), 0);
	assert_string_equal(c.key, "C-9");
	change_done(&c);
	/* StringConverter keys beside Avro values: key_format json reads
	 * text keys as before. */
	memcpy(k.b, "C-10", 4);
	k.n = 4;
	assert_int_equal(parse(&o, &v, &k, &c, &e), 0);
	assert_string_equal(c.key, "C-10");
	change_done(&c);
	/* key_format avro wants the wire format. */
	o.key_format = KEY_FORMAT_AVRO;
	assert_int_equal(parse(&o, &v, &k, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_AVRO);
	assert_non_null(strstr(e.message, "key"));
	/* The outcome of a record that fails still names the decoded key. */
	k = key_record("C-11");
	key = event_key_with(k.b, k.n, &o);
	assert_string_equal(key, "C-11");
	free(key);
}

static void failures(void **state)
{
	const struct event_options o = avro_opts(0, KEY_FORMAT_JSON);
	const struct buf k = key_record("C-1");
	struct buf v = envelope("c", "Acme");
	struct event_error e;
	struct change c;

	(void)state;
	/* An id the registry does not know. */
	v.b[4] = 99;
	assert_int_equal(parse(&o, &v, &k, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_UNKNOWN_SCHEMA);
	assert_non_null(strstr(e.message, "schema id 99"));
	assert_null(c.key);
	/* A magic byte that is not 0: a JSON record on an Avro topic. */
	v = envelope("c", "Acme");
	v.b[0] = '{';
	assert_int_equal(parse(&o, &v, &k, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_AVRO);
	/* Cut short: does not decode with its schema. */
	v = envelope("c", "Acme");
	v.n -= 3;
	assert_int_equal(parse(&o, &v, &k, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_AVRO);
	assert_non_null(strstr(e.message, "schema id 1"));
	/* Too short for a header. */
	v.n = 3;
	assert_int_equal(parse(&o, &v, &k, &c, &e), -EINVAL);
	assert_string_equal(e.code, EVENT_ERR_INVALID_AVRO);
}

/* mapping: JSON pointers over the decoded row, as over a JSON row. */
static void mapping_on_decoded_rows(void **state)
{
	char *ptrs[] = {"/notes", NULL};
	const struct config_mapping map[] = {
	    {.field = "name", .pointers = ptrs, .n_pointers = 1}};
	struct event_options o = avro_opts(1, KEY_FORMAT_JSON);
	const struct buf k = key_record("C-3");
	const struct buf v = flat_row("Acme", NULL, NULL);
	struct event_error e;
	struct change c;

	(void)state;
	o.mapping = map;
	o.n_mapping = 1;
	if (parse(&o, &v, &k, &c, &e))
		fail_msg("%s: %s", e.code, e.message);
	expect_customer(&c, "{\"name\":\"vip\"}");
	change_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(debezium_envelopes),
	    cmocka_unit_test(flattened_rows),
	    cmocka_unit_test(keys),
	    cmocka_unit_test(failures),
	    cmocka_unit_test(mapping_on_decoded_rows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
