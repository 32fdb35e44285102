/* cache.c, through cache.h only: put, get and drop, the least recently
 * used entry going first at the cap, copies of id and ETag, ownership of
 * the record, and entries without an ETag or a record. */
#include "core/cache.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static cJSON *record_of(const char *name)
{
	cJSON *r = cJSON_CreateObject();

	assert_non_null(r);
	assert_non_null(cJSON_AddStringToObject(r, "Name", name));
	return r;
}

static void expect_entry(struct cache *c, const char *key, const char *id,
                         const char *etag)
{
	struct cache_entry e;

	if (cache_get(c, key, &e))
		fail_msg("'%s' not cached", key);
	assert_string_equal(e.id, id);
	if (etag)
		assert_string_equal(e.etag, etag);
	else
		assert_null(e.etag);
}

static int cached(struct cache *c, const char *key)
{
	struct cache_entry e;

	return cache_get(c, key, &e) == 0;
}

static void test_put_get_drop(void **state)
{
	struct cache *c = cache_new(10);
	struct cache_entry e;

	(void)state;
	assert_non_null(c);
	assert_int_equal(cache_size(c), 0);
	assert_int_equal(cache_get(c, "k1", &e), -ENOENT);
	assert_int_equal(cache_put(c, "k1", "id-1", "\"v1\"", record_of("a")),
	                 0);
	assert_int_equal(cache_size(c), 1);
	assert_int_equal(cache_get(c, "k1", &e), 0);
	assert_string_equal(e.id, "id-1");
	assert_string_equal(e.etag, "\"v1\"");
	assert_non_null(e.record);
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(e.record, "Name")->valuestring,
	    "a");
	/* Keys are exact: no prefix, no case folding. */
	assert_int_equal(cache_get(c, "k", &e), -ENOENT);
	assert_int_equal(cache_get(c, "K1", &e), -ENOENT);
	assert_int_equal(cache_get(c, "k10", &e), -ENOENT);

	cache_drop(c, "k1");
	assert_int_equal(cache_size(c), 0);
	assert_int_equal(cache_get(c, "k1", &e), -ENOENT);
	/* Dropping what is not there is no error. */
	cache_drop(c, "k1");
	cache_drop(c, "never");
	assert_int_equal(cache_size(c), 0);
	assert_null(cache_free(c));
	assert_null(cache_free(NULL));
}

/* A second put of a key replaces id, ETag and record (the old record is
 * freed: ASan tells), and the size stays. */
static void test_put_replaces(void **state)
{
	struct cache *c = cache_new(10);
	struct cache_entry e;

	(void)state;
	assert_int_equal(cache_put(c, "k", "id-1", "\"v1\"", record_of("a")),
	                 0);
	assert_int_equal(cache_put(c, "k", "id-2", "\"v2\"", record_of("b")),
	                 0);
	assert_int_equal(cache_size(c), 1);
	assert_int_equal(cache_get(c, "k", &e), 0);
	assert_string_equal(e.id, "id-2");
	assert_string_equal(e.etag, "\"v2\"");
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(e.record, "Name")->valuestring,
	    "b");
	/* Replaced by one without ETag or record. */
	assert_int_equal(cache_put(c, "k", "id-3", NULL, NULL), 0);
	assert_int_equal(cache_get(c, "k", &e), 0);
	assert_string_equal(e.id, "id-3");
	assert_null(e.etag);
	assert_null(e.record);
	cache_free(c);
}

/* id and etag are copied: the caller's buffers may change or go. */
static void test_copies_id_and_etag(void **state)
{
	struct cache *c = cache_new(4);
	char id[16], etag[16];

	(void)state;
	snprintf(id, sizeof(id), "id-1");
	snprintf(etag, sizeof(etag), "W/\"1\"");
	assert_int_equal(cache_put(c, "k", id, etag, NULL), 0);
	memset(id, 'x', sizeof(id) - 1);
	memset(etag, 'x', sizeof(etag) - 1);
	expect_entry(c, "k", "id-1", "W/\"1\"");
	cache_free(c);
}

