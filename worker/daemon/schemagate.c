#include "daemon/schemagate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct waiting {
	void *rec;
	uint32_t ids[SCHEMAGATE_MAX_IDS];
	size_t n_ids;
	struct waiting *next;
};

/* A partition with records waiting; few at once (those whose records
 * name a new schema), so a list serves. */
struct queue {
	char *topic;
	int32_t partition;
	struct waiting *head, *tail;
	struct queue *next;
};

struct schemagate {
	schemagate_ready_fn *ready;
	schemagate_rec_fn *pass, *drop;
	void *arg;
	struct queue *queues;
	size_t n;
	bool draining;
};

struct schemagate *schemagate_new(schemagate_ready_fn *ready,
                                  schemagate_rec_fn *pass,
                                  schemagate_rec_fn *drop, void *arg)
{
	struct schemagate *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->ready = ready;
	g->pass = pass;
	g->drop = drop;
	g->arg = arg;
	return g;
}

void schemagate_free(struct schemagate *g)
{
	if (!g)
		return;
	schemagate_drop_all(g);
	free(g);
}

static struct queue **find(struct schemagate *g, const char *topic,
                           int32_t partition)
{
	struct queue **q;

	for (q = &g->queues; *q; q = &(*q)->next)
		if ((*q)->partition == partition &&
		    strcmp((*q)->topic, topic) == 0)
			return q;
	return q;
}

static bool all_ready(struct schemagate *g, const uint32_t *ids, size_t n)
{
	bool ok = true;

	/* Each is asked, so that every fetch starts at once. */
	for (size_t i = 0; i < n; i++)
		if (!g->ready(g->arg, ids[i]))
			ok = false;
	return ok;
}

/* Unlinks *at and frees it, dropping what it still holds. */
static void remove_queue(struct schemagate *g, struct queue **at)
{
	struct queue *q = *at;
	struct waiting *w;

	*at = q->next;
	while ((w = q->head)) {
		q->head = w->next;
		g->n--;
		g->drop(g->arg, w->rec);
		free(w);
	}
	free(q->topic);
	free(q);
}

int schemagate_offer(struct schemagate *g, const char *topic,
                     int32_t partition, const uint32_t *ids, size_t n,
                     void *rec)
{
	struct queue **at = find(g, topic, partition), *q = *at;
	struct waiting *w;

	if (n > SCHEMAGATE_MAX_IDS)
		n = SCHEMAGATE_MAX_IDS;
	if (all_ready(g, ids, n) && !q) {
		g->pass(g->arg, rec);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q || !(q->topic = strdup(topic))) {
			free(q);
			free(w);
			return -ENOMEM;
		}
		q->partition = partition;
		*at = q;
	}
	w->rec = rec;
	memcpy(w->ids, ids, n * sizeof(*ids));
	w->n_ids = n;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	g->n++;
	return 0;
}

void schemagate_drain(struct schemagate *g)
{
	struct queue **at = &g->queues;

	/* pass may resolve further ids (a record's parse asks the
	 * registry); the outer call finishes the work. */
	if (g->draining)
		return;
	g->draining = true;
	while (*at) {
		struct queue *q = *at;
		struct waiting *w;

		while ((w = q->head) && all_ready(g, w->ids, w->n_ids)) {
			q->head = w->next;
			if (!q->head)
				q->tail = NULL;
			g->n--;
			g->pass(g->arg, w->rec);
			free(w);
		}
		if (!q->head)
			remove_queue(g, at);
		else
			at = &q->next;
	}
	g->draining = false;
}

void schemagate_drop_partition(struct schemagate *g, const char *topic,
                               int32_t partition)
{
	struct queue **at = find(g, topic, partition);

	if (*at)
		remove_queue(g, at);
}

void schemagate_drop_all(struct schemagate *g)
{
	while (g->queues)
		remove_queue(g, &g->queues);
}

size_t schemagate_waiting(const struct schemagate *g)
{
	return g->n;
}
