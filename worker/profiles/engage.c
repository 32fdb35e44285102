/* Profile "engage": the Pexip Engage customers API (shared/seeds/003).
 *
 * The document only describes PATCH /customers/{id}; create, read,
 * look-up and delete are assumed in the conventional shape, each in one
 * function marked ASSUMPTION. Every request carries Accept-Language.
 *
 * Comparable shape. map and project share one internal shape in which a
 * location's translations are objects keyed by language,
 * {"city": {"en": "Ghent"}}, instead of the API's lists of
 * {"language", "value"}. A merge patch then touches only the configured
 * language, translations in other languages survive, and "unchanged"
 * compares only what custsync sends. create_request and update_request
 * turn it back into the API's lists. */
#include "config/config.h"
#include "config/table.h"
#include "core/event.h"
#include "core/merge_patch.h"
#include "profiles/kit.h"
#include "profiles/profile.h"
#include "core/request.h"
#include "lib/utf8.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE       "application/json"
#define EXTERNAL_ID_MAX 255

/* The document's language codes, in its order. */
static const char *const languages[] = {"da", "de", "el", "en", "es",
                                        "fr", "ja", "nl", "no", "pl"};
/* One header line per code: api_request.extra_header is borrowed. */
static const char *const accept_headers[] = {
    "Accept-Language: da", "Accept-Language: de", "Accept-Language: el",
    "Accept-Language: en", "Accept-Language: es", "Accept-Language: fr",
    "Accept-Language: ja", "Accept-Language: nl", "Accept-Language: no",
    "Accept-Language: pl",
};
#define N_LANG       (sizeof(languages) / sizeof(languages[0]))
#define DEFAULT_LANG 3 /* "en" */

/* Top-level members custsync writes (the request body minus location
 * and existing, which custsync never sends). */
static const char *const writable[] = {
    "externalId", "customerNumber", "email", "firstName",   "lastName",
    "company",    "language",       "notes", "phoneNumber", "timeZone",
};
static const char *const translation_keys[] = {"city", "state", "street1",
                                               "street2"};

static int lang_index(const char *s)
{
	for (size_t i = 0; s && i < N_LANG; i++)
		if (strcmp(s, languages[i]) == 0)
			return (int)i;
	return -1;
}

/* DECISION: a missing or unknown target.language is "en" (the config
 * refuses unknown codes; this keeps a zeroed config usable). */
static int content_lang(const struct config *cfg)
{
	int i = cfg ? lang_index(cfg->target.language) : -1;

	return i < 0 ? DEFAULT_LANG : i;
}

/* The documented code a language range starts with ("fr" of "fr-BE,
 * en;q=0.5"), or -1. */
static int range_index(const char *s)
{
	char two[3];

	if (!s || strlen(s) < 2 || (s[2] && !strchr("-,; \t", s[2])))
		return -1;
	memcpy(two, s, 2);
	two[2] = '\0';
	return lang_index(two);
}

/* Accept-Language: target.accept_language, else target.language.
 * LIMITATION: the header line is borrowed, and only the ten documented
 * codes have a static one, so a configured list of ranges is sent as
 * its first range's code ("fr-BE, en;q=0.5" -> "fr"); the API answers
 * in one language anyway. */
static const char *accept_header(const struct config *cfg)
{
	int i = cfg ? range_index(cfg->target.accept_language) : -1;

	return accept_headers[i < 0 ? content_lang(cfg) : i];
}

/* Every string of the API has a minimum length of 1: a blank ERP value
 * goes out as null (clears), never as "". -EINVAL for a non-string. */
static int text_of(const cJSON *v, const char *name, cJSON **out,
                   struct profile_error *err)
{
	*out = NULL;
	if (cJSON_IsString(v) && !profile_blank(v->valuestring))
		*out = cJSON_CreateString(v->valuestring);
	else if (cJSON_IsString(v) || cJSON_IsNull(v) || !v)
		*out = cJSON_CreateNull();
	else
		return profile_refuse(err, NULL, "%s must be a string or null",
		                      name);
	return *out ? 0 : -ENOMEM;
}

