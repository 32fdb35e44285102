/* refapi_api.c: the reference API's answers: the customer endpoints of
 * the partner document, POST /oauth/token and the /_control test
 * controls. Every error is a problem document. See refapi.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "core/merge_patch.h"
#include "refapi.h"

const char *const route_names[ROUTE_MAX] = {"other", "/oauth/token",
                                            "/customers", "/customers/search",
                                            "/customers/{id}"};

/* "application/json; charset=utf-8" is application/json. */
bool media_type_is(const char *ct, const char *want)
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

/* ---- replies ---------------------------------------------------------- */

void reply_body(struct reply *r, unsigned status, cJSON *body)
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
cJSON *reply_problem(struct reply *r, unsigned status, const char *kind,
                     const char *fmt, ...)
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

void reply_oom(struct reply *r)
{
	reply_problem(r, 500, "internal", "out of memory");
}

void not_allowed(struct call *c, const char *allow)
{
	reply_problem(&c->r, 405, "method-not-allowed",
	              "%s is not allowed here", c->method);
	c->r.allow = allow;
}

const char *call_header(const struct call *c, const char *name)
{
	return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

cJSON *parse_object(struct call *c)
{
	cJSON *doc = json_parse_exact(c->body, c->len);

	if (!doc) {
		reply_problem(&c->r, 400, "bad-request",
		              "request body is not valid JSON");
		return NULL;
	}
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		reply_problem(&c->r, 400, "bad-request",
		              "request body must be a JSON object");
		return NULL;
	}
	return doc;
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
	b = reply_problem(r, 400, "validation", "%s", detail);
	if (!b || !cJSON_AddItemToObject(b, "errors", errors))
		cJSON_Delete(errors);
}

static void conflict_problem(struct reply *r, const char *field,
                             const struct customer *dup)
{
	cJSON *b = reply_problem(
	    r, 409, "conflict", "a customer with this %s already exists (%s)",
	    strcmp(field, "Name") == 0 ? "Name and billing Zip" : field,
	    dup->id);

	cJSON_AddStringToObject(b, "field", field);
	cJSON_AddStringToObject(b, "customerId", dup->id);
}

/* target with the writable part of body merged in (RFC 7396), checked by
 * the create rules. NULL with c->r set when refused. */
