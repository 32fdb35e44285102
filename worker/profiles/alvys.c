/* Profile "alvys": the Alvys Public API customer write endpoints
 * (shared/seeds/000). POST create, PATCH merge patch with If-Match,
 * DELETE soft delete with If-Match, POST /customers/search to find a key. */
#include "core/event.h"
#include "profiles/kit.h"
#include "profiles/profile.h"
#include "core/request.h"
#include "lib/utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE        "application/json"
#define MERGE_PATCH_TYPE "application/merge-patch+json"

static const char *const writable[] = {
    "Name",  "Type",  "CompanyNumber", "Status",     "BillingAddress",
    "Email", "Phone", "Fax",           "ExternalId",
};
static const char *const address_fields[] = {"Street", "City", "State", "Zip"};

/* ERP enum → API enum; values were checked by the event parser. */
static cJSON *map_enum(const cJSON *v, const char *const *from,
                       const char *const *to, size_t n)
{
	if (cJSON_IsString(v))
		for (size_t i = 0; i < n; i++)
			if (strcmp(v->valuestring, from[i]) == 0)
				return cJSON_CreateString(to[i]);
	return cJSON_CreateNull();
}

/* An empty list clears, like an absent one: the API treats them alike. */
static cJSON *map_list(const cJSON *v)
{
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0)
		return cJSON_Duplicate(v, 1);
	return cJSON_CreateNull();
}

/* The API has one Street line: ERP lines are joined with ", ". */
static cJSON *map_street(const cJSON *v)
{
	const cJSON *line;
	size_t len = 1;
	char *buf;
	cJSON *out;

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return cJSON_CreateNull();
	cJSON_ArrayForEach(line, v) if (cJSON_IsString(line)) len +=
	    strlen(line->valuestring) + 2;
	buf = calloc(1, len);
	if (!buf)
		return NULL;
	cJSON_ArrayForEach(line, v)
	{
		if (!cJSON_IsString(line))
			continue;
		if (buf[0])
			strcat(buf, ", ");
		strcat(buf, line->valuestring);
	}
	out = cJSON_CreateString(buf);
	free(buf);
	return out;
}

static int map_address(const cJSON *a, cJSON *out)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(a, "state_code");
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(a, "state");
	cJSON *addr;

	if (!cJSON_IsObject(a))
		return profile_put(out, "BillingAddress", cJSON_CreateNull());
	addr = cJSON_CreateObject();
	if (profile_put(out, "BillingAddress", addr))
		return -ENOMEM;
	if (cJSON_HasObjectItem(a, "street") &&
	    profile_put(
	        addr, "Street",
	        map_street(cJSON_GetObjectItemCaseSensitive(a, "street"))))
		return -ENOMEM;
	if (cJSON_HasObjectItem(a, "city") &&
	    profile_put(addr, "City",
	                profile_copy_string(
	                    cJSON_GetObjectItemCaseSensitive(a, "city"))))
		return -ENOMEM;
	/* State is the code when the ERP has one, else the name. */
	if (cJSON_IsString(code)) {
		if (profile_put(addr, "State", profile_copy_string(code)))
			return -ENOMEM;
	} else if (cJSON_IsString(state) || code || state) {
		if (profile_put(addr, "State", profile_copy_string(state)))
			return -ENOMEM;
	}
	if (cJSON_HasObjectItem(a, "postal_code") &&
	    profile_put(addr, "Zip",
	                profile_copy_string(cJSON_GetObjectItemCaseSensitive(
	                    a, "postal_code"))))
		return -ENOMEM;
	return 0;
}

