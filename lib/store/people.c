/* people.c — users changed, leaving and coming back; new roles; a caller's rights (see people.h).
 *
 * A user leaving is one transaction: every open lead of theirs is reassigned through the planner
 * and the one applier (lp_lead_update_tx: an `updated` event per lead, the search entry, the
 * hooks), every open task gets the new assignee with a task_updated event, their reports and the
 * requests waiting for them move to their own manager, their sessions and API tokens are
 * deleted, and the user row says inactive (login refuses it, lp_session_actor too). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "store/leads.h"
#include "store/people.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/secret.h"
#include "util/valid.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static json_t *user_row(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT u.*, r.name AS role FROM users u JOIN roles r ON r.id = u.role_id WHERE u.id = $1", args, err);
  json_decref(args);
  if (!row && err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No user %lld", (long long)id);
  return row;
}

/* Active admins other than `except`. */
static int64_t other_admins(lp_db *db, int64_t except, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)except);
  int64_t n = lp_query_int(db, "SELECT count(*) FROM users u JOIN roles r ON r.id = u.role_id"
                               " WHERE r.name = 'admin' AND u.active = 1 AND u.id <> $1", args, 0, err);
  json_decref(args);
  return n;
}

static json_t *change(json_t *old, json_t *new_v) {
  return json_pack("{s:O, s:O}", "old", old ? old : json_null(), "new", new_v ? new_v : json_null());
}

/* ---------------------------------------------------------------- changing a user */

typedef struct {
  const lp_actor *a;
  int64_t id, expect, now;
  json_t *patch;
  const char *pw_hash;   /* the new password's hash, or NULL */
} patch_ctx;

/* Would manager m (walking up its managers) reach user id? Then id cannot report to m. */
static int would_loop(lp_db *db, int64_t id, int64_t m, lp_err *err) {
  for (int depth = 0; m && depth < 64; depth++) {
    if (m == id) return 1;
    json_t *args = json_pack("[I]", (json_int_t)m);
    m = lp_query_int(db, "SELECT COALESCE(manager_id, 0) FROM users WHERE id = $1", args, 0, err);
    json_decref(args);
  }
  return 0;
}

