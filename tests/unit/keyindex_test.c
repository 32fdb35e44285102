/* The key index and the string table under it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/keyindex.h"
#include "lib/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Many keys: the table grows and every key stays findable; removal
 * leaves the others. */
static void test_strmap_grows_and_removes(void **state)
{
	struct strmap *m = strmap_new();
	char key[32];
	void *old;

	(void)state;
	assert_non_null(m);
	for (long i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "k-%ld", i);
		assert_int_equal(strmap_put(m, key, (void *)(i + 1), &old), 0);
		assert_null(old);
	}
	assert_int_equal(strmap_size(m), 20000);
	for (long i = 0; i < 20000; i += 7) {
		snprintf(key, sizeof(key), "k-%ld", i);
		assert_ptr_equal(strmap_get(m, key), (void *)(i + 1));
	}
	assert_int_equal(strmap_put(m, "k-5", (void *)9, &old), 0);
	assert_ptr_equal(old, (void *)6);
	assert_ptr_equal(strmap_remove(m, "k-5"), (void *)9);
	assert_null(strmap_get(m, "k-5"));
	assert_null(strmap_remove(m, "k-5"));
	assert_ptr_equal(strmap_get(m, "k-6"), (void *)7);
	assert_int_equal(strmap_size(m), 19999);
	assert_null(strmap_get(m, "absent"));
	strmap_free(m, NULL);
}

static void test_strmap_frees_values(void **state)
{
	struct strmap *m = strmap_new();

	(void)state;
	assert_int_equal(strmap_put(m, "a", strdup("1"), NULL), 0);
	assert_int_equal(strmap_put(m, "", strdup("2"), NULL), 0);
	assert_string_equal(strmap_get(m, ""), "2");
	strmap_free(m, free); /* LeakSanitizer checks the values went */
}

/* The scan's first record of an external id wins; custsync's own
 * writes replace; blank ids are not indexed. */
static void test_keyindex_entries(void **state)
{
	struct keyindex *ki = keyindex_new();

	(void)state;
	assert_true(keyindex_claim(ki));
	assert_false(keyindex_claim(ki));
	assert_int_equal(keyindex_add(ki, "K1", "1"), 0);
	assert_int_equal(keyindex_add(ki, "K1", "2"), 0);
	assert_int_equal(keyindex_add(ki, "", "3"), 0);
	assert_int_equal(keyindex_add(ki, NULL, "4"), 0);
	assert_int_equal(keyindex_add(ki, "K5", NULL), 0);
	assert_string_equal(keyindex_get(ki, "K1"), "1");
	assert_int_equal(keyindex_size(ki), 1);
	assert_false(keyindex_scanned(ki));
	assert_int_equal(keyindex_state(ki), KEYINDEX_READY);
	assert_int_equal(keyindex_put(ki, "K1", "9"), 0);
	assert_string_equal(keyindex_get(ki, "K1"), "9");
	keyindex_drop(ki, "K1");
	assert_null(keyindex_get(ki, "K1"));
	assert_null(keyindex_get(ki, NULL));
	keyindex_free(ki);
}

static void test_keyindex_states(void **state)
{
	struct keyindex *ki = keyindex_new();

	(void)state;
	assert_int_equal(keyindex_state(ki), KEYINDEX_STALE);
	/* Released by a job that went away: STALE for the next one. */
	assert_true(keyindex_claim(ki));
	keyindex_release(ki);
	assert_int_equal(keyindex_state(ki), KEYINDEX_STALE);
	/* Invalidated during a scan: the scan starts over once. */
	assert_true(keyindex_claim(ki));
	keyindex_invalidate(ki);
	assert_true(keyindex_scanned(ki));
	assert_int_equal(keyindex_state(ki), KEYINDEX_SCANNING);
	assert_false(keyindex_scanned(ki));
	assert_int_equal(keyindex_scans(ki), 2);
	/* A ready or failed index is scanned again after an assignment. */
	keyindex_invalidate(ki);
	assert_int_equal(keyindex_state(ki), KEYINDEX_STALE);
	assert_true(keyindex_claim(ki));
	keyindex_fail(ki);
	assert_int_equal(keyindex_state(ki), KEYINDEX_FAILED);
	keyindex_release(ki);
	assert_int_equal(keyindex_state(ki), KEYINDEX_FAILED);
	keyindex_invalidate(ki);
	assert_int_equal(keyindex_state(ki), KEYINDEX_STALE);
	assert_string_equal(keyindex_state_str(KEYINDEX_READY), "ready");
	keyindex_free(ki);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strmap_grows_and_removes),
	    cmocka_unit_test(test_strmap_frees_values),
	    cmocka_unit_test(test_keyindex_entries),
	    cmocka_unit_test(test_keyindex_states),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
