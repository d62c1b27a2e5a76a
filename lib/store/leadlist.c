/* leadlist.c — the filtered, sorted, paginated list of leads (GET /leads, export, bulk).
 *
 * Keyset pagination: the cursor holds the sort value and id of the last row, so every page
 * is an index range scan, as fast on page 20,000 as on page 1. Filters are bound parameters;
 * only column names from the fixed sort table are written into the SQL text.
 */
#include <sodium.h>
#include "core/plan.h"
#include "store/leadjson.h"
#include "store/leads.h"
#include "util/valid.h"
#include "store/rows.h"
#include "util/buf.h"
#include "util/timefmt.h"

typedef struct { const char *name, *col; int desc, text; } sort_spec;
static const sort_spec sorts[] = {
  {"-created_at", "created_at", 1, 0}, {"created_at", "created_at", 0, 0},
  {"-updated_at", "updated_at", 1, 0}, {"updated_at", "updated_at", 0, 0},
  {"-score", "score", 1, 0}, {"score", "score", 0, 0},
  /* win_bp: basis points, -1 without an estimate (NOT NULL, so a plain index serves it) */
  {"-win_probability", "win_bp", 1, 0}, {"win_probability", "win_bp", 0, 0},
  {"full_name", "full_name", 0, 1}, {"-full_name", "full_name", 1, 1},
  {"id", "id", 0, 0}, {"-id", "id", 1, 0},
  /* nullable columns sort as 0 (never): one expression in the SELECT, the cursor and the ORDER BY */
  {"last_contacted_at", "COALESCE(last_contacted_at, 0)", 0, 0}, {"-last_contacted_at", "COALESCE(last_contacted_at, 0)", 1, 0},
  {"closed_at", "COALESCE(closed_at, 0)", 0, 0}, {"-closed_at", "COALESCE(closed_at, 0)", 1, 0}};  /* id: the primary key's order, cheap however many leads match */

typedef struct {
  lp_buf where;
  json_t *params;
} q_t;

static int add_param(q_t *q, json_t *v) {
  json_array_append_new(q->params, v);
  return (int)json_array_size(q->params);
}

/* Appends " AND <fmt>" where every %d in fmt is the number of the new parameter v. The
 * formats are literals of this file, never input. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void cond(q_t *q, const char *fmt, json_t *v) {
  int n = add_param(q, v);
  lp_buf_puts(&q->where, " AND ");
  lp_buf_printf(&q->where, fmt, n, n, n);
}
#pragma GCC diagnostic pop

static char *cursor_encode(json_t *v, int64_t id) {
  json_t *a = json_pack("[O, I]", v, (json_int_t)id);
  char *s = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  size_t n = strlen(s);
  size_t outlen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *out = malloc(outlen);
  sodium_bin2base64(out, outlen, (unsigned char *)s, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  free(s);
  return out;
}

static json_t *cursor_decode(const char *c) {
  size_t n = strlen(c);
  if (n > 2000) return NULL;
  unsigned char *bin = malloc(n + 1);
  size_t len = 0;
  json_t *a = NULL;
  if (sodium_base642bin(bin, n, c, n, NULL, &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
    a = json_loadb((char *)bin, len, 0, NULL);
  free(bin);
  if (a && (!json_is_array(a) || json_array_size(a) != 2 || !json_is_integer(json_array_get(a, 1)))) {
    json_decref(a);
    a = NULL;
  }
  return a;
}

static int time_param(lp_param_fn get, void *ctx, const char *name, int64_t *t, lp_err *err) {
  const char *s = get(ctx, name);
  if (!s) return 0;
  if (lp_time_parse(s, t) != 0) { lp_fail_field(err, name, "must be an RFC 3339 time or a date"); return 0; }
  /* A bare date as an upper bound means the whole day. */
  if (strlen(s) == 10 && strstr(name, "_to")) *t += 86399;
  return 1;
}

/* Text that reads as a phone number: digits (at least 6) with the usual separators, nothing else. */
static int phone_like(const char *s) {
  int digits = 0;
  for (; *s; s++) {
    if (*s >= '0' && *s <= '9') digits++;
    else if (!strchr(" +-.()/", *s)) return 0;
  }
  return digits >= 6;
}

