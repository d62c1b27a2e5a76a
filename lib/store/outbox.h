/* outbox.h — messages to leads, queued in the transaction of the change that asks for them.
 * A queued message is a `messages` row (status queued) and a `message` job that delivers it
 * (lib/jobs): each is sent exactly once (the job's id is its delivery id) or marked failed with
 * the reason — never dropped. */
#ifndef LP_STORE_OUTBOX_H
#define LP_STORE_OUTBOX_H
#include "core/plan.h"
#include "store/db.h"

/* Inside a write: queues planned message m to lead lead_id. */
lp_code lp_outbox_queue(lp_db *db, const lp_actor *a, int64_t lead_id, const lp_plan_message *m, int64_t now, lp_err *err);
#endif
