/* tz.c — time zone names checked against the zone database (see tz.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "util/tz.h"

#define ZONEINFO "/usr/share/zoneinfo/"

static int shape_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64 || name[0] == '/' || name[n - 1] == '/') return 0;
  const char *part = name;
  for (const char *p = name;; p++) {
    if (*p == '/' || *p == 0) {
      if (p == part || *part == '.' || *part == '-') return 0;  /* empty, ".", "..", or an option-like part */
      if (*p == 0) break;
      part = p + 1;
      continue;
    }
    unsigned char c = (unsigned char)*p;
    if (!isalnum(c) && c != '_' && c != '-' && c != '+') return 0;
  }
  return 1;
}

int lp_tz_valid(const char *name) {
  if (!name || !shape_ok(name)) return 0;
  if (!strcmp(name, "UTC")) return 1;
  char path[sizeof ZONEINFO + 64];
  snprintf(path, sizeof path, ZONEINFO "%s", name);
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char magic[4] = {0};
  size_t got = fread(magic, 1, 4, f);
  fclose(f);
  return got == 4 && !memcmp(magic, "TZif", 4);
}
