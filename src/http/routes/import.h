/* import.h — what the import's routes (import.c) and its job (importjob.c) share: the spool
 * directory where uploaded files wait, and its clean-up. */
#ifndef LP_HTTP_ROUTES_IMPORT_H
#define LP_HTTP_ROUTES_IMPORT_H
#include <stdint.h>
#include "store/db.h"

/* Where uploads are kept (made when missing) and this host's name; from `leadpath serve`
 * (--spool). Also cleans the directory up once (lp_import_spool_clean). */
void lp_import_setup(lp_store *s, const char *spool, int64_t now);
const char *lp_import_spool(void);
const char *lp_import_node(void);
/* Removes the files of uploads that expired (waiting more than a day without a start) and files
 * of the spool directory nobody has touched for a week (a `.part` left by a server killed
 * mid-upload, a file whose upload was never recorded). At most once a minute; cheap. */
void lp_import_spool_clean(lp_store *s, int64_t now);
/* Removes an upload's file (the path the store keeps), if it is in the spool directory. */
void lp_import_unlink(const char *file);
#endif
