/* refapi_portal.c: refapi --profile portal, a manufacturer portal's admin
 * customers API (shared/seeds/002) under /api/admin.
 *
 *   GET    /api/admin/customers?filters&current_page&page_size  read
 *   POST   /api/admin/customers          customer:create, 200 + record
 *   GET    /api/admin/customers/{id}     customer:read
 *   PUT    /api/admin/customers/{id}     customer:update, whole record
 *   DELETE /api/admin/customers/{id}     customer:delete, {"success":1}
 *
 * To the letter: numeric ids; success 1/0; every error is
 * {"success":0,"error":{"messages":[...]}} listing every problem found;
 * name, email, phone and a contact address with a state are mandatory
 * and cannot be cleared; a missing contact address is the first
 * delivery address; an empty delivery_address list is refused ("A
 * delivery address must be specified"); PUT replaces the whole record
 * (omitted optional fields and settings reset); id and manufacturer_id
 * are ignored in bodies; email is unique across every manufacturer;
 * DELETE destroys the record. The server normalises what it stores, as
 * the document's reads show: state, state_code, country and
 * country_code filled in from a small table, one default delivery
 * address (the first flagged, else the first), default_depot_id null
 * (depots are off); list items alternate manufacturer_id and the
 * misspelt manufacturerId of the document's example.
 *
 * Choices the document leaves open (listed in the README's portal
 * section):
 * - A duplicate email answers 409 with "A customer with this email
 *   address already exists" (plus any other problem found); other
 *   refusals 400; auth 401/403, disabled writes 503/429 with
 *   Retry-After, unknown ids 404, all in the same envelope.
 * - The list filters are exact matches (email without regard to case):
 *   id, name, email, phone, cc_email, contact_address.suburb /
 *   .state / .postcode, settings.is_beta / .is_assembly_enabled /
 *   .is_suspended. external_id is not searchable (ignored, like any
 *   unknown parameter). page_size defaults to 10, at most 100.
 * - States known: VIC NSW QLD WA (Australia, AU), NY CA TX (United
 *   States, US), ON (Canada, CA); a given state or country keeps its
 *   spelling, codes are stored in upper case.
 * - Records are kept per tenant (the token's): one manufacturer each.
 */
#define _GNU_SOURCE
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

#define PORTAL_BASE   "/api/admin/customers"
#define MANUFACTURER0 7891
#define PAGE_DEFAULT  10
#define PAGE_MAX      100

static const char *const portal_route_names[ROUTE_MAX] = {
    "other", "/oauth/token", "/customers", "/customers/search",
    "/customers/{id}"};

static const struct {
	const char *code, *name, *country;
} states[] = {
    {"VIC", "Victoria", "AU"},   {"NSW", "New South Wales", "AU"},
    {"QLD", "Queensland", "AU"}, {"WA", "Western Australia", "AU"},
    {"NY", "New York", "US"},    {"CA", "California", "US"},
    {"TX", "Texas", "US"},       {"ON", "Ontario", "CA"},
};

static const struct {
	const char *code, *name;
} countries[] = {
    {"AU", "Australia"}, {"US", "United States"}, {"CA", "Canada"}};

static const char *const settings_keys[] = {"is_beta", "is_assembly_enabled",
                                            "is_suspended"};

/* ---- replies ---------------------------------------------------------- */

/* {"success":0,"error":{"messages":msgs}}; takes msgs. */
static void reply_messages(struct call *c, unsigned status, cJSON *msgs)
{
	cJSON *b = cJSON_CreateObject(), *e = cJSON_CreateObject();

	if (!b || !e || !msgs || !cJSON_AddNumberToObject(b, "success", 0) ||
	    !cJSON_AddItemToObject(b, "error", e)) {
		cJSON_Delete(b);
		cJSON_Delete(e);
		cJSON_Delete(msgs);
		reply_oom(&c->r);
		return;
	}
	if (!cJSON_AddItemToObject(e, "messages", msgs)) {
		cJSON_Delete(msgs);
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, status, b);
}

