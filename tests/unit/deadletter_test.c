/* deadletter.c (parse, filters, --since) and scan.c, which it is read
 * with. Records with headers cannot be built by hand (librdkafka keeps
 * them in its private message struct), so parse and scan are tested on
 * real records from an in-process mock cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/deadletter.h"
#include "core/outcome.h"
#include "core/sync.h"
#include "ops/log.h"
#include "edge/scan.h"

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW   1795860001123LL /* 2026-11-28T10:00:01.123Z, a fixed now */
#define T0    1795800000000LL /* 2026-11-27T17:20:00Z: records from here */
#define TOPIC "dl"

/* ---- --since ---- */

static void test_since_iso(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(dlq_parse_since("2026-11-23T10:00:00Z", NOW, &ms), 0);
	assert_int_equal(ms, 1795428000000LL);
	assert_int_equal(dlq_parse_since("2026-11-23T10:00:00.123Z", NOW, &ms),
	                 0);
	assert_int_equal(ms, 1795428000123LL);
	assert_int_equal(dlq_parse_since("2026-11-23", NOW, &ms), 0);
	assert_int_equal(ms, 1795392000000LL);
	assert_int_equal(dlq_parse_since("1970-01-01T00:00:00Z", NOW, &ms), 0);
	assert_int_equal(ms, 0);
	/* A leap day, and the last millisecond of a year. */
	assert_int_equal(dlq_parse_since("2024-02-29", NOW, &ms), 0);
	assert_int_equal(ms, 1709164800000LL);
	assert_int_equal(dlq_parse_since("1999-12-31T23:59:59.999Z", NOW, &ms),
	                 0);
	assert_int_equal(ms, 946684799999LL);
}

static void test_since_duration(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(dlq_parse_since("90s", NOW, &ms), 0);
	assert_int_equal(ms, NOW - 90000);
	assert_int_equal(dlq_parse_since("15m", NOW, &ms), 0);
	assert_int_equal(ms, NOW - 15 * 60000);
	assert_int_equal(dlq_parse_since("2h", NOW, &ms), 0);
	assert_int_equal(ms, NOW - 2 * 3600000);
	assert_int_equal(dlq_parse_since("7d", NOW, &ms), 0);
	assert_int_equal(ms, NOW - 7 * 86400000LL);
	assert_int_equal(dlq_parse_since("0s", NOW, &ms), 0);
	assert_int_equal(ms, NOW);
}

static void test_since_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "s",
	    "5",
	    "5x",
	    "-5s",
	    "+5s",
	    "1.5h",
	    "5 s",
	    "5sec",
	    "99999999999999999999d",
	    "100000d", /* before 1970 */
	    "2026-11-23T10:00:00",
	    "2026-11-23T10:00Z",
	    "2026-11-23 10:00:00Z",
	    "2026-1-5",
	    "26-11-23",
	    "2026-11-23Z",
	    "2026-02-29",
	    "2026-02-30",
	    "2026-04-31",
	    "2026-13-01",
	    "2026-00-10",
	    "2026-11-00",
	    "2026-11-23T24:00:00Z",
	    "2026-11-23T10:60:00Z",
	    "2026-11-23T10:00:60Z",
	    "2026-11-23T10:00:00.12Z",
	    "2026-11-23T10:00:00.1234Z",
	    "2026-11-23T10:00:00+01:00",
	    "2026-11-23x",
	    "1969-12-31",
	    "yesterday",
	};
	int64_t ms = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dlq_parse_since(bad[i], NOW, &ms) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(ms, 42); /* untouched */
	}
	assert_int_equal(dlq_parse_since(NULL, NOW, &ms), -1);
}

/* ---- filters and options ---- */

