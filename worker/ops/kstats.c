#include "ops/kstats.h"

#include "lib/num.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kstats_clear(struct kstats *ks)
{
	for (size_t i = 0; i < ks->n_topics; i++)
		free(ks->topics[i]);
	free(ks->topics);
	free(ks->lags);
	ks->topics = NULL;
	ks->lags = NULL;
	ks->n_topics = ks->n_lags = 0;
}

static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A whole number member in [min, max], else dflt: librdkafka's stats
 * are JSON, and a double is only cast once it is known to fit. */
static int64_t int_of(const cJSON *o, const char *name, int64_t min,
                      int64_t max, int64_t dflt)
{
	int64_t n;

	if (num_json_int(cJSON_GetObjectItemCaseSensitive(o, name), min, max,
	                 &n))
		return dflt;
	return n;
}

static void parse_brokers(const cJSON *brokers, struct kstats *ks)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, brokers)
	{
		const char *state = str_of(b, "state");
		const char *source = str_of(b, "source");
		bool up = state && (strcmp(state, "UP") == 0 ||
		                    strcmp(state, "UPDATE") == 0);

		/* The internal broker is no connection. */
		if (!state || (source && strcmp(source, "internal") == 0))
			continue;
		ks->brokers++;
		if (up)
			ks->brokers_up++;
		if (source && strcmp(source, "logical") == 0 && b->string &&
		    strcmp(b->string, "GroupCoordinator") == 0) {
			ks->has_coord = true;
			ks->coord_up = up;
		}
	}
}

/* The partitions of one topic that are ours (desired) with a known lag;
 * -1 (the topic's UA partition) and a lag of -1 (no committed offset or
 * no high watermark yet) are left out. Returns -ENOMEM or 0. */
static int parse_partitions(const cJSON *parts, const char *topic,
                            struct kstats *ks, size_t *cap)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, parts)
	{
		const cJSON *desired =
		    cJSON_GetObjectItemCaseSensitive(p, "desired");
		int64_t id = int_of(p, "partition", 0, INT32_MAX, -1);
		int64_t lag = int_of(p, "consumer_lag", 0, INT64_MAX, -1);

		if (id < 0 || lag < 0 || cJSON_IsFalse(desired))
			continue;
		if (ks->n_lags == KSTATS_MAX_PARTITIONS)
			return 0;
		if (ks->n_lags == *cap) {
			size_t c = *cap ? *cap * 2 : 64;
			struct kstats_lag *l =
			    realloc(ks->lags, c * sizeof(*l));

			if (!l)
				return -ENOMEM;
			ks->lags = l;
			*cap = c;
		}
		ks->lags[ks->n_lags].topic = topic;
		ks->lags[ks->n_lags].partition = (int32_t)id;
		ks->lags[ks->n_lags].lag = lag;
		ks->n_lags++;
	}
	return 0;
}

static int parse_topics(const cJSON *topics, struct kstats *ks)
{
	size_t n = (size_t)cJSON_GetArraySize(topics), cap = 0;
	const cJSON *t;

	if (!n)
		return 0;
	ks->topics = calloc(n, sizeof(*ks->topics));
	if (!ks->topics)
		return -ENOMEM;
	cJSON_ArrayForEach(t, topics)
	{
		const cJSON *parts =
		    cJSON_GetObjectItemCaseSensitive(t, "partitions");
		char *name;

		if (!t->string || !cJSON_IsObject(parts) || ks->n_topics == n)
			continue;
		name = strdup(t->string);
		if (!name)
			return -ENOMEM;
		ks->topics[ks->n_topics++] = name;
		if (parse_partitions(parts, name, ks, &cap))
			return -ENOMEM;
	}
	return 0;
}

static void parse_cgrp(const cJSON *cgrp, struct kstats *ks)
{
	const char *s;

	if (!cJSON_IsObject(cgrp))
		return;
	ks->has_cgrp = true;
	s = str_of(cgrp, "state");
	snprintf(ks->cgrp_state, sizeof(ks->cgrp_state), "%s", s ? s : "");
	s = str_of(cgrp, "join_state");
	snprintf(ks->join_state, sizeof(ks->join_state), "%s", s ? s : "");
	ks->assignment =
	    (long)int_of(cgrp, "assignment_size", 0, INT32_MAX, 0);
}

int kstats_parse(const char *json, size_t len, struct kstats *out)
{
	cJSON *doc;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	doc = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(doc) ||
	    !cJSON_IsObject(
	        cJSON_GetObjectItemCaseSensitive(doc, "brokers"))) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	out->seen = true;
	parse_brokers(cJSON_GetObjectItemCaseSensitive(doc, "brokers"), out);
	parse_cgrp(cJSON_GetObjectItemCaseSensitive(doc, "cgrp"), out);
	if (parse_topics(cJSON_GetObjectItemCaseSensitive(doc, "topics"), out))
		rc = -ENOMEM;
	cJSON_Delete(doc);
	if (rc)
		kstats_clear(out);
	return rc;
}

void kstats_carry_times(const struct kstats *prev, struct kstats *ks,
                        int64_t now_ms)
{
	ks->broker_up_ms = prev->seen ? prev->broker_up_ms : now_ms;
	ks->coord_up_ms = prev->seen ? prev->coord_up_ms : now_ms;
	if (ks->brokers_up)
		ks->broker_up_ms = now_ms;
	if (!ks->has_coord || ks->coord_up)
		ks->coord_up_ms = now_ms;
}
