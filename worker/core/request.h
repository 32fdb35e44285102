/* An API request as sync decides it, and the response as http reports it.
 * Plain data: sync stays free of libcurl so unit tests drive it directly. */
#ifndef CUSTSYNC_REQUEST_H
#define CUSTSYNC_REQUEST_H

#include <stddef.h>
#include <stdint.h>

enum http_method {
	HTTP_GET,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_METHOD_MAX
};

struct config_proxy;
struct config_tls;

/* A service other than the partner API (the schema registry): its own
 * TLS settings, proxy and timeout; target.headers are not sent there,
 * and the API's request metrics do not count it. */
struct http_route {
	const struct config_tls *tls;     /* borrowed */
	const struct config_proxy *proxy; /* borrowed */
	long timeout_ms;
};

struct api_request {
	enum http_method method;
	char *path;               /* owned; appended to target.base_url */
	char *body;               /* owned; NULL for none */
	const char *content_type; /* static; NULL without a body */
	char *if_match;           /* owned; sent verbatim */
	const char *scope;        /* static: what a 403 would be missing */
	/* One more header line ("Accept-Language: en"), borrowed from the
	 * configuration; NULL for none. */
	const char *extra_header;
	/* To the OAuth2 token endpoint, often another host: target.headers
	 * are the API's, not sent there. */
	int token_endpoint;
	const struct http_route *route; /* NULL: the partner API */
};

struct api_response {
	/* 0 when no response came (see error); 407 also when a proxy
	 * refused a CONNECT (error says so). */
	long status;
	const char *body; /* NUL-terminated, may be "" */
	size_t body_len;
	/* The body was cut at target.max_response_bytes: whatever the
	 * status, the body is not all the partner said. */
	int truncated;
	const char *etag;   /* ETag header or NULL */
	long retry_after_s; /* Retry-After in seconds, -1 when absent */
	/* The quota headers (core/quota.h): enum quota_result, when it
	 * is QUOTA_EXHAUSTED the seconds until the quota resets, and the
	 * requests it still allows (-1: not said). */
	int quota;
	long quota_wait_s;
	long quota_left;
	const char *error; /* transport error text when status is 0 */
	int timed_out;     /* status 0 because the time ran out */
	/* From sending to the end of the answer; -1 when the request was
	 * never sent (a header refused). */
	int64_t rtt_us;
};

void api_request_done(struct api_request *r);
const char *http_method_str(enum http_method m);

#endif
