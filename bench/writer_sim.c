/* writer_sim.c — what the group-commit writer pays per create, and what two changes would save.
 *
 *   writer_sim DB_COPY [CREATES] [BATCH] [PASSES]   (defaults: 4096 creates, batches of 64, 3 passes)
 *
 * Runs on a COPY of a filled benchmark database. It replays the SQL shape of one lead creation
 * as lib/store/sqlite.c's run_batch + lib/store/leads.c's create_fn/index_lead issue it:
 * BEGIN IMMEDIATE; per job SAVEPOINT w, INSERT leads, DELETE + INSERT lead_contacts,
 * DELETE + INSERT leads_fts, INSERT events, RELEASE w; COMMIT. The connection is set up like the
 * server's (WAL, synchronous=FULL). It measures four variants, each on fresh rows, PASSES times
 * (the first pass warms the caches):
 *   A  as the server does it today
 *   B  FTS rows written once per batch, after the last RELEASE (no FTS5 flush per savepoint)
 *   C  B, plus wal_autocheckpoint=0 (checkpointing left to some other thread; not timed here)
 *   D  no savepoints at all (FTS inline), for reference
 * It prints the wall time and the thread's CPU time per create. Only the SQL is replayed, not
 * the JSON handling or the lookups of create_fn, so these are lower bounds of the writer's cost.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sqlite3 *db;
static void die(const char *w) { fprintf(stderr, "writer_sim: %s: %s\n", w, sqlite3_errmsg(db)); exit(1); }
static void exec(const char *sql) { if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die(sql); }
static sqlite3_stmt *prep(const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) die(sql);
  return st;
}
static void run(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) die(sqlite3_sql(st));
  sqlite3_reset(st);
}
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static sqlite3_stmt *ins_lead, *del_con, *ins_con, *del_fts, *ins_fts, *ins_ev;
static long long next_id;

static void fts_row(long long id) {
  char body[512];
  snprintf(body, sizeof body, "Bench Person %lld\nBench Ltd\nBenchmark lead: please call back about a quote.\n"
           "Leeds\nHeat pump\nbench.%lld@example.com\n+447700%06lld\n447700%06lld\n", id, id, id % 1000000, id % 1000000);
  sqlite3_bind_int64(del_fts, 1, id); run(del_fts);
  sqlite3_bind_int64(ins_fts, 1, id); sqlite3_bind_text(ins_fts, 2, body, -1, SQLITE_TRANSIENT); run(ins_fts);
}

static long long job(int fts_inline) {
  long long id = ++next_id;
  char name[64], email[96], phone[24];
  snprintf(name, sizeof name, "Bench Person %lld", id);
  snprintf(email, sizeof email, "bench.%lld@example.com", id);
  snprintf(phone, sizeof phone, "+447700%06lld", id % 1000000);
  char emails[128], phones[48];
  snprintf(emails, sizeof emails, "[\"%s\"]", email);
  snprintf(phones, sizeof phones, "[\"%s\"]", phone);
  long long t = (long long)time(NULL);
  sqlite3_bind_int64(ins_lead, 1, id);
  sqlite3_bind_text(ins_lead, 2, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(ins_lead, 3, emails, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(ins_lead, 4, phones, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(ins_lead, 5, 2 + id % 20);
  sqlite3_bind_int64(ins_lead, 6, 1 + id % 8);
  sqlite3_bind_int64(ins_lead, 7, t);
  run(ins_lead);
  sqlite3_bind_int64(del_con, 1, id); run(del_con);
  sqlite3_bind_int64(ins_con, 1, id); sqlite3_bind_text(ins_con, 2, "email", -1, SQLITE_STATIC);
  sqlite3_bind_text(ins_con, 3, email, -1, SQLITE_TRANSIENT); run(ins_con);
  sqlite3_bind_int64(ins_con, 1, id); sqlite3_bind_text(ins_con, 2, "phone", -1, SQLITE_STATIC);
  sqlite3_bind_text(ins_con, 3, phone, -1, SQLITE_TRANSIENT); run(ins_con);
  if (fts_inline) fts_row(id);
  sqlite3_bind_int64(ins_ev, 1, t); sqlite3_bind_int64(ins_ev, 2, id); run(ins_ev);
  return id;
}

static void variant(const char *label, int creates, int batch, int savepoints, int fts_deferred) {
  sqlite3_stmt *sp = prep("SAVEPOINT w"), *rel = prep("RELEASE w");
  sqlite3_stmt *begin = prep("BEGIN IMMEDIATE"), *commit = prep("COMMIT");
  long long *ids = malloc(sizeof *ids * (size_t)batch);
  double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
  for (int done = 0; done < creates; done += batch) {
    run(begin);
    for (int j = 0; j < batch; j++) {
      if (savepoints) run(sp);
      ids[j] = job(!fts_deferred);
      if (savepoints) run(rel);
    }
    if (fts_deferred) for (int j = 0; j < batch; j++) fts_row(ids[j]);
    run(commit);
  }
  double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_THREAD_CPUTIME_ID) - c0;
  printf("| %s | %d | %.0f | %.0f | %.0f |\n", label, batch, w * 1e6 / creates, c * 1e6 / creates, creates / w);
  fflush(stdout);
  free(ids);
  sqlite3_finalize(sp); sqlite3_finalize(rel); sqlite3_finalize(begin); sqlite3_finalize(commit);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: writer_sim DB_COPY [CREATES] [BATCH] [PASSES]\n"); return 2; }
  int creates = argc > 2 ? atoi(argv[2]) : 4096, batch = argc > 3 ? atoi(argv[3]) : 64;
  int reps = argc > 4 ? atoi(argv[4]) : 3;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) die("open");
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
       "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;");
  sqlite3_stmt *mx = prep("SELECT COALESCE(max(id), 0) FROM leads");
  sqlite3_step(mx); next_id = sqlite3_column_int64(mx, 0) + 1000; sqlite3_finalize(mx);
  ins_lead = prep("INSERT INTO leads(id, full_name, company, emails, phones, owner_id, stage_id, source_id, country, city,"
                  " service, request, value_cents, currency, created_at, updated_at, created_by, stage_entered_at)"
                  " VALUES (?1, ?2, 'Bench Ltd', ?3, ?4, ?5, 1, ?6, 'GB', 'Leeds', 'Heat pump',"
                  " 'Benchmark lead: please call back about a quote.', 100000, 'GBP', ?7, ?7, 1, ?7)");
  del_con = prep("DELETE FROM lead_contacts WHERE lead_id = ?1");
  ins_con = prep("INSERT INTO lead_contacts(lead_id, kind, value) VALUES (?1, ?2, ?3)");
  del_fts = prep("DELETE FROM leads_fts WHERE rowid = ?1");
  ins_fts = prep("INSERT INTO leads_fts(rowid, body) VALUES (?1, ?2)");
  ins_ev = prep("INSERT INTO events(at, lead_id, actor_id, kind, entity, entity_id, data)"
                " VALUES (?1, ?2, 1, 'created', 'lead', ?2, '{\"full_name\":\"Bench\"}')");
  printf("| variant | batch | wall µs per create | writer CPU µs per create | creates/s (one thread) |\n|---|---|---|---|---|\n");
  /* A first pass warms SQLite's cache on the 1M-row indexes; it is printed but should be ignored. */
  for (int rep = 0; rep < reps; rep++) {
    if (rep == 0) printf("| (warm-up pass follows) | | | | |\n");
    variant("A savepoint per job, FTS inside it (today)", creates, batch, 1, 0);
    variant("B savepoint per job, FTS after the last RELEASE", creates, batch, 1, 1);
    variant("D no savepoints (reference)", creates, batch, 0, 0);
    exec("PRAGMA wal_autocheckpoint=0;");
    variant("C as B, checkpoint elsewhere (autocheckpoint off)", creates, batch, 1, 1);
    exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint=1000;");  /* not timed */
  }
  sqlite3_close(db);
  return 0;
}
