/* reports_flow.h — the reports about how leads flow: aging and the SLA (with business hours),
 * the stage funnel, win-back of lost leads.
 *
 * What they read is kept by a change hook (lp_reports_flow_install, run by lp_store_open): one
 * row per stay of a lead in a stage (lead_stage_spells: entered, left) and one row per time a
 * lead was lost (lead_losses: reason, when it was reopened, when it was won after), written in
 * the transaction of the change itself by the one applier. Every report answers for the leads
 * the caller may see (leads.view). */
#ifndef LP_STORE_REPORTS_FLOW_H
#define LP_STORE_REPORTS_FLOW_H
#include <jansson.h>
#include "core/policy.h"
#include "core/slaclock.h"
#include "store/db.h"

/* Registers the change hook (once per process; later calls do nothing). */
void lp_reports_flow_install(void);

/* The SLA clock of the settings: 1 and h filled (its time zone loaded and kept for the process)
 * when business hours are configured and usable, 0 for the calendar clock. */
int lp_sla_clock(lp_db *db, lp_bizhours *h, lp_err *err);

typedef struct lp_flow_q {
  int64_t from, to;      /* range; to exclusive */
  int64_t owner;         /* 0: every owner the caller sees */
  int64_t source;        /* 0: any */
  int clock;             /* aging: -1 the settings' clock, 0 calendar, 1 business */
} lp_flow_q;

/* GET /reports/aging. */
json_t *lp_report_aging(lp_db *db, const lp_actor *a, const lp_flow_q *q, int64_t now, lp_err *err);
/* GET /reports/funnel (leads created in the range). */
json_t *lp_report_funnel(lp_db *db, const lp_actor *a, const lp_flow_q *q, int64_t now, lp_err *err);
/* GET /reports/win-back (leads lost in the range); s for the address lookup. */
json_t *lp_report_winback(lp_store *s, lp_db *db, const lp_actor *a, const lp_flow_q *q, int64_t now, lp_err *err);
#endif
