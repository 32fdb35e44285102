#include "edge/http.h"

#include "ops/metrics.h"
#include "core/request.h"
#include "core/quota.h"
#include "config/config.h"
#include "lib/clock.h"
#include "lib/strbuf.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

/* Responses larger than target.max_response_bytes (this by default) are
 * cut: the APIs answer records, not files, and a runaway body must not
 * grow the daemon. */
#define HTTP_BODY_DEFAULT (1024 * 1024)
#define POOL_MAX          256
/* Header lines a call holds without an allocation of their own. */
#define CALL_LINES 12
/* The smallest body for which some libcurl sends Expect: 100-continue
 * (1024 before 7.69). */
#define EXPECT_FROM 1024
/* A pooled call keeps its response buffer up to this size. */
#define RESP_KEEP (64 * 1024)
/* Ready sockets taken from one epoll_wait; more wait for the next. */
#define READY_MAX 64
/* The fds of http_wait's caller (the Kafka queue's pipe). */
#define EXTRA_MAX 4
/* epoll data of a caller's fd, told apart from libcurl's sockets. */
#define EXTRA_TAG (1ULL << 32)

/* A call and its easy handle are pooled together: the handle keeps
 * libcurl's per-handle caches, the call its buffers, so a request
 * allocates little beyond its body. */
struct http_call {
	struct http *h;
	CURL *easy;
	/* Every header line, NUL-separated, and the list libcurl walks:
	 * its nodes point into lines, which is reserved whole first so it
	 * never moves. */
	struct strbuf lines;
	struct curl_slist *headers;
	struct curl_slist node_buf[CALL_LINES];
	struct curl_slist *nodes; /* node_buf, or allocated when more */
	size_t n_nodes, cap_nodes;
	char *body;
	char *resp;
	size_t resp_len, resp_cap;
	int truncated;
	bool refused; /* a header was refused: never sent (h->refused) */
	char errbuf[CURL_ERROR_SIZE];
	enum http_method method;
	bool routed; /* not the partner API (api_request.route) */
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
	struct http_call *pool[POOL_MAX];
	size_t n_pool;
	/* target.tls or the CA environment variables, read once (see
	 * set_tls and set_proxy). */
	const char *ca_file, *ca_path, *proxy_ca_file, *proxy_ca_path;
	bool env_proxy; /* a proxy variable libcurl would use is set */
	/* libcurl's multi-socket interface over epoll: curl_multi_perform
	 * visits every transfer on every turn, and in 7.88 polls each one's
	 * socket again with a system call of its own, which at 256 in flight
	 * was a quarter of the loop's CPU. Here only the sockets epoll
	 * reports are driven, with libcurl's one timer beside them. */
	int epfd;
	int64_t timer_at; /* CLOCK_MONOTONIC ms libcurl wants a call, or -1 */
	struct epoll_event ready[READY_MAX];
	int n_ready;
	int extra[EXTRA_MAX]; /* the caller's fds registered with epfd */
	int n_extra;
};

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

/* What libcurl reads for an http:// or https:// URL when no proxy is
 * set: <scheme>_proxy (lowercase only for http, against httpoxy),
 * HTTPS_PROXY, then all_proxy or ALL_PROXY. The daemon's environment
 * does not change, so once is enough. */
