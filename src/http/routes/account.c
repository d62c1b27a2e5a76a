/* account.c — API tokens (/api/v1/tokens) and notifications (/api/v1/notifications).
 * A token is shown once, when it is made; the store keeps only its hash. */
#include "http/auth.h"
#include "http/routes/handlers.h"
#include "store/notifications.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/secret.h"
#include "util/timefmt.h"

typedef struct { int64_t user, now, expires, id; const char *name, *hash; } token_ctx;

static lp_code token_fn(lp_db *db, void *p, lp_err *err) {
  token_ctx *c = p;
  return lp_token_add(db, c->hash, c->user, c->name, c->now, c->expires, &c->id, err);
}

lp_code h_tokens_create(lp_req *r) {
  json_t *name = json_object_get(r->json, "name");
  json_t *exp = json_object_get(r->json, "expires_at");
  int64_t expires = 0;
  if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 100)
    lp_fail_field(&r->err, "name", name ? "must be 1 to 100 characters" : "required");
  if (exp && !json_is_null(exp) && (!json_is_string(exp) || lp_time_parse(json_string_value(exp), &expires) != 0 || expires <= r->now))
    lp_fail_field(&r->err, "expires_at", "must be an RFC 3339 time in the future");
  if (r->err.code) return r->err.code;
  char token[LP_TOKEN_LEN], hash[LP_TOKEN_LEN];
  lp_token_new(token);
  lp_token_hash(token, hash);
  token_ctx c = {r->actor.id, r->now, expires, 0, json_string_value(name), hash};
  if (lp_store_write(r->app->store, token_fn, &c, &r->err) != LP_OK) return r->err.code;
  char at[LP_TIME_LEN];
  lp_time_format(r->now, at);
  return lp_reply(r, 201, json_pack("{s:I, s:s, s:s, s:s, s:o, s:I}", "id", (json_int_t)c.id, "name", c.name, "token", token,
                                    "created_at", at, "expires_at", expires ? lp_json_time(json_integer(expires)) : json_null(),
                                    "user_id", (json_int_t)r->actor.id));
}

lp_code h_tokens_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *rows = lp_token_list(db, r->actor.id, &r->err);
  if (!rows) return r->err.code;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    json_object_set_new(row, "created_at", lp_json_time(json_object_get(row, "created_at")));
    json_object_set_new(row, "expires_at", lp_json_time(json_object_get(row, "expires_at")));
  }
  return lp_reply(r, 200, json_pack("{s:o, s:n}", "items", rows, "next_cursor"));
}

typedef struct { int64_t user, id, now; int admin; } del_ctx;

static lp_code token_del_fn(lp_db *db, void *p, lp_err *err) {
  del_ctx *c = p;
  char hash[LP_TOKEN_LEN];
  lp_code rc = lp_token_delete(db, c->id, c->user, c->admin, c->now, hash, err);
  if (hash[0]) lp_auth_forget_hash(hash);  /* the token stops working at once on this server */
  return rc;
}

lp_code h_token_delete(lp_req *r) {
  del_ctx c = {r->actor.id, r->ids[0], r->now, r->actor.is_admin};
  if (lp_store_write(r->app->store, token_del_fn, &c, &r->err) != LP_OK) return r->err.code;
  r->status = 204;
  return LP_OK;
}

lp_code h_notifications_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  int unread = lp_req_flag(r, "unread");
  json_t *rows = lp_notification_list(db, r->actor.id, unread, &r->err);
  if (!rows) return r->err.code;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    json_t *d = json_loads(json_string_value(json_object_get(row, "data")) ?: "{}", 0, NULL);
    json_object_set_new(row, "data", d ? d : json_object());
    json_object_set_new(row, "read", json_boolean(!json_is_null(json_object_get(row, "read_at"))));
    json_object_set_new(row, "created_at", lp_json_time(json_object_get(row, "created_at")));
    json_object_set_new(row, "read_at", lp_json_time(json_object_get(row, "read_at")));
  }
  return lp_reply(r, 200, json_pack("{s:o, s:n}", "items", rows, "next_cursor"));
}

static lp_code read_fn(lp_db *db, void *p, lp_err *err) {
  del_ctx *c = p;
  return lp_notification_read(db, c->user, c->id, c->now, err);
}

lp_code h_notification_read(lp_req *r) {
  del_ctx c = {r->actor.id, r->ids[0], r->now, 0};
  if (lp_store_write(r->app->store, read_fn, &c, &r->err) != LP_OK) return r->err.code;
  return lp_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

lp_code h_notifications_read_all(lp_req *r) {
  del_ctx c = {r->actor.id, 0, r->now, 0};
  if (lp_store_write(r->app->store, read_fn, &c, &r->err) != LP_OK) return r->err.code;
  return lp_reply(r, 200, json_pack("{s:b}", "ok", 1));
}
