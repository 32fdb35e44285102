/* worker/config/config.c: YAML -> struct config, and every error with its
 * line:col. Errors are compared as one "LINE:COL: msg\n" text so that a
 * failure shows the whole list. */
#include "config/config.h"
#include "profiles/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Lines 1-6 and 7-9: the smallest valid file is the two together. */
#define KAFKA_OK                                                              \
	"kafka:\n"                                                            \
	"  brokers: b:9092\n"                                                 \
	"  group_id: g\n"                                                     \
	"  topics: [t]\n"                                                     \
	"  results_topic: r\n"                                                \
	"  dead_letter_topic: d\n"
#define TARGET_OK                                                             \
	"target:\n"                                                           \
	"  profile: alvys\n"                                                  \
	"  base_url: http://api\n"
#define MIN_OK KAFKA_OK TARGET_OK

static char tmpdir[] = "/tmp/custsync-config-test.XXXXXX";

static int load(const char *yaml, struct config *c, struct config_errors *e)
{
	return config_load_buffer("test.yaml", yaml, strlen(yaml), c, e);
}

static void join_errors(const struct config_errors *e, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->n; i++) {
		int n = snprintf(buf + used, size - used, "%d:%d: %s\n",
		                 e->v[i].line, e->v[i].col, e->v[i].msg);

		assert_true(n > 0 && (size_t)n < size - used);
		used += (size_t)n;
	}
}

