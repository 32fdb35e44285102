/* refapi_engage.c: refapi --profile engage, the Pexip Engage customers
 * API (shared/seeds/003) under /enterprises/{enterprise}.
 *
 *   GET    /enterprises/E/customers?externalId=X  customer:read
 *   POST   /enterprises/E/customers               customer:create
 *   GET    /enterprises/E/customers/{id}          customer:read
 *   PATCH  /enterprises/E/customers/{id}          customer:update
 *   DELETE /enterprises/E/customers/{id}          customer:delete
 *
 * PATCH follows the document to the letter: nullable members (null
 * clears), location replaced as a whole and closed to other members,
 * minimum lengths, the ten language codes, {"data": ...} answers and
 * {"errors": [{message, code, type, statusCode}]} failures, statusCode a
 * string. The server really derives what the document says it fills in:
 * existing (false), timeZone (from countryCode), geolocation (a fake
 * geocoder), formattedAddress and the single city/state/street objects
 * in the Accept-Language language.
 *
 * Choices the document leaves open (the README's engage section lists
 * them too):
 * - POST takes the PATCH body and answers 201; GET of one customer and
 *   the look-up answer like PATCH; the look-up requires externalId and
 *   lists deleted customers too.
 * - DELETE is soft: deletedAt is set, GET and the look-up still show the
 *   customer; PATCH or DELETE of a deleted customer is 404.
 * - A live customer's externalId is unique per enterprise and tenant:
 *   409 CUSTOMER_EXTERNAL_ID_TAKEN, arguments {customerId, externalId}.
 * - 422 CUSTOMER_NOT_IDENTIFIABLE: no email, no phoneNumber and not both
 *   firstName and lastName. 422 LOCATION_GEOCODING_FAILED: a postalCode
 *   of only zeros. 422 LOCATION_TIME_ZONE_RESOLUTION_FAILED: no explicit
 *   timeZone and a countryCode outside the little zone table. Without a
 *   location or timeZone, timeZone is "UTC".
 * - A timeZone sent stays until it is cleared; a derived one follows the
 *   location.
 * - Malformed bodies are 400 VALIDATION_FAILED, a wrong Content-Type
 *   415, auth failures 401/403, disabled writes 503/429: all in the
 *   errors envelope.
 * - Every /enterprises request counts "accept_language:<header>" (or
 *   "accept_language:none") in /_control/requests counts.
 * - Records are kept per tenant (the token's) and enterprise (the URL's).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "refapi.h"

#define ENT_PREFIX     "/enterprises/"
#define MAX_ENTERPRISE 64
#define MAX_LOOKUP     200

static const char *const engage_route_names[ROUTE_MAX] = {
    "other", "/oauth/token", "/customers", "/customers/search",
    "/customers/{id}"};

static const char *const languages[] = {"da", "de", "el", "en", "es",
                                        "fr", "ja", "nl", "no", "pl"};

static const char *const text_fields[] = {
    "externalId", "customerNumber", "email", "firstName",   "lastName",
    "company",    "language",       "notes", "phoneNumber", "timeZone"};

static const char *const tr_keys[] = {"city", "state", "street1", "street2"};

/* The fake time-zone resolver. */
static const char *const zones[][2] = {
    {"BE", "Europe/Brussels"}, {"NL", "Europe/Amsterdam"},
    {"DE", "Europe/Berlin"},   {"FR", "Europe/Paris"},
    {"GB", "Europe/London"},   {"DK", "Europe/Copenhagen"},
    {"NO", "Europe/Oslo"},     {"PL", "Europe/Warsaw"},
    {"ES", "Europe/Madrid"},   {"GR", "Europe/Athens"},
    {"JP", "Asia/Tokyo"},      {"US", "America/New_York"},
};

/* ---- small helpers ---------------------------------------------------- */

static bool is_language(const char *s)
{
	for (size_t i = 0; s && i < N_ELEMS(languages); i++)
		if (strcmp(s, languages[i]) == 0)
			return true;
	return false;
}

static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void iso(int64_t ms, char *out, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03dZ", base, (int)(ms % 1000));
}

/* {"errors": [{message, code, type, statusCode}]}; returns the error
 * object so callers can add arguments. */
