#include "lib/convert.h"

#include "lib/num.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int conv_decimal(const uint8_t *be, size_t n, int scale, char **out)
{
	*out = NULL;
	if (!be || n == 0 || scale < 0)
		return -EINVAL;
	if (n > CONV_DECIMAL_MAX_BYTES || scale > CONV_DECIMAL_MAX_SCALE)
		return -ERANGE;
	uint8_t *mag = malloc(n);
	/* Each byte gives at most 3 decimal digits; room for sign, point,
	 * leading "0." zeros and the NUL. */
	size_t cap = n * 3 + (size_t)scale + 4;
	char *digits = malloc(cap);
	if (!mag || !digits) {
		free(mag);
		free(digits);
		return -ENOMEM;
	}
	int neg = (be[0] & 0x80) != 0;
	memcpy(mag, be, n);
	if (neg) {
		/* Magnitude of a two's complement value: invert and add one.
		 */
		unsigned carry = 1;
		for (size_t i = n; i-- > 0;) {
			unsigned v = (uint8_t)~mag[i] + carry;
			mag[i] = (uint8_t)v;
			carry = v >> 8;
		}
	}
	size_t nd = 0; /* digits, least significant first */
	size_t start = 0;
	while (start < n && mag[start] == 0)
		start++;
	while (start < n) {
		unsigned rem = 0;
		for (size_t i = start; i < n; i++) {
			unsigned cur = (rem << 8) | mag[i];
			mag[i] = (uint8_t)(cur / 10);
			rem = cur % 10;
		}
		digits[nd++] = (char)('0' + rem);
		while (start < n && mag[start] == 0)
			start++;
	}
	free(mag);
	/* At least one integer digit, and scale fraction digits. */
	while (nd < (size_t)scale + 1)
		digits[nd++] = '0';
	char *s = malloc(nd + 3);
	if (!s) {
		free(digits);
		return -ENOMEM;
	}
	size_t k = 0;
	if (neg)
		s[k++] = '-';
	for (size_t i = nd; i-- > 0;) {
		s[k++] = digits[i];
		if (i == (size_t)scale && scale > 0)
			s[k++] = '.';
	}
	s[k] = '\0';
	free(digits);
	*out = s;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days of 0000-01-01 and 9999-12-31 relative to the epoch. */
#define DAY_MIN (-719528LL)
#define DAY_MAX 2932896LL

static int64_t unit_per_sec(enum conv_unit unit)
{
	return unit == CONV_MS ? 1000 : unit == CONV_US ? 1000000 : 1000000000;
}

/* Empties buf (when it has room for that) and says whether it has need. */
static int buf_fits(char *buf, size_t len, size_t need)
{
	if (len > 0)
		buf[0] = '\0';
	return len >= need ? 0 : -ENOSPC;
}

int conv_date(int64_t days, char *buf, size_t len)
{
	int rc = buf_fits(buf, len, CONV_DATE_LEN);
	if (rc)
		return rc;
	if (days < DAY_MIN || days > DAY_MAX)
		return -ERANGE;
	int y, m, d;
	num_civil(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
	return 0;
}

int conv_time_of_day(int64_t count, enum conv_unit unit, char *buf, size_t len)
{
	int rc = buf_fits(buf, len, CONV_TOD_LEN);
	if (rc)
		return rc;
	int64_t per = unit_per_sec(unit);
	if (count < 0 || count >= 86400 * per)
		return -ERANGE;
	int64_t sod = count / per;
	snprintf(buf, len, "%02lld:%02lld:%02lld.%0*lld",
	         (long long)(sod / 3600), (long long)(sod / 60 % 60),
	         (long long)(sod % 60), (int)unit, (long long)(count % per));
	return 0;
}

int conv_timestamp(int64_t count, enum conv_unit unit, char *buf, size_t len)
{
	int rc = buf_fits(buf, len, CONV_TIME_LEN);
	if (rc)
		return rc;
	int64_t per = unit_per_sec(unit);
	int64_t secs = floor_div(count, per);
	int64_t frac = count % per;
	if (frac < 0)
		frac += per;
	int64_t days = floor_div(secs, 86400);
	if (days < DAY_MIN || days > DAY_MAX)
		return -ERANGE;
	char date[CONV_DATE_LEN], tod[CONV_TOD_LEN];
	conv_date(days, date, sizeof date);
	conv_time_of_day((secs - days * 86400) * per + frac, unit, tod,
	                 sizeof tod);
	snprintf(buf, len, "%sT%sZ", date, tod);
	return 0;
}

char *conv_base64(const uint8_t *in, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                          "qrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}
