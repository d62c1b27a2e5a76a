/* bulk.c — POST /api/v1/leads/bulk: one action over many leads, each lead through the same
 * rules as its single-lead endpoint (visibility, policy, transition planner), each in its own
 * transaction, so one refusal does not undo the others. Up to 1,000 leads are done in the
 * request; more (up to 100,000) become a background job: 202 {"job_id"}, progress at
 * GET /api/v1/jobs/{id}. The job acts as the user who asked, with that user's rights when it runs. */
#include "app/clock.h"
#include "core/record.h"
#include "http/routes/handlers.h"
#include "jobs/jobs.h"
#include "store/leads.h"
#include "store/rows.h"
#include "store/users.h"

#define BULK_MAX 1000
#define BULK_JOB_MAX 100000
#define JOB_ERRORS_KEPT 1000

static const char *filter_get(void *ctx, const char *name) {
  json_t *f = ctx;
  if (!strcmp(name, "limit")) return "500";
  json_t *v = json_object_get(f, name);
  if (json_is_string(v)) return json_string_value(v);
  /* numbers and booleans in a filter object read like their query-string forms */
  static _Thread_local char buf[4][32];
  static _Thread_local int k;
  if (json_is_integer(v)) { k = (k + 1) % 4; snprintf(buf[k], sizeof buf[k], "%lld", (long long)json_integer_value(v)); return buf[k]; }
  if (json_is_true(v)) return "1";
  return NULL;
}

typedef struct { json_t *filter; const char *cursor; } page_ctx;
static const char *page_get(void *ctx, const char *name) {
  page_ctx *p = ctx;
  if (!strcmp(name, "cursor")) return p->cursor;
  return filter_get(p->filter, name);
}

/* The ids a filter selects, in list order; NULL with err set, or too many. */
static json_t *filter_ids(lp_req *r, json_t *filter) {
  if (json_object_get(filter, "q") && lp_lead_index_sync(r->app->store, LP_SEARCH_WAIT_MS, &r->err) != LP_OK) return NULL;
  lp_db *db = lp_req_db(r);
  if (!db) return NULL;
  json_t *ids = json_array();
  char *cursor = NULL;
  for (;;) {
    page_ctx pc = {filter, cursor};
    json_t *page = lp_lead_list(db, &r->actor, page_get, &pc, r->now, &r->err);
    free(cursor);
    cursor = NULL;
    if (!page) { json_decref(ids); return NULL; }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(page, "items"), i, l) json_array_append(ids, json_object_get(l, "id"));
    if (json_is_string(json_object_get(page, "next_cursor")) && json_array_size(ids) <= BULK_JOB_MAX)
      cursor = strdup(json_string_value(json_object_get(page, "next_cursor")));
    json_decref(page);
    if (!cursor) break;
  }
  return ids;
}

/* The lead's name when the caller may see it (a failed lead is listed by name), else NULL. */
static json_t *visible_name(lp_db *db, const lp_actor *a, int64_t id) {
  if (!db) return json_null();
  lp_err e = LP_ERR_INIT;
  json_t *row = lp_lead_row(db, id, &e), *name = NULL;
  if (row && lp_lead_visible(db, a, row, &e) == LP_OK && json_is_string(json_object_get(row, "full_name")))
    name = json_incref(json_object_get(row, "full_name"));
  json_decref(row);
  lp_err_release(&e);
  return name ? name : json_null();
}

/* Runs action over ids as actor a; returns the per-lead results (with a job: only the failures,
 * up to JOB_ERRORS_KEPT, and progress recorded every 100 leads). */
