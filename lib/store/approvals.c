/* approvals.c — see approvals.h. */
#include <stdlib.h>
#include <string.h>
#include "store/approvals.h"
#include "store/billing.h"
#include "store/leads.h"
#include "store/notify.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/timefmt.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static json_t *approval_row(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM approvals WHERE id = $1", args, err);
  json_decref(args);
  if (!row && err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No approval %lld", (long long)id);
  return row;
}

/* The API form: params as JSON, times in RFC 3339. Takes row over. */
static json_t *present(json_t *row) {
  json_t *p = json_loads(sget(row, "params") ? sget(row, "params") : "{}", 0, NULL);
  json_object_set_new(row, "params", p ? p : json_object());
  const char *times[] = {"created_at", "decided_at", "escalated_at"};
  for (int i = 0; i < 3; i++) {
    json_t *v = json_object_get(row, times[i]);
    if (v) json_object_set_new(row, times[i], lp_json_time(v));
  }
  return row;
}

static json_t *note_data(int64_t id) { return json_pack("{s:I}", "approval_id", (json_int_t)id); }

/* The words a person reads a request by, into d: the lead's name, the outcome's name and kind,
 * the lost reason's name (a query fails quietly: the words are a courtesy, ids stay). */
static void add_words(lp_db *db, json_t *d, int64_t lead_id, json_t *params, lp_err *err) {
  (void)err;
  lp_err e = LP_ERR_INIT;
  json_t *args = json_pack("[I]", (json_int_t)lead_id);
  json_t *lead = lp_query_one(db, "SELECT full_name FROM leads WHERE id = $1", args, &e);
  json_decref(args);
  if (lead) json_object_set(d, "full_name", json_object_get(lead, "full_name"));
  json_decref(lead);
  const char *outcome = json_string_value(json_object_get(params, "outcome"));
  if (outcome) {
    json_object_set_new(d, "outcome", json_string(outcome));
    args = json_pack("[s]", outcome);
    json_t *o = lp_query_one(db, "SELECT name, kind FROM outcomes WHERE key = $1", args, &e);
    json_decref(args);
    if (o) { json_object_set(d, "outcome_name", json_object_get(o, "name")); json_object_set(d, "outcome_kind", json_object_get(o, "kind")); }
    json_decref(o);
  }
  json_t *reason = json_object_get(params, "reason_id");
  if (json_is_integer(reason)) {
    args = json_pack("[O]", reason);
    json_t *o = lp_query_one(db, "SELECT name FROM lost_reasons WHERE id = $1", args, &e);
    json_decref(args);
    if (o) json_object_set(d, "reason_name", json_object_get(o, "name"));
    json_decref(o);
  }
  lp_err_release(&e);
}

lp_code lp_approval_request(lp_db *db, const lp_actor *a, int64_t lead_id, const char *action, json_t *params,
                            int64_t now, int64_t *id, lp_err *err) {
  json_t *none = params ? NULL : json_object();
  if (!params) params = none;
  char *txt = json_dumps(params, JSON_COMPACT);
  json_t *cols = json_pack("{s:I, s:I, s:o, s:s, s:s, s:s, s:I}", "lead_id", (json_int_t)lead_id, "requested_by", (json_int_t)a->id,
                           "approver_id", a->manager_id ? json_integer(a->manager_id) : json_null(), "action", action,
                           "params", txt ? txt : "{}", "status", "pending", "created_at", (json_int_t)now);
  free(txt);
  lp_code rc = lp_insert(db, "approvals", cols, id, err);
  json_decref(cols);
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:s, s:O}", "approval_id", (json_int_t)*id, "action", action, "params", params);
    rc = lp_event(db, now, lead_id, a->id, "approval_requested", "lead", lead_id, data, err);
    json_decref(data);
  }
  json_decref(none);
  if (rc == LP_OK && a->manager_id) {
    json_t *d = note_data(*id);
    json_object_set_new(d, "action", json_string(action));
    json_object_set_new(d, "requested_by", json_integer(a->id));
    json_object_set_new(d, "requested_by_name", json_string(a->name));
    add_words(db, d, lead_id, params, err);
    rc = lp_notify(db, a->manager_id, "approval_requested", lead_id, d, now, err);
    json_decref(d);
  }
  return rc;
}

