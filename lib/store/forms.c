/* forms.c — web forms and portal logins in the store (see forms.h).
 *
 * Matching a submission: the e-mail is looked up first, then the phone (E.164), with the same
 * address lookup inbound messages use (lp_leads_by_address); the first of those leads that is
 * OPEN gets the submission as an inbound message — on the e-mail channel when the e-mail matched,
 * on SMS when the phone did — appended to its open thread of that channel or on a new one, with
 * matched_by form_email / form_phone. A lead that matches but is closed is not reopened: the
 * submission makes a new lead (a returning customer is a new engagement, and the closed lead keeps
 * its outcome). A new lead's `created` event names the form in `via`. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "core/plan.h"
#include "core/record.h"
#include "msg/formhtml.h"
#include "store/apply.h"
#include "store/forms.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/rows.h"
#include "store/threads.h"
#include "util/secret.h"
#include "util/valid.h"

#define CANDIDATES 8
#define KEY_MIN 3
#define KEY_MAX 64
#define FORM_NAME_MAX 200
#define LABEL_MAX 100
#define THANKS_MAX 2000
#define REDIRECT_MAX 250   /* it travels in a Location header */

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static lp_code need_admin(const lp_actor *a, lp_err *err) {
  return a->is_admin ? LP_OK : lp_fail(err, LP_EFORBIDDEN, "Only an admin may manage forms");
}

/* ---------------------------------------------------------------- reading */

static json_t *present(json_t *row) {
  json_t *fields = json_loads(sget(row, "fields") ? sget(row, "fields") : "[]", 0, NULL);
  if (!json_is_array(fields)) { json_decref(fields); fields = json_array(); }
  char url[128];
  snprintf(url, sizeof url, "/public/v1/forms/%s", sget(row, "key") ? sget(row, "key") : "");
  json_t *src = json_object_get(row, "source_id"), *own = json_object_get(row, "owner_id");
  return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:O, s:O, s:b, s:s, s:o, s:o}",
                   "id", json_object_get(row, "id"), "version", json_object_get(row, "version"),
                   "key", json_object_get(row, "key"), "name", json_object_get(row, "name"), "kind", json_object_get(row, "kind"),
                   "source_id", src ? src : json_null(), "owner_id", own ? own : json_null(), "fields", fields,
                   "thank_you", json_object_get(row, "thank_you") ? json_object_get(row, "thank_you") : json_null(),
                   "redirect_url", json_object_get(row, "redirect_url") ? json_object_get(row, "redirect_url") : json_null(),
                   "active", iget(row, "active") != 0, "submit_path", url,
                   "created_at", lp_json_time(json_object_get(row, "created_at")),
                   "updated_at", lp_json_time(json_object_get(row, "updated_at")));
}

static json_t *form_row(lp_db *db, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM forms WHERE id = $1", args, err);
  json_decref(args);
  if (!row && err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No form %lld", (long long)id);
  return row;
}

json_t *lp_forms_list(lp_db *db, const lp_actor *a, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return NULL;
  json_t *rows = lp_query(db, "SELECT * FROM forms ORDER BY name, id", NULL, err);
  return rows ? lp_page_of(rows, present) : NULL;
}

json_t *lp_form_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return NULL;
  json_t *row = form_row(db, id, err);
  if (!row) return NULL;
  json_t *o = present(row);
  json_decref(row);
  return o;
}

/* ---------------------------------------------------------------- validation */

static int key_ok(const char *k) {
  size_t n = strlen(k);
  if (n < KEY_MIN || n > KEY_MAX) return 0;
  for (const char *p = k; *p; p++) {
    int alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
    if (!alnum && (p == k || (*p != '-' && *p != '_'))) return 0;
  }
  return 1;
}

static int url_ok(const char *u) {
  if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) return 0;
  const char *host = u + (u[4] == 's' ? 8 : 7);
  if (!*host || *host == '/') return 0;
  for (const char *p = u; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\') return 0;
  return strlen(u) <= REDIRECT_MAX;
}

