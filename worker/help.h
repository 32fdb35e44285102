/* The command line's texts, written once: every command's --help and
 * the custsync(1) manual page (packaging/mkman.c) are printed from these
 * rows, so the two cannot drift. Texts are plain and unwrapped; the
 * printers wrap them. */
#ifndef CUSTSYNC_HELP_H
#define CUSTSYNC_HELP_H

#include <stddef.h>
#include <stdio.h>

struct help_option {
	const char *flags; /* "-c, --config FILE" */
	const char *text;
};

struct help_exit {
	int status;
	const char *text;
};

struct help_command {
	const char *name;    /* "run"; NULL: custsync itself */
	const char *args;    /* "-c FILE [--json]", after the name */
	const char *summary; /* its line in custsync --help */
	/* Paragraphs, each ended by "\n". */
	const char *text;
	const struct help_option *options; /* ended by flags == NULL */
	const struct help_exit *exits;     /* ended by text == NULL */
};

/* custsync itself first, then each command; NULL past the last. */
const struct help_command *help_at(size_t i);

/* The command called name (NULL: custsync itself), or NULL. */
const struct help_command *help_find(const char *name);

/* The --help of name (NULL: custsync itself), wrapped to 79 columns. */
void help_print(FILE *out, const char *name);

/* For a usage error: the usage line of name and where its help is. */
void help_usage(FILE *out, const char *name);

/* custsync --version: custsync's version, then the version of each
 * library as it is loaded at run time (what a bug report needs). */
void help_version(FILE *out);

#endif
