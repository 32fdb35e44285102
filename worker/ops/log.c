#include "ops/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int max_level = LOG_INFO;
static int as_json;
static int journal = -1;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

int log_level_parse(const char *name)
{
	for (int i = 0; i < 8; i++)
		if (name && strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void log_setup(const char *level, int json)
{
	int l = log_level_parse(level);

	if (l >= 0)
		max_level = l;
	as_json = json;
}

int log_enabled(int level)
{
	return level <= max_level;
}

static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void log_msg(int level, const char *fmt, ...)
{
	char line[2048], when[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal && !as_json) {
		/* journald stamps lines itself. */
		fprintf(stderr, "<%d>%s\n", level & 7, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when),
	         as_json ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
	if (!as_json) {
		fprintf(stderr, "%s.%03ld %-7s %s\n", when,
		        ts.tv_nsec / 1000000, level_names[level & 7], line);
		return;
	}
	fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"",
	        when, ts.tv_nsec / 1000000, level_names[level & 7]);
	json_escape(stderr, line);
	fputs("\"}\n", stderr);
}
