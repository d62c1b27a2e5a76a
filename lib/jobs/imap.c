/* imap.c — incoming e-mail from an IMAP mailbox: the periodic `imap_poll` job and its offer.
 *
 * Settings: imap_url (imap://host[:port]/MAILBOX or imaps://…), imap_username, imap_password,
 * imap_poll_seconds (0: off). Every imap_poll_seconds each server offers the slot's job under a
 * unique key (and only while no poll is queued or running), so one poll runs at a time however
 * many servers share the database.
 *
 * A poll (libcurl): STATUS gives the mailbox's UIDVALIDITY; `UID SEARCH UID <last+1>:*` the new
 * messages; each is fetched by its URL (MAILBOX;UID=N) and handed, raw, to the same path as
 * POST /inbound/email (msg/mime.c lp_mail_parse, store/threads.c lp_inbound_email: matching,
 * dedupe, bounces, new leads). The UID is recorded in imap_state only after its message is
 * stored, so a crash in between fetches it again and the inbound dedupe (same Message-ID, sender
 * and body) stores it once. A new UIDVALIDITY starts over from the first message, dedupe again
 * keeping what was stored. The mailbox is left as it is: nothing is deleted, moved or flagged; a
 * fetch marks a message \Seen on the server, so one that was unseen is marked unseen again.
 * A server that cannot be reached makes the job LP_EUNAVAILABLE: it is tried again after the
 * poll interval, and the next poll continues from the last UID stored. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include "jobs/jobs.h"
#include "store/lists.h"
#include "msg/mime.h"
#include "store/rows.h"
#include "store/threads.h"
#include "util/buf.h"

#define MAX_PER_POLL 200           /* messages per poll; the next poll goes on from there */
#define MAX_MESSAGE (25u << 20)    /* a bigger message is skipped (and recorded as such) */

static const char *sget(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s && *s ? s : NULL;
}

/* ---------------------------------------------------------------- offering the poll */

typedef struct { int64_t slot, period, now; } offer_ctx;

static lp_code offer_fn(lp_db *db, void *p, lp_err *err) {
  offer_ctx *c = p;
  int64_t busy = lp_query_int(db, "SELECT count(*) FROM jobs WHERE kind = 'imap_poll' AND status IN ('queued', 'running')",
                              NULL, -1, err);
  if (busy < 0) return err->code;
  if (busy > 0) return LP_OK;   /* one poll at a time: a retry waiting counts */
  char key[64];
  snprintf(key, sizeof key, "imap_poll:%lld:%lld", (long long)c->period, (long long)c->slot);
  json_t *payload = json_pack("{s:I}", "period", (json_int_t)c->period);
  lp_code rc = lp_job_enqueue(db, "imap_poll", NULL, 0, payload, c->slot * c->period, c->now, 0, 0, key, NULL, err);
  json_decref(payload);
  return rc;
}

void lp_jobs_offer_imap(lp_store *s, lp_polls *p, int64_t now) {
  if (now != p->read_at) {   /* the settings are read at most once a second */
    p->read_at = now;
    lp_err e = LP_ERR_INIT;
    lp_db *db = lp_store_reader(s, &e);
    json_t *st = db ? lp_settings_raw(db, &e) : NULL;
    lp_err_release(&e);
    if (!st) return;
    int64_t period = json_integer_value(json_object_get(st, "imap_poll_seconds"));
    p->period = sget(st, "imap_url") ? period : 0;
    json_decref(st);
  }
  if (p->period <= 0) return;
  int64_t slot = now / p->period;
  if (slot == p->last_slot) return;
  offer_ctx c = {slot, p->period, now};
  lp_err e = LP_ERR_INIT;
  if (lp_store_write(s, offer_fn, &c, &e) == LP_OK) p->last_slot = slot;
  lp_err_release(&e);
}

/* ---------------------------------------------------------------- talking IMAP */

typedef struct {
  const char *url, *user, *pass;
  char base[600];       /* scheme://host:port/ */
  char mailbox[600];    /* decoded, e.g. INBOX */
  char box_url[1200];   /* the mailbox's URL without query or credentials */
  char cerr[CURL_ERROR_SIZE];
  CURL *cu;             /* one handle (and connection) per poll */
} imap_conn;

