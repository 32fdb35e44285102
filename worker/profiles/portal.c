/* Profile "portal": a manufacturer portal's admin customers API
 * (shared/seeds/002), under target.base_url (e.g. .../api/admin).
 *
 *   POST   /customers        create (200, {"success":1,"customer":{..}})
 *   GET    /customers/{id}   one customer
 *   PUT    /customers/{id}   the whole record: omitted fields reset
 *   DELETE /customers/{id}   destroys the customer and its jobs
 *   GET    /customers?...    the list: search filters + pagination
 *
 * Errors are {"success":0,"error":{"messages":[...]}}; every message is
 * reported. The API has no concurrency token, so every write is GET,
 * merge, PUT of the whole record; one key's writes are strictly serial
 * in custsync, which is all a client can do.
 *
 * The comparable ("projected") shape is the API's, with three changes
 * that make "unchanged" mean what a user means:
 *   - delivery_address is an object {"count": n, "0": {..}, ..}: as an
 *     array a merge patch would replace it whole and lose what the
 *     server fills in (country, codes); as an object each address is
 *     merged member by member;
 *   - values are normalised (empty strings and lists dropped, codes
 *     upper case, email lower case, one default delivery address);
 *   - server-owned fields (id, manufacturer_id, default_depot_id,
 *     cc_email, prices, the other settings) are left out; a PUT copies
 *     them back from the record as read. */
#define _GNU_SOURCE /* strcasestr */
#include "config/config.h"
#include "config/table.h"
#include "core/event.h"
#include "core/merge_patch.h"
#include "profiles/kit.h"
#include "profiles/profile.h"
#include "core/request.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_TYPE      "application/json"
#define COLLECTION     "/customers"
#define LIST_PAGE_SIZE 100
#define COUNT          "count"
#define MAX_DELIVERY   1000

#define SCOPE_READ   "customer:read"
#define SCOPE_CREATE "customer:create"
#define SCOPE_UPDATE "customer:update"
#define SCOPE_DELETE "customer:delete"

/* canonical address member -> API address member */
static const struct {
	const char *from, *to;
} address_map[] = {
    {"street", "street"},
    {"city", "suburb"},
    {"state", "state"},
    {"state_code", "state_code"},
    {"postal_code", "postcode"},
    {"country", "country"},
    {"country_code", "country_code"},
};
#define N_ADDRESS (sizeof(address_map) / sizeof(address_map[0]))

/* Members the server derives from each other (document: "*_code fields
 * can be specified instead of the state or country"). */
static const char *const derived[] = {"state", "state_code", "country",
                                      "country_code"};
#define N_DERIVED (sizeof(derived) / sizeof(derived[0]))

/* Top-level members of the projected shape that a PUT writes. */
static const char *const scalars[] = {"name", "email", "phone", "mobile",
                                      "external_id"};
#define N_SCALARS (sizeof(scalars) / sizeof(scalars[0]))

/* ---- small helpers ---------------------------------------------------- */

/* Replaces (or adds) name in out. */
static int set(cJSON *out, const char *name, cJSON *value)
{
	if (!value)
		return -ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(out, name)) {
		if (!cJSON_ReplaceItemInObjectCaseSensitive(out, name,
		                                            value)) {
			cJSON_Delete(value);
			return -ENOMEM;
		}
		return 0;
	}
	return profile_put(out, name, value);
}

/* Non-blank lines of a street list, or NULL when there are none. */
static cJSON *street_lines(const cJSON *v)
{
	cJSON *out, *s;
	const cJSON *line;

	if (cJSON_IsString(v) && !profile_blank_isspace(v->valuestring)) {
		out = cJSON_CreateArray();
		s = cJSON_CreateString(v->valuestring);
		if (!out || !s || !cJSON_AddItemToArray(out, s)) {
			cJSON_Delete(s);
			cJSON_Delete(out);
			return NULL;
		}
		return out;
	}
	if (!cJSON_IsArray(v))
		return NULL;
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(line, v)
	{
		if (!out)
			break;
		if (!cJSON_IsString(line) ||
		    profile_blank_isspace(line->valuestring))
			continue;
		s = cJSON_CreateString(line->valuestring);
		if (!s || !cJSON_AddItemToArray(out, s)) {
			cJSON_Delete(s);
			cJSON_Delete(out);
			out = NULL;
		}
	}
	if (out && cJSON_GetArraySize(out) == 0) {
		cJSON_Delete(out);
		out = NULL;
	}
	return out;
}

/* The id of a record: the document shows a number; a string is kept. */
static char *id_of(const cJSON *rec)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "id");
	char buf[32];

	if (cJSON_IsString(v) && v->valuestring[0])
		return strdup(v->valuestring);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 9007199254740992.0)
		return NULL;
	snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
	return strdup(buf);
}

/* A string member that is not blank, or NULL. */
static const char *filled(const cJSON *obj, const char *name)
{
	const char *s = profile_str(obj, name);

	return s && !profile_blank_isspace(s) ? s : NULL;
}

static bool is_code(const char *name)
{
	return strcmp(name, "state_code") == 0 ||
	       strcmp(name, "country_code") == 0;
}

/* ---- canonical -> projected ------------------------------------------ */

