/* record.c — the field tables of every record type, and input validation / presentation. */
#include <ctype.h>
#include <string.h>
#include "core/record.h"
#include "util/timefmt.h"
#include "util/valid.h"

#define W FF_WRITE
static const lp_field lead_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"full_name", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 200, NULL},
  {"company", FT_TEXT, W, 200, NULL},
  {"login", FT_TEXT, W, 200, NULL},
  {"emails", FT_EMAILS, W | FF_NOTNULL, 20, NULL},
  {"phones", FT_PHONES, W | FF_NOTNULL, 20, NULL},
  {"partner_id", FT_REF, W, 0, "partners"},
  {"location_id", FT_REF, W, 0, "locations"},
  {"owner_id", FT_REF, W, 0, "users"},
  {"stage_id", FT_REF, W | FF_NOTNULL, 0, "stages"},
  {"source_id", FT_REF, W, 0, "sources"},
  {"country", FT_COUNTRY, W, 2, NULL},
  {"region", FT_TEXT, W, 200, NULL},
  {"city", FT_TEXT, W, 200, NULL},
  {"service", FT_TEXT, W, 200, NULL},
  {"request", FT_TEXT, W, 20000, NULL},
  {"notes", FT_TEXT, W, 20000, NULL},
  {"value_cents", FT_INT, W, 0, NULL},
  {"currency", FT_CURRENCY, W, 3, NULL},
  {"score", FT_INT, W | FF_NOTNULL, 0, NULL},
  {"last_contacted_at", FT_TIME, W, 0, NULL},
  {"email_opt_out", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"sms_opt_out", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"status", FT_ENUM, FF_ADMIN | FF_CREATE | FF_NOTNULL, 0, "open|closed"},
  {"outcome", FT_TEXT, FF_ADMIN | FF_CREATE, 64, NULL},
  {"lost_reason_id", FT_REF, FF_ADMIN | FF_CREATE, 0, "lost_reasons"},
  {"close_notes", FT_TEXT, FF_ADMIN | FF_CREATE, 20000, NULL},
  {"closed_at", FT_TIME, FF_ADMIN | FF_CREATE, 0, NULL},
  {"closed_by", FT_REF, 0, 0, "users"},
  {"sold_at", FT_TIME, FF_ADMIN | FF_CREATE, 0, NULL},
  {"review_requested_at", FT_TIME, 0, 0, NULL},
  {"needs_reply", FT_BOOL, FF_NOTNULL, 0, NULL},
  {"customer_id", FT_REF, 0, 0, "customers"},  /* set by a conversion */
  {"merged_into", FT_REF, 0, 0, "leads"},  /* the lead this one was merged into (store/related.c) */
  {"created_at", FT_TIME, FF_ADMIN | FF_CREATE | FF_NOTNULL, 0, NULL},
  {"updated_at", FT_TIME, 0, 0, NULL},
  {"created_by", FT_REF, FF_HIDDEN, 0, "users"},
  {"deleted_at", FT_TIME, FF_HIDDEN, 0, NULL},
  {"stage_entered_at", FT_TIME, FF_HIDDEN, 0, NULL},
  {"waiting_since", FT_TIME, FF_HIDDEN, 0, NULL},
  {"waiting_seconds", FT_INT, FF_HIDDEN, 0, NULL},
  /* written by scoring (store/scoring.c), shown as win_probability and win_factors (leadjson.c) */
  {"win_bp", FT_INT, FF_HIDDEN, 0, NULL},
  {"win_factors", FT_JSON, FF_HIDDEN, 0, NULL},
  {NULL, 0, 0, 0, NULL}};

static const lp_field task_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"lead_id", FT_REF, 0, 0, "leads"},
  {"type", FT_TEXT, W | FF_NOTNULL, 64, "call|email|meeting|follow_up|to_do|closed_lost_follow_up|post_sale_follow_up"},
  {"title", FT_TEXT, W | FF_NOTNULL, 500, NULL},
  {"due_at", FT_TIME, W, 0, NULL},
  {"assignee_id", FT_REF, W, 0, "users"},
  {"status", FT_ENUM, W | FF_NOTNULL, 0, "open|done|cancelled"},
  {"notes", FT_TEXT, W, 20000, NULL},
  {"completed_at", FT_TIME, 0, 0, NULL},
  {"completed_by", FT_REF, 0, 0, "users"},
  {"created_at", FT_TIME, 0, 0, NULL},
  {"created_by", FT_REF, 0, 0, "users"},
  {"updated_at", FT_TIME, 0, 0, NULL},
  {NULL, 0, 0, 0, NULL}};

static const lp_field stage_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"name", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 100, NULL},
  {"position", FT_INT, W | FF_NOTNULL, 10000, NULL},
  {"is_sale", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"waiting", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"guidance", FT_TEXT, W | FF_NOTNULL, 4000, NULL},
  {"active", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {NULL, 0, 0, 0, NULL}};

