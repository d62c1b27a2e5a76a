/* test_store.c — the store's conformance suite, run against each backend of db.h: migrations and
 * seeded defaults, the writer (durability under 8 threads, one failing call rolled back alone),
 * lp_update's version check, lp_insert / lp_query and `$N` binding, the lead close path end to end
 * (dry run changes nothing; a real close writes the lead, tasks, follow-up, groups, threads and
 * timeline in one transaction), approvals, reopen, stage moves, the search index, API tokens
 * (who may revoke one) and the answers kept for Idempotency-Key.
 *
 * The group runs first on SQLite (each test on a file in a fresh mkdtemp folder) and then, when
 * LEADPATH_TEST_PG_URL names a throwaway PostgreSQL server (postgresql://...; the user may CREATE
 * DATABASE, e.g. the first line of scripts/pg-test.sh), a second time with each test on a fresh
 * database lp_unit_<pid>_<n> of that server, dropped again in teardown. Without the variable the
 * PostgreSQL run is skipped (one line says so). The tests are engine-neutral and their SQL runs on
 * both; only what proves SQLite's own mechanism (the group-commit batch) is skipped on PostgreSQL,
 * with a line saying why. Every time is a fixed parameter; the real clock is never read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/plan.h"
#include "core/record.h"
#include "store/db.h"
#include "store/apply.h"
#include "store/approvals.h"
#include "store/idem.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/migrate.h"
#include "store/rows.h"
#include "store/tasks.h"
#include "store/users.h"
#include "util/secret.h"
#include "util/timefmt.h"

#define T0 INT64_C(1790000000)   /* migrations */
#define T1 (T0 + 1000)           /* lead created */
#define DAY INT64_C(86400)
#define T2 (T1 + 5 * DAY)        /* lead closed */

/* ---- fixture: a fresh database per test ------------------------------------------------ */

typedef struct {
    char dir[64];   /* SQLite: the mkdtemp folder of the file */
    char pgdb[64];  /* PostgreSQL: the database of this test */
    char url[1024];
    lp_store *s;
} fx;

static fx F;
static lp_engine ENGINE = LP_ENGINE_SQLITE; /* the backend the running group uses */
static const char *PG_URL;                  /* LEADPATH_TEST_PG_URL, or NULL */
static int pg_seq;

/* A line saying which check does not apply on this engine, and why. */
static void skipped_on_pg(const char *what, const char *why)
{
    print_message("[  SKIPPED ] on PostgreSQL: %s (%s)\n", what, why);
}

static void pg_quiet(void *arg, const char *msg) { (void)arg; (void)msg; }

