/* leads.c — /api/v1/leads and what hangs off one lead: close, reopen, transitions, timeline,
 * comments, tasks. Handlers decode, call lib/store, and answer. */
#include "core/record.h"
#include "http/routes/handlers.h"
#include "store/leads.h"
#include "store/dashboard.h"
#include "store/lists.h"
#include "store/rows.h"
#include "store/tasks.h"

lp_code h_leads_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  lp_buf b = LP_BUF_INIT((size_t)64 << 20);
  if (lp_lead_list_raw(db, &r->actor, lp_req_param_fn, r, r->now, &b, &r->err) != 0) { lp_buf_release(&b); return r->err.code; }
  size_t len = b.len;
  return lp_reply_raw(r, 200, "application/json", lp_buf_detach(&b), len);
}


/* The lead's country decides how national phone numbers are read (id 0, or none:
 * the company's default_country). */
static char *lead_country(lp_req *r, int64_t id) {
  lp_db *db = lp_req_db(r);
  return db ? lp_lead_country(db, id) : NULL;
}

lp_code h_leads_create(lp_req *r) {
  json_t *cols;
  char *country = lead_country(r, 0);  /* national phone numbers are read in the company's country */
  lp_code vrc = lp_rec_input(&lp_rt_lead, r->json, 1, r->actor.is_admin, country, &cols, &r->err);
  free(country);
  if (vrc != LP_OK) return r->err.code;
  lp_code dup;
  if (lp_req_flag(r, "check_duplicates") && lp_duplicates_refuse(r, cols, &dup)) { json_decref(cols); return dup; }
  lp_buf b = LP_BUF_INIT(8 << 20);
  int64_t id = 0;
  int rc = lp_lead_create_raw(r->app->store, &r->actor, cols, r->now, &b, &id, &r->err);
  json_decref(cols);
  if (rc != 0) { lp_buf_release(&b); return r->err.code; }
  char loc[64];
  snprintf(loc, sizeof loc, "/api/v1/leads/%lld", (long long)id);
  lp_reply_header(r, "Location", loc);
  size_t len = b.len;
  return lp_reply_raw(r, 201, "application/json", lp_buf_detach(&b), len);
}

lp_code h_lead_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  lp_buf b = LP_BUF_INIT(8 << 20);
  int64_t version = 0;
  if (lp_lead_get_raw(db, &r->actor, r->ids[0], r->now, &b, &version, &r->err) != 0) { lp_buf_release(&b); return r->err.code; }
  lp_reply_etag(r, version);
  size_t len = b.len;
  return lp_reply_raw(r, 200, "application/json", lp_buf_detach(&b), len);
}

lp_code h_lead_patch(lp_req *r) {
  int64_t expect;
  /* A version in the body counts as If-Match when the header is absent. */
  if (lp_req_expected_version(r, &expect) != LP_OK) return r->err.code;
  char *country = lead_country(r, r->ids[0]);
  json_t *cols;
  lp_code rc = lp_rec_input(&lp_rt_lead, r->json, 0, r->actor.is_admin, country, &cols, &r->err);
  free(country);
  if (rc != LP_OK) return rc;
  json_t *o = lp_lead_update(r->app->store, &r->actor, r->ids[0], cols, expect, r->now, &r->err);
  json_decref(cols);
  if (!o) return r->err.code;
  return lp_reply(r, 200, o);
}

lp_code h_lead_delete(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  if (lp_lead_delete(r->app->store, &r->actor, r->ids[0], expect, r->now, &r->err) != LP_OK) return r->err.code;
  r->status = 204;
  return LP_OK;
}

static lp_code move(lp_req *r, lp_move m) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  lp_move_result res = LP_MOVED;
  json_t *o = lp_lead_move(r->app->store, &r->actor, r->ids[0], m, r->json, lp_req_flag(r, "dry_run"), expect, r->now,
                           &res, &r->err);
  if (!o) return r->err.code;
  return lp_reply(r, res == LP_MOVE_APPROVAL_PENDING ? 202 : 200, o);
}

lp_code h_lead_close(lp_req *r) { return move(r, LP_MOVE_CLOSE); }
lp_code h_lead_reopen(lp_req *r) { return move(r, LP_MOVE_REOPEN); }

