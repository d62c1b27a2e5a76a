/* sqlite.c — the SQLite connection layer: connections, cached statements bound by `$N`
 * name, per-thread readers, and the group-commit writer thread (see db.h for the contract).
 *
 * Group commit: writers queue a closure and sleep. The writer thread takes everything queued
 * (up to BATCH_MAX), opens one IMMEDIATE transaction, runs each closure inside a savepoint,
 * commits once (WAL, synchronous=FULL: the commit is fsynced) and wakes the waiters. Under load
 * one fsync acknowledges many requests; alone, a request pays one fsync as it would anyway.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include "store/db.h"

#define CACHE_SLOTS 256
#define MAX_PARAMS 64
#define BATCH_MAX 512

struct lp_stmt {
  sqlite3_stmt *st;
  lp_db *db;
  char *sql;          /* owned copy of the text (cache key) */
  uint64_t hash;
  int cached;
  int nparam;
  int map[MAX_PARAMS + 1]; /* $n -> SQLite parameter index (0 = not used) */
};

struct lp_db {
  sqlite3 *h;
  lp_store *store;
  lp_stmt *cache[CACHE_SLOTS];
  lp_db *next_reader;
};

typedef struct wjob {
  lp_write_fn fn;
  void *ctx;
  lp_err *err;
  lp_code code;
  int done;
  struct wjob *next;
} wjob;

struct lp_store {
  char *path;
  unsigned generation;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  wjob *head, *tail;
  int stopping, writer_started;
  pthread_t writer;
  lp_db *wdb;          /* the writer thread's connection */
  lp_db *readers;      /* every reader connection, closed with the store */
};

static unsigned next_generation = 1;
static _Thread_local struct { unsigned gen; lp_store *store; lp_db *db; } tls;

static lp_code sqlite_code(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return LP_ECONFLICT;
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_CANTOPEN: case SQLITE_IOERR:
    case SQLITE_FULL: return LP_EUNAVAILABLE;
    default: return LP_EINTERNAL;
  }
}

