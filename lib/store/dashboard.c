/* dashboard.c — GET /dashboard in one read (see dashboard.h): the figures of the caller's own
 * leads and tasks ("mine") or of every lead and task the caller's leads.view lets it see
 * ("team": its own and its reports' for view=team, everyone's for view=all; an agent with view=own
 * gets its own), and the follow-up and overdue tasks themselves.
 *
 * The two lists never repeat each other: follow_up_items are the open tasks due within
 * now ± follow_up_window_days (those already past due flagged `overdue`), overdue_items the open
 * tasks due before that window began. The counts keep their meaning: `follow_ups` counts the
 * window, `overdue` every open task past due (so overdue = the window's past part + overdue_items'
 * total). Each list holds at most 50 tasks, soonest first for follow-ups, most recently due first
 * for the overdue ones; `*_total` says how many there are. */
#include "store/dashboard.h"
#include "store/rows.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define ITEMS_MAX 50

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* The owners (or assignees) the scope covers, as SQL over column col with $1 = the caller; "" for all. */
static void scope_sql(lp_buf *b, const char *col, int team, lp_view view) {
  if (team && view == LP_VIEW_ALL) return;
  if (team && view == LP_VIEW_TEAM) lp_buf_printf(b, " AND (%s = $1 OR %s IN (SELECT id FROM users WHERE manager_id = $1))", col, col);
  else lp_buf_printf(b, " AND %s = $1", col);
}

static int64_t count(lp_db *db, const char *head, const char *col, int team, const lp_actor *a, const char *tail, json_t *p, lp_err *err) {
  lp_buf q = LP_BUF_INIT(4096);
  lp_buf_puts(&q, head);
  scope_sql(&q, col, team, a->view);
  if (tail) lp_buf_puts(&q, tail);
  int64_t n = lp_query_int(db, lp_buf_str(&q), p, 0, err);
  lp_buf_release(&q);
  return n;
}

static json_t *time_json(json_t *v) {
  char t[LP_TIME_LEN];
  if (!v || json_is_null(v)) return json_null();
  lp_time_format(json_integer_value(v), t);
  return json_string(t);
}

/* Open tasks in the scope due in [from, to) (from < 0: no lower bound), up to ITEMS_MAX. */
static json_t *items(lp_db *db, const lp_actor *a, int team, int64_t from, int64_t to, int newest_first, int64_t now, lp_err *err) {
  lp_buf q = LP_BUF_INIT(4096);
  lp_buf_puts(&q, "SELECT t.id, t.title, t.type, t.due_at, t.lead_id, t.assignee_id, t.created_at, l.full_name AS lead_name"
                  " FROM tasks t JOIN leads l ON l.id = t.lead_id WHERE t.status = 'open' AND l.deleted_at IS NULL"
                  " AND t.due_at IS NOT NULL AND t.due_at >= $2 AND t.due_at < $3");
  scope_sql(&q, "t.assignee_id", team, a->view);
  lp_buf_printf(&q, " ORDER BY t.due_at %s, t.id LIMIT %d", newest_first ? "DESC" : "ASC", ITEMS_MAX);
  json_t *p = json_pack("[I, I, I]", (json_int_t)a->id, (json_int_t)from, (json_int_t)to);
  json_t *rows = lp_query(db, lp_buf_str(&q), p, err);
  json_decref(p);
  lp_buf_release(&q);
  if (!rows) return NULL;
  json_t *out = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:o, s:I, s:s, s:O, s:o, s:b}", "id", (json_int_t)iget(r, "id"),
                                         "title", sget(r, "title") ? sget(r, "title") : "", "type", sget(r, "type") ? sget(r, "type") : "follow_up",
                                         "due_at", time_json(json_object_get(r, "due_at")), "lead_id", (json_int_t)iget(r, "lead_id"),
                                         "lead_name", sget(r, "lead_name") ? sget(r, "lead_name") : "",
                                         "assignee_id", json_object_get(r, "assignee_id"), "created_at", time_json(json_object_get(r, "created_at")),
                                         "overdue", iget(r, "due_at") < now));
  }
  json_decref(rows);
  return out;
}

