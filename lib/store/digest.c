/* digest.c — the weekly digest: figures from the reports as the recipient sees them, rendered as
 * text and HTML (everything from the database escaped), queued as user_mails rows (see digest.h). */
#include <stdlib.h>
#include <string.h>
#include "jobs/jobs.h"
#include "msg/formhtml.h"
#include "store/digest.h"
#include "store/lists.h"
#include "store/reports.h"
#include "store/reports_flow.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/tz.h"

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- the week slot */

/* The proleptic Gregorian date of a day number (days since 1970-01-01). */
static void civil(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int lp_digest_slot(int64_t now, int weekday, int hour, const char *tz_name, char slot[16], int64_t *due) {
  lp_tz tz = {0};
  int have = tz_name && *tz_name && strcmp(tz_name, "UTC");
  if (have && lp_tz_load(tz_name, &tz) != 0) return -1;
  int64_t local = now + lp_tz_offset(have ? &tz : NULL, now);
  int64_t day = floor_div(local, 86400);
  int64_t iso = ((day + 3) % 7 + 7) % 7 + 1;  /* 1970-01-01 was a Thursday (4) */
  int64_t monday = day - (iso - 1);
  /* the ISO week: the year of its Thursday, counted from that year's first Thursday */
  int64_t y;
  int m, d;
  civil(monday + 3, &y, &m, &d);
  int64_t jan1 = monday + 3;
  { int64_t yy; int mm, dd; for (;;) { civil(jan1 - 1, &yy, &mm, &dd); if (yy != y) break; jan1 -= 1; } }
  snprintf(slot, 16, "%04d-W%02d", (int)(y % 10000), (int)((monday + 3 - jan1) / 7 + 1));
  *due = lp_tz_utc(have ? &tz : NULL, (monday + weekday - 1) * 86400 + (int64_t)hour * 3600);
  if (have) lp_tz_release(&tz);
  return 0;
}

lp_code lp_digest_offer(lp_db *db, int64_t now, lp_err *err) {
  json_t *rows = lp_query(db, "SELECT key, value FROM settings WHERE key IN ('digest_weekday', 'digest_hour', 'time_zone')", NULL, err);
  if (!rows) return err->code;
  int weekday = 1, hour = 8;
  char zone[80] = "";
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    json_t *v = json_loads(sget(r, "value"), JSON_DECODE_ANY, NULL);
    if (!strcmp(sget(r, "key"), "digest_weekday") && json_is_integer(v)) weekday = (int)json_integer_value(v);
    if (!strcmp(sget(r, "key"), "digest_hour") && json_is_integer(v)) hour = (int)json_integer_value(v);
    if (!strcmp(sget(r, "key"), "time_zone") && json_is_string(v)) snprintf(zone, sizeof zone, "%s", json_string_value(v));
    json_decref(v);
  }
  json_decref(rows);
  if (weekday < 1 || weekday > 7) return LP_OK;  /* 0: no digest */
  char slot[16];
  int64_t due;
  if (lp_digest_slot(now, weekday, hour, zone, slot, &due) != 0 &&
      lp_digest_slot(now, weekday, hour, NULL, slot, &due) != 0) return LP_OK;
  if (now < due || now >= due + 86400) return LP_OK;  /* not yet, or missed by more than a day */
  char key[40];
  snprintf(key, sizeof key, "digest:%s", slot);
  json_t *p = json_pack("{s:s}", "slot", slot);
  lp_code rc = lp_job_enqueue(db, "digest", NULL, 0, p, now, now, 0, 0, key, NULL, err);
  json_decref(p);
  return rc;
}

/* ---------------------------------------------------------------- the figures */

typedef struct { const char *v[8]; const char *k[8]; int n; } params;
static const char *param(void *ctx, const char *name) {
  params *p = ctx;
  for (int i = 0; i < p->n; i++) if (!strcmp(p->k[i], name)) return p->v[i];
  return NULL;
}

static void money(char *out, size_t n, int64_t cents, const char *cur) {
  int64_t a = cents < 0 ? -cents : cents;
  snprintf(out, n, "%s%lld.%02lld %s", cents < 0 ? "-" : "", (long long)(a / 100), (long long)(a % 100), cur);
}

static void rate(char *out, size_t n, json_t *r) {
  if (json_is_number(r)) snprintf(out, n, "%d%%", (int)(json_number_value(r) * 100 + 0.5));
  else snprintf(out, n, "-");
}

