/* reports_flow.c — aging and the SLA, the stage funnel, win-back (see reports_flow.h).
 *
 * Kept, not scanned: the change hook writes a lead's stays in stages (lead_stage_spells) and its
 * losses (lead_losses) in the transaction of the change, so the funnel reads the spells of the
 * leads created in its range (an index on lead_created_at) and win-back the losses in its range
 * (an index on lost_at), never the timeline. Aging counts open leads by created_at on the
 * owner/status/created_at index (one grouped query: the SLA cut-offs are turned into created_at
 * limits by lp_biz_latest_start, so a lead that never waited is counted in SQL); only leads that
 * spent time in a waiting stage are looked at one by one, with their waiting spells. */
#include "store/reports_flow.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "store/apply.h"
#include "store/leads.h"
#include "store/rows.h"
#include "util/buf.h"
#include "util/timefmt.h"

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static int is_set(json_t *o, const char *k) { json_t *v = json_object_get(o, k); return v && !json_is_null(v); }

/* ---------------------------------------------------------------- the change hook */

/* The outcome kind (won, lost, neutral) of a close this plan makes: from its `closed` event, or
 * (history created closed) from the outcomes table. NULL when unknown. */
static const char *close_kind(lp_db *db, const lp_plan *p, char *buf, size_t cap, lp_err *err) {
  for (size_t i = 0; i < p->timeline.n; i++)
    if (!strcmp(p->timeline.v[i].kind, "closed") && sget(p->timeline.v[i].data, "kind")) {
      snprintf(buf, cap, "%s", sget(p->timeline.v[i].data, "kind"));
      return buf;
    }
  if (!sget(p->lead, "outcome")) return NULL;
  json_t *args = json_pack("[s]", sget(p->lead, "outcome"));
  json_t *row = lp_query_one(db, "SELECT kind FROM outcomes WHERE key = $1", args, err);
  json_decref(args);
  if (!row) return NULL;
  snprintf(buf, cap, "%s", sget(row, "kind") ? sget(row, "kind") : "");
  json_decref(row);
  return buf;
}

static lp_code spell_open(lp_db *db, int64_t lead, json_t *stage, int64_t at, int64_t left, int64_t created, lp_err *err) {
  if (!stage || json_is_null(stage)) return LP_OK;
  json_t *args = json_pack("[I, O, I, o, I]", (json_int_t)lead, stage, (json_int_t)at,
                           left > 0 ? json_integer(left) : json_null(), (json_int_t)created);
  lp_code rc = lp_exec(db, "INSERT INTO lead_stage_spells(lead_id, stage_id, entered_at, left_at, lead_created_at)"
                           " VALUES ($1, $2, $3, $4, $5)", args, err);
  json_decref(args);
  return rc;
}

static lp_code spell_close(lp_db *db, int64_t lead, int64_t at, lp_err *err) {
  json_t *args = json_pack("[I, I]", (json_int_t)lead, (json_int_t)at);
  lp_code rc = lp_exec(db, "UPDATE lead_stage_spells SET left_at = $2 WHERE lead_id = $1 AND left_at IS NULL", args, err);
  json_decref(args);
  return rc;
}

static lp_code on_close(lp_db *db, const lp_plan *p, int64_t lead, int64_t at, lp_err *err) {
  char kb[16];
  const char *kind = close_kind(db, p, kb, sizeof kb, err);
  if (err->code) return err->code;
  if (!kind) return LP_OK;
  json_t *args;
  lp_code rc = LP_OK;
  if (!strcmp(kind, "lost")) {
    json_t *reason = json_object_get(p->lead, "lost_reason_id");
    args = json_pack("[I, o, I]", (json_int_t)lead, reason && json_is_integer(reason) ? json_incref(reason) : json_null(), (json_int_t)at);
    rc = lp_exec(db, "INSERT INTO lead_losses(lead_id, reason_id, lost_at) VALUES ($1, $2, $3)", args, err);
    json_decref(args);
  } else if (!strcmp(kind, "won")) {
    args = json_pack("[I, I]", (json_int_t)lead, (json_int_t)at);
    rc = lp_exec(db, "UPDATE lead_losses SET won_at = $2 WHERE lead_id = $1 AND won_at IS NULL", args, err);
    json_decref(args);
  }
  return rc;
}

