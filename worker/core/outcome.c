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

/* Text known when compiling (a member's name, its quotes and colon,
 * the comma before it) is copied at once. */
#define PUT(b, lit) strbuf_put((b), (lit), sizeof(lit) - 1)

static void add_str(struct strbuf *b, const char *member, size_t n,
                    const char *v)
{
	strbuf_put(b, member, n);
	strbuf_json(b, v);
}

static void add_num(struct strbuf *b, const char *member, size_t n, int64_t v)
{
	strbuf_put(b, member, n);
	strbuf_i64(b, v);
}

/* An HTTP status is a number only when a response gave one. */
static void add_status(struct strbuf *b, const char *member, size_t n, long v)
{
	strbuf_put(b, member, n);
	if (v > 0)
		strbuf_i64(b, v);
	else
		PUT(b, "null");
}

/* The member's text (`,"name":`) and its length, for the add_ helpers. */
#define M(lit) (lit), sizeof(lit) - 1

static void add_conflicts(struct strbuf *b, const struct sync_job *j)
{
	PUT(b, ",\"conflicts\":[");
	for (int i = 0; i < j->n_conflicts; i++) {
		if (i)
			strbuf_putc(b, ',');
		add_num(b, M("{\"status\":"), j->conflicts[i].status);
		add_str(b, M(",\"field\":"), j->conflicts[i].field);
		add_str(b, M(",\"target_id\":"), j->conflicts[i].target_id);
		strbuf_putc(b, '}');
	}
	strbuf_putc(b, ']');
}

static void add_error(struct strbuf *b, const struct sync_job *j)
{
	/* A skip carries an error only when it has a reason to report
	 * (replay's "stale"); a tombstone's skip has none. */
	if (j->status != SYNC_FAILED &&
	    (j->status != SYNC_SKIPPED || !j->err_code)) {
		PUT(b, ",\"error\":null");
		return;
	}
	add_str(b, M(",\"error\":{\"code\":"), j->err_code);
	add_str(b, M(",\"message\":"), j->err_msg);
	add_status(b, M(",\"http_status\":"), j->err_http_status);
	strbuf_putc(b, '}');
}

static void add_source(struct strbuf *b, const struct outcome_source *s)
{
	add_str(b, M(",\"source\":{\"topic\":"), s->topic);
	add_num(b, M(",\"partition\":"), s->partition);
	add_num(b, M(",\"offset\":"), s->offset);
	strbuf_putc(b, '}');
}

static void add_replay(struct strbuf *b, const struct outcome_source *s)
{
	add_num(b, M(",\"replay\":{\"dead_letter\":{\"partition\":"),
	        s->dead_letter_partition);
	add_num(b, M(",\"offset\":"), s->dead_letter_offset);
	add_num(b, M("},\"count\":"), s->redeliveries);
	strbuf_putc(b, '}');
}

char *outcome_json(const struct sync_job *j, const struct outcome_source *s)
{
	struct strbuf b;
	char when[NUM_TIME_LEN];

	/* Enough for a typical record: one allocation. */
	strbuf_init(&b, 512);
	add_str(&b, M("{\"event_id\":"), s->event_id);
	add_str(&b, M(",\"key\":"), s->key);
	add_str(&b, M(",\"op\":"), s->op);
	add_str(&b, M(",\"status\":"), sync_status_str(j->status));
	add_str(&b, M(",\"action\":"), sync_action_str(j->action));
	add_str(&b, M(",\"target_id\":"), j->target_id);
	add_str(&b, M(",\"etag\":"), j->etag);
	add_status(&b, M(",\"http_status\":"), j->http_status);
	add_num(&b, M(",\"attempts\":"), j->attempts);
	add_conflicts(&b, j);
	add_error(&b, j);
	add_source(&b, s);
	if (s->redeliveries > 0)
		add_replay(&b, s);
	/* The wall clock: always in range on a clock that is set; "" when
	 * not. */
	outcome_time(s->finished_at_ms, when, sizeof(when));
	add_str(&b, M(",\"finished_at\":"), when);
	add_num(&b, M(",\"duration_ms\":"), s->duration_ms);
	strbuf_putc(&b, '}');
	return strbuf_take(&b);
}
