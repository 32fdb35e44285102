/* A job's life: the wait lists it moves through, the pauses the
 * worker sets for all partitions, and its allocation and headers. */
#include "daemon/worker_int.h"

/* ---- wait lists ---- */

void wk_list_add(struct worker *w, struct job *j, enum job_wait wait)
{
	struct job_list *l = &w->lists[wait];

	j->run->wait = wait;
	j->run->next = NULL;
	j->run->prev = l->tail;
	if (l->tail)
		l->tail->run->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
}

void wk_list_remove(struct worker *w, struct job *j)
{
	struct job_list *l;

	if (j->run->wait == WAIT_NONE)
		return;
	l = &w->lists[j->run->wait];
	if (j->run->prev)
		j->run->prev->run->next = j->run->next;
	else
		l->head = j->run->next;
	if (j->run->next)
		j->run->next->run->prev = j->run->prev;
	else
		l->tail = j->run->prev;
	j->run->prev = j->run->next = NULL;
	l->n--;
	j->run->wait = WAIT_NONE;
}

/* ---- pause reasons ---- */

void wk_pause_set(struct worker *w, int reason, int on)
{
	int before = w->paused;

	w->paused = on ? (w->paused | reason) : (w->paused & ~reason);
	if (!before == !w->paused)
		return;
	kafka_pause_all(w->kafka, w->paused != 0);
	if (!w->paused)
		backpressure_repause(&w->bp);
	/* Only a change from none to some or back gets here, so the reason
	 * set or cleared is the only one. */
	log_kv(LOG_INFO,
	       w->paused ? "consumption paused" : "consumption resumed",
	       LOG_S("reason", reason == PAUSE_HOLD     ? "retry-after"
	                       : reason == PAUSE_RATE   ? "rate-limit"
	                       : reason == PAUSE_SCHEMA ? "schema-registry"
	                                                : "shutdown"));
}

/* ---- jobs ---- */

struct job_run *wk_run_new(struct worker *w)
{
	if (w->n_spare_runs)
		return w->spare_runs[--w->n_spare_runs];
	return calloc(1, sizeof(struct job_run));
}

static void job_run_free(struct worker *w, struct job_run *r)
{
	if (!r)
		return;
	sync_done(&r->sync);
	change_done(&r->change);
	forward_done(&r->fwd);
	if (w->n_spare_runs < RUN_SPARE_MAX) {
		memset(r, 0, sizeof(*r));
		w->spare_runs[w->n_spare_runs++] = r;
		return;
	}
	free(r);
}

void wk_runs_free(struct worker *w)
{
	while (w->n_spare_runs)
		free(w->spare_runs[--w->n_spare_runs]);
}

void wk_job_free(struct job *j)
{
	if (!j)
		return;
	job_run_free(j->w, j->run);
	if (j->rec.user && j->w->hooks.release)
		j->w->hooks.release(j->w->hooks.arg, j->rec.user);
	free(j);
}

/* Stops whatever the job waits for; the job is then the caller's. A job
 * that has not started waits for nothing. */
void wk_job_detach(struct worker *w, struct job *j)
{
	if (!j->run)
		return;
	if (j->run->call) {
		http_cancel(w->http, j->run->call);
		j->run->call = NULL;
	}
	hold_forget(&w->hold, j);
	wk_list_remove(w, j);
}

/* A record's headers in its job's bytes, each as name length, value
 * length (HDR_NULL for a header without a value), name, value. */
#define HDR_NULL UINT32_MAX

size_t wk_headers_size(const rd_kafka_headers_t *hs)
{
	const char *name;
	const void *value;
	size_t size, n = 0;

	for (size_t i = 0;
	     hs && !rd_kafka_header_get_all(hs, i, &name, &value, &size); i++)
		n += 2 * sizeof(uint32_t) + strlen(name) + (value ? size : 0);
	return n;
}

void wk_headers_write(const rd_kafka_headers_t *hs, unsigned char *out)
{
	const char *name;
	const void *value;
	size_t size;
	uint32_t len[2];

	for (size_t i = 0;
	     hs && !rd_kafka_header_get_all(hs, i, &name, &value, &size);
	     i++) {
		len[0] = (uint32_t)strlen(name);
		len[1] = value ? (uint32_t)size : HDR_NULL;
		memcpy(out, len, sizeof(len));
		out += sizeof(len);
		memcpy(out, name, len[0]);
		out += len[0];
		if (value && size)
			memcpy(out, value, size);
		out += value ? size : 0;
	}
}

/* The record's headers as librdkafka headers, with room for extra more;
 * NULL when it has none and extra is 0, or when memory ran out. */
rd_kafka_headers_t *wk_job_headers(const struct job *j, size_t extra)
{
	const unsigned char *p = j->headers, *end = p + j->headers_len;
	rd_kafka_headers_t *hs;
	uint32_t len[2];

	if (!p && !extra)
		return NULL;
	hs = rd_kafka_headers_new(8 + extra);
	while (hs && p && p < end) {
		memcpy(len, p, sizeof(len));
		p += sizeof(len);
		if (rd_kafka_header_add(hs, (const char *)p, len[0],
		                        len[1] == HDR_NULL ? NULL : p + len[0],
		                        len[1] == HDR_NULL ? 0 : len[1])) {
			rd_kafka_headers_destroy(hs);
			return NULL;
		}
		p += len[0] + (len[1] == HDR_NULL ? 0 : len[1]);
	}
	return hs;
}

void wk_release_job(void *user, void *arg)
{
	struct worker *w = arg;
	struct job *j = user;

	wk_job_detach(w, j);
	wk_job_free(j);
}
