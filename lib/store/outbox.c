/* outbox.c — see outbox.h. */
#include <stdlib.h>
#include <string.h>
#include "jobs/jobs.h"
#include "msg/mime.h"
#include "msg/template.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/notify.h"
#include "store/outbox.h"
#include "store/rows.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

lp_code lp_outbox_thread_open(lp_db *db, const lp_actor *a, int64_t lead_id, const char *channel, const char *subject,
                              const char *chat_token_hash, int64_t now, int64_t *thread_id, lp_err *err) {
  char token[LP_REPLY_TOKEN_LEN];
  lp_reply_token_new(token);
  json_t *cols = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s?, s:I}", "lead_id", (json_int_t)lead_id, "channel", channel, "status", "open",
                           "opened_at", (json_int_t)now, "token", token, "subject", subject, "last_message_at", (json_int_t)now);
  if (a->id > 0) json_object_set_new(cols, "opened_by", json_integer(a->id));
  if (chat_token_hash) json_object_set_new(cols, "chat_token_hash", json_string(chat_token_hash));
  lp_code rc = lp_insert(db, "threads", cols, thread_id, err);
  json_decref(cols);
  return rc;
}

json_t *lp_template_vars(lp_db *db, json_t *lead_row, const lp_actor *a, lp_err *err) {
  json_t *settings = lp_settings_get(db, err);
  if (!settings) return NULL;
  json_t *company = json_object();
  static const char *keys[] = {"name", "email", "phone", "website", "address"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    char k[32];
    snprintf(k, sizeof k, "company_%s", keys[i]);
    json_t *v = json_object_get(settings, k);
    json_object_set(company, keys[i], v ? v : json_null());
  }
  json_decref(settings);
  json_t *lead = lp_lead_present(lead_row, 0, (lp_sla_cfg){5, 30});
  json_t *user = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)a->id, "name", a->name, "email", a->email);
  return json_pack("{s:o, s:o, s:o}", "lead", lead, "user", user, "company", company);
}

/* Fills subject and body of cols from the active template of kind on channel; 0 when there is none. */
static int render_kind(lp_db *db, json_t *cols, json_t *lead, const lp_actor *a, const char *kind, const char *channel, lp_err *err) {
  json_t *args = json_pack("[s, s]", kind, channel);
  json_t *t = lp_query_one(db, "SELECT subject, body FROM templates WHERE kind = $1 AND channel = $2 AND active = 1 ORDER BY id LIMIT 1", args, err);
  json_decref(args);
  if (!t) return 0;
  json_t *vars = lp_template_vars(db, lead, a, err);
  lp_buf sub = LP_BUF_INIT(4096), body = LP_BUF_INIT(1 << 20);
  lp_err e = LP_ERR_INIT;
  int ok = vars && lp_tpl_render(sget(t, "subject") ? sget(t, "subject") : "", vars, 0, &sub, &e) == LP_OK &&
           lp_tpl_render(sget(t, "body"), vars, 0, &body, &e) == LP_OK;
  if (ok) {
    if (!strcmp(channel, "email")) json_object_set_new(cols, "subject", json_string(lp_buf_str(&sub)));
    json_object_set_new(cols, "body", json_string(lp_buf_str(&body)));
  }
  lp_err_release(&e);
  lp_buf_release(&sub);
  lp_buf_release(&body);
  json_decref(vars);
  json_decref(t);
  return ok;
}

