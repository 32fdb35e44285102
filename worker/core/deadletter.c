#include "core/deadletter.h"

#include "config/config.h"
#include "core/event.h"
#include "core/outcome.h"
#include "core/sync.h"
#include "lib/clock.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The one list of the header names: the writer below and the reader
 * further down both take them from here. */
static const char *const header_names[DEAD_LETTER_HEADER_MAX] = {
    [DL_HDR_ERROR_CODE] = "custsync.error.code",
    [DL_HDR_ERROR_MESSAGE] = "custsync.error.message",
    [DL_HDR_ERROR_HTTP_STATUS] = "custsync.error.http_status",
    [DL_HDR_SOURCE_TOPIC] = "custsync.source.topic",
    [DL_HDR_SOURCE_PARTITION] = "custsync.source.partition",
    [DL_HDR_SOURCE_OFFSET] = "custsync.source.offset",
    [DL_HDR_ATTEMPTS] = "custsync.attempts",
    [DL_HDR_EVENT_ID] = "custsync.event_id",
    [DL_HDR_FAILED_AT] = "custsync.failed_at",
    [DL_HDR_REPLAY_COUNT] = DLQ_HEADER_REPLAY_COUNT,
};

const char *dead_letter_header_name(enum dead_letter_header_id id)
{
	if ((int)id < 0 || id >= DEAD_LETTER_HEADER_MAX)
		return NULL;
	return header_names[id];
}

/* ---- writing ---- */

int dead_letter_headers(const struct sync_job *j,
                        const struct outcome_source *s,
                        struct dead_letter_header out[DEAD_LETTER_HEADER_MAX])
{
	int n =
	    s->redeliveries > 0 ? DEAD_LETTER_HEADER_MAX : DL_HDR_REPLAY_COUNT;

	for (int i = 0; i < n; i++) {
		out[i].name = header_names[i];
		out[i].value[0] = '\0';
	}
#define VALUE(id) out[id].value, sizeof(out[id].value)
	snprintf(VALUE(DL_HDR_ERROR_CODE), "%s",
	         j->err_code ? j->err_code : "");
	snprintf(VALUE(DL_HDR_ERROR_MESSAGE), "%s", j->err_msg);
	/* Present but empty for local errors: no HTTP status to report. */
	if (j->err_http_status > 0)
		snprintf(VALUE(DL_HDR_ERROR_HTTP_STATUS), "%ld",
		         j->err_http_status);
	snprintf(VALUE(DL_HDR_SOURCE_TOPIC), "%s", s->topic);
	snprintf(VALUE(DL_HDR_SOURCE_PARTITION), "%d", (int)s->partition);
	snprintf(VALUE(DL_HDR_SOURCE_OFFSET), "%lld", (long long)s->offset);
	snprintf(VALUE(DL_HDR_ATTEMPTS), "%d", j->attempts);
	snprintf(VALUE(DL_HDR_EVENT_ID), "%s", s->event_id ? s->event_id : "");
	/* Empty, like a missing HTTP status, if the clock is not set. */
	outcome_time(s->finished_at_ms, VALUE(DL_HDR_FAILED_AT));
	if (n > DL_HDR_REPLAY_COUNT)
		snprintf(VALUE(DL_HDR_REPLAY_COUNT), "%d", s->redeliveries);
#undef VALUE
	return n;
}

void dead_letter_add_headers(rd_kafka_headers_t *hs, const struct sync_job *j,
                             const struct outcome_source *s)
{
	struct dead_letter_header h[DEAD_LETTER_HEADER_MAX];
	int n = dead_letter_headers(j, s, h);

	for (int i = 0; i < n; i++)
		rd_kafka_header_add(hs, h[i].name, -1, h[i].value, -1);
}

/* ---- reading ---- */

/* The last occurrence of a header as a string ("" when absent or empty);
 * NULL only when memory ran out. */
