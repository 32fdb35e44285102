/* The request side: the gates before a request (hold, quota, rate
 * limits, the learnt pace, a token), sending, and what an answer means
 * for the event, the hold and the adaptive limit. */
#include "daemon/worker_int.h"

static void on_http_done(void *arg, const struct api_response *r);

/* A create, update or delete: what target.write_rate_limit meters and
 * where the before_write hook may stop an event. By the step, not the
 * method: a look-up may be a POST (alvys searches with one). */
/* base + path into buf, cut to fit as snprintf would (a config check
 * keeps base_url short), without printf on every request. */
static void join_url(char *buf, size_t size, const char *base,
                     const char *path)
{
	size_t a = strnlen(base, size - 1), b = strnlen(path, size - 1 - a);

	memcpy(buf, base, a);
	memcpy(buf + a, path, b);
	buf[a + b] = '\0';
}

static int is_write(const struct job *j)
{
	enum sync_step st = j->run->sync.step;

	return st == SYNC_STEP_CREATE || st == SYNC_STEP_UPDATE ||
	       st == SYNC_STEP_DELETE;
}

/* When j's request may go by the rate limits it is under: the
 * configured ones and the pace learnt from a quota. */
int64_t wk_rate_due(struct worker *w, const struct job *j, int64_t now)
{
	int64_t due = ratelimit_due(&w->rate, now), d;

	d = ratelimit_due(quotarate_bucket(&w->qrate), now);
	due = d > due ? d : due;
	if (is_write(j)) {
		d = ratelimit_due(&w->write_rate, now);
		due = d > due ? d : due;
	}
	return due;
}

/* Non-zero when j must wait for a rate-limit token: it then joins
 * WAIT_RATE behind the others, so no event overtakes one that waits
 * (wk_run_rate sends them in order, on the loop's timer). Otherwise its
 * tokens are taken. A wait longer than a loop turn pauses consumption,
 * as a hold does; poll goes on, so the group keeps the consumer. */
static int rate_wait(struct worker *w, struct job *j, int64_t now)
{
	if ((w->lists[WAIT_RATE].n && w->rate_next != j) ||
	    wk_rate_due(w, j, now) > now) {
		if (ratelimit_due(quotarate_bucket(&w->qrate), now) > now)
			quotarate_waited(&w->qrate);
		if (!w->lists[WAIT_RATE].n)
			w->rate_since = now;
		wk_list_add(w, j, WAIT_RATE);
		if (wk_rate_due(w, w->lists[WAIT_RATE].head, now) - now >
		    LOOP_MAX_WAIT_MS)
			wk_pause_set(w, PAUSE_RATE, 1);
		return 1;
	}
	ratelimit_take(&w->rate, now);
	ratelimit_take(quotarate_bucket(&w->qrate), now);
	if (is_write(j))
		ratelimit_take(&w->write_rate, now);
	return 0;
}

/* The partner's quota headers say how many requests it still takes. The
 * requests in flight were sent after the one whose answer said so, so
 * the partner counts them before any new one: a request goes only while
 * fewer than that are in flight, and waits in WAIT_QUOTA (FIFO, as in
 * WAIT_RATE) for answers otherwise. Without requests in flight one goes
 * whatever was said, so that a stale count never stops everything (a 0
 * with a reset holds the endpoint instead, quota_hold). */
static int quota_allows(const struct worker *w)
{
	size_t n = http_in_flight(w->http);

	return n == 0 || w->quota_left < 0 || n < (size_t)w->quota_left;
}

static int quota_wait(struct worker *w, struct job *j)
{
	if ((w->lists[WAIT_QUOTA].n && w->quota_next != j) ||
	    !quota_allows(w)) {
		wk_list_add(w, j, WAIT_QUOTA);
		return 1;
	}
	return 0;
}

static void run_quota(struct worker *w)
{
	struct job *j;

	while ((j = w->lists[WAIT_QUOTA].head) && quota_allows(w)) {
		wk_list_remove(w, j);
		w->quota_next = j;
		wk_submit(w, j);
		w->quota_next = NULL;
	}
}

