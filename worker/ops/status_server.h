/* The HTTP server of /metrics and /healthz: libmicrohttpd on its own
 * thread, GET and HEAD only, a capped number of connections. What it
 * serves comes from two callbacks, called on the server's thread. */
#ifndef CUSTSYNC_STATUS_SERVER_H
#define CUSTSYNC_STATUS_SERVER_H

#include <stddef.h>

struct sockaddr_storage;
struct status_server;

struct status_server_ops {
	/* The exposition text, NUL-terminated; the server frees it. NULL
	 * when out of memory. */
	char *(*metrics)(void *arg, size_t *len);
	/* 1 when healthy; a one-line reason in why either way. */
	int (*health)(void *arg, char *why, size_t whylen);
};

/* Why listen ("HOST:PORT", HOST an IPv4 address or a bracketed IPv6
 * address) is not usable, or NULL with *addr filled (addr may be NULL). */
const char *status_server_listen_problem(const char *listen,
                                         struct sockaddr_storage *addr);

/* Listening on listen when this returns; NULL on failure, with err
 * filled. arg is borrowed until status_server_free. */
struct status_server *status_server_new(const char *listen,
                                        const struct status_server_ops *ops,
                                        void *arg, char *err, size_t errlen);

/* Joins the server's thread: no callback runs after this. NULL-safe. */
struct status_server *status_server_free(struct status_server *s);

#endif
