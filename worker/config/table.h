/* The configuration as one table: a row per key (path, type, default,
 * bounds or allowed values, secret or not, *_file form or not, where it
 * is stored, one line of documentation), in the manner of librdkafka's
 * rdkafka_conf.c. Loading, defaults, bounds, check-config's messages,
 * freeing and the README's configuration table all walk the rows; rules
 * that tie keys together are the small validators of schema.c.
 *
 * The core rows are in schema.c; each profile declares its own settings
 * rows in its file (struct profile_ops.settings). Adding a key is one
 * row, plus its use. */
#ifndef CUSTSYNC_CONFIG_TABLE_H
#define CUSTSYNC_CONFIG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config;
struct config_load;

enum config_type {
	CONFIG_SECTION,    /* a mapping of further keys; stores nothing */
	CONFIG_STRING,     /* char *, not empty */
	CONFIG_URL,        /* char *, http:// or https:// and a host */
	CONFIG_INT,        /* long, min..max */
	CONFIG_BOOL,       /* int, 0 or 1 */
	CONFIG_ENUM,       /* an enum: the index of one of names */
	CONFIG_CHOICE,     /* char *: a copy of one of names */
	CONFIG_LIST,       /* char **, NULL-terminated; size_t at count */
	CONFIG_PROPERTIES, /* struct config_kv *; size_t at count */
	CONFIG_MAPPING,    /* struct config_mapping *; size_t at count */
	CONFIG_HEADERS,    /* struct config_kv *: name -> value; at count */
	CONFIG_TYPE_MAX
};

enum config_flags {
	/* Missing is a problem (a list must not be empty either). With a
	 * *_file form: exactly one of the two. */
	CONFIG_REQUIRED = 1u << 0,
	CONFIG_SECRET = 1u << 1,       /* wiped when freed, never shown */
	CONFIG_FILE = 1u << 2,         /* NAME_file reads it from a file */
	CONFIG_SENT_HEADER = 1u << 3,  /* sent as is in a header line */
	CONFIG_SENT_ENCODED = 1u << 4, /* sent encoded (base64, form body) */
};

struct config_row {
	const char *path; /* "target.timeout_ms" */
	enum config_type type;
	unsigned flags; /* enum config_flags */
	size_t offset;  /* into struct config: CONFIG_AT(target.timeout_ms) */
	size_t count;   /* LIST, PROPERTIES, MAPPING: the size_t count */
	long min, max;  /* INT */
	long def;       /* INT, BOOL, ENUM */
	/* INT: a word that may be written instead of a number, stored as
	 * word_value (outside min..max): `max_in_flight: adaptive`. */
	const char *word;
	long word_value;
	const char *def_str;      /* STRING, CHOICE: the default, copied */
	const char *def_from;     /* STRING: default to this key's value */
	const char *const *names; /* ENUM, CHOICE: the allowed values */
	size_t n_names;
	/* The key applies only while the ENUM row `when` has a value whose
	 * bit is in when_mask; written otherwise it is a problem ("'KEY'
	 * does not apply to LABEL 'VALUE'", LABEL: the when row's label). */
	const char *when;
	unsigned when_mask;
	const char *label;
	/* STRING, URL: a further check of the value. NULL when it passes,
	 * else the whole message, written into buf. */
	const char *(*check)(const char *path, const char *value, char *buf,
	                     size_t len);
	const char *doc_default; /* README: the default, when not shown */
	const char *doc;         /* README: one line; NULL: not listed */
};

#define CONFIG_AT(member) offsetof(struct config, member)
#define CONFIG_NAMES(a)   .names = (a), .n_names = sizeof(a) / sizeof((a)[0])

/* A rule between keys, run after every key was read. */
struct config_validator {
	const char *name;
	void (*check)(struct config_load *l);
};

/* The core rows and validators (schema.c). */
extern const struct config_row config_rows[];
extern const size_t config_n_rows;
extern const struct config_validator config_validators[];
extern const size_t config_n_validators;

/* For validators: the config being loaded, whether path's key was
 * written and read without a problem, and a problem at its value. */
struct config *config_load_config(struct config_load *l);
bool config_load_is_set(const struct config_load *l, const char *path);
bool config_load_failed(const struct config_load *l, const char *path);
__attribute__((format(printf, 3, 4))) void
config_load_err(struct config_load *l, const char *path, const char *fmt, ...);

/* config_load_err at item i of the list at path. */
__attribute__((format(printf, 4, 5))) void
config_load_err_item(struct config_load *l, const char *path, size_t i,
                     const char *fmt, ...);

/* Every row, core rows first, then each profile's; NULL past the last. */
const struct config_row *config_row_at(size_t i);

/* The README's configuration table (Markdown), from the rows. */
void config_reference(FILE *out);

/* Each row that table lists, in its order, to fn; and the table's
 * three cells of a row, in Markdown (custsync.yaml(5) converts them). */
void config_reference_each(void (*fn)(void *arg, const struct config_row *r),
                           void *arg);
void config_reference_key(FILE *out, const struct config_row *r);
void config_reference_default(FILE *out, const struct config_row *r);
void config_reference_meaning(FILE *out, const struct config_row *r);

/* For config.c: the defaults into a zeroed cfg; every key of the tree
 * at root (the document, YNODE_NONE when empty) into cfg, problems to
 * the tree's diag, then the validators; the defaults that need other
 * keys, once the file is valid (0 or -ENOMEM); freeing. */
struct ytree;
void config_table_defaults(struct config *cfg);
void config_table_load(struct ytree *t, size_t root, struct config *cfg);
int config_table_finish(struct config *cfg);
void config_table_free(struct config *cfg);

#endif
