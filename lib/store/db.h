/* db.h — the connection layer under the store: statements in the shared `$N` dialect,
 * rows, and the group-commit writer.
 *
 * SQL is written once with PostgreSQL-style `$1..$N` placeholders. The SQLite backend binds
 * them by name (SQLite accepts `$1` as a parameter name), so the same text runs on both
 * engines. What differs between the engines is behind an operation of this interface (search,
 * job claiming, bulk inserts, the id of an inserted row, the schema's types: "Engine
 * differences" below), implemented by each backend; callers never ask which engine they use.
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
#include "util/buf.h"

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
/* Waits until a write of this process commits after the commit count `seen`, or timeout_ms
 * pass; answers the count now (0 and timeout 0: just read it). */
uint64_t lp_store_commit_wait(uint64_t seen, int timeout_ms);

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

/* Summaries written once per transaction (kept counters such as store/reports.c's). A write that
 * changes many rows' summary adds its part in memory; the backend writes what every write of the
 * transaction added up to, once, just before COMMIT (SQLite: once per group commit, whatever number
 * of writes it carries; PostgreSQL: once per write, each its own transaction). So the summary stays
 * in the same transaction as the change (exact after a crash) at the cost of one flush per commit.
 *
 * A kind describes one summary (a static struct; up to LP_SUMMARY_KINDS kinds). lp_db_summary
 * answers the calling write's own part of it (made on first use), to add to; NULL when db is not
 * running a write of lp_store_write / lp_store_append / lp_store_write_direct (a test's own
 * transaction): the caller then writes its part at once. When the write succeeds its part is
 * merged into the transaction's; when it fails (its savepoint rolled back) the part is dropped, so
 * only what is committed is counted. A flush that fails fails the whole transaction (SQLite: every
 * write of the group answers LP_EUNAVAILABLE, nothing is committed).
 * A write that reads the summary's rows or replaces them (a rebuild) first calls
 * lp_db_summary_flush: what the transaction and the write hold so far is written there and then
 * (inside the write: if it is rolled back, the transaction's part is written again at commit). */
#define LP_SUMMARY_KINDS 4
typedef struct lp_summary_kind {
  void *(*make)(void);                                 /* a new, empty part (NULL: out of memory) */
  int (*merge)(void *into, const void *from);          /* adds from to into; 0, or -1 out of memory */
  lp_code (*flush)(lp_db *db, const void *part, lp_err *err);  /* writes part's rows (part unchanged) */
  void (*clear)(void *part);                           /* empties it */
  void (*drop)(void *part);                            /* frees it */
} lp_summary_kind;
void *lp_db_summary(lp_db *db, const lp_summary_kind *kind);
lp_code lp_db_summary_flush(lp_db *db, const lp_summary_kind *kind, lp_err *err);

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
/* Rows affected by the last write. */
int64_t lp_db_changes(lp_db *db);

/* A read transaction on a reader connection: one snapshot, and on SQLite one lock round trip
 * (and one page-cache check) instead of one per statement. BEGIN/COMMIT stay prepared. */
lp_code lp_read_begin(lp_db *db, lp_err *err);
void lp_read_end(lp_db *db);

/* ---------------------------------------------------------------- engine differences
 * Each is one operation with the same meaning on every engine; sqlite.c and pg.c say how. */

/* The engine, for what a person reads (logs, `leadpath version`) and for tests; code that works
 * with the database uses the operations below instead of asking. */
lp_engine lp_db_engine(lp_db *db);

/* An INSERT of one row into a table with an `id` column, whose new id the caller wants. sql is
 * the INSERT without RETURNING; the backend adds what it needs (PostgreSQL: RETURNING id; SQLite
 * nothing, it reads the rowid it has just written: RETURNING would cost a temporary table per
 * statement). _static: for text at an address that never changes, as lp_db_prep_static. Bind,
 * then lp_step_insert, then lp_stmt_done. */
lp_stmt *lp_db_prep_insert(lp_db *db, const char *sql, lp_err *err);
lp_stmt *lp_db_prep_insert_static(lp_db *db, const char *sql, lp_err *err);
/* Runs such an insert: 0 with *id the new row's id, or -1 (err set) as lp_step. */
int lp_step_insert(lp_stmt *st, int64_t *id, lp_err *err);

