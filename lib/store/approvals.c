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
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:s, s:o}", "approval_id", (json_int_t)id, "decision", decision, "note", note ? json_string(note) : json_null());
    rc = lp_event(db, now, lead, decider->id, "approval_decided", "approval", id, data, err);
    json_decref(data);
  }
  if (rc == LP_OK) {
    char kind[40];
    snprintf(kind, sizeof kind, "approval_%s", decision);
    json_t *d = note_data(id);
    rc = lp_notify(db, iget(row, "requested_by"), kind, lead, d, now, err);
    json_decref(d);
  }
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
  json_t *admins = NULL;
  lp_code rc = LP_OK;
  size_t i;
  json_t *a;
  json_array_foreach(rows, i, a) {
    json_t *to = json_array();
    if (json_is_integer(json_object_get(a, "boss"))) json_array_append(to, json_object_get(a, "boss"));
    else {
      if (!admins) admins = lp_query(db, "SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id"
                                         " WHERE r.name = 'admin' AND u.active = 1 ORDER BY u.id", NULL, err);
      if (!admins) { json_decref(to); rc = err->code; break; }
      size_t k;
      json_t *ad;
      json_array_foreach(admins, k, ad) json_array_append(to, json_object_get(ad, "id"));
    }
    json_t *data = json_pack("{s:O, s:O, s:O, s:O, s:I}", "approval_id", json_object_get(a, "id"), "action", json_object_get(a, "action"),
                             "requested_by", json_object_get(a, "requested_by"), "approver_id", json_object_get(a, "approver_id"),
                             "hours", (json_int_t)hours);
    size_t k;
    json_t *u;
    json_array_foreach(to, k, u) {
      if ((rc = lp_notify(db, json_integer_value(u), "approval_escalated", iget(a, "lead_id"), data, now, err)) != LP_OK) break;
      (*sent)++;
    }
    json_decref(data);
    json_decref(to);
    if (rc != LP_OK) break;
    json_t *upd = json_pack("[O, I]", json_object_get(a, "id"), (json_int_t)now);
    rc = lp_exec(db, "UPDATE approvals SET escalated_at = $2 WHERE id = $1", upd, err);
    json_decref(upd);
    if (rc != LP_OK) break;
  }
  json_decref(admins);
  json_decref(rows);
  return rc;
}

json_t *lp_approval_get(lp_db *db, int64_t id, lp_err *err) {
  json_t *row = approval_row(db, id, err);
  return row ? present(row) : NULL;
}

json_t *lp_approvals_list(lp_db *db, const lp_actor *a, const char *status, lp_err *err) {
  if (strcmp(status, "pending") && strcmp(status, "approved") && strcmp(status, "declined") && strcmp(status, "cancelled") && strcmp(status, "all")) {
    lp_fail_field(err, "status", "must be pending, approved, declined, cancelled or all");
    return NULL;
  }
  json_t *args = json_pack("[s, I, i]", status, (json_int_t)a->id, a->is_admin);
  json_t *rows = lp_query(db, "SELECT a.*, l.full_name AS lead_name FROM approvals a JOIN leads l ON l.id = a.lead_id"
                              " WHERE ($1 = 'all' OR a.status = $1) AND ($3 = 1 OR a.approver_id = $2 OR a.requested_by = $2)"
                              " ORDER BY a.id DESC LIMIT 500", args, err);
  json_decref(args);
  if (!rows) return NULL;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) present(row);  /* in place */
  return json_pack("{s:o, s:n}", "items", rows, "next_cursor");
}

typedef struct { int64_t id, now; const lp_actor *decider; const char *note; } decline_ctx;

static lp_code decline_fn(lp_db *db, void *p, lp_err *err) {
  decline_ctx *c = p;
  return lp_approval_mark(db, c->id, c->decider, "declined", c->note, c->now, err);
}

json_t *lp_approval_decide(lp_store *s, const lp_actor *decider, int64_t id, int approve, const char *note,
                           int64_t now, lp_err *err) {
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