static json_t *bulk_run(lp_store *st, const lp_actor *a, const char *action, json_t *params, json_t *cols, json_t *ids,
                        int64_t now, int64_t job_id, int *ok_out, int *bad_out) {
  json_t *results = json_array();
  int ok_n = 0, bad_n = 0;
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    int64_t id = json_integer_value(v);
    lp_err e = LP_ERR_INIT;
    json_t *out = NULL;
    lp_move_result res = LP_MOVED;
    if (!strcmp(action, "delete")) {
      if (lp_lead_delete(st, a, id, -1, now, &e) == LP_OK) out = json_true();
    } else if (!strcmp(action, "close")) {
      out = lp_lead_move(st, a, id, LP_MOVE_CLOSE, params, 0, -1, now, &res, &e);
    } else if (!strcmp(action, "add_to_group")) {
      if (lp_lead_add_group(st, a, id, json_integer_value(json_object_get(params, "group_id")), now, &e) == LP_OK)
        out = json_true();
    } else {
      json_t *valid = NULL;
      if (lp_rec_input(&lp_rt_lead, cols, 0, a->is_admin, NULL, &valid, &e) == LP_OK)
        out = lp_lead_update(st, a, id, valid, -1, now, &e);
      json_decref(valid);
    }
    if (out) {
      ok_n++;
      if (!job_id) {
        json_t *item = json_pack("{s:I, s:b}", "id", (json_int_t)id, "ok", 1);
        if (res == LP_MOVE_APPROVAL_PENDING) json_object_set(item, "approval", json_object_get(out, "approval"));
        json_array_append_new(results, item);
      }
    } else {
      bad_n++;
      if (!job_id || json_array_size(results) < JOB_ERRORS_KEPT) {
        lp_err re = LP_ERR_INIT;
        json_t *name = visible_name(lp_store_reader(st, &re), a, id);
        lp_err_release(&re);
        json_array_append_new(results, json_pack("{s:I, s:o, s:b, s:o}", "id", (json_int_t)id, "full_name", name, "ok", 0,
                                                 "error", lp_error_json(&e)));
      }
    }
    json_decref(out);
    lp_err_release(&e);
    if (job_id && (i + 1) % 100 == 0) {
      lp_err pe = LP_ERR_INIT;
      lp_job_progress(st, job_id, ok_n + bad_n, bad_n, (int)json_array_size(ids), lp_clock_now(), &pe);
      lp_err_release(&pe);
    }
  }
  *ok_out = ok_n;
  *bad_out = bad_n;
  return results;
}

/* ---------------------------------------------------------------- the preview (?dry_run=1) */

/* Adds n to the count of the entry of arr whose key equals val (a new entry {key: val, name, leads}). */
static void tally(json_t *arr, const char *key, json_t *val, json_t *name) {
  size_t i;
  json_t *x;
  json_array_foreach(arr, i, x) if (json_equal(json_object_get(x, key), val)) {
    json_object_set_new(x, "leads", json_integer(json_integer_value(json_object_get(x, "leads")) + 1));
    return;
  }
  json_t *o = json_pack("{s:O, s:i}", key, val, "leads", 1);
  if (name) json_object_set(o, key[0] == 'c' ? "message" : "name", name);
  json_array_append_new(arr, o);
}

static void append_all(json_t *dst, json_t *src, int64_t lead_id) {
  size_t i;
  json_t *t;
  json_array_foreach(src, i, t) {
    json_t *c = json_pack("{s:O, s:I, s:O, s:O}", "id", json_object_get(t, "id"), "lead_id", (json_int_t)lead_id,
                          "title", json_object_get(t, "title"), "due_at", json_object_get(t, "due_at"));
    json_array_append_new(dst, c);
  }
}

/* Every lead's close planned, nothing changed: what would close, wait for approval or be refused
 * (and why), and the side effects summed up. Each lead: its own dry run (POST /leads/{id}/close
 * ?dry_run=1), in the caller's read snapshot. */
