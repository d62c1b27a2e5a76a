/* users.c — users, roles and sessions (see users.h). Tokens are stored only as hashes. */
#include <ctype.h>
#include "store/rows.h"
#include "store/users.h"
#include "util/secret.h"
#include "util/valid.h"

#define SESSION_TTL (30 * 86400)

typedef struct {
  const char *email, *name, *role, *manager;
  char hash[LP_PWHASH_LEN];
  int64_t now, id;
} add_ctx;

static lp_code add_fn(lp_db *db, void *p, lp_err *err) {
  add_ctx *c = p;
  json_t *args = json_pack("[s]", c->role);
  int64_t role_id = lp_query_int(db, "SELECT id FROM roles WHERE name = $1", args, 0, err);
  json_decref(args);
  if (!role_id) return lp_fail_field(err, "role", "unknown role");
  int64_t mgr = 0;
  if (c->manager && *c->manager) {
    args = json_pack("[s]", c->manager);
    mgr = lp_query_int(db, "SELECT id FROM users WHERE email = $1", args, 0, err);
    json_decref(args);
    if (!mgr) return lp_fail_field(err, "manager", "no user with that email");
  }
  json_t *cols = json_pack("{s:s, s:s, s:I, s:o, s:s, s:I, s:I}", "email", c->email, "name", c->name,
                           "role_id", (json_int_t)role_id, "manager_id", mgr ? json_integer(mgr) : json_null(),
                           "password_hash", c->hash, "created_at", (json_int_t)c->now, "updated_at", (json_int_t)c->now);
  lp_code rc = lp_insert(db, "users", cols, &c->id, err);
  json_decref(cols);
  if (rc == LP_ECONFLICT) return lp_fail_field(err, "email", "already taken");
  if (rc != LP_OK) return rc;
  json_t *data = json_pack("{s:s, s:s, s:s}", "email", c->email, "name", c->name, "role", c->role);
  rc = lp_event(db, c->now, 0, 0, "user_created", "user", c->id, data, err);
  json_decref(data);
  return rc;
}

lp_code lp_user_add(lp_store *s, const char *email, const char *name, const char *role,
                    const char *manager_email, const char *password, int64_t now, int64_t *id, lp_err *err) {
  char norm[300];
  if (!email || lp_email_normalize(email, norm, sizeof norm) != 0) lp_fail_field(err, "email", "invalid email address");
  if (!name || !*name) lp_fail_field(err, "name", "required");
  if (!role || !*role) lp_fail_field(err, "role", "required");
  if (!password || strlen(password) < 8) lp_fail_field(err, "password", "at least 8 characters");
  else if (strlen(password) > 1024) lp_fail_field(err, "password", "too long");
  if (err->code != LP_OK) return err->code;
  add_ctx c = {norm, name, role, manager_email, {0}, now, 0};
  if (lp_password_hash(password, c.hash) != 0) return lp_fail(err, LP_EINTERNAL, "cannot hash the password");
  lp_code rc = lp_store_write(s, add_fn, &c, err);
  if (rc == LP_OK && id) *id = c.id;
  return rc;
}

static void actor_fill(lp_actor *a, json_t *row) {
  memset(a, 0, sizeof *a);
  a->id = json_integer_value(json_object_get(row, "id"));
  a->manager_id = json_integer_value(json_object_get(row, "manager_id"));
  snprintf(a->name, sizeof a->name, "%s", json_string_value(json_object_get(row, "name")) ?: "");
  snprintf(a->email, sizeof a->email, "%s", json_string_value(json_object_get(row, "email")) ?: "");
  json_t *pol = json_loads(json_string_value(json_object_get(row, "policy")) ?: "{}", 0, NULL);
  lp_actor_set_policy(a, json_string_value(json_object_get(row, "role")), pol);
  json_decref(pol);
}

