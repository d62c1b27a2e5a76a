/* outbox.h — conversations in the store: threads opened and messages written by the applier
 * (store/apply.c) in the transaction of the change that asks for them, and what delivery and
 * inbound mail record later.
 *
 * A message to the lead is a `messages` row (status queued) and a `message` job that delivers
 * it (lib/jobs/deliver.c): sent exactly once (the job's lease, and the row's status checked
 * before sending) or marked failed with the reason and its sender told — never dropped. A
 * message made from a template kind (the closing notification, the review request) is rendered
 * here, from the active template of that kind and channel, the lead, the sender and the company
 * settings; with no such template it is stored failed, saying so. */
#ifndef LP_STORE_OUTBOX_H
#define LP_STORE_OUTBOX_H
#include "core/plan.h"
#include "store/db.h"

/* Inside a write: a new open thread of lead_id (with its reply token; a chat also with the hash
 * of the visitor's token, else NULL). */
lp_code lp_outbox_thread_open(lp_db *db, const lp_actor *a, int64_t lead_id, const char *channel, const char *subject,
                              const char *chat_token_hash, int64_t now, int64_t *thread_id, lp_err *err);
/* Inside a write: queues (direction out) or stores (in) planned message m on thread_id, with its
 * message_out / message_in event. lead: the lead's row (for templates). */
lp_code lp_outbox_put(lp_db *db, const lp_actor *a, json_t *lead, int64_t lead_id, const lp_plan_message *m,
                      int64_t thread_id, int64_t now, int64_t *msg_id, lp_err *err);
/* The variables templates see: {lead, user, company} (new reference). */
json_t *lp_template_vars(lp_db *db, json_t *lead_row, const lp_actor *a, lp_err *err);
/* Inside a write: records a delivery outcome of message id: status sent|delivered|failed, with
 * the provider's id or Message-ID (may be NULL) and the reason for a failure. A failure goes on
 * the lead's timeline (message_failed) and to the sender as a notification. */
lp_code lp_outbox_mark(lp_db *db, int64_t id, const char *status, const char *message_id, const char *provider_id,
                       const char *error, int64_t now, lp_err *err);
#endif
