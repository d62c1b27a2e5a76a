/* importmap.h — which column of an imported CSV file fills which lead field (pure, no I/O).
 *
 * A mapping is an object {"<header of the file>": "<lead field>" | null}. The fields an import may
 * fill are the lead's writable fields, the history fields for admins (status, outcome, closed_at,
 * ...), and owner_email (the owner named by e-mail). Several columns may fill one field: text
 * fields get the cells joined with a space in column order ("First name" + "Last name" →
 * full_name), e-mail and phone lists with ";". A column left out of the mapping, or mapped to
 * null, is not imported.
 *
 * Without a mapping, the suggested one is used: each header matched by name to a field (its own
 * name, as the export writes it, or a common name for it: "Name", "E-mail", "Phone number",
 * "Organisation", "First name", ...; case, spaces and punctuation do not matter). */
#ifndef LP_CORE_IMPORTMAP_H
#define LP_CORE_IMPORTMAP_H
#include <jansson.h>
#include "leadpath/error.h"

/* The fields an import may fill for an admin or not, in the order a form offers them (new array of strings). */
json_t *lp_import_fields(int admin);
/* The field a column named `header` suggests, or NULL. */
const char *lp_import_suggest(const char *header, int admin);
/* The suggested mapping of a header (array of strings): {header: field|null} (new object). */
json_t *lp_import_suggest_all(json_t *header, int admin);
/* Checks `mapping` (an object, or NULL for the suggested one) against the file's header and
 * resolves it into one entry per column: the field it fills or null (*columns, new array).
 * LP_EVALIDATION with fields "mapping" or "mapping.<header>" when it names a column the file
 * lacks, a field that cannot be imported (or only by admins), or when no column gives full_name
 * (an explicit mapping only). */
lp_code lp_import_columns(json_t *header, json_t *mapping, int admin, json_t **columns, lp_err *err);
/* One record of the file as the JSON a client would POST (see lp_lead_csv_input), its cells
 * put in the fields `columns` (from lp_import_columns) gives them. New reference. */
json_t *lp_import_row(json_t *columns, char **cells, int n);
#endif