/* fields: [{name, label?, required?} | "name", ...] -> the stored form (full_name first and
 * required; each name once, from the catalogue). NULL with a field error. */
static json_t *fields_norm(json_t *v, lp_err *err) {
  if (!json_is_array(v) || json_array_size(v) > lp_form_fields_n) {
    lp_fail_field(err, "fields", "must be a list of form fields (see form_fields in GET /api/v1/meta)");
    return NULL;
  }
  json_t *out = json_array();
  json_array_append_new(out, json_pack("{s:s, s:s, s:b}", "name", "full_name", "label", "Full name", "required", 1));
  size_t i;
  json_t *f;
  json_array_foreach(v, i, f) {
    const char *name = json_is_string(f) ? json_string_value(f) : sget(f, "name");
    const lp_form_field *c = lp_form_field_find(name);
    json_t *label = json_is_object(f) ? json_object_get(f, "label") : NULL;
    json_t *req = json_is_object(f) ? json_object_get(f, "required") : NULL;
    char why[160];
    if (!c) snprintf(why, sizeof why, "item %zu: unknown field (one of full_name, email, phone, company, country, region, city, service, request)", i);
    else if (label && !json_is_null(label) && (!json_is_string(label) || json_string_length(label) > LABEL_MAX))
      snprintf(why, sizeof why, "item %zu: label must be text of at most %d characters", i, LABEL_MAX);
    else if (req && !json_is_null(req) && !json_is_boolean(req)) snprintf(why, sizeof why, "item %zu: required must be true or false", i);
    else why[0] = 0;
    if (!why[0]) {
      size_t k;
      json_t *seen;
      json_array_foreach(out, k, seen) if (k > 0 && !strcmp(sget(seen, "name"), c->name)) snprintf(why, sizeof why, "item %zu: %s is listed twice", i, c->name);
    }
    if (why[0]) { lp_fail_field(err, "fields", why); json_decref(out); return NULL; }
    const char *lab = label && json_string_length(label) ? json_string_value(label) : c->label;
    if (!strcmp(c->name, "full_name")) {  /* always there and required; its label may change */
      json_object_set_new(json_array_get(out, 0), "label", json_string(lab));
      continue;
    }
    json_array_append_new(out, json_pack("{s:s, s:s, s:b}", "name", c->name, "label", lab, "required", json_is_true(req)));
  }
  return out;
}

/* A portal sign-up asks for the e-mail (its login), required: added or made required here. */
static void fields_for_kind(json_t *fields, const char *kind) {
  if (!kind || strcmp(kind, "portal_signup")) return;
  size_t i;
  json_t *f;
  json_array_foreach(fields, i, f) if (!strcmp(sget(f, "name"), "email")) { json_object_set_new(f, "required", json_true()); return; }
  json_array_insert_new(fields, 1, json_pack("{s:s, s:s, s:b}", "name", "email", "label", "Email", "required", 1));
}

