/* lists.c — configurable lists, settings, timeline and the events feed (see lists.h). */
#include "store/leads.h"
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "store/lists.h"
#include "core/slaclock.h"
#include "util/timefmt.h"
#include "util/tz.h"
#include "util/valid.h"
#include "store/rows.h"
#include "util/buf.h"

static const char *order_of(const lp_rectype *t) {
  if (t == &lp_rt_stage) return "position, id";
  return "id";
}

json_t *lp_list_all(lp_db *db, const lp_rectype *t, lp_err *err) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s", t->table, order_of(t));
  json_t *rows = lp_query(db, sql, NULL, err);
  if (!rows) return NULL;
  json_t *items = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_array_append_new(items, lp_rec_present(t, r));
  json_decref(rows);
  return json_pack("{s:o, s:n}", "items", items, "next_cursor");
}

json_t *lp_list_get(lp_db *db, const lp_rectype *t, int64_t id, lp_err *err) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE id = $1", t->table);
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, sql, args, err);
  json_decref(args);
  if (!row) {
    if (err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No %s %lld", t->name, (long long)id);
    return NULL;
  }
  json_t *o = lp_rec_present(t, row);
  json_decref(row);
  return o;
}

typedef struct {
  const lp_rectype *t;
  const lp_actor *a;
  json_t *cols;
  int64_t id, expect, now;
} list_ctx;

static lp_code list_refs(lp_db *db, const lp_rectype *t, json_t *cols, lp_err *err) {
  for (const lp_field *f = t->fields; f->name; f++) {
    json_t *v = json_object_get(cols, f->name);
    if (f->type == FT_REF && v && json_is_integer(v)) lp_ref_check(db, f->extra, json_integer_value(v), f->name, err);
  }
  return err->code;  /* LP_EVALIDATION, or the error of a lookup that failed */
}

static lp_code list_create_fn(lp_db *db, void *p, lp_err *err) {
  list_ctx *c = p;
  if (list_refs(db, c->t, c->cols, err) != LP_OK) return err->code;
  json_t *cols = json_deep_copy(c->cols);
  if (c->t == &lp_rt_stage && !json_object_get(cols, "position"))
    json_object_set_new(cols, "position", json_integer(lp_query_int(db, "SELECT COALESCE(MAX(position), 0) + 1 FROM stages", NULL, 1, err)));
  lp_code rc = lp_insert(db, c->t->table, cols, &c->id, err);
  if (rc == LP_ECONFLICT) {
    lp_err_release(err);
    rc = lp_fail_field(err, json_object_get(cols, "key") ? "key" : "name", "already exists");
  }
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:s, s:O}", "list", c->t->table, "values", c->cols);
    rc = lp_event(db, c->now, 0, c->a->id, "setting_created", c->t->table, c->id, data, err);
    json_decref(data);
  }
  json_decref(cols);
  return rc;
}

json_t *lp_list_create(lp_store *s, const lp_rectype *t, const lp_actor *a, json_t *cols, int64_t now, lp_err *err) {
  list_ctx c = {t, a, cols, 0, -1, now};
  if (lp_store_write(s, list_create_fn, &c, err) != LP_OK) return NULL;
  lp_refs_forget();
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_list_get(db, t, c.id, err) : NULL;
}

static lp_code list_update_fn(lp_db *db, void *p, lp_err *err) {
  list_ctx *c = p;
  if (list_refs(db, c->t, c->cols, err) != LP_OK) return err->code;
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE id = $1", c->t->table);
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  json_t *old = lp_query_one(db, sql, args, err);
  json_decref(args);
  if (!old) return err->code ? err->code : lp_fail(err, LP_ENOTFOUND, "No %s %lld", c->t->name, (long long)c->id);
  json_t *changes = json_object();
  json_t *set = json_object();
  lp_rec_diff(c->t, old, c->cols, NULL, set, changes);
  lp_code rc = LP_OK;
  if (c->expect >= 0 && json_integer_value(json_object_get(old, "version")) != c->expect)
    rc = lp_fail(err, LP_EVERSION, "The %s has changed; reload and try again", c->t->name);
  if (rc == LP_OK && json_object_size(changes)) {
    rc = lp_update(db, c->t->table, c->id, set, -1, err);
    if (rc == LP_ECONFLICT) { lp_err_release(err); rc = lp_fail_field(err, "name", "already exists"); }
    if (rc == LP_OK) {
      json_t *data = json_pack("{s:s, s:O}", "list", c->t->table, "changes", changes);
      rc = lp_event(db, c->now, 0, c->a->id, "setting_updated", c->t->table, c->id, data, err);
      json_decref(data);
    }
  }
  json_decref(changes);
  json_decref(set);
  json_decref(old);
  return rc;
}

