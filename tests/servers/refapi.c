/* refapi: the partner's customer API, for integration tests.
 *
 *   refapi [--port N] [--client ID:SECRET:TENANT:SCOPE,SCOPE...]...
 *          [--token-ttl SECONDS] [--no-auth] [--verbose]
 *
 * Implements "Public API: Customer write endpoints" (shared/seeds/000)
 * with the read endpoints it leaves unchanged, so the built daemon can be
 * tested against something that refuses what the partner refuses. Listens
 * on 127.0.0.1 only (port 0 picks a free one) and prints "PORT <n>" on
 * stdout once it accepts connections; SIGTERM or SIGINT stops it, exit 0.
 * --client may repeat; the scopes after the third ':' are comma
 * separated. --no-auth serves every call as tenant "default" with every
 * scope. --verbose logs each request on stderr.
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
 *   POST /_control/latency {"ms":N}        delay later /api and /oauth
 *                                          responses (0: off)
 *   POST /_control/disable_writes {"seconds":S,"retry_after":R,
 *        "status":503|429}                 customer writes answer status
 *                                          with Retry-After: R for S s
 *   POST /_control/edit {"id","patch"}     an edit made by someone else
 *   POST /_control/seed {"tenant","customer"}   insert without checks
 *   GET  /_control/state                   every record, ETag, Tenant
 *   GET  /_control/requests[?log=0]        counters and the request log
 *   POST /_control/reset                   records, counters, faults
 *   POST /_control/expire_tokens           every issued token expires
 *   POST /_control/token_ttl {"seconds":N} TTL of tokens issued later
 *   POST /_control/client {"id","secret","tenant","scopes"}  add/replace
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
 *
 * One thread drives libmicrohttpd's epoll fd with MHD_run(), so handlers
 * share state without locks. Injected latency suspends the connection and
 * parks it in a min-heap of deadlines instead of holding a thread.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "merge_patch.h"

#define API_PREFIX     "/api/p/v1.0"
#define PROBLEM_BASE   "https://refapi.test/problems/"
#define DEFAULT_TENANT "default"
#define MAX_BODY       (1024 * 1024)
#define MAX_LOG        20000
#define MAX_COUNT_KEYS 1024
#define MAX_CLIENTS    1024
#define MAX_TENANTS    1024
#define MAX_NAME       256
#define MAX_SCOPES     32
#define MAX_SCOPE_LEN  64
#define TOKEN_SLOTS    65536 /* power of two */
#define TOKEN_HEX      40
#define MAX_CUSTOMERS  2000000
#define MAX_LATENCY_MS 600000
#define MAX_SECONDS    31536000
#define MAX_ID         64
#define ETAG_MAX       48
#define PAGE_SIZE_DEF  50
#define PAGE_SIZE_MAX  200
#define CONN_LIMIT     4096
#define IX_BUCKETS     4096 /* power of two; doubles as records grow */
#define NOT_QUEUED     SIZE_MAX

enum scope_bit {
	SCOPE_READ = 1u << 0,
	SCOPE_CREATE = 1u << 1,
	SCOPE_UPDATE = 1u << 2,
	SCOPE_DELETE = 1u << 3,
};

static const char *const scope_names[] = {
	"customer:read", "customer:create", "customer:update",
	"customer:delete"};

enum route {
	ROUTE_OTHER,
	ROUTE_TOKEN,
	ROUTE_CUSTOMERS,
	ROUTE_SEARCH,
	ROUTE_CUSTOMER,
	ROUTE_MAX
};

static const char *const route_names[ROUTE_MAX] = {
	"other", "/oauth/token", "/customers", "/customers/search",
	"/customers/{id}"};

/* Indexed fields, in the order duplicates are reported. */
enum ix_kind { IX_COMPANY, IX_EXTERNAL, IX_NAME, IX_MAX };

static const char *const ix_field[IX_MAX] = {"CompanyNumber", "ExternalId",
					     "Name"};

static const char *const writable[] = {
	"Name",	 "Type",  "CompanyNumber", "Status",    "BillingAddress",
	"Email", "Phone", "Fax",	   "ExternalId"};

static const char *const address_keys[] = {"Street", "City", "State",
					   "Zip"};

static const char *const placeholders[] = {
	"N/A", "NA", "TBD", "NONE", "-", "0", "PLACEHOLDER", "UNKNOWN"};

#define N_ELEMS(x) (sizeof(x) / sizeof((x)[0]))

struct client {
	char *id;
	char *secret;
	const char *tenant; /* interned */
	size_t n_scopes;
	char scopes[MAX_SCOPES][MAX_SCOPE_LEN + 1];
};

/* A token names its own slot (first 8 hex digits), so lookup is O(1) and
 * the oldest tokens are forgotten once TOKEN_SLOTS have been issued. */
struct token {
	char value[TOKEN_HEX + 1];
	const char *tenant;
	unsigned scopes;
	int64_t expires_ms; /* monotonic */
};

struct ix_entry {
	struct ix_entry *next;
	uint64_t hash;
	struct customer *c;
	bool linked;
};

struct customer {
	uint64_t seq;
	char id[24];
	const char *tenant; /* interned: compared by pointer */
	cJSON *fields;	    /* writable members only */
	char etag[ETAG_MAX];
	int64_t created_ms; /* wall clock */
	int64_t modified_ms;
	struct ix_entry ix[IX_MAX];
};

/* Exact-value multimap (tenant, field, value) -> record: keeps the
 * duplicate checks and searches O(1) with benchmark-sized stores. Seeded
 * records may share values, hence a multimap. */
struct index {
	struct ix_entry **buckets;
	size_t n_buckets;
	size_t count;
};

enum log_has {
	HAS_IF_MATCH = 1u << 0,
	HAS_CONTENT_TYPE = 1u << 1,
	HAS_CORRELATION = 1u << 2,
};

struct log_entry {
	int64_t t_ms;
	unsigned status;
	unsigned has; /* enum log_has */
	bool auth;
	enum route route;
	char method[16];
	char path[160];
	char if_match[96];
	char content_type[96];
	char correlation_id[96];
};

struct count {
	char key[96];
	uint64_t n;
};

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
	uint64_t order; /* FIFO among equal deadlines */
	size_t heap_pos;
};

struct app {
	struct MHD_Daemon *mhd;
	bool no_auth;
	bool verbose;
	int64_t token_ttl_s;
	const char *default_tenant;
	char *tenants[MAX_TENANTS];
	size_t n_tenants;
	struct client *clients[MAX_CLIENTS];
	size_t n_clients;
	struct token *tokens; /* TOKEN_SLOTS */
	uint64_t n_issued;
	struct customer **cust; /* creation order, so sorted by seq */
	size_t n_cust;
	size_t cap_cust;
	uint64_t next_seq;
	uint64_t etag_seq;
	struct index ix;
	int64_t latency_ms;
	int64_t disabled_until; /* monotonic ms */
	unsigned disabled_status;
	char retry_after[64];
	struct log_entry *log; /* ring of MAX_LOG */
	size_t log_head;
	size_t log_len;
	uint64_t total;
	uint64_t if_match_star;
	struct count counts[MAX_COUNT_KEYS];
	size_t n_counts;
	struct pending **heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t heap_order;
};

struct reply {
	unsigned status;
	cJSON *body;
	bool problem;
	bool no_store;
	const char *allow;
	const char *www_auth;
	char etag[ETAG_MAX];
	char location[128];
	char retry_after[64];
};

/* One request being answered. */
struct call {
	struct app *a;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const char *body;
	size_t len;
	enum route route;
	const char *id;
	const char *tenant;
	struct reply r;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

__attribute__((format(printf, 2, 3))) static void logmsg(int level,
							  const char *fmt,
							  ...)
{
	va_list ap;

	fprintf(stderr, "<%d>refapi: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static void random_bytes(void *buf, size_t n)
{
	static uint64_t fallback;
	unsigned char *p = buf;

	while (n) {
		ssize_t got = getrandom(p, n, 0);

		if (got > 0) {
			p += got;
			n -= (size_t)got;
			continue;
		}
		if (got < 0 && errno == EINTR)
			continue;
		/* No kernel entropy: ETags and tokens need only be unique
		 * here, so splitmix64 over time and pid will do. */
		if (!fallback)
			fallback = (uint64_t)clock_ms(CLOCK_REALTIME) ^
				   ((uint64_t)getpid() << 32);
		for (; n; n--) {
			uint64_t z = (fallback += 0x9E3779B97F4A7C15ULL);

			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
			z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
			*p++ = (unsigned char)(z ^ (z >> 31));
		}
	}
}

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static void iso_time(int64_t ms, char *out, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03dZ", base, (int)(ms % 1000));
}

/* Characters, not bytes: the document's limits count characters. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

static bool prefix_is(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 && (s[n] == '\0' || s[n] == '/');
}

/* "application/json; charset=utf-8" is application/json. */
static bool media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static const char *field_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A JSON number holding a whole number in [lo, hi]. */
static bool json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi))
		return false;
	if ((double)(int64_t)d != d)
		return false;
	*out = (int64_t)d;
	return true;
}

