/* custsync replay: three passes over Kafka, then the live sync loop.
 *
 * 1. The dead-letter topic is read from the replay group's committed
 *    offsets (or the beginning) to the end offsets seen now: which dead
 *    letters the filters select, their keys, the earliest time.
 * 2. The results topic is read from that time on, keeping only what the
 *    selected keys need: for each key and source partition the highest
 *    source offset with an applied or unchanged outcome (the stale-event
 *    guard), and which dead letters already have a replay outcome (so an
 *    interrupted replay never replays one twice).
 * 3. worker.c runs the same range through the live path with the replay
 *    group's own assignment; the hooks replay fills (struct
 *    worker_hooks) classify each record, stop a dry run before it writes,
 *    report each result and say when the run is done.
 *
 * Dead letters the filters pass over, and stale ones, are not consumed
 * for good: the replay group's offset never moves past the first of
 * them. What was replayed after it is recognised in pass 2 next time. */
#define _GNU_SOURCE
#include "replay/replay.h"

#include "cli.h"
#include "help.h"
#include "config/config.h"
#include "core/deadletter.h"
#include "core/event.h"
#include "edge/kafka.h"
#include "ops/log.h"
#include "core/merge_patch.h"
#include "edge/scan.h"
#include "core/sync.h"
#include "replay/plan.h"
#include "daemon/worker.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

/* Outcomes of later changes follow their key's dead letter (one key is
 * handled in order), so the results topic is read from the dead letters'
 * time on. The margin covers clocks of several hosts writing them. */
#define RESULTS_SKEW_MS (5 * 60 * 1000)

struct replay {
	const struct config *cfg;
	int dry_run;
	struct replay_plan *plan;

	/* tally */
	size_t n_status[SYNC_STATUS_MAX], n_stale, n_passed, n_already,
	    n_foreign, n_would_write;
};

/* What the record m the loop met is (replay/plan.h). */
static enum replay_verdict classify(struct replay *rp,
                                    const rd_kafka_message_t *m,
                                    struct replay_item *out)
{
	struct dead_letter dl;
	enum replay_verdict v;

	if (!replay_plan_in_range(rp->plan, m->partition, m->offset))
		return replay_plan_judge(rp->plan, m->partition, m->offset,
		                         NULL, out);
	if (dead_letter_parse(rp->cfg, m, &dl)) {
		log_kv(LOG_WARNING, "not a dead letter, passed over for good",
		       LOG_N("partition", m->partition),
		       LOG_N("offset", m->offset));
		return replay_plan_judge(rp->plan, m->partition, m->offset,
		                         NULL, out);
	}
	v = replay_plan_judge(rp->plan, m->partition, m->offset, &dl, out);
	dead_letter_done(&dl);
	return v;
}

/* ---- what happened, for the operator ---- */

static void print_dry_write(const struct sync_job *s)
{
	const struct api_request *r = &s->req;
	const char *what = s->step == SYNC_STEP_CREATE   ? "create"
	                   : s->step == SYNC_STEP_UPDATE ? "update"
	                                                 : "delete";

	printf("would %s: %s %s%s%s\n", what, http_method_str(r->method),
	       r->path, r->body ? " " : "", r->body ? r->body : "");
}

/* One dead letter's result. dry_write: in a dry run, the write the job
 * would send now is s->req (not sent). */
static void report(struct replay *rp, int32_t partition, int64_t offset,
                   const char *key, const struct replay_item *it,
                   const struct sync_job *s, int dry_write)
{
	if (it->verdict == REPLAY_PASS) {
		rp->n_passed++;
		return;
	}
	if (it->verdict == REPLAY_DONE || !s) {
		rp->n_already++;
		return;
	}
	printf("dead letter %d:%lld key=%s ", (int)partition,
	       (long long)offset, key);
	if (dry_write) {
		rp->n_would_write++;
		print_dry_write(s);
	} else if (s->status == SYNC_FAILED) {
		rp->n_status[s->status]++;
		printf("%s: %s %s\n", rp->dry_run ? "would fail" : "failed",
		       s->err_code, s->err_msg);
	} else if (it->verdict == REPLAY_STALE) {
		rp->n_status[s->status]++;
		rp->n_stale++;
		printf("stale, not replayed: %s\n", s->err_msg);
	} else {
		rp->n_status[s->status]++;
		printf("%s%s%s\n", sync_status_str(s->status),
		       s->action != SYNC_ACTION_NONE ? " " : "",
		       s->action != SYNC_ACTION_NONE
		           ? sync_action_str(s->action)
		           : "");
	}
	fflush(stdout);
}

