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
#include "config/config.h"
#include "core/deadletter.h"
#include "core/event.h"
#include "lib/hash.h"
#include "edge/kafka.h"
#include "ops/log.h"
#include "core/merge_patch.h"
#include "lib/num.h"
#include "edge/scan.h"
#include "core/sync.h"
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

/* ---- a small string -> int64 map ---- */

struct smap_entry {
	struct smap_entry *next;
	int64_t value;
	char key[];
};

struct smap {
	struct smap_entry **b;
	size_t nb, n;
};

static struct smap_entry **smap_slot(struct smap *m, const char *key)
{
	struct smap_entry **e = &m->b[hash_str(key) & (m->nb - 1)];

	while (*e && strcmp((*e)->key, key) != 0)
		e = &(*e)->next;
	return e;
}

static int smap_grow(struct smap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 1024;
	struct smap_entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < m->nb; i++) {
		struct smap_entry *e = m->b[i], *next;

		for (; e; e = next) {
			size_t h = hash_str(e->key) & (nb - 1);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

static const int64_t *smap_get(struct smap *m, const char *key)
{
	struct smap_entry *e;

	if (!m->nb)
		return NULL;
	e = *smap_slot(m, key);
	return e ? &e->value : NULL;
}

/* Keeps the larger value for a key already there. */
static int smap_put_max(struct smap *m, const char *key, int64_t value)
{
	struct smap_entry **slot, *e;
	size_t len = strlen(key);

	if ((m->n + 1) * 4 > m->nb * 3 && smap_grow(m))
		return -1;
	slot = smap_slot(m, key);
	if (*slot) {
		if (value > (*slot)->value)
			(*slot)->value = value;
		return 0;
	}
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -1;
	memcpy(e->key, key, len + 1);
	e->value = value;
	e->next = NULL;
	*slot = e;
	m->n++;
	return 0;
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct smap_entry *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

/* ---- the run ---- */

struct part_state {
	int32_t partition;
	int64_t start, end;
	int64_t progress; /* next offset not yet finished */
	int64_t barrier;  /* first dead letter passed over, or INT64_MAX */
};

struct replay {
	const struct config *cfg;
	struct dlq_filter filter;
	int dry_run, force;

	struct part_state *parts;
	size_t n_parts;

	struct smap keys;     /* selected keys (value unused) */
	struct smap latest;   /* key \x1f topic \x1f partition -> offset */
	struct smap replayed; /* "partition:offset" of replayed dead letters */
	int64_t earliest_ms;  /* oldest selected dead letter */
	size_t selected;

	/* tally */
	size_t n_status[SYNC_STATUS_MAX], n_stale, n_passed, n_already,
		n_foreign, n_would_write;
};

static struct part_state *part_of(const struct replay *rp, int32_t p)
{
	for (size_t i = 0; i < rp->n_parts; i++)
		if (rp->parts[i].partition == p)
			return &rp->parts[i];
	return NULL;
}

void replay_item_done(struct replay_item *it)
{
	free(it->source_topic);
	free(it->stale_reason);
	memset(it, 0, sizeof(*it));
}

static void latest_key(char *buf, size_t len, const char *key,
		       const char *topic, long partition)
{
	snprintf(buf, len, "%s\x1f%s\x1f%ld", key, topic, partition);
}

static void replayed_key(char *buf, size_t len, long partition,
			 long long offset)
{
	snprintf(buf, len, "%ld:%lld", partition, offset);
}

/* Why a dead letter is stale, or NULL when it is not. */
static char *stale_reason(struct replay *rp, const struct dead_letter *dl)
{
	char k[1400], *why = NULL;
	const int64_t *later;

	if (!dl->source_topic)
		return NULL;
	latest_key(k, sizeof(k), dl->key, dl->source_topic,
		   dl->source_partition);
	later = smap_get(&rp->latest, k);
	if (!later || *later <= dl->source_offset)
		return NULL;
	if (asprintf(&why,
		     "a later change of key %s (topic %s partition %d "
		     "offset %lld) was already applied",
		     dl->key, dl->source_topic, (int)dl->source_partition,
		     (long long)*later) < 0)
		return NULL;
	return why;
}

int replay_classify(struct replay *rp, const rd_kafka_message_t *m,
		    struct replay_item *out)
{
	struct part_state *ps = part_of(rp, m->partition);
	struct dead_letter dl;
	char k[64];

	memset(out, 0, sizeof(*out));
	if (!ps || m->offset >= ps->end || m->offset < ps->start)
		return out->verdict = REPLAY_BEYOND;
	if (dead_letter_parse(rp->cfg, m, &dl)) {
		log_warn("not a dead letter, passed over for good "
			 "partition=%d offset=%lld",
			 (int)m->partition, (long long)m->offset);
		return out->verdict = REPLAY_DONE;
	}
	replayed_key(k, sizeof(k), m->partition, (long long)m->offset);
	if (!dlq_filter_match(&rp->filter, &dl)) {
		out->verdict = REPLAY_PASS;
		if (m->offset < ps->barrier)
			ps->barrier = m->offset;
	} else if (smap_get(&rp->replayed, k)) {
		out->verdict = REPLAY_DONE;
	} else {
		out->source_topic = dl.source_topic ? strdup(dl.source_topic)
						    : NULL;
		out->source_partition = dl.source_partition;
		out->source_offset = dl.source_offset;
		out->count = dl.replay_count + 1;
		out->stale_reason = rp->force ? NULL : stale_reason(rp, &dl);
		out->verdict = out->stale_reason ? REPLAY_STALE : REPLAY_SYNC;
		/* A stale dead letter stays for `replay --force`: reported
		 * each time, never consumed for good. */
		if (out->stale_reason && m->offset < ps->barrier)
			ps->barrier = m->offset;
	}
	dead_letter_done(&dl);
	return out->verdict;
}

int64_t replay_progress(struct replay *rp, int32_t partition, int64_t next)
{
	struct part_state *ps = part_of(rp, partition);

	if (!ps)
		return -1;
	ps->progress = next;
	return next < ps->barrier ? next : ps->barrier;
}

int replay_finished(const struct replay *rp)
{
	for (size_t i = 0; i < rp->n_parts; i++)
		if (rp->parts[i].progress < rp->parts[i].end)
			return 0;
	return 1;
}

/* ---- what happened, for the operator ---- */

static void print_dry_write(const struct sync_job *s)
{
	const struct api_request *r = &s->req;
	const char *what = s->step == SYNC_STEP_CREATE	 ? "create"
			   : s->step == SYNC_STEP_UPDATE ? "update"
							 : "delete";

	printf("would %s: %s %s%s%s\n", what, http_method_str(r->method),
	       r->path, r->body ? " " : "", r->body ? r->body : "");
}

void replay_report(struct replay *rp, int32_t partition, int64_t offset,
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
	printf("%s%s: %zu dead letters replayed", rp->dry_run ? "dry run " : "",
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

	if (dead_letter_parse(rp->cfg, m, &dl))
		return 0;
	if (dlq_filter_match(&rp->filter, &dl)) {
		if (smap_put_max(&rp->keys, dl.key, 0)) {
			dead_letter_done(&dl);
			return -1;
		}
		if (!rp->selected || dl.timestamp_ms < rp->earliest_ms)
			rp->earliest_ms = dl.timestamp_ms;
		rp->selected++;
	}
	dead_letter_done(&dl);
	return 0;
}

static int is_stale_skip(const cJSON *o)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "error"), "code");

	return cJSON_IsString(code) && strcmp(code->valuestring, "stale") == 0;
}

static int note_outcome(struct replay *rp, const cJSON *o, const char *key)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
	const cJSON *dl = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "replay"), "dead_letter");
	int64_t part, offset;
	char k[1400];

	/* A stale skip settled nothing: --force may still replay it. An
	 * outcome is anyone's record: a position that is none (-1, 1e300)
	 * names no dead letter. */
	if (cJSON_IsObject(dl) && !is_stale_skip(o)) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(dl,
								  "partition");
		const cJSON *off = cJSON_GetObjectItemCaseSensitive(dl,
								    "offset");

		if (!num_json_int(p, 0, INT32_MAX, &part) &&
		    !num_json_int(off, 0, INT64_MAX, &offset)) {
			replayed_key(k, sizeof(k), (long)part,
				     (long long)offset);
			if (smap_put_max(&rp->replayed, k, 0))
				return -1;
		}
	}
	if (cJSON_IsString(st) && cJSON_IsObject(src) &&
	    (strcmp(st->valuestring, "applied") == 0 ||
	     strcmp(st->valuestring, "unchanged") == 0)) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(src, "topic");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(src,
								  "partition");
		const cJSON *off = cJSON_GetObjectItemCaseSensitive(src,
								    "offset");

		if (!cJSON_IsString(t) ||
		    num_json_int(p, 0, INT32_MAX, &part) ||
		    num_json_int(off, 0, INT64_MAX, &offset))
			return 0;
		latest_key(k, sizeof(k), key, t->valuestring, (long)part);
		if (smap_put_max(&rp->latest, k, offset))
			return -1;
	}
	return 0;
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
	if (!smap_get(&rp->keys, key))
		return 0;
	o = cJSON_ParseWithLength(m->payload, m->len);
	if (!o)
		return 0;
	rc = note_outcome(rp, o, key);
	cJSON_Delete(o);
	return rc;
}

