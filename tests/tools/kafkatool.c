/* kafkatool: produce, read back and inspect Kafka records for tests.
 *
 *   kafkatool produce   -b BROKERS -t TOPIC [-X prop=val]...
 *   kafkatool consume   -b BROKERS -t TOPIC [--min-count N]
 *                       [--timeout-ms T] [-X prop=val]...
 *   kafkatool committed -b BROKERS -g GROUP -t TOPIC [-X prop=val]...
 *
 * produce reads one JSON object per stdin line:
 *   {"key": str|null, "key_b64": str, "value": str|null,
 *    "value_b64": str, "headers": [[name, value|null], ...],
 *    "partition": int}
 * Every field is optional. key_b64 and value_b64 (binary: Avro) win over
 * key and value; no value at all
 * is a tombstone. Without "partition" the murmur2 partitioner places the
 * record, as the Java client would. Exit 0 only when every record was
 * acknowledged (acks=all) within 30 s; "produced N" goes to stderr.
 *
 * consume reads every partition from the beginning, without a consumer
 * group, until it has reached each partition's high watermark as it was
 * at the start AND has read at least N records, or until T ms (default
 * 10000) have passed. One JSON object per record on stdout:
 *   {"topic","partition","offset","timestamp","key","value",
 *    "headers": [[name, value|null], ...]}
 * A key or value that is not UTF-8 text (or holds a NUL byte) is
 * printed as null with "key_b64"/"value_b64" next to it; such a header
 * value is printed as {"b64": "..."}. A timeout is not an error:
 * "consumed N" goes to stderr and the exit status is 0.
 *
 * committed prints {"<partition>": offset, ...}, -1001 when the group
 * has no committed offset for a partition.
 *
 * Exit status: 0 success, 1 failure, 2 usage or bad input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "parse_long.h"

#define MAX_PROPS        32
#define MAX_INPUT_LINE   (64 * 1024 * 1024) /* one record's JSON line */
#define FLUSH_TIMEOUT_MS 30000
#define META_TIMEOUT_MS  10000
#define SETUP_MIN_MS     3000

struct opts {
	const char *brokers;
	const char *topic;
	const char *group;
	long min_count;
	long timeout_ms;
	const char *props[MAX_PROPS]; /* "key=value", borrowed from argv */
	int n_props;
};

/* Delivery counts, updated by dr_cb from rd_kafka_poll/flush. */
struct delivery {
	long ok;
	long failed;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kafkatool produce -b BROKERS -t TOPIC [-X k=v]...\n"
	           "       kafkatool consume -b BROKERS -t TOPIC "
	           "[--min-count N] [--timeout-ms T] [-X k=v]...\n"
	           "       kafkatool committed -b BROKERS -g GROUP -t TOPIC "
	           "[-X k=v]...\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 10000;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc) {
			fprintf(stderr, "kafkatool: %s needs a value\n", a);
			return -EINVAL;
		}
		if (strcmp(a, "-b") == 0) {
			o->brokers = argv[++i];
		} else if (strcmp(a, "-t") == 0) {
			o->topic = argv[++i];
		} else if (strcmp(a, "-g") == 0) {
			o->group = argv[++i];
		} else if (strcmp(a, "--min-count") == 0) {
			if (parse_long(argv[++i], 0, LONG_MAX, &o->min_count) <
			    0) {
				fprintf(stderr,
				        "kafkatool: bad --min-count\n");
				return -EINVAL;
			}
		} else if (strcmp(a, "--timeout-ms") == 0) {
			if (parse_long(argv[++i], 0, INT_MAX, &o->timeout_ms) <
			    0) {
				fprintf(stderr,
				        "kafkatool: bad --timeout-ms\n");
				return -EINVAL;
			}
		} else if (strcmp(a, "-X") == 0) {
			if (o->n_props == MAX_PROPS ||
			    !strchr(argv[i + 1], '=')) {
				fprintf(stderr, "kafkatool: bad -X %s\n",
				        argv[i + 1]);
				return -EINVAL;
			}
			o->props[o->n_props++] = argv[++i];
		} else {
			fprintf(stderr, "kafkatool: unknown option %s\n", a);
			return -EINVAL;
		}
	}
	if (!o->brokers || !o->topic) {
		fprintf(stderr, "kafkatool: -b and -t are required\n");
		return -EINVAL;
	}
	return 0;
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafkatool: %s=%s: %s\n", k, v, errstr);
		return -EINVAL;
	}
	return 0;
}