/* SQL in the shared dialect with {{word}} tokens that each engine spells its own way: the text
 * with every token replaced, into out. LP_EINTERNAL for a word the backend does not know. Words:
 *   {{id}}           the primary key column of a table's own rows (SQLite INTEGER PRIMARY KEY,
 *                    PostgreSQL BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)
 *   {{int64}}        a 64-bit integer (times, ids, counters that grow; SQLite INTEGER, PostgreSQL
 *                    BIGINT). A plain INTEGER (flags, small counts) is the same on both.
 *   {{skip_locked}}  after a SELECT ... LIMIT that picks rows to change: rows another
 *                    transaction holds are passed over (PostgreSQL FOR UPDATE SKIP LOCKED; SQLite
 *                    nothing, its single writer holds everything) */
lp_code lp_db_dialect(lp_db *db, const char *sql, lp_buf *out, lp_err *err);
/* Runs schema text (several statements) after lp_db_dialect. */
lp_code lp_db_ddl(lp_db *db, const char *sql, lp_err *err);
/* Text that differs between the engines beyond the words above (full text, a JSON aggregate):
 * the engine's own form. pg: the PostgreSQL text; sqlite: the SQLite text. NULL: nothing on
 * that engine. For migrations; both are run through lp_db_ddl. */
lp_code lp_db_ddl_each(lp_db *db, const char *sqlite, const char *pg, lp_err *err);
/* Schema changes of several processes take turns (PostgreSQL: an advisory lock; SQLite: the
 * write lock of each migration's transaction is enough). */
lp_code lp_db_schema_lock(lp_db *db, lp_err *err);
void lp_db_schema_unlock(lp_db *db);

/* Rows into a table at once (an import, a copy): ncols columns, data the rows in PostgreSQL's
 * COPY text format (a row a line, values split by tabs, \N for NULL, backslash escapes; see
 * lp_copy_text). PostgreSQL: COPY ... FROM STDIN; SQLite: one prepared INSERT per row, a value
 * that is an integer written plainly bound as an integer, others as text. */
lp_code lp_db_bulk_insert(lp_db *db, const char *table, const char *const *cols, int ncols,
                          const char *data, size_t len, lp_err *err);
/* PostgreSQL: runs `COPY ... FROM STDIN` (sql) with data as its rows in text format; other
 * engines: LP_EINTERNAL. Only for leads.c's import batch until it uses lp_db_bulk_insert. */
lp_code lp_db_copy_in(lp_db *db, const char *sql, const char *data, size_t len, lp_err *err);
/* After rows were inserted with their ids given (lp_db_bulk_insert of a copy), the ids the table
 * generates next come after them (PostgreSQL: the identity sequence; SQLite: nothing to do). */
lp_code lp_db_ids_follow(lp_db *db, const char *table, lp_err *err);
/* n new ids of a table's `id`, into out, for rows this write transaction inserts with their ids
 * given (lp_db_bulk_insert). PostgreSQL: from the identity sequence; SQLite: past the largest id
 * (its single writer inserts nothing else meanwhile). */
lp_code lp_db_reserve_ids(lp_db *db, const char *table, int n, int64_t *out, lp_err *err);

/* Full-text search of leads, for a WHERE clause on the leads table: for what a person typed,
 * *cond is a condition with one parameter written `$%d` (a literal of the backend, to format
 * with the parameter's number) and *param the value to bind to it (malloc'd; the caller frees).
 * LP_OK with *param NULL: nothing searchable in text, no condition. LP_EUNAVAILABLE while the
 * index is being rebuilt (SQLite's search file after an upgrade or a restore). */
lp_code lp_db_search_cond(lp_db *db, const char *text, const char **cond, char **param, lp_err *err);

/* What the search index holds for one lead: its text and its addresses, asked for only when the
 * backend writes the entry with the lead (PostgreSQL; SQLite only notes the id and its indexer
 * reads the lead later, see lp_store_indexer). */
typedef lp_code (*lp_address_fn)(const char *kind, const char *value, void *ctx);
typedef struct lp_search_doc {
  int64_t id;
  int fresh;   /* a new lead: there is no entry to replace */
  int gone;    /* deleted: its entry and address rows go, nothing is written */
  void *ctx;   /* for the two below */
  void (*body)(void *ctx, lp_buf *out);                         /* the text to index */
  lp_code (*addresses)(void *ctx, lp_address_fn fn, void *fn_ctx); /* calls fn(kind, value) for each */
} lp_search_doc;
/* The search entries (and PostgreSQL's address rows, lead_contacts) of n leads follow their rows,
 * inside the caller's write transaction, after the rows themselves are written (SQLite's indexer
 * reads them, a deleted one by its deleted_at). PostgreSQL: replaced now (n new leads: by COPY);
 * SQLite: each id is added to fts_log for the indexer (see leads.c: lp_lead_index_sync). */