lp_code lp_approval_mark(lp_db *db, int64_t id, const lp_actor *decider, const char *decision, const char *note,
                         int64_t now, lp_err *err) {
  json_t *row = approval_row(db, id, err);
  if (!row) return err->code;
  json_t *args = json_pack("[I, s, I, I, o]", (json_int_t)id, decision, (json_int_t)now, (json_int_t)decider->id,
                           note ? json_string(note) : json_null());
  lp_code rc = lp_exec(db, "UPDATE approvals SET status = $2, decided_at = $3, decided_by = $4, note = $5, version = version + 1"
                           " WHERE id = $1 AND status = 'pending'", args, err);
  json_decref(args);
  if (rc == LP_OK && lp_db_changes(db) == 0) rc = lp_fail(err, LP_ECONFLICT, "The approval was already decided");
  int64_t lead = iget(row, "lead_id");
  /* What was asked, in words, travels with the decision: the requester reads "Morgan declined
   * your request to close Jane Doe as Lost: 'call them again next week'" (docs/admin.md). */
  json_t *params = json_loads(sget(row, "params") ? sget(row, "params") : "{}", 0, NULL);
  json_t *words = json_pack("{s:I, s:s, s:o, s:O, s:I, s:s, s:O}", "approval_id", (json_int_t)id, "decision", decision,
                            "note", note ? json_string(note) : json_null(), "action", json_object_get(row, "action"),
                            "decided_by", (json_int_t)decider->id, "decided_by_name", decider->name,
                            "requested_by", json_object_get(row, "requested_by"));
  add_words(db, words, lead, params, err);
  json_decref(params);
  if (rc == LP_OK) rc = lp_event(db, now, lead, decider->id, "approval_decided", "approval", id, words, err);
  if (rc == LP_OK) {
    char kind[40];
    snprintf(kind, sizeof kind, "approval_%s", decision);
    rc = lp_notify(db, iget(row, "requested_by"), kind, lead, words, now, err);
  }
  json_decref(words);
  json_decref(row);
  return rc;
}

lp_code lp_approvals_cancel(lp_db *db, int64_t lead_id, int64_t by, const char *why, int64_t now, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)lead_id);
  json_t *rows = lp_query(db, "SELECT id, requested_by FROM approvals WHERE lead_id = $1 AND status = 'pending' ORDER BY id", args, err);
  json_decref(args);
  if (!rows) return err->code;
  lp_code rc = LP_OK;
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    int64_t id = iget(r, "id");
    args = json_pack("[I, I, I, s]", (json_int_t)id, (json_int_t)now, (json_int_t)by, why);
    rc = lp_exec(db, "UPDATE approvals SET status = 'cancelled', decided_at = $2, decided_by = $3, note = $4, version = version + 1"
                     " WHERE id = $1", args, err);
    json_decref(args);
    if (rc != LP_OK) break;
    json_t *data = json_pack("{s:I, s:s, s:s}", "approval_id", (json_int_t)id, "decision", "cancelled", "note", why);
    rc = lp_event(db, now, lead_id, by, "approval_decided", "approval", id, data, err);
    json_decref(data);
    if (rc != LP_OK) break;
    json_t *d = note_data(id);
    rc = lp_notify(db, iget(r, "requested_by"), "approval_cancelled", lead_id, d, now, err);
    json_decref(d);
    if (rc != LP_OK) break;
  }
  json_decref(rows);
  return rc;
}

lp_code lp_approvals_escalate(lp_db *db, int64_t now, int *sent, lp_err *err) {
  *sent = 0;
  int64_t hours = lp_query_int(db, "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'approval_escalation_hours'", NULL, 24, err);
  if (err->code != LP_OK) return err->code;
  if (hours <= 0) return LP_OK;
  json_t *args = json_pack("[I]", (json_int_t)(now - hours * 3600));
  json_t *rows = lp_query(db, "SELECT a.id, a.lead_id, a.action, a.requested_by, a.approver_id, m.manager_id AS boss"
                              " FROM approvals a LEFT JOIN users m ON m.id = a.approver_id"
                              " WHERE a.status = 'pending' AND a.escalated_at IS NULL AND a.created_at <= $1 ORDER BY a.id LIMIT 200", args, err);
  json_decref(args);
  if (!rows) return err->code;
  lp_code rc = LP_OK;
  size_t i;
  json_t *a;
  json_array_foreach(rows, i, a) {
    json_t *data = json_pack("{s:O, s:O, s:O, s:O, s:I}", "approval_id", json_object_get(a, "id"), "action", json_object_get(a, "action"),
                             "requested_by", json_object_get(a, "requested_by"), "approver_id", json_object_get(a, "approver_id"),
                             "hours", (json_int_t)hours);
    /* to the approver's own manager, else to every admin */
    if (json_is_integer(json_object_get(a, "boss"))) {
      rc = lp_notify(db, iget(a, "boss"), "approval_escalated", iget(a, "lead_id"), data, now, err);
      if (rc == LP_OK) (*sent)++;
    } else {
      rc = lp_notify_admins(db, "approval_escalated", iget(a, "lead_id"), data, now, sent, err);
    }
    json_decref(data);
    if (rc != LP_OK) break;
    json_t *upd = json_pack("[O, I]", json_object_get(a, "id"), (json_int_t)now);
    rc = lp_exec(db, "UPDATE approvals SET escalated_at = $2 WHERE id = $1", upd, err);
    json_decref(upd);
    if (rc != LP_OK) break;
  }
  json_decref(rows);
  return rc;
}

