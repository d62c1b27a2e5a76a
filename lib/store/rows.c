/* rows.c — generic row helpers (see rows.h). */
#include <ctype.h>
#include "store/rows.h"
#include "util/timefmt.h"
#include "util/buf.h"

void lp_bind_json(lp_stmt *st, int n, json_t *v) {
  if (!v || json_is_null(v)) lp_bind_null(st, n);
  else if (json_is_integer(v)) lp_bind_int(st, n, json_integer_value(v));
  else if (json_is_real(v)) lp_bind_double(st, n, json_real_value(v));
  else if (json_is_string(v)) lp_bind_text(st, n, json_string_value(v));
  else if (json_is_boolean(v)) lp_bind_int(st, n, json_is_true(v));
  else {
    char *s = json_dumps(v, JSON_COMPACT);
    lp_bind_text(st, n, s);
    free(s);
  }
}

json_t *lp_row_json(lp_stmt *st) {
  json_t *o = json_object();
  int n = lp_col_count(st);
  for (int i = 0; i < n; i++) {
    const char *name = lp_col_name(st, i);
    json_t *v;
    if (lp_col_null(st, i)) v = json_null();
    else {
      /* Integers stay integers; text stays text (the engine reports the value's type). */
      int type = lp_col_type(st, i);
      if (type == LP_COL_INT) v = json_integer(lp_col_int(st, i));
      else if (type == LP_COL_REAL) v = json_real(lp_col_double(st, i));
      else v = json_string(lp_col_text(st, i) ? lp_col_text(st, i) : "");
      if (!v) v = json_null();  /* invalid UTF-8 cannot be stored, but be safe */
    }
    json_object_set_new(o, name, v);
  }
  return o;
}

static lp_stmt *prep_bind(lp_db *db, const char *sql, json_t *params, lp_err *err) {
  lp_stmt *st = lp_db_prep(db, sql, err);
  if (!st) return NULL;
  size_t i;
  json_t *v;
  if (params) json_array_foreach(params, i, v) lp_bind_json(st, (int)i + 1, v);
  return st;
}

json_t *lp_query(lp_db *db, const char *sql, json_t *params, lp_err *err) {
  lp_stmt *st = prep_bind(db, sql, params, err);
  if (!st) return NULL;
  json_t *rows = json_array();
  int rc;
  while ((rc = lp_step(st, err)) == 1) json_array_append_new(rows, lp_row_json(st));
  lp_stmt_done(st);
  if (rc < 0) { json_decref(rows); return NULL; }
  return rows;
}

json_t *lp_query_one(lp_db *db, const char *sql, json_t *params, lp_err *err) {
  lp_stmt *st = prep_bind(db, sql, params, err);
  if (!st) return NULL;
  json_t *row = NULL;
  if (lp_step(st, err) == 1) row = lp_row_json(st);
  lp_stmt_done(st);
  return row;
}

int64_t lp_query_int(lp_db *db, const char *sql, json_t *params, int64_t dflt, lp_err *err) {
  lp_stmt *st = prep_bind(db, sql, params, err);
  if (!st) return dflt;
  int64_t v = dflt;
  if (lp_step(st, err) == 1 && !lp_col_null(st, 0)) v = lp_col_int(st, 0);
  lp_stmt_done(st);
  return v;
}

