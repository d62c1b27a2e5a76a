/* sweep.c — the periodic sweep, one job per time slot (see jobs.c), so with several servers each
 * notification below is sent once. Each part is its own transaction:
 *  - task reminders: the assignee of each open task whose due time has come (within the last day;
 *    older overdue tasks are on the dashboard already) gets `task_due`, once per task —
 *    tasks.reminded_at records it, and moving a task's due time arms the reminder again;
 *  - SLA breaches: each open lead is looked at once, when it becomes sla_breach_days old (a
 *    cursor over created_at in sweep_state); if its SLA is breached then (time waiting on the lead
 *    does not count) its owner gets `sla_breached`; if waiting time keeps it inside, an `sla_check`
 *    job looks again when it would breach;
 *  - approval escalation: a close or reopen waiting for approval longer than
 *    approval_escalation_hours (0: never) goes to the approver's manager, or to every admin when
 *    the approver has none (or none was named): `approval_escalated`, once per approval;
 *  - idle web chats: an open chat thread with no message for chat_idle_minutes (default 30)
 *    closes with thread_closed (by "idle"), through the planner like every thread close;
 *  - finished jobs older than a week are removed, and the hourly scoring run is offered (store/scoring.h),
 *    and the weekly digest once its day and hour have come (store/digest.h). */
#include <string.h>
#include "core/plan.h"
#include "jobs/jobs.h"
#include "store/approvals.h"
#include "store/chat.h"
#include "store/digest.h"
#include "store/leads.h"
#include "store/notify.h"
#include "store/rows.h"
#include "store/scoring.h"
#include "util/timefmt.h"

#define REMIND_WINDOW 86400
#define REMIND_BATCH 500

typedef struct { int64_t now; int sent, more; } remind_ctx;

static lp_code remind_fn(lp_db *db, void *p, lp_err *err) {
  remind_ctx *c = p;
  c->sent = c->more = 0;
  json_t *args = json_pack("[I, I, i]", (json_int_t)c->now, (json_int_t)(c->now - REMIND_WINDOW), REMIND_BATCH + 1);
  json_t *rows = lp_query(db, "SELECT id, lead_id, assignee_id, title, due_at FROM tasks WHERE status = 'open'"
                              " AND reminded_at IS NULL AND due_at <= $1 AND due_at > $2 ORDER BY due_at LIMIT $3", args, err);
  json_decref(args);
  if (!rows) return err->code;
  lp_code rc = LP_OK;
  size_t i;
  json_t *t;
  json_array_foreach(rows, i, t) {
    if (i == REMIND_BATCH) { c->more = 1; break; }
    json_t *asg = json_object_get(t, "assignee_id");
    if (json_is_integer(asg)) {
      char due[LP_TIME_LEN];
      lp_time_format(json_integer_value(json_object_get(t, "due_at")), due);
      json_t *data = json_pack("{s:O, s:O, s:s}", "task_id", json_object_get(t, "id"), "title", json_object_get(t, "title"), "due_at", due);
      rc = lp_notify(db, json_integer_value(asg), "task_due", json_integer_value(json_object_get(t, "lead_id")), data, c->now, err);
      json_decref(data);
      if (rc != LP_OK) break;
      c->sent++;
    }
    args = json_pack("[O, I]", json_object_get(t, "id"), (json_int_t)c->now);
    rc = lp_exec(db, "UPDATE tasks SET reminded_at = $2 WHERE id = $1", args, err);
    json_decref(args);
    if (rc != LP_OK) break;
  }
  json_decref(rows);
  return rc;
}


/* ---------------------------------------------------------------- SLA */

#define SLA_BATCH 500
typedef struct { int64_t now; int sent, more; } sla_ctx;

static int64_t state_get(lp_db *db, const char *name, int64_t dflt, lp_err *err) {
  json_t *args = json_pack("[s]", name);
  int64_t v = lp_query_int(db, "SELECT value FROM sweep_state WHERE name = $1", args, dflt, err);
  json_decref(args);
  return v;
}

