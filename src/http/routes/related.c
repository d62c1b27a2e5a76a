/* related.c — related leads, the duplicate check of a create, and merging leads:
 * GET /api/v1/leads/{id}/related, POST /api/v1/leads?check_duplicates=1 (with leads.c),
 * POST /api/v1/leads/{id}/merge[?dry_run=1]. Handlers decode, call lib/store, and answer. */
#include "http/routes/handlers.h"
#include "store/related.h"

lp_code h_lead_related(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_lead_related(db, &r->actor, r->ids[0], r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

int lp_duplicates_refuse(lp_req *r, json_t *cols, lp_code *rc) {
  lp_db *db = lp_req_db(r);
  if (!db) { *rc = r->err.code; return 1; }
  json_t *d = lp_lead_duplicates(db, &r->actor, json_object_get(cols, "emails"), json_object_get(cols, "phones"), 0, &r->err);
  if (!d) { *rc = r->err.code; return 1; }
  if (!json_array_size(d)) { json_decref(d); return 0; }
  lp_err e = LP_ERR_INIT;
  lp_fail(&e, LP_ECONFLICT, "An open lead has the same e-mail address or phone number; open it, or create anyway without check_duplicates");
  json_t *body = json_pack("{s:o, s:o}", "error", lp_error_json(&e), "duplicates", d);
  lp_err_release(&e);
  *rc = lp_reply(r, 409, body);
  return 1;
}

lp_code h_lead_merge(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  json_t *ids = json_object_get(r->json, "other_ids");
  json_t *one = json_object_get(r->json, "other_id");  /* the contract's short form: one lead */
  if (!ids && json_is_integer(one)) ids = json_pack("[O]", one);
  else json_incref(ids);
  if (!json_is_array(ids)) lp_fail_field(&r->err, "other_ids", ids ? "must be an array of lead ids" : "required");
  else {
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) if (!json_is_integer(v) || json_integer_value(v) <= 0) {
      lp_fail_field(&r->err, "other_ids", "must be an array of lead ids");
      break;
    }
  }
  json_t *fields = json_object_get(r->json, "fields");
  if (fields && !json_is_null(fields) && !json_is_object(fields)) lp_fail_field(&r->err, "fields", "must be an object {field: lead id}");
  json_t *versions = json_object_get(r->json, "versions");
  if (versions && !json_is_null(versions) && !json_is_object(versions)) lp_fail_field(&r->err, "versions", "must be an object {lead id: version}");
  if (r->err.code) { json_decref(ids); return r->err.code; }
  json_t *req = json_pack("{s:o, s:O?, s:O?}", "other_ids", ids, "fields", json_is_object(fields) ? fields : NULL,
                          "versions", json_is_object(versions) ? versions : NULL);
  json_t *o = lp_lead_merge(r->app->store, &r->actor, r->ids[0], req, lp_req_flag(r, "dry_run"), expect, r->now, &r->err);
  json_decref(req);
  return o ? lp_reply(r, 200, o) : r->err.code;
}
