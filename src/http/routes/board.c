/* board.c — GET /api/v1/leads/board: the pipeline board (open leads in stage columns, each with
 * its count, value and first cards), for the caller's owner, source and search filters. The
 * store keeps the figures (store/board.c); a column's next cards come from GET /leads?stage=. */
#include "http/routes/handlers.h"
#include "store/board.h"

lp_code h_leads_board(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_lead_board(db, &r->actor, lp_req_param_fn, r, r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}
