/* webhooks.c — webhook subscriptions and the delivery job (see webhooks.h). */
#include <ctype.h>
#include <pthread.h>
#include <curl/curl.h>
#include <string.h>
#include "jobs/jobs.h"
#include "jobs/webhooks.h"
#include "store/lists.h"
#include "store/notify.h"
#include "store/rows.h"
#include "util/buf.h"
#include "util/secret.h"

#define DELIVERY_TIMEOUT_S 10L

/* ",a,b," or "*" -> ["a", "b"] or ["*"] */
static json_t *events_present(const char *stored) {
  json_t *out = json_array();
  if (!stored || !strcmp(stored, "*")) { json_array_append_new(out, json_string("*")); return out; }
  const char *p = stored;
  while (*p) {
    while (*p == ',') p++;
    const char *e = strchr(p, ',');
    if (!e) e = p + strlen(p);
    if (e > p) json_array_append_new(out, json_stringn(p, (size_t)(e - p)));
    p = e;
  }
  return out;
}

static json_t *present(json_t *row, int with_secret) {
  json_t *o = json_pack("{s:O, s:O, s:o, s:b, s:o, s:o, s:O}", "id", json_object_get(row, "id"), "url", json_object_get(row, "url"),
                        "events", events_present(json_string_value(json_object_get(row, "events"))),
                        "active", (int)json_integer_value(json_object_get(row, "active")),
                        "created_at", lp_json_time(json_object_get(row, "created_at")),
                        "updated_at", lp_json_time(json_object_get(row, "updated_at")),
                        "version", json_object_get(row, "version"));
  if (with_secret) json_object_set(o, "secret", json_object_get(row, "secret"));
  /* the endpoint's health (the breaker, see the delivery job below) */
  json_object_set_new(o, "health", json_pack("{s:I, s:o, s:o, s:o, s:O}",
                                             "failures", (json_int_t)json_integer_value(json_object_get(row, "failures")),
                                             "failing_since", lp_json_time(json_object_get(row, "failing_since")),
                                             "retry_at", lp_json_time(json_object_get(row, "retry_at")),
                                             "paused_at", lp_json_time(json_object_get(row, "paused_at")),
                                             "last_error", json_object_get(row, "last_error") ?: json_null()));
  return o;
}

json_t *lp_webhook_list(lp_db *db, lp_err *err) {
  json_t *rows = lp_query(db, "SELECT * FROM webhooks ORDER BY id", NULL, err);
  if (!rows) return NULL;
  json_t *items = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_array_append_new(items, present(r, 0));
  json_decref(rows);
  return json_pack("{s:o, s:n}", "items", items, "next_cursor");
}

static json_t *webhook_row(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM webhooks WHERE id = $1", args, err);
  json_decref(args);
  if (!row && err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No webhook %lld", (long long)id);
  return row;
}

json_t *lp_webhook_get(lp_db *db, int64_t id, lp_err *err) {
  json_t *row = webhook_row(db, id, err);
  if (!row) return NULL;
  json_t *o = present(row, 0);
  json_decref(row);
  return o;
}

/* ---------------------------------------------------------------- validation */

/* An absolute http(s) URL as RFC 3986 writes it (the description's `format: uri`): ASCII only,
 * every character one a URI may hold (anything else, such as a space, `"`, `<`, `{` or a byte
 * over 0x7f, must be sent percent-encoded), every `%` followed by two hex digits, a host, and a
 * port of digits. */
static int url_ok(const char *u) {
  if (strlen(u) > 2000) return 0;
  if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) return 0;
  const char *host = u + (u[4] == 's' ? 8 : 7);
  if (!*host || *host == '/' || *host == '?' || *host == '#' || *host == ':') return 0;
  static const char allowed[] = "-._~:/?#[]@!$&'()*+,;=%";
  for (const char *p = u; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x80 || !(isalnum(c) || strchr(allowed, c))) return 0;
    if (c == '%' && !(isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]))) return 0;
  }
  size_t alen = strcspn(host, "/?#");
  const char *at = memchr(host, '@', alen);
  const char *hp = at ? at + 1 : host;
  size_t hlen = alen - (size_t)(hp - host);
  if (hlen == 0) return 0;
  if (*hp != '[') {  /* a port, when given, is digits (an IPv6 literal keeps its colons in brackets) */
    const char *colon = memchr(hp, ':', hlen);
    if (colon) {
      if (colon == hp) return 0;
      for (const char *q = colon + 1; q < hp + hlen; q++) if (!isdigit((unsigned char)*q)) return 0;
    }
  }
  return 1;
}