static json_t *bulk_preview(lp_req *r, json_t *params, json_t *ids) {
  lp_store *st = r->app->store;
  int close_n = 0, approval_n = 0, refused_n = 0, follow_n = 0, msg_n = 0, note_n = 0;
  json_t *items = json_array(), *done = json_array(), *cancelled = json_array(), *groups = json_array(), *reasons = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(ids, i, v) {
    int64_t id = json_integer_value(v);
    lp_err e = LP_ERR_INIT;
    lp_move_result res = LP_MOVED;
    json_t *out = lp_lead_move(st, &r->actor, id, LP_MOVE_CLOSE, params, 1, -1, r->now, &res, &e);
    json_t *plan = out ? json_object_get(out, "plan") : NULL;
    json_t *item;
    if (plan && json_array_size(json_object_get(plan, "missing")) == 0) {
      int appr = json_is_true(json_object_get(plan, "approval_required"));
      appr ? approval_n++ : close_n++;
      json_t *lead = json_object_get(plan, "lead");
      item = json_pack("{s:I, s:O, s:s, s:O, s:O, s:O}", "id", (json_int_t)id, "full_name", json_object_get(lead, "full_name"),
                       "result", appr ? "approval" : "close", "tasks_completed", json_object_get(plan, "tasks_completed"),
                       "tasks_cancelled", json_object_get(plan, "tasks_cancelled"), "follow_up", json_object_get(plan, "follow_up"));
      if (!appr) {  /* what an approval would bring is counted when it is approved */
        append_all(done, json_object_get(plan, "tasks_completed"), id);
        append_all(cancelled, json_object_get(plan, "tasks_cancelled"), id);
        if (json_is_object(json_object_get(plan, "follow_up"))) follow_n++;
        msg_n += (int)json_array_size(json_object_get(plan, "messages"));
        note_n += (int)json_array_size(json_object_get(plan, "notifications"));
        size_t k;
        json_t *g;
        json_array_foreach(json_object_get(plan, "groups"), k, g) tally(groups, "id", json_object_get(g, "id"), json_object_get(g, "name"));
      }
    } else {
      refused_n++;
      json_t *err;
      if (plan) {  /* planned, but a field the policy makes mandatory is missing: a real close answers 422 */
        json_t *fields = json_object();
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(plan, "missing"), k, m) json_object_set_new(fields, json_string_value(m), json_string("required"));
        err = json_pack("{s:s, s:s, s:o}", "code", "validation_failed", "message", "A field your role makes mandatory is missing",
                        "fields", fields);
      } else {
        err = lp_error_json(&e);
      }
      lp_err re = LP_ERR_INIT;
      json_t *name = plan ? json_incref(json_object_get(json_object_get(plan, "lead"), "full_name"))
                          : visible_name(lp_store_reader(st, &re), &r->actor, id);
      lp_err_release(&re);
      tally(reasons, "code", json_object_get(err, "code"), json_object_get(err, "message"));
      item = json_pack("{s:I, s:o, s:s, s:o}", "id", (json_int_t)id, "full_name", name, "result", "refused", "error", err);
    }
    json_array_append_new(items, item);
    json_decref(out);
    lp_err_release(&e);
  }
  return json_pack("{s:b, s:i, s:i, s:i, s:i, s:o, s:o, s:i, s:o, s:i, s:i, s:o, s:o}", "dry_run", 1,
                   "total", (int)json_array_size(ids), "will_close", close_n, "needs_approval", approval_n, "refused", refused_n,
                   "tasks_completed", done, "tasks_cancelled", cancelled, "follow_ups", follow_n, "groups", groups,
                   "messages", msg_n, "notifications", note_n, "refusals", reasons, "items", items);
}

static lp_code bulk_enqueue(lp_req *r, const char *action, json_t *params, json_t *cols, json_t *ids) {
  int total = (int)json_array_size(ids);
  json_t *payload = json_pack("{s:s, s:O, s:o, s:o}", "action", action, "params", params ? params : json_null(),
                              "cols", cols ? cols : json_null(), "ids", ids);
  lp_code rc = lp_reply_job(r, "bulk", payload, total, json_pack("{s:i}", "total", total));
  json_decref(payload);
  return rc;
}

/* The job: the same run, as the user who asked (lp_job_actor: as they are now). */
lp_code lp_job_bulk(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  lp_db *db;
  lp_actor a;
  lp_code arc = lp_job_actor(s, job, &db, &a, err);
  if (arc != LP_OK) return arc;
  json_t *p = job->payload;
  const char *action = json_string_value(json_object_get(p, "action"));
  json_t *ids = json_object_get(p, "ids");
  if (!action || !json_is_array(ids)) return lp_fail(err, LP_EBADREQ, "the job has no action or ids");
  int ok_n = 0, bad_n = 0;
  json_t *params = json_object_get(p, "params"), *cols = json_object_get(p, "cols");
  json_t *errors = bulk_run(s, &a, action, json_is_object(params) ? params : NULL, json_is_object(cols) ? cols : NULL,
                            ids, now, job->id, &ok_n, &bad_n);
  lp_job_progress(s, job->id, ok_n + bad_n, bad_n, (int)json_array_size(ids), lp_clock_now(), err);
  lp_err_release(err);
  job->result = json_pack("{s:i, s:i, s:o}", "succeeded", ok_n, "failed", bad_n, "errors", errors);
  return LP_OK;
}

