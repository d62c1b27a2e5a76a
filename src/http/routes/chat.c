/* chat.c — the public web chat under /public/v1 (store/chat.h holds the rules;
 * docs/conversations.md the behaviour) and the widget script that a company's site embeds.
 *
 * Every public chat call passes one gate first:
 *  - CORS: a request with an Origin must come from one of the chat_origins setting; it gets
 *    Access-Control-Allow-Origin for that origin only, any other origin is refused (403) before
 *    anything is stored. A call without Origin (not a browser's cross-site call) passes.
 *  - a per-client-address token bucket (BURST calls, refilled at RATE per second): past it, 429.
 *  - a smaller body cap than the server's 1 MiB (PUBLIC_BODY_MAX; a message is at most 4 KB).
 * The chat token travels in X-Leadpath-Chat-Token (or ?token=, for navigator.sendBeacon, which
 * cannot set headers). A filled honeypot field `website` answers a believable 201 with a chat
 * that does not exist and stores nothing, so a form-filling bot learns nothing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "http/assets.h"
#include "http/internal.h"
#include "http/routes/handlers.h"
#include "store/chat.h"
#include "util/secret.h"

#define PUBLIC_BODY_MAX (16 * 1024)
#define BURST 30.0
#define RATE 1.0          /* calls per second: the widget polls every 3 s */
#define BUCKETS 4096

/* ---------------------------------------------------------------- rate limit */

typedef struct { char addr[48]; double tokens, at; } bucket;
static bucket buckets[BUCKETS];
static pthread_mutex_t bucket_lock = PTHREAD_MUTEX_INITIALIZER;

static void client_address(lp_req *r, char *out, size_t n) {
  snprintf(out, n, "unknown");
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)n);
  else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)n);
}

/* 1 when the address may make one more call now. A bucket slot is chosen by a hash of the
 * address; a different address in the slot starts afresh (a crowded table forgets, never blocks
 * a stranger). */
static int rate_take(const char *addr) {
  unsigned char h[8];
  crypto_generichash(h, sizeof h, (const unsigned char *)addr, strlen(addr), NULL, 0);
  uint64_t k = 0;
  memcpy(&k, h, sizeof k);
  double now = http_mono();
  pthread_mutex_lock(&bucket_lock);
  bucket *b = &buckets[k % BUCKETS];
  if (strcmp(b->addr, addr)) {
    snprintf(b->addr, sizeof b->addr, "%s", addr);
    b->tokens = BURST;
    b->at = now;
  }
  b->tokens += (now - b->at) * RATE;
  if (b->tokens > BURST) b->tokens = BURST;
  b->at = now;
  int ok = b->tokens >= 1.0;
  if (ok) b->tokens -= 1.0;
  pthread_mutex_unlock(&bucket_lock);
  return ok;
}

/* ---------------------------------------------------------------- the gate */

static lp_code gate(lp_req *r) {
  const char *origin = lp_req_header(r, "Origin");
  if (origin) {
    lp_db *db = lp_req_db(r);
    if (!db) return r->err.code;
    json_t *list = lp_chat_origins(db, &r->err);
    if (!list) return r->err.code;
    int ok = 0;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) if (json_is_string(o) && !strcmp(json_string_value(o), origin)) ok = 1;
    json_decref(list);
    if (!ok) return lp_fail(&r->err, LP_EFORBIDDEN, "This site may not use the chat (its origin is not in chat_origins)");
    lp_reply_header(r, "Access-Control-Allow-Origin", origin);
    lp_reply_header(r, "Vary", "Origin");
  }
  char addr[48];
  client_address(r, addr, sizeof addr);
  if (!rate_take(addr)) return lp_fail(&r->err, LP_ERATE, "Too many chat requests from this address; try again in a minute");
  if (r->body.len > PUBLIC_BODY_MAX) return lp_fail(&r->err, LP_ETOOLARGE, "A chat request is at most 16 KB");
  return LP_OK;
}

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
