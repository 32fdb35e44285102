#define _GNU_SOURCE
#include "edge/scan.h"

#include "config/config.h"
#include "edge/kafka.h"
#include "lib/clock.h"
#include "ops/log.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCAN_POLL_MS 100

struct scan_part {
	int32_t id;
	int64_t start, end;
	int done;
	/* The broker could not look the start up by time: records before
	 * the first one at or after since_ms are dropped here instead. */
	int drop_before_since;
};

struct scan {
	const struct scan_opts *o;
	rd_kafka_t *rk;
	struct scan_part *p;
	size_t n;
	size_t n_done;
	char last_error[256]; /* the client's latest complaint, for err */
	char *err;
	size_t errlen;
};

static int fail(struct scan *s, const char *fmt, const char *detail)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, detail);
	if (s->last_error[0])
		snprintf(s->err, s->errlen,
		         "topic %s: %s (last client error: "
		         "%s)",
		         s->o->topic, what, s->last_error);
	else
		snprintf(s->err, s->errlen, "topic %s: %s", s->o->topic, what);
	return -1;
}

/* Connection trouble surfaces here while a query waits; the query's own
 * timeout decides, this only makes the final message say why. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *op)
{
	struct scan *s = op;

	(void)rk;
	snprintf(s->last_error, sizeof(s->last_error), "%s", reason);
	log_kv(LOG_DEBUG, "scan kafka error",
	       LOG_S("code", rd_kafka_err2name(err)), LOG_S("reason", reason));
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v,
                    char *err, size_t errlen)
{
	return rd_kafka_conf_set(c, k, v, err, errlen) == RD_KAFKA_CONF_OK
	           ? 0
	           : -1;
}

static rd_kafka_t *new_consumer(const struct config *cfg, struct scan *s)
{
	/* The end of each partition is known up front, so the last fetch
	 * need not wait long for records that are not wanted anyway. */
	static const char *const defaults[] = {"fetch.wait.max.ms", "100",
	                                       NULL, NULL};
	/* Never a group member, never a commit: reading must not move
	 * anyone's offsets. EOF events end partitions whose last offsets
	 * are control records or were compacted away. */
	static const char *const fixed[] = {"enable.auto.commit",
	                                    "false",
	                                    "enable.auto.offset.store",
	                                    "false",
	                                    "enable.partition.eof",
	                                    "true",
	                                    "auto.offset.reset",
	                                    "earliest",
	                                    NULL,
	                                    NULL};
	rd_kafka_conf_t *c =
	    kafka_base_conf(cfg, defaults, fixed, s->err, s->errlen);
	char group[128];
	rd_kafka_t *rk;

	if (!c)
		return NULL;
	/* librdkafka 2.0 refuses assign() without a group.id; one that is
	 * never joined nor committed to leaves no trace on the broker. */
	if (s->o->committed_group)
		snprintf(group, sizeof(group), "%s", s->o->committed_group);
	else
		snprintf(group, sizeof(group), "custsync-scan-%ld-%lld",
		         (long)getpid(), (long long)clock_mono_ms());
	if (conf_set(c, "group.id", group, s->err, s->errlen)) {
		rd_kafka_conf_destroy(c);
		return NULL;
	}
	rd_kafka_conf_set_opaque(c, s);
	rd_kafka_conf_set_error_cb(c, on_error);
	/* rd_kafka_new takes over the conf only on success. */
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, s->err, s->errlen);
	if (!rk) {
		rd_kafka_conf_destroy(c);
		return NULL;
	}
	/* Error and log events are then served by consumer_poll. */
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

static int cmp_part(const void *a, const void *b)
{
	const struct scan_part *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* All topics are listed: asking for one by name can make a broker with
 * auto-creation (the test broker always) create a misspelled topic. */
static int load_partitions(struct scan *s)
{
	const struct rd_kafka_metadata *md = NULL;
	const struct rd_kafka_metadata_topic *t = NULL;
	rd_kafka_resp_err_t e;

	e = rd_kafka_metadata(s->rk, 1, NULL, &md, s->o->timeout_ms);
	if (e)
		return fail(s, "cannot read the cluster's metadata: %s",
		            rd_kafka_err2str(e));
	for (int i = 0; i < md->topic_cnt && !t; i++)
		if (strcmp(md->topics[i].topic, s->o->topic) == 0)
			t = &md->topics[i];
	if (!t || t->err) {
		e = t ? t->err : RD_KAFKA_RESP_ERR_NO_ERROR;
		rd_kafka_metadata_destroy(md);
		return e ? fail(s, "%s", rd_kafka_err2str(e))
		         : fail(s, "%s", "the topic does not exist");
	}
	s->p = calloc((size_t)t->partition_cnt + 1, sizeof(*s->p));
	if (!s->p) {
		rd_kafka_metadata_destroy(md);
		return fail(s, "%s", "out of memory");
	}
	s->n = (size_t)t->partition_cnt;
	for (size_t i = 0; i < s->n; i++)
		s->p[i].id = t->partitions[i].id;
	rd_kafka_metadata_destroy(md);
	qsort(s->p, s->n, sizeof(*s->p), cmp_part);
	return 0;
}

static int load_watermarks(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
		    s->rk, s->o->topic, s->p[i].id, &lo, &hi,
		    s->o->timeout_ms);

		if (e)
			return fail(s, "cannot read its end offsets: %s",
			            rd_kafka_err2str(e));
		s->p[i].start = lo;
		s->p[i].end = hi;
	}
	return 0;
}

