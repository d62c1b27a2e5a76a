/* notifications.c — reading and marking a user's notifications (see notifications.h). */
#include "store/notifications.h"
#include "store/rows.h"

json_t *lp_notification_list(lp_db *db, int64_t user, int unread_only, lp_err *err) {
  json_t *args = json_pack("[I, i]", (json_int_t)user, unread_only);
  json_t *rows = lp_query(db, "SELECT id, kind, lead_id, data, created_at, read_at FROM notifications WHERE user_id = $1"
                              " AND ($2 = 0 OR read_at IS NULL) ORDER BY id DESC LIMIT 200", args, err);
  json_decref(args);
  return rows;
}

lp_code lp_notification_read(lp_db *db, int64_t user, int64_t id, int64_t now, lp_err *err) {
  json_t *args = json_pack("[I, I, I]", (json_int_t)user, (json_int_t)now, (json_int_t)id);
  lp_code rc = lp_exec(db, "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL AND ($3 = 0 OR id = $3)", args, err);
  json_decref(args);
  if (rc == LP_OK && id) {
    args = json_pack("[I, I]", (json_int_t)id, (json_int_t)user);
    if (!lp_query_int(db, "SELECT 1 FROM notifications WHERE id = $1 AND user_id = $2", args, 0, err))
      rc = lp_fail(err, LP_ENOTFOUND, "No notification %lld", (long long)id);
    json_decref(args);
  }
  return rc;
}
