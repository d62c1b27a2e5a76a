/* stream.c — the reads behind the live stream (src/http/stream.c): events of visible leads and
 * the caller's notifications after a position. Visibility is the lead list's: own leads, a
 * manager's team (leads owned by the manager or by users whose manager they are), or all. */
#include "store/stream.h"
#include "store/rows.h"

lp_code lp_stream_heads(lp_db *db, int64_t *event_id, int64_t *notification_id, lp_err *err) {
  *event_id = lp_query_int(db, "SELECT COALESCE(MAX(id), 0) FROM events", NULL, 0, err);
  if (err->code) return err->code;
  *notification_id = lp_query_int(db, "SELECT COALESCE(MAX(id), 0) FROM notifications", NULL, 0, err);
  return err->code;
}

json_t *lp_stream_events(lp_db *db, const lp_actor *a, int64_t after, int limit, lp_err *err) {
  json_t *args;
  const char *sql;
  if (a->view == LP_VIEW_ALL) {
    args = json_pack("[I, i]", (json_int_t)after, limit);
    sql = "SELECT id, lead_id, kind, entity, entity_id, at, CASE WHEN entity = 'message' THEN data END AS data"
          " FROM events WHERE id > $1 AND lead_id IS NOT NULL "
          "ORDER BY id LIMIT $2";
  } else {
    args = json_pack("[I, i, I, i]", (json_int_t)after, limit, (json_int_t)a->id, a->view == LP_VIEW_TEAM);
    sql = "SELECT e.id, e.lead_id, e.kind, e.entity, e.entity_id, e.at, CASE WHEN e.entity = 'message' THEN e.data END AS data"
          " FROM events e JOIN leads l ON l.id = e.lead_id "
          "WHERE e.id > $1 AND (l.owner_id = $3 OR ($4 = 1 AND l.owner_id IN (SELECT id FROM users WHERE manager_id = $3))) "
          "ORDER BY e.id LIMIT $2";
  }
  json_t *rows = lp_query(db, sql, args, err);
  json_decref(args);
  return rows;
}

json_t *lp_stream_notifications(lp_db *db, const lp_actor *a, int64_t after, int limit, lp_err *err) {
  json_t *args = json_pack("[I, I, i]", (json_int_t)a->id, (json_int_t)after, limit);
  json_t *rows = lp_query(db, "SELECT id, lead_id, kind, created_at AS at FROM notifications WHERE user_id = $1 AND id > $2 "
                              "ORDER BY id LIMIT $3", args, err);
  json_decref(args);
  return rows;
}