json_t *lp_list_update(lp_store *s, const lp_rectype *t, const lp_actor *a, int64_t id, json_t *cols, int64_t expect,
                       int64_t now, lp_err *err) {
  list_ctx c = {t, a, cols, id, expect, now};
  if (lp_store_write(s, list_update_fn, &c, err) != LP_OK) return NULL;
  lp_refs_forget();
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_list_get(db, t, id, err) : NULL;
}

/* ---------------------------------------------------------------- settings */

/* secret: written, never read back through the API (GET answers "<key>_set": true|false). */
typedef struct { const char *key; json_type type; int64_t min, max; const char *ref; int secret; } setting_spec;
static const setting_spec settings_table[] = {
  {"sla_warning_days", JSON_INTEGER, 1, 3650, NULL, 0},
  {"sla_breach_days", JSON_INTEGER, 1, 3650, NULL, 0},
  {"close_lost_default_group_id", JSON_INTEGER, 0, 0, "contact_groups", 0},
  {"business_hours", JSON_OBJECT, 0, 0, NULL, 0},
  {"inbound_secret", JSON_STRING, 0, 200, NULL, 0},
  {"follow_up_window_days", JSON_INTEGER, 1, 60, NULL, 0},
  {"approval_escalation_hours", JSON_INTEGER, 0, 720, NULL, 0},
  /* conversations (docs/conversations.md) */
  {"smtp_host", JSON_STRING, 0, 255, NULL, 0},
  {"smtp_port", JSON_INTEGER, 0, 65535, NULL, 0},
  {"smtp_tls", JSON_STRING, 0, 8, NULL, 0},
  {"smtp_username", JSON_STRING, 0, 255, NULL, 0},
  {"smtp_password", JSON_STRING, 0, 255, NULL, 1},
  {"mail_from", JSON_STRING, 0, 254, NULL, 0},
  {"mail_from_name", JSON_STRING, 0, 200, NULL, 0},
  {"inbound_domain", JSON_STRING, 0, 253, NULL, 0},
  {"imap_url", JSON_STRING, 0, 500, NULL, 0},
  {"imap_username", JSON_STRING, 0, 255, NULL, 0},
  {"imap_password", JSON_STRING, 0, 255, NULL, 1},
  {"imap_poll_seconds", JSON_INTEGER, 0, 86400, NULL, 0},
  {"sms_gateway_url", JSON_STRING, 0, 500, NULL, 0},
  {"sms_account", JSON_STRING, 0, 255, NULL, 0},
  {"sms_token", JSON_STRING, 0, 255, NULL, 1},
  {"sms_from", JSON_STRING, 0, 32, NULL, 0},
  {"public_url", JSON_STRING, 0, 500, NULL, 0},
  {"default_country", JSON_STRING, 0, 2, NULL, 0},
  {"time_zone", JSON_STRING, 0, 64, NULL, 0},
  {"company_name", JSON_STRING, 0, 200, NULL, 0},
  {"company_email", JSON_STRING, 0, 254, NULL, 0},
  {"company_phone", JSON_STRING, 0, 40, NULL, 0},
  {"company_website", JSON_STRING, 0, 500, NULL, 0},
  {"company_address", JSON_STRING, 0, 500, NULL, 0},
  {"review_request_days", JSON_INTEGER, 0, 3650, NULL, 0},
  {"inbound_owner_id", JSON_INTEGER, 0, 0, "users", 0},
  /* web chat (docs/conversations.md) */
  {"chat_idle_minutes", JSON_INTEGER, 1, 10080, NULL, 0},
  {"chat_origins", JSON_ARRAY, 0, 50, NULL, 0},
  /* webhooks (docs/webhooks.md): an endpoint failing this long is paused; deliveries in flight per endpoint and server */
  {"webhook_pause_hours", JSON_INTEGER, 1, 720, NULL, 0},
  {"webhook_max_in_flight", JSON_INTEGER, 1, 32, NULL, 0},
  /* quotes and invoices (docs/customers.md) */
  {"currency", JSON_STRING, 0, 3, NULL, 0},
  {"quote_valid_days", JSON_INTEGER, 1, 3650, NULL, 0},
  {"quote_accepted_stage_id", JSON_INTEGER, 0, 0, "stages", 0},
  {"invoice_due_days", JSON_INTEGER, 0, 365, NULL, 0},
  /* the weekly digest (docs/reports.md): ISO weekday 1-7 (0: off), hour 0-23 in time_zone */
  {"digest_weekday", JSON_INTEGER, 0, 7, NULL, 0},
  {"digest_hour", JSON_INTEGER, 0, 23, NULL, 0},
};

