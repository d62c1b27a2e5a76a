/* pg.c — the PostgreSQL backend of db.h (libpq).
 *
 * Connections: a pool of at most `pool_max` (lp_store_set_pool; default 16). A thread takes one on
 * its first lp_store_reader and keeps it until lp_store_release (the server releases at the end of
 * every request, a job worker after every round), so a request reads and writes on one
 * connection. When all are taken, a thread waits up to 5 seconds for one, then fails with
 * LP_EUNAVAILABLE. Every connection is kept in the store's list so lp_store_close can finish them. Statements are prepared per connection
 * and cached by SQL text (PQprepare under a generated name, then PQexecPrepared); statements that
 * do not fit the cache run unnamed (PQexecParams), so dynamic SQL leaves nothing on the server.
 * Parameters travel as text with explicit type OIDs: int8 for integers, float8 for reals, text for
 * text; NULL as NULL with the type left to the server. A cached statement is prepared with the
 * types of its first run and prepared again under a new name if a later run binds other types.
 * Rows come from the PGresult: lp_col_type follows PQftype (int2/4/8 → INT, float4/8 and numeric
 * → REAL, the rest TEXT), lp_db_changes is PQcmdTuples of the last INSERT/UPDATE/DELETE.
 *
 * Writes — why no single writer thread here. Several servers may share one database, so the
 * group-commit writer of sqlite.c cannot serialise them. Instead lp_store_write runs fn on the
 * calling thread's own connection inside BEGIN ISOLATION LEVEL SERIALIZABLE ... COMMIT and, when
 * PostgreSQL reports serialization_failure (40001) or deadlock_detected (40P01) anywhere in the
 * attempt (a statement or the COMMIT), rolls back and runs the whole fn again, up to 5 times. Write
 * closures do their own reads, so a retry re-plans from the state as it now is: two concurrent
 * closes of one lead (in one server or two) give one success, and the retried one sees the lead
 * closed and answers 409, exactly as SQLite's single writer does. lp_store_write_direct behaves
 * the same. A fn that fails for any other reason is rolled back and its error returned.
 * Write transactions take turns: within one process a mutex (like SQLite's single writer), and
 * across servers a session advisory lock taken before BEGIN and released after COMMIT, so the
 * next writer's snapshot starts after the previous commit. PostgreSQL's serializable checks lock
 * index pages, so overlapping inserts of unrelated leads would otherwise fail each other often,
 * and event ids must become visible in order (GET /events?after= reads by id). The retry above stays
 * for whatever still conflicts (a write of another program, say).
 *
 * Errors: unique, foreign-key, not-null and check violations (class 23) → LP_ECONFLICT, like
 * SQLite's constraint errors; a lost connection → LP_EUNAVAILABLE, and the connection's next use
 * reconnects it (PQreset; prepared statements are prepared again). Two cases are safe to repeat on
 * the new connection at once, so they do not fail at all: the BEGIN of a write (nothing was sent
 * yet) and a SELECT outside a transaction (reads change nothing). A write interrupted after BEGIN
 * fails with LP_EUNAVAILABLE: whether its COMMIT reached the server is unknown. Connecting waits
 * at most 10 seconds unless the URL sets connect_timeout.
 */
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "store/db.h"
#include "store/rows.h"

#define CACHE_SLOTS 256
#define MAX_PARAMS 64
#define WRITE_ATTEMPTS 6   /* the first run and up to 5 retries */
#define POOL_DEFAULT 16
#define LP_WRITE_LOCK "7370284453"   /* writes take turns on this advisory lock (pg_store_write) */
#define POOL_WAIT_S 5

/* Type OIDs (pg_type.h is server-side; these are fixed). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

typedef struct pg_stmt pg_stmt;
typedef struct pg_db pg_db;
typedef struct pg_store pg_store;

struct pg_stmt {
  lp_stmt base;        /* first: the handle callers see */
  pg_db *db;
  char *sql;           /* owned copy of the text (cache key) */
  uint64_t hash;
  int cached;
  int nparam;          /* highest $n in the text */
  int rd;              /* the text is a SELECT (safe to send again after a reconnect) */
  unsigned char used[MAX_PARAMS + 1];
  char name[32];       /* server-side name when prepared */
  unsigned prep_gen;   /* connection generation it was prepared on (0 = never) */
  Oid ptypes[MAX_PARAMS];   /* types it was prepared with */
  Oid types[MAX_PARAMS];    /* types bound now */
  char *vals[MAX_PARAMS];   /* values bound now (owned; NULL = SQL NULL) */
  PGresult *res;
  int row, nrows;
};

struct pg_db {
  lp_db base;
  PGconn *c;
  pg_store *store;
  pg_stmt *cache[CACHE_SLOTS];
  unsigned gen;        /* bumped when the connection is re-established */
  unsigned next_name;
  int64_t changes;
  int broken;          /* the connection was lost: reset before the next use */
  int retry;           /* a serialization failure or deadlock happened in this attempt */
  pg_db *next;
  pg_db *idle_next;
};

struct pg_store {
  lp_store base;
  char *url;
  unsigned generation;
  pthread_mutex_t mu;
  pthread_mutex_t wmu;   /* one write transaction at a time in this process */
  pg_db *conns;        /* every connection, finished with the store */
  pg_db *idle;         /* the pool: connections no thread holds (linked by idle_next) */
  int nconns, pool_max;
  pthread_cond_t pool_cv;
  lp_store_stats stats;  /* guarded by mu */
};

static unsigned next_generation = 1;

static void quiet_notice(void *arg, const char *msg) { (void)arg; (void)msg; }

