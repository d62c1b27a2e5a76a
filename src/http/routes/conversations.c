/* conversations.c — threads, messages, templates and inbound mail and SMS (store/threads.h holds
 * the rules; docs/conversations.md the behaviour). Inbound endpoints take either an API token or
 * the configured inbound secret in X-Leadpath-Inbound-Secret, so a mail or SMS provider's webhook
 * can post without a user session; the SMS provider's own form posts (/inbound/sms/provider,
 * /inbound/sms/status) are signed with the account token instead (msg/smsprovider.h). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "http/auth.h"
#include "http/routes/handlers.h"
#include "msg/mime.h"
#include "msg/smsprovider.h"
#include "store/lists.h"
#include "store/threads.h"

static lp_code reply_or_err(lp_req *r, int status, json_t *o) { return o ? lp_reply(r, status, o) : r->err.code; }

lp_code h_lead_threads(lp_req *r) {
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_threads_list(db, &r->actor, r->ids[0], &r->err) : NULL);
}

lp_code h_thread_messages(lp_req *r) {
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_thread_messages(db, &r->actor, r->ids[0], &r->err) : NULL);
}

lp_code h_lead_message_send(lp_req *r) {
  return reply_or_err(r, 202, lp_message_send(r->app->store, &r->actor, r->ids[0], r->json, r->now, &r->err));
}

lp_code h_lead_review_request(lp_req *r) {
  json_t *ch = json_object_get(r->json, "channel");
  if (ch && !json_is_null(ch) && !json_is_string(ch)) return lp_fail_field(&r->err, "channel", "must be email or sms");
  return reply_or_err(r, 202, lp_review_request(r->app->store, &r->actor, r->ids[0], json_string_value(ch), r->now, &r->err));
}

lp_code h_thread_close(lp_req *r) {
  json_t *n = json_object_get(r->json, "notify_lead");
  if (n && !json_is_null(n) && !json_is_boolean(n)) return lp_fail_field(&r->err, "notify_lead", "must be true or false");
  return reply_or_err(r, 200, lp_thread_close(r->app->store, &r->actor, r->ids[0], json_is_true(n), r->now, &r->err));
}

lp_code h_templates_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_templates_list(db, &r->err) : NULL);
}

static lp_code template_save(lp_req *r, int64_t id, int status) {
  if (!r->actor.can_manage) return lp_fail(&r->err, LP_EFORBIDDEN, "Only managers and admins may change templates");
  return reply_or_err(r, status, lp_template_save(r->app->store, &r->actor, id, r->json, r->now, &r->err));
}

lp_code h_templates_create(lp_req *r) { return template_save(r, 0, 201); }
lp_code h_template_patch(lp_req *r) { return template_save(r, r->ids[0], 200); }

/* ---------------------------------------------------------------- inbound */

/* A provider's webhook: the inbound secret, or else an ordinary API token. */
static lp_code inbound_auth(lp_req *r, const lp_actor **who) {
  const char *secret = lp_req_header(r, "X-Leadpath-Inbound-Secret");
  *who = NULL;
  if (secret) {
    lp_db *db = lp_req_db(r);
    if (!db) return r->err.code;
    if (lp_inbound_secret_ok(db, secret, &r->err)) return LP_OK;
    return r->err.code ? r->err.code : lp_fail(&r->err, LP_EUNAUTH, "Wrong inbound secret");
  }
  if (lp_auth_request(r) != LP_OK) return r->err.code;
  *who = &r->actor;
  return LP_OK;
}

static int ctype_is(lp_req *r, const char *want) {
  const char *ct = lp_req_header(r, "Content-Type");
  return ct && !strncasecmp(ct, want, strlen(want));
}

static json_t *body_json(lp_req *r) {
  if (!ctype_is(r, "application/json")) { lp_fail(&r->err, LP_EMEDIA, "Send JSON with Content-Type: application/json"); return NULL; }
  json_error_t je;
  json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    lp_fail(&r->err, LP_EBADREQ, "Malformed JSON: %s", je.text);
    return NULL;
  }
  return j;
}

lp_code h_inbound_email(lp_req *r) {
  const lp_actor *who;
  if (inbound_auth(r, &who) != LP_OK) return r->err.code;
  lp_mail_in m = {0};
  lp_code rc;
  if (ctype_is(r, "message/rfc822")) {
    rc = lp_mail_parse(r->body.data ? r->body.data : "", r->body.len, &m, &r->err);
  } else {
    json_t *j = body_json(r);
    if (!j) return r->err.code;
    rc = lp_mail_in_from_json(j, &m, &r->err);
    json_decref(j);
  }
  json_t *o = rc == LP_OK ? lp_inbound_email(r->app->store, who, &m, r->now, &r->err) : NULL;
  lp_mail_in_release(&m);
  return reply_or_err(r, 200, o);
}