/* body -> cols (row form) for a create (creating = 1) or a patch. */
static void validate(json_t *body, int creating, json_t *cols, lp_err *err) {
  if (!json_is_object(body)) { lp_fail(err, LP_EVALIDATION, "The body must be a JSON object"); return; }
  json_t *v;
  if ((v = json_object_get(body, "key")) && !json_is_null(v)) {
    if (!json_is_string(v) || !key_ok(json_string_value(v)))
      lp_fail_field(err, "key", "3 to 64 of a-z, 0-9, - and _, starting with a letter or digit");
    else json_object_set(cols, "key", v);
  } else if (v && !creating) {
    lp_fail_field(err, "key", "may not be null");
  } else if (creating) {  /* unguessable: 24 random hex digits */
    char t[LP_TOKEN_LEN];
    lp_token_new(t);
    t[24] = 0;
    json_object_set_new(cols, "key", json_string(t));
  }
  if ((v = json_object_get(body, "name"))) {
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > FORM_NAME_MAX) lp_fail_field(err, "name", "required, at most 200 characters");
    else json_object_set(cols, "name", v);
  } else if (creating) lp_fail_field(err, "name", "required");
  if ((v = json_object_get(body, "kind"))) {
    const char *k = json_string_value(v);
    if (!k || (strcmp(k, "lead") && strcmp(k, "portal_signup"))) lp_fail_field(err, "kind", "must be lead or portal_signup");
    else json_object_set(cols, "kind", v);
  } else if (creating) json_object_set_new(cols, "kind", json_string("lead"));
  const char *refs[] = {"source_id", "owner_id"};
  for (int i = 0; i < 2; i++) {
    if (!(v = json_object_get(body, refs[i]))) continue;
    if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 1)) lp_fail_field(err, refs[i], "must be an id or null");
    else json_object_set(cols, refs[i], v);
  }
  if ((v = json_object_get(body, "fields"))) {
    json_t *f = fields_norm(v, err);
    if (f) json_object_set_new(cols, "fields", f);
  } else if (creating) {
    json_object_set_new(cols, "fields", json_pack("[{s:s, s:s, s:b}, {s:s, s:s, s:b}, {s:s, s:s, s:b}, {s:s, s:s, s:b}]",
                                                  "name", "full_name", "label", "Full name", "required", 1,
                                                  "name", "email", "label", "Email", "required", 0,
                                                  "name", "phone", "label", "Phone", "required", 0,
                                                  "name", "request", "label", "Your request", "required", 0));
  }
  if ((v = json_object_get(body, "thank_you"))) {
    if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) > THANKS_MAX)) lp_fail_field(err, "thank_you", "text of at most 2,000 characters, or null");
    else json_object_set(cols, "thank_you", json_is_string(v) && json_string_length(v) ? v : json_null());
  }
  if ((v = json_object_get(body, "redirect_url"))) {
    if (!json_is_null(v) && (!json_is_string(v) || (json_string_length(v) && !url_ok(json_string_value(v)))))
      lp_fail_field(err, "redirect_url", "an http:// or https:// URL of at most 250 characters, or null");
    else json_object_set(cols, "redirect_url", json_is_string(v) && json_string_length(v) ? v : json_null());
  }
  if ((v = json_object_get(body, "active"))) {
    if (!json_is_boolean(v)) lp_fail_field(err, "active", "must be true or false");
    else json_object_set_new(cols, "active", json_integer(json_is_true(v)));
  } else if (creating) json_object_set_new(cols, "active", json_integer(1));
}

/* References and the key's uniqueness, inside the write. */
static lp_code check_refs(lp_db *db, json_t *cols, int64_t self, lp_err *err) {
  if (json_is_integer(json_object_get(cols, "source_id")) && lp_ref_check(db, "sources", iget(cols, "source_id"), "source_id", err) != LP_OK &&
      err->code != LP_EVALIDATION)
    return err->code;
  if (json_is_integer(json_object_get(cols, "owner_id")) && lp_ref_check(db, "users", iget(cols, "owner_id"), "owner_id", err) != LP_OK &&
      err->code != LP_EVALIDATION)
    return err->code;
  if (err->code) return err->code;
  if (sget(cols, "key")) {
    json_t *args = json_pack("[s, I]", sget(cols, "key"), (json_int_t)self);
    int64_t taken = lp_query_int(db, "SELECT id FROM forms WHERE key = $1 AND id <> $2", args, 0, err);
    json_decref(args);
    if (err->code) return err->code;
    if (taken) return lp_fail(err, LP_ECONFLICT, "Another form already has the key %s", sget(cols, "key"));
  }
  return LP_OK;
}

/* ---------------------------------------------------------------- writes */

typedef struct { const lp_actor *a; int64_t id, expect, now; json_t *cols; } form_ctx;

/* fields as stored: JSON text */
static void fields_to_text(json_t *cols) {
  json_t *f = json_object_get(cols, "fields");
  if (!json_is_array(f)) return;
  char *t = json_dumps(f, JSON_COMPACT);
  json_object_set_new(cols, "fields", json_string(t));
  free(t);
}

