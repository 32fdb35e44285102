/* The target's records by external id, for an API that cannot search by
 * it (the portal: external_id is neither unique nor a search field).
 *
 * Built by paging through the whole list once, kept current from
 * custsync's own writes, and scanned again after each new partition
 * assignment, so a record that another instance created before the
 * rebalance is found instead of created twice. A bulk load then costs
 * one or two scans plus one request per key, never a scan per key.
 *
 * One scan runs at a time: the job that claims it drives the paging
 * (sync.c), and jobs that need the index while it is scanned wait for
 * it. Pure data: no requests are made here. */
#ifndef CUSTSYNC_KEYINDEX_H
#define CUSTSYNC_KEYINDEX_H

#include <stdbool.h>
#include <stddef.h>

struct keyindex;

enum keyindex_state {
	KEYINDEX_STALE,    /* needs a scan; nobody has claimed it */
	KEYINDEX_SCANNING, /* a job pages through the list */
	KEYINDEX_READY,    /* answers look-ups */
	KEYINDEX_FAILED,   /* the list cannot be read: look up per key */
	KEYINDEX_STATE_MAX
};

struct keyindex *keyindex_new(void);
struct keyindex *keyindex_free(struct keyindex *ki);

enum keyindex_state keyindex_state(const struct keyindex *ki);
const char *keyindex_state_str(enum keyindex_state s);

/* STALE -> SCANNING; false when the index is not STALE. */
bool keyindex_claim(struct keyindex *ki);

/* A record seen by the scan. The first record of an external id wins:
 * the list may hold duplicates, and the scan must not flip between
 * them. Returns 0 or -ENOMEM. */
int keyindex_add(struct keyindex *ki, const char *external_id, const char *id);

/* The scan reached the last page. Returns true when it must start over
 * (the assignment changed while it ran); the index is READY otherwise. */
bool keyindex_scanned(struct keyindex *ki);

/* The scan cannot read the list: FAILED until the next assignment. */
void keyindex_fail(struct keyindex *ki);

/* The scanning job went away (revoked, stopped): STALE, for another job
 * to claim. */
void keyindex_release(struct keyindex *ki);

/* A new assignment: scan again (at once, or after the running scan). */
void keyindex_invalidate(struct keyindex *ki);

/* The id of external_id's record (borrowed until the next change), or
 * NULL. */
const char *keyindex_get(const struct keyindex *ki, const char *external_id);

/* custsync's own writes: external_id is now id (replacing any). */
int keyindex_put(struct keyindex *ki, const char *external_id, const char *id);
/* custsync destroyed the record of external_id. */
void keyindex_drop(struct keyindex *ki, const char *external_id);

size_t keyindex_size(const struct keyindex *ki);
/* Scans completed since start (for logs and tests). */
unsigned long keyindex_scans(const struct keyindex *ki);

#endif
