/* leads.c — leads in the store (see leads.h): reading them, and every way they change.
 *
 * Each change is three steps: load what the planner needs, plan (core/plan.c, pure), apply (the
 * one applier, store/apply.c). Writes run on the writer thread (lp_store_write) and do their own
 * reads there, so what the planner sees is exactly what the transaction changes: no lost updates
 * between read and write. A write closure may run more than once (PostgreSQL retries a
 * serialization failure): each starts from its inputs and resets what it answers.
 */
#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/plan.h"
#include "core/record.h"
#include "store/apply.h"
#include "store/approvals.h"
#include "store/internal.h"
#include "store/leadjson.h"
#include "store/lists.h"
#include "util/valid.h"
#include "store/leads.h"
#include "store/rows.h"
#include "util/buf.h"
#include "util/timefmt.h"


static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The SLA targets change rarely and are read on every lead shown: keep them for a second of
 * request time (every server of a cluster sees a change within that second). */
static pthread_mutex_t sla_mu = PTHREAD_MUTEX_INITIALIZER;
static lp_sla_cfg sla_cached;
static int64_t sla_cached_at;
static int sla_valid;

void lp_sla_forget(void) {
  pthread_mutex_lock(&sla_mu);
  sla_valid = 0;
  pthread_mutex_unlock(&sla_mu);
}

lp_sla_cfg lp_sla_settings(lp_db *db, int64_t now) {
  pthread_mutex_lock(&sla_mu);
  if (sla_valid && now == sla_cached_at) {
    lp_sla_cfg c = sla_cached;
    pthread_mutex_unlock(&sla_mu);
    return c;
  }
  pthread_mutex_unlock(&sla_mu);
  lp_err e = LP_ERR_INIT;
  lp_sla_cfg c = {5, 30};
  json_t *rows = lp_query(db, "SELECT key, value FROM settings WHERE key IN ('sla_warning_days', 'sla_breach_days')", NULL, &e);
  size_t i;
  json_t *r;
  if (rows) json_array_foreach(rows, i, r) {
    long long v = strtoll(sget(r, "value") ? sget(r, "value") : "0", NULL, 10);
    if (v <= 0) continue;
    if (!strcmp(sget(r, "key"), "sla_warning_days")) c.warn_days = v;
    else c.breach_days = v;
  }
  json_decref(rows);
  if (e.code == LP_OK) {
    pthread_mutex_lock(&sla_mu);
    sla_cached = c;
    sla_cached_at = now;
    sla_valid = 1;
    pthread_mutex_unlock(&sla_mu);
  }
  lp_err_release(&e);
  return c;
}

static void fix_groups(json_t *row) {
  json_t *g = json_object_get(row, "groups");
  json_t *arr = json_is_string(g) ? json_loads(json_string_value(g), 0, NULL) : NULL;
  json_object_set_new(row, "groups", arr ? arr : json_array());
}

