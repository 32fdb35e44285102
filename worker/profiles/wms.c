/* Profile "wms": a warehouse management system's Customer API
 * (shared/seeds/001).
 *
 *   GET    /Customer/{shortID}   find one (404: none); the look-up
 *   POST   /Customer             upsert of the whole record
 *   DELETE /Customer/{shortID}   mark discontinued (204)
 *   GET    /Customer/All         the paged list (look-up of "All" only)
 *
 * The API has no concurrency token and does not say whether POST clears
 * omitted fields, so every write is GET, merge, POST of the whole record
 * (cleared fields sent as ""). Between custsync's GET and its POST an
 * edit made in the WMS is lost; one key's writes are strictly serial in
 * custsync, which is all a client can do here.
 *
 * Comparable shape: the API's string fields plus "active", which POST
 * cannot write but which is compared against an event's status so that a
 * reactivation the API cannot do fails instead of passing unnoticed. */
#include "config/config.h"
#include "config/table.h"
#include "core/event.h"
#include "core/merge_patch.h"
#include "lib/num.h"
#include "profiles/kit.h"
#include "profiles/profile.h"
#include "core/request.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_TYPE      "application/json"
#define COLLECTION     "/Customer"
#define LIST_PAGE_SIZE 100
/* The last page a look-up asks for. */
#define LIST_PAGE_MAX 100000
/* The document's permissions, named in a 403's message. */
#define SCOPE_LIST   "SecurityID 130 (Customers List)"
#define SCOPE_MODIFY "SecurityID 131 (Create/Modify Customer)"

/* POST's field table minus shortID, in the document's order. */
static const char *const writable[] = {
    "name",    "address1", "address2", "city",  "state",   "zip",
    "country", "phone",    "fax",      "email", "contact",
};
#define N_WRITABLE (sizeof(writable) / sizeof(writable[0]))

/* The API's own error codes (the reference server's envelope) reported
 * as the outcome's code; static because sync keeps the pointer. */
static const char *const api_codes[] = {
    "invalid_request",
    "invalid_field",
    "invalid_email",
    "short_id_required",
};

/* DECISION: the first street line is address1; any further lines are
 * joined with ", " into address2, so no line is dropped. No lines (or
 * null) clears both. */
static int map_street(const cJSON *street, cJSON *out)
{
	const cJSON *line;
	size_t len = 1;
	bool first = true;
	char *buf;
	int rc;

	if (!cJSON_IsArray(street) || !cJSON_IsString(street->child))
		return profile_put(out, "address1", cJSON_CreateNull()) ||
		       profile_put(out, "address2", cJSON_CreateNull());
	if (profile_put(out, "address1", profile_copy_string(street->child)))
		return -ENOMEM;
	for (line = street->child->next; line; line = line->next)
		if (cJSON_IsString(line))
			len += strlen(line->valuestring) + 2;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	for (line = street->child->next; line; line = line->next) {
		if (!cJSON_IsString(line))
			continue;
		if (!first)
			strcat(buf, ", ");
		strcat(buf, line->valuestring);
		first = false;
	}
	rc = profile_put(out, "address2",
	                 first ? cJSON_CreateNull() : cJSON_CreateString(buf));
	free(buf);
	return rc;
}

static int map_address(const cJSON *a, cJSON *out)
{
	static const char *const flat[] = {"address1", "address2", "city",
	                                   "state",    "zip",      "country"};
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(a, "state_code");
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(a, "state");
	int rc = 0;

	if (!cJSON_IsObject(a)) {
		for (size_t i = 0; i < 6 && !rc; i++)
			rc = profile_put(out, flat[i], cJSON_CreateNull());
		return rc;
	}
	if (cJSON_HasObjectItem(a, "street"))
		rc = map_street(cJSON_GetObjectItemCaseSensitive(a, "street"),
		                out);
	if (!rc && cJSON_HasObjectItem(a, "city"))
		rc = profile_put(
		    out, "city",
		    profile_copy_string(
		        cJSON_GetObjectItemCaseSensitive(a, "city")));
	/* state is the code when the ERP has one, else the name. */
	if (!rc && cJSON_IsString(code))
		rc = profile_put(out, "state", profile_copy_string(code));
	else if (!rc && (code || state))
		rc = profile_put(out, "state", profile_copy_string(state));
	if (!rc && cJSON_HasObjectItem(a, "postal_code"))
		rc = profile_put(
		    out, "zip",
		    profile_copy_string(
		        cJSON_GetObjectItemCaseSensitive(a, "postal_code")));
	/* DECISION: country is the API's "Country code": only country_code
	 * maps; a country name is not a code and is left out. */
	if (!rc && cJSON_HasObjectItem(a, "country_code"))
		rc = profile_put(
		    out, "country",
		    profile_copy_string(
		        cJSON_GetObjectItemCaseSensitive(a, "country_code")));
	return rc;
}

