/* custsync's configuration: YAML (libyaml) -> struct config. Each key
 * is one row of config/table.h, where its bounds, default and
 * documentation are; the comments here say what a member holds.
 *
 * Every problem is collected with its line and column instead of stopping
 * at the first, so `check-config` can print them all as FILE:LINE:COL. */
#ifndef CUSTSYNC_CONFIG_H
#define CUSTSYNC_CONFIG_H

#include <stddef.h>

/* target.max_in_flight: adaptive (outside its range 1..4096). */
#define CONFIG_ADAPTIVE 0

enum auth_type {
	AUTH_NONE,
	AUTH_BEARER,
	AUTH_OAUTH2_CC,
	AUTH_BASIC,   /* "basic": username + password or password_file */
	AUTH_API_KEY, /* "api_key": header + key or key_file */
	AUTH_TYPE_MAX
};

/* Which event value is the wms profile's shortID. */
enum short_id_source { SHORT_ID_KEY, SHORT_ID_NUMBER, SHORT_ID_MAX };

/* What a delete does on the portal profile. */
enum delete_mode { DELETE_SUSPEND, DELETE_HARD, DELETE_MODE_MAX };

/* mapping: one canonical field read from JSON pointers into an ERP row
 * that is not in the canonical shape (mapping.h applies it). */
struct config_mapping {
	char *field;       /* canonical path, e.g. "contact.first_name" */
	char **pointers;   /* RFC 6901, e.g. "/ZIPCODE"; NULL-terminated */
	size_t n_pointers; /* >= 1; more only for email, phone, street */
	/* The field is a list of strings (email, phone, mobile,
	 * billing_address.street), however many pointers feed it: its
	 * values are collected into an array. */
	int list;
};

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON, LOG_FORMAT_MAX };
/* How a record value is read (event.h): auto tells the native and the
 * Debezium envelope apart by their op; a flattened row is never guessed,
 * it has to be named. */
enum input_format {
	INPUT_AUTO,
	INPUT_NATIVE,
	INPUT_DEBEZIUM,
	INPUT_DEBEZIUM_FLAT,
	/* Confluent wire format: 0x00, a 4-byte schema id, Avro binary;
	 * the writer schema comes from input.schema_registry. */
	INPUT_AVRO,
	INPUT_FORMAT_MAX
};
/* How a record key is read: json reduces a one-field JSON object (with
 * or without the schema wrapper) or a JSON string to its value and keeps
 * anything else as text (with input.format avro, a key in the Confluent
 * wire format is decoded first); string always keeps the key's bytes as
 * text; avro needs the wire format and reduces the decoded key as json
 * does. */
enum key_format {
	KEY_FORMAT_JSON,
	KEY_FORMAT_STRING,
	KEY_FORMAT_AVRO,
	KEY_FORMAT_MAX
};

/* TLS towards one HTTP server (target.tls; reused under other sections
 * by CONFIG_TLS_ROWS). Every member NULL: libcurl's defaults, with the
 * CA environment variables of curl's command line (http.c). */
struct config_tls {
	char *ca_file;      /* PEM bundle; wins over CURL_CA_BUNDLE etc. */
	char *ca_path;      /* OpenSSL hashed directory */
	char *cert_file;    /* client certificate (mTLS), PEM */
	char *key_file;     /* its key, PEM */
	char *key_password; /* or key_password_file */
	char *min_version;  /* "1.2" or "1.3"; NULL: libcurl's default */
};

/* The forward proxy towards one HTTP server (target.proxy etc.; reused
 * under other sections by CONFIG_PROXY_ROWS). url NULL: libcurl's
 * proxy environment variables decide (http.c). */
struct config_proxy {
	char *url;      /* http:// or https://, no credentials in it */
	char *no_proxy; /* curl's NOPROXY list; wins over NO_PROXY */
	char *user;     /* with password (or password_file) */
	char *password;
};

/* A name and its value, passed verbatim: a librdkafka property, a
 * header of target.headers. */
struct config_kv {
	char *key;
	char *value;
};

/* A token bucket over some requests (target.rate_limit etc.);
 * requests == 0 when the section is absent: no limit. */
struct config_rate {
	long requests; /* per per_ms */
	long per_ms;
	long burst; /* default 1 */
};

