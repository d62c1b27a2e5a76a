/* billing.c — quotes, conversion, customers, services and invoices (see billing.h).
 *
 * Quotes and customers are records of their own with a version; every change writes its event
 * with the lead's id, so the lead's timeline tells the whole story (a customer's history is its
 * lead's timeline). A conversion loads what the planner needs, plans (lp_plan_convert) and hands
 * the plan to lp_apply, which calls lp__convert_write below for the customer's rows.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "core/billing.h"
#include "core/plan.h"
#include "core/record.h"
#include "msg/invoicedoc.h"
#include "store/apply.h"
#include "store/approvals.h"
#include "store/billing.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/related.h"
#include "store/rows.h"
#include "util/timefmt.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int is_set(json_t *o, const char *k) { json_t *v = json_object_get(o, k); return v && !json_is_null(v); }

static json_t *time_of(json_t *row, const char *k) { return lp_json_time(json_object_get(row, k)); }

/* The settings a quote or a conversion needs (currency: caller frees). */
static char *currency_setting(lp_db *db, lp_err *err) {
  char *c = lp_setting_text(db, "currency", err);
  return c ? c : strdup("EUR");
}

/* The lead row a quote or conversion is about, visible to a (404 otherwise). */
static json_t *lead_of(lp_db *db, const lp_actor *a, int64_t lead_id, lp_err *err) {
  json_t *row = lp_lead_row(db, lead_id, err);
  if (!row) return NULL;
  if (is_set(row, "deleted_at") || lp_lead_visible(db, a, row, err) != LP_OK) {
    if (!err->code) lp_fail(err, LP_ENOTFOUND, "No lead %lld", (long long)lead_id);
    json_decref(row);
    return NULL;
  }
  return row;
}

/* ---------------------------------------------------------------- quotes */

static json_t *quote_present(json_t *row, int64_t now) {
  json_t *lines = json_loads(sget(row, "lines") ? sget(row, "lines") : "[]", 0, NULL);
  json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:O, s:O, s:O, s:O, s:O, s:O}",
    "id", json_object_get(row, "id"), "version", json_object_get(row, "version"), "lead_id", json_object_get(row, "lead_id"),
    "status", json_object_get(row, "status"), "currency", json_object_get(row, "currency"),
    "lines", lp_lines_present(lines), "subtotal_cents", json_object_get(row, "subtotal_cents"),
    "tax_cents", json_object_get(row, "tax_cents"), "total_cents", json_object_get(row, "total_cents"),
    "one_time_cents", json_object_get(row, "one_time_cents"), "monthly_cents", json_object_get(row, "monthly_cents"),
    "notes", json_object_get(row, "notes") ? json_object_get(row, "notes") : json_null());
  json_decref(lines);
  json_object_set_new(o, "valid_until", time_of(row, "valid_until"));
  json_object_set_new(o, "expired", json_boolean(iget(row, "valid_until") < now));
  json_object_set_new(o, "sent_at", time_of(row, "sent_at"));
  json_object_set_new(o, "decided_at", time_of(row, "decided_at"));
  json_object_set_new(o, "created_at", time_of(row, "created_at"));
  json_object_set_new(o, "updated_at", time_of(row, "updated_at"));
  json_object_set(o, "created_by", json_object_get(row, "created_by") ? json_object_get(row, "created_by") : json_null());
  return o;
}

static json_t *quote_row(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM quotes WHERE id = $1", args, err);
  json_decref(args);
  if (!row && !err->code) lp_fail(err, LP_ENOTFOUND, "No quote %lld", (long long)id);
  return row;
}

/* notes: a string of at most 20,000 bytes or null. */
static int notes_ok(json_t *v, lp_err *err) {
  if (!v || json_is_null(v)) return 1;
  if (!json_is_string(v) || json_string_length(v) > 20000) { lp_fail_field(err, "notes", "must be a string of at most 20,000 bytes"); return 0; }
  return 1;
}

static void set_totals(json_t *cols, json_t *lines, const lp_totals *t) {
  char *txt = json_dumps(lines, JSON_COMPACT);
  json_object_set_new(cols, "lines", json_string(txt ? txt : "[]"));
  free(txt);
  json_object_set_new(cols, "subtotal_cents", json_integer(t->subtotal_cents));
  json_object_set_new(cols, "tax_cents", json_integer(t->tax_cents));
  json_object_set_new(cols, "total_cents", json_integer(t->total_cents));
  json_object_set_new(cols, "one_time_cents", json_integer(t->one_time_cents));
  json_object_set_new(cols, "monthly_cents", json_integer(t->monthly_cents));
}

typedef struct {
  const lp_actor *a;
  int64_t lead_id, id, expect, now;
  json_t *req, *lines;
  lp_totals t;
} quote_ctx;

static lp_code quote_create_fn(lp_db *db, void *p, lp_err *err) {
  quote_ctx *c = p;
  c->id = 0;
  json_t *lead = lead_of(db, c->a, c->lead_id, err);
  if (!lead) return err->code;
  int open = !strcmp(sget(lead, "status") ? sget(lead, "status") : "", "open");
  json_decref(lead);
  if (!open) return lp_fail(err, LP_ECONFLICT, "The lead is closed; reopen it to quote");
  char *cur = currency_setting(db, err);
  int64_t days = lp_setting_int(db, "quote_valid_days", 30, err);
  if (err->code) { free(cur); return err->code; }
  json_t *cols = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I}", "lead_id", (json_int_t)c->lead_id, "status", "new",
                           "currency", cur, "valid_until", (json_int_t)(c->now + days * 86400), "created_at", (json_int_t)c->now,
                           "updated_at", (json_int_t)c->now, "created_by", (json_int_t)c->a->id);
  free(cur);
  set_totals(cols, c->lines, &c->t);
  json_t *n = json_object_get(c->req, "notes");
  if (json_is_string(n)) json_object_set(cols, "notes", n);
  lp_code rc = lp_insert(db, "quotes", cols, &c->id, err);
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:I, s:O, s:I}", "quote_id", (json_int_t)c->id, "total_cents", (json_int_t)c->t.total_cents,
                             "currency", json_object_get(cols, "currency"), "lines", (json_int_t)json_array_size(c->lines));
    rc = lp_event(db, c->now, c->lead_id, c->a->id, "quote_created", "quote", c->id, data, err);
    json_decref(data);
  }
  json_decref(cols);
  return rc;
}

