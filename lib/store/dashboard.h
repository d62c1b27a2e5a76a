/* dashboard.h — GET /dashboard: the caller's (or its team's) figures and its follow-up and
 * overdue tasks, in one read (dashboard.c says which tasks go in which list). */
#ifndef LP_STORE_DASHBOARD_H
#define LP_STORE_DASHBOARD_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"
#include "store/leads.h"

/* team: 0 for the caller's own leads and tasks, 1 for every one its leads.view lets it see (an
 * actor with view own gets its own; the answer's "scope" says which). Returns a new object, or
 * NULL with err set. */
json_t *lp_dashboard_read(lp_db *db, const lp_actor *a, int team, int64_t now, lp_err *err);
#endif