/* Applies -X overrides last so a test can change any default. */
static int conf_set_props(rd_kafka_conf_t *conf, const struct opts *o)
{
	int i;

	for (i = 0; i < o->n_props; i++) {
		char kv[1024];
		char *eq;

		if (snprintf(kv, sizeof(kv), "%s", o->props[i]) >=
		    (int)sizeof(kv)) {
			fprintf(stderr, "kafkatool: -X too long\n");
			return -EINVAL;
		}
		eq = strchr(kv, '=');
		*eq = '\0';
		if (conf_set(conf, kv, eq + 1) < 0)
			return -EINVAL;
	}
	return 0;
}

static rd_kafka_t *new_handle(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char errstr[512];
	rd_kafka_t *rk;

	rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kafkatool: rd_kafka_new: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
	}
	/* on success rd_kafka_new took ownership of conf */
	return rk;
}

/* ---- base64 (RFC 4648, with padding) ---- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Returns a malloc'd NUL-terminated encoding of p[0..len). */
static char *b64_encode(const unsigned char *p, size_t len)
{
	size_t n = (len + 2) / 3 * 4;
	char *out = malloc(n + 1);
	size_t i, o = 0;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v =
		    (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64chars, c);
	return p ? (int)(p - b64chars) : -1;
}

/* Decodes s (padding optional) into a malloc'd buffer; -EINVAL when s
 * is not base64. The buffer is never NULL on success, even when empty,
 * so an empty value stays distinct from a tombstone. */
static int b64_decode(const char *s, unsigned char **outp, size_t *lenp)
{
	size_t len = strlen(s);
	unsigned char *out;
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1 || strlen(s) - len > 2)
		return -EINVAL;
	out = malloc(len * 3 / 4 + 1);
	if (!out)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		int v = b64_value(s[i]);

		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	*outp = out;
	*lenp = o;
	return 0;
}

/* True when p[0..len) is UTF-8 that a JSON string can carry through
 * cJSON: well-formed (no overlongs, surrogates or > U+10FFFF) and free
 * of NUL bytes, which would cut a C string short. */
static bool is_text(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t n, k;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- produce ---- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct delivery *d = opaque;

	(void)rk;
	if (m->err) {
		d->failed++;
		fprintf(stderr, "kafkatool: delivery failed: %s\n",
		        rd_kafka_err2str(m->err));
	} else {
		d->ok++;
	}
}

static int json_opt_string(const cJSON *obj, const char *name,
                           const char **out, long lineno)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it)) {
		fprintf(stderr,
		        "kafkatool: line %ld: \"%s\" must be a "
		        "string or null\n",
		        lineno, name);
		return -EINVAL;
	}
	*out = it->valuestring;
	return 0;
}

/* Builds librdkafka headers from [[name, value|null], ...]. */
static int json_headers(const cJSON *obj, rd_kafka_headers_t **out,
                        long lineno)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "headers");
	const cJSON *h;
	rd_kafka_headers_t *hdrs;

	*out = NULL;
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		goto bad;
	hdrs = rd_kafka_headers_new((size_t)cJSON_GetArraySize(arr));
	cJSON_ArrayForEach(h, arr)
	{
		const cJSON *name = cJSON_GetArrayItem(h, 0);
		const cJSON *val = cJSON_GetArrayItem(h, 1);

		if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) != 2 ||
		    !cJSON_IsString(name) ||
		    !(cJSON_IsString(val) || cJSON_IsNull(val))) {
			rd_kafka_headers_destroy(hdrs);
			goto bad;
		}
		rd_kafka_header_add(
		    hdrs, name->valuestring, -1,
		    cJSON_IsString(val) ? val->valuestring : NULL, -1);
	}
	*out = hdrs;
	return 0;
bad:
	fprintf(stderr,
	        "kafkatool: line %ld: \"headers\" must be "
	        "[[name, value|null], ...]\n",
	        lineno);
	return -EINVAL;
}

/* Produces one JSON line. Returns 0, or -EINVAL for bad input, or -EIO
 * when librdkafka refuses the record. */