lp_code lp_session_actor(lp_db *db, const char *token, int64_t now, lp_actor *actor, char csrf[65], lp_err *err) {
  char h[LP_TOKEN_LEN];
  lp_token_hash(token, h);
  json_t *args = json_pack("[s, I]", h, (json_int_t)now);
  json_t *row = lp_query_one(db,
      "SELECT u.id, u.email, u.name, u.manager_id, r.name AS role, r.policy, s.csrf FROM sessions s"
      " JOIN users u ON u.id = s.user_id JOIN roles r ON r.id = u.role_id"
      " WHERE s.token_hash = $1 AND (s.expires_at IS NULL OR s.expires_at > $2) AND u.active = 1", args, err);
  json_decref(args);
  if (!row) {
    if (err->code != LP_OK) return err->code;
    return lp_fail(err, LP_EUNAUTH, "The session or token is unknown or has expired; log in again");
  }
  actor_fill(actor, row);
  if (csrf) snprintf(csrf, 65, "%s", json_string_value(json_object_get(row, "csrf")) ?: "");
  json_decref(row);
  return LP_OK;
}

lp_code lp_actor_load(lp_db *db, int64_t user_id, lp_actor *actor, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)user_id);
  json_t *row = lp_query_one(db, "SELECT u.id, u.email, u.name, u.manager_id, r.name AS role, r.policy FROM users u"
                                 " JOIN roles r ON r.id = u.role_id WHERE u.id = $1", args, err);
  json_decref(args);
  if (!row) return err->code != LP_OK ? err->code : lp_fail(err, LP_ENOTFOUND, "No such user");
  actor_fill(actor, row);
  json_decref(row);
  return LP_OK;
}

json_t *lp_user_present(json_t *row) {
  json_t *mg = json_object_get(row, "manager_id");
  json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:b}", "id", json_object_get(row, "id"), "email", json_object_get(row, "email"),
                        "name", json_object_get(row, "name"), "role", json_object_get(row, "role") ?: json_null(),
                        "manager_id", mg ? mg : json_null(), "active", json_integer_value(json_object_get(row, "active")) != 0);
  /* the version (If-Match of PATCH /users/{id}) and the role's id, where the row has them */
  if (json_is_integer(json_object_get(row, "version"))) json_object_set(o, "version", json_object_get(row, "version"));
  if (json_is_integer(json_object_get(row, "role_id"))) json_object_set(o, "role_id", json_object_get(row, "role_id"));
  return o;
}

typedef struct { int64_t user_id, now; const char *hash, *csrf; } sess_ctx;

static lp_code session_fn(lp_db *db, void *p, lp_err *err) {
  sess_ctx *c = p;
  json_t *args = json_pack("[s, I, s, I, I]", c->hash, (json_int_t)c->user_id, c->csrf, (json_int_t)c->now,
                           (json_int_t)(c->now + SESSION_TTL));
  lp_code rc = lp_exec(db, "INSERT INTO sessions(token_hash, user_id, kind, csrf, created_at, expires_at)"
                           " VALUES ($1, $2, 'session', $3, $4, $5)", args, err);
  json_decref(args);
  if (rc != LP_OK) return rc;
  args = json_pack("[I]", (json_int_t)c->now);
  rc = lp_exec(db, "DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at < $1", args, err);
  json_decref(args);
  return rc;
}

lp_code lp_login(lp_store *s, const char *email, const char *password, int64_t now, char token[65],
                 char csrf[65], json_t **user, lp_err *err) {
  *user = NULL;
  char norm[300];
  if (!email || !password || lp_email_normalize(email, norm, sizeof norm) != 0)
    return lp_fail(err, LP_EUNAUTH, "Wrong email or password");
  lp_db *db = lp_store_reader(s, err);
  if (!db) return err->code;
  json_t *args = json_pack("[s]", norm);
  json_t *row = lp_query_one(db, "SELECT u.id, u.email, u.name, u.manager_id, u.active, u.password_hash, r.name AS role"
                                 " FROM users u JOIN roles r ON r.id = u.role_id WHERE u.email = $1", args, err);
  json_decref(args);
  if (!row) {
    if (err->code != LP_OK) return err->code;
    return lp_fail(err, LP_EUNAUTH, "Wrong email or password");
  }
  if (!lp_password_verify(json_string_value(json_object_get(row, "password_hash")), password) ||
      !json_integer_value(json_object_get(row, "active"))) {
    json_decref(row);
    return lp_fail(err, LP_EUNAUTH, "Wrong email or password");
  }
  char h[LP_TOKEN_LEN];
  lp_token_new(token);
  lp_token_new(csrf);
  lp_token_hash(token, h);
  sess_ctx c = {json_integer_value(json_object_get(row, "id")), now, h, csrf};
  lp_code rc = lp_store_write(s, session_fn, &c, err);
  if (rc != LP_OK) { json_decref(row); return rc; }
  *user = lp_user_present(row);
  json_decref(row);
  return LP_OK;
}

