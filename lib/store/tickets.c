/* tickets.c — support tickets and their comments (see tickets.h).
 *
 * A ticket is a record of its own with a version; it names its lead (and its customer once the
 * lead is converted, or when it is opened on the customer), so every change writes its event with
 * the lead's id in the same transaction and the lead's timeline (a customer's history) tells the
 * story. Lists read the ticket with its lead's and customer's owner in one query, so `leads.view`
 * is applied in SQL, the same rule as lp_lead_visible (own, the owner's manager for team, all). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "store/leads.h"
#include "store/notify.h"
#include "store/rows.h"
#include "store/tickets.h"
#include "util/buf.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static json_t *or_null(json_t *v) { return v ? v : json_null(); }

#define SUBJECT_MAX 300
#define BODY_MAX 20000
#define REQUESTER_MAX 300

/* The ticket with the names and the owner its visibility follows (the customer's owner when it
 * has a customer, else its lead's). */
#define TICKET_SELECT                                                                                              \
  "SELECT t.*, l.full_name AS lead_name, c.full_name AS customer_name, u.name AS assignee_name,"                 \
  " COALESCE(c.owner_id, l.owner_id) AS owner_id, l.deleted_at AS lead_deleted_at FROM tickets t"                \
  " LEFT JOIN leads l ON l.id = t.lead_id LEFT JOIN customers c ON c.id = t.customer_id"                         \
  " LEFT JOIN users u ON u.id = t.assignee_id"
/* $1: the caller's view (0 own, 1 team, 2 all), $2: the caller. */
#define TICKET_VISIBLE                                                                                             \
  " ($1 = 2 OR t.assignee_id = $2 OR COALESCE(c.owner_id, l.owner_id) = $2 OR ($1 = 1 AND"                       \
  " COALESCE(c.owner_id, l.owner_id) IN (SELECT id FROM users WHERE manager_id = $2)))"                          \
  " AND (t.customer_id IS NOT NULL OR l.deleted_at IS NULL)"

static const char *const PRIORITIES[] = {"low", "normal", "high", "urgent"};

static int priority_ok(const char *p) {
  for (size_t i = 0; i < 4; i++) if (p && !strcmp(p, PRIORITIES[i])) return 1;
  return 0;
}

/* ---------------------------------------------------------------- reading */

static json_t *ticket_present(json_t *r) {
  json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}",
    "id", json_object_get(r, "id"), "version", json_object_get(r, "version"),
    "lead_id", or_null(json_object_get(r, "lead_id")), "customer_id", or_null(json_object_get(r, "customer_id")),
    "lead_name", or_null(json_object_get(r, "lead_name")), "customer_name", or_null(json_object_get(r, "customer_name")),
    "subject", json_object_get(r, "subject"), "body", or_null(json_object_get(r, "body")),
    "priority", json_object_get(r, "priority"), "status", json_object_get(r, "status"),
    "requester", or_null(json_object_get(r, "requester")), "assignee_id", or_null(json_object_get(r, "assignee_id")),
    "assignee_name", or_null(json_object_get(r, "assignee_name")), "comment_count", json_object_get(r, "comments"),
    "created_by", or_null(json_object_get(r, "created_by")));
  static const char *const times[] = {"created_at", "updated_at", "closed_at"};
  for (size_t i = 0; i < 3; i++) json_object_set_new(o, times[i], lp_json_time(json_object_get(r, times[i])));
  json_object_set(o, "closed_by", or_null(json_object_get(r, "closed_by")));
  return o;
}

static json_t *comment_present(json_t *r) {
  json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(r, "id"), "ticket_id", json_object_get(r, "ticket_id"),
                        "body", json_object_get(r, "body"), "author_id", or_null(json_object_get(r, "author_id")),
                        "author_name", or_null(json_object_get(r, "author_name")));
  json_object_set_new(o, "created_at", lp_json_time(json_object_get(r, "created_at")));
  return o;
}

