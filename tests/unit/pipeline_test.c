/* pipeline.c: per-key order, the in-flight cap, and offsets that only
 * ever cover completed events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pipeline.h"

#include <stdio.h>
#include <stdlib.h>

static struct pl_event *push(struct pipeline *pl, struct pl_partition *p,
                             int64_t off, const char *key)
{
	struct pl_event *ev = pipeline_push(pl, p, off, key, NULL);

	assert_non_null(ev);
	return ev;
}

static void finish(struct pipeline *pl, struct pl_event *ev)
{
	pipeline_output(pl, ev);
	pipeline_done(pl, ev);
}

static void test_same_key_waits_other_keys_run(void **state)
{
	struct pipeline *pl = pipeline_new(10);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	struct pl_event *a0 = push(pl, p, 0, "A");
	struct pl_event *a1 = push(pl, p, 1, "A");
	struct pl_event *b2 = push(pl, p, 2, "B");

	(void)state;
	assert_ptr_equal(pipeline_next_ready(pl), a0);
	assert_ptr_equal(pipeline_next_ready(pl), b2);
	assert_null(pipeline_next_ready(pl)); /* A's second waits */
	pipeline_output(pl, a0);
	assert_ptr_equal(pipeline_next_ready(pl), a1);
	assert_int_equal(a1->state, PL_ACTIVE);
	pipeline_free(pl);
}

static void test_cap(void **state)
{
	struct pipeline *pl = pipeline_new(2);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	struct pl_event *e[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		char k[2] = {(char)('a' + i), 0};

		e[i] = push(pl, p, i, k);
	}
	assert_ptr_equal(pipeline_next_ready(pl), e[0]);
	assert_ptr_equal(pipeline_next_ready(pl), e[1]);
	assert_null(pipeline_next_ready(pl));
	assert_int_equal(pipeline_active(pl), 2);
	pipeline_output(pl, e[1]);
	assert_ptr_equal(pipeline_next_ready(pl), e[2]);
	pipeline_free(pl);
}

/* The adaptive limit moves the cap: lower stops new starts only, higher
 * starts more at once, and a key's order holds throughout. */
static void test_cap_moves(void **state)
{
	struct pipeline *pl = pipeline_new(4);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	struct pl_event *e[8];

	(void)state;
	for (int i = 0; i < 8; i++) {
		char k[2] = {(char)('a' + i % 6), 0};

		e[i] = push(pl, p, i, k);
	}
	for (int i = 0; i < 4; i++)
		assert_ptr_equal(pipeline_next_ready(pl), e[i]);
	pipeline_set_max_active(pl, 2);
	/* Four stay active; none starts until fewer than two are. */
	assert_null(pipeline_next_ready(pl));
	assert_int_equal(pipeline_active(pl), 4);
	finish(pl, e[0]);
	finish(pl, e[1]);
	assert_null(pipeline_next_ready(pl));
	finish(pl, e[2]);
	assert_ptr_equal(pipeline_next_ready(pl), e[4]);
	assert_null(pipeline_next_ready(pl));
	pipeline_set_max_active(pl, 0); /* never below one */
	assert_null(pipeline_next_ready(pl));
	pipeline_set_max_active(pl, 8);
	/* e[6] is key a, e[7] key b: both free, in arrival order. */
	assert_ptr_equal(pipeline_next_ready(pl), e[5]);
	assert_ptr_equal(pipeline_next_ready(pl), e[6]);
	assert_ptr_equal(pipeline_next_ready(pl), e[7]);
	assert_null(pipeline_next_ready(pl));
	finish(pl, e[3]);
	finish(pl, e[4]);
	finish(pl, e[5]);
	finish(pl, e[6]);
	finish(pl, e[7]);
	assert_int_equal(pipeline_advance(pl, p), 8);
	pipeline_free(pl);
}

static void test_offsets_contiguous_prefix(void **state)
{
	struct pipeline *pl = pipeline_new(10);
	struct pl_partition *p = pipeline_partition(pl, "t", 3, 1);
	struct pl_event *e0 = push(pl, p, 10, "a");
	struct pl_event *e1 = push(pl, p, 11, "b");
	struct pl_event *e2 = push(pl, p, 13, "c"); /* gap: compaction */

	(void)state;
	while (pipeline_next_ready(pl))
		;
	finish(pl, e1);
	finish(pl, e2);
	assert_int_equal(pipeline_advance(pl, p), -1);
	/* OUTPUT is not enough: the outcome is not acknowledged yet */
	pipeline_output(pl, e0);
	assert_int_equal(pipeline_advance(pl, p), -1);
	pipeline_done(pl, e0);
	assert_int_equal(pipeline_advance(pl, p), 14);
	assert_int_equal(pipeline_buffered(pl), 0);
	assert_int_equal(pipeline_advance(pl, p), -1);
	pipeline_free(pl);
}

/* The partition-sequential comparison mode: one active event per
 * partition, whatever the keys. */
