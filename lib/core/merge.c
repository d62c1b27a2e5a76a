/* merge.c — the merge planner (see merge.h). Pure: no clock, no database. */
#include <stdlib.h>
#include <string.h>
#include "core/merge.h"
#include "core/record.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

const char *const lp_merge_fields[] = {
  "full_name", "company", "login", "emails", "phones", "partner_id", "location_id", "owner_id", "stage_id",
  "source_id", "country", "region", "city", "service", "request", "notes", "value_cents", "currency", NULL};

static int merge_field(const char *k) {
  for (int i = 0; lp_merge_fields[i]; i++) if (!strcmp(lp_merge_fields[i], k)) return 1;
  return 0;
}

static int is_list(const char *k) { return !strcmp(k, "emails") || !strcmp(k, "phones"); }

/* A value worth taking: set, not empty text, not an empty list. */
static int has_value(json_t *row, const char *k) {
  json_t *v = json_object_get(row, k);
  if (!v || json_is_null(v)) return 0;
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!*s) return 0;
    if (is_list(k) && !strcmp(s, "[]")) return 0;
  }
  return 1;
}

static int64_t stage_pos(json_t *stages, int64_t id) {
  size_t i;
  json_t *s;
  json_array_foreach(stages, i, s) if (iget(s, "id") == id) return iget(s, "position");
  return 0;
}

static json_t *stage_row(json_t *stages, int64_t id) {
  size_t i;
  json_t *s;
  json_array_foreach(stages, i, s) if (iget(s, "id") == id) return s;
  return NULL;
}

static int is_open(json_t *row) { return sget(row, "status") && !strcmp(sget(row, "status"), "open"); }

/* The survivor and the others, best first (borrowed rows). A stable insertion sort keeps this
 * reentrant (no shared state): a merge holds a handful of leads. */
static size_t rank_all(json_t *survivor, json_t *others, json_t *stages, json_t **out, size_t max) {
  size_t n = 0;
  out[n++] = survivor;
  size_t i;
  json_t *o;
  json_array_foreach(others, i, o) if (n < max) out[n++] = o;
  for (size_t k = 1; k < n; k++) {
    json_t *v = out[k];
    size_t j = k;
    for (; j > 0; j--) {
      json_t *a = out[j - 1];
      int better;
      if (is_open(a) != is_open(v)) better = is_open(v);
      else {
        int64_t pa = stage_pos(stages, iget(a, "stage_id")), pv = stage_pos(stages, iget(v, "stage_id"));
        if (pa != pv) better = pv > pa;
        else if (iget(a, "created_at") != iget(v, "created_at")) better = iget(v, "created_at") > iget(a, "created_at");
        else better = iget(v, "id") > iget(a, "id");
      }
      if (!better) break;
      out[j] = a;
    }
    out[j] = v;
  }
  return n;
}

#define MAX_MERGE 21  /* the survivor and up to 20 others */

static json_t *row_by_id(json_t **rows, size_t n, int64_t id) {
  for (size_t i = 0; i < n; i++) if (iget(rows[i], "id") == id) return rows[i];
  return NULL;
}

json_t *lp_merge_sources(json_t *survivor, json_t *others, json_t *stages, json_t *fields) {
  json_t *rows[MAX_MERGE];
  size_t n = rank_all(survivor, others, stages, rows, MAX_MERGE);
  json_t *out = json_object();
  for (int f = 0; lp_merge_fields[f]; f++) {
    const char *k = lp_merge_fields[f];
    json_t *want = fields ? json_object_get(fields, k) : NULL;
    if (json_is_integer(want) && row_by_id(rows, n, json_integer_value(want))) {
      json_object_set_new(out, k, json_integer(json_integer_value(want)));
      continue;
    }
    if (is_list(k)) { json_object_set_new(out, k, json_string("all")); continue; }
    int64_t src = iget(survivor, "id");
    for (size_t i = 0; i < n; i++) if (has_value(rows[i], k)) { src = iget(rows[i], "id"); break; }
    json_object_set_new(out, k, json_integer(src));
  }
  return out;
}

