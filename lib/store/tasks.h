/* tasks.h — tasks and follow-ups on leads, (the dashboard: store/dashboard.h). */
#ifndef LP_STORE_TASKS_H
#define LP_STORE_TASKS_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"
#include "store/leads.h"

json_t *lp_task_create(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *cols, int64_t now, lp_err *err);
json_t *lp_task_update(lp_store *s, const lp_actor *a, int64_t id, json_t *cols, int64_t expect, int64_t now, lp_err *err);
json_t *lp_task_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err);
json_t *lp_task_list(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, lp_err *err);
#endif
