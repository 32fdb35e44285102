#include "ops/log.h"

#include "lib/num.h"
#include "lib/utf8.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int max_level = LOG_INFO;
static int as_json;
static int journal = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* A line longer than this is cut (and still closed, so it parses). */
#define LINE_MAX_BYTES 4096
#define LINE_TAIL      8 /* room kept for the closing "\"}\n" */

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
	int full;
	int closing; /* may use the tail room */
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

/* Appends n bytes whole or not at all, so a cut never splits an escape
 * or a UTF-8 sequence. */
static void put(struct line *l, const char *s, size_t n)
{
	size_t cap = sizeof(l->buf) - (l->closing ? 0 : LINE_TAIL);

	if ((l->full && !l->closing) || l->len + n > cap) {
		l->full = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putf(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(struct line *l, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(l, tmp,
		    (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The run of plain ASCII at p (no '"' or '\\' when quoted), the bulk
 * of every line, in one piece -> its length. Cut where the line is
 * full, as byte by byte: ASCII has no sequence to split. */
static size_t put_plain(struct line *l, const unsigned char *p, size_t n,
                        int quoted)
{
	size_t len = 0, room;

	while (len < n && p[len] >= 0x20 && p[len] < 0x7f &&
	       (!quoted || (p[len] != '"' && p[len] != '\\')))
		len++;
	room = sizeof(l->buf) - (l->closing ? 0 : LINE_TAIL) - l->len;
	if (len > room && !l->full)
		put(l, (const char *)p, room);
	put(l, (const char *)p, len);
	return len;
}

/* JSON string body: invalid UTF-8 becomes U+FFFD, so the line stays
 * valid JSON whatever an event key holds. */
static void put_json(struct line *l, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;

	while (n > 0) {
		if ((len = put_plain(l, p, n, 1))) {
			p += len;
			n -= len;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			char e[2] = {'\\', (char)*p};

			put(l, e, 2);
			len = 1;
		} else if (*p == '\n') {
			puts_(l, "\\n");
			len = 1;
		} else if (*p == '\t') {
			puts_(l, "\\t");
			len = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			putf(l, "\\u%04x", *p);
			len = 1;
		} else {
			len = utf8_char(p, n);
			if (len)
				put(l, (const char *)p, len);
			else {
				puts_(l, "\\ufffd");
				len = 1;
			}
		}
		p += len;
		n -= len;
	}
}

/* Text: control bytes and invalid UTF-8 as \xNN so one record stays on
 * one line; inside quotes, '"' and '\' are escaped too. */
static void put_text(struct line *l, const char *s, int quoted)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;

	while (n > 0) {
		if ((len = put_plain(l, p, n, quoted))) {
			p += len;
			n -= len;
			continue;
		}
		len = *p < 0x20 || *p == 0x7f ? 0 : utf8_char(p, n);
		if (quoted && (*p == '"' || *p == '\\')) {
			char e[2] = {'\\', (char)*p};

			put(l, e, 2);
			len = 1;
		} else if (len)
			put(l, (const char *)p, len);
		else {
			putf(l, "\\x%02x", *p);
			len = 1;
		}
		p += len;
		n -= len;
	}
}

static int needs_quotes(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!*p)
		return 1;
	for (; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p >= 0x7f)
			return 1;
	return 0;
}

static void put_num(struct line *l, long long v)
{
	char tmp[NUM_I64_LEN];

	put(l, tmp, num_i64(v, tmp));
}

static void put_field_(struct line *l, const struct log_field *f)
{
	if (as_json) {
		puts_(l, ",\"");
		put_json(l, f->key);
		puts_(l, "\":");
		if (!f->str) {
			put_num(l, f->num);
			return;
		}
		puts_(l, "\"");
		put_json(l, f->str);
		puts_(l, "\"");
		return;
	}
	puts_(l, " ");
	puts_(l, f->key);
	puts_(l, "=");
	if (!f->str)
		put_num(l, f->num);
	else if (needs_quotes(f->str)) {
		puts_(l, "\"");
		put_text(l, f->str, 1);
		puts_(l, "\"");
	} else
		put_text(l, f->str, 0);
}

/* A field that does not fit is left out whole, so the line still parses;
 * the ones after it are dropped too. */
static void put_field(struct line *l, const struct log_field *f)
{
	size_t before = l->len;

	put_field_(l, f);
	if (l->full)
		l->len = before;
}

static void emit(const struct line *l)
{
	const char *p = l->buf;
	size_t n = l->len;
	ssize_t w;

	/* One write per line: with O_APPEND or a pipe (journald, systemd)
	 * the line reaches the reader whole; the lock orders our own
	 * threads. */
	pthread_mutex_lock(&lock);
	while (n > 0) {
		w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	pthread_mutex_unlock(&lock);
}

void log_fields(int level, const char *msg, const struct log_field *f,
                size_t n)
{
	struct line l = {.len = 0};
	struct timespec ts;
	char when[NUM_TIME_LEN];
	char prefix[4] = {'<', '0', '>', 0};

	if (level > max_level)
		return;
	level &= 7;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal) {
		prefix[1] = (char)('0' + level);
		put(&l, prefix, 3);
	} else {
		/* 2026-11-22T10:00:01.123Z; the text format shows its
		 * time of day, 10:00:01.123. */
		clock_gettime(CLOCK_REALTIME, &ts);
		if (num_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		             when, sizeof(when)))
			memcpy(when, "0000-00-00T00:00:00.000Z", NUM_TIME_LEN);
	}
	if (as_json) {
		puts_(&l, "{");
		if (!journal) {
			puts_(&l, "\"ts\":\"");
			put(&l, when, NUM_TIME_LEN - 1);
			puts_(&l, "\",");
		}
		puts_(&l, "\"level\":\"");
		puts_(&l, level_names[level]);
		puts_(&l, "\",\"msg\":\"");
		put_json(&l, msg);
		l.closing = l.full; /* a cut message still ends its string */
		puts_(&l, "\"");
		l.closing = 0;
	} else {
		if (!journal) {
			put(&l, when + 11, 12);
			put(&l, " ", 1);
			/* The level padded to 7 and a space ("%-7s "). */
			puts_(&l, level_names[level]);
			put(&l, "        ", 8 - strlen(level_names[level]));
		}
		put_text(&l, msg, 0);
	}
	for (size_t i = 0; i < n; i++)
		put_field(&l, &f[i]);
	l.closing = 1;
	if (as_json)
		put(&l, "}", 1);
	put(&l, "\n", 1);
	emit(&l);
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_trim(msg);
	log_fields(level, msg, NULL, 0);
}
