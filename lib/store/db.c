/* db.c — the store interface of db.h, dispatched to the engine's backend (sqlite.c, pg.c).
 *
 * Every handle (store, connection, statement) starts with its backend's ops table, so a call
 * costs one indirect jump. lp_store_open chooses the backend by the URL's scheme.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "store/db.h"
#include "store/reports_flow.h"
#include "store/reports.h"
#include "store/board.h"

static int is_pg_url(const char *url) {
  return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

lp_store *lp_store_open(const char *url, lp_err *err) {
  if (!url) { lp_fail(err, LP_EBADREQ, "no database URL"); return NULL; }
  lp_reports_flow_install();  /* the change hook that keeps stage stays and losses (reports_flow.c) */
  lp_reports_install();  /* every store keeps the report counters (store/reports.h) */
  lp_board_install();  /* and the pipeline board's counts (store/board.c) */
  return is_pg_url(url) ? lp_pg_ops.store_open(url, err) : lp_sqlite_ops.store_open(url, err);
}
void lp_store_close(lp_store *s) { if (s) s->ops->store_close(s); }
lp_engine lp_store_engine(const lp_store *s) { return s->ops->engine; }
const char *lp_store_path(const lp_store *s) { return s->ops->store_path(s); }
lp_db *lp_store_reader(lp_store *s, lp_err *err) { return s->ops->store_reader(s, err); }

/* The calling thread's rider (db.h, lp_store_ride): armed until it commits with a write. */
static _Thread_local struct { lp_write_fn fn; void *ctx; int armed, committed; } rider;
typedef struct { lp_write_fn fn; void *ctx; lp_write_fn rfn; void *rctx; } ride_pair;

static lp_code ride_run(lp_db *db, void *p, lp_err *err) {
  ride_pair *c = p;
  lp_code rc = c->fn(db, c->ctx, err);
  return rc == LP_OK ? c->rfn(db, c->rctx, err) : rc;
}

void lp_store_ride(lp_write_fn fn, void *ctx) { rider.fn = fn; rider.ctx = ctx; rider.armed = 1; rider.committed = 0; }

int lp_store_ride_end(void) {
  int committed = rider.committed;
  rider.fn = NULL; rider.ctx = NULL; rider.armed = 0; rider.committed = 0;
  return committed;
}

typedef lp_code (*store_write_op)(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err);
static lp_code write_with_rider(lp_store *s, store_write_op op, lp_write_fn fn, void *ctx, lp_err *err) {
  if (!rider.armed) return op(s, fn, ctx, err);
  ride_pair c = {fn, ctx, rider.fn, rider.ctx};
  lp_code rc = op(s, ride_run, &c, err);
  if (rc == LP_OK) { rider.armed = 0; rider.committed = 1; }
  return rc;
}

/* The commit signal: a counter raised after every committed write of this process and a
 * condition variable waiters sleep on (the live stream wakes on it instead of polling). */
static pthread_mutex_t commit_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t commit_cv = PTHREAD_COND_INITIALIZER;
static uint64_t commit_gen;

static lp_code committed(lp_code rc) {
  if (rc != LP_OK) return rc;
  pthread_mutex_lock(&commit_mu);
  commit_gen++;
  pthread_cond_broadcast(&commit_cv);
  pthread_mutex_unlock(&commit_mu);
  return rc;
}

uint64_t lp_store_commit_wait(uint64_t seen, int timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  pthread_mutex_lock(&commit_mu);
  while (commit_gen == seen && timeout_ms > 0)
    if (pthread_cond_timedwait(&commit_cv, &commit_mu, &until) != 0) break;
  uint64_t g = commit_gen;
  pthread_mutex_unlock(&commit_mu);
  return g;
}