__attribute__((format(printf, 3, 4))) static void
reply_error(struct call *c, unsigned status, const char *fmt, ...)
{
	char msg[512];
	cJSON *m = cJSON_CreateArray(), *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = cJSON_CreateString(msg);
	if (!m || !s || !cJSON_AddItemToArray(m, s)) {
		cJSON_Delete(s);
		cJSON_Delete(m);
		reply_oom(&c->r);
		return;
	}
	reply_messages(c, status, m);
}

/* The shared helpers answer problem documents: their detail in this
 * API's envelope (Retry-After and WWW-Authenticate are kept). */
static void rewrap(struct call *c)
{
	const char *d = json_str(c->r.body, "detail");
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", d ? d : "error");
	reply_error(c, c->r.status, "%s", msg);
}

static bool allowed(struct call *c, unsigned need)
{
	if (authorize(c, need))
		return true;
	rewrap(c);
	return false;
}

static bool disabled(struct call *c)
{
	if (!writes_disabled(c))
		return false;
	rewrap(c);
	return true;
}

static void msg_add(cJSON *msgs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void msg_add(cJSON *msgs, const char *fmt, ...)
{
	char msg[512];
	cJSON *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s = cJSON_CreateString(msg);
	if (s && !cJSON_AddItemToArray(msgs, s))
		cJSON_Delete(s);
}

/* ---- records: validation and normalisation ---------------------------- */

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

/* A non-blank string member, or NULL. */
static const char *text(const cJSON *o, const char *name)
{
	const char *s = json_str(o, name);

	return s && !blank(s) ? s : NULL;
}

static bool valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || strpbrk(s, " \t,;<>"))
		return false;
	at++;
	return *at && strchr(at, '.') && at[strlen(at) - 1] != '.' &&
	       *at != '.';
}