static void print_summary(const struct replay *rp, int interrupted)
{
	size_t replayed = rp->n_would_write;

	for (int i = 0; i < SYNC_STATUS_MAX; i++)
		replayed += rp->n_status[i];
	printf("%s%s: %zu dead letters replayed",
	       rp->dry_run ? "dry run " : "",
	       interrupted ? "interrupted" : "done", replayed);
	if (rp->dry_run)
		printf(" (would write %zu, unchanged %zu, stale %zu, "
		       "would fail %zu)",
		       rp->n_would_write, rp->n_status[SYNC_UNCHANGED],
		       rp->n_stale, rp->n_status[SYNC_FAILED]);
	else
		printf(" (applied %zu, unchanged %zu, skipped %zu of which "
		       "stale %zu, failed %zu)",
		       rp->n_status[SYNC_APPLIED],
		       rp->n_status[SYNC_UNCHANGED],
		       rp->n_status[SYNC_SKIPPED], rp->n_stale,
		       rp->n_status[SYNC_FAILED]);
	printf("; %zu passed over by the filters, %zu already replayed\n",
	       rp->n_passed, rp->n_already);
	if (interrupted)
		printf("run the same replay again to continue where it "
		       "stopped\n");
}

/* ---- passes 1 and 2 ---- */

static int on_dead_letter(void *arg, const rd_kafka_message_t *m)
{
	struct replay *rp = arg;
	struct dead_letter dl;
	int rc;

	if (dead_letter_parse(rp->cfg, m, &dl))
		return 0;
	rc = replay_plan_select(rp->plan, &dl);
	dead_letter_done(&dl);
	return rc ? -1 : 0;
}

/* Outcomes are keyed by the customer key, so most are passed over
 * without parsing their JSON. */
static int on_outcome(void *arg, const rd_kafka_message_t *m)
{
	struct replay *rp = arg;
	char key[EVENT_KEY_MAX + 1];
	cJSON *o;
	int rc;

	if (!m->key || m->key_len >= sizeof(key) || !m->payload)
		return 0;
	memcpy(key, m->key, m->key_len);
	key[m->key_len] = '\0';
	if (!replay_plan_wants_key(rp->plan, key))
		return 0;
	o = cJSON_ParseWithLength(m->payload, m->len);
	if (!o)
		return 0;
	rc = replay_plan_note_outcome(rp->plan, key, o);
	cJSON_Delete(o);
	return rc ? -1 : 0;
}

static int prepare(struct replay *rp, const char *group, int from_beginning,
                   const volatile sig_atomic_t *stop)
{
	struct scan_opts dlq = {
	    .topic = rp->cfg->kafka.dead_letter_topic,
	    .committed_group = from_beginning ? NULL : group,
	    .timeout_ms = 10000,
	    .stop = stop,
	};
	struct scan_opts res = {
	    .topic = rp->cfg->kafka.results_topic,
	    .timeout_ms = 10000,
	    .stop = stop,
	};
	struct scan_range *ranges = NULL;
	size_t n = 0;
	char err[512] = "";
	int64_t earliest;
	int rc;

	rc = scan_topic(rp->cfg, &dlq, on_dead_letter, rp, &ranges, &n, err,
	                sizeof(err));
	if (rc == 0)
		rc = replay_plan_ranges(rp->plan, ranges, n) ? -1 : 0;
	free(ranges);
	if (rc == 0 && replay_plan_selected(rp->plan, &earliest)) {
		res.since_ms = earliest > RESULTS_SKEW_MS
		                   ? earliest - RESULTS_SKEW_MS
		                   : 1;
		rc = scan_topic(rp->cfg, &res, on_outcome, rp, NULL, NULL, err,
		                sizeof(err));
	}
	if (rc < 0)
		log_err("replay cannot read its topics: %s",
		        err[0] ? err : "out of memory");
	return rc;
}

/* ---- the command ---- */

struct replay_args {
	const char *config;
	struct dlq_filter filter;
	int dry_run, force, from_beginning;
};

static int parse_args(int argc, char **argv, struct replay_args *a)
{
	enum { O_DRY = 1000, O_FORCE, O_BEGIN };
	static const struct option opts[] = {
	    DLQ_FILTER_OPTIONS,
	    {"dry-run", no_argument, NULL, O_DRY},
	    {"force", no_argument, NULL, O_FORCE},
	    {"from-beginning", no_argument, NULL, O_BEGIN},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		int r = dlq_filter_option(c, optarg, &a->config, &a->filter);

		if (r < 0)
			return EX_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case O_DRY:
			a->dry_run = 1;
			break;
		case O_FORCE:
			a->force = 1;
			break;
		case O_BEGIN:
			a->from_beginning = 1;
			break;
		case 'h':
			help_print(stdout, "replay");
			return -1;
		default:
			help_usage(stderr, "replay");
			return EX_USAGE;
		}
	}
	if (optind != argc || !a->config) {
		fprintf(stderr, "custsync replay: %s\n",
		        a->config ? "unexpected argument"
		                  : "-c FILE is required");
		help_usage(stderr, "replay");
		return EX_USAGE;
	}
	return 0;
}

