/* related.c — exact keys of leads (lead_keys), related leads and duplicates (see related.h).
 *
 * A lead's keys are 'e:' + each e-mail address, 'p:' + each phone (both normalised on input:
 * lower-case e-mail, E.164 phone) and 'c:' + its company as lp_company_key makes it. The table is
 * one B-tree ordered by (value, lead_id): finding the leads of a key is one seek, so related leads
 * and the duplicate check cost the same with a thousand leads or a million. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "store/internal.h"
#include "store/leads.h"
#include "store/related.h"
#include "store/rows.h"
#include "util/buf.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

void lp_company_key(const char *company, char *out, size_t outsz) {
  size_t n = 0;
  int space = 0;
  if (!outsz) return;
  for (const unsigned char *p = (const unsigned char *)(company ? company : ""); *p && n + 1 < outsz && n < 200; p++) {
    if (isspace(*p)) { space = n > 0; continue; }
    if (space) { out[n++] = ' '; space = 0; if (n + 1 >= outsz) break; }
    out[n++] = (char)(*p < 128 ? tolower(*p) : *p);
  }
  out[n] = 0;
}

/* ---------------------------------------------------------------- a lead's keys */

/* Appends the keys of a lead's emails / phones (JSON text or array) and company to keys. */
static void add_list(json_t *keys, json_t *v, char prefix) {
  json_t *arr = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : json_incref(v);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    if (!json_is_string(e) || !*json_string_value(e)) continue;
    lp_buf b = LP_BUF_INIT(512);
    lp_buf_printf(&b, "%c:%s", prefix, json_string_value(e));
    if (!b.overflow) json_array_append_new(keys, json_string(lp_buf_str(&b)));
    lp_buf_release(&b);
  }
  json_decref(arr);
}

static json_t *keys_of(json_t *emails, json_t *phones, json_t *company) {
  json_t *keys = json_array();
  if (emails) add_list(keys, emails, 'e');
  if (phones) add_list(keys, phones, 'p');
  if (json_is_string(company)) {
    char k[256];
    k[0] = 'c';
    k[1] = ':';
    lp_company_key(json_string_value(company), k + 2, sizeof k - 2);
    if (k[2]) json_array_append_new(keys, json_string(k));
  }
  return keys;
}

static json_t *row_keys(json_t *row) {
  return keys_of(json_object_get(row, "emails"), json_object_get(row, "phones"), json_object_get(row, "company"));
}

static int has_key(json_t *keys, const char *k) {
  size_t i;
  json_t *v;
  json_array_foreach(keys, i, v) if (!strcmp(json_string_value(v), k)) return 1;
  return 0;
}

