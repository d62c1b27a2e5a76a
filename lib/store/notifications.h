/* notifications.h — a user's notifications in the store (they are written by the moves that
 * cause them, lib/store/leads.c; here they are read and marked read). */
#ifndef LP_STORE_NOTIFICATIONS_H
#define LP_STORE_NOTIFICATIONS_H
#include <jansson.h>
#include "store/db.h"
/* The newest 200 of `user`'s notifications (only unread ones when unread_only): rows id, kind,
 * lead_id, data (JSON text), created_at, read_at (new reference), or NULL with err set. */
json_t *lp_notification_list(lp_db *db, int64_t user, int unread_only, lp_err *err);
/* Inside a write: marks notification `id` of `user` read at `now`, or every unread one when id
 * is 0. LP_ENOTFOUND when `user` has no notification `id`. */
lp_code lp_notification_read(lp_db *db, int64_t user, int64_t id, int64_t now, lp_err *err);
#endif