/* One canonical address into the API's members. A contact address is a
 * merge patch like the rest of the event: absent members stay absent.
 * A delivery address is a whole item (the event's list replaces the
 * list): members the ERP owns are null when absent so they clear; the
 * derived ones (state, codes, country) stay absent so the server's
 * filled-in values survive the merge. */
static int map_address(const cJSON *a, bool whole, cJSON **out)
{
	cJSON *o = cJSON_CreateObject();
	int rc = 0;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < N_ADDRESS && !rc; i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(a, address_map[i].from);
		bool derive = i >= 2 && i != 4;
		cJSON *lines;

		if (!v && (!whole || derive))
			continue;
		if (i == 0) {
			lines = street_lines(v);
			rc = profile_put(o, "street",
			                 lines ? lines : cJSON_CreateNull());
		} else {
			rc = profile_put(o, address_map[i].to,
			                 profile_copy_nonempty(v));
		}
	}
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* DECISION: the ERP's delivery list is the whole truth. Exactly one
 * address is the default: the first the ERP flags, else the first one,
 * as the API itself does. Returns the flagged index. */
static int default_index(const cJSON *list)
{
	const cJSON *e;
	int i = 0;

	cJSON_ArrayForEach(e, list)
	{
		if (cJSON_IsTrue(
		        cJSON_GetObjectItemCaseSensitive(e, "default")))
			return i;
		i++;
	}
	return 0;
}

static int map_deliveries(const cJSON *list, cJSON **out)
{
	const cJSON *e;
	cJSON *o, *item;
	char idx[16];
	int i = 0, def = default_index(list), rc = 0;

	*out = NULL;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
		*out = cJSON_CreateNull();
		return *out ? 0 : -ENOMEM;
	}
	o = cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	cJSON_ArrayForEach(e, list)
	{
		if (i == MAX_DELIVERY)
			break;
		rc = map_address(e, true, &item);
		if (!rc)
			rc = profile_put(
			    item, "name",
			    profile_copy_nonempty(
			        cJSON_GetObjectItemCaseSensitive(e, "name")));
		if (!rc)
			rc = profile_put(item, "external_id",
			                 profile_copy_nonempty(
			                     cJSON_GetObjectItemCaseSensitive(
			                         e, "external_id")));
		if (!rc)
			rc = profile_put(item, "default",
			                 cJSON_CreateBool(i == def));
		snprintf(idx, sizeof(idx), "%d", i);
		if (!rc)
			rc = profile_put(o, idx, item);
		else
			cJSON_Delete(item);
		if (rc)
			break;
		i++;
	}
	if (!rc)
		rc = profile_put(o, COUNT, cJSON_CreateNumber(i));
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* The contact address of an event: its billing_address; when that is
 * null and the event has delivery addresses, the first of them, as the
 * document says the API does for a missing contact address. */
static int map_contact(const cJSON *c, cJSON *o)
{
	const cJSON *b =
	    cJSON_GetObjectItemCaseSensitive(c, "billing_address");
	const cJSON *d = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(c, "delivery_addresses"), 0);
	cJSON *a;
	int rc;

	if (!b)
		return 0;
	if (cJSON_IsObject(b))
		rc = map_address(b, false, &a);
	else if (cJSON_IsObject(d))
		rc = map_address(d, false, &a);
	else
		return profile_put(o, "contact_address", cJSON_CreateNull());
	return rc ? rc : profile_put(o, "contact_address", a);
}

/* DECISION: status inactive suspends the customer (settings.is_suspended
 * true), active and null (the API's default when settings are omitted)
 * do not. */
static int map_status(const cJSON *c, cJSON *o)
{
	const char *s = profile_str(c, "status");
	cJSON *settings;

	if (!cJSON_HasObjectItem(c, "status"))
		return 0;
	settings = cJSON_CreateObject();
	if (profile_put(o, "settings", settings))
		return -ENOMEM;
	return profile_put(settings, "is_suspended",
	                   cJSON_CreateBool(s && strcmp(s, "inactive") == 0));
}

/* DECISION: not mapped, for want of a field: type, number, fax,
 * company, contact, language, time_zone, notes, and email/phone/mobile
 * beyond the first (cc_email is not a second address: the portal CCs
 * every mail to it, so it stays the portal's). */
static int portal_map(const struct config *cfg, const struct change *ch,
                      cJSON **out, struct profile_error *err)
{
	static const struct {
		const char *from, *to;
	} lists[] = {
	    {"email", "email"}, {"phone", "phone"}, {"mobile", "mobile"}};
	const cJSON *c = ch->customer;
	cJSON *o = cJSON_CreateObject(), *d;
	int rc = 0;

	(void)cfg;
	if (!o)
		goto oom;
	if (cJSON_HasObjectItem(c, "name"))
		rc = profile_put(
		    o, "name",
		    profile_copy_nonempty(
		        cJSON_GetObjectItemCaseSensitive(c, "name")));
	/* The API holds one email, phone and mobile: an ERP list gives its
	 * first element; an empty list or null clears. */
	for (size_t i = 0; i < 3 && !rc; i++)
		if (cJSON_HasObjectItem(c, lists[i].from))
			rc = profile_put(o, lists[i].to,
			                 profile_copy_nonempty(profile_first(
			                     cJSON_GetObjectItemCaseSensitive(
			                         c, lists[i].from))));
	/* DECISION: external_id always carries the customer key (the only
	 * place the key can be found again); the ERP's own external_id has
	 * no field of its own and is not sent. */
	if (!rc && ch->op != CHANGE_DELETE)
		rc =
		    profile_put(o, "external_id", cJSON_CreateString(ch->key));
	if (!rc)
		rc = map_status(c, o);
	if (!rc)
		rc = map_contact(c, o);
	if (!rc && cJSON_HasObjectItem(c, "delivery_addresses")) {
		rc = map_deliveries(
		    cJSON_GetObjectItemCaseSensitive(c, "delivery_addresses"),
		    &d);
		if (!rc)
			rc = profile_put(o, "delivery_address", d);
	}
	return profile_mapped(o, rc, out, err);
oom:
	return profile_mapped(o, -ENOMEM, out, err);
}

