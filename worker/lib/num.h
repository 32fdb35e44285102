/* Numbers and times from outside (JSON answers, Kafka records) turned
 * into integers and text, checked: a value out of range is an error the
 * caller handles, never a cast that is undefined behaviour. Pure. */
#ifndef CUSTSYNC_NUM_H
#define CUSTSYNC_NUM_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* The last instant with a four-digit year, 9999-12-31T23:59:59.999Z, in
 * ms since the epoch: the end of what num_time prints. */
#define NUM_TIME_MAX_MS 253402300799999LL

/* Buffer size num_time needs: "2026-11-23T10:00:01.123Z" and a NUL. */
#define NUM_TIME_LEN 25

/* v as an integer in [min, max]: 0 with *out set; -EINVAL when v is not
 * a JSON number or not a whole one (1.5); -ERANGE when it is whole but
 * outside [min, max] (1e300, infinity and -5 for min 0 included). *out
 * is left alone on error. */
int num_json_int(const struct cJSON *v, int64_t min, int64_t max,
                 int64_t *out);

/* epoch_ms as ISO-8601 UTC with milliseconds into buf:
 * 0; -ERANGE when epoch_ms is before 1970 (librdkafka's -1 means "not
 * available") or after NUM_TIME_MAX_MS; -ENOSPC when len is below
 * NUM_TIME_LEN. On error buf (when len > 0) is "". */
int num_time(int64_t epoch_ms, char *buf, size_t len);

/* Buffer size num_i64 needs: INT64_MIN's 20 characters and a NUL. */
#define NUM_I64_LEN 21

/* v in decimal into buf (NUL-terminated) -> its length. What printf's
 * "%lld" gives, without printf: it runs once or more per event. */
size_t num_i64(int64_t v, char buf[NUM_I64_LEN]);

/* The civil date (proleptic Gregorian) of a day count since 1970-01-01;
 * negative counts are before 1970. |days| below 2^40. */
void num_civil(int64_t days, int *y, int *m, int *d);

#endif
