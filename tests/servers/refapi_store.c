/* refapi_store.c: the reference API's records (with an exact-value
 * index for duplicate checks and search), the document's validation
 * rules, and the OAuth clients and tokens. See refapi.c. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/random.h>

#include <cjson/cJSON.h>

#include "refapi.h"

static const char *const scope_names[] = {
    "customer:read", "customer:create", "customer:update", "customer:delete"};

static const char *const writable[] = {
    "Name",  "Type",  "CompanyNumber", "Status",    "BillingAddress",
    "Email", "Phone", "Fax",           "ExternalId"};

static const char *const address_keys[] = {"Street", "City", "State", "Zip"};

static const char *const placeholders[] = {
    "N/A", "NA", "TBD", "NONE", "-", "0", "PLACEHOLDER", "UNKNOWN"};

const char *const ix_field[IX_MAX] = {"CompanyNumber", "ExternalId", "Name"};

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

const char *json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A JSON number holding a whole number in [lo, hi] (bounds well inside
 * int64_t, so the conversion below is defined). */
bool json_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
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
cJSON *json_parse_exact(const char *s, size_t n)
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

static bool json_add_copy(cJSON *obj, const char *name, const cJSON *v)
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

bool json_set(cJSON *obj, const char *name, cJSON *v)
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

const char *tenant_intern(struct app *a, const char *name)
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

void client_free(struct client *cl)
{
	if (!cl)
		return;
	free(cl->id);
	free(cl->secret);
	free(cl);
}