static size_t keep_cb(char *p, size_t sz, size_t n, void *ud) {
  lp_buf *b = ud;   /* past its cap (MAX_MESSAGE) the transfer fails with b->overflow set */
  return lp_buf_add(b, p, sz * n) == 0 ? sz * n : 0;
}

/* One IMAP request: url with an optional custom command; the answer's data lands in out. The
 * handle is kept for the whole poll, so libcurl keeps one logged-in connection (and knows which
 * mailbox it selected) from request to request. */
static CURLcode imap_do(imap_conn *c, const char *url, const char *custom, lp_buf *out) {
  if (!c->cu && !(c->cu = curl_easy_init())) return CURLE_OUT_OF_MEMORY;
  CURL *cu = c->cu;
  curl_easy_reset(cu);   /* options only: the connection stays */
  c->cerr[0] = 0;
  curl_easy_setopt(cu, CURLOPT_URL, url);
  curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "imap,imaps");
  if (c->user) {
    curl_easy_setopt(cu, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(cu, CURLOPT_PASSWORD, c->pass ? c->pass : "");
  }
  if (custom) curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, custom);
  curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, keep_cb);
  curl_easy_setopt(cu, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(cu, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, c->cerr);
  return curl_easy_perform(cu);
}

static lp_code imap_fail(imap_conn *c, CURLcode cc, const char *what, lp_err *err) {
  return lp_fail(err, LP_EUNAVAILABLE, "The IMAP server %s: %s", what, c->cerr[0] ? c->cerr : curl_easy_strerror(cc));
}

/* Splits imap_url into the server's base URL and the mailbox (INBOX when none is named). */
static lp_code imap_parse_url(imap_conn *c, lp_err *err) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  lp_code rc = LP_OK;
  if (!u || curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      (strcmp(scheme, "imap") && strcmp(scheme, "imaps"))) {
    rc = lp_fail(err, LP_EVALIDATION, "imap_url is not an imap:// or imaps:// URL");
  } else {
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE);
    const char *box = path && path[0] == '/' ? path + 1 : path ? path : "";
    size_t n = strcspn(box, ";/");   /* ;UID=… and the like are ours to add, not the setting's */
    snprintf(c->mailbox, sizeof c->mailbox, "%.*s", (int)(n ? n : 5), n ? box : "INBOX");
    snprintf(c->base, sizeof c->base, "%s://%s%s%s/", scheme, host, port ? ":" : "", port ? port : "");
    char *enc = curl_easy_escape(NULL, c->mailbox, 0);
    snprintf(c->box_url, sizeof c->box_url, "%s%s", c->base, enc ? enc : "INBOX");
    curl_free(enc);
    if (strchr(c->mailbox, '"') || strchr(c->mailbox, '\\') || strchr(c->mailbox, '\r') || strchr(c->mailbox, '\n'))
      rc = lp_fail(err, LP_EVALIDATION, "imap_url names a mailbox leadpath cannot quote");
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  return rc;
}

/* The number after `key` in text (e.g. "UIDVALIDITY 17"), or -1. */
static int64_t number_after(const char *text, const char *key) {
  const char *p = strstr(text, key);
  if (!p) return -1;
  p += strlen(key);
  while (*p == ' ') p++;
  char *end;
  long long v = strtoll(p, &end, 10);
  return end == p ? -1 : v;
}

/* The UIDs of "* SEARCH 3 4 5" lines above `after`, ascending (new reference). */
static json_t *search_uids(const char *text, int64_t after) {
  json_t *a = json_array();
  for (const char *p = strstr(text, "SEARCH"); p; p = strstr(p, "SEARCH")) {
    p += 6;
    while (*p && *p != '\r' && *p != '\n') {
      while (*p == ' ') p++;
      char *end;
      long long v = strtoll(p, &end, 10);
      if (end == p) break;
      if (v > after) json_array_append_new(a, json_integer(v));
      p = end;
    }
  }
  /* servers answer in ascending order; sort anyway (small arrays) */
  size_t n = json_array_size(a);
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && json_integer_value(json_array_get(a, j - 1)) > json_integer_value(json_array_get(a, j)); j--) {
      json_t *t = json_incref(json_array_get(a, j));
      json_array_set(a, j, json_array_get(a, j - 1));
      json_array_set_new(a, j - 1, t);
    }
  return a;
}