static void test_filter_match(void **state)
{
	struct dead_letter dl = {
	    .key = "K1",
	    .code = "validation",
	    .timestamp_ms = T0,
	};
	struct dlq_filter any = {0}, f;

	(void)state;
	assert_true(dlq_filter_match(&any, &dl));
	f = (struct dlq_filter){.code = "validation"};
	assert_true(dlq_filter_match(&f, &dl));
	f.code = "valid";
	assert_false(dlq_filter_match(&f, &dl));
	f = (struct dlq_filter){.key = "K1"};
	assert_true(dlq_filter_match(&f, &dl));
	f.key = "k1";
	assert_false(dlq_filter_match(&f, &dl));
	/* since compares the dead letter's own time, inclusively */
	f = (struct dlq_filter){.since_ms = T0};
	assert_true(dlq_filter_match(&f, &dl));
	f.since_ms = T0 + 1;
	assert_false(dlq_filter_match(&f, &dl));
	/* all conditions must hold */
	f = (struct dlq_filter){.code = "validation", .key = "K2"};
	assert_false(dlq_filter_match(&f, &dl));
	f = (struct dlq_filter){
	    .code = "validation", .key = "K1", .since_ms = T0 - 1};
	assert_true(dlq_filter_match(&f, &dl));
}

static void test_filter_options(void **state)
{
	static const struct option opts[] = {DLQ_FILTER_OPTIONS,
	                                     {NULL, 0, NULL, 0}};
	struct dlq_filter f = {0};
	const char *config = NULL;
	int n = 0;

	(void)state;
	while (opts[n].name)
		n++;
	assert_int_equal(n, 4);
	assert_int_equal(dlq_filter_option('c', "x.yaml", &config, &f), 1);
	assert_string_equal(config, "x.yaml");
	assert_int_equal(
	    dlq_filter_option(DLQ_OPT_CODE, "forbidden", &config, &f), 1);
	assert_string_equal(f.code, "forbidden");
	assert_int_equal(dlq_filter_option(DLQ_OPT_KEY, "K 1", &config, &f),
	                 1);
	assert_string_equal(f.key, "K 1");
	assert_int_equal(
	    dlq_filter_option(DLQ_OPT_SINCE, "2026-11-23", &config, &f), 1);
	assert_int_equal(f.since_ms, 1795392000000LL);
	assert_int_equal(dlq_filter_option(DLQ_OPT_SINCE, "soon", &config, &f),
	                 -1);
	assert_int_equal(dlq_filter_option(DLQ_OPT_CODE, "", &config, &f), -1);
	assert_int_equal(dlq_filter_option('h', NULL, &config, &f), 0);
	assert_int_equal(dlq_filter_option('?', NULL, &config, &f), 0);
}

/* ---- the headers, written and read back ---- */

/* What the daemon writes is what dlq and replay read: every field, also
 * across a second failure of a replayed event (its first dead letter's
 * headers come first, copied with the record, the new ones last). */
