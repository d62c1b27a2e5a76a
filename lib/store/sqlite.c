/* sqlite.c — the SQLite connection layer: connections, cached statements bound by `$N`
 * name, per-thread readers, and the group-commit writer thread (see db.h for the contract).
 *
 * Group commit: writers queue a closure and sleep. The writer thread takes everything queued
 * (up to BATCH_MAX), opens one IMMEDIATE transaction, runs each closure inside a savepoint,
 * commits once (WAL, synchronous=FULL: the commit is fsynced) and wakes the waiters. Under load
 * one fsync acknowledges many requests; alone, a request pays one fsync as it would anyway.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store/db.h"
#include "store/walbuf.h"

/* The SQLite backend of db.h: the lp_ names of the interface are implemented here as sq_
 * functions, reached through lp_sqlite_ops (end of file) from db.c. */

#define CACHE_SLOTS 512
#define CACHE_PROBE 8
#define MAX_PARAMS 64
#define BATCH_MAX 512

typedef struct sq_stmt sq_stmt;
typedef struct sq_db sq_db;
typedef struct sq_store sq_store;

struct sq_stmt {
  lp_stmt base;       /* first: the handle callers see */
  sqlite3_stmt *st;
  sq_db *db;
  char *sql;          /* owned copy of the text (cache key) */
  uint64_t hash;
  int cached;
  int nparam;
  int map[MAX_PARAMS + 1]; /* $n -> SQLite parameter index (0 = not used) */
};

struct sq_db {
  lp_db base;
  sqlite3 *h;
  sq_store *store;
  sq_stmt *cache[CACHE_SLOTS];
  struct { const char *sql; sq_stmt *st; } by_addr[64];  /* lp_db_prep_static: text address -> cached statement */
  sq_db *next_reader;
};

typedef struct wjob {
  lp_write_fn fn;
  void *ctx;
  lp_err *err;
  lp_code code;
  int done;
  pthread_cond_t cv;   /* its waiter sleeps on its own condition: a commit wakes only its writers */
  struct wjob *next;
} wjob;

struct sq_store {
  lp_store base;
  char *path;
  unsigned generation;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  wjob *head, *tail;
  int stopping, writer_started;
  pthread_t writer;
  pthread_t checkpointer;      /* moves the WAL into the database file, off the writer's path */
  pthread_cond_t ckpt_cv;
  unsigned long long ckpt_seen; /* writes counted at the last checkpoint */
  sq_db *wdb;          /* the writer thread's connection */
  sq_db *readers;      /* every reader connection, closed with the store */
  char *search_path;   /* the full-text index's own database file (see SEARCH_SCHEMA) */
  pthread_mutex_t idx_mu;  /* held by whoever uses idb */
  sq_db *idb;          /* the indexer's connection: the database with the search file attached */
  lp_store_stats stats;  /* guarded by mu */
};

static unsigned next_generation = 1;

static lp_code sqlite_code(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return LP_ECONFLICT;
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_CANTOPEN: case SQLITE_IOERR:
    case SQLITE_FULL: return LP_EUNAVAILABLE;
    default: return LP_EINTERNAL;
  }
}

static pthread_once_t walbuf_once = PTHREAD_ONCE_INIT;
static int walbuf_ok;
static void walbuf_init(void) { walbuf_ok = lp_walbuf_register() == SQLITE_OK; }

enum { DB_READER, DB_WRITER, DB_INDEXER };

/* The full-text index lives in a file of its own beside the database (path + "-search"), attached
 * to every reader as `search`, so that writing it takes that file's write lock and never the
 * database's: the group-commit writer does not wait for index segments to be flushed and merged,
 * and the indexer (leads.c, lp_lead_index_sync) writes entries beside it on another thread. The
 * file holds nothing that is not derived from the database: fts_state says how far the index has
 * read the database's fts_log, and a missing or stale file is rebuilt from the leads.
 * The writer's connection does not attach it (BEGIN IMMEDIATE would lock both files). */
#define SEARCH_SCHEMA \
  "PRAGMA search.journal_mode=WAL; PRAGMA search.synchronous=FULL; PRAGMA search.cache_size=-16384;" \
  "CREATE VIRTUAL TABLE IF NOT EXISTS search.leads_fts USING fts5(body, tokenize='unicode61 remove_diacritics 2');" \
  "CREATE TABLE IF NOT EXISTS search.fts_state(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"

static int attach_search(sq_store *s, sq_db *db, int create) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db->h, "ATTACH DATABASE ?1 AS search", -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, s->search_path, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db->h);
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK && create) rc = sqlite3_exec(db->h, SEARCH_SCHEMA, NULL, NULL, NULL);
  return rc;
}

static sq_db *db_open_as(sq_store *s, int role, lp_err *err);
static sq_db *db_open(sq_store *s, lp_err *err) { return db_open_as(s, DB_READER, err); }

