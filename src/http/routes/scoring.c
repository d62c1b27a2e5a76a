/* scoring.c — GET|PUT /api/v1/scoring/rules (everyone reads, admins write, If-Match or a version
 * in the body), GET /api/v1/scoring/model (the win model in use, summarised) and POST
 * /api/v1/scoring/run (admins: retrain and rescore now, 202 {job_id}). The rules and the numbers
 * are lib/store/scoring.c's; docs/scoring.md says how they behave. */
#include "http/routes/handlers.h"
#include "http/routes/scoring.h"
#include "store/scoring.h"

lp_code h_scoring_rules_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_scoring_rules_get(db, &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_scoring_rules_put(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  json_t *o = lp_scoring_rules_put(r->app->store, &r->actor, r->json, expect, r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_scoring_model_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_scoring_model_get(db, &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_scoring_run(lp_req *r) {
  if (!r->actor.is_admin) return lp_fail(&r->err, LP_EFORBIDDEN, "Only an admin may retrain the win model");
  json_t *payload = json_pack("{s:b}", "train", 1);
  lp_code rc = lp_reply_job(r, "scoring", payload, 0, json_object());
  json_decref(payload);
  return rc;
}
