/* commands.c — serve (options to src/app/serve.c), migrate, user add, backup. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>
#include "app/clock.h"
#include "app/serve.h"
#include "cli/cli.h"
#include "store/migrate.h"
#include "store/rows.h"
#include "store/users.h"

int cmd_serve(lp_opts *o) {
  lp_serve_block_signals();  /* before the store starts its threads */
  lp_store *s = lp_cli_open(o);
  if (!s) return 1;
  if (o->demo) {
    lp_err err = LP_ERR_INIT;
    lp_db *db = lp_store_reader(s, &err);
    int64_t n = db ? lp_query_int(db, "SELECT count(*) FROM leads", NULL, 0, &err) : -1;
    int64_t users = db ? lp_query_int(db, "SELECT count(*) FROM users", NULL, 0, &err) : -1;
    lp_err_release(&err);
    if (n == 0 && users == 0) {
      if (lp_demo_fill(s, lp_clock_now()) != 0) { lp_store_close(s); return 1; }
    } else {
      printf("Demo: the database already has data; logins as printed when it was filled:\n"
             "  admin@demo.leadpath.test / demo-admin-2026\n  manager@demo.leadpath.test / demo-manager-2026\n"
             "  agent@demo.leadpath.test / demo-agent-2026\n");
    }
    fflush(stdout);
  }
  lp_serve_opts so = {o->listen, o->threads, o->workers, o->sweep_seconds, o->pool, !o->quiet, o->spool, o->upload_max_mb};
  lp_err err = LP_ERR_INIT;
  lp_code rc = lp_serve(s, &so, &err);
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
  int rc = lp_migrate(s, lp_clock_now(), &applied, &err);
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
  lp_code rc = lp_user_add(s, o->email, o->name, o->role, o->manager, pw, lp_clock_now(), &id, &err);
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
