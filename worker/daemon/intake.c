/* Records in from Kafka: parsed and keyed into jobs, handed to the
 * pipeline; assignment and revocation. */
#include "daemon/worker_int.h"

#include "lib/num.h"

#include <string.h>

/* ---- consumer side ---- */

#define FWD_WARN_EVERY_MS 60000

/* A header not forwarded is the producer's mistake and does not fail
 * the event. Each is logged at debug; a warning says so at most once a
 * minute, so a producer that gets every record wrong cannot flood the
 * log. */
static void report_dropped(struct worker *w, const struct job *j)
{
	const struct forward *f = &j->run->fwd;
	size_t kept = f->n_dropped < FORWARD_DROPS_KEPT ? f->n_dropped
	                                                : FORWARD_DROPS_KEPT;
	int64_t now = clock_mono_ms();

	if (!f->n_dropped)
		return;
	for (size_t i = 0; i < kept; i++)
		log_kv(LOG_DEBUG, "header not forwarded",
		       LOG_S("topic", j->topic),
		       LOG_N("partition", j->partition),
		       LOG_N("offset", j->offset),
		       LOG_S("header", f->dropped[i].name),
		       LOG_S("reason", f->dropped[i].why));
	w->fwd_dropped += f->n_dropped;
	if (w->fwd_warned_ms && now - w->fwd_warned_ms < FWD_WARN_EVERY_MS)
		return;
	log_kv(LOG_WARNING, "input headers not forwarded",
	       LOG_S("topic", j->topic), LOG_N("partition", j->partition),
	       LOG_N("offset", j->offset), LOG_S("header", f->dropped[0].name),
	       LOG_S("reason", f->dropped[0].why),
	       LOG_N("count", (long long)w->fwd_dropped));
	w->fwd_dropped = 0;
	w->fwd_warned_ms = now;
}

/* A record's bytes: the consumed message's, or a job's own copy. */
struct record {
	const char *topic;
	int32_t partition;
	int64_t offset;
	const void *kkey;
	size_t kkey_len;
	const void *value; /* NULL: a tombstone */
	size_t value_len;
};

/* "<topic>-<partition>-<offset>" into buf (POSITION_ID_LEN), written
 * without printf since every event is named so twice. A topic name
 * (at most 249 characters in Kafka) always fits. */
#define POSITION_ID_LEN 512
static void position_id(char buf[POSITION_ID_LEN], const char *topic,
                        int32_t partition, int64_t offset)
{
	size_t n = strnlen(topic, POSITION_ID_LEN - 2 * NUM_I64_LEN - 3);

	memcpy(buf, topic, n);
	buf[n++] = '-';
	n += num_i64(partition, buf + n);
	buf[n++] = '-';
	n += num_i64(offset, buf + n);
	buf[n] = '\0';
}

/* The one place a record becomes a change: when it starts, and when it
 * arrives if a quick look (event_order_key) cannot settle its ordering
 * key; a waiting event holds no parsed form. Returns 1 when it parsed, 0
 * when it did not (c then holds only the event_id a readable envelope
 * names, err why), -ENOMEM. */
static int record_parse(const struct worker *w, const struct record *r,
                        const struct worker_record *rec, struct change *c,
                        struct event_error *err)
{
	const struct event_options opt = w->event_opt;
	char default_id[POSITION_ID_LEN];
	int rc;

	/* Events without an id (Debezium) are named by their position: a
	 * replayed one by its own, so it keeps its name. */
	if (rec->origin_topic)
		position_id(default_id, rec->origin_topic,
		            rec->origin_partition, rec->origin_offset);
	else
		position_id(default_id, r->topic, r->partition, r->offset);
	rc = event_parse_with(r->value, r->value_len, r->kkey, r->kkey_len,
	                      default_id, &opt, c, err);
	if (rc == -ENOMEM)
		return -ENOMEM;
	if (rc == 0)
		return 1;
	/* A readable event_id still names the event in its outcome. */
	c->event_id = event_peek_id(r->value, r->value_len);
	return 0;
}

/* The ordering and outcome key: the change's, or for a value that
 * cannot be parsed, the Kafka key's. */
static char *record_key(const struct worker *w, const struct record *r,
                        const struct worker_record *rec)
{
	const struct event_options opt = w->event_opt;
	struct event_error err;
	struct change c;
	char *key = NULL;
	int parsed = event_order_key(r->value, r->value_len, r->kkey,
	                             r->kkey_len, &opt, &key);

	if (parsed)
		return parsed < 0 ? NULL : key;
	parsed = record_parse(w, r, rec, &c, &err);
	if (parsed == 1)
		key = strdup(c.key ? c.key : "");
	else if (parsed == 0)
		key = event_key_with(r->kkey, r->kkey_len, &opt);
	if (parsed == 0 && !key)
		key = strdup("");
	change_done(&c);
	return key;
}

static void job_record(const struct job *j, struct record *r)
{
	*r = (struct record){j->topic,    j->partition, j->offset,   j->kkey,
	                     j->kkey_len, j->value,     j->value_len};
}

/* The event starts: its change is parsed again from the record's bytes,
 * and what it forwards is collected. 0, or -ENOMEM. */
int wk_job_start(struct worker *w, struct job *j)
{
	struct job_run *r = wk_run_new(w);
	rd_kafka_headers_t *hs;
	struct record rd;
	int rc;

	if (!r)
		return -ENOMEM;
	j->run = r;
	hs = wk_job_headers(j, 0);
	if (j->headers && !hs)
		return -ENOMEM;
	rc = forward_collect(&r->fwd, hs, w->cfg->input.forward_headers,
	                     w->cfg->input.n_forward_headers);
	if (hs)
		rd_kafka_headers_destroy(hs);
	if (rc)
		return -ENOMEM;
	report_dropped(w, j);
	job_record(j, &rd);
	rc = record_parse(w, &rd, &j->rec, &r->change, &r->perr);
	if (rc < 0)
		return rc;
	r->parsed = rc;
	return 0;
}