static lp_db *db_open(lp_store *s, lp_err *err) {
  lp_db *db = calloc(1, sizeof *db);
  if (!db) { lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  db->store = s;
  int rc = sqlite3_open_v2(s->path, &db->h,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    lp_fail(err, LP_EUNAVAILABLE, "cannot open database %s: %s", s->path,
            db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
    sqlite3_close(db->h);
    free(db);
    return NULL;
  }
  sqlite3_busy_timeout(db->h, 10000);
  sqlite3_extended_result_codes(db->h, 1);
  static const char *pragmas =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;";
  char *msg = NULL;
  if (sqlite3_exec(db->h, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
    lp_fail(err, LP_EUNAVAILABLE, "cannot configure database %s: %s", s->path, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db->h);
    free(db);
    return NULL;
  }
  return db;
}

static void stmt_free(lp_stmt *st) {
  if (!st) return;
  sqlite3_finalize(st->st);
  free(st->sql);
  free(st);
}

static void db_close(lp_db *db) {
  if (!db) return;
  for (int i = 0; i < CACHE_SLOTS; i++) stmt_free(db->cache[i]);
  sqlite3_close(db->h);
  free(db);
}

static uint64_t fnv(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

lp_stmt *lp_db_prep(lp_db *db, const char *sql, lp_err *err) {
  uint64_t h = fnv(sql);
  unsigned slot = (unsigned)(h % CACHE_SLOTS);
  lp_stmt *c = db->cache[slot];
  if (c && c->hash == h && strcmp(c->sql, sql) == 0) return c;
  lp_stmt *st = calloc(1, sizeof *st);
  if (!st) { lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL);
  if (rc != SQLITE_OK) {
    lp_fail(err, LP_EINTERNAL, "prepare failed: %s", sqlite3_errmsg(db->h));
    free(st);
    return NULL;
  }
  st->db = db;
  st->sql = strdup(sql);
  st->hash = h;
  int n = sqlite3_bind_parameter_count(st->st);
  for (int i = 1; i <= n; i++) {
    const char *name = sqlite3_bind_parameter_name(st->st, i);
    if (!name || name[0] != '$') continue;
    long k = strtol(name + 1, NULL, 10);
    if (k > 0 && k <= MAX_PARAMS) {
      st->map[k] = i;
      if (k > st->nparam) st->nparam = (int)k;
    }
  }
  if (!c) {  /* an empty slot caches it; a taken slot keeps its statement */
    st->cached = 1;
    db->cache[slot] = st;
  }
  return st;
}

static int pidx(lp_stmt *st, int n) { return (n > 0 && n <= MAX_PARAMS) ? st->map[n] : 0; }
void lp_bind_int(lp_stmt *st, int n, int64_t v) { if (pidx(st, n)) sqlite3_bind_int64(st->st, pidx(st, n), v); }
void lp_bind_double(lp_stmt *st, int n, double v) { if (pidx(st, n)) sqlite3_bind_double(st->st, pidx(st, n), v); }
void lp_bind_null(lp_stmt *st, int n) { if (pidx(st, n)) sqlite3_bind_null(st->st, pidx(st, n)); }
void lp_bind_text(lp_stmt *st, int n, const char *s) {
  if (!pidx(st, n)) return;
  if (s) sqlite3_bind_text(st->st, pidx(st, n), s, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st->st, pidx(st, n));
}

int lp_step(lp_stmt *st, lp_err *err) {
  int rc = sqlite3_step(st->st);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  lp_fail(err, sqlite_code(rc), "database: %s", sqlite3_errmsg(st->db->h));
  return -1;
}

int lp_col_count(lp_stmt *st) { return sqlite3_column_count(st->st); }
const char *lp_col_name(lp_stmt *st, int i) { return sqlite3_column_name(st->st, i); }
int lp_col_null(lp_stmt *st, int i) { return sqlite3_column_type(st->st, i) == SQLITE_NULL; }
int lp_col_type(lp_stmt *st, int i) {
  switch (sqlite3_column_type(st->st, i)) {
    case SQLITE_INTEGER: return LP_COL_INT;
    case SQLITE_FLOAT: return LP_COL_REAL;
    case SQLITE_NULL: return LP_COL_NULL;
    default: return LP_COL_TEXT;
  }
}
int64_t lp_col_int(lp_stmt *st, int i) { return sqlite3_column_int64(st->st, i); }
double lp_col_double(lp_stmt *st, int i) { return sqlite3_column_double(st->st, i); }
const char *lp_col_text(lp_stmt *st, int i) { return (const char *)sqlite3_column_text(st->st, i); }

void lp_stmt_done(lp_stmt *st) {
  if (!st) return;
  if (!st->cached) { stmt_free(st); return; }
  sqlite3_reset(st->st);
  sqlite3_clear_bindings(st->st);
}

lp_code lp_db_exec(lp_db *db, const char *sql, lp_err *err) {
  char *msg = NULL;
  int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    lp_fail(err, sqlite_code(rc), "database: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return err ? err->code : sqlite_code(rc);
  }
  return LP_OK;
}

int64_t lp_db_changes(lp_db *db) { return sqlite3_changes64(db->h); }
lp_engine lp_db_engine(lp_db *db) { return LP_ENGINE_SQLITE; }
void *lp_db_native(lp_db *db) { return db->h; }

/* ---------------------------------------------------------------- store */

lp_store *lp_store_open(const char *url, lp_err *err) {
  const char *path = url;
  if (strncmp(url, "sqlite:", 7) == 0) path = url + 7;
  else if (strncmp(url, "postgres", 8) == 0) {
    lp_fail(err, LP_EUNAVAILABLE, "PostgreSQL is not supported by this build yet (use sqlite:PATH)");
    return NULL;
  }
  if (!*path) { lp_fail(err, LP_EBADREQ, "empty database path"); return NULL; }
  lp_store *s = calloc(1, sizeof *s);
  if (!s) { lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  s->path = strdup(path);
  s->generation = __atomic_fetch_add(&next_generation, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, NULL);
  pthread_cond_init(&s->done, NULL);
  /* Open one connection now so a bad path fails at start, not at the first request. */
  lp_db *probe = db_open(s, err);
  if (!probe) { free(s->path); free(s); return NULL; }
  s->readers = probe;
  tls.gen = s->generation; tls.store = s; tls.db = probe;
  return s;
}

lp_engine lp_store_engine(const lp_store *s) { return LP_ENGINE_SQLITE; }
const char *lp_store_path(const lp_store *s) { return s->path; }

lp_db *lp_store_reader(lp_store *s, lp_err *err) {
  if (tls.store == s && tls.gen == s->generation && tls.db) return tls.db;
  lp_db *db = db_open(s, err);
  if (!db) return NULL;
  pthread_mutex_lock(&s->mu);
  db->next_reader = s->readers;
  s->readers = db;
  pthread_mutex_unlock(&s->mu);
  tls.gen = s->generation; tls.store = s; tls.db = db;
  return db;
}

static void run_batch(lp_store *s, wjob *batch) {
  lp_err e = LP_ERR_INIT;
  lp_code rc = lp_db_exec(s->wdb, "BEGIN IMMEDIATE", &e);
  if (rc != LP_OK) {
    for (wjob *j = batch; j; j = j->next) { j->code = lp_fail(j->err, rc, "%s", e.message); }
    lp_err_release(&e);
    return;
  }
  int broken = 0;
  for (wjob *j = batch; j; j = j->next) {
    if (broken) { j->code = lp_fail(j->err, LP_EUNAVAILABLE, "database transaction failed"); continue; }
    lp_db_exec(s->wdb, "SAVEPOINT w", NULL);
    j->code = j->fn(s->wdb, j->ctx, j->err);
    if (sqlite3_get_autocommit(s->wdb->h)) {  /* SQLite rolled the whole transaction back */
      broken = 1;
      if (j->code == LP_OK) j->code = lp_fail(j->err, LP_EUNAVAILABLE, "database transaction failed");
      for (wjob *k = batch; k != j; k = k->next)
        if (k->code == LP_OK) k->code = lp_fail(k->err, LP_EUNAVAILABLE, "database transaction failed");
      continue;
    }
    if (j->code != LP_OK) lp_db_exec(s->wdb, "ROLLBACK TO w", NULL);
    lp_db_exec(s->wdb, "RELEASE w", NULL);
  }
  if (broken) return;
  if (lp_db_exec(s->wdb, "COMMIT", &e) != LP_OK) {
    lp_db_exec(s->wdb, "ROLLBACK", NULL);
    for (wjob *j = batch; j; j = j->next)
      if (j->code == LP_OK) j->code = lp_fail(j->err, LP_EUNAVAILABLE, "commit failed: %s", e.message);
  }
  lp_err_release(&e);
}

static void *writer_main(void *arg) {
  lp_store *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->head && !s->stopping) pthread_cond_wait(&s->work, &s->mu);
    if (!s->head && s->stopping) break;
    wjob *batch = s->head, *last = batch;
    int n = 1;
    while (last->next && n < BATCH_MAX) { last = last->next; n++; }
    s->head = last->next;
    if (!s->head) s->tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&s->mu);
    run_batch(s, batch);
    pthread_mutex_lock(&s->mu);
    for (wjob *j = batch; j; j = j->next) j->done = 1;
    pthread_cond_broadcast(&s->done);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

lp_code lp_store_write(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  wjob j = {fn, ctx, err, LP_OK, 0, NULL};
  pthread_mutex_lock(&s->mu);
  if (!s->writer_started) {
    lp_err e = LP_ERR_INIT;
    s->wdb = db_open(s, &e);
    if (!s->wdb || pthread_create(&s->writer, NULL, writer_main, s) != 0) {
      pthread_mutex_unlock(&s->mu);
      lp_code c = lp_fail(err, LP_EUNAVAILABLE, "cannot start the writer: %s", e.message);
      lp_err_release(&e);
      return c;
    }
    s->writer_started = 1;
  }
  if (s->stopping) {
    pthread_mutex_unlock(&s->mu);
    return lp_fail(err, LP_EUNAVAILABLE, "the store is shutting down");
  }
  if (s->tail) s->tail->next = &j; else s->head = &j;
  s->tail = &j;
  pthread_cond_signal(&s->work);
  while (!j.done) pthread_cond_wait(&s->done, &s->mu);
  pthread_mutex_unlock(&s->mu);
  return j.code;
}

lp_code lp_store_write_direct(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return err->code;
  lp_code rc = lp_db_exec(db, "BEGIN IMMEDIATE", err);
  if (rc != LP_OK) return rc;
  rc = fn(db, ctx, err);
  if (rc != LP_OK) { lp_db_exec(db, "ROLLBACK", NULL); return rc; }
  rc = lp_db_exec(db, "COMMIT", err);
  if (rc != LP_OK) lp_db_exec(db, "ROLLBACK", NULL);
  return rc;
}

void lp_store_close(lp_store *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_cond_broadcast(&s->work);
  int started = s->writer_started;
  pthread_mutex_unlock(&s->mu);
  if (started) pthread_join(s->writer, NULL);
  db_close(s->wdb);
  for (lp_db *r = s->readers, *n; r; r = n) { n = r->next_reader; db_close(r); }
  if (tls.store == s) { tls.store = NULL; tls.db = NULL; tls.gen = 0; }
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->done);
  free(s->path);
  free(s);
}
