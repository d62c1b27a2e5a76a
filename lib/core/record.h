/* record.h — declarative record types: the fields of a lead, a task, a stage, ... with their
 * types and rules, and the two conversions every resource needs:
 *   input:   a client's JSON object -> validated, normalised column values (or 422 with fields)
 *   present: a database row (json object of column values) -> the API's JSON
 * Times are Unix seconds in rows and RFC 3339 in the API; booleans 0/1 in rows, true/false in
 * the API; address lists JSON text in rows and arrays in the API.
 */
#ifndef LP_CORE_RECORD_H
#define LP_CORE_RECORD_H
#include <jansson.h>
#include <stdint.h>
#include "leadpath/error.h"

typedef enum {
  FT_TEXT, FT_INT, FT_BOOL, FT_TIME, FT_EMAILS, FT_PHONES, FT_REF, FT_ENUM, FT_CURRENCY,
  FT_COUNTRY, FT_JSON
} lp_ftype;

enum {
  FF_REQUIRED = 1,  /* must be present (non-null) on create */
  FF_WRITE = 2,     /* a client may set it */
  FF_ADMIN = 4,     /* only an admin may set it (ignored from others) */
  FF_NOTNULL = 8,   /* null is refused */
  FF_HIDDEN = 16,   /* never presented */
  FF_CREATE = 32,   /* may be set on create only */
};

typedef struct lp_field {
  const char *name;
  lp_ftype type;
  unsigned flags;
  int64_t max;        /* text: max bytes; int: max value (0 = default bounds) */
  const char *extra;  /* FT_REF: referenced table; FT_ENUM: "a|b|c"; FT_TEXT: the usual values
                         "a|b|c", offered to clients (GET /api/v1/meta) but not enforced */
} lp_field;

typedef struct lp_rectype {
  const char *name;     /* "lead", used in messages and events */
  const char *table;    /* SQL table */
  const lp_field *fields;  /* ends with a NULL name */
} lp_rectype;

extern const lp_rectype lp_rt_lead, lp_rt_task, lp_rt_stage, lp_rt_outcome, lp_rt_lost_reason,
    lp_rt_source, lp_rt_location, lp_rt_partner, lp_rt_group, lp_rt_user;

const lp_field *lp_rec_field(const lp_rectype *t, const char *name);

/* Validates `in` (a JSON object) for a create (create=1) or a patch. Unknown keys are ignored.
 * `country` is the lead's country for phone normalisation (may be NULL). On success *out is a
 * new object of column -> row value (caller decrefs). On failure err lists every bad field. */
lp_code lp_rec_input(const lp_rectype *t, json_t *in, int create, int admin, const char *country,
                     json_t **out, lp_err *err);

/* Converts one row value of field f to its API form (new reference). */
json_t *lp_rec_value_out(const lp_field *f, json_t *v);
/* Compares new column values with a row: each column of `cols` (but `skip`, may be NULL) whose
 * value differs goes into `set` (row form) and into `changes` as {field: {old, new}} in the API's
 * form, for the timeline. set and changes are objects the caller owns. */
void lp_rec_diff(const lp_rectype *t, json_t *row, json_t *cols, const char *skip, json_t *set, json_t *changes);
/* Presents a whole row: every known, non-hidden field plus `id` (new object). */
json_t *lp_rec_present(const lp_rectype *t, json_t *row);
#endif