static int kind_ok(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 40) return 0;
  for (const char *p = k; *p; p++)
    if (!(islower((unsigned char)*p) || *p == '_')) return 0;
  return 1;
}

/* Validates body into cols {url, events, secret, active}; `creating` requires url. */
static void validate(json_t *body, int creating, json_t *cols, lp_err *err) {
  json_t *url = json_object_get(body, "url");
  if (url) {
    if (!json_is_string(url) || !url_ok(json_string_value(url)))
      lp_fail_field(err, "url", "must be an http:// or https:// URL with a host, in ASCII (percent-encode other characters)");
    else json_object_set(cols, "url", url);
  } else if (creating) {
    lp_fail_field(err, "url", "required");
  }
  json_t *ev = json_object_get(body, "events");
  if (ev) {
    int ok = json_is_array(ev) && json_array_size(ev) > 0 && json_array_size(ev) <= 64;
    int star = 0;
    lp_buf b = LP_BUF_INIT(4096);
    lp_buf_add(&b, ",", 1);
    size_t i;
    json_t *k;
    if (ok) json_array_foreach(ev, i, k) {
      const char *s = json_string_value(k);
      if (s && !strcmp(s, "*")) { star = 1; continue; }
      if (!s || !kind_ok(s)) { ok = 0; break; }
      lp_buf_add(&b, s, strlen(s));
      lp_buf_add(&b, ",", 1);
    }
    if (!ok) lp_fail_field(err, "events", "must be a list of event kinds (such as \"created\", \"closed\") or [\"*\"]");
    else json_object_set_new(cols, "events", json_string(star ? "*" : lp_buf_str(&b)));
    lp_buf_release(&b);
  } else if (creating) {
    json_object_set_new(cols, "events", json_string("*"));
  }
  json_t *sec = json_object_get(body, "secret");
  if (sec && !json_is_null(sec)) {
    size_t n = json_is_string(sec) ? json_string_length(sec) : 0;
    if (n < 16 || n > 200) lp_fail_field(err, "secret", "must be 16 to 200 characters");
    else json_object_set(cols, "secret", sec);
  } else if (creating) {
    char t[LP_TOKEN_LEN];
    lp_token_new(t);
    json_object_set_new(cols, "secret", json_string(t));
  }
  json_t *act = json_object_get(body, "active");
  if (act) {
    if (!json_is_boolean(act)) lp_fail_field(err, "active", "must be true or false");
    else json_object_set_new(cols, "active", json_integer(json_is_true(act)));
  } else if (creating) {
    json_object_set_new(cols, "active", json_integer(1));
  }
}

static lp_code need_admin(const lp_actor *a, lp_err *err) {
  return a->is_admin ? LP_OK : lp_fail(err, LP_EFORBIDDEN, "Only an admin may manage webhooks");
}

/* ---------------------------------------------------------------- writes */

typedef struct { const lp_actor *a; int64_t id, expect, now; json_t *cols; } wh_ctx;

static lp_code create_fn(lp_db *db, void *p, lp_err *err) {
  wh_ctx *c = p;
  json_t *cols = json_deep_copy(c->cols);
  json_object_set_new(cols, "created_by", json_integer(c->a->id));
  json_object_set_new(cols, "created_at", json_integer(c->now));
  json_object_set_new(cols, "updated_at", json_integer(c->now));
  lp_code rc = lp_insert(db, "webhooks", cols, &c->id, err);
  json_decref(cols);
  if (rc != LP_OK) return rc;
  json_t *data = json_pack("{s:O, s:o, s:b}", "url", json_object_get(c->cols, "url"),
                           "events", events_present(json_string_value(json_object_get(c->cols, "events"))),
                           "active", (int)json_integer_value(json_object_get(c->cols, "active")));
  rc = lp_event(db, c->now, 0, c->a->id, "webhook_created", "webhook", c->id, data, err);
  json_decref(data);
  return rc;
}

json_t *lp_webhook_create(lp_store *s, const lp_actor *a, json_t *body, int64_t now, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return NULL;
  json_t *cols = json_object();
  validate(body, 1, cols, err);
  wh_ctx c = {a, 0, -1, now, cols};
  if (err->code != LP_OK || lp_store_write(s, create_fn, &c, err) != LP_OK) { json_decref(cols); return NULL; }
  json_decref(cols);
  lp_db *db = lp_store_reader(s, err);
  json_t *row = db ? webhook_row(db, c.id, err) : NULL;
  if (!row) return NULL;
  json_t *o = present(row, 1);
  json_decref(row);
  return o;
}

