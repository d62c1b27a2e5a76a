/* merge.h — planning a merge of leads (POST /api/v1/leads/{id}/merge): which lead's value each
 * field takes, the survivor's changes and one closing plan per lead merged into it. Pure, like
 * the rest of the planner (core/plan.h); the store (store/merge.c) loads, the applier writes.
 *
 * Defaults: every field takes the value of the best-ranked lead that has one, where leads rank
 * open before closed, then the later stage (higher position), then the newer (created_at, id).
 * E-mail addresses and phone numbers are the union of all the leads' (in rank order) unless a
 * source is chosen for them; opt-outs and needs_reply are kept when any lead has them (consent is
 * never lost by a merge). */
#ifndef LP_CORE_MERGE_H
#define LP_CORE_MERGE_H
#include "core/plan.h"

typedef struct lp_merge_in {
  json_t *others;   /* rows of the leads merged in (lp_lead_row form, with "groups"), in the order asked */
  json_t *fields;   /* {field: source lead id} as asked, or NULL */
  json_t *stages;   /* every stage row */
  json_t *outcome;  /* the row of outcome `merged`, or NULL when it is missing */
  json_t *counts;   /* {"<lead id>": {tasks, threads, messages, comments, events}} for each lead merged in */
} lp_merge_in;

/* The fields a merge chooses (NULL-terminated). */
extern const char *const lp_merge_fields[];

/* in->lead is the survivor. Refusals: 422 no other leads, the survivor among them, a lead named
 * twice, a field that cannot be chosen or a source that is not one of the leads; 409 a lead
 * merged already; 403 when the role's `merge` permission is not allow. The plan (LP_PLAN_MERGE)
 * has the survivor's changes and events and merge.subs: per lead merged in, a close with outcome
 * `merged` and merged_into (a lead closed before keeps its outcome and only gets the link). */
lp_code lp_plan_merge(const lp_plan_in *in, const lp_merge_in *m, lp_plan *plan, lp_err *err);
/* {field: source lead id} for every field: what the merge takes (the choice, else the default). */
json_t *lp_merge_sources(json_t *survivor, json_t *others, json_t *stages, json_t *fields);
#endif
