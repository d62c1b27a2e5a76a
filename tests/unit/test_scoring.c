/* test_scoring.c — lib/core/scoring.c: the naive Bayes win model on histories whose answer is
 * worked out by hand in the comments, and the rule points (validation, each kind of rule, the age
 * buckets on a controlled clock). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/scoring.h"

#define DAY 86400

static lp_nb_row row(const char *source, int won, int64_t n) {
  lp_nb_row r = {{source, NULL, NULL, NULL, NULL}, won, n};
  return r;
}

/* Source 1 wins 8 of 10, source 2 wins 2 of 10; nothing else is known. W = L = 10: the prior's
 * log-odds are log(11/11) = 0. Source 1 (two values seen, k = 2): log(9/12) - log(3/12) = log 3,
 * so p = 3/4; source 2: -log 3, p = 1/4. The other features have one value (none) with [10, 10]:
 * log(11/11) - log(11/11) = 0, so they are no factor. An unseen source (k = 3): log(1/13) - log(1/13) = 0. */
static void test_nb_known_answer(void **state) {
  (void)state;
  lp_nb_row rows[] = {row("1", 1, 8), row("1", 0, 2), row("2", 1, 2), row("2", 0, 8)};
  json_t *m = lp_nb_train(rows, 4, 10);
  assert_non_null(m);
  assert_int_equal(json_integer_value(json_object_get(m, "won")), 10);
  lp_nb_factor f[3];
  int n = -1;
  const char *a[LP_NB_FEATURES] = {"1", NULL, NULL, NULL, NULL};
  double p = lp_nb_predict(m, a, f, &n);
  assert_true(fabs(p - 0.75) < 1e-12);
  assert_int_equal(n, 1);
  assert_string_equal(lp_nb_feature_names[f[0].feature], "source");
  assert_string_equal(f[0].value, "1");
  assert_true(fabs(f[0].weight - log(3)) < 1e-12);
  const char *b[LP_NB_FEATURES] = {"2", "", NULL, "", NULL};
  p = lp_nb_predict(m, b, f, &n);
  assert_true(fabs(p - 0.25) < 1e-12);
  assert_int_equal(n, 1);
  assert_true(f[0].weight < 0);
  const char *c[LP_NB_FEATURES] = {"9", NULL, NULL, NULL, NULL};
  p = lp_nb_predict(m, c, f, &n);
  assert_true(fabs(p - 0.5) < 1e-12);
  assert_int_equal(n, 0);
  json_decref(m);
}

/* Three won, one lost, no features: prior log-odds log(4/2), p = 2/3. */
static void test_nb_prior(void **state) {
  (void)state;
  lp_nb_row rows[] = {row(NULL, 1, 3), row(NULL, 0, 1)};
  json_t *m = lp_nb_train(rows, 2, 1);
  lp_nb_factor f[3];
  int n;
  const char *none[LP_NB_FEATURES] = {NULL, NULL, NULL, NULL, NULL};
  assert_true(fabs(lp_nb_predict(m, none, f, &n) - 2.0 / 3) < 1e-12);
  assert_int_equal(n, 0);
  json_decref(m);
}

/* Several features: the factors come strongest first, at most three. Source 1 as above (log 3);
 * owner 7 is on every won lead of source 1 (8 won) and owner 8 on the rest (2 won, 10 lost):
 * owner 7: log(9/12) - log(1/12) = log 9 — the strongest. */
static void test_nb_factor_order(void **state) {
  (void)state;
  lp_nb_row rows[] = {
    {{"1", NULL, NULL, NULL, "7"}, 1, 8}, {{"1", NULL, NULL, NULL, "8"}, 0, 2},
    {{"2", NULL, NULL, NULL, "8"}, 1, 2}, {{"2", NULL, NULL, NULL, "8"}, 0, 8}};
  json_t *m = lp_nb_train(rows, 4, 10);
  lp_nb_factor f[3];
  int n;
  const char *x[LP_NB_FEATURES] = {"1", NULL, NULL, NULL, "7"};
  double p = lp_nb_predict(m, x, f, &n);
  assert_int_equal(n, 2);
  assert_string_equal(lp_nb_feature_names[f[0].feature], "owner");
  assert_true(fabs(f[0].weight - log(9)) < 1e-12);
  assert_string_equal(lp_nb_feature_names[f[1].feature], "source");
  assert_true(fabs(p - 27.0 / 28) < 1e-12);  /* log-odds log 3 + log 9 = log 27 */
  json_decref(m);
}

