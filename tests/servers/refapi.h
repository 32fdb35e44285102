/* refapi: the reference customer API for integration tests (refapi.c
 * describes it). Shared by its three files:
 *   refapi.c        process, event loop, libmicrohttpd glue, request log
 *   refapi_store.c  records and their index, validation, clients, tokens
 *   refapi_api.c    the customer API, /oauth/token, /_control
 * One thread runs everything, so nothing here is locked. */
#ifndef CUSTSYNC_REFAPI_H
#define CUSTSYNC_REFAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cJSON;
struct MHD_Connection;
struct pending;

#define API_PREFIX      "/api/p/v1.0"
#define PROBLEM_BASE    "https://refapi.test/problems/"
#define DEFAULT_TENANT  "default"
#define MAX_BODY        (1024 * 1024)
#define MAX_LOG         20000
#define MAX_LOG_HEADERS 8
#define MAX_COUNT_KEYS  1024
#define MAX_CLIENTS     1024
#define MAX_TENANTS     1024
#define MAX_NAME        256
#define MAX_SCOPES      32
#define MAX_SCOPE_LEN   64
#define TOKEN_SLOTS     65536 /* power of two */
#define TOKEN_HEX       40
#define MAX_CUSTOMERS   2000000
/* Answer times kept in 1 ms steps; the last counts every longer one. */
#define LATENCY_BUCKETS 2001
#define MAX_LATENCY_MS  600000
#define MAX_CAPACITY    1024
#define MAX_SECONDS     31536000
#define MAX_ID          64
#define ETAG_MAX        48
#define PAGE_SIZE_DEF   50
#define PAGE_SIZE_MAX   200
#define IX_BUCKETS      4096 /* power of two; doubles as records grow */

#define N_ELEMS(x) (sizeof(x) / sizeof((x)[0]))

enum scope_bit {
	SCOPE_READ = 1u << 0,
	SCOPE_CREATE = 1u << 1,
	SCOPE_UPDATE = 1u << 2,
	SCOPE_DELETE = 1u << 3,
};

enum route {
	ROUTE_OTHER,
	ROUTE_TOKEN,
	ROUTE_CUSTOMERS,
	ROUTE_SEARCH,
	ROUTE_CUSTOMER,
	ROUTE_MAX
};

/* Indexed fields, in the order duplicates are reported. */
enum ix_kind { IX_COMPANY, IX_EXTERNAL, IX_NAME, IX_MAX };

enum token_state { TOKEN_MISSING, TOKEN_UNKNOWN, TOKEN_EXPIRED, TOKEN_OK };

enum view { VIEW_READ, VIEW_WRITE, VIEW_CONTROL };

enum log_has {
	HAS_IF_MATCH = 1u << 0,
	HAS_CONTENT_TYPE = 1u << 1,
	HAS_CORRELATION = 1u << 2,
};

struct client {
	char *id;
	char *secret;
	const char *tenant; /* interned */
	size_t n_scopes;
	char scopes[MAX_SCOPES][MAX_SCOPE_LEN + 1];
};

/* A token names its own slot (first 8 hex digits), so lookup is O(1) and
 * the oldest tokens are forgotten once TOKEN_SLOTS have been issued. */
struct token {
	char value[TOKEN_HEX + 1];
	const char *tenant;
	unsigned scopes;
	int64_t expires_ms; /* monotonic */
};

struct ix_entry {
	struct ix_entry *next;
	uint64_t hash;
	struct customer *c;
	bool linked;
};

struct customer {
	uint64_t seq;
	char id[24];
	const char *tenant;   /* interned: compared by pointer */
	struct cJSON *fields; /* writable members only */
	char etag[ETAG_MAX];
	int64_t created_ms; /* wall clock */
	int64_t modified_ms;
	struct ix_entry ix[IX_MAX];
};

/* Exact-value multimap (tenant, field, value) -> record: keeps the
 * duplicate checks and searches O(1) with benchmark-sized stores. Seeded
 * records may share values, hence a multimap. */
struct index {
	struct ix_entry **buckets;
	size_t n_buckets;
	size_t count;
};

struct log_entry {
	int64_t t_ms;
	unsigned status;
	unsigned has; /* enum log_has */
	bool auth;
	enum route route;
	char method[16];
	char path[160];
	char if_match[96];
	char content_type[96];
	char correlation_id[96];
	/* Names of every request header, in arrival order, each followed
	 * by '\n'; cut (header_names_cut) when they do not fit. */
	char header_names[384];
	bool header_names_cut;
	/* "name: value\n" of each header --log-header names, in arrival
	 * order; malloc'd, NULL when there is none. */
	char *header_values;
};

