/* request.c — reading a request. MHD calls http_on_request as the request arrives: first the
 * headers (a request struct is made, X-Request-Id taken or given), then the body in pieces
 * (kept up to 1 MiB; past that it is drained and answered 413; routes flagged R_UPLOAD are routed
 * and checked as the headers arrive and their body goes to a file instead: upload.c), then once more with the request
 * whole: it is routed, and then run in place (short reads) or handed to a request thread (writes
 * and routes flagged R_LONG, queues.c). http_on_completed counts it, writes the access log line
 * and frees it. Also the accessors handlers use to read a request. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "http/internal.h"

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

lp_code lp_req_expected_version(lp_req *r, int64_t *version) {
  if (lp_req_if_match(r, version) != LP_OK) return r->err.code;
  json_t *v = json_object_get(r->json, "version");
  if (*version < 0 && json_is_integer(v)) *version = json_integer_value(v);
  return LP_OK;
}

int lp_req_want_csv(lp_req *r) {
  const char *f = lp_req_query(r, "format");
  if (f && strcmp(f, "csv") && strcmp(f, "json")) { lp_fail_field(&r->err, "format", "must be csv or json"); return -1; }
  return f && !strcmp(f, "csv");
}

void lp_reply_etag(lp_req *r, int64_t version) {
  char etag[32];
  snprintf(etag, sizeof etag, "\"%lld\"", (long long)version);
  lp_reply_header(r, "ETag", etag);
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

static atomic_ullong next_rid;

/* What http_on_uri hands MHD as the request's first context when the target is refused: static
 * markers, never freed (http_on_request turns them into a request with bad_uri set). */
static char uri_bad_marker, uri_long_marker;

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The request target as sent. MHD decodes %XX before handlers see the path, so an encoded NUL
 * would cut it ("/leads/5%00x" would read as "/leads/5"): a control byte (0x00-0x1F, 0x7F),
 * encoded or raw, in the path, or an encoded NUL anywhere in the target, is refused with 400;
 * a target longer than URI_MAX with 414 (both in the error shape). */
void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)cls, (void)conn;
  if (!uri) return NULL;
  size_t n = strlen(uri);
  if (n > URI_MAX) return &uri_long_marker;
  int in_path = 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)uri[i];
    if (c == '?') in_path = 0;
    if (c == '#') break;
    if (in_path && (c < 0x20 || c == 0x7f)) return &uri_bad_marker;
    if (c == '%' && i + 2 < n && hexval(uri[i + 1]) >= 0 && hexval(uri[i + 2]) >= 0) {
      int v = hexval(uri[i + 1]) * 16 + hexval(uri[i + 2]);
      if (v == 0 || (in_path && (v < 0x20 || v == 0x7f))) return &uri_bad_marker;
    }
  }
  return NULL;
}

/* Whether a routed request runs on a request thread (1, *q says which queue): writes, and reads
 * of routes flagged R_LONG (read from the route already matched: no look-up per request); or
 * here, on the connection's thread (0: short reads, errors found while routing, static files). */
static int queue_for(const lp_req *r, http_queue_kind *q) {
  if (r->failed || r->asset) return 0;
  if (http_is_read(r)) {
    *q = HTTP_READS;
    return (lp_routes[r->route].flags & R_LONG) != 0;
  }
  *q = HTTP_WRITES;
  return strcmp(r->method, "GET") && strcmp(r->method, "HEAD");
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  lp_req *r = *con_cls;
  int bad_uri = 0;
  if ((void *)r == &uri_bad_marker || (void *)r == &uri_long_marker) {
    bad_uri = (void *)r == &uri_bad_marker ? URI_BAD : URI_LONG;
    r = NULL;
  }
  if (r && r->ran) return http_answer(r);  /* a request back from its request thread */
  if (!r) {
    r = req_new();
    if (!r) return MHD_NO;
    r->app = cls;
    r->conn = conn;
    r->method = method;
    r->url = url;
    r->route = -1;
    r->bad_uri = bad_uri;
    r->t0 = http_mono();
    r->body = (lp_buf)LP_BUF_INIT(BODY_MAX + 1);
    r->err = (lp_err)LP_ERR_INIT;
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && strlen(rid) < sizeof r->rid && strspn(rid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == strlen(rid))
      snprintf(r->rid, sizeof r->rid, "%s", rid);
    else
      snprintf(r->rid, sizeof r->rid, "%x-%llx", (unsigned)getpid(), (unsigned long long)atomic_fetch_add(&next_rid, 1));
    http_metrics_in_flight(1);
    *con_cls = r;
    if (!bad_uri && !strcmp(method, "POST") && http_upload_begin(r)) {  /* a body streamed to a file (upload.c) */
      lp_store_release(r->app->store);  /* its checks may have read the database */
      return MHD_YES;
    }
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoll(cl, NULL, 10) > BODY_MAX) r->too_large = 1;
    *con_cls = r;
    return MHD_YES;
  }
  if (*upload_size) {
    if (r->routed) {
      http_upload_data(r, upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    if (!r->too_large && lp_buf_add(&r->body, upload, *upload_size) != 0) r->too_large = 1;
    *upload_size = 0;
    return MHD_YES;
  }
  if (!r->routed) http_route(r);
  http_queue_kind q;
  if (queue_for(r, &q) && http_queue(q, r)) return MHD_YES;
  if (!r->failed && !r->asset) http_run(r);
  enum MHD_Result m = http_answer(r);
  lp_store_release(r->app->store);  /* PostgreSQL: the connection goes back to the pool */
  return m;
}

void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
  lp_req *r = *con_cls;
  if (!r || (void *)r == &uri_bad_marker || (void *)r == &uri_long_marker) { *con_cls = NULL; return; }
  lp_app *app = cls;
  double dt = http_mono() - r->t0;
  int ri = r->route < 0 ? ROUTE_NONE : r->route;
  http_metrics_request(ri, r->status, dt);
  if (app->access_log) {
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:f, s:I}", "ts", ts, "rid", r->rid, "method", r->method,
                             "path", r->url, "route", http_route_label(ri), "status", r->status, "ms", dt * 1000.0,
                             "user", (json_int_t)(r->authed ? r->actor.id : 0));
    if (r->err.code != LP_OK) json_object_set_new(line, "error", json_string(lp_code_name(r->err.code)));
    char *s = json_dumps(line, JSON_COMPACT);
    if (s) { fprintf(stderr, "%s\n", s); free(s); }
    json_decref(line);
  }
  if (r->stream_free) r->stream_free(r->stream_state);  /* a stream never handed to MHD */
  http_upload_end(r);
  json_decref(r->json);
  json_decref(r->out);
  free(r->raw);
  lp_buf_release(&r->body);
  lp_err_release(&r->err);
  req_free(r);
  *con_cls = NULL;
  http_metrics_in_flight(-1);
}
