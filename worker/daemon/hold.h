/* The endpoint-wide Retry-After hold. A 429 or 503 with Retry-After holds
 * every request until its time; then one held request probes, and its
 * answer decides for all: held again, or the hold ends and the others go.
 *
 * The decisions only, on a clock the caller passes (pure): the caller
 * keeps the held jobs, pauses consumption, logs and sends. */
#ifndef CUSTSYNC_HOLD_H
#define CUSTSYNC_HOLD_H

#include <stddef.h>
#include <stdint.h>

struct hold {
	int64_t until;     /* monotonic ms; 0 when the endpoint is not held */
	const void *probe; /* the job whose request probes; NULL: none */
};

enum hold_change {
	HOLD_KEPT,    /* not later than the hold there is: nothing changes */
	HOLD_STARTED, /* the endpoint was not held: pause, tell the operator */
	HOLD_EXTENDED, /* held longer */
	HOLD_CHANGE_MAX
};

/* A Retry-After answer at now asks to wait wait_ms. */
enum hold_change hold_start(struct hold *h, int64_t now, int64_t wait_ms);

/* Non-zero when a request of job must wait: held, and not the probe. */
int hold_blocks(const struct hold *h, const void *job);

enum hold_due {
	HOLD_WAIT,  /* nothing to do now */
	HOLD_PROBE, /* time is up: send one held request (hold_probe) */
	HOLD_END,   /* time is up and nobody waits: end the hold */
	HOLD_DUE_MAX
};

/* What the hold wants at now, with n_held requests waiting for it. */
enum hold_due hold_due(const struct hold *h, int64_t now, size_t n_held);

void hold_probe(struct hold *h, const void *job);

/* job's request was answered, held_again when the answer is another
 * Retry-After. Non-zero when the answer ends the hold: job was the probe
 * and was not held again (then call hold_end). */
int hold_answered(struct hold *h, const void *job, int held_again);

/* Non-zero when the endpoint was held: the held requests go now. */
int hold_end(struct hold *h);

/* job no longer waits for anything (cancelled): it probes no more. */
void hold_forget(struct hold *h, const void *job);

/* Shutdown: the held requests are abandoned and nothing waits for the
 * hold. A probe in flight is still answered (hold_answered). */
void hold_cancel(struct hold *h);

/* When the loop must wake up for the hold: INT64_MAX when it need not
 * (not held, or a probe is out). */
int64_t hold_wake_ms(const struct hold *h);

/* Time left at now (negative once due); 0 when not held. */
int64_t hold_left_ms(const struct hold *h, int64_t now);

const char *hold_change_str(enum hold_change c);
const char *hold_due_str(enum hold_due d);

#endif
