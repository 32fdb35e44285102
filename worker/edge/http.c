#include "edge/http.h"

#include "ops/metrics.h"
#include "core/request.h"
#include "core/quota.h"
#include "config/config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

/* Responses larger than target.max_response_bytes (this by default) are
 * cut: the APIs answer records, not files, and a runaway body must not
 * grow the daemon. */
#define HTTP_BODY_DEFAULT (1024 * 1024)
#define POOL_MAX          256

struct http_call {
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *resp;
	size_t resp_len, resp_cap;
	int truncated;
	bool refused; /* a header was refused: never sent (h->refused) */
	char errbuf[CURL_ERROR_SIZE];
	enum http_method method;
	http_done_fn *done;
	void *arg;
	LIST_ENTRY(http_call) link; /* h->running or h->refused */
};

struct http {
	CURLM *multi;
	struct http_options opt;
	size_t in_flight;
	LIST_HEAD(, http_call) running;
	LIST_HEAD(, http_call) refused; /* waiting for http_dispatch to fail */
	size_t n_refused;
	CURL *pool[POOL_MAX];
	size_t n_pool;
};

struct http *http_new(const struct http_options *o)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->opt = *o;
	LIST_INIT(&h->running);
	LIST_INIT(&h->refused);
	if (!h->opt.max_response_bytes)
		h->opt.max_response_bytes = HTTP_BODY_DEFAULT;
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

static void link_call(struct http *h, struct http_call *c)
{
	if (c->refused) {
		LIST_INSERT_HEAD(&h->refused, c, link);
		h->n_refused++;
	} else {
		LIST_INSERT_HEAD(&h->running, c, link);
	}
	h->in_flight++;
}

static void unlink_call(struct http *h, struct http_call *c)
{
	if (c->refused)
		h->n_refused--;
	else
		curl_multi_remove_handle(h->multi, c->easy);
	LIST_REMOVE(c, link);
	h->in_flight--;
}

struct http *http_free(struct http *h)
{
	if (!h)
		return NULL;
	/* Whatever is still running or refused is abandoned. */
	while (!LIST_EMPTY(&h->running) || !LIST_EMPTY(&h->refused)) {
		struct http_call *c = !LIST_EMPTY(&h->running)
		                          ? LIST_FIRST(&h->running)
		                          : LIST_FIRST(&h->refused);

		unlink_call(h, c);
		call_free(c);
	}
	for (size_t i = 0; i < h->n_pool; i++)
		curl_easy_cleanup(h->pool[i]);
	curl_multi_cleanup(h->multi);
	free(h);
	return NULL;
}

/* The rest of a body over the cap is read and dropped, so that the
 * status and headers still arrive and the connection can be reused. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_call *c = arg;
	size_t n = size * nmemb, max = c->h->opt.max_response_bytes;

	if (n > max - c->resp_len) {
		c->truncated = 1;
		n = max - c->resp_len;
	}
	if (c->resp_len + n + 1 > c->resp_cap) {
		size_t cap = c->resp_cap ? c->resp_cap : 4096;
		char *p;

		while (cap < c->resp_len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
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

/* ---- header lines ---------------------------------------------------- */

static bool is_visible(unsigned char b)
{
	return b > 0x20 && b < 0x7f;
}

bool http_header_name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *s = name; *s; s++) {
		unsigned char b = (unsigned char)*s;
		bool alnum = (b >= '0' && b <= '9') ||
		             (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');

		if (!alnum && !strchr("!#$%&'*+-.^_`|~", b))
			return false;
	}
	return true;
}

/* What custsync writes itself (set_headers, auth's Authorization, the
 * profiles' Accept-Language, the trace context), then what libcurl
 * writes or the connection depends on. A static header of one of these
 * names would be sent twice or replace custsync's, so target.headers
 * refuses them. */
static const char *const own_headers[] = {
    "Accept",
    "Accept-Language",
    "Authorization",
    "Content-Type",
    "Expect",
    "If-Match",
    "X-Correlation-Id",
    "User-Agent",
    "traceparent",
    "tracestate",
    "Accept-Encoding",
    "Connection",
    "Content-Length",
    "Host",
    "Keep-Alive",
    "Proxy-Authorization",
    "Proxy-Connection",
    "TE",
    "Transfer-Encoding",
    "Upgrade",
};

bool http_header_is_own(const char *name)
{
	for (size_t i = 0; i < sizeof(own_headers) / sizeof(own_headers[0]);
	     i++)
		if (strcasecmp(name, own_headers[i]) == 0)
			return true;
	return false;
}