static lp_code logout_fn(lp_db *db, void *p, lp_err *err) {
  json_t *args = json_pack("[s]", (const char *)p);
  lp_code rc = lp_exec(db, "DELETE FROM sessions WHERE token_hash = $1 AND kind = 'session'", args, err);
  json_decref(args);
  return rc;
}

lp_code lp_logout(lp_store *s, const char *token, lp_err *err) {
  char h[LP_TOKEN_LEN];
  lp_token_hash(token, h);
  return lp_store_write(s, logout_fn, h, err);
}

/* ---------------------------------------------------------------- users and roles for the API */

#define USER_SELECT "SELECT u.id, u.email, u.name, u.manager_id, u.active, u.version, u.role_id, r.name AS role FROM users u JOIN roles r ON r.id = u.role_id"

json_t *lp_users_list(lp_db *db, lp_err *err) {
  json_t *rows = lp_query(db, USER_SELECT " ORDER BY u.name, u.id", NULL, err);
  if (!rows) return NULL;
  json_t *items = json_array();
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) json_array_append_new(items, lp_user_present(row));
  json_decref(rows);
  return items;
}

json_t *lp_user_get(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, USER_SELECT " WHERE u.id = $1", args, err);
  json_decref(args);
  if (!row) {
    if (!err->code) lp_fail(err, LP_ENOTFOUND, "No user %lld", (long long)id);
    return NULL;
  }
  json_t *o = lp_user_present(row);
  json_decref(row);
  return o;
}

const char *lp_user_email(lp_db *db, int64_t id, const char *field, char *out, size_t n, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT email FROM users WHERE id = $1", args, err);
  json_decref(args);
  if (!row) {
    if (!err->code) lp_fail_field(err, field, "not found");
    return NULL;
  }
  snprintf(out, n, "%s", json_string_value(json_object_get(row, "email")));
  json_decref(row);
  return out;
}

json_t *lp_roles_list(lp_db *db, int64_t only, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)only);
  json_t *rows = lp_query(db, "SELECT id, name, policy, builtin, version FROM roles WHERE $1 = 0 OR id = $1 ORDER BY id", args, err);
  json_decref(args);
  if (!rows) return NULL;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    json_t *p = json_loads(json_string_value(json_object_get(row, "policy")), 0, NULL);
    json_object_set_new(row, "policy", p ? p : json_object());
    json_object_set_new(row, "builtin", json_boolean(json_integer_value(json_object_get(row, "builtin"))));
  }
  return rows;
}

typedef struct { int64_t id, now, actor, expect; json_t *patch; } role_ctx;