struct config {
	struct {
		char *brokers;  /* required */
		char *group_id; /* required */
		char **topics;  /* required, NULL-terminated */
		size_t n_topics;
		char *results_topic;          /* required */
		char *dead_letter_topic;      /* required */
		struct config_kv *properties; /* kafka.properties, in order */
		size_t n_properties;
	} kafka;
	struct {
		/* Input record headers handed on to the event's requests
		 * and outcome (core/forward.h); NULL-terminated, may be
		 * empty. */
		char **forward_headers;
		size_t n_forward_headers;
		enum input_format format;   /* default auto */
		enum key_format key_format; /* default json */
		int flat; /* avro: values are ExtractNewRecordState rows */
		/* Where Avro writer schemas come from (edge/registry.h);
		 * url NULL unless input.format is avro. */
		struct {
			char *url;      /* no trailing slash kept */
			char *username; /* Basic, with password */
			char *password; /* or password_file */
			long timeout_ms;
			long cache_size; /* schemas kept, by id */
			struct config_tls tls;
			struct config_proxy proxy;
		} schema_registry;
	} input;
	struct {
		char *profile;  /* required; "alvys" */
		char *base_url; /* required, no trailing slash kept */
		struct {
			enum auth_type type; /* default none */
			char *token;         /* bearer: token or token_file */
			char *token_url;     /* oauth2 */
			char *client_id;
			char *client_secret; /* or client_secret_file */
			char **scopes; /* NULL-terminated, may be empty */
			size_t n_scopes;
			char *username; /* basic; no ':' */
			char *password; /* or password_file */
			char *header;   /* api_key; default X-API-Key */
			char *key;      /* or key_file */
		} auth;
		long timeout_ms;         /* default 10000 */
		long connect_timeout_ms; /* default 5000 */
		/* default 64, 1..4096, or CONFIG_ADAPTIVE: the limit follows
		 * the partner's answers within adaptive.min..max
		 * (daemon/concurrency.h). */
		long max_in_flight;
		struct {
			long min; /* default 2 */
			long max; /* default 64 */
		} adaptive;
		long max_connections; /* per host, default 0 = max_in_flight */
		/* Active events per partition, default 0 = no cap; 1 is the
		 * partition-sequential model of a Kafka Connect HTTP sink. */
		long max_in_flight_per_partition;
		int tls_verify; /* default 1 */
		struct config_tls tls;
		struct config_proxy proxy;
		/* target.headers: sent with every API request (not the
		 * token request), in order; names checked unique and none
		 * of custsync's own. */
		struct config_kv *headers;
		size_t n_headers;
		/* Longer response bodies are cut (api_response.truncated):
		 * default 1 MiB, 4 KiB..256 MiB. */
		long max_response_bytes;
		struct config_rate rate_limit; /* every API request */
		struct config_rate
		    write_rate_limit; /* POST/PUT/PATCH/DELETE */
		/* Profile settings, checked whatever the profile; their
		 * rows are in the profile's file (profiles/NAME.c). */
		enum short_id_source short_id; /* wms */
		enum delete_mode delete_mode;  /* portal */
		char *language;                /* engage */
		char *accept_language;         /* engage */
	} target;
	/* Optional: canonical fields from pointers into non-canonical rows;
	 * n_mapping == 0 reads rows as canonical. */
	struct config_mapping *mapping;
	size_t n_mapping;
	struct {
		long initial_backoff_ms; /* default 200 */
		long max_backoff_ms;     /* default 60000 */
		long max_retry_after_s;  /* default 3600 */
		long max_attempts; /* default 0 = unbounded (5xx/timeouts) */
	} retry;
	struct {
		long shutdown_timeout_ms; /* default 10000 */
		long max_buffered_events; /* default 64000 */
		long cache_mb;            /* default 16 */
	} worker;
	struct {
		char *level;            /* default "info" */
		enum log_format format; /* default text */
	} log;
	struct {
		/* "HOST:PORT" of /metrics and /healthz (metrics.h); NULL
		 * when the section is absent: no server. */
		char *listen;
	} metrics;
};

struct config_error {
	int line; /* 1-based; 0 when the problem is not tied to a place */
	int col;  /* 1-based */
	char *msg;
};

struct config_errors {
	struct config_error *v;
	size_t n;
};

/* Parses path into cfg (zeroed first, defaults applied). Returns 0 when
 * the file is valid; otherwise -EINVAL with errs filled (one entry per
 * problem, in file order), or -errno when the file cannot be read (one
 * error with line 0). ${VAR} in scalar values expands from the
 * environment; an unset VAR is an error. Secrets' *_file forms are read
 * here, trailing newline stripped. cfg is usable only on success.
 *
 * On failure cfg is left zeroed, so config_done() on it is harmless.
 * errs is overwritten, not appended to, and may be NULL. At most 100
 * errors are kept; past that the last one (line 0) says how many there
 * were. *_file paths are relative to the working directory. */
int config_load(const char *path, struct config *cfg,
                struct config_errors *errs);

/* Same as config_load, from a buffer; name is used in messages only. */
int config_load_buffer(const char *name, const char *buf, size_t len,
                       struct config *cfg, struct config_errors *errs);

/* config_load, with every problem printed to stderr as FILE:LINE:COL:
 * message (the CLI commands' way of loading). */
int config_load_report(const char *path, struct config *cfg);

void config_done(struct config *cfg);
void config_errors_done(struct config_errors *errs);

/* The enum values as they are spelled in YAML. */
const char *auth_type_str(enum auth_type t);
const char *log_format_str(enum log_format f);

#endif
