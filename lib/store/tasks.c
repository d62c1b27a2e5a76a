/* tasks.c — tasks and follow-ups (see tasks.h). A task is visible to whoever may see its lead,
 * and to its assignee. */
#include "core/record.h"
#include "store/rows.h"
#include "store/tasks.h"
#include "util/buf.h"
#include "util/timefmt.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static json_t *task_row(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT t.* FROM tasks t JOIN leads l ON l.id = t.lead_id WHERE t.id = $1 AND l.deleted_at IS NULL", args, err);
  json_decref(args);
  if (!row && err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No task %lld", (long long)id);
  return row;
}

static lp_code task_visible(lp_db *db, const lp_actor *a, json_t *task, lp_err *err) {
  if (iget(task, "assignee_id") == a->id) return LP_OK;
  json_t *lead = lp_lead_row(db, iget(task, "lead_id"), err);
  if (!lead) return err->code;
  lp_code rc = lp_lead_visible(db, a, lead, err);
  json_decref(lead);
  if (rc != LP_OK) { lp_err_release(err); return lp_fail(err, LP_ENOTFOUND, "No task %lld", (long long)iget(task, "id")); }
  return LP_OK;
}

json_t *lp_task_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *row = task_row(db, id, err);
  if (!row) return NULL;
  if (task_visible(db, a, row, err) != LP_OK) { json_decref(row); return NULL; }
  json_t *o = lp_rec_present(&lp_rt_task, row);
  json_decref(row);
  return o;
}

typedef struct { const lp_actor *a; int64_t lead_id, id, expect, now; json_t *cols; } task_ctx;

static const char *event_for_status(const char *s) {
  if (!s) return "task_updated";
  if (!strcmp(s, "done")) return "task_done";
  if (!strcmp(s, "cancelled")) return "task_cancelled";
  return "task_reopened";
}

static lp_code create_fn(lp_db *db, void *p, lp_err *err) {
  task_ctx *c = p;
  json_t *lead = lp_lead_row(db, c->lead_id, err);
  if (!lead) return err->code;
  lp_code rc = lp_lead_visible(db, c->a, lead, err);
  if (rc != LP_OK) { json_decref(lead); return rc; }
  json_t *cols = json_deep_copy(c->cols);
  if (!json_object_get(cols, "assignee_id") || json_is_null(json_object_get(cols, "assignee_id")))
    json_object_set_new(cols, "assignee_id", iget(lead, "owner_id") ? json_integer(iget(lead, "owner_id")) : json_integer(c->a->id));
  else lp_ref_check(db, "users", iget(cols, "assignee_id"), "assignee_id", err);
  if (!json_object_get(cols, "type")) json_object_set_new(cols, "type", json_string("follow_up"));
  if (!json_object_get(cols, "title")) lp_fail_field(err, "title", "required");
  const char *st = sget(cols, "status");
  if (!st) json_object_set_new(cols, "status", json_string("open"));
  else if (strcmp(st, "open")) {
    json_object_set_new(cols, "completed_at", json_integer(c->now));
    json_object_set_new(cols, "completed_by", json_integer(c->a->id));
  }
  if (err->code) { json_decref(cols); json_decref(lead); return err->code; }
  json_object_set_new(cols, "lead_id", json_integer(c->lead_id));
  json_object_set_new(cols, "created_at", json_integer(c->now));
  json_object_set_new(cols, "updated_at", json_integer(c->now));
  json_object_set_new(cols, "created_by", json_integer(c->a->id));
  rc = lp_insert(db, "tasks", cols, &c->id, err);
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:O, s:O, s:O, s:O}", "task_id", (json_int_t)c->id, "type", json_object_get(cols, "type"),
                             "title", json_object_get(cols, "title"), "due_at", lp_rec_value_out(lp_rec_field(&lp_rt_task, "due_at"), json_object_get(cols, "due_at")),
                             "assignee_id", json_object_get(cols, "assignee_id"));
    json_decref(json_object_get(data, "due_at"));  /* balance the O above */
    rc = lp_event(db, c->now, c->lead_id, c->a->id, "task_created", "task", c->id, data, err);
    json_decref(data);
  }
  json_decref(cols);
  json_decref(lead);
  return rc;
}