struct client *client_find(struct app *a, const char *id)
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
		if (s[i] <= ' ' || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* Adds or replaces a client; tokens already issued keep their grant. */
int client_set(struct app *a, const char *id, const char *secret,
               const char *tenant, const char *const *scopes, size_t n_scopes)
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

unsigned scope_bit(const char *s, size_t n)
{
	for (size_t i = 0; i < N_ELEMS(scope_names); i++)
		if (strlen(scope_names[i]) == n &&
		    strncmp(scope_names[i], s, n) == 0)
			return 1u << i;
	return 0;
}

const char *scope_name(unsigned bit)
{
	for (size_t i = 0; i < N_ELEMS(scope_names); i++)
		if (bit == 1u << i)
			return scope_names[i];
	return "?";
}

const struct token *token_issue(struct app *a, const char *tenant,
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

enum token_state token_check(struct app *a, const char *auth,
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
	       strcmp(json_str(e->c->fields, ix_field[kind]), v) == 0;
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
void ix_link(struct index *ix, struct customer *c)
{
	for (unsigned k = 0; k < IX_MAX; k++) {
		const char *v = json_str(c->fields, ix_field[k]);
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

void ix_unlink(struct index *ix, struct customer *c)
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
void customer_touch(struct app *a, struct customer *c)
{
	int64_t now = clock_ms(CLOCK_REALTIME);

	c->modified_ms = now > c->modified_ms ? now : c->modified_ms + 1;
	new_etag(a, c->etag);
}

/* Takes ownership of fields. */
struct customer *customer_add(struct app *a, const char *tenant, cJSON *fields)
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
struct customer *customer_find(struct app *a, const char *id,
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

void customers_clear(struct app *a)
{
	for (size_t i = 0; i < a->n_cust; i++)
		customer_free(a->cust[i]);
	a->n_cust = 0;
	if (a->ix.buckets)
		memset(a->ix.buckets, 0,
		       a->ix.n_buckets * sizeof(*a->ix.buckets));
	a->ix.count = 0;
}

static const char *zip_of(const cJSON *fields)
{
	return json_str(
	    cJSON_GetObjectItemCaseSensitive(fields, "BillingAddress"), "Zip");
}

static bool same_str(const char *x, const char *y)
{
	return x == y || (x && y && strcmp(x, y) == 0);
}

/* The oldest other record of the tenant that fields would duplicate,
 * soft-deleted ones included (their values stay reserved). An update
 * (self) is only checked on the values it changes, so duplicates that
 * only /_control/seed or edit can make do not block unrelated edits. */
struct customer *customer_conflict(struct app *a, const char *tenant,
                                   const cJSON *fields,
                                   const struct customer *self,
                                   const char **field)
{
	for (unsigned k = 0; k < IX_MAX; k++) {
		const char *v = json_str(fields, ix_field[k]);
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
		if (self && same_str(v, json_str(self->fields, ix_field[k])) &&
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
		v = json_str(cu->fields, ix_field[k]);
		if (!v || strcmp(v, filters[k]) != 0)
			return false;
	}
	return true;
}

/* Matches in creation order; *n set. NULL with *n 0 means none (or no
 * memory, which the caller cannot tell apart; this is a test server). */
struct customer **customer_search(struct app *a, const char *tenant,
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

/* ---- JSON views ------------------------------------------------------- */

cJSON *customer_render(const struct customer *c, enum view v)
{
	/* CustomerWriteResponse lists its members in this order. */
	static const char *const write_order[] = {
	    "Name",           "CompanyNumber", "Type",  "Status",
	    "BillingAddress", "Email",         "Phone", "Fax"};
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
			ok = json_add_copy(o, write_order[i],
			                   cJSON_GetObjectItemCaseSensitive(
			                       c->fields, write_order[i]));
		ok = ok &&
		     cJSON_AddStringToObject(o, "DateCreated", created) &&
		     cJSON_AddStringToObject(o, "DateModified", modified) &&
		     cJSON_AddItemToObject(o, "InvoicingInformation", inv);
		if (ok)
			inv = NULL;
		ok = ok && json_add_copy(o, "ExternalId",
		                         cJSON_GetObjectItemCaseSensitive(
		                             c->fields, "ExternalId"));
	} else {
		for (size_t i = 0; ok && i < N_ELEMS(writable); i++)
			ok = json_add_copy(o, writable[i],
			                   cJSON_GetObjectItemCaseSensitive(
			                       c->fields, writable[i]));
		ok = ok && cJSON_AddNullToObject(o, "SalesAgentId") &&
		     cJSON_AddArrayToObject(o, "Contacts") &&
		     cJSON_AddNullToObject(o, "Notes") &&
		     cJSON_AddItemToObject(o, "InvoicingInformation", inv);
		if (ok)
			inv = NULL;
		ok = ok &&
		     cJSON_AddStringToObject(o, "DateCreated", created) &&
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
cJSON *customer_writable(const cJSON *body)
{
	cJSON *out = cJSON_CreateObject();

	for (size_t i = 0; out && i < N_ELEMS(writable); i++) {
		if (!json_add_copy(
		        out, writable[i],
		        cJSON_GetObjectItemCaseSensitive(body, writable[i]))) {
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
void customer_trim_address(cJSON *fields)
{
	cJSON *addr =
	    cJSON_GetObjectItemCaseSensitive(fields, "BillingAddress");
	cJSON *m, *next;

	if (!cJSON_IsObject(addr))
		return;
	for (m = addr->child; m; m = next) {
		next = m->next;
		if (!is_address_key(m->string))
			cJSON_Delete(cJSON_DetachItemViaPointer(addr, m));
	}
}

/* ---- validation ------------------------------------------------------- */

void errors_add(cJSON *errors, const char *field, const char *msg)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(errors, field);
	cJSON *m = cJSON_CreateString(msg);

	if (!list)
		list = cJSON_AddArrayToObject(errors, field);
	if (!cJSON_AddItemToArray(list, m))
		cJSON_Delete(m);
}

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
static const char *check_string(const cJSON *in, cJSON *out, const char *name,
                                size_t max, cJSON *errors)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);
	char msg[128];

	if (!v)
		return NULL;
	if (!cJSON_IsString(v)) {
		snprintf(msg, sizeof(msg), "%s must be a string.", name);
		errors_add(errors, name, msg);
		return NULL;
	}
	if (max && utf8_len(v->valuestring) > max) {
		snprintf(msg, sizeof(msg),
		         "%s must be at most %zu characters.", name, max);
		errors_add(errors, name, msg);
		return NULL;
	}
	json_add_copy(out, name, v);
	return v->valuestring;
}

static void check_string_array(const cJSON *in, cJSON *out, const char *name,
                               cJSON *errors)
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
			json_add_copy(out, name, v);
			return;
		}
	}
	snprintf(msg, sizeof(msg), "%s must be an array of strings.", name);
	errors_add(errors, name, msg);
}

static void check_address(const cJSON *in, cJSON *out, cJSON *errors)
{
	const cJSON *v =
	    cJSON_GetObjectItemCaseSensitive(in, "BillingAddress");
	cJSON *addr;

	if (!v)
		return;
	if (!cJSON_IsObject(v)) {
		errors_add(errors, "BillingAddress",
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
			json_add_copy(addr, address_keys[i], m);
			continue;
		}
		snprintf(key, sizeof(key), "BillingAddress.%s",
		         address_keys[i]);
		snprintf(msg, sizeof(msg), "%s must be a string.", key);
		errors_add(errors, key, msg);
	}
}

/* The document's create rules, applied to a whole record (after a merge
 * patch too). Returns the record with the writable members in canonical
 * order and Status defaulted, whatever errors holds. */
cJSON *customer_validate(const cJSON *in, cJSON *errors)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *v;
	const char *s;

	if (!out)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(in, "Name");
	if (!v)
		errors_add(errors, "Name", "Name is required.");
	else if (!cJSON_IsString(v))
		errors_add(errors, "Name", "Name must be a string.");
	else if (blank(v->valuestring))
		errors_add(errors, "Name", "Name must not be blank.");
	else
		check_string(in, out, "Name", 200, errors);

	v = cJSON_GetObjectItemCaseSensitive(in, "Type");
	if (!v)
		errors_add(errors, "Type", "Type is required.");
	else if (!cJSON_IsString(v) ||
	         (strcmp(v->valuestring, "Customer") != 0 &&
	          strcmp(v->valuestring, "Broker/3PL") != 0))
		errors_add(errors, "Type",
		           "Type must be Customer or Broker/3PL.");
	else
		json_add_copy(out, "Type", v);

	s = check_string(in, out, "CompanyNumber", 32, errors);
	if (s && is_placeholder(s)) {
		cJSON_DeleteItemFromObjectCaseSensitive(out, "CompanyNumber");
		errors_add(errors, "CompanyNumber",
		           "CompanyNumber must not be a placeholder value.");
	}

	v = cJSON_GetObjectItemCaseSensitive(in, "Status");
	if (!v)
		cJSON_AddStringToObject(out, "Status", "Active");
	else if (!cJSON_IsString(v) ||
	         (strcmp(v->valuestring, "Active") != 0 &&
	          strcmp(v->valuestring, "Inactive") != 0))
		errors_add(errors, "Status",
		           "Status must be Active or Inactive.");
	else
		json_add_copy(out, "Status", v);

	check_address(in, out, errors);
	check_string_array(in, out, "Email", errors);
	check_string_array(in, out, "Phone", errors);
	check_string(in, out, "Fax", 0, errors);
	check_string(in, out, "ExternalId", 100, errors);
	return out;
}
