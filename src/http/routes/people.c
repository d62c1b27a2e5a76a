/* people.c — running the team (admins): PATCH /users/{id} (If-Match), POST /users/{id}/deactivate
 * (?dry_run=1 answers what would move), POST /users/{id}/reactivate, POST /roles, GET /roles/{id}.
 * The rules are in store/people.h; a change of who someone is or may do drops every cached
 * identity (http/auth.c), so it takes effect on the next request. */
#include "http/auth.h"
#include "http/routes/handlers.h"
#include "store/people.h"
#include "store/users.h"

static lp_code need_admin(lp_req *r, const char *what) {
  if (!r->actor.is_admin) return lp_fail(&r->err, LP_EFORBIDDEN, "Only admins may %s", what);
  return LP_OK;
}

lp_code h_user_patch(lp_req *r) {
  if (need_admin(r, "change users")) return r->err.code;
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  json_t *o = lp_user_patch(r->app->store, &r->actor, r->ids[0], r->json, expect, r->now, &r->err);
  if (!o) return r->err.code;
  lp_auth_forget_all();
  return lp_reply(r, 200, o);
}

lp_code h_user_deactivate(lp_req *r) {
  if (need_admin(r, "deactivate users")) return r->err.code;
  json_t *to = json_object_get(r->json, "reassign_to");
  if (to && !json_is_null(to) && !json_is_integer(to)) return lp_fail_field(&r->err, "reassign_to", "must be a user id");
  if (lp_req_flag(r, "dry_run")) {
    lp_db *db = lp_req_db(r);
    json_t *o = db ? lp_user_leaving(db, r->ids[0], &r->err) : NULL;
    return o ? lp_reply(r, 200, json_pack("{s:b, s:o}", "dry_run", 1, "moves", o)) : r->err.code;
  }
  json_t *o = lp_user_deactivate(r->app->store, &r->actor, r->ids[0], json_integer_value(to), r->now, &r->err);
  if (!o) return r->err.code;
  lp_auth_forget_all();  /* their sessions are gone: no cached identity may outlive them */
  return lp_reply(r, 200, o);
}

lp_code h_user_reactivate(lp_req *r) {
  if (need_admin(r, "reactivate users")) return r->err.code;
  json_t *o = lp_user_reactivate(r->app->store, &r->actor, r->ids[0], r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

static lp_code reply_role(lp_req *r, int status, int64_t id) {
  lp_db *db = lp_req_db(r);
  json_t *rows = db ? lp_roles_list(db, id, &r->err) : NULL;
  if (!rows) return r->err.code;
  json_t *role = json_incref(json_array_get(rows, 0));
  json_decref(rows);
  return role ? lp_reply(r, status, role) : lp_fail(&r->err, LP_ENOTFOUND, "No role %lld", (long long)id);
}

lp_code h_roles_create(lp_req *r) {
  if (need_admin(r, "add roles")) return r->err.code;
  json_t *name = json_object_get(r->json, "name");
  json_t *policy = json_object_get(r->json, "policy");
  json_t *copy = json_object_get(r->json, "copy_from");
  if (!json_is_string(name)) lp_fail_field(&r->err, "name", name ? "must be a string" : "required");
  if (policy && !json_is_null(policy) && !json_is_object(policy)) lp_fail_field(&r->err, "policy", "must be an object");
  if (copy && !json_is_null(copy) && !json_is_integer(copy)) lp_fail_field(&r->err, "copy_from", "must be a role id");
  if (r->err.code) return r->err.code;
  int64_t id = 0;
  if (lp_role_create(r->app->store, &r->actor, json_string_value(name), json_integer_value(copy),
                     json_is_object(policy) ? policy : NULL, r->now, &id, &r->err) != LP_OK) return r->err.code;
  return reply_role(r, 201, id);
}

lp_code h_role_get(lp_req *r) { return reply_role(r, 200, r->ids[0]); }