/* The union of a list field (JSON text on the rows) over the ranked leads, as JSON text. */
static json_t *list_union(json_t **rows, size_t n, const char *k) {
  json_t *all = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *arr = json_loads(sget(rows[i], k) ? sget(rows[i], k) : "[]", 0, NULL);
    size_t j;
    json_t *v;
    json_array_foreach(arr, j, v) {
      if (!json_is_string(v) || json_array_size(all) >= 20) continue;
      size_t m;
      json_t *w;
      int dup = 0;
      json_array_foreach(all, m, w) if (json_equal(w, v)) dup = 1;
      if (!dup) json_array_append(all, v);
    }
    json_decref(arr);
  }
  char *t = json_dumps(all, JSON_COMPACT);
  json_decref(all);
  json_t *s = json_string(t ? t : "[]");
  free(t);
  return s;
}

static json_t *ids_array(json_t *others) {
  json_t *a = json_array();
  size_t i;
  json_t *o;
  json_array_foreach(others, i, o) json_array_append_new(a, json_integer(iget(o, "id")));
  return a;
}

/* The plan that closes (or, closed already, links) one lead merged into `into`. */
static void plan_sub(const lp_plan_in *in, json_t *row, json_t *outcome, json_t *into, lp_plan *p) {
  int open = is_open(row);
  lp_plan_init(p, open ? LP_PLAN_CLOSE : LP_PLAN_UPDATE);
  p->made = 1;
  json_t *lead = p->lead;
  int64_t into_id = iget(into, "id");
  json_object_set_new(lead, "merged_into", json_integer(into_id));
  json_object_set_new(lead, "updated_at", json_integer(in->now));
  if (open) {
    json_object_set_new(lead, "status", json_string("closed"));
    json_object_set_new(lead, "outcome", json_string("merged"));
    json_object_set_new(lead, "lost_reason_id", json_null());
    json_object_set_new(lead, "closed_at", json_integer(in->now));
    json_object_set_new(lead, "closed_by", in->actor->id > 0 ? json_integer(in->actor->id) : json_null());
    if (iget(row, "needs_reply")) json_object_set_new(lead, "needs_reply", json_integer(0));
    json_t *ws = json_object_get(row, "waiting_since");
    if (ws && !json_is_null(ws)) {
      int64_t w = in->now - json_integer_value(ws);
      json_object_set_new(lead, "waiting_seconds", json_integer(iget(row, "waiting_seconds") + (w > 0 ? w : 0)));
      json_object_set_new(lead, "waiting_since", json_null());
    }
    lp_plan_event_add(p, "closed", json_pack("{s:s, s:s, s:n, s:n}", "outcome", "merged",
                                             "kind", sget(outcome, "kind") ? sget(outcome, "kind") : "neutral", "reason_id", "notes"));
  }
  lp_plan_event_add(p, "merged_into", json_pack("{s:I, s:s, s:o}", "into", (json_int_t)into_id, "into_name",
                                                sget(into, "full_name") ? sget(into, "full_name") : "",
                                                "kept_outcome", open ? json_null() : json_incref(json_object_get(row, "outcome"))));
}