static lp_code key_write(lp_db *db, const char *sql, const char *key, int64_t id, lp_err *err) {
  lp_stmt *st = lp_db_prep_static(db, sql, err);
  if (!st) return err->code;
  lp_bind_text(st, 1, key);
  lp_bind_int(st, 2, id);
  int rc = lp_step(st, err);
  lp_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

#define KEY_PUT "INSERT INTO lead_keys(value, lead_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
#define KEY_DROP "DELETE FROM lead_keys WHERE value = $1 AND lead_id = $2"

/* Writes the keys in `add` and removes those in `drop` that `add` does not hold. */
static lp_code keys_diff(lp_db *db, int64_t id, json_t *drop, json_t *add, lp_err *err) {
  size_t i;
  json_t *v;
  lp_code rc = LP_OK;
  json_array_foreach(drop, i, v) {
    if (add && has_key(add, json_string_value(v))) continue;
    if ((rc = key_write(db, KEY_DROP, json_string_value(v), id, err))) return rc;
  }
  json_array_foreach(add, i, v) {
    if (drop && has_key(drop, json_string_value(v))) continue;
    if ((rc = key_write(db, KEY_PUT, json_string_value(v), id, err))) return rc;
  }
  return LP_OK;
}

lp_code lp__keys_follow(lp_db *db, const lp_plan *plan, int64_t id, json_t *old, lp_err *err) {
  json_t *set = plan->lead;
  json_t *drop = NULL, *add = NULL;
  if (plan->kind == LP_PLAN_CREATE) {
    add = row_keys(set);
  } else if (plan->kind == LP_PLAN_DELETE) {
    drop = row_keys(old);
  } else {
    json_t *e = json_object_get(set, "emails"), *p = json_object_get(set, "phones"), *c = json_object_get(set, "company");
    if (!e && !p && !c) return LP_OK;
    drop = row_keys(old);
    add = keys_of(e ? e : json_object_get(old, "emails"), p ? p : json_object_get(old, "phones"),
                  c ? c : json_object_get(old, "company"));
  }
  lp_code rc = keys_diff(db, id, drop, add, err);
  json_decref(drop);
  json_decref(add);
  return rc;
}

void lp__keys_copy(int64_t id, json_t *row, lp_buf *out) {
  json_t *keys = row_keys(row);
  size_t i;
  json_t *v;
  json_array_foreach(keys, i, v) {
    lp_copy_text(out, json_string_value(v));
    lp_buf_printf(out, "\t%lld\n", (long long)id);
  }
  json_decref(keys);
}

/* ---------------------------------------------------------------- a customer's keys */

static int visible(lp_db *db, const lp_actor *a, json_t *row, json_t *seen);
static const char *key_name(char prefix);
#define MAX_RELATED_CUSTOMERS 100

#define CKEY_PUT "INSERT INTO customer_keys(value, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
#define CKEY_DROP "DELETE FROM customer_keys WHERE value = $1 AND customer_id = $2"

lp_code lp__customer_keys_follow(lp_db *db, int64_t id, json_t *old, json_t *row, lp_err *err) {
  json_t *drop = old ? row_keys(old) : json_array(), *add = row_keys(row);
  size_t i;
  json_t *v;
  lp_code rc = LP_OK;
  json_array_foreach(drop, i, v) {
    if (has_key(add, json_string_value(v))) continue;
    if ((rc = key_write(db, CKEY_DROP, json_string_value(v), id, err))) break;
  }
  json_array_foreach(add, i, v) {
    if (rc || has_key(drop, json_string_value(v))) continue;
    rc = key_write(db, CKEY_PUT, json_string_value(v), id, err);
  }
  json_decref(drop);
  json_decref(add);
  return rc;
}

/* The customers sharing one of keys (not the lead's own customer), visible to a, with what
 * matched: [{id, full_name, company, active, lead_id, owner_id, owner_name, created_at,
 * open_tickets, matched}], active ones first, then the newest. */
static json_t *related_customers(lp_db *db, const lp_actor *a, json_t *keys, int64_t own, json_t *seen, lp_err *err) {
  json_t *found = json_object();  /* "<id>": matched */
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    const char *key = json_string_value(k);
    lp_stmt *st = lp_db_prep_static(db, "SELECT customer_id FROM customer_keys WHERE value = $1 ORDER BY customer_id DESC LIMIT 101", err);
    if (!st) { json_decref(found); return NULL; }
    lp_bind_text(st, 1, key);
    int rc;
    while ((rc = lp_step(st, err)) == 1) {
      int64_t id = lp_col_int(st, 0);
      if (id == own) continue;
      char ks[32];
      snprintf(ks, sizeof ks, "%lld", (long long)id);
      json_t *m = json_object_get(found, ks);
      if (!m && json_object_size(found) >= MAX_RELATED_CUSTOMERS) continue;
      if (!m) { m = json_array(); json_object_set_new(found, ks, m); }
      json_array_append_new(m, json_pack("{s:s, s:s}", "key", key_name(key[0]), "value", key + 2));
    }
    lp_stmt_done(st);
    if (rc < 0) { json_decref(found); return NULL; }
  }
  json_t *out = json_array();
  if (!json_object_size(found)) { json_decref(found); return out; }
  lp_buf q = LP_BUF_INIT(8192);
  lp_buf_puts(&q, "SELECT c.id, c.full_name, c.company, c.active, c.lead_id, c.owner_id, u.name AS owner_name, c.created_at,"
                  " (SELECT count(*) FROM tickets t WHERE t.customer_id = c.id AND t.status = 'open') AS open_tickets"
                  " FROM customers c LEFT JOIN users u ON u.id = c.owner_id WHERE c.id IN (");
  json_t *args = json_array();
  const char *ks;
  json_t *m;
  size_t n = 0;
  json_object_foreach(found, ks, m) {
    lp_buf_printf(&q, "%s$%zu", n ? ", " : "", n + 1);
    json_array_append_new(args, json_integer(strtoll(ks, NULL, 10)));
    n++;
  }
  lp_buf_puts(&q, ") ORDER BY c.active DESC, c.id DESC");
  json_t *rows = lp_query(db, lp_buf_str(&q), args, err);
  json_decref(args);
  lp_buf_release(&q);
  if (!rows) { json_decref(found); json_decref(out); return NULL; }
  json_t *r;
  json_array_foreach(rows, i, r) {
    if (!visible(db, a, r, seen)) continue;
    char idk[32];
    snprintf(idk, sizeof idk, "%lld", (long long)iget(r, "id"));
    json_t *o = json_pack("{s:O, s:O, s:O, s:b, s:O, s:O, s:O, s:o, s:O, s:O}", "id", json_object_get(r, "id"),
                          "full_name", json_object_get(r, "full_name"), "company", json_object_get(r, "company"),
                          "active", (int)iget(r, "active"), "lead_id", json_object_get(r, "lead_id"),
                          "owner_id", json_object_get(r, "owner_id"), "owner_name", json_object_get(r, "owner_name"),
                          "created_at", lp_json_time(json_object_get(r, "created_at")),
                          "open_tickets", json_object_get(r, "open_tickets"), "matched", json_object_get(found, idk));
    json_array_append_new(out, o);
  }
  json_decref(rows);
  json_decref(found);
  return out;
}

