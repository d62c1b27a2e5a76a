/* chat.c — web chat in the store (see chat.h). A chat is a thread of channel "chat": starting it
 * plans an inbound message on a new thread (core/plan.c lp_plan_inbound) carrying the hash of the
 * visitor's token; the visitor's later lines are inbound messages on that thread; leaving or
 * idling plans a thread close. All of it goes through lp_apply, like every conversation. */
#include <stdlib.h>
#include <string.h>
#include "core/plan.h"
#include "store/apply.h"
#include "store/chat.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/threads.h"
#include "store/rows.h"
#include "util/secret.h"
#include "util/valid.h"

#define IDLE_BATCH 200

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

json_t *lp_chat_origins(lp_db *db, lp_err *err) {
  json_t *row = lp_query_one(db, "SELECT value FROM settings WHERE key = 'chat_origins'", NULL, err);
  json_t *v = row && sget(row, "value") ? json_loads(sget(row, "value"), JSON_DECODE_ANY, NULL) : NULL;
  json_decref(row);
  if (!json_is_array(v)) { json_decref(v); v = json_array(); }
  return v;
}

/* The chat thread id opened by token, or NULL with 404 (no such chat, another chat's token, a
 * deleted lead: all read the same, so a token tells nothing about other chats). */
static json_t *chat_thread(lp_db *db, int64_t id, const char *token, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *t = lp_query_one(db, "SELECT t.* FROM threads t JOIN leads l ON l.id = t.lead_id"
                               " WHERE t.id = $1 AND t.channel = 'chat' AND l.deleted_at IS NULL", args, err);
  json_decref(args);
  if (!t && err->code) return NULL;
  char hash[LP_TOKEN_LEN];
  if (token && *token) lp_token_hash(token, hash);
  if (!t || !token || !*token || !sget(t, "chat_token_hash") || !lp_secret_equal(hash, sget(t, "chat_token_hash"))) {
    json_decref(t);
    lp_fail(err, LP_ENOTFOUND, "No chat %lld", (long long)id);
    return NULL;
  }
  return t;
}

/* A message as the visitor sees it. */
static json_t *visitor_form(json_t *r) {
  const char *dir = sget(r, "direction");
  json_t *name = json_object_get(r, "author_name");
  return json_pack("{s:O, s:s, s:O, s:O, s:o}", "id", json_object_get(r, "id"), "from", dir && !strcmp(dir, "in") ? "visitor" : "agent",
                   "author_name", name && dir && strcmp(dir, "in") ? name : json_null(),
                   "body", json_object_get(r, "body") ? json_object_get(r, "body") : json_null(),
                   "created_at", lp_json_time(json_object_get(r, "created_at")));
}

#define VISITOR_SELECT "SELECT m.id, m.direction, m.body, m.created_at, u.name AS author_name FROM messages m" \
                       " LEFT JOIN users u ON u.id = m.created_by"

static json_t *visitor_message(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *r = lp_query_one(db, VISITOR_SELECT " WHERE m.id = $1", args, err);
  json_decref(args);
  if (!r) return NULL;
  json_t *o = visitor_form(r);
  json_decref(r);
  return o;
}

json_t *lp_chat_messages(lp_db *db, int64_t chat_id, const char *token, lp_err *err) {
  json_t *t = chat_thread(db, chat_id, token, err);
  if (!t) return NULL;
  json_decref(t);
  json_t *args = json_pack("[I]", (json_int_t)chat_id);
  json_t *rows = lp_query(db, VISITOR_SELECT " WHERE m.thread_id = $1 ORDER BY m.id LIMIT 2000", args, err);
  json_decref(args);
  return rows ? lp_page_of(rows, visitor_form) : NULL;
}

/* ---------------------------------------------------------------- starting and writing */

typedef struct {
  const char *name, *email, *phone, *body, *hash;
  int64_t leads[8];
  int nleads;
  int64_t now;
  int64_t chat_id, message_id;   /* answered */
} start_ctx;

/* Stores the visitor's line on thread_id (0: a new chat thread carrying hash) of lead, through
 * the planner and the applier; answers the thread and the message. */
static lp_code put_line(lp_db *db, json_t *lead, int64_t thread_id, const char *hash, const char *from, const char *body,
                        const char *matched_by, int64_t now, int64_t *out_thread, int64_t *out_msg, lp_err *err) {
  lp_actor sys = {0};
  json_t *facts = json_pack("{s:s, s:s, s:s, s:s}", "channel", "chat", "from_addr", from, "body", body, "matched_by", matched_by);
  lp_plan_in in = {0};
  in.actor = &sys;
  in.now = now;
  in.lead = lead;
  lp_plan plan;
  lp_code rc = lp_plan_inbound(&in, facts, thread_id, 0, &plan, err);
  if (rc == LP_OK) {
    plan.thread_open.chat_token_hash = hash;
    lp_applied out = {0};
    rc = lp_apply(db, &sys, lead, &plan, NULL, now, &out, err);
    *out_thread = out.thread_id;
    *out_msg = out.message_id;
  }
  lp_plan_release(&plan);
  json_decref(facts);
  return rc;
}