static void test_headers_round_trip(void **state)
{
	static const char value[] = "{\"event_id\":\"e-7\",\"op\":\"update\","
	                            "\"key\":\"C-7\",\"customer\":{}}";
	struct outcome_source src = {
	    .topic = "erp.customers",
	    .partition = 4,
	    .offset = 9000000000LL,
	    .event_id = "e-7",
	    .key = "C-7",
	    .finished_at_ms = 1795860001123LL,
	};
	struct dead_letter_record r = {
	    .partition = 1,
	    .offset = 33,
	    .timestamp_ms = T0,
	    .value = value,
	    .value_len = sizeof(value) - 1,
	    .key = "C-7",
	    .key_len = 3,
	};
	struct dead_letter_header h[DEAD_LETTER_HEADER_MAX];
	struct dead_letter dl;
	struct sync_job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	sync_fail(&j, "validation", "name is required");
	j.err_http_status = 422;
	j.attempts = 3;
	r.headers = rd_kafka_headers_new(16);
	rd_kafka_header_add(r.headers, "x-trace", -1, "abc", -1);
	dead_letter_add_headers(r.headers, &j, &src);
	assert_int_equal(rd_kafka_header_cnt(r.headers),
	                 1 + DL_HDR_REPLAY_COUNT);
	assert_int_equal(dead_letter_parse_record(NULL, &r, &dl), 0);
	assert_int_equal(dl.partition, 1);
	assert_int_equal(dl.offset, 33);
	assert_int_equal(dl.timestamp_ms, T0);
	assert_string_equal(dl.key, "C-7");
	assert_string_equal(dl.code, "validation");
	assert_string_equal(dl.message, "name is required");
	assert_int_equal(dl.http_status, 422);
	assert_string_equal(dl.source_topic, "erp.customers");
	assert_int_equal(dl.source_partition, 4);
	assert_int_equal(dl.source_offset, 9000000000LL);
	assert_int_equal(dl.attempts, 3);
	assert_string_equal(dl.event_id, "e-7");
	assert_string_equal(dl.failed_at, "2026-11-28T10:00:01.123Z");
	assert_int_equal(dl.replay_count, 0);
	dead_letter_done(&dl);
	sync_done(&j);

	/* Replayed from that dead letter, failed again locally. */
	memset(&j, 0, sizeof(j));
	sync_fail(&j, "invalid_json", "value is not JSON");
	src.event_id = NULL;
	src.dead_letter_partition = 1;
	src.dead_letter_offset = 33;
	src.redeliveries = 2;
	src.finished_at_ms = -1;
	assert_int_equal(dead_letter_headers(&j, &src, h),
	                 DEAD_LETTER_HEADER_MAX);
	for (int i = 0; i < DEAD_LETTER_HEADER_MAX; i++)
		assert_string_equal(h[i].name, dead_letter_header_name(i));
	assert_string_equal(h[DL_HDR_REPLAY_COUNT].name,
	                    DLQ_HEADER_REPLAY_COUNT);
	dead_letter_add_headers(r.headers, &j, &src);
	assert_int_equal(dead_letter_parse_record(NULL, &r, &dl), 0);
	assert_string_equal(dl.code, "invalid_json");
	assert_string_equal(dl.message, "value is not JSON");
	assert_int_equal(dl.http_status, 0);
	assert_int_equal(dl.attempts, 0);
	assert_string_equal(dl.event_id, "");
	assert_string_equal(dl.failed_at, "");
	assert_int_equal(dl.source_offset, 9000000000LL);
	assert_int_equal(dl.replay_count, 2);
	assert_null(dead_letter_header_name(DEAD_LETTER_HEADER_MAX));
	dead_letter_done(&dl);
	sync_done(&j);
	rd_kafka_headers_destroy(r.headers);
}

/* ---- a mock cluster with a dead-letter topic ---- */

struct fixture {
	rd_kafka_t *owner; /* the mock cluster lives in this handle */
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *producer;
	struct config cfg;
	char yaml[1024];
};

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap,
                          const char *group)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char err[256];
	rd_kafka_t *rk;

	if (bootstrap)
		rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err,
		                  sizeof(err));
	if (group)
		rd_kafka_conf_set(c, "group.id", group, err, sizeof(err));
	rk = rd_kafka_new(type, c, err, sizeof(err));
	assert_non_null(rk);
	return rk;
}

struct hdr {
	const char *name, *value;
};

static void produce(struct fixture *fx, int32_t partition, int64_t ts,
                    const char *key, const char *value, const struct hdr *h)
{
	rd_kafka_headers_t *hs = rd_kafka_headers_new(8);

	for (; h && h->name; h++)
		rd_kafka_header_add(hs, h->name, -1, h->value, -1);
	assert_int_equal(
	    rd_kafka_producev(fx->producer, RD_KAFKA_V_TOPIC(TOPIC),
	                      RD_KAFKA_V_PARTITION(partition),
	                      RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
	                      RD_KAFKA_V_VALUE((void *)value, strlen(value)),
	                      RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(hs),
	                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                      RD_KAFKA_V_END),
	    0);
}

#define DL_HEADERS(code, status, src_offset, event_id)                        \
	{"custsync.error.code", code},                                        \
	    {"custsync.error.message", "it failed"},                          \
	    {"custsync.error.http_status", status},                           \
	    {"custsync.source.topic", "erp.customers"},                       \
	    {"custsync.source.partition", "2"},                               \
	    {"custsync.source.offset", src_offset},                           \
	    {"custsync.attempts", "3"}, {"custsync.event_id", event_id},      \
	{                                                                     \
		"custsync.failed_at", "2026-11-23T10:00:00.000Z"              \
	}

/* Partition 0: five dead letters (T0 .. T0+4000) and a foreign record;
 * partition 1: one dead letter; partition 2: empty. */
