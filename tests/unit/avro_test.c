/* core/avro.c: the wire-format header, Debezium envelopes and flattened
 * rows, every logical type, unions, nested and named types, and payloads
 * that are wrong, short or hostile. Payloads are built byte by byte with
 * Avro's binary encoding so each test shows what it feeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "avro_bytes.h"
#include "core/avro.h"

static struct avrodec_schema *parse(const char *json)
{
	struct avrodec_err err = {0};
	struct avrodec_schema *s =
	    avrodec_schema_parse(json, strlen(json), &err);
	if (!s)
		fail_msg("schema: %s: %s", err.code, err.message);
	return s;
}

/* Decodes w with schema and compares the compact JSON with want. */
static void expect(const char *schema, const struct buf *w, const char *want)
{
	struct avrodec_schema *s = parse(schema);
	struct avrodec_err err = {0};
	cJSON *v = avrodec_decode(s, w->b, w->n, &err);
	if (!v)
		fail_msg("decode: %s: %s", err.code, err.message);
	char *got = cJSON_PrintUnformatted(v);
	assert_string_equal(got, want);
	free(got);
	cJSON_Delete(v);
	avrodec_schema_free(s);
}

/* Decoding w with schema fails as invalid_avro, its message naming part. */
static void expect_invalid(const char *schema, const struct buf *w,
                           const char *part)
{
	struct avrodec_schema *s = parse(schema);
	struct avrodec_err err = {0};
	assert_null(avrodec_decode(s, w->b, w->n, &err));
	assert_string_equal(err.code, AVRODEC_INVALID);
	if (!strstr(err.message, part))
		fail_msg("message \"%s\" lacks \"%s\"", err.message, part);
	avrodec_schema_free(s);
}

static void test_header(void **state)
{
	(void)state;
	const uint8_t ok[] = {0, 0, 0, 1, 0x2c, 0x02};
	const uint8_t magic[] = {1, 0, 0, 0, 1, 0};
	uint32_t id = 0;
	size_t body = 0;
	struct avrodec_err err = {0};

	assert_int_equal(avrodec_header(ok, sizeof ok, &id, &body, &err), 0);
	assert_int_equal(id, 300);
	assert_int_equal(body, 5);
	assert_null(err.code);
	assert_int_equal(avrodec_header(magic, sizeof magic, &id, &body, &err),
	                 -1);
	assert_string_equal(err.code, AVRODEC_INVALID);
	assert_non_null(strstr(err.message, "magic byte is 0x01"));
	struct avrodec_err e2 = {0};
	assert_int_equal(avrodec_header(ok, 4, &id, &body, &e2), -1);
	assert_string_equal(e2.code, AVRODEC_INVALID);
	const uint8_t big[] = {0, 0xff, 0xff, 0xff, 0xff};
	struct avrodec_err e3 = {0};
	assert_int_equal(avrodec_header(big, sizeof big, &id, &body, &e3), 0);
	assert_int_equal(id, 0xffffffffu);
}

/* What Debezium's PostgreSQL connector registers for a table, trimmed. */
#define ROW                                                                   \
	"{\"type\":\"record\",\"name\":\"Value\",\"namespace\":\"pg.public."  \
	"c\","                                                                \
	"\"fields\":[{\"name\":\"id\",\"type\":\"long\"},"                    \
	"{\"name\":\"name\",\"type\":[\"null\",\"string\"],\"default\":null}" \
	","                                                                   \
	"{\"name\":\"balance\",\"type\":[\"null\",{\"type\":\"bytes\","       \
	"\"scale\":2,\"precision\":10,\"connect.version\":1,"                 \
	"\"connect.parameters\":{\"scale\":\"2\"},"                           \
	"\"connect.name\":\"org.apache.kafka.connect.data.Decimal\","         \
	"\"logicalType\":\"decimal\"}]},"                                     \
	"{\"name\":\"created\",\"type\":{\"type\":\"long\","                  \
	"\"connect.name\":\"io.debezium.time.MicroTimestamp\"}}]}"

static void put_row(struct buf *w)
{
	put_long(w, 7); /* id */
	put_long(w, 1); /* name: string branch */
	put_str(w, "Acme");
	put_long(w, 1); /* balance: bytes branch */
	put_long(w, 2);
	put_raw(w, "\xfb\x2e", 2); /* -1234 */
	put_long(w, 1709294400123456LL);
}

