/* approvals.c — /api/v1/approvals: requests that a role's policy sent for approval, and the
 * decisions (store/approvals.h holds the rules: who decides, what approving carries out). */
#include "http/routes/handlers.h"
#include "store/approvals.h"

lp_code h_approvals_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  const char *status = lp_req_query(r, "status") ? lp_req_query(r, "status") : "pending";
  const char *lead = lp_req_query(r, "lead");
  char *end = NULL;
  long long lead_id = lead ? strtoll(lead, &end, 10) : 0;
  if (lead && (end == lead || *end || lead_id <= 0)) return lp_fail_field(&r->err, "lead", "must be a lead id");
  json_t *o = lp_approvals_list(db, &r->actor, status, lead_id, lp_req_flag(r, "mine"), r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

static lp_code decide(lp_req *r, int approve, const char *note) {
  int64_t if_version;
  if (lp_req_if_match(r, &if_version) != LP_OK) return r->err.code;
  json_t *o = lp_approval_decide(r->app->store, &r->actor, r->ids[0], approve, note, if_version, r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_approval_approve(lp_req *r) { return decide(r, 1, NULL); }

lp_code h_approval_decline(lp_req *r) {
  json_t *note = json_object_get(r->json, "note");
  if (note && !json_is_null(note) && (!json_is_string(note) || json_string_length(note) > 4000))
    return lp_fail_field(&r->err, "note", "must be a string of at most 4000 characters");
  return decide(r, 0, json_string_value(note));
}