static bool env_proxy(void)
{
	static const char *const names[] = {"http_proxy", "https_proxy",
	                                    "HTTPS_PROXY", "all_proxy",
	                                    "ALL_PROXY"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (setting_or_env(NULL, names[i], NULL))
			return true;
	return false;
}

/* libcurl says which events a socket waits for; epoll is told. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *arg,
                     void *socketp)
{
	struct http *h = arg;
	struct epoll_event ev = {.data.u64 = (uint64_t)(unsigned)s};

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		/* libcurl may already have closed it: nothing to undo then. */
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	            (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT)
		epoll_ctl(h->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *arg)
{
	struct http *h = arg;

	(void)m;
	h->timer_at = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
	return 0;
}

struct http *http_new(const struct http_options *o)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->opt = *o;
	h->timer_at = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		free(h);
		return NULL;
	}
	/* The CA environment variables are read as curl's command line
	 * reads them (CURL_CA_BUNDLE, then SSL_CERT_FILE; SSL_CERT_DIR), so
	 * an API behind a private CA works as it does with curl; a
	 * target.tls key wins over them. An https:// proxy is verified by
	 * the variables alone: target.tls is the API's. */
	h->ca_file = setting_or_env(o->tls ? o->tls->ca_file : NULL,
	                            "CURL_CA_BUNDLE", "SSL_CERT_FILE");
	h->ca_path = setting_or_env(o->tls ? o->tls->ca_path : NULL,
	                            "SSL_CERT_DIR", NULL);
	h->proxy_ca_file =
	    setting_or_env(NULL, "CURL_CA_BUNDLE", "SSL_CERT_FILE");
	h->proxy_ca_path = setting_or_env(NULL, "SSL_CERT_DIR", NULL);
	h->env_proxy = env_proxy();
	LIST_INIT(&h->running);
	LIST_INIT(&h->refused);
	if (!h->opt.max_response_bytes)
		h->opt.max_response_bytes = HTTP_BODY_DEFAULT;
	h->multi = curl_multi_init();
	if (!h->multi) {
		close(h->epfd);
		free(h);
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	if (o->max_connections > 0) {
		curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
		                  o->max_connections);
		curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
		                  o->max_connections);
	}
	return h;
}

static void call_destroy(struct http_call *c)
{
	curl_easy_cleanup(c->easy);
	strbuf_done(&c->lines);
	free(c->resp);
	free(c);
}

/* Back to the pool, emptied: the header lines may hold a token, so
 * they are wiped, not only freed. */
static void call_free(struct http_call *c)
{
	struct http *h = c->h;

	curl_easy_reset(c->easy);
	if (c->lines.s)
		explicit_bzero(c->lines.s, c->lines.len);
	c->lines.len = 0;
	if (c->nodes != c->node_buf)
		free(c->nodes);
	c->nodes = NULL;
	c->headers = NULL;
	c->n_nodes = c->cap_nodes = 0;
	free(c->body);
	c->body = NULL;
	if (c->resp_cap > RESP_KEEP) {
		free(c->resp);
		c->resp = NULL;
		c->resp_cap = 0;
	} else if (c->resp) {
		c->resp[0] = '\0';
	}
	c->resp_len = 0;
	c->truncated = 0;
	c->refused = false;
	c->routed = false;
	c->errbuf[0] = '\0';
	if (h->n_pool < POOL_MAX)
		h->pool[h->n_pool++] = c;
	else
		call_destroy(c);
}

static struct http_call *call_get(struct http *h)
{
	struct http_call *c;

	if (h->n_pool)
		return h->pool[--h->n_pool];
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->h = h;
	c->easy = curl_easy_init();
	if (!c->easy) {
		free(c);
		return NULL;
	}
	return c;
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
		call_destroy(h->pool[i]);
	curl_multi_cleanup(h->multi);
	close(h->epfd);
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

static bool name_ok(const char *name, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)name[i];
		bool alnum = (b >= '0' && b <= '9') ||
		             (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');

		if (!alnum && (!b || !strchr("!#$%&'*+-.^_`|~", b)))
			return false;
	}
	return true;
}

