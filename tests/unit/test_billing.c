/* test_billing.c — unit tests for lib/core/billing (lines, tax rounding, totals, numbers, quote
 * moves) and the conversion planner (lp_plan_convert) with the rules it brings to updates and
 * reopening. Pure: rows built by hand, a fixed NOW. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/billing.h"
#include "core/plan.h"
#include "core/policy.h"

#define NOW INT64_C(1800000000) /* 2027-01-15T08:00:00Z */

static json_t *J(const char *s) {
  json_error_t e;
  json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
  if (!v) fail_msg("bad test JSON (%s): %s", e.text, s);
  return v;
}
static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void test_lines_rounding_and_totals(void **state) {
  (void)state;
  json_t *in = J("[{\"description\": \" Install \", \"quantity\": 3, \"unit_price_cents\": 333, \"tax_rate\": 20},"
                 " {\"description\": \"Fibre\", \"unit_price_cents\": 1005, \"period\": \"monthly\", \"tax_rate\": 5.5},"
                 " {\"description\": \"Discount\", \"unit_price_cents\": -5, \"tax_rate\": 10}]");
  json_t *out;
  lp_totals t;
  lp_err err = LP_ERR_INIT;
  assert_int_equal(lp_lines_check(in, "lines", 0, NULL, &out, &t, &err), LP_OK);
  assert_string_equal(sget(json_array_get(out, 0), "description"), "Install");
  assert_int_equal(iget(json_array_get(out, 0), "tax_cents"), 200);   /* 199.8 */
  assert_int_equal(iget(json_array_get(out, 1), "tax_cents"), 55);    /* 55.275 */
  assert_int_equal(iget(json_array_get(out, 1), "tax_rate_bp"), 550);
  assert_int_equal(iget(json_array_get(out, 2), "tax_cents"), -1);    /* -0.5: half away from zero */
  assert_int_equal(t.subtotal_cents, 999 + 1005 - 5);
  assert_int_equal(t.tax_cents, 200 + 55 - 1);
  assert_int_equal(t.total_cents, 1199 + 1060 - 6);
  assert_int_equal(t.monthly_cents, 1060);
  assert_int_equal(t.one_time_cents, 1199 - 6);
  json_t *shown = lp_line_present(json_array_get(out, 1));
  assert_true(json_is_real(json_object_get(shown, "tax_rate")));
  assert_null(json_object_get(shown, "tax_rate_bp"));
  json_decref(shown);
  json_decref(out);
  json_decref(in);
}

