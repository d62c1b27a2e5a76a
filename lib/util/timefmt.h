/* timefmt.h — RFC 3339 timestamps <-> Unix seconds (UTC), and whole-day differences.
 *
 * Pure arithmetic (days-from-civil), no time zone database, no global state: every function
 * is reentrant and thread-safe. No function allocates; all buffers belong to the caller. */
#ifndef LP_UTIL_TIMEFMT_H
#define LP_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Size of a formatted timestamp: "2026-11-22T19:20:06Z" (20 chars) + NUL. */
#define LP_TIME_LEN 21

/* Earliest and latest instants handled: 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define LP_TIME_MIN INT64_C(0)
#define LP_TIME_MAX INT64_C(253402300799)

/* Parses a timestamp into Unix seconds UTC.
 *
 * Input `s` (NUL-terminated, not modified, not retained) is one of
 *   - RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; the 'T' may also be
 *     't' or a single space, 'Z' may be 'z'; any number (>= 1) of fraction digits, truncated;
 *   - a bare date "YYYY-MM-DD", meaning midnight UTC.
 * Fields must have exactly the digits shown. Checked ranges: year 1970..9999, month 1..12,
 * day 1..days-in-month (Gregorian leap years), hour 0..23, minute 0..59, second 0..60 (a leap
 * second 60 is clamped to 59), offset hours 0..23 and minutes 0..59. The resulting UTC instant
 * must lie in LP_TIME_MIN..LP_TIME_MAX (so "1970-01-01T00:30:00+01:00" is rejected).
 * Nothing may precede or follow the timestamp (no surrounding whitespace).
 *
 * Result: 0 and *out set on success; -1 on any error (including NULL arguments), in which
 * case *out is left untouched. */
int lp_time_parse(const char *s, int64_t *out);

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" plus NUL into `out` (caller-owned, LP_TIME_LEN bytes).
 * t is clamped to LP_TIME_MIN..LP_TIME_MAX first, so the output always has that exact shape
 * and lp_time_parse() of it gives the (clamped) t back. Does nothing if out is NULL. */
void lp_time_format(int64_t t, char out[LP_TIME_LEN]);

/* Whole days between two instants (Unix seconds): floor((later - earlier) / 86400), computed
 * without overflow for any inputs. Never negative: 0 when later <= earlier. */
int64_t lp_days_between(int64_t earlier, int64_t later);

#endif