/* want: the exact error list, "" for a valid file. */
static void expect_errors(const char *yaml, const char *want)
{
	struct config c;
	struct config_errors e;
	char got[16384];
	int rc;

	rc = load(yaml, &c, &e);
	join_errors(&e, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(rc, *want ? -EINVAL : 0);
	if (rc) {
		/* A failed load leaves nothing behind to free or use. */
		assert_null(c.kafka.brokers);
		assert_null(c.target.profile);
		assert_null(c.log.level);
	}
	config_done(&c);
	config_errors_done(&e);
}

static void load_ok(const char *yaml, struct config *c)
{
	struct config_errors e;
	char got[16384];
	int rc;

	rc = load(yaml, c, &e);
	join_errors(&e, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(rc, 0);
	config_errors_done(&e);
}

static char *path_in_tmp(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void write_file(const char *name, const char *data, size_t len)
{
	FILE *f = fopen(path_in_tmp(name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* A test's YAML or expected text built with the temp dir in it; the
 * caller frees. */
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* ---- valid files ----------------------------------------------------- */

static void full_valid(void **state)
{
	struct config c;

	(void)state;
	load_ok("kafka:\n"
	        "  brokers: k1:9092,k2:9092\n"
	        "  group_id: grp\n"
	        "  topics: [erp.customers, erp.more]\n"
	        "  results_topic: res\n"
	        "  dead_letter_topic: dlq\n"
	        "  properties:\n"
	        "    session.timeout.ms: 6000\n"
	        "    client.id: \"custsync-1\"\n"
	        "    enable.partition.eof: false\n"
	        "target:\n"
	        "  profile: alvys\n"
	        "  base_url: https://api.example.com/v1/\n"
	        "  auth:\n"
	        "    type: oauth2_client_credentials\n"
	        "    token_url: https://auth.example.com/token\n"
	        "    client_id: cid\n"
	        "    client_secret: csecret\n"
	        "    scopes: [read, write]\n"
	        "  timeout_ms: 1500\n"
	        "  connect_timeout_ms: 700\n"
	        "  max_in_flight: 8\n"
	        "  max_connections: 4\n"
	        "  max_in_flight_per_partition: 1\n"
	        "  tls_verify: no\n"
	        "retry:\n"
	        "  initial_backoff_ms: 100\n"
	        "  max_backoff_ms: 5000\n"
	        "  max_retry_after_s: 60\n"
	        "  max_attempts: 7\n"
	        "worker:\n"
	        "  shutdown_timeout_ms: 2000\n"
	        "  max_buffered_events: 500\n"
	        "log:\n"
	        "  level: debug\n"
	        "  format: json\n",
	        &c);
	assert_string_equal(c.kafka.brokers, "k1:9092,k2:9092");
	assert_string_equal(c.kafka.group_id, "grp");
	assert_int_equal(c.kafka.n_topics, 2);
	assert_string_equal(c.kafka.topics[0], "erp.customers");
	assert_string_equal(c.kafka.topics[1], "erp.more");
	assert_null(c.kafka.topics[2]);
	assert_string_equal(c.kafka.results_topic, "res");
	assert_string_equal(c.kafka.dead_letter_topic, "dlq");
	assert_int_equal(c.kafka.n_properties, 3);
	assert_string_equal(c.kafka.properties[0].key, "session.timeout.ms");
	assert_string_equal(c.kafka.properties[0].value, "6000");
	assert_string_equal(c.kafka.properties[1].key, "client.id");
	assert_string_equal(c.kafka.properties[1].value, "custsync-1");
	assert_string_equal(c.kafka.properties[2].key, "enable.partition.eof");
	assert_string_equal(c.kafka.properties[2].value, "false");
	assert_string_equal(c.target.profile, "alvys");
	assert_string_equal(c.target.base_url, "https://api.example.com/v1");
	assert_int_equal(c.target.auth.type, AUTH_OAUTH2_CC);
	assert_null(c.target.auth.token);
	assert_string_equal(c.target.auth.token_url,
	                    "https://auth.example.com/token");
	assert_string_equal(c.target.auth.client_id, "cid");
	assert_string_equal(c.target.auth.client_secret, "csecret");
	assert_int_equal(c.target.auth.n_scopes, 2);
	assert_string_equal(c.target.auth.scopes[0], "read");
	assert_string_equal(c.target.auth.scopes[1], "write");
	assert_null(c.target.auth.scopes[2]);
	assert_int_equal(c.target.timeout_ms, 1500);
	assert_int_equal(c.target.connect_timeout_ms, 700);
	assert_int_equal(c.target.max_in_flight, 8);
	assert_int_equal(c.target.max_connections, 4);
	assert_int_equal(c.target.max_in_flight_per_partition, 1);
	assert_int_equal(c.target.tls_verify, 0);
	assert_int_equal(c.retry.initial_backoff_ms, 100);
	assert_int_equal(c.retry.max_backoff_ms, 5000);
	assert_int_equal(c.retry.max_retry_after_s, 60);
	assert_int_equal(c.retry.max_attempts, 7);
	assert_int_equal(c.worker.shutdown_timeout_ms, 2000);
	assert_int_equal(c.worker.max_buffered_events, 500);
	assert_string_equal(c.log.level, "debug");
	assert_int_equal(c.log.format, LOG_FORMAT_JSON);
	config_done(&c);
}

static void defaults(void **state)
{
	struct config c;

	(void)state;
	load_ok(MIN_OK, &c);
	assert_string_equal(c.kafka.brokers, "b:9092");
	assert_string_equal(c.kafka.group_id, "g");
	assert_int_equal(c.kafka.n_topics, 1);
	assert_string_equal(c.kafka.topics[0], "t");
	assert_null(c.kafka.topics[1]);
	assert_string_equal(c.kafka.results_topic, "r");
	assert_string_equal(c.kafka.dead_letter_topic, "d");
	assert_int_equal(c.kafka.n_properties, 0);
	assert_string_equal(c.target.profile, "alvys");
	assert_string_equal(c.target.base_url, "http://api");
	assert_int_equal(c.target.auth.type, AUTH_NONE);
	assert_null(c.target.auth.token);
	assert_null(c.target.auth.token_url);
	assert_null(c.target.auth.client_id);
	assert_null(c.target.auth.client_secret);
	/* Callers may walk scopes without a NULL check. */
	assert_non_null(c.target.auth.scopes);
	assert_null(c.target.auth.scopes[0]);
	assert_int_equal(c.target.auth.n_scopes, 0);
	assert_int_equal(c.target.timeout_ms, 10000);
	assert_int_equal(c.target.connect_timeout_ms, 5000);
	assert_int_equal(c.target.max_in_flight, 64);
	assert_int_equal(c.target.max_connections, 0);
	assert_int_equal(c.target.max_in_flight_per_partition, 0);
	assert_int_equal(c.target.tls_verify, 1);
	assert_int_equal(c.target.max_response_bytes, 1024 * 1024);
	assert_int_equal(c.retry.initial_backoff_ms, 200);
	assert_int_equal(c.retry.max_backoff_ms, 60000);
	assert_int_equal(c.retry.max_retry_after_s, 3600);
	assert_int_equal(c.retry.max_attempts, 0);
	assert_int_equal(c.worker.shutdown_timeout_ms, 10000);
	assert_int_equal(c.worker.max_buffered_events, 64000);
	assert_string_equal(c.log.level, "info");
	assert_int_equal(c.log.format, LOG_FORMAT_TEXT);
	config_done(&c);
}

/* YAML's null for an optional section or list means "nothing here". */
static void null_sections(void **state)
{
	struct config c;

	(void)state;
	load_ok(KAFKA_OK "  properties:\n"
	                 "target:\n"
	                 "  profile: alvys\n"
	                 "  base_url: http://api\n"
	                 "  auth: ~\n"
	                 "retry:\n"
	                 "worker: null\n"
	                 "log: {}\n",
	        &c);
	assert_int_equal(c.kafka.n_properties, 0);
	assert_int_equal(c.target.auth.type, AUTH_NONE);
	assert_int_equal(c.retry.max_backoff_ms, 60000);
	assert_string_equal(c.log.level, "info");
	config_done(&c);
}

static void bearer_inline(void **state)
{
	struct config c;

	(void)state;
	load_ok(MIN_OK "  auth:\n"
	               "    type: bearer\n"
	               "    token: 'abc def'\n",
	        &c);
	assert_int_equal(c.target.auth.type, AUTH_BEARER);
	assert_string_equal(c.target.auth.token, "abc def");
	config_done(&c);
}

static void base_url_forms(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"http://h/", "http://h"},
	    {"https://h:8443/api/", "https://h:8443/api"},
	    /* One slash only: the rest is the user's business. */
	    {"http://h//", "http://h/"},
	    {"http://h", "http://h"},
	    {"HTTPS://h", "HTTPS://h"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c;
		char *y = fmt(KAFKA_OK "target:\n"
		                       "  profile: alvys\n"
		                       "  base_url: %s\n",
		              cases[i].in);

		load_ok(y, &c);
		assert_string_equal(c.target.base_url, cases[i].out);
		config_done(&c);
		free(y);
	}
	expect_errors(KAFKA_OK "target:\n"
	                       "  profile: alvys\n"
	                       "  base_url: api.example.com\n",
	              "9:13: 'target.base_url' must start with http:// or "
	              "https://\n");
	expect_errors(KAFKA_OK "target:\n"
	                       "  profile: alvys\n"
	                       "  base_url: 'http:///x'\n",
	              "9:13: 'target.base_url' has no host\n");
	/* libcurl would refuse it on every request. */
	expect_errors(KAFKA_OK "target:\n"
	                       "  profile: alvys\n"
	                       "  base_url: \"http://h/a\\r\\nX: 1\"\n",
	              "9:13: 'target.base_url' must not contain spaces or "
	              "control characters\n");
	expect_errors(KAFKA_OK "target:\n"
	                       "  profile: alvys\n"
	                       "  base_url: http://h/a b\n",
	              "9:13: 'target.base_url' must not contain spaces or "
	              "control characters\n");
}

static void properties_in_order(void **state)
{
	struct config c;

	(void)state;
	load_ok(KAFKA_OK "  properties:\n"
	                 "    statistics.interval.ms: 1\n"
	                 "    api.version.request: true\n"
	                 "    client.id: \"quoted\"\n"
	                 "    client.rack: ''\n"
	                 "    sasl.username: 1.50\n" TARGET_OK,
	        &c);
	assert_int_equal(c.kafka.n_properties, 5);
	assert_string_equal(c.kafka.properties[0].key,
	                    "statistics.interval.ms");
	assert_string_equal(c.kafka.properties[0].value, "1");
	assert_string_equal(c.kafka.properties[1].key, "api.version.request");
	assert_string_equal(c.kafka.properties[1].value, "true");
	assert_string_equal(c.kafka.properties[2].key, "client.id");
	assert_string_equal(c.kafka.properties[2].value, "quoted");
	assert_string_equal(c.kafka.properties[3].key, "client.rack");
	assert_string_equal(c.kafka.properties[3].value, "");
	/* Verbatim: not parsed as a number and printed back. */
	assert_string_equal(c.kafka.properties[4].value, "1.50");
	config_done(&c);

	expect_errors(KAFKA_OK "  properties:\n"         /* 7 */
	                       "    a: [1]\n"            /* 8 */
	                       "    b:\n"                /* 9 */
	                       "    a: 2\n"              /* 10 */
	                       "    [k]: 3\n" TARGET_OK, /* 11 */
	              "8:8: 'kafka.properties.a' must be a scalar\n"
	              "9:7: 'kafka.properties.b' must have a value\n"
	              "10:5: duplicate key 'kafka.properties.a'\n"
	              "11:5: keys of 'kafka.properties' must be non-empty "
	              "strings\n");
	expect_errors(KAFKA_OK "  properties: [a, b]\n" TARGET_OK,
	              "7:15: 'kafka.properties' must be a mapping\n");
}

static void aliases(void **state)
{
	struct config c;

	(void)state;
	load_ok("kafka:\n"
	        "  brokers: b\n"
	        "  group_id: &name custsync\n"
	        "  topics: &topics [a, b]\n"
	        "  results_topic: *name\n"
	        "  dead_letter_topic: d\n" TARGET_OK "  auth:\n"
	        "    type: oauth2_client_credentials\n"
	        "    token_url: http://auth\n"
	        "    client_id: *name\n"
	        "    client_secret: s\n"
	        "    scopes: *topics\n",
	        &c);
	assert_string_equal(c.kafka.results_topic, "custsync");
	assert_string_equal(c.target.auth.client_id, "custsync");
	assert_int_equal(c.target.auth.n_scopes, 2);
	assert_string_equal(c.target.auth.scopes[1], "b");
	config_done(&c);
	/* An error in an aliased value points at the alias. */
	expect_errors("kafka:\n"
	              "  brokers: b\n"
	              "  group_id: &list [x]\n"
	              "  topics: [t]\n"
	              "  results_topic: *list\n"
	              "  dead_letter_topic: *nothing\n" TARGET_OK,
	              "6:22: undefined alias 'nothing'\n");
	expect_errors("kafka:\n"
	              "  brokers: b\n"
	              "  group_id: &list [x]\n"
	              "  topics: [t]\n"
	              "  results_topic: *list\n"
	              "  dead_letter_topic: d\n" TARGET_OK,
	              "3:13: 'kafka.group_id' must be a string\n"
	              "5:18: 'kafka.results_topic' must be a string\n");
}

/* ---- errors ---------------------------------------------------------- */

static void unknown_keys(void **state)
{
	(void)state;
	expect_errors("kafka:\n"
	              "  brokerz: b\n"
	              "  brokers: b\n"
	              "  group_id: g\n"
	              "  topics: [t]\n"
	              "  results_topic: r\n"
	              "  dead_letter_topic: d\n" TARGET_OK "  auth:\n"
	              "    kind: none\n"
	              "retry:\n"
	              "  max_backof_ms: 1\n"
	              "Log: {}\n",
	              "2:3: unknown key 'kafka.brokerz'\n"
	              "12:5: unknown key 'target.auth.kind'\n"
	              "14:3: unknown key 'retry.max_backof_ms'\n"
	              "15:1: unknown key 'Log'\n");
	/* Control bytes in a key do not reach the terminal. */
	expect_errors(MIN_OK "\"a\\e[31mb\": 1\n",
	              "10:1: unknown key 'a?[31mb'\n");
}

static void wrong_types(void **state)
{
	(void)state;
	/* A section of the wrong type: only that is reported, not its
	 * missing keys. */
	expect_errors("kafka: 3\n" TARGET_OK,
	              "1:8: 'kafka' must be a mapping\n");
	expect_errors(MIN_OK "log: [a]\n", "10:6: 'log' must be a mapping\n");
	expect_errors(MIN_OK "  auth: bearer\n",
	              "10:9: 'target.auth' must be a mapping\n");
	expect_errors("kafka:\n"
	              "  brokers: [a, b]\n"
	              "  group_id: {a: 1}\n"
	              "  topics: erp.customers\n"
	              "  results_topic: ''\n"
	              "  dead_letter_topic:\n" TARGET_OK "  timeout_ms: abc\n"
	              "  tls_verify: [true]\n",
	              "2:12: 'kafka.brokers' must be a string\n"
	              "3:13: 'kafka.group_id' must be a string\n"
	              "4:11: 'kafka.topics' must be a list of strings\n"
	              "5:18: 'kafka.results_topic' must not be empty\n"
	              "6:21: 'kafka.dead_letter_topic' must not be empty\n"
	              "10:15: 'target.timeout_ms' must be an integer\n"
	              "11:15: 'target.tls_verify' must be true or false\n");
	expect_errors("kafka:\n"
	              "  brokers: b\n"
	              "  group_id: g\n"
	              "  topics: [a, [b], '', ~, {c: d}]\n"
	              "  results_topic: r\n"
	              "  dead_letter_topic: d\n" TARGET_OK,
	              "4:15: 'kafka.topics' must be a list of strings\n"
	              "4:20: 'kafka.topics' must not contain an empty "
	              "string\n"
	              "4:24: 'kafka.topics' must be a list of strings\n"
	              "4:27: 'kafka.topics' must be a list of strings\n");
	expect_errors("kafka:\n"
	              "  brokers: b\n"
	              "  group_id: g\n"
	              "  topics: []\n"
	              "  results_topic: r\n"
	              "  dead_letter_topic: d\n" TARGET_OK,
	              "4:11: 'kafka.topics' must not be empty\n");
	expect_errors("- a\n- b\n",
	              "1:1: the configuration must be a mapping\n");
	expect_errors("just text\n",
	              "1:1: the configuration must be a mapping\n");
	expect_errors(MIN_OK "[a]: 1\n",
	              "10:1: keys of 'the configuration' must be strings\n");
	expect_errors("kafka:\n"
	              "  brokers: \"a\\0b\"\n"
	              "  group_id: g\n"
	              "  topics: [t]\n"
	              "  results_topic: r\n"
	              "  dead_letter_topic: d\n" TARGET_OK,
	              "2:12: 'kafka.brokers' must not contain a NUL "
	              "character\n");
}

static void missing_keys(void **state)
{
	(void)state;
	/* At the parent's key; a missing section at 1:1. */
	expect_errors("\n"
	              "kafka:\n"
	              "  brokers: b\n"
	              "  topics: [t]\n"
	              "  results_topic: r\n",
	              "1:1: missing required key 'target'\n"
	              "2:1: missing required key 'kafka.group_id'\n"
	              "2:1: missing required key 'kafka.dead_letter_topic'\n");
	expect_errors(KAFKA_OK "log:\n"
	                       "  level: info\n"
	                       "  target: {}\n",
	              "1:1: missing required key 'target'\n"
	              "9:3: unknown key 'log.target'\n");
	expect_errors(KAFKA_OK "target:\n", /* null: an empty mapping */
	              "7:1: missing required key 'target.profile'\n"
	              "7:1: missing required key 'target.base_url'\n");
	expect_errors("retry: {}\n", "1:1: missing required key 'kafka'\n"
	                             "1:1: missing required key 'target'\n");
}

struct range_case {
	const char *section, *key, *value, *msg;
};

static void out_of_range(void **state)
{
	static const struct range_case cases[] = {
	    {"target", "timeout_ms", "0", "between 1 and 3600000"},
	    {"target", "timeout_ms", "3600001", "between 1 and 3600000"},
	    {"target", "connect_timeout_ms", "0", "between 1 and 600000"},
	    {"target", "connect_timeout_ms", "600001", "between 1 and 600000"},
	    {"target", "max_in_flight", "0", "between 1 and 4096"},
	    {"target", "max_in_flight", "4097", "between 1 and 4096"},
	    {"target", "max_connections", "-1", "between 0 and 4096"},
	    {"target", "max_connections", "4097", "between 0 and 4096"},
	    {"target", "max_in_flight_per_partition", "-1",
	     "between 0 and 4096"},
	    {"target", "max_response_bytes", "4095",
	     "between 4096 and 268435456"},
	    {"target", "max_response_bytes", "268435457",
	     "between 4096 and 268435456"},
	    {"retry", "initial_backoff_ms", "0", "between 1 and 3600000"},
	    {"retry", "initial_backoff_ms", "3600001",
	     "between 1 and 3600000"},
	    {"retry", "max_backoff_ms", "0", "between 1 and 86400000"},
	    {"retry", "max_backoff_ms", "86400001", "between 1 and 86400000"},
	    {"retry", "max_retry_after_s", "-1", "between 0 and 604800"},
	    {"retry", "max_retry_after_s", "604801", "between 0 and 604800"},
	    {"retry", "max_attempts", "-1", "at least 0"},
	    {"retry", "max_attempts", "-99999999999999999999999",
	     "at least 0"},
	    {"worker", "shutdown_timeout_ms", "-1", "between 0 and 600000"},
	    {"worker", "shutdown_timeout_ms", "600001",
	     "between 0 and 600000"},
	    {"worker", "max_buffered_events", "0", "between 1 and 10000000"},
	    {"worker", "max_buffered_events", "10000001",
	     "between 1 and 10000000"},
	    /* Too big for a long is out of range, not "not a number". */
	    {"target", "timeout_ms", "99999999999999999999999",
	     "between 1 and 3600000"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct range_case *rc = &cases[i];
		bool target = strcmp(rc->section, "target") == 0;
		char *y, *want;

		/* The key is always on line 2. */
		y = fmt(
		    "%s:\n  %s: %s\n%s", rc->section, rc->key, rc->value,
		    target
		        ? "  profile: alvys\n  base_url: http://a\n" KAFKA_OK
		        : MIN_OK);
		want = fmt("2:%zu: '%s.%s' must be %s\n", strlen(rc->key) + 5,
		           rc->section, rc->key, rc->msg);
		expect_errors(y, want);
		free(y);
		free(want);
	}
}

static void adaptive_in_flight(void **state)
{
	struct config c;

	(void)state;
	/* A number stays a number; the bounds have defaults. */
	load_ok(MIN_OK "  max_in_flight: 12\n", &c);
	assert_int_equal(c.target.max_in_flight, 12);
	assert_int_equal(c.target.adaptive.min, 2);
	assert_int_equal(c.target.adaptive.max, 64);
	config_done(&c);
	load_ok(MIN_OK "  max_in_flight: adaptive\n"
	               "  adaptive: {min: 1, max: 200}\n",
	        &c);
	assert_int_equal(c.target.max_in_flight, CONFIG_ADAPTIVE);
	assert_int_equal(c.target.adaptive.min, 1);
	assert_int_equal(c.target.adaptive.max, 200);
	config_done(&c);
	expect_errors(MIN_OK "  max_in_flight: Adaptive\n",
	              "10:18: 'target.max_in_flight' must be an integer or "
	              "'adaptive'\n");
	expect_errors(MIN_OK "  max_in_flight: 8\n"
	                     "  adaptive:\n"
	                     "    max: 16\n",
	              "12:10: 'target.adaptive.max' needs "
	              "'target.max_in_flight: adaptive'\n");
	expect_errors(MIN_OK "  max_in_flight: adaptive\n"
	                     "  adaptive:\n"
	                     "    min: 10\n"
	                     "    max: 4\n",
	              "13:10: 'target.adaptive.max' must be at least "
	              "'target.adaptive.min' (10)\n");
	expect_errors(MIN_OK "  max_in_flight: adaptive\n"
	                     "  adaptive: {min: 0}\n",
	              "11:19: 'target.adaptive.min' must be between 1 and "
	              "4096\n");
}

static void range_bounds_accepted(void **state)
{
	struct config c;

	(void)state;
	load_ok(MIN_OK "  timeout_ms: 3600000\n"
	               "  connect_timeout_ms: 1\n"
	               "  max_in_flight: 4096\n"
	               "  max_connections: 0\n"
	               "retry:\n"
	               "  initial_backoff_ms: 3600000\n"
	               "  max_backoff_ms: 86400000\n"
	               "  max_retry_after_s: 0\n"
	               "  max_attempts: 9223372036854775807\n"
	               "worker:\n"
	               "  shutdown_timeout_ms: 0\n"
	               "  max_buffered_events: 10000000\n",
	        &c);
	assert_int_equal(c.target.timeout_ms, 3600000);
	assert_int_equal(c.target.connect_timeout_ms, 1);
	assert_int_equal(c.target.max_in_flight, 4096);
	assert_int_equal(c.target.max_connections, 0);
	assert_int_equal(c.retry.initial_backoff_ms, 3600000);
	assert_int_equal(c.retry.max_backoff_ms, 86400000);
	assert_int_equal(c.retry.max_retry_after_s, 0);
	assert_true(c.retry.max_attempts == LONG_MAX);
	assert_int_equal(c.worker.shutdown_timeout_ms, 0);
	assert_int_equal(c.worker.max_buffered_events, 10000000);
	config_done(&c);
	load_ok(MIN_OK "retry:\n"
	               "  initial_backoff_ms: 1\n"
	               "  max_backoff_ms: 1\n",
	        &c);
	assert_int_equal(c.retry.max_backoff_ms, 1);
	config_done(&c);
	load_ok(MIN_OK "  max_response_bytes: 4096\n", &c);
	assert_int_equal(c.target.max_response_bytes, 4096);
	config_done(&c);
	load_ok(MIN_OK "  max_response_bytes: 268435456\n", &c);
	assert_int_equal(c.target.max_response_bytes, 268435456);
	config_done(&c);
}

static void rate_limits(void **state)
{
	struct config c;

	(void)state;
	load_ok(MIN_OK, &c);
	assert_int_equal(c.target.rate_limit.requests, 0);
	assert_int_equal(c.target.write_rate_limit.requests, 0);
	config_done(&c);
	load_ok(MIN_OK "  rate_limit: {requests: 10, per_ms: 1000}\n"
	               "  write_rate_limit:\n"
	               "    requests: 2\n"
	               "    per_ms: 60000\n"
	               "    burst: 5\n",
	        &c);
	assert_int_equal(c.target.rate_limit.requests, 10);
	assert_int_equal(c.target.rate_limit.per_ms, 1000);
	assert_int_equal(c.target.rate_limit.burst, 1);
	assert_int_equal(c.target.write_rate_limit.requests, 2);
	assert_int_equal(c.target.write_rate_limit.per_ms, 60000);
	assert_int_equal(c.target.write_rate_limit.burst, 5);
	config_done(&c);
	expect_errors(MIN_OK "  rate_limit: {requests: 0, per_ms: 1000, "
	                     "burst: 0}\n",
	              "10:26: 'target.rate_limit.requests' must be between 1 "
	              "and 1000000\n"
	              "10:50: 'target.rate_limit.burst' must be between 1 and "
	              "1000000\n");
	expect_errors(
	    MIN_OK "  write_rate_limit:\n"
	           "    per_ms: 86400001\n",
	    "10:3: missing required key "
	    "'target.write_rate_limit.requests'\n"
	    "11:13: 'target.write_rate_limit.per_ms' must be between "
	    "1 and 86400000\n");
	expect_errors(MIN_OK "  rate_limit: {}\n",
	              "10:3: missing required key "
	              "'target.rate_limit.requests'\n"
	              "10:3: missing required key "
	              "'target.rate_limit.per_ms'\n");
}

static void backoff_order(void **state)
{
	(void)state;
	expect_errors(MIN_OK "retry:\n"
	                     "  initial_backoff_ms: 5000\n"
	                     "  max_backoff_ms: 1000\n",
	              "12:19: 'retry.max_backoff_ms' must be at least "
	              "'retry.initial_backoff_ms' (5000)\n");
	/* Against the default maximum, the key that was written. */
	expect_errors(MIN_OK "retry:\n"
	                     "  initial_backoff_ms: 60001\n",
	              "11:23: 'retry.initial_backoff_ms' must be at most "
	              "'retry.max_backoff_ms' (60000)\n");
	/* An invalid bound is reported once, not compared. */
	expect_errors(MIN_OK "retry:\n"
	                     "  initial_backoff_ms: 5000\n"
	                     "  max_backoff_ms: 0\n",
	              "12:19: 'retry.max_backoff_ms' must be between 1 and "
	              "86400000\n");
}

static void integer_forms(void **state)
{
	static const struct {
		const char *text;
		long value; /* 0: rejected */
	} cases[] = {
	    {"1500", 1500},
	    /* Quoted digits are numbers too (see get_long). */
	    {"'1500'", 1500},
	    {"\"1500\"", 1500},
	    {"+25", 25},
	    {"010", 10}, /* decimal, not YAML 1.1's octal */
	    {"1.5", 0},
	    {"1500.0", 0},
	    {"1e3", 0},
	    {"0x10", 0},
	    {"10ms", 0},
	    {"1_000", 0},
	    {"' 15'", 0},
	    {"'15 '", 0},
	    {"''", 0},
	    {"~", 0},
	    {"'-'", 0},
	    {"true", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *y = fmt(MIN_OK "  timeout_ms: %s\n", cases[i].text);
		struct config c;

		if (cases[i].value) {
			load_ok(y, &c);
			assert_int_equal(c.target.timeout_ms, cases[i].value);
			config_done(&c);
		} else {
			expect_errors(y, "10:15: 'target.timeout_ms' must be "
			                 "an integer\n");
		}
		free(y);
	}
}

static void booleans(void **state)
{
	static const struct {
		const char *text;
		int value; /* -1: rejected */
	} cases[] = {
	    {"true", 1}, {"false", 0}, {"yes", 1},     {"no", 0},
	    {"True", 1}, {"NO", 0},    {"'true'", 1},  {"1", -1},
	    {"on", -1},  {"~", -1},    {"truthy", -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *y = fmt(MIN_OK "  tls_verify: %s\n", cases[i].text);
		struct config c;

		if (cases[i].value >= 0) {
			load_ok(y, &c);
			assert_int_equal(c.target.tls_verify, cases[i].value);
			config_done(&c);
		} else {
			expect_errors(y, "10:15: 'target.tls_verify' must be "
			                 "true or false\n");
		}
		free(y);
	}
}

static void bad_enums(void **state)
{
	(void)state;
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: Basic\n"
	                     "log:\n"
	                     "  level: WARNING\n"
	                     "  format: xml\n",
	              "11:11: 'target.auth.type' must be one of none, bearer, "
	              "oauth2_client_credentials, basic, api_key\n"
	              "13:10: 'log.level' must be one of debug, info, notice, "
	              "warning, error\n"
	              "14:11: 'log.format' must be one of text, json\n");
	expect_errors(MIN_OK "log:\n  level:\n",
	              "11:9: 'log.level' must be one of debug, info, notice, "
	              "warning, error\n");
}

static void input_formats(void **state)
{
	struct config c;

	(void)state;
	load_ok(MIN_OK, &c);
	assert_int_equal(c.input.format, INPUT_AUTO);
	assert_int_equal(c.input.key_format, KEY_FORMAT_JSON);
	config_done(&c);
	load_ok(MIN_OK
	        "input:\n  format: debezium_flat\n  key_format: string\n",
	        &c);
	assert_int_equal(c.input.format, INPUT_DEBEZIUM_FLAT);
	assert_int_equal(c.input.key_format, KEY_FORMAT_STRING);
	config_done(&c);
	load_ok(MIN_OK "input:\n  format: avro\n  flat: true\n"
	               "  key_format: avro\n"
	               "  schema_registry:\n    url: http://reg:8081/\n"
	               "    username: u\n    password: p\n",
	        &c);
	assert_int_equal(c.input.format, INPUT_AVRO);
	assert_int_equal(c.input.key_format, KEY_FORMAT_AVRO);
	assert_int_equal(c.input.flat, 1);
	assert_string_equal(c.input.schema_registry.url, "http://reg:8081");
	assert_int_equal(c.input.schema_registry.cache_size, 1000);
	assert_int_equal(c.input.schema_registry.timeout_ms, 10000);
	config_done(&c);
	expect_errors(MIN_OK "input:\n  format: avro\n",
	              "11:11: 'input.format: avro' needs "
	              "'input.schema_registry.url'\n");
	expect_errors(MIN_OK "input:\n  format: avro\n"
	                     "  schema_registry:\n    url: http://reg\n"
	                     "    username: u\n",
	              "14:15: 'input.schema_registry.username' needs "
	              "'input.schema_registry.password' or "
	              "'input.schema_registry.password_file'\n");
	/* flat and the registry mean something only for Avro. */
	expect_errors(MIN_OK "input:\n  flat: true\n",
	              "11:3: 'input.flat' does not apply to input.format "
	              "'auto'\n");
	expect_errors(MIN_OK "input:\n  key_format: avro\n",
	              "11:15: 'input.key_format: avro' needs 'input.format: "
	              "avro' (its registry)\n");
}

static void log_values(void **state)
{
	static const char *const levels[] = {"debug", "info", "notice",
	                                     "warning", "error"};

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		char *y =
		    fmt(MIN_OK "log: {level: %s, format: text}\n", levels[i]);
		struct config c;

		load_ok(y, &c);
		assert_string_equal(c.log.level, levels[i]);
		assert_int_equal(c.log.format, LOG_FORMAT_TEXT);
		config_done(&c);
		free(y);
	}
}

static void duplicate_keys(void **state)
{
	(void)state;
	expect_errors(KAFKA_OK "  group_id: g2\n"   /* 7 */
	              TARGET_OK                     /* 8-10 */
	                       "  profile: alvys\n" /* 11 */
	                       "kafka: {}\n",       /* 12 */
	              "7:3: duplicate key 'kafka.group_id'\n"
	              "11:3: duplicate key 'target.profile'\n"
	              "12:1: duplicate key 'kafka'\n");
}

static void syntax_errors(void **state)
{
	(void)state;
	expect_errors("kafka:\n"
	              "  brokers: x\n"
	              "   group_id: y\n",
	              "3:12: mapping values are not allowed in this "
	              "context\n");
	expect_errors("kafka:\n"
	              "\tbrokers: x\n",
	              "2:1: found character that cannot start any token "
	              "(while scanning for the next token)\n");
	expect_errors("kafka: {brokers: [a, b}\n",
	              "1:23: did not find expected ',' or ']' (while parsing "
	              "a flow sequence)\n");
	expect_errors(MIN_OK "---\nkafka: {}\n",
	              "10:1: only one YAML document is allowed\n");
	expect_errors("a: \"\xc3\x28\"\n",
	              "1:6: invalid trailing UTF-8 octet\n");
}

static void empty_files(void **state)
{
	struct config c;
	struct config_errors e;

	(void)state;
	expect_errors("", "1:1: empty configuration\n");
	expect_errors("# only a comment\n\n", "1:1: empty configuration\n");
	expect_errors("---\n", "1:1: empty configuration\n");
	expect_errors("~\n", "1:1: empty configuration\n");
	assert_int_equal(config_load_buffer("x", NULL, 0, &c, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0].msg, "empty configuration");
	config_errors_done(&e);
}

/* The known list comes from profile.c, which grows with each profile. */
static void profiles(void **state)
{
	char *want;

	(void)state;
	assert_non_null(strstr(profile_names(), "alvys"));
	want = fmt("8:12: unknown profile 'nosuch' (known: %s)\n",
	           profile_names());
	expect_errors(KAFKA_OK "target:\n"
	                       "  profile: nosuch\n"
	                       "  base_url: http://api\n",
	              want);
	free(want);
	want = fmt("8:12: unknown profile 'Alvys' (known: %s)\n",
	           profile_names());
	expect_errors(KAFKA_OK "target:\n"
	                       "  profile: Alvys\n"
	                       "  base_url: http://api\n",
	              want);
	free(want);
}

static void auth_combinations(void **state)
{
	(void)state;
	/* bearer: neither, then both (blamed on the second). */
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: bearer\n",
	              "10:3: 'target.auth' needs exactly one of 'token' and "
	              "'token_file'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    token_file: /x\n"
	                     "    type: bearer\n"
	                     "    token: t\n",
	              "13:5: 'target.auth' needs exactly one of 'token' and "
	              "'token_file'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: oauth2_client_credentials\n",
	              "10:3: missing required key 'target.auth.token_url'\n"
	              "10:3: missing required key 'target.auth.client_id'\n"
	              "10:3: 'target.auth' needs exactly one of "
	              "'client_secret' and 'client_secret_file'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: oauth2_client_credentials\n"
	                     "    token_url: auth.example.com\n"
	                     "    client_id: c\n"
	                     "    client_secret: s\n"
	                     "    client_secret_file: /x\n"
	                     "    scopes: read\n",
	              "12:16: 'target.auth.token_url' must start with http:// "
	              "or https://\n"
	              "15:5: 'target.auth' needs exactly one of "
	              "'client_secret' and 'client_secret_file'\n"
	              "16:13: 'target.auth.scopes' must be a list of "
	              "strings\n");
	/* Keys of another type are mistakes, not silently ignored. */
	expect_errors(MIN_OK "  auth:\n"
	                     "    token: t\n"
	                     "    scopes: [a]\n",
	              "11:5: 'target.auth.token' does not apply to auth type "
	              "'none'\n"
	              "12:5: 'target.auth.scopes' does not apply to auth type "
	              "'none'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: bearer\n"
	                     "    token: t\n"
	                     "    client_id: c\n",
	              "13:5: 'target.auth.client_id' does not apply to auth "
	              "type 'bearer'\n");
}

static void auth_basic(void **state)
{
	struct config c;
	char *y;

	(void)state;
	load_ok(MIN_OK "  auth:\n"
	               "    type: basic\n"
	               "    username: erp-sync\n"
	               "    password: 'p w:d'\n",
	        &c);
	assert_int_equal(c.target.auth.type, AUTH_BASIC);
	assert_string_equal(c.target.auth.username, "erp-sync");
	/* A colon belongs in the password; only the user-id ends at one. */
	assert_string_equal(c.target.auth.password, "p w:d");
	assert_null(c.target.auth.token);
	assert_null(c.target.auth.header);
	assert_null(c.target.auth.key);
	config_done(&c);

	write_file("secret", "pw-from-file\n", 13);
	y = fmt(MIN_OK "  auth:\n"
	               "    type: basic\n"
	               "    username: u\n"
	               "    password_file: %s\n",
	        path_in_tmp("secret"));
	load_ok(y, &c);
	assert_string_equal(c.target.auth.password, "pw-from-file");
	config_done(&c);
	free(y);
	unlink(path_in_tmp("secret"));

	expect_errors(MIN_OK "  auth:\n"
	                     "    type: basic\n",
	              "10:3: missing required key 'target.auth.username'\n"
	              "10:3: 'target.auth' needs exactly one of 'password' "
	              "and 'password_file'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: basic\n"
	                     "    password_file: /x\n"
	                     "    username: 'a:b'\n"
	                     "    password: p\n",
	              "13:15: 'target.auth.username' must not contain ':'\n"
	              "14:5: 'target.auth' needs exactly one of 'password' "
	              "and 'password_file'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: basic\n"
	                     "    username: ''\n"
	                     "    password: p\n",
	              "12:15: 'target.auth.username' must not be empty\n");
	/* Keys of another type, both ways. */
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: basic\n"
	                     "    username: u\n"
	                     "    password: p\n"
	                     "    token: t\n"
	                     "    header: X-Key\n",
	              "14:5: 'target.auth.token' does not apply to auth type "
	              "'basic'\n"
	              "15:5: 'target.auth.header' does not apply to auth "
	              "type 'basic'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: bearer\n"
	                     "    token: t\n"
	                     "    username: u\n"
	                     "    password_file: /x\n",
	              "13:5: 'target.auth.username' does not apply to auth "
	              "type 'bearer'\n"
	              "14:5: 'target.auth.password_file' does not apply to "
	              "auth type 'bearer'\n");
}

static void auth_api_key(void **state)
{
	struct config c;
	char *y, *want;

	(void)state;
	load_ok(MIN_OK "  auth:\n"
	               "    type: api_key\n"
	               "    key: k-123\n",
	        &c);
	assert_int_equal(c.target.auth.type, AUTH_API_KEY);
	assert_string_equal(c.target.auth.header, "X-API-Key");
	assert_string_equal(c.target.auth.key, "k-123");
	assert_null(c.target.auth.username);
	assert_null(c.target.auth.password);
	config_done(&c);

	write_file("secret", "key-from-file\n", 14);
	y = fmt(MIN_OK "  auth:\n"
	               "    type: api_key\n"
	               "    header: Ocp-Apim-Subscription-Key\n"
	               "    key_file: %s\n",
	        path_in_tmp("secret"));
	load_ok(y, &c);
	assert_string_equal(c.target.auth.header, "Ocp-Apim-Subscription-Key");
	assert_string_equal(c.target.auth.key, "key-from-file");
	config_done(&c);
	free(y);

	/* A key_file that cannot be read names the file, not the key. */
	y = fmt(MIN_OK "  auth:\n"
	               "    type: api_key\n"
	               "    key_file: %s\n",
	        path_in_tmp("absent"));
	want = fmt("12:15: cannot read 'target.auth.key_file' (%s): No such "
	           "file or directory\n",
	           path_in_tmp("absent"));
	expect_errors(y, want);
	free(y);
	free(want);
	unlink(path_in_tmp("secret"));

	expect_errors(MIN_OK "  auth:\n"
	                     "    type: api_key\n",
	              "10:3: 'target.auth' needs exactly one of 'key' and "
	              "'key_file'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: api_key\n"
	                     "    key: k\n"
	                     "    key_file: /x\n",
	              "13:5: 'target.auth' needs exactly one of 'key' and "
	              "'key_file'\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: api_key\n"
	                     "    header: 'X-API-Key:'\n"
	                     "    key: k\n",
	              "12:13: 'target.auth.header' must be an HTTP header "
	              "name (letters, digits and !#$%&'*+-.^_`|~)\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: api_key\n"
	                     "    header: \"X-Key\\r\\nHost: evil\"\n"
	                     "    key: k\n",
	              "12:13: 'target.auth.header' must be an HTTP header "
	              "name (letters, digits and !#$%&'*+-.^_`|~)\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: api_key\n"
	                     "    header:\n"
	                     "    key: k\n"
	                     "    client_id: c\n",
	              "12:12: 'target.auth.header' must not be empty\n"
	              "14:5: 'target.auth.client_id' does not apply to auth "
	              "type 'api_key'\n");
}

static void forward_headers(void **state)
{
	struct config c;

	(void)state;
	load_ok(MIN_OK, &c);
	assert_int_equal(c.input.n_forward_headers, 0);
	assert_null(c.input.forward_headers[0]);
	config_done(&c);
	load_ok(MIN_OK "input:\n"
	               "  forward_headers: [X-Tenant, baggage]\n",
	        &c);
	assert_int_equal(c.input.n_forward_headers, 2);
	assert_string_equal(c.input.forward_headers[1], "baggage");
	config_done(&c);
	/* Each refused name at its own place. */
	expect_errors(MIN_OK "input:\n"
	                     "  forward_headers:\n"
	                     "    - X-Tenant\n"
	                     "    - authorization\n"
	                     "    - 'X Bad'\n"
	                     "    - x-tenant\n"
	                     "    - traceparent\n",
	              "13:7: 'input.forward_headers[1]': 'authorization' is a "
	              "header custsync sets itself and cannot be forwarded\n"
	              "14:7: 'input.forward_headers[2]': 'X Bad' is not an "
	              "HTTP header name (letters, digits and "
	              "!#$%&'*+-.^_`|~) and cannot be forwarded\n"
	              "15:7: 'input.forward_headers[3]': 'x-tenant' is "
	              "listed twice (header names ignore case) and cannot be "
	              "forwarded\n"
	              "16:7: 'input.forward_headers[4]': 'traceparent' is "
	              "forwarded already, checked as W3C Trace Context and "
	              "cannot be forwarded\n");
	/* The api_key header, default or named, carries the credential. */
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: api_key\n"
	                     "    key: k\n"
	                     "input:\n"
	                     "  forward_headers: [x-api-key]\n",
	              "14:21: 'input.forward_headers[0]': 'x-api-key' "
	              "carries target.auth.key and cannot be forwarded\n");
	load_ok(MIN_OK "input:\n"
	               "  forward_headers: [X-API-Key]\n",
	        &c);
	config_done(&c);
}

static void profile_settings(void **state)
{
	static const char *const languages[] = {"da", "de", "el", "en", "es",
	                                        "fr", "ja", "nl", "no", "pl"};
	struct config c;

	(void)state;
	load_ok(MIN_OK, &c);
	assert_int_equal(c.target.short_id, SHORT_ID_KEY);
	assert_int_equal(c.target.delete_mode, DELETE_SUSPEND);
	assert_string_equal(c.target.language, "en");
	assert_string_equal(c.target.accept_language, "en");
	config_done(&c);

	load_ok(MIN_OK "  short_id: number\n"
	               "  delete_mode: hard\n"
	               "  language: da\n",
	        &c);
	assert_int_equal(c.target.short_id, SHORT_ID_NUMBER);
	assert_int_equal(c.target.delete_mode, DELETE_HARD);
	assert_string_equal(c.target.language, "da");
	/* The default follows the language that was written. */
	assert_string_equal(c.target.accept_language, "da");
	config_done(&c);

	/* "no" is Norwegian here, not YAML 1.1's false. */
	load_ok(MIN_OK "  language: no\n"
	               "  accept_language: 'nb-NO, no;q=0.9, en;q=0.5'\n"
	               "  short_id: key\n"
	               "  delete_mode: suspend\n",
	        &c);
	assert_string_equal(c.target.language, "no");
	assert_string_equal(c.target.accept_language,
	                    "nb-NO, no;q=0.9, en;q=0.5");
	assert_int_equal(c.target.short_id, SHORT_ID_KEY);
	assert_int_equal(c.target.delete_mode, DELETE_SUSPEND);
	config_done(&c);

	for (size_t i = 0; i < sizeof(languages) / sizeof(*languages); i++) {
		char *y = fmt(MIN_OK "  language: %s\n", languages[i]);

		load_ok(y, &c);
		assert_string_equal(c.target.language, languages[i]);
		config_done(&c);
		free(y);
	}

	expect_errors(MIN_OK "  short_id: id\n"         /* 10 */
	                     "  delete_mode: soft\n"    /* 11 */
	                     "  language: EN\n"         /* 12 */
	                     "  accept_language: ''\n", /* 13 */
	              "10:13: 'target.short_id' must be one of key, number\n"
	              "11:16: 'target.delete_mode' must be one of suspend, "
	              "hard\n"
	              "12:13: 'target.language' must be one of da, de, el, "
	              "en, es, fr, ja, nl, no, pl\n"
	              "13:20: 'target.accept_language' must not be empty\n");
	expect_errors(MIN_OK "  language: en-US\n"
	                     "  accept_language: \"da\\r\\nX-Evil: 1\"\n"
	                     "  short_id: [key]\n",
	              "10:13: 'target.language' must be one of da, de, el, "
	              "en, es, fr, ja, nl, no, pl\n"
	              "11:20: 'target.accept_language' must be an "
	              "Accept-Language value such as 'da, en;q=0.5'\n"
	              "12:13: 'target.short_id' must be a string\n");
	expect_errors(MIN_OK "  language: ~\n",
	              "10:13: 'target.language' must be one of da, de, el, "
	              "en, es, fr, ja, nl, no, pl\n");
}

#define MAPPING_EXAMPLE                                                       \
	"mapping:\n"                                                          \
	"  external_id: /CUSTNO\n"                                            \
	"  name: /CUSTNAME\n"                                                 \
	"  email: [/EMAIL1, /EMAIL2]\n"                                       \
	"  billing_address.postal_code: /ZIPCODE\n"

static void mapping_valid(void **state)
{
	static const char *const fields[] = {
	    "name",
	    "type",
	    "number",
	    "external_id",
	    "status",
	    "email",
	    "phone",
	    "mobile",
	    "fax",
	    "company",
	    "language",
	    "time_zone",
	    "notes",
	    "contact.first_name",
	    "contact.last_name",
	    "contact.name",
	    "billing_address.street",
	    "billing_address.city",
	    "billing_address.state",
	    "billing_address.state_code",
	    "billing_address.postal_code",
	    "billing_address.country",
	    "billing_address.country_code",
	};
	struct config c;

	(void)state;
	load_ok(MIN_OK MAPPING_EXAMPLE, &c);
	assert_int_equal(c.n_mapping, 4);
	assert_string_equal(c.mapping[0].field, "external_id");
	assert_int_equal(c.mapping[0].n_pointers, 1);
	assert_string_equal(c.mapping[0].pointers[0], "/CUSTNO");
	assert_int_equal(c.mapping[0].list, 0);
	assert_string_equal(c.mapping[1].field, "name");
	assert_string_equal(c.mapping[1].pointers[0], "/CUSTNAME");
	assert_string_equal(c.mapping[2].field, "email");
	assert_int_equal(c.mapping[2].n_pointers, 2);
	assert_string_equal(c.mapping[2].pointers[0], "/EMAIL1");
	assert_string_equal(c.mapping[2].pointers[1], "/EMAIL2");
	assert_int_equal(c.mapping[2].list, 1);
	assert_string_equal(c.mapping[3].field, "billing_address.postal_code");
	assert_string_equal(c.mapping[3].pointers[0], "/ZIPCODE");
	config_done(&c);
	assert_null(c.mapping);
	assert_int_equal(c.n_mapping, 0);

	/* Escapes and indexes are kept as written (mapping.c reads them);
	 * a single pointer for a list field is a list of one; mobile is a
	 * list field fed by one pointer; ${VAR} expands. */
	setenv("CUSTSYNC_T_COL", "PHONE", 1);
	load_ok(MIN_OK "mapping:\n"
	               "  phone: /${CUSTSYNC_T_COL}\n"
	               "  mobile: /MOBILE\n"
	               "  notes: '/a~1b/~0c'\n"
	               "  billing_address.street:\n"
	               "    - /ADDR/0\n"
	               "    - /ADDR/1\n"
	               "    - /\n"
	               "  contact.first_name: /CONTACT/FIRST\n",
	        &c);
	assert_int_equal(c.n_mapping, 5);
	assert_string_equal(c.mapping[0].field, "phone");
	assert_string_equal(c.mapping[0].pointers[0], "/PHONE");
	assert_int_equal(c.mapping[0].n_pointers, 1);
	assert_int_equal(c.mapping[0].list, 1);
	assert_string_equal(c.mapping[1].field, "mobile");
	assert_int_equal(c.mapping[1].list, 1);
	assert_string_equal(c.mapping[2].pointers[0], "/a~1b/~0c");
	assert_int_equal(c.mapping[2].list, 0);
	assert_int_equal(c.mapping[3].n_pointers, 3);
	assert_string_equal(c.mapping[3].pointers[2], "/");
	assert_string_equal(c.mapping[4].field, "contact.first_name");
	config_done(&c);
	unsetenv("CUSTSYNC_T_COL");

	/* Every canonical path is accepted; null and {} map nothing. */
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		char *y = fmt(MIN_OK "mapping: {%s: /F}\n", fields[i]);

		load_ok(y, &c);
		assert_int_equal(c.n_mapping, 1);
		assert_string_equal(c.mapping[0].field, fields[i]);
		config_done(&c);
		free(y);
	}
	load_ok(MIN_OK "mapping:\n", &c);
	assert_int_equal(c.n_mapping, 0);
	config_done(&c);
	load_ok(MIN_OK "mapping: {}\n", &c);
	assert_int_equal(c.n_mapping, 0);
	config_done(&c);
}

static void mapping_errors(void **state)
{
	(void)state;
	expect_errors(MIN_OK "mapping:\n"                 /* 10 */
	                     "  external_id: CUSTNO\n"    /* 11 */
	                     "  nmae: /CUSTNAME\n"        /* 12 */
	                     "  email: [/E1, E2, '']\n"   /* 13 */
	                     "  name: [/A, /B]\n"         /* 14 */
	                     "  fax: '/a~2b'\n"           /* 15 */
	                     "  phone: []\n"              /* 16 */
	                     "  number:\n"                /* 17 */
	                     "  company: {a: /b}\n"       /* 18 */
	                     "  billing_address: /ADDR\n" /* 19 */
	                     "  mobile: [/M]\n"           /* 20 */
	                     "  external_id: /X\n"        /* 21 */
	                     "  notes: '/x~'\n"           /* 22 */
	                     "  Name: /N\n",              /* 23 */
	              "11:16: bad JSON pointer 'CUSTNO': must start with "
	              "'/'\n"
	              "12:3: unknown canonical field 'nmae' in mapping\n"
	              "13:16: bad JSON pointer 'E2': must start with '/'\n"
	              "13:20: bad JSON pointer '': must start with '/'\n"
	              "14:9: 'mapping.name' must be one JSON pointer (only "
	              "email, phone and billing_address.street take a "
	              "list)\n"
	              "15:8: bad JSON pointer '/a~2b': '~' must be followed "
	              "by '0' or '1'\n"
	              "16:10: 'mapping.phone' must not be empty\n"
	              "17:10: 'mapping.number' must be a JSON pointer\n"
	              "18:12: 'mapping.company' must be a JSON pointer\n"
	              "19:3: unknown canonical field 'billing_address' in "
	              "mapping\n"
	              "20:11: 'mapping.mobile' must be one JSON pointer "
	              "(only email, phone and billing_address.street take a "
	              "list)\n"
	              "21:3: duplicate key 'mapping.external_id'\n"
	              "22:10: bad JSON pointer '/x~': '~' must be followed "
	              "by '0' or '1'\n"
	              "23:3: unknown canonical field 'Name' in mapping\n");
	expect_errors(MIN_OK "mapping:\n"                 /* 10 */
	                     "  email: {a: /b}\n"         /* 11 */
	                     "  phone: [/a, [/b], ~]\n"   /* 12 */
	                     "  [name]: /x\n"             /* 13 */
	                     "  delivery_addresses: /D\n" /* 14 */
	                     "  contact: /C\n",           /* 15 */
	              "11:10: 'mapping.email' must be a JSON pointer or a "
	              "list of them\n"
	              "12:15: 'mapping.phone' must be a list of JSON "
	              "pointers\n"
	              "12:21: 'mapping.phone' must be a JSON pointer\n"
	              "13:3: keys of 'mapping' must be strings\n"
	              "14:3: unknown canonical field 'delivery_addresses' in "
	              "mapping\n"
	              "15:3: unknown canonical field 'contact' in mapping\n");
	expect_errors(MIN_OK "mapping: [/a]\n",
	              "10:10: 'mapping' must be a mapping\n");
	expect_errors(MIN_OK "mapping:\n"
	                     "  name: /${CUSTSYNC_T_UNSET}\n",
	              "11:9: environment variable 'CUSTSYNC_T_UNSET' is not "
	              "set\n");
}

/* The cap on pointers of one field: 32 is fine, 33 is not. */
static void mapping_pointer_limit(void **state)
{
	char y[2048];
	struct config c;
	size_t used;

	(void)state;
	used =
	    (size_t)snprintf(y, sizeof(y), "%smapping:\n  email:\n", MIN_OK);
	for (int i = 0; i < 32; i++)
		used += (size_t)snprintf(y + used, sizeof(y) - used,
		                         "    - /E%d\n", i);
	load_ok(y, &c);
	assert_int_equal(c.mapping[0].n_pointers, 32);
	assert_string_equal(c.mapping[0].pointers[31], "/E31");
	config_done(&c);
	snprintf(y + used, sizeof(y) - used, "    - /E32\n");
	expect_errors(y, "12:5: 'mapping.email' has more than 32 pointers\n");
}

static void secrets_not_shown(void **state)
{
	struct config c;
	struct config_errors e;
	char got[4096];

	(void)state;
	setenv("CUSTSYNC_T_SECRET", "env-s3cret", 1);
	assert_int_equal(load(MIN_OK "  auth:\n"
	                             "    token: inline-s3cret\n"
	                             "    type: bearer\n"
	                             "    token_file: ${CUSTSYNC_T_SECRET}\n"
	                             "    client_secret: other-s3cret\n",
	                      &c, &e),
	                 -EINVAL);
	join_errors(&e, got, sizeof(got));
	assert_true(e.n >= 2);
	assert_null(strstr(got, "s3cret"));
	config_errors_done(&e);

	/* basic and api_key: both forms of each secret, plus a stray key
	 * of the other type. */
	assert_int_equal(load(MIN_OK
	                      "  auth:\n"
	                      "    type: basic\n"
	                      "    username: u\n"
	                      "    password: pw-s3cret\n"
	                      "    password_file: ${CUSTSYNC_T_SECRET}\n"
	                      "    key: key-s3cret\n",
	                      &c, &e),
	                 -EINVAL);
	join_errors(&e, got, sizeof(got));
	assert_int_equal(e.n, 2);
	assert_null(strstr(got, "s3cret"));
	config_errors_done(&e);
	assert_int_equal(load(MIN_OK "  auth:\n"
	                             "    type: api_key\n"
	                             "    key: key-s3cret\n"
	                             "    key_file: ${CUSTSYNC_T_SECRET}\n"
	                             "    password: pw-s3cret\n",
	                      &c, &e),
	                 -EINVAL);
	join_errors(&e, got, sizeof(got));
	assert_int_equal(e.n, 2);
	assert_null(strstr(got, "s3cret"));
	config_errors_done(&e);
	unsetenv("CUSTSYNC_T_SECRET");
}

/* Every config value that reaches an HTTP header, from each source
 * (inline, ${VAR}, *_file): what a header cannot carry is an error at
 * its place, and the value never shows in the message. */
#define HDR_MSG                                                               \
	"an HTTP header value may hold only visible ASCII and "               \
	"spaces"
#define CRED_MSG "credentials must not contain control characters"

static void header_value_error(const char *auth, const char *want)
{
	struct config c;
	struct config_errors e;
	char *y = fmt(MIN_OK "  auth:\n%s", auth), got[4096];

	expect_errors(y, want);
	assert_int_equal(load(y, &c, &e), -EINVAL);
	join_errors(&e, got, sizeof(got));
	assert_null(strstr(got, "s3cret"));
	assert_null(strstr(got, "Injected"));
	config_errors_done(&e);
	free(y);
}

static void header_values_inline(void **state)
{
	(void)state;
	header_value_error("    type: bearer\n"
	                   "    token: \"s3cret\\r\\nX-Injected: 1\"\n",
	                   "12:12: 'target.auth.token' contains a control "
	                   "character (CR); " HDR_MSG "\n");
	header_value_error("    type: bearer\n"
	                   "    token: \"s3cret\\nX-Injected: 1\"\n",
	                   "12:12: 'target.auth.token' contains a control "
	                   "character (LF); " HDR_MSG "\n");
	header_value_error("    type: bearer\n"
	                   "    token: \"s3cret\\tInjected\"\n",
	                   "12:12: 'target.auth.token' contains a control "
	                   "character (tab); " HDR_MSG "\n");
	header_value_error("    type: bearer\n"
	                   "    token: \"s3cret\\x7fInjected\"\n",
	                   "12:12: 'target.auth.token' contains a control "
	                   "character (DEL); " HDR_MSG "\n");
	header_value_error("    type: bearer\n"
	                   "    token: \"s3cret\\x01Injected\"\n",
	                   "12:12: 'target.auth.token' contains a control "
	                   "character (0x01); " HDR_MSG "\n");
	/* Sent as is, so UTF-8 cannot be sent either. */
	header_value_error("    type: bearer\n"
	                   "    token: \"s3cret\u00e9\"\n",
	                   "12:12: 'target.auth.token' contains a non-ASCII "
	                   "byte; " HDR_MSG "\n");
	header_value_error("    type: api_key\n"
	                   "    header: X-Key\n"
	                   "    key: \"s3cret\\r\\nX-Injected: 1\"\n",
	                   "13:10: 'target.auth.key' contains a control "
	                   "character (CR); " HDR_MSG "\n");
	/* Basic credentials are sent in base64: controls are still
	 * refused (RFC 7617), UTF-8 is not. */
	header_value_error("    type: basic\n"
	                   "    username: \"u\\nInjected\"\n"
	                   "    password: \"s3cret\\r\\nX-Injected: 1\"\n",
	                   "12:15: 'target.auth.username' contains a control "
	                   "character (LF); " CRED_MSG "\n"
	                   "13:15: 'target.auth.password' contains a control "
	                   "character (CR); " CRED_MSG "\n");
	header_value_error("    type: oauth2_client_credentials\n"
	                   "    token_url: https://auth/token\n"
	                   "    client_id: \"c\\nInjected\"\n"
	                   "    client_secret: \"s3cret\\n\"\n",
	                   "13:16: 'target.auth.client_id' contains a "
	                   "control character (LF); " CRED_MSG "\n"
	                   "14:20: 'target.auth.client_secret' contains a "
	                   "control character (LF); " CRED_MSG "\n");
}

static void header_values_accepted(void **state)
{
	struct config c;

	(void)state;
	/* Visible ASCII and inner spaces are what a token may hold. */
	load_ok(MIN_OK "  auth:\n"
	               "    type: bearer\n"
	               "    token: \"a-Z_0.9~+/= !#$%&'*^`|\\\"x\"\n",
	        &c);
	assert_string_equal(c.target.auth.token, "a-Z_0.9~+/= !#$%&'*^`|\"x");
	config_done(&c);
	load_ok(MIN_OK "  auth:\n"
	               "    type: basic\n"
	               "    username: \"j\u00fcrgen\"\n"
	               "    password: \"p\u00e4ss w\"\n",
	        &c);
	assert_string_equal(c.target.auth.password, "p\xc3\xa4ss w");
	config_done(&c);
}

static void header_values_from_env(void **state)
{
	(void)state;
	setenv("CUSTSYNC_T_TOKEN", "s3cret\r\nX-Injected: 1", 1);
	header_value_error("    type: bearer\n"
	                   "    token: ${CUSTSYNC_T_TOKEN}\n",
	                   "12:12: 'target.auth.token' contains a control "
	                   "character (CR); " HDR_MSG "\n");
	header_value_error("    type: bearer\n"
	                   "    token: \"Bearer-${CUSTSYNC_T_TOKEN}\"\n",
	                   "12:12: 'target.auth.token' contains a control "
	                   "character (CR); " HDR_MSG "\n");
	header_value_error("    type: api_key\n"
	                   "    key: ${CUSTSYNC_T_TOKEN}\n",
	                   "12:10: 'target.auth.key' contains a control "
	                   "character (CR); " HDR_MSG "\n");
	header_value_error("    type: basic\n"
	                   "    username: u\n"
	                   "    password: ${CUSTSYNC_T_TOKEN}\n",
	                   "13:15: 'target.auth.password' contains a control "
	                   "character (CR); " CRED_MSG "\n");
	unsetenv("CUSTSYNC_T_TOKEN");
}

/* One trailing newline is stripped (editors add it); any other CR or
 * LF is the secret's own, and a header cannot carry it. */
static void header_values_from_files(void **state)
{
	static const struct {
		const char *content;
		size_t len;
		const char *what;
	} files[] = {
	    {"s3cret\r\nX-Injected: 1\n", 22, "a control character (CR)"},
	    {"s3cret\nX-Injected: 1\n", 21, "a control character (LF)"},
	    {"s3cret\n\n", 8, "a control character (LF)"},
	    {"s3cret\r", 7, "a control character (CR)"},
	    {"s3cret\r\r\n", 9, "a control character (CR)"},
	};
	static const struct {
		const char *type, *key, *extra, *msg;
		int line, col;
	} keys[] = {
	    {"bearer", "token_file", "", HDR_MSG, 12, 17},
	    {"api_key", "key_file", "", HDR_MSG, 12, 15},
	    {"basic", "password_file", "    username: u\n", CRED_MSG, 13, 20},
	    {"oauth2_client_credentials", "client_secret_file",
	     "    token_url: https://auth/token\n    client_id: c\n", CRED_MSG,
	     14, 25},
	};

	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			char *auth, *want;

			write_file("secret", files[f].content, files[f].len);
			auth = fmt("    type: %s\n%s    %s: %s\n",
			           keys[k].type, keys[k].extra, keys[k].key,
			           path_in_tmp("secret"));
			want = fmt("%d:%d: 'target.auth.%s' contains %s; %s\n",
			           keys[k].line, keys[k].col, keys[k].key,
			           files[f].what, keys[k].msg);
			header_value_error(auth, want);
			free(auth);
			free(want);
		}
	}
	unlink(path_in_tmp("secret"));
}