/* Copies msg into err's message without libpq's trailing newline. */
static lp_code fail_msg(lp_err *err, lp_code code, const char *what, const char *msg) {
  char buf[240];
  snprintf(buf, sizeof buf, "%s", msg ? msg : "?");
  size_t n = strlen(buf);
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
  return lp_fail(err, code, "%s: %s", what, buf);
}

static lp_code conn_setup(pg_db *db, lp_err *err) {
  PQsetNoticeProcessor(db->c, quiet_notice, NULL);
  PGresult *r = PQexec(db->c, "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'");
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) fail_msg(err, LP_EUNAVAILABLE, "cannot configure the database connection", PQerrorMessage(db->c));
  PQclear(r);
  return ok ? LP_OK : LP_EUNAVAILABLE;
}

static pg_db *db_open(pg_store *s, lp_err *err) {
  pg_db *db = calloc(1, sizeof *db);
  if (!db) { lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  db->base.ops = &lp_pg_ops;
  db->store = s;
  db->gen = 1;
  /* Later entries win: the URL's own connect_timeout, if any, overrides the default. */
  const char *const keys[] = {"connect_timeout", "dbname", NULL};
  const char *const vals[] = {"10", s->url, NULL};
  db->c = PQconnectdbParams(keys, vals, 1);
  if (!db->c || PQstatus(db->c) != CONNECTION_OK) {
    fail_msg(err, LP_EUNAVAILABLE, "cannot connect to PostgreSQL", db->c ? PQerrorMessage(db->c) : "out of memory");
    PQfinish(db->c);
    free(db);
    return NULL;
  }
  if (conn_setup(db, err) != LP_OK) { PQfinish(db->c); free(db); return NULL; }
  return db;
}

/* Reconnects a lost connection; its prepared statements are gone, so they are prepared again. */
static lp_code db_ensure(pg_db *db, lp_err *err) {
  if (!db->broken && PQstatus(db->c) == CONNECTION_OK) return LP_OK;
  PQreset(db->c);
  if (PQstatus(db->c) != CONNECTION_OK)
    return fail_msg(err, LP_EUNAVAILABLE, "database unavailable", PQerrorMessage(db->c));
  db->broken = 0;
  db->gen++;
  return conn_setup(db, err);
}

static void stmt_clear(pg_stmt *st) {
  PQclear(st->res);
  st->res = NULL;
  st->row = st->nrows = 0;
  for (int i = 0; i < st->nparam; i++) { free(st->vals[i]); st->vals[i] = NULL; st->types[i] = 0; }
}

static void stmt_free(pg_stmt *st) {
  if (!st) return;
  stmt_clear(st);
  free(st->sql);
  free(st);
}

static void db_close(pg_db *db) {
  if (!db) return;
  for (int i = 0; i < CACHE_SLOTS; i++) stmt_free(db->cache[i]);
  lp_tx_free(&db->base);
  PQfinish(db->c);
  free(db);
}

/* Maps a failed result (or, with res NULL, the connection's state) to an lp_code. */
static lp_code pg_fail(pg_db *db, PGresult *res, lp_err *err) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *msg = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res) : PQerrorMessage(db->c);
  lp_code code = LP_EINTERNAL;
  if (PQstatus(db->c) != CONNECTION_OK) {
    db->broken = 1;
    code = LP_EUNAVAILABLE;
  } else if (state) {
    if (!strncmp(state, "23", 2)) code = LP_ECONFLICT;
    else if (!strcmp(state, "40001") || !strcmp(state, "40P01")) { db->retry = 1; code = LP_EUNAVAILABLE; }
    else if (!strncmp(state, "08", 2) || !strncmp(state, "53", 2) || !strncmp(state, "57P", 3)) code = LP_EUNAVAILABLE;
  }
  return fail_msg(err, code, "database", msg);
}

static uint64_t fnv(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Finds the $n placeholders of the text, outside quoted strings and identifiers. */
static void scan_params(pg_stmt *st) {
  const char *p = st->sql;
  while (*p) {
    if (*p == '\'' || *p == '"') {
      char q = *p++;
      while (*p && *p != q) p++;
      if (*p) p++;
      continue;
    }
    if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
      char *end;
      long k = strtol(p + 1, &end, 10);
      if (k > 0 && k <= MAX_PARAMS) {
        st->used[k] = 1;
        if (k > st->nparam) st->nparam = (int)k;
      }
      p = end;
      continue;
    }
    p++;
  }
}

