/* users.h — users, roles and sessions in the store. */
#ifndef LP_STORE_USERS_H
#define LP_STORE_USERS_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"

/* Creates a user with a role name and optional manager (by email). Password >= 8 chars. */
lp_code lp_user_add(lp_store *s, const char *email, const char *name, const char *role,
                    const char *manager_email, const char *password, int64_t now, int64_t *id, lp_err *err);
/* Looks up the session or API token; fills actor. LP_EUNAUTH if unknown, expired or inactive. */
lp_code lp_session_actor(lp_db *db, const char *token, int64_t now, lp_actor *actor, char csrf[65], lp_err *err);
/* Checks a login; on success creates a session and fills token/csrf/user (new reference). */
lp_code lp_login(lp_store *s, const char *email, const char *password, int64_t now, char token[65],
                 char csrf[65], json_t **user, lp_err *err);
lp_code lp_logout(lp_store *s, const char *token, lp_err *err);
/* The public form of a user row. */
json_t *lp_user_present(json_t *row);
/* Fills actor for a user id (jobs, approvals acting as the requester). */
lp_code lp_actor_load(lp_db *db, int64_t user_id, lp_actor *actor, lp_err *err);
/* Users in the API form: all (by name), or one (NULL with LP_ENOTFOUND). New references. */
json_t *lp_users_list(lp_db *db, lp_err *err);
json_t *lp_user_get(lp_db *db, int64_t id, lp_err *err);
/* A user's email into out (NULL with a field error on `field` when there is no such user). */
const char *lp_user_email(lp_db *db, int64_t id, const char *field, char *out, size_t n, lp_err *err);
/* Roles in the API form (policy as JSON, builtin as a boolean): all, or only = one id. */
json_t *lp_roles_list(lp_db *db, int64_t only, lp_err *err);
/* Changes only the policy keys of patch (checked by lp_policy_check) with a role_updated event;
 * expect >= 0 (If-Match) must be the role's version (LP_EVERSION otherwise). */
lp_code lp_role_patch(lp_store *s, int64_t id, json_t *patch, int64_t expect, int64_t actor, int64_t now, lp_err *err);
/* Every user's email by id, {"<id>": "<email>"} (new reference; owners travel by email in
 * exports). An empty object when the lookup fails (err set). */
json_t *lp_user_emails(lp_db *db, lp_err *err);
/* The id of the user with this email (in any case), 0 when there is none. */
int64_t lp_user_id_by_email(lp_db *db, const char *email, lp_err *err);

/* API tokens: sessions of kind 'api', stored as the hash of the token. Inside a write: stores a
 * new token of `user` (expires 0: never) and its token_created event; *id receives its id. */
lp_code lp_token_add(lp_db *db, const char *hash, int64_t user, const char *name, int64_t now, int64_t expires,
                     int64_t *id, lp_err *err);
/* The tokens of `user`, oldest first: rows id, name, created_at, expires_at, user_id (new reference),
 * or NULL with err set. */
json_t *lp_token_list(lp_db *db, int64_t user, lp_err *err);
/* Inside a write: removes token `id` if it is `user`'s own or `admin` is set, with its
 * token_revoked event by `user`. `hash` receives the stored hash of token `id` whenever there is
 * one (so a cache of it can be dropped), else "". LP_ENOTFOUND when nothing was removed. */
lp_code lp_token_delete(lp_db *db, int64_t id, int64_t user, int admin, int64_t now, char hash[65], lp_err *err);
#endif
