/* quotemail.c — a quote sent to its lead by e-mail with the quote as a PDF (POST
 * /api/v1/quotes/{id}/send; store/billing.h).
 *
 * The PDF is rendered before the write, from one read of the quote (rendering never holds the
 * single writer); the write checks that the quote is still that version, then plans the message
 * like any other message to the lead (lp_plan_send: opt-out and address rules, the open e-mail
 * thread or a new one), lets the one applier queue it in the outbox, stores the PDF as the
 * message's attachment (base64 text, message_attachments) and marks the quote sent, each with its
 * event, in one transaction. The `message` job (jobs/deliver.c) sends the mail with the file.
 * The text comes from the active e-mail template of kind `quote` (seeded), which may use
 * {{quote.number}}, {{quote.total}}, {{quote.valid_until}}, ...; the request may replace the
 * subject or the text. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "core/billing.h"
#include "core/plan.h"
#include "msg/invoicedoc.h"
#include "msg/template.h"
#include "store/apply.h"
#include "store/billing.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/outbox.h"
#include "store/rows.h"
#include "store/threads.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

#define PDF_MAX ((size_t)4 << 20)

/* When the quote template has been switched off: the same words, built in. */
static const char *const FALLBACK_SUBJECT = "Your quote {{quote.number}} from {{company.name}}";
static const char *const FALLBACK_BODY =
  "Hello {{lead.first_name}},\n\nPlease find our quote {{quote.number}} attached: {{quote.total}} in all, valid until "
  "{{quote.valid_until}}.\n\n{{user.name}}\n{{company.name}}";

void lp_quote_number(int64_t id, char out[24]) { snprintf(out, 24, "Q-%06lld", (long long)id); }

/* Whether a quote in this state may be sent: new or sent (again), not expired, its lead open. */
static lp_code sendable(json_t *quote, json_t *lead, int64_t now, lp_err *err) {
  const char *st = sget(quote, "status");
  if (strcmp(sget(lead, "status") ? sget(lead, "status") : "", "open"))
    return lp_fail(err, LP_ECONFLICT, "The lead is closed; its quotes are not sent any more");
  if (strcmp(st, "new") && strcmp(st, "sent"))
    return lp_fail(err, LP_ECONFLICT, "The quote was %s already; make a new quote to send another", st);
  if (iget(quote, "valid_until") < now)
    return lp_fail(err, LP_ECONFLICT, "The quote expired; extend valid_until (while new) or make a new one");
  return LP_OK;
}

typedef struct {
  const lp_actor *a;
  int64_t id, expect, version, now;
  json_t *req;
  const char *pdf64;    /* the PDF, base64 */
  size_t pdf_len;
  int64_t message_id, thread_id;
} send_ctx;

static lp_code send_fn(lp_db *db, void *p, lp_err *err) {
  send_ctx *c = p;
  c->message_id = c->thread_id = 0;
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  json_t *q = lp_query_one(db, "SELECT * FROM quotes WHERE id = $1", args, err);
  json_decref(args);
  if (!q) return err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No quote %lld", (long long)c->id);
  json_t *lead = lp_lead_row(db, iget(q, "lead_id"), err);
  lp_code rc = lead ? lp_lead_visible(db, c->a, lead, err) : err->code;
  if (rc == LP_ENOTFOUND) { lp_err_release(err); rc = lp_fail(err, LP_ENOTFOUND, "No quote %lld", (long long)c->id); }
  if (rc == LP_OK && c->expect >= 0 && iget(q, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The quote has changed (now version %lld); reload and try again", (long long)iget(q, "version"));
  if (rc == LP_OK && iget(q, "version") != c->version)
    rc = lp_fail(err, LP_EVERSION, "The quote changed while it was being prepared; send it again");
  if (rc == LP_OK) rc = sendable(q, lead, c->now, err);

  /* the text: the quote template (or the request's own words), rendered with the quote's facts */
  char number[24], total[64], subtotal[64], tax[64], until[11];
  lp_quote_number(c->id, number);
  const char *cur = sget(q, "currency");
  lp_money_format(iget(q, "total_cents"), cur, total, sizeof total);
  lp_money_format(iget(q, "subtotal_cents"), cur, subtotal, sizeof subtotal);
  lp_money_format(iget(q, "tax_cents"), cur, tax, sizeof tax);
  lp_date_of(iget(q, "valid_until"), until);
  json_t *tpl = NULL, *vars = NULL;
  lp_buf sub = LP_BUF_INIT(4096), body = LP_BUF_INIT(1 << 20);
  if (rc == LP_OK) {
    tpl = lp_query_one(db, "SELECT subject, body FROM templates WHERE kind = 'quote' AND channel = 'email' AND active = 1"
                           " ORDER BY id LIMIT 1", NULL, err);
    vars = err->code ? NULL : lp_template_vars(db, lead, c->a, err);
    rc = err->code;
  }
  if (rc == LP_OK) {
    json_object_set_new(vars, "quote", json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)c->id, "number", number,
                                                 "total", total, "subtotal", subtotal, "tax", tax, "currency", cur, "valid_until", until));
    const char *ts = sget(c->req, "subject") ? sget(c->req, "subject") : tpl && sget(tpl, "subject") ? sget(tpl, "subject") : FALLBACK_SUBJECT;
    const char *tb = sget(c->req, "body") ? sget(c->req, "body") : tpl ? sget(tpl, "body") : FALLBACK_BODY;
    rc = lp_tpl_render(ts, vars, 0, &sub, err);
    if (rc == LP_OK) rc = lp_tpl_render(tb, vars, 0, &body, err);
  }
  lp_plan plan;
  lp_plan_init(&plan, LP_PLAN_SEND);
  lp_plan_in in = {0};
  if (rc == LP_OK) {
    in.actor = c->a;
    in.now = c->now;
    in.lead = lead;
    args = json_pack("[I]", (json_int_t)iget(q, "lead_id"));
    in.threads = lp_query(db, "SELECT * FROM threads WHERE lead_id = $1 AND status = 'open' ORDER BY last_message_at, id", args, err);
    json_decref(args);
    if (!in.threads) rc = err->code;
  }
  if (rc == LP_OK) {
    lp_send m = {0};
    m.channel = "email";
    m.subject = lp_buf_str(&sub);
    m.body = lp_buf_str(&body);
    lp_plan_release(&plan);
    rc = lp_plan_send(&in, &m, &plan, err);
  }
  if (rc == LP_OK) {
    lp_applied out;
    rc = lp_apply(db, c->a, lead, &plan, NULL, c->now, &out, err);
    c->message_id = out.message_id;
    c->thread_id = out.thread_id;
  }
  if (rc == LP_OK) {
    char fname[48];
    snprintf(fname, sizeof fname, "quote-%s.pdf", number);
    json_t *cols = json_pack("{s:I, s:s, s:s, s:I, s:s}", "message_id", (json_int_t)c->message_id, "filename", fname,
                             "content_type", "application/pdf", "size", (json_int_t)c->pdf_len, "data", c->pdf64);
    int64_t aid;
    rc = lp_insert(db, "message_attachments", cols, &aid, err);
    json_decref(cols);
  }
  int again = rc == LP_OK && !strcmp(sget(q, "status"), "sent");
  if (rc == LP_OK) {
    json_t *set = json_pack("{s:s, s:I, s:I}", "status", "sent", "sent_at", (json_int_t)c->now, "updated_at", (json_int_t)c->now);
    rc = lp_update(db, "quotes", c->id, set, iget(q, "version"), err);
    json_decref(set);
  }
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:s, s:s, s:O, s:O, s:I, s:I, s:b}", "quote_id", (json_int_t)c->id, "number", number,
                             "from", sget(q, "status"), "total_cents", json_object_get(q, "total_cents"), "currency", json_object_get(q, "currency"),
                             "message_id", (json_int_t)c->message_id, "thread_id", (json_int_t)c->thread_id, "again", again);
    rc = lp_event(db, c->now, iget(q, "lead_id"), c->a->id, "quote_sent", "quote", c->id, data, err);
    json_decref(data);
  }
  lp_plan_release(&plan);
  json_decref(in.threads);
  lp_buf_release(&sub);
  lp_buf_release(&body);
  json_decref(vars);
  json_decref(tpl);
  json_decref(lead);
  json_decref(q);
  return rc;
}