json_t *lp_task_create(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *cols, int64_t now, lp_err *err) {
  task_ctx c = {a, lead_id, 0, -1, now, cols};
  if (lp_store_write(s, create_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_task_get(db, a, c.id, err) : NULL;
}

static lp_code update_fn(lp_db *db, void *p, lp_err *err) {
  task_ctx *c = p;
  json_t *row = task_row(db, c->id, err);
  if (!row) return err->code;
  lp_code rc = task_visible(db, c->a, row, err);
  if (rc == LP_OK && c->expect >= 0 && iget(row, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The task has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  json_t *asg = json_object_get(c->cols, "assignee_id");
  if (rc == LP_OK && asg && json_is_integer(asg)) rc = lp_ref_check(db, "users", json_integer_value(asg), "assignee_id", err);
  if (rc != LP_OK) { json_decref(row); return rc; }
  json_t *set = json_object();
  json_t *changes = json_object();
  lp_rec_diff(&lp_rt_task, row, c->cols, NULL, set, changes);
  /* a new due time arms the reminder again (jobs/reminders.c) */
  if (json_object_get(set, "due_at") && json_object_size(set)) json_object_set_new(set, "reminded_at", json_null());
  const char *ns = json_object_get(set, "status") ? sget(set, "status") : NULL;
  if (ns) {
    int closing = strcmp(ns, "open") != 0;
    json_object_set_new(set, "completed_at", closing ? json_integer(c->now) : json_null());
    json_object_set_new(set, "completed_by", closing ? json_integer(c->a->id) : json_null());
  }
  if (json_object_size(set)) {
    json_object_set_new(set, "updated_at", json_integer(c->now));
    rc = lp_update(db, "tasks", c->id, set, iget(row, "version"), err);
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:I, s:O, s:O}", "task_id", (json_int_t)c->id, "title", json_object_get(row, "title"), "changes", changes);
      rc = lp_event(db, c->now, iget(row, "lead_id"), c->a->id, ns ? event_for_status(ns) : "task_updated", "task", c->id, data, err);
      json_decref(data);
    }
  }
  json_decref(set);
  json_decref(changes);
  json_decref(row);
  return rc;
}

json_t *lp_task_update(lp_store *s, const lp_actor *a, int64_t id, json_t *cols, int64_t expect, int64_t now, lp_err *err) {
  task_ctx c = {a, 0, id, expect, now, cols};
  if (lp_store_write(s, update_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_task_get(db, a, id, err) : NULL;
}

/* The visibility rule as SQL over tasks t joined to leads l; adds params from $n. */
static void visible_sql(lp_buf *w, json_t *params, const lp_actor *a) {
  if (a->view == LP_VIEW_ALL) return;
  json_array_append_new(params, json_integer(a->id));
  int n = (int)json_array_size(params);
  if (a->view == LP_VIEW_OWN) lp_buf_printf(w, " AND (l.owner_id = $%d OR t.assignee_id = $%d)", n, n);
  else lp_buf_printf(w, " AND (l.owner_id = $%d OR t.assignee_id = $%d OR l.owner_id IN (SELECT id FROM users WHERE manager_id = $%d))", n, n, n);
}

json_t *lp_task_list(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, lp_err *err) {
  lp_buf w = LP_BUF_INIT(1 << 14);
  json_t *params = json_array();
  lp_buf_puts(&w, "l.deleted_at IS NULL");
  const char *asg = get(ctx, "assignee") ? get(ctx, "assignee") : "me";
  if (!strcmp(asg, "me")) { json_array_append_new(params, json_integer(a->id)); lp_buf_printf(&w, " AND t.assignee_id = $%zu", json_array_size(params)); }
  else if (strcmp(asg, "any")) {
    char *end;
    long long id = strtoll(asg, &end, 10);
    if (*end || id <= 0) lp_fail_field(err, "assignee", "must be me, any or a user id");
    else { json_array_append_new(params, json_integer(id)); lp_buf_printf(&w, " AND t.assignee_id = $%zu", json_array_size(params)); }
  }
  const char *st = get(ctx, "status") ? get(ctx, "status") : "open";
  if (!strcmp(st, "open") || !strcmp(st, "done") || !strcmp(st, "cancelled")) {
    json_array_append_new(params, json_string(st));
    lp_buf_printf(&w, " AND t.status = $%zu", json_array_size(params));
  } else if (strcmp(st, "all")) lp_fail_field(err, "status", "must be open, done, cancelled or all");
  const char *names[] = {"due_from", "due_to"};
  for (int i = 0; i < 2; i++) {
    const char *s = get(ctx, names[i]);
    int64_t t;
    if (!s) continue;
    if (lp_time_parse(s, &t) != 0) { lp_fail_field(err, names[i], "must be an RFC 3339 time or a date"); continue; }
    if (i == 1 && strlen(s) == 10) t += 86399;
    json_array_append_new(params, json_integer(t));
    lp_buf_printf(&w, " AND t.due_at %s $%zu", i ? "<=" : ">=", json_array_size(params));
  }
  const char *lead = get(ctx, "lead");
  if (lead) {
    char *end;
    long long id = strtoll(lead, &end, 10);
    if (*end || id <= 0) lp_fail_field(err, "lead", "must be a lead id");
    else { json_array_append_new(params, json_integer(id)); lp_buf_printf(&w, " AND t.lead_id = $%zu", json_array_size(params)); }
  }
  long limit = 50;
  if (get(ctx, "limit")) {
    char *end;
    limit = strtol(get(ctx, "limit"), &end, 10);
    if (*end || limit < 1 || limit > 500) lp_fail_field(err, "limit", "must be 1 to 500");
  }
  /* Cursor: "due_at:id" of the last row; tasks sort by due date (none last), then id. */
  const char *cur = get(ctx, "cursor");
  if (cur && *cur) {
    long long cd, ci;
    if (sscanf(cur, "%lld:%lld", &cd, &ci) != 2) lp_fail_field(err, "cursor", "invalid cursor");
    else {
      json_array_append_new(params, json_integer(cd));
      json_array_append_new(params, json_integer(ci));
      size_t n = json_array_size(params);
      lp_buf_printf(&w, " AND (COALESCE(t.due_at, 9223372036854775807) > $%zu OR (COALESCE(t.due_at, 9223372036854775807) = $%zu AND t.id > $%zu))", n - 1, n - 1, n);
    }
  }
  visible_sql(&w, params, a);
  if (err->code) { lp_buf_release(&w); json_decref(params); return NULL; }
  lp_buf sql = LP_BUF_INIT(1 << 15);
  lp_buf_printf(&sql, "SELECT t.*, COALESCE(t.due_at, 9223372036854775807) AS sort_due, l.full_name AS lead_name FROM tasks t JOIN leads l ON l.id = t.lead_id"
                      " WHERE %s ORDER BY sort_due, t.id LIMIT %ld", lp_buf_str(&w), limit + 1);
  json_t *rows = lp_query(db, lp_buf_str(&sql), params, err);
  lp_buf_release(&sql);
  lp_buf_release(&w);
  json_decref(params);
  if (!rows) return NULL;
  json_t *items = json_array();
  json_t *next = json_null();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    if ((long)i >= limit) {
      json_t *last = json_array_get(rows, i - 1);
      char c[64];
      snprintf(c, sizeof c, "%lld:%lld", (long long)iget(last, "sort_due"), (long long)iget(last, "id"));
      next = json_string(c);
      break;
    }
    json_t *o = lp_rec_present(&lp_rt_task, r);
    json_object_set(o, "lead_name", json_object_get(r, "lead_name"));
    json_object_set_new(o, "overdue", json_boolean(!strcmp(sget(r, "status"), "open") && !json_is_null(json_object_get(r, "due_at")) && iget(r, "due_at") < now));
    json_array_append_new(items, o);
  }
  json_decref(rows);
  return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}