/* ---- validation ------------------------------------------------------- */

static bool has_state(const cJSON *a)
{
	const char *s = profile_str(a, "state");
	const char *code = profile_str(a, "state_code");

	return (s && !profile_blank_isspace(s)) ||
	       (code && !profile_blank_isspace(code));
}

/* The document: "Mandatory fields are required to be present and
 * non-blank on creation and cannot be cleared or unset when updating";
 * an address must name its state. DECISION: email syntax is left to
 * the API, whose rules the document does not give (its message is
 * kept). */
static int portal_validate(const cJSON *doc, bool creating,
                           struct profile_error *err)
{
	static const char *const required[] = {"name", "email", "phone"};
	const cJSON *contact =
	    cJSON_GetObjectItemCaseSensitive(doc, "contact_address");
	const cJSON *deliveries =
	    cJSON_GetObjectItemCaseSensitive(doc, "delivery_address");
	const cJSON *first = cJSON_GetObjectItemCaseSensitive(deliveries, "0");
	const cJSON *m;

	for (size_t i = 0; i < 3; i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(doc, required[i]);

		if (cJSON_IsNull(v))
			return profile_refuse(err, NULL,
			                      "%s is mandatory and cannot be "
			                      "cleared",
			                      required[i]);
		if (creating && !v)
			return profile_refuse(err, NULL,
			                      "%s is mandatory on create",
			                      required[i]);
		if (cJSON_IsString(v) && profile_blank_isspace(v->valuestring))
			return profile_refuse(
			    err, NULL, "%s must not be blank", required[i]);
	}
	if (cJSON_IsNull(contact))
		return profile_refuse(err, NULL,
		                      "%s is mandatory and cannot be cleared",
		                      "contact_address");
	if (creating && !contact && !cJSON_IsObject(first))
		return profile_refuse(err, NULL,
		                      "%s is mandatory on create (a billing "
		                      "address or a delivery address)",
		                      "contact_address");
	if (creating && !has_state(contact ? contact : first))
		return profile_refuse(err, NULL,
		                      "%s must have a state or state_code",
		                      "contact_address");
	if (cJSON_IsObject(contact) &&
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(contact, "state")) &&
	    cJSON_IsNull(
	        cJSON_GetObjectItemCaseSensitive(contact, "state_code")))
		return profile_refuse(err, NULL,
		                      "%s: the state cannot be cleared",
		                      "contact_address");
	if (!cJSON_IsObject(deliveries))
		deliveries = NULL;
	cJSON_ArrayForEach(m, deliveries)
	{
		if (!cJSON_IsObject(m))
			continue;
		if ((creating && !has_state(m)) ||
		    (cJSON_IsNull(
		         cJSON_GetObjectItemCaseSensitive(m, "state")) &&
		     cJSON_IsNull(
		         cJSON_GetObjectItemCaseSensitive(m, "state_code"))))
			return profile_refuse(
			    err, NULL,
			    "delivery address %s must have a state "
			    "or state_code",
			    m->string);
	}
	return 0;
}

/* ---- projection ------------------------------------------------------- */