json_t *lp_lead_row(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  /* The same SELECT as the fast JSON path (every column, and the groups as JSON text). */
  json_t *row = lp_query_one(db, lp_lead_json_select_one(db), args, err);
  json_decref(args);
  if (!row) {
    if (err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No lead %lld", (long long)id);
    return NULL;
  }
  fix_groups(row);
  return row;
}

lp_code lp_lead_visible(lp_db *db, const lp_actor *a, json_t *row, lp_err *err) {
  if (a->view == LP_VIEW_ALL) return LP_OK;
  int64_t owner = iget(row, "owner_id");
  if (owner == a->id) return LP_OK;
  if (a->view == LP_VIEW_TEAM && owner) {
    json_t *args = json_pack("[I]", (json_int_t)owner);
    int64_t mgr = lp_query_int(db, "SELECT manager_id FROM users WHERE id = $1", args, 0, err);
    json_decref(args);
    if (mgr == a->id) return LP_OK;
  }
  return lp_fail(err, LP_ENOTFOUND, "No lead %lld", (long long)iget(row, "id"));
}

char *lp_lead_country(lp_db *db, int64_t id) {
  lp_err e = LP_ERR_INIT;
  json_t *row = NULL;
  if (id > 0) {
    json_t *args = json_pack("[I]", (json_int_t)id);
    row = lp_query_one(db, "SELECT country FROM leads WHERE id = $1", args, &e);
    json_decref(args);
    lp_err_release(&e);
  }
  char *c = row && sget(row, "country") ? strdup(sget(row, "country")) : NULL;
  json_decref(row);
  if (!c) {  /* no country of its own (or no lead yet: id 0): the company's default_country */
    c = lp_setting_text(db, "default_country", &e);
    if (c && strlen(c) != 2) { free(c); c = NULL; }
  }
  lp_err_release(&e);
  return c;
}

json_t *lp_lead_present(json_t *row, int64_t now, lp_sla_cfg sla) {
  json_t *o = lp_rec_present(&lp_rt_lead, row);
  json_t *g = json_object_get(row, "groups");
  json_object_set_new(o, "groups", json_is_array(g) ? json_incref(g) : json_array());
  json_object_set_new(o, "phones_display", lp_phones_shown(json_object_get(o, "phones")));
  /* scoring's estimate, as leadjson.c writes it */
  json_t *bp = json_object_get(row, "win_bp");
  int has = json_is_integer(bp) && json_integer_value(bp) >= 0;
  json_object_set_new(o, "win_probability", has ? json_real((double)json_integer_value(bp) / 10000) : json_null());
  json_t *wf = has && json_string_value(json_object_get(row, "win_factors")) ? json_loads(json_string_value(json_object_get(row, "win_factors")), 0, NULL) : NULL;
  json_object_set_new(o, "win_factors", json_is_array(wf) ? wf : json_array());
  if (wf && !json_is_array(wf)) json_decref(wf);
  json_object_set_new(o, "age_days", json_integer(lp_lead_age_days(row, now)));
  json_object_set_new(o, "sla", json_string(lp_lead_sla(row, now, sla.warn_days, sla.breach_days)));
  return o;
}

json_t *lp_lead_get(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return NULL;
  if (lp_lead_visible(db, a, row, err) != LP_OK) { json_decref(row); return NULL; }
  json_t *o = lp_lead_present(row, now, lp_sla_settings(db, now));
  json_decref(row);
  return o;
}

/* Where owner_id and version sit in lp_lead_json_select_one's columns. */
static pthread_once_t cols_once = PTHREAD_ONCE_INIT;
static int col_owner, col_version;
static void find_cols(void) {
  col_owner = lp_lead_json_col("owner_id");
  col_version = lp_lead_json_col("version");
}

int lp_lead_get_raw(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_buf *out, int64_t *version, lp_err *err) {
  lp_sla_cfg sla = lp_sla_settings(db, now);
  lp_stmt *st = lp_db_prep_static(db, lp_lead_json_select_one(db), err);
  if (!st) return -1;
  lp_bind_int(st, 1, id);
  int rc = lp_step(st, err);
  if (rc != 1) {
    lp_stmt_done(st);
    if (rc == 0) lp_fail(err, LP_ENOTFOUND, "No lead %lld", (long long)id);
    return -1;
  }
  pthread_once(&cols_once, find_cols);
  int oc = col_owner, vc = col_version;
  int64_t owner = lp_col_null(st, oc) ? 0 : lp_col_int(st, oc);
  if (a->view != LP_VIEW_ALL && owner != a->id) {
    json_t *probe = json_pack("{s:I, s:o}", "id", (json_int_t)id, "owner_id", owner ? json_integer(owner) : json_null());
    lp_code vis = lp_lead_visible(db, a, probe, err);
    json_decref(probe);
    if (vis != LP_OK) { lp_stmt_done(st); return -1; }
  }
  if (version) *version = lp_col_int(st, vc);
  lp_buf_reserve(out, 2048);
  lp_lead_json_write(out, st, now, sla);
  lp_stmt_done(st);
  return 0;
}

/* ---------------------------------------------------------------- references */

static const struct { const char *field; const char *table; } lead_refs[] = {
  {"partner_id", "partners"}, {"location_id", "locations"}, {"owner_id", "users"},
  {"stage_id", "stages"}, {"source_id", "sources"}, {"lost_reason_id", "lost_reasons"}};

/* What a new lead's checks looked up lately, per thread: that a referenced row exists, the first
 * stage, a stage's flags. An entry lives for the second of `now` it was read in and the next, and
 * any change of a list in this process (lp_refs_forget) drops them all; another server's change is
 * seen within that time, and a row deleted meanwhile is still refused by the foreign keys. Most
 * creates then check their owner, stage and source without a query. */
#define REF_SLOTS 128
typedef struct { const char *kind; int64_t key, at, value, value2; unsigned gen; } ref_slot;
static _Thread_local ref_slot ref_cache[REF_SLOTS];
static unsigned refs_gen = 1;

void lp_refs_forget(void) { __atomic_fetch_add(&refs_gen, 1, __ATOMIC_RELAXED); }

static ref_slot *ref_find(const char *kind, int64_t key, int64_t now) {
  ref_slot *e = &ref_cache[((uint64_t)key * 31 + (uintptr_t)kind / 8) % REF_SLOTS];
  if (e->kind == kind && e->key == key && e->gen == __atomic_load_n(&refs_gen, __ATOMIC_RELAXED) && now - e->at <= 1 && now >= e->at)
    return e;
  return NULL;
}

static void ref_put(const char *kind, int64_t key, int64_t now, int64_t value, int64_t value2) {
  ref_slot *e = &ref_cache[((uint64_t)key * 31 + (uintptr_t)kind / 8) % REF_SLOTS];
  *e = (ref_slot){kind, key, now, value, value2, __atomic_load_n(&refs_gen, __ATOMIC_RELAXED)};
}

static const char REF_STAGE_FIRST[] = "first stage", REF_STAGE_FLAGS[] = "stage flags";

static lp_code check_refs(lp_db *db, json_t *cols, int64_t now, lp_err *err) {
  for (size_t i = 0; i < sizeof lead_refs / sizeof *lead_refs; i++) {
    json_t *v = json_object_get(cols, lead_refs[i].field);
    if (!v || !json_is_integer(v)) continue;
    int64_t id = json_integer_value(v);
    if (ref_find(lead_refs[i].table, id, now)) continue;
    lp_code rc = lp_ref_check(db, lead_refs[i].table, id, lead_refs[i].field, err);
    if (rc == LP_OK && err->code == LP_OK) ref_put(lead_refs[i].table, id, now, 1, 0);
    else if (rc != LP_OK && err->code != LP_EVALIDATION) return err->code;  /* the lookup failed: report that, not a field */
  }
  if (json_is_string(json_object_get(cols, "outcome"))) {
    json_t *args = json_pack("[s]", sget(cols, "outcome"));
    int64_t known = lp_query_int(db, "SELECT 1 FROM outcomes WHERE key = $1", args, 0, err);
    json_decref(args);
    if (err->code != LP_OK && err->code != LP_EVALIDATION) return err->code;
    if (!known) lp_fail_field(err, "outcome", "unknown outcome");
  }
  return err->code == LP_EVALIDATION ? LP_EVALIDATION : LP_OK;
}

/* ---------------------------------------------------------------- create */

typedef struct {
  const lp_actor *a;
  const lp_plan *plan;  /* planned by lead_prepare */
  int64_t now, id;
} create_ctx;

/* Completes and checks a new lead's columns with the caller's read connection and plans the
 * create, so the writer only writes. A reference deleted in between is still caught by the
 * foreign keys. */
static lp_code lead_prepare(lp_db *db, const lp_actor *a, json_t *cols, int64_t now, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_CREATE);
  if (!json_object_get(cols, "owner_id")) json_object_set_new(cols, "owner_id", json_integer(a->id));
  if (!json_object_get(cols, "stage_id")) {
    ref_slot *f = ref_find(REF_STAGE_FIRST, 0, now);
    int64_t first = f ? f->value : lp_query_int(db, "SELECT id FROM stages WHERE active = 1 ORDER BY position, id LIMIT 1", NULL, 0, err);
    if (err->code != LP_OK) return err->code;
    if (!f && first) ref_put(REF_STAGE_FIRST, 0, now, first, 0);
    if (first) json_object_set_new(cols, "stage_id", json_integer(first));
  }
  if (check_refs(db, cols, now, err) != LP_OK) return err->code;
  int64_t sid = iget(cols, "stage_id");
  ref_slot *fl = ref_find(REF_STAGE_FLAGS, sid, now);
  json_t *stage = NULL;
  if (fl) {
    stage = json_pack("{s:I, s:I}", "waiting", (json_int_t)fl->value, "is_sale", (json_int_t)fl->value2);
  } else {
    json_t *args = json_pack("[I]", (json_int_t)sid);
    stage = lp_query_one(db, "SELECT waiting, is_sale FROM stages WHERE id = $1", args, err);
    json_decref(args);
    if (stage) ref_put(REF_STAGE_FLAGS, sid, now, iget(stage, "waiting"), iget(stage, "is_sale"));
    if (err->code != LP_OK) { json_decref(stage); return err->code; }
  }
  lp_plan_in in = {0};
  in.actor = a;
  in.now = now;
  in.stage = stage;
  lp_plan_release(plan);
  lp_code rc = lp_plan_create(&in, cols, plan, err);
  json_decref(stage);
  return rc;
}

