#define _GNU_SOURCE /* pipe2 */
#include "edge/kafka.h"

#include "config/config.h"
#include "edge/kafkalimits.h"
#include "ops/log.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kafka {
	const struct config *cfg;
	struct kafka_callbacks cb;
	rd_kafka_t *consumer;
	rd_kafka_t *producer;
	rd_kafka_queue_t *cq; /* consumer queue: messages and rebalances */
	rd_kafka_queue_t *pq; /* producer main queue: delivery reports */
	int pipe[2];
	int closed;
	int fatal; /* reported */
};

static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
	(void)rk;
	/* kafka.properties go to both clients on purpose (security settings
	 * are needed by both): that each ignores the other's is expected. */
	if (strcmp(fac, "CONFWARN") == 0 &&
	    strstr(buf, "property and will be ignored by this"))
		level = LOG_DEBUG;
	/* A broker failure reaches on_error too, which reports it at
	 * warning, and a fatal error reaches raise_fatal: here it is
	 * detail, so one error is logged once. */
	if (strcmp(fac, "FAIL") == 0 || strcmp(fac, "ERROR") == 0 ||
	    strcmp(fac, "FATAL") == 0)
		level = LOG_DEBUG;
	log_kv(level < LOG_ERR     ? LOG_ERR
	       : level > LOG_DEBUG ? LOG_DEBUG
	                           : level,
	       buf, LOG_S("source", "librdkafka"), LOG_S("facility", fac));
}

/* A fatal error reaches us as an error event or, once the consumer's
 * main queue is forwarded to its own, as a consume error: either way it
 * is reported once. */
static void raise_fatal(struct kafka *k, rd_kafka_t *rk)
{
	char fatal[512];
	int cause;

	if (k->fatal)
		return;
	k->fatal = 1;
	cause = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
	if (cause == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID)
		log_kv(LOG_ERR,
		       "kafka fatal error: fenced: another consumer runs "
		       "with this group.instance.id; give each instance its "
		       "own id (kafka.properties)",
		       LOG_S("reason", fatal));
	else
		log_kv(LOG_ERR, "kafka fatal error",
		       LOG_S("code", rd_kafka_err2name(cause)),
		       LOG_S("reason", fatal));
	if (k->cb.fatal)
		k->cb.fatal(k->cb.arg,
		            cause == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
		            fatal);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *op)
{
	struct kafka *k = op;

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		raise_fatal(k, rk);
		return;
	}
	/* Informational: librdkafka retries on its own. */
	log_kv(LOG_WARNING, "kafka error",
	       LOG_S("code", rd_kafka_err2name(err)), LOG_S("reason", reason));
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *op)
{
	struct kafka *k = op;

	(void)rk;
	k->cb.delivered(k->cb.arg, m->_private, m->err,
	                m->err ? rd_kafka_err2str(m->err) : NULL);
}

static void store_revoked(struct kafka *k,
                          rd_kafka_topic_partition_list_t *parts, int lost)
{
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i];
		int64_t next =
		    k->cb.revoked(k->cb.arg, p->topic, p->partition, lost);

		if (next >= 0 && !lost)
			kafka_store(k, p->topic, p->partition, next);
	}
}

/* Cooperative rebalancing: partitions come and go incrementally. On a
 * revoke everything completed is stored and committed before the
 * partitions are let go, so the next owner starts where we stopped. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *op)
{
	struct kafka *k = op;
	rd_kafka_error_t *e = NULL;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		e = rd_kafka_incremental_assign(rk, parts);
		for (int i = 0; !e && i < parts->cnt; i++) {
			log_kv(LOG_INFO, "partition assigned",
			       LOG_S("topic", parts->elems[i].topic),
			       LOG_N("partition", parts->elems[i].partition));
			k->cb.assigned(k->cb.arg, parts->elems[i].topic,
			               parts->elems[i].partition);
		}
	} else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		int lost = rd_kafka_assignment_lost(rk);

		store_revoked(k, parts, lost);
		if (!lost) {
			rd_kafka_resp_err_t ce = rd_kafka_commit(rk, NULL, 0);

			if (ce && ce != RD_KAFKA_RESP_ERR__NO_OFFSET)
				log_kv(LOG_WARNING, "commit on revoke failed",
				       LOG_S("error", rd_kafka_err2name(ce)));
		}
		for (int i = 0; i < parts->cnt; i++)
			log_kv(LOG_INFO, "partition revoked",
			       LOG_S("topic", parts->elems[i].topic),
			       LOG_N("partition", parts->elems[i].partition),
			       LOG_N("lost", lost));
		e = rd_kafka_incremental_unassign(rk, parts);
	} else {
		log_kv(LOG_ERR, "rebalance error",
		       LOG_S("error", rd_kafka_err2name(err)));
		e = rd_kafka_incremental_unassign(rk, parts);
	}
	if (e) {
		log_kv(LOG_ERR, "rebalance failed",
		       LOG_S("error", rd_kafka_error_string(e)));
		rd_kafka_error_destroy(e);
	}
}

static int set(rd_kafka_conf_t *c, const char *key, const char *value,
               char *err, size_t errlen)
{
	if (rd_kafka_conf_set(c, key, value, err, errlen) != RD_KAFKA_CONF_OK)
		return -EINVAL;
	return 0;
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *op)
{
	struct kafka *k = op;

	(void)rk;
	k->cb.stats(k->cb.arg, json, len);
	return 0; /* librdkafka frees json */
}

