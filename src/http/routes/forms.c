/* forms.c — web forms: the admin's /api/v1/forms (and each form's embeddable snippet), the public
 * submission POST /public/v1/forms/{key} and the portal's POST /public/v1/portal/session
 * (store/forms.h holds the rules; docs/forms.md the behaviour).
 *
 * Public calls pass the shared gate first (routes/gate.h: origins, per-address bucket, 16 KB).
 * A submission comes as a plain HTML form post (application/x-www-form-urlencoded) or as JSON. A
 * plain post from a browser is answered for a person: a 303 to the form's redirect_url, or a small
 * thank-you page — and a page saying what to correct when it is refused; everything in those
 * pages is HTML-escaped. JSON (or a form post that asks for JSON in Accept) gets JSON. A filled
 * honeypot field (`website`) gets the same success answer and nothing is stored. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http/routes/gate.h"
#include "http/routes/handlers.h"
#include "msg/formhtml.h"
#include "msg/smsprovider.h"
#include "store/forms.h"
#include "store/lists.h"

static lp_code reply_or_err(lp_req *r, int status, json_t *o) { return o ? lp_reply(r, status, o) : r->err.code; }

/* ---------------------------------------------------------------- admin */

lp_code h_forms_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_forms_list(db, &r->actor, &r->err) : NULL);
}

lp_code h_forms_create(lp_req *r) { return reply_or_err(r, 201, lp_form_create(r->app->store, &r->actor, r->json, r->now, &r->err)); }

lp_code h_form_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_form_get(db, &r->actor, r->ids[0], &r->err) : NULL);
}

lp_code h_form_patch(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  return reply_or_err(r, 200, lp_form_update(r->app->store, &r->actor, r->ids[0], r->json, expect, r->now, &r->err));
}

lp_code h_form_delete(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  if (lp_form_delete(r->app->store, &r->actor, r->ids[0], expect, r->now, &r->err) != LP_OK) return r->err.code;
  r->status = 204;
  return LP_OK;
}

/* Where leadpath is reached from the company's site: the public_url setting, else the Host this
 * request came to (over http). */
static void public_base(lp_req *r, lp_db *db, lp_buf *out) {
  lp_err e = LP_ERR_INIT;
  char *base = lp_setting_text(db, "public_url", &e);
  lp_err_release(&e);
  if (base && *base) {
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') base[--n] = 0;
    lp_buf_puts(out, base);
  } else {
    const char *host = lp_req_header(r, "Host");
    lp_buf_printf(out, "http://%s", host && *host ? host : "127.0.0.1:8080");
  }
  free(base);
}

/* {html, action}: the snippet to paste into the company's page. */
lp_code h_form_snippet(lp_req *r) {
  lp_db *db = lp_req_db(r);
  json_t *form = db ? lp_form_get(db, &r->actor, r->ids[0], &r->err) : NULL;
  if (!form) return r->err.code;
  lp_buf action = LP_BUF_INIT(4096), html = LP_BUF_INIT(256 * 1024);
  public_base(r, db, &action);
  lp_buf_puts(&action, json_string_value(json_object_get(form, "submit_path")));
  lp_form_snippet(form, lp_buf_str(&action), &html);
  json_t *o = json_pack("{s:s, s:s, s:O}", "html", lp_buf_str(&html), "action", lp_buf_str(&action), "form_id", json_object_get(form, "id"));
  lp_buf_release(&action);
  lp_buf_release(&html);
  json_decref(form);
  return lp_reply(r, 200, o);
}

/* ---------------------------------------------------------------- public */

static int ctype_is(lp_req *r, const char *want) {
  const char *ct = lp_req_header(r, "Content-Type");
  return ct && !strncasecmp(ct, want, strlen(want));
}