void wk_run_rate(struct worker *w, int64_t now)
{
	struct job *j;

	while ((j = w->lists[WAIT_RATE].head) &&
	       wk_rate_due(w, j, now) <= now) {
		wk_list_remove(w, j);
		w->rate_next = j;
		wk_submit(w, j);
		w->rate_next = NULL;
	}
	if (w->lists[WAIT_RATE].n)
		return;
	if (w->rate_since)
		metrics_wait(w->metrics, METRICS_WAIT_RATE_LIMIT,
		             now - w->rate_since);
	w->rate_since = 0;
	wk_pause_set(w, PAUSE_RATE, 0);
}

void wk_submit(struct worker *w, struct job *j)
{
	const struct api_request *req = &j->run->sync.req;
	const char *authz;
	char url[2048];
	bool ready;

	if (hold_blocks(&w->hold, j)) {
		wk_list_add(w, j, WAIT_HOLD);
		return;
	}
	authz = auth_header(w->auth, clock_mono_ms(), &ready);
	if (!ready) {
		wk_list_add(w, j, WAIT_TOKEN);
		return;
	}
	if (quota_wait(w, j) || rate_wait(w, j, clock_mono_ms()))
		return;
	j->run->auth_gen = auth_generation(w->auth);
	join_url(url, sizeof(url), w->cfg->target.base_url, req->path);
	j->run->call =
	    http_submit_with(w->http, url, req, authz, j->run->change.event_id,
	                     j->run->fwd.v, j->run->fwd.n, on_http_done, j);
	if (!j->run->call) {
		/* Out of memory or handles: try again shortly. */
		j->run->sync.failures++;
		metrics_retry(w->metrics, SYNC_RETRY_REASON_LOCAL);
		wk_handle_next(w, j, SYNC_RETRY);
		return;
	}
	wk_list_add(w, j, WAIT_HTTP);
	quotarate_sent(&w->qrate, clock_mono_ms());
	j->run->sync.attempts++;
	log_kv(LOG_DEBUG, "request sent",
	       LOG_S("method", http_method_str(req->method)),
	       LOG_S("path", req->path), LOG_S("key", j->key),
	       LOG_N("attempt", j->run->sync.attempts));
}

void wk_log_quotarate(struct worker *w)
{
	if (!quotarate_should_log(&w->qrate))
		return;
	if (quotarate_rate(&w->qrate) > 0)
		log_kv(LOG_INFO,
		       "pacing requests to the quota learnt from 429s",
		       LOG_N("per_minute",
		             lround(quotarate_rate(&w->qrate) * 60.0)));
	else
		log_info("quota no longer seen: pacing ended");
}

static void start_hold(struct worker *w, long retry_after_s)
{
	int64_t wait_ms = backoff_retry_after_ms(
	    retry_after_s, w->cfg->retry.max_retry_after_s,
	    w->cfg->retry.initial_backoff_ms);
	enum hold_change c = hold_start(&w->hold, clock_mono_ms(), wait_ms);

	if (c == HOLD_KEPT)
		return;
	if (c == HOLD_STARTED)
		log_kv(
		    LOG_WARNING,
		    "endpoint asked to wait: writes wait, partitions paused",
		    LOG_N("retry_after_s", retry_after_s),
		    LOG_N("hold_ms", hold_left_ms(&w->hold, clock_mono_ms())));
	wk_pause_set(w, PAUSE_HOLD, 1);
}

void wk_end_hold(struct worker *w)
{
	struct job *j;

	if (!hold_end(&w->hold))
		return;
	if (w->quota_since)
		metrics_wait(w->metrics, METRICS_WAIT_QUOTA,
		             clock_mono_ms() - w->quota_since);
	w->quota_since = 0;
	log_kv(LOG_NOTICE, "endpoint available again: resuming",
	       LOG_N("held", w->lists[WAIT_HOLD].n));
	if (quotarate_hold_ended(&w->qrate, clock_mono_ms()))
		wk_log_quotarate(w);
	while ((j = w->lists[WAIT_HOLD].head)) {
		wk_list_remove(w, j);
		wk_submit(w, j);
	}
	wk_pause_set(w, PAUSE_HOLD, 0);
}