static void env_expansion(void **state)
{
	struct config c;

	(void)state;
	setenv("CUSTSYNC_T_HOST", "kafka1", 1);
	setenv("CUSTSYNC_T_PORT", "9093", 1);
	setenv("CUSTSYNC_T_EMPTY", "", 1);
	setenv("CUSTSYNC_T_NUM", "1234", 1);
	unsetenv("CUSTSYNC_T_UNSET");
	load_ok("kafka:\n"
	        "  brokers: ${CUSTSYNC_T_HOST}:${CUSTSYNC_T_PORT}\n"
	        "  group_id: ${CUSTSYNC_T_UNSET:-grp-default}\n"
	        "  topics:\n"
	        "    - ${CUSTSYNC_T_EMPTY:-from-default}\n"
	        "    - p$$q\n"
	        "    - $plain\n"
	        "    - trailing$\n"
	        "    - 'single ${CUSTSYNC_T_HOST}'\n"
	        "    - $${CUSTSYNC_T_HOST}\n"
	        "  results_topic: \"${CUSTSYNC_T_EMPTY}r\"\n"
	        "  dead_letter_topic: x${CUSTSYNC_T_UNSET:-}y\n" TARGET_OK
	        "  timeout_ms: ${CUSTSYNC_T_NUM}\n"
	        "  tls_verify: ${CUSTSYNC_T_UNSET:-false}\n"
	        "  max_in_flight: '${CUSTSYNC_T_NUM:-5}'\n",
	        &c);
	assert_string_equal(c.kafka.brokers, "kafka1:9093");
	assert_string_equal(c.kafka.group_id, "grp-default");
	assert_int_equal(c.kafka.n_topics, 6);
	/* Set but empty takes the default too, as in the shell. */
	assert_string_equal(c.kafka.topics[0], "from-default");
	assert_string_equal(c.kafka.topics[1], "p$q");
	assert_string_equal(c.kafka.topics[2], "$plain");
	assert_string_equal(c.kafka.topics[3], "trailing$");
	assert_string_equal(c.kafka.topics[4], "single kafka1");
	assert_string_equal(c.kafka.topics[5], "${CUSTSYNC_T_HOST}");
	assert_string_equal(c.kafka.results_topic, "r");
	assert_string_equal(c.kafka.dead_letter_topic, "xy");
	/* Expanded first, then typed. */
	assert_int_equal(c.target.timeout_ms, 1234);
	assert_int_equal(c.target.tls_verify, 0);
	assert_int_equal(c.target.max_in_flight, 1234);
	config_done(&c);

	setenv("CUSTSYNC_T_WORD", "abc", 1);
	expect_errors(
	    "kafka:\n"
	    "  brokers: ${CUSTSYNC_T_UNSET}\n"
	    "  group_id: \"a${CUSTSYNC_T_UNSET2}b${CUSTSYNC_T_UNSET}\"\n"
	    "  topics: [t]\n"
	    "  results_topic: ${CUSTSYNC_T_HOST\n"
	    "  dead_letter_topic: ${1BAD}\n" TARGET_OK
	    "  timeout_ms: ${CUSTSYNC_T_WORD}\n"
	    "  max_in_flight: ${CUSTSYNC_T_UNSET}\n"
	    "  connect_timeout_ms: ${A B}\n",
	    "2:12: environment variable 'CUSTSYNC_T_UNSET' is not "
	    "set\n"
	    "3:13: environment variable 'CUSTSYNC_T_UNSET2' is not "
	    "set\n"
	    "3:13: environment variable 'CUSTSYNC_T_UNSET' is not "
	    "set\n"
	    "5:18: unterminated '${' in 'kafka.results_topic'\n"
	    "6:22: invalid variable reference '${1BAD}' in "
	    "'kafka.dead_letter_topic'\n"
	    "10:15: 'target.timeout_ms' must be an integer\n"
	    "11:18: environment variable 'CUSTSYNC_T_UNSET' is not "
	    "set\n"
	    "12:23: invalid variable reference '${A B}' in "
	    "'target.connect_timeout_ms'\n");
	/* An expansion that leaves nothing is empty, not absent. */
	expect_errors(KAFKA_OK "target:\n"
	                       "  profile: ${CUSTSYNC_T_EMPTY}\n"
	                       "  base_url: http://api\n",
	              "8:12: 'target.profile' must not be empty\n");
	unsetenv("CUSTSYNC_T_HOST");
	unsetenv("CUSTSYNC_T_PORT");
	unsetenv("CUSTSYNC_T_EMPTY");
	unsetenv("CUSTSYNC_T_NUM");
	unsetenv("CUSTSYNC_T_WORD");
}