json_t *lp_quote_send(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err) {
  static const char *const strs[] = {"subject", "body"};
  for (size_t i = 0; i < 2; i++) {
    json_t *v = json_object_get(req, strs[i]);
    if (v && (!json_is_string(v) || json_string_length(v) > (i ? 100000 : 300) || !json_string_length(v)))
      lp_fail_field(err, strs[i], i ? "must be a non-empty string of at most 100,000 bytes" : "must be a non-empty string of at most 300 bytes");
    else if (v) lp_tpl_check(json_string_value(v), strs[i], err);
  }
  if (err->code) return NULL;
  /* Read and render first, outside the writer. */
  lp_db *db = lp_store_reader(s, err);
  if (!db) return NULL;
  json_t *quote = lp_quote_get(db, a, id, now, err);
  if (!quote) return NULL;
  json_t *lead = lp_lead_row(db, iget(quote, "lead_id"), err);
  json_t *settings = lead ? lp_settings_get(db, err) : NULL;
  json_t *row = NULL;
  if (settings) {
    json_t *args = json_pack("[I]", (json_int_t)id);
    row = lp_query_one(db, "SELECT * FROM quotes WHERE id = $1", args, err);
    json_decref(args);
  }
  lp_buf pdf = LP_BUF_INIT(PDF_MAX);
  char *b64 = NULL;
  lp_code rc = row ? sendable(row, lead, now, err) : err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No quote %lld", (long long)id);
  if (rc == LP_OK) {
    char number[24];
    lp_quote_number(id, number);
    rc = lp_quote_pdf(quote, number, lead, now, settings, &pdf, err);
  }
  if (rc == LP_OK) {
    size_t n = sodium_base64_encoded_len(pdf.len, sodium_base64_VARIANT_ORIGINAL);
    b64 = malloc(n);
    if (!b64) rc = lp_fail(err, LP_EINTERNAL, "out of memory");
    else sodium_bin2base64(b64, n, (const unsigned char *)pdf.data, pdf.len, sodium_base64_VARIANT_ORIGINAL);
  }
  send_ctx c = {a, id, expect, iget(quote, "version"), now, req, b64, pdf.len, 0, 0};
  json_decref(row);
  json_decref(settings);
  json_decref(lead);
  json_decref(quote);
  lp_buf_release(&pdf);
  if (rc == LP_OK) rc = lp_store_write(s, send_fn, &c, err);
  free(b64);
  if (rc != LP_OK) return NULL;
  db = lp_store_reader(s, err);
  json_t *q = db ? lp_quote_get(db, a, id, now, err) : NULL;
  json_t *msg = q ? lp_message_get(db, c.message_id, err) : NULL;
  if (!msg) { json_decref(q); return NULL; }
  return json_pack("{s:o, s:o}", "quote", q, "message", msg);
}