static lp_code create_fn(lp_db *db, void *p, lp_err *err) {
  create_ctx *c = p;
  lp_applied out;
  lp_code rc = lp_apply(db, c->a, NULL, c->plan, NULL, c->now, &out, err);
  c->id = out.lead_id;
  return rc;
}

/* Prepares and writes a new lead; returns its complete columns (new reference) with *id set. */
static json_t *create_write(lp_store *s, lp_db *db, const lp_actor *a, json_t *in, int64_t now, int64_t *id, lp_err *err) {
  json_t *cols = json_deep_copy(in);
  lp_plan plan;
  int begun = lp_read_begin(db, NULL) == LP_OK;
  lp_code prc = lead_prepare(db, a, cols, now, &plan, err);
  if (begun) lp_read_end(db);
  create_ctx c = {a, &plan, now, 0};
  if (prc != LP_OK || lp_store_write(s, create_fn, &c, err) != LP_OK) {
    lp_plan_release(&plan);
    json_decref(cols);
    return NULL;
  }
  lp_plan_release(&plan);
  *id = c.id;
  return cols;
}

lp_code lp_lead_create_tx(lp_db *db, const lp_actor *a, json_t *cols, int64_t now, int64_t *id, lp_err *err) {
  return lp_lead_create_tx_via(db, a, cols, now, NULL, id, err);
}

