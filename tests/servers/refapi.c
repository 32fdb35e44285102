/* refapi: the partner's customer API, for integration tests.
 *
 *   refapi [--port N] [--client ID:SECRET:TENANT:SCOPE,SCOPE...]...
 *          [--token-ttl SECONDS] [--no-auth] [--verbose]
 *          [--log-header NAME]...
 *
 * Implements "Public API: Customer write endpoints" (shared/seeds/000)
 * with the read endpoints it leaves unchanged, so the built daemon can be
 * tested against something that refuses what the partner refuses. Listens
 * on 127.0.0.1 only (port 0 picks a free one) and prints "PORT <n>" on
 * stdout once it accepts connections; SIGTERM or SIGINT stops it, exit 0.
 * --client may repeat; the scopes after the third ':' are comma
 * separated. --no-auth serves every call as tenant "default" with every
 * scope. --verbose logs each request on stderr. --log-header (up to 8)
 * keeps the values of that request header in the request log.
 *
 *   POST   /oauth/token                   client credentials (form body or
 *                                          HTTP Basic), scope = asked
 *                                          scopes the client holds
 *   GET    /api/p/v1.0/customers/{id}     customer:read
 *   POST   /api/p/v1.0/customers/search   customer:read, exact filters
 *   POST   /api/p/v1.0/customers          customer:create
 *   PATCH  /api/p/v1.0/customers/{id}     customer:update, If-Match
 *   DELETE /api/p/v1.0/customers/{id}     customer:delete, If-Match
 *
 * Test controls (no auth, JSON in and out, 200 on success, 400 on bad
 * input, 404 for an unknown id):
 *   POST /_control/latency {"ms":N}        delay later API requests
 *                                          responses (0: off)
 *   POST /_control/capacity {"concurrent":C,"latency_ms":L,"queue":Q}
 *                                          a server of capacity C: C
 *                                          API requests are served at
 *                                          once in L ms each, the rest
 *                                          wait their turn in arrival
 *                                          order (so their latency grows
 *                                          with the queue); one that
 *                                          would wait behind Q (default
 *                                          unbounded) gets 503 without
 *                                          Retry-After at once and is
 *                                          not done. {"concurrent":0}
 *                                          lifts it; it replaces
 *                                          /_control/latency while on
 *   POST /_control/disable_writes {"seconds":S,"retry_after":R,
 *        "status":503|429}                 customer writes answer status
 *                                          with Retry-After: R for S s
 *   POST /_control/script {"status":S,"body":JSON,"count":N,
 *        "method":M,"route":R,"apply":B,"problem":B}
 *                                          the next N (default 1)
 *                                          customer writes (or requests
 *                                          with method M, on route R as
 *                                          the request counts name it)
 *                                          answer S with body, without
 *                                          auth; with apply they are
 *                                          done first
 *   POST /_control/edit {"id","patch"}     an edit made by someone else
 *   POST /_control/seed {"tenant","customer"}   insert without checks
 *   GET  /_control/state                   every record, ETag, Tenant
 *   GET  /_control/requests[?log=0]        counters and the request log;
 *                                          latency_ms {n,p50,p99,max}:
 *                                          API answers' time from arrival
 *                                          to answer (1 ms steps, 2 s and
 *                                          more count as 2000); in_flight:
 *                                          answers parked right now
 *   POST /_control/reset                   records, counters, faults
 *   POST /_control/expire_tokens           every issued token expires
 *   POST /_control/token_ttl {"seconds":N} TTL of tokens issued later
 *   POST /_control/client {"id","secret","tenant","scopes"}  add/replace
 *   POST /_control/quota {"requests":N,"window_ms":W,
 *        "headers":"ietf"|"trio"|"x"|"none"}
 *                                          per client (Authorization
 *                                          value), N API requests (not
 *                                          token requests) per fixed
 *                                          window of W ms, which starts
 *                                          with its first request; past
 *                                          N: 429 + Retry-After until
 *                                          the window ends (refused ones
 *                                          use nothing). Every counted
 *                                          answer carries the quota left
 *                                          after it: ietf `RateLimit:
 *                                          "default";r=R;t=T` (+ Policy),
 *                                          trio RateLimit-Limit/-Remaining
 *                                          /-Reset, x X-RateLimit-* with
 *                                          Reset a Unix time; T and the
 *                                          seconds rounded up. N 0: off
 *   POST /_control/loose_ids {"on":bool}   engage externalIds and wms
 *                                          shortIDs match in any case
 *                                          (a careless API, for the
 *                                          ownership tests)
 *
 * Choices the document leaves open, made so tests can rely on them:
 * - Latency is served after the work: a delayed create has happened
 *   before its 201 leaves, as when a slow reply times out a client.
 * - Ids ("c-000001") keep counting across /_control/reset, so an id from
 *   an earlier test never names a new record.
 * - A blank CompanyNumber counts as a placeholder (it would otherwise
 *   reserve "" for the whole tenant).
 * - A null member in a create body is the same as an absent one; PATCH
 *   nulls remove (RFC 7396). Search clamps PageSize above 200.
 * - An empty If-Match is treated as missing (428).
 * - PATCH checks duplicates only for the unique values it changes, so
 *   duplicates that only seed/edit can create do not block other edits.
 * - A body over 1 MiB gets 413 after it has been read (a client that
 *   is still sending would only see a reset), or at once with Expect:
 *   100-continue. Such an early 413 is not delayed by /_control/latency.
 * - The capacity model does the work when the request arrives and hands
 *   out turns then, as a server with a thread pool and a FIFO backlog
 *   would serve it; requests parked before a change of the model keep
 *   their times.
 * - Every response echoes X-Correlation-Id.
 * - The request log keeps the names (not the values: tokens) of every
 *   request header, as "header_names" in /_control/requests, so a test
 *   sees a header line that should not be there; "header_names_cut" is
 *   true when they did not all fit.
 *
 * One thread drives libmicrohttpd's epoll fd with MHD_run(), so handlers
 * share state without locks. Injected latency suspends the connection and
 * parks it in a min-heap of deadlines instead of holding a thread.
 *
 * This file: the process, the event loop, the libmicrohttpd glue and the
 * request log. refapi_store.c keeps the records, refapi_api.c answers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "../tools/parse_long.h"
#include "refapi.h"

#define CONN_LIMIT 4096
#define NOT_QUEUED SIZE_MAX

/* Per request (MHD's req_cls), from the first callback to completion. */
struct pending {
	struct MHD_Connection *conn;
	char *body;
	size_t len;
	size_t cap;
	bool too_big;
	bool oom;
	struct MHD_Response *resp; /* prepared, waiting out the latency */
	unsigned status;
	int64_t t_ms;
	int64_t due_ms;
	int64_t start_ms; /* capacity model: when its server takes it */
	uint64_t order;   /* FIFO among equal deadlines */
	size_t heap_pos;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

__attribute__((format(printf, 2, 3))) static void logmsg(int level,
                                                         const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "<%d>refapi: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static bool prefix_is(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 && (s[n] == '\0' || s[n] == '/');
}

/* ---- request accounting ----------------------------------------------- */

static void copy_header(struct log_entry *e, unsigned bit, char *dst,
                        size_t size, const char *v)
{
	dst[0] = '\0';
	if (!v)
		return;
	e->has |= bit;
	snprintf(dst, size, "%s", v);
}

void count_add(struct app *a, const char *key)
{
	size_t i;

	for (i = 0; i < a->n_counts; i++)
		if (strcmp(a->counts[i].key, key) == 0)
			break;
	if (i == a->n_counts) {
		if (i == MAX_COUNT_KEYS)
			return;
		snprintf(a->counts[i].key, sizeof(a->counts[i].key), "%s",
		         key);
		a->counts[i].n = 0;
		a->n_counts++;
	}
	a->counts[i].n++;
}

static enum MHD_Result add_name(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value)
{
	struct log_entry *e = cls;
	size_t used = strlen(e->header_names), n = strlen(key);

