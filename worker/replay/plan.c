/* replay/plan.h. Dead letters passed over (by the filters) and stale ones
 * are not consumed for good: their partition's offset never moves past
 * the first of them (the barrier). */
#define _GNU_SOURCE
#include "replay/plan.h"

#include "core/deadletter.h"
#include "edge/scan.h"
#include "lib/strmap.h"
#include "lib/num.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string -> int64 on the daemon's one table ---- */

struct smap {
	struct strmap *m; /* created on first put; values are int64_t * */
};

static const int64_t *smap_get(const struct smap *m, const char *key)
{
	return m->m ? strmap_get(m->m, key) : NULL;
}

/* Keeps the larger value for a key already there. */
static int smap_put_max(struct smap *m, const char *key, int64_t value)
{
	int64_t *v;

	if (!m->m && !(m->m = strmap_new()))
		return -1;
	v = strmap_get(m->m, key);
	if (v) {
		if (value > *v)
			*v = value;
		return 0;
	}
	v = malloc(sizeof(*v));
	if (!v || strmap_put(m->m, key, v, NULL)) {
		free(v);
		return -1;
	}
	*v = value;
	return 0;
}

static void smap_free(struct smap *m)
{
	m->m = strmap_free(m->m, free);
}

/* ---- the plan ---- */

struct part_state {
	int32_t partition;
	int64_t start, end;
	int64_t progress; /* next offset not yet finished */
	int64_t barrier;  /* first dead letter passed over, or INT64_MAX */
};

struct replay_plan {
	struct dlq_filter filter;
	int force;

	struct part_state *parts;
	size_t n_parts;

	struct smap keys;     /* selected keys (value unused) */
	struct smap latest;   /* key \x1f topic \x1f partition -> offset */
	struct smap replayed; /* "partition:offset" of replayed dead letters */
	int64_t earliest_ms;  /* oldest selected dead letter */
	size_t selected;
};

const char *replay_verdict_str(enum replay_verdict v)
{
	static const char *const names[REPLAY_VERDICT_MAX] = {
	    [REPLAY_SYNC] = "sync",     [REPLAY_STALE] = "stale",
	    [REPLAY_PASS] = "pass",     [REPLAY_DONE] = "done",
	    [REPLAY_BEYOND] = "beyond",
	};

	return (int)v >= 0 && v < REPLAY_VERDICT_MAX ? names[v] : "?";
}

void replay_item_done(struct replay_item *it)
{
	free(it->source_topic);
	free(it->stale_reason);
	memset(it, 0, sizeof(*it));
}

struct replay_plan *replay_plan_new(const struct dlq_filter *f, int force)
{
	struct replay_plan *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (f)
		p->filter = *f;
	p->force = force;
	return p;
}

struct replay_plan *replay_plan_free(struct replay_plan *p)
{
	if (!p)
		return NULL;
	smap_free(&p->keys);
	smap_free(&p->latest);
	smap_free(&p->replayed);
	free(p->parts);
	free(p);
	return NULL;
}

static struct part_state *part_of(const struct replay_plan *p, int32_t id)
{
	for (size_t i = 0; i < p->n_parts; i++)
		if (p->parts[i].partition == id)
			return &p->parts[i];
	return NULL;
}

int replay_plan_ranges(struct replay_plan *p, const struct scan_range *r,
                       size_t n)
{
	free(p->parts);
	p->n_parts = 0;
	p->parts = calloc(n ? n : 1, sizeof(*p->parts));
	if (!p->parts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p->parts[i] = (struct part_state){
		    .partition = r[i].partition,
		    .start = r[i].start,
		    .end = r[i].end,
		    .progress = r[i].start,
		    .barrier = INT64_MAX,
		};
	}
	p->n_parts = n;
	return 0;
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

/* ---- pass 1: the dead letters ---- */

int replay_plan_select(struct replay_plan *p, const struct dead_letter *dl)
{
	if (!dlq_filter_match(&p->filter, dl))
		return 0;
	if (smap_put_max(&p->keys, dl->key, 0))
		return -ENOMEM;
	if (!p->selected || dl->timestamp_ms < p->earliest_ms)
		p->earliest_ms = dl->timestamp_ms;
	p->selected++;
	return 0;
}

size_t replay_plan_selected(const struct replay_plan *p, int64_t *earliest)
{
	if (earliest)
		*earliest = p->selected ? p->earliest_ms : 0;
	return p->selected;
}

/* ---- pass 2: the outcomes of the selected keys ---- */

int replay_plan_wants_key(const struct replay_plan *p, const char *key)
{
	return smap_get(&p->keys, key) != NULL;
}

static int is_stale_skip(const cJSON *o)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "error"), "code");

	return cJSON_IsString(code) && strcmp(code->valuestring, "stale") == 0;
}

