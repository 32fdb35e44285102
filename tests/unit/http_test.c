/* worker/edge/http.c: the one header builder (event data percent-encoded,
 * config and partner values refused when a header cannot carry them),
 * and what reaches the wire: a loopback server on a thread answers one
 * request and keeps its header block, so the tests see the lines libcurl
 * sent, that a refused request never connects, and the body cap. */
#include "edge/http.h"
#include "core/request.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define INJECTED "corr-2\r\nX-Injected: 1"

/* ---- the builder ----------------------------------------------------- */

static void expect_line(const char *name, const char *value,
                        enum http_value_source src, const char *want)
{
	char *line = NULL;

	assert_int_equal(http_header_line(name, value, src, &line), 0);
	assert_string_equal(line, want);
	free(line);
}

static void expect_refused(const char *name, const char *value,
                           enum http_value_source src)
{
	char *line = (char *)"untouched";

	assert_int_equal(http_header_line(name, value, src, &line), -EINVAL);
	assert_string_equal(line, "untouched");
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of an encoded line, decoded again. */
static char *decode(const char *line)
{
	const char *v = strchr(line, ':') + 1;
	char *out = malloc(strlen(line) + 1), *o = out;

	assert_non_null(out);
	if (*v == ' ')
		v++;
	for (; *v; v++) {
		if (*v == '%') {
			assert_true(unhex(v[1]) >= 0 && unhex(v[2]) >= 0);
			*o++ = (char)(unhex(v[1]) << 4 | unhex(v[2]));
			v += 2;
		} else {
			*o++ = *v;
		}
	}
	*o = '\0';
	return out;
}

static void event_values_encoded(void **state)
{
	char all[256], *line = NULL, *back;

	(void)state;
	expect_line("X-Correlation-Id", INJECTED, HTTP_VALUE_ENCODED,
	            "X-Correlation-Id: corr-2%0D%0AX-Injected: 1");
	/* UTF-8 bytes, '%' itself (or it could not be decoded), the other
	 * controls and DEL. */
	expect_line("X-Correlation-Id", "caf\xc3\xa9-7", HTTP_VALUE_ENCODED,
	            "X-Correlation-Id: caf%C3%A9-7");
	expect_line("X-Correlation-Id", "50%-off", HTTP_VALUE_ENCODED,
	            "X-Correlation-Id: 50%25-off");
	expect_line("X-Correlation-Id", "a\x01\x1f\x7f\tb", HTTP_VALUE_ENCODED,
	            "X-Correlation-Id: a%01%1F%7F%09b");
	/* What a header carries as is stays as it is. */
	expect_line(
	    "X-Correlation-Id", "evt-1 A_b.c~!\"#$&'()*+,/:;<=>?@[\\]^`{|}",
	    HTTP_VALUE_ENCODED,
	    "X-Correlation-Id: evt-1 A_b.c~!\"#$&'()*+,/:;<=>?@[\\]^`{|}");
	/* HTTP drops blanks around a value: encoded, they survive. */
	expect_line("X-Correlation-Id", " a b ", HTTP_VALUE_ENCODED,
	            "X-Correlation-Id: %20a b%20");
	expect_line("X-Correlation-Id", " ", HTTP_VALUE_ENCODED,
	            "X-Correlation-Id: %20");
	/* Empty: libcurl sends no such header. */
	expect_line("X-Correlation-Id", "", HTTP_VALUE_ENCODED,
	            "X-Correlation-Id:");

	/* Every byte: one line of visible ASCII and spaces, decoded back
	 * to the original. */
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	assert_int_equal(http_header_line("X-Correlation-Id", all,
	                                  HTTP_VALUE_ENCODED, &line),
	                 0);
	for (const char *p = line; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	back = decode(line);
	assert_string_equal(back, all);
	free(back);
	free(line);
}

static void checked_values_refused(void **state)
{
	(void)state;
	expect_line("Authorization", "Bearer tok-1/+=", HTTP_VALUE_CHECKED,
	            "Authorization: Bearer tok-1/+=");
	expect_line("If-Match", "W/\"e 1%\"", HTTP_VALUE_CHECKED,
	            "If-Match: W/\"e 1%\"");
	expect_line("Expect", "", HTTP_VALUE_CHECKED, "Expect:");
	expect_refused("Authorization", "Bearer tok\r\nX-Injected: 1",
	               HTTP_VALUE_CHECKED);
	expect_refused("Authorization", "tok\n", HTTP_VALUE_CHECKED);
	expect_refused("Authorization", "tok\r", HTTP_VALUE_CHECKED);
	expect_refused("X-API-Key", "k\tk", HTTP_VALUE_CHECKED);
	expect_refused("X-API-Key", "k\x7f", HTTP_VALUE_CHECKED);
	expect_refused("X-API-Key", "k\x01", HTTP_VALUE_CHECKED);
	expect_refused("X-API-Key", "caf\xc3\xa9", HTTP_VALUE_CHECKED);
	expect_refused("X-API-Key", NULL, HTTP_VALUE_CHECKED);
	/* Names: an HTTP token, whatever the value's source. */
	expect_refused("", "v", HTTP_VALUE_ENCODED);
	expect_refused(NULL, "v", HTTP_VALUE_ENCODED);
	expect_refused("X Key", "v", HTTP_VALUE_ENCODED);
	expect_refused("X-Key:", "v", HTTP_VALUE_ENCODED);
	expect_refused("X\r\nY", "v", HTTP_VALUE_ENCODED);
	expect_refused("X-K\xc3\xa9y", "v", HTTP_VALUE_ENCODED);
	expect_refused("X-Key", "v", HTTP_VALUE_SOURCE_MAX);
	assert_true(http_header_name_ok("Ocp-Apim-Subscription-Key"));
	assert_true(http_header_name_ok("!#$%&'*+-.^_`|~09AZaz"));
	assert_false(http_header_name_ok("X(Key)"));
}

static void problems_named(void **state)
{
	char b[64];

	(void)state;
	assert_null(http_value_problem("Bearer a b", false, b, sizeof(b)));
	assert_string_equal(http_value_problem("a\rb", false, b, sizeof(b)),
	                    "a control character (CR)");
	assert_string_equal(http_value_problem("a\nb", false, b, sizeof(b)),
	                    "a control character (LF)");
	assert_string_equal(http_value_problem("a\tb", false, b, sizeof(b)),
	                    "a control character (tab)");
	assert_string_equal(http_value_problem("a\x7f", false, b, sizeof(b)),
	                    "a control character (DEL)");
	assert_string_equal(http_value_problem("\x1b[", false, b, sizeof(b)),
	                    "a control character (0x1b)");
	assert_string_equal(
	    http_value_problem("\xc3\xa9", false, b, sizeof(b)),
	    "a non-ASCII byte");
	/* For values encoded before they are sent (basic credentials). */
	assert_null(http_value_problem("\xc3\xa9", true, b, sizeof(b)));
	assert_non_null(http_value_problem("\xc3\xa9\n", true, b, sizeof(b)));
}

/* ---- on the wire ----------------------------------------------------- */

struct server {
	int fd;
	int port;
	pthread_t thread;
	size_t body_len;  /* the answer: that many 'x' */
	const char *etag; /* an ETag header of the answer, or NULL */
	char request[16384];
};

struct result {
	int calls;
	long status;
	size_t body_len;
	int truncated;
	int timed_out;
	char error[256];
	char etag[2048];
};

static void server_open(struct server *s, size_t body_len)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->body_len = body_len;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* One request (headers only: the tests send GETs), one answer. */
static void *serve_one(void *arg)
{
	struct server *s = arg;
	char head[2048], chunk[4096];
	size_t n = 0, left = s->body_len;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (n + 1 < sizeof(s->request) && !strstr(s->request, "\r\n\r\n")) {
		ssize_t r =
		    read(c, s->request + n, sizeof(s->request) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		s->request[n] = '\0';
	}
	snprintf(head, sizeof(head),
	         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n",
	         s->body_len, s->etag ? "ETag: " : "", s->etag ? s->etag : "",
	         s->etag ? "\r\n" : "");
	send_all(c, head, strlen(head));
	memset(chunk, 'x', sizeof(chunk));
	while (left > 0) {
		size_t k = left < sizeof(chunk) ? left : sizeof(chunk);

		send_all(c, chunk, k);
		left -= k;
	}
	close(c);
	return NULL;
}

static void on_done(void *arg, const struct api_response *r)
{
	struct result *res = arg;

	res->calls++;
	res->status = r->status;
	res->body_len = r->body_len;
	res->truncated = r->truncated;
	res->timed_out = r->timed_out;
	assert_int_equal(strlen(r->body), r->body_len);
	snprintf(res->error, sizeof(res->error), "%s",
	         r->error ? r->error : "");
	snprintf(res->etag, sizeof(res->etag), "%s", r->etag ? r->etag : "");
}

static void drive(struct http *h, struct result *res)
{
	for (int i = 0; i < 400 && !res->calls; i++) {
		assert_int_equal(http_wait(h, NULL, 0, 25), 0);
		http_dispatch(h);
	}
	assert_int_equal(res->calls, 1);
	assert_int_equal(http_in_flight(h), 0);
}

/* GET / on s, with what else the test gives. */
static void get(struct http *h, const struct server *s,
                const struct api_request *req, const char *authorization,
                const char *correlation_id, struct result *res)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->port);
	memset(res, 0, sizeof(*res));
	assert_non_null(http_submit(h, url, req, authorization, correlation_id,
	                            on_done, res));
	assert_int_equal(http_in_flight(h), 1);
	drive(h, res);
}

static struct http *new_http(size_t max_response_bytes)
{
	struct http_options o = {
	    .timeout_ms = 10000,
	    .connect_timeout_ms = 5000,
	    .max_response_bytes = max_response_bytes,
	};
	struct http *h = http_new(&o);