static lp_code create_fn(lp_db *db, void *p, lp_err *err) {
  form_ctx *c = p;
  c->id = 0;
  json_t *cols = json_deep_copy(c->cols);
  lp_code rc = check_refs(db, cols, 0, err);
  if (rc == LP_OK && !json_object_get(cols, "source_id")) {  /* by default leads come from the "Web form" source */
    int64_t src = lp_query_int(db, "SELECT id FROM sources WHERE name = 'Web form'", NULL, 0, err);
    if (err->code) rc = err->code;
    else if (src) json_object_set_new(cols, "source_id", json_integer(src));
  }
  if (rc == LP_OK) {
    fields_for_kind(json_object_get(cols, "fields"), sget(cols, "kind"));
    json_t *ev = json_pack("{s:O, s:O, s:O, s:O, s:O}", "key", json_object_get(cols, "key"), "name", json_object_get(cols, "name"),
                           "kind", json_object_get(cols, "kind"), "source_id", json_object_get(cols, "source_id") ? json_object_get(cols, "source_id") : json_null(),
                           "owner_id", json_object_get(cols, "owner_id") ? json_object_get(cols, "owner_id") : json_null());
    fields_to_text(cols);
    json_object_set_new(cols, "created_by", json_integer(c->a->id));
    json_object_set_new(cols, "created_at", json_integer(c->now));
    json_object_set_new(cols, "updated_at", json_integer(c->now));
    rc = lp_insert(db, "forms", cols, &c->id, err);
    if (rc == LP_ECONFLICT) rc = lp_fail(err, LP_ECONFLICT, "Another form already has the key %s", sget(cols, "key"));
    if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "form_created", "form", c->id, ev, err);
    json_decref(ev);
  }
  json_decref(cols);
  return rc;
}

json_t *lp_form_create(lp_store *s, const lp_actor *a, json_t *body, int64_t now, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return NULL;
  json_t *cols = json_object();
  validate(body, 1, cols, err);
  form_ctx c = {a, 0, -1, now, cols};
  if (err->code != LP_OK || lp_store_write(s, create_fn, &c, err) != LP_OK) { json_decref(cols); return NULL; }
  json_decref(cols);
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_form_get(db, a, c.id, err) : NULL;
}

static json_t *row_for_write(lp_db *db, int64_t id, int64_t expect, lp_err *err) {
  json_t *row = form_row(db, id, err);
  if (row && expect >= 0 && iget(row, "version") != expect) {
    json_decref(row);
    lp_fail(err, LP_EVERSION, "The form has changed; reload and try again");
    return NULL;
  }
  return row;
}

static lp_code update_fn(lp_db *db, void *p, lp_err *err) {
  form_ctx *c = p;
  json_t *row = row_for_write(db, c->id, c->expect, err);
  if (!row) return err->code;
  json_t *cols = json_deep_copy(c->cols);
  lp_code rc = check_refs(db, cols, c->id, err);
  if (rc == LP_OK) {
    /* the kind and the fields together: a portal sign-up keeps a required e-mail */
    const char *kind = sget(cols, "kind") ? sget(cols, "kind") : sget(row, "kind");
    if (!json_object_get(cols, "fields") && sget(cols, "kind")) {
      json_t *f = json_loads(sget(row, "fields") ? sget(row, "fields") : "[]", 0, NULL);
      json_object_set_new(cols, "fields", json_is_array(f) ? f : json_array());
      if (!json_is_array(f)) json_decref(f);
    }
    fields_for_kind(json_object_get(cols, "fields"), kind);
    fields_to_text(cols);
    json_t *before = present(row), *changes = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(cols, k, v) {
      json_t *old = json_object_get(row, k);
      if (json_equal(v, old) || (json_is_null(v) && !old)) continue;
      json_t *nv = !strcmp(k, "fields") ? json_loads(json_string_value(v), 0, NULL)
                 : !strcmp(k, "active") ? json_boolean(json_integer_value(v)) : json_incref(v);
      json_object_set_new(changes, k, json_pack("{s:O, s:o}", "old", json_object_get(before, k) ? json_object_get(before, k) : json_null(), "new", nv));
    }
    json_decref(before);
    if (json_object_size(changes)) {
      json_object_set_new(cols, "updated_at", json_integer(c->now));
      rc = lp_update(db, "forms", c->id, cols, -1, err);
      json_t *data = json_pack("{s:O, s:O}", "key", json_object_get(cols, "key") ? json_object_get(cols, "key") : json_object_get(row, "key"), "changes", changes);
      if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "form_updated", "form", c->id, data, err);
      json_decref(data);
    }
    json_decref(changes);
  }
  json_decref(cols);
  json_decref(row);
  return rc;
}

