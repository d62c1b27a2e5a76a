/* auth.c — who is calling: bearer tokens and cookies, CSRF, login rate limiting; the login,
 * logout and "me" handlers. */
#include <ctype.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sodium.h>
#include "http/auth.h"
#include "http/routes/handlers.h"
#include "store/people.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/secret.h"

static _Thread_local char csrf_buf[65];

static const char *request_token(lp_req *r, int *cookie) {
  *cookie = 0;
  const char *h = lp_req_header(r, "Authorization");
  if (h && !strncasecmp(h, "Bearer ", 7)) {
    h += 7;
    while (*h == ' ') h++;
    return *h ? h : NULL;
  }
  const char *c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "leadpath_session");
  if (c && *c) { *cookie = 1; return c; }
  return NULL;
}

/* A short-lived cache of who a token is, so a busy client does not cost a session lookup and
 * a policy parse per request. An entry lives two seconds of request time: a revoked token, a
 * deactivated user or a changed role takes effect within that, on every server. Logging out
 * drops the entry at once. */
#define SC_SLOTS 1024
#define SC_TTL 2
typedef struct { unsigned char key[32]; int64_t at; lp_actor actor; char csrf[65]; int used; unsigned epoch; } sc_entry;
static atomic_uint sc_epoch;
static sc_entry session_cache[SC_SLOTS];
static pthread_mutex_t sc_mu[16] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
  PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
  PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
  PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
  PTHREAD_MUTEX_INITIALIZER};

static unsigned sc_key(const char *tok, unsigned char key[32]) {
  crypto_generichash(key, 32, (const unsigned char *)tok, strlen(tok), NULL, 0);
  return (key[0] | (unsigned)key[1] << 8) % SC_SLOTS;
}

static void sc_forget_key(const unsigned char key[32]) {
  unsigned s = (key[0] | (unsigned)key[1] << 8) % SC_SLOTS;
  pthread_mutex_lock(&sc_mu[s % 16]);
  if (session_cache[s].used && !memcmp(session_cache[s].key, key, 32)) session_cache[s].used = 0;
  pthread_mutex_unlock(&sc_mu[s % 16]);
}

static void sc_forget(const char *tok) {
  unsigned char key[32];
  sc_key(tok, key);
  sc_forget_key(key);
}

void lp_auth_forget_hash(const char *token_hash_hex) {
  unsigned char key[32];
  size_t len = 0;
  if (sodium_hex2bin(key, sizeof key, token_hash_hex, strlen(token_hash_hex), NULL, &len, NULL) == 0 && len == 32) sc_forget_key(key);
}

void lp_auth_forget_all(void) { atomic_fetch_add(&sc_epoch, 1); }

lp_code lp_auth_request(lp_req *r) {
  int cookie;
  const char *tok = request_token(r, &cookie);
  if (!tok) return lp_fail(&r->err, LP_EUNAUTH, "Log in first, or send Authorization: Bearer <token>");
  if (strlen(tok) > 200) return lp_fail(&r->err, LP_EUNAUTH, "Malformed token");
  unsigned char key[32];
  unsigned s = sc_key(tok, key);
  pthread_mutex_lock(&sc_mu[s % 16]);
  sc_entry *e = &session_cache[s];
  unsigned epoch = atomic_load(&sc_epoch);
  if (e->used && e->epoch == epoch && !memcmp(e->key, key, 32) && r->now >= e->at && r->now - e->at < SC_TTL) {
    r->actor = e->actor;
    memcpy(csrf_buf, e->csrf, sizeof csrf_buf);
    pthread_mutex_unlock(&sc_mu[s % 16]);
  } else {
    pthread_mutex_unlock(&sc_mu[s % 16]);
    lp_db *db = lp_req_db(r);
    if (!db) return r->err.code;
    lp_code rc = lp_session_actor(db, tok, r->now, &r->actor, csrf_buf, &r->err);
    if (rc != LP_OK) return rc;
    pthread_mutex_lock(&sc_mu[s % 16]);
    memcpy(e->key, key, 32);
    e->at = r->now;
    e->actor = r->actor;
    memcpy(e->csrf, csrf_buf, sizeof e->csrf);
    e->used = 1;
    e->epoch = epoch;
    pthread_mutex_unlock(&sc_mu[s % 16]);
  }
  r->authed = 1;
  r->cookie_auth = cookie;
  return LP_OK;
}