static lp_code role_fn(lp_db *db, void *p, lp_err *err) {
  role_ctx *c = p;
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  json_t *row = lp_query_one(db, "SELECT policy FROM roles WHERE id = $1", args, err);
  json_decref(args);
  if (!row) return err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No role %lld", (long long)c->id);
  json_t *pol = json_loads(json_string_value(json_object_get(row, "policy")), 0, NULL);
  json_decref(row);
  if (!pol) pol = json_object();
  json_t *changes = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(c->patch, k, v) {
    json_t *old = json_object_get(pol, k);
    if (old && json_equal(old, v)) continue;
    json_object_set_new(changes, k, json_pack("{s:O, s:O}", "old", old ? old : json_null(), "new", v));
    json_object_set(pol, k, v);
  }
  char *txt = json_dumps(pol, JSON_COMPACT);
  json_t *cols = json_pack("{s:s}", "policy", txt);
  lp_code rc = lp_update(db, "roles", c->id, cols, c->expect, err);
  json_decref(cols);
  free(txt);
  if (rc == LP_OK && json_object_size(changes)) {
    json_t *data = json_pack("{s:O}", "changes", changes);
    rc = lp_event(db, c->now, 0, c->actor, "role_updated", "role", c->id, data, err);
    json_decref(data);
  }
  json_decref(changes);
  json_decref(pol);
  return rc;
}

lp_code lp_role_patch(lp_store *s, int64_t id, json_t *patch, int64_t expect, int64_t actor, int64_t now, lp_err *err) {
  role_ctx c = {id, now, actor, expect, patch};
  return lp_store_write(s, role_fn, &c, err);
}

json_t *lp_user_emails(lp_db *db, lp_err *err) {
  json_t *users = lp_query(db, "SELECT id, email FROM users", NULL, err);
  json_t *emails = json_object();
  size_t i;
  json_t *u;
  json_array_foreach(users, i, u) {
    char k[32];
    snprintf(k, sizeof k, "%lld", (long long)json_integer_value(json_object_get(u, "id")));
    json_object_set(emails, k, json_object_get(u, "email"));
  }
  json_decref(users);
  return emails;
}

int64_t lp_user_id_by_email(lp_db *db, const char *email, lp_err *err) {
  json_t *args = json_pack("[s]", email);
  int64_t id = lp_query_int(db, "SELECT id FROM users WHERE email = lower($1)", args, 0, err);
  json_decref(args);
  return id;
}

lp_code lp_token_add(lp_db *db, const char *hash, int64_t user, const char *name, int64_t now, int64_t expires,
                     int64_t *id, lp_err *err) {
  json_t *args = json_pack("[s, I, s, I, o]", hash, (json_int_t)user, name, (json_int_t)now,
                           expires ? json_integer(expires) : json_null());
  *id = lp_query_int(db, "INSERT INTO sessions(token_hash, user_id, kind, name, created_at, expires_at)"
                         " VALUES ($1, $2, 'api', $3, $4, $5) RETURNING id", args, 0, err);
  json_decref(args);
  if (err->code != LP_OK) return err->code;
  json_t *data = json_pack("{s:s}", "name", name);
  lp_code rc = lp_event(db, now, 0, user, "token_created", "token", *id, data, err);
  json_decref(data);
  return rc;
}

json_t *lp_token_list(lp_db *db, int64_t user, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)user);
  json_t *rows = lp_query(db, "SELECT id, name, created_at, expires_at, user_id FROM sessions WHERE kind = 'api' AND user_id = $1 ORDER BY id", args, err);
  json_decref(args);
  return rows;
}

lp_code lp_token_delete(lp_db *db, int64_t id, int64_t user, int admin, int64_t now, char hash[65], lp_err *err) {
  hash[0] = 0;
  json_t *a0 = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT token_hash FROM sessions WHERE id = $1 AND kind = 'api'", a0, err);
  json_decref(a0);
  if (row) { snprintf(hash, 65, "%s", json_string_value(json_object_get(row, "token_hash")) ?: ""); json_decref(row); }
  json_t *args = json_pack("[I, I, i]", (json_int_t)id, (json_int_t)user, admin);
  lp_code rc = lp_exec(db, "DELETE FROM sessions WHERE id = $1 AND kind = 'api' AND (user_id = $2 OR $3 = 1)", args, err);
  json_decref(args);
  if (rc != LP_OK) return rc;
  if (lp_db_changes(db) == 0) return lp_fail(err, LP_ENOTFOUND, "No token %lld", (long long)id);
  return lp_event(db, now, 0, user, "token_revoked", "token", id, NULL, err);
}
