/* apply.h — the one applier: every change of a lead reaches the store as a plan (core/plan.h)
 * and is written here, in the caller's write transaction: the lead row, its timeline events (and
 * through them the webhook deliveries and the events feed), tasks completed, cancelled and
 * created, contact groups, threads closed, messages into the outbox, notifications, approvals
 * requested or made moot, the search queue, and the change hooks (where report counters are
 * kept). A new side effect is a new field of lp_plan and a few lines in lp_apply.
 */
#ifndef LP_STORE_APPLY_H
#define LP_STORE_APPLY_H
#include <jansson.h>
#include "core/plan.h"
#include "store/db.h"

/* What a hook is told of each applied change. */
typedef struct lp_change {
  const lp_plan *plan;   /* what was applied; plan->lead holds the columns set (a create: every column) */
  json_t *before;        /* the lead row before the change, NULL for a create */
  int64_t lead_id;
  int64_t actor_id;
  int64_t now;
} lp_change;
/* A change hook runs inside the transaction after the change is written; an error undoes it. */
typedef lp_code (*lp_change_hook)(lp_db *db, const lp_change *c, void *ctx, lp_err *err);
/* Adds or removes a hook (at most 8; set them up before the store is used). */
int lp_apply_hook_add(lp_change_hook fn, void *ctx);
void lp_apply_hook_remove(lp_change_hook fn, void *ctx);
/* For a hook keeping figures: whether the change can move the lead in them — a create, or a plan
 * setting one of the n columns cols. */
int lp_change_touches(const lp_change *c, const char *const *cols, size_t n);
/* The lead row as the change leaves it (before with the plan's columns over it; a create: the
 * plan's lead), a new reference; NULL when there is none. */
json_t *lp_change_after(const lp_change *c);

typedef struct lp_applied {
  int64_t lead_id;       /* a create: the new lead's id */
  int64_t approval_id;   /* approval_required: the request recorded instead of the change */
  int64_t thread_id, message_id;  /* the last message written, and its thread */
  int64_t customer_id, invoice_id;  /* a conversion: what it made */
} lp_applied;

/* Applies plan to lead (its row as read in this transaction, with "groups"; NULL for a create).
 * A plan that needs approval records the request (params: the request body, borrowed) and changes
 * nothing else. LP_EVERSION when the row moved since it was read. */
lp_code lp_apply(lp_db *db, const lp_actor *a, json_t *lead, const lp_plan *plan, json_t *params, int64_t now,
                 lp_applied *out, lp_err *err);
/* Applies n create plans at once (import): the rows, their search entries (and PostgreSQL's
 * address rows), `created` events and webhook deliveries each written in one bulk insert
 * (lp_db_bulk_insert: COPY on PostgreSQL); ids[i] gets each new id. Hooks run for each. */
lp_code lp_apply_creates(lp_db *db, const lp_actor *a, lp_plan *plans, int n, int64_t now, int64_t *ids, lp_err *err);
#endif