lp_code lp_store_write(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  return committed(write_with_rider(s, s->ops->store_write, fn, ctx, err));
}
lp_code lp_store_append(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  return committed(write_with_rider(s, s->ops->store_append, fn, ctx, err));
}
uint64_t lp_db_origin(lp_db *db) {
  return (uint64_t)db->ops->engine << 32 | (db->ops->db_generation ? db->ops->db_generation(db) : 0);
}
lp_db *lp_store_indexer(lp_store *s) { return s->ops->store_indexer ? s->ops->store_indexer(s) : NULL; }
void lp_store_indexer_done(lp_store *s) { if (s->ops->store_indexer_done) s->ops->store_indexer_done(s); }
void lp_store_release(lp_store *s) { if (s->ops->store_release) s->ops->store_release(s); }
void lp_store_set_pool(lp_store *s, int max) { if (s->ops->store_set_pool) s->ops->store_set_pool(s, max); }
void lp_store_get_stats(lp_store *s, lp_store_stats *out) { s->ops->store_get_stats(s, out); }
lp_code lp_store_write_direct(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  return committed(s->ops->store_write_direct(s, fn, ctx, err));
}

lp_stmt *lp_db_prep(lp_db *db, const char *sql, lp_err *err) { return db->ops->prep(db, sql, err); }
lp_stmt *lp_db_prep_static(lp_db *db, const char *sql, lp_err *err) {
  return db->ops->prep_static ? db->ops->prep_static(db, sql, err) : db->ops->prep(db, sql, err);
}
void lp_bind_int(lp_stmt *st, int n, int64_t v) { st->ops->bind_int(st, n, v); }
void lp_bind_double(lp_stmt *st, int n, double v) { st->ops->bind_double(st, n, v); }
void lp_bind_text(lp_stmt *st, int n, const char *s) { st->ops->bind_text(st, n, s); }
void lp_bind_null(lp_stmt *st, int n) { st->ops->bind_null(st, n); }
int lp_step(lp_stmt *st, lp_err *err) { return st->ops->step(st, err); }
int lp_col_count(lp_stmt *st) { return st->ops->col_count(st); }
const char *lp_col_name(lp_stmt *st, int i) { return st->ops->col_name(st, i); }
int lp_col_null(lp_stmt *st, int i) { return st->ops->col_null(st, i); }
int lp_col_type(lp_stmt *st, int i) { return st->ops->col_type(st, i); }
int64_t lp_col_int(lp_stmt *st, int i) { return st->ops->col_int(st, i); }
double lp_col_double(lp_stmt *st, int i) { return st->ops->col_double(st, i); }
const char *lp_col_text(lp_stmt *st, int i) { return st->ops->col_text(st, i); }
void lp_col_get(lp_stmt *st, int i, lp_colval *o) {
  if (st->ops->col_get) { st->ops->col_get(st, i, o); return; }
  *o = (lp_colval){st->ops->col_type(st, i), 0, NULL, 0};
  if (o->type == LP_COL_INT) {
    o->i = st->ops->col_int(st, i);
  } else if (o->type != LP_COL_NULL) {
    o->type = LP_COL_TEXT;
    o->s = st->ops->col_text(st, i);
    o->len = o->s ? strlen(o->s) : 0;
  }
}
void lp_stmt_done(lp_stmt *st) { if (st) st->ops->stmt_done(st); }

lp_code lp_db_exec(lp_db *db, const char *sql, lp_err *err) { return db->ops->exec(db, sql, err); }
int64_t lp_db_changes(lp_db *db) { return db->ops->changes(db); }
lp_engine lp_db_engine(lp_db *db) { return db->ops->engine; }
lp_code lp_db_copy_in(lp_db *db, const char *sql, const char *data, size_t len, lp_err *err) {
  if (!db->ops->copy_in) return lp_fail(err, LP_EINTERNAL, "COPY is for PostgreSQL");
  return db->ops->copy_in(db, sql, data, len, err);
}
lp_code lp_read_begin(lp_db *db, lp_err *err) { return db->ops->read_begin(db, err); }
void lp_read_end(lp_db *db) { db->ops->read_end(db); }

/* ---------------------------------------------------------------- engine differences */

lp_stmt *lp_db_prep_insert(lp_db *db, const char *sql, lp_err *err) { return db->ops->prep_insert(db, sql, 0, err); }
lp_stmt *lp_db_prep_insert_static(lp_db *db, const char *sql, lp_err *err) { return db->ops->prep_insert(db, sql, 1, err); }
int lp_step_insert(lp_stmt *st, int64_t *id, lp_err *err) { return st->ops->step_insert(st, id, err); }

