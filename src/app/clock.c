/* clock.c — the binary's clock (see clock.h). */
#include <stdlib.h>
#include <time.h>
#include "app/clock.h"

int64_t lp_clock_now(void) {
  static int64_t offset = -1;
  if (offset < 0) {
    /* LEADPATH_TIME_OFFSET shifts the server's clock (seconds), for trying out SLA rules. */
    const char *s = getenv("LEADPATH_TIME_OFFSET");
    offset = s ? strtoll(s, NULL, 10) : 0;
    if (offset < 0) offset = 0;
  }
  return (int64_t)time(NULL) + offset;
}
