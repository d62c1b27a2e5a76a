/* billing.h — quotes, conversion, customers, services and invoices in the store.
 *
 * A quote belongs to a lead; its changes are events on the lead's timeline. A conversion is a plan
 * (core/plan.h, LP_PLAN_CONVERT) carried out by the one applier in one transaction: the lead
 * closes as converted, the customer, its services and an invoice or proforma are written, the
 * invoice's number taken from its series' counter row in that same transaction (no gaps: a
 * conversion that fails gives its number back with everything else). Rules live in core/billing.h;
 * the API shapes in api/openapi.yaml. Results are new references, NULL with err set on failure.
 */
#ifndef LP_STORE_BILLING_H
#define LP_STORE_BILLING_H
#include <jansson.h>
#include <stdint.h>
#include "core/plan.h"
#include "store/db.h"
#include "util/buf.h"

/* Quotes: {lines, notes?} on an open lead → the quote (valid for the quote_valid_days setting). */
json_t *lp_quote_create(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *req, int64_t now, lp_err *err);
json_t *lp_quotes_list(lp_db *db, const lp_actor *a, int64_t lead_id, int64_t now, lp_err *err);
json_t *lp_quote_get(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err);
/* PATCH {lines, notes, valid_until, status}: edits only while new; status new → sent → accepted |
 * declined (409 otherwise, 409 accepting an expired quote); accepting moves the lead to the
 * quote_accepted_stage_id setting's stage through the planner. expect: If-Match or -1. */
json_t *lp_quote_update(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err);
/* POST /quotes/{id}/send {subject?, body?} (store/quotemail.c): renders the quote as a PDF, queues
 * an e-mail to the lead with it attached (the `quote` template's text unless the request gives
 * its own), marks the quote sent. → {quote, message}. 409 declined/accepted, expired or the lead
 * closed; 422 the lead has no e-mail address or opted out; 412 If-Match (expect; -1 none). */
json_t *lp_quote_send(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err);
/* A quote's number as documents and e-mails show it: "Q-000042". */
void lp_quote_number(int64_t id, char out[24]);

/* POST /leads/{id}/convert {quote_ids, mode, services}. *status: 201 made ({lead, customer,
 * services, invoice}), 202 waiting for approval ({approval}), 200 a dry run ({dry_run, plan}). */
json_t *lp_lead_convert(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *req, int dry_run, int64_t expect,
                        int64_t now, int *status, lp_err *err);
/* An approved conversion request, carried out as it was asked (approvals.c). */
json_t *lp_lead_convert_approved(lp_store *s, const lp_actor *requester, const lp_actor *decider, int64_t approval_id,
                                 int64_t lead_id, json_t *params, int64_t now, lp_err *err);
/* The applier's part of a conversion (inside its transaction): writes plan->convert's customer,
 * services and invoice (numbered: number gets e.g. "INV-2026-000001"), links the lead. */
lp_code lp__convert_write(lp_db *db, const lp_actor *a, int64_t lead_id, const lp_plan *plan, int64_t now,
                          int64_t *customer_id, int64_t *invoice_id, char *number, size_t nlen, lp_err *err);

/* Invoices: the API form (with the customer's name and address block), visible with its customer. */
json_t *lp_invoice_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err);
/* A paid proforma becomes an invoice: {paid_at?}. Answers the new invoice (409 unless an issued proforma). */
json_t *lp_invoice_finalize(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err);
/* The invoice as a PDF or a printable HTML page (out gets the bytes). */
lp_code lp_invoice_render(lp_db *db, const lp_actor *a, int64_t id, int pdf, lp_buf *out, lp_err *err);

/* Customers: {items, next_cursor}; q searches name, company, emails, phones and login. */
json_t *lp_customers_list(lp_db *db, const lp_actor *a, const char *q, int limit, int64_t cursor, lp_err *err);
/* One customer with its services, invoices and the link to its lead's history. */
json_t *lp_customer_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err);
/* PATCH: contact details, consent, owner (validated by core/billing.h's lp_rt_customer). */
json_t *lp_customer_update(lp_store *s, const lp_actor *a, int64_t id, json_t *cols, int64_t expect, int64_t now, lp_err *err);
#endif