/* The webhook a change is about, at the version the caller read (expect < 0: any). */
static json_t *webhook_for_write(lp_db *db, int64_t id, int64_t expect, lp_err *err) {
  json_t *row = webhook_row(db, id, err);
  if (row && expect >= 0 && json_integer_value(json_object_get(row, "version")) != expect) {
    json_decref(row);
    lp_fail(err, LP_EVERSION, "The webhook has changed; reload and try again");
    return NULL;
  }
  return row;
}

static lp_code update_fn(lp_db *db, void *p, lp_err *err) {
  wh_ctx *c = p;
  json_t *row = webhook_for_write(db, c->id, c->expect, err);
  if (!row) return err->code;
  json_t *changes = json_object();
  const char *k;
  json_t *v;
  json_t *before = present(row, 0);
  json_object_foreach(c->cols, k, v) {
    if (json_equal(v, json_object_get(row, k))) continue;
    if (!strcmp(k, "secret")) {  /* a secret's value never goes into the audit trail */
      json_object_set_new(changes, k, json_pack("{s:s, s:s}", "old", "***", "new", "***"));
      continue;
    }
    /* old and new as the API shows them (events a list, active a boolean) */
    json_t *nv = !strcmp(k, "events") ? events_present(json_string_value(v))
               : !strcmp(k, "active") ? json_boolean(json_integer_value(v)) : json_incref(v);
    json_object_set_new(changes, k, json_pack("{s:O, s:o}", "old", json_object_get(before, k), "new", nv));
  }
  json_decref(before);
  json_decref(row);
  lp_code rc = LP_OK;
  if (json_object_size(changes)) {
    json_t *set = json_deep_copy(c->cols);
    json_object_set_new(set, "updated_at", json_integer(c->now));
    if (json_integer_value(json_object_get(c->cols, "active")) == 1) {  /* switched back on: a fresh start */
      json_object_set_new(set, "failures", json_integer(0));
      json_object_set_new(set, "failing_since", json_null());
      json_object_set_new(set, "retry_at", json_null());
      json_object_set_new(set, "paused_at", json_null());
      json_object_set_new(set, "last_error", json_null());
    }
    rc = lp_update(db, "webhooks", c->id, set, -1, err);
    json_decref(set);
    json_t *data = json_pack("{s:O}", "changes", changes);
    if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "webhook_updated", "webhook", c->id, data, err);
    json_decref(data);
  }
  json_decref(changes);
  return rc;
}

json_t *lp_webhook_update(lp_store *s, const lp_actor *a, int64_t id, json_t *body, int64_t expect, int64_t now, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return NULL;
  json_t *cols = json_object();
  validate(body, 0, cols, err);
  wh_ctx c = {a, id, expect, now, cols};
  if (err->code != LP_OK || lp_store_write(s, update_fn, &c, err) != LP_OK) { json_decref(cols); return NULL; }
  json_decref(cols);
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_webhook_get(db, id, err) : NULL;
}

static lp_code delete_fn(lp_db *db, void *p, lp_err *err) {
  wh_ctx *c = p;
  json_t *row = webhook_for_write(db, c->id, c->expect, err);
  if (!row) return err->code;
  json_t *data = json_pack("{s:O}", "url", json_object_get(row, "url"));
  json_decref(row);
  char ref[40];
  snprintf(ref, sizeof ref, "webhook:%lld", (long long)c->id);
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  lp_code rc = lp_exec(db, "DELETE FROM webhooks WHERE id = $1", args, err);
  json_decref(args);
  args = json_pack("[s, I]", ref, (json_int_t)c->now);
  if (rc == LP_OK)
    rc = lp_exec(db, "UPDATE jobs SET status = 'failed', last_error = 'the webhook was deleted', finished_at = $2, updated_at = $2"
                     " WHERE ref = $1 AND status = 'queued'", args, err);
  json_decref(args);
  if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "webhook_deleted", "webhook", c->id, data, err);
  json_decref(data);
  return rc;
}

lp_code lp_webhook_delete(lp_store *s, const lp_actor *a, int64_t id, int64_t expect, int64_t now, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return err->code;
  wh_ctx c = {a, id, expect, now, NULL};
  return lp_store_write(s, delete_fn, &c, err);
}

