/* reply.c — writing the answer. Handlers leave their answer in the request (lp_reply: a JSON
 * body; lp_reply_raw: bytes; lp_reply_stream: a body made while it is sent) and http_answer sends
 * it with the headers every answer carries. Every error leaves through http_send_error, in the
 * contract's shape {"error": {"code", "message", "fields"?}}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http/internal.h"

#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

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
  if (n == LP_STREAM_WAIT) return 0;   /* suspended by fill: called again once resumed */
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

lp_code lp_reply_csv(lp_req *r, lp_buf *b, const char *name) {
  char disp[128];
  snprintf(disp, sizeof disp, "attachment; filename=\"%s.csv\"", name);
  lp_reply_header(r, "Content-Disposition", disp);
  size_t len = b->len;
  return lp_reply_raw(r, 200, "text/csv; charset=utf-8", lp_buf_detach(b), len);
}

void http_common_headers(struct MHD_Response *resp, lp_req *r) {
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
  http_common_headers(resp, r);
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

enum MHD_Result http_send_error(lp_req *r) {
  lp_code c = r->err.code == LP_OK ? LP_EINTERNAL : r->err.code;
  http_metrics_error(c);
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

enum MHD_Result http_answer(lp_req *r) {
  if (r->asset) return http_send_asset(r);
  if (r->failed) return http_send_error(r);
  if (r->stream) {
    stream_t *st = malloc(sizeof *st);
    if (!st) return MHD_NO;
    *st = (stream_t){r->stream, r->stream_state, r->stream_free};
    r->stream_state = NULL;
    r->stream_free = NULL;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, st, stream_done);
    if (!resp) { stream_done(st); return MHD_NO; }
    if (r->ctype) MHD_add_response_header(resp, "Content-Type", r->ctype);
    http_common_headers(resp, r);
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