static lp_code flow_hook(lp_db *db, const lp_change *c, void *ctx, lp_err *err) {
  (void)ctx;
  const lp_plan *p = c->plan;
  json_t *cols = p->lead;
  lp_code rc = LP_OK;
  if (p->kind == LP_PLAN_CREATE) {
    int64_t created = is_set(cols, "created_at") ? iget(cols, "created_at") : c->now;
    int closed = sget(cols, "status") && !strcmp(sget(cols, "status"), "closed");
    int64_t closed_at = closed ? (is_set(cols, "closed_at") ? iget(cols, "closed_at") : created) : 0;
    if ((rc = spell_open(db, c->lead_id, json_object_get(cols, "stage_id"), created, closed_at, created, err))) return rc;
    return closed ? on_close(db, p, c->lead_id, closed_at, err) : LP_OK;
  }
  if (p->kind == LP_PLAN_DELETE) {
    json_t *args = json_pack("[I]", (json_int_t)c->lead_id);
    rc = lp_exec(db, "DELETE FROM lead_stage_spells WHERE lead_id = $1", args, err);
    if (rc == LP_OK) rc = lp_exec(db, "DELETE FROM lead_losses WHERE lead_id = $1", args, err);
    json_decref(args);
    return rc;
  }
  if (!c->before || !json_object_size(cols)) return LP_OK;
  const char *was = sget(c->before, "status") ? sget(c->before, "status") : "open";
  const char *is = sget(cols, "status") ? sget(cols, "status") : was;
  json_t *stage = json_object_get(cols, "stage_id") ? json_object_get(cols, "stage_id") : json_object_get(c->before, "stage_id");
  int moved = json_object_get(cols, "stage_id") && !json_equal(json_object_get(cols, "stage_id"), json_object_get(c->before, "stage_id"));
  int64_t created = iget(c->before, "created_at");
  if (!strcmp(was, "open") && !strcmp(is, "closed")) {
    int64_t at = is_set(cols, "closed_at") ? iget(cols, "closed_at") : c->now;
    if ((rc = spell_close(db, c->lead_id, at, err))) return rc;
    return on_close(db, p, c->lead_id, at, err);
  }
  if (!strcmp(was, "closed") && !strcmp(is, "open")) {
    json_t *args = json_pack("[I, I]", (json_int_t)c->lead_id, (json_int_t)c->now);
    rc = lp_exec(db, "UPDATE lead_losses SET reopened_at = $2 WHERE lead_id = $1 AND reopened_at IS NULL", args, err);
    json_decref(args);
    if (rc == LP_OK) rc = spell_close(db, c->lead_id, c->now, err);  /* none open: nothing */
    return rc == LP_OK ? spell_open(db, c->lead_id, stage, c->now, 0, created, err) : rc;
  }
  if (moved && !strcmp(is, "open")) {
    if ((rc = spell_close(db, c->lead_id, c->now, err))) return rc;
    return spell_open(db, c->lead_id, stage, c->now, 0, created, err);
  }
  return LP_OK;
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static void install(void) { lp_apply_hook_add(flow_hook, NULL); }
void lp_reports_flow_install(void) { pthread_once(&install_once, install); }

/* ---------------------------------------------------------------- the SLA clock */

/* Time zones, loaded once each and kept for the process (a handful at most). */
#define MAX_ZONES 16
static pthread_mutex_t zones_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { char name[101]; lp_tz tz; int ok; } zones[MAX_ZONES];
static int nzones;

static const lp_tz *zone(const char *name, int *ok) {
  pthread_mutex_lock(&zones_mu);
  for (int i = 0; i < nzones; i++)
    if (!strcmp(zones[i].name, name)) { *ok = zones[i].ok; pthread_mutex_unlock(&zones_mu); return &zones[i].tz; }
  const lp_tz *z = NULL;
  *ok = 0;
  if (nzones < MAX_ZONES) {
    snprintf(zones[nzones].name, sizeof zones[nzones].name, "%s", name);
    zones[nzones].ok = *ok = lp_tz_load(name, &zones[nzones].tz) == 0;
    z = &zones[nzones++].tz;
  }
  pthread_mutex_unlock(&zones_mu);
  return z;
}

int lp_sla_clock(lp_db *db, lp_bizhours *h, lp_err *err) {
  json_t *row = lp_query_one(db, "SELECT value FROM settings WHERE key = 'business_hours'", NULL, err);
  if (!row) return 0;
  json_t *cfg = json_loads(sget(row, "value") ? sget(row, "value") : "null", JSON_DECODE_ANY, NULL);
  json_decref(row);
  int on = lp_bizhours_parse(cfg, h);
  json_decref(cfg);
  if (on && h->tz_name[0]) {
    int ok;
    h->tz = zone(h->tz_name, &ok);
    if (!ok) on = 0;  /* an unknown zone: the calendar clock rather than a wrong one */
  }
  return on;
}

/* ---------------------------------------------------------------- shared pieces */

/* Appends the caller's visibility and the report's filters on lead alias `l`. */
static void filters(lp_buf *sql, json_t *params, const lp_actor *a, const lp_flow_q *q) {
  if (a->view == LP_VIEW_OWN) {
    json_array_append_new(params, json_integer(a->id));
    lp_buf_printf(sql, " AND l.owner_id = $%zu", json_array_size(params));
  } else if (a->view == LP_VIEW_TEAM) {
    json_array_append_new(params, json_integer(a->id));
    size_t n = json_array_size(params);
    lp_buf_printf(sql, " AND (l.owner_id = $%zu OR l.owner_id IN (SELECT id FROM users WHERE manager_id = $%zu))", n, n);
  }
  if (q->owner > 0) {
    json_array_append_new(params, json_integer(q->owner));
    lp_buf_printf(sql, " AND l.owner_id = $%zu", json_array_size(params));
  }
  if (q->source > 0) {
    json_array_append_new(params, json_integer(q->source));
    lp_buf_printf(sql, " AND l.source_id = $%zu", json_array_size(params));
  }
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of an array of numbers (JSON), rounded to 0.1; null when empty. */
static json_t *median_of(json_t *vals) {
  size_t n = json_array_size(vals);
  if (!n) return json_null();
  double *v = malloc(n * sizeof *v);
  if (!v) return json_null();
  for (size_t i = 0; i < n; i++) v[i] = json_number_value(json_array_get(vals, i));
  qsort(v, n, sizeof *v, cmp_dbl);
  double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  free(v);
  return json_real(round(m * 10) / 10);
}

static json_t *share(int64_t part, int64_t whole) {
  return whole > 0 ? json_real(round((double)part / (double)whole * 10000) / 10000) : json_null();
}

/* Waiting spans of a lead (spells in stages of kind waiting). */
static lp_span *waits_of(lp_db *db, int64_t lead, size_t *n, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)lead);
  json_t *rows = lp_query(db, "SELECT s.entered_at, s.left_at FROM lead_stage_spells s JOIN stages st ON st.id = s.stage_id"
                              " WHERE s.lead_id = $1 AND st.waiting = 1", args, err);
  json_decref(args);
  *n = 0;
  if (!rows) return NULL;
  lp_span *v = calloc(json_array_size(rows) + 1, sizeof *v);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) v[(*n)++] = (lp_span){iget(r, "entered_at"), is_set(r, "left_at") ? iget(r, "left_at") : 0};
  json_decref(rows);
  return v;
}