/* An ETag the answer did not carry is NULL, not "": the next write
 * re-reads first. */
static void test_etag_null(void **state)
{
	struct cache *c = cache_new(4);
	struct cache_entry e;

	(void)state;
	assert_int_equal(cache_put(c, "k", "id-1", NULL, record_of("a")), 0);
	assert_int_equal(cache_get(c, "k", &e), 0);
	assert_string_equal(e.id, "id-1");
	assert_null(e.etag);
	assert_non_null(e.record);
	cache_free(c);
}

/* The record put in is the one got back (ownership moved, no copy), and
 * the cache frees it on drop, replace, eviction and free: the test
 * frees none of them, and ASan finds no leak. */
static void test_record_ownership(void **state)
{
	struct cache *c = cache_new(2);
	cJSON *r = record_of("a");
	struct cache_entry e;

	(void)state;
	assert_int_equal(cache_put(c, "a", "1", "e", r), 0);
	assert_int_equal(cache_get(c, "a", &e), 0);
	assert_ptr_equal(e.record, r);
	cache_drop(c, "a"); /* drop */
	assert_int_equal(cache_put(c, "b", "2", "e", record_of("b")), 0);
	assert_int_equal(cache_put(c, "b", "2", "e", record_of("b2")), 0);
	assert_int_equal(cache_put(c, "c", "3", "e", record_of("c")), 0);
	assert_int_equal(cache_put(c, "d", "4", "e", record_of("d")), 0);
	assert_int_equal(cache_size(c), 2);
	cache_free(c);
}

/* At the cap the least recently used entry goes: puts and gets both
 * count as use. */
static void test_lru_eviction_order(void **state)
{
	struct cache *c = cache_new(3);

	(void)state;
	assert_int_equal(cache_put(c, "a", "1", "ea", NULL), 0);
	assert_int_equal(cache_put(c, "b", "2", "eb", NULL), 0);
	assert_int_equal(cache_put(c, "c", "3", "ec", NULL), 0);
	assert_int_equal(cache_size(c), 3);

	/* a is used: b is now the oldest. */
	expect_entry(c, "a", "1", "ea");
	assert_int_equal(cache_put(c, "d", "4", "ed", NULL), 0);
	assert_int_equal(cache_size(c), 3);
	assert_false(cached(c, "b"));
	/* Order of use now: c (oldest), a, d. A put of c again refreshes
	 * it: a goes next. */
	assert_int_equal(cache_put(c, "c", "3", "ec2", NULL), 0);
	assert_int_equal(cache_put(c, "e", "5", "ee", NULL), 0);
	assert_false(cached(c, "a"));
	/* d, c, e left, d the oldest. */
	assert_int_equal(cache_put(c, "f", "6", "ef", NULL), 0);
	assert_false(cached(c, "d"));
	expect_entry(c, "c", "3", "ec2");
	expect_entry(c, "e", "5", "ee");
	expect_entry(c, "f", "6", "ef");
	assert_int_equal(cache_size(c), 3);
	cache_free(c);
}

/* A dropped entry leaves room: nothing else is evicted. */
static void test_drop_makes_room(void **state)
{
	struct cache *c = cache_new(2);

	(void)state;
	assert_int_equal(cache_put(c, "a", "1", NULL, NULL), 0);
	assert_int_equal(cache_put(c, "b", "2", NULL, NULL), 0);
	cache_drop(c, "b");
	assert_int_equal(cache_put(c, "c", "3", NULL, NULL), 0);
	assert_int_equal(cache_size(c), 2);
	expect_entry(c, "a", "1", NULL);
	expect_entry(c, "c", "3", NULL);
	cache_free(c);
}

/* A cap of 0 keeps one entry. */
static void test_cap_zero_keeps_one(void **state)
{
	struct cache *c = cache_new(0);

	(void)state;
	assert_non_null(c);
	assert_int_equal(cache_put(c, "a", "1", NULL, NULL), 0);
	expect_entry(c, "a", "1", NULL);
	assert_int_equal(cache_put(c, "b", "2", NULL, NULL), 0);
	assert_int_equal(cache_size(c), 1);
	assert_false(cached(c, "a"));
	expect_entry(c, "b", "2", NULL);
	cache_free(c);
}

