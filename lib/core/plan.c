/* plan.c — the transition planner (see plan.h). Pure: no clock, no database. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>
#include <stdlib.h>
#include "core/billing.h"
#include "core/plan.h"
#include "core/record.h"
#include "util/timefmt.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int is_set(json_t *o, const char *k) { json_t *v = json_object_get(o, k); return v && !json_is_null(v); }

/* ---------------------------------------------------------------- the plan itself */

/* Grows an array of `size`-byte elements to hold one more; answers the new slot (zeroed). */
static void *grow(void **v, size_t *n, size_t *cap, size_t size) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 4;
    void *nv = realloc(*v, c * size);
    if (!nv) abort();  /* a plan holds a few dozen entries at most */
    *v = nv;
    *cap = c;
  }
  void *slot = (char *)*v + (*n)++ * size;
  memset(slot, 0, size);
  return slot;
}
#define GROW(arr) grow((void **)&(arr).v, &(arr).n, &(arr).cap, sizeof *(arr).v)

void lp_ids_add(lp_ids *l, int64_t id) { *(int64_t *)GROW(*l) = id; }

int lp_ids_has(const lp_ids *l, int64_t id) {
  for (size_t i = 0; i < l->n; i++) if (l->v[i] == id) return 1;
  return 0;
}

void lp_plan_init(lp_plan *p, lp_plan_kind kind) {
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->lead = json_object();
}

void lp_plan_release(lp_plan *p) {
  json_decref(p->lead);
  json_decref(p->follow_up);
  free(p->tasks_completed.v);
  free(p->tasks_cancelled.v);
  free(p->groups.v);
  free(p->threads_closed.v);
  for (size_t i = 0; i < p->messages.n; i++) json_decref(p->messages.v[i].cols);
  free(p->messages.v);
  json_decref(p->thread_open.subject);
  free(p->notifications.v);
  for (size_t i = 0; i < p->timeline.n; i++) json_decref(p->timeline.v[i].data);
  free(p->timeline.v);
  json_decref(p->convert.customer);
  json_decref(p->convert.services);
  json_decref(p->convert.invoice);
  for (size_t i = 0; i < p->merge.n; i++) {
    lp_plan_release(&p->merge.subs[i]);
    json_decref(p->merge.rows[i]);
  }
  free(p->merge.subs);
  free(p->merge.rows);
  json_decref(p->merge.moved);
  memset(p, 0, sizeof *p);
}

void lp_plan_event_add(lp_plan *p, const char *kind, json_t *data) {
  lp_plan_event *e = GROW(p->timeline);
  e->kind = kind;
  e->data = data ? data : json_object();
}

static void add_event(lp_plan *p, const char *kind, json_t *data) { lp_plan_event_add(p, kind, data); }

static json_t *ids_json(const lp_ids *l) {
  json_t *a = json_array();
  for (size_t i = 0; i < l->n; i++) json_array_append_new(a, json_integer(l->v[i]));
  return a;
}

json_t *lp_plan_json(const lp_plan *p) {
  json_t *o = json_object();
  json_object_set(o, "lead", p->lead ? p->lead : json_object());
  json_object_set_new(o, "tasks_completed", ids_json(&p->tasks_completed));
  json_object_set_new(o, "tasks_cancelled", ids_json(&p->tasks_cancelled));
  json_object_set_new(o, "follow_up", p->follow_up ? json_deep_copy(p->follow_up) : json_null());
  json_object_set_new(o, "groups", ids_json(&p->groups));
  json_object_set_new(o, "threads_closed", ids_json(&p->threads_closed));
  json_t *m = json_array();
  for (size_t i = 0; i < p->messages.n; i++)
    json_array_append_new(m, json_pack("{s:s, s:I, s:s?}", "channel", p->messages.v[i].channel, "thread_id",
                                       (json_int_t)p->messages.v[i].thread_id, "kind", p->messages.v[i].kind));
  json_object_set_new(o, "messages", m);
  json_t *nt = json_array();
  for (size_t i = 0; i < p->notifications.n; i++)
    json_array_append_new(nt, json_pack("{s:I, s:s}", "user_id", (json_int_t)p->notifications.v[i].user_id, "kind", p->notifications.v[i].kind));
  json_object_set_new(o, "notifications", nt);
  json_object_set_new(o, "approval_required", json_boolean(p->approval_required));
  json_t *mi = json_array();
  for (size_t i = 0; i < p->n_missing; i++) json_array_append_new(mi, json_string(p->missing[i]));
  json_object_set_new(o, "missing", mi);
  json_t *tl = json_array(), *ev = json_array();
  for (size_t i = 0; i < p->timeline.n; i++) {
    json_array_append_new(tl, json_pack("{s:s, s:O}", "kind", p->timeline.v[i].kind, "data", p->timeline.v[i].data));
    json_array_append_new(ev, json_string(p->timeline.v[i].kind));
  }
  json_object_set_new(o, "timeline", tl);
  json_object_set_new(o, "events", ev);
  if (p->kind == LP_PLAN_CONVERT) {
    json_t *cust = json_deep_copy(p->convert.customer);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(cust, tmp, k, v)  /* the API's form of the lists */
      if (json_is_string(v) && (!strcmp(k, "emails") || !strcmp(k, "phones")))
        json_object_set_new(cust, k, json_loads(json_string_value(v), 0, NULL));
    json_object_set_new(o, "customer", cust);
    json_object_set_new(o, "services", lp_lines_present(p->convert.services));
    json_t *inv = json_deep_copy(p->convert.invoice);
    json_object_set_new(inv, "lines", lp_lines_present(json_object_get(p->convert.invoice, "lines")));
    json_object_set_new(o, "invoice", inv);
  }
  return o;
}

static void add_missing(lp_plan *p, const char *name) {
  if (p->n_missing < sizeof p->missing / sizeof *p->missing) p->missing[p->n_missing++] = name;
}

static void add_notice(lp_plan *p, int64_t user_id, const char *kind) {
  lp_plan_notice *n = GROW(p->notifications);
  n->user_id = user_id;
  n->kind = kind;
}