	assert_non_null(h);
	return h;
}

/* Has the listening socket a connection waiting? */
static bool connected(const struct server *s)
{
	int c, flags = fcntl(s->fd, F_GETFL);

	assert_int_equal(fcntl(s->fd, F_SETFL, flags | O_NONBLOCK), 0);
	c = accept(s->fd, NULL, NULL);
	if (c >= 0)
		close(c);
	else
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	return c >= 0;
}

static void lines_on_the_wire(void **state)
{
	struct api_request req = {.method = HTTP_GET,
	                          .extra_header = "Accept-Language: en"};
	struct http *h = new_http(0);
	struct server s;
	struct result res;

	(void)state;
	server_open(&s, 2);
	assert_int_equal(pthread_create(&s.thread, NULL, serve_one, &s), 0);
	get(h, &s, &req, "Authorization: Bearer tok", INJECTED, &res);
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(
	    s.request, "\r\nX-Correlation-Id: corr-2%0D%0AX-Injected: 1\r\n"));
	assert_null(strstr(s.request, "\nX-Injected"));
	assert_non_null(
	    strstr(s.request, "\r\nAuthorization: Bearer tok\r\n"));
	assert_non_null(strstr(s.request, "\r\nAccept-Language: en\r\n"));
	assert_non_null(strstr(s.request, "\r\nAccept: application/json\r\n"));
	assert_null(strstr(s.request, "Expect:"));
	close(s.fd);
	http_free(h);
}