static lp_code patch_fn(lp_db *db, void *p, lp_err *err) {
  patch_ctx *c = p;
  json_t *row = user_row(db, c->id, err);
  if (!row) return err->code;
  if (c->expect >= 0 && iget(row, "version") != c->expect) {
    json_decref(row);
    return lp_fail(err, LP_EVERSION, "The user has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  }
  json_t *set = json_object(), *changes = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(c->patch, k, v) {
    if (!strcmp(k, "name")) {
      if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200) { lp_fail_field(err, k, "must be 1 to 200 characters"); continue; }
      if (strcmp(sget(row, "name"), json_string_value(v))) {
        json_object_set(set, "name", v);
        json_object_set_new(changes, "name", change(json_object_get(row, "name"), v));
      }
    } else if (!strcmp(k, "email")) {
      char norm[LP_EMAIL_BUFSZ];
      if (!json_is_string(v) || lp_email_normalize(json_string_value(v), norm, sizeof norm)) { lp_fail_field(err, k, "invalid email address"); continue; }
      if (strcmp(sget(row, "email"), norm)) {
        json_t *args = json_pack("[s, I]", norm, (json_int_t)c->id);
        int64_t taken = lp_query_int(db, "SELECT id FROM users WHERE email = $1 AND id <> $2", args, 0, err);
        json_decref(args);
        if (taken) { lp_fail_field(err, k, "already taken"); continue; }
        json_object_set_new(set, "email", json_string(norm));
        json_object_set_new(changes, "email", json_pack("{s:O, s:s}", "old", json_object_get(row, "email"), "new", norm));
      }
    } else if (!strcmp(k, "role") || !strcmp(k, "role_id")) {
      json_t *args = json_is_string(v) ? json_pack("[s]", json_string_value(v)) : json_is_integer(v) ? json_pack("[I]", (json_int_t)json_integer_value(v)) : NULL;
      json_t *role = args ? lp_query_one(db, json_is_string(v) ? "SELECT id, name FROM roles WHERE name = $1" : "SELECT id, name FROM roles WHERE id = $1", args, err) : NULL;
      json_decref(args);
      if (!role) { if (err->code == LP_OK || err->code == LP_EVALIDATION) lp_fail_field(err, k, "unknown role"); continue; }
      if (iget(role, "id") != iget(row, "role_id")) {
        if (!strcmp(sget(row, "role"), "admin") && iget(row, "active") && other_admins(db, c->id, err) == 0 && err->code == LP_OK) {
          json_decref(role);
          json_decref(set);
          json_decref(changes);
          json_decref(row);
          return lp_fail(err, LP_ECONFLICT, "This is the last active admin: make someone else admin first");
        }
        json_object_set(set, "role_id", json_object_get(role, "id"));
        json_object_set_new(changes, "role", change(json_object_get(row, "role"), json_object_get(role, "name")));
      }
      json_decref(role);
    } else if (!strcmp(k, "manager_id")) {
      int64_t m = json_is_integer(v) ? json_integer_value(v) : 0;
      if (!json_is_null(v) && !json_is_integer(v)) { lp_fail_field(err, k, "must be a user id or null"); continue; }
      if (m) {
        json_t *mrow = user_row(db, m, err);
        if (!mrow) { if (err->code == LP_ENOTFOUND) { lp_err_release(err); lp_fail_field(err, k, "no such user"); } continue; }
        int active = (int)iget(mrow, "active");
        json_decref(mrow);
        if (!active) { lp_fail_field(err, k, "that user is inactive"); continue; }
        if (would_loop(db, c->id, m, err)) { lp_fail_field(err, k, m == c->id ? "a user cannot be their own manager" : "that user reports to this one"); continue; }
      }
      if (m != iget(row, "manager_id")) {
        json_object_set_new(set, "manager_id", m ? json_integer(m) : json_null());
        json_object_set_new(changes, "manager_id", change(json_object_get(row, "manager_id"), json_object_get(set, "manager_id")));
      }
    } else if (!strcmp(k, "password")) {
      if (c->pw_hash) {
        json_object_set_new(set, "password_hash", json_string(c->pw_hash));
        json_object_set_new(changes, "password", json_pack("{s:s, s:s}", "old", "***", "new", "***"));
      }
    } else if (!strcmp(k, "active")) {
      lp_fail_field(err, k, "use POST /users/{id}/deactivate or /reactivate");
    }
    /* other keys (id, version, ...) are ignored, as everywhere */
  }
  lp_code rc = err->code;
  if (rc == LP_OK && json_object_size(set)) {
    json_object_set_new(set, "updated_at", json_integer(c->now));
    rc = lp_update(db, "users", c->id, set, iget(row, "version"), err);
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:O}", "changes", changes);
      rc = lp_event(db, c->now, 0, c->a->id, "user_updated", "user", c->id, data, err);
      json_decref(data);
    }
  }
  json_decref(set);
  json_decref(changes);
  json_decref(row);
  return rc;
}

