#include "ops/procstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* /proc/self/stat is about 300 bytes: a file that fills this is not
 * the one the parser knows, and is not read at all. */
#define PROCSTAT_MAX_STAT 4096

/* Fields of proc(5)'s /proc/PID/stat, counted from 1 (pid). */
enum {
	FIELD_STATE = 3,
	FIELD_UTIME = 14,
	FIELD_STIME = 15,
	FIELD_STARTTIME = 22,
	FIELD_VSIZE = 23,
	FIELD_RSS = 24,
};

/* A decimal number at *p, up to end, ending at a space, a newline or
 * end. Negative numbers are skipped over (some fields are signed) but
 * refused for want: 0, or -EINVAL. */
static int number(const char **p, const char *end, bool want, uint64_t *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t v = 0;

	if (s < end && *s == '-') {
		neg = true;
		s++;
	}
	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (s < end && *s != ' ' && *s != '\n')
		return -EINVAL;
	if (want && neg)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

int procstat_parse_stat(const char *text, size_t len,
                        struct procstat_stat *out)
{
	const char *end = text + len, *p = NULL;
	struct procstat_stat st = {0};

	/* comm, the second field, is the program's name in parentheses and
	 * may itself hold ") ": the fields start after the last ')'. */
	for (const char *q = text; q < end; q++)
		if (*q == ')')
			p = q + 1;
	if (!p || end - p < 3 || p[0] != ' ' || p[1] == ' ' || p[2] != ' ')
		return -EINVAL;
	p += 2; /* at the space after the state */
	for (int field = FIELD_STATE + 1; field <= FIELD_RSS; field++) {
		uint64_t v;
		bool want = field == FIELD_UTIME || field == FIELD_STIME ||
		            field == FIELD_STARTTIME || field == FIELD_VSIZE ||
		            field == FIELD_RSS;

		if (p == end || *p != ' ')
			return -EINVAL;
		p++;
		if (number(&p, end, want, &v))
			return -EINVAL;
		if (field == FIELD_UTIME)
			st.utime = v;
		else if (field == FIELD_STIME)
			st.stime = v;
		else if (field == FIELD_STARTTIME)
			st.starttime = v;
		else if (field == FIELD_VSIZE)
			st.vsize = v;
		else if (field == FIELD_RSS)
			st.rss = v;
	}
	*out = st;
	return 0;
}

int procstat_parse_btime(const char *line, uint64_t *btime)
{
	const char *p = line + 6, *end;
	uint64_t v;

	if (strncmp(line, "btime ", 6) != 0)
		return -ENOENT;
	end = p + strlen(p);
	if (number(&p, end, true, &v) || v == 0 ||
	    (p < end && strcmp(p, "\n") != 0))
		return -EINVAL;
	*btime = v;
	return 0;
}

int procstat_parse_schedstat(const char *text, size_t len, uint64_t *wait_ns)
{
	const char *p = text, *end = text + len;
	uint64_t run, wait;

	if (number(&p, end, true, &run) || p == end || *p != ' ')
		return -EINVAL;
	p++;
	if (number(&p, end, true, &wait))
		return -EINVAL;
	*wait_ns = wait;
	return 0;
}

int procstat_open_schedstat(void)
{
	return open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
}

int procstat_cpu_wait_us(int fd, int64_t *wait_us)
{
	char buf[128];
	ssize_t r;
	uint64_t ns;

	if (fd < 0)
		return -EBADF;
	r = pread(fd, buf, sizeof(buf), 0);
	if (r <= 0)
		return r < 0 ? -errno : -EINVAL;
	if (procstat_parse_schedstat(buf, (size_t)r, &ns))
		return -EINVAL;
	*wait_us = (int64_t)(ns / 1000 > INT64_MAX ? INT64_MAX : ns / 1000);
	return 0;
}

/* The whole file, or -EFBIG when it does not fit in cap - 1 bytes. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -errno;
	while (n < cap - 1) {
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (r < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	if (n == cap - 1)
		return -EFBIG;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* /proc/stat's btime. The file can be long (an intr line of thousands of
 * numbers), so it is read in bounded pieces; a piece counts as a line
 * only when the one before it ended one. */
static int boot_time(uint64_t *btime)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	bool at_start = true;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (rc == -ENOENT && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (at_start)
			rc = procstat_parse_btime(line, btime);
		at_start = n > 0 && line[n - 1] == '\n';
	}
	fclose(f);
	return rc;
}

/* Entries of /proc/self/fd, without the one that reads it. */
static int open_fds(uint64_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char self[16];
	uint64_t count = 0;

	if (!d)
		return -errno;
	snprintf(self, sizeof(self), "%d", dirfd(d));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, self) != 0)
			count++;
	closedir(d);
	*n = count;
	return 0;
}

void procstat_read(struct procstat *out)
{
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct procstat_stat st;
	struct rlimit rl;
	char buf[PROCSTAT_MAX_STAT];
	uint64_t btime = 0; /* GCC -O2 cannot see boot_time() sets it */
	ssize_t n;

	memset(out, 0, sizeof(*out));
	n = read_small("/proc/self/stat", buf, sizeof(buf));
	if (n > 0 && ticks > 0 && page > 0 &&
	    procstat_parse_stat(buf, (size_t)n, &st) == 0 &&
	    st.rss <= UINT64_MAX / (uint64_t)page) {
		out->have_stat = true;
		out->cpu_seconds =
		    ((double)st.utime + (double)st.stime) / (double)ticks;
		out->virtual_bytes = st.vsize;
		out->resident_bytes = st.rss * (uint64_t)page;
		if (boot_time(&btime) == 0) {
			out->have_start = true;
			out->start_time_s =
			    (double)btime +
			    (double)st.starttime / (double)ticks;
		}
	}
	out->have_open_fds = open_fds(&out->open_fds) == 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		out->have_max_fds = true;
		out->max_fds = rl.rlim_cur == RLIM_INFINITY
		                   ? INFINITY
		                   : (double)rl.rlim_cur;
	}
}
