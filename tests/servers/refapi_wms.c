/* refapi_wms.c: refapi --profile wms, the WMS Customer API
 * (shared/seeds/001) under /wms.
 *
 *   GET    /wms/Customer/All?page=&pageSize=  SecurityID 130 (list)
 *   GET    /wms/Customer/{shortID}            SecurityID 130
 *   POST   /wms/Customer                      SecurityID 131 (upsert)
 *   DELETE /wms/Customer/{shortID}            SecurityID 131 (discontinue)
 *
 * SecurityID 130 is SCOPE_READ (customer:read); 131 is SCOPE_CREATE for
 * a new shortID, SCOPE_UPDATE for an existing one and SCOPE_DELETE for a
 * discontinue (customer:create, customer:update, customer:delete). A
 * --client may also hold "130" / "131" for HTTP Basic.
 *
 * Choices the document leaves open (the README's wms section lists
 * them too):
 * - Auth: --no-auth, else HTTP Basic ID:SECRET of a --client, or a Bearer
 *   token from /oauth/token. Records are kept per tenant.
 * - Errors are {"code", "message"}: 400 invalid_request (not a JSON
 *   object, bad page/pageSize), short_id_required, invalid_field (a
 *   member of the field table that is not a string or null),
 *   invalid_email (an email without text on both sides of one '@', or
 *   with blanks); 401 unauthorized; 403 forbidden; 404 not_found; 405
 *   method_not_allowed; 415 unsupported_media_type; 503/429 from
 *   /_control/disable_writes with Retry-After.
 * - POST answers 200 with the record, new or not. Members it omits are
 *   kept; null is "". Members outside the field table (active, created,
 *   modified, ...) are ignored: POST cannot reactivate. POST of a
 *   discontinued shortID updates it and leaves it discontinued.
 * - shortIDs match exactly (case-sensitive). GET of "All" in any case is
 *   the list; DELETE /Customer/All discontinues a customer called All.
 * - DELETE of a discontinued customer is 204 again; GET still shows it
 *   (active false) and so does the list.
 * - The list is in creation order, pageSize 25 by default, 1..100.
 * - created/modified are UTC without a zone, as the document shows.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "refapi.h"

#define WMS_PREFIX   "/wms/Customer"
#define LIST_DEFAULT 25
#define LIST_MAX     100

static const char *const wms_route_names[ROUTE_MAX] = {
    "other", "/oauth/token", "/Customer", "/Customer/All", "/Customer/{id}"};

/* POST's field table after shortID. */
static const char *const fields[] = {
    "name",    "address1", "address2", "city",  "state",   "zip",
    "country", "phone",    "fax",      "email", "contact",
};

static const char *const scope_words[] = {
    "SecurityID 130 (Customers List)",
    "SecurityID 131 (Create/Modify Customer)"};

__attribute__((format(printf, 4, 5))) static void
wms_error(struct call *c, unsigned status, const char *code, const char *fmt,
          ...)
{
	cJSON *b = cJSON_CreateObject();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!b || !cJSON_AddStringToObject(b, "code", code) ||
	    !cJSON_AddStringToObject(b, "message", msg)) {
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	c->r.problem = false;
	reply_body(&c->r, status, b);
}

/* A reply the shared helpers made (problem document), in our envelope;
 * status, Retry-After, Allow and WWW-Authenticate are kept. */
static void rewrap(struct call *c, const char *code)
{
	const char *d = json_str(c->r.body, "detail");
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", d ? d : "error");
	cJSON_Delete(c->r.body);
	c->r.body = NULL;
	wms_error(c, c->r.status, code, "%s", msg);
}

static bool disabled(struct call *c)
{
	if (!writes_disabled(c))
		return false;
	rewrap(c, c->r.status == 429 ? "too_many_requests"
	                             : "service_unavailable");
	return true;
}

/* ---- auth ----------------------------------------------------------------
 */

static int b64val(char ch)
{
	const char *tab =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	const char *p = ch ? strchr(tab, ch) : NULL;

	return p ? (int)(p - tab) : -1;
}