static pg_stmt *pg_prep(pg_db *db, const char *sql, lp_err *err) {
  uint64_t h = fnv(sql);
  unsigned slot = (unsigned)(h % CACHE_SLOTS);
  pg_stmt *c = db->cache[slot];
  if (c && c->hash == h && strcmp(c->sql, sql) == 0) return c;
  pg_stmt *st = calloc(1, sizeof *st);
  if (!st || !(st->sql = strdup(sql))) { free(st); lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  st->base.ops = &lp_pg_ops;
  st->db = db;
  st->hash = h;
  scan_params(st);
  const char *w = sql;
  while (*w == ' ' || *w == '\n' || *w == '\t' || *w == '(') w++;
  st->rd = strncasecmp(w, "SELECT", 6) == 0;
  if (!c) {  /* an empty slot caches it; a taken slot keeps its statement */
    st->cached = 1;
    db->cache[slot] = st;
  }
  return st;
}

static void set_val(pg_stmt *st, int n, Oid type, const char *v) {
  if (n < 1 || n > st->nparam || !st->used[n]) return;
  free(st->vals[n - 1]);
  st->vals[n - 1] = v ? strdup(v) : NULL;
  st->types[n - 1] = v ? type : 0;
}
static void pg_bind_int(pg_stmt *st, int n, int64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%lld", (long long)v);
  set_val(st, n, OID_INT8, b);
}
static void pg_bind_double(pg_stmt *st, int n, double v) {
  char b[64];
  snprintf(b, sizeof b, "%.17g", v);
  set_val(st, n, OID_FLOAT8, b);
}
static void pg_bind_text(pg_stmt *st, int n, const char *s) { set_val(st, n, OID_TEXT, s); }
static void pg_bind_null(pg_stmt *st, int n) { set_val(st, n, 0, NULL); }

static int pg_step(pg_stmt *st, lp_err *err) {
  if (!st->res) {
    pg_db *db = st->db;
    if (db_ensure(db, err) != LP_OK) return -1;
    Oid types[MAX_PARAMS];
    const char *vals[MAX_PARAMS];
    for (int i = 0; i < st->nparam; i++) {
      vals[i] = st->vals[i];
      /* A number the text does not use still needs a type for the server to accept it. */
      types[i] = st->used[i + 1] ? st->types[i] : OID_TEXT;
    }
    PGresult *r;
    /* A SELECT outside a transaction may be sent again on a new connection if the old one died. */
    int again = st->rd && PQtransactionStatus(db->c) == PQTRANS_IDLE;
  run:
    if (st->cached) {
      int fresh = st->prep_gen != db->gen;
      /* A value bound now whose type differs from the prepared one (also one prepared untyped,
       * from a NULL, where the server guessed the type) needs the statement prepared again;
       * a NULL now fits whatever it was prepared with. */
      for (int i = 0; i < st->nparam && !fresh; i++)
        if (types[i] && types[i] != st->ptypes[i]) fresh = 1;
      if (fresh) {
        if (st->prep_gen == db->gen && PQtransactionStatus(db->c) == PQTRANS_IDLE) {
          char dq[64];  /* prepared before with other types: free the old one */
          snprintf(dq, sizeof dq, "DEALLOCATE %s", st->name);
          PQclear(PQexec(db->c, dq));
        }
        snprintf(st->name, sizeof st->name, "lp%u", ++db->next_name);
        PGresult *p = PQprepare(db->c, st->name, st->sql, st->nparam, types);
        if (PQresultStatus(p) != PGRES_COMMAND_OK) {
          if (again && PQstatus(db->c) != CONNECTION_OK) {
            PQclear(p);
            again = 0;
            db->broken = 1;
            if (db_ensure(db, err) != LP_OK) return -1;
            goto run;
          }
          pg_fail(db, p, err);
          PQclear(p);
          return -1;
        }
        PQclear(p);
        st->prep_gen = db->gen;
        memcpy(st->ptypes, types, sizeof(Oid) * (size_t)st->nparam);
      }
      r = PQexecPrepared(db->c, st->name, st->nparam, vals, NULL, NULL, 0);
    } else {
      r = PQexecParams(db->c, st->sql, st->nparam, types, vals, NULL, NULL, 0);
    }
    ExecStatusType es = PQresultStatus(r);
    if (es != PGRES_TUPLES_OK && es != PGRES_COMMAND_OK && again && PQstatus(db->c) != CONNECTION_OK) {
      PQclear(r);
      again = 0;
      db->broken = 1;
      if (db_ensure(db, err) != LP_OK) return -1;
      goto run;
    }
    if (es != PGRES_TUPLES_OK && es != PGRES_COMMAND_OK) {
      pg_fail(db, r, err);
      PQclear(r);
      return -1;
    }
    const char *cmd = PQcmdStatus(r);
    if (!strncmp(cmd, "INSERT", 6) || !strncmp(cmd, "UPDATE", 6) || !strncmp(cmd, "DELETE", 6) || !strncmp(cmd, "MERGE", 5))
      db->changes = strtoll(PQcmdTuples(r), NULL, 10);
    st->res = r;
    st->nrows = PQntuples(r);
    st->row = -1;
  }
  if (st->row < st->nrows) st->row++;
  return st->row < st->nrows ? 1 : 0;
}

static int pg_col_count(pg_stmt *st) { return st->res ? PQnfields(st->res) : 0; }
static const char *pg_col_name(pg_stmt *st, int i) { return st->res ? PQfname(st->res, i) : NULL; }
static int has_row(pg_stmt *st, int i) { return st->res && st->row >= 0 && st->row < st->nrows && i >= 0 && i < PQnfields(st->res); }
static int pg_col_null(pg_stmt *st, int i) { return !has_row(st, i) || PQgetisnull(st->res, st->row, i); }
static int pg_col_type(pg_stmt *st, int i) {
  if (pg_col_null(st, i)) return LP_COL_NULL;
  switch (PQftype(st->res, i)) {
    case OID_INT2: case OID_INT4: case OID_INT8: return LP_COL_INT;
    case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC: return LP_COL_REAL;
    default: return LP_COL_TEXT;
  }
}
static const char *pg_col_text(pg_stmt *st, int i) { return pg_col_null(st, i) ? NULL : PQgetvalue(st->res, st->row, i); }
static int64_t pg_col_int(pg_stmt *st, int i) {
  const char *v = pg_col_text(st, i);
  if (!v) return 0;
  if (PQftype(st->res, i) == OID_BOOL) return v[0] == 't';
  char *end;
  long long n = strtoll(v, &end, 10);
  if (*end == '.' || *end == 'e' || *end == 'E') return (int64_t)strtod(v, NULL);
  return n;
}
static double pg_col_double(pg_stmt *st, int i) {
  const char *v = pg_col_text(st, i);
  return v ? strtod(v, NULL) : 0.0;
}

static void pg_stmt_done(pg_stmt *st) {
  if (!st) return;
  if (!st->cached) { stmt_free(st); return; }
  stmt_clear(st);
}

static lp_code pg_exec(pg_db *db, const char *sql, lp_err *err) {
  lp_code rc = db_ensure(db, err);
  if (rc != LP_OK) return rc;
  PGresult *r = PQexec(db->c, sql);
  ExecStatusType es = PQresultStatus(r);
  if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
    rc = pg_fail(db, r, err);
    PQclear(r);
    return rc;
  }
  /* COMMIT of a transaction that had failed answers ROLLBACK: report it as the failure it is. */
  if (!strcmp(PQcmdStatus(r), "ROLLBACK") && !strncmp(sql, "COMMIT", 6))
    rc = lp_fail(err, db->retry ? LP_EUNAVAILABLE : LP_EINTERNAL, "database: the transaction failed and was rolled back");
  PQclear(r);
  return rc;
}

