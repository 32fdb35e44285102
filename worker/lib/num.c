#include "lib/num.h"

#include <cjson/cJSON.h>
#include <errno.h>

/* 2^63: the first double past INT64_MAX ((double)INT64_MAX rounds up to
 * it), and -2^63, INT64_MIN exactly. */
#define TWO_63 9223372036854775808.0

int num_json_int(const cJSON *v, int64_t min, int64_t max, int64_t *out)
{
	double d;
	int64_t n;

	if (!cJSON_IsNumber(v))
		return -EINVAL;
	d = v->valuedouble;
	/* NaN fails both comparisons; infinities and anything beyond
	 * int64_t fail one. Only then is the cast defined. */
	if (!(d >= -TWO_63 && d < TWO_63))
		return d == d ? -ERANGE : -EINVAL;
	n = (int64_t)d;
	if ((double)n != d)
		return -EINVAL;
	if (n < min || n > max)
		return -ERANGE;
	*out = n;
	return 0;
}

/* Civil date of a day count since 1970-01-01, proleptic Gregorian (H.
 * Hinnant's civil_from_days), before 1970 too. No libc time state, and
 * nothing that can fail. */
void num_civil(int64_t days, int *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

size_t num_i64(int64_t v, char buf[NUM_I64_LEN])
{
	/* Unsigned, so that INT64_MIN's magnitude fits. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char tmp[NUM_I64_LEN];
	size_t n = 0, len;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[n++] = '-';
	len = n;
	for (size_t i = 0; i < len; i++)
		buf[i] = tmp[--n];
	buf[len] = '\0';
	return len;
}

/* v as exactly width digits, zero-padded (v fits). */
static char *digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

int num_time(int64_t epoch_ms, char *buf, size_t len)
{
	int64_t days, rest;
	int y, mo, d;
	char *p = buf;

	if (len > 0)
		buf[0] = '\0';
	if (len < NUM_TIME_LEN)
		return -ENOSPC;
	if (epoch_ms < 0 || epoch_ms > NUM_TIME_MAX_MS)
		return -ERANGE;
	days = epoch_ms / 86400000;
	rest = epoch_ms % 86400000;
	num_civil(days, &y, &mo, &d);
	/* The range check keeps the year at four digits. */
	p = digits(p, y, 4);
	*p++ = '-';
	p = digits(p, mo, 2);
	*p++ = '-';
	p = digits(p, d, 2);
	*p++ = 'T';
	p = digits(p, (int)(rest / 3600000), 2);
	*p++ = ':';
	p = digits(p, (int)(rest / 60000 % 60), 2);
	*p++ = ':';
	p = digits(p, (int)(rest / 1000 % 60), 2);
	*p++ = '.';
	p = digits(p, (int)(rest % 1000), 3);
	*p++ = 'Z';
	*p = '\0';
	return 0;
}