json_t *lp_webhook_deliveries(lp_db *db, int64_t id, int limit, lp_err *err) {
  json_t *row = webhook_row(db, id, err);
  if (!row) return NULL;
  json_decref(row);
  char ref[40];
  snprintf(ref, sizeof ref, "webhook:%lld", (long long)id);
  json_t *args = json_pack("[s, i]", ref, limit);
  json_t *rows = lp_query(db, "SELECT * FROM jobs WHERE ref = $1 ORDER BY id DESC LIMIT $2", args, err);
  json_decref(args);
  if (!rows) return NULL;
  json_t *items = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    json_t *j = lp_job_present(r);
    json_t *res = json_object_get(j, "result");
    json_t *hs = json_object_get(res, "http_status");
    json_array_append_new(items, json_pack("{s:O, s:O, s:O, s:O, s:o, s:O, s:O, s:O, s:O}", "id", json_object_get(j, "id"),
                                           "event_id", json_object_get(r, "subject_id"), "status", json_object_get(j, "status"),
                                           "attempts", json_object_get(j, "attempts"),
                                           "http_status", json_integer_value(hs) > 0 ? json_incref(hs) : json_null(),
                                           "last_error", json_object_get(j, "last_error"), "created_at", json_object_get(j, "created_at"),
                                           "next_attempt_at", json_object_get(j, "next_attempt_at"),
                                           "finished_at", json_object_get(j, "finished_at")));
    json_decref(j);
  }
  json_decref(rows);
  return json_pack("{s:o, s:n}", "items", items, "next_cursor");
}

/* ---------------------------------------------------------------- the delivery job */

static size_t discard(char *p, size_t size, size_t n, void *u) { (void)p; (void)u; return size * n; }
static lp_code deliver(lp_job *job, json_t *hook, int64_t wid, lp_db *db, lp_err *err);

/* ---------------------------------------------------------------- the endpoint's breaker
 *
 * Deliveries to one endpoint fail and recover together. After a failed attempt the endpoint waits
 * (2 s, doubling to an hour) and every delivery queued for it waits with it: their run_at moves to
 * the end of the wait in the same write, so a dead endpoint costs one connection attempt per wait,
 * not one per delivery. A delivery claimed while the wait is on is deferred without using one of
 * its attempts. A success closes the breaker and brings the waiting deliveries forward. An
 * endpoint failing for webhook_pause_hours (default 24) is switched off (paused_at), the admins
 * are notified, and an event says why; an admin switches it back on with PATCH active: true.
 * Besides, at most webhook_max_in_flight deliveries (default 2) run at once per endpoint in one
 * server, so one slow receiver cannot hold every worker. */

#define BREAKER_BASE 2
#define BREAKER_MAX 3600
#define IN_FLIGHT_SLOTS 64

static pthread_mutex_t flight_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { int64_t id; int n; } flight[IN_FLIGHT_SLOTS];

/* Takes a delivery slot for webhook id (1) or says the endpoint is at its cap (0). */
static int flight_take(int64_t id, int cap) {
  pthread_mutex_lock(&flight_mu);
  int free_slot = -1, got = 0;
  for (int i = 0; i < IN_FLIGHT_SLOTS; i++) {
    if (flight[i].n > 0 && flight[i].id == id) {
      if (flight[i].n < cap) { flight[i].n++; got = 1; }
      free_slot = -2;
      break;
    }
    if (flight[i].n == 0 && free_slot == -1) free_slot = i;
  }
  if (free_slot >= 0) { flight[free_slot].id = id; flight[free_slot].n = 1; got = 1; }
  else if (free_slot == -1) got = 1;  /* more endpoints busy than slots: no cap rather than no delivery */
  pthread_mutex_unlock(&flight_mu);
  return got;
}

static void flight_give(int64_t id) {
  pthread_mutex_lock(&flight_mu);
  for (int i = 0; i < IN_FLIGHT_SLOTS; i++)
    if (flight[i].n > 0 && flight[i].id == id) { flight[i].n--; break; }
  pthread_mutex_unlock(&flight_mu);
}

static int64_t breaker_wait(int64_t failures) {
  int64_t d = BREAKER_BASE;
  for (int64_t i = 1; i < failures && d < BREAKER_MAX; i++) d *= 2;
  return d < BREAKER_MAX ? d : BREAKER_MAX;
}

typedef struct { int64_t id, now, pause_after, retry_at; const char *ref, *error; int ok, paused; } health_ctx;

