/* backpressure.c: which partitions pause at worker.max_buffered_events,
 * when they resume, and that held partitions are paused again after a
 * resume of everything or a new assignment. The pause calls go to a
 * recorder instead of librdkafka (struct backpressure's set_pause). */
#include "daemon/backpressure.h"
#include "core/pipeline.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define MAX_CALLS  32
#define MAX_EVENTS 64

struct call {
	char topic[16];
	int32_t partition;
	int pause;
};

struct fixture {
	struct pipeline *pl;
	struct backpressure bp;
	struct call calls[MAX_CALLS];
	size_t n_calls;
	struct pl_event *events[MAX_EVENTS];
	size_t n_events;
	unsigned long next_key;
};

static void record(void *arg, const char *topic, int32_t partition, int pause)
{
	struct fixture *f = arg;
	struct call *c;

	assert_true(f->n_calls < MAX_CALLS);
	c = &f->calls[f->n_calls++];
	snprintf(c->topic, sizeof(c->topic), "%s", topic);
	c->partition = partition;
	c->pause = pause;
}

static void setup(struct fixture *f, long max_buffered, int n_partitions)
{
	memset(f, 0, sizeof(*f));
	f->pl = pipeline_new(1000);
	assert_non_null(f->pl);
	for (int i = 0; i < n_partitions; i++)
		assert_non_null(pipeline_partition(f->pl, "t", i, 1));
	f->bp = (struct backpressure){
	    .pl = f->pl,
	    .max_buffered = max_buffered,
	    .set_pause = record,
	    .set_pause_arg = f,
	};
}

static void teardown(struct fixture *f)
{
	pipeline_free(f->pl);
}

static struct pl_partition *part(struct fixture *f, int32_t id)
{
	struct pl_partition *p = pipeline_partition(f->pl, "t", id, 0);

	assert_non_null(p);
	return p;
}

/* n events of their own keys buffered on partition id, each followed by
 * the check the loop makes; all of them start (ACTIVE). */
static void buffer(struct fixture *f, int32_t id, int n, int all_paused)
{
	struct pl_partition *p = part(f, id);

	for (int i = 0; i < n; i++) {
		char key[32];
		struct pl_event *ev;

		snprintf(key, sizeof(key), "k%lu", f->next_key++);
		ev = pipeline_push(f->pl, p, (int64_t)f->next_key, key, NULL);
		assert_non_null(ev);
		assert_true(f->n_events < MAX_EVENTS);
		f->events[f->n_events++] = ev;
		backpressure_check(&f->bp, p, all_paused);
	}
	while (pipeline_next_ready(f->pl))
		;
}

/* n of partition id's buffered events are done. */
static void finish(struct fixture *f, int32_t id, int n)
{
	for (size_t i = 0; i < f->n_events && n > 0; i++) {
		struct pl_event *ev = f->events[i];

		if (ev->state != PL_ACTIVE || pl_partition_id(ev->part) != id)
			continue;
		pipeline_output(f->pl, ev);
		pipeline_done(f->pl, ev);
		n--;
	}
	assert_int_equal(n, 0);
}

static void expect_call(const struct fixture *f, size_t i, int32_t id,
                        int pause)
{
	assert_true(i < f->n_calls);
	assert_string_equal(f->calls[i].topic, "t");
	assert_int_equal(f->calls[i].partition, id);
	assert_int_equal(f->calls[i].pause, pause);
}

static int held(struct fixture *f, int32_t id)
{
	return pl_partition_held(part(f, id));
}

/* Nothing pauses while the total is under max_buffered, however much one
 * partition holds; at the total, only a partition past its share
 * (max ÷ assigned) pauses, once. */
static void test_pause_at_total_and_share(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 8, 2); /* share 4 */
	buffer(&f, 0, 7, 0);
	assert_int_equal(f.n_calls, 0);
	assert_false(held(&f, 0));
	/* Total 8: partition 1 holds 1, under its share. */
	buffer(&f, 1, 1, 0);
	assert_int_equal(f.n_calls, 0);
	/* Partition 0 (8 of them) is past its share. */
	buffer(&f, 0, 1, 0);
	assert_int_equal(f.n_calls, 1);
	expect_call(&f, 0, 0, 1);
	assert_true(held(&f, 0));
	assert_false(held(&f, 1));
	/* Held already: no second pause. */
	buffer(&f, 0, 2, 0);
	assert_int_equal(f.n_calls, 1);
	/* Partition 1 pauses only once past its own share. */
	buffer(&f, 1, 2, 0);
	assert_int_equal(f.n_calls, 1);
	buffer(&f, 1, 1, 0);
	assert_int_equal(f.n_calls, 2);
	expect_call(&f, 1, 1, 1);
	teardown(&f);
}

/* More partitions than max_buffered: the share rounds down to nothing,
 * and a partition's first event past the total pauses it. */
static void test_more_partitions_than_max(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 1, 3);
	buffer(&f, 2, 1, 0);
	assert_int_equal(f.n_calls, 1);
	expect_call(&f, 0, 2, 1);
	assert_true(held(&f, 2));
	teardown(&f);
}

/* Every partition is paused anyway (Retry-After, shutdown): the
 * partition is only marked, and resumed only in the mark. */
