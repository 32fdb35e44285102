/* The worker's loop: what it waits for, its timers, status and
 * watchdog, shutdown; and the worker made and freed. */
#include "daemon/worker_int.h"

/* ---- loop ---- */

static void start_ready(struct worker *w)
{
	struct pl_event *ev;

	while (!w->stopping && (ev = pipeline_next_ready(w->pl))) {
		struct job *j = ev->user;

		if (j->rec.take == WORKER_TAKE_SETTLE) {
			wk_complete_quietly(w, j, NULL, 0);
			continue;
		}
		if (wk_job_start(w, j)) {
			/* Its offset stays unstored: it comes back after a
			 * restart. */
			pipeline_abandon(w->pl, ev);
			wk_job_free(j);
			wk_fatal(w, WORKER_EXIT_SOFTWARE, "out of memory");
			break;
		}
		sync_init(&j->run->sync,
		          j->run->parsed ? &j->run->change : NULL, w->profile,
		          w->cfg, w->cache, w->index);
		if (j->rec.take == WORKER_TAKE_SKIP) {
			sync_skip(&j->run->sync, j->rec.skip_code,
			          j->rec.skip_reason);
			wk_complete(w, j);
			continue;
		}
		if (!j->run->parsed) {
			sync_fail(&j->run->sync, j->run->perr.code,
			          j->run->perr.message);
			wk_complete(w, j);
			continue;
		}
		wk_handle_next(w, j, sync_start(&j->run->sync));
	}
}

/* Jobs waiting for the key index go on once nobody scans it: each
 * looks again (one of them may claim the next scan, and the others then
 * wait for that one). */
static void release_index_waiters(struct worker *w)
{
	struct job_list waiting = w->lists[WAIT_INDEX];
	enum keyindex_state st;
	struct job *j;

	if (!w->index)
		return;
	st = keyindex_state(w->index);
	if (st != w->index_seen && st == KEYINDEX_READY)
		log_kv(LOG_INFO, "key index ready",
		       LOG_N("entries", keyindex_size(w->index)),
		       LOG_N("scans", keyindex_scans(w->index)));
	else if (st != w->index_seen && st == KEYINDEX_FAILED)
		log_warn("key index: the list cannot be read; looking up "
		         "each key on its own");
	w->index_seen = st;
	if (st == KEYINDEX_SCANNING || !waiting.n)
		return;
	memset(&w->lists[WAIT_INDEX], 0, sizeof(w->lists[WAIT_INDEX]));
	while ((j = waiting.head)) {
		waiting.head = j->run->next;
		j->run->prev = j->run->next = NULL;
		j->run->wait = WAIT_NONE;
		wk_handle_next(w, j, sync_resume(&j->run->sync));
	}
}

static void run_timers(struct worker *w, int64_t now)
{
	struct job *j = w->lists[WAIT_TIMER].head, *next;

	for (; j; j = next) {
		next = j->run->next;
		if (j->run->due_ms > now)
			continue;
		wk_list_remove(w, j);
		wk_submit(w, j);
	}
	switch (hold_due(&w->hold, now, w->lists[WAIT_HOLD].n)) {
	case HOLD_END:
		wk_end_hold(w);
		break;
	case HOLD_PROBE:
		/* One request probes before the rest resume. */
		j = w->lists[WAIT_HOLD].head;
		wk_list_remove(w, j);
		hold_probe(&w->hold, j);
		log_kv(LOG_INFO, "retry-after elapsed: probing",
		       LOG_S("key", j->key));
		wk_submit(w, j);
		break;
	default:
		break;
	}
	if (quotarate_tick(&w->qrate, now))
		wk_log_quotarate(w);
	wk_run_rate(w, now);
	if (w->avro) {
		avroinput_run(w->avro, now);
		wk_pause_set(w, PAUSE_SCHEMA, avroinput_blocked(w->avro));
	}
}

/* A check that just misses the due time may be followed by a wait of
 * LOOP_MAX_WAIT_MS, so ping that much early: the gap then stays within
 * half of WatchdogSec= (sd_watchdog_enabled(3)'s advice). The floor
 * bounds the rate for very short intervals. */
static int64_t watchdog_ms(const struct worker *w)
{
	int64_t ping_ms =
	    (int64_t)(w->watchdog_usec / 2000) - LOOP_MAX_WAIT_MS;

	return ping_ms < LOOP_MAX_WAIT_MS / 10 ? LOOP_MAX_WAIT_MS / 10
	                                       : ping_ms;
}