/* Decoded into out (NUL-terminated); false when malformed or too long. */
static bool b64_decode(const char *s, char *out, size_t size)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, v;

	for (; *s && *s != '='; s++) {
		v = b64val(*s);
		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= size)
				return false;
			out[n++] = (char)((acc >> bits) & 0xFF);
		}
	}
	out[n] = '\0';
	return memchr(out, '\0', n) == NULL;
}

static unsigned client_bits(const struct client *cl)
{
	unsigned bits = 0;

	for (size_t i = 0; i < cl->n_scopes; i++) {
		const char *s = cl->scopes[i];

		if (strcmp(s, "130") == 0)
			bits |= SCOPE_READ;
		else if (strcmp(s, "131") == 0)
			bits |= SCOPE_CREATE | SCOPE_UPDATE | SCOPE_DELETE;
		else
			bits |= scope_bit(s, strlen(s));
	}
	return bits;
}

/* Basic ID:SECRET of a client; false when it names none. */
static bool basic(struct call *c, const char *auth, unsigned *bits)
{
	char buf[2 * MAX_NAME + 2], *colon;
	const struct client *cl;

	auth += 5;
	auth += strspn(auth, " \t");
	if (!b64_decode(auth, buf, sizeof(buf)))
		return false;
	colon = strchr(buf, ':');
	if (!colon)
		return false;
	*colon = '\0';
	cl = client_find(c->a, buf);
	if (!cl || strcmp(cl->secret, colon + 1) != 0)
		return false;
	c->tenant = cl->tenant;
	*bits = client_bits(cl);
	return true;
}

/* The caller's tenant and permissions; false with 401/403 set. */
static bool allowed(struct call *c, unsigned need)
{
	const char *auth = call_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	const struct token *t = NULL;
	unsigned bits = 0;

	if (c->a->no_auth) {
		c->tenant = c->a->default_tenant;
		return true;
	}
	if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
		if (!basic(c, auth, &bits)) {
			wms_error(c, 401, "unauthorized",
			          "unknown client or wrong secret");
			c->r.www_auth = "Basic realm=\"wms\"";
			return false;
		}
	} else if (token_check(c->a, auth, &t) == TOKEN_OK) {
		c->tenant = t->tenant;
		bits = t->scopes;
	} else {
		wms_error(c, 401, "unauthorized",
		          "credentials are missing, unknown or expired");
		c->r.www_auth = "Basic realm=\"wms\", Bearer";
		return false;
	}
	if (!(bits & need)) {
		wms_error(c, 403, "forbidden", "missing permission %s (%s)",
		          scope_words[need == SCOPE_READ ? 0 : 1],
		          need == (SCOPE_CREATE | SCOPE_UPDATE)
		              ? "customer:create or customer:update"
		              : scope_name(need));
		return false;
	}
	return true;
}

/* ---- records ------------------------------------------------------------ */

static void stamp(int64_t ms, char *out, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
}

static struct customer *find(struct app *a, const char *tenant, const char *id)
{
	for (size_t i = 0; i < a->n_cust; i++) {
		struct customer *cu = a->cust[i];
		const char *s = json_str(cu->fields, "shortID");

		if ((!tenant || cu->tenant == tenant) && s &&
		    ids_match(a, s, id))
			return cu;
	}
	return NULL;
}

