/* deliver.c — the `message` job: delivers one queued message of the outbox (store/outbox.h).
 *
 * E-mail goes over SMTP (libcurl: smtp:// with STARTTLS when asked, or smtps://) as a MIME
 * message built by msg/mime.c: its own Message-ID, In-Reply-To and References naming the thread's
 * messages, a "Re:" subject kept by the planner, and Reply-To reply+<token>@<inbound domain> so
 * a reply finds its thread. SMS goes to an HTTP gateway speaking the common provider shape: a
 * form post of To, From and Body with basic auth, answered with the message's sid.
 *
 * Exactly once: the job runs under a lease and starts by reading the message; one that is not
 * `queued` any more was delivered (or failed) already and is left alone. An e-mail's Message-ID
 * is stored before the first attempt and reused by every retry, so should a crash fall between
 * the server's acceptance and our record of it, the copy sent again carries the same Message-ID
 * and mail systems treat it as the same message. Transient failures (connection, 4xx) are tried
 * again with backoff; a permanent one (5xx, no address, not set up), or the last attempt, marks
 * the message failed with the reason, on the lead's timeline and to its sender. */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "jobs/jobs.h"
#include "msg/mime.h"
#include "store/lists.h"
#include "store/outbox.h"
#include "store/rows.h"

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static const char *str(json_t *settings, const char *k) {
  const char *s = sget(settings, k);
  return s && *s ? s : NULL;
}

typedef struct { int64_t id, now; char *status, *message_id, *provider_id, *error; } mark_ctx;

/* The message's new state, written with the job's outcome (jobs.c: with the rest of the batch).
 * A message that is not there any more has nothing to record. */
static lp_code mark_fn(lp_db *db, void *p, lp_err *err) {
  mark_ctx *c = p;
  lp_code rc = lp_outbox_mark(db, c->id, c->status, c->message_id, c->provider_id, c->error, c->now, err);
  if (rc == LP_ENOTFOUND) { lp_err_release(err); return LP_OK; }
  return rc;
}

static void mark_free(void *p) {
  mark_ctx *c = p;
  free(c->status);
  free(c->message_id);
  free(c->provider_id);
  free(c->error);
  free(c);
}

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

static lp_code mark(lp_job *job, int64_t id, const char *status, const char *message_id, const char *provider_id,
                    const char *error, int64_t now, lp_err *err) {
  mark_ctx *c = calloc(1, sizeof *c);
  if (!c) return lp_fail(err, LP_EUNAVAILABLE, "out of memory");
  *c = (mark_ctx){id, now, dup0(status), dup0(message_id), dup0(provider_id), dup0(error)};
  job->outcome = mark_fn;
  job->outcome_ctx = c;
  job->outcome_free = mark_free;
  return LP_OK;
}

typedef struct { int64_t id; const char *message_id; } msgid_ctx;

static lp_code msgid_fn(lp_db *db, void *p, lp_err *err) {
  msgid_ctx *c = p;
  json_t *args = json_pack("[I, s]", (json_int_t)c->id, c->message_id);
  lp_code rc = lp_exec(db, "UPDATE messages SET message_id = $2 WHERE id = $1 AND message_id IS NULL", args, err);
  json_decref(args);
  return rc;
}

/* A failure: permanent (or the last attempt) marks the message failed; else the job retries. */
static lp_code fail(lp_store *s, lp_job *job, int64_t id, int permanent, int64_t now, lp_err *err, const char *why) {
  if (permanent || job->attempts >= job->max_attempts) {
    lp_err e = LP_ERR_INIT;
    lp_code rc = mark(job, id, "failed", NULL, NULL, why, now, &e);
    lp_err_release(&e);
    if (rc != LP_OK) return lp_fail(err, LP_EUNAVAILABLE, "could not record the failure: %s", why);
    job->result = json_pack("{s:s, s:s}", "status", "failed", "error", why);
    return LP_OK;
  }
  return lp_fail(err, LP_EUNAVAILABLE, "%s", why);
}