static int next_timeout(struct worker *w, int64_t now)
{
	int64_t next = now + w->max_wait_ms;
	const struct job *j;

	/* A longer wait than LOOP_MAX_WAIT_MS still ends for the watchdog
	 * ping. */
	if (w->watchdog_usec && w->last_watchdog + watchdog_ms(w) < next)
		next = w->last_watchdog + watchdog_ms(w);

	for (j = w->lists[WAIT_TIMER].head; j; j = j->run->next)
		if (j->run->due_ms < next)
			next = j->run->due_ms;
	if (hold_wake_ms(&w->hold) < next)
		next = hold_wake_ms(&w->hold);
	if (w->lists[WAIT_TOKEN].n && auth_next_ms(w->auth) < next)
		next = auth_next_ms(w->auth);
	if (w->lists[WAIT_RATE].n &&
	    wk_rate_due(w, w->lists[WAIT_RATE].head, now) < next)
		next = wk_rate_due(w, w->lists[WAIT_RATE].head, now);
	if (w->avro && avroinput_next_ms(w->avro) &&
	    avroinput_next_ms(w->avro) < next)
		next = avroinput_next_ms(w->avro);
	return next <= now ? 0 : (int)(next - now);
}

static void notify_status(struct worker *w, int64_t now)
{
	size_t assigned, paused;
	double secs;
	char pace[64];

	if (w->watchdog_usec && now - w->last_watchdog >= watchdog_ms(w)) {
		sd_notify(0, "WATCHDOG=1");
		w->last_watchdog = now;
	}
	if (now - w->last_status < STATUS_EVERY_MS)
		return;
	secs = (double)(now - w->last_status) / 1000.0;
	paused = backpressure_paused(&w->bp, w->paused != 0, &assigned);
	/* The learnt pace only while there is one: it is rare. */
	snprintf(pace, sizeof(pace), ", paced to %.1f requests/s",
	         quotarate_rate(&w->qrate));
	sd_notifyf(0,
	           "STATUS=%.1f events/s, %zu in flight, %zu buffered, "
	           "%zu/%zu partitions paused, concurrency limit %ld%s",
	           (double)(w->events_done - w->events_at_status) / secs,
	           http_in_flight(w->http), pipeline_buffered(w->pl), paused,
	           assigned, wk_in_flight_cap(w),
	           quotarate_rate(&w->qrate) > 0 ? pace : "");
	w->events_at_status = w->events_done;
	w->last_status = now;
}

static void begin_stop(struct worker *w)
{
	struct job *j;

	log_kv(LOG_NOTICE, "stopping: no new events",
	       LOG_N("in_flight", http_in_flight(w->http)),
	       LOG_N("buffered", pipeline_buffered(w->pl)));
	sd_notify(0, "STOPPING=1");
	w->stopping = 1;
	wk_pause_set(w, PAUSE_SHUTDOWN, 1);
	pipeline_drop_queued(w->pl, wk_release_job, w);
	if (w->avro)
		avroinput_stop(w->avro);
	/* Waits that may last long are abandoned now; requests in flight
	 * get until the shutdown deadline. Abandoned events keep their
	 * offsets unstored and come back after a restart. */
	for (int l = WAIT_TOKEN; l < WAIT_MAX; l++) {
		while ((j = w->lists[l].head)) {
			wk_job_detach(w, j);
			pipeline_abandon(w->pl, j->ev);
			wk_job_free(j);
		}
	}
	hold_cancel(&w->hold);
}

/* Past the shutdown deadline: requests still running are cancelled; their
 * events keep their offsets unstored. */
static void abandon_in_flight(struct worker *w)
{
	struct job *j;

	while ((j = w->lists[WAIT_HTTP].head)) {
		log_kv(
		    LOG_WARNING, "abandoning request", LOG_S("key", j->key),
		    LOG_S("method", http_method_str(j->run->sync.req.method)),
		    LOG_S("path", j->run->sync.req.path));
		wk_job_detach(w, j);
		pipeline_abandon(w->pl, j->ev);
		wk_job_free(j);
	}
}

/* Outcomes produced so far are flushed (bounded), what they acknowledge
 * is stored and committed, then the group is left. */
static void finish_stop(struct worker *w, int64_t deadline)
{
	int64_t left_ms = deadline - clock_mono_ms();
	int undelivered;

	abandon_in_flight(w);
	if (left_ms < 1000)
		left_ms = 1000;
	undelivered = kafka_flush(w->kafka, (int)left_ms);
	if (undelivered > 0)
		log_kv(LOG_WARNING,
		       "outcomes not acknowledged at shutdown: their events "
		       "will be processed again",
		       LOG_N("count", undelivered));
	if (!w->hooks.read_only)
		kafka_commit(w->kafka);
	kafka_close_consumer(w->kafka);
	kafka_purge(w->kafka);
	log_kv(LOG_NOTICE, "stopped", LOG_N("events", w->events_done),
	       LOG_N("applied", w->counts[SYNC_APPLIED]),
	       LOG_N("unchanged", w->counts[SYNC_UNCHANGED]),
	       LOG_N("skipped", w->counts[SYNC_SKIPPED]),
	       LOG_N("failed", w->counts[SYNC_FAILED]));
}

