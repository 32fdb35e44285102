/* worker/ops/procstat.c: /proc text as the kernel writes it, and as it
 * must not be trusted. */
#include "ops/procstat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Fields 3 to 52 of a real custsync's /proc/PID/stat: state S,
 * utime 1234, stime 56, a negative nice (-5), starttime 987654,
 * vsize 123456789 and rss 4567 pages. */
#define TAIL                                                                  \
	"S 1 4242 4242 0 -1 4194560 5000 0 2 0 1234 56 0 0 20 -5 3 0 "        \
	"987654 123456789 4567 18446744073709551615 1 1 0 0 0 0 0 4096 "      \
	"17922 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

static int parse(const char *text, struct procstat_stat *st)
{
	memset(st, 0xab, sizeof(*st));
	return procstat_parse_stat(text, strlen(text), st);
}

static void test_stat_fields(void **state)
{
	struct procstat_stat st;

	(void)state;
	assert_int_equal(parse("4242 (custsync) " TAIL, &st), 0);
	assert_int_equal(st.utime, 1234);
	assert_int_equal(st.stime, 56);
	assert_int_equal(st.starttime, 987654);
	assert_int_equal(st.vsize, 123456789);
	assert_int_equal(st.rss, 4567);
}

/* The program name is anyone's choice (prctl, argv[0]): spaces and
 * parentheses in it must not move the fields. */
static void test_stat_odd_names(void **state)
{
	struct procstat_stat st;

	(void)state;
	assert_int_equal(parse("4242 (a) b) 1 2 3) " TAIL, &st), 0);
	assert_int_equal(st.starttime, 987654);
	assert_int_equal(parse("4242 () " TAIL, &st), 0);
	assert_int_equal(st.rss, 4567);
	assert_int_equal(parse("4242 ((() " TAIL, &st), 0);
	assert_int_equal(st.utime, 1234);
}

static void test_stat_refused(void **state)
{
	struct procstat_stat st;
	char big[600];

	(void)state;
	assert_int_equal(parse("", &st), -EINVAL);
	assert_int_equal(parse("4242 custsync S 1 2", &st), -EINVAL);
	assert_int_equal(parse("4242 (custsync)", &st), -EINVAL);
	assert_int_equal(parse("4242 (custsync) S", &st), -EINVAL);
	/* Cut before rss, and cut inside rss's field list. */
	assert_int_equal(parse("4242 (custsync) S 1 4242 4242 0 -1 4194560 "
	                       "5000 0 2 0 1234 56 0 0 20 -5 3 0 987654 "
	                       "123456789",
	                       &st),
	                 -EINVAL);
	/* Two spaces, a letter, a negative or an overflowing wanted field. */
	assert_int_equal(parse("4242 (c)  S 1 4242 4242 0 -1 4194560 5000 0 2 "
	                       "0 1234 56 0 0 20 -5 3 0 987654 1 2\n",
	                       &st),
	                 -EINVAL);
	assert_int_equal(parse("4242 (c) S 1 4242 4242 0 -1 4194560 5000 0 2 "
	                       "0 12x4 56 0 0 20 -5 3 0 987654 1 2\n",
	                       &st),
	                 -EINVAL);
	assert_int_equal(parse("4242 (c) S 1 4242 4242 0 -1 4194560 5000 0 2 "
	                       "0 -1234 56 0 0 20 -5 3 0 987654 1 2\n",
	                       &st),
	                 -EINVAL);
	assert_int_equal(parse("4242 (c) S 1 4242 4242 0 -1 4194560 5000 0 2 "
	                       "0 1234 56 0 0 20 -5 3 0 987654 1 "
	                       "18446744073709551616\n",
	                       &st),
	                 -EINVAL);
	assert_int_equal(parse("4242 (c) S 1 4242 4242 0 -1 4194560 5000 0 2 "
	                       "0 1234 56 0 0 20 - 3 0 987654 1 2\n",
	                       &st),
	                 -EINVAL);
	/* Only the first len bytes count: no NUL needed, none read past. */
	snprintf(big, sizeof(big), "4242 (custsync) %s", TAIL);
	assert_int_equal(procstat_parse_stat(big, 40, &st), -EINVAL);
	assert_int_equal(procstat_parse_stat(big, strlen(big), &st), 0);
	/* The largest value is taken whole. */
	assert_int_equal(parse("4242 (c) S 1 4242 4242 0 -1 4194560 5000 0 2 "
	                       "0 1234 56 0 0 20 -5 3 0 987654 "
	                       "18446744073709551615 2",
	                       &st),
	                 0);
	assert_true(st.vsize == UINT64_MAX);
}