json_t *lp_dashboard_read(lp_db *db, const lp_actor *a, int team, int64_t now, lp_err *err) {
  if (a->view == LP_VIEW_OWN) team = 0;  /* nothing beyond its own to see */
  lp_sla_cfg sla = lp_sla_settings(db, now);
  json_t *wd = lp_query_one(db, "SELECT value FROM settings WHERE key = 'follow_up_window_days'", NULL, err);
  int64_t window = wd && sget(wd, "value") ? strtoll(sget(wd, "value"), NULL, 10) : 3;
  json_decref(wd);
  if (window <= 0) window = 3;
  const int64_t from = now - window * 86400, to = now + window * 86400;
  const char *open_leads = "SELECT count(*) FROM leads WHERE status = 'open' AND deleted_at IS NULL";
  const char *open_tasks = "SELECT count(*) FROM tasks t JOIN leads l ON l.id = t.lead_id WHERE t.status = 'open' AND l.deleted_at IS NULL";

  json_t *p = json_pack("[I]", (json_int_t)a->id);
  int64_t open = count(db, open_leads, "owner_id", team, a, NULL, p, err);
  int64_t needs_reply = count(db, "SELECT count(*) FROM leads WHERE needs_reply = 1 AND deleted_at IS NULL", "owner_id", team, a, NULL, p, err);
  int64_t approvals = a->can_manage ? lp_query_int(db, "SELECT count(*) FROM approvals WHERE status = 'pending' AND (approver_id = $1 OR approver_id IS NULL)", p, 0, err) : 0;
  int64_t unread = lp_query_int(db, "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL", p, 0, err);
  json_decref(p);

  p = json_pack("[I, I, I]", (json_int_t)a->id, (json_int_t)from, (json_int_t)to);
  int64_t fu = count(db, open_tasks, "t.assignee_id", team, a, " AND t.due_at >= $2 AND t.due_at <= $3", p, err);
  json_decref(p);
  p = json_pack("[I, I]", (json_int_t)a->id, (json_int_t)now);
  int64_t overdue = count(db, open_tasks, "t.assignee_id", team, a, " AND t.due_at < $2", p, err);
  json_decref(p);
  p = json_pack("[I, I]", (json_int_t)a->id, (json_int_t)from);
  int64_t older = count(db, open_tasks, "t.assignee_id", team, a, " AND t.due_at < $2", p, err);
  json_decref(p);

  p = json_pack("[I, I, I, I]", (json_int_t)a->id, (json_int_t)now, (json_int_t)(sla.warn_days * 86400), (json_int_t)(sla.breach_days * 86400));
  const char *age = "($2 - created_at - waiting_seconds - CASE WHEN waiting_since IS NULL THEN 0 ELSE $2 - waiting_since END)";
  char t1[400], t2[400];
  snprintf(t1, sizeof t1, " AND %s >= $3 AND %s < $4", age, age);
  snprintf(t2, sizeof t2, " AND %s >= $4", age);
  int64_t warn = count(db, open_leads, "owner_id", team, a, t1, p, err);
  int64_t breach = count(db, open_leads, "owner_id", team, a, t2, p, err);
  json_decref(p);
  if (err->code) return NULL;

  /* the window's tasks (to included, as the count has it), then those due before it */
  json_t *fu_items = items(db, a, team, from, to + 1, 0, now, err);
  json_t *od_items = fu_items ? items(db, a, team, INT64_MIN / 2, from, 1, now, err) : NULL;
  if (!od_items) { json_decref(fu_items); return NULL; }
  return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I}",
                   "scope", team ? "team" : "mine",
                   "open_leads", (json_int_t)open, "follow_ups", (json_int_t)fu, "needs_reply", (json_int_t)needs_reply,
                   "overdue", (json_int_t)overdue, "sla_warning", (json_int_t)warn, "sla_breached", (json_int_t)breach,
                   "pending_approvals", (json_int_t)approvals, "unread_notifications", (json_int_t)unread,
                   "follow_up_window_days", (json_int_t)window,
                   "follow_up_items", fu_items, "follow_up_total", (json_int_t)fu,
                   "overdue_items", od_items, "overdue_total", (json_int_t)older);
}