/* name: text_of(member) when the member is present. */
static int put_text(cJSON *o, const char *name, const cJSON *src,
                    const char *from, struct profile_error *err)
{
	cJSON *v;
	int rc;

	if (!cJSON_HasObjectItem(src, from))
		return 0;
	rc = text_of(cJSON_GetObjectItemCaseSensitive(src, from), from, &v,
	             err);
	return rc ? rc : profile_put(o, name, v);
}

/* The API keeps one email and one phone number: the first non-blank
 * element of the ERP's list; none (or an empty list) clears. */
static int put_first(cJSON *o, const char *name, const cJSON *src,
                     const char *from, struct profile_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, from), *e;

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return put_text(o, name, src, from, err);
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e))
			return profile_refuse(
			    err, NULL, "%s must be a list of strings", from);
		if (!profile_blank(e->valuestring))
			return profile_put(o, name,
			                   cJSON_CreateString(e->valuestring));
	}
	return profile_put(o, name, cJSON_CreateNull());
}

/* translations.<key> = {"<lang>": value or null}. */
static int put_translation(cJSON *loc, const char *key, const char *lang,
                           cJSON *value)
{
	cJSON *tr = cJSON_GetObjectItemCaseSensitive(loc, "translations");
	cJSON *one;

	if (!value)
		return -ENOMEM;
	if (!tr &&
	    profile_put(loc, "translations", tr = cJSON_CreateObject())) {
		cJSON_Delete(value);
		return -ENOMEM;
	}
	one = cJSON_CreateObject();
	if (profile_put(tr, key, one)) {
		cJSON_Delete(value);
		return -ENOMEM;
	}
	return profile_put(one, lang, value);
}

/* street[0] is street1; the other lines, joined with ", ", street2. A
 * street list is always the whole street, so both are set. */
static int map_street(cJSON *loc, const cJSON *street, const char *lang,
                      struct profile_error *err)
{
	char *rest = NULL;
	const char *first = NULL;
	const cJSON *line, *lines = street;
	size_t len = 1;
	int rc, i = 0;

	if (street && !cJSON_IsArray(street) && !cJSON_IsString(street) &&
	    !cJSON_IsNull(street))
		return profile_refuse(err, NULL,
		                      "%s must be a list of strings",
		                      "billing_address.street");
	if (cJSON_IsString(street) && !profile_blank(street->valuestring))
		first = street->valuestring;
	if (!cJSON_IsArray(street))
		lines = NULL;
	cJSON_ArrayForEach(line, lines)
	{
		if (!cJSON_IsString(line))
			return profile_refuse(err, NULL,
			                      "%s must be a list of strings",
			                      "billing_address.street");
		len += strlen(line->valuestring) + 2;
	}
	if (lines && !(rest = calloc(1, len)))
		return -ENOMEM;
	cJSON_ArrayForEach(line, lines)
	{
		if (profile_blank(line->valuestring))
			continue;
		if (i++ == 0) {
			first = line->valuestring;
			continue;
		}
		if (rest[0])
			strcat(rest, ", ");
		strcat(rest, line->valuestring);
	}
	rc = put_translation(loc, "street1", lang,
	                     first ? cJSON_CreateString(first)
	                           : cJSON_CreateNull());
	if (!rc)
		rc = put_translation(loc, "street2", lang,
		                     rest && rest[0] ? cJSON_CreateString(rest)
		                                     : cJSON_CreateNull());
	free(rest);
	return rc;
}

/* billing_address -> location, as a merge patch of the comparable
 * shape. state is the name when the ERP has one, else the code: the
 * API shows it to people. country (a name) has no place in the API. */
