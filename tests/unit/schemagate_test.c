/* daemon/schemagate.c: records pass in offset order per partition once
 * their ids are ready; a partition waiting for a schema does not hold up
 * another; revoked and shut-down records are dropped, never passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "daemon/schemagate.h"

static bool ready_ids[16];
static int asked[16];
static int passed[32], n_passed;
static int dropped[32], n_dropped;
static int recs[32];

static bool ready(void *arg, uint32_t id)
{
	(void)arg;
	asked[id]++;
	return ready_ids[id];
}

static void pass(void *arg, void *rec)
{
	(void)arg;
	passed[n_passed++] = *(int *)rec;
}

static void drop(void *arg, void *rec)
{
	(void)arg;
	dropped[n_dropped++] = *(int *)rec;
}

static int setup(void **state)
{
	(void)state;
	memset(ready_ids, 0, sizeof(ready_ids));
	memset(asked, 0, sizeof(asked));
	n_passed = n_dropped = 0;
	for (int i = 0; i < 32; i++)
		recs[i] = i;
	return 0;
}

static void offer(struct schemagate *g, int32_t part, uint32_t id1,
                  uint32_t id2, int rec)
{
	const uint32_t ids[2] = {id1, id2};

	assert_int_equal(
	    schemagate_offer(g, "t", part, ids, id2 ? 2 : 1, &recs[rec]), 0);
}

static void order_per_partition(void **state)
{
	struct schemagate *g = schemagate_new(ready, pass, drop, NULL);

	(void)state;
	ready_ids[1] = true;
	offer(g, 0, 1, 0, 0); /* ready: passes at once */
	assert_int_equal(n_passed, 1);
	offer(g, 0, 2, 0, 1); /* waits for 2 */
	offer(g, 0, 1, 0, 2); /* ready, but behind 1 */
	offer(g, 1, 1, 0, 3); /* another partition: not held up */
	offer(g, 1, 1, 3, 4); /* its key's schema 3 is not ready */
	assert_int_equal(n_passed, 2);
	assert_int_equal(passed[1], 3);
	assert_int_equal(schemagate_waiting(g), 3);
	/* Both of a record's ids were asked for, so both fetch at once. */
	assert_true(asked[3] >= 1);
	schemagate_drain(g);
	assert_int_equal(n_passed, 2);
	ready_ids[2] = true;
	schemagate_drain(g);
	assert_int_equal(n_passed, 4);
	assert_int_equal(passed[2], 1);
	assert_int_equal(passed[3], 2);
	ready_ids[3] = true;
	schemagate_drain(g);
	assert_int_equal(n_passed, 5);
	assert_int_equal(passed[4], 4);
	assert_int_equal(schemagate_waiting(g), 0);
	assert_int_equal(n_dropped, 0);
	schemagate_free(g);
}

static void revoked_and_stopped(void **state)
{
	struct schemagate *g = schemagate_new(ready, pass, drop, NULL);

	(void)state;
	offer(g, 0, 5, 0, 0);
	offer(g, 0, 5, 0, 1);
	offer(g, 1, 5, 0, 2);
	schemagate_drop_partition(g, "t", 0);
	assert_int_equal(n_dropped, 2);
	assert_int_equal(dropped[0], 0);
	assert_int_equal(dropped[1], 1);
	assert_int_equal(schemagate_waiting(g), 1);
	/* A record of the revoked partition that comes again starts a new
	 * queue. */
	ready_ids[5] = true;
	offer(g, 0, 5, 0, 3);
	assert_int_equal(n_passed, 1);
	ready_ids[5] = false;
	offer(g, 2, 5, 0, 4);
	schemagate_free(g); /* drops what waits */
	assert_int_equal(n_dropped, 4);
	assert_int_equal(n_passed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(order_per_partition, setup),
	    cmocka_unit_test_setup(revoked_and_stopped, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
