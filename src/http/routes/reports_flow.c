/* reports_flow.c — GET /api/v1/reports/aging, /reports/funnel, /reports/win-back: the query's
 * range and filters are read here, the figures come from lib/store/reports_flow.c. Each answers
 * JSON, or CSV with ?format=csv (one line per row of `items`, then the total where there is one). */
#include <stdlib.h>
#include <string.h>
#include "http/routes/reports_flow.h"
#include "store/reports_flow.h"
#include "util/csv.h"
#include "util/timefmt.h"

#define DEFAULT_RANGE_DAYS 90

static int64_t time_arg(lp_req *r, const char *name, int64_t dflt) {
  const char *s = lp_req_query(r, name);
  if (!s || !*s) return dflt;
  int64_t t;
  if (lp_time_parse(s, &t) != 0) { lp_fail_field(&r->err, name, "must be an RFC 3339 time or a date (YYYY-MM-DD)"); return dflt; }
  return t;
}

static int64_t id_arg(lp_req *r, const char *name, int allow_me) {
  const char *s = lp_req_query(r, name);
  if (!s || !*s || !strcmp(s, "any")) return 0;
  if (allow_me && !strcmp(s, "me")) return r->actor.id;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end || v <= 0) { lp_fail_field(&r->err, name, "must be an id, me or any"); return 0; }
  return v;
}

/* The range and filters; LP_OK or a validation error in r->err. A date `to` means up to the
 * end of that day. */
static lp_code read_q(lp_req *r, lp_flow_q *q) {
  memset(q, 0, sizeof *q);
  const char *to_s = lp_req_query(r, "to");
  q->to = time_arg(r, "to", r->now + 1);  /* now included */
  if (to_s && strlen(to_s) == 10 && !r->err.code) q->to += 86400;
  q->from = time_arg(r, "from", q->to - DEFAULT_RANGE_DAYS * 86400);
  q->owner = id_arg(r, "owner", 1);
  q->source = id_arg(r, "source", 0);
  const char *clock = lp_req_query(r, "clock");
  q->clock = -1;
  if (clock && !strcmp(clock, "business")) q->clock = 1;
  else if (clock && !strcmp(clock, "calendar")) q->clock = 0;
  else if (clock) lp_fail_field(&r->err, "clock", "must be business or calendar");
  lp_req_want_csv(r);  /* a bad format: its field error */
  if (!r->err.code && q->from >= q->to) lp_fail_field(&r->err, "from", "must be before to");
  return r->err.code;
}

static void cell(lp_buf *b, json_t *v, int first) {
  char tmp[64];
  const char *s = "";
  if (json_is_string(v)) s = json_string_value(v);
  else if (json_is_integer(v)) { snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v)); s = tmp; }
  else if (json_is_real(v)) { snprintf(tmp, sizeof tmp, "%.4g", json_real_value(v)); s = tmp; }
  else if (json_is_true(v)) s = "true";
  else if (json_is_false(v)) s = "false";
  lp_csv_field(b, s, first);
}

/* Answers o as JSON, or as CSV of its items (+ total) in the given columns. */
static lp_code answer(lp_req *r, json_t *o, const char *const *cols, const char *name) {
  if (lp_req_want_csv(r) != 1) return lp_reply(r, 200, o);
  lp_buf b = LP_BUF_INIT((size_t)64 << 20);
  for (int c = 0; cols[c]; c++) lp_csv_field(&b, cols[c], c == 0);
  lp_buf_puts(&b, "\r\n");
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(o, "items"), i, it) {
    for (int c = 0; cols[c]; c++) cell(&b, json_object_get(it, cols[c]), c == 0);
    lp_buf_puts(&b, "\r\n");
  }
  json_t *t = json_object_get(o, "total");
  if (t) {
    lp_csv_field(&b, "total", 1);
    for (int c = 1; cols[c]; c++) cell(&b, json_object_get(t, cols[c]), 0);
    lp_buf_puts(&b, "\r\n");
  }
  json_decref(o);
  return lp_reply_csv(r, &b, name);
}

lp_code h_report_aging(lp_req *r) {
  lp_flow_q q;
  if (read_q(r, &q) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_report_aging(db, &r->actor, &q, r->now, &r->err);
  if (!o) return r->err.code;
  static const char *const cols[] = {"owner_id", "owner_name", "open", "age_ok", "age_warning", "age_over", "sla_ok",
                                     "sla_warning", "sla_breached", "closed", "median_days_to_close",
                                     "closed_within_target", "share_closed_within_target", NULL};
  return answer(r, o, cols, "aging");
}

lp_code h_report_funnel(lp_req *r) {
  lp_flow_q q;
  if (read_q(r, &q) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_report_funnel(db, &r->actor, &q, r->now, &r->err);
  if (!o) return r->err.code;
  static const char *const cols[] = {"stage_id", "name", "position", "reached", "moved_on", "conversion",
                                     "conversion_to_next", "in_stage_now", "median_days", NULL};
  return answer(r, o, cols, "funnel");
}

lp_code h_report_winback(lp_req *r) {
  lp_flow_q q;
  if (read_q(r, &q) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_report_winback(lp_req_store(r), db, &r->actor, &q, r->now, &r->err);
  if (!o) return r->err.code;
  static const char *const cols[] = {"reason_id", "name", "lost", "came_back", "reopened", "new_lead", "won_later",
                                     "came_back_share", "won_later_share", NULL};
  return answer(r, o, cols, "win-back");
}