static lp_code start_fn(lp_db *db, void *p, lp_err *err) {
  start_ctx *c = p;
  c->chat_id = c->message_id = 0;
  lp_actor sys = {0};
  json_t *lead = NULL;
  const char *matched = "address";
  for (int i = 0; i < c->nleads && !lead; i++) {
    lead = lp_lead_row(db, c->leads[i], err);
    if (!lead && err->code != LP_ENOTFOUND) return err->code;
    if (!lead) lp_err_release(err);
  }
  if (!lead) {
    matched = "new_lead";
    int64_t owner = lp_inbound_owner(db, err);
    if (err->code) return err->code;
    int64_t source = lp_query_int(db, "SELECT id FROM sources WHERE name = 'Chat'", NULL, 0, err);
    if (err->code) return err->code;
    json_t *cols = json_pack("{s:s, s:s}", "full_name", c->name, "request", c->body);
    if (c->email) json_object_set_new(cols, "emails", json_pack("[s]", c->email));
    if (c->phone) json_object_set_new(cols, "phones", json_pack("[s]", c->phone));
    const char *list[] = {"emails", "phones"};
    for (int i = 0; i < 2; i++) {  /* address lists are stored as JSON text */
      json_t *v = json_object_get(cols, list[i]);
      if (!v) continue;
      char *txt = json_dumps(v, JSON_COMPACT);
      json_object_set_new(cols, list[i], json_string(txt));
      free(txt);
    }
    if (owner > 0) json_object_set_new(cols, "owner_id", json_integer(owner));
    if (source > 0) json_object_set_new(cols, "source_id", json_integer(source));
    int64_t id = 0;
    lp_code rc = lp_lead_create_tx(db, &sys, cols, c->now, &id, err);
    json_decref(cols);
    if (rc != LP_OK) return rc;
    lead = lp_lead_row(db, id, err);
    if (!lead) return err->code;
  }
  const char *from = c->email ? c->email : c->phone ? c->phone : "web chat";
  lp_code rc = put_line(db, lead, 0, c->hash, from, c->body, matched, c->now, &c->chat_id, &c->message_id, err);
  json_decref(lead);
  return rc;
}

static int body_ok(const char *body, const char *field, lp_err *err) {
  if (!body || !*body) { lp_fail_field(err, field, "required"); return 0; }
  if (strlen(body) > LP_CHAT_MESSAGE_MAX) { lp_fail_field(err, field, "too long (at most 4,096 bytes)"); return 0; }
  return 1;
}

json_t *lp_chat_start(lp_store *s, json_t *in, int64_t now, lp_err *err) {
  if (!json_is_object(in)) { lp_fail(err, LP_EVALIDATION, "The body must be a JSON object"); return NULL; }
  static const char *keys[] = {"name", "email", "phone", "message"};
  for (size_t i = 0; i < 4; i++) {
    json_t *v = json_object_get(in, keys[i]);
    if (v && !json_is_null(v) && !json_is_string(v)) lp_fail_field(err, keys[i], "must be a string");
  }
  if (err->code) return NULL;
  const char *name = json_string_value(json_object_get(in, "name"));
  const char *email = json_string_value(json_object_get(in, "email"));
  const char *phone = json_string_value(json_object_get(in, "phone"));
  const char *body = json_string_value(json_object_get(in, "message"));
  char em[LP_EMAIL_BUFSZ], ph[LP_PHONE_BUFSZ];
  if (!name || !*name) lp_fail_field(err, "name", "required");
  else if (strlen(name) > 200) lp_fail_field(err, "name", "too long (at most 200 characters)");
  if (email && *email) {
    if (lp_email_normalize(email, em, sizeof em) != 0) lp_fail_field(err, "email", "not an email address");
    email = em;
  } else email = NULL;
  if (phone && *phone) {
    if (lp_phone_normalize(phone, NULL, ph, sizeof ph) != 0) lp_fail_field(err, "phone", "must be a phone number in E.164 (+...)");
    phone = ph;
  } else phone = NULL;
  body_ok(body, "message", err);
  if (err->code) return NULL;
  start_ctx c = {0};
  c.name = name;
  c.email = email;
  c.phone = phone;
  c.body = body;
  c.now = now;
  if (email) c.nleads = lp_leads_by_address(s, "email", email, c.leads, 8, err);
  if (c.nleads == 0 && phone) c.nleads = lp_leads_by_address(s, "phone", phone, c.leads, 8, err);
  if (c.nleads < 0) return NULL;
  char token[LP_TOKEN_LEN], hash[LP_TOKEN_LEN];
  lp_token_new(token);
  lp_token_hash(token, hash);
  c.hash = hash;
  if (lp_store_write(s, start_fn, &c, err) != LP_OK) return NULL;
  return json_pack("{s:I, s:s}", "chat_id", (json_int_t)c.chat_id, "token", token);
}