/* cJSON_ParseWithLength ignores trailing garbage; a body is one value. */
static cJSON *json_parse_exact(const char *s, size_t n)
{
	const char *end = NULL;
	cJSON *doc;

	if (!s || !n)
		return NULL;
	doc = cJSON_ParseWithLengthOpts(s, n, &end, false);
	if (!doc)
		return NULL;
	while (end < s + n && isspace((unsigned char)*end))
		end++;
	if (end != s + n) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

static bool add_copy(cJSON *obj, const char *name, const cJSON *v)
{
	cJSON *d;

	if (!v)
		return true;
	d = cJSON_Duplicate(v, 1);
	if (!d)
		return false;
	if (!cJSON_AddItemToObject(obj, name, d)) {
		cJSON_Delete(d);
		return false;
	}
	return true;
}

static bool set_member(cJSON *obj, const char *name, cJSON *v)
{
	if (!v)
		return false;
	if (cJSON_GetObjectItemCaseSensitive(obj, name))
		return cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
	if (!cJSON_AddItemToObject(obj, name, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

/* ---- tenants, clients, tokens ---------------------------------------- */

static const char *tenant_intern(struct app *a, const char *name)
{
	char *copy;

	if (!name || !*name || strlen(name) > MAX_NAME)
		return NULL;
	for (size_t i = 0; i < a->n_tenants; i++)
		if (strcmp(a->tenants[i], name) == 0)
			return a->tenants[i];
	if (a->n_tenants == MAX_TENANTS)
		return NULL;
	copy = strdup(name);
	if (!copy)
		return NULL;
	a->tenants[a->n_tenants++] = copy;
	return copy;
}

static void client_free(struct client *cl)
{
	if (!cl)
		return;
	free(cl->id);
	free(cl->secret);
	free(cl);
}

static struct client *client_find(struct app *a, const char *id)
{
	for (size_t i = 0; i < a->n_clients; i++)
		if (strcmp(a->clients[i]->id, id) == 0)
			return a->clients[i];
	return NULL;
}

static bool scope_ok(const char *s, size_t n)
{
	if (!n || n > MAX_SCOPE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f || s[i] == '"' ||
		    s[i] == '\\')
			return false;
	return true;
}

/* Adds or replaces a client; tokens already issued keep their grant. */
static int client_set(struct app *a, const char *id, const char *secret,
		      const char *tenant, const char *const *scopes,
		      size_t n_scopes)
{
	struct client *cl, *old;
	const char *t = tenant_intern(a, tenant);

	if (!t || !*id || strlen(id) > MAX_NAME || !*secret ||
	    strlen(secret) > MAX_NAME || n_scopes > MAX_SCOPES)
		return -EINVAL;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->id = strdup(id);
	cl->secret = strdup(secret);
	cl->tenant = t;
	if (!cl->id || !cl->secret) {
		client_free(cl);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_scopes; i++) {
		if (!scope_ok(scopes[i], strlen(scopes[i]))) {
			client_free(cl);
			return -EINVAL;
		}
		snprintf(cl->scopes[cl->n_scopes++], MAX_SCOPE_LEN + 1, "%s",
			 scopes[i]);
	}
	for (size_t i = 0; i < a->n_clients; i++) {
		old = a->clients[i];
		if (strcmp(old->id, id) == 0) {
			a->clients[i] = cl;
			client_free(old);
			return 0;
		}
	}
	if (a->n_clients == MAX_CLIENTS) {
		client_free(cl);
		return -ENOSPC;
	}
	a->clients[a->n_clients++] = cl;
	return 0;
}

static unsigned scope_bit(const char *s, size_t n)
{
	for (size_t i = 0; i < N_ELEMS(scope_names); i++)
		if (strlen(scope_names[i]) == n &&
		    strncmp(scope_names[i], s, n) == 0)
			return 1u << i;
	return 0;
}

static const char *scope_name(unsigned bit)
{
	for (size_t i = 0; i < N_ELEMS(scope_names); i++)
		if (bit == 1u << i)
			return scope_names[i];
	return "?";
}

static const struct token *token_issue(struct app *a, const char *tenant,
				       unsigned scopes)
{
	size_t slot = (size_t)(a->n_issued++ & (TOKEN_SLOTS - 1));
	struct token *t = &a->tokens[slot];
	unsigned char rnd[16];

	random_bytes(rnd, sizeof(rnd));
	snprintf(t->value, 9, "%08zx", slot);
	hex_encode(t->value + 8, rnd, sizeof(rnd));
	t->tenant = tenant;
	t->scopes = scopes;
	t->expires_ms = mono_ms() + a->token_ttl_s * 1000;
	return t;
}

enum token_state { TOKEN_MISSING, TOKEN_UNKNOWN, TOKEN_EXPIRED, TOKEN_OK };

static enum token_state token_check(struct app *a, const char *auth,
				    const struct token **out)
{
	char hex[9], *end;
	unsigned long slot;
	size_t n;
	const struct token *t;

	if (!auth)
		return TOKEN_MISSING;
	if (strncasecmp(auth, "Bearer", 6) != 0 ||
	    (auth[6] != ' ' && auth[6] != '\t'))
		return TOKEN_MISSING;
	auth += 6;
	while (*auth == ' ' || *auth == '\t')
		auth++;
	n = strcspn(auth, " \t");
	if (n != TOKEN_HEX || auth[strspn(auth + n, " \t") + n] != '\0')
		return TOKEN_UNKNOWN;
	memcpy(hex, auth, 8);
	hex[8] = '\0';
	slot = strtoul(hex, &end, 16);
	if (*end || slot >= TOKEN_SLOTS)
		return TOKEN_UNKNOWN;
	t = &a->tokens[slot];
	if (strncmp(t->value, auth, TOKEN_HEX) != 0)
		return TOKEN_UNKNOWN;
	if (mono_ms() >= t->expires_ms)
		return TOKEN_EXPIRED;
	*out = t;
	return TOKEN_OK;
}

/* ---- records and their index ----------------------------------------- */

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t ix_hash(const char *tenant, unsigned kind, const char *v)
{
	char k = (char)('0' + kind);
	uint64_t h = 1469598103934665603ULL;

	h = fnv(h, tenant, strlen(tenant) + 1);
	h = fnv(h, &k, 1);
	return fnv(h, v, strlen(v));
}

static bool ix_hit(const struct ix_entry *e, uint64_t h, const char *tenant,
		   unsigned kind, const char *v)
{
	return e->hash == h && e->c->tenant == tenant &&
	       (unsigned)(e - e->c->ix) == kind &&
	       strcmp(field_str(e->c->fields, ix_field[kind]), v) == 0;
}

static struct ix_entry *ix_bucket(const struct index *ix, uint64_t h)
{
	return ix->buckets[h & (ix->n_buckets - 1)];
}

static void ix_grow(struct index *ix)
{
	size_t n = ix->n_buckets * 2;
	struct ix_entry **b = calloc(n, sizeof(*b));

	/* Without memory the chains just get longer. */
	if (!b)
		return;
	for (size_t i = 0; i < ix->n_buckets; i++) {
		struct ix_entry *e = ix->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(ix->buckets);
	ix->buckets = b;
	ix->n_buckets = n;
}

/* Call after every change to c->fields (and ix_unlink before it). */
static void ix_link(struct index *ix, struct customer *c)
{
	for (unsigned k = 0; k < IX_MAX; k++) {
		const char *v = field_str(c->fields, ix_field[k]);
		struct ix_entry *e = &c->ix[k];
		size_t b;

		if (!v)
			continue;
		e->hash = ix_hash(c->tenant, k, v);
		e->c = c;
		b = e->hash & (ix->n_buckets - 1);
		e->next = ix->buckets[b];
		ix->buckets[b] = e;
		e->linked = true;
		ix->count++;
	}
	if (ix->count > ix->n_buckets * 2)
		ix_grow(ix);
}

static void ix_unlink(struct index *ix, struct customer *c)
{
	for (unsigned k = 0; k < IX_MAX; k++) {
		struct ix_entry *e = &c->ix[k], **pp;

		if (!e->linked)
			continue;
		pp = &ix->buckets[e->hash & (ix->n_buckets - 1)];
		while (*pp != e)
			pp = &(*pp)->next;
		*pp = e->next;
		e->linked = false;
		ix->count--;
	}
}

static void customer_free(struct customer *c)
{
	if (!c)
		return;
	cJSON_Delete(c->fields);
	free(c);
}

static void new_etag(struct app *a, char *out)
{
	unsigned char rnd[4];
	char hex[9];

	random_bytes(rnd, sizeof(rnd));
	hex_encode(hex, rnd, sizeof(rnd));
	snprintf(out, ETAG_MAX, "\"%" PRIu64 "-%s\"", ++a->etag_seq, hex);
}

/* Every write: a new ETag, and a DateModified that moves forward even
 * when two writes share a millisecond. */
static void touch(struct app *a, struct customer *c)
{
	int64_t now = clock_ms(CLOCK_REALTIME);

	c->modified_ms = now > c->modified_ms ? now : c->modified_ms + 1;
	new_etag(a, c->etag);
}

/* Takes ownership of fields. */
static struct customer *customer_add(struct app *a, const char *tenant,
				     cJSON *fields)
{
	struct customer *c = NULL;

	if (a->n_cust == MAX_CUSTOMERS)
		goto fail;
	if (a->n_cust == a->cap_cust) {
		size_t cap = a->cap_cust ? a->cap_cust * 2 : 1024;
		struct customer **n = realloc(a->cust, cap * sizeof(*n));

		if (!n)
			goto fail;
		a->cust = n;
		a->cap_cust = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->seq = a->next_seq++;
	snprintf(c->id, sizeof(c->id), "c-%06" PRIu64, c->seq);
	c->tenant = tenant;
	c->fields = fields;
	c->created_ms = clock_ms(CLOCK_REALTIME);
	c->modified_ms = c->created_ms;
	new_etag(a, c->etag);
	a->cust[a->n_cust++] = c;
	ix_link(&a->ix, c);
	return c;
fail:
	cJSON_Delete(fields);
	return NULL;
}

/* tenant NULL: any tenant (test controls). */
static struct customer *customer_find(struct app *a, const char *id,
				      const char *tenant)
{
	char canon[24], *end;
	uint64_t seq;
	size_t lo = 0, hi = a->n_cust;

	if (strncmp(id, "c-", 2) != 0 || !isdigit((unsigned char)id[2]))
		return NULL;
	errno = 0;
	seq = strtoull(id + 2, &end, 10);
	if (errno || *end)
		return NULL;
	/* One spelling per record: "c-1" does not alias "c-000001". */
	snprintf(canon, sizeof(canon), "c-%06" PRIu64, seq);
	if (strcmp(canon, id) != 0)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->cust[mid]->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->n_cust || a->cust[lo]->seq != seq)
		return NULL;
	if (tenant && a->cust[lo]->tenant != tenant)
		return NULL;
	return a->cust[lo];
}

static void customers_clear(struct app *a)
{
	for (size_t i = 0; i < a->n_cust; i++)
		customer_free(a->cust[i]);
	a->n_cust = 0;
	memset(a->ix.buckets, 0, a->ix.n_buckets * sizeof(*a->ix.buckets));
	a->ix.count = 0;
}

static const char *zip_of(const cJSON *fields)
{
	return field_str(
		cJSON_GetObjectItemCaseSensitive(fields, "BillingAddress"),
		"Zip");
}

static bool same_str(const char *x, const char *y)
{
	return x == y || (x && y && strcmp(x, y) == 0);
}

/* The oldest other record of the tenant that fields would duplicate,
 * soft-deleted ones included (their values stay reserved). An update
 * (self) is only checked on the values it changes, so duplicates that
 * only /_control/seed or edit can make do not block unrelated edits. */
static struct customer *find_conflict(struct app *a, const char *tenant,
				      const cJSON *fields,
				      const struct customer *self,
				      const char **field)
{
	for (unsigned k = 0; k < IX_MAX; k++) {
		const char *v = field_str(fields, ix_field[k]);
		const char *zip = NULL;
		struct customer *best = NULL;
		uint64_t h;

		if (!v)
			continue;
		if (k == IX_NAME) {
			zip = zip_of(fields);
			if (!zip)
				continue;
		}
		if (self &&
		    same_str(v, field_str(self->fields, ix_field[k])) &&
		    same_str(zip, k == IX_NAME ? zip_of(self->fields) : NULL))
			continue;
		h = ix_hash(tenant, k, v);
		for (struct ix_entry *e = ix_bucket(&a->ix, h); e;
		     e = e->next) {
			const char *other;

			if (!ix_hit(e, h, tenant, k, v) || e->c == self)
				continue;
			if (zip) {
				other = zip_of(e->c->fields);
				if (!other || strcmp(other, zip) != 0)
					continue;
			}
			if (!best || e->c->seq < best->seq)
				best = e->c;
		}
		if (best) {
			*field = ix_field[k];
			return best;
		}
	}
	return NULL;
}

/* ---- JSON views ------------------------------------------------------- */

enum view { VIEW_READ, VIEW_WRITE, VIEW_CONTROL };

static cJSON *render(const struct customer *c, enum view v)
{
	/* CustomerWriteResponse lists its members in this order. */
	static const char *const write_order[] = {
		"Name",		  "CompanyNumber", "Type",  "Status",
		"BillingAddress", "Email",	   "Phone", "Fax"};
	char created[40], modified[40];
	cJSON *o = cJSON_CreateObject(), *inv = cJSON_CreateObject();
	bool ok;

	iso_time(c->created_ms, created, sizeof(created));
	iso_time(c->modified_ms, modified, sizeof(modified));
	ok = o && inv && cJSON_AddStringToObject(inv, "Terms", "Net30") &&
	     cJSON_AddStringToObject(o, "Id", c->id);
	if (ok && v != VIEW_READ)
		ok = cJSON_AddStringToObject(o, "ETag", c->etag) != NULL;
	if (v == VIEW_WRITE) {
		for (size_t i = 0; ok && i < N_ELEMS(write_order); i++)
			ok = add_copy(o, write_order[i],
				      cJSON_GetObjectItemCaseSensitive(
					      c->fields, write_order[i]));
		ok = ok && cJSON_AddStringToObject(o, "DateCreated", created) &&
		     cJSON_AddStringToObject(o, "DateModified", modified) &&
		     cJSON_AddItemToObject(o, "InvoicingInformation", inv);
		if (ok)
			inv = NULL;
		ok = ok && add_copy(o, "ExternalId",
				    cJSON_GetObjectItemCaseSensitive(
					    c->fields, "ExternalId"));
	} else {
		for (size_t i = 0; ok && i < N_ELEMS(writable); i++)
			ok = add_copy(o, writable[i],
				      cJSON_GetObjectItemCaseSensitive(
					      c->fields, writable[i]));
		ok = ok && cJSON_AddNullToObject(o, "SalesAgentId") &&
		     cJSON_AddArrayToObject(o, "Contacts") &&
		     cJSON_AddNullToObject(o, "Notes") &&
		     cJSON_AddItemToObject(o, "InvoicingInformation", inv);
		if (ok)
			inv = NULL;
		ok = ok && cJSON_AddStringToObject(o, "DateCreated", created) &&
		     cJSON_AddStringToObject(o, "DateModified", modified);
		if (ok && v == VIEW_CONTROL)
			ok = cJSON_AddStringToObject(o, "Tenant", c->tenant) !=
			     NULL;
	}
	cJSON_Delete(inv);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The writable members of body (nulls kept: they mean "remove" in a
 * merge patch); everything else is ignored, as the document says. */
static cJSON *writable_subset(const cJSON *body)
{
	cJSON *out = cJSON_CreateObject();

	for (size_t i = 0; out && i < N_ELEMS(writable); i++) {
		if (!add_copy(out, writable[i],
			      cJSON_GetObjectItemCaseSensitive(body,
							       writable[i]))) {
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

static bool is_address_key(const char *k)
{
	for (size_t i = 0; i < N_ELEMS(address_keys); i++)
		if (strcmp(k, address_keys[i]) == 0)
			return true;
	return false;
}

/* BillingAddress keeps Street, City, State and Zip only. */
static void trim_address(cJSON *fields)
{
	cJSON *addr = cJSON_GetObjectItemCaseSensitive(fields,
						       "BillingAddress");
	cJSON *m, *next;

	if (!cJSON_IsObject(addr))
		return;
	for (m = addr->child; m; m = next) {
		next = m->next;
		if (!is_address_key(m->string))
			cJSON_Delete(cJSON_DetachItemViaPointer(addr, m));
	}
}

/* ---- replies ---------------------------------------------------------- */

static void reply_body(struct reply *r, unsigned status, cJSON *body)
{
	cJSON_Delete(r->body);
	r->body = body; /* takes ownership */
	r->status = status;
	r->problem = false;
}

static const char *problem_title(const char *kind, unsigned status)
{
	const char *t;

	if (strcmp(kind, "validation") == 0)
		return "One or more validation errors occurred.";
	t = MHD_get_reason_phrase_for(status);
	return t && *t ? t : "Error";
}

/* Returns the body so callers can add members (errors, field...). */
__attribute__((format(printf, 4, 5))) static cJSON *
problem(struct reply *r, unsigned status, const char *kind, const char *fmt,
	...)
{
	char type[128], detail[512];
	cJSON *b = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(type, sizeof(type), PROBLEM_BASE "%s", kind);
	cJSON_AddStringToObject(b, "type", type);
	cJSON_AddStringToObject(b, "title", problem_title(kind, status));
	cJSON_AddNumberToObject(b, "status", status);
	cJSON_AddStringToObject(b, "detail", detail);
	reply_body(r, status, b);
	r->problem = true;
	return b;
}

static void oom(struct reply *r)
{
	problem(r, 500, "internal", "out of memory");
}

static void not_allowed(struct call *c, const char *allow)
{
	problem(&c->r, 405, "method-not-allowed", "%s is not allowed here",
		c->method);
	c->r.allow = allow;
}

static const char *header(const struct call *c, const char *name)
{
	return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

static cJSON *parse_object(struct call *c)
{
	cJSON *doc = json_parse_exact(c->body, c->len);

	if (!doc) {
		problem(&c->r, 400, "bad-request",
			"request body is not valid JSON");
		return NULL;
	}
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		problem(&c->r, 400, "bad-request",
			"request body must be a JSON object");
		return NULL;
	}
	return doc;
}

static void add_error(cJSON *errors, const char *field, const char *msg)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(errors, field);
	cJSON *m = cJSON_CreateString(msg);

	if (!list)
		list = cJSON_AddArrayToObject(errors, field);
	if (!cJSON_AddItemToArray(list, m))
		cJSON_Delete(m);
}

/* 400 with every refused field, and their messages joined in detail so
 * a log line alone tells the operator what was wrong. Takes errors. */
static void validation_problem(struct reply *r, cJSON *errors)
{
	char detail[512] = "";
	size_t used = 0;
	const cJSON *f, *m;
	cJSON *b;

	cJSON_ArrayForEach(f, errors)
	{
		cJSON_ArrayForEach(m, f)
		{
			int n;

			if (!cJSON_IsString(m) || used >= sizeof(detail))
				continue;
			n = snprintf(detail + used, sizeof(detail) - used,
				     "%s%s", used ? " " : "", m->valuestring);
			if (n > 0)
				used += (size_t)n;
		}
	}
	b = problem(r, 400, "validation", "%s", detail);
	if (!b || !cJSON_AddItemToObject(b, "errors", errors))
		cJSON_Delete(errors);
}

static void conflict_problem(struct reply *r, const char *field,
			     const struct customer *dup)
{
	cJSON *b = problem(r, 409, "conflict",
			   "a customer with this %s already exists (%s)",
			   strcmp(field, "Name") == 0 ? "Name and billing Zip"
						      : field,
			   dup->id);

	cJSON_AddStringToObject(b, "field", field);
	cJSON_AddStringToObject(b, "customerId", dup->id);
}

/* ---- validation ------------------------------------------------------- */

static bool is_placeholder(const char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return true;
	for (size_t i = 0; i < N_ELEMS(placeholders); i++)
		if (strlen(placeholders[i]) == n &&
		    strncasecmp(s, placeholders[i], n) == 0)
			return true;
	return false;
}

/* An optional string member: copied to out when valid. */
static const char *check_string(const cJSON *in, cJSON *out,
				const char *name, size_t max, cJSON *errors)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);
	char msg[128];

	if (!v)
		return NULL;
	if (!cJSON_IsString(v)) {
		snprintf(msg, sizeof(msg), "%s must be a string.", name);
		add_error(errors, name, msg);
		return NULL;
	}
	if (max && utf8_len(v->valuestring) > max) {
		snprintf(msg, sizeof(msg), "%s must be at most %zu characters.",
			 name, max);
		add_error(errors, name, msg);
		return NULL;
	}
	add_copy(out, name, v);
	return v->valuestring;
}

static void check_string_array(const cJSON *in, cJSON *out,
			       const char *name, cJSON *errors)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name), *e;
	char msg[128];

	if (!v)
		return;
	if (cJSON_IsArray(v)) {
		bool ok = true;

		cJSON_ArrayForEach(e, v)
		{
			ok = ok && cJSON_IsString(e);
		}
		if (ok) {
			add_copy(out, name, v);
			return;
		}
	}
	snprintf(msg, sizeof(msg), "%s must be an array of strings.", name);
	add_error(errors, name, msg);
}

static void check_address(const cJSON *in, cJSON *out, cJSON *errors)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, "BillingAddress");
	cJSON *addr;

	if (!v)
		return;
	if (!cJSON_IsObject(v)) {
		add_error(errors, "BillingAddress",
			  "BillingAddress must be an object.");
		return;
	}
	addr = cJSON_AddObjectToObject(out, "BillingAddress");
	for (size_t i = 0; i < N_ELEMS(address_keys); i++) {
		const cJSON *m =
			cJSON_GetObjectItemCaseSensitive(v, address_keys[i]);
		char key[48], msg[96];

		if (!m)
			continue;
		if (cJSON_IsString(m)) {
			add_copy(addr, address_keys[i], m);
			continue;
		}
		snprintf(key, sizeof(key), "BillingAddress.%s",
			 address_keys[i]);
		snprintf(msg, sizeof(msg), "%s must be a string.", key);
		add_error(errors, key, msg);
	}
}

/* The document's create rules, applied to a whole record (after a merge
 * patch too). Returns the record with the writable members in canonical
 * order and Status defaulted, whatever errors holds. */
static cJSON *validate(const cJSON *in, cJSON *errors)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *v;
	const char *s;

	if (!out)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(in, "Name");
	if (!v)
		add_error(errors, "Name", "Name is required.");
	else if (!cJSON_IsString(v))
		add_error(errors, "Name", "Name must be a string.");
	else if (blank(v->valuestring))
		add_error(errors, "Name", "Name must not be blank.");
	else
		check_string(in, out, "Name", 200, errors);

	v = cJSON_GetObjectItemCaseSensitive(in, "Type");
	if (!v)
		add_error(errors, "Type", "Type is required.");
	else if (!cJSON_IsString(v) ||
		 (strcmp(v->valuestring, "Customer") != 0 &&
		  strcmp(v->valuestring, "Broker/3PL") != 0))
		add_error(errors, "Type", "Type must be Customer or Broker/3PL.");
	else
		add_copy(out, "Type", v);

	s = check_string(in, out, "CompanyNumber", 32, errors);
	if (s && is_placeholder(s)) {
		cJSON_DeleteItemFromObjectCaseSensitive(out, "CompanyNumber");
		add_error(errors, "CompanyNumber",
			  "CompanyNumber must not be a placeholder value.");
	}

	v = cJSON_GetObjectItemCaseSensitive(in, "Status");
	if (!v)
		cJSON_AddStringToObject(out, "Status", "Active");
	else if (!cJSON_IsString(v) ||
		 (strcmp(v->valuestring, "Active") != 0 &&
		  strcmp(v->valuestring, "Inactive") != 0))
		add_error(errors, "Status",
			  "Status must be Active or Inactive.");
	else
		add_copy(out, "Status", v);

	check_address(in, out, errors);
	check_string_array(in, out, "Email", errors);
	check_string_array(in, out, "Phone", errors);
	check_string(in, out, "Fax", 0, errors);
	check_string(in, out, "ExternalId", 100, errors);
	return out;
}

/* target with the writable part of body merged in (RFC 7396), checked by
 * the create rules. NULL with c->r set when refused. */
static cJSON *normalize(struct call *c, const cJSON *target,
			const cJSON *body)
{
	cJSON *patch = writable_subset(body), *merged, *errors, *out;

	merged = patch ? merge_patch_apply(target, patch) : NULL;
	cJSON_Delete(patch);
	errors = cJSON_CreateObject();
	out = merged && errors ? validate(merged, errors) : NULL;
	cJSON_Delete(merged);
	if (!out) {
		cJSON_Delete(errors);
		oom(&c->r);
		return NULL;
	}
	if (errors->child) {
		cJSON_Delete(out);
		validation_problem(&c->r, errors);
		return NULL;
	}
	cJSON_Delete(errors);
	return out;
}

/* ---- the customer API ------------------------------------------------- */

static bool authorize(struct call *c, unsigned need)
{
	const struct token *t = NULL;
	static const char *const why[] = {
		[TOKEN_MISSING] = "a bearer token is required",
		[TOKEN_UNKNOWN] = "the bearer token is not valid",
		[TOKEN_EXPIRED] = "the bearer token has expired",
	};
	enum token_state st;

	if (c->a->no_auth) {
		c->tenant = c->a->default_tenant;
		return true;
	}
	st = token_check(c->a, header(c, MHD_HTTP_HEADER_AUTHORIZATION), &t);
	if (st != TOKEN_OK) {
		problem(&c->r, 401, "unauthorized", "%s", why[st]);
		c->r.www_auth = "Bearer error=\"invalid_token\"";
		return false;
	}
	if (!(t->scopes & need)) {
		problem(&c->r, 403, "forbidden", "missing scope %s",
			scope_name(need));
		return false;
	}
	c->tenant = t->tenant;
	return true;
}

/* The fault injected with /_control/disable_writes, ahead of auth. */
static bool writes_disabled(struct call *c)
{
	struct app *a = c->a;

	if (mono_ms() >= a->disabled_until)
		return false;
	if (a->disabled_status == 429)
		problem(&c->r, 429, "rate-limited",
			"too many customer writes; retry after %s",
			a->retry_after);
	else
		problem(&c->r, 503, "EndpointDisabled",
			"customer writes are temporarily unavailable");
	snprintf(c->r.retry_after, sizeof(c->r.retry_after), "%s",
		 a->retry_after);
	return true;
}

static bool precondition(struct call *c, const struct customer *cu)
{
	const char *im = header(c, MHD_HTTP_HEADER_IF_MATCH);

	if (!im || !*im) {
		problem(&c->r, 428, "precondition-required",
			"If-Match is required; GET the customer for its ETag");
		return false;
	}
	if (strcmp(im, cu->etag) != 0) {
		problem(&c->r, 412, "precondition-failed",
			"If-Match does not match the current ETag of %s",
			cu->id);
		return false;
	}
	return true;
}

static void write_reply(struct call *c, const struct customer *cu,
			unsigned status)
{
	cJSON *b = render(cu, VIEW_WRITE);

	if (!b) {
		oom(&c->r);
		return;
	}
	reply_body(&c->r, status, b);
	snprintf(c->r.etag, sizeof(c->r.etag), "%s", cu->etag);
}

static struct customer *find_or_404(struct call *c)
{
	struct customer *cu = customer_find(c->a, c->id, c->tenant);

	if (!cu)
		problem(&c->r, 404, "not-found", "customer %s not found",
			c->id);
	return cu;
}

static void api_create(struct call *c)
{
	struct customer *cu, *dup;
	const char *field = NULL;
	cJSON *doc, *fields;

	if (!authorize(c, SCOPE_CREATE))
		return;
	if (!media_type_is(header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
			   "application/json")) {
		problem(&c->r, 415, "unsupported-media-type",
			"Content-Type must be application/json");
		return;
	}
	doc = parse_object(c);
	if (!doc)
		return;
	fields = normalize(c, NULL, doc);
	cJSON_Delete(doc);
	if (!fields)
		return;
	dup = find_conflict(c->a, c->tenant, fields, NULL, &field);
	if (dup) {
		cJSON_Delete(fields);
		conflict_problem(&c->r, field, dup);
		return;
	}
	cu = customer_add(c->a, c->tenant, fields);
	if (!cu) {
		problem(&c->r, 507, "store-full", "cannot store more customers");
		return;
	}
	write_reply(c, cu, 201);
	snprintf(c->r.location, sizeof(c->r.location),
		 API_PREFIX "/customers/%s", cu->id);
}

static void api_get(struct call *c)
{
	struct customer *cu;
	cJSON *b;

	if (!authorize(c, SCOPE_READ))
		return;
	cu = find_or_404(c);
	if (!cu)
		return;
	b = render(cu, VIEW_READ);
	if (!b) {
		oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
	snprintf(c->r.etag, sizeof(c->r.etag), "%s", cu->etag);
}

static void api_patch(struct call *c)
{
	struct customer *cu, *dup;
	const char *field = NULL;
	cJSON *doc, *fields;

	if (!authorize(c, SCOPE_UPDATE))
		return;
	cu = find_or_404(c);
	if (!cu)
		return;
	if (!media_type_is(header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
			   "application/merge-patch+json")) {
		problem(&c->r, 415, "unsupported-media-type",
			"Content-Type must be application/merge-patch+json");
		return;
	}
	if (!precondition(c, cu))
		return;
	/* A non-object merge patch would replace the whole customer. */
	doc = parse_object(c);
	if (!doc)
		return;
	fields = normalize(c, cu->fields, doc);
	cJSON_Delete(doc);
	if (!fields)
		return;
	dup = find_conflict(c->a, c->tenant, fields, cu, &field);
	if (dup) {
		cJSON_Delete(fields);
		conflict_problem(&c->r, field, dup);
		return;
	}
	ix_unlink(&c->a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = fields;
	ix_link(&c->a->ix, cu);
	touch(c->a, cu);
	write_reply(c, cu, 200);
}

static void api_delete(struct call *c)
{
	struct customer *cu;

	if (!authorize(c, SCOPE_DELETE))
		return;
	cu = find_or_404(c);
	if (!cu || !precondition(c, cu))
		return;
	/* Soft delete: the record and its reserved values stay. */
	if (!set_member(cu->fields, "Status", cJSON_CreateString("Inactive"))) {
		oom(&c->r);
		return;
	}
	touch(c->a, cu);
	reply_body(&c->r, 204, NULL);
}

static int cmp_seq(const void *x, const void *y)
{
	const struct customer *const *p = x, *const *q = y;

	return (*p)->seq < (*q)->seq ? -1 : (*p)->seq > (*q)->seq;
}

static bool search_match(const struct customer *cu, const char *tenant,
			 const char *const *filters)
{
	if (cu->tenant != tenant)
		return false;
	for (unsigned k = 0; k < IX_MAX; k++) {
		const char *v;

		if (!filters[k])
			continue;
		v = field_str(cu->fields, ix_field[k]);
		if (!v || strcmp(v, filters[k]) != 0)
			return false;
	}
	return true;
}

/* Matches in creation order; *n set. NULL with *n 0 means none (or no
 * memory, which the caller cannot tell apart; this is a test server). */
static struct customer **search_collect(struct app *a, const char *tenant,
					const char *const *filters, size_t *n)
{
	struct customer **out = NULL, **grown;
	size_t cap = 0;
	int k = -1;
	uint64_t h;

	*n = 0;
	for (unsigned i = 0; i < IX_MAX && k < 0; i++)
		if (filters[i])
			k = (int)i;
	if (k < 0) {
		for (size_t i = 0; i < a->n_cust; i++) {
			if (!search_match(a->cust[i], tenant, filters))
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				grown = realloc(out, cap * sizeof(*out));
				if (!grown)
					break;
				out = grown;
			}
			out[(*n)++] = a->cust[i];
		}
		return out;
	}
	h = ix_hash(tenant, (unsigned)k, filters[k]);
	for (struct ix_entry *e = ix_bucket(&a->ix, h); e; e = e->next) {
		if (!ix_hit(e, h, tenant, (unsigned)k, filters[k]) ||
		    !search_match(e->c, tenant, filters))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(out, cap * sizeof(*out));
			if (!grown)
				break;
			out = grown;
		}
		out[(*n)++] = e->c;
	}
	if (*n > 1)
		qsort(out, *n, sizeof(*out), cmp_seq);
	return out;
}

static void api_search(struct call *c)
{
	const char *filters[IX_MAX] = {NULL};
	int64_t page = 1, size = PAGE_SIZE_DEF;
	struct customer **found;
	size_t n, from;
	cJSON *doc, *errors, *items, *b;
	const cJSON *v;
	char msg[64];

	if (!authorize(c, SCOPE_READ))
		return;
	if (!media_type_is(header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
			   "application/json")) {
		problem(&c->r, 415, "unsupported-media-type",
			"Content-Type must be application/json");
		return;
	}
	doc = parse_object(c);
	if (!doc)
		return;
	errors = cJSON_CreateObject();
	for (unsigned k = 0; k < IX_MAX; k++) {
		v = cJSON_GetObjectItemCaseSensitive(doc, ix_field[k]);
		if (!v || cJSON_IsNull(v))
			continue;
		if (cJSON_IsString(v)) {
			filters[k] = v->valuestring;
			continue;
		}
		snprintf(msg, sizeof(msg), "%s must be a string.",
			 ix_field[k]);
		add_error(errors, ix_field[k], msg);
	}
	v = cJSON_GetObjectItemCaseSensitive(doc, "Page");
	if (v && !cJSON_IsNull(v) && !json_int(v, 1, 1000000000, &page))
		add_error(errors, "Page",
			  "Page must be a whole number of at least 1.");
	v = cJSON_GetObjectItemCaseSensitive(doc, "PageSize");
	if (v && !cJSON_IsNull(v) && !json_int(v, 1, 1000000000, &size))
		add_error(errors, "PageSize",
			  "PageSize must be a whole number of at least 1.");
	if (size > PAGE_SIZE_MAX)
		size = PAGE_SIZE_MAX;
	if (!errors || errors->child) {
		if (errors)
			validation_problem(&c->r, errors);
		else
			oom(&c->r);
		cJSON_Delete(doc);
		return;
	}
	cJSON_Delete(errors);
	found = search_collect(c->a, c->tenant, filters, &n);
	cJSON_Delete(doc); /* filters pointed into it */
	b = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(b, "Items");
	from = (size_t)((page - 1) * size);
	for (size_t i = from; items && i < n && i < from + (size_t)size; i++)
		if (!cJSON_AddItemToArray(items, render(found[i], VIEW_READ)))
			items = NULL;
	free(found);
	if (!items || !cJSON_AddNumberToObject(b, "Total", (double)n)) {
		cJSON_Delete(b);
		oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
}

/* ---- OAuth2 token endpoint -------------------------------------------- */

static void oauth_error(struct reply *r, unsigned status, const char *code,
			const char *desc)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "error", code);
	cJSON_AddStringToObject(b, "error_description", desc);
	reply_body(r, status, b);
	r->no_store = true;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* application/x-www-form-urlencoded value: NULL when malformed or when
 * it hides a NUL byte. */
static char *form_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '+') {
			*o++ = ' ';
			continue;
		}
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		hi = i + 2 < n ? hexval(s[i + 1]) : -1;
		lo = i + 2 < n ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi * 16 + lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

