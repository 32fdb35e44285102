/* schemareg: a reference Confluent Schema Registry, for integration tests.
 *
 *   schemareg [--port N] [--user NAME:PASSWORD] [--verbose]
 *
 * Serves the part of the registry's REST API a consumer and a test
 * producer need. Listens on 127.0.0.1 only (port 0 picks a free one) and
 * prints "PORT <n>" on stdout once it accepts connections, as refapi
 * does; SIGTERM or SIGINT stops it, exit 0. With --user every registry
 * call needs HTTP Basic credentials (401 otherwise); the controls never
 * do. --verbose logs each request on stderr.
 *
 *   GET  /schemas/ids/{id}          {"schema": TEXT}; 404 with
 *                                   {"error_code":40403,...} when unknown
 *   POST /subjects/{s}/versions     {"schema": TEXT} -> {"id": N}; the
 *                                   same schema gets the same id, in
 *                                   any subject
 *
 * Registry answers carry Content-Type application/vnd.schemaregistry.v1
 * +json and errors Confluent's {"error_code", "message"} body.
 *
 * Test controls (JSON in and out, 200 on success, 400 on bad input):
 *   POST /_control/down {"seconds":S,"status":500}
 *                       registry calls answer status (500..599) for S
 *                       seconds, or until /_control/up when S is 0
 *   POST /_control/down {"seconds":S}
 *                       stop listening for S seconds (S > 0): clients
 *                       see connection refused, then the same port
 *                       serves again with the same schemas
 *   POST /_control/fail {"count":N,"status":500}
 *                       the next N registry calls answer status
 *   POST /_control/up   every fault above ends now
 *   GET  /_control/requests
 *                       {"total", "gets": {"ID": n}, "registers"}
 *   POST /_control/reset
 *                       counters and faults (schemas and ids stay, as
 *                       ids of a real registry never change)
 * SIGUSR1 stops listening until SIGUSR2, for a test that wants the
 * registry down for as long as it likes.
 *
 * Choices left open, made so tests can rely on them:
 * - Ids start at 1 and count up; two schemas are the same when their
 *   JSON is the same after parsing (whitespace and member spacing do not
 *   matter, member order does), close to the registry's canonical form.
 * - Faults and the request counters count only registry calls, never
 *   controls; a request refused by a fault is still counted.
 *
 * One thread drives libmicrohttpd's epoll fd with MHD_run(), so handlers
 * share state without locks.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/convert.h"

#define BODY_MAX    (1024 * 1024)
#define SCHEMAS_MAX 10000
#define CT_REGISTRY "application/vnd.schemaregistry.v1+json"

struct schema {
	char *text;      /* as registered, returned as is */
	char *canonical; /* compared on register */
	uint64_t gets;
};

struct app {
	struct MHD_Daemon *mhd;
	uint16_t port;
	int verbose;
	char *auth;             /* "Basic ..." expected, or NULL */
	struct schema *schemas; /* id i + 1 at index i */
	size_t n_schemas;
	uint64_t total, registers;
	/* Faults. */
	int down_status;         /* 0: none */
	int64_t down_until_ms;   /* 0: until /_control/up */
	int64_t refuse_until_ms; /* > now: not listening */
	int64_t refuse_grace_ms; /* open connections may finish until then */
	int refuse_by_signal;
	uint64_t fail_count;
	int fail_status;
};

struct upload {
	char *data;
	size_t len;
	int too_big;
};

static volatile sig_atomic_t stop, sig_down, sig_up;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sig_down = 1;
	else if (sig == SIGUSR2)
		sig_up = 1;
	else
		stop = 1;
}

__attribute__((format(printf, 2, 3))) static void logmsg(int level,
                                                         const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "<%d>schemareg: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body,
	                                    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Basic realm=\"schemareg\"");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, cJSON *body)
{
	char *s = cJSON_PrintUnformatted(body);

	cJSON_Delete(body);
	return send_text(conn, status, ctype, s);
}

/* Confluent's error body. */
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status,
                                  int code, const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "error_code", code);
	cJSON_AddStringToObject(o, "message", message);
	return send_json(conn, status, CT_REGISTRY, o);
}

