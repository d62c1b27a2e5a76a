/* idempotency.c — Idempotency-Key. A request with a key on a route flagged R_IDEM runs once per
 * caller and key: its successful answer is kept, and the same request again gets that answer
 * back (Idempotent-Replayed: true) without running; the same key on a different request is a
 * 409. Within one process a retry waits for the first request with its key to finish. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "http/internal.h"
#include "store/idem.h"
#include "util/secret.h"

static pthread_mutex_t idem_mu[64];
static pthread_once_t idem_once = PTHREAD_ONCE_INIT;
static void idem_init(void) { for (int i = 0; i < 64; i++) pthread_mutex_init(&idem_mu[i], NULL); }
static _Thread_local int idem_lock = -1;
static _Thread_local char idem_hash[LP_TOKEN_LEN];

static void request_hash(lp_req *r, char out[LP_TOKEN_LEN]) {
  crypto_generichash_state st;
  unsigned char h[32];
  crypto_generichash_init(&st, NULL, 0, sizeof h);
  crypto_generichash_update(&st, (const unsigned char *)r->method, strlen(r->method));
  crypto_generichash_update(&st, (const unsigned char *)" ", 1);
  crypto_generichash_update(&st, (const unsigned char *)r->url, strlen(r->url));
  crypto_generichash_update(&st, (const unsigned char *)" ", 1);
  if (r->body.len) crypto_generichash_update(&st, (const unsigned char *)r->body.data, r->body.len);
  if (r->upload) {  /* a body streamed to a file: its digest, taken as it arrived */
    unsigned char d[32];
    http_upload_digest(r, d);
    crypto_generichash_update(&st, d, sizeof d);
    static const char *const opts[] = {"dry_run", "on_duplicate", "mapping", "map"};  /* its options */
    for (int i = 0; i < 4; i++) {
      const char *q = lp_req_query(r, opts[i]);
      crypto_generichash_update(&st, (const unsigned char *)(q ? q : "\x01"), q ? strlen(q) + 1 : 1);
    }
  }
  crypto_generichash_final(&st, h, sizeof h);
  sodium_bin2hex(out, LP_TOKEN_LEN, h, sizeof h);
}

typedef struct { int64_t user; const char *key, *hash; int status; char *body; int64_t now; } idem_ctx;
static _Thread_local idem_ctx idem_claim_ctx;

/* Takes the key for this request. It rides with the request's first committed write, so a crash
 * between the change and keeping its answer cannot let a retry make it twice; another server
 * that took the key first makes this write fail, and with it the request's change. */
static lp_code idem_claim(lp_db *db, void *p, lp_err *err) {
  idem_ctx *c = p;
  return lp_idem_claim(db, c->user, c->key, c->hash, c->now, err);
}

lp_code lp_idem_begin(lp_req *r, const char *key, int *replayed) {
  *replayed = 0;
  if (strlen(key) > 200 || !*key) return lp_fail(&r->err, LP_EBADREQ, "Idempotency-Key must be 1 to 200 characters");
  pthread_once(&idem_once, idem_init);
  unsigned char k[8];
  crypto_generichash(k, sizeof k, (const unsigned char *)key, strlen(key), NULL, 0);
  idem_lock = k[0] % 64;
  /* One request per key at a time in this process: a retry waits for the first to finish. */
  pthread_mutex_lock(&idem_mu[idem_lock]);
  request_hash(r, idem_hash);
  lp_db *db = lp_req_db(r);
  if (!db) { pthread_mutex_unlock(&idem_mu[idem_lock]); idem_lock = -1; return r->err.code; }
  json_t *row = lp_idem_get(db, r->actor.id, key, &r->err);
  if (!row) {
    if (r->err.code == LP_OK) {  /* a new key: run the request, holding the lock */
      idem_claim_ctx = (idem_ctx){r->actor.id, key, idem_hash, 0, NULL, r->now};
      lp_store_ride(idem_claim, &idem_claim_ctx);
      return LP_OK;
    }
    pthread_mutex_unlock(&idem_mu[idem_lock]);
    idem_lock = -1;
    return r->err.code;
  }
  lp_code rc = LP_OK;
  if (strcmp(json_string_value(json_object_get(row, "request_hash")) ?: "", idem_hash) != 0) {
    rc = lp_fail(&r->err, LP_ECONFLICT, "This Idempotency-Key was used for a different request");
  } else if (json_integer_value(json_object_get(row, "status")) == 0) {
    /* Taken with its change, but no answer kept: running on another server right now, or the
     * server stopped between the change and its answer. It is not run twice. */
    rc = lp_fail(&r->err, LP_ECONFLICT, "The request with this Idempotency-Key was applied (or is running elsewhere), "
                 "but its answer was not kept; look the result up instead of retrying");
  } else {
    json_t *body = json_loads(json_string_value(json_object_get(row, "response")) ?: "{}", 0, NULL);
    int status = (int)json_integer_value(json_object_get(row, "status"));
    /* The first answer's Location comes back too: a created lead's, a started job's. */
    char loc[64] = "";
    json_t *id = json_object_get(body, "id"), *job = json_object_get(body, "job_id");
    if (status == 202 && json_is_integer(job)) snprintf(loc, sizeof loc, "/api/v1/jobs/%lld", (long long)json_integer_value(job));
    else if (status == 201 && json_is_integer(id) && !strcmp(lp_routes[r->route].pattern, "/api/v1/leads"))
      snprintf(loc, sizeof loc, "/api/v1/leads/%lld", (long long)json_integer_value(id));
    lp_reply(r, status, body ? body : json_object());
    if (*loc) lp_reply_header(r, "Location", loc);
    lp_reply_header(r, "Idempotent-Replayed", "true");
    *replayed = 1;
  }
  json_decref(row);
  pthread_mutex_unlock(&idem_mu[idem_lock]);
  idem_lock = -1;
  return rc;
}

static lp_code idem_save(lp_db *db, void *p, lp_err *err) {
  idem_ctx *c = p;
  return lp_idem_put(db, c->user, c->key, c->hash, c->status, c->body, c->now, err);
}

static lp_code idem_drop(lp_db *db, void *p, lp_err *err) {
  idem_ctx *c = p;
  return lp_idem_drop(db, c->user, c->key, err);
}

void lp_idem_end(lp_req *r, const char *key, lp_code rc) {
  int claimed = lp_store_ride_end();
  if (idem_lock < 0) return;
  /* the answer as it went out: a JSON body, or JSON text written straight (a created lead) */
  char *body = NULL;
  if (r->out) body = json_dumps(r->out, JSON_COMPACT);
  else if (r->raw && r->ctype && !strcmp(r->ctype, "application/json")) body = strndup(r->raw, r->raw_len);
  idem_ctx c = {r->actor.id, key, idem_hash, r->status, body, r->now};
  lp_err e = LP_ERR_INIT;
  /* the answer kept over the claim; a request that failed after it wrote gives its claim back */
  if (rc == LP_OK && r->status >= 200 && r->status < 300 && body) lp_store_write(r->app->store, idem_save, &c, &e);
  else if (claimed) lp_store_write(r->app->store, idem_drop, &c, &e);
  lp_err_release(&e);
  free(body);
  pthread_mutex_unlock(&idem_mu[idem_lock]);
  idem_lock = -1;
}