json_t *lp_form_update(lp_store *s, const lp_actor *a, int64_t id, json_t *body, int64_t expect, int64_t now, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return NULL;
  json_t *cols = json_object();
  validate(body, 0, cols, err);
  form_ctx c = {a, id, expect, now, cols};
  if (err->code != LP_OK || lp_store_write(s, update_fn, &c, err) != LP_OK) { json_decref(cols); return NULL; }
  json_decref(cols);
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_form_get(db, a, id, err) : NULL;
}

static lp_code delete_fn(lp_db *db, void *p, lp_err *err) {
  form_ctx *c = p;
  json_t *row = row_for_write(db, c->id, c->expect, err);
  if (!row) return err->code;
  json_t *data = json_pack("{s:O, s:O, s:O}", "key", json_object_get(row, "key"), "name", json_object_get(row, "name"), "kind", json_object_get(row, "kind"));
  json_decref(row);
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  lp_code rc = lp_exec(db, "DELETE FROM forms WHERE id = $1", args, err);
  json_decref(args);
  if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "form_deleted", "form", c->id, data, err);
  json_decref(data);
  return rc;
}

lp_code lp_form_delete(lp_store *s, const lp_actor *a, int64_t id, int64_t expect, int64_t now, lp_err *err) {
  if (need_admin(a, err) != LP_OK) return err->code;
  form_ctx c = {a, id, expect, now, NULL};
  return lp_store_write(s, delete_fn, &c, err);
}

/* ---------------------------------------------------------------- submissions */

typedef struct {
  json_t *form;              /* the form row */
  json_t *cols;              /* the new lead's columns, validated */
  const char *email, *phone; /* normalised, or NULL */
  const char *login, *hash;  /* a portal sign-up */
  char *body, *subject;      /* the submission as a message */
  int64_t by_email[CANDIDATES], by_phone[CANDIDATES];
  int n_email, n_phone;
  int64_t now;
  int64_t lead_id;           /* answered */
  const char *rule;
} submit_ctx;

/* The first OPEN lead of ids, as a row (NULL: none; err set only when a read failed). */
static json_t *open_lead(lp_db *db, const int64_t *ids, int n, lp_err *err) {
  for (int i = 0; i < n; i++) {
    json_t *row = lp_lead_row(db, ids[i], err);
    if (!row) {
      if (err->code != LP_ENOTFOUND) return NULL;
      lp_err_release(err);
      continue;
    }
    if (sget(row, "status") && !strcmp(sget(row, "status"), "open")) return row;
    json_decref(row);
  }
  return NULL;
}

/* The submission as an inbound message on lead (row), on its open thread of channel or a new one. */
static lp_code add_to_lead(lp_db *db, submit_ctx *c, json_t *lead, const char *channel, const char *from, lp_err *err) {
  json_t *args = json_pack("[I, s]", (json_int_t)iget(lead, "id"), channel);
  int64_t thread = lp_query_int(db, "SELECT id FROM threads WHERE lead_id = $1 AND channel = $2 AND status = 'open'"
                                    " ORDER BY last_message_at DESC, id DESC LIMIT 1", args, 0, err);
  json_decref(args);
  if (err->code) return err->code;
  json_t *facts = json_pack("{s:s, s:s, s:s, s:s}", "channel", channel, "from_addr", from, "body", c->body, "matched_by", c->rule);
  if (!strcmp(channel, "email")) json_object_set_new(facts, "subject", json_string(c->subject));
  lp_actor sys = {0};
  lp_plan_in in = {0};
  in.actor = &sys;
  in.now = c->now;
  in.lead = lead;
  lp_plan plan;
  lp_code rc = lp_plan_inbound(&in, facts, thread, 0, &plan, err);
  lp_applied out = {0};
  if (rc == LP_OK) rc = lp_apply(db, &sys, lead, &plan, NULL, c->now, &out, err);
  lp_plan_release(&plan);
  json_decref(facts);
  return rc;
}