static int load_ranges(struct replay *rp, struct scan_range *r, size_t n)
{
	rp->parts = calloc(n ? n : 1, sizeof(*rp->parts));
	if (!rp->parts)
		return -1;
	for (size_t i = 0; i < n; i++) {
		rp->parts[i] = (struct part_state){
			.partition = r[i].partition,
			.start = r[i].start,
			.end = r[i].end,
			.progress = r[i].start,
			.barrier = INT64_MAX,
		};
	}
	rp->n_parts = n;
	return 0;
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
	int rc;

	rc = scan_topic(rp->cfg, &dlq, on_dead_letter, rp, &ranges, &n, err,
			sizeof(err));
	if (rc == 0)
		rc = load_ranges(rp, ranges, n);
	free(ranges);
	if (rc == 0 && rp->selected) {
		res.since_ms = rp->earliest_ms > RESULTS_SKEW_MS
				       ? rp->earliest_ms - RESULTS_SKEW_MS
				       : 1;
		rc = scan_topic(rp->cfg, &res, on_outcome, rp, NULL, NULL,
				err, sizeof(err));
	}
	if (rc < 0)
		log_err("replay cannot read its topics: %s",
			err[0] ? err : "out of memory");
	return rc;
}

/* ---- the command ---- */

static void usage(FILE *f)
{
	fputs("usage: custsync replay -c FILE [--code CODE] [--key KEY]\n"
	      "                       [--since TIME] [--dry-run] [--force]\n"
	      "                       [--from-beginning]\n"
	      "\n"
	      "Runs dead letters through the sync path again, from where the\n"
	      "previous replay stopped (consumer group GROUP_ID.replay) up to\n"
	      "the end of the dead-letter topic as it is now. Each replayed\n"
	      "event gets an outcome with a \"replay\" member; one that fails\n"
	      "again goes back to the dead-letter topic. Dead letters the\n"
	      "filters pass over stay for a later replay.\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE   the daemon's YAML configuration\n"
	      "  --code CODE         only dead letters with this error code\n"
	      "                      (e.g. forbidden, validation, not_found)\n"
	      "  --key KEY           only this customer key\n"
	      "  --since TIME        only dead letters written at or after\n"
	      "                      TIME: 2026-11-23T10:00:00Z, 2026-11-23,\n"
	      "                      or a duration back from now: 90s 15m 2h 7d\n"
	      "  --dry-run           print what each would do (create, the\n"
	      "                      patch it would send, delete, stale) with\n"
	      "                      reads only; write, produce, commit nothing\n"
	      "  --force             replay stale dead letters too (a later\n"
	      "                      change of the key was already applied)\n"
	      "  --from-beginning    read the dead-letter topic from its start,\n"
	      "                      not from where the last replay stopped;\n"
	      "                      dead letters already replayed stay done\n"
	      "  -h, --help          print this help\n"
	      "\n"
	      "Prints one line per replayed dead letter and a summary; exits 0\n"
	      "(also after SIGTERM: the next replay continues), 64 usage,\n"
	      "69 Kafka unreachable, 78 configuration.\n",
	      f);
}

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
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || !a->config) {
		fprintf(stderr, "custsync replay: %s\n",
			a->config ? "unexpected argument" : "-c FILE is required");
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
	switch (replay_classify(rp, m, it)) {
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
	out->replay_count = it->count;
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

static void hook_done(void *arg, void *user, int32_t partition,
		      int64_t offset, const char *key,
		      const struct sync_job *s, int stopped)
{
	replay_report(arg, partition, offset, key, user, s, stopped);
}

static int64_t hook_progress(void *arg, int32_t partition, int64_t next)
{
	return replay_progress(arg, partition, next);
}

static int hook_finished(void *arg)
{
	return replay_finished(arg);
}

static void hook_release(void *arg, void *user)
{
	(void)arg;
	replay_item_done(user);
	free(user);
}

static int run_loop(struct replay *rp, const char *group)
{
	struct kafka_assignment as = {.group_id = group,
				      .topic = rp->cfg->kafka.dead_letter_topic};
	int32_t *ps = calloc(rp->n_parts + 1, sizeof(*ps));
	int64_t *offs = calloc(rp->n_parts + 1, sizeof(*offs));
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
	for (size_t i = 0; i < rp->n_parts; i++) {
		if (rp->parts[i].start >= rp->parts[i].end)
			continue;
		ps[as.n] = rp->parts[i].partition;
		offs[as.n++] = rp->parts[i].start;
	}
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

static void replay_free(struct replay *rp)
{
	smap_free(&rp->keys);
	smap_free(&rp->latest);
	smap_free(&rp->replayed);
	free(rp->parts);
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
	rp.filter = a.filter;
	rp.dry_run = a.dry_run;
	rp.force = a.force;
	if (asprintf(&group, "%s.replay", cfg.kafka.group_id) < 0) {
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
	replay_free(&rp);
	free(group);
	config_done(&cfg);
	return rc;
}
