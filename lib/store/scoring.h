/* scoring.h — scoring rules, the win model and the lead's score and win probability in the store
 * (the rules and the model themselves are the pure core/scoring.h; docs/scoring.md).
 *
 * Where each number is kept fresh:
 *  - the applier (lp__score_plan, called by lp_apply and lp_apply_creates before the row is
 *    written) sets `score` — and, once a model exists, `win_bp`/`win_factors` — in the plan's
 *    lead columns whenever a change can move them: a create, a change of the lead's fields, a
 *    message from the lead. So a lead's score follows every change in the change's transaction.
 *  - the `scoring` job (lp_job_scoring) retrains the model when due (no model yet, a new UTC day
 *    since the last training, the closed history grown by 10%, or asked for) and walks the open
 *    leads in batches, writing what time alone changes (age buckets, recent activity running
 *    out) and the new model's estimates; each row it changes gets a new version. The sweep
 *    offers it once an hour (lp_scoring_offer); saving the rules and POST /scoring/run run it at once. */
#ifndef LP_STORE_SCORING_H
#define LP_STORE_SCORING_H
#include <jansson.h>
#include "core/plan.h"
#include "core/policy.h"
#include "jobs/jobs.h"
#include "store/db.h"

/* GET /scoring/rules: {version, enabled, sources, stages, fields, recent_activity, age, updated_at, updated_by}. */
json_t *lp_scoring_rules_get(lp_db *db, lp_err *err);
/* PUT /scoring/rules (admins): the whole rules; expect: the version the caller saw (-1: none).
 * Writes a scoring_rules_updated event and queues a scoring run. Answers the new rules. */
json_t *lp_scoring_rules_put(lp_store *s, const lp_actor *a, json_t *body, int64_t expect, int64_t now, lp_err *err);
/* GET /scoring/model: the model in use, summarised ({trained, trained_at, closed_count, won, lost, features}). */
json_t *lp_scoring_model_get(lp_db *db, lp_err *err);

/* Inside a write (the sweep): offers the hourly scoring run once. */
lp_code lp_scoring_offer(lp_db *db, int64_t now, lp_err *err);
/* The `scoring` job. */
lp_code lp_job_scoring(lp_store *s, lp_job *job, int64_t now, lp_err *err);

/* The applier's part (see above): may add score, win_bp and win_factors to plan->lead. lead: the
 * row before the change (NULL for a create). */
lp_code lp__score_plan(lp_db *db, json_t *lead, const lp_plan *plan, int64_t now, lp_err *err);
#endif