int lp_auth_csrf_ok(lp_req *r, const char *token) {
  return csrf_buf[0] && lp_secret_equal(csrf_buf, token);
}

/* ---------------------------------------------------------------- login rate limit */

#define RL_SLOTS 1024
#define RL_WINDOW 60
#define RL_MAX 10
static struct { unsigned char key[16]; int64_t start; int fails; } rl[RL_SLOTS];
static pthread_mutex_t rl_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned rl_slot(const char *what, unsigned char key[16]) {
  crypto_generichash(key, 16, (const unsigned char *)what, strlen(what), NULL, 0);
  return (key[0] | (unsigned)key[1] << 8) % RL_SLOTS;
}

static int rl_blocked(const char *what, int64_t now) {
  unsigned char key[16];
  unsigned s = rl_slot(what, key);
  pthread_mutex_lock(&rl_mu);
  int b = !memcmp(rl[s].key, key, 16) && now - rl[s].start < RL_WINDOW && rl[s].fails >= RL_MAX;
  pthread_mutex_unlock(&rl_mu);
  return b;
}

static void rl_fail(const char *what, int64_t now) {
  unsigned char key[16];
  unsigned s = rl_slot(what, key);
  pthread_mutex_lock(&rl_mu);
  if (memcmp(rl[s].key, key, 16) || now - rl[s].start >= RL_WINDOW) {
    memcpy(rl[s].key, key, 16);
    rl[s].start = now;
    rl[s].fails = 0;
  }
  rl[s].fails++;
  pthread_mutex_unlock(&rl_mu);
}

lp_code h_auth_login(lp_req *r) {
  const char *email = json_string_value(json_object_get(r->json, "email"));
  const char *pw = json_string_value(json_object_get(r->json, "password"));
  if (!email) lp_fail_field(&r->err, "email", "required");
  if (!pw) lp_fail_field(&r->err, "password", "required");
  if (r->err.code) return r->err.code;
  char key[300];
  snprintf(key, sizeof key, "login:%s", email);
  for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
  if (rl_blocked(key, r->now)) return lp_fail(&r->err, LP_ERATE, "Too many failed logins for this account; wait a minute");
  char token[65], csrf[65];
  json_t *user = NULL;
  lp_code rc = lp_login(r->app->store, email, pw, r->now, token, csrf, &user, &r->err);
  if (rc == LP_EUNAUTH) rl_fail(key, r->now);
  if (rc != LP_OK) return rc;
  char cookie[256];
  snprintf(cookie, sizeof cookie, "leadpath_session=%s; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000", token);
  lp_reply_header(r, "Set-Cookie", cookie);
  lp_reply_header(r, "Cache-Control", "no-store");
  return lp_reply(r, 200, json_pack("{s:s, s:s, s:o}", "token", token, "csrf_token", csrf, "user", user));
}

lp_code h_auth_logout(lp_req *r) {
  int cookie;
  const char *tok = request_token(r, &cookie);
  sc_forget(tok);
  lp_code rc = lp_logout(r->app->store, tok, &r->err);
  if (rc != LP_OK) return rc;
  lp_reply_header(r, "Set-Cookie", "leadpath_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
  return lp_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

lp_code h_me(lp_req *r) {
  lp_actor *a = &r->actor;
  json_t *user = json_pack("{s:I, s:s, s:s, s:s, s:o, s:b}", "id", (json_int_t)a->id, "email", a->email, "name", a->name,
                           "role", a->role, "manager_id", a->manager_id ? json_integer(a->manager_id) : json_null(), "active", 1);
  /* what the caller may do, so a client shows only what works (store/people.h) */
  lp_db *db = lp_req_db(r);
  json_t *can = db ? lp_actor_rights(db, a, &r->err) : NULL;
  if (!can) { json_decref(user); return r->err.code; }
  return lp_reply(r, 200, json_pack("{s:o, s:s, s:o}", "user", user, "csrf_token", csrf_buf, "can", can));
}