/* May a see this ticket row (read with TICKET_SELECT)? */
static int ticket_visible(lp_db *db, const lp_actor *a, json_t *row) {
  if (a->view == LP_VIEW_ALL) return 1;
  if (iget(row, "assignee_id") == a->id) return 1;
  if (!iget(row, "customer_id") && json_object_get(row, "lead_deleted_at") && !json_is_null(json_object_get(row, "lead_deleted_at")))
    return 0;
  lp_err e = LP_ERR_INIT;
  json_t *probe = json_pack("{s:O, s:O}", "id", json_object_get(row, "id"), "owner_id", or_null(json_object_get(row, "owner_id")));
  int ok = lp_lead_visible(db, a, probe, &e) == LP_OK;
  json_decref(probe);
  lp_err_release(&e);
  return ok;
}

/* The ticket row, if a may see it; 404 otherwise. */
static json_t *ticket_row(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, TICKET_SELECT " WHERE t.id = $1", args, err);
  json_decref(args);
  if (row && !ticket_visible(db, a, row)) { json_decref(row); row = NULL; }
  if (!row && !err->code) lp_fail(err, LP_ENOTFOUND, "No ticket %lld", (long long)id);
  return row;
}

json_t *lp_ticket_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *row = ticket_row(db, a, id, err);
  if (!row) return NULL;
  json_t *o = ticket_present(row);
  json_decref(row);
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *rows = lp_query(db, "SELECT tc.*, u.name AS author_name FROM ticket_comments tc LEFT JOIN users u ON u.id = tc.author_id"
                              " WHERE tc.ticket_id = $1 ORDER BY tc.id LIMIT 5000", args, err);
  json_decref(args);
  if (!rows) { json_decref(o); return NULL; }
  json_t *list = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_array_append_new(list, comment_present(r));
  json_decref(rows);
  json_object_set_new(o, "comments", list);
  return o;
}

/* The lead or customer a list or a new ticket is about, visible to a (404 otherwise). */
static json_t *lead_visible_row(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return NULL;
  json_t *del = json_object_get(row, "deleted_at");
  if ((del && !json_is_null(del)) || lp_lead_visible(db, a, row, err) != LP_OK) {
    json_decref(row);
    lp_err_release(err);
    lp_fail(err, LP_ENOTFOUND, "No lead %lld", (long long)id);
    return NULL;
  }
  return row;
}

static json_t *customer_visible_row(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM customers WHERE id = $1", args, err);
  json_decref(args);
  if (row) {
    json_t *probe = json_pack("{s:I, s:O}", "id", (json_int_t)id, "owner_id", or_null(json_object_get(row, "owner_id")));
    if (lp_lead_visible(db, a, probe, err) != LP_OK) { json_decref(row); row = NULL; lp_err_release(err); }
    json_decref(probe);
  }
  if (!row && !err->code) lp_fail(err, LP_ENOTFOUND, "No customer %lld", (long long)id);
  return row;
}

json_t *lp_tickets_of(lp_db *db, const lp_actor *a, int64_t lead_id, int64_t customer_id, const char *status, lp_err *err) {
  json_t *owner = lead_id ? lead_visible_row(db, a, lead_id, err) : customer_visible_row(db, a, customer_id, err);
  if (!owner) return NULL;
  json_decref(owner);
  json_t *args = json_pack("[I, s]", (json_int_t)(lead_id ? lead_id : customer_id), status ? status : "");
  json_t *rows = lp_query(db, lead_id ? TICKET_SELECT " WHERE t.lead_id = $1 AND ($2 = '' OR t.status = $2)"
                                        " ORDER BY CASE WHEN t.status = 'open' THEN 0 ELSE 1 END, t.id DESC LIMIT 1000"
                                      : TICKET_SELECT " WHERE t.customer_id = $1 AND ($2 = '' OR t.status = $2)"
                                        " ORDER BY CASE WHEN t.status = 'open' THEN 0 ELSE 1 END, t.id DESC LIMIT 1000",
                          args, err);
  json_decref(args);
  return rows ? lp_page_of(rows, ticket_present) : NULL;
}

/* ASCII lower case (the search text and the query alike, as customers do). */
static void lower(char *s) { for (; *s; s++) *s = (char)tolower((unsigned char)*s); }

