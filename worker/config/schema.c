/* The core configuration keys, one row each (table.h), and the rules
 * between keys. Profile settings are declared by each profile. */
#include "config/config.h"
#include "config/table.h"

#include "core/forward.h"
#include "edge/http.h"
#include "daemon/ratelimit.h"
#include "ops/metrics.h"
#include "profiles/profile.h"

#include "config/diag.h"

#include <limits.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* Names stay stable: they are config values. */
static const char *const input_format_names[INPUT_FORMAT_MAX] = {
    [INPUT_AUTO] = "auto",         [INPUT_NATIVE] = "native",
    [INPUT_DEBEZIUM] = "debezium", [INPUT_DEBEZIUM_FLAT] = "debezium_flat",
    [INPUT_AVRO] = "avro",
};

static const char *const key_format_names[KEY_FORMAT_MAX] = {
    [KEY_FORMAT_JSON] = "json",
    [KEY_FORMAT_STRING] = "string",
    [KEY_FORMAT_AVRO] = "avro",
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

/* Refused at load what libcurl would refuse, or take wrongly, on every
 * request; credentials have keys of their own, so that the URL, unlike
 * a password, can be shown anywhere. */
static const char *proxy_url(const char *path, const char *value, char *buf,
                             size_t len)
{
	char why[160];

	if (!http_proxy_problem(value, why, sizeof(why)))
		return NULL;
	snprintf(buf, len, "'%s' %s", path, why);
	return buf;
}

/* The rows of one struct config_proxy in section S (member M), beside
 * the server's other keys: S.proxy, S.no_proxy, S.proxy_user... */
#define CONFIG_PROXY_ROWS(S, M)                                               \
	{.path = S ".proxy",                                                  \
	 .type = CONFIG_URL,                                                  \
	 .offset = CONFIG_AT(M.url),                                          \
	 .check = proxy_url,                                                  \
	 .doc = "forward proxy, `http://HOST:PORT` or `https://HOST:PORT`, "  \
	        "no credentials in it; unset: `https_proxy`, `http_proxy`, "  \
	        "`ALL_PROXY` and `NO_PROXY` from the environment. See "       \
	        "[Proxies and static headers](#proxies-and-static-headers)"}, \
	    {.path = S ".no_proxy",                                           \
	     .type = CONFIG_STRING,                                           \
	     .offset = CONFIG_AT(M.no_proxy),                                 \
	     .doc = "hosts reached without the proxy, curl's `NOPROXY` "      \
	            "list (`127.0.0.1,.internal.example`, `*` for all); "     \
	            "replaces `NO_PROXY`"},                                   \
	    {.path = S ".proxy_user",                                         \
	     .type = CONFIG_STRING,                                           \
	     .flags = CONFIG_SENT_ENCODED,                                    \
	     .offset = CONFIG_AT(M.user),                                     \
	     .check = no_colon,                                               \
	     .doc = "user for the proxy's Basic authentication, no `:`; "     \
	            "needs `proxy` and `proxy_password`"},                    \
	{                                                                     \
		.path = S ".proxy_password", .type = CONFIG_STRING,           \
		.flags = CONFIG_SECRET | CONFIG_FILE | CONFIG_SENT_ENCODED,   \
		.offset = CONFIG_AT(M.password),                              \
		.doc = "the proxy user's password"                            \
	}

/* The rows of one struct config_rate at section S (member M) metering
 * WHAT: a token bucket (daemon/ratelimit.h, whose bounds these are).
 * burst defaults to 1, not to requests: requests are then spread evenly,
 * and any per_ms window holds at most `requests` of them, so a partner's
 * fixed-window quota of the same numbers never answers 429. */
#define CONFIG_RATE_ROWS(S, M, WHAT)                                          \
	{.path = S, .type = CONFIG_SECTION},                                  \
	    {.path = S ".requests",                                           \
	     .type = CONFIG_INT,                                              \
	     .flags = CONFIG_REQUIRED,                                        \
	     .offset = CONFIG_AT(M.requests),                                 \
	     .min = 1,                                                        \
	     .max = RATELIMIT_MAX_REQUESTS,                                   \
	     .doc =                                                           \
	         WHAT " at most this many per `per_ms`, 1..1000000; "         \
	              "unset section: no limit. See [Rate limits and quota "  \
	              "headers](#rate-limits-and-quota-headers)"},            \
	    {.path = S ".per_ms",                                             \
	     .type = CONFIG_INT,                                              \
	     .flags = CONFIG_REQUIRED,                                        \
	     .offset = CONFIG_AT(M.per_ms),                                   \
	     .min = 1,                                                        \
	     .max = RATELIMIT_MAX_PER_MS,                                     \
	     .doc = "the window of `requests`, 1..86400000 (one day)"},       \
	{                                                                     \
		.path = S ".burst", .type = CONFIG_INT,                       \
		.offset = CONFIG_AT(M.burst), .min = 1,                       \
		.max = RATELIMIT_MAX_BURST, .def = 1,                         \
		.doc = "requests that may go at once after a quiet spell, "   \
		       "1..1000000; 1 spreads them evenly"                    \
	}

/* ---- the rows ------------------------------------------------------- */

/* target.max_response_bytes: a record or a page fits in 4 KiB at least;
 * past 256 MiB a body is a runaway, not an answer. */
#define MIN_RESPONSE 4096L
#define MAX_RESPONSE (256L * 1024 * 1024)
#define DEF_RESPONSE (1024L * 1024)

#define AUTH          "target.auth.type"
#define ONLY(t)       .when = AUTH, .when_mask = 1u << (t)
#define AVRO_ONLY     .when = "input.format", .when_mask = 1u << INPUT_AVRO
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
            "then the queue sizes these do not set, derived from "
            "`worker.max_buffered_events`, "
            "and sets last what at-least-once depends on "
            "(`enable.auto.offset.store=false`, "
            "`enable.auto.commit=true`, "
            "`partition.assignment.strategy=cooperative-sticky`, "
            "`enable.idempotence=true`, `acks=all`). `K_file: PATH` gives "
            "property `K` the content of PATH; each property is checked "
            "by librdkafka when the config loads. See "
            "[Kafka properties](#kafka-properties)"},

    {.path = "input", .type = SECTION},
    {.path = "input.forward_headers",
     .type = CONFIG_LIST,
     AT(input.forward_headers),
     COUNT(input.n_forward_headers),
     .doc = "input record headers (HTTP header names, any case) sent on "
            "the event's API requests and copied to its outcome record, "
            "besides `traceparent`/`tracestate`, which always are; see "
            "[Trace context](#trace-context-and-forwarded-headers)"},
    {.path = "input.format",
     .type = CONFIG_ENUM,
     AT(input.format),
     CONFIG_NAMES(input_format_names),
     .def = INPUT_AUTO,
     .label = "input.format",
     .doc = "how a record value is read: `auto` (native or Debezium "
            "envelope, told apart by `op`), `native`, `debezium`, "
            "`debezium_flat` (rows of Debezium's ExtractNewRecordState), "
            "`avro` (Confluent's AvroConverter: the writer schema from "
            "`input.schema_registry`). See [Input formats](#input-formats)"},
    {.path = "input.key_format",
     .type = CONFIG_ENUM,
     AT(input.key_format),
     CONFIG_NAMES(key_format_names),
     .def = KEY_FORMAT_JSON,
     .doc = "how a record key is read: `json` reduces `{\"id\": \"C-1\"}` "
            "(schema wrapper or not) and `\"C-1\"` to `C-1` (with `format: "
            "avro`, an Avro key is decoded first); `string` keeps the key's "
            "bytes; `avro` needs every key in Avro"},
    {.path = "input.flat",
     .type = CONFIG_BOOL,
     AT(input.flat),
     AVRO_ONLY,
     .def = 0,
     .doc = "`format: avro`: values are rows of Debezium's "
            "ExtractNewRecordState, as `debezium_flat` is for JSON"},
    {.path = "input.schema_registry", .type = SECTION},
    {.path = "input.schema_registry.url",
     .type = CONFIG_URL,
     AT(input.schema_registry.url),
     AVRO_ONLY,
     .doc =
         "Confluent-compatible Schema Registry (Apicurio's `/apis/ccompat/v7` "
         "too); required with `format: avro`. Schemas are fetched by id "
         "(`GET URL/schemas/ids/ID`)"},
    {.path = "input.schema_registry.username",
     .type = STRING,
     .flags = CONFIG_SENT_ENCODED,
     AT(input.schema_registry.username),
     .check = no_colon,
     .doc = "Basic authentication towards the registry (Confluent's "
            "`basic.auth.user.info`), no `:`; needs `password`"},
    {.path = "input.schema_registry.password",
     .type = STRING,
     .flags = SECRET | CONFIG_FILE | CONFIG_SENT_ENCODED,
     AT(input.schema_registry.password),
     .doc = "the registry user's password"},
    {.path = "input.schema_registry.timeout_ms",
     .type = INT,
     AT(input.schema_registry.timeout_ms),
     RANGE(100, 600000),
     .def = 10000,
     .doc = "one schema request, connecting included; a request that "
            "runs out is retried like a 5xx"},
    {.path = "input.schema_registry.cache_size",
     .type = INT,
     AT(input.schema_registry.cache_size),
     RANGE(16, 1000000),
     .def = 1000,
     .doc = "schemas kept by id (ids never change in a registry); the "
            "least recently used one goes when a new one does not fit"},
    CONFIG_TLS_ROWS("input.schema_registry.tls", input.schema_registry.tls),
    CONFIG_PROXY_ROWS("input.schema_registry", input.schema_registry.proxy),

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
     .word = "adaptive",
     .word_value = CONFIG_ADAPTIVE,
     .def = 64,
     .doc = "events processed at once (one request each), or `adaptive`: "
            "learnt from the API's answers within `target.adaptive` "
            "(see [Adaptive concurrency](#adaptive-concurrency))"},
    {.path = "target.adaptive", .type = SECTION},
    {.path = "target.adaptive.min",
     .type = INT,
     AT(target.adaptive.min),
     RANGE(1, 4096),
     .def = 2,
     .doc = "`max_in_flight: adaptive`: the limit never goes below this"},
    {.path = "target.adaptive.max",
     .type = INT,
     AT(target.adaptive.max),
     RANGE(1, 4096),
     .def = 64,
     .doc = "`max_in_flight: adaptive`: the limit never goes above this"},
    {.path = "target.max_connections",
     .type = INT,
     AT(target.max_connections),
     RANGE(0, 4096),
     .def = 0,
     .doc = "connections per host; 0 = `max_in_flight` (with "
            "`adaptive`: `target.adaptive.max`)"},
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
    CONFIG_PROXY_ROWS("target", target.proxy),
    {.path = "target.headers",
     .type = CONFIG_HEADERS,
     AT(target.headers),
     COUNT(target.n_headers),
     .doc = "static headers (`NAME: value`, or `NAME_file: PATH`) sent "
            "with every API request, not the token request; no header "
            "custsync sets itself. See [Proxies and static "
            "headers](#proxies-and-static-headers)"},
    {.path = "target.max_response_bytes",
     .type = INT,
     AT(target.max_response_bytes),
     RANGE(MIN_RESPONSE, MAX_RESPONSE),
     .def = DEF_RESPONSE,
     .doc_default = "1048576 (1 MiB)",
     .doc = "longest response body kept, 4096..268435456; a longer one "
            "is cut and reported as cut (`truncated`) to the step that "
            "reads it"},
    CONFIG_RATE_ROWS("target.rate_limit", target.rate_limit,
                     "every API request (not the token request):"),
    CONFIG_RATE_ROWS("target.write_rate_limit", target.write_rate_limit,
                     "writes (creates, updates, deletes; a look-up is a "
                     "read whatever its method):"),

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
     .def = 64000,
     .doc = "events held in memory. When reached, the partitions holding "
            "more than their share (this ÷ assigned partitions) pause; the "
            "others go on up to their share. A hot key's backlog then "
            "stops only its own partition, and memory stays below twice "
            "this. librdkafka's queues are sized from it too, unless "
            "`kafka.properties` sets them; see "
            "[Kafka properties](#kafka-properties)"},
    {.path = "worker.cache_mb",
     .type = INT,
     AT(worker.cache_mb),
     RANGE(1, 1048576),
     .def = 16,
     .doc = "MiB for the records last read from the API (the response "
            "cache, at most 200000 keys), so that an update needs no GET "
            "first. The least recently used go first; a key not cached "
            "costs one GET, never a wrong write"},

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