static void test_nb_too_little(void **state) {
  (void)state;
  lp_nb_row few[] = {row("1", 1, 3), row("1", 0, 3)};
  assert_null(lp_nb_train(few, 2, 10));
  lp_nb_row one_class[] = {row("1", 1, 30)};
  assert_null(lp_nb_train(one_class, 1, 10));
}

static json_t *check(const char *text, lp_err *err) {
  json_t *b = json_loads(text, 0, NULL);
  assert_non_null(b);
  json_t *r = lp_score_rules_check(b, err);
  json_decref(b);
  return r;
}

static void test_rules_check(void **state) {
  (void)state;
  lp_err e = LP_ERR_INIT;
  json_t *r = check("{}", &e);
  assert_non_null(r);
  assert_false(lp_score_rules_enabled(r));
  json_decref(r);
  static const char *const bad[][2] = {
    {"{\"x\": 1}", "x"},
    {"{\"enabled\": 1}", "enabled"},
    {"{\"sources\": [{\"id\": 0, \"points\": 1}]}", "sources[0].id"},
    {"{\"sources\": [{\"id\": 1, \"points\": 1001}]}", "sources[0].points"},
    {"{\"stages\": [{\"id\": 2, \"points\": 1}, {\"id\": 2, \"points\": 3}]}", "stages[1].id"},
    {"{\"fields\": [{\"field\": \"shoe\", \"points\": 1}]}", "fields[0].field"},
    {"{\"recent_activity\": {\"days\": 0, \"points\": 1}}", "recent_activity.days"},
    {"{\"age\": [{\"max_days\": null, \"points\": 1}, {\"max_days\": 3, \"points\": 1}]}", "age[1].max_days"},
    {"{\"age\": [{\"max_days\": 9, \"points\": 1}, {\"max_days\": 3, \"points\": 1}]}", "age[1].max_days"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    lp_err err = LP_ERR_INIT;
    assert_null(check(bad[i][0], &err));
    assert_int_equal(err.code, LP_EVALIDATION);
    assert_non_null(json_object_get(err.fields, bad[i][1]));
    lp_err_release(&err);
  }
}

static void test_points(void **state) {
  (void)state;
  lp_err e = LP_ERR_INIT;
  json_t *rules = check("{\"enabled\": true, \"sources\": [{\"id\": 3, \"points\": 20}], \"stages\": [{\"id\": 2, \"points\": 15}],"
                        " \"fields\": [{\"field\": \"email\", \"points\": 5}, {\"field\": \"value_cents\", \"points\": 4}],"
                        " \"recent_activity\": {\"days\": 7, \"points\": 10},"
                        " \"age\": [{\"max_days\": 5, \"points\": 10}, {\"max_days\": 30, \"points\": 0}, {\"max_days\": null, \"points\": -10}]}", &e);
  assert_non_null(rules);
  int64_t now = 1000 * DAY;
  json_t *lead = json_pack("{s:i, s:i, s:s, s:s, s:I}", "source_id", 3, "stage_id", 1, "emails", "[\"a@b.c\"]", "phones", "[]",
                           "created_at", (json_int_t)(now - 2 * DAY));
  assert_int_equal(lp_score_of(rules, lead, 0, now), 20 + 5 + 10);
  assert_int_equal(lp_score_of(rules, lead, now - 7 * DAY, now), 20 + 5 + 10 + 10);  /* 7 days: still recent */
  assert_int_equal(lp_score_of(rules, lead, now - 7 * DAY - 1, now), 35);
  json_object_set_new(lead, "stage_id", json_integer(2));
  json_object_set_new(lead, "value_cents", json_integer(0));  /* 0 is a value given */
  assert_int_equal(lp_score_of(rules, lead, 0, now), 20 + 15 + 5 + 4 + 10);
  json_object_set_new(lead, "created_at", json_integer(now - 30 * DAY));
  assert_int_equal(lp_score_of(rules, lead, 0, now), 44);  /* 30 days: the second bucket, 0 */
  json_object_set_new(lead, "created_at", json_integer(now - 31 * DAY));
  assert_int_equal(lp_score_of(rules, lead, 0, now), 34);
  json_object_set_new(lead, "closed_at", json_integer(now - 29 * DAY));  /* a closed lead's age stops */
  assert_int_equal(lp_score_of(rules, lead, 0, now), 54);
  json_object_set_new(rules, "enabled", json_false());
  assert_int_equal(lp_score_of(rules, lead, 0, now), 0);
  json_decref(lead);
  json_decref(rules);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_nb_known_answer), cmocka_unit_test(test_nb_prior), cmocka_unit_test(test_nb_factor_order),
    cmocka_unit_test(test_nb_too_little), cmocka_unit_test(test_rules_check), cmocka_unit_test(test_points),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
