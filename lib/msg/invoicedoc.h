/* invoicedoc.h — an invoice or proforma as a document: a PDF (libharu) and a printable HTML page.
 *
 * Both take the invoice in its API form (store/billing.h: lp_invoice_get, with "customer") and
 * the settings (company_name, company_address, company_email, company_phone, company_website),
 * and append the document to out. No I/O. The PDF's built-in Helvetica writes Windows-1252:
 * characters outside it print as '?'; the HTML page escapes every value.
 */
#ifndef LP_MSG_INVOICEDOC_H
#define LP_MSG_INVOICEDOC_H
#include <jansson.h>
#include "leadpath/error.h"
#include "util/buf.h"

lp_code lp_invoice_pdf(json_t *inv, json_t *settings, lp_buf *out, lp_err *err);
lp_code lp_invoice_html(json_t *inv, json_t *settings, lp_buf *out, lp_err *err);
/* A quote (its API form, store/billing.h) as a PDF offer to the lead (its row or API form: name,
 * company, emails, city, country): the same page as an invoice, headed QUOTE, dated now, valid
 * until the quote's valid_until, numbered `number` (e.g. "Q-000042"). */
lp_code lp_quote_pdf(json_t *quote, const char *number, json_t *lead, int64_t now, json_t *settings, lp_buf *out, lp_err *err);
/* "1,234.56 EUR" (negative with a leading minus) into out. */
void lp_money_format(int64_t cents, const char *currency, char *out, size_t n);
#endif