static sq_db *db_open_as(sq_store *s, int role, lp_err *err) {
  sq_db *db = calloc(1, sizeof *db);
  if (!db) { lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  db->base.ops = &lp_sqlite_ops;
  db->store = s;
  pthread_once(&walbuf_once, walbuf_init);
  int rc = sqlite3_open_v2(s->path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           walbuf_ok ? LP_WALBUF_VFS : NULL);
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
    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384; PRAGMA mmap_size=0;";
  char *msg = NULL;
  if (sqlite3_exec(db->h, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
    lp_fail(err, LP_EUNAVAILABLE, "cannot configure database %s: %s", s->path, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db->h);
    free(db);
    return NULL;
  }
  /* Memory: a reader's page cache is small (2 MiB; the OS page cache holds the file anyway), as
   * there is one reader per HTTP and request thread; the writer and the indexer keep 16 MiB.
   * Measured on 1M leads: 363 MiB of heap with 16 MiB for every connection (bench/RESULTS.md). */
  if (role == DB_READER && sqlite3_exec(db->h, "PRAGMA cache_size=-2048;", NULL, NULL, NULL) != SQLITE_OK) {
    lp_fail(err, LP_EUNAVAILABLE, "cannot configure database %s: %s", s->path, sqlite3_errmsg(db->h));
    sqlite3_close(db->h);
    free(db);
    return NULL;
  }
  if (role != DB_WRITER && attach_search(s, db, role == DB_INDEXER) != SQLITE_OK) {
    lp_fail(err, LP_EUNAVAILABLE, "cannot open the search index %s: %s", s->search_path, sqlite3_errmsg(db->h));
    sqlite3_close(db->h);
    free(db);
    return NULL;
  }
  return db;
}

static void stmt_free(sq_stmt *st) {
  if (!st) return;
  sqlite3_finalize(st->st);
  free(st->sql);
  free(st);
}

static void db_close(sq_db *db) {
  if (!db) return;
  for (int i = 0; i < CACHE_SLOTS; i++) stmt_free(db->cache[i]);
  lp_tx_free(&db->base);
  sqlite3_close(db->h);
  free(db);
}

static uint64_t fnv(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static sq_stmt *sq_db_prep(sq_db *db, const char *sql, lp_err *err) {
  uint64_t h = fnv(sql);
  /* Open addressing over a few neighbouring slots: a statement is cached in the first free slot
   * of its run and found again there; when the run is full it runs uncached. */
  int free_slot = -1;
  for (unsigned k = 0; k < CACHE_PROBE; k++) {
    unsigned slot = (unsigned)((h + k) % CACHE_SLOTS);
    sq_stmt *c = db->cache[slot];
    if (!c) { if (free_slot < 0) free_slot = (int)slot; continue; }
    if (c->hash == h && strcmp(c->sql, sql) == 0) return c;
  }
  sq_stmt *st = calloc(1, sizeof *st);
  if (!st) { lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL);
  if (rc != SQLITE_OK) {
    lp_fail(err, LP_EINTERNAL, "prepare failed: %s", sqlite3_errmsg(db->h));
    free(st);
    return NULL;
  }
  st->base.ops = &lp_sqlite_ops;
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
  if (free_slot >= 0) {
    st->cached = 1;
    db->cache[free_slot] = st;
  }
  return st;
}

/* lp_db_prep_static: text whose address never changes is found again by its address. Only
 * statements the connection keeps are remembered (an uncached one is freed when done). */
static sq_stmt *sq_db_prep_static(sq_db *db, const char *sql, lp_err *err) {
  unsigned slot = (unsigned)(((uintptr_t)sql >> 3) % (sizeof db->by_addr / sizeof *db->by_addr));
  if (db->by_addr[slot].sql == sql) return db->by_addr[slot].st;
  sq_stmt *st = sq_db_prep(db, sql, err);
  if (st && st->cached) {
    db->by_addr[slot].sql = sql;
    db->by_addr[slot].st = st;
  }
  return st;
}

static int pidx(sq_stmt *st, int n) { return (n > 0 && n <= MAX_PARAMS) ? st->map[n] : 0; }
static void sq_bind_int(sq_stmt *st, int n, int64_t v) { if (pidx(st, n)) sqlite3_bind_int64(st->st, pidx(st, n), v); }
static void sq_bind_double(sq_stmt *st, int n, double v) { if (pidx(st, n)) sqlite3_bind_double(st->st, pidx(st, n), v); }
static void sq_bind_null(sq_stmt *st, int n) { if (pidx(st, n)) sqlite3_bind_null(st->st, pidx(st, n)); }
static void sq_bind_text(sq_stmt *st, int n, const char *s) {
  if (!pidx(st, n)) return;
  if (s) sqlite3_bind_text(st->st, pidx(st, n), s, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st->st, pidx(st, n));
}

static int sq_step(sq_stmt *st, lp_err *err) {
  int rc = sqlite3_step(st->st);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  lp_fail(err, sqlite_code(rc), "database: %s", sqlite3_errmsg(st->db->h));
  return -1;
}

static int sq_col_count(sq_stmt *st) { return sqlite3_column_count(st->st); }
static const char *sq_col_name(sq_stmt *st, int i) { return sqlite3_column_name(st->st, i); }
static int sq_col_null(sq_stmt *st, int i) { return sqlite3_column_type(st->st, i) == SQLITE_NULL; }
static int sq_col_type(sq_stmt *st, int i) {
  switch (sqlite3_column_type(st->st, i)) {
    case SQLITE_INTEGER: return LP_COL_INT;
    case SQLITE_FLOAT: return LP_COL_REAL;
    case SQLITE_NULL: return LP_COL_NULL;
    default: return LP_COL_TEXT;
  }
}
static int64_t sq_col_int(sq_stmt *st, int i) { return sqlite3_column_int64(st->st, i); }
static double sq_col_double(sq_stmt *st, int i) { return sqlite3_column_double(st->st, i); }
static const char *sq_col_text(sq_stmt *st, int i) { return (const char *)sqlite3_column_text(st->st, i); }
/* The column's value object once, then its parts: one API call (each sqlite3_column_* call
 * checks the statement and its malloc state) instead of two or three. The connection is this
 * thread's alone, so the unprotected value may be read. */
static void sq_col_get(sq_stmt *st, int i, lp_colval *o) {
  sqlite3_value *v = sqlite3_column_value(st->st, i);
  switch (sqlite3_value_type(v)) {
    case SQLITE_NULL: *o = (lp_colval){LP_COL_NULL, 0, NULL, 0}; break;
    case SQLITE_INTEGER: *o = (lp_colval){LP_COL_INT, sqlite3_value_int64(v), NULL, 0}; break;
    default: {
      const char *t = (const char *)sqlite3_value_text(v);
      *o = (lp_colval){t ? LP_COL_TEXT : LP_COL_NULL, 0, t, t ? (size_t)sqlite3_value_bytes(v) : 0};
    }
  }
}

static void sq_stmt_done(sq_stmt *st) {
  if (!st) return;
  if (!st->cached) { stmt_free(st); return; }
  sqlite3_reset(st->st);
  sqlite3_clear_bindings(st->st);
}

static lp_code sq_db_exec(sq_db *db, const char *sql, lp_err *err) {
  char *msg = NULL;
  int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    lp_fail(err, sqlite_code(rc), "database: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return err ? err->code : sqlite_code(rc);
  }
  return LP_OK;
}

static int64_t sq_db_changes(sq_db *db) { return sqlite3_changes64(db->h); }

/* ---------------------------------------------------------------- store */

/* Process-wide SQLite settings, before the library initialises: no memory statistics (they
 * take one global mutex on every allocation, which every reader thread then queues on). */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;
static void sqlite_configure(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

static sq_store *sq_store_open(const char *url, lp_err *err) {
  pthread_once(&sqlite_once, sqlite_configure);
  const char *path = url;
  if (strncmp(url, "sqlite:", 7) == 0) path = url + 7;
  if (!*path) { lp_fail(err, LP_EBADREQ, "empty database path"); return NULL; }
  sq_store *s = calloc(1, sizeof *s);
  if (!s) { lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  s->base.ops = &lp_sqlite_ops;
  s->path = strdup(path);
  size_t plen = strlen(path);
  s->search_path = malloc(plen + sizeof "-search");
  if (!s->path || !s->search_path) {
    free(s->path); free(s->search_path); free(s);
    lp_fail(err, LP_EINTERNAL, "out of memory");
    return NULL;
  }
  memcpy(s->search_path, path, plen);
  memcpy(s->search_path + plen, "-search", sizeof "-search");
  pthread_mutex_init(&s->idx_mu, NULL);
  s->generation = __atomic_fetch_add(&next_generation, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, NULL);
  pthread_cond_init(&s->done, NULL);
  /* Open the indexer's connection now (it makes the search file's schema, which readers' queries
   * name) and one reader, so a bad path fails at start, not at the first request. */
  s->idb = db_open_as(s, DB_INDEXER, err);
  sq_db *probe = s->idb ? db_open(s, err) : NULL;
  if (!probe) { db_close(s->idb); free(s->search_path); free(s->path); free(s); return NULL; }
  s->readers = probe;
  lp_tls_slot *t = lp_tls_for(s, s->generation);
  t->gen = s->generation; t->store = s; t->db = probe;
  return s;
}

static const char *sq_store_path(const sq_store *s) { return s->path; }

static sq_db *sq_store_reader(sq_store *s, lp_err *err) {
  lp_tls_slot *mine = lp_tls_for(s, s->generation);
  if (mine->store == s && mine->gen == s->generation && mine->db) return mine->db;
  sq_db *db = db_open(s, err);
  if (!db) return NULL;
  pthread_mutex_lock(&s->mu);
  db->next_reader = s->readers;
  s->readers = db;
  pthread_mutex_unlock(&s->mu);
  mine->gen = s->generation; mine->store = s; mine->db = db;
  return db;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void sq_store_get_stats(sq_store *s, lp_store_stats *out) {
  pthread_mutex_lock(&s->mu);
  *out = s->stats;
  pthread_mutex_unlock(&s->mu);
}

/* Savepoint statements run for every write: keep them prepared rather than parse them each time
 * (they are literals: found by address). */
static void sq_run_cached(sq_db *db, const char *sql) {
  sq_stmt *st = sq_db_prep_static(db, sql, NULL);
  if (!st) { sq_db_exec(db, sql, NULL); return; }
  sq_step(st, NULL);
  sq_stmt_done(st);
}

static void run_batch(sq_store *s, wjob *batch, int n) {
  lp_err e = LP_ERR_INIT;
  lp_code rc = sq_db_exec(s->wdb, "BEGIN IMMEDIATE", &e);
  if (rc != LP_OK) {
    for (wjob *j = batch; j; j = j->next) { j->code = lp_fail(j->err, rc, "%s", e.message); }
    lp_err_release(&e);
    return;
  }
  int broken = 0;
  for (wjob *j = batch; j; j = j->next) {
    if (broken) { j->code = lp_fail(j->err, LP_EUNAVAILABLE, "database transaction failed"); continue; }
    sq_run_cached(s->wdb, "SAVEPOINT w");
    lp_tx_write_begin(&s->wdb->base);
    j->code = j->fn(&s->wdb->base, j->ctx, j->err);
    lp_tx_write_end(&s->wdb->base, j->code == LP_OK && !sqlite3_get_autocommit(s->wdb->h));
    if (sqlite3_get_autocommit(s->wdb->h)) {  /* SQLite rolled the whole transaction back */
      broken = 1;
      if (j->code == LP_OK) j->code = lp_fail(j->err, LP_EUNAVAILABLE, "database transaction failed");
      for (wjob *k = batch; k != j; k = k->next)
        if (k->code == LP_OK) k->code = lp_fail(k->err, LP_EUNAVAILABLE, "database transaction failed");
      continue;
    }
    if (j->code != LP_OK) sq_run_cached(s->wdb, "ROLLBACK TO w");
    sq_run_cached(s->wdb, "RELEASE w");
  }
  if (broken) { lp_tx_end(&s->wdb->base); return; }
  /* The summaries the writes added up (db.h), then the one COMMIT of them all. */
  rc = lp_tx_before_commit(&s->wdb->base, &e);
  lp_tx_end(&s->wdb->base);
  double t0 = now_us();
  int failed = 0;
  if (rc != LP_OK || sq_db_exec(s->wdb, "COMMIT", &e) != LP_OK) {
    failed = 1;
    sq_db_exec(s->wdb, "ROLLBACK", NULL);
    for (wjob *j = batch; j; j = j->next)
      if (j->code == LP_OK) j->code = lp_fail(j->err, LP_EUNAVAILABLE, "commit failed: %s", e.message);
  }
  lp_err_release(&e);
  pthread_mutex_lock(&s->mu);
  s->stats.commits++;
  s->stats.writes += (unsigned long long)n;
  s->stats.commit_us += (unsigned long long)(now_us() - t0);
  s->stats.failed += (unsigned long long)failed;
  pthread_mutex_unlock(&s->mu);
}

static void *writer_main(void *arg) {
  sq_store *s = arg;
  prctl(PR_SET_NAME, "lp-writer");  /* named in top -H and perf */
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
    run_batch(s, batch, n);
    pthread_mutex_lock(&s->mu);
    /* Still holding mu: no waiter can return (and free its job) before we are through. */
    for (wjob *j = batch; j; j = j->next) {
      j->done = 1;
      pthread_cond_signal(&j->cv);
    }
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

#define WAL_RESTART_FRAMES 4096   /* 16 MiB of WAL */

/* Under a steady stream of commits the checkpointer never quite catches up (frames keep coming
 * while it copies), so the WAL would never start over: it grows without end, every new WAL block
 * costs the writer a file extension (zeroed pages) and every reader a longer WAL index. So after
 * a commit that leaves more than WAL_RESTART_FRAMES in the WAL, the writer copies what the
 * checkpointer has not yet (little: it runs four times a second) between two of its own
 * transactions, where nothing new arrives; the next transaction then writes the WAL from its
 * beginning again (the file is kept, its blocks are reused). If the checkpointer holds the
 * checkpoint lock just then, the passive call returns at once and the next commit tries again.
 * Waking the checkpointer more often (every 4 MiB of WAL) was tried and measured slower: each
 * checkpoint ends with an fsync of the database file, which the WAL's fsync then waits behind
 * (commits 1.1-1.7 ms instead of 0.8-1.5, creates -10% over 10 A/B pairs). */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int frames) {
  (void)arg;
  if (frames > WAL_RESTART_FRAMES) sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  return SQLITE_OK;
}

/* The checkpointer: SQLite would otherwise checkpoint inside a writer's COMMIT whenever the WAL
 * passes 1,000 pages, stalling every request of that batch behind random writes into a large
 * database file. Here the writer never checkpoints (wal_autocheckpoint=0); this thread copies
 * the WAL back in PASSIVE mode a few times a second, which never blocks the writer or readers. */
static void *checkpointer_main(void *arg) {
  sq_store *s = arg;
  prctl(PR_SET_NAME, "lp-checkpoint");  /* named in top -H and perf */
  lp_err e = LP_ERR_INIT;
  sq_db *db = db_open_as(s, DB_WRITER, &e);  /* the database alone (the search file checkpoints itself) */
  lp_err_release(&e);
  pthread_mutex_lock(&s->mu);
  while (!s->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 250 * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(&s->ckpt_cv, &s->mu, &until);
    if (s->stopping || !db || s->stats.writes == s->ckpt_seen) continue;
    s->ckpt_seen = s->stats.writes;
    pthread_mutex_unlock(&s->mu);
    sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  db_close(db);
  return NULL;
}

static lp_code sq_store_write(sq_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  wjob j = {fn, ctx, err, LP_OK, 0, PTHREAD_COND_INITIALIZER, NULL};
  pthread_mutex_lock(&s->mu);
  if (!s->writer_started) {
    lp_err e = LP_ERR_INIT;
    s->wdb = db_open_as(s, DB_WRITER, &e);
    if (s->wdb) sqlite3_wal_autocheckpoint(s->wdb->h, 0);
    if (s->wdb) sqlite3_wal_hook(s->wdb->h, wal_hook, NULL);
    if (!s->wdb || pthread_create(&s->writer, NULL, writer_main, s) != 0) {
      pthread_mutex_unlock(&s->mu);
      lp_code c = lp_fail(err, LP_EUNAVAILABLE, "cannot start the writer: %s", e.message);
      lp_err_release(&e);
      return c;
    }
    pthread_cond_init(&s->ckpt_cv, NULL);
    if (pthread_create(&s->checkpointer, NULL, checkpointer_main, s) != 0) sqlite3_wal_autocheckpoint(s->wdb->h, 1000);
    else s->writer_started = 2;  /* 2: the checkpointer runs too */
    if (s->writer_started != 2) s->writer_started = 1;
  }
  if (s->stopping) {
    pthread_mutex_unlock(&s->mu);
    return lp_fail(err, LP_EUNAVAILABLE, "the store is shutting down");
  }
  if (s->tail) s->tail->next = &j; else s->head = &j;
  s->tail = &j;
  pthread_cond_signal(&s->work);
  while (!j.done) pthread_cond_wait(&j.cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  pthread_cond_destroy(&j.cv);
  return j.code;
}

static lp_code sq_store_write_direct(sq_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  sq_db *db = sq_store_reader(s, err);
  if (!db) return err->code;
  lp_code rc = sq_db_exec(db, "BEGIN IMMEDIATE", err);
  if (rc != LP_OK) return rc;
  lp_tx_write_begin(&db->base);
  rc = fn(&db->base, ctx, err);
  lp_tx_write_end(&db->base, rc == LP_OK);
  if (rc == LP_OK) rc = lp_tx_before_commit(&db->base, err);
  lp_tx_end(&db->base);
  if (rc != LP_OK) { sq_db_exec(db, "ROLLBACK", NULL); return rc; }
  rc = sq_db_exec(db, "COMMIT", err);
  if (rc != LP_OK) sq_db_exec(db, "ROLLBACK", NULL);
  return rc;
}

static void sq_store_close(sq_store *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_cond_broadcast(&s->work);
  int started = s->writer_started;
  if (started == 2) pthread_cond_signal(&s->ckpt_cv);
  pthread_mutex_unlock(&s->mu);
  if (started) pthread_join(s->writer, NULL);
  if (started == 2) { pthread_join(s->checkpointer, NULL); pthread_cond_destroy(&s->ckpt_cv); }
  db_close(s->wdb);
  db_close(s->idb);
  pthread_mutex_destroy(&s->idx_mu);
  for (sq_db *r = s->readers, *n; r; r = n) { n = r->next_reader; db_close(r); }
  lp_tls_forget(s);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->work);
  pthread_cond_destroy(&s->done);
  free(s->search_path);
  free(s->path);
  free(s);
}

/* The indexer's connection, for one thread at a time (see leads.c: lp_lead_index_sync). */
static sq_db *sq_store_indexer(sq_store *s) {
  pthread_mutex_lock(&s->idx_mu);
  return s->idb;
}
static void sq_store_indexer_done(sq_store *s) { pthread_mutex_unlock(&s->idx_mu); }

/* ---------------------------------------------------------------- engine differences (db.h) */

/* BEGIN and COMMIT of a read transaction: literals, kept prepared (found by address). */
static lp_code sq_read_begin(sq_db *db, lp_err *err) {
  sq_stmt *st = sq_db_prep_static(db, "BEGIN", err);
  if (!st) return err ? err->code : LP_EINTERNAL;
  int rc = sq_step(st, err);
  sq_stmt_done(st);
  return rc < 0 ? (err ? err->code : LP_EINTERNAL) : LP_OK;
}
static void sq_read_end(sq_db *db) {
  sq_stmt *st = sq_db_prep_static(db, "COMMIT", NULL);
  if (!st) return;
  sq_step(st, NULL);
  sq_stmt_done(st);
}

/* The id of an inserted row is the rowid SQLite has just written: no RETURNING (which answers
 * through a temporary table per statement). */
static sq_stmt *sq_prep_insert(sq_db *db, const char *sql, int is_static, lp_err *err) {
  return is_static ? sq_db_prep_static(db, sql, err) : sq_db_prep(db, sql, err);
}
static int sq_step_insert(sq_stmt *st, int64_t *id, lp_err *err) {
  int rc = sq_step(st, err);
  *id = rc >= 0 ? (int64_t)sqlite3_last_insert_rowid(st->db->h) : 0;
  return rc < 0 ? -1 : 0;
}

static const char *sq_dialect_word(const char *w, size_t n) {
  static const struct { const char *word, *sql; } words[] = {
    {"id", "INTEGER PRIMARY KEY"},  /* the rowid itself */
    {"int64", "INTEGER"},           /* every SQLite integer is 64-bit */
    {"skip_locked", ""},            /* the single writer holds every row it reads */
  };
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strlen(words[i].word) == n && !memcmp(words[i].word, w, n)) return words[i].sql;
  return NULL;
}

/* A value of COPY's text format, unescaped into b; returns where it ends (at a tab, a newline
 * or the end). *null: it was \N. */
static const char *copy_value(const char *p, const char *end, lp_buf *b, int *null) {
  lp_buf_reset(b);
  *null = end - p >= 2 && p[0] == '\\' && p[1] == 'N' && (end - p == 2 || p[2] == '\t' || p[2] == '\n');
  if (*null) return p + 2;
  for (; p < end && *p != '\t' && *p != '\n'; p++) {
    char c = *p;
    if (c == '\\' && p + 1 < end) {
      c = *++p;
      if (c == 't') c = '\t'; else if (c == 'n') c = '\n'; else if (c == 'r') c = '\r';
      else if (c == 'b') c = '\b'; else if (c == 'f') c = '\f'; else if (c == 'v') c = '\v';
    }
    lp_buf_add(b, &c, 1);
  }
  return p;
}

/* An integer written plainly (no sign but -, no leading zero, within 64 bits). */
static int plain_int(const char *s, size_t len, int64_t *v) {
  const char *d = s + (len && s[0] == '-');
  size_t nd = len - (size_t)(d - s);
  if (nd == 0 || nd > 19 || (d[0] == '0' && nd > 1) || (d[0] == '0' && d != s)) return 0;
  for (size_t i = 0; i < nd; i++) if (!isdigit((unsigned char)d[i])) return 0;
  errno = 0;
  long long x = strtoll(s, NULL, 10);
  if (errno) return 0;
  *v = x;
  return 1;
}

/* The rows one prepared INSERT each: in the caller's transaction they cost no more than a COPY. */
static lp_code sq_bulk_insert(sq_db *db, const char *table, const char *const *cols, int ncols,
                              const char *data, size_t len, lp_err *err) {
  if (ncols < 1 || ncols > MAX_PARAMS) return lp_fail(err, LP_EINTERNAL, "bulk insert of %d columns", ncols);
  lp_buf q = LP_BUF_INIT(1 << 16), v = LP_BUF_INIT((size_t)1 << 30);
  lp_buf_printf(&q, "INSERT INTO %s(", table);
  for (int i = 0; i < ncols; i++) lp_buf_printf(&q, "%s%s", i ? ", " : "", cols[i]);
  lp_buf_puts(&q, ") VALUES (");
  for (int i = 0; i < ncols; i++) lp_buf_printf(&q, "%s$%d", i ? ", " : "", i + 1);
  lp_buf_puts(&q, ")");
  sq_stmt *st = sq_db_prep(db, lp_buf_str(&q), err);
  lp_code rc = st ? LP_OK : err->code;
  const char *p = data, *end = data + len;
  while (rc == LP_OK && p < end) {
    for (int i = 0; i < ncols; i++) {
      int null;
      p = copy_value(p, end, &v, &null);
      int64_t n;
      if (null) sq_bind_null(st, i + 1);
      else if (plain_int(lp_buf_str(&v), v.len, &n)) sq_bind_int(st, i + 1, n);
      else sq_bind_text(st, i + 1, lp_buf_str(&v));
      if (i == ncols - 1) break;
      if (p >= end || *p != '\t') { rc = lp_fail(err, LP_EINTERNAL, "bulk insert into %s: fewer values than %d columns", table, ncols); break; }
      p++;
    }
    if (rc == LP_OK && p < end && *p != '\n')
      rc = lp_fail(err, LP_EINTERNAL, "bulk insert into %s: more values than %d columns", table, ncols);
    if (rc == LP_OK && sq_step(st, err) < 0) rc = err->code;
    sqlite3_reset(st->st);
    sqlite3_clear_bindings(st->st);
    if (p < end) p++;
  }
  if (st) sq_stmt_done(st);
  lp_buf_release(&q);
  lp_buf_release(&v);
  return rc;
}

/* Past the largest id: the single writer inserts nothing else in between. */
static lp_code sq_reserve_ids(sq_db *db, const char *table, int n, int64_t *out, lp_err *err) {
  char q[160];
  snprintf(q, sizeof q, "SELECT coalesce(max(id), 0) FROM %s", table);
  sq_stmt *st = sq_db_prep(db, q, err);
  if (!st) return err->code;
  int rc = sq_step(st, err);
  int64_t max = rc == 1 ? sq_col_int(st, 0) : 0;
  sq_stmt_done(st);
  if (rc < 0) return err->code;
  for (int i = 0; i < n; i++) out[i] = max + 1 + i;
  return LP_OK;
}

/* What a person typed as an FTS5 query: each word a quoted prefix term, all required. */
static char *fts_query(const char *s) {
  lp_buf b = LP_BUF_INIT(4096);
  const char *p = s;
  while (*p) {
    while (*p && (isspace((unsigned char)*p) || *p == '"')) p++;
    if (!*p) break;
    const char *start = p;
    while (*p && !isspace((unsigned char)*p) && *p != '"') p++;
    /* Skip words with nothing searchable in them (only punctuation). */
    int alnum = 0;
    for (const char *x = start; x < p; x++) if (isalnum((unsigned char)*x) || (unsigned char)*x >= 0x80) alnum = 1;
    if (!alnum) continue;
    if (b.len) lp_buf_puts(&b, " ");
    lp_buf_puts(&b, "\"");
    lp_buf_add(&b, start, (size_t)(p - start));
    lp_buf_puts(&b, "\"*");
  }
  if (b.overflow || !b.len) { lp_buf_release(&b); return NULL; }
  return lp_buf_detach(&b);
}

/* The index in the search file is complete unless a rebuild runs (leads.c): then say so rather
 * than answer with part of the matches. */
static lp_code sq_search_cond(sq_db *db, const char *text, const char **cond, char **param, lp_err *err) {
  sq_stmt *st = sq_db_prep_static(db, "SELECT coalesce((SELECT value FROM search.fts_state WHERE key = 'rebuild'), 1)", err);
  if (!st) return err->code;
  int rc = sq_step(st, err);
  int64_t rebuild = rc == 1 ? sq_col_int(st, 0) : 1;
  sq_stmt_done(st);
  if (rc < 0) return err->code;
  if (rebuild != 0)
    return lp_fail(err, LP_EUNAVAILABLE, "The search index is being rebuilt (after an upgrade or a restore); search again in a minute");
  *param = fts_query(text);
  *cond = "id IN (SELECT rowid FROM search.leads_fts WHERE leads_fts MATCH $%d)";
  return LP_OK;
}

/* Each lead's id into fts_log, in the lead's own transaction; the indexer writes the entries in
 * batches beside the writer (leads.c: lp_lead_index_sync). */
static lp_code sq_search_put(sq_db *db, const lp_search_doc *docs, int n, lp_err *err) {
  for (int i = 0; i < n; i++) {
    sq_stmt *st = sq_db_prep_static(db, "INSERT INTO fts_log(lead_id) VALUES ($1)", err);
    if (!st) return err->code;
    sq_bind_int(st, 1, docs[i].id);
    int rc = sq_step(st, err);
    sq_stmt_done(st);
    if (rc < 0) return err->code;
  }
  return LP_OK;
}

/* The online backup API copies a consistent snapshot while the server keeps writing. All pages go
 * in one step, inside one read transaction: copied step by step, the copy starts over whenever
 * another connection writes, and on a busy server it never finishes. In WAL mode the read
 * transaction blocks no writer, so the copy takes time in proportion to the database's size
 * whatever the write rate. It is written beside FILE and renamed into place when whole, so FILE
 * is never a half-written database. */
static lp_code sq_store_backup(sq_store *s, const char *file, const char **format, lp_err *err) {
  *format = "SQLite database file";
  sq_db *db = sq_store_reader(s, err);
  if (!db) return err->code;
  lp_buf tmp = LP_BUF_INIT(4096 + 16);
  lp_buf_printf(&tmp, "%s.partial", file);
  unlink(lp_buf_str(&tmp));
  sqlite3 *dst = NULL;
  lp_code rc = LP_OK;
  if (sqlite3_open(lp_buf_str(&tmp), &dst) != SQLITE_OK) {
    rc = lp_fail(err, LP_EUNAVAILABLE, "cannot open %s", lp_buf_str(&tmp));
  } else {
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", db->h, "main");
    int st = SQLITE_ERROR;
    if (b) {
      while ((st = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || st == SQLITE_LOCKED) sqlite3_sleep(5);
      sqlite3_backup_finish(b);
    }
    if (st != SQLITE_DONE) rc = lp_fail(err, LP_EUNAVAILABLE, "backup failed: %s", sqlite3_errmsg(dst));
  }
  if (sqlite3_close(dst) != SQLITE_OK && rc == LP_OK) rc = lp_fail(err, LP_EUNAVAILABLE, "backup failed: could not close %s", lp_buf_str(&tmp));
  if (rc == LP_OK) {
    int fd = open(lp_buf_str(&tmp), O_RDONLY);
    if (fd < 0 || fsync(fd) != 0 || rename(lp_buf_str(&tmp), file) != 0)
      rc = lp_fail(err, LP_EUNAVAILABLE, "backup failed: could not write %s", file);
    if (fd >= 0) close(fd);
  }
  if (rc != LP_OK) unlink(lp_buf_str(&tmp));
  lp_buf_release(&tmp);
  return rc;
}

/* ---------------------------------------------------------------- the ops table (see db.h) */

#define SQS(x) ((sq_stmt *)(x))
#define SQD(x) ((sq_db *)(x))
static lp_store *op_store_open(const char *url, lp_err *err) { sq_store *s = sq_store_open(url, err); return s ? &s->base : NULL; }
static void op_store_close(lp_store *s) { sq_store_close((sq_store *)s); }
static const char *op_store_path(const lp_store *s) { return sq_store_path((const sq_store *)s); }
static lp_db *op_store_reader(lp_store *s, lp_err *err) { sq_db *db = sq_store_reader((sq_store *)s, err); return db ? &db->base : NULL; }
static lp_code op_store_write(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) { return sq_store_write((sq_store *)s, fn, ctx, err); }
static lp_code op_store_write_direct(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) { return sq_store_write_direct((sq_store *)s, fn, ctx, err); }
static void op_store_get_stats(lp_store *s, lp_store_stats *out) { sq_store_get_stats((sq_store *)s, out); }
static lp_stmt *op_prep(lp_db *db, const char *sql, lp_err *err) { sq_stmt *st = sq_db_prep(SQD(db), sql, err); return st ? &st->base : NULL; }
static lp_stmt *op_prep_static(lp_db *db, const char *sql, lp_err *err) { sq_stmt *st = sq_db_prep_static(SQD(db), sql, err); return st ? &st->base : NULL; }
static void op_bind_int(lp_stmt *st, int n, int64_t v) { sq_bind_int(SQS(st), n, v); }
static void op_bind_double(lp_stmt *st, int n, double v) { sq_bind_double(SQS(st), n, v); }
static void op_bind_text(lp_stmt *st, int n, const char *v) { sq_bind_text(SQS(st), n, v); }
static void op_bind_null(lp_stmt *st, int n) { sq_bind_null(SQS(st), n); }
static int op_step(lp_stmt *st, lp_err *err) { return sq_step(SQS(st), err); }
static int op_col_count(lp_stmt *st) { return sq_col_count(SQS(st)); }
static const char *op_col_name(lp_stmt *st, int i) { return sq_col_name(SQS(st), i); }
static int op_col_null(lp_stmt *st, int i) { return sq_col_null(SQS(st), i); }
static int op_col_type(lp_stmt *st, int i) { return sq_col_type(SQS(st), i); }
static int64_t op_col_int(lp_stmt *st, int i) { return sq_col_int(SQS(st), i); }
static double op_col_double(lp_stmt *st, int i) { return sq_col_double(SQS(st), i); }
static const char *op_col_text(lp_stmt *st, int i) { return sq_col_text(SQS(st), i); }
static void op_col_get(lp_stmt *st, int i, lp_colval *o) { sq_col_get(SQS(st), i, o); }
static void op_stmt_done(lp_stmt *st) { sq_stmt_done(SQS(st)); }
static lp_code op_exec(lp_db *db, const char *sql, lp_err *err) { return sq_db_exec(SQD(db), sql, err); }
static int64_t op_changes(lp_db *db) { return sq_db_changes(SQD(db)); }
static unsigned op_db_generation(lp_db *db) { return SQD(db)->store->generation; }
static lp_db *op_store_indexer(lp_store *s) { return &sq_store_indexer((sq_store *)s)->base; }
static void op_store_indexer_done(lp_store *s) { sq_store_indexer_done((sq_store *)s); }

static lp_code op_read_begin(lp_db *db, lp_err *err) { return sq_read_begin(SQD(db), err); }
static void op_read_end(lp_db *db) { sq_read_end(SQD(db)); }
static lp_stmt *op_prep_insert(lp_db *db, const char *sql, int is_static, lp_err *err) {
  sq_stmt *st = sq_prep_insert(SQD(db), sql, is_static, err);
  return st ? &st->base : NULL;
}
static int op_step_insert(lp_stmt *st, int64_t *id, lp_err *err) { return sq_step_insert(SQS(st), id, err); }
static lp_code op_bulk_insert(lp_db *db, const char *table, const char *const *cols, int ncols, const char *data,
                              size_t len, lp_err *err) { return sq_bulk_insert(SQD(db), table, cols, ncols, data, len, err); }
static lp_code op_reserve_ids(lp_db *db, const char *table, int n, int64_t *out, lp_err *err) { return sq_reserve_ids(SQD(db), table, n, out, err); }
static lp_code op_search_cond(lp_db *db, const char *text, const char **cond, char **param, lp_err *err) {
  return sq_search_cond(SQD(db), text, cond, param, err);
}
static lp_code op_search_put(lp_db *db, const lp_search_doc *docs, int n, lp_err *err) { return sq_search_put(SQD(db), docs, n, err); }
static lp_code op_store_backup(lp_store *s, const char *file, const char **format, lp_err *err) {
  return sq_store_backup((sq_store *)s, file, format, err);
}

const lp_db_ops lp_sqlite_ops = {
  .engine = LP_ENGINE_SQLITE, .store_open = op_store_open, .store_close = op_store_close, .store_path = op_store_path,
  .store_reader = op_store_reader, .store_write = op_store_write, .store_append = op_store_write /* the group-commit writer */,
  .store_write_direct = op_store_write_direct, .store_get_stats = op_store_get_stats, .prep = op_prep,
  .bind_int = op_bind_int, .bind_double = op_bind_double, .bind_text = op_bind_text, .bind_null = op_bind_null,
  .step = op_step, .col_count = op_col_count, .col_name = op_col_name, .col_null = op_col_null, .col_type = op_col_type,
  .col_int = op_col_int, .col_double = op_col_double, .col_text = op_col_text, .stmt_done = op_stmt_done,
  .exec = op_exec, .changes = op_changes, .col_get = op_col_get, .prep_static = op_prep_static,
  .store_indexer = op_store_indexer, .store_indexer_done = op_store_indexer_done, .db_generation = op_db_generation,
  .read_begin = op_read_begin, .read_end = op_read_end, .prep_insert = op_prep_insert, .step_insert = op_step_insert,
  .dialect_word = sq_dialect_word, .bulk_insert = op_bulk_insert, .reserve_ids = op_reserve_ids,
  .search_cond = op_search_cond, .search_put = op_search_put, .store_backup = op_store_backup,
  /* no COPY, no schema lock (each migration's write lock), ids follow rowids, no address rows */
};