json_t *lp_user_patch(lp_store *s, const lp_actor *a, int64_t id, json_t *patch, int64_t expect, int64_t now, lp_err *err) {
  if (!json_is_object(patch)) { lp_fail(err, LP_EVALIDATION, "The body must be a JSON object"); return NULL; }
  char hash[LP_PWHASH_LEN];
  const char *pw_hash = NULL;
  json_t *pw = json_object_get(patch, "password");
  if (pw) {
    /* hashed before the write: the hash is slow on purpose, the writer is shared */
    if (!json_is_string(pw) || json_string_length(pw) < 8) { lp_fail_field(err, "password", "at least 8 characters"); return NULL; }
    if (json_string_length(pw) > 1024) { lp_fail_field(err, "password", "too long"); return NULL; }
    if (lp_password_hash(json_string_value(pw), hash) != 0) { lp_fail(err, LP_EINTERNAL, "cannot hash the password"); return NULL; }
    pw_hash = hash;
  }
  patch_ctx c = {a, id, expect, now, patch, pw_hash};
  if (lp_store_write(s, patch_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_user_get(db, id, err) : NULL;
}

/* ---------------------------------------------------------------- leaving and coming back */

#define OPEN_LEADS "SELECT id FROM leads WHERE owner_id = $1 AND status = 'open' AND deleted_at IS NULL ORDER BY id"
#define OPEN_TASKS "SELECT t.id, t.lead_id, t.title, t.version FROM tasks t JOIN leads l ON l.id = t.lead_id" \
                   " WHERE t.assignee_id = $1 AND t.status = 'open' AND l.deleted_at IS NULL ORDER BY t.id"

static int64_t count_of(lp_db *db, const char *sql, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  int64_t n = lp_query_int(db, sql, args, 0, err);
  json_decref(args);
  return n;
}

json_t *lp_user_leaving(lp_db *db, int64_t id, lp_err *err) {
  json_t *row = user_row(db, id, err);
  if (!row) return NULL;
  json_decref(row);
  json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}",
      "open_leads", (json_int_t)count_of(db, "SELECT count(*) FROM leads WHERE owner_id = $1 AND status = 'open' AND deleted_at IS NULL", id, err),
      "open_tasks", (json_int_t)count_of(db, "SELECT count(*) FROM tasks t JOIN leads l ON l.id = t.lead_id"
                                             " WHERE t.assignee_id = $1 AND t.status = 'open' AND l.deleted_at IS NULL", id, err),
      "reports", (json_int_t)count_of(db, "SELECT count(*) FROM users WHERE manager_id = $1", id, err),
      "pending_approvals", (json_int_t)count_of(db, "SELECT count(*) FROM approvals WHERE approver_id = $1 AND status = 'pending'", id, err),
      "sessions", (json_int_t)count_of(db, "SELECT count(*) FROM sessions WHERE user_id = $1", id, err));
  if (err->code != LP_OK) { json_decref(o); return NULL; }
  return o;
}

typedef struct {
  const lp_actor *a;
  int64_t id, to, now;
  int64_t leads, tasks, reports, approvals, sessions;  /* answered */
} leave_ctx;

