/* jobs.h — background work as rows of one table.
 *
 * Webhook deliveries, task reminders, bulk actions over many leads: each is a job kind with a
 * handler. A job is a row in `jobs`; a worker claims due rows with a lease (on PostgreSQL with
 * FOR UPDATE SKIP LOCKED, so several servers on one database share the work and never take the
 * same row), runs the handler outside any transaction, and records the outcome only while it
 * still holds the lease. A crash leaves the row claimed until the lease runs out, then another
 * worker takes it: work is delayed, never lost. Whatever talks to the outside world sends the
 * job id as its delivery id, so a receiver can recognise a repeat after such a crash.
 *
 * Periodic work (the sweep: reminders, SLA breaches, approval escalation) is enqueued once per time slot under a unique key: every
 * server offers the slot's job, the database keeps one, one worker runs it.
 */
#ifndef LP_JOBS_H
#define LP_JOBS_H
#include <jansson.h>
#include <stdint.h>
#include "store/db.h"

typedef struct lp_job {
  int64_t id;
  const char *kind;
  const char *ref;        /* what the job is about, e.g. "webhook:3" (may be NULL) */
  int64_t subject_id;     /* e.g. the event a delivery carries */
  json_t *payload;        /* borrowed, never NULL */
  int attempts;           /* including this one */
  int max_attempts;
  int64_t created_by;
  /* set by the handler */
  json_t *result;         /* owned by the job once set (may stay NULL) */
  int64_t retry_at;       /* when the handler asks for a retry at a given time (0: backoff) */
  int64_t (*clock)(void);  /* the time now (long handlers renew their lease from it: lp_job_progress) */
  int deferred;           /* the handler did not try (e.g. its endpoint's breaker is open): with
                             LP_EUNAVAILABLE, the job waits for retry_at without using an attempt */
  /* The handler's own record of what it did (e.g. a message marked sent), written in the same
   * transaction as the job's outcome, with its batch's (lp_jobs_work); outcome_free(ctx) after. */
  lp_code (*outcome)(lp_db *db, void *ctx, lp_err *err);
  void *outcome_ctx;
  void (*outcome_free)(void *ctx);
} lp_job;
typedef lp_code (*lp_job_outcome_fn)(lp_db *db, void *ctx, lp_err *err);

/* A handler. LP_OK: done. LP_EUNAVAILABLE: try again later (with backoff) until max_attempts,
 * then failed. Any other code: failed now. The message in err is kept as the job's last_error. */
typedef lp_code (*lp_job_fn)(lp_store *s, lp_job *job, int64_t now, lp_err *err);
typedef struct lp_job_kind { const char *kind; lp_job_fn fn; } lp_job_kind;

/* Inside a write: adds a job due at run_at. unique_key (may be NULL) makes it once-only: a second
 * job with the same key is not added (and *id is 0). */
lp_code lp_job_enqueue(lp_db *db, const char *kind, const char *ref, int64_t subject_id, json_t *payload,
                       int64_t run_at, int64_t now, int64_t created_by, int total, const char *unique_key,
                       int64_t *id, lp_err *err);

/* Stopping: a server that is shutting down says so (lp_jobs_stop_request) and long handlers ask
 * (lp_jobs_stopping) between steps, to end early and be run again later. */
void lp_jobs_stop_request(void);
int lp_jobs_stopping(void);

/* Claims up to `max` due jobs for `worker` (a name unique to this thread and process), runs them
 * one after the other, then writes their outcomes and claims the next batch in one write; up to
 * `rounds` batches, then a last write of the outcomes. So a busy queue costs one commit per
 * batch, not two or three per job. A crash loses the outcomes of the batch that ran (at most
 * `max` jobs): their leases run out and they run again, which is why whatever talks to the
 * outside world carries a delivery id. Jobs of a batch not started before half the lease has
 * passed are handed back. clock gives the time (seconds; lib/ reads no clock). Returns how many
 * ran, or -1 with err set when the first claim failed. */