/* Runs one statement (CREATE/DROP DATABASE) on the server of LEADPATH_TEST_PG_URL. 0 or -1. */
static int pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(PG_URL);
    int ok = c && PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(c, pg_quiet, NULL);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            print_error("%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        print_error("cannot connect to LEADPATH_TEST_PG_URL: %s", c ? PQerrorMessage(c) : "out of memory");
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

/* The URL of database `name` on the server of `base`: the URI's path replaced, its query kept. */
static int pg_url_for(const char *base, const char *name, char *out, size_t n)
{
    const char *auth = strstr(base, "://");
    if (!auth)
        return -1;
    auth += 3;
    const char *end = auth + strcspn(auth, "/?");
    const char *query = strchr(end, '?');
    int w = snprintf(out, n, "%.*s/%s%s", (int)(end - base), base, name, query ? query : "");
    return w > 0 && (size_t)w < n ? 0 : -1;
}

static lp_store *open_store(void)
{
    lp_err err = LP_ERR_INIT;
    lp_store *s = lp_store_open(F.url, &err);
    if (!s)
        fail_msg("lp_store_open(%s): %s", F.url, err.message);
    lp_err_release(&err);
    return s;
}

static int teardown(void **state);

/* A SQLite store's files: the database, then (from index 4) its search file. */
static const char *const db_files[] = {"lp.db", "lp.db-wal", "lp.db-shm", "lp.db-journal",
                                       "lp.db-search", "lp.db-search-wal", "lp.db-search-shm", "lp.db-search-journal"};
#define SEARCH_FILES (db_files + 4)

static void unlink_in(const char *dir, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    lp_sla_forget(); /* the SLA cache is keyed by time only; every test has its own database */
    if (ENGINE == LP_ENGINE_PG) {
        snprintf(F.pgdb, sizeof F.pgdb, "lp_unit_%ld_%d", (long)getpid(), ++pg_seq);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", F.pgdb);
        if (pg_admin(sql) != 0) {
            F.pgdb[0] = 0;
            return -1;
        }
        if (pg_url_for(PG_URL, F.pgdb, F.url, sizeof F.url) != 0) {
            teardown(state);
            return -1;
        }
    } else {
        snprintf(F.dir, sizeof F.dir, "/tmp/lp-unit-store-XXXXXX");
        if (!mkdtemp(F.dir))
            return -1;
        snprintf(F.url, sizeof F.url, "sqlite:%s/lp.db", F.dir);
    }
    F.s = open_store();
    return 0;
}

static int setup_migrated(void **state)
{
    if (setup(state) != 0)
        return -1;
    lp_err err = LP_ERR_INIT;
    int applied = -1;
    lp_code rc = lp_migrate(F.s, T0, &applied, &err);
    if (rc != LP_OK)
        print_error("lp_migrate: %s\n", err.message);
    lp_err_release(&err);
    if (rc == LP_OK && applied == lp_schema_version())
        return 0;
    teardown(state); /* cmocka does not tear down after a failed setup */
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    if (F.s)
        lp_store_close(F.s);
    F.s = NULL;
    if (F.pgdb[0]) {
        /* every connection of the store is closed; FORCE ends any the server still winds down */
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", F.pgdb);
        F.pgdb[0] = 0;
        return pg_admin(sql);
    }
    if (F.dir[0]) {
        unlink_in(F.dir, db_files, 8);
        rmdir(F.dir);
    }
    return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

static json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *J(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_error_t e;
    json_t *v = json_loads(buf, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON (%s): %s", e.text, buf);
    return v;
}

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static lp_db *reader(void)
{
    lp_err err = LP_ERR_INIT;
    lp_db *db = lp_store_reader(F.s, &err);
    if (!db)
        fail_msg("no reader: %s", err.message);
    return db;
}

/* One integer from the main thread's reader; params is JSON text or NULL. */
static int64_t qint(const char *sql, const char *params)
{
    json_t *p = params ? J("%s", params) : NULL;
    lp_err err = LP_ERR_INIT;
    int64_t v = lp_query_int(reader(), sql, p, INT64_MIN, &err);
    json_decref(p);
    if (err.code != LP_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", sql, err.message);
        lp_err_release(&err);
        fail_msg("%s", msg);
    }
    return v;
}

/* Rows of a query on the main thread's reader (new reference). */
static json_t *qrows(const char *sql, const char *params)
{
    json_t *p = params ? J("%s", params) : NULL;
    lp_err err = LP_ERR_INIT;
    json_t *rows = lp_query(reader(), sql, p, &err);
    json_decref(p);
    if (!rows) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", sql, err.message);
        lp_err_release(&err);
        fail_msg("%s", msg);
    }
    return rows;
}

/* Runs one SQL text (no params) through the group-commit writer. */
static lp_code exec_fn(lp_db *db, void *ctx, lp_err *err) { return lp_db_exec(db, ctx, err); }

static void write_sql(const char *sql)
{
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_store_write(F.s, exec_fn, (void *)sql, &err);
    if (rc != LP_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", sql, err.message);
        lp_err_release(&err);
        fail_msg("%s", msg);
    }
}

/* Runs schema text in the shared dialect (lp_db_ddl: {{id}}, {{int64}}) through the writer. */
static lp_code ddl_fn(lp_db *db, void *ctx, lp_err *err) { return lp_db_ddl(db, ctx, err); }

static void write_ddl(const char *sql)
{
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_store_write(F.s, ddl_fn, (void *)sql, &err);
    if (rc != LP_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", sql, err.message);
        lp_err_release(&err);
        fail_msg("%s", msg);
    }
}

/* ---- migrations and seeds -------------------------------------------------------------- */

static void test_migrate_twice(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    int applied = -1;
    assert_int_equal(lp_migrate(F.s, T0, &applied, &err), LP_OK);
    assert_int_equal(applied, lp_schema_version());   /* every migration, once */
    assert_true(lp_schema_version() >= 3);
    assert_int_equal(qint("SELECT count(*) FROM schema_migrations", NULL), lp_schema_version());
    assert_int_equal(qint("SELECT max(version) FROM schema_migrations", NULL), lp_schema_version());
    assert_int_equal(qint("SELECT min(applied_at) FROM schema_migrations", NULL), T0);

    applied = -1;
    assert_int_equal(lp_migrate(F.s, T0 + 10, &applied, &err), LP_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(qint("SELECT count(*) FROM schema_migrations", NULL), lp_schema_version());
    /* the seeds ran once (seven outcomes, and `merged` of the merge migration) */
    assert_int_equal(qint("SELECT count(*) FROM outcomes", NULL), 8);

    /* and again after reopening the file */
    lp_store_close(F.s);
    F.s = open_store();
    applied = -1;
    assert_int_equal(lp_migrate(F.s, T0 + 20, &applied, &err), LP_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(qint("SELECT count(*) FROM stages", NULL), 5);
    assert_int_equal(err.code, LP_OK);
    lp_err_release(&err);
}

static void test_open_bad_url(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    assert_null(lp_store_open("sqlite:", &err));
    assert_int_not_equal(err.code, LP_OK);
    lp_err_release(&err);
    assert_null(lp_store_open("sqlite:/nonexistent-dir-lp/x/y.db", &err));
    assert_int_equal(err.code, LP_EUNAVAILABLE);
    lp_err_release(&err);
    /* nothing listens on port 1: refused at once */
    assert_null(lp_store_open("postgresql://postgres@127.0.0.1:1/leadpath?connect_timeout=2", &err));
    assert_int_equal(err.code, LP_EUNAVAILABLE);
    lp_err_release(&err);
    assert_int_equal(lp_store_engine(F.s), ENGINE);
    if (ENGINE == LP_ENGINE_PG)
        assert_string_equal(lp_store_path(F.s), F.url);
    else
        assert_non_null(strstr(lp_store_path(F.s), "lp.db"));
}

static void test_seeded_defaults(void **state)
{
    (void)state;
    /* stages */
    json_t *st = qrows("SELECT name, position, is_sale, waiting, active FROM stages ORDER BY position", NULL);
    assert_int_equal(json_array_size(st), 5);
    const char *names[] = {"New", "Contacted", "Waiting for more information", "Quoted", "Sold"};
    for (size_t i = 0; i < 5; i++) {
        json_t *r = json_array_get(st, i);
        assert_string_equal(sget(r, "name"), names[i]);
        assert_int_equal(iget(r, "active"), 1);
        assert_int_equal(iget(r, "waiting"), i == 2);
        assert_int_equal(iget(r, "is_sale"), i == 4);
    }
    json_decref(st);

    /* outcomes and their kinds */
    json_t *oc = qrows("SELECT key, kind, active FROM outcomes", NULL);
    assert_int_equal(json_array_size(oc), 8);
    json_t *want = J("{\"won\": \"won\", \"lost\": \"lost\", \"converted\": \"won\", \"treated\": \"neutral\","
                     " \"passed_to_distribution\": \"neutral\", \"abandoned\": \"lost\", \"completed\": \"neutral\","
                     " \"merged\": \"neutral\"}");
    size_t i;
    json_t *r;
    json_array_foreach(oc, i, r) {
        const char *kind = json_string_value(json_object_get(want, sget(r, "key")));
        if (!kind)
            fail_msg("unexpected outcome %s", sget(r, "key"));
        assert_string_equal(sget(r, "kind"), kind);
        assert_int_equal(iget(r, "active"), 1);
        json_object_del(want, sget(r, "key"));
    }
    assert_int_equal(json_object_size(want), 0);
    json_decref(want);
    json_decref(oc);

    /* lost reasons: Spam does not count in reports, the others do */
    assert_int_equal(qint("SELECT counts_in_reports FROM lost_reasons WHERE name = 'Spam'", NULL), 0);
    assert_true(qint("SELECT count(*) FROM lost_reasons", NULL) >= 2);
    assert_int_equal(qint("SELECT count(*) FROM lost_reasons WHERE counts_in_reports = 0", NULL), 1);
    assert_int_equal(qint("SELECT count(*) FROM lost_reasons WHERE active = 1", NULL),
                     qint("SELECT count(*) FROM lost_reasons", NULL));

    /* the default close-lost group is "Live Leads" */
    int64_t live = qint("SELECT id FROM contact_groups WHERE name = 'Live Leads'", NULL);
    assert_true(live > 0);
    assert_int_equal(qint("SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'close_lost_default_group_id'", NULL),
                     live);

    /* settings: SLA targets */
    assert_int_equal(qint("SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'sla_warning_days'", NULL), 5);
    assert_int_equal(qint("SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'sla_breach_days'", NULL), 30);
    assert_int_equal(qint("SELECT count(*) FROM settings WHERE key = 'business_hours'", NULL), 1);
    lp_sla_cfg sla = lp_sla_settings(reader(), T0);
    assert_int_equal(sla.warn_days, 5);
    assert_int_equal(sla.breach_days, 30);

    /* built-in roles */
    assert_int_equal(qint("SELECT count(*) FROM roles WHERE builtin = 1 AND name IN ('admin', 'manager', 'agent')", NULL), 3);
}

/* ---- group commit ---------------------------------------------------------------------- */

#define WRITERS 8
#define WRITES 200

typedef struct {
    int thread, i;
} probe_ctx;

static lp_code probe_insert(lp_db *db, void *p, lp_err *err)
{
    probe_ctx *c = p;
    json_t *args = json_pack("[i, i]", c->thread, c->i);
    lp_code rc = lp_exec(db, "INSERT INTO probe(thread, i) VALUES ($1, $2)", args, err);
    json_decref(args);
    return rc;
}

typedef struct {
    int thread, failures;
    lp_code first_bad;
} writer_arg;

static void *writer_thread(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < WRITES; i++) {
        probe_ctx c = {w->thread, i};
        lp_err err = LP_ERR_INIT;
        lp_code rc = lp_store_write(F.s, probe_insert, &c, &err);
        if (rc != LP_OK) {
            if (!w->failures++)
                w->first_bad = rc;
        }
        lp_err_release(&err);
    }
    return NULL;
}

static void test_group_commit_durable(void **state)
{
    (void)state;
    write_sql("CREATE TABLE probe(thread INTEGER NOT NULL, i INTEGER NOT NULL, PRIMARY KEY(thread, i))");
    pthread_t th[WRITERS];
    writer_arg args[WRITERS];
    for (int t = 0; t < WRITERS; t++) {
        args[t] = (writer_arg){t, 0, LP_OK};
        assert_int_equal(pthread_create(&th[t], NULL, writer_thread, &args[t]), 0);
    }
    for (int t = 0; t < WRITERS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < WRITERS; t++)
        if (args[t].failures)
            fail_msg("thread %d: %d writes failed (first: %s)", t, args[t].failures, lp_code_name(args[t].first_bad));

    /* every acknowledged write is on disk: reopen and count */
    lp_store_close(F.s);
    F.s = open_store();
    assert_int_equal(qint("SELECT count(*) FROM probe", NULL), WRITERS * WRITES);
    assert_int_equal(qint("SELECT count(DISTINCT thread) FROM probe", NULL), WRITERS);
    for (int t = 0; t < WRITERS; t++) {
        char p[32];
        snprintf(p, sizeof p, "[%d]", t);
        assert_int_equal(qint("SELECT count(*) FROM probe WHERE thread = $1", p), WRITES);
        assert_int_equal(qint("SELECT max(i) FROM probe WHERE thread = $1", p), WRITES - 1);
    }
}

/* One batch with a failure inside: a blocker keeps the writer busy while BATCH callers queue,
 * so they all run in the next batch (one transaction). Each call records how many rows of the
 * batch exist uncommitted when it runs (rows its own connection sees minus rows a separate
 * reader connection sees): the maximum, BATCH - 1, proves the survivors shared a transaction. */
#define BATCH 6
#define FAILING 3

static atomic_int blocker_running, queued;

typedef struct {
    int tag, fail;
    int64_t uncommitted;
    lp_code rc;
} batch_job;

static int64_t uncommitted_rows(lp_db *db, lp_err *err)
{
    int64_t mine = lp_query_int(db, "SELECT count(*) FROM probe2", NULL, -1, err);
    lp_db *other = lp_store_reader(F.s, err); /* the writer thread's own reader connection */
    int64_t committed = other ? lp_query_int(other, "SELECT count(*) FROM probe2", NULL, -1, err) : -1;
    return mine - committed;
}

static lp_code batch_fn(lp_db *db, void *p, lp_err *err)
{
    batch_job *j = p;
    json_t *args = json_pack("[i]", j->tag);
    lp_code rc = lp_exec(db, "INSERT INTO probe2(tag) VALUES ($1)", args, err);
    if (rc == LP_OK)
        j->uncommitted = uncommitted_rows(db, err);
    /* the failing call writes first, then breaks a constraint: both must be undone */
    if (rc == LP_OK && j->fail)
        rc = lp_exec(db, "INSERT INTO probe2(tag) VALUES ($1)", args, err);
    json_decref(args);
    return rc;
}

static lp_code blocker_fn(lp_db *db, void *p, lp_err *err)
{
    (void)p;
    atomic_store(&blocker_running, 1);
    for (int i = 0; i < 500 && atomic_load(&queued) < BATCH; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 200 * 1000 * 1000}; /* let the last ones reach the queue */
    nanosleep(&ts, NULL);
    return lp_exec(db, "INSERT INTO probe2(tag) VALUES (-1)", NULL, err);
}

static void *blocker_thread(void *p)
{
    lp_err err = LP_ERR_INIT;
    *(lp_code *)p = lp_store_write(F.s, blocker_fn, NULL, &err);
    lp_err_release(&err);
    return NULL;
}

static void *batch_thread(void *p)
{
    batch_job *j = p;
    while (!atomic_load(&blocker_running)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&queued, 1);
    lp_err err = LP_ERR_INIT;
    j->rc = lp_store_write(F.s, batch_fn, j, &err);
    lp_err_release(&err);
    return NULL;
}

static void test_group_commit_failure_isolated(void **state)
{
    (void)state;
    write_sql("CREATE TABLE probe2(tag INTEGER NOT NULL UNIQUE)");
    atomic_store(&blocker_running, 0);
    atomic_store(&queued, 0);
    lp_code brc = LP_EINTERNAL;
    pthread_t bt, th[BATCH];
    batch_job jobs[BATCH];
    assert_int_equal(pthread_create(&bt, NULL, blocker_thread, &brc), 0);
    for (int i = 0; i < BATCH; i++) {
        jobs[i] = (batch_job){i + 1, i == FAILING, -1, LP_EINTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, batch_thread, &jobs[i]), 0);
    }
    pthread_join(bt, NULL);
    for (int i = 0; i < BATCH; i++)
        pthread_join(th[i], NULL);

    assert_int_equal(brc, LP_OK);
    int64_t max_unc = 0;
    for (int i = 0; i < BATCH; i++) {
        if (i == FAILING) {
            assert_int_equal(jobs[i].rc, LP_ECONFLICT); /* its own error, as returned by its fn */
            continue;
        }
        assert_int_equal(jobs[i].rc, LP_OK);
        if (jobs[i].uncommitted > max_unc)
            max_unc = jobs[i].uncommitted;
    }
    /* the failing call's first insert and the constraint-breaking one are both gone */
    assert_int_equal(qint("SELECT count(*) FROM probe2 WHERE tag = $1", "[4]"), 0);
    assert_int_equal(qint("SELECT count(*) FROM probe2", NULL), 1 + BATCH - 1);
    /* the survivors were committed together, in the same batch as the failure */
    if (ENGINE == LP_ENGINE_SQLITE)
        assert_int_equal(max_unc, BATCH - 1);
    else
        skipped_on_pg("the group-commit batch proof",
                      "each write is its own transaction on the caller's thread; there is no batch");

    /* after a failed call the writer keeps working */
    write_sql("INSERT INTO probe2(tag) VALUES (100)");
    assert_int_equal(qint("SELECT count(*) FROM probe2 WHERE tag = 100", NULL), 1);
}

/* A rider (lp_store_ride: what an Idempotency-Key claim uses) commits exactly with the thread's
 * next committed write: not with a write that fails, not twice, and its own failure takes the
 * write down with it. */
static lp_code write_sql_rc(const char *sql)
{
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_store_write(F.s, exec_fn, (void *)sql, &err);
    lp_err_release(&err);
    return rc;
}

static void test_write_rider(void **state)
{
    (void)state;
    write_sql("CREATE TABLE probe3(tag INTEGER NOT NULL UNIQUE)");
    lp_store_ride(exec_fn, (void *)"INSERT INTO probe3(tag) VALUES (1000)");
    /* the write fails: the rider goes down with it and stays armed */
    assert_int_equal(write_sql_rc("INSERT INTO probe3(tag) VALUES (5), (5)"), LP_ECONFLICT);
    assert_int_equal(qint("SELECT count(*) FROM probe3", NULL), 0);
    /* the next write commits, and the rider with it */
    assert_int_equal(write_sql_rc("INSERT INTO probe3(tag) VALUES (1)"), LP_OK);
    assert_int_equal(qint("SELECT count(*) FROM probe3 WHERE tag IN (1, 1000)", NULL), 2);
    /* once only: a second write does not carry it (it would break UNIQUE) */
    assert_int_equal(write_sql_rc("INSERT INTO probe3(tag) VALUES (2)"), LP_OK);
    assert_int_equal(lp_store_ride_end(), 1);
    /* a rider that fails rolls its write back */
    lp_store_ride(exec_fn, (void *)"INSERT INTO probe3(tag) VALUES (1000)");
    assert_int_equal(write_sql_rc("INSERT INTO probe3(tag) VALUES (3)"), LP_ECONFLICT);
    assert_int_equal(qint("SELECT count(*) FROM probe3 WHERE tag = 3", NULL), 0);
    assert_int_equal(lp_store_ride_end(), 0);
    /* disarmed: writes go alone */
    assert_int_equal(write_sql_rc("INSERT INTO probe3(tag) VALUES (4)"), LP_OK);
    assert_int_equal(lp_store_ride_end(), 0);
    assert_int_equal(qint("SELECT count(*) FROM probe3", NULL), 4);
}

/* A summary (db.h, lp_db_summary): what writes add is written once before COMMIT, only for
 * the writes that succeed; a flush inside a write that then fails is undone and written again. */
typedef struct { int64_t v; } sum_part;
static int sum_flushes;
static void *sum_make(void) { return calloc(1, sizeof(sum_part)); }
static int sum_merge(void *into, const void *from) { ((sum_part *)into)->v += ((const sum_part *)from)->v; return 0; }
static lp_code sum_flush(lp_db *db, const void *p, lp_err *err)
{
    const sum_part *x = p;
    if (!x->v) return LP_OK;
    sum_flushes++;
    lp_stmt *st = lp_db_prep(db, "UPDATE probe4 SET v = v + $1", err);
    if (!st) return err->code;
    lp_bind_int(st, 1, x->v);
    lp_code rc = lp_step(st, err) < 0 ? err->code : LP_OK;
    lp_stmt_done(st);
    return rc;
}
static void sum_clear(void *p) { ((sum_part *)p)->v = 0; }
static const lp_summary_kind sum_kind = {sum_make, sum_merge, sum_flush, sum_clear, free};
typedef struct { int64_t add; int flush_now; int fail; } sum_job;
static lp_code sum_fn(lp_db *db, void *p, lp_err *err)
{
    sum_job *j = p;
    sum_part *x = lp_db_summary(db, &sum_kind);
    if (!x) return lp_fail(err, LP_EINTERNAL, "no summary inside a write");
    x->v += j->add;
    if (j->flush_now && lp_db_summary_flush(db, &sum_kind, err) != LP_OK) return err->code;
    return j->fail ? lp_fail(err, LP_ECONFLICT, "this write fails") : LP_OK;
}
static lp_code sum_run(int64_t add, int flush_now, int fail)
{
    sum_job j = {add, flush_now, fail};
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_store_write(F.s, sum_fn, &j, &err);
    lp_err_release(&err);
    return rc;
}

static void test_summary_before_commit(void **state)
{
    (void)state;
    write_sql("CREATE TABLE probe4(v INTEGER NOT NULL)");
    write_sql("INSERT INTO probe4(v) VALUES (0)");
    sum_flushes = 0;
    assert_int_equal(sum_run(5, 0, 0), LP_OK);
    assert_int_equal(qint("SELECT v FROM probe4", NULL), 5);
    assert_int_equal(sum_flushes, 1);
    /* a failing write adds nothing */
    assert_int_equal(sum_run(7, 0, 1), LP_ECONFLICT);
    assert_int_equal(qint("SELECT v FROM probe4", NULL), 5);
    /* flushed inside a write that then fails: rolled back with it */
    assert_int_equal(sum_run(11, 1, 1), LP_ECONFLICT);
    assert_int_equal(qint("SELECT v FROM probe4", NULL), 5);
    /* flushed inside a write that succeeds: written once, not again at commit */
    sum_flushes = 0;
    assert_int_equal(sum_run(13, 1, 0), LP_OK);
    assert_int_equal(qint("SELECT v FROM probe4", NULL), 18);
    assert_int_equal(sum_flushes, 1);
    /* outside a write of the store there is no summary: the caller writes at once */
    lp_err err = LP_ERR_INIT;
    lp_db *db = lp_store_reader(F.s, &err);
    assert_non_null(db);
    assert_null(lp_db_summary(db, &sum_kind));
    lp_err_release(&err);
}

/* ---- rows: update, insert, query, binding ---------------------------------------------- */

typedef struct {
    const char *table;
    int64_t id, expect;
    json_t *cols;
} upd_ctx;

static lp_code update_fn(lp_db *db, void *p, lp_err *err)
{
    upd_ctx *c = p;
    return lp_update(db, c->table, c->id, c->cols, c->expect, err);
}

static lp_code insert_fn(lp_db *db, void *p, lp_err *err)
{
    upd_ctx *c = p;
    return lp_insert(db, c->table, c->cols, &c->id, err);
}

static void test_update_stale_version(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    upd_ctx c = {"sources", 0, -1, J("{\"name\": \"Fax\"}")};
    assert_int_equal(lp_store_write(F.s, insert_fn, &c, &err), LP_OK);
    json_decref(c.cols);
    int64_t id = c.id;
    assert_true(id > 0);
    char p[32];
    snprintf(p, sizeof p, "[%lld]", (long long)id);
    assert_int_equal(qint("SELECT version FROM sources WHERE id = $1", p), 1);

    /* right version: applied, version bumped */
    c = (upd_ctx){"sources", id, 1, J("{\"name\": \"Telefax\"}")};
    assert_int_equal(lp_store_write(F.s, update_fn, &c, &err), LP_OK);
    json_decref(c.cols);
    assert_int_equal(qint("SELECT version FROM sources WHERE id = $1", p), 2);

    /* stale version: 412 and nothing changed */
    c = (upd_ctx){"sources", id, 1, J("{\"name\": \"Telex\", \"active\": 0}")};
    assert_int_equal(lp_store_write(F.s, update_fn, &c, &err), LP_EVERSION);
    assert_int_equal(lp_code_status(err.code), 412);
    lp_err_release(&err);
    json_decref(c.cols);
    json_t *idp = json_pack("[I]", (json_int_t)id);
    json_t *row = lp_query_one(reader(), "SELECT * FROM sources WHERE id = $1", idp, &err);
    json_decref(idp);
    assert_non_null(row);
    assert_string_equal(sget(row, "name"), "Telefax");
    assert_int_equal(iget(row, "active"), 1);
    assert_int_equal(iget(row, "version"), 2);
    json_decref(row);

    /* no such row: 404 */
    c = (upd_ctx){"sources", 999999, 1, J("{\"name\": \"Ghost\"}")};
    assert_int_equal(lp_store_write(F.s, update_fn, &c, &err), LP_ENOTFOUND);
    lp_err_release(&err);
    json_decref(c.cols);

    /* expect < 0 skips the check; id and version in cols are ignored */
    c = (upd_ctx){"sources", id, -1, J("{\"name\": \"Fax machine\", \"version\": 50, \"id\": 7}")};
    assert_int_equal(lp_store_write(F.s, update_fn, &c, &err), LP_OK);
    json_decref(c.cols);
    assert_int_equal(qint("SELECT version FROM sources WHERE id = $1", p), 3);
    assert_int_equal(qint("SELECT count(*) FROM sources WHERE id = $1 AND name = 'Fax machine'", p), 1);
    lp_err_release(&err);
}

static void test_insert_query_round_trip(void **state)
{
    (void)state;
    /* an id the database assigns: SQLite's rowid alias, PostgreSQL's identity ({{id}}, as migrate.c) */
    write_ddl("CREATE TABLE kinds(id {{id}}, i {{int64}}, t TEXT, r REAL, n TEXT, b INTEGER, j TEXT)");
    lp_err err = LP_ERR_INIT;
    upd_ctx c = {"kinds", 0, -1,
                 J("{\"i\": -9007199254740993, \"t\": \"h\\u00e9llo \\u2603\", \"r\": 1.5, \"n\": null, \"b\": true,"
                   " \"j\": {\"a\": [1, 2]}}")};
    assert_int_equal(lp_store_write(F.s, insert_fn, &c, &err), LP_OK);
    json_decref(c.cols);
    assert_true(c.id > 0);

    json_t *args = json_pack("[I]", (json_int_t)c.id);
    json_t *rows = lp_query(reader(), "SELECT * FROM kinds WHERE id = $1", args, &err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 1);
    json_t *r = json_array_get(rows, 0);
    assert_int_equal(iget(r, "id"), c.id);
    assert_true(json_is_integer(json_object_get(r, "i")));
    assert_true(iget(r, "i") == INT64_C(-9007199254740993));
    assert_string_equal(sget(r, "t"), "h\xc3\xa9llo \xe2\x98\x83");
    assert_true(json_is_real(json_object_get(r, "r")));
    assert_true(json_real_value(json_object_get(r, "r")) == 1.5);
    assert_true(json_is_null(json_object_get(r, "n")));
    assert_int_equal(iget(r, "b"), 1);
    json_t *jv = J("%s", sget(r, "j"));
    json_t *jw = J("{\"a\": [1, 2]}");
    assert_true(json_equal(jv, jw));
    json_decref(jv);
    json_decref(jw);
    json_decref(rows);

    /* query_one: the row, or NULL with no error when there is none */
    json_t *one = lp_query_one(reader(), "SELECT t FROM kinds WHERE id = $1", args, &err);
    assert_non_null(one);
    json_decref(one);
    json_decref(args);
    args = json_pack("[I]", (json_int_t)(c.id + 1000));
    assert_null(lp_query_one(reader(), "SELECT t FROM kinds WHERE id = $1", args, &err));
    assert_int_equal(err.code, LP_OK);
    assert_int_equal(lp_query_int(reader(), "SELECT i FROM kinds WHERE id = $1", args, 77, &err), 77);
    rows = lp_query(reader(), "SELECT * FROM kinds WHERE id = $1", args, &err);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    json_decref(args);

    /* SQL errors come back as errors */
    assert_null(lp_query(reader(), "SELECT nope FROM kinds", NULL, &err));
    assert_int_not_equal(err.code, LP_OK);
    lp_err_release(&err);

    /* a constraint violation is a conflict */
    c = (upd_ctx){"kinds", 0, -1, J("{\"id\": %lld, \"i\": 1}", (long long)c.id)};
    assert_int_equal(lp_store_write(F.s, insert_fn, &c, &err), LP_ECONFLICT);
    json_decref(c.cols);
    lp_err_release(&err);
    assert_int_equal(qint("SELECT count(*) FROM kinds", NULL), 1);
}

static void test_binding_order(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    /* $2 before $1 in the text: values go by number, not by position */
    json_t *args = J("[\"first\", \"second\"]");
    json_t *row = lp_query_one(reader(), "SELECT $2 AS b, $1 AS a", args, &err);
    json_decref(args);
    assert_non_null(row);
    assert_string_equal(sget(row, "a"), "first");
    assert_string_equal(sget(row, "b"), "second");
    json_decref(row);

    args = J("[1, 20, 300]");
    row = lp_query_one(reader(), "SELECT $3 AS c, $1 AS a, $2 AS b, $3 - $1 AS d, $1 + $1 AS e", args, &err);
    json_decref(args);
    assert_int_equal(iget(row, "a"), 1);
    assert_int_equal(iget(row, "b"), 20);
    assert_int_equal(iget(row, "c"), 300);
    assert_int_equal(iget(row, "d"), 299);
    assert_int_equal(iget(row, "e"), 2);
    json_decref(row);

    /* ten and more parameters: $10 is not $1 followed by 0 */
    args = J("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]");
    row = lp_query_one(reader(), "SELECT $11 AS k, $10 AS j, $1 AS a", args, &err);
    json_decref(args);
    assert_int_equal(iget(row, "k"), 11);
    assert_int_equal(iget(row, "j"), 10);
    assert_int_equal(iget(row, "a"), 1);
    json_decref(row);

    /* the statement API directly, reused from the cache with fresh bindings */
    for (int round = 0; round < 2; round++) {
        lp_stmt *st = lp_db_prep(reader(), "SELECT $2 || '-' || $1 AS s, $3 IS NULL AS n", &err);
        assert_non_null(st);
        lp_bind_text(st, 1, round ? "x" : "a");
        lp_bind_text(st, 2, round ? "y" : "b");
        if (!round)
            lp_bind_int(st, 3, 5); /* left unbound in round 1: must be NULL again */
        assert_int_equal(lp_step(st, &err), 1);
        assert_string_equal(lp_col_text(st, 0), round ? "y-x" : "b-a");
        assert_int_equal(lp_col_int(st, 1), round ? 1 : 0);
        assert_string_equal(lp_col_name(st, 0), "s");
        assert_int_equal(lp_step(st, &err), 0);
        lp_stmt_done(st);
    }

    /* a value's type is the one bound now, not the one of the statement's first run (NULL) */
    for (int round = 0; round < 3; round++) {
        lp_stmt *st = lp_db_prep(reader(), "SELECT $1 AS v", &err);
        assert_non_null(st);
        if (round == 1)
            lp_bind_int(st, 1, 7);
        else if (round == 2)
            lp_bind_text(st, 1, "seven");
        else
            lp_bind_null(st, 1);
        assert_int_equal(lp_step(st, &err), 1);
        assert_int_equal(lp_col_type(st, 0), round == 0 ? LP_COL_NULL : round == 1 ? LP_COL_INT : LP_COL_TEXT);
        if (round == 1)
            assert_int_equal(lp_col_int(st, 0), 7);
        if (round == 2)
            assert_string_equal(lp_col_text(st, 0), "seven");
        lp_stmt_done(st);
    }

    /* binding by number works for writes too */
    write_sql("CREATE TABLE pairs(a TEXT, b TEXT)");
    args = J("[\"A\", \"B\"]");
    lp_code rc = lp_exec(reader(), "INSERT INTO pairs(b, a) VALUES ($2, $1)", args, &err);
    json_decref(args);
    assert_int_equal(rc, LP_OK);
    assert_int_equal(qint("SELECT count(*) FROM pairs WHERE a = 'A' AND b = 'B'", NULL), 1);
    lp_err_release(&err);
}

/* ---- leads: create, dry run, close ----------------------------------------------------- */

typedef struct {
    lp_actor admin, agent;
    int64_t admin_id, mgr_id, agent_id, lead_id, task_overdue, task_future, thread_email, thread_sms, price, live,
        winback;
} world;

static void add_user(const char *email, const char *role, const char *mgr, int64_t *id)
{
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_user_add(F.s, email, email, role, mgr, "correct horse battery", T0, id, &err);
    if (rc != LP_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", email, err.message);
        lp_err_release(&err);
        fail_msg("lp_user_add %s", msg);
    }
}

static json_t *cols_in(const lp_rectype *t, const char *in, int create, int admin)
{
    json_t *o = J("%s", in);
    json_t *cols = NULL;
    lp_err err = LP_ERR_INIT;
    if (lp_rec_input(t, o, create, admin, NULL, &cols, &err) != LP_OK) {
        lp_err_release(&err);
        json_decref(o);
        fail_msg("lp_rec_input refused %s", in);
    }
    json_decref(o);
    return cols;
}

static json_t *cols_of(const lp_rectype *t, const char *in) { return cols_in(t, in, 1, 0); }
static json_t *cols_as(const lp_rectype *t, const char *in, int admin) { return cols_in(t, in, 1, admin); }
static json_t *patch_of(const char *in) { return cols_in(&lp_rt_lead, in, 0, 0); }

typedef struct {
    int64_t lead_id, id;
    const char *channel;
} thread_ctx;

static lp_code thread_fn(lp_db *db, void *p, lp_err *err)
{
    thread_ctx *c = p;
    json_t *cols = json_pack("{s:I, s:s, s:s, s:I}", "lead_id", (json_int_t)c->lead_id, "channel", c->channel,
                             "status", "open", "opened_at", (json_int_t)T1);
    lp_code rc = lp_insert(db, "threads", cols, &c->id, err);
    json_decref(cols);
    return rc;
}

static int64_t add_task(world *w, const char *title, int64_t due)
{
    char due_s[LP_TIME_LEN];
    lp_time_format(due, due_s);
    char in[200];
    snprintf(in, sizeof in, "{\"type\": \"call\", \"title\": \"%s\", \"due_at\": \"%s\"}", title, due_s);
    json_t *cols = cols_of(&lp_rt_task, in);
    lp_err err = LP_ERR_INIT;
    json_t *t = lp_task_create(F.s, &w->agent, w->lead_id, cols, T1, &err);
    json_decref(cols);
    if (!t) {
        lp_err_release(&err);
        fail_msg("lp_task_create %s", title);
    }
    int64_t id = iget(t, "id");
    json_decref(t);
    return id;
}

static int64_t add_thread(world *w, const char *channel)
{
    thread_ctx c = {w->lead_id, 0, channel};
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_store_write(F.s, thread_fn, &c, &err), LP_OK);
    return c.id;
}

/* Users, one open lead of the agent with two tasks (one overdue at T2) and two open threads. */
static void make_world(world *w)
{
    memset(w, 0, sizeof *w);
    assert_int_equal(lp_secret_init(), 0);
    add_user("admin@example.com", "admin", NULL, &w->admin_id);
    add_user("mgr@example.com", "manager", NULL, &w->mgr_id);
    add_user("agent@example.com", "agent", "mgr@example.com", &w->agent_id);
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_actor_load(reader(), w->admin_id, &w->admin, &err), LP_OK);
    assert_int_equal(lp_actor_load(reader(), w->agent_id, &w->agent, &err), LP_OK);
    assert_true(w->admin.is_admin);
    assert_int_equal(w->agent.manager_id, w->mgr_id);
    assert_int_equal(w->agent.view, LP_VIEW_OWN);
    /* the reason brings a 90-day follow-up and the Win-back group (set here, not assumed seeded) */
    w->price = qint("SELECT id FROM lost_reasons WHERE name = 'Price'", NULL);
    w->live = qint("SELECT id FROM contact_groups WHERE name = 'Live Leads'", NULL);
    write_sql("UPDATE lost_reasons SET follow_up_days = 90,"
              " group_id = (SELECT id FROM contact_groups WHERE name = 'Win-back') WHERE name = 'Price'");
    w->winback = qint("SELECT group_id FROM lost_reasons WHERE name = 'Price'", NULL);
    if (!(w->price > 0 && w->live > 0 && w->winback > 0 && w->winback != w->live))
        fail_msg("seeds: price %lld live %lld winback %lld", (long long)w->price, (long long)w->live, (long long)w->winback);

    json_t *cols = cols_of(&lp_rt_lead, "{\"full_name\": \"Ada Lovelace\", \"emails\": [\"Ada@Example.com\"],"
                                        " \"country\": \"GB\", \"phones\": [\"020 7946 0018\"]}");
    json_t *lead = lp_lead_create(F.s, &w->agent, cols, T1, &err);
    json_decref(cols);
    if (!lead) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", err.message);
        lp_err_release(&err);
        fail_msg("lp_lead_create: %s", msg);
    }
    w->lead_id = iget(lead, "id");
    assert_true(w->lead_id > 0);
    assert_string_equal(sget(lead, "status"), "open");
    assert_int_equal(iget(lead, "owner_id"), w->agent_id);
    assert_int_equal(iget(lead, "stage_id"), 1);
    assert_int_equal(iget(lead, "version"), 1);
    assert_string_equal(sget(lead, "sla"), "ok");
    assert_int_equal(iget(lead, "age_days"), 0);
    char t1[LP_TIME_LEN];
    lp_time_format(T1, t1);
    assert_string_equal(sget(lead, "created_at"), t1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(lead, "phones"), 0)), "+442079460018");
    json_decref(lead);

    w->task_overdue = add_task(w, "Call back", T1 + DAY);
    w->task_future = add_task(w, "Send brochure", T2 + DAY);
    w->thread_email = add_thread(w, "email");
    w->thread_sms = add_thread(w, "sms");
}