	(void)kind;
	(void)value;
	if (n + 2 > sizeof(e->header_names) - used) {
		e->header_names_cut = true;
		return MHD_NO;
	}
	memcpy(e->header_names + used, key, n);
	e->header_names[used + n] = '\n';
	e->header_names[used + n + 1] = '\0';
	return MHD_YES;
}

struct values_ctx {
	const struct app *a;
	struct log_entry *e;
};

static enum MHD_Result add_value(void *cls, enum MHD_ValueKind kind,
                                 const char *key, const char *value)
{
	struct values_ctx *x = cls;
	char *old = x->e->header_values, *line = NULL;

	(void)kind;
	for (size_t i = 0; i < x->a->n_log_headers; i++) {
		if (strcasecmp(key, x->a->log_headers[i]) != 0)
			continue;
		if (asprintf(&line, "%s%s: %s\n", old ? old : "", key,
		             value ? value : "") < 0)
			return MHD_NO;
		free(old);
		x->e->header_values = line;
		break;
	}
	return MHD_YES;
}

static void record(struct app *a, const struct call *c, int64_t t_ms)
{
	struct log_entry *e = &a->log[a->log_head];
	const char *im = call_header(c, MHD_HTTP_HEADER_IF_MATCH);
	char key[sizeof(a->counts[0].key)];

	a->log_head = (a->log_head + 1) % MAX_LOG;
	if (a->log_len < MAX_LOG)
		a->log_len++;
	free(e->header_values);
	memset(e, 0, sizeof(*e));
	e->t_ms = t_ms;
	e->status = c->r.status;
	e->route = c->route;
	e->auth = call_header(c, MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
	snprintf(e->method, sizeof(e->method), "%s", c->method);
	snprintf(e->path, sizeof(e->path), "%s", c->url);
	copy_header(e, HAS_IF_MATCH, e->if_match, sizeof(e->if_match), im);
	copy_header(e, HAS_CONTENT_TYPE, e->content_type,
	            sizeof(e->content_type),
	            call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE));
	copy_header(e, HAS_CORRELATION, e->correlation_id,
	            sizeof(e->correlation_id),
	            call_header(c, "X-Correlation-Id"));
	MHD_get_connection_values(c->conn, MHD_HEADER_KIND, add_name, e);
	if (a->n_log_headers)
		MHD_get_connection_values(c->conn, MHD_HEADER_KIND, add_value,
		                          &(struct values_ctx){a, e});
	a->total++;
	if (im && strcmp(im, "*") == 0)
		a->if_match_star++;
	snprintf(key, sizeof(key), "%s %s %u", e->method,
	         a->profile->route_names[c->route], c->r.status);
	count_add(a, key);
}

static void latency_add(struct app *a, const struct pending *p)
{
	int64_t ms = mono_ms() - p->t_ms;

	if (ms < 0)
		ms = 0;
	if (ms >= LATENCY_BUCKETS)
		ms = LATENCY_BUCKETS - 1;
	a->latency_hist[ms]++;
}

/* ---- libmicrohttpd glue ----------------------------------------------- */

static bool heap_less(const struct pending *x, const struct pending *y)
{
	return x->due_ms < y->due_ms ||
	       (x->due_ms == y->due_ms && x->order < y->order);
}

static void heap_set(struct app *a, size_t i, struct pending *p)
{
	a->heap[i] = p;
	p->heap_pos = i;
}

static void heap_fix(struct app *a, size_t i)
{
	struct pending *p = a->heap[i];

	while (i > 0 && heap_less(p, a->heap[(i - 1) / 2])) {
		heap_set(a, i, a->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < a->heap_len && heap_less(a->heap[l], p))
			m = l;
		if (l + 1 < a->heap_len &&
		    heap_less(a->heap[l + 1], m == i ? p : a->heap[m]))
			m = l + 1;
		if (m == i)
			break;
		heap_set(a, i, a->heap[m]);
		i = m;
	}
	heap_set(a, i, p);
}

static int heap_push(struct app *a, struct pending *p)
{
	if (a->heap_len == a->heap_cap) {
		size_t cap = a->heap_cap ? a->heap_cap * 2 : 256;
		struct pending **h = realloc(a->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		a->heap = h;
		a->heap_cap = cap;
	}
	p->order = a->heap_order++;
	heap_set(a, a->heap_len++, p);
	heap_fix(a, a->heap_len - 1);
	return 0;
}

static void heap_remove(struct app *a, struct pending *p)
{
	size_t i = p->heap_pos;

	if (i == NOT_QUEUED)
		return;
	p->heap_pos = NOT_QUEUED;
	if (i == --a->heap_len)
		return;
	heap_set(a, i, a->heap[a->heap_len]);
	heap_fix(a, i);
}

static void resume_due(struct app *a, int64_t now)
{
	while (a->heap_len && a->heap[0]->due_ms <= now) {
		struct pending *p = a->heap[0];

		heap_remove(a, p);
		MHD_resume_connection(p->conn);
	}
}

static bool add_header(struct MHD_Response *resp, const char *k, const char *v)
{
	return !v || !*v || MHD_add_response_header(resp, k, v) == MHD_YES;
}

static struct MHD_Response *build_response(const struct call *c)
{
	const struct reply *r = &c->r;
	struct MHD_Response *resp;
	char *text = NULL;
	bool ok;

	if (r->body) {
		text = cJSON_PrintUnformatted(r->body);
		if (!text)
			return NULL;
		resp = MHD_create_response_from_buffer(strlen(text), text,
		                                       MHD_RESPMEM_MUST_FREE);
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"",
		                                       MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		free(text);
		return NULL;
	}
	ok = add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                !text        ? NULL
	                : r->problem ? "application/problem+json"
	                             : "application/json") &&
	     add_header(resp, MHD_HTTP_HEADER_ETAG, r->etag) &&
	     add_header(resp, MHD_HTTP_HEADER_LOCATION, r->location) &&
	     add_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after) &&
	     add_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow) &&
	     add_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, r->www_auth) &&
	     add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	                r->no_store ? "no-store" : NULL) &&
	     add_header(resp, MHD_HTTP_HEADER_PRAGMA,
	                r->no_store ? "no-cache" : NULL) &&
	     add_header(resp, "X-Correlation-Id",
	                call_header(c, "X-Correlation-Id"));
	for (int i = 0; ok && i < 3; i++)
		ok = !r->quota_name[i][0] ||
		     add_header(resp, r->quota_name[i], r->quota_value[i]);
	if (!ok) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

