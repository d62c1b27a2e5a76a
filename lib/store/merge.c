/* merge.c — merging leads (POST /api/v1/leads/{id}/merge; see related.h): load the survivor and
 * the leads merged into it, plan (core/merge.c), apply (the one applier, in one transaction).
 *
 * The applier moves each merged lead's records to the survivor through lp__merge_move below,
 * then closes it with its own plan (outcome `merged`, merged_into), then writes the survivor. */
#include <stdlib.h>
#include <string.h>
#include "core/merge.h"
#include "core/record.h"
#include "store/apply.h"
#include "store/leads.h"
#include "store/related.h"
#include "store/rows.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- what moves */

/* The records that follow a lead into the one it is merged into: table and its lead column.
 * Events are the timeline (comments are events); they keep entity_id, so each still names the
 * lead it happened to. Quotes move too (a converted lead's customer stays with its conversion);
 * a new table of records about a lead gets a line here. */
static const struct { const char *table, *sql; } moved_tables[] = {
  {"tasks", "UPDATE tasks SET lead_id = $2, version = version + 1, updated_at = $3 WHERE lead_id = $1"},
  {"threads", "UPDATE threads SET lead_id = $2, version = version + 1 WHERE lead_id = $1 AND $3 > 0"},
  {"messages", "UPDATE messages SET lead_id = $2, version = version + 1 WHERE lead_id = $1 AND $3 > 0"},
  {"events", "UPDATE events SET lead_id = $2 WHERE lead_id = $1 AND $3 > 0"},
  {"quotes", "UPDATE quotes SET lead_id = $2, version = version + 1, updated_at = $3 WHERE lead_id = $1"},
  {"tickets", "UPDATE tickets SET lead_id = $2, version = version + 1, updated_at = $3 WHERE lead_id = $1"},
};

lp_code lp__merge_move(lp_db *db, int64_t from, int64_t to, int64_t now, lp_err *err) {
  for (size_t i = 0; i < sizeof moved_tables / sizeof *moved_tables; i++) {
    json_t *args = json_pack("[I, I, I]", (json_int_t)from, (json_int_t)to, (json_int_t)(now > 0 ? now : 1));
    lp_code rc = lp_exec(db, moved_tables[i].sql, args, err);
    json_decref(args);
    if (rc != LP_OK) return rc;
  }
  return LP_OK;
}

/* How many records of lead id would move: {tasks, threads, messages, comments, events, tickets}. */
static json_t *counts_of(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *c = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
    "tasks", (json_int_t)lp_query_int(db, "SELECT count(*) FROM tasks WHERE lead_id = $1", args, 0, err),
    "threads", (json_int_t)lp_query_int(db, "SELECT count(*) FROM threads WHERE lead_id = $1", args, 0, err),
    "messages", (json_int_t)lp_query_int(db, "SELECT count(*) FROM messages WHERE lead_id = $1", args, 0, err),
    "comments", (json_int_t)lp_query_int(db, "SELECT count(*) FROM events WHERE lead_id = $1 AND kind = 'comment'", args, 0, err),
    "events", (json_int_t)lp_query_int(db, "SELECT count(*) FROM events WHERE lead_id = $1", args, 0, err),
    "tickets", (json_int_t)lp_query_int(db, "SELECT count(*) FROM tickets WHERE lead_id = $1", args, 0, err));
  json_decref(args);
  return c;
}

/* ---------------------------------------------------------------- the write */

typedef struct {
  const lp_actor *a;
  int64_t id, expect, now;
  json_t *req;
  int dry_run;
  json_t *result;  /* answered */
} merge_ctx;

/* A lead of the merge: present, visible, at the version asked (expect < 0: any). */
static json_t *load(lp_db *db, const lp_actor *a, int64_t id, int64_t expect, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return NULL;
  lp_code rc = lp_lead_visible(db, a, row, err);
  if (rc == LP_OK && expect >= 0 && iget(row, "version") != expect)
    rc = lp_fail(err, LP_EVERSION, "Lead %lld has changed (now version %lld); reload and try again", (long long)id,
                 (long long)iget(row, "version"));
  if (rc != LP_OK) { json_decref(row); return NULL; }
  return row;
}

static json_t *present_as_planned(lp_db *db, json_t *row, json_t *set, int64_t now) {
  json_t *lead = lp_lead_present(row, now, lp_sla_settings(db, now));
  const char *k;
  json_t *v;
  json_object_foreach(set, k, v) {
    const lp_field *f = lp_rec_field(&lp_rt_lead, k);
    if (f && !(f->flags & FF_HIDDEN)) json_object_set_new(lead, k, lp_rec_value_out(f, v));
  }
  return lead;
}

