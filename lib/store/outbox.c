/* outbox.c — see outbox.h. */
#include "jobs/jobs.h"
#include "store/outbox.h"
#include "store/rows.h"

lp_code lp_outbox_queue(lp_db *db, const lp_actor *a, int64_t lead_id, const lp_plan_message *m, int64_t now, lp_err *err) {
  json_t *cols = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "thread_id", (json_int_t)m->thread_id, "lead_id",
                           (json_int_t)lead_id, "direction", "out", "channel", m->channel, "status", "queued", "kind", m->kind,
                           "created_at", (json_int_t)now, "created_by", (json_int_t)a->id);
  int64_t id = 0;
  lp_code rc = lp_insert(db, "messages", cols, &id, err);
  json_decref(cols);
  if (rc == LP_OK) {
    char ref[48];
    snprintf(ref, sizeof ref, "message:%lld", (long long)id);
    rc = lp_job_enqueue(db, "message", ref, id, NULL, now, now, a->id, 0, ref, NULL, err);
  }
  return rc;
}