/* statistics.interval.ms is a default that kafka.properties may
 * override, though it is set after them. */
static int stats_conf(rd_kafka_conf_t *c, const struct config *cfg, char *err,
                      size_t errlen)
{
	int user_set = 0;

	for (size_t i = 0; i < cfg->kafka.n_properties; i++)
		if (strcmp(cfg->kafka.properties[i].key,
		           "statistics.interval.ms") == 0)
			user_set = 1;
	if (!user_set && set(c, "statistics.interval.ms", "1000", err, errlen))
		return -EINVAL;
	rd_kafka_conf_set_stats_cb(c, on_stats);
	return 0;
}

/* worker.max_buffered_events bounds librdkafka's queues too, unless
 * kafka.properties sets them (kafkalimits.h). Applied after the user's
 * properties, so that their message.max.bytes is known. */
static int limits_conf(rd_kafka_conf_t *cc, rd_kafka_conf_t *pc,
                       const struct config *cfg, char *err, size_t errlen)
{
	struct kafkalimit l[KAFKALIMITS_N];
	char v[32];
	size_t n = sizeof(v);
	long mmb = 1000000;

	if (rd_kafka_conf_get(cc, "message.max.bytes", v, &n) ==
	    RD_KAFKA_CONF_OK)
		mmb = strtol(v, NULL, 10);
	kafkalimits_derive(cfg->worker.max_buffered_events, mmb, l);
	for (size_t i = 0; i < KAFKALIMITS_N; i++) {
		if (kafkalimits_user_set(&l[i], cfg->kafka.properties,
		                         cfg->kafka.n_properties))
			continue;
		snprintf(v, sizeof(v), "%ld", l[i].value);
		if (set(l[i].client == KAFKALIMITS_PRODUCER ? pc : cc,
		        l[i].name, v, err, errlen))
			return -EINVAL;
		log_kv(LOG_DEBUG, "kafka property derived",
		       LOG_S("property", l[i].name), LOG_S("value", v));
	}
	return 0;
}

/* User properties first, so security and tuning settings reach both
 * clients; then what at-least-once depends on, which a property must not
 * undo. */
rd_kafka_conf_t *kafka_base_conf(const struct config *cfg,
                                 const char *const *defaults,
                                 const char *const *fixed, char *err,
                                 size_t errlen)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();

	if (set(c, "bootstrap.servers", cfg->kafka.brokers, err, errlen))
		goto fail;
	for (; defaults[0]; defaults += 2)
		if (set(c, defaults[0], defaults[1], err, errlen))
			goto fail;
	for (size_t i = 0; i < cfg->kafka.n_properties; i++)
		if (set(c, cfg->kafka.properties[i].key,
		        cfg->kafka.properties[i].value, err, errlen))
			goto fail;
	for (; fixed[0]; fixed += 2)
		if (set(c, fixed[0], fixed[1], err, errlen))
			goto fail;
	rd_kafka_conf_set_log_cb(c, on_log);
	rd_kafka_conf_set_error_cb(c, on_error);
	return c;
fail:
	rd_kafka_conf_destroy(c);
	return NULL;
}