enum form_key { FORM_GRANT, FORM_ID, FORM_SECRET, FORM_SCOPE, FORM_MAX };

static const char *const form_keys[FORM_MAX] = {
	"grant_type", "client_id", "client_secret", "scope"};

/* RFC 6749 §3.2: a parameter sent twice makes the request invalid. */
static bool form_parse(const char *s, size_t n, char **out)
{
	size_t i = 0;

	while (i < n) {
		size_t end = i, eq;
		char *key, *val;
		bool ok = true;

		while (end < n && s[end] != '&')
			end++;
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		key = form_decode(s + i, eq - i);
		val = form_decode(s + eq + 1, eq < end ? end - eq - 1 : 0);
		if (!key || !val)
			ok = false;
		for (size_t k = 0; ok && k < FORM_MAX; k++) {
			if (strcmp(key, form_keys[k]) != 0)
				continue;
			if (out[k]) {
				ok = false;
				break;
			}
			out[k] = val;
			val = NULL;
		}
		free(key);
		free(val);
		if (!ok)
			return false;
		i = end + 1;
	}
	return true;
}

static int b64val(char ch)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = ch ? strchr(set, ch) : NULL;

	return p ? (int)(p - set) : -1;
}

/* NULL when malformed or when it decodes to a NUL byte. */
static char *b64_decode(const char *s)
{
	size_t n = strlen(s), bits = 0;
	uint32_t acc = 0;
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		int v = b64val(s[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o = (char)((acc >> bits) & 0xff);
			if (!*o++) {
				free(out);
				return NULL;
			}
		}
	}
	*o = '\0';
	return out;
}

