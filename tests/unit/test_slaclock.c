/* test_slaclock.c — the SLA clock (lib/core/slaclock.c) on a controlled clock: business hours
 * over weekends, holidays, a DST change in Europe/Berlin and New York, waiting periods, and the
 * inverse functions (latest start, deadline) agreeing with the count. Every figure is worked out
 * by hand in the comment beside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/slaclock.h"
#include "util/timefmt.h"

#define H 3600

static int64_t T(const char *s) {
  int64_t t = 0;
  if (lp_time_parse(s, &t)) fail_msg("bad time %s", s);
  return t;
}

static void setup_hours(lp_bizhours *h, const char *json, lp_tz *tz) {
  json_t *cfg = json_loads(json, 0, NULL);
  assert_non_null(cfg);
  assert_int_equal(lp_bizhours_parse(cfg, h), 1);
  json_decref(cfg);
  if (h->tz_name[0]) {
    assert_int_equal(lp_tz_load(h->tz_name, tz), 0);
    h->tz = tz;
  }
}

static void test_not_configured(void **state) {
  (void)state;
  lp_bizhours h;
  json_t *c = json_loads("{\"days\":[],\"start\":\"09:00\",\"end\":\"17:00\"}", 0, NULL);
  assert_int_equal(lp_bizhours_parse(c, &h), 0);
  json_decref(c);
  c = json_loads("{\"days\":[1],\"start\":\"17:00\",\"end\":\"09:00\"}", 0, NULL);
  assert_int_equal(lp_bizhours_parse(c, &h), 0);
  json_decref(c);
  assert_int_equal(lp_bizhours_parse(NULL, &h), 0);
  /* the calendar clock: every second, less waiting */
  assert_int_equal(lp_biz_seconds(NULL, 100, 400, 0), 300);
  lp_span w = {150, 250};
  assert_int_equal(lp_sla_elapsed(NULL, 100, 400, &w, 1), 200);
  assert_int_equal(lp_sla_target(NULL, 5), 5 * 86400);
  assert_int_equal(lp_biz_latest_start(NULL, 1000, 300), 700);
}

static void test_week_and_weekend(void **state) {
  (void)state;
  lp_bizhours h;
  setup_hours(&h, "{\"days\":[1,2,3,4,5],\"start\":\"09:00\",\"end\":\"17:00\",\"time_zone\":\"UTC\"}", NULL);
  assert_int_equal(lp_sla_target(&h, 5), 5 * 8 * H);
  /* Monday 2026-03-02 08:00 to Monday 2026-03-09 08:00: five full days */
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-02T08:00:00Z"), T("2026-03-09T08:00:00Z"), 0), 5 * 8 * H);
  /* Friday 16:00 to Monday 10:00: an hour each side of the weekend */
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-06T16:00:00Z"), T("2026-03-09T10:00:00Z"), 0), 2 * H);
  /* all inside Saturday */
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-07T09:00:00Z"), T("2026-03-07T17:00:00Z"), 0), 0);
  /* within one business day, and before it opens */
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-03T10:15:00Z"), T("2026-03-03T11:00:00Z"), 0), 45 * 60);
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-03T06:00:00Z"), T("2026-03-03T08:59:00Z"), 0), 0);
  /* a cap stops counting early but never below the cap */
  int64_t capped = lp_biz_seconds(&h, T("2026-01-05T00:00:00Z"), T("2026-12-31T00:00:00Z"), 10 * H);
  assert_true(capped >= 10 * H && capped < 20 * H);
}

static void test_holidays(void **state) {
  (void)state;
  lp_bizhours h;
  setup_hours(&h, "{\"days\":[1,2,3,4,5],\"start\":\"09:00\",\"end\":\"17:00\",\"holidays\":[\"2026-12-25\",\"2026-12-24\",\"bad\"]}", NULL);
  assert_int_equal(h.nholidays, 2);
  /* Wednesday 23rd 16:00 .. Monday 28th 10:00: 1 h on the 23rd, Thu 24 and Fri 25 are holidays, 1 h on the 28th */
  assert_int_equal(lp_biz_seconds(&h, T("2026-12-23T16:00:00Z"), T("2026-12-28T10:00:00Z"), 0), 2 * H);
}

static void test_dst_berlin(void **state) {
  (void)state;
  lp_tz tz;
  lp_bizhours h;
  setup_hours(&h, "{\"days\":[1,2,3,4,5],\"start\":\"09:00\",\"end\":\"17:00\",\"time_zone\":\"Europe/Berlin\"}", &tz);
  /* Clocks go forward on Sunday 2026-03-29. Friday 27th 09-17 CET is 08:00-16:00Z; Monday 30th 09-17
   * CEST is 07:00-15:00Z. From Friday 15:00Z to Monday 08:00Z: 1 h + 1 h. A fixed +1 would give 1 h. */
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-27T15:00:00Z"), T("2026-03-30T08:00:00Z"), 0), 2 * H);
  /* and back on Sunday 2026-10-25: Monday 26th 09:00 CET is 08:00Z */
  assert_int_equal(lp_biz_seconds(&h, T("2026-10-26T07:00:00Z"), T("2026-10-26T09:00:00Z"), 0), 1 * H);
  /* a wall time in the gap (02:30 on the 29th) is read with the offset before: 01:30Z */
  assert_int_equal(lp_tz_utc(&tz, T("2026-03-29T02:30:00Z")), T("2026-03-29T01:30:00Z"));
  /* a wall time that happens twice (02:30 on 25 October) is its first occurrence (CEST): 00:30Z */
  assert_int_equal(lp_tz_utc(&tz, T("2026-10-25T02:30:00Z")), T("2026-10-25T00:30:00Z"));
  lp_tz_release(&tz);

  /* a whole-day clock on Sundays only: the Sunday of the change has 23 hours, the one after 24 */
  setup_hours(&h, "{\"days\":[7],\"start\":\"00:00\",\"end\":\"24:00\",\"time_zone\":\"Europe/Berlin\"}", &tz);
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-27T00:00:00Z"), T("2026-04-02T00:00:00Z"), 0), 23 * H);
  assert_int_equal(lp_biz_seconds(&h, T("2026-04-02T00:00:00Z"), T("2026-04-09T00:00:00Z"), 0), 24 * H);
  lp_tz_release(&tz);
}