static cJSON *reply_error(struct call *c, unsigned status, const char *code,
                          const char *type, const char *msg)
{
	cJSON *b = cJSON_CreateObject(), *list, *e = cJSON_CreateObject();
	char st[8];

	snprintf(st, sizeof(st), "%u", status);
	list = b ? cJSON_AddArrayToObject(b, "errors") : NULL;
	if (!list || !e || !cJSON_AddItemToArray(list, e)) {
		cJSON_Delete(e);
		cJSON_Delete(b);
		reply_oom(&c->r);
		return NULL;
	}
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "statusCode", st);
	reply_body(&c->r, status, b);
	return e;
}

/* The shared helpers answer problem documents: rewrap their detail in
 * this API's envelope (headers such as Retry-After are kept). */
static void rewrap(struct call *c, const char *code, const char *type)
{
	const char *d = json_str(c->r.body, "detail");
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", d ? d : "error");
	reply_error(c, c->r.status, code, type, msg);
}

static bool allowed(struct call *c, unsigned need)
{
	if (authorize(c, need))
		return true;
	if (c->r.status == 401)
		rewrap(c, "UNAUTHORIZED", "AuthenticationError");
	else
		rewrap(c, "FORBIDDEN", "AuthorizationError");
	return false;
}

static bool disabled(struct call *c)
{
	if (!writes_disabled(c))
		return false;
	if (c->r.status == 429)
		rewrap(c, "TOO_MANY_REQUESTS", "RateLimitError");
	else
		rewrap(c, "SERVICE_UNAVAILABLE", "ServiceUnavailableError");
	return true;
}

/* "acme" out of /enterprises/acme/customers...; false when too long. */
static bool enterprise_of(const char *url, char *out, size_t size)
{
	const char *p = url + strlen(ENT_PREFIX);
	size_t n = strcspn(p, "/");

	if (n == 0 || n >= size)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* The first two letters of Accept-Language when they are a documented
 * code ("en *", "fr-BE", "nl, en;q=0.5"), else "en". */
static const char *response_language(const struct call *c)
{
	const char *h = call_header(c, "Accept-Language");
	char two[3];

	if (!h || strlen(h) < 2)
		return "en";
	memcpy(two, h, 2);
	two[2] = '\0';
	for (size_t i = 0; i < N_ELEMS(languages); i++)
		if (strcmp(two, languages[i]) == 0 &&
		    (h[2] == '\0' || strchr(" -,;_", h[2])))
			return languages[i];
	return "en";
}

/* The Accept-Language each request carried, counted, so tests can see
 * the header arrive. */
static void count_language(struct call *c)
{
	const char *h = call_header(c, "Accept-Language");
	char key[sizeof(c->a->counts[0].key)];

	snprintf(key, sizeof(key), "accept_language:%s", h ? h : "none");
	count_add(c->a, key);
}

/* ---- validation of a request body (the document's rules) -------------- */

struct errs {
	char msg[512];
	bool bad;
};

__attribute__((format(printf, 2, 3))) static void bad(struct errs *e,
                                                      const char *fmt, ...)
{
	va_list ap;

	if (e->bad)
		return; /* the first one is enough */
	e->bad = true;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* string | null, minimum length 1 */
static void check_text(const cJSON *o, const char *name, const char *path,
                       struct errs *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!v || cJSON_IsNull(v))
		return;
	if (!cJSON_IsString(v))
		bad(e, "%s%s must be a string or null", path, name);
	else if (!v->valuestring[0])
		bad(e, "%s%s: minimum length is 1", path, name);
}

static void check_translation(const cJSON *tr, const char *key, bool required,
                              struct errs *e)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(tr, key), *el;

	if (!list) {
		if (required)
			bad(e, "location.translations.%s is required", key);
		return;
	}
	if (!cJSON_IsArray(list)) {
		bad(e, "location.translations.%s must be an array", key);
		return;
	}
	if (required && cJSON_GetArraySize(list) < 1)
		bad(e, "location.translations.%s needs at least 1 element",
		    key);
	cJSON_ArrayForEach(el, list)
	{
		const char *lang = json_str(el, "language");
		const char *val = json_str(el, "value");

		if (!cJSON_IsObject(el) || !is_language(lang))
			bad(e,
			    "location.translations.%s[].language must be "
			    "one of da, de, el, en, es, fr, ja, nl, no, pl",
			    key);
		else if (!val || !val[0])
			bad(e,
			    "location.translations.%s[].value is a required "
			    "string of minimum length 1",
			    key);
	}
}