/* user id (text) -> name */
static json_t *owner_names(lp_db *db, lp_err *err) {
  return lp_query_map(db, "SELECT CAST(id AS TEXT) AS k, name FROM users", "k", "name", NULL, err);
}

/* ---------------------------------------------------------------- aging */

typedef struct {
  int64_t open, b0, b1, b2, ok, warn, breach, closed, within;
  json_t *days;
} aging_row;

static aging_row *row_for(json_t *map, json_t *owner) {
  char k[24];
  snprintf(k, sizeof k, "%lld", json_is_integer(owner) ? (long long)json_integer_value(owner) : 0LL);
  json_t *p = json_object_get(map, k);
  if (p) return json_integer_value(p) ? (aging_row *)(intptr_t)json_integer_value(p) : NULL;
  aging_row *r = calloc(1, sizeof *r);
  r->days = json_array();
  json_object_set_new(map, k, json_integer((json_int_t)(intptr_t)r));
  return r;
}

/* The leads-list queries (GET /leads parameters) behind an aging row's figures: its open leads,
 * each age bucket (created_at limits from the same now), the SLA states when the calendar clock
 * counted (the list's `sla` filter is that clock), and the leads closed in the range. owner: a
 * user id, 0 for leads without one, -1 for the total row (the report's owner filter, else any). */