json_t *lp_quote_create(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *req, int64_t now, lp_err *err) {
  quote_ctx c = {a, lead_id, 0, -1, now, req, NULL, {0}};
  if (lp_lines_check(json_object_get(req, "lines"), "lines", 0, NULL, &c.lines, &c.t, err) != LP_OK) return NULL;
  if (!notes_ok(json_object_get(req, "notes"), err)) { json_decref(c.lines); return NULL; }
  lp_code rc = lp_store_write(s, quote_create_fn, &c, err);
  json_decref(c.lines);
  if (rc != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_quote_get(db, a, c.id, now, err) : NULL;
}

json_t *lp_quotes_list(lp_db *db, const lp_actor *a, int64_t lead_id, int64_t now, lp_err *err) {
  json_t *lead = lead_of(db, a, lead_id, err);
  if (!lead) return NULL;
  json_decref(lead);
  json_t *args = json_pack("[I]", (json_int_t)lead_id);
  json_t *rows = lp_query(db, "SELECT * FROM quotes WHERE lead_id = $1 ORDER BY id", args, err);
  json_decref(args);
  if (!rows) return NULL;
  json_t *items = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_array_append_new(items, quote_present(r, now));
  json_decref(rows);
  return json_pack("{s:o, s:n}", "items", items, "next_cursor");
}

json_t *lp_quote_get(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err) {
  json_t *row = quote_row(db, id, err);
  if (!row) return NULL;
  json_t *lead = lead_of(db, a, iget(row, "lead_id"), err);
  if (!lead) {
    json_decref(row);
    lp_err_release(err);
    lp_fail(err, LP_ENOTFOUND, "No quote %lld", (long long)id);
    return NULL;
  }
  json_decref(lead);
  json_t *o = quote_present(row, now);
  json_decref(row);
  return o;
}

/* Accepting a quote may move its lead to the configured stage: a stage move planned and applied
 * like any other, in the quote's transaction. */
static lp_code accepted_stage(lp_db *db, const lp_actor *a, json_t *lead, int64_t now, lp_err *err) {
  int64_t sid = lp_setting_int(db, "quote_accepted_stage_id", 0, err);
  if (err->code || sid <= 0 || sid == iget(lead, "stage_id")) return err->code;
  if (strcmp(sget(lead, "status") ? sget(lead, "status") : "", "open")) return LP_OK;
  json_t *args = json_pack("[I]", (json_int_t)sid);
  json_t *stage = lp_query_one(db, "SELECT * FROM stages WHERE id = $1", args, err);
  json_decref(args);
  args = json_pack("[I]", (json_int_t)iget(lead, "stage_id"));
  json_t *cur = lp_query_one(db, "SELECT * FROM stages WHERE id = $1", args, err);
  json_decref(args);
  lp_code rc = err->code;
  if (rc == LP_OK && stage && iget(stage, "active")) {
    lp_plan_in in = {0};
    in.actor = a;
    in.now = now;
    in.lead = lead;
    in.stage = stage;
    in.cur_stage = cur;
    lp_plan plan;
    rc = lp_plan_stage(&in, &plan, err);
    lp_applied out;
    if (rc == LP_OK) rc = lp_apply(db, a, lead, &plan, NULL, now, &out, err);
    lp_plan_release(&plan);
  }
  json_decref(stage);
  json_decref(cur);
  return rc;
}

static lp_code quote_update_fn(lp_db *db, void *p, lp_err *err) {
  quote_ctx *c = p;
  json_t *row = quote_row(db, c->id, err);
  if (!row) return err->code;
  json_t *lead = lead_of(db, c->a, iget(row, "lead_id"), err);
  if (!lead) {
    json_decref(row);
    lp_err_release(err);
    return lp_fail(err, LP_ENOTFOUND, "No quote %lld", (long long)c->id);
  }
  lp_code rc = LP_OK;
  const char *status = sget(row, "status");
  json_t *js = json_object_get(c->req, "status"), *jn = json_object_get(c->req, "notes"), *jv = json_object_get(c->req, "valid_until");
  const char *to = json_string_value(js);
  int moving = to && strcmp(to, status);
  int editing = c->lines || jn || jv;
  json_t *cols = json_object(), *changes = json_object();
  if (c->expect >= 0 && iget(row, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The quote has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  else if (strcmp(sget(lead, "status") ? sget(lead, "status") : "", "open"))
    rc = lp_fail(err, LP_ECONFLICT, "The lead is closed; its quotes no longer change");
  else if (editing && strcmp(status, "new"))
    rc = lp_fail(err, LP_ECONFLICT, "A %s quote cannot be edited; make a new quote", status);
  else if (moving && lp_quote_move_ok(status, to))
    rc = lp_fail(err, LP_ECONFLICT, "A quote moves new → sent → accepted or declined; this one is %s", status);
  else if (moving && !strcmp(to, "accepted") && iget(row, "valid_until") < c->now)
    rc = lp_fail(err, LP_ECONFLICT, "The quote expired; make a new one (or extend valid_until before sending)");
  if (rc == LP_OK) {
    if (c->lines) {
      set_totals(cols, c->lines, &c->t);
      json_object_set_new(changes, "total_cents", json_pack("{s:O, s:I}", "old", json_object_get(row, "total_cents"), "new", (json_int_t)c->t.total_cents));
    }
    if (jn) {
      json_object_set(cols, "notes", jn);
      json_object_set_new(changes, "notes", json_pack("{s:O, s:O}", "old", is_set(row, "notes") ? json_object_get(row, "notes") : json_null(), "new", jn));
    }
    if (jv) {
      int64_t t = 0;
      lp_time_parse(json_string_value(jv), &t);
      json_object_set_new(cols, "valid_until", json_integer(t));
      json_object_set_new(changes, "valid_until", json_pack("{s:o, s:O}", "old", time_of(row, "valid_until"), "new", jv));
    }
    if (moving) {
      json_object_set_new(cols, "status", json_string(to));
      json_object_set_new(cols, !strcmp(to, "sent") ? "sent_at" : "decided_at", json_integer(c->now));
    }
  }
  if (rc == LP_OK && json_object_size(cols)) {
    json_object_set_new(cols, "updated_at", json_integer(c->now));
    rc = lp_update(db, "quotes", c->id, cols, iget(row, "version"), err);
    int64_t lead_id = iget(row, "lead_id");
    if (rc == LP_OK && json_object_size(changes)) {
      json_t *data = json_pack("{s:I, s:O}", "quote_id", (json_int_t)c->id, "changes", changes);
      rc = lp_event(db, c->now, lead_id, c->a->id, "quote_updated", "quote", c->id, data, err);
      json_decref(data);
    }
    if (rc == LP_OK && moving) {
      char kind[32];
      snprintf(kind, sizeof kind, "quote_%s", to);
      json_t *data = json_pack("{s:I, s:s, s:O, s:O}", "quote_id", (json_int_t)c->id, "from", status,
                               "total_cents", json_object_get(cols, "total_cents") ? json_object_get(cols, "total_cents") : json_object_get(row, "total_cents"),
                               "currency", json_object_get(row, "currency"));
      rc = lp_event(db, c->now, lead_id, c->a->id, kind, "quote", c->id, data, err);
      json_decref(data);
    }
    if (rc == LP_OK && moving && !strcmp(to, "accepted")) rc = accepted_stage(db, c->a, lead, c->now, err);
  }
  json_decref(cols);
  json_decref(changes);
  json_decref(lead);
  json_decref(row);
  return rc;
}

json_t *lp_quote_update(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err) {
  quote_ctx c = {a, 0, id, expect, now, req, NULL, {0}};
  json_t *jl = json_object_get(req, "lines"), *js = json_object_get(req, "status"), *jv = json_object_get(req, "valid_until");
  if (jl && lp_lines_check(jl, "lines", 0, NULL, &c.lines, &c.t, err) != LP_OK) return NULL;
  int64_t t;
  if (js && (!json_is_string(js) || (strcmp(json_string_value(js), "new") && strcmp(json_string_value(js), "sent") &&
                                      strcmp(json_string_value(js), "accepted") && strcmp(json_string_value(js), "declined"))))
    lp_fail_field(err, "status", "must be new, sent, accepted or declined");
  if (jv && (!json_is_string(jv) || lp_time_parse(json_string_value(jv), &t) != 0)) lp_fail_field(err, "valid_until", "must be an RFC 3339 time");
  notes_ok(json_object_get(req, "notes"), err);
  lp_code rc = err->code ? err->code : lp_store_write(s, quote_update_fn, &c, err);
  json_decref(c.lines);
  if (rc != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_quote_get(db, a, id, now, err) : NULL;
}

/* ---------------------------------------------------------------- customers: reading */

/* Visible like its lead would be: admins and view all, the owner, the owner's manager for team. */
static lp_code customer_visible(lp_db *db, const lp_actor *a, json_t *row, lp_err *err) {
  json_t *probe = json_pack("{s:O, s:O}", "id", json_object_get(row, "id"), "owner_id",
                            json_object_get(row, "owner_id") ? json_object_get(row, "owner_id") : json_null());
  lp_code rc = lp_lead_visible(db, a, probe, err);
  json_decref(probe);
  if (rc != LP_OK) {
    lp_err_release(err);
    return lp_fail(err, LP_ENOTFOUND, "No customer %lld", (long long)iget(row, "id"));
  }
  return LP_OK;
}

static json_t *customer_row(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM customers WHERE id = $1", args, err);
  json_decref(args);
  if (!row) {
    if (!err->code) lp_fail(err, LP_ENOTFOUND, "No customer %lld", (long long)id);
    return NULL;
  }
  if (customer_visible(db, a, row, err) != LP_OK) { json_decref(row); return NULL; }
  return row;
}

static json_t *customer_present(json_t *row) {
  json_t *o = lp_rec_present(&lp_rt_customer, row);
  int64_t lead = iget(row, "lead_id");
  if (lead) {
    char url[80];
    snprintf(url, sizeof url, "/api/v1/leads/%lld/timeline", (long long)lead);
    json_object_set_new(o, "history_url", json_string(url));
  }
  return o;
}

static json_t *service_present(json_t *row) {
  json_t *o = lp_line_present(row);
  json_object_del(o, "version");
  json_object_set_new(o, "created_at", time_of(row, "created_at"));
  return o;
}

static json_t *invoice_present(json_t *row) {
  json_t *lines = json_loads(sget(row, "lines") ? sget(row, "lines") : "[]", 0, NULL);
  json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:O, s:O, s:O}",
    "id", json_object_get(row, "id"), "version", json_object_get(row, "version"), "number", json_object_get(row, "number"),
    "kind", json_object_get(row, "kind"), "status", json_object_get(row, "status"), "customer_id", json_object_get(row, "customer_id"),
    "lead_id", json_object_get(row, "lead_id") ? json_object_get(row, "lead_id") : json_null(),
    "currency", json_object_get(row, "currency"), "lines", lp_lines_present(lines),
    "subtotal_cents", json_object_get(row, "subtotal_cents"), "tax_cents", json_object_get(row, "tax_cents"),
    "total_cents", json_object_get(row, "total_cents"));
  json_decref(lines);
  static const char *const times[] = {"issued_at", "due_at", "paid_at", "created_at", "updated_at"};
  for (size_t i = 0; i < sizeof times / sizeof *times; i++) json_object_set_new(o, times[i], time_of(row, times[i]));
  json_object_set(o, "proforma_id", is_set(row, "proforma_id") ? json_object_get(row, "proforma_id") : json_null());
  json_object_set(o, "invoice_id", is_set(row, "invoice_id") ? json_object_get(row, "invoice_id") : json_null());
  char url[80];
  snprintf(url, sizeof url, "/api/v1/invoices/%lld.pdf", (long long)iget(row, "id"));
  json_object_set_new(o, "pdf_url", json_string(url));
  return o;
}

static json_t *rows_present(lp_db *db, const char *sql, int64_t id, json_t *(*present)(json_t *), lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *rows = lp_query(db, sql, args, err);
  json_decref(args);
  json_t *a = json_array();
  size_t i;
  json_t *r;
  if (rows) json_array_foreach(rows, i, r) json_array_append_new(a, present(r));
  json_decref(rows);
  return a;
}

json_t *lp_customer_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *row = customer_row(db, a, id, err);
  if (!row) return NULL;
  json_t *o = customer_present(row);
  json_decref(row);
  json_object_set_new(o, "services", rows_present(db, "SELECT * FROM services WHERE customer_id = $1 ORDER BY id", id, service_present, err));
  json_object_set_new(o, "invoices", rows_present(db, "SELECT * FROM invoices WHERE customer_id = $1 ORDER BY id", id, invoice_present, err));
  if (err->code) { json_decref(o); return NULL; }
  return o;
}

/* ASCII lower case, for the search text and the query alike. */
static void lower(char *s) { for (; *s; s++) *s = (char)tolower((unsigned char)*s); }

/* The searched text of a customer row: name, company, login, emails, phones (also as digits). */
static char *search_text(json_t *row) {
  lp_buf b = LP_BUF_INIT(64 << 10);
  static const char *const keys[] = {"full_name", "company", "login"};
  for (size_t i = 0; i < 3; i++) if (sget(row, keys[i])) { lp_buf_puts(&b, sget(row, keys[i])); lp_buf_puts(&b, " | "); }
  static const char *const lists[] = {"emails", "phones"};
  for (size_t k = 0; k < 2; k++) {
    json_t *arr = json_loads(sget(row, lists[k]) ? sget(row, lists[k]) : "[]", 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
      const char *t = json_string_value(v);
      if (!t) continue;
      lp_buf_puts(&b, t);
      lp_buf_puts(&b, " | ");
      if (k == 1) {
        for (const char *q = t; *q; q++) if (isdigit((unsigned char)*q)) lp_buf_add(&b, q, 1);
        lp_buf_puts(&b, " | ");
      }
    }
    json_decref(arr);
  }
  char *s = strdup(lp_buf_str(&b));
  lp_buf_release(&b);
  if (s) lower(s);
  return s;
}

json_t *lp_customers_list(lp_db *db, const lp_actor *a, const char *q, int limit, int64_t cursor, lp_err *err) {
  /* q: a LIKE pattern with its wildcards escaped; a phone written with spaces or dashes is also
   * looked for as its digits. */
  lp_buf pat = LP_BUF_INIT(2048), digits = LP_BUF_INIT(2048);
  lp_buf_puts(&pat, "%");
  lp_buf_puts(&digits, "%");
  int phoneish = q && *q, ndig = 0;
  for (const char *p = q ? q : ""; *p; p++) {
    char ch = (char)tolower((unsigned char)*p);
    if (ch == '%' || ch == '_' || ch == '\\') lp_buf_add(&pat, "\\", 1);
    lp_buf_add(&pat, &ch, 1);
    if (isdigit((unsigned char)ch)) { lp_buf_add(&digits, &ch, 1); ndig++; }
    else if (!strchr("+-() .", ch)) phoneish = 0;
  }
  lp_buf_puts(&pat, "%");
  lp_buf_puts(&digits, "%");
  json_t *args = json_pack("[I, I, s, s, I, I]", (json_int_t)a->view, (json_int_t)a->id, q && *q ? lp_buf_str(&pat) : "%",
                           phoneish && ndig >= 3 ? lp_buf_str(&digits) : "", (json_int_t)(cursor > 0 ? cursor : INT64_MAX),
                           (json_int_t)limit + 1);
  lp_buf_release(&pat);
  lp_buf_release(&digits);
  json_t *rows = lp_query(db,
    "SELECT * FROM customers WHERE id < $5"
    " AND ($1 = 2 OR owner_id = $2 OR ($1 = 1 AND owner_id IN (SELECT id FROM users WHERE manager_id = $2)))"
    " AND (search LIKE $3 ESCAPE '\\' OR search LIKE $4)"
    " ORDER BY id DESC LIMIT $6", args, err);
  json_decref(args);
  if (!rows) return NULL;
  json_t *items = json_array();
  json_t *next = json_null();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    if ((int)i == limit) {
      char c[32];
      snprintf(c, sizeof c, "%lld", (long long)iget(json_array_get(rows, i - 1), "id"));
      next = json_string(c);
      break;
    }
    json_array_append_new(items, customer_present(r));
  }
  json_decref(rows);
  return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}

