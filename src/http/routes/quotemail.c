/* quotemail.c — POST /api/v1/quotes/{id}/send: the quote to its lead by e-mail as a PDF
 * (store/quotemail.c; docs/customers.md). Answers 202 {quote, message}: the message is queued. */
#include "http/routes/handlers.h"
#include "store/billing.h"

lp_code h_quote_send(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  json_t *o = lp_quote_send(r->app->store, &r->actor, r->ids[0], r->json, expect, r->now, &r->err);
  return o ? lp_reply(r, 202, o) : r->err.code;
}