/* Moves a partition's start later, never past its end. */
static void start_at(struct scan_part *p, int64_t offset)
{
	if (offset > p->end)
		offset = p->end;
	if (offset > p->start)
		p->start = offset;
}

static rd_kafka_topic_partition_list_t *part_list(const struct scan *s,
                                                  int64_t offset)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new((int)s->n + 1);

	for (size_t i = 0; i < s->n; i++)
		rd_kafka_topic_partition_list_add(l, s->o->topic, s->p[i].id)
		    ->offset = offset;
	return l;
}

static int load_committed(struct scan *s)
{
	rd_kafka_topic_partition_list_t *l = part_list(s, 0);
	rd_kafka_resp_err_t e = rd_kafka_committed(s->rk, l, s->o->timeout_ms);

	for (int i = 0; !e && i < l->cnt; i++) {
		e = l->elems[i].err;
		/* No committed offset (-1001): the beginning. */
		if (!e && l->elems[i].offset >= 0)
			start_at(&s->p[i], l->elems[i].offset);
	}
	rd_kafka_topic_partition_list_destroy(l);
	if (e)
		return fail(s, "cannot read the group's committed offsets: %s",
		            rd_kafka_err2str(e));
	return 0;
}

/* Offset of the first record at or after ts per partition (-1: none),
 * in l's order, which is s->p's. */
static int offsets_for(struct scan *s, int64_t ts,
                       rd_kafka_topic_partition_list_t **out)
{
	rd_kafka_topic_partition_list_t *l = part_list(s, ts);
	rd_kafka_resp_err_t e =
	    rd_kafka_offsets_for_times(s->rk, l, s->o->timeout_ms);

	if (e) {
		rd_kafka_topic_partition_list_destroy(l);
		return fail(s, "cannot look offsets up by time: %s",
		            rd_kafka_err2str(e));
	}
	*out = l;
	return 0;
}

/* "None at or after since" is taken at its word only from a broker that
 * can look up by time at all: it must find the first record of the
 * partition for time 0. One that cannot (old message formats, the test
 * broker) gets the records filtered as they are read. */
static int load_since(struct scan *s)
{
	rd_kafka_topic_partition_list_t *l = NULL, *probe = NULL;
	int unsure = 0;

	if (offsets_for(s, s->o->since_ms, &l))
		return -1;
	for (int i = 0; i < l->cnt; i++) {
		struct scan_part *p = &s->p[i];

		if (p->start >= p->end)
			continue;
		if (!l->elems[i].err && l->elems[i].offset >= 0)
			start_at(p, l->elems[i].offset);
		else if (!l->elems[i].err)
			unsure = 1;
		else
			p->drop_before_since = 1;
	}
	if (unsure && offsets_for(s, 0, &probe)) {
		rd_kafka_topic_partition_list_destroy(l);
		return -1;
	}
	for (int i = 0; unsure && i < l->cnt; i++) {
		struct scan_part *p = &s->p[i];

		if (p->start >= p->end || l->elems[i].err ||
		    l->elems[i].offset >= 0)
			continue;
		if (!probe->elems[i].err && probe->elems[i].offset >= 0)
			p->start = p->end;
		else
			p->drop_before_since = 1;
	}
	if (probe)
		rd_kafka_topic_partition_list_destroy(probe);
	rd_kafka_topic_partition_list_destroy(l);
	return 0;
}

static int assign(struct scan *s)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new((int)s->n + 1);
	rd_kafka_resp_err_t e;

	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i].start >= s->p[i].end) {
			/* Nothing to read: never waited for. */
			s->p[i].done = 1;
			s->n_done++;
			continue;
		}
		rd_kafka_topic_partition_list_add(l, s->o->topic, s->p[i].id)
		    ->offset = s->p[i].start;
	}
	e = l->cnt ? rd_kafka_assign(s->rk, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
	rd_kafka_topic_partition_list_destroy(l);
	if (e)
		return fail(s, "cannot assign its partitions: %s",
		            rd_kafka_err2str(e));
	return 0;
}

static struct scan_part *part_of(struct scan *s, int32_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->p[i].id == id)
			return &s->p[i];
	return NULL;
}