const char *http_proxy_problem(const char *url, char *buf, size_t size)
{
	static const struct {
		CURLUPart part;
		const char *what;
	} parts[] = {
	    {CURLUPART_USER, "credentials (give proxy_user and "
	                     "proxy_password)"},
	    {CURLUPART_PASSWORD, "credentials (give proxy_user and "
	                         "proxy_password)"},
	    {CURLUPART_QUERY, "a query"},
	    {CURLUPART_FRAGMENT, "a fragment"},
	};
	CURLU *u = curl_url();
	const char *why = NULL;
	char *v = NULL;
	CURLUcode rc;

	if (!u) {
		snprintf(buf, size, "cannot be checked: out of memory");
		return buf;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		snprintf(buf, size, "is not a valid URL: %s",
		         curl_url_strerror(rc));
		why = buf;
	}
	for (size_t i = 0; !why && i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (curl_url_get(u, parts[i].part, &v, 0) == CURLUE_OK) {
			snprintf(buf, size, "must not hold %s", parts[i].what);
			why = buf;
		}
		curl_free(v);
		v = NULL;
	}
	/* A proxy has no path: one there is a mistaken URL. */
	if (!why && curl_url_get(u, CURLUPART_PATH, &v, 0) == CURLUE_OK &&
	    strcmp(v, "/") != 0) {
		snprintf(buf, size, "must not have a path");
		why = buf;
	}
	curl_free(v);
	curl_url_cleanup(u);
	return why;
}

const char *http_value_problem(const char *value, bool non_ascii_ok, char *buf,
                               size_t size)
{
	static const struct {
		unsigned char b;
		const char *name;
	} names[] = {{'\r', "CR"}, {'\n', "LF"}, {'\t', "tab"}, {0x7f, "DEL"}};

	for (const char *s = value; *s; s++) {
		unsigned char b = (unsigned char)*s;
		const char *name = NULL;
		char hex[8];

		if (b == ' ' || is_visible(b) || (b >= 0x80 && non_ascii_ok))
			continue;
		if (b >= 0x80) {
			snprintf(buf, size, "a non-ASCII byte");
			return buf;
		}
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (names[i].b == b)
				name = names[i].name;
		if (!name) {
			snprintf(hex, sizeof(hex), "0x%02x", b);
			name = hex;
		}
		snprintf(buf, size, "a control character (%s)", name);
		return buf;
	}
	return NULL;
}

int http_header_line(const char *name, const char *value,
                     enum http_value_source src, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n_name, n_value, o;
	char why[64], *line;

	if (!http_header_name_ok(name) || !value ||
	    (unsigned)src >= HTTP_VALUE_SOURCE_MAX)
		return -EINVAL;
	if (src == HTTP_VALUE_CHECKED &&
	    http_value_problem(value, false, why, sizeof(why)))
		return -EINVAL;
	n_name = strlen(name);
	n_value = strlen(value);
	line = malloc(n_name + 2 + 3 * n_value + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, name, n_name);
	o = n_name;
	line[o++] = ':';
	if (n_value)
		line[o++] = ' ';
	for (size_t i = 0; i < n_value; i++) {
		unsigned char b = (unsigned char)value[i];
		bool inner_space = b == ' ' && i > 0 && i + 1 < n_value;

		/* A checked value holds nothing to encode by now. */
		if (src == HTTP_VALUE_CHECKED || (is_visible(b) && b != '%') ||
		    inner_space) {
			line[o++] = (char)b;
		} else {
			line[o++] = '%';
			line[o++] = hex[b >> 4];
			line[o++] = hex[b & 15];
		}
	}
	line[o] = '\0';
	*out = line;
	return 0;
}

/* A refused header is named in errbuf, never its value: it may be a
 * token. */
static int add_header(struct http_call *c, const char *name, const char *value,
                      enum http_value_source src)
{
	struct curl_slist *l;
	char why[64], *line = NULL;
	const char *problem;
	int rc = http_header_line(name, value, src, &line);

	if (rc == -EINVAL) {
		problem =
		    value ? http_value_problem(value, false, why, sizeof(why))
		          : NULL;
		if (!http_header_name_ok(name))
			snprintf(c->errbuf, sizeof(c->errbuf),
			         "request not sent: a header name is not an "
			         "HTTP token");
		else
			snprintf(c->errbuf, sizeof(c->errbuf),
			         "request not sent: header %s would carry "
			         "%s",
			         name, problem ? problem : "no value");
		return rc;
	}
	if (rc)
		return rc;
	l = curl_slist_append(c->headers, line);
	explicit_bzero(line, strlen(line));
	free(line);
	if (!l)
		return -ENOMEM;
	c->headers = l;
	return 0;
}

/* A line built elsewhere (auth's "Authorization: Bearer ...", a
 * profile's "Accept-Language: en") is taken apart and built again, so it
 * meets the checks of every other config value. */