json_t *lp_tickets_list(lp_db *db, const lp_actor *a, const lp_ticket_filter *f, lp_err *err) {
  lp_buf pat = LP_BUF_INIT(2048);
  lp_buf_puts(&pat, "%");
  for (const char *p = f->q ? f->q : ""; *p; p++) {
    char ch = (char)tolower((unsigned char)*p);
    if (ch == '%' || ch == '_' || ch == '\\') lp_buf_add(&pat, "\\", 1);
    lp_buf_add(&pat, &ch, 1);
  }
  lp_buf_puts(&pat, "%");
  const char *status = f->status && strcmp(f->status, "all") ? f->status : f->status ? "" : "open";
  int64_t assignee = 0;
  if (f->assignee && !strcmp(f->assignee, "me")) assignee = a->id;
  else if (f->assignee) assignee = strtoll(f->assignee, NULL, 10);
  json_t *args = json_pack("[I, I, s, s, I, I, I, s]", (json_int_t)a->view, (json_int_t)a->id, status,
                           f->q && *f->q ? lp_buf_str(&pat) : "%", (json_int_t)assignee,
                           (json_int_t)(f->cursor > 0 ? f->cursor : INT64_MAX), (json_int_t)f->limit + 1,
                           f->priority ? f->priority : "");
  lp_buf_release(&pat);
  json_t *rows = lp_query(db, TICKET_SELECT " WHERE" TICKET_VISIBLE
                              " AND ($3 = '' OR t.status = $3) AND t.search LIKE $4 ESCAPE '\\'"
                              " AND ($5 = 0 OR t.assignee_id = $5) AND ($8 = '' OR t.priority = $8) AND t.id < $6"
                              " ORDER BY t.id DESC LIMIT $7", args, err);
  json_decref(args);
  if (!rows) return NULL;
  json_t *items = json_array(), *next = json_null();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    if ((int)i == f->limit) {
      char c[32];
      snprintf(c, sizeof c, "%lld", (long long)iget(json_array_get(rows, i - 1), "id"));
      next = json_string(c);
      break;
    }
    json_array_append_new(items, ticket_present(r));
  }
  json_decref(rows);
  return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}

/* ---------------------------------------------------------------- checking input */

/* A string of 1..max bytes (not only blanks) when required, or up to max / null when not. */
static void str_check(json_t *req, const char *k, size_t max, int required, int nullable, lp_err *err) {
  json_t *v = json_object_get(req, k);
  char why[96];
  if (!v) { if (required) lp_fail_field(err, k, "required"); return; }
  if (json_is_null(v)) { if (!nullable) lp_fail_field(err, k, "must not be null"); return; }
  snprintf(why, sizeof why, "must be a string of at most %zu bytes%s", max, required ? ", not blank" : "");
  if (!json_is_string(v) || json_string_length(v) > max) { lp_fail_field(err, k, why); return; }
  if (required) {
    const char *s = json_string_value(v);
    while (*s && isspace((unsigned char)*s)) s++;
    if (!*s) lp_fail_field(err, k, why);
  }
}

static lp_code input_check(json_t *req, int create, lp_err *err) {
  if (!json_is_object(req)) return lp_fail(err, LP_EVALIDATION, "The body must be a JSON object");
  str_check(req, "subject", SUBJECT_MAX, create || json_object_get(req, "subject") != NULL, 0, err);
  str_check(req, "body", BODY_MAX, 0, 1, err);
  str_check(req, "requester", REQUESTER_MAX, 0, 1, err);
  json_t *p = json_object_get(req, "priority");
  if (p && !priority_ok(json_string_value(p))) lp_fail_field(err, "priority", "must be low, normal, high or urgent");
  json_t *s = json_object_get(req, "status");
  if (s && (!json_is_string(s) || (strcmp(json_string_value(s), "open") && strcmp(json_string_value(s), "closed"))))
    lp_fail_field(err, "status", "must be open or closed");
  if (s && create) lp_fail_field(err, "status", "a new ticket is open; close it afterwards");
  json_t *as = json_object_get(req, "assignee_id");
  if (as && !json_is_null(as) && (!json_is_integer(as) || json_integer_value(as) <= 0)) lp_fail_field(err, "assignee_id", "must be a user id or null");
  return err->code;
}

