/* billing.h — the pure rules of quotes, services and invoices: lines, tax, totals, numbers.
 *
 * Money is integer cents. A line is {description, quantity, unit_price_cents, period
 * one_time|monthly, tax_rate}: tax_rate is a percentage with at most two decimals (20, 5.5),
 * kept as basis points (tax_rate_bp: 2000, 550). Rounding, stated once: each line's tax is
 * quantity × unit_price_cents × tax_rate_bp / 10000 rounded half away from zero, to the cent; the
 * totals are the sums of the lines' rounded figures (so lines always add up to the total). A
 * monthly line counts once (the first month) in subtotal, tax and total; one_time_cents and
 * monthly_cents (tax included) say which part recurs.
 * No I/O: the store reads and writes the rows.
 */
#ifndef LP_CORE_BILLING_H
#define LP_CORE_BILLING_H
#include <jansson.h>
#include <stdint.h>
#include "core/record.h"
#include "leadpath/error.h"

typedef struct lp_totals {
  int64_t subtotal_cents, tax_cents, total_cents, one_time_cents, monthly_cents;
} lp_totals;

/* Validates and normalises lines (a JSON array from a client; field names prefixed by `field`,
 * e.g. "lines" gives "lines[2].quantity"). with_start: each line may carry start_date
 * (YYYY-MM-DD; default `today`, which must then be given) and quote_id (kept). On success *out is
 * a new array of lines in stored form {description, quantity, unit_price_cents, period,
 * tax_rate_bp, subtotal_cents, tax_cents, total_cents[, start_date][, quote_id]} and t the
 * totals; otherwise 422 with every bad field named. At most 100 lines. */
lp_code lp_lines_check(json_t *in, const char *field, int with_start, const char *today, json_t **out, lp_totals *t,
                       lp_err *err);
/* The totals of lines in stored form (recomputed: a line's figures come from its own values). */
void lp_lines_totals(json_t *lines, lp_totals *t);
/* A line in stored form as the API shows it (tax_rate as a number, new reference). */
json_t *lp_line_present(json_t *line);
/* Lines in stored form as the API shows them (new reference). */
json_t *lp_lines_present(json_t *lines);
/* "INV-2026-000042" into out (at least 32 bytes). */
void lp_invoice_number(const char *series, int year, int64_t seq, char *out, size_t n);
/* The UTC calendar year and date ("YYYY-MM-DD", 11 bytes) of t. */
int lp_year_of(int64_t t);
void lp_date_of(int64_t t, char out[11]);
/* Quote status moves: new → sent → accepted | declined. 0 when allowed. */
int lp_quote_move_ok(const char *from, const char *to);

/* The customer record (input and presentation through core/record.h). */
extern const lp_rectype lp_rt_customer;
#endif
