/* billing.c — quotes, conversion, customers and invoices (store/billing.h holds the rules;
 * docs/customers.md the behaviour). Handlers check the shape and call one store function. */
#include <stdlib.h>
#include <string.h>
#include "core/billing.h"
#include "core/record.h"
#include "http/routes/handlers.h"
#include "store/billing.h"

static lp_code reply_or_err(lp_req *r, int status, json_t *o) { return o ? lp_reply(r, status, o) : r->err.code; }

/* If-Match, or a version in the body when the header is absent. */
static void location(lp_req *r, const char *what, json_t *o) {
  char loc[80];
  snprintf(loc, sizeof loc, "/api/v1/%s/%lld", what, (long long)json_integer_value(json_object_get(o, "id")));
  lp_reply_header(r, "Location", loc);
}

/* ---------------------------------------------------------------- quotes */

lp_code h_lead_quotes_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_quotes_list(db, &r->actor, r->ids[0], r->now, &r->err) : NULL);
}

lp_code h_lead_quotes_create(lp_req *r) {
  json_t *o = lp_quote_create(r->app->store, &r->actor, r->ids[0], r->json, r->now, &r->err);
  if (o) location(r, "quotes", o);
  return reply_or_err(r, 201, o);
}

lp_code h_quote_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_quote_get(db, &r->actor, r->ids[0], r->now, &r->err) : NULL;
  if (o) lp_reply_etag(r, json_integer_value(json_object_get(o, "version")));
  return reply_or_err(r, 200, o);
}

lp_code h_quote_patch(lp_req *r) {
  int64_t expect;
  if (lp_req_expected_version(r, &expect) != LP_OK) return r->err.code;
  return reply_or_err(r, 200, lp_quote_update(r->app->store, &r->actor, r->ids[0], r->json, expect, r->now, &r->err));
}

/* ---------------------------------------------------------------- conversion */

lp_code h_lead_convert(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  int status = 201;
  json_t *o = lp_lead_convert(r->app->store, &r->actor, r->ids[0], r->json, lp_req_flag(r, "dry_run"), expect, r->now, &status, &r->err);
  if (o && status == 201) location(r, "customers", json_object_get(o, "customer"));
  return reply_or_err(r, status, o);
}

/* ---------------------------------------------------------------- invoices */

static int wants_pdf(lp_req *r) {
  const char *acc = lp_req_header(r, "Accept");
  return acc && strstr(acc, "application/pdf");
}

static lp_code invoice_doc(lp_req *r, int64_t id, int pdf) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  lp_buf b = LP_BUF_INIT((size_t)16 << 20);
  if (lp_invoice_render(db, &r->actor, id, pdf, &b, &r->err) != LP_OK) { lp_buf_release(&b); return r->err.code; }
  if (pdf) {
    char disp[80];
    snprintf(disp, sizeof disp, "inline; filename=\"invoice-%lld.pdf\"", (long long)id);
    lp_reply_header(r, "Content-Disposition", disp);
  }
  size_t len = b.len;
  return lp_reply_raw(r, 200, pdf ? "application/pdf" : "text/html; charset=utf-8", lp_buf_detach(&b), len);
}

lp_code h_invoice_get(lp_req *r) {
  if (wants_pdf(r)) return invoice_doc(r, r->ids[0], 1);
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_invoice_get(db, &r->actor, r->ids[0], &r->err) : NULL);
}

lp_code h_invoice_pdf(lp_req *r) { return invoice_doc(r, r->ids[0], 1); }

lp_code h_invoice_print(lp_req *r) { return invoice_doc(r, r->ids[0], 0); }

lp_code h_invoice_finalize(lp_req *r) {
  int64_t expect;
  if (lp_req_expected_version(r, &expect) != LP_OK) return r->err.code;
  json_t *o = lp_invoice_finalize(r->app->store, &r->actor, r->ids[0], r->json, expect, r->now, &r->err);
  if (o) location(r, "invoices", o);
  return reply_or_err(r, 201, o);
}

/* ---------------------------------------------------------------- customers */

lp_code h_customers_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  const char *q = lp_req_query(r, "q"), *lim = lp_req_query(r, "limit"), *cur = lp_req_query(r, "cursor");
  char *end;
  long long limit = lim ? strtoll(lim, &end, 10) : 50;
  if (lim && (*end || limit < 1 || limit > 500)) lp_fail_field(&r->err, "limit", "must be 1 to 500");
  long long cursor = cur ? strtoll(cur, &end, 10) : 0;
  if (cur && (*end || cursor < 0)) lp_fail_field(&r->err, "cursor", "malformed");
  if (q && strlen(q) > 200) lp_fail_field(&r->err, "q", "too long");
  if (r->err.code) return r->err.code;
  return reply_or_err(r, 200, lp_customers_list(db, &r->actor, q, (int)limit, cursor, &r->err));
}

lp_code h_customer_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_customer_get(db, &r->actor, r->ids[0], &r->err) : NULL);
}

lp_code h_customer_patch(lp_req *r) {
  int64_t expect;
  if (lp_req_expected_version(r, &expect) != LP_OK) return r->err.code;
  json_t *cols;
  if (lp_rec_input(&lp_rt_customer, r->json, 0, r->actor.is_admin, NULL, &cols, &r->err) != LP_OK) return r->err.code;
  json_t *o = lp_customer_update(r->app->store, &r->actor, r->ids[0], cols, expect, r->now, &r->err);
  json_decref(cols);
  return reply_or_err(r, 200, o);
}