lp_code lp_exec(lp_db *db, const char *sql, json_t *params, lp_err *err) {
  lp_stmt *st = prep_bind(db, sql, params, err);
  if (!st) return err->code;
  int rc;
  while ((rc = lp_step(st, err)) == 1) {}
  lp_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

static int ident_ok(const char *s) {
  if (!*s) return 0;
  for (; *s; s++) if (!(islower((unsigned char)*s) || *s == '_' || isdigit((unsigned char)*s))) return 0;
  return 1;
}

/* Appends "$n" (the statement text is built on every write: no printf on this path). */
static void put_param(lp_buf *b, int n) {
  char t[12];
  int i = (int)sizeof t;
  do { t[--i] = (char)('0' + n % 10); n /= 10; } while (n && i > 1);
  t[--i] = '$';
  lp_buf_add(b, t + i, sizeof t - (size_t)i);
}

lp_code lp_insert(lp_db *db, const char *table, json_t *cols, int64_t *id, lp_err *err) {
  lp_buf sql = LP_BUF_INIT(1 << 16);
  lp_buf_reserve(&sql, 2048);
  lp_buf_puts(&sql, "INSERT INTO ");
  lp_buf_puts(&sql, table);
  lp_buf_add(&sql, "(", 1);
  const char *k;
  json_t *v;
  int n = 0;
  json_object_foreach(cols, k, v) {
    if (!ident_ok(k)) { lp_buf_release(&sql); return lp_fail(err, LP_EINTERNAL, "bad column %s", k); }
    if (n++) lp_buf_add(&sql, ", ", 2);
    lp_buf_puts(&sql, k);
  }
  lp_buf_puts(&sql, ") VALUES (");
  for (int i = 1; i <= n; i++) {
    if (i > 1) lp_buf_add(&sql, ", ", 2);
    put_param(&sql, i);
  }
  lp_buf_add(&sql, ")", 1);
  lp_stmt *st = lp_db_prep_insert(db, lp_buf_str(&sql), err);
  lp_buf_release(&sql);
  if (!st) return err->code;
  int i = 1;
  json_object_foreach(cols, k, v) lp_bind_json(st, i++, v);
  int64_t new_id = 0;
  int rc = lp_step_insert(st, &new_id, err);
  if (id) *id = new_id;
  lp_stmt_done(st);
  if (rc < 0) return err->code;
  return LP_OK;
}

lp_code lp_update(lp_db *db, const char *table, int64_t id, json_t *cols, int64_t expect, lp_err *err) {
  lp_buf sql = LP_BUF_INIT(1 << 16);
  lp_buf_reserve(&sql, 2048);
  lp_buf_puts(&sql, "UPDATE ");
  lp_buf_puts(&sql, table);
  lp_buf_puts(&sql, " SET version = version + 1");
  const char *k;
  json_t *v;
  int n = 0;
  json_object_foreach(cols, k, v) {
    if (!ident_ok(k) || strcmp(k, "version") == 0 || strcmp(k, "id") == 0) continue;
    lp_buf_add(&sql, ", ", 2);
    lp_buf_puts(&sql, k);
    lp_buf_add(&sql, " = ", 3);
    put_param(&sql, 3 + n++);
  }
  lp_buf_puts(&sql, expect >= 0 ? " WHERE id = $1 AND version = $2" : " WHERE id = $1");
  lp_stmt *st = lp_db_prep(db, lp_buf_str(&sql), err);
  lp_buf_release(&sql);
  if (!st) return err->code;
  lp_bind_int(st, 1, id);
  lp_bind_int(st, 2, expect);
  int i = 0;
  json_object_foreach(cols, k, v) {
    if (!ident_ok(k) || strcmp(k, "version") == 0 || strcmp(k, "id") == 0) continue;
    lp_bind_json(st, 3 + i++, v);
  }
  int rc = lp_step(st, err);
  lp_stmt_done(st);
  if (rc < 0) return err->code;
  if (lp_db_changes(db) == 0) {
    char q[128];
    snprintf(q, sizeof q, "SELECT version FROM %s WHERE id = $1", table);
    json_t *p = json_pack("[I]", (json_int_t)id);
    int64_t have = lp_query_int(db, q, p, -1, err);
    json_decref(p);
    if (have < 0) return lp_fail(err, LP_ENOTFOUND, "No such %s", table);
    return lp_fail(err, LP_EVERSION, "The record has changed (now version %lld); reload and try again",
                   (long long)have);
  }
  return LP_OK;
}

lp_code lp_ref_check(lp_db *db, const char *table, int64_t id, const char *field, lp_err *err) {
  char q[160];
  if (strcmp(table, "leads") == 0)
    snprintf(q, sizeof q, "SELECT 1 FROM leads WHERE id = $1 AND deleted_at IS NULL");
  else
    snprintf(q, sizeof q, "SELECT 1 FROM %s WHERE id = $1", table);
  json_t *p = json_pack("[I]", (json_int_t)id);
  lp_err e = LP_ERR_INIT;
  int64_t ok = lp_query_int(db, q, p, 0, &e);
  json_decref(p);
  if (e.code != LP_OK) {  /* the query failed (database unreachable, serialization): not "not found" */
    if (!err) { lp_err_release(&e); return LP_EUNAVAILABLE; }
    lp_err_release(err);
    *err = e;
    return err->code;
  }
  if (!ok) return lp_fail_field(err, field, "not found");
  return LP_OK;
}

/* The outbox: in the transaction that writes an event, one delivery job per active webhook that
 * wants its kind (see lib/jobs). A webhook's events are "*" or ",kind,kind,". The active
 * subscriptions are few: they are read and matched here. Most events have no webhook, and a read
 * costs a fraction of an INSERT ... SELECT (which opens the jobs table and its indexes inside a
 * statement journal); a LIKE with a bound pattern would also make SQLite prepare the statement
 * again on every call. */
static lp_code webhook_fanout(lp_db *db, int64_t event_id, int64_t at, const char *kind, lp_err *err) {
  char pat[96];
  snprintf(pat, sizeof pat, ",%s,", kind);
  int rc;
  lp_stmt *st = lp_db_prep_static(db, "SELECT id, events FROM webhooks WHERE active = 1 ORDER BY id", err);
  if (!st) return err->code;
  while ((rc = lp_step(st, err)) == 1) {
    const char *ev = lp_col_text(st, 1);
    if (!ev || (strcmp(ev, "*") && !strstr(ev, pat))) continue;
    char ref[40];
    snprintf(ref, sizeof ref, "webhook:%lld", (long long)lp_col_int(st, 0));
    lp_stmt *ins = lp_db_prep(db, "INSERT INTO jobs(kind, ref, subject_id, run_at, created_at, updated_at)"
                                  " VALUES ('webhook', $1, $2, $3, $3, $3)", err);
    if (!ins) { rc = -1; break; }
    lp_bind_text(ins, 1, ref);
    lp_bind_int(ins, 2, event_id);
    lp_bind_int(ins, 3, at);
    int irc = lp_step(ins, err);
    lp_stmt_done(ins);
    if (irc < 0) { rc = -1; break; }
  }
  lp_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

void lp_copy_text(lp_buf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '\\': lp_buf_add(b, "\\\\", 2); break;
      case '\t': lp_buf_add(b, "\\t", 2); break;
      case '\n': lp_buf_add(b, "\\n", 2); break;
      case '\r': lp_buf_add(b, "\\r", 2); break;
      default: lp_buf_add(b, s, 1);
    }
  }
}