/* A fingerprint of everything a close may touch (new reference). */
static json_t *snapshot(int64_t lead_id)
{
    char p[32];
    snprintf(p, sizeof p, "[%lld]", (long long)lead_id);
    json_t *s = json_object();
    json_object_set_new(s, "lead", qrows("SELECT * FROM leads WHERE id = $1", p));
    json_object_set_new(s, "tasks", qrows("SELECT * FROM tasks WHERE lead_id = $1 ORDER BY id", p));
    json_object_set_new(s, "threads", qrows("SELECT * FROM threads WHERE lead_id = $1 ORDER BY id", p));
    json_object_set_new(s, "groups", qrows("SELECT * FROM lead_groups WHERE lead_id = $1", p));
    json_object_set_new(s, "events", qrows("SELECT * FROM events ORDER BY id", NULL));
    json_object_set_new(s, "notifications", qrows("SELECT * FROM notifications ORDER BY id", NULL));
    json_object_set_new(s, "approvals", qrows("SELECT * FROM approvals ORDER BY id", NULL));
    return s;
}

static void assert_unchanged(json_t *before, int64_t lead_id)
{
    json_t *after = snapshot(lead_id);
    const char *k;
    json_t *v;
    json_object_foreach(before, k, v) {
        if (!json_equal(v, json_object_get(after, k))) {
            json_decref(after);
            fail_msg("%s changed", k);
        }
    }
    json_decref(after);
}

