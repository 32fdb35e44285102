#include "core/outcome.h"

#include "lib/num.h"
#include "core/sync.h"

#include <cjson/cJSON.h>
#include <string.h>

int outcome_time(int64_t epoch_ms, char *buf, size_t len)
{
	return num_time(epoch_ms, buf, len);
}

static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static void add_status_or_null(cJSON *o, const char *name, long v)
{
	if (v > 0)
		cJSON_AddNumberToObject(o, name, (double)v);
	else
		cJSON_AddNullToObject(o, name);
}

static void add_replay(cJSON *o, const struct outcome_source *s)
{
	cJSON *r = cJSON_AddObjectToObject(o, "replay");
	cJSON *dl = r ? cJSON_AddObjectToObject(r, "dead_letter") : NULL;

	if (!dl)
		return;
	cJSON_AddNumberToObject(dl, "partition", s->dead_letter_partition);
	cJSON_AddNumberToObject(dl, "offset", (double)s->dead_letter_offset);
	cJSON_AddNumberToObject(r, "count", s->redeliveries);
}

char *outcome_json(const struct sync_job *j, const struct outcome_source *s)
{
	cJSON *o = cJSON_CreateObject(), *arr, *src, *err;
	char when[32];
	char *text;

	if (!o)
		return NULL;
	add_str_or_null(o, "event_id", s->event_id);
	add_str_or_null(o, "key", s->key);
	add_str_or_null(o, "op", s->op);
	cJSON_AddStringToObject(o, "status", sync_status_str(j->status));
	cJSON_AddStringToObject(o, "action", sync_action_str(j->action));
	add_str_or_null(o, "target_id", j->target_id);
	add_str_or_null(o, "etag", j->etag);
	add_status_or_null(o, "http_status", j->http_status);
	cJSON_AddNumberToObject(o, "attempts", j->attempts);
	arr = cJSON_AddArrayToObject(o, "conflicts");
	for (int i = 0; arr && i < j->n_conflicts; i++) {
		cJSON *c = cJSON_CreateObject();

		if (!c)
			break;
		cJSON_AddNumberToObject(c, "status",
		                        (double)j->conflicts[i].status);
		add_str_or_null(c, "field", j->conflicts[i].field);
		add_str_or_null(c, "target_id", j->conflicts[i].target_id);
		cJSON_AddItemToArray(arr, c);
	}
	/* A skip carries an error only when it has a reason to report
	 * (replay's "stale"); a tombstone's skip has none. */
	if (j->status == SYNC_FAILED ||
	    (j->status == SYNC_SKIPPED && j->err_code)) {
		err = cJSON_AddObjectToObject(o, "error");
		if (err) {
			cJSON_AddStringToObject(err, "code", j->err_code);
			cJSON_AddStringToObject(err, "message", j->err_msg);
			add_status_or_null(err, "http_status",
			                   j->err_http_status);
		}
	} else {
		cJSON_AddNullToObject(o, "error");
	}
	src = cJSON_AddObjectToObject(o, "source");
	if (src) {
		cJSON_AddStringToObject(src, "topic", s->topic);
		cJSON_AddNumberToObject(src, "partition", s->partition);
		cJSON_AddNumberToObject(src, "offset", (double)s->offset);
	}
	if (s->redeliveries > 0)
		add_replay(o, s);
	/* The wall clock: always in range on a clock that is set. */
	outcome_time(s->finished_at_ms, when, sizeof(when));
	cJSON_AddStringToObject(o, "finished_at", when);
	cJSON_AddNumberToObject(o, "duration_ms", (double)s->duration_ms);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}
