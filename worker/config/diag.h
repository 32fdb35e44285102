/* The problems found while loading a config, each at its line:col. They
 * are collected, not stopped at: check-config reports every one. */
#ifndef CUSTSYNC_CONFIG_DIAG_H
#define CUSTSYNC_CONFIG_DIAG_H

#include "config/config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_ERRORS 100 /* reported; the rest are counted */

struct diag {
	struct config_errors errs;
	size_t cap;
	size_t dropped; /* errors past what we keep in memory */
	bool oom;       /* out of memory at some point: the load fails */
};

/* One problem at line:col (0:0 when it has no place). */
void diag_vat(struct diag *d, int line, int col, const char *fmt, va_list ap);
__attribute__((format(printf, 4, 5))) void
diag_at(struct diag *d, int line, int col, const char *fmt, ...);

/* Sorts the problems by place and keeps the first CONFIG_MAX_ERRORS,
 * the last of them then saying how many there were. */
void diag_finish(struct diag *d);

/* User text quoted in a message: control bytes become '?' so that
 * check-config output cannot carry terminal escapes, and long text is
 * cut. Returns buf. */
const char *diag_shown(const char *s, char *buf, size_t size);

#endif
