/* lists.c — configurable lists (stages, outcomes, lost reasons, sources, locations, partners,
 * groups), settings, users and roles. Anyone signed in may read them; admins and managers
 * change lists; only admins change settings, users and roles. */
#include <ctype.h>
#include "core/record.h"
#include "http/auth.h"
#include "http/routes/handlers.h"
#include "store/lists.h"
#include "store/rows.h"
#include "store/users.h"

static const struct { const char *path; const lp_rectype *t; } kinds[] = {
  {"/api/v1/stages", &lp_rt_stage}, {"/api/v1/outcomes", &lp_rt_outcome},
  {"/api/v1/lost-reasons", &lp_rt_lost_reason}, {"/api/v1/sources", &lp_rt_source},
  {"/api/v1/locations", &lp_rt_location}, {"/api/v1/partners", &lp_rt_partner},
  {"/api/v1/groups", &lp_rt_group}};

static const lp_rectype *kind_of(lp_req *r) {
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    size_t n = strlen(kinds[i].path);
    if (!strncmp(r->url, kinds[i].path, n) && (r->url[n] == 0 || r->url[n] == '/')) return kinds[i].t;
  }
  return NULL;
}

/* {key} is an id, or for outcomes also the outcome's key. */
static int64_t key_id(lp_req *r, const lp_rectype *t) {
  const char *k = r->param ? r->param : "";
  char *end;
  long long v = strtoll(k, &end, 10);
  if (*k && !*end && v > 0) return v;
  if (t == &lp_rt_outcome) {
    lp_db *db = lp_req_db(r);
    if (!db) return 0;
    return lp_outcome_id(db, k, &r->err);
  }
  return 0;
}

static lp_code need_manage(lp_req *r) {
  if (!r->actor.can_manage) return lp_fail(&r->err, LP_EFORBIDDEN, "Only managers and admins may change lists");
  return LP_OK;
}

lp_code h_list_all(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_list_all(db, kind_of(r), &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_list_get(lp_req *r) {
  const lp_rectype *t = kind_of(r);
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  int64_t id = key_id(r, t);
  if (!id) return lp_fail(&r->err, LP_ENOTFOUND, "No such %s", t->name);
  json_t *o = lp_list_get(db, t, id, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

static lp_code outcome_key_ok(lp_req *r, json_t *cols) {
  const char *k = json_string_value(json_object_get(cols, "key"));
  if (!k) return LP_OK;
  for (const char *p = k; *p; p++)
    if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
      return lp_fail_field(&r->err, "key", "use lower-case letters, digits and _");
  return LP_OK;
}

lp_code h_list_create(lp_req *r) {
  if (need_manage(r)) return r->err.code;
  const lp_rectype *t = kind_of(r);
  json_t *cols;
  if (lp_rec_input(t, r->json, 1, r->actor.is_admin, NULL, &cols, &r->err) != LP_OK) return r->err.code;
  if (t == &lp_rt_outcome && outcome_key_ok(r, cols)) { json_decref(cols); return r->err.code; }
  json_t *o = lp_list_create(r->app->store, t, &r->actor, cols, r->now, &r->err);
  json_decref(cols);
  return o ? lp_reply(r, 201, o) : r->err.code;
}

lp_code h_list_patch(lp_req *r) {
  if (need_manage(r)) return r->err.code;
  const lp_rectype *t = kind_of(r);
  int64_t id = key_id(r, t);
  if (!id) return lp_fail(&r->err, LP_ENOTFOUND, "No such %s", t->name);
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  json_t *cols;
  if (lp_rec_input(t, r->json, 0, r->actor.is_admin, NULL, &cols, &r->err) != LP_OK) return r->err.code;
  json_t *o = lp_list_update(r->app->store, t, &r->actor, id, cols, expect, r->now, &r->err);
  json_decref(cols);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_settings_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_settings_get(db, &r->err);
  if (!o) return r->err.code;
  if (!r->actor.is_admin) json_object_set_new(o, "inbound_secret", json_string(json_string_length(json_object_get(o, "inbound_secret")) ? "***" : ""));
  return lp_reply(r, 200, o);
}

lp_code h_settings_patch(lp_req *r) {
  if (!r->actor.is_admin) return lp_fail(&r->err, LP_EFORBIDDEN, "Only admins may change settings");
  json_t *o = lp_settings_patch(r->app->store, &r->actor, r->json, r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_users_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  json_t *items = db ? lp_users_list(db, &r->err) : NULL;
  return items ? lp_reply(r, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor")) : r->err.code;
}

lp_code h_user_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_user_get(db, r->ids[0], &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_users_create(lp_req *r) {
  if (!r->actor.is_admin) return lp_fail(&r->err, LP_EFORBIDDEN, "Only admins may add users");
  json_t *j = r->json;
  const char *fields[] = {"email", "name", "role", "password"};
  for (int i = 0; i < 4; i++) {
    json_t *v = json_object_get(j, fields[i]);
    if (!json_is_string(v)) lp_fail_field(&r->err, fields[i], v ? "must be a string" : "required");
  }
  json_t *mgr = json_object_get(j, "manager_id");
  if (mgr && !json_is_null(mgr) && !json_is_integer(mgr)) lp_fail_field(&r->err, "manager_id", "must be a user id");
  if (r->err.code) return r->err.code;
  char mgr_email[300] = "";
  if (json_is_integer(mgr)) {
    lp_db *db = lp_req_db(r);
    if (!db) return r->err.code;
    if (!lp_user_email(db, json_integer_value(mgr), "manager_id", mgr_email, sizeof mgr_email, &r->err)) return r->err.code;
  }
  int64_t id = 0;
  if (lp_user_add(r->app->store, json_string_value(json_object_get(j, "email")), json_string_value(json_object_get(j, "name")),
                  json_string_value(json_object_get(j, "role")), mgr_email[0] ? mgr_email : NULL,
                  json_string_value(json_object_get(j, "password")), r->now, &id, &r->err) != LP_OK) return r->err.code;
  r->ids[0] = id;
  lp_code rc = h_user_get(r);
  if (rc == LP_OK) r->status = 201;
  return rc;
}

static json_t *roles_rows(lp_req *r, int64_t only) {
  lp_db *db = lp_req_db(r);
  return db ? lp_roles_list(db, only, &r->err) : NULL;
}

lp_code h_roles_list(lp_req *r) {
  json_t *rows = roles_rows(r, 0);
  return rows ? lp_reply(r, 200, json_pack("{s:o, s:n}", "items", rows, "next_cursor")) : r->err.code;
}

lp_code h_role_patch(lp_req *r) {
  if (!r->actor.is_admin) return lp_fail(&r->err, LP_EFORBIDDEN, "Only admins may change roles");
  json_t *patch = json_object_get(r->json, "policy");
  if (!patch) return lp_fail_field(&r->err, "policy", "required");
  if (lp_policy_check(patch, &r->err) != LP_OK) return r->err.code;
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  if (lp_role_patch(r->app->store, r->ids[0], patch, expect, r->actor.id, r->now, &r->err) != LP_OK) return r->err.code;
  lp_auth_forget_all();
  json_t *rows = roles_rows(r, r->ids[0]);
  if (!rows) return r->err.code;
  json_t *role = json_incref(json_array_get(rows, 0));
  json_decref(rows);
  return role ? lp_reply(r, 200, role) : lp_fail(&r->err, LP_ENOTFOUND, "No role");
}
