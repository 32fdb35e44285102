#include "core/outcome.h"

#include "core/sync.h"
#include "lib/num.h"
#include "lib/strbuf.h"

/* Written directly, member by member, in the order the record always had:
 * building a cJSON tree and printing it was a tenth of the daemon's
 * instructions per event (a node per member, numbers printed and scanned
 * back as doubles). */

int outcome_time(int64_t epoch_ms, char *buf, size_t len)
{
	return num_time(epoch_ms, buf, len);
}

/* ",\"name\":" -- every member but the first of an object. */
static void member(struct strbuf *b, const char *name, bool first)
{
	if (!first)
		strbuf_putc(b, ',');
	strbuf_json(b, name);
	strbuf_putc(b, ':');
}

static void add_str(struct strbuf *b, const char *name, const char *v)
{
	member(b, name, false);
	strbuf_json(b, v);
}

static void add_num(struct strbuf *b, const char *name, int64_t v)
{
	member(b, name, false);
	strbuf_i64(b, v);
}

/* An HTTP status is a number only when a response gave one. */
static void add_status(struct strbuf *b, const char *name, long v, bool first)
{
	member(b, name, first);
	if (v > 0)
		strbuf_i64(b, v);
	else
		strbuf_put(b, "null", 4);
}

static void add_conflicts(struct strbuf *b, const struct sync_job *j)
{
	member(b, "conflicts", false);
	strbuf_putc(b, '[');
	for (int i = 0; i < j->n_conflicts; i++) {
		if (i)
			strbuf_putc(b, ',');
		strbuf_putc(b, '{');
		member(b, "status", true);
		strbuf_i64(b, j->conflicts[i].status);
		add_str(b, "field", j->conflicts[i].field);
		add_str(b, "target_id", j->conflicts[i].target_id);
		strbuf_putc(b, '}');
	}
	strbuf_putc(b, ']');
}

static void add_error(struct strbuf *b, const struct sync_job *j)
{
	member(b, "error", false);
	/* A skip carries an error only when it has a reason to report
	 * (replay's "stale"); a tombstone's skip has none. */
	if (j->status != SYNC_FAILED &&
	    (j->status != SYNC_SKIPPED || !j->err_code)) {
		strbuf_put(b, "null", 4);
		return;
	}
	strbuf_putc(b, '{');
	member(b, "code", true);
	strbuf_json(b, j->err_code);
	add_str(b, "message", j->err_msg);
	add_status(b, "http_status", j->err_http_status, false);
	strbuf_putc(b, '}');
}

static void add_source(struct strbuf *b, const struct outcome_source *s)
{
	member(b, "source", false);
	strbuf_putc(b, '{');
	member(b, "topic", true);
	strbuf_json(b, s->topic);
	add_num(b, "partition", s->partition);
	add_num(b, "offset", s->offset);
	strbuf_putc(b, '}');
}

static void add_replay(struct strbuf *b, const struct outcome_source *s)
{
	member(b, "replay", false);
	strbuf_putc(b, '{');
	member(b, "dead_letter", true);
	strbuf_putc(b, '{');
	member(b, "partition", true);
	strbuf_i64(b, s->dead_letter_partition);
	add_num(b, "offset", s->dead_letter_offset);
	strbuf_putc(b, '}');
	add_num(b, "count", s->redeliveries);
	strbuf_putc(b, '}');
}

char *outcome_json(const struct sync_job *j, const struct outcome_source *s)
{
	struct strbuf b;
	char when[NUM_TIME_LEN];

	/* Enough for a typical record: one allocation. */
	strbuf_init(&b, 512);
	strbuf_putc(&b, '{');
	member(&b, "event_id", true);
	strbuf_json(&b, s->event_id);
	add_str(&b, "key", s->key);
	add_str(&b, "op", s->op);
	add_str(&b, "status", sync_status_str(j->status));
	add_str(&b, "action", sync_action_str(j->action));
	add_str(&b, "target_id", j->target_id);
	add_str(&b, "etag", j->etag);
	add_status(&b, "http_status", j->http_status, false);
	add_num(&b, "attempts", j->attempts);
	add_conflicts(&b, j);
	add_error(&b, j);
	add_source(&b, s);
	if (s->redeliveries > 0)
		add_replay(&b, s);
	/* The wall clock: always in range on a clock that is set; "" when
	 * not. */
	outcome_time(s->finished_at_ms, when, sizeof(when));
	add_str(&b, "finished_at", when);
	add_num(&b, "duration_ms", s->duration_ms);
	strbuf_putc(&b, '}');
	return strbuf_take(&b);
}