/* HTTP Basic client authentication (RFC 6749 §2.3.1): both halves are
 * form-encoded before base64. False when the header is not Basic. */
static bool basic_credentials(const char *auth, char **id, char **secret,
			      bool *bad)
{
	char *raw, *colon;

	*bad = false;
	if (!auth || strncasecmp(auth, "Basic ", 6) != 0)
		return false;
	auth += 6;
	while (*auth == ' ')
		auth++;
	raw = b64_decode(auth);
	colon = raw ? strchr(raw, ':') : NULL;
	if (colon) {
		*id = form_decode(raw, (size_t)(colon - raw));
		*secret = form_decode(colon + 1, strlen(colon + 1));
	}
	if (!*id || !*secret) {
		free(*id);
		free(*secret);
		*id = *secret = NULL;
		*bad = true;
	}
	free(raw);
	return true;
}

/* Granted = asked ∩ held, in the client's order; all it holds when no
 * scope is asked. */
static unsigned grant_scopes(const struct client *cl, const char *asked,
			     char *out, size_t size)
{
	unsigned bits = 0;
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cl->n_scopes; i++) {
		const char *s = cl->scopes[i];
		size_t n = strlen(s);
		bool want = !asked || !*asked;
		const char *p = asked;

		while (!want && *p) {
			size_t len;

			p += strspn(p, " ");
			len = strcspn(p, " ");
			want = len == n && strncmp(p, s, n) == 0;
			p += len;
		}
		if (!want || (size_t)snprintf(out + used, size - used, "%s%s",
					      used ? " " : "", s) >=
				     size - used) {
			out[used] = '\0';
			continue;
		}
		used = strlen(out);
		bits |= scope_bit(s, n);
	}
	return bits;
}

