/* exportnames.h — the names an export writes beside a lead's ids (owner, stage, source, location,
 * partner, lost reason), read once per export. */
#ifndef LP_STORE_EXPORTNAMES_H
#define LP_STORE_EXPORTNAMES_H
#include <jansson.h>
#include "store/db.h"

/* Every user's name and e-mail and every list entry's name, keyed by id (as text). A new object
 * (the caller decrefs it), or NULL with err set. */
json_t *lp_export_names(lp_db *db, lp_err *err);

/* Sets owner_email, owner_name, stage_name, source_name, location_name, partner_name and
 * lost_reason_name on lead (a lead as the list answers it) from names; a name whose id is not set
 * (or no longer known) is left out. */
void lp_export_names_add(json_t *names, json_t *lead);
#endif
