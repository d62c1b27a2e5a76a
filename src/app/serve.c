/* serve.c — startup and shutdown of a server (see serve.h): the order the threads start and
 * stop in, and the sizes of the HTTP thread pool. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "app/background.h"
#include "app/clock.h"
#include "app/serve.h"
#include "http/http.h"
#include "http/routes/import.h"
#include "store/leads.h"

void lp_serve_block_signals(void) {
  /* SIGTERM and SIGINT are taken by sigwait in lp_http_serve; blocked before any thread exists
   * (writer, checkpointer, indexer, HTTP pool), a signal arriving early still drains instead of
   * killing the process. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
}

lp_code lp_serve(lp_store *s, const lp_serve_opts *o, lp_err *err) {
  if (o->pool > 0) lp_store_set_pool(s, o->pool);
  /* One batch of the search index before the first request: a search file that does not match
   * the database (restored from another time) is found out before any write can move the log
   * past where that file stands. */
  lp_err ierr = LP_ERR_INIT;
  lp_lead_index_step(s, &ierr);
  lp_err_release(&ierr);
  lp_store_release(s);  /* this thread only waits for SIGTERM from here on */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  /* Uploads (imports of CSV files) wait in the spool directory: beside an SQLite database, or
   * a local directory for PostgreSQL (each server keeps what it was sent). */
  char spool[1100];
  if (o->spool && o->spool[0]) snprintf(spool, sizeof spool, "%s", o->spool);
  else if (lp_store_engine(s) == LP_ENGINE_SQLITE) snprintf(spool, sizeof spool, "%s-spool", lp_store_path(s));
  else snprintf(spool, sizeof spool, "/var/tmp/leadpath-spool");
  lp_import_setup(s, spool, lp_clock_now());
  lp_app app = {s, o->threads > 0 ? o->threads : (int)(cores > 0 ? cores * 16 : 32), o->access_log, lp_clock_now, NULL, 0};
  app.spool = lp_import_spool();
  app.upload_max = (int64_t)(o->upload_max_mb > 0 ? o->upload_max_mb : 512) << 20;
  if (app.threads < 8) app.threads = 8;
  if (app.threads > 256) app.threads = 256;
  lp_background bg;
  lp_background_start(&bg, s, o->workers, o->sweep_seconds);
  lp_code rc = lp_http_serve(&app, o->listen, err);
  lp_background_stop(&bg);
  return rc;
}