static char *canonical(const char *text)
{
	cJSON *v = cJSON_Parse(text);
	char *s;

	if (!v)
		return NULL;
	s = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	return s;
}

/* A positive decimal number that is all of s, or 0. */
static unsigned long parse_id(const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	return errno || *end ? 0 : v;
}

static enum MHD_Result get_schema(struct app *a, struct MHD_Connection *conn,
                                  const char *idtext)
{
	unsigned long id = parse_id(idtext);
	char msg[96];

	if (id == 0 || id > a->n_schemas) {
		snprintf(msg, sizeof msg, "Schema %s not found", idtext);
		return send_error(conn, MHD_HTTP_NOT_FOUND, 40403, msg);
	}
	a->schemas[id - 1].gets++;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "schema", a->schemas[id - 1].text);
	return send_json(conn, MHD_HTTP_OK, CT_REGISTRY, o);
}

static enum MHD_Result register_schema(struct app *a,
                                       struct MHD_Connection *conn,
                                       const struct upload *up)
{
	cJSON *body =
	    up->data ? cJSON_ParseWithLength(up->data, up->len) : NULL;
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(body, "schema");
	char *canon =
	    cJSON_IsString(text) ? canonical(text->valuestring) : NULL;
	size_t i;

	a->registers++;
	if (!canon) {
		cJSON_Delete(body);
		return send_error(
		    conn, 422, 42201,
		    "Invalid schema: \"schema\" must be a string "
		    "holding JSON");
	}
	for (i = 0; i < a->n_schemas; i++)
		if (!strcmp(a->schemas[i].canonical, canon))
			break;
	if (i == a->n_schemas) {
		struct schema *ns;

		if (a->n_schemas == SCHEMAS_MAX) {
			free(canon);
			cJSON_Delete(body);
			return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
			                  50001, "too many schemas");
		}
		ns = realloc(a->schemas, (a->n_schemas + 1) * sizeof *ns);
		if (!ns) {
			free(canon);
			cJSON_Delete(body);
			return MHD_NO;
		}
		a->schemas = ns;
		ns[i] = (struct schema){strdup(text->valuestring), canon, 0};
		a->n_schemas++;
		logmsg(6, "registered id=%zu", i + 1);
	} else {
		free(canon);
	}
	cJSON_Delete(body);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)(i + 1));
	return send_json(conn, MHD_HTTP_OK, CT_REGISTRY, o);
}

/* The fault status a registry call gets now, or 0. */
static int fault(struct app *a)
{
	if (a->down_status) {
		if (a->down_until_ms && mono_ms() >= a->down_until_ms)
			a->down_status = 0;
		else
			return a->down_status;
	}
	if (a->fail_count) {
		a->fail_count--;
		return a->fail_status;
	}
	return 0;
}

static enum MHD_Result registry(struct app *a, struct MHD_Connection *conn,
                                const char *method, const char *url,
                                const struct upload *up)
{
	const char *auth;
	int status;

	a->total++;
	if (a->auth) {
		auth = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		if (!auth || strcmp(auth, a->auth))
			return send_error(conn, MHD_HTTP_UNAUTHORIZED, 401,
			                  "Unauthorized");
	}
	status = fault(a);
	if (status)
		return send_error(conn, (unsigned)status, status * 100 + 1,
		                  "injected fault");
	if (!strcmp(method, "GET") && !strncmp(url, "/schemas/ids/", 13))
		return get_schema(a, conn, url + 13);
	if (!strcmp(method, "POST") && !strncmp(url, "/subjects/", 10)) {
		const char *s = url + 10, *slash = strchr(s, '/');

		if (slash && slash > s && !strcmp(slash, "/versions"))
			return register_schema(a, conn, up);
	}
	return send_error(conn, MHD_HTTP_NOT_FOUND, 404, "HTTP 404 Not Found");
}

/* seconds and status members of a control body: -1 when absent, -2 when
 * not a number in range. */
static long member(const cJSON *o, const char *name, long max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!v)
		return -1;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max)
		return -2;
	return (long)v->valuedouble;
}

static int bad_status(long st)
{
	return st != -1 && (st < 500 || st > 599);
}