typedef struct { int64_t a1, a2, from, to; int calendar; } aging_cut;
static json_t *aging_leads(const lp_flow_q *q, const aging_cut *c, int64_t owner) {
  char own[24], src[24], t1[LP_TIME_LEN], t2[LP_TIME_LEN];
  if (owner < 0) { if (q->owner > 0) snprintf(own, sizeof own, "%lld", (long long)q->owner); else snprintf(own, sizeof own, "any"); }
  else if (owner == 0) snprintf(own, sizeof own, "none");
  else snprintf(own, sizeof own, "%lld", (long long)owner);
  snprintf(src, sizeof src, "%lld", (long long)q->source);
  json_t *out = json_object();
  static const char *const keys[] = {"open", "age_ok", "age_warning", "age_over", "sla_ok", "sla_warning", "sla_breached", "closed"};
  for (int k = 0; k < 8; k++) {
    if (k >= 4 && k <= 6 && !c->calendar) continue;
    json_t *f = json_pack("{s:s, s:s}", "status", k == 7 ? "closed" : "open", "owner", own);
    if (q->source > 0) json_object_set_new(f, "source", json_string(src));
    if (k == 1) { lp_time_format(c->a1 + 1, t1); json_object_set_new(f, "created_from", json_string(t1)); }
    if (k == 2) {
      lp_time_format(c->a2 + 1, t1); lp_time_format(c->a1, t2);
      json_object_set_new(f, "created_from", json_string(t1));
      json_object_set_new(f, "created_to", json_string(t2));
    }
    if (k == 3) { lp_time_format(c->a2, t2); json_object_set_new(f, "created_to", json_string(t2)); }
    if (k == 4) json_object_set_new(f, "sla", json_string("ok"));
    if (k == 5) json_object_set_new(f, "sla", json_string("warning"));
    if (k == 6) json_object_set_new(f, "sla", json_string("breached"));
    if (k == 7) {
      lp_time_format(c->from, t1); lp_time_format(c->to - 1, t2);
      json_object_set_new(f, "closed_from", json_string(t1));
      json_object_set_new(f, "closed_to", json_string(t2));
      json_object_set_new(f, "in_reports", json_string("1"));
    }
    json_object_set_new(out, keys[k], f);
  }
  return out;
}

static json_t *aging_json(const aging_row *r, json_t *owner_id, json_t *name, json_t *leads) {
  /* owner_id, name and leads are taken over */
  return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o}",
                   "owner_id", owner_id, "owner_name", name, "open", (json_int_t)r->open,
                   "age_ok", (json_int_t)r->b0, "age_warning", (json_int_t)r->b1, "age_over", (json_int_t)r->b2,
                   "sla_ok", (json_int_t)r->ok, "sla_warning", (json_int_t)r->warn, "sla_breached", (json_int_t)r->breach,
                   "closed", (json_int_t)r->closed, "median_days_to_close", median_of(r->days),
                   "closed_within_target", (json_int_t)r->within, "share_closed_within_target", share(r->within, r->closed),
                   "leads", leads);
}