/* Each worker thread keeps one SMTP handle, so the connection to the mail server stays open
 * from one message to the next (libcurl keeps it in the handle's connection cache; one that the
 * server closed meanwhile is noticed and opened again). Freed when the thread ends. */
static pthread_key_t smtp_key;
static pthread_once_t smtp_once = PTHREAD_ONCE_INIT;
static void smtp_free(void *cu) { curl_easy_cleanup(cu); }
static void smtp_key_make(void) { pthread_key_create(&smtp_key, smtp_free); }

static CURL *smtp_handle(void) {
  pthread_once(&smtp_once, smtp_key_make);
  CURL *cu = pthread_getspecific(smtp_key);
  if (cu) { curl_easy_reset(cu); return cu; }  /* reset keeps the open connection */
  cu = curl_easy_init();
  if (cu) pthread_setspecific(smtp_key, cu);
  return cu;
}

/* Runs a prepared transfer with the shared limits; answers curl's code, the server's reply code
 * in *code, and the reason in cerr. keep: the handle is the thread's SMTP handle, kept open;
 * otherwise it is cleaned up. */
static CURLcode perform_on(CURL *cu, long timeout_s, char cerr[CURL_ERROR_SIZE], long *code, int keep) {
  curl_easy_setopt(cu, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, cerr);
  CURLcode cc = curl_easy_perform(cu);
  *code = 0;
  curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, code);
  if (!keep) curl_easy_cleanup(cu);
  else curl_easy_reset(cu);  /* no option may point at this call's buffers once it returns */
  return cc;
}

static CURLcode perform(CURL *cu, long timeout_s, char cerr[CURL_ERROR_SIZE], long *code) { return perform_on(cu, timeout_s, cerr, code, 0); }

typedef struct { const char *data; size_t len, pos; } upload;

static size_t read_cb(char *buf, size_t size, size_t n, void *p) {
  upload *u = p;
  size_t want = size * n, left = u->len - u->pos;
  if (want > left) want = left;
  memcpy(buf, u->data + u->pos, want);
  u->pos += want;
  return want;
}

static size_t keep_cb(char *buf, size_t size, size_t n, void *p) {
  lp_buf_add(p, buf, size * n);
  return size * n;
}

/* Sends raw (RFC 5322, CRLF) to one recipient over the settings' SMTP server on this thread's kept
 * handle (see jobs.h). */
