/* worker/core/merge_patch.c: RFC 7396 apply (every example of Appendix A and
 * the one of section 3) and diff (exact patch, and apply(from, diff) ==
 * to). */
#include "core/merge_patch.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static cJSON *parse(const char *json)
{
	cJSON *j = cJSON_Parse(json);

	if (!j)
		fail_msg("test JSON does not parse: %s", json);
	return j;
}

/* Fails with both documents printed when they differ. */
static void assert_json_equal(const cJSON *got, const cJSON *want)
{
	char *g, *w;

	assert_non_null(got);
	if (cJSON_Compare(got, want, 1))
		return;
	g = cJSON_PrintUnformatted(got);
	w = cJSON_PrintUnformatted(want);
	fail_msg("got %s, want %s", g, w);
	free(g);
	free(w);
}

/* Inputs are left untouched: checked by printing them before and after. */
static char *snapshot(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : NULL;
}

static void assert_unchanged(const cJSON *j, char *before)
{
	char *after = snapshot(j);

	if (before || after)
		assert_string_equal(after, before);
	free(after);
	free(before);
}

struct apply_case {
	const char *target; /* NULL: absent */
	const char *patch;
	const char *result;
};

static void apply_case(void **state)
{
	const struct apply_case *tc = *state;
	cJSON *target = tc->target ? parse(tc->target) : NULL;
	cJSON *patch = parse(tc->patch);
	cJSON *want = parse(tc->result);
	char *t_before = snapshot(target), *p_before = snapshot(patch);
	cJSON *got = merge_patch_apply(target, patch);

	assert_json_equal(got, want);
	assert_unchanged(target, t_before);
	assert_unchanged(patch, p_before);
	cJSON_Delete(got);
	cJSON_Delete(want);
	cJSON_Delete(patch);
	cJSON_Delete(target);
}

/* RFC 7396 Appendix A, in its order, then section 3's example. */
static const struct apply_case rfc_cases[] = {
    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
     "{\"a\":{\"b\":\"d\"}}"},
    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
    {"{\"a\":\"foo\"}", "null", "null"},
    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    {"{\"title\":\"Goodbye!\","
     "\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
     "\"tags\":[\"example\",\"sample\"],"
     "\"content\":\"This will be unchanged\"}",
     "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
     "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
     "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},"
     "\"tags\":[\"example\"],\"content\":\"This will be unchanged\","
     "\"phoneNumber\":\"+01-123-456-7890\"}"},
};

/* Beyond the RFC's table: what sync.c relies on. */
static const struct apply_case more_apply_cases[] = {
    /* An absent target: the patch's nulls are dropped all the way
     * down (how a create record is made from a patch). */
    {NULL, "{\"a\":1,\"b\":null,\"c\":{\"d\":null,\"e\":2}}",
     "{\"a\":1,\"c\":{\"e\":2}}"},
    {NULL, "[1,null]", "[1,null]"},
    /* The empty patch changes nothing. */
    {"{\"a\":{\"b\":[1,2]}}", "{}", "{\"a\":{\"b\":[1,2]}}"},
    /* Removing what is not there. */
    {"{\"a\":1}", "{\"z\":null}", "{\"a\":1}"},
    /* Keys are case-sensitive. */
    {"{\"a\":1}", "{\"A\":2}", "{\"a\":1,\"A\":2}"},
    /* A scalar member replaced by an object that holds a null. */
    {"{\"a\":1}", "{\"a\":{\"b\":null,\"c\":3}}", "{\"a\":{\"c\":3}}"},
    /* Deep merge leaves siblings at every level. */
    {"{\"a\":{\"b\":{\"c\":1,\"d\":2},\"e\":3},\"f\":4}",
     "{\"a\":{\"b\":{\"c\":9}}}",
     "{\"a\":{\"b\":{\"c\":9,\"d\":2},\"e\":3},\"f\":4}"},
};

static void apply_without_patch(void **state)
{
	cJSON *target = parse("{\"a\":1}");
	cJSON *got;

	(void)state;
	/* A missing patch leaves a copy of the target. */
	got = merge_patch_apply(target, NULL);
	assert_json_equal(got, target);
	assert_ptr_not_equal(got, target);
	cJSON_Delete(got);
	assert_null(merge_patch_apply(NULL, NULL));
	cJSON_Delete(target);
}

