/* imports.c — the rows of CSV uploads for imports (see imports.h). */
#include <string.h>
#include "jobs/jobs.h"
#include "store/imports.h"
#include "store/rows.h"

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The row, if it is the actor's (or the actor is an admin); 404 otherwise. */
static json_t *upload_row(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)id);
  json_t *row = lp_query_one(db, "SELECT * FROM import_uploads WHERE id = $1", args, err);
  json_decref(args);
  if (row && !a->is_admin && iget(row, "created_by") != a->id) { json_decref(row); row = NULL; }
  if (!row && err->code == LP_OK) lp_fail(err, LP_ENOTFOUND, "No upload %lld", (long long)id);
  return row;
}

json_t *lp_upload_get(lp_db *db, const lp_actor *a, int64_t id, lp_err *err) { return upload_row(db, a, id, err); }

/* Inside a write: enqueues the import job of upload `row` and records the start. */
static lp_code start_tx(lp_db *db, const lp_actor *a, json_t *row, const lp_upload_start_in *st, int64_t now, int64_t *job_id,
                        lp_err *err) {
  json_t *payload = json_deep_copy(st->payload);
  int64_t id = iget(row, "id");
  json_object_set_new(payload, "upload_id", json_integer(id));
  json_object_set(payload, "file", json_object_get(row, "file"));
  json_object_set(payload, "node", json_object_get(row, "node"));
  json_object_set_new(payload, "dry_run", json_boolean(st->dry_run));
  char ref[48];
  snprintf(ref, sizeof ref, "import_upload:%lld", (long long)id);
  lp_code rc = lp_job_enqueue(db, "import", ref, id, payload, now, now, a->id, (int)iget(row, "rows"), NULL, job_id, err);
  json_decref(payload);
  if (rc != LP_OK) return rc;
  if (!st->dry_run) {
    json_t *args = json_pack("[I, I, I]", (json_int_t)id, (json_int_t)*job_id, (json_int_t)now);
    rc = lp_exec(db, "UPDATE import_uploads SET status = 'importing', job_id = $2, updated_at = $3 WHERE id = $1", args, err);
    json_decref(args);
    if (rc != LP_OK) return rc;
  }
  json_t *data = json_pack("{s:I, s:b, s:O}", "job_id", (json_int_t)*job_id, "dry_run", st->dry_run, "options", st->payload);
  rc = lp_event(db, now, 0, a->id, "import_started", "import_upload", id, data, err);
  json_decref(data);
  return rc;
}

typedef struct {
  const lp_actor *a;
  const lp_upload_in *in;
  const lp_upload_start_in *start;
  int64_t now, id, job_id;
} add_ctx;

static lp_code add_fn(lp_db *db, void *p, lp_err *err) {
  add_ctx *c = p;
  c->id = c->job_id = 0;  /* a retried write starts over */
  char *header = json_dumps(c->in->header, JSON_COMPACT);
  json_t *cols = json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:I}", "created_by", (json_int_t)c->a->id,
                           "created_at", (json_int_t)c->now, "expires_at", (json_int_t)c->in->expires_at, "file", c->in->file,
                           "node", c->in->node, "size", (json_int_t)c->in->size, "rows", (json_int_t)c->in->rows,
                           "header", header ? header : "[]", "status", "uploaded", "updated_at", (json_int_t)c->now);
  free(header);
  lp_code rc = cols ? lp_insert(db, "import_uploads", cols, &c->id, err) : lp_fail(err, LP_EINTERNAL, "out of memory");
  json_decref(cols);
  if (rc != LP_OK) return rc;
  json_t *data = json_pack("{s:I, s:I}", "size", (json_int_t)c->in->size, "rows", (json_int_t)c->in->rows);
  rc = lp_event(db, c->now, 0, c->a->id, "import_uploaded", "import_upload", c->id, data, err);
  json_decref(data);
  if (rc != LP_OK || !c->start) return rc;
  json_t *args = json_pack("[I]", (json_int_t)c->id);
  json_t *row = lp_query_one(db, "SELECT * FROM import_uploads WHERE id = $1", args, err);
  json_decref(args);
  if (!row) return err->code != LP_OK ? err->code : lp_fail(err, LP_EINTERNAL, "the upload just stored is not there");
  rc = start_tx(db, c->a, row, c->start, c->now, &c->job_id, err);
  json_decref(row);
  return rc;
}

