/* API requests on one libcurl multi handle: many in flight, connections
 * reused (keep-alive; HTTP/2 multiplexing where the server offers it). */
#ifndef CUSTSYNC_HTTP_H
#define CUSTSYNC_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct api_request;
struct api_response;
struct http;
struct http_call;
struct metrics;
struct config_tls;
struct config_proxy;
struct config_kv;

struct http_options {
	long timeout_ms;
	long connect_timeout_ms;
	long max_connections; /* per host; 0 = unlimited */
	int tls_verify;
	/* Borrowed; applied to every request, token requests too. */
	const struct config_tls *tls;
	/* Borrowed; every request, token requests too. NULL or no url:
	 * the proxy environment variables, as libcurl reads them. */
	const struct config_proxy *proxy;
	/* Borrowed: target.headers, on every request but the token
	 * request (api_request.token_endpoint). */
	const struct config_kv *headers;
	size_t n_headers;
	/* Longer bodies are cut (api_response.truncated); 0: 1 MiB. */
	size_t max_response_bytes;
	struct metrics *metrics; /* borrowed; NULL: not counted */
};

/* Where a header value comes from decides what becomes of a byte that a
 * header cannot carry: anything but visible ASCII (0x21-0x7e) and
 * space. */
enum http_value_source {
	/* Config, secrets, the partner's answers: the value is refused,
	 * since an altered token or ETag would only fail further on. */
	HTTP_VALUE_CHECKED,
	/* Event data: such bytes, '%' itself and a space at either end
	 * (which HTTP would strip) become %XX, so the line stays one line
	 * and the value can be decoded back. */
	HTTP_VALUE_ENCODED,
	HTTP_VALUE_SOURCE_MAX
};

/* The one builder of every header line custsync sends: "name: value"
 * into *out (malloc'd). name must be an HTTP token. An empty value gives
 * "name:", which libcurl reads as "send no such header". Returns 0,
 * -EINVAL when name or a checked value is refused (*out untouched), or
 * -ENOMEM. */
int http_header_line(const char *name, const char *value,
                     enum http_value_source src, char **out);

/* RFC 9110 token: what a header name is made of. */
bool http_header_name_ok(const char *name);

/* A header custsync or libcurl writes on some request (Authorization,
 * If-Match, Host...), in any case: target.headers may not set it. */
bool http_header_is_own(const char *name);

/* Why url cannot be target.proxy, or NULL when it can: libcurl's own
 * parser says it is no URL, or it holds credentials, a path, a query
 * or a fragment. buf holds the text. */
const char *http_proxy_problem(const char *url, char *buf, size_t size);

/* Why value cannot be sent in a header as it is, or NULL when it can:
 * "a control character (CR)", or "a non-ASCII byte" unless non_ascii_ok
 * (for values that are encoded before they are sent). Names the byte,
 * never shows the value, which may be a secret; buf holds the text. */
const char *http_value_problem(const char *value, bool non_ascii_ok, char *buf,
                               size_t size);

typedef void http_done_fn(void *arg, const struct api_response *r);

struct http *http_new(const struct http_options *o);
struct http *http_free(struct http *h);

/* Starts req against url (copied). authorization is a whole header line
 * or NULL; correlation_id (event data) becomes X-Correlation-Id. done
 * runs from http_dispatch with a response borrowed for the call. Every
 * header line goes through http_header_line; one it refuses is never
 * sent: done then reports status 0 and an error naming the header. */
struct http_call *http_submit(struct http *h, const char *url,
                              const struct api_request *req,
                              const char *authorization,
                              const char *correlation_id, http_done_fn *done,
                              void *arg);

/* A header an event hands on (trace context, input.forward_headers),
 * borrowed for the call. */
struct http_header {
	const char *name;
	const char *value;
};

/* http_submit, plus n_extra further headers sent after custsync's own,
 * each checked like a config value (HTTP_VALUE_CHECKED). */
struct http_call *
http_submit_with(struct http *h, const char *url,
                 const struct api_request *req, const char *authorization,
                 const char *correlation_id, const struct http_header *extra,
                 size_t n_extra, http_done_fn *done, void *arg);

/* Abandons a call: done is never called. */
void http_cancel(struct http *h, struct http_call *c);

/* Waits up to timeout_ms (-1: no limit) for a transfer's socket, its
 * timer, or one of fds (readable) to be ready, like curl_multi_poll.
 * fds stay registered with the http's epoll set while the same ones are
 * passed, so they must stay open until another set (or none) is passed
 * or the http is freed. */
int http_wait(struct http *h, const int *fds, int n_fds, int timeout_ms);

/* Drives transfers and calls done for each finished one. */
void http_dispatch(struct http *h);

size_t http_in_flight(const struct http *h);

#endif