static lp_plan_message *add_message(lp_plan *p, const char *channel, int64_t thread_id, const char *kind) {
  lp_plan_message *m = GROW(p->messages);
  m->channel = channel;
  m->thread_id = thread_id;
  m->kind = kind;
  return m;
}

lp_action lp_close_action(const char *kind) {
  if (kind && !strcmp(kind, "won")) return LP_ACT_CLOSE_WON;
  if (kind && !strcmp(kind, "lost")) return LP_ACT_CLOSE_LOST;
  return LP_ACT_CLOSE_OTHER;
}

/* Waiting time ends when a lead leaves a waiting stage or closes. */
static void stop_waiting(const lp_plan_in *in, json_t *changes) {
  if (!is_set(in->lead, "waiting_since")) return;
  int64_t w = in->now - iget(in->lead, "waiting_since");
  if (w < 0) w = 0;
  json_object_set_new(changes, "waiting_seconds", json_integer(iget(in->lead, "waiting_seconds") + w));
  json_object_set_new(changes, "waiting_since", json_null());
}

static int tasks_mode(const char *s) {
  if (!s) return -1;
  if (!strcmp(s, "complete_overdue")) return 0;
  if (!strcmp(s, "complete_all")) return 1;
  if (!strcmp(s, "cancel_future")) return 2;
  if (!strcmp(s, "keep")) return 3;
  return -2;
}

static int in_array(json_t *arr, int64_t id) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) if (json_integer_value(v) == id) return 1;
  return 0;
}

/* The lead's first address on a channel (emails / phones are JSON text on the row), copied into out. */
static int first_address(json_t *lead, const char *channel, char *out, size_t n) {
  json_t *arr = json_loads(sget(lead, !strcmp(channel, "email") ? "emails" : "phones") ? sget(lead, !strcmp(channel, "email") ? "emails" : "phones") : "[]", 0, NULL);
  const char *a = json_string_value(json_array_get(arr, 0));
  int ok = a && *a;
  if (ok) snprintf(out, n, "%s", a);
  json_decref(arr);
  return ok;
}

static int opted_out(json_t *lead, const char *channel) {
  return iget(lead, !strcmp(channel, "email") ? "email_opt_out" : "sms_opt_out") != 0;
}

/* A second request while one waits would only pile up: the approver decides one at a time. */
static lp_code pending_refusal(const lp_plan_in *in, lp_err *err) {
  return lp_fail(err, LP_ECONFLICT, "A request for this lead is already waiting for approval (request %lld); wait for the decision",
                 (long long)in->pending_approval);
}