static char *upper(const char *s)
{
	char *u = strdup(s);

	for (char *p = u; p && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return u;
}

static int find_state(const char *code, const char *name)
{
	for (size_t i = 0; i < N_ELEMS(states); i++)
		if ((code && strcasecmp(code, states[i].code) == 0) ||
		    (name && strcasecmp(name, states[i].name) == 0))
			return (int)i;
	return -1;
}

static int find_country(const char *code, const char *name)
{
	for (size_t i = 0; i < N_ELEMS(countries); i++)
		if ((code && strcasecmp(code, countries[i].code) == 0) ||
		    (name && strcasecmp(name, countries[i].name) == 0))
			return (int)i;
	return -1;
}

static bool put_str(cJSON *o, const char *name, const char *s)
{
	return json_set(o, name,
	                s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static bool put_upper(cJSON *o, const char *name, const char *s)
{
	char *u = upper(s);
	bool ok = u && json_set(o, name, cJSON_CreateString(u));

	free(u);
	return ok;
}

/* An Address as stored: street list, suburb, state, state_code,
 * postcode, country, country_code; the state and country filled in
 * from each other. where prefixes the messages ("" or "Delivery
 * address 2: "). */
static cJSON *address(const cJSON *in, const char *where, cJSON *msgs)
{
	const char *st = text(in, "state"), *sc = text(in, "state_code");
	const char *co = text(in, "country"), *cc = text(in, "country_code");
	const cJSON *street = cJSON_GetObjectItemCaseSensitive(in, "street");
	cJSON *o = cJSON_CreateObject(), *lines = cJSON_CreateArray(), *l;
	int s1 = -1, s2 = -1, c1 = -1, c2 = -1, s = -1, c = -1;
	bool ok = o && lines;

	if (cJSON_IsArray(street)) {
		cJSON_ArrayForEach(l, street)
		{
			if (!cJSON_IsString(l)) {
				msg_add(msgs,
				        "%sstreet must be a list of "
				        "strings",
				        where);
				break;
			}
			ok = ok &&
			     cJSON_AddItemToArray(
			         lines, cJSON_CreateString(l->valuestring));
		}
	} else if (street && !cJSON_IsNull(street)) {
		msg_add(msgs, "%sstreet must be a list of strings", where);
	}
	ok = ok && cJSON_AddItemToObject(o, "street", lines);
	if (!ok)
		cJSON_Delete(lines);
	ok = ok && put_str(o, "suburb", json_str(in, "suburb"));
	if (!st && !sc)
		msg_add(msgs, "%sA state must be specified", where);
	if (sc && (s1 = find_state(sc, NULL)) < 0)
		msg_add(msgs, "%sUnknown state code '%s'", where, sc);
	if (st && (s2 = find_state(NULL, st)) < 0)
		msg_add(msgs, "%sUnknown state '%s'", where, st);
	if (s1 >= 0 && s2 >= 0 && s1 != s2)
		msg_add(msgs, "%sState '%s' does not match state code '%s'",
		        where, st, sc);
	if (cc && (c1 = find_country(cc, NULL)) < 0)
		msg_add(msgs, "%sUnknown country code '%s'", where, cc);
	if (co && (c2 = find_country(NULL, co)) < 0)
		msg_add(msgs, "%sUnknown country '%s'", where, co);
	if (c1 >= 0 && c2 >= 0 && c1 != c2)
		msg_add(msgs,
		        "%sCountry '%s' does not match country code '%s'",
		        where, co, cc);
	s = s1 >= 0 ? s1 : s2;
	c = c1 >= 0 ? c1 : c2;
	if (s >= 0 && c >= 0 &&
	    strcmp(states[s].country, countries[c].code) != 0)
		msg_add(msgs, "%sState '%s' is not in country '%s'", where,
		        st ? st : sc, co ? co : cc);
	if (s >= 0 && c < 0 && !co && !cc)
		c = find_country(states[s].country, NULL);
	ok = ok && put_str(o, "state",
	                   st       ? st
	                   : s >= 0 ? states[s].name
	                            : NULL);
	ok = ok &&
	     (sc ? put_upper(o, "state_code", sc)
	         : put_str(o, "state_code", s >= 0 ? states[s].code : NULL));
	ok = ok && put_str(o, "postcode", json_str(in, "postcode"));
	ok = ok && put_str(o, "country",
	                   co       ? co
	                   : c >= 0 ? countries[c].name
	                            : NULL);
	ok = ok && (cc ? put_upper(o, "country_code", cc)
	               : put_str(o, "country_code",
	                         c >= 0 ? countries[c].code : NULL));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool copy_member(cJSON *to, const cJSON *from, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, name);

	return json_set(to, name,
	                v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

/* delivery_address: the list, each an Address plus external_id, name
 * and default; exactly one default. NULL with a message when refused. */
static cJSON *deliveries(const cJSON *in, cJSON *msgs)
{
	cJSON *out = cJSON_CreateArray(), *a;
	const cJSON *e;
	int i = 0, def = -1;
	char where[64];

	if (!out)
		return NULL;
	if (!in || cJSON_IsNull(in))
		return out;
	if (!cJSON_IsArray(in)) {
		msg_add(msgs, "delivery_address must be a list");
		return out;
	}
	if (cJSON_GetArraySize(in) == 0)
		msg_add(msgs, "A delivery address must be specified");
	cJSON_ArrayForEach(e, in)
	{
		i++;
		snprintf(where, sizeof(where), "Delivery address %d: ", i);
		if (!cJSON_IsObject(e)) {
			msg_add(msgs, "%smust be an object", where);
			continue;
		}
		a = address(e, where, msgs);
		if (!a || !copy_member(a, e, "external_id") ||
		    !copy_member(a, e, "name") ||
		    !cJSON_AddItemToArray(out, a)) {
			cJSON_Delete(a);
			cJSON_Delete(out);
			return NULL;
		}
		if (def < 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		                   e, "default")))
			def = i - 1;
	}
	if (def < 0)
		def = 0;
	i = 0;
	cJSON_ArrayForEach(a, out)
	{
		if (!cJSON_AddBoolToObject(a, "default", i == def)) {
			cJSON_Delete(out);
			return NULL;
		}
		i++;
	}
	return out;
}

static bool number_member(cJSON *out, const cJSON *in, const char *name,
                          cJSON *msgs)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, name);

	if (v && !cJSON_IsNull(v) && !cJSON_IsNumber(v))
		msg_add(msgs, "%s must be a number", name);
	return cJSON_AddNumberToObject(
	           out, name, cJSON_IsNumber(v) ? v->valuedouble : 0) != NULL;
}

static bool settings(cJSON *out, const cJSON *in, cJSON *msgs)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(in, "settings");
	cJSON *o = cJSON_AddObjectToObject(out, "settings");

	if (s && !cJSON_IsNull(s) && !cJSON_IsObject(s))
		msg_add(msgs, "settings must be an object");
	for (size_t i = 0; o && i < N_ELEMS(settings_keys); i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(s, settings_keys[i]);

		if (v && !cJSON_IsNull(v) && !cJSON_IsBool(v))
			msg_add(msgs, "settings.%s must be a boolean",
			        settings_keys[i]);
		if (!cJSON_AddBoolToObject(o, settings_keys[i],
		                           cJSON_IsTrue(v)))
			return false;
	}
	return o != NULL;
}

