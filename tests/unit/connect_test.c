/* connect.c: Kafka Connect logical types to canonical text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/connect.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void expect_decimal(const char *b64, long scale, const char *want)
{
	char *s = NULL;

	assert_int_equal(connect_decimal_text(b64, scale, &s), 0);
	assert_string_equal(s, want);
	free(s);
}

static void test_decimal(void **state)
{
	(void)state;
	expect_decimal("C+o=", 2, "30.50");
	expect_decimal("+w==", 2, "-0.05");
	expect_decimal("AA==", 0, "0");
	expect_decimal("AA==", 3, "0.000");
	expect_decimal("AA==", -2, "0");
	expect_decimal("DA==", 0, "12");
	expect_decimal("DA==", -2, "1200");
	expect_decimal("DA==", 1, "1.2");
	expect_decimal("DA==", 4, "0.0012");
	expect_decimal("gA==", 0, "-128");
	expect_decimal("/4A=", 0, "-128");
	expect_decimal("AIA=", 0, "128");
	/* 2^64 and -(2^64) - 1: past 64 bits. */
	expect_decimal("AQAAAAAAAAAA", 0, "18446744073709551616");
	expect_decimal("AQAAAAAAAAAA", 2, "184467440737095516.16");
	expect_decimal("/v//////////", 0, "-18446744073709551617");
	expect_decimal("HWMp8cNcpL+rufVhAAAAAAc=", 5,
	               "100000000000000000000000000000000000.00007");
}

