/* leads.c — leads in the store (see leads.h).
 *
 * Writes run on the writer thread (lp_store_write) and do their own reads there, so what the
 * planner sees is exactly what the transaction changes: no lost updates between read and write.
 * Every change writes its timeline event in the same transaction.
 */
#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/plan.h"
#include "core/record.h"
#include "store/leadjson.h"
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

json_t *lp_lead_present(json_t *row, int64_t now, lp_sla_cfg sla) {
  json_t *o = lp_rec_present(&lp_rt_lead, row);
  json_t *g = json_object_get(row, "groups");
  json_object_set(o, "groups", json_is_array(g) ? g : json_array());
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

/* ---------------------------------------------------------------- group memberships */

/* leads.group_ids keeps the lead's contact groups as a JSON array, written with every change of
 * lead_groups, so a page of leads reads its groups with the row instead of one subquery a lead.
 * A lead row never changes without a new version (lp_update), which If-Match and the rendered
 * leads kept for lists (leadjson.c) rely on: bump 1 raises it here and sets updated_at; bump 0
 * is for a transaction that updates the row through lp_update as well (closing). */
static lp_code groups_refresh(lp_db *db, int64_t id, int64_t now, int bump, lp_err *err) {
  json_t *args = json_pack("[I, I, I]", (json_int_t)id, (json_int_t)now, (json_int_t)bump);
  lp_code rc = lp_exec(db, lp_db_engine(db) == LP_ENGINE_PG
    ? "UPDATE leads SET group_ids = COALESCE((SELECT json_agg(group_id ORDER BY group_id)::text FROM lead_groups g"
      " WHERE g.lead_id = $1), '[]'), version = version + $3,"
      " updated_at = CASE WHEN $3 = 1 THEN GREATEST(updated_at, $2) ELSE updated_at END WHERE id = $1"
    : "UPDATE leads SET group_ids = (SELECT json_group_array(group_id) FROM (SELECT group_id FROM lead_groups g"
      " WHERE g.lead_id = $1 ORDER BY group_id)), version = version + $3,"
      " updated_at = CASE WHEN $3 = 1 THEN max(updated_at, $2) ELSE updated_at END WHERE id = $1", args, err);
  json_decref(args);
  return rc;
}

/* ---------------------------------------------------------------- search index and contacts */

/* Calls fn(kind "email" or "phone", address, ctx) for each address of a lead row (its emails,
 * then its phones, stored as JSON text); stops at the first code that is not LP_OK. */
typedef lp_code (*address_fn)(const char *kind, const char *value, void *ctx);

static lp_code each_address(json_t *row, address_fn fn, void *ctx) {
  static const char *lists[] = {"emails", "phones"}, *kinds[] = {"email", "phone"};
  lp_code rc = LP_OK;
  for (int l = 0; l < 2 && rc == LP_OK; l++) {
    json_t *arr = json_loads(sget(row, lists[l]) ? sget(row, lists[l]) : "[]", 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
      if (json_is_string(v) && (rc = fn(kinds[l], json_string_value(v), ctx)) != LP_OK) break;
    }
    json_decref(arr);
  }
  return rc;
}

/* An address in the search text; a phone also without its "+", so digits alone find it. */
static lp_code fts_address(const char *kind, const char *s, void *ctx) {
  lp_buf_printf(ctx, "%s\n", s);
  if (kind[0] == 'p' && s[0] == '+') lp_buf_printf(ctx, "%s\n", s + 1);
  return LP_OK;
}

/* The text the full-text index holds for a lead row. */
static void fts_body(json_t *row, lp_buf *b) {
  const char *keys[] = {"full_name", "company", "login", "request", "notes", "close_notes", "city", "service"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (sget(row, keys[i])) lp_buf_printf(b, "%s\n", sget(row, keys[i]));
  each_address(row, fts_address, b);
}

/* Full-text entries. On PostgreSQL the entry is written with the lead (its tsvector is computed
 * by the database). On SQLite, FTS5 writes a new index segment per transaction and merges them,
 * ~30 µs a lead when written one group commit at a time: a quarter of the single writer's time
 * per create. There the index lives in its own file (sqlite.c: the search file) with its own
 * write lock, and a lead's write only appends its id to fts_log (durable, in the lead's own
 * transaction); the indexer writes the entries in batches of LP_INDEX_CHUNK beside the writer,
 * from a background thread and before any search (lp_lead_index_sync), so a search always sees
 * every acknowledged write. */
/* Replaces lead id's full-text entry by one for row (none when row is NULL: gone or deleted). */
static lp_code fts_write(lp_db *db, int64_t id, json_t *row, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  lp_code rc = lp_exec(db, "DELETE FROM leads_fts WHERE rowid = $1", args, err);
  json_decref(args);
  if (rc != LP_OK || !row) return rc;
  lp_buf b = LP_BUF_INIT(1 << 20);
  fts_body(row, &b);
  args = json_pack("[I, s]", (json_int_t)id, lp_buf_str(&b));
  rc = lp_exec(db, "INSERT INTO leads_fts(rowid, body) VALUES ($1, $2)", args, err);
  json_decref(args);
  lp_buf_release(&b);
  return rc;
}

static lp_code fts_queue(lp_db *db, int64_t id, json_t *row, lp_err *err) {
  if (lp_db_engine(db) != LP_ENGINE_SQLITE) return fts_write(db, id, row, err);
  lp_stmt *st = lp_db_prep_static(db, "INSERT INTO fts_log(lead_id) VALUES ($1)", err);
  if (!st) return err->code;
  lp_bind_int(st, 1, id);
  int rc = lp_step(st, err);
  lp_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

/* ---- the SQLite indexer: runs on the store's indexer connection (the database with the search
 * file attached as `search`), in transactions that write only the search file. Its state, in
 * search.fts_state: `done`, the last fts_log seq whose lead's entry is written, and `rebuild`, the
 * lowest lead id a rebuild has still to index (0: none runs). */

/* Where the index stands (done: -1 when the search file is new) and the log's first and last seq
 * (0 when empty). */
typedef struct { int64_t done, rebuild, lo, hi; } idx_state;

/* -1 with err set on error (err is clear on entry). */
static int idx_read_state(lp_db *db, idx_state *x, lp_err *err) {
  x->done = lp_query_int(db, "SELECT value FROM search.fts_state WHERE key = 'done'", NULL, -1, err);
  x->rebuild = lp_query_int(db, "SELECT value FROM search.fts_state WHERE key = 'rebuild'", NULL, 0, err);
  x->lo = lp_query_int(db, "SELECT min(seq) FROM main.fts_log", NULL, 0, err);
  x->hi = lp_query_int(db, "SELECT max(seq) FROM main.fts_log", NULL, 0, err);
  return err->code == LP_OK ? 0 : -1;
}

/* A new search file, or one that does not match the database (restored from another time:
 * entries it has not seen were pruned from the log, or it has seen entries the log never had). */
static int idx_stale(const idx_state *x) {
  return x->done < 0 || (x->rebuild == 0 && (x->lo > x->done + 1 || x->hi < x->done));
}

static lp_code idx_set(lp_db *db, const char *key, int64_t v, lp_err *err) {
  lp_stmt *st = lp_db_prep_static(db, "INSERT INTO search.fts_state(key, value) VALUES ($1, $2)"
                                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value", err);
  if (!st) return err->code;
  lp_bind_text(st, 1, key);
  lp_bind_int(st, 2, v);
  int rc = lp_step(st, err);
  lp_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

/* Writes lead id's entry from its row now (none when it is gone or deleted); replace: remove an
 * entry it may have first. */
static lp_code idx_entry(lp_db *db, int64_t id, int replace, lp_err *err) {
  lp_code rc = LP_OK;
  if (replace) {
    lp_stmt *st = lp_db_prep_static(db, "DELETE FROM search.leads_fts WHERE rowid = $1", err);
    if (!st) return err->code;
    lp_bind_int(st, 1, id);
    if (lp_step(st, err) < 0) rc = err->code;
    lp_stmt_done(st);
    if (rc != LP_OK) return rc;
  }
  json_t *a = json_pack("[I]", (json_int_t)id);
  lp_err e2 = LP_ERR_INIT;
  json_t *row = lp_query_one(db, "SELECT full_name, company, login, request, notes, close_notes, city, service, emails, phones"
                                 " FROM main.leads WHERE id = $1 AND deleted_at IS NULL", a, &e2);
  json_decref(a);
  if (e2.code != LP_OK) rc = lp_fail(err, e2.code, "%s", e2.message);
  lp_err_release(&e2);
  if (rc == LP_OK && row) {
    lp_buf b = LP_BUF_INIT(1 << 20);
    fts_body(row, &b);
    lp_stmt *st = lp_db_prep_static(db, "INSERT INTO search.leads_fts(rowid, body) VALUES ($1, $2)", err);
    if (!st) rc = err->code;
    else {
      lp_bind_int(st, 1, id);
      lp_bind_text(st, 2, lp_buf_str(&b));
      if (lp_step(st, err) < 0) rc = err->code;
      lp_stmt_done(st);
    }
    lp_buf_release(&b);
  }
  json_decref(row);
  return rc;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* One batch in one transaction of the search file: up to LP_INDEX_CHUNK leads of a rebuild, or
 * the next LP_INDEX_CHUNK entries of fts_log (a lead named twice is indexed once, from its row).
 * Returns how many it took (LP_INDEX_CHUNK: more are waiting) and leaves in *out the state the
 * batch started from, with `done` where it ended; -1 on error. */
static int idx_pass(lp_db *db, idx_state *out, lp_err *err) {
  /* Nothing to do (the usual case for an idle server): answer from reads alone, without a
   * transaction that writes (and fsyncs) the search file. */
  idx_state x;
  if (idx_read_state(db, &x, err)) return -1;
  if (!idx_stale(&x) && x.rebuild == 0 && x.hi == x.done) { *out = x; return 0; }
  if (lp_db_exec(db, "BEGIN", err) != LP_OK) return -1;
  int64_t ids[LP_INDEX_CHUNK], sorted[LP_INDEX_CHUNK];
  int n = 0, r = 0;
  lp_stmt *st;
  /* The search file's write lock first: a transaction that read it and then writes would fail
   * at once if another process wrote it in between, instead of waiting its turn. Then the state
   * again, as of this transaction. */
  if (idx_set(db, "lock", 0, err) != LP_OK || idx_read_state(db, &x, err)) goto fail;
  int64_t done = x.done, rebuild = x.rebuild;
  if (idx_stale(&x)) {  /* index every lead again, then the log from where it stands now */
    done = x.hi;
    rebuild = 1;
    if (lp_db_exec(db, "DELETE FROM search.leads_fts", err) != LP_OK || idx_set(db, "done", done, err) != LP_OK)
      goto fail;
  }
  if (rebuild > 0) {
    if (!(st = lp_db_prep_static(db, "SELECT id FROM main.leads WHERE id >= $1 AND deleted_at IS NULL ORDER BY id LIMIT 512", err)))
      goto fail;
    lp_bind_int(st, 1, rebuild);
    while (n < LP_INDEX_CHUNK && (r = lp_step(st, err)) == 1) ids[n++] = lp_col_int(st, 0);
    lp_stmt_done(st);
    if (r < 0) goto fail;
    for (int i = 0; i < n; i++)
      if (idx_entry(db, ids[i], 0, err) != LP_OK) goto fail;
    if (idx_set(db, "rebuild", n < LP_INDEX_CHUNK ? 0 : ids[n - 1] + 1, err) != LP_OK) goto fail;
  } else {
    if (!(st = lp_db_prep_static(db, "SELECT seq, lead_id FROM main.fts_log WHERE seq > $1 ORDER BY seq LIMIT 512", err)))
      goto fail;
    lp_bind_int(st, 1, done);
    while (n < LP_INDEX_CHUNK && (r = lp_step(st, err)) == 1) {
      done = lp_col_int(st, 0);
      ids[n++] = lp_col_int(st, 1);
    }
    lp_stmt_done(st);
    if (r < 0) goto fail;
    memcpy(sorted, ids, sizeof *ids * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
    for (int i = 0; i < n; i++)
      if ((i == 0 || sorted[i] != sorted[i - 1]) && idx_entry(db, sorted[i], 1, err) != LP_OK) goto fail;
    if (n && idx_set(db, "done", done, err) != LP_OK) goto fail;
  }
  if (lp_db_exec(db, "COMMIT", err) != LP_OK) goto fail;
  *out = x;
  out->done = done;
  return n;
fail:
  lp_db_exec(db, "ROLLBACK", NULL);
  return -1;
}

_Static_assert(LP_INDEX_CHUNK == 512, "the LIMITs of idx_pass");

typedef struct { int64_t done; } prune_ctx;

/* Drops the log rows the index has written (the search file's commit is durable), keeping the
 * last row so that a new one never takes a number the indexer has passed. */
static lp_code prune_fn(lp_db *db, void *p, lp_err *err) {
  prune_ctx *c = p;
  json_t *a = json_pack("[I]", (json_int_t)c->done);
  lp_code rc = lp_exec(db, "DELETE FROM fts_log WHERE seq <= $1 AND seq < (SELECT max(seq) FROM fts_log)", a, err);
  json_decref(a);
  return rc;
}

#define PRUNE_AFTER 8192  /* log rows written before they are dropped */

int lp_lead_index_step(lp_store *s, lp_err *err) {
  lp_db *db = lp_store_indexer(s);
  if (!db) return 0;
  idx_state x;
  int n = idx_pass(db, &x, err);
  lp_store_indexer_done(s);
  if (n >= 0 && x.lo > 0 && x.done - x.lo >= PRUNE_AFTER) {  /* only this prune moves lo */
    prune_ctx c = {x.done};
    if (lp_store_write(s, prune_fn, &c, err) != LP_OK) return -1;
  }
  return n;
}

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

lp_code lp_lead_index_sync(lp_store *s, int wait_ms, lp_err *err) {
  lp_db *db = lp_store_indexer(s);
  if (!db) return LP_OK;
  double until = mono_ms() + wait_ms;
  idx_state x;
  int n;
  while ((n = idx_pass(db, &x, err)) == LP_INDEX_CHUNK && (wait_ms <= 0 || mono_ms() < until)) {}
  lp_store_indexer_done(s);
  if (n < 0) return err->code;
  if (n == LP_INDEX_CHUNK)
    return lp_fail(err, LP_EUNAVAILABLE, "the search index is still being built; try again in a minute");
  return LP_OK;
}

typedef struct { lp_db *db; int64_t id; lp_err *err; } contact_ctx;

static lp_code contact_insert(const char *kind, const char *value, void *p) {
  contact_ctx *c = p;
  lp_stmt *st = lp_db_prep_static(c->db, "INSERT INTO lead_contacts(lead_id, kind, value) VALUES ($1, $2, $3)", c->err);
  if (!st) return c->err->code;
  lp_bind_int(st, 1, c->id);
  lp_bind_text(st, 2, kind);
  lp_bind_text(st, 3, value);
  int rc = lp_step(st, c->err);
  lp_stmt_done(st);
  return rc < 0 ? c->err->code : LP_OK;
}

/* Writes the contact rows of lead `id` from `row` (its column values; PostgreSQL only: on SQLite
 * the full-text index alone finds leads by address) and queues its full-text entry. fresh: the
 * lead is new, there is nothing to delete first. */
static lp_code index_row(lp_db *db, int64_t id, json_t *row, int fresh, lp_err *err) {
  if (lp_db_engine(db) == LP_ENGINE_SQLITE) return fts_queue(db, id, row, err);
  lp_code rc = LP_OK;
  if (!fresh) {
    json_t *args = json_pack("[I]", (json_int_t)id);
    rc = lp_exec(db, "DELETE FROM lead_contacts WHERE lead_id = $1", args, err);
    json_decref(args);
  }
  contact_ctx c = {db, id, err};
  if (rc == LP_OK) rc = each_address(row, contact_insert, &c);
  if (rc == LP_OK) rc = fts_queue(db, id, row, err);
  return rc;
}

static lp_code index_lead(lp_db *db, int64_t id, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return err->code;
  lp_code rc = index_row(db, id, row, 0, err);
  json_decref(row);
  return rc;
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
  json_t *cols;   /* the complete row to insert, prepared by lead_prepare */
  int64_t now, id;
} create_ctx;

/* Completes and checks a new lead's columns with the caller's read connection, so the writer
 * only writes. A reference deleted in between is still caught by the foreign keys. */
static lp_code lead_prepare(lp_db *db, const lp_actor *a, json_t *cols, int64_t now, lp_err *err) {
  if (!json_object_get(cols, "owner_id")) json_object_set_new(cols, "owner_id", json_integer(a->id));
  if (!json_object_get(cols, "stage_id")) {
    ref_slot *f = ref_find(REF_STAGE_FIRST, 0, now);
    int64_t first = f ? f->value : lp_query_int(db, "SELECT id FROM stages WHERE active = 1 ORDER BY position, id LIMIT 1", NULL, 0, err);
    if (err->code != LP_OK) return err->code;
    if (!f && first) ref_put(REF_STAGE_FIRST, 0, now, first, 0);
    if (first) json_object_set_new(cols, "stage_id", json_integer(first));
  }
  if (check_refs(db, cols, now, err) != LP_OK) return err->code;
  if (!json_object_get(cols, "created_at")) json_object_set_new(cols, "created_at", json_integer(now));
  int64_t created = iget(cols, "created_at");
  if (created > now + 86400) return lp_fail_field(err, "created_at", "must not be in the future");
  int closed = sget(cols, "status") && !strcmp(sget(cols, "status"), "closed");
  /* History migrated in: a closed lead needs an outcome and a close time. */
  if (closed) {
    if (!sget(cols, "outcome")) return lp_fail_field(err, "outcome", "required when status is closed");
    if (!json_object_get(cols, "closed_at") || json_is_null(json_object_get(cols, "closed_at")))
      json_object_set_new(cols, "closed_at", json_integer(created));
    json_object_set_new(cols, "closed_by", json_integer(a->id));
  } else {
    json_object_del(cols, "outcome");
    json_object_del(cols, "lost_reason_id");
    json_object_del(cols, "closed_at");
    json_object_del(cols, "close_notes");
  }
  json_object_set_new(cols, "updated_at", json_integer(now > created ? now : created));
  json_object_set_new(cols, "created_by", json_integer(a->id));
  json_object_set_new(cols, "stage_entered_at", json_integer(created));
  int64_t sid = iget(cols, "stage_id");
  ref_slot *fl = ref_find(REF_STAGE_FLAGS, sid, now);
  int waiting = 0, sale = 0;
  if (fl) {
    waiting = (int)fl->value;
    sale = (int)fl->value2;
  } else {
    json_t *args = json_pack("[I]", (json_int_t)sid);
    json_t *stage = lp_query_one(db, "SELECT waiting, is_sale FROM stages WHERE id = $1", args, err);
    json_decref(args);
    if (stage) {
      waiting = (int)iget(stage, "waiting");
      sale = (int)iget(stage, "is_sale");
      ref_put(REF_STAGE_FLAGS, sid, now, waiting, sale);
    }
    json_decref(stage);
  }
  if (waiting && !closed) json_object_set_new(cols, "waiting_since", json_integer(created));
  if (sale && !json_object_get(cols, "sold_at")) json_object_set_new(cols, "sold_at", json_integer(created));
  return err->code;
}

static lp_code create_fn(lp_db *db, void *p, lp_err *err) {
  create_ctx *c = p;
  lp_code rc = lp_insert(db, "leads", c->cols, &c->id, err);
  if (rc == LP_ECONFLICT) {
    lp_err_release(err);
    return lp_fail(err, LP_EVALIDATION, "A referenced stage, source, owner or list entry no longer exists");
  }
  if (rc == LP_OK) rc = index_row(db, c->id, c->cols, 1, err);
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:O, s:O}", "full_name", json_object_get(c->cols, "full_name"), "source_id",
                             json_object_get(c->cols, "source_id") ? json_object_get(c->cols, "source_id") : json_null());
    rc = lp_event(db, c->now, c->id, c->a->id, "created", "lead", c->id, data, err);
    json_decref(data);
  }
  return rc;
}

/* Prepares and writes a new lead; returns its complete columns (new reference) with c->id set. */
static json_t *create_write(lp_store *s, lp_db *db, const lp_actor *a, json_t *in, int64_t now, int64_t *id, lp_err *err) {
  json_t *cols = json_deep_copy(in);
  int begun = lp_read_begin(db, NULL) == LP_OK;
  lp_code prc = lead_prepare(db, a, cols, now, err);
  if (begun) lp_read_end(db);
  if (prc != LP_OK) { json_decref(cols); return NULL; }
  create_ctx c = {a, cols, now, 0};
  if (lp_store_write(s, create_fn, &c, err) != LP_OK) { json_decref(cols); return NULL; }
  *id = c.id;
  return cols;
}

lp_code lp_lead_check(lp_db *db, const lp_actor *a, json_t *in, int64_t now, lp_err *err) {
  json_t *cols = json_deep_copy(in);
  lp_code rc = lead_prepare(db, a, cols, now, err);
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
  create_ctx c = {a, NULL, now, 0};
  json_t *cols = create_write(s, db, a, in, now, &c.id, err);
  if (!cols) return NULL;
  /* The new row is what was inserted: present it without reading it back. */
  json_object_set_new(cols, "id", json_integer(c.id));
  json_object_set_new(cols, "version", json_integer(1));
  json_object_set_new(cols, "status", json_string(sget(cols, "status") ? sget(cols, "status") : "open"));
  if (!json_object_get(cols, "score")) json_object_set_new(cols, "score", json_integer(0));
  if (!json_object_get(cols, "waiting_seconds")) json_object_set_new(cols, "waiting_seconds", json_integer(0));
  const char *zero[] = {"email_opt_out", "sms_opt_out"};
  for (int i = 0; i < 2; i++) if (!json_object_get(cols, zero[i])) json_object_set_new(cols, zero[i], json_integer(0));
  const char *lists[] = {"emails", "phones"};
  for (int i = 0; i < 2; i++) if (!json_object_get(cols, lists[i])) json_object_set_new(cols, lists[i], json_string("[]"));
  json_object_set_new(cols, "groups", json_array());
  json_t *o = lp_lead_present(cols, now, lp_sla_settings(db, now));
  json_decref(cols);
  return o;
}

/* ---------------------------------------------------------------- many at once (import) */

/* The columns COPY writes, and the value a missing one takes (NULL: SQL NULL). */
static const struct { const char *name, *dflt; } copy_cols[] = {
  {"id", NULL}, {"version", "1"}, {"full_name", NULL}, {"company", NULL}, {"login", NULL}, {"emails", "[]"},
  {"phones", "[]"}, {"partner_id", NULL}, {"location_id", NULL}, {"owner_id", NULL}, {"stage_id", NULL},
  {"source_id", NULL}, {"country", NULL}, {"region", NULL}, {"city", NULL}, {"service", NULL}, {"request", NULL},
  {"notes", NULL}, {"value_cents", NULL}, {"currency", NULL}, {"score", "0"}, {"last_contacted_at", NULL},
  {"email_opt_out", "0"}, {"sms_opt_out", "0"}, {"status", "open"}, {"outcome", NULL}, {"lost_reason_id", NULL},
  {"close_notes", NULL}, {"closed_at", NULL}, {"closed_by", NULL}, {"sold_at", NULL}, {"review_requested_at", NULL},
  {"created_at", NULL}, {"updated_at", NULL}, {"created_by", NULL}, {"stage_entered_at", NULL},
  {"waiting_since", NULL}, {"waiting_seconds", "0"}};
#define NCOPY (sizeof copy_cols / sizeof *copy_cols)

static int copy_col_known(const char *k) {
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

typedef struct { lp_buf *out; int64_t id; } copy_contacts_ctx;

/* One lead_contacts row in COPY's text format. */
static lp_code copy_contact(const char *kind, const char *value, void *p) {
  copy_contacts_ctx *c = p;
  lp_buf_printf(c->out, "%lld\t%s\t", (long long)c->id, kind);
  lp_copy_text(c->out, value);
  lp_buf_add(c->out, "\n", 1);
  return LP_OK;
}

typedef struct {
  const lp_actor *a;
  json_t **cols;      /* prepared rows (NULL: skipped) */
  int n;
  int64_t now;
  int64_t *ids;
} many_ctx;

/* n ids from a table's identity sequence, into out. */
static lp_code reserve_ids(lp_db *db, const char *table, int n, int64_t *out, lp_err *err) {
  char q[160];
  snprintf(q, sizeof q, "SELECT nextval(pg_get_serial_sequence('%s', 'id')) FROM generate_series(1, $1)", table);
  lp_stmt *st = lp_db_prep(db, q, err);
  if (!st) return err->code;
  lp_bind_int(st, 1, n);
  int i = 0, rc;
  while ((rc = lp_step(st, err)) == 1 && i < n) out[i++] = lp_col_int(st, 0);
  lp_stmt_done(st);
  if (rc < 0) return err->code;
  return i == n ? LP_OK : lp_fail(err, LP_EINTERNAL, "could not reserve %d ids", n);
}

/* SQLite: the rows one after the other, as lp_lead_create writes one, in one transaction. */
static lp_code many_rows_fn(lp_db *db, many_ctx *c, lp_err *err) {
  for (int i = 0; i < c->n; i++) {
    if (!c->cols[i]) continue;
    create_ctx one = {c->a, c->cols[i], c->now, 0};
    lp_code rc = create_fn(db, &one, err);
    if (rc != LP_OK) return rc;
    c->ids[i] = one.id;
  }
  return LP_OK;
}

static lp_code many_fn(lp_db *db, void *p, lp_err *err) {
  many_ctx *c = p;
  if (lp_db_engine(db) != LP_ENGINE_PG) return many_rows_fn(db, c, err);
  int m = 0;
  for (int i = 0; i < c->n; i++) if (c->cols[i]) m++;
  if (!m) return LP_OK;
  int64_t *lead_ids = calloc((size_t)m, sizeof *lead_ids), *event_ids = calloc((size_t)m, sizeof *event_ids);
  lp_buf leads = LP_BUF_INIT((size_t)1 << 30), contacts = LP_BUF_INIT((size_t)1 << 30);
  lp_buf fts = LP_BUF_INIT((size_t)1 << 30), events = LP_BUF_INIT((size_t)1 << 30), arr = LP_BUF_INIT((size_t)1 << 26);
  lp_code rc = lead_ids && event_ids ? LP_OK : lp_fail(err, LP_EINTERNAL, "out of memory");
  if (rc == LP_OK) rc = reserve_ids(db, "leads", m, lead_ids, err);
  if (rc == LP_OK) rc = reserve_ids(db, "events", m, event_ids, err);
  lp_buf_add(&arr, "{", 1);
  for (int i = 0, k = 0; rc == LP_OK && i < c->n; i++) {
    json_t *row = c->cols[i];
    if (!row) continue;
    int64_t id = lead_ids[k], eid = event_ids[k];
    c->ids[i] = id;
    k++;
    json_object_set_new(row, "id", json_integer(id));
    for (size_t j = 0; j < NCOPY; j++) {
      if (j) lp_buf_add(&leads, "\t", 1);
      copy_val(&leads, json_object_get(row, copy_cols[j].name), copy_cols[j].dflt);
    }
    lp_buf_add(&leads, "\n", 1);
    copy_contacts_ctx cc = {&contacts, id};
    each_address(row, copy_contact, &cc);
    lp_buf body = LP_BUF_INIT(1 << 20);
    fts_body(row, &body);
    lp_buf_printf(&fts, "%lld\t", (long long)id);
    lp_copy_text(&fts, lp_buf_str(&body));
    lp_buf_add(&fts, "\n", 1);
    lp_buf_release(&body);
    json_t *data = json_pack("{s:O, s:O}", "full_name", json_object_get(row, "full_name"), "source_id",
                             json_object_get(row, "source_id") ? json_object_get(row, "source_id") : json_null());
    char *dt = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    lp_buf_printf(&events, "%lld\t%lld\t%lld\t%lld\tcreated\tlead\t%lld\t", (long long)eid, (long long)c->now,
                  (long long)id, (long long)c->a->id, (long long)id);
    lp_copy_text(&events, dt);
    lp_buf_add(&events, "\n", 1);
    free(dt);
    lp_buf_printf(&arr, "%s%lld", k > 1 ? "," : "", (long long)eid);
  }
  lp_buf_add(&arr, "}", 1);
  if (rc == LP_OK && (leads.overflow || contacts.overflow || fts.overflow || events.overflow || arr.overflow))
    rc = lp_fail(err, LP_EINTERNAL, "import batch too large");
  if (rc == LP_OK) {
    lp_buf q = LP_BUF_INIT(4096);
    lp_buf_puts(&q, "COPY leads(");
    for (size_t j = 0; j < NCOPY; j++) lp_buf_printf(&q, "%s%s", j ? ", " : "", copy_cols[j].name);
    lp_buf_puts(&q, ") FROM STDIN");
    rc = lp_db_copy_in(db, lp_buf_str(&q), leads.data, leads.len, err);
    lp_buf_release(&q);
  }
  if (rc == LP_OK && contacts.len) rc = lp_db_copy_in(db, "COPY lead_contacts(lead_id, kind, value) FROM STDIN", contacts.data, contacts.len, err);
  if (rc == LP_OK) rc = lp_db_copy_in(db, "COPY leads_fts(rowid, body) FROM STDIN", fts.data, fts.len, err);
  if (rc == LP_OK) rc = lp_db_copy_in(db, "COPY events(id, at, lead_id, actor_id, kind, entity, entity_id, data) FROM STDIN", events.data, events.len, err);
  if (rc == LP_OK) {
    /* the outbox, as lp_event does it for one event */
    json_t *args = json_pack("[s, I]", lp_buf_str(&arr), (json_int_t)c->now);
    rc = lp_exec(db, "INSERT INTO jobs(kind, ref, subject_id, run_at, created_at, updated_at)"
                     " SELECT 'webhook', 'webhook:' || w.id, e.id, $2, $2, $2 FROM webhooks w, events e"
                     " WHERE e.id = ANY(CAST($1 AS BIGINT[])) AND w.active = 1"
                     " AND (w.events = '*' OR w.events LIKE '%,created,%')", args, err);
    json_decref(args);
  }
  lp_buf_release(&leads);
  lp_buf_release(&contacts);
  lp_buf_release(&fts);
  lp_buf_release(&events);
  lp_buf_release(&arr);
  free(lead_ids);
  free(event_ids);
  return rc;
}

int lp_lead_create_many(lp_store *s, const lp_actor *a, json_t **in, int n, int64_t now, lp_err *errs, int64_t *ids) {
  lp_db *db = lp_store_reader(s, &errs[0]);
  if (!db) { for (int i = 1; i < n; i++) lp_fail(&errs[i], errs[0].code, "%s", errs[0].message); return 0; }
  json_t **cols = calloc((size_t)n, sizeof *cols);
  int fast = cols != NULL;
  int made = 0;
  for (int i = 0; i < n; i++) {
    ids[i] = 0;
    if (!fast) {
      json_t *o = lp_lead_create(s, a, in[i], now, &errs[i]);
      if (o) { ids[i] = iget(o, "id"); made++; json_decref(o); }
      continue;
    }
    json_t *row = json_deep_copy(in[i]);
    int begun = lp_read_begin(db, NULL) == LP_OK;
    lp_code prc = lead_prepare(db, a, row, now, &errs[i]);
    if (begun) lp_read_end(db);
    const char *k;
    json_t *v;
    int plain = 1;
    json_object_foreach(row, k, v) if (!copy_col_known(k)) plain = 0;
    if (prc != LP_OK) { json_decref(row); continue; }
    if (!plain) {  /* a column COPY does not write: the ordinary way */
      json_decref(row);
      json_t *o = lp_lead_create(s, a, in[i], now, &errs[i]);
      if (o) { ids[i] = iget(o, "id"); made++; json_decref(o); }
      continue;
    }
    cols[i] = row;
  }
  if (fast) {
    many_ctx c = {a, cols, n, now, ids};
    lp_err e = LP_ERR_INIT;
    if (lp_store_append(s, many_fn, &c, &e) == LP_OK) {
      for (int i = 0; i < n; i++) if (cols[i]) made++;
    } else {
      /* one of them did not fit (a reference deleted meanwhile, say): each on its own */
      for (int i = 0; i < n; i++) {
        if (!cols[i]) continue;
        ids[i] = 0;
        json_t *o = lp_lead_create(s, a, in[i], now, &errs[i]);
        if (o) { ids[i] = iget(o, "id"); made++; json_decref(o); }
      }
    }
    lp_err_release(&e);
    for (int i = 0; i < n; i++) json_decref(cols[i]);
  }
  free(cols);
  return made;
}

/* ---------------------------------------------------------------- apply a plan */

static lp_code task_status(lp_db *db, json_t *ids, const char *status, const lp_actor *a, int64_t now, lp_err *err) {
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    json_t *args = json_pack("[I, s, I, I]", (json_int_t)json_integer_value(v), status, (json_int_t)now, (json_int_t)a->id);
    lp_code rc = lp_exec(db, "UPDATE tasks SET status = $2, completed_at = $3, completed_by = $4, updated_at = $3,"
                             " version = version + 1 WHERE id = $1 AND status = 'open'", args, err);
    json_decref(args);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}

lp_code lp_lead_apply_plan(lp_db *db, const lp_actor *a, json_t *lead, json_t *plan, int64_t now, lp_err *err) {
  int64_t id = iget(lead, "id");
  json_t *changes = json_object_get(plan, "lead");
  lp_code rc = LP_OK;
  if (json_object_size(changes)) {
    rc = lp_update(db, "leads", id, changes, iget(lead, "version"), err);
    if (rc != LP_OK) return rc;
  }
  if ((rc = task_status(db, json_object_get(plan, "tasks_completed"), "done", a, now, err))) return rc;
  if ((rc = task_status(db, json_object_get(plan, "tasks_cancelled"), "cancelled", a, now, err))) return rc;
  json_t *fu = json_object_get(plan, "follow_up");
  int64_t fu_id = 0;
  if (json_is_object(fu)) {
    json_t *cols = json_deep_copy(fu);
    json_object_set_new(cols, "lead_id", json_integer(id));
    json_object_set_new(cols, "status", json_string("open"));
    json_object_set_new(cols, "created_at", json_integer(now));
    json_object_set_new(cols, "updated_at", json_integer(now));
    json_object_set_new(cols, "created_by", json_integer(a->id));
    rc = lp_insert(db, "tasks", cols, &fu_id, err);
    json_decref(cols);
    if (rc) return rc;
  }
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(plan, "groups"), i, v) {
    json_t *args = json_pack("[I, I, I]", (json_int_t)id, (json_int_t)json_integer_value(v), (json_int_t)now);
    rc = lp_exec(db, "INSERT INTO lead_groups(lead_id, group_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", args, err);
    json_decref(args);
    if (!rc) rc = groups_refresh(db, id, now, json_object_size(changes) ? 0 : 1, err);  /* 0: lp_update raised the version */
    if (rc) return rc;
  }
  json_array_foreach(json_object_get(plan, "threads_closed"), i, v) {
    json_t *args = json_pack("[I, I, I]", (json_int_t)json_integer_value(v), (json_int_t)now, (json_int_t)a->id);
    rc = lp_exec(db, "UPDATE threads SET status = 'closed', closed_at = $2, closed_by = $3, version = version + 1"
                     " WHERE id = $1 AND status = 'open'", args, err);
    json_decref(args);
    if (rc) return rc;
  }
  json_array_foreach(json_object_get(plan, "notifications"), i, v) {
    json_t *data = json_pack("{s:I, s:s}", "lead_id", (json_int_t)id, "full_name", sget(lead, "full_name") ? sget(lead, "full_name") : "");
    char *txt = json_dumps(data, JSON_COMPACT);
    json_t *args = json_pack("[I, s, I, s, I]", (json_int_t)iget(v, "user_id"), sget(v, "kind"), (json_int_t)id, txt, (json_int_t)now);
    rc = lp_exec(db, "INSERT INTO notifications(user_id, kind, lead_id, data, created_at) VALUES ($1, $2, $3, $4, $5)", args, err);
    json_decref(args);
    json_decref(data);
    free(txt);
    if (rc) return rc;
  }
  /* Messages to the lead are queued by the conversations module once it exists; the plan
   * already lists them, so the preview is honest about what closing would send. */
  json_array_foreach(json_object_get(plan, "timeline"), i, v) {
    json_t *data = json_object_get(v, "data");
    const char *kind = sget(v, "kind");
    if (fu_id && !strcmp(kind, "task_created")) json_object_set_new(data, "task_id", json_integer(fu_id));
    rc = lp_event(db, now, id, a->id, kind, "lead", id, data, err);
    if (rc) return rc;
  }
  if (json_object_get(changes, "close_notes")) rc = index_lead(db, id, err);
  return rc;
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
  json_t *dg = lp_query_one(db, "SELECT value FROM settings WHERE key = 'close_lost_default_group_id'", NULL, err);
  in->default_group = dg && sget(dg, "value") ? strtoll(sget(dg, "value"), NULL, 10) : 0;
  json_decref(dg);
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

/* ---------------------------------------------------------------- update */

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

static lp_code update_fn(lp_db *db, void *p, lp_err *err) {
  update_ctx *c = p;
  json_t *row = lead_for_write(db, c->a, c->id, c->expect, err);
  if (!row) return err->code;
  lp_code rc = check_refs(db, c->cols, c->now, err);
  if (rc != LP_OK) { json_decref(row); return rc; }
  /* Stage moves go through the planner; the rest is a plain field change. */
  json_t *plan = NULL;
  json_t *stage = json_object_get(c->cols, "stage_id");
  if (stage && json_integer_value(stage) != iget(row, "stage_id")) {
    lp_plan_in in = {0};
    in.actor = c->a;
    in.now = c->now;
    plan_inputs(db, &in, row, NULL, err);
    json_t *args = json_pack("[I]", (json_int_t)json_integer_value(stage));
    in.stage = lp_query_one(db, "SELECT * FROM stages WHERE id = $1", args, err);
    json_decref(args);
    rc = lp_plan_stage(&in, &plan, err);
    plan_inputs_release(&in);
    if (rc != LP_OK) { json_decref(row); return rc; }
  }
  json_t *set = json_object();
  json_t *changes = json_object();
  lp_rec_diff(&lp_rt_lead, row, c->cols, "stage_id", set, changes);  /* stage moves are planned above */
  if (json_object_size(set)) {
    json_object_set_new(set, "updated_at", json_integer(c->now));
    rc = lp_update(db, "leads", c->id, set, iget(row, "version"), err);
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:O}", "changes", changes);
      rc = lp_event(db, c->now, c->id, c->a->id, "updated", "lead", c->id, data, err);
      json_decref(data);
    }
    if (rc == LP_OK) json_object_set_new(row, "version", json_integer(iget(row, "version") + 1));
    if (rc == LP_OK) rc = index_lead(db, c->id, err);
  }
  if (rc == LP_OK && plan) rc = lp_lead_apply_plan(db, c->a, row, plan, c->now, err);
  json_decref(plan);
  json_decref(set);
  json_decref(changes);
  json_decref(row);
  return rc;
}

json_t *lp_lead_update(lp_store *s, const lp_actor *a, int64_t id, json_t *cols, int64_t expect, int64_t now, lp_err *err) {
  update_ctx c = {a, id, expect, now, cols};
  if (lp_store_write(s, update_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_lead_get(db, a, id, now, err) : NULL;
}

static lp_code delete_fn(lp_db *db, void *p, lp_err *err) {
  update_ctx *c = p;
  json_t *row = lp_lead_row(db, c->id, err);
  if (!row) return err->code;
  lp_code rc = lp_lead_visible(db, c->a, row, err);
  if (rc == LP_OK && c->a->perm[LP_ACT_DELETE] != LP_ALLOW) rc = lp_fail(err, LP_EFORBIDDEN, "Your role may not delete leads");
  if (rc == LP_OK && c->expect >= 0 && iget(row, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The lead has changed (now version %lld)", (long long)iget(row, "version"));
  if (rc == LP_OK) {
    json_t *set = json_pack("{s:I, s:I}", "deleted_at", (json_int_t)c->now, "updated_at", (json_int_t)c->now);
    rc = lp_update(db, "leads", c->id, set, -1, err);
    json_decref(set);
  }
  if (rc == LP_OK) {
    json_t *args = json_pack("[I]", (json_int_t)c->id);
    rc = fts_queue(db, c->id, NULL, err);
    if (rc == LP_OK && lp_db_engine(db) == LP_ENGINE_PG) rc = lp_exec(db, "DELETE FROM lead_contacts WHERE lead_id = $1", args, err);
    json_decref(args);
  }
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:O}", "full_name", json_object_get(row, "full_name"));
    rc = lp_event(db, c->now, c->id, c->a->id, "deleted", "lead", c->id, data, err);
    json_decref(data);
  }
  json_decref(row);
  return rc;
}

lp_code lp_lead_delete(lp_store *s, const lp_actor *a, int64_t id, int64_t expect, int64_t now, lp_err *err) {
  update_ctx c = {a, id, expect, now, NULL};
  return lp_store_write(s, delete_fn, &c, err);
}

typedef struct { const lp_actor *a; int64_t id, group, now; } group_ctx;

static lp_code add_group_fn(lp_db *db, void *p, lp_err *err) {
  group_ctx *c = p;
  json_t *row = lp_lead_row(db, c->id, err);
  if (!row) return err->code;
  lp_code rc = lp_lead_visible(db, c->a, row, err);
  json_decref(row);
  if (rc == LP_OK) rc = lp_ref_check(db, "contact_groups", c->group, "group_id", err);
  if (rc != LP_OK) return rc;
  json_t *args = json_pack("[I, I, I]", (json_int_t)c->id, (json_int_t)c->group, (json_int_t)c->now);
  rc = lp_exec(db, "INSERT INTO lead_groups(lead_id, group_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", args, err);
  json_decref(args);
  if (rc == LP_OK && lp_db_changes(db) > 0) {
    rc = groups_refresh(db, c->id, c->now, 1, err);
    json_t *data = json_pack("{s:I}", "group_id", (json_int_t)c->group);
    if (rc == LP_OK) rc = lp_event(db, c->now, c->id, c->a->id, "group_added", "lead", c->id, data, err);
    json_decref(data);
  }
  return rc;
}

lp_code lp_lead_add_group(lp_store *s, const lp_actor *a, int64_t id, int64_t group_id, int64_t now, lp_err *err) {
  group_ctx c = {a, id, group_id, now};
  return lp_store_write(s, add_group_fn, &c, err);
}

/* ---------------------------------------------------------------- close and reopen */

typedef struct {
  const lp_actor *a;
  int64_t id, expect, now;
  lp_move move;
  json_t *req;
  int dry_run, status;
  json_t *result;
  int64_t approval_id;          /* carrying out this approved request */
  const lp_actor *decider;      /* who approved it */
} move_ctx;

static lp_code move_fn(lp_db *db, void *p, lp_err *err) {
  move_ctx *c = p;
  json_t *row = lead_for_write(db, c->a, c->id, c->expect, err);
  if (!row) return err->code;
  lp_code rc;
  lp_plan_in in = {0};
  in.actor = c->a;
  in.now = c->now;
  plan_inputs(db, &in, row, c->req, err);
  json_t *plan = NULL;
  rc = c->move == LP_MOVE_CLOSE ? lp_plan_close(&in, &plan, err) : lp_plan_reopen(&in, &plan, err);
  plan_inputs_release(&in);
  if (c->dry_run && (rc == LP_OK || (rc == LP_EVALIDATION && plan))) {
    /* The preview answers 200 even when fields are missing: it says which. */
    json_t *pv = json_deep_copy(plan);
    json_object_del(pv, "timeline");
    json_t *lead = lp_lead_present(row, c->now, lp_sla_settings(db, c->now));
    json_t *nl = json_object_get(pv, "lead");
    const char *k;
    json_t *v;
    json_object_foreach(nl, k, v) {
      const lp_field *f = lp_rec_field(&lp_rt_lead, k);
      if (f && !(f->flags & FF_HIDDEN)) json_object_set_new(lead, k, lp_rec_value_out(f, v));
    }
    json_object_set_new(pv, "lead", lead);
    json_t *fu = json_object_get(pv, "follow_up");
    if (json_is_object(fu)) json_object_set_new(fu, "due_at", lp_rec_value_out(lp_rec_field(&lp_rt_task, "due_at"), json_object_get(fu, "due_at")));
    c->result = json_pack("{s:b, s:o}", "dry_run", 1, "plan", pv);
    c->status = 200;
    lp_err_release(err);
    json_decref(plan);
    json_decref(row);
    return LP_OK;
  }
  if (rc != LP_OK) { json_decref(plan); json_decref(row); return rc; }
  if (json_is_true(json_object_get(plan, "approval_required"))) {
    /* The request waits for the actor's manager (or any admin when there is none). */
    json_t *params = c->req ? json_incref(c->req) : json_object();
    char *txt = json_dumps(params, JSON_COMPACT);
    json_t *cols = json_pack("{s:I, s:I, s:o, s:s, s:s, s:s, s:I}", "lead_id", (json_int_t)c->id, "requested_by", (json_int_t)c->a->id,
                             "approver_id", c->a->manager_id ? json_integer(c->a->manager_id) : json_null(),
                             "action", c->move == LP_MOVE_CLOSE ? "close" : "reopen", "params", txt, "status", "pending",
                             "created_at", (json_int_t)c->now);
    int64_t aid = 0;
    rc = lp_insert(db, "approvals", cols, &aid, err);
    json_decref(cols);
    free(txt);
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:I, s:s, s:O}", "approval_id", (json_int_t)aid, "action", c->move == LP_MOVE_CLOSE ? "close" : "reopen", "params", params);
      rc = lp_event(db, c->now, c->id, c->a->id, "approval_requested", "lead", c->id, data, err);
      json_decref(data);
    }
    if (rc == LP_OK && c->a->manager_id) {
      char d[64];
      snprintf(d, sizeof d, "{\"approval_id\":%lld}", (long long)aid);
      json_t *n = json_pack("[I, I, I, s]", (json_int_t)c->a->manager_id, (json_int_t)c->id, (json_int_t)c->now, d);
      rc = lp_exec(db, "INSERT INTO notifications(user_id, kind, lead_id, data, created_at)"
                       " VALUES ($1, 'approval_requested', $2, $4, $3)", n, err);
      json_decref(n);
    }
    if (rc == LP_OK) {
      json_t *args = json_pack("[I]", (json_int_t)aid);
      json_t *ap = lp_query_one(db, "SELECT * FROM approvals WHERE id = $1", args, err);
      json_decref(args);
      json_t *pj = json_loads(sget(ap, "params") ? sget(ap, "params") : "{}", 0, NULL);
      json_object_set_new(ap, "params", pj ? pj : json_object());
      json_object_set_new(ap, "created_at", lp_rec_value_out(&(lp_field){"created_at", FT_TIME, 0, 0, NULL}, json_object_get(ap, "created_at")));
      c->result = json_pack("{s:o}", "approval", ap);
      c->status = 202;
    }
    json_decref(params);
    json_decref(plan);
    json_decref(row);
    return rc;
  }
  rc = lp_lead_apply_plan(db, c->a, row, plan, c->now, err);
  if (rc == LP_OK && c->approval_id) {
    /* The approval is decided in the same transaction as the move it carries out. */
    json_t *args = json_pack("[I, I, I]", (json_int_t)c->approval_id, (json_int_t)c->now, (json_int_t)c->decider->id);
    rc = lp_exec(db, "UPDATE approvals SET status = 'approved', decided_at = $2, decided_by = $3, version = version + 1"
                     " WHERE id = $1 AND status = 'pending'", args, err);
    json_decref(args);
    if (rc == LP_OK && lp_db_changes(db) == 0) rc = lp_fail(err, LP_ECONFLICT, "The approval was decided meanwhile");
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:I, s:s}", "approval_id", (json_int_t)c->approval_id, "decision", "approved");
      rc = lp_event(db, c->now, c->id, c->decider->id, "approval_decided", "approval", c->approval_id, data, err);
      json_decref(data);
    }
    if (rc == LP_OK) {
      char d[64];
      snprintf(d, sizeof d, "{\"approval_id\":%lld}", (long long)c->approval_id);
      json_t *n = json_pack("[I, I, I, s]", (json_int_t)c->a->id, (json_int_t)c->id, (json_int_t)c->now, d);
      rc = lp_exec(db, "INSERT INTO notifications(user_id, kind, lead_id, data, created_at)"
                       " VALUES ($1, 'approval_approved', $2, $4, $3)", n, err);
      json_decref(n);
    }
  }
  json_decref(plan);
  json_decref(row);
  c->status = 200;
  return rc;
}

json_t *lp_lead_move_approved(lp_store *s, const lp_actor *requester, const lp_actor *decider, int64_t approval_id,
                              int64_t lead_id, lp_move move, json_t *params, int64_t now, lp_err *err) {
  /* The request is carried out as it was asked, as the requester, now allowed. */
  lp_actor a = *requester;
  for (int i = 0; i < LP_ACT_COUNT; i++) if (a.perm[i] == LP_REQUEST) a.perm[i] = LP_ALLOW;
  move_ctx c = {&a, lead_id, -1, now, move, params, 0, 0, NULL, approval_id, decider};
  if (lp_store_write(s, move_fn, &c, err) != LP_OK) { json_decref(c.result); return NULL; }
  json_decref(c.result);
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_lead_get(db, decider, lead_id, now, err) : NULL;
}

json_t *lp_lead_move(lp_store *s, const lp_actor *a, int64_t id, lp_move move, json_t *req, int dry_run,
                     int64_t expect, int64_t now, int *status, lp_err *err) {
  move_ctx c = {a, id, expect, now, move, req, dry_run, 0, NULL, 0, NULL};
  lp_code rc;
  if (dry_run) {
    lp_db *db = lp_store_reader(s, err);
    if (!db) return NULL;
    rc = move_fn(db, &c, err);
  } else {
    rc = lp_store_write(s, move_fn, &c, err);
  }
  if (rc != LP_OK) { json_decref(c.result); return NULL; }
  *status = c.status;
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
