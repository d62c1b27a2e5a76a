/* main.c — the leadpath command line: parses options and runs one command. */
#include <curl/curl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "app/clock.h"
#include "cli/cli.h"
#include "store/migrate.h"
#include "util/secret.h"

#ifndef LP_GIT_VERSION
#define LP_GIT_VERSION "unknown"
#endif
#define LP_VERSION "0.1.0"

static void usage(FILE *f) {
  fprintf(f,
    "leadpath %s — lead management server\n\n"
    "usage:\n"
    "  leadpath serve [--db URL] [--listen HOST:PORT] [--demo] [--threads N] [--workers N]\n"
    "                 [--sweep-seconds N] [--db-pool N] [--spool DIR] [--upload-max-mb N] [--quiet]\n"
    "  leadpath migrate --db URL\n"
    "  leadpath user add --db URL --email E --name N --role admin|manager|agent [--manager EMAIL] --password-stdin\n"
    "  leadpath backup --db URL FILE\n"
    "  leadpath export --db URL [--format csv|json] > FILE\n"
    "  leadpath import --db URL FILE.csv\n"
    "  leadpath copy --from URL --to URL      (every row, e.g. SQLite to PostgreSQL)\n"
    "  leadpath reports rebuild|check --db URL (report counters recomputed from the leads)\n"
    "  leadpath version\n\n"
    "URL is sqlite:PATH (default sqlite:leadpath.db); also from LEADPATH_DB. Default listen 127.0.0.1:8080\n"
    "(LEADPATH_LISTEN). See docs/configuration.md.\n", LP_VERSION);
}

lp_store *lp_cli_open(const lp_opts *o) {
  lp_err err = LP_ERR_INIT;
  lp_store *s = lp_store_open(o->db, &err);
  if (!s) {
    fprintf(stderr, "leadpath: %s\n", err.message);
    lp_err_release(&err);
    return NULL;
  }
  int applied = 0;
  if (lp_migrate(s, lp_clock_now(), &applied, &err) != LP_OK) {
    fprintf(stderr, "leadpath: migration failed: %s\n", err.message);
    lp_err_release(&err);
    lp_store_close(s);
    return NULL;
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc < 2) { usage(stderr); return 2; }
  /* Many threads allocate and free JSON all day: keep freed memory in the process instead of
   * handing it back to the kernel after every burst (each give-back costs TLB shootdowns). */
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) { fprintf(stderr, "leadpath: libcurl failed to start\n"); return 1; }
  if (lp_secret_init() != 0) { fprintf(stderr, "leadpath: libsodium failed to start\n"); return 1; }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("leadpath %s (%s), schema %d\n", LP_VERSION, LP_GIT_VERSION, lp_schema_version());
    return 0;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) { usage(stdout); return 0; }
  lp_opts o = {0};
  o.workers = -1;
  o.pool = getenv("LEADPATH_DB_POOL") ? (int)strtol(getenv("LEADPATH_DB_POOL"), NULL, 10) : 0;
  o.db = getenv("LEADPATH_DB") ? getenv("LEADPATH_DB") : "sqlite:leadpath.db";
  o.listen = getenv("LEADPATH_LISTEN") ? getenv("LEADPATH_LISTEN") : "127.0.0.1:8080";
  o.spool = getenv("LEADPATH_SPOOL");
  o.upload_max_mb = getenv("LEADPATH_UPLOAD_MAX_MB") ? (int)strtol(getenv("LEADPATH_UPLOAD_MAX_MB"), NULL, 10) : 0;
  static const struct option longopts[] = {
    {"db", required_argument, 0, 'd'}, {"listen", required_argument, 0, 'l'}, {"demo", no_argument, 0, 'D'},
    {"threads", required_argument, 0, 't'}, {"quiet", no_argument, 0, 'q'}, {"email", required_argument, 0, 'e'},
    {"name", required_argument, 0, 'n'}, {"role", required_argument, 0, 'r'}, {"manager", required_argument, 0, 'm'},
    {"workers", required_argument, 0, 'w'}, {"sweep-seconds", required_argument, 0, 'S'},
    {"db-pool", required_argument, 0, 'p'}, {"from", required_argument, 0, 'F'}, {"to", required_argument, 0, 'T'},
    {"password-stdin", no_argument, 0, 'P'}, {"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'},
    {"spool", required_argument, 0, 's'}, {"upload-max-mb", required_argument, 0, 'U'},
    {0, 0, 0, 0}};
  int sub = !strcmp(cmd, "user") || !strcmp(cmd, "reports") ? 2 : 1;  /* "user add" has a sub-command */
  optind = sub + 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case 'd': o.db = optarg; break;
      case 'l': o.listen = optarg; break;
      case 'D': o.demo = 1; break;
      case 't': o.threads = (int)strtol(optarg, NULL, 10); break;
      case 'q': o.quiet = 1; break;
      case 'w': o.workers = (int)strtol(optarg, NULL, 10); break;
      case 'S': o.sweep_seconds = (int)strtol(optarg, NULL, 10); break;
      case 'p': o.pool = (int)strtol(optarg, NULL, 10); break;
      case 'F': o.from = optarg; break;
      case 'T': o.to = optarg; break;
      case 'e': o.email = optarg; break;
      case 'n': o.name = optarg; break;
      case 'r': o.role = optarg; break;
      case 'm': o.manager = optarg; break;
      case 'P': o.password_stdin = 1; break;
      case 'f': o.format = optarg; break;
      case 's': o.spool = optarg; break;
      case 'U': o.upload_max_mb = (int)strtol(optarg, NULL, 10); break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  for (int i = optind; i < argc && o.nargs < 8; i++) o.args[o.nargs++] = argv[i];
  if (!strcmp(cmd, "serve")) return cmd_serve(&o);
  if (!strcmp(cmd, "migrate")) return cmd_migrate(&o);
  if (!strcmp(cmd, "backup")) return cmd_backup(&o);
  if (!strcmp(cmd, "export")) return cmd_export(&o);
  if (!strcmp(cmd, "import")) return cmd_import(&o);
  if (!strcmp(cmd, "copy")) return cmd_copy(&o);
  if (!strcmp(cmd, "reports")) return cmd_reports(&o, argc > 2 ? argv[2] : "");
  if (!strcmp(cmd, "user")) {
    if (argc < 3 || strcmp(argv[2], "add")) { fprintf(stderr, "leadpath: usage: leadpath user add ...\n"); return 2; }
    return cmd_user(&o);
  }
  fprintf(stderr, "leadpath: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