static json_t *preview(lp_db *db, json_t *surv, json_t *others, json_t *stages, json_t *fields, const lp_plan *plan,
                       int64_t now) {
  json_t *pv = lp_plan_json(plan);
  json_object_set_new(pv, "lead", present_as_planned(db, surv, plan->lead, now));
  json_object_set_new(pv, "sources", lp_merge_sources(surv, others, stages, fields));
  json_object_set(pv, "moved", plan->merge.moved);
  json_t *arr = json_array();
  for (size_t i = 0; i < plan->merge.n; i++) {
    json_t *row = plan->merge.rows[i];
    json_t *o = present_as_planned(db, row, plan->merge.subs[i].lead, now);
    json_object_set_new(o, "version_before", json_integer(iget(row, "version")));
    json_t *sj = lp_plan_json(&plan->merge.subs[i]);
    json_object_set(o, "events", json_object_get(sj, "events"));
    json_decref(sj);
    json_array_append_new(arr, o);
  }
  json_object_set_new(pv, "others", arr);
  return json_pack("{s:b, s:o}", "dry_run", 1, "plan", pv);
}

static lp_code merge_fn(lp_db *db, void *p, lp_err *err) {
  merge_ctx *c = p;
  json_decref(c->result);  /* a run again starts afresh */
  c->result = NULL;
  json_t *surv = load(db, c->a, c->id, c->expect, err);
  if (!surv) return err->code;
  json_t *others = json_array(), *counts = json_object();
  json_t *versions = json_object_get(c->req, "versions");
  json_t *fields = json_object_get(c->req, "fields");
  if (json_is_null(fields)) fields = NULL;
  size_t i;
  json_t *v;
  lp_code rc = LP_OK;
  json_array_foreach(json_object_get(c->req, "other_ids"), i, v) {
    int64_t oid = json_integer_value(v);
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)oid);
    json_t *ver = versions ? json_object_get(versions, key) : NULL;
    json_t *row = oid == c->id ? json_incref(surv) : load(db, c->a, oid, json_is_integer(ver) ? json_integer_value(ver) : -1, err);
    if (!row) { rc = err->code; break; }
    json_array_append_new(others, row);
    json_t *cnt = counts_of(db, oid, err);
    json_object_set_new(counts, key, cnt);
    if (err->code != LP_OK) { rc = err->code; break; }
  }
  json_t *stages = rc == LP_OK ? lp_query(db, "SELECT * FROM stages ORDER BY position, id", NULL, err) : NULL;
  json_t *outcome = stages ? lp_query_one(db, "SELECT * FROM outcomes WHERE key = 'merged'", NULL, err) : NULL;
  if (rc == LP_OK && err->code != LP_OK) rc = err->code;
  lp_plan plan;
  lp_plan_init(&plan, LP_PLAN_MERGE);
  if (rc == LP_OK) {
    lp_plan_release(&plan);
    lp_plan_in in = {0};
    in.actor = c->a;
    in.now = c->now;
    in.lead = surv;
    lp_merge_in m = {others, fields, stages, outcome, counts};
    rc = lp_plan_merge(&in, &m, &plan, err);
  }
  if (rc == LP_OK && c->dry_run) {
    c->result = preview(db, surv, others, stages, fields, &plan, c->now);
  } else if (rc == LP_OK) {
    lp_applied out;
    rc = lp_apply(db, c->a, surv, &plan, NULL, c->now, &out, err);
    json_t *lead = rc == LP_OK ? lp_lead_get(db, c->a, c->id, c->now, err) : NULL;
    if (rc == LP_OK && !lead) rc = err->code;
    if (rc == LP_OK) {
      json_t *ids = json_array();
      json_array_foreach(others, i, v) json_array_append_new(ids, json_integer(iget(v, "id")));
      c->result = json_pack("{s:o, s:o, s:O}", "lead", lead, "merged_ids", ids, "moved", plan.merge.moved);
    }
  }
  lp_plan_release(&plan);
  json_decref(stages);
  json_decref(outcome);
  json_decref(counts);
  json_decref(others);
  json_decref(surv);
  return rc;
}

json_t *lp_lead_merge(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int dry_run, int64_t expect, int64_t now,
                      lp_err *err) {
  merge_ctx c = {a, id, expect, now, req, dry_run, NULL};
  lp_code rc;
  if (dry_run) {
    lp_db *db = lp_store_reader(s, err);
    if (!db) return NULL;
    int begun = lp_read_begin(db, NULL) == LP_OK;  /* one snapshot for the whole preview */
    rc = merge_fn(db, &c, err);
    if (begun) lp_read_end(db);
  } else {
    rc = lp_store_write(s, merge_fn, &c, err);
  }
  if (rc != LP_OK) { json_decref(c.result); return NULL; }
  return c.result;
}