static void test_dst_new_york(void **state) {
  (void)state;
  lp_tz tz;
  lp_bizhours h;
  setup_hours(&h, "{\"days\":[1,2,3,4,5],\"start\":\"09:00\",\"end\":\"17:00\",\"time_zone\":\"America/New_York\"}", &tz);
  /* 2026-03-08 forward: Friday 6th 09:00 EST = 14:00Z, Monday 9th 09:00 EDT = 13:00Z */
  assert_int_equal(lp_biz_seconds(&h, T("2026-03-06T14:00:00Z"), T("2026-03-09T14:00:00Z"), 0), 8 * H + 1 * H);
  lp_tz_release(&tz);
}

static void test_waiting(void **state) {
  (void)state;
  lp_bizhours h;
  setup_hours(&h, "{\"days\":[1,2,3,4,5],\"start\":\"09:00\",\"end\":\"17:00\"}", NULL);
  int64_t start = T("2026-03-02T09:00:00Z"), end = T("2026-03-06T17:00:00Z");  /* Mon..Fri: 40 h */
  /* waiting all of Tuesday and from Thursday noon on (still waiting) */
  lp_span w[2] = {{T("2026-03-03T00:00:00Z"), T("2026-03-04T00:00:00Z")}, {T("2026-03-05T12:00:00Z"), 0}};
  assert_int_equal(lp_sla_elapsed(&h, start, end, w, 2), 40 * H - 8 * H - (5 + 8) * H);
  /* a wait before the lead came in counts for nothing; one over a weekend costs nothing */
  lp_span early = {T("2026-03-01T00:00:00Z"), T("2026-03-02T10:00:00Z")};
  assert_int_equal(lp_sla_elapsed(&h, start, end, &early, 1), 39 * H);
  lp_span weekend = {T("2026-03-07T00:00:00Z"), T("2026-03-09T00:00:00Z")};
  assert_int_equal(lp_sla_elapsed(&h, start, T("2026-03-09T10:00:00Z"), &weekend, 1), 41 * H);
  assert_string_equal(lp_sla_state(39 * H, 40 * H, 240 * H), "ok");
  assert_string_equal(lp_sla_state(40 * H, 40 * H, 240 * H), "warning");
  assert_string_equal(lp_sla_state(240 * H, 40 * H, 240 * H), "breached");
}

static void test_inverse(void **state) {
  (void)state;
  lp_tz tz;
  lp_bizhours h;
  setup_hours(&h, "{\"days\":[1,2,3,4,5],\"start\":\"09:00\",\"end\":\"17:00\",\"time_zone\":\"Europe/Berlin\",\"holidays\":[\"2026-04-03\"]}", &tz);
  int64_t to = T("2026-04-07T11:20:00Z");
  for (int64_t need = 1; need < 30 * 8 * H; need += 7777) {
    int64_t s = lp_biz_latest_start(&h, to, need);
    assert_int_equal(lp_biz_seconds(&h, s, to, 0), need);
    assert_true(lp_biz_seconds(&h, s + 1, to, 0) <= need);
    int64_t d = lp_biz_deadline(&h, s, need);
    assert_int_equal(lp_biz_seconds(&h, s, d, 0), need);
  }
  /* 5 business days back from Tuesday 7 April 11:20Z (13:20 CEST): Good Friday the 3rd is off,
   * so 13:20 on Monday 30 March (CEST, 11:20Z) */
  assert_int_equal(lp_biz_latest_start(&h, to, 5 * 8 * H), T("2026-03-30T11:20:00Z"));
  lp_tz_release(&tz);
  /* no working day at all: never */
  lp_bizhours none = h;
  none.tz = NULL;
  none.days = 0;
  assert_true(lp_biz_latest_start(&none, to, 10) == INT64_MIN);
}

static void test_tz_load(void **state) {
  (void)state;
  lp_tz tz;
  assert_int_equal(lp_tz_load("UTC", &tz), 0);
  assert_int_equal(tz.n, 0);
  assert_int_equal(lp_tz_load("../etc/passwd", &tz), -1);
  assert_int_equal(lp_tz_load("No/Such_Zone", &tz), -1);
  assert_int_equal(lp_tz_load("Europe/Berlin", &tz), 0);
  assert_int_equal(lp_tz_offset(&tz, T("2026-01-15T12:00:00Z")), 3600);
  assert_int_equal(lp_tz_offset(&tz, T("2026-07-15T12:00:00Z")), 7200);
  assert_int_equal(lp_tz_offset(&tz, T("2026-03-29T00:59:59Z")), 3600);
  assert_int_equal(lp_tz_offset(&tz, T("2026-03-29T01:00:00Z")), 7200);
  lp_tz_release(&tz);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_not_configured), cmocka_unit_test(test_week_and_weekend), cmocka_unit_test(test_holidays),
    cmocka_unit_test(test_dst_berlin), cmocka_unit_test(test_dst_new_york), cmocka_unit_test(test_waiting),
    cmocka_unit_test(test_inverse), cmocka_unit_test(test_tz_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