static const lp_field outcome_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"key", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL | FF_CREATE, 64, NULL},
  {"name", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 100, NULL},
  {"kind", FT_ENUM, W | FF_REQUIRED | FF_NOTNULL, 0, "won|lost|neutral"},
  {"active", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {NULL, 0, 0, 0, NULL}};

static const lp_field reason_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"name", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 100, NULL},
  {"active", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"counts_in_reports", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {"follow_up_days", FT_INT, W, 3650, NULL},
  {"group_id", FT_REF, W, 0, "contact_groups"},
  {NULL, 0, 0, 0, NULL}};

static const lp_field named_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"name", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 100, NULL},
  {"active", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {NULL, 0, 0, 0, NULL}};

static const lp_field user_fields[] = {
  {"version", FT_INT, 0, 0, NULL},
  {"email", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 254, NULL},
  {"name", FT_TEXT, W | FF_REQUIRED | FF_NOTNULL, 200, NULL},
  {"manager_id", FT_REF, W, 0, "users"},
  {"active", FT_BOOL, W | FF_NOTNULL, 0, NULL},
  {NULL, 0, 0, 0, NULL}};
#undef W

const lp_rectype lp_rt_lead = {"lead", "leads", lead_fields};
const lp_rectype lp_rt_task = {"task", "tasks", task_fields};
const lp_rectype lp_rt_stage = {"stage", "stages", stage_fields};
const lp_rectype lp_rt_outcome = {"outcome", "outcomes", outcome_fields};
const lp_rectype lp_rt_lost_reason = {"lost reason", "lost_reasons", reason_fields};
const lp_rectype lp_rt_source = {"source", "sources", named_fields};
const lp_rectype lp_rt_location = {"location", "locations", named_fields};
const lp_rectype lp_rt_partner = {"partner", "partners", named_fields};
const lp_rectype lp_rt_group = {"group", "contact_groups", named_fields};
const lp_rectype lp_rt_user = {"user", "users", user_fields};