static void update_metrics(struct worker *w, int64_t now)
{
	size_t assigned, paused;

	if (!w->metrics)
		return;
	paused = backpressure_paused(&w->bp, w->paused != 0, &assigned);
	metrics_loop(w->metrics, now, http_in_flight(w->http), paused,
	             hold_left_ms(&w->hold, now));
	metrics_rate_tokens(
	    w->metrics,
	    ratelimit_on(&w->rate) ? ratelimit_tokens(&w->rate, now) : -1,
	    ratelimit_on(&w->write_rate)
	        ? ratelimit_tokens(&w->write_rate, now)
	        : -1);
	metrics_concurrency(w->metrics, wk_in_flight_cap(w),
	                    pipeline_active(w->pl));
	metrics_quota_pace(w->metrics, quotarate_rate(&w->qrate));
	metrics_cache(w->metrics, cache_size(w->cache), cache_bytes(w->cache));
	metrics_concurrency_stalled(w->metrics,
	                            concurrency_stalled_windows(&w->conc));
}

/* A run with an end of its own (replay) has reached it. */
static int run_finished(struct worker *w)
{
	return w->hooks.finished && w->hooks.finished(w->hooks.arg);
}

int worker_run(struct worker *w, const volatile sig_atomic_t *stop)
{
	int fd = kafka_fd(w->kafka);
	int64_t deadline = 0, now;

	w->last_status = clock_mono_ms();
	if (w->adaptive && w->schedstat_fd < 0)
		w->schedstat_fd = procstat_open_schedstat();
	sd_notify(0, "READY=1\nSTATUS=consuming");
	log_kv(LOG_NOTICE, "custsync running",
	       LOG_S("profile", w->profile->name),
	       LOG_N("topics", w->cfg->kafka.n_topics),
	       LOG_S("group", w->cfg->kafka.group_id),
	       LOG_N("max_in_flight",
	             w->adaptive ? w->conc.max : wk_in_flight_cap(w)),
	       LOG_S("concurrency", w->adaptive ? "adaptive" : "fixed"));
	for (;;) {
		now = clock_mono_ms();
		if ((*stop || w->exit_code || run_finished(w)) && !deadline) {
			begin_stop(w);
			deadline = now + w->cfg->worker.shutdown_timeout_ms;
		}
		if (deadline && (http_in_flight(w->http) == 0 ||
		                 now >= deadline || w->exit_code))
			break;
		start_ready(w);
		wk_maybe_fetch_token(w);
		notify_status(w, now);
		update_metrics(w, now);
		http_wait(w->http, &fd, 1, next_timeout(w, now));
		http_dispatch(w->http);
		kafka_dispatch(w->kafka);
		if (w->reapply_pause) {
			if (w->paused)
				kafka_pause_all(w->kafka, 1);
			else
				backpressure_repause(&w->bp);
		}
		w->reapply_pause = 0;
		backpressure_release(&w->bp, w->paused != 0,
		                     pipeline_active(w->pl) +
		                             pipeline_ready(w->pl) <
		                         (size_t)wk_in_flight_cap(w));
		run_timers(w, clock_mono_ms());
		release_index_waiters(w);
	}
	finish_stop(w, deadline);
	return w->exit_code;
}