/* The record as the API shows it; control adds Tenant. */
static cJSON *render(const struct customer *cu, bool control)
{
	const cJSON *active =
	    cJSON_GetObjectItemCaseSensitive(cu->fields, "active");
	cJSON *o = cJSON_CreateObject();
	char created[32], modified[32];
	bool ok = o != NULL;
	const char *id = json_str(cu->fields, "shortID");

	stamp(cu->created_ms, created, sizeof(created));
	stamp(cu->modified_ms, modified, sizeof(modified));
	ok = ok && cJSON_AddStringToObject(o, "shortID", id ? id : "");
	for (size_t i = 0; ok && i < N_ELEMS(fields); i++) {
		const char *s = json_str(cu->fields, fields[i]);

		ok = cJSON_AddStringToObject(o, fields[i], s ? s : "") != NULL;
	}
	ok = ok &&
	     cJSON_AddBoolToObject(o, "active", !cJSON_IsFalse(active)) &&
	     cJSON_AddStringToObject(o, "created", created) &&
	     cJSON_AddStringToObject(o, "modified", modified);
	if (ok && control)
		ok = cJSON_AddStringToObject(o, "Tenant", cu->tenant) != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void reply_record(struct call *c, unsigned status,
                         const struct customer *cu)
{
	cJSON *b = render(cu, false);

	if (!b) {
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, status, b);
}

/* Copies the field table's members of in (null -> "") into f; unknown
 * members are ignored. With control, "active" (a bool) is taken too. */
static bool apply(cJSON *f, const cJSON *in, bool control)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, in)
	{
		bool known = strcmp(m->string, "shortID") == 0;

		for (size_t i = 0; !known && i < N_ELEMS(fields); i++)
			known = strcmp(m->string, fields[i]) == 0;
		if (control && strcmp(m->string, "active") == 0 &&
		    cJSON_IsBool(m)) {
			if (!json_set(f, "active",
			              cJSON_CreateBool(cJSON_IsTrue(m))))
				return false;
			continue;
		}
		if (!known || (!cJSON_IsString(m) && !cJSON_IsNull(m)))
			continue;
		if (!json_set(f, m->string,
		              cJSON_CreateString(
		                  cJSON_IsString(m) ? m->valuestring : "")))
			return false;
	}
	return true;
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!*s)
		return true;
	return at && at != s && at[1] && !strchr(at + 1, '@') &&
	       !strpbrk(s, " \t\r\n");
}

/* The document's rules and the server's own (see the top). */
static bool check_body(struct call *c, const cJSON *b)
{
	const char *id = json_str(b, "shortID");
	const char *email;

	if (!id || !*id) {
		wms_error(
		    c, 400, "short_id_required",
		    "shortID is required and must be a non-empty string");
		return false;
	}
	for (size_t i = 0; i < N_ELEMS(fields); i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(b, fields[i]);

		if (v && !cJSON_IsString(v) && !cJSON_IsNull(v)) {
			wms_error(c, 400, "invalid_field",
			          "%s must be a string", fields[i]);
			return false;
		}
	}
	email = json_str(b, "email");
	if (email && !email_ok(email)) {
		wms_error(c, 400, "invalid_email",
		          "email '%.200s' is not an email address", email);
		return false;
	}
	return true;
}

/* ---- handlers ------------------------------------------------------------
 */