/* An IANA time zone name: "UTC", or Area[/Location...] of letters, digits, '_', '+', '-' that
 * names a zone file in the system's tz database (tzdata). Without the database only the form is
 * checked. */
static int time_zone_ok(const char *z) {
  size_t n = strlen(z);
  if (!strcmp(z, "UTC")) return 1;
  if (n == 0 || n > 64 || z[0] == '/' || z[n - 1] == '/' || strstr(z, "//") || strstr(z, "..")) return 0;
  for (const char *p = z; *p; p++)
    if (!(isalnum((unsigned char)*p) || strchr("/_+-", *p))) return 0;
  if (!isupper((unsigned char)z[0])) return 0;
  struct stat st;
  if (stat("/usr/share/zoneinfo/UTC", &st) != 0) return 1;
  char path[128];
  snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", z);
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int hhmm_ok(const char *t) {
  return t && strlen(t) == 5 && isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) && t[2] == ':' &&
         isdigit((unsigned char)t[3]) && isdigit((unsigned char)t[4]) && (t[0] - '0') * 10 + (t[1] - '0') < 24 &&
         (t[3] - '0') * 10 + (t[4] - '0') < 60;
}

/* business_hours as the description gives it: {days: ISO weekdays 1-7, no repeats; start and end
 * "HH:MM", start before end; time_zone an IANA zone}, all four keys, no other. NULL when it is,
 * else the reason. */
static const char *business_hours_problem(json_t *v) {
  if (!json_is_object(v)) return "must be an object {days, start, end, time_zone}";
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x)
    if (strcmp(k, "days") && strcmp(k, "start") && strcmp(k, "end") && strcmp(k, "time_zone") && strcmp(k, "holidays"))
      return "takes only days, start, end, time_zone and holidays";
  json_t *days = json_object_get(v, "days");
  if (!json_is_array(days) || json_array_size(days) > 7) return "days must be a list of ISO weekdays, 1 = Monday ... 7 = Sunday";
  int seen[8] = {0};
  size_t i;
  json_array_foreach(days, i, x) {
    if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 7) return "days must be a list of ISO weekdays, 1 = Monday ... 7 = Sunday";
    if (seen[json_integer_value(x)]++) return "days must not repeat a day";
  }
  const char *start = json_string_value(json_object_get(v, "start")), *end = json_string_value(json_object_get(v, "end"));
  if (!hhmm_ok(start) || !hhmm_ok(end)) return "start and end must be times such as 09:00 and 17:00";
  if (strcmp(start, end) >= 0) return "start must be before end";
  const char *tz = json_string_value(json_object_get(v, "time_zone"));
  if (!tz || !time_zone_ok(tz)) return "time_zone must be an IANA time zone such as Europe/Berlin";
  json_t *hol = json_object_get(v, "holidays");  /* optional: dates that are not business days */
  if (hol) {
    if (!json_is_array(hol) || json_array_size(hol) > LP_BIZ_MAX_HOLIDAYS) return "holidays must be a list of dates such as 2026-12-25";
    json_array_foreach(hol, i, x) {
      const char *d = json_string_value(x);
      int64_t t;
      if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-' || lp_time_parse(d, &t) != 0) return "holidays must be a list of dates such as 2026-12-25";
    }
  }
  return NULL;
}

