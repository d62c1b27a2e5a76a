/* db.h — the connection layer under the store: statements in the shared `$N` dialect,
 * rows, and the group-commit writer.
 *
 * SQL is written once with PostgreSQL-style `$1..$N` placeholders. The SQLite backend binds
 * them by name (SQLite accepts `$1` as a parameter name), so the same text runs on both
 * engines; engine-specific SQL (full text, upserts, job claiming) asks lp_db_engine().
 *
 * Reading: any thread calls lp_store_reader(store) to get its own read connection (WAL: readers
 * never wait for the writer). Writing: lp_store_write(store, fn, ctx, err) hands `fn` to the
 * single writer thread, which runs everything queued in one transaction, each call inside its
 * own savepoint (one failure rolls back only that call), commits once with synchronous=FULL,
 * and only then returns. So a return of LP_OK means the write is on disk.
 */
#ifndef LP_STORE_DB_H
#define LP_STORE_DB_H
#include <stddef.h>
#include <stdint.h>
#include "leadpath/error.h"

typedef struct lp_store lp_store;  /* the database: reader connections + writer */
typedef struct lp_db lp_db;        /* one connection, used by one thread at a time */
typedef struct lp_stmt lp_stmt;    /* a prepared statement of one connection */

typedef enum { LP_ENGINE_SQLITE = 1, LP_ENGINE_PG = 2 } lp_engine;

/* Opens "sqlite:PATH" (or a bare path), or "postgres://..." / "postgresql://..." (a libpq
 * connection URI; pg.c says how writes work there). Runs no migrations. Returns NULL with err set. The
 * caller owns the store and frees it with lp_store_close(), which drains the writer first. */
lp_store *lp_store_open(const char *url, lp_err *err);
void lp_store_close(lp_store *s);
lp_engine lp_store_engine(const lp_store *s);
const char *lp_store_path(const lp_store *s);

/* The calling thread's read connection (opened on first use, owned by the store). */
lp_db *lp_store_reader(lp_store *s, lp_err *err);

/* Gives the calling thread's read connection back (PostgreSQL: to the pool, for another thread;
 * SQLite: nothing to do, each thread keeps its own). The next lp_store_reader takes one again. */
void lp_store_release(lp_store *s);
/* PostgreSQL: the most connections this store opens (default 16). SQLite: ignored. */
void lp_store_set_pool(lp_store *s, int max);

/* A unit of writing: runs on the writer thread inside a savepoint. Returns LP_OK or an error
 * (set in err), in which case everything it wrote is rolled back. */
typedef lp_code (*lp_write_fn)(lp_db *db, void *ctx, lp_err *err);
/* Runs fn durably (see top). Blocks until committed. Returns fn's code, or LP_EINTERNAL /
 * LP_EUNAVAILABLE if the commit failed. */
lp_code lp_store_write(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err);

/* A write that must commit exactly when the calling thread's next write does (a request's
 * Idempotency-Key taken together with what the request changes). lp_store_ride arms it for this
 * thread: the next lp_store_write or lp_store_append of this thread runs fn, then (if fn
 * succeeded) rider in the same transaction and savepoint; a failure of either rolls back both
 * and the rider stays armed for the thread's next write, until one commits.
 * lp_store_ride_end disarms it and answers 1 if it committed with a write, else 0. */
void lp_store_ride(lp_write_fn rider, void *ctx);
int lp_store_ride_end(void);

/* A write that only adds new rows and decides nothing on what it reads (an import batch). SQLite:
 * lp_store_write. PostgreSQL: READ COMMITTED, beside the other writes of the process instead of
 * taking turns with them. */
lp_code lp_store_append(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err);

/* Counters of the writer since open: transactions committed, writes they carried, and the
 * total microseconds spent committing (the fsync). For /metrics. */
typedef struct lp_store_stats { unsigned long long commits, writes, commit_us, failed; } lp_store_stats;
void lp_store_get_stats(lp_store *s, lp_store_stats *out);

/* Runs fn in its own transaction on the calling thread's writer-less connection; for the CLI
 * and migrations (no concurrency with a server assumed beyond SQLite's own locking). */
lp_code lp_store_write_direct(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err);

/* The connection that writes the full-text index where the backend keeps it apart from the
 * leads (SQLite: a file of its own, attached as `search` to it and to every reader, so its writes
 * never hold the group-commit writer), for the calling thread alone until lp_store_indexer_done.
 * NULL where the index is written with the lead (PostgreSQL). See leads.c: lp_lead_index_sync. */
lp_db *lp_store_indexer(lp_store *s);
void lp_store_indexer_done(lp_store *s);

/* A number that tells this connection's store from every other store the process has opened
 * (engine and open count), for caches of what was read through it. */
uint64_t lp_db_origin(lp_db *db);

/* Statements. lp_db_prep caches by SQL text per connection; the statement is reset and its
 * bindings cleared when lp_stmt_done is called (always call it, also after errors). */
lp_stmt *lp_db_prep(lp_db *db, const char *sql, lp_err *err);
/* The same for SQL text that never changes at that address (a literal, a buffer built once):
 * found again by its address, without hashing and comparing the text (a lead's SELECT is
 * 700 bytes, read on every GET). */