static int produce_line(rd_kafka_t *rk, const char *topic, const char *line,
                        long lineno)
{
	cJSON *obj = cJSON_Parse(line);
	const cJSON *part;
	const char *key, *value, *b64, *kb64;
	unsigned char *decoded = NULL, *kdecoded = NULL;
	size_t vlen = 0, klen = 0;
	int32_t partition = RD_KAFKA_PARTITION_UA;
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_resp_err_t err;
	int ret = -EINVAL;

	if (!cJSON_IsObject(obj)) {
		fprintf(stderr, "kafkatool: line %ld: not a JSON object\n",
		        lineno);
		goto out;
	}
	if (json_opt_string(obj, "key", &key, lineno) < 0 ||
	    json_opt_string(obj, "value", &value, lineno) < 0 ||
	    json_opt_string(obj, "value_b64", &b64, lineno) < 0 ||
	    json_opt_string(obj, "key_b64", &kb64, lineno) < 0)
		goto out;
	if (kb64) {
		if (b64_decode(kb64, &kdecoded, &klen) < 0) {
			fprintf(stderr, "kafkatool: line %ld: bad key_b64\n",
			        lineno);
			goto out;
		}
		key = (const char *)kdecoded;
	} else if (key) {
		klen = strlen(key);
	}
	if (b64) {
		if (b64_decode(b64, &decoded, &vlen) < 0) {
			fprintf(stderr, "kafkatool: line %ld: bad value_b64\n",
			        lineno);
			goto out;
		}
		value = (const char *)decoded;
	} else if (value) {
		vlen = strlen(value);
	}
	part = cJSON_GetObjectItemCaseSensitive(obj, "partition");
	if (part && !cJSON_IsNull(part)) {
		if (!cJSON_IsNumber(part) || part->valuedouble < 0 ||
		    part->valuedouble > INT32_MAX ||
		    part->valuedouble != (double)part->valueint) {
			fprintf(stderr,
			        "kafkatool: line %ld: bad "
			        "partition\n",
			        lineno);
			goto out;
		}
		partition = (int32_t)part->valueint;
	}
	if (json_headers(obj, &hdrs, lineno) < 0)
		goto out;

	for (;;) {
		/* RD_KAFKA_V_KEY/VALUE with a NULL pointer send a null key
		 * or value (a tombstone); a non-NULL pointer with length 0
		 * sends an empty one. */
		err = rd_kafka_producev(
		    rk, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_PARTITION(partition),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY(key, klen),
		    RD_KAFKA_V_VALUE((void *)value, vlen),
		    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(rk, 100); /* let deliveries free the queue */
	}
	if (err) {
		fprintf(stderr, "kafkatool: line %ld: produce: %s\n", lineno,
		        rd_kafka_err2str(err));
		rd_kafka_headers_destroy(hdrs); /* still ours on failure */
		ret = -EIO;
		goto out;
	}
	hdrs = NULL; /* producev took ownership */
	ret = 0;
out:
	free(decoded);
	free(kdecoded);
	cJSON_Delete(obj);
	return ret;
}

static int cmd_produce(const struct opts *o)
{
	struct delivery d = {0, 0};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0, sent = 0;
	int ret = 0;

	/* murmur2_random maps keys to partitions like the Java client, so
	 * a test's expectations match what a real deployment would see;
	 * message.timeout.ms bounds a delivery to the flush bound. */
	if (conf_set(conf, "bootstrap.servers", o->brokers) < 0 ||
	    conf_set(conf, "acks", "all") < 0 ||
	    conf_set(conf, "partitioner", "murmur2_random") < 0 ||
	    conf_set(conf, "linger.ms", "5") < 0 ||
	    conf_set(conf, "message.timeout.ms", "30000") < 0 ||
	    conf_set_props(conf, o) < 0) {
		rd_kafka_conf_destroy(conf);
		return 2;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, &d);
	rk = new_handle(RD_KAFKA_PRODUCER, conf);
	if (!rk)
		return 1;

	for (;;) {
		const char *p;
		int r;

		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		p = line;
		lineno++;
		if (n > MAX_INPUT_LINE) {
			fprintf(stderr, "kafkatool: line %ld too long\n",
			        lineno);
			ret = 2;
			break;
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			continue; /* blank lines are not records */
		r = produce_line(rk, o->topic, p, lineno);
		if (r < 0) {
			ret = r == -EINVAL ? 2 : 1;
			break;
		}
		sent++;
		rd_kafka_poll(rk, 0);
	}
	free(line);

	/* Flush even after bad input, so what was accepted is reported
	 * truthfully; a failed run still exits non-zero. */
	rd_kafka_flush(rk, FLUSH_TIMEOUT_MS);
	if (rd_kafka_outq_len(rk) > 0)
		fprintf(stderr,
		        "kafkatool: %d record(s) not delivered "
		        "within %d ms\n",
		        rd_kafka_outq_len(rk), FLUSH_TIMEOUT_MS);
	fprintf(stderr, "produced %ld\n", d.ok);
	if (ret == 0 && (d.ok != sent || d.failed > 0))
		ret = 1;
	rd_kafka_destroy(rk);
	return ret;
}

/* ---- consume / committed: topic metadata ---- */

/* Returns the partition count of topic (> 0), or -1 after logging.
 * Asks for all topics: a Metadata request naming an unknown topic makes
 * the mock cluster create it (4 partitions), hiding a typo in a test. */
static int partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	int cnt = -1;
	int i;

	err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
	if (err) {
		fprintf(stderr, "kafkatool: metadata: %s\n",
		        rd_kafka_err2str(err));
		return -1;
	}
	for (i = 0; i < md->topic_cnt; i++) {
		const struct rd_kafka_metadata_topic *t = &md->topics[i];

		if (strcmp(t->topic, topic) != 0)
			continue;
		if (t->err)
			fprintf(stderr, "kafkatool: topic %s: %s\n", topic,
			        rd_kafka_err2str(t->err));
		else if (t->partition_cnt < 1)
			fprintf(stderr,
			        "kafkatool: topic %s has no "
			        "partitions\n",
			        topic);
		else
			cnt = t->partition_cnt;
		break;
	}
	if (i == md->topic_cnt)
		fprintf(stderr, "kafkatool: topic %s does not exist\n", topic);
	rd_kafka_metadata_destroy(md);
	return cnt;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

/* Bounds a set-up request (metadata, watermarks) by the deadline, but
 * gives it a floor: a tiny --timeout-ms must read "nothing yet", not
 * fail before the first connection is up. */
static int setup_timeout_ms(int64_t deadline)
{
	int left = remaining_ms(deadline);

	if (left < SETUP_MIN_MS)
		return SETUP_MIN_MS;
	return left > META_TIMEOUT_MS ? META_TIMEOUT_MS : left;
}

/* ---- consume ---- */

/* Adds name: str, or name: null plus name_b64 when not text. */
static void json_add_bytes(cJSON *obj, const char *name, const void *p,
                           size_t len)
{
	char b64name[32];
	char *s;

	if (!p) {
		cJSON_AddNullToObject(obj, name);
		return;
	}
	if (is_text(p, len)) {
		s = strndup(p, len);
		cJSON_AddStringToObject(obj, name, s ? s : "");
		free(s);
		return;
	}
	cJSON_AddNullToObject(obj, name);
	snprintf(b64name, sizeof(b64name), "%s_b64", name);
	s = b64_encode(p, len);
	cJSON_AddStringToObject(obj, b64name, s ? s : "");
	free(s);
}

/* Adds an int64 exactly: cJSON numbers are doubles. */
static void json_add_int64(cJSON *obj, const char *name, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	cJSON_AddRawToObject(obj, name, buf);
}

static cJSON *json_headers_out(const rd_kafka_message_t *m)
{
	cJSON *arr = cJSON_CreateArray();
	rd_kafka_headers_t *hdrs = NULL;
	const char *name;
	const void *val;
	size_t size, i;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return arr; /* no headers */
	for (i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) ==
	            RD_KAFKA_RESP_ERR_NO_ERROR;
	     i++) {
		cJSON *pair = cJSON_CreateArray();

		cJSON_AddItemToArray(pair, cJSON_CreateString(name));
		if (!val) {
			cJSON_AddItemToArray(pair, cJSON_CreateNull());
		} else if (is_text(val, size)) {
			char *s = strndup(val, size);

			cJSON_AddItemToArray(pair,
			                     cJSON_CreateString(s ? s : ""));
			free(s);
		} else {
			cJSON *o = cJSON_CreateObject();
			char *s = b64_encode(val, size);

			cJSON_AddStringToObject(o, "b64", s ? s : "");
			free(s);
			cJSON_AddItemToArray(pair, o);
		}
		cJSON_AddItemToArray(arr, pair);
	}
	return arr;
}

static void print_message(const rd_kafka_message_t *m)
{
	cJSON *obj = cJSON_CreateObject();
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);
	char *out;

	cJSON_AddStringToObject(obj, "topic", rd_kafka_topic_name(m->rkt));
	json_add_int64(obj, "partition", m->partition);
	json_add_int64(obj, "offset", m->offset);
	json_add_int64(obj, "timestamp", ts);
	json_add_bytes(obj, "key", m->key, m->key_len);
	json_add_bytes(obj, "value", m->payload, m->len);
	cJSON_AddItemToObject(obj, "headers", json_headers_out(m));
	out = cJSON_PrintUnformatted(obj);
	if (out) {
		fputs(out, stdout);
		fputc('\n', stdout);
		free(out);
	}
	cJSON_Delete(obj);
}

