/* rows.h — generic row helpers over db.h, used by every resource: rows as JSON objects,
 * INSERT/UPDATE from a column object, the timeline/audit event writer, reference checks. */
#ifndef LP_STORE_ROWS_H
#define LP_STORE_ROWS_H
#include <jansson.h>
#include "store/db.h"
#include "util/buf.h"

/* Binds a JSON scalar to $n (integer, real, string, true/false as 1/0, null). */
void lp_bind_json(lp_stmt *st, int n, json_t *v);
/* The current row as an object column -> value (new reference). */
json_t *lp_row_json(lp_stmt *st);
/* Runs sql with the JSON array `params` bound to $1..$N; returns an array of row objects (new
 * reference) or NULL with err set. params may be NULL. */
json_t *lp_query(lp_db *db, const char *sql, json_t *params, lp_err *err);
/* Same, the first row or NULL (err->code stays LP_OK when there is simply no row). */
json_t *lp_query_one(lp_db *db, const char *sql, json_t *params, lp_err *err);
/* One integer from the first column of the first row; `dflt` if no row. */
int64_t lp_query_int(lp_db *db, const char *sql, json_t *params, int64_t dflt, lp_err *err);
/* Runs sql (no parameters) and sets map[row.key] = row.val for each row (key a text column);
 * answers map, or a new object when map is NULL. A failed query leaves map as it was (err set). */
json_t *lp_query_map(lp_db *db, const char *sql, const char *key, const char *val, json_t *map, lp_err *err);
/* Runs a statement with params, no rows expected. */
lp_code lp_exec(lp_db *db, const char *sql, json_t *params, lp_err *err);

/* INSERT INTO table (keys of cols) VALUES (...) RETURNING id. Column names must be plain
 * identifiers from the code's field tables. */
lp_code lp_insert(lp_db *db, const char *table, json_t *cols, int64_t *id, lp_err *err);
/* UPDATE table SET cols..., version = version + 1 WHERE id = id [AND version = expect].
 * expect < 0 skips the check. LP_ENOTFOUND if no row, LP_EVERSION if the version moved. */
lp_code lp_update(lp_db *db, const char *table, int64_t id, json_t *cols, int64_t expect, lp_err *err);
/* Checks that table has a row id (and, for tables with `active`, that it is active when
 * must_be_active). Adds a field error "not found" otherwise. Returns LP_OK or LP_EVALIDATION, or the
 * query's own error (which replaces err) when the lookup itself fails. */
lp_code lp_ref_check(lp_db *db, const char *table, int64_t id, const char *field, lp_err *err);
/* Appends s as one value of PostgreSQL's COPY text format (backslash, tab, newline, CR escaped). */
void lp_copy_text(lp_buf *b, const char *s);
/* A stored time (Unix seconds) as the API writes it: an RFC 3339 string, or null. New reference. */
json_t *lp_json_time(json_t *unix_seconds);
/* A whole list as a page: {items: [present(row) for each row], next_cursor: null}. Takes rows over;
 * present answers a new reference. */
json_t *lp_page_of(json_t *rows, json_t *(*present)(json_t *row));
/* Appends one timeline/audit event. data is borrowed (may be NULL). */
lp_code lp_event(lp_db *db, int64_t at, int64_t lead_id, int64_t actor, const char *kind,
                 const char *entity, int64_t entity_id, json_t *data, lp_err *err);
#endif
