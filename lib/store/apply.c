/* apply.c — the one applier (see apply.h). Every write of a lead row and of what comes with it
 * is here; the planner (core/plan.c) decided all of it before. */
#include <stdlib.h>
#include <string.h>
#include "store/apply.h"
#include "store/approvals.h"
#include "store/billing.h"
#include "store/internal.h"
#include "store/leads.h"
#include "store/notify.h"
#include "store/outbox.h"
#include "store/related.h"
#include "store/rows.h"
#include "store/scoring.h"
#include "util/buf.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- change hooks */

#define MAX_HOOKS 8
static struct { lp_change_hook fn; void *ctx; } hooks[MAX_HOOKS];
static int nhooks;

int lp_apply_hook_add(lp_change_hook fn, void *ctx) {
  if (nhooks == MAX_HOOKS) return -1;
  hooks[nhooks].fn = fn;
  hooks[nhooks].ctx = ctx;
  __atomic_store_n(&nhooks, nhooks + 1, __ATOMIC_RELEASE);
  return 0;
}

void lp_apply_hook_remove(lp_change_hook fn, void *ctx) {
  for (int i = 0; i < nhooks; i++) {
    if (hooks[i].fn != fn || hooks[i].ctx != ctx) continue;
    memmove(&hooks[i], &hooks[i + 1], (size_t)(nhooks - i - 1) * sizeof hooks[0]);
    nhooks--;
    return;
  }
}

int lp_change_touches(const lp_change *c, const char *const *cols, size_t n) {
  if (c->plan->kind == LP_PLAN_CREATE) return 1;
  for (size_t i = 0; i < n; i++)
    if (json_object_get(c->plan->lead, cols[i])) return 1;
  return 0;
}

json_t *lp_change_after(const lp_change *c) {
  if (c->plan->kind == LP_PLAN_CREATE) return json_incref(c->plan->lead);
  if (!c->before) return NULL;
  json_t *after = json_copy(c->before);
  json_object_update(after, c->plan->lead);
  return after;
}