static void check_location(const cJSON *loc, struct errs *e)
{
	static const char *const members[] = {"postalCode", "countryCode",
	                                      "geolocation", "translations"};
	const cJSON *m, *geo, *tr;
	const char *cc;

	if (!loc || cJSON_IsNull(loc))
		return;
	if (!cJSON_IsObject(loc)) {
		bad(e, "location must be an object or null");
		return;
	}
	cJSON_ArrayForEach(m, loc)
	{
		bool known = false;

		for (size_t i = 0; i < N_ELEMS(members); i++)
			known |= strcmp(m->string, members[i]) == 0;
		if (!known)
			bad(e,
			    "location: additional property %s is not "
			    "allowed",
			    m->string);
	}
	check_text(loc, "postalCode", "location.", e);
	cc = json_str(loc, "countryCode");
	if (!cc || chars(cc) != 2)
		bad(e, "location.countryCode is required, exactly 2 "
		       "characters");
	geo = cJSON_GetObjectItemCaseSensitive(loc, "geolocation");
	if (geo && !cJSON_IsNull(geo)) {
		const cJSON *la =
		    cJSON_GetObjectItemCaseSensitive(geo, "latitude");
		const cJSON *lo =
		    cJSON_GetObjectItemCaseSensitive(geo, "longitude");

		if (!cJSON_IsObject(geo) || cJSON_GetArraySize(geo) != 2 ||
		    !cJSON_IsNumber(la) || !cJSON_IsNumber(lo) ||
		    !(la->valuedouble >= -90 && la->valuedouble <= 90) ||
		    !(lo->valuedouble >= -180 && lo->valuedouble <= 180))
			bad(e, "location.geolocation needs latitude "
			       "[-90, 90] and longitude [-180, 180] only");
	}
	tr = cJSON_GetObjectItemCaseSensitive(loc, "translations");
	if (!cJSON_IsObject(tr)) {
		bad(e, "location.translations is a required object");
		return;
	}
	cJSON_ArrayForEach(m, tr)
	{
		bool known = false;

		for (size_t i = 0; i < N_ELEMS(tr_keys); i++)
			known |= strcmp(m->string, tr_keys[i]) == 0;
		if (!known)
			bad(e,
			    "location.translations: additional property %s "
			    "is not allowed",
			    m->string);
	}
	check_translation(tr, "city", true, e);
	check_translation(tr, "state", false, e);
	check_translation(tr, "street1", true, e);
	check_translation(tr, "street2", false, e);
}

static void check_body(const cJSON *b, struct errs *e)
{
	const cJSON *v;
	const char *s;

	for (size_t i = 0; i < N_ELEMS(text_fields); i++)
		check_text(b, text_fields[i], "", e);
	s = json_str(b, "externalId");
	if (s && chars(s) > 255)
		bad(e, "externalId: maximum length is 255");
	s = json_str(b, "language");
	if (s && !is_language(s))
		bad(e, "language must be one of da, de, el, en, es, fr, ja, "
		       "nl, no, pl");
	v = cJSON_GetObjectItemCaseSensitive(b, "existing");
	if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v))
		bad(e, "existing must be a boolean or null");
	check_location(cJSON_GetObjectItemCaseSensitive(b, "location"), e);
}

/* ---- records ---------------------------------------------------------- */

/* The body's members onto fields: present members replace (null
 * clears), location as a whole. A sent timeZone is explicit; a null one
 * hands it back to the resolver. */
static bool apply_body(cJSON *fields, const cJSON *b)
{
	static const char *const members[] = {"existing", "location"};

	for (size_t i = 0; i < N_ELEMS(text_fields) + 2; i++) {
		const char *name = i < N_ELEMS(text_fields)
		                       ? text_fields[i]
		                       : members[i - N_ELEMS(text_fields)];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, name);

		if (!v)
			continue;
		if (strcmp(name, "timeZone") == 0 &&
		    !json_set(fields, "_tzExplicit",
		              cJSON_CreateBool(cJSON_IsString(v))))
			return false;
		if (cJSON_IsNull(v)) {
			cJSON_DeleteItemFromObjectCaseSensitive(fields, name);
			continue;
		}
		if (!json_set(fields, name, cJSON_Duplicate(v, 1)))
			return false;
	}
	return true;
}

