/* related.h — leads that belong together: the exact keys of each lead (lead_keys: e-mail, phone
 * in E.164, normalised company), the related leads of a lead, the open leads an address would
 * duplicate, and merging leads (store/merge.c).
 *
 * lead_keys is written by the applier with the lead (lp__keys_follow, lp__keys_copy), so every
 * path that creates, changes or deletes a lead keeps it; a lookup is one index seek per key,
 * whatever the number of leads (the full-text index is not used). */
#ifndef LP_STORE_RELATED_H
#define LP_STORE_RELATED_H
#include <jansson.h>
#include "core/plan.h"
#include "store/db.h"
#include "util/buf.h"

/* A company as compared: white space trimmed, runs of it made one space, ASCII letters
 * lower-cased, at most 200 bytes; "" when nothing is left. */
void lp_company_key(const char *company, char *out, size_t outsz);

/* The applier's part (apply.c): keys follow a lead row. `old` is the row as it was (NULL for a
 * create), `set` the columns the plan writes (a create: every column). */
lp_code lp__keys_follow(lp_db *db, const lp_plan *plan, int64_t id, json_t *old, lp_err *err);
/* The keys of lead id from row (a new lead), as COPY text lines "value\tlead_id\n" (import). */
void lp__keys_copy(int64_t id, json_t *row, lp_buf *out);

/* Inside a write: customer_keys follow a customer row (old: as it was, NULL for a new one; row:
 * as it is now, emails and phones as JSON text or arrays). store/billing.c calls it. */
lp_code lp__customer_keys_follow(lp_db *db, int64_t id, json_t *old, json_t *row, lp_err *err);

/* GET /leads/{id}/related: {lead_id, items: [{id, full_name, company, status, stage_id, stage_name,
 * outcome, owner_id, owner_name, created_at, closed_at, merged_into, matched: [{key, value}]}],
 * customers: [{id, full_name, company, active, lead_id, owner_id, owner_name, created_at, open_tickets,
 * matched}], truncated}. Only leads and customers the actor may see; open leads first, then the
 * newest; the customers the same keys find (not the lead's own customer), active ones first.
 * 404 when the actor may not see the lead itself. New reference or NULL with err. */
json_t *lp_lead_related(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err);

/* The open leads (not deleted) that share an e-mail address or phone number with these (JSON
 * arrays of normalised strings, or JSON text of one; either may be NULL), leaving out lead
 * `exclude` (0: none): up to max ids into ids, most recently changed first. The count, or -1
 * with err. For every entry path that warns of duplicates (API, UI, import, web forms). */
int lp_leads_open_matching(lp_db *db, json_t *emails, json_t *phones, int64_t exclude, int64_t *ids, int max, lp_err *err);
/* The same as the answer of a duplicate check: [{id, full_name, company, status, owner_id,
 * owner_name, created_at, matched: [{key, value}], visible}] where a lead the actor may not see
 * shows only id, owner and what matched (visible false). a NULL: all visible. New reference. */
json_t *lp_lead_duplicates(lp_db *db, const lp_actor *a, json_t *emails, json_t *phones, int64_t exclude, lp_err *err);

/* POST /leads/{id}/merge. req {other_ids, fields: {field: lead id}, versions: {"<id>": version}}
 * (borrowed); expect: the survivor's If-Match version or -1. dry_run: nothing is written, the
 * answer is {dry_run: true, plan: {...}}; otherwise {lead, merged_ids, moved}. New reference or NULL. */
json_t *lp_lead_merge(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int dry_run, int64_t expect, int64_t now,
                      lp_err *err);
/* The applier's part of a merge: the records of lead `from` move to lead `to`. */
lp_code lp__merge_move(lp_db *db, int64_t from, int64_t to, int64_t now, lp_err *err);
#endif
