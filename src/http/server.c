/* server.c — the HTTP server on libmicrohttpd.
 *
 * One epoll thread pool serves every connection. A request is read whole (up to 1 MiB, past
 * that it is drained and answered 413), then routed: the route table (routes.c) gives the
 * handler and its flags; authentication, the CSRF check, JSON decoding and Idempotency-Key are
 * done here once, so handlers see a ready lp_req. Every error leaves through send_error() in
 * the contract's shape. Every request is counted and timed for /metrics and, unless disabled,
 * logged as one JSON line on stderr.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "http/assets.h"
#include "http/auth.h"
#include "http/http.h"
#include "store/leads.h"
#include "store/rows.h"

#define BODY_MAX (1 << 20)
#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/* ---------------------------------------------------------------- metrics */

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof buckets / sizeof *buckets)
#define MAX_ROUTES 256
typedef struct {
  atomic_ullong count[6];            /* by status class 1xx..5xx (index 1..5) */
  atomic_ullong bucket[NBUCKETS + 1];
  atomic_ullong sum_us;
} route_stats;
static route_stats stats[MAX_ROUTES + 2];  /* + static assets + unmatched */
static atomic_ullong errors_by_code[LP_CODE_COUNT];
static atomic_ullong next_rid;
static atomic_int in_flight;

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *route_label(int i) {
  if (i >= 0 && i < lp_routes_count) return lp_routes[i].name;
  return i == MAX_ROUTES ? "static" : "unmatched";
}