static void several_errors_in_order(void **state)
{
	char *want = fmt("1:1: missing required key 'kafka.group_id'\n"
	                 "6:3: unknown key 'kafka.bogus'\n"
	                 "8:12: unknown profile 'nope' (known: %s)\n"
	                 "10:18: 'target.max_in_flight' must be an integer or "
	                 "'adaptive'\n"
	                 "12:10: 'log.level' must be one of debug, info, "
	                 "notice, warning, error\n"
	                 "14:17: 'retry.max_attempts' must be at least 0\n",
	                 profile_names());

	(void)state;
	/* Found in another order (missing keys after their mapping, retry
	 * before log) but reported in file order. */
	expect_errors("kafka:\n"                 /* 1 */
	              "  brokers: b\n"           /* 2 */
	              "  topics: [t]\n"          /* 3 */
	              "  results_topic: r\n"     /* 4 */
	              "  dead_letter_topic: d\n" /* 5 */
	              "  bogus: 1\n"             /* 6 */
	              "target:\n"                /* 7 */
	              "  profile: nope\n"        /* 8 */
	              "  base_url: http://api\n" /* 9 */
	              "  max_in_flight: many\n"  /* 10 */
	              "log:\n"                   /* 11 */
	              "  level: loud\n"          /* 12 */
	              "retry:\n"                 /* 13 */
	              "  max_attempts: -3\n",    /* 14 */
	              want);
	free(want);
}