/* ---- the hooks of the loop ---- */

static int hook_classify(void *arg, const rd_kafka_message_t *m,
                         struct worker_record *out)
{
	struct replay *rp = arg;
	struct replay_item *it = calloc(1, sizeof(*it));

	if (!it)
		return -1;
	memset(out, 0, sizeof(*out));
	switch (classify(rp, m, it)) {
	case REPLAY_SYNC:
		out->take = WORKER_TAKE_SYNC;
		break;
	case REPLAY_STALE:
		out->take = WORKER_TAKE_SKIP;
		out->skip_code = "stale";
		out->skip_reason = it->stale_reason;
		break;
	case REPLAY_PASS:
	case REPLAY_DONE:
		out->take = WORKER_TAKE_SETTLE;
		break;
	default:
		replay_item_done(it);
		free(it);
		out->take = WORKER_TAKE_IGNORE;
		return 0;
	}
	out->origin_topic = it->source_topic;
	out->origin_partition = it->source_partition;
	out->origin_offset = it->source_offset;
	out->redeliveries = it->count;
	out->user = it;
	return 0;
}

/* A dry run stops before every write and prints it (hook_done). */
static int hook_before_write(void *arg, void *user, const struct sync_job *s)
{
	const struct replay *rp = arg;

	(void)user;
	(void)s;
	return rp->dry_run;
}

static void hook_done(void *arg, void *user, int32_t partition, int64_t offset,
                      const char *key, const struct sync_job *s, int stopped)
{
	report(arg, partition, offset, key, user, s, stopped);
}

static int64_t hook_progress(void *arg, int32_t partition, int64_t next)
{
	struct replay *rp = arg;

	return replay_plan_progress(rp->plan, partition, next);
}

static int hook_finished(void *arg)
{
	const struct replay *rp = arg;

	return replay_plan_finished(rp->plan);
}

static void hook_release(void *arg, void *user)
{
	(void)arg;
	replay_item_done(user);
	free(user);
}

static int run_loop(struct replay *rp, const char *group)
{
	struct kafka_assignment as = {
	    .group_id = group, .topic = rp->cfg->kafka.dead_letter_topic};
	size_t n = replay_plan_n_ranges(rp->plan);
	int32_t *ps = calloc(n + 1, sizeof(*ps));
	int64_t *offs = calloc(n + 1, sizeof(*offs));
	struct worker_hooks hooks = {
	    .arg = rp,
	    .classify = hook_classify,
	    .before_write = hook_before_write,
	    .on_done = hook_done,
	    .progress = hook_progress,
	    .finished = hook_finished,
	    .release = hook_release,
	    .read_only = rp->dry_run,
	    .no_metrics = 1,
	};
	struct worker *w = NULL;
	char err[512] = "";
	int rc = EX_SOFTWARE;

	if (!ps || !offs)
		goto out;
	as.n = replay_plan_assignment(rp->plan, ps, offs);
	as.partitions = ps;
	as.offsets = offs;
	if (!as.n) {
		rc = 0;
		goto out;
	}
	w = worker_new(rp->cfg, &hooks, &as, err, sizeof(err));
	if (!w) {
		log_err("replay cannot start: %s", err);
		rc = EX_CONFIG;
		goto out;
	}
	rc = worker_run(w, &cli_stop);
	worker_free(w);
out:
	free(ps);
	free(offs);
	return rc;
}

int replay_command(int argc, char **argv)
{
	struct replay_args a = {0};
	struct replay rp = {0};
	struct config cfg;
	char *group = NULL;
	int rc = parse_args(argc, argv, &a);

	if (rc)
		return rc < 0 ? EX_OK : rc;
	if (cli_start(a.config, &cfg))
		return EX_CONFIG;
	rp.cfg = &cfg;
	rp.dry_run = a.dry_run;
	rp.plan = replay_plan_new(&a.filter, a.force);
	if (!rp.plan ||
	    asprintf(&group, "%s.replay", cfg.kafka.group_id) < 0) {
		replay_plan_free(rp.plan);
		config_done(&cfg);
		return EX_SOFTWARE;
	}
	rc = prepare(&rp, group, a.from_beginning, &cli_stop);
	if (rc < 0)
		rc = EX_UNAVAILABLE;
	else if (rc > 0 || cli_stop)
		rc = 0;
	else if (curl_global_init(CURL_GLOBAL_DEFAULT))
		rc = EX_SOFTWARE;
	else {
		rc = run_loop(&rp, group);
		curl_global_cleanup();
	}
	if (rc == 0)
		print_summary(&rp, cli_stop != 0);
	replay_plan_free(rp.plan);
	free(group);
	config_done(&cfg);
	return rc;
}