static void handle_token(struct call *c)
{
	char *form[FORM_MAX] = {NULL}, *id = NULL, *secret = NULL;
	char granted[MAX_SCOPES * (MAX_SCOPE_LEN + 1) + 1];
	const struct client *cl;
	const struct token *t;
	unsigned bits;
	bool basic, bad;
	cJSON *b;

	if (strcmp(c->method, MHD_HTTP_METHOD_POST) != 0) {
		not_allowed(c, "POST");
		return;
	}
	if (!media_type_is(header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
			   "application/x-www-form-urlencoded")) {
		oauth_error(&c->r, 400, "invalid_request",
			    "the body must be application/"
			    "x-www-form-urlencoded");
		return;
	}
	if (!form_parse(c->body ? c->body : "", c->len, form)) {
		oauth_error(&c->r, 400, "invalid_request",
			    "malformed or repeated parameter");
		goto out;
	}
	basic = basic_credentials(header(c, MHD_HTTP_HEADER_AUTHORIZATION),
				  &id, &secret, &bad);
	if (basic && (bad || form[FORM_SECRET])) {
		oauth_error(&c->r, 400, "invalid_request",
			    "malformed Basic credentials, or two client "
			    "authentication methods");
		goto out;
	}
	if (!basic) {
		id = form[FORM_ID];
		secret = form[FORM_SECRET];
		form[FORM_ID] = form[FORM_SECRET] = NULL;
	}
	if (!form[FORM_GRANT] || !id || !secret) {
		oauth_error(&c->r, 400, "invalid_request",
			    "grant_type, client_id and client_secret are "
			    "required");
		goto out;
	}
	cl = client_find(c->a, id);
	if (!cl || strcmp(cl->secret, secret) != 0) {
		oauth_error(&c->r, 401, "invalid_client",
			    "unknown client or wrong secret");
		if (basic)
			c->r.www_auth = "Basic realm=\"refapi\"";
		goto out;
	}
	if (strcmp(form[FORM_GRANT], "client_credentials") != 0) {
		oauth_error(&c->r, 400, "unsupported_grant_type",
			    "only client_credentials is supported");
		goto out;
	}
	bits = grant_scopes(cl, form[FORM_SCOPE], granted, sizeof(granted));
	t = token_issue(c->a, cl->tenant, bits);
	b = cJSON_CreateObject();
	if (!cJSON_AddStringToObject(b, "access_token", t->value) ||
	    !cJSON_AddStringToObject(b, "token_type", "Bearer") ||
	    !cJSON_AddNumberToObject(b, "expires_in",
				     (double)c->a->token_ttl_s) ||
	    !cJSON_AddStringToObject(b, "scope", granted)) {
		cJSON_Delete(b);
		oom(&c->r);
		goto out;
	}
	reply_body(&c->r, 200, b);
	c->r.no_store = true;
out:
	for (size_t k = 0; k < FORM_MAX; k++)
		free(form[k]);
	free(id);
	free(secret);
}