/* COPY ... FROM STDIN with `data` (text format) as the rows. */
static lp_code pg_copy_in(pg_db *db, const char *sql, const char *data, size_t len, lp_err *err) {
  lp_code rc = db_ensure(db, err);
  if (rc != LP_OK) return rc;
  PGresult *r = PQexec(db->c, sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    rc = pg_fail(db, r, err);
    PQclear(r);
    return rc;
  }
  PQclear(r);
  const size_t chunk = 1 << 20;
  for (size_t off = 0; off < len; off += chunk) {
    int n = (int)(len - off < chunk ? len - off : chunk);
    if (PQputCopyData(db->c, data + off, n) != 1) return pg_fail(db, NULL, err);
  }
  if (PQputCopyEnd(db->c, NULL) != 1) return pg_fail(db, NULL, err);
  while ((r = PQgetResult(db->c))) {
    if (rc == LP_OK && PQresultStatus(r) != PGRES_COMMAND_OK) rc = pg_fail(db, r, err);
    else if (rc == LP_OK) db->changes = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
  }
  return rc;
}

static int64_t pg_changes(pg_db *db) { return db->changes; }

/* ---------------------------------------------------------------- engine differences (db.h) */

static lp_code pg_read_begin(pg_db *db, lp_err *err) { return pg_exec(db, "BEGIN", err); }
static void pg_read_end(pg_db *db) { pg_exec(db, "COMMIT", NULL); }

/* The new id comes back with the row: the INSERT's text with RETURNING id (a statement of its own
 * in the cache, by that text). */
static pg_stmt *pg_prep_insert(pg_db *db, const char *sql, lp_err *err) {
  static const char suffix[] = " RETURNING id";
  char text[8192];
  size_t n = strlen(sql);
  if (n + sizeof suffix > sizeof text) return lp_fail(err, LP_EINTERNAL, "INSERT text too long"), NULL;
  memcpy(text, sql, n);
  memcpy(text + n, suffix, sizeof suffix);
  return pg_prep(db, text, err);
}
static int pg_step_insert(pg_stmt *st, int64_t *id, lp_err *err) {
  int rc = pg_step(st, err);
  *id = rc == 1 ? pg_col_int(st, 0) : 0;
  return rc < 0 ? -1 : 0;
}

static const char *pg_dialect_word(const char *w, size_t n) {
  static const struct { const char *word, *sql; } words[] = {
    {"id", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
    {"int64", "BIGINT"},
    {"skip_locked", " FOR UPDATE SKIP LOCKED"},  /* several workers (and servers) claim at once */
  };
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strlen(words[i].word) == n && !memcmp(words[i].word, w, n)) return words[i].sql;
  return NULL;
}

/* Migrations of several servers take turns on a session advisory lock (this constant). */
#define PG_MIGRATE_LOCK "7370284452"
static lp_code pg_schema_lock(pg_db *db, lp_err *err) { return pg_exec(db, "SELECT pg_advisory_lock(" PG_MIGRATE_LOCK ")", err); }
static void pg_schema_unlock(pg_db *db) { pg_exec(db, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK ")", NULL); }

static lp_code pg_bulk_insert(pg_db *db, const char *table, const char *const *cols, int ncols,
                              const char *data, size_t len, lp_err *err) {
  lp_buf q = LP_BUF_INIT(1 << 16);
  lp_buf_printf(&q, "COPY %s(", table);
  for (int i = 0; i < ncols; i++) lp_buf_printf(&q, "%s%s", i ? ", " : "", cols[i]);
  lp_buf_puts(&q, ") FROM STDIN");
  lp_code rc = len ? pg_copy_in(db, lp_buf_str(&q), data, len, err) : LP_OK;
  lp_buf_release(&q);
  return rc;
}