lp_code lp_lead_create_tx_via(lp_db *db, const lp_actor *a, json_t *cols, int64_t now, json_t *via, int64_t *id, lp_err *err) {
  lp_plan plan;
  lp_code rc = lead_prepare(db, a, cols, now, &plan, err);
  for (size_t i = 0; rc == LP_OK && via && i < plan.timeline.n; i++)
    if (!strcmp(plan.timeline.v[i].kind, "created")) json_object_set(plan.timeline.v[i].data, "via", via);
  lp_applied out = {0};
  if (rc == LP_OK) rc = lp_apply(db, a, NULL, &plan, NULL, now, &out, err);
  *id = out.lead_id;
  lp_plan_release(&plan);
  return rc;
}

lp_code lp_lead_check(lp_db *db, const lp_actor *a, json_t *in, int64_t now, lp_err *err) {
  json_t *cols = json_deep_copy(in);
  lp_plan plan;
  lp_code rc = lead_prepare(db, a, cols, now, &plan, err);
  lp_plan_release(&plan);
  json_decref(cols);
  return rc;
}

int lp_lead_create_raw(lp_store *s, const lp_actor *a, json_t *in, int64_t now, lp_buf *out, int64_t *id, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return -1;
  json_t *cols = create_write(s, db, a, in, now, id, err);
  if (!cols) return -1;
  json_decref(cols);
  /* The answer is the row as committed, written straight to text as a GET writes it; the creator
   * sees it even when it went to an owner outside what they may list. */
  lp_actor all = *a;
  all.view = LP_VIEW_ALL;
  return lp_lead_get_raw(db, &all, *id, now, out, NULL, err);
}

json_t *lp_lead_create(lp_store *s, const lp_actor *a, json_t *in, int64_t now, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return NULL;
  int64_t id = 0;
  json_t *cols = create_write(s, db, a, in, now, &id, err);
  if (!cols) return NULL;
  /* The new row is what was inserted: present it without reading it back. */
  json_object_set_new(cols, "id", json_integer(id));
  json_object_set_new(cols, "version", json_integer(1));
  json_object_set_new(cols, "status", json_string(sget(cols, "status") ? sget(cols, "status") : "open"));
  if (!json_object_get(cols, "score")) json_object_set_new(cols, "score", json_integer(0));
  if (!json_object_get(cols, "waiting_seconds")) json_object_set_new(cols, "waiting_seconds", json_integer(0));
  const char *zero[] = {"email_opt_out", "sms_opt_out", "needs_reply"};
  for (int i = 0; i < 3; i++) if (!json_object_get(cols, zero[i])) json_object_set_new(cols, zero[i], json_integer(0));
  const char *lists[] = {"emails", "phones"};
  for (int i = 0; i < 2; i++) if (!json_object_get(cols, lists[i])) json_object_set_new(cols, lists[i], json_string("[]"));
  json_object_set_new(cols, "groups", json_array());
  json_t *o = lp_lead_present(cols, now, lp_sla_settings(db, now));
  json_decref(cols);
  return o;
}

/* ---------------------------------------------------------------- many at once (import) */

typedef struct {
  const lp_actor *a;
  lp_plan *plans;
  int n;
  int64_t now;
  int64_t *ids;
} many_ctx;

static lp_code many_fn(lp_db *db, void *p, lp_err *err) {
  many_ctx *c = p;
  return lp_apply_creates(db, c->a, c->plans, c->n, c->now, c->ids, err);
}

/* One lead the ordinary way (a row the batch cannot take, or the batch failed). */
static int create_one(lp_store *s, const lp_actor *a, json_t *in, int64_t now, lp_err *err, int64_t *id) {
  json_t *o = lp_lead_create(s, a, in, now, err);
  if (!o) return 0;
  *id = iget(o, "id");
  json_decref(o);
  return 1;
}