int replay_plan_note_outcome(struct replay_plan *plan, const char *key,
                             const cJSON *o)
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
		const cJSON *p =
		    cJSON_GetObjectItemCaseSensitive(dl, "partition");
		const cJSON *off =
		    cJSON_GetObjectItemCaseSensitive(dl, "offset");

		if (!num_json_int(p, 0, INT32_MAX, &part) &&
		    !num_json_int(off, 0, INT64_MAX, &offset)) {
			replayed_key(k, sizeof(k), (long)part,
			             (long long)offset);
			if (smap_put_max(&plan->replayed, k, 0))
				return -ENOMEM;
		}
	}
	if (cJSON_IsString(st) && cJSON_IsObject(src) &&
	    (strcmp(st->valuestring, "applied") == 0 ||
	     strcmp(st->valuestring, "unchanged") == 0)) {
		const cJSON *t =
		    cJSON_GetObjectItemCaseSensitive(src, "topic");
		const cJSON *p =
		    cJSON_GetObjectItemCaseSensitive(src, "partition");
		const cJSON *off =
		    cJSON_GetObjectItemCaseSensitive(src, "offset");

		if (!cJSON_IsString(t) ||
		    num_json_int(p, 0, INT32_MAX, &part) ||
		    num_json_int(off, 0, INT64_MAX, &offset))
			return 0;
		latest_key(k, sizeof(k), key, t->valuestring, (long)part);
		if (smap_put_max(&plan->latest, k, offset))
			return -ENOMEM;
	}
	return 0;
}

/* ---- the run ---- */

/* Why a dead letter is stale, or NULL when it is not. */
static char *stale_reason(const struct replay_plan *p,
                          const struct dead_letter *dl)
{
	char k[1400], *why = NULL;
	const int64_t *later;

	if (!dl->source_topic)
		return NULL;
	latest_key(k, sizeof(k), dl->key, dl->source_topic,
	           dl->source_partition);
	later = smap_get(&p->latest, k);
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

int replay_plan_in_range(const struct replay_plan *p, int32_t partition,
                         int64_t offset)
{
	const struct part_state *ps = part_of(p, partition);

	return ps && offset < ps->end && offset >= ps->start;
}

enum replay_verdict replay_plan_judge(struct replay_plan *p, int32_t partition,
                                      int64_t offset,
                                      const struct dead_letter *dl,
                                      struct replay_item *out)
{
	struct part_state *ps = part_of(p, partition);
	char k[64];

	memset(out, 0, sizeof(*out));
	if (!replay_plan_in_range(p, partition, offset))
		return out->verdict = REPLAY_BEYOND;
	if (!dl)
		return out->verdict = REPLAY_DONE;
	replayed_key(k, sizeof(k), partition, (long long)offset);
	if (!dlq_filter_match(&p->filter, dl)) {
		out->verdict = REPLAY_PASS;
		if (offset < ps->barrier)
			ps->barrier = offset;
	} else if (smap_get(&p->replayed, k)) {
		out->verdict = REPLAY_DONE;
	} else {
		out->source_topic =
		    dl->source_topic ? strdup(dl->source_topic) : NULL;
		out->source_partition = dl->source_partition;
		out->source_offset = dl->source_offset;
		out->count = dl->replay_count + 1;
		out->stale_reason = p->force ? NULL : stale_reason(p, dl);
		out->verdict = out->stale_reason ? REPLAY_STALE : REPLAY_SYNC;
		/* A stale dead letter stays for `replay --force`: reported
		 * each time, never consumed for good. */
		if (out->stale_reason && offset < ps->barrier)
			ps->barrier = offset;
	}
	return out->verdict;
}

int64_t replay_plan_progress(struct replay_plan *p, int32_t partition,
                             int64_t next)
{
	struct part_state *ps = part_of(p, partition);

	if (!ps)
		return -1;
	ps->progress = next;
	return next < ps->barrier ? next : ps->barrier;
}

int replay_plan_finished(const struct replay_plan *p)
{
	for (size_t i = 0; i < p->n_parts; i++)
		if (p->parts[i].progress < p->parts[i].end)
			return 0;
	return 1;
}

size_t replay_plan_n_ranges(const struct replay_plan *p)
{
	return p->n_parts;
}

size_t replay_plan_assignment(const struct replay_plan *p, int32_t *partitions,
                              int64_t *offsets)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_parts; i++) {
		if (p->parts[i].start >= p->parts[i].end)
			continue;
		partitions[n] = p->parts[i].partition;
		offsets[n++] = p->parts[i].start;
	}
	return n;
}