static void test_partition_cap(void **state)
{
	struct pipeline *pl = pipeline_new(10);
	struct pl_partition *p0 = pipeline_partition(pl, "t", 0, 1);
	struct pl_partition *p1 = pipeline_partition(pl, "t", 1, 1);
	struct pl_event *a = push(pl, p0, 0, "a");
	struct pl_event *b = push(pl, p0, 1, "b");
	struct pl_event *c = push(pl, p1, 0, "c");

	(void)state;
	pipeline_set_partition_cap(pl, 1);
	assert_ptr_equal(pipeline_next_ready(pl), a);
	assert_ptr_equal(pipeline_next_ready(pl), c);
	assert_null(pipeline_next_ready(pl)); /* b: its partition is busy */
	pipeline_output(pl, a);
	assert_ptr_equal(pipeline_next_ready(pl), b);
	pipeline_output(pl, c);
	pipeline_output(pl, b);
	assert_int_equal(pipeline_active(pl), 0);
	pipeline_free(pl);
}

static int released;

static void release(void *user, void *arg)
{
	(void)user;
	(void)arg;
	released++;
}

static void test_revoke(void **state)
{
	struct pipeline *pl = pipeline_new(10);
	struct pl_partition *p0 = pipeline_partition(pl, "t", 0, 1);
	struct pl_partition *p1 = pipeline_partition(pl, "t", 1, 1);
	struct pl_event *a = push(pl, p0, 0, "K");
	struct pl_event *b = push(pl, p0, 1, "L");
	struct pl_event *c = push(pl, p1, 0, "K"); /* same key, other part */
	int dummy;

	(void)state;
	a->user = &dummy;
	b->user = &dummy;
	assert_ptr_equal(pipeline_next_ready(pl), a);
	assert_ptr_equal(pipeline_next_ready(pl), b);
	assert_null(pipeline_next_ready(pl));
	pipeline_output(pl, b); /* b awaits its acknowledgement */
	released = 0;
	assert_int_equal(pipeline_revoke(pl, p0, release, NULL), -1);
	assert_int_equal(released, 1); /* a was active */
	assert_null(b->part);          /* orphaned */
	assert_int_equal(pipeline_active(pl), 0);
	/* K's queue moves on to the other partition's event */
	assert_ptr_equal(pipeline_next_ready(pl), c);
	assert_int_equal(pipeline_done(pl, b), 1);
	assert_null(pipeline_partition(pl, "t", 0, 0));
	finish(pl, c);
	assert_int_equal(pipeline_advance(pl, p1), 1);
	pipeline_free(pl);
}

static void test_shutdown_barriers(void **state)
{
	struct pipeline *pl = pipeline_new(1);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	struct pl_event *a = push(pl, p, 0, "a");
	struct pl_event *b = push(pl, p, 1, "b");
	struct pl_event *c = push(pl, p, 2, "c");

	(void)state;
	(void)b;
	(void)c;
	assert_ptr_equal(pipeline_next_ready(pl), a);
	released = 0;
	b->user = c->user = &released;
	pipeline_drop_queued(pl, release, NULL);
	assert_int_equal(released, 2);
	assert_null(pipeline_next_ready(pl));
	finish(pl, a);
	/* b and c never ran: the offset stops after a */
	assert_int_equal(pipeline_advance(pl, p), 1);
	assert_int_equal(pipeline_advance(pl, p), -1);
	pipeline_free(pl);
}

static void test_forget_keeps_barrier(void **state)
{
	struct pipeline *pl = pipeline_new(5);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	struct pl_event *a = push(pl, p, 0, "a");
	struct pl_event *b = push(pl, p, 1, "b");

	(void)state;
	while (pipeline_next_ready(pl))
		;
	pipeline_output(pl, a);
	pipeline_forget(pl, a);
	finish(pl, b);
	assert_int_equal(pipeline_advance(pl, p), -1);
	pipeline_free(pl);
}

/* A key's next event, waiting since before the fresh keys behind it
 * came, starts before them: a hot key is not starved. */
static void test_oldest_ready_first(void **state)
{
	struct pipeline *pl = pipeline_new(1);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	struct pl_event *a0 = push(pl, p, 0, "A");
	struct pl_event *a1 = push(pl, p, 1, "A");
	struct pl_event *b2 = push(pl, p, 2, "B");
	struct pl_event *c3 = push(pl, p, 3, "C");
	struct pl_event *a4 = push(pl, p, 4, "A");

	(void)state;
	assert_ptr_equal(pipeline_next_ready(pl), a0);
	finish(pl, a0);
	assert_ptr_equal(pipeline_next_ready(pl), a1);
	finish(pl, a1);
	/* A's next came after B and C: they go first. */
	assert_ptr_equal(pipeline_next_ready(pl), b2);
	finish(pl, b2);
	assert_ptr_equal(pipeline_next_ready(pl), c3);
	finish(pl, c3);
	assert_ptr_equal(pipeline_next_ready(pl), a4);
	finish(pl, a4);
	assert_null(pipeline_next_ready(pl));
	assert_int_equal(pipeline_advance(pl, p), 5);
	pipeline_free(pl);
}