static int add_upper(cJSON *o, const char *name, const char *s)
{
	char *u = strdup(s);
	int rc;

	if (!u)
		return -ENOMEM;
	for (char *p = u; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	rc = profile_put(o, name, cJSON_CreateString(u));
	free(u);
	return rc;
}

static int add_lower(cJSON *o, const char *name, const char *s)
{
	char *u = strdup(s);
	int rc;

	if (!u)
		return -ENOMEM;
	for (char *p = u; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	rc = profile_put(o, name, cJSON_CreateString(u));
	free(u);
	return rc;
}

/* An address normalised: blank members dropped, codes upper case;
 * delivery addresses keep name and external_id (default is set by the
 * caller). */
static cJSON *norm_address(const cJSON *a, bool delivery)
{
	static const char *const extra[] = {"name", "external_id"};
	cJSON *o = cJSON_CreateObject(), *lines;
	int rc = 0;

	if (!o)
		return NULL;
	lines = street_lines(cJSON_GetObjectItemCaseSensitive(a, "street"));
	if (lines)
		rc = profile_put(o, "street", lines);
	for (size_t i = 1; i < N_ADDRESS && !rc; i++) {
		const char *name = address_map[i].to;
		const char *s = profile_str(a, name);

		if (!s || profile_blank_isspace(s))
			continue;
		rc = is_code(name)
		         ? add_upper(o, name, s)
		         : profile_put(o, name, cJSON_CreateString(s));
	}
	for (size_t i = 0; delivery && i < 2 && !rc; i++) {
		const char *s = profile_str(a, extra[i]);

		if (s && !profile_blank_isspace(s))
			rc = profile_put(o, extra[i], cJSON_CreateString(s));
	}
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Item i of a delivery list in either shape (API array, or projected
 * object with "count"). */
static const cJSON *delivery_item(const cJSON *d, int i)
{
	char idx[16];

	if (cJSON_IsArray(d))
		return cJSON_GetArrayItem(d, i);
	snprintf(idx, sizeof(idx), "%d", i);
	return cJSON_GetObjectItemCaseSensitive(d, idx);
}

static int delivery_count(const cJSON *d)
{
	const cJSON *n;

	if (cJSON_IsArray(d))
		return cJSON_GetArraySize(d);
	n = cJSON_GetObjectItemCaseSensitive(d, COUNT);
	if (!cJSON_IsObject(d) || !cJSON_IsNumber(n) || n->valuedouble < 0)
		return 0;
	return n->valuedouble > MAX_DELIVERY ? MAX_DELIVERY
	                                     : (int)n->valuedouble;
}

/* The delivery list as {"count": n, "0": ..}, exactly one default (the
 * first flagged, else the first, as the API reads it); NULL when empty
 * (an empty list equals none). */
static int norm_deliveries(const cJSON *d, cJSON *out)
{
	int n = delivery_count(d), def = -1, rc = 0;
	char idx[16];
	cJSON *o;

	if (n == 0)
		return 0;
	for (int i = 0; i < n && def < 0; i++)
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		        delivery_item(d, i), "default")))
			def = i;
	if (def < 0)
		def = 0;
	o = cJSON_CreateObject();
	if (profile_put(out, "delivery_address", o))
		return -ENOMEM;
	for (int i = 0; i < n && !rc; i++) {
		cJSON *a = norm_address(delivery_item(d, i), true);

		if (a)
			rc = profile_put(a, "default",
			                 cJSON_CreateBool(i == def));
		snprintf(idx, sizeof(idx), "%d", i);
		rc = rc ? rc : profile_put(o, idx, a);
	}
	return rc ? rc : profile_put(o, COUNT, cJSON_CreateNumber(n));
}

/* Works on the API's record and on its own output (idempotent): sync
 * projects the merge of a projection and the event. */
static cJSON *portal_project(const cJSON *rec)
{
	const cJSON *contact =
	    cJSON_GetObjectItemCaseSensitive(rec, "contact_address");
	const cJSON *settings =
	    cJSON_GetObjectItemCaseSensitive(rec, "settings");
	cJSON *o = cJSON_CreateObject(), *a, *s;
	int rc = 0;

	if (!o || !cJSON_IsObject(rec))
		return o;
	for (size_t i = 0; i < N_SCALARS && !rc; i++) {
		const char *v = profile_str(rec, scalars[i]);

		if (!v || profile_blank_isspace(v))
			continue;
		/* DECISION: email is the login, compared without regard
		 * to case (build_put still writes the event's spelling). */
		rc = i == 1
		         ? add_lower(o, scalars[i], v)
		         : profile_put(o, scalars[i], cJSON_CreateString(v));
	}
	if (!rc && cJSON_IsObject(contact)) {
		a = norm_address(contact, false);
		if (a && !a->child)
			cJSON_Delete(a);
		else
			rc = profile_put(o, "contact_address", a);
	}
	if (!rc)
		rc = norm_deliveries(
		    cJSON_GetObjectItemCaseSensitive(rec, "delivery_address"),
		    o);
	/* Absent settings are the API's defaults: not suspended. */
	if (!rc) {
		s = cJSON_CreateObject();
		rc = profile_put(o, "settings", s);
		if (!rc)
			rc = profile_put(s, "is_suspended",
			                 cJSON_CreateBool(cJSON_IsTrue(
			                     cJSON_GetObjectItemCaseSensitive(
			                         settings, "is_suspended"))));
	}
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static const cJSON *portal_record_of(const cJSON *body)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "customer");

	return cJSON_IsObject(c) ? c : NULL;
}

/* delete_mode suspend: a suspended customer is deleted. hard: a record
 * that can be read is not deleted (a deleted one answers 404). */
static bool portal_is_deleted(const struct config *cfg, const cJSON *record)
{
	if (cfg->target.delete_mode == DELETE_HARD)
		return false;
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(record, "settings"),
	    "is_suspended"));
}

/* ---- projected -> API ------------------------------------------------- */