lp_code lp_plan_close(const lp_plan_in *in, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_CLOSE);
  json_t *req = in->req;
  if (!json_is_object(req)) return lp_fail(err, LP_EVALIDATION, "The body must be a JSON object");
  if (strcmp(sget(in->lead, "status") ? sget(in->lead, "status") : "", "open") != 0)
    return lp_fail(err, LP_ECONFLICT, "The lead is already closed; reopen it first");

  /* What is asked, checked field by field so every problem is named at once. */
  json_t *jo = json_object_get(req, "outcome");
  if (!jo || json_is_null(jo)) lp_fail_field(err, "outcome", "required");
  else if (!json_is_string(jo)) lp_fail_field(err, "outcome", "must be a string");
  else if (!in->outcome || !iget(in->outcome, "active")) lp_fail_field(err, "outcome", "unknown outcome");
  json_t *jr = json_object_get(req, "reason_id");
  if (jr && !json_is_null(jr) && !json_is_integer(jr)) lp_fail_field(err, "reason_id", "must be an integer");
  json_t *jn = json_object_get(req, "notes");
  if (jn && !json_is_null(jn) && !json_is_string(jn)) lp_fail_field(err, "notes", "must be a string");
  else if (json_is_string(jn) && json_string_length(jn) > 20000) lp_fail_field(err, "notes", "too long");
  json_t *jt = json_object_get(req, "tasks");
  int mode = -1;
  if (jt && !json_is_null(jt)) {
    mode = json_is_string(jt) ? tasks_mode(json_string_value(jt)) : -2;
    if (mode == -2) lp_fail_field(err, "tasks", "must be complete_overdue, complete_all, cancel_future or keep");
  }
  json_t *jf = json_object_get(req, "follow_up");
  int64_t fu_due = 0;
  if (jf && !json_is_null(jf)) {
    if (!json_is_object(jf)) lp_fail_field(err, "follow_up", "must be an object");
    else {
      json_t *d = json_object_get(jf, "due_at");
      if (!json_is_string(d) || lp_time_parse(json_string_value(d), &fu_due) != 0)
        lp_fail_field(err, "follow_up.due_at", d ? "must be an RFC 3339 time" : "required");
      json_t *ty = json_object_get(jf, "type");
      if (ty && !json_is_null(ty) && (!json_is_string(ty) || json_string_length(ty) == 0 || json_string_length(ty) > 64))
        lp_fail_field(err, "follow_up.type", "must be a short string");
      json_t *no = json_object_get(jf, "notes");
      if (no && !json_is_null(no) && !json_is_string(no)) lp_fail_field(err, "follow_up.notes", "must be a string");
    }
  }
  json_t *jg = json_object_get(req, "groups");
  if (jg && !json_is_null(jg)) {
    if (!json_is_array(jg)) lp_fail_field(err, "groups", "must be an array of group ids");
    else {
      size_t i;
      json_t *g;
      json_array_foreach(jg, i, g) {
        if (!json_is_integer(g) || !in_array(in->known_groups, json_integer_value(g))) {
          lp_fail_field(err, "groups", "unknown group");
          break;
        }
      }
    }
  }
  json_t *jl = json_object_get(req, "notify_lead");
  if (jl && !json_is_null(jl) && !json_is_boolean(jl)) lp_fail_field(err, "notify_lead", "must be true or false");
  if (err->code == LP_EVALIDATION) return LP_EVALIDATION;

  const char *kind = sget(in->outcome, "kind");
  int lost = !strcmp(kind, "lost");
  lp_action act = lp_close_action(kind);
  if (in->actor->perm[act] == LP_DENY)
    return lp_fail(err, LP_EFORBIDDEN, "Your role may not close leads as %s", sget(in->outcome, "key"));

  int64_t reason_id = json_is_integer(jr) ? json_integer_value(jr) : 0;
  if (reason_id && !lost) return lp_fail_field(err, "reason_id", "only for outcomes of kind lost");
  if (reason_id && (!in->reason || !iget(in->reason, "active"))) return lp_fail_field(err, "reason_id", "unknown lost reason");

  /* Notes of only white space count as none; stored notes are trimmed. */
  char *notes_buf = NULL;
  const char *notes = NULL;
  if (json_is_string(jn)) {
    const char *b = json_string_value(jn);
    while (*b && isspace((unsigned char)*b)) b++;
    size_t n = strlen(b);
    while (n && isspace((unsigned char)b[n - 1])) n--;
    if (n) { notes_buf = strndup(b, n); notes = notes_buf; }
  }
  int has_fu = jf && json_is_object(jf);
  if (lost) {
    unsigned req_bits = in->actor->close_lost_required | LP_REQ_REASON;
    if ((req_bits & LP_REQ_REASON) && !reason_id) add_missing(plan, "reason_id");
    if ((req_bits & LP_REQ_NOTES) && (!notes || !*notes)) add_missing(plan, "notes");
    if ((req_bits & LP_REQ_FOLLOW_UP) && !has_fu) add_missing(plan, "follow_up");
  }
  if (plan->n_missing) {
    for (size_t i = 0; i < plan->n_missing; i++) lp_fail_field(err, plan->missing[i], "required");
    snprintf(err->message, sizeof err->message, "Closing as %s needs more information", sget(in->outcome, "key"));
    plan->made = 1;  /* the preview still shows what is missing */
    free(notes_buf);
    return LP_EVALIDATION;
  }
  if (in->actor->perm[act] == LP_REQUEST) {
    if (in->pending_approval) { free(notes_buf); return pending_refusal(in, err); }
    plan->approval_required = 1;
  }

  /* The lead itself. */
  json_t *lead = plan->lead;
  json_object_set_new(lead, "status", json_string("closed"));
  json_object_set_new(lead, "outcome", json_string(sget(in->outcome, "key")));
  json_object_set_new(lead, "lost_reason_id", reason_id ? json_integer(reason_id) : json_null());
  json_object_set_new(lead, "close_notes", notes && *notes ? json_string(notes) : json_null());
  plan->reindex = 1;  /* close_notes are searched */
  json_object_set_new(lead, "closed_at", json_integer(in->now));
  json_object_set_new(lead, "closed_by", json_integer(in->actor->id));
  json_object_set_new(lead, "updated_at", json_integer(in->now));
  if (!strcmp(kind, "won") && !is_set(in->lead, "sold_at")) json_object_set_new(lead, "sold_at", json_integer(in->now));
  if (iget(in->lead, "needs_reply")) json_object_set_new(lead, "needs_reply", json_integer(0));
  stop_waiting(in, lead);
  add_event(plan, "closed", json_pack("{s:s, s:s, s:o, s:o}", "outcome", sget(in->outcome, "key"), "kind", kind,
                                      "reason_id", reason_id ? json_integer(reason_id) : json_null(),
                                      "notes", notes && *notes ? json_string(notes) : json_null()));

  /* Tasks: defaults by kind. */
  if (mode < 0) mode = lost ? 0 : !strcmp(kind, "won") ? 2 : 3;
  size_t i;
  json_t *t;
  json_array_foreach(in->tasks, i, t) {
    int overdue = is_set(t, "due_at") && iget(t, "due_at") < in->now;
    int64_t tid = iget(t, "id");
    if ((mode == 0 && overdue) || mode == 1) {
      lp_ids_add(&plan->tasks_completed, tid);
      add_event(plan, "task_done", json_pack("{s:I, s:s, s:s}", "task_id", (json_int_t)tid, "title", sget(t, "title") ? sget(t, "title") : "", "reason", "closed"));
    } else if (mode == 2 && !overdue) {
      lp_ids_add(&plan->tasks_cancelled, tid);
      add_event(plan, "task_cancelled", json_pack("{s:I, s:s, s:s}", "task_id", (json_int_t)tid, "title", sget(t, "title") ? sget(t, "title") : "", "reason", "closed"));
    }
  }

  /* Follow-up: as asked, else the lost reason's default, else none. */
  int64_t owner = is_set(in->lead, "owner_id") ? iget(in->lead, "owner_id") : in->actor->id;
  const char *fu_type = lost ? "closed_lost_follow_up" : "post_sale_follow_up";
  const char *fu_notes = NULL;
  int make_fu = 0;
  if (has_fu) {
    make_fu = 1;
    if (json_is_string(json_object_get(jf, "type"))) fu_type = sget(jf, "type");
    fu_notes = sget(jf, "notes");
  } else if (!jf && lost && in->reason && is_set(in->reason, "follow_up_days")) {
    make_fu = 1;
    fu_due = in->now + iget(in->reason, "follow_up_days") * 86400;
  }
  if (make_fu) {
    char title[300];
    snprintf(title, sizeof title, "%s: %s", lost ? "Follow up lost lead" : "Follow up",
             sget(in->lead, "full_name") ? sget(in->lead, "full_name") : "");
    plan->follow_up = (json_pack("{s:s, s:s, s:I, s:I, s:o}", "type", fu_type, "title", title, "due_at", (json_int_t)fu_due,
                                  "assignee_id", (json_int_t)owner, "notes", fu_notes ? json_string(fu_notes) : json_null()));
    char due[LP_TIME_LEN];
    lp_time_format(fu_due, due);
    add_event(plan, "task_created", json_pack("{s:s, s:s, s:s, s:I}", "type", fu_type, "title", title, "due_at", due,
                                              "assignee_id", (json_int_t)owner));
  }

  /* Contact groups: as asked, else for kind lost the reason's group and the default group. */
  json_t *have = json_object_get(in->lead, "groups");
  json_t *want = json_array();
  if (jg && json_is_array(jg)) json_array_extend(want, jg);
  else if (lost) {
    if (in->reason && is_set(in->reason, "group_id")) json_array_append_new(want, json_integer(iget(in->reason, "group_id")));
    if (in->default_group > 0) json_array_append_new(want, json_integer(in->default_group));
  }
  json_t *g;
  json_array_foreach(want, i, g) {
    int64_t gid = json_integer_value(g);
    if (lp_ids_has(&plan->groups, gid) || in_array(have, gid)) continue;
    lp_ids_add(&plan->groups, gid);
    add_event(plan, "group_added", json_pack("{s:I}", "group_id", (json_int_t)gid));
  }
  json_decref(want);

  /* Conversations: closing ends every open thread; notify_lead tells the lead on email threads. */
  int notify = json_is_true(jl);
  json_array_foreach(in->threads, i, t) {
    int64_t th = iget(t, "id");
    lp_ids_add(&plan->threads_closed, th);
    add_event(plan, "thread_closed", json_pack("{s:I, s:s}", "thread_id", (json_int_t)th, "channel", sget(t, "channel") ? sget(t, "channel") : ""));
    char to[320];
    if (notify && sget(t, "channel") && !strcmp(sget(t, "channel"), "email") && !iget(in->lead, "email_opt_out")
        && first_address(in->lead, "email", to, sizeof to))
      add_message(plan, "email", th, "close_notification")->cols = json_pack("{s:s, s:s, s:s}", "direction", "out", "status", "queued", "to_addr", to);
  }

  /* Managers hear of lost leads where the role says so. */
  if (lost && in->actor->notify_managers_on_close_lost && in->actor->manager_id > 0)
    add_notice(plan, in->actor->manager_id, "lead_closed_lost");
  free(notes_buf);
  plan->made = 1;
  return LP_OK;
}