static lp_code leave_fn(lp_db *db, void *p, lp_err *err) {
  leave_ctx *c = p;
  c->leads = c->tasks = c->reports = c->approvals = c->sessions = 0;
  json_t *row = user_row(db, c->id, err);
  if (!row) return err->code;
  int64_t boss = iget(row, "manager_id");
  int active = (int)iget(row, "active"), admin = !strcmp(sget(row, "role"), "admin");
  json_decref(row);
  if (!active) return lp_fail(err, LP_ECONFLICT, "The user is inactive already");
  if (admin && other_admins(db, c->id, err) == 0) return err->code ? err->code : lp_fail(err, LP_ECONFLICT, "This is the last active admin: make someone else admin first");
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  json_t *leads = lp_query(db, OPEN_LEADS, args, err);
  json_t *tasks = lp_query(db, OPEN_TASKS, args, err);
  json_decref(args);
  lp_code rc = err->code;
  if (rc == LP_OK && (json_array_size(leads) || json_array_size(tasks))) {
    if (!c->to) {
      char why[120];
      snprintf(why, sizeof why, "required: they have %zu open leads and %zu open tasks", json_array_size(leads), json_array_size(tasks));
      rc = lp_fail_field(err, "reassign_to", why);
    }
  }
  if (rc == LP_OK && c->to) {
    json_t *to = c->to == c->id ? NULL : user_row(db, c->to, err);
    if (!to || !iget(to, "active")) { lp_err_release(err); rc = lp_fail_field(err, "reassign_to", "must be another active user"); }
    json_decref(to);
  }
  /* The leads: through the planner and the applier, as the admin, who may see them all. */
  lp_actor admin_view = *c->a;
  admin_view.view = LP_VIEW_ALL;
  size_t i;
  json_t *v;
  if (rc == LP_OK) json_array_foreach(leads, i, v) {
    json_t *cols = json_pack("{s:I}", "owner_id", (json_int_t)c->to);
    rc = lp_lead_update_tx(db, &admin_view, iget(v, "id"), cols, c->now, err);
    json_decref(cols);
    if (rc != LP_OK) break;
    c->leads++;
  }
  if (rc == LP_OK) json_array_foreach(tasks, i, v) {
    json_t *cols = json_pack("{s:I, s:I}", "assignee_id", (json_int_t)c->to, "updated_at", (json_int_t)c->now);
    rc = lp_update(db, "tasks", iget(v, "id"), cols, -1, err);
    json_decref(cols);
    if (rc != LP_OK) break;
    json_t *data = json_pack("{s:O, s:O, s:{s:{s:I, s:I}}, s:s}", "task_id", json_object_get(v, "id"), "title", json_object_get(v, "title"),
                             "changes", "assignee_id", "old", (json_int_t)c->id, "new", (json_int_t)c->to, "reason", "user_deactivated");
    rc = lp_event(db, c->now, iget(v, "lead_id"), c->a->id, "task_updated", "task", iget(v, "id"), data, err);
    json_decref(data);
    if (rc != LP_OK) break;
    c->tasks++;
  }
  json_decref(leads);
  json_decref(tasks);
  /* Their reports now report to their manager; requests waiting for them go there too. */
  if (rc == LP_OK) {
    args = json_pack("[I]", (json_int_t)c->id);
    json_t *reports = lp_query(db, "SELECT id FROM users WHERE manager_id = $1 ORDER BY id", args, err);
    json_t *waiting = lp_query(db, "SELECT id, lead_id FROM approvals WHERE approver_id = $1 AND status = 'pending' ORDER BY id", args, err);
    json_decref(args);
    rc = err->code;
    json_t *nb = boss ? json_integer(boss) : json_null();
    if (rc == LP_OK) json_array_foreach(reports, i, v) {
      json_t *cols = json_pack("{s:O, s:I}", "manager_id", nb, "updated_at", (json_int_t)c->now);
      rc = lp_update(db, "users", iget(v, "id"), cols, -1, err);
      json_decref(cols);
      if (rc != LP_OK) break;
      json_t *data = json_pack("{s:{s:{s:I, s:O}}, s:s}", "changes", "manager_id", "old", (json_int_t)c->id, "new", nb, "reason", "manager_deactivated");
      rc = lp_event(db, c->now, 0, c->a->id, "user_updated", "user", iget(v, "id"), data, err);
      json_decref(data);
      if (rc != LP_OK) break;
      c->reports++;
    }
    if (rc == LP_OK) json_array_foreach(waiting, i, v) {
      json_t *cols = json_pack("{s:O}", "approver_id", nb);
      rc = lp_update(db, "approvals", iget(v, "id"), cols, -1, err);
      json_decref(cols);
      if (rc != LP_OK) break;
      json_t *data = json_pack("{s:O, s:I, s:O}", "approval_id", json_object_get(v, "id"), "from", (json_int_t)c->id, "to", nb);
      rc = lp_event(db, c->now, iget(v, "lead_id"), c->a->id, "approval_reassigned", "approval", iget(v, "id"), data, err);
      json_decref(data);
      if (rc != LP_OK) break;
      c->approvals++;
    }
    json_decref(nb);
    json_decref(reports);
    json_decref(waiting);
  }
  /* Sessions and API tokens end; the row says inactive. */
  if (rc == LP_OK) {
    args = json_pack("[I]", (json_int_t)c->id);
    rc = lp_exec(db, "DELETE FROM sessions WHERE user_id = $1", args, err);
    json_decref(args);
    if (rc == LP_OK) c->sessions = lp_db_changes(db);
  }
  if (rc == LP_OK) {
    json_t *cols = json_pack("{s:i, s:I}", "active", 0, "updated_at", (json_int_t)c->now);
    rc = lp_update(db, "users", c->id, cols, -1, err);
    json_decref(cols);
  }
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I}", "reassigned_to", c->to ? json_integer(c->to) : json_null(),
                             "open_leads", (json_int_t)c->leads, "open_tasks", (json_int_t)c->tasks, "reports", (json_int_t)c->reports,
                             "pending_approvals", (json_int_t)c->approvals, "sessions", (json_int_t)c->sessions);
    rc = lp_event(db, c->now, 0, c->a->id, "user_deactivated", "user", c->id, data, err);
    json_decref(data);
  }
  return rc;
}

