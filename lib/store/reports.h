/* reports.h — report counters kept by the applier, and the reports read from them.
 *
 * Counts are kept, not scanned (DESIGN.md): report_counts holds, for each dimension (dim), date
 * kind (created_at, closed_at, sold_at), period (a UTC day, and a block of 32 days that serves
 * long ranges), dimension value (key), owner, lost reason and outcome ('' while open), how many
 * leads and their summed value_cents. A change hook (lp_reports_hook, installed for every store by
 * lp_reports_install) turns each applied plan into the difference between the lead's contribution
 * before and after it, netted, in one multi-row UPSERT in the change's own transaction.
 *
 * Dimensions: 0 all (serves owner, team and lost reason, which every row carries), 1 source,
 * 2 location, 3 partner, 4 country, 5 service, 6 stage. A report reads one dimension's rows in
 * its range (whole 32-day blocks, then the days at either edge), never the leads.
 *
 * LP_REPORT_RECOMPUTE_SQL is the same set computed from the leads in one statement (the
 * migration's backfill, `leadpath reports rebuild`, and the check that kept == recomputed).
 */
#ifndef LP_STORE_REPORTS_H
#define LP_STORE_REPORTS_H
#include <jansson.h>
#include "core/policy.h"
#include "store/apply.h"
#include "store/db.h"

#define LP_REPORT_BLOCK_DAYS 32

/* Columns: dim, kind, grain, period, key, owner_id, reason_id, outcome, n, value_cents. Kinds:
 * 0 created, 1 closed (only while the lead is closed), 2 sold. Grains: 0 day, 1 block of 32 days.
 * Deleted leads count nowhere. */
#define LP_REPORT_RECOMPUTE_SQL \
  "SELECT d.dim AS dim, x.kind AS kind, g.grain AS grain, x.t / 86400 / g.div AS period," \
  " CASE d.dim WHEN 1 THEN COALESCE(CAST(x.source_id AS TEXT), '') WHEN 2 THEN COALESCE(CAST(x.location_id AS TEXT), '')" \
  "  WHEN 3 THEN COALESCE(CAST(x.partner_id AS TEXT), '') WHEN 4 THEN COALESCE(x.country, '')" \
  "  WHEN 5 THEN COALESCE(x.service, '') WHEN 6 THEN COALESCE(CAST(x.stage_id AS TEXT), '') ELSE '' END AS key," \
  " COALESCE(x.owner_id, 0) AS owner_id, COALESCE(x.lost_reason_id, 0) AS reason_id," \
  " CASE WHEN x.status = 'closed' THEN COALESCE(x.outcome, '') ELSE '' END AS outcome," \
  " CAST(count(*) AS BIGINT) AS n, CAST(COALESCE(sum(x.value_cents), 0) AS BIGINT) AS value_cents" \
  " FROM (SELECT l.source_id, l.location_id, l.partner_id, l.country, l.service, l.stage_id, l.owner_id," \
  "   l.lost_reason_id, l.status, l.outcome, l.value_cents, k.kind," \
  "   CASE k.kind WHEN 0 THEN l.created_at WHEN 1 THEN (CASE WHEN l.status = 'closed' THEN l.closed_at END)" \
  "   ELSE l.sold_at END AS t" \
  "  FROM leads l CROSS JOIN (SELECT 0 AS kind UNION ALL SELECT 1 UNION ALL SELECT 2) k WHERE l.deleted_at IS NULL) x" \
  " CROSS JOIN (SELECT 0 AS grain, 1 AS div UNION ALL SELECT 1, 32) g" \
  " CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4" \
  "   UNION ALL SELECT 5 UNION ALL SELECT 6) d" \
  " WHERE x.t IS NOT NULL AND x.t >= 0" \
  " GROUP BY d.dim, x.kind, g.grain, x.t / 86400 / g.div, 5, 6, 7, 8"

/* Adds the counter hook to the applier once per process (every store opened keeps counters). */
void lp_reports_install(void);
/* The hook itself (for tests that measure it). */
lp_code lp_reports_hook(lp_db *db, const lp_change *c, void *ctx, lp_err *err);
/* Counts kept rows that differ from the recomputed ones (0: equal); with fix, replaces the kept
 * counters with the recomputed ones in the same write. *differ gets the number of rows that
 * differed before. */
lp_code lp_reports_rebuild(lp_store *s, int fix, int64_t *differ, lp_err *err);

/* The reports. get(ctx, name) gives a query parameter (NULL if absent). New reference or NULL
 * with err set (422 for a bad parameter). */
typedef const char *(*lp_report_param_fn)(void *ctx, const char *name);
json_t *lp_report_outcomes(lp_db *db, const lp_actor *a, lp_report_param_fn get, void *ctx, int64_t now, lp_err *err);
json_t *lp_report_lost_reasons(lp_db *db, const lp_actor *a, lp_report_param_fn get, void *ctx, int64_t now, lp_err *err);
#endif