/* /_control/quota: which quota headers every counted answer carries. */
enum quota_form { QUOTA_NONE, QUOTA_IETF, QUOTA_TRIO, QUOTA_X, QUOTA_MAX };

#define QUOTA_CLIENTS 16

/* One client's fixed window: it starts at the first request after the
 * last one ended. */
struct quota_client {
	char who[96];     /* its Authorization value, cut; "" without */
	int64_t start_ms; /* monotonic */
	int64_t used;
};

struct count {
	char key[96];
	uint64_t n;
};

struct app {
	struct MHD_Daemon *mhd;
	const struct refapi_profile *profile;
	bool no_auth;
	bool verbose;
	int64_t token_ttl_s;
	const char *default_tenant;
	char *tenants[MAX_TENANTS];
	size_t n_tenants;
	struct client *clients[MAX_CLIENTS];
	size_t n_clients;
	struct token *tokens; /* TOKEN_SLOTS */
	uint64_t n_issued;
	struct customer **cust; /* creation order, so sorted by seq */
	size_t n_cust;
	size_t cap_cust;
	uint64_t next_seq;
	uint64_t etag_seq;
	struct index ix;
	int64_t latency_ms;
	/* /_control/capacity: cap_concurrent requests (0: no model) are
	 * served at once in cap_latency_ms each, the rest wait their turn
	 * (FIFO); a request that would make more than cap_queue wait gets
	 * 503. cap_free[i]: when server i is next free (monotonic ms). */
	unsigned cap_concurrent;
	int64_t cap_latency_ms;
	int64_t cap_queue;
	int64_t cap_free[MAX_CAPACITY];
	/* /_control/loose_ids: a careless API that matches external ids
	 * and shortIDs without regard to case (engage, wms). */
	bool loose_ids;
	/* /_control/quota: quota_n requests per quota_window_ms per
	 * client (0: off), beyond them 429. */
	int64_t quota_n, quota_window_ms;
	enum quota_form quota_form;
	struct quota_client quota_clients[QUOTA_CLIENTS];
	size_t n_quota_clients;
	int64_t disabled_until; /* monotonic ms */
	unsigned disabled_status;
	char retry_after[64];
	/* /_control/script: the next script_left requests that match
	 * (script_method, "" for any write: POST, PUT, PATCH, DELETE;
	 * script_route, ROUTE_MAX for any but token and search) answer
	 * script_status and script_body (NULL: no body), after doing the
	 * request with script_apply. */
	unsigned script_left;
	unsigned script_status;
	struct cJSON *script_body;
	bool script_problem;
	bool script_apply;
	char script_method[16];
	enum route script_route;
	/* Headers whose values the request log keeps (--log-header): only
	 * those a test asks for, never tokens by default. */
	const char *log_headers[MAX_LOG_HEADERS];
	size_t n_log_headers;
	struct log_entry *log; /* ring of MAX_LOG */
	size_t log_head;
	size_t log_len;
	uint64_t total;
	uint64_t if_match_star;
	struct count counts[MAX_COUNT_KEYS];
	size_t n_counts;
	/* API answers by ms from the request's arrival to its answer: the
	 * latency a client sees, less the network, queue included. */
	uint64_t latency_hist[LATENCY_BUCKETS];
	struct pending **heap; /* delayed responses, by deadline */
	size_t heap_len;
	size_t heap_cap;
	uint64_t heap_order;
};

struct call;

/* Two ids the same for the API: exactly, or with loose_ids in any
 * case. */
bool ids_match(const struct app *a, const char *x, const char *y);

/* One partner API the server plays (--profile NAME, default alvys). The
 * process, the request log, latency, disabled writes, OAuth2 and tokens
 * are shared; a profile owns its routes and its records' shape. */
struct refapi_profile {
	const char *name;
	/* Route (and id) of a URL, for dispatch and the request counts. */
	enum route (*route)(const char *url, const char **id);
	/* Counts keys of the routes, ROUTE_MAX entries. */
	const char *const *route_names;
	/* Answers every request outside /_control. */
	void (*handle)(struct call *c);
	/* /_control/seed and /_control/edit of the profile's own records
	 * (in may be NULL). */
	void (*seed)(struct call *c, const struct cJSON *in);
	void (*edit)(struct call *c, const struct cJSON *in);
	/* A record as /_control/state lists it: the API's rendering plus
	 * what tests need (tenant, ETag). */
	struct cJSON *(*control_view)(const struct app *a,
	                              const struct customer *cu);
};

extern const struct refapi_profile refapi_alvys;

