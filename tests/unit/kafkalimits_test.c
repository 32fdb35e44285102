/* kafkalimits.c: librdkafka's queue bounds derived from
 * worker.max_buffered_events, that librdkafka accepts every one of them
 * (a consumer and a producer are made from them, without a broker), and
 * that a property the user set is recognised by its name or alias. */
#include "edge/kafkalimits.h"
#include "config/config.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* One row per case: max_buffered, message.max.bytes, then the expected
 * values in kafkalimits_derive's order (queued.min.messages,
 * queued.max.messages.kbytes, fetch.max.bytes, max.partition.fetch.bytes,
 * queue.buffering.max.messages, queue.buffering.max.kbytes). */
static const long cases[][2 + KAFKALIMITS_N] = {
    /* the README's worked example */
    {64000, 1000000, 4000, 4000, 4096000, 1048576, 2 * (2 * 64000 + 4000),
     4 * 2 * (2 * 64000 + 4000)},
    /* small budgets keep a working floor; a fetch is never smaller than
     * the largest message librdkafka accepts */
    {1, 1000000, 100, 100, 1000000, 1000000, 1000, 4000},
    {64000, 8000000, 4000, 4000, 8000000, 1048576, 2 * (2 * 64000 + 4000),
     4 * 2 * (2 * 64000 + 4000)},
    /* the largest worker.max_buffered_events, within librdkafka's
     * ranges */
    {10000000, 1000000, 625000, 625000, 640000000, 1048576,
     2 * (2 * 10000000L + 625000), 4 * 2 * (2 * 10000000L + 625000)},
};

static void test_derive(void **state)
{
	static const char *const names[KAFKALIMITS_N] = {
	    "queued.min.messages",
	    "queued.max.messages.kbytes",
	    "fetch.max.bytes",
	    "max.partition.fetch.bytes",
	    "queue.buffering.max.messages",
	    "queue.buffering.max.kbytes"};
	struct kafkalimit l[KAFKALIMITS_N];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		kafkalimits_derive(cases[c][0], cases[c][1], l);
		for (size_t i = 0; i < KAFKALIMITS_N; i++) {
			assert_string_equal(l[i].name, names[i]);
			assert_int_equal(l[i].value, cases[c][2 + i]);
			assert_int_equal(l[i].client,
			                 i >= 4 ? KAFKALIMITS_PRODUCER
			                        : KAFKALIMITS_CONSUMER);
		}
	}
}

static void make_client(rd_kafka_type_t type, const struct kafkalimit *l,
                        size_t n)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char v[32], err[512];
	rd_kafka_t *rk;

	assert_int_equal(
	    rd_kafka_conf_set(c, "group.id", "g", err, sizeof(err)),
	    RD_KAFKA_CONF_OK);
	assert_int_equal(
	    rd_kafka_conf_set(c, "log_level", "0", err, sizeof(err)),
	    RD_KAFKA_CONF_OK);
	for (size_t i = 0; i < n; i++) {
		if ((type == RD_KAFKA_PRODUCER) !=
		    (l[i].client == KAFKALIMITS_PRODUCER))
			continue;
		snprintf(v, sizeof(v), "%ld", l[i].value);
		if (rd_kafka_conf_set(c, l[i].name, v, err, sizeof(err)) !=
		    RD_KAFKA_CONF_OK)
			fail_msg("%s=%s: %s", l[i].name, v, err);
	}
	rk = rd_kafka_new(type, c, err, sizeof(err));
	if (!rk)
		fail_msg("client refused: %s", err);
	rd_kafka_destroy(rk);
}

/* librdkafka checks some rules only when a client is made (fetch.max.bytes
 * against message.max.bytes): across the configurable range. */
static void test_librdkafka_accepts(void **state)
{
	static const long sizes[] = {1, 60, 1600, 64000, 1000000, 10000000};
	struct kafkalimit l[KAFKALIMITS_N];

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		kafkalimits_derive(sizes[i], 1000000, l);
		make_client(RD_KAFKA_CONSUMER, l, KAFKALIMITS_N);
		make_client(RD_KAFKA_PRODUCER, l, KAFKALIMITS_N);
	}
}

static void test_user_set(void **state)
{
	char k1[] = "fetch.message.max.bytes", k2[] = "queued.min.messages",
	     v[] = "1";
	struct config_kv props[] = {{k1, v}, {k2, v}};
	struct kafkalimit l[KAFKALIMITS_N];

	(void)state;
	kafkalimits_derive(64000, 1000000, l);
	for (size_t i = 0; i < KAFKALIMITS_N; i++) {
		bool set =
		    strcmp(l[i].name, "max.partition.fetch.bytes") == 0 ||
		    strcmp(l[i].name, "queued.min.messages") == 0;

		assert_int_equal(kafkalimits_user_set(&l[i], props, 2), set);
		assert_false(kafkalimits_user_set(&l[i], props, 0));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive),
	    cmocka_unit_test(test_librdkafka_accepts),
	    cmocka_unit_test(test_user_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