/* ---------------------------------------------------------------- lookups */

#define PER_KEY 100   /* leads read per key: a company shared by more is named "truncated" */
#define MAX_RELATED 100

typedef struct { int64_t id; json_t *matched; } hit;
typedef struct { hit *v; size_t n, cap; int truncated; } hits;

static hit *hit_for(hits *h, int64_t id) {
  for (size_t i = 0; i < h->n; i++) if (h->v[i].id == id) return &h->v[i];
  if (h->n == MAX_RELATED) { h->truncated = 1; return NULL; }
  if (h->n == h->cap) {
    size_t c = h->cap ? h->cap * 2 : 16;
    hit *nv = realloc(h->v, c * sizeof *nv);
    if (!nv) return NULL;
    h->v = nv;
    h->cap = c;
  }
  h->v[h->n] = (hit){id, json_array()};
  return &h->v[h->n++];
}

static void hits_release(hits *h) {
  for (size_t i = 0; i < h->n; i++) json_decref(h->v[i].matched);
  free(h->v);
}

static const char *key_name(char prefix) { return prefix == 'e' ? "email" : prefix == 'p' ? "phone" : "company"; }

/* Every lead (other than exclude) holding one of keys, with what matched. */
static lp_code find_keys(lp_db *db, json_t *keys, int64_t exclude, hits *h, lp_err *err) {
  size_t i;
  json_t *k;
  json_array_foreach(keys, i, k) {
    const char *key = json_string_value(k);
    lp_stmt *st = lp_db_prep_static(db, "SELECT lead_id FROM lead_keys WHERE value = $1 ORDER BY lead_id DESC LIMIT 101", err);
    if (!st) return err->code;
    lp_bind_text(st, 1, key);
    int rc, n = 0;
    while ((rc = lp_step(st, err)) == 1) {
      int64_t id = lp_col_int(st, 0);
      if (id == exclude) continue;
      if (++n > PER_KEY) { h->truncated = 1; break; }
      hit *x = hit_for(h, id);
      if (x) json_array_append_new(x->matched, json_pack("{s:s, s:s}", "key", key_name(key[0]), "value", key + 2));
    }
    lp_stmt_done(st);
    if (rc < 0) return err->code;
  }
  return LP_OK;
}

/* The rows of the hits, with stage and owner names, as one query by id. */
static json_t *hit_rows(lp_db *db, const hits *h, int open_only, lp_err *err) {
  if (!h->n) return json_array();
  lp_buf q = LP_BUF_INIT(8192);
  lp_buf_puts(&q, "SELECT l.id, l.full_name, l.company, l.status, l.stage_id, s.name AS stage_name, l.outcome, l.owner_id,"
                  " u.name AS owner_name, l.created_at, l.closed_at, l.updated_at, l.merged_into"
                  " FROM leads l LEFT JOIN stages s ON s.id = l.stage_id LEFT JOIN users u ON u.id = l.owner_id"
                  " WHERE l.deleted_at IS NULL AND l.id IN (");
  json_t *args = json_array();
  for (size_t i = 0; i < h->n; i++) {
    lp_buf_printf(&q, "%s$%zu", i ? ", " : "", i + 1);
    json_array_append_new(args, json_integer(h->v[i].id));
  }
  lp_buf_puts(&q, ")");
  if (open_only) lp_buf_puts(&q, " AND l.status = 'open'");
  lp_buf_puts(&q, " ORDER BY CASE WHEN l.status = 'open' THEN 0 ELSE 1 END, l.updated_at DESC, l.id DESC");
  json_t *rows = lp_query(db, lp_buf_str(&q), args, err);
  json_decref(args);
  lp_buf_release(&q);
  return rows;
}

static json_t *matched_of(const hits *h, int64_t id) {
  for (size_t i = 0; i < h->n; i++) if (h->v[i].id == id) return h->v[i].matched;
  return NULL;
}