/* ---- routing ---------------------------------------------------------- */

static enum route classify(const char *url, const char **id)
{
	static const char base[] = API_PREFIX "/customers";

	*id = NULL;
	if (strcmp(url, "/oauth/token") == 0)
		return ROUTE_TOKEN;
	if (strncmp(url, base, sizeof(base) - 1) != 0)
		return ROUTE_OTHER;
	url += sizeof(base) - 1;
	if (*url == '\0')
		return ROUTE_CUSTOMERS;
	if (*url++ != '/')
		return ROUTE_OTHER;
	if (strcmp(url, "search") == 0)
		return ROUTE_SEARCH;
	if (!*url || strchr(url, '/') || strlen(url) > MAX_ID)
		return ROUTE_OTHER;
	*id = url;
	return ROUTE_CUSTOMER;
}

static bool method_is(const struct call *c, const char *m)
{
	return strcmp(c->method, m) == 0;
}

static void handle_api(struct call *c)
{
	switch (c->route) {
	case ROUTE_TOKEN:
		handle_token(c);
		return;
	case ROUTE_CUSTOMERS:
		if (!method_is(c, MHD_HTTP_METHOD_POST))
			not_allowed(c, "POST");
		else if (!writes_disabled(c))
			api_create(c);
		return;
	case ROUTE_SEARCH:
		if (!method_is(c, MHD_HTTP_METHOD_POST))
			not_allowed(c, "POST");
		else
			api_search(c);
		return;
	case ROUTE_CUSTOMER:
		if (method_is(c, MHD_HTTP_METHOD_GET) ||
		    method_is(c, MHD_HTTP_METHOD_HEAD))
			api_get(c);
		else if (!method_is(c, MHD_HTTP_METHOD_PATCH) &&
			 !method_is(c, MHD_HTTP_METHOD_DELETE))
			not_allowed(c, "GET, HEAD, PATCH, DELETE");
		else if (writes_disabled(c))
			return;
		else if (method_is(c, MHD_HTTP_METHOD_PATCH))
			api_patch(c);
		else
			api_delete(c);
		return;
	default:
		problem(&c->r, 404, "not-found", "no resource at %s", c->url);
		return;
	}
}

