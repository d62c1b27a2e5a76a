/* idem.c — the stored answers of Idempotency-Key requests (see idem.h; the HTTP side is
 * src/http/idempotency.c). */
#include "store/idem.h"
#include "store/rows.h"

json_t *lp_idem_get(lp_db *db, int64_t user, const char *key, lp_err *err) {
  json_t *args = json_pack("[I, s]", (json_int_t)user, key);
  json_t *row = lp_query_one(db, "SELECT request_hash, status, response FROM idempotency WHERE user_id = $1 AND key = $2", args, err);
  json_decref(args);
  return row;
}

lp_code lp_idem_put(lp_db *db, int64_t user, const char *key, const char *request_hash, int status, const char *body,
                    int64_t now, lp_err *err) {
  json_t *args = json_pack("[I, s, s, i, s, I]", (json_int_t)user, key, request_hash, status, body, (json_int_t)now);
  lp_code rc = lp_exec(db, "INSERT INTO idempotency(user_id, key, request_hash, status, response, created_at)"
                           " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT(user_id, key) DO UPDATE"
                           " SET status = excluded.status, response = excluded.response WHERE idempotency.status = 0", args, err);
  json_decref(args);
  return rc;
}

lp_code lp_idem_claim(lp_db *db, int64_t user, const char *key, const char *request_hash, int64_t now, lp_err *err) {
  json_t *args = json_pack("[I, s, s, I]", (json_int_t)user, key, request_hash, (json_int_t)now);
  lp_code rc = lp_exec(db, "INSERT INTO idempotency(user_id, key, request_hash, status, response, created_at)"
                           " VALUES ($1, $2, $3, 0, '', $4)", args, err);
  json_decref(args);
  if (rc == LP_ECONFLICT) {
    lp_err_release(err);
    return lp_fail(err, LP_ECONFLICT, "A request with this Idempotency-Key is running or has run already");
  }
  return rc;
}

lp_code lp_idem_drop(lp_db *db, int64_t user, const char *key, lp_err *err) {
  json_t *args = json_pack("[I, s]", (json_int_t)user, key);
  lp_code rc = lp_exec(db, "DELETE FROM idempotency WHERE user_id = $1 AND key = $2 AND status = 0", args, err);
  json_decref(args);
  return rc;
}
