/* cli.h — the commands of the leadpath binary, one file each (src/cli/<cmd>.c). */
#ifndef LP_CLI_H
#define LP_CLI_H
#include <stdint.h>
#include "store/db.h"
typedef struct lp_opts {
  const char *db;       /* --db or LEADPATH_DB */
  const char *listen;   /* --listen or LEADPATH_LISTEN */
  int demo, threads, quiet;
  int workers;          /* --workers: background job threads (-1: default 2; 0: none on this server) */
  int sweep_seconds;    /* --sweep-seconds: period of the sweep (default 60) */
  int pool;             /* --db-pool or LEADPATH_DB_POOL: PostgreSQL connections (default 16) */
  const char *spool;    /* --spool or LEADPATH_SPOOL: where uploaded files wait (serve.h) */
  int upload_max_mb;    /* --upload-max-mb or LEADPATH_UPLOAD_MAX_MB (default 512) */
  const char *email, *name, *role, *manager, *format;
  const char *from, *to; /* copy --from URL --to URL */
  int password_stdin;
  const char *args[8]; /* positional arguments after the command */
  int nargs;
} lp_opts;
lp_store *lp_cli_open(const lp_opts *o);   /* opens and migrates, or prints and returns NULL */
int cmd_serve(lp_opts *o);
int cmd_migrate(lp_opts *o);
int cmd_user(lp_opts *o);
int cmd_backup(lp_opts *o);
int cmd_export(lp_opts *o);
int cmd_import(lp_opts *o);
int cmd_copy(lp_opts *o);
int cmd_reports(lp_opts *o, const char *sub);   /* reports rebuild|check */
int lp_demo_fill(lp_store *s, int64_t now);   /* 0 ok; prints the demo logins */
#endif