static int has_uid(json_t *a, int64_t uid) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (json_integer_value(v) == uid) return 1;
  return 0;
}

/* ---------------------------------------------------------------- the state in the store */

typedef struct { const char *mailbox; int64_t uidvalidity, last_uid, now; int reset; } state_ctx;

static lp_code state_fn(lp_db *db, void *p, lp_err *err) {
  state_ctx *c = p;
  json_t *args = json_pack("[s, I, I, I, i]", c->mailbox, (json_int_t)c->uidvalidity, (json_int_t)c->last_uid,
                           (json_int_t)c->now, c->reset);
  /* last_uid only rises while UIDVALIDITY stays (two polls may overlap after a lease ran out) */
  lp_code rc = lp_exec(db, "INSERT INTO imap_state(mailbox, uidvalidity, last_uid, updated_at) VALUES ($1, $2, $3, $4)"
                           " ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at,"
                           " last_uid = CASE WHEN $5 = 1 OR imap_state.uidvalidity <> excluded.uidvalidity"
                           " OR excluded.last_uid > imap_state.last_uid THEN excluded.last_uid ELSE imap_state.last_uid END",
                   args, err);
  json_decref(args);
  return rc;
}

static lp_code state_save(lp_store *s, const char *mailbox, int64_t uidvalidity, int64_t last_uid, int reset,
                          int64_t now, lp_err *err) {
  state_ctx c = {mailbox, uidvalidity, last_uid, now, reset};
  return lp_store_write(s, state_fn, &c, err);
}

/* ---------------------------------------------------------------- the job */