/* The record a POST or PUT body makes (the whole record: what is
 * omitted is reset), normalised; every problem is added to msgs. NULL
 * when memory runs out. id, manufacturer_id and unknown members are
 * ignored. */
static cJSON *build_record(const cJSON *in, cJSON *msgs)
{
	static const char *const required[][2] = {
	    {"name", "Name is required"},
	    {"email", "Email address is required"},
	    {"phone", "Phone number is required"}};
	const cJSON *ca =
	    cJSON_GetObjectItemCaseSensitive(in, "contact_address");
	const cJSON *labels =
	    cJSON_GetObjectItemCaseSensitive(in, "customer_labels");
	const char *email = text(in, "email"), *cc = text(in, "cc_email");
	cJSON *o = cJSON_CreateObject(), *d, *contact;
	bool ok = o != NULL;

	for (size_t i = 0; i < N_ELEMS(required); i++) {
		const char *s = text(in, required[i][0]);

		if (!s)
			msg_add(msgs, "%s", required[i][1]);
		ok = ok && put_str(o, required[i][0], s);
	}
	if (email && !valid_email(email))
		msg_add(msgs, "Invalid email address");
	if (cc && !valid_email(cc))
		msg_add(msgs, "Invalid CC email address");
	ok = ok && put_str(o, "mobile", text(in, "mobile"));
	ok = ok && put_str(o, "cc_email", cc);
	ok = ok && number_member(o, in, "price_adjustment", msgs) &&
	     number_member(o, in, "minimum_charge_amount", msgs) &&
	     number_member(o, in, "minimum_freight_amount", msgs);
	d = ok ? deliveries(
	             cJSON_GetObjectItemCaseSensitive(in, "delivery_address"),
	             msgs)
	       : NULL;
	ok = ok && d;
	/* "if a contact address isn't specified and delivery addresses
	 * are, the first delivery address will be used" */
	if (ok && cJSON_IsObject(ca)) {
		contact = address(ca, "", msgs);
	} else if (ok && cJSON_GetArraySize(d) > 0) {
		contact = cJSON_Duplicate(cJSON_GetArrayItem(d, 0), 1);
		cJSON_DeleteItemFromObjectCaseSensitive(contact,
		                                        "external_id");
		cJSON_DeleteItemFromObjectCaseSensitive(contact, "name");
		cJSON_DeleteItemFromObjectCaseSensitive(contact, "default");
	} else {
		if (ok)
			msg_add(msgs, "A contact address must be specified");
		contact = ok ? cJSON_CreateNull() : NULL;
	}
	ok = ok && json_set(o, "contact_address", contact);
	ok = ok && json_set(o, "delivery_address", d);
	/* Depots are off: the default depot is ignored. */
	ok = ok && cJSON_AddNullToObject(o, "default_depot_id");
	ok = ok && copy_member(o, in, "external_id");
	if (ok && cJSON_IsArray(labels))
		ok =
		    json_set(o, "customer_labels", cJSON_Duplicate(labels, 1));
	ok = ok && settings(o, in, msgs);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- the store -------------------------------------------------------- */

static int64_t manufacturer_of(const struct app *a, const char *tenant)
{
	for (size_t i = 0; i < a->n_tenants; i++)
		if (a->tenants[i] == tenant)
			return MANUFACTURER0 + (int64_t)i;
	return MANUFACTURER0;
}

/* The record as the API shows it. misspelt: the document's second list
 * item says manufacturerId. control adds Tenant. */
static cJSON *render(const struct app *a, const struct customer *cu,
                     bool misspelt, bool control)
{
	cJSON *o = cJSON_CreateObject(), *f;
	const cJSON *m;
	bool ok = o && cJSON_AddNumberToObject(o, "id", (double)cu->seq) &&
	          cJSON_AddNumberToObject(
	              o, misspelt ? "manufacturerId" : "manufacturer_id",
	              (double)manufacturer_of(a, cu->tenant));

	cJSON_ArrayForEach(m, cu->fields)
	{
		if (!ok)
			break;
		f = cJSON_Duplicate(m, 1);
		ok = f && cJSON_AddItemToObject(o, m->string, f);
		if (!ok)
			cJSON_Delete(f);
	}
	if (ok && control)
		ok = cJSON_AddStringToObject(o, "Tenant", cu->tenant) != NULL;
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void reply_customer(struct call *c, const struct customer *cu)
{
	cJSON *b = cJSON_CreateObject(), *r = render(c->a, cu, false, false);

	if (!b || !r || !cJSON_AddNumberToObject(b, "success", 1) ||
	    !cJSON_AddItemToObject(b, "customer", r)) {
		cJSON_Delete(r);
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
}

/* "c-000042" for 42: the store's spelling of the API's numeric id. */
static struct customer *find(struct app *a, const char *id, const char *tenant)
{
	char canon[32];
	uint64_t n = 0;

	if (!id || !*id || strlen(id) > 18)
		return NULL;
	for (const char *p = id; *p; p++) {
		if (*p < '0' || *p > '9')
			return NULL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	snprintf(canon, sizeof(canon), "c-%06" PRIu64, n);
	return customer_find(a, canon, tenant);
}

/* Email is unique across every manufacturer (it is the login). */
static const struct customer *email_holder(const struct app *a,
                                           const char *email,
                                           const struct customer *self)
{
	for (size_t i = 0; email && i < a->n_cust; i++) {
		const char *e = json_str(a->cust[i]->fields, "email");

		if (a->cust[i] != self && e && strcasecmp(e, email) == 0)
			return a->cust[i];
	}
	return NULL;
}

static void replace_fields(struct app *a, struct customer *cu, cJSON *f)
{
	ix_unlink(&a->ix, cu);
	cJSON_Delete(cu->fields);
	cu->fields = f;
	ix_link(&a->ix, cu);
	customer_touch(a, cu);
}

/* DELETE destroys the record (the store keeps creation order). */
static void destroy(struct app *a, struct customer *cu)
{
	for (size_t i = 0; i < a->n_cust; i++) {
		if (a->cust[i] != cu)
			continue;
		ix_unlink(&a->ix, cu);
		memmove(&a->cust[i], &a->cust[i + 1],
		        (a->n_cust - i - 1) * sizeof(a->cust[0]));
		a->n_cust--;
		cJSON_Delete(cu->fields);
		free(cu);
		return;
	}
}

/* ---- the API ---------------------------------------------------------- */

static cJSON *body_object(struct call *c)
{
	cJSON *doc;

	if (!media_type_is(call_header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
	                   "application/json")) {
		reply_error(c, 415, "Content-Type must be application/json");
		return NULL;
	}
	doc = json_parse_exact(c->body, c->len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		reply_error(c, 400,
		            "The request must be a single Customer "
		            "record (a JSON object)");
		return NULL;
	}
	return doc;
}

/* The record of a POST or PUT body, or NULL with the reply set: 409
 * when the email is taken (with every other problem too), else 400. */
static cJSON *accept_record(struct call *c, const struct customer *self)
{
	cJSON *doc = body_object(c), *msgs, *f;
	bool taken;

	if (!doc)
		return NULL;
	msgs = cJSON_CreateArray();
	f = msgs ? build_record(doc, msgs) : NULL;
	cJSON_Delete(doc);
	if (!f) {
		cJSON_Delete(msgs);
		reply_oom(&c->r);
		return NULL;
	}
	taken = email_holder(c->a, json_str(f, "email"), self) != NULL;
	if (taken)
		msg_add(msgs, "A customer with this email address already "
		              "exists");
	if (cJSON_GetArraySize(msgs) > 0) {
		cJSON_Delete(f);
		reply_messages(c, taken ? 409 : 400, msgs);
		return NULL;
	}
	cJSON_Delete(msgs);
	return f;
}

static void api_create(struct call *c)
{
	struct customer *cu;
	cJSON *f;

	if (disabled(c) || !allowed(c, SCOPE_CREATE))
		return;
	f = accept_record(c, NULL);
	if (!f)
		return;
	cu = customer_add(c->a, c->tenant, f);
	if (!cu) {
		reply_error(c, 507, "Cannot store more customers");
		return;
	}
	reply_customer(c, cu);
}

static struct customer *find_or_404(struct call *c)
{
	struct customer *cu = find(c->a, c->id, c->tenant);

	if (!cu)
		reply_error(c, 404, "Customer not found");
	return cu;
}

static void api_get(struct call *c)
{
	struct customer *cu;

	if (!allowed(c, SCOPE_READ))
		return;
	cu = find_or_404(c);
	if (cu)
		reply_customer(c, cu);
}

static void api_put(struct call *c)
{
	struct customer *cu;
	cJSON *f;

	if (disabled(c) || !allowed(c, SCOPE_UPDATE))
		return;
	cu = find_or_404(c);
	if (!cu)
		return;
	f = accept_record(c, cu);
	if (!f)
		return;
	replace_fields(c->a, cu, f);
	reply_customer(c, cu);
}

static void api_delete(struct call *c)
{
	struct customer *cu;
	cJSON *b;

	if (disabled(c) || !allowed(c, SCOPE_DELETE))
		return;
	cu = find_or_404(c);
	if (!cu)
		return;
	destroy(c->a, cu);
	b = cJSON_CreateObject();
	if (!b || !cJSON_AddNumberToObject(b, "success", 1)) {
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
}

static const char *arg(const struct call *c, const char *name)
{
	return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND,
	                                   name);
}

/* A whole number in [1, 1e9], or -1. */
static int64_t positive(const char *s)
{
	int64_t n = 0;

	if (!s || !*s || strlen(s) > 9)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n >= 1 ? n : -1;
}

/* The documented filters, exact (email without regard to case). */
static bool matches(const struct call *c, const struct customer *cu)
{
	static const char *const plain[] = {"name", "phone", "cc_email"};
	static const char *const addr[] = {"suburb", "state", "postcode"};
	const cJSON *ca =
	    cJSON_GetObjectItemCaseSensitive(cu->fields, "contact_address");
	const cJSON *st =
	    cJSON_GetObjectItemCaseSensitive(cu->fields, "settings");
	const char *v, *mine;
	char key[64], num[32];

	v = arg(c, "id");
	snprintf(num, sizeof(num), "%" PRIu64, cu->seq);
	if (v && strcmp(v, num) != 0)
		return false;
	v = arg(c, "email");
	mine = json_str(cu->fields, "email");
	if (v && (!mine || strcasecmp(v, mine) != 0))
		return false;
	for (size_t i = 0; i < N_ELEMS(plain); i++) {
		v = arg(c, plain[i]);
		mine = json_str(cu->fields, plain[i]);
		if (v && (!mine || strcmp(v, mine) != 0))
			return false;
	}
	for (size_t i = 0; i < N_ELEMS(addr); i++) {
		snprintf(key, sizeof(key), "contact_address.%s", addr[i]);
		v = arg(c, key);
		mine = json_str(ca, addr[i]);
		if (v && (!mine || strcmp(v, mine) != 0))
			return false;
	}
	for (size_t i = 0; i < N_ELEMS(settings_keys); i++) {
		snprintf(key, sizeof(key), "settings.%s", settings_keys[i]);
		v = arg(c, key);
		if (v &&
		    strcmp(v, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		                  st, settings_keys[i]))
		                  ? "true"
		                  : "false") != 0 &&
		    strcmp(v, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		                  st, settings_keys[i]))
		                  ? "1"
		                  : "0") != 0)
			return false;
	}
	return true;
}

