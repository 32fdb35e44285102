#include "core/pipeline.h"

#include "lib/strmap.h"

#include <stdlib.h>
#include <string.h>

TAILQ_HEAD(pl_event_list, pl_event);

struct pl_keyq {
	char *key; /* the strmap's key too: an empty queue removes itself */
	struct pl_event_list events;
};

struct pl_partition {
	char *topic;
	int32_t id;
	size_t active;
	size_t buffered; /* its events not yet DONE */
	int held;        /* the caller's backpressure flag */
	struct pl_event_list events;
	LIST_ENTRY(pl_partition) link;
};

struct pipeline {
	size_t max_active;
	size_t max_per_partition; /* 0: no cap */
	size_t active;
	size_t buffered;
	LIST_HEAD(, pl_partition) parts;
	struct strmap *keys; /* key -> struct pl_keyq, while it has events */
	/* Events that head their key queue and wait to start: a min-heap on
	 * arrival order, so the oldest starts first. A key with a backlog
	 * (its next event waited behind its key) is then not starved by
	 * the many keys that came after it. Room for every buffered event
	 * is kept, so becoming ready never allocates. */
	struct pl_event **ready;
	size_t n_ready, ready_cap;
	uint64_t seq;
};

void pipeline_set_max_active(struct pipeline *pl, size_t n)
{
	pl->max_active = n ? n : 1;
}

struct pipeline *pipeline_new(size_t max_active)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return NULL;
	pipeline_set_max_active(pl, max_active);
	LIST_INIT(&pl->parts);
	pl->keys = strmap_new();
	if (!pl->keys) {
		free(pl);
		return NULL;
	}
	return pl;
}

static void event_free(struct pl_event *ev)
{
	free(ev);
}

static void keyq_free(void *kq)
{
	free(((struct pl_keyq *)kq)->key);
	free(kq);
}

struct pipeline *pipeline_free(struct pipeline *pl)
{
	struct pl_partition *p;

	if (!pl)
		return NULL;
	while ((p = LIST_FIRST(&pl->parts))) {
		struct pl_event *ev;

		LIST_REMOVE(p, link);
		while ((ev = TAILQ_FIRST(&p->events))) {
			TAILQ_REMOVE(&p->events, ev, part_link);
			event_free(ev);
		}
		free(p->topic);
		free(p);
	}
	strmap_free(pl->keys, keyq_free);
	free(pl->ready);
	free(pl);
	return NULL;
}

struct pl_partition *pipeline_partition(struct pipeline *pl, const char *topic,
                                        int32_t partition, int create)
{
	struct pl_partition *p;

	LIST_FOREACH(p, &pl->parts, link)
	{
		if (p->id == partition && strcmp(p->topic, topic) == 0)
			return p;
	}
	if (!create)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->topic = strdup(topic))) {
		free(p);
		return NULL;
	}
	p->id = partition;
	TAILQ_INIT(&p->events);
	LIST_INSERT_HEAD(&pl->parts, p, link);
	return p;
}

const char *pl_partition_topic(const struct pl_partition *p)
{
	return p->topic;
}

int32_t pl_partition_id(const struct pl_partition *p)
{
	return p->id;
}

struct pl_partition *pipeline_partition_next(struct pipeline *pl,
                                             struct pl_partition *prev)
{
	return prev ? LIST_NEXT(prev, link) : LIST_FIRST(&pl->parts);
}

static int older(const struct pl_event *a, const struct pl_event *b)
{
	return a->seq < b->seq;
}

static void ready_set(struct pipeline *pl, size_t i, struct pl_event *ev)
{
	pl->ready[i] = ev;
	ev->in_ready = i + 1;
}