json_t *lp_report_aging(lp_db *db, const lp_actor *a, const lp_flow_q *q, int64_t now, lp_err *err) {
  lp_bizhours hb;
  int biz = lp_sla_clock(db, &hb, err);
  if (err->code) return NULL;
  if (q->clock == 1 && !biz) { lp_fail_field(err, "clock", "business hours are not configured in the settings"); return NULL; }
  if (q->clock == 0) biz = 0;
  const lp_bizhours *h = biz ? &hb : NULL;
  lp_sla_cfg cfg = lp_sla_settings(db, now);
  int64_t tw = lp_sla_target(h, cfg.warn_days), tb = lp_sla_target(h, cfg.breach_days);
  int64_t cw = lp_biz_latest_start(h, now, tw), cb = lp_biz_latest_start(h, now, tb);
  /* age_days = whole days open: 0..warn, warn+1..breach, more */
  int64_t a1 = now - (cfg.warn_days + 1) * 86400, a2 = now - (cfg.breach_days + 1) * 86400;
  aging_cut cut = {a1, a2, q->from, q->to, !h};

  json_t *map = json_object();
  aging_row total = {0};
  total.days = json_array();
  json_t *params = json_pack("[I, I, I, I]", (json_int_t)a1, (json_int_t)a2, (json_int_t)cb, (json_int_t)cw);
  lp_buf sql = LP_BUF_INIT(4096);
  lp_buf_puts(&sql, "SELECT l.owner_id, count(*) AS n,"
                    " SUM(CASE WHEN l.created_at > $1 THEN 1 ELSE 0 END) AS b0,"
                    " SUM(CASE WHEN l.created_at <= $2 THEN 1 ELSE 0 END) AS b2,"
                    " SUM(CASE WHEN l.waiting_seconds = 0 AND l.waiting_since IS NULL AND l.created_at <= $3 THEN 1 ELSE 0 END) AS nb,"
                    " SUM(CASE WHEN l.waiting_seconds = 0 AND l.waiting_since IS NULL AND l.created_at <= $4 AND l.created_at > $3 THEN 1 ELSE 0 END) AS nw,"
                    " SUM(CASE WHEN l.waiting_seconds = 0 AND l.waiting_since IS NULL THEN 0 ELSE 1 END) AS waited"
                    " FROM leads l WHERE l.status = 'open' AND l.deleted_at IS NULL");
  filters(&sql, params, a, q);
  lp_buf_puts(&sql, " GROUP BY l.owner_id");
  json_t *rows = lp_query(db, lp_buf_str(&sql), params, err);
  json_decref(params);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    aging_row *o = row_for(map, json_object_get(r, "owner_id"));
    o->open = iget(r, "n");
    o->b0 = iget(r, "b0");
    o->b2 = iget(r, "b2");
    o->b1 = o->open - o->b0 - o->b2;
    o->breach = iget(r, "nb");
    o->warn = iget(r, "nw");
    o->ok = o->open - iget(r, "waited") - o->breach - o->warn;
  }
  json_decref(rows);
  /* leads that waited: one by one, their waiting time taken out */
  if (err->code == LP_OK) {
    params = json_array();
    lp_buf_reset(&sql);
    lp_buf_puts(&sql, "SELECT l.id, l.owner_id, l.created_at, l.waiting_seconds, l.waiting_since FROM leads l"
                      " WHERE l.status = 'open' AND l.deleted_at IS NULL AND (l.waiting_seconds > 0 OR l.waiting_since IS NOT NULL)");
    filters(&sql, params, a, q);
    rows = lp_query(db, lp_buf_str(&sql), params, err);
    json_decref(params);
    json_array_foreach(rows, i, r) {
      int64_t el;
      if (!h) {
        el = now - iget(r, "created_at") - iget(r, "waiting_seconds");
        if (is_set(r, "waiting_since")) el -= now - iget(r, "waiting_since");
      } else {
        size_t n;
        lp_span *w = waits_of(db, iget(r, "id"), &n, err);
        el = lp_sla_elapsed(h, iget(r, "created_at"), now, w, n);
        free(w);
      }
      const char *st = lp_sla_state(el, tw, tb);
      aging_row *o = row_for(map, json_object_get(r, "owner_id"));
      if (!strcmp(st, "breached")) o->breach++; else if (!strcmp(st, "warning")) o->warn++; else o->ok++;
    }
    json_decref(rows);
  }
  /* leads closed in the range: days to close, closed within the warning target */
  if (err->code == LP_OK) {
    params = json_pack("[I, I]", (json_int_t)q->from, (json_int_t)q->to);
    lp_buf_reset(&sql);
    lp_buf_puts(&sql, "SELECT l.id, l.owner_id, l.created_at, l.closed_at, l.waiting_seconds FROM leads l"
                      " LEFT JOIN lost_reasons r ON r.id = l.lost_reason_id"
                      " WHERE l.status = 'closed' AND l.deleted_at IS NULL AND l.closed_at >= $1 AND l.closed_at < $2"
                      " AND (r.id IS NULL OR r.counts_in_reports = 1)");
    filters(&sql, params, a, q);
    rows = lp_query(db, lp_buf_str(&sql), params, err);
    json_decref(params);
    json_array_foreach(rows, i, r) {
      int64_t c0 = iget(r, "created_at"), c1 = iget(r, "closed_at"), el;
      if (iget(r, "waiting_seconds") == 0) {
        el = h ? lp_biz_seconds(h, c0, c1, tw) : c1 - c0;
      } else if (!h) {
        el = c1 - c0 - iget(r, "waiting_seconds");
      } else {
        size_t n;
        lp_span *w = waits_of(db, iget(r, "id"), &n, err);
        el = lp_sla_elapsed(h, c0, c1, w, n);
        free(w);
      }
      aging_row *o = row_for(map, json_object_get(r, "owner_id"));
      o->closed++;
      if (el < tw) o->within++;
      json_array_append_new(o->days, json_real((double)(c1 - c0) / 86400.0));
    }
    json_decref(rows);
  }
  lp_buf_release(&sql);
  json_t *names = owner_names(db, err);
  json_t *items = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(map, k, v) {
    aging_row *o = (aging_row *)(intptr_t)json_integer_value(v);
    long long id = strtoll(k, NULL, 10);
    json_t *name = json_object_get(names, k);
    json_array_append_new(items, aging_json(o, id ? json_integer(id) : json_null(), name ? json_incref(name) : json_null(),
                                            aging_leads(q, &cut, id)));
    total.open += o->open; total.b0 += o->b0; total.b1 += o->b1; total.b2 += o->b2;
    total.ok += o->ok; total.warn += o->warn; total.breach += o->breach;
    total.closed += o->closed; total.within += o->within;
    size_t j;
    json_t *d;
    json_array_foreach(o->days, j, d) json_array_append(total.days, d);
    json_decref(o->days);
    free(o);
  }
  json_decref(map);
  json_decref(names);
  if (err->code) { json_decref(items); json_decref(total.days); return NULL; }
  char l0[48], l1[48], l2[48];
  snprintf(l0, sizeof l0, "0-%lld days", (long long)cfg.warn_days);
  snprintf(l1, sizeof l1, "%lld-%lld days", (long long)cfg.warn_days + 1, (long long)cfg.breach_days);
  snprintf(l2, sizeof l2, "over %lld days", (long long)cfg.breach_days);
  json_t *out = json_pack("{s:s, s:I, s:I, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:o, s:o}",
                          "clock", h ? "business" : "calendar", "warn_days", (json_int_t)cfg.warn_days,
                          "breach_days", (json_int_t)cfg.breach_days,
                          "buckets", "key", "age_ok", "label", l0, "key", "age_warning", "label", l1, "key", "age_over", "label", l2,
                          "items", items, "total", aging_json(&total, json_null(), json_string("All"), aging_leads(q, &cut, -1)));
  json_decref(total.days);
  return out;
}

