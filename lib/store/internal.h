/* internal.h — what the store's own files share (lp__ names); not for callers outside lib/store. */
#ifndef LP_STORE_INTERNAL_H
#define LP_STORE_INTERNAL_H
#include <jansson.h>
#include "store/db.h"
#include "util/buf.h"

/* Calls fn(kind "email" or "phone", address, ctx) for each address of a lead row (its emails,
 * then its phones, stored as JSON text); stops at the first code that is not LP_OK. */
typedef lp_code (*lp__address_fn)(const char *kind, const char *value, void *ctx);
lp_code lp__each_address(json_t *row, lp__address_fn fn, void *ctx);
/* The text the full-text index holds for a lead row. */
void lp__fts_body(json_t *row, lp_buf *b);
/* Lead id's search entry (and address rows) follow row (lp_db_search_put); NULL row: gone. */
lp_code lp__fts_queue(lp_db *db, int64_t id, json_t *row, lp_err *err);
/* The search entry and address rows of lead id from row; fresh: a new lead (nothing to delete). */
lp_code lp__index_row(lp_db *db, int64_t id, json_t *row, int fresh, lp_err *err);
/* The same, reading the lead's row first. */
lp_code lp__index_lead(lp_db *db, int64_t id, lp_err *err);
/* Whether the import's COPY writes column k (apply.c); a row with another column is created alone. */
int lp__copy_col_known(const char *k);
#endif