/* A lower bound key lo is at most the upper one hi. Blame the key that
 * was written; both may have been. */
static void ordered(struct config_load *l, const char *lo, long lo_v,
                    const char *hi, long hi_v)
{
	if (config_load_failed(l, lo) || config_load_failed(l, hi) ||
	    hi_v >= lo_v)
		return;
	if (config_load_is_set(l, hi))
		config_load_err(l, hi, "'%s' must be at least '%s' (%ld)", hi,
		                lo, lo_v);
	else
		config_load_err(l, lo, "'%s' must be at most '%s' (%ld)", lo,
		                hi, hi_v);
}

/* The backoff cap is at least the first backoff. */
static void backoff_order(struct config_load *l)
{
	const struct config *c = config_load_config(l);

	ordered(l, "retry.initial_backoff_ms", c->retry.initial_backoff_ms,
	        "retry.max_backoff_ms", c->retry.max_backoff_ms);
}

/* Each forwarded name is a header no one else sets: not custsync's own,
 * not the api_key header (an event would choose the credential), and
 * listed once. */
static void forward_names(struct config_load *l)
{
	static const char *const path = "input.forward_headers";
	const struct config *c = config_load_config(l);
	char *const *v = c->input.forward_headers;
	const char *why, *key_header = c->target.auth.header;

	if (!config_load_is_set(l, path))
		return;
	/* Its default is filled in once the file is valid. */
	for (size_t i = 0; !key_header && i < config_n_rows; i++)
		if (strcmp(config_rows[i].path, "target.auth.header") == 0)
			key_header = config_rows[i].def_str;
	for (size_t i = 0; i < c->input.n_forward_headers; i++) {
		why = forward_name_problem(v[i]);
		if (!why && c->target.auth.type == AUTH_API_KEY &&
		    strcasecmp(v[i], key_header) == 0)
			why = "carries target.auth.key";
		for (size_t k = 0; !why && k < i; k++)
			if (strcasecmp(v[i], v[k]) == 0)
				why = "is listed twice (header names ignore "
				      "case)";
		/* Sent twice, the partner would see one of them at random. */
		for (size_t k = 0; !why && k < c->target.n_headers; k++)
			if (strcasecmp(v[i], c->target.headers[k].key) == 0)
				why = "is a static header in target.headers";
		if (why)
			config_load_err_item(
			    l, path, i,
			    "'%s[%zu]': '%s' %s and cannot be forwarded", path,
			    i, v[i], why);
	}
}

