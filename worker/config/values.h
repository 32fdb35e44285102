/* One config value from the YAML tree: ${VAR} expansion, the scalar
 * types, secrets and their *_file form, and the checks on what is sent
 * to the partner as is. Each reader reports its own problem at the
 * value's place (path names the key in messages) and returns 0, or -1
 * after reporting. A reader stores into *dst only on success. */
#ifndef CUSTSYNC_CONFIG_VALUES_H
#define CUSTSYNC_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>

struct ytree;
struct config_kv;

#define CONFIG_MAX_SECRET     (64 * 1024)
#define CONFIG_MAX_VALUE      (64 * 1024) /* one scalar after ${VAR} */
#define CONFIG_MAX_PROPERTIES 1024
#define CONFIG_MAX_HEADERS    64

/* The expanded text of a scalar value; *out NULL for YAML's null. what
 * names the expected type in the message when it is no scalar. ${VAR},
 * ${VAR:-default} and $$ expand; an unset VAR is a problem. */
int value_text(struct ytree *t, size_t node, const char *path,
               const char *what, char **out);

/* A non-empty string; the old *dst is freed (wiped). */
int value_string(struct ytree *t, size_t node, const char *path, char **dst);
/* Decimal digits, quoted or not, within min..max. */
int value_long(struct ytree *t, size_t node, const char *path, long min,
               long max, long *dst);
/* The same, or word (when not NULL), stored as word_value. */
int value_long_or(struct ytree *t, size_t node, const char *path, long min,
                  long max, const char *word, long word_value, long *dst);
/* true/false/yes/no, any case. */
int value_bool(struct ytree *t, size_t node, const char *path, int *dst);
/* One of names[0..n), as its index. */
int value_choice(struct ytree *t, size_t node, const char *path,
                 const char *const *names, size_t n, size_t *dst);
/* A list of non-empty strings, NULL-terminated; YAML's null is an empty
 * list. */
int value_strlist(struct ytree *t, size_t node, const char *path,
                  bool nonempty, char ***dst, size_t *n_dst);
/* http:// or https:// with a host, no spaces or control characters; a
 * trailing '/' is dropped. */
int value_url(struct ytree *t, size_t node, const char *path, char **dst);
/* The secret in the file the value names (at most CONFIG_MAX_SECRET
 * bytes, one trailing newline or CR LF stripped, no NUL, not empty). */
int value_secret_file(struct ytree *t, size_t node, const char *path,
                      char **dst);
/* A map of scalars, in order (kafka.properties). *dst is set even when
 * an entry is bad, so that what was read is freed with the config. */
int value_properties(struct ytree *t, size_t node, const char *path,
                     struct config_kv **dst, size_t *n_dst);
/* A map of header names to values (target.headers), in order: each
 * name an HTTP token, none of custsync's own (http_header_is_own) or
 * written twice in any case; each value checked as SENT_IN_HEADER.
 * "NAME_file: PATH" reads the value from PATH like any secret. */
int value_headers(struct ytree *t, size_t node, const char *path,
                  struct config_kv **dst, size_t *n_dst);
/* Frees either kind of map; values are wiped. */
void value_properties_free(struct config_kv *v, size_t n);

/* How a credential reaches the partner decides what it may hold. */
enum sent_as {
	/* As is, in a header line (bearer token, API key): visible ASCII
	 * and spaces only, as http_header_line requires. */
	SENT_IN_HEADER,
	/* Encoded first (basic's base64, OAuth2's form body): no control
	 * characters (RFC 7617 section 2, RFC 6749 appendix A). */
	SENT_ENCODED,
	SENT_AS_MAX
};

/* A value bound for the partner is checked here, so a CR LF in a token
 * is a config error with its place instead of an extra header line on
 * every request. The value itself is never shown. */
int value_check_sent(struct ytree *t, size_t node, const char *path,
                     const char *value, enum sent_as how);

/* Reads at most max bytes of path into a NUL-terminated buffer. Returns
 * 0, -EFBIG when the file is longer, or -errno. */
int value_read_file(const char *path, size_t max, char **out, size_t *len);

/* Wipes a value that may be a secret before it is freed. NULL-safe. */
void value_free_secret(char *s);
/* Frees a NULL-terminated list. NULL-safe. */
void value_strv_free(char **v);

#endif