/* ---------------------------------------------------------------- customers: changes */

typedef struct {
  const lp_actor *a;
  int64_t id, expect, now;
  json_t *cols;
} customer_ctx;

static lp_code customer_update_fn(lp_db *db, void *p, lp_err *err) {
  customer_ctx *c = p;
  json_t *row = customer_row(db, c->a, c->id, err);
  if (!row) return err->code;
  lp_code rc = LP_OK;
  if (c->expect >= 0 && iget(row, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The customer has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  static const struct { const char *field, *table; } refs[] = {{"partner_id", "partners"}, {"location_id", "locations"}, {"owner_id", "users"}};
  for (size_t i = 0; rc == LP_OK && i < 3; i++)
    if (json_is_integer(json_object_get(c->cols, refs[i].field)))
      lp_ref_check(db, refs[i].table, iget(c->cols, refs[i].field), refs[i].field, err);
  if (rc == LP_OK && err->code) rc = err->code;
  json_t *set = json_object(), *changes = json_object();
  if (rc == LP_OK) lp_rec_diff(&lp_rt_customer, row, c->cols, NULL, set, changes);
  if (rc == LP_OK && json_object_size(set)) {
    json_t *merged = json_deep_copy(row);
    json_object_update(merged, set);
    char *st = search_text(merged);
    json_object_set_new(set, "search", json_string(st ? st : ""));
    free(st);
    json_object_set_new(set, "updated_at", json_integer(c->now));
    rc = lp_update(db, "customers", c->id, set, iget(row, "version"), err);
    if (rc == LP_ECONFLICT) { lp_err_release(err); rc = lp_fail_field(err, "login", "belongs to another customer"); }
    if (rc == LP_OK) rc = lp__customer_keys_follow(db, c->id, row, merged, err);
    json_decref(merged);
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:I, s:O}", "customer_id", (json_int_t)c->id, "changes", changes);
      rc = lp_event(db, c->now, iget(row, "lead_id"), c->a->id, "customer_updated", "customer", c->id, data, err);
      json_decref(data);
    }
  }
  json_decref(set);
  json_decref(changes);
  json_decref(row);
  return rc;
}