/* ---------------------------------------------------------------- funnel */

json_t *lp_report_funnel(lp_db *db, const lp_actor *a, const lp_flow_q *q, int64_t now, lp_err *err) {
  (void)now;
  json_t *stages = lp_query(db, "SELECT id, name, position, waiting, is_sale FROM stages WHERE active = 1 ORDER BY position, id", NULL, err);
  if (!stages) return NULL;
  size_t ns = json_array_size(stages);
  int64_t *reached = calloc(ns + 1, sizeof *reached), *moved = calloc(ns + 1, sizeof *moved), *now_in = calloc(ns + 1, sizeof *now_in);
  json_t **days = calloc(ns + 1, sizeof *days);
  for (size_t i = 0; i < ns; i++) days[i] = json_array();
  json_t *params = json_pack("[I, I]", (json_int_t)q->from, (json_int_t)q->to);
  lp_buf sql = LP_BUF_INIT(4096);
  lp_buf_puts(&sql, "SELECT s.lead_id, s.stage_id, s.entered_at, s.left_at, l.status, o.kind FROM lead_stage_spells s"
                    " JOIN leads l ON l.id = s.lead_id LEFT JOIN outcomes o ON o.key = l.outcome"
                    " WHERE s.lead_created_at >= $1 AND s.lead_created_at < $2 AND l.deleted_at IS NULL");
  filters(&sql, params, a, q);
  lp_buf_puts(&sql, " ORDER BY s.lead_id, s.entered_at, s.stage_id");
  json_t *rows = lp_query(db, lp_buf_str(&sql), params, err);
  json_decref(params);
  lp_buf_release(&sql);
  int64_t won = 0, leads = 0;
  size_t n = json_array_size(rows);
  int *seen = calloc(ns + 1, sizeof *seen), *later = calloc(ns + 1, sizeof *later);
  for (size_t i = 0; i < n;) {
    /* one lead's spells, in order */
    int64_t lead = iget(json_array_get(rows, i), "lead_id");
    size_t j = i;
    memset(seen, 0, (ns + 1) * sizeof *seen);
    memset(later, 0, (ns + 1) * sizeof *later);
    size_t best = 0;  /* the furthest stage reached so far, +1 */
    for (; j < n && iget(json_array_get(rows, j), "lead_id") == lead; j++) {
      json_t *r = json_array_get(rows, j);
      size_t k = 0;
      while (k < ns && iget(json_array_get(stages, k), "id") != iget(r, "stage_id")) k++;
      if (k == ns) continue;  /* an inactive stage */
      /* every stage reached before, positioned before this one, was moved on from */
      for (size_t m = 0; m < ns; m++) if (seen[m] && m < k) later[m] = 1;
      seen[k] = 1;
      if (k + 1 > best) best = k + 1;
      if (is_set(r, "left_at")) json_array_append_new(days[k], json_real((double)(iget(r, "left_at") - iget(r, "entered_at")) / 86400.0));
      else if (sget(r, "status") && !strcmp(sget(r, "status"), "open")) now_in[k]++;
    }
    json_t *last = json_array_get(rows, j - 1);
    int is_won = sget(last, "status") && !strcmp(sget(last, "status"), "closed") && sget(last, "kind") && !strcmp(sget(last, "kind"), "won");
    leads++;
    if (is_won) won++;
    for (size_t m = 0; m < ns; m++) {
      if (!seen[m]) continue;
      reached[m]++;
      if (later[m] || is_won) moved[m]++;
    }
    i = j;
  }
  free(seen);
  free(later);
  json_decref(rows);
  json_t *items = json_array();
  for (size_t k = 0; k < ns && !err->code; k++) {
    json_t *s = json_array_get(stages, k);
    /* the next step: the next stage that is not a waiting one (a side step), or Won after the last */
    size_t nx = k + 1;
    while (nx < ns && iget(json_array_get(stages, nx), "waiting")) nx++;
    int64_t next = nx < ns ? reached[nx] : won;
    json_array_append_new(items, json_pack("{s:O, s:O, s:O, s:b, s:I, s:I, s:o, s:o, s:I, s:o}",
        "stage_id", json_object_get(s, "id"), "name", json_object_get(s, "name"), "position", json_object_get(s, "position"),
        "waiting", (int)iget(s, "waiting"), "reached", (json_int_t)reached[k], "moved_on", (json_int_t)moved[k],
        "conversion", share(moved[k], reached[k]), "conversion_to_next", share(next, reached[k]),
        "in_stage_now", (json_int_t)now_in[k], "median_days", median_of(days[k])));
  }
  for (size_t i = 0; i < ns; i++) json_decref(days[i]);
  free(days);
  free(reached);
  free(moved);
  free(now_in);
  json_decref(stages);
  if (err->code) { json_decref(items); return NULL; }
  return json_pack("{s:o, s:I, s:I}", "items", items, "leads", (json_int_t)leads, "won", (json_int_t)won);
}