static void too_many_errors(void **state)
{
	struct config c;
	struct config_errors e;
	char *y = malloc(200 * 16 + sizeof(MIN_OK) + 16);
	size_t used;

	(void)state;
	assert_non_null(y);
	used = (size_t)snprintf(y, sizeof(MIN_OK) + 16, "%sretry:\n", MIN_OK);
	for (int i = 0; i < 150; i++)
		used += (size_t)snprintf(y + used, 16, "  k%d: 1\n", i);
	assert_int_equal(load(y, &c, &e), -EINVAL);
	assert_int_equal(e.n, 100);
	assert_int_equal(e.v[0].line, 11);
	assert_string_equal(e.v[0].msg, "unknown key 'retry.k0'");
	assert_int_equal(e.v[98].line, 109);
	assert_string_equal(e.v[98].msg, "unknown key 'retry.k98'");
	assert_int_equal(e.v[99].line, 0);
	assert_string_equal(e.v[99].msg,
	                    "too many errors (150 in all); fix these first");
	config_errors_done(&e);
	free(y);
}

static void nesting_limit(void **state)
{
	char y[256];
	int n;

	(void)state;
	n = snprintf(y, sizeof(y), "kafka:\n  properties:\n    a: ");
	for (int i = 0; i < 40; i++)
		y[n++] = '[';
	for (int i = 0; i < 40; i++)
		y[n++] = ']';
	y[n++] = '\n';
	y[n] = '\0';
	/* root, kafka and properties are three levels; the 30th '[' is
	 * the 33rd. */
	expect_errors(y, "3:37: nesting is deeper than 32 levels\n");
}

