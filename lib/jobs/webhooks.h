/* webhooks.h — outgoing webhooks: the subscriptions (/api/v1/webhooks) and their deliveries.
 *
 * Each event written (rows.c, lp_event) adds, in the same transaction, one delivery job per
 * active webhook that wants its kind; the job POSTs the event (as GET /api/v1/events shows it)
 * to the webhook's URL with X-Leadpath-Signature: lower-case hex HMAC-SHA256 of the body under
 * the webhook's secret, X-Leadpath-Delivery: the delivery id (the same on every retry),
 * X-Leadpath-Webhook and X-Leadpath-Event, and retries with doubling backoff until a 2xx. */
#ifndef LP_JOBS_WEBHOOKS_H
#define LP_JOBS_WEBHOOKS_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"

json_t *lp_webhook_list(lp_db *db, lp_err *err);
json_t *lp_webhook_get(lp_db *db, int64_t id, lp_err *err);
/* body: {url, events?, secret?, active?}. The answer carries the secret (the only time it is shown). */
json_t *lp_webhook_create(lp_store *s, const lp_actor *a, json_t *body, int64_t now, lp_err *err);
json_t *lp_webhook_update(lp_store *s, const lp_actor *a, int64_t id, json_t *body, int64_t expect, int64_t now, lp_err *err);
/* Removes the webhook; deliveries not yet made are dropped. */
lp_code lp_webhook_delete(lp_store *s, const lp_actor *a, int64_t id, int64_t expect, int64_t now, lp_err *err);
/* The latest deliveries of a webhook, newest first. */
json_t *lp_webhook_deliveries(lp_db *db, int64_t id, int limit, lp_err *err);
#endif
