/* slaclock.h — the SLA's clock: how much of a lead's open time counts against its targets.
 *
 * Without business hours in the settings every second counts (the calendar clock). With them
 * (settings `business_hours`: {"days": [1..7, Monday 1], "start": "09:00", "end": "17:00",
 * "time_zone": "Europe/Berlin", "holidays": ["2026-12-25", ...]}) only the seconds inside the
 * business day of a working day that is not a holiday count, in that time zone's wall-clock time
 * (DST changes included), and a target of N days means N business days (N x the business day's
 * length). Either way time spent in a stage of kind `waiting` (waiting on the lead) does not
 * count. Pure functions: time comes in as parameters. */
#ifndef LP_CORE_SLACLOCK_H
#define LP_CORE_SLACLOCK_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "util/tz.h"

#define LP_BIZ_MAX_HOLIDAYS 512
typedef struct lp_bizhours {
  unsigned days;           /* bit (1 << d) for each working ISO weekday d, Monday 1 .. Sunday 7 */
  int start, end;          /* the business day, seconds after local midnight, 0 <= start < end <= 86400 */
  int32_t holidays[LP_BIZ_MAX_HOLIDAYS];  /* local dates (days since 1970-01-01), ascending */
  size_t nholidays;
  const lp_tz *tz;         /* NULL: UTC */
  char tz_name[101];       /* as configured ("" for UTC) */
} lp_bizhours;

/* Reads the settings' business_hours object. 1: configured (h filled, tz still NULL: the caller
 * loads tz_name); 0: not configured or not usable (no days, no start/end, end before start):
 * the calendar clock. Bad holidays are skipped. */
int lp_bizhours_parse(json_t *cfg, lp_bizhours *h);
/* Business seconds in [from, to); counting stops once cap is reached (cap <= 0: no cap), so the
 * answer is min(true value, something >= cap). A NULL h counts every second. */
int64_t lp_biz_seconds(const lp_bizhours *h, int64_t from, int64_t to, int64_t cap);
/* The latest instant T with lp_biz_seconds(h, T, to) >= need (T = to - need on the calendar
 * clock); INT64_MIN when there is none within 100 years (no working days). */
int64_t lp_biz_latest_start(const lp_bizhours *h, int64_t to, int64_t need);
/* The instant at which need business seconds have passed since from (no more waiting). */
int64_t lp_biz_deadline(const lp_bizhours *h, int64_t from, int64_t need);
/* A target of `days` in seconds of the clock: days x 86400, or days x the business day. */
int64_t lp_sla_target(const lp_bizhours *h, int64_t days);

typedef struct { int64_t from, to; } lp_span;   /* [from, to); to <= 0: still going */
/* SLA time of a lead open from start until end: the clock's seconds less those inside the
 * waiting spans (disjoint, any order; clipped to [start, end)). */
int64_t lp_sla_elapsed(const lp_bizhours *h, int64_t start, int64_t end, const lp_span *waits, size_t n);
/* "ok", "warning" or "breached" for an elapsed time against the two targets (seconds). */
const char *lp_sla_state(int64_t elapsed, int64_t warn, int64_t breach);
#endif