static lp_code run_hooks(lp_db *db, const lp_change *c, lp_err *err) {
  int n = __atomic_load_n(&nhooks, __ATOMIC_ACQUIRE);
  for (int i = 0; i < n; i++) {
    lp_code rc = hooks[i].fn(db, c, hooks[i].ctx, err);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}

/* ---------------------------------------------------------------- group memberships */

/* leads.group_ids keeps the lead's contact groups as a JSON array, written with every change of
 * lead_groups, so a page of leads reads its groups with the row instead of one subquery a lead.
 * A lead row never changes without a new version (lp_update), which If-Match and the rendered
 * leads kept for lists (leadjson.c) rely on: bump 1 raises it here and sets updated_at; bump 0
 * is for a transaction that updates the row through lp_update as well (closing). */
static lp_code groups_refresh(lp_db *db, int64_t id, int64_t now, int bump, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *rows = lp_query(db, "SELECT group_id FROM lead_groups WHERE lead_id = $1 ORDER BY group_id", args, err);
  json_decref(args);
  if (!rows) return err->code;
  json_t *ids = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_array_append(ids, json_object_get(r, "group_id"));
  json_decref(rows);
  char *txt = json_dumps(ids, JSON_COMPACT);
  json_decref(ids);
  args = json_pack("[I, I, I, s]", (json_int_t)id, (json_int_t)now, (json_int_t)bump, txt ? txt : "[]");
  free(txt);
  lp_code rc = lp_exec(db, "UPDATE leads SET group_ids = $4, version = version + $3,"
                           " updated_at = CASE WHEN $3 = 1 AND $2 > updated_at THEN $2 ELSE updated_at END WHERE id = $1", args, err);
  json_decref(args);
  return rc;
}

/* ---------------------------------------------------------------- one plan */

static lp_code task_status(lp_db *db, const lp_ids *ids, const char *status, const lp_actor *a, int64_t now, lp_err *err) {
  for (size_t i = 0; i < ids->n; i++) {
    json_t *args = json_pack("[I, s, I, I]", (json_int_t)ids->v[i], status, (json_int_t)now, (json_int_t)a->id);
    lp_code rc = lp_exec(db, "UPDATE tasks SET status = $2, completed_at = $3, completed_by = $4, updated_at = $3,"
                             " version = version + 1 WHERE id = $1 AND status = 'open'", args, err);
    json_decref(args);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}

/* The lead row itself. */
static lp_code write_row(lp_db *db, json_t *lead, const lp_plan *plan, int64_t now, int64_t *id, lp_err *err) {
  switch (plan->kind) {
    case LP_PLAN_CREATE: {
      lp_code rc = lp_insert(db, "leads", plan->lead, id, err);
      if (rc == LP_ECONFLICT) {
        lp_err_release(err);
        return lp_fail(err, LP_EVALIDATION, "A referenced stage, source, owner or list entry no longer exists");
      }
      return rc;
    }
    case LP_PLAN_COMMENT: {
      /* A comment is no change of the row's fields: no new version (an edit in progress stays
       * valid), but a new updated_at, which lists and the rendered leads they keep follow. */
      json_t *args = json_pack("[I, I]", (json_int_t)now, (json_int_t)*id);
      lp_code rc = lp_exec(db, "UPDATE leads SET updated_at = $1 WHERE id = $2", args, err);
      json_decref(args);
      return rc;
    }
    default:
      if (!json_object_size(plan->lead)) return LP_OK;
      return lp_update(db, "leads", *id, plan->lead, iget(lead, "version"), err);
  }
}

/* The search entry (and PostgreSQL's address rows) follow the searchable text. */
static lp_code write_search(lp_db *db, const lp_plan *plan, int64_t id, lp_err *err) {
  if (plan->kind == LP_PLAN_CREATE) return lp__index_row(db, id, plan->lead, 1, err);
  if (plan->kind == LP_PLAN_DELETE) return lp__fts_queue(db, id, NULL, err);  /* entry and address rows go */
  if (plan->reindex) return lp__index_lead(db, id, err);
  return LP_OK;
}

lp_code lp_apply(lp_db *db, const lp_actor *a, json_t *lead, const lp_plan *plan, json_t *params, int64_t now,
                 lp_applied *out, lp_err *err) {
  int64_t id = lead ? iget(lead, "id") : 0;
  memset(out, 0, sizeof *out);
  out->lead_id = id;
  if (plan->approval_required) {
    const char *action = plan->kind == LP_PLAN_REOPEN ? "reopen" : plan->kind == LP_PLAN_CONVERT ? "convert" : "close";
    return lp_approval_request(db, a, id, action, params, now, &out->approval_id, err);
  }
  /* A plan that changes nothing (a PATCH with the values the lead has) writes nothing. */
  if (plan->kind != LP_PLAN_CREATE && !json_object_size(plan->lead) && !plan->timeline.n && !plan->messages.n &&
      !plan->groups.n && !plan->threads_closed.n)
    return LP_OK;
  lp_code rc = LP_OK;
  /* A merge: the records of the leads merged in move here, then each closes (its own plan). */
  for (size_t i = 0; i < plan->merge.n; i++) {
    lp_applied sub;
    int64_t from = iget(plan->merge.rows[i], "id");
    if ((rc = lp__merge_move(db, from, id, now, err))) return rc;
    if ((rc = lp_apply(db, a, plan->merge.rows[i], &plan->merge.subs[i], NULL, now, &sub, err))) return rc;
  }
  /* score and win probability follow the change (store/scoring.c): columns added to the plan's */
  if ((rc = lp__score_plan(db, lead, plan, now, err))) return rc;
  rc = write_row(db, lead, plan, now, &id, err);
  if (rc != LP_OK) return rc;
  out->lead_id = id;
  if ((rc = lp__keys_follow(db, plan, id, lead, err))) return rc;
  if ((rc = task_status(db, &plan->tasks_completed, "done", a, now, err))) return rc;
  if ((rc = task_status(db, &plan->tasks_cancelled, "cancelled", a, now, err))) return rc;
  int64_t fu_id = 0;
  if (plan->follow_up) {
    json_t *cols = json_deep_copy(plan->follow_up);
    json_object_set_new(cols, "lead_id", json_integer(id));
    json_object_set_new(cols, "status", json_string("open"));
    json_object_set_new(cols, "created_at", json_integer(now));
    json_object_set_new(cols, "updated_at", json_integer(now));
    json_object_set_new(cols, "created_by", json_integer(a->id));
    rc = lp_insert(db, "tasks", cols, &fu_id, err);
    json_decref(cols);
    if (rc) return rc;
  }
  for (size_t i = 0; i < plan->groups.n; i++) {
    json_t *args = json_pack("[I, I, I]", (json_int_t)id, (json_int_t)plan->groups.v[i], (json_int_t)now);
    rc = lp_exec(db, "INSERT INTO lead_groups(lead_id, group_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", args, err);
    json_decref(args);
    if (rc) return rc;
  }
  /* the row's copy of its groups, once for all of them; bump 0 when lp_update raised the version already */
  if (plan->groups.n && (rc = groups_refresh(db, id, now, json_object_size(plan->lead) ? 0 : 1, err))) return rc;
  for (size_t i = 0; i < plan->threads_closed.n; i++) {
    /* closed_by: the user, NULL when the system closes it (a chat the visitor left or let idle) */
    json_t *args = json_pack("[I, I, o]", (json_int_t)plan->threads_closed.v[i], (json_int_t)now, a->id > 0 ? json_integer(a->id) : json_null());
    rc = lp_exec(db, "UPDATE threads SET status = 'closed', closed_at = $2, closed_by = $3, version = version + 1"
                     " WHERE id = $1 AND status = 'open'", args, err);
    json_decref(args);
    if (rc) return rc;
  }
  /* A conversion: the customer, its services and the numbered invoice or proforma. */
  char number[32] = "";
  if (plan->kind == LP_PLAN_CONVERT &&
      (rc = lp__convert_write(db, a, id, plan, now, &out->customer_id, &out->invoice_id, number, sizeof number, err)))
    return rc;
  json_t *who = lead ? lead : plan->lead;
  /* Conversations: the thread this plan opens, then its messages (each with its event). */
  int64_t new_thread = 0;
  if (plan->thread_open.wanted &&
      (rc = lp_outbox_thread_open(db, a, id, plan->thread_open.channel, json_string_value(plan->thread_open.subject),
                                 plan->thread_open.chat_token_hash, now, &new_thread, err)))
    return rc;
  for (size_t i = 0; i < plan->messages.n; i++) {
    const lp_plan_message *m = &plan->messages.v[i];
    out->thread_id = m->thread_id ? m->thread_id : new_thread;
    if ((rc = lp_outbox_put(db, a, who, id, m, out->thread_id, now, &out->message_id, err))) return rc;
  }
  if (plan->notifications.n) {
    json_t *data = json_pack("{s:I, s:s}", "lead_id", (json_int_t)id, "full_name", sget(who, "full_name") ? sget(who, "full_name") : "");
    for (size_t i = 0; i < plan->notifications.n && rc == LP_OK; i++)
      rc = lp_notify(db, plan->notifications.v[i].user_id, plan->notifications.v[i].kind, id, data, now, err);
    json_decref(data);
    if (rc) return rc;
  }
  for (size_t i = 0; i < plan->timeline.n; i++) {
    json_t *data = plan->timeline.v[i].data;
    const char *kind = plan->timeline.v[i].kind;
    if (fu_id && !strcmp(kind, "task_created")) json_object_set_new(data, "task_id", json_integer(fu_id));
    if (new_thread && !strcmp(kind, "thread_opened")) json_object_set_new(data, "thread_id", json_integer(new_thread));
    if (out->customer_id && !strcmp(kind, "converted")) {
      json_object_set_new(data, "customer_id", json_integer(out->customer_id));
      json_object_set_new(data, "invoice_id", json_integer(out->invoice_id));
      json_object_set_new(data, "invoice_number", json_string(number));
    }
    if ((rc = lp_event(db, now, id, a->id, kind, "lead", id, data, err))) return rc;
  }
  /* A request waiting for approval is moot once the lead moved another way. */
  if (plan->kind == LP_PLAN_CLOSE || plan->kind == LP_PLAN_REOPEN || plan->kind == LP_PLAN_DELETE || plan->kind == LP_PLAN_CONVERT)
    if ((rc = lp_approvals_cancel(db, id, a->id, plan->kind == LP_PLAN_DELETE ? "The lead was deleted" : "The lead was closed or reopened meanwhile", now, err)))
      return rc;
  if ((rc = write_search(db, plan, id, err))) return rc;
  lp_change ch = {plan, lead, id, a->id, now};
  return run_hooks(db, &ch, err);
}

/* ---------------------------------------------------------------- many creates at once (import) */

/* The columns a batch of new leads is written with, and the value a missing one takes (NULL:
 * SQL NULL). A row with another column is created alone (lp__copy_col_known). */
static const struct { const char *name, *dflt; } copy_cols[] = {
  {"id", NULL}, {"version", "1"}, {"full_name", NULL}, {"company", NULL}, {"login", NULL}, {"emails", "[]"},
  {"phones", "[]"}, {"partner_id", NULL}, {"location_id", NULL}, {"owner_id", NULL}, {"stage_id", NULL},
  {"source_id", NULL}, {"country", NULL}, {"region", NULL}, {"city", NULL}, {"service", NULL}, {"request", NULL},
  {"notes", NULL}, {"value_cents", NULL}, {"currency", NULL}, {"score", "0"}, {"last_contacted_at", NULL},
  {"email_opt_out", "0"}, {"sms_opt_out", "0"}, {"status", "open"}, {"outcome", NULL}, {"lost_reason_id", NULL},
  {"close_notes", NULL}, {"closed_at", NULL}, {"closed_by", NULL}, {"sold_at", NULL}, {"review_requested_at", NULL},
  {"created_at", NULL}, {"updated_at", NULL}, {"created_by", NULL}, {"stage_entered_at", NULL},
  {"waiting_since", NULL}, {"waiting_seconds", "0"}, {"win_bp", "-1"}, {"win_factors", NULL}};
#define NCOPY (sizeof copy_cols / sizeof *copy_cols)

int lp__copy_col_known(const char *k) {
  for (size_t i = 0; i < NCOPY; i++) if (!strcmp(copy_cols[i].name, k)) return 1;
  return 0;
}

static void copy_val(lp_buf *b, json_t *v, const char *dflt) {
  if (!v || json_is_null(v)) { if (dflt) lp_copy_text(b, dflt); else lp_buf_add(b, "\\N", 2); }
  else if (json_is_integer(v)) lp_buf_printf(b, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) lp_buf_printf(b, "%.17g", json_real_value(v));
  else if (json_is_boolean(v)) lp_buf_add(b, json_is_true(v) ? "1" : "0", 1);
  else if (json_is_string(v)) lp_copy_text(b, json_string_value(v));
  else { char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); lp_copy_text(b, t ? t : ""); free(t); }
}

static void doc_body(void *ctx, lp_buf *out) { lp__fts_body(ctx, out); }
static lp_code doc_addresses(void *ctx, lp_address_fn fn, void *fn_ctx) { return lp__each_address(ctx, fn, fn_ctx); }

lp_code lp_apply_creates(lp_db *db, const lp_actor *a, lp_plan *plans, int n, int64_t now, int64_t *ids, lp_err *err) {
  if (n <= 0) return LP_OK;
  int64_t *event_ids = calloc((size_t)n, sizeof *event_ids);
  lp_search_doc *docs = calloc((size_t)n, sizeof *docs);
  lp_buf leads = LP_BUF_INIT((size_t)1 << 30), events = LP_BUF_INIT((size_t)1 << 30), jobs = LP_BUF_INIT((size_t)1 << 28),
         keys = LP_BUF_INIT((size_t)1 << 28);
  lp_code rc = event_ids && docs ? LP_OK : lp_fail(err, LP_EINTERNAL, "out of memory");
  if (rc == LP_OK) rc = lp_db_reserve_ids(db, "leads", n, ids, err);
  if (rc == LP_OK) rc = lp_db_reserve_ids(db, "events", n, event_ids, err);
  /* the webhooks that hear of `created`, as lp_event finds them for one event */
  json_t *wh = rc == LP_OK ? lp_query(db, "SELECT id, events FROM webhooks WHERE active = 1 ORDER BY id", NULL, err) : NULL;
  if (rc == LP_OK && !wh) rc = err->code;
  for (int i = 0; rc == LP_OK && i < n; i++) rc = lp__score_plan(db, NULL, &plans[i], now, err);
  for (int i = 0; rc == LP_OK && i < n; i++) {
    json_t *row = plans[i].lead;
    json_object_set_new(row, "id", json_integer(ids[i]));
    for (size_t j = 0; j < NCOPY; j++) {
      if (j) lp_buf_add(&leads, "\t", 1);
      copy_val(&leads, json_object_get(row, copy_cols[j].name), copy_cols[j].dflt);
    }
    lp_buf_add(&leads, "\n", 1);
    /* a create plan's one timeline event: created */
    char *dt = json_dumps(plans[i].timeline.v[0].data, JSON_COMPACT);
    lp_buf_printf(&events, "%lld\t%lld\t%lld\t%lld\tcreated\tlead\t%lld\t", (long long)event_ids[i], (long long)now,
                  (long long)ids[i], (long long)a->id, (long long)ids[i]);
    lp_copy_text(&events, dt ? dt : "{}");
    lp_buf_add(&events, "\n", 1);
    free(dt);
    size_t k;
    json_t *h;
    json_array_foreach(wh, k, h) {
      const char *ev = json_string_value(json_object_get(h, "events"));
      if (!ev || (strcmp(ev, "*") && !strstr(ev, ",created,"))) continue;
      lp_buf_printf(&jobs, "webhook\twebhook:%lld\t%lld\t%lld\t%lld\t%lld\n", (long long)json_integer_value(json_object_get(h, "id")),
                    (long long)event_ids[i], (long long)now, (long long)now, (long long)now);
    }
    docs[i] = (lp_search_doc){ids[i], 1, 0, row, doc_body, doc_addresses};
    lp__keys_copy(ids[i], row, &keys);  /* related leads and duplicates (store/related.c) */
  }
  json_decref(wh);
  if (rc == LP_OK && (leads.overflow || events.overflow || jobs.overflow || keys.overflow)) rc = lp_fail(err, LP_EINTERNAL, "import batch too large");
  if (rc == LP_OK) {
    const char *cols[NCOPY];
    for (size_t j = 0; j < NCOPY; j++) cols[j] = copy_cols[j].name;
    rc = lp_db_bulk_insert(db, "leads", cols, (int)NCOPY, leads.data, leads.len, err);
  }
  if (rc == LP_OK) rc = lp_db_search_put(db, docs, n, err);
  if (rc == LP_OK && keys.len) {
    static const char *const kcols[] = {"value", "lead_id"};
    rc = lp_db_bulk_insert(db, "lead_keys", kcols, 2, keys.data, keys.len, err);
  }
  if (rc == LP_OK) {
    static const char *const ecols[] = {"id", "at", "lead_id", "actor_id", "kind", "entity", "entity_id", "data"};
    rc = lp_db_bulk_insert(db, "events", ecols, 8, events.data, events.len, err);
  }
  if (rc == LP_OK && jobs.len) {
    static const char *const jcols[] = {"kind", "ref", "subject_id", "run_at", "created_at", "updated_at"};
    rc = lp_db_bulk_insert(db, "jobs", jcols, 6, jobs.data, jobs.len, err);
  }
  for (int i = 0; i < n && rc == LP_OK; i++) {
    lp_change ch = {&plans[i], NULL, ids[i], a->id, now};
    rc = run_hooks(db, &ch, err);
  }
  lp_buf_release(&leads);
  lp_buf_release(&events);
  lp_buf_release(&jobs);
  lp_buf_release(&keys);
  free(docs);
  free(event_ids);
  return rc;
}
