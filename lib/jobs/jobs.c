/* jobs.c — enqueueing, claiming and finishing jobs (see jobs.h). */
#include <string.h>
#include "jobs/jobs.h"
#include "store/rows.h"

#define LEASE_SECONDS 120     /* a claimed job is another worker's after this (progress renews it) */
#define LP_STR_(x) #x
#define LP_STR(x) LP_STR_(x)
#define BACKOFF_BASE 2        /* seconds before the first retry; doubles each attempt */
#define BACKOFF_MAX 3600
#define KEEP_FINISHED (7 * 86400)

lp_code lp_job_enqueue(lp_db *db, const char *kind, const char *ref, int64_t subject_id, json_t *payload,
                       int64_t run_at, int64_t now, int64_t created_by, int total, const char *unique_key,
                       int64_t *id, lp_err *err) {
  /* ON CONFLICT DO NOTHING is the same text on SQLite (3.24+) and PostgreSQL. */
  lp_stmt *st = lp_db_prep(db, "INSERT INTO jobs(kind, ref, subject_id, payload, run_at, created_by, total, unique_key,"
                               " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
                               " ON CONFLICT (unique_key) DO NOTHING RETURNING id", err);
  if (!st) return err->code;
  lp_bind_text(st, 1, kind);
  lp_bind_text(st, 2, ref);
  if (subject_id > 0) lp_bind_int(st, 3, subject_id); else lp_bind_null(st, 3);
  char *txt = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
  lp_bind_text(st, 4, txt ? txt : "{}");
  free(txt);
  lp_bind_int(st, 5, run_at);
  if (created_by > 0) lp_bind_int(st, 6, created_by); else lp_bind_null(st, 6);
  lp_bind_int(st, 7, total);
  lp_bind_text(st, 8, unique_key);
  lp_bind_int(st, 9, now);
  int rc = lp_step(st, err);
  if (id) *id = rc == 1 ? lp_col_int(st, 0) : 0;
  lp_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

/* ---------------------------------------------------------------- claiming and finishing */

/* A job's outcome, waiting to be written: with the outcome of the others of its batch and the
 * claim of the next batch, in one write (lp_jobs_work). */
typedef struct {
  int64_t id, now, run_at;
  const char *status;  /* done, failed, queued (a retry); "release": not run, handed back */
  char *error;
  json_t *result;
  lp_job_outcome_fn outcome;  /* the handler's own record of it (may be NULL) */
  void *outcome_ctx;
  void (*outcome_free)(void *);
  int unused;  /* 1: the attempt was not made (deferred, e.g. a webhook endpoint's breaker); it is given back */
} finish_item;

typedef struct {
  const char *worker;
  int64_t now;
  int max;                  /* jobs to claim after the finishes (0: none) */
  finish_item *fin;
  int nfin;
  json_t *rows;             /* claimed */
} step_ctx;

/* Due: queued and its time has come, or claimed by a worker whose lease ran out. */
static const char claim_sql[] =
  "UPDATE jobs SET status = 'running', locked_by = $2, locked_until = $3, attempts = attempts + 1, updated_at = $1"
  " WHERE id IN (SELECT id FROM jobs WHERE status IN ('queued', 'running') AND run_at <= $1"
  " AND (status = 'queued' OR locked_until < $1) ORDER BY run_at, id LIMIT $4{{skip_locked}})"
  " RETURNING id, kind, ref, subject_id, payload, attempts, max_attempts, created_by";

static lp_code finish_one(lp_db *db, const char *worker, finish_item *f, lp_err *err) {
  if (!strcmp(f->status, "release")) {  /* claimed, never started: back to the queue as it was */
    json_t *args = json_pack("[I, s]", (json_int_t)f->id, worker);
    lp_code rc = lp_exec(db, "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_by = NULL, locked_until = NULL"
                             " WHERE id = $1 AND locked_by = $2 AND status = 'running'", args, err);
    json_decref(args);
    return rc;
  }
  if (f->outcome) {
    lp_code rc = f->outcome(db, f->outcome_ctx, err);
    if (rc != LP_OK) return rc;
  }
  char *res = f->result ? json_dumps(f->result, JSON_COMPACT) : NULL;
  int final = strcmp(f->status, "queued") != 0;
  json_t *args = json_pack("[I, s, s?, s?, I, I, o, s, i]", (json_int_t)f->id, f->status, res, f->error, (json_int_t)f->now,
                           (json_int_t)f->run_at, final ? json_integer(f->now) : json_null(), worker, f->unused);
  free(res);
  /* Only while the lease is ours: a worker that overran it leaves the row to its new owner. */
  lp_code rc = lp_exec(db, "UPDATE jobs SET status = $2, result = COALESCE($3, result), last_error = $4, updated_at = $5,"
                           " run_at = $6, finished_at = $7, locked_by = NULL, locked_until = NULL, attempts = attempts - $9"
                           " WHERE id = $1 AND locked_by = $8 AND status = 'running'", args, err);
  json_decref(args);
  return rc;
}

/* One write: the outcomes of the batch that ran, then the claim of the next batch. Should it
 * fail, nothing of it is written: the batch's leases run out and its jobs run again. */
static lp_code step_fn(lp_db *db, void *p, lp_err *err) {
  step_ctx *c = p;
  json_decref(c->rows);  /* a retried transaction starts over */
  c->rows = NULL;
  for (int i = 0; i < c->nfin; i++)
    if (finish_one(db, c->worker, &c->fin[i], err) != LP_OK) return err->code;
  if (c->max <= 0) return LP_OK;
  lp_buf sql = LP_BUF_INIT(4096);
  if (lp_db_dialect(db, claim_sql, &sql, err) != LP_OK) { lp_buf_release(&sql); return err->code; }
  json_t *args = json_pack("[I, s, I, i]", (json_int_t)c->now, c->worker, (json_int_t)(c->now + LEASE_SECONDS), c->max);
  c->rows = lp_query(db, lp_buf_str(&sql), args, err);
  json_decref(args);
  lp_buf_release(&sql);
  return c->rows ? LP_OK : err->code;
}

static void finish_items_free(finish_item *fin, int n) {
  for (int i = 0; i < n; i++) {
    free(fin[i].error);
    json_decref(fin[i].result);
    if (fin[i].outcome_free) fin[i].outcome_free(fin[i].outcome_ctx);
  }
  free(fin);
}

static int64_t backoff(int attempts) {
  int64_t d = BACKOFF_BASE;
  for (int i = 1; i < attempts && d < BACKOFF_MAX; i++) d *= 2;
  return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

/* Runs one claimed job; its outcome goes into *f, to be written with the batch's. */
static void run_one(lp_store *s, const lp_job_kind *kinds, size_t nkinds, const char *worker, int64_t now,
                    int64_t (*clock)(void), json_t *row, finish_item *f) {
  lp_job job = {
    .clock = clock,
    .id = json_integer_value(json_object_get(row, "id")),
    .kind = json_string_value(json_object_get(row, "kind")),
    .ref = json_string_value(json_object_get(row, "ref")),
    .subject_id = json_integer_value(json_object_get(row, "subject_id")),
    .attempts = (int)json_integer_value(json_object_get(row, "attempts")),
    .max_attempts = (int)json_integer_value(json_object_get(row, "max_attempts")),
    .created_by = json_integer_value(json_object_get(row, "created_by")),
  };
  json_t *payload = json_loads(json_string_value(json_object_get(row, "payload")) ?: "{}", 0, NULL);
  job.payload = payload ? payload : json_object();
  lp_err e = LP_ERR_INIT;
  lp_code rc = LP_EINTERNAL;
  const lp_job_kind *k = NULL;
  for (size_t i = 0; i < nkinds; i++)
    if (job.kind && !strcmp(kinds[i].kind, job.kind)) k = &kinds[i];
  if (k) rc = k->fn(s, &job, now, &e);
  else lp_fail(&e, LP_EINTERNAL, "no handler for jobs of kind %s", job.kind ? job.kind : "?");
  /* which server and thread ran it, for whoever reads the job later */
  if (!job.result) job.result = json_object();
  if (json_is_object(job.result)) json_object_set_new(job.result, "worker", json_string(worker));
  *f = (finish_item){job.id, now, now, "done", NULL, job.result, job.outcome, job.outcome_ctx, job.outcome_free, 0};
  if (rc != LP_OK) {
    f->error = strdup(e.message[0] ? e.message : lp_code_message(rc));
    if (rc == LP_EUNAVAILABLE && job.deferred && job.retry_at > now) {
      f->status = "queued";
      f->run_at = job.retry_at;
      f->unused = 1;
    } else if (rc == LP_EUNAVAILABLE && job.attempts < job.max_attempts) {
      f->status = "queued";
      f->run_at = job.retry_at > now ? job.retry_at : now + backoff(job.attempts);
    } else {
      f->status = "failed";
    }
  }
  lp_err_release(&e);
  json_decref(job.payload);
}

int lp_jobs_work(lp_store *s, const lp_job_kind *kinds, size_t nkinds, const char *worker, int64_t (*clock)(void), int max,
                 int rounds, lp_err *err) {
  step_ctx c = {worker, 0, max, NULL, 0, NULL};
  int total = 0;
  for (int round = 0;; round++) {
    c.now = clock();
    c.max = round < rounds ? max : 0;
    lp_code rc = lp_store_write(s, step_fn, &c, err);
    finish_items_free(c.fin, c.nfin);
    c.fin = NULL;
    c.nfin = 0;
    /* if the write failed, the outcomes are lost with it: the leases run out and the jobs run again */
    if (rc != LP_OK) { json_decref(c.rows); return total ? total : -1; }
    size_t n = json_array_size(c.rows);
    if (n == 0) break;
    c.fin = calloc(n, sizeof *c.fin);
    if (!c.fin) { json_decref(c.rows); return total; }
    int64_t claimed = c.now;
    size_t i;
    json_t *row;
    json_array_foreach(c.rows, i, row) {
      int64_t now = clock();
      if (now - claimed > LEASE_SECONDS / 2) {  /* the lease would run out under the rest: hand them back */
        c.fin[c.nfin++] = (finish_item){.id = json_integer_value(json_object_get(row, "id")), .status = "release"};
        continue;
      }
      run_one(s, kinds, nkinds, worker, now, clock, row, &c.fin[c.nfin++]);
      lp_store_release(s);
      total++;
    }
    json_decref(c.rows);
    c.rows = NULL;
  }
  json_decref(c.rows);
  return total;
}

/* ---------------------------------------------------------------- periodic work */

typedef struct { int64_t slot, period, now; } sweep_ctx;

static lp_code sweep_fn(lp_db *db, void *p, lp_err *err) {
  sweep_ctx *c = p;
  char key[64];
  snprintf(key, sizeof key, "sweep:%lld:%lld", (long long)c->period, (long long)c->slot);
  return lp_job_enqueue(db, "sweep", NULL, 0, NULL, c->slot * c->period, c->now, 0, 0, key, NULL, err);
}

void lp_jobs_offer_sweeps(lp_store *s, lp_sweeps *sw, int64_t now) {
  if (sw->period <= 0) return;
  int64_t slot = now / sw->period;
  if (slot == sw->last_slot) return;
  sweep_ctx c = {slot, sw->period, now};
  lp_err e = LP_ERR_INIT;
  if (lp_store_write(s, sweep_fn, &c, &e) == LP_OK) sw->last_slot = slot;
  lp_err_release(&e);
}

/* Finished jobs are kept a week for inspection, then removed by the sweep. */
lp_code lp_jobs_prune(lp_db *db, int64_t now, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)(now - KEEP_FINISHED));
  lp_code rc = lp_exec(db, "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN ('done', 'failed')"
                           " AND finished_at < $1 LIMIT 1000)", args, err);
  json_decref(args);
  return rc;
}

