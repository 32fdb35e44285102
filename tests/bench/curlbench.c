/*
 * curlbench: a bare libcurl-multi loop, the ceiling custsync's HTTP side
 * is compared with. It POSTs alvys create bodies
 *   {"Name":"x I","Type":"Customer","ExternalId":"KI"}
 * (I counts up from --start, so every create is new) to
 * URL/customers with C requests in flight at once, over keep-alive
 * connections (at most C), for --count requests or --duration seconds,
 * whichever is given (count wins when both are).
 *
 *   curlbench --url BASE [--concurrency C] [--count N | --duration S]
 *             [--start I]
 *
 * BASE is the API base up to /customers (RefApi.base_url). Prints one
 * JSON line: {"requests","ok","errors","seconds","rps","concurrency"};
 * ok counts 2xx answers. Exit 0 when every request got a 2xx, 1 if not,
 * 2 on bad arguments or setup failure.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tools/parse_long.h"

#define BODY_MAX 128
#define URL_MAX  1024

struct slot {
	CURL *easy;
	char body[BODY_MAX];
	int busy;
};

struct bench {
	CURLM *multi;
	struct curl_slist *headers;
	char url[URL_MAX];
	struct slot *slots;
	long concurrency;
	long count; /* 0: run for duration_s */
	double duration_s;
	long next_id;
	long started;
	long done;
	long ok;
	long errors;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Discards the response body. */
static size_t sink(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

/* Starts the next request on slot s; 0 or -1. */
static int slot_start(struct bench *b, struct slot *s)
{
	int n;

	n = snprintf(s->body, sizeof(s->body),
	             "{\"Name\":\"x %ld\",\"Type\":\"Customer\","
	             "\"ExternalId\":\"K%ld\"}",
	             b->next_id, b->next_id);
	if (n < 0 || (size_t)n >= sizeof(s->body))
		return -1;
	b->next_id++;
	/* The same easy handle each time: its connection is kept alive. */
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)n);
	if (curl_multi_add_handle(b->multi, s->easy) != CURLM_OK)
		return -1;
	s->busy = 1;
	b->started++;
	return 0;
}

static int slot_init(struct bench *b, struct slot *s)
{
	s->easy = curl_easy_init();
	if (!s->easy)
		return -1;
	curl_easy_setopt(s->easy, CURLOPT_URL, b->url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, b->headers);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	return 0;
}

static int want_more(const struct bench *b, double t_end)
{
	if (b->count > 0)
		return b->started < b->count;
	return now_s() < t_end;
}

static void reap(struct bench *b)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(b->multi, &left)) != NULL) {
		struct slot *s = NULL;
		long code = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		                  &code);
		if (msg->data.result == CURLE_OK && code >= 200 && code < 300)
			b->ok++;
		else
			b->errors++;
		b->done++;
		curl_multi_remove_handle(b->multi, msg->easy_handle);
		s->busy = 0;
	}
}

static int run(struct bench *b, double *seconds)
{
	double t0 = now_s();
	double t_end = t0 + b->duration_s;
	int running = 0;
	long i;

	for (i = 0; i < b->concurrency && want_more(b, t_end); i++) {
		if (slot_start(b, &b->slots[i]) < 0)
			return -1;
	}
	while (b->done < b->started) {
		if (curl_multi_perform(b->multi, &running) != CURLM_OK)
			return -1;
		reap(b);
		for (i = 0; i < b->concurrency; i++) {
			if (b->slots[i].busy || !want_more(b, t_end))
				continue;
			if (slot_start(b, &b->slots[i]) < 0)
				return -1;
		}
		if (b->done == b->started)
			break;
		if (curl_multi_poll(b->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			return -1;
	}
	*seconds = now_s() - t0;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: curlbench --url BASE [--concurrency C] "
	                "[--count N | --duration S] [--start I]\n");
}

int main(int argc, char **argv)
{
	struct bench b;
	const char *base = NULL;
	double seconds = 0;
	long v;
	int i;
	int rc = 2;

	memset(&b, 0, sizeof(b));
	b.concurrency = 64;
	b.duration_s = 5;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			usage();
			return 2;
		}
		i++;
		if (strcmp(a, "--url") == 0) {
			base = val;
		} else if (strcmp(a, "--concurrency") == 0 &&
		           parse_long(val, 1, 4096, &v) == 0) {
			b.concurrency = v;
		} else if (strcmp(a, "--count") == 0 &&
		           parse_long(val, 1, 100000000, &v) == 0) {
			b.count = v;
		} else if (strcmp(a, "--duration") == 0 &&
		           parse_long(val, 1, 3600, &v) == 0) {
			b.duration_s = (double)v;
		} else if (strcmp(a, "--start") == 0 &&
		           parse_long(val, 0, 1000000000, &v) == 0) {
			b.next_id = v;
		} else {
			usage();
			return 2;
		}
	}
	if (!base) {
		usage();
		return 2;
	}
	if ((size_t)snprintf(b.url, sizeof(b.url), "%s/customers", base) >=
	    sizeof(b.url)) {
		fprintf(stderr, "curlbench: --url too long\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	b.multi = curl_multi_init();
	b.headers = curl_slist_append(NULL, "Content-Type: application/json");
	b.slots = calloc((size_t)b.concurrency, sizeof(*b.slots));
	if (!b.multi || !b.headers || !b.slots)
		goto out;
	curl_multi_setopt(b.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	                  b.concurrency);
	curl_multi_setopt(b.multi, CURLMOPT_MAXCONNECTS, b.concurrency);
	for (i = 0; i < b.concurrency; i++) {
		if (slot_init(&b, &b.slots[i]) < 0)
			goto out;
	}
	if (run(&b, &seconds) < 0) {
		fprintf(stderr, "curlbench: curl multi failed\n");
		goto out;
	}
	printf("{\"requests\":%ld,\"ok\":%ld,\"errors\":%ld,"
	       "\"seconds\":%.3f,\"rps\":%.1f,\"concurrency\":%ld}\n",
	       b.done, b.ok, b.errors, seconds,
	       seconds > 0 ? (double)b.done / seconds : 0.0, b.concurrency);
	rc = b.errors == 0 ? 0 : 1;
out:
	if (b.slots) {
		for (i = 0; i < b.concurrency; i++) {
			if (!b.slots[i].easy)
				continue;
			if (b.slots[i].busy)
				curl_multi_remove_handle(b.multi,
				                         b.slots[i].easy);
			curl_easy_cleanup(b.slots[i].easy);
		}
	}
	free(b.slots);
	curl_slist_free_all(b.headers);
	if (b.multi)
		curl_multi_cleanup(b.multi);
	curl_global_cleanup();
	return rc;
}
