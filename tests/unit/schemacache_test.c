/* core/schemacache.c: hits, replacement of an id, eviction of the least
 * recently used (a get counts as a use), and ownership (ASan sees every
 * schema freed exactly once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "core/avro.h"
#include "core/schemacache.h"

static struct avrodec_schema *schema(void)
{
	struct avrodec_err err = {0};
	struct avrodec_schema *s = avrodec_schema_parse("\"long\"", 6, &err);
	assert_non_null(s);
	return s;
}

static void test_lru(void **state)
{
	(void)state;
	assert_null(schema_cache_new(0));
	struct schema_cache *c = schema_cache_new(2);
	struct avrodec_schema *a = schema(), *b = schema(), *d = schema();

	assert_null(schema_cache_get(c, 1));
	schema_cache_put(c, 1, a);
	schema_cache_put(c, 2, b);
	assert_ptr_equal(schema_cache_get(c, 1), a); /* 2 is now the oldest */
	schema_cache_put(c, 3, d);
	assert_int_equal(schema_cache_size(c), 2);
	assert_null(schema_cache_get(c, 2));
	assert_ptr_equal(schema_cache_get(c, 1), a);
	assert_ptr_equal(schema_cache_get(c, 3), d);

	/* The same id again: the old schema goes, the size stays. */
	struct avrodec_schema *a2 = schema();
	schema_cache_put(c, 1, a2);
	assert_ptr_equal(schema_cache_get(c, 1), a2);
	schema_cache_put(c, 1, a2);
	assert_int_equal(schema_cache_size(c), 2);
	assert_ptr_equal(schema_cache_get(c, 1), a2);
	schema_cache_free(c);
}

static void test_decodes_from_cache(void **state)
{
	(void)state;
	struct schema_cache *c = schema_cache_new(4);
	schema_cache_put(c, 0xffffffffu, schema());
	struct avrodec_err err = {0};
	const uint8_t v[] = {0x54};
	cJSON *j = avrodec_decode(schema_cache_get(c, 0xffffffffu), v,
	                          sizeof v, &err);
	assert_non_null(j);
	assert_int_equal((int)j->valuedouble, 42);
	cJSON_Delete(j);
	schema_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lru),
	    cmocka_unit_test(test_decodes_from_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