/* ---- test controls ---------------------------------------------------- */

static void ctl_ok(struct call *c, cJSON *b)
{
	if (!b) {
		oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
}

static void ctl_latency(struct call *c, const cJSON *in)
{
	int64_t ms;
	cJSON *b;

	if (!json_int(cJSON_GetObjectItemCaseSensitive(in, "ms"), 0,
		      MAX_LATENCY_MS, &ms)) {
		problem(&c->r, 400, "bad-request",
			"ms must be a whole number in [0, %d]",
			MAX_LATENCY_MS);
		return;
	}
	c->a->latency_ms = ms;
	b = cJSON_CreateObject();
	cJSON_AddNumberToObject(b, "ms", (double)ms);
	ctl_ok(c, b);
}

static void ctl_disable_writes(struct call *c, const cJSON *in)
{
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(in, "seconds");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(in, "retry_after");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(in, "status");
	struct app *a = c->a;
	int64_t status = 503, n, ms;
	char retry[64];
	cJSON *b;

	if (!cJSON_IsNumber(sec) || !(sec->valuedouble >= 0) ||
	    sec->valuedouble > MAX_SECONDS ||
	    (st && !json_int(st, 429, 503, &status)) ||
	    (status != 429 && status != 503)) {
		problem(&c->r, 400, "bad-request",
			"seconds must be in [0, %d], status 503 or 429",
			MAX_SECONDS);
		return;
	}
	ms = (int64_t)(sec->valuedouble * 1000.0);
	if (!ra) {
		/* The truthful default: when the writes come back. */
		snprintf(retry, sizeof(retry), "%" PRId64, (ms + 999) / 1000);
	} else if (json_int(ra, 0, MAX_SECONDS, &n)) {
		snprintf(retry, sizeof(retry), "%" PRId64, n);
	} else if (cJSON_IsString(ra) && *ra->valuestring &&
		   strlen(ra->valuestring) < sizeof(retry) &&
		   !ra->valuestring[strcspn(ra->valuestring, "\r\n")]) {
		/* An HTTP-date, or garbage a client must survive. */
		snprintf(retry, sizeof(retry), "%s", ra->valuestring);
	} else {
		problem(&c->r, 400, "bad-request",
			"retry_after must be a number of seconds or a string");
		return;
	}
	a->disabled_until = ms ? mono_ms() + ms : 0;
	a->disabled_status = (unsigned)status;
	snprintf(a->retry_after, sizeof(a->retry_after), "%s", retry);
	b = cJSON_CreateObject();
	cJSON_AddNumberToObject(b, "disabled_ms", (double)ms);
	cJSON_AddStringToObject(b, "retry_after", retry);
	cJSON_AddNumberToObject(b, "status", (double)status);
	ctl_ok(c, b);
}

static void ctl_edit(struct call *c, const cJSON *in)
{
	const char *id = field_str(in, "id");
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(in, "patch");
	struct customer *cu;
	cJSON *sub, *merged;

	if (!id || !cJSON_IsObject(patch)) {
		problem(&c->r, 400, "bad-request",
			"id (string) and patch (object) are required");
		return;
	}
	cu = customer_find(c->a, id, NULL);
	if (!cu) {
		problem(&c->r, 404, "not-found", "customer %s not found", id);
		return;
	}
	sub = writable_subset(patch);
	merged = sub ? merge_patch_apply(cu->fields, sub) : NULL;
	cJSON_Delete(sub);
	if (!merged) {
		oom(&c->r);
		return;
	}
	trim_address(merged);
	ix_unlink(&c->a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = merged;
	ix_link(&c->a->ix, cu);
	touch(c->a, cu);
	ctl_ok(c, render(cu, VIEW_CONTROL));
}

static void ctl_seed(struct call *c, const cJSON *in)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "tenant");
	const cJSON *cust = cJSON_GetObjectItemCaseSensitive(in, "customer");
	const char *tenant;
	struct customer *cu;
	cJSON *sub, *fields;

	tenant = tenant_intern(c->a, !t ? DEFAULT_TENANT
				 : cJSON_IsString(t) ? t->valuestring
						     : NULL);
	if (!tenant || !cJSON_IsObject(cust)) {
		problem(&c->r, 400, "bad-request",
			"customer (object) is required; tenant must be a "
			"non-empty string");
		return;
	}
	sub = writable_subset(cust);
	fields = sub ? merge_patch_apply(NULL, sub) : NULL;
	cJSON_Delete(sub);
	if (!fields) {
		oom(&c->r);
		return;
	}
	trim_address(fields);
	if (!cJSON_GetObjectItemCaseSensitive(fields, "Status"))
		cJSON_AddStringToObject(fields, "Status", "Active");
	cu = customer_add(c->a, tenant, fields);
	if (!cu) {
		problem(&c->r, 507, "store-full", "cannot store more customers");
		return;
	}
	ctl_ok(c, render(cu, VIEW_CONTROL));
}

static void ctl_state(struct call *c, const cJSON *in)
{
	cJSON *b = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(b, "customers");

	(void)in;
	for (size_t i = 0; list && i < c->a->n_cust; i++)
		if (!cJSON_AddItemToArray(list,
					  render(c->a->cust[i], VIEW_CONTROL)))
			list = NULL;
	if (!list) {
		cJSON_Delete(b);
		b = NULL;
	}
	ctl_ok(c, b);
}

static cJSON *opt_string(const struct log_entry *e, unsigned bit,
			 const char *s)
{
	return (e->has & bit) ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *log_json(const struct log_entry *e)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "method", e->method);
	cJSON_AddStringToObject(o, "path", e->path);
	cJSON_AddStringToObject(o, "route", route_names[e->route]);
	cJSON_AddNumberToObject(o, "status", e->status);
	cJSON_AddItemToObject(o, "if_match",
			      opt_string(e, HAS_IF_MATCH, e->if_match));
	cJSON_AddItemToObject(
		o, "content_type",
		opt_string(e, HAS_CONTENT_TYPE, e->content_type));
	cJSON_AddItemToObject(
		o, "correlation_id",
		opt_string(e, HAS_CORRELATION, e->correlation_id));
	cJSON_AddBoolToObject(o, "authorization_present", e->auth);
	cJSON_AddNumberToObject(o, "t_ms", (double)e->t_ms);
	return o;
}

static void ctl_requests(struct call *c, const cJSON *in)
{
	struct app *a = c->a;
	const char *q = MHD_lookup_connection_value(
		c->conn, MHD_GET_ARGUMENT_KIND, "log");
	cJSON *b = cJSON_CreateObject(), *counts, *log;
	bool ok;

	(void)in;
	counts = cJSON_AddObjectToObject(b, "counts");
	ok = counts && cJSON_AddNumberToObject(b, "total", (double)a->total);
	for (size_t i = 0; ok && i < a->n_counts; i++)
		ok = cJSON_AddNumberToObject(counts, a->counts[i].key,
					     (double)a->counts[i].n) != NULL;
	ok = ok && cJSON_AddNumberToObject(counts, "if_match_star",
					   (double)a->if_match_star);
	if (ok && !(q && strcmp(q, "0") == 0)) {
		size_t first = (a->log_head + MAX_LOG - a->log_len) % MAX_LOG;

		log = cJSON_AddArrayToObject(b, "log");
		for (size_t i = 0; log && i < a->log_len; i++)
			if (!cJSON_AddItemToArray(
				    log,
				    log_json(&a->log[(first + i) % MAX_LOG])))
				log = NULL;
		ok = log != NULL;
	}
	if (!ok) {
		cJSON_Delete(b);
		b = NULL;
	}
	ctl_ok(c, b);
}

