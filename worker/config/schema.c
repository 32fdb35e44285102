/* The core configuration keys, one row each (table.h), and the rules
 * between keys. Profile settings are declared by each profile. */
#include "config/config.h"
#include "config/table.h"

#include "edge/http.h"
#include "ops/metrics.h"
#include "profiles/profile.h"

#include "config/diag.h"

#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

static const char *const auth_names[AUTH_TYPE_MAX] = {
    [AUTH_NONE] = "none",
    [AUTH_BEARER] = "bearer",
    [AUTH_OAUTH2_CC] = "oauth2_client_credentials",
    [AUTH_BASIC] = "basic",
    [AUTH_API_KEY] = "api_key",
};

static const char *const format_names[LOG_FORMAT_MAX] = {
    [LOG_FORMAT_TEXT] = "text",
    [LOG_FORMAT_JSON] = "json",
};

/* Names stay stable: they are config values. avro is left out until it
 * is read, so that a config naming it is refused as an unknown value. */
static const char *const input_format_names[INPUT_FORMAT_MAX] = {
    [INPUT_AUTO] = "auto",
    [INPUT_NATIVE] = "native",
    [INPUT_DEBEZIUM] = "debezium",
    [INPUT_DEBEZIUM_FLAT] = "debezium_flat",
};

static const char *const key_format_names[KEY_FORMAT_MAX] = {
    [KEY_FORMAT_JSON] = "json",
    [KEY_FORMAT_STRING] = "string",
};

static const char *const level_names[] = {
    "debug", "info", "notice", "warning", "error",
};

const char *auth_type_str(enum auth_type t)
{
	if ((unsigned)t >= AUTH_TYPE_MAX)
		return "unknown";
	return auth_names[t];
}

const char *log_format_str(enum log_format f)
{
	if ((unsigned)f >= LOG_FORMAT_MAX)
		return "unknown";
	return format_names[f];
}

/* ---- checks of one value -------------------------------------------- */

static const char *known_profile(const char *path, const char *value,
                                 char *buf, size_t len)
{
	char b[72];

	(void)path;
	if (profile_find(value))
		return NULL;
	snprintf(buf, len, "unknown profile '%s' (known: %s)",
	         diag_shown(value, b, sizeof(b)), profile_names());
	return buf;
}

/* RFC 7617: the user-id ends at the first colon, so one in the name
 * would silently send other credentials. */
static const char *no_colon(const char *path, const char *value, char *buf,
                            size_t len)
{
	if (!strchr(value, ':'))
		return NULL;
	snprintf(buf, len, "'%s' must not contain ':'", path);
	return buf;
}

/* The name goes into the request as is: anything but an HTTP token would
 * break the header block. */
static const char *header_name(const char *path, const char *value, char *buf,
                               size_t len)
{
	if (http_header_name_ok(value))
		return NULL;
	snprintf(buf, len,
	         "'%s' must be an HTTP header name (letters, digits and "
	         "!#$%%&'*+-.^_`|~)",
	         path);
	return buf;
}

static const char *listen_address(const char *path, const char *value,
                                  char *buf, size_t len)
{
	const char *why = metrics_listen_problem(value, NULL);

	if (!why)
		return NULL;
	snprintf(buf, len, "'%s' %s", path, why);
	return buf;
}

/* Checked at load: a missing CA or key would otherwise show only as a
 * TLS failure of every request. */
static const char *readable(const char *path, const char *value, char *buf,
                            size_t len)
{
	char b[72];

	if (access(value, R_OK) == 0)
		return NULL;
	snprintf(buf, len, "'%s': cannot read '%s'", path,
	         diag_shown(value, b, sizeof(b)));
	return buf;
}

static const char *const tls_versions[] = {"1.2", "1.3"};

/* The rows of one struct config_tls at section S (member M): a client
 * of another server takes the same keys under its own section. */
