/* commands.c — serve, migrate, user add, backup. */
#include <pthread.h>
#include <sys/prctl.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"
#include "http/http.h"
#include "store/migrate.h"
#include "store/rows.h"
#include "store/leads.h"
#include "store/users.h"
#include "jobs/jobs.h"

/* The background of a server: a tick thread that every quarter second offers the periodic jobs,
 * an index thread that writes the search entries of the leads written since (SQLite: see
 * lp_lead_index_step; it has nothing to do on PostgreSQL), and `workers` threads that claim due
 * jobs and run them (lib/jobs). All stop when `stop` is set. */
typedef struct {
  lp_store *s;
  int stop;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lp_sweeps sweeps;
} bg_ctx;

/* Waits ms milliseconds (at most a second) or until stop; returns 1 when stopping. Called with mu held. */
static int bg_wait(bg_ctx *c, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += ms * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  if (!c->stop) pthread_cond_timedwait(&c->cv, &c->mu, &until);
  return c->stop;
}

static void *tick_main(void *p) {
  bg_ctx *c = p;
  prctl(PR_SET_NAME, "lp-tick");  /* named in top -H and perf */
  pthread_mutex_lock(&c->mu);
  while (!bg_wait(c, 250)) {
    pthread_mutex_unlock(&c->mu);
    lp_jobs_offer_sweeps(c->s, &c->sweeps, lp_cli_now());
    lp_store_release(c->s);
    pthread_mutex_lock(&c->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* Writes search entries while there are any, then looks again every tenth of a second (a search
 * brings the index up to date itself, so this only keeps that wait short). */
static void *index_main(void *p) {
  bg_ctx *c = p;
  prctl(PR_SET_NAME, "lp-index");  /* named in top -H and perf */
  pthread_mutex_lock(&c->mu);
  while (!c->stop) {
    pthread_mutex_unlock(&c->mu);
    lp_err e = LP_ERR_INIT;
    int n = lp_lead_index_step(c->s, &e);
    lp_err_release(&e);
    lp_store_release(c->s);
    pthread_mutex_lock(&c->mu);
    if (n < LP_INDEX_CHUNK && bg_wait(c, n < 0 ? 1000 : 100)) break;
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

static const lp_job_kind job_kinds[] = {
  {"webhook", lp_job_webhook},
  {"sweep", lp_job_sweep},
  {"sla_check", lp_job_sla_check},
  {"bulk", lp_job_bulk},
  {"import", lp_job_import},
};

typedef struct { bg_ctx *bg; char name[96]; } worker_ctx;

static void *worker_main(void *p) {
  worker_ctx *w = p;
  prctl(PR_SET_NAME, "lp-worker");  /* named in top -H and perf */
  bg_ctx *c = w->bg;
  pthread_mutex_lock(&c->mu);
  while (!c->stop) {
    pthread_mutex_unlock(&c->mu);
    lp_err e = LP_ERR_INIT;
    int n = lp_jobs_work(c->s, job_kinds, sizeof job_kinds / sizeof *job_kinds, w->name, lp_cli_now(), 4, &e);
    lp_err_release(&e);
    lp_store_release(c->s);
    pthread_mutex_lock(&c->mu);
    if (n <= 0 && bg_wait(c, 250)) break;
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

int cmd_serve(lp_opts *o) {
  /* SIGTERM and SIGINT are taken by sigwait in lp_http_serve; block them before any thread
   * exists (writer, checkpointer, indexer, HTTP pool), so every thread inherits the mask and a
   * signal arriving early still drains instead of killing the process. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  lp_store *s = lp_cli_open(o);
  if (!s) return 1;
  if (o->demo) {
    lp_err err = LP_ERR_INIT;
    lp_db *db = lp_store_reader(s, &err);
    int64_t n = db ? lp_query_int(db, "SELECT count(*) FROM leads", NULL, 0, &err) : -1;
    int64_t users = db ? lp_query_int(db, "SELECT count(*) FROM users", NULL, 0, &err) : -1;
    lp_err_release(&err);
    if (n == 0 && users == 0) {
      if (lp_demo_fill(s, lp_cli_now()) != 0) { lp_store_close(s); return 1; }
    } else {
      printf("Demo: the database already has data; logins as printed when it was filled:\n"
             "  admin@demo.leadpath.test / demo-admin-2026\n  manager@demo.leadpath.test / demo-manager-2026\n"
             "  agent@demo.leadpath.test / demo-agent-2026\n");
    }
    fflush(stdout);
  }
  if (o->pool > 0) lp_store_set_pool(s, o->pool);
  /* One batch of the search index before the first request: a search file that does not match
   * the database (restored from another time) is found out before any write can move the log
   * past where that file stands. */
  lp_err ierr = LP_ERR_INIT;
  lp_lead_index_step(s, &ierr);
  lp_err_release(&ierr);
  lp_store_release(s);  /* this thread only waits for SIGTERM from here on */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  lp_app app = {s, o->threads > 0 ? o->threads : (int)(cores > 0 ? cores * 16 : 32), !o->quiet, lp_cli_now};
  if (app.threads < 8) app.threads = 8;
  if (app.threads > 256) app.threads = 256;
  bg_ctx bg = {s, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {o->sweep_seconds > 0 ? o->sweep_seconds : 60, -1}};
  pthread_t tick, indexer, workers[LP_MAX_WORKERS];
  worker_ctx wctx[LP_MAX_WORKERS];
  int tick_started = pthread_create(&tick, NULL, tick_main, &bg) == 0;
  int index_started = pthread_create(&indexer, NULL, index_main, &bg) == 0;
  int nworkers = o->workers < 0 ? 2 : o->workers > LP_MAX_WORKERS ? LP_MAX_WORKERS : o->workers, started = 0;
  char host[64] = "host";
  gethostname(host, sizeof host);
  host[sizeof host - 1] = 0;
  for (int i = 0; i < nworkers; i++) {
    wctx[started].bg = &bg;
    snprintf(wctx[started].name, sizeof wctx[started].name, "%s:%ld:%d", host, (long)getpid(), i);
    if (pthread_create(&workers[started], NULL, worker_main, &wctx[started]) == 0) started++;
  }
  lp_err err = LP_ERR_INIT;
  int rc = lp_http_serve(&app, o->listen, &err);
  pthread_mutex_lock(&bg.mu);
  bg.stop = 1;
  pthread_cond_broadcast(&bg.cv);
  pthread_mutex_unlock(&bg.mu);
  if (tick_started) pthread_join(tick, NULL);
  if (index_started) pthread_join(indexer, NULL);
  for (int i = 0; i < started; i++) pthread_join(workers[i], NULL);
  if (rc != LP_OK) fprintf(stderr, "leadpath: %s\n", err.message);
  lp_err_release(&err);
  lp_store_close(s);
  return rc == LP_OK ? 0 : 1;
}

int cmd_migrate(lp_opts *o) {
  lp_err err = LP_ERR_INIT;
  lp_store *s = lp_store_open(o->db, &err);
  if (!s) { fprintf(stderr, "leadpath: %s\n", err.message); lp_err_release(&err); return 1; }
  int applied = 0;
  int rc = lp_migrate(s, lp_cli_now(), &applied, &err);
  if (rc != LP_OK) fprintf(stderr, "leadpath: migration failed: %s\n", err.message);
  else printf("migrated: %d applied, schema version %d\n", applied, lp_schema_version());
  lp_err_release(&err);
  lp_store_close(s);
  return rc == LP_OK ? 0 : 1;
}

int cmd_user(lp_opts *o) {
  if (!o->password_stdin) { fprintf(stderr, "leadpath: give the password on standard input with --password-stdin\n"); return 2; }
  char pw[1100];
  if (!fgets(pw, sizeof pw, stdin)) { fprintf(stderr, "leadpath: no password on standard input\n"); return 2; }
  pw[strcspn(pw, "\r\n")] = 0;
  lp_store *s = lp_cli_open(o);
  if (!s) return 1;
  lp_err err = LP_ERR_INIT;
  int64_t id = 0;
  lp_code rc = lp_user_add(s, o->email, o->name, o->role, o->manager, pw, lp_cli_now(), &id, &err);
  if (rc != LP_OK) {
    fprintf(stderr, "leadpath: cannot add the user: %s", err.message);
    const char *k;
    json_t *v;
    if (err.fields) json_object_foreach(err.fields, k, v) fprintf(stderr, "; %s: %s", k, json_string_value(v));
    fprintf(stderr, "\n");
  } else {
    printf("%lld\n", (long long)id);
  }
  lp_err_release(&err);
  lp_store_close(s);
  return rc == LP_OK ? 0 : 1;
}

int cmd_backup(lp_opts *o) {
  if (o->nargs < 1) { fprintf(stderr, "leadpath: usage: leadpath backup --db URL FILE\n"); return 2; }
  lp_store *s = lp_cli_open(o);
  if (!s) return 1;
  lp_err err = LP_ERR_INIT;
  const char *format = "";
  int rc = 0;
  if (lp_store_backup(s, o->args[0], &format, &err) != LP_OK) {
    fprintf(stderr, "leadpath: %s\n", err.message);
    rc = 1;
  } else {
    printf("backup written to %s (%s)\n", o->args[0], format);
  }
  lp_err_release(&err);
  lp_store_close(s);
  return rc;
}