static enum MHD_Result control(struct app *a, struct MHD_Connection *conn,
                               const char *method, const char *name,
                               const struct upload *up)
{
	cJSON *body =
	    up->data ? cJSON_ParseWithLength(up->data, up->len) : NULL;
	long secs = member(body, "seconds", 86400);
	long st = member(body, "status", 599);
	long count = member(body, "count", 1000000);
	cJSON *out = cJSON_CreateObject();
	int ok = 1;

	if (!strcmp(method, "GET") && !strcmp(name, "requests")) {
		cJSON *gets = cJSON_AddObjectToObject(out, "gets");
		char id[24];

		cJSON_AddNumberToObject(out, "total", (double)a->total);
		cJSON_AddNumberToObject(out, "registers",
		                        (double)a->registers);
		for (size_t i = 0; i < a->n_schemas; i++) {
			snprintf(id, sizeof id, "%zu", i + 1);
			cJSON_AddNumberToObject(gets, id,
			                        (double)a->schemas[i].gets);
		}
	} else if (strcmp(method, "POST")) {
		ok = 0;
	} else if (!strcmp(name, "down")) {
		if (secs < -1 || bad_status(st) || (st == -1 && secs <= 0)) {
			ok = 0;
		} else if (st == -1) {
			a->refuse_until_ms = mono_ms() + secs * 1000;
			a->refuse_grace_ms = mono_ms() + 1000;
		} else {
			a->down_status = (int)st;
			a->down_until_ms =
			    secs > 0 ? mono_ms() + secs * 1000 : 0;
		}
	} else if (!strcmp(name, "fail")) {
		if (count < 0 || bad_status(st))
			ok = 0;
		a->fail_count = ok ? (uint64_t)count : a->fail_count;
		a->fail_status = st > 0 ? (int)st : 500;
	} else if (!strcmp(name, "up") || !strcmp(name, "reset")) {
		a->down_status = 0;
		a->fail_count = 0;
		if (name[0] == 'r') {
			a->total = a->registers = 0;
			for (size_t i = 0; i < a->n_schemas; i++)
				a->schemas[i].gets = 0;
		}
	} else {
		cJSON_Delete(body);
		cJSON_Delete(out);
		return send_error(conn, MHD_HTTP_NOT_FOUND, 404,
		                  "no such control");
	}
	cJSON_Delete(body);
	if (!ok) {
		cJSON_Delete(out);
		return send_error(conn, MHD_HTTP_BAD_REQUEST, 400,
		                  "bad control");
	}
	return send_json(conn, MHD_HTTP_OK, "application/json", out);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
	struct app *a = cls;
	struct upload *up = *con_cls;

	(void)version;
	if (!up) {
		up = calloc(1, sizeof *up);
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_size) {
		if (up->len + *upload_size > BODY_MAX) {
			up->too_big = 1;
		} else if (!up->too_big) {
			char *d =
			    realloc(up->data, up->len + *upload_size + 1);
			if (!d)
				return MHD_NO;
			memcpy(d + up->len, upload_data, *upload_size);
			up->data = d;
			up->len += *upload_size;
			d[up->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (a->verbose)
		logmsg(7, "%s %s", method, url);
	if (up->too_big)
		return send_error(conn, 413, 413, "body too large");
	if (!strncmp(url, "/_control/", 10))
		return control(a, conn, method, url + 10, up);
	return registry(a, conn, method, url, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up) {
		free(up->data);
		free(up);
		*con_cls = NULL;
	}
}

static int listen_on(struct app *a)
{
	struct sockaddr_in addr;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(a->port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* No internal thread, as in refapi: one thread needs no locks.
	 * Address reuse lets the port come back after a refusing spell
	 * while old connections sit in TIME_WAIT. */
	a->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | (a->verbose ? MHD_USE_ERROR_LOG : 0), 0, NULL,
	    NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, a, MHD_OPTION_END);
	if (!a->mhd)
		return -1;
	a->port = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
	return 0;
}

static void go_down(struct app *a)
{
	if (!a->mhd)
		return;
	MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
	logmsg(6, "not listening");
}

static int serve(struct app *a, const sigset_t *waitmask)
{
	while (!stop) {
		struct pollfd pfd = {.fd = -1, .events = POLLIN};
		int64_t wait_ms = -1, now = mono_ms();
		struct timespec ts;

		if (sig_down) {
			sig_down = 0;
			a->refuse_by_signal = 1;
			a->refuse_grace_ms = now;
		}
		if (sig_up) {
			sig_up = 0;
			a->refuse_by_signal = 0;
			a->refuse_until_ms = 0;
		}
		int refuse = a->refuse_by_signal || a->refuse_until_ms > now;
		if (refuse && a->mhd) {
			const union MHD_DaemonInfo *ci = MHD_get_daemon_info(
			    a->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
			/* The reply to the control that asked leaves first;
			 * clients close after it (no keep-alive in tests). */
			if (ci && ci->num_connections &&
			    now < a->refuse_grace_ms)
				refuse = 0;
			else
				go_down(a);
		}
		if (!refuse && !a->mhd) {
			if (listen_on(a)) {
				logmsg(3,
				       "cannot listen again on 127.0.0.1:%u",
				       a->port);
				return -1;
			}
			logmsg(6, "listening again port=%u", a->port);
		}
		if (a->mhd) {
			MHD_UNSIGNED_LONG_LONG mhd_ms;

			MHD_run(a->mhd);
			if (refuse || a->refuse_until_ms > mono_ms())
				wait_ms =
				    10; /* going down once the reply is out */
			pfd.fd = MHD_get_daemon_info(a->mhd,
			                             MHD_DAEMON_INFO_EPOLL_FD)
			             ->epoll_fd;
			if (wait_ms < 0 &&
			    MHD_get_timeout(a->mhd, &mhd_ms) == MHD_YES)
				wait_ms = mhd_ms > INT_MAX ? INT_MAX
				                           : (int64_t)mhd_ms;
		} else if (!a->refuse_by_signal) {
			wait_ms = a->refuse_until_ms - now;
		}
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (wait_ms % 1000) * 1000000;
		/* Signals are blocked except inside ppoll, so none slips in
		 * between the checks above and the wait. */
		if (ppoll(&pfd, 1, wait_ms < 0 ? NULL : &ts, waitmask) < 0 &&
		    errno != EINTR) {
			logmsg(3, "ppoll: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: schemareg [--port N] [--user NAME:PASSWORD] "
	           "[--verbose]\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct app a = {0};
	struct sigaction sa;
	sigset_t block, waitmask;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			unsigned long p = strtoul(argv[++i], NULL, 10);
			if (p > 65535)
				return usage(stderr, 2);
			a.port = (uint16_t)p;
		} else if (!strcmp(argv[i], "--user") && i + 1 < argc) {
			const char *u = argv[++i];
			char *b64 = conv_base64((const uint8_t *)u, strlen(u));
			size_t n = b64 ? strlen(b64) + 7 : 0;

			free(a.auth);
			a.auth = b64 ? malloc(n) : NULL;
			if (!a.auth) {
				free(b64);
				return 1;
			}
			snprintf(a.auth, n, "Basic %s", b64);
			free(b64);
		} else if (!strcmp(argv[i], "--verbose")) {
			a.verbose = 1;
		} else if (!strcmp(argv[i], "--help")) {
			return usage(stdout, 0);
		} else {
			return usage(stderr, 2);
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGUSR1);
	sigdelset(&waitmask, SIGUSR2);

	if (listen_on(&a)) {
		logmsg(3, "cannot listen on 127.0.0.1:%u", a.port);
		free(a.auth);
		return 1;
	}
	printf("PORT %u\n", a.port);
	fflush(stdout);
	logmsg(6, "listening port=%u auth=%s", a.port, a.auth ? "on" : "off");

	rc = serve(&a, &waitmask);

	go_down(&a);
	for (size_t i = 0; i < a.n_schemas; i++) {
		free(a.schemas[i].text);
		free(a.schemas[i].canonical);
	}
	free(a.schemas);
	free(a.auth);
	logmsg(6, "stopped requests=%" PRIu64, a.total);
	return rc ? 1 : 0;
}