static int setup(void **state)
{
	static const struct hdr plain[] = {
	    DL_HEADERS("not_found", "", "10", "upd-1"), {NULL, NULL}};
	/* A replayed dead letter that failed again: the input's copies of
	 * custsync.* come first, the current ones last. */
	static const struct hdr replayed[] = {
	    {"x-trace", "abc"},
	    DL_HEADERS("forbidden", "403", "11", "old-id"),
	    {DLQ_HEADER_REPLAY_COUNT, "1"},
	    DL_HEADERS("conflict", "409", "12", "upd-2"),
	    {DLQ_HEADER_REPLAY_COUNT, "2"},
	    {NULL, NULL}};
	static const struct hdr bad_numbers[] = {
	    DL_HEADERS("invalid_json", "-1", "x", ""),
	    {"custsync.attempts", "+4"},
	    {NULL, NULL}};
	static const struct hdr foreign[] = {{"x-trace", "abc"}, {NULL, NULL}};
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct config_errors errs = {0};
	const char *bs;

	log_setup("crit", 0); /* keep librdkafka's chatter out */
	fx->owner = client(RD_KAFKA_PRODUCER, NULL, NULL);
	fx->mc = rd_kafka_mock_cluster_new(fx->owner, 1);
	assert_non_null(fx->mc);
	assert_int_equal(rd_kafka_mock_topic_create(fx->mc, TOPIC, 3, 1), 0);
	bs = rd_kafka_mock_cluster_bootstraps(fx->mc);
	fx->producer = client(RD_KAFKA_PRODUCER, bs, NULL);
	produce(fx, 0, T0, "K1",
	        "{\"event_id\":\"upd-1\",\"op\":\"update\",\"key\":\"C-1\","
	        "\"customer\":{\"name\":\"x\"}}",
	        plain);
	produce(fx, 0, T0 + 1000, "K2",
	        "{\"event_id\":\"upd-2\",\"op\":\"update\",\"key\":\"K2\","
	        "\"customer\":{\"name\":\"y\"}}",
	        replayed);
	/* Not JSON: the outcome named it by the Kafka key, here a Debezium
	 * JSON key reduced to its one field. */
	produce(fx, 0, T0 + 2000, "{\"id\":\"D-7\"}", "{\"op\":", bad_numbers);
	produce(fx, 0, T0 + 3000, "F", "not a dead letter", foreign);
	produce(fx, 0, T0 + 4000, "K5",
	        "{\"event_id\":\"e5\",\"op\":\"delete\",\"key\":\"K5\"}",
	        plain);
	produce(fx, 1, T0 + 500, "K9",
	        "{\"event_id\":\"e9\",\"op\":\"delete\",\"key\":\"K9\"}",
	        plain);
	assert_int_equal(rd_kafka_flush(fx->producer, 10000), 0);
	snprintf(fx->yaml, sizeof(fx->yaml),
	         "kafka:\n"
	         "  brokers: \"%s\"\n"
	         "  group_id: g\n"
	         "  topics: [erp.customers]\n"
	         "  results_topic: r\n"
	         "  dead_letter_topic: " TOPIC "\n"
	         "target:\n"
	         "  profile: alvys\n"
	         "  base_url: http://127.0.0.1:9/api\n",
	         bs);
	assert_int_equal(config_load_buffer("t.yaml", fx->yaml,
	                                    strlen(fx->yaml), &fx->cfg, &errs),
	                 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	config_done(&fx->cfg);
	rd_kafka_destroy(fx->producer);
	rd_kafka_mock_cluster_destroy(fx->mc);
	rd_kafka_destroy(fx->owner);
	free(fx);
	return 0;
}

/* What a scan saw: parsed dead letters, or the offsets of records. */
struct seen {
	const struct config *cfg;
	struct dead_letter dl[16];
	int32_t part[16];
	int64_t off[16];
	int n, foreign;
	int stop_after; /* > 0: the callback returns 7 after this many */
};

static int collect(void *arg, const rd_kafka_message_t *m)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	s->part[s->n] = m->partition;
	s->off[s->n] = m->offset;
	if (dead_letter_parse(s->cfg, m, &s->dl[s->n]))
		s->foreign++;
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

static void seen_done(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		dead_letter_done(&s->dl[i]);
}

static int scan(struct fixture *fx, struct scan_opts *o, struct seen *s,
                struct scan_range **r, size_t *n)
{
	char err[512] = "";
	int rc;

	s->cfg = &fx->cfg;
	if (!o->topic)
		o->topic = TOPIC;
	if (!o->timeout_ms)
		o->timeout_ms = 10000;
	rc = scan_topic(&fx->cfg, o, collect, s, r, n, err, sizeof(err));
	if (rc < 0)
		print_message("scan: %s\n", err);
	return rc;
}

static const struct dead_letter *at(const struct seen *s, int32_t p,
                                    int64_t off)
{
	for (int i = 0; i < s->n; i++)
		if (s->part[i] == p && s->off[i] == off)
			return &s->dl[i];
	fail_msg("no record at %d:%lld", (int)p, (long long)off);
	return NULL;
}

static void test_parse(void **state)
{
	struct fixture *fx = *state;
	struct scan_opts o = {0};
	struct seen s = {0};
	const struct dead_letter *d;

	assert_int_equal(scan(fx, &o, &s, NULL, NULL), 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.foreign, 1);

	d = at(&s, 0, 0);
	assert_int_equal(d->partition, 0);
	assert_int_equal(d->offset, 0);
	assert_int_equal(d->timestamp_ms, T0);
	/* The envelope's key, not the Kafka key: the outcome's key. */
	assert_string_equal(d->key, "C-1");
	assert_string_equal(d->code, "not_found");
	assert_string_equal(d->message, "it failed");
	assert_int_equal(d->http_status, 0); /* empty header */
	assert_string_equal(d->source_topic, "erp.customers");
	assert_int_equal(d->source_partition, 2);
	assert_int_equal(d->source_offset, 10);
	assert_int_equal(d->attempts, 3);
	assert_int_equal(d->replay_count, 0); /* no header */
	assert_string_equal(d->event_id, "upd-1");
	assert_string_equal(d->failed_at, "2026-11-23T10:00:00.000Z");

	/* The last occurrence of every custsync.* header counts. */
	d = at(&s, 0, 1);
	assert_string_equal(d->code, "conflict");
	assert_int_equal(d->http_status, 409);
	assert_int_equal(d->source_offset, 12);
	assert_string_equal(d->event_id, "upd-2");
	assert_int_equal(d->replay_count, 2);

	/* Unparsable value: the Kafka key reduced as the outcome does;
	 * numbers that are not plain decimal are not trusted. */
	d = at(&s, 0, 2);
	assert_string_equal(d->key, "D-7");
	assert_string_equal(d->code, "invalid_json");
	assert_int_equal(d->http_status, 0);
	assert_null(d->source_topic); /* offset "x": no source position */
	assert_int_equal(d->source_partition, -1);
	assert_int_equal(d->source_offset, -1);
	assert_int_equal(d->attempts, 0); /* the last one, "+4" */
	assert_string_equal(d->event_id, "");
	seen_done(&s);
}

static void test_scan_ranges_and_order(void **state)
{
	struct fixture *fx = *state;
	struct scan_opts o = {0};
	struct seen s = {0};
	struct scan_range *r = NULL;
	size_t n = 0;
	int64_t last[3] = {-1, -1, -1};

	assert_int_equal(scan(fx, &o, &s, &r, &n), 0);
	assert_int_equal(n, 3);
	assert_non_null(r);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].partition, i);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 5);
	assert_int_equal(r[1].start, 0);
	assert_int_equal(r[1].end, 1);
	/* The empty partition is not waited for. */
	assert_int_equal(r[2].start, 0);
	assert_int_equal(r[2].end, 0);
	for (int i = 0; i < s.n; i++) {
		assert_true(s.off[i] > last[s.part[i]]);
		last[s.part[i]] = s.off[i];
	}
	assert_int_equal(last[0], 4);
	assert_int_equal(last[1], 0);
	free(r);
	seen_done(&s);
}