/* Digits written without their '+' ("447700900123"): read as an international number. */
static int phone_normalize_plus(const char *s, char *out, size_t outsz) {
  char b[64];
  int n = snprintf(b, sizeof b, "+%s", s);
  return n > 0 && (size_t)n < sizeof b ? lp_phone_normalize(b, NULL, out, outsz) : -1;
}

/* The WHERE text and its parameters for the list's filters (visibility included); field errors
 * go to err (the caller checks err->code). */
static void list_where(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, q_t *qp, lp_err *err) {
  q_t q = *qp;
  lp_buf_puts(&q.where, "deleted_at IS NULL");
  const char *status = get(ctx, "status") ? get(ctx, "status") : "open";
  if (!strcmp(status, "open") || !strcmp(status, "closed")) cond(&q, "status = $%d", json_string(status));
  else if (strcmp(status, "all")) lp_fail_field(err, "status", "must be open, closed or all");

  /* Who: the owner filter, always inside what the role may see. */
  const char *owner = get(ctx, "owner") ? get(ctx, "owner") : "me";
  int64_t oid = 0;
  if (!strcmp(owner, "me")) cond(&q, "owner_id = $%d", json_integer(a->id));
  else if (!strcmp(owner, "any")) {}
  else if (!strcmp(owner, "none")) lp_buf_puts(&q.where, " AND owner_id IS NULL");
  else if (lp_parse_id(owner, &oid) == 0) cond(&q, "owner_id = $%d", json_integer(oid));
  else lp_fail_field(err, "owner", "must be me, any or a user id");
  if (a->view == LP_VIEW_OWN) cond(&q, "owner_id = $%d", json_integer(a->id));
  else if (a->view == LP_VIEW_TEAM)
    cond(&q, "(owner_id = $%d OR owner_id IN (SELECT id FROM users WHERE manager_id = $%d))", json_integer(a->id));

  static const struct { const char *param, *sql; } idf[] = {
    {"stage", "stage_id = $%d"}, {"source", "source_id = $%d"}, {"location", "location_id = $%d"},
    {"partner", "partner_id = $%d"}, {"group", "id IN (SELECT lead_id FROM lead_groups WHERE group_id = $%d)"},
    {"lost_reason", "lost_reason_id = $%d"}};
  for (size_t i = 0; i < sizeof idf / sizeof *idf; i++) {
    const char *v = get(ctx, idf[i].param);
    int64_t id;
    if (!v) continue;
    if (!strcmp(v, "none") && strcmp(idf[i].param, "group")) {  /* reports drill down to leads without one */
      lp_buf_printf(&q.where, " AND %.*s IS NULL", (int)(strchr(idf[i].sql, ' ') - idf[i].sql), idf[i].sql);
      continue;
    }
    if (lp_parse_id(v, &id) != 0) lp_fail_field(err, idf[i].param, "must be an id");
    else cond(&q, idf[i].sql, json_integer(id));
  }
  const char *outcome = get(ctx, "outcome");
  if (outcome) cond(&q, "outcome = $%d", json_string(outcome));
  const char *service = get(ctx, "service");
  if (service && !strcmp(service, "none")) lp_buf_puts(&q.where, " AND service IS NULL");
  else if (service) cond(&q, "service = $%d", json_string(service));
  const char *country = get(ctx, "country");
  if (country && !strcmp(country, "none")) lp_buf_puts(&q.where, " AND country IS NULL");
  else if (country) cond(&q, "country = upper($%d)", json_string(country));
  /* What the reports drill down to (store/reports.c): outcomes of a kind, a manager's team, sales
   * by date, and only the leads the reports count (not those closed with a reason left out). */
  const char *okind = get(ctx, "outcome_kind");
  if (okind && !strcmp(okind, "open")) lp_buf_puts(&q.where, " AND status = 'open'");
  else if (okind && (!strcmp(okind, "won") || !strcmp(okind, "lost") || !strcmp(okind, "neutral")))
    cond(&q, "status = 'closed' AND outcome IN (SELECT key FROM outcomes WHERE kind = $%d)", json_string(okind));
  else if (okind) lp_fail_field(err, "outcome_kind", "must be open, won, lost or neutral");
  const char *team = get(ctx, "team");
  int64_t tid;
  if (team && lp_parse_id(team, &tid) == 0)
    cond(&q, "(owner_id = $%d OR owner_id IN (SELECT id FROM users WHERE manager_id = $%d))", json_integer(tid));
  else if (team) lp_fail_field(err, "team", "must be a manager's user id");
  const char *inr = get(ctx, "in_reports");
  if (inr && (!strcmp(inr, "1") || !strcmp(inr, "true")))
    lp_buf_puts(&q.where, " AND (lost_reason_id IS NULL OR lost_reason_id NOT IN (SELECT id FROM lost_reasons WHERE counts_in_reports = 0))");
  /* The flow reports' drill-downs (store/reports_flow.c): leads that were ever in a stage (the
   * funnel's `reached`), and leads closed as lost in a range, with the reason given then
   * (win-back: a lead reopened since has no lost reason any more). */
  const char *reached = get(ctx, "reached_stage");
  int64_t rid;
  if (reached && lp_parse_id(reached, &rid) == 0)
    cond(&q, "EXISTS (SELECT 1 FROM lead_stage_spells s WHERE s.lead_id = leads.id AND s.stage_id = $%d)", json_integer(rid));
  else if (reached) lp_fail_field(err, "reached_stage", "must be a stage id");
  int64_t t;
  const char *lr = get(ctx, "loss_reason");
  int lf = time_param(get, ctx, "lost_from", &t, err);
  int64_t lost_from = t;
  int lt = time_param(get, ctx, "lost_to", &t, err);
  if (lf || lt || lr) {
    lp_buf_puts(&q.where, " AND id IN (SELECT lead_id FROM lead_losses WHERE 1 = 1");
    if (lf) lp_buf_printf(&q.where, " AND lost_at >= $%d", add_param(&q, json_integer(lost_from)));
    if (lt) lp_buf_printf(&q.where, " AND lost_at <= $%d", add_param(&q, json_integer(t)));
    if (lr && !strcmp(lr, "none")) lp_buf_puts(&q.where, " AND reason_id IS NULL");
    else if (lr && lp_parse_id(lr, &rid) == 0) lp_buf_printf(&q.where, " AND reason_id = $%d", add_param(&q, json_integer(rid)));
    else if (lr) lp_fail_field(err, "loss_reason", "must be a lost reason id or none");
    lp_buf_puts(&q.where, ")");
  }
  if (time_param(get, ctx, "created_from", &t, err)) cond(&q, "created_at >= $%d", json_integer(t));
  if (time_param(get, ctx, "created_to", &t, err)) cond(&q, "created_at <= $%d", json_integer(t));
  if (time_param(get, ctx, "closed_from", &t, err)) cond(&q, "closed_at >= $%d", json_integer(t));
  if (time_param(get, ctx, "closed_to", &t, err)) cond(&q, "closed_at <= $%d", json_integer(t));
  if (time_param(get, ctx, "sold_from", &t, err)) cond(&q, "sold_at >= $%d", json_integer(t));
  if (time_param(get, ctx, "sold_to", &t, err)) cond(&q, "sold_at <= $%d", json_integer(t));
  if (time_param(get, ctx, "contacted_from", &t, err)) cond(&q, "last_contacted_at >= $%d", json_integer(t));
  if (time_param(get, ctx, "contacted_to", &t, err)) cond(&q, "last_contacted_at <= $%d", json_integer(t));
  const char *nr = get(ctx, "needs_reply");
  if (nr) {
    if (!strcmp(nr, "1") || !strcmp(nr, "true")) lp_buf_puts(&q.where, " AND needs_reply = 1");
    else if (!strcmp(nr, "0") || !strcmp(nr, "false")) lp_buf_puts(&q.where, " AND needs_reply = 0");
    else lp_fail_field(err, "needs_reply", "must be 1 or 0");
  }
  const char *sla = get(ctx, "sla");
  if (sla) {
    lp_sla_cfg cfg = lp_sla_settings(db, now);
    /* Open time that counts: age less waiting time, the current wait included. */
    int n = add_param(&q, json_integer(now));
    char age[256];
    snprintf(age, sizeof age, "($%d - created_at - waiting_seconds - CASE WHEN waiting_since IS NULL THEN 0 ELSE $%d - waiting_since END)", n, n);
    int w = add_param(&q, json_integer(cfg.warn_days * 86400));
    int b = add_param(&q, json_integer(cfg.breach_days * 86400));
    if (!strcmp(sla, "ok")) lp_buf_printf(&q.where, " AND (status <> 'open' OR %s < $%d)", age, w);
    else if (!strcmp(sla, "warning")) lp_buf_printf(&q.where, " AND status = 'open' AND %s >= $%d AND %s < $%d", age, w, age, b);
    else if (!strcmp(sla, "breached")) lp_buf_printf(&q.where, " AND status = 'open' AND %s >= $%d", age, b);
    else lp_fail_field(err, "sla", "must be ok, warning or breached");
  }
  const char *text = get(ctx, "q");
  char phone[LP_PHONE_BUFSZ];
  if (text && *text && phone_like(text)) {
    /* A phone in any format ("07700 900123", "+44 7700 900123", "447700900123") finds the lead:
     * read as the company's default_country would, it is searched as the digits of its E.164 form. */
    char *dc = lp_lead_country(db, 0);
    if (lp_phone_normalize(text, dc, phone, sizeof phone) == 0 ||
        (text[0] != '+' && phone_normalize_plus(text, phone, sizeof phone) == 0))
      text = phone + 1;
    free(dc);
  }
  if (text && *text) {
    const char *fmt;
    char *fq;
    if (lp_db_search_cond(db, text, &fmt, &fq, err) == LP_OK && fq) cond(&q, fmt, json_string(fq));
    free(fq);
  }
  *qp = q;
}