static void test_all_paused_only_marks(void **state)
{
	struct fixture f;
	size_t assigned = 0;

	(void)state;
	setup(&f, 4, 2); /* share 2 */
	buffer(&f, 0, 5, 1);
	assert_true(held(&f, 0));
	assert_int_equal(f.n_calls, 0);
	assert_int_equal(backpressure_paused(&f.bp, 1, &assigned), 2);
	assert_int_equal(assigned, 2);
	assert_int_equal(backpressure_paused(&f.bp, 0, &assigned), 1);
	finish(&f, 0, 5);
	backpressure_release(&f.bp, 1, 0);
	assert_false(held(&f, 0));
	assert_int_equal(f.n_calls, 0);
	assert_int_equal(backpressure_paused(&f.bp, 0, &assigned), 0);
	teardown(&f);
}

/* A held partition resumes once it drained below half its share, while
 * the total stays high. */
static void test_release_by_partition(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 8, 2); /* share 4, half 2 */
	buffer(&f, 1, 3, 0);
	buffer(&f, 0, 5, 0);
	assert_int_equal(f.n_calls, 1);
	expect_call(&f, 0, 0, 1);
	buffer(&f, 1, 4, 0); /* partition 1: 7, paused too */
	assert_int_equal(f.n_calls, 2);
	expect_call(&f, 1, 1, 1);

	finish(&f, 0, 3); /* partition 0: 2, total 9 */
	backpressure_release(&f.bp, 0, 0);
	assert_int_equal(f.n_calls, 2);
	assert_true(held(&f, 0));
	finish(&f, 0, 1); /* partition 0: 1 */
	backpressure_release(&f.bp, 0, 0);
	assert_int_equal(f.n_calls, 3);
	expect_call(&f, 2, 0, 0);
	assert_false(held(&f, 0));
	assert_true(held(&f, 1));
	teardown(&f);
}

/* Once the total drained below half of max_buffered, every held
 * partition resumes, however much it still holds. */
static void test_release_by_total(void **state)
{
	struct fixture f;
	size_t assigned;

	(void)state;
	setup(&f, 8, 2); /* share 4, half 2; half the total 4 */
	buffer(&f, 1, 3, 0);
	buffer(&f, 0, 5, 0);
	assert_int_equal(f.n_calls, 1);
	finish(&f, 1, 3); /* total 5 */
	backpressure_release(&f.bp, 0, 0);
	assert_int_equal(f.n_calls, 1);
	finish(&f, 0, 1); /* total 4, partition 0: 4 */
	backpressure_release(&f.bp, 0, 0);
	assert_int_equal(f.n_calls, 1);
	assert_int_equal(backpressure_paused(&f.bp, 0, &assigned), 1);
	finish(&f, 0, 1); /* total 3, partition 0 still 3 */
	backpressure_release(&f.bp, 0, 0);
	assert_int_equal(f.n_calls, 2);
	expect_call(&f, 1, 0, 0);
	assert_false(held(&f, 0));
	assert_int_equal(backpressure_paused(&f.bp, 0, &assigned), 0);
	teardown(&f);
}

/* When what is buffered cannot fill the cap on active events (a hot
 * key's backlog: every other event done), held partitions resume as
 * soon as the total is under max_buffered, not only under half of it;
 * at the total they pause again. */
static void test_release_when_starving(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 8, 2); /* share 4; half the total 4 */
	buffer(&f, 1, 3, 0);
	buffer(&f, 0, 5, 0);
	assert_int_equal(f.n_calls, 1);
	backpressure_release(&f.bp, 0, 1); /* total 8: not under it */
	assert_int_equal(f.n_calls, 1);
	finish(&f, 1, 2); /* total 6 */
	backpressure_release(&f.bp, 0, 0);
	assert_int_equal(f.n_calls, 1);
	assert_true(held(&f, 0));
	backpressure_release(&f.bp, 0, 1);
	assert_int_equal(f.n_calls, 2);
	expect_call(&f, 1, 0, 0);
	assert_false(held(&f, 0));
	buffer(&f, 0, 2, 0); /* total 8 again: partition 0 (7) pauses */
	assert_int_equal(f.n_calls, 3);
	expect_call(&f, 2, 0, 1);
	teardown(&f);
}

/* librdkafka forgets pauses on a new assignment (and the hold's resume
 * resumes everything): the held partitions, and only they, are paused
 * again. */
static void test_repause_after_assignment(void **state)
{
	struct fixture f;
	size_t assigned;

	(void)state;
	setup(&f, 4, 2); /* share 2 */
	buffer(&f, 1, 1, 0);
	buffer(&f, 0, 4, 0);
	assert_int_equal(f.n_calls, 1);
	expect_call(&f, 0, 0, 1);
	assert_non_null(pipeline_partition(f.pl, "t", 2, 1));
	assert_int_equal(backpressure_paused(&f.bp, 0, &assigned), 1);
	assert_int_equal(assigned, 3);
	backpressure_repause(&f.bp);
	assert_int_equal(f.n_calls, 2);
	expect_call(&f, 1, 0, 1);
	/* Nothing held, nothing paused. */
	finish(&f, 0, 4);
	backpressure_release(&f.bp, 0, 0);
	assert_int_equal(f.n_calls, 3);
	expect_call(&f, 2, 0, 0);
	backpressure_repause(&f.bp);
	assert_int_equal(f.n_calls, 3);
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pause_at_total_and_share),
	    cmocka_unit_test(test_more_partitions_than_max),
	    cmocka_unit_test(test_all_paused_only_marks),
	    cmocka_unit_test(test_release_by_partition),
	    cmocka_unit_test(test_release_by_total),
	    cmocka_unit_test(test_release_when_starving),
	    cmocka_unit_test(test_repause_after_assignment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
