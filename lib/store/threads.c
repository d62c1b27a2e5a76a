/* threads.c — conversations in the store (see threads.h). Reads present rows in the API form;
 * every change loads what the planner needs inside the write, plans (core/plan.c) and applies
 * (store/apply.c), like leads.c. */
#include <stdlib.h>
#include <string.h>
#include "core/plan.h"
#include "msg/match.h"
#include "msg/template.h"
#include "store/apply.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/outbox.h"
#include "store/rows.h"
#include "store/threads.h"
#include "util/valid.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- reading */

static json_t *one_row(lp_db *db, const char *sql, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, sql, args, err);
  json_decref(args);
  return row;
}

/* The API form of a thread row (new reference). */
static json_t *thread_present(json_t *r) {
  json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(r, "id"), "version", json_object_get(r, "version"),
                        "lead_id", json_object_get(r, "lead_id"), "channel", json_object_get(r, "channel"),
                        "status", json_object_get(r, "status"), "subject", json_object_get(r, "subject") ? json_object_get(r, "subject") : json_null());
  const char *times[] = {"opened_at", "closed_at", "last_message_at"};
  for (int i = 0; i < 3; i++) json_object_set_new(o, times[i], lp_json_time(json_object_get(r, times[i])));
  json_object_set(o, "closed_by", json_object_get(r, "closed_by") ? json_object_get(r, "closed_by") : json_null());
  json_object_set(o, "opened_by", json_object_get(r, "opened_by") ? json_object_get(r, "opened_by") : json_null());
  return o;
}

static json_t *message_present(json_t *r) {
  static const struct { const char *api, *col; } plain[] = {
    {"id", "id"}, {"thread_id", "thread_id"}, {"lead_id", "lead_id"}, {"direction", "direction"}, {"channel", "channel"},
    {"status", "status"}, {"error", "error"}, {"subject", "subject"}, {"body", "body"}, {"from", "from_addr"},
    {"to", "to_addr"}, {"message_id", "message_id"}, {"matched_by", "matched_by"}, {"kind", "kind"},
    {"created_by", "created_by"}};
  json_t *o = json_object();
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
    json_t *v = json_object_get(r, plain[i].col);
    json_object_set(o, plain[i].api, v ? v : json_null());
  }
  const char *times[] = {"created_at", "sent_at", "delivered_at"};
  for (int i = 0; i < 3; i++) json_object_set_new(o, times[i], lp_json_time(json_object_get(r, times[i])));
  return o;
}

/* The lead, if the actor may see it (a NULL actor: the system, which sees all). */
static json_t *visible_lead(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (row && a && lp_lead_visible(db, a, row, err) != LP_OK) { json_decref(row); return NULL; }
  return row;
}

json_t *lp_threads_list(lp_db *db, const lp_actor *a, int64_t lead_id, lp_err *err) {
  json_t *lead = visible_lead(db, a, lead_id, err);
  if (!lead) return NULL;
  json_decref(lead);
  json_t *args = json_pack("[I]", (json_int_t)lead_id);
  json_t *rows = lp_query(db, "SELECT * FROM threads WHERE lead_id = $1 ORDER BY id DESC LIMIT 500", args, err);
  json_decref(args);
  return rows ? lp_page_of(rows, thread_present) : NULL;
}

/* A thread the actor may see (through its lead), or NULL: 404. */
static json_t *visible_thread(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *t = one_row(db, "SELECT * FROM threads WHERE id = $1", id, err);
  if (!t) {
    if (!err->code) lp_fail(err, LP_ENOTFOUND, "No conversation %lld", (long long)id);
    return NULL;
  }
  json_t *lead = visible_lead(db, a, iget(t, "lead_id"), err);
  if (!lead) {
    json_decref(t);
    lp_err_release(err);
    lp_fail(err, LP_ENOTFOUND, "No conversation %lld", (long long)id);
    return NULL;
  }
  json_decref(lead);
  return t;
}