static void day_text(int64_t day, char out[11]) {
  char t[LP_TIME_LEN];
  lp_time_format(day * 86400, t);
  memcpy(out, t, 10);
  out[10] = 0;
}

/* {from, to, new, won, lost, win_rate, value_won_cents, previous: {...}, open_over_breach,
 *  breach_days, lost_reasons: [{name, count}] (the top 3)} */
static json_t *figures(lp_db *db, const lp_actor *a, int64_t now, lp_err *err) {
  int64_t d2 = now / 86400 - 1, d1 = d2 - 6;
  char from[11], to[11];
  day_text(d1, from);
  day_text(d2, to);
  params pc = {{from, to, "created", "previous"}, {"from", "to", "date", "compare"}, 4};
  json_t *created = lp_report_outcomes(db, a, param, &pc, now, err);
  params pk = {{from, to, "closed", "previous"}, {"from", "to", "date", "compare"}, 4};
  json_t *closed = created ? lp_report_outcomes(db, a, param, &pk, now, err) : NULL;
  params pl = {{from, to}, {"from", "to"}, 2};
  json_t *lost = closed ? lp_report_lost_reasons(db, a, param, &pl, now, err) : NULL;
  lp_flow_q q = {d1 * 86400, (d2 + 1) * 86400, 0, 0, -1};
  json_t *aging = lost ? lp_report_aging(db, a, &q, now, err) : NULL;
  json_t *out = NULL;
  if (aging) {
    json_t *ct = json_object_get(created, "totals"), *kt = json_object_get(closed, "totals");
    json_t *cp = json_object_get(ct, "previous"), *kp = json_object_get(kt, "previous");
    json_t *reasons = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(lost, "items"), i, it) {
      if (i == 3) break;
      json_array_append_new(reasons, json_pack("{s:O, s:O}", "name", json_object_get(it, "name"), "count", json_object_get(it, "count")));
    }
    out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:O, s:I, s:{s:I, s:I, s:I, s:O, s:I}, s:I, s:I, s:o}",
                    "from", from, "to", to, "new", (json_int_t)iget(ct, "total"), "won", (json_int_t)iget(kt, "won"),
                    "lost", (json_int_t)iget(kt, "lost"), "win_rate", json_object_get(kt, "win_rate"),
                    "value_won_cents", (json_int_t)iget(kt, "value_won_cents"), "previous",
                    "new", (json_int_t)iget(cp, "total"), "won", (json_int_t)iget(kp, "won"), "lost", (json_int_t)iget(kp, "lost"),
                    "win_rate", json_object_get(kp, "win_rate"), "value_won_cents", (json_int_t)iget(kp, "value_won_cents"),
                    "open_over_breach", (json_int_t)iget(json_object_get(aging, "total"), "age_over"),
                    "breach_days", (json_int_t)iget(aging, "breach_days"), "lost_reasons", reasons);
  }
  json_decref(created);
  json_decref(closed);
  json_decref(lost);
  json_decref(aging);
  return out;
}

/* ---------------------------------------------------------------- rendering */

static const struct { const char *label, *path; } report_links[] = {
  {"Won and lost", "/reports"},
  {"Aging and SLA", "/reports/aging"},
  {"Funnel", "/reports/funnel"},
  {"Win-back", "/reports/win-back"},
};

static void esc(lp_buf *b, const char *s) { lp_html_escape(b, s ? s : ""); }

/* One line of figures: text "Label: now (previous 7 days: before)" and an HTML table row. */
static void line(lp_buf *t, lp_buf *h, const char *label, const char *now, const char *before) {
  if (before) lp_buf_printf(t, "%s: %s (previous 7 days: %s)\n", label, now, before);
  else lp_buf_printf(t, "%s: %s\n", label, now);
  lp_buf_puts(h, "<tr><th style=\"text-align:left;padding:4px 12px 4px 0\">");
  esc(h, label);
  lp_buf_puts(h, "</th><td style=\"text-align:right;padding:4px 12px\">");
  esc(h, now);
  lp_buf_puts(h, "</td><td style=\"text-align:right;padding:4px 0;color:#555\">");
  esc(h, before ? before : "");
  lp_buf_puts(h, "</td></tr>\n");
}