json_t *lp_user_deactivate(lp_store *s, const lp_actor *a, int64_t id, int64_t reassign_to, int64_t now, lp_err *err) {
  if (id == a->id) { lp_fail(err, LP_EFORBIDDEN, "You cannot deactivate yourself; ask another admin"); return NULL; }
  leave_ctx c = {a, id, reassign_to, now, 0, 0, 0, 0, 0};
  if (lp_store_write(s, leave_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  json_t *user = db ? lp_user_get(db, id, err) : NULL;
  if (!user) return NULL;
  return json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I}}", "user", user, "moved", "open_leads", (json_int_t)c.leads,
                   "open_tasks", (json_int_t)c.tasks, "reports", (json_int_t)c.reports, "pending_approvals", (json_int_t)c.approvals,
                   "sessions", (json_int_t)c.sessions);
}

typedef struct { const lp_actor *a; int64_t id, now; } back_ctx;

static lp_code back_fn(lp_db *db, void *p, lp_err *err) {
  back_ctx *c = p;
  json_t *row = user_row(db, c->id, err);
  if (!row) return err->code;
  int active = (int)iget(row, "active");
  json_decref(row);
  if (active) return lp_fail(err, LP_ECONFLICT, "The user is active already");
  json_t *cols = json_pack("{s:i, s:I}", "active", 1, "updated_at", (json_int_t)c->now);
  lp_code rc = lp_update(db, "users", c->id, cols, -1, err);
  json_decref(cols);
  if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "user_reactivated", "user", c->id, NULL, err);
  return rc;
}

json_t *lp_user_reactivate(lp_store *s, const lp_actor *a, int64_t id, int64_t now, lp_err *err) {
  back_ctx c = {a, id, now};
  if (lp_store_write(s, back_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_user_get(db, id, err) : NULL;
}

/* ---------------------------------------------------------------- roles */

static json_t *required_list(unsigned bits) {
  json_t *a = json_array();
  if (bits & LP_REQ_REASON) json_array_append_new(a, json_string("reason_id"));
  if (bits & LP_REQ_NOTES) json_array_append_new(a, json_string("notes"));
  if (bits & LP_REQ_FOLLOW_UP) json_array_append_new(a, json_string("follow_up"));
  return a;
}

static const char *view_name(lp_view v) { return v == LP_VIEW_ALL ? "all" : v == LP_VIEW_TEAM ? "team" : "own"; }

/* Every key of a policy, as a's parsed policy has it (new reference). */
static json_t *policy_of(const lp_actor *a) {
  json_t *o = json_pack("{s:s}", "leads.view", view_name(a->view));
  for (int i = 0; i < LP_ACT_COUNT; i++) json_object_set_new(o, lp_action_name((lp_action)i), json_string(lp_perm_name(a->perm[i])));
  json_object_set_new(o, "notify_managers_on_close_lost", json_boolean(a->notify_managers_on_close_lost));
  json_object_set_new(o, "close_lost_required", required_list(a->close_lost_required));
  return o;
}

typedef struct { const lp_actor *a; const char *name; int64_t copy_from, now, id; json_t *policy; } role_new_ctx;

static lp_code role_new_fn(lp_db *db, void *p, lp_err *err) {
  role_new_ctx *c = p;
  c->id = 0;
  json_t *args = json_pack("[s]", c->name);
  int64_t taken = lp_query_int(db, "SELECT id FROM roles WHERE lower(name) = lower($1)", args, 0, err);
  json_decref(args);
  if (err->code) return err->code;
  if (taken) return lp_fail(err, LP_ECONFLICT, "A role named \"%s\" exists already", c->name);
  lp_actor base;
  memset(&base, 0, sizeof base);
  json_t *merged = json_object();
  if (c->copy_from) {
    args = json_pack("[I]", (json_int_t)c->copy_from);
    json_t *row = lp_query_one(db, "SELECT name, policy FROM roles WHERE id = $1", args, err);
    json_decref(args);
    if (!row) { json_decref(merged); return err->code ? err->code : lp_fail_field(err, "copy_from", "no such role"); }
    /* the copied role's policy as it takes effect (its defaults filled in) */
    json_t *pol = json_loads(sget(row, "policy") ? sget(row, "policy") : "{}", 0, NULL);
    lp_actor_set_policy(&base, sget(row, "name"), pol);
    json_decref(pol);
    json_decref(row);
  } else {
    lp_actor_set_policy(&base, "", NULL);  /* an agent's defaults */
  }
  json_t *full = policy_of(&base);
  json_object_update(merged, full);
  json_decref(full);
  if (c->policy) json_object_update(merged, c->policy);
  char *txt = json_dumps(merged, JSON_COMPACT);
  json_t *cols = json_pack("{s:s, s:s, s:i}", "name", c->name, "policy", txt, "builtin", 0);
  free(txt);
  lp_code rc = lp_insert(db, "roles", cols, &c->id, err);
  json_decref(cols);
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:s, s:O}", "name", c->name, "policy", merged);
    rc = lp_event(db, c->now, 0, c->a->id, "role_created", "role", c->id, data, err);
    json_decref(data);
  }
  json_decref(merged);
  return rc;
}