/* The searched text: subject, body, requester and the name of whom it is about, lower case. */
static char *search_text(json_t *row, const char *name) {
  lp_buf b = LP_BUF_INIT(64 << 10);
  static const char *const keys[] = {"subject", "requester", "body"};
  for (size_t i = 0; i < 3; i++) if (sget(row, keys[i])) { lp_buf_puts(&b, sget(row, keys[i])); lp_buf_puts(&b, " | "); }
  if (name) lp_buf_puts(&b, name);
  char *s = strdup(lp_buf_str(&b));
  lp_buf_release(&b);
  if (s) lower(s);
  return s;
}

/* The assignee named by a change: an active user (422 otherwise); tells them unless they did it. */
static lp_code assignee_check(lp_db *db, json_t *cols, lp_err *err) {
  json_t *as = json_object_get(cols, "assignee_id");
  if (!json_is_integer(as)) return LP_OK;
  lp_ref_check(db, "users", json_integer_value(as), "assignee_id", err);
  return err->code;
}

static lp_code tell_assignee(lp_db *db, const lp_actor *a, int64_t user, int64_t lead_id, int64_t ticket_id, const char *subject,
                             int64_t now, lp_err *err) {
  if (user <= 0 || user == a->id) return LP_OK;
  json_t *d = json_pack("{s:I, s:s, s:s}", "ticket_id", (json_int_t)ticket_id, "subject", subject ? subject : "", "by", a->name);
  lp_code rc = lp_notify(db, user, "ticket_assigned", lead_id, d, now, err);
  json_decref(d);
  return rc;
}

/* ---------------------------------------------------------------- opening */

typedef struct {
  const lp_actor *a;
  int64_t lead_id, customer_id, id, expect, now;
  json_t *req;
  json_t *result;  /* comments: the new comment */
} ticket_ctx;

/* "Name <first e-mail>" of a lead or customer row: whom a ticket is opened for by default. */
static char *requester_of(json_t *row) {
  json_t *emails = json_object_get(row, "emails");
  json_t *arr = json_is_string(emails) ? json_loads(json_string_value(emails), 0, NULL) : json_incref(emails);
  const char *mail = json_string_value(json_array_get(arr, 0));
  lp_buf b = LP_BUF_INIT(REQUESTER_MAX);
  lp_buf_puts(&b, sget(row, "full_name") ? sget(row, "full_name") : "");
  if (mail) lp_buf_printf(&b, " <%s>", mail);
  json_decref(arr);
  char *s = strdup(lp_buf_str(&b));
  lp_buf_release(&b);
  return s;
}

static lp_code create_fn(lp_db *db, void *p, lp_err *err) {
  ticket_ctx *c = p;
  c->id = 0;
  int64_t lead_id = c->lead_id, customer_id = c->customer_id;
  json_t *about = lead_id ? lead_visible_row(db, c->a, lead_id, err) : customer_visible_row(db, c->a, customer_id, err);
  if (!about) return err->code;
  if (lead_id) customer_id = iget(about, "customer_id");  /* a converted lead's ticket is its customer's too */
  else lead_id = iget(about, "lead_id");
  json_t *cols = json_pack("{s:O, s:s, s:s, s:I, s:I}", "subject", json_object_get(c->req, "subject"), "priority",
                           sget(c->req, "priority") ? sget(c->req, "priority") : "normal", "status", "open",
                           "created_at", (json_int_t)c->now, "updated_at", (json_int_t)c->now);
  if (lead_id) json_object_set_new(cols, "lead_id", json_integer(lead_id));
  if (customer_id) json_object_set_new(cols, "customer_id", json_integer(customer_id));
  if (c->a->id > 0) json_object_set_new(cols, "created_by", json_integer(c->a->id));
  if (json_is_string(json_object_get(c->req, "body"))) json_object_set(cols, "body", json_object_get(c->req, "body"));
  json_t *rq = json_object_get(c->req, "requester");
  if (json_is_string(rq) && json_string_length(rq)) json_object_set(cols, "requester", rq);
  else {
    char *r = requester_of(about);
    json_object_set_new(cols, "requester", json_string(r ? r : ""));
    free(r);
  }
  if (json_is_integer(json_object_get(c->req, "assignee_id"))) json_object_set(cols, "assignee_id", json_object_get(c->req, "assignee_id"));
  char *st = search_text(cols, sget(about, "full_name"));
  json_object_set_new(cols, "search", json_string(st ? st : ""));
  free(st);
  lp_code rc = assignee_check(db, cols, err);
  if (rc == LP_OK) rc = lp_insert(db, "tickets", cols, &c->id, err);
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:O, s:O, s:O, s:o, s:O}", "ticket_id", (json_int_t)c->id, "subject", json_object_get(cols, "subject"),
                             "priority", json_object_get(cols, "priority"), "requester", json_object_get(cols, "requester"),
                             "customer_id", customer_id ? json_integer(customer_id) : json_null(),
                             "assignee_id", or_null(json_object_get(cols, "assignee_id")));
    rc = lp_event(db, c->now, lead_id, c->a->id, "ticket_opened", "ticket", c->id, data, err);
    json_decref(data);
  }
  if (rc == LP_OK) rc = tell_assignee(db, c->a, iget(cols, "assignee_id"), lead_id, c->id, sget(cols, "subject"), c->now, err);
  json_decref(cols);
  json_decref(about);
  return rc;
}