#define CONFIG_TLS_ROWS(S, M)                                                 \
	{.path = S, .type = CONFIG_SECTION},                                  \
	    {.path = S ".ca_file",                                            \
	     .type = CONFIG_STRING,                                           \
	     .offset = CONFIG_AT(M.ca_file),                                  \
	     .check = readable,                                               \
	     .doc = "CA bundle (PEM) that verifies the server; unset: "       \
	            "`CURL_CA_BUNDLE`, then `SSL_CERT_FILE`, then the "       \
	            "system's"},                                              \
	    {.path = S ".ca_path",                                            \
	     .type = CONFIG_STRING,                                           \
	     .offset = CONFIG_AT(M.ca_path),                                  \
	     .check = readable,                                               \
	     .doc = "directory of hashed CA certificates; unset: "            \
	            "`SSL_CERT_DIR`"},                                        \
	    {.path = S ".cert_file",                                          \
	     .type = CONFIG_STRING,                                           \
	     .offset = CONFIG_AT(M.cert_file),                                \
	     .check = readable,                                               \
	     .doc = "client certificate (PEM) for mutual TLS"},               \
	    {.path = S ".key_file",                                           \
	     .type = CONFIG_STRING,                                           \
	     .offset = CONFIG_AT(M.key_file),                                 \
	     .check = readable,                                               \
	     .doc = "the client certificate's key (PEM)"},                    \
	    {.path = S ".key_password",                                       \
	     .type = CONFIG_STRING,                                           \
	     .flags = CONFIG_SECRET | CONFIG_FILE,                            \
	     .offset = CONFIG_AT(M.key_password),                             \
	     .doc = "password of an encrypted `key_file`"},                   \
	{                                                                     \
		.path = S ".min_version", .type = CONFIG_CHOICE,              \
		.offset = CONFIG_AT(M.min_version),                           \
		CONFIG_NAMES(tls_versions),                                   \
		.doc = "lowest TLS version accepted: `1.2` or `1.3`; "        \
		       "unset: libcurl's default"                             \
	}

/* ---- the rows ------------------------------------------------------- */

/* target.max_response_bytes: a record or a page fits in 4 KiB at least;
 * past 256 MiB a body is a runaway, not an answer. */
#define MIN_RESPONSE 4096L
#define MAX_RESPONSE (256L * 1024 * 1024)
#define DEF_RESPONSE (1024L * 1024)

#define AUTH          "target.auth.type"
#define ONLY(t)       .when = AUTH, .when_mask = 1u << (t)
#define SECTION       CONFIG_SECTION
#define STRING        CONFIG_STRING
#define INT           CONFIG_INT
#define REQUIRED      CONFIG_REQUIRED
#define SECRET        CONFIG_SECRET
#define AT(m)         .offset = CONFIG_AT(m)
#define COUNT(m)      .count = CONFIG_AT(m)
#define RANGE(lo, hi) .min = (lo), .max = (hi)