/* Runs one statement of the backend's own with up to two integer parameters. */
static lp_code pg_run(pg_db *db, const char *sql, int nargs, int64_t a, int64_t b, lp_err *err) {
  pg_stmt *st = pg_prep(db, sql, err);
  if (!st) return err->code;
  if (nargs > 0) pg_bind_int(st, 1, a);
  if (nargs > 1) pg_bind_int(st, 2, b);
  int rc;
  while ((rc = pg_step(st, err)) == 1) {}
  pg_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

static lp_code pg_ids_follow(pg_db *db, const char *table, lp_err *err) {
  char q[256];
  snprintf(q, sizeof q, "SELECT setval(pg_get_serial_sequence('%s', 'id'), GREATEST((SELECT max(id) FROM %s), 1))", table, table);
  return pg_run(db, q, 0, 0, 0, err);
}

static lp_code pg_reserve_ids(pg_db *db, const char *table, int n, int64_t *out, lp_err *err) {
  char q[160];
  snprintf(q, sizeof q, "SELECT nextval(pg_get_serial_sequence('%s', 'id')) FROM generate_series(1, $1)", table);
  pg_stmt *st = pg_prep(db, q, err);
  if (!st) return err->code;
  pg_bind_int(st, 1, n);
  int i = 0, rc;
  while ((rc = pg_step(st, err)) == 1 && i < n) out[i++] = pg_col_int(st, 0);
  pg_stmt_done(st);
  if (rc < 0) return err->code;
  return i == n ? LP_OK : lp_fail(err, LP_EINTERNAL, "could not reserve %d ids", n);
}

/* What a person typed as a to_tsquery: the words split where the index splits the text (at ASCII
 * punctuation, see the leads_fts migration), each a prefix term, all required:
 * "anna@x.org smith" -> "anna:* & x:* & org:* & smith:*". Only letters, digits and non-ASCII
 * bytes reach the query, so nothing in it is tsquery syntax. */
static char *tsquery(const char *s) {
  lp_buf b = LP_BUF_INIT(4096);
  const char *p = s;
  while (*p) {
    while (*p && !(isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)) p++;
    if (!*p) break;
    const char *start = p;
    while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)) p++;
    if (b.len) lp_buf_puts(&b, " & ");
    lp_buf_add(&b, start, (size_t)(p - start));
    lp_buf_puts(&b, ":*");
  }
  if (b.overflow || !b.len) { lp_buf_release(&b); return NULL; }
  return lp_buf_detach(&b);
}

static lp_code pg_search_cond(pg_db *db, const char *text, const char **cond, char **param, lp_err *err) {
  (void)db;
  (void)err;
  *param = tsquery(text);
  *cond = "id IN (SELECT rowid FROM leads_fts WHERE tsv @@ to_tsquery('simple', lp_unaccent($%d)))";
  return LP_OK;
}

typedef struct { pg_db *db; int64_t id; lp_buf *copy; lp_err *err; } contact_ctx;

/* One address row: inserted now, or (copy) a line of COPY text. */
static lp_code contact_put(const char *kind, const char *value, void *p) {
  contact_ctx *c = p;
  if (c->copy) {
    lp_buf_printf(c->copy, "%lld\t%s\t", (long long)c->id, kind);
    lp_copy_text(c->copy, value);
    lp_buf_add(c->copy, "\n", 1);
    return LP_OK;
  }
  pg_stmt *st = pg_prep(c->db, "INSERT INTO lead_contacts(lead_id, kind, value) VALUES ($1, $2, $3)", c->err);
  if (!st) return c->err->code;
  pg_bind_int(st, 1, c->id);
  pg_bind_text(st, 2, kind);
  pg_bind_text(st, 3, value);
  int rc = pg_step(st, c->err);
  pg_stmt_done(st);
  return rc < 0 ? c->err->code : LP_OK;
}

/* The entry (leads_fts, its tsvector computed by the database) and the address rows are written
 * with the lead. Several new leads at once (an import batch): by COPY. */
static lp_code pg_search_put(pg_db *db, const lp_search_doc *docs, int n, lp_err *err) {
  int batch = n > 1;
  for (int i = 0; i < n && batch; i++) if (!docs[i].fresh || docs[i].gone) batch = 0;
  lp_buf body = LP_BUF_INIT((size_t)1 << 20);
  lp_code rc = LP_OK;
  if (batch) {
    lp_buf fts = LP_BUF_INIT((size_t)1 << 30), contacts = LP_BUF_INIT((size_t)1 << 30);
    for (int i = 0; i < n && rc == LP_OK; i++) {
      lp_buf_reset(&body);
      docs[i].body(docs[i].ctx, &body);
      lp_buf_printf(&fts, "%lld\t", (long long)docs[i].id);
      lp_copy_text(&fts, lp_buf_str(&body));
      lp_buf_add(&fts, "\n", 1);
      contact_ctx c = {db, docs[i].id, &contacts, err};
      rc = docs[i].addresses(docs[i].ctx, contact_put, &c);
    }
    if (rc == LP_OK && (fts.overflow || contacts.overflow || body.overflow)) rc = lp_fail(err, LP_EINTERNAL, "import batch too large");
    if (rc == LP_OK && contacts.len) rc = pg_copy_in(db, "COPY lead_contacts(lead_id, kind, value) FROM STDIN", contacts.data, contacts.len, err);
    if (rc == LP_OK) rc = pg_copy_in(db, "COPY leads_fts(rowid, body) FROM STDIN", fts.data, fts.len, err);
    lp_buf_release(&fts);
    lp_buf_release(&contacts);
    lp_buf_release(&body);
    return rc;
  }
  for (int i = 0; i < n && rc == LP_OK; i++) {
    const lp_search_doc *d = &docs[i];
    if (!d->fresh) {
      rc = pg_run(db, "DELETE FROM leads_fts WHERE rowid = $1", 1, d->id, 0, err);
      if (rc == LP_OK) rc = pg_run(db, "DELETE FROM lead_contacts WHERE lead_id = $1", 1, d->id, 0, err);
    }
    if (rc != LP_OK || d->gone) continue;
    contact_ctx c = {db, d->id, NULL, err};
    rc = d->addresses(d->ctx, contact_put, &c);
    if (rc != LP_OK) break;
    lp_buf_reset(&body);
    d->body(d->ctx, &body);
    pg_stmt *st = pg_prep(db, "INSERT INTO leads_fts(rowid, body) VALUES ($1, $2)", err);
    if (!st) { rc = err->code; break; }
    pg_bind_int(st, 1, d->id);
    pg_bind_text(st, 2, lp_buf_str(&body));
    if (pg_step(st, err) < 0) rc = err->code;
    pg_stmt_done(st);
  }
  lp_buf_release(&body);
  return rc;
}

