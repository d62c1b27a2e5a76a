/* slaclock.c — see slaclock.h. Walks local days: a span of a few weeks is a few dozen steps,
 * each a binary search in the zone's offset changes. */
#include "core/slaclock.h"
#include <stdlib.h>
#include <string.h>
#include "util/timefmt.h"

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

static int hhmm(const char *s, int *out) {
  if (!s || strlen(s) != 5 || s[2] != ':') return -1;
  for (int i = 0; i < 5; i++) if (i != 2 && (s[i] < '0' || s[i] > '9')) return -1;
  int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m)) return -1;
  *out = h * 3600 + m * 60;
  return 0;
}

static int cmp32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

int lp_bizhours_parse(json_t *cfg, lp_bizhours *h) {
  memset(h, 0, sizeof *h);
  if (!json_is_object(cfg)) return 0;
  json_t *days = json_object_get(cfg, "days");
  size_t i;
  json_t *v;
  json_array_foreach(days, i, v) {
    if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 7)
      h->days |= 1u << json_integer_value(v);
  }
  if (!h->days) return 0;
  if (hhmm(json_string_value(json_object_get(cfg, "start")), &h->start) ||
      hhmm(json_string_value(json_object_get(cfg, "end")), &h->end) || h->end <= h->start)
    return 0;
  const char *tz = json_string_value(json_object_get(cfg, "time_zone"));
  if (tz && strlen(tz) < sizeof h->tz_name && strcmp(tz, "UTC")) snprintf(h->tz_name, sizeof h->tz_name, "%s", tz);
  json_array_foreach(json_object_get(cfg, "holidays"), i, v) {
    int64_t t;
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 10 || lp_time_parse(s, &t) || h->nholidays == LP_BIZ_MAX_HOLIDAYS) continue;
    h->holidays[h->nholidays++] = (int32_t)(t / 86400);
  }
  qsort(h->holidays, h->nholidays, sizeof *h->holidays, cmp32);
  return 1;
}

static int working(const lp_bizhours *h, int64_t day) {
  int wd = (int)floordiv(day + 3, 7);
  wd = (int)(day + 3 - (int64_t)wd * 7) + 1;  /* 1970-01-01 was a Thursday (4) */
  if (!(h->days & (1u << wd))) return 0;
  int32_t d = (int32_t)day;
  return !(h->nholidays && bsearch(&d, h->holidays, h->nholidays, sizeof d, cmp32));
}

static int64_t local_day(const lp_bizhours *h, int64_t t) { return floordiv(t + lp_tz_offset(h->tz, t), 86400); }

int64_t lp_biz_seconds(const lp_bizhours *h, int64_t from, int64_t to, int64_t cap) {
  if (to <= from) return 0;
  if (!h) return to - from;
  int64_t sum = 0, last = local_day(h, to) + 1;
  for (int64_t d = local_day(h, from) - 1; d <= last; d++) {
    if (!working(h, d)) continue;
    int64_t ws = lp_tz_utc(h->tz, d * 86400 + h->start), we = lp_tz_utc(h->tz, d * 86400 + h->end);
    int64_t lo = ws > from ? ws : from, hi = we < to ? we : to;
    if (hi > lo) sum += hi - lo;
    if (cap > 0 && sum >= cap) break;
  }
  return sum;
}

#define MAX_DAYS (100 * 366)

int64_t lp_biz_latest_start(const lp_bizhours *h, int64_t to, int64_t need) {
  if (need <= 0) return to;
  if (!h) return to - need;
  int64_t acc = 0, first = local_day(h, to) + 1;
  for (int64_t d = first; d > first - MAX_DAYS; d--) {
    if (!working(h, d)) continue;
    int64_t ws = lp_tz_utc(h->tz, d * 86400 + h->start), we = lp_tz_utc(h->tz, d * 86400 + h->end);
    int64_t hi = we < to ? we : to;
    if (hi <= ws) continue;
    if (acc + (hi - ws) >= need) return hi - (need - acc);
    acc += hi - ws;
  }
  return INT64_MIN;
}

int64_t lp_biz_deadline(const lp_bizhours *h, int64_t from, int64_t need) {
  if (need <= 0) return from;
  if (!h) return from + need;
  int64_t acc = 0, first = local_day(h, from) - 1;
  for (int64_t d = first; d < first + MAX_DAYS; d++) {
    if (!working(h, d)) continue;
    int64_t ws = lp_tz_utc(h->tz, d * 86400 + h->start), we = lp_tz_utc(h->tz, d * 86400 + h->end);
    int64_t lo = ws > from ? ws : from;
    if (we <= lo) continue;
    if (acc + (we - lo) >= need) return lo + (need - acc);
    acc += we - lo;
  }
  return INT64_MAX;
}

int64_t lp_sla_target(const lp_bizhours *h, int64_t days) { return days * (h ? h->end - h->start : 86400); }

int64_t lp_sla_elapsed(const lp_bizhours *h, int64_t start, int64_t end, const lp_span *waits, size_t n) {
  int64_t t = lp_biz_seconds(h, start, end, 0);
  for (size_t i = 0; i < n; i++) {
    int64_t lo = waits[i].from > start ? waits[i].from : start;
    int64_t hi = waits[i].to > 0 && waits[i].to < end ? waits[i].to : end;
    t -= lp_biz_seconds(h, lo, hi, 0);
  }
  return t > 0 ? t : 0;
}

const char *lp_sla_state(int64_t elapsed, int64_t warn, int64_t breach) {
  if (elapsed >= breach) return "breached";
  if (elapsed >= warn) return "warning";
  return "ok";
}