int lp_lead_create_many(lp_store *s, const lp_actor *a, json_t **in, int n, int64_t now, lp_err *errs, int64_t *ids) {
  lp_db *db = lp_store_reader(s, &errs[0]);
  if (!db) { for (int i = 1; i < n; i++) lp_fail(&errs[i], errs[0].code, "%s", errs[0].message); return 0; }
  lp_plan *plans = calloc((size_t)n, sizeof *plans);
  int *which = calloc((size_t)n, sizeof *which);
  int64_t *made_ids = calloc((size_t)n, sizeof *made_ids);
  int fast = plans && which && made_ids;
  int made = 0, m = 0;
  for (int i = 0; i < n; i++) {
    ids[i] = 0;
    if (!fast) { made += create_one(s, a, in[i], now, &errs[i], &ids[i]); continue; }
    json_t *row = json_deep_copy(in[i]);
    int begun = lp_read_begin(db, NULL) == LP_OK;
    lp_code prc = lead_prepare(db, a, row, now, &plans[m], &errs[i]);
    if (begun) lp_read_end(db);
    json_decref(row);  /* the plan holds it */
    if (prc != LP_OK) { lp_plan_release(&plans[m]); continue; }
    const char *k;
    json_t *v;
    int plain = 1;
    json_object_foreach(plans[m].lead, k, v) if (!lp__copy_col_known(k)) plain = 0;
    if (!plain) {  /* a column COPY does not write: the ordinary way */
      lp_plan_release(&plans[m]);
      made += create_one(s, a, in[i], now, &errs[i], &ids[i]);
      continue;
    }
    which[m++] = i;
  }
  if (fast && m) {
    many_ctx c = {a, plans, m, now, made_ids};
    lp_err e = LP_ERR_INIT;
    if (lp_store_append(s, many_fn, &c, &e) == LP_OK) {
      for (int k = 0; k < m; k++) ids[which[k]] = made_ids[k];
      made += m;
    } else {
      /* one of them did not fit (a reference deleted meanwhile, say): each on its own */
      for (int k = 0; k < m; k++) made += create_one(s, a, in[which[k]], now, &errs[which[k]], &ids[which[k]]);
    }
    lp_err_release(&e);
  }
  if (fast) for (int k = 0; k < m; k++) lp_plan_release(&plans[k]);
  free(plans);
  free(which);
  free(made_ids);
  return made;
}

/* ---------------------------------------------------------------- planner inputs */

static json_t *ids_of(lp_db *db, const char *sql, lp_err *err) {
  json_t *rows = lp_query(db, sql, NULL, err);
  json_t *ids = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_array_append(ids, json_object_get(r, "id"));
  json_decref(rows);
  return ids;
}

/* Loads everything the planner needs about lead `row` for request `req`. */
static void plan_inputs(lp_db *db, lp_plan_in *in, json_t *row, json_t *req, lp_err *err) {
  in->lead = row;
  in->req = req;
  json_t *args = json_pack("[I]", (json_int_t)iget(row, "id"));
  in->tasks = lp_query(db, "SELECT * FROM tasks WHERE lead_id = $1 AND status = 'open' ORDER BY id", args, err);
  in->threads = lp_query(db, "SELECT * FROM threads WHERE lead_id = $1 AND status = 'open' ORDER BY id", args, err);
  json_decref(args);
  args = json_pack("[I]", (json_int_t)iget(row, "stage_id"));
  in->cur_stage = lp_query_one(db, "SELECT * FROM stages WHERE id = $1", args, err);
  json_decref(args);
  in->known_groups = ids_of(db, "SELECT id FROM contact_groups WHERE active = 1", err);
  in->default_group = lp_setting_int(db, "close_lost_default_group_id", 0, err);
  args = json_pack("[I]", (json_int_t)iget(row, "id"));
  in->pending_approval = lp_query_int(db, "SELECT id FROM approvals WHERE lead_id = $1 AND status = 'pending' ORDER BY id LIMIT 1", args, 0, err);
  json_decref(args);
  if (req && json_is_string(json_object_get(req, "outcome"))) {
    args = json_pack("[s]", sget(req, "outcome"));
    in->outcome = lp_query_one(db, "SELECT * FROM outcomes WHERE key = $1", args, err);
    json_decref(args);
  }
  if (req && json_is_integer(json_object_get(req, "reason_id"))) {
    args = json_pack("[I]", (json_int_t)iget(req, "reason_id"));
    in->reason = lp_query_one(db, "SELECT * FROM lost_reasons WHERE id = $1", args, err);
    json_decref(args);
  }
  if (!in->tasks) in->tasks = json_array();
  if (!in->threads) in->threads = json_array();
}

