/* invoicedoc.c — invoices as PDF (libharu) and as a printable HTML page (see invoicedoc.h). */
#include <hpdf.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "msg/invoicedoc.h"
#include "util/timefmt.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static const char *str(json_t *o, const char *k) { return sget(o, k) ? sget(o, k) : ""; }

void lp_money_format(int64_t cents, const char *currency, char *out, size_t n) {
  int neg = cents < 0;
  uint64_t v = neg ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;
  char digits[32], grouped[48];
  snprintf(digits, sizeof digits, "%llu", (unsigned long long)(v / 100));
  size_t len = strlen(digits), k = 0;
  for (size_t i = 0; i < len && k + 2 < sizeof grouped; i++) {
    if (i && (len - i) % 3 == 0) grouped[k++] = ',';
    grouped[k++] = digits[i];
  }
  grouped[k] = 0;
  snprintf(out, n, "%s%s.%02u %s", neg ? "-" : "", grouped, (unsigned)(v % 100), currency ? currency : "");
}

static void tax_text(json_t *line, char *out, size_t n) {
  json_t *t = json_object_get(line, "tax_rate");
  if (json_is_integer(t)) snprintf(out, n, "%lld%%", (long long)json_integer_value(t));
  else snprintf(out, n, "%.2f%%", json_number_value(t));
}

static const char *period_text(json_t *line) { return !strcmp(str(line, "period"), "monthly") ? "monthly" : "one-time"; }

/* The date part of an RFC 3339 time. */
static void date_text(json_t *inv, const char *k, char out[11]) {
  snprintf(out, 11, "%.10s", str(inv, k));
}

/* ---------------------------------------------------------------- PDF */

/* UTF-8 to Windows-1252 (what the built-in fonts draw): Latin-1 as is, the euro sign, '?' else. */
static void to_cp1252(const char *s, char *out, size_t n) {
  size_t k = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p && k + 1 < n) {
    uint32_t c;
    int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 1;
    if (len == 1) c = *p;
    else {
      c = *p & (0xFF >> (len + 1));
      for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) { len = i; c = '?'; break; }
        c = (c << 6) | (p[i] & 0x3F);
      }
    }
    p += len;
    char o = c < 0x20 ? ' ' : c < 0x80 ? (char)c : c == 0x20AC ? (char)0x80 : (c >= 0xA0 && c <= 0xFF) ? (char)c : '?';
    out[k++] = o;
  }
  out[k] = 0;
}

typedef struct {
  HPDF_Doc doc;
  HPDF_Page page;
  HPDF_Font font, bold;
  float y;
} pdfw;

static void text_at(pdfw *w, HPDF_Font f, float size, float x, float y, const char *utf8) {
  char t[1024];
  to_cp1252(utf8, t, sizeof t);
  HPDF_Page_BeginText(w->page);
  HPDF_Page_SetFontAndSize(w->page, f, size);
  HPDF_Page_TextOut(w->page, x, y, t);
  HPDF_Page_EndText(w->page);
}

/* Right-aligned at x. */
static void text_right(pdfw *w, HPDF_Font f, float size, float x, float y, const char *utf8) {
  char t[1024];
  to_cp1252(utf8, t, sizeof t);
  HPDF_Page_SetFontAndSize(w->page, f, size);
  float width = HPDF_Page_TextWidth(w->page, t);
  HPDF_Page_BeginText(w->page);
  HPDF_Page_TextOut(w->page, x - width, y, t);
  HPDF_Page_EndText(w->page);
}