/* DECISION: contact is contact.name, else "first_name last_name" (either
 * alone when the other is missing); nothing usable clears. An update
 * should send the whole contact object: the API keeps one string, so a
 * patch of first_name alone cannot keep the old last_name. */
static cJSON *map_contact(const cJSON *c)
{
	const char *name = profile_str(c, "name");
	const char *first = profile_str(c, "first_name");
	const char *last = profile_str(c, "last_name");
	char *buf;
	size_t n;
	cJSON *out;

	if (name && *name)
		return cJSON_CreateString(name);
	if (!first && !last)
		return cJSON_CreateNull();
	n = (first ? strlen(first) : 0) + (last ? strlen(last) : 0) + 2;
	buf = malloc(n);
	if (!buf)
		return NULL;
	snprintf(buf, n, "%s%s%s", first ? first : "",
	         first && last ? " " : "", last ? last : "");
	out = cJSON_CreateString(buf);
	free(buf);
	return out;
}

/* The shortID of the event's customer: the key, or with short_id: number
 * the customer's number. NULL when the event does not carry it. */
static const char *wms_short_id(const struct config *cfg,
                                const struct change *ch)
{
	if (cfg->target.short_id == SHORT_ID_NUMBER)
		return profile_str(ch->customer, "number");
	return ch->key;
}

/* DECISION: a shortID of "All" (any case, as routes usually match) is
 * refused for writes: GET /Customer/All is the list, so custsync could
 * never read such a customer back. A delete finds it through the list
 * and DELETE /Customer/All, which does not collide. */
static bool wms_reserved(const char *id)
{
	return strcasecmp(id, "All") == 0;
}

static int wms_map(const struct config *cfg, const struct change *ch,
                   cJSON **out, struct profile_error *err)
{
	static const char *const simple[][2] = {{"name", "name"},
	                                        {"fax", "fax"},
	                                        {"phone", "phone"},
	                                        {"email", "email"}};
	const cJSON *c = ch->customer;
	const char *id = wms_short_id(cfg, ch);
	const char *status = profile_str(c, "status");
	cJSON *o;
	int rc = 0;

	memset(err, 0, sizeof(*err));
	if (!id || !*id)
		return profile_refuse(
		    err, "missing_short_id",
		    "%s: short_id is number, but the event "
		    "carries no customer.number (every create, "
		    "update and upsert must)",
		    ch->key);
	if (wms_reserved(id))
		return profile_refuse(
		    err, "reserved_short_id",
		    "shortID '%s' collides with GET /Customer/All "
		    "(the list): custsync could never read it back",
		    id);
	o = cJSON_CreateObject();
	if (!o)
		goto oom;
	/* The API holds one phone and one email: an ERP list gives its
	 * first element, an empty list or null clears. fax is one string in
	 * the input contract (a list is invalid_event) and passes through
	 * as it is. */
	for (size_t i = 0; i < 4 && !rc; i++)
		if (cJSON_HasObjectItem(c, simple[i][0]))
			rc = profile_put(o, simple[i][1],
			                 profile_copy_string(profile_first(
			                     cJSON_GetObjectItemCaseSensitive(
			                         c, simple[i][0]))));
	if (!rc && cJSON_HasObjectItem(c, "billing_address"))
		rc = map_address(
		    cJSON_GetObjectItemCaseSensitive(c, "billing_address"), o);
	if (!rc && cJSON_HasObjectItem(c, "contact"))
		rc = profile_put(o, "contact",
		                 map_contact(cJSON_GetObjectItemCaseSensitive(
		                     c, "contact")));
	/* Not sent (POST has no active): compared, see wms_write_plan. */
	if (!rc && status)
		rc = profile_put(
		    o, "active",
		    cJSON_CreateBool(strcmp(status, "active") == 0));
	return profile_mapped(o, rc, out, err);
oom:
	return profile_mapped(o, -ENOMEM, out, err);
}

/* The document states no field rules besides shortID (always sent).
 * DECISION: a new customer cannot be created discontinued: POST has no
 * active, so the record would silently come out active. */