static json_t *lost_req(world *w)
{
    return J("{\"outcome\": \"lost\", \"reason_id\": %lld, \"notes\": \"Too pricey\", \"notify_lead\": true}",
             (long long)w->price);
}

static void test_lead_close_dry_run(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    json_t *before = snapshot(w.lead_id);
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;

    json_t *req = lost_req(&w);
    json_t *res = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 1, -1, T2, &status, &err);
    json_decref(req);
    assert_non_null(res);
    assert_int_equal(status, LP_MOVE_PREVIEW);
    assert_true(json_is_true(json_object_get(res, "dry_run")));
    json_t *plan = json_object_get(res, "plan");
    /* the preview: every side effect */
    json_t *pl = json_object_get(plan, "lead");
    assert_string_equal(sget(pl, "status"), "closed");
    assert_string_equal(sget(pl, "outcome"), "lost");
    char t2[LP_TIME_LEN];
    lp_time_format(T2, t2);
    assert_string_equal(sget(pl, "closed_at"), t2);
    assert_int_equal(iget(pl, "lost_reason_id"), w.price);
    assert_int_equal(json_array_size(json_object_get(plan, "tasks_completed")), 1);
    assert_int_equal(iget(json_array_get(json_object_get(plan, "tasks_completed"), 0), "id"), w.task_overdue);
    assert_non_null(sget(json_array_get(json_object_get(plan, "tasks_completed"), 0), "title")); /* named for any client */
    assert_int_equal(json_array_size(json_object_get(plan, "tasks_cancelled")), 0);
    json_t *fu = json_object_get(plan, "follow_up");
    assert_true(json_is_object(fu));
    char due[LP_TIME_LEN];
    lp_time_format(T2 + 90 * DAY, due);
    assert_string_equal(sget(fu, "due_at"), due); /* Price brings a 90-day follow-up, in RFC 3339 */
    assert_int_equal(iget(fu, "assignee_id"), w.agent_id);
    json_t *groups = json_object_get(plan, "groups");
    assert_int_equal(json_array_size(groups), 2);
    assert_int_equal(iget(json_array_get(groups, 0), "id"), w.winback); /* named: {id, name} */
    assert_int_equal(iget(json_array_get(groups, 1), "id"), w.live);
    json_t *threads = json_object_get(plan, "threads_closed");
    assert_int_equal(json_array_size(threads), 2);
    json_t *msgs = json_object_get(plan, "messages");
    assert_int_equal(json_array_size(msgs), 1);
    assert_int_equal(iget(json_array_get(msgs, 0), "thread_id"), w.thread_email);
    assert_false(json_is_true(json_object_get(plan, "approval_required")));
    assert_int_equal(json_array_size(json_object_get(plan, "missing")), 0);
    json_decref(res);
    assert_unchanged(before, w.lead_id);

    /* a preview with a missing field answers 200 and names it */
    req = J("{\"outcome\": \"lost\"}");
    res = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 1, -1, T2, &status, &err);
    json_decref(req);
    assert_non_null(res);
    assert_int_equal(status, LP_MOVE_PREVIEW);
    json_t *missing = json_object_get(json_object_get(res, "plan"), "missing");
    assert_int_equal(json_array_size(missing), 1);
    assert_string_equal(json_string_value(json_array_get(missing, 0)), "reason_id");
    json_decref(res);
    assert_int_equal(err.code, LP_OK);
    assert_unchanged(before, w.lead_id);
    json_decref(before);
    lp_err_release(&err);
}


/* Kinds of the events written for the lead at `at`, comma-separated, sorted by kind (the
 * order side effects are written in is not part of the contract). */
static void event_kinds(int64_t lead_id, int64_t at, char *out, size_t n)
{
    char p[64];
    snprintf(p, sizeof p, "[%lld, %lld]", (long long)lead_id, (long long)at);
    json_t *rows = qrows("SELECT kind FROM events WHERE lead_id = $1 AND at = $2 ORDER BY kind, id", p);
    size_t i, len = 0;
    json_t *r;
    out[0] = 0;
    json_array_foreach(rows, i, r) len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", i ? "," : "", sget(r, "kind"));
    json_decref(rows);
}

static void test_lead_close_real(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;
    char p[64];
    snprintf(p, sizeof p, "[%lld]", (long long)w.lead_id);
    int64_t version = qint("SELECT version FROM leads WHERE id = $1", p);
    int64_t events_before = qint("SELECT count(*) FROM events", NULL);

    json_t *req = lost_req(&w);
    json_t *lead = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 0, version, T2, &status, &err);
    json_decref(req);
    if (!lead) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s %s", lp_code_name(err.code), err.message);
        lp_err_release(&err);
        fail_msg("close failed: %s", msg);
    }
    assert_int_equal(status, LP_MOVED);
    char t2[LP_TIME_LEN];
    lp_time_format(T2, t2);
    /* the answer is the closed lead */
    assert_string_equal(sget(lead, "status"), "closed");
    assert_string_equal(sget(lead, "outcome"), "lost");
    assert_int_equal(iget(lead, "lost_reason_id"), w.price);
    assert_string_equal(sget(lead, "close_notes"), "Too pricey");
    assert_string_equal(sget(lead, "closed_at"), t2);
    assert_int_equal(iget(lead, "closed_by"), w.agent_id);
    assert_int_equal(iget(lead, "version"), version + 1);
    assert_string_equal(sget(lead, "sla"), "ok");
    json_t *groups = json_object_get(lead, "groups");
    assert_int_equal(json_array_size(groups), 2);
    json_decref(lead);

    /* the row */
    json_t *rows = qrows("SELECT * FROM leads WHERE id = $1", p);
    json_t *row = json_array_get(rows, 0);
    assert_string_equal(sget(row, "status"), "closed");
    assert_int_equal(iget(row, "closed_at"), T2);
    assert_int_equal(iget(row, "updated_at"), T2);
    assert_true(json_is_null(json_object_get(row, "sold_at")));
    json_decref(rows);

    /* tasks: the overdue one done, the future one kept (lost: complete_overdue) */
    snprintf(p, sizeof p, "[%lld]", (long long)w.task_overdue);
    rows = qrows("SELECT * FROM tasks WHERE id = $1", p);
    row = json_array_get(rows, 0);
    assert_string_equal(sget(row, "status"), "done");
    assert_int_equal(iget(row, "completed_at"), T2);
    assert_int_equal(iget(row, "completed_by"), w.agent_id);
    json_decref(rows);
    snprintf(p, sizeof p, "[%lld]", (long long)w.task_future);
    rows = qrows("SELECT * FROM tasks WHERE id = $1", p);
    assert_string_equal(sget(json_array_get(rows, 0), "status"), "open");
    json_decref(rows);

    /* the follow-up task */
    snprintf(p, sizeof p, "[%lld, %lld, %lld]", (long long)w.lead_id, (long long)w.task_overdue, (long long)w.task_future);
    rows = qrows("SELECT * FROM tasks WHERE lead_id = $1 AND id NOT IN ($2, $3)", p);
    assert_int_equal(json_array_size(rows), 1);
    row = json_array_get(rows, 0);
    int64_t fu_id = iget(row, "id");
    assert_string_equal(sget(row, "type"), "closed_lost_follow_up");
    assert_string_equal(sget(row, "status"), "open");
    assert_int_equal(iget(row, "due_at"), T2 + 90 * DAY);
    assert_int_equal(iget(row, "assignee_id"), w.agent_id);
    assert_int_equal(iget(row, "created_at"), T2);
    assert_int_equal(iget(row, "created_by"), w.agent_id);
    json_decref(rows);

    /* groups */
    snprintf(p, sizeof p, "[%lld]", (long long)w.lead_id);
    rows = qrows("SELECT group_id, added_at FROM lead_groups WHERE lead_id = $1 ORDER BY group_id", p);
    assert_int_equal(json_array_size(rows), 2);
    assert_int_equal(iget(json_array_get(rows, 0), "group_id"), w.live < w.winback ? w.live : w.winback);
    assert_int_equal(iget(json_array_get(rows, 1), "group_id"), w.live < w.winback ? w.winback : w.live);
    assert_int_equal(iget(json_array_get(rows, 0), "added_at"), T2);
    json_decref(rows);

    /* threads */
    snprintf(p, sizeof p, "[%lld, %lld, %lld]", (long long)w.lead_id, (long long)T2, (long long)w.agent_id);
    assert_int_equal(qint("SELECT count(*) FROM threads WHERE lead_id = $1 AND status = 'closed' AND closed_at = $2"
                          " AND closed_by = $3", p), 2);

    /* no notification: the agent role does not notify managers by default */
    assert_int_equal(qint("SELECT count(*) FROM notifications", NULL), 0);

    /* the timeline, written with the rest */
    char kinds[400];
    event_kinds(w.lead_id, T2, kinds, sizeof kinds);
    /* notify_lead: the closing notification, rendered from its template, queued on the email thread */
    assert_string_equal(kinds, "closed,group_added,group_added,message_out,task_created,task_done,thread_closed,thread_closed");
    assert_int_equal(qint("SELECT count(*) FROM events", NULL), events_before + 8);
    rows = qrows("SELECT * FROM messages WHERE kind = 'close_notification'", NULL);
    assert_int_equal(json_array_size(rows), 1);
    json_t *msg = json_array_get(rows, 0);
    assert_string_equal(sget(msg, "status"), "queued");
    assert_string_equal(sget(msg, "to_addr"), "ada@example.com");
    assert_int_equal(iget(msg, "thread_id"), w.thread_email);
    assert_non_null(strstr(sget(msg, "body"), "Hello Ada,"));
    assert_string_equal(sget(msg, "subject"), "Thank you, Ada");
    json_decref(rows);
    char p2[64];
    snprintf(p2, sizeof p2, "[%lld]", (long long)w.lead_id);
    rows = qrows("SELECT data FROM events WHERE lead_id = $1 AND kind = 'task_created' ORDER BY id DESC LIMIT 1", p2);
    json_t *data = J("%s", sget(json_array_get(rows, 0), "data"));
    assert_int_equal(iget(data, "task_id"), fu_id);
    json_decref(data);
    json_decref(rows);

    /* closing again: 409, nothing new */
    req = J("{\"outcome\": \"won\"}");
    assert_null(lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2 + 10, &status, &err));
    assert_int_equal(err.code, LP_ECONFLICT);
    lp_err_release(&err);
    json_decref(req);
    assert_int_equal(qint("SELECT count(*) FROM events", NULL), events_before + 8);
}