static lp_code health_fn(lp_db *db, void *p, lp_err *err) {
  health_ctx *c = p;
  c->retry_at = 0;
  c->paused = 0;
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  json_t *row = lp_query_one(db, "SELECT failures, failing_since, active, url FROM webhooks WHERE id = $1", args, err);
  json_decref(args);
  if (!row) return err->code;  /* deleted meanwhile: nothing to keep */
  int64_t failures = json_integer_value(json_object_get(row, "failures"));
  json_t *since_j = json_object_get(row, "failing_since");
  int64_t since = json_is_integer(since_j) ? json_integer_value(since_j) : c->now;
  lp_code rc = LP_OK;
  if (c->ok) {
    if (failures > 0) {
      args = json_pack("[I]", (json_int_t)c->id);
      rc = lp_exec(db, "UPDATE webhooks SET failures = 0, failing_since = NULL, retry_at = NULL, last_error = NULL WHERE id = $1", args, err);
      json_decref(args);
      args = json_pack("[s, I]", c->ref, (json_int_t)c->now);
      if (rc == LP_OK)
        rc = lp_exec(db, "UPDATE jobs SET run_at = $2 WHERE ref = $1 AND status = 'queued' AND run_at > $2", args, err);
      json_decref(args);
    }
    json_decref(row);
    return rc;
  }
  failures++;
  c->retry_at = c->now + breaker_wait(failures);
  int pause = json_integer_value(json_object_get(row, "active")) && c->now - since >= c->pause_after;
  args = json_pack("[I, I, I, I, s, i, I]", (json_int_t)c->id, (json_int_t)failures, (json_int_t)since, (json_int_t)c->retry_at,
                   c->error, pause, (json_int_t)c->now);
  rc = lp_exec(db, "UPDATE webhooks SET failures = $2, failing_since = $3, retry_at = $4, last_error = $5,"
                   " active = CASE WHEN $6 = 1 THEN 0 ELSE active END,"
                   " paused_at = CASE WHEN $6 = 1 THEN $7 ELSE paused_at END WHERE id = $1", args, err);
  json_decref(args);
  args = json_pack("[s, I]", c->ref, (json_int_t)c->retry_at);
  if (rc == LP_OK)
    rc = lp_exec(db, "UPDATE jobs SET run_at = $2 WHERE ref = $1 AND status = 'queued' AND run_at < $2", args, err);
  json_decref(args);
  if (rc == LP_OK && pause) {
    c->paused = 1;
    json_t *data = json_pack("{s:O, s:s, s:I, s:I}", "url", json_object_get(row, "url"), "reason", c->error,
                             "failing_since", (json_int_t)since, "failures", (json_int_t)failures);
    rc = lp_event(db, c->now, 0, 0, "webhook_paused", "webhook", c->id, data, err);
    json_object_set_new(data, "webhook_id", json_integer(c->id));
    if (rc == LP_OK) rc = lp_notify_admins(db, "webhook_paused", 0, data, c->now, NULL, err);
    json_decref(data);
  }
  json_decref(row);
  return rc;
}