static char *header(rd_kafka_headers_t *hs, const char *name, int *present)
{
	const void *v = NULL;
	size_t len = 0;
	char *s;

	if (present)
		*present = 0;
	if (hs && rd_kafka_header_get_last(hs, name, &v, &len) ==
	              RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (present)
			*present = 1;
	} else {
		v = NULL;
		len = 0;
	}
	s = malloc(len + 1);
	if (!s)
		return NULL;
	if (len)
		memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

/* Header numbers are plain decimal (dead-letter.md): anything else,
 * an empty value or one above max is dflt. */
static long long header_num(rd_kafka_headers_t *hs, const char *name,
                            long long dflt, long long max)
{
	const void *v;
	size_t len;
	long long n = 0;

	if (!hs || rd_kafka_header_get_last(hs, name, &v, &len) || !v ||
	    len == 0 || len > 18)
		return dflt;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = ((const unsigned char *)v)[i];

		if (c < '0' || c > '9')
			return dflt;
		n = n * 10 + (c - '0');
	}
	return n <= max ? n : dflt;
}

/* The key the event's outcome carries: the parsed event's, else the Kafka
 * key as text (as worker.c names events it cannot parse). */
static char *outcome_key(const struct config *cfg,
                         const struct dead_letter_record *r)
{
	struct change ch = {0};
	struct event_error perr;
	const struct event_options opt = event_options_of(cfg);
	char *key = NULL;

	if (event_parse_with(r->value, r->value_len, r->key, r->key_len, "-",
	                     &opt, &ch, &perr) == 0 &&
	    ch.key)
		key = strdup(ch.key);
	else
		key = event_key_with(r->key, r->key_len, &opt);
	change_done(&ch);
	return key ? key : strdup("");
}

int dead_letter_parse(const struct config *cfg,
                      const struct rd_kafka_message_s *m,
                      struct dead_letter *dl)
{
	rd_kafka_headers_t *hs = NULL;
	rd_kafka_timestamp_type_t tt;
	struct dead_letter_record r;

	memset(dl, 0, sizeof(*dl));
	if (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	r.headers = hs;
	r.partition = m->partition;
	r.offset = m->offset;
	r.timestamp_ms = rd_kafka_message_timestamp(m, &tt);
	r.value = m->payload;
	r.value_len = m->len;
	r.key = m->key;
	r.key_len = m->key_len;
	return dead_letter_parse_record(cfg, &r, dl);
}

int dead_letter_parse_record(const struct config *cfg,
                             const struct dead_letter_record *r,
                             struct dead_letter *dl)
{
	rd_kafka_headers_t *hs = r->headers;
	int is_dl = 0, has_src = 0;