json_t *lp_thread_messages(lp_db *db, const lp_actor *a, int64_t thread_id, lp_err *err) {
  json_t *t = visible_thread(db, a, thread_id, err);
  if (!t) return NULL;
  json_decref(t);
  json_t *args = json_pack("[I]", (json_int_t)thread_id);
  json_t *rows = lp_query(db, "SELECT * FROM messages WHERE thread_id = $1 ORDER BY id LIMIT 5000", args, err);
  json_decref(args);
  return rows ? lp_page_of(rows, message_present) : NULL;
}

json_t *lp_message_get(lp_db *db, int64_t id, lp_err *err) {
  json_t *r = one_row(db, "SELECT * FROM messages WHERE id = $1", id, err);
  if (!r) {
    if (!err->code) lp_fail(err, LP_ENOTFOUND, "No message %lld", (long long)id);
    return NULL;
  }
  json_t *o = message_present(r);
  json_decref(r);
  return o;
}

/* ---------------------------------------------------------------- sending and closing */

static json_t *open_threads(lp_db *db, int64_t lead_id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)lead_id);
  json_t *rows = lp_query(db, "SELECT * FROM threads WHERE lead_id = $1 AND status = 'open' ORDER BY last_message_at, id", args, err);
  json_decref(args);
  return rows ? rows : json_array();
}

typedef struct {
  const lp_actor *a;
  int64_t lead_id, thread_id, template_id, now;
  json_t *req;
  const char *kind;     /* review requests */
  int notify;
  int64_t message_id, out_thread;
} send_ctx;

static lp_code send_fn(lp_db *db, void *p, lp_err *err) {
  send_ctx *c = p;
  c->message_id = c->out_thread = 0;
  json_t *lead = visible_lead(db, c->a, c->lead_id, err);
  if (!lead) return err->code;
  lp_plan_in in = {0};
  in.actor = c->a;
  in.now = c->now;
  in.lead = lead;
  in.threads = open_threads(db, c->lead_id, err);
  in.review_gap_days = lp_setting_int(db, "review_request_days", 30, err);
  lp_send m = {0};
  m.channel = sget(c->req, "channel");
  m.subject = sget(c->req, "subject");
  m.body = sget(c->req, "body");
  m.kind = c->kind;
  m.new_thread = json_is_true(json_object_get(c->req, "new_thread"));
  lp_buf sub = LP_BUF_INIT(4096), body = LP_BUF_INIT(1 << 20);
  json_t *tpl = NULL;
  lp_code rc = LP_OK;
  if (c->thread_id) {
    in.thread = one_row(db, "SELECT * FROM threads WHERE id = $1", c->thread_id, err);
    if (!in.thread || iget(in.thread, "lead_id") != c->lead_id) rc = lp_fail_field(err, "thread_id", "not a conversation of this lead");
  }
  if (rc == LP_OK && c->template_id) {
    /* A template fills what the request leaves out, rendered with the lead's data. */
    tpl = one_row(db, "SELECT * FROM templates WHERE id = $1 AND active = 1", c->template_id, err);
    if (!tpl) rc = err->code ? err->code : lp_fail_field(err, "template_id", "not found");
    else if (m.channel && strcmp(m.channel, sget(tpl, "channel"))) rc = lp_fail_field(err, "template_id", "is a template for another channel");
    else {
      if (!m.channel) m.channel = sget(tpl, "channel");
      json_t *vars = lp_template_vars(db, lead, c->a, err);
      if (!vars) rc = err->code;
      if (rc == LP_OK && !m.subject && sget(tpl, "subject")) {
        rc = lp_tpl_render(sget(tpl, "subject"), vars, 0, &sub, err);
        m.subject = lp_buf_str(&sub);
      }
      if (rc == LP_OK && !m.body) {
        rc = lp_tpl_render(sget(tpl, "body"), vars, 0, &body, err);
        m.body = lp_buf_str(&body);
      }
      json_decref(vars);
    }
  }
  lp_plan plan;
  lp_plan_init(&plan, LP_PLAN_SEND);
  if (rc == LP_OK) {
    lp_plan_release(&plan);
    rc = lp_plan_send(&in, &m, &plan, err);
  }
  if (rc == LP_OK) {
    lp_applied out;
    rc = lp_apply(db, c->a, lead, &plan, NULL, c->now, &out, err);
    c->message_id = out.message_id;
    c->out_thread = out.thread_id;
  }
  lp_plan_release(&plan);
  lp_buf_release(&sub);
  lp_buf_release(&body);
  json_decref(tpl);
  json_decref(in.thread);
  json_decref(in.threads);
  json_decref(lead);
  return rc;
}

