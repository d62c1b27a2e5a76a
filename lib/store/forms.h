/* forms.h — web forms in the store: admins make forms (web-to-lead or customer-portal sign-up)
 * and the public submits them. A submission creates a lead through the planner and the applier
 * with the form's source and owner — or, when its e-mail or phone belongs to an OPEN lead, is
 * stored on that lead as an inbound message instead (no duplicate). A portal sign-up also stores
 * a portal login (the e-mail, with an Argon2id hash of the password) for the lead. Every change
 * of a form or a login writes its audit event in the same transaction. docs/forms.md. */
#ifndef LP_STORE_FORMS_H
#define LP_STORE_FORMS_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"

/* Admin calls (403 for anyone else). Forms as the API shows them (new references). */
json_t *lp_forms_list(lp_db *db, const lp_actor *a, lp_err *err);
json_t *lp_form_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err);
/* body: {key?, name, kind?, source_id?, owner_id?, fields?, thank_you?, redirect_url?, active?};
 * 422 with fields; 409 when the key is taken. */
json_t *lp_form_create(lp_store *s, const lp_actor *a, json_t *body, int64_t now, lp_err *err);
/* Only the keys given; expect: If-Match (-1: none) → 412 when the form moved. */
json_t *lp_form_update(lp_store *s, const lp_actor *a, int64_t id, json_t *body, int64_t expect, int64_t now, lp_err *err);
lp_code lp_form_delete(lp_store *s, const lp_actor *a, int64_t id, int64_t expect, int64_t now, lp_err *err);

/* A public submission to the active form `key` (404 otherwise). values: an object of strings
 * (the form's fields, `password` for a portal sign-up; others are ignored). 422 with fields for
 * bad or missing values; 409 when a portal login with that e-mail exists. Answers
 * {form_id, thank_you, redirect_url, lead_id, rule: new_lead|form_email|form_phone} (new ref);
 * the public route shows only the thank-you part. */
json_t *lp_form_submit(lp_store *s, const char *key, json_t *values, int64_t now, lp_err *err);
/* Checks a portal login: {login, lead_id, created_at}, or 401 (the same for an unknown login
 * and a wrong password, taking the same time). */
json_t *lp_portal_check(lp_store *s, const char *login, const char *password, lp_err *err);
#endif
