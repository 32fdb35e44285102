/* The Authorization header of API requests. OAuth2 client credentials:
 * one cached token, fetched when missing or about to expire, one request
 * at a time; requests wait for it rather than fail. Secrets and tokens
 * never reach the log. */
#ifndef CUSTSYNC_AUTH_H
#define CUSTSYNC_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct api_request;
struct api_response;
struct config;
struct auth;

struct auth *auth_new(const struct config *cfg);

/* "Authorization: Basic base64(user:pass)" (RFC 7617), malloc'd; the
 * caller wipes it. NULL when out of memory or refused as a header. */
char *auth_basic_line(const char *user, const char *pass);
struct auth *auth_free(struct auth *a);

/* The header line for a request now ("Authorization: Bearer …"), NULL
 * with *ready true for no auth, or NULL with *ready false: wait for a
 * token (see auth_want_request). */
const char *auth_header(struct auth *a, int64_t now_ms, bool *ready);

/* True when a token request should be sent now; fills url and req. */
bool auth_want_request(struct auth *a, int64_t now_ms, const char **url,
                       struct api_request *req);

/* The token request's response. Returns true when a token is ready. */
bool auth_on_response(struct auth *a, const struct api_response *r,
                      int64_t now_ms);

/* Which token auth_header handed out: a 401 names it to auth_invalidate,
 * so one stale answer does not throw away a newer token. */
unsigned long auth_generation(const struct auth *a);
void auth_invalidate(struct auth *a, unsigned long generation);

/* When auth next needs attention (retry of a failed token request), or
 * INT64_MAX. */
int64_t auth_next_ms(const struct auth *a);

unsigned long auth_refreshes(const struct auth *a);

#endif
