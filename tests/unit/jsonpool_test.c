/* jsonpool.c: the pool cJSON allocates through in the daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/jsonpool.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POOL_TEST_ASAN 1
#endif

static int teardown(void **state)
{
	(void)state;
	jsonpool_drain();
	assert_int_equal(jsonpool_pooled(), 0);
	return 0;
}

/* A freed block comes back for the next request of its class. */
static void freed_block_reused(void **state)
{
	void *a = jsonpool_malloc(64), *b;

	(void)state;
	assert_non_null(a);
	jsonpool_free(a);
	assert_int_equal(jsonpool_pooled(), 1);
#ifdef POOL_TEST_ASAN
	assert_true(__asan_address_is_poisoned(a));
#endif
	b = jsonpool_malloc(50);
	assert_ptr_equal(a, b);
	assert_int_equal(jsonpool_pooled(), 0);
	memset(b, 'x', 50);
	jsonpool_free(b);
}

/* Every block handed out holds what was asked for, whatever block the
 * class had to give: small ones are pooled among large requests. */
static void blocks_always_big_enough(void **state)
{
	void *p[300];

	(void)state;
	srand(7);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 300; i++) {
			size_t n = (size_t)(rand() % 300);

			p[i] = jsonpool_malloc(n);
			assert_non_null(p[i]);
			assert_true(malloc_usable_size(p[i]) >= n);
			memset(p[i], 'y', n);
		}
		for (int i = 0; i < 300; i++)
			jsonpool_free(p[i]);
	}
	assert_true(jsonpool_pooled() > 0);
}

/* A class keeps at most JSONPOOL_KEEP blocks; the rest go back. */
static void pool_bounded(void **state)
{
	enum { N = JSONPOOL_KEEP + 100 };
	void **p = calloc(N, sizeof(*p));

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < N; i++)
		p[i] = jsonpool_malloc(32);
	for (int i = 0; i < N; i++)
		jsonpool_free(p[i]);
	assert_int_equal(jsonpool_pooled(), JSONPOOL_KEEP);
	free(p);
}

/* The blocks are malloc's own: free() takes one from the pool and the
 * pool takes one from malloc, in either direction. */
static void mixes_with_malloc(void **state)
{
	void *a = jsonpool_malloc(40), *b = malloc(40);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	free(a);
	jsonpool_free(b);
	assert_int_equal(jsonpool_pooled(), 1);
	jsonpool_free(NULL);
	jsonpool_free(malloc(100000)); /* too large to pool */
	assert_int_equal(jsonpool_pooled(), 1);
}

/* cJSON through the pool builds, prints and frees the same documents,
 * and its freed nodes are kept for the next one. */
static void cjson_through_the_pool(void **state)
{
	static const char doc[] =
	    "{\"op\":\"upsert\",\"key\":\"K-1\",\"customer\":{\"name\":"
	    "\"Acme\",\"tags\":[\"a\",\"b\",1,2.5,null,true],\"address\":"
	    "{\"city\":\"Ghent\"}}}";

	(void)state;
	jsonpool_install();
	for (int i = 0; i < 3; i++) {
		cJSON *v = cJSON_Parse(doc);
		char *text;

		assert_non_null(v);
		text = cJSON_PrintUnformatted(v);
		assert_non_null(text);
		assert_string_equal(text, doc);
		free(text); /* as the daemon frees a printed body */
		cJSON_Delete(v);
		assert_true(jsonpool_pooled() > 10);
	}
	cJSON_InitHooks(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(freed_block_reused, teardown),
	    cmocka_unit_test_teardown(blocks_always_big_enough, teardown),
	    cmocka_unit_test_teardown(pool_bounded, teardown),
	    cmocka_unit_test_teardown(mixes_with_malloc, teardown),
	    cmocka_unit_test_teardown(cjson_through_the_pool, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
