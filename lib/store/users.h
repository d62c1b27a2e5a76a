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
#endif