lp_code lp_db_search_put(lp_db *db, const lp_search_doc *docs, int n, lp_err *err);
/* PostgreSQL's address rows made again from the leads' emails and phones, into a database that
 * has none (after a copy). SQLite keeps no address rows: nothing to do. */
lp_code lp_db_contacts_rebuild(lp_db *db, lp_err *err);

/* Writes a consistent copy of the database to file while the server keeps writing (SQLite: the
 * online backup API, a database file; PostgreSQL: pg_dump's custom format, for pg_restore).
 * *format says which, for the person who asked. */
lp_code lp_store_backup(lp_store *s, const char *file, const char **format, lp_err *err);

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
  void (*col_get)(lp_stmt *st, int i, lp_colval *out);  /* may be NULL: col_type, then col_int or col_text */
  lp_stmt *(*prep_static)(lp_db *db, const char *sql, lp_err *err);  /* may be NULL: prep */
  lp_db *(*store_indexer)(lp_store *s);                 /* may be NULL: the index is written with the lead */
  void (*store_indexer_done)(lp_store *s);
  unsigned (*db_generation)(lp_db *db);                 /* its store's generation (see lp_db_origin) */
  /* engine differences: see above; may be NULL where noted */
  lp_code (*copy_in)(lp_db *db, const char *sql, const char *data, size_t len, lp_err *err);  /* may be NULL */
  lp_code (*read_begin)(lp_db *db, lp_err *err);
  void (*read_end)(lp_db *db);
  lp_stmt *(*prep_insert)(lp_db *db, const char *sql, int is_static, lp_err *err);
  int (*step_insert)(lp_stmt *st, int64_t *id, lp_err *err);
  const char *(*dialect_word)(const char *word, size_t len);   /* NULL: not a word of this engine */
  lp_code (*schema_lock)(lp_db *db, lp_err *err);              /* may be NULL: nothing to take */
  void (*schema_unlock)(lp_db *db);                             /* may be NULL */
  lp_code (*bulk_insert)(lp_db *db, const char *table, const char *const *cols, int ncols,
                         const char *data, size_t len, lp_err *err);
  lp_code (*ids_follow)(lp_db *db, const char *table, lp_err *err);  /* may be NULL: nothing to do */
  lp_code (*reserve_ids)(lp_db *db, const char *table, int n, int64_t *out, lp_err *err);
  lp_code (*search_cond)(lp_db *db, const char *text, const char **cond, char **param, lp_err *err);
  lp_code (*search_put)(lp_db *db, const lp_search_doc *docs, int n, lp_err *err);
  lp_code (*contacts_rebuild)(lp_db *db, lp_err *err);         /* may be NULL: none kept */
  lp_code (*store_backup)(lp_store *s, const char *file, const char **format, lp_err *err);
} lp_db_ops;

/* For backends: the connection this thread holds for a store, one slot per store (a command such
 * as `copy` uses two stores at once). A slot is the store's when store and gen (the store's
 * generation: a new store at a reused address has another) match; lp_tls_for returns that slot,
 * else a free or stale one to fill. lp_tls_forget empties the calling thread's slots of a store. */
typedef struct lp_tls_slot { unsigned gen; const void *store; void *db; } lp_tls_slot;
lp_tls_slot *lp_tls_for(const void *store, unsigned gen);
void lp_tls_forget(const void *store);

/* For backends: the summaries of a transaction (lp_db_summary). A backend running a write calls
 * lp_tx_write_begin before fn and lp_tx_write_end after it (kept: fn succeeded and its savepoint
 * was released), lp_tx_before_commit just before COMMIT (an error: roll back instead), and
 * lp_tx_end once the transaction is over, committed or not (and on a retry). lp_tx_free when the
 * connection closes. */
void lp_tx_write_begin(lp_db *db);
void lp_tx_write_end(lp_db *db, int kept);
lp_code lp_tx_before_commit(lp_db *db, lp_err *err);
void lp_tx_end(lp_db *db);
void lp_tx_free(lp_db *db);

struct lp_tx;
struct lp_store { const lp_db_ops *ops; };
struct lp_db { const lp_db_ops *ops; struct lp_tx *tx; /* summaries (db.c); NULL until a write */ };
struct lp_stmt { const lp_db_ops *ops; };

extern const lp_db_ops lp_sqlite_ops;  /* sqlite.c */
extern const lp_db_ops lp_pg_ops;      /* pg.c */
#endif