static void api_upsert(struct call *c)
{
	struct customer *cu;
	cJSON *b, *f;

	if (!media_type_is(call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	                   "application/json")) {
		wms_error(c, 415, "unsupported_media_type",
		          "Content-Type must be application/json");
		return;
	}
	b = cJSON_ParseWithLength(c->body ? c->body : "", c->len);
	if (!cJSON_IsObject(b)) {
		cJSON_Delete(b);
		wms_error(c, 400, "invalid_request",
		          "the body must be one JSON object");
		return;
	}
	if (!check_body(c, b)) {
		cJSON_Delete(b);
		return;
	}
	cu = find(c->a, c->tenant, json_str(b, "shortID"));
	if (!c->a->no_auth) {
		/* Re-checked with the exact permission now that the tenant
		 * (and so existence) is known. */
		if (!allowed(c, cu ? SCOPE_UPDATE : SCOPE_CREATE)) {
			cJSON_Delete(b);
			return;
		}
	}
	f = cu ? cJSON_Duplicate(cu->fields, 1) : cJSON_CreateObject();
	if (!f || !apply(f, b, false) ||
	    (!cu && !json_set(f, "active", cJSON_CreateTrue()))) {
		cJSON_Delete(f);
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	cJSON_Delete(b);
	if (cu) {
		ix_unlink(&c->a->ix, cu);
		cJSON_Delete(cu->fields);
		cu->fields = f;
		ix_link(&c->a->ix, cu);
		customer_touch(c->a, cu);
	} else {
		cu = customer_add(c->a, c->tenant, f);
		if (!cu) {
			wms_error(c, 507, "store_full",
			          "cannot store more customers");
			return;
		}
	}
	reply_record(c, 200, cu);
}

static struct customer *find_or_404(struct call *c)
{
	struct customer *cu = find(c->a, c->tenant, c->id);

	if (!cu)
		wms_error(c, 404, "not_found", "customer '%.200s' not found",
		          c->id);
	return cu;
}

static void api_get(struct call *c)
{
	struct customer *cu = find_or_404(c);

	if (cu)
		reply_record(c, 200, cu);
}

static void api_discontinue(struct call *c)
{
	struct customer *cu = find_or_404(c);

	if (!cu)
		return;
	if (!json_set(cu->fields, "active", cJSON_CreateFalse())) {
		reply_oom(&c->r);
		return;
	}
	customer_touch(c->a, cu);
	reply_body(&c->r, 204, NULL);
}

/* A query argument as a number in lo..hi; def when absent. */
static bool arg_long(struct call *c, const char *name, int64_t lo, int64_t hi,
                     int64_t def, int64_t *out)
{
	const char *v =
	    MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	long long n;

	*out = def;
	if (!v)
		return true;
	n = strtoll(v, &end, 10);
	if (!*v || *end || n < lo || n > hi) {
		wms_error(c, 400, "invalid_request",
		          "%s must be an integer from %" PRId64 " to %" PRId64,
		          name, lo, hi);
		return false;
	}
	*out = n;
	return true;
}

static void api_list(struct call *c)
{
	int64_t page, size;
	size_t total = 0, skip, pages;
	cJSON *b, *list;

	if (!arg_long(c, "page", 1, 1000000, 1, &page) ||
	    !arg_long(c, "pageSize", 1, LIST_MAX, LIST_DEFAULT, &size))
		return;
	b = cJSON_CreateObject();
	list = b ? cJSON_AddArrayToObject(b, "value") : NULL;
	skip = (size_t)((page - 1) * size);
	for (size_t i = 0; list && i < c->a->n_cust; i++) {
		const struct customer *cu = c->a->cust[i];

		if (cu->tenant != c->tenant)
			continue;
		if (total >= skip && total < skip + (size_t)size &&
		    !cJSON_AddItemToArray(list, render(cu, false)))
			list = NULL;
		total++;
	}
	pages = (total + (size_t)size - 1) / (size_t)size;
	if (!list ||
	    !cJSON_AddNumberToObject(b, "totalCount", (double)total) ||
	    !cJSON_AddNumberToObject(b, "page", (double)page) ||
	    !cJSON_AddNumberToObject(b, "pageSize", (double)size) ||
	    !cJSON_AddNumberToObject(b, "pageCount", (double)pages) ||
	    !cJSON_AddBoolToObject(b, "hasMore", (size_t)page < pages)) {
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
}

static enum route wms_route(const char *url, const char **id)
{
	const char *p;

	*id = NULL;
	if (strcmp(url, "/oauth/token") == 0)
		return ROUTE_TOKEN;
	if (strncmp(url, WMS_PREFIX, strlen(WMS_PREFIX)) != 0)
		return ROUTE_OTHER;
	p = url + strlen(WMS_PREFIX);
	if (*p == '\0')
		return ROUTE_CUSTOMERS;
	if (*p++ != '/' || !*p || strlen(p) > MAX_ID)
		return ROUTE_OTHER;
	*id = p;
	return strcasecmp(p, "All") == 0 ? ROUTE_SEARCH : ROUTE_CUSTOMER;
}

static void dispatch(struct call *c)
{
	bool get = method_is(c, MHD_HTTP_METHOD_GET);

	if (c->route == ROUTE_CUSTOMERS) {
		if (!method_is(c, MHD_HTTP_METHOD_POST))
			not_allowed(c, "POST");
		else if (!disabled(c) &&
		         allowed(c, SCOPE_CREATE | SCOPE_UPDATE))
			api_upsert(c);
		return;
	}
	if (!get && !method_is(c, MHD_HTTP_METHOD_DELETE)) {
		not_allowed(c,
		            c->route == ROUTE_SEARCH ? "GET" : "GET, DELETE");
		return;
	}
	if (get) {
		if (!allowed(c, SCOPE_READ))
			return;
		if (c->route == ROUTE_SEARCH)
			api_list(c);
		else
			api_get(c);
		return;
	}
	if (!disabled(c) && allowed(c, SCOPE_DELETE))
		api_discontinue(c);
}

static void wms_handle(struct call *c)
{
	switch (c->route) {
	case ROUTE_TOKEN:
		handle_token(c);
		return;
	case ROUTE_CUSTOMERS:
	case ROUTE_SEARCH:
	case ROUTE_CUSTOMER:
		dispatch(c);
		break;
	default:
		wms_error(c, 404, "not_found", "no resource here");
		break;
	}
	if (c->r.status == 405)
		rewrap(c, "method_not_allowed");
	if (!c->r.status)
		reply_oom(&c->r);
}

/* ---- test controls ---------------------------------------------------- */

/* {"tenant", "customer"}: stored as if POSTed, without the checks;
 * "active": false seeds a discontinued customer. */
static void ctl_seed(struct call *c, const cJSON *in)
{
	const cJSON *cust = cJSON_GetObjectItemCaseSensitive(in, "customer");
	const char *tenant = control_tenant(c, in);
	struct customer *cu;
	cJSON *f;

	if (!tenant || !cJSON_IsObject(cust) || !json_str(cust, "shortID")) {
		reply_problem(&c->r, 400, "bad-request",
		              "customer (object with shortID) is required; "
		              "tenant must be a non-empty string");
		return;
	}
	f = cJSON_CreateObject();
	if (!f || !json_set(f, "active", cJSON_CreateTrue()) ||
	    !apply(f, cust, true)) {
		cJSON_Delete(f);
		reply_oom(&c->r);
		return;
	}
	cu = customer_add(c->a, tenant, f);
	if (!cu) {
		reply_problem(&c->r, 507, "store-full",
		              "cannot store more customers");
		return;
	}
	control_ok(c, render(cu, true));
}

/* {"id": shortID, "patch", "tenant" (optional)}: an edit made in the
 * WMS. Without tenant the shortID must be unique across tenants. */
static void ctl_edit(struct call *c, const cJSON *in)
{
	const char *id = json_str(in, "id");
	const char *tn = json_str(in, "tenant");
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(in, "patch");
	const char *tenant = tn ? tenant_intern(c->a, tn) : NULL;
	struct customer *cu = NULL;
	size_t n = 0;
	cJSON *f;

	if (!id || !cJSON_IsObject(patch) || (tn && !tenant)) {
		reply_problem(&c->r, 400, "bad-request",
		              "id (string) and patch (object) are required");
		return;
	}
	for (size_t i = 0; i < c->a->n_cust; i++) {
		struct customer *x = c->a->cust[i];
		const char *s = json_str(x->fields, "shortID");

		if ((!tenant || x->tenant == tenant) && s &&
		    strcmp(s, id) == 0) {
			cu = x;
			n++;
		}
	}
	if (!cu) {
		reply_problem(&c->r, 404, "not-found", "customer %s not found",
		              id);
		return;
	}
	if (n > 1) {
		reply_problem(&c->r, 409, "ambiguous",
		              "customer %s exists in several tenants; name "
		              "the tenant",
		              id);
		return;
	}
	f = cJSON_Duplicate(cu->fields, 1);
	if (!f || !apply(f, patch, true) ||
	    !json_set(f, "shortID", cJSON_CreateString(id))) {
		cJSON_Delete(f);
		reply_oom(&c->r);
		return;
	}
	ix_unlink(&c->a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = f;
	ix_link(&c->a->ix, cu);
	customer_touch(c->a, cu);
	control_ok(c, render(cu, true));
}

static cJSON *control_view(const struct app *a, const struct customer *cu)
{
	(void)a;
	return render(cu, true);
}

const struct refapi_profile refapi_wms = {
    .name = "wms",
    .route = wms_route,
    .route_names = wms_route_names,
    .handle = wms_handle,
    .seed = ctl_seed,
    .edit = ctl_edit,
    .control_view = control_view,
};