static int add_line(struct http_call *c, const char *line)
{
	const char *colon = strchr(line, ':'), *value;
	char *name;
	int rc;

	if (!colon) {
		snprintf(c->errbuf, sizeof(c->errbuf),
		         "request not sent: a header line has no ':'");
		return -EINVAL;
	}
	name = strndup(line, (size_t)(colon - line));
	if (!name)
		return -ENOMEM;
	value = colon + 1;
	while (*value == ' ')
		value++;
	rc = add_header(c, name, value, HTTP_VALUE_CHECKED);
	free(name);
	return rc;
}

/* Stops at the first refused line: the request is then never sent. */
static int set_headers(struct http_call *c, const struct api_request *req,
                       const char *authorization, const char *correlation_id,
                       const struct http_header *extra, size_t n_extra)
{
	int rc =
	    add_header(c, "Accept", "application/json", HTTP_VALUE_CHECKED);

	/* Set explicitly: libcurl would send a form type for POST bodies. */
	if (!rc && req->content_type)
		rc = add_header(c, "Content-Type", req->content_type,
		                HTTP_VALUE_CHECKED);
	/* The partner's own ETag: changed, it would never match. */
	if (!rc && req->if_match)
		rc = add_header(c, "If-Match", req->if_match,
		                HTTP_VALUE_CHECKED);
	if (!rc && authorization)
		rc = add_line(c, authorization);
	if (!rc && correlation_id)
		rc = add_header(c, "X-Correlation-Id", correlation_id,
		                HTTP_VALUE_ENCODED);
	if (!rc && req->extra_header)
		rc = add_line(c, req->extra_header);
	for (size_t i = 0; !rc && i < n_extra; i++)
		rc = add_header(c, extra[i].name, extra[i].value,
		                HTTP_VALUE_CHECKED);
	for (size_t i = 0;
	     !rc && !req->token_endpoint && i < c->h->opt.n_headers; i++)
		rc =
		    add_header(c, c->h->opt.headers[i].key,
		               c->h->opt.headers[i].value, HTTP_VALUE_CHECKED);
	/* Bodies are small; waiting for 100-continue only adds a round
	 * trip. */
	if (!rc)
		rc = add_header(c, "Expect", "", HTTP_VALUE_CHECKED);
	return rc;
}

/* A set value, else the first set and non-empty environment variable.
 * libcurl (unlike curl's command line) reads none of them itself. */
static const char *setting_or_env(const char *set, const char *env1,
                                  const char *env2)
{
	const char *v;

	if (set)
		return set;
	v = env1 ? getenv(env1) : NULL;
	if (v && *v)
		return v;
	v = env2 ? getenv(env2) : NULL;
	return v && *v ? v : NULL;
}

/* The CA environment variables are read as curl's command line reads
 * them (CURL_CA_BUNDLE, then SSL_CERT_FILE; SSL_CERT_DIR), so an API
 * behind a private CA works as it does with curl; a target.tls key
 * wins over them. */