static void new_page(pdfw *w) {
  w->page = HPDF_AddPage(w->doc);
  HPDF_Page_SetSize(w->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
  w->y = HPDF_Page_GetHeight(w->page) - 50;
}

static void table_head(pdfw *w) {
  text_at(w, w->bold, 9, 50, w->y, "Description");
  text_right(w, w->bold, 9, 330, w->y, "Qty");
  text_right(w, w->bold, 9, 410, w->y, "Unit price");
  text_at(w, w->bold, 9, 418, w->y, "Period");
  text_right(w, w->bold, 9, 490, w->y, "Tax");
  text_right(w, w->bold, 9, 545, w->y, "Amount");
  w->y -= 6;
  HPDF_Page_SetLineWidth(w->page, 0.5f);
  HPDF_Page_MoveTo(w->page, 50, w->y);
  HPDF_Page_LineTo(w->page, 545, w->y);
  HPDF_Page_Stroke(w->page);
  w->y -= 14;
}

static void on_error(HPDF_STATUS no, HPDF_STATUS detail, void *ud) {
  (void)no;
  (void)detail;
  longjmp(*(jmp_buf *)ud, 1);
}

lp_code lp_invoice_pdf(json_t *inv, json_t *settings, lp_buf *out, lp_err *err) {
  jmp_buf env;
  pdfw w = {0};
  HPDF_Doc volatile doc = HPDF_New(on_error, &env);
  if (!doc) return lp_fail(err, LP_EINTERNAL, "Could not start a PDF");
  if (setjmp(env)) {
    HPDF_Free(doc);
    return lp_fail(err, LP_EINTERNAL, "Could not render the PDF");
  }
  w.doc = doc;
  HPDF_SetCompressionMode(w.doc, HPDF_COMP_ALL);
  HPDF_SetInfoAttr(w.doc, HPDF_INFO_TITLE, str(inv, "number"));
  HPDF_SetInfoAttr(w.doc, HPDF_INFO_CREATOR, "leadpath");
  w.font = HPDF_GetFont(w.doc, "Helvetica", "WinAnsiEncoding");
  w.bold = HPDF_GetFont(w.doc, "Helvetica-Bold", "WinAnsiEncoding");
  new_page(&w);
  int proforma = !strcmp(str(inv, "kind"), "proforma");
  int quote = !strcmp(str(inv, "kind"), "quote");  /* lp_quote_pdf: the same page, worded as an offer */
  const char *cur = str(inv, "currency");
  char line[600], money[64];

  /* Heading: the kind and number; the company on the right. */
  text_at(&w, w.bold, 20, 50, w.y, quote ? "QUOTE" : proforma ? "PROFORMA INVOICE" : "INVOICE");
  const char *company = sget(settings, "company_name") && *sget(settings, "company_name") ? sget(settings, "company_name") : "";
  text_right(&w, w.bold, 11, 545, w.y, company);
  w.y -= 22;
  text_at(&w, w.font, 11, 50, w.y, str(inv, "number"));
  static const char *const cinfo[] = {"company_address", "company_email", "company_phone", "company_website"};
  float cy = w.y;
  for (size_t i = 0; i < 4; i++) if (sget(settings, cinfo[i]) && *sget(settings, cinfo[i])) { text_right(&w, w.font, 9, 545, cy, sget(settings, cinfo[i])); cy -= 12; }
  w.y -= 16;
  char d1[11], d2[11];
  date_text(inv, "issued_at", d1);
  date_text(inv, "due_at", d2);
  if (quote) snprintf(line, sizeof line, "Date: %s    Valid until: %s", d1, d2);
  else snprintf(line, sizeof line, "Issued: %s    Due: %s    Status: %s", d1, d2, str(inv, "status"));
  text_at(&w, w.font, 9, 50, w.y, line);
  w.y = (cy < w.y ? cy : w.y) - 24;

  /* Bill to. */
  json_t *c = json_object_get(inv, "customer");
  text_at(&w, w.bold, 10, 50, w.y, quote ? "Prepared for" : "Bill to");
  w.y -= 14;
  text_at(&w, w.font, 10, 50, w.y, str(c, "full_name"));
  w.y -= 13;
  if (*str(c, "company")) { text_at(&w, w.font, 10, 50, w.y, str(c, "company")); w.y -= 13; }
  const char *email = json_string_value(json_array_get(json_object_get(c, "emails"), 0));
  if (email) { text_at(&w, w.font, 10, 50, w.y, email); w.y -= 13; }
  if (*str(c, "city") || *str(c, "country")) {
    snprintf(line, sizeof line, "%s%s%s", str(c, "city"), *str(c, "city") && *str(c, "country") ? ", " : "", str(c, "country"));
    text_at(&w, w.font, 10, 50, w.y, line);
    w.y -= 13;
  }
  if (!quote) {
    snprintf(line, sizeof line, "Customer no. %lld", (long long)iget(c, "id"));
    text_at(&w, w.font, 9, 50, w.y, line);
  }
  w.y -= 28;

  /* The lines: a long description wraps onto more rows within its column. */
  table_head(&w);
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(inv, "lines"), i, l) {
    char desc[1024];
    snprintf(desc, sizeof desc, "%s", str(l, "description"));
    size_t len = strlen(desc), pos = 0;
    int first = 1;
    while (pos < len || first) {
      if (w.y < 90) { new_page(&w); table_head(&w); }
      size_t take = len - pos > 52 ? 52 : len - pos;
      if (take == 52) { size_t sp = take; while (sp > 20 && desc[pos + sp] != ' ') sp--; if (sp > 20) take = sp; }
      char part[64];
      snprintf(part, sizeof part, "%.*s", (int)take, desc + pos);
      text_at(&w, w.font, 9, 50, w.y, part);
      pos += take;
      while (pos < len && desc[pos] == ' ') pos++;
      if (first) {
        snprintf(line, sizeof line, "%lld", (long long)iget(l, "quantity"));
        text_right(&w, w.font, 9, 330, w.y, line);
        lp_money_format(iget(l, "unit_price_cents"), cur, money, sizeof money);
        text_right(&w, w.font, 9, 410, w.y, money);
        text_at(&w, w.font, 9, 418, w.y, period_text(l));
        tax_text(l, line, sizeof line);
        text_right(&w, w.font, 9, 490, w.y, line);
        lp_money_format(iget(l, "subtotal_cents"), cur, money, sizeof money);
        text_right(&w, w.font, 9, 545, w.y, money);
        first = 0;
      }
      w.y -= 13;
    }
  }
  if (w.y < 120) new_page(&w);
  w.y -= 10;
  static const struct { const char *label, *key; } sums[] = {{"Subtotal", "subtotal_cents"}, {"Tax", "tax_cents"}, {"Total", "total_cents"}};
  for (size_t k = 0; k < 3; k++) {
    HPDF_Font f = k == 2 ? w.bold : w.font;
    text_right(&w, f, 10, 440, w.y, sums[k].label);
    lp_money_format(iget(inv, sums[k].key), cur, money, sizeof money);
    text_right(&w, f, 10, 545, w.y, money);
    w.y -= 15;
  }
  w.y -= 15;
  if (quote) {
    if (iget(inv, "monthly_cents")) {
      lp_money_format(iget(inv, "monthly_cents"), cur, money, sizeof money);
      snprintf(line, sizeof line, "Of the total, %s is charged monthly (tax included).", money);
      text_at(&w, w.font, 9, 50, w.y, line);
      w.y -= 13;
    }
    snprintf(line, sizeof line, "This quote is valid until %s. Reply to accept it, quoting %s.", d2, str(inv, "number"));
    text_at(&w, w.font, 9, 50, w.y, line);
  } else if (proforma)
    text_at(&w, w.font, 9, 50, w.y, "This proforma invoice is a request for payment; the invoice follows once it is paid.");
  else if (json_is_string(json_object_get(inv, "paid_at")))
    text_at(&w, w.font, 9, 50, w.y, "Paid with thanks.");
  else {
    snprintf(line, sizeof line, "Please pay %s by %s, quoting %s.", (lp_money_format(iget(inv, "total_cents"), cur, money, sizeof money), money), d2, str(inv, "number"));
    text_at(&w, w.font, 9, 50, w.y, line);
  }

  HPDF_SaveToStream(w.doc);
  HPDF_UINT32 size = HPDF_GetStreamSize(w.doc);
  lp_code rc = LP_OK;
  if (lp_buf_reserve(out, size + 1) != 0) rc = lp_fail(err, LP_EINTERNAL, "The PDF is too large");
  else {
    HPDF_UINT32 got = size;
    HPDF_ReadFromStream(w.doc, (HPDF_BYTE *)out->data + out->len, &got);
    out->len += got;
    out->data[out->len] = 0;
  }
  HPDF_Free(w.doc);
  return rc;
}

