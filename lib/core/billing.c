/* billing.c — lines, tax, totals and invoice numbers (see billing.h). Pure. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/billing.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

#define MAX_LINES 100
#define MAX_QTY 1000000
#define MAX_PRICE 10000000000LL  /* 100 million in major units */

/* x * bp / 10000, rounded half away from zero (128-bit: no overflow within the limits). */
static int64_t tax_of(int64_t subtotal, int64_t bp) {
  __int128 p = (__int128)subtotal * bp;
  __int128 q = p / 10000, r = p % 10000;
  if (r >= 5000) q++;
  else if (r <= -5000) q--;
  return (int64_t)q;
}

static void line_figures(json_t *l, lp_totals *t) {
  int64_t sub = iget(l, "quantity") * iget(l, "unit_price_cents");
  int64_t tax = tax_of(sub, iget(l, "tax_rate_bp"));
  json_object_set_new(l, "subtotal_cents", json_integer(sub));
  json_object_set_new(l, "tax_cents", json_integer(tax));
  json_object_set_new(l, "total_cents", json_integer(sub + tax));
  if (!t) return;
  t->subtotal_cents += sub;
  t->tax_cents += tax;
  t->total_cents += sub + tax;
  if (!strcmp(sget(l, "period") ? sget(l, "period") : "", "monthly")) t->monthly_cents += sub + tax;
  else t->one_time_cents += sub + tax;
}

void lp_lines_totals(json_t *lines, lp_totals *t) {
  memset(t, 0, sizeof *t);
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) line_figures(l, t);
}

static int date_ok(const char *s) {
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
  for (int i = 0; i < 10; i++) if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return 0;
  int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static void bad(lp_err *err, const char *field, size_t i, const char *key, const char *why) {
  char name[96];
  snprintf(name, sizeof name, "%s[%zu].%s", field, i, key);
  lp_fail_field(err, name, why);
}

lp_code lp_lines_check(json_t *in, const char *field, int with_start, const char *today, json_t **out, lp_totals *t,
                       lp_err *err) {
  *out = NULL;
  memset(t, 0, sizeof *t);
  if (!json_is_array(in)) return lp_fail_field(err, field, "must be an array of lines");
  if (json_array_size(in) == 0) return lp_fail_field(err, field, "at least one line is needed");
  if (json_array_size(in) > MAX_LINES) return lp_fail_field(err, field, "at most 100 lines");
  json_t *lines = json_array();
  size_t i;
  json_t *l;
  json_array_foreach(in, i, l) {
    if (!json_is_object(l)) { bad(err, field, i, "line", "must be an object"); continue; }
    json_t *d = json_object_get(l, "description"), *q = json_object_get(l, "quantity"),
           *p = json_object_get(l, "unit_price_cents"), *pe = json_object_get(l, "period"), *tr = json_object_get(l, "tax_rate");
    int ok = 1;
    const char *desc = json_string_value(d);
    while (desc && isspace((unsigned char)*desc)) desc++;
    if (!desc || !*desc) { bad(err, field, i, "description", "required"); ok = 0; }
    else if (strlen(desc) > 500) { bad(err, field, i, "description", "too long (at most 500 bytes)"); ok = 0; }
    int64_t qty = 1;
    if (q && !json_is_null(q)) {
      if (!json_is_integer(q) || json_integer_value(q) < 1 || json_integer_value(q) > MAX_QTY) {
        bad(err, field, i, "quantity", "must be a whole number from 1 to 1000000"); ok = 0;
      } else qty = json_integer_value(q);
    }
    if (!json_is_integer(p)) { bad(err, field, i, "unit_price_cents", p ? "must be an integer (cents)" : "required"); ok = 0; }
    else if (json_integer_value(p) > MAX_PRICE || json_integer_value(p) < -MAX_PRICE) { bad(err, field, i, "unit_price_cents", "out of range"); ok = 0; }
    const char *period = pe && !json_is_null(pe) ? json_string_value(pe) : "one_time";
    if (!period || (strcmp(period, "one_time") && strcmp(period, "monthly"))) { bad(err, field, i, "period", "must be one_time or monthly"); ok = 0; }
    int64_t bp = 0;
    if (tr && !json_is_null(tr)) {
      double r = json_is_number(tr) ? json_number_value(tr) : -1;
      double scaled = r * 100.0;
      if (!json_is_number(tr) || r < 0 || r > 100 || fabs(scaled - nearbyint(scaled)) > 1e-6) {
        bad(err, field, i, "tax_rate", "must be a percentage from 0 to 100 with at most two decimals"); ok = 0;
      } else bp = (int64_t)nearbyint(scaled);
    }
    const char *start = NULL;
    json_t *qid = NULL;
    if (with_start) {
      json_t *sd = json_object_get(l, "start_date");
      start = sd && !json_is_null(sd) ? json_string_value(sd) : today;
      if (!date_ok(start)) { bad(err, field, i, "start_date", "must be a date YYYY-MM-DD"); ok = 0; }
      qid = json_object_get(l, "quote_id");
      if (qid && !json_is_null(qid) && !json_is_integer(qid)) { bad(err, field, i, "quote_id", "must be an integer"); ok = 0; }
    }
    if (!ok) continue;
    size_t dn = strlen(desc);
    while (dn && isspace((unsigned char)desc[dn - 1])) dn--;
    json_t *o = json_pack("{s:s%, s:I, s:I, s:s, s:I}", "description", desc, dn, "quantity", (json_int_t)qty,
                          "unit_price_cents", (json_int_t)json_integer_value(p), "period", period, "tax_rate_bp", (json_int_t)bp);
    if (start) json_object_set_new(o, "start_date", json_string(start));
    if (json_is_integer(qid)) json_object_set(o, "quote_id", qid);
    line_figures(o, t);
    json_array_append_new(lines, o);
  }
  if (err->code == LP_EVALIDATION) { json_decref(lines); return LP_EVALIDATION; }
  if (t->total_cents < 0) { json_decref(lines); return lp_fail_field(err, field, "the total must not be negative"); }
  *out = lines;
  return LP_OK;
}

json_t *lp_line_present(json_t *l) {
  json_t *o = json_deep_copy(l);
  int64_t bp = iget(l, "tax_rate_bp");
  json_object_del(o, "tax_rate_bp");
  json_object_set_new(o, "tax_rate", bp % 100 ? json_real((double)bp / 100.0) : json_integer(bp / 100));
  return o;
}

json_t *lp_lines_present(json_t *lines) {
  json_t *a = json_array();
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) json_array_append_new(a, lp_line_present(l));
  return a;
}

