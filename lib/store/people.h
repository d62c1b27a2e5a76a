/* people.h — running the team (docs/admin.md): changing a user (name, e-mail, role, manager,
 * password), a user leaving (deactivate: their sessions and API tokens end, their open leads and
 * open tasks go to a person chosen by the admin in the same transaction — the leads through the
 * planner and the one applier, an event for each — the people who reported to them report to
 * their manager, and requests waiting for their approval go to that manager too), coming back
 * (reactivate), new roles, and what a caller may do (the `can` of GET /me).
 * The routes check that the caller is an admin; these functions check everything else. */
#ifndef LP_STORE_PEOPLE_H
#define LP_STORE_PEOPLE_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"

/* Changes only the fields of patch: name, email, role (a role's name) or role_id, manager_id
 * (null: none; never the user itself or someone who reports to them), password (>= 8).
 * expect: If-Match version or -1. One user_updated event (a password shows as "***").
 * 422 names a bad field; 409 when it would leave no active admin; 412 on a stale version.
 * Answers the user (new reference). */
json_t *lp_user_patch(lp_store *s, const lp_actor *a, int64_t id, json_t *patch, int64_t expect, int64_t now, lp_err *err);

/* What deactivating user id would move: {open_leads, open_tasks, reports, pending_approvals,
 * sessions} (new reference). */
json_t *lp_user_leaving(lp_db *db, int64_t id, lp_err *err);
/* Deactivates user id: reassign_to (an active user, not id; 0 when they have no open leads or
 * tasks) takes their open leads and open tasks. 409 already inactive or the last active admin,
 * 403 oneself, 422 reassign_to missing or not an active user. Answers
 * {user, moved: {open_leads, open_tasks, reports, pending_approvals, sessions}} (new reference). */
json_t *lp_user_deactivate(lp_store *s, const lp_actor *a, int64_t id, int64_t reassign_to, int64_t now, lp_err *err);
/* Lets user id sign in again (with a new session; old tokens stay revoked). 409 when active. */
json_t *lp_user_reactivate(lp_store *s, const lp_actor *a, int64_t id, int64_t now, lp_err *err);

/* A new role: name (1..60 characters: letters, digits, space, '_' or '-'; unique, else 409),
 * its policy = an agent's defaults, then the keys of copy_from's policy (0: none), then the keys
 * of policy (checked by lp_policy_check; may be NULL). A role_created event. *id gets its id. */
lp_code lp_role_create(lp_store *s, const lp_actor *a, const char *name, int64_t copy_from, json_t *policy, int64_t now,
                       int64_t *id, lp_err *err);

/* What actor a may do, for clients that show only what works (GET /me "can"):
 * {view: own|team|all, close_won, close_lost, close_other, reopen, delete, bulk, convert:
 *  allow|request|deny, close_lost_required: [...], manage_lists, manage_users, approve: bool,
 *  people: [user ids whose leads a may see: itself, its reports, or everyone]} (new reference). */
json_t *lp_actor_rights(lp_db *db, const lp_actor *a, lp_err *err);
#endif