/* The answer after a write: the one who wrote sees the ticket even when it now sits elsewhere. */
static json_t *answer(lp_store *s, const lp_actor *a, int64_t id, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_ticket_get(db, a, id, err) : NULL;
}

json_t *lp_ticket_create(lp_store *s, const lp_actor *a, int64_t lead_id, int64_t customer_id, json_t *req, int64_t now,
                         lp_err *err) {
  if (input_check(req, 1, err) != LP_OK) return NULL;
  ticket_ctx c = {a, lead_id, customer_id, 0, -1, now, req, NULL};
  if (lp_store_write(s, create_fn, &c, err) != LP_OK) return NULL;
  return answer(s, a, c.id, err);
}

/* ---------------------------------------------------------------- changing */

static int same(json_t *a, json_t *b) {
  if (!a || json_is_null(a)) return !b || json_is_null(b);
  return b && json_equal(a, b);
}

static lp_code update_fn(lp_db *db, void *p, lp_err *err) {
  ticket_ctx *c = p;
  json_t *row = ticket_row(db, c->a, c->id, err);
  if (!row) return err->code;
  lp_code rc = LP_OK;
  if (c->expect >= 0 && iget(row, "version") != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The ticket has changed (now version %lld); reload and try again", (long long)iget(row, "version"));
  json_t *set = json_object(), *changes = json_object();
  static const char *const fields[] = {"subject", "body", "priority", "requester", "assignee_id"};
  for (size_t i = 0; rc == LP_OK && i < 5; i++) {
    json_t *v = json_object_get(c->req, fields[i]);
    if (!v || same(json_object_get(row, fields[i]), v)) continue;
    json_object_set(set, fields[i], v);
    json_object_set_new(changes, fields[i], json_pack("{s:O, s:O}", "old", or_null(json_object_get(row, fields[i])), "new", v));
  }
  const char *was = sget(row, "status"), *to = sget(c->req, "status");
  int moving = rc == LP_OK && to && strcmp(to, was);
  if (moving) {
    json_object_set_new(set, "status", json_string(to));
    int closing = !strcmp(to, "closed");
    json_object_set_new(set, "closed_at", closing ? json_integer(c->now) : json_null());
    json_object_set_new(set, "closed_by", closing && c->a->id > 0 ? json_integer(c->a->id) : json_null());
  }
  if (rc == LP_OK) rc = assignee_check(db, set, err);
  if (rc == LP_OK && json_object_size(set)) {
    json_t *merged = json_deep_copy(row);
    json_object_update(merged, set);
    const char *name = sget(row, "customer_name") ? sget(row, "customer_name") : sget(row, "lead_name");
    char *st = search_text(merged, name);
    json_decref(merged);
    json_object_set_new(set, "search", json_string(st ? st : ""));
    free(st);
    json_object_set_new(set, "updated_at", json_integer(c->now));
    rc = lp_update(db, "tickets", c->id, set, iget(row, "version"), err);
    int64_t lead_id = iget(row, "lead_id");
    const char *subject = sget(set, "subject") ? sget(set, "subject") : sget(row, "subject");
    if (rc == LP_OK && json_object_size(changes)) {
      json_t *data = json_pack("{s:I, s:s, s:O}", "ticket_id", (json_int_t)c->id, "subject", subject, "changes", changes);
      rc = lp_event(db, c->now, lead_id, c->a->id, "ticket_updated", "ticket", c->id, data, err);
      json_decref(data);
    }
    if (rc == LP_OK && moving) {
      json_t *data = json_pack("{s:I, s:s}", "ticket_id", (json_int_t)c->id, "subject", subject);
      rc = lp_event(db, c->now, lead_id, c->a->id, !strcmp(to, "closed") ? "ticket_closed" : "ticket_reopened", "ticket", c->id, data, err);
      json_decref(data);
    }
    if (rc == LP_OK && json_object_get(changes, "assignee_id"))
      rc = tell_assignee(db, c->a, iget(set, "assignee_id"), lead_id, c->id, subject, c->now, err);
  }
  json_decref(set);
  json_decref(changes);
  json_decref(row);
  return rc;
}

json_t *lp_ticket_update(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t expect, int64_t now, lp_err *err) {
  if (input_check(req, 0, err) != LP_OK) return NULL;
  ticket_ctx c = {a, 0, 0, id, expect, now, req, NULL};
  if (lp_store_write(s, update_fn, &c, err) != LP_OK) return NULL;
  return answer(s, a, id, err);
}

/* ---------------------------------------------------------------- comments */

static lp_code comment_fn(lp_db *db, void *p, lp_err *err) {
  ticket_ctx *c = p;
  json_decref(c->result);
  c->result = NULL;
  json_t *row = ticket_row(db, c->a, c->id, err);
  if (!row) return err->code;
  json_t *cols = json_pack("{s:I, s:O, s:I}", "ticket_id", (json_int_t)c->id, "body", json_object_get(c->req, "body"),
                           "created_at", (json_int_t)c->now);
  if (c->a->id > 0) json_object_set_new(cols, "author_id", json_integer(c->a->id));
  int64_t cid = 0;
  lp_code rc = lp_insert(db, "ticket_comments", cols, &cid, err);
  if (rc == LP_OK) {
    /* a comment is no edit of the ticket's fields: no new version, but a new updated_at */
    json_t *args = json_pack("[I, I]", (json_int_t)c->id, (json_int_t)c->now);
    rc = lp_exec(db, "UPDATE tickets SET comments = comments + 1, updated_at = $2 WHERE id = $1", args, err);
    json_decref(args);
  }
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:I, s:O, s:O}", "ticket_id", (json_int_t)c->id, "comment_id", (json_int_t)cid,
                             "subject", json_object_get(row, "subject"), "body", json_object_get(cols, "body"));
    rc = lp_event(db, c->now, iget(row, "lead_id"), c->a->id, "ticket_comment", "ticket", c->id, data, err);
    json_decref(data);
  }
  if (rc == LP_OK) {
    json_object_set_new(cols, "id", json_integer(cid));
    json_object_set_new(cols, "author_name", c->a->id > 0 ? json_string(c->a->name) : json_null());
    c->result = comment_present(cols);
  }
  json_decref(cols);
  json_decref(row);
  return rc;
}

json_t *lp_ticket_comment(lp_store *s, const lp_actor *a, int64_t id, json_t *req, int64_t now, lp_err *err) {
  if (!json_is_object(req)) { lp_fail(err, LP_EVALIDATION, "The body must be a JSON object"); return NULL; }
  str_check(req, "body", BODY_MAX, 1, 0, err);
  if (err->code) return NULL;
  ticket_ctx c = {a, 0, 0, id, -1, now, req, NULL};
  if (lp_store_write(s, comment_fn, &c, err) != LP_OK) { json_decref(c.result); return NULL; }
  return c.result;
}