json_t *lp_customer_update(lp_store *s, const lp_actor *a, int64_t id, json_t *cols, int64_t expect, int64_t now, lp_err *err) {
  customer_ctx c = {a, id, expect, now, cols};
  if (lp_store_write(s, customer_update_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_customer_get(db, a, id, err) : NULL;
}

/* ---------------------------------------------------------------- numbers and invoices */

/* The next number of a series in a year, taken inside the caller's transaction: the counter row's
 * update holds it until commit (SQLite: the one writer; PostgreSQL: the row lock and SERIALIZABLE),
 * and a rollback gives the number back, so numbers have neither gaps nor repeats. */
static lp_code next_number(lp_db *db, const char *series, int year, int64_t *seq, lp_err *err) {
  json_t *args = json_pack("[s, i]", series, year);
  *seq = lp_query_int(db, "INSERT INTO number_series(series, year, last_number) VALUES ($1, $2, 1)"
                          " ON CONFLICT (series, year) DO UPDATE SET last_number = number_series.last_number + 1"
                          " RETURNING last_number", args, 0, err);
  json_decref(args);
  if (err->code) return err->code;
  return *seq > 0 ? LP_OK : lp_fail(err, LP_EINTERNAL, "No number was given for series %s", series);
}

/* Writes an invoice row from spec {kind, series, status, currency, lines (array), totals,
 * issued_at, due_at, paid_at?, proforma_id?}; answers its id and number. */
static lp_code invoice_insert(lp_db *db, json_t *spec, int64_t customer_id, int64_t lead_id, int64_t now, int64_t *id,
                              char *number, size_t nlen, lp_err *err) {
  const char *series = sget(spec, "series");
  int year = lp_year_of(now);
  int64_t seq;
  lp_code rc = next_number(db, series, year, &seq, err);
  if (rc) return rc;
  lp_invoice_number(series, year, seq, number, nlen);
  json_t *cols = json_deep_copy(spec);
  char *lines = json_dumps(json_object_get(spec, "lines"), JSON_COMPACT);
  json_object_set_new(cols, "lines", json_string(lines ? lines : "[]"));
  free(lines);
  json_object_set_new(cols, "year", json_integer(year));
  json_object_set_new(cols, "seq", json_integer(seq));
  json_object_set_new(cols, "number", json_string(number));
  json_object_set_new(cols, "customer_id", json_integer(customer_id));
  json_object_set_new(cols, "lead_id", lead_id ? json_integer(lead_id) : json_null());
  json_object_set_new(cols, "created_at", json_integer(now));
  json_object_set_new(cols, "updated_at", json_integer(now));
  rc = lp_insert(db, "invoices", cols, id, err);
  json_decref(cols);
  return rc;
}

lp_code lp__convert_write(lp_db *db, const lp_actor *a, int64_t lead_id, const lp_plan *plan, int64_t now,
                          int64_t *customer_id, int64_t *invoice_id, char *number, size_t nlen, lp_err *err) {
  *customer_id = *invoice_id = 0;
  json_t *cust = json_deep_copy(plan->convert.customer);
  char *st = search_text(cust);
  json_object_set_new(cust, "search", json_string(st ? st : ""));
  free(st);
  json_object_set_new(cust, "created_at", json_integer(now));
  json_object_set_new(cust, "updated_at", json_integer(now));
  json_object_set_new(cust, "created_by", a->id > 0 ? json_integer(a->id) : json_null());
  lp_code rc = lp_insert(db, "customers", cust, customer_id, err);
  if (rc == LP_ECONFLICT) {
    lp_err_release(err);
    lp_fail_field(err, "login", "belongs to another customer");
    rc = lp_fail(err, LP_ECONFLICT, "The portal login %s belongs to another customer already; change the lead's login first",
                 sget(cust, "login") ? sget(cust, "login") : "");
  }
  if (rc == LP_OK) rc = lp__customer_keys_follow(db, *customer_id, NULL, cust, err);  /* related leads find it (store/related.c) */
  json_decref(cust);
  if (rc) return rc;
  size_t i;
  json_t *l;
  json_array_foreach(plan->convert.services, i, l) {
    json_t *cols = json_pack("{s:I, s:O, s:O, s:O, s:O, s:O, s:O, s:s, s:I}", "customer_id", (json_int_t)*customer_id,
      "quote_id", is_set(l, "quote_id") ? json_object_get(l, "quote_id") : json_null(), "description", json_object_get(l, "description"),
      "quantity", json_object_get(l, "quantity"), "unit_price_cents", json_object_get(l, "unit_price_cents"),
      "period", json_object_get(l, "period"), "tax_rate_bp", json_object_get(l, "tax_rate_bp"),
      "start_date", sget(l, "start_date") ? sget(l, "start_date") : "", "created_at", (json_int_t)now);
    int64_t sid;
    rc = lp_insert(db, "services", cols, &sid, err);
    json_decref(cols);
    if (rc == LP_ECONFLICT) { lp_err_release(err); return lp_fail_field(err, "services", "a service names a quote that no longer exists"); }
    if (rc) return rc;
  }
  json_t *inv = plan->convert.invoice;
  json_t *spec = json_deep_copy(inv);
  json_object_del(spec, "year");
  rc = invoice_insert(db, spec, *customer_id, lead_id, now, invoice_id, number, nlen, err);
  json_decref(spec);
  if (rc) return rc;
  json_t *args;
  if (!strcmp(sget(inv, "kind"), "invoice")) {  /* an invoice is owed at once; a proforma changes no balance */
    args = json_pack("[I, I]", (json_int_t)*customer_id, (json_int_t)iget(inv, "total_cents"));
    rc = lp_exec(db, "UPDATE customers SET balance_cents = balance_cents + $2 WHERE id = $1", args, err);
    json_decref(args);
    if (rc) return rc;
  }
  args = json_pack("[I, I]", (json_int_t)lead_id, (json_int_t)*customer_id);
  rc = lp_exec(db, "UPDATE leads SET customer_id = $2 WHERE id = $1", args, err);
  json_decref(args);
  if (rc) return rc;
  json_t *data = json_pack("{s:I, s:O, s:b}", "customer_id", (json_int_t)*customer_id, "full_name",
                           json_object_get(plan->convert.customer, "full_name"), "active", (int)iget(plan->convert.customer, "active"));
  rc = lp_event(db, now, lead_id, a->id, "customer_created", "customer", *customer_id, data, err);
  json_decref(data);
  if (rc) return rc;
  data = json_pack("{s:I, s:s, s:O, s:O, s:O, s:I}", "invoice_id", (json_int_t)*invoice_id, "number", number, "kind", json_object_get(inv, "kind"),
                   "total_cents", json_object_get(inv, "total_cents"), "currency", json_object_get(inv, "currency"),
                   "customer_id", (json_int_t)*customer_id);
  rc = lp_event(db, now, lead_id, a->id, "invoice_issued", "invoice", *invoice_id, data, err);
  json_decref(data);
  return rc;
}

json_t *lp_invoice_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM invoices WHERE id = $1", args, err);
  json_decref(args);
  if (!row) {
    if (!err->code) lp_fail(err, LP_ENOTFOUND, "No invoice %lld", (long long)id);
    return NULL;
  }
  json_t *cust = customer_row(db, a, iget(row, "customer_id"), err);
  if (!cust) {
    json_decref(row);
    lp_err_release(err);
    lp_fail(err, LP_ENOTFOUND, "No invoice %lld", (long long)id);
    return NULL;
  }
  json_t *o = invoice_present(row);
  json_t *c = customer_present(cust);
  json_object_set_new(o, "customer", c);
  json_decref(cust);
  json_decref(row);
  return o;
}

typedef struct {
  const lp_actor *a;
  int64_t id, expect, now, paid_at, new_id;
} finalize_ctx;

static lp_code finalize_fn(lp_db *db, void *p, lp_err *err) {
  finalize_ctx *c = p;
  c->new_id = 0;
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  json_t *row = lp_query_one(db, "SELECT * FROM invoices WHERE id = $1", args, err);
  json_decref(args);
  if (!row) return err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No invoice %lld", (long long)c->id);
  json_t *cust = customer_row(db, c->a, iget(row, "customer_id"), err);
  lp_code rc = LP_OK;
  if (!cust) { lp_err_release(err); rc = lp_fail(err, LP_ENOTFOUND, "No invoice %lld", (long long)c->id); }
  else if (c->expect >= 0 && iget(row, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The invoice has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  else if (strcmp(sget(row, "kind"), "proforma")) rc = lp_fail(err, LP_ECONFLICT, "%s is an invoice already; only a proforma is finalized", sget(row, "number"));
  else if (strcmp(sget(row, "status"), "issued"))
    rc = lp_fail(err, LP_ECONFLICT, "The proforma %s was finalized already", sget(row, "number"));
  if (rc) { json_decref(row); json_decref(cust); return rc; }
  int64_t paid = c->paid_at ? c->paid_at : c->now;
  int64_t lead_id = iget(row, "lead_id");
  json_t *spec = json_pack("{s:s, s:s, s:s, s:O, s:o, s:O, s:O, s:O, s:I, s:I, s:I, s:I}", "kind", "invoice", "series", "INV",
    "status", "paid", "currency", json_object_get(row, "currency"),
    "lines", json_loads(sget(row, "lines") ? sget(row, "lines") : "[]", 0, NULL),
    "subtotal_cents", json_object_get(row, "subtotal_cents"), "tax_cents", json_object_get(row, "tax_cents"),
    "total_cents", json_object_get(row, "total_cents"), "issued_at", (json_int_t)c->now, "due_at", (json_int_t)c->now,
    "paid_at", (json_int_t)paid, "proforma_id", (json_int_t)c->id);
  char number[32];
  rc = invoice_insert(db, spec, iget(row, "customer_id"), lead_id, c->now, &c->new_id, number, sizeof number, err);
  json_decref(spec);
  if (rc == LP_OK) {
    json_t *set = json_pack("{s:s, s:I, s:I, s:I}", "status", "paid", "paid_at", (json_int_t)paid, "invoice_id", (json_int_t)c->new_id,
                            "updated_at", (json_int_t)c->now);
    rc = lp_update(db, "invoices", c->id, set, iget(row, "version"), err);
    json_decref(set);
  }
  if (rc == LP_OK && !iget(cust, "active")) {
    json_t *set = json_pack("{s:i, s:I}", "active", 1, "updated_at", (json_int_t)c->now);
    rc = lp_update(db, "customers", iget(cust, "id"), set, -1, err);
    json_decref(set);
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:O, s:s}", "customer_id", json_object_get(cust, "id"), "reason", "proforma paid");
      rc = lp_event(db, c->now, lead_id, c->a->id, "customer_activated", "customer", iget(cust, "id"), data, err);
      json_decref(data);
    }
  }
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:O, s:I, s:s, s:O}", "proforma_id", (json_int_t)c->id, "proforma_number", json_object_get(row, "number"),
                             "invoice_id", (json_int_t)c->new_id, "number", number, "total_cents", json_object_get(row, "total_cents"));
    rc = lp_event(db, c->now, lead_id, c->a->id, "proforma_finalized", "invoice", c->new_id, data, err);
    json_decref(data);
  }
  json_decref(cust);
  json_decref(row);
  return rc;
}