json_t *lp_approval_get(lp_db *db, int64_t id, lp_err *err) {
  json_t *row = approval_row(db, id, err);
  return row ? present(row) : NULL;
}

/* Names, words and the lead's open tasks on one listed approval (in place). outcomes and reasons:
 * every row of those small tables, read once per list. */
static void enrich(lp_db *db, json_t *row, json_t *outcomes, json_t *reasons, int64_t now, lp_err *err) {
  json_t *params = json_object_get(row, "params");
  const char *ok = json_string_value(json_object_get(params, "outcome"));
  size_t i;
  json_t *v;
  json_object_set_new(row, "outcome_name", json_null());
  json_object_set_new(row, "outcome_kind", json_null());
  json_object_set_new(row, "reason_name", json_null());
  if (ok) json_array_foreach(outcomes, i, v) if (!strcmp(sget(v, "key"), ok)) {
    json_object_set(row, "outcome_name", json_object_get(v, "name"));
    json_object_set(row, "outcome_kind", json_object_get(v, "kind"));
  }
  json_t *rid = json_object_get(params, "reason_id");
  if (json_is_integer(rid)) json_array_foreach(reasons, i, v) if (iget(v, "id") == json_integer_value(rid))
    json_object_set(row, "reason_name", json_object_get(v, "name"));
  json_t *args = json_pack("[I]", (json_int_t)iget(row, "lead_id"));
  json_t *tasks = lp_query(db, "SELECT id, title, type, due_at, assignee_id FROM tasks WHERE lead_id = $1 AND status = 'open'"
                               " ORDER BY due_at IS NULL, due_at, id LIMIT 50", args, err);
  json_decref(args);
  int overdue = 0;
  json_array_foreach(tasks, i, v) {
    json_t *due = json_object_get(v, "due_at");
    int late = json_is_integer(due) && json_integer_value(due) < now;
    overdue += late;
    json_object_set_new(v, "overdue", json_boolean(late));
    json_object_set_new(v, "due_at", lp_json_time(due));
  }
  json_object_set_new(row, "open_tasks", tasks ? tasks : json_array());
  json_object_set_new(row, "overdue_tasks", json_integer(overdue));
}

json_t *lp_approvals_list(lp_db *db, const lp_actor *a, const char *status, int64_t lead_id, int mine, int64_t now, lp_err *err) {
  if (strcmp(status, "pending") && strcmp(status, "approved") && strcmp(status, "declined") && strcmp(status, "cancelled") && strcmp(status, "all")) {
    lp_fail_field(err, "status", "must be pending, approved, declined, cancelled or all");
    return NULL;
  }
  /* A lead's requests: whoever may see the lead sees them (the lead page says one waits). */
  int by_lead = 0;
  if (lead_id) {
    json_t *lead = lp_lead_row(db, lead_id, err);
    if (!lead) return NULL;
    lp_code rc = lp_lead_visible(db, a, lead, err);
    json_decref(lead);
    if (rc != LP_OK) return NULL;
    by_lead = 1;
  }
  json_t *args = json_pack("[s, I, i, I, i, i]", status, (json_int_t)a->id, a->is_admin, (json_int_t)lead_id, by_lead, mine);
  json_t *rows = lp_query(db, "SELECT a.*, l.full_name AS lead_name, l.status AS lead_status, l.owner_id AS lead_owner_id,"
                              " ru.name AS requested_by_name, au.name AS approver_name, du.name AS decided_by_name"
                              " FROM approvals a JOIN leads l ON l.id = a.lead_id"
                              " LEFT JOIN users ru ON ru.id = a.requested_by LEFT JOIN users au ON au.id = a.approver_id"
                              " LEFT JOIN users du ON du.id = a.decided_by"
                              " WHERE ($1 = 'all' OR a.status = $1) AND l.deleted_at IS NULL"
                              " AND ($5 = 1 OR $3 = 1 OR a.approver_id = $2 OR a.requested_by = $2)"
                              " AND ($5 = 0 OR a.lead_id = $4) AND ($6 = 0 OR a.requested_by = $2)"
                              " ORDER BY a.id DESC LIMIT 500", args, err);
  json_decref(args);
  if (!rows) return NULL;
  json_t *outcomes = lp_query(db, "SELECT key, name, kind FROM outcomes", NULL, err);
  json_t *reasons = lp_query(db, "SELECT id, name FROM lost_reasons", NULL, err);
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    present(row);  /* in place */
    enrich(db, row, outcomes, reasons, now, err);
    /* may the caller decide it? (the server's rule, so a client need not guess) */
    int64_t approver = iget(row, "approver_id");
    json_object_set_new(row, "can_decide", json_boolean(!strcmp(sget(row, "status"), "pending") && iget(row, "requested_by") != a->id &&
                                                        (a->is_admin || (approver && approver == a->id))));
  }
  json_decref(outcomes);
  json_decref(reasons);
  if (err->code != LP_OK) { json_decref(rows); return NULL; }
  return json_pack("{s:o, s:n}", "items", rows, "next_cursor");
}

