/* replay/plan.c: what a replay selects, what each dead letter is when
 * the loop meets it, and how far its partitions may be committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/deadletter.h"
#include "edge/scan.h"
#include "replay/plan.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795800000000LL

/* A dead letter at partition:offset of key, for the event at
 * erp.customers/2:src_offset. */
static struct dead_letter dl_at(int32_t partition, int64_t offset,
                                const char *key, const char *code,
                                int64_t src_offset)
{
	return (struct dead_letter){
	    .partition = partition,
	    .offset = offset,
	    .timestamp_ms = T0 + offset * 1000,
	    .key = (char *)key,
	    .event_id = (char *)"",
	    .code = (char *)code,
	    .message = (char *)"it failed",
	    .source_topic = (char *)"erp.customers",
	    .source_partition = 2,
	    .source_offset = src_offset,
	    .failed_at = (char *)"",
	};
}

static struct replay_plan *plan_with(const struct dlq_filter *f, int force)
{
	static const struct scan_range r[] = {
	    {.partition = 0, .start = 10, .end = 20},
	    {.partition = 1, .start = 5, .end = 5}, /* nothing to read */
	};
	struct replay_plan *p = replay_plan_new(f, force);

	assert_non_null(p);
	assert_int_equal(replay_plan_ranges(p, r, 2), 0);
	return p;
}

static void note(struct replay_plan *p, const char *key, const char *json)
{
	cJSON *o = cJSON_Parse(json);

	assert_non_null(o);
	assert_int_equal(replay_plan_note_outcome(p, key, o), 0);
	cJSON_Delete(o);
}

static enum replay_verdict judge(struct replay_plan *p,
                                 const struct dead_letter *dl,
                                 struct replay_item *it)
{
	return replay_plan_judge(p, dl->partition, dl->offset, dl, it);
}

/* ---- pass 1: the filters select ---- */

static void test_select(void **state)
{
	struct dlq_filter f = {.code = "validation", .since_ms = T0 + 12000};
	struct replay_plan *p = plan_with(&f, 0);
	struct dead_letter a = dl_at(0, 11, "K1", "validation", 1);
	struct dead_letter b = dl_at(0, 12, "K2", "validation", 2);
	struct dead_letter c = dl_at(0, 13, "K3", "forbidden", 3);
	struct dead_letter d = dl_at(0, 14, "K4", "validation", 4);
	int64_t earliest = -1;

	(void)state;
	assert_int_equal(replay_plan_selected(p, &earliest), 0);
	assert_int_equal(earliest, 0);
	/* too old (--since), the wrong --code, two selected */
	assert_int_equal(replay_plan_select(p, &a), 0);
	assert_int_equal(replay_plan_select(p, &c), 0);
	assert_int_equal(replay_plan_select(p, &d), 0);
	assert_int_equal(replay_plan_select(p, &b), 0);
	assert_int_equal(replay_plan_selected(p, &earliest), 2);
	assert_int_equal(earliest, T0 + 12000);
	/* Only the selected keys' outcomes are read in pass 2. */
	assert_true(replay_plan_wants_key(p, "K2"));
	assert_true(replay_plan_wants_key(p, "K4"));
	assert_false(replay_plan_wants_key(p, "K1"));
	assert_false(replay_plan_wants_key(p, "K3"));
	replay_plan_free(p);
}

/* ---- the loop meets each dead letter ---- */

static void test_judge(void **state)
{
	struct dlq_filter f = {.key = "K1"};
	struct replay_plan *p = plan_with(&f, 0);
	struct dead_letter sync = dl_at(0, 12, "K1", "validation", 40);
	struct dead_letter other = dl_at(0, 13, "K2", "validation", 41);
	struct replay_item it;

	(void)state;
	/* Outside the range seen at start: not this run's. */
	assert_int_equal(replay_plan_judge(p, 0, 9, &sync, &it),
	                 REPLAY_BEYOND);
	assert_int_equal(replay_plan_judge(p, 0, 20, &sync, &it),
	                 REPLAY_BEYOND);
	assert_int_equal(replay_plan_judge(p, 3, 12, &sync, &it),
	                 REPLAY_BEYOND);
	assert_false(replay_plan_in_range(p, 0, 20));
	assert_true(replay_plan_in_range(p, 0, 19));
	/* In range but not a dead letter: done, nothing to do. */
	assert_int_equal(replay_plan_judge(p, 0, 15, NULL, &it), REPLAY_DONE);

	sync.replay_count = 2;
	assert_int_equal(judge(p, &sync, &it), REPLAY_SYNC);
	assert_int_equal(it.verdict, REPLAY_SYNC);
	assert_string_equal(it.source_topic, "erp.customers");
	assert_int_equal(it.source_partition, 2);
	assert_int_equal(it.source_offset, 40);
	assert_int_equal(it.count, 3); /* this replay included */
	assert_null(it.stale_reason);
	replay_item_done(&it);

	/* Without a source position there is none to speak of. */
	sync.source_topic = NULL;
	sync.replay_count = 0;
	assert_int_equal(judge(p, &sync, &it), REPLAY_SYNC);
	assert_null(it.source_topic);
	assert_int_equal(it.count, 1);
	replay_item_done(&it);

	/* Not selected by --key: passed over. */
	assert_int_equal(judge(p, &other, &it), REPLAY_PASS);
	replay_item_done(&it);

	/* Already replayed: an outcome names this dead letter. */
	note(p, "K1",
	     "{\"status\":\"failed\",\"source\":{\"topic\":\"erp.customers\","
	     "\"partition\":2,\"offset\":40},\"replay\":{\"dead_letter\":"
	     "{\"partition\":0,\"offset\":12},\"count\":1}}");
	sync = dl_at(0, 12, "K1", "validation", 40);
	assert_int_equal(judge(p, &sync, &it), REPLAY_DONE);
	replay_item_done(&it);
	assert_string_equal(replay_verdict_str(REPLAY_STALE), "stale");
	assert_string_equal(replay_verdict_str(REPLAY_VERDICT_MAX), "?");
	replay_plan_free(p);
}

