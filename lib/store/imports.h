/* imports.h — uploads of CSV files for imports: the rows of `import_uploads`. The files themselves
 * are written and removed by the server (src/http/upload.c, src/http/routes/import.c); the store
 * keeps what an upload found (size, data rows, header), whose it is, and where it stands:
 *   uploaded   stored, waiting for a start (POST /import/uploads/{id}/start) until expires_at;
 *              a dry run leaves it so, so the same file can be imported after the check
 *   importing  a job (job_id) imports it
 *   done       that job finished; the file is gone
 *   removed    deleted by its owner or expired; the file is gone
 * Every change writes its audit event (import_uploaded, import_started, import_finished,
 * import_upload_removed) in the same transaction. An upload is its creator's and admins'; to
 * anyone else it does not exist (404). */
#ifndef LP_STORE_IMPORTS_H
#define LP_STORE_IMPORTS_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"

typedef struct lp_upload_in {
  const char *file;     /* the spool file's absolute path */
  const char *node;     /* the host that wrote it */
  int64_t size, rows;   /* bytes; data rows (records after the header) */
  json_t *header;       /* the header's cells (borrowed) */
  int64_t expires_at;
} lp_upload_in;

/* What a start asks for: the job's payload (borrowed; upload_id, file and node are added). */
typedef struct lp_upload_start_in {
  json_t *payload;
  int dry_run;
} lp_upload_start_in;

/* Stores an upload; with start (may be NULL) it is started in the same transaction (the one-step
 * POST /import/leads). *id is the upload, *job_id the job (0 without start). */
lp_code lp_upload_add(lp_store *s, const lp_actor *a, const lp_upload_in *in, const lp_upload_start_in *start, int64_t now,
                      int64_t *id, int64_t *job_id, lp_err *err);
/* The row (new reference), or NULL: 404 when there is none or it is not the actor's. */
json_t *lp_upload_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err);
/* Starts the import of an `uploaded` upload (409 otherwise, or when its file is gone). A real
 * import makes it `importing`; a dry run leaves it `uploaded`. */
lp_code lp_upload_start(lp_store *s, const lp_actor *a, int64_t id, const lp_upload_start_in *start, int64_t now,
                        int64_t *job_id, lp_err *err);
/* Removes an upload that no job is importing (409 while one does). *row (new reference) is
 * the row as it was, so the caller removes its file. */
lp_code lp_upload_remove(lp_store *s, const lp_actor *a, int64_t id, int64_t now, json_t **row, lp_err *err);
/* By the import job: the upload's import ended (status done, or back to uploaded after a dry run
 * of a one-step import: then removed). */
lp_code lp_upload_finish(lp_store *s, int64_t id, int64_t actor, const char *status, json_t *data, int64_t now, lp_err *err);
/* Uploads waiting past their expiry: rows (new reference) whose files the caller removes, then
 * marks with lp_upload_finish(..., "removed"). At most 100. */
json_t *lp_uploads_expired(lp_db *db, int64_t now, lp_err *err);
#endif