lp_code h_leads_bulk(lp_req *r) {
  if (r->actor.perm[LP_ACT_BULK] != LP_ALLOW) return lp_fail(&r->err, LP_EFORBIDDEN, "Your role may not run bulk actions");
  const char *action = json_string_value(json_object_get(r->json, "action"));
  static const char *actions[] = {"close", "assign", "set_stage", "add_to_group", "delete"};
  int known = 0;
  for (size_t i = 0; action && i < sizeof actions / sizeof *actions; i++) if (!strcmp(action, actions[i])) known = 1;
  if (!known) lp_fail_field(&r->err, "action", action ? "must be close, assign, set_stage, add_to_group or delete" : "required");
  json_t *params = json_object_get(r->json, "params");
  if (params && !json_is_object(params)) lp_fail_field(&r->err, "params", "must be an object");
  json_t *ids_in = json_object_get(r->json, "ids"), *filter = json_object_get(r->json, "filter");
  if (!ids_in && !filter) lp_fail_field(&r->err, "ids", "give ids or a filter");
  if (ids_in && filter) lp_fail_field(&r->err, "filter", "give ids or a filter, not both");
  if (json_is_array(ids_in) && json_array_size(ids_in) == 0) lp_fail_field(&r->err, "ids", "must hold at least one lead id");
  if (ids_in && !json_is_array(ids_in)) lp_fail_field(&r->err, "ids", "must be an array of lead ids");
  if (filter && !json_is_object(filter)) lp_fail_field(&r->err, "filter", "must be an object of list filters");
  size_t i;
  json_t *v;
  if (json_is_array(ids_in)) json_array_foreach(ids_in, i, v) if (!json_is_integer(v) || json_integer_value(v) <= 0) { lp_fail_field(&r->err, "ids", "must be an array of lead ids"); break; }
  /* What each action needs, checked once up front. */
  json_t *cols = NULL;
  if (!r->err.code && action && (!strcmp(action, "assign") || !strcmp(action, "set_stage"))) {
    const char *field = !strcmp(action, "assign") ? "owner_id" : "stage_id";
    json_t *fv = params ? json_object_get(params, field) : NULL;
    if (!json_is_integer(fv)) lp_fail_field(&r->err, field, "required");
    else cols = json_pack("{s:O}", field, fv);
  }
  if (!r->err.code && action && !strcmp(action, "add_to_group") && !json_is_integer(params ? json_object_get(params, "group_id") : NULL))
    lp_fail_field(&r->err, "group_id", "required");
  if (!r->err.code && action && !strcmp(action, "close") && !json_is_string(params ? json_object_get(params, "outcome") : NULL))
    lp_fail_field(&r->err, "outcome", "required");
  int dry = lp_req_flag(r, "dry_run");
  if (!r->err.code && dry && action && strcmp(action, "close"))
    lp_fail_field(&r->err, "dry_run", "a preview is offered for close only");
  if (r->err.code) { json_decref(cols); return r->err.code; }
  json_t *ids = json_is_array(ids_in) ? json_incref(ids_in) : filter_ids(r, filter);
  if (!ids) { json_decref(cols); return r->err.code; }
  if (dry) {
    if (json_array_size(ids) > BULK_MAX) {
      json_decref(ids);
      return lp_fail(&r->err, LP_EVALIDATION, "A preview covers up to %d leads: narrow the selection", BULK_MAX);
    }
    json_t *pv = bulk_preview(r, params, ids);
    json_decref(ids);
    return lp_reply(r, 200, pv);
  }
  if (json_array_size(ids) > BULK_MAX) {
    if (json_array_size(ids) > BULK_JOB_MAX) {
      json_decref(ids);
      json_decref(cols);
      return lp_fail(&r->err, LP_EVALIDATION, "More than %d leads: narrow the selection", BULK_JOB_MAX);
    }
    return bulk_enqueue(r, action, params, cols, ids);
  }
  int ok_n = 0, bad_n = 0;
  json_t *results = bulk_run(r->app->store, &r->actor, action, params, cols, ids, r->now, 0, &ok_n, &bad_n);
  json_decref(ids);
  json_decref(cols);
  return lp_reply(r, 200, json_pack("{s:i, s:i, s:o}", "succeeded", ok_n, "failed", bad_n, "results", results));
}