bool http_header_name_ok(const char *name)
{
	return name && name_ok(name, strlen(name));
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

/* The most a line of these takes: each value byte may become %XX. */
static size_t line_bound(size_t n_name, const char *value)
{
	return n_name + 2 + 3 * (value ? strlen(value) : 0) + 1;
}

static size_t header_bound(const char *name, const char *value)
{
	return line_bound(name ? strlen(name) : 0, value);
}

/* "name: value" and its NUL appended to out; name is n_name bytes. */
static int build_line(struct strbuf *out, const char *name, size_t n_name,
                      const char *value, enum http_value_source src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n_value;
	char why[64];

	if (!name_ok(name, n_name) || !value ||
	    (unsigned)src >= HTTP_VALUE_SOURCE_MAX)
		return -EINVAL;
	if (src == HTTP_VALUE_CHECKED &&
	    http_value_problem(value, false, why, sizeof(why)))
		return -EINVAL;
	n_value = strlen(value);
	strbuf_put(out, name, n_name);
	strbuf_putc(out, ':');
	if (n_value)
		strbuf_putc(out, ' ');
	/* A checked value holds nothing to encode by now. */
	if (src == HTTP_VALUE_CHECKED) {
		strbuf_put(out, value, n_value);
		n_value = 0;
	}
	for (size_t i = 0; i < n_value; i++) {
		unsigned char b = (unsigned char)value[i];
		bool inner_space = b == ' ' && i > 0 && i + 1 < n_value;
		char esc[3] = {'%', hex[b >> 4], hex[b & 15]};

		if ((is_visible(b) && b != '%') || inner_space)
			strbuf_putc(out, (char)b);
		else
			strbuf_put(out, esc, 3);
	}
	strbuf_putc(out, '\0');
	return out->failed ? -ENOMEM : 0;
}

int http_header_line(const char *name, const char *value,
                     enum http_value_source src, char **out)
{
	struct strbuf b;
	int rc;

	if (!name || !value)
		return -EINVAL;
	strbuf_init(&b, line_bound(strlen(name), value));
	rc = build_line(&b, name, strlen(name), value, src);
	if (rc) {
		strbuf_done(&b);
		return rc;
	}
	*out = strbuf_take(&b);
	return *out ? 0 : -ENOMEM;
}

/* A refused header is named in errbuf, never its value: it may be a
 * token. The line goes into c->lines and takes the next node, both
 * reserved by set_headers, which points the nodes at the lines once all
 * are written. */
static int add_header_n(struct http_call *c, const char *name, size_t n_name,
                        const char *value, enum http_value_source src)
{
	char why[64];
	const char *problem;
	int rc = build_line(&c->lines, name, n_name, value, src);

	if (rc == -EINVAL) {
		problem =
		    value ? http_value_problem(value, false, why, sizeof(why))
		          : NULL;
		if (!name_ok(name, n_name))
			snprintf(c->errbuf, sizeof(c->errbuf),
			         "request not sent: a header name is not an "
			         "HTTP token");
		else
			snprintf(c->errbuf, sizeof(c->errbuf),
			         "request not sent: header %.*s would carry "
			         "%s",
			         (int)n_name, name,
			         problem ? problem : "no value");
		return rc;
	}
	if (rc || c->n_nodes == c->cap_nodes)
		return -ENOMEM;
	c->n_nodes++;
	return 0;
}

static int add_header(struct http_call *c, const char *name, const char *value,
                      enum http_value_source src)
{
	return add_header_n(c, name ? name : "", name ? strlen(name) : 0,
	                    value, src);
}

static const char *line_value(const char *colon)
{
	const char *value = colon + 1;

	while (*value == ' ')
		value++;
	return value;
}

/* A line built elsewhere (auth's "Authorization: Bearer ...", a
 * profile's "Accept-Language: en") is taken apart and built again, so it
 * meets the checks of every other config value. */
static int add_line(struct http_call *c, const char *line)
{
	const char *colon = strchr(line, ':');

	if (!colon) {
		snprintf(c->errbuf, sizeof(c->errbuf),
		         "request not sent: a header line has no ':'");
		return -EINVAL;
	}
	return add_header_n(c, line, (size_t)(colon - line), line_value(colon),
	                    HTTP_VALUE_CHECKED);
}

static size_t line_bound_of(const char *line)
{
	const char *colon = line ? strchr(line, ':') : NULL;

	return colon ? line_bound((size_t)(colon - line), line_value(colon))
	             : 0;
}

/* Room for every line the request may send, taken at once, and a node
 * for each. */
static int reserve_lines(struct http_call *c, const struct api_request *req,
                         const char *authorization, const char *correlation_id,
                         const struct http_header *extra, size_t n_extra)
{
	const struct http_options *o = &c->h->opt;
	size_t bytes = 64, n = 7 + n_extra;

	bytes += header_bound("Content-Type", req->content_type) +
	         header_bound("If-Match", req->if_match) +
	         header_bound("X-Correlation-Id", correlation_id);
	bytes +=
	    line_bound_of(authorization) + line_bound_of(req->extra_header);
	for (size_t i = 0; i < n_extra; i++)
		bytes += header_bound(extra[i].name, extra[i].value);
	for (size_t i = 0; !req->token_endpoint && i < o->n_headers; i++) {
		bytes += header_bound(o->headers[i].key, o->headers[i].value);
		n++;
	}
	c->nodes =
	    n <= CALL_LINES ? c->node_buf : calloc(n, sizeof(*c->nodes));
	if (!c->nodes)
		return -ENOMEM;
	c->cap_nodes = n;
	if (c->lines.cap < bytes) {
		strbuf_done(&c->lines);
		strbuf_init(&c->lines, bytes);
	}
	return c->lines.failed ? -ENOMEM : 0;
}

/* Stops at the first refused line: the request is then never sent. */
static int set_headers(struct http_call *c, const struct api_request *req,
                       const char *authorization, const char *correlation_id,
                       const struct http_header *extra, size_t n_extra)
{
	int rc = reserve_lines(c, req, authorization, correlation_id, extra,
	                       n_extra);

	if (!rc)
		rc = add_header(c, "Accept", "application/json",
		                HTTP_VALUE_CHECKED);

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
	for (size_t i = 0; !rc && !req->token_endpoint && !req->route &&
	                   i < c->h->opt.n_headers;
	     i++)
		rc =
		    add_header(c, c->h->opt.headers[i].key,
		               c->h->opt.headers[i].value, HTTP_VALUE_CHECKED);
	/* Waiting for 100-continue only adds a round trip. libcurl asks
	 * for it from EXPECT_FROM bytes of body (1 MiB since 7.69); below
	 * that there is nothing to turn off, and every line costs libcurl
	 * a few thousand instructions per request. */
	if (!rc && req->body && strlen(req->body) >= EXPECT_FROM)
		rc = add_header(c, "Expect", "", HTTP_VALUE_CHECKED);
	if (rc)
		return rc;
	/* The lines follow each other, each ending in its NUL. */
	for (size_t i = 0, at = 0; i < c->n_nodes; i++) {
		c->nodes[i].data = c->lines.s + at;
		c->nodes[i].next =
		    i + 1 < c->n_nodes ? &c->nodes[i + 1] : NULL;
		at += strlen(c->nodes[i].data) + 1;
	}
	c->headers = c->nodes;
	return 0;
}

/* route: another service's settings instead of target.tls; read per
 * request, since such requests are rare (a schema fetch). */
static void set_tls(const struct http *h, CURL *e,
                    const struct http_route *route)
{
	static const struct config_tls none;
	const struct config_tls *t = route ? route->tls : h->opt.tls;
	const char *ca_file = h->ca_file, *ca_path = h->ca_path;

	if (!t)
		t = &none;
	if (route) {
		ca_file = setting_or_env(t->ca_file, "CURL_CA_BUNDLE",
		                         "SSL_CERT_FILE");
		ca_path = setting_or_env(t->ca_path, "SSL_CERT_DIR", NULL);
	}
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
static void set_proxy(const struct http *h, CURL *e,
                      const struct http_route *route)
{
	const struct config_proxy *p = route ? route->proxy : h->opt.proxy;

	/* An https:// proxy, from the config or the environment, is
	 * verified as curl's command line verifies it. */
	if (h->proxy_ca_file)
		curl_easy_setopt(e, CURLOPT_PROXY_CAINFO, h->proxy_ca_file);
	if (h->proxy_ca_path)
		curl_easy_setopt(e, CURLOPT_PROXY_CAPATH, h->proxy_ca_path);
	/* No proxy anywhere: said so, or libcurl looks for one in the
	 * environment on every request. */
	if ((!p || !p->url) && !h->env_proxy)
		curl_easy_setopt(e, CURLOPT_PROXY, "");
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
	struct http_call *c = call_get(h);
	CURL *e;
	int rc;

	if (!c)
		return NULL;
	c->done = done;
	c->arg = arg;
	c->method = req->method;
	e = c->easy;
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
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (req->route) {
		/* Another service: always verified (target.tls_verify is
		 * the API's), its own time limit for the whole request. */
		c->routed = true;
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
		                 req->route->timeout_ms);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
		                 req->route->timeout_ms);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	} else {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->opt.timeout_ms);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
		                 h->opt.connect_timeout_ms);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
		                 h->opt.tls_verify ? 1L : 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
		                 h->opt.tls_verify ? 2L : 0L);
	}
	set_tls(h, e, req->route);
	set_proxy(h, e, req->route);
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

