/* dispatch.c — routing and running a request. http_route finds the route in the table
 * (routes.c) once, on the connection's thread; its flags then say where the request runs (see
 * request.c) and what it needs. http_run authenticates (bearer token, or cookie + X-CSRF-Token
 * for writes), decodes the JSON body (400/415), honours Idempotency-Key and calls the handler,
 * a reading request inside one read transaction. It sends nothing, so it may run on a request
 * thread while the connection is suspended. */
#include <string.h>
#include <strings.h>
#include "http/auth.h"
#include "http/internal.h"
#include "store/leads.h"
#include "store/rows.h"

/* Matches url against pattern; fills ids and param. */
static int match(const char *pattern, const char *url, lp_req *r) {
  int nid = 0;
  const char *p = pattern, *u = url;
  while (*p && *u) {
    if (*p == '{') {
      const char *pe = strchr(p, '}');
      const char *ue = strchr(u, '/');
      if (!ue) ue = u + strlen(u);
      if (!strncmp(p, "{id}", 4)) {  /* digits, which a literal may follow ("{id}.pdf") */
        ue = u;
        while (*ue >= '0' && *ue <= '9') ue++;
      }
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

int http_route_index(lp_req *r) {
  int path_matched;
  return find_route(r, &path_matched);
}

void http_route(lp_req *r) {
  if (r->bad_uri) {
    r->route = ROUTE_NONE;
    if (r->bad_uri == URI_LONG) lp_fail(&r->err, LP_EURILONG, "The URL is longer than %d bytes", URI_MAX);
    else lp_fail(&r->err, LP_EBADREQ, "The URL holds a control character (such as an encoded NUL) that has no place in it");
    r->failed = 1;
    return;
  }
  if (strncmp(r->url, "/api/", 5) && strncmp(r->url, "/public/", 8) && strcmp(r->url, "/healthz") &&
      strcmp(r->url, "/readyz") && strcmp(r->url, "/metrics")) {
    r->route = ROUTE_STATIC;
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
      lp_fail(&r->err, LP_EMETHOD, "Only GET is allowed here");
      r->failed = 1;
      return;
    }
    r->asset = 1;
    return;
  }
  if (strcmp(r->url, "/api/v1/openapi.yaml") == 0) { r->route = ROUTE_STATIC; r->asset = 1; return; }
  int path_matched;
  int ri = find_route(r, &path_matched);
  r->route = ri >= 0 ? ri : ROUTE_NONE;
  if (ri < 0) {
    if (path_matched) lp_fail(&r->err, LP_EMETHOD, "Method %s is not allowed on %s", r->method, r->url);
    else lp_fail(&r->err, LP_ENOTFOUND, "No such endpoint: %s %s", r->method, r->url);
    r->failed = 1;
    return;
  }
  if (r->too_large) {
    lp_fail(&r->err, LP_ETOOLARGE, "The request body is larger than 1 MiB");
    r->failed = 1;
    return;
  }
}

static int is_json_type(const char *ct) {
  if (!ct) return 0;
  while (*ct == ' ') ct++;
  return !strncasecmp(ct, "application/json", 16) || !strncasecmp(ct, "application/merge-patch+json", 28);
}

/* Runs a routed request: authentication, decoding, the handler. Leaves the answer in r (or the
 * error in r->err, r->failed set). */
static void run(lp_req *r) {
  r->now = r->app->clock();
  const lp_route *rt = &lp_routes[r->route];
  int writes = strcmp(r->method, "GET") && strcmp(r->method, "HEAD");
  if (!(rt->flags & R_PUBLIC) && !r->authed) {  /* an upload was authenticated as its headers came */
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

int http_is_read(const lp_req *r) {
  return (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) && (!strncmp(r->url, "/api/", 5) || !strcmp(r->url, "/readyz"));
}

/* run(), with a reading request inside one read transaction: one consistent snapshot, and one
 * lock round trip instead of one per statement. Writing requests must see their own commit, so
 * they read outside one. */
void http_run(lp_req *r) {
  if (!http_is_read(r)) {
    run(r);
    return;
  }
  lp_err e = LP_ERR_INIT;
  /* A search sees every acknowledged write: on routes flagged R_SEARCH, bring the batched search
   * index up to date first, before this request's snapshot is taken. (While the index is rebuilt
   * the list answers 503.) */
  if ((lp_routes[r->route].flags & R_SEARCH) && lp_req_query(r, "q")) {
    lp_lead_index_sync(r->app->store, LP_SEARCH_WAIT_MS, &e);
    lp_err_release(&e);
  }
  lp_db *db = lp_store_reader(r->app->store, &e);
  int begun = db && lp_read_begin(db, &e) == LP_OK;
  lp_err_release(&e);
  run(r);
  if (begun) lp_read_end(db);
}
