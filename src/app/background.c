/* background.c — the tick, index and job worker threads of a server (see background.h). Each
 * sleeps on one condition variable between rounds, so stopping wakes them all at once. */
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "app/background.h"
#include "app/clock.h"
#include "store/leads.h"

/* Waits ms milliseconds (at most a second) or until stop; returns 1 when stopping. Called with mu held. */
static int bg_wait(lp_background *c, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += ms * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  if (!c->stop) pthread_cond_timedwait(&c->cv, &c->mu, &until);
  return c->stop;
}

static void *tick_main(void *p) {
  lp_background *c = p;
  prctl(PR_SET_NAME, "lp-tick");  /* named in top -H and perf */
  pthread_mutex_lock(&c->mu);
  while (!bg_wait(c, 250)) {
    pthread_mutex_unlock(&c->mu);
    lp_jobs_offer_sweeps(c->s, &c->sweeps, lp_clock_now());
    lp_jobs_offer_imap(c->s, &c->imap, lp_clock_now());
    lp_store_release(c->s);
    pthread_mutex_lock(&c->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* Writes search entries while there are any, then looks again every tenth of a second (a search
 * brings the index up to date itself, so this only keeps that wait short). */
static void *index_main(void *p) {
  lp_background *c = p;
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

static void *worker_main(void *p) {
  lp_background_worker *w = p;
  prctl(PR_SET_NAME, "lp-worker");  /* named in top -H and perf */
  lp_background *c = w->bg;
  pthread_mutex_lock(&c->mu);
  while (!c->stop) {
    pthread_mutex_unlock(&c->mu);
    lp_err e = LP_ERR_INIT;
    int n = lp_jobs_work(c->s, lp_job_kinds, lp_job_kinds_count, w->name, lp_clock_now, 4, 8, &e);
    lp_err_release(&e);
    lp_store_release(c->s);
    pthread_mutex_lock(&c->mu);
    if (n <= 0 && bg_wait(c, 250)) break;
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

void lp_background_start(lp_background *bg, lp_store *s, int workers, int sweep_seconds) {
  *bg = (lp_background){.s = s, .sweeps = {sweep_seconds > 0 ? sweep_seconds : 60, -1}, .imap = {0, -1, -1}};
  pthread_mutex_init(&bg->mu, NULL);
  pthread_cond_init(&bg->cv, NULL);
  bg->tick_started = pthread_create(&bg->tick, NULL, tick_main, bg) == 0;
  bg->index_started = pthread_create(&bg->indexer, NULL, index_main, bg) == 0;
  int n = workers < 0 ? 2 : workers > LP_MAX_WORKERS ? LP_MAX_WORKERS : workers;
  /* A worker's name is unique to its thread and process, on every server of one database. */
  char host[64] = "host";
  gethostname(host, sizeof host);
  host[sizeof host - 1] = 0;
  for (int i = 0; i < n; i++) {
    lp_background_worker *w = &bg->workers[bg->nworkers];
    w->bg = bg;
    snprintf(w->name, sizeof w->name, "%s:%ld:%d", host, (long)getpid(), i);
    if (pthread_create(&w->th, NULL, worker_main, w) == 0) bg->nworkers++;
  }
}

void lp_background_stop(lp_background *bg) {
  lp_jobs_stop_request();  /* long jobs (the scoring walk) end early */
  pthread_mutex_lock(&bg->mu);
  bg->stop = 1;
  pthread_cond_broadcast(&bg->cv);
  pthread_mutex_unlock(&bg->mu);
  if (bg->tick_started) pthread_join(bg->tick, NULL);
  if (bg->index_started) pthread_join(bg->indexer, NULL);
  for (int i = 0; i < bg->nworkers; i++) pthread_join(bg->workers[i].th, NULL);
  bg->nworkers = 0;
  pthread_cond_destroy(&bg->cv);
  pthread_mutex_destroy(&bg->mu);
}