/* The caller's fds are registered once and kept while they stay the
 * same; a different set replaces them. */
static void register_extra(struct http *h, const int *fds, int n)
{
	bool same = n == h->n_extra;

	for (int i = 0; same && i < n; i++)
		same = fds[i] == h->extra[i];
	if (same)
		return;
	for (int i = 0; i < h->n_extra; i++)
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, h->extra[i], NULL);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = {
		    .events = EPOLLIN,
		    .data.u64 = EXTRA_TAG | (uint64_t)(unsigned)fds[i],
		};

		h->extra[i] = fds[i];
		epoll_ctl(h->epfd, EPOLL_CTL_ADD, fds[i], &ev);
	}
	h->n_extra = n;
}

int http_wait(struct http *h, const int *fds, int n_fds, int timeout_ms)
{
	int n = n_fds < EXTRA_MAX ? n_fds : EXTRA_MAX;

	register_extra(h, fds, n);
	/* A refused call is done already: no reason to sleep. */
	if (!LIST_EMPTY(&h->refused))
		timeout_ms = 0;
	if (h->timer_at >= 0) {
		int64_t left = h->timer_at - clock_mono_ms();

		if (left < 0)
			left = 0;
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)left;
	}
	h->n_ready = epoll_wait(h->epfd, h->ready, READY_MAX, timeout_ms);
	if (h->n_ready >= 0)
		return 0;
	h->n_ready = 0;
	return errno == EINTR ? 0 : -1;
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
	if (!c->routed)
		metrics_http(h->opt.metrics, c->method, r.status,
		             (double)us / 1e6);
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
	/* A socket closed and reused by an earlier action of this turn gets
	 * an event meant for the old one: libcurl then finds nothing to
	 * read, or ignores a socket it does not know. An error or hang-up
	 * is handed on as readable and writable, so that libcurl's own
	 * read or write meets it. */
	for (int i = 0; i < h->n_ready; i++) {
		uint64_t d = h->ready[i].data.u64;
		uint32_t ev = h->ready[i].events;
		int mask = 0;

		if (d & EXTRA_TAG)
			continue;
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			mask |= CURL_CSELECT_IN;
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			mask |= CURL_CSELECT_OUT;
		curl_multi_socket_action(h->multi, (curl_socket_t)d, mask,
		                         &running);
	}
	h->n_ready = 0;
	if (h->timer_at >= 0 && clock_mono_ms() >= h->timer_at) {
		h->timer_at = -1;
		curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
		                         &running);
	}
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
