/* reports.c — `leadpath reports rebuild|check --db URL`: recomputes the report counters from the
 * leads (store/reports.h). check only compares and exits 1 when the kept counters differ. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "store/reports.h"

int cmd_reports(lp_opts *o, const char *sub) {
  int fix = !strcmp(sub, "rebuild");
  if (!fix && strcmp(sub, "check")) { fprintf(stderr, "leadpath: usage: leadpath reports rebuild|check --db URL\n"); return 2; }
  lp_store *s = lp_cli_open(o);
  if (!s) return 1;
  lp_err err = LP_ERR_INIT;
  int64_t differ = 0;
  int rc = 0;
  if (lp_reports_rebuild(s, fix, &differ, &err) != LP_OK) {
    fprintf(stderr, "leadpath: %s\n", err.message);
    rc = 1;
  } else if (fix) {
    printf("report counters rebuilt (%lld rows differed from the leads)\n", (long long)differ);
  } else {
    printf("%lld rows differ\n", (long long)differ);
    rc = differ ? 1 : 0;
  }
  lp_err_release(&err);
  lp_store_close(s);
  return rc;
}