static void test_lead_close_stale_version(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    json_t *before = snapshot(w.lead_id);
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;
    json_t *req = lost_req(&w);
    assert_null(lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 0, 99, T2, &status, &err));
    assert_int_equal(err.code, LP_EVERSION);
    lp_err_release(&err);
    /* a validation failure changes nothing either */
    json_t *req2 = J("{\"outcome\": \"lost\"}");
    assert_null(lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req2, 0, -1, T2, &status, &err));
    assert_int_equal(err.code, LP_EVALIDATION);
    assert_non_null(json_object_get(err.fields, "reason_id"));
    lp_err_release(&err);
    json_decref(req2);
    json_decref(req);
    assert_unchanged(before, w.lead_id);
    json_decref(before);
}

/* A failure late in applying the plan (a notification to a user that does not exist breaks a
 * foreign key) must undo everything the close had written before it: one transaction. */
static void test_lead_close_atomic(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    json_t *before = snapshot(w.lead_id);
    lp_actor a = w.agent;
    a.notify_managers_on_close_lost = 1;
    a.manager_id = 424242;
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;
    json_t *req = lost_req(&w);
    json_t *res = lp_lead_move(F.s, &a, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2, &status, &err);
    assert_null(res);
    assert_int_not_equal(err.code, LP_OK);
    lp_err_release(&err);
    assert_unchanged(before, w.lead_id);

    /* the same close by the real actor then works */
    res = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2, &status, &err);
    assert_non_null(res);
    assert_int_equal(status, LP_MOVED);
    json_decref(res);
    json_decref(req);
    json_decref(before);
}

static void test_lead_close_manager_notified(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    lp_actor a = w.agent;
    a.notify_managers_on_close_lost = 1;
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;
    json_t *req = lost_req(&w);
    json_t *res = lp_lead_move(F.s, &a, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2, &status, &err);
    json_decref(req);
    assert_non_null(res);
    json_decref(res);
    char p[64];
    snprintf(p, sizeof p, "[%lld, %lld]", (long long)w.mgr_id, (long long)w.lead_id);
    assert_int_equal(qint("SELECT count(*) FROM notifications WHERE user_id = $1 AND lead_id = $2"
                          " AND kind = 'lead_closed_lost' AND read_at IS NULL", p), 1);
}

static void test_lead_close_request_approval(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    lp_actor a = w.agent;
    a.perm[LP_ACT_CLOSE_WON] = LP_REQUEST;
    json_t *before = snapshot(w.lead_id);
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;
    json_t *req = J("{\"outcome\": \"won\", \"notes\": \"signed\"}");
    json_t *res = lp_lead_move(F.s, &a, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2, &status, &err);
    json_decref(req);
    assert_non_null(res);
    assert_int_equal(status, LP_MOVE_APPROVAL_PENDING);
    json_t *ap = json_object_get(res, "approval");
    assert_true(json_is_object(ap));
    assert_string_equal(sget(ap, "status"), "pending");
    assert_string_equal(sget(ap, "action"), "close");
    assert_int_equal(iget(ap, "lead_id"), w.lead_id);
    assert_int_equal(iget(ap, "requested_by"), w.agent_id);
    assert_int_equal(iget(ap, "approver_id"), w.mgr_id);
    assert_string_equal(sget(json_object_get(ap, "params"), "outcome"), "won");
    json_decref(res);
    /* the lead, tasks, threads and groups are untouched; only the approval and its event exist */
    char p[64];
    snprintf(p, sizeof p, "[%lld]", (long long)w.lead_id);
    json_t *lead = qrows("SELECT * FROM leads WHERE id = $1", p);
    assert_true(json_equal(lead, json_object_get(before, "lead")));
    json_decref(lead);
    assert_int_equal(qint("SELECT count(*) FROM approvals WHERE status = 'pending'", NULL), 1);
    char kinds[200];
    event_kinds(w.lead_id, T2, kinds, sizeof kinds);
    assert_string_equal(kinds, "approval_requested");
    json_decref(before);
}

static void test_lead_reopen(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;
    /* reopening an open lead: 409 */
    json_t *req = J("{\"notes\": \"back\"}");
    assert_null(lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_REOPEN, req, 0, -1, T2, &status, &err));
    assert_int_equal(err.code, LP_ECONFLICT);
    lp_err_release(&err);

    json_t *close = J("{\"outcome\": \"treated\"}");
    json_t *res = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, close, 0, -1, T2, &status, &err);
    json_decref(close);
    assert_non_null(res);
    json_decref(res);
    res = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_REOPEN, req, 0, -1, T2 + DAY, &status, &err);
    json_decref(req);
    assert_non_null(res);
    assert_int_equal(status, LP_MOVED);
    assert_string_equal(sget(res, "status"), "open");
    assert_true(json_is_null(json_object_get(res, "outcome")));
    assert_true(json_is_null(json_object_get(res, "closed_at")));
    assert_true(json_is_null(json_object_get(res, "closed_by")));
    json_decref(res);
    char kinds[200];
    event_kinds(w.lead_id, T2 + DAY, kinds, sizeof kinds);
    assert_string_equal(kinds, "reopened");
    /* treated (neutral) kept the tasks open */
    char p[64];
    snprintf(p, sizeof p, "[%lld]", (long long)w.lead_id);
    assert_int_equal(qint("SELECT count(*) FROM tasks WHERE lead_id = $1 AND status = 'open'", p), 2);
}


static json_t *move_stage(world *w, int64_t stage, int64_t now, lp_err *err)
{
    char in[64];
    snprintf(in, sizeof in, "{\"stage_id\": %lld}", (long long)stage);
    json_t *o = J("%s", in), *cols = NULL;
    assert_int_equal(lp_rec_input(&lp_rt_lead, o, 0, 0, NULL, &cols, err), LP_OK);
    json_decref(o);
    json_t *lead = lp_lead_update(F.s, &w->agent, w->lead_id, cols, -1, now, err);
    json_decref(cols);
    return lead;
}

/* Stage moves through lp_lead_update: waiting time is tracked and left out of the SLA, an
 * is_sale stage sets sold_at once, a closed lead cannot move. */
static void test_lead_stage_moves(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    lp_err err = LP_ERR_INIT;
    char p[32];
    snprintf(p, sizeof p, "[%lld]", (long long)w.lead_id);

    json_t *lead = move_stage(&w, 3, T1 + DAY, &err); /* Waiting for more information */
    assert_non_null(lead);
    assert_int_equal(iget(lead, "stage_id"), 3);
    json_decref(lead);
    assert_int_equal(qint("SELECT waiting_since FROM leads WHERE id = $1", p), T1 + DAY);

    lead = move_stage(&w, 5, T1 + 3 * DAY, &err); /* Sold */
    assert_non_null(lead);
    assert_string_equal(sget(lead, "status"), "open");
    char sold[LP_TIME_LEN];
    lp_time_format(T1 + 3 * DAY, sold);
    assert_string_equal(sget(lead, "sold_at"), sold);
    json_decref(lead);
    assert_int_equal(qint("SELECT waiting_seconds FROM leads WHERE id = $1", p), 2 * DAY);
    assert_int_equal(qint("SELECT waiting_since IS NULL FROM leads WHERE id = $1", p), 1);

    /* 6 days old, 2 of them waiting: 4 count (ok); a day later 5 count (warning) */
    lead = lp_lead_get(reader(), &w.agent, w.lead_id, T1 + 6 * DAY, &err);
    assert_non_null(lead);
    assert_int_equal(iget(lead, "age_days"), 6);
    assert_string_equal(sget(lead, "sla"), "ok");
    json_decref(lead);
    lead = lp_lead_get(reader(), &w.agent, w.lead_id, T1 + 7 * DAY, &err);
    assert_string_equal(sget(lead, "sla"), "warning");
    json_decref(lead);

    /* sold once: leaving and re-entering the sale stage keeps the first date */
    json_decref(move_stage(&w, 4, T1 + 4 * DAY, &err));
    lead = move_stage(&w, 5, T1 + 5 * DAY, &err);
    assert_string_equal(sget(lead, "sold_at"), sold);
    json_decref(lead);
    snprintf(p, sizeof p, "[%lld]", (long long)w.lead_id);
    assert_int_equal(qint("SELECT count(*) FROM events WHERE lead_id = $1 AND kind = 'stage_changed'", p), 4);

    /* closed: 409 */
    json_t *req = J("{\"outcome\": \"won\"}");
    lp_move_result status = LP_MOVED;
    json_t *res = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T1 + 6 * DAY, &status, &err);
    json_decref(req);
    assert_non_null(res);
    json_decref(res);
    assert_null(move_stage(&w, 2, T1 + 7 * DAY, &err));
    assert_int_equal(err.code, LP_ECONFLICT);
    lp_err_release(&err);
    assert_int_equal(qint("SELECT stage_id FROM leads WHERE id = $1", p), 5);
}

/* A search through lp_lead_list (q = text, any status) as the agent: how many leads it finds. */
static const char *search_param(void *ctx, const char *name)
{
    if (!strcmp(name, "q"))
        return ctx;
    return !strcmp(name, "status") ? "all" : NULL;
}

static int64_t search(world *w, const char *text)
{
    lp_err err = LP_ERR_INIT;
    json_t *res = lp_lead_list(reader(), &w->agent, search_param, (void *)text, T2, &err);
    if (!res) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", err.message);
        lp_err_release(&err);
        fail_msg("lp_lead_list q=%s: %s", text, msg);
    }
    json_t *items = json_object_get(res, "items");
    int64_t n = (int64_t)json_array_size(items);
    for (size_t i = 0; i < json_array_size(items); i++)
        assert_int_equal(iget(json_array_get(items, i), "id"), w->lead_id);
    json_decref(res);
    return n;
}

/* The search index sees every acknowledged write once lp_lead_index_sync has run (on SQLite a
 * new lead waits in fts_log, durably, in the lead's own transaction, and sync writes the entries
 * in one batch into the search file; on PostgreSQL the entry is written with the lead and sync is
 * a no-op), also across a restart; a deleted lead leaves the index; on SQLite a lost search file
 * is rebuilt from the leads. */
