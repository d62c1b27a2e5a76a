/* migrate.h — versioned schema migrations, one list for every engine. */
#ifndef LP_STORE_MIGRATE_H
#define LP_STORE_MIGRATE_H
#include "store/db.h"
/* Brings the schema to the newest version, each migration in its own transaction, and
 * seeds the defaults on a new database. *applied receives how many ran. */
lp_code lp_migrate(lp_store *s, int64_t now, int *applied, lp_err *err);
/* The same up to (and with) migration `version` only: the schema as that release left it (tests
 * check that released migrations still make exactly that schema). */
lp_code lp_migrate_to(lp_store *s, int version, int64_t now, int *applied, lp_err *err);
/* The newest schema version this build knows. */
int lp_schema_version(void);
/* How many migrations the database has applied; -1 when it cannot say (err set). */
int64_t lp_migrations_applied(lp_db *db, lp_err *err);
#endif