/* Proxy credentials go as a pair, and only to a proxy the config names:
 * one taken from the environment carries its own in its URL, as curl
 * users write it. S: the section of the server (target...). */
static void proxy_pair(struct config_load *l, const char *s)
{
	char proxy[64], user[64], pass[64];
	bool has_user, has_pass;

	snprintf(proxy, sizeof(proxy), "%s.proxy", s);
	snprintf(user, sizeof(user), "%s.proxy_user", s);
	snprintf(pass, sizeof(pass), "%s.proxy_password", s);
	has_user = config_load_is_set(l, user);
	has_pass = config_load_is_set(l, pass);
	if (has_user && !has_pass)
		config_load_err(l, user, "'%s' needs '%s' or '%s_file'", user,
		                pass, pass);
	if (has_pass && !has_user)
		config_load_err(l, pass, "'%s' needs '%s'", pass, user);
	if (has_user && !config_load_is_set(l, proxy) &&
	    !config_load_failed(l, proxy))
		config_load_err(l, user, "'%s' needs '%s'", user, proxy);
}

static void proxy_credentials(struct config_load *l)
{
	proxy_pair(l, "target");
	proxy_pair(l, "input.schema_registry");
}

/* Avro input needs its registry; registry credentials go as a pair. */
static void schema_registry(struct config_load *l)
{
	static const char *const url = "input.schema_registry.url";
	static const char *const user = "input.schema_registry.username";
	static const char *const pass = "input.schema_registry.password";
	const struct config *c = config_load_config(l);
	bool has_user = config_load_is_set(l, user);
	bool has_pass = config_load_is_set(l, pass);

	/* A url written but refused has its own message already. */
	if (c->input.format == INPUT_AVRO && !config_load_is_set(l, url) &&
	    !c->input.schema_registry.url &&
	    !config_load_failed(l, "input.format"))
		config_load_err(l, "input.format",
		                "'input.format: avro' needs '%s'", url);
	if (has_user && !has_pass && !config_load_failed(l, pass))
		config_load_err(l, user, "'%s' needs '%s' or '%s_file'", user,
		                pass, pass);
	if (has_pass && !has_user && !config_load_failed(l, user))
		config_load_err(l, pass, "'%s' needs '%s'", pass, user);
	if (c->input.key_format == KEY_FORMAT_AVRO &&
	    c->input.format != INPUT_AVRO &&
	    !config_load_failed(l, "input.format"))
		config_load_err(l, "input.key_format",
		                "'input.key_format: avro' needs "
		                "'input.format: avro' (its registry)");
}

