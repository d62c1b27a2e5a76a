/* tz.h — a time zone as its list of UTC offset changes, read from the system's zoneinfo (TZif).
 *
 * lp_tz_offset and lp_tz_local are pure lookups (binary search; thread-safe once loaded).
 * lp_tz_load reads /usr/share/zoneinfo/<name> (TZif version 2+, 64-bit part); Debian's "fat"
 * files list every change up to 2037, later instants keep the last offset. "UTC" (and "Z",
 * "Etc/UTC") needs no file. */
#ifndef LP_UTIL_TZ_H
#define LP_UTIL_TZ_H
#include <stddef.h>
#include <stdint.h>

typedef struct lp_tz {
  size_t n;          /* changes */
  int64_t *at;       /* UTC instant of each change, ascending (owned) */
  int32_t *off;      /* the offset (seconds east of UTC) from that instant on (owned) */
  int32_t off0;      /* before the first change */
} lp_tz;

/* Offset in effect at UTC instant t. A NULL tz is UTC. */
int32_t lp_tz_offset(const lp_tz *tz, int64_t t);
/* The UTC instant of a local wall-clock time (seconds since 1970-01-01 00:00 local). A wall time
 * skipped by a change forward is read with the offset before the change (02:30 in a gap becomes
 * 03:30 after it); a wall time that happens twice is its first occurrence. */
int64_t lp_tz_utc(const lp_tz *tz, int64_t local);
/* 0 and *tz filled, or -1 (unknown or unreadable zone, a name with "..", bad file). */
int lp_tz_load(const char *name, lp_tz *tz);
void lp_tz_release(lp_tz *tz);
#endif
