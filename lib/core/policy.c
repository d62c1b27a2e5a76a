/* policy.c — parsing and checking role policies. */
#include <string.h>
#include "core/policy.h"

static const char *action_names[LP_ACT_COUNT] = {"close_won", "close_lost", "close_other", "reopen",
                                                 "delete", "bulk", "convert", "merge"};
const char *lp_action_name(lp_action a) { return a < LP_ACT_COUNT ? action_names[a] : "?"; }
const char *lp_perm_name(lp_perm p) { return p == LP_ALLOW ? "allow" : p == LP_REQUEST ? "request" : "deny"; }

static int perm_parse(const char *s, lp_perm *p) {
  if (!s) return -1;
  if (!strcmp(s, "allow")) *p = LP_ALLOW;
  else if (!strcmp(s, "request")) *p = LP_REQUEST;
  else if (!strcmp(s, "deny")) *p = LP_DENY;
  else return -1;
  return 0;
}

static unsigned required_bits(json_t *arr) {
  unsigned bits = 0;
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    if (!s) continue;
    if (!strcmp(s, "reason_id")) bits |= LP_REQ_REASON;
    else if (!strcmp(s, "notes")) bits |= LP_REQ_NOTES;
    else if (!strcmp(s, "follow_up")) bits |= LP_REQ_FOLLOW_UP;
  }
  return bits;
}

void lp_actor_set_policy(lp_actor *a, const char *role, json_t *policy) {
  snprintf(a->role, sizeof a->role, "%s", role ? role : "");
  a->is_admin = role && !strcmp(role, "admin");
  a->can_manage = a->is_admin || (role && !strcmp(role, "manager"));
  /* Defaults of an agent; the built-in roles' stored policies override them. */
  a->view = a->is_admin ? LP_VIEW_ALL : a->can_manage ? LP_VIEW_TEAM : LP_VIEW_OWN;
  for (int i = 0; i < LP_ACT_COUNT; i++) a->perm[i] = LP_ALLOW;
  if (!a->can_manage) a->perm[LP_ACT_DELETE] = a->perm[LP_ACT_BULK] = LP_DENY;
  a->notify_managers_on_close_lost = 0;
  a->close_lost_required = LP_REQ_REASON;
  if (!json_is_object(policy)) return;
  const char *v = json_string_value(json_object_get(policy, "leads.view"));
  if (v && !strcmp(v, "own")) a->view = LP_VIEW_OWN;
  else if (v && !strcmp(v, "team")) a->view = LP_VIEW_TEAM;
  else if (v && !strcmp(v, "all")) a->view = LP_VIEW_ALL;
  for (int i = 0; i < LP_ACT_COUNT; i++) perm_parse(json_string_value(json_object_get(policy, action_names[i])), &a->perm[i]);
  json_t *n = json_object_get(policy, "notify_managers_on_close_lost");
  if (json_is_boolean(n)) a->notify_managers_on_close_lost = json_is_true(n);
  json_t *r = json_object_get(policy, "close_lost_required");
  if (json_is_array(r)) a->close_lost_required = required_bits(r) | LP_REQ_REASON;
}

lp_code lp_policy_check(json_t *patch, lp_err *err) {
  if (!json_is_object(patch)) return lp_fail_field(err, "policy", "must be an object");
  const char *k;
  json_t *v;
  json_object_foreach(patch, k, v) {
    if (!strcmp(k, "leads.view")) {
      const char *s = json_string_value(v);
      if (!s || (strcmp(s, "own") && strcmp(s, "team") && strcmp(s, "all"))) lp_fail_field(err, k, "must be own, team or all");
    } else if (!strcmp(k, "notify_managers_on_close_lost")) {
      if (!json_is_boolean(v)) lp_fail_field(err, k, "must be true or false");
    } else if (!strcmp(k, "close_lost_required")) {
      int ok = json_is_array(v);
      size_t i;
      json_t *e;
      if (ok) json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        if (!s || (strcmp(s, "reason_id") && strcmp(s, "notes") && strcmp(s, "follow_up"))) ok = 0;
      }
      if (!ok) lp_fail_field(err, k, "must list reason_id, notes or follow_up");
    } else {
      int known = 0;
      for (int i = 0; i < LP_ACT_COUNT; i++) if (!strcmp(k, action_names[i])) known = 1;
      lp_perm p;
      if (!known) lp_fail_field(err, k, "unknown policy key");
      else if (perm_parse(json_string_value(v), &p)) lp_fail_field(err, k, "must be allow, request or deny");
    }
  }
  return err->code == LP_EVALIDATION ? LP_EVALIDATION : LP_OK;
}