lp_code h_inbound_sms(lp_req *r) {
  const lp_actor *who;
  if (inbound_auth(r, &who) != LP_OK) return r->err.code;
  json_t *j = body_json(r);
  if (!j) return r->err.code;
  static const char *keys[] = {"from", "to", "body", "message_id"};
  for (size_t i = 0; i < 4; i++) {
    json_t *v = json_object_get(j, keys[i]);
    if (v && !json_is_null(v) && !json_is_string(v)) lp_fail_field(&r->err, keys[i], "must be a string");
  }
  if (!json_is_string(json_object_get(j, "from"))) lp_fail_field(&r->err, "from", "required");
  if (!json_is_string(json_object_get(j, "body"))) lp_fail_field(&r->err, "body", "required");
  json_t *o = NULL;
  if (!r->err.code)
    o = lp_inbound_text(r->app->store, who, "sms", json_string_value(json_object_get(j, "from")), json_string_value(json_object_get(j, "to")),
                        json_string_value(json_object_get(j, "body")), json_string_value(json_object_get(j, "message_id")), r->now, &r->err);
  json_decref(j);
  return reply_or_err(r, 200, o);
}

/* ---------------------------------------------------------------- the SMS provider's own posts */

/* A provider post: a form, signed with the account token over public_url + the path. Answers the
 * decoded form, or NULL with err set (415, 400, 401: nothing is stored then). */
static json_t *provider_form(lp_req *r) {
  if (!ctype_is(r, "application/x-www-form-urlencoded")) {
    lp_fail(&r->err, LP_EMEDIA, "Send a form with Content-Type: application/x-www-form-urlencoded");
    return NULL;
  }
  lp_db *db = lp_req_db(r);
  if (!db) return NULL;
  char *token = lp_setting_text(db, "sms_token", &r->err);
  char *base = r->err.code ? NULL : lp_setting_text(db, "public_url", &r->err);
  json_t *form = NULL;
  if (r->err.code) {
  } else if (!token || !base) {
    lp_fail(&r->err, LP_EUNAUTH, "Provider posts are refused until sms_token and public_url are set");
  } else if (!(form = lp_form_decode(r->body.data ? r->body.data : "", r->body.len))) {
    lp_fail(&r->err, LP_EBADREQ, "Malformed form body");
  } else {
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') base[--n] = 0;
    lp_buf url = LP_BUF_INIT(4096);
    lp_buf_printf(&url, "%s%s", base, r->url);
    if (url.overflow || !lp_sms_signature_ok(token, lp_buf_str(&url), form, lp_req_header(r, "X-Twilio-Signature"))) {
      lp_fail(&r->err, LP_EUNAUTH, "Missing or wrong X-Twilio-Signature");
      json_decref(form);
      form = NULL;
    }
    lp_buf_release(&url);
  }
  if (token) sodium_memzero(token, strlen(token));
  free(token);
  free(base);
  return form;
}

static const char *fget(json_t *form, const char *k) {
  const char *v = json_string_value(json_object_get(form, k));
  return v && *v ? v : NULL;
}

lp_code h_inbound_sms_provider(lp_req *r) {
  json_t *form = provider_form(r);
  if (!form) return r->err.code;
  if (!fget(form, "From")) lp_fail_field(&r->err, "From", "required");
  if (!json_is_string(json_object_get(form, "Body"))) lp_fail_field(&r->err, "Body", "required");
  json_t *o = NULL;
  if (!r->err.code)
    o = lp_inbound_text(r->app->store, NULL, "sms", fget(form, "From"), fget(form, "To"), fget(form, "Body") ? fget(form, "Body") : "",
                        fget(form, "MessageSid"), r->now, &r->err);
  json_decref(form);
  return reply_or_err(r, 200, o);
}

lp_code h_inbound_sms_status(lp_req *r) {
  json_t *form = provider_form(r);
  if (!form) return r->err.code;
  const char *sid = fget(form, "MessageSid"), *st = fget(form, "MessageStatus"), *code = fget(form, "ErrorCode");
  if (!sid) lp_fail_field(&r->err, "MessageSid", "required");
  const char *status = NULL;
  if (!st) lp_fail_field(&r->err, "MessageStatus", "required");
  else if (!strcmp(st, "queued") || !strcmp(st, "accepted") || !strcmp(st, "sending")) status = "queued";
  else if (!strcmp(st, "sent")) status = "sent";
  else if (!strcmp(st, "delivered")) status = "delivered";
  else if (!strcmp(st, "undelivered") || !strcmp(st, "failed")) status = "failed";
  else lp_fail_field(&r->err, "MessageStatus", "must be queued, sent, delivered, undelivered or failed");
  json_t *o = NULL;
  if (!r->err.code) {
    char why[200] = "";
    if (!strcmp(status, "failed"))
      snprintf(why, sizeof why, "The SMS provider reported it %s%s%.40s%s", st, code ? " (error " : "", code ? code : "", code ? ")" : "");
    o = lp_sms_status(r->app->store, sid, status, why[0] ? why : NULL, r->now, &r->err);
  }
  json_decref(form);
  return reply_or_err(r, 200, o);
}