static int map_location(cJSON *o, const cJSON *a, const char *lang,
                        struct profile_error *err)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(a, "state");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(a, "state_code");
	cJSON *loc, *v;
	int rc;

	if (cJSON_IsNull(a))
		return profile_put(o, "location", cJSON_CreateNull());
	if (!cJSON_IsObject(a))
		return profile_refuse(err, NULL,
		                      "%s must be an object or null",
		                      "billing_address");
	loc = cJSON_CreateObject();
	if (profile_put(o, "location", loc))
		return -ENOMEM;
	rc = put_text(loc, "postalCode", a, "postal_code", err);
	if (!rc)
		rc = put_text(loc, "countryCode", a, "country_code", err);
	if (!rc && cJSON_HasObjectItem(a, "city")) {
		rc = text_of(cJSON_GetObjectItemCaseSensitive(a, "city"),
		             "city", &v, err);
		if (!rc)
			rc = put_translation(loc, "city", lang, v);
	}
	if (!rc && (state || code)) {
		const cJSON *pick = code;

		/* A wrong type of state is reported, not skipped. */
		if (cJSON_IsString(state) ? !profile_blank(state->valuestring)
		                          : state && !cJSON_IsNull(state))
			pick = state;
		rc = text_of(pick, "state", &v, err);
		if (!rc)
			rc = put_translation(loc, "state", lang, v);
	}
	if (!rc && cJSON_HasObjectItem(a, "street"))
		rc = map_street(loc,
		                cJSON_GetObjectItemCaseSensitive(a, "street"),
		                lang, err);
	return rc;
}

/* Any text left in a mapped value? */
static bool has_text(const cJSON *v)
{
	const cJSON *m, *obj = cJSON_IsObject(v) ? v : NULL;

	if (cJSON_IsString(v))
		return true;
	cJSON_ArrayForEach(m, obj) if (has_text(m)) return true;
	return false;
}

/* DECISION: in a whole record (create, upsert) an address whose every
 * member is empty is no address: location null, not a location the API
 * must refuse. In an update the members are a patch and stay as they
 * are. */
static int empty_location(cJSON *o, const struct change *ch)
{
	cJSON *loc = cJSON_GetObjectItemCaseSensitive(o, "location");

	if (ch->op == CHANGE_UPDATE || !cJSON_IsObject(loc) || has_text(loc))
		return 0;
	return cJSON_ReplaceItemInObjectCaseSensitive(o, "location",
	                                              cJSON_CreateNull())
	           ? 0
	           : -ENOMEM;
}

static int map_contact(cJSON *o, const cJSON *c, struct profile_error *err)
{
	int rc;

	if (cJSON_IsNull(c)) {
		rc = profile_put(o, "firstName", cJSON_CreateNull());
		return rc ? rc
		          : profile_put(o, "lastName", cJSON_CreateNull());
	}
	if (!cJSON_IsObject(c))
		return profile_refuse(
		    err, NULL, "%s must be an object or null", "contact");
	rc = put_text(o, "firstName", c, "first_name", err);
	return rc ? rc : put_text(o, "lastName", c, "last_name", err);
}

/* language: only the document's codes; a blank one clears. */
static int map_language(cJSON *o, const cJSON *c, struct profile_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "language");

	if (cJSON_IsString(v) && !profile_blank(v->valuestring) &&
	    lang_index(v->valuestring) < 0)
		return profile_refuse(
		    err, NULL,
		    "language '%.40s' is not one of da, de, el, "
		    "en, es, fr, ja, nl, no, pl",
		    v->valuestring);
	return put_text(o, "language", c, "language", err);
}

/* DECISION: the API fills a null timeZone back in (resolved from the
 * location), so a null could never compare equal and every run would
 * rewrite it. An ERP time_zone that is null or blank therefore leaves
 * timeZone alone instead of clearing it. */
static int map_time_zone(cJSON *o, const cJSON *c, struct profile_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "time_zone");

	if (!v || cJSON_IsNull(v) ||
	    (cJSON_IsString(v) && profile_blank(v->valuestring)))
		return 0;
	return put_text(o, "timeZone", c, "time_zone", err);
}

