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
 * request_hash for (user, key); an answer kept already stays. */
lp_code lp_idem_put(lp_db *db, int64_t user, const char *key, const char *request_hash, int status, const char *body,
                    int64_t now, lp_err *err);
#endif