typedef struct { int64_t id; const char *token, *body; int64_t now, message_id; } post_ctx;

static lp_code post_fn(lp_db *db, void *p, lp_err *err) {
  post_ctx *c = p;
  c->message_id = 0;
  json_t *t = chat_thread(db, c->id, c->token, err);
  if (!t) return err->code;
  lp_code rc = LP_OK;
  json_t *lead = NULL;
  if (strcmp(sget(t, "status") ? sget(t, "status") : "", "open")) rc = lp_fail(err, LP_ECONFLICT, "This chat is closed; start a new one");
  else if (!(lead = lp_lead_row(db, iget(t, "lead_id"), err))) rc = err->code;
  if (rc == LP_OK) {
    /* the address the chat started from, kept on its first message */
    json_t *args = json_pack("[I]", (json_int_t)c->id);
    json_t *first = lp_query_one(db, "SELECT from_addr FROM messages WHERE thread_id = $1 AND direction = 'in' ORDER BY id LIMIT 1", args, err);
    json_decref(args);
    int64_t tid = 0;
    rc = put_line(db, lead, c->id, NULL, first && sget(first, "from_addr") ? sget(first, "from_addr") : "web chat", c->body,
                  "chat_token", c->now, &tid, &c->message_id, err);
    json_decref(first);
  }
  json_decref(lead);
  json_decref(t);
  return rc;
}

json_t *lp_chat_post(lp_store *s, int64_t chat_id, const char *token, const char *body, int64_t now, lp_err *err) {
  if (!body_ok(body, "message", err)) return NULL;
  post_ctx c = {chat_id, token, body, now, 0};
  if (lp_store_write(s, post_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? visitor_message(db, c.message_id, err) : NULL;
}

/* ---------------------------------------------------------------- leaving and idling */

/* Closes the open chat thread t (a row) through the planner; by: "lead" or "idle". */
static lp_code close_chat(lp_db *db, json_t *t, const char *by, int64_t now, lp_err *err) {
  json_t *lead = lp_lead_row(db, iget(t, "lead_id"), err);
  if (!lead) return err->code;
  lp_actor sys = {0};
  lp_plan_in in = {0};
  in.actor = &sys;
  in.now = now;
  in.lead = lead;
  in.thread = t;
  lp_plan plan;
  lp_code rc = lp_plan_thread_close(&in, 0, &plan, err);
  for (size_t i = 0; rc == LP_OK && i < plan.timeline.n; i++)
    if (!strcmp(plan.timeline.v[i].kind, "thread_closed")) json_object_set_new(plan.timeline.v[i].data, "by", json_string(by));
  lp_applied out;
  if (rc == LP_OK) rc = lp_apply(db, &sys, lead, &plan, NULL, now, &out, err);
  lp_plan_release(&plan);
  json_decref(lead);
  return rc;
}

typedef struct { int64_t id; const char *token; int64_t now; } leave_ctx;

static lp_code leave_fn(lp_db *db, void *p, lp_err *err) {
  leave_ctx *c = p;
  json_t *t = chat_thread(db, c->id, c->token, err);
  if (!t) return err->code;
  /* leaving twice (the page's beacon after the close button) is no error */
  lp_code rc = strcmp(sget(t, "status") ? sget(t, "status") : "", "open") ? LP_OK : close_chat(db, t, "lead", c->now, err);
  json_decref(t);
  return rc;
}

lp_code lp_chat_close(lp_store *s, int64_t chat_id, const char *token, int64_t now, lp_err *err) {
  leave_ctx c = {chat_id, token, now};
  return lp_store_write(s, leave_fn, &c, err);
}

lp_code lp_chat_close_idle(lp_db *db, int64_t now, int *closed, int *more, lp_err *err) {
  *closed = *more = 0;
  int64_t idle = lp_setting_int(db, "chat_idle_minutes", 30, err);
  if (idle <= 0) idle = 30;
  if (err->code) return err->code;
  json_t *args = json_pack("[I, i]", (json_int_t)(now - idle * 60), IDLE_BATCH + 1);
  json_t *rows = lp_query(db, "SELECT * FROM threads WHERE channel = 'chat' AND status = 'open' AND last_message_at < $1"
                              " ORDER BY last_message_at, id LIMIT $2", args, err);
  json_decref(args);
  if (!rows) return err->code;
  lp_code rc = LP_OK;
  size_t i;
  json_t *t;
  json_array_foreach(rows, i, t) {
    if (i == IDLE_BATCH) { *more = 1; break; }
    if ((rc = close_chat(db, t, "idle", now, err)) != LP_OK) break;
    (*closed)++;
  }
  json_decref(rows);
  return rc;
}