static int alvys_map(const struct config *cfg, const struct change *ch,
                     cJSON **out, struct profile_error *err)
{
	static const char *const types_from[] = {"customer", "broker"};
	static const char *const types_to[] = {"Customer", "Broker/3PL"};
	static const char *const status_from[] = {"active", "inactive"};
	static const char *const status_to[] = {"Active", "Inactive"};
	static const struct {
		const char *from, *to;
	} strings[] = {{"name", "Name"},
	               {"number", "CompanyNumber"},
	               {"external_id", "ExternalId"},
	               {"fax", "Fax"}};
	const cJSON *c = ch->customer;
	cJSON *o = cJSON_CreateObject();
	int rc = 0;

	(void)cfg;
	if (!o)
		goto oom;
	for (size_t i = 0; i < 4 && !rc; i++)
		if (cJSON_HasObjectItem(c, strings[i].from))
			rc = profile_put(o, strings[i].to,
			                 profile_copy_string(
			                     cJSON_GetObjectItemCaseSensitive(
			                         c, strings[i].from)));
	if (!rc && cJSON_HasObjectItem(c, "type"))
		rc = profile_put(
		    o, "Type",
		    map_enum(cJSON_GetObjectItemCaseSensitive(c, "type"),
		             types_from, types_to, 2));
	if (!rc && cJSON_HasObjectItem(c, "status"))
		rc = profile_put(
		    o, "Status",
		    map_enum(cJSON_GetObjectItemCaseSensitive(c, "status"),
		             status_from, status_to, 2));
	if (!rc && cJSON_HasObjectItem(c, "email"))
		rc = profile_put(
		    o, "Email",
		    map_list(cJSON_GetObjectItemCaseSensitive(c, "email")));
	if (!rc && cJSON_HasObjectItem(c, "phone"))
		rc = profile_put(
		    o, "Phone",
		    map_list(cJSON_GetObjectItemCaseSensitive(c, "phone")));
	if (!rc && cJSON_HasObjectItem(c, "billing_address"))
		rc = map_address(
		    cJSON_GetObjectItemCaseSensitive(c, "billing_address"), o);
	/* ExternalId carries the ERP key unless the ERP gives its own, so
	 * the key can be found again by search. Updates leave it alone. */
	if (!rc && ch->op != CHANGE_UPDATE && ch->op != CHANGE_DELETE &&
	    !cJSON_IsString(
	        cJSON_GetObjectItemCaseSensitive(o, "ExternalId"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "ExternalId");
		rc = profile_put(o, "ExternalId", cJSON_CreateString(ch->key));
	}
	return profile_mapped(o, rc, out, err);
oom:
	return profile_mapped(o, -ENOMEM, out, err);
}

static int check_len(const cJSON *doc, const char *name, size_t max,
                     struct profile_error *err)
{
	const char *s = profile_str(doc, name);

	if (s && utf8_len(s) > max) {
		snprintf(err->message, sizeof(err->message),
		         "%s is %zu characters; the API allows at most %zu",
		         name, utf8_len(s), max);
		return -EINVAL;
	}
	return 0;
}

/* The document's field rules (seed 000, "Field validation"), applied
 * before any call so a record the API must refuse costs no request. */
static int alvys_validate(const cJSON *doc, bool creating,
                          struct profile_error *err)
{
	static const char *const required[] = {"Name", "Type", "Status"};
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "Name");
	const char *status = profile_str(doc, "Status");

	for (size_t i = 0; i < 3; i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(doc, required[i]);

		if (cJSON_IsNull(v) || (creating && i < 2 && !v)) {
			snprintf(err->message, sizeof(err->message),
			         "%s is required%s", required[i],
			         v ? " and cannot be cleared" : " on create");
			return -EINVAL;
		}
	}
	if (cJSON_IsString(name) && profile_blank(name->valuestring)) {
		snprintf(err->message, sizeof(err->message),
		         "Name must not be blank");
		return -EINVAL;
	}
	if (status && strcmp(status, "Active") && strcmp(status, "Inactive")) {
		snprintf(err->message, sizeof(err->message),
		         "Status must be Active or Inactive");
		return -EINVAL;
	}
	if (check_len(doc, "Name", 200, err) ||
	    check_len(doc, "CompanyNumber", 32, err) ||
	    check_len(doc, "ExternalId", 100, err))
		return -EINVAL;
	return 0;
}