lp_code lp_plan_reopen(const lp_plan_in *in, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_REOPEN);
  if (strcmp(sget(in->lead, "status") ? sget(in->lead, "status") : "", "closed") != 0)
    return lp_fail(err, LP_ECONFLICT, "The lead is open already");
  if (is_set(in->lead, "customer_id"))
    return lp_fail(err, LP_ECONFLICT, "The lead was converted to customer %lld; it stays closed (work on the customer instead)",
                   (long long)iget(in->lead, "customer_id"));
  json_t *jn = in->req ? json_object_get(in->req, "notes") : NULL;
  if (jn && !json_is_null(jn) && !json_is_string(jn)) return lp_fail_field(err, "notes", "must be a string");
  if (in->actor->perm[LP_ACT_REOPEN] == LP_DENY) return lp_fail(err, LP_EFORBIDDEN, "Your role may not reopen leads");
  if (in->actor->perm[LP_ACT_REOPEN] == LP_REQUEST) {
    if (in->pending_approval) return pending_refusal(in, err);
    plan->approval_required = 1;
  }
  json_t *lead = plan->lead;
  json_object_set_new(lead, "status", json_string("open"));
  json_object_set_new(lead, "outcome", json_null());
  json_object_set_new(lead, "lost_reason_id", json_null());
  json_object_set_new(lead, "close_notes", json_null());
  plan->reindex = 1;  /* close_notes are searched */
  json_object_set_new(lead, "closed_at", json_null());
  json_object_set_new(lead, "closed_by", json_null());
  json_object_set_new(lead, "updated_at", json_integer(in->now));
  if (in->cur_stage && iget(in->cur_stage, "waiting")) json_object_set_new(lead, "waiting_since", json_integer(in->now));
  char closed_at[LP_TIME_LEN] = "";
  if (is_set(in->lead, "closed_at")) lp_time_format(iget(in->lead, "closed_at"), closed_at);
  add_event(plan, "reopened", json_pack("{s:o, s:o, s:o, s:o}", "previous_outcome", json_incref(json_object_get(in->lead, "outcome")),
                                        "previous_reason_id", json_incref(json_object_get(in->lead, "lost_reason_id")),
                                        "previous_closed_at", closed_at[0] ? json_string(closed_at) : json_null(),
                                        "notes", json_is_string(jn) ? json_incref(jn) : json_null()));
  plan->made = 1;
  return LP_OK;
}

/* A stage move into plan (shared by stage moves, updates that change stage_id, merges). */
lp_code lp_plan_stage_into(const lp_plan_in *in, lp_plan *plan, lp_err *err) {
  if (!in->stage || !iget(in->stage, "active")) return lp_fail_field(err, "stage_id", "not found");
  if (strcmp(sget(in->lead, "status") ? sget(in->lead, "status") : "", "open") != 0)
    return lp_fail(err, LP_ECONFLICT, "The lead is closed; reopen it to move it along the path");
  int64_t to = iget(in->stage, "id"), from = iget(in->lead, "stage_id");
  if (to == from) return LP_OK;
  json_t *lead = plan->lead;
  json_object_set_new(lead, "stage_id", json_integer(to));
  json_object_set_new(lead, "stage_entered_at", json_integer(in->now));
  json_object_set_new(lead, "updated_at", json_integer(in->now));
  stop_waiting(in, lead);
  if (iget(in->stage, "waiting")) json_object_set_new(lead, "waiting_since", json_integer(in->now));
  int sale = iget(in->stage, "is_sale") && !is_set(in->lead, "sold_at");
  if (sale) json_object_set_new(lead, "sold_at", json_integer(in->now));
  add_event(plan, "stage_changed", json_pack("{s:I, s:I, s:s, s:s, s:b}", "from", (json_int_t)from, "to", (json_int_t)to,
                                             "from_name", in->cur_stage && sget(in->cur_stage, "name") ? sget(in->cur_stage, "name") : "",
                                             "to_name", sget(in->stage, "name") ? sget(in->stage, "name") : "", "sale", sale));
  return LP_OK;
}

lp_code lp_plan_stage(const lp_plan_in *in, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_STAGE);
  lp_code rc = lp_plan_stage_into(in, plan, err);
  plan->made = rc == LP_OK;
  return rc;
}

/* A converted lead's contact details live on its customer from then on. */
static const char *const contact_fields[] = {"full_name", "company", "login", "emails", "phones", "partner_id",
                                             "location_id", "country", "region", "city", "email_opt_out", "sms_opt_out"};

