/* approvals.h — requests that a role's policy sends for approval, in one home: requested (by the
 * applier, when a plan says approval_required), listed, decided (approving carries out the
 * request as it was asked, in the same transaction; declining closes it with a note), cancelled
 * (the lead was closed, reopened or deleted another way, so the request is moot) and escalated
 * (the periodic sweep tells the approver's manager, or the admins, of requests left waiting).
 * Approvers: the requester's manager, or any admin. */
#ifndef LP_STORE_APPROVALS_H
#define LP_STORE_APPROVALS_H
#include <jansson.h>
#include <stdint.h>
#include "core/policy.h"
#include "store/apply.h"
#include "store/db.h"

/* Inside a write: records a pending request of `action` ("close", "reopen") on lead_id with the
 * request body params (borrowed), its approval_requested event, and tells the approver. */
lp_code lp_approval_request(lp_db *db, const lp_actor *a, int64_t lead_id, const char *action, json_t *params,
                            int64_t now, int64_t *id, lp_err *err);
/* Inside a write: marks a pending approval decided ("approved"/"declined") with its event and
 * tells the requester. LP_ECONFLICT when it was decided meanwhile. */
lp_code lp_approval_mark(lp_db *db, int64_t id, const lp_actor *decider, const char *decision, const char *note,
                         int64_t now, lp_err *err);
/* Inside a write: applies plan to the lead row (lp_apply; req: the request body, borrowed) — when
 * approval_id is set, as that request approved by decider, marked so first in the same
 * transaction. When the plan itself must wait for an approval, *pending gets the recorded
 * request's API form (new reference; else NULL) and out->approval_id its id. */
lp_code lp_apply_approved(lp_db *db, const lp_actor *a, json_t *row, const lp_plan *plan, json_t *req, int64_t approval_id,
                          const lp_actor *decider, int64_t now, lp_applied *out, json_t **pending, lp_err *err);
/* Inside a write: cancels the lead's pending requests (the lead moved another way). */
lp_code lp_approvals_cancel(lp_db *db, int64_t lead_id, int64_t by, const char *why, int64_t now, lp_err *err);
/* Inside a write: tells of requests pending longer than the approval_escalation_hours setting. */
lp_code lp_approvals_escalate(lp_db *db, int64_t now, int *sent, lp_err *err);

/* The API form of one approval (new reference) or NULL (LP_ENOTFOUND). */
json_t *lp_approval_get(lp_db *db, int64_t id, lp_err *err);
/* {items, next_cursor}: status pending|approved|declined|cancelled|all; admins see every request,
 * others the ones they decide and the ones they made; lead_id (0: any) lists one lead's requests
 * to whoever may see the lead (else LP_ENOTFOUND); mine: only the caller's own requests. Each
 * item carries the names (lead_name, requested_by_name, approver_name, decided_by_name), the
 * words of what was asked (outcome_name, outcome_kind, reason_name), the lead's open tasks
 * (open_tasks: [{id, title, type, due_at, assignee_id, overdue}], overdue_tasks: n, at `now`)
 * and can_decide. */
json_t *lp_approvals_list(lp_db *db, const lp_actor *a, const char *status, int64_t lead_id, int mine, int64_t now, lp_err *err);
/* Approves or declines (note: may be NULL). Answers the decided approval (new reference).
 * 404 when not the caller's to see, 403 for one's own request, 412 when if_version (>= 0, from
 * If-Match) is not the approval's version, 409 when already decided. A pending approval's
 * version changes only when it is decided or cancelled (which the write's status check
 * catches), so checking it on the read is enough. */
json_t *lp_approval_decide(lp_store *s, const lp_actor *decider, int64_t id, int approve, const char *note,
                           int64_t if_version, int64_t now, lp_err *err);
#endif