static void drop_empty(cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (cJSON_IsNull(v) || ((cJSON_IsArray(v) || cJSON_IsObject(v)) &&
	                        cJSON_GetArraySize(v) == 0))
		cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
}

/* The writable members of body. take: body is the caller's to discard
 * (a parsed answer), and its members are moved instead of copied; else
 * body is only read. Member names are the static ones of writable[],
 * not copies. */
static cJSON *project(cJSON *body, bool take)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_IsObject(body))
		return o;
	for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(body, writable[i]);
		cJSON *copy;

		if (!v || cJSON_IsNull(v))
			continue;
		copy = take ? cJSON_DetachItemFromObjectCaseSensitive(
		                  body, writable[i])
		            : cJSON_Duplicate(v, 1);
		if (!copy || !cJSON_AddItemToObjectCS(o, writable[i], copy)) {
			cJSON_Delete(copy);
			continue;
		}
		if (cJSON_IsObject(copy)) {
			/* Keep only the address members custsync writes. */
			cJSON *m = copy->child, *next;

			for (; m; m = next) {
				bool keep = false;

				next = m->next;
				for (size_t k = 0; k < 4; k++)
					keep |= strcmp(m->string,
					               address_fields[k]) == 0;
				if (!keep || cJSON_IsNull(m))
					cJSON_DeleteItemFromObjectCaseSensitive(
					    copy, m->string);
			}
		}
		drop_empty(o, writable[i]);
	}
	return o;
}

static cJSON *alvys_project(const cJSON *body)
{
	return project((cJSON *)body, false);
}

static const cJSON *alvys_record_of(const cJSON *body)
{
	return cJSON_IsObject(body) ? body : NULL;
}

static const char *alvys_record_owner(const cJSON *record)
{
	return profile_str(record, "ExternalId");
}

static bool alvys_is_deleted(const struct config *cfg, const cJSON *record)
{
	(void)cfg;
	const char *s = profile_str(record, "Status");

	return s && strcmp(s, "Inactive") == 0;
}

/* ASSUMPTION (seed 000 names POST /customers/search but not its body):
 * an object of exact-match filters, {"ExternalId": KEY}, answered by
 * {"Items": [CustomerResponse...], "Total": n}. Kept in these two
 * functions so a different shape changes nothing else. */
static int alvys_lookup_request(const struct config *cfg,
                                const struct change *ch,
                                struct api_request *out)
{
	cJSON *body = cJSON_CreateObject();
	int rc;

	(void)cfg;
	if (!body ||
	    !cJSON_AddStringToObject(body, "ExternalId",
	                             profile_event_external_id(cfg, ch))) {
		cJSON_Delete(body);
		return -ENOMEM;
	}
	rc = profile_request(out, HTTP_POST, strdup("/customers/search"), body,
	                     JSON_TYPE, NULL, "customer:read");
	cJSON_Delete(body);
	return rc;
}

static int alvys_lookup_parse(const struct config *cfg,
                              const struct change *ch,
                              const struct api_response *r, char **id,
                              cJSON **record)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "Items");
	const char *found;
	int rc;

	(void)cfg;
	(void)ch;
	(void)record;
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	found = profile_str(cJSON_GetArrayItem(items, 0), "Id");
	rc = found ? 1 : 0;
	if (found && !(*id = strdup(found)))
		rc = -ENOMEM;
	cJSON_Delete(doc);
	return rc;
}

static int alvys_get_request(const struct config *cfg, const char *id,
                             struct api_request *out)
{
	(void)cfg;
	return profile_request(out, HTTP_GET,
	                       profile_id_path("/customers", id), NULL, NULL,
	                       NULL, "customer:read");
}