lp_code lp_db_dialect(lp_db *db, const char *sql, lp_buf *out, lp_err *err) {
  const char *p = sql;
  for (const char *t; (t = strstr(p, "{{"));) {
    const char *end = strstr(t + 2, "}}");
    if (!end) return lp_fail(err, LP_EINTERNAL, "unclosed {{ in SQL");
    const char *word = db->ops->dialect_word(t + 2, (size_t)(end - t - 2));
    if (!word) return lp_fail(err, LP_EINTERNAL, "no SQL word {{%.*s}} on this engine", (int)(end - t - 2), t + 2);
    lp_buf_add(out, p, (size_t)(t - p));
    lp_buf_puts(out, word);
    p = end + 2;
  }
  lp_buf_puts(out, p);
  return out->overflow ? lp_fail(err, LP_EINTERNAL, "SQL text too long") : LP_OK;
}

lp_code lp_db_ddl(lp_db *db, const char *sql, lp_err *err) {
  lp_buf b = LP_BUF_INIT((size_t)1 << 24);
  lp_code rc = lp_db_dialect(db, sql, &b, err);
  if (rc == LP_OK && b.len) rc = lp_db_exec(db, lp_buf_str(&b), err);
  lp_buf_release(&b);
  return rc;
}

lp_code lp_db_ddl_each(lp_db *db, const char *sqlite, const char *pg, lp_err *err) {
  const char *sql = db->ops->engine == LP_ENGINE_PG ? pg : sqlite;
  return sql ? lp_db_ddl(db, sql, err) : LP_OK;
}

lp_code lp_db_schema_lock(lp_db *db, lp_err *err) { return db->ops->schema_lock ? db->ops->schema_lock(db, err) : LP_OK; }
void lp_db_schema_unlock(lp_db *db) { if (db->ops->schema_unlock) db->ops->schema_unlock(db); }

lp_code lp_db_bulk_insert(lp_db *db, const char *table, const char *const *cols, int ncols,
                          const char *data, size_t len, lp_err *err) {
  return db->ops->bulk_insert(db, table, cols, ncols, data, len, err);
}
lp_code lp_db_ids_follow(lp_db *db, const char *table, lp_err *err) {
  return db->ops->ids_follow ? db->ops->ids_follow(db, table, err) : LP_OK;
}
lp_code lp_db_reserve_ids(lp_db *db, const char *table, int n, int64_t *out, lp_err *err) {
  return n > 0 ? db->ops->reserve_ids(db, table, n, out, err) : LP_OK;
}
lp_code lp_db_search_cond(lp_db *db, const char *text, const char **cond, char **param, lp_err *err) {
  *cond = NULL;
  *param = NULL;
  return db->ops->search_cond(db, text, cond, param, err);
}
lp_code lp_db_search_put(lp_db *db, const lp_search_doc *docs, int n, lp_err *err) {
  return n > 0 ? db->ops->search_put(db, docs, n, err) : LP_OK;
}
lp_code lp_db_contacts_rebuild(lp_db *db, lp_err *err) {
  return db->ops->contacts_rebuild ? db->ops->contacts_rebuild(db, err) : LP_OK;
}
lp_code lp_store_backup(lp_store *s, const char *file, const char **format, lp_err *err) {
  return s->ops->store_backup(s, file, format, err);
}

#define TLS_SLOTS 4
static _Thread_local lp_tls_slot tls_slots[TLS_SLOTS];

lp_tls_slot *lp_tls_for(const void *store, unsigned gen) {
  lp_tls_slot *free_slot = NULL;
  for (int i = 0; i < TLS_SLOTS; i++) {
    lp_tls_slot *t = &tls_slots[i];
    if (t->store == store && t->gen == gen) return t;
    if (!free_slot && (!t->db || t->store == store)) free_slot = t;
  }
  return free_slot ? free_slot : &tls_slots[0];
}

void lp_tls_forget(const void *store) {
  for (int i = 0; i < TLS_SLOTS; i++)
    if (tls_slots[i].store == store) tls_slots[i] = (lp_tls_slot){0, NULL, NULL};
}

