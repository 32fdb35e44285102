#include "core/keyindex.h"

#include "lib/strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct keyindex {
	struct strmap *ids; /* external id -> id (owned strings) */
	enum keyindex_state state;
	bool rescan; /* invalidated while SCANNING */
	unsigned long scans;
};

struct keyindex *keyindex_new(void)
{
	struct keyindex *ki = calloc(1, sizeof(*ki));

	if (!ki)
		return NULL;
	ki->ids = strmap_new();
	if (!ki->ids) {
		free(ki);
		return NULL;
	}
	ki->state = KEYINDEX_STALE;
	return ki;
}

struct keyindex *keyindex_free(struct keyindex *ki)
{
	if (!ki)
		return NULL;
	strmap_free(ki->ids, free);
	free(ki);
	return NULL;
}

enum keyindex_state keyindex_state(const struct keyindex *ki)
{
	return ki->state;
}

const char *keyindex_state_str(enum keyindex_state s)
{
	static const char *const names[] = {"stale", "scanning", "ready",
	                                    "failed"};

	return s < KEYINDEX_STATE_MAX ? names[s] : "?";
}

bool keyindex_claim(struct keyindex *ki)
{
	if (ki->state != KEYINDEX_STALE)
		return false;
	ki->state = KEYINDEX_SCANNING;
	ki->rescan = false;
	return true;
}

static int set(struct keyindex *ki, const char *external_id, const char *id,
               bool replace)
{
	char *copy;
	void *old;

	if (!replace && strmap_get(ki->ids, external_id))
		return 0;
	copy = strdup(id);
	if (!copy || strmap_put(ki->ids, external_id, copy, &old)) {
		free(copy);
		return -ENOMEM;
	}
	free(old);
	return 0;
}

int keyindex_add(struct keyindex *ki, const char *external_id, const char *id)
{
	if (!external_id || !*external_id || !id || !*id)
		return 0;
	return set(ki, external_id, id, false);
}

bool keyindex_scanned(struct keyindex *ki)
{
	ki->scans++;
	if (ki->rescan) {
		/* Still SCANNING: the same job starts over. */
		ki->rescan = false;
		return true;
	}
	ki->state = KEYINDEX_READY;
	return false;
}

void keyindex_fail(struct keyindex *ki)
{
	ki->state = KEYINDEX_FAILED;
	ki->rescan = false;
}

void keyindex_release(struct keyindex *ki)
{
	if (ki->state == KEYINDEX_SCANNING)
		ki->state = KEYINDEX_STALE;
}

void keyindex_invalidate(struct keyindex *ki)
{
	if (ki->state == KEYINDEX_SCANNING)
		ki->rescan = true;
	else
		ki->state = KEYINDEX_STALE;
}

const char *keyindex_get(const struct keyindex *ki, const char *external_id)
{
	return external_id ? strmap_get(ki->ids, external_id) : NULL;
}

int keyindex_put(struct keyindex *ki, const char *external_id, const char *id)
{
	if (!external_id || !*external_id || !id || !*id)
		return 0;
	return set(ki, external_id, id, true);
}

void keyindex_drop(struct keyindex *ki, const char *external_id)
{
	if (external_id)
		free(strmap_remove(ki->ids, external_id));
}

size_t keyindex_size(const struct keyindex *ki)
{
	return strmap_size(ki->ids);
}

unsigned long keyindex_scans(const struct keyindex *ki)
{
	return ki->scans;
}
