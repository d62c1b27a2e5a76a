/* tz.c — see tz.h. */
#include "util/tz.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t lp_tz_offset(const lp_tz *tz, int64_t t) {
  if (!tz || !tz->n || t < tz->at[0]) return tz ? tz->off0 : 0;
  size_t lo = 0, hi = tz->n;  /* the last change at or before t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->at[mid] <= t) lo = mid; else hi = mid;
  }
  return tz->off[lo];
}

int64_t lp_tz_utc(const lp_tz *tz, int64_t local) {
  if (!tz) return local;
  /* Candidates: local less the offset before and after any change near it. The first
   * consistent one (earliest occurrence) wins; none in a gap: the offset before the change. */
  int32_t a = lp_tz_offset(tz, local - 86400), b = lp_tz_offset(tz, local + 86400);
  int64_t ta = local - a, tb = local - b;
  int ok_a = lp_tz_offset(tz, ta) == a, ok_b = lp_tz_offset(tz, tb) == b;
  if (ok_a && ok_b) return ta < tb ? ta : tb;
  if (ok_a) return ta;
  if (ok_b) return tb;
  return ta;  /* in a gap: read with the offset before the change */
}

static int64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  if (n == 4) return (int32_t)(uint32_t)v;
  return (int64_t)v;
}

static int utc_name(const char *name) {
  return !strcmp(name, "UTC") || !strcmp(name, "Z") || !strcmp(name, "Etc/UTC") || !strcmp(name, "GMT");
}

int lp_tz_load(const char *name, lp_tz *tz) {
  memset(tz, 0, sizeof *tz);
  if (!name || !*name) return -1;
  if (utc_name(name)) return 0;
  if (strlen(name) > 100 || strstr(name, "..") || name[0] == '/') return -1;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("/_-+", *c))) return -1;
  char path[160];
  snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  unsigned char *d = malloc(1 << 17);
  size_t len = d ? fread(d, 1, 1 << 17, f) : 0;
  fclose(f);
  int rc = -1;
  if (len < 44 || memcmp(d, "TZif", 4) || d[4] < '2') goto out;
  /* skip the 32-bit part */
  int64_t c[6];
  for (int i = 0; i < 6; i++) c[i] = be(d + 20 + 4 * i, 4);
  size_t skip = 44 + (size_t)(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
  if (skip + 44 > len || memcmp(d + skip, "TZif", 4)) goto out;
  const unsigned char *h = d + skip;
  for (int i = 0; i < 6; i++) c[i] = be(h + 20 + 4 * i, 4);
  int64_t timecnt = c[3], typecnt = c[4];
  if (timecnt < 0 || typecnt <= 0 || typecnt > 256 || timecnt > 10000) goto out;
  const unsigned char *times = h + 44, *idx = times + timecnt * 8, *types = idx + timecnt;
  if ((size_t)(types + typecnt * 6 - d) > len) goto out;
  tz->n = (size_t)timecnt;
  tz->at = malloc(sizeof *tz->at * (tz->n ? tz->n : 1));
  tz->off = malloc(sizeof *tz->off * (tz->n ? tz->n : 1));
  if (!tz->at || !tz->off) { lp_tz_release(tz); goto out; }
  tz->off0 = (int32_t)be(types, 4);
  for (size_t i = 0; i < tz->n; i++) {
    unsigned t = idx[i];
    if (t >= typecnt) { lp_tz_release(tz); goto out; }
    tz->at[i] = be(times + 8 * i, 8);
    tz->off[i] = (int32_t)be(types + 6 * t, 4);
  }
  rc = 0;
out:
  free(d);
  return rc;
}

void lp_tz_release(lp_tz *tz) {
  free(tz->at);
  free(tz->off);
  memset(tz, 0, sizeof *tz);
}