static bool all_zeros(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s != '0')
			return false;
	return true;
}

/* What the server fills in. Returns the 422 code that refuses the
 * record, or NULL; the record is derived either way (seeds keep it). */
static const char *derive(cJSON *fields, char *msg, size_t size)
{
	cJSON *loc = cJSON_GetObjectItemCaseSensitive(fields, "location");
	const cJSON *tz_explicit =
	    cJSON_GetObjectItemCaseSensitive(fields, "_tzExplicit");
	const char *cc = json_str(loc, "countryCode");
	const char *pc = json_str(loc, "postalCode");
	const char *zone = NULL, *refusal = NULL;

	if (!json_str(fields, "email") && !json_str(fields, "phoneNumber") &&
	    !(json_str(fields, "firstName") && json_str(fields, "lastName"))) {
		snprintf(msg, size,
		         "The customer cannot be identified: it needs an "
		         "email, a phone number, or a first and last name");
		refusal = "CUSTOMER_NOT_IDENTIFIABLE";
	}
	if (!refusal && cJSON_IsObject(loc) && all_zeros(pc)) {
		snprintf(msg, size,
		         "The location with postal code %s could not be "
		         "geocoded",
		         pc);
		refusal = "LOCATION_GEOCODING_FAILED";
	}
	for (size_t i = 0; cc && i < N_ELEMS(zones); i++)
		if (strcmp(cc, zones[i][0]) == 0)
			zone = zones[i][1];
	if (!cJSON_IsTrue(tz_explicit)) {
		if (!refusal && cJSON_IsObject(loc) && !zone) {
			snprintf(msg, size,
			         "No time zone could be resolved for country "
			         "%s",
			         cc ? cc : "?");
			refusal = "LOCATION_TIME_ZONE_RESOLUTION_FAILED";
		}
		if (!json_set(fields, "timeZone",
		              cJSON_CreateString(zone ? zone : "UTC")))
			return "INTERNAL";
	}
	if (!cJSON_IsBool(
	        cJSON_GetObjectItemCaseSensitive(fields, "existing")) &&
	    !json_set(fields, "existing", cJSON_CreateFalse()))
		return "INTERNAL";
	/* Fake geocoding, deterministic from country and postal code; a
	 * geolocation sent along is kept. */
	if (cJSON_IsObject(loc) && !cJSON_HasObjectItem(loc, "_geo")) {
		const cJSON *g =
		    cJSON_GetObjectItemCaseSensitive(loc, "geolocation");
		uint64_t h = 1469598103934665603ULL;
		cJSON *geo;

		for (const char *p = cc; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		for (const char *p = pc; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		geo = cJSON_IsObject(g) ? cJSON_Duplicate(g, 1)
		                        : cJSON_CreateObject();
		if (geo && !cJSON_IsObject(g) &&
		    (!cJSON_AddNumberToObject(geo, "latitude",
		                              (double)(h % 18000) / 100.0 -
		                                  90.0) ||
		     !cJSON_AddNumberToObject(
		         geo, "longitude",
		         (double)((h >> 20) % 36000) / 100.0 - 180.0)))
			return "INTERNAL";
		if (!json_set(loc, "_geo", geo))
			return "INTERNAL";
	}
	return refusal;
}

static bool mine(const struct customer *cu, const char *tenant,
                 const char *enterprise)
{
	const char *e = json_str(cu->fields, "_enterprise");

	return cu->tenant == tenant && e && strcmp(e, enterprise) == 0;
}

static struct customer *live_with_external_id(struct app *a,
                                              const char *tenant,
                                              const char *enterprise,
                                              const char *ext,
                                              const struct customer *self)
{
	for (size_t i = 0; ext && i < a->n_cust; i++) {
		struct customer *cu = a->cust[i];
		const char *x = json_str(cu->fields, "externalId");

		if (cu != self && mine(cu, tenant, enterprise) && x &&
		    ids_match(a, x, ext) &&
		    !cJSON_HasObjectItem(cu->fields, "deletedAt"))
			return cu;
	}
	return NULL;
}

/* ---- rendering -------------------------------------------------------- */

static cJSON *pick(const cJSON *list, const char *lang)
{
	const cJSON *el, *found = NULL;

	cJSON_ArrayForEach(el, list)
	{
		if (!found)
			found = el;
		if (strcmp(json_str(el, "language") ? json_str(el, "language")
		                                    : "",
		           lang) == 0) {
			found = el;
			break;
		}
	}
	return found ? cJSON_Duplicate(found, 1) : cJSON_CreateNull();
}

static const char *pick_value(const cJSON *list, const char *lang)
{
	const cJSON *el;
	const char *first = NULL;

	cJSON_ArrayForEach(el, list)
	{
		const char *l = json_str(el, "language");

		if (!first)
			first = json_str(el, "value");
		if (l && strcmp(l, lang) == 0)
			return json_str(el, "value");
	}
	return first;
}

static cJSON *render_location(const cJSON *loc, const char *lang)
{
	const cJSON *tr =
	    cJSON_GetObjectItemCaseSensitive(loc, "translations");
	cJSON *o = cJSON_CreateObject(), *copy;
	char addr[1024];
	const char *parts[6];
	size_t used = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < N_ELEMS(tr_keys); i++)
		cJSON_AddItemToObject(
		    o, tr_keys[i],
		    pick(cJSON_GetObjectItemCaseSensitive(tr, tr_keys[i]),
		         lang));
	if (json_str(loc, "postalCode"))
		cJSON_AddStringToObject(o, "postalCode",
		                        json_str(loc, "postalCode"));
	else
		cJSON_AddNullToObject(o, "postalCode");
	cJSON_AddStringToObject(o, "countryCode",
	                        json_str(loc, "countryCode"));
	parts[0] =
	    pick_value(cJSON_GetObjectItemCaseSensitive(tr, "street1"), lang);
	parts[1] =
	    pick_value(cJSON_GetObjectItemCaseSensitive(tr, "street2"), lang);
	parts[2] = json_str(loc, "postalCode");
	parts[3] =
	    pick_value(cJSON_GetObjectItemCaseSensitive(tr, "city"), lang);
	parts[4] =
	    pick_value(cJSON_GetObjectItemCaseSensitive(tr, "state"), lang);
	parts[5] = json_str(loc, "countryCode");
	addr[0] = '\0';
	for (size_t i = 0; i < 6; i++) {
		int n;

		if (!parts[i] || used >= sizeof(addr))
			continue;
		n = snprintf(addr + used, sizeof(addr) - used, "%s%s",
		             used ? (i == 3 ? " " : ", ") : "", parts[i]);
		if (n > 0)
			used += (size_t)n;
	}
	cJSON_AddStringToObject(o, "formattedAddress", addr);
	copy =
	    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(loc, "_geo"), 1);
	cJSON_AddItemToObject(o, "geolocation",
	                      copy ? copy : cJSON_CreateObject());
	copy = cJSON_Duplicate(tr, 1);
	cJSON_AddItemToObject(o, "translations",
	                      copy ? copy : cJSON_CreateObject());
	return o;
}