static int engage_map(const struct config *cfg, const struct change *ch,
                      cJSON **out, struct profile_error *err)
{
	static const struct {
		const char *from, *to;
	} strings[] = {{"number", "customerNumber"},
	               {"external_id", "externalId"},
	               {"company", "company"},
	               {"notes", "notes"}};
	const char *lang = languages[content_lang(cfg)];
	const cJSON *c = ch->customer;
	cJSON *o = cJSON_CreateObject();
	int rc = o ? 0 : -ENOMEM;

	memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < 4 && !rc; i++)
		rc = put_text(o, strings[i].to, c, strings[i].from, err);
	if (!rc && cJSON_HasObjectItem(c, "contact"))
		rc = map_contact(
		    o, cJSON_GetObjectItemCaseSensitive(c, "contact"), err);
	if (!rc)
		rc = put_first(o, "email", c, "email", err);
	if (!rc)
		rc = put_first(o, "phoneNumber", c, "phone", err);
	if (!rc)
		rc = map_language(o, c, err);
	if (!rc)
		rc = map_time_zone(o, c, err);
	if (!rc && cJSON_HasObjectItem(c, "billing_address"))
		rc = map_location(
		    o, cJSON_GetObjectItemCaseSensitive(c, "billing_address"),
		    lang, err);
	if (!rc)
		rc = empty_location(o, ch);
	/* externalId carries the ERP key unless the ERP gives its own, so
	 * the key can be looked up again. Updates leave it alone. */
	if (!rc && ch->op != CHANGE_UPDATE && ch->op != CHANGE_DELETE &&
	    !cJSON_IsString(
	        cJSON_GetObjectItemCaseSensitive(o, "externalId"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "externalId");
		rc = profile_put(o, "externalId", cJSON_CreateString(ch->key));
	}
	if (rc) {
		cJSON_Delete(o);
		if (rc == -ENOMEM)
			snprintf(err->message, sizeof(err->message),
			         "out of memory");
		return rc;
	}
	*out = o;
	return 0;
}

/* A translation (comparable shape) with at least one value. */
static bool has_value(const cJSON *tr, const char *key)
{
	const cJSON *one = cJSON_GetObjectItemCaseSensitive(tr, key), *m;

	cJSON_ArrayForEach(m, one) if (cJSON_IsString(m)) return true;
	return false;
}

/* A location the API accepts as a whole: countryCode, a city and a
 * first street line. DECISION: an address without them fails
 * `validation` rather than being left out, which would hide the ERP's
 * address (or keep a stale one) without a word. */
static int location_complete(const cJSON *loc, struct profile_error *err)
{
	const cJSON *tr =
	    cJSON_GetObjectItemCaseSensitive(loc, "translations");

	if (!loc || cJSON_IsNull(loc))
		return 0;
	if (!profile_str(loc, "countryCode"))
		return profile_refuse(err, NULL,
		                      "%s: the location needs a country code",
		                      "billing_address.country_code");
	if (!has_value(tr, "city"))
		return profile_refuse(err, NULL,
		                      "%s: the location needs a city",
		                      "billing_address.city");
	if (!has_value(tr, "street1"))
		return profile_refuse(err, NULL,
		                      "%s: the location needs a street",
		                      "billing_address.street");
	return 0;
}

static int check_strings(const cJSON *doc, struct profile_error *err)
{
	const char *s;

	for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(doc, writable[i]);

		if (cJSON_IsString(v) && v->valuestring[0] == '\0')
			return profile_refuse(
			    err, NULL, "%s must not be empty", writable[i]);
	}
	s = profile_str(doc, "externalId");
	if (s && utf8_len(s) > EXTERNAL_ID_MAX)
		return profile_refuse(
		    err, NULL, "externalId is longer than %s characters",
		    "255");
	s = profile_str(doc, "language");
	if (s && lang_index(s) < 0)
		return profile_refuse(
		    err, NULL, "language '%.40s' is not a documented code", s);
	return 0;
}

/* The document's field rules, before any call. */
static int engage_validate(const cJSON *doc, bool creating,
                           struct profile_error *err)
{
	const cJSON *loc = cJSON_GetObjectItemCaseSensitive(doc, "location");
	const char *cc = profile_str(loc, "countryCode");