static void test_search_index(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    /* an index that has been written once (a new search file is first built from the leads) */
    assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
    world w;
    make_world(&w);
    /* before a sync: PostgreSQL finds the lead at once, SQLite has only queued it */
    assert_int_equal(search(&w, "lovelace"), ENGINE == LP_ENGINE_PG ? 1 : 0);

    /* a restart loses nothing */
    lp_store_close(F.s);
    F.s = open_store();
    assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
    assert_int_equal(search(&w, "lovelace"), 1);
    assert_int_equal(search(&w, "Ada@Example.com"), 1);
    assert_int_equal(search(&w, "lovel"), 1);           /* a prefix */
    assert_int_equal(search(&w, "ada lovelace"), 1);    /* every word */
    assert_int_equal(search(&w, "ada babbage"), 0);
    assert_int_equal(search(&w, "+442079460018"), 1); /* the phone, normalised */

    /* nothing waiting: sync is a cheap no-op */
    assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
    assert_int_equal(search(&w, "lovelace"), 1);

    /* a deleted lead leaves the index (leads_fts keys its entries by rowid on both engines) */
    char p[32];
    snprintf(p, sizeof p, "[%lld]", (long long)w.lead_id);
    assert_int_equal(qint("SELECT count(*) FROM leads_fts WHERE rowid = $1", p), 1);
    assert_int_equal(lp_lead_delete(F.s, &w.admin, w.lead_id, -1, T2, &err), LP_OK);
    assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
    assert_int_equal(qint("SELECT count(*) FROM leads_fts WHERE rowid = $1", p), 0);
    assert_int_equal(search(&w, "lovelace"), 0);

    if (ENGINE == LP_ENGINE_SQLITE) {
        /* the search file lost (or never copied with a backup): rebuilt at the next sync from
         * the leads, with one written just before */
        json_t *cols = cols_of(&lp_rt_lead, "{\"full_name\": \"Grace Hopper\"}");
        json_t *lead = lp_lead_create(F.s, &w.agent, cols, T1, &err);
        json_decref(cols);
        assert_non_null(lead);
        w.lead_id = iget(lead, "id");
        json_decref(lead);
        lp_store_close(F.s);
        unlink_in(F.dir, SEARCH_FILES, 4);
        F.s = open_store();
        assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
        assert_int_equal(search(&w, "lovelace"), 0);  /* deleted: still not found */
        assert_int_equal(search(&w, "hopper"), 1);
        assert_int_equal(qint("SELECT count(*) FROM leads_fts", "[]"), 1);
        assert_int_equal(lp_lead_index_step(F.s, &err), 0);  /* nothing left to do */

        /* while a rebuild runs, a search says so (503) instead of answering with part of the
         * matches; once it is through, everything is found */
        char sql[300];
        snprintf(sql, sizeof sql, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600)"
                 " INSERT INTO leads(full_name, owner_id, created_at, updated_at) SELECT 'Bulk ' || x, %lld, 1, 1 FROM c",
                 (long long)w.agent_id);
        write_sql(sql);
        lp_store_close(F.s);
        unlink_in(F.dir, SEARCH_FILES, 4);
        F.s = open_store();
        assert_int_equal(lp_lead_index_step(F.s, &err), 512);  /* the first batch of the rebuild */
        json_t *res = lp_lead_list(reader(), &w.agent, search_param, (void *)"hopper", T2, &err);
        assert_null(res);
        assert_int_equal(err.code, LP_EUNAVAILABLE);
        lp_err_release(&err);
        assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
        assert_int_equal(search(&w, "hopper"), 1);
        assert_int_equal(qint("SELECT count(*) FROM leads_fts", "[]"), 601);

        /* the written part of the log is dropped now and then, but never its last row, so a new
         * entry never takes a number the index has passed */
        snprintf(sql, sizeof sql, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 9000)"
                 " INSERT INTO fts_log(lead_id) SELECT %lld FROM c", (long long)w.lead_id);
        write_sql(sql);
        int64_t last = qint("SELECT max(seq) FROM fts_log", "[]");
        int n;
        while ((n = lp_lead_index_step(F.s, &err)) == 512) {}
        assert_int_equal(n, 9000 % 512);
        assert_true(qint("SELECT count(*) FROM fts_log", "[]") < 8192);  /* from over 9,000 */
        assert_int_equal(qint("SELECT max(seq) FROM fts_log", "[]"), last);
        cols = cols_of(&lp_rt_lead, "{\"full_name\": \"Grace Quenby\"}");
        lead = lp_lead_create(F.s, &w.agent, cols, T1, &err);
        json_decref(cols);
        assert_non_null(lead);
        w.lead_id = iget(lead, "id");
        json_decref(lead);
        assert_int_equal(qint("SELECT max(seq) FROM fts_log", "[]"), last + 1);
        assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
        assert_int_equal(search(&w, "quenby"), 1);
    }
    lp_err_release(&err);
}

/* The lead as a list shows it (status all, any owner) and as it reads alone: they must agree,
 * also after every kind of change, since lists keep rendered leads (leadjson.c). */
static const char *all_param(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcmp(name, "status")) return "all";
    return NULL;
}

static json_t *listed(world *w, int64_t id)
{
    lp_err err = LP_ERR_INIT;
    json_t *res = lp_lead_list(reader(), &w->agent, all_param, NULL, T2, &err);
    assert_non_null(res);
    json_t *found = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(res, "items"), i, it)
        if (iget(it, "id") == id) found = json_incref(it);
    json_decref(res);
    lp_err_release(&err);
    assert_non_null(found);
    return found;
}

static void assert_list_fresh(world *w, int64_t id)
{
    lp_err err = LP_ERR_INIT;
    json_t *alone = lp_lead_get(reader(), &w->agent, id, T2, &err);
    assert_non_null(alone);
    json_t *l = listed(w, id);
    char *a = json_dumps(alone, JSON_SORT_KEYS), *b = json_dumps(l, JSON_SORT_KEYS);
    assert_string_equal(b, a);
    free(a);
    free(b);
    json_decref(alone);
    json_decref(l);
    lp_err_release(&err);
}

static void test_list_rendered_leads(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    lp_err err = LP_ERR_INIT;
    assert_list_fresh(&w, w.lead_id);
    assert_list_fresh(&w, w.lead_id);  /* the second time from the rendered leads kept */

    /* an edit, a group added in the same second, a comment, a close and a reopen: each shows */
    json_t *o = J("%s", "{\"city\": \"Marlow\"}"), *cols = NULL;
    assert_int_equal(lp_rec_input(&lp_rt_lead, o, 0, 0, NULL, &cols, &err), LP_OK);
    json_decref(o);
    json_t *l = lp_lead_update(F.s, &w.admin, w.lead_id, cols, -1, T1, &err);
    json_decref(cols);
    assert_non_null(l);
    json_decref(l);
    assert_list_fresh(&w, w.lead_id);
    assert_int_equal(lp_lead_add_group(F.s, &w.admin, w.lead_id, w.winback, T1, &err), LP_OK);
    json_t *got = listed(&w, w.lead_id);
    assert_true(json_array_size(json_object_get(got, "groups")) > 0);
    json_decref(got);
    assert_list_fresh(&w, w.lead_id);
    json_t *comment = NULL;
    assert_int_equal(lp_comment_add(F.s, &w.admin, w.lead_id, "called", NULL, NULL, T2, &comment, &err), LP_OK);
    json_decref(comment);
    assert_list_fresh(&w, w.lead_id);
    json_t *req = json_pack("{s:s, s:I}", "outcome", "lost", "reason_id", (json_int_t)w.price);
    lp_move_result status = LP_MOVED;
    l = lp_lead_move(F.s, &w.admin, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2, &status, &err);
    json_decref(req);
    assert_non_null(l);
    json_decref(l);
    got = listed(&w, w.lead_id);
    assert_string_equal(sget(got, "status"), "closed");
    json_decref(got);
    assert_list_fresh(&w, w.lead_id);

    /* another store in the same process with the same ids and times shows its own leads */
    int64_t first = w.lead_id;
    lp_store *mine = F.s;
    char dir[64], url[128];
    snprintf(dir, sizeof dir, "/tmp/lp-unit-store2-XXXXXX");
    if (ENGINE == LP_ENGINE_SQLITE && mkdtemp(dir)) {
        snprintf(url, sizeof url, "sqlite:%s/lp.db", dir);
        lp_store *other = lp_store_open(url, &err);
        assert_non_null(other);
        assert_int_equal(lp_migrate(other, T1, NULL, &err), LP_OK);
        F.s = other;
        world w2;
        make_world(&w2);
        assert_int_equal(w2.lead_id, first);
        got = listed(&w2, w2.lead_id);
        assert_string_equal(sget(got, "status"), "open");  /* not the closed lead of the first store */
        json_decref(got);
        lp_store_close(other);
        F.s = mine;
        unlink_in(dir, db_files, 8);
        rmdir(dir);
    }
    lp_err_release(&err);
}


/* ---- the one applier: every way a lead changes goes through it ---- */

typedef struct { int calls; lp_plan_kind kind; int64_t lead_id; int had_before; } hook_log;

static lp_code count_hook(lp_db *db, const lp_change *c, void *ctx, lp_err *err)
{
    (void)db;
    (void)err;
    hook_log *h = ctx;
    h->calls++;
    h->kind = c->plan->kind;
    h->lead_id = c->lead_id;
    h->had_before = c->before != NULL;
    return LP_OK;
}

/* One write path: the hook ran once for lead_id with plan kind `kind`, the lead's newest event is
 * `event`, and every event the path wrote has its webhook delivery queued. */
static void expect_applied(hook_log *h, lp_plan_kind kind, int64_t lead_id, const char *event, int64_t events_before,
                           const char *what)
{
    if (h->calls != 1 || h->kind != kind || h->lead_id != lead_id)
        fail_msg("%s: hook calls %d kind %d lead %lld (want 1, %d, %lld)", what, h->calls, (int)h->kind,
                 (long long)h->lead_id, (int)kind, (long long)lead_id);
    if (kind != LP_PLAN_CREATE && !h->had_before) fail_msg("%s: the hook was not given the lead as it was", what);
    char p[64];
    snprintf(p, sizeof p, "[%lld]", (long long)lead_id);
    json_t *rows = qrows("SELECT kind FROM events WHERE lead_id = $1 ORDER BY id DESC LIMIT 1", p);
    const char *got = sget(json_array_get(rows, 0), "kind");
    if (!got || strcmp(got, event)) fail_msg("%s: last event %s, want %s", what, got ? got : "none", event);
    json_decref(rows);
    snprintf(p, sizeof p, "[%lld]", (long long)events_before);
    int64_t new_events = qint("SELECT count(*) FROM events WHERE id > $1", p);
    int64_t deliveries = qint("SELECT count(*) FROM jobs WHERE kind = 'webhook' AND subject_id > $1", p);
    if (new_events < 1 || deliveries != new_events)
        fail_msg("%s: %lld events, %lld webhook deliveries", what, (long long)new_events, (long long)deliveries);
    memset(h, 0, sizeof *h);
}

static void test_every_change_through_the_applier(void **state)
{
    (void)state;
    world w;
    make_world(&w);
    write_sql("INSERT INTO webhooks(url, events, secret, active, created_at, updated_at)"
              " VALUES ('http://127.0.0.1:9/hook', '*', 'a-secret-long-enough', 1, 0, 0)");
    hook_log h = {0};
    assert_int_equal(lp_apply_hook_add(count_hook, &h), 0);
    lp_err err = LP_ERR_INIT;
    lp_move_result status = LP_MOVED;
    int64_t ev;
#define LAST_EVENT() qint("SELECT coalesce(max(id), 0) FROM events", NULL)

    /* create */
    ev = LAST_EVENT();
    json_t *cols = cols_of(&lp_rt_lead, "{\"full_name\": \"Grace Hopper\", \"emails\": [\"grace@example.com\"]}");
    json_t *lead = lp_lead_create(F.s, &w.agent, cols, T1, &err);
    json_decref(cols);
    assert_non_null(lead);
    int64_t id = iget(lead, "id");
    json_decref(lead);
    expect_applied(&h, LP_PLAN_CREATE, id, "created", ev, "create");

    /* a closed lead migrated in: the planner's history rules, through the applier */
    ev = LAST_EVENT();
    cols = cols_as(&lp_rt_lead, "{\"full_name\": \"Old Customer\", \"status\": \"closed\", \"outcome\": \"won\"}", 1);
    lead = lp_lead_create(F.s, &w.admin, cols, T1, &err);
    json_decref(cols);
    assert_non_null(lead);
    assert_string_equal(sget(lead, "status"), "closed");
    assert_int_equal(iget(lead, "closed_by"), w.admin_id);
    expect_applied(&h, LP_PLAN_CREATE, iget(lead, "id"), "created", ev, "create closed");
    json_decref(lead);
    cols = cols_as(&lp_rt_lead, "{\"full_name\": \"No Outcome\", \"status\": \"closed\"}", 1);
    assert_null(lp_lead_create(F.s, &w.admin, cols, T1, &err));
    json_decref(cols);
    assert_int_equal(err.code, LP_EVALIDATION);
    lp_err_release(&err);
    assert_int_equal(h.calls, 0);

    /* import: two rows at once */
    ev = LAST_EVENT();
    json_t *many[2] = {cols_of(&lp_rt_lead, "{\"full_name\": \"Import One\"}"), cols_of(&lp_rt_lead, "{\"full_name\": \"Import Two\"}")};
    lp_err errs[2] = {LP_ERR_INIT, LP_ERR_INIT};
    int64_t ids[2];
    assert_int_equal(lp_lead_create_many(F.s, &w.agent, many, 2, T1, errs, ids), 2);
    json_decref(many[0]);
    json_decref(many[1]);
    assert_int_equal(h.calls, 2);
    h.calls = 1;  /* the second row's call is the one recorded */
    expect_applied(&h, LP_PLAN_CREATE, ids[1], "created", ev, "import");

    /* update */
    ev = LAST_EVENT();
    cols = patch_of("{\"company\": \"Navy\"}");
    lead = lp_lead_update(F.s, &w.agent, id, cols, -1, T1 + 10, &err);
    json_decref(cols);
    assert_non_null(lead);
    json_decref(lead);
    expect_applied(&h, LP_PLAN_UPDATE, id, "updated", ev, "update");

    /* a stage move with a field change: one new version, both events */
    ev = LAST_EVENT();
    cols = patch_of("{\"stage_id\": 2, \"city\": \"Arlington\"}");
    lead = lp_lead_update(F.s, &w.agent, id, cols, 2, T1 + 20, &err);
    json_decref(cols);
    assert_non_null(lead);
    assert_int_equal(iget(lead, "version"), 3);
    json_decref(lead);
    expect_applied(&h, LP_PLAN_UPDATE, id, "stage_changed", ev, "stage move");

    /* comment */
    ev = LAST_EVENT();
    json_t *out = NULL;
    assert_int_equal(lp_comment_add(F.s, &w.agent, id, "Called, no answer", NULL, NULL, T1 + 30, &out, &err), LP_OK);
    json_decref(out);
    expect_applied(&h, LP_PLAN_COMMENT, id, "comment", ev, "comment");

    /* group */
    ev = LAST_EVENT();
    assert_int_equal(lp_lead_add_group(F.s, &w.agent, id, w.winback, T1 + 40, &err), LP_OK);
    expect_applied(&h, LP_PLAN_GROUP, id, "group_added", ev, "group");

    /* close, with the closing notification queued in the outbox on the open email thread */
    ev = LAST_EVENT();
    json_t *req = lost_req(&w);
    lead = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2, &status, &err);
    json_decref(req);
    assert_non_null(lead);
    json_decref(lead);
    assert_int_equal(status, LP_MOVED);
    expect_applied(&h, LP_PLAN_CLOSE, w.lead_id, "thread_closed", ev, "close");
    char p[64];
    snprintf(p, sizeof p, "[%lld]", (long long)w.thread_email);
    assert_int_equal(qint("SELECT count(*) FROM messages WHERE thread_id = $1 AND status = 'queued'"
                          " AND kind = 'close_notification' AND direction = 'out'", p), 1);
    assert_int_equal(qint("SELECT count(*) FROM jobs WHERE kind = 'message'", NULL), 1);

    /* reopen */
    ev = LAST_EVENT();
    lead = lp_lead_move(F.s, &w.agent, w.lead_id, LP_MOVE_REOPEN, NULL, 0, -1, T2 + 10, &status, &err);
    assert_non_null(lead);
    json_decref(lead);
    expect_applied(&h, LP_PLAN_REOPEN, w.lead_id, "reopened", ev, "reopen");

    /* a close that needs approval changes no lead (no hook call) ... */
    write_sql("UPDATE roles SET policy = '{\"leads.view\":\"own\",\"close_lost\":\"request\",\"close_lost_required\":[\"reason_id\"]}'"
              " WHERE name = 'agent'");
    lp_actor agent;
    assert_int_equal(lp_actor_load(reader(), w.agent_id, &agent, &err), LP_OK);
    req = lost_req(&w);
    lead = lp_lead_move(F.s, &agent, w.lead_id, LP_MOVE_CLOSE, req, 0, -1, T2 + 20, &status, &err);
    json_decref(req);
    assert_non_null(lead);
    assert_int_equal(status, LP_MOVE_APPROVAL_PENDING);
    int64_t approval = iget(json_object_get(lead, "approval"), "id");
    json_decref(lead);
    assert_int_equal(h.calls, 0);
    /* ... and approving it carries the close out through the applier */
    ev = LAST_EVENT();
    lp_actor mgr;
    assert_int_equal(lp_actor_load(reader(), w.mgr_id, &mgr, &err), LP_OK);
    json_t *ap = lp_approval_decide(F.s, &mgr, approval, 1, NULL, -1, T2 + 30, &err);
    assert_non_null(ap);
    assert_string_equal(sget(ap, "status"), "approved");
    json_decref(ap);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.kind, LP_PLAN_CLOSE);
    memset(&h, 0, sizeof h);

    /* a pending request is cancelled when the lead moves another way */
    write_sql("UPDATE roles SET policy = '{\"leads.view\":\"own\",\"reopen\":\"request\"}' WHERE name = 'agent'");
    assert_int_equal(lp_actor_load(reader(), w.agent_id, &agent, &err), LP_OK);
    lead = lp_lead_move(F.s, &agent, w.lead_id, LP_MOVE_REOPEN, NULL, 0, -1, T2 + 40, &status, &err);
    assert_non_null(lead);
    assert_int_equal(status, LP_MOVE_APPROVAL_PENDING);
    json_decref(lead);
    lead = lp_lead_move(F.s, &w.admin, w.lead_id, LP_MOVE_REOPEN, NULL, 0, -1, T2 + 50, &status, &err);
    assert_non_null(lead);
    json_decref(lead);
    assert_int_equal(qint("SELECT count(*) FROM approvals WHERE status = 'pending'", NULL), 0);
    assert_int_equal(qint("SELECT count(*) FROM approvals WHERE status = 'cancelled'", NULL), 1);
    assert_int_equal(qint("SELECT count(*) FROM notifications WHERE kind = 'approval_cancelled'", NULL), 1);
    memset(&h, 0, sizeof h);

    /* delete */
    ev = LAST_EVENT();
    assert_int_equal(lp_lead_delete(F.s, &w.admin, id, -1, T2 + 60, &err), LP_OK);
    expect_applied(&h, LP_PLAN_DELETE, id, "deleted", ev, "delete");

    lp_apply_hook_remove(count_hook, &h);
    lp_err_release(&err);