/* Against a model: whatever the interleaving, the event that starts is
 * the oldest of those whose key has nothing before them left to run. */
#define MODEL_EVENTS 400
#define MODEL_KEYS   23
static void test_ready_heap_against_model(void **state)
{
	struct pipeline *pl = pipeline_new(8);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	struct pl_event *evs[MODEL_EVENTS];
	int key_of[MODEL_EVENTS], state_of[MODEL_EVENTS] = {0};
	int pushed = 0, active[8], n_active = 0, done = 0;
	unsigned r = 12345;

	(void)state;
	while (done < MODEL_EVENTS) {
		r = r * 1103515245u + 12345u;
		if (pushed < MODEL_EVENTS && (r >> 16) % 3 == 0) {
			char key[8];

			key_of[pushed] = (int)((r >> 8) % MODEL_KEYS);
			snprintf(key, sizeof(key), "k%d", key_of[pushed]);
			evs[pushed] = push(pl, p, pushed, key);
			pushed++;
		} else if (n_active > 0 && (r >> 16) % 3 == 1) {
			int i = (int)((r >> 4) % (unsigned)n_active);

			finish(pl, evs[active[i]]);
			state_of[active[i]] = 2;
			active[i] = active[--n_active];
			done++;
		} else {
			struct pl_event *got = pipeline_next_ready(pl);
			int want = -1;

			for (int e = 0; e < pushed && want < 0; e++) {
				int blocked = 0;

				if (state_of[e] != 0)
					continue;
				for (int b = 0; b < e && !blocked; b++)
					blocked = key_of[b] == key_of[e] &&
					          state_of[b] != 2;
				if (!blocked)
					want = e;
			}
			if (n_active == 8)
				want = -1;
			if (want < 0) {
				assert_null(got);
				continue;
			}
			assert_ptr_equal(got, evs[want]);
			state_of[want] = 1;
			active[n_active++] = want;
		}
	}
	assert_int_equal(pipeline_advance(pl, p), MODEL_EVENTS);
	pipeline_free(pl);
}

/* The worker's backpressure counts each partition on its own. */
static void test_partition_buffered(void **state)
{
	struct pipeline *pl = pipeline_new(10);
	struct pl_partition *p0 = pipeline_partition(pl, "t", 0, 1);
	struct pl_partition *p1 = pipeline_partition(pl, "t", 1, 1);
	struct pl_event *a = push(pl, p0, 0, "A");

	(void)state;
	push(pl, p0, 1, "A");
	push(pl, p1, 0, "B");
	assert_int_equal(pl_partition_buffered(p0), 2);
	assert_int_equal(pl_partition_buffered(p1), 1);
	assert_false(pl_partition_held(p0));
	pl_partition_set_held(p0, 1);
	assert_true(pl_partition_held(p0));
	assert_false(pl_partition_held(p1));
	assert_ptr_equal(pipeline_next_ready(pl), a);
	finish(pl, a);
	assert_int_equal(pl_partition_buffered(p0), 1);
	assert_int_equal(pipeline_advance(pl, p0), 1);
	assert_int_equal(pl_partition_buffered(p0), 1);
	pipeline_revoke(pl, p1, NULL, NULL);
	assert_int_equal(pipeline_buffered(pl), 1);
	pipeline_free(pl);
}

static void test_many_keys_order(void **state)
{
	struct pipeline *pl = pipeline_new(8);
	struct pl_partition *p = pipeline_partition(pl, "t", 0, 1);
	int64_t last[5];
	struct pl_event *ev;
	int done = 0;

	(void)state;
	for (int i = 0; i < 5; i++)
		last[i] = -1;
	for (int i = 0; i < 200; i++) {
		char k[2] = {(char)('a' + i % 5), 0};

		push(pl, p, i, k);
	}
	/* Start everything startable, finish in reverse start order: each
	 * key still sees its offsets ascend. */
	while (done < 200) {
		struct pl_event *batch[8];
		int n = 0;

		while ((ev = pipeline_next_ready(pl)))
			batch[n++] = ev;
		assert_true(n > 0 && n <= 5);
		for (int i = n - 1; i >= 0; i--) {
			int key = (int)(batch[i]->offset % 5);

			assert_true(batch[i]->offset > last[key]);
			last[key] = batch[i]->offset;
			finish(pl, batch[i]);
			done++;
		}
	}
	assert_int_equal(pipeline_advance(pl, p), 200);
	pipeline_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_key_waits_other_keys_run),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_cap_moves),
	    cmocka_unit_test(test_partition_cap),
	    cmocka_unit_test(test_offsets_contiguous_prefix),
	    cmocka_unit_test(test_revoke),
	    cmocka_unit_test(test_shutdown_barriers),
	    cmocka_unit_test(test_forget_keeps_barrier),
	    cmocka_unit_test(test_many_keys_order),
	    cmocka_unit_test(test_partition_buffered),
	    cmocka_unit_test(test_oldest_ready_first),
	    cmocka_unit_test(test_ready_heap_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
