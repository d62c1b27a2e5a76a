/* match.c — the inbound matcher's rules (see match.h). No I/O: every lookup is a callback. */
#include <stdio.h>
#include <string.h>
#include "msg/match.h"

const char *lp_match_rule_name(lp_match_rule r) {
  switch (r) {
    case LP_MATCH_NONE: return "none";
    case LP_MATCH_REPLY_TOKEN: return "reply_token";
    case LP_MATCH_HEADER: return "header";
    case LP_MATCH_ADDRESS: return "address";
    case LP_MATCH_NEW_THREAD: return "new_thread";
    case LP_MATCH_NEW_LEAD: return "new_lead";
  }
  return "none";
}

/* Fills out for a thread found by `rule`: the thread itself when open, else a new thread on
 * its lead. */
static void found(lp_match *out, lp_match_rule rule, const lp_match_thread *t, const char *evidence) {
  snprintf(out->evidence, sizeof out->evidence, "%s", evidence);
  out->lead_id = t->lead_id;
  out->via = rule;
  if (t->open) {
    out->rule = rule;
    out->thread_id = t->thread_id;
  } else {
    out->rule = LP_MATCH_NEW_THREAD;
    out->thread_id = 0;
    out->closed_thread_id = t->thread_id;
  }
}

/* Runs one lookup: 1 found, 0 not found, -1 failed (*rc set). */
static int ask(lp_code got, lp_code *rc) {
  if (got == LP_OK) return 1;
  if (got == LP_ENOTFOUND) return 0;
  *rc = got;
  return -1;
}

static lp_code failed(lp_code rc, lp_err *err) {
  if (err && err->code == LP_OK) lp_fail(err, rc, NULL);
  return rc;
}

lp_code lp_match_inbound(const lp_mail_in *m, const char *reply_domain, const lp_match_lookup *lk,
                         lp_match *out, lp_err *err) {
  memset(out, 0, sizeof *out);
  lp_code rc = LP_OK;
  lp_match_thread t;

  /* 1. a reply token in any recipient address (also kept for the caller when it names nothing) */
  for (size_t i = 0; i < m->n_to && !out->token[0]; i++)
    lp_reply_token_parse(m->to[i], reply_domain, out->token);
  if (out->token[0] && !m->bounce && lk->thread_by_token) {
    memset(&t, 0, sizeof t);
    int r = ask(lk->thread_by_token(lk->ctx, out->token, &t), &rc);
    if (r < 0) return failed(rc, err);
    if (r) { found(out, LP_MATCH_REPLY_TOKEN, &t, out->token); return LP_OK; }
  }

  /* 2. headers: a bounce by the failed message's id alone; else In-Reply-To, then References
   *    from the newest (last) to the oldest */
  if (lk->thread_by_message_id) {
    const char *ids[1 + 64];   /* In-Reply-To and the 64 newest references: enough for any real thread */
    size_t n = 0;
    if (m->bounce) {
      if (m->bounce_message_id && m->bounce_message_id[0]) ids[n++] = m->bounce_message_id;
    } else {
      if (m->in_reply_to && m->in_reply_to[0]) ids[n++] = m->in_reply_to;
      for (size_t i = m->n_references; i > 0 && n < sizeof ids / sizeof ids[0]; i--)
        ids[n++] = m->references[i - 1];
    }
    for (size_t i = 0; i < n; i++) {
      memset(&t, 0, sizeof t);
      int r = ask(lk->thread_by_message_id(lk->ctx, ids[i], &t), &rc);
      if (r < 0) return failed(rc, err);
      if (r) { found(out, LP_MATCH_HEADER, &t, ids[i]); return LP_OK; }
    }
  }
  if (m->bounce) return LP_OK;   /* a bounce about nothing we know: none */

  /* 3. the sender's address on an open thread */
  const char *from = m->from ? m->from : "";
  if (from[0] && lk->open_thread_by_address) {
    memset(&t, 0, sizeof t);
    int r = ask(lk->open_thread_by_address(lk->ctx, from, &t), &rc);
    if (r < 0) return failed(rc, err);
    if (r && t.open) { found(out, LP_MATCH_ADDRESS, &t, from); return LP_OK; }
  }

  /* 4. a lead with that address: a new thread */
  if (from[0] && lk->lead_by_address) {
    int64_t lead = 0;
    int r = ask(lk->lead_by_address(lk->ctx, from, &lead), &rc);
    if (r < 0) return failed(rc, err);
    if (r && lead > 0) {
      out->rule = out->via = LP_MATCH_NEW_THREAD;
      out->lead_id = lead;
      snprintf(out->evidence, sizeof out->evidence, "%s", from);
      return LP_OK;
    }
  }

  /* 5. nobody known: a new lead, unless the message is automatic or has no sender */
  if (m->auto_reply || !from[0]) return LP_OK;
  out->rule = out->via = LP_MATCH_NEW_LEAD;
  snprintf(out->evidence, sizeof out->evidence, "%s", from);
  return LP_OK;
}