#define ROW_JSON                                                              \
	"{\"id\":7,\"name\":\"Acme\",\"balance\":\"-12.34\","                 \
	"\"created\":\"2024-03-01T12:00:00.123456Z\"}"

static void test_debezium_envelope(void **state)
{
	(void)state;
	const char *schema =
	    "{\"type\":\"record\",\"name\":\"Envelope\","
	    "\"namespace\":\"pg.public.c\",\"fields\":["
	    "{\"name\":\"before\",\"type\":[\"null\"," ROW
	    "],\"default\":null},"
	    "{\"name\":\"after\",\"type\":[\"null\",\"Value\"],\"default\":"
	    "null},"
	    "{\"name\":\"source\",\"type\":{\"type\":\"record\",\"name\":"
	    "\"Source\","
	    "\"namespace\":\"io.debezium.connector.postgresql\",\"fields\":["
	    "{\"name\":\"connector\",\"type\":\"string\"},"
	    "{\"name\":\"ts_ms\",\"type\":\"long\"},"
	    "{\"name\":\"snapshot\",\"type\":[{\"type\":\"string\","
	    "\"connect.name\":\"io.debezium.data.Enum\"},\"null\"]},"
	    "{\"name\":\"lsn\",\"type\":[\"null\",\"long\"]}]}},"
	    "{\"name\":\"op\",\"type\":\"string\"},"
	    "{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"]}]}";
	struct buf w = {0};

	put_long(&w, 0); /* before: null */
	put_long(&w, 1); /* after: Value, referred to by its short name */
	put_row(&w);
	put_str(&w, "postgresql");
	put_long(&w, 1709294400000LL);
	put_long(&w, 0);
	put_str(&w, "false");
	put_long(&w, 1);
	put_long(&w, 24023128);
	put_str(&w, "c");
	put_long(&w, 0);
	expect(schema, &w,
	       "{\"before\":null,\"after\":" ROW_JSON ",\"source\":{"
	       "\"connector\":\"postgresql\",\"ts_ms\":1709294400000,"
	       "\"snapshot\":\"false\",\"lsn\":24023128},\"op\":\"c\","
	       "\"ts_ms\":null}");
}

static void test_flattened_row(void **state)
{
	(void)state;
	char schema[2048];
	struct buf w = {0};

	/* ExtractNewRecordState with delete.handling.mode=rewrite and
	 * add.fields=op: the row and two string fields. */
	strcpy(schema, ROW);
	strcpy(schema + strlen(schema) - 2,
	       ",{\"name\":\"__op\",\"type\":[\"null\",\"string\"]},"
	       "{\"name\":\"__deleted\",\"type\":[\"null\",\"string\"]}]}");
	put_long(&w, 7);
	put_long(&w, 0); /* name: null */
	put_long(&w, 1);
	put_long(&w, 2);
	put_raw(&w, "\xfb\x2e", 2);
	put_long(&w, 1709294400123456LL);
	put_long(&w, 1);
	put_str(&w, "d");
	put_long(&w, 1);
	put_str(&w, "true");
	expect(schema, &w,
	       "{\"id\":7,\"name\":null,\"balance\":\"-12.34\","
	       "\"created\":\"2024-03-01T12:00:00.123456Z\",\"__op\":\"d\","
	       "\"__deleted\":\"true\"}");
}