/* Copies n bytes (none when p is NULL) to *at and moves it on. */
static const void *put(char **at, const void *p, size_t n)
{
	char *q = *at;

	if (!p)
		return NULL;
	if (n)
		memcpy(q, p, n);
	*at += n;
	return q;
}

/* Takes over rec (then rec->user is NULL) unless out of memory. One
 * allocation holds the job and the record's topic, key, value and
 * headers. */
static struct job *job_from_message(struct worker *w, rd_kafka_message_t *m,
                                    struct worker_record *rec)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct record rd = {topic,      m->partition, m->offset, m->key,
	                    m->key_len, m->payload,   m->len};
	rd_kafka_headers_t *hs = NULL;
	size_t topic_len = strlen(topic), key_len, hlen;
	char *key, *at;
	struct job *j;

	if (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		hs = NULL;
	hlen = wk_headers_size(hs);
	key = record_key(w, &rd, rec);
	if (!key)
		return NULL;
	key_len = strlen(key);
	j = malloc(sizeof(*j) + topic_len + 1 + key_len + 1 + m->key_len +
	           m->len + hlen);
	if (!j) {
		free(key);
		return NULL;
	}
	*j = (struct job){.w = w,
	                  .partition = m->partition,
	                  .offset = m->offset,
	                  .received_ms = clock_mono_ms(),
	                  .rec = *rec};
	rec->user = NULL;
	at = j->bytes;
	j->topic = put(&at, topic, topic_len + 1);
	j->key = put(&at, key, key_len + 1);
	free(key);
	j->kkey = put(&at, m->key, m->key_len);
	j->kkey_len = (uint32_t)m->key_len;
	j->value = put(&at, m->payload, m->len);
	j->value_len = (uint32_t)m->len;
	if (hlen) {
		wk_headers_write(hs, (unsigned char *)at);
		j->headers = (const unsigned char *)at;
		j->headers_len = (uint32_t)hlen;
	}
	return j;
}

static void release_record(struct worker *w, struct worker_record *rec)
{
	if (rec->user && w->hooks.release)
		w->hooks.release(w->hooks.arg, rec->user);
	rec->user = NULL;
}

void wk_take_message(void *arg, rd_kafka_message_t *m)
{
	struct worker *w = arg;
	struct worker_record rec = {.take = WORKER_TAKE_SYNC};
	struct pl_partition *part;
	struct job *j;

	if (w->stopping) {
		rd_kafka_message_destroy(m);
		return;
	}
	if (w->hooks.classify &&
	    w->hooks.classify(w->hooks.arg, m, &rec) < 0) {
		rd_kafka_message_destroy(m);
		wk_fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
		return;
	}
	if (rec.take == WORKER_TAKE_IGNORE) {
		release_record(w, &rec);
		rd_kafka_message_destroy(m);
		return;
	}
	part = pipeline_partition(w->pl, rd_kafka_topic_name(m->rkt),
	                          m->partition, 1);
	j = part ? job_from_message(w, m, &rec) : NULL;
	release_record(w, &rec);
	rd_kafka_message_destroy(m);
	if (!j ||
	    !(j->ev = pipeline_push(w->pl, part, j->offset, j->key, j))) {
		wk_job_free(j);
		wk_fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
		return;
	}
	backpressure_check(&w->bp, part, w->paused != 0);
}

/* Avro records first wait for their schemas (daemon/avroinput.h). */
void wk_on_message(void *arg, rd_kafka_message_t *m)
{
	struct worker *w = arg;

	if (!w->avro || w->stopping) {
		wk_take_message(w, m);
		return;
	}
	if (avroinput_offer(w->avro, m))
		wk_fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
}

void wk_on_assigned(void *arg, const char *topic, int32_t partition)
{
	struct worker *w = arg;

	pipeline_partition(w->pl, topic, partition, 1);
	/* librdkafka forgets pauses across assignments. */
	w->reapply_pause = 1;
	/* Another instance may have created records of these partitions'
	 * keys: the key index is scanned again before it answers. */
	if (w->index)
		keyindex_invalidate(w->index);
}

int64_t wk_on_revoked(void *arg, const char *topic, int32_t partition,
                      int lost)
{
	struct worker *w = arg;
	struct pl_partition *p =
	    pipeline_partition(w->pl, topic, partition, 0);
	int64_t next;

	if (w->avro)
		avroinput_revoked(w->avro, topic, partition);
	if (!p)
		return -1;
	next = pipeline_revoke(w->pl, p, wk_release_job, w);
	return lost ? -1 : next;
}

void wk_on_stats(void *arg, const char *json, size_t len)
{
	struct worker *w = arg;

	if (metrics_kafka_stats(w->metrics, json, len, clock_mono_ms()))
		log_debug("kafka statistics unreadable, ignoring");
}

/* Fenced exits 78 like a config error: the unit does not restart it
 * (RestartPreventExitStatus=78), since a restart would fence the other
 * instance in turn. */
void wk_on_fatal(void *arg, int fenced, const char *reason)
{
	/* The kafka edge has logged the reason already. */
	(void)reason;
	wk_fatal(arg, fenced ? WORKER_EXIT_CONFIG : WORKER_EXIT_TEMPFAIL,
	         "kafka wk_fatal error");
}