lp_code lp_upload_add(lp_store *s, const lp_actor *a, const lp_upload_in *in, const lp_upload_start_in *start, int64_t now,
                      int64_t *id, int64_t *job_id, lp_err *err) {
  add_ctx c = {a, in, start, now, 0, 0};
  lp_code rc = lp_store_write(s, add_fn, &c, err);
  *id = c.id;
  *job_id = c.job_id;
  return rc;
}

typedef struct {
  const lp_actor *a;
  int64_t id, now, job_id;
  const lp_upload_start_in *start;
  const char *status;
  json_t *row, *data;
} one_ctx;

static lp_code start_fn(lp_db *db, void *p, lp_err *err) {
  one_ctx *c = p;
  c->job_id = 0;
  json_t *row = upload_row(db, c->a, c->id, err);
  if (!row) return err->code;
  const char *st = sget(row, "status");
  lp_code rc = LP_OK;
  if (st && !strcmp(st, "importing"))
    rc = lp_fail(err, LP_ECONFLICT, "This file is being imported already (job %lld)", (long long)iget(row, "job_id"));
  else if (!st || strcmp(st, "uploaded"))
    rc = lp_fail(err, LP_ECONFLICT, "This upload is %s: send the file again", st ? st : "gone");
  if (rc == LP_OK) rc = start_tx(db, c->a, row, c->start, c->now, &c->job_id, err);
  json_decref(row);
  return rc;
}

lp_code lp_upload_start(lp_store *s, const lp_actor *a, int64_t id, const lp_upload_start_in *start, int64_t now,
                        int64_t *job_id, lp_err *err) {
  one_ctx c = {.a = a, .id = id, .now = now, .start = start};
  lp_code rc = lp_store_write(s, start_fn, &c, err);
  *job_id = c.job_id;
  return rc;
}

static lp_code remove_fn(lp_db *db, void *p, lp_err *err) {
  one_ctx *c = p;
  json_decref(c->row);
  c->row = upload_row(db, c->a, c->id, err);
  if (!c->row) return err->code;
  const char *st = sget(c->row, "status");
  if (st && !strcmp(st, "importing"))
    return lp_fail(err, LP_ECONFLICT, "This file is being imported (job %lld); it is removed when the job ends",
                   (long long)iget(c->row, "job_id"));
  if (st && !strcmp(st, "removed")) return LP_OK;
  json_t *args = json_pack("[I, I]", (json_int_t)c->id, (json_int_t)c->now);
  lp_code rc = lp_exec(db, "UPDATE import_uploads SET status = 'removed', updated_at = $2 WHERE id = $1", args, err);
  json_decref(args);
  if (rc == LP_OK) rc = lp_event(db, c->now, 0, c->a->id, "import_upload_removed", "import_upload", c->id, NULL, err);
  return rc;
}

lp_code lp_upload_remove(lp_store *s, const lp_actor *a, int64_t id, int64_t now, json_t **row, lp_err *err) {
  one_ctx c = {.a = a, .id = id, .now = now};
  lp_code rc = lp_store_write(s, remove_fn, &c, err);
  if (rc != LP_OK) { json_decref(c.row); c.row = NULL; }
  *row = c.row;
  return rc;
}

static lp_code finish_fn(lp_db *db, void *p, lp_err *err) {
  one_ctx *c = p;
  json_t *args = json_pack("[I, s, I]", (json_int_t)c->id, c->status, (json_int_t)c->now);
  lp_code rc = lp_exec(db, "UPDATE import_uploads SET status = $2, updated_at = $3 WHERE id = $1 AND status <> $2", args, err);
  json_decref(args);
  if (rc != LP_OK || lp_db_changes(db) == 0) return rc;
  const char *kind = !strcmp(c->status, "removed") ? "import_upload_removed" : "import_finished";
  return lp_event(db, c->now, 0, c->a ? c->a->id : 0, kind, "import_upload", c->id, c->data, err);
}

lp_code lp_upload_finish(lp_store *s, int64_t id, int64_t actor, const char *status, json_t *data, int64_t now, lp_err *err) {
  lp_actor a = {0};
  a.id = actor;
  one_ctx c = {.a = &a, .id = id, .now = now, .status = status, .data = data};
  return lp_store_write(s, finish_fn, &c, err);
}

json_t *lp_uploads_expired(lp_db *db, int64_t now, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)now);
  json_t *rows = lp_query(db, "SELECT * FROM import_uploads WHERE status = 'uploaded' AND expires_at < $1 ORDER BY id LIMIT 100", args, err);
  json_decref(args);
  return rows;
}