lp_code lp_plan_merge(const lp_plan_in *in, const lp_merge_in *m, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_MERGE);
  json_t *surv = in->lead;
  int64_t sid = iget(surv, "id");
  size_t no = json_array_size(m->others);
  if (no == 0) return lp_fail_field(err, "other_ids", "name at least one lead to merge into this one");
  if (no > MAX_MERGE - 1) return lp_fail_field(err, "other_ids", "at most 20 leads at once");
  size_t i, j;
  json_t *o, *p;
  json_array_foreach(m->others, i, o) {
    if (iget(o, "id") == sid) return lp_fail_field(err, "other_ids", "a lead cannot be merged into itself");
    json_array_foreach(m->others, j, p) if (j < i && iget(p, "id") == iget(o, "id")) return lp_fail_field(err, "other_ids", "a lead is named twice");
  }
  if (m->fields && !json_is_object(m->fields)) return lp_fail_field(err, "fields", "must be an object {field: lead id}");
  const char *k;
  json_t *v;
  if (m->fields) json_object_foreach(m->fields, k, v) {
    if (!merge_field(k)) { lp_fail_field(err, k, "cannot be chosen in a merge"); continue; }
    int known = json_is_integer(v) && json_integer_value(v) == sid;
    json_array_foreach(m->others, i, o) if (json_is_integer(v) && iget(o, "id") == json_integer_value(v)) known = 1;
    if (!known) lp_fail_field(err, k, "must be the id of one of the merged leads");
  }
  if (err->code == LP_EVALIDATION) return LP_EVALIDATION;
  if (in->actor->perm[LP_ACT_MERGE] == LP_DENY) return lp_fail(err, LP_EFORBIDDEN, "Your role may not merge leads");
  if (in->actor->perm[LP_ACT_MERGE] == LP_REQUEST)
    return lp_fail(err, LP_EFORBIDDEN, "Your role needs an approval to merge leads, which merges do not take; ask a manager to merge them");
  if (json_integer_value(json_object_get(surv, "merged_into")))
    return lp_fail(err, LP_ECONFLICT, "Lead %lld was merged into lead %lld already; merge into that one", (long long)sid,
                   (long long)iget(surv, "merged_into"));
  json_array_foreach(m->others, i, o)
    if (json_integer_value(json_object_get(o, "merged_into")))
      return lp_fail(err, LP_ECONFLICT, "Lead %lld was merged into lead %lld already", (long long)iget(o, "id"), (long long)iget(o, "merged_into"));
  if (!m->outcome) return lp_fail(err, LP_ECONFLICT, "The outcome `merged` is missing; add it under outcomes first");

  /* The survivor's fields: each from its source; the stage as a stage move. */
  json_t *rows[MAX_MERGE];
  size_t n = rank_all(surv, m->others, m->stages, rows, MAX_MERGE);
  json_t *src = lp_merge_sources(surv, m->others, m->stages, m->fields);
  json_t *cols = json_object();
  for (int f = 0; lp_merge_fields[f]; f++) {
    const char *fk = lp_merge_fields[f];
    json_t *s = json_object_get(src, fk);
    if (json_is_string(s)) {  /* all of them: the survivor's own first (its primary address stays), then by rank */
      json_t *order[MAX_MERGE];
      size_t no2 = 0;
      order[no2++] = surv;
      for (size_t r = 0; r < n; r++) if (rows[r] != surv) order[no2++] = rows[r];
      json_object_set_new(cols, fk, list_union(order, no2, fk));
      continue;
    }
    json_t *from = row_by_id(rows, n, json_integer_value(s));
    json_t *val = from ? json_object_get(from, fk) : NULL;
    json_object_set(cols, fk, val ? val : json_null());
  }
  if (json_is_null(json_object_get(cols, "full_name"))) json_object_set(cols, "full_name", json_object_get(surv, "full_name"));
  /* consent and pending answers are kept when any lead has them; the latest contact time wins */
  static const char *const any[] = {"email_opt_out", "sms_opt_out", "needs_reply"};
  for (int a = 0; a < 3; a++) {
    int on = 0;
    for (size_t r = 0; r < n; r++) if (iget(rows[r], any[a])) on = 1;
    if (on && !iget(surv, any[a])) json_object_set_new(cols, any[a], json_integer(1));
  }
  int64_t last = 0;
  for (size_t r = 0; r < n; r++) if (iget(rows[r], "last_contacted_at") > last) last = iget(rows[r], "last_contacted_at");
  if (last > iget(surv, "last_contacted_at")) json_object_set_new(cols, "last_contacted_at", json_integer(last));

  json_t *changes = json_object();
  lp_rec_diff(&lp_rt_lead, surv, cols, "stage_id", plan->lead, changes);
  json_object_del(changes, "last_contacted_at");  /* bookkeeping, not a choice: not told as a change */
  lp_code rc = LP_OK;
  int64_t to_stage = json_integer_value(json_object_get(cols, "stage_id"));
  if (to_stage && to_stage != iget(surv, "stage_id") && is_open(surv)) {
    lp_plan_in sin = *in;
    sin.stage = stage_row(m->stages, to_stage);
    sin.cur_stage = stage_row(m->stages, iget(surv, "stage_id"));
    rc = lp_plan_stage_into(&sin, plan, err);  /* adds stage_changed after the merged event below */
  }
  json_decref(cols);
  if (rc != LP_OK) { json_decref(changes); json_decref(src); return rc; }
  json_object_set_new(plan->lead, "updated_at", json_integer(in->now));
  plan->reindex = 1;

  /* Contact groups of the others join the survivor's. */
  json_t *have = json_object_get(surv, "groups");
  json_t *g;
  json_array_foreach(m->others, i, o) json_array_foreach(json_object_get(o, "groups"), j, g) {
    int64_t gid = json_integer_value(g);
    size_t h;
    json_t *x;
    int member = 0;
    json_array_foreach(have, h, x) if (json_integer_value(x) == gid) member = 1;
    if (member || lp_ids_has(&plan->groups, gid)) continue;
    lp_ids_add(&plan->groups, gid);
  }

  /* What moves: counted by the store per lead, summed here. */
  json_t *moved = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "tasks", 0, "threads", 0, "messages", 0, "comments", 0,
                            "events", 0, "groups", (int)plan->groups.n, "tickets", 0);
  json_array_foreach(m->others, i, o) {
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)iget(o, "id"));
    json_t *c = m->counts ? json_object_get(m->counts, key) : NULL;
    json_object_foreach(c, k, v) {
      json_t *cur = json_object_get(moved, k);
      if (cur) json_object_set_new(moved, k, json_integer(json_integer_value(cur) + json_integer_value(v)));
    }
  }
  /* quotes move too (store/merge.c), uncounted here */

  /* The survivor's story: one merged event first, then the stage move and the groups. */
  json_t *chosen = json_object();
  json_object_foreach(src, k, v) if (json_object_get(changes, k) || (!strcmp(k, "stage_id") && json_object_get(plan->lead, "stage_id")))
    json_object_set(chosen, k, v);
  json_t *ev = json_pack("{s:o, s:o, s:o, s:O}", "from", ids_array(m->others), "sources", chosen, "changes", changes, "moved", moved);
  lp_plan_event_add(plan, "merged", ev);
  /* lp_plan_stage_into added stage_changed before it: the merged event goes first */
  if (plan->timeline.n > 1) {
    lp_plan_event e = plan->timeline.v[plan->timeline.n - 1];
    memmove(&plan->timeline.v[1], &plan->timeline.v[0], (plan->timeline.n - 1) * sizeof e);
    plan->timeline.v[0] = e;
  }
  for (size_t q = 0; q < plan->groups.n; q++)
    lp_plan_event_add(plan, "group_added", json_pack("{s:I, s:s}", "group_id", (json_int_t)plan->groups.v[q], "reason", "merged"));
  plan->merge.moved = moved;

  /* One plan per lead merged in. */
  plan->merge.subs = calloc(no, sizeof *plan->merge.subs);
  plan->merge.rows = calloc(no, sizeof *plan->merge.rows);
  if (!plan->merge.subs || !plan->merge.rows) abort();
  json_array_foreach(m->others, i, o) {
    plan_sub(in, o, m->outcome, surv, &plan->merge.subs[i]);
    plan->merge.rows[i] = json_incref(o);
    plan->merge.n = i + 1;
  }
  json_decref(src);
  plan->made = 1;
  return LP_OK;
}