static json_t *sent_message(lp_store *s, send_ctx *c, lp_err *err) {
  if (lp_store_write(s, send_fn, c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_message_get(db, c->message_id, err) : NULL;
}

json_t *lp_message_send(lp_store *s, const lp_actor *a, int64_t lead_id, json_t *req, int64_t now, lp_err *err) {
  if (!json_is_object(req)) { lp_fail(err, LP_EVALIDATION, "The body must be a JSON object"); return NULL; }
  static const char *strs[] = {"channel", "subject", "body"};
  for (size_t i = 0; i < 3; i++) {
    json_t *v = json_object_get(req, strs[i]);
    if (v && !json_is_null(v) && !json_is_string(v)) lp_fail_field(err, strs[i], "must be a string");
  }
  json_t *th = json_object_get(req, "thread_id"), *tp = json_object_get(req, "template_id");
  if (th && !json_is_null(th) && !json_is_integer(th)) lp_fail_field(err, "thread_id", "must be an integer");
  if (tp && !json_is_null(tp) && !json_is_integer(tp)) lp_fail_field(err, "template_id", "must be an integer");
  if (!json_is_string(json_object_get(req, "channel")) && !json_is_integer(th) && !json_is_integer(tp))
    lp_fail_field(err, "channel", "required");
  if (err->code) return NULL;
  send_ctx c = {a, lead_id, json_integer_value(th), json_integer_value(tp), now, req, NULL, 0, 0, 0};
  return sent_message(s, &c, err);
}

json_t *lp_review_request(lp_store *s, const lp_actor *a, int64_t lead_id, const char *channel, int64_t now, lp_err *err) {
  json_t *req = json_pack("{s:s}", "channel", channel ? channel : "email");
  send_ctx c = {a, lead_id, 0, 0, now, req, "review_request", 0, 0, 0};
  json_t *o = sent_message(s, &c, err);
  json_decref(req);
  return o;
}

typedef struct { const lp_actor *a; int64_t id, now; int notify; } tclose_ctx;

static lp_code tclose_fn(lp_db *db, void *p, lp_err *err) {
  tclose_ctx *c = p;
  json_t *t = visible_thread(db, c->a, c->id, err);
  if (!t) return err->code;
  json_t *lead = lp_lead_row(db, iget(t, "lead_id"), err);
  lp_code rc = lead ? LP_OK : err->code;
  lp_plan plan;
  lp_plan_init(&plan, LP_PLAN_THREAD_CLOSE);
  if (rc == LP_OK) {
    lp_plan_in in = {0};
    in.actor = c->a;
    in.now = c->now;
    in.lead = lead;
    in.thread = t;
    lp_plan_release(&plan);
    rc = lp_plan_thread_close(&in, c->notify, &plan, err);
  }
  if (rc == LP_OK) {
    lp_applied out;
    rc = lp_apply(db, c->a, lead, &plan, NULL, c->now, &out, err);
  }
  lp_plan_release(&plan);
  json_decref(lead);
  json_decref(t);
  return rc;
}

json_t *lp_thread_close(lp_store *s, const lp_actor *a, int64_t thread_id, int notify, int64_t now, lp_err *err) {
  tclose_ctx c = {a, thread_id, now, notify};
  if (lp_store_write(s, tclose_fn, &c, err) != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  if (!db) return NULL;
  json_t *t = one_row(db, "SELECT * FROM threads WHERE id = $1", thread_id, err);
  if (!t) return NULL;
  json_t *o = thread_present(t);
  json_decref(t);
  return o;
}

/* ---------------------------------------------------------------- inbound */

#define CANDIDATES 8

typedef struct {
  const lp_actor *a;          /* who delivered it, or NULL */
  const lp_mail_in *m;        /* e-mail, or NULL for a text */
  const char *channel, *from, *to, *body, *subject, *provider_id;
  const char *kind;           /* of the sender's address: "email" or "phone" */
  int64_t leads[CANDIDATES];  /* leads with the sender's address, found in the write when first asked */
  int nleads;                 /* -1: not looked up yet */
  int64_t now;
  /* answered */
  json_t *result;
  int64_t message_id;
} inbound_ctx;

typedef struct { lp_db *db; inbound_ctx *c; lp_err *err; } look_ctx;

static lp_code thread_of(lp_db *db, const char *sql, const char *key, lp_match_thread *out, lp_err *err) {
  json_t *args = json_pack("[s]", key);
  json_t *r = lp_query_one(db, sql, args, err);
  json_decref(args);
  if (!r) return err->code ? err->code : LP_ENOTFOUND;
  out->thread_id = iget(r, "id");
  out->lead_id = iget(r, "lead_id");
  out->open = !strcmp(sget(r, "status") ? sget(r, "status") : "", "open");
  json_decref(r);
  return LP_OK;
}

static lp_code by_token(void *p, const char *token, lp_match_thread *out) {
  look_ctx *l = p;
  return thread_of(l->db, "SELECT t.id, t.lead_id, t.status FROM threads t JOIN leads l ON l.id = t.lead_id"
                          " WHERE t.token = $1 AND l.deleted_at IS NULL", token, out, l->err);
}

static lp_code by_message_id(void *p, const char *mid, lp_match_thread *out) {
  look_ctx *l = p;
  return thread_of(l->db, "SELECT t.id, t.lead_id, t.status FROM messages m JOIN threads t ON t.id = m.thread_id"
                          " JOIN leads l ON l.id = t.lead_id WHERE m.message_id = $1 AND l.deleted_at IS NULL"
                          " ORDER BY m.id DESC LIMIT 1", mid, out, l->err);
}

/* The leads with the sender's address, looked up once per write (an index probe on the exact
 * address rows: store/search.c), inside the write so a lead made earlier in the same group commit
 * (a new sender's first two messages) is found. */
static lp_code candidates(look_ctx *l) {
  if (l->c->nleads >= 0) return LP_OK;
  int n = lp_leads_by_address_in(l->db, l->c->kind, l->c->from, l->c->leads, CANDIDATES, l->err);
  if (n < 0) return l->err->code;
  l->c->nleads = n;
  return LP_OK;
}

static lp_code open_by_address(void *p, const char *address, lp_match_thread *out) {
  look_ctx *l = p;
  (void)address;  /* the same as c->from */
  if (candidates(l) != LP_OK) return l->err->code;
  for (int i = 0; i < l->c->nleads; i++) {
    json_t *args = json_pack("[I, s]", (json_int_t)l->c->leads[i], l->c->channel);
    /* channel || '': not the (channel, status, last_message_at) index, which SQLite would otherwise
     * walk through every open thread of the channel for the ORDER BY; threads_lead finds the lead's few */
    json_t *r = lp_query_one(l->db, "SELECT id, lead_id FROM threads WHERE lead_id = $1 AND channel || '' = $2 AND status = 'open'"
                                    " ORDER BY last_message_at DESC, id DESC LIMIT 1", args, l->err);
    json_decref(args);
    if (!r && l->err->code) return l->err->code;
    if (r) {
      out->thread_id = iget(r, "id");
      out->lead_id = iget(r, "lead_id");
      out->open = 1;
      json_decref(r);
      return LP_OK;
    }
  }
  return LP_ENOTFOUND;
}

static lp_code lead_by_address(void *p, const char *address, int64_t *lead_id) {
  look_ctx *l = p;
  (void)address;
  if (candidates(l) != LP_OK) return l->err->code;
  for (int i = 0; i < l->c->nleads; i++) {
    json_t *row = lp_lead_row(l->db, l->c->leads[i], l->err);
    if (row) { json_decref(row); *lead_id = l->c->leads[i]; return LP_OK; }
    if (l->err->code != LP_ENOTFOUND) return l->err->code;
    lp_err_release(l->err);
  }
  return LP_ENOTFOUND;
}

/* The owner of leads that arrive on their own: the inbound_owner_id setting, else the first admin. */
int64_t lp_inbound_owner(lp_db *db, lp_err *err) {
  int64_t id = lp_setting_int(db, "inbound_owner_id", 0, err);
  if (id > 0) return id;
  return lp_query_int(db, "SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'admin' AND u.active = 1"
                          " ORDER BY u.id LIMIT 1", NULL, 0, err);
}

static lp_code inbound_fn(lp_db *db, void *p, lp_err *err) {
  inbound_ctx *c = p;
  json_decref(c->result);
  c->result = NULL;
  c->message_id = 0;
  c->nleads = -1;
  const lp_mail_in *m = c->m;
  lp_mail_in text = {0};
  if (!m) {  /* an SMS or chat line goes through the same rules, by address alone */
    text.from = (char *)c->from;
    m = &text;
  }
  /* A repeated delivery: the same Message-ID (or provider id) from the same sender with the same body. */
  const char *dup_key = c->m ? (c->m->message_id[0] ? c->m->message_id : NULL) : c->provider_id;
  if (dup_key) {
    json_t *args = json_pack("[s, s, s]", dup_key, c->from, c->body);
    int64_t id = lp_query_int(db, c->m ? "SELECT id FROM messages WHERE message_id = $1 AND from_addr = $2 AND body = $3 AND direction = 'in'"
                                       : "SELECT id FROM messages WHERE provider_id = $1 AND from_addr = $2 AND body = $3 AND direction = 'in'",
                              args, 0, err);
    json_decref(args);
    if (err->code) return err->code;
    if (id) {
      c->message_id = id;
      c->result = json_pack("{s:b}", "duplicate", 1);
      return LP_OK;
    }
  }
  /* A bounce marks the message that failed; it opens nothing. */
  if (c->m && c->m->bounce) {
    json_t *args = json_pack("[s]", c->m->bounce_message_id);
    int64_t id = c->m->bounce_message_id[0]
      ? lp_query_int(db, "SELECT id FROM messages WHERE message_id = $1 AND direction = 'out' ORDER BY id DESC LIMIT 1", args, 0, err) : 0;
    json_decref(args);
    if (err->code) return err->code;
    if (!id) { c->result = json_pack("{s:s}", "dropped", "a bounce of no message sent from here"); return LP_OK; }
    char why[600];
    snprintf(why, sizeof why, "Bounced%s%s%s%s", c->m->bounce_recipient[0] ? " by " : "", c->m->bounce_recipient,
             c->m->bounce_reason[0] ? ": " : "", c->m->bounce_reason);
    lp_code rc = lp_outbox_mark(db, id, "failed", NULL, NULL, why, c->now, err);
    if (rc == LP_OK) c->result = json_pack("{s:I}", "bounce", (json_int_t)id);
    return rc;
  }
  look_ctx l = {db, c, err};
  lp_match_lookup lk = {&l, c->m ? by_token : NULL, c->m ? by_message_id : NULL, open_by_address, lead_by_address};
  lp_match mt;
  char *domain = c->m ? lp_setting_text(db, "inbound_domain", err) : NULL;
  lp_code rc = lp_match_inbound(m, domain, &lk, &mt, err);
  free(domain);
  if (rc != LP_OK) return rc;
  if (mt.rule == LP_MATCH_NONE) { c->result = json_pack("{s:s}", "dropped", "an automatic message from an unknown sender"); return LP_OK; }
  lp_actor sys = {0};
  const lp_actor *actor = c->a ? c->a : &sys;
  int64_t lead_id = mt.lead_id;
  if (mt.rule == LP_MATCH_NEW_LEAD) {
    /* Nobody known: a new lead, owned by the inbound owner, from the "Email" / "SMS" / "Chat" source. */
    int64_t owner = lp_inbound_owner(db, err);
    if (err->code) return err->code;
    const char *src = !strcmp(c->channel, "email") ? "Email" : !strcmp(c->channel, "sms") ? "SMS" : "Chat";
    json_t *args = json_pack("[s]", src);
    int64_t source = lp_query_int(db, "SELECT id FROM sources WHERE name = $1", args, 0, err);
    json_decref(args);
    const char *name = c->m && c->m->from_name[0] ? c->m->from_name : c->from;
    json_t *addr = json_pack("[s]", c->from);
    char *addrs = json_dumps(addr, JSON_COMPACT);
    json_decref(addr);
    json_t *cols = json_pack("{s:s, s:s, s:s}", "full_name", name, !strcmp(c->channel, "email") ? "emails" : "phones", addrs,
                             "request", c->body);
    free(addrs);
    if (owner > 0) json_object_set_new(cols, "owner_id", json_integer(owner));
    if (source > 0) json_object_set_new(cols, "source_id", json_integer(source));
    rc = lp_lead_create_tx(db, actor, cols, c->now, &lead_id, err);
    json_decref(cols);
    if (rc != LP_OK) return rc;
  }
  json_t *lead = lp_lead_row(db, lead_id, err);
  if (!lead) return err->code;
  json_t *facts = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s}", "channel", c->channel, "from_addr", c->from, "to_addr", c->to,
                            "subject", c->subject && *c->subject ? c->subject : NULL, "body", c->body, "matched_by", lp_match_rule_name(mt.rule));
  if (c->m && c->m->message_id[0]) json_object_set_new(facts, "message_id", json_string(c->m->message_id));
  if (c->m && c->m->in_reply_to[0]) json_object_set_new(facts, "in_reply_to", json_string(c->m->in_reply_to));
  if (c->provider_id) json_object_set_new(facts, "provider_id", json_string(c->provider_id));
  lp_plan_in in = {0};
  in.actor = actor;
  in.now = c->now;
  in.lead = lead;
  lp_plan plan;
  rc = lp_plan_inbound(&in, facts, mt.thread_id, mt.closed_thread_id, &plan, err);
  lp_applied out = {0};
  if (rc == LP_OK) rc = lp_apply(db, actor, lead, &plan, NULL, c->now, &out, err);
  if (rc == LP_OK) {
    c->message_id = out.message_id;
    c->result = json_pack("{s:s, s:I, s:I}", "rule", lp_match_rule_name(mt.rule), "lead_id", (json_int_t)lead_id, "thread_id", (json_int_t)out.thread_id);
  }
  lp_plan_release(&plan);
  json_decref(facts);
  json_decref(lead);
  return rc;
}

static json_t *inbound_run(lp_store *s, inbound_ctx *c, const char *kind, lp_err *err) {
  c->kind = kind;
  if (lp_store_write(s, inbound_fn, c, err) != LP_OK) { json_decref(c->result); return NULL; }
  json_t *o = c->result;
  if (c->message_id) {
    lp_db *db = lp_store_reader(s, err);
    json_t *msg = db ? lp_message_get(db, c->message_id, err) : NULL;
    if (!msg) { json_decref(o); return NULL; }
    json_object_set_new(o, "message", msg);
  }
  return o;
}

json_t *lp_inbound_email(lp_store *s, const lp_actor *a, const lp_mail_in *m, int64_t now, lp_err *err) {
  if (!m->from[0]) { lp_fail_field(err, "from", "required"); return NULL; }
  inbound_ctx c = {0};
  c.a = a;
  c.m = m;
  c.channel = "email";
  c.from = m->from;
  c.to = m->n_to ? m->to[0] : "";
  c.body = m->text;
  c.subject = m->subject;
  c.now = now;
  return inbound_run(s, &c, "email", err);
}

json_t *lp_inbound_text(lp_store *s, const lp_actor *a, const char *channel, const char *from, const char *to,
                        const char *body, const char *provider_id, int64_t now, lp_err *err) {
  if (strcmp(channel, "sms") && strcmp(channel, "chat")) { lp_fail_field(err, "channel", "must be sms or chat"); return NULL; }
  char phone[LP_PHONE_BUFSZ];
  if (!strcmp(channel, "sms")) {
    if (!from || lp_phone_normalize(from, NULL, phone, sizeof phone) != 0) { lp_fail_field(err, "from", "must be a phone number in E.164 (+...)"); return NULL; }
    from = phone;
  }
  if (!body) { lp_fail_field(err, "body", "required"); return NULL; }
  inbound_ctx c = {0};
  c.a = a;
  c.channel = channel;
  c.from = from;
  c.to = to ? to : "";
  c.body = body;
  c.provider_id = provider_id;
  c.now = now;
  return inbound_run(s, &c, "phone", err);
}

/* ---------------------------------------------------------------- SMS status callbacks */

typedef struct { const char *provider_id, *status, *error; int64_t now; json_t *result; } sms_status_ctx;

static lp_code sms_status_fn(lp_db *db, void *p, lp_err *err) {
  sms_status_ctx *c = p;
  json_decref(c->result);
  c->result = NULL;
  json_t *args = json_pack("[s]", c->provider_id);
  int64_t id = lp_query_int(db, "SELECT id FROM messages WHERE provider_id = $1 AND channel = 'sms' AND direction = 'out'"
                                " ORDER BY id DESC LIMIT 1", args, 0, err);
  json_decref(args);
  if (err->code) return err->code;
  if (!id) return lp_fail(err, LP_ENOTFOUND, "No SMS sent from here has that MessageSid");
  lp_code rc = lp_outbox_mark(db, id, c->status, NULL, NULL, c->error, c->now, err);
  if (rc != LP_OK) return rc;
  args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT status FROM messages WHERE id = $1", args, err);
  json_decref(args);
  if (!row) return err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No message %lld", (long long)id);
  c->result = json_pack("{s:I, s:s}", "message_id", (json_int_t)id, "status", sget(row, "status"));
  json_decref(row);
  return LP_OK;
}

json_t *lp_sms_status(lp_store *s, const char *provider_id, const char *status, const char *error, int64_t now, lp_err *err) {
  sms_status_ctx c = {provider_id, status, error, now, NULL};
  if (lp_store_write(s, sms_status_fn, &c, err) != LP_OK) {
    json_decref(c.result);
    return NULL;
  }
  return c.result;
}

/* ---------------------------------------------------------------- templates */

static json_t *template_present(json_t *r) {
  json_t *o = json_deep_copy(r);
  json_object_set_new(o, "active", json_boolean(iget(r, "active")));
  json_object_set_new(o, "created_at", lp_json_time(json_object_get(r, "created_at")));
  json_object_set_new(o, "updated_at", lp_json_time(json_object_get(r, "updated_at")));
  return o;
}

json_t *lp_templates_list(lp_db *db, lp_err *err) {
  json_t *rows = lp_query(db, "SELECT * FROM templates ORDER BY kind, channel, name, id", NULL, err);
  return rows ? lp_page_of(rows, template_present) : NULL;
}

typedef struct { const lp_actor *a; int64_t id, now; json_t *cols; } tpl_ctx;

static lp_code tpl_fn(lp_db *db, void *p, lp_err *err) {
  tpl_ctx *c = p;
  lp_code rc;
  json_t *data;
  if (c->id) {
    json_t *old = one_row(db, "SELECT * FROM templates WHERE id = $1", c->id, err);
    if (!old) return err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No template %lld", (long long)c->id);
    json_t *set = json_object(), *changes = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(c->cols, k, v) {
      json_t *o = json_object_get(old, k);
      if (o && json_equal(o, v)) continue;
      json_object_set(set, k, v);
      json_object_set_new(changes, k, json_pack("{s:O, s:O}", "old", o ? o : json_null(), "new", v));
    }
    json_decref(old);
    rc = LP_OK;
    if (json_object_size(set)) {
      json_object_set_new(set, "updated_at", json_integer(c->now));
      rc = lp_update(db, "templates", c->id, set, -1, err);
      data = json_pack("{s:s, s:O}", "table", "templates", "changes", changes);
      if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "setting_updated", "templates", c->id, data, err);
      json_decref(data);
    }
    json_decref(set);
    json_decref(changes);
    return rc;
  }
  json_object_set_new(c->cols, "created_at", json_integer(c->now));
  json_object_set_new(c->cols, "updated_at", json_integer(c->now));
  rc = lp_insert(db, "templates", c->cols, &c->id, err);
  data = json_pack("{s:s, s:O}", "table", "templates", "row", c->cols);
  if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "setting_created", "templates", c->id, data, err);
  json_decref(data);
  return rc;
}

