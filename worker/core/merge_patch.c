#include "core/merge_patch.h"

#include <cjson/cJSON.h>

static cJSON *apply_object(const cJSON *target, const cJSON *patch)
{
	cJSON *out;
	const cJSON *p;

	/* A non-object target is replaced by an empty object (RFC 7396). */
	if (cJSON_IsObject(target))
		out = cJSON_Duplicate(target, 1);
	else
		out = cJSON_CreateObject();
	if (!out)
		return NULL;

	cJSON_ArrayForEach(p, patch)
	{
		cJSON *merged;
		const cJSON *cur;

		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(out,
			                                        p->string);
			continue;
		}
		cur = cJSON_GetObjectItemCaseSensitive(out, p->string);
		merged = merge_patch_apply(cur, p);
		if (!merged) {
			cJSON_Delete(out);
			return NULL;
		}
		/* On failure neither call takes merged. */
		if (cur ? !cJSON_ReplaceItemInObjectCaseSensitive(
		              out, p->string, merged)
		        : !cJSON_AddItemToObject(out, p->string, merged)) {
			cJSON_Delete(merged);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

cJSON *merge_patch_apply(const cJSON *target, const cJSON *patch)
{
	if (!patch)
		return target ? cJSON_Duplicate(target, 1) : NULL;
	if (!cJSON_IsObject(patch))
		return cJSON_Duplicate(patch, 1);
	return apply_object(target, patch);
}

static bool add_or_fail(cJSON *obj, const char *name, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(obj, name, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

cJSON *merge_patch_diff(const cJSON *from, const cJSON *to)
{
	cJSON *out;
	const cJSON *f, *t;

	if (!cJSON_IsObject(to) || !cJSON_IsObject(from)) {
		/* Only an object patch can leave parts of the target alone;
		 * anything else replaces the whole value. That holds even
		 * when the two are equal: {} would turn a non-object target
		 * into {} (RFC 7396 section 2), so the only patch that keeps
		 * it is the value itself. */
		return cJSON_Duplicate(to, 1);
	}
	out = cJSON_CreateObject();
	if (!out)
		return NULL;
	cJSON_ArrayForEach(f, from)
	{
		if (cJSON_GetObjectItemCaseSensitive(to, f->string))
			continue;
		if (!add_or_fail(out, f->string, cJSON_CreateNull()))
			goto oom;
	}
	cJSON_ArrayForEach(t, to)
	{
		f = cJSON_GetObjectItemCaseSensitive(from, t->string);
		if (f && cJSON_Compare(f, t, 1))
			continue;
		if (f && cJSON_IsObject(f) && cJSON_IsObject(t)) {
			cJSON *sub = merge_patch_diff(f, t);

			if (!sub)
				goto oom;
			if (merge_patch_is_empty(sub)) {
				cJSON_Delete(sub);
				continue;
			}
			if (!add_or_fail(out, t->string, sub))
				goto oom;
			continue;
		}
		if (!add_or_fail(out, t->string, cJSON_Duplicate(t, 1)))
			goto oom;
	}
	return out;
oom:
	cJSON_Delete(out);
	return NULL;
}

bool merge_patch_is_empty(const cJSON *patch)
{
	return cJSON_IsObject(patch) && patch->child == NULL;
}