lp_code lp_plan_update(const lp_plan_in *in, json_t *cols, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_UPDATE);
  if (is_set(in->lead, "customer_id")) {
    json_t *set = json_object(), *changes = json_object();
    lp_rec_diff(&lp_rt_lead, in->lead, cols, NULL, set, changes);
    for (size_t i = 0; i < sizeof contact_fields / sizeof *contact_fields; i++)
      if (json_object_get(changes, contact_fields[i])) lp_fail_field(err, contact_fields[i], "read-only: the lead was converted");
    json_decref(set);
    json_decref(changes);
    if (err->code)
      return lp_fail(err, LP_ECONFLICT, "The lead was converted to customer %lld: its contact details are read-only here; change them on the customer",
                     (long long)iget(in->lead, "customer_id"));
  }
  json_t *changes = json_object();
  lp_rec_diff(&lp_rt_lead, in->lead, cols, "stage_id", plan->lead, changes);  /* the stage is planned below */
  if (json_object_size(changes)) {
    json_object_set_new(plan->lead, "updated_at", json_integer(in->now));
    add_event(plan, "updated", json_pack("{s:o}", "changes", changes));
    plan->reindex = 1;
  } else {
    json_decref(changes);
  }
  json_t *stage = json_object_get(cols, "stage_id");
  if (stage && json_integer_value(stage) != iget(in->lead, "stage_id")) {
    lp_code rc = lp_plan_stage_into(in, plan, err);
    if (rc != LP_OK) return rc;
  }
  plan->made = 1;
  return LP_OK;
}

lp_code lp_plan_create(const lp_plan_in *in, json_t *cols, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_CREATE);
  json_decref(plan->lead);
  plan->lead = json_incref(cols);
  if (!json_object_get(cols, "created_at")) json_object_set_new(cols, "created_at", json_integer(in->now));
  int64_t created = iget(cols, "created_at");
  if (created > in->now + 86400) return lp_fail_field(err, "created_at", "must not be in the future");
  int closed = sget(cols, "status") && !strcmp(sget(cols, "status"), "closed");
  /* History migrated in: a closed lead needs an outcome and a close time. */
  if (closed) {
    if (!sget(cols, "outcome")) return lp_fail_field(err, "outcome", "required when status is closed");
    if (!is_set(cols, "closed_at")) json_object_set_new(cols, "closed_at", json_integer(created));
    if (in->actor->id > 0) json_object_set_new(cols, "closed_by", json_integer(in->actor->id));
  } else {
    json_object_del(cols, "outcome");
    json_object_del(cols, "lost_reason_id");
    json_object_del(cols, "closed_at");
    json_object_del(cols, "close_notes");
  }
  json_object_set_new(cols, "updated_at", json_integer(in->now > created ? in->now : created));
  if (in->actor->id > 0) json_object_set_new(cols, "created_by", json_integer(in->actor->id));  /* 0: received, not made by a user */
  json_object_set_new(cols, "stage_entered_at", json_integer(created));
  if (in->stage && iget(in->stage, "waiting") && !closed) json_object_set_new(cols, "waiting_since", json_integer(created));
  if (in->stage && iget(in->stage, "is_sale") && !json_object_get(cols, "sold_at")) json_object_set_new(cols, "sold_at", json_integer(created));
  json_t *src = json_object_get(cols, "source_id");
  add_event(plan, "created", json_pack("{s:O, s:O}", "full_name", json_object_get(cols, "full_name"), "source_id", src ? src : json_null()));
  plan->reindex = 1;
  plan->made = 1;
  return LP_OK;
}

lp_code lp_plan_delete(const lp_plan_in *in, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_DELETE);
  if (in->actor->perm[LP_ACT_DELETE] != LP_ALLOW) return lp_fail(err, LP_EFORBIDDEN, "Your role may not delete leads");
  json_object_set_new(plan->lead, "deleted_at", json_integer(in->now));
  json_object_set_new(plan->lead, "updated_at", json_integer(in->now));
  add_event(plan, "deleted", json_pack("{s:O}", "full_name", json_object_get(in->lead, "full_name") ? json_object_get(in->lead, "full_name") : json_null()));
  plan->reindex = 1;
  plan->made = 1;
  return LP_OK;
}

lp_code lp_plan_group(const lp_plan_in *in, int64_t group_id, lp_plan *plan, lp_err *err) {
  (void)err;
  lp_plan_init(plan, LP_PLAN_GROUP);
  plan->made = 1;
  if (in_array(json_object_get(in->lead, "groups"), group_id)) return LP_OK;
  lp_ids_add(&plan->groups, group_id);
  add_event(plan, "group_added", json_pack("{s:I}", "group_id", (json_int_t)group_id));
  return LP_OK;
}

lp_code lp_plan_comment(const lp_plan_in *in, json_t *data, lp_plan *plan, lp_err *err) {
  (void)err;
  lp_plan_init(plan, LP_PLAN_COMMENT);
  json_object_set_new(plan->lead, "updated_at", json_integer(in->now));
  add_event(plan, "comment", data);
  plan->made = 1;
  return LP_OK;
}

/* ---------------------------------------------------------------- conversations */

/* An agent's answer on a web chat: only on the visitor's open chat thread (the one named, else
 * the lead's open chat); a chat is started by the visitor, never by an agent. No address or
 * opt-out applies: the visitor is on the page. */
static lp_code plan_chat_answer(const lp_plan_in *in, const lp_send *m, lp_plan *plan, lp_err *err) {
  int64_t tid = in->thread ? iget(in->thread, "id") : 0;
  if (!tid) {
    size_t i;
    json_t *t;
    json_array_foreach(in->threads, i, t)
      if (!strcmp(sget(t, "channel") ? sget(t, "channel") : "", "chat")) tid = iget(t, "id");
  }
  if (!tid) return lp_fail_field(err, "channel", "the lead has no open chat (a chat is started by the visitor)");
  if (!m->body || !*m->body) return lp_fail_field(err, "body", "required");
  if (strlen(m->body) > 4096) return lp_fail_field(err, "body", "too long (at most 4,096 bytes in a chat)");
  if (m->kind) return lp_fail_field(err, "channel", "chat takes a message with its text only");
  lp_plan_message *pm = add_message(plan, "chat", tid, NULL);
  pm->cols = json_pack("{s:s, s:s}", "direction", "out", "body", m->body);
  json_object_set_new(plan->lead, "last_contacted_at", json_integer(in->now));
  plan->made = 1;
  return LP_OK;
}