/* The customer as the API shows it; control adds Tenant and
 * Enterprise. */
static cJSON *render(const struct customer *cu, const char *lang, bool control)
{
	const cJSON *f = cu->fields, *loc;
	cJSON *o = cJSON_CreateObject();
	char created[40], updated[40];
	bool ok = o != NULL;

	iso(cu->created_ms, created, sizeof(created));
	iso(cu->modified_ms, updated, sizeof(updated));
	ok = ok && cJSON_AddStringToObject(o, "id", cu->id);
	for (size_t i = 0; ok && i < N_ELEMS(text_fields); i++) {
		const char *s = json_str(f, text_fields[i]);

		ok = s ? cJSON_AddStringToObject(o, text_fields[i], s) != NULL
		       : cJSON_AddNullToObject(o, text_fields[i]) != NULL;
	}
	ok =
	    ok &&
	    cJSON_AddBoolToObject(
	        o, "existing",
	        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "existing")));
	ok = ok && cJSON_AddStringToObject(o, "createdAt", created) &&
	     cJSON_AddStringToObject(o, "updatedAt", updated);
	if (ok && json_str(f, "deletedAt"))
		ok = cJSON_AddStringToObject(o, "deletedAt",
		                             json_str(f, "deletedAt"));
	else if (ok)
		ok = cJSON_AddNullToObject(o, "deletedAt");
	loc = cJSON_GetObjectItemCaseSensitive(f, "location");
	if (ok) {
		cJSON *l = cJSON_IsObject(loc) ? render_location(loc, lang)
		                               : cJSON_CreateNull();

		ok = l && cJSON_AddItemToObject(o, "location", l);
		if (!ok)
			cJSON_Delete(l);
	}
	if (ok && control)
		ok = cJSON_AddStringToObject(o, "Tenant", cu->tenant) &&
		     cJSON_AddStringToObject(o, "Enterprise",
		                             json_str(f, "_enterprise"));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void reply_data(struct call *c, unsigned status, cJSON *data)
{
	cJSON *b = cJSON_CreateObject();

	if (!data || !b || !cJSON_AddItemToObject(b, "data", data)) {
		cJSON_Delete(data);
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, status, b);
}