json_t *lp_invoice_finalize(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err) {
  finalize_ctx c = {a, id, expect, now, 0, 0};
  json_t *pa = json_object_get(req, "paid_at");
  if (pa && !json_is_null(pa) && (!json_is_string(pa) || lp_time_parse(json_string_value(pa), &c.paid_at) != 0)) {
    lp_fail_field(err, "paid_at", "must be an RFC 3339 time");
    return NULL;
  }
  if (c.paid_at > now + 86400) { lp_fail_field(err, "paid_at", "must not be in the future"); return NULL; }
  if (lp_store_write(s, finalize_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_invoice_get(db, a, c.new_id, err) : NULL;
}

lp_code lp_invoice_render(lp_db *db, const lp_actor *a, int64_t id, int pdf, lp_buf *out, lp_err *err) {
  json_t *inv = lp_invoice_get(db, a, id, err);
  if (!inv) return err->code;
  json_t *company = lp_settings_get(db, err);
  lp_code rc = err->code;
  if (rc == LP_OK) rc = pdf ? lp_invoice_pdf(inv, company, out, err) : lp_invoice_html(inv, company, out, err);
  json_decref(company);
  json_decref(inv);
  return rc;
}

/* ---------------------------------------------------------------- conversion */

typedef struct {
  const lp_actor *a;
  int64_t lead_id, expect, now;
  json_t *req;              /* the request body (kept for an approval) */
  const char *mode;
  json_t *quote_ids;        /* array of ids */
  json_t *services;         /* checked lines, or NULL */
  int dry_run;
  int64_t approval_id;      /* carrying out this approved request */
  const lp_actor *decider;
  /* answered */
  int status;
  json_t *result;
  int64_t customer_id, invoice_id;
} convert_ctx;

static lp_code convert_fn(lp_db *db, void *p, lp_err *err) {
  convert_ctx *c = p;
  json_decref(c->result);
  c->result = NULL;
  c->status = 201;
  c->customer_id = c->invoice_id = 0;
  json_t *row = lead_of(db, c->a, c->lead_id, err);
  if (!row) return err->code;
  if (c->expect >= 0 && iget(row, "version") != c->expect) {
    json_decref(row);
    return lp_fail(err, LP_EVERSION, "The lead has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  }
  lp_plan_in in = {0};
  in.actor = c->a;
  in.now = c->now;
  in.lead = row;
  json_t *args = json_pack("[I]", (json_int_t)c->lead_id);
  in.tasks = lp_query(db, "SELECT * FROM tasks WHERE lead_id = $1 AND status = 'open' ORDER BY id", args, err);
  in.threads = lp_query(db, "SELECT * FROM threads WHERE lead_id = $1 AND status = 'open' ORDER BY id", args, err);
  json_decref(args);
  in.outcome = lp_query_one(db, "SELECT * FROM outcomes WHERE key = 'converted'", NULL, err);
  in.known_groups = json_array();
  json_t *quotes = json_array();
  size_t i;
  json_t *q;
  json_array_foreach(c->quote_ids, i, q) {
    args = json_pack("[O, I]", q, (json_int_t)c->lead_id);
    json_t *qr = lp_query_one(db, "SELECT * FROM quotes WHERE id = $1 AND lead_id = $2", args, err);
    json_decref(args);
    if (!qr && !err->code) {
      char why[80];
      snprintf(why, sizeof why, "quote %lld is not a quote of this lead", (long long)json_integer_value(q));
      lp_fail_field(err, "quote_ids", why);
    }
    if (qr) json_array_append_new(quotes, qr);
  }
  char *cur = currency_setting(db, err);
  int64_t due = lp_setting_int(db, "invoice_due_days", 14, err);
  lp_plan plan;
  lp_plan_init(&plan, LP_PLAN_CONVERT);
  lp_code rc = err->code;
  if (rc == LP_OK) {
    lp_convert cv = {c->mode, quotes, c->services, cur, due};
    lp_plan_release(&plan);
    rc = lp_plan_convert(&in, &cv, &plan, err);
  }
  if (rc == LP_OK && c->dry_run) {
    c->result = lp_lead_preview(db, row, &plan, c->now);
    /* the number it would take now (another conversion may take it first) */
    json_t *inv = json_object_get(json_object_get(c->result, "plan"), "invoice");
    args = json_pack("[s, i]", sget(inv, "series"), (int)iget(inv, "year"));
    int64_t last = lp_query_int(db, "SELECT last_number FROM number_series WHERE series = $1 AND year = $2", args, 0, err);
    json_decref(args);
    char number[32];
    lp_invoice_number(sget(inv, "series"), (int)iget(inv, "year"), last + 1, number, sizeof number);
    json_object_set_new(inv, "number_preview", json_string(number));
    json_object_set_new(inv, "issued_at", lp_json_time(json_object_get(inv, "issued_at")));
    json_object_set_new(inv, "due_at", lp_json_time(json_object_get(inv, "due_at")));
    c->status = 200;
  } else if (rc == LP_OK) {
    lp_applied out = {0};
    json_t *ap;
    rc = lp_apply_approved(db, c->a, row, &plan, c->req, c->approval_id, c->decider, c->now, &out, &ap, err);
    if (ap) c->result = json_pack("{s:o}", "approval", ap);
    if (out.approval_id) c->status = 202;
    c->customer_id = out.customer_id;
    c->invoice_id = out.invoice_id;
  }
  lp_plan_release(&plan);
  free(cur);
  json_decref(quotes);
  json_decref(in.tasks);
  json_decref(in.threads);
  json_decref(in.outcome);
  json_decref(in.known_groups);
  json_decref(row);
  return rc;
}

/* The answer of a conversion carried out: the lead, the customer with its services, the invoice. */
static json_t *convert_answer(lp_store *s, const lp_actor *a, convert_ctx *c, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return NULL;
  lp_actor all = *a;
  all.view = LP_VIEW_ALL;  /* the one who converted sees what they made */
  json_t *lead = lp_lead_get(db, &all, c->lead_id, c->now, err);
  json_t *cust = lead ? lp_customer_get(db, &all, c->customer_id, err) : NULL;
  json_t *inv = cust ? lp_invoice_get(db, &all, c->invoice_id, err) : NULL;
  if (!inv) { json_decref(lead); json_decref(cust); return NULL; }
  json_t *services = json_incref(json_object_get(cust, "services"));
  return json_pack("{s:o, s:o, s:o, s:o}", "lead", lead, "customer", cust, "services", services, "invoice", inv);
}

static json_t *convert_run(lp_store *s, const lp_actor *a, convert_ctx *c, lp_err *err) {
  lp_code rc;
  if (c->dry_run) {
    lp_db *db = lp_store_reader(s, err);
    rc = db ? convert_fn(db, c, err) : err->code;
  } else {
    rc = lp_store_write(s, convert_fn, c, err);
  }
  if (rc != LP_OK) { json_decref(c->result); return NULL; }
  if (c->result) return c->result;
  return convert_answer(s, a, c, err);
}

/* Checks a conversion request's shape: mode, quote_ids (distinct integers), services (lines). */
static lp_code convert_check(json_t *req, int64_t now, convert_ctx *c, lp_err *err) {
  json_t *m = json_object_get(req, "mode");
  if (!json_is_string(m)) lp_fail_field(err, "mode", m ? "must be active_invoice or inactive_proforma" : "required");
  c->mode = json_string_value(m);
  json_t *ids = json_object_get(req, "quote_ids");
  if (ids && !json_is_null(ids)) {
    if (!json_is_array(ids) || json_array_size(ids) > 50) lp_fail_field(err, "quote_ids", "must be an array of quote ids");
    else {
      size_t i, j;
      json_t *v;
      json_array_foreach(ids, i, v) {
        if (!json_is_integer(v)) { lp_fail_field(err, "quote_ids", "must be an array of quote ids"); break; }
        for (j = 0; j < i; j++)
          if (json_integer_value(json_array_get(ids, j)) == json_integer_value(v)) lp_fail_field(err, "quote_ids", "a quote is named twice");
      }
      c->quote_ids = json_incref(ids);
    }
  }
  if (!c->quote_ids) c->quote_ids = json_array();
  json_t *sv = json_object_get(req, "services");
  if (sv && !json_is_null(sv)) {
    char today[11];
    lp_date_of(now, today);
    lp_totals t;
    lp_err e2 = LP_ERR_INIT;
    if (lp_lines_check(sv, "services", 1, today, &c->services, &t, &e2) != LP_OK) {
      const char *k;
      json_t *v;
      json_object_foreach(e2.fields, k, v) lp_fail_field(err, k, json_string_value(v));
      if (!e2.fields) lp_fail_field(err, "services", e2.message);
    }
    lp_err_release(&e2);
  }
  return err->code;
}

json_t *lp_lead_convert(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *req, int dry_run, int64_t expect,
                        int64_t now, int *status, lp_err *err) {
  convert_ctx c = {0};
  c.a = a;
  c.lead_id = lead_id;
  c.expect = expect;
  c.now = now;
  c.req = req;
  c.dry_run = dry_run;
  json_t *o = NULL;
  if (convert_check(req, now, &c, err) == LP_OK) o = convert_run(s, a, &c, err);
  *status = c.status;
  json_decref(c.quote_ids);
  json_decref(c.services);
  return o;
}

json_t *lp_lead_convert_approved(lp_store *s, const lp_actor *requester, const lp_actor *decider, int64_t approval_id,
                                 int64_t lead_id, json_t *params, int64_t now, lp_err *err) {
  lp_actor a = *requester;  /* as the requester, now allowed */
  for (int i = 0; i < LP_ACT_COUNT; i++) if (a.perm[i] == LP_REQUEST) a.perm[i] = LP_ALLOW;
  convert_ctx c = {0};
  c.a = &a;
  c.lead_id = lead_id;
  c.expect = -1;
  c.now = now;
  c.req = params;
  c.approval_id = approval_id;
  c.decider = decider;
  json_t *o = NULL;
  if (convert_check(params, now, &c, err) == LP_OK) o = convert_run(s, &a, &c, err);
  json_decref(c.quote_ids);
  json_decref(c.services);
  return o;
}