int lp_jobs_work(lp_store *s, const lp_job_kind *kinds, size_t nkinds, const char *worker, int64_t (*clock)(void), int max,
                 int rounds, lp_err *err);

/* The periodic jobs: offers the slot containing `now` of each sweep kind (every `period`
 * seconds) once. Cheap to call often; writes only when the slot is new to this process. */
typedef struct lp_sweeps { int64_t period, last_slot; } lp_sweeps;
void lp_jobs_offer_sweeps(lp_store *s, lp_sweeps *sw, int64_t now);

/* Progress of a long job (bulk): done/failed so far and the total. Also renews the job's lease
 * from `now` (the current time, not the time the job started), so call it at least every minute. */
lp_code lp_job_progress(lp_store *s, int64_t id, int done, int failed, int total, int64_t now, lp_err *err);

/* Inside a write: the progress of a job that keeps where it stands in the job row (an import:
 * the offset in its file), written in the same transaction as the work it counts, so a crash
 * never counts work twice or loses it. Only while the job is running with `expect_done` items
 * done (what the caller read when it started this piece): another worker that took the job over
 * meanwhile makes it LP_ECONFLICT and the caller's work rolls back. result (borrowed) replaces the
 * job's result. Renews the lease from `now`. */
lp_code lp_job_checkpoint(lp_db *db, int64_t id, int expect_done, int done, int failed, int total, json_t *result, int64_t now,
                          lp_err *err);

/* Inside a write: removes jobs finished more than a week ago (at most 1,000 per call). */
lp_code lp_jobs_prune(lp_db *db, int64_t now, lp_err *err);

/* A job as the API shows it, or NULL (err LP_ENOTFOUND when there is none). */
json_t *lp_job_get(lp_db *db, int64_t id, lp_err *err);
json_t *lp_job_present(json_t *row);
/* The newest 100 bulk and import jobs (kind, status: NULL for any), those `user` started unless
 * `admin`: rows as stored (new reference), or NULL with err set. */
json_t *lp_jobs_list(lp_db *db, const char *kind, const char *status, int64_t user, int admin, lp_err *err);

/* The built-in kinds. */
lp_code lp_job_webhook(lp_store *s, lp_job *job, int64_t now, lp_err *err);    /* webhooks.c */
lp_code lp_job_sweep(lp_store *s, lp_job *job, int64_t now, lp_err *err);      /* sweep.c */
lp_code lp_job_sla_check(lp_store *s, lp_job *job, int64_t now, lp_err *err);  /* sweep.c */
/* The `message` job (deliver.c): delivers one queued message of the outbox, by SMTP or an SMS gateway. */
lp_code lp_job_message(lp_store *s, lp_job *job, int64_t now, lp_err *err);
/* Sends data (RFC 5322 with CRLF, len bytes) to one recipient over the SMTP server of settings
 * (deliver.c, on the calling thread's kept connection). Answers libcurl's code (0: accepted; -1:
 * out of memory), the server's reply code in *code and the reason in cerr (256 bytes). */
int lp_smtp_send(json_t *settings, const char *to, const char *data, size_t len, long *code, char *cerr);
/* The weekly digest (store/digest.c): `digest` builds and queues one e-mail per manager and admin,
 * `user_mail` delivers one of them (usermail.c). */
lp_code lp_job_digest(lp_store *s, lp_job *job, int64_t now, lp_err *err);
lp_code lp_job_user_mail(lp_store *s, lp_job *job, int64_t now, lp_err *err);

/* Incoming e-mail from an IMAP mailbox (imap.c): the `imap_poll` job fetches what is new since
 * the last UID stored and hands it to store/threads.h lp_inbound_email. lp_jobs_offer_imap offers
 * the poll every imap_poll_seconds (read from the settings at most once a second) while imap_url
 * is set and no poll is queued or running; cheap to call often. */
typedef struct lp_polls { int64_t period, last_slot, read_at; } lp_polls;
void lp_jobs_offer_imap(lp_store *s, lp_polls *p, int64_t now);
lp_code lp_job_imap_poll(lp_store *s, lp_job *job, int64_t now, lp_err *err);
#endif