/* An address of the projected shape as the API takes it. */
static cJSON *api_address(const cJSON *a, bool delivery)
{
	cJSON *o = cJSON_Duplicate(a, 1);

	if (o && delivery && !cJSON_HasObjectItem(o, "default") &&
	    !cJSON_AddFalseToObject(o, "default")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *api_deliveries(const cJSON *d)
{
	int n = delivery_count(d);
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; arr && i < n; i++) {
		const cJSON *item = delivery_item(d, i);
		cJSON *a =
		    api_address(cJSON_IsObject(item) ? item : NULL, true);

		if (!a || !cJSON_AddItemToArray(arr, a)) {
			cJSON_Delete(a);
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* DECISION: the server derives state, state_code, country and
 * country_code from each other. When a write changes any of them, the
 * ones the event did not give are dropped, so the server derives them
 * again instead of refusing a stale pair (a new state_code with the old
 * state name). want: the event's address (projected), old: as read. */
static void drop_stale_derived(cJSON *a, const cJSON *want, const cJSON *old)
{
	bool changed = false;

	if (!cJSON_IsObject(a))
		return;
	for (size_t i = 0; i < N_DERIVED; i++) {
		const char *x = filled(a, derived[i]);
		const char *y = filled(old, derived[i]);

		if ((x == NULL) != (y == NULL) || (x && strcasecmp(x, y) != 0))
			changed = true;
	}
	if (!changed)
		return;
	for (size_t i = 0; i < N_DERIVED; i++)
		if (!filled(want, derived[i]))
			cJSON_DeleteItemFromObjectCaseSensitive(a, derived[i]);
}

/* The API's record for a create: the projected record as the API takes
 * it (no id: the API assigns it). */
static cJSON *api_record(const cJSON *p)
{
	const cJSON *v;
	cJSON *o = cJSON_CreateObject();
	int rc = 0;

	if (!o)
		return NULL;
	cJSON_ArrayForEach(v, p)
	{
		cJSON *copy;

		if (strcmp(v->string, "delivery_address") == 0) {
			if (delivery_count(v) == 0)
				continue; /* never [] (see build_put) */
			copy = api_deliveries(v);
		} else {
			copy = cJSON_Duplicate(v, 1);
		}
		rc = profile_put(o, v->string, copy);
		if (rc)
			break;
	}
	if (rc) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The whole record to PUT: the record as read (so the fields custsync
 * does not own keep their values: an omitted field would be reset),
 * minus the server's ids, with the projected record's fields written
 * over it. want is the event's projected change (for which derived
 * address members it gave); may be NULL. */
static cJSON *build_put(const cJSON *raw, const cJSON *full, const cJSON *want)
{
	static const char *const server_owned[] = {"id", "manufacturer_id",
	                                           "manufacturerId"};
	const cJSON *v,
	    *old_d = cJSON_GetObjectItemCaseSensitive(raw, "delivery_address");
	cJSON *body = cJSON_Duplicate(raw, 1), *settings, *d;
	int rc = 0;

	if (!body)
		return NULL;
	for (size_t i = 0; i < 3; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(body, server_owned[i]);
	for (size_t i = 0; i < N_SCALARS && !rc; i++) {
		const char *s = profile_str(full, scalars[i]);
		const char *w = profile_str(want, scalars[i]);
		const char *r = profile_str(raw, scalars[i]);

		/* The spelling the event gave, else the one read (email is
		 * compared in lower case, but written as given). */
		if (w && s && strcasecmp(w, s) == 0)
			s = w;
		else if (r && s && strcasecmp(r, s) == 0)
			s = r;
		if (s)
			rc = set(body, scalars[i], cJSON_CreateString(s));
		else
			cJSON_DeleteItemFromObjectCaseSensitive(body,
			                                        scalars[i]);
	}
	v = cJSON_GetObjectItemCaseSensitive(full, "contact_address");
	if (!rc && v) {
		cJSON *a = api_address(v, false);

		drop_stale_derived(
		    a,
		    cJSON_GetObjectItemCaseSensitive(want, "contact_address"),
		    cJSON_GetObjectItemCaseSensitive(raw, "contact_address"));
		rc = set(body, "contact_address", a);
	}
	/* DECISION: the API refuses an empty list ("A delivery address
	 * must be specified", seed 002's example): no delivery address is
	 * sent as no member at all. */
	v = cJSON_GetObjectItemCaseSensitive(full, "delivery_address");
	if (!rc && delivery_count(v) > 0) {
		const cJSON *wd =
		    cJSON_GetObjectItemCaseSensitive(want, "delivery_address");
		cJSON *item;
		int i = 0;

		d = api_deliveries(v);
		cJSON_ArrayForEach(item, d)
		{
			drop_stale_derived(item, delivery_item(wd, i),
			                   delivery_item(old_d, i));
			i++;
		}
		rc = set(body, "delivery_address", d);
	} else if (!rc) {
		cJSON_DeleteItemFromObjectCaseSensitive(body,
		                                        "delivery_address");
	}
	v = cJSON_GetObjectItemCaseSensitive(full, "settings");
	settings = cJSON_GetObjectItemCaseSensitive(body, "settings");
	if (!rc && !cJSON_IsObject(settings)) {
		settings = cJSON_CreateObject();
		rc = set(body, "settings", settings);
	}
	if (!rc && cJSON_HasObjectItem(v, "is_suspended"))
		rc = set(settings, "is_suspended",
		         cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
		                             v, "is_suspended"),
		                         1));
	if (rc) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* ---- requests --------------------------------------------------------- */

static char *list_path(const char *email, long page)
{
	char *esc = email ? profile_path_escape(email) : NULL, *p;
	size_t n = 96 + (esc ? strlen(esc) : 0);

	if (email && !esc)
		return NULL;
	p = malloc(n);
	if (p && esc)
		snprintf(p, n,
		         COLLECTION "?email=%s&current_page=%ld&page_size=%d",
		         esc, page, LIST_PAGE_SIZE);
	else if (p)
		snprintf(p, n, COLLECTION "?current_page=%ld&page_size=%d",
		         page, LIST_PAGE_SIZE);
	free(esc);
	return p;
}

/* DECISION (external_id is neither unique nor searchable): a key is
 * found by paging through the whole list and taking the customer whose
 * external_id is the key. Searching by the event's email first would be
 * cheaper, but an answer does not say which query it answers, so a
 * miss could not be told from an empty page of the full list (the
 * look-up could loop or stop early); the cache keeps the cost to one
 * paging per key and process. See portal_matches for email. */
static int portal_lookup_request(const struct config *cfg,
                                 const struct change *ch,
                                 struct api_request *out)
{
	(void)cfg;
	(void)ch;
	return profile_request(out, HTTP_GET, list_path(NULL, 1), NULL, NULL,
	                       NULL, SCOPE_READ);
}

/* The event's email, as the API holds it (first of the list). */
static const char *event_email(const struct change *ch)
{
	const cJSON *e =
	    cJSON_GetObjectItemCaseSensitive(ch->customer, "email");

	if (cJSON_IsArray(e))
		e = cJSON_GetArrayItem(e, 0);
	return cJSON_IsString(e) && e->valuestring[0] ? e->valuestring : NULL;
}

/* DECISION: which listed customer is the key's. 2: its external_id is
 * the key. 1: for create and upsert (the ops that would POST), the
 * customer that holds the event's email, which is unique across the
 * API and the login: a create would collide with exactly that customer,
 * so it is the one to update (this is also how a duplicate-email
 * conflict finds its record). 0: neither. Update and delete go by the
 * key alone, so a changed email never lands on someone else's record. */
static int portal_matches(const struct change *ch, const cJSON *item)
{
	const char *ext = profile_str(item, "external_id");
	const char *email = profile_str(item, "email");
	const char *want = event_email(ch);

	if (ext && strcmp(ext, ch->key) == 0)
		return 2;
	if ((ch->op == CHANGE_CREATE || ch->op == CHANGE_UPSERT) && want &&
	    email && strcasecmp(want, email) == 0)
		return 1;
	return 0;
}

static int portal_lookup_parse(const struct config *cfg,
                               const struct change *ch,
                               const struct api_response *r, char **id,
                               cJSON **record)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	const cJSON *item, *best = NULL;
	int best_score = 0;

	(void)cfg;
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, items)
	{
		int s = portal_matches(ch, item);

		if (s > best_score) {
			best = item;
			best_score = s;
		}
	}
	if (!best) {
		cJSON_Delete(doc);
		return 0;
	}
	*id = id_of(best);
	*record = cJSON_Duplicate(best, 1);
	cJSON_Delete(doc);
	if (!*id || !*record) {
		/* No usable id, or no memory: either way not a record. */
		free(*id);
		cJSON_Delete(*record);
		*id = NULL;
		*record = NULL;
		return -EINVAL;
	}
	return 1;
}

static long pagination_value(const cJSON *p, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
		return -1;
	return (long)v->valuedouble;
}

/* The next page while current_page < page_count; pages only go up, so
 * the look-up ends after at most page_count requests. */
static int portal_lookup_next(const struct config *cfg,
                              const struct change *ch,
                              const struct api_response *r,
                              struct api_request *out)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "pagination");
	long cur = pagination_value(p, "current_page");
	long count = pagination_value(p, "page_count");

	(void)cfg;
	(void)ch;
	cJSON_Delete(doc);
	if (cur < 1 || count < 0 || cur >= count)
		return -ENOENT;
	return profile_request(out, HTTP_GET, list_path(NULL, cur + 1), NULL,
	                       NULL, NULL, SCOPE_READ);
}