int lp__lead_where(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, lp_buf *where, json_t *params,
                   lp_err *err) {
  q_t q = {*where, params};
  list_where(db, a, get, ctx, now, &q, err);
  *where = q.where;
  return err->code == LP_OK ? 0 : -1;
}

int lp_lead_list_raw(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, lp_buf *out, lp_err *err) {
  q_t q = {LP_BUF_INIT(1 << 16), json_array()};
  list_where(db, a, get, ctx, now, &q, err);
  /* default: newest first; for the closed view, most recently closed first (API.md) */
  const char *st_sort = get(ctx, "status");
  const char *sort = get(ctx, "sort") ? get(ctx, "sort") : st_sort && !strcmp(st_sort, "closed") ? "-closed_at" : "-created_at";
  const sort_spec *ss = NULL;
  for (size_t i = 0; i < sizeof sorts / sizeof *sorts; i++) if (!strcmp(sorts[i].name, sort)) ss = &sorts[i];
  if (!ss) lp_fail_field(err, "sort", "must be created_at, updated_at, closed_at, last_contacted_at, score, win_probability, full_name or id, with - for descending");
  long limit = 50;
  const char *ls = get(ctx, "limit");
  if (ls) {
    char *end;
    limit = strtol(ls, &end, 10);
    if (*end || limit < 1 || limit > 500) lp_fail_field(err, "limit", "must be 1 to 500");
  }
  int want_total = get(ctx, "total") && (!strcmp(get(ctx, "total"), "1") || !strcmp(get(ctx, "total"), "true"));
  if (err->code != LP_OK) { lp_buf_release(&q.where); json_decref(q.params); return -1; }

  int64_t total = -1;
  if (want_total) {
    lp_buf cq = LP_BUF_INIT(1 << 16);
    lp_buf_printf(&cq, "SELECT count(*) FROM leads WHERE %s", lp_buf_str(&q.where));
    total = lp_query_int(db, lp_buf_str(&cq), q.params, 0, err);
    lp_buf_release(&cq);
  }
  const char *cur = get(ctx, "cursor");
  if (cur && *cur) {
    json_t *c = cursor_decode(cur);
    if (!c) {
      lp_fail_field(err, "cursor", "invalid cursor");
      lp_buf_release(&q.where);
      json_decref(q.params);
      return -1;
    }
    int v = add_param(&q, json_incref(json_array_get(c, 0)));
    int i = add_param(&q, json_incref(json_array_get(c, 1)));
    const char *op = ss->desc ? "<" : ">";
    lp_buf_printf(&q.where, " AND (%s %s $%d OR (%s = $%d AND id %s $%d))", ss->col, op, v, ss->col, v, op, i);
    json_decref(c);
  }
  /* The page's leads with what a rendered lead is kept under and what its time-dependent tail
   * needs; the rest of each lead comes from the rendered leads kept (leadjson.c) or, when it
   * is not there, from one row read by id. */
  lp_buf sql = LP_BUF_INIT(1 << 16);
  lp_buf_printf(&sql, "SELECT id, version, updated_at, status, created_at, closed_at, waiting_seconds, waiting_since, %s"
                " FROM leads WHERE %s ORDER BY %s %s, id %s LIMIT %ld", ss->col, lp_buf_str(&q.where),
                ss->col, ss->desc ? "DESC" : "ASC", ss->desc ? "DESC" : "ASC", limit + 1);
  lp_stmt *st = lp_db_prep(db, lp_buf_str(&sql), err);
  lp_buf_release(&sql);
  lp_buf_release(&q.where);
  if (!st) { json_decref(q.params); return -1; }
  size_t pi;
  json_t *pv;
  json_array_foreach(q.params, pi, pv) lp_bind_json(st, (int)pi + 1, pv);
  json_decref(q.params);
  lp_sla_cfg cfg = lp_sla_settings(db, now);
  /* Rows go straight to JSON text; the extra row only says there is a next page. */
  const int sort_col = 8, vcol = lp_lead_json_col("version"), ucol = lp_lead_json_col("updated_at");
  uint64_t origin = lp_db_origin(db);
  json_t *last_val = NULL;
  int64_t last_id = 0;
  long n = 0;
  int more = 0, rc;
  lp_buf_reserve(out, (size_t)limit * 1024 + 256);  /* a lead is ~0.8 KB of JSON */
  lp_buf_puts(out, "{\"items\":[");
  while ((rc = lp_step(st, err)) == 1) {
    if (n == limit) { more = 1; break; }
    size_t mark = out->len;
    if (n) lp_buf_puts(out, ",");
    int64_t id = lp_col_int(st, 0);
    if (!lp_lead_json_cached(out, origin, id, lp_col_int(st, 1), lp_col_int(st, 2))) {
      lp_stmt *one = lp_db_prep_static(db, lp_lead_json_select_one(db), err);
      if (!one) { rc = -1; break; }
      lp_bind_int(one, 1, id);
      int found = lp_step(one, err);
      if (found == 1) {
        size_t start = out->len;
        lp_lead_json_body(out, one);
        if (!out->overflow)  /* a page past its cap fails below: keep only whole bodies */
          lp_lead_json_remember(origin, id, lp_col_int(one, vcol), lp_col_int(one, ucol), out->data + start, out->len - start);
      }
      lp_stmt_done(one);
      if (found < 0) { rc = -1; break; }
      if (found == 0) { out->len = mark; continue; }  /* deleted since (outside a read transaction) */
    }
    const char *row_status = lp_col_text(st, 3);
    lp_lead_json_tail(out, row_status && !strcmp(row_status, "open"), lp_col_int(st, 4), lp_col_int(st, 5), lp_col_int(st, 6),
                      lp_col_int(st, 7), now, cfg);
    json_decref(last_val);
    last_val = ss->text ? json_string(lp_col_text(st, sort_col) ? lp_col_text(st, sort_col) : "") : json_integer(lp_col_int(st, sort_col));
    last_id = id;
    n++;
  }
  lp_stmt_done(st);
  if (rc < 0) { json_decref(last_val); return -1; }
  lp_buf_puts(out, "],\"next_cursor\":");
  if (more && last_val) {
    char *c = cursor_encode(last_val, last_id);
    lp_json_str(out, c);
    free(c);
  } else {
    lp_buf_puts(out, "null");
  }
  json_decref(last_val);
  if (total >= 0) lp_buf_printf(out, ",\"total\":%lld", (long long)total);
  lp_buf_puts(out, "}");
  return out->overflow ? lp_fail(err, LP_EINTERNAL, "list too large"), -1 : 0;
}

json_t *lp_lead_list(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, lp_err *err) {
  lp_buf b = LP_BUF_INIT((size_t)64 << 20);
  json_t *o = NULL;
  if (lp_lead_list_raw(db, a, get, ctx, now, &b, err) == 0) o = json_loadb(b.data, b.len, 0, NULL);
  if (!o && err->code == LP_OK) lp_fail(err, LP_EINTERNAL, "list could not be read back");
  lp_buf_release(&b);
  return o;
}