/* ---- the API ---------------------------------------------------------- */

static bool json_body(struct call *c)
{
	if (media_type_is(call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	                  "application/json"))
		return true;
	reply_error(c, 415, "UNSUPPORTED_MEDIA_TYPE", "RequestError",
	            "Content-Type must be application/json");
	return false;
}

/* The body, checked; NULL with the reply set. */
static cJSON *read_body(struct call *c)
{
	struct errs e = {.bad = false};
	cJSON *doc;

	if (!json_body(c))
		return NULL;
	doc = parse_object(c);
	if (!doc) {
		rewrap(c, "VALIDATION_FAILED", "ValidationError");
		return NULL;
	}
	check_body(doc, &e);
	if (e.bad) {
		cJSON_Delete(doc);
		reply_error(c, 400, "VALIDATION_FAILED", "ValidationError",
		            e.msg);
		return NULL;
	}
	return doc;
}

static void not_found(struct call *c)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "Customer %s was not found", c->id);
	reply_error(c, 404, "CUSTOMER_NOT_FOUND", "NotFoundError", msg);
}

static void taken(struct call *c, const struct customer *dup)
{
	cJSON *e =
	    reply_error(c, 409, "CUSTOMER_EXTERNAL_ID_TAKEN", "ConflictError",
	                "Another customer has this externalId");
	cJSON *args = cJSON_CreateObject();

	if (!e || !args || !cJSON_AddItemToObject(e, "arguments", args)) {
		cJSON_Delete(args);
		return;
	}
	cJSON_AddStringToObject(args, "customerId", dup->id);
	cJSON_AddStringToObject(args, "externalId",
	                        json_str(dup->fields, "externalId"));
}

/* fields after body, derived; NULL with the reply set when refused. */
static cJSON *next_fields(struct call *c, const cJSON *current,
                          const cJSON *body)
{
	cJSON *f =
	    current ? cJSON_Duplicate(current, 1) : cJSON_CreateObject();
	cJSON *e;
	const char *code;
	char msg[256];

	if (!f || !apply_body(f, body)) {
		cJSON_Delete(f);
		reply_oom(&c->r);
		return NULL;
	}
	code = derive(f, msg, sizeof(msg));
	if (!code)
		return f;
	cJSON_Delete(f);
	if (strcmp(code, "INTERNAL") == 0) {
		reply_oom(&c->r);
		return NULL;
	}
	e = reply_error(c, 422, code, "BusinessValidationError", msg);
	if (e)
		cJSON_AddNullToObject(e, "arguments");
	return NULL;
}

static void api_create(struct call *c, const char *ent)
{
	struct customer *cu, *dup;
	cJSON *body, *f;

	if (!allowed(c, SCOPE_CREATE))
		return;
	body = read_body(c);
	if (!body)
		return;
	dup = live_with_external_id(c->a, c->tenant, ent,
	                            json_str(body, "externalId"), NULL);
	if (dup) {
		cJSON_Delete(body);
		taken(c, dup);
		return;
	}
	f = next_fields(c, NULL, body);
	cJSON_Delete(body);
	if (!f)
		return;
	if (!json_set(f, "_enterprise", cJSON_CreateString(ent))) {
		cJSON_Delete(f);
		reply_oom(&c->r);
		return;
	}
	cu = customer_add(c->a, c->tenant, f);
	if (!cu) {
		reply_error(c, 507, "STORE_FULL", "ServerError",
		            "cannot store more customers");
		return;
	}
	reply_data(c, 201, render(cu, response_language(c), false));
}

