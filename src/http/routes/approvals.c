/* approvals.c — /api/v1/approvals: requests that a role's policy sent for approval, and the
 * decisions. Approving carries out the request as it was asked (lp_lead_move_approved);
 * declining closes it with a note. Approvers: the requester's manager, or any admin. */
#include "http/routes/handlers.h"
#include "store/leads.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/timefmt.h"

static json_t *approval_present(json_t *row) {
  json_t *p = json_loads(json_string_value(json_object_get(row, "params")) ?: "{}", 0, NULL);
  json_object_set_new(row, "params", p ? p : json_object());
  const char *times[] = {"created_at", "decided_at"};
  for (int i = 0; i < 2; i++) {
    json_t *v = json_object_get(row, times[i]);
    if (json_is_integer(v)) {
      char b[LP_TIME_LEN];
      lp_time_format(json_integer_value(v), b);
      json_object_set_new(row, times[i], json_string(b));
    }
  }
  return row;
}

lp_code h_approvals_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  const char *status = lp_req_query(r, "status") ? lp_req_query(r, "status") : "pending";
  if (strcmp(status, "pending") && strcmp(status, "approved") && strcmp(status, "declined") && strcmp(status, "cancelled") && strcmp(status, "all"))
    return lp_fail_field(&r->err, "status", "must be pending, approved, declined, cancelled or all");
  /* Admins see every request; others the ones they decide and the ones they made. */
  json_t *args = json_pack("[s, I, i]", status, (json_int_t)r->actor.id, r->actor.is_admin);
  json_t *rows = lp_query(db, "SELECT a.*, l.full_name AS lead_name FROM approvals a JOIN leads l ON l.id = a.lead_id"
                              " WHERE ($1 = 'all' OR a.status = $1) AND ($3 = 1 OR a.approver_id = $2 OR a.requested_by = $2)"
                              " ORDER BY a.id DESC LIMIT 500", args, &r->err);
  json_decref(args);
  if (!rows) return r->err.code;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) approval_present(row);
  return lp_reply(r, 200, json_pack("{s:o, s:n}", "items", rows, "next_cursor"));
}

/* Loads a pending approval the caller may decide; 404 when it is not theirs to see. */
static json_t *decidable(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return NULL;
  json_t *args = json_pack("[I]", (json_int_t)r->ids[0]);
  json_t *row = lp_query_one(db, "SELECT * FROM approvals WHERE id = $1", args, &r->err);
  json_decref(args);
  if (!row) { if (!r->err.code) lp_fail(&r->err, LP_ENOTFOUND, "No approval %lld", (long long)r->ids[0]); return NULL; }
  int64_t approver = json_integer_value(json_object_get(row, "approver_id"));
  int may = r->actor.is_admin || (approver && approver == r->actor.id);
  if (!may) {
    int64_t req = json_integer_value(json_object_get(row, "requested_by"));
    json_decref(row);
    if (req == r->actor.id) lp_fail(&r->err, LP_EFORBIDDEN, "Your own request is decided by your manager or an admin");
    else lp_fail(&r->err, LP_ENOTFOUND, "No approval %lld", (long long)r->ids[0]);
    return NULL;
  }
  if (strcmp(json_string_value(json_object_get(row, "status")) ?: "", "pending")) {
    json_decref(row);
    lp_fail(&r->err, LP_ECONFLICT, "The approval was already decided");
    return NULL;
  }
  return row;
}

static lp_code answer(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *args = json_pack("[I]", (json_int_t)r->ids[0]);
  json_t *row = lp_query_one(db, "SELECT * FROM approvals WHERE id = $1", args, &r->err);
  json_decref(args);
  if (!row) return r->err.code ? r->err.code : lp_fail(&r->err, LP_ENOTFOUND, "No approval");
  return lp_reply(r, 200, approval_present(row));
}

lp_code h_approval_approve(lp_req *r) {
  json_t *ap = decidable(r);
  if (!ap) return r->err.code;
  lp_db *db = lp_req_db(r);
  lp_actor requester;
  lp_code rc = db ? lp_actor_load(db, json_integer_value(json_object_get(ap, "requested_by")), &requester, &r->err) : r->err.code;
  if (rc != LP_OK) { json_decref(ap); return rc; }
  json_t *params = json_loads(json_string_value(json_object_get(ap, "params")) ?: "{}", 0, NULL);
  lp_move move = !strcmp(json_string_value(json_object_get(ap, "action")) ?: "", "reopen") ? LP_MOVE_REOPEN : LP_MOVE_CLOSE;
  json_t *lead = lp_lead_move_approved(r->app->store, &requester, &r->actor, r->ids[0],
                                       json_integer_value(json_object_get(ap, "lead_id")), move, params, r->now, &r->err);
  json_decref(params);
  json_decref(ap);
  if (!lead) return r->err.code;
  json_decref(lead);
  return answer(r);
}

typedef struct { int64_t id, lead, requester, now, by; const char *note; } decline_ctx;

static lp_code decline_fn(lp_db *db, void *p, lp_err *err) {
  decline_ctx *c = p;
  json_t *args = json_pack("[I, I, I, o]", (json_int_t)c->id, (json_int_t)c->now, (json_int_t)c->by, c->note ? json_string(c->note) : json_null());
  lp_code rc = lp_exec(db, "UPDATE approvals SET status = 'declined', decided_at = $2, decided_by = $3, note = $4, version = version + 1"
                           " WHERE id = $1 AND status = 'pending'", args, err);
  json_decref(args);
  if (rc == LP_OK && lp_db_changes(db) == 0) rc = lp_fail(err, LP_ECONFLICT, "The approval was already decided");
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:s, s:o}", "approval_id", (json_int_t)c->id, "decision", "declined", "note", c->note ? json_string(c->note) : json_null());
    rc = lp_event(db, c->now, c->lead, c->by, "approval_decided", "approval", c->id, data, err);
    json_decref(data);
  }
  if (rc == LP_OK) {
    char d[64];
    snprintf(d, sizeof d, "{\"approval_id\":%lld}", (long long)c->id);
    json_t *n = json_pack("[I, I, I, s]", (json_int_t)c->requester, (json_int_t)c->lead, (json_int_t)c->now, d);
    rc = lp_exec(db, "INSERT INTO notifications(user_id, kind, lead_id, data, created_at) VALUES ($1, 'approval_declined', $2, $4, $3)", n, err);
    json_decref(n);
  }
  return rc;
}

lp_code h_approval_decline(lp_req *r) {
  json_t *note = json_object_get(r->json, "note");
  if (note && !json_is_null(note) && (!json_is_string(note) || json_string_length(note) > 4000))
    return lp_fail_field(&r->err, "note", "must be a string of at most 4000 characters");
  json_t *ap = decidable(r);
  if (!ap) return r->err.code;
  decline_ctx c = {r->ids[0], json_integer_value(json_object_get(ap, "lead_id")), json_integer_value(json_object_get(ap, "requested_by")),
                   r->now, r->actor.id, json_string_value(note)};
  lp_code rc = lp_store_write(r->app->store, decline_fn, &c, &r->err);
  json_decref(ap);
  return rc == LP_OK ? answer(r) : rc;
}
