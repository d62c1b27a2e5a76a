/* plan.h — the transition engine: one pure planner for every way a lead moves.
 *
 * Each function takes the lead as it is (a row object), what is asked, the caller's policy and
 * the time, and answers a plan — every change and side effect as JSON — or a refusal in err.
 * No I/O: the caller loads what the planner needs into lp_plan_in and hands the plan to the
 * store (lp_lead_apply_plan), which applies it in one transaction after checking the lead's
 * version. A plan object has these keys:
 *   lead               object of lead columns to set (row form: Unix seconds, 0/1)
 *   tasks_completed    [task ids]        tasks_cancelled   [task ids]
 *   follow_up          task row to create, or null
 *   groups             [group ids to add]  threads_closed [thread ids]
 *   messages           [{channel, thread_id, kind}]   notifications [{user_id, kind}]
 *   approval_required  bool              missing  [field names]
 *   timeline           [{kind, data}]    events   [kinds]  (the timeline, summarised)
 */
#ifndef LP_CORE_PLAN_H
#define LP_CORE_PLAN_H
#include <jansson.h>
#include <stdint.h>
#include "core/policy.h"
#include "leadpath/error.h"

typedef struct lp_plan_in {
  json_t *lead;          /* the lead row, with "groups": [ids] */
  const lp_actor *actor;
  int64_t now;
  json_t *req;           /* the request body (close: outcome, reason_id, ...; reopen: notes) */
  json_t *outcome;       /* row of the requested outcome {key, name, kind, active}, or NULL if unknown */
  json_t *reason;        /* row of the requested lost reason, or NULL (unknown or not given) */
  json_t *tasks;         /* open task rows of the lead */
  json_t *threads;       /* open thread rows of the lead */
  json_t *known_groups;  /* ids of existing groups (to check a request's groups) */
  int64_t default_group; /* settings: the default close-lost group, 0 for none */
  json_t *stage;         /* stage moves: the target stage row */
  json_t *cur_stage;     /* stage moves and closes: the lead's current stage row (may be NULL) */
} lp_plan_in;

/* Close (POST /leads/{id}/close). Refusals: 409 already closed; 422 unknown outcome, missing
 * mandatory fields (err->fields and plan.missing say which), bad options; 403 policy deny.
 * Policy "request" is not a refusal: the plan says approval_required. */
lp_code lp_plan_close(const lp_plan_in *in, json_t **plan, lp_err *err);
/* Reopen: 409 if open; 403 if denied; approval_required for "request". */
lp_code lp_plan_reopen(const lp_plan_in *in, json_t **plan, lp_err *err);
/* Stage move: 409 if the lead is closed; sets sold_at on an is_sale stage; tracks waiting time. */
lp_code lp_plan_stage(const lp_plan_in *in, json_t **plan, lp_err *err);
/* The moves open to the caller now: {kind, stage_id|outcome, allowed, approval_required, missing}.
 * stages and outcomes are arrays of rows. New reference. */
json_t *lp_plan_transitions(const lp_plan_in *in, json_t *stages, json_t *outcomes);

/* SLA and age of a lead row at `now`. waiting time does not count against the SLA. */
const char *lp_lead_sla(json_t *lead, int64_t now, int64_t warn_days, int64_t breach_days);
int64_t lp_lead_age_days(json_t *lead, int64_t now);
/* The same from plain values (0 = not set), for fast paths that read columns directly. */
const char *lp_sla_of(int open, int64_t created, int64_t closed_at, int64_t waiting_seconds, int64_t waiting_since,
                      int64_t now, int64_t warn_days, int64_t breach_days);
int64_t lp_age_days_of(int64_t created, int64_t closed_at, int64_t now);
/* The permission that governs closing with an outcome of this kind ("won"/"lost"/"neutral"). */
lp_action lp_close_action(const char *kind);
#endif
