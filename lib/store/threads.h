/* threads.h — conversations in the store: a lead's threads and their messages, sending,
 * closing an engagement, review requests, inbound messages matched to their thread, and
 * templates. Every change is planned (core/plan.h) and written by the one applier. */
#ifndef LP_STORE_THREADS_H
#define LP_STORE_THREADS_H
#include <jansson.h>
#include "core/policy.h"
#include "msg/mime.h"
#include "store/db.h"

/* {items, next_cursor}: the lead's threads, newest first (404 when the lead is not the actor's). */
json_t *lp_threads_list(lp_db *db, const lp_actor *a, int64_t lead_id, lp_err *err);
/* {items, next_cursor}: a thread's messages, oldest first. */
json_t *lp_thread_messages(lp_db *db, const lp_actor *a, int64_t thread_id, lp_err *err);
/* One message in the API form, or NULL (404). */
json_t *lp_message_get(lp_db *db, int64_t id, lp_err *err);

/* POST /leads/{id}/messages {channel, thread_id?, subject?, body?, template_id?, new_thread?}:
 * answers the queued message. 422 opted out / no address / bad input, 409 closed thread. */
json_t *lp_message_send(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *req, int64_t now, lp_err *err);
/* POST /leads/{id}/review-request {channel}: the review_request template; answers the message. */
json_t *lp_review_request(lp_store *s, const lp_actor *a, int64_t lead_id, const char *channel, int64_t now, lp_err *err);
/* POST /threads/{id}/close {notify_lead}: answers the closed thread. */
json_t *lp_thread_close(lp_store *s, const lp_actor *a, int64_t thread_id, int notify, int64_t now, lp_err *err);

/* Inbound. The message is matched (reply token, headers, address), stored on its thread (a new
 * one when needed, or on a new lead) and answered as {message, rule} — or, for a bounce, the
 * failed message marked and {bounce: message id}; an automatic message nobody is known for is
 * dropped ({dropped: reason}). A repeated delivery (same Message-ID, sender and body) is stored
 * once: the answer is the first one. actor: who delivered it (an API token's user) or NULL. */
json_t *lp_inbound_email(lp_store *s, const lp_actor *a, const lp_mail_in *m, int64_t now, lp_err *err);
/* An inbound SMS or chat line: from (E.164 phone or chat address), body, provider_id (may be NULL). */
json_t *lp_inbound_text(lp_store *s, const lp_actor *a, const char *channel, const char *from, const char *to,
                        const char *body, const char *provider_id, int64_t now, lp_err *err);

/* An SMS provider's status callback: the outbound SMS with this provider id moves to status
 * (sent, delivered or failed; error: the reason of a failure). Answers {message_id, status}, the
 * message's status after it; ENOTFOUND when no SMS has that id. */
json_t *lp_sms_status(lp_store *s, const char *provider_id, const char *status, const char *error, int64_t now, lp_err *err);

/* Templates: list, create {name, channel, kind, subject, body}, patch (placeholders checked). */
json_t *lp_templates_list(lp_db *db, lp_err *err);
json_t *lp_template_save(lp_store *s, const lp_actor *a, int64_t id, json_t *in, int64_t now, lp_err *err);
/* The owner of leads that arrive on their own (inbound mail, SMS, chat): the inbound_owner_id
 * setting, else the first active admin; 0 when there is none. */
int64_t lp_inbound_owner(lp_db *db, lp_err *err);
#endif