static void api_list(struct call *c)
{
	const char *cp = arg(c, "current_page"), *ps = arg(c, "page_size");
	int64_t page = cp ? positive(cp) : 1,
	        size = ps ? positive(ps) : PAGE_DEFAULT;
	cJSON *b, *items, *pg, *msgs;
	size_t total = 0, from, shown = 0;
	bool ok;

	if (!allowed(c, SCOPE_READ))
		return;
	if (page < 0 || size < 0) {
		msgs = cJSON_CreateArray();
		if (msgs && page < 0)
			msg_add(msgs, "current_page must be a whole number "
			              "of at least 1");
		if (msgs && size < 0)
			msg_add(msgs, "page_size must be a whole number of "
			              "at least 1");
		reply_messages(c, 400, msgs);
		return;
	}
	if (size > PAGE_MAX)
		size = PAGE_MAX;
	from = (size_t)((page - 1) * size);
	b = cJSON_CreateObject();
	items = cJSON_CreateArray();
	ok = b && items && cJSON_AddNumberToObject(b, "success", 1) &&
	     cJSON_AddItemToObject(b, "items", items);
	if (!ok)
		cJSON_Delete(items);
	for (size_t i = 0; ok && i < c->a->n_cust; i++) {
		const struct customer *cu = c->a->cust[i];

		if (cu->tenant != c->tenant || !matches(c, cu))
			continue;
		if (total >= from && total < from + (size_t)size) {
			ok = cJSON_AddItemToArray(
			    items, render(c->a, cu, shown % 2 == 1, false));
			shown++;
		}
		total++;
	}
	pg = ok ? cJSON_AddObjectToObject(b, "pagination") : NULL;
	ok = pg && cJSON_AddNumberToObject(pg, "current_page", (double)page) &&
	     cJSON_AddNumberToObject(
	         pg, "page_count",
	         (double)((total + (size_t)size - 1) / (size_t)size)) &&
	     cJSON_AddNumberToObject(pg, "page_size", (double)size) &&
	     cJSON_AddNumberToObject(pg, "total_count", (double)total);
	if (!ok) {
		cJSON_Delete(b);
		reply_oom(&c->r);
		return;
	}
	reply_body(&c->r, 200, b);
}