static void body_append(struct pending *p, const char *data, size_t n)
{
	if (p->too_big || p->oom)
		return;
	if (n > MAX_BODY - p->len) {
		/* Keep reading (MHD must) but stop storing. */
		p->too_big = true;
		free(p->body);
		p->body = NULL;
		p->len = p->cap = 0;
		return;
	}
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap : 1024;
		char *nb;

		while (cap < p->len + n)
			cap *= 2;
		if (cap > MAX_BODY)
			cap = MAX_BODY;
		nb = realloc(p->body, cap);
		if (!nb) {
			p->oom = true;
			return;
		}
		p->body = nb;
		p->cap = cap;
	}
	memcpy(p->body + p->len, data, n);
	p->len += n;
}

enum announced { BODY_OK, BODY_TOO_BIG, BODY_REFUSE_NOW };

/* A client that sends its body without waiting (no Expect: 100-continue)
 * only sees an early 413 as a broken pipe, so its body is read and
 * dropped first, unless it is absurdly large. */
static enum announced announced_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *expect = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	unsigned long long n;
	char *end;

	if (!cl)
		return BODY_OK;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (end == cl || (errno != ERANGE && n <= MAX_BODY))
		return BODY_OK;
	if (errno == ERANGE || n > 64ULL * MAX_BODY ||
	    (expect && strcasecmp(expect, "100-continue") == 0))
		return BODY_REFUSE_NOW;
	return BODY_TOO_BIG;
}

