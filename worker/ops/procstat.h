/* The numbers behind the process_* metrics of the Prometheus client
 * libraries, read from /proc (Linux) and getrlimit at scrape time.
 * /proc text is outside input: the parsers are pure so that tests give
 * them the odd cases (a program name with spaces and parentheses, cut or
 * overflowing fields). */
#ifndef CUSTSYNC_PROCSTAT_H
#define CUSTSYNC_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* /proc/self/stat's fields that the metrics use, in the kernel's units. */
struct procstat_stat {
	uint64_t utime, stime; /* clock ticks */
	uint64_t starttime;    /* clock ticks after boot */
	uint64_t vsize;        /* bytes */
	uint64_t rss;          /* pages */
};

/* Each value with whether it could be read: a part that fails is left
 * out of the scrape, the others stay. */
struct procstat {
	bool have_stat; /* cpu_seconds, virtual_bytes, resident_bytes */
	double cpu_seconds;
	uint64_t virtual_bytes, resident_bytes;
	bool have_start;
	double start_time_s; /* since the epoch */
	bool have_open_fds;
	uint64_t open_fds;
	bool have_max_fds;
	double max_fds; /* +Inf without a limit */
};

/* /proc/PID/stat's text (len bytes, no NUL needed). 0, or -EINVAL. */
int procstat_parse_stat(const char *text, size_t len,
                        struct procstat_stat *out);

/* One line of /proc/stat: 0 with *btime (seconds since the epoch) for
 * "btime N", -ENOENT for another line, -EINVAL for a bad btime. */
int procstat_parse_btime(const char *line, uint64_t *btime);

/* /proc/thread-self/schedstat's text (len bytes, no NUL needed): time on
 * a CPU, time waiting for one (ns), timeslices. 0 with *wait_ns, or
 * -EINVAL. */
int procstat_parse_schedstat(const char *text, size_t len, uint64_t *wait_ns);

/* The calling thread's schedstat, kept open (pread from 0 rereads it):
 * a file descriptor, or -1 when the kernel has none (no
 * CONFIG_SCHED_INFO). */
int procstat_open_schedstat(void);

/* The time the thread of fd has waited for a CPU since it started. 0,
 * or a negative errno (fd < 0 included). */
int procstat_cpu_wait_us(int fd, int64_t *wait_us);

/* Fills every part it can read; the rest stays have_* false. */
void procstat_read(struct procstat *out);

#endif
