/* reports.c — GET /api/v1/reports/outcomes and /api/v1/reports/lost-reasons: JSON, or CSV with
 * ?format=csv (names as well as ids, RFC 4180 quoting). The figures come from the kept counters
 * (store/reports.c), within the caller's leads.view. */
#include <math.h>
#include "http/routes/handlers.h"
#include "store/reports.h"
#include "util/csv.h"

static const char *param(void *ctx, const char *name) { return lp_req_query(ctx, name); }

static void csv_num(lp_buf *b, json_t *v) {
  if (json_is_integer(v)) lp_buf_printf(b, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) lp_buf_printf(b, "%.4f", json_real_value(v));
}

static const char *const tally_cols[] = {"open", "won", "lost", "neutral", "total", "win_rate", "value_won_cents"};
#define NTALLY (sizeof tally_cols / sizeof *tally_cols)

lp_code h_report_outcomes(lp_req *r) {
  int csv = lp_req_want_csv(r);
  if (csv < 0) return r->err.code;
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_report_outcomes(db, &r->actor, param, r, r->now, &r->err) : NULL;
  if (!o) return r->err.code ? r->err.code : LP_EINTERNAL;
  if (!csv) return lp_reply(r, 200, o);
  json_t *series = json_object_get(o, "series");
  if (series) {  /* ?interval=: the CSV is the time series, one line per period */
    static const char *const cols[] = {"new", "won", "lost", "neutral", "value_won_cents"};
    lp_buf b = LP_BUF_INIT((size_t)64 << 20);
    lp_buf_puts(&b, "from,to,new,won,lost,neutral,value_won_cents\r\n");
    size_t i;
    json_t *p;
    json_array_foreach(series, i, p) {
      lp_csv_field(&b, json_string_value(json_object_get(p, "from")), 1);
      lp_csv_field(&b, json_string_value(json_object_get(p, "to")), 0);
      for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) { lp_buf_add(&b, ",", 1); csv_num(&b, json_object_get(p, cols[k])); }
      lp_buf_puts(&b, "\r\n");
    }
    json_decref(o);
    return lp_reply_csv(r, &b, "outcomes-trend");
  }
  int compare = json_object_get(o, "previous_range") != NULL;
  lp_buf b = LP_BUF_INIT((size_t)64 << 20);
  lp_buf_puts(&b, "key,label");
  for (size_t i = 0; i < NTALLY; i++) lp_buf_printf(&b, ",%s", tally_cols[i]);
  if (compare) for (size_t i = 0; i < NTALLY; i++) lp_buf_printf(&b, ",previous_%s", tally_cols[i]);
  lp_buf_puts(&b, "\r\n");
  json_t *items = json_object_get(o, "items"), *totals = json_object_get(o, "totals");
  for (size_t i = 0; i <= json_array_size(items); i++) {
    json_t *row = i < json_array_size(items) ? json_array_get(items, i) : totals;
    lp_csv_field(&b, i < json_array_size(items) ? json_string_value(json_object_get(row, "key")) : "", 1);
    lp_csv_field(&b, i < json_array_size(items) ? json_string_value(json_object_get(row, "label")) : "Total", 0);
    for (size_t k = 0; k < NTALLY; k++) { lp_buf_add(&b, ",", 1); csv_num(&b, json_object_get(row, tally_cols[k])); }
    json_t *p = json_object_get(row, "previous");
    if (compare) for (size_t k = 0; k < NTALLY; k++) { lp_buf_add(&b, ",", 1); csv_num(&b, json_object_get(p, tally_cols[k])); }
    lp_buf_puts(&b, "\r\n");
  }
  json_decref(o);
  return lp_reply_csv(r, &b, "outcomes");
}

lp_code h_report_lost_reasons(lp_req *r) {
  int csv = lp_req_want_csv(r);
  if (csv < 0) return r->err.code;
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_report_lost_reasons(db, &r->actor, param, r, r->now, &r->err) : NULL;
  if (!o) return r->err.code ? r->err.code : LP_EINTERNAL;
  if (!csv) return lp_reply(r, 200, o);
  int grouped = json_object_get(o, "group_by") != NULL;
  lp_buf b = LP_BUF_INIT((size_t)64 << 20);
  lp_buf_puts(&b, grouped ? "key,label,reason_id,reason,count,share\r\n" : "reason_id,reason,count,share\r\n");
  size_t i;
  json_t *row;
  json_array_foreach(json_object_get(o, "items"), i, row) {
    if (grouped) {
      lp_csv_field(&b, json_string_value(json_object_get(row, "key")), 1);
      lp_csv_field(&b, json_string_value(json_object_get(row, "label")), 0);
      lp_buf_add(&b, ",", 1);
    }
    csv_num(&b, json_object_get(row, "reason_id"));
    lp_csv_field(&b, json_string_value(json_object_get(row, "name")), 0);
    lp_buf_add(&b, ",", 1);
    csv_num(&b, json_object_get(row, "count"));
    lp_buf_add(&b, ",", 1);
    csv_num(&b, json_object_get(row, "share"));
    lp_buf_puts(&b, "\r\n");
  }
  lp_buf_puts(&b, grouped ? ",,,(no reason)," : ",(no reason),");
  csv_num(&b, json_object_get(o, "no_reason"));
  lp_buf_puts(&b, ",\r\n");
  json_decref(o);
  return lp_reply_csv(r, &b, "lost-reasons");
}