	memset(err, 0, sizeof(*err));
	if (check_strings(doc, err))
		return -EINVAL;
	if (cc && utf8_len(cc) != 2)
		return profile_refuse(
		    err, NULL,
		    "countryCode '%.40s' must be exactly 2 "
		    "characters (billing_address.country_code)",
		    cc);
	if (cJSON_IsObject(loc) &&
	    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(loc, "countryCode")))
		return profile_refuse(
		    err, NULL,
		    "%s: countryCode cannot be cleared while "
		    "there is a location",
		    "billing_address.country_code");
	if (creating && location_complete(loc, err))
		return -EINVAL;
	return 0;
}

static const cJSON *engage_record_of(const cJSON *body)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "data");

	return cJSON_IsObject(d) ? d : NULL;
}

/* A translation in either shape -> {"<lang>": value}. */
static cJSON *project_translation(const cJSON *v)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *e;

	if (!o)
		return NULL;
	cJSON_ArrayForEach(e, v)
	{
		const char *lang =
		    cJSON_IsArray(v) ? profile_str(e, "language") : e->string;
		const cJSON *val =
		    cJSON_IsArray(v)
		        ? cJSON_GetObjectItemCaseSensitive(e, "value")
		        : e;

		if (!lang || !cJSON_IsString(val) ||
		    cJSON_HasObjectItem(o, lang))
			continue;
		if (!cJSON_AddStringToObject(o, lang, val->valuestring)) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* Only what custsync sends: postalCode, countryCode and translations.
 * geolocation, formattedAddress and the single city/state/street objects
 * are the server's (they follow geocoding and Accept-Language). */
static cJSON *project_location(const cJSON *loc)
{
	cJSON *o = cJSON_CreateObject(), *tr = cJSON_CreateObject();
	const cJSON *src =
	    cJSON_GetObjectItemCaseSensitive(loc, "translations");
	static const char *const plain[] = {"postalCode", "countryCode"};

	if (!o || !tr)
		goto oom;
	for (size_t i = 0; i < 2; i++) {
		const char *s = profile_str(loc, plain[i]);

		if (s && !cJSON_AddStringToObject(o, plain[i], s))
			goto oom;
	}
	for (size_t i = 0; i < 4; i++) {
		cJSON *one =
		    project_translation(cJSON_GetObjectItemCaseSensitive(
		        src, translation_keys[i]));

		if (!one)
			goto oom;
		if (!one->child) {
			cJSON_Delete(one);
			continue;
		}
		if (profile_put(tr, translation_keys[i], one))
			goto oom;
	}
	if (tr->child) {
		if (profile_put(o, "translations", tr))
			goto oom_o;
	} else {
		cJSON_Delete(tr);
	}
	return o;
oom:
	cJSON_Delete(tr);
oom_o:
	cJSON_Delete(o);
	return NULL;
}

static cJSON *engage_project(const cJSON *record)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *loc;

	if (!o || !cJSON_IsObject(record))
		return o;
	for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++) {
		const char *s = profile_str(record, writable[i]);

		if (s && !cJSON_AddStringToObject(o, writable[i], s))
			goto oom;
	}
	loc = cJSON_GetObjectItemCaseSensitive(record, "location");
	if (cJSON_IsObject(loc)) {
		cJSON *p = project_location(loc);

		if (!p)
			goto oom;
		if (!p->child)
			cJSON_Delete(p);
		else if (profile_put(o, "location", p))
			goto oom;
	}
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

/* deletedAt is set by a delete (soft or not, the record says so). */
static bool engage_is_deleted(const struct config *cfg, const cJSON *record)
{
	(void)cfg;
	return profile_str(record, "deletedAt") != NULL;
}

/* Every request: method, path, JSON body, Accept-Language. No ETags in
 * this API, so never an If-Match. */
static int engage_request(const struct config *cfg, struct api_request *out,
                          int method, char *path, const cJSON *body,
                          const char *scope)
{
	int rc =
	    profile_request(out, method, path, body, JSON_TYPE, NULL, scope);

	if (!rc)
		out->extra_header = accept_header(cfg);
	return rc;
}

/* ASSUMPTION (seed 003 documents no look-up): GET
 * /customers?externalId=KEY answers {"data": [customer...]}, the
 * customers of that externalId, deleted ones included (deletedAt set).
 * The key is the event's external_id if it carries one, else the key. */