static cJSON *normalize(struct call *c, const cJSON *target, const cJSON *body)
{
	cJSON *patch = customer_writable(body), *merged, *errors, *out;

	merged = patch ? merge_patch_apply(target, patch) : NULL;
	cJSON_Delete(patch);
	errors = cJSON_CreateObject();
	out = merged && errors ? customer_validate(merged, errors) : NULL;
	cJSON_Delete(merged);
	if (!out) {
		cJSON_Delete(errors);
		reply_oom(&c->r);
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

bool authorize(struct call *c, unsigned need)
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
	st = token_check(c->a, call_header(c, MHD_HTTP_HEADER_AUTHORIZATION),
	                 &t);
	if (st != TOKEN_OK) {
		reply_problem(&c->r, 401, "unauthorized", "%s", why[st]);
		c->r.www_auth = "Bearer error=\"invalid_token\"";
		return false;
	}
	if (!(t->scopes & need)) {
		reply_problem(&c->r, 403, "forbidden", "missing scope %s",
		              scope_name(need));
		return false;
	}
	c->tenant = t->tenant;
	return true;
}

/* The fault injected with /_control/disable_writes, ahead of auth. */
bool writes_disabled(struct call *c)
{
	struct app *a = c->a;

	if (mono_ms() >= a->disabled_until)
		return false;
	if (a->disabled_status == 429)
		reply_problem(&c->r, 429, "rate-limited",
		              "too many customer writes; retry after %s",
		              a->retry_after);
	else
		reply_problem(&c->r, 503, "EndpointDisabled",
		              "customer writes are temporarily unavailable");
	snprintf(c->r.retry_after, sizeof(c->r.retry_after), "%s",
	         a->retry_after);
	return true;
}

static struct quota_client *quota_client(struct app *a, const char *who)
{
	struct quota_client *q;

	for (size_t i = 0; i < a->n_quota_clients; i++)
		if (strcmp(a->quota_clients[i].who, who) == 0)
			return &a->quota_clients[i];
	/* Past QUOTA_CLIENTS the last one is shared: tests have a few. */
	if (a->n_quota_clients == QUOTA_CLIENTS)
		return &a->quota_clients[QUOTA_CLIENTS - 1];
	q = &a->quota_clients[a->n_quota_clients++];
	snprintf(q->who, sizeof(q->who), "%s", who);
	q->start_ms = INT64_MIN / 2;
	q->used = 0;
	return q;
}

bool quota_answer(struct call *c)
{
	struct app *a = c->a;
	const char *auth = call_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	struct quota_client *q;
	int64_t now = mono_ms();
	char who[96];

	if (!a->quota_n || c->route == ROUTE_TOKEN)
		return false;
	snprintf(who, sizeof(who), "%s", auth ? auth : "");
	q = quota_client(a, who);
	if (now - q->start_ms >= a->quota_window_ms) {
		q->start_ms = now;
		q->used = 0;
	}
	c->quota_on = true;
	c->quota_reset_ms = q->start_ms + a->quota_window_ms - now;
	if (q->used >= a->quota_n) {
		c->quota_left = 0;
		reply_problem(&c->r, 429, "rate-limited",
		              "quota of %" PRId64 " requests per %" PRId64
		              " ms used up",
		              a->quota_n, a->quota_window_ms);
		snprintf(c->r.retry_after, sizeof(c->r.retry_after),
		         "%" PRId64, (c->quota_reset_ms + 999) / 1000);
		return true;
	}
	q->used++;
	c->quota_left = a->quota_n - q->used;
	return false;
}

static void quota_set(struct reply *r, int i, const char *name,
                      const char *value)
{
	snprintf(r->quota_name[i], sizeof(r->quota_name[i]), "%s", name);
	snprintf(r->quota_value[i], sizeof(r->quota_value[i]), "%s", value);
}

/* The three headers of a Limit / Remaining / Reset form. */
static void quota_trio(struct reply *r, const char *prefix, int64_t limit,
                       int64_t left, int64_t reset)
{
	static const char *const what[3] = {"Limit", "Remaining", "Reset"};
	const int64_t v[3] = {limit, left, reset};
	char name[24], value[24];

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", prefix, what[i]);
		snprintf(value, sizeof(value), "%" PRId64, v[i]);
		quota_set(r, i, name, value);
	}
}

void quota_headers(struct call *c)
{
	struct app *a = c->a;
	struct reply *r = &c->r;
	int64_t t = (c->quota_reset_ms + 999) / 1000;
	char v[96];

	if (!c->quota_on)
		return;
	switch (a->quota_form) {
	case QUOTA_IETF:
		snprintf(v, sizeof(v), "\"default\";q=%" PRId64 ";w=%" PRId64,
		         a->quota_n, (a->quota_window_ms + 999) / 1000);
		quota_set(r, 0, "RateLimit-Policy", v);
		snprintf(v, sizeof(v), "\"default\";r=%" PRId64 ";t=%" PRId64,
		         c->quota_left, t);
		quota_set(r, 1, "RateLimit", v);
		break;
	case QUOTA_TRIO:
		quota_trio(r, "RateLimit-", a->quota_n, c->quota_left, t);
		break;
	case QUOTA_X:
		quota_trio(
		    r, "X-RateLimit-", a->quota_n, c->quota_left,
		    (clock_ms(CLOCK_REALTIME) + c->quota_reset_ms + 999) /
		        1000);
		break;
	default:
		break;
	}
}

static bool precondition(struct call *c, const struct customer *cu)
{
	const char *im = call_header(c, MHD_HTTP_HEADER_IF_MATCH);

	if (!im || !*im) {
		reply_problem(
		    &c->r, 428, "precondition-required",
		    "If-Match is required; GET the customer for its ETag");
		return false;
	}
	if (strcmp(im, cu->etag) != 0) {
		reply_problem(&c->r, 412, "precondition-failed",
		              "If-Match does not match the current ETag of %s",
		              cu->id);
		return false;
	}
	return true;
}

