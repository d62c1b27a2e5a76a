/* csv.h — RFC 4180 CSV: reading records one at a time from a buffer, and writing fields. */
#ifndef LP_CSV_H
#define LP_CSV_H
#include <stddef.h>
#include "util/buf.h"

typedef struct lp_csv {
  const char *p, *end;
  int line;          /* line number of the record last read (1-based) */
} lp_csv;
void lp_csv_init(lp_csv *c, const char *data, size_t len);
/* Reads the next record into fields (each a new string, caller frees with lp_csv_fields_free).
 * Returns the number of fields, 0 at the end, -1 on a malformed record (unterminated quote). */
int lp_csv_next(lp_csv *c, char ***fields);
void lp_csv_fields_free(char **fields, int n);
/* Appends one field, quoted when it needs to be. Cells starting with = + - @ are prefixed with
 * an apostrophe so spreadsheets do not run them as formulas. */
void lp_csv_field(lp_buf *b, const char *s, int first);
#endif