lp_code lp_role_create(lp_store *s, const lp_actor *a, const char *name, int64_t copy_from, json_t *policy, int64_t now,
                       int64_t *id, lp_err *err) {
  size_t n = name ? strlen(name) : 0;
  int ok = n >= 1 && n <= 60 && !isspace((unsigned char)name[0]) && !isspace((unsigned char)name[n - 1]);
  for (size_t i = 0; ok && i < n; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (!isalnum(ch) && ch != ' ' && ch != '_' && ch != '-') ok = 0;
  }
  if (!ok) lp_fail_field(err, "name", name ? "1 to 60 letters, digits, spaces, _ or -" : "required");
  if (policy && lp_policy_check(policy, err) != LP_OK) return err->code;
  if (err->code) return err->code;
  role_new_ctx c = {a, name, copy_from, now, 0, policy};
  lp_code rc = lp_store_write(s, role_new_fn, &c, err);
  if (rc == LP_OK) *id = c.id;
  return rc;
}

/* ---------------------------------------------------------------- what a caller may do */

json_t *lp_actor_rights(lp_db *db, const lp_actor *a, lp_err *err) {
  json_t *o = json_pack("{s:s}", "view", view_name(a->view));
  for (int i = 0; i < LP_ACT_COUNT; i++) json_object_set_new(o, lp_action_name((lp_action)i), json_string(lp_perm_name(a->perm[i])));
  json_object_set_new(o, "close_lost_required", required_list(a->close_lost_required | LP_REQ_REASON));
  json_object_set_new(o, "notify_managers_on_close_lost", json_boolean(a->notify_managers_on_close_lost));
  json_object_set_new(o, "manage_lists", json_boolean(a->can_manage));
  json_object_set_new(o, "manage_users", json_boolean(a->is_admin));
  json_t *args = json_pack("[I]", (json_int_t)a->id);
  json_t *rows = a->view == LP_VIEW_ALL ? lp_query(db, "SELECT id FROM users ORDER BY id", NULL, err)
               : a->view == LP_VIEW_TEAM ? lp_query(db, "SELECT id FROM users WHERE id = $1 OR manager_id = $1 ORDER BY id", args, err)
               : NULL;
  int64_t reports = lp_query_int(db, "SELECT count(*) FROM users WHERE manager_id = $1 AND active = 1", args, 0, err);
  json_decref(args);
  json_object_set_new(o, "approve", json_boolean(a->is_admin || reports > 0));
  json_t *people = json_array();
  size_t i;
  json_t *r;
  if (rows) json_array_foreach(rows, i, r) json_array_append(people, json_object_get(r, "id"));
  else json_array_append_new(people, json_integer(a->id));
  json_decref(rows);
  json_object_set_new(o, "people", people);
  if (err->code != LP_OK) { json_decref(o); return NULL; }
  return o;
}