lp_code lp_job_imap_poll(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  int64_t period = json_integer_value(json_object_get(job->payload, "period"));
  job->retry_at = now + (period > 0 ? period : 60);   /* a failed poll is tried again at the next interval */
  lp_db *db = lp_store_reader(s, err);
  if (!db) return LP_EUNAVAILABLE;
  json_t *st = lp_settings_raw(db, err);
  if (!st) return LP_EUNAVAILABLE;
  imap_conn c = {.url = sget(st, "imap_url"), .user = sget(st, "imap_username"), .pass = sget(st, "imap_password")};
  if (!c.url) {
    job->result = json_pack("{s:s}", "note", "IMAP polling is off (no imap_url)");
    json_decref(st);
    return LP_OK;
  }
  lp_code rc = imap_parse_url(&c, err);
  json_t *state = NULL, *uids = NULL, *seen = NULL;
  int stored = 0, skipped = 0;
  int64_t uidvalidity = 0, last = 0;
  lp_buf out = LP_BUF_INIT(MAX_MESSAGE), cmd = LP_BUF_INIT(1024);
  if (rc != LP_OK) goto done;
  /* where we stand */
  json_t *args = json_pack("[s]", c.box_url);
  state = lp_query_one(db, "SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = $1", args, err);
  json_decref(args);
  if (!state && err->code) { rc = LP_EUNAVAILABLE; goto done; }
  lp_err_release(err);
  *err = (lp_err)LP_ERR_INIT;
  /* the mailbox's UIDVALIDITY */
  lp_buf_printf(&cmd, "STATUS \"%s\" (UIDVALIDITY UIDNEXT)", c.mailbox);
  CURLcode cc = imap_do(&c, c.base, lp_buf_str(&cmd), &out);
  if (cc != CURLE_OK) { rc = imap_fail(&c, cc, "could not be asked for the mailbox's state", err); goto done; }
  uidvalidity = number_after(lp_buf_str(&out), "UIDVALIDITY");
  if (uidvalidity < 0) { rc = lp_fail(err, LP_EUNAVAILABLE, "The IMAP server did not tell the mailbox's UIDVALIDITY"); goto done; }
  if (state && json_integer_value(json_object_get(state, "uidvalidity")) == uidvalidity) {
    last = json_integer_value(json_object_get(state, "last_uid"));
  } else {   /* first poll, or the mailbox was rebuilt: from the beginning (dedupe keeps what we have) */
    rc = state_save(s, c.box_url, uidvalidity, 0, 1, now, err);
    if (rc != LP_OK) goto done;
  }
  int64_t uidnext = number_after(lp_buf_str(&out), "UIDNEXT");
  if (uidnext > 0 && uidnext <= last + 1) goto done;   /* nothing new */
  /* the new messages, and which of them were read already */
  lp_buf_reset(&out);
  lp_buf_reset(&cmd);
  lp_buf_printf(&cmd, "UID SEARCH UID %lld:*", (long long)(last + 1));
  cc = imap_do(&c, c.box_url, lp_buf_str(&cmd), &out);
  if (cc != CURLE_OK) { rc = imap_fail(&c, cc, "could not be searched", err); goto done; }
  uids = search_uids(lp_buf_str(&out), last);   /* "n:*" names the last message even when it is below n */
  if (!json_array_size(uids)) goto done;
  lp_buf_reset(&out);
  lp_buf_reset(&cmd);
  lp_buf_printf(&cmd, "UID SEARCH UID %lld:* SEEN", (long long)(last + 1));
  cc = imap_do(&c, c.box_url, lp_buf_str(&cmd), &out);
  if (cc != CURLE_OK) { rc = imap_fail(&c, cc, "could not be searched", err); goto done; }
  seen = search_uids(lp_buf_str(&out), last);
  size_t i;
  json_t *v;
  json_array_foreach(uids, i, v) {
    if (i >= MAX_PER_POLL) break;
    int64_t uid = json_integer_value(v);
    char url[1300];
    snprintf(url, sizeof url, "%s;UID=%lld", c.box_url, (long long)uid);
    lp_buf_reset(&out);
    out.overflow = 0;
    cc = imap_do(&c, url, NULL, &out);
    int too_big = cc == CURLE_WRITE_ERROR && out.overflow;
    if (cc != CURLE_OK && !too_big) { rc = imap_fail(&c, cc, "could not send a message", err); goto done; }
    lp_mail_in m = {0};
    lp_err pe = LP_ERR_INIT;
    lp_code prc = too_big ? lp_fail(&pe, LP_EVALIDATION, "too big") : lp_mail_parse(out.data ? out.data : "", out.len, &m, &pe);
    json_t *res = prc == LP_OK ? lp_inbound_email(s, NULL, &m, now, &pe) : NULL;
    lp_mail_in_release(&m);
    if (!res && (pe.code == LP_EUNAVAILABLE || pe.code == LP_EINTERNAL)) {   /* the store: try this one again */
      rc = lp_fail(err, LP_EUNAVAILABLE, "A fetched message could not be stored: %s", pe.message);
      lp_err_release(&pe);
      goto done;
    }
    if (res) stored++; else skipped++;   /* a message that can never be stored is passed over */
    json_decref(res);
    lp_err_release(&pe);
    if (!has_uid(seen, uid)) {   /* leave it unread, as it was */
      lp_buf tmp = LP_BUF_INIT(64);
      lp_buf_reset(&cmd);
      lp_buf_printf(&cmd, "UID STORE %lld -FLAGS.SILENT (\\Seen)", (long long)uid);
      imap_do(&c, c.box_url, lp_buf_str(&cmd), &tmp);
      lp_buf_release(&tmp);
    }
    rc = state_save(s, c.box_url, uidvalidity, uid, 0, now, err);
    if (rc != LP_OK) { rc = LP_EUNAVAILABLE; goto done; }
    last = uid;
  }
done:
  if (rc == LP_OK)
    job->result = json_pack("{s:s, s:I, s:I, s:i, s:i}", "mailbox", c.box_url, "uidvalidity", (json_int_t)uidvalidity,
                            "last_uid", (json_int_t)last, "stored", stored, "skipped", skipped);
  if (c.cu) curl_easy_cleanup(c.cu);
  json_decref(uids);
  json_decref(seen);
  json_decref(state);
  json_decref(st);
  lp_buf_release(&out);
  lp_buf_release(&cmd);
  return rc;
}