void lp_invoice_number(const char *series, int year, int64_t seq, char *out, size_t n) {
  snprintf(out, n, "%s-%04d-%06lld", series, year, (long long)seq);
}

int lp_year_of(int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  return tm.tm_year + 1900;
}

void lp_date_of(int64_t t, char out[11]) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

int lp_quote_move_ok(const char *from, const char *to) {
  if (!strcmp(from, "new")) return strcmp(to, "sent") ? -1 : 0;
  if (!strcmp(from, "sent")) return strcmp(to, "accepted") && strcmp(to, "declined") ? -1 : 0;
  return -1;
}

#define W FF_WRITE
static const lp_field customer_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"lead_id", FT_REF, 0, 0, "leads"},
  {"full_name", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 200, NULL},
  {"company", FT_TEXT, W, 200, NULL},
  {"login", FT_TEXT, W, 200, NULL},
  {"emails", FT_EMAILS, W | FF_NOTNULL, 20, NULL},
  {"phones", FT_PHONES, W | FF_NOTNULL, 20, NULL},
  {"partner_id", FT_REF, W, 0, "partners"},
  {"location_id", FT_REF, W, 0, "locations"},
  {"owner_id", FT_REF, W, 0, "users"},
  {"country", FT_COUNTRY, W, 2, NULL},
  {"region", FT_TEXT, W, 200, NULL},
  {"city", FT_TEXT, W, 200, NULL},
  {"email_opt_out", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"sms_opt_out", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"active", FT_BOOL, FF_NOTNULL, 0, NULL},
  {"balance_cents", FT_INT, 0, 0, NULL},
  {"currency", FT_CURRENCY, 0, 3, NULL},
  {"created_at", FT_TIME, 0, 0, NULL},
  {"updated_at", FT_TIME, 0, 0, NULL},
  {"search", FT_TEXT, FF_HIDDEN, 0, NULL},
  {"created_by", FT_REF, FF_HIDDEN, 0, "users"},
  {NULL, 0, 0, 0, NULL}};
#undef W
const lp_rectype lp_rt_customer = {"customer", "customers", customer_fields};