static lp_code state_set(lp_db *db, const char *name, int64_t v, lp_err *err) {
  json_t *args = json_pack("[s, I]", name, (json_int_t)v);
  lp_code rc = lp_exec(db, "INSERT INTO sweep_state(name, value) VALUES ($1, $2)"
                           " ON CONFLICT(name) DO UPDATE SET value = excluded.value", args, err);
  json_decref(args);
  return rc;
}

/* One lead that has reached the breach age: notify, or look again when waiting time has run out. */
static lp_code sla_examine(lp_db *db, json_t *lead, lp_sla_cfg cfg, int64_t now, int *sent, lp_err *err) {
  int64_t id = json_integer_value(json_object_get(lead, "id"));
  int64_t ws = json_integer_value(json_object_get(lead, "waiting_seconds"));
  int64_t since = json_integer_value(json_object_get(lead, "waiting_since"));
  int64_t created = json_integer_value(json_object_get(lead, "created_at"));
  const char *sla = lp_sla_of(1, created, 0, ws, since, now, cfg.warn_days, cfg.breach_days);
  if (strcmp(sla, "breached") != 0) {
    /* waiting on the lead: the clock stands while it waits, so look again then */
    int64_t at = since > 0 ? now + 86400 : created + ws + cfg.breach_days * 86400;
    if (at <= now) at = now + 3600;
    char key[64];
    snprintf(key, sizeof key, "sla_check:%lld:%lld", (long long)id, (long long)at);
    json_t *p = json_pack("{s:I}", "lead_id", (json_int_t)id);
    lp_code rc = lp_job_enqueue(db, "sla_check", NULL, id, p, at, now, 0, 0, key, NULL, err);
    json_decref(p);
    return rc;
  }
  json_t *owner = json_object_get(lead, "owner_id");
  if (!json_is_integer(owner)) return LP_OK;
  json_t *data = json_pack("{s:O, s:I}", "full_name", json_object_get(lead, "full_name"), "breach_days", (json_int_t)cfg.breach_days);
  lp_code rc = lp_notify(db, json_integer_value(owner), "sla_breached", id, data, now, err);
  json_decref(data);
  if (rc == LP_OK) (*sent)++;
  return rc;
}

#define SLA_COLS "id, owner_id, full_name, created_at, waiting_seconds, waiting_since"

static lp_code sla_fn(lp_db *db, void *p, lp_err *err) {
  sla_ctx *c = p;
  c->sent = c->more = 0;
  lp_sla_cfg cfg = lp_sla_settings(db, c->now);
  int64_t cutoff = c->now - cfg.breach_days * 86400;
  /* the first sweep looks back one day, not over the whole history */
  int64_t from = state_get(db, "sla_created_cursor", cutoff - 86400, err);
  if (err->code != LP_OK) return err->code;
  if (from >= cutoff) return LP_OK;
  json_t *args = json_pack("[I, I, i]", (json_int_t)from, (json_int_t)cutoff, SLA_BATCH + 1);
  json_t *rows = lp_query(db, "SELECT " SLA_COLS " FROM leads WHERE status = 'open' AND deleted_at IS NULL"
                              " AND created_at > $1 AND created_at <= $2 ORDER BY created_at, id LIMIT $3", args, err);
  json_decref(args);
  if (!rows) return err->code;
  lp_code rc = LP_OK;
  int64_t upto = cutoff;
  size_t n = json_array_size(rows);
  if (n > SLA_BATCH) {
    /* stop before the batch's last created_at, so no lead with that time is skipped */
    upto = json_integer_value(json_object_get(json_array_get(rows, SLA_BATCH - 1), "created_at")) - 1;
    if (upto <= from) upto = json_integer_value(json_object_get(json_array_get(rows, SLA_BATCH - 1), "created_at"));
    c->more = 1;
  }
  size_t i;
  json_t *l;
  json_array_foreach(rows, i, l) {
    if (json_integer_value(json_object_get(l, "created_at")) > upto) break;
    if ((rc = sla_examine(db, l, cfg, c->now, &c->sent, err)) != LP_OK) break;
  }
  json_decref(rows);
  if (rc == LP_OK) rc = state_set(db, "sla_created_cursor", upto, err);
  return rc;
}

