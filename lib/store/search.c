/* search.c — finding leads by text and address: the full-text entries of each lead and, on
 * PostgreSQL, its address rows (lead_contacts), written with the lead by the applier (apply.c);
 * on SQLite the entries live in a file of their own and are written by the indexer below. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "store/internal.h"
#include "store/leads.h"
#include "store/rows.h"
#include "util/buf.h"

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- search index and contacts */

/* Calls fn(kind "email" or "phone", address, ctx) for each address of a lead row (its emails,
 * then its phones, stored as JSON text); stops at the first code that is not LP_OK. */

lp_code lp__each_address(json_t *row, lp__address_fn fn, void *ctx) {
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
void lp__fts_body(json_t *row, lp_buf *b) {
  const char *keys[] = {"full_name", "company", "login", "request", "notes", "close_notes", "city", "service"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (sget(row, keys[i])) lp_buf_printf(b, "%s\n", sget(row, keys[i]));
  lp__each_address(row, fts_address, b);
}

/* Full-text entries. On PostgreSQL the entry is written with the lead (its tsvector is computed
 * by the database). On SQLite, FTS5 writes a new index segment per transaction and merges them,
 * ~30 µs a lead when written one group commit at a time: a quarter of the single writer's time
 * per create. There the index lives in its own file (sqlite.c: the search file) with its own
 * write lock, and a lead's write only appends its id to fts_log (durable, in the lead's own
 * transaction); the indexer writes the entries in batches of LP_INDEX_CHUNK beside the writer,
 * from a background thread and before any search (lp_lead_index_sync), so a search always sees
 * every acknowledged write. */
static void doc_body(void *ctx, lp_buf *out) { lp__fts_body(ctx, out); }
static lp_code doc_addresses(void *ctx, lp_address_fn fn, void *fn_ctx) { return lp__each_address(ctx, fn, fn_ctx); }

/* The search entry (and address rows) of lead id follow row: NULL row, the lead is gone. */
static lp_code search_put(lp_db *db, int64_t id, json_t *row, int fresh, lp_err *err) {
  lp_search_doc d = {id, fresh, row == NULL, row, doc_body, doc_addresses};
  return lp_db_search_put(db, &d, 1, err);
}

lp_code lp__fts_queue(lp_db *db, int64_t id, json_t *row, lp_err *err) { return search_put(db, id, row, 0, err); }

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
    lp__fts_body(row, &b);
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

/* The search entry (and PostgreSQL's address rows) of lead `id` from `row`, its column values.
 * fresh: the lead is new, there is nothing to replace. */
lp_code lp__index_row(lp_db *db, int64_t id, json_t *row, int fresh, lp_err *err) { return search_put(db, id, row, fresh, err); }

lp_code lp__index_lead(lp_db *db, int64_t id, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return err->code;
  lp_code rc = lp__index_row(db, id, row, 0, err);
  json_decref(row);
  return rc;
}



/* Leads with exactly this address, most recently changed first (up to max ids), as db sees them
 * (inside a write: the leads of the same transaction too). The exact keys the applier keeps with
 * every lead (lead_keys, store/related.c: "e:" + e-mail, "p:" + E.164 phone) find the candidates
 * with one index probe on both engines; each candidate's own columns are then compared. */
int lp_leads_by_address_in(lp_db *db, const char *kind, const char *address, int64_t *ids, int max, lp_err *err) {
  char key[520];
  size_t len = strlen(address);
  if (len + 3 >= sizeof key) return 0;
  key[0] = !strcmp(kind, "email") ? 'e' : 'p';
  key[1] = ':';
  for (size_t i = 0; i <= len; i++) key[i + 2] = key[0] == 'e' && address[i] >= 'A' && address[i] <= 'Z' ? (char)(address[i] + 32) : address[i];
  json_t *args = json_pack("[s]", key);
  json_t *rows = lp_query(db, "SELECT l.id, l.emails, l.phones FROM lead_keys k JOIN leads l ON l.id = k.lead_id"
                              " WHERE k.value = $1 AND l.deleted_at IS NULL ORDER BY l.updated_at DESC, l.id DESC LIMIT 50", args, err);
  json_decref(args);
  if (!rows) return -1;
  int n = 0;
  size_t i;
  json_t *r;
  const char *col = !strcmp(kind, "email") ? "emails" : "phones";
  json_array_foreach(rows, i, r) {
    if (n == max) break;
    json_t *arr = json_loads(sget(r, col) ? sget(r, col) : "[]", 0, NULL);
    size_t k;
    json_t *v;
    int hit = 0;
    json_array_foreach(arr, k, v) if (json_is_string(v) && !strcasecmp(json_string_value(v), address)) hit = 1;
    json_decref(arr);
    if (hit) ids[n++] = json_integer_value(json_object_get(r, "id"));
  }
  json_decref(rows);
  return n;
}

int lp_leads_by_address(lp_store *s, const char *kind, const char *address, int64_t *ids, int max, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_leads_by_address_in(db, kind, address, ids, max, err) : -1;
}
