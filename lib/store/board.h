/* board.h — the pipeline board: open leads by stage with each column's count and value (kept in
 * board_counts by a change hook, see board.c) and its first cards. */
#ifndef LP_STORE_BOARD_H
#define LP_STORE_BOARD_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"
#include "store/leads.h"

/* Installs the change hook that keeps board_counts (once per process; lp_store_open calls it). */
void lp_board_install(void);
/* The board for the caller's filters (owner, source, q) and cards per column (limit, 1..100,
 * default 20): {columns: [{stage_id, name, is_sale, waiting, count, value_cents, values:
 * [{currency, count, value_cents}], items, next_cursor}], counted: "kept"|"matched"}. New
 * reference, or NULL with err (field errors for bad filters). */
json_t *lp_lead_board(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, lp_err *err);
#endif