static lp_code submit_fn(lp_db *db, void *p, lp_err *err) {
  submit_ctx *c = p;
  c->lead_id = 0;
  c->rule = NULL;
  if (c->login) {
    json_t *args = json_pack("[s]", c->login);
    int64_t taken = lp_query_int(db, "SELECT id FROM portal_logins WHERE login = $1", args, 0, err);
    json_decref(args);
    if (err->code) return err->code;
    if (taken) return lp_fail(err, LP_ECONFLICT, "There is already a portal login for this email; sign in instead");
  }
  lp_code rc = LP_OK;
  json_t *lead = open_lead(db, c->by_email, c->n_email, err);
  const char *channel = "email", *from = c->email;
  c->rule = "form_email";
  if (!lead && !err->code) {
    lead = open_lead(db, c->by_phone, c->n_phone, err);
    channel = "sms";
    from = c->phone;
    c->rule = "form_phone";
  }
  if (err->code) { json_decref(lead); return err->code; }
  lp_actor sys = {0};
  if (lead) {
    c->lead_id = iget(lead, "id");
    rc = add_to_lead(db, c, lead, channel, from, err);
    json_decref(lead);
  } else {
    c->rule = "new_lead";
    json_t *cols = json_deep_copy(c->cols);
    int64_t owner = iget(c->form, "owner_id");
    if (owner <= 0) owner = lp_inbound_owner(db, err);
    if (err->code) { json_decref(cols); return err->code; }
    if (owner > 0) json_object_set_new(cols, "owner_id", json_integer(owner));
    if (iget(c->form, "source_id") > 0) json_object_set_new(cols, "source_id", json_integer(iget(c->form, "source_id")));
    json_t *via = json_pack("{s:I, s:O, s:O}", "form_id", (json_int_t)iget(c->form, "id"), "form", json_object_get(c->form, "name"),
                            "form_key", json_object_get(c->form, "key"));
    rc = lp_lead_create_tx_via(db, &sys, cols, c->now, via, &c->lead_id, err);
    json_decref(via);
    json_decref(cols);
  }
  if (rc == LP_OK && c->login) {
    json_t *row = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I}", "login", c->login, "lead_id", (json_int_t)c->lead_id, "password_hash", c->hash,
                            "form_id", (json_int_t)iget(c->form, "id"), "created_at", (json_int_t)c->now, "updated_at", (json_int_t)c->now);
    int64_t id = 0;
    rc = lp_insert(db, "portal_logins", row, &id, err);
    json_decref(row);
    if (rc == LP_ECONFLICT) rc = lp_fail(err, LP_ECONFLICT, "There is already a portal login for this email; sign in instead");
    json_t *data = json_pack("{s:s, s:I}", "login", c->login, "form_id", (json_int_t)iget(c->form, "id"));
    if (rc == LP_OK) rc = lp_event(db, c->now, c->lead_id, 0, "portal_login_created", "portal_login", id, data, err);
    json_decref(data);
  }
  return rc;
}

