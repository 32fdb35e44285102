#include "ops/status_server.h"

#include "ops/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Input-controlled resources, each with a cap. */
#define STATUS_MAX_CONNECTIONS      16
#define STATUS_CONNECTION_TIMEOUT_S 10

struct status_server {
	struct MHD_Daemon *mhd;
	struct status_server_ops ops;
	void *arg; /* borrowed */
};

/* ---- listen address -------------------------------------------------- */

static const char *parse_port(const char *s, in_port_t *port)
{
	unsigned long v = 0;

	if (!*s)
		return "has no port, e.g. 127.0.0.1:9464";
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 65535)
			return "port must be a number between 1 and 65535";
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return "port must be a number between 1 and 65535";
	*port = htons((in_port_t)v);
	return NULL;
}

const char *status_server_listen_problem(const char *listen,
                                         struct sockaddr_storage *addr)
{
	struct sockaddr_storage ss;
	const char *end, *colon, *why;
	char host[INET6_ADDRSTRLEN + 1];
	bool v6 = listen[0] == '[';
	size_t n;
	in_port_t port = 0;

	memset(&ss, 0, sizeof(ss));
	end = v6 ? strchr(listen, ']') : strrchr(listen, ':');
	if (!end || (v6 && end[1] != ':'))
		return "must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464";
	colon = v6 ? end + 1 : end;
	n = (size_t)(end - listen) - (v6 ? 1 : 0);
	if (n == 0)
		return "has no host (0.0.0.0 listens on every IPv4 address)";
	if (n >= sizeof(host))
		return "host must be an IPv4 address or an IPv6 address in "
		       "brackets";
	memcpy(host, listen + (v6 ? 1 : 0), n);
	host[n] = '\0';
	why = parse_port(colon + 1, &port);
	if (why)
		return why;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = port;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return "host must be an IPv6 address inside the "
			       "brackets";
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = port;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return "host must be an IPv4 address or an IPv6 "
			       "address in brackets (names are not looked up)";
	}
	if (addr)
		*addr = ss;
	return NULL;
}

/* ---- the server -------------------------------------------------------- */

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_warn("metrics server: %s", buf);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             char *body, size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* takes ownership of body */
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned code,
                                  const char *line)
{
	size_t n = strlen(line);
	char *body = malloc(n + 2);

	if (!body)
		return MHD_NO;
	memcpy(body, line, n);
	memcpy(body + n, "\n", 2);
	return reply(c, code, body, n + 1, "text/plain; charset=utf-8");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
	struct status_server *s = cls;
	char why[160];
	size_t len;
	char *text;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		                  "method not allowed");
	if (strcmp(url, "/healthz") == 0) {
		int ok = s->ops.health(s->arg, why, sizeof(why));

		return reply_text(
		    c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	if (strcmp(url, "/metrics") != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND,
		                  "not found: try /metrics or /healthz");
	text = s->ops.metrics(s->arg, &len);
	if (!text)
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		                  "out of memory");
	return reply(c, MHD_HTTP_OK, text, len,
	             "text/plain; version=0.0.4; charset=utf-8");
}

struct status_server *status_server_new(const char *listen,
                                        const struct status_server_ops *ops,
                                        void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	sigset_t all, old;
	const char *why = status_server_listen_problem(listen, &ss);
	struct status_server *s;

	if (why) {
		snprintf(err, errlen, "metrics.listen '%s' %s", listen, why);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ops = *ops;
	s->arg = arg;
	/* The server's thread inherits this mask: SIGTERM must reach the
	 * loop's thread, whose wait it interrupts. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = 0;
	/* Only the configured address is bound (SO_REUSEADDR, and
	 * IPV6_V6ONLY for an IPv6 one, are libmicrohttpd's defaults). */
	s->mhd = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	        (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
	    (const struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)STATUS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)STATUS_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->mhd) {
		/* errno is bind's, as libmicrohttpd leaves it. */
		snprintf(err, errlen, "metrics: cannot listen on %s: %s",
		         listen, errno ? strerror(errno) : "failed");
		free(s);
		return NULL;
	}
	log_kv(LOG_INFO, "metrics listening (/metrics, /healthz)",
	       LOG_S("listen", listen));
	return s;
}

struct status_server *status_server_free(struct status_server *s)
{
	if (!s)
		return NULL;
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	free(s);
	return NULL;
}