lp_code lp_quote_pdf(json_t *quote, const char *number, json_t *lead, int64_t now, json_t *settings, lp_buf *out, lp_err *err) {
  char today[LP_TIME_LEN];
  lp_time_format(now, today);
  json_t *emails = json_object_get(lead, "emails");
  json_t *em = json_is_string(emails) ? json_loads(json_string_value(emails), 0, NULL) : json_incref(emails);
  json_t *to = json_object();
  static const char *const keys[] = {"full_name", "company", "city", "country"};
  for (size_t i = 0; i < 4; i++) json_object_set(to, keys[i], json_object_get(lead, keys[i]) ? json_object_get(lead, keys[i]) : json_null());
  json_object_set_new(to, "emails", json_is_array(em) ? em : json_array());
  if (em && !json_is_array(em)) json_decref(em);
  json_t *doc = json_object();
  json_object_set_new(doc, "kind", json_string("quote"));
  json_object_set_new(doc, "number", json_string(number));
  json_object_set_new(doc, "issued_at", json_string(today));
  json_object_set_new(doc, "customer", to);
  static const char *const copied[] = {"status", "currency", "lines", "subtotal_cents", "tax_cents", "total_cents", "monthly_cents"};
  for (size_t i = 0; i < sizeof copied / sizeof *copied; i++)
    if (json_object_get(quote, copied[i])) json_object_set(doc, copied[i], json_object_get(quote, copied[i]));
  if (json_object_get(quote, "valid_until")) json_object_set(doc, "due_at", json_object_get(quote, "valid_until"));
  lp_code rc = lp_invoice_pdf(doc, settings, out, err);
  json_decref(doc);
  return rc;
}