lp_code h_lead_transitions(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_lead_transitions(db, &r->actor, r->ids[0], r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

static int64_t query_int(lp_req *r, const char *name, int64_t dflt, int64_t lo, int64_t hi) {
  const char *s = lp_req_query(r, name);
  if (!s) return dflt;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end || v < lo || v > hi) { lp_fail_field(&r->err, name, "out of range"); return dflt; }
  return v;
}

lp_code h_lead_timeline(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *lead = lp_lead_get(db, &r->actor, r->ids[0], r->now, &r->err);
  if (!lead) return r->err.code;
  json_decref(lead);
  int64_t after = query_int(r, "cursor", 0, 0, INT64_MAX);
  int64_t limit = query_int(r, "limit", 200, 1, 500);
  if (r->err.code) return r->err.code;
  json_t *o = lp_timeline(db, r->ids[0], after, (int)limit, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

static int color_ok(const char *c) {
  static const char *names[] = {"gray", "blue", "green", "yellow", "orange", "red", "purple", "pink", "teal"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) if (!strcmp(c, names[i])) return 1;
  if (c[0] == '#' && strlen(c) == 7 && strspn(c + 1, "0123456789abcdefABCDEF") == 6) return 1;
  return 0;
}

lp_code h_lead_comment(lp_req *r) {
  json_t *b = json_object_get(r->json, "body");
  json_t *icon = json_object_get(r->json, "icon");
  json_t *color = json_object_get(r->json, "color");
  if (!json_is_string(b) || json_string_length(b) == 0) lp_fail_field(&r->err, "body", b ? "must be a non-empty string" : "required");
  else if (json_string_length(b) > 20000) lp_fail_field(&r->err, "body", "too long");
  if (icon && !json_is_null(icon) && (!json_is_string(icon) || json_string_length(icon) > 32 || json_string_length(icon) == 0))
    lp_fail_field(&r->err, "icon", "must be a short name such as phone, mail, note, star");
  if (color && !json_is_null(color) && (!json_is_string(color) || !color_ok(json_string_value(color))))
    lp_fail_field(&r->err, "color", "must be a colour name (gray, blue, green, yellow, orange, red, purple, pink, teal) or #rrggbb");
  if (r->err.code) return r->err.code;
  json_t *o = NULL;
  if (lp_comment_add(r->app->store, &r->actor, r->ids[0], json_string_value(b), json_string_value(icon),
                     json_string_value(color), r->now, &o, &r->err) != LP_OK) return r->err.code;
  return lp_reply(r, 201, o);
}

lp_code h_lead_tasks_create(lp_req *r) {
  json_t *cols;
  if (lp_rec_input(&lp_rt_task, r->json, 1, 0, NULL, &cols, &r->err) != LP_OK) return r->err.code;
  json_t *o = lp_task_create(r->app->store, &r->actor, r->ids[0], cols, r->now, &r->err);
  json_decref(cols);
  return o ? lp_reply(r, 201, o) : r->err.code;
}

lp_code h_tasks_list(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_task_list(db, &r->actor, lp_req_param_fn, r, r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_task_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_task_get(db, &r->actor, r->ids[0], &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_task_patch(lp_req *r) {
  int64_t expect;
  if (lp_req_if_match(r, &expect) != LP_OK) return r->err.code;
  json_t *cols;
  if (lp_rec_input(&lp_rt_task, r->json, 0, 0, NULL, &cols, &r->err) != LP_OK) return r->err.code;
  json_t *o = lp_task_update(r->app->store, &r->actor, r->ids[0], cols, expect, r->now, &r->err);
  json_decref(cols);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

/* ?scope=mine (default) | team: the team is whatever the caller's leads.view shows it. */
lp_code h_dashboard(lp_req *r) {
  const char *scope = lp_req_query(r, "scope");
  if (scope && strcmp(scope, "mine") && strcmp(scope, "team")) return lp_fail_field(&r->err, "scope", "must be mine or team");
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  json_t *o = lp_dashboard_read(db, &r->actor, scope && !strcmp(scope, "team"), r->now, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}

lp_code h_events(lp_req *r) {
  if (r->actor.view != LP_VIEW_ALL) return lp_fail(&r->err, LP_EFORBIDDEN, "The events feed needs a role that sees all leads");
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  int64_t after = query_int(r, "after", 0, 0, INT64_MAX);
  int64_t limit = query_int(r, "limit", 100, 1, 1000);
  if (r->err.code) return r->err.code;
  json_t *o = lp_events(db, &r->actor, after, (int)limit, &r->err);
  return o ? lp_reply(r, 200, o) : r->err.code;
}