static void test_lines_refusals_name_every_field(void **state) {
  (void)state;
  json_t *in = J("[{\"description\": \"\", \"unit_price_cents\": 1}, {\"description\": \"x\", \"quantity\": 0,"
                 " \"unit_price_cents\": 1.5, \"period\": \"weekly\", \"tax_rate\": 1.234, \"start_date\": \"2027-02-30x\"}]");
  json_t *out;
  lp_totals t;
  lp_err err = LP_ERR_INIT;
  assert_int_equal(lp_lines_check(in, "services", 1, "2027-01-15", &out, &t, &err), LP_EVALIDATION);
  assert_null(out);
  const char *want[] = {"services[0].description", "services[1].quantity", "services[1].unit_price_cents",
                        "services[1].period", "services[1].tax_rate", "services[1].start_date"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    if (!json_object_get(err.fields, want[i])) fail_msg("field %s not named", want[i]);
  lp_err_release(&err);
  json_decref(in);
  /* a negative total is refused; an empty list too */
  in = J("[{\"description\": \"x\", \"unit_price_cents\": -1}]");
  assert_int_equal(lp_lines_check(in, "lines", 0, NULL, &out, &t, &err), LP_EVALIDATION);
  lp_err_release(&err);
  json_decref(in);
  in = J("[]");
  assert_int_equal(lp_lines_check(in, "lines", 0, NULL, &out, &t, &err), LP_EVALIDATION);
  lp_err_release(&err);
  json_decref(in);
}

static void test_numbers_and_quote_moves(void **state) {
  (void)state;
  char n[32];
  lp_invoice_number("INV", 2027, 42, n, sizeof n);
  assert_string_equal(n, "INV-2027-000042");
  assert_int_equal(lp_year_of(NOW), 2027);
  char d[11];
  lp_date_of(NOW, d);
  assert_string_equal(d, "2027-01-15");
  assert_int_equal(lp_quote_move_ok("new", "sent"), 0);
  assert_int_equal(lp_quote_move_ok("sent", "accepted"), 0);
  assert_int_equal(lp_quote_move_ok("sent", "declined"), 0);
  assert_int_not_equal(lp_quote_move_ok("new", "accepted"), 0);
  assert_int_not_equal(lp_quote_move_ok("accepted", "declined"), 0);
  assert_int_not_equal(lp_quote_move_ok("declined", "sent"), 0);
}

/* ---- conversion ---- */

static json_t *lead_row(void) {
  return J("{\"id\": 7, \"version\": 3, \"full_name\": \"Carla\", \"company\": \"Co\", \"login\": \"carla\","
           " \"emails\": \"[\\\"c@example.com\\\"]\", \"phones\": \"[]\", \"partner_id\": 2, \"location_id\": null,"
           " \"owner_id\": 5, \"country\": \"FR\", \"region\": null, \"city\": \"Lyon\", \"email_opt_out\": 1, \"sms_opt_out\": 0,"
           " \"status\": \"open\", \"stage_id\": 1, \"groups\": [], \"created_at\": 1790000000, \"customer_id\": null}");
}

typedef struct { lp_actor a; json_t *lead, *outcome, *quotes, *tasks, *threads, *groups; lp_plan_in in; } fx;

static void fx_init(fx *f, const char *policy) {
  memset(f, 0, sizeof *f);
  f->a.id = 5;
  json_t *p = policy ? J(policy) : NULL;
  lp_actor_set_policy(&f->a, "agent", p);
  json_decref(p);
  f->lead = lead_row();
  f->outcome = J("{\"key\": \"converted\", \"name\": \"Converted\", \"kind\": \"won\", \"active\": 1}");
  f->quotes = J("[{\"id\": 11, \"status\": \"accepted\", \"currency\": \"USD\", \"lines\":"
                " \"[{\\\"description\\\":\\\"Fibre\\\",\\\"quantity\\\":1,\\\"unit_price_cents\\\":1000,\\\"period\\\":\\\"monthly\\\",\\\"tax_rate_bp\\\":2000}]\"}]");
  f->tasks = J("[{\"id\": 1, \"title\": \"Later\", \"due_at\": 1900000000}]");
  f->threads = J("[{\"id\": 4, \"channel\": \"email\"}]");
  f->groups = J("[]");
  f->in.lead = f->lead;
  f->in.actor = &f->a;
  f->in.now = NOW;
  f->in.outcome = f->outcome;
  f->in.tasks = f->tasks;
  f->in.threads = f->threads;
  f->in.known_groups = f->groups;
}

static void fx_release(fx *f) {
  json_decref(f->lead);
  json_decref(f->outcome);
  json_decref(f->quotes);
  json_decref(f->tasks);
  json_decref(f->threads);
  json_decref(f->groups);
}

static int has_event(const lp_plan *p, const char *kind) {
  for (size_t i = 0; i < p->timeline.n; i++) if (!strcmp(p->timeline.v[i].kind, kind)) return 1;
  return 0;
}

static void test_convert_plans_customer_services_invoice(void **state) {
  (void)state;
  fx f;
  fx_init(&f, NULL);
  lp_convert cv = {"active_invoice", f.quotes, NULL, "EUR", 14};
  lp_plan plan;
  lp_err err = LP_ERR_INIT;
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_OK);
  assert_int_equal(plan.kind, LP_PLAN_CONVERT);
  assert_false(plan.approval_required);
  assert_string_equal(sget(plan.lead, "status"), "closed");
  assert_string_equal(sget(plan.lead, "outcome"), "converted");
  json_t *c = plan.convert.customer;
  assert_string_equal(sget(c, "full_name"), "Carla");
  assert_string_equal(sget(c, "login"), "carla");
  assert_int_equal(iget(c, "email_opt_out"), 1);
  assert_int_equal(iget(c, "partner_id"), 2);
  assert_int_equal(iget(c, "owner_id"), 5);
  assert_int_equal(iget(c, "active"), 1);
  assert_int_equal(iget(c, "lead_id"), 7);
  assert_string_equal(sget(c, "currency"), "USD");   /* the quote's, not the setting's */
  assert_int_equal(json_array_size(plan.convert.services), 1);
  json_t *s = json_array_get(plan.convert.services, 0);
  assert_string_equal(sget(s, "start_date"), "2027-01-15");
  assert_int_equal(iget(s, "quote_id"), 11);
  json_t *inv = plan.convert.invoice;
  assert_string_equal(sget(inv, "kind"), "invoice");
  assert_string_equal(sget(inv, "series"), "INV");
  assert_int_equal(iget(inv, "total_cents"), 1200);
  assert_int_equal(iget(inv, "due_at"), NOW + 14 * 86400);
  assert_int_equal(iget(inv, "year"), 2027);
  /* the close's own side effects: the future task cancelled, the thread closed */
  assert_int_equal(plan.tasks_cancelled.n, 1);
  assert_int_equal(plan.threads_closed.n, 1);
  assert_true(has_event(&plan, "closed"));
  assert_true(has_event(&plan, "converted"));
  json_t *wire = lp_plan_json(&plan);
  assert_true(json_is_array(json_object_get(json_object_get(wire, "customer"), "emails")));
  assert_true(json_is_object(json_object_get(wire, "invoice")));
  json_decref(wire);
  lp_plan_release(&plan);
  fx_release(&f);
}

