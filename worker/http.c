#include "http.h"

#include "metrics.h"
#include "request.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Responses larger than this are cut: the APIs answer records, not
 * files, and a runaway body must not grow the daemon. */
#define HTTP_BODY_MAX (1024 * 1024)
#define POOL_MAX 256

struct http_call {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *resp;
	size_t resp_len, resp_cap;
	int truncated;
	char errbuf[CURL_ERROR_SIZE];
	enum http_method method;
	http_done_fn *done;
	void *arg;
	struct http_call *prev, *next; /* running calls */
};

struct http {
	CURLM *multi;
	struct http_options opt;
	size_t in_flight;
	struct http_call *running;
	CURL *pool[POOL_MAX];
	size_t n_pool;
};

struct http *http_new(const struct http_options *o)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->opt = *o;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	if (o->max_connections > 0) {
		curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				  o->max_connections);
		curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
				  o->max_connections);
	}
	return h;
}

static void call_free(struct http_call *c)
{
	struct http *h = c->h;

	curl_slist_free_all(c->headers);
	free(c->body);
	free(c->resp);
	if (h->n_pool < POOL_MAX) {
		curl_easy_reset(c->easy);
		h->pool[h->n_pool++] = c->easy;
	} else {
		curl_easy_cleanup(c->easy);
	}
	free(c);
}

static void unlink_call(struct http *h, struct http_call *c)
{
	curl_multi_remove_handle(h->multi, c->easy);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->running = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->in_flight--;
}

struct http *http_free(struct http *h)
{
	if (!h)
		return NULL;
	/* Whatever is still running is abandoned. */
	while (h->running) {
		struct http_call *c = h->running;

		unlink_call(h, c);
		call_free(c);
	}
	for (size_t i = 0; i < h->n_pool; i++)
		curl_easy_cleanup(h->pool[i]);
	curl_multi_cleanup(h->multi);
	free(h);
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_call *c = arg;
	size_t n = size * nmemb;

	if (c->resp_len + n > HTTP_BODY_MAX) {
		c->truncated = 1;
		n = HTTP_BODY_MAX - c->resp_len;
	}
	if (c->resp_len + n + 1 > c->resp_cap) {
		size_t cap = c->resp_cap ? c->resp_cap : 4096;
		char *p;

		while (cap < c->resp_len + n + 1)
			cap *= 2;
		p = realloc(c->resp, cap);
		if (!p)
			return 0;
		c->resp = p;
		c->resp_cap = cap;
	}
	memcpy(c->resp + c->resp_len, data, n);
	c->resp_len += n;
	c->resp[c->resp_len] = '\0';
	return size * nmemb;
}

static int add_header(struct http_call *c, const char *fmt, const char *v)
{
	char line[1024];
	struct curl_slist *l;

	snprintf(line, sizeof(line), fmt, v);
	l = curl_slist_append(c->headers, line);
	if (!l)
		return -1;
	c->headers = l;
	return 0;
}

static int set_headers(struct http_call *c, const struct api_request *req,
		       const char *authorization, const char *correlation_id)
{
	int rc = add_header(c, "Accept: %s", "application/json");

	/* Set explicitly: libcurl would send a form type for POST bodies. */
	if (req->content_type)
		rc |= add_header(c, "Content-Type: %s", req->content_type);
	if (req->if_match)
		rc |= add_header(c, "If-Match: %s", req->if_match);
	if (authorization)
		rc |= add_header(c, "%s", authorization);
	if (correlation_id)
		rc |= add_header(c, "X-Correlation-Id: %s", correlation_id);
	if (req->extra_header)
		rc |= add_header(c, "%s", req->extra_header);
	/* Bodies are small; waiting for 100-continue only adds a round
	 * trip. */
	rc |= add_header(c, "%s", "Expect:");
	return rc;
}

struct http_call *http_submit(struct http *h, const char *url,
			      const struct api_request *req,
			      const char *authorization,
			      const char *correlation_id, http_done_fn *done,
			      void *arg)
{
	struct http_call *c = calloc(1, sizeof(*c));
	CURL *e;

	if (!c)
		return NULL;
	c->h = h;
	c->done = done;
	c->arg = arg;
	c->method = req->method;
	e = h->n_pool ? h->pool[--h->n_pool] : curl_easy_init();
	if (!e) {
		free(c);
		return NULL;
	}
	c->easy = e;
	if (req->body && !(c->body = strdup(req->body)))
		goto fail;
	if (set_headers(c, req, authorization, correlation_id))
		goto fail;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->opt.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 h->opt.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->opt.tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->opt.tls_verify ? 2L : 0L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "custsync/" CUSTSYNC_VERSION);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (req->method != HTTP_GET && req->method != HTTP_POST)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
				 http_method_str(req->method));
	if (c->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(c->body));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
	} else if (req->method == HTTP_POST) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
		goto fail;
	c->next = h->running;
	if (h->running)
		h->running->prev = c;
	h->running = c;
	h->in_flight++;
	return c;
fail:
	call_free(c);
	return NULL;
}

void http_cancel(struct http *h, struct http_call *c)
{
	if (!c)
		return;
	unlink_call(h, c);
	call_free(c);
}

int http_wait(struct http *h, const int *fds, int n_fds, int timeout_ms)
{
	struct curl_waitfd w[4];
	int n = n_fds < 4 ? n_fds : 4;

	for (int i = 0; i < n; i++) {
		w[i].fd = fds[i];
		w[i].events = CURL_WAIT_POLLIN;
		w[i].revents = 0;
	}
	return curl_multi_poll(h->multi, w, (unsigned)n, timeout_ms, NULL) ==
			       CURLM_OK
		       ? 0
		       : -1;
}

static const char *header_value(CURL *e, const char *name)
{
	struct curl_header *hd = NULL;

	if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return NULL;
	return hd->value;
}

static void finish(struct http *h, struct http_call *c, CURLcode res)
{
	struct api_response r = {0};
	curl_off_t ra = -1, us = 0;
	char etag[512];
	const char *v;

	r.retry_after_s = -1;
	r.body = c->resp ? c->resp : "";
	r.body_len = c->resp_len;
	if (res == CURLE_OK) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r.status);
		v = header_value(c->easy, "ETag");
		if (v) {
			snprintf(etag, sizeof(etag), "%s", v);
			r.etag = etag;
		}
		/* libcurl parses seconds and HTTP dates; a date in the past
		 * reads as 0 and 7.88 can report a negative value. */
		if (header_value(c->easy, "Retry-After")) {
			curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &ra);
			r.retry_after_s = ra > 0 ? (long)ra : 0;
		}
	} else {
		r.status = 0;
		r.error = c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
	}
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &us);
	metrics_http(h->opt.metrics, c->method, r.status, (double)us / 1e6);
	unlink_call(h, c);
	c->done(c->arg, &r);
	call_free(c);
}

void http_dispatch(struct http *h)
{
	struct CURLMsg *m;
	int running, left;

	curl_multi_perform(h->multi, &running);
	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct http_call *c = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&c);
		if (c)
			finish(h, c, m->data.result);
	}
}

size_t http_in_flight(const struct http *h)
{
	return h->in_flight;
}