/* ---------------------------------------------------------------- progress and reading */

typedef struct { int64_t id, now; int done, failed, total; } progress_ctx;

static lp_code progress_fn(lp_db *db, void *p, lp_err *err) {
  progress_ctx *c = p;
  json_t *args = json_pack("[I, i, i, i, I]", (json_int_t)c->id, c->done, c->failed, c->total, (json_int_t)c->now);
  /* progress is also the job's heartbeat: its lease runs on from now */
  lp_code rc = lp_exec(db, "UPDATE jobs SET done = $2, failed = $3, total = $4, updated_at = $5,"
                           " locked_until = CASE WHEN status = 'running' THEN $5 + " LP_STR(LEASE_SECONDS) " ELSE locked_until END"
                           " WHERE id = $1", args, err);
  json_decref(args);
  return rc;
}

lp_code lp_job_progress(lp_store *s, int64_t id, int done, int failed, int total, int64_t now, lp_err *err) {
  progress_ctx c = {id, now, done, failed, total};
  return lp_store_write(s, progress_fn, &c, err);
}

lp_code lp_job_checkpoint(lp_db *db, int64_t id, int expect_done, int done, int failed, int total, json_t *result, int64_t now,
                          lp_err *err) {
  char *res = result ? json_dumps(result, JSON_COMPACT) : NULL;
  json_t *args = json_pack("[I, i, i, i, I, s?, i]", (json_int_t)id, done, failed, total, (json_int_t)now, res, expect_done);
  free(res);
  lp_code rc = lp_exec(db, "UPDATE jobs SET done = $2, failed = $3, total = $4, updated_at = $5, result = COALESCE($6, result),"
                           " locked_until = $5 + " LP_STR(LEASE_SECONDS)
                           " WHERE id = $1 AND status = 'running' AND done = $7", args, err);
  json_decref(args);
  if (rc == LP_OK && lp_db_changes(db) != 1)
    rc = lp_fail(err, LP_ECONFLICT, "job %lld moved on without this worker (its lease ran out)", (long long)id);
  return rc;
}