#undef LAST_EVENT
}

/* ---- API tokens and Idempotency-Key answers -------------------------------------------- */

typedef struct { int64_t user, id, other; int admin; char hash[LP_TOKEN_LEN]; lp_code add, del; } token_fx;

static lp_code token_add_fn(lp_db *db, void *p, lp_err *err)
{
    token_fx *t = p;
    return lp_token_add(db, "a1b2c3", t->user, "deploy bot", T1, 0, &t->id, err);
}

static lp_code token_del_fn(lp_db *db, void *p, lp_err *err)
{
    token_fx *t = p;
    return lp_token_delete(db, t->id, t->other, t->admin, T2, t->hash, err);
}

static void test_api_tokens(void **state)
{
    (void)state;
    int64_t owner = 0, stranger = 0;
    add_user("owner@example.com", "agent", NULL, &owner);
    add_user("stranger@example.com", "agent", NULL, &stranger);
    lp_err err = LP_ERR_INIT;
    token_fx t = {.user = owner};
    assert_int_equal(lp_store_write(F.s, token_add_fn, &t, &err), LP_OK);
    assert_true(t.id > 0);
    json_t *rows = lp_token_list(reader(), owner, &err);
    assert_non_null(rows);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(sget(json_array_get(rows, 0), "name"), "deploy bot");
    assert_int_equal(iget(json_array_get(rows, 0), "id"), t.id);
    json_decref(rows);
    rows = lp_token_list(reader(), stranger, &err);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);

    /* Another agent cannot revoke it: 404, and the token stays. */
    t.other = stranger;
    assert_int_equal(lp_store_write(F.s, token_del_fn, &t, &err), LP_ENOTFOUND);
    lp_err_release(&err);
    assert_string_equal(t.hash, "a1b2c3");
    rows = lp_token_list(reader(), owner, &err);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    /* An admin may. */
    t.admin = 1;
    assert_int_equal(lp_store_write(F.s, token_del_fn, &t, &err), LP_OK);
    rows = lp_token_list(reader(), owner, &err);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    char q[160];
    snprintf(q, sizeof q, "[%lld]", (long long)t.id);
    assert_int_equal(qint("SELECT count(*) FROM events WHERE kind = 'token_revoked' AND entity_id = $1", q), 1);
    assert_int_equal(qint("SELECT count(*) FROM events WHERE kind = 'token_created' AND entity_id = $1", q), 1);
    /* Gone: no hash to forget, and 404 again. */
    assert_int_equal(lp_store_write(F.s, token_del_fn, &t, &err), LP_ENOTFOUND);
    lp_err_release(&err);
    assert_string_equal(t.hash, "");
    assert_int_equal(lp_user_id_by_email(reader(), "OWNER@example.com", &err), owner);
    assert_int_equal(lp_user_id_by_email(reader(), "nobody@example.com", &err), 0);
    assert_int_equal(err.code, LP_OK);
    lp_err_release(&err);
}

typedef struct { int64_t user; const char *key, *hash, *body; int status; } idem_fx;

static lp_code idem_put_fn(lp_db *db, void *p, lp_err *err)
{
    idem_fx *c = p;
    return lp_idem_put(db, c->user, c->key, c->hash, c->status, c->body, T1, err);
}

static void test_idempotency_answers(void **state)
{
    (void)state;
    int64_t a = 0, b = 0;
    add_user("a@example.com", "agent", NULL, &a);
    add_user("b@example.com", "agent", NULL, &b);
    lp_err err = LP_ERR_INIT;
    assert_null(lp_idem_get(reader(), a, "k1", &err));
    assert_int_equal(err.code, LP_OK);
    idem_fx first = {a, "k1", "h1", "{\"id\": 7}", 201};
    assert_int_equal(lp_store_write(F.s, idem_put_fn, &first, &err), LP_OK);
    /* A second answer for the same user and key does not replace the first. */
    idem_fx again = {a, "k1", "h2", "{\"id\": 8}", 200};
    assert_int_equal(lp_store_write(F.s, idem_put_fn, &again, &err), LP_OK);
    json_t *row = lp_idem_get(reader(), a, "k1", &err);
    assert_non_null(row);
    assert_string_equal(sget(row, "request_hash"), "h1");
    assert_int_equal(iget(row, "status"), 201);
    assert_string_equal(sget(row, "response"), "{\"id\": 7}");
    json_decref(row);
    /* Keys are per user. */
    assert_null(lp_idem_get(reader(), b, "k1", &err));
    assert_int_equal(err.code, LP_OK);
}

/* ---- released migrations never change --------------------------------------------------- */

#define RELEASED_VERSION 9  /* the newest migration of the last release with a schema file below */

/* Appends each row's one text column, one per line. */
static void describe(lp_buf *out, const char *sql)
{
    lp_err err = LP_ERR_INIT;
    lp_stmt *st = lp_db_prep(reader(), sql, &err);
    if (!st)
        fail_msg("%s: %s", sql, err.message);
    int rc;
    while ((rc = lp_step(st, &err)) == 1) {
        lp_buf_puts(out, lp_col_text(st, 0) ? lp_col_text(st, 0) : "NULL");
        lp_buf_add(out, "\n", 1);
    }
    lp_stmt_done(st);
    if (rc < 0)
        fail_msg("%s: %s", sql, err.message);
}

/* The schema and seeded rows as the catalog has them, one thing a line, sorted: SQLite's
 * sqlite_master text; PostgreSQL's columns (type, null, default, identity, generated), indexes,
 * constraints, functions and sequence positions. */
static void describe_schema(lp_buf *out)
{
    if (ENGINE == LP_ENGINE_PG) {
        /* the catalog's wording is the server's: a file is for one major version (scripts/pg-test.sh) */
        describe(out, "SELECT 'postgresql ' || (current_setting('server_version_num')::int / 10000)");
        describe(out, "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type"
                      " || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END"
                      " || coalesce(' DEFAULT ' || column_default, '')"
                      " || CASE WHEN is_identity = 'YES' THEN ' IDENTITY ' || identity_generation ELSE '' END"
                      " || CASE WHEN is_generated = 'ALWAYS' THEN ' GENERATED ' || generation_expression ELSE '' END"
                      " FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position");
        describe(out, "SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = 'public'"
                      " ORDER BY indexname");
        describe(out, "SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ': ' || pg_get_constraintdef(oid)"
                      " FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1");
        describe(out, "SELECT 'function ' || proname || ': ' || pg_get_functiondef(oid) FROM pg_proc"
                      " WHERE pronamespace = 'public'::regnamespace ORDER BY 1");
        describe(out, "SELECT 'sequence ' || sequencename || ' ' || coalesce(last_value::text, '-') FROM pg_sequences"
                      " WHERE schemaname = 'public' ORDER BY 1");
    } else {
        describe(out, "SELECT type || ' ' || name || ' ' || tbl_name || ': ' || coalesce(sql, '') FROM sqlite_master"
                      " ORDER BY type, name");
    }
    static const char *const seeded[] = {"roles", "stages", "outcomes", "contact_groups", "lost_reasons", "sources",
                                         "locations", "partners", "settings", "sweep_state"};
    for (size_t i = 0; i < sizeof seeded / sizeof *seeded; i++) {
        char q[96];
        snprintf(q, sizeof q, "SELECT * FROM %s ORDER BY 1", seeded[i]);
        json_t *rows = qrows(q, NULL);
        size_t k;
        json_t *r;
        json_array_foreach(rows, k, r) {
            char *t = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
            lp_buf_printf(out, "row %s %s\n", seeded[i], t);
            free(t);
        }
        json_decref(rows);
    }
}

/* A fresh database migrated to the last release's version has exactly the schema (and seeds)
 * that release made, on each engine: tests/unit/schema-v9-<engine>.txt, written by the release's
 * code. A released migration that changes, or SQL of the shared dialect that an engine comes to
 * spell otherwise, shows here. LEADPATH_WRITE_SCHEMA=1 writes the file instead (for a release). */
static void test_released_schema(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    int applied = -1;
    assert_int_equal(lp_migrate_to(F.s, RELEASED_VERSION, T0, &applied, &err), LP_OK);
    assert_int_equal(applied, RELEASED_VERSION);
    assert_int_equal(qint("SELECT max(version) FROM schema_migrations", NULL), RELEASED_VERSION);
    lp_buf have = LP_BUF_INIT((size_t)1 << 24);
    describe_schema(&have);

    char path[512];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*s/schema-v%d-%s.txt", slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".",
             RELEASED_VERSION, ENGINE == LP_ENGINE_PG ? "pg" : "sqlite");
    const char *write = getenv("LEADPATH_WRITE_SCHEMA");
    if (write && !strcmp(write, "1")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fwrite(have.data, 1, have.len, f);
        fclose(f);
        print_message("wrote %s\n", path);
    }
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    lp_buf want = LP_BUF_INIT((size_t)1 << 24);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        lp_buf_add(&want, chunk, n);
    fclose(f);
    /* the first line that differs, to say what changed */
    const char *a = lp_buf_str(&have), *b = lp_buf_str(&want);
    size_t line = 1, i = 0;
    while (a[i] && a[i] == b[i]) {
        if (a[i] == '\n')
            line++;
        i++;
    }
    if (a[i] != b[i]) {
        const char *la = a + i, *lb = b + i;
        while (la > a && la[-1] != '\n')
            la--;
        while (lb > b && lb[-1] != '\n')
            lb--;
        fail_msg("%s line %zu differs:\n  made:     %.*s\n  released: %.*s", path, line, (int)strcspn(la, "\n"), la,
                 (int)strcspn(lb, "\n"), lb);
    }
    lp_buf_release(&have);
    lp_buf_release(&want);
    lp_err_release(&err);
}