/* A line that a header cannot carry is never sent, whatever built it:
 * the request fails from http_dispatch, naming the header only. */
static void refused_lines_never_sent(void **state)
{
	static const struct {
		const char *if_match, *authorization, *extra, *named;
	} cases[] = {
	    {"\"e1\"\r\nX-Injected: 1", NULL, NULL,
	     "header If-Match would carry a control character (CR)"},
	    {NULL, "Authorization: Bearer s3cret\r\nX-Injected: 1", NULL,
	     "header Authorization would carry a control character (CR)"},
	    {NULL, "X-API-Key: s3cret\xc3\xa9", NULL,
	     "header X-API-Key would carry a non-ASCII byte"},
	    {NULL, NULL, "Accept-Language: en\nX-Injected: 1",
	     "header Accept-Language would carry a control character (LF)"},
	    {NULL, "X Injected: s3cret", NULL, "is not an HTTP token"},
	    {NULL, "s3cret", NULL, "has no ':'"},
	};
	struct http *h = new_http(0);
	struct server s;

	(void)state;
	server_open(&s, 2);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct api_request req = {.method = HTTP_GET,
		                          .if_match =
		                              (char *)cases[i].if_match,
		                          .extra_header = cases[i].extra};
		struct result res;

		get(h, &s, &req, cases[i].authorization, "id-1", &res);
		assert_int_equal(res.status, 0);
		assert_non_null(strstr(res.error, "request not sent"));
		assert_non_null(strstr(res.error, cases[i].named));
		assert_null(strstr(res.error, "s3cret"));
		assert_null(strstr(res.error, "Injected"));
		assert_false(connected(&s));
	}
	close(s.fd);
	http_free(h);
}

/* Per-request extra headers (an event's trace context and forwarded
 * headers) go out after custsync's own, checked like config values. */
static void extra_headers_on_the_wire(void **state)
{
	static const struct http_header extra[] = {
	    {"traceparent",
	     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	    {"X-Tenant", "acme 1"},
	};
	static const struct http_header bad[] = {
	    {"X-Tenant", "acme\r\nX-Injected: 1"},
	};
	struct api_request req = {.method = HTTP_GET};
	struct http *h = new_http(0);
	struct server s;
	struct result res = {0};
	char url[64];

	(void)state;
	assert_true(http_header_is_own("x-correlation-id"));
	assert_true(http_header_is_own("If-Match"));
	assert_false(http_header_is_own("X-Tenant"));
	server_open(&s, 2);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	assert_int_equal(pthread_create(&s.thread, NULL, serve_one, &s), 0);
	assert_non_null(http_submit_with(h, url, &req, NULL, "id-1", extra, 2,
	                                 on_done, &res));
	drive(h, &res);
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	assert_int_equal(res.status, 200);
	assert_non_null(
	    strstr(s.request, "\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0"
	                      "e4736-00f067aa0ba902b7-01\r\nX-Tenant: acme "
	                      "1\r\n"));
	memset(&res, 0, sizeof(res));
	assert_non_null(http_submit_with(h, url, &req, NULL, "id-2", bad, 1,
	                                 on_done, &res));
	drive(h, &res);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.error, "header X-Tenant would carry a "
	                                  "control character (CR)"));
	assert_false(connected(&s));
	close(s.fd);
	http_free(h);
}

