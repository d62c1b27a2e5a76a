/* digest.c — POST /api/v1/reports/digest/preview (managers and admins: the weekly digest the caller
 * would get now, {subject, text, html, figures}) and POST /api/v1/reports/digest/send (admins: build
 * and queue every manager's and admin's digest now, {slot, queued}). store/digest.h holds the rest. */
#include "http/routes/digest.h"
#include "http/routes/handlers.h"
#include "store/digest.h"

lp_code h_digest_preview(lp_req *r) {
  if (!r->actor.can_manage) return lp_fail(&r->err, LP_EFORBIDDEN, "The weekly digest goes to managers and admins");
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_digest_build(db, &r->actor, r->now, &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_digest_send(lp_req *r) {
  if (!r->actor.is_admin) return lp_fail(&r->err, LP_EFORBIDDEN, "Only an admin may send the digest now");
  char slot[32];
  snprintf(slot, sizeof slot, "now-%lld", (long long)r->now);
  int queued = 0;
  if (lp_digest_queue(lp_req_store(r), slot, r->now, &queued, &r->err) != LP_OK) return r->err.code;
  return lp_reply(r, 200, json_pack("{s:s, s:i}", "slot", slot, "queued", queued));
}