static void test_logical_types(void **state)
{
	(void)state;
	const char *schema =
	    "{\"type\":\"record\",\"name\":\"L\",\"fields\":["
	    "{\"name\":\"d_big\",\"type\":{\"type\":\"bytes\","
	    "\"logicalType\":\"decimal\",\"precision\":30,\"scale\":4}},"
	    "{\"name\":\"d_fixed\",\"type\":{\"type\":\"fixed\",\"name\":"
	    "\"F\","
	    "\"size\":3,\"logicalType\":\"decimal\",\"precision\":6,\"scale\":"
	    "3}},"
	    "{\"name\":\"d_var\",\"type\":{\"type\":\"record\","
	    "\"name\":\"VariableScaleDecimal\",\"namespace\":\"io.debezium."
	    "data\","
	    "\"fields\":[{\"name\":\"scale\",\"type\":\"int\"},"
	    "{\"name\":\"value\",\"type\":\"bytes\"}],"
	    "\"connect.name\":\"io.debezium.data.VariableScaleDecimal\"}},"
	    "{\"name\":\"ts_ms\",\"type\":{\"type\":\"long\","
	    "\"logicalType\":\"timestamp-millis\"}},"
	    "{\"name\":\"ts_old\",\"type\":{\"type\":\"long\","
	    "\"logicalType\":\"timestamp-micros\"}},"
	    "{\"name\":\"ts_dbz\",\"type\":{\"type\":\"long\","
	    "\"connect.name\":\"io.debezium.time.Timestamp\"}},"
	    "{\"name\":\"day\",\"type\":{\"type\":\"int\","
	    "\"logicalType\":\"date\"}},"
	    "{\"name\":\"day_dbz\",\"type\":{\"type\":\"int\","
	    "\"connect.name\":\"io.debezium.time.Date\"}},"
	    "{\"name\":\"t_ms\",\"type\":{\"type\":\"int\","
	    "\"logicalType\":\"time-millis\"}},"
	    "{\"name\":\"t_us\",\"type\":{\"type\":\"long\","
	    "\"logicalType\":\"time-micros\"}},"
	    "{\"name\":\"id\",\"type\":{\"type\":\"string\","
	    "\"logicalType\":\"uuid\"}}]}";
	struct buf w = {0};

	/* -2^72 + 1 at scale 4: beyond any 64-bit integer. */
	put_long(&w, 10);
	put_raw(&w, "\xff\x00\x00\x00\x00\x00\x00\x00\x00\x01", 10);
	put_raw(&w, "\x00\x30\x39", 3); /* 12345 */
	put_long(&w, 1);
	put_long(&w, 1);
	put_raw(&w, "\x81", 1); /* -127 at scale 1 */
	put_long(&w, 1709294400123LL);
	put_long(&w, -1); /* a microsecond before the epoch */
	put_long(&w, -86400001LL);
	put_long(&w, 19783);
	put_long(&w, -25567); /* 1900-01-01 */
	put_long(&w, 45296789);
	put_long(&w, 45296789012LL);
	put_str(&w, "6f1a1a9e-3c1b-4c55-9d1e-000000000001");
	expect(
	    schema, &w,
	    "{\"d_big\":\"-472236648286964521.3695\",\"d_fixed\":\"12.345\","
	    "\"d_var\":\"-12.7\",\"ts_ms\":\"2024-03-01T12:00:00.123Z\","
	    "\"ts_old\":\"1969-12-31T23:59:59.999999Z\","
	    "\"ts_dbz\":\"1969-12-30T23:59:59.999Z\",\"day\":\"2024-03-01\","
	    "\"day_dbz\":\"1900-01-01\",\"t_ms\":\"12:34:56.789\","
	    "\"t_us\":\"12:34:56.789012\","
	    "\"id\":\"6f1a1a9e-3c1b-4c55-9d1e-000000000001\"}");

	struct buf far = {0};
	put_long(&far, 253402300800000LL);
	expect_invalid(
	    "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", &far,
	    "out of range");
}

static void test_unions_and_containers(void **state)
{
	(void)state;
	const char *schema =
	    "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"x\","
	    "\"fields\":["
	    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":"
	    "\"string\"}},"
	    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":"
	    "[\"null\",\"int\",\"string\"]}},"
	    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"K\","
	    "\"symbols\":[\"PERSON\",\"COMPANY\"]}},"
	    "{\"name\":\"raw\",\"type\":\"bytes\"},"
	    "{\"name\":\"ok\",\"type\":\"boolean\"},"
	    "{\"name\":\"score\",\"type\":\"double\"},"
	    "{\"name\":\"f\",\"type\":\"float\"},"
	    "{\"name\":\"k2\",\"type\":\"x.K\"},"
	    "{\"name\":\"addr\",\"type\":[\"null\",{\"type\":\"record\","
	    "\"name\":\"A\",\"fields\":[{\"name\":\"city\",\"type\":"
	    "\"string\"}]}]}"
	    "]}";
	struct buf w = {0};
	const double score = 2.5;
	const float f = -0.5f;

	put_long(&w, -2); /* a block of 2 with its byte size */
	put_long(&w, 4);
	put_str(&w, "a");
	put_str(&w, "b");
	put_long(&w, 1);
	put_str(&w, "c");
	put_long(&w, 0);
	put_long(&w, 2);
	put_str(&w, "n");
	put_long(&w, 1);
	put_long(&w, -3);
	put_str(&w, "z");
	put_long(&w, 0);
	put_long(&w, 0);
	put_long(&w, 1); /* COMPANY */
	put_long(&w, 3);
	put_raw(&w, "\x0b\xea\x00", 3);
	put_raw(&w, "\x01", 1);
	put_raw(&w, &score, 8); /* little-endian, as on this machine */
	put_raw(&w, &f, 4);
	put_long(&w, 0);
	put_long(&w, 1);
	put_str(&w, "Oslo");
	expect(
	    schema, &w,
	    "{\"tags\":[\"a\",\"b\",\"c\"],\"attrs\":{\"n\":-3,\"z\":null},"
	    "\"kind\":\"COMPANY\",\"raw\":\"C+oA\",\"ok\":true,\"score\":2.5,"
	    "\"f\":-0.5,\"k2\":\"PERSON\",\"addr\":{\"city\":\"Oslo\"}}");
}