static void refused_call_cancelled(void **state)
{
	struct api_request req = {.method = HTTP_GET, .if_match = "\"a\"\n"};
	struct http *h = new_http(0);
	struct result res = {0};
	struct http_call *c;

	(void)state;
	c = http_submit(h, "http://127.0.0.1:9/", &req, NULL, NULL, on_done,
	                &res);
	assert_non_null(c);
	assert_int_equal(http_in_flight(h), 1);
	http_cancel(h, c);
	assert_int_equal(http_in_flight(h), 0);
	http_dispatch(h);
	assert_int_equal(res.calls, 0);
	/* Freed with one still waiting: nothing leaks. */
	assert_non_null(http_submit(h, "http://127.0.0.1:9/", &req, NULL, NULL,
	                            on_done, &res));
	http_free(h);
	assert_int_equal(res.calls, 0);
}

static void body_capped(struct http *h, size_t body_len, size_t want_len,
                        int want_truncated)
{
	struct api_request req = {.method = HTTP_GET};
	struct server s;
	struct result res;

	server_open(&s, body_len);
	assert_int_equal(pthread_create(&s.thread, NULL, serve_one, &s), 0);
	get(h, &s, &req, NULL, NULL, &res);
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	close(s.fd);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.body_len, want_len);
	assert_int_equal(res.truncated, want_truncated);
}

static void response_cap(void **state)
{
	struct http *h = new_http(4096);

	(void)state;
	body_capped(h, 4096, 4096, 0);
	body_capped(h, 4097, 4096, 1);
	body_capped(h, 100000, 4096, 1);
	body_capped(h, 0, 0, 0);
	http_free(h);
	/* 0 is today's 1 MiB. */
	h = new_http(0);
	body_capped(h, 100000, 100000, 0);
	body_capped(h, 1024 * 1024 + 1, 1024 * 1024, 1);
	http_free(h);
}

/* A long ETag arrives whole: cut, it would come back as an If-Match
 * that never matches. */
static void long_etag_whole(void **state)
{
	struct api_request req = {.method = HTTP_GET};
	struct http *h = new_http(0);
	char etag[1500];
	struct server s;
	struct result res;

	(void)state;
	memset(etag, 'e', sizeof(etag) - 1);
	etag[0] = etag[sizeof(etag) - 2] = '"';
	etag[sizeof(etag) - 1] = '\0';
	server_open(&s, 2);
	s.etag = etag;
	assert_int_equal(pthread_create(&s.thread, NULL, serve_one, &s), 0);
	get(h, &s, &req, NULL, NULL, &res);
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	close(s.fd);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.etag, etag);
	http_free(h);
}

/* No answer in time is told apart from a refused connection: the
 * metrics count them as different retry reasons. */
static void timeout_told_apart(void **state)
{
	struct http_options o = {.timeout_ms = 300, .connect_timeout_ms = 300};
	struct api_request req = {.method = HTTP_GET};
	struct http *h = http_new(&o);
	struct server s;
	struct result res;
	char url[64];
	int port;

	(void)state;
	assert_non_null(h);
	/* Listening, so the kernel connects it, but never answered. */
	server_open(&s, 0);
	get(h, &s, &req, NULL, NULL, &res);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.timed_out, 1);
	port = s.port;
	close(s.fd);
	/* Nothing listens there now. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	memset(&res, 0, sizeof(res));
	assert_non_null(http_submit(h, url, &req, NULL, NULL, on_done, &res));
	drive(h, &res);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.timed_out, 0);
	assert_true(res.error[0]);
	http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(event_values_encoded),
	    cmocka_unit_test(checked_values_refused),
	    cmocka_unit_test(problems_named),
	    cmocka_unit_test(lines_on_the_wire),
	    cmocka_unit_test(refused_lines_never_sent),
	    cmocka_unit_test(refused_call_cancelled),
	    cmocka_unit_test(extra_headers_on_the_wire),
	    cmocka_unit_test(response_cap),
	    cmocka_unit_test(long_etag_whole),
	    cmocka_unit_test(timeout_told_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