/* ---------------------------------------------------------------- win-back */

typedef struct { int64_t lost, reopened, new_lead, came_back, won; } wb_row;

/* A later lead with one of this lost lead's addresses: 1 came back, 2 came back and won. */
static int newer_lead(lp_store *s, lp_db *db, json_t *loss, lp_err *err) {
  int64_t me = iget(loss, "lead_id"), at = iget(loss, "lost_at");
  int best = 0;
  static const char *const kinds[2][2] = {{"emails", "email"}, {"phones", "phone"}};
  for (int k = 0; k < 2 && best < 2; k++) {
    json_t *arr = json_loads(sget(loss, kinds[k][0]) ? sget(loss, kinds[k][0]) : "[]", 0, NULL);
    size_t i;
    json_t *addr;
    json_array_foreach(arr, i, addr) {
      if (i >= 4 || best == 2 || !json_string_value(addr)) break;
      int64_t ids[8];
      int n = lp_leads_by_address(s, kinds[k][1], json_string_value(addr), ids, 8, err);
      if (n < 0) { json_decref(arr); return -1; }
      for (int c = 0; c < n && best < 2; c++) {
        if (ids[c] == me) continue;
        json_t *args = json_pack("[I, I]", (json_int_t)ids[c], (json_int_t)at);
        json_t *row = lp_query_one(db, "SELECT l.status, l.closed_at, o.kind FROM leads l LEFT JOIN outcomes o ON o.key = l.outcome"
                                       " WHERE l.id = $1 AND l.deleted_at IS NULL AND l.created_at >= $2", args, err);
        json_decref(args);
        if (!row) continue;
        int w = sget(row, "kind") && !strcmp(sget(row, "kind"), "won") && iget(row, "closed_at") >= at;
        if ((w ? 2 : 1) > best) best = w ? 2 : 1;
        json_decref(row);
      }
    }
    json_decref(arr);
  }
  return err->code ? -1 : best;
}