lp_code lp_job_webhook(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  int64_t wid = job->ref && !strncmp(job->ref, "webhook:", 8) ? strtoll(job->ref + 8, NULL, 10) : 0;
  lp_db *db = lp_store_reader(s, err);
  if (!db) return err->code;
  json_t *args = json_pack("[I]", (json_int_t)wid);
  json_t *hook = lp_query_one(db, "SELECT * FROM webhooks WHERE id = $1", args, err);
  json_decref(args);
  if (!hook) {
    if (err->code != LP_OK) return LP_EUNAVAILABLE;
    return lp_fail(err, LP_ENOTFOUND, "the webhook was deleted");
  }
  if (!json_integer_value(json_object_get(hook, "active"))) {
    int paused = json_is_integer(json_object_get(hook, "paused_at"));
    json_decref(hook);
    job->result = json_pack("{s:b, s:s}", "skipped", 1, "why", paused ? "the endpoint was paused after failing too long" : "switched off");
    return LP_OK;  /* switched off: the event is not delivered, later ones neither */
  }
  json_t *wait = json_object_get(hook, "retry_at");
  if (json_is_integer(wait) && json_integer_value(wait) > now) {
    job->deferred = 1;
    job->retry_at = json_integer_value(wait);
    json_decref(hook);
    return lp_fail(err, LP_EUNAVAILABLE, "the endpoint is failing; its deliveries wait together");
  }
  int64_t cap = lp_setting_int(db, "webhook_max_in_flight", 2, err);
  int64_t pause_hours = lp_setting_int(db, "webhook_pause_hours", 24, err);
  if (err->code != LP_OK) { json_decref(hook); return LP_EUNAVAILABLE; }
  if (!flight_take(wid, (int)cap)) {
    job->deferred = 1;
    job->retry_at = now + 1;
    json_decref(hook);
    return lp_fail(err, LP_EUNAVAILABLE, "the endpoint has %lld deliveries in flight", (long long)cap);
  }
  lp_code rc = deliver(job, hook, wid, db, err);
  flight_give(wid);
  lp_store_release(s);
  /* the endpoint's health, only when it changes: a healthy endpoint costs no write */
  int failures = (int)json_integer_value(json_object_get(hook, "failures"));
  if (rc == LP_EUNAVAILABLE || (rc == LP_OK && failures > 0)) {
    health_ctx h = {wid, now, pause_hours * 3600, 0, job->ref, rc == LP_OK ? NULL : err->message, rc == LP_OK, 0};
    lp_err he = LP_ERR_INIT;
    if (lp_store_write(s, health_fn, &h, &he) == LP_OK && rc == LP_EUNAVAILABLE) {
      job->retry_at = h.retry_at;
      if (h.paused) rc = lp_fail(err, LP_ECONFLICT, "the endpoint failed for %lld hours and was paused", (long long)pause_hours);
    }
    lp_err_release(&he);
  }
  json_decref(hook);
  return rc;
}

/* One attempt: POSTs the event the job carries to the webhook's URL. */
static lp_code deliver(lp_job *job, json_t *hook, int64_t wid, lp_db *db, lp_err *err) {
  json_t *args;
  args = json_pack("[I]", (json_int_t)job->subject_id);
  json_t *ev = lp_query_one(db, "SELECT * FROM events WHERE id = $1", args, err);
  json_decref(args);
  if (!ev) {
    if (err->code != LP_OK) return LP_EUNAVAILABLE;
    return lp_fail(err, LP_ENOTFOUND, "event %lld is gone", (long long)job->subject_id);
  }
  /* the body is the event as GET /api/v1/events shows it */
  json_t *body = lp_event_present(ev);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  char mac[LP_TOKEN_LEN], h_sig[128], h_id[64], h_hook[64], h_kind[96];
  lp_hmac_sha256_hex(json_string_value(json_object_get(hook, "secret")), text, strlen(text), mac);
  snprintf(h_sig, sizeof h_sig, "X-Leadpath-Signature: %s", mac);
  snprintf(h_id, sizeof h_id, "X-Leadpath-Delivery: %lld", (long long)job->id);
  snprintf(h_hook, sizeof h_hook, "X-Leadpath-Webhook: %lld", (long long)wid);
  snprintf(h_kind, sizeof h_kind, "X-Leadpath-Event: %s", json_string_value(json_object_get(ev, "kind")) ?: "");
  struct curl_slist *hdr = NULL;
  hdr = curl_slist_append(hdr, "Content-Type: application/json");
  hdr = curl_slist_append(hdr, "User-Agent: leadpath-webhook");
  hdr = curl_slist_append(hdr, h_sig);
  hdr = curl_slist_append(hdr, h_id);
  hdr = curl_slist_append(hdr, h_hook);
  hdr = curl_slist_append(hdr, h_kind);
  lp_code rc = LP_OK;
  CURL *cu = curl_easy_init();
  if (!cu) {
    rc = lp_fail(err, LP_EUNAVAILABLE, "could not start an HTTP client");
  } else {
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(cu, CURLOPT_URL, json_string_value(json_object_get(hook, "url")));
    curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(cu, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT, DELIVERY_TIMEOUT_S);
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, cerr);
    CURLcode cc = curl_easy_perform(cu);
    long status = 0;
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
    job->result = json_pack("{s:i, s:s}", "http_status", (int)status, "url", json_string_value(json_object_get(hook, "url")));
    if (cc != CURLE_OK) rc = lp_fail(err, LP_EUNAVAILABLE, "delivery failed: %s", cerr[0] ? cerr : curl_easy_strerror(cc));
    else if (status < 200 || status > 299) rc = lp_fail(err, LP_EUNAVAILABLE, "the receiver answered HTTP %ld", status);
    curl_easy_cleanup(cu);
  }
  curl_slist_free_all(hdr);
  free(text);
  json_decref(ev);
  return rc;
}
