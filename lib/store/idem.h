/* idem.h — the stored answers of requests sent with an Idempotency-Key (table idempotency), one
 * per user and key. */
#ifndef LP_STORE_IDEM_H
#define LP_STORE_IDEM_H
#include <jansson.h>
#include "store/db.h"
/* The answer kept for (user, key): a row request_hash, status, response (JSON text) as a new
 * reference, or NULL: none kept (err stays LP_OK) or the lookup failed (err set). */
json_t *lp_idem_get(lp_db *db, int64_t user, const char *key, lp_err *err);
/* Inside a write: keeps the answer (status, JSON text body) of the request with hash
 * request_hash for (user, key), over its claim; an answer kept already stays. */
lp_code lp_idem_put(lp_db *db, int64_t user, const char *key, const char *request_hash, int status, const char *body,
                    int64_t now, lp_err *err);
/* Inside a write: takes (user, key) for a request about to change something (status 0: taken,
 * no answer yet); LP_ECONFLICT when another request took it first. It rides with the request's
 * first committed write (lp_store_ride), so the key is taken exactly when the change is made. */
lp_code lp_idem_claim(lp_db *db, int64_t user, const char *key, const char *request_hash, int64_t now, lp_err *err);
/* Inside a write: gives a claim without an answer back (the request failed after it wrote). */
lp_code lp_idem_drop(lp_db *db, int64_t user, const char *key, lp_err *err);
#endif