/* Many keys past the cap: the newest cap entries stay, each with its
 * own values. */
static void test_many_keys(void **state)
{
	enum { CAP = 500, N = 5000 };
	struct cache *c = cache_new(CAP);
	char key[32], id[32];

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(id, sizeof(id), "id-%d", i);
		assert_int_equal(cache_put(c, key, id, NULL, NULL), 0);
	}
	assert_int_equal(cache_size(c), CAP);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(id, sizeof(id), "id-%d", i);
		if (i < N - CAP)
			assert_false(cached(c, key));
		else
			expect_entry(c, key, id, NULL);
	}
	cache_free(c);
}

/* A record of n string fields of 100 bytes each. */
static cJSON *big_record(int n)
{
	cJSON *r = cJSON_CreateObject();
	char name[16], value[101];

	assert_non_null(r);
	memset(value, 'v', 100);
	value[100] = '\0';
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "F%d", i);
		assert_non_null(cJSON_AddStringToObject(r, name, value));
	}
	return r;
}

/* With a byte bound, the least recently used entries go until the
 * records fit, whatever the count allows; the total follows puts,
 * replacements and drops back to zero. */
static void test_bounded_in_bytes(void **state)
{
	struct cache *c = cache_new(100000);
	char key[32];
	size_t one;

	(void)state;
	assert_int_equal(cache_put(c, "k-0", "id", "\"e\"", big_record(10)),
	                 0);
	one = cache_bytes(c);
	/* ten 100-byte strings and their nodes, names and overhead */
	assert_true(one > 10 * (100 + sizeof(cJSON)));
	assert_true(one < 10 * (100 + sizeof(cJSON) + 100) + 400);
	/* twenty entries; their keys are a byte longer than k-0's */
	cache_set_max_bytes(c, 20 * one + 100);
	for (int i = 1; i < 100; i++) {
		snprintf(key, sizeof(key), "k-%d", i);
		assert_int_equal(
		    cache_put(c, key, "id", "\"e\"", big_record(10)), 0);
		assert_true(cache_bytes(c) <= 20 * one + 100);
	}
	assert_int_equal(cache_size(c), 20);
	assert_false(cached(c, "k-79"));
	assert_true(cached(c, "k-80"));
	assert_true(cached(c, "k-99"));
	/* a smaller record in place of a big one frees its share */
	assert_int_equal(cache_put(c, "k-99", "id", NULL, record_of("x")), 0);
	assert_true(cache_bytes(c) < 20 * one - one / 2);
	for (int i = 80; i < 100; i++) {
		snprintf(key, sizeof(key), "k-%d", i);
		cache_drop(c, key);
	}
	assert_int_equal(cache_size(c), 0);
	assert_int_equal(cache_bytes(c), 0);
	cache_free(c);
}

/* An entry larger than the whole bound is still kept, alone. */
static void test_newest_stays_over_the_bound(void **state)
{
	struct cache *c = cache_new(100);

	(void)state;
	cache_set_max_bytes(c, 64);
	assert_int_equal(cache_put(c, "a", "1", NULL, big_record(3)), 0);
	assert_int_equal(cache_put(c, "b", "2", NULL, big_record(3)), 0);
	assert_int_equal(cache_size(c), 1);
	expect_entry(c, "b", "2", NULL);
	cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounded_in_bytes),
	    cmocka_unit_test(test_newest_stays_over_the_bound),
	    cmocka_unit_test(test_put_get_drop),
	    cmocka_unit_test(test_put_replaces),
	    cmocka_unit_test(test_copies_id_and_etag),
	    cmocka_unit_test(test_etag_null),
	    cmocka_unit_test(test_record_ownership),
	    cmocka_unit_test(test_lru_eviction_order),
	    cmocka_unit_test(test_drop_makes_room),
	    cmocka_unit_test(test_cap_zero_keeps_one),
	    cmocka_unit_test(test_many_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