json_t *lp_report_winback(lp_store *s, lp_db *db, const lp_actor *a, const lp_flow_q *q, int64_t now, lp_err *err) {
  (void)now;
  json_t *reasons = lp_query(db, "SELECT id, name FROM lost_reasons WHERE counts_in_reports = 1 ORDER BY id", NULL, err);
  if (!reasons) return NULL;
  size_t nr = json_array_size(reasons);
  wb_row *rows_by = calloc(nr + 1, sizeof *rows_by);  /* [nr]: no reason */
  wb_row total = {0};
  json_t *params = json_pack("[I, I]", (json_int_t)q->from, (json_int_t)q->to);
  lp_buf sql = LP_BUF_INIT(4096);
  lp_buf_puts(&sql, "SELECT x.lead_id, x.reason_id, x.lost_at, x.reopened_at, x.won_at, l.emails, l.phones FROM lead_losses x"
                    " JOIN leads l ON l.id = x.lead_id LEFT JOIN lost_reasons r ON r.id = x.reason_id"
                    " WHERE x.lost_at >= $1 AND x.lost_at < $2 AND l.deleted_at IS NULL AND (r.id IS NULL OR r.counts_in_reports = 1)");
  filters(&sql, params, a, q);
  json_t *rows = lp_query(db, lp_buf_str(&sql), params, err);
  json_decref(params);
  lp_buf_release(&sql);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    size_t k = nr;
    if (is_set(r, "reason_id"))
      for (k = 0; k < nr && iget(json_array_get(reasons, k), "id") != iget(r, "reason_id"); k++) {}
    wb_row *w = &rows_by[k];
    w->lost++;
    int reopened = is_set(r, "reopened_at"), won = is_set(r, "won_at");
    int fresh = 0;
    if (!reopened) {
      fresh = newer_lead(s, db, r, err);
      if (fresh < 0) break;
    }
    if (reopened) w->reopened++;
    if (fresh) w->new_lead++;
    if (reopened || fresh) w->came_back++;
    if (won || fresh == 2) w->won++;
  }
  json_decref(rows);
  json_t *items = json_array();
  for (size_t k = 0; k <= nr && !err->code; k++) {
    wb_row *w = &rows_by[k];
    if (k == nr && !w->lost) break;
    json_t *reason = k < nr ? json_array_get(reasons, k) : NULL;
    json_array_append_new(items, json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
        "reason_id", reason ? json_incref(json_object_get(reason, "id")) : json_null(),
        "name", reason ? json_incref(json_object_get(reason, "name")) : json_string("No reason"),
        "lost", (json_int_t)w->lost, "came_back", (json_int_t)w->came_back, "reopened", (json_int_t)w->reopened,
        "new_lead", (json_int_t)w->new_lead, "won_later", (json_int_t)w->won,
        "came_back_share", share(w->came_back, w->lost), "won_later_share", share(w->won, w->lost)));
    total.lost += w->lost; total.came_back += w->came_back; total.reopened += w->reopened;
    total.new_lead += w->new_lead; total.won += w->won;
  }
  free(rows_by);
  json_decref(reasons);
  if (err->code) { json_decref(items); return NULL; }
  return json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:o, s:o}}", "items", items, "total",
                   "lost", (json_int_t)total.lost, "came_back", (json_int_t)total.came_back, "reopened", (json_int_t)total.reopened,
                   "new_lead", (json_int_t)total.new_lead, "won_later", (json_int_t)total.won,
                   "came_back_share", share(total.came_back, total.lost), "won_later_share", share(total.won, total.lost));
}