static void write_reply(struct call *c, const struct customer *cu,
                        unsigned status)
{
	cJSON *b = customer_render(cu, VIEW_WRITE);

	if (!b) {
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, status, b);
	snprintf(c->r.etag, sizeof(c->r.etag), "%s", cu->etag);
}

static struct customer *find_or_404(struct call *c)
{
	struct customer *cu = customer_find(c->a, c->id, c->tenant);

	if (!cu)
		reply_problem(&c->r, 404, "not-found", "customer %s not found",
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
	if (!media_type_is(call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	                   "application/json")) {
		reply_problem(&c->r, 415, "unsupported-media-type",
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
	dup = customer_conflict(c->a, c->tenant, fields, NULL, &field);
	if (dup) {
		cJSON_Delete(fields);
		conflict_problem(&c->r, field, dup);
		return;
	}
	cu = customer_add(c->a, c->tenant, fields);
	if (!cu) {
		reply_problem(&c->r, 507, "store-full",
		              "cannot store more customers");
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
	b = customer_render(cu, VIEW_READ);
	if (!b) {
		reply_oom(&c->r);
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
	if (!media_type_is(call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	                   "application/merge-patch+json")) {
		reply_problem(
		    &c->r, 415, "unsupported-media-type",
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
	dup = customer_conflict(c->a, c->tenant, fields, cu, &field);
	if (dup) {
		cJSON_Delete(fields);
		conflict_problem(&c->r, field, dup);
		return;
	}
	ix_unlink(&c->a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = fields;
	ix_link(&c->a->ix, cu);
	customer_touch(c->a, cu);
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
	if (!json_set(cu->fields, "Status", cJSON_CreateString("Inactive"))) {
		reply_oom(&c->r);
		return;
	}
	customer_touch(c->a, cu);
	reply_body(&c->r, 204, NULL);
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
	if (!media_type_is(call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	                   "application/json")) {
		reply_problem(&c->r, 415, "unsupported-media-type",
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
		errors_add(errors, ix_field[k], msg);
	}
	v = cJSON_GetObjectItemCaseSensitive(doc, "Page");
	if (v && !cJSON_IsNull(v) && !json_int(v, 1, 1000000000, &page))
		errors_add(errors, "Page",
		           "Page must be a whole number of at least 1.");
	v = cJSON_GetObjectItemCaseSensitive(doc, "PageSize");
	if (v && !cJSON_IsNull(v) && !json_int(v, 1, 1000000000, &size))
		errors_add(errors, "PageSize",
		           "PageSize must be a whole number of at least 1.");
	if (size > PAGE_SIZE_MAX)
		size = PAGE_SIZE_MAX;
	if (!errors || errors->child) {
		if (errors)
			validation_problem(&c->r, errors);
		else
			reply_oom(&c->r);
		cJSON_Delete(doc);
		return;
	}
	cJSON_Delete(errors);
	found = customer_search(c->a, c->tenant, filters, &n);
	cJSON_Delete(doc); /* filters pointed into it */
	b = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(b, "Items");
	from = (size_t)((page - 1) * size);
	for (size_t i = from; items && i < n && i < from + (size_t)size; i++)
		if (!cJSON_AddItemToArray(
		        items, customer_render(found[i], VIEW_READ)))
			items = NULL;
	free(found);
	if (!items || !cJSON_AddNumberToObject(b, "Total", (double)n)) {
		cJSON_Delete(b);
		reply_oom(&c->r);
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

static const char *const form_keys[FORM_MAX] = {"grant_type", "client_id",
                                                "client_secret", "scope"};

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
		if (!want ||
		    (size_t)snprintf(out + used, size - used, "%s%s",
		                     used ? " " : "", s) >= size - used) {
			out[used] = '\0';
			continue;
		}
		used = strlen(out);
		bits |= scope_bit(s, n);
	}
	return bits;
}

void handle_token(struct call *c)
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
	if (!media_type_is(call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
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
	basic = basic_credentials(
	    call_header(c, MHD_HTTP_HEADER_AUTHORIZATION), &id, &secret, &bad);
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
		reply_oom(&c->r);
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

enum route api_route(const char *url, const char **id)
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

bool method_is(const struct call *c, const char *m)
{
	return strcmp(c->method, m) == 0;
}

void api_handle(struct call *c)
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
		reply_problem(&c->r, 404, "not-found", "no resource at %s",
		              c->url);
		return;
	}
}

/* ---- test controls ---------------------------------------------------- */

void control_ok(struct call *c, cJSON *b)
{
	if (!b) {
		reply_oom(&c->r);
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
		reply_problem(&c->r, 400, "bad-request",
		              "ms must be a whole number in [0, %d]",
		              MAX_LATENCY_MS);
		return;
	}
	c->a->latency_ms = ms;
	b = cJSON_CreateObject();
	cJSON_AddNumberToObject(b, "ms", (double)ms);
	control_ok(c, b);
}

static void ctl_quota(struct call *c, const cJSON *in)
{
	static const char *const forms[QUOTA_MAX] = {
	    [QUOTA_NONE] = "none",
	    [QUOTA_IETF] = "ietf",
	    [QUOTA_TRIO] = "trio",
	    [QUOTA_X] = "x",
	};
	struct app *a = c->a;
	const char *h = json_str(in, "headers");
	int64_t n, w = 1000;
	int form = QUOTA_NONE;
	cJSON *b;

	while (h && form < QUOTA_MAX && strcmp(h, forms[form]) != 0)
		form++;
	if (!json_int(cJSON_GetObjectItemCaseSensitive(in, "requests"), 0,
	              1000000000, &n) ||
	    (cJSON_GetObjectItemCaseSensitive(in, "window_ms") &&
	     !json_int(cJSON_GetObjectItemCaseSensitive(in, "window_ms"), 1,
	               (int64_t)MAX_SECONDS * 1000, &w)) ||
	    form == QUOTA_MAX) {
		reply_problem(&c->r, 400, "bad-request",
		              "requests >= 0, window_ms >= 1, headers one of "
		              "ietf, trio, x, none");
		return;
	}
	a->quota_n = n;
	a->quota_window_ms = w;
	a->quota_form = (enum quota_form)form;
	a->n_quota_clients = 0;
	b = cJSON_CreateObject();
	cJSON_AddNumberToObject(b, "requests", (double)n);
	cJSON_AddNumberToObject(b, "window_ms", (double)w);
	cJSON_AddStringToObject(b, "headers", forms[form]);
	control_ok(c, b);
}

static void ctl_capacity(struct call *c, const cJSON *in)
{
	struct app *a = c->a;
	int64_t n, ms = 0, q = 0;
	const cJSON *jms = cJSON_GetObjectItemCaseSensitive(in, "latency_ms");
	const cJSON *jq = cJSON_GetObjectItemCaseSensitive(in, "queue");
	cJSON *b;

	if (!json_int(cJSON_GetObjectItemCaseSensitive(in, "concurrent"), 0,
	              MAX_CAPACITY, &n) ||
	    (jms && !json_int(jms, 1, MAX_LATENCY_MS, &ms)) ||
	    (jq && !json_int(jq, 0, 1000000, &q)) || (n && !jms)) {
		reply_problem(&c->r, 400, "bad-request",
		              "concurrent must be in [0, %d]; with it, "
		              "latency_ms in [1, %d] and queue >= 0",
		              MAX_CAPACITY, MAX_LATENCY_MS);
		return;
	}
	a->cap_concurrent = (unsigned)n;
	a->cap_latency_ms = ms;
	a->cap_queue = jq ? q : 1000000;
	memset(a->cap_free, 0, sizeof(a->cap_free));
	b = cJSON_CreateObject();
	cJSON_AddNumberToObject(b, "concurrent", (double)n);
	cJSON_AddNumberToObject(b, "latency_ms", (double)ms);
	cJSON_AddNumberToObject(b, "queue", (double)a->cap_queue);
	control_ok(c, b);
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
		reply_problem(&c->r, 400, "bad-request",
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
		reply_problem(
		    &c->r, 400, "bad-request",
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
	control_ok(c, b);
}

#define MAX_SCRIPTED 1000

void script_clear(struct app *a)
{
	cJSON_Delete(a->script_body);
	a->script_body = NULL;
	a->script_left = 0;
}

static bool is_write_method(const char *m)
{
	return strcmp(m, MHD_HTTP_METHOD_POST) == 0 ||
	       strcmp(m, MHD_HTTP_METHOD_PUT) == 0 ||
	       strcmp(m, MHD_HTTP_METHOD_PATCH) == 0 ||
	       strcmp(m, MHD_HTTP_METHOD_DELETE) == 0;
}

static bool scripted(const struct app *a, const struct call *c)
{
	if (!a->script_left || c->route == ROUTE_TOKEN)
		return false;
	if (a->script_route != ROUTE_MAX && c->route != a->script_route)
		return false;
	if (a->script_method[0])
		return method_is(c, a->script_method);
	/* A search is a read, whatever its method. */
	return c->route != ROUTE_SEARCH && is_write_method(c->method);
}

bool script_answer(struct call *c)
{
	struct app *a = c->a;
	cJSON *b = NULL;

	if (!scripted(a, c))
		return false;
	a->script_left--;
	if (a->script_body) {
		b = cJSON_Duplicate(a->script_body, 1);
		if (!b) {
			reply_oom(&c->r);
			return true;
		}
	}
	/* Done as asked, then answered as scripted: the headers the
	 * handler set (ETag, Location) stay. */
	if (a->script_apply)
		a->profile->handle(c);
	reply_body(&c->r, a->script_status, b);
	c->r.problem = a->script_problem;
	return true;
}

/* The next count requests that match answer status with body: a fault a
 * partner API was seen to answer, without teaching every handler. */
static void ctl_script(struct call *c, const cJSON *in)
{
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(in, "body");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(in, "count");
	const cJSON *apply = cJSON_GetObjectItemCaseSensitive(in, "apply");
	const cJSON *problem = cJSON_GetObjectItemCaseSensitive(in, "problem");
	const char *method = json_str(in, "method");
	const char *route = json_str(in, "route");
	struct app *a = c->a;
	int64_t status, count = 1;
	enum route rt = ROUTE_MAX;
	cJSON *copy = NULL;

	if (route) {
		for (rt = 0; rt < ROUTE_MAX; rt++)
			if (strcmp(route, a->profile->route_names[rt]) == 0)
				break;
	}
	if (!json_int(cJSON_GetObjectItemCaseSensitive(in, "status"), 100, 599,
	              &status) ||
	    (n && !json_int(n, 0, MAX_SCRIPTED, &count)) ||
	    (apply && !cJSON_IsBool(apply)) ||
	    (problem && !cJSON_IsBool(problem)) ||
	    (method &&
	     (!*method || strlen(method) >= sizeof(a->script_method))) ||
	    (route && rt == ROUTE_MAX) ||
	    (cJSON_HasObjectItem(in, "method") && !method) ||
	    (cJSON_HasObjectItem(in, "route") && !route)) {
		reply_problem(&c->r, 400, "bad-request",
		              "status in [100, 599] is required; count in "
		              "[0, %d], apply and problem booleans, method "
		              "and route (as the request counts name it) "
		              "strings",
		              MAX_SCRIPTED);
		return;
	}
	if (body) {
		copy = cJSON_Duplicate(body, 1);
		if (!copy) {
			reply_oom(&c->r);
			return;
		}
	}
	script_clear(a);
	a->script_body = copy;
	a->script_left = (unsigned)count;
	a->script_status = (unsigned)status;
	a->script_apply = cJSON_IsTrue(apply);
	a->script_problem = cJSON_IsTrue(problem);
	snprintf(a->script_method, sizeof(a->script_method), "%s",
	         method ? method : "");
	a->script_route = rt;
	control_ok(c, cJSON_CreateObject());
}

static void ctl_edit(struct call *c, const cJSON *in)
{
	const char *id = json_str(in, "id");
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(in, "patch");
	struct customer *cu;
	cJSON *sub, *merged;

	if (!id || !cJSON_IsObject(patch)) {
		reply_problem(&c->r, 400, "bad-request",
		              "id (string) and patch (object) are required");
		return;
	}
	cu = customer_find(c->a, id, NULL);
	if (!cu) {
		reply_problem(&c->r, 404, "not-found", "customer %s not found",
		              id);
		return;
	}
	sub = customer_writable(patch);
	merged = sub ? merge_patch_apply(cu->fields, sub) : NULL;
	cJSON_Delete(sub);
	if (!merged) {
		reply_oom(&c->r);
		return;
	}
	customer_trim_address(merged);
	ix_unlink(&c->a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = merged;
	ix_link(&c->a->ix, cu);
	customer_touch(c->a, cu);
	control_ok(c, customer_render(cu, VIEW_CONTROL));
}

const char *control_tenant(struct call *c, const cJSON *in)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "tenant");

	return tenant_intern(c->a, !t                  ? DEFAULT_TENANT
	                           : cJSON_IsString(t) ? t->valuestring
	                                               : NULL);
}

static void ctl_seed(struct call *c, const cJSON *in)
{
	const cJSON *cust = cJSON_GetObjectItemCaseSensitive(in, "customer");
	const char *tenant = control_tenant(c, in);
	struct customer *cu;
	cJSON *sub, *fields;

	if (!tenant || !cJSON_IsObject(cust)) {
		reply_problem(
		    &c->r, 400, "bad-request",
		    "customer (object) is required; tenant must be a "
		    "non-empty string");
		return;
	}
	sub = customer_writable(cust);
	fields = sub ? merge_patch_apply(NULL, sub) : NULL;
	cJSON_Delete(sub);
	if (!fields) {
		reply_oom(&c->r);
		return;
	}
	customer_trim_address(fields);
	if (!cJSON_GetObjectItemCaseSensitive(fields, "Status"))
		cJSON_AddStringToObject(fields, "Status", "Active");
	cu = customer_add(c->a, tenant, fields);
	if (!cu) {
		reply_problem(&c->r, 507, "store-full",
		              "cannot store more customers");
		return;
	}
	control_ok(c, customer_render(cu, VIEW_CONTROL));
}

/* Every record of the profile, in creation order. */
static void ctl_state(struct call *c, const cJSON *in)
{
	cJSON *b = cJSON_CreateObject();
	cJSON *list = b ? cJSON_AddArrayToObject(b, "customers") : NULL;

	(void)in;
	for (size_t i = 0; list && i < c->a->n_cust; i++)
		if (!cJSON_AddItemToArray(list, c->a->profile->control_view(
		                                    c->a, c->a->cust[i])))
			list = NULL;
	if (!list) {
		cJSON_Delete(b);
		b = NULL;
	}
	control_ok(c, b);
}

static cJSON *alvys_control_view(const struct app *a,
                                 const struct customer *cu)
{
	(void)a;
	return customer_render(cu, VIEW_CONTROL);
}

static cJSON *opt_string(const struct log_entry *e, unsigned bit,
                         const char *s)
{
	return (e->has & bit) ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* "A\nB\n" -> ["A", "B"] */
static cJSON *name_list(const char *s)
{
	cJSON *list = cJSON_CreateArray();
	const char *nl = strchr(s, '\n');

	while (list && nl) {
		char *name = strndup(s, (size_t)(nl - s));
		cJSON *v = name ? cJSON_CreateString(name) : NULL;

		free(name);
		if (!v || !cJSON_AddItemToArray(list, v)) {
			cJSON_Delete(v);
			cJSON_Delete(list);
			return NULL;
		}
		s = nl + 1;
		nl = strchr(s, '\n');
	}
	return list;
}

/* "a: 1\nb: 2\n" (as record() writes it) -> [["a", "1"], ["b", "2"]] */
static cJSON *value_list(const char *s)
{
	cJSON *list = cJSON_CreateArray();
	const char *nl = s ? strchr(s, '\n') : NULL;

	while (list && nl) {
		const char *colon = memchr(s, ':', (size_t)(nl - s));
		cJSON *pair = cJSON_CreateArray();
		char *name = strndup(s, colon ? (size_t)(colon - s) : 0);
		char *value =
		    colon ? strndup(colon + 2, (size_t)(nl - colon - 2))
		          : NULL;

		if (!pair || !name || !value ||
		    !cJSON_AddItemToArray(list, pair)) {
			cJSON_Delete(pair);
			cJSON_Delete(list);
			list = NULL;
		} else {
			cJSON_AddItemToArray(pair, cJSON_CreateString(name));
			cJSON_AddItemToArray(pair, cJSON_CreateString(value));
		}
		free(name);
		free(value);
		s = nl + 1;
		nl = strchr(s, '\n');
	}
	return list;
}

static cJSON *log_json(const struct log_entry *e, const char *const *names)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "method", e->method);
	cJSON_AddStringToObject(o, "path", e->path);
	cJSON_AddStringToObject(o, "route", names[e->route]);
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
	cJSON_AddItemToObject(o, "header_names", name_list(e->header_names));
	cJSON_AddBoolToObject(o, "header_names_cut", e->header_names_cut);
	cJSON_AddItemToObject(o, "header_values",
	                      value_list(e->header_values));
	cJSON_AddNumberToObject(o, "t_ms", (double)e->t_ms);
	return o;
}

/* The answer time below which a share q of the answers came. */
static uint64_t latency_quantile(const struct app *a, uint64_t n, double q)
{
	uint64_t rank = (uint64_t)((double)n * q), seen = 0;

	if (rank >= n)
		rank = n - 1;
	for (size_t i = 0; i < LATENCY_BUCKETS; i++) {
		seen += a->latency_hist[i];
		if (seen > rank)
			return i;
	}
	return LATENCY_BUCKETS - 1;
}

static cJSON *latency_json(const struct app *a)
{
	cJSON *o = cJSON_CreateObject();
	uint64_t n = 0, max = 0;

	for (size_t i = 0; i < LATENCY_BUCKETS; i++) {
		n += a->latency_hist[i];
		if (a->latency_hist[i])
			max = i;
	}
	cJSON_AddNumberToObject(o, "n", (double)n);
	if (n) {
		cJSON_AddNumberToObject(o, "p50",
		                        (double)latency_quantile(a, n, 0.50));
		cJSON_AddNumberToObject(o, "p99",
		                        (double)latency_quantile(a, n, 0.99));
		cJSON_AddNumberToObject(o, "max", (double)max);
	}
	return o;
}

static void ctl_requests(struct call *c, const cJSON *in)
{
	struct app *a = c->a;
	const char *q =
	    MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "log");
	cJSON *b = cJSON_CreateObject(), *counts, *log;
	bool ok;

	(void)in;
	ok = cJSON_AddNumberToObject(b, "total", (double)a->total) != NULL;
	counts = cJSON_AddObjectToObject(b, "counts");
	ok = ok && counts;
	for (size_t i = 0; ok && i < a->n_counts; i++)
		ok = cJSON_AddNumberToObject(counts, a->counts[i].key,
		                             (double)a->counts[i].n) != NULL;
	ok = ok && cJSON_AddNumberToObject(counts, "if_match_star",
	                                   (double)a->if_match_star);
	ok = ok && cJSON_AddItemToObject(b, "latency_ms", latency_json(a));
	ok =
	    ok && cJSON_AddNumberToObject(b, "in_flight", (double)a->heap_len);
	if (ok && !(q && strcmp(q, "0") == 0)) {
		size_t first = (a->log_head + MAX_LOG - a->log_len) % MAX_LOG;

		log = cJSON_AddArrayToObject(b, "log");
		for (size_t i = 0; log && i < a->log_len; i++)
			if (!cJSON_AddItemToArray(
			        log, log_json(&a->log[(first + i) % MAX_LOG],
			                      a->profile->route_names)))
				log = NULL;
		ok = log != NULL;
	}
	if (!ok) {
		cJSON_Delete(b);
		b = NULL;
	}
	control_ok(c, b);
}

static void ctl_reset(struct call *c, const cJSON *in)
{
	struct app *a = c->a;

	(void)in;
	customers_clear(a);
	a->log_head = a->log_len = 0;
	a->total = a->if_match_star = 0;
	a->n_counts = 0;
	memset(a->latency_hist, 0, sizeof(a->latency_hist));
	a->latency_ms = 0;
	a->cap_concurrent = 0;
	a->disabled_until = 0;
	a->quota_n = 0;
	a->n_quota_clients = 0;
	a->loose_ids = false;
	script_clear(a);
	control_ok(c, cJSON_CreateObject());
}

static void ctl_expire_tokens(struct call *c, const cJSON *in)
{
	(void)in;
	for (size_t i = 0; i < TOKEN_SLOTS; i++)
		c->a->tokens[i].expires_ms = INT64_MIN;
	control_ok(c, cJSON_CreateObject());
}

static void ctl_token_ttl(struct call *c, const cJSON *in)
{
	int64_t s;

	if (!json_int(cJSON_GetObjectItemCaseSensitive(in, "seconds"), 0,
	              MAX_SECONDS, &s)) {
		reply_problem(&c->r, 400, "bad-request",
		              "seconds must be a whole number in [0, %d]",
		              MAX_SECONDS);
		return;
	}
	c->a->token_ttl_s = s;
	control_ok(c, cJSON_CreateObject());
}

bool ids_match(const struct app *a, const char *x, const char *y)
{
	return a->loose_ids ? strcasecmp(x, y) == 0 : strcmp(x, y) == 0;
}

/* {"on": bool}: see struct app's loose_ids. */
static void ctl_loose_ids(struct call *c, const cJSON *in)
{
	const cJSON *on = cJSON_GetObjectItemCaseSensitive(in, "on");

	if (!cJSON_IsBool(on)) {
		reply_problem(&c->r, 400, "bad-request", "on must be a bool");
		return;
	}
	c->a->loose_ids = cJSON_IsTrue(on);
	control_ok(c, cJSON_CreateObject());
}

static void ctl_client(struct call *c, const cJSON *in)
{
	const char *id = json_str(in, "id");
	const char *secret = json_str(in, "secret");
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
		rc =
		    client_set(c->a, id, secret,
		               t ? t->valuestring : DEFAULT_TENANT, scopes, n);
	if (rc == -ENOMEM) {
		reply_oom(&c->r);
		return;
	}
	if (rc) {
		reply_problem(
		    &c->r, 400, "bad-request",
		    "id and secret (1-%d chars), tenant (string) and "
		    "scopes (at most %d strings without spaces) expected",
		    MAX_NAME, MAX_SCOPES);
		return;
	}
	control_ok(c, cJSON_CreateObject());
}

/* The records' controls belong to the profile that owns their shape. */
static void ctl_profile_seed(struct call *c, const cJSON *in)
{
	c->a->profile->seed(c, in);
}

static void ctl_profile_edit(struct call *c, const cJSON *in)
{
	c->a->profile->edit(c, in);
}

void control_handle(struct call *c)
{
	static const struct {
		const char *name;
		const char *method;
		void (*fn)(struct call *c, const cJSON *in);
	} table[] = {
	    {"latency", MHD_HTTP_METHOD_POST, ctl_latency},
	    {"capacity", MHD_HTTP_METHOD_POST, ctl_capacity},
	    {"disable_writes", MHD_HTTP_METHOD_POST, ctl_disable_writes},
	    {"quota", MHD_HTTP_METHOD_POST, ctl_quota},
	    {"script", MHD_HTTP_METHOD_POST, ctl_script},
	    {"edit", MHD_HTTP_METHOD_POST, ctl_profile_edit},
	    {"seed", MHD_HTTP_METHOD_POST, ctl_profile_seed},
	    {"state", MHD_HTTP_METHOD_GET, ctl_state},
	    {"requests", MHD_HTTP_METHOD_GET, ctl_requests},
	    {"reset", MHD_HTTP_METHOD_POST, ctl_reset},
	    {"expire_tokens", MHD_HTTP_METHOD_POST, ctl_expire_tokens},
	    {"token_ttl", MHD_HTTP_METHOD_POST, ctl_token_ttl},
	    {"loose_ids", MHD_HTTP_METHOD_POST, ctl_loose_ids},
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
	reply_problem(&c->r, 404, "not-found", "no control at %s", c->url);
}

const struct refapi_profile refapi_alvys = {
    .name = "alvys",
    .route = api_route,
    .route_names = route_names,
    .handle = api_handle,
    .seed = ctl_seed,
    .edit = ctl_edit,
    .control_view = alvys_control_view,
};