static void test_bad_payloads(void **state)
{
	(void)state;
	struct buf w = {0};

	/* Truncated: the row stops inside its string. */
	put_row(&w);
	w.n = 5;
	expect_invalid(ROW, &w, "bytes left");

	/* Schema/payload mismatch: a union index the schema lacks, bytes
	 * left over, a boolean that is not 0 or 1, a bad enum index. */
	w.n = 0;
	put_long(&w, 7);
	put_long(&w, 5);
	expect_invalid(ROW, &w, "union branch 5");
	w.n = 0;
	put_long(&w, 7);
	put_long(&w, 7);
	expect_invalid("\"long\"", &w, "1 bytes left over");
	w.n = 0;
	put_raw(&w, "\x02", 1);
	expect_invalid("\"boolean\"", &w, "boolean byte");
	w.n = 0;
	put_long(&w, 2);
	expect_invalid(
	    "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}", &w,
	    "enum index 2");
	w.n = 0;
	put_long(&w, (int64_t)INT32_MAX + 1);
	expect_invalid("\"int\"", &w, "out of range");

	/* Hostile lengths and counts: nothing is allocated for them. */
	w.n = 0;
	put_long(&w, INT64_MAX);
	expect_invalid("\"string\"", &w, "bytes left");
	w.n = 0;
	put_long(&w, 1000000000000LL);
	expect_invalid("{\"type\":\"array\",\"items\":\"null\"}", &w,
	               "items in a");
	w.n = 0;
	put_raw(&w, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	expect_invalid("\"long\"", &w, "number");
	w.n = 0;
	put_raw(&w, "\x02\xc3\x28", 3);
	expect_invalid("\"string\"", &w, "UTF-8");

	/* A recursive schema nested deeper than the limit. */
	const char *list = "{\"type\":\"record\",\"name\":\"N\",\"fields\":["
	                   "{\"name\":\"next\",\"type\":[\"null\",\"N\"]}]}";
	w.n = 0;
	for (int i = 0; i < 200; i++)
		put_long(&w, 1);
	put_long(&w, 0);
	expect_invalid(list, &w, "deeper");
	w.n = 0;
	put_long(&w, 1);
	put_long(&w, 1);
	put_long(&w, 0);
	expect(list, &w, "{\"next\":{\"next\":{\"next\":null}}}");
}

static void test_bad_schema(void **state)
{
	(void)state;
	struct avrodec_err err = {0};
	const char *s1 = "{\"type\":\"record\",\"fields\":[]}";
	const char *s2 = "{not json";

	assert_null(avrodec_schema_parse(s1, strlen(s1), &err));
	assert_string_equal(err.code, AVRODEC_BAD_SCHEMA);
	struct avrodec_err e2 = {0};
	assert_null(avrodec_schema_parse(s2, strlen(s2), &e2));
	assert_string_equal(e2.code, AVRODEC_BAD_SCHEMA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_debezium_envelope),
	    cmocka_unit_test(test_flattened_row),
	    cmocka_unit_test(test_logical_types),
	    cmocka_unit_test(test_unions_and_containers),
	    cmocka_unit_test(test_bad_payloads),
	    cmocka_unit_test(test_bad_schema),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