static void oversized_buffer(void **state)
{
	size_t len = 1024 * 1024 + 1;
	char *big = malloc(len);
	struct config c;
	struct config_errors e;

	(void)state;
	assert_non_null(big);
	memset(big, '#', len);
	assert_int_equal(config_load_buffer("big.yaml", big, len, &c, &e),
	                 -EFBIG);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.v[0].line, 0);
	assert_string_equal(e.v[0].msg,
	                    "cannot read 'big.yaml': File too large");
	config_errors_done(&e);
	free(big);
}

/* ---- files ----------------------------------------------------------- */

static void load_from_file(void **state)
{
	struct config c;
	struct config_errors e;
	char *path, *want;

	(void)state;
	write_file("ok.yaml", MIN_OK, strlen(MIN_OK));
	assert_int_equal(config_load(path_in_tmp("ok.yaml"), &c, &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(c.kafka.brokers, "b:9092");
	config_done(&c);
	config_errors_done(&e);
	unlink(path_in_tmp("ok.yaml"));

	path = strdup(path_in_tmp("absent.yaml"));
	assert_int_equal(config_load(path, &c, &e), -ENOENT);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.v[0].line, 0);
	want = fmt("cannot read '%s': No such file or directory", path);
	assert_string_equal(e.v[0].msg, want);
	assert_null(c.kafka.brokers);
	config_errors_done(&e);
	free(want);
	free(path);

	/* Errors without a list to put them in are only counted out. */
	write_file("bad.yaml", "kafka: 3\n", 9);
	assert_int_equal(config_load(path_in_tmp("bad.yaml"), &c, NULL),
	                 -EINVAL);
	unlink(path_in_tmp("bad.yaml"));
}

static void load_oversized_file(void **state)
{
	size_t len = 1024 * 1024 + 1;
	char *big = malloc(len);
	struct config c;
	struct config_errors e;

	(void)state;
	assert_non_null(big);
	memset(big, '#', len);
	write_file("big.yaml", big, len);
	free(big);
	assert_int_equal(config_load(path_in_tmp("big.yaml"), &c, &e), -EFBIG);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.v[0].line, 0);
	assert_non_null(strstr(e.v[0].msg, "File too large"));
	config_errors_done(&e);
	unlink(path_in_tmp("big.yaml"));
}