static int wms_validate(const cJSON *doc, bool creating,
                        struct profile_error *err)
{
	if (creating &&
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "active")))
		return profile_refuse(
		    err, "cannot_create_discontinued",
		    "%s: the API cannot create a discontinued "
		    "customer (POST /Customer has no active "
		    "field); create it active, then send the "
		    "status",
		    "status is inactive");
	return 0;
}

static bool is_list(const cJSON *body)
{
	return cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(body, "value"));
}

static const cJSON *wms_record_of(const cJSON *body)
{
	return cJSON_IsObject(body) && !is_list(body) ? body : NULL;
}

/* Writable strings, "" and null dropped (the API shows cleared fields
 * as ""), plus active; shortID, created and modified are the server's. */
static cJSON *wms_project(const cJSON *record)
{
	const cJSON *active =
	    cJSON_GetObjectItemCaseSensitive(record, "active");
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_IsObject(record))
		return o;
	for (size_t i = 0; i < N_WRITABLE; i++) {
		const char *s = profile_str(record, writable[i]);

		if (s && *s && !cJSON_AddStringToObject(o, writable[i], s))
			goto oom;
	}
	if (cJSON_IsBool(active) &&
	    !cJSON_AddBoolToObject(o, "active", cJSON_IsTrue(active)))
		goto oom;
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

/* DECISION: shortIDs are compared exactly, as the reference server and
 * the document's examples treat them: a WMS that answers the record of
 * "ACME" for "acme" would otherwise hand one ERP key's record to
 * another. */
static const char *wms_record_owner(const cJSON *record)
{
	return profile_str(record, "shortID");
}

static bool wms_is_deleted(const struct config *cfg, const cJSON *record)
{
	(void)cfg;
	return cJSON_IsFalse(
	    cJSON_GetObjectItemCaseSensitive(record, "active"));
}

static int list_request(struct api_request *out, long page)
{
	char path[96];

	snprintf(path, sizeof(path), COLLECTION "/All?page=%ld&pageSize=%d",
	         page, LIST_PAGE_SIZE);
	return profile_request(out, HTTP_GET, strdup(path), NULL, NULL, NULL,
	                       SCOPE_LIST);
}

/* GET /Customer/{shortID}: the answer is the record itself. */
static int wms_lookup_request(const struct config *cfg,
                              const struct change *ch, struct api_request *out)
{
	const char *id = wms_short_id(cfg, ch);

	/* A delete with short_id: number carries no number: only the cache
	 * (an earlier event of the key) knows its shortID. The seam has no
	 * refusal here; see the README. */
	if (!id || !*id)
		return -EINVAL;
	if (wms_reserved(id))
		return list_request(out, 1);
	return profile_request(out, HTTP_GET, profile_id_path(COLLECTION, id),
	                       NULL, NULL, NULL, SCOPE_LIST);
}

static int found(const cJSON *rec, const char *id, char **out_id,
                 cJSON **record)
{
	*out_id = strdup(id);
	*record = cJSON_Duplicate(rec, 1);
	if (!*out_id || !*record) {
		free(*out_id);
		cJSON_Delete(*record);
		*out_id = NULL;
		*record = NULL;
		return -ENOMEM;
	}
	return 1;
}

static int wms_lookup_parse(const struct config *cfg, const struct change *ch,
                            const struct api_response *r, char **id,
                            cJSON **record)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const char *want = wms_short_id(cfg, ch);
	const char *got;
	const cJSON *item;
	int rc = 0;

	if (!cJSON_IsObject(doc) || !want) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	if (is_list(doc)) {
		cJSON_ArrayForEach(
		    item, cJSON_GetObjectItemCaseSensitive(doc, "value"))
		{
			got = profile_str(item, "shortID");
			if (got && strcmp(got, want) == 0) {
				rc = found(item, got, id, record);
				break;
			}
		}
	} else {
		got = profile_str(doc, "shortID");
		rc = found(doc, got ? got : want, id, record);
	}
	cJSON_Delete(doc);
	return rc;
}

/* The list's next page while hasMore says there is one. Bounded: a
 * server that always says hasMore stops somewhere, and a page that is
 * not a whole number from 1 to LIST_PAGE_MAX - 1 (9e97, 2.5, "2") ends
 * the list as well. */