lp_code lp_plan_send(const lp_plan_in *in, const lp_send *m, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_SEND);
  const char *ch = m->channel ? m->channel : "";
  json_t *th = in->thread;
  if (th && !m->channel) ch = sget(th, "channel") ? sget(th, "channel") : "";
  if (strcmp(ch, "email") && strcmp(ch, "sms") && strcmp(ch, "chat")) return lp_fail_field(err, "channel", "must be email, sms or chat");
  if (th && strcmp(sget(th, "channel") ? sget(th, "channel") : "", ch)) return lp_fail_field(err, "thread_id", "is a thread of another channel");
  if (th && strcmp(sget(th, "status") ? sget(th, "status") : "", "open"))
    return lp_fail(err, LP_ECONFLICT, "This conversation is closed; start a new one to write to the lead");
  if (!strcmp(ch, "chat")) return plan_chat_answer(in, m, plan, err);
  if (opted_out(in->lead, ch))
    return lp_fail_field(err, "channel", !strcmp(ch, "email") ? "the lead opted out of email" : "the lead opted out of SMS");
  char to[320];
  if (!first_address(in->lead, ch, to, sizeof to))
    return lp_fail_field(err, "channel", !strcmp(ch, "email") ? "the lead has no email address" : "the lead has no phone number");
  if (!m->kind && (!m->body || !*m->body)) return lp_fail_field(err, "body", "required");
  if (m->body && strlen(m->body) > 100000) return lp_fail_field(err, "body", "too long (at most 100,000 bytes)");
  if (m->subject && strlen(m->subject) > 300) return lp_fail_field(err, "subject", "too long (at most 300 characters)");
  if (m->kind && !strcmp(m->kind, "review_request")) {
    int64_t last = iget(in->lead, "review_requested_at");
    if (last > 0 && in->now - last < in->review_gap_days * 86400)
      return lp_fail(err, LP_ECONFLICT, "A review was requested %lld days ago; the next may be asked after %lld days",
                     (long long)((in->now - last) / 86400), (long long)in->review_gap_days);
    json_object_set_new(plan->lead, "review_requested_at", json_integer(in->now));
  }
  /* The thread: the one named, else the open one of this channel, else a new one. */
  int64_t tid = th ? iget(th, "id") : 0;
  const char *tsubject = th ? sget(th, "subject") : NULL;
  if (!tid && !m->new_thread) {
    size_t i;
    json_t *t;
    json_array_foreach(in->threads, i, t)
      if (!strcmp(sget(t, "channel") ? sget(t, "channel") : "", ch)) { tid = iget(t, "id"); tsubject = sget(t, "subject"); }
  }
  const char *subject = m->subject && *m->subject ? m->subject : NULL;
  char re[320] = "";
  if (!tid) {
    if (!strcmp(ch, "email") && !subject && !m->kind) return lp_fail_field(err, "subject", "required to start an email conversation");
    plan->thread_open.wanted = 1;
    plan->thread_open.channel = !strcmp(ch, "email") ? "email" : "sms";
    plan->thread_open.subject = subject ? json_string(subject) : NULL;
    add_event(plan, "thread_opened", json_pack("{s:I, s:s, s:s}", "thread_id", (json_int_t)0, "channel", plan->thread_open.channel, "by", "agent"));
  } else if (!subject && tsubject && *tsubject) {
    /* a reply keeps the thread's subject, with one "Re:" */
    snprintf(re, sizeof re, "%s%s", strncasecmp(tsubject, "re:", 3) ? "Re: " : "", tsubject);
    subject = re;
  }
  int email = !strcmp(ch, "email");
  lp_plan_message *pm = add_message(plan, email ? "email" : "sms", tid, m->kind);
  pm->cols = json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "direction", "out", "status", "queued", "subject", email ? subject : NULL,
                       "body", m->body, "to_addr", to);
  json_object_set_new(plan->lead, "last_contacted_at", json_integer(in->now));
  if (iget(in->lead, "needs_reply")) json_object_set_new(plan->lead, "needs_reply", json_integer(0));  /* answered */
  plan->made = 1;
  return LP_OK;
}

lp_code lp_plan_thread_close(const lp_plan_in *in, int notify, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_THREAD_CLOSE);
  json_t *th = in->thread;
  if (!th) return lp_fail(err, LP_ENOTFOUND, "No such conversation");
  if (strcmp(sget(th, "status") ? sget(th, "status") : "", "open")) return lp_fail(err, LP_ECONFLICT, "This conversation is closed already");
  int64_t tid = iget(th, "id");
  const char *ch = sget(th, "channel") ? sget(th, "channel") : "";
  lp_ids_add(&plan->threads_closed, tid);
  add_event(plan, "thread_closed", json_pack("{s:I, s:s}", "thread_id", (json_int_t)tid, "channel", ch));
  if (iget(in->lead, "needs_reply")) json_object_set_new(plan->lead, "needs_reply", json_integer(0));  /* dealt with */
  char to[320];
  if (notify && !strcmp(ch, "email") && !opted_out(in->lead, "email") && first_address(in->lead, "email", to, sizeof to)) {
    lp_plan_message *pm = add_message(plan, "email", tid, "close_notification");
    pm->cols = json_pack("{s:s, s:s, s:s}", "direction", "out", "status", "queued", "to_addr", to);
  }
  plan->made = 1;
  return LP_OK;
}