json_t *lp_digest_build(lp_db *db, const lp_actor *a, int64_t now, lp_err *err) {
  json_t *f = figures(db, a, now, err);
  if (!f) return NULL;
  json_t *st = lp_settings_raw(db, err);
  if (!st) { json_decref(f); return NULL; }
  const char *company = sget(st, "company_name") && *sget(st, "company_name") ? sget(st, "company_name") : "leadpath";
  const char *cur = sget(st, "currency") && *sget(st, "currency") ? sget(st, "currency") : "EUR";
  const char *base = sget(st, "public_url") ? sget(st, "public_url") : "";
  size_t bl = strlen(base);
  while (bl && base[bl - 1] == '/') bl--;
  json_t *pv = json_object_get(f, "previous");
  const char *scope = a->is_admin ? "all leads" : a->can_manage ? "your team's leads" : "your leads";

  char subject[400];
  snprintf(subject, sizeof subject, "%s weekly digest %s to %s: %lld new, %lld won", company, sget(f, "from"), sget(f, "to"),
           (long long)iget(f, "new"), (long long)iget(f, "won"));
  lp_buf t = LP_BUF_INIT(1 << 20), h = LP_BUF_INIT(1 << 20);
  lp_buf_printf(&t, "Hello %s,\n\nThe week of %s, %s to %s (whole UTC days), beside the 7 days before:\n\n", a->name, scope,
                sget(f, "from"), sget(f, "to"));
  lp_buf_puts(&h, "<!DOCTYPE html><html><body style=\"font-family:sans-serif;color:#222\">\n<p>Hello ");
  esc(&h, a->name);
  lp_buf_puts(&h, ",</p>\n<p>The week of ");
  esc(&h, scope);
  lp_buf_puts(&h, ", ");
  esc(&h, sget(f, "from"));
  lp_buf_puts(&h, " to ");
  esc(&h, sget(f, "to"));
  lp_buf_puts(&h, " (whole UTC days), beside the 7 days before:</p>\n<table style=\"border-collapse:collapse\">\n"
                  "<tr><th></th><th style=\"text-align:right;padding:4px 12px\">This week</th>"
                  "<th style=\"text-align:right;padding:4px 0\">Previous 7 days</th></tr>\n");
  char x[64], y[64];
  static const char *const counts[][2] = {{"new", "New leads"}, {"won", "Won"}, {"lost", "Lost"}};
  for (int i = 0; i < 3; i++) {
    snprintf(x, sizeof x, "%lld", (long long)iget(f, counts[i][0]));
    snprintf(y, sizeof y, "%lld", (long long)iget(pv, counts[i][0]));
    line(&t, &h, counts[i][1], x, y);
  }
  rate(x, sizeof x, json_object_get(f, "win_rate"));
  rate(y, sizeof y, json_object_get(pv, "win_rate"));
  line(&t, &h, "Win rate", x, y);
  money(x, sizeof x, iget(f, "value_won_cents"), cur);
  money(y, sizeof y, iget(pv, "value_won_cents"), cur);
  line(&t, &h, "Value won", x, y);
  char label[80];
  snprintf(label, sizeof label, "Open leads over %lld days", (long long)iget(f, "breach_days"));
  snprintf(x, sizeof x, "%lld", (long long)iget(f, "open_over_breach"));
  line(&t, &h, label, x, NULL);
  lp_buf_puts(&h, "</table>\n");

  json_t *reasons = json_object_get(f, "lost_reasons");
  lp_buf_puts(&t, "\nTop lost reasons this week:\n");
  lp_buf_puts(&h, "<p><b>Top lost reasons this week</b></p>\n<ul>\n");
  if (!json_array_size(reasons)) { lp_buf_puts(&t, "  (none)\n"); lp_buf_puts(&h, "<li>(none)</li>\n"); }
  size_t i;
  json_t *r;
  json_array_foreach(reasons, i, r) {
    lp_buf_printf(&t, "  %s: %lld\n", sget(r, "name"), (long long)iget(r, "count"));
    lp_buf_puts(&h, "<li>");
    esc(&h, sget(r, "name"));
    lp_buf_printf(&h, ": %lld</li>\n", (long long)iget(r, "count"));
  }
  lp_buf_puts(&h, "</ul>\n");

  lp_buf_puts(&t, "\nReports:\n");
  lp_buf_puts(&h, "<p><b>Reports</b></p>\n<ul>\n");
  for (size_t k = 0; k < sizeof report_links / sizeof *report_links; k++) {
    char url[700];
    snprintf(url, sizeof url, "%.*s%s", (int)bl, base, report_links[k].path);
    lp_buf_printf(&t, "  %s: %s\n", report_links[k].label, url);
    lp_buf_puts(&h, "<li><a href=\"");
    esc(&h, url);
    lp_buf_puts(&h, "\">");
    esc(&h, report_links[k].label);
    lp_buf_puts(&h, "</a></li>\n");
  }
  lp_buf_puts(&h, "</ul>\n");
  if (!bl) {
    lp_buf_puts(&t, "(Set public_url in the settings for full links.)\n");
    lp_buf_puts(&h, "<p style=\"color:#555\">(Set public_url in the settings for full links.)</p>\n");
  }
  lp_buf_puts(&t, "\nSent every week by leadpath; an admin changes the day and hour (or turns it off) in the settings.\n");
  lp_buf_puts(&h, "<p style=\"color:#555;font-size:small\">Sent every week by leadpath; an admin changes the day and hour "
                  "(or turns it off) in the settings.</p>\n</body></html>\n");
  json_t *out = json_pack("{s:s, s:s, s:s, s:o}", "subject", subject, "text", lp_buf_str(&t), "html", lp_buf_str(&h), "figures", f);
  lp_buf_release(&t);
  lp_buf_release(&h);
  json_decref(st);
  return out;
}

