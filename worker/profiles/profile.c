#include "profiles/profile.h"

#include "core/event.h"
#include "core/merge_patch.h"
#include "core/request.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct profile_ops alvys_profile;
/* Weak while the profiles land one by one: a missing one is simply not
 * offered. */
extern const struct profile_ops wms_profile __attribute__((weak));
extern const struct profile_ops portal_profile __attribute__((weak));
extern const struct profile_ops engage_profile __attribute__((weak));

static const struct profile_ops *const profiles[] = {
	&alvys_profile,
	&wms_profile,
	&portal_profile,
	&engage_profile,
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct profile_ops *profile_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_PROFILES; i++)
		if (profiles[i] && strcmp(profiles[i]->name, name) == 0)
			return profiles[i];
	return NULL;
}

const struct profile_ops *profile_at(size_t i)
{
	for (size_t k = 0; k < N_PROFILES; k++) {
		if (!profiles[k])
			continue;
		if (i == 0)
			return profiles[k];
		i--;
	}
	return NULL;
}

const char *profile_names(void)
{
	static char names[128];

	if (names[0])
		return names;
	for (size_t i = 0; i < N_PROFILES; i++) {
		size_t used = strlen(names);

		if (profiles[i])
			snprintf(names + used, sizeof(names) - used, "%s%s",
				 used ? ", " : "", profiles[i]->name);
	}
	return names;
}

const char *profile_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
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
	size_t n;

	if (!esc)
		return NULL;
	n = strlen(prefix) + strlen(esc) + 2;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", prefix, esc);
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

	for (const char *p = ext; p && *p; p++)
		if (!isspace((unsigned char)*p))
			return ext;
	(void)cfg;
	return ch->key;
}