/* An SMS that is exactly one of these words (any case, spaces around) changes the opt-out. */
static int sms_keyword(const char *body) {
  static const char *stop[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"};
  static const char *start[] = {"START", "YES", "UNSTOP"};
  char w[16];
  size_t n = 0;
  while (*body && isspace((unsigned char)*body)) body++;
  while (*body && !isspace((unsigned char)*body)) {
    if (n + 1 >= sizeof w) return 0;
    w[n++] = (char)toupper((unsigned char)*body++);
  }
  w[n] = 0;
  while (*body && isspace((unsigned char)*body)) body++;
  if (*body || !n) return 0;
  for (size_t i = 0; i < sizeof stop / sizeof *stop; i++) if (!strcmp(w, stop[i])) return 1;
  for (size_t i = 0; i < sizeof start / sizeof *start; i++) if (!strcmp(w, start[i])) return -1;
  return 0;
}

lp_code lp_plan_inbound(const lp_plan_in *in, json_t *facts, int64_t thread_id, int64_t after_thread_id,
                        lp_plan *plan, lp_err *err) {
  (void)err;
  lp_plan_init(plan, LP_PLAN_INBOUND);
  const char *ch = sget(facts, "channel") ? sget(facts, "channel") : "email";
  const char *chan = !strcmp(ch, "sms") ? "sms" : !strcmp(ch, "chat") ? "chat" : "email";
  if (!thread_id) {
    plan->thread_open.wanted = 1;
    plan->thread_open.channel = chan;
    plan->thread_open.subject = sget(facts, "subject") && *sget(facts, "subject") ? json_string(sget(facts, "subject")) : NULL;
    add_event(plan, "thread_opened", after_thread_id
      ? json_pack("{s:I, s:s, s:s, s:I}", "thread_id", (json_int_t)0, "channel", chan, "by", "lead", "after_thread_id", (json_int_t)after_thread_id)
      : json_pack("{s:I, s:s, s:s}", "thread_id", (json_int_t)0, "channel", chan, "by", "lead"));
  }
  lp_plan_message *pm = add_message(plan, chan, thread_id, NULL);
  pm->cols = json_deep_copy(facts);
  json_object_del(pm->cols, "channel");
  json_object_set_new(pm->cols, "direction", json_string("in"));
  json_object_set_new(pm->cols, "status", json_string("received"));
  json_object_set_new(plan->lead, "last_contacted_at", json_integer(in->now));
  if (!iget(in->lead, "needs_reply")) json_object_set_new(plan->lead, "needs_reply", json_integer(1));
  if (!strcmp(chan, "sms")) {
    int k = sms_keyword(sget(facts, "body") ? sget(facts, "body") : "");
    int was = (int)iget(in->lead, "sms_opt_out");
    if ((k == 1 && !was) || (k == -1 && was)) {
      json_object_set_new(plan->lead, "sms_opt_out", json_integer(k == 1));
      add_event(plan, "opt_out_changed", json_pack("{s:s, s:b, s:s}", "channel", "sms", "opt_out", k == 1, "source", "inbound SMS keyword"));
    }
  }
  plan->made = 1;
  return LP_OK;
}

/* ---------------------------------------------------------------- conversion */

/* The lead's columns a customer takes over (contact details, consent, who looks after it). */
static const char *const customer_cols[] = {"full_name", "company", "login", "emails", "phones", "partner_id", "location_id",
                                            "owner_id", "country", "region", "city", "email_opt_out", "sms_opt_out"};

lp_code lp_plan_convert(const lp_plan_in *in, const lp_convert *cv, lp_plan *plan, lp_err *err) {
  lp_plan_init(plan, LP_PLAN_CONVERT);
  const char *mode = cv->mode ? cv->mode : "";
  int active = !strcmp(mode, "active_invoice");
  if (!active && strcmp(mode, "inactive_proforma")) return lp_fail_field(err, "mode", "must be active_invoice or inactive_proforma");
  if (is_set(in->lead, "customer_id"))
    return lp_fail(err, LP_ECONFLICT, "The lead was converted already (customer %lld)", (long long)iget(in->lead, "customer_id"));
  if (strcmp(sget(in->lead, "status") ? sget(in->lead, "status") : "", "open"))
    return lp_fail(err, LP_ECONFLICT, "The lead is closed; reopen it before converting it");
  if (in->actor->perm[LP_ACT_CONVERT] == LP_DENY) return lp_fail(err, LP_EFORBIDDEN, "Your role may not convert leads");
  if (!in->outcome) return lp_fail(err, LP_EINTERNAL, "The outcome converted is missing");

  /* The quotes: the lead's own, not declined, one currency. */
  const char *currency = NULL;
  size_t i;
  json_t *q;
  json_array_foreach(cv->quotes, i, q) {
    const char *st = sget(q, "status") ? sget(q, "status") : "";
    if (!strcmp(st, "declined")) {
      char why[80];
      snprintf(why, sizeof why, "quote %lld was declined", (long long)iget(q, "id"));
      return lp_fail_field(err, "quote_ids", why);
    }
    if (currency && strcmp(currency, sget(q, "currency"))) return lp_fail_field(err, "quote_ids", "the quotes are in different currencies");
    currency = sget(q, "currency");
  }
  if (!currency) currency = cv->currency && *cv->currency ? cv->currency : "EUR";
  json_t *services;
  if (cv->services) {
    services = json_deep_copy(cv->services);
  } else {
    char today[11];
    lp_date_of(in->now, today);
    services = json_array();
    json_array_foreach(cv->quotes, i, q) {
      json_t *lines = json_loads(sget(q, "lines") ? sget(q, "lines") : "[]", 0, NULL);
      size_t j;
      json_t *l;
      json_array_foreach(lines, j, l) {
        json_t *sv = json_deep_copy(l);
        json_object_set_new(sv, "start_date", json_string(today));
        json_object_set_new(sv, "quote_id", json_integer(iget(q, "id")));
        json_array_append_new(services, sv);
      }
      json_decref(lines);
    }
  }
  if (!json_array_size(services)) {
    json_decref(services);
    return lp_fail_field(err, "services", "nothing to convert: choose a quote with lines or give services");
  }

  /* The close itself, as a close of kind won would make it (tasks, threads), under the convert policy. */
  lp_actor as = *in->actor;
  as.perm[LP_ACT_CLOSE_WON] = as.perm[LP_ACT_CLOSE_LOST] = as.perm[LP_ACT_CLOSE_OTHER] = LP_ALLOW;
  lp_plan_in ci = *in;
  ci.actor = &as;
  json_t *creq = json_pack("{s:s}", "outcome", sget(in->outcome, "key"));
  ci.req = creq;
  lp_plan_release(plan);  /* the close planner starts the plan afresh */
  lp_code rc = lp_plan_close(&ci, plan, err);
  json_decref(creq);
  if (rc != LP_OK) { json_decref(services); return rc; }
  plan->kind = LP_PLAN_CONVERT;
  plan->approval_required = in->actor->perm[LP_ACT_CONVERT] == LP_REQUEST;

  /* The customer: the lead's details and consent; active with an invoice. */
  json_t *cust = json_object();
  for (size_t k = 0; k < sizeof customer_cols / sizeof *customer_cols; k++) {
    json_t *v = json_object_get(in->lead, customer_cols[k]);
    json_object_set_new(cust, customer_cols[k], v ? json_incref(v) : json_null());
  }
  json_object_set_new(cust, "active", json_integer(active));
  json_object_set_new(cust, "currency", json_string(currency));
  json_object_set_new(cust, "lead_id", json_integer(iget(in->lead, "id")));
  plan->convert.customer = cust;

  lp_totals t;
  lp_lines_totals(services, &t);
  plan->convert.services = services;
  plan->convert.invoice = json_pack("{s:s, s:s, s:s, s:s, s:O, s:I, s:I, s:I, s:I, s:I, s:i}",
    "kind", active ? "invoice" : "proforma", "series", active ? "INV" : "PRO", "status", "issued", "currency", currency,
    "lines", services, "subtotal_cents", (json_int_t)t.subtotal_cents, "tax_cents", (json_int_t)t.tax_cents,
    "total_cents", (json_int_t)t.total_cents, "issued_at", (json_int_t)in->now,
    "due_at", (json_int_t)(in->now + cv->due_days * 86400), "year", lp_year_of(in->now));
  json_object_set_new(plan->lead, "updated_at", json_integer(in->now));
  add_event(plan, "converted", json_pack("{s:s, s:o, s:I, s:I, s:s, s:I}", "mode", mode, "quote_ids", json_array(),
                                         "services", (json_int_t)json_array_size(services), "total_cents", (json_int_t)t.total_cents,
                                         "currency", currency, "customer_id", (json_int_t)0));
  json_t *qids = json_object_get(plan->timeline.v[plan->timeline.n - 1].data, "quote_ids");
  json_array_foreach(cv->quotes, i, q) json_array_append_new(qids, json_integer(iget(q, "id")));
  plan->made = 1;
  return LP_OK;
}

json_t *lp_plan_transitions(const lp_plan_in *in, json_t *stages, json_t *outcomes) {
  json_t *items = json_array();
  int open = sget(in->lead, "status") && !strcmp(sget(in->lead, "status"), "open");
  size_t i;
  json_t *r;
  json_array_foreach(stages, i, r) {
    if (!iget(r, "active") || iget(r, "id") == iget(in->lead, "stage_id")) continue;
    json_array_append_new(items, json_pack("{s:s, s:I, s:s, s:b, s:b, s:[]}", "kind", "stage", "stage_id", (json_int_t)iget(r, "id"),
                                           "name", sget(r, "name") ? sget(r, "name") : "", "allowed", open,
                                           "approval_required", 0, "missing"));
  }
  json_array_foreach(outcomes, i, r) {
    if (!iget(r, "active")) continue;
    const char *kind = sget(r, "kind");
    lp_perm p = in->actor->perm[lp_close_action(kind)];
    json_t *missing = json_array();
    if (kind && !strcmp(kind, "lost")) {
      unsigned bits = in->actor->close_lost_required | LP_REQ_REASON;
      if (bits & LP_REQ_REASON) json_array_append_new(missing, json_string("reason_id"));
      if (bits & LP_REQ_NOTES) json_array_append_new(missing, json_string("notes"));
      if (bits & LP_REQ_FOLLOW_UP) json_array_append_new(missing, json_string("follow_up"));
    }
    json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:o}", "kind", "close", "outcome", sget(r, "key"),
                                           "name", sget(r, "name") ? sget(r, "name") : "", "outcome_kind", kind ? kind : "",
                                           "allowed", open && p != LP_DENY, "approval_required", p == LP_REQUEST, "missing", missing));
  }
  lp_perm rp = in->actor->perm[LP_ACT_REOPEN];
  json_array_append_new(items, json_pack("{s:s, s:b, s:b, s:[]}", "kind", "reopen", "allowed", !open && rp != LP_DENY,
                                         "approval_required", rp == LP_REQUEST, "missing"));
  return items;
}