int lp_smtp_send(json_t *settings, const char *to, const char *data, size_t len, long *code, char *cerr) {
  const char *host = str(settings, "smtp_host"), *from = str(settings, "mail_from");
  if (!host) host = "";
  if (!from) from = "";
  const char *tls = str(settings, "smtp_tls") ? str(settings, "smtp_tls") : "none";
  int64_t port = iget(settings, "smtp_port") ? iget(settings, "smtp_port") : (!strcmp(tls, "tls") ? 465 : 25);
  char url[400];
  snprintf(url, sizeof url, "%s://%s:%lld", !strcmp(tls, "tls") ? "smtps" : "smtp", host, (long long)port);
  char sender[300];
  snprintf(sender, sizeof sender, "<%s>", from);
  char rcpt_s[330];
  snprintf(rcpt_s, sizeof rcpt_s, "<%s>", to ? to : "");
  struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_s);
  upload u = {data, len, 0};
  CURL *cu = smtp_handle();
  if (!cu) { curl_slist_free_all(rcpt); return -1; }
  curl_easy_setopt(cu, CURLOPT_URL, url);
  curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (!strcmp(tls, "starttls")) curl_easy_setopt(cu, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  if (str(settings, "smtp_username")) {
    curl_easy_setopt(cu, CURLOPT_USERNAME, str(settings, "smtp_username"));
    curl_easy_setopt(cu, CURLOPT_PASSWORD, str(settings, "smtp_password") ? str(settings, "smtp_password") : "");
  }
  curl_easy_setopt(cu, CURLOPT_MAIL_FROM, sender);
  curl_easy_setopt(cu, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(cu, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(cu, CURLOPT_READDATA, &u);
  curl_easy_setopt(cu, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(cu, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
  CURLcode cc = perform_on(cu, 60L, cerr, code, 1);
  curl_slist_free_all(rcpt);
  return (int)cc;
}

static lp_code send_email(lp_store *s, lp_db *db, lp_job *job, json_t *msg, json_t *settings, int64_t now, lp_err *err) {
  int64_t id = iget(msg, "id");
  const char *host = str(settings, "smtp_host"), *from = str(settings, "mail_from");
  if (!host || !from) return fail(s, job, id, 1, now, err, "Email sending is not set up (smtp_host and mail_from in settings)");
  json_t *args = json_pack("[I]", (json_int_t)iget(msg, "thread_id"));
  json_t *thread = lp_query_one(db, "SELECT token, subject FROM threads WHERE id = $1", args, err);
  json_t *ids = lp_query(db, "SELECT message_id, direction FROM messages WHERE thread_id = $1 AND message_id IS NOT NULL"
                             " ORDER BY id DESC LIMIT 20", args, err);
  json_decref(args);
  if (!thread || !ids) { json_decref(thread); json_decref(ids); return lp_fail(err, LP_EUNAVAILABLE, "could not read the thread"); }
  /* References: the thread's Message-IDs, oldest first; In-Reply-To: the newest from the lead. */
  const char *refs[20];
  size_t nref = 0;
  const char *in_reply_to = NULL;
  for (size_t i = json_array_size(ids); i-- > 0;) {
    json_t *r = json_array_get(ids, i);
    if (sget(msg, "message_id") && !strcmp(sget(r, "message_id"), sget(msg, "message_id"))) continue;
    refs[nref++] = sget(r, "message_id");
    if (!strcmp(sget(r, "direction"), "in")) in_reply_to = sget(r, "message_id");
  }
  char reply_to[320] = "";
  const char *domain = str(settings, "inbound_domain");
  if (domain && sget(thread, "token")) lp_reply_address(sget(thread, "token"), domain, reply_to, sizeof reply_to);
  /* Files the message carries (a quote's PDF: store/quotemail.c), stored base64. */
  args = json_pack("[I]", (json_int_t)id);
  json_t *files = lp_query(db, "SELECT filename, content_type, data FROM message_attachments WHERE message_id = $1 ORDER BY id", args, err);
  json_decref(args);
  if (!files) { json_decref(thread); json_decref(ids); return lp_fail(err, LP_EUNAVAILABLE, "could not read the attachments"); }
  size_t nfiles = json_array_size(files);
  lp_mail_attachment *att = nfiles ? calloc(nfiles, sizeof *att) : NULL;
  unsigned char **bins = nfiles ? calloc(nfiles, sizeof *bins) : NULL;
  if (nfiles && (!att || !bins)) abort();
  for (size_t i = 0; i < nfiles; i++) {
    json_t *f = json_array_get(files, i);
    const char *b64 = sget(f, "data") ? sget(f, "data") : "";
    size_t cap = strlen(b64) / 4 * 3 + 3, len = 0;
    bins[i] = malloc(cap);
    if (!bins[i]) abort();
    if (sodium_base642bin(bins[i], cap, b64, strlen(b64), NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) len = 0;
    att[i] = (lp_mail_attachment){sget(f, "filename"), sget(f, "content_type"), bins[i], len};
  }
  const char *at = strchr(from, '@');
  lp_mail_out m = {
    .from = from, .from_name = str(settings, "mail_from_name") ? str(settings, "mail_from_name") : str(settings, "company_name"),
    .to = sget(msg, "to_addr"), .reply_to = reply_to[0] ? reply_to : NULL,
    .subject = sget(msg, "subject") ? sget(msg, "subject") : "", .text = sget(msg, "body") ? sget(msg, "body") : "",
    .in_reply_to = in_reply_to, .references = refs, .n_references = nref, .date = now,
    .msgid_domain = domain ? domain : (at ? at + 1 : "localhost"),
    .kind = sget(msg, "kind") ? LP_MAIL_AUTO_GENERATED : LP_MAIL_PERSONAL,
    .attachments = att, .n_attachments = nfiles,
  };
  lp_buf raw = LP_BUF_INIT(16 << 20);
  char msgid[LP_MSGID_MAX];
  lp_err e = LP_ERR_INIT;
  lp_code rc = lp_mail_build(&m, &raw, msgid, &e);
  if (rc == LP_OK && sget(msg, "message_id")) {
    /* a retry: the same Message-ID as the first attempt, in the header too */
    lp_buf_release(&raw);
    raw = (lp_buf)LP_BUF_INIT(16 << 20);
    m.message_id = sget(msg, "message_id");
    rc = lp_mail_build(&m, &raw, msgid, &e);
  }
  json_decref(ids);
  json_decref(thread);
  for (size_t i = 0; i < nfiles; i++) free(bins[i]);
  free(bins);
  free(att);
  json_decref(files);
  if (rc != LP_OK) {
    char why[300];
    snprintf(why, sizeof why, "The message could not be written: %s", e.message);
    lp_err_release(&e);
    lp_buf_release(&raw);
    return fail(s, job, id, 1, now, err, why);
  }
  if (!sget(msg, "message_id")) {
    msgid_ctx mc = {id, msgid};
    if (lp_store_write(s, msgid_fn, &mc, err) != LP_OK) { lp_buf_release(&raw); return LP_EUNAVAILABLE; }
  }
  char cerr[CURL_ERROR_SIZE] = "";
  long code;
  int cc = lp_smtp_send(settings, sget(msg, "to_addr"), raw.data, raw.len, &code, cerr);
  if (cc < 0) { lp_buf_release(&raw); return lp_fail(err, LP_EUNAVAILABLE, "out of memory"); }
  lp_buf_release(&raw);
  if (cc == CURLE_OK) {
    rc = mark(job, id, "sent", msgid, NULL, NULL, now, err);
    if (rc == LP_OK) job->result = json_pack("{s:s, s:s}", "status", "sent", "message_id", msgid);
    return rc == LP_OK ? LP_OK : LP_EUNAVAILABLE;
  }
  char why[400];
  snprintf(why, sizeof why, "The mail server %s: %s", code ? "refused it" : "could not be reached", cerr[0] ? cerr : curl_easy_strerror(cc));
  if (code) snprintf(why + strlen(why), sizeof why - strlen(why), " (%ld)", code);
  return fail(s, job, id, code >= 500 || cc == CURLE_LOGIN_DENIED, now, err, why);
}

static lp_code send_sms(lp_store *s, lp_job *job, json_t *msg, json_t *settings, int64_t now, lp_err *err) {
  int64_t id = iget(msg, "id");
  const char *url = str(settings, "sms_gateway_url"), *from = str(settings, "sms_from");
  if (!url || !from) return fail(s, job, id, 1, now, err, "SMS sending is not set up (sms_gateway_url and sms_from in settings)");
  CURL *cu = curl_easy_init();
  char *to = curl_easy_escape(cu, sget(msg, "to_addr") ? sget(msg, "to_addr") : "", 0);
  char *fr = curl_easy_escape(cu, from, 0);
  char *body = curl_easy_escape(cu, sget(msg, "body") ? sget(msg, "body") : "", 0);
  lp_buf form = LP_BUF_INIT(1 << 20), answer = LP_BUF_INIT(1 << 16);
  lp_buf_printf(&form, "To=%s&From=%s&Body=%s", to, fr, body);
  if (str(settings, "public_url")) {
    /* The provider reports delivery to POST /api/v1/inbound/sms/status (signed; see routes/conversations.c). */
    const char *base = str(settings, "public_url");
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    lp_buf cb = LP_BUF_INIT(4096);
    lp_buf_printf(&cb, "%.*s/api/v1/inbound/sms/status", (int)n, base);
    char *esc = curl_easy_escape(cu, lp_buf_str(&cb), 0);
    lp_buf_printf(&form, "&StatusCallback=%s", esc ? esc : "");
    curl_free(esc);
    lp_buf_release(&cb);
  }
  curl_free(to);
  curl_free(fr);
  curl_free(body);
  char cerr[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(cu, CURLOPT_URL, url);
  curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(cu, CURLOPT_POSTFIELDS, lp_buf_str(&form));
  curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)form.len);
  if (str(settings, "sms_account")) {
    curl_easy_setopt(cu, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(cu, CURLOPT_USERNAME, str(settings, "sms_account"));
    curl_easy_setopt(cu, CURLOPT_PASSWORD, str(settings, "sms_token") ? str(settings, "sms_token") : "");
  }
  curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, keep_cb);
  curl_easy_setopt(cu, CURLOPT_WRITEDATA, &answer);
  long code;
  CURLcode cc = perform(cu, 30L, cerr, &code);
  lp_buf_release(&form);
  json_t *j = json_loads(lp_buf_str(&answer), 0, NULL);
  lp_code rc;
  if (cc == CURLE_OK && code >= 200 && code < 300 && json_is_string(json_object_get(j, "sid"))) {
    rc = mark(job, id, "sent", NULL, sget(j, "sid"), NULL, now, err);
    if (rc == LP_OK) job->result = json_pack("{s:s, s:s}", "status", "sent", "sid", sget(j, "sid"));
    rc = rc == LP_OK ? LP_OK : LP_EUNAVAILABLE;
  } else {
    char why[400];
    if (cc != CURLE_OK) snprintf(why, sizeof why, "The SMS gateway could not be reached: %s", cerr[0] ? cerr : curl_easy_strerror(cc));
    else snprintf(why, sizeof why, "The SMS gateway refused it (%ld)%s%s", code, sget(j, "message") ? ": " : "", sget(j, "message") ? sget(j, "message") : "");
    rc = fail(s, job, id, cc == CURLE_OK && code >= 400 && code < 500 && code != 429, now, err, why);
  }
  json_decref(j);
  lp_buf_release(&answer);
  return rc;
}

lp_code lp_job_message(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return LP_EUNAVAILABLE;
  json_t *args = json_pack("[I]", (json_int_t)job->subject_id);
  json_t *msg = lp_query_one(db, "SELECT * FROM messages WHERE id = $1", args, err);
  json_decref(args);
  if (!msg) return err->code ? LP_EUNAVAILABLE : lp_fail(err, LP_ENOTFOUND, "no message %lld", (long long)job->subject_id);
  if (strcmp(sget(msg, "status"), "queued")) {  /* delivered or failed already: never twice */
    job->result = json_pack("{s:s, s:s}", "status", sget(msg, "status"), "note", "already handled");
    json_decref(msg);
    return LP_OK;
  }
  json_t *settings = lp_settings_raw(db, err);
  lp_code rc;
  if (!settings) rc = LP_EUNAVAILABLE;
  else if (!strcmp(sget(msg, "channel"), "email")) rc = send_email(s, db, job, msg, settings, now, err);
  else if (!strcmp(sget(msg, "channel"), "sms")) rc = send_sms(s, job, msg, settings, now, err);
  else rc = fail(s, job, iget(msg, "id"), 1, now, err, "Messages on this channel are not sent by the outbox");
  json_decref(settings);
  json_decref(msg);
  return rc;
}