static enum route portal_route(const char *url, const char **id)
{
	static const char base[] = PORTAL_BASE;

	*id = NULL;
	if (strcmp(url, "/oauth/token") == 0)
		return ROUTE_TOKEN;
	if (strncmp(url, base, sizeof(base) - 1) != 0)
		return ROUTE_OTHER;
	url += sizeof(base) - 1;
	if (*url == '\0')
		return ROUTE_CUSTOMERS;
	if (*url++ != '/' || !*url || strchr(url, '/') || strlen(url) > MAX_ID)
		return ROUTE_OTHER;
	*id = url;
	return ROUTE_CUSTOMER;
}

static void portal_handle(struct call *c)
{
	switch (c->route) {
	case ROUTE_TOKEN:
		handle_token(c);
		return;
	case ROUTE_CUSTOMERS:
		if (method_is(c, MHD_HTTP_METHOD_GET))
			api_list(c);
		else if (method_is(c, MHD_HTTP_METHOD_POST))
			api_create(c);
		else {
			not_allowed(c, "GET, POST");
			rewrap(c);
		}
		break;
	case ROUTE_CUSTOMER:
		if (method_is(c, MHD_HTTP_METHOD_GET))
			api_get(c);
		else if (method_is(c, MHD_HTTP_METHOD_PUT))
			api_put(c);
		else if (method_is(c, MHD_HTTP_METHOD_DELETE))
			api_delete(c);
		else {
			not_allowed(c, "GET, PUT, DELETE");
			rewrap(c);
		}
		break;
	default:
		reply_error(c, 404, "No resource at %s", c->url);
		break;
	}
	if (!c->r.status)
		reply_oom(&c->r);
}