static void set_tls(CURL *e, const struct config_tls *t)
{
	static const struct config_tls none;
	const char *ca_file, *ca_path;

	if (!t)
		t = &none;
	ca_file =
	    setting_or_env(t->ca_file, "CURL_CA_BUNDLE", "SSL_CERT_FILE");
	ca_path = setting_or_env(t->ca_path, "SSL_CERT_DIR", NULL);
	if (ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
	if (ca_path)
		curl_easy_setopt(e, CURLOPT_CAPATH, ca_path);
	if (t->cert_file)
		curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
	if (t->key_file)
		curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
	if (t->key_password)
		curl_easy_setopt(e, CURLOPT_KEYPASSWD, t->key_password);
	if (t->min_version)
		curl_easy_setopt(e, CURLOPT_SSLVERSION,
		                 strcmp(t->min_version, "1.3") == 0
		                     ? (long)CURL_SSLVERSION_TLSv1_3
		                     : (long)CURL_SSLVERSION_TLSv1_2);
}

/* target.proxy unset: nothing is set, and libcurl reads http_proxy,
 * https_proxy, ALL_PROXY and NO_PROXY as curl does. Set, it replaces
 * them all, NO_PROXY included ("" when target.no_proxy is unset), as an
 * explicit setting does for curl's --proxy and --noproxy. */
static void set_proxy(CURL *e, const struct config_proxy *p)
{
	/* An https:// proxy, from the config or the environment, is
	 * verified as curl's command line verifies it: by the CA
	 * variables, not target.tls, which is the API's. */
	const char *ca_file =
	    setting_or_env(NULL, "CURL_CA_BUNDLE", "SSL_CERT_FILE");
	const char *ca_path = setting_or_env(NULL, "SSL_CERT_DIR", NULL);

	if (ca_file)
		curl_easy_setopt(e, CURLOPT_PROXY_CAINFO, ca_file);
	if (ca_path)
		curl_easy_setopt(e, CURLOPT_PROXY_CAPATH, ca_path);
	if (!p)
		return;
	if (p->no_proxy)
		curl_easy_setopt(e, CURLOPT_NOPROXY, p->no_proxy);
	if (!p->url)
		return;
	curl_easy_setopt(e, CURLOPT_PROXY, p->url);
	if (!p->no_proxy)
		curl_easy_setopt(e, CURLOPT_NOPROXY, "");
	if (p->user) {
		curl_easy_setopt(e, CURLOPT_PROXYUSERNAME, p->user);
		curl_easy_setopt(e, CURLOPT_PROXYPASSWORD, p->password);
	}
}

/* ---- calls ----------------------------------------------------------- */

struct http_call *http_submit(struct http *h, const char *url,
                              const struct api_request *req,
                              const char *authorization,
                              const char *correlation_id, http_done_fn *done,
                              void *arg)
{
	return http_submit_with(h, url, req, authorization, correlation_id,
	                        NULL, 0, done, arg);
}

struct http_call *
http_submit_with(struct http *h, const char *url,
                 const struct api_request *req, const char *authorization,
                 const char *correlation_id, const struct http_header *extra,
                 size_t n_extra, http_done_fn *done, void *arg)
{
	struct http_call *c = calloc(1, sizeof(*c));
	CURL *e;
	int rc;

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
	rc =
	    set_headers(c, req, authorization, correlation_id, extra, n_extra);
	if (rc == -EINVAL) {
		/* Failed like any request, from http_dispatch: the caller
		 * sees one way for a request to end. */
		c->refused = true;
		link_call(h, c);
		return c;
	}
	if (rc)
		goto fail;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->opt.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 h->opt.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
	                 h->opt.tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
	                 h->opt.tls_verify ? 2L : 0L);
	set_tls(e, h->opt.tls);
	set_proxy(e, h->opt.proxy);
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
	link_call(h, c);
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

	/* A refused call is done already: no reason to sleep. */
	if (!LIST_EMPTY(&h->refused))
		timeout_ms = 0;
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

static const char *curl_header(void *arg, const char *name)
{
	return header_value(arg, name);
}

static void finish(struct http *h, struct http_call *c, CURLcode res)
{
	struct api_response r = {0};
	curl_off_t ra = -1, us = 0;
	long connect_code = 0;
	char *etag = NULL;
	const char *v;

	r.retry_after_s = -1;
	r.body = c->resp ? c->resp : "";
	r.body_len = c->resp_len;
	r.truncated = c->truncated;
	if (c->refused) {
		r.error = c->errbuf;
	} else if (res == CURLE_OK) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r.status);
		/* Copied whole (libcurl's value lives only until the next
		 * look-up): an ETag cut to a buffer would come back as an
		 * If-Match that never matches. Without memory it is absent,
		 * and a profile that needs one fails the read. */
		v = header_value(c->easy, "ETag");
		if (v)
			r.etag = etag = strdup(v);
		/* libcurl parses seconds and HTTP dates; a date in the past
		 * reads as 0 and 7.88 can report a negative value. */
		if (header_value(c->easy, "Retry-After")) {
			curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &ra);
			r.retry_after_s = ra > 0 ? (long)ra : 0;
		}
		r.quota = (int)quota_read(curl_header, c->easy, time(NULL),
		                          &r.quota_wait_s, &r.quota_left);
	} else {
		/* A proxy that refused the CONNECT for want of credentials
		 * answered: 407, as it does to a plain http:// request, so
		 * that both end the same way instead of being retried. */
		curl_easy_getinfo(c->easy, CURLINFO_HTTP_CONNECTCODE,
		                  &connect_code);
		r.status = connect_code == 407 ? 407 : 0;
		r.error = c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
		r.timed_out = res == CURLE_OPERATION_TIMEDOUT;
	}
	if (!c->refused)
		curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &us);
	r.rtt_us = c->refused ? -1 : (int64_t)us;
	metrics_http(h->opt.metrics, c->method, r.status, (double)us / 1e6);
	unlink_call(h, c);
	c->done(c->arg, &r);
	free(etag);
	call_free(c);
}

void http_dispatch(struct http *h)
{
	struct CURLMsg *m;
	int running, left;

	/* Only those refused before this call: done may submit again. */
	for (size_t n = h->n_refused; n > 0 && !LIST_EMPTY(&h->refused); n--)
		finish(h, LIST_FIRST(&h->refused), CURLE_OK);
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
