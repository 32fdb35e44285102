/* Kafka Connect's logical types, as its JsonConverter writes them with
 * schemas.enable=true, turned into the canonical text forms a partner
 * API takes: a decimal as its plain decimal text with the schema's scale,
 * timestamps as ISO-8601 UTC, dates as YYYY-MM-DD.
 *
 * Pure: no I/O. Without the schema there is nothing to go by: a value is
 * only converted where its schema names the logical type. */
#ifndef CUSTSYNC_CONNECT_H
#define CUSTSYNC_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/convert.h"

struct cJSON;

/* Error codes (event.h's list; they reach outcomes and dead letters). */
#define CONNECT_ERR_INVALID_DECIMAL "invalid_decimal"
#define CONNECT_ERR_INVALID_TIME    "invalid_time"

/* Longest decimal accepted, in bytes of its unscaled value: far beyond
 * any database's NUMERIC, and it bounds the quadratic conversion. */
#define CONNECT_DECIMAL_MAX_BYTES 1024

/* The unscaled value b64 (standard base64 with padding, big-endian two's
 * complement, as java.math.BigInteger.toByteArray) at scale, as plain
 * decimal text ("30.50", "-0.05", "1200" for scale -2). 0 and a new
 * string in *out; -EINVAL for text that is not such a value (bad
 * base64, no bytes, longer than CONNECT_DECIMAL_MAX_BYTES) or a scale
 * beyond +-1000; -ENOMEM. */
int connect_decimal_text(const char *b64, long scale, char **out);

/* Room connect_time_text and connect_clock_text need: that of the shared
 * conversions (lib/convert.h). */
#define CONNECT_TIME_LEN CONV_TIME_LEN

/* v units since 1970-01-01T00:00:00Z (per_second 1000 for ms, 1000000
 * for us, 1000000000 for ns) as ISO-8601 UTC with as many fraction
 * digits as the unit has, before 1970 too. 0, or -ERANGE outside years
 * 0000..9999 (buf is then ""). buf holds CONNECT_TIME_LEN. */
int connect_time_text(int64_t v, int64_t per_second, char *buf);

/* days since 1970-01-01 as YYYY-MM-DD; -ERANGE outside years 0..9999.
 * buf holds at least CONV_DATE_LEN bytes. */
int connect_date_text(int64_t days, char *buf);

/* v units since midnight (a time of day) as HH:MM:SS with the unit's
 * fraction digits; -ERANGE outside one day. buf holds CONNECT_TIME_LEN. */
int connect_clock_text(int64_t v, int64_t per_second, char *buf);

/* Converts, in place, every value under value whose schema (the
 * JsonConverter's schema of value) names a logical type known here:
 * org.apache.kafka.connect.data.{Decimal,Timestamp,Date,Time} and
 * io.debezium.{data.VariableScaleDecimal,time.Timestamp,
 * time.MicroTimestamp,time.NanoTimestamp,time.Date,time.Time,
 * time.MicroTime,time.NanoTime}; structs, arrays and maps are walked.
 * Null values stay null. 0 on success; -EINVAL with *code one of
 * CONNECT_ERR_* and err naming the field path; -ENOMEM. */
int connect_decode(const struct cJSON *schema, struct cJSON *value,
                   const char *path, const char **code, char *err,
                   size_t errlen);

#endif
