/* gate.c — the gate of the public endpoints (see gate.h), shared by the web chat
 * (routes/chat.c) and the web forms and portal (routes/forms.c):
 *  - CORS: the Origin must be one of chat_origins (the company's sites), else 403 before
 *    anything is stored; the answer names that origin only.
 *  - a per-client-address token bucket (BURST calls, refilled at RATE per second): past it, 429.
 *    One bucket per address for every public call: a visitor's chat and forms share it.
 *  - a smaller body cap than the server's 1 MiB (LP_PUBLIC_BODY_MAX).
 * The honeypot is each endpoint's own (a field only bots fill), checked after the gate. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include "http/internal.h"
#include "http/routes/gate.h"
#include "store/chat.h"

#define BURST 30.0
#define RATE 1.0          /* calls per second: the widget polls every 3 s */
#define BUCKETS 4096

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

lp_code lp_public_gate(lp_req *r, const char *what) {
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
    if (!ok) return lp_fail(&r->err, LP_EFORBIDDEN, "This site may not use the %s (its origin is not in chat_origins)", what);
    lp_reply_header(r, "Access-Control-Allow-Origin", origin);
    lp_reply_header(r, "Vary", "Origin");
  }
  char addr[48];
  client_address(r, addr, sizeof addr);
  if (!rate_take(addr)) return lp_fail(&r->err, LP_ERATE, "Too many %s requests from this address; try again in a minute", what);
  if (r->body.len > LP_PUBLIC_BODY_MAX) return lp_fail(&r->err, LP_ETOOLARGE, "A %s request is at most 16 KB", what);
  return LP_OK;
}