const lp_field *lp_rec_field(const lp_rectype *t, const char *name) {
  for (const lp_field *f = t->fields; f->name; f++)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

static int enum_has(const char *list, const char *v) {
  size_t n = strlen(v);
  for (const char *p = list; *p;) {
    const char *e = strchr(p, '|');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncmp(p, v, n) == 0) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

/* Trims surrounding white space; returns a new string or NULL if the result is empty. */
static json_t *trimmed(const char *s) {
  while (*s && isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) n--;
  return n ? json_stringn(s, n) : json_null();
}

static json_t *list_in(const lp_field *f, json_t *v, const char *country, const char **why) {
  if (!json_is_array(v)) { *why = "must be an array of strings"; return NULL; }
  if ((int64_t)json_array_size(v) > f->max) { *why = "too many entries"; return NULL; }
  json_t *out = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    char norm[300];
    if (!json_is_string(e)) { *why = "must be an array of strings"; json_decref(out); return NULL; }
    int rc = f->type == FT_EMAILS ? lp_email_normalize(json_string_value(e), norm, sizeof norm)
                                  : lp_phone_normalize(json_string_value(e), country, norm, sizeof norm);
    if (rc != 0) {
      *why = f->type == FT_EMAILS ? "invalid email address"
                                  : "invalid phone number (give +country code, or set the lead's country)";
      json_decref(out);
      return NULL;
    }
    int dup = 0;
    size_t j;
    json_t *x;
    json_array_foreach(out, j, x) if (strcmp(json_string_value(x), norm) == 0) dup = 1;
    if (!dup) json_array_append_new(out, json_string(norm));
  }
  char *txt = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  json_t *r = json_string(txt);
  free(txt);
  return r;
}

/* One field's client value -> row value; NULL with *why set if invalid. */
static json_t *value_in(const lp_field *f, json_t *v, const char *country, const char **why) {
  if (json_is_null(v)) {
    if (f->flags & FF_NOTNULL) { *why = "must not be null"; return NULL; }
    return json_null();
  }
  switch (f->type) {
    case FT_TEXT: {
      if (!json_is_string(v)) { *why = "must be a string"; return NULL; }
      if ((int64_t)json_string_length(v) > f->max) { *why = "too long"; return NULL; }
      json_t *t = trimmed(json_string_value(v));
      if (json_is_null(t) && (f->flags & FF_NOTNULL)) {
        /* guidance may be empty; names may not */
        if (f->flags & FF_REQUIRED) { *why = "required"; return NULL; }
        json_decref(t);
        return json_string("");
      }
      return t;
    }
    case FT_INT: case FT_REF: {
      if (!json_is_integer(v)) { *why = "must be an integer"; return NULL; }
      json_int_t n = json_integer_value(v);
      if (f->type == FT_REF && n <= 0) { *why = "not found"; return NULL; }
      if (f->max && (n < 0 || n > f->max)) { *why = "out of range"; return NULL; }
      if (n < -1000000000000000LL || n > 1000000000000000LL) { *why = "out of range"; return NULL; }
      return json_integer(n);
    }
    case FT_BOOL:
      if (!json_is_boolean(v)) { *why = "must be true or false"; return NULL; }
      return json_integer(json_is_true(v));
    case FT_TIME: {
      int64_t t;
      if (!json_is_string(v) || lp_time_parse(json_string_value(v), &t) != 0) {
        *why = "must be an RFC 3339 time";
        return NULL;
      }
      return json_integer(t);
    }
    case FT_ENUM:
      if (!json_is_string(v) || !enum_has(f->extra, json_string_value(v))) { *why = "invalid"; return NULL; }
      return json_string(json_string_value(v));
    case FT_CURRENCY: {
      const char *s = json_is_string(v) ? json_string_value(v) : NULL;
      if (!s || strlen(s) != 3 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
          !isupper((unsigned char)s[2])) { *why = "must be an ISO 4217 code such as EUR"; return NULL; }
      return json_string(s);
    }
    case FT_COUNTRY: {
      const char *s = json_is_string(v) ? json_string_value(v) : NULL;
      if (!s || strlen(s) != 2 || !lp_country_valid(s)) { *why = "must be an ISO 3166 country code such as GB"; return NULL; }
      char up[3] = {(char)toupper((unsigned char)s[0]), (char)toupper((unsigned char)s[1]), 0};
      return json_string(up);
    }
    case FT_EMAILS: case FT_PHONES:
      return list_in(f, v, country, why);
    case FT_JSON:
      return json_incref(v);
  }
  *why = "invalid";
  return NULL;
}

lp_code lp_rec_input(const lp_rectype *t, json_t *in, int create, int admin, const char *country,
                     json_t **out, lp_err *err) {
  *out = NULL;
  if (!json_is_object(in)) return lp_fail(err, LP_EVALIDATION, "The body must be a JSON object");
  /* A country given in the same request decides how phones are read. */
  json_t *cin = json_object_get(in, "country");
  if (json_is_string(cin) && lp_rec_field(t, "country") && lp_country_valid(json_string_value(cin)))
    country = json_string_value(cin);
  json_t *o = json_object();
  for (const lp_field *f = t->fields; f->name; f++) {
    json_t *v = json_object_get(in, f->name);
    if (!v) {
      if (create && (f->flags & FF_REQUIRED)) lp_fail_field(err, f->name, "required");
      continue;
    }
    if (!(f->flags & (FF_WRITE | FF_ADMIN))) continue;
    if ((f->flags & FF_ADMIN) && !(f->flags & FF_WRITE) && !admin) continue;
    if ((f->flags & FF_CREATE) && !create) continue;
    const char *why = NULL;
    json_t *nv = value_in(f, v, country, &why);
    if (!nv) { lp_fail_field(err, f->name, why); continue; }
    if (create && (f->flags & FF_REQUIRED) && json_is_null(nv)) {
      json_decref(nv);
      lp_fail_field(err, f->name, "required");
      continue;
    }
    json_object_set_new(o, f->name, nv);
  }
  if (err->code == LP_EVALIDATION) { json_decref(o); return LP_EVALIDATION; }
  *out = o;
  return LP_OK;
}

json_t *lp_rec_value_out(const lp_field *f, json_t *v) {
  if (!v || json_is_null(v)) {
    if (f->type == FT_EMAILS || f->type == FT_PHONES) return json_array();
    return json_null();
  }
  switch (f->type) {
    case FT_BOOL: return json_boolean(json_integer_value(v) != 0);
    case FT_TIME: {
      char buf[LP_TIME_LEN];
      lp_time_format(json_integer_value(v), buf);
      return json_string(buf);
    }
    case FT_EMAILS: case FT_PHONES: case FT_JSON: {
      if (!json_is_string(v)) return json_incref(v);
      json_t *a = json_loads(json_string_value(v), 0, NULL);
      return a ? a : json_array();
    }
    default: return json_incref(v);
  }
}

void lp_rec_diff(const lp_rectype *t, json_t *row, json_t *cols, const char *skip, json_t *set, json_t *changes) {
  const char *k;
  json_t *v;
  json_object_foreach(cols, k, v) {
    if (skip && !strcmp(k, skip)) continue;
    json_t *old = json_object_get(row, k);
    if (old && json_equal(old, v)) continue;
    if (old && json_is_null(old) && json_is_null(v)) continue;
    json_object_set(set, k, v);
    const lp_field *f = lp_rec_field(t, k);
    json_object_set_new(changes, k, json_pack("{s:o, s:o}", "old", lp_rec_value_out(f, old), "new", lp_rec_value_out(f, v)));
  }
}

json_t *lp_rec_present(const lp_rectype *t, json_t *row) {
  json_t *o = json_object();
  json_object_set(o, "id", json_object_get(row, "id") ? json_object_get(row, "id") : json_null());
  for (const lp_field *f = t->fields; f->name; f++) {
    if (f->flags & FF_HIDDEN) continue;
    json_object_set_new(o, f->name, lp_rec_value_out(f, json_object_get(row, f->name)));
  }
  return o;
}
