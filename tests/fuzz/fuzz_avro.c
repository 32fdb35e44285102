/* The Avro decoder (worker/core/avro.c) without a registry: the input is
 * a Confluent wire-format payload (0x00, 4-byte schema id, Avro binary),
 * decoded with one fixed writer schema that has every type the decoder
 * knows (unions, nested and recursive records, arrays, maps, enums,
 * fixed, and each logical and Connect type) and printed as JSON. */
#include "fuzz.h"

#include "core/avro.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Envelope\",\"namespace\":\"f\","
    "\"fields\":["
    "{\"name\":\"before\",\"type\":[\"null\",{\"type\":\"record\","
    "\"name\":\"Value\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"name\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"raw\",\"type\":\"bytes\"},"
    "{\"name\":\"dec\",\"type\":{\"type\":\"bytes\","
    "\"logicalType\":\"decimal\",\"precision\":40,\"scale\":5}},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"Fx\","
    "\"size\":4,\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}},"
    "{\"name\":\"vsd\",\"type\":[\"null\",{\"type\":\"record\","
    "\"name\":\"VariableScaleDecimal\",\"namespace\":\"io.debezium.data\","
    "\"fields\":[{\"name\":\"scale\",\"type\":\"int\"},"
    "{\"name\":\"value\",\"type\":\"bytes\"}],"
    "\"connect.name\":\"io.debezium.data.VariableScaleDecimal\"}]},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"tsu\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"tsn\",\"type\":{\"type\":\"long\","
    "\"connect.name\":\"io.debezium.time.NanoTimestamp\"}},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"tm\",\"type\":{\"type\":\"int\","
    "\"logicalType\":\"time-millis\"}},"
    "{\"name\":\"tu\",\"type\":{\"type\":\"long\","
    "\"connect.name\":\"io.debezium.time.MicroTime\"}},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"K\","
    "\"symbols\":[\"A\",\"B\",\"C\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":"
    "[\"null\",\"string\",\"K\"]}},"
    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"Fx\"}},"
    "{\"name\":\"next\",\"type\":[\"null\",\"Value\"]}]}]},"
    "{\"name\":\"after\",\"type\":[\"null\",\"Value\"]},"
    "{\"name\":\"op\",\"type\":\"string\"}]}";

static struct avrodec_schema *schema;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct avrodec_err err = {0};

	(void)argc;
	(void)argv;
	schema = avrodec_schema_parse(SCHEMA, strlen(SCHEMA), &err);
	if (!schema) {
		fprintf(stderr, "fuzz_avro: %s: %s\n", err.code, err.message);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct avrodec_err err = {0};
	uint32_t id;
	size_t body;

	if (avrodec_header(data, size, &id, &body, &err))
		return 0;
	cJSON *v = avrodec_decode(schema, data + body, size - body, &err);
	if (!v) {
		if (!err.code)
			abort(); /* a failure must always say why */
		return 0;
	}
	char *s = cJSON_PrintUnformatted(v);
	if (!s)
		abort();
	free(s);
	cJSON_Delete(v);
	return 0;
}