struct reply {
	unsigned status;
	struct cJSON *body;
	bool problem;
	bool no_store;
	const char *allow;
	const char *www_auth;
	char etag[ETAG_MAX];
	char location[128];
	char retry_after[64];
	/* Quota headers (/_control/quota), name and value; "" for none. */
	char quota_name[3][24];
	char quota_value[3][96];
};

/* One request being answered. */
struct call {
	struct app *a;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	const char *body;
	size_t len;
	enum route route;
	const char *id;
	const char *tenant;
	struct reply r;
	/* The quota after this request, when one is on (quota_answer). */
	bool quota_on;
	int64_t quota_left, quota_reset_ms;
};

/* refapi.c */
int64_t clock_ms(clockid_t id);
/* Adds one to a /_control/requests counts key. */
void count_add(struct app *a, const char *key);
int64_t mono_ms(void);

/* refapi_store.c: JSON helpers */
const char *json_str(const struct cJSON *obj, const char *name);
bool json_int(const struct cJSON *v, int64_t lo, int64_t hi, int64_t *out);
struct cJSON *json_parse_exact(const char *s, size_t n);
bool json_set(struct cJSON *obj, const char *name, struct cJSON *v);
void errors_add(struct cJSON *errors, const char *field, const char *msg);

/* refapi_store.c: tenants, clients, tokens */
extern const char *const ix_field[IX_MAX];
const char *tenant_intern(struct app *a, const char *name);
void client_free(struct client *cl);
struct client *client_find(struct app *a, const char *id);
int client_set(struct app *a, const char *id, const char *secret,
               const char *tenant, const char *const *scopes, size_t n_scopes);
unsigned scope_bit(const char *s, size_t n);
const char *scope_name(unsigned bit);
const struct token *token_issue(struct app *a, const char *tenant,
                                unsigned scopes);
enum token_state token_check(struct app *a, const char *auth,
                             const struct token **out);

/* refapi_store.c: records. Change c->fields only between ix_unlink()
 * and ix_link(). */
void ix_link(struct index *ix, struct customer *c);
void ix_unlink(struct index *ix, struct customer *c);
void customer_touch(struct app *a, struct customer *c);
struct customer *customer_add(struct app *a, const char *tenant,
                              struct cJSON *fields);
struct customer *customer_find(struct app *a, const char *id,
                               const char *tenant);
void customers_clear(struct app *a);
struct customer *customer_conflict(struct app *a, const char *tenant,
                                   const struct cJSON *fields,
                                   const struct customer *self,
                                   const char **field);
struct customer **customer_search(struct app *a, const char *tenant,
                                  const char *const *filters, size_t *n);
struct cJSON *customer_render(const struct customer *c, enum view v);
struct cJSON *customer_writable(const struct cJSON *body);
void customer_trim_address(struct cJSON *fields);
struct cJSON *customer_validate(const struct cJSON *in, struct cJSON *errors);

/* refapi_api.c */
extern const char *const route_names[ROUTE_MAX];
__attribute__((format(printf, 4, 5))) struct cJSON *
reply_problem(struct reply *r, unsigned status, const char *kind,
              const char *fmt, ...);
void reply_oom(struct reply *r);
const char *call_header(const struct call *c, const char *name);
enum route api_route(const char *url, const char **id);
void api_handle(struct call *c);
void control_handle(struct call *c);

/* refapi_api.c: shared by every profile's handlers. */
bool media_type_is(const char *ct, const char *want);
void reply_body(struct reply *r, unsigned status, struct cJSON *body);
bool method_is(const struct call *c, const char *m);
void not_allowed(struct call *c, const char *allow);
/* The body as a JSON object, or a 400 already in c->r. */
struct cJSON *parse_object(struct call *c);
/* Token check and scope (enum scope_bit); false with 401/403 set. Sets
 * c->tenant. */
bool authorize(struct call *c, unsigned need);
/* True (with 503/429 + Retry-After set) inside a disable_writes window. */
bool writes_disabled(struct call *c);
/* Answers c as /_control/script asked, when c is one of the requests
 * it scripted: true with c->r set. */
bool script_answer(struct call *c);
/* Counts c against /_control/quota's quota: true with a 429 and
 * Retry-After in c->r when it is used up. quota_headers then puts the
 * quota into the answer, whatever it is. */
bool quota_answer(struct call *c);
void quota_headers(struct call *c);
/* Forgets the script (reset, exit). */
void script_clear(struct app *a);
/* POST /oauth/token (client credentials). */
void handle_token(struct call *c);
/* A control's 200 JSON answer (b taken over; NULL answers 500). */
void control_ok(struct call *c, struct cJSON *b);
/* A control body's "tenant" (default "default"), interned; NULL when it
 * is not a non-empty string. */
const char *control_tenant(struct call *c, const struct cJSON *in);

#endif
