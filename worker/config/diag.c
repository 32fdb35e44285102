#include "config/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Errors kept in memory before they are only counted: far more than we
 * report, so that sorting by position still finds the first ones. */
#define CONFIG_KEEP_ERRORS (CONFIG_MAX_ERRORS * 10)

void diag_vat(struct diag *d, int line, int col, const char *fmt, va_list ap)
{
	struct config_error *e;
	va_list aq;
	char *msg;
	int n;

	if (d->errs.n >= CONFIG_KEEP_ERRORS) {
		d->dropped++;
		return;
	}
	if (d->errs.n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		e = realloc(d->errs.v, cap * sizeof(*e));
		if (!e) {
			d->oom = true;
			return;
		}
		d->errs.v = e;
		d->cap = cap;
	}
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		d->oom = true;
		return;
	}
	msg = malloc((size_t)n + 1);
	if (!msg) {
		d->oom = true;
		return;
	}
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	e = &d->errs.v[d->errs.n++];
	e->line = line;
	e->col = col;
	e->msg = msg;
}

void diag_at(struct diag *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vat(d, line, col, fmt, ap);
	va_end(ap);
}

static bool pos_before(const struct config_error *a,
                       const struct config_error *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* Checks report in the order that is easiest to write (a missing key
 * only once its mapping has been read, cross-field checks last), so the
 * list is sorted by position afterwards. Insertion sort: it is stable,
 * which keeps two errors at one place in the order they were found, and
 * the list is short. */
void diag_finish(struct diag *d)
{
	struct config_errors *errs = &d->errs;
	size_t total = errs->n + d->dropped;

	for (size_t i = 1; i < errs->n; i++) {
		struct config_error e = errs->v[i];
		size_t j = i;

		while (j > 0 && pos_before(&e, &errs->v[j - 1])) {
			errs->v[j] = errs->v[j - 1];
			j--;
		}
		errs->v[j] = e;
	}
	if (total <= CONFIG_MAX_ERRORS)
		return;
	while (errs->n > CONFIG_MAX_ERRORS - 1)
		free(errs->v[--errs->n].msg);
	d->dropped = 0;
	diag_at(d, 0, 0, "too many errors (%zu in all); fix these first",
	        total);
}

void config_errors_done(struct config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i].msg);
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

/* User text quoted in a message: control bytes become '?' so that
 * check-config output cannot carry terminal escapes, and long text is
 * cut. */
const char *diag_shown(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	for (; *s && i + 1 < size; s++, i++) {
		unsigned char c = (unsigned char)*s;

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (*s && size > 4) {
		memcpy(buf + size - 4, "...", 3);
		i = size - 1;
	}
	buf[i] = '\0';
	return buf;
}
