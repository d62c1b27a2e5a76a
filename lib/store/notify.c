/* notify.c — see notify.h. */
#include <stdlib.h>
#include "store/notify.h"
#include "store/rows.h"

lp_code lp_notify(lp_db *db, int64_t user_id, const char *kind, int64_t lead_id, json_t *data, int64_t now, lp_err *err) {
  lp_stmt *st = lp_db_prep_static(db, "INSERT INTO notifications(user_id, kind, lead_id, data, created_at) VALUES ($1, $2, $3, $4, $5)", err);
  if (!st) return err->code;
  char *txt = data ? json_dumps(data, JSON_COMPACT) : NULL;
  lp_bind_int(st, 1, user_id);
  lp_bind_text(st, 2, kind);
  if (lead_id > 0) lp_bind_int(st, 3, lead_id); else lp_bind_null(st, 3);
  lp_bind_text(st, 4, txt ? txt : "{}");
  lp_bind_int(st, 5, now);
  int rc = lp_step(st, err);
  lp_stmt_done(st);
  free(txt);
  return rc < 0 ? err->code : LP_OK;
}

lp_code lp_notify_admins(lp_db *db, const char *kind, int64_t lead_id, json_t *data, int64_t now, int *sent, lp_err *err) {
  json_t *admins = lp_query(db, "SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id"
                                " WHERE r.name = 'admin' AND u.active = 1 ORDER BY u.id", NULL, err);
  if (!admins) return err->code;
  lp_code rc = LP_OK;
  size_t i;
  json_t *ad;
  json_array_foreach(admins, i, ad) {
    if ((rc = lp_notify(db, json_integer_value(json_object_get(ad, "id")), kind, lead_id, data, now, err)) != LP_OK) break;
    if (sent) (*sent)++;
  }
  json_decref(admins);
  return rc;
}
