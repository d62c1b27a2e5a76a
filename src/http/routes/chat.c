/* chat.c — the public web chat under /public/v1 (store/chat.h holds the rules;
 * docs/conversations.md the behaviour) and the widget script that a company's site embeds.
 *
 * Every public chat call passes the public gate first (routes/gate.h: allowed origins and CORS,
 * a per-address token bucket, a 16 KB body cap; a message is at most 4 KB).
 * The chat token travels in X-Leadpath-Chat-Token (or ?token=, for navigator.sendBeacon, which
 * cannot set headers). A filled honeypot field `website` answers a believable 201 with a chat
 * that does not exist and stores nothing, so a form-filling bot learns nothing. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "http/assets.h"
#include "http/internal.h"
#include "http/routes/gate.h"
#include "http/routes/handlers.h"
#include "store/chat.h"
#include "util/secret.h"

/* Every public chat call passes the shared gate first (routes/gate.c). */
static lp_code gate(lp_req *r) { return lp_public_gate(r, "chat"); }

static const char *chat_token(lp_req *r) {
  const char *t = lp_req_header(r, "X-Leadpath-Chat-Token");
  return t ? t : lp_req_query(r, "token");
}

static lp_code need_token(lp_req *r, const char **tok) {
  *tok = chat_token(r);
  if (!*tok || !**tok) return lp_fail(&r->err, LP_EUNAUTH, "Send the chat's token in X-Leadpath-Chat-Token");
  return LP_OK;
}

/* ---------------------------------------------------------------- handlers */

lp_code h_public_preflight(lp_req *r) {
  lp_code rc = gate(r);
  if (rc != LP_OK) return rc;
  lp_reply_header(r, "Access-Control-Allow-Methods", "GET, POST");
  lp_reply_header(r, "Access-Control-Allow-Headers", "Content-Type, X-Leadpath-Chat-Token");
  r->status = 204;
  return LP_OK;
}

lp_code h_public_chat_start(lp_req *r) {
  lp_code rc = gate(r);
  if (rc != LP_OK) return rc;
  json_t *hp = json_object_get(r->json, "website");
  if (json_is_string(hp) && json_string_length(hp) > 0) {
    /* the honeypot: only a bot fills a field the widget never shows */
    char token[LP_TOKEN_LEN];
    lp_token_new(token);
    return lp_reply(r, 201, json_pack("{s:I, s:s}", "chat_id", (json_int_t)(100000 + randombytes_uniform(900000000)), "token", token));
  }
  json_t *o = lp_chat_start(r->app->store, r->json, r->now, &r->err);
  return o ? lp_reply(r, 201, o) : r->err.code;
}

lp_code h_public_chat_messages(lp_req *r) {
  const char *tok;
  lp_code rc = gate(r);
  if (rc == LP_OK) rc = need_token(r, &tok);
  if (rc != LP_OK) return rc;
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_chat_messages(db, r->ids[0], tok, &r->err) : NULL;
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_public_chat_post(lp_req *r) {
  const char *tok;
  lp_code rc = gate(r);
  if (rc == LP_OK) rc = need_token(r, &tok);
  if (rc != LP_OK) return rc;
  json_t *m = json_object_get(r->json, "message");
  if (m && !json_is_string(m)) return lp_fail_field(&r->err, "message", "must be a string");
  json_t *o = lp_chat_post(r->app->store, r->ids[0], tok, json_string_value(m), r->now, &r->err);
  return o ? lp_reply(r, 201, o) : r->err.code;
}

lp_code h_public_chat_close(lp_req *r) {
  const char *tok;
  lp_code rc = gate(r);
  if (rc == LP_OK) rc = need_token(r, &tok);
  if (rc == LP_OK) rc = lp_chat_close(r->app->store, r->ids[0], tok, r->now, &r->err);
  if (rc != LP_OK) return rc;
  r->status = 204;
  return LP_OK;
}

/* The widget script (web/widget.js, embedded with the UI): any site may load it; its calls are
 * what chat_origins governs. */
lp_code h_public_widget(lp_req *r) {
  for (size_t i = 0; i < lp_assets_count; i++) {
    if (!lp_assets[i].path || strcmp(lp_assets[i].path, "/widget.js")) continue;
    char *data = malloc(lp_assets[i].len + 1);
    if (!data) return lp_fail(&r->err, LP_EINTERNAL, "Out of memory");
    memcpy(data, lp_assets[i].data, lp_assets[i].len);
    lp_reply_header(r, "Cache-Control", "public, max-age=300");
    lp_reply_header(r, "Cross-Origin-Resource-Policy", "cross-origin");
    return lp_reply_raw(r, 200, "text/javascript; charset=utf-8", data, lp_assets[i].len);
  }
  return lp_fail(&r->err, LP_ENOTFOUND, "The widget is not built into this binary");
}