static int subscribe(struct kafka *k, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new((int)k->cfg->kafka.n_topics);
	rd_kafka_resp_err_t e;

	for (size_t i = 0; i < k->cfg->kafka.n_topics; i++)
		rd_kafka_topic_partition_list_add(l, k->cfg->kafka.topics[i],
		                                  RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(k->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		snprintf(err, errlen, "subscribe: %s", rd_kafka_err2str(e));
		return -EINVAL;
	}
	return 0;
}

static int assign(struct kafka *k, const struct kafka_assignment *as,
                  char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new((int)as->n + 1);
	rd_kafka_resp_err_t e;

	for (size_t i = 0; i < as->n; i++)
		rd_kafka_topic_partition_list_add(l, as->topic,
		                                  as->partitions[i])
		    ->offset = as->offsets[i];
	e = rd_kafka_assign(k->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		snprintf(err, errlen, "assign: %s", rd_kafka_err2str(e));
		return -EINVAL;
	}
	for (size_t i = 0; i < as->n; i++)
		k->cb.assigned(k->cb.arg, as->topic, as->partitions[i]);
	return 0;
}

struct kafka *kafka_new(const struct config *cfg,
                        const struct kafka_callbacks *cb,
                        const struct kafka_assignment *as, char *err,
                        size_t errlen)
{
	/* A new group starts at the beginning, as a sink connector does.
	 * Offsets are committed every second instead of librdkafka's 5 s:
	 * what a SIGKILL makes the next owner redo is what was stored but
	 * not yet committed, and a commit a second costs the broker little.
	 * Still only the stored contiguous prefix is committed. */
	static const char *const consumer_defaults[] = {
	    "auto.offset.reset",
	    "earliest",
	    "auto.commit.interval.ms",
	    "1000",
	    NULL,
	    NULL};
	/* Outcomes are retried until delivered (the shutdown is bounded
	 * instead); a short linger batches them. */
	static const char *const producer_defaults[] = {
	    "message.timeout.ms", "0", "linger.ms", "5", NULL, NULL};
	static const char *const consumer_fixed[] = {
	    "enable.auto.offset.store",
	    "false",
	    "enable.auto.commit",
	    "true",
	    "partition.assignment.strategy",
	    "cooperative-sticky",
	    NULL,
	    NULL};
	static const char *const producer_fixed[] = {
	    "enable.idempotence", "true", "acks", "all", NULL, NULL};
	struct kafka *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *cc = NULL, *pc = NULL;

	if (!k)
		return NULL;
	k->cfg = cfg;
	k->cb = *cb;
	k->pipe[0] = k->pipe[1] = -1;
	if (pipe2(k->pipe, O_NONBLOCK | O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	cc = kafka_base_conf(cfg, consumer_defaults, consumer_fixed, err,
	                     errlen);
	pc = cc ? kafka_base_conf(cfg, producer_defaults, producer_fixed, err,
	                          errlen)
	        : NULL;
	if (!cc || !pc || limits_conf(cc, pc, cfg, err, errlen))
		goto fail;
	if (set(cc, "group.id", as ? as->group_id : cfg->kafka.group_id, err,
	        errlen))
		goto fail;
	rd_kafka_conf_set_opaque(cc, k);
	rd_kafka_conf_set_opaque(pc, k);
	rd_kafka_conf_set_rebalance_cb(cc, on_rebalance);
	if (cb->stats && stats_conf(cc, cfg, err, errlen))
		goto fail;
	rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
	/* rd_kafka_new takes over the conf only on success. */
	k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, errlen);
	if (!k->producer)
		goto fail;
	pc = NULL;
	k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, errlen);
	if (!k->consumer)
		goto fail;
	cc = NULL;
	rd_kafka_poll_set_consumer(k->consumer);
	k->cq = rd_kafka_queue_get_consumer(k->consumer);
	k->pq = rd_kafka_queue_get_main(k->producer);
	/* The fd is written only when a queue goes from empty to non-empty:
	 * kafka_dispatch always drains both. */
	rd_kafka_queue_io_event_enable(k->cq, k->pipe[1], "c", 1);
	rd_kafka_queue_io_event_enable(k->pq, k->pipe[1], "p", 1);
	if (as ? assign(k, as, err, errlen) : subscribe(k, err, errlen))
		goto fail;
	return k;
fail:
	if (cc)
		rd_kafka_conf_destroy(cc);
	if (pc)
		rd_kafka_conf_destroy(pc);
	k->closed = 1;
	kafka_free(k);
	return NULL;
}

int kafka_fd(const struct kafka *k)
{
	return k->pipe[0];
}

void kafka_dispatch(struct kafka *k)
{
	char buf[256];
	rd_kafka_message_t *m;

	while (read(k->pipe[0], buf, sizeof(buf)) > 0)
		;
	while (!k->closed && (m = rd_kafka_consumer_poll(k->consumer, 0))) {
		if (m->err) {
			if (m->err == RD_KAFKA_RESP_ERR__FATAL)
				raise_fatal(k, k->consumer);
			else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				log_kv(LOG_WARNING, "consume error",
				       LOG_S("topic",
				             m->rkt
				                 ? rd_kafka_topic_name(m->rkt)
				                 : "-"),
				       LOG_N("partition", m->partition),
				       LOG_S("error",
				             rd_kafka_message_errstr(m)));
			rd_kafka_message_destroy(m);
			continue;
		}
		k->cb.message(k->cb.arg, m);
	}
	rd_kafka_poll(k->producer, 0);
}

int kafka_produce(struct kafka *k, const char *topic, const void *key,
                  size_t key_len, const void *value, size_t value_len,
                  rd_kafka_headers_t *headers, void *opaque)
{
	rd_kafka_resp_err_t e;

	if (headers)
		e = rd_kafka_producev(
		    k->producer, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_KEY(key, key_len),
		    RD_KAFKA_V_VALUE((void *)value, value_len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque),
		    RD_KAFKA_V_END);
	else
		e = rd_kafka_producev(
		    k->producer, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_KEY(key, key_len),
		    RD_KAFKA_V_VALUE((void *)value, value_len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
	return e ? -EIO : 0;
}

int kafka_store(struct kafka *k, const char *topic, int32_t partition,
                int64_t next_offset)
{
	rd_kafka_topic_partition_list_t *l =
	    rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	rd_kafka_topic_partition_list_add(l, topic, partition)->offset =
	    next_offset;
	e = rd_kafka_offsets_store(k->consumer, l);
	if (!e && l->elems[0].err)
		e = l->elems[0].err;
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		log_kv(LOG_WARNING, "offset store failed",
		       LOG_S("topic", topic), LOG_N("partition", partition),
		       LOG_N("offset", next_offset),
		       LOG_S("error", rd_kafka_err2name(e)));
		return -EIO;
	}
	return 0;
}

void kafka_pause_all(struct kafka *k, int pause)
{
	rd_kafka_topic_partition_list_t *l = NULL;

	if (k->closed || rd_kafka_assignment(k->consumer, &l) || !l)
		return;
	if (l->cnt > 0) {
		if (pause)
			rd_kafka_pause_partitions(k->consumer, l);
		else
			rd_kafka_resume_partitions(k->consumer, l);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

void kafka_pause_one(struct kafka *k, const char *topic, int32_t partition,
                     int pause)
{
	rd_kafka_topic_partition_list_t *l;

	if (k->closed)
		return;
	l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, topic, partition);
	if (pause)
		rd_kafka_pause_partitions(k->consumer, l);
	else
		rd_kafka_resume_partitions(k->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
}

int kafka_flush(struct kafka *k, int timeout_ms)
{
	rd_kafka_flush(k->producer, timeout_ms);
	return rd_kafka_outq_len(k->producer);
}

int kafka_commit(struct kafka *k)
{
	rd_kafka_resp_err_t e = rd_kafka_commit(k->consumer, NULL, 0);

	if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		log_kv(LOG_WARNING, "commit failed",
		       LOG_S("error", rd_kafka_err2name(e)));
		return -EIO;
	}
	return 0;
}

void kafka_close_consumer(struct kafka *k)
{
	if (k->closed)
		return;
	k->closed = 1;
	rd_kafka_consumer_close(k->consumer);
}

void kafka_purge(struct kafka *k)
{
	rd_kafka_purge(k->producer,
	               RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(k->producer, 0);
}

struct kafka *kafka_free(struct kafka *k)
{
	if (!k)
		return NULL;
	if (k->consumer && !k->closed)
		rd_kafka_consumer_close(k->consumer);
	if (k->cq)
		rd_kafka_queue_destroy(k->cq);
	if (k->pq)
		rd_kafka_queue_destroy(k->pq);
	if (k->consumer)
		rd_kafka_destroy(k->consumer);
	if (k->producer)
		rd_kafka_destroy(k->producer);
	if (k->pipe[0] >= 0)
		close(k->pipe[0]);
	if (k->pipe[1] >= 0)
		close(k->pipe[1]);
	free(k);
	return NULL;
}