static const setting_spec *setting_find(const char *k) {
  for (size_t i = 0; i < sizeof settings_table / sizeof *settings_table; i++)
    if (!strcmp(settings_table[i].key, k)) return &settings_table[i];
  return NULL;
}

static json_t *settings_all(lp_db *db, int secrets, lp_err *err) {
  json_t *rows = lp_query(db, "SELECT key, value FROM settings ORDER BY key", NULL, err);
  if (!rows) return NULL;
  json_t *o = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const char *k = json_string_value(json_object_get(r, "key"));
    json_t *v = json_loads(json_string_value(json_object_get(r, "value")), JSON_DECODE_ANY, NULL);
    const setting_spec *sp = setting_find(k);
    if (sp && sp->secret && !secrets) {
      char set[80];
      snprintf(set, sizeof set, "%s_set", k);
      json_object_set_new(o, set, json_boolean(json_is_string(v) && json_string_length(v) > 0));
      json_decref(v);
      continue;
    }
    json_object_set_new(o, k, v ? v : json_null());
  }
  json_decref(rows);
  return o;
}

json_t *lp_settings_get(lp_db *db, lp_err *err) { return settings_all(db, 0, err); }

typedef struct { const lp_actor *a; json_t *patch; int64_t now; } settings_ctx;

static lp_code settings_fn(lp_db *db, void *p, lp_err *err) {
  settings_ctx *c = p;
  json_t *old = settings_all(db, 1, err);
  if (!old) return err->code;
  json_t *changes = json_object();
  const char *k;
  json_t *v;
  lp_code rc = LP_OK;
  json_object_foreach(c->patch, k, v) {
    const setting_spec *sp = setting_find(k);
    if (!sp) continue;  /* unknown keys are ignored, as everywhere */
    if (sp->type == JSON_INTEGER) {
      if (!json_is_integer(v)) { lp_fail_field(err, k, "must be an integer"); continue; }
      int64_t n = json_integer_value(v);
      if (sp->ref) {
        if (n != 0) lp_ref_check(db, sp->ref, n, k, err);
      } else if (n < sp->min || n > sp->max) { lp_fail_field(err, k, "out of range"); continue; }
    } else if (sp->type == JSON_STRING) {
      if (!json_is_string(v) || (int64_t)json_string_length(v) > sp->max) { lp_fail_field(err, k, "must be a short string"); continue; }
      if (!strcmp(k, "smtp_tls") && strcmp(json_string_value(v), "none") && strcmp(json_string_value(v), "starttls") && strcmp(json_string_value(v), "tls")) {
        lp_fail_field(err, k, "must be none, starttls or tls");
        continue;
      }
      /* the company's defaults (docs/admin.md): "" unsets; a country is stored in capitals */
      const char *sv = json_string_value(v);
      if (!strcmp(k, "default_country") && *sv) {
        if (!lp_country_valid(sv)) { lp_fail_field(err, k, "must be a two-letter ISO 3166 country code, e.g. GB"); continue; }
        char up[3] = {(char)toupper((unsigned char)sv[0]), (char)toupper((unsigned char)sv[1]), 0};
        v = json_string(up);
        json_object_set_new(c->patch, k, v);  /* same key: the iteration goes on safely */
      }
      if (!strcmp(k, "time_zone") && *sv && !time_zone_ok(sv)) { lp_fail_field(err, k, "must be a time zone name such as Europe/London"); continue; }
      const char *cv = json_string_value(v);
      if (!strcmp(k, "currency") && (strlen(cv) != 3 || cv[0] < 'A' || cv[0] > 'Z' || cv[1] < 'A' || cv[1] > 'Z' || cv[2] < 'A' || cv[2] > 'Z')) {
        lp_fail_field(err, k, "must be an ISO 4217 code such as EUR");
        continue;
      }
    } else if (sp->type == JSON_ARRAY) {
      /* chat_origins: up to max origins, each "scheme://host[:port]" */
      int ok = json_is_array(v) && (int64_t)json_array_size(v) <= sp->max;
      size_t i;
      json_t *e;
      json_array_foreach(v, i, e) {
        const char *o = json_string_value(e);
        if (!o || json_string_length(e) > 200 || (strncmp(o, "http://", 7) && strncmp(o, "https://", 8)) ||
            strchr(strchr(o, ':') + 3, '/'))
          ok = 0;
      }
      if (!ok) { lp_fail_field(err, k, "must be a list of origins such as https://www.example.com"); continue; }
    } else if (!strcmp(k, "business_hours")) {
      const char *why = business_hours_problem(v);
      if (why) { lp_fail_field(err, k, why); continue; }
    } else if (!json_is_object(v)) { lp_fail_field(err, k, "must be an object"); continue; }
    if (!json_equal(json_object_get(old, k), v))
      json_object_set_new(changes, k, json_pack("{s:O, s:O}", "old", json_object_get(old, k) ? json_object_get(old, k) : json_null(), "new", v));
  }
  json_t *w = json_object_get(changes, "sla_warning_days") ? json_object_get(json_object_get(changes, "sla_warning_days"), "new") : json_object_get(old, "sla_warning_days");
  json_t *b = json_object_get(changes, "sla_breach_days") ? json_object_get(json_object_get(changes, "sla_breach_days"), "new") : json_object_get(old, "sla_breach_days");
  if (err->code == LP_OK && json_integer_value(w) >= json_integer_value(b)) lp_fail_field(err, "sla_breach_days", "must be more than sla_warning_days");
  if (err->code != LP_OK) rc = err->code;
  json_object_foreach(changes, k, v) {
    if (rc != LP_OK) break;
    char *txt = json_dumps(json_object_get(v, "new"), JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *args = json_pack("[s, s]", k, txt);
    rc = lp_exec(db, "INSERT INTO settings(key, value) VALUES ($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", args, err);
    json_decref(args);
    free(txt);
  }
  if (rc == LP_OK && json_object_size(changes)) {
    /* The inbound secret is never written into the audit trail in clear. */
    if (json_object_get(changes, "inbound_secret")) json_object_set_new(changes, "inbound_secret", json_pack("{s:s, s:s}", "old", "***", "new", "***"));
    for (size_t i = 0; i < sizeof settings_table / sizeof *settings_table; i++)
      if (settings_table[i].secret && json_object_get(changes, settings_table[i].key))
        json_object_set_new(changes, settings_table[i].key, json_pack("{s:s, s:s}", "old", "***", "new", "***"));
    json_t *data = json_pack("{s:O}", "changes", changes);
    rc = lp_event(db, c->now, 0, c->a->id, "settings_updated", "settings", 0, data, err);
    json_decref(data);
  }
  json_decref(changes);
  json_decref(old);
  return rc;
}

json_t *lp_settings_patch(lp_store *s, const lp_actor *a, json_t *patch, int64_t now, lp_err *err) {
  if (!json_is_object(patch)) { lp_fail(err, LP_EVALIDATION, "The body must be a JSON object"); return NULL; }
  settings_ctx c = {a, patch, now};
  if (lp_store_write(s, settings_fn, &c, err) != LP_OK) return NULL;
  lp_sla_forget();
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_settings_get(db, err) : NULL;
}

/* ---------------------------------------------------------------- timeline and events */

json_t *lp_event_present(json_t *row) {
  char at[LP_TIME_LEN];
  lp_time_format(json_integer_value(json_object_get(row, "at")), at);
  json_t *data = json_loads(json_string_value(json_object_get(row, "data")) ?: "{}", 0, NULL);
  return json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:o}", "id", json_object_get(row, "id"), "at", at,
                   "lead_id", json_object_get(row, "lead_id"), "actor_id", json_object_get(row, "actor_id"),
                   "kind", json_object_get(row, "kind"), "entity", json_object_get(row, "entity"),
                   "entity_id", json_object_get(row, "entity_id"), "data", data ? data : json_object());
}