/* ---------------------------------------------------------------- HTML */

static void esc(lp_buf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
      case '&': lp_buf_puts(b, "&amp;"); break;
      case '<': lp_buf_puts(b, "&lt;"); break;
      case '>': lp_buf_puts(b, "&gt;"); break;
      case '"': lp_buf_puts(b, "&quot;"); break;
      case '\'': lp_buf_puts(b, "&#39;"); break;
      default: lp_buf_add(b, s, 1);
    }
  }
}

lp_code lp_invoice_html(json_t *inv, json_t *settings, lp_buf *b, lp_err *err) {
  int proforma = !strcmp(str(inv, "kind"), "proforma");
  const char *cur = str(inv, "currency");
  json_t *c = json_object_get(inv, "customer");
  char money[64], d1[11], d2[11], tax[32];
  date_text(inv, "issued_at", d1);
  date_text(inv, "due_at", d2);
  lp_buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
  esc(b, str(inv, "number"));
  lp_buf_puts(b, "</title><style>body{font:14px/1.4 system-ui,sans-serif;max-width:800px;margin:2em auto;color:#111}"
                 "table{width:100%;border-collapse:collapse}th,td{padding:4px 6px;border-bottom:1px solid #ccc;text-align:left}"
                 ".n{text-align:right}header{display:flex;justify-content:space-between}@media print{body{margin:0}}</style>"
                 "</head><body><header><div><h1>");
  lp_buf_puts(b, proforma ? "Proforma invoice" : "Invoice");
  lp_buf_puts(b, "</h1><p class=\"number\">");
  esc(b, str(inv, "number"));
  lp_buf_printf(b, "</p><p>Issued %s · due %s · ", d1, d2);
  esc(b, str(inv, "status"));
  lp_buf_puts(b, "</p></div><address>");
  static const char *const cinfo[] = {"company_name", "company_address", "company_email", "company_phone", "company_website"};
  for (size_t i = 0; i < 5; i++) if (sget(settings, cinfo[i]) && *sget(settings, cinfo[i])) { esc(b, sget(settings, cinfo[i])); lp_buf_puts(b, "<br>"); }
  lp_buf_puts(b, "</address></header><section><h2>Bill to</h2><p>");
  esc(b, str(c, "full_name"));
  if (*str(c, "company")) { lp_buf_puts(b, "<br>"); esc(b, str(c, "company")); }
  const char *email = json_string_value(json_array_get(json_object_get(c, "emails"), 0));
  if (email) { lp_buf_puts(b, "<br>"); esc(b, email); }
  lp_buf_printf(b, "<br>Customer no. %lld</p></section>", (long long)iget(c, "id"));
  lp_buf_puts(b, "<table><thead><tr><th>Description</th><th class=\"n\">Qty</th><th class=\"n\">Unit price</th><th>Period</th>"
                 "<th class=\"n\">Tax</th><th class=\"n\">Amount</th></tr></thead><tbody>");
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(inv, "lines"), i, l) {
    lp_buf_puts(b, "<tr><td>");
    esc(b, str(l, "description"));
    lp_money_format(iget(l, "unit_price_cents"), cur, money, sizeof money);
    lp_buf_printf(b, "</td><td class=\"n\">%lld</td><td class=\"n\">", (long long)iget(l, "quantity"));
    esc(b, money);
    tax_text(l, tax, sizeof tax);
    lp_buf_printf(b, "</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">", period_text(l), tax);
    lp_money_format(iget(l, "subtotal_cents"), cur, money, sizeof money);
    esc(b, money);
    lp_buf_puts(b, "</td></tr>");
  }
  lp_buf_puts(b, "</tbody><tfoot>");
  static const struct { const char *label, *key; } sums[] = {{"Subtotal", "subtotal_cents"}, {"Tax", "tax_cents"}, {"Total", "total_cents"}};
  for (size_t k = 0; k < 3; k++) {
    lp_money_format(iget(inv, sums[k].key), cur, money, sizeof money);
    lp_buf_printf(b, "<tr><th colspan=\"5\" class=\"n\">%s</th><td class=\"n\">", sums[k].label);
    esc(b, money);
    lp_buf_puts(b, "</td></tr>");
  }
  lp_buf_puts(b, "</tfoot></table>");
  if (proforma) lp_buf_puts(b, "<p>This proforma invoice is a request for payment; the invoice follows once it is paid.</p>");
  lp_buf_puts(b, "</body></html>\n");
  return b->overflow ? lp_fail(err, LP_EINTERNAL, "The page is too large") : LP_OK;
}
