/* http.h — the HTTP front-end: the request a handler sees, the route table, the helpers
 * that read a request and answer it. Handlers live in src/http/routes/<resource>.c, hold no
 * business rules (those are in lib/core) and answer either a JSON body or an lp_err. */
#ifndef LP_HTTP_H
#define LP_HTTP_H
#include <jansson.h>
#include <stdint.h>
#include "core/policy.h"
#include "leadpath/error.h"
#include "store/db.h"
#include "util/buf.h"
#include "util/csv.h"

struct MHD_Connection;

/* A request body streamed to a file as it arrives (routes flagged R_UPLOAD; src/http/upload.c):
 * never held in memory. The handler finds the file written and checked as CSV text; it calls
 * lp_upload_keep to take the file over (moved to its final name), otherwise the file is removed
 * when the request ends. */
typedef struct lp_upload {
  int fd;                      /* open for writing until lp_upload_keep (-1 after) */
  char path[1024];             /* where the file is now */
  int64_t size;                /* bytes received */
  lp_csv_scan scan;            /* records counted, text checked, as the bytes arrive */
  lp_buf head;                 /* the first bytes (up to LP_UPLOAD_HEAD), for the header and a preview */
  void *digest;                /* BLAKE2b of the body so far (Idempotency-Key compares bodies) */
  int kept;                    /* set by the handler once the file is recorded: it stays */
} lp_upload;
#define LP_UPLOAD_HEAD (256 * 1024)
typedef struct lp_app lp_app;

typedef struct lp_req {
  lp_app *app;
  struct MHD_Connection *conn;
  const char *method, *url;
  char rid[32];                /* request id, echoed as X-Request-Id */
  int64_t ids[4];              /* numeric path parameters, in order */
  const char *param;           /* a non-numeric path parameter ({key}), if any */
  char param_buf[128];
  lp_buf body;
  int too_large;
  int bad_uri;                 /* URI_BAD / URI_LONG: refused before routing (request.c) */
  json_t *json;                /* the parsed body (JSON routes) */
  int authed, cookie_auth;
  lp_actor actor;
  int64_t now;                 /* the request's time: every rule sees this one */
  int route;                   /* index in the route table, -1 if none */
  double t0;
  /* answer */
  int status;
  json_t *out;                 /* JSON answer (owned) */
  char *raw; size_t raw_len;   /* or a raw answer (owned unless raw_static) */
  int raw_static;
  const char *ctype;
  long (*stream)(void *state, char *buf, size_t max);  /* or a streamed answer: bytes, 0 = end, -1 = error */
  void *stream_state;
  void (*stream_free)(void *state);
  char headers[4][2][256];     /* extra answer headers */
  int nheaders;
  lp_err err;
  /* run state (dispatch.c, request.c, queues.c) */
  int failed, asset, ran;      /* the answer is an error / a static asset; ran on a request thread */
  struct lp_req *next_job;     /* queue of a request thread pool */
  int routed;                  /* routed already, as its headers arrived (an upload) */
  lp_upload *upload;           /* R_UPLOAD: the body's file (owned; freed when the request ends) */
} lp_req;

typedef lp_code (*lp_handler)(lp_req *r);

enum {
  R_PUBLIC = 1,    /* no authentication */
  R_BODY = 2,      /* expects a JSON body */
  R_IDEM = 4,      /* honours Idempotency-Key */
  R_RAWBODY = 8,   /* takes a non-JSON body (CSV) */
  R_LONG = 16,     /* a read that may take a while (a list, a search, an export): it runs on an
                      lp-read thread, in arrival order, not on the connection's thread */
  R_SEARCH = 32,   /* with ?q= it searches: the search index is brought up to date first */
  R_UPLOAD = 64,   /* a large body (CSV): streamed to a file in the spool directory as it arrives
                      (lp_req.upload), up to lp_app.upload_max bytes; the request is authenticated
                      and the route's `begin` runs once the headers are in, before any byte is kept */
};

typedef struct lp_route {
  const char *method;
  const char *pattern;         /* "/api/v1/leads/{id}/close"; {id} numeric, {key} text */
  lp_handler handler;
  unsigned flags;
  const char *name;            /* metrics label */
  lp_handler begin;            /* R_UPLOAD: checks made when the headers arrive (rights, type, query) */
} lp_route;

extern const lp_route lp_routes[];
extern const int lp_routes_count;

/* Reading the request. */
const char *lp_req_query(lp_req *r, const char *name);   /* NULL if absent */
const char *lp_req_header(lp_req *r, const char *name);
int lp_req_flag(lp_req *r, const char *name);             /* ?name=1|true */
/* The calling thread's read connection; NULL with r->err set. */
lp_db *lp_req_db(lp_req *r);
lp_store *lp_req_store(lp_req *r);
/* If-Match as a version, -1 when absent; LP_EBADREQ if malformed. */
lp_code lp_req_if_match(lp_req *r, int64_t *version);
/* The version a change expects: If-Match, or when absent the body's integer "version"; -1 when
 * neither; LP_EBADREQ if If-Match is malformed. */
lp_code lp_req_expected_version(lp_req *r, int64_t *version);
/* ?format=: 1 for csv, 0 for json or none, -1 with a field error in r->err for anything else. */
int lp_req_want_csv(lp_req *r);

/* Answering. reply steals `body`. */
lp_code lp_reply(lp_req *r, int status, json_t *body);
void lp_reply_header(lp_req *r, const char *name, const char *value);
/* ETag: the record's version, quoted (what If-Match gives back). */
void lp_reply_etag(lp_req *r, int64_t version);
/* A streamed answer of unknown length (chunked): fill(state, buf, max) is called, possibly on
 * another occasion than the handler, until it returns 0 (end) or -1 (error: the connection is
 * closed); free_fn(state) runs once the answer is done or abandoned. LP_STREAM_WAIT: nothing
 * now, and fill has suspended the connection (MHD_suspend_connection); whoever resumes it gets
 * fill called again (src/http/stream.c). */
#define LP_STREAM_WAIT (-2)
lp_code lp_reply_stream(lp_req *r, int status, const char *ctype, long (*fill)(void *state, char *buf, size_t max),
                        void *state, void (*free_fn)(void *state));
/* 200 {"items": [present(row) for each row], "next_cursor": null}; steals rows (NULL: r->err). */
lp_code lp_reply_items(lp_req *r, json_t *rows, json_t *(*present)(json_t *row));
lp_code lp_reply_raw(lp_req *r, int status, const char *ctype, char *data, size_t len); /* steals data */
/* 200 with b's bytes as text/csv, a download named `name`.csv; takes b's data (b is left empty). */
lp_code lp_reply_csv(lp_req *r, lp_buf *b, const char *name);

/* The application: the store, settings and counters the handlers share. */
struct lp_app {
  lp_store *store;
  int threads;
  int access_log;              /* write a JSON line per request to stderr */
  int64_t (*clock)(void);      /* the server's clock; tests may replace it */
  const char *spool;           /* directory for uploads (R_UPLOAD bodies) */
  int64_t upload_max;          /* the largest upload body, bytes */
};
/* Finishes an upload's file: flushed to disk (fsync), closed, and moved to `path` (the spool
 * directory's entry synced too); from then on the file is the caller's. LP_OK or the reason. */
lp_code lp_upload_keep(lp_req *r, const char *path);
int lp_http_serve(lp_app *app, const char *listen, lp_err *err);  /* blocks until SIGTERM/SIGINT */
/* Prometheus text of the request metrics (caller frees). */
char *lp_http_metrics(lp_store *store);
#endif
