#include "daemon/hold.h"

enum hold_change hold_start(struct hold *h, int64_t now, int64_t wait_ms)
{
	int64_t until = now + wait_ms;
	int was_held = h->until != 0;

	if (until <= h->until)
		return HOLD_KEPT;
	h->until = until;
	return was_held ? HOLD_EXTENDED : HOLD_STARTED;
}

int hold_blocks(const struct hold *h, const void *job)
{
	return h->until && h->probe != job;
}

enum hold_due hold_due(const struct hold *h, int64_t now, size_t n_held)
{
	if (!h->until || now < h->until || h->probe)
		return HOLD_WAIT;
	return n_held ? HOLD_PROBE : HOLD_END;
}

void hold_probe(struct hold *h, const void *job)
{
	h->probe = job;
}

int hold_answered(struct hold *h, const void *job, int held_again)
{
	if (!job || h->probe != job)
		return 0;
	h->probe = NULL;
	return !held_again;
}

int hold_end(struct hold *h)
{
	if (!h->until)
		return 0;
	h->until = 0;
	return 1;
}

void hold_forget(struct hold *h, const void *job)
{
	if (h->probe == job)
		h->probe = NULL;
}

void hold_cancel(struct hold *h)
{
	h->until = 0;
}

int64_t hold_wake_ms(const struct hold *h)
{
	return h->until && !h->probe ? h->until : INT64_MAX;
}

int64_t hold_left_ms(const struct hold *h, int64_t now)
{
	return h->until ? h->until - now : 0;
}

const char *hold_change_str(enum hold_change c)
{
	static const char *const names[HOLD_CHANGE_MAX] = {
	    [HOLD_KEPT] = "kept",
	    [HOLD_STARTED] = "started",
	    [HOLD_EXTENDED] = "extended",
	};

	return (int)c >= 0 && c < HOLD_CHANGE_MAX ? names[c] : "?";
}

const char *hold_due_str(enum hold_due d)
{
	static const char *const names[HOLD_DUE_MAX] = {
	    [HOLD_WAIT] = "wait",
	    [HOLD_PROBE] = "probe",
	    [HOLD_END] = "end",
	};

	return (int)d >= 0 && d < HOLD_DUE_MAX ? names[d] : "?";
}