static void test_decimal_refused(void **state)
{
	char *s = (char *)"x";

	(void)state;
	assert_int_equal(connect_decimal_text("", 2, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(connect_decimal_text("C+o", 2, &s), -EINVAL);
	assert_int_equal(connect_decimal_text("C+o*", 2, &s), -EINVAL);
	assert_int_equal(connect_decimal_text("C=o=", 2, &s), -EINVAL);
	assert_int_equal(connect_decimal_text("====", 2, &s), -EINVAL);
	assert_int_equal(connect_decimal_text("C+o=", 1001, &s), -EINVAL);
	assert_int_equal(connect_decimal_text("C+o=", -1001, &s), -EINVAL);
	assert_null(s);
}

static void test_time(void **state)
{
	char buf[CONNECT_TIME_LEN];

	(void)state;
	assert_int_equal(connect_time_text(0, 1000, buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(connect_time_text(-1, 1000, buf), 0);
	assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
	assert_int_equal(connect_time_text(-14182940000LL, 1000, buf), 0);
	assert_string_equal(buf, "1969-07-20T20:17:40.000Z");
	assert_int_equal(connect_time_text(1709209815123456LL, 1000000, buf),
	                 0);
	assert_string_equal(buf, "2024-02-29T12:30:15.123456Z");
	assert_int_equal(
	    connect_time_text(1709209815123456789LL, 1000000000, buf), 0);
	assert_string_equal(buf, "2024-02-29T12:30:15.123456789Z");
	assert_int_equal(connect_time_text(253402300799999LL, 1000, buf), 0);
	assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
	assert_int_equal(connect_time_text(253402300800000LL, 1000, buf),
	                 -ERANGE);
	assert_string_equal(buf, "");
}

static void test_date(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(connect_date_text(0, buf), 0);
	assert_string_equal(buf, "1970-01-01");
	assert_int_equal(connect_date_text(-1, buf), 0);
	assert_string_equal(buf, "1969-12-31");
	assert_int_equal(connect_date_text(11016, buf), 0);
	assert_string_equal(buf, "2000-02-29");
	assert_int_equal(connect_date_text(-25508, buf), 0);
	assert_string_equal(buf, "1900-03-01");
	assert_int_equal(connect_date_text(-719528, buf), 0);
	assert_string_equal(buf, "0000-01-01");
	assert_int_equal(connect_date_text(-719529, buf), -ERANGE);
	assert_int_equal(connect_date_text(2932897, buf), -ERANGE);
}

/* Decodes payload under schema; returns rc, *out the payload printed. */
static int decode(const char *schema, const char *payload, char **out,
                  const char **code)
{
	cJSON *s = cJSON_Parse(schema), *p = cJSON_Parse(payload);
	char err[128];
	int rc;

	assert_non_null(s);
	assert_non_null(p);
	*code = NULL;
	rc = connect_decode(s, p, "", code, err, sizeof(err));
	*out = cJSON_PrintUnformatted(p);
	cJSON_Delete(s);
	cJSON_Delete(p);
	return rc;
}

#define ROW_SCHEMA                                                            \
	"{\"type\":\"struct\",\"fields\":["                                   \
	"{\"field\":\"id\",\"type\":\"int32\"},"                              \
	"{\"field\":\"credit\",\"type\":\"bytes\",\"name\":"                  \
	"\"org.apache.kafka.connect.data.Decimal\","                          \
	"\"parameters\":{\"scale\":\"2\"}},"                                  \
	"{\"field\":\"var\",\"type\":\"struct\",\"name\":"                    \
	"\"io.debezium.data.VariableScaleDecimal\"},"                         \
	"{\"field\":\"ts\",\"type\":\"int64\",\"name\":"                      \
	"\"io.debezium.time.MicroTimestamp\"},"                               \
	"{\"field\":\"born\",\"type\":\"int32\",\"name\":"                    \
	"\"io.debezium.time.Date\"},"                                         \
	"{\"field\":\"zts\",\"type\":\"string\",\"name\":"                    \
	"\"io.debezium.time.ZonedTimestamp\"}]}"

static void test_decode_row(void **state)
{
	const char *code;
	char *out;

	(void)state;
	assert_int_equal(
	    decode(ROW_SCHEMA,
	           "{\"id\":1,\"credit\":\"C+o=\",\"var\":{\"scale\":1,"
	           "\"value\":\"DA==\"},\"ts\":1709209815123456,"
	           "\"born\":-1,\"zts\":\"2024-02-29T12:30:15+01:00\"}",
	           &out, &code),
	    0);
	assert_string_equal(out,
	                    "{\"id\":1,\"credit\":\"30.50\",\"var\":\"1.2\","
	                    "\"ts\":\"2024-02-29T12:30:15.123456Z\","
	                    "\"born\":\"1969-12-31\","
	                    "\"zts\":\"2024-02-29T12:30:15+01:00\"}");
	free(out);
	/* Nulls stay null. */
	assert_int_equal(
	    decode(ROW_SCHEMA, "{\"credit\":null,\"ts\":null}", &out, &code),
	    0);
	assert_string_equal(out, "{\"credit\":null,\"ts\":null}");
	free(out);
}

static void test_decode_refused(void **state)
{
	const char *code;
	char *out;

	(void)state;
	assert_int_equal(
	    decode(ROW_SCHEMA, "{\"credit\":\"C+o\"}", &out, &code), -EINVAL);
	assert_string_equal(code, CONNECT_ERR_INVALID_DECIMAL);
	free(out);
	assert_int_equal(decode(ROW_SCHEMA, "{\"credit\":3050}", &out, &code),
	                 -EINVAL);
	assert_string_equal(code, CONNECT_ERR_INVALID_DECIMAL);
	free(out);
	/* No scale in the schema: nothing to place the point by. */
	assert_int_equal(
	    decode("{\"type\":\"struct\",\"fields\":[{\"field\":\"c\","
	           "\"type\":\"bytes\",\"name\":"
	           "\"org.apache.kafka.connect.data.Decimal\"}]}",
	           "{\"c\":\"C+o=\"}", &out, &code),
	    -EINVAL);
	assert_string_equal(code, CONNECT_ERR_INVALID_DECIMAL);
	free(out);
	assert_int_equal(
	    decode(ROW_SCHEMA, "{\"var\":{\"value\":\"DA==\"}}", &out, &code),
	    -EINVAL);
	assert_string_equal(code, CONNECT_ERR_INVALID_DECIMAL);
	free(out);
	assert_int_equal(
	    decode(ROW_SCHEMA, "{\"ts\":\"yesterday\"}", &out, &code),
	    -EINVAL);
	assert_string_equal(code, CONNECT_ERR_INVALID_TIME);
	free(out);
	assert_int_equal(decode(ROW_SCHEMA, "{\"born\":1.5}", &out, &code),
	                 -EINVAL);
	assert_string_equal(code, CONNECT_ERR_INVALID_TIME);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decimal),
	    cmocka_unit_test(test_decimal_refused),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_decode_row),
	    cmocka_unit_test(test_decode_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