static void plan_inputs_release(lp_plan_in *in) {
  json_decref(in->tasks);
  json_decref(in->threads);
  json_decref(in->cur_stage);
  json_decref(in->known_groups);
  json_decref(in->outcome);
  json_decref(in->reason);
  json_decref(in->stage);
}

/* ---------------------------------------------------------------- update, delete, groups, comments */

typedef struct {
  const lp_actor *a;
  int64_t id, expect, now;
  json_t *cols;
} update_ctx;

/* The lead a write is about: present, visible to the actor, and at the version the caller read
 * (expect < 0: any). NULL with err set otherwise (404, 412). */
static json_t *lead_for_write(lp_db *db, const lp_actor *a, int64_t id, int64_t expect, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return NULL;
  lp_code rc = lp_lead_visible(db, a, row, err);
  if (rc == LP_OK && expect >= 0 && iget(row, "version") != expect)
    rc = lp_fail(err, LP_EVERSION, "The lead has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  if (rc != LP_OK) { json_decref(row); return NULL; }
  return row;
}

/* What the planner is told of a change of lead row by a at now (the rest stays empty). */
static lp_plan_in inputs_for(const lp_actor *a, int64_t now, json_t *row) {
  lp_plan_in in = {0};
  in.actor = a;
  in.now = now;
  in.lead = row;
  return in;
}

/* Applies a plan made for row (which it releases with the plan). */
static lp_code apply_planned(lp_db *db, const lp_actor *a, json_t *row, lp_plan *plan, lp_code rc, int64_t now, lp_err *err) {
  if (rc == LP_OK) {
    lp_applied out;
    rc = lp_apply(db, a, row, plan, NULL, now, &out, err);
  }
  lp_plan_release(plan);
  json_decref(row);
  return rc;
}

static lp_code update_fn(lp_db *db, void *p, lp_err *err) {
  update_ctx *c = p;
  json_t *row = lead_for_write(db, c->a, c->id, c->expect, err);
  if (!row) return err->code;
  lp_code rc = check_refs(db, c->cols, c->now, err);
  if (rc != LP_OK) { json_decref(row); return rc; }
  lp_plan_in in = inputs_for(c->a, c->now, row);
  json_t *stage = json_object_get(c->cols, "stage_id");
  if (stage && json_integer_value(stage) != iget(row, "stage_id")) {  /* a stage move: the planner needs both stages */
    json_t *args = json_pack("[I]", (json_int_t)json_integer_value(stage));
    in.stage = lp_query_one(db, "SELECT * FROM stages WHERE id = $1", args, err);
    json_decref(args);
    args = json_pack("[I]", (json_int_t)iget(row, "stage_id"));
    in.cur_stage = lp_query_one(db, "SELECT * FROM stages WHERE id = $1", args, err);
    json_decref(args);
  }
  if (err->code != LP_OK) { json_decref(in.stage); json_decref(in.cur_stage); json_decref(row); return err->code; }
  lp_plan plan;
  rc = lp_plan_update(&in, c->cols, &plan, err);
  json_decref(in.stage);
  json_decref(in.cur_stage);
  return apply_planned(db, c->a, row, &plan, rc, c->now, err);
}

json_t *lp_lead_update(lp_store *s, const lp_actor *a, int64_t id, json_t *cols, int64_t expect, int64_t now, lp_err *err) {
  update_ctx c = {a, id, expect, now, cols};
  if (lp_store_write(s, update_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_lead_get(db, a, id, now, err) : NULL;
}

lp_code lp_lead_update_tx(lp_db *db, const lp_actor *a, int64_t id, json_t *cols, int64_t now, lp_err *err) {
  update_ctx c = {a, id, -1, now, cols};
  return update_fn(db, &c, err);
}

static lp_code delete_fn(lp_db *db, void *p, lp_err *err) {
  update_ctx *c = p;
  json_t *row = lead_for_write(db, c->a, c->id, -1, err);
  if (!row) return err->code;
  lp_plan_in in = inputs_for(c->a, c->now, row);
  lp_plan plan;
  lp_code rc = lp_plan_delete(&in, &plan, err);
  if (rc == LP_OK && c->expect >= 0 && iget(row, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The lead has changed (now version %lld)", (long long)iget(row, "version"));
  return apply_planned(db, c->a, row, &plan, rc, c->now, err);
}

lp_code lp_lead_delete(lp_store *s, const lp_actor *a, int64_t id, int64_t expect, int64_t now, lp_err *err) {
  update_ctx c = {a, id, expect, now, NULL};
  return lp_store_write(s, delete_fn, &c, err);
}

typedef struct { const lp_actor *a; int64_t id, group, now; } group_ctx;

static lp_code add_group_fn(lp_db *db, void *p, lp_err *err) {
  group_ctx *c = p;
  json_t *row = lead_for_write(db, c->a, c->id, -1, err);
  if (!row) return err->code;
  lp_code rc = lp_ref_check(db, "contact_groups", c->group, "group_id", err);
  if (rc != LP_OK) { json_decref(row); return rc; }
  lp_plan_in in = inputs_for(c->a, c->now, row);
  lp_plan plan;
  rc = lp_plan_group(&in, c->group, &plan, err);
  return apply_planned(db, c->a, row, &plan, rc, c->now, err);
}

lp_code lp_lead_add_group(lp_store *s, const lp_actor *a, int64_t id, int64_t group_id, int64_t now, lp_err *err) {
  group_ctx c = {a, id, group_id, now};
  return lp_store_write(s, add_group_fn, &c, err);
}

typedef struct { const lp_actor *a; int64_t lead_id, now, id; json_t *data; } comment_ctx;

static lp_code comment_fn(lp_db *db, void *p, lp_err *err) {
  comment_ctx *c = p;
  c->id = 0;
  json_t *row = lead_for_write(db, c->a, c->lead_id, -1, err);
  if (!row) return err->code;
  lp_plan_in in = inputs_for(c->a, c->now, row);
  lp_plan plan;
  lp_code rc = lp_plan_comment(&in, json_deep_copy(c->data), &plan, err);
  rc = apply_planned(db, c->a, row, &plan, rc, c->now, err);
  if (rc == LP_OK) c->id = lp_query_int(db, "SELECT max(id) FROM events", NULL, 0, err);
  return rc;
}

lp_code lp_lead_comment(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *data, int64_t now, int64_t *event_id, lp_err *err) {
  comment_ctx c = {a, lead_id, now, 0, data};
  lp_code rc = lp_store_write(s, comment_fn, &c, err);
  *event_id = c.id;
  return rc;
}

/* ---------------------------------------------------------------- close and reopen */

typedef struct {
  const lp_actor *a;
  int64_t id, expect, now;
  lp_move move;
  json_t *req;
  int dry_run;
  int64_t approval_id;          /* carrying out this approved request */
  const lp_actor *decider;      /* who approved it */
  /* answered */
  lp_move_result res;
  json_t *result;
} move_ctx;

/* The plan's task ids as the preview names them: [{id, title, type, due_at}] (ids of the lead's
 * own open tasks, read in the plan's transaction). */
static json_t *tasks_named(lp_db *db, const lp_ids *ids) {
  json_t *out = json_array();
  for (size_t i = 0; i < ids->n; i++) {
    lp_err e = LP_ERR_INIT;
    json_t *pa = json_pack("[I]", (json_int_t)ids->v[i]);
    json_t *t = lp_query_one(db, "SELECT id, title, type, due_at FROM tasks WHERE id = $1", pa, &e);
    json_decref(pa);
    if (!t) t = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)ids->v[i], "title", "", "type", "");
    json_object_set_new(t, "due_at", lp_json_time(json_object_get(t, "due_at")));
    json_array_append_new(out, t);
    lp_err_release(&e);
  }
  return out;
}

/* Groups by name: [{id, name}]. */
static json_t *groups_named(lp_db *db, const lp_ids *ids) {
  json_t *out = json_array();
  for (size_t i = 0; i < ids->n; i++) {
    lp_err e = LP_ERR_INIT;
    json_t *pa = json_pack("[I]", (json_int_t)ids->v[i]);
    json_t *g = lp_query_one(db, "SELECT id, name FROM contact_groups WHERE id = $1", pa, &e);
    json_decref(pa);
    json_array_append_new(out, g ? g : json_pack("{s:I, s:s}", "id", (json_int_t)ids->v[i], "name", ""));
    lp_err_release(&e);
  }
  return out;
}

json_t *lp_lead_preview(lp_db *db, json_t *row, const lp_plan *plan, int64_t now) {
  json_t *pv = lp_plan_json(plan);
  json_object_del(pv, "timeline");
  /* Any client can say what will happen: tasks by title, groups by name (the plan holds ids). */
  json_object_set_new(pv, "tasks_completed", tasks_named(db, &plan->tasks_completed));
  json_object_set_new(pv, "tasks_cancelled", tasks_named(db, &plan->tasks_cancelled));
  json_object_set_new(pv, "groups", groups_named(db, &plan->groups));
  json_t *lead = lp_lead_present(row, now, lp_sla_settings(db, now));
  const char *k;
  json_t *v;
  json_object_foreach(plan->lead, k, v) {
    const lp_field *f = lp_rec_field(&lp_rt_lead, k);
    if (f && !(f->flags & FF_HIDDEN)) json_object_set_new(lead, k, lp_rec_value_out(f, v));
  }
  json_object_set_new(pv, "lead", lead);
  json_t *fu = json_object_get(pv, "follow_up");
  if (json_is_object(fu)) json_object_set_new(fu, "due_at", lp_rec_value_out(lp_rec_field(&lp_rt_task, "due_at"), json_object_get(fu, "due_at")));
  return json_pack("{s:b, s:o}", "dry_run", 1, "plan", pv);
}

static lp_code move_fn(lp_db *db, void *p, lp_err *err) {
  move_ctx *c = p;
  json_decref(c->result);  /* a run again starts afresh */
  c->result = NULL;
  c->res = LP_MOVED;
  json_t *row = lead_for_write(db, c->a, c->id, c->expect, err);
  if (!row) return err->code;
  lp_plan_in in = {0};
  in.actor = c->a;
  in.now = c->now;
  plan_inputs(db, &in, row, c->req, err);
  lp_plan plan;
  lp_code rc = c->move == LP_MOVE_CLOSE ? lp_plan_close(&in, &plan, err) : lp_plan_reopen(&in, &plan, err);
  plan_inputs_release(&in);
  if (c->dry_run && plan.made) {
    /* The preview answers even when fields are missing: it says which. */
    c->result = lp_lead_preview(db, row, &plan, c->now);
    c->res = LP_MOVE_PREVIEW;
    lp_err_release(err);
    rc = LP_OK;
  } else if (rc == LP_OK) {
    /* An approved request: the approval is decided in the same transaction as the move. */
    lp_applied out = {0};
    json_t *ap;
    rc = lp_apply_approved(db, c->a, row, &plan, c->req, c->approval_id, c->decider, c->now, &out, &ap, err);
    if (ap) c->result = json_pack("{s:o}", "approval", ap);
    if (out.approval_id) c->res = LP_MOVE_APPROVAL_PENDING;
  }
  lp_plan_release(&plan);
  json_decref(row);
  return rc;
}

json_t *lp_lead_move_approved(lp_store *s, const lp_actor *requester, const lp_actor *decider, int64_t approval_id,
                              int64_t lead_id, lp_move move, json_t *params, int64_t now, lp_err *err) {
  /* The request is carried out as it was asked, as the requester, now allowed. */
  lp_actor a = *requester;
  for (int i = 0; i < LP_ACT_COUNT; i++) if (a.perm[i] == LP_REQUEST) a.perm[i] = LP_ALLOW;
  move_ctx c = {&a, lead_id, -1, now, move, params, 0, approval_id, decider, LP_MOVED, NULL};
  lp_code rc = lp_store_write(s, move_fn, &c, err);
  json_decref(c.result);
  if (rc != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_lead_get(db, decider, lead_id, now, err) : NULL;
}

json_t *lp_lead_move(lp_store *s, const lp_actor *a, int64_t id, lp_move move, json_t *req, int dry_run,
                     int64_t expect, int64_t now, lp_move_result *res, lp_err *err) {
  move_ctx c = {a, id, expect, now, move, req, dry_run, 0, NULL, LP_MOVED, NULL};
  lp_code rc;
  if (dry_run) {
    lp_db *db = lp_store_reader(s, err);
    if (!db) return NULL;
    rc = move_fn(db, &c, err);
  } else {
    rc = lp_store_write(s, move_fn, &c, err);
  }
  if (rc != LP_OK) { json_decref(c.result); return NULL; }
  *res = c.res;
  if (c.result) return c.result;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_lead_get(db, a, id, now, err) : NULL;
}

json_t *lp_lead_transitions(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return NULL;
  if (lp_lead_visible(db, a, row, err) != LP_OK) { json_decref(row); return NULL; }
  lp_plan_in in = {0};
  in.actor = a;
  in.now = now;
  in.lead = row;
  json_t *stages = lp_query(db, "SELECT * FROM stages ORDER BY position, id", NULL, err);
  json_t *outcomes = lp_query(db, "SELECT * FROM outcomes ORDER BY id", NULL, err);
  json_t *items = lp_plan_transitions(&in, stages ? stages : json_array(), outcomes ? outcomes : json_array());
  json_decref(stages);
  json_decref(outcomes);
  json_decref(row);
  return json_pack("{s:o, s:n}", "items", items, "next_cursor");
}