static void sift_up(struct pipeline *pl, size_t i)
{
	struct pl_event *ev = pl->ready[i];

	while (i > 0 && older(ev, pl->ready[(i - 1) / 2])) {
		ready_set(pl, i, pl->ready[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	ready_set(pl, i, ev);
}

static void sift_down(struct pipeline *pl, size_t i)
{
	struct pl_event *ev = pl->ready[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= pl->n_ready)
			break;
		if (c + 1 < pl->n_ready &&
		    older(pl->ready[c + 1], pl->ready[c]))
			c++;
		if (!older(pl->ready[c], ev))
			break;
		ready_set(pl, i, pl->ready[c]);
		i = c;
	}
	ready_set(pl, i, ev);
}

static void ready_push(struct pipeline *pl, struct pl_event *ev)
{
	pl->ready[pl->n_ready++] = ev;
	sift_up(pl, pl->n_ready - 1);
}

static void ready_remove(struct pipeline *pl, struct pl_event *ev)
{
	size_t i;
	struct pl_event *last;

	if (!ev->in_ready)
		return;
	i = ev->in_ready - 1;
	ev->in_ready = 0;
	last = pl->ready[--pl->n_ready];
	if (last == ev)
		return;
	pl->ready[i] = last;
	if (i > 0 && older(last, pl->ready[(i - 1) / 2]))
		sift_up(pl, i);
	else
		sift_down(pl, i);
}

/* Every ready event is buffered, so room for one more buffered event is
 * room for it in the heap. */
static int ready_reserve(struct pipeline *pl)
{
	size_t cap = pl->ready_cap ? pl->ready_cap * 2 : 64;
	struct pl_event **r;

	if (pl->buffered < pl->ready_cap)
		return 0;
	r = realloc(pl->ready, cap * sizeof(*r));
	if (!r)
		return -1;
	pl->ready = r;
	pl->ready_cap = cap;
	return 0;
}

struct pl_event *pipeline_push(struct pipeline *pl, struct pl_partition *p,
                               int64_t offset, const char *key, void *user)
{
	struct pl_keyq *kq = strmap_get(pl->keys, key);
	struct pl_event *ev;

	if (ready_reserve(pl))
		return NULL;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	if (!kq) {
		kq = calloc(1, sizeof(*kq));
		if (!kq || !(kq->key = strdup(key)) ||
		    strmap_put(pl->keys, key, kq, NULL)) {
			if (kq)
				free(kq->key);
			free(kq);
			free(ev);
			return NULL;
		}
		TAILQ_INIT(&kq->events);
	}
	ev->part = p;
	ev->offset = offset;
	ev->state = PL_QUEUED;
	ev->user = user;
	ev->kq = kq;
	TAILQ_INSERT_TAIL(&p->events, ev, part_link);
	TAILQ_INSERT_TAIL(&kq->events, ev, key_link);
	ev->seq = pl->seq++;
	if (TAILQ_FIRST(&kq->events) == ev)
		ready_push(pl, ev);
	pl->buffered++;
	p->buffered++;
	return ev;
}

void pipeline_set_partition_cap(struct pipeline *pl, size_t n)
{
	pl->max_per_partition = n;
}

/* With a partition cap, events of a full partition wait their turn; the
 * scan is the price of the comparison mode only. */
static struct pl_event *oldest_under_cap(const struct pipeline *pl)
{
	struct pl_event *best = NULL;

	for (size_t i = 0; i < pl->n_ready; i++) {
		struct pl_event *ev = pl->ready[i];

		if (ev->part->active < pl->max_per_partition &&
		    (!best || older(ev, best)))
			best = ev;
	}
	return best;
}

struct pl_event *pipeline_next_ready(struct pipeline *pl)
{
	struct pl_event *ev;

	if (pl->active >= pl->max_active)
		return NULL;
	ev = pl->max_per_partition ? oldest_under_cap(pl)
	     : pl->n_ready         ? pl->ready[0]
	                           : NULL;
	if (!ev)
		return NULL;
	ready_remove(pl, ev);
	ev->state = PL_ACTIVE;
	ev->part->active++;
	pl->active++;
	return ev;
}

/* Takes ev out of its key queue; the next event of the key, if waiting,
 * becomes ready; an empty queue is freed. */
static void keyq_remove(struct pipeline *pl, struct pl_event *ev)
{
	struct pl_keyq *kq = ev->kq;
	int was_head = TAILQ_FIRST(&kq->events) == ev;
	struct pl_event *head;

	ready_remove(pl, ev);
	TAILQ_REMOVE(&kq->events, ev, key_link);
	ev->kq = NULL;
	head = TAILQ_FIRST(&kq->events);
	if (!head) {
		strmap_remove(pl->keys, kq->key);
		keyq_free(kq);
		return;
	}
	if (was_head && head->state == PL_QUEUED && !head->in_ready)
		ready_push(pl, head);
}

void pipeline_output(struct pipeline *pl, struct pl_event *ev)
{
	if (ev->state != PL_ACTIVE)
		return;
	keyq_remove(pl, ev);
	ev->state = PL_OUTPUT;
	ev->part->active--;
	pl->active--;
}

int pipeline_done(struct pipeline *pl, struct pl_event *ev)
{
	ev->state = PL_DONE;
	pl->buffered--;
	if (ev->part) {
		ev->part->buffered--;
		return 0;
	}
	event_free(ev);
	return 1;
}

int64_t pipeline_advance(struct pipeline *pl, struct pl_partition *p)
{
	int64_t next = -1;

	(void)pl;
	while (!TAILQ_EMPTY(&p->events) &&
	       TAILQ_FIRST(&p->events)->state == PL_DONE) {
		struct pl_event *ev = TAILQ_FIRST(&p->events);

		next = ev->offset + 1;
		TAILQ_REMOVE(&p->events, ev, part_link);
		event_free(ev);
	}
	return next;
}

static void drop_event(struct pipeline *pl, struct pl_event *ev,
                       void (*release)(void *, void *), void *arg)
{
	/* An abandoned event already left its key queue (kq NULL). */
	if (ev->kq) {
		if (ev->state == PL_ACTIVE) {
			pl->active--;
			ev->part->active--;
		}
		keyq_remove(pl, ev);
	}
	pl->buffered--;
	if (ev->part)
		ev->part->buffered--;
	if (release && ev->user)
		release(ev->user, arg);
	event_free(ev);
}

int64_t pipeline_revoke(struct pipeline *pl, struct pl_partition *p,
                        void (*release)(void *user, void *arg), void *arg)
{
	int64_t next = pipeline_advance(pl, p);
	struct pl_event *ev;

	while ((ev = TAILQ_FIRST(&p->events))) {
		TAILQ_REMOVE(&p->events, ev, part_link);
		switch (ev->state) {
		case PL_QUEUED:
		case PL_ACTIVE:
			drop_event(pl, ev, release, arg);
			break;
		case PL_OUTPUT:
			ev->part = NULL; /* pipeline_done frees it */
			break;
		default:
			event_free(ev);
			break;
		}
	}
	LIST_REMOVE(p, link);
	free(p->topic);
	free(p);
	return next;
}

void pipeline_drop_queued(struct pipeline *pl,
                          void (*release)(void *user, void *arg), void *arg)
{
	struct pl_partition *p;
	struct pl_event *ev;

	/* The events stay in their partition as barriers: what completes
	 * after them must not move the stored offset past them. */
	LIST_FOREACH(p, &pl->parts, link)
	{
		TAILQ_FOREACH(ev, &p->events, part_link)
		{
			if (ev->state != PL_QUEUED || !ev->kq)
				continue;
			keyq_remove(pl, ev);
			if (release)
				release(ev->user, arg);
			ev->user = NULL;
		}
	}
}

void pipeline_abandon(struct pipeline *pl, struct pl_event *ev)
{
	if (ev->state != PL_ACTIVE || !ev->kq)
		return;
	keyq_remove(pl, ev);
	pl->active--;
	ev->part->active--;
	ev->user = NULL;
}

void pipeline_forget(struct pipeline *pl, struct pl_event *ev)
{
	ev->user = NULL;
	if (!ev->part) {
		pl->buffered--;
		event_free(ev);
	}
}

size_t pipeline_active(const struct pipeline *pl)
{
	return pl->active;
}

size_t pipeline_ready(const struct pipeline *pl)
{
	return pl->n_ready;
}

size_t pipeline_buffered(const struct pipeline *pl)
{
	return pl->buffered;
}

size_t pl_partition_buffered(const struct pl_partition *p)
{
	return p->buffered;
}

int pl_partition_held(const struct pl_partition *p)
{
	return p->held;
}

void pl_partition_set_held(struct pl_partition *p, int held)
{
	p->held = held;
}