typedef struct { int64_t id, now; const lp_actor *decider; const char *note; } decline_ctx;

static lp_code decline_fn(lp_db *db, void *p, lp_err *err) {
  decline_ctx *c = p;
  return lp_approval_mark(db, c->id, c->decider, "declined", c->note, c->now, err);
}

json_t *lp_approval_decide(lp_store *s, const lp_actor *decider, int64_t id, int approve, const char *note,
                           int64_t if_version, int64_t now, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return NULL;
  json_t *row = approval_row(db, id, err);
  if (!row) return NULL;
  int64_t approver = iget(row, "approver_id"), requested_by = iget(row, "requested_by");
  if (!decider->is_admin && !(approver && approver == decider->id)) {
    if (requested_by == decider->id) lp_fail(err, LP_EFORBIDDEN, "Your own request is decided by your manager or an admin");
    else lp_fail(err, LP_ENOTFOUND, "No approval %lld", (long long)id);
    json_decref(row);
    return NULL;
  }
  if (if_version >= 0 && iget(row, "version") != if_version) {
    lp_fail(err, LP_EVERSION, "The approval is at version %lld, not %lld", (long long)iget(row, "version"), (long long)if_version);
    json_decref(row);
    return NULL;
  }
  if (strcmp(sget(row, "status") ? sget(row, "status") : "", "pending")) {
    json_decref(row);
    lp_fail(err, LP_ECONFLICT, "The approval was already decided");
    return NULL;
  }
  lp_code rc;
  if (approve) {
    lp_actor requester;
    rc = lp_actor_load(db, requested_by, &requester, err);
    if (rc == LP_OK) {
      json_t *params = json_loads(sget(row, "params") ? sget(row, "params") : "{}", 0, NULL);
      const char *action = sget(row, "action") ? sget(row, "action") : "";
      lp_move move = !strcmp(action, "reopen") ? LP_MOVE_REOPEN : LP_MOVE_CLOSE;
      json_t *lead = !strcmp(action, "convert")
        ? lp_lead_convert_approved(s, &requester, decider, id, iget(row, "lead_id"), params, now, err)
        : lp_lead_move_approved(s, &requester, decider, id, iget(row, "lead_id"), move, params, now, err);
      json_decref(params);
      rc = lead ? LP_OK : err->code;
      json_decref(lead);
    }
  } else {
    decline_ctx c = {id, now, decider, note};
    rc = lp_store_write(s, decline_fn, &c, err);
  }
  json_decref(row);
  if (rc != LP_OK) return NULL;
  db = lp_store_reader(s, err);
  return db ? lp_approval_get(db, id, err) : NULL;
}

lp_code lp_apply_approved(lp_db *db, const lp_actor *a, json_t *row, const lp_plan *plan, json_t *req, int64_t approval_id,
                          const lp_actor *decider, int64_t now, lp_applied *out, json_t **pending, lp_err *err) {
  *pending = NULL;
  lp_code rc = approval_id ? lp_approval_mark(db, approval_id, decider, "approved", NULL, now, err) : LP_OK;
  if (rc == LP_OK) rc = lp_apply(db, a, row, plan, req, now, out, err);
  if (rc == LP_OK && out->approval_id && !(*pending = lp_approval_get(db, out->approval_id, err))) rc = err->code;
  return rc;
}