static struct customer *find(struct call *c, const char *ent, bool live)
{
	struct customer *cu = customer_find(c->a, c->id, c->tenant);

	if (!cu || !mine(cu, c->tenant, ent) ||
	    (live && cJSON_HasObjectItem(cu->fields, "deletedAt"))) {
		not_found(c);
		return NULL;
	}
	return cu;
}

static void api_patch(struct call *c, const char *ent)
{
	struct customer *cu, *dup;
	cJSON *body, *f;

	if (!allowed(c, SCOPE_UPDATE))
		return;
	cu = find(c, ent, true);
	if (!cu)
		return;
	body = read_body(c);
	if (!body)
		return;
	dup = live_with_external_id(c->a, c->tenant, ent,
	                            json_str(body, "externalId"), cu);
	if (dup) {
		cJSON_Delete(body);
		taken(c, dup);
		return;
	}
	f = next_fields(c, cu->fields, body);
	cJSON_Delete(body);
	if (!f)
		return;
	ix_unlink(&c->a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = f;
	ix_link(&c->a->ix, cu);
	customer_touch(c->a, cu);
	reply_data(c, 200, render(cu, response_language(c), false));
}

static void api_delete(struct call *c, const char *ent)
{
	struct customer *cu;
	char now[40];

	if (!allowed(c, SCOPE_DELETE))
		return;
	cu = find(c, ent, true);
	if (!cu)
		return;
	customer_touch(c->a, cu);
	iso(cu->modified_ms, now, sizeof(now));
	if (!json_set(cu->fields, "deletedAt", cJSON_CreateString(now))) {
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, 204, NULL);
}

static void api_get(struct call *c, const char *ent)
{
	struct customer *cu;

	if (!allowed(c, SCOPE_READ))
		return;
	cu = find(c, ent, false);
	if (cu)
		reply_data(c, 200, render(cu, response_language(c), false));
}

static void api_lookup(struct call *c, const char *ent)
{
	const char *ext = MHD_lookup_connection_value(
	    c->conn, MHD_GET_ARGUMENT_KIND, "externalId");
	cJSON *list = cJSON_CreateArray(), *b;
	const char *lang = response_language(c);
	size_t n = 0;

	if (!allowed(c, SCOPE_READ)) {
		cJSON_Delete(list);
		return;
	}
	if (!ext || !*ext) {
		cJSON_Delete(list);
		reply_error(c, 400, "VALIDATION_FAILED", "ValidationError",
		            "the externalId query parameter is required");
		return;
	}
	for (size_t i = 0; list && i < c->a->n_cust && n < MAX_LOOKUP; i++) {
		const struct customer *cu = c->a->cust[i];
		const char *x = json_str(cu->fields, "externalId");

		if (!mine(cu, c->tenant, ent) || !x ||
		    !ids_match(c->a, x, ext))
			continue;
		n++;
		if (!cJSON_AddItemToArray(list, render(cu, lang, false))) {
			cJSON_Delete(list);
			list = NULL;
		}
	}
	b = cJSON_CreateObject();
	if (!list || !b || !cJSON_AddItemToObject(b, "data", list)) {
		cJSON_Delete(list);
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
}

static enum route engage_route(const char *url, const char **id)
{
	const char *p;

	*id = NULL;
	if (strcmp(url, "/oauth/token") == 0)
		return ROUTE_TOKEN;
	if (strncmp(url, ENT_PREFIX, strlen(ENT_PREFIX)) != 0)
		return ROUTE_OTHER;
	p = url + strlen(ENT_PREFIX);
	p += strcspn(p, "/");
	if (p == url + strlen(ENT_PREFIX) || strncmp(p, "/customers", 10) != 0)
		return ROUTE_OTHER;
	p += 10;
	if (*p == '\0')
		return ROUTE_CUSTOMERS;
	if (*p++ != '/' || !*p || strchr(p, '/') || strlen(p) > MAX_ID)
		return ROUTE_OTHER;
	*id = p;
	return ROUTE_CUSTOMER;
}

static void dispatch(struct call *c)
{
	char ent[MAX_ENTERPRISE];

	if (!enterprise_of(c->url, ent, sizeof(ent))) {
		reply_error(c, 404, "NOT_FOUND", "NotFoundError",
		            "no such enterprise");
		return;
	}
	if (c->route == ROUTE_CUSTOMERS) {
		if (method_is(c, MHD_HTTP_METHOD_GET))
			api_lookup(c, ent);
		else if (!method_is(c, MHD_HTTP_METHOD_POST))
			not_allowed(c, "GET, POST");
		else if (!disabled(c))
			api_create(c, ent);
		return;
	}
	if (method_is(c, MHD_HTTP_METHOD_GET))
		api_get(c, ent);
	else if (!method_is(c, MHD_HTTP_METHOD_PATCH) &&
	         !method_is(c, MHD_HTTP_METHOD_DELETE))
		not_allowed(c, "GET, PATCH, DELETE");
	else if (disabled(c))
		return;
	else if (method_is(c, MHD_HTTP_METHOD_PATCH))
		api_patch(c, ent);
	else
		api_delete(c, ent);
}

static void engage_handle(struct call *c)
{
	switch (c->route) {
	case ROUTE_TOKEN:
		handle_token(c);
		return;
	case ROUTE_CUSTOMERS:
	case ROUTE_CUSTOMER:
		dispatch(c);
		break;
	default:
		reply_error(c, 404, "NOT_FOUND", "NotFoundError",
		            "no resource here");
		break;
	}
	if (!c->r.status)
		reply_oom(&c->r);
	count_language(c);
}

/* ---- test controls ---------------------------------------------------- */

/* {"tenant", "enterprise" (default acme), "customer"}: stored as if
 * POSTed, without the checks; what the server derives is derived. */
static void ctl_seed(struct call *c, const cJSON *in)
{
	const char *ent = json_str(in, "enterprise");
	const cJSON *cust = cJSON_GetObjectItemCaseSensitive(in, "customer");
	const char *tenant = control_tenant(c, in);
	struct customer *cu;
	cJSON *f = cJSON_CreateObject();
	char msg[256];

	if (!tenant || !cJSON_IsObject(cust)) {
		cJSON_Delete(f);
		reply_problem(&c->r, 400, "bad-request",
		              "customer (object) is required; tenant must be "
		              "a non-empty string");
		return;
	}
	if (!f || !apply_body(f, cust) ||
	    !json_set(f, "_enterprise",
	              cJSON_CreateString(ent ? ent : "acme"))) {
		cJSON_Delete(f);
		reply_oom(&c->r);
		return;
	}
	/* Seeds may be records the API would refuse: derive what can be. */
	json_set(f, "_tzExplicit",
	         cJSON_CreateBool(json_str(cust, "timeZone") != NULL));
	derive(f, msg, sizeof(msg));
	if (!json_str(f, "timeZone"))
		json_set(f, "timeZone", cJSON_CreateString("UTC"));
	cu = customer_add(c->a, tenant, f);
	if (!cu) {
		reply_problem(&c->r, 507, "store-full",
		              "cannot store more customers");
		return;
	}
	control_ok(c, render(cu, "en", true));
}

/* {"id", "patch"}: an edit by someone else, with PATCH semantics and no
 * checks. */
static void ctl_edit(struct call *c, const cJSON *in)
{
	const char *id = json_str(in, "id");
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(in, "patch");
	struct customer *cu;
	cJSON *f;
	char msg[256];

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
	f = cJSON_Duplicate(cu->fields, 1);
	if (!f || !apply_body(f, patch)) {
		cJSON_Delete(f);
		reply_oom(&c->r);
		return;
	}
	derive(f, msg, sizeof(msg));
	ix_unlink(&c->a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = f;
	ix_link(&c->a->ix, cu);
	customer_touch(c->a, cu);
	control_ok(c, render(cu, "en", true));
}

static cJSON *control_view(const struct app *a, const struct customer *cu)
{
	(void)a;
	return render(cu, "en", true);
}

const struct refapi_profile refapi_engage = {
    .name = "engage",
    .route = engage_route,
    .route_names = engage_route_names,
    .handle = engage_handle,
    .seed = ctl_seed,
    .edit = ctl_edit,
    .control_view = control_view,
};
