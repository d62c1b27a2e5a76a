/* leads.h — leads in the store: read, list, and every change (create, import, update, stage,
 * close, reopen, approval carried out, delete, group, comment), each planned by core/plan.h and
 * written by the one applier (store/apply.h) in one transaction. */
#ifndef LP_STORE_LEADS_H
#define LP_STORE_LEADS_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"
#include "util/buf.h"

struct lp_plan;  /* core/plan.h */

typedef struct lp_sla_cfg { int64_t warn_days, breach_days; } lp_sla_cfg;
/* The SLA targets (cached for a second of `now`); lp_sla_forget() drops the cache. */
lp_sla_cfg lp_sla_settings(lp_db *db, int64_t now);
void lp_sla_forget(void);
/* Drops what new leads' checks remember of the lists (stages, sources, users, ...); call after a change. */
void lp_refs_forget(void);

/* The lead row (with "groups": [ids]) or NULL: LP_ENOTFOUND when missing or deleted. New ref. */
json_t *lp_lead_row(lp_db *db, int64_t id, lp_err *err);
/* LP_OK if the actor may see the lead, else LP_ENOTFOUND (we do not reveal it exists). */
lp_code lp_lead_visible(lp_db *db, const lp_actor *a, json_t *row, lp_err *err);
/* The lead's country (malloc'ed; NULL when none or no such lead): how its national phone numbers read. */
char *lp_lead_country(lp_db *db, int64_t id);
/* The API form of a row (new reference). */
json_t *lp_lead_present(json_t *row, int64_t now, lp_sla_cfg sla);
/* The preview a dry run answers, {dry_run: true, plan}: the plan's wire form (core/plan.h) with
 * the lead as it would be (row: the lead as it is). New reference. */
json_t *lp_lead_preview(lp_db *db, json_t *row, const struct lp_plan *plan, int64_t now);
/* Loads, checks visibility and presents. */
json_t *lp_lead_get(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err);

/* Lists leads. `q` gives a query parameter by name (NULL if absent) from ctx. Answers
 * {items, next_cursor[, total]} (new reference) or NULL with err. */
typedef const char *(*lp_param_fn)(void *ctx, const char *name);
json_t *lp_lead_list(lp_db *db, const lp_actor *a, lp_param_fn q, void *ctx, int64_t now, lp_err *err);
/* The same written as JSON text into out (the fast path for HTTP). 0 or -1 with err. */
int lp_lead_list_raw(lp_db *db, const lp_actor *a, lp_param_fn q, void *ctx, int64_t now, lp_buf *out, lp_err *err);
/* The list's filters as SQL: appends the WHERE text to where (which must start empty) and its
 * parameters to params (a JSON array), for store code that aggregates over the same leads the
 * list shows (store/board.c). 0, or -1 with field errors in err. */
int lp__lead_where(lp_db *db, const lp_actor *a, lp_param_fn q, void *ctx, int64_t now, lp_buf *where, json_t *params,
                   lp_err *err);
/* GET one lead as JSON text into out (checks visibility). 0 or -1 with err. */
int lp_lead_get_raw(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_buf *out, int64_t *version, lp_err *err);

/* Creates a lead from validated columns (lp_rec_input). Answers the presented lead. */
json_t *lp_lead_create(lp_store *s, const lp_actor *a, json_t *cols, int64_t now, lp_err *err);
/* Inside a write: prepares, plans and applies a new lead from cols (changed: completed); *id is its id. */
lp_code lp_lead_create_tx(lp_db *db, const lp_actor *a, json_t *cols, int64_t now, int64_t *id, lp_err *err);
/* The same, with via (borrowed, may be NULL) as the `via` of its `created` event: where the lead
 * came from, e.g. {"form_id", "form"} for a web form. */
lp_code lp_lead_create_tx_via(lp_db *db, const lp_actor *a, json_t *cols, int64_t now, json_t *via, int64_t *id, lp_err *err);
/* Every check lp_lead_create makes of cols (references, history fields), writing nothing. */
lp_code lp_lead_check(lp_db *db, const lp_actor *a, json_t *cols, int64_t now, lp_err *err);
/* The same, answering the new lead as JSON text in out (as lp_lead_get_raw writes it) and its id.
 * 0, or -1 with err set. */
