/* export.c — GET /api/v1/export/leads?format=csv|json&<list filters>: every lead the filters
 * select (with the list's defaults and the caller's visibility), not paged, streamed as it is
 * read: 500 leads at a time through the same list query as GET /leads, in id order (the primary
 * key: each page is a short range whatever the filters), so memory and time per page stay flat
 * however many leads there are. CSV has the columns of `leadpath export` (owners also by email,
 * names beside ids: store/exportnames.c; phones as tel: URIs: core/leadcsv.c). */
#include <microhttpd.h>
#include "core/leadcsv.h"
#include "http/routes/handlers.h"
#include "store/leads.h"
#include "store/rows.h"
#include "store/exportnames.h"

typedef struct {
  lp_store *store;
  lp_actor actor;
  int64_t now;
  json_t *params;   /* the query's arguments, copied: the stream outlives the request */
  json_t *names;    /* lp_export_names: owners' names and e-mails, list entries' names */
  char *cursor;
  lp_buf out;
  size_t off;
  int csv, done, count;
  int streaming;    /* 1 once the handler has returned: each page takes and gives back a connection */
} export_t;

static const char *export_get(void *ctx, const char *name) {
  export_t *x = ctx;
  if (!strcmp(name, "limit")) return "500";
  if (!strcmp(name, "cursor")) return x->cursor;
  if (!strcmp(name, "total")) return NULL;
  if (!strcmp(name, "sort")) return "id";  /* the primary key's order: every page is a short range */
  return json_string_value(json_object_get(x->params, name));
}

static enum MHD_Result copy_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  (void)kind;
  if (key && value) json_object_set_new(cls, key, json_string(value));
  return MHD_YES;
}

/* Reads the next page into out; LP_OK, or an error in err. */
static lp_code next_page(export_t *x, lp_err *err) {
  lp_db *db = lp_store_reader(x->store, err);
  json_t *page = db ? lp_lead_list(db, &x->actor, export_get, x, x->now, err) : NULL;
  if (x->streaming) lp_store_release(x->store);  /* in the handler, the request's own connection */
  if (!page) return err->code ? err->code : LP_EINTERNAL;
  size_t i;
  json_t *lead;
  json_array_foreach(json_object_get(page, "items"), i, lead) {
    lp_export_names_add(x->names, lead);
    if (x->csv) {
      lp_lead_csv_row(&x->out, lead);
    } else {
      char *t = json_dumps(lead, JSON_COMPACT);
      if (x->count) lp_buf_add(&x->out, ",\n", 2);
      lp_buf_puts(&x->out, t ? t : "null");
      free(t);
    }
    x->count++;
  }
  free(x->cursor);
  x->cursor = json_is_string(json_object_get(page, "next_cursor")) ? strdup(json_string_value(json_object_get(page, "next_cursor"))) : NULL;
  json_decref(page);
  if (!x->cursor) {
    x->done = 1;
    if (!x->csv) lp_buf_puts(&x->out, "\n]\n");
  }
  return LP_OK;
}

static long export_fill(void *state, char *buf, size_t max) {
  export_t *x = state;
  while (x->off == x->out.len) {
    if (x->done) return 0;
    lp_buf_reset(&x->out);
    x->off = 0;
    lp_err e = LP_ERR_INIT;
    lp_code rc = next_page(x, &e);
    lp_err_release(&e);
    if (rc != LP_OK) return -1;  /* the answer has begun: all we can do is end it short */
  }
  size_t n = x->out.len - x->off < max ? x->out.len - x->off : max;
  memcpy(buf, x->out.data + x->off, n);
  x->off += n;
  return (long)n;
}

static void export_free(void *state) {
  export_t *x = state;
  json_decref(x->params);
  json_decref(x->names);
  free(x->cursor);
  lp_buf_release(&x->out);
  free(x);
}

lp_code h_export_leads(lp_req *r) {
  const char *fmt = lp_req_query(r, "format");
  if (fmt && strcmp(fmt, "csv") && strcmp(fmt, "json")) return lp_fail_field(&r->err, "format", "must be csv or json");
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  export_t *x = calloc(1, sizeof *x);
  if (!x) return lp_fail(&r->err, LP_EINTERNAL, "out of memory");
  x->store = r->app->store;
  x->actor = r->actor;
  x->now = r->now;
  x->csv = !fmt || !strcmp(fmt, "csv");
  x->out = (lp_buf)LP_BUF_INIT((size_t)256 << 20);
  x->params = json_object();
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, copy_arg, x->params);
  x->names = lp_export_names(db, &r->err);
  if (x->csv) lp_lead_csv_header(&x->out);
  else lp_buf_add(&x->out, "[\n", 2);
  /* The first page now: a bad filter answers 422 before anything is sent. */
  if (r->err.code != LP_OK || next_page(x, &r->err) != LP_OK) { export_free(x); return r->err.code ? r->err.code : LP_EINTERNAL; }
  x->streaming = 1;
  lp_reply_header(r, "Content-Disposition", x->csv ? "attachment; filename=\"leads.csv\"" : "attachment; filename=\"leads.json\"");
  return lp_reply_stream(r, 200, x->csv ? "text/csv; charset=utf-8" : "application/json", export_fill, x, export_free);
}