lp_stmt *lp_db_prep_static(lp_db *db, const char *sql, lp_err *err);
void lp_bind_int(lp_stmt *st, int n, int64_t v);        /* binds $n */
void lp_bind_double(lp_stmt *st, int n, double v);
void lp_bind_text(lp_stmt *st, int n, const char *s);   /* NULL binds NULL; text is copied */
void lp_bind_null(lp_stmt *st, int n);
/* 1 = a row is ready, 0 = done, -1 = error (err set; constraint violations give LP_ECONFLICT). */
int lp_step(lp_stmt *st, lp_err *err);
int lp_col_count(lp_stmt *st);
const char *lp_col_name(lp_stmt *st, int i);
int lp_col_null(lp_stmt *st, int i);
enum { LP_COL_NULL, LP_COL_INT, LP_COL_REAL, LP_COL_TEXT };
int lp_col_type(lp_stmt *st, int i);                     /* the value's type in this row */
int64_t lp_col_int(lp_stmt *st, int i);
double lp_col_double(lp_stmt *st, int i);
const char *lp_col_text(lp_stmt *st, int i);            /* valid until the next step; NULL for NULL */
/* Column i in one call: its type and its value (text with its length, valid until the next
 * step; a real number comes as text). On SQLite one library call where lp_col_null then
 * lp_col_int or lp_col_text take two, for writers of many columns (a list page of leads). */
typedef struct lp_colval { int type; int64_t i; const char *s; size_t len; } lp_colval;
void lp_col_get(lp_stmt *st, int i, lp_colval *out);
void lp_stmt_done(lp_stmt *st);

/* Runs one statement that returns no rows (or ignores them). Returns LP_OK or the error. */
lp_code lp_db_exec(lp_db *db, const char *sql, lp_err *err);
/* Runs a statement with up to 8 integer/text params given as strings/ints via the prepared
 * statement API; convenience for one-shot writes. Rows affected by the last write. */
int64_t lp_db_changes(lp_db *db);
lp_engine lp_db_engine(lp_db *db);
/* Handle for the SQLite backend's own features (backup). NULL on other engines. */
void *lp_db_native(lp_db *db);
/* PostgreSQL: runs `COPY ... FROM STDIN` (sql) with data as its rows in text format. Other
 * engines: LP_EINTERNAL (callers ask lp_db_engine first). */
lp_code lp_db_copy_in(lp_db *db, const char *sql, const char *data, size_t len, lp_err *err);

/* ---------------------------------------------------------------- backends
 * Everything above is the interface callers use; db.c dispatches each call through the ops
 * table of the handle's engine. A backend (sqlite.c, pg.c) embeds the base struct below as the
 * first member of its own store, connection and statement, sets `ops`, and fills one table.
 * lp_store_open picks the backend by URL: postgres:// or postgresql:// is PostgreSQL,
 * anything else (sqlite:PATH or a bare path) SQLite. Callers never use this part. */
typedef struct lp_db_ops {
  lp_engine engine;
  lp_store *(*store_open)(const char *url, lp_err *err);
  void (*store_close)(lp_store *s);
  const char *(*store_path)(const lp_store *s);
  lp_db *(*store_reader)(lp_store *s, lp_err *err);
  void (*store_release)(lp_store *s);                   /* may be NULL: nothing to give back */
  void (*store_set_pool)(lp_store *s, int max);         /* may be NULL: no pool */
  lp_code (*store_write)(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err);
  lp_code (*store_append)(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err);
  lp_code (*store_write_direct)(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err);
  void (*store_get_stats)(lp_store *s, lp_store_stats *out);
  lp_stmt *(*prep)(lp_db *db, const char *sql, lp_err *err);
  void (*bind_int)(lp_stmt *st, int n, int64_t v);
  void (*bind_double)(lp_stmt *st, int n, double v);
  void (*bind_text)(lp_stmt *st, int n, const char *s);
  void (*bind_null)(lp_stmt *st, int n);
  int (*step)(lp_stmt *st, lp_err *err);
  int (*col_count)(lp_stmt *st);
  const char *(*col_name)(lp_stmt *st, int i);
  int (*col_null)(lp_stmt *st, int i);
  int (*col_type)(lp_stmt *st, int i);
  int64_t (*col_int)(lp_stmt *st, int i);
  double (*col_double)(lp_stmt *st, int i);
  const char *(*col_text)(lp_stmt *st, int i);
  void (*stmt_done)(lp_stmt *st);
  lp_code (*exec)(lp_db *db, const char *sql, lp_err *err);
  int64_t (*changes)(lp_db *db);
  void *(*native)(lp_db *db);
  lp_code (*copy_in)(lp_db *db, const char *sql, const char *data, size_t len, lp_err *err);  /* may be NULL */
  void (*col_get)(lp_stmt *st, int i, lp_colval *out);  /* may be NULL: col_type, then col_int or col_text */
  lp_stmt *(*prep_static)(lp_db *db, const char *sql, lp_err *err);  /* may be NULL: prep */
  lp_db *(*store_indexer)(lp_store *s);                 /* may be NULL: the index is written with the lead */
  void (*store_indexer_done)(lp_store *s);
  unsigned (*db_generation)(lp_db *db);                 /* its store's generation (see lp_db_origin) */
} lp_db_ops;

/* For backends: the connection this thread holds for a store, one slot per store (a command such
 * as `copy` uses two stores at once). A slot is the store's when store and gen (the store's
 * generation: a new store at a reused address has another) match; lp_tls_for returns that slot,
 * else a free or stale one to fill. lp_tls_forget empties the calling thread's slots of a store. */
typedef struct lp_tls_slot { unsigned gen; const void *store; void *db; } lp_tls_slot;
lp_tls_slot *lp_tls_for(const void *store, unsigned gen);
void lp_tls_forget(const void *store);

struct lp_store { const lp_db_ops *ops; };
struct lp_db { const lp_db_ops *ops; };
struct lp_stmt { const lp_db_ops *ops; };

extern const lp_db_ops lp_sqlite_ops;  /* sqlite.c */
extern const lp_db_ops lp_pg_ops;      /* pg.c */
#endif