lp_code lp_outbox_put(lp_db *db, const lp_actor *a, json_t *lead, int64_t lead_id, const lp_plan_message *m,
                      int64_t thread_id, int64_t now, int64_t *msg_id, lp_err *err) {
  json_t *cols = m->cols ? json_deep_copy(m->cols) : json_object();
  int out = !sget(cols, "direction") || !strcmp(sget(cols, "direction"), "out");
  json_object_set_new(cols, "direction", json_string(out ? "out" : "in"));
  json_object_set_new(cols, "thread_id", json_integer(thread_id));
  json_object_set_new(cols, "lead_id", json_integer(lead_id));
  json_object_set_new(cols, "channel", json_string(m->channel));
  json_object_set_new(cols, "created_at", json_integer(now));
  if (m->kind) json_object_set_new(cols, "kind", json_string(m->kind));
  if (out && a->id > 0) json_object_set_new(cols, "created_by", json_integer(a->id));
  if (!out) json_object_set_new(cols, "status", json_string("received"));
  /* The outbox rule: an e-mail or SMS is queued with a `message` job that delivers it; a chat
   * message is delivered by being stored (the visitor's widget reads it), so it is `sent` now. */
  int chat = !strcmp(m->channel, "chat");
  if (out && chat) {
    json_object_set_new(cols, "status", json_string("sent"));
    json_object_set_new(cols, "sent_at", json_integer(now));
  } else if (out) {
    json_object_set_new(cols, "status", json_string("queued"));
    if (m->kind && !sget(cols, "body") && !render_kind(db, cols, lead, a, m->kind, m->channel, err)) {
      if (err->code != LP_OK) { json_decref(cols); return err->code; }
      char why[160];
      snprintf(why, sizeof why, "No active %s template for %s", m->kind, m->channel);
      json_object_set_new(cols, "status", json_string("failed"));
      json_object_set_new(cols, "error", json_string(why));
    }
  }
  /* An e-mail has its Message-ID from the start (the domain the outbox will send it under:
   * inbound_domain, else mail_from's), so delivery needs no write of its own before the first
   * attempt, and every attempt sends the same one (jobs/deliver.c). */
  if (out && !strcmp(m->channel, "email") && !strcmp(sget(cols, "status"), "queued") && !sget(cols, "message_id")) {
    char *domain = lp_setting_text(db, "inbound_domain", err);
    char *from = domain && *domain ? NULL : lp_setting_text(db, "mail_from", err);
    const char *at = from ? strchr(from, '@') : NULL;
    char msgid[LP_MSGID_MAX];
    if (lp_mail_message_id(domain && *domain ? domain : at ? at + 1 : "localhost", msgid) == 0)
      json_object_set_new(cols, "message_id", json_string(msgid));
    free(domain);
    free(from);
    if (err->code != LP_OK) { json_decref(cols); return err->code; }
  }
  int64_t id = 0;
  lp_code rc = lp_insert(db, "messages", cols, &id, err);
  if (msg_id) *msg_id = id;
  const char *status = sget(cols, "status");
  if (rc == LP_OK && out && !strcmp(status, "queued")) {
    char ref[48];
    snprintf(ref, sizeof ref, "message:%lld", (long long)id);
    rc = lp_job_enqueue(db, "message", ref, id, NULL, now, now, a->id, 0, ref, NULL, err);
  }
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:I, s:s, s:s, s:O?, s:s?, s:O?}", "message_id", (json_int_t)id, "thread_id", (json_int_t)thread_id,
                             "channel", m->channel, "status", status, "subject", json_object_get(cols, "subject"),
                             "kind", m->kind, "matched_by", json_object_get(cols, "matched_by"));
    if (!out) json_object_set(data, "from", json_object_get(cols, "from_addr") ? json_object_get(cols, "from_addr") : json_null());
    rc = lp_event(db, now, lead_id, out ? a->id : 0, out ? "message_out" : "message_in", "message", id, data, err);
    json_decref(data);
  }
  if (rc == LP_OK) {
    json_t *args = json_pack("[I, I]", (json_int_t)thread_id, (json_int_t)now);
    rc = lp_exec(db, "UPDATE threads SET last_message_at = $2 WHERE id = $1", args, err);
    json_decref(args);
  }
  if (rc == LP_OK && out && !strcmp(status, "failed") && a->id > 0) {
    json_t *d = json_pack("{s:I, s:I, s:s}", "message_id", (json_int_t)id, "thread_id", (json_int_t)thread_id, "error", sget(cols, "error"));
    rc = lp_notify(db, a->id, "message_failed", lead_id, d, now, err);
    json_decref(d);
  }
  json_decref(cols);
  return rc;
}

lp_code lp_outbox_mark(lp_db *db, int64_t id, const char *status, const char *message_id, const char *provider_id,
                       const char *error, int64_t now, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT id, lead_id, thread_id, status, created_by, channel FROM messages WHERE id = $1", args, err);
  json_decref(args);
  if (!row) return err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No message %lld", (long long)id);
  const char *was = sget(row, "status");
  /* States only move forward: queued -> sent -> delivered; failed is final (a late "sent"
   * callback after a bounce does not undo it), and delivered is not undone by a late "sent". */
  int rank_was = !strcmp(was, "queued") ? 0 : !strcmp(was, "sent") ? 1 : 2;
  int rank_new = !strcmp(status, "queued") ? 0 : !strcmp(status, "sent") ? 1 : 2;
  lp_code rc = LP_OK;
  if (rank_new > rank_was || (!strcmp(status, "failed") && strcmp(was, "failed"))) {
    json_t *a = json_pack("[I, s, s?, s?, s?, I]", (json_int_t)id, status, message_id, provider_id, error, (json_int_t)now);
    rc = lp_exec(db, "UPDATE messages SET status = $2, message_id = COALESCE($3, message_id), provider_id = COALESCE($4, provider_id),"
                     " error = $5, attempts = attempts + 1, version = version + 1,"
                     " sent_at = CASE WHEN $2 = 'sent' THEN $6 ELSE sent_at END,"
                     " delivered_at = CASE WHEN $2 = 'delivered' THEN $6 ELSE delivered_at END WHERE id = $1", a, err);
    json_decref(a);
    /* Each new state is an event of the lead (message_sent, message_delivered, message_failed),
     * so the timeline, webhooks and the live stream (store/stream.c) follow it. */
    int failed = !strcmp(status, "failed");
    if (rc == LP_OK && (failed || !strcmp(status, "sent") || !strcmp(status, "delivered"))) {
      json_t *d = json_pack("{s:I, s:I, s:s, s:s}", "message_id", (json_int_t)id, "thread_id", (json_int_t)iget(row, "thread_id"),
                            "channel", sget(row, "channel"), "status", status);
      if (failed) json_object_set_new(d, "error", json_string(error ? error : ""));
      char kind[32];
      snprintf(kind, sizeof kind, "message_%s", status);
      rc = lp_event(db, now, iget(row, "lead_id"), 0, kind, "message", id, d, err);
      if (rc == LP_OK && failed && iget(row, "created_by") > 0) rc = lp_notify(db, iget(row, "created_by"), "message_failed", iget(row, "lead_id"), d, now, err);
      json_decref(d);
    }
  }
  json_decref(row);
  return rc;
}
