/* policy.h — who is asking and what their role lets them do.
 *
 * A role's policy is JSON (see API.md "Roles"): `leads.view` own|team|all, and for each action
 * allow|request|deny, plus notify_managers_on_close_lost and close_lost_required. lp_actor is
 * the parsed, flat form the planner and the routes use; it owns nothing.
 */
#ifndef LP_CORE_POLICY_H
#define LP_CORE_POLICY_H
#include <jansson.h>
#include <stdint.h>
#include "leadpath/error.h"

typedef enum { LP_ALLOW = 0, LP_REQUEST = 1, LP_DENY = 2 } lp_perm;
typedef enum { LP_VIEW_OWN = 0, LP_VIEW_TEAM = 1, LP_VIEW_ALL = 2 } lp_view;
typedef enum { LP_ACT_CLOSE_WON, LP_ACT_CLOSE_LOST, LP_ACT_CLOSE_OTHER, LP_ACT_REOPEN, LP_ACT_DELETE,
               LP_ACT_BULK, LP_ACT_CONVERT, LP_ACT_MERGE, LP_ACT_COUNT } lp_action;
enum { LP_REQ_REASON = 1, LP_REQ_NOTES = 2, LP_REQ_FOLLOW_UP = 4 };

typedef struct lp_actor {
  int64_t id;
  int64_t manager_id;    /* 0 = none */
  char role[64];
  char name[201];
  char email[255];
  int is_admin;          /* the built-in admin role: may set history fields, manage settings */
  int can_manage;        /* admin or manager: may change lists and settings */
  lp_view view;
  lp_perm perm[LP_ACT_COUNT];
  int notify_managers_on_close_lost;
  unsigned close_lost_required;  /* LP_REQ_* bits */
} lp_actor;

const char *lp_action_name(lp_action a);      /* "close_lost" */
const char *lp_perm_name(lp_perm p);          /* "allow" */
/* Fills a from a role name and its policy JSON (missing keys keep the role's defaults). */
void lp_actor_set_policy(lp_actor *a, const char *role, json_t *policy);
/* Validates a policy patch {key: value}; 422 with the bad keys named. */
lp_code lp_policy_check(json_t *patch, lp_err *err);
#endif
