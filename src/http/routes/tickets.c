/* tickets.c — support tickets (store/tickets.h; docs/tickets.md): a lead's and a customer's
 * tickets, the list of all tickets the caller may see, one ticket with its comments, changes
 * (If-Match) and comments. Handlers check the shape of the query and call one store function. */
#include <stdlib.h>
#include <string.h>
#include "http/routes/handlers.h"
#include "store/tickets.h"

static lp_code reply_or_err(lp_req *r, int status, json_t *o) { return o ? lp_reply(r, status, o) : r->err.code; }

static void location(lp_req *r, const char *what, json_t *o) {
  char loc[80];
  snprintf(loc, sizeof loc, "/api/v1/%s/%lld", what, (long long)json_integer_value(json_object_get(o, "id")));
  lp_reply_header(r, "Location", loc);
}

/* ?status= of a lead's or customer's list: open, closed or all (the default). */
static int status_of(lp_req *r, const char **status) {
  const char *s = lp_req_query(r, "status");
  *status = NULL;
  if (!s || !strcmp(s, "all")) return 1;
  if (strcmp(s, "open") && strcmp(s, "closed")) { lp_fail_field(&r->err, "status", "must be open, closed or all"); return 0; }
  *status = s;
  return 1;
}

static lp_code list_of(lp_req *r, int64_t lead_id, int64_t customer_id) {
  const char *status;
  if (!status_of(r, &status)) return r->err.code;
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_tickets_of(db, &r->actor, lead_id, customer_id, status, &r->err) : NULL);
}

static lp_code create_for(lp_req *r, int64_t lead_id, int64_t customer_id) {
  json_t *o = lp_ticket_create(r->app->store, &r->actor, lead_id, customer_id, r->json, r->now, &r->err);
  if (o) location(r, "tickets", o);
  return reply_or_err(r, 201, o);
}

lp_code h_lead_tickets_list(lp_req *r) { return list_of(r, r->ids[0], 0); }
lp_code h_lead_tickets_create(lp_req *r) { return create_for(r, r->ids[0], 0); }
lp_code h_customer_tickets_list(lp_req *r) { return list_of(r, 0, r->ids[0]); }
lp_code h_customer_tickets_create(lp_req *r) { return create_for(r, 0, r->ids[0]); }

lp_code h_tickets_list(lp_req *r) {
  lp_ticket_filter f = {0};
  f.status = lp_req_query(r, "status");
  f.q = lp_req_query(r, "q");
  f.assignee = lp_req_query(r, "assignee");
  f.priority = lp_req_query(r, "priority");
  const char *lim = lp_req_query(r, "limit"), *cur = lp_req_query(r, "cursor");
  char *end;
  long long limit = lim ? strtoll(lim, &end, 10) : 50;
  if (lim && (*end || limit < 1 || limit > 500)) lp_fail_field(&r->err, "limit", "must be 1 to 500");
  long long cursor = cur ? strtoll(cur, &end, 10) : 0;
  if (cur && (*end || cursor < 0)) lp_fail_field(&r->err, "cursor", "malformed");
  if (f.status && strcmp(f.status, "open") && strcmp(f.status, "closed") && strcmp(f.status, "all"))
    lp_fail_field(&r->err, "status", "must be open, closed or all");
  if (f.q && strlen(f.q) > 200) lp_fail_field(&r->err, "q", "too long");
  if (f.priority && strcmp(f.priority, "low") && strcmp(f.priority, "normal") && strcmp(f.priority, "high") && strcmp(f.priority, "urgent"))
    lp_fail_field(&r->err, "priority", "must be low, normal, high or urgent");
  if (f.assignee && strcmp(f.assignee, "me")) {
    long long id = strtoll(f.assignee, &end, 10);
    if (*end || id <= 0) lp_fail_field(&r->err, "assignee", "must be me or a user id");
  }
  if (r->err.code) return r->err.code;
  f.limit = (int)limit;
  f.cursor = cursor;
  lp_db *db = lp_req_db(r);
  return reply_or_err(r, 200, db ? lp_tickets_list(db, &r->actor, &f, &r->err) : NULL);
}

lp_code h_ticket_get(lp_req *r) {
  lp_db *db = lp_req_db(r);
  json_t *o = db ? lp_ticket_get(db, &r->actor, r->ids[0], &r->err) : NULL;
  if (o) lp_reply_etag(r, json_integer_value(json_object_get(o, "version")));
  return reply_or_err(r, 200, o);
}

lp_code h_ticket_patch(lp_req *r) {
  int64_t expect;
  if (lp_req_expected_version(r, &expect) != LP_OK) return r->err.code;
  json_t *body = json_deep_copy(r->json);
  json_object_del(body, "version");
  json_t *o = lp_ticket_update(r->app->store, &r->actor, r->ids[0], body, expect, r->now, &r->err);
  json_decref(body);
  return reply_or_err(r, 200, o);
}

lp_code h_ticket_comment(lp_req *r) {
  json_t *o = lp_ticket_comment(r->app->store, &r->actor, r->ids[0], r->json, r->now, &r->err);
  return reply_or_err(r, 201, o);
}