static int lookup_by(const struct config *cfg, const char *external_id,
                     struct api_request *out)
{
	char *esc = profile_path_escape(external_id), *path;
	size_t n;

	if (!esc)
		return -ENOMEM;
	n = strlen(esc) + sizeof("/customers?externalId=");
	path = malloc(n);
	if (path)
		snprintf(path, n, "/customers?externalId=%s", esc);
	free(esc);
	return engage_request(cfg, out, HTTP_GET, path, NULL, "customer:read");
}

static int engage_lookup_request(const struct config *cfg,
                                 const struct change *ch,
                                 struct api_request *out)
{
	return lookup_by(cfg, profile_event_external_id(cfg, ch), out);
}

static const char *engage_record_owner(const cJSON *record)
{
	return profile_str(record, "externalId");
}

/* DECISION: the first live customer of the externalId, else the last
 * deleted one. A replayed create or upsert of a deleted customer then
 * compares equal and stays unchanged, and a replayed delete is
 * unchanged; one that differs is a PATCH, which the API refuses with
 * 404 for a deleted customer: an upsert or create then makes a new
 * customer, an update fails not_found. */
static int engage_lookup_parse(const struct config *cfg,
                               const struct change *ch,
                               const struct api_response *r, char **id,
                               cJSON **record)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data"), *e;
	const cJSON *best = NULL;
	int rc = 0;

	(void)ch;
	if (!cJSON_IsArray(data)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	cJSON_ArrayForEach(e, data)
	{
		if (!profile_str(e, "id"))
			continue;
		best = e;
		if (!engage_is_deleted(cfg, e))
			break;
	}
	if (best) {
		*id = strdup(profile_str(best, "id"));
		*record = cJSON_Duplicate(best, 1);
		rc = *id && *record ? 1 : -ENOMEM;
		if (rc < 0) {
			free(*id);
			cJSON_Delete(*record);
			*id = NULL;
			*record = NULL;
		}
	}
	cJSON_Delete(doc);
	return rc;
}

/* ASSUMPTION: GET /customers/{id} answers {"data": customer} as PATCH
 * does (the document names the resource but not its read). */
static int engage_get_request(const struct config *cfg, const char *id,
                              struct api_request *out)
{
	return engage_request(cfg, out, HTTP_GET,
	                      profile_id_path("/customers", id), NULL,
	                      "customer:read");
}

/* Comparable location -> the API's: translations become lists of
 * {"language", "value"} in the document's language order. */
static cJSON *wire_location(const cJSON *loc)
{
	const cJSON *tr =
	    cJSON_GetObjectItemCaseSensitive(loc, "translations");
	cJSON *o = cJSON_Duplicate(loc, 1), *wtr = cJSON_CreateObject();

	if (!o || !wtr)
		goto oom;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "translations");
	for (size_t k = 0; k < 4; k++) {
		const cJSON *one =
		    cJSON_GetObjectItemCaseSensitive(tr, translation_keys[k]);
		cJSON *list = cJSON_CreateArray();

		if (profile_put(wtr, translation_keys[k], list))
			goto oom;
		for (size_t i = 0; i < N_LANG; i++) {
			const char *v = profile_str(one, languages[i]);
			cJSON *e;

			if (!v)
				continue;
			e = cJSON_CreateObject();
			if (!e || !cJSON_AddItemToArray(list, e)) {
				cJSON_Delete(e);
				goto oom;
			}
			if (!cJSON_AddStringToObject(e, "language",
			                             languages[i]) ||
			    !cJSON_AddStringToObject(e, "value", v))
				goto oom;
		}
	}
	if (profile_put(o, "translations", wtr))
		goto oom_o;
	return o;
oom:
	cJSON_Delete(wtr);
oom_o:
	cJSON_Delete(o);
	return NULL;
}