const struct config_row config_rows[] = {
    {.path = "kafka", .type = SECTION, .flags = REQUIRED},
    {.path = "kafka.brokers",
     .type = STRING,
     .flags = REQUIRED,
     AT(kafka.brokers),
     .doc = "bootstrap servers"},
    {.path = "kafka.group_id",
     .type = STRING,
     .flags = REQUIRED,
     AT(kafka.group_id),
     .doc = "consumer group (offsets, assignment)"},
    {.path = "kafka.topics",
     .type = CONFIG_LIST,
     .flags = REQUIRED,
     AT(kafka.topics),
     COUNT(kafka.n_topics),
     .doc = "input topics"},
    {.path = "kafka.results_topic",
     .type = STRING,
     .flags = REQUIRED,
     AT(kafka.results_topic),
     .doc = "one outcome record per event"},
    {.path = "kafka.dead_letter_topic",
     .type = STRING,
     .flags = REQUIRED,
     AT(kafka.dead_letter_topic),
     .doc = "failed events, original bytes + error headers"},
    {.path = "kafka.properties",
     .type = CONFIG_PROPERTIES,
     AT(kafka.properties),
     COUNT(kafka.n_properties),
     .doc = "librdkafka properties for the consumer and producer, "
            "verbatim strings (e.g. `session.timeout.ms: \"6000\"`). "
            "custsync sets defaults first (`auto.offset.reset=earliest`, "
            "`auto.commit.interval.ms=1000`, "
            "`message.timeout.ms=0`, `linger.ms=5`), applies these next, "
            "and sets last what at-least-once depends on "
            "(`enable.auto.offset.store=false`, "
            "`enable.auto.commit=true`, "
            "`partition.assignment.strategy=cooperative-sticky`, "
            "`enable.idempotence=true`, `acks=all`). `K_file: PATH` gives "
            "property `K` the content of PATH; each property is checked "
            "by librdkafka when the config loads. See "
            "[Kafka properties](#kafka-properties)"},

    {.path = "target", .type = SECTION, .flags = REQUIRED},
    {.path = "target.profile",
     .type = STRING,
     .flags = REQUIRED,
     AT(target.profile),
     .check = known_profile,
     .doc = "`alvys`, `wms`, `engage`, `portal` (one section each "
            "below)"},
    {.path = "target.base_url",
     .type = CONFIG_URL,
     .flags = REQUIRED,
     AT(target.base_url),
     .doc = "API base up to, not including, `/customers`"},
    {.path = "target.auth", .type = SECTION},
    {.path = AUTH,
     .type = CONFIG_ENUM,
     AT(target.auth.type),
     .def = AUTH_NONE,
     CONFIG_NAMES(auth_names),
     .label = "auth type",
     .doc = "how requests are authenticated"},
    {.path = "target.auth.token",
     .type = STRING,
     .flags = REQUIRED | SECRET | CONFIG_FILE | CONFIG_SENT_HEADER,
     AT(target.auth.token),
     ONLY(AUTH_BEARER),
     .doc = "bearer token"},
    {.path = "target.auth.token_url",
     .type = CONFIG_URL,
     .flags = REQUIRED,
     AT(target.auth.token_url),
     ONLY(AUTH_OAUTH2_CC),
     .doc = "OAuth2 token endpoint"},
    {.path = "target.auth.client_id",
     .type = STRING,
     .flags = REQUIRED | CONFIG_SENT_ENCODED,
     AT(target.auth.client_id),
     ONLY(AUTH_OAUTH2_CC),
     .doc = "OAuth2 client id"},
    {.path = "target.auth.client_secret",
     .type = STRING,
     .flags = REQUIRED | SECRET | CONFIG_FILE | CONFIG_SENT_ENCODED,
     AT(target.auth.client_secret),
     ONLY(AUTH_OAUTH2_CC),
     .doc = "OAuth2 secret"},
    {.path = "target.auth.scopes",
     .type = CONFIG_LIST,
     AT(target.auth.scopes),
     COUNT(target.auth.n_scopes),
     ONLY(AUTH_OAUTH2_CC),
     .doc = "scopes to request (space-joined `scope`)"},
    {.path = "target.auth.username",
     .type = STRING,
     .flags = REQUIRED | CONFIG_SENT_ENCODED,
     AT(target.auth.username),
     ONLY(AUTH_BASIC),
     .check = no_colon,
     .doc = "basic: user name, no `:`"},
    {.path = "target.auth.password",
     .type = STRING,
     .flags = REQUIRED | SECRET | CONFIG_FILE | CONFIG_SENT_ENCODED,
     AT(target.auth.password),
     ONLY(AUTH_BASIC),
     .doc = "basic: password"},
    {.path = "target.auth.header",
     .type = STRING,
     AT(target.auth.header),
     ONLY(AUTH_API_KEY),
     .def_str = "X-API-Key",
     .check = header_name,
     .doc = "api_key: the header that carries the key (an HTTP header "
            "name)"},
    {.path = "target.auth.key",
     .type = STRING,
     .flags = REQUIRED | SECRET | CONFIG_FILE | CONFIG_SENT_HEADER,
     AT(target.auth.key),
     ONLY(AUTH_API_KEY),
     .doc = "api_key: the key"},
    {.path = "target.timeout_ms",
     .type = INT,
     AT(target.timeout_ms),
     RANGE(1, 3600000),
     .def = 10000,
     .doc = "whole-request timeout"},
    {.path = "target.connect_timeout_ms",
     .type = INT,
     AT(target.connect_timeout_ms),
     RANGE(1, 600000),
     .def = 5000,
     .doc = "connect timeout"},
    {.path = "target.max_in_flight",
     .type = INT,
     AT(target.max_in_flight),
     RANGE(1, 4096),
     .def = 64,
     .doc = "events processed at once (one request each)"},
    {.path = "target.max_connections",
     .type = INT,
     AT(target.max_connections),
     RANGE(0, 4096),
     .def = 0,
     .doc = "connections per host; 0 = `max_in_flight`"},
    {.path = "target.max_in_flight_per_partition",
     .type = INT,
     AT(target.max_in_flight_per_partition),
     RANGE(0, 4096),
     .def = 0,
     .doc = "events active at once per partition; 0 = no cap. `1` "
            "reproduces a partition-sequential sink (the Kafka Connect "
            "HTTP sink model), for comparison"},
    {.path = "target.tls_verify",
     .type = CONFIG_BOOL,
     AT(target.tls_verify),
     .def = 1,
     .doc = "verify the API's TLS certificate"},
    CONFIG_TLS_ROWS("target.tls", target.tls),
    {.path = "target.max_response_bytes",
     .type = INT,
     AT(target.max_response_bytes),
     RANGE(MIN_RESPONSE, MAX_RESPONSE),
     .def = DEF_RESPONSE,
     .doc_default = "1048576 (1 MiB)",
     .doc = "longest response body kept, 4096..268435456; a longer one "
            "is cut and reported as cut (`truncated`) to the step that "
            "reads it"},

    {.path = "retry", .type = SECTION},
    {.path = "retry.initial_backoff_ms",
     .type = INT,
     AT(retry.initial_backoff_ms),
     RANGE(1, 3600000),
     .def = 200,
     .doc = "first backoff of a transient failure"},
    {.path = "retry.max_backoff_ms",
     .type = INT,
     AT(retry.max_backoff_ms),
     RANGE(1, 86400000),
     .def = 60000,
     .doc = "backoff cap"},
    {.path = "retry.max_retry_after_s",
     .type = INT,
     AT(retry.max_retry_after_s),
     RANGE(0, 604800),
     .def = 3600,
     .doc = "longest Retry-After honoured"},
    {.path = "retry.max_attempts",
     .type = INT,
     AT(retry.max_attempts),
     RANGE(0, LONG_MAX),
     .def = 0,
     .doc = "transient failures before an event fails (`max_attempts`); "
            "0 = never"},

    {.path = "worker", .type = SECTION},
    {.path = "worker.shutdown_timeout_ms",
     .type = INT,
     AT(worker.shutdown_timeout_ms),
     RANGE(0, 600000),
     .def = 10000,
     .doc = "on SIGTERM, how long requests in flight may finish"},
    {.path = "worker.max_buffered_events",
     .type = INT,
     AT(worker.max_buffered_events),
     RANGE(1, 10000000),
     .def = 10000,
     .doc = "events held in memory. When reached, the partitions holding "
            "more than their share (this ÷ assigned partitions) pause; the "
            "others go on up to their share. A hot key's backlog then "
            "stops only its own partition, and memory stays below twice "
            "this"},

    {.path = "log", .type = SECTION},
    {.path = "log.level",
     .type = CONFIG_CHOICE,
     AT(log.level),
     CONFIG_NAMES(level_names),
     .def_str = "info",
     .doc = "least severe level logged"},
    {.path = "log.format",
     .type = CONFIG_ENUM,
     AT(log.format),
     CONFIG_NAMES(format_names),
     .def = LOG_FORMAT_TEXT,
     .doc = "log lines as text or JSON"},

    /* Present or not, as a whole: an empty 'metrics:' is a mistake,
     * since leaving the section out is how metrics are turned off. */
    {.path = "metrics", .type = SECTION},
    {.path = "metrics.listen",
     .type = STRING,
     .flags = REQUIRED,
     AT(metrics.listen),
     .check = listen_address,
     .doc = "`HOST:PORT` (an IP address) of `/metrics` and `/healthz`; "
            "without a `metrics` section there is no server. See "
            "[Metrics and health](#metrics-and-health)"},

    {.path = "input", .type = SECTION},
    {.path = "input.format",
     .type = CONFIG_ENUM,
     AT(input.format),
     CONFIG_NAMES(input_format_names),
     .def = INPUT_AUTO,
     .doc = "how a record value is read: `auto` (native or Debezium "
            "envelope, told apart by `op`), `native`, `debezium`, "
            "`debezium_flat` (rows of Debezium's ExtractNewRecordState). "
            "See [Input formats](#input-formats)"},
    {.path = "input.key_format",
     .type = CONFIG_ENUM,
     AT(input.key_format),
     CONFIG_NAMES(key_format_names),
     .def = KEY_FORMAT_JSON,
     .doc = "how a record key is read: `json` reduces `{\"id\": \"C-1\"}` "
            "(schema wrapper or not) and `\"C-1\"` to `C-1`; `string` keeps "
            "the key's bytes"},

    {.path = "mapping",
     .type = CONFIG_MAPPING,
     AT(mapping),
     COUNT(n_mapping),
     .doc = "canonical field → JSON pointer (or list of them) into rows "
            "that are not canonical; see [Mapping ERP "
            "rows](#mapping-erp-rows)"},
};

const size_t config_n_rows = sizeof(config_rows) / sizeof(config_rows[0]);

/* ---- rules between keys --------------------------------------------- */

/* The backoff cap is at least the first backoff. Blame the key that was
 * written; both may have been. */
static void backoff_order(struct config_load *l)
{
	static const char *const initial = "retry.initial_backoff_ms";
	static const char *const cap = "retry.max_backoff_ms";
	const struct config *c = config_load_config(l);

	if (config_load_failed(l, initial) || config_load_failed(l, cap) ||
	    c->retry.max_backoff_ms >= c->retry.initial_backoff_ms)
		return;
	if (config_load_is_set(l, cap))
		config_load_err(l, cap, "'%s' must be at least '%s' (%ld)",
		                cap, initial, c->retry.initial_backoff_ms);
	else
		config_load_err(l, initial, "'%s' must be at most '%s' (%ld)",
		                initial, cap, c->retry.max_backoff_ms);
}

const struct config_validator config_validators[] = {
    {"backoff_order", backoff_order},
};

const size_t config_n_validators =
    sizeof(config_validators) / sizeof(config_validators[0]);
