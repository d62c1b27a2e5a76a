/* reminders.c — the periodic sweep: a notification to the assignee of each open task whose due
 * time has come (within the last day; older overdue tasks are on the dashboard already), once per
 * task — tasks.reminded_at records it, and moving a task's due time arms the reminder again.
 * The sweep also prunes finished jobs. It runs as one job per time slot (see jobs.c), so with
 * several servers every reminder is sent once. */
#include "jobs/jobs.h"
#include "store/rows.h"
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
      char *txt = json_dumps(data, JSON_COMPACT);
      json_decref(data);
      args = json_pack("[O, O, s, I]", asg, json_object_get(t, "lead_id"), txt, (json_int_t)c->now);
      free(txt);
      rc = lp_exec(db, "INSERT INTO notifications(user_id, kind, lead_id, data, created_at) VALUES ($1, 'task_due', $2, $3, $4)", args, err);
      json_decref(args);
      if (rc != LP_OK) break;
      c->sent++;
    }
    args = json_pack("[O, I]", json_object_get(t, "id"), (json_int_t)c->now);
    rc = lp_exec(db, "UPDATE tasks SET reminded_at = $2 WHERE id = $1", args, err);
    json_decref(args);
    if (rc != LP_OK) break;
  }
  json_decref(rows);
  if (rc == LP_OK) rc = lp_jobs_prune(db, c->now, err);
  return rc;
}

lp_code lp_job_reminders(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  remind_ctx c = {now, 0, 0};
  int total = 0;
  do {
    if (lp_store_write(s, remind_fn, &c, err) != LP_OK) return LP_EUNAVAILABLE;
    total += c.sent;
  } while (c.more);
  job->result = json_pack("{s:i}", "reminders", total);
  return LP_OK;
}