/* ---- test controls ---------------------------------------------------- */

/* {"tenant", "customer"}: stored as the API would normalise it, without
 * refusing anything (seeds may be records the API would refuse, e.g. a
 * duplicate email). */
static void ctl_seed(struct call *c, const cJSON *in)
{
	const cJSON *cust = cJSON_GetObjectItemCaseSensitive(in, "customer");
	const char *tenant = control_tenant(c, in);
	struct customer *cu;
	cJSON *msgs, *f;

	if (!tenant || !cJSON_IsObject(cust)) {
		reply_problem(&c->r, 400, "bad-request",
		              "customer (object) is required; tenant must be "
		              "a non-empty string");
		return;
	}
	msgs = cJSON_CreateArray();
	f = msgs ? build_record(cust, msgs) : NULL;
	cJSON_Delete(msgs);
	if (!f) {
		reply_oom(&c->r);
		return;
	}
	cu = customer_add(c->a, tenant, f);
	if (!cu) {
		reply_problem(&c->r, 507, "store-full",
		              "cannot store more customers");
		return;
	}
	control_ok(c, render(c->a, cu, false, true));
}

/* {"id", "patch"}: an edit by someone else: the patch merged into the
 * record (RFC 7396), normalised, nothing refused. */
static void ctl_edit(struct call *c, const cJSON *in)
{
	const cJSON *idv = cJSON_GetObjectItemCaseSensitive(in, "id");
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(in, "patch");
	struct customer *cu = NULL;
	cJSON *merged, *msgs, *f;
	char id[32];

	if (cJSON_IsNumber(idv))
		snprintf(id, sizeof(id), "%.0f", idv->valuedouble);
	else
		snprintf(id, sizeof(id), "%s",
		         cJSON_IsString(idv) ? idv->valuestring : "");
	if (!cJSON_IsObject(patch)) {
		reply_problem(&c->r, 400, "bad-request",
		              "id and patch (object) are required");
		return;
	}
	cu = find(c->a, id, NULL);
	if (!cu) {
		reply_problem(&c->r, 404, "not-found", "customer %s not found",
		              id);
		return;
	}
	merged = merge_patch_apply(cu->fields, patch);
	msgs = cJSON_CreateArray();
	f = merged && msgs ? build_record(merged, msgs) : NULL;
	cJSON_Delete(merged);
	cJSON_Delete(msgs);
	if (!f) {
		reply_oom(&c->r);
		return;
	}
	replace_fields(c->a, cu, f);
	control_ok(c, render(c->a, cu, false, true));
}

static cJSON *control_view(const struct app *a, const struct customer *cu)
{
	return render(a, cu, false, true);
}

const struct refapi_profile refapi_portal = {
    .name = "portal",
    .route = portal_route,
    .route_names = portal_route_names,
    .handle = portal_handle,
    .seed = ctl_seed,
    .edit = ctl_edit,
    .control_view = control_view,
};