/* The key index (external_id is not a search field): the whole list,
 * page by page, at the largest page size the document's API takes. */
static int portal_index_request(const struct config *cfg, long page,
                                struct api_request *out)
{
	(void)cfg;
	return profile_request(out, HTTP_GET, list_path(NULL, page), NULL,
	                       NULL, NULL, SCOPE_READ);
}

/* DECISION (the document shows pagination.page_count and total_count):
 * the next page while page < page_count; without page_count, while the
 * pages so far hold fewer than total_count items; with neither, the
 * page asked for was the only one. Counted by custsync's own page
 * number, so an API that echoes a wrong current_page cannot loop it. */
static int portal_index_page(const struct api_response *r, long page,
                             profile_index_add_fn *add, void *arg,
                             long *next_page)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "pagination");
	long count = pagination_value(p, "page_count");
	long total = pagination_value(p, "total_count");
	long size = pagination_value(p, "page_size");
	const cJSON *item;
	int rc = 0, n = 0;

	*next_page = 0;
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, items)
	{
		char *id = id_of(item);

		rc = add(arg, profile_str(item, "external_id"), id);
		free(id);
		if (rc)
			break;
		n++;
	}
	/* The page size the API used, which may be smaller than asked. */
	if (size <= 0)
		size = n;
	if (!rc && n > 0 &&
	    ((count >= 0 && page < count) ||
	     (count < 0 && total >= 0 && page * size < total)))
		*next_page = page + 1;
	cJSON_Delete(doc);
	return rc;
}

static const char *portal_event_owner(const struct config *cfg,
                                      const struct change *ch)
{
	(void)cfg;
	return ch->key;
}

static const char *portal_record_owner(const cJSON *record)
{
	return profile_str(record, "external_id");
}

