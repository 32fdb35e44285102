/* Outcomes: the results record, the dead letter, and the offset
 * stored once the broker has both. */
#include "daemon/worker_int.h"

/* ---- outcomes ---- */

static void fill_source(const struct job *j, struct outcome_source *s)
{
	memset(s, 0, sizeof(*s));
	s->topic = j->topic;
	s->partition = j->partition;
	s->offset = j->offset;
	if (j->rec.origin_topic) {
		/* A replayed dead letter speaks of its event's own position;
		 * where the dead letter was is in the replay member. */
		s->topic = j->rec.origin_topic;
		s->partition = j->rec.origin_partition;
		s->offset = j->rec.origin_offset;
		s->dead_letter_partition = j->partition;
		s->dead_letter_offset = j->offset;
		s->redeliveries = j->rec.redeliveries;
	}
	s->event_id = j->run->change.event_id;
	s->key = j->key;
	s->op = j->run->parsed ? change_op_str(j->run->change.op) : NULL;
	s->finished_at_ms = clock_wall_ms();
	s->duration_ms = clock_mono_ms() - j->received_ms;
}

static rd_kafka_headers_t *dlq_headers(const struct job *j,
                                       const struct outcome_source *s)
{
	rd_kafka_headers_t *hs = wk_job_headers(j, 16);

	if (hs)
		dead_letter_add_headers(hs, &j->run->sync, s);
	return hs;
}

void wk_fatal(struct worker *w, int code, const char *why)
{
	if (!w->exit_code)
		log_err("stopping: %s", why);
	w->exit_code = code;
	w->stopping = 1;
}

static void log_outcome(const struct job *j)
{
	const struct sync_job *s = &j->run->sync;
	const char *st = sync_status_str(s->status);
	char msg[32] = "event ";

	/* Status names are short words; printf would cost more than the
	 * line. */
	strncat(msg, st, sizeof(msg) - strlen(msg) - 1);
	if (s->status == SYNC_FAILED)
		log_kv(LOG_WARNING, "event failed", LOG_S("topic", j->topic),
		       LOG_S("event_id", j->run->change.event_id),
		       LOG_N("partition", j->partition),
		       LOG_N("offset", j->offset), LOG_S("key", j->key),
		       LOG_S("code", s->err_code),
		       LOG_N("http_status", s->err_http_status),
		       LOG_N("attempts", s->attempts),
		       LOG_S("message", s->err_msg));
	else
		log_kv(s->status == SYNC_APPLIED ? LOG_INFO : LOG_DEBUG, msg,
		       LOG_S("topic", j->topic),
		       LOG_S("event_id", j->run->change.event_id),
		       LOG_N("partition", j->partition),
		       LOG_N("offset", j->offset), LOG_S("key", j->key),
		       LOG_S("action", sync_action_str(s->action)),
		       LOG_S("target_id", s->target_id ? s->target_id : "-"),
		       LOG_N("attempts", s->attempts));
}

static void finish_event(struct worker *w, struct job *j);

static void report_done(struct worker *w, struct job *j,
                        const struct sync_job *s, int stopped)
{
	if (w->hooks.on_done)
		w->hooks.on_done(w->hooks.arg, j->rec.user, j->partition,
		                 j->offset, j->key, s, stopped);
}

/* Done without a word on the results topic: settled without sync (s
 * NULL), stopped before a write, or any event of a read-only run. */
void wk_complete_quietly(struct worker *w, struct job *j,
                         const struct sync_job *s, int stopped)
{
	pipeline_output(w->pl, j->ev);
	report_done(w, j, s, stopped);
	finish_event(w, j);
}

void wk_complete(struct worker *w, struct job *j)
{
	struct outcome_source src;
	rd_kafka_headers_t *hs;
	char *json;

	if (w->hooks.read_only) {
		wk_complete_quietly(w, j, &j->run->sync, 0);
		return;
	}
	pipeline_output(w->pl, j->ev);
	fill_source(j, &src);
	log_outcome(j);
	w->counts[j->run->sync.status]++;
	w->events_done++;
	metrics_event(w->metrics, j->run->sync.status, j->run->sync.action);
	if (j->run->sync.status == SYNC_FAILED)
		metrics_failure(w->metrics, j->run->sync.err_code);
	report_done(w, j, &j->run->sync, 0);
	json = outcome_json(&j->run->sync, &src);
	if (!json) {
		wk_fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
		return;
	}
	j->dr_pending = 1;
	hs = forward_kafka_headers(&j->run->fwd);
	if ((j->run->fwd.n && !hs) ||
	    kafka_produce(w->kafka, w->cfg->kafka.results_topic, j->key,
	                  strlen(j->key), json, strlen(json), hs, j)) {
		if (hs)
			rd_kafka_headers_destroy(hs);
		j->dr_pending = 0;
		wk_fatal(w, WORKER_EXIT_SOFTWARE, "cannot produce an outcome");
	}
	free(json);
	if (j->run->sync.status != SYNC_FAILED || !j->dr_pending)
		return;
	j->dr_pending++;
	hs = dlq_headers(j, &src);
	if (!hs ||
	    kafka_produce(w->kafka, w->cfg->kafka.dead_letter_topic, j->kkey,
	                  j->kkey_len, j->value, j->value_len, hs, j)) {
		/* Taken over only on success (kafka.h). */
		if (hs)
			rd_kafka_headers_destroy(hs);
		j->dr_pending--;
		wk_fatal(w, WORKER_EXIT_SOFTWARE,
		         "cannot produce a dead letter");
	} else {
		/* Counted when produced: a dead letter that is then not
		 * delivered stops the daemon (exit 70). */
		metrics_dead_letter(w->metrics);
	}
}

void wk_on_delivered(void *arg, void *opaque, int err, const char *errstr)
{
	struct worker *w = arg;
	struct job *j = opaque;

	if (err) {
		/* The offset stays unstored: after a restart the event is
		 * processed again, so nothing is lost. */
		if (!w->stopping || err != RD_KAFKA_RESP_ERR__PURGE_QUEUE) {
			log_kv(LOG_ERR, "delivery failed",
			       LOG_S("topic", j->topic),
			       LOG_N("partition", j->partition),
			       LOG_N("offset", j->offset),
			       LOG_S("error", errstr));
			wk_fatal(w, WORKER_EXIT_SOFTWARE,
			         "an outcome was not delivered");
		}
		if (--j->dr_pending == 0) {
			j->ev->user = NULL;
			pipeline_forget(w->pl, j->ev);
			wk_job_free(j);
		}
		return;
	}
	if (--j->dr_pending > 0)
		return;
	finish_event(w, j);
}

/* The event's outputs are acknowledged (or it had none): it is DONE, and
 * the partition's offset may move. */
static void finish_event(struct worker *w, struct job *j)
{
	struct pl_partition *part = j->ev->part;
	int64_t next;

	j->ev->user = NULL;
	if (pipeline_done(w->pl, j->ev)) {
		wk_job_free(j);
		return;
	}
	wk_job_free(j);
	next = pipeline_advance(w->pl, part);
	if (next >= 0 && w->hooks.progress)
		next = w->hooks.progress(w->hooks.arg, pl_partition_id(part),
		                         next);
	if (next >= 0 && !w->hooks.read_only)
		kafka_store(w->kafka, pl_partition_topic(part),
		            pl_partition_id(part), next);
}