/* Stops fetching a finished partition: what follows is not ours. */
static void finish(struct scan *s, struct scan_part *p)
{
	rd_kafka_topic_partition_list_t *l;

	if (p->done)
		return;
	p->done = 1;
	s->n_done++;
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, s->o->topic, p->id);
	rd_kafka_pause_partitions(s->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
}

/* Errors that waiting does not cure. */
static int hopeless(rd_kafka_resp_err_t e)
{
	return e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
	       e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
	       e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
	       e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
}

/* One polled event: 0 to go on, the callback's value, or -1.
 * *progress tells whether it moved an unfinished partition on. */
static int handle(struct scan *s, rd_kafka_message_t *m, scan_cb cb, void *arg,
                  int *progress)
{
	struct scan_part *p = part_of(s, m->partition);
	rd_kafka_timestamp_type_t tt;

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		*progress = p && !p->done;
		if (*progress && m->offset >= p->end)
			finish(s, p);
		return 0;
	}
	if (m->err) {
		snprintf(s->last_error, sizeof(s->last_error), "%s",
		         rd_kafka_message_errstr(m));
		if (hopeless(m->err))
			return fail(s, "cannot be read: %s",
			            rd_kafka_message_errstr(m));
		log_kv(LOG_DEBUG, "scan consume error",
		       LOG_S("topic", s->o->topic),
		       LOG_N("partition", m->partition),
		       LOG_S("error", rd_kafka_message_errstr(m)));
		return 0;
	}
	if (!p || p->done)
		return 0;
	*progress = 1;
	if (m->offset >= p->end) {
		finish(s, p);
		return 0;
	}
	if (m->offset + 1 >= p->end)
		finish(s, p);
	if (p->drop_before_since) {
		if (rd_kafka_message_timestamp(m, &tt) < s->o->since_ms)
			return 0;
		p->drop_before_since = 0;
	}
	return cb(arg, m);
}

/* A broker gone quiet mid-scan must not hang the caller. */
static int stalled(struct scan *s)
{
	char what[64] = "no records";

	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i].done)
			continue;
		snprintf(what, sizeof(what),
		         "partition %d: no records for %d ms", (int)s->p[i].id,
		         s->o->timeout_ms);
		break;
	}
	return fail(s, "%s", what);
}

static int read_all(struct scan *s, scan_cb cb, void *arg)
{
	int64_t idle_until = clock_mono_ms() + s->o->timeout_ms;

	while (s->n_done < s->n) {
		rd_kafka_message_t *m;
		int rc = 0, progress = 0;

		if (s->o->stop && *s->o->stop)
			return 1;
		m = rd_kafka_consumer_poll(s->rk, SCAN_POLL_MS);
		if (m) {
			rc = handle(s, m, cb, arg, &progress);
			rd_kafka_message_destroy(m);
		}
		if (rc)
			return rc;
		if (progress)
			idle_until = clock_mono_ms() + s->o->timeout_ms;
		else if (clock_mono_ms() >= idle_until)
			return stalled(s);
	}
	return 0;
}

static int export_ranges(const struct scan *s, struct scan_range **ranges,
                         size_t *n_ranges)
{
	struct scan_range *r;

	if (!ranges)
		return 0;
	r = calloc(s->n + 1, sizeof(*r));
	if (!r)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		r[i] = (struct scan_range){s->p[i].id, s->p[i].start,
		                           s->p[i].end};
	*ranges = r;
	if (n_ranges)
		*n_ranges = s->n;
	return 0;
}

int scan_topic(const struct config *cfg, const struct scan_opts *opts,
               scan_cb cb, void *arg, struct scan_range **ranges,
               size_t *n_ranges, char *err, size_t errlen)
{
	struct scan s = {.o = opts, .err = err, .errlen = errlen};
	int rc;

	if (ranges)
		*ranges = NULL;
	if (n_ranges)
		*n_ranges = 0;
	err[0] = '\0';
	s.rk = new_consumer(cfg, &s);
	if (!s.rk)
		return -1;
	rc = load_partitions(&s);
	if (!rc)
		rc = load_watermarks(&s);
	if (!rc && opts->committed_group)
		rc = load_committed(&s);
	if (!rc && opts->since_ms > 0)
		rc = load_since(&s);
	if (!rc && export_ranges(&s, ranges, n_ranges))
		rc = fail(&s, "%s", "out of memory");
	if (!rc)
		rc = assign(&s);
	if (!rc)
		rc = read_all(&s, cb, arg);
	if (rc < 0 && ranges) {
		free(*ranges);
		*ranges = NULL;
		if (n_ranges)
			*n_ranges = 0;
	}
	/* Nothing to leave and nothing to commit: closing would only wait
	 * for a coordinator that may be unreachable. */
	rd_kafka_destroy_flags(s.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	free(s.p);
	return rc;
}