static int portal_get_request(const struct config *cfg, const char *id,
                              struct api_request *out)
{
	(void)cfg;
	return profile_request(out, HTTP_GET, profile_id_path(COLLECTION, id),
	                       NULL, NULL, NULL, SCOPE_READ);
}

static int portal_create_request(const struct config *cfg,
                                 const struct change *ch, const cJSON *record,
                                 struct api_request *out)
{
	cJSON *body = api_record(record);
	int rc;

	(void)cfg;
	(void)ch;
	if (!body)
		return -ENOMEM;
	rc = profile_request(out, HTTP_POST, strdup(COLLECTION), body,
	                     JSON_TYPE, NULL, SCOPE_CREATE);
	cJSON_Delete(body);
	return rc;
}

/* The event once more, projected: which fields and address members it
 * gave (build_put keeps its spellings and derived members). */
static cJSON *wanted(const struct config *cfg, const struct change *ch)
{
	struct profile_error perr;
	cJSON *m = NULL, *p;

	if (!ch || !ch->customer || portal_map(cfg, ch, &m, &perr))
		return NULL;
	p = profile_strip_nulls(m);
	cJSON_Delete(m);
	return p;
}

static int put_request(struct api_request *out, const char *id,
                       const cJSON *body, const char *scope)
{
	return profile_request(out, HTTP_PUT, profile_id_path(COLLECTION, id),
	                       body, JSON_TYPE, NULL, scope);
}

/* GET, merge, PUT: the whole record, as read, with the change applied. */
static int portal_update_request(const struct config *cfg,
                                 const struct change *ch, const char *id,
                                 const char *etag, const cJSON *patch,
                                 const cJSON *current, struct api_request *out,
                                 struct profile_error *err)
{
	cJSON *cur, *full, *want, *body;
	int rc;

	(void)etag;
	if (!current) {
		snprintf(err->message, sizeof(err->message),
		         "the record of '%s' was not read before the write",
		         id);
		return -EINVAL;
	}
	cur = portal_project(current);
	full = cur ? merge_patch_apply(cur, patch) : NULL;
	want = wanted(cfg, ch);
	body = full ? build_put(current, full, want) : NULL;
	rc = body ? put_request(out, id, body, SCOPE_UPDATE) : -ENOMEM;
	cJSON_Delete(cur);
	cJSON_Delete(full);
	cJSON_Delete(want);
	cJSON_Delete(body);
	return rc;
}

/* delete_mode suspend (the default): PUT the record as read with
 * settings.is_suspended true; the customer and its jobs stay. hard:
 * DELETE, which the document says destroys the customer and all its
 * job records. */
static int portal_delete_request(const struct config *cfg, const char *id,
                                 const char *etag, const cJSON *current,
                                 struct api_request *out,
                                 struct profile_error *err)
{
	cJSON *cur, *full, *body;
	int rc;

	(void)etag;
	if (cfg->target.delete_mode == DELETE_HARD)
		return profile_request(out, HTTP_DELETE,
		                       profile_id_path(COLLECTION, id), NULL,
		                       NULL, NULL, SCOPE_DELETE);
	if (!current) {
		snprintf(err->message, sizeof(err->message),
		         "the record of '%s' was not read before the "
		         "suspension",
		         id);
		return -EINVAL;
	}
	cur = portal_project(current);
	full = cur ? cJSON_Duplicate(cur, 1) : NULL;
	if (full) {
		cJSON *s = cJSON_GetObjectItemCaseSensitive(full, "settings");

		if (!s || set(s, "is_suspended", cJSON_CreateTrue())) {
			cJSON_Delete(full);
			full = NULL;
		}
	}
	body = full ? build_put(current, full, NULL) : NULL;
	rc = body ? put_request(out, id, body, SCOPE_UPDATE) : -ENOMEM;
	cJSON_Delete(cur);
	cJSON_Delete(full);
	cJSON_Delete(body);
	return rc;
}

static int portal_write_result(const struct api_response *r, char **id,
                               char **etag, cJSON **record)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *rec = portal_record_of(doc);

	*etag = NULL;
	*id = rec ? id_of(rec) : NULL;
	*record = rec ? portal_project(rec) : NULL;
	cJSON_Delete(doc);
	return profile_written(id, NULL, record);
}

/* ---- errors ----------------------------------------------------------- */

/* The messages of {"success":0,"error":{"messages":[...]}}, or NULL. */
static const cJSON *messages_of(const cJSON *doc)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(doc, "error"), "messages");

	return cJSON_IsArray(m) ? m : NULL;
}

/* The envelope's "success": 1 true, 0 false, -1 absent or neither.
 * DECISION (the document shows the integer 0 or 1): false is 0, false,
 * or the string "0" or "false" (any case), as a loosely typed backend
 * may render it; true is any other number, true, "1" or "true". null
 * and other strings say nothing. */
static int success_of(const cJSON *doc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "success");

	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (!cJSON_IsString(v))
		return -1;
	if (strcmp(v->valuestring, "0") == 0 ||
	    strcasecmp(v->valuestring, "false") == 0)
		return 0;
	if (strcmp(v->valuestring, "1") == 0 ||
	    strcasecmp(v->valuestring, "true") == 0)
		return 1;
	return -1;
}