/* A dry run reads but never writes. */
static int stop_before_write(const struct worker *w, const struct job *j)
{
	return w->hooks.before_write && is_write(j) &&
	       w->hooks.before_write(w->hooks.arg, j->rec.user, &j->run->sync);
}

void wk_handle_next(struct worker *w, struct job *j, enum sync_next n)
{
	int64_t d;

	switch (n) {
	case SYNC_SEND:
		if (stop_before_write(w, j)) {
			wk_complete_quietly(w, j, &j->run->sync, 1);
			break;
		}
		wk_submit(w, j);
		break;
	case SYNC_RETRY:
		d = backoff_delay_ms(
		    j->run->sync.failures, w->cfg->retry.initial_backoff_ms,
		    w->cfg->retry.max_backoff_ms, (uint32_t)rand());
		log_kv(
		    LOG_WARNING, "transient failure, retrying",
		    LOG_S("key", j->key),
		    LOG_S("method", http_method_str(j->run->sync.req.method)),
		    LOG_S("path", j->run->sync.req.path),
		    LOG_N("http_status", j->run->sync.http_status),
		    LOG_N("failures", j->run->sync.failures),
		    LOG_N("retry_in_ms", d));
		j->run->due_ms = clock_mono_ms() + d;
		wk_list_add(w, j, WAIT_TIMER);
		break;
	case SYNC_HOLD:
		/* A 429's Retry-After is a quota's reset (a 503's is not):
		 * what was accepted until then teaches a pace. */
		if (j->run->sync.http_status == 429)
			quotarate_held(&w->qrate, clock_mono_ms(),
			               j->run->sync.retry_after_s);
		start_hold(w, j->run->sync.retry_after_s);
		wk_list_add(w, j, WAIT_HOLD);
		break;
	case SYNC_REAUTH:
		auth_invalidate(w->auth, j->run->auth_gen);
		wk_list_add(w, j, WAIT_TOKEN);
		break;
	case SYNC_WAIT:
		wk_list_add(w, j, WAIT_INDEX);
		break;
	default:
		wk_complete(w, j);
		break;
	}
}

/* A response that says the quota is used up holds the endpoint until the
 * reset, as a Retry-After does (then one request probes), instead of
 * sending into a 429. So does one that leaves no more than the requests
 * in flight will use (quota_allows): waiting for the last of their
 * answers to say 0 would only start the same wait a round trip later.
 * A quota answer to a request sent before the hold began tells nothing
 * new and does not lengthen it; the probe's answer does. Non-zero when
 * it holds. Unreadable quota headers are ignored, with a warning at
 * most once a minute. */
static int quota_hold(struct worker *w, const struct api_response *r,
                      const struct job *j)
{
	int64_t now = clock_mono_ms();
	size_t n = http_in_flight(w->http);
	int used_up;

	if (r->quota == QUOTA_BAD) {
		w->quota_bad++;
		if (!w->quota_warned_ms || now - w->quota_warned_ms >= 60000) {
			log_kv(LOG_WARNING, "quota headers ignored",
			       LOG_N("count", (long)w->quota_bad));
			w->quota_warned_ms = now;
			w->quota_bad = 0;
		}
		return 0;
	}
	used_up =
	    r->quota == QUOTA_EXHAUSTED ||
	    (r->quota == QUOTA_LEFT && n > 0 && r->quota_left <= (long)n);
	if (!used_up || r->quota_wait_s <= 0)
		return 0;
	if (w->quota_since && hold_blocks(&w->hold, j))
		return 1;
	if (!w->quota_since)
		w->quota_since = now;
	log_kv(LOG_INFO, "quota used up: holding until its reset",
	       LOG_N("reset_s", r->quota_wait_s));
	start_hold(w, r->quota_wait_s);
	return 1;
}