static lp_code pg_contacts_rebuild(pg_db *db, lp_err *err) {
  return pg_run(db, "INSERT INTO lead_contacts(lead_id, kind, value)"
                    " SELECT id, 'email', jsonb_array_elements_text(emails::jsonb) FROM leads WHERE deleted_at IS NULL"
                    " UNION ALL SELECT id, 'phone', jsonb_array_elements_text(phones::jsonb) FROM leads WHERE deleted_at IS NULL",
                0, 0, 0, err);
}

/* pg_dump takes a consistent snapshot (one repeatable-read transaction) while the servers keep
 * writing; the custom format restores with pg_restore. */
static lp_code pg_store_backup(pg_store *s, const char *file, const char **format, lp_err *err) {
  *format = "pg_dump custom format; restore with pg_restore";
  pid_t pid = fork();
  if (pid == 0) {
    execlp("pg_dump", "pg_dump", "--format=custom", "--no-owner", "--file", file, "--dbname", s->url, (char *)NULL);
    fprintf(stderr, "leadpath: cannot run pg_dump (install postgresql-client): %s\n", strerror(errno));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return lp_fail(err, LP_EUNAVAILABLE, "backup failed");
  return LP_OK;
}

/* ---------------------------------------------------------------- store */

static pg_store *pg_store_open(const char *url, lp_err *err) {
  pg_store *s = calloc(1, sizeof *s);
  if (!s || !(s->url = strdup(url))) { free(s); lp_fail(err, LP_EINTERNAL, "out of memory"); return NULL; }
  s->base.ops = &lp_pg_ops;
  s->generation = __atomic_fetch_add(&next_generation, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->wmu, NULL);
  pthread_cond_init(&s->pool_cv, NULL);
  s->pool_max = POOL_DEFAULT;
  /* Connect now so a bad URL fails at start, not at the first request. */
  pg_db *probe = db_open(s, err);
  if (!probe) {
    pthread_mutex_destroy(&s->mu); pthread_mutex_destroy(&s->wmu); pthread_cond_destroy(&s->pool_cv);
    free(s->url); free(s);
    return NULL;
  }
  s->conns = probe;
  s->nconns = 1;
  lp_tls_slot *t = lp_tls_for(s, s->generation);
  t->gen = s->generation; t->store = s; t->db = probe;
  return s;
}

static const char *pg_store_path(const pg_store *s) { return s->url; }

static pg_db *pg_store_reader(pg_store *s, lp_err *err) {
  lp_tls_slot *mine = lp_tls_for(s, s->generation);
  if (mine->store == s && mine->gen == s->generation && mine->db) {
    if (db_ensure(mine->db, err) != LP_OK) return NULL;
    return mine->db;
  }
  pthread_mutex_lock(&s->mu);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += POOL_WAIT_S;
  pg_db *db = NULL;
  for (;;) {
    if (s->idle) { db = s->idle; s->idle = db->idle_next; db->idle_next = NULL; break; }
    if (s->nconns < s->pool_max) { s->nconns++; break; }
    if (pthread_cond_timedwait(&s->pool_cv, &s->mu, &until) != 0 && !s->idle) {
      pthread_mutex_unlock(&s->mu);
      lp_fail(err, LP_EUNAVAILABLE, "database: all %d connections are busy", s->pool_max);
      return NULL;
    }
  }
  pthread_mutex_unlock(&s->mu);
  if (!db) {
    db = db_open(s, err);
    pthread_mutex_lock(&s->mu);
    if (!db) { s->nconns--; pthread_cond_signal(&s->pool_cv); pthread_mutex_unlock(&s->mu); return NULL; }
    db->next = s->conns;
    s->conns = db;
    pthread_mutex_unlock(&s->mu);
  } else if (db_ensure(db, err) != LP_OK) {
    pthread_mutex_lock(&s->mu);  /* back to the pool: the next use reconnects it */
    db->idle_next = s->idle;
    s->idle = db;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
  }
  mine->gen = s->generation; mine->store = s; mine->db = db;
  return db;
}

static void pg_store_release(pg_store *s) {
  lp_tls_slot *mine = lp_tls_for(s, s->generation);
  if (mine->store != s || mine->gen != s->generation || !mine->db) return;
  pg_db *db = mine->db;
  mine->db = NULL;
  /* a connection goes back clean: nothing left open on it */
  if (!db->broken && PQtransactionStatus(db->c) != PQTRANS_IDLE) pg_exec(db, "ROLLBACK", NULL);
  pthread_mutex_lock(&s->mu);
  db->idle_next = s->idle;
  s->idle = db;
  pthread_cond_signal(&s->pool_cv);
  pthread_mutex_unlock(&s->mu);
}

static void pg_store_set_pool(pg_store *s, int n) {
  pthread_mutex_lock(&s->mu);
  s->pool_max = n > 0 ? n : POOL_DEFAULT;
  if (s->pool_max < s->nconns) s->pool_max = s->nconns;  /* never below what is open now */
  pthread_cond_broadcast(&s->pool_cv);
  pthread_mutex_unlock(&s->mu);
}

static void backoff(int attempt) {
  /* Up to 10, 20, 40, 80, 160 ms, at random so the contenders do not collide again. */
  static _Thread_local unsigned seed;
  if (!seed) seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
  long ms = 1 + (long)(rand_r(&seed) % (unsigned)(10L << (attempt - 1)));
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static lp_code write_tx(pg_store *s, pg_db *db, lp_write_fn fn, void *ctx, lp_err *err, const char *begin);

static lp_code pg_store_write(pg_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  pg_db *db = pg_store_reader(s, err);
  if (!db) return err ? err->code : LP_EUNAVAILABLE;
  /* The caller may be inside a read transaction of its own on this connection (the server reads
   * a GET in one): end it, write in a transaction of ours, and open it again for the caller's
   * COMMIT. Under READ COMMITTED that changes nothing the caller could see. */
  PGTransactionStatusType ts = PQtransactionStatus(db->c);
  int outer = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
  if (outer) pg_exec(db, ts == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT", NULL);
  pthread_mutex_lock(&s->wmu);
  /* Write transactions take turns across servers too: a session advisory lock taken before
   * BEGIN (so the transaction's snapshot comes after the previous writer's commit) and given back
   * after COMMIT. Then no two writes on one database overlap, serializable never has to fail one
   * of them, and event ids become visible in commit order (the events feed reads by id). */
  lp_code rc = pg_exec(db, "SELECT pg_advisory_lock(" LP_WRITE_LOCK ")", err);
  if (rc == LP_OK) {
    rc = write_tx(s, db, fn, ctx, err, "BEGIN ISOLATION LEVEL SERIALIZABLE");
    if (!db->broken) pg_exec(db, "SELECT pg_advisory_unlock(" LP_WRITE_LOCK ")", NULL);
  }
  pthread_mutex_unlock(&s->wmu);
  if (outer) pg_exec(db, "BEGIN", NULL);
  return rc;
}

/* A write that only adds rows it made up itself (an import batch): it decides nothing on what it
 * reads, so it needs no serializable snapshot and no turn — it runs at READ COMMITTED beside the
 * other writes of this process, which lets a bulk import keep PostgreSQL's cores busy. */
static lp_code pg_store_append(pg_store *s, lp_write_fn fn, void *ctx, lp_err *err) {
  pg_db *db = pg_store_reader(s, err);
  if (!db) return err ? err->code : LP_EUNAVAILABLE;
  /* It still takes its turn with the writes of every server (the lock of pg_store_write, for
   * this transaction), so the event ids it adds become visible in order too. */
  return write_tx(s, db, fn, ctx, err, "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" LP_WRITE_LOCK ")");
}

static lp_code write_tx(pg_store *s, pg_db *db, lp_write_fn fn, void *ctx, lp_err *err, const char *begin) {
  for (int attempt = 1;; attempt++) {
    db->retry = 0;
    lp_code rc = pg_exec(db, begin, err);
    if (rc != LP_OK && db->broken) {  /* the connection had died: nothing was sent, start again */
      lp_err_release(err);
      rc = pg_exec(db, begin, err);
    }
    if (rc != LP_OK) return rc;
    lp_tx_write_begin(&db->base);
    rc = fn(&db->base, ctx, err);
    lp_tx_write_end(&db->base, rc == LP_OK);
    if (rc == LP_OK) rc = lp_tx_before_commit(&db->base, err);  /* the summaries it added (db.h) */
    lp_tx_end(&db->base);
    if (rc == LP_OK) {
      struct timespec t0, t1;
      clock_gettime(CLOCK_MONOTONIC, &t0);
      rc = pg_exec(db, "COMMIT", err);
      clock_gettime(CLOCK_MONOTONIC, &t1);
      pthread_mutex_lock(&s->mu);
      s->stats.commits++;
      s->stats.writes++;
      s->stats.commit_us += (unsigned long long)((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000);
      if (rc != LP_OK) s->stats.failed++;
      pthread_mutex_unlock(&s->mu);
    } else if (!db->broken) {
      pg_exec(db, "ROLLBACK", NULL);
    }
    if (rc == LP_OK || !db->retry || db->broken || attempt >= WRITE_ATTEMPTS) return rc;
    lp_err_release(err);
    backoff(attempt);
  }
}

static void pg_store_get_stats(pg_store *s, lp_store_stats *out) {
  pthread_mutex_lock(&s->mu);
  *out = s->stats;
  pthread_mutex_unlock(&s->mu);
}

static void pg_store_close(pg_store *s) {
  if (!s) return;
  for (pg_db *d = s->conns, *n; d; d = n) { n = d->next; db_close(d); }
  lp_tls_forget(s);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->wmu);
  pthread_cond_destroy(&s->pool_cv);
  free(s->url);
  free(s);
}

/* ---------------------------------------------------------------- the ops table (see db.h) */

#define PGS(x) ((pg_stmt *)(x))
#define PGD(x) ((pg_db *)(x))
static lp_store *op_store_open(const char *url, lp_err *err) { pg_store *s = pg_store_open(url, err); return s ? &s->base : NULL; }
static void op_store_close(lp_store *s) { pg_store_close((pg_store *)s); }
static const char *op_store_path(const lp_store *s) { return pg_store_path((const pg_store *)s); }
static lp_db *op_store_reader(lp_store *s, lp_err *err) { pg_db *db = pg_store_reader((pg_store *)s, err); return db ? &db->base : NULL; }
static lp_code op_store_append(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) { return pg_store_append((pg_store *)s, fn, ctx, err); }
static void op_store_release(lp_store *s) { pg_store_release((pg_store *)s); }
static void op_store_set_pool(lp_store *s, int n) { pg_store_set_pool((pg_store *)s, n); }
static lp_code op_store_write(lp_store *s, lp_write_fn fn, void *ctx, lp_err *err) { return pg_store_write((pg_store *)s, fn, ctx, err); }
static void op_store_get_stats(lp_store *s, lp_store_stats *out) { pg_store_get_stats((pg_store *)s, out); }
static lp_stmt *op_prep(lp_db *db, const char *sql, lp_err *err) { pg_stmt *st = pg_prep(PGD(db), sql, err); return st ? &st->base : NULL; }
static void op_bind_int(lp_stmt *st, int n, int64_t v) { pg_bind_int(PGS(st), n, v); }
static void op_bind_double(lp_stmt *st, int n, double v) { pg_bind_double(PGS(st), n, v); }
static void op_bind_text(lp_stmt *st, int n, const char *v) { pg_bind_text(PGS(st), n, v); }
static void op_bind_null(lp_stmt *st, int n) { pg_bind_null(PGS(st), n); }
static int op_step(lp_stmt *st, lp_err *err) { return pg_step(PGS(st), err); }
static int op_col_count(lp_stmt *st) { return pg_col_count(PGS(st)); }
static const char *op_col_name(lp_stmt *st, int i) { return pg_col_name(PGS(st), i); }
static int op_col_null(lp_stmt *st, int i) { return pg_col_null(PGS(st), i); }
static int op_col_type(lp_stmt *st, int i) { return pg_col_type(PGS(st), i); }
static int64_t op_col_int(lp_stmt *st, int i) { return pg_col_int(PGS(st), i); }
static double op_col_double(lp_stmt *st, int i) { return pg_col_double(PGS(st), i); }
static const char *op_col_text(lp_stmt *st, int i) { return pg_col_text(PGS(st), i); }
static void op_stmt_done(lp_stmt *st) { pg_stmt_done(PGS(st)); }
static lp_code op_exec(lp_db *db, const char *sql, lp_err *err) { return pg_exec(PGD(db), sql, err); }
static int64_t op_changes(lp_db *db) { return pg_changes(PGD(db)); }
static unsigned op_db_generation(lp_db *db) { return ((pg_db *)db)->store->generation; }
static lp_code op_copy_in(lp_db *db, const char *sql, const char *data, size_t len, lp_err *err) { return pg_copy_in(PGD(db), sql, data, len, err); }
static lp_code op_read_begin(lp_db *db, lp_err *err) { return pg_read_begin(PGD(db), err); }
static void op_read_end(lp_db *db) { pg_read_end(PGD(db)); }
static lp_stmt *op_prep_insert(lp_db *db, const char *sql, int is_static, lp_err *err) {
  (void)is_static;  /* statements are found by their text */
  pg_stmt *st = pg_prep_insert(PGD(db), sql, err);
  return st ? &st->base : NULL;
}
static int op_step_insert(lp_stmt *st, int64_t *id, lp_err *err) { return pg_step_insert(PGS(st), id, err); }
static lp_code op_schema_lock(lp_db *db, lp_err *err) { return pg_schema_lock(PGD(db), err); }
static void op_schema_unlock(lp_db *db) { pg_schema_unlock(PGD(db)); }
static lp_code op_bulk_insert(lp_db *db, const char *table, const char *const *cols, int ncols, const char *data,
                              size_t len, lp_err *err) { return pg_bulk_insert(PGD(db), table, cols, ncols, data, len, err); }
static lp_code op_ids_follow(lp_db *db, const char *table, lp_err *err) { return pg_ids_follow(PGD(db), table, err); }
static lp_code op_reserve_ids(lp_db *db, const char *table, int n, int64_t *out, lp_err *err) { return pg_reserve_ids(PGD(db), table, n, out, err); }
static lp_code op_search_cond(lp_db *db, const char *text, const char **cond, char **param, lp_err *err) {
  return pg_search_cond(PGD(db), text, cond, param, err);
}
static lp_code op_search_put(lp_db *db, const lp_search_doc *docs, int n, lp_err *err) { return pg_search_put(PGD(db), docs, n, err); }
static lp_code op_contacts_rebuild(lp_db *db, lp_err *err) { return pg_contacts_rebuild(PGD(db), err); }
static lp_code op_store_backup(lp_store *s, const char *file, const char **format, lp_err *err) {
  return pg_store_backup((pg_store *)s, file, format, err);
}

const lp_db_ops lp_pg_ops = {
  .engine = LP_ENGINE_PG, .store_open = op_store_open, .store_close = op_store_close, .store_path = op_store_path,
  .store_reader = op_store_reader, .store_release = op_store_release, .store_set_pool = op_store_set_pool,
  .store_write = op_store_write, .store_append = op_store_append,
  .store_write_direct = op_store_write /* the same transaction on the calling thread */,
  .store_get_stats = op_store_get_stats, .prep = op_prep, .bind_int = op_bind_int, .bind_double = op_bind_double,
  .bind_text = op_bind_text, .bind_null = op_bind_null, .step = op_step, .col_count = op_col_count,
  .col_name = op_col_name, .col_null = op_col_null, .col_type = op_col_type, .col_int = op_col_int,
  .col_double = op_col_double, .col_text = op_col_text, .stmt_done = op_stmt_done, .exec = op_exec,
  .changes = op_changes, .db_generation = op_db_generation,
  /* col_get: the generic one; prep_static: prep; no indexer: the index is written with the lead */
  .copy_in = op_copy_in, .read_begin = op_read_begin, .read_end = op_read_end, .prep_insert = op_prep_insert,
  .step_insert = op_step_insert, .dialect_word = pg_dialect_word, .schema_lock = op_schema_lock,
  .schema_unlock = op_schema_unlock, .bulk_insert = op_bulk_insert, .ids_follow = op_ids_follow,
  .reserve_ids = op_reserve_ids, .search_cond = op_search_cond, .search_put = op_search_put,
  .contacts_rebuild = op_contacts_rebuild, .store_backup = op_store_backup,
};