static void token_from_file(const char *content, size_t len, const char *want)
{
	struct config c;
	char *y;

	write_file("token", content, len);
	y = fmt(MIN_OK "  auth:\n"
	               "    type: bearer\n"
	               "    token_file: %s\n",
	        path_in_tmp("token"));
	load_ok(y, &c);
	assert_int_equal(c.target.auth.type, AUTH_BEARER);
	assert_string_equal(c.target.auth.token, want);
	config_done(&c);
	free(y);
	unlink(path_in_tmp("token"));
}

static void secret_files(void **state)
{
	struct config c;
	char *big;

	(void)state;
	token_from_file("tok-123\n", 8, "tok-123");
	token_from_file("tok\r\n", 5, "tok");
	token_from_file("tok", 3, "tok");
	/* One newline only is stripped; what is left must fit in a
	 * header (header_values). */
	token_from_file(" tok \n", 6, " tok ");

	/* client_secret_file, its path from the environment. */
	write_file("secret", "cs-value\n", 9);
	setenv("CUSTSYNC_T_DIR", tmpdir, 1);
	load_ok(MIN_OK "  auth:\n"
	               "    type: oauth2_client_credentials\n"
	               "    token_url: https://auth/token\n"
	               "    client_id: cid\n"
	               "    client_secret_file: ${CUSTSYNC_T_DIR}/secret\n",
	        &c);
	assert_string_equal(c.target.auth.client_secret, "cs-value");
	assert_non_null(c.target.auth.scopes);
	assert_int_equal(c.target.auth.n_scopes, 0);
	config_done(&c);
	unsetenv("CUSTSYNC_T_DIR");
	unlink(path_in_tmp("secret"));

	/* The limit is 64 KiB, inclusive. */
	big = malloc(64 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'x', 64 * 1024 + 1);
	big[64 * 1024 - 1] = '\n';
	write_file("token", big, 64 * 1024);
	{
		char *y = fmt(MIN_OK "  auth:\n"
		                     "    type: bearer\n"
		                     "    token_file: %s\n",
		              path_in_tmp("token"));

		load_ok(y, &c);
		assert_int_equal(strlen(c.target.auth.token), 64 * 1024 - 1);
		config_done(&c);
		free(y);
	}
	big[64 * 1024 - 1] = 'x';
	write_file("token", big, 64 * 1024 + 1);
	free(big);
	{
		char *y = fmt(MIN_OK "  auth:\n"
		                     "    type: bearer\n"
		                     "    token_file: %s\n",
		              path_in_tmp("token"));
		char *want = fmt("12:17: cannot read 'target.auth.token_file' "
		                 "(%s): File too large\n",
		                 path_in_tmp("token"));

		expect_errors(y, want);
		free(y);
		free(want);
	}
	unlink(path_in_tmp("token"));
}

/* target.proxy and its credentials; the URL is refused where libcurl
 * would refuse it or take it otherwise than meant. */
