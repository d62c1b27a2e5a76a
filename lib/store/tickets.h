/* tickets.h — support tickets in the store: a ticket belongs to a lead, a customer or both (a
 * customer's ticket also names the customer's lead), with subject, body, priority
 * (low|normal|high|urgent), status (open|closed), the person it was opened for (`requester`), an
 * assignee and comments.
 *
 * Who sees a ticket: whoever may see its customer (when it has one) or its lead under the role's
 * `leads.view` (own, team, all), and its assignee. Every change writes one event on the lead's
 * timeline in the same transaction (ticket_opened, ticket_updated, ticket_closed, ticket_reopened,
 * ticket_comment; a customer's history is its lead's timeline), and an assignee other than the one
 * who assigned gets a `ticket_assigned` notification. When leads merge, their tickets move to the
 * survivor (store/merge.c). Results are new references, NULL with err set on failure. docs/tickets.md.
 */
#ifndef LP_STORE_TICKETS_H
#define LP_STORE_TICKETS_H
#include <jansson.h>
#include <stdint.h>
#include "core/policy.h"
#include "store/db.h"

/* POST /leads/{id}/tickets or /customers/{id}/tickets (lead_id or customer_id 0): {subject,
 * body?, priority?, requester?, assignee_id?} → the ticket. 404 when the caller may not see the
 * lead or customer; 422 names each bad field. */
json_t *lp_ticket_create(lp_store *s, const lp_actor *a, int64_t lead_id, int64_t customer_id, json_t *req, int64_t now,
                         lp_err *err);
/* The tickets of a lead or of a customer (one of the ids 0), open first, then the newest:
 * {items, next_cursor: null}. status: open|closed|NULL (all). */
json_t *lp_tickets_of(lp_db *db, const lp_actor *a, int64_t lead_id, int64_t customer_id, const char *status, lp_err *err);
/* GET /tickets: status open|closed|all (NULL: open), q (subject, body, requester, the lead's or
 * customer's name), assignee (NULL any, "me", or a user id), priority; newest first, paged by id. */
typedef struct lp_ticket_filter {
  const char *status, *q, *assignee, *priority;
  int limit;
  int64_t cursor;
} lp_ticket_filter;
json_t *lp_tickets_list(lp_db *db, const lp_actor *a, const lp_ticket_filter *f, lp_err *err);
/* One ticket with its comments (oldest first). */
json_t *lp_ticket_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err);
/* PATCH {subject, body, priority, status, requester, assignee_id}; expect: If-Match or -1. */
json_t *lp_ticket_update(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err);
/* POST /tickets/{id}/comments {body} → the comment {id, ticket_id, body, author_id, author_name, created_at}. */
json_t *lp_ticket_comment(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t now, lp_err *err);
#endif