/* The capacity model's turn for a request at now: the server free
 * first takes it (FIFO, since turns are handed out in arrival order), so
 * its answer is due one latency after that. Returns false, taking no
 * turn, when it would wait behind cap_queue others already. */
static bool capacity_turn(struct app *a, int64_t now, int64_t *start,
                          int64_t *due)
{
	size_t best = 0;
	int64_t waiting = 0;

	for (size_t i = 1; i < a->cap_concurrent; i++)
		if (a->cap_free[i] < a->cap_free[best])
			best = i;
	*start = a->cap_free[best] > now ? a->cap_free[best] : now;
	for (size_t i = 0; *start > now && i < a->heap_len; i++)
		waiting += a->heap[i]->start_ms > now;
	if (*start > now && waiting >= a->cap_queue)
		return false;
	*due = *start + a->cap_latency_ms;
	a->cap_free[best] = *due;
	return true;
}

/* Computes the reply, logs it, and either queues it or (with injected
 * latency or the capacity model) parks it until resume_due() wakes the
 * connection. */
static enum MHD_Result respond(struct app *a, struct pending *p,
                               const char *url, const char *method, bool early)
{
	struct call c;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	/* Every partner API request is logged, counted and delayed; test
	 * controls never are. */
	bool api = !prefix_is(url, "/_control");
	bool delayed = api && !early;
	int64_t start = 0, due = 0;
	bool overloaded = delayed && a->cap_concurrent &&
	                  !capacity_turn(a, mono_ms(), &start, &due);

	if (delayed && !a->cap_concurrent && a->latency_ms > 0)
		due = mono_ms() + a->latency_ms;
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.conn = p->conn;
	c.method = method;
	c.url = url;
	c.body = p->body;
	c.len = p->len;
	c.route = a->profile->route(url, &c.id);
	if (p->too_big)
		reply_problem(&c.r, 413, "payload-too-large",
		              "request body exceeds %d bytes", MAX_BODY);
	else if (p->oom)
		reply_oom(&c.r);
	else if (overloaded)
		reply_problem(&c.r, 503, "overloaded",
		              "the server is at capacity and its queue is "
		              "full");
	else if (prefix_is(url, "/_control"))
		control_handle(&c);
	else if (!quota_answer(&c) && !script_answer(&c))
		a->profile->handle(&c);
	if (!c.r.status)
		reply_oom(&c.r);
	quota_headers(&c);
	resp = build_response(&c);
	if (api)
		record(a, &c, p->t_ms);
	if (a->verbose)
		logmsg(7, "method=%s path=%s status=%u", method, url,
		       c.r.status);
	cJSON_Delete(c.r.body);
	free(p->body);
	p->body = NULL;
	p->len = p->cap = 0;
	if (!resp)
		return MHD_NO;
	if (due) {
		p->resp = resp;
		p->status = c.r.status;
		p->due_ms = due;
		p->start_ms = start;
		if (heap_push(a, p) == 0) {
			MHD_suspend_connection(p->conn);
			return MHD_YES;
		}
		p->resp = NULL;
	}
	if (api)
		latency_add(a, p);
	ret = MHD_queue_response(p->conn, c.r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
	struct app *a = cls;
	struct pending *p = *req_cls;
	enum MHD_Result ret;

	(void)version;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return MHD_NO;
		p->conn = conn;
		p->heap_pos = NOT_QUEUED;
		p->t_ms = mono_ms();
		*req_cls = p;
		switch (announced_body(conn)) {
		case BODY_REFUSE_NOW:
			p->too_big = true;
			return respond(a, p, url, method, true);
		case BODY_TOO_BIG:
			p->too_big = true;
			return MHD_YES;
		default:
			return MHD_YES;
		}
	}
	if (p->resp) {
		/* Resumed after the injected latency. */
		latency_add(a, p);
		ret = MHD_queue_response(conn, p->status, p->resp);
		MHD_destroy_response(p->resp);
		p->resp = NULL;
		return ret;
	}
	if (*upload_size) {
		body_append(p, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return respond(a, p, url, method, false);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct app *a = cls;
	struct pending *p = *req_cls;

	(void)conn;
	(void)toe;
	if (!p)
		return;
	heap_remove(a, p);
	if (p->resp)
		MHD_destroy_response(p->resp);
	free(p->body);
	free(p);
	*req_cls = NULL;
}

/* ---- process ---------------------------------------------------------- */

static void app_free(struct app *a)
{
	if (!a)
		return;
	customers_clear(a);
	script_clear(a);
	free(a->cust);
	free(a->ix.buckets);
	for (size_t i = 0; i < a->n_clients; i++)
		client_free(a->clients[i]);
	for (size_t i = 0; i < a->n_tenants; i++)
		free(a->tenants[i]);
	free(a->tokens);
	for (size_t i = 0; a->log && i < MAX_LOG; i++)
		free(a->log[i].header_values);
	free(a->log);
	free(a->heap);
	free(a);
}

static struct app *app_new(void)
{
	struct app *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->token_ttl_s = 3600;
	a->next_seq = 1;
	a->disabled_status = 503;
	a->tokens = calloc(TOKEN_SLOTS, sizeof(*a->tokens));
	a->log = calloc(MAX_LOG, sizeof(*a->log));
	a->ix.n_buckets = IX_BUCKETS;
	a->ix.buckets = calloc(IX_BUCKETS, sizeof(*a->ix.buckets));
	a->default_tenant = tenant_intern(a, DEFAULT_TENANT);
	if (!a->tokens || !a->log || !a->ix.buckets || !a->default_tenant) {
		app_free(a);
		return NULL;
	}
	return a;
}

/* ID:SECRET:TENANT:SCOPE,SCOPE... (scopes contain ':', so split thrice) */
static int parse_client(struct app *a, const char *arg)
{
	char *copy = strdup(arg), *f[4], *p;
	const char *scopes[MAX_SCOPES];
	size_t n = 0;
	int rc = -EINVAL;

	if (!copy)
		return -ENOMEM;
	f[0] = copy;
	for (int i = 1; i < 4; i++) {
		p = strchr(f[i - 1], ':');
		if (!p)
			goto out;
		*p = '\0';
		f[i] = p + 1;
	}
	for (p = strtok(f[3], ","); p; p = strtok(NULL, ",")) {
		if (n == MAX_SCOPES)
			goto out;
		scopes[n++] = p;
	}
	rc = client_set(a, f[0], f[1], f[2], scopes, n);
out:
	free(copy);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: refapi [--port N] "
	        "[--client ID:SECRET:TENANT:SCOPE,...]...\n"
	        "              [--token-ttl SECONDS] [--no-auth] [--verbose]\n"
	        "              [--profile alvys|wms|portal|engage]\n"
	        "              [--log-header NAME]...\n");
}

/* Weak while the profiles land one by one: a missing one is refused. */
extern const struct refapi_profile refapi_wms __attribute__((weak));
extern const struct refapi_profile refapi_portal __attribute__((weak));
extern const struct refapi_profile refapi_engage __attribute__((weak));

static const struct refapi_profile *find_profile(const char *name)
{
	const struct refapi_profile *const all[] = {
	    &refapi_alvys, &refapi_wms, &refapi_portal, &refapi_engage};

	for (size_t i = 0; i < N_ELEMS(all); i++)
		if (all[i] && strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

static int parse_args(struct app *a, int argc, char **argv, long *port)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"client", required_argument, NULL, 'c'},
	    {"token-ttl", required_argument, NULL, 't'},
	    {"no-auth", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"profile", required_argument, NULL, 'P'},
	    {"log-header", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long v;
	int o;

	*port = 0;
	a->profile = &refapi_alvys;
	while ((o = getopt_long(argc, argv, "p:c:t:nvhP:H:", opts, NULL)) !=
	       -1) {
		switch (o) {
		case 'p':
			if (parse_long(optarg, 0, 65535, port)) {
				logmsg(3, "bad --port %s", optarg);
				return -EINVAL;
			}
			break;
		case 'c':
			if (parse_client(a, optarg)) {
				logmsg(3,
				       "bad --client (want ID:SECRET:TENANT:"
				       "SCOPE,...)");
				return -EINVAL;
			}
			break;
		case 't':
			if (parse_long(optarg, 0, MAX_SECONDS, &v)) {
				logmsg(3, "bad --token-ttl %s", optarg);
				return -EINVAL;
			}
			a->token_ttl_s = v;
			break;
		case 'n':
			a->no_auth = true;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'P':
			a->profile = find_profile(optarg);
			if (!a->profile) {
				logmsg(3, "unknown --profile %s", optarg);
				return -EINVAL;
			}
			break;
		case 'H':
			if (a->n_log_headers == MAX_LOG_HEADERS) {
				logmsg(3, "too many --log-header");
				return -EINVAL;
			}
			a->log_headers[a->n_log_headers++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Hundreds of keep-alive connections need more than 1024 descriptors on
 * some hosts; returns how many connections to allow. */
static unsigned raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = 65536;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < want) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = old;
	}
	if (rl.rlim_cur < 1024 + 64)
		return 1024;
	return rl.rlim_cur - 64 < CONN_LIMIT ? (unsigned)(rl.rlim_cur - 64)
	                                     : CONN_LIMIT;
}

static int serve(struct app *a, const sigset_t *waitmask)
{
	const union MHD_DaemonInfo *info;
	struct pollfd pfd;

	info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return -EINVAL;
	pfd.fd = info->epoll_fd;
	pfd.events = POLLIN;
	while (!stop) {
		MHD_UNSIGNED_LONG_LONG mhd_ms;
		int64_t wait_ms = -1;
		struct timespec ts;

		MHD_run(a->mhd);
		if (MHD_get_timeout(a->mhd, &mhd_ms) == MHD_YES)
			wait_ms = mhd_ms > INT_MAX ? INT_MAX : (int64_t)mhd_ms;
		if (a->heap_len) {
			int64_t due = a->heap[0]->due_ms - mono_ms();

			due = due < 0 ? 0 : due;
			wait_ms = wait_ms < 0 || due < wait_ms ? due : wait_ms;
		}
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (wait_ms % 1000) * 1000000;
		/* Signals are blocked except inside ppoll, so a SIGTERM
		 * cannot slip in between the check and the wait. */
		if (ppoll(&pfd, 1, wait_ms < 0 ? NULL : &ts, waitmask) < 0 &&
		    errno != EINTR) {
			logmsg(3, "ppoll: %s", strerror(errno));
			return -errno;
		}
		resume_due(a, mono_ms());
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct app *a = app_new();
	struct sockaddr_in addr;
	struct sigaction sa;
	sigset_t block, waitmask;
	unsigned limit, bound;
	long port;
	int rc;

	if (!a) {
		logmsg(3, "out of memory");
		return 1;
	}
	rc = parse_args(a, argc, argv, &port);
	if (rc) {
		app_free(a);
		return rc > 0 ? 0 : 2;
	}
	limit = raise_nofile();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* No internal thread: MHD_USE_EPOLL_INTERNAL_THREAD stalls under
	 * load with 0.9.75 (shared/NOTES), and one thread needs no locks. */
	a->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	        (a->verbose ? MHD_USE_ERROR_LOG : 0),
	    0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 300u, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, a, MHD_OPTION_END);
	if (!a->mhd) {
		logmsg(3, "cannot listen on 127.0.0.1:%ld", port);
		app_free(a);
		return 1;
	}
	bound = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
	printf("PORT %u\n", bound);
	fflush(stdout);
	logmsg(6, "listening port=%u auth=%s clients=%zu connections=%u",
	       bound, a->no_auth ? "off" : "on", a->n_clients, limit);

	rc = serve(a, &waitmask);

	/* MHD_stop_daemon must not see suspended connections. */
	while (a->heap_len) {
		struct pending *p = a->heap[0];

		heap_remove(a, p);
		MHD_resume_connection(p->conn);
	}
	MHD_stop_daemon(a->mhd);
	logmsg(6, "stopped requests=%" PRIu64, a->total);
	app_free(a);
	return rc ? 1 : 0;
}
