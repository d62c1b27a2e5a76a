/* jobs.c — /api/v1/jobs (background work a user started, such as a large bulk action) and
 * /api/v1/webhooks (admin: subscriptions and their deliveries). */
#include <string.h>
#include "http/routes/handlers.h"
#include "jobs/jobs.h"
#include "jobs/webhooks.h"
#include "store/rows.h"
#include "store/users.h"

typedef struct { const char *kind; json_t *payload; int64_t user, now, id; int total; } start_ctx;

static lp_code start_fn(lp_db *db, void *p, lp_err *err) {
  start_ctx *c = p;
  return lp_job_enqueue(db, c->kind, NULL, 0, c->payload, c->now, c->now, c->user, c->total, NULL, &c->id, err);
}

lp_code lp_reply_job(lp_req *r, const char *kind, json_t *payload, int total, json_t *answer) {
  start_ctx c = {kind, payload, r->actor.id, r->now, 0, total};
  lp_code rc = lp_store_write(r->app->store, start_fn, &c, &r->err);
  if (rc != LP_OK) { json_decref(answer); return rc; }
  char loc[64];
  snprintf(loc, sizeof loc, "/api/v1/jobs/%lld", (long long)c.id);
  lp_reply_header(r, "Location", loc);
  json_object_set_new(answer, "job_id", json_integer(c.id));
  json_object_set_new(answer, "status", json_string("queued"));
  return lp_reply(r, 202, answer);
}

lp_code lp_job_actor(lp_store *s, const lp_job *job, lp_db **db, lp_actor *a, lp_err *err) {
  *db = lp_store_reader(s, err);
  if (!*db) return LP_EUNAVAILABLE;
  if (lp_actor_load(*db, job->created_by, a, err) != LP_OK) return err->code == LP_EUNAVAILABLE ? LP_EUNAVAILABLE : err->code;
  return LP_OK;
}

json_t *lp_error_json(const lp_err *e) {
  json_t *o = json_pack("{s:s, s:s}", "code", lp_code_name(e->code), "message", e->message[0] ? e->message : lp_code_message(e->code));
  if (e->fields) json_object_set(o, "fields", e->fields);
  return o;
}

lp_code h_job_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_job_get(db, r->ids[0], &r->err);
  if (!o) return r->err.code;
  /* a job is its starter's (and any admin's); to others it does not exist */
  json_t *by = json_object_get(o, "created_by");
  const char *kind = json_string_value(json_object_get(o, "kind"));
  int user_kind = kind && (!strcmp(kind, "bulk") || !strcmp(kind, "import") || !strcmp(kind, "scoring"));
  if (!user_kind || (!r->actor.is_admin && (!json_is_integer(by) || json_integer_value(by) != r->actor.id))) {
    json_decref(o);
    return lp_fail(&r->err, LP_ENOTFOUND, "No job %lld", (long long)r->ids[0]);
  }
  return lp_reply(r, 200, o);
}

lp_code h_jobs_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  /* As described: a kind or status other than the documented ones matches no job (the query
   * keeps to bulk and import, so another kind finds nothing). */
  const char *kind = lp_req_query(r, "kind"), *status = lp_req_query(r, "status");
  return lp_reply_items(r, lp_jobs_list(db, kind, status, r->actor.id, r->actor.is_admin, &r->err), lp_job_present);
}

static lp_code admin_only(lp_req *r) {
  return r->actor.is_admin ? LP_OK : lp_fail(&r->err, LP_EFORBIDDEN, "Only an admin may manage webhooks");
}

lp_code h_webhooks_list(lp_req *r) {
  if (admin_only(r) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_webhook_list(db, &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_webhooks_create(lp_req *r) {
  json_t *o = lp_webhook_create(r->app->store, &r->actor, r->json, r->now, &r->err);
  return o ? lp_reply(r, 201, o) : r->err.code;
}

lp_code h_webhook_get(lp_req *r) {
  if (admin_only(r) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_webhook_get(db, r->ids[0], &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_webhook_patch(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  json_t *o = lp_webhook_update(r->app->store, &r->actor, r->ids[0], r->json, expect, r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_webhook_delete(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  if (lp_webhook_delete(r->app->store, &r->actor, r->ids[0], expect, r->now, &r->err) != LP_OK) return r->err.code;
  r->status = 204;
  return LP_OK;
}

lp_code h_webhook_deliveries(lp_req *r) {
  if (admin_only(r) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_webhook_deliveries(db, r->ids[0], 100, &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}