json_t *lp_job_present(json_t *row) {
  json_t *res = json_is_string(json_object_get(row, "result"))
                    ? json_loads(json_string_value(json_object_get(row, "result")), 0, NULL) : NULL;
  const char *st = json_string_value(json_object_get(row, "status"));
  /* the items that failed (bulk: lead ids, import: row numbers) stand at the top, as API.md's Job */
  json_t *errors = json_object_get(res, "errors");
  json_t *payload = json_loads(json_string_value(json_object_get(row, "payload")) ?: "{}", 0, NULL);
  int dry = json_is_true(json_object_get(payload, "dry_run"));
  json_decref(payload);
  json_t *o = json_pack("{s:O, s:O, s:O, s:I, s:I, s:I, s:O, s:O, s:O, s:o, s:o, s:o, s:o, s:o, s:O}",
                   "id", json_object_get(row, "id"), "kind", json_object_get(row, "kind"), "status", json_object_get(row, "status"),
                   "done", json_integer_value(json_object_get(row, "done")),
                   "total", json_integer_value(json_object_get(row, "total")),
                   "failed", json_integer_value(json_object_get(row, "failed")),
                   "attempts", json_object_get(row, "attempts"), "max_attempts", json_object_get(row, "max_attempts"),
                   "last_error", json_object_get(row, "last_error"),
                   "result", res ? res : json_null(),
                   "created_at", lp_json_time(json_object_get(row, "created_at")),
                   "updated_at", lp_json_time(json_object_get(row, "updated_at")),
                   "next_attempt_at", st && !strcmp(st, "queued") ? lp_json_time(json_object_get(row, "run_at")) : json_null(),
                   "finished_at", lp_json_time(json_object_get(row, "finished_at")),
                   "created_by", json_object_get(row, "created_by"));
  json_object_set_new(o, "errors", json_is_array(errors) ? json_incref(errors) : json_array());
  json_object_set_new(o, "dry_run", json_boolean(dry));
  return o;
}

json_t *lp_job_get(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM jobs WHERE id = $1", args, err);
  json_decref(args);
  if (!row) {
    if (err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No job %lld", (long long)id);
    return NULL;
  }
  json_t *o = lp_job_present(row);
  json_decref(row);
  return o;
}

json_t *lp_jobs_list(lp_db *db, const char *kind, const char *status, int64_t user, int admin, lp_err *err) {
  json_t *args = json_pack("[s?, s?, I, i]", kind, status, (json_int_t)user, admin);
  json_t *rows = lp_query(db, "SELECT * FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR kind = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2)"
                              " AND kind IN ('bulk', 'import') AND ($4 = 1 OR created_by = $3) ORDER BY id DESC LIMIT 100", args, err);
  json_decref(args);
  return rows;
}

static volatile int stop_requested;
void lp_jobs_stop_request(void) { __atomic_store_n(&stop_requested, 1, __ATOMIC_RELEASE); }
int lp_jobs_stopping(void) { return __atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE); }
