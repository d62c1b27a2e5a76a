/* ops.c — /healthz, /readyz, /metrics. */
#include "http/routes/handlers.h"
#include "store/migrate.h"

lp_code h_healthz(lp_req *r) { return lp_reply(r, 200, json_pack("{s:s}", "status", "ok")); }

lp_code h_readyz(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return lp_fail(&r->err, LP_EUNAVAILABLE, "The database cannot be opened");
  if (lp_migrations_applied(db, &r->err) < 1)
    return lp_fail(&r->err, LP_EUNAVAILABLE, "The database is not reachable or not migrated");
  return lp_reply(r, 200, json_pack("{s:s}", "status", "ready"));
}

lp_code h_metrics(lp_req *r) {
  char *m = lp_http_metrics(r->app->store);
  return lp_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", m, strlen(m));
}

const char *lp_req_param_fn(void *ctx, const char *name) { return lp_req_query(ctx, name); }