/* ---------------------------------------------------------------- summaries (db.h)
 * Per connection: for each kind, the transaction's part (what its committed-to-be writes added)
 * and the running write's part. `written`: the transaction's part was written inside the running
 * write (lp_db_summary_flush); kept, it is then emptied; rolled back, it stays to be written at
 * commit. */
struct lp_tx {
  int in_write;
  int n;
  struct { const lp_summary_kind *kind; void *tx, *w; int written, used; } k[LP_SUMMARY_KINDS];
};

void *lp_db_summary(lp_db *db, const lp_summary_kind *kind) {
  struct lp_tx *t = db->tx;
  if (!t || !t->in_write) return NULL;
  int i = 0;
  while (i < t->n && t->k[i].kind != kind) i++;
  if (i == t->n) {
    if (t->n == LP_SUMMARY_KINDS) return NULL;
    void *a = kind->make(), *b = a ? kind->make() : NULL;
    if (!b) { if (a) kind->drop(a); return NULL; }
    t->k[i].kind = kind; t->k[i].tx = a; t->k[i].w = b; t->k[i].written = 0;
    t->n++;
  }
  if (!t->k[i].used) t->k[i].used = 1;
  return t->k[i].w;
}

lp_code lp_db_summary_flush(lp_db *db, const lp_summary_kind *kind, lp_err *err) {
  struct lp_tx *t = db->tx;
  if (!t || !t->in_write) return LP_OK;
  for (int i = 0; i < t->n; i++) {
    if (t->k[i].kind != kind || !t->k[i].used) continue;
    lp_code rc = LP_OK;
    if (!t->k[i].written) rc = kind->flush(db, t->k[i].tx, err);
    if (rc == LP_OK) { t->k[i].written = 1; rc = kind->flush(db, t->k[i].w, err); }
    if (rc == LP_OK) kind->clear(t->k[i].w);
    return rc;
  }
  return LP_OK;
}

void lp_tx_write_begin(lp_db *db) {
  if (!db->tx) db->tx = calloc(1, sizeof *db->tx);
  if (db->tx) db->tx->in_write = 1;
}

void lp_tx_write_end(lp_db *db, int kept) {
  struct lp_tx *t = db->tx;
  if (!t) return;
  t->in_write = 0;
  for (int i = 0; i < t->n; i++) {
    const lp_summary_kind *kind = t->k[i].kind;
    if (!t->k[i].used) continue;
    if (kept && t->k[i].written) kind->clear(t->k[i].tx);
    t->k[i].written = 0;
    /* Out of memory while merging: the part cannot be counted, so the counters would drift;
     * lp_tx_before_commit then fails the transaction (used = 2). */
    if (kept && kind->merge(t->k[i].tx, t->k[i].w) != 0) t->k[i].used = 2;
    kind->clear(t->k[i].w);
  }
}

lp_code lp_tx_before_commit(lp_db *db, lp_err *err) {
  struct lp_tx *t = db->tx;
  if (!t) return LP_OK;
  for (int i = 0; i < t->n; i++) {
    if (!t->k[i].used) continue;
    if (t->k[i].used == 2) return lp_fail(err, LP_EUNAVAILABLE, "out of memory keeping a summary");
    lp_code rc = t->k[i].kind->flush(db, t->k[i].tx, err);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}

void lp_tx_end(lp_db *db) {
  struct lp_tx *t = db->tx;
  if (!t) return;
  t->in_write = 0;
  for (int i = 0; i < t->n; i++) {
    if (!t->k[i].used) continue;
    t->k[i].kind->clear(t->k[i].tx);
    t->k[i].kind->clear(t->k[i].w);
    t->k[i].written = 0;
    t->k[i].used = 0;
  }
}

void lp_tx_free(lp_db *db) {
  struct lp_tx *t = db->tx;
  if (!t) return;
  for (int i = 0; i < t->n; i++) { t->k[i].kind->drop(t->k[i].tx); t->k[i].kind->drop(t->k[i].w); }
  free(t);
  db->tx = NULL;
}