/* Per-partition progress: done once next >= target. */
struct progress {
	int64_t next;   /* offset after the last one read */
	int64_t target; /* high watermark at start */
};

static bool caught_up(const struct progress *pr, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (pr[i].next < pr[i].target)
			return false;
	}
	return true;
}

static int consume_loop(rd_kafka_t *rk, const struct opts *o,
                        struct progress *pr, int nparts, int64_t deadline,
                        long *count)
{
	while (!(caught_up(pr, nparts) && *count >= o->min_count)) {
		rd_kafka_message_t *m;
		int wait = remaining_ms(deadline);

		if (wait == 0)
			break;
		m = rd_kafka_consumer_poll(rk, wait < 100 ? wait : 100);
		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			/* The log may have been trimmed below the target:
			 * the end is as far as there is to read. */
			if (m->partition >= 0 && m->partition < nparts &&
			    pr[m->partition].next < m->offset)
				pr[m->partition].next = m->offset;
		} else if (m->err) {
			fprintf(stderr, "kafkatool: consume: %s\n",
			        rd_kafka_message_errstr(m));
		} else {
			print_message(m);
			(*count)++;
			if (m->partition >= 0 && m->partition < nparts)
				pr[m->partition].next = m->offset + 1;
		}
		rd_kafka_message_destroy(m);
	}
	fflush(stdout);
	return 0;
}