/* The active form with this key, or NULL with 404. */
static json_t *form_by_key(lp_db *db, const char *key, lp_err *err) {
  json_t *args = json_pack("[s]", key ? key : "");
  json_t *row = lp_query_one(db, "SELECT * FROM forms WHERE key = $1 AND active = 1", args, err);
  json_decref(args);
  if (!row && err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No such form, or it takes no submissions now");
  return row;
}

/* The value of name in values, trimmed; NULL when absent or blank. */
static char *value_of(json_t *values, const char *name) {
  const char *v = json_string_value(json_object_get(values, name));
  if (!v) return NULL;
  while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') v++;
  size_t n = strlen(v);
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n')) n--;
  if (!n) return NULL;
  char *o = malloc(n + 1);
  if (!o) return NULL;
  memcpy(o, v, n);
  o[n] = 0;
  return o;
}

json_t *lp_form_submit(lp_store *s, const char *key, json_t *values, int64_t now, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return NULL;
  json_t *form = form_by_key(db, key, err);
  if (!form) return NULL;
  json_t *fields = json_loads(sget(form, "fields") ? sget(form, "fields") : "[]", 0, NULL);
  int portal = sget(form, "kind") && !strcmp(sget(form, "kind"), "portal_signup");
  json_t *in = json_object();
  lp_buf body = LP_BUF_INIT(64 * 1024);
  lp_buf_printf(&body, "Sent with the web form \"%s\".\n", sget(form, "name") ? sget(form, "name") : "");
  char em[LP_EMAIL_BUFSZ], ph[LP_PHONE_BUFSZ], pwhash[LP_PWHASH_LEN];
  submit_ctx c = {0};
  c.form = form;
  c.now = now;
  char *country = value_of(values, "country");
  char *dflt_country = country ? NULL : lp_setting_text(db, "default_country", err);
  if (err->code) lp_err_release(err);
  size_t i;
  json_t *f;
  json_array_foreach(fields, i, f) {
    const lp_form_field *cf = lp_form_field_find(sget(f, "name"));
    if (!cf) continue;
    char *v = value_of(values, cf->name);
    json_t *raw = json_object_get(values, cf->name);
    if (raw && !json_is_string(raw)) lp_fail_field(err, cf->name, "must be text");
    else if (!v) {
      if (json_is_true(json_object_get(f, "required"))) lp_fail_field(err, cf->name, "required");
    } else if (strlen(v) > cf->max) {
      char why[80];
      snprintf(why, sizeof why, "too long (at most %zu characters)", cf->max);
      lp_fail_field(err, cf->name, why);
    } else if (!strcmp(cf->name, "email")) {
      if (lp_email_normalize(v, em, sizeof em) != 0) lp_fail_field(err, "email", "not an email address");
      else { c.email = em; json_object_set_new(in, "emails", json_pack("[s]", em)); }
    } else if (!strcmp(cf->name, "phone")) {
      if (lp_phone_normalize(v, country ? country : dflt_country, ph, sizeof ph) != 0)
        lp_fail_field(err, "phone", "not a phone number (write it with its country code, +...)");
      else { c.phone = ph; json_object_set_new(in, "phones", json_pack("[s]", ph)); }
    } else {
      json_object_set_new(in, cf->lead_field, json_string(v));
    }
    if (v) lp_buf_printf(&body, "%s:%s%s\n", sget(f, "label") ? sget(f, "label") : cf->label, strchr(v, '\n') ? "\n" : " ", v);
    free(v);
  }
  free(country);
  free(dflt_country);
  char *password = portal ? (json_is_string(json_object_get(values, "password")) ? strdup(json_string_value(json_object_get(values, "password"))) : NULL) : NULL;
  if (portal) {
    size_t n = password ? strlen(password) : 0;
    if (!n) lp_fail_field(err, "password", "required");
    else if (n < LP_PORTAL_PASSWORD_MIN) lp_fail_field(err, "password", "at least 8 characters");
    else if (n > LP_PORTAL_PASSWORD_MAX) lp_fail_field(err, "password", "too long");
    if (!c.email && !json_object_get(err->fields, "email")) lp_fail_field(err, "email", "required (it is the portal login)");
  }
  /* the lead's own rules (lengths, country) on what was given */
  json_t *cols = NULL;
  if (!err->code) {
    lp_err e2 = LP_ERR_INIT;
    if (lp_rec_input(&lp_rt_lead, in, 1, 0, NULL, &cols, &e2) != LP_OK) {
      const char *k;
      json_t *v;
      json_object_foreach(e2.fields, k, v) lp_fail_field(err, !strcmp(k, "emails") ? "email" : !strcmp(k, "phones") ? "phone" : k, json_string_value(v) ? json_string_value(v) : "not valid");
      if (!err->code) lp_fail(err, e2.code, "%s", e2.message);
    }
    lp_err_release(&e2);
  }
  json_t *out = NULL;
  if (!err->code && portal) {
    c.login = c.email;
    /* a quick answer for a login that is taken, before the slow hash (the write checks again) */
    json_t *args = json_pack("[s]", c.login);
    int64_t taken = lp_query_int(db, "SELECT id FROM portal_logins WHERE login = $1", args, 0, err);
    json_decref(args);
    if (!err->code && taken) lp_fail(err, LP_ECONFLICT, "There is already a portal login for this email; sign in instead");
    else if (!err->code && lp_password_hash(password, pwhash) != 0) lp_fail(err, LP_EINTERNAL, "Cannot hash the password");
    c.hash = pwhash;
  }
  if (password) { sodium_memzero(password, strlen(password)); free(password); }
  if (!err->code) {
    if (c.email) c.n_email = lp_leads_by_address(s, "email", c.email, c.by_email, CANDIDATES, err);
    if (c.n_email >= 0 && !err->code && c.phone) c.n_phone = lp_leads_by_address(s, "phone", c.phone, c.by_phone, CANDIDATES, err);
  }
  if (!err->code) {
    c.cols = cols;
    c.body = (char *)lp_buf_str(&body);
    char subject[300];
    snprintf(subject, sizeof subject, "Web form: %.200s", sget(form, "name") ? sget(form, "name") : "");
    c.subject = subject;
    if (lp_store_write(s, submit_fn, &c, err) == LP_OK)
      out = json_pack("{s:I, s:O, s:O, s:I, s:s}", "form_id", (json_int_t)iget(form, "id"),
                      "thank_you", json_object_get(form, "thank_you") ? json_object_get(form, "thank_you") : json_null(),
                      "redirect_url", json_object_get(form, "redirect_url") ? json_object_get(form, "redirect_url") : json_null(),
                      "lead_id", (json_int_t)c.lead_id, "rule", c.rule);
  }
  sodium_memzero(pwhash, sizeof pwhash);
  lp_buf_release(&body);
  json_decref(cols);
  json_decref(in);
  json_decref(fields);
  json_decref(form);
  return out;
}

/* ---------------------------------------------------------------- portal logins */

/* A hash no password matches, verified when the login is unknown so both answers take as long. */
static char dummy_hash[LP_PWHASH_LEN];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void dummy_make(void) {
  char t[LP_TOKEN_LEN];
  lp_token_new(t);
  if (lp_password_hash(t, dummy_hash) != 0) dummy_hash[0] = 0;
}

json_t *lp_portal_check(lp_store *s, const char *login, const char *password, lp_err *err) {
  char norm[LP_EMAIL_BUFSZ];
  int ok_login = login && password && lp_email_normalize(login, norm, sizeof norm) == 0;
  json_t *row = NULL;
  if (ok_login) {
    lp_db *db = lp_store_reader(s, err);
    if (!db) return NULL;
    json_t *args = json_pack("[s]", norm);
    row = lp_query_one(db, "SELECT p.login, p.lead_id, p.password_hash, p.created_at FROM portal_logins p JOIN leads l ON l.id = p.lead_id"
                           " WHERE p.login = $1 AND l.deleted_at IS NULL", args, err);
    json_decref(args);
    if (!row && err->code) return NULL;
  }
  pthread_once(&dummy_once, dummy_make);
  int good = lp_password_verify(row ? sget(row, "password_hash") : dummy_hash, password ? password : "");
  if (!row || !good) {
    json_decref(row);
    lp_fail(err, LP_EUNAUTH, "Wrong login or password");
    return NULL;
  }
  json_t *o = json_pack("{s:O, s:O, s:o}", "login", json_object_get(row, "login"), "lead_id", json_object_get(row, "lead_id"),
                        "created_at", lp_json_time(json_object_get(row, "created_at")));
  json_decref(row);
  return o;
}