static void proxy_settings(void **state)
{
	struct config c;
	char *y;

	(void)state;
	write_file("proxy_pw", "pp\n", 3);
	y = fmt(MIN_OK "  proxy: http://proxy.example:3128/\n"
	               "  no_proxy: 127.0.0.1,.internal\n"
	               "  proxy_user: bob\n"
	               "  proxy_password_file: %s\n",
	        path_in_tmp("proxy_pw"));
	load_ok(y, &c);
	assert_string_equal(c.target.proxy.url, "http://proxy.example:3128");
	assert_string_equal(c.target.proxy.no_proxy, "127.0.0.1,.internal");
	assert_string_equal(c.target.proxy.user, "bob");
	assert_string_equal(c.target.proxy.password, "pp");
	config_done(&c);
	free(y);
	unlink(path_in_tmp("proxy_pw"));

	load_ok(MIN_OK "  no_proxy: '*'\n", &c);
	assert_null(c.target.proxy.url);
	assert_string_equal(c.target.proxy.no_proxy, "*");
	config_done(&c);

	expect_errors(MIN_OK "  proxy: socks5://p:1080\n",
	              "10:10: 'target.proxy' must start with http:// or "
	              "https://\n");
	expect_errors(MIN_OK "  proxy: http://bob:pw@p:3128\n",
	              "10:10: 'target.proxy' must not hold credentials (give "
	              "proxy_user and proxy_password)\n");
	expect_errors(MIN_OK "  proxy: http://p:70000\n",
	              "10:10: 'target.proxy' is not a valid URL: Port number "
	              "was not a decimal number between 0 and 65535\n");
	expect_errors(MIN_OK "  proxy: https://p:3128/x\n",
	              "10:10: 'target.proxy' must not have a path\n");
	expect_errors(MIN_OK "  proxy: http://p:3128\n"
	                     "  proxy_user: bob\n",
	              "11:15: 'target.proxy_user' needs "
	              "'target.proxy_password' or "
	              "'target.proxy_password_file'\n");
	expect_errors(MIN_OK "  proxy: http://p:3128\n"
	                     "  proxy_password: pw\n",
	              "11:19: 'target.proxy_password' needs "
	              "'target.proxy_user'\n");
	expect_errors(MIN_OK "  proxy_user: bob\n"
	                     "  proxy_password: pw\n",
	              "10:15: 'target.proxy_user' needs 'target.proxy'\n");
	expect_errors(MIN_OK "  proxy: http://p:3128\n"
	                     "  proxy_user: a:b\n"
	                     "  proxy_password: \"p\\nw\"\n",
	              "11:15: 'target.proxy_user' must not contain ':'\n"
	              "12:19: 'target.proxy_password' contains a control "
	              "character (LF); credentials must not contain control "
	              "characters\n");
}

/* target.headers: names are tokens and none of custsync's own, in any
 * case; values pass the checks of every header value. */
static void static_headers(void **state)
{
	struct config c;
	char *y;

	(void)state;
	write_file("hdr", "from-file\n", 10);
	setenv("CUSTSYNC_T_TENANT", "acme", 1);
	y = fmt(MIN_OK "  headers:\n"
	               "    X-Tenant: ${CUSTSYNC_T_TENANT}\n"
	               "    X-Partner-Key_file: %s\n"
	               "    X-Empty-Looking: ' a b '\n",
	        path_in_tmp("hdr"));
	load_ok(y, &c);
	assert_int_equal(c.target.n_headers, 3);
	assert_string_equal(c.target.headers[0].key, "X-Tenant");
	assert_string_equal(c.target.headers[0].value, "acme");
	assert_string_equal(c.target.headers[1].key, "X-Partner-Key");
	assert_string_equal(c.target.headers[1].value, "from-file");
	assert_string_equal(c.target.headers[2].value, " a b ");
	config_done(&c);
	free(y);
	unsetenv("CUSTSYNC_T_TENANT");
	unlink(path_in_tmp("hdr"));

	expect_errors(MIN_OK "  headers:\n"
	                     "    authorization: x\n"
	                     "    IF-MATCH: x\n"
	                     "    X-Correlation-Id: x\n"
	                     "    Accept-Language: x\n"
	                     "    Content-Type: x\n"
	                     "    Traceparent: x\n"
	                     "    Host: x\n",
	              "11:5: 'target.headers.authorization': custsync sets "
	              "authorization itself; it cannot be a static header\n"
	              "12:5: 'target.headers.IF-MATCH': custsync sets "
	              "IF-MATCH itself; it cannot be a static header\n"
	              "13:5: 'target.headers.X-Correlation-Id': custsync sets "
	              "X-Correlation-Id itself; it cannot be a static "
	              "header\n"
	              "14:5: 'target.headers.Accept-Language': custsync sets "
	              "Accept-Language itself; it cannot be a static "
	              "header\n"
	              "15:5: 'target.headers.Content-Type': custsync sets "
	              "Content-Type itself; it cannot be a static header\n"
	              "16:5: 'target.headers.Traceparent': custsync sets "
	              "Traceparent itself; it cannot be a static header\n"
	              "17:5: 'target.headers.Host': custsync sets Host "
	              "itself; it cannot be a static header\n");
	expect_errors(MIN_OK "  headers:\n"
	                     "    X-A: \"a\\r\\nX-B: b\"\n"
	                     "    X-C: \"caf\\u00e9\"\n"
	                     "    'X D': x\n"
	                     "    X-E: ''\n"
	                     "    X-F:\n"
	                     "    x-a: again\n",
	              "11:10: 'target.headers.X-A' contains a control "
	              "character (CR); an HTTP header value may hold only "
	              "visible ASCII and spaces\n"
	              "12:10: 'target.headers.X-C' contains a non-ASCII byte; "
	              "an HTTP header value may hold only visible ASCII and "
	              "spaces\n"
	              "13:5: 'target.headers.X D': an HTTP header name is "
	              "letters, digits and !#$%&'*+-.^_`|~\n"
	              "14:10: 'target.headers.X-E' must not be empty\n"
	              "15:9: 'target.headers.X-F' must have a value\n"
	              "16:5: duplicate key 'target.headers.x-a'\n");
	expect_errors(MIN_OK "  headers: [a]\n",
	              "10:12: 'target.headers' must be a mapping\n");
	expect_errors(MIN_OK "  auth:\n"
	                     "    type: api_key\n"
	                     "    key: k\n"
	                     "  headers:\n"
	                     "    x-api-key: x\n",
	              "14:5: 'target.headers.x-api-key': the api_key is sent "
	              "in X-API-Key; it cannot be a static header too\n");
}

static void secret_file_errors(void **state)
{
	char *y, *want;
	char absent[PATH_MAX], empty[PATH_MAX], nul[PATH_MAX];

	(void)state;
	snprintf(absent, sizeof(absent), "%s", path_in_tmp("absent"));
	snprintf(empty, sizeof(empty), "%s", path_in_tmp("empty"));
	snprintf(nul, sizeof(nul), "%s", path_in_tmp("nul"));
	write_file("empty", "\n", 1);
	write_file("nul", "se\0cret\n", 8);
	y = fmt(MIN_OK "  auth:\n"
	               "    type: oauth2_client_credentials\n"
	               "    token_url: https://auth/token\n"
	               "    client_id: cid\n"
	               "    client_secret_file: %s\n",
	        absent);
	want = fmt("14:25: cannot read 'target.auth.client_secret_file' "
	           "(%s): No such file or directory\n",
	           absent);
	expect_errors(y, want);
	free(y);
	free(want);

	y = fmt(MIN_OK "  auth:\n"
	               "    type: bearer\n"
	               "    token_file: %s\n",
	        empty);
	want = fmt("12:17: 'target.auth.token_file' (%s) is empty\n", empty);
	expect_errors(y, want);
	free(y);
	free(want);

	y = fmt(MIN_OK "  auth:\n"
	               "    type: bearer\n"
	               "    token_file: %s\n",
	        nul);
	want = fmt("12:17: 'target.auth.token_file' (%s) contains a NUL "
	           "byte\n",
	           nul);
	expect_errors(y, want);
	free(y);
	free(want);

	/* A directory: read() fails with EISDIR. */
	y = fmt(MIN_OK "  auth:\n"
	               "    type: bearer\n"
	               "    token_file: %s\n",
	        tmpdir);
	want = fmt("12:17: cannot read 'target.auth.token_file' (%s): Is a "
	           "directory\n",
	           tmpdir);
	expect_errors(y, want);
	free(y);
	free(want);
	unlink(empty);
	unlink(nul);
}

/* ---- small API ------------------------------------------------------- */

static void done_is_safe(void **state)
{
	struct config c;
	struct config_errors e = {0};

	(void)state;
	config_done(NULL);
	config_errors_done(NULL);
	config_errors_done(&e);
	load_ok(MIN_OK, &c);
	config_done(&c);
	assert_null(c.kafka.brokers);
	assert_null(c.kafka.topics);
	config_done(&c);
}

static void enum_names(void **state)
{
	(void)state;
	assert_string_equal(auth_type_str(AUTH_NONE), "none");
	assert_string_equal(auth_type_str(AUTH_BEARER), "bearer");
	assert_string_equal(auth_type_str(AUTH_OAUTH2_CC),
	                    "oauth2_client_credentials");
	assert_string_equal(auth_type_str(AUTH_BASIC), "basic");
	assert_string_equal(auth_type_str(AUTH_API_KEY), "api_key");
	assert_string_equal(auth_type_str(AUTH_TYPE_MAX), "unknown");
	assert_string_equal(log_format_str(LOG_FORMAT_TEXT), "text");
	assert_string_equal(log_format_str(LOG_FORMAT_JSON), "json");
	assert_string_equal(log_format_str(LOG_FORMAT_MAX), "unknown");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	/* What a failed test may have left behind. */
	static const char *const files[] = {"ok.yaml", "bad.yaml", "big.yaml",
	                                    "token",   "secret",   "empty",
	                                    "nul",     "proxy_pw", "hdr"};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path_in_tmp(files[i]));
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_valid),
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(null_sections),
	    cmocka_unit_test(bearer_inline),
	    cmocka_unit_test(base_url_forms),
	    cmocka_unit_test(properties_in_order),
	    cmocka_unit_test(aliases),
	    cmocka_unit_test(unknown_keys),
	    cmocka_unit_test(wrong_types),
	    cmocka_unit_test(missing_keys),
	    cmocka_unit_test(out_of_range),
	    cmocka_unit_test(adaptive_in_flight),
	    cmocka_unit_test(range_bounds_accepted),
	    cmocka_unit_test(backoff_order),
	    cmocka_unit_test(integer_forms),
	    cmocka_unit_test(booleans),
	    cmocka_unit_test(bad_enums),
	    cmocka_unit_test(input_formats),
	    cmocka_unit_test(log_values),
	    cmocka_unit_test(duplicate_keys),
	    cmocka_unit_test(syntax_errors),
	    cmocka_unit_test(empty_files),
	    cmocka_unit_test(profiles),
	    cmocka_unit_test(auth_combinations),
	    cmocka_unit_test(auth_basic),
	    cmocka_unit_test(auth_api_key),
	    cmocka_unit_test(profile_settings),
	    cmocka_unit_test(mapping_valid),
	    cmocka_unit_test(mapping_errors),
	    cmocka_unit_test(mapping_pointer_limit),
	    cmocka_unit_test(secrets_not_shown),
	    cmocka_unit_test(header_values_inline),
	    cmocka_unit_test(header_values_accepted),
	    cmocka_unit_test(header_values_from_env),
	    cmocka_unit_test(header_values_from_files),
	    cmocka_unit_test(env_expansion),
	    cmocka_unit_test(several_errors_in_order),
	    cmocka_unit_test(too_many_errors),
	    cmocka_unit_test(nesting_limit),
	    cmocka_unit_test(oversized_buffer),
	    cmocka_unit_test(load_from_file),
	    cmocka_unit_test(load_oversized_file),
	    cmocka_unit_test(secret_files),
	    cmocka_unit_test(secret_file_errors),
	    cmocka_unit_test(proxy_settings),
	    cmocka_unit_test(static_headers),
	    cmocka_unit_test(done_is_safe),
	    cmocka_unit_test(enum_names),
	    cmocka_unit_test(rate_limits),
	    cmocka_unit_test(forward_headers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