/* The mock cluster cannot look offsets up by time (it answers -1), so
 * this also covers the fallback: records before since are dropped as
 * they are read, up to the first one at or after it. */
static void test_scan_since(void **state)
{
	struct fixture *fx = *state;
	struct scan_opts o = {.since_ms = T0 + 1000};
	struct seen s = {0};

	assert_int_equal(scan(fx, &o, &s, NULL, NULL), 0);
	assert_int_equal(s.n, 4); /* 0:1 .. 0:4; 1:0 is older (T0+500) */
	assert_int_equal(s.part[0], 0);
	for (int i = 0; i < s.n; i++) {
		assert_int_equal(s.part[i], 0);
		assert_int_equal(s.off[i], i + 1);
	}
	seen_done(&s);

	memset(&s, 0, sizeof(s));
	o = (struct scan_opts){.since_ms = T0 + 4001};
	assert_int_equal(scan(fx, &o, &s, NULL, NULL), 0);
	assert_int_equal(s.n, 0);
}

static void commit(struct fixture *fx, const char *group, int32_t p,
                   int64_t next)
{
	rd_kafka_t *c =
	    client(RD_KAFKA_CONSUMER, rd_kafka_mock_cluster_bootstraps(fx->mc),
	           group);
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(l, TOPIC, p)->offset = next;
	assert_int_equal(rd_kafka_commit(c, l, 0), 0);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy_flags(c, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

static void test_scan_committed_group(void **state)
{
	struct fixture *fx = *state;
	struct scan_opts o = {.committed_group = "g.replay"};
	struct seen s = {0};
	struct scan_range *r = NULL;
	size_t n = 0;

	/* No offsets committed yet: from the beginning. */
	assert_int_equal(scan(fx, &o, &s, &r, &n), 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(r[0].start, 0);
	free(r);
	seen_done(&s);

	commit(fx, "g.replay", 0, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(scan(fx, &o, &s, &r, &n), 0);
	assert_int_equal(r[0].start, 3);
	assert_int_equal(r[0].end, 5);
	assert_int_equal(r[1].start, 0);
	assert_int_equal(s.n, 3); /* 0:3, 0:4, 1:0 */
	free(r);
	seen_done(&s);

	/* With since too, the later of the two. */
	memset(&s, 0, sizeof(s));
	o.since_ms = T0 + 4000;
	assert_int_equal(scan(fx, &o, &s, NULL, NULL), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.off[0], 4);
	seen_done(&s);

	/* Scanning commits nothing: the group is where it was. */
	memset(&s, 0, sizeof(s));
	o.since_ms = 0;
	assert_int_equal(scan(fx, &o, &s, &r, &n), 0);
	assert_int_equal(r[0].start, 3);
	free(r);
	seen_done(&s);
}

static void test_scan_stops(void **state)
{
	static volatile sig_atomic_t stop = 1;
	struct fixture *fx = *state;
	struct scan_opts o = {0};
	struct seen s = {.stop_after = 2};
	struct scan_range *r = NULL;
	size_t n = 0;

	/* The callback's value ends the scan and is returned. */
	assert_int_equal(scan(fx, &o, &s, NULL, NULL), 7);
	assert_int_equal(s.n, 2);
	seen_done(&s);

	/* So does the stop flag, with the ranges still given. */
	memset(&s, 0, sizeof(s));
	o.stop = &stop;
	assert_int_equal(scan(fx, &o, &s, &r, &n), 1);
	assert_int_equal(s.n, 0);
	assert_int_equal(n, 3);
	free(r);
}

static void test_scan_errors(void **state)
{
	struct fixture *fx = *state;
	struct scan_opts o = {.topic = "no.such.topic", .timeout_ms = 5000};
	struct scan_range *r = (void *)1;
	size_t n = 9;
	char err[512] = "";

	assert_int_equal(
	    scan_topic(&fx->cfg, &o, collect, NULL, &r, &n, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "no.such.topic"));
	assert_non_null(strstr(err, "does not exist"));
	assert_null(r);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_since_iso),
	    cmocka_unit_test(test_since_duration),
	    cmocka_unit_test(test_since_bad),
	    cmocka_unit_test(test_filter_match),
	    cmocka_unit_test(test_filter_options),
	    cmocka_unit_test(test_headers_round_trip),
	};
	const struct CMUnitTest kafka[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_scan_ranges_and_order),
	    cmocka_unit_test(test_scan_since),
	    cmocka_unit_test(test_scan_committed_group),
	    cmocka_unit_test(test_scan_stops),
	    cmocka_unit_test(test_scan_errors),
	};

	return cmocka_run_group_tests(pure, NULL, NULL) |
	       cmocka_run_group_tests(kafka, setup, teardown);
}