static void ctl_reset(struct call *c, const cJSON *in)
{
	struct app *a = c->a;

	(void)in;
	customers_clear(a);
	a->log_head = a->log_len = 0;
	a->total = a->if_match_star = 0;
	a->n_counts = 0;
	a->latency_ms = 0;
	a->disabled_until = 0;
	ctl_ok(c, cJSON_CreateObject());
}

static void ctl_expire_tokens(struct call *c, const cJSON *in)
{
	(void)in;
	for (size_t i = 0; i < TOKEN_SLOTS; i++)
		c->a->tokens[i].expires_ms = INT64_MIN;
	ctl_ok(c, cJSON_CreateObject());
}

static void ctl_token_ttl(struct call *c, const cJSON *in)
{
	int64_t s;

	if (!json_int(cJSON_GetObjectItemCaseSensitive(in, "seconds"), 0,
		      MAX_SECONDS, &s)) {
		problem(&c->r, 400, "bad-request",
			"seconds must be a whole number in [0, %d]",
			MAX_SECONDS);
		return;
	}
	c->a->token_ttl_s = s;
	ctl_ok(c, cJSON_CreateObject());
}

static void ctl_client(struct call *c, const cJSON *in)
{
	const char *id = field_str(in, "id");
	const char *secret = field_str(in, "secret");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "tenant");
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(in, "scopes");
	const char *scopes[MAX_SCOPES];
	size_t n = 0;
	bool ok = id && secret && (!t || cJSON_IsString(t)) &&
		  (!sc || cJSON_IsArray(sc));
	const cJSON *list = ok ? sc : NULL, *s;
	int rc = -EINVAL;

	cJSON_ArrayForEach(s, list)
	{
		if (!cJSON_IsString(s) || n == MAX_SCOPES) {
			ok = false;
			break;
		}
		scopes[n++] = s->valuestring;
	}
	if (ok)
		rc = client_set(c->a, id, secret,
				t ? t->valuestring : DEFAULT_TENANT, scopes, n);
	if (rc == -ENOMEM) {
		oom(&c->r);
		return;
	}
	if (rc) {
		problem(&c->r, 400, "bad-request",
			"id and secret (1-%d chars), tenant (string) and "
			"scopes (at most %d strings without spaces) expected",
			MAX_NAME, MAX_SCOPES);
		return;
	}
	ctl_ok(c, cJSON_CreateObject());
}

static void handle_control(struct call *c)
{
	static const struct {
		const char *name;
		const char *method;
		void (*fn)(struct call *c, const cJSON *in);
	} table[] = {
		{"latency", MHD_HTTP_METHOD_POST, ctl_latency},
		{"disable_writes", MHD_HTTP_METHOD_POST, ctl_disable_writes},
		{"edit", MHD_HTTP_METHOD_POST, ctl_edit},
		{"seed", MHD_HTTP_METHOD_POST, ctl_seed},
		{"state", MHD_HTTP_METHOD_GET, ctl_state},
		{"requests", MHD_HTTP_METHOD_GET, ctl_requests},
		{"reset", MHD_HTTP_METHOD_POST, ctl_reset},
		{"expire_tokens", MHD_HTTP_METHOD_POST, ctl_expire_tokens},
		{"token_ttl", MHD_HTTP_METHOD_POST, ctl_token_ttl},
		{"client", MHD_HTTP_METHOD_POST, ctl_client},
	};
	const char *name = c->url + strlen("/_control/");
	cJSON *in = NULL;

	for (size_t i = 0; i < N_ELEMS(table); i++) {
		if (strcmp(name, table[i].name) != 0)
			continue;
		if (!method_is(c, table[i].method)) {
			not_allowed(c, table[i].method);
			return;
		}
		/* An empty body is an empty object: reset needs none. */
		if (c->len) {
			in = parse_object(c);
			if (!in)
				return;
		}
		table[i].fn(c, in);
		cJSON_Delete(in);
		return;
	}
	problem(&c->r, 404, "not-found", "no control at %s", c->url);
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

static void record(struct app *a, const struct call *c, int64_t t_ms)
{
	struct log_entry *e = &a->log[a->log_head];
	const char *im = header(c, MHD_HTTP_HEADER_IF_MATCH);
	char key[sizeof(a->counts[0].key)];
	size_t i;

	a->log_head = (a->log_head + 1) % MAX_LOG;
	if (a->log_len < MAX_LOG)
		a->log_len++;
	memset(e, 0, sizeof(*e));
	e->t_ms = t_ms;
	e->status = c->r.status;
	e->route = c->route;
	e->auth = header(c, MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
	snprintf(e->method, sizeof(e->method), "%s", c->method);
	snprintf(e->path, sizeof(e->path), "%s", c->url);
	copy_header(e, HAS_IF_MATCH, e->if_match, sizeof(e->if_match), im);
	copy_header(e, HAS_CONTENT_TYPE, e->content_type,
		    sizeof(e->content_type),
		    header(c, MHD_HTTP_HEADER_CONTENT_TYPE));
	copy_header(e, HAS_CORRELATION, e->correlation_id,
		    sizeof(e->correlation_id),
		    header(c, "X-Correlation-Id"));
	a->total++;
	if (im && strcmp(im, "*") == 0)
		a->if_match_star++;
	snprintf(key, sizeof(key), "%s %s %u", e->method,
		 route_names[c->route], c->r.status);
	for (i = 0; i < a->n_counts; i++)
		if (strcmp(a->counts[i].key, key) == 0)
			break;
	if (i == a->n_counts) {
		if (i == MAX_COUNT_KEYS)
			return;
		memcpy(a->counts[i].key, key, sizeof(key));
		a->counts[i].n = 0;
		a->n_counts++;
	}
	a->counts[i].n++;
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

static bool add_header(struct MHD_Response *resp, const char *k,
		       const char *v)
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
		resp = MHD_create_response_from_buffer(
			strlen(text), text, MHD_RESPMEM_MUST_FREE);
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	}
	if (!resp) {
		free(text);
		return NULL;
	}
	ok = add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
			!text	     ? NULL
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
			header(c, "X-Correlation-Id"));
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

/* Computes the reply, logs it, and either queues it or (with injected
 * latency) parks it until resume_due() wakes the connection. */
static enum MHD_Result respond(struct app *a, struct pending *p,
			       const char *url, const char *method,
			       bool early)
{
	struct call c;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool api = prefix_is(url, "/api") || prefix_is(url, "/oauth");

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.conn = p->conn;
	c.method = method;
	c.url = url;
	c.body = p->body;
	c.len = p->len;
	c.route = classify(url, &c.id);
	if (p->too_big)
		problem(&c.r, 413, "payload-too-large",
			"request body exceeds %d bytes", MAX_BODY);
	else if (p->oom)
		oom(&c.r);
	else if (prefix_is(url, "/_control"))
		handle_control(&c);
	else
		handle_api(&c);
	if (!c.r.status)
		oom(&c.r);
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
	if (api && !early && a->latency_ms > 0) {
		p->resp = resp;
		p->status = c.r.status;
		p->due_ms = mono_ms() + a->latency_ms;
		if (heap_push(a, p) == 0) {
			MHD_suspend_connection(p->conn);
			return MHD_YES;
		}
		p->resp = NULL;
	}
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
	free(a->cust);
	free(a->ix.buckets);
	for (size_t i = 0; i < a->n_clients; i++)
		client_free(a->clients[i]);
	for (size_t i = 0; i < a->n_tenants; i++)
		free(a->tenants[i]);
	free(a->tokens);
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

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
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
		"              [--token-ttl SECONDS] [--no-auth] [--verbose]\n");
}

static int parse_args(struct app *a, int argc, char **argv, long *port)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"client", required_argument, NULL, 'c'},
		{"token-ttl", required_argument, NULL, 't'},
		{"no-auth", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long v;
	int o;

	*port = 0;
	while ((o = getopt_long(argc, argv, "p:c:t:nvh", opts, NULL)) != -1) {
		switch (o) {
		case 'p':
			if (!parse_long(optarg, 0, 65535, port)) {
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
			if (!parse_long(optarg, 0, MAX_SECONDS, &v)) {
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
		MHD_OPTION_CONNECTION_TIMEOUT, 300u,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_END);
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