/* api_key's header is custsync's own as much as Authorization is. */
static void headers_not_auth(struct config_load *l)
{
	static const char *const headers = "target.headers";
	const struct config *c = config_load_config(l);
	/* Its default is filled in only after the validators. */
	const char *h =
	    c->target.auth.header ? c->target.auth.header : "X-API-Key";

	if (c->target.auth.type != AUTH_API_KEY ||
	    !config_load_is_set(l, headers))
		return;
	for (size_t i = 0; i < c->target.n_headers; i++)
		if (strcasecmp(c->target.headers[i].key, h) == 0)
			config_load_err(
			    l, headers,
			    "'%s.%s': the api_key is sent in %s; it "
			    "cannot be a static header too",
			    headers, c->target.headers[i].key, h);
}

/* target.adaptive tunes the adaptive limit only: beside a fixed number it
 * would be silently ignored. */
static void adaptive_bounds(struct config_load *l)
{
	static const char *const mif = "target.max_in_flight";
	static const char *const min = "target.adaptive.min";
	static const char *const max = "target.adaptive.max";
	const struct config *c = config_load_config(l);

	if (config_load_failed(l, mif))
		return;
	if (c->target.max_in_flight != CONFIG_ADAPTIVE) {
		if (config_load_is_set(l, min))
			config_load_err(l, min, "'%s' needs '%s: adaptive'",
			                min, mif);
		if (config_load_is_set(l, max))
			config_load_err(l, max, "'%s' needs '%s: adaptive'",
			                max, mif);
		return;
	}
	ordered(l, min, c->target.adaptive.min, max, c->target.adaptive.max);
}

const struct config_validator config_validators[] = {
    {"adaptive_bounds", adaptive_bounds},
    {"backoff_order", backoff_order},
    {"forward_names", forward_names},
    {"proxy_credentials", proxy_credentials},
    {"schema_registry", schema_registry},
    {"headers_not_auth", headers_not_auth},
};

const size_t config_n_validators =
    sizeof(config_validators) / sizeof(config_validators[0]);