/* ---- engine differences behind db.h ----------------------------------------------------- */

/* The dialect words: each engine's spelling makes a table that assigns ids and holds 64-bit
 * integers; a word no engine knows, or an unclosed one, is an error and runs nothing. */
static void test_dialect_words(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    lp_buf b = LP_BUF_INIT(4096);
    assert_int_equal(lp_db_dialect(reader(), "SELECT 1 {{nope}}", &b, &err), LP_EINTERNAL);
    lp_err_release(&err);
    lp_buf_reset(&b);
    assert_int_equal(lp_db_dialect(reader(), "SELECT 1 {{id", &b, &err), LP_EINTERNAL);
    lp_err_release(&err);
    lp_buf_reset(&b);
    /* text without words comes back as it was */
    assert_int_equal(lp_db_dialect(reader(), "SELECT '{}' AS x", &b, &err), LP_OK);
    assert_string_equal(lp_buf_str(&b), "SELECT '{}' AS x");
    lp_buf_release(&b);
    assert_int_equal(lp_store_write(F.s, ddl_fn, (void *)"CREATE TABLE never(id {{nope}})", &err), LP_EINTERNAL);
    lp_err_release(&err);
    assert_int_equal(qint("SELECT count(*) FROM schema_migrations WHERE name = 'never'", NULL), 0);

    write_ddl("CREATE TABLE big(id {{id}}, n {{int64}} NOT NULL)");
    upd_ctx c = {"big", 0, -1, J("{\"n\": 9007199254740993}")};
    assert_int_equal(lp_store_write(F.s, insert_fn, &c, &err), LP_OK);
    json_decref(c.cols);
    int64_t first = c.id;
    c = (upd_ctx){"big", 0, -1, J("{\"n\": -9007199254740993}")};
    assert_int_equal(lp_store_write(F.s, insert_fn, &c, &err), LP_OK);
    json_decref(c.cols);
    assert_true(first > 0 && c.id > first);  /* lp_insert's id is the row's */
    char p[32];
    snprintf(p, sizeof p, "[%lld]", (long long)c.id);
    assert_true(qint("SELECT n FROM big WHERE id = $1", p) == INT64_C(-9007199254740993));
    lp_err_release(&err);
}

typedef struct { int64_t ids[3]; int64_t next; } bulk_ctx;

/* Three rows with reserved ids through lp_db_bulk_insert, then one the table numbers itself. */
static lp_code bulk_fn(lp_db *db, void *p, lp_err *err)
{
    bulk_ctx *c = p;
    lp_code rc = lp_db_reserve_ids(db, "bulk", 3, c->ids, err);
    if (rc != LP_OK)
        return rc;
    lp_buf rows = LP_BUF_INIT(1 << 16);
    const char *texts[3] = {"007", "tab\there, back\\\\slash,\nnew line", "-0"};
    const int64_t nums[3] = {INT64_C(9007199254740993), -5, 0};
    for (int i = 0; i < 3; i++) {
        lp_buf_printf(&rows, "%lld\t%lld\t", (long long)c->ids[i], (long long)nums[i]);
        lp_copy_text(&rows, texts[i]);
        lp_buf_puts(&rows, i == 2 ? "\t\\N\n" : "\t1\n");
    }
    static const char *const cols[] = {"id", "n", "s", "f"};
    rc = lp_db_bulk_insert(db, "bulk", cols, 4, rows.data, rows.len, err);
    lp_buf_release(&rows);
    if (rc == LP_OK)
        rc = lp_db_ids_follow(db, "bulk", err);
    json_t *one = J("{\"n\": 1, \"s\": \"after\"}");
    if (rc == LP_OK)
        rc = lp_insert(db, "bulk", one, &c->next, err);
    json_decref(one);
    return rc;
}

/* A good row, then one with a value too many (ctx NULL) or one too few. */
static lp_code bad_bulk_fn(lp_db *db, void *p, lp_err *err)
{
    static const char *const cols[] = {"n", "s"};
    const char *data = p ? "1\tok\n2\n" : "1\tok\n2\tx\ty\n";
    return lp_db_bulk_insert(db, "bulk", cols, 2, data, strlen(data), err);
}

/* Rows in COPY's text format arrive with their values exact on both engines: NULL, escapes,
 * 64-bit integers, and text that only looks like a number; reserved ids are new, and ids the
 * table gives later come after them. */
static void test_bulk_insert(void **state)
{
    (void)state;
    write_ddl("CREATE TABLE bulk(id {{id}}, n {{int64}}, s TEXT, f INTEGER)");
    write_sql("INSERT INTO bulk(n, s) VALUES (0, 'before')");
    lp_err err = LP_ERR_INIT;
    bulk_ctx c = {{0}, 0};
    assert_int_equal(lp_store_write(F.s, bulk_fn, &c, &err), LP_OK);
    int64_t before = qint("SELECT id FROM bulk WHERE s = 'before'", NULL);
    assert_true(c.ids[0] > before && c.ids[1] > c.ids[0] && c.ids[2] > c.ids[1]);
    assert_true(c.next > c.ids[2]);
    json_t *rows = qrows("SELECT id, n, s, f FROM bulk WHERE s <> 'before' ORDER BY id", NULL);
    assert_int_equal(json_array_size(rows), 4);
    json_t *r0 = json_array_get(rows, 0), *r1 = json_array_get(rows, 1), *r2 = json_array_get(rows, 2);
    assert_int_equal(iget(r0, "id"), c.ids[0]);
    assert_true(iget(r0, "n") == INT64_C(9007199254740993));
    assert_string_equal(sget(r0, "s"), "007");                  /* text stays text */
    assert_int_equal(iget(r0, "f"), 1);
    assert_int_equal(iget(r1, "n"), -5);
    assert_string_equal(sget(r1, "s"), "tab\there, back\\\\slash,\nnew line");
    assert_string_equal(sget(r2, "s"), "-0");
    assert_true(json_is_null(json_object_get(r2, "f")));       /* \N */
    assert_string_equal(sget(json_array_get(rows, 3), "s"), "after");
    json_decref(rows);

    /* a row with more values than columns, or fewer, is refused, and nothing of the batch stays */
    assert_int_not_equal(lp_store_write(F.s, bad_bulk_fn, NULL, &err), LP_OK);
    lp_err_release(&err);
    assert_int_not_equal(lp_store_write(F.s, bad_bulk_fn, "too few", &err), LP_OK);
    assert_int_equal(qint("SELECT count(*) FROM bulk WHERE s = 'ok'", NULL), 0);
    assert_int_equal(qint("SELECT count(*) FROM bulk", NULL), 5);
    lp_err_release(&err);
}

typedef struct { const char *body, *email; } doc_src;

static void doc_body(void *ctx, lp_buf *out) { lp_buf_puts(out, ((doc_src *)ctx)->body); }
static lp_code doc_addresses(void *ctx, lp_address_fn fn, void *fn_ctx)
{
    return fn("email", ((doc_src *)ctx)->email, fn_ctx);
}

typedef struct { lp_search_doc doc; int64_t id; int delete_first; } put_ctx;

static lp_code put_fn(lp_db *db, void *p, lp_err *err)
{
    put_ctx *c = p;
    if (c->delete_first) {
        json_t *a = json_pack("[I, I]", (json_int_t)c->id, (json_int_t)T2);
        lp_code rc = lp_exec(db, "UPDATE leads SET deleted_at = $2 WHERE id = $1", a, err);
        json_decref(a);
        if (rc != LP_OK)
            return rc;
    }
    return lp_db_search_put(db, &c->doc, 1, err);
}

/* How many leads a search finds through lp_db_search_cond, after the index has caught up. */
static int64_t search_ids(const char *text)
{
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
    const char *fmt;
    char *param;
    assert_int_equal(lp_db_search_cond(reader(), text, &fmt, &param, &err), LP_OK);
    if (!param)
        return -1;
    char where[256], sql[320];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(where, sizeof where, fmt, 1);  /* the backend's literal, with one $%d */
#pragma GCC diagnostic pop
    snprintf(sql, sizeof sql, "SELECT count(*) FROM leads WHERE %s", where);
    json_t *a = json_pack("[s]", param);
    free(param);
    int64_t n = lp_query_int(reader(), sql, a, -1, &err);
    json_decref(a);
    assert_int_equal(err.code, LP_OK);
    return n;
}

/* lp_db_search_put keeps the search entry (and PostgreSQL's address rows) with the lead: a new
 * lead is found by its words and its address, a deleted one no longer; text with nothing to
 * search for gives no condition. */
static void test_search_put(void **state)
{
    (void)state;
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_lead_index_sync(F.s, 0, &err), LP_OK);
    upd_ctx ins = {"leads", 0, -1,
                   J("{\"full_name\": \"Zanzibar Quux\", \"emails\": \"[\\\"zq@example.org\\\"]\", \"created_at\": %lld,"
                     " \"updated_at\": %lld}", (long long)T1, (long long)T1)};
    assert_int_equal(lp_store_write(F.s, insert_fn, &ins, &err), LP_OK);
    json_decref(ins.cols);
    /* the text the index holds for this row (leads.c writes it from the row's fields) */
    doc_src src = {"Zanzibar Quux\nzq@example.org\n", "zq@example.org"};
    put_ctx c = {{ins.id, 1, 0, &src, doc_body, doc_addresses}, ins.id, 0};
    assert_int_equal(search_ids("zanzib"), 0);
    assert_int_equal(lp_store_write(F.s, put_fn, &c, &err), LP_OK);
    assert_int_equal(search_ids("zanzib"), 1);
    assert_int_equal(search_ids("zq@example.org"), 1);
    assert_int_equal(search_ids("quux nothere"), 0);
    assert_int_equal(search_ids("!! ..."), -1);
    char p[32];
    snprintf(p, sizeof p, "[%lld]", (long long)ins.id);
    if (ENGINE == LP_ENGINE_PG)
        assert_int_equal(qint("SELECT count(*) FROM lead_contacts WHERE lead_id = $1 AND value = 'zq@example.org'", p), 1);

    c.doc.fresh = 0;
    c.doc.gone = 1;
    c.delete_first = 1;
    assert_int_equal(lp_store_write(F.s, put_fn, &c, &err), LP_OK);
    assert_int_equal(search_ids("zanzib"), 0);
    assert_int_equal(qint("SELECT count(*) FROM leads_fts WHERE rowid = $1", p), 0);
    if (ENGINE == LP_ENGINE_PG)
        assert_int_equal(qint("SELECT count(*) FROM lead_contacts WHERE lead_id = $1", p), 0);
    lp_err_release(&err);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TM(f) cmocka_unit_test_setup_teardown(f, setup_migrated, teardown)
    const struct CMUnitTest tests[] = {
        T(test_migrate_twice),
        TM(test_open_bad_url),
        TM(test_seeded_defaults),
        TM(test_group_commit_durable),
        TM(test_group_commit_failure_isolated),
        TM(test_write_rider),
        TM(test_summary_before_commit),
        TM(test_update_stale_version),
        TM(test_insert_query_round_trip),
        TM(test_binding_order),
        TM(test_lead_close_dry_run),
        TM(test_lead_close_real),
        TM(test_lead_close_stale_version),
        TM(test_lead_close_atomic),
        TM(test_lead_close_manager_notified),
        TM(test_lead_close_request_approval),
        TM(test_lead_reopen),
        TM(test_lead_stage_moves),
        TM(test_search_index),
        TM(test_list_rendered_leads),
        TM(test_every_change_through_the_applier),
        TM(test_api_tokens),
        TM(test_idempotency_answers),
        T(test_released_schema),
        TM(test_dialect_words),
        TM(test_bulk_insert),
        TM(test_search_put),
    };
#undef T
#undef TM
    ENGINE = LP_ENGINE_SQLITE;
    print_message("store on SQLite\n");
    int failed = cmocka_run_group_tests_name("store on SQLite", tests, NULL, NULL);

    PG_URL = getenv("LEADPATH_TEST_PG_URL");
    if (!PG_URL || !*PG_URL) {
        print_message("[  SKIPPED ] store on PostgreSQL: LEADPATH_TEST_PG_URL is not set\n");
        return failed;
    }
    if (strncmp(PG_URL, "postgresql://", 13) && strncmp(PG_URL, "postgres://", 11)) {
        print_error("LEADPATH_TEST_PG_URL must be a postgresql:// URL\n");
        return failed + 1;
    }
    ENGINE = LP_ENGINE_PG;
    print_message("store on PostgreSQL (a fresh database per test on LEADPATH_TEST_PG_URL's server)\n");
    failed += cmocka_run_group_tests_name("store on PostgreSQL", tests, NULL, NULL);
    return failed;
}