/* The submitted values as an object (new reference), or NULL with err (400, 415). */
static json_t *submitted(lp_req *r, int *plain) {
  const char *data = r->body.data ? r->body.data : "";
  *plain = 0;
  if (ctype_is(r, "application/x-www-form-urlencoded")) {
    const char *accept = lp_req_header(r, "Accept");
    *plain = !(accept && strstr(accept, "application/json"));
    json_t *v = lp_form_decode(data, r->body.len);
    if (!v) lp_fail(&r->err, LP_EBADREQ, "Malformed form body");
    return v;
  }
  if (r->body.len == 0 && !lp_req_header(r, "Content-Type")) return json_object();
  if (!ctype_is(r, "application/json")) {
    lp_fail(&r->err, LP_EMEDIA, "Send the form as application/x-www-form-urlencoded or application/json");
    return NULL;
  }
  json_error_t je;
  json_t *v = json_loadb(data, r->body.len, JSON_REJECT_DUPLICATES, &je);
  if (!v || !json_is_object(v)) {
    json_decref(v);
    lp_fail(&r->err, LP_EBADREQ, "Malformed JSON: the body must be one JSON object");
    return NULL;
  }
  return v;
}

static lp_code page(lp_req *r, int status, const char *title, const char *text, json_t *fields) {
  lp_buf b = LP_BUF_INIT(256 * 1024);
  lp_form_page(title, text, fields, &b);
  size_t n = b.len;
  return lp_reply_raw(r, status, "text/html; charset=utf-8", lp_buf_detach(&b), n);
}

#define THANKS_DEFAULT "Thank you. We have received your message and will get back to you soon."

/* Success, as the caller wants it: a redirect or a page for a browser's form post, else JSON. */
static lp_code thanks(lp_req *r, int plain, json_t *thank_you, json_t *redirect) {
  if (plain && json_is_string(redirect)) {
    lp_reply_header(r, "Location", json_string_value(redirect));
    return page(r, 303, "Thank you", "Your message was sent.", NULL);
  }
  if (plain) return page(r, 200, "Thank you", json_is_string(thank_you) ? json_string_value(thank_you) : THANKS_DEFAULT, NULL);
  return lp_reply(r, 201, json_pack("{s:s, s:s, s:O}", "status", "received", "thank_you",
                                    json_is_string(thank_you) ? json_string_value(thank_you) : THANKS_DEFAULT,
                                    "redirect_url", redirect ? redirect : json_null()));
}

/* A refusal for a browser's form post: the same status, as a page that says what to correct. */
static lp_code refused(lp_req *r, int plain) {
  if (!plain || r->err.code == LP_OK) return r->err.code ? r->err.code : LP_EINTERNAL;
  lp_code c = r->err.code;
  const char *title = c == LP_EVALIDATION ? "Please correct the form" : c == LP_ERATE ? "Please wait a moment"
                    : c == LP_ECONFLICT ? "You already have an account" : "Your form could not be sent";
  const char *text = c == LP_EVALIDATION ? "Some fields are missing or not valid:" : r->err.message[0] ? r->err.message : lp_code_message(c);
  if (c == LP_ERATE) lp_reply_header(r, "Retry-After", "60");
  lp_code rc = page(r, lp_code_status(c), title, text, c == LP_EVALIDATION ? r->err.fields : NULL);
  lp_err_release(&r->err);
  return rc;
}

lp_code h_public_form_submit(lp_req *r) {
  int plain = ctype_is(r, "application/x-www-form-urlencoded");
  if (lp_public_gate(r, "form") != LP_OK) return refused(r, plain);
  json_t *values = submitted(r, &plain);
  if (!values) return refused(r, plain);
  const char *hp = json_string_value(json_object_get(values, LP_FORM_HONEYPOT));
  if (hp && *hp) {  /* a bot: it is thanked like anyone, and nothing is stored */
    json_decref(values);
    return thanks(r, plain, NULL, NULL);
  }
  json_t *o = lp_form_submit(r->app->store, r->param, values, r->now, &r->err);
  json_decref(values);
  if (!o) return refused(r, plain);
  lp_code rc = thanks(r, plain, json_object_get(o, "thank_you"), json_object_get(o, "redirect_url"));
  json_decref(o);
  return rc;
}

lp_code h_portal_session(lp_req *r) {
  if (lp_public_gate(r, "portal") != LP_OK) return r->err.code;
  json_t *l = json_object_get(r->json, "login"), *p = json_object_get(r->json, "password");
  if (!json_is_string(l)) lp_fail_field(&r->err, "login", "required");
  if (!json_is_string(p)) lp_fail_field(&r->err, "password", "required");
  if (r->err.code) return r->err.code;
  return reply_or_err(r, 200, lp_portal_check(r->app->store, json_string_value(l), json_string_value(p), &r->err));
}