/* A request body from the comparable shape: location in the API's. */
static cJSON *wire_body(const cJSON *doc, const cJSON *location)
{
	cJSON *b = cJSON_Duplicate(doc, 1), *w;

	if (!b)
		return NULL;
	if (!cJSON_IsObject(location))
		return b;
	w = wire_location(location);
	if (!w || !cJSON_ReplaceItemInObjectCaseSensitive(b, "location", w)) {
		cJSON_Delete(w);
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

/* ASSUMPTION: POST /customers takes the PATCH body and answers 201
 * {"data": customer}. */
static int engage_create_request(const struct config *cfg,
                                 const struct change *ch, const cJSON *record,
                                 struct api_request *out)
{
	cJSON *b = wire_body(
	    record, cJSON_GetObjectItemCaseSensitive(record, "location"));
	int rc;

	(void)ch;
	if (!b)
		return -ENOMEM;
	rc = engage_request(cfg, out, HTTP_POST, strdup("/customers"), b,
	                    "customer:create");
	cJSON_Delete(b);
	return rc;
}

/* PATCH sends what differs, except location: the API replaces it as a
 * whole, so a change to any of its members resends all of it (the
 * current location with the change applied). */
static int engage_update_request(const struct config *cfg,
                                 const struct change *ch, const char *id,
                                 const char *etag, const cJSON *patch,
                                 const cJSON *current, struct api_request *out,
                                 struct profile_error *err)
{
	const cJSON *lp = cJSON_GetObjectItemCaseSensitive(patch, "location");
	cJSON *cur = NULL, *loc = NULL, *b;
	int rc = 0;

	(void)ch;
	(void)etag;
	memset(err, 0, sizeof(*err));
	if (cJSON_IsObject(lp)) {
		cur = current ? engage_project(current) : NULL;
		loc = merge_patch_apply(
		    cJSON_GetObjectItemCaseSensitive(cur, "location"), lp);
		cJSON_Delete(cur);
		if (!loc)
			return -ENOMEM;
		if (location_complete(loc, err)) {
			cJSON_Delete(loc);
			return -EINVAL;
		}
	}
	b = wire_body(patch, loc);
	cJSON_Delete(loc);
	if (!b)
		return -ENOMEM;
	rc = engage_request(cfg, out, HTTP_PATCH,
	                    profile_id_path("/customers", id), b,
	                    "customer:update");
	cJSON_Delete(b);
	return rc;
}

/* ASSUMPTION: DELETE /customers/{id} answers 204 and sets deletedAt. */
static int engage_delete_request(const struct config *cfg, const char *id,
                                 const char *etag, const cJSON *current,
                                 struct api_request *out,
                                 struct profile_error *err)
{
	(void)etag;
	(void)current;
	(void)err;
	return engage_request(cfg, out, HTTP_DELETE,
	                      profile_id_path("/customers", id), NULL,
	                      "customer:delete");
}

static int engage_write_result(const struct api_response *r, char **id,
                               char **etag, cJSON **record)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *data = engage_record_of(doc);
	const char *i = profile_str(data, "id");

	*id = i ? strdup(i) : NULL;
	*etag = r->etag ? strdup(r->etag) : NULL;
	*record = data ? engage_project(data) : NULL;
	cJSON_Delete(doc);
	return profile_written(id, etag, record);
}

/* ASSUMPTION: a create whose externalId a live customer holds already
 * answers 409 in the errors envelope, arguments {"customerId"}; without
 * it, conflict_lookup finds the customer by externalId. custsync looks
 * the key up before creating, so this only meets a race. */
static int engage_conflict(const struct api_response *r, char **field,
                           char **id)
{
	cJSON *doc;
	const cJSON *e, *args;
	const char *i;

	if (r->status != 409)
		return 0;
	doc = cJSON_ParseWithLength(r->body, r->body_len);
	e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "errors"),
	                       0);
	args = cJSON_GetObjectItemCaseSensitive(e, "arguments");
	i = profile_str(args, "customerId");
	*field = strdup("externalId");
	*id = i ? strdup(i) : NULL;
	cJSON_Delete(doc);
	return 1;
}

static int engage_conflict_lookup(const struct config *cfg,
                                  const struct change *ch, const cJSON *record,
                                  struct api_request *out)
{
	const char *ext = profile_str(record, "externalId");