	memset(dl, 0, sizeof(*dl));
	dl->code = header(hs, header_names[DL_HDR_ERROR_CODE], &is_dl);
	if (!is_dl || !dl->code) {
		dead_letter_done(dl);
		return -1;
	}
	dl->partition = r->partition;
	dl->offset = r->offset;
	dl->timestamp_ms = r->timestamp_ms;
	dl->message = header(hs, header_names[DL_HDR_ERROR_MESSAGE], NULL);
	dl->http_status = (long)header_num(
	    hs, header_names[DL_HDR_ERROR_HTTP_STATUS], 0, 999);
	dl->source_topic =
	    header(hs, header_names[DL_HDR_SOURCE_TOPIC], &has_src);
	dl->source_partition = (int32_t)header_num(
	    hs, header_names[DL_HDR_SOURCE_PARTITION], -1, INT32_MAX);
	dl->source_offset =
	    header_num(hs, header_names[DL_HDR_SOURCE_OFFSET], -1, INT64_MAX);
	dl->attempts =
	    (int)header_num(hs, header_names[DL_HDR_ATTEMPTS], 0, INT_MAX);
	dl->event_id = header(hs, header_names[DL_HDR_EVENT_ID], NULL);
	dl->failed_at = header(hs, header_names[DL_HDR_FAILED_AT], NULL);
	dl->replay_count =
	    (int)header_num(hs, header_names[DL_HDR_REPLAY_COUNT], 0, INT_MAX);
	dl->key = outcome_key(cfg, r);
	if (!dl->message || !dl->event_id || !dl->failed_at || !dl->key ||
	    !dl->source_topic) {
		dead_letter_done(dl); /* out of memory */
		return -1;
	}
	/* Without all three there is no source position to speak of. */
	if (!has_src || dl->source_partition < 0 || dl->source_offset < 0) {
		free(dl->source_topic);
		dl->source_topic = NULL;
		dl->source_partition = -1;
		dl->source_offset = -1;
	}
	return 0;
}

void dead_letter_done(struct dead_letter *dl)
{
	free(dl->key);
	free(dl->event_id);
	free(dl->code);
	free(dl->message);
	free(dl->source_topic);
	free(dl->failed_at);
	memset(dl, 0, sizeof(*dl));
}

int dlq_filter_match(const struct dlq_filter *f, const struct dead_letter *dl)
{
	if (f->code && strcmp(f->code, dl->code) != 0)
		return 0;
	if (f->key && strcmp(f->key, dl->key) != 0)
		return 0;
	if (f->since_ms > 0 && dl->timestamp_ms < f->since_ms)
		return 0;
	return 1;
}

static int parse_duration(const char *s, int64_t *ms)
{
	char *end;
	long long n;
	int64_t unit;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (end[0]) {
	case 's':
		unit = 1000;
		break;
	case 'm':
		unit = 60 * 1000;
		break;
	case 'h':
		unit = 3600 * 1000;
		break;
	case 'd':
		unit = 86400 * 1000;
		break;
	default:
		return -1;
	}
	if (n > INT64_MAX / unit)
		return -1;
	*ms = n * unit;
	return 0;
}

/* n digits at *p, advancing it; -1 when they are not all digits. */
static int digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): no time zone or libc state involved. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
	                           31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return days[m - 1] + (m == 2 && leap);
}

/* YYYY-MM-DD[THH:MM:SS[.mmm]Z], UTC, exactly so. */
static int parse_iso(const char *s, int64_t *out_ms)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;

	y = digits(&p, 4);
	if (y < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 ||
	    *p++ != '-' || (d = digits(&p, 2)) < 1 || d > month_days(y, mo))
		return -1;
	if (*p == 'T') {
		p++;
		if ((h = digits(&p, 2)) < 0 || h > 23 || *p++ != ':' ||
		    (mi = digits(&p, 2)) < 0 || mi > 59 || *p++ != ':' ||
		    (sec = digits(&p, 2)) < 0 || sec > 59)
			return -1;
		if (*p == '.') {
			p++;
			if ((ms = digits(&p, 3)) < 0)
				return -1;
		}
		if (*p++ != 'Z')
			return -1;
	}
	if (*p)
		return -1;
	*out_ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
	          sec * 1000 + ms;
	return 0;
}

int dlq_parse_since(const char *s, int64_t now_ms, int64_t *out_ms)
{
	int64_t d;

	if (!s || !*s)
		return -1;
	if (parse_duration(s, &d) == 0)
		d = now_ms - d;
	else if (parse_iso(s, &d))
		return -1;
	/* Before 1970: no record can be that old, so it is a typo. */
	if (d < 0)
		return -1;
	*out_ms = d;
	return 0;
}

int dlq_filter_option(int c, const char *arg, const char **config,
                      struct dlq_filter *f)
{
	switch (c) {
	case 'c':
		*config = arg;
		return 1;
	case DLQ_OPT_CODE:
		if (!arg[0]) {
			fprintf(stderr, "custsync: --code needs an error code "
			                "such as validation or forbidden\n");
			return -1;
		}
		f->code = arg;
		return 1;
	case DLQ_OPT_KEY:
		f->key = arg;
		return 1;
	case DLQ_OPT_SINCE:
		if (dlq_parse_since(arg, clock_wall_ms(), &f->since_ms) == 0)
			return 1;
		fprintf(stderr,
		        "custsync: --since '%s': expected a time such as "
		        "2026-11-23T10:00:00Z or 2026-11-23, or a duration "
		        "such as 90s, 15m, 2h, 7d\n",
		        arg);
		return -1;
	default:
		return 0;
	}
}