/* The result owns its memory: changing it leaves the inputs alone. */
static void apply_result_is_a_copy(void **state)
{
	cJSON *target = parse("{\"a\":{\"b\":1},\"c\":[1]}");
	cJSON *patch = parse("{\"d\":{\"e\":2}}");
	cJSON *got = merge_patch_apply(target, patch);
	char *t_before = snapshot(target), *p_before = snapshot(patch);

	(void)state;
	assert_non_null(got);
	cJSON_DeleteItemFromObject(got, "a");
	cJSON_DeleteItemFromObject(got, "d");
	cJSON_Delete(got);
	assert_unchanged(target, t_before);
	assert_unchanged(patch, p_before);
	cJSON_Delete(target);
	cJSON_Delete(patch);
}

struct diff_case {
	const char *from; /* NULL: absent */
	const char *to;
	const char *diff;
};

static const struct diff_case diff_cases[] = {
    /* Equal documents: the empty patch. */
    {"{\"a\":1,\"b\":{\"c\":[1,2]}}", "{\"b\":{\"c\":[1,2]},\"a\":1}", "{}"},
    {"{}", "{}", "{}"},
    /* Changed and added members, equal ones left out. */
    {"{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":3,\"c\":\"x\"}",
     "{\"b\":3,\"c\":\"x\"}"},
    /* Removal is null. */
    {"{\"a\":1,\"b\":2}", "{\"a\":1}", "{\"b\":null}"},
    {"{\"a\":1}", "{}", "{\"a\":null}"},
    /* A null member of from that to lacks must still be removed. */
    {"{\"a\":null,\"b\":1}", "{\"b\":1}", "{\"a\":null}"},
    /* Nested objects: only the difference, at every depth. */
    {"{\"a\":{\"x\":1,\"y\":2},\"c\":1}",
     "{\"a\":{\"x\":1,\"y\":3,\"z\":4},\"c\":1}", "{\"a\":{\"y\":3,\"z\":4}}"},
    {"{\"a\":{\"x\":1,\"y\":2}}", "{\"a\":{\"x\":1}}", "{\"a\":{\"y\":null}}"},
    {"{\"a\":{\"b\":{\"c\":1,\"d\":2}},\"e\":1}",
     "{\"a\":{\"b\":{\"c\":1,\"d\":3}},\"e\":1}", "{\"a\":{\"b\":{\"d\":3}}}"},
    {"{\"a\":{\"x\":1}}", "{\"a\":{}}", "{\"a\":{\"x\":null}}"},
    /* Arrays are replaced whole, even for one changed element. */
    {"{\"a\":[1,2,3]}", "{\"a\":[1,2]}", "{\"a\":[1,2]}"},
    {"{\"a\":[{\"b\":1},{\"c\":2}]}", "{\"a\":[{\"b\":1},{\"c\":3}]}",
     "{\"a\":[{\"b\":1},{\"c\":3}]}"},
    {"{\"a\":[1,{\"b\":2}],\"c\":1}", "{\"a\":[1,{\"b\":2}],\"c\":2}",
     "{\"c\":2}"},
    /* Non-object replacement, both ways and between scalars. */
    {"{\"a\":{\"x\":1}}", "{\"a\":\"str\"}", "{\"a\":\"str\"}"},
    {"{\"a\":\"str\"}", "{\"a\":{\"x\":1}}", "{\"a\":{\"x\":1}}"},
    {"{\"a\":1}", "{\"a\":\"1\"}", "{\"a\":\"1\"}"},
    {"{\"a\":true}", "{\"a\":false}", "{\"a\":false}"},
    {"{\"a\":1}", "{\"a\":{}}", "{\"a\":{}}"},
    {"{\"a\":[1]}", "{\"a\":{\"b\":[1]}}", "{\"a\":{\"b\":[1]}}"},
    /* Keys are case-sensitive. */
    {"{\"a\":1}", "{\"A\":1}", "{\"a\":null,\"A\":1}"},
    /* Whole documents that are not both objects. */
    {"{\"a\":1}", "[1,2]", "[1,2]"},
    {"[1]", "{\"a\":1}", "{\"a\":1}"},
    {"\"x\"", "\"y\"", "\"y\""},
    {NULL, "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}"},
    /* Equal non-objects: {} would turn them into {}, so the patch is
     * the document itself. */
    {"[1,2]", "[1,2]", "[1,2]"},
    {"\"same\"", "\"same\"", "\"same\""},
    {"3", "3", "3"},
    /* RFC 7396 section 3, backwards: the diff is the RFC's patch. */
    {"{\"title\":\"Goodbye!\","
     "\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
     "\"tags\":[\"example\",\"sample\"],"
     "\"content\":\"This will be unchanged\"}",
     "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},"
     "\"tags\":[\"example\"],\"content\":\"This will be unchanged\","
     "\"phoneNumber\":\"+01-123-456-7890\"}",
     "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
     "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}"},
};