	return lookup_by(cfg, ext ? ext : ch->key, out);
}

/* The document's 422 business codes, reported as the outcome's error
 * code (lower case: outcome codes are snake_case). */
static const char *business_code(const char *api_code)
{
	static const char *const codes[][2] = {
	    {"CUSTOMER_NOT_IDENTIFIABLE", "customer_not_identifiable"},
	    {"LOCATION_GEOCODING_FAILED", "location_geocoding_failed"},
	    {"LOCATION_TIME_ZONE_RESOLUTION_FAILED",
	     "location_time_zone_resolution_failed"},
	};

	for (size_t i = 0; api_code && i < 3; i++)
		if (strcmp(api_code, codes[i][0]) == 0)
			return codes[i][1];
	return NULL;
}

/* {"errors": [{message, code, type, statusCode}]}: "CODE: message" for
 * each, joined with "; ". */
static void engage_error_message(const struct api_response *r,
                                 const char **code, char *buf, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	const cJSON *e, *list = cJSON_IsArray(errors) ? errors : NULL;
	const char *mine;

	buf[0] = '\0';
	cJSON_ArrayForEach(e, list)
	{
		const char *c = profile_str(e, "code");
		const char *m = profile_str(e, "message");
		size_t used = strlen(buf);

		if (used + 4 >= len)
			break;
		snprintf(buf + used, len - used, "%s%s%s%s", used ? "; " : "",
		         c ? c : "", c && m ? ": " : "", m ? m : "");
	}
	if (!buf[0] && r->body_len > 0)
		snprintf(buf, len, "%.200s", r->body);
	mine = r->status == 422 ? business_code(profile_str(
	                              cJSON_GetArrayItem(errors, 0), "code"))
	                        : NULL;
	if (mine)
		*code = mine;
	cJSON_Delete(doc);
}

/* ---- settings ---- */

/* RFC 9110 Accept-Language: language ranges ("da", "en-GB", "*"), commas,
 * ";q=0.5" weights and blanks. Checked by characters only: the value is a
 * header line, and anything else in it (a newline first of all) would
 * end the line. */
static const char *accept_language_check(const char *path, const char *s,
                                         char *buf, size_t len)
{
	const char *c = s;

	for (; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-*,;=. \t", *c))
			break;
	if (*s && !*c)
		return NULL;
	snprintf(buf, len,
	         "'%s' must be an Accept-Language value such as "
	         "'da, en;q=0.5'",
	         path);
	return buf;
}

/* "no" is Norwegian, which is why scalars are never read as YAML 1.1
 * booleans. */
static const struct config_row engage_settings[] = {
    {.path = "target.language",
     .type = CONFIG_CHOICE,
     .offset = CONFIG_AT(target.language),
     .def_str = "en",
     CONFIG_NAMES(languages),
     .doc = "engage: content language"},
    {.path = "target.accept_language",
     .type = CONFIG_STRING,
     .offset = CONFIG_AT(target.accept_language),
     .def_from = "target.language",
     .check = accept_language_check,
     .doc = "engage: the `Accept-Language` value"},
};

const struct profile_ops engage_profile = {
    .name = "engage",
    .settings = engage_settings,
    .n_settings = sizeof(engage_settings) / sizeof(engage_settings[0]),
    .flags = PROFILE_LOOKUP_HAS_RECORD | PROFILE_CREATE_LOOKS_UP,
    .owner_field = "externalId",
    .event_owner = profile_event_external_id,
    .record_owner = engage_record_owner,
    .map = engage_map,
    .validate = engage_validate,
    .record_of = engage_record_of,
    .project = engage_project,
    .is_deleted = engage_is_deleted,
    .lookup_request = engage_lookup_request,
    .lookup_parse = engage_lookup_parse,
    .get_request = engage_get_request,
    .create_request = engage_create_request,
    .update_request = engage_update_request,
    .delete_request = engage_delete_request,
    .write_result = engage_write_result,
    .conflict = engage_conflict,
    .conflict_lookup = engage_conflict_lookup,
    .error_message = engage_error_message,
};