static int wms_lookup_next(const struct config *cfg, const struct change *ch,
                           const struct api_response *r,
                           struct api_request *out)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *page = cJSON_GetObjectItemCaseSensitive(doc, "page");
	bool more =
	    is_list(doc) &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "hasMore"));
	int64_t cur;
	int rc = num_json_int(page, 1, LIST_PAGE_MAX - 1, &cur);

	(void)cfg;
	(void)ch;
	cJSON_Delete(doc);
	if (!more || rc)
		return -ENOENT;
	return list_request(out, (long)cur + 1);
}

static int wms_get_request(const struct config *cfg, const char *id,
                           struct api_request *out)
{
	(void)cfg;
	return profile_request(out, HTTP_GET, profile_id_path(COLLECTION, id),
	                       NULL, NULL, NULL, SCOPE_LIST);
}

static int post(struct api_request *out, cJSON *body)
{
	int rc = profile_request(out, HTTP_POST, strdup(COLLECTION), body,
	                         JSON_TYPE, NULL, SCOPE_MODIFY);

	cJSON_Delete(body);
	return rc;
}

/* shortID first, then the fields; active is never sent. */
static cJSON *post_body(const char *id, const cJSON *fields, bool fill)
{
	cJSON *b = cJSON_CreateObject();

	if (!b || !cJSON_AddStringToObject(b, "shortID", id))
		goto oom;
	for (size_t i = 0; i < N_WRITABLE; i++) {
		const char *s = profile_str(fields, writable[i]);

		/* With fill, an absent field is sent as "": the document
		 * does not say that POST clears what it omits. */
		if ((s || fill) &&
		    !cJSON_AddStringToObject(b, writable[i], s ? s : ""))
			goto oom;
	}
	return b;
oom:
	cJSON_Delete(b);
	return NULL;
}

static int wms_create_request(const struct config *cfg,
                              const struct change *ch, const cJSON *record,
                              struct api_request *out)
{
	const char *id = wms_short_id(cfg, ch);
	cJSON *b = id ? post_body(id, record, false) : NULL;

	memset(out, 0, sizeof(*out));
	return b ? post(out, b) : -ENOMEM;
}

enum wms_plan { PLAN_POST, PLAN_DISCONTINUE, PLAN_REFUSE };

/* DECISION, the API's active flag against the event (README, "wms"):
 * - status active on a discontinued customer, or a create/upsert (not
 *   saying inactive) whose fields differ from a discontinued one:
 *   refused, cannot_reactivate: POST has no active and nothing else in
 *   the document reactivates.
 * - an update of other fields of a discontinued customer: POSTed; the
 *   customer stays discontinued (the WMS keeps history).
 * - status inactive on an active customer: DELETE (discontinue) when
 *   nothing else differs; with other differences too refused,
 *   discontinue_with_changes: that takes two writes, and either one
 *   alone would report a half-done event as applied. */
static enum wms_plan wms_write_plan(const struct change *ch,
                                    const cJSON *patch, const cJSON *current,
                                    struct profile_error *err)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(patch, "active");
	const char *status = profile_str(ch->customer, "status");
	bool discontinued =
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(current, "active"));
	bool asserts = ch->op == CHANGE_CREATE || ch->op == CHANGE_UPSERT;

	if (cJSON_IsTrue(want) ||
	    (discontinued && asserts &&
	     !(status && strcmp(status, "inactive") == 0))) {
		profile_refuse(
		    err, "cannot_reactivate",
		    "customer '%s' is discontinued in the WMS and the API "
		    "cannot reactivate it (POST /Customer has no active); "
		    "reactivate it in the WMS, then replay this event",
		    ch->key);
		return PLAN_REFUSE;
	}
	if (cJSON_IsFalse(want)) {
		if (cJSON_GetArraySize(patch) == 1)
			return PLAN_DISCONTINUE;
		profile_refuse(
		    err, "discontinue_with_changes",
		    "customer '%s': the event discontinues it and changes "
		    "fields; the API needs a POST and a DELETE for that, "
		    "so nothing was sent",
		    ch->key);
		return PLAN_REFUSE;
	}
	return PLAN_POST;
}

/* GET, merge, POST the whole record: no ETag exists to send. */
static int wms_update_request(const struct config *cfg,
                              const struct change *ch, const char *id,
                              const char *etag, const cJSON *patch,
                              const cJSON *current, struct api_request *out,
                              struct profile_error *err)
{
	cJSON *merged, *b;