static int alvys_create_request(const struct config *cfg,
                                const struct change *ch, const cJSON *record,
                                struct api_request *out)
{
	(void)cfg;
	(void)ch;
	return profile_request(out, HTTP_POST, strdup("/customers"), record,
	                       JSON_TYPE, NULL, "customer:create");
}

/* A true partial update: only what differs, guarded by the ETag. */
static int alvys_update_request(const struct config *cfg,
                                const struct change *ch, const char *id,
                                const char *etag, const cJSON *patch,
                                const cJSON *current, struct api_request *out,
                                struct profile_error *err)
{
	(void)cfg;
	(void)ch;
	(void)current;
	(void)err;
	return profile_request(out, HTTP_PATCH,
	                       profile_id_path("/customers", id), patch,
	                       MERGE_PATCH_TYPE, etag, "customer:update");
}

static int alvys_delete_request(const struct config *cfg, const char *id,
                                const char *etag, const cJSON *current,
                                struct api_request *out,
                                struct profile_error *err)
{
	(void)cfg;
	(void)current;
	(void)err;
	return profile_request(out, HTTP_DELETE,
	                       profile_id_path("/customers", id), NULL, NULL,
	                       etag, "customer:delete");
}

static int alvys_write_result(const struct api_response *r, char **id,
                              char **etag, cJSON **record)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const char *i = profile_str(doc, "Id");
	const char *e = r->etag ? r->etag : profile_str(doc, "ETag");

	*id = i ? strdup(i) : NULL;
	*etag = e ? strdup(e) : NULL;
	*record = project(doc, true);
	cJSON_Delete(doc);
	return profile_written(id, etag, record);
}

/* 409 is the document's "exists already": a problem naming the field
 * and the existing customerId. */
static int alvys_conflict(const struct api_response *r, char **field,
                          char **id)
{
	cJSON *doc;
	const char *f, *i;

	if (r->status != 409)
		return 0;
	doc = cJSON_ParseWithLength(r->body, r->body_len);
	f = profile_str(doc, "field");
	i = profile_str(doc, "customerId");
	*field = f ? strdup(f) : NULL;
	*id = i ? strdup(i) : NULL;
	cJSON_Delete(doc);
	return 1;
}

/* Problem documents: "detail" (else "title"), then any per-field errors,
 * so a 400 tells the operator which field the API refused. */
static void alvys_error_message(const struct api_response *r,
                                const char **code, char *buf, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(r->body, r->body_len);
	const char *detail = profile_str(doc, "detail");
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	const cJSON *f, *m;
	size_t used;

	(void)code;
	if (!detail)
		detail = profile_str(doc, "title");
	snprintf(buf, len, "%s", detail ? detail : "");
	if (!detail && r->body_len > 0 && !doc)
		snprintf(buf, len, "%.200s", r->body);
	cJSON_ArrayForEach(f, errors)
	{
		cJSON_ArrayForEach(m, f)
		{
			if (!cJSON_IsString(m))
				continue;
			used = strlen(buf);
			if (used + 4 >= len)
				break;
			snprintf(buf + used, len - used, "%s%s: %s",
			         used ? "; " : "", f->string, m->valuestring);
		}
	}
	cJSON_Delete(doc);
}

const struct profile_ops alvys_profile = {
    .name = "alvys",
    .flags = PROFILE_ETAGS,
    .owner_field = "ExternalId",
    .event_owner = profile_event_external_id,
    .record_owner = alvys_record_owner,
    .map = alvys_map,
    .validate = alvys_validate,
    .record_of = alvys_record_of,
    .project = alvys_project,
    .is_deleted = alvys_is_deleted,
    .lookup_request = alvys_lookup_request,
    .lookup_parse = alvys_lookup_parse,
    .get_request = alvys_get_request,
    .create_request = alvys_create_request,
    .update_request = alvys_update_request,
    .delete_request = alvys_delete_request,
    .write_result = alvys_write_result,
    .conflict = alvys_conflict,
    .error_message = alvys_error_message,
};