const char *lp_sla_of(int open, int64_t created, int64_t closed_at, int64_t waiting_seconds, int64_t waiting_since,
                      int64_t now, int64_t warn_days, int64_t breach_days) {
  (void)closed_at;
  if (!open) return "ok";
  int64_t age = now - created - waiting_seconds;
  if (waiting_since > 0) age -= now - waiting_since;
  if (age >= breach_days * 86400) return "breached";
  if (age >= warn_days * 86400) return "warning";
  return "ok";
}

int64_t lp_age_days_of(int64_t created, int64_t closed_at, int64_t now) {
  return lp_days_between(created, closed_at > 0 ? closed_at : now);
}

const char *lp_lead_sla(json_t *lead, int64_t now, int64_t warn_days, int64_t breach_days) {
  int open = sget(lead, "status") && !strcmp(sget(lead, "status"), "open");
  return lp_sla_of(open, iget(lead, "created_at"), is_set(lead, "closed_at") ? iget(lead, "closed_at") : 0,
                   iget(lead, "waiting_seconds"), is_set(lead, "waiting_since") ? iget(lead, "waiting_since") : 0,
                   now, warn_days, breach_days);
}

int64_t lp_lead_age_days(json_t *lead, int64_t now) {
  return lp_age_days_of(iget(lead, "created_at"), is_set(lead, "closed_at") ? iget(lead, "closed_at") : 0, now);
}