char *lp_http_metrics(lp_store *store) {
  lp_buf b = LP_BUF_INIT(8 << 20);
  lp_store_stats st;
  lp_store_get_stats(store, &st);
  lp_buf_printf(&b, "# HELP leadpath_store_commits_total Write transactions committed (each one fsync).\n"
                    "# TYPE leadpath_store_commits_total counter\nleadpath_store_commits_total %llu\n"
                    "# HELP leadpath_store_writes_total Writes carried by those commits (group commit).\n"
                    "# TYPE leadpath_store_writes_total counter\nleadpath_store_writes_total %llu\n"
                    "# HELP leadpath_store_commit_seconds_total Time spent committing.\n"
                    "# TYPE leadpath_store_commit_seconds_total counter\nleadpath_store_commit_seconds_total %.6f\n"
                    "# HELP leadpath_store_commit_failures_total Commits that failed.\n"
                    "# TYPE leadpath_store_commit_failures_total counter\nleadpath_store_commit_failures_total %llu\n",
                st.commits, st.writes, st.commit_us / 1e6, st.failed);
  lp_buf_puts(&b, "# HELP leadpath_http_requests_total HTTP requests by route and status class.\n"
                  "# TYPE leadpath_http_requests_total counter\n");
  for (int i = 0; i < MAX_ROUTES + 2; i++) {
    if (i >= lp_routes_count && i < MAX_ROUTES) continue;
    for (int c = 1; c <= 5; c++) {
      unsigned long long n = atomic_load(&stats[i].count[c]);
      if (n) lp_buf_printf(&b, "leadpath_http_requests_total{route=\"%s\",status=\"%dxx\"} %llu\n", route_label(i), c, n);
    }
  }
  lp_buf_puts(&b, "# HELP leadpath_http_request_duration_seconds Time to answer, by route.\n"
                  "# TYPE leadpath_http_request_duration_seconds histogram\n");
  for (int i = 0; i < MAX_ROUTES + 2; i++) {
    if (i >= lp_routes_count && i < MAX_ROUTES) continue;
    unsigned long long total = 0;
    for (int c = 1; c <= 5; c++) total += atomic_load(&stats[i].count[c]);
    if (!total) continue;
    unsigned long long cum = 0;
    for (size_t k = 0; k < NBUCKETS; k++) {
      cum += atomic_load(&stats[i].bucket[k]);
      lp_buf_printf(&b, "leadpath_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", route_label(i), buckets[k], cum);
    }
    lp_buf_printf(&b, "leadpath_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", route_label(i), total);
    lp_buf_printf(&b, "leadpath_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(i), atomic_load(&stats[i].sum_us) / 1e6);
    lp_buf_printf(&b, "leadpath_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_label(i), total);
  }
  lp_buf_puts(&b, "# HELP leadpath_http_errors_total Error answers by contract code.\n# TYPE leadpath_http_errors_total counter\n");
  for (int c = 1; c < LP_CODE_COUNT; c++) {
    /* Codes that share a contract name (405 is bad_request) are one series. */
    int first = 1;
    for (int d = 1; d < c; d++) if (!strcmp(lp_code_name((lp_code)d), lp_code_name((lp_code)c))) first = 0;
    if (!first) continue;
    unsigned long long n = 0;
    for (int d = c; d < LP_CODE_COUNT; d++)
      if (!strcmp(lp_code_name((lp_code)d), lp_code_name((lp_code)c))) n += atomic_load(&errors_by_code[d]);
    lp_buf_printf(&b, "leadpath_http_errors_total{code=\"%s\"} %llu\n", lp_code_name((lp_code)c), n);
  }
  lp_buf_printf(&b, "# HELP leadpath_http_in_flight Requests being answered now.\n# TYPE leadpath_http_in_flight gauge\n"
                    "leadpath_http_in_flight %d\n", atomic_load(&in_flight));
  return lp_buf_detach(&b);
}

/* ---------------------------------------------------------------- request helpers */

const char *lp_req_query(lp_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}
const char *lp_req_header(lp_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
int lp_req_flag(lp_req *r, const char *name) {
  const char *v = lp_req_query(r, name);
  return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}
lp_store *lp_req_store(lp_req *r) { return r->app->store; }
lp_db *lp_req_db(lp_req *r) { return lp_store_reader(r->app->store, &r->err); }

lp_code lp_req_if_match(lp_req *r, int64_t *version) {
  *version = -1;
  const char *h = lp_req_header(r, "If-Match");
  if (!h) return LP_OK;
  while (*h == ' ' || *h == 'W' || *h == '/' || *h == '"') h++;
  char *end;
  long long v = strtoll(h, &end, 10);
  if (end == h || v < 0) return lp_fail(&r->err, LP_EBADREQ, "If-Match must be a version number");
  *version = v;
  return LP_OK;
}

lp_code lp_reply_items(lp_req *r, json_t *rows, json_t *(*present)(json_t *row)) {
  if (!rows) return r->err.code;
  json_t *items = json_array();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) json_array_append_new(items, present(row));
  json_decref(rows);
  return lp_reply(r, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
}

lp_code lp_reply(lp_req *r, int status, json_t *body) {
  if (r->out) json_decref(r->out);
  r->status = status;
  r->out = body;
  return LP_OK;
}

void lp_reply_header(lp_req *r, const char *name, const char *value) {
  if (r->nheaders >= 4) return;
  snprintf(r->headers[r->nheaders][0], 256, "%s", name);
  snprintf(r->headers[r->nheaders][1], 256, "%s", value);
  r->nheaders++;
}

lp_code lp_reply_stream(lp_req *r, int status, const char *ctype, long (*fill)(void *state, char *buf, size_t max),
                        void *state, void (*free_fn)(void *state)) {
  r->status = status;
  r->ctype = ctype;
  r->stream = fill;
  r->stream_state = state;
  r->stream_free = free_fn;
  return LP_OK;
}

/* A streamed answer belongs to MHD once queued: it may outlive the request's own struct. */
typedef struct { long (*fill)(void *, char *, size_t); void *state; void (*free_fn)(void *); } stream_t;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  stream_t *st = cls;
  long n = st->fill(st->state, buf, max);
  if (n > 0) return (ssize_t)n;
  return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_done(void *cls) {
  stream_t *st = cls;
  if (st->free_fn) st->free_fn(st->state);
  free(st);
}

lp_code lp_reply_raw(lp_req *r, int status, const char *ctype, char *data, size_t len) {
  free(r->raw);
  r->status = status;
  r->raw = data;
  r->raw_len = len;
  r->ctype = ctype;
  return LP_OK;
}

/* ---------------------------------------------------------------- answering */

static void common_headers(struct MHD_Response *resp, lp_req *r) {
  MHD_add_response_header(resp, "X-Request-Id", r->rid);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Content-Security-Policy", CSP);
  for (int i = 0; i < r->nheaders; i++) MHD_add_response_header(resp, r->headers[i][0], r->headers[i][1]);
}

static enum MHD_Result send_buf(lp_req *r, int status, const char *ctype, void *data, size_t len, enum MHD_ResponseMemoryMode mode) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, mode);
  if (!resp) return MHD_NO;
  if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
  common_headers(resp, r);
  r->status = status;
  enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static enum MHD_Result send_json(lp_req *r, int status, json_t *body) {
  char *s = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
  if (!s) s = strdup("{}");
  return send_buf(r, status, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_error(lp_req *r) {
  lp_code c = r->err.code == LP_OK ? LP_EINTERNAL : r->err.code;
  if (c < LP_CODE_COUNT) atomic_fetch_add(&errors_by_code[c], 1);
  json_t *e = json_pack("{s:s, s:s}", "code", lp_code_name(c), "message",
                        r->err.message[0] ? r->err.message : lp_code_message(c));
  if (r->err.fields) json_object_set(e, "fields", r->err.fields);
  json_t *body = json_pack("{s:o}", "error", e);
  if (c == LP_EUNAUTH) lp_reply_header(r, "WWW-Authenticate", "Bearer");
  if (c == LP_ERATE) lp_reply_header(r, "Retry-After", "60");
  enum MHD_Result rc = send_json(r, lp_code_status(c), body);
  json_decref(body);
  return rc;
}

/* ---------------------------------------------------------------- routing */

/* Matches url against pattern; fills ids and param. */
static int match(const char *pattern, const char *url, lp_req *r) {
  int nid = 0;
  const char *p = pattern, *u = url;
  while (*p && *u) {
    if (*p == '{') {
      const char *pe = strchr(p, '}');
      const char *ue = strchr(u, '/');
      if (!ue) ue = u + strlen(u);
      if (ue == u) return 0;
      if (!strncmp(p, "{id}", 4)) {
        int64_t v = 0;
        for (const char *q = u; q < ue; q++) {
          if (*q < '0' || *q > '9' || v > 100000000000000LL) return 0;
          v = v * 10 + (*q - '0');
        }
        if (nid < 4) r->ids[nid++] = v;
      } else {
        size_t n = (size_t)(ue - u);
        if (n >= sizeof r->param_buf) return 0;
        memcpy(r->param_buf, u, n);
        r->param_buf[n] = 0;
        r->param = r->param_buf;
      }
      p = pe + 1;
      u = ue;
      continue;
    }
    if (*p != *u) return 0;
    p++, u++;
  }
  return !*p && (!*u || (u[0] == '/' && !u[1]));
}

static int find_route(lp_req *r, int *path_matched) {
  *path_matched = 0;
  for (int i = 0; i < lp_routes_count; i++) {
    if (!match(lp_routes[i].pattern, r->url, r)) continue;
    *path_matched = 1;
    if (!strcmp(lp_routes[i].method, r->method) || (!strcmp(r->method, "HEAD") && !strcmp(lp_routes[i].method, "GET")))
      return i;
  }
  return -1;
}

/* ---------------------------------------------------------------- static assets */

static const lp_asset *find_asset(const char *path) {
  size_t lo = 0, hi = lp_assets_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(lp_assets[mid].path, path);
    if (!c) return &lp_assets[mid];
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

static enum MHD_Result send_asset(lp_req *r) {
  const char *path = r->url;
  const lp_asset *a = find_asset(!strcmp(path, "/") ? "/index.html" : path);
  if (!a && !strchr(strrchr(path, '/') ? strrchr(path, '/') : path, '.')) a = find_asset("/index.html");
  if (!a) {
    lp_fail(&r->err, LP_ENOTFOUND, "No such page");
    return send_error(r);
  }
  const char *inm = lp_req_header(r, "If-None-Match");
  int gz = 0;
  const char *ae = lp_req_header(r, "Accept-Encoding");
  if (ae && strstr(ae, "gzip") && a->gz_len < a->len) gz = 1;
  struct MHD_Response *resp;
  int status = 200;
  if (inm && !strcmp(inm, a->etag)) {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    status = 304;
  } else {
    resp = MHD_create_response_from_buffer(gz ? a->gz_len : a->len, (void *)(gz ? a->gz : a->data), MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", a->content_type);
    if (gz) MHD_add_response_header(resp, "Content-Encoding", "gzip");
  }
  MHD_add_response_header(resp, "ETag", a->etag);
  MHD_add_response_header(resp, "Vary", "Accept-Encoding");
  MHD_add_response_header(resp, "Cache-Control", strncmp(a->path, "/vendor/", 8) ? "no-cache" : "public, max-age=86400");
  common_headers(resp, r);
  r->status = status;
  enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return rc;
}

/* ---------------------------------------------------------------- dispatch */

static int is_json_type(const char *ct) {
  if (!ct) return 0;
  while (*ct == ' ') ct++;
  return !strncasecmp(ct, "application/json", 16) || !strncasecmp(ct, "application/merge-patch+json", 28);
}

/* Runs a request: routing, authentication, decoding, the handler. Leaves the answer in r (or
 * the error in r->err, r->failed set) for answer() to send. Reads the request from MHD but
 * sends nothing, so it may run on another thread while the connection is suspended. */
static void run(lp_req *r) {
  lp_app *app = r->app;
  r->now = app->clock();
  if (strncmp(r->url, "/api/", 5) && strncmp(r->url, "/public/", 8) && strcmp(r->url, "/healthz") &&
      strcmp(r->url, "/readyz") && strcmp(r->url, "/metrics")) {
    r->route = MAX_ROUTES;
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
      lp_fail(&r->err, LP_EMETHOD, "Only GET is allowed here");
      r->failed = 1;
      return;
    }
    r->asset = 1;
    return;
  }
  if (strcmp(r->url, "/api/v1/openapi.yaml") == 0) { r->route = MAX_ROUTES; r->asset = 1; return; }
  int path_matched;
  int ri = find_route(r, &path_matched);
  r->route = ri >= 0 ? ri : MAX_ROUTES + 1;
  if (ri < 0) {
    if (path_matched) lp_fail(&r->err, LP_EMETHOD, "Method %s is not allowed on %s", r->method, r->url);
    else lp_fail(&r->err, LP_ENOTFOUND, "No such endpoint: %s %s", r->method, r->url);
    r->failed = 1;
    return;
  }
  const lp_route *rt = &lp_routes[ri];
  if (r->too_large) {
    lp_fail(&r->err, LP_ETOOLARGE, "The request body is larger than 1 MiB");
    r->failed = 1;
    return;
  }
  int writes = strcmp(r->method, "GET") && strcmp(r->method, "HEAD");
  if (!(rt->flags & R_PUBLIC)) {
    if (lp_auth_request(r) != LP_OK) { r->failed = 1; return; }
    if (writes && r->cookie_auth) {
      const char *tok = lp_req_header(r, "X-CSRF-Token");
      if (!tok || !lp_auth_csrf_ok(r, tok)) {
        lp_fail(&r->err, LP_EFORBIDDEN, "Missing or wrong X-CSRF-Token header");
        r->failed = 1;
        return;
      }
    }
  }
  if (rt->flags & R_BODY) {
    if (r->body.len == 0) {
      r->json = json_object();  /* an empty body reads as {} */
    } else {
      if (!is_json_type(lp_req_header(r, "Content-Type"))) {
        lp_fail(&r->err, LP_EMEDIA, "Send JSON with Content-Type: application/json");
        r->failed = 1;
        return;
      }
      json_error_t je;
      r->json = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
      if (!r->json) {
        lp_fail(&r->err, LP_EBADREQ, "Malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
        r->failed = 1;
        return;
      }
    }
  }
  const char *idem = (rt->flags & R_IDEM) ? lp_req_header(r, "Idempotency-Key") : NULL;
  lp_code rc;
  if (idem) {
    int replayed = 0;
    rc = lp_idem_begin(r, idem, &replayed);
    if (rc == LP_OK && !replayed) {
      rc = rt->handler(r);
      lp_idem_end(r, idem, rc);
    }
  } else {
    rc = rt->handler(r);
  }
  if (rc != LP_OK) {
    if (r->err.code == LP_OK) lp_fail(&r->err, rc, NULL);
    r->failed = 1;
  }
}

/* Sends what run() left in r; on the connection's own thread. */
static enum MHD_Result answer(lp_req *r) {
  if (r->asset) return send_asset(r);
  if (r->failed) return send_error(r);
  if (r->stream) {
    stream_t *st = malloc(sizeof *st);
    if (!st) return MHD_NO;
    *st = (stream_t){r->stream, r->stream_state, r->stream_free};
    r->stream_state = NULL;
    r->stream_free = NULL;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, st, stream_done);
    if (!resp) { stream_done(st); return MHD_NO; }
    if (r->ctype) MHD_add_response_header(resp, "Content-Type", r->ctype);
    common_headers(resp, r);
    enum MHD_Result m = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return m;
  }
  if (r->raw) {
    enum MHD_Result m = send_buf(r, r->status ? r->status : 200, r->ctype, r->raw, r->raw_len,
                                 r->raw_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    r->raw = NULL;
    return m;
  }
  if (r->status == 204) return send_buf(r, 204, NULL, (void *)"", 0, MHD_RESPMEM_PERSISTENT);
  return send_json(r, r->status ? r->status : 200, r->out ? r->out : json_object());
}

static int is_read(const lp_req *r) {
  return (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) && (!strncmp(r->url, "/api/", 5) || !strcmp(r->url, "/readyz"));
}

/* Reads that may take a while: lists, searches, the dashboard, timelines, exports. */
static int long_read(const lp_req *r) {
  static const char *const lists[] = {"/api/v1/leads", "/api/v1/tasks", "/api/v1/events", "/api/v1/dashboard",
                                      "/api/v1/export/leads", "/api/v1/notifications", "/api/v1/approvals"};
  for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) if (!strcmp(r->url, lists[i])) return 1;
  size_t n = strlen(r->url);
  return n > 9 && !strcmp(r->url + n - 9, "/timeline");
}

/* run(), with a reading request inside one read transaction: one consistent snapshot, and one
 * lock round trip instead of one per statement. Writing requests must see their own commit, so
 * they read outside one. */
static void run_request(lp_req *r) {
  if (!is_read(r)) {
    run(r);
    return;
  }
  lp_err e = LP_ERR_INIT;
  /* A search sees every acknowledged write: bring the batched search index up to date first,
   * before this request's snapshot is taken. (While the index is rebuilt the list answers 503.) */
  if ((!strcmp(r->url, "/api/v1/leads") || !strcmp(r->url, "/api/v1/export/leads")) && lp_req_query(r, "q")) {
    lp_lead_index_sync(r->app->store, LP_SEARCH_WAIT_MS, &e);
    lp_err_release(&e);
  }
  lp_db *db = lp_store_reader(r->app->store, &e);
  int begun = db && lp_read_begin(db, &e) == LP_OK;
  lp_err_release(&e);
  run(r);
  if (begun) lp_read_end(db);
}

/* ---------------------------------------------------------------- request threads
 * A request that writes waits for its group commit (a millisecond or so). On an HTTP thread
 * that wait would hold up every other connection the thread serves, and the thread pool shares
 * one listening socket, so whichever thread wakes first accepts a burst of connections: commits
 * then batch only as many writes as the threads that happen to hold connections (measured with
 * 64 connections: 2-9 writes per commit, sometimes 1-2 for a whole run at half the throughput).
 * A long read (a list page, a search) holds up the connections behind it the same way. So such
 * a request's connection is suspended, the request runs on a thread of a queue, in the order
 * requests came, and its answer is sent from the connection's own thread once it is resumed:
 * - writes: --threads threads (a commit carries every write waiting in them);
 * - long reads: two per core. Few threads run each page to the end in turn instead of slicing
 *   the cores between dozens of half-done pages: with 64 clients in flight, list p99 12 ms
 *   instead of 30 (p90 10 instead of 17) at the same pages per second.
 * Short reads (one lead, a static file) are answered in place: the hand-over would cost more
 * than they do. */
typedef struct rqueue {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lp_req *head, *tail;
  int stopping, n;
  pthread_t *th;
} rqueue;
static rqueue writes_q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, NULL};
static rqueue reads_q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, NULL};

static void *request_thread(void *arg) {
  rqueue *q = arg;
  prctl(PR_SET_NAME, q == &writes_q ? "lp-write" : "lp-read");  /* named in top -H and perf */
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
    lp_req *r = q->head;
    if (!r) break;  /* stopping, and nothing left */
    q->head = r->next_job;
    if (!q->head) q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    run_request(r);
    lp_store_release(r->app->store);  /* PostgreSQL: the connection goes back to the pool */
    r->ran = 1;
    MHD_resume_connection(r->conn);   /* MHD calls on_request again, which answers */
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

/* Suspends r's connection and queues r for a thread of q; 0 when they are stopping (the caller
 * runs r itself). */
static int queue_request(rqueue *q, lp_req *r) {
  pthread_mutex_lock(&q->mu);
  if (q->stopping || !q->n) {
    pthread_mutex_unlock(&q->mu);
    return 0;
  }
  MHD_suspend_connection(r->conn);
  r->next_job = NULL;
  if (q->tail) q->tail->next_job = r; else q->head = r;
  q->tail = r;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  return 1;
}

static int rq_start(rqueue *q, int n) {
  q->th = calloc((size_t)n, sizeof *q->th);
  if (!q->th) return -1;
  q->stopping = 0;
  for (q->n = 0; q->n < n; q->n++)
    if (pthread_create(&q->th[q->n], NULL, request_thread, q) != 0) break;
  return q->n ? 0 : -1;
}

/* Lets the threads finish what is queued (resuming those connections), then joins them. */
static void rq_stop(rqueue *q) {
  pthread_mutex_lock(&q->mu);
  q->stopping = 1;
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
  for (int i = 0; i < q->n; i++) pthread_join(q->th[i], NULL);
  free(q->th);
  q->th = NULL;
  q->n = 0;
}

/* A request's struct is 3 KB, past malloc's per-thread cache, and took ~4,500 instructions of
 * malloc per request: each HTTP thread keeps the last one it freed for its next request (freed
 * with the thread). */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static void spare_init(void) { pthread_key_create(&spare_key, free); }

static lp_req *req_new(void) {
  pthread_once(&spare_once, spare_init);
  lp_req *r = pthread_getspecific(spare_key);
  if (!r) return calloc(1, sizeof *r);
  pthread_setspecific(spare_key, NULL);
  memset(r, 0, sizeof *r);
  return r;
}

static void req_free(lp_req *r) {
  pthread_once(&spare_once, spare_init);
  if (pthread_getspecific(spare_key) || pthread_setspecific(spare_key, r) != 0) free(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  lp_req *r = *con_cls;
  if (r && r->ran) return answer(r);  /* a request back from its request thread */
  if (!r) {
    r = req_new();
    if (!r) return MHD_NO;
    r->app = cls;
    r->conn = conn;
    r->method = method;
    r->url = url;
    r->route = -1;
    r->t0 = mono();
    r->body = (lp_buf)LP_BUF_INIT(BODY_MAX + 1);
    r->err = (lp_err)LP_ERR_INIT;
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && strlen(rid) < sizeof r->rid && strspn(rid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == strlen(rid))
      snprintf(r->rid, sizeof r->rid, "%s", rid);
    else
      snprintf(r->rid, sizeof r->rid, "%x-%llx", (unsigned)getpid(), (unsigned long long)atomic_fetch_add(&next_rid, 1));
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoll(cl, NULL, 10) > BODY_MAX) r->too_large = 1;
    atomic_fetch_add(&in_flight, 1);
    *con_cls = r;
    return MHD_YES;
  }
  if (*upload_size) {
    if (!r->too_large && lp_buf_add(&r->body, upload, *upload_size) != 0) r->too_large = 1;
    *upload_size = 0;
    return MHD_YES;
  }
  int read = is_read(r);
  if (read ? long_read(r) && queue_request(&reads_q, r)
           : (!strncmp(url, "/api/", 5) || !strncmp(url, "/public/", 8)) && queue_request(&writes_q, r))
    return MHD_YES;
  run_request(r);
  enum MHD_Result m = answer(r);
  lp_store_release(r->app->store);  /* PostgreSQL: the connection goes back to the pool */
  return m;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
  lp_req *r = *con_cls;
  if (!r) return;
  lp_app *app = cls;
  double dt = mono() - r->t0;
  int ri = r->route < 0 ? MAX_ROUTES + 1 : r->route;
  int cls_ = r->status / 100;
  if (cls_ < 1 || cls_ > 5) cls_ = 5;
  atomic_fetch_add(&stats[ri].count[cls_], 1);
  size_t k = 0;
  while (k < NBUCKETS && dt > buckets[k]) k++;
  atomic_fetch_add(&stats[ri].bucket[k], 1);
  atomic_fetch_add(&stats[ri].sum_us, (unsigned long long)(dt * 1e6));
  if (app->access_log) {
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:f, s:I}", "ts", ts, "rid", r->rid, "method", r->method,
                             "path", r->url, "route", route_label(ri), "status", r->status, "ms", dt * 1000.0,
                             "user", (json_int_t)(r->authed ? r->actor.id : 0));
    if (r->err.code != LP_OK) json_object_set_new(line, "error", json_string(lp_code_name(r->err.code)));
    char *s = json_dumps(line, JSON_COMPACT);
    if (s) { fprintf(stderr, "%s\n", s); free(s); }
    json_decref(line);
  }
  if (r->stream_free) r->stream_free(r->stream_state);  /* a stream never handed to MHD */
  json_decref(r->json);
  json_decref(r->out);
  free(r->raw);
  lp_buf_release(&r->body);
  lp_err_release(&r->err);
  req_free(r);
  *con_cls = NULL;
  atomic_fetch_sub(&in_flight, 1);
}

int lp_http_serve(lp_app *app, const char *listen, lp_err *err) {
  char host[128] = "127.0.0.1";
  int port = 8080;
  const char *colon = strrchr(listen, ':');
  if (colon) {
    size_t n = (size_t)(colon - listen);
    if (n >= sizeof host) return lp_fail(err, LP_EBADREQ, "bad listen address %s", listen);
    if (n) { memcpy(host, listen, n); host[n] = 0; }
    port = (int)strtol(colon + 1, NULL, 10);
  }
  if (port <= 0 || port > 65535) return lp_fail(err, LP_EBADREQ, "bad port in %s", listen);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return lp_fail(err, LP_EBADREQ, "bad IPv4 address %s", host);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* A port already served by another process is refused with a clear message (MHD's own
   * failure would only say it cannot listen). */
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  if (probe < 0) return lp_fail(err, LP_EUNAVAILABLE, "cannot open a socket");
  int one = 1;  /* SO_REUSEADDR: connections of an earlier run in TIME_WAIT do not count */
  setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int taken = bind(probe, (struct sockaddr *)&sa, sizeof sa) != 0;
  close(probe);
  if (taken) return lp_fail(err, LP_EUNAVAILABLE, "cannot listen on %s:%d: the address is in use", host, port);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (rq_start(&writes_q, app->threads) != 0 || rq_start(&reads_q, cores > 2 ? 2 * (int)cores : 4) != 0) {
    rq_stop(&writes_q);
    rq_stop(&reads_q);
    return lp_fail(err, LP_EUNAVAILABLE, "cannot start the request threads");
  }
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, on_request, app,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)app->threads,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
  if (!d) {
    rq_stop(&writes_q);
    rq_stop(&reads_q);
    return lp_fail(err, LP_EUNAVAILABLE, "cannot listen on %s:%d", host, port);
  }
  fprintf(stderr, "{\"msg\":\"listening\",\"addr\":\"http://%s:%d\",\"threads\":%d}\n", host, port, app->threads);
  int sig = 0;
  sigwait(&set, &sig);
  fprintf(stderr, "{\"msg\":\"draining\",\"signal\":%d}\n", sig);
  MHD_quiesce_daemon(d);
  double until = mono() + 10;
  while (atomic_load(&in_flight) > 0 && mono() < until) usleep(10000);
  rq_stop(&writes_q);
  rq_stop(&reads_q);
  MHD_stop_daemon(d);
  fprintf(stderr, "{\"msg\":\"stopped\"}\n");
  return LP_OK;
}
