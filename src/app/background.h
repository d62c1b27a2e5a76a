/* background.h — the threads a server runs beside its HTTP threads.
 *
 * `lp-tick` offers the periodic jobs every quarter second (lib/jobs: sweep, SLA checks);
 * `lp-index` writes the search entries of the leads written since (SQLite; see
 * lp_lead_index_step, it has nothing to do on PostgreSQL); `lp-worker` threads claim due jobs
 * and run them with the handler the job-kind table (jobkinds.c) gives for their kind. The
 * store's own threads (`lp-writer`, `lp-checkpoint`) start with the store (lib/store/sqlite.c).
 */
#ifndef LP_APP_BACKGROUND_H
#define LP_APP_BACKGROUND_H
#include <pthread.h>
#include <stddef.h>
#include "jobs/jobs.h"

#define LP_MAX_WORKERS 16

/* The job kinds this binary runs, by the name stored in a job row (jobkinds.c). */
extern const lp_job_kind lp_job_kinds[];
extern const size_t lp_job_kinds_count;

typedef struct lp_background_worker { struct lp_background *bg; char name[96]; pthread_t th; } lp_background_worker;

/* The caller owns the struct; lp_background_start fills it, lp_background_stop joins the threads. */
typedef struct lp_background {
  lp_store *s;
  int stop;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lp_sweeps sweeps;
  lp_polls imap;       /* the IMAP poll's offer (jobs/imap.c) */
  pthread_t tick, indexer;
  int tick_started, index_started, nworkers;
  lp_background_worker workers[LP_MAX_WORKERS];
} lp_background;

/* Starts the tick, the index thread and `workers` job workers (< 0: 2; at most LP_MAX_WORKERS;
 * 0: none, so this server runs no jobs), the sweep every `sweep_seconds` (<= 0: 60). A thread
 * that cannot be started is left out. */
void lp_background_start(lp_background *bg, lp_store *s, int workers, int sweep_seconds);
/* Tells every thread to stop, waits for each to finish what it is running, and joins them. */
void lp_background_stop(lp_background *bg);
#endif