/* ---- the stale check ---- */

static void test_stale(void **state)
{
	struct replay_plan *p = plan_with(NULL, 0);
	struct replay_plan *forced = plan_with(NULL, 1);
	struct dead_letter dl = dl_at(0, 11, "K1", "validation", 40);
	static const char later[] =
	    "{\"status\":\"applied\",\"source\":{\"topic\":"
	    "\"erp.customers\",\"partition\":2,\"offset\":41}}";
	struct replay_item it;

	(void)state;
	/* Outcomes that say nothing of a later change of the key. */
	note(p, "K1",
	     "{\"status\":\"failed\",\"source\":{\"topic\":\"erp.customers\","
	     "\"partition\":2,\"offset\":99}}");
	note(p, "K1",
	     "{\"status\":\"applied\",\"source\":{\"topic\":\"erp.customers\","
	     "\"partition\":3,\"offset\":99}}");
	note(p, "K1",
	     "{\"status\":\"applied\",\"source\":{\"topic\":\"erp.other\","
	     "\"partition\":2,\"offset\":99}}");
	note(p, "K1",
	     "{\"status\":\"unchanged\",\"source\":{\"topic\":"
	     "\"erp.customers\",\"partition\":2,\"offset\":40}}");
	note(p, "K1",
	     "{\"status\":\"applied\",\"source\":{\"topic\":\"erp.customers\","
	     "\"partition\":2,\"offset\":1e300}}");
	note(p, "K9", later);
	assert_int_equal(judge(p, &dl, &it), REPLAY_SYNC);
	replay_item_done(&it);

	/* A later change of the same key and source partition applied. */
	note(p, "K1", later);
	assert_int_equal(judge(p, &dl, &it), REPLAY_STALE);
	assert_non_null(it.stale_reason);
	assert_non_null(strstr(it.stale_reason, "later change of key K1"));
	assert_non_null(strstr(it.stale_reason, "offset 41"));
	replay_item_done(&it);

	/* --force replays it anyway. */
	note(forced, "K1", later);
	assert_int_equal(judge(forced, &dl, &it), REPLAY_SYNC);
	replay_item_done(&it);

	/* A stale skip settles nothing: the dead letter is not "already
	 * replayed" for a later --force. */
	note(forced, "K1",
	     "{\"status\":\"skipped\",\"error\":{\"code\":\"stale\"},"
	     "\"source\":{\"topic\":\"erp.customers\",\"partition\":2,"
	     "\"offset\":40},\"replay\":{\"dead_letter\":{\"partition\":0,"
	     "\"offset\":11},\"count\":1}}");
	assert_int_equal(judge(forced, &dl, &it), REPLAY_SYNC);
	replay_item_done(&it);
	replay_plan_free(p);
	replay_plan_free(forced);
}

/* ---- what may be committed ---- */

static void test_progress(void **state)
{
	struct dlq_filter f = {.code = "validation"};
	struct replay_plan *p = plan_with(&f, 0);
	struct dead_letter pass = dl_at(0, 14, "K2", "forbidden", 2);
	struct dead_letter pass2 = dl_at(0, 12, "K3", "forbidden", 3);
	struct replay_item it;
	int32_t parts[2];
	int64_t offs[2];

	(void)state;
	/* Only partitions with something to read are assigned. */
	assert_int_equal(replay_plan_n_ranges(p), 2);
	assert_int_equal(replay_plan_assignment(p, parts, offs), 1);
	assert_int_equal(parts[0], 0);
	assert_int_equal(offs[0], 10);
	/* Partition 1 is empty, so done from the start; 0 is not. */
	assert_false(replay_plan_finished(p));

	assert_int_equal(replay_plan_progress(p, 0, 13), 13);
	assert_int_equal(replay_plan_progress(p, 7, 13), -1);
	/* A dead letter passed over holds the commit back at itself... */
	assert_int_equal(judge(p, &pass, &it), REPLAY_PASS);
	replay_item_done(&it);
	assert_int_equal(replay_plan_progress(p, 0, 16), 14);
	/* ... and the earliest one counts. */
	assert_int_equal(judge(p, &pass2, &it), REPLAY_PASS);
	replay_item_done(&it);
	assert_int_equal(replay_plan_progress(p, 0, 18), 12);
	assert_false(replay_plan_finished(p));
	/* Reading on to the end finishes the run all the same. */
	assert_int_equal(replay_plan_progress(p, 0, 20), 12);
	assert_true(replay_plan_finished(p));
	replay_plan_free(p);
}

static void test_stale_holds_progress(void **state)
{
	struct replay_plan *p = plan_with(NULL, 0);
	struct dead_letter dl = dl_at(0, 15, "K1", "validation", 40);
	struct replay_item it;

	(void)state;
	note(p, "K1",
	     "{\"status\":\"applied\",\"source\":{\"topic\":\"erp.customers\","
	     "\"partition\":2,\"offset\":50}}");
	assert_int_equal(judge(p, &dl, &it), REPLAY_STALE);
	replay_item_done(&it);
	/* Kept for `replay --force`: never consumed for good. */
	assert_int_equal(replay_plan_progress(p, 0, 20), 15);
	replay_plan_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_judge),
	    cmocka_unit_test(test_stale),
	    cmocka_unit_test(test_progress),
	    cmocka_unit_test(test_stale_holds_progress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
