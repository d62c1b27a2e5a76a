/* serve.h — a running server: the wiring `leadpath serve` calls once the store is open. It starts
 * the background threads (background.h), serves HTTP (src/http) until SIGTERM or SIGINT, drains,
 * and stops them again. The command line (src/cli) calls this; nothing here calls the CLI. */
#ifndef LP_APP_SERVE_H
#define LP_APP_SERVE_H
#include "store/db.h"

typedef struct lp_serve_opts {
  const char *listen;   /* HOST:PORT */
  int threads;          /* HTTP threads; <= 0: 16 per core; always 8 to 256 */
  int workers;          /* job worker threads; < 0: 2; 0: this server runs no jobs */
  int sweep_seconds;    /* period of the sweep; <= 0: 60 */
  int pool;             /* PostgreSQL connections; <= 0: the store's default */
  int access_log;       /* one JSON line per request on stderr */
  const char *spool;    /* directory for uploaded files (imports); NULL: beside an SQLite database
                           (PATH-spool), /var/tmp/leadpath-spool for PostgreSQL */
  int upload_max_mb;    /* the largest upload (an import's CSV); <= 0: 512 */
} lp_serve_opts;

/* Blocks SIGTERM and SIGINT in the calling thread; call it before any thread exists (before the
 * store is opened), so every thread inherits the mask and lp_serve's sigwait takes the signal. */
void lp_serve_block_signals(void);

/* Serves on the open store `s` until SIGTERM/SIGINT, then drains and stops every thread it
 * started. The store stays open (the caller closes it). LP_OK, or the reason in err. */
lp_code lp_serve(lp_store *s, const lp_serve_opts *o, lp_err *err);
#endif
