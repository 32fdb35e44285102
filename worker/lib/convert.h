/* Logical values from Kafka Connect / Avro (decimals as big-endian two's
 * complement bytes with a scale, times as counts since the epoch or
 * midnight) turned into canonical text. Pure; shared by the JSON and the
 * Avro input so both formats print one value the same way. */
#ifndef CUSTSYNC_CONVERT_H
#define CUSTSYNC_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/* Longest unscaled value conv_decimal takes, in bytes: far above any
 * Connect precision, low enough that a hostile length cannot make the
 * quadratic base conversion or the allocation expensive. */
#define CONV_DECIMAL_MAX_BYTES 1024
#define CONV_DECIMAL_MAX_SCALE 4096

/* Buffer sizes: "-0001-01-01T00:00:00.123456789Z" fits CONV_TIME_LEN. */
#define CONV_TIME_LEN 40
#define CONV_DATE_LEN 16
#define CONV_TOD_LEN  24

/* Units of a count: digits of the fraction of a second it has. */
enum conv_unit { CONV_MS = 3, CONV_US = 6, CONV_NS = 9 };

/* The decimal whose unscaled value is the big-endian two's complement
 * integer be[0..n) and whose scale is scale, as text with exactly scale
 * fraction digits ("-12.30", "0.001", "42"): a malloc'd string in *out
 * and 0; -EINVAL for n == 0 or scale < 0, -ERANGE when n or scale is
 * above the limits, -ENOMEM. *out is NULL on error. */
int conv_decimal(const uint8_t *be, size_t n, int scale, char **out);

/* count units since 1970-01-01T00:00:00Z (negative before) as ISO-8601
 * UTC with the unit's fraction digits ("1969-12-31T23:59:59.999Z"):
 * 0; -ERANGE outside years 0000..9999; -ENOSPC when len is below
 * CONV_TIME_LEN. */
int conv_timestamp(int64_t count, enum conv_unit unit, char *buf, size_t len);

/* days since 1970-01-01 as YYYY-MM-DD: 0, -ERANGE, -ENOSPC as above. */
int conv_date(int64_t days, char *buf, size_t len);

/* count units since midnight as HH:MM:SS with the unit's fraction
 * digits: 0; -ERANGE outside [0, 24h); -ENOSPC. */
int conv_time_of_day(int64_t count, enum conv_unit unit, char *buf,
                     size_t len);

/* RFC 4648 base64 of in[0..n) (Connect's text form of bytes): malloc'd,
 * NULL when out of memory. */
char *conv_base64(const uint8_t *in, size_t n);

#endif