static int cmd_consume(const struct opts *o)
{
	int64_t deadline = now_ms() + o->timeout_ms;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *parts = NULL;
	struct progress *pr = NULL;
	rd_kafka_resp_err_t err;
	rd_kafka_t *rk;
	long count = 0;
	int nparts, i, ret = 1;
	char group[64];

	/* librdkafka 2.0.2 refuses assign() without a group.id ("Unknown
	 * group"), so use a throwaway one. The handle never subscribes, so
	 * it never joins, and it commits nothing. EOF events tell us when a
	 * trimmed partition has nothing left; "earliest" covers a log
	 * trimmed past the low watermark we start from. */
	snprintf(group, sizeof(group), "kafkatool-%ld-%lld", (long)getpid(),
	         (long long)now_ms());
	if (conf_set(conf, "bootstrap.servers", o->brokers) < 0 ||
	    conf_set(conf, "group.id", group) < 0 ||
	    conf_set(conf, "enable.auto.commit", "false") < 0 ||
	    conf_set(conf, "enable.auto.offset.store", "false") < 0 ||
	    conf_set(conf, "enable.partition.eof", "true") < 0 ||
	    conf_set(conf, "auto.offset.reset", "earliest") < 0 ||
	    conf_set(conf, "fetch.wait.max.ms", "100") < 0 ||
	    conf_set_props(conf, o) < 0) {
		rd_kafka_conf_destroy(conf);
		return 2;
	}
	rk = new_handle(RD_KAFKA_CONSUMER, conf);
	if (!rk)
		return 1;

	nparts = partition_count(rk, o->topic, setup_timeout_ms(deadline));
	if (nparts < 0)
		goto out;
	pr = calloc((size_t)nparts, sizeof(*pr));
	parts = rd_kafka_topic_partition_list_new(nparts);
	if (!pr || !parts)
		goto out;
	for (i = 0; i < nparts; i++) {
		int64_t lo, hi;

		err = rd_kafka_query_watermark_offsets(
		    rk, o->topic, i, &lo, &hi, setup_timeout_ms(deadline));
		if (err) {
			fprintf(stderr,
			        "kafkatool: watermarks of %s [%d]: "
			        "%s\n",
			        o->topic, i, rd_kafka_err2str(err));
			goto out;
		}
		pr[i].next = lo;
		pr[i].target = hi;
		/* Start at the known low watermark rather than BEGINNING:
		 * a logical offset costs another ListOffsets round, and a
		 * 500 ms retry when the leader is not known yet. */
		rd_kafka_topic_partition_list_add(parts, o->topic, i)->offset =
		    lo;
	}
	/* An empty topic with nothing to wait for needs no fetching. */
	if (caught_up(pr, nparts) && o->min_count == 0) {
		ret = 0;
		goto out;
	}
	err = rd_kafka_assign(rk, parts);
	if (err) {
		fprintf(stderr, "kafkatool: assign: %s\n",
		        rd_kafka_err2str(err));
		goto out;
	}
	ret = consume_loop(rk, o, pr, nparts, deadline, &count);
	if (!caught_up(pr, nparts) || count < o->min_count)
		fprintf(stderr, "kafkatool: timed out after %ld ms\n",
		        o->timeout_ms);
out:
	fprintf(stderr, "consumed %ld\n", count);
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	free(pr);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return ret;
}