static void test_convert_proforma_and_refusals(void **state) {
  (void)state;
  fx f;
  fx_init(&f, NULL);
  lp_plan plan;
  lp_err err = LP_ERR_INIT;
  lp_convert cv = {"inactive_proforma", f.quotes, NULL, "EUR", 14};
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_OK);
  assert_int_equal(iget(plan.convert.customer, "active"), 0);
  assert_string_equal(sget(plan.convert.invoice, "series"), "PRO");
  lp_plan_release(&plan);
  cv.mode = "free";
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_EVALIDATION);
  lp_plan_release(&plan);
  lp_err_release(&err);
  /* a declined quote, nothing to convert */
  cv.mode = "active_invoice";
  json_object_set_new(json_array_get(f.quotes, 0), "status", json_string("declined"));
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_EVALIDATION);
  lp_plan_release(&plan);
  lp_err_release(&err);
  json_t *none = json_array();
  cv.quotes = none;
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_EVALIDATION);
  lp_plan_release(&plan);
  lp_err_release(&err);
  json_decref(none);
  /* converted already; closed */
  cv.quotes = f.quotes;
  json_object_set_new(json_array_get(f.quotes, 0), "status", json_string("accepted"));
  json_object_set_new(f.lead, "customer_id", json_integer(3));
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_ECONFLICT);
  lp_plan_release(&plan);
  lp_err_release(&err);
  json_object_set_new(f.lead, "customer_id", json_null());
  json_object_set_new(f.lead, "status", json_string("closed"));
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_ECONFLICT);
  lp_plan_release(&plan);
  lp_err_release(&err);
  fx_release(&f);
}

static void test_convert_policy(void **state) {
  (void)state;
  fx f;
  fx_init(&f, "{\"convert\": \"deny\"}");
  lp_plan plan;
  lp_err err = LP_ERR_INIT;
  lp_convert cv = {"active_invoice", f.quotes, NULL, "EUR", 14};
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_EFORBIDDEN);
  lp_plan_release(&plan);
  lp_err_release(&err);
  fx_release(&f);
  /* request: a plan that asks for approval, even where the role may not close as won itself */
  fx_init(&f, "{\"convert\": \"request\", \"close_won\": \"deny\"}");
  cv.quotes = f.quotes;
  assert_int_equal(lp_plan_convert(&f.in, &cv, &plan, &err), LP_OK);
  assert_true(plan.approval_required);
  lp_plan_release(&plan);
  fx_release(&f);
}

static void test_converted_lead_contact_read_only(void **state) {
  (void)state;
  fx f;
  fx_init(&f, NULL);
  json_object_set_new(f.lead, "customer_id", json_integer(3));
  json_object_set_new(f.lead, "status", json_string("closed"));
  json_object_set_new(f.lead, "notes", json_null());
  lp_plan plan;
  lp_err err = LP_ERR_INIT;
  json_t *cols = J("{\"full_name\": \"Someone\"}");
  assert_int_equal(lp_plan_update(&f.in, cols, &plan, &err), LP_ECONFLICT);
  assert_non_null(json_object_get(err.fields, "full_name"));
  lp_plan_release(&plan);
  lp_err_release(&err);
  json_decref(cols);
  cols = J("{\"notes\": \"still fine\", \"full_name\": \"Carla\"}");  /* the same name is no change */
  assert_int_equal(lp_plan_update(&f.in, cols, &plan, &err), LP_OK);
  lp_plan_release(&plan);
  json_decref(cols);
  assert_int_equal(lp_plan_reopen(&f.in, &plan, &err), LP_ECONFLICT);
  lp_plan_release(&plan);
  lp_err_release(&err);
  fx_release(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_lines_rounding_and_totals),
    cmocka_unit_test(test_lines_refusals_name_every_field),
    cmocka_unit_test(test_numbers_and_quote_moves),
    cmocka_unit_test(test_convert_plans_customer_services_invoice),
    cmocka_unit_test(test_convert_proforma_and_refusals),
    cmocka_unit_test(test_convert_policy),
    cmocka_unit_test(test_converted_lead_contact_read_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