json_t *lp_page_of(json_t *rows, json_t *(*present)(json_t *row)) {
  json_t *items = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_array_append_new(items, present(r));
  json_decref(rows);
  return json_pack("{s:o, s:n}", "items", items, "next_cursor");
}

json_t *lp_json_time(json_t *v) {
  if (!json_is_integer(v)) return json_null();
  char b[LP_TIME_LEN];
  lp_time_format(json_integer_value(v), b);
  return json_string(b);
}

lp_code lp_event(lp_db *db, int64_t at, int64_t lead_id, int64_t actor, const char *kind,
                 const char *entity, int64_t entity_id, json_t *data, lp_err *err) {
  lp_stmt *st = lp_db_prep_insert_static(db, "INSERT INTO events(at, lead_id, actor_id, kind, entity, entity_id, data)"
                                               " VALUES ($1, $2, $3, $4, $5, $6, $7)", err);
  if (!st) return err->code;
  lp_bind_int(st, 1, at);
  if (lead_id > 0) lp_bind_int(st, 2, lead_id); else lp_bind_null(st, 2);
  if (actor > 0) lp_bind_int(st, 3, actor); else lp_bind_null(st, 3);
  lp_bind_text(st, 4, kind);
  lp_bind_text(st, 5, entity);
  if (entity_id > 0) lp_bind_int(st, 6, entity_id); else lp_bind_null(st, 6);
  char *txt = data ? json_dumps(data, JSON_COMPACT) : NULL;
  lp_bind_text(st, 7, txt ? txt : "{}");
  free(txt);
  int64_t id = 0;
  int rc = lp_step_insert(st, &id, err);
  lp_stmt_done(st);
  if (rc < 0) return err->code;
  return webhook_fanout(db, id, at, kind, err);
}

json_t *lp_query_map(lp_db *db, const char *sql, const char *key, const char *val, json_t *map, lp_err *err) {
  if (!map) map = json_object();
  json_t *rows = lp_query(db, sql, NULL, err);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) json_object_set(map, json_string_value(json_object_get(r, key)), json_object_get(r, val));
  json_decref(rows);
  return map;
}