	(void)cfg;
	(void)etag;
	memset(out, 0, sizeof(*out));
	switch (wms_write_plan(ch, patch, current, err)) {
	case PLAN_REFUSE:
		return -EINVAL;
	case PLAN_DISCONTINUE:
		return profile_request(out, HTTP_DELETE,
		                       profile_id_path(COLLECTION, id), NULL,
		                       NULL, NULL, SCOPE_MODIFY);
	case PLAN_POST:
		break;
	}
	merged = merge_patch_apply(current, patch);
	b = merged ? post_body(id, merged, current != NULL) : NULL;
	cJSON_Delete(merged);
	return b ? post(out, b) : -ENOMEM;
}

static int wms_delete_request(const struct config *cfg, const char *id,
                              const char *etag, const cJSON *current,
                              struct api_request *out,
                              struct profile_error *err)
{
	(void)cfg;
	(void)etag;
	(void)current;
	(void)err;
	return profile_request(out, HTTP_DELETE,
	                       profile_id_path(COLLECTION, id), NULL, NULL,
	                       NULL, SCOPE_MODIFY);
}

/* POST answers the record (200; 201 accepted too). A 204 without a body
 * is the DELETE of a status: inactive update: no record, and the
 * response cannot name the id (the seam passes none; README). */
static int wms_write_result(const struct api_response *r, char **id,
                            char **etag, cJSON **record)
{
	cJSON *doc;
	const char *s;

	*id = *etag = NULL;
	*record = NULL;
	if (r->status == 204 || r->body_len == 0)
		return r->status == 204 ? 0 : -EINVAL;
	doc = cJSON_ParseWithLength(r->body, r->body_len);
	s = profile_str(wms_record_of(doc), "shortID");
	if (s) {
		*id = strdup(s);
		*record = wms_project(doc);
	}
	cJSON_Delete(doc);
	return profile_written(id, NULL, record);
}

/* An upsert reports no duplicates: there is no conflict to resolve. */
static int wms_conflict(const struct api_response *r, char **field, char **id)
{
	(void)r;
	*field = *id = NULL;
	return 0;
}

/* The longest a problem's title or detail, or one field's message, may
 * take of the outcome's message, so one long text leaves room for the
 * field errors. */
#define WORDS_MAX 200

/* Appends sep (when buf holds something) and at most max bytes of s to
 * buf, cut on a UTF-8 character boundary; control characters become
 * spaces, so the message stays one line. False once buf is full: what
 * follows would be cut off mid-sentence, so nothing more is added. */
static bool text_add(char *buf, size_t len, size_t *used, const char *sep,
                     const char *s, size_t max)
{
	size_t n = strlen(s), k = *used && sep ? strlen(sep) : 0;
	bool cut = n > max;

	if (*used + k + 1 >= len)
		return false;
	memcpy(buf + *used, sep ? sep : "", k);
	*used += k;
	if (n > max)
		n = max;
	if (n > len - *used - 1) {
		n = len - *used - 1;
		cut = true;
	}
	while (cut && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[*used + i] = c < 0x20 || c == 0x7F ? ' ' : (char)c;
	}
	*used += n;
	buf[*used] = '\0';
	return *used + 1 < len;
}

/* The words of one error item: a string, or an object's message,
 * detail, reason or title. */
static const char *words_of(const cJSON *v)
{
	static const char *const keys[] = {"message", "detail", "reason",
	                                   "title"};
	const char *w = NULL;

	if (cJSON_IsString(v))
		return v->valuestring;
	for (size_t i = 0; i < 4 && !w; i++)
		w = profile_str(v, keys[i]);
	return w;
}

/* The field an error item names: field, name (RFC 7807's
 * invalid-params), pointer (RFC 9457) or property; NULL for none. */
static const char *field_of(const cJSON *v)
{
	static const char *const keys[] = {"field", "name", "pointer",
	                                   "property"};
	const char *f = NULL;

	for (size_t i = 0; i < 4 && !f; i++)
		f = profile_str(v, keys[i]);
	return f && *f ? f : NULL;
}

/* "field: msg1, msg2" for each member of an errors object (ASP.NET
 * Core's ValidationProblemDetails: field -> [messages]), or "field: msg"
 * for each item of an errors array ([{field?, message | detail}]),
 * joined with "; ". */
