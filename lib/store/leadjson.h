/* leadjson.h — the fast path for reading leads: one SELECT of known columns, written straight
 * into JSON text without building JSON objects. Used by GET /leads/{id} and the lists, where
 * building and freeing ~40 objects per lead was most of the cost. The text is the same as
 * lp_lead_present() gives (the end-to-end tests compare them). */
#ifndef LP_STORE_LEADJSON_H
#define LP_STORE_LEADJSON_H
#include "store/db.h"
#include "store/leads.h"
#include "util/buf.h"

/* "SELECT <every lead column>, <groups> AS groups FROM leads WHERE id = $1" (not deleted) for
 * the engine of db. */
const char *lp_lead_json_select_one(lp_db *db);
/* Column indexes in that SELECT. */
int lp_lead_json_col(const char *field);
/* Writes the current row of a statement made from lp_lead_json_select_one() as a JSON object. */
void lp_lead_json_write(lp_buf *b, lp_stmt *st, int64_t now, lp_sla_cfg sla);
/* The same in two parts: the body ("{" up to the groups; it depends on the row alone) and the
 * tail from the row's status (open or not), times and now (age_days, sla, "}"). */
void lp_lead_json_body(lp_buf *b, lp_stmt *st);
void lp_lead_json_tail(lp_buf *b, int open, int64_t created, int64_t closed, int64_t waiting_seconds,
                       int64_t waiting_since, int64_t now, lp_sla_cfg sla);
/* Rendered bodies kept by (lp_db_origin, id, version, updated_at) — see leadjson.c. _cached
 * appends the body and answers 1 when it is kept; _remember keeps a copy of one. */
int lp_lead_json_cached(lp_buf *b, uint64_t origin, int64_t id, int64_t version, int64_t updated);
void lp_lead_json_remember(uint64_t origin, int64_t id, int64_t version, int64_t updated, const char *body, size_t len);
/* Appends s as a JSON string (quoted, escaped). NULL writes null. */
/* A lead's phones (its E.164 list, borrowed; NULL: none) written for reading, in the same order
 * ("+44 7700 900123"; lp_phone_format): the lead's phones_display. New array. */
json_t *lp_phones_shown(json_t *phones);
void lp_json_str(lp_buf *b, const char *s);
/* The same for len bytes of s (no NUL needed). */
void lp_json_strn(lp_buf *b, const char *s, size_t len);
#endif