/* Team visibility asks for each owner's manager: remember the answer per owner in one call. */
static int visible(lp_db *db, const lp_actor *a, json_t *row, json_t *seen) {
  if (!a || a->view == LP_VIEW_ALL) return 1;
  char k[32];
  snprintf(k, sizeof k, "%lld", (long long)iget(row, "owner_id"));
  json_t *v = json_object_get(seen, k);
  if (v) return json_is_true(v);
  lp_err e = LP_ERR_INIT;
  json_t *probe = json_pack("{s:I, s:O}", "id", (json_int_t)iget(row, "id"), "owner_id", json_object_get(row, "owner_id"));
  int ok = lp_lead_visible(db, a, probe, &e) == LP_OK;
  json_decref(probe);
  lp_err_release(&e);
  json_object_set_new(seen, k, json_boolean(ok));
  return ok;
}

static json_t *present_hit(json_t *r, json_t *matched) {
  json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:o, s:O, s:O}", "id", json_object_get(r, "id"),
                        "full_name", json_object_get(r, "full_name"), "company", json_object_get(r, "company"),
                        "status", json_object_get(r, "status"), "stage_id", json_object_get(r, "stage_id"),
                        "stage_name", json_object_get(r, "stage_name"), "outcome", json_object_get(r, "outcome"),
                        "owner_id", json_object_get(r, "owner_id"), "owner_name", json_object_get(r, "owner_name"),
                        "created_at", lp_json_time(json_object_get(r, "created_at")),
                        "closed_at", lp_json_time(json_object_get(r, "closed_at")),
                        "merged_into", json_object_get(r, "merged_into"), "matched", matched ? matched : json_null());
  return o;
}

json_t *lp_lead_related(lp_db *db, const lp_actor *a, int64_t id, int64_t now, lp_err *err) {
  (void)now;
  json_t *row = lp_lead_row(db, id, err);
  if (!row) return NULL;
  if (lp_lead_visible(db, a, row, err) != LP_OK) { json_decref(row); return NULL; }
  json_t *keys = row_keys(row);
  int64_t own = iget(row, "customer_id");
  json_decref(row);
  hits h = {0};
  json_t *rows = find_keys(db, keys, id, &h, err) == LP_OK ? hit_rows(db, &h, 0, err) : NULL;
  json_t *seen = json_object();
  json_t *customers = rows ? related_customers(db, a, keys, own, seen, err) : NULL;
  json_decref(keys);
  if (!rows || !customers) { json_decref(rows); json_decref(seen); hits_release(&h); return NULL; }
  json_t *items = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    if (!visible(db, a, r, seen)) continue;
    json_array_append_new(items, present_hit(r, matched_of(&h, iget(r, "id"))));
  }
  json_t *o = json_pack("{s:I, s:o, s:o, s:b}", "lead_id", (json_int_t)id, "items", items, "customers", customers, "truncated", h.truncated);
  json_decref(seen);
  json_decref(rows);
  hits_release(&h);
  return o;
}

static json_t *address_keys(json_t *emails, json_t *phones) { return keys_of(emails, phones, NULL); }

int lp_leads_open_matching(lp_db *db, json_t *emails, json_t *phones, int64_t exclude, int64_t *ids, int max, lp_err *err) {
  json_t *keys = address_keys(emails, phones);
  hits h = {0};
  json_t *rows = find_keys(db, keys, exclude, &h, err) == LP_OK ? hit_rows(db, &h, 1, err) : NULL;
  json_decref(keys);
  hits_release(&h);
  if (!rows) return -1;
  int n = 0;
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) if (n < max) ids[n++] = iget(r, "id");
  json_decref(rows);
  return n;
}

json_t *lp_lead_duplicates(lp_db *db, const lp_actor *a, json_t *emails, json_t *phones, int64_t exclude, lp_err *err) {
  json_t *keys = address_keys(emails, phones);
  hits h = {0};
  json_t *rows = find_keys(db, keys, exclude, &h, err) == LP_OK ? hit_rows(db, &h, 1, err) : NULL;
  json_decref(keys);
  if (!rows) { hits_release(&h); return NULL; }
  json_t *out = json_array(), *seen = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    json_t *m = matched_of(&h, iget(r, "id"));
    if (visible(db, a, r, seen)) {
      json_t *o = present_hit(r, m);
      json_object_set_new(o, "visible", json_true());
      json_array_append_new(out, o);
    } else {
      json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O, s:b}", "id", json_object_get(r, "id"), "owner_id",
                                           json_object_get(r, "owner_id"), "owner_name", json_object_get(r, "owner_name"),
                                           "matched", m, "visible", 0));
    }
  }
  json_decref(seen);
  json_decref(rows);
  hits_release(&h);
  return out;
}