/* A 2xx that is a refusal all the same (the document shows none, but
 * its envelope has room for it): success false, or, when success says
 * nothing, an "error" member and no record or list. Then sync fails the
 * step "rejected" with the messages, whatever the step. An answer
 * without a body (DELETE's "empty JSON response") is no refusal. */
static bool portal_refused(const struct api_response *r)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	int ok = success_of(doc);
	bool refused;

	if (ok >= 0)
		refused = ok == 0;
	else
		refused = cJSON_HasObjectItem(doc, "error") &&
		          !cJSON_HasObjectItem(doc, "customer") &&
		          !cJSON_HasObjectItem(doc, "items");
	cJSON_Delete(doc);
	return refused;
}

/* DECISION (the document names no status or wording for a duplicate
 * email): a 409, or any 4xx whose message speaks of the email being
 * taken ("already", "exists", "in use", "taken", "unique",
 * "duplicate"). The reference server answers 409 with "A customer with
 * this email address already exists". */
static bool portal_duplicate_email(const struct api_response *r)
{
	static const char *const taken[] = {"already", "exist",  "in use",
	                                    "taken",   "unique", "duplicate"};
	cJSON *doc;
	const cJSON *m;
	bool dup = false;

	if (r->status < 400 || r->status > 499)
		return false;
	doc = cJSON_ParseWithLength(r->body, r->body_len);
	cJSON_ArrayForEach(m, messages_of(doc))
	{
		if (!cJSON_IsString(m) || !strcasestr(m->valuestring, "email"))
			continue;
		for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
			dup |= strcasestr(m->valuestring, taken[i]) != NULL;
	}
	cJSON_Delete(doc);
	return dup || r->status == 409;
}

/* No id in the answer: conflict_lookup finds the customer by email. */
static int portal_conflict(const struct api_response *r, char **field,
                           char **id)
{
	*id = NULL;
	*field = NULL;
	if (!portal_duplicate_email(r))
		return 0;
	*field = strdup("email");
	return 1;
}

/* The customer holding the email; lookup_parse takes it (for create
 * and upsert) even with another external_id. A customer of another
 * manufacturer is not listed: the event then fails with "conflict". */
static int portal_conflict_lookup(const struct config *cfg,
                                  const struct change *ch, const cJSON *record,
                                  struct api_request *out)
{
	const char *email = profile_str(record, "email");

	if (!email)
		return portal_lookup_request(cfg, ch, out);
	return profile_request(out, HTTP_GET, list_path(email, 1), NULL, NULL,
	                       NULL, SCOPE_READ);
}

/* Every message, joined with "; " (the document: the list is "not
 * exhaustive", so all of them help whoever fixes the record). Without a
 * list, the error's own "message" or an "error" string; a refusal
 * without any words says so. */
static void portal_error_message(const struct api_response *r,
                                 const char **code, char *buf, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const char *one;
	const cJSON *m;
	size_t used = 0;

	(void)code;
	buf[0] = '\0';
	cJSON_ArrayForEach(m, messages_of(doc))
	{
		int n;

		if (!cJSON_IsString(m) || used + 3 >= len)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "; " : "",
		             m->valuestring);
		if (n > 0)
			used += (size_t)n < len - used ? (size_t)n
			                               : len - used - 1;
	}
	one = cJSON_IsString(err) ? err->valuestring
	                          : profile_str(err, "message");
	if (!buf[0] && one)
		snprintf(buf, len, "%s", one);
	if (!buf[0] && success_of(doc) == 0)
		snprintf(buf, len, "refused (success 0) without a message");
	if (!buf[0] && !doc && r->body_len > 0)
		snprintf(buf, len, "%.200s", r->body);
	cJSON_Delete(doc);
}

/* ---- settings ---- */

static const char *const delete_mode_names[DELETE_MODE_MAX] = {
    [DELETE_SUSPEND] = "suspend",
    [DELETE_HARD] = "hard",
};

static const struct config_row portal_settings[] = {
    {.path = "target.delete_mode",
     .type = CONFIG_ENUM,
     .offset = CONFIG_AT(target.delete_mode),
     .def = DELETE_SUSPEND,
     CONFIG_NAMES(delete_mode_names),
     .doc = "portal: what a delete does, suspend the customer or delete "
            "it"},
};

const struct profile_ops portal_profile = {
    .name = "portal",
    .settings = portal_settings,
    .n_settings = sizeof(portal_settings) / sizeof(portal_settings[0]),
    .flags = PROFILE_LOOKUP_HAS_RECORD | PROFILE_INDEXED,
    .owner_field = "external_id",
    .event_owner = portal_event_owner,
    .record_owner = portal_record_owner,
    .index_request = portal_index_request,
    .index_page = portal_index_page,
    .map = portal_map,
    .validate = portal_validate,
    .record_of = portal_record_of,
    .project = portal_project,
    .is_deleted = portal_is_deleted,
    .lookup_request = portal_lookup_request,
    .lookup_parse = portal_lookup_parse,
    .lookup_next = portal_lookup_next,
    .get_request = portal_get_request,
    .create_request = portal_create_request,
    .update_request = portal_update_request,
    .delete_request = portal_delete_request,
    .write_result = portal_write_result,
    .conflict = portal_conflict,
    .conflict_lookup = portal_conflict_lookup,
    .refused = portal_refused,
    .error_message = portal_error_message,
};