json_t *lp_template_save(lp_store *s, const lp_actor *a, int64_t id, json_t *in, int64_t now, lp_err *err) {
  if (!json_is_object(in)) { lp_fail(err, LP_EVALIDATION, "The body must be a JSON object"); return NULL; }
  json_t *cols = json_object();
  static const struct { const char *key; size_t max; int required; } strs[] = {
    {"name", 200, 1}, {"channel", 10, 1}, {"kind", 40, 0}, {"subject", 300, 0}, {"body", 100000, 1}};
  for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
    json_t *v = json_object_get(in, strs[i].key);
    if (!v || json_is_null(v)) {
      if (strs[i].required && !id) lp_fail_field(err, strs[i].key, "required");
      else if (v && !strcmp(strs[i].key, "subject")) json_object_set_new(cols, "subject", json_null());
      continue;
    }
    if (!json_is_string(v) || json_string_length(v) > strs[i].max || (strs[i].required && !json_string_length(v))) {
      lp_fail_field(err, strs[i].key, "must be a non-empty string of limited length");
      continue;
    }
    json_object_set(cols, strs[i].key, v);
  }
  const char *ch = sget(cols, "channel"), *kind = sget(cols, "kind");
  if (ch && strcmp(ch, "email") && strcmp(ch, "sms") && strcmp(ch, "chat")) lp_fail_field(err, "channel", "must be email, sms or chat");
  if (kind && strcmp(kind, "message") && strcmp(kind, "close_notification") && strcmp(kind, "review_request") && strcmp(kind, "quote"))
    lp_fail_field(err, "kind", "must be message, close_notification, review_request or quote");
  /* An unknown placeholder is found now, not when a message is sent. */
  if (sget(cols, "subject")) lp_tpl_check(sget(cols, "subject"), "subject", err);
  if (sget(cols, "body")) lp_tpl_check(sget(cols, "body"), "body", err);
  json_t *act = json_object_get(in, "active");
  if (act && !json_is_boolean(act)) lp_fail_field(err, "active", "must be true or false");
  else if (act) json_object_set_new(cols, "active", json_integer(json_is_true(act)));
  if (err->code) { json_decref(cols); return NULL; }
  tpl_ctx c = {a, id, now, cols};
  lp_code rc = lp_store_write(s, tpl_fn, &c, err);
  json_decref(cols);
  if (rc != LP_OK) return NULL;
  lp_db *db = lp_store_reader(s, err);
  json_t *row = db ? one_row(db, "SELECT * FROM templates WHERE id = $1", c.id, err) : NULL;
  if (!row) return NULL;
  json_t *o = template_present(row);
  json_decref(row);
  return o;
}