static void diff_case(void **state)
{
	const struct diff_case *tc = *state;
	cJSON *from = tc->from ? parse(tc->from) : NULL;
	cJSON *to = parse(tc->to);
	cJSON *want = parse(tc->diff);
	char *f_before = snapshot(from), *t_before = snapshot(to);
	cJSON *diff = merge_patch_diff(from, to);
	cJSON *round;

	assert_json_equal(diff, want);
	assert_unchanged(from, f_before);
	assert_unchanged(to, t_before);
	/* The patch does what it is for. */
	round = merge_patch_apply(from, diff);
	assert_json_equal(round, to);
	assert_int_equal(merge_patch_is_empty(diff),
	                 cJSON_IsObject(from) && cJSON_Compare(from, to, 1));
	cJSON_Delete(round);
	cJSON_Delete(diff);
	cJSON_Delete(want);
	cJSON_Delete(to);
	cJSON_Delete(from);
}

static void is_empty(void **state)
{
	static const struct {
		const char *json;
		bool empty;
	} cases[] = {
	    {"{}", true},          {"{\"a\":null}", false}, {"[]", false},
	    {"null", false},       {"\"\"", false},         {"0", false},
	    {"{\"a\":{}}", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = parse(cases[i].json);

		assert_int_equal(merge_patch_is_empty(j), cases[i].empty);
		cJSON_Delete(j);
	}
	assert_false(merge_patch_is_empty(NULL));
}

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	enum {
		N_RFC = N_ELEM(rfc_cases),
		N_MORE = N_ELEM(more_apply_cases),
		N_DIFF = N_ELEM(diff_cases),
		N_TESTS = N_RFC + N_MORE + N_DIFF + 3,
	};
	static char names[N_RFC + N_MORE + N_DIFF][32];
	struct CMUnitTest tests[N_TESTS];
	size_t n = 0;

	/* One test per case, named after its place in its table. */
	for (size_t i = 0; i < N_RFC; i++) {
		if (i + 1 < N_RFC)
			snprintf(names[n], sizeof(names[n]),
			         "rfc7396_appendix_a_%zu", i + 1);
		else
			snprintf(names[n], sizeof(names[n]),
			         "rfc7396_section_3");
		tests[n] = (struct CMUnitTest){names[n], apply_case, NULL,
		                               NULL, (void *)&rfc_cases[i]};
		n++;
	}
	for (size_t i = 0; i < N_MORE; i++) {
		snprintf(names[n], sizeof(names[n]), "apply_%zu", i + 1);
		tests[n] =
		    (struct CMUnitTest){names[n], apply_case, NULL, NULL,
		                        (void *)&more_apply_cases[i]};
		n++;
	}
	for (size_t i = 0; i < N_DIFF; i++) {
		snprintf(names[n], sizeof(names[n]), "diff_%zu", i + 1);
		tests[n] = (struct CMUnitTest){names[n], diff_case, NULL, NULL,
		                               (void *)&diff_cases[i]};
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(apply_without_patch);
	tests[n++] =
	    (struct CMUnitTest)cmocka_unit_test(apply_result_is_a_copy);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(is_empty);
	return _cmocka_run_group_tests("merge_patch", tests, n, NULL, NULL);
}