typedef struct { int64_t now, lead_id; int sent; } check_ctx;

static lp_code sla_check_fn(lp_db *db, void *p, lp_err *err) {
  check_ctx *c = p;
  c->sent = 0;
  json_t *args = json_pack("[I]", (json_int_t)c->lead_id);
  json_t *l = lp_query_one(db, "SELECT " SLA_COLS " FROM leads WHERE id = $1 AND status = 'open' AND deleted_at IS NULL", args, err);
  json_decref(args);
  if (!l) return err->code;  /* closed or deleted meanwhile: nothing to do */
  lp_code rc = sla_examine(db, l, lp_sla_settings(db, c->now), c->now, &c->sent, err);
  json_decref(l);
  return rc;
}

lp_code lp_job_sla_check(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  check_ctx c = {now, json_integer_value(json_object_get(job->payload, "lead_id")), 0};
  if (lp_store_write(s, sla_check_fn, &c, err) != LP_OK) return LP_EUNAVAILABLE;
  job->result = json_pack("{s:i}", "notified", c.sent);
  return LP_OK;
}

/* ---------------------------------------------------------------- approval escalation */

typedef struct { int64_t now; int sent; } esc_ctx;

static lp_code escalate_fn(lp_db *db, void *p, lp_err *err) {
  esc_ctx *c = p;
  return lp_approvals_escalate(db, c->now, &c->sent, err);
}

/* ---------------------------------------------------------------- idle chats */

typedef struct { int64_t now; int closed, more; } idle_ctx;

static lp_code idle_fn(lp_db *db, void *p, lp_err *err) {
  idle_ctx *c = p;
  return lp_chat_close_idle(db, c->now, &c->closed, &c->more, err);
}

/* ---------------------------------------------------------------- the job */

/* ... and the hourly scoring run (store/scoring.h) and the week's digest (store/digest.h) are offered */
static lp_code prune_fn(lp_db *db, void *p, lp_err *err) {
  lp_code rc = lp_jobs_prune(db, *(int64_t *)p, err);
  if (rc == LP_OK) rc = lp_scoring_offer(db, *(int64_t *)p, err);
  return rc == LP_OK ? lp_digest_offer(db, *(int64_t *)p, err) : rc;
}

lp_code lp_job_sweep(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  remind_ctx r = {now, 0, 0};
  int reminders = 0, sla = 0;
  do {
    if (lp_store_write(s, remind_fn, &r, err) != LP_OK) return LP_EUNAVAILABLE;
    reminders += r.sent;
  } while (r.more);
  sla_ctx sc = {now, 0, 0};
  do {
    if (lp_store_write(s, sla_fn, &sc, err) != LP_OK) return LP_EUNAVAILABLE;
    sla += sc.sent;
  } while (sc.more);
  esc_ctx ec = {now, 0};
  if (lp_store_write(s, escalate_fn, &ec, err) != LP_OK) return LP_EUNAVAILABLE;
  idle_ctx ic = {now, 0, 0};
  int chats = 0;
  do {
    if (lp_store_write(s, idle_fn, &ic, err) != LP_OK) return LP_EUNAVAILABLE;
    chats += ic.closed;
  } while (ic.more);
  if (lp_store_write(s, prune_fn, &now, err) != LP_OK) return LP_EUNAVAILABLE;
  job->result = json_pack("{s:i, s:i, s:i, s:i}", "reminders", reminders, "sla_breached", sla, "escalated", ec.sent, "chats_closed", chats);
  return LP_OK;
}
