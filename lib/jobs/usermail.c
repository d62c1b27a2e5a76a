/* usermail.c — the `digest` job (builds and queues the week's digests, store/digest.h) and the
 * `user_mail` job that delivers one e-mail to a user of leadpath (a user_mails row).
 *
 * Delivery follows the outbox's messages (deliver.c): the same SMTP sending and settings, exactly
 * once — the row's status is checked first, its Message-ID is stored before the first attempt and
 * reused by every retry; transient failures retry with the job's backoff, a permanent one (5xx,
 * not set up) or the last attempt marks the row failed with the reason. Each outcome is an audit
 * event (digest_sent, digest_failed). */
#include <stdlib.h>
#include <string.h>
#include "jobs/jobs.h"
#include "msg/mime.h"
#include "store/digest.h"
#include "store/lists.h"
#include "store/rows.h"

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static const char *str(json_t *o, const char *k) { const char *s = sget(o, k); return s && *s ? s : NULL; }

lp_code lp_job_digest(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  const char *slot = sget(job->payload, "slot");
  if (!slot) return lp_fail(err, LP_EVALIDATION, "a digest job needs its slot");
  int queued = 0;
  if (lp_digest_queue(s, slot, now, &queued, err) != LP_OK) return LP_EUNAVAILABLE;
  job->result = json_pack("{s:s, s:i}", "slot", slot, "queued", queued);
  return LP_OK;
}

typedef struct { int64_t id, now; const char *status, *message_id, *error; } mark_ctx;

static lp_code mark_fn(lp_db *db, void *p, lp_err *err) {
  mark_ctx *c = p;
  json_t *args = json_pack("[I, s, s?, s?, I]", (json_int_t)c->id, c->status, c->message_id, c->error, (json_int_t)c->now);
  lp_code rc = lp_exec(db, "UPDATE user_mails SET status = $2, message_id = COALESCE($3, message_id), error = $4,"
                           " sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END WHERE id = $1 AND status = 'queued'", args, err);
  json_decref(args);
  if (rc != LP_OK || !strcmp(c->status, "queued")) return rc;
  json_t *data = json_pack("{s:s?}", "error", c->error);
  rc = lp_event(db, c->now, 0, 0, !strcmp(c->status, "sent") ? "digest_sent" : "digest_failed", "user_mails", c->id, data, err);
  json_decref(data);
  return rc;
}

static lp_code mark(lp_store *s, int64_t id, const char *status, const char *msgid, const char *error, int64_t now, lp_err *err) {
  mark_ctx c = {id, now, status, msgid, error};
  return lp_store_write(s, mark_fn, &c, err);
}

static lp_code fail(lp_store *s, lp_job *job, int64_t id, int permanent, int64_t now, lp_err *err, const char *why) {
  if (permanent || job->attempts >= job->max_attempts) {
    if (mark(s, id, "failed", NULL, why, now, err) != LP_OK) return LP_EUNAVAILABLE;
    job->result = json_pack("{s:s, s:s}", "status", "failed", "error", why);
    return LP_OK;
  }
  return lp_fail(err, LP_EUNAVAILABLE, "%s", why);
}

lp_code lp_job_user_mail(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return LP_EUNAVAILABLE;
  json_t *args = json_pack("[I]", (json_int_t)job->subject_id);
  json_t *m = lp_query_one(db, "SELECT * FROM user_mails WHERE id = $1", args, err);
  json_decref(args);
  if (!m) return err->code ? LP_EUNAVAILABLE : lp_fail(err, LP_ENOTFOUND, "no user mail %lld", (long long)job->subject_id);
  int64_t id = job->subject_id;
  if (strcmp(sget(m, "status"), "queued")) {  /* sent or failed already: never twice */
    job->result = json_pack("{s:s, s:s}", "status", sget(m, "status"), "note", "already handled");
    json_decref(m);
    return LP_OK;
  }
  json_t *st = lp_settings_raw(db, err);
  if (!st) { json_decref(m); return LP_EUNAVAILABLE; }
  lp_code rc;
  const char *from = str(st, "mail_from");
  if (!str(st, "smtp_host") || !from) {
    rc = fail(s, job, id, 1, now, err, "Email sending is not set up (smtp_host and mail_from in settings)");
    goto done;
  }
  const char *at = strchr(from, '@');
  const char *domain = str(st, "inbound_domain");
  lp_mail_out out = {
    .from = from, .from_name = str(st, "mail_from_name") ? str(st, "mail_from_name") : str(st, "company_name"),
    .to = sget(m, "to_addr"), .subject = sget(m, "subject"), .text = sget(m, "body"), .html = str(m, "html"),
    .date = now, .msgid_domain = domain ? domain : (at ? at + 1 : "localhost"), .message_id = str(m, "message_id"),
    .kind = LP_MAIL_AUTO_GENERATED,
  };
  lp_buf raw = LP_BUF_INIT(8 << 20);
  char msgid[LP_MSGID_MAX];
  lp_err e = LP_ERR_INIT;
  if (lp_mail_build(&out, &raw, msgid, &e) != LP_OK) {
    char why[300];
    snprintf(why, sizeof why, "The message could not be written: %s", e.message);
    lp_err_release(&e);
    lp_buf_release(&raw);
    rc = fail(s, job, id, 1, now, err, why);
    goto done;
  }
  if (!out.message_id) {  /* kept before the first attempt: a retry sends the same Message-ID */
    mark_ctx c = {id, now, "queued", msgid, NULL};
    if (lp_store_write(s, mark_fn, &c, err) != LP_OK) { lp_buf_release(&raw); rc = LP_EUNAVAILABLE; goto done; }
  }
  long code = 0;
  char cerr[256] = "";
  int cc = lp_smtp_send(st, sget(m, "to_addr"), raw.data, raw.len, &code, cerr);
  lp_buf_release(&raw);
  if (cc < 0) { rc = lp_fail(err, LP_EUNAVAILABLE, "out of memory"); goto done; }
  if (cc == 0) {
    rc = mark(s, id, "sent", msgid, NULL, now, err) == LP_OK ? LP_OK : LP_EUNAVAILABLE;
    if (rc == LP_OK) job->result = json_pack("{s:s, s:s}", "status", "sent", "message_id", msgid);
    goto done;
  }
  char why[400];
  snprintf(why, sizeof why, "The mail server %s: %s", code ? "refused it" : "could not be reached", cerr[0] ? cerr : "failed");
  if (code) snprintf(why + strlen(why), sizeof why - strlen(why), " (%ld)", code);
  rc = fail(s, job, id, code >= 500 || cc == 67 /* CURLE_LOGIN_DENIED */, now, err, why);
done:
  json_decref(st);
  json_decref(m);
  return rc;
}