struct worker *worker_new(const struct config *cfg,
                          const struct worker_hooks *hooks,
                          const struct kafka_assignment *as, char *err,
                          size_t errlen)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct kafka_callbacks cb = {
	    .assigned = wk_on_assigned,
	    .revoked = wk_on_revoked,
	    .message = wk_on_message,
	    .delivered = wk_on_delivered,
	    .fatal = wk_on_fatal,
	};
	struct http_options ho = {
	    .timeout_ms = cfg->target.timeout_ms,
	    .connect_timeout_ms = cfg->target.connect_timeout_ms,
	    .max_connections = cfg->target.max_connections
	                           ? cfg->target.max_connections
	                       : cfg->target.max_in_flight == CONFIG_ADAPTIVE
	                           ? cfg->target.adaptive.max
	                           : cfg->target.max_in_flight,
	    .tls_verify = cfg->target.tls_verify,
	    .tls = &cfg->target.tls,
	    .proxy = &cfg->target.proxy,
	    .headers = cfg->target.headers,
	    .n_headers = cfg->target.n_headers,
	    .max_response_bytes = (size_t)cfg->target.max_response_bytes,
	};

	if (!w)
		return NULL;
	w->cfg = cfg;
	w->schedstat_fd = -1;
	w->max_wait_ms = LOOP_MAX_WAIT_MS;
	ratelimit_init(&w->rate, cfg->target.rate_limit.requests,
	               cfg->target.rate_limit.per_ms,
	               cfg->target.rate_limit.burst, clock_mono_ms());
	ratelimit_init(&w->write_rate, cfg->target.write_rate_limit.requests,
	               cfg->target.write_rate_limit.per_ms,
	               cfg->target.write_rate_limit.burst, clock_mono_ms());
	if (hooks)
		w->hooks = *hooks;
	w->profile = profile_find(cfg->target.profile);
	if (!w->profile) {
		snprintf(err, errlen, "unknown profile '%s'",
		         cfg->target.profile);
		return worker_free(w);
	}
	cb.arg = w;
	/* Not for replay, which runs next to the daemon and its port. */
	if (cfg->metrics.listen && !w->hooks.no_metrics) {
		w->metrics = metrics_new(w->profile->name, cfg->metrics.listen,
		                         err, errlen);
		if (!w->metrics)
			return worker_free(w);
		cb.stats = wk_on_stats;
		ho.metrics = w->metrics;
		w->max_wait_ms = LOOP_MAX_WAIT_STATS_MS;
	}
	w->cache = cache_new(CACHE_MAX_ENTRIES);
	if (w->cache)
		cache_set_max_bytes(w->cache,
		                    (size_t)cfg->worker.cache_mb << 20);
	if (w->profile->flags & PROFILE_INDEXED) {
		w->index = keyindex_new();
		if (!w->index) {
			snprintf(err, errlen, "out of memory");
			return worker_free(w);
		}
	}
	w->quota_left = -1;
	w->adaptive = cfg->target.max_in_flight == CONFIG_ADAPTIVE;
	if (w->adaptive)
		concurrency_init(&w->conc, cfg->target.adaptive.min,
		                 cfg->target.adaptive.max, clock_mono_ms());
	quotarate_init(&w->qrate, w->adaptive, clock_mono_ms());
	w->pl = pipeline_new((size_t)wk_in_flight_cap(w));
	if (w->pl)
		pipeline_set_partition_cap(
		    w->pl, (size_t)cfg->target.max_in_flight_per_partition);
	w->http = http_new(&ho);
	w->auth = auth_new(cfg);
	w->event_opt = event_options_of(cfg);
	if (w->http && cfg->input.format == INPUT_AVRO) {
		w->avro = avroinput_new(cfg, w->http, wk_take_message, w);
		if (w->avro)
			avroinput_options(w->avro, &w->event_opt);
	}
	if (!w->cache || !w->pl || !w->http || !w->auth ||
	    (cfg->input.format == INPUT_AVRO && !w->avro)) {
		snprintf(err, errlen, "out of memory");
		return worker_free(w);
	}
	w->kafka = kafka_new(cfg, &cb, as, err, errlen);
	if (!w->kafka)
		return worker_free(w);
	w->bp = (struct backpressure){
	    .pl = w->pl,
	    .kafka = w->kafka,
	    .max_buffered = cfg->worker.max_buffered_events,
	};
	if (sd_watchdog_enabled(0, &w->watchdog_usec) <= 0)
		w->watchdog_usec = 0;
	srand((unsigned)(clock_mono_ms() ^ (int64_t)getpid()));
	return w;
}

struct worker *worker_free(struct worker *w)
{
	if (!w)
		return NULL;
	if (w->schedstat_fd >= 0)
		close(w->schedstat_fd);
	/* The consumer goes first: its last revoke still needs the
	 * pipeline. */
	w->kafka = kafka_free(w->kafka);
	while (w->lists[WAIT_HTTP].head || w->lists[WAIT_TOKEN].head ||
	       w->lists[WAIT_HOLD].head || w->lists[WAIT_TIMER].head ||
	       w->lists[WAIT_INDEX].head || w->lists[WAIT_RATE].head ||
	       w->lists[WAIT_QUOTA].head) {
		for (int l = WAIT_HTTP; l < WAIT_MAX; l++) {
			struct job *j = w->lists[l].head;

			if (!j)
				continue;
			wk_job_detach(w, j);
			if (j->ev)
				pipeline_abandon(w->pl, j->ev);
			wk_job_free(j);
		}
	}
	w->pl = pipeline_free(w->pl);
	/* Before http: it cancels its fetches there. */
	avroinput_free(w->avro);
	w->avro = NULL;
	w->http = http_free(w->http);
	w->auth = auth_free(w->auth);
	w->cache = cache_free(w->cache);
	w->index = keyindex_free(w->index);
	/* Last: the consumer's close still reports statistics. */
	w->metrics = metrics_free(w->metrics);
	wk_runs_free(w);
	free(w);
	return NULL;
}
