/* exportnames.c — names beside ids for exports (see exportnames.h): the CSV and JSON export of
 * GET /export/leads and `leadpath export` write them, so a spreadsheet reads "Alice Agent" and
 * "Contacted" rather than 7 and 2. The import ignores these columns (ids and owner_email are what
 * it reads), so an export still imports back. */
#include "store/exportnames.h"
#include "store/rows.h"

/* lead id field, list table, name key written on the lead */
static const struct { const char *field, *table, *out; } REFS[] = {
  {"stage_id", "stages", "stage_name"},     {"source_id", "sources", "source_name"},
  {"location_id", "locations", "location_name"}, {"partner_id", "partners", "partner_name"},
  {"lost_reason_id", "lost_reasons", "lost_reason_name"},
};

static json_t *by_id(json_t *rows) {
  json_t *m = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    char k[32];
    snprintf(k, sizeof k, "%lld", (long long)json_integer_value(json_object_get(r, "id")));
    json_object_set(m, k, r);
  }
  return m;
}

json_t *lp_export_names(lp_db *db, lp_err *err) {
  json_t *out = json_object();
  json_t *rows = lp_query(db, "SELECT id, name, email FROM users", NULL, err);
  if (!rows) { json_decref(out); return NULL; }
  json_object_set_new(out, "users", by_id(rows));
  json_decref(rows);
  for (size_t i = 0; i < sizeof REFS / sizeof REFS[0]; i++) {
    char q[96];
    snprintf(q, sizeof q, "SELECT id, name FROM %s", REFS[i].table);  /* the table from REFS, never input */
    rows = lp_query(db, q, NULL, err);
    if (!rows) { json_decref(out); return NULL; }
    json_object_set_new(out, REFS[i].table, by_id(rows));
    json_decref(rows);
  }
  return out;
}

static json_t *lookup(json_t *names, const char *table, json_t *id) {
  if (!json_is_integer(id)) return NULL;
  char k[32];
  snprintf(k, sizeof k, "%lld", (long long)json_integer_value(id));
  return json_object_get(json_object_get(names, table), k);
}

void lp_export_names_add(json_t *names, json_t *lead) {
  json_t *u = lookup(names, "users", json_object_get(lead, "owner_id"));
  if (u) {
    json_object_set(lead, "owner_email", json_object_get(u, "email"));
    json_object_set(lead, "owner_name", json_object_get(u, "name"));
  }
  for (size_t i = 0; i < sizeof REFS / sizeof REFS[0]; i++) {
    json_t *r = lookup(names, REFS[i].table, json_object_get(lead, REFS[i].field));
    if (r && json_is_string(json_object_get(r, "name"))) json_object_set(lead, REFS[i].out, json_object_get(r, "name"));
  }
}
