/* notify.h — notifications to users: the one function every path calls to tell someone something
 * (a lead closed as lost, an approval to decide or decided, a task due, an SLA breach). Runs inside
 * the caller's write transaction, so a notification exists exactly when what it tells of does. */
#ifndef LP_STORE_NOTIFY_H
#define LP_STORE_NOTIFY_H
#include <jansson.h>
#include <stdint.h>
#include "store/db.h"

/* Adds a notification of `kind` for user_id about lead_id (0: none) with data (borrowed; NULL: {}). */
lp_code lp_notify(lp_db *db, int64_t user_id, const char *kind, int64_t lead_id, json_t *data, int64_t now, lp_err *err);
/* The same for every active admin; *sent (may be NULL) counts the notifications added. */
lp_code lp_notify_admins(lp_db *db, const char *kind, int64_t lead_id, json_t *data, int64_t now, int *sent, lp_err *err);
#endif