static json_t *event_page(json_t *rows, int limit, int64_t after) {
  json_t *items = json_array();
  size_t i;
  json_t *r;
  int64_t last = after;
  json_array_foreach(rows, i, r) {
    if ((int)i >= limit) break;
    json_array_append_new(items, lp_event_present(r));
    last = json_integer_value(json_object_get(r, "id"));
  }
  char cur[32];
  snprintf(cur, sizeof cur, "%lld", (long long)last);
  int more = (int)json_array_size(rows) > limit;
  return json_pack("{s:o, s:s, s:b}", "items", items, "next_cursor", cur, "has_more", more);
}

json_t *lp_timeline(lp_db *db, int64_t lead_id, int64_t after, int limit, lp_err *err) {
  json_t *args = json_pack("[I, I, i]", (json_int_t)lead_id, (json_int_t)after, limit + 1);
  json_t *rows = lp_query(db, "SELECT * FROM events WHERE lead_id = $1 AND id > $2 ORDER BY id LIMIT $3", args, err);
  json_decref(args);
  if (!rows) return NULL;
  json_t *page = event_page(rows, limit, after);
  json_decref(rows);
  /* On the timeline, a page with nothing after it has no next cursor. */
  if (!json_is_true(json_object_get(page, "has_more"))) json_object_set_new(page, "next_cursor", json_null());
  json_object_del(page, "has_more");
  return page;
}