int lp_lead_create_raw(lp_store *s, const lp_actor *a, json_t *cols, int64_t now, lp_buf *out, int64_t *id, lp_err *err);
/* Creates n leads at once (import). cols[i] are validated inputs (lp_rec_input). Each goes through
 * the same preparation and checks as lp_lead_create; errs[i] is row i's outcome (code LP_OK when
 * created; errs must be LP_ERR_INIT'ed) and ids[i] its new id. On PostgreSQL the rows that pass
 * are written with COPY in one transaction (leads, contacts, search entries, `created` events,
 * webhook deliveries); on SQLite they are written one by one in one transaction. Should that
 * transaction fail, each row is created on its own instead, so a bad row costs only itself.
 * Returns how many were made. */
int lp_lead_create_many(lp_store *s, const lp_actor *a, json_t **cols, int n, int64_t now, lp_err *errs, int64_t *ids);
/* Patches a lead (expect = If-Match version or -1). A stage_id change goes through the planner. */
json_t *lp_lead_update(lp_store *s, const lp_actor *a, int64_t id, json_t *cols, int64_t expect, int64_t now, lp_err *err);
/* Inside a write: the same change as lp_lead_update (any version), e.g. reassigning the leads of
 * a user who leaves (store/people.c). */
lp_code lp_lead_update_tx(lp_db *db, const lp_actor *a, int64_t id, json_t *cols, int64_t now, lp_err *err);
lp_code lp_lead_delete(lp_store *s, const lp_actor *a, int64_t id, int64_t expect, int64_t now, lp_err *err);

typedef enum { LP_MOVE_CLOSE, LP_MOVE_REOPEN } lp_move;
typedef enum {
  LP_MOVED,                  /* done: the answer is the lead */
  LP_MOVE_APPROVAL_PENDING,  /* the policy says request: the answer is {"approval": ...} */
  LP_MOVE_PREVIEW,           /* dry_run: the answer is {"dry_run": true, "plan": ...}, nothing changed */
} lp_move_result;
/* Close or reopen; *res says what the answer is. */
json_t *lp_lead_move(lp_store *s, const lp_actor *a, int64_t id, lp_move move, json_t *req, int dry_run,
                     int64_t expect, int64_t now, lp_move_result *res, lp_err *err);
/* A comment on the lead's timeline: data {body, icon, color} (borrowed); *event_id is its event. */
lp_code lp_lead_comment(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *data, int64_t now, int64_t *event_id, lp_err *err);
/* Adds the lead to a contact group (a group_added event); already a member is fine. */
lp_code lp_lead_add_group(lp_store *s, const lp_actor *a, int64_t id, int64_t group_id, int64_t now, lp_err *err);
/* The full-text index on SQLite is written apart from the leads, in batches (see leads.c).
 * lp_lead_index_sync brings it up to date with every committed write (a no-op when nothing
 * waits, and on PostgreSQL); when that takes longer than wait_ms (0: no limit; a rebuild of a
 * large database takes a while) it gives up with LP_EUNAVAILABLE; a search request waits
 * LP_SEARCH_WAIT_MS. lp_lead_index_step writes one batch and now and then drops the written log
 * rows, for a background thread: it answers how many entries it took (LP_INDEX_CHUNK: more are
 * waiting), -1 on error. */
#define LP_SEARCH_WAIT_MS 3000
#define LP_INDEX_CHUNK 512
lp_code lp_lead_index_sync(lp_store *s, int wait_ms, lp_err *err);
int lp_lead_index_step(lp_store *s, lp_err *err);
/* Leads with exactly this address (kind "email" or "phone"), most recently changed first: up to
 * max ids into ids; the count, or -1 with err. Found through the exact address rows (one index
 * probe; no wait for the search indexer). _in: on db, e.g. inside a write, where leads created
 * earlier in the same transaction are seen. */
int lp_leads_by_address(lp_store *s, const char *kind, const char *address, int64_t *ids, int max, lp_err *err);
int lp_leads_by_address_in(lp_db *db, const char *kind, const char *address, int64_t *ids, int max, lp_err *err);
/* Carries out an approved request (approval_id, pending) as the requester would have, and
 * decides the approval, in one transaction. Answers the lead as the decider sees it. */
json_t *lp_lead_move_approved(lp_store *s, const lp_actor *requester, const lp_actor *decider, int64_t approval_id,
                              int64_t lead_id, lp_move move, json_t *params, int64_t now, lp_err *err);
/* The moves open to the actor now. */
json_t *lp_lead_transitions(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err);
#endif
