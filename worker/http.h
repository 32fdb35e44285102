/* API requests on one libcurl multi handle: many in flight, connections
 * reused (keep-alive; HTTP/2 multiplexing where the server offers it). */
#ifndef CUSTSYNC_HTTP_H
#define CUSTSYNC_HTTP_H

#include <stddef.h>

struct api_request;
struct api_response;
struct http;
struct http_call;
struct metrics;

struct http_options {
	long timeout_ms;
	long connect_timeout_ms;
	long max_connections; /* per host; 0 = unlimited */
	int tls_verify;
	struct metrics *metrics; /* borrowed; NULL: not counted */
};

typedef void http_done_fn(void *arg, const struct api_response *r);

struct http *http_new(const struct http_options *o);
struct http *http_free(struct http *h);

/* Starts req against url (copied). authorization is a whole header line
 * or NULL; correlation_id becomes X-Correlation-Id. done runs from
 * http_dispatch with a response borrowed for the call. */
struct http_call *http_submit(struct http *h, const char *url,
			      const struct api_request *req,
			      const char *authorization,
			      const char *correlation_id, http_done_fn *done,
			      void *arg);

/* Abandons a call: done is never called. */
void http_cancel(struct http *h, struct http_call *c);

/* Waits up to timeout_ms for sockets or one of fds (readable) to be
 * ready, like curl_multi_poll. */
int http_wait(struct http *h, const int *fds, int n_fds, int timeout_ms);

/* Drives transfers and calls done for each finished one. */
void http_dispatch(struct http *h);

size_t http_in_flight(const struct http *h);

#endif