/* ---------------------------------------------------------------- queueing */

typedef struct { const char *slot; json_t *mails; int64_t now; int queued; } queue_ctx;

static lp_code queue_fn(lp_db *db, void *p, lp_err *err) {
  queue_ctx *c = p;
  c->queued = 0;
  size_t i;
  json_t *m;
  json_array_foreach(c->mails, i, m) {
    json_t *args = json_pack("[s, O]", c->slot, json_object_get(m, "user_id"));
    int64_t have = lp_query_int(db, "SELECT id FROM user_mails WHERE kind = 'digest' AND slot = $1 AND user_id = $2", args, 0, err);
    json_decref(args);
    if (err->code) return err->code;
    if (have) continue;
    json_t *cols = json_pack("{s:O, s:s, s:s, s:O, s:O, s:O, s:O, s:s, s:I}", "user_id", json_object_get(m, "user_id"), "kind", "digest",
                             "slot", c->slot, "to_addr", json_object_get(m, "to_addr"), "subject", json_object_get(m, "subject"),
                             "body", json_object_get(m, "text"), "html", json_object_get(m, "html"), "status", "queued",
                             "created_at", (json_int_t)c->now);
    int64_t id = 0;
    lp_code rc = lp_insert(db, "user_mails", cols, &id, err);
    json_decref(cols);
    if (rc != LP_OK) return rc;
    json_t *data = json_pack("{s:s, s:O, s:O}", "slot", c->slot, "user_id", json_object_get(m, "user_id"), "subject", json_object_get(m, "subject"));
    rc = lp_event(db, c->now, 0, 0, "digest_queued", "user_mails", id, data, err);
    json_decref(data);
    if (rc != LP_OK) return rc;
    char key[48];
    snprintf(key, sizeof key, "user_mail:%lld", (long long)id);
    rc = lp_job_enqueue(db, "user_mail", NULL, id, NULL, c->now, c->now, 0, 0, key, NULL, err);
    if (rc != LP_OK) return rc;
    c->queued++;
  }
  return LP_OK;
}

lp_code lp_digest_queue(lp_store *s, const char *slot, int64_t now, int *queued, lp_err *err) {
  *queued = 0;
  lp_db *db = lp_store_reader(s, err);
  if (!db) return err->code;
  json_t *users = lp_query(db, "SELECT u.id, u.email FROM users u JOIN roles r ON r.id = u.role_id"
                               " WHERE u.active = 1 AND r.name IN ('admin', 'manager') AND u.email <> '' ORDER BY u.id", NULL, err);
  if (!users) return err->code;
  json_t *mails = json_array();
  size_t i;
  json_t *u;
  lp_code rc = LP_OK;
  json_array_foreach(users, i, u) {
    lp_actor a;
    if ((rc = lp_actor_load(db, iget(u, "id"), &a, err)) != LP_OK) break;
    json_t *d = lp_digest_build(db, &a, now, err);
    if (!d) { rc = err->code ? err->code : LP_EINTERNAL; break; }
    json_object_set(d, "user_id", json_object_get(u, "id"));
    json_object_set(d, "to_addr", json_object_get(u, "email"));
    json_array_append_new(mails, d);
  }
  json_decref(users);
  if (rc == LP_OK) {
    queue_ctx c = {slot, mails, now, 0};
    rc = lp_store_write(s, queue_fn, &c, err);
    *queued = c.queued;
  }
  json_decref(mails);
  return rc;
}