/* ---- committed ---- */

static int cmd_committed(const struct opts *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *parts = NULL;
	rd_kafka_resp_err_t err;
	rd_kafka_t *rk;
	cJSON *obj = NULL;
	char *out;
	int nparts, i, ret = 1;

	if (!o->group) {
		fprintf(stderr, "kafkatool: committed needs -g GROUP\n");
		rd_kafka_conf_destroy(conf);
		return 2;
	}
	/* The handle never subscribes, so it never joins the group: it
	 * only asks the coordinator for the group's offsets. */
	if (conf_set(conf, "bootstrap.servers", o->brokers) < 0 ||
	    conf_set(conf, "group.id", o->group) < 0 ||
	    conf_set(conf, "enable.auto.commit", "false") < 0 ||
	    conf_set_props(conf, o) < 0) {
		rd_kafka_conf_destroy(conf);
		return 2;
	}
	rk = new_handle(RD_KAFKA_CONSUMER, conf);
	if (!rk)
		return 1;

	nparts = partition_count(rk, o->topic, META_TIMEOUT_MS);
	if (nparts < 0)
		goto out;
	parts = rd_kafka_topic_partition_list_new(nparts);
	for (i = 0; i < nparts; i++)
		rd_kafka_topic_partition_list_add(parts, o->topic, i);
	err = rd_kafka_committed(rk, parts, META_TIMEOUT_MS);
	if (err) {
		fprintf(stderr, "kafkatool: committed: %s\n",
		        rd_kafka_err2str(err));
		goto out;
	}
	obj = cJSON_CreateObject();
	for (i = 0; i < parts->cnt; i++) {
		const rd_kafka_topic_partition_t *p = &parts->elems[i];
		char name[16];

		if (p->err) {
			fprintf(stderr, "kafkatool: committed %s [%d]: %s\n",
			        p->topic, (int)p->partition,
			        rd_kafka_err2str(p->err));
			goto out;
		}
		snprintf(name, sizeof(name), "%d", (int)p->partition);
		json_add_int64(obj, name, p->offset);
	}
	out = cJSON_PrintUnformatted(obj);
	if (out) {
		puts(out);
		free(out);
		ret = 0;
	}
out:
	cJSON_Delete(obj);
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o;

	/* A test that closes our stdout early must see an exit status,
	 * not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (parse_opts(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "produce") == 0)
		return cmd_produce(&o);
	if (strcmp(argv[1], "consume") == 0)
		return cmd_consume(&o);
	if (strcmp(argv[1], "committed") == 0)
		return cmd_committed(&o);
	usage(stderr);
	return 2;
}