static void test_btime(void **state)
{
	uint64_t b = 7;

	(void)state;
	assert_int_equal(procstat_parse_btime("btime 1764748800\n", &b), 0);
	assert_true(b == 1764748800u);
	assert_int_equal(procstat_parse_btime("btime 1764748800", &b), 0);
	assert_int_equal(procstat_parse_btime("ctxt 1234\n", &b), -ENOENT);
	assert_int_equal(procstat_parse_btime("btim 1\n", &b), -ENOENT);
	assert_int_equal(procstat_parse_btime("", &b), -ENOENT);
	assert_int_equal(procstat_parse_btime("btime \n", &b), -EINVAL);
	assert_int_equal(procstat_parse_btime("btime 0\n", &b), -EINVAL);
	assert_int_equal(procstat_parse_btime("btime -5\n", &b), -EINVAL);
	assert_int_equal(procstat_parse_btime("btime 12 13\n", &b), -EINVAL);
	assert_int_equal(
	    procstat_parse_btime("btime 99999999999999999999\n", &b), -EINVAL);
	assert_true(b == 1764748800u);
}

static void test_schedstat(void **state)
{
	uint64_t w = 7;
	int64_t us = -1;
	int fd;

	(void)state;
	assert_int_equal(procstat_parse_schedstat("12 345678 9\n", 12, &w), 0);
	assert_true(w == 345678u);
	/* Without the NUL or the rest: only the first two count. */
	assert_int_equal(procstat_parse_schedstat("12 34", 5, &w), 0);
	assert_true(w == 34u);
	assert_int_equal(procstat_parse_schedstat("12 34", 4, &w), 0);
	assert_true(w == 3u);
	assert_int_equal(procstat_parse_schedstat("12", 2, &w), -EINVAL);
	assert_int_equal(procstat_parse_schedstat("12 ", 3, &w), -EINVAL);
	assert_int_equal(procstat_parse_schedstat("x 1 2\n", 6, &w), -EINVAL);
	assert_int_equal(procstat_parse_schedstat("1 -2 3\n", 7, &w), -EINVAL);
	assert_int_equal(
	    procstat_parse_schedstat("1 99999999999999999999 3\n", 25, &w),
	    -EINVAL);
	assert_true(w == 3u);
	assert_true(procstat_cpu_wait_us(-1, &us) < 0);
	/* This thread's, for real, where the kernel keeps it. */
	fd = procstat_open_schedstat();
	if (fd >= 0) {
		assert_int_equal(procstat_cpu_wait_us(fd, &us), 0);
		assert_true(us >= 0);
		close(fd);
	}
}

/* This process, read for real: every part is there on Linux. */
static void test_read_self(void **state)
{
	struct procstat ps;
	struct rlimit rl;
	FILE *extra;
	uint64_t before;

	(void)state;
	procstat_read(&ps);
	assert_true(ps.have_stat && ps.have_start && ps.have_open_fds &&
	            ps.have_max_fds);
	assert_true(ps.resident_bytes > 0 &&
	            ps.virtual_bytes >= ps.resident_bytes);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_true(ps.max_fds == (double)rl.rlim_cur);
	before = ps.open_fds;
	extra = fopen("/proc/self/stat", "r");
	assert_non_null(extra);
	procstat_read(&ps);
	assert_true(ps.open_fds == before + 1);
	fclose(extra);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stat_fields),
	    cmocka_unit_test(test_stat_odd_names),
	    cmocka_unit_test(test_stat_refused),
	    cmocka_unit_test(test_btime),
	    cmocka_unit_test(test_schedstat),
	    cmocka_unit_test(test_read_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