static void add_field_errors(char *buf, size_t len, size_t *used,
                             const cJSON *errors)
{
	const cJSON *e, *m;
	bool more = true;

	cJSON_ArrayForEach(e, errors)
	{
		const char *f =
		    cJSON_IsObject(errors) ? e->string : field_of(e);
		const char *sep = "; ";
		bool any = false;

		if (!more)
			break;
		if (cJSON_IsArray(e)) {
			cJSON_ArrayForEach(m, e)
			{
				const char *w = words_of(m);

				if (!w || !more)
					continue;
				if (!any && f && *f)
					more = text_add(buf, len, used, sep, f,
					                WORDS_MAX) &&
					       text_add(buf, len, used, ": ",
					                w, WORDS_MAX);
				else
					more = text_add(buf, len, used,
					                any ? ", " : sep, w,
					                WORDS_MAX);
				any = true;
			}
			continue;
		}
		if (!words_of(e))
			continue;
		if (f && *f)
			more = text_add(buf, len, used, sep, f, WORDS_MAX) &&
			       text_add(buf, len, used, ": ", words_of(e),
			                WORDS_MAX);
		else
			more = text_add(buf, len, used, sep, words_of(e),
			                WORDS_MAX);
	}
}

/* DECISION (the document names no error body): the message is
 * "code: message" for the reference server's {"code", "message"}
 * ("Message", an "error" string or an error object's message are read
 * too), or "title: detail" for an RFC 9457 / 7807 problem document,
 * either followed by the field errors ("errors" as an object or an
 * array, RFC 7807's "invalid-params"): "title: detail; field: msg1,
 * msg2; field2: msg". Each part is bounded (WORDS_MAX) and the whole
 * fits len, cut on a UTF-8 boundary. A body without any of these gives
 * its first 200 bytes. A known API code replaces custsync's. */
static void wms_error_message(const struct api_response *r, const char **code,
                              char *buf, size_t len)
{
	static const char *const keys[] = {"message", "Message", "title"};
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const char *c = profile_str(doc, "code");
	const char *m = cJSON_IsString(err) ? err->valuestring : NULL;
	const char *detail = profile_str(doc, "detail");
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 3 && !m; i++)
		m = profile_str(doc, keys[i]);
	if (!m && cJSON_IsObject(err)) {
		m = profile_str(err, "message");
		if (!c)
			c = profile_str(err, "code");
	}
	if (c && *c && ((m && *m) || (detail && *detail)))
		text_add(buf, len, &used, NULL, c, WORDS_MAX);
	if (m && *m)
		text_add(buf, len, &used, ": ", m, WORDS_MAX);
	if (detail && *detail && !(m && strcmp(m, detail) == 0))
		text_add(buf, len, &used, ": ", detail, WORDS_MAX);
	add_field_errors(buf, len, &used,
	                 cJSON_GetObjectItemCaseSensitive(doc, "errors"));
	add_field_errors(
	    buf, len, &used,
	    cJSON_GetObjectItemCaseSensitive(doc, "invalid-params"));
	if (!used && r->body_len > 0)
		text_add(buf, len, &used, NULL, r->body, 200);
	for (size_t i = 0; c && i < sizeof(api_codes) / sizeof(*api_codes);
	     i++)
		if (strcmp(c, api_codes[i]) == 0)
			*code = api_codes[i];
	cJSON_Delete(doc);
}

/* ---- settings ---- */

static const char *const short_id_names[SHORT_ID_MAX] = {
    [SHORT_ID_KEY] = "key",
    [SHORT_ID_NUMBER] = "number",
};

static const struct config_row wms_settings[] = {
    {.path = "target.short_id",
     .type = CONFIG_ENUM,
     .offset = CONFIG_AT(target.short_id),
     .def = SHORT_ID_KEY,
     CONFIG_NAMES(short_id_names),
     .doc = "wms: what the shortID is, the customer's key or its "
            "number"},
};

const struct profile_ops wms_profile = {
    .name = "wms",
    .settings = wms_settings,
    .n_settings = sizeof(wms_settings) / sizeof(wms_settings[0]),
    .flags = PROFILE_LOOKUP_HAS_RECORD | PROFILE_CREATE_LOOKS_UP,
    .owner_field = "shortID",
    .event_owner = wms_short_id,
    .record_owner = wms_record_owner,
    .map = wms_map,
    .validate = wms_validate,
    .record_of = wms_record_of,
    .project = wms_project,
    .is_deleted = wms_is_deleted,
    .lookup_request = wms_lookup_request,
    .lookup_parse = wms_lookup_parse,
    .lookup_next = wms_lookup_next,
    .get_request = wms_get_request,
    .create_request = wms_create_request,
    .update_request = wms_update_request,
    .delete_request = wms_delete_request,
    .write_result = wms_write_result,
    .conflict = wms_conflict,
    .error_message = wms_error_message,
};