json_t *lp_events(lp_db *db, const lp_actor *a, int64_t after, int limit, lp_err *err) {
  json_t *args = json_pack("[I, i]", (json_int_t)after, limit + 1);
  json_t *rows = lp_query(db, "SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2", args, err);
  json_decref(args);
  if (!rows) return NULL;
  json_t *page = event_page(rows, limit, after);
  json_decref(rows);
  return page;
}

lp_code lp_comment_add(lp_store *s, const lp_actor *a, int64_t lead_id, const char *body, const char *icon,
                       const char *color, int64_t now, json_t **out, lp_err *err) {
  json_t *data = json_pack("{s:s, s:s, s:s}", "body", body, "icon", icon ? icon : "comment", "color", color ? color : "gray");
  struct { int64_t id; } c = {0};
  lp_code rc = lp_lead_comment(s, a, lead_id, data, now, &c.id, err);
  json_decref(data);
  if (rc != LP_OK) return rc;
  lp_db *db = lp_store_reader(s, err);
  if (!db) return err->code;
  json_t *args = json_pack("[I]", (json_int_t)c.id);
  json_t *row = lp_query_one(db, "SELECT * FROM events WHERE id = $1", args, err);
  json_decref(args);
  if (!row) return err->code ? err->code : lp_fail(err, LP_EINTERNAL, "comment vanished");
  *out = lp_event_present(row);
  json_decref(row);
  return LP_OK;
}

int64_t lp_outcome_id(lp_db *db, const char *key, lp_err *err) {
  json_t *args = json_pack("[s]", key);
  int64_t id = lp_query_int(db, "SELECT id FROM outcomes WHERE key = $1", args, 0, err);
  json_decref(args);
  return id;
}

/* One setting's stored value as JSON (new reference), NULL when it is not set. */
static json_t *setting_value(lp_db *db, const char *key, lp_err *err) {
  json_t *args = json_pack("[s]", key);
  json_t *row = lp_query_one(db, "SELECT value FROM settings WHERE key = $1", args, err);
  json_decref(args);
  json_t *v = row ? json_loads(json_string_value(json_object_get(row, "value")), JSON_DECODE_ANY, NULL) : NULL;
  json_decref(row);
  return v;
}

char *lp_setting_text(lp_db *db, const char *key, lp_err *err) {
  json_t *v = setting_value(db, key, err);
  char *out = json_is_string(v) && json_string_length(v) ? strdup(json_string_value(v)) : NULL;
  json_decref(v);
  return out;
}

int lp_inbound_secret_ok(lp_db *db, const char *given, lp_err *err) {
  char *want = lp_setting_text(db, "inbound_secret", err);
  size_t n = want ? strlen(want) : 0;
  int ok = n > 0 && strlen(given) == n && sodium_memcmp(want, given, n) == 0;
  if (want) sodium_memzero(want, n);
  free(want);
  return ok;
}

json_t *lp_settings_raw(lp_db *db, lp_err *err) { return settings_all(db, 1, err); }

int64_t lp_setting_int(lp_db *db, const char *key, int64_t dflt, lp_err *err) {
  json_t *args = json_pack("[s]", key);
  json_t *row = lp_query_one(db, "SELECT value FROM settings WHERE key = $1", args, err);
  json_decref(args);
  const char *v = row ? json_string_value(json_object_get(row, "value")) : NULL;
  int64_t n = v ? strtoll(v, NULL, 10) : dflt;
  json_decref(row);
  return n;
}