/* The admission cap: fixed, or the adaptive limit (at most its max). */
long wk_in_flight_cap(const struct worker *w)
{
	return w->adaptive ? concurrency_limit(&w->conc)
	                   : w->cfg->target.max_in_flight;
}

/* An answer moves the adaptive limit. A lower cap only stops new
 * admissions: events already active finish, in their key's order. */
static void adapt(struct worker *w, const struct api_response *r)
{
	enum conc_signal s =
	    concurrency_signal(r->status, r->retry_after_s, r->rtt_us);
	int64_t now = clock_mono_ms(), waited;

	if (!w->adaptive)
		return;
	/* Once per window, not per answer: a pread of a small file. */
	if (concurrency_window_due(&w->conc, now) &&
	    procstat_cpu_wait_us(w->schedstat_fd, &waited) == 0)
		concurrency_cpu_wait(&w->conc, waited);
	if (!concurrency_sample(&w->conc, now, r->rtt_us, s,
	                        pipeline_active(w->pl)))
		return;
	pipeline_set_max_active(w->pl, (size_t)wk_in_flight_cap(w));
	if (concurrency_should_log(&w->conc))
		log_kv(LOG_INFO, "concurrency limit changed",
		       LOG_N("limit", wk_in_flight_cap(w)),
		       LOG_N("active", pipeline_active(w->pl)),
		       LOG_N("baseline_rtt_ms",
		             concurrency_baseline_us(&w->conc) / 1000));
}

static void on_http_done(void *arg, const struct api_response *r)
{
	struct job *j = arg;
	struct worker *w = j->w;
	enum sync_next n;

	j->run->call = NULL;
	adapt(w, r);
	quotarate_answered(&w->qrate, clock_mono_ms(), r->status);
	w->quota_left = r->quota == QUOTA_LEFT ? r->quota_left : -1;
	wk_list_remove(w, j);
	if (r->status == 0)
		log_kv(
		    LOG_WARNING, "request failed", LOG_S("key", j->key),
		    LOG_S("method", http_method_str(j->run->sync.req.method)),
		    LOG_S("path", j->run->sync.req.path),
		    LOG_S("error", r->error));
	n = sync_on_response(&j->run->sync, r);
	metrics_retry(w->metrics, j->run->sync.retry_reason);
	/* The probe's answer decides for everyone held. */
	if (hold_answered(&w->hold, j, quota_hold(w, r, j) || n == SYNC_HOLD))
		wk_end_hold(w);
	wk_handle_next(w, j, n);
	run_quota(w);
}

/* ---- token ---- */

static void release_token_waiters(struct worker *w)
{
	struct job *j;

	while ((j = w->lists[WAIT_TOKEN].head)) {
		wk_list_remove(w, j);
		wk_submit(w, j);
	}
}

static void on_token_done(void *arg, const struct api_response *r)
{
	struct worker *w = arg;
	bool ok;

	w->token_in_flight = 0;
	ok = auth_on_response(w->auth, r, clock_mono_ms());
	metrics_token_refresh(w->metrics, ok);
	if (ok)
		release_token_waiters(w);
}

void wk_maybe_fetch_token(struct worker *w)
{
	struct api_request req;
	const char *url;
	bool ready;

	if (!w->lists[WAIT_TOKEN].n || w->token_in_flight)
		return;
	/* A 401 for an older token: the current one is fine. */
	auth_header(w->auth, clock_mono_ms(), &ready);
	if (ready) {
		release_token_waiters(w);
		return;
	}
	if (!auth_want_request(w->auth, clock_mono_ms(), &url, &req))
		return;
	if (http_submit(w->http, url, &req, NULL, NULL, on_token_done, w))
		w->token_in_flight = 1;
	else if (!auth_on_response(w->auth,
	                           &(struct api_response){
	                               .status = 0,
	                               .error = "cannot start the request",
	                               .retry_after_s = -1},
	                           clock_mono_ms()))
		metrics_token_refresh(w->metrics, 0);
	api_request_done(&req);
}
