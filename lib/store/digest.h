/* digest.h — the weekly digest: an e-mail to each active manager and admin with the headline
 * figures of the last 7 days beside the 7 before, and a link to each report.
 *
 * The figures are the reports' own (store/reports.h, store/reports_flow.h) read with the
 * recipient as the actor, so each one sees the leads their leads.view allows (a manager the team,
 * an admin everyone). The days are whole UTC days, as the reports count them: the 7 days before
 * the day the digest is built, and the 7 before those.
 *
 * Delivery: one user_mails row per (kind 'digest', slot, user) and a `user_mail` job
 * (jobs/usermail.c) that sends it over SMTP like any message of the outbox. The slot of the weekly
 * run is the ISO week ("2026-W50", in the company time zone), so a week is sent once whoever offers
 * it, however often; `POST /reports/digest/send` uses a slot of its own ("now-<unix time>"). */
#ifndef LP_STORE_DIGEST_H
#define LP_STORE_DIGEST_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"

/* The digest actor a would get now: {subject, text, html, figures} (new reference), or NULL with
 * err set. */
json_t *lp_digest_build(lp_db *db, const lp_actor *a, int64_t now, lp_err *err);

/* Builds and queues the digest of every active manager and admin with an e-mail address for
 * slot (rows already queued for that slot are left alone). *queued: how many were queued now. */
lp_code lp_digest_queue(lp_store *s, const char *slot, int64_t now, int *queued, lp_err *err);

/* Inside a write (the sweep): offers the `digest` job of this week's slot once its time
 * (digest_weekday at digest_hour in time_zone) has come, for a day after it; nothing when
 * digest_weekday is 0. The job's unique key is the week, so every server and every sweep may
 * offer it. */
lp_code lp_digest_offer(lp_db *db, int64_t now, lp_err *err);

/* The week slot ("2026-W50") and the UTC instant the digest of that week is due, for now and
 * the settings (weekday 1-7, hour 0-23, tz_name NULL or "" for UTC). 0, or -1 when the zone cannot
 * be read. */
int lp_digest_slot(int64_t now, int weekday, int hour, const char *tz_name, char slot[16], int64_t *due);
#endif
