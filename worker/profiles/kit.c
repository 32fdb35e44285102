#include "profiles/kit.h"

#include "core/event.h"
#include "core/merge_patch.h"
#include "core/request.h"
#include "profiles/profile.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *profile_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool profile_blank(const char *s)
{
	for (; *s; s++)
		if (!strchr(" \t\r\n", *s))
			return false;
	return true;
}

bool profile_blank_isspace(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

int profile_put(cJSON *obj, const char *name, cJSON *value)
{
	if (!value || !cJSON_AddItemToObject(obj, name, value)) {
		cJSON_Delete(value);
		return -ENOMEM;
	}
	return 0;
}

cJSON *profile_copy_string(const cJSON *v)
{
	return cJSON_IsString(v) ? cJSON_CreateString(v->valuestring)
	                         : cJSON_CreateNull();
}

cJSON *profile_copy_nonempty(const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring[0]
	           ? cJSON_CreateString(v->valuestring)
	           : cJSON_CreateNull();
}

const cJSON *profile_first(const cJSON *v)
{
	return cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 0) : v;
}

int profile_refuse(struct profile_error *err, const char *code,
                   const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

char *profile_path_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

char *profile_id_path(const char *prefix, const char *id)
{
	char *esc = profile_path_escape(id), *p;
	size_t n, k;

	if (!esc)
		return NULL;
	/* Joined by hand: a path is made for most events, and printf costs
	 * more than the rest of the escape. */
	n = strlen(prefix);
	k = strlen(esc);
	p = malloc(n + k + 2);
	if (p) {
		memcpy(p, prefix, n);
		p[n] = '/';
		memcpy(p + n + 1, esc, k + 1);
	}
	free(esc);
	return p;
}

int profile_request(struct api_request *out, int method, char *path,
                    const cJSON *body, const char *content_type,
                    const char *etag, const char *scope)
{
	memset(out, 0, sizeof(*out));
	out->method = (enum http_method)method;
	out->path = path;
	out->scope = scope;
	if (body) {
		out->body = cJSON_PrintUnformatted(body);
		out->content_type = content_type;
	}
	if (etag)
		out->if_match = strdup(etag);
	if (!path || (body && !out->body) || (etag && !out->if_match)) {
		api_request_done(out);
		return -ENOMEM;
	}
	return 0;
}

cJSON *profile_strip_nulls(const cJSON *patch)
{
	return merge_patch_apply(NULL, patch);
}

const char *profile_event_external_id(const struct config *cfg,
                                      const struct change *ch)
{
	const char *ext = profile_str(ch->customer, "external_id");

	(void)cfg;
	return ext && !profile_blank_isspace(ext) ? ext : ch->key;
}

int profile_written(char **id, char **etag, cJSON **record)
{
	if (*id && *record)
		return 0;
	free(*id);
	cJSON_Delete(*record);
	*id = NULL;
	*record = NULL;
	if (etag) {
		free(*etag);
		*etag = NULL;
	}
	return -EINVAL;
}

int profile_mapped(cJSON *o, int rc, cJSON **out, struct profile_error *err)
{
	if (!rc) {
		*out = o;
		return 0;
	}
	cJSON_Delete(o);
	snprintf(err->message, sizeof(err->message), "out of memory");
	return -ENOMEM;
}
