/* leadcsv.h — leads as CSV rows: the export header and rows, and import rows to API input. */
#ifndef LP_CORE_LEADCSV_H
#define LP_CORE_LEADCSV_H
#include <jansson.h>
#include "util/buf.h"
/* The header line (with newline) naming every exported column. */
void lp_lead_csv_header(lp_buf *b);
/* One presented lead (the API form, plus owner_email and the names of store/exportnames.c) as a CSV
 * line. Lists are joined with "; "; phones are written as tel: URIs ("tel:+44-7700-900123"). */
void lp_lead_csv_row(lp_buf *b, json_t *lead);
/* One imported record as the JSON a client would POST: header names pick the fields, empty
 * cells are left out, lists split on ";" or "," (a phone may be a tel: URI), booleans true/false/yes/no/1/0, numbers parsed.
 * Unknown columns and `id` are ignored; owner_email is kept for the caller to resolve. New reference. */
json_t *lp_lead_csv_input(char **header, char **cells, int n);
#endif
